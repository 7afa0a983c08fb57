// Package liveness is livegate's session-scoped liveness decision: an
// Analyzer is fed the frames of one verification session (image, capture
// timestamp and, when the capture side controls light, the light it was
// emitting), returns per-frame guidance a user interface can show, and ends
// with a Verdict (pass, fail or retry, a confidence in [0, 1], reason codes
// and one score per layer).
//
// The layers are: challenges (active mode only: blink, turn left, turn
// right, smile, nod, in a random order, each within a window), anti-spoof
// (screen moiré in the face's spectrum), injection (timestamp regularity,
// repeated frames, loops on pixels and on landmark trajectories, jumps),
// face consistency (one face, one identity by embedding), motion (3-D
// parallax of points inside the face, and the background against the
// face), non-rigid (blinks and lip movement no homography explains) and,
// when the capture side controls light, light response (a random colour
// sequence chosen at the start must show on the face with the right
// timing). docs/liveness.md describes the evidence, the fusion and the
// figures.
//
// The package does no I/O: the same code decides on a kiosk and in the
// cloud. Models (detector, landmarker, embedder) are loaded once into a
// Models bundle that any number of Analyzers share safely.
package liveness
