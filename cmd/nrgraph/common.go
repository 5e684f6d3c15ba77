package main

import (
	"bytes"
	"io"
	"os"

	"github.com/nrgraph/nrgraph/models/bpe"
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
	hash     string
	vocab    int
	bos, eos int
}

// openTokenizer loads a tokenizer.json.
func openTokenizer(path string) (*tokenizerInfo, error) {
	tok, err := bpe.Load(path)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &tokenizerInfo{enc: tok, hash: trainer.TokenizerHash(raw), vocab: tok.VocabSize(), bos: tok.BOS, eos: tok.EOS}, nil
}

// loadTokenizer loads a tokenizer.json; bos is the id prepended to scored
// text (-1 when the tokenizer defines none).
func loadTokenizer(path string) (trainer.Encoder, int, error) {
	t, err := openTokenizer(path)
	if err != nil {
		return nil, -1, err
	}
	return t.enc, t.bos, nil
}
