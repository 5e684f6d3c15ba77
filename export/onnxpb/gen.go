// Package onnxpb holds Go types generated from the official onnx.proto (ONNX
// 1.12, vendored from Debian's python3-onnx, /usr/lib/python3/dist-packages/onnx/onnx.proto).
// The generated file is committed so normal builds need no protoc.
//
// Regenerate (needs Debian's protobuf-compiler and protoc-gen-go v1.36.12):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./export/onnxpb
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/nrgraph/nrgraph/export/onnxpb onnx.proto
