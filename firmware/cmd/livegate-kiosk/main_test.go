package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv("LIVEGATE_TEST_KIOSK_CHILD"); cfg != "" {
		// Re-executed by TestKill9: be the daemon.
		args := []string{"run", "--config", cfg, "--sim-state", os.Getenv("LIVEGATE_TEST_KIOSK_SIMSTATE")}
		if v := os.Getenv("LIVEGATE_TEST_KIOSK_UNHEALTHY"); v != "" {
			args = append(args, "--sim-unhealthy", v)
		}
		os.Exit(run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	if clipsDir != "" {
		os.RemoveAll(clipsDir)
	}
	os.Exit(code)
}

func runOnce(t *testing.T, args ...string) onceOutput {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append([]string{"run-once", "--json"}, args...), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("run-once %v = %d\n%s", args, code, stderr.String())
	}
	var out onceOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("run-once output: %v\n%s", err, stdout.String())
	}
	return out
}

func TestRunOnce(t *testing.T) {
	bonaFide, photo := needClips(t)
	tests := []struct {
		name, camera, source string
		wantPulse            bool
	}{
		// A live face under the kiosk's LEDs reflects the chosen sequence.
		{"bona fide answers the LEDs", bonaFide, "reflect", true},
		// The same recording replayed ignores the light it is asked for.
		{"replay of a live clip", bonaFide, "replay", false},
		// A printed photo moved as a plane, even lit by the LEDs.
		{"printed photo under the LEDs", photo, "reflect", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runOnce(t, "--camera", tt.camera, "--source", tt.source, "--seed", "3")
			t.Logf("%s: %s %.2f %v", tt.name, out.Verdict, out.Confidence, out.Reasons)
			if !out.Committed {
				t.Fatalf("session not committed: %+v", out)
			}
			pulsed := len(out.RelayPulses) > 0
			if pulsed != tt.wantPulse || pulsed != (out.Verdict == "pass") {
				t.Fatalf("verdict %s, relay pulses %d; want pulse %v\nlayers %+v", out.Verdict, len(out.RelayPulses), tt.wantPulse, out.Layers)
			}
			if pulsed {
				p := out.RelayPulses[0]
				if p.Start.Before(out.DecidedAt) || p.MS != 1500 {
					t.Errorf("pulse %+v, decided at %v", p, out.DecidedAt)
				}
			}
			checkPinsFollowSequence(t, out)
		})
	}
}

// checkPinsFollowSequence: the colour LEDs' duties on the fake pins, read
// back from the run's action log, step through the light sequence the
// analyzer drew, in order.
func checkPinsFollowSequence(t *testing.T, out onceOutput) {
	t.Helper()
	if len(out.LightSequence) < 3 {
		t.Fatalf("light sequence %v: too short", out.LightSequence)
	}
	max := map[string]float64{"light red": 0, "light green": 0, "light blue": 0}
	cur := map[string]float64{}
	type rgb [3]float64
	var seen []rgb
	for _, a := range out.Actions {
		if _, ok := max[a.Device]; !ok || a.Kind != "duty" {
			continue
		}
		cur[a.Device] = a.Value
		if a.Value > max[a.Device] {
			max[a.Device] = a.Value
		}
		c := rgb{cur["light red"], cur["light green"], cur["light blue"]}
		if len(seen) == 0 || seen[len(seen)-1] != c {
			seen = append(seen, c)
		}
	}
	// Expected duties: channel × intensity, clipped at the rated maximum
	// (the sim's colour channels are rated 0.6).
	const rated = 0.6
	i := 0
	for _, c := range seen {
		if i >= len(out.LightSequence) {
			break
		}
		s := out.LightSequence[i]
		want := rgb{math.Min(s.R*s.Intensity, rated), math.Min(s.G*s.Intensity, rated), math.Min(s.B*s.Intensity, rated)}
		if nearRGB(c, want) {
			i++
		}
	}
	// The session may end before the whole plan was shown; everything up to
	// the last emitted step must have been shown in order.
	emitted := 0
	for _, e := range out.Emitted {
		if e.Light != nil {
			emitted++
		}
	}
	if i < len(out.LightSequence) && i < emitted {
		t.Fatalf("pins showed %d of %d emitted sequence steps in order\nsequence %+v\npins %v", i, emitted, out.LightSequence, seen)
	}
	if i == 0 {
		t.Fatal("no step of the sequence on the pins")
	}
}

func nearRGB(a, b [3]float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > 2e-3 {
			return false
		}
	}
	return true
}

func TestRunOnceUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run-once"}, 2, "--camera is required"},
		{[]string{"run-once", "--camera", "x.y4m", "--source", "tv"}, 2, "reflect or replay"},
		{[]string{"run-once", "--camera", "x.y4m", "--mode", "lazy"}, 1, "session.mode"},
		{[]string{"bogus"}, 2, "unknown command"},
		{[]string{"check-config", "--config", "/nonexistent.yaml"}, 1, "no such file"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tt.args, nil, &stdout, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v = %d %q, want %d %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}

func TestHashPassword(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"hash-password"}, strings.NewReader("a-long-password\n"), &stdout, os.Stderr); code != 0 {
		t.Fatal(code)
	}
	if !strings.HasPrefix(stdout.String(), "pbkdf2-sha256$") || strings.Contains(stdout.String(), "a-long-password") {
		t.Errorf("hash %q", stdout.String())
	}
}
