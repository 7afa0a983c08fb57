// Package models is the root of livegate's liveness engine module.
//
// The engine's packages live below it: assets (where the fetched library,
// models and test media are), ort (the ONNX Runtime wrapper), tflite2onnx (the
// converter), face (detection, landmarks, embeddings) and the livegate-face
// tool. This package itself only carries the model manifest, manifest.json:
// the pinned source, sha256, license and tensors of every model, the ONNX
// Runtime library and the test media. `make setup` (scripts/setup.d/30-fetch.sh)
// fetches and verifies exactly what it lists; package assets parses it.
package models

import _ "embed"

// ManifestJSON is models/manifest.json as built into the binary.
//
//go:embed manifest.json
var ManifestJSON []byte
