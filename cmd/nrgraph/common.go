package main

import (
	"bytes"
	"io"
	"os"

	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/runtime"
	"github.com/nrgraph/nrgraph/trainer"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// initRuntime loads ONNX Runtime from --ort-lib, $NRGRAPH_ORT_LIB or the
// install cache, with an error that says how to install it.
func initRuntime(ortLib string) error { return runtime.Init(ortLib) }

// tokenizerInfo is what commands need of a tokenizer.json.
type tokenizerInfo struct {
	enc      trainer.Encoder
	dec      trainer.Tokenizer
	hash     string
	vocab    int
	bos, eos int
}

// openTokenizer loads a tokenizer.json.
func openTokenizer(path string) (*tokenizerInfo, error) {
	tok, err := tokenizer.Load(path)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	info := &tokenizerInfo{enc: tok, dec: textDecoder{tok}, hash: trainer.TokenizerHash(raw), vocab: tok.VocabSize(), bos: -1, eos: -1}
	if id, ok := tok.BOS(); ok {
		info.bos = id
	}
	if id, ok := tok.EOS(); ok {
		info.eos = id
	}
	return info, nil
}

// textDecoder decodes without special tokens (what a user wants to read).
type textDecoder struct{ t *tokenizer.Tokenizer }

func (d textDecoder) Encode(text string, addSpecial bool) []int { return d.t.Encode(text, addSpecial) }
func (d textDecoder) Decode(ids []int) string                   { return d.t.DecodeSkipSpecial(ids) }

// loadTokenizer loads a tokenizer.json; bos is the id prepended to scored
// text (-1 when the tokenizer defines none).
func loadTokenizer(path string) (trainer.Encoder, int, error) {
	t, err := openTokenizer(path)
	if err != nil {
		return nil, -1, err
	}
	return t.enc, t.bos, nil
}
