// Package tflite reads TensorFlow Lite model files (the "TFL3" flatbuffer) into
// plain Go values: subgraphs, tensors (shape, type, buffer, quantization),
// operators with their builtin options, operator codes and buffers.
//
// It covers the subset of the TFLite schema that livegate's face models use
// and that a converter needs. The field layout follows TensorFlow's
// tensorflow/lite/schema/schema.fbs (Apache-2.0); the accessors here are
// written by hand on top of github.com/google/flatbuffers/go, so no code
// generator runs at build time. A malformed file is an error, never a panic.
package tflite
