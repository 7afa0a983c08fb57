// Package face holds livegate's face primitives on ONNX Runtime: BlazeFace
// detection (short and full range, MediaPipe's anchors and weighted NMS),
// the 468-point face mesh landmarker on an eye-aligned crop, head pose and
// eye/mouth measures from landmarks, and MobileFaceNet embeddings with
// cosine similarity.
//
// Every model object owns one ONNX Runtime session with pre-allocated
// tensors and reusable buffers: create it once, call it per frame, Close it
// at the end. Model objects are not safe for concurrent use; give each
// goroutine its own.
//
// All coordinates returned are source-image pixels, x to the right and y
// down. Keypoint and landmark "right"/"left" are the subject's: the right eye
// is on the image's left in a frontal, unmirrored photo.
package face
