package kiosk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/firmware/kiosk"
)

func keepOne(t *testing.T, d *kiosk.RecordingDir, id string, size int) error {
	t.Helper()
	s, err := d.Begin(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(bytes.Repeat([]byte{1}, size)); err != nil {
		s.Discard()
		return err
	}
	return s.Keep()
}

func names(t *testing.T, d *kiosk.RecordingDir) string {
	t.Helper()
	paths, err := d.Recordings()
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, p := range paths {
		n = append(n, strings.TrimSuffix(filepath.Base(p), kiosk.RecordingExt))
	}
	return strings.Join(n, " ")
}

func TestRecordingDir(t *testing.T) {
	tests := []struct {
		name     string
		keep     int
		maxBytes int64
		sizes    []int // one session each, k0, k1, …
		want     string
		tooLarge int // index of the session whose write fails, −1: none
	}{
		{"the last N", 2, 1 << 20, []int{10, 10, 10, 10}, "k3 k2", -1},
		{"the byte cap drops the oldest", 10, 1 << 20, []int{400 << 10, 400 << 10, 400 << 10}, "k2 k1", -1},
		{"one over the cap is not kept", 10, 1 << 20, []int{10, 2 << 20, 10}, "k2 k0", 1},
		{"exactly the cap", 3, 1 << 20, []int{1 << 20}, "k0", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			d, err := kiosk.OpenRecordingDir(dir, tt.keep, tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			for i, size := range tt.sizes {
				err := keepOne(t, d, fmt.Sprintf("k%d", i), size)
				if (i == tt.tooLarge) != errors.Is(err, kiosk.ErrRecordingTooLarge) || (i != tt.tooLarge && err != nil) {
					t.Fatalf("session %d: %v", i, err)
				}
				// Distinct modification times, oldest first.
				if p := filepath.Join(dir, fmt.Sprintf("k%d%s", i, kiosk.RecordingExt)); err == nil {
					old := time.Now().Add(time.Duration(i-len(tt.sizes)) * time.Minute)
					os.Chtimes(p, old, old)
				}
			}
			if got := names(t, d); got != tt.want {
				t.Fatalf("kept %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRecordingDirDiscardAndCrash(t *testing.T) {
	dir := t.TempDir()
	d, err := kiosk.OpenRecordingDir(dir, 3, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := d.Begin("gone")
	s.Write([]byte("frames"))
	if err := s.Discard(); err != nil {
		t.Fatal(err)
	}
	if err := s.Keep(); err == nil {
		t.Fatal("Keep after Discard")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left after Discard: %v", ents)
	}
	if _, err := d.Begin("../escape"); err == nil {
		t.Fatal("a session id with a path was accepted")
	}
	// A crash leaves a temporary file; the next open removes it.
	crashed, _ := d.Begin("crashed")
	crashed.Write([]byte("half a session"))
	if _, err := kiosk.OpenRecordingDir(dir, 3, 1<<20); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left after reopening: %v", ents)
	}
}

// recordingScripted is a scripted Analyzer that records its frames (one
// line each) and its verdict.
type recordingScripted struct {
	*scripted
	w      io.Writer
	err    error
	closed bool
}

func (r *recordingScripted) Record(w io.Writer, info kiosk.RecordingInfo) error {
	r.w = w
	_, err := fmt.Fprintf(w, "session %s fw %s\n", info.SessionID, info.FirmwareVersion)
	return err
}

func (r *recordingScripted) Feed(ctx context.Context, f kiosk.Frame) (kiosk.Guidance, error) {
	if r.w != nil && r.err == nil {
		_, r.err = fmt.Fprintf(r.w, "frame %v light %v\n", f.Timestamp, f.Light != nil)
	}
	return r.scripted.Feed(ctx, f)
}

func (r *recordingScripted) Result() kiosk.Result {
	res := r.scripted.Result()
	if r.w != nil && r.err == nil && !r.closed {
		r.closed = true
		_, r.err = fmt.Fprintf(r.w, "verdict %s\n", res.Verdict)
	}
	return res
}

func (r *recordingScripted) RecordErr() error {
	if r.err == nil && !r.closed {
		return errors.New("no verdict")
	}
	return r.err
}

type recEngine struct{ engine }

func (e *recEngine) NewAnalyzer() kiosk.Analyzer {
	return &recordingScripted{scripted: e.engine.NewAnalyzer().(*scripted)}
}

// TestSessionRecording: a committed session's recording is kept (header,
// every frame fed, the verdict); a session with no face or one that could
// not be committed keeps none.
func TestSessionRecording(t *testing.T) {
	tests := []struct {
		name     string
		faceFrom int
		storeErr error
		want     bool
	}{
		{"committed", 2, nil, true},
		{"no face", -1, nil, false},
		{"not committed", 2, errors.New("disk gone"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk := openSim(t)
			eng := &recEngine{engine{mk: func() *scripted { return &scripted{seq: seq, faceFrom: tt.faceFrom, perStep: 4, verdict: "fail"} }}}
			dir := t.TempDir()
			recs, err := kiosk.OpenRecordingDir(dir, 5, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			k, err := kiosk.New(hw(b), eng, &store{sim: b.Sim, err: tt.storeErr}, nil, kiosk.Options{Clock: clk, DeviceID: "k1",
				FirmwareVersion: "1.2.3", GuideTimeout: time.Second, CoolDown: time.Second, Recordings: recs})
			if err != nil {
				t.Fatal(err)
			}
			rep, _ := k.RunSession(context.Background(), "", false)
			ents, _ := os.ReadDir(dir)
			if !tt.want {
				if len(ents) != 0 {
					t.Fatalf("files kept: %v", ents)
				}
				return
			}
			b2, err := os.ReadFile(filepath.Join(dir, rep.SessionID+kiosk.RecordingExt))
			if err != nil || len(ents) != 1 {
				t.Fatalf("recording: %v, files %v", err, ents)
			}
			lines := strings.Split(strings.TrimSpace(string(b2)), "\n")
			fed := eng.a[0].n
			if lines[0] != "session "+rep.SessionID+" fw 1.2.3" || len(lines) != fed+2 || lines[len(lines)-1] != "verdict fail" {
				t.Fatalf("recording of %d frames:\n%s", fed, b2)
			}
		})
	}
}
