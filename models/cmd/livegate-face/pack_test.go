package main

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livegate.dev/models/modelpack"
)

func TestPack(t *testing.T) {
	img := media(t, "grace_hopper_512x512.jpg")
	out := filepath.Join(t.TempDir(), "pack.tar")
	stdout, err := run(t, "pack", "--json", "--selftest", img, "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Size     int64            `json:"size"`
		Index    modelpack.Index  `json:"index"`
		Selftest modelpack.Vector `json:"selftest"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if len(got.Index.Files) != len(modelpack.ModelFiles)+2 || got.Selftest.Landmarks.Count != 468 || got.Selftest.Format != modelpack.VectorFormat {
		t.Fatalf("pack output %+v", got)
	}
	for _, f := range got.Index.Files {
		if f.Name == "FaceAntiSpoofing.onnx" {
			t.Fatalf("the pack carries %s, which the engine does not run", f.Name)
		}
	}
	if strings.Contains(stdout, "anti_spoof") {
		t.Fatalf("the pack's self-test vector still has an anti_spoof expectation: %s", stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if h, err := tar.NewReader(f).Next(); err != nil || h.Name != modelpack.IndexName {
		t.Fatalf("first entry %v, %v", h, err)
	}
	if _, err := run(t, "pack", "-o", out); err == nil || !strings.Contains(err.Error(), "--selftest") {
		t.Fatalf("pack without --selftest: %v", err)
	}
}
