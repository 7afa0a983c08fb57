package liveness_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
)

// A session in passive mode: feed frames with their capture timestamps until
// the analyzer is done, showing the guidance, then read the verdict.
func Example() {
	models, err := liveness.LoadModels(liveness.ModelOptions{Sets: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer models.Close()

	a := liveness.New(liveness.Config{Mode: liveness.Passive}, models, nil)
	frames := make(chan *imgproc.RGB) // from the camera or the WebSocket
	start := time.Now()
	for img := range frames {
		g, err := a.Feed(context.Background(), liveness.Frame{Image: img, Timestamp: time.Since(start)})
		if err != nil {
			continue // a bad frame: g.Status is "bad_frame"
		}
		fmt.Println(g.Status, g.Progress)
		if a.Done() {
			break
		}
	}
	v := a.Verdict()
	fmt.Println(v.Verdict, v.Confidence, v.Reasons)
}

// In active mode the challenges and, when the capture side controls light,
// the light sequence are drawn at the start; Guidance says what to ask for
// and which light to emit next.
func ExampleAnalyzer_Challenges() {
	a := liveness.New(liveness.Config{Mode: liveness.Active, LightControlled: true}, nil, nil)
	fmt.Println(len(a.Challenges()) >= 3, len(a.LightSequence()) > 0)
	// Output: true true
}
