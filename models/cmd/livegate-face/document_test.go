package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDocumentEvalRejectsBadDate(t *testing.T) {
	if _, err := run(t, "document-eval", "--n", "1", "--now", "7 Dec 2026"); err == nil || !strings.Contains(err.Error(), "--now") {
		t.Fatalf("err %v, want one naming --now", err)
	}
}

// TestDocumentEvalWritesSet reads two synthetic documents and checks the
// JSON figures and the set written with --out (photos, portraits, manifest).
func TestDocumentEvalWritesSet(t *testing.T) {
	media(t, "johns/John_Salley/000179_02159509.jpg")
	dir := t.TempDir()
	out, err := run(t, "document-eval", "--json", "--n", "2", "--seed", "21", "--now", "2026-12-07", "--out", dir)
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("document kit missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
		}
		t.Fatal(err)
	}
	var rep struct {
		N        int                `json:"n"`
		Found    float64            `json:"found"`
		Fields   map[string]float64 `json:"field_accuracy"`
		TessCPU  float64            `json:"tesseract_cpu_ms_per_document"`
		Decision map[string]float64 `json:"decision_accuracy"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.N != 2 || rep.Found != 1 || rep.TessCPU <= 0 || len(rep.Fields) < 11 || len(rep.Decision) != 2 {
		t.Fatalf("report %+v", rep)
	}
	var manifest []struct {
		ID     string   `json:"id"`
		Lines  []string `json:"lines"`
		Defect string   `json:"defect"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &manifest); err != nil || len(manifest) != 2 {
		t.Fatalf("manifest: %v %s", err, b)
	}
	for _, m := range manifest {
		for _, suffix := range []string{".jpg", ".portrait.png"} {
			if _, err := os.Stat(filepath.Join(dir, m.ID+suffix)); err != nil {
				t.Errorf("%s%s: %v", m.ID, suffix, err)
			}
		}
	}
}
