package capture

import (
	"sync"
	"time"
)

var _ FailureThrottle = (*Throttle)(nil)

// Throttle counts failed attempts per client and imposes a cool-down after
// Limit failures within Window (AWS's advice for Face Liveness: at most 5
// failures in 3 minutes). Memory is bounded: entries older than the window
// and the cool-down are pruned, and at most maxClients clients are tracked
// (the oldest entry is evicted when full).
type Throttle struct {
	Limit    int
	Window   time.Duration
	Cooldown time.Duration

	mu      sync.Mutex
	clients map[string]*throttleEntry
}

type throttleEntry struct {
	fails []time.Time
	until time.Time
	last  time.Time
}

const maxClients = 100_000

// NewThrottle returns a Throttle; zero arguments take the defaults 5, 3 min, 3 min.
func NewThrottle(limit int, window, cooldown time.Duration) *Throttle {
	if limit <= 0 {
		limit = 5
	}
	if window <= 0 {
		window = 3 * time.Minute
	}
	if cooldown <= 0 {
		cooldown = 3 * time.Minute
	}
	return &Throttle{Limit: limit, Window: window, Cooldown: cooldown, clients: map[string]*throttleEntry{}}
}

// Blocked reports whether client is cooling down at now, and for how long.
func (t *Throttle) Blocked(client string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.clients[client]
	if e == nil || !now.Before(e.until) {
		return false, 0
	}
	return true, e.until.Sub(now)
}

// Fail records a failed attempt of client at now and reports whether the
// client is now cooling down.
func (t *Throttle) Fail(client string, now time.Time) (blocked bool, wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.clients[client]
	if e == nil {
		if len(t.clients) >= maxClients {
			t.pruneLocked(now, true)
		}
		e = &throttleEntry{}
		t.clients[client] = e
	}
	e.last = now
	keep := e.fails[:0]
	for _, f := range e.fails {
		if now.Sub(f) < t.Window {
			keep = append(keep, f)
		}
	}
	e.fails = append(keep, now)
	if len(e.fails) >= t.Limit {
		e.until = now.Add(t.Cooldown)
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
		if !now.Before(e.until) && now.Sub(e.last) >= t.Window {
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
