package eval

import (
	"bytes"
	"image/png"
	"math"
	"testing"

	"livegate.dev/models/corpus"
)

func res(label, species, mode string, conf float64) SampleResult {
	return SampleResult{Label: label, Species: species, Mode: mode, Confidence: conf}
}

func TestCompute(t *testing.T) {
	results := []SampleResult{
		res(corpus.BonaFide, "", "passive", 0.9),
		res(corpus.BonaFide, "", "passive", 0.8),
		res(corpus.BonaFide, "", "passive", 0.5), // rejected at 0.70
		res(corpus.BonaFide, "", "active", 0.75),
		res(corpus.Attack, corpus.SpeciesPrint, "passive", 0.1),
		res(corpus.Attack, corpus.SpeciesPrint, "passive", 0.72), // accepted
		res(corpus.Attack, corpus.SpeciesScreenReplay, "passive", 0.3),
		res(corpus.Attack, corpus.SpeciesInjectionStill, "passive", 0.0),
		{Label: corpus.Attack, Species: corpus.SpeciesInjectionLoop, Mode: "passive", Confidence: 0.99, Error: "unreadable"},
	}
	tests := []struct {
		thr                 float64
		apcer, bpcer, acer  float64
		printAcc, bonaRejct int
	}{
		{0.70, 0.5, 0.25, 0.375, 1, 1},
		{0.80, 0.0, 0.50, 0.25, 0, 2},
		{0.40, 0.5, 0.0, 0.25, 1, 0},
	}
	for _, tc := range tests {
		r := Compute(results, tc.thr)
		if math.Abs(r.APCER-tc.apcer) > 1e-9 || math.Abs(r.BPCER-tc.bpcer) > 1e-9 || math.Abs(r.ACER-tc.acer) > 1e-9 {
			t.Errorf("thr %.2f: APCER %.3f BPCER %.3f ACER %.3f, want %.3f %.3f %.3f", tc.thr, r.APCER, r.BPCER, r.ACER, tc.apcer, tc.bpcer, tc.acer)
		}
		if r.Species[0].Species != corpus.SpeciesPrint || r.Species[0].Accepted != tc.printAcc || r.BonaRejected != tc.bonaRejct {
			t.Errorf("thr %.2f: species %+v, bona fide rejected %d", tc.thr, r.Species, r.BonaRejected)
		}
		if r.Samples != 9 || r.BonaFide != 4 || r.Attacks != 5 {
			t.Errorf("counts %d/%d/%d", r.Samples, r.BonaFide, r.Attacks)
		}
	}
	// The DET curve runs from (APCER 1, BPCER 0) to (APCER 0, BPCER 1) and
	// never rises in both at once.
	r := Compute(results, 0.7)
	first, last := r.DET[0], r.DET[len(r.DET)-1]
	if first.APCER != 1 || first.BPCER != 0 || last.APCER != 0 || last.BPCER != 1 {
		t.Errorf("DET ends %+v … %+v", first, last)
	}
	for i := 1; i < len(r.DET); i++ {
		if r.DET[i].APCER > r.DET[i-1].APCER || r.DET[i].BPCER < r.DET[i-1].BPCER {
			t.Fatalf("DET not monotone at %d: %+v after %+v", i, r.DET[i], r.DET[i-1])
		}
	}
	var buf bytes.Buffer
	if err := r.WriteDET(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != detW || b.Dy() != detH {
		t.Fatalf("DET image %v", b)
	}
	var tbl bytes.Buffer
	if err := r.WriteTable(&tbl); err != nil || !bytes.Contains(tbl.Bytes(), []byte("print")) || !bytes.Contains(tbl.Bytes(), []byte("ACER 37.5%")) {
		t.Fatalf("table (%v):\n%s", err, tbl.String())
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		label   corpus.Label
		wantErr bool
	}{
		{corpus.Label{Mode: "passive"}, false},
		{corpus.Label{Mode: "active", Challenges: []string{"blink"}, ChallengeWindowMS: 5000}, false},
		{corpus.Label{Mode: "active"}, true},
		{corpus.Label{Mode: "active", Challenges: []string{"jump"}}, true},
		{corpus.Label{Mode: "sideways"}, true},
		{corpus.Label{Mode: "passive", Light: corpus.LightFollow, LightStepMS: 300}, false},
	}
	for _, tc := range tests {
		cfg, err := Config(tc.label)
		if (err != nil) != tc.wantErr {
			t.Errorf("%+v: error %v, want error %v", tc.label, err, tc.wantErr)
			continue
		}
		if err == nil && tc.label.Mode == "active" && (cfg.MinChallenges != 1 || cfg.MaxChallenges != 1 || len(cfg.ChallengeKinds) != 1) {
			t.Errorf("active config %+v", cfg)
		}
		if err == nil && tc.label.Light != "" && (!cfg.LightControlled || cfg.LightStep.Milliseconds() != 300) {
			t.Errorf("light config %+v", cfg)
		}
	}
}
