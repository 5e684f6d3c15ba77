package build

import (
	"fmt"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/runtime"
)

// Batch is one training batch in the layout the graphs take.
type Batch struct {
	Rows, Seq int
	IDs       []int64   // [rows, seq]
	Targets   []int64   // [rows, seq]: the next token of each position
	AttnMask  []float32 // [rows, seq]
	LossMask  []float32 // [rows, seq]
	Domain    []float32 // [rows]: 1 original domain, 0 new domain
}

// NewBatch allocates a batch.
func NewBatch(rows, seq int) *Batch {
	b := &Batch{Rows: rows, Seq: seq, IDs: make([]int64, rows*seq), Targets: make([]int64, rows*seq),
		AttnMask: make([]float32, rows*seq), LossMask: make([]float32, rows*seq), Domain: make([]float32, rows)}
	for i := range b.AttnMask {
		b.AttnMask[i], b.LossMask[i] = 1, 1
	}
	return b
}

// OrigRows counts original-domain rows.
func (b *Batch) OrigRows() int {
	n := 0
	for _, d := range b.Domain {
		if d == 1 {
			n++
		}
	}
	return n
}

// BatchTensors are the data inputs of a training or scoring graph, whose Go
// slices are the ORT buffers: filling the Batch fills the tensors.
type BatchTensors struct {
	Batch   *Batch
	ByName  map[string]*runtime.Tensor
	Tensors []*runtime.Tensor
}

// NewBatchTensors allocates a batch and the tensors over its slices.
func NewBatchTensors(rows, seq int) (*BatchTensors, error) {
	b := NewBatch(rows, seq)
	bt := &BatchTensors{Batch: b, ByName: map[string]*runtime.Tensor{}}
	shape := []int64{int64(rows), int64(seq)}
	add := func(name string, t *runtime.Tensor, err error) error {
		if err != nil {
			return fmt.Errorf("allocate %s: %w", name, err)
		}
		bt.ByName[name] = t
		bt.Tensors = append(bt.Tensors, t)
		return nil
	}
	t1, err := runtime.NewTensor(shape, b.IDs)
	if err := add(models.InputIDs, t1, err); err != nil {
		return nil, err
	}
	t2, err := runtime.NewTensor(shape, b.Targets)
	if err := add(models.Targets, t2, err); err != nil {
		return nil, err
	}
	t3, err := runtime.NewTensor(shape, b.AttnMask)
	if err := add(models.AttentionMask, t3, err); err != nil {
		return nil, err
	}
	t4, err := runtime.NewTensor(shape, b.LossMask)
	if err := add(models.LossMask, t4, err); err != nil {
		return nil, err
	}
	t5, err := runtime.NewTensor([]int64{int64(rows)}, b.Domain)
	if err := add(models.Domain, t5, err); err != nil {
		return nil, err
	}
	return bt, nil
}

// Destroy releases the tensors.
func (bt *BatchTensors) Destroy() {
	for _, t := range bt.Tensors {
		t.Destroy()
	}
}

// ResolveInputs fills dst[i] with the tensor named names[i], taken from the
// first source map that has it.
func ResolveInputs(dst []*runtime.Tensor, names []string, sources ...map[string]*runtime.Tensor) error {
	for i, name := range names {
		dst[i] = nil
		for _, src := range sources {
			if t := src[name]; t != nil {
				dst[i] = t
				break
			}
		}
		if dst[i] == nil {
			return fmt.Errorf("graph input %q has no source", name)
		}
	}
	return nil
}
