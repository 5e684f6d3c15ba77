//go:build mpi

package trainer

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

// mpiConfig: an optimizer batch of 4 in micro-batches of 2 — one per rank
// with 2 ranks, two accumulated on 1 rank.
func mpiConfig(f fixture, out string, steps int) RunConfig {
	cfg := f.config(out, steps)
	cfg.MicroBatch, cfg.SaveEvery, cfg.DriftCheckEvery = 2, 1, 2
	return cfg
}

// mpirun starts ranks copies of this test binary as TestMPIChild.
func mpirun(t *testing.T, ranks int, f fixture, out string, steps int, resume bool, stepDelay time.Duration) *exec.Cmd {
	mpirun, err := exec.LookPath("mpirun")
	require.NoError(t, err, "the mpi tests need Open MPI: apt-get install openmpi-bin libopenmpi-dev")
	args := []string{"-np", strconv.Itoa(ranks), "--oversubscribe", "--mca", "btl", "self,vader", os.Args[0], "-test.run=^TestMPIChild$"}
	cmd := exec.Command(mpirun, args...)
	cmd.Env = append(os.Environ(), "NRGRAPH_MPI_CHILD=1", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
		"OMPI_MCA_btl_vader_single_copy_mechanism=none", "CHILD_BUILD="+f.Build, "CHILD_NEW="+f.NewShard, "CHILD_ORIG="+f.OrigShard,
		"CHILD_OUT="+out, "CHILD_STEPS="+strconv.Itoa(steps), "CHILD_RESUME="+strconv.FormatBool(resume), "CHILD_DELAY="+stepDelay.String())
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mpirun output:\n%s", log.String())
		}
	})
	return cmd
}

// TestMPIChild is one rank of the tests' mpirun jobs.
func TestMPIChild(t *testing.T) {
	if os.Getenv("NRGRAPH_MPI_CHILD") == "" {
		t.Skip("a rank of the mpirun jobs of TestMPI*")
	}
	comm, err := OpenCommunicator(DetectLaunch(os.Getenv))
	require.NoError(t, err)
	defer comm.Close()
	out := os.Getenv("CHILD_OUT")
	require.NoError(t, os.MkdirAll(out, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "rank-"+strconv.Itoa(comm.Rank())+".pid"), []byte(strconv.Itoa(os.Getpid())), 0o644))
	steps, _ := strconv.Atoi(os.Getenv("CHILD_STEPS"))
	delay, _ := time.ParseDuration(os.Getenv("CHILD_DELAY"))
	f := fixture{testfixture.Run{Build: os.Getenv("CHILD_BUILD"), NewShard: os.Getenv("CHILD_NEW"), OrigShard: os.Getenv("CHILD_ORIG")}}
	tr, err := NewDistributed(mpiConfig(f, out, steps), os.Getenv("CHILD_RESUME") == "true", io.Discard, comm)
	require.NoError(t, err)
	defer tr.Close()
	tr.AfterStep = func(*Metrics) { time.Sleep(delay) }
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := tr.Run(ctx); !errors.Is(err, ErrInterrupted) {
		require.NoError(t, err)
	}
}

// finalState reads the latest checkpoint's parameters and moments.
func finalState(t *testing.T, out string) map[string][]float32 {
	latest, err := build.LatestCheckpoint(filepath.Join(out, build.CheckpointsDir))
	require.NoError(t, err)
	require.NotEmpty(t, latest, "no checkpoint in %s", out)
	st, err := build.ReadTensors(filepath.Join(latest, build.StateFile))
	require.NoError(t, err)
	return st
}

func assertSameState(t *testing.T, want, got map[string][]float32, what string) {
	require.Equal(t, len(want), len(got), what)
	for name, w := range want {
		g := got[name]
		require.Equal(t, len(w), len(g), "%s: %s", what, name)
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(g[i]) {
				t.Fatalf("%s: %s[%d] = %v, 1 rank: %v", what, name, i, g[i], w[i])
			}
		}
	}
}

// oneRank trains in this process: batch 4 in two micro-batches of 2.
func oneRank(t *testing.T, f fixture, out string, steps int, resume bool) {
	tr, err := New(mpiConfig(f, out, steps), resume, io.Discard)
	require.NoError(t, err)
	defer tr.Close()
	require.NoError(t, tr.Run(context.Background()))
}

// TestMPITwoRanksEqualOneRank: 2 ranks x micro-batch 2 give, bit for bit,
// the parameters, moments and logged losses of 1 rank with batch 4 in
// micro-batches of 2 (the all-reduce adds the same two float32 gradients
// the accumulation adds).
func TestMPITwoRanksEqualOneRank(t *testing.T) {
	if os.Getenv("NRGRAPH_MPI_CHILD") != "" {
		return
	}
	f := newFixture(t, models.NeutralResidues)
	ref, two := filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "two")
	oneRank(t, f, ref, 6, false)
	require.NoError(t, mpirun(t, 2, f, two, 6, false, 0).Run())
	assertSameState(t, finalState(t, ref), finalState(t, two), "2 ranks")
	refLog, err := os.ReadFile(filepath.Join(ref, "metrics.jsonl"))
	require.NoError(t, err)
	twoLog, err := os.ReadFile(filepath.Join(two, "metrics.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, lossFields(t, refLog), lossFields(t, twoLog))
}

// lossFields keeps the losses of metrics.jsonl lines (not the timings).
func lossFields(t *testing.T, raw []byte) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		for _, field := range strings.Split(strings.Trim(line, "{}"), ",") {
			if strings.Contains(field, "loss") || strings.Contains(field, "grad_norm") {
				out = append(out, field)
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestMPIKillOneRankThenResume: SIGKILL one rank mid-run (mpirun ends the
// job), then --resume with 2 ranks and, from a copy, with 1 rank: both equal
// the uninterrupted run bit for bit. A SIGTERM to one rank stops both at the
// same step with a checkpoint, and resuming again gives the same result.
func TestMPIKillOneRankThenResume(t *testing.T) {
	if os.Getenv("NRGRAPH_MPI_CHILD") != "" {
		return
	}
	const steps = 12
	f := newFixture(t, models.NeutralResidues)
	ref := filepath.Join(t.TempDir(), "ref")
	oneRank(t, f, ref, steps, false)
	want := finalState(t, ref)

	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		out := filepath.Join(t.TempDir(), "run")
		cmd := mpirun(t, 2, f, out, steps, false, 150*time.Millisecond)
		require.NoError(t, cmd.Start())
		stoppedAt := waitForCheckpoint(t, out, 3)
		pid, err := os.ReadFile(filepath.Join(out, "rank-1.pid"))
		require.NoError(t, err)
		p, _ := strconv.Atoi(string(pid))
		require.NoError(t, syscall.Kill(p, sig))
		err = cmd.Wait()
		latest, lerr := build.LatestCheckpoint(filepath.Join(out, build.CheckpointsDir))
		require.NoError(t, lerr)
		step, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(latest), "step-"))
		require.Less(t, step, steps, "%v: the run finished before the signal", sig)
		require.GreaterOrEqual(t, step, stoppedAt)
		t.Logf("%v sent to rank 1 after checkpoint %d: mpirun %v, latest checkpoint %d", sig, stoppedAt, err, step)
		if sig == syscall.SIGTERM {
			require.NoError(t, err, "SIGTERM to one rank: both ranks stop cleanly after saving")
		} else {
			require.Error(t, err, "SIGKILL of one rank ends the mpirun job")
		}
		copyDir(t, out, out+"-1rank")
		require.NoError(t, mpirun(t, 2, f, out, steps, true, 0).Run())
		assertSameState(t, want, finalState(t, out), sig.String()+" then resume on 2 ranks")
		oneRank(t, f, out+"-1rank", steps, true)
		assertSameState(t, want, finalState(t, out+"-1rank"), sig.String()+" then resume on 1 rank")
	}
}

// waitForCheckpoint waits until out holds a checkpoint of step >= n.
func waitForCheckpoint(t *testing.T, out string, n int) int {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if latest, _ := build.LatestCheckpoint(filepath.Join(out, build.CheckpointsDir)); latest != "" {
			if step, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(latest), "step-")); step >= n {
				return step
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no checkpoint of step %d in %s after 60 s", n, out)
	return 0
}

func copyDir(t *testing.T, src, dst string) {
	require.NoError(t, filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, raw, info.Mode())
	}))
}

// BenchmarkMPIAllreduce measures the communication a data-parallel step
// adds: the all-reduce of the gradients (one flat float32 buffer; 1,370,118
// values for neutral residues on the embedded backbone) and of the stop
// flag (one float64, every step). It needs ranks, and a fixed iteration
// count so that every rank makes the same calls:
//
//	go test -tags mpi -c -o /tmp/trainer.test ./trainer
//	mpirun -np 2 /tmp/trainer.test -test.run '^$' -test.bench MPIAllreduce -test.benchtime 200x
func BenchmarkMPIAllreduce(b *testing.B) {
	l := DetectLaunch(os.Getenv)
	if l.Size < 2 {
		b.Skip("run under mpirun -np 2 with -test.benchtime Nx (see the comment)")
	}
	comm, err := OpenCommunicator(l)
	require.NoError(b, err)
	for _, n := range []int{1, 1_370_118} {
		buf := make([]float32, n)
		b.Run(strconv.Itoa(n*4)+"B", func(b *testing.B) {
			b.SetBytes(int64(4 * n))
			for i := 0; i < b.N; i++ {
				if err := comm.AllreduceFloat32(buf, Sum); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	require.NoError(b, comm.Close())
}
