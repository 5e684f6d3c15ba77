package main

import (
	"bytes"
	"io"

	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/runtime"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// initRuntime loads ONNX Runtime from --ort-lib, $NRGRAPH_ORT_LIB or the
// install cache, with an error that says how to install it.
func initRuntime(ortLib string) error { return runtime.Init(ortLib) }

// loadTokenizer loads a tokenizer.json; bos is the id prepended to scored
// text (-1 when the tokenizer defines none).
func loadTokenizer(path string) (tokenizer.Encoder, int, error) {
	t, err := tokenizer.LoadFile(path)
	if err != nil {
		return nil, -1, err
	}
	return t, t.BOS, nil
}
