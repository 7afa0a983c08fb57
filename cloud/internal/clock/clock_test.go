package clock

import (
	"testing"
	"time"
)

func TestFakeAfter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	a := f.After(time.Minute)
	b := f.After(time.Hour)
	if !f.WaitForWaiters(2, time.Second) {
		t.Fatal("waiters not registered")
	}
	f.Advance(59 * time.Second)
	select {
	case <-a:
		t.Fatal("fired early")
	default:
	}
	f.Advance(time.Second)
	if got := <-a; !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("fired at %v", got)
	}
	select {
	case <-b:
		t.Fatal("hour waiter fired")
	default:
	}
	f.Set(start.Add(2 * time.Hour))
	<-b
	if f.Waiters() != 0 {
		t.Fatal("waiters left")
	}
}
