// Package facematch is the 1:1 face match of a verification: a probe face
// (the best frame of a liveness capture) against a reference face (a photo
// the integrator uploaded, or an earlier approved session's portrait),
// scored as the cosine similarity of their MobileFaceNet embeddings on
// mesh-aligned crops (livegate.dev/models/face), and decided against two
// thresholds: at or above Accept the faces match (pass), from ReviewFrom up
// to Accept a human should look (review, never an automatic pass), below
// ReviewFrom they do not match (fail).
//
// The thresholds are calibrated on the real photos that make setup fetches
// (Calibration lists them with their identities); `livegate-face
// facematch-eval` prints the figures: ROC AUC, EER, FMR and FNMR at both
// thresholds and the share of pairs in the grey zone (docs/face.md).
package facematch
