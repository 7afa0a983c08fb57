// Command convertmodels converts every TFLite model listed in
// models/manifest.json (built in through livegate.dev/models/assets) into
// ONNX beside its source in the models directory ($LIVEGATE_MODELS, default
// $LIVEGATE_CACHE/models, default ~/.cache/livegate/models), using
// livegate.dev/models/tflite2onnx.
//
// It verifies each source against the manifest's sha256 first, writes each
// .onnx atomically (temp file, fsync, rename) and checks the result against
// the manifest's onnx_sha256: conversion is deterministic, so a mismatch means
// the converter changed and the manifest must be updated (-print shows the
// new hashes). When every converted file already has its pinned hash, it only
// hashes the files. scripts/setup.d/40-convert.sh runs it on `make setup`.
//
//	cd models && go run ./internal/cmd/convertmodels [-dir DIR] [-print] [-ops]
package main
