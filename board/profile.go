package board

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Pin is a GPIO line by its periph.io name ("GPIO17"). An empty Name means
// the board has no such part.
type Pin struct {
	Name      string `json:"name"`
	ActiveLow bool   `json:"active_low"`
}

// RelaySpec is the turnstile or door relay.
type RelaySpec struct {
	Pin
	// MaxOn is the hard maximum on-time of one pulse.
	MaxOn time.Duration `json:"max_on"`
}

// Light drivers.
const (
	LightGPIO    = "gpio"    // on/off on a GPIO pin
	LightPWM     = "pwm"     // dimmable on a PWM-capable GPIO pin
	LightPCA9685 = "pca9685" // one output of the PCA9685
)

// LightSpec is one illumination channel.
type LightSpec struct {
	// Name: "white", "ir", "red", "green", "blue".
	Name string `json:"name"`
	// Driver is LightGPIO, LightPWM or LightPCA9685.
	Driver string `json:"driver"`
	// Pin for gpio and pwm lights.
	Pin Pin `json:"pin"`
	// Channel is the PCA9685 output (0–15) for pca9685 lights.
	Channel int `json:"channel"`
	// MaxDuty is the rated maximum duty fraction (eye safety, heat).
	MaxDuty float64 `json:"max_duty"`
	// FrequencyHz is the PWM frequency of pwm lights.
	FrequencyHz int `json:"frequency_hz"`
}

// I2CDevice is a chip on an I²C bus. An empty Bus means the board has none.
type I2CDevice struct {
	// Bus is the periph.io i2creg name ("1", "/dev/i2c-1"); "sim" on sim.
	Bus  string `json:"bus"`
	Addr uint16 `json:"addr"`
}

// PCA9685Spec is the LED driver chip.
type PCA9685Spec struct {
	I2CDevice
	FrequencyHz int `json:"frequency_hz"`
}

// ToFSpec is the time-of-flight distance sensor.
type ToFSpec struct {
	I2CDevice
	// NearMM is the presence threshold.
	NearMM int `json:"near_mm"`
}

// Camera sources.
const (
	CameraV4L2      = "v4l2"
	CameraFile      = "file"
	CameraSynthetic = "synthetic"
)

// CameraSpec is the camera.
type CameraSpec struct {
	// Source is CameraV4L2, CameraFile or CameraSynthetic.
	Source string `json:"source"`
	// Device is the V4L2 node (/dev/video0) or the recording's path.
	Device string `json:"device"`
	// Format is "YUYV" or "MJPEG" (v4l2), "RGB24"/"YUYV"/"I420"
	// (synthetic); ignored for files.
	Format string  `json:"format"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
	// Loop plays a recording (CameraFile) again from its first frame when
	// it ends, so a kiosk playing one keeps running sessions; without it
	// the camera ends with the recording.
	Loop bool `json:"loop,omitempty"`
}

// Profile describes one board.
type Profile struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Relay       RelaySpec   `json:"relay"`
	Lights      []LightSpec `json:"lights"`
	PCA9685     PCA9685Spec `json:"pca9685"`
	PIR         Pin         `json:"pir"`
	ToF         ToFSpec     `json:"tof"`
	Status      Pin         `json:"status"`
	Buzzer      Pin         `json:"buzzer"`
	Camera      CameraSpec  `json:"camera"`
	// InferenceThreads is the ONNX Runtime intra-op thread count.
	InferenceThreads int `json:"inference_threads"`
}

// Config overrides parts of a profile. Every field is optional: nil (or an
// empty string for Board) keeps the profile's value. The key in brackets is
// the Profile field a validation error names.
type Config struct {
	// Board is the profile name. Required.
	Board string `json:"board" yaml:"board" toml:"board"`

	RelayPin       *string        `json:"relay_pin" yaml:"relay_pin" toml:"relay_pin"`                      // [relay.name]
	RelayActiveLow *bool          `json:"relay_active_low" yaml:"relay_active_low" toml:"relay_active_low"` // [relay.active_low]
	RelayMaxOn     *time.Duration `json:"relay_max_on" yaml:"relay_max_on" toml:"relay_max_on"`             // [relay.max_on]
	PIRPin         *string        `json:"pir_pin" yaml:"pir_pin" toml:"pir_pin"`                            // [pir.name]; "" removes the PIR
	StatusPin      *string        `json:"status_pin" yaml:"status_pin" toml:"status_pin"`                   // [status.name]
	BuzzerPin      *string        `json:"buzzer_pin" yaml:"buzzer_pin" toml:"buzzer_pin"`                   // [buzzer.name]
	// Lights replaces the profile's whole light list when non-nil.
	Lights           []LightSpec `json:"lights" yaml:"lights" toml:"lights"`                                  // [lights[i].…]
	PCA9685Bus       *string     `json:"pca9685_bus" yaml:"pca9685_bus" toml:"pca9685_bus"`                   // [pca9685.bus]; "" removes it
	PCA9685Addr      *uint16     `json:"pca9685_addr" yaml:"pca9685_addr" toml:"pca9685_addr"`                // [pca9685.addr]
	ToFBus           *string     `json:"tof_bus" yaml:"tof_bus" toml:"tof_bus"`                               // [tof.bus]; "" removes it
	ToFAddr          *uint16     `json:"tof_addr" yaml:"tof_addr" toml:"tof_addr"`                            // [tof.addr]
	ToFNearMM        *int        `json:"tof_near_mm" yaml:"tof_near_mm" toml:"tof_near_mm"`                   // [tof.near_mm]
	CameraSource     *string     `json:"camera_source" yaml:"camera_source" toml:"camera_source"`             // [camera.source]
	CameraDevice     *string     `json:"camera_device" yaml:"camera_device" toml:"camera_device"`             // [camera.device]
	CameraFormat     *string     `json:"camera_format" yaml:"camera_format" toml:"camera_format"`             // [camera.format]
	CameraWidth      *int        `json:"camera_width" yaml:"camera_width" toml:"camera_width"`                // [camera.width]
	CameraHeight     *int        `json:"camera_height" yaml:"camera_height" toml:"camera_height"`             // [camera.height]
	CameraFPS        *float64    `json:"camera_fps" yaml:"camera_fps" toml:"camera_fps"`                      // [camera.fps]
	CameraLoop       *bool       `json:"camera_loop" yaml:"camera_loop" toml:"camera_loop"`                   // [camera.loop]
	InferenceThreads *int        `json:"inference_threads" yaml:"inference_threads" toml:"inference_threads"` // [inference_threads]
}

// ErrUnknownBoard reports a profile name that is not built in.
var ErrUnknownBoard = errors.New("board: unknown board")

// FieldError is one invalid profile field.
type FieldError struct {
	Board   string
	Field   string // the Profile field path, e.g. "relay.max_on", "lights[2].channel"
	Problem string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("board %s: %s: %s", e.Board, e.Field, e.Problem)
}

// Names lists the built-in profiles.
func Names() []string {
	var n []string
	for k := range profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Builtin returns a copy of the built-in profile name, without validation
// or overrides.
func Builtin(name string) (Profile, error) {
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownBoard, name, strings.Join(Names(), ", "))
	}
	p.Lights = append([]LightSpec(nil), p.Lights...)
	return p, nil
}

// Load returns the profile cfg.Board with cfg's overrides, validated.
func Load(cfg Config) (Profile, error) {
	p, err := Builtin(cfg.Board)
	if err != nil {
		return Profile{}, err
	}
	cfg.apply(&p)
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (c Config) apply(p *Profile) {
	set(&p.Relay.Name, c.RelayPin)
	set(&p.Relay.ActiveLow, c.RelayActiveLow)
	set(&p.Relay.MaxOn, c.RelayMaxOn)
	set(&p.PIR.Name, c.PIRPin)
	set(&p.Status.Name, c.StatusPin)
	set(&p.Buzzer.Name, c.BuzzerPin)
	if c.Lights != nil {
		p.Lights = append([]LightSpec(nil), c.Lights...)
	}
	set(&p.PCA9685.Bus, c.PCA9685Bus)
	set(&p.PCA9685.Addr, c.PCA9685Addr)
	set(&p.ToF.Bus, c.ToFBus)
	set(&p.ToF.Addr, c.ToFAddr)
	set(&p.ToF.NearMM, c.ToFNearMM)
	set(&p.Camera.Source, c.CameraSource)
	set(&p.Camera.Device, c.CameraDevice)
	set(&p.Camera.Format, c.CameraFormat)
	set(&p.Camera.Width, c.CameraWidth)
	set(&p.Camera.Height, c.CameraHeight)
	set(&p.Camera.FPS, c.CameraFPS)
	set(&p.Camera.Loop, c.CameraLoop)
	set(&p.InferenceThreads, c.InferenceThreads)
}

// MaxRelayOn is the longest relay maximum on-time a profile may set.
const MaxRelayOn = 30 * time.Second

// Validate checks every field and returns all problems joined, each a
// *FieldError.
func (p Profile) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Board: p.Name, Field: field, Problem: fmt.Sprintf(format, a...)})
	}
	if p.Name == "" {
		bad("name", "required")
	}
	pins := map[string]string{} // pin name → field using it
	usePin := func(field, name string) {
		if name == "" {
			return
		}
		if other, ok := pins[name]; ok {
			bad(field, "pin %s already used by %s", name, other)
			return
		}
		pins[name] = field
	}
	if p.Relay.Name == "" {
		bad("relay.name", "required: the kiosk needs a relay pin")
	}
	usePin("relay.name", p.Relay.Name)
	if p.Relay.MaxOn <= 0 || p.Relay.MaxOn > MaxRelayOn {
		bad("relay.max_on", "%s not within (0, %s]", p.Relay.MaxOn, MaxRelayOn)
	}
	usePin("pir.name", p.PIR.Name)
	usePin("status.name", p.Status.Name)
	usePin("buzzer.name", p.Buzzer.Name)

	validAddr := func(a uint16) bool { return a >= 0x08 && a <= 0x77 }
	for _, b := range []struct{ field, bus string }{{"pca9685.bus", p.PCA9685.Bus}, {"tof.bus", p.ToF.Bus}} {
		if b.bus != "" && (b.bus == SimBus) != (p.Name == "sim") {
			bad(b.field, "bus %q: the in-memory bus %q is the sim board's, and the sim board has only that one", b.bus, SimBus)
		}
	}
	if p.PCA9685.Bus != "" {
		if !validAddr(p.PCA9685.Addr) {
			bad("pca9685.addr", "%#x is not a 7-bit device address (0x08–0x77)", p.PCA9685.Addr)
		}
		if p.PCA9685.FrequencyHz < 24 || p.PCA9685.FrequencyHz > 1526 {
			bad("pca9685.frequency_hz", "%d not within 24–1526", p.PCA9685.FrequencyHz)
		}
	}
	if p.ToF.Bus != "" {
		if !validAddr(p.ToF.Addr) {
			bad("tof.addr", "%#x is not a 7-bit device address (0x08–0x77)", p.ToF.Addr)
		}
		if p.ToF.NearMM <= 0 || p.ToF.NearMM > 2000 {
			bad("tof.near_mm", "%d not within 1–2000", p.ToF.NearMM)
		}
		if p.PCA9685.Bus == p.ToF.Bus && p.PCA9685.Addr == p.ToF.Addr {
			bad("tof.addr", "%#x already used by pca9685 on bus %s", p.ToF.Addr, p.ToF.Bus)
		}
	}

	names := map[string]bool{}
	channels := map[int]string{}
	for i, l := range p.Lights {
		f := func(s string) string { return fmt.Sprintf("lights[%d].%s", i, s) }
		if l.Name == "" {
			bad(f("name"), "required")
		} else if names[l.Name] {
			bad(f("name"), "duplicate light %q", l.Name)
		}
		names[l.Name] = true
		if !(l.MaxDuty > 0 && l.MaxDuty <= 1) || math.IsNaN(l.MaxDuty) {
			bad(f("max_duty"), "%v not within (0, 1]", l.MaxDuty)
		}
		switch l.Driver {
		case LightGPIO, LightPWM:
			if l.Pin.Name == "" {
				bad(f("pin.name"), "required for a %s light", l.Driver)
			}
			usePin(f("pin.name"), l.Pin.Name)
			if l.Driver == LightGPIO && l.MaxDuty != 1 {
				bad(f("max_duty"), "an on/off gpio light cannot limit its duty; use pwm or pca9685 for %v", l.MaxDuty)
			}
			if l.Driver == LightPWM && l.FrequencyHz <= 0 {
				bad(f("frequency_hz"), "must be positive")
			}
		case LightPCA9685:
			if p.PCA9685.Bus == "" {
				bad(f("driver"), "pca9685 light but the board has no pca9685")
			}
			if l.Channel < 0 || l.Channel > 15 {
				bad(f("channel"), "%d not within 0–15", l.Channel)
			} else if other, ok := channels[l.Channel]; ok {
				bad(f("channel"), "output %d already used by %s", l.Channel, other)
			}
			channels[l.Channel] = f("channel")
		default:
			bad(f("driver"), "%q is not gpio, pwm or pca9685", l.Driver)
		}
	}

	c := p.Camera
	switch c.Source {
	case CameraV4L2:
		if c.Device == "" {
			bad("camera.device", "required for a v4l2 camera")
		}
		if c.Format != "YUYV" && c.Format != "MJPEG" {
			bad("camera.format", "%q is not YUYV or MJPEG", c.Format)
		}
	case CameraFile:
		if c.Device == "" {
			bad("camera.device", "required: the recording's path")
		}
	case CameraSynthetic:
		if c.Format != "" && c.Format != "RGB24" && c.Format != "YUYV" && c.Format != "I420" {
			bad("camera.format", "%q is not RGB24, YUYV or I420", c.Format)
		}
	default:
		bad("camera.source", "%q is not v4l2, file or synthetic", c.Source)
	}
	if c.Loop && c.Source != CameraFile {
		bad("camera.loop", "only a recording (source file) loops, not a %s camera", c.Source)
	}
	if c.Source != CameraFile {
		if c.Width <= 0 || c.Height <= 0 {
			bad("camera.width", "size %dx%d must be positive", c.Width, c.Height)
		}
		if c.FPS <= 0 || c.FPS > 240 {
			bad("camera.fps", "%v not within (0, 240]", c.FPS)
		}
	}
	if p.InferenceThreads < 1 || p.InferenceThreads > 64 {
		bad("inference_threads", "%d not within 1–64", p.InferenceThreads)
	}
	return errors.Join(errs...)
}
