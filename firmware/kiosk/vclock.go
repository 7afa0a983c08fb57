package kiosk

import (
	"sync"
	"time"

	"livegate.dev/drivers"
)

// VirtualClock is a drivers.Clock on which every wait completes at once by
// moving the clock forward: a recording then plays as fast as the kiosk can
// process it, with the timestamps it would have had in real time. run-once
// and the tests use it.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

var _ drivers.Clock = (*VirtualClock)(nil)

// NewVirtualClock starts at start.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{now: start} }

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After advances the clock by d and returns a channel that has fired.
func (c *VirtualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}
