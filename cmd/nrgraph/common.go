package main

import (
	"bytes"
	"io"

	"github.com/nrgraph/nrgraph/runtime"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// initRuntime loads ONNX Runtime from --ort-lib, $NRGRAPH_ORT_LIB or the
// install cache, with an error that says how to install it.
func initRuntime(ortLib string) error { return runtime.Init(ortLib) }
