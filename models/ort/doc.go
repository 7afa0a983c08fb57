// Package ort runs ONNX models on ONNX Runtime (1.30, through
// github.com/yalue/onnxruntime_go) with sessions created once and tensors
// allocated once.
//
// The shared library is loaded once per process (Init; Load calls it). A Model
// is one session whose input and output tensors are allocated when it is
// loaded: write the input in place through Input(i), call Run, read
// Output(i). Run allocates nothing on the Go heap, so a per-frame loop can run
// without garbage. Thread counts and the execution provider are Options.
//
// Only float32 tensors are supported: every model the engine uses takes and
// gives float32.
package ort
