// Package liveness is livegate's session-scoped liveness decision: an
// Analyzer is fed the frames of one verification session (image, capture
// timestamp and, when the capture side controls light, the light it was
// emitting), returns per-frame guidance a user interface can show, and ends
// with a Verdict (pass, fail or retry, a confidence in [0, 1], reason codes
// and one score per layer).
//
// The layers are: challenges (active mode only: blink, turn left, turn
// right, smile, in a random order, each within a window), anti-spoof
// (FaceAntiSpoofing's raw score as a weak input plus screen moiré and
// print texture in the face's spectrum), injection (timestamp regularity,
// repeated frames and loops, landmark jitter and jumps), face consistency
// (one face, one identity by embedding), motion (3-D parallax against a
// plane fitted to the landmarks between frames) and, when the capture side
// controls light, light response (a random colour sequence chosen at the
// start must show on the face with the right timing). docs/liveness.md
// describes the evidence, the fusion and the figures.
//
// The package does no I/O: the same code decides on a kiosk and in the
// cloud. Models (detector, landmarker, embedder, anti-spoof) are loaded
// once into a Models bundle that any number of Analyzers share safely.
package liveness
