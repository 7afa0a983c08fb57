package drivertest

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers"
)

// Event is one thing driven on a fake device.
type Event struct {
	Time time.Time `json:"time"`
	// Device names the pin or channel ("relay", "GPIO17", "pca9685/3").
	Device string `json:"device"`
	// Kind is "level" (Value 0 or 1), "duty" (Value a fraction in [0, 1])
	// or a driver-specific kind ("distance_mm").
	Kind  string  `json:"kind"`
	Value float64 `json:"value"`
}

func (e Event) String() string {
	return fmt.Sprintf("%s %s %s=%g", e.Time.Format("15:04:05.000000"), e.Device, e.Kind, e.Value)
}

// Log records Events with the time of a clock. It is safe for concurrent
// use.
type Log struct {
	clock   drivers.Clock
	mu      sync.Mutex
	events  []Event
	limit   int
	dropped int
	notify  chan struct{}
}

// NewLog returns an empty Log stamping events with c.
func NewLog(c drivers.Clock) *Log {
	return &Log{clock: c, notify: make(chan struct{})}
}

// Add records one event at the clock's current time.
func (l *Log) Add(device, kind string, v float64) {
	t := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, Event{Time: t, Device: device, Kind: kind, Value: v})
	if l.limit > 0 && len(l.events) > l.limit {
		n := len(l.events) - l.limit
		l.events = append(l.events[:0], l.events[n:]...)
		l.dropped += n
	}
	close(l.notify)
	l.notify = make(chan struct{})
}

// SetLimit keeps only the newest n events (0: all), so a long-running sim
// does not grow without bound.
func (l *Log) SetLimit(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = n
}

// Dropped reports how many old events the limit discarded.
func (l *Log) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Events returns a copy of every event so far, optionally only those of the
// named devices.
func (l *Log) Events(devices ...string) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.events {
		if len(devices) == 0 || contains(devices, e.Device) {
			out = append(out, e)
		}
	}
	return out
}

// WaitFor blocks until at least n events of device are logged or the
// real-time deadline passes, and reports whether they were.
func (l *Log) WaitFor(device string, n int, deadline time.Duration) bool {
	timeout := time.After(deadline)
	for {
		l.mu.Lock()
		c := 0
		for _, e := range l.events {
			if e.Device == device {
				c++
			}
		}
		ch := l.notify
		l.mu.Unlock()
		if c >= n {
			return true
		}
		select {
		case <-ch:
		case <-timeout:
			return false
		}
	}
}

func (l *Log) String() string {
	var b strings.Builder
	for _, e := range l.Events() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Pin wraps a gpio.PinIO (typically a *gpiotest.Pin) and logs every Out as
// a "level" event and every PWM as a "duty" event under Device.
type Pin struct {
	gpio.PinIO
	Device string
	Log    *Log
}

var _ gpio.PinIO = (*Pin)(nil)

// Out drives the wrapped pin and logs the level.
func (p *Pin) Out(l gpio.Level) error {
	if err := p.PinIO.Out(l); err != nil {
		return err
	}
	v := 0.0
	if l {
		v = 1
	}
	p.Log.Add(p.Device, "level", v)
	return nil
}

// PWM drives the wrapped pin and logs the duty as a fraction.
func (p *Pin) PWM(d gpio.Duty, f physic.Frequency) error {
	if err := p.PinIO.PWM(d, f); err != nil {
		return err
	}
	p.Log.Add(p.Device, "duty", float64(d)/float64(gpio.DutyMax))
	return nil
}

// Real returns the wrapped pin.
func (p *Pin) Real() gpio.PinIO { return p.PinIO }
