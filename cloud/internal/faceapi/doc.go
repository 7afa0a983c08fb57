// Package faceapi serves face detection and comparison (seed 002):
// POST /v1/face/detect and POST /v2/face/compare. An Engine holds a pool of
// model sets (detector, landmarker, embedder) sized to the machine's cores;
// none of the engine objects is safe for concurrent use, so each request
// borrows one set for the duration of its inference. Uploads are bounded in
// bytes and in pixels (checked from the image header before any pixel buffer
// is allocated), and every refusal has a documented error code.
package faceapi
