package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLivenessJSON runs a folder of frames that repeat one photo (an
// injected still) through `liveness --json`: it must print the four fields
// and must not pass.
func TestLivenessJSON(t *testing.T) {
	src, err := os.ReadFile(media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 0; i < 30; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.jpg", i)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, "liveness", "--mode", "passive", "--json", dir)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Verdict    *string  `json:"verdict"`
		Confidence *float64 `json:"confidence"`
		Reasons    []string `json:"reasons"`
		Layers     []struct {
			Name   string  `json:"name"`
			Score  float64 `json:"score"`
			Passed bool    `json:"passed"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if res.Verdict == nil || res.Confidence == nil || len(res.Layers) != 4 {
		t.Fatalf("missing fields or not 4 passive layers: %s", out)
	}
	if *res.Verdict == "pass" || !slices.Contains(res.Reasons, "injection_suspected") {
		t.Errorf("an injected still: verdict %s reasons %v", *res.Verdict, res.Reasons)
	}
	if _, err := run(t, "liveness", "--mode", "sideways", dir); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Errorf("bad --mode: %v", err)
	}
	if _, err := run(t, "liveness", filepath.Join(dir, "missing")); err == nil {
		t.Error("missing clip: no error")
	}
}
