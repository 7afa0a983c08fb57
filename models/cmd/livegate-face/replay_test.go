package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
)

// recordStill runs a passive session on a still repeated 12 times and
// writes its recording with the verdict edit makes of the real one.
func recordStill(t *testing.T, path string, edit func(*liveness.Verdict)) {
	t.Helper()
	jpg, err := os.ReadFile(media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	models, err := liveness.LoadModels(liveness.ModelOptions{})
	if err != nil {
		t.Fatalf("models: %v — run `make setup`", err)
	}
	defer models.Close()
	a := liveness.New(liveness.Config{Mode: liveness.Passive, LightControlled: true}, models, nil)
	var buf bytes.Buffer
	w, err := replay.NewWriter(&buf, replay.Header{Producer: replay.ProducerCLI, SessionID: "ses_still", Config: replay.ConfigOf(a)})
	if err != nil {
		t.Fatal(err)
	}
	var light *liveness.Light
	for i := 0; i < 12; i++ {
		f := liveness.Frame{JPEG: jpg, Timestamp: time.Duration(i+1) * 100 * time.Millisecond, Light: light}
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		g, err := a.Feed(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		light = g.Light
	}
	v := a.Verdict()
	edit(&v)
	if err := w.Close(v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReplayCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the models: skipped with -short")
	}
	dir := t.TempDir()
	same, tampered := filepath.Join(dir, "same.lgr"), filepath.Join(dir, "tampered.lgr")
	recordStill(t, same, func(*liveness.Verdict) {})
	recordStill(t, tampered, func(v *liveness.Verdict) { v.Verdict, v.Confidence, v.Reasons = liveness.VerdictPass, 0.93, nil })

	out, err := run(t, "replay", same)
	if err != nil || !strings.Contains(out, "match: the replay gives the stored verdict") || !strings.Contains(out, "light_response") {
		t.Fatalf("replay of a faithful recording: %v\n%s", err, out)
	}
	out, err = run(t, "replay", "--json", same)
	if err != nil {
		t.Fatal(err)
	}
	var res replayResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || !res.Match || res.Header.SessionID != "ses_still" ||
		res.Stored.Verdict != res.Replayed.Verdict || len(res.Replayed.Layers) == 0 {
		t.Fatalf("--json: %v\n%s", err, out)
	}

	out, err = run(t, "replay", tampered)
	if !errors.Is(err, errReplayDiffers) || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "0.930000000") {
		t.Fatalf("replay of a recording whose stored verdict was changed: %v\n%s", err, out)
	}
	out, err = run(t, "replay", "--json", tampered)
	if json.Unmarshal([]byte(out), &res); !errors.Is(err, errReplayDiffers) || res.Match || res.Stored.Verdict != "pass" {
		t.Fatalf("--json mismatch: %v\n%s", err, out)
	}
}

func TestReplayCommandBadInput(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	a := liveness.New(liveness.Config{Mode: liveness.Passive}, nil, nil)
	w, _ := replay.NewWriter(&buf, replay.Header{Producer: replay.ProducerCLI, SessionID: "ses_x", Config: replay.ConfigOf(a)})
	_ = w.WriteFrame(liveness.Frame{JPEG: []byte{0xFF, 0xD8, 0xFF, 0xD9}, Timestamp: time.Millisecond})
	_ = w.Close(liveness.Verdict{Verdict: "fail"})
	full := buf.Bytes()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		args []string
		want error
		text string
	}{
		{"missing file", []string{"replay", filepath.Join(dir, "nope.lgr")}, os.ErrNotExist, "no such file"},
		{"not a recording", []string{"replay", write("photo.lgr", []byte("\xFF\xD8\xFF\xE0 a JPEG, not a recording"))}, replay.ErrNotRecording, "not a livegate recording"},
		{"truncated", []string{"replay", write("cut.lgr", full[:30])}, replay.ErrTruncated, "truncated"},
		{"another version", []string{"replay", write("v9.lgr", append(append([]byte(nil), full[:9]...), append([]byte{9}, full[10:]...)...))}, replay.ErrVersion, "version 9"},
		{"no file", []string{"replay"}, nil, "accepts 1 arg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, c.args...)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("got %v, want %v containing %q", err, c.want, c.text)
			}
		})
	}
}
