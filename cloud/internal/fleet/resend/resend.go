// Package resend keeps the cloud's commands to devices until the device
// answers them or they expire, and sends them again meanwhile.
//
// Handing a command to the MQTT broker does not mean the device gets it:
// the embedded broker keeps sessions in memory only, so a command published
// while a device has no session there (not connected since the broker
// started) is dropped. A command is therefore sent again, always with the
// same message id and expiry (the device answers an id it has seen from its
// records instead of running it twice):
//
//   - when the device's session comes (back) online (fleet.Listener's
//     DeviceOnline: the embedded broker's commands subscription, or an
//     external broker's online birth): Pending.Online;
//   - on the clock, as a backstop: Backoff.First after the first send, then
//     twice as long after each further send, up to Backoff.Max: Pending.Tick.
//
// Backoff is the one schedule of repeats: Pending uses it for the fleet's
// own commands (assign_session), kept in memory, and the OTA rollouts
// (cloud/internal/releases) for their update commands, kept in each
// device's rollout progress.
package resend

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"livegate.dev/cloud/internal/clock"
)

// Defaults of Backoff: 5 min, 10, 20, 40, 80, then every 2 h.
const (
	DefaultFirst = 5 * time.Minute
	DefaultMax   = 2 * time.Hour
)

// Backoff says when a command its device has not answered is sent again.
type Backoff struct {
	// First is the wait after the first send. Optional. Default: DefaultFirst.
	First time.Duration
	// Max caps the wait, which doubles after each send. Optional. Default:
	// DefaultMax (or First, when larger).
	Max time.Duration
}

// WithDefaults fills the zero fields.
func (b Backoff) WithDefaults() Backoff {
	if b.First <= 0 {
		b.First = DefaultFirst
	}
	if b.Max < b.First {
		b.Max = max(DefaultMax, b.First)
	}
	return b
}

// Wait is how long a command sent sends times (an online repeat counts)
// waits after its last send before the next: First after the first send,
// twice as long after each further one, at most Max.
func (b Backoff) Wait(sends int) time.Duration {
	b = b.WithDefaults()
	wait := b.First
	for i := 1; i < sends && wait < b.Max; i++ {
		wait *= 2
	}
	return min(wait, b.Max)
}

// Due reports whether a command last sent at sentAt, sent sends times, is
// due again at now. A command never sent (sends 0) is due at once.
func (b Backoff) Due(sentAt time.Time, sends int, now time.Time) bool {
	if sends == 0 {
		return true
	}
	return !now.Before(sentAt.Add(b.Wait(sends)))
}

// Command is a command kept until its device answers it or it expires.
type Command struct {
	ID        string    // message id, the same for every send
	DeviceID  string    //
	Kind      string    // proto.Command kind
	Args      any       // proto.Command args
	ExpiresAt time.Time // the device refuses it after this; forgotten then
	SentAt    time.Time // the last send the broker took (zero: none yet)
	Sends     int       // sends the broker took, repeats included
}

// Publisher hands a command to the broker (ingest.PublishCommand).
type Publisher func(ctx context.Context, c Command) error

// Config configures Pending.
type Config struct {
	// Publish sends a command. Required.
	Publish Publisher
	// Backoff of the repeats. Optional.
	Backoff Backoff
	// Clock. Optional. Default: clock.Real.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

// Pending holds commands in memory until their device answers or they
// expire. It is safe for concurrent use.
type Pending struct {
	cfg  Config
	mu   sync.Mutex
	cmds map[string]*Command // by id
}

// New returns an empty Pending.
func New(cfg Config) (*Pending, error) {
	if cfg.Publish == nil {
		return nil, errors.New("resend: Publish is required")
	}
	cfg.Backoff = cfg.Backoff.WithDefaults()
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Pending{cfg: cfg, cmds: map[string]*Command{}}, nil
}

// Send keeps c and sends it now. A command already kept under c.ID is the
// same command: it is sent again, its count kept. It returns the
// broker's error; the command is kept either way (the broker may have
// taken it) and sent again when its device comes online or on the clock.
// An expired command is not kept.
func (p *Pending) Send(ctx context.Context, c Command) error {
	if !p.cfg.Clock.Now().Before(c.ExpiresAt) {
		return errors.New("resend: command " + c.ID + " already expired")
	}
	p.mu.Lock()
	if old, ok := p.cmds[c.ID]; ok {
		c.SentAt, c.Sends = old.SentAt, old.Sends
	} else {
		c.SentAt, c.Sends = time.Time{}, 0
	}
	p.cmds[c.ID] = &c
	p.mu.Unlock()
	return p.send(ctx, c.ID)
}

// send publishes the kept command id and counts the send.
func (p *Pending) send(ctx context.Context, id string) error {
	p.mu.Lock()
	c, ok := p.cmds[id]
	if !ok {
		p.mu.Unlock()
		return nil // answered meanwhile
	}
	cp := *c
	p.mu.Unlock()
	err := p.cfg.Publish(ctx, cp)
	if err != nil {
		p.cfg.Logger.Warn("command not sent", slog.String("device_id", cp.DeviceID), slog.String("command_id", id),
			slog.String("kind", cp.Kind), slog.Any("error", err))
		return err
	}
	p.mu.Lock()
	if c, ok := p.cmds[id]; ok {
		c.SentAt = p.cfg.Clock.Now()
		c.Sends++
	}
	p.mu.Unlock()
	return nil
}

// Answered forgets the command id of deviceID: the device answered it
// (any answer: accepted, done, failed or refused). It reports whether the
// command was kept.
func (p *Pending) Answered(deviceID, id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.cmds[id]
	if !ok || c.DeviceID != deviceID {
		return false
	}
	delete(p.cmds, id)
	return true
}

// Forget drops the command id without an answer (its purpose is gone).
func (p *Pending) Forget(id string) {
	p.mu.Lock()
	delete(p.cmds, id)
	p.mu.Unlock()
}

// Online sends every valid command kept for deviceID again, at once: its
// session on the broker just came (back) online.
func (p *Pending) Online(ctx context.Context, deviceID string) {
	for _, id := range p.pick(func(c *Command, now time.Time) bool { return c.DeviceID == deviceID }) {
		p.send(ctx, id)
	}
}

// Tick forgets expired commands and sends again those due (Backoff). Call
// it periodically (Run does).
func (p *Pending) Tick(ctx context.Context) {
	for _, id := range p.pick(func(c *Command, now time.Time) bool { return p.cfg.Backoff.Due(c.SentAt, c.Sends, now) }) {
		p.send(ctx, id)
	}
}

// pick drops expired commands and returns the ids of the others that f
// selects, in id order.
func (p *Pending) pick(f func(c *Command, now time.Time) bool) []string {
	now := p.cfg.Clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for id, c := range p.cmds {
		if !now.Before(c.ExpiresAt) {
			p.cfg.Logger.Warn("command expired without an answer", slog.String("device_id", c.DeviceID), slog.String("command_id", id),
				slog.String("kind", c.Kind), slog.Int("sends", c.Sends))
			delete(p.cmds, id)
			continue
		}
		if f(c, now) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Run calls Tick every interval of the clock until ctx ends.
func (p *Pending) Run(ctx context.Context, interval time.Duration) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.cfg.Clock.After(interval):
		}
		p.Tick(ctx)
	}
}

// Get returns the command kept under id.
func (p *Pending) Get(id string) (Command, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.cmds[id]
	if !ok {
		return Command{}, false
	}
	return *c, true
}

// Len is the number of commands kept.
func (p *Pending) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cmds)
}
