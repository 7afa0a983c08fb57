package update

import (
	"context"
	gosync "sync"

	"livegate.dev/proto"
)

// reporter sends an update's progress answers in order from its own
// goroutine, so a slow or absent link never stalls the download: while
// one answer waits for the broker, later ones replace each other and only
// the newest is sent next (the latest state wins).
type reporter struct {
	a      *Agent
	ctx    context.Context
	mu     gosync.Mutex
	next   *proto.CommandResponse
	wake   chan struct{}
	idle   *gosync.Cond
	busy   bool
	closed bool
	done   chan struct{}
}

func newReporter(ctx context.Context, a *Agent) *reporter {
	r := &reporter{a: a, ctx: ctx, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.idle = gosync.NewCond(&r.mu)
	go r.loop()
	return r
}

// send queues resp, replacing an answer not yet sent.
func (r *reporter) send(resp proto.CommandResponse) {
	r.mu.Lock()
	r.next = &resp
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// flush waits until every queued answer was sent (or given up on).
func (r *reporter) flush() {
	r.mu.Lock()
	for r.next != nil || r.busy {
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
			if r.closed && r.next == nil {
				r.mu.Unlock()
				return
			}
			resp := r.next
			r.next = nil
			r.busy = resp != nil
			r.mu.Unlock()
			if resp == nil {
				break
			}
			r.a.send(r.ctx, *resp)
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
