package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"livegate.dev/cloud/internal/clock"
)

func TestWindow(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := New(Config{Limit: 3, Clock: clk})
	steps := []struct {
		advance   time.Duration
		id        string
		allowed   bool
		remaining int
		reset     time.Duration
	}{
		{0, "a", true, 2, time.Minute},
		{10 * time.Second, "a", true, 1, 50 * time.Second},
		{0, "b", true, 2, time.Minute}, // other identity, own window
		{0, "a", true, 0, 50 * time.Second},
		{0, "a", false, 0, 50 * time.Second},
		{49 * time.Second, "a", false, 0, time.Second},
		{time.Second, "a", true, 2, time.Minute}, // new window
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		d := l.Allow(s.id)
		if d.Allowed != s.allowed || d.Remaining != s.remaining || d.Reset != s.reset || d.Limit != 3 {
			t.Fatalf("step %d: got %+v, want allowed=%v remaining=%d reset=%v", i, d, s.allowed, s.remaining, s.reset)
		}
	}
}

func TestUnlimited(t *testing.T) {
	l := New(Config{Limit: 0})
	for i := 0; i < 1000; i++ {
		if !l.Allow("x").Allowed {
			t.Fatal("refused with limit 0")
		}
	}
}

func TestConcurrentCountIsExact(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	l := New(Config{Limit: 500, Clock: clk})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := map[string]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("k%d", i%2)
				if l.Allow(id).Allowed {
					mu.Lock()
					allowed[id]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed["k0"] != 500 || allowed["k1"] != 500 {
		t.Fatalf("allowed %v, want 500 each", allowed)
	}
}

func TestSweepDropsOldWindows(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	l := New(Config{Limit: 1, Clock: clk})
	for i := 0; i < 100; i++ {
		l.Allow(fmt.Sprint(i))
	}
	clk.Advance(2 * time.Minute)
	// 1000 fresh identities touch every shard (and so sweep it).
	for i := 0; i < 1000; i++ {
		l.Allow(fmt.Sprint("fresh", i))
	}
	for i := range l.shards {
		for k, w := range l.shards[i].m {
			if clk.Now().Sub(w.start) >= time.Minute {
				t.Fatalf("window of %q from %v kept after sweep", k, w.start)
			}
		}
	}
}
