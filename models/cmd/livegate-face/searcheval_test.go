package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/facesearch"
)

// TestSearchEval: the 1:N command prints, per gallery size, the figures
// docs/face.md quotes (no error at the shipped threshold on this set), a
// threshold below the different-people scores shows false positives, and a
// media directory without the set is refused naming make setup.
func TestSearchEval(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 90 faces")
	}
	media(t, "johns/John_Simm/000288_00470387.jpg")
	dir := filepath.Join(assets.CacheDir(), "media")
	var r struct {
		Faces, Identities int
		Sizes             []facesearch.Figures
	}
	for _, c := range []struct {
		args       []string
		identities int
		sizes      int
		wantFP     bool
	}{
		{nil, 31, len(facesearch.EvalSizes), false}, // the clips add cap12/cap13's person
		{[]string{"--threshold", "0.2", "--sizes", "10,20", "--clip-every", "0"}, 30, 2, true},
	} {
		out, err := run(t, append([]string{"search-eval", "--json", "--media", dir}, c.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if r.Identities != c.identities || len(r.Sizes) != c.sizes {
			t.Fatalf("%v: %d identities, %d sizes", c.args, r.Identities, len(r.Sizes))
		}
		for _, f := range r.Sizes {
			if f.Mated == 0 || f.NonMated == 0 || (f.FalsePositives > 0) != c.wantFP || (!c.wantFP && f.Misses > 0) {
				t.Errorf("%v: %+v", c.args, f)
			}
		}
	}
	if _, err := run(t, "search-eval", "--media", t.TempDir()); err == nil || !strings.Contains(err.Error(), "make setup") {
		t.Fatalf("empty media: %v", err)
	}
}
