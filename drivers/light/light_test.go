package light

import (
	"errors"
	"math"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
)

func TestGPIO(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		p := &gpiotest.Pin{N: "GPIO5"}
		l, err := NewGPIO("status", p, activeLow)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.Read(), gpio.Level(activeLow); got != want {
			t.Fatalf("activeLow=%v: pin after New = %v, want %v (off)", activeLow, got, want)
		}
		if err := drivers.On(l); err != nil {
			t.Fatal(err)
		}
		if got, want := p.Read(), gpio.Level(!activeLow); got != want || l.Brightness() != 1 {
			t.Fatalf("activeLow=%v: on: pin %v want %v, brightness %v", activeLow, got, want, l.Brightness())
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := p.Read(), gpio.Level(activeLow); got != want || l.Brightness() != 0 {
			t.Fatalf("activeLow=%v: after Close pin %v want %v", activeLow, got, want)
		}
	}
}

func TestPWM(t *testing.T) {
	tests := []struct {
		name      string
		max       float64
		activeLow bool
		set       float64
		wantB     float64
		wantDuty  gpio.Duty
		wantLevel gpio.Level // checked when wantDuty == 0
		wantErr   error
	}{
		{name: "half", max: 1, set: 0.5, wantB: 0.5, wantDuty: gpio.DutyHalf},
		{name: "clamped to rated max", max: 0.25, set: 0.9, wantB: 0.25, wantDuty: gpio.DutyMax / 4},
		{name: "full on uses Out", max: 1, set: 1, wantB: 1, wantLevel: gpio.High},
		{name: "off uses Out", max: 1, set: 0, wantB: 0, wantLevel: gpio.Low},
		{name: "active low inverts", max: 0.5, activeLow: true, set: 0.25, wantB: 0.25, wantDuty: gpio.DutyMax * 3 / 4},
		{name: "active low off drives high", max: 0.5, activeLow: true, set: 0, wantB: 0, wantLevel: gpio.High},
		{name: "above 1 rejected", max: 1, set: 1.5, wantErr: drivers.ErrBrightness},
		{name: "negative rejected", max: 1, set: -0.1, wantErr: drivers.ErrBrightness},
		{name: "NaN rejected", max: 1, set: math.NaN(), wantErr: drivers.ErrBrightness},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &gpiotest.Pin{N: "PWM0"}
			l, err := NewPWM("ir", p, PWMOpts{MaxDuty: tt.max, ActiveLow: tt.activeLow, Frequency: 2 * physic.KiloHertz})
			if err != nil {
				t.Fatal(err)
			}
			err = l.SetBrightness(tt.set)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if l.Brightness() != 0 {
					t.Fatalf("brightness changed on error: %v", l.Brightness())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Brightness() != tt.wantB {
				t.Fatalf("brightness = %v, want %v", l.Brightness(), tt.wantB)
			}
			p.Lock()
			d, f, lv := p.D, p.F, p.L
			p.Unlock()
			if tt.wantDuty != 0 {
				if d != tt.wantDuty || f != 2*physic.KiloHertz {
					t.Fatalf("PWM = %v @ %v, want %v @ 2kHz", d, f, tt.wantDuty)
				}
			} else if lv != tt.wantLevel {
				t.Fatalf("level = %v, want %v", lv, tt.wantLevel)
			}
		})
	}
}

func TestPWMRejectsBadMax(t *testing.T) {
	for _, m := range []float64{0, -1, 1.01, math.NaN()} {
		if _, err := NewPWM("ir", &gpiotest.Pin{}, PWMOpts{MaxDuty: m}); !errors.Is(err, ErrMaxDuty) {
			t.Errorf("max %v: err = %v, want ErrMaxDuty", m, err)
		}
	}
}

func TestPWMLogsOverTime(t *testing.T) {
	clk := drivertest.NewClock(time.Unix(0, 0))
	log := drivertest.NewLog(clk)
	l, err := NewPWM("white", &drivertest.Pin{PinIO: &gpiotest.Pin{N: "PWM1"}, Device: "white", Log: log}, PWMOpts{MaxDuty: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	_ = l.SetBrightness(0.5)
	clk.Advance(time.Second)
	_ = l.SetBrightness(1)
	ev := log.Events("white")
	want := []struct {
		at   time.Duration
		kind string
		v    float64
	}{{0, "level", 0}, {time.Second, "duty", 0.5}, {2 * time.Second, "duty", 0.8}}
	if len(ev) != len(want) {
		t.Fatalf("events:\n%s", log)
	}
	for i, w := range want {
		if ev[i].Time.Sub(time.Unix(0, 0)) != w.at || ev[i].Kind != w.kind || math.Abs(ev[i].Value-w.v) > 1e-6 {
			t.Errorf("event %d = %v, want %v %s=%v", i, ev[i], w.at, w.kind, w.v)
		}
	}
}
