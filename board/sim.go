package board

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
	"livegate.dev/drivers/pca9685/pca9685test"
	"livegate.dev/drivers/vl53l0x/vl53l0xtest"
)

// Sim is the sim board's hardware: gpiotest pins, an in-memory PCA9685 and
// VL53L0X on bus "sim", and a Log of everything driven, stamped by the
// board's clock. Devices in the Log are named by part: "relay", "status",
// "buzzer", "light <name>", "distance".
type Sim struct {
	Clock   drivers.Clock
	Log     *drivertest.Log
	PCA9685 *pca9685test.Chip
	ToF     *vl53l0xtest.Chip

	profile  Profile
	stateDir string
	mu       sync.Mutex
	pins     map[string]*gpiotest.Pin // by pin name
	restored map[string]gpio.Level    // levels read from stateDir at open
}

// SimLogLimit is how many events the sim's Log keeps (the newest).
const SimLogLimit = 200000

func newSim(p Profile, clk drivers.Clock, stateDir string) *Sim {
	log := drivertest.NewLog(clk)
	log.SetLimit(SimLogLimit)
	return &Sim{
		Clock: clk, Log: log, profile: p,
		PCA9685: pca9685test.New(p.PCA9685.Addr, log),
		ToF:     vl53l0xtest.New(p.ToF.Addr, log, "distance"),
		pins:    map[string]*gpiotest.Pin{}, restored: map[string]gpio.Level{},
		stateDir: stateDir,
	}
}

// Restored returns the level pin name started at from SimStateDir, if a
// state file existed.
func (s *Sim) Restored(name string) (gpio.Level, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.restored[name]
	return l, ok
}

// Pin returns the fake pin name (nil if the board did not open it).
func (s *Sim) Pin(name string) *gpiotest.Pin {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pins[name]
}

func (s *Sim) pin(part, name string) (gpio.PinIO, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pins[name]; ok {
		return nil, fmt.Errorf("sim pin %s opened twice", name)
	}
	p := &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level, 16)}
	s.pins[name] = p
	var inner gpio.PinIO = p
	if s.stateDir != "" {
		path := filepath.Join(s.stateDir, name)
		if b, err := os.ReadFile(path); err == nil {
			l := gpio.Level(strings.TrimSpace(string(b)) == "1")
			p.L = l
			s.restored[name] = l
		}
		inner = &statePin{PinIO: p, path: path}
	}
	return &drivertest.Pin{PinIO: inner, Device: part, Log: s.Log}, nil
}

// statePin writes the output level to path on every change.
type statePin struct {
	gpio.PinIO
	path string
}

func (p *statePin) Out(l gpio.Level) error {
	if err := p.PinIO.Out(l); err != nil {
		return err
	}
	v := "0\n"
	if l {
		v = "1\n"
	}
	return writeAtomic(p.path, v)
}

func (p *statePin) PWM(d gpio.Duty, f physic.Frequency) error {
	if err := p.PinIO.PWM(d, f); err != nil {
		return err
	}
	v := "0\n"
	if d > 0 {
		v = "1\n" // a PWM output is "on" for a restart check
	}
	return writeAtomic(p.path, v)
}

// writeAtomic replaces path with data: temp file, fsync, rename.
func writeAtomic(path, data string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".pin-*")
	if err != nil {
		return fmt.Errorf("sim pin state: %w", err)
	}
	_, err = f.WriteString(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("sim pin state %s: %w", path, err)
	}
	return nil
}

func (s *Sim) bus(name string) (i2c.Bus, io.Closer, error) {
	if name != SimBus {
		return nil, nil, errAbsent{fmt.Sprintf("I²C bus %s: the sim has only bus %q", name, SimBus)}
	}
	b := &simBus{chips: map[uint16]i2c.Bus{}}
	if s.profile.PCA9685.Bus == SimBus {
		b.chips[s.profile.PCA9685.Addr] = s.PCA9685
	}
	if s.profile.ToF.Bus == SimBus {
		b.chips[s.profile.ToF.Addr] = s.ToF
	}
	return b, io.NopCloser(nil), nil
}

func (s *Sim) camera(_ context.Context, spec CameraSpec, clk drivers.Clock, b *Board) (drivers.FrameSource, error) {
	return openCamera(spec, clk, func(time.Time) [3]float64 { return sceneLight(b.Lights) })
}

// sceneLight is the visible light the LEDs put on the scene: white on all
// three channels, red, green and blue on their own; infrared is invisible
// to the colour camera.
func sceneLight(lights map[string]drivers.Light) [3]float64 {
	var c [3]float64
	add := func(name string, rgb [3]float64) {
		if l := lights[name]; l != nil {
			b := l.Brightness()
			for i := range c {
				c[i] += b * rgb[i]
			}
		}
	}
	add("white", [3]float64{1, 1, 1})
	add("red", [3]float64{1, 0, 0})
	add("green", [3]float64{0, 1, 0})
	add("blue", [3]float64{0, 0, 1})
	for i := range c {
		if c[i] > 1 {
			c[i] = 1
		}
	}
	return c
}

// SetPresence simulates someone arriving (present, at distanceMM from the
// distance sensor) or leaving: the PIR pin gets an edge and the distance
// sensor sees the new distance (nothing in range when absent).
func (s *Sim) SetPresence(present bool, distanceMM int) {
	if !present {
		distanceMM = 0
	}
	s.ToF.SetDistance(distanceMM)
	if p := s.Pin(s.profile.PIR.Name); p != nil {
		l := gpio.Level(present != s.profile.PIR.ActiveLow)
		p.Lock()
		p.L = l
		p.Unlock()
		// Keep only the newest edge: a stale one would replay an old
		// level (gpiotest sets the level from the edge it delivers).
		for drained := false; !drained; {
			select {
			case <-p.EdgesChan:
			default:
				drained = true
			}
		}
		select {
		case p.EdgesChan <- l: // wakes a waiting reader at once
		default:
		}
	}
}

// Pulse is one relay activation seen on the pin.
type Pulse struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // zero while still energised
}

// RelayPulses returns the relay's activations from the log, taking
// active-low wiring into account.
func (s *Sim) RelayPulses() []Pulse {
	var out []Pulse
	for _, e := range s.Log.Events("relay") {
		on := (e.Value != 0) != s.profile.Relay.ActiveLow
		switch {
		case on && (len(out) == 0 || !out[len(out)-1].End.IsZero()):
			out = append(out, Pulse{Start: e.Time})
		case !on && len(out) > 0 && out[len(out)-1].End.IsZero():
			out[len(out)-1].End = e.Time
		}
	}
	return out
}

// LightLevel is a light's brightness from a time on.
type LightLevel struct {
	Time       time.Time `json:"time"`
	Brightness float64   `json:"brightness"`
}

// LightTrace returns light name's brightness changes from the log,
// whatever its driver, with active-low wiring undone.
func (s *Sim) LightTrace(name string) []LightLevel {
	activeLow := false
	for _, l := range s.profile.Lights {
		if l.Name == name && l.Driver != LightPCA9685 {
			activeLow = l.Pin.ActiveLow
		}
	}
	var out []LightLevel
	for _, e := range s.Log.Events("light " + name) {
		v := e.Value
		if activeLow {
			v = 1 - v
		}
		if len(out) > 0 && out[len(out)-1].Brightness == v {
			continue
		}
		out = append(out, LightLevel{Time: e.Time, Brightness: v})
	}
	return out
}

// simBus routes transactions by address to the sim's chips; an address
// without a chip NACKs.
type simBus struct {
	mu    sync.Mutex
	chips map[uint16]i2c.Bus
}

func (b *simBus) String() string {
	var a []int
	for k := range b.chips {
		a = append(a, int(k))
	}
	sort.Ints(a)
	return fmt.Sprintf("sim-i2c%x", a)
}

func (b *simBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.chips[addr]
	if !ok {
		return fmt.Errorf("%s: no device at %#x (NACK)", b, addr)
	}
	return c.Tx(addr, w, r)
}

func (b *simBus) SetSpeed(physic.Frequency) error { return nil }
