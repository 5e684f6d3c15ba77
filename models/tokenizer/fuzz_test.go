package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzLoadBytes: the loader must reject or accept any input without
// panicking, and never size its tables beyond what the input justifies.
func FuzzLoadBytes(f *testing.F) {
	files, err := filepath.Glob("testdata/*.tokenizer.json")
	require.NoError(f, err)
	for _, path := range files {
		data, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(tinyMetaspace("first")))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]],"byte_fallback":true,"unk_token":"a"},
		"normalizer":{"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "},
		"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)"},"behavior":"MergedWithPrevious"},{"type":"Digits"}]},
		"decoder":{"type":"Sequence","decoders":[{"type":"Strip","content":" ","start":1,"stop":2}]},
		"post_processor":{"type":"RobertaProcessing","cls":["a",0],"sep":["b",1]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := LoadBytes(data)
		if err != nil {
			return
		}
		assert.LessOrEqual(t, tok.VocabSize(), 2*len(data)+1024)
		for _, text := range []string{"", "Hello  world 1999\t", "日本😀 <s> ▁x"} {
			ids := tok.Encode(text, true)
			tok.Decode(ids)
			tok.DecodeSkipSpecial(ids)
		}
	})
}

// FuzzEncode: no panics, output bounded by input size, and exact round trips
// where the pipeline is lossless: our byte-level tokenizer (no prefix space)
// and the Gemma-style one (byte fallback, no Prepend) on text without "▁".
func FuzzEncode(f *testing.F) {
	texts, err := os.ReadFile("testdata/texts.json")
	require.NoError(f, err)
	for _, line := range strings.Split(string(texts), "\n") {
		f.Add(strings.Trim(strings.TrimSpace(line), `",`))
	}
	f.Add("\xff\xfe invalid \xc3")
	names := []string{"ours-bytelevel", "bytelevel-hf", "llama-sp", "gemma-sp", "metaspace-sp"}
	toks := map[string]*Tokenizer{}
	for _, name := range names {
		tok, err := Load("testdata/" + name + ".tokenizer.json")
		require.NoError(f, err)
		toks[name] = tok
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, name := range names {
			tok := toks[name]
			ids := tok.Encode(text, true)
			// Every token covers at least one input byte, except the
			// specials and the "▁"/" " a pipeline prepends per segment.
			require.LessOrEqual(t, len(ids), 2*len(text)+4, name)
			decoded := tok.Decode(tok.Encode(text, false))
			if !utf8.ValidString(text) {
				continue
			}
			switch {
			case name == "ours-bytelevel":
				require.Equal(t, text, decoded, name)
			case name == "gemma-sp" && !strings.Contains(text, "▁"):
				require.Equal(t, text, decoded, name)
			}
		}
	})
}
