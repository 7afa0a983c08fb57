package eval

import (
	"bytes"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"

	"livegate.dev/models/corpus"
	"livegate.dev/models/lightsim"
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

func TestSpeciesWorstFirst(t *testing.T) {
	a := func(species string, conf float64) SampleResult { return res(corpus.Attack, species, "passive", conf) }
	results := []SampleResult{
		a(corpus.SpeciesPrint, 0.1), a(corpus.SpeciesPrint, 0.1), // 0 %
		a(corpus.SpeciesScreenReplay, 0.9), a(corpus.SpeciesScreenReplay, 0.1), // 50 %
		a(corpus.SpeciesInjectionStill, 0.9), a(corpus.SpeciesInjectionStill, 0.2), // 50 %, after screen_replay
		a(corpus.SpeciesCutout, 0.95),                             // 100 %
		a("zz_unknown", 0.2), a(corpus.SpeciesInjectionLoop, 0.0), // 0 %: generator order, unknown last
	}
	r := Compute(results, 0.7)
	var got []string
	for _, s := range r.Species {
		got = append(got, s.Species)
	}
	want := []string{corpus.SpeciesCutout, corpus.SpeciesScreenReplay, corpus.SpeciesInjectionStill,
		corpus.SpeciesPrint, corpus.SpeciesInjectionLoop, "zz_unknown"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order %v, want %v", got, want)
	}
	if r.APCER != 1 || len(r.Conditions) != 1 || r.Conditions[0].WorstSpecies != corpus.SpeciesCutout {
		t.Errorf("APCER %.2f, conditions %+v", r.APCER, r.Conditions)
	}
	var tbl bytes.Buffer
	if err := r.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(tbl.String(), "cutout"), strings.Index(tbl.String(), "print"); i < 0 || j < 0 || i > j {
		t.Errorf("table not worst first:\n%s", tbl.String())
	}
}

func TestBonaFideKinds(t *testing.T) {
	b := func(kind, camera string, conf float64) SampleResult {
		r := res(corpus.BonaFide, "", "passive", conf)
		r.BonaFideKind, r.Camera = kind, camera
		return r
	}
	results := []SampleResult{
		b(corpus.KindHandheld, corpus.CameraHandheld, 0.5),
		b(corpus.KindWebcam, "", 0.9), b(corpus.KindWebcam, "", 0.4),
		b(corpus.KindDim, "", 0.8),
		b("", "", 0.9), // an old label: by mode
		{Label: corpus.BonaFide, Mode: "passive", Light: corpus.LightFollow, Confidence: 0.3}, // old light sample
	}
	r := Compute(results, 0.7)
	want := []KindFigure{
		{Kind: "bona_fide/webcam", Samples: 2, Rejected: 1, BPCER: 0.5},
		{Kind: "bona_fide/handheld", Samples: 1, Rejected: 1, BPCER: 1},
		{Kind: "bona_fide/dim", Samples: 1, Rejected: 0, BPCER: 0},
		{Kind: "bona_fide/passive", Samples: 1, Rejected: 0, BPCER: 0},
		{Kind: "bona_fide/light", Samples: 1, Rejected: 1, BPCER: 1},
	}
	if len(r.BonaFideKinds) != len(want) {
		t.Fatalf("kinds %+v", r.BonaFideKinds)
	}
	for i := range want {
		if r.BonaFideKinds[i] != want[i] {
			t.Errorf("kind %d: %+v, want %+v", i, r.BonaFideKinds[i], want[i])
		}
	}
	if r.BonaRejected != 3 || math.Abs(r.BPCER-0.5) > 1e-9 {
		t.Errorf("BPCER %.3f rejected %d", r.BPCER, r.BonaRejected)
	}
}

func TestConditionsFigures(t *testing.T) {
	in := func(c Condition, label, species string, conf float64) SampleResult {
		r := res(label, species, "passive", conf)
		r.Condition = c
		return r
	}
	results := []SampleResult{
		in(ConditionPassive, corpus.BonaFide, "", 0.9),
		in(ConditionPassive, corpus.Attack, corpus.SpeciesPrint, 0.2),
		in(ConditionPassive, corpus.Attack, corpus.SpeciesInjectionStill, 0.1),
		in(ConditionPassiveLight, corpus.BonaFide, "", 0.5), // rejected under light
		in(ConditionPassiveLight, corpus.Attack, corpus.SpeciesPrint, 0.8),
		in(ConditionPassiveLight, corpus.Attack, corpus.SpeciesInjectionStill, 0.1),
	}
	r := Compute(results, 0.7)
	if len(r.Conditions) != 2 || r.Conditions[0].Condition != ConditionPassive || r.Conditions[1].Condition != ConditionPassiveLight {
		t.Fatalf("conditions %+v", r.Conditions)
	}
	p, pl := r.Conditions[0], r.Conditions[1]
	if p.APCER != 0 || p.BPCER != 0 || p.Samples != 3 || pl.APCER != 1 || pl.WorstSpecies != corpus.SpeciesPrint || pl.BPCER != 1 || pl.ACER != 1 {
		t.Errorf("per condition %+v / %+v", p, pl)
	}
	if r.Species[0].Condition != ConditionPassiveLight || r.Species[0].Species != corpus.SpeciesPrint || len(r.Species) != 4 {
		t.Errorf("species %+v", r.Species)
	}
	// Ties keep the conditions' order.
	if r.Species[1].Condition != ConditionPassive || r.Species[1].Species != corpus.SpeciesPrint {
		t.Errorf("second species %+v", r.Species[1])
	}
	if r.APCER != 1 || math.Abs(r.BPCER-0.5) > 1e-9 {
		t.Errorf("overall APCER %.2f BPCER %.2f", r.APCER, r.BPCER)
	}
	if got := r.DET[len(r.DET)/2].Species; len(got) != 4 {
		t.Errorf("DET species keys %v", got)
	} else if _, ok := got["passive-light/print"]; !ok {
		t.Errorf("DET species keys %v", got)
	}
	bad := r.Gate(0, 0.10)
	if len(bad) != 2 || !strings.Contains(bad[0], "passive-light/print: APCER 100.0%") || !strings.Contains(bad[1], "passive-light: BPCER 100.0%") {
		t.Errorf("gate %q", bad)
	}
	if bad := r.Gate(1, 1); len(bad) != 0 {
		t.Errorf("gate with everything allowed: %q", bad)
	}
	var tbl bytes.Buffer
	if err := r.WriteTable(&tbl); err != nil || !strings.Contains(tbl.String(), "condition passive-light") || !strings.Contains(tbl.String(), "all conditions") {
		t.Errorf("table (%v):\n%s", err, tbl.String())
	}
}

func TestGate(t *testing.T) {
	results := []SampleResult{
		res(corpus.BonaFide, "", "passive", 0.9),
		res(corpus.BonaFide, "", "passive", 0.3),
		res(corpus.Attack, corpus.SpeciesPrint, "passive", 0.1),
		res(corpus.Attack, corpus.SpeciesPrint, "passive", 0.1),
		res(corpus.Attack, corpus.SpeciesPrint, "passive", 0.1),
		res(corpus.Attack, corpus.SpeciesPrint, "passive", 0.8),
		res(corpus.Attack, corpus.SpeciesScreenReplay, "passive", 0.1),
	}
	r := Compute(results, 0.7)
	tests := []struct {
		maxA, maxB float64
		want       []string
	}{
		{0, 0.10, []string{"print: APCER 25.0% (1 of 4 accepted) above 0.0%", "BPCER 50.0% (1 of 2 rejected) above 10.0%"}},
		{0.25, 0.10, []string{"BPCER 50.0%"}},
		{0, 0.5, []string{"print: APCER 25.0%"}},
		{0.3, 0.5, nil},
	}
	for _, tc := range tests {
		got := r.Gate(tc.maxA, tc.maxB)
		if len(got) != len(tc.want) {
			t.Errorf("gate(%v, %v) = %q, want %q", tc.maxA, tc.maxB, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("gate(%v, %v)[%d] = %q, want prefix %q", tc.maxA, tc.maxB, i, got[i], tc.want[i])
			}
		}
	}
}

func TestSweepSummary(t *testing.T) {
	pt := func(s float64, n, rej int) SweepPoint {
		return SweepPoint{Strength: s, Samples: n, Rejected: rej, BPCER: ratio(rej, n)}
	}
	tests := []struct {
		name   string
		points []SweepPoint
		want   float64
		ok     bool
	}{
		{"monotone", []SweepPoint{pt(0.005, 20, 15), pt(0.01, 20, 5), pt(0.02, 20, 1), pt(0.04, 20, 0), pt(0.08, 20, 0)}, 0.02, true},
		{"any order", []SweepPoint{pt(0.08, 20, 0), pt(0.02, 20, 1), pt(0.005, 20, 15), pt(0.04, 20, 0)}, 0.02, true},
		{"a lucky weak point does not count", []SweepPoint{pt(0.005, 20, 0), pt(0.01, 20, 5), pt(0.02, 20, 0)}, 0.02, true},
		{"all pass", []SweepPoint{pt(0.005, 20, 1), pt(0.01, 20, 0)}, 0.005, true},
		{"the strongest fails", []SweepPoint{pt(0.005, 20, 0), pt(0.08, 20, 2)}, 0, false},
		{"no samples", []SweepPoint{pt(0.01, 0, 0)}, 0, false},
		{"none", nil, 0, false},
	}
	for _, tc := range tests {
		got, ok := WeakestStrength(tc.points, 0.05)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	// ComputeSweep counts each strength's results and those rejected for
	// the light.
	bona := func(conf float64, reasons ...string) SampleResult {
		r := res(corpus.BonaFide, "", "passive", conf)
		r.Reasons = reasons
		return r
	}
	sw := ComputeSweep([]float64{0.02, 0.005}, nil, [][]SampleResult{
		{bona(0.9), bona(0.8)},
		{bona(0.3, "light_response_missing"), bona(0.9), bona(0.5, "insufficient_motion")},
	}, 0.7, 0.05)
	if len(sw.Points) != 2 || sw.Points[0].Strength != 0.005 || sw.Points[0].Rejected != 2 || sw.Points[0].LightRejected != 1 ||
		sw.Points[1].BPCER != 0 || !sw.Found || sw.Weakest != 0.02 || len(sw.Results) != 5 {
		t.Errorf("sweep %+v", sw)
	}
	var tbl bytes.Buffer
	if err := sw.WriteTable(&tbl); err != nil || !strings.Contains(tbl.String(), "weakest strength with BPCER ≤ 5.0% (and at every stronger one): 0.02") {
		t.Errorf("table (%v):\n%s", err, tbl.String())
	}
	if _, err := ParseStrengths("0.01, 0.02,x"); err == nil {
		t.Error("bad strength accepted")
	}
	if _, err := ParseStrengths("0"); err == nil {
		t.Error("zero strength accepted")
	}
	if got, err := ParseStrengths("0.005,0.01,0.02"); err != nil || len(got) != 3 {
		t.Errorf("strengths %v %v", got, err)
	}
}

func TestPresent(t *testing.T) {
	bonaPassive := corpus.Label{Path: "b", Label: corpus.BonaFide, Mode: "passive", Kind: corpus.KindWebcam}
	handheld := corpus.Label{Path: "h", Label: corpus.BonaFide, Mode: "passive", Kind: corpus.KindHandheld, Camera: corpus.CameraHandheld}
	follow := corpus.Label{Path: "f", Label: corpus.BonaFide, Mode: "passive", Light: corpus.LightFollow, LightStepMS: 400,
		LightStrength: 0.27, LightSigma: 80, LightCX: 160, LightCY: 120}
	ignored := corpus.Label{Path: "i", Label: corpus.Attack, Species: corpus.SpeciesLightIgnored, Mode: "passive", Light: corpus.LightRecorded}
	active := corpus.Label{Path: "a", Label: corpus.BonaFide, Mode: "active", Challenges: []string{"blink"}}
	attack := func(species string) corpus.Label {
		return corpus.Label{Path: species, Label: corpus.Attack, Species: species, Mode: "passive"}
	}
	const no = lightsim.Surface("-") // not lit by lightsim
	tests := []struct {
		label    corpus.Label
		cond     Condition
		in       bool
		light    bool
		surface  lightsim.Surface
		handheld bool
	}{
		{bonaPassive, ConditionLabelled, true, false, no, false},
		{bonaPassive, ConditionPassive, true, false, no, false},
		{bonaPassive, ConditionPassiveLight, true, true, lightsim.Skin, false},
		{bonaPassive, ConditionActive, false, false, no, false},
		{handheld, ConditionPassiveLight, true, true, lightsim.Skin, true},
		{handheld, ConditionPassive, true, false, no, true},
		{follow, ConditionLabelled, true, true, lightsim.Skin, false},
		{follow, ConditionPassive, false, false, no, false},
		{follow, ConditionPassiveLight, true, true, lightsim.Skin, false},
		{ignored, ConditionLabelled, true, true, no, false},
		{ignored, ConditionPassive, false, false, no, false},
		{ignored, ConditionPassiveLight, true, true, no, false},
		{active, ConditionActive, true, false, no, false},
		{active, ConditionPassive, false, false, no, false},
		{active, ConditionPassiveLight, false, false, no, false},
		{attack(corpus.SpeciesPrint), ConditionPassiveLight, true, true, lightsim.Paper, false},
		{attack(corpus.SpeciesPrintStand), ConditionPassiveLight, true, true, lightsim.Paper, false},
		{attack(corpus.SpeciesCutout), ConditionPassiveLight, true, true, lightsim.Paper, false},
		{attack(corpus.SpeciesScreenReplay), ConditionPassiveLight, true, true, lightsim.Screen, false},
		{attack(corpus.SpeciesScreenFullFrame), ConditionPassiveLight, true, true, lightsim.Screen, false},
		{attack(corpus.SpeciesInjectionLoopNoisy), ConditionPassiveLight, true, true, lightsim.None, false},
		{attack(corpus.SpeciesInjectionStill), ConditionPassiveLight, true, true, lightsim.None, false},
		{attack(corpus.SpeciesPrint), ConditionPassive, true, false, no, false},
	}
	opts := &Options{}
	for _, tc := range tests {
		p, in, err := present(tc.label, tc.cond, opts)
		if err != nil {
			t.Fatalf("%s in %s: %v", tc.label.Path, tc.cond.Name(), err)
		}
		surface := no
		if p.lit.sim != nil {
			surface = p.lit.sim.Surface
		}
		if in != tc.in || (in && (p.cfg.LightControlled != tc.light || p.lit.light != tc.light || surface != tc.surface || p.cfg.HandheldCamera != tc.handheld)) {
			t.Errorf("%s in %s: in %v, light %v/%v, surface %q, handheld %v; want in %v, light %v, surface %q, handheld %v",
				tc.label.Path, tc.cond.Name(), in, p.cfg.LightControlled, p.lit.light, surface, p.cfg.HandheldCamera, tc.in, tc.light, tc.surface, tc.handheld)
		}
	}
	// A labelled follow sample keeps its label's strength (on sRGB values)
	// as the equivalent linear strength; the condition uses the default.
	p, _, _ := present(follow, ConditionLabelled, opts)
	if got, want := p.lit.sim.Strength(), math.Pow(1.27, 2.2)-1; math.Abs(got-want) > 1e-9 || p.lit.face.RX != 120 {
		t.Errorf("labelled follow: strength %.4f (want %.4f), face %+v", got, want, p.lit.face)
	}
	p, _, _ = present(follow, ConditionPassiveLight, opts)
	if got := p.lit.sim.Strength(); math.Abs(got-lightsim.DefaultParams().Strength()) > 1e-9 {
		t.Errorf("passive-light follow: strength %.4f", got)
	}
	// Options.Reflection decides; LegacyTint brings back the tint.
	laptop := lightsim.Laptop()
	p, _, _ = present(follow, ConditionLabelled, &Options{Reflection: &laptop})
	if *p.lit.sim != laptop {
		t.Errorf("reflection option ignored: %+v", *p.lit.sim)
	}
	p, _, _ = present(attack(corpus.SpeciesPrint), ConditionPassiveLight, &Options{Reflection: &laptop})
	if p.lit.sim.Surface != lightsim.Paper || p.lit.sim.EmitterArea != laptop.EmitterArea {
		t.Errorf("print under the laptop: %+v", *p.lit.sim)
	}
	p, _, _ = present(follow, ConditionLabelled, &Options{LegacyTint: true})
	if !p.lit.tint || p.lit.sim != nil {
		t.Errorf("legacy tint: %+v", p.lit)
	}
	if s, ok := SurfaceFor(corpus.SpeciesEyeholeMask); !ok || s != lightsim.Paper {
		t.Errorf("eyehole mask lit as %q (%v), want paper", s, ok)
	}
	if _, ok := SurfaceFor("hologram"); ok {
		t.Error("an unknown species has a surface")
	}
}

func TestParseConditions(t *testing.T) {
	tests := []struct {
		in      string
		want    []Condition
		wantErr bool
	}{
		{"passive,passive-light,active", []Condition{ConditionPassive, ConditionPassiveLight, ConditionActive}, false},
		{" labelled , passive ", []Condition{ConditionLabelled, ConditionPassive}, false},
		{"", nil, false},
		{"passive,passive", nil, true},
		{"bright", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseConditions(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v %v, want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestAUC(t *testing.T) {
	for _, c := range []struct {
		x, y []float64
		want float64
	}{
		{[]float64{3, 4}, []float64{1, 2}, 1},
		{[]float64{1, 2}, []float64{3, 4}, 0},
		{[]float64{1, 3}, []float64{2, 2}, 0.5},
		{[]float64{2}, []float64{2}, 0.5},
	} {
		if got := AUC(c.x, c.y); got != c.want {
			t.Errorf("AUC(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func TestCueSeparation(t *testing.T) {
	res := []SampleResult{
		{Label: corpus.BonaFide, Measures: map[string]map[string]float64{"anti_spoof": {"moire": 1.5, "hf": 0.02}}},
		{Label: corpus.BonaFide, Measures: map[string]map[string]float64{"anti_spoof": {"moire": 2.0, "hf": 0.03}}},
		{Label: corpus.Attack, Species: corpus.SpeciesScreenReplay, Measures: map[string]map[string]float64{"anti_spoof": {"moire": 5, "hf": 0.025}}},
		{Label: corpus.Attack, Species: corpus.SpeciesScreenReplay, Measures: map[string]map[string]float64{"anti_spoof": {"moire": 6, "hf": 0.02}}},
	}
	cues := CueSeparation(res)
	if len(cues) != 2 || cues[0].Cue != "anti_spoof.moire" || cues[0].AUC != 1 {
		t.Fatalf("cues %+v, want moiré first with AUC 1", cues)
	}
	if c := cues[1]; c.Cue != "anti_spoof.hf" || c.Separation != 0.625 {
		t.Errorf("hf %+v, want separation 0.625", c)
	}
}

// TestDimRoomStrength: in a dim room the screen's light is a larger share
// of what the face reflects; other kinds keep the model's room.
func TestDimRoomStrength(t *testing.T) {
	base := lightsim.DefaultParams()
	dim := dimRoom(base, corpus.Label{Label: corpus.BonaFide, Kind: corpus.KindDim, Params: map[string]float64{"exposure": 0.4}})
	if got, want := dim.AmbientLux, 0.4*base.AmbientLux; math.Abs(got-want) > 1e-9 {
		t.Fatalf("ambient %.1f lux, want %.1f", got, want)
	}
	if dim.Strength() <= 2*base.Strength() {
		t.Fatalf("strength %.3f in a room at 40 %%, %.3f at 100 %%: want more than twice", dim.Strength(), base.Strength())
	}
	for _, l := range []corpus.Label{
		{Label: corpus.BonaFide, Kind: corpus.KindWebcam},
		{Label: corpus.BonaFide, Kind: corpus.KindBacklit, Params: map[string]float64{"exposure": 0.4}},
		{Label: corpus.BonaFide, Kind: corpus.KindDim},
	} {
		if p := dimRoom(base, l); p != base {
			t.Errorf("%s %v: the room changed", l.Kind, l.Params)
		}
	}
}
