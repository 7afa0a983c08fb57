// Package icao makes the 480×600 test-mode portrait that a simulated pass
// stores in place of a real ICAO photo. The image is drawn from scratch — a
// plain background, a grey silhouette and large "TEST IMAGE" banners — so it
// can never be mistaken for a photograph of a person. Real ICAO photos are
// cropped by the liveness engine (module models) from the captured frames.
package icao
