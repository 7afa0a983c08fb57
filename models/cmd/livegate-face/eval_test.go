package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livegate.dev/models/corpus"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// TestEvalGate evaluates a two-sample corpus made by hand: a photo injected
// as a repeated still (an attack the analyzer must refuse) labelled once as
// an attack and once, wrongly, as bona fide. The figures must count each,
// and --gate must fail on the mislabelled sample being rejected.
func TestEvalGate(t *testing.T) {
	dir := t.TempDir()
	photo, err := imgproc.DecodeFile(media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	frame := imgproc.NewRGB(corpus.SampleW, corpus.SampleH)
	corpus.Fit43(photo, frame)
	if err := os.Mkdir(filepath.Join(dir, "samples"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "samples", "still.avi"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := video.NewAVIWriter(f, frame.W, frame.H, 25, 1, 90)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 80; i++ {
		if err := w.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	labels := []corpus.Label{
		{Path: "samples/still.avi", Label: corpus.Attack, Species: corpus.SpeciesInjectionStill, Mode: "passive", Seed: 1, Frames: 80, FPS: 25},
		{Path: "samples/still.avi", Label: corpus.BonaFide, Mode: "passive", Seed: 2, Frames: 80, FPS: 25},
	}
	lf, err := os.Create(filepath.Join(dir, corpus.LabelsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := corpus.WriteLabels(lf, labels); err != nil {
		t.Fatal(err)
	}
	lf.Close()

	out, err := run(t, "eval", "--json", "--workers", "1", dir)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Samples int     `json:"samples"`
		APCER   float64 `json:"apcer"`
		BPCER   float64 `json:"bpcer"`
		Species []struct {
			Species  string `json:"species"`
			Accepted int    `json:"accepted"`
		} `json:"species"`
		Results []struct {
			Measures map[string]map[string]float64 `json:"measures"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.Samples != 2 || rep.APCER != 0 || rep.BPCER != 1 || len(rep.Species) != 1 || rep.Species[0].Accepted != 0 {
		t.Fatalf("report %+v", rep)
	}
	// Each sample reports its layers' measures (for analysis): the
	// motion layer's background comparison among them.
	for i, r := range rep.Results {
		if _, ok := r.Measures["motion"]["surround_frames"]; !ok {
			t.Errorf("sample %d: no motion measures: %v", i, r.Measures)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "det.png")); err != nil {
		t.Fatalf("DET curve: %v", err)
	}
	_, err = run(t, "eval", "--gate", "--workers", "1", dir)
	if err == nil || !strings.Contains(err.Error(), "BPCER") {
		t.Fatalf("--gate with BPCER 100 %%: %v", err)
	}
}
