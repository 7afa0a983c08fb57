// Package modelpack builds and checks models packs: the payload of a
// kind=models OTA artifact that updates the liveness engine's models.
//
// A pack is an uncompressed POSIX tar whose first entry, index.json, lists
// every other entry with its size and SHA-256 (the tree payload format of
// livegate.dev/ota/install, which unpacks it into a models slot):
//
//	index.json                        {"format":1,"files":[{"name","size","sha256"},…]}
//	face_detection_short_range.onnx   the engine's models (ModelFiles), named as in models/manifest.json
//	face_landmark.onnx
//	MobileFaceNet.onnx
//	selftest.json                     the self-test vector (Vector)
//	selftest.jpg (or .png)            its reference image
//
// The self-test vector is a known answer: the detector's box and score, the
// landmark count, presence and centroid, and the embedding that the pack's
// own models gave on the reference image when the pack was built, each with
// a tolerance. SelfTest runs the models on the image again and fails if any
// output leaves its tolerance — so a pack with a wrong, swapped or
// corrupted model, or a runtime that computes something else on this
// device, fails the kiosk's health check and is rolled back.
//
// Packs built before vector format 2 also hold FaceAntiSpoofing.onnx and
// an anti_spoof expectation. They still install and pass: the installer
// verifies that file against the index like every other, Load does not
// load it, and ParseVector drops the expectation.
package modelpack
