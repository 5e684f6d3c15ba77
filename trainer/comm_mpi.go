//go:build mpi

package trainer

/*
#cgo pkg-config: ompi-c
#include <stdlib.h>
#include <mpi.h>

// Open MPI's handles are macros over global symbols, which cgo cannot
// take the address of; these wrappers name them.
static MPI_Comm nr_world(void) { return MPI_COMM_WORLD; }
static MPI_Datatype nr_float(void) { return MPI_FLOAT; }
static MPI_Datatype nr_double(void) { return MPI_DOUBLE; }
static MPI_Datatype nr_byte(void) { return MPI_BYTE; }
static MPI_Op nr_op(int op) { return op == 1 ? MPI_MIN : op == 2 ? MPI_MAX : MPI_SUM; }
static void *nr_in_place(void) { return MPI_IN_PLACE; }

static int nr_init(int *provided) {
	int done = 0;
	MPI_Initialized(&done);
	if (done) {
		MPI_Query_thread(provided);
		return MPI_SUCCESS;
	}
	// Serialized: Go may call from any OS thread, never two at once.
	return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}

static int nr_local(MPI_Comm *local) {
	return MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, local);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func init() { openMPI = newMPI }

// mpiComm is a Communicator over MPI_COMM_WORLD (Open MPI, via cgo).
type mpiComm struct {
	rank, size, localRank int
	local                 C.MPI_Comm
}

// maxChunk keeps every call's element count within MPI's int.
const maxChunk = 1 << 30

func mpiErr(what string, rc C.int) error {
	if rc == C.MPI_SUCCESS {
		return nil
	}
	var buf [C.MPI_MAX_ERROR_STRING]C.char
	var n C.int
	C.MPI_Error_string(rc, &buf[0], &n)
	return fmt.Errorf("MPI %s: %s", what, C.GoStringN(&buf[0], n))
}

func newMPI() (Communicator, error) {
	var provided C.int
	if err := mpiErr("init", C.nr_init(&provided)); err != nil {
		return nil, err
	}
	if provided < C.MPI_THREAD_SERIALIZED {
		return nil, fmt.Errorf("MPI provides thread level %d, nrgraph needs MPI_THREAD_SERIALIZED", int(provided))
	}
	c := &mpiComm{}
	var rank, size, local C.int
	if err := mpiErr("rank", C.MPI_Comm_rank(C.nr_world(), &rank)); err != nil {
		return nil, err
	}
	if err := mpiErr("size", C.MPI_Comm_size(C.nr_world(), &size)); err != nil {
		return nil, err
	}
	if err := mpiErr("split by node", C.nr_local(&c.local)); err != nil {
		return nil, err
	}
	if err := mpiErr("local rank", C.MPI_Comm_rank(c.local, &local)); err != nil {
		return nil, err
	}
	c.rank, c.size, c.localRank = int(rank), int(size), int(local)
	return c, nil
}

func (c *mpiComm) Rank() int      { return c.rank }
func (c *mpiComm) Size() int      { return c.size }
func (c *mpiComm) LocalRank() int { return c.localRank }

// allreduce reduces n elements of elemSize bytes at p in place, in chunks.
func allreduce(p unsafe.Pointer, n, elemSize int, dt C.MPI_Datatype, op ReduceOp) error {
	for off := 0; off < n; off += maxChunk {
		count := min(maxChunk, n-off)
		rc := C.MPI_Allreduce(C.nr_in_place(), unsafe.Add(p, off*elemSize), C.int(count), dt, C.nr_op(C.int(op)), C.nr_world())
		if err := mpiErr("allreduce", rc); err != nil {
			return err
		}
	}
	return nil
}

func (c *mpiComm) AllreduceFloat32(buf []float32, op ReduceOp) error {
	if len(buf) == 0 {
		return nil
	}
	return allreduce(unsafe.Pointer(&buf[0]), len(buf), 4, C.nr_float(), op)
}

func (c *mpiComm) AllreduceFloat64(buf []float64, op ReduceOp) error {
	if len(buf) == 0 {
		return nil
	}
	return allreduce(unsafe.Pointer(&buf[0]), len(buf), 8, C.nr_double(), op)
}

func (c *mpiComm) Broadcast(buf []byte, root int) error {
	for off := 0; off < len(buf); off += maxChunk {
		count := min(maxChunk, len(buf)-off)
		if err := mpiErr("broadcast", C.MPI_Bcast(unsafe.Pointer(&buf[off]), C.int(count), C.nr_byte(), C.int(root), C.nr_world())); err != nil {
			return err
		}
	}
	return nil
}

func (c *mpiComm) Barrier() error { return mpiErr("barrier", C.MPI_Barrier(C.nr_world())) }

func (c *mpiComm) Abort(code int) { C.MPI_Abort(C.nr_world(), C.int(code)) }

func (c *mpiComm) Close() error {
	C.MPI_Comm_free(&c.local)
	return mpiErr("finalize", C.MPI_Finalize())
}
