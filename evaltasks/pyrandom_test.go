package evaltasks

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPyRandomMatchesCPython replays draws recorded from /usr/bin/python3
// (testdata/pyrandom/generate.py): one generator per case, shared by the
// documents in order, as lm-eval's few-shot sampler is.
func TestPyRandomMatchesCPython(t *testing.T) {
	raw, err := os.ReadFile("testdata/pyrandom/draws.json")
	require.NoError(t, err)
	var golden struct {
		FirstUint32 []uint32 `json:"first_uint32"`
		Cases       []struct {
			Seed, Pool, K int
			Draws         [][]int
		}
	}
	require.NoError(t, json.Unmarshal(raw, &golden))
	first := newPyRandom(1234)
	for i, want := range golden.FirstUint32 {
		assert.Equal(t, want, first.uint32(), "output %d of Random(1234)", i)
	}
	require.Len(t, golden.Cases, 6)
	for _, c := range golden.Cases {
		rnd := newPyRandom(uint64(c.Seed))
		for d, want := range c.Draws {
			assert.Equal(t, want, rnd.sample(c.Pool, c.K), "seed %d pool %d k %d document %d", c.Seed, c.Pool, c.K, d)
		}
	}
}

// TestFewshotDrawsMatchLMEval checks whole prompts: the examples in each
// document's prompt are the pool entries lm-eval's sampler picks (recorded
// from Python by generate.py), in its order; -fewshot-sampler per-document
// keeps the earlier draws.
func TestFewshotDrawsMatchLMEval(t *testing.T) {
	raw, err := os.ReadFile("testdata/pyrandom/draws.json")
	require.NoError(t, err)
	var golden struct {
		ARC  [][]int `json:"arc_fixture_2shot"`
		CSQA [][]int `json:"csqa_fixture_same_split_3shot"`
	}
	require.NoError(t, json.Unmarshal(raw, &golden))
	arc, err := Open(FormatARC, "testdata/arc/ARC-Challenge-Test.jsonl", "testdata/arc/ARC-Challenge-Train.jsonl")
	require.NoError(t, err)
	csqa, err := Open(FormatCommonsenseQA, "testdata/csqa/train_rand_split.jsonl", "")
	require.NoError(t, err)
	for _, c := range []struct {
		task  *Task
		shots int
		want  [][]int
	}{{arc, 2, golden.ARC}, {csqa, 3, golden.CSQA}} {
		pool := c.task.FewshotDocs
		if pool == nil {
			pool = c.task.Docs
		}
		require.Len(t, c.want, len(c.task.Docs))
		for i, picks := range c.want {
			var b strings.Builder
			for _, j := range picks {
				b.WriteString(pool[j].Query + " " + pool[j].Choices[pool[j].Gold] + "\n\n")
			}
			b.WriteString(c.task.Docs[i].Query)
			prompt, err := c.task.Prompt(i, c.shots, 1234)
			require.NoError(t, err)
			assert.Equal(t, b.String(), prompt, "%s document %d", c.task.Name, i)
		}
	}
	var lmeval, perDocument []string
	for i := range arc.Docs {
		prompt, err := arc.Prompt(i, 2, 1234)
		require.NoError(t, err)
		lmeval = append(lmeval, prompt)
	}
	arc.RNG = FewshotPerDocument
	for i := range arc.Docs {
		prompt, err := arc.Prompt(i, 2, 1234)
		require.NoError(t, err)
		perDocument = append(perDocument, prompt)
	}
	assert.NotEqual(t, lmeval, perDocument, "the earlier draw is still available and differs")
	_, err = ParseFewshotRNG("numpy")
	assert.ErrorContains(t, err, `unknown few-shot sampler "numpy"`)
}
