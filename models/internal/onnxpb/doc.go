// Package onnxpb writes ONNX models (onnx.proto ModelProto) in the protobuf
// wire format, using google.golang.org/protobuf/encoding/protowire directly:
// no generated code and no protoc at build time.
//
// It covers what a converter needs: a graph of nodes with attributes,
// initializers stored as raw little-endian data, and typed graph inputs and
// outputs with static shapes. Marshal is deterministic: the same Model value
// always gives the same bytes (fields are written in field-number order and
// slices in their given order).
package onnxpb
