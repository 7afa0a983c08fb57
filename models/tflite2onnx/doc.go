// Package tflite2onnx converts TensorFlow Lite models into ONNX models that
// ONNX Runtime can run.
//
// Convert parses the TFLite flatbuffer, folds constant DEQUANTIZE operators
// (fp16 and affine int8/uint8 weights become fp32 initializers), and maps each
// operator onto ONNX opset 13. Activations that feed convolutions and pools run
// in NCHW inside the graph while the model's public inputs and outputs keep the
// TFLite layout (NHWC) and names: a Transpose is inserted once wherever a
// tensor is needed in the other layout, and weights are transposed at
// conversion time (OHWI → OIHW; depthwise 1HW(C·M) → (C·M)1HW with group C).
//
// The output is deterministic: the same TFLite bytes always give the same
// ONNX bytes. An operator the converter does not know is an error that names
// the operator and the model. docs/converter.md lists the coverage and the
// verification figures.
package tflite2onnx
