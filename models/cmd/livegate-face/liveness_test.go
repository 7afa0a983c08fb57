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
	// The four passive layers at least (the analyzer may add more).
	names := map[string]bool{}
	for _, l := range res.Layers {
		names[l.Name] = true
	}
	if res.Verdict == nil || res.Confidence == nil || !names["anti_spoof"] || !names["injection"] || !names["face_consistency"] || !names["motion"] {
		t.Fatalf("missing fields or passive layers: %s", out)
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

// stillFolder writes n copies of a photo as a frame folder.
func stillFolder(t *testing.T, n int) string {
	t.Helper()
	src, err := os.ReadFile(media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.jpg", i)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLivenessFlagErrors: bad light and camera flags fail before any model
// is loaded, naming the flag or the input.
func TestLivenessFlagErrors(t *testing.T) {
	dir := t.TempDir()
	badLog := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badLog, []byte(`{"frames":[{"t_ms":40},{"t_ms":0}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	badRefl := filepath.Join(dir, "refl.json")
	if err := os.WriteFile(badRefl, []byte(`{"distance_m":-1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--camera", "tripod"}, "--camera"},
		{[]string{"--light-log", badLog, "--simulate-light"}, "choose one"},
		{[]string{"--reflection", "laptop"}, "need --simulate-light"},
		{[]string{"--write-lit", filepath.Join(dir, "x.avi")}, "need --simulate-light"},
		{[]string{"--light-log", filepath.Join(dir, "missing.json")}, "--light-log"},
		{[]string{"--light-log", badLog}, "bad.json"},
		{[]string{"--simulate-light", "--reflection", badRefl}, "distance_m"},
		{[]string{"--simulate-light", "--reflection", "sunlamp"}, "--reflection"},
		{[]string{"--simulate-light", "--light-strength", "1000"}, "--light-strength"},
	}
	for _, tc := range tests {
		args := append([]string{"liveness"}, tc.args...)
		_, err := run(t, append(args, dir)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

// TestLivenessSimulateLight lights a still face with the reflection model
// following the analyzer's own sequence: the light layer must see the face
// follow it (the still fails other layers; that is not the point). The lit
// frames and the light log written then replay with --light-log: the
// analyzer gets the logged plan and sees the same response. The unlit
// frames fed the same log do not follow it, and a log without a plan is a
// warning.
func TestLivenessSimulateLight(t *testing.T) {
	dir := stillFolder(t, 60)
	tmp := t.TempDir()
	lit, logFile := filepath.Join(tmp, "lit.avi"), filepath.Join(tmp, "light.json")
	type layer struct {
		Name     string             `json:"name"`
		Measures map[string]float64 `json:"measures"`
	}
	type result struct {
		Layers []layer `json:"layers"`
		Light  struct {
			Source   string  `json:"source"`
			Frames   int     `json:"frames"`
			Strength float64 `json:"strength"`
			Plan     string  `json:"plan"`
		} `json:"light"`
		Warnings []string `json:"warnings"`
	}
	liveness := func(args ...string) (result, map[string]float64) {
		t.Helper()
		out, err := run(t, append([]string{"liveness", "--json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var res result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		for _, l := range res.Layers {
			if l.Name == "light_response" {
				return res, l.Measures
			}
		}
		t.Fatalf("no light_response layer: %s", out)
		return res, nil
	}

	res, m := liveness("--camera", "handheld", "--simulate-light", "--reflection", "phone", "--write-lit", lit, "--write-light-log", logFile, dir)
	if res.Light.Source != "simulated" || res.Light.Frames != 60 || res.Light.Strength < 0.09 || res.Light.Strength > 0.095 {
		t.Errorf("light %+v", res.Light)
	}
	if m["correlation"] < 0.6 || m["amplitude"] < 0.02 || m["follows_plan"] != 1 {
		t.Errorf("simulated reflection on a still face: light measures %v", m)
	}
	if st, err := os.Stat(lit); err != nil || st.Size() < 60*1000 {
		t.Fatalf("lit frames: %v", err)
	}

	// Replay: the lit clip with its log, the plan given to the analyzer.
	res, m2 := liveness("--light-log", logFile, lit)
	if res.Light.Source != "log" || res.Light.Frames != 60 || res.Light.Plan != "replayed" || len(res.Warnings) != 0 {
		t.Errorf("replay: light %+v warnings %q", res.Light, res.Warnings)
	}
	if m2["follows_plan"] != 1 || m2["correlation"] < 0.6 || m2["amplitude"] < 0.02 {
		t.Errorf("replayed lit clip: light measures %v (simulated: %v)", m2, m)
	}
	// The unlit frames under the same log: fed, not followed.
	_, m3 := liveness("--light-log", logFile, dir)
	if m3["follows_plan"] != 1 || m3["amplitude"] > 0.005 {
		t.Errorf("unlit frames under the log: light measures %v", m3)
	}
	// A log without a plan: the analyzer draws its own; a warning says so.
	var frames []string
	for i := 0; i < 60; i++ {
		frames = append(frames, fmt.Sprintf(`{"t_ms":%d,"r":1,"intensity":1}`, 40*i))
	}
	noPlan := filepath.Join(tmp, "noplan.json")
	if err := os.WriteFile(noPlan, []byte(`{"version":1,"changes":[`+strings.Join(frames, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ = liveness("--duration", "0.5", "--light-log", noPlan, dir)
	if res.Light.Plan != "drawn" || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "no plan") {
		t.Errorf("log without a plan: light %+v warnings %q", res.Light, res.Warnings)
	}
}
