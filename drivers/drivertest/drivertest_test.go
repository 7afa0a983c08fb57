package drivertest

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestClockAfter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(start)
	a := c.After(time.Second)
	b := c.After(time.Minute)
	if !c.WaitForWaiters(2, time.Second) {
		t.Fatal("waiters not registered")
	}
	c.Advance(999 * time.Millisecond)
	select {
	case <-a:
		t.Fatal("fired early")
	default:
	}
	c.Advance(time.Millisecond)
	if got := <-a; !got.Equal(start.Add(time.Second)) {
		t.Fatalf("fired at %v", got)
	}
	if c.Waiters() != 1 {
		t.Fatalf("waiters = %d, want 1", c.Waiters())
	}
	c.Advance(time.Hour)
	<-b
	if got := <-c.After(0); !got.Equal(start.Add(time.Hour + time.Second)) {
		t.Fatalf("After(0) = %v", got)
	}
}

func TestPinLogs(t *testing.T) {
	c := NewClock(time.Unix(100, 0))
	l := NewLog(c)
	p := &Pin{PinIO: &gpiotest.Pin{N: "X"}, Device: "relay", Log: l}
	_ = p.Out(gpio.High)
	c.Advance(time.Second)
	_ = p.Out(gpio.Low)
	_ = p.PWM(gpio.DutyHalf, 0)
	ev := l.Events("relay")
	if len(ev) != 3 || ev[0].Value != 1 || ev[1].Value != 0 || ev[2].Kind != "duty" || ev[2].Value != 0.5 {
		t.Fatalf("events:\n%s", l)
	}
	if !ev[1].Time.Equal(time.Unix(101, 0)) {
		t.Fatalf("time = %v", ev[1].Time)
	}
	if !l.WaitFor("relay", 3, time.Second) || l.WaitFor("relay", 4, time.Millisecond) {
		t.Fatal("WaitFor wrong")
	}
	if len(l.Events("other")) != 0 {
		t.Fatal("filter wrong")
	}
}

func TestLogLimit(t *testing.T) {
	l := NewLog(NewClock(time.Unix(0, 0)))
	l.SetLimit(3)
	for i := 0; i < 5; i++ {
		l.Add("x", "level", float64(i))
	}
	ev := l.Events()
	if len(ev) != 3 || ev[0].Value != 2 || ev[2].Value != 4 || l.Dropped() != 2 {
		t.Fatalf("events %v dropped %d", ev, l.Dropped())
	}
}
