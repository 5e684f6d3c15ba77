package evaltasks

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixtureTasks are the hand-made files in each upstream format, paired with
// their few-shot split where upstream has one.
var fixtureTasks = []struct {
	format              Format
	path, fewshotPath   string
	wantName, benchmark string
	wantDocs            int
	defaultShots        int
}{
	{FormatHellaSwag, "testdata/hellaswag/hellaswag_val.jsonl", "", "hellaswag", BenchmarkHellaSwag, 6, 0},
	{FormatHellaSwag, "testdata/hellaswag/hellaswag_fr_array.json", "", "hellaswag", BenchmarkHellaSwag, 2, 0},
	{FormatARC, "testdata/arc/ARC-Challenge-Test.jsonl", "testdata/arc/ARC-Challenge-Train.jsonl", "arc_challenge", BenchmarkARCChallenge, 3, 5},
	{FormatMMLU, "testdata/mmlu/data/test/abstract_algebra_test.csv", "testdata/mmlu/data/dev/abstract_algebra_dev.csv", "mmlu_abstract_algebra", BenchmarkMMLU, 3, 5},
	{FormatCommonsenseQA, "testdata/csqa/dev_rand_split.jsonl", "testdata/csqa/train_rand_split.jsonl", "commonsense_qa", BenchmarkCommonsenseQA, 2, 5},
	{FormatBelebele, "testdata/belebele/fra_Latn.jsonl", "", "belebele_fra_Latn", BenchmarkBelebele, 6, 0},
	{FormatJSONL, "testdata/generic/capitals.jsonl", "", "capitals", "capitals", 3, 0},
}

// TestLoadersGolden renders every fixture document's requests zero-shot and
// the first document's with five shots, and compares with testdata/golden.
func TestLoadersGolden(t *testing.T) {
	for _, tt := range fixtureTasks {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			task, err := Open(tt.format, tt.path, tt.fewshotPath)
			require.NoError(t, err)
			assert.Equal(t, tt.wantName, task.Name)
			assert.Equal(t, tt.benchmark, task.Benchmark)
			assert.Equal(t, tt.path, task.Source)
			assert.Len(t, task.Docs, tt.wantDocs)
			assert.Equal(t, tt.defaultShots, task.DefaultShots)

			var b strings.Builder
			for i := range task.Docs {
				writeRequests(t, &b, task, i, 0)
			}
			if tt.wantDocs > 5 || tt.fewshotPath != "" {
				writeRequests(t, &b, task, 0, 5)
			}
			compareGolden(t, filepath.Join("testdata", "golden", filepath.Base(tt.path)+".txt"), b.String())
		})
	}
}

func writeRequests(t *testing.T, b *strings.Builder, task *Task, i, shots int) {
	t.Helper()
	reqs, err := task.Requests(i, shots, 1234)
	require.NoError(t, err)
	doc := task.Docs[i]
	fmt.Fprintf(b, "=== doc %d id=%s gold=%d shots=%d\n%s\n--- continuations\n", i, doc.ID, doc.Gold, shots, reqs[0].Context)
	for _, req := range reqs {
		assert.Equal(t, reqs[0].Context, req.Context, "one document's requests share their context")
		fmt.Fprintf(b, "%q\n", req.Continuation)
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}

// TestPromptsMatchHarness spells out, independently of the golden files, the
// exact strings the lm-evaluation-harness templates produce for a fixture.
func TestPromptsMatchHarness(t *testing.T) {
	tests := []struct {
		name              string
		format            Format
		path, fewshotPath string
		doc, shots        int
		wantContext       string
		wantContinuations []string
	}{
		{
			name:   "hellaswag capitalize lowercases the rest",
			format: FormatHellaSwag, path: "testdata/hellaswag/hellaswag_val.jsonl", doc: 2,
			wantContext:       "Playing guitar: A man sits on a stool holding a guitar. The man",
			wantContinuations: []string{" eats the guitar.", " swims away.", " strums the strings and sings a song.", " sleeps."},
		},
		{
			name:   "hellaswag wikihow brackets and empty ctx_b",
			format: FormatHellaSwag, path: "testdata/hellaswag/hellaswag_val.jsonl", doc: 1,
			// " [title]" -> ". " then "[header]" and "[step]" vanish, then "  " -> " " once.
			wantContext: "Home and Garden: How to water a cactus. Check the soil. Push a finger into the soil.",
			// The removed "[substeps]" leaves its space: the harness scores "  If ...".
			wantContinuations: []string{"  If it is dry, water it slowly.", " Water it every hour. forever.", " Put the cactus in the freezer.", " Sing to the cactus."},
		},
		{
			name:   "hellaswag ctx_a is not stripped before joining",
			format: FormatHellaSwag, path: "testdata/hellaswag/hellaswag_val.jsonl", doc: 3,
			// "Running: " + "  Two runners wait at a line.   " + " " + "They": the
			// single double-space pass turns 3 spaces into 2 and 4 into 2.
			wantContext:       "Running:  Two runners wait at a line.  They",
			wantContinuations: []string{" fly.", " sit.", " cry.", " sprint down the track when the whistle blows."},
		},
		{
			name:   "arc numeric labels",
			format: FormatARC, path: "testdata/arc/ARC-Challenge-Test.jsonl", doc: 1,
			wantContext:       "Question: What tool measures temperature?\nAnswer:",
			wantContinuations: []string{" ruler", " thermometer", " scale", " clock"},
		},
		{
			name:   "mmlu zero-shot",
			format: FormatMMLU, path: "testdata/mmlu/data/test/abstract_algebra_test.csv", doc: 0,
			wantContext: "The following are multiple choice questions (with answers) about abstract algebra.\n\n" +
				"What is the identity element of the group (Z, +)?\nA. 0\nB. 1\nC. -1\nD. none\nAnswer:",
			wantContinuations: []string{" A", " B", " C", " D"},
		},
		{
			name:   "mmlu first_n five-shot",
			format: FormatMMLU, path: "testdata/mmlu/data/test/abstract_algebra_test.csv",
			fewshotPath: "testdata/mmlu/data/dev/abstract_algebra_dev.csv", doc: 2, shots: 5,
			wantContext: "The following are multiple choice questions (with answers) about abstract algebra.\n\n" +
				"Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n" +
				"Statement 1 | If aH is an element of a factor group, then |aH| divides |a|. Statement 2 | If H and K are subgroups of G then HK is a subgroup of G.\nA. True, True\nB. False, False\nC. True, False\nD. False, True\nAnswer: B\n\n" +
				"Find the order of the factor group Z_6/<3>.\nA. 2\nB. 3\nC. 6\nD. 12\nAnswer: B\n\n" +
				"Is the set of even integers, under addition, a group?\nA. Yes\nB. No\nC. Only without zero\nD. Only with one\nAnswer: A\n\n" +
				"How many elements does the group Z_7 have?\nA. 1\nB. 6\nC. 7\nD. 8\nAnswer: C\n\n" +
				"How many generators does Z_8 have?\nA. 2\nB. 4\nC. 6\nD. 8\nAnswer:",
			wantContinuations: []string{" A", " B", " C", " D"},
		},
		{
			name:   "commonsense_qa strips the stem",
			format: FormatCommonsenseQA, path: "testdata/csqa/dev_rand_split.jsonl", doc: 1,
			wantContext:       "Question: What is a pen used for?\nA. eat\nB. throw\nC. write\nD. drink\nE. climb\nAnswer:",
			wantContinuations: []string{" A", " B", " C", " D", " E"},
		},
		{
			name:   "belebele",
			format: FormatBelebele, path: "testdata/belebele/fra_Latn.jsonl", doc: 1,
			wantContext: "P: Marie a acheté trois pommes et deux poires au marché.\nQ: Combien de poires Marie a-t-elle achetées ?\n" +
				"A: Une\nB: Trois\nC: Deux\nD: Cinq\nAnswer:",
			wantContinuations: []string{" A", " B", " C", " D"},
		},
		{
			name:   "belebele first_n one-shot skips the document itself",
			format: FormatBelebele, path: "testdata/belebele/fra_Latn.jsonl", doc: 0, shots: 1,
			wantContext: "P: Marie a acheté trois pommes et deux poires au marché.\nQ: Combien de poires Marie a-t-elle achetées ?\n" +
				"A: Une\nB: Trois\nC: Deux\nD: Cinq\nAnswer: C\n\n" +
				"P: Le chat dort sur le canapé depuis ce matin. Il ne se réveille que pour manger.\nQ: Où dort le chat ?\n" +
				"A: Sur le lit\nB: Sur le canapé\nC: Dans le jardin\nD: Sous la table\nAnswer:",
			wantContinuations: []string{" A", " B", " C", " D"},
		},
		{
			name:   "generic context verbatim",
			format: FormatJSONL, path: "testdata/generic/capitals.jsonl", doc: 2,
			wantContext:       "Q: Is Oslo in Norway?\nA:",
			wantContinuations: []string{" yes", " no"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task, err := Open(tt.format, tt.path, tt.fewshotPath)
			require.NoError(t, err)
			reqs, err := task.Requests(tt.doc, tt.shots, 0)
			require.NoError(t, err)
			require.Len(t, reqs, len(tt.wantContinuations))
			for i, req := range reqs {
				assert.Equal(t, tt.wantContext, req.Context)
				assert.Equal(t, tt.wantContinuations[i], req.Continuation)
			}
		})
	}
}

func TestMalformedFilesNameFileAndLine(t *testing.T) {
	tests := []struct {
		format  Format
		file    string
		wantErr string
	}{
		{FormatHellaSwag, "hellaswag_missing_label.jsonl", `hellaswag_missing_label.jsonl:2: missing field "label"`},
		{FormatHellaSwag, "hellaswag_label_range.jsonl", "hellaswag_label_range.jsonl:1: label 4 out of range for 4 choices"},
		{FormatHellaSwag, "hellaswag_empty_endings.jsonl", "hellaswag_empty_endings.jsonl:3: no choices"},
		{FormatHellaSwag, "hellaswag_array_bad.json", `hellaswag_array_bad.json:3: label: not an integer: "two"`},
		{FormatARC, "arc_bad_answerkey.jsonl", `arc_bad_answerkey.jsonl:2: answerKey "F" is not among the choice labels [A B]`},
		{FormatARC, "arc_empty_choices.jsonl", "arc_empty_choices.jsonl:1: no choices"},
		{FormatARC, "arc_truncated.jsonl", "arc_truncated.jsonl:2: not a JSON object"},
		{FormatMMLU, "mmlu_short_row_test.csv", "mmlu_short_row_test.csv:2: 5 fields, want 6"},
		{FormatMMLU, "mmlu_bad_answer_test.csv", `mmlu_bad_answer_test.csv:3: answer "E" is not one of A, B, C, D`},
		{FormatMMLU, "mmlu_bad_quote_test.csv", `mmlu_bad_quote_test.csv:2: bare " in non-quoted-field`},
		{FormatCommonsenseQA, "csqa_missing_stem.jsonl", `csqa_missing_stem.jsonl:1: missing field "question.stem"`},
		{FormatCommonsenseQA, "csqa_test_unlabelled.jsonl", `csqa_test_unlabelled.jsonl:1: missing field "answerKey"`},
		{FormatBelebele, "belebele_missing_answer.jsonl", `belebele_missing_answer.jsonl:1: missing field "mc_answer3"`},
		{FormatBelebele, "belebele_bad_num.jsonl", "belebele_bad_num.jsonl:2: correct_answer_num 5: label 4 out of range for 4 choices"},
		{FormatJSONL, "generic_empty_choices.jsonl", "generic_empty_choices.jsonl:1: no choices"},
		{FormatJSONL, "generic_missing_context.jsonl", `generic_missing_context.jsonl:1: missing field "context"`},
		{FormatJSONL, "generic_empty.jsonl", "generic_empty.jsonl: no records"},
		{FormatJSONL, "does_not_exist.jsonl", "does_not_exist.jsonl: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "malformed", tt.file)
			_, err := Open(tt.format, path, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Contains(t, err.Error(), path, "the error names the file")
		})
	}
}

func TestOpenRejects(t *testing.T) {
	_, err := Open("squad", "testdata/generic/capitals.jsonl", "")
	assert.ErrorContains(t, err, `unknown task format "squad"`)

	// An MMLU pool of another subject would teach the wrong subject line.
	dir := t.TempDir()
	other := filepath.Join(dir, "anatomy_dev.csv")
	require.NoError(t, os.WriteFile(other, []byte("Q?,a,b,c,d,A\n"), 0o644))
	_, err = Open(FormatMMLU, "testdata/mmlu/data/test/abstract_algebra_test.csv", other)
	assert.ErrorContains(t, err, "is task mmlu_anatomy, not mmlu_abstract_algebra")

	_, err = Open(FormatARC, "testdata/arc/ARC-Challenge-Test.jsonl", "testdata/malformed/arc_truncated.jsonl")
	assert.ErrorContains(t, err, "few-shot pool for arc_challenge: testdata/malformed/arc_truncated.jsonl:2")
}

func TestLoadMMLUDir(t *testing.T) {
	tasks, err := LoadMMLUDir("testdata/mmlu/data", "test")
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Equal(t, "mmlu_abstract_algebra", tasks[0].Name)
	assert.Len(t, tasks[0].Docs, 3)
	assert.Len(t, tasks[0].FewshotDocs, 5)

	_, err = LoadMMLUDir("testdata/mmlu/data", "val")
	assert.ErrorContains(t, err, "no val/*_val.csv files")
}

func TestPythonStringHelpers(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"capitalize lowers the rest", pyCapitalize("THE MAN"), "The man"},
		{"capitalize accented", pyCapitalize("élodie"), "Élodie"},
		{"capitalize titlecase digraph", pyCapitalize("ǆungla"), "ǅungla"},
		{"capitalize empty", pyCapitalize(""), ""},
		{"strip python whitespace", pyStrip("\x1c\u00a0 text\t\n\x1f"), "text"},
		{"preprocess title", hellaSwagPreprocess("[header] How to x [title] Do y."), " How to x. Do y."},
		{"preprocess triple space", hellaSwagPreprocess("a   b"), "a  b"},
		{"preprocess brackets are non-greedy", hellaSwagPreprocess("a [x] b [y] c"), "a b c"},
		{"preprocess brackets stop at newlines", hellaSwagPreprocess("a [x\n] b"), "a [x\n] b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.got) })
	}
}

func TestFewshotSelection(t *testing.T) {
	task, err := Open(FormatHellaSwag, "testdata/hellaswag/hellaswag_val.jsonl", "")
	require.NoError(t, err)
	ownQuery := task.Docs[2].Query

	first, err := task.Prompt(2, 5, 7)
	require.NoError(t, err)
	again, err := task.Prompt(2, 5, 7)
	require.NoError(t, err)
	assert.Equal(t, first, again, "same seed, same prompt")
	assert.Equal(t, 1, strings.Count(first, ownQuery), "the evaluated document is never its own example")
	assert.Equal(t, 5, strings.Count(first, "\n\n"))
	for i, doc := range task.Docs {
		if i != 2 {
			assert.Contains(t, first, doc.Query+" "+doc.Choices[doc.Gold]+"\n\n", "5 of 5 others are used")
		}
	}

	distinct := map[string]bool{}
	for seed := range uint64(10) {
		prompt, err := task.Prompt(2, 2, seed)
		require.NoError(t, err)
		distinct[prompt] = true
	}
	assert.Greater(t, len(distinct), 3, "the seed changes the examples")

	_, err = task.Prompt(0, 6, 0)
	assert.ErrorContains(t, err, "6 shots requested but the few-shot pool has 5 examples")
	_, err = task.Prompt(0, -1, 0)
	assert.ErrorContains(t, err, "negative shot count")
	_, err = task.Prompt(6, 0, 0)
	assert.ErrorContains(t, err, "document 6 out of range")
}

func TestJSONRecordsSkipByteOrderMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bom.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("\xef\xbb\xbf"+`{"context": "x", "choices": ["a", "b"], "label": 1}`+"\n"), 0o644))
	task, err := LoadJSONL(path)
	require.NoError(t, err)
	require.Len(t, task.Docs, 1)
	assert.Equal(t, 1, task.Docs[0].Gold)
}

func TestLoadFunctionsMatchOpen(t *testing.T) {
	loaders := map[Format]func(string) (*Task, error){
		FormatHellaSwag: LoadHellaSwag, FormatARC: LoadARC, FormatMMLU: LoadMMLU,
		FormatCommonsenseQA: LoadCommonsenseQA, FormatBelebele: LoadBelebele, FormatJSONL: LoadJSONL,
	}
	require.Len(t, loaders, len(Formats()))
	for _, tt := range fixtureTasks {
		viaOpen, err := Open(tt.format, tt.path, "")
		require.NoError(t, err)
		direct, err := loaders[tt.format](tt.path)
		require.NoError(t, err)
		assert.Equal(t, viaOpen, direct, tt.path)
	}
}

// A Hugging Face export (question a string, choices column-wise) loads to
// the same documents as AI2's release of the same questions.
func TestHuggingFaceExportsMatchAI2Files(t *testing.T) {
	for _, c := range []struct {
		format  Format
		ai2, hf string
	}{
		{FormatARC, "testdata/arc/ARC-Challenge-Test.jsonl", "testdata/arc/hf_ARC-Challenge-test.jsonl"},
		{FormatCommonsenseQA, "testdata/csqa/dev_rand_split.jsonl", "testdata/csqa/hf_validation.jsonl"},
	} {
		ai2, err := Open(c.format, c.ai2, "")
		require.NoError(t, err)
		hf, err := Open(c.format, c.hf, "")
		require.NoError(t, err)
		assert.Equal(t, ai2.Docs, hf.Docs, c.hf)
		assert.Equal(t, ai2.Name, hf.Name)
	}
	for file, want := range map[string]string{
		"arc_question_number.jsonl": `arc_question_number.jsonl:1: field "question" is neither AI2's {stem, choices} object nor a Hugging Face export's string: 7`,
		"arc_hf_choices_list.jsonl": `arc_hf_choices_list.jsonl:1: field "choices" must be {"text": [...], "label": [...]}`,
	} {
		_, err := Open(FormatARC, "testdata/malformed/"+file, "")
		assert.ErrorContains(t, err, want)
	}
	_, err := Open(FormatARC, "test-00000-of-00001.parquet", "")
	assert.ErrorContains(t, err, "load task test-00000-of-00001.parquet: .parquet files are not read; write the split as JSONL")
}
