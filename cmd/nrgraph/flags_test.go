package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/trainer"
)

// TestEveryRunConfigKeyHasAFlag: a RunConfig field added without a flag (or
// a flag without a config key) fails here, so the config file and the
// command line cannot drift apart.
func TestEveryRunConfigKeyHasAFlag(t *testing.T) {
	var c trainer.RunConfig
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	registerRunFlags(fs, &c)
	flags := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) { flags[f.Name] = true })
	rt := reflect.TypeOf(c)
	for i := 0; i < rt.NumField(); i++ {
		key, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		name := strings.ReplaceAll(key, "_", "-")
		assert.True(t, flags[name], "config key %q has no --%s flag", key, name)
		delete(flags, name)
	}
	assert.Empty(t, flags, "flags without a config key")
}

func TestConfigFileThenFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "run.yaml")
	require.NoError(t, os.WriteFile(file, []byte("build: b\nnew: [n]\nout: o\nsteps: 5\nlr: 0.1\np: 0\nschedule: linear\n"), 0o644))
	for _, tc := range []struct {
		name string
		args []string
		want func(*trainer.RunConfig)
	}{
		{"file only", []string{"--config", file}, func(c *trainer.RunConfig) {}},
		{"flag overrides file", []string{"--lr", "0.2", "--config=" + file}, func(c *trainer.RunConfig) { c.LR = 0.2 }},
		{"flag set to the default still overrides", []string{"--config", file, "--steps", "1000"}, func(c *trainer.RunConfig) { c.Steps = 1000 }},
		{"data order", []string{"--config", file, "--data-order", "sequential"}, func(c *trainer.RunConfig) { c.DataOrder = trainer.Sequential }},
		{"no file", []string{"--build", "b", "--new", "n", "--out", "o", "--p", "0"}, func(c *trainer.RunConfig) {
			*c = trainer.DefaultRunConfig()
			c.Build, c.New, c.Out, c.P = "b", []string{"n"}, "o", 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := trainer.DefaultRunConfig()
			want.Build, want.New, want.Out, want.Steps, want.LR, want.P, want.Schedule = "b", []string{"n"}, "o", 5, 0.1, 0, trainer.Linear
			tc.want(&want)
			a, err := parseTrainArgs(tc.args)
			require.NoError(t, err)
			assert.Equal(t, want, a.run)
		})
	}
}

// TestTrainFlagsFailBeforeTheRuntimeLoads: bad flags are refused by name
// by the parse alone (runTrain loads ONNX Runtime only after it).
func TestTrainFlagsFailBeforeTheRuntimeLoads(t *testing.T) {
	base := []string{"--build", "b", "--new", "n", "--out", "o", "--p", "0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--schedule", "cosnie"}, `invalid argument "cosnie" for "--schedule" flag: want one of cosine, linear, constant`},
		{[]string{"--data-order", "random"}, `invalid argument "random" for "--data-order" flag: want one of shuffled, sequential`},
		{[]string{"--batch", "6", "--micro-batch", "4"}, "--batch 6 must be a positive multiple of --micro-batch 4"},
		{[]string{"--p", "0.1"}, "--p 0.1 needs --orig shards"},
		{[]string{"--config", "/nonexistent.yaml"}, "/nonexistent.yaml"},
	} {
		_, err := parseTrainArgs(append(append([]string{}, base...), tc.args...))
		assert.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}
