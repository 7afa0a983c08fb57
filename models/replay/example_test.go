package replay_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
)

// A producer records the session while it runs: the header right after
// liveness.New (it holds the plans the analyzer drew), every frame just
// before it is fed, the verdict at the end.
func Example() {
	models, err := liveness.LoadModels(liveness.ModelOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer models.Close()
	ctx := context.Background()

	f, err := os.Create("ses_123.lgr")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)

	a := liveness.New(liveness.Config{Mode: liveness.Passive, LightControlled: true}, models, nil)
	w, err := replay.NewWriter(bw, replay.Header{Producer: replay.ProducerKiosk, SessionID: "ses_123", Config: replay.ConfigOf(a)})
	if err != nil {
		log.Fatal(err)
	}
	frames := make(chan liveness.Frame) // from the camera
	for fr := range frames {
		if err := w.WriteFrame(fr); err != nil {
			log.Fatal(err)
		}
		if _, err := a.Feed(ctx, fr); err != nil && !errors.Is(err, liveness.ErrBadFrame) && !errors.Is(err, liveness.ErrTimestamp) {
			log.Fatal(err)
		}
		if a.Done() {
			break
		}
	}
	if err := w.Close(a.Verdict()); err != nil {
		log.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}

	// Later, anywhere: replay it.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		log.Fatal(err)
	}
	stored, got, err := replay.Replay(ctx, models, bufio.NewReader(f))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stored.Verdict, got.Verdict, stored.Matches(got))
}

// A Reader reads the header, each frame exactly as it was fed, then the
// trailer with the producer's verdict.
func ExampleReader() {
	var buf bytes.Buffer
	a := liveness.New(liveness.Config{Mode: liveness.Active, ChallengePlan: []liveness.Challenge{liveness.Blink, liveness.TurnLeft}}, nil, nil)
	w, _ := replay.NewWriter(&buf, replay.Header{Producer: replay.ProducerCloud, SessionID: "ses_abc", Arch: "amd64", Config: replay.ConfigOf(a)})
	_ = w.WriteFrame(liveness.Frame{JPEG: []byte{0xFF, 0xD8, 0xFF, 0xD9}, Timestamp: 100 * time.Millisecond})
	_ = w.Close(liveness.Verdict{Verdict: liveness.VerdictFail, Confidence: 0.3, Reasons: []string{liveness.ReasonChallengeTimeout}})

	r, err := replay.NewReader(&buf)
	if err != nil {
		log.Fatal(err)
	}
	h := r.Header()
	fmt.Println(h.Version, h.Producer, h.SessionID, h.Config.Mode, h.Config.ChallengePlan)
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(f.Timestamp, len(f.JPEG), "bytes")
	}
	t, _ := r.Trailer()
	fmt.Println(t.Frames, t.Verdict.Verdict, t.Verdict.Confidence, t.Verdict.Reasons)
	// Output:
	// 1 cloud ses_abc active [blink turn_left]
	// 100ms 4 bytes
	// 1 fail 0.3 [challenge_timeout]
}
