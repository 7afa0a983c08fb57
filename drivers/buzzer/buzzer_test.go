package buzzer

import (
	"context"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio/gpiotest"

	"livegate.dev/drivers/drivertest"
)

func TestBeepClipped(t *testing.T) {
	clk := drivertest.NewClock(time.Unix(0, 0))
	log := drivertest.NewLog(clk)
	b, err := New(&drivertest.Pin{PinIO: &gpiotest.Pin{}, Device: "buzzer", Log: log}, Opts{MaxBeep: 200 * time.Millisecond, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Beep(context.Background(), time.Hour) }()
	if !clk.WaitForWaiters(1, 5*time.Second) {
		t.Fatal("beep never waited")
	}
	clk.Advance(200 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ev := log.Events("buzzer")
	if len(ev) != 3 || ev[1].Value != 1 || ev[2].Value != 0 || ev[2].Time.Sub(ev[1].Time) != 200*time.Millisecond {
		t.Fatalf("events:\n%s", log)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
