package main

import (
	"context"
	"os"
	"testing"

	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
)

// TestRunOnceRecordingReplays: a kiosk session run with --recordings keeps
// a recording of the frames as the engine judged them (pixels, tinted by
// the LEDs the sim drove) that replays to the kiosk's verdict.
func TestRunOnceRecordingReplays(t *testing.T) {
	bonaFide, photo := needClips(t)
	models, err := liveness.LoadModels(liveness.ModelOptions{})
	if err != nil {
		t.Fatalf("models: %v — run `make setup`", err)
	}
	defer models.Close()
	tests := []struct{ name, camera, source string }{
		{"bona fide under the LEDs", bonaFide, "reflect"},
		{"printed photo", photo, "reflect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := runOnce(t, "--camera", tt.camera, "--source", tt.source, "--recordings", dir)
			if out.Recording == "" || !out.Committed {
				t.Fatalf("no recording kept: %+v", out)
			}
			f, err := os.Open(out.Recording)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := replay.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			if h := r.Header(); h.Producer != replay.ProducerKiosk || h.SessionID != out.SessionID || len(h.Config.LightPlan) != len(out.LightSequence) {
				t.Fatalf("header %+v", h)
			}
			stored, got, err := r.Replay(context.Background(), models)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Verdict != out.Verdict || stored.Confidence != out.Confidence || stored.Frames != out.Frames {
				t.Fatalf("the recording stores %s %.4f (%d frames), the kiosk decided %s %.4f (%d frames)",
					stored.Verdict, stored.Confidence, stored.Frames, out.Verdict, out.Confidence, out.Frames)
			}
			if !stored.Matches(got) {
				t.Fatalf("replay differs:\nstored %+v\n   got %+v", stored, got)
			}
			st, _ := f.Stat()
			t.Logf("%s: %s %.3f %v, %d frames, %d bytes replayed to the same verdict", tt.name, got.Verdict, got.Confidence, got.Reasons, got.Frames, st.Size())
		})
	}
}
