package trainer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetectLaunch(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want Launch
	}{
		{map[string]string{}, Launch{Size: 1}},
		{map[string]string{"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "4"}, Launch{Launcher: "mpirun (Open MPI)", Rank: 1, Size: 4}},
		{map[string]string{"PMI_RANK": "0", "PMI_SIZE": "2"}, Launch{Launcher: "mpiexec (MPICH/Intel MPI)", Rank: 0, Size: 2}},
		{map[string]string{"SLURM_PROCID": "3", "SLURM_STEP_NUM_TASKS": "8"}, Launch{Launcher: "srun", Rank: 3, Size: 8}},
		// A Slurm batch script (no srun step) is not a launch.
		{map[string]string{"SLURM_PROCID": "0", "SLURM_NTASKS": "8"}, Launch{Size: 1}},
	} {
		got := DetectLaunch(func(k string) string { return tc.env[k] })
		assert.Equal(t, tc.want, got, "%v", tc.env)
	}
	assert.Equal(t, "launched by srun: rank 3 of 8", Launch{Launcher: "srun", Rank: 3, Size: 8}.String())
}

func TestOpenCommunicator(t *testing.T) {
	c, err := OpenCommunicator(Launch{Size: 1})
	require.NoError(t, err)
	assert.Equal(t, 1, c.Size())
	if !MPIBuilt() {
		_, err = OpenCommunicator(Launch{Launcher: "srun", Size: 2})
		assert.ErrorContains(t, err, "-tags mpi")
	}
	assert.ErrorContains(t, checkRankSplit(RunConfig{Batch: 6, MicroBatch: 2}, 2), "--micro-batch 2 x 2 ranks")
}
