package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/facematch"
)

// TestFacematchEval: the calibration command prints the figures docs/face.md
// quotes, for the shipped thresholds or the ones given, and refuses a media
// directory without the set.
func TestFacematchEval(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 90 faces")
	}
	media(t, "johns/John_Simm/000288_00470387.jpg") // skips or fails without the media
	media := filepath.Join(assets.CacheDir(), "media")
	out, err := run(t, "facematch-eval", "--json", "--media", media)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Photos, Faces, Identities int
		facematch.Figures
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Photos != 75 || r.Faces < 80 || r.Identities < 25 || r.SamePairs != 330 || r.Accept != facematch.Accept ||
		r.ReviewFrom != facematch.ReviewFrom || r.AUC < 0.99 || r.FMRAccept > 0.01 || r.ThresholdFMR1 > r.Accept {
		t.Fatalf("figures %s", out)
	}
	// Other thresholds: everything at or above 0.2 passes, so different
	// people match and the grey zone is empty.
	out, err = run(t, "facematch-eval", "--media", media, "--accept", "0.2", "--review-from", "0.2")
	if err != nil || !strings.Contains(out, "accept 0.20 (pass)") || strings.Contains(out, "accept 0.20 (pass)               0.00%") {
		t.Fatalf("at 0.2: %v\n%s", err, out)
	}
	if _, err := run(t, "facematch-eval", "--media", t.TempDir()); err == nil || !strings.Contains(err.Error(), "make setup") {
		t.Fatalf("an empty media directory: %v", err)
	}
}
