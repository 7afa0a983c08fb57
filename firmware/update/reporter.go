package update

import (
	"context"
	gosync "sync"

	"livegate.dev/proto"
)

// reporter sends an update's progress answers in order from its own
// goroutine, so a slow or absent link never stalls the download: while
// one answer waits for the broker, a newer answer of the same state
// replaces a queued one (download percentages), but every change of state
// (installing, rebooting) is sent.
type reporter struct {
	a      *Agent
	ctx    context.Context
	mu     gosync.Mutex
	queue  []queued
	wake   chan struct{}
	idle   *gosync.Cond
	busy   bool
	closed bool
	done   chan struct{}
}

type queued struct {
	state string
	resp  proto.CommandResponse
}

func newReporter(ctx context.Context, a *Agent) *reporter {
	r := &reporter{a: a, ctx: ctx, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.idle = gosync.NewCond(&r.mu)
	go r.loop()
	return r
}

// send queues resp of the given state, replacing a queued answer of the
// same state.
func (r *reporter) send(state string, resp proto.CommandResponse) {
	r.mu.Lock()
	if n := len(r.queue); n > 0 && r.queue[n-1].state == state {
		r.queue[n-1].resp = resp
	} else {
		r.queue = append(r.queue, queued{state, resp})
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// flush waits until every queued answer was sent (or given up on).
func (r *reporter) flush() {
	r.mu.Lock()
	for len(r.queue) > 0 || r.busy {
		r.idle.Wait()
	}
	r.mu.Unlock()
}

// close flushes and stops the goroutine.
func (r *reporter) close() {
	r.flush()
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.done
}

func (r *reporter) loop() {
	defer close(r.done)
	for range r.wake {
		for {
			r.mu.Lock()
			if r.closed && len(r.queue) == 0 {
				r.mu.Unlock()
				return
			}
			if len(r.queue) == 0 {
				r.mu.Unlock()
				break
			}
			q := r.queue[0]
			r.queue = r.queue[1:]
			r.busy = true
			r.mu.Unlock()
			r.a.send(r.ctx, q.resp)
			r.mu.Lock()
			r.busy = false
			r.idle.Broadcast()
			r.mu.Unlock()
		}
		r.mu.Lock()
		r.idle.Broadcast()
		r.mu.Unlock()
	}
}
