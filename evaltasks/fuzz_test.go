package evaltasks

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzParser seeds a parser with every fixture of its format (good and
// malformed) and checks what any accepted input must satisfy: at least one
// document, each with choices, an in-range gold index, and prompts that can
// be built.
func fuzzParser(f *testing.F, parse parseFunc, seedGlobs ...string) {
	for _, glob := range seedGlobs {
		paths, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		task, err := parse(bytes.NewReader(data), "fuzz_test.input")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz_test.input") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(task.Docs) == 0 {
			t.Fatal("accepted a file without documents")
		}
		for i, doc := range task.Docs {
			if len(doc.Choices) == 0 || doc.Gold < 0 || doc.Gold >= len(doc.Choices) {
				t.Fatalf("document %d: gold %d of %d choices", i, doc.Gold, len(doc.Choices))
			}
			if _, err := task.Requests(i, 0, 0); err != nil {
				t.Fatalf("document %d: %v", i, err)
			}
		}
	})
}

func FuzzParseHellaSwag(f *testing.F) {
	fuzzParser(f, parseHellaSwag, "testdata/hellaswag/*", "testdata/malformed/hellaswag_*")
}

func FuzzParseARC(f *testing.F) {
	fuzzParser(f, parseARC, "testdata/arc/*", "testdata/malformed/arc_*")
}

func FuzzParseMMLU(f *testing.F) {
	fuzzParser(f, parseMMLU, "testdata/mmlu/data/*/*.csv", "testdata/malformed/mmlu_*")
}

func FuzzParseCommonsenseQA(f *testing.F) {
	fuzzParser(f, parseCommonsenseQA, "testdata/csqa/*", "testdata/malformed/csqa_*")
}

func FuzzParseBelebele(f *testing.F) {
	fuzzParser(f, parseBelebele, "testdata/belebele/*", "testdata/malformed/belebele_*")
}

func FuzzParseGenericJSONL(f *testing.F) {
	fuzzParser(f, parseGenericJSONL, "testdata/generic/*", "testdata/malformed/generic_*")
}
