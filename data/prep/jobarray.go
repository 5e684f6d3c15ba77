package prep

import (
	"fmt"
	"strconv"
	"strings"
)

// jobArrays lists, per batch engine, the variables of an array task's
// index and of the task count (count "" when the engine does not set one:
// then --shard auto/N gives it). first, when set, is the first index of
// an array that need not start at 0 and step the stride between indices.
var jobArrays = []struct {
	engine, index, count, first, step string
}{
	{engine: "Slurm job array", index: "SLURM_ARRAY_TASK_ID", count: "SLURM_ARRAY_TASK_COUNT", first: "SLURM_ARRAY_TASK_MIN", step: "SLURM_ARRAY_TASK_STEP"},
	{engine: "Kubernetes indexed Job", index: "JOB_COMPLETION_INDEX"},
	{engine: "Google Cloud Batch", index: "BATCH_TASK_INDEX", count: "BATCH_TASK_COUNT"},
	{engine: "AWS Batch array job", index: "AWS_BATCH_JOB_ARRAY_INDEX"},
	{engine: "Grid Engine array job", index: "SGE_TASK_ID", first: "SGE_TASK_FIRST", step: "SGE_TASK_STEPSIZE"},
}

// ShardFromEnv resolves `--shard auto` (index and count from the batch
// engine's environment) or `--shard auto/N` (the count given, for engines
// such as Kubernetes indexed Jobs that do not export it). It returns the
// 0-based shard, the count and which engine it read.
func ShardFromEnv(spec string, getenv func(string) string) (shard, count int, engine string, err error) {
	rest, ok := strings.CutPrefix(spec, "auto")
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		return 0, 0, "", fmt.Errorf("--shard %q: want i/n, auto or auto/N", spec)
	}
	given := 0
	if rest != "" {
		if given, err = strconv.Atoi(rest[1:]); err != nil || given < 1 {
			return 0, 0, "", fmt.Errorf("--shard %q: N must be a positive count of shards", spec)
		}
	}
	for _, a := range jobArrays {
		raw := getenv(a.index)
		index, err := strconv.Atoi(raw)
		if err != nil {
			continue // unset, or Grid Engine's "undefined" outside arrays
		}
		first, step := 0, 1
		if a.first != "" {
			if v, err := strconv.Atoi(getenv(a.first)); err == nil {
				first = v
			}
		}
		if a.step != "" {
			if v, err := strconv.Atoi(getenv(a.step)); err == nil && v > 0 {
				step = v
			}
		}
		shard = (index - first) / step
		count = given
		if a.count != "" && count == 0 {
			count, _ = strconv.Atoi(getenv(a.count))
		}
		if count == 0 && a.engine == "Grid Engine array job" {
			if last, err := strconv.Atoi(getenv("SGE_TASK_LAST")); err == nil {
				count = (last-first)/step + 1
			}
		}
		if count < 1 {
			return 0, 0, "", fmt.Errorf("--shard auto: the %s sets %s=%s but not how many tasks there are: use --shard auto/N with N the number of tasks (for Kubernetes, spec.completions)", a.engine, a.index, raw)
		}
		if shard < 0 || shard >= count || (index-first)%step != 0 {
			return 0, 0, "", fmt.Errorf("--shard auto: the %s's task %s=%s is not one of %d tasks: pass --shard auto/N with the right N, or --shard i/n", a.engine, a.index, raw, count)
		}
		return shard, count, a.engine, nil
	}
	return 0, 0, "", fmt.Errorf("--shard %s: no job-array index in the environment (looked for %s): use --shard i/n", spec, arrayIndexVars())
}

func arrayIndexVars() string {
	names := make([]string, len(jobArrays))
	for i, a := range jobArrays {
		names[i] = a.index
	}
	return strings.Join(names, ", ")
}
