package board_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"livegate.dev/board"
	"livegate.dev/drivers"
)

// A board maker's profile with a site's overrides: the relay moved to
// another pin and wired active low, a shorter maximum on-time.
func ExampleLoad() {
	pin, low, maxOn := "GPIO5", true, 2*time.Second
	p, err := board.Load(board.Config{Board: "rpi4", RelayPin: &pin, RelayActiveLow: &low, RelayMaxOn: &maxOn})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Relay.Name, p.Relay.ActiveLow, p.Relay.MaxOn, p.Camera.Device)

	// Validation names the field at fault.
	bad := 0
	_, err = board.Load(board.Config{Board: "rpi4", InferenceThreads: &bad})
	var fe *board.FieldError
	fmt.Println(errors.As(err, &fe), fe.Field)
	// Output:
	// GPIO5 true 2s /dev/video0
	// true inference_threads
}

// The sim board runs on fakes; its log shows what the kiosk drove.
func ExampleOpen_sim() {
	p, _ := board.Load(board.Config{Board: "sim"})
	b, err := board.Open(context.Background(), p, board.Opts{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	if err := b.Require("relay", "camera", "presence", "light ir"); err != nil {
		fmt.Println(err)
		return
	}
	_ = b.Lights["ir"].SetBrightness(1) // clamped to the rated 0.5
	for _, l := range b.Sim.LightTrace("ir") {
		fmt.Printf("ir %.2f\n", l.Brightness)
	}
	r, _ := b.Report.Part("relay")
	fmt.Println(r)
	_ = drivers.Off(b.Lights["ir"])
	// Output:
	// ir 0.50
	// relay          loaded  GPIO17 active high, max on 3s
}
