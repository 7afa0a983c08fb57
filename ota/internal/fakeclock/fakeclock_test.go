package fakeclock

import (
	"testing"
	"time"
)

func TestAdvance(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	ch := c.After(time.Minute)
	<-c.Waiting()
	tests := []struct {
		step  time.Duration
		fired bool
	}{{30 * time.Second, false}, {29 * time.Second, false}, {time.Second, true}}
	for _, tt := range tests {
		c.Advance(tt.step)
		select {
		case <-ch:
			if !tt.fired {
				t.Fatalf("fired early at %s", c.Now().Sub(start))
			}
		default:
			if tt.fired {
				t.Fatalf("not fired at %s", c.Now().Sub(start))
			}
		}
	}
	if got := c.Now().Sub(start); got != time.Minute {
		t.Errorf("Now advanced %s, want 1m", got)
	}
}
