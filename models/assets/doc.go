// Package assets says where the engine's fetched files are: the ONNX Runtime
// shared library, the model files and the test media, all filled by
// `make setup` into a cache directory, and parses the model manifest
// (models/manifest.json, built into the binary).
//
// Locations (see docs/models-setup.md):
//
//	LIVEGATE_CACHE    cache root; default ~/.cache/livegate
//	LIVEGATE_MODELS   model directory; default $LIVEGATE_CACHE/models
//	LIVEGATE_ORT_LIB  the ONNX Runtime library file; default
//	                  $LIVEGATE_CACHE/ort/linux-$GOARCH/libonnxruntime.so.1
//
// Test media ($LIVEGATE_CACHE/media) are photos and clips of real people:
// for tests, evaluation and local demos only, never shipped.
//
// Every lookup of a missing file returns an error that wraps ErrMissing,
// names the file and says which command fixes it.
package assets
