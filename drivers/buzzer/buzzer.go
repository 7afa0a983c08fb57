package buzzer

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"

	"livegate.dev/drivers"
	"livegate.dev/drivers/relay"
)

// Opts configures a buzzer.
type Opts struct {
	// MaxBeep is the longest beep. Optional. Default: 2s.
	MaxBeep time.Duration
	// ActiveLow sounds the buzzer with a low pin. Optional. Default: false.
	ActiveLow bool
	// Clock times beeps. Optional. Default: drivers.RealClock.
	Clock drivers.Clock
}

// Buzzer is an active buzzer.
type Buzzer struct{ r *relay.Relay }

var _ drivers.Buzzer = (*Buzzer)(nil)

// New returns the buzzer on p, silent.
func New(p gpio.PinOut, opts Opts) (*Buzzer, error) {
	if opts.MaxBeep == 0 {
		opts.MaxBeep = 2 * time.Second
	}
	r, err := relay.New(p, relay.Opts{MaxOn: opts.MaxBeep, ActiveLow: opts.ActiveLow, Clock: opts.Clock, Name: "buzzer"})
	if err != nil {
		return nil, err
	}
	return &Buzzer{r: r}, nil
}

// Beep sounds for d, clipped to MaxBeep.
func (b *Buzzer) Beep(ctx context.Context, d time.Duration) error {
	if _, err := b.r.Pulse(ctx, d); err != nil {
		return fmt.Errorf("beep: %w", err)
	}
	return nil
}

// Close silences the buzzer.
func (b *Buzzer) Close() error { return b.r.Close() }
