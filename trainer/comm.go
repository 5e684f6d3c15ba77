package trainer

import (
	"fmt"
	"os"
	"strconv"
)

// ReduceOp is the element-wise operation of an all-reduce.
type ReduceOp int

// Reductions a Communicator supports.
const (
	Sum ReduceOp = iota
	Min
	Max
)

// Communicator connects the ranks of a data-parallel run. Every rank
// calls every collective in the same order; buffers are reduced in place.
// Single is the one-process default; the MPI implementation (build tag
// mpi) runs one rank per process under mpirun or srun.
type Communicator interface {
	Rank() int
	Size() int
	// LocalRank is the rank among the processes of this machine (to pick
	// a GPU per process).
	LocalRank() int
	AllreduceFloat32(buf []float32, op ReduceOp) error
	AllreduceFloat64(buf []float64, op ReduceOp) error
	// Broadcast copies root's buf into every rank's buf (same length).
	Broadcast(buf []byte, root int) error
	Barrier() error
	// Abort ends every rank of the job (after an error on one rank, so
	// the others do not wait forever in a collective).
	Abort(code int)
	Close() error
}

// Single is the communicator of a one-process run: collectives are no-ops.
type Single struct{}

func (Single) Rank() int                                  { return 0 }
func (Single) Size() int                                  { return 1 }
func (Single) LocalRank() int                             { return 0 }
func (Single) AllreduceFloat32([]float32, ReduceOp) error { return nil }
func (Single) AllreduceFloat64([]float64, ReduceOp) error { return nil }
func (Single) Broadcast([]byte, int) error                { return nil }
func (Single) Barrier() error                             { return nil }
func (Single) Abort(code int)                             { os.Exit(code) }
func (Single) Close() error                               { return nil }

// Launch describes how this process was started: by an MPI launcher or
// srun (from the environment variables they set), or alone.
type Launch struct {
	Launcher string // "mpirun (Open MPI)", "srun", ...; "" when started alone
	Rank     int
	Size     int
}

// launchEnv lists, per launcher, the variables of world rank and size.
var launchEnv = []struct{ launcher, rank, size string }{
	{"mpirun (Open MPI)", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
	{"mpiexec (MPICH/Intel MPI)", "PMI_RANK", "PMI_SIZE"},
	{"srun (PMIx)", "PMIX_RANK", "SLURM_STEP_NUM_TASKS"},
	{"srun", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS"},
}

// DetectLaunch reads the launcher's environment variables.
func DetectLaunch(getenv func(string) string) Launch {
	for _, l := range launchEnv {
		rank, err1 := strconv.Atoi(getenv(l.rank))
		size, err2 := strconv.Atoi(getenv(l.size))
		if err1 == nil && err2 == nil && size > 0 {
			return Launch{Launcher: l.launcher, Rank: rank, Size: size}
		}
	}
	return Launch{Size: 1}
}

// String is the first line `nrgraph train` prints.
func (l Launch) String() string {
	if l.Launcher == "" {
		return "single process (no MPI launcher detected)"
	}
	return fmt.Sprintf("launched by %s: rank %d of %d", l.Launcher, l.Rank, l.Size)
}

// openMPI is set by the mpi-tagged build (comm_mpi.go).
var openMPI func() (Communicator, error)

// MPIBuilt says whether this binary was built with -tags mpi.
func MPIBuilt() bool { return openMPI != nil }

// OpenCommunicator joins the job this process was launched into: MPI when
// a launcher started several ranks, else Single.
func OpenCommunicator(l Launch) (Communicator, error) {
	if l.Size <= 1 {
		return Single{}, nil
	}
	if openMPI == nil {
		return nil, fmt.Errorf("%s started %d ranks, but this nrgraph was built without MPI: rebuild with `go build -tags mpi ./cmd/nrgraph` (needs libopenmpi-dev)", l.Launcher, l.Size)
	}
	c, err := openMPI()
	if err != nil {
		return nil, err
	}
	if c.Size() != l.Size {
		c.Abort(1)
		return nil, fmt.Errorf("MPI reports %d ranks but %s set %d", c.Size(), l.Launcher, l.Size)
	}
	return c, nil
}
