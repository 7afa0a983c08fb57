// Command livegate-face runs livegate's face primitives on image files:
//
//	livegate-face detect IMAGE [--range short|full] [--json]
//	livegate-face landmarks IMAGE [--draw OUT.png] [--json]
//	livegate-face compare A B [--threshold T] [--json]
//	livegate-face convert IN.tflite OUT.onnx
//	livegate-face bench [--frames N] [--embed-every N] [--json]
//	livegate-face replay FILE [--json]      (a stored session; exit 1 when its verdict does not replay)
//
// Models and the ONNX Runtime library come from the cache `make setup` fills
// ($LIVEGATE_CACHE, $LIVEGATE_MODELS, $LIVEGATE_ORT_LIB). Bad input exits
// with status 1 and a message on stderr.
package main
