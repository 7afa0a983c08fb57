package capture

import (
	"sync"
	"time"
)

var _ FailureThrottle = (*Throttle)(nil)

// Rule is one failure budget: Limit failures within Window start a
// Cooldown. Failures during a cool-down count towards the next one.
type Rule struct {
	Limit    int
	Window   time.Duration
	Cooldown time.Duration
}

// Throttle counts failed attempts per key in this process's memory and
// imposes a cool-down when a key's Rule is exceeded. Memory is bounded:
// entries with nothing left to remember (out of their window and cool-down)
// are pruned, and at most maxClients keys are tracked (the least recently
// failed is evicted when full).
type Throttle struct {
	mu      sync.Mutex
	clients map[string]*throttleEntry
}

type throttleEntry struct {
	fails []time.Time
	until time.Time // end of the cool-down
	last  time.Time // the latest failure
	keep  time.Time // until when the failures may still count (last + window)
}

const maxClients = 100_000

// NewThrottle returns an empty Throttle.
func NewThrottle() *Throttle {
	return &Throttle{clients: map[string]*throttleEntry{}}
}

// Blocked reports whether key is cooling down at now, and for how long.
func (t *Throttle) Blocked(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.clients[key]
	if e == nil || !now.Before(e.until) {
		return false, 0
	}
	return true, e.until.Sub(now)
}

// Fail records a failed attempt under key at now and reports whether key is
// now cooling down under r.
func (t *Throttle) Fail(key string, r Rule, now time.Time) (blocked bool, wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.clients[key]
	if e == nil {
		if len(t.clients) >= maxClients {
			t.pruneLocked(now, true)
		}
		e = &throttleEntry{}
		t.clients[key] = e
	}
	e.last = now
	e.keep = now.Add(r.Window)
	keep := e.fails[:0]
	for _, f := range e.fails {
		if now.Sub(f) < r.Window {
			keep = append(keep, f)
		}
	}
	e.fails = append(keep, now)
	if len(e.fails) >= r.Limit {
		e.until = now.Add(r.Cooldown)
		e.fails = e.fails[:0]
	}
	if now.Before(e.until) {
		return true, e.until.Sub(now)
	}
	return false, 0
}

// pruneLocked drops entries with nothing left to remember; with force it
// also evicts the least recently used entry.
func (t *Throttle) pruneLocked(now time.Time, force bool) {
	var oldest string
	var oldestT time.Time
	for k, e := range t.clients {
		if !now.Before(e.until) && !now.Before(e.keep) {
			delete(t.clients, k)
			continue
		}
		if oldest == "" || e.last.Before(oldestT) {
			oldest, oldestT = k, e.last
		}
	}
	if force && len(t.clients) >= maxClients && oldest != "" {
		delete(t.clients, oldest)
	}
}
