// Package tflitetest builds small TFLite flatbuffers from Go values, for
// tests of the TFLite reader and of the TFLite → ONNX converter.
package tflitetest
