// Package facesearch is the 1:N face search: a probe embedding against a
// gallery of enrolled ones (MobileFaceNet on mesh-aligned crops, as
// livegate.dev/models/facematch compares two), answered with the top-k
// enrolled identities by cosine similarity — a person with several
// templates scores as their best — and a match decision at the gallery's
// threshold. Index is an exhaustive (brute-force) search over unit vectors
// held in one contiguous slice; at 192 dimensions a 10,000-template gallery
// is 7.3 MiB and one search reads it once (BenchmarkSearch).
//
// Evaluate measures a threshold the way NIST's FRVT 1:N reports do: FPIR
// (the share of non-mated searches — the probe's identity is not enrolled —
// that return any candidate at or above the threshold) and FNIR (the share
// of mated searches that do not return the mate at or above it, within the
// candidate list), at a gallery size. `livegate-face search-eval` prints
// them on the project's photo sets (docs/face.md).
package facesearch
