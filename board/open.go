package board

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/host/v3"

	"livegate.dev/drivers"
	"livegate.dev/drivers/buzzer"
	"livegate.dev/drivers/camera"
	"livegate.dev/drivers/light"
	"livegate.dev/drivers/pca9685"
	"livegate.dev/drivers/presence"
	"livegate.dev/drivers/relay"
	"livegate.dev/drivers/v4l2"
	"livegate.dev/drivers/vl53l0x"
)

// State is the outcome of opening one part, as in periph.io's driverreg.
type State string

// States.
const (
	Loaded  State = "loaded"
	Skipped State = "skipped" // absent on this machine or not in the profile
	Failed  State = "failed"  // present but it did not work
)

// Result is what happened to one part or host driver.
type Result struct {
	Part   string
	State  State
	Detail string // what was opened, or why it was skipped
	Err    error  // why it failed
}

func (r Result) String() string {
	s := fmt.Sprintf("%-14s %-7s %s", r.Part, r.State, r.Detail)
	if r.Err != nil {
		s += ": " + r.Err.Error()
	}
	return strings.TrimRight(s, " ")
}

// Report lists what Open found.
type Report struct {
	// Host holds periph.io's host.Init results, one per host driver.
	Host []Result
	// Parts holds one result per board part.
	Parts []Result
}

func (r Report) String() string {
	var b strings.Builder
	for _, x := range append(append([]Result(nil), r.Host...), r.Parts...) {
		b.WriteString(x.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Part returns the result for part, if any.
func (r Report) Part(part string) (Result, bool) {
	for _, x := range r.Parts {
		if x.Part == part {
			return x, true
		}
	}
	return Result{}, false
}

// Opts configures Open.
type Opts struct {
	// Clock drives relay pulses, polling and camera pacing. Optional.
	// Default: drivers.RealClock.
	Clock drivers.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
	// SimStateDir, on the sim board, keeps each output pin's level in a
	// file named after the pin in this directory, rewritten atomically on
	// every change, and starts each pin at the level found there: like a
	// real pin, a level outlives a killed process, so a restart test can
	// see the relay left energised and then driven off. Optional. Default:
	// "" (levels live in memory only).
	SimStateDir string
}

// Board is an opened board. A part that was skipped or failed is nil (or
// absent from Lights); Report says why.
type Board struct {
	Profile Profile
	// Lights by LightSpec.Name.
	Lights   map[string]drivers.Light
	Relay    drivers.Relay
	Presence drivers.Presence // the PIR when present, else the ToF threshold
	Distance drivers.DistanceSensor
	Status   drivers.Light
	Buzzer   drivers.Buzzer
	Camera   drivers.FrameSource
	Report   Report
	// Sim is set on the sim board.
	Sim *Sim

	closers []namedCloser
}

type namedCloser struct {
	name string
	fn   func() error
}

// ErrMissing reports required parts that did not open.
var ErrMissing = errors.New("board: required part not available")

// Require returns ErrMissing naming every listed part ("relay", "camera",
// "presence", "distance", "status", "buzzer", "light <name>") that is not
// open, with the reason from the report.
func (b *Board) Require(parts ...string) error {
	var missing []string
	for _, p := range parts {
		ok := false
		switch {
		case p == "relay":
			ok = b.Relay != nil
		case p == "camera":
			ok = b.Camera != nil
		case p == "presence":
			ok = b.Presence != nil
		case p == "distance":
			ok = b.Distance != nil
		case p == "status":
			ok = b.Status != nil
		case p == "buzzer":
			ok = b.Buzzer != nil
		case strings.HasPrefix(p, "light "):
			ok = b.Lights[strings.TrimPrefix(p, "light ")] != nil
		}
		if !ok {
			why := "not in the profile"
			if r, found := b.Report.Part(p); found {
				why = string(r.State) + " " + r.Detail
				if r.Err != nil {
					why += ": " + r.Err.Error()
				}
			}
			missing = append(missing, fmt.Sprintf("%s (%s)", p, strings.TrimSpace(why)))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w on %s: %s", ErrMissing, b.Profile.Name, strings.Join(missing, "; "))
	}
	return nil
}

// Close de-energises the relay first, switches every light off, stops the
// camera and releases the buses, in reverse order of opening.
func (b *Board) Close() error {
	var errs []error
	if b.Relay != nil {
		if err := b.Relay.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range b.Lights {
		if err := drivers.Off(l); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(b.closers) - 1; i >= 0; i-- {
		if err := b.closers[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", b.closers[i].name, err))
		}
	}
	b.closers = nil
	return errors.Join(errs...)
}

// env is where parts come from: the host through periph.io, or the sim's
// fakes.
type env interface {
	pin(part, name string) (gpio.PinIO, error)
	bus(name string) (i2c.Bus, io.Closer, error)
	camera(ctx context.Context, spec CameraSpec, clk drivers.Clock, b *Board) (drivers.FrameSource, error)
}

// errAbsent marks a part that is not on this machine: reported as skipped.
type errAbsent struct{ msg string }

func (e errAbsent) Error() string { return e.msg }

// Open validates p and opens every part it can. Parts that are absent are
// skipped and parts that fail are reported; Open itself fails only for an
// invalid profile or a cancelled ctx. Use Board.Require for the parts the
// caller cannot run without.
func Open(ctx context.Context, p Profile, opts Opts) (*Board, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = drivers.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b := &Board{Profile: p, Lights: map[string]drivers.Light{}}
	var e env
	if p.Name == "sim" {
		b.Sim = newSim(p, opts.Clock, opts.SimStateDir)
		e = b.Sim
		b.Report.Host = []Result{{Part: "host.Init", State: Skipped, Detail: "sim board: every part is a fake"}}
	} else {
		e = hostEnv{}
		b.Report.Host = initHost()
	}
	if err := b.open(ctx, e, opts); err != nil {
		b.Close()
		return nil, err
	}
	for _, r := range b.Report.Parts {
		opts.Logger.Info("board part", "board", p.Name, "part", r.Part, "state", string(r.State), "detail", r.Detail, "err", r.Err)
	}
	return b, nil
}

// initHost runs periph.io's host.Init and turns its driverreg.State into
// results.
func initHost() []Result {
	st, err := host.Init()
	if err != nil {
		return []Result{{Part: "host.Init", State: Failed, Err: err}}
	}
	var out []Result
	for _, d := range st.Loaded {
		out = append(out, Result{Part: "host " + d.String(), State: Loaded})
	}
	for _, f := range st.Skipped {
		out = append(out, Result{Part: "host " + f.D.String(), State: Skipped, Detail: f.Err.Error()})
	}
	for _, f := range st.Failed {
		out = append(out, Result{Part: "host " + f.D.String(), State: Failed, Err: f.Err})
	}
	return out
}

func (b *Board) record(part string, detail string, err error) {
	r := Result{Part: part, State: Loaded, Detail: detail}
	var absent errAbsent
	switch {
	case errors.As(err, &absent):
		r.State, r.Detail = Skipped, absent.msg
	case err != nil:
		r.State, r.Err = Failed, err
	}
	b.Report.Parts = append(b.Report.Parts, r)
}

func (b *Board) skip(part, why string) {
	b.Report.Parts = append(b.Report.Parts, Result{Part: part, State: Skipped, Detail: why})
}

func (b *Board) open(ctx context.Context, e env, opts Opts) error {
	p := b.Profile
	clk := opts.Clock

	// Relay first: drive it inactive before anything else.
	if pin, err := e.pin("relay", p.Relay.Name); err != nil {
		b.record("relay", "", err)
	} else {
		r, err := relay.New(pin, relay.Opts{MaxOn: p.Relay.MaxOn, ActiveLow: p.Relay.ActiveLow, Clock: clk, Logger: opts.Logger})
		if err == nil {
			b.Relay = r
		}
		b.record("relay", fmt.Sprintf("%s %s, max on %s", p.Relay.Name, level(p.Relay.ActiveLow), p.Relay.MaxOn), err)
	}

	// I²C chips.
	buses := map[string]i2c.Bus{}
	openBus := func(name string) (i2c.Bus, error) {
		if bus, ok := buses[name]; ok {
			return bus, nil
		}
		bus, c, err := e.bus(name)
		if err != nil {
			return nil, err
		}
		buses[name] = bus
		b.closers = append(b.closers, namedCloser{"i2c " + name, c.Close})
		return bus, nil
	}
	var pca *pca9685.Dev
	if p.PCA9685.Bus == "" {
		b.skip("pca9685", "not in the profile")
	} else if bus, err := openBus(p.PCA9685.Bus); err != nil {
		b.record("pca9685", "", err)
	} else {
		pca, err = pca9685.New(bus, pca9685.Opts{Addr: p.PCA9685.Addr, Frequency: physic.Frequency(p.PCA9685.FrequencyHz) * physic.Hertz})
		if err == nil {
			b.closers = append(b.closers, namedCloser{"pca9685", pca.Halt})
		}
		b.record("pca9685", fmt.Sprintf("bus %s addr %#x at %d Hz", p.PCA9685.Bus, p.PCA9685.Addr, p.PCA9685.FrequencyHz), err)
	}
	if p.ToF.Bus == "" {
		b.skip("distance", "not in the profile")
	} else if bus, err := openBus(p.ToF.Bus); err != nil {
		b.record("distance", "", err)
	} else {
		tof, err := vl53l0x.New(ctx, bus, vl53l0x.Opts{Addr: p.ToF.Addr, Clock: clk})
		if err == nil {
			b.Distance = tof
		}
		b.record("distance", fmt.Sprintf("VL53L0X on bus %s addr %#x", p.ToF.Bus, p.ToF.Addr), err)
	}

	// Lights.
	for _, ls := range p.Lights {
		part := "light " + ls.Name
		var (
			l      drivers.Light
			err    error
			detail string
		)
		switch ls.Driver {
		case LightPCA9685:
			detail = fmt.Sprintf("pca9685 output %d, max duty %v", ls.Channel, ls.MaxDuty)
			if pca == nil {
				err = errAbsent{"pca9685 not available"}
				break
			}
			if b.Sim != nil {
				b.Sim.PCA9685.Name(ls.Channel, part)
			}
			l, err = pca.Channel(ls.Channel, ls.Name, ls.MaxDuty)
		case LightGPIO, LightPWM:
			var pin gpio.PinIO
			if pin, err = e.pin(part, ls.Pin.Name); err != nil {
				break
			}
			if ls.Driver == LightGPIO {
				detail = fmt.Sprintf("%s on/off %s", ls.Pin.Name, level(ls.Pin.ActiveLow))
				l, err = light.NewGPIO(ls.Name, pin, ls.Pin.ActiveLow)
			} else {
				detail = fmt.Sprintf("%s PWM %d Hz, max duty %v", ls.Pin.Name, ls.FrequencyHz, ls.MaxDuty)
				l, err = light.NewPWM(ls.Name, pin, light.PWMOpts{MaxDuty: ls.MaxDuty, Frequency: physic.Frequency(ls.FrequencyHz) * physic.Hertz, ActiveLow: ls.Pin.ActiveLow})
			}
		}
		if err == nil {
			b.Lights[ls.Name] = l
		}
		b.record(part, detail, err)
	}

	// Presence: PIR preferred, else the distance threshold.
	if p.PIR.Name == "" {
		b.skip("pir", "not in the profile")
	} else if pin, err := e.pin("pir", p.PIR.Name); err != nil {
		b.record("pir", "", err)
	} else {
		pir, err := presence.NewPIR(pin, presence.PIROpts{ActiveLow: p.PIR.ActiveLow, Clock: clk})
		if err == nil {
			b.Presence = pir
		}
		b.record("pir", fmt.Sprintf("%s %s", p.PIR.Name, level(p.PIR.ActiveLow)), err)
	}
	switch {
	case b.Presence != nil:
		b.Report.Parts = append(b.Report.Parts, Result{Part: "presence", State: Loaded, Detail: "from the PIR"})
	case b.Distance != nil:
		d, err := presence.NewDistance(b.Distance, presence.DistanceOpts{NearMM: p.ToF.NearMM, Clock: clk})
		if err == nil {
			b.Presence = d
		}
		b.record("presence", fmt.Sprintf("distance within %d mm", p.ToF.NearMM), err)
	default:
		b.skip("presence", "no PIR and no distance sensor")
	}

	// Status LED and buzzer.
	if p.Status.Name == "" {
		b.skip("status", "not in the profile")
	} else if pin, err := e.pin("status", p.Status.Name); err != nil {
		b.record("status", "", err)
	} else {
		s, err := light.NewGPIO("status", pin, p.Status.ActiveLow)
		if err == nil {
			b.Status = s
			b.closers = append(b.closers, namedCloser{"status", s.Close})
		}
		b.record("status", fmt.Sprintf("%s %s", p.Status.Name, level(p.Status.ActiveLow)), err)
	}
	if p.Buzzer.Name == "" {
		b.skip("buzzer", "not in the profile")
	} else if pin, err := e.pin("buzzer", p.Buzzer.Name); err != nil {
		b.record("buzzer", "", err)
	} else {
		bz, err := buzzer.New(pin, buzzer.Opts{ActiveLow: p.Buzzer.ActiveLow, Clock: clk})
		if err == nil {
			b.Buzzer = bz
			b.closers = append(b.closers, namedCloser{"buzzer", bz.Close})
		}
		b.record("buzzer", fmt.Sprintf("%s %s", p.Buzzer.Name, level(p.Buzzer.ActiveLow)), err)
	}

	// Camera last: it is the slowest to open.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("board %s: %w", p.Name, err)
	}
	cam, err := e.camera(ctx, p.Camera, clk, b)
	detail := fmt.Sprintf("%s %s", p.Camera.Source, p.Camera.Device)
	if err == nil {
		b.Camera = cam
		b.closers = append(b.closers, namedCloser{"camera", cam.Close})
		detail = fmt.Sprintf("%s %s %s", p.Camera.Source, p.Camera.Device, cam.Format())
	}
	b.record("camera", strings.Join(strings.Fields(detail), " "), err)
	return nil
}

func level(activeLow bool) string {
	if activeLow {
		return "active low"
	}
	return "active high"
}

// hostEnv opens real hardware through periph.io after host.Init.
type hostEnv struct{}

func (hostEnv) pin(part, name string) (gpio.PinIO, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, errAbsent{fmt.Sprintf("pin %s not found (no GPIO driver loaded it)", name)}
	}
	return p, nil
}

func (hostEnv) bus(name string) (i2c.Bus, io.Closer, error) {
	bus, err := i2creg.Open(name)
	if err != nil {
		return nil, nil, errAbsent{fmt.Sprintf("I²C bus %s: %v", name, err)}
	}
	return bus, bus, nil
}

func (hostEnv) camera(ctx context.Context, spec CameraSpec, clk drivers.Clock, _ *Board) (drivers.FrameSource, error) {
	return openCamera(spec, clk, nil)
}

// openCamera opens the file, synthetic or V4L2 source of spec.
func openCamera(spec CameraSpec, clk drivers.Clock, light func(time.Time) [3]float64) (drivers.FrameSource, error) {
	switch spec.Source {
	case CameraFile:
		return camera.OpenFile(spec.Device, camera.FileOpts{Clock: clk, FPS: spec.FPS, Loop: spec.Loop})
	case CameraSynthetic:
		f := drivers.FormatRGB24
		if spec.Format != "" {
			var err error
			if f, err = drivers.ParsePixelFormat(spec.Format); err != nil {
				return nil, err
			}
		}
		return camera.NewSynthetic(camera.SyntheticOpts{Width: spec.Width, Height: spec.Height, FPS: spec.FPS, Format: f, Face: true, Clock: clk, Light: light})
	case CameraV4L2:
		f, err := drivers.ParsePixelFormat(spec.Format)
		if err != nil {
			return nil, err
		}
		dev, err := v4l2.OpenDevice(spec.Device)
		if err != nil {
			return nil, errAbsent{err.Error()}
		}
		return v4l2.New(dev, spec.Device, v4l2.Opts{Want: v4l2.Want{Format: f, Width: spec.Width, Height: spec.Height, FPS: spec.FPS}, Clock: clk})
	}
	return nil, fmt.Errorf("unknown camera source %q", spec.Source)
}
