package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/trainer"
)

// TestMain lets a test run the real command in a child process (the exit
// code and signal handling are main's).
func TestMain(m *testing.M) {
	if os.Getenv("NRGRAPH_RUN_MAIN") == "1" {
		main()
		os.Exit(exitOK)
	}
	os.Exit(m.Run())
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{pflag.ErrHelp, 0},
		{fmt.Errorf("save: %w", trainer.ErrInterrupted), 3},
		{errors.New("--p NaN outside [0, 1]"), 1},
	} {
		assert.Equal(t, tc.want, exitCode(tc.err), "%v", tc.err)
	}
}

// A SIGINT during `nrgraph train` checkpoints and exits 3, not 0 like a
// finished run, so a script can tell them apart; --resume then finishes
// with 0.
func TestInterruptedTrainExitsThree(t *testing.T) {
	dir, model, corpus := tinySetup(t)
	text := filepath.Join(dir, "text.txt")
	require.NoError(t, os.WriteFile(text, []byte(corpus), 0o644))
	require.NoError(t, subcommands["tokenize"].run([]string{"--tokenizer", filepath.Join(model, "tokenizer.json"), "--out", filepath.Join(dir, "shards"), text}))
	require.NoError(t, subcommands["build"].run([]string{"--model", model, "--out", filepath.Join(dir, "build"), "--seq", "16"}))
	run := filepath.Join(dir, "run")
	args := []string{"train", "--build", filepath.Join(dir, "build"), "--new", filepath.Join(dir, "shards"), "--p", "0", "--batch", "2",
		"--warmup", "1", "--save-every", "100000", "--out", run, "--threads", "1"}
	cmd := exec.Command(os.Args[0], append(args, "--steps", "100000")...)
	cmd.Env = append(os.Environ(), "NRGRAPH_RUN_MAIN=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for {
		if raw, err := os.ReadFile(filepath.Join(run, "metrics.jsonl")); err == nil && len(raw) > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no step after 60 s: %s", stderr.String())
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, stderr.String())
	assert.Equal(t, exitInterrupted, exit.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "interrupted after saving a checkpoint")
	checkpoints, err := filepath.Glob(filepath.Join(run, "checkpoints", "step-*"))
	require.NoError(t, err)
	require.Len(t, checkpoints, 1)
	// Finishing the run exits 0.
	var step int
	_, err = fmt.Sscanf(filepath.Base(checkpoints[0]), "step-%d", &step)
	require.NoError(t, err)
	finish := exec.Command(os.Args[0], append(args, "--steps", fmt.Sprint(step+1), "--resume")...)
	finish.Env = cmd.Env
	out, err := finish.CombinedOutput()
	require.NoError(t, err, "%s", out)
}
