package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"

	"livegate.dev/cloud/internal/clock"
)

// Config configures a Limiter.
type Config struct {
	// Limit is the number of requests allowed per identity per window.
	// Required; a Limit ≤ 0 allows everything (headers still report it).
	Limit int
	// Window is the window length. Optional. Default: one minute.
	Window time.Duration
	// Clock is the time source. Optional. Default: clock.Real.
	Clock clock.Clock
}

func configDefault(c Config) Config {
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// Decision is the outcome of one request's count.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is how long until the window ends (and Remaining is Limit again).
	Reset time.Duration
}

const shards = 32

// Limiter is a fixed-window counter per identity, safe for concurrent use.
type Limiter struct {
	cfg    Config
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu        sync.Mutex
	m         map[string]*window
	lastSweep time.Time
}

type window struct {
	start time.Time
	count int
}

// New returns a Limiter.
func New(cfg Config) *Limiter {
	l := &Limiter{cfg: configDefault(cfg), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = make(map[string]*window)
	}
	return l
}

// Limit is the configured per-window limit.
func (l *Limiter) Limit() int { return l.cfg.Limit }

// Window is the configured window length.
func (l *Limiter) Window() time.Duration { return l.cfg.Window }

// Allow counts one request for id and says whether it is within the limit.
// A refused request is not counted.
func (l *Limiter) Allow(id string) Decision {
	now := l.cfg.Clock.Now()
	sh := &l.shards[maphash.String(l.seed, id)%shards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.lastSweep) >= l.cfg.Window {
		for k, w := range sh.m {
			if now.Sub(w.start) >= l.cfg.Window {
				delete(sh.m, k)
			}
		}
		sh.lastSweep = now
	}
	w := sh.m[id]
	if w == nil || now.Sub(w.start) >= l.cfg.Window || now.Before(w.start) {
		w = &window{start: now}
		sh.m[id] = w
	}
	d := Decision{Limit: l.cfg.Limit, Reset: w.start.Add(l.cfg.Window).Sub(now)}
	if l.cfg.Limit <= 0 {
		d.Allowed, d.Remaining = true, 0
		return d
	}
	if w.count >= l.cfg.Limit {
		return d
	}
	w.count++
	d.Allowed = true
	d.Remaining = l.cfg.Limit - w.count
	return d
}
