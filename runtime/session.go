package runtime

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/nrgraph/nrgraph/graph"
)

// Provider names an execution provider.
type Provider string

const (
	CPU      Provider = "cpu"
	CUDA     Provider = "cuda"
	TensorRT Provider = "tensorrt"
)

// ParseProvider accepts cpu, cuda or tensorrt.
func ParseProvider(s string) (Provider, error) {
	switch Provider(s) {
	case CPU, CUDA, TensorRT:
		return Provider(s), nil
	}
	return "", fmt.Errorf("unknown execution provider %q (want cpu, cuda or tensorrt)", s)
}

// Options configure a session.
type Options struct {
	// Threads is the intra-op thread count (0: number of CPUs).
	Threads  int
	Provider Provider // default CPU
	DeviceID int
	// ProfilePrefix enables ORT's JSON profiler (files start with it).
	ProfilePrefix string
	// Config holds extra ONNX Runtime session config entries (keys of
	// onnxruntime_session_options_config_keys.h), applied after nrgraph's.
	Config map[string]string
	// OptimizedModelPath, when set, is where ORT writes the graph after
	// its optimizations (for inspecting what actually runs).
	OptimizedModelPath string
	// Optimization is ORT's graph optimization level: "" or "all" (the
	// default), "extended", "basic" or "none". float64 graphs (gradient
	// checks) use "basic": ORT 1.24's MatMul+Transpose fusion emits a
	// FusedMatMul that has only a float32 CPU kernel.
	Optimization string
	// NoArena disables ORT's CPU memory arena: each tensor is malloc'ed
	// and freed as its last reader finishes, and malloc maps every block
	// of 1 MB or more on its own (mmapEveryTensor), so a dead tensor's
	// memory goes back to the kernel. The arena keeps every block it ever
	// grew to and splits them for smaller requests: a Gemma-2B training
	// step (seq 256) peaked at 13,529 MiB with it and 13,099 MiB without,
	// the same loss. With glibc's default, rising mmap threshold instead,
	// no arena measured higher than the arena on small models. Small
	// models pay for it in speed (half the training rate at d=512/L=8),
	// so the trainer and the scorer set it only for large builds
	// (build.Manifest.LeanMemory).
	NoArena bool
	// MemPattern enables ORT's memory-pattern pre-allocation. Off by
	// default: after the first run it allocates the whole planned pattern
	// while the arena still holds the first run's blocks, which raised the
	// peak RSS of a d=512 training step from 2.0 to 3.3 GB.
	MemPattern bool
}

// mmapThreshold fixes malloc's mmap threshold once per process, on the
// first session opened without the arena.
var mmapThreshold sync.Once

// EnvDebugDir names a directory where models ONNX Runtime rejects are saved
// for debugging (only for sessions created from bytes).
const EnvDebugDir = "NRGRAPH_DEBUG_DIR"

// EnvProfileDir names a directory where every session opened from a file
// writes ONNX Runtime's per-node JSON profile (execution order, output
// shapes) and the graph as optimized, e.g. for bench/livepeak.py, which
// replays them to show what is alive at a step's activation peak.
const EnvProfileDir = "NRGRAPH_ORT_PROFILE"

// Session is an ONNX Runtime inference session over named inputs/outputs.
type Session struct {
	sess    *ort.DynamicAdvancedSession
	Inputs  []string
	Outputs []string
	what    string
	path    string
	model   []byte
	// scalarOut[i] is the dtype of output i when it is rank 0: ORT cannot
	// auto-allocate scalar outputs through onnxruntime_go ("The shape has
	// no dimensions"), so Run pre-allocates them.
	scalarOut []graph.DType
}

// Open creates a session from a model file.
func Open(modelPath string, inputs, outputs []string, opts Options) (*Session, error) {
	if _, err := os.Stat(modelPath); err != nil {
		return nil, fmt.Errorf("open model: %w", err)
	}
	return newSession(modelPath, nil, inputs, outputs, opts)
}

// OpenBytes creates a session from a serialised model.
func OpenBytes(model []byte, inputs, outputs []string, opts Options) (*Session, error) {
	return newSession("", model, inputs, outputs, opts)
}

func newSession(path string, model []byte, inputs, outputs []string, opts Options) (*Session, error) {
	if err := Init(""); err != nil {
		return nil, err
	}
	what := path
	if what == "" {
		what = fmt.Sprintf("in-memory model (%d bytes)", len(model))
	}
	if dir := os.Getenv(EnvProfileDir); dir != "" && path != "" && opts.ProfilePrefix == "" {
		base := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".onnx"))
		opts.ProfilePrefix, opts.OptimizedModelPath = base, base+".opt.onnx"
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if opts.NoArena {
		mmapThreshold.Do(func() { mmapEveryTensor(1 << 20) })
	}
	defer so.Destroy()
	var s *ort.DynamicAdvancedSession
	if path != "" {
		s, err = ort.NewDynamicAdvancedSession(path, inputs, outputs, so)
	} else {
		s, err = ort.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, so)
	}
	if err != nil {
		if dir := os.Getenv(EnvDebugDir); dir != "" && model != nil {
			sum := sha256.Sum256(model)
			name := filepath.Join(dir, fmt.Sprintf("rejected-%x.onnx", sum[:8]))
			if werr := os.WriteFile(name, model, 0o644); werr == nil {
				what += " (saved to " + name + ")"
			}
		}
		return nil, fmt.Errorf("ONNX Runtime rejected %s: %w", what, err)
	}
	return &Session{sess: s, Inputs: inputs, Outputs: outputs, what: what, path: path, model: model}, nil
}

func sessionOptions(opts Options) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = goruntime.NumCPU()
	}
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		so.Destroy()
		return nil, err
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		so.Destroy()
		return nil, err
	}
	levels := map[string]ort.GraphOptimizationLevel{
		"": ort.GraphOptimizationLevelEnableAll, "all": ort.GraphOptimizationLevelEnableAll,
		"extended": ort.GraphOptimizationLevelEnableExtended, "basic": ort.GraphOptimizationLevelEnableBasic,
		"none": ort.GraphOptimizationLevelDisableAll,
	}
	level, ok := levels[opts.Optimization]
	if !ok {
		so.Destroy()
		return nil, fmt.Errorf("unknown optimization level %q (want all, extended, basic or none)", opts.Optimization)
	}
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		so.Destroy()
		return nil, err
	}
	// Flush denormals to zero: Adam's second moments and freshly initialised
	// adapters produce subnormal floats, which x86 handles 10-100x slower.
	if err := so.AddSessionConfigEntry("session.set_denormal_as_zero", "1"); err != nil {
		so.Destroy()
		return nil, err
	}
	// Keep the gradient code's deliberate recomputations (graph.Grad
	// recomputes sigmoid(x) and x*sigmoid(x) in the backward pass rather
	// than keeping them alive): common-subexpression elimination would
	// merge them back into the forward nodes and undo the memory saving.
	// nrgraph emits no accidental duplicates for it to remove.
	if err := so.AddSessionConfigEntry("optimization.disable_specified_optimizers", "CommonSubexpressionElimination"); err != nil {
		so.Destroy()
		return nil, err
	}
	if err := so.SetMemPattern(opts.MemPattern); err != nil {
		so.Destroy()
		return nil, err
	}
	if opts.NoArena {
		if err := so.SetCpuMemArena(false); err != nil {
			so.Destroy()
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(opts.Config)) {
		if err := so.AddSessionConfigEntry(k, opts.Config[k]); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("session config %s=%s: %w", k, opts.Config[k], err)
		}
	}
	if opts.OptimizedModelPath != "" {
		if err := so.SetOptimizedModelFilePath(opts.OptimizedModelPath); err != nil {
			so.Destroy()
			return nil, err
		}
	}
	if opts.ProfilePrefix != "" {
		if err := so.EnableProfiling(opts.ProfilePrefix); err != nil {
			so.Destroy()
			return nil, err
		}
	}
	if err := appendProvider(so, opts.Provider, opts.DeviceID); err != nil {
		so.Destroy()
		return nil, err
	}
	return so, nil
}

// ErrProviderUnavailable wraps failures to enable CUDA/TensorRT.
var ErrProviderUnavailable = errors.New("execution provider unavailable")

func appendProvider(so *ort.SessionOptions, p Provider, device int) error {
	switch p {
	case "", CPU:
		return nil
	case CUDA:
		o, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("%w: CUDA: %v (this libonnxruntime is a CPU build; point --ort-lib at an official onnxruntime-gpu build)", ErrProviderUnavailable, err)
		}
		defer o.Destroy()
		if err := o.Update(map[string]string{"device_id": strconv.Itoa(device)}); err != nil {
			return fmt.Errorf("%w: CUDA: %v", ErrProviderUnavailable, err)
		}
		if err := so.AppendExecutionProviderCUDA(o); err != nil {
			return fmt.Errorf("%w: CUDA: %v", ErrProviderUnavailable, err)
		}
	case TensorRT:
		o, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return fmt.Errorf("%w: TensorRT: %v (needs an onnxruntime-gpu build with TensorRT libraries on the loader path)", ErrProviderUnavailable, err)
		}
		defer o.Destroy()
		if err := o.Update(map[string]string{"device_id": strconv.Itoa(device)}); err != nil {
			return fmt.Errorf("%w: TensorRT: %v", ErrProviderUnavailable, err)
		}
		if err := so.AppendExecutionProviderTensorRT(o); err != nil {
			return fmt.Errorf("%w: TensorRT: %v", ErrProviderUnavailable, err)
		}
	default:
		return fmt.Errorf("unknown execution provider %q", p)
	}
	return nil
}

// ProbeProviders reports, for each provider, nil when this library can
// enable it or the reason it cannot.
func ProbeProviders() map[Provider]error {
	out := map[Provider]error{}
	for _, p := range []Provider{CPU, CUDA, TensorRT} {
		so, err := ort.NewSessionOptions()
		if err != nil {
			out[p] = err
			continue
		}
		out[p] = appendProvider(so, p, 0)
		so.Destroy()
	}
	return out
}

// Run executes the model. inputs follow s.Inputs; outputs follow s.Outputs,
// and a nil entry is allocated by ONNX Runtime and returned (the caller then
// owns it). Pre-allocated outputs are written in place. With outputs nil,
// Run finds the scalar outputs itself (one extra ORT session, once); pass
// OutputsFor(graph outputs) to avoid that.
func (s *Session) Run(inputs, outputs []*Tensor) ([]*Tensor, error) {
	if len(inputs) == 0 {
		// onnxruntime_go indexes the first input unconditionally.
		return nil, fmt.Errorf("%s: models without inputs cannot be run through onnxruntime_go", s.what)
	}
	if len(inputs) != len(s.Inputs) {
		return nil, fmt.Errorf("%s: %d inputs given, model takes %d (%v)", s.what, len(inputs), len(s.Inputs), s.Inputs)
	}
	autoAll := outputs == nil
	if autoAll {
		outputs = make([]*Tensor, len(s.Outputs))
	}
	if len(outputs) != len(s.Outputs) {
		return nil, fmt.Errorf("%s: %d outputs given, model has %d", s.what, len(outputs), len(s.Outputs))
	}
	in := make([]ort.Value, len(inputs))
	for i, t := range inputs {
		if t == nil || t.value == nil {
			return nil, fmt.Errorf("%s: input %q is nil", s.what, s.Inputs[i])
		}
		in[i] = t.value
	}
	out := make([]ort.Value, len(outputs))
	for i, t := range outputs {
		if t != nil {
			out[i] = t.value
			continue
		}
		if !autoAll {
			continue // the caller pre-allocated what needs it (see OutputsFor)
		}
		scalars, err := s.scalarOutputs()
		if err != nil {
			return nil, err
		}
		if dt := scalars[i]; dt != graph.InvalidDType {
			st, err := NewEmpty(dt, nil)
			if err != nil {
				return nil, err
			}
			outputs[i], out[i] = st, st.value
		}
	}
	if err := s.sess.Run(in, out); err != nil {
		return nil, fmt.Errorf("run %s: %w", s.what, err)
	}
	result := make([]*Tensor, len(outputs))
	for i, t := range outputs {
		if t != nil {
			result[i] = t
			continue
		}
		w, err := wrap(out[i])
		if err != nil {
			return nil, fmt.Errorf("%s: output %q: %w", s.what, s.Outputs[i], err)
		}
		result[i] = w
	}
	return result, nil
}

// scalarOutputs finds which outputs are rank 0 (asked once, lazily: the
// trainer pre-allocates every output and never pays for this).
func (s *Session) scalarOutputs() ([]graph.DType, error) {
	if s.scalarOut != nil {
		return s.scalarOut, nil
	}
	var infos []ort.InputOutputInfo
	var err error
	if s.path != "" {
		_, infos, err = ort.GetInputOutputInfo(s.path)
	} else {
		_, infos, err = ort.GetInputOutputInfoWithONNXData(s.model)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read output info: %w", s.what, err)
	}
	rank0 := map[string]graph.DType{}
	for _, info := range infos {
		if len(info.Dimensions) == 0 {
			rank0[info.Name] = graph.DType(info.DataType)
		}
	}
	s.scalarOut = make([]graph.DType, len(s.Outputs))
	for i, name := range s.Outputs {
		s.scalarOut[i] = rank0[name]
	}
	return s.scalarOut, nil
}

// Close releases the session.
func (s *Session) Close() error {
	if s == nil || s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
