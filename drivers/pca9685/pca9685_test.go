package pca9685_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
	. "livegate.dev/drivers/pca9685"
	"livegate.dev/drivers/pca9685/pca9685test"
)

func noSettle(time.Duration) {}

// initOps is New's bus traffic at 0x40 and 1 kHz, from a chip in its
// power-on state (MODE1 = 0x11).
var initOps = []i2ctest.IO{
	{Addr: 0x40, W: []byte{RegAllOffH, FullBit}},
	{Addr: 0x40, W: []byte{RegMode2, Mode2OutDrv}},
	{Addr: 0x40, W: []byte{RegMode1}, R: []byte{0x11}},
	{Addr: 0x40, W: []byte{RegMode1, 0x31}},    // AI|SLEEP|ALLCALL
	{Addr: 0x40, W: []byte{RegPreScale, 0x05}}, // 25 MHz / (4096 × 1 kHz) − 1
	{Addr: 0x40, W: []byte{RegMode1, 0x21}},    // wake
	{Addr: 0x40, W: []byte{RegMode1, 0xA1}},    // restart
}

func sessionOps() []i2ctest.IO {
	ops := append([]i2ctest.IO(nil), initOps...)
	return append(ops,
		i2ctest.IO{Addr: 0x40, W: []byte{0x12, 0, 0, 0, FullBit}}, // Channel(3): off
		i2ctest.IO{Addr: 0x40, W: []byte{0x12, 0, 0, 0x00, 0x04}}, // 0.25 → 1024
		i2ctest.IO{Addr: 0x40, W: []byte{0x12, 0, 0, 0x00, 0x08}}, // 0.9 clamped to 0.5 → 2048
		i2ctest.IO{Addr: 0x40, W: []byte{0x06, 0, 0, 0, FullBit}}, // Channel(0): off
		i2ctest.IO{Addr: 0x40, W: []byte{0x06, 0, FullBit, 0, 0}}, // full on
		i2ctest.IO{Addr: 0x40, W: []byte{0xFA, 0, 0, 0, FullBit}}, // AllOff
	)
}

func drive(t *testing.T, d *Dev) {
	t.Helper()
	red, err := d.Channel(3, "red", 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if err := red.SetBrightness(0.25); err != nil {
		t.Fatal(err)
	}
	if err := red.SetBrightness(0.9); err != nil {
		t.Fatal(err)
	}
	if red.Brightness() != 0.5 {
		t.Fatalf("red brightness = %v, want clamped 0.5", red.Brightness())
	}
	ir, err := d.Channel(0, "ir", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := drivers.On(ir); err != nil {
		t.Fatal(err)
	}
	if err := d.AllOff(); err != nil {
		t.Fatal(err)
	}
}

func TestPlayback(t *testing.T) {
	bus := &i2ctest.Playback{Ops: sessionOps(), DontPanic: true}
	d, err := New(bus, Opts{Settle: noSettle})
	if err != nil {
		t.Fatal(err)
	}
	drive(t, d)
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestEmulatorMatchesPlayback records the driver against the in-memory chip
// and checks the traffic is the recorded one: the emulator and the playback
// describe the same chip.
func TestEmulatorMatchesPlayback(t *testing.T) {
	clk := drivertest.NewClock(time.Unix(0, 0))
	log := drivertest.NewLog(clk)
	chip := pca9685test.New(0x40, log)
	rec := &i2ctest.Record{Bus: chip}
	d, err := New(rec, Opts{Settle: noSettle})
	if err != nil {
		t.Fatal(err)
	}
	if got := chip.Frequency(); got < 990*physic.Hertz || got > 1020*physic.Hertz {
		t.Fatalf("chip frequency = %s", got)
	}
	red, err := d.Channel(3, "red", 0.5)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	_ = red.SetBrightness(0.25)
	if got := chip.Duty(3); got != 0.25 {
		t.Fatalf("chip duty = %v", got)
	}
	clk.Advance(time.Second)
	_ = red.SetBrightness(0.9)
	ir, _ := d.Channel(0, "ir", 1)
	_ = drivers.On(ir)
	if got := chip.Duty(0); got != 1 {
		t.Fatalf("ir duty = %v", got)
	}
	_ = d.AllOff()
	if !reflect.DeepEqual(rec.Ops, sessionOps()) {
		t.Fatalf("recorded traffic differs:\n got %#v\nwant %#v", rec.Ops, sessionOps())
	}
	want := []drivertest.Event{
		{Time: time.Unix(1, 0), Device: "pca9685/3", Kind: "duty", Value: 0.25},
		{Time: time.Unix(2, 0), Device: "pca9685/3", Kind: "duty", Value: 0.5},
		{Time: time.Unix(2, 0), Device: "pca9685/0", Kind: "duty", Value: 1},
		{Time: time.Unix(2, 0), Device: "pca9685/0", Kind: "duty", Value: 0},
		{Time: time.Unix(2, 0), Device: "pca9685/3", Kind: "duty", Value: 0},
	}
	if got := log.Events(); !reflect.DeepEqual(got, want) {
		t.Fatalf("log:\n%s", log)
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if chip.Register(RegMode1)&Mode1Sleep == 0 {
		t.Fatal("Halt did not put the chip to sleep")
	}
}

func TestSetFrequency(t *testing.T) {
	chip := pca9685test.New(0x41, nil)
	d, err := New(chip, Opts{Addr: 0x41, Frequency: 200 * physic.Hertz, Settle: noSettle})
	if err != nil {
		t.Fatal(err)
	}
	if chip.Register(RegPreScale) != 30 {
		t.Fatalf("prescale = %d, want 30", chip.Register(RegPreScale))
	}
	if err := d.SetFrequency(1500 * physic.Hertz); err != nil {
		t.Fatal(err)
	}
	if chip.Register(RegPreScale) != 3 || d.Frequency() != 1500*physic.Hertz {
		t.Fatalf("prescale = %d", chip.Register(RegPreScale))
	}
	if chip.Register(RegMode1)&Mode1Sleep != 0 {
		t.Fatal("left asleep")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		f    physic.Frequency
		want error
	}{
		{"too slow", 10 * physic.Hertz, ErrFrequency},
		{"too fast", 2 * physic.KiloHertz, ErrFrequency},
		{"negative", -1, ErrFrequency},
	}
	for _, tt := range tests {
		if _, err := New(pca9685test.New(0x40, nil), Opts{Frequency: tt.f, Settle: noSettle}); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := New(pca9685test.New(0x40, nil), Opts{Addr: 0x42, Settle: noSettle}); err == nil {
		t.Error("New at an absent address succeeded")
	}
	d, err := New(pca9685test.New(0x40, nil), Opts{Settle: noSettle})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n   int
		max float64
	}{{16, 1}, {-1, 1}, {0, 0}, {0, 1.5}} {
		if _, err := d.Channel(c.n, "x", c.max); err == nil {
			t.Errorf("Channel(%d, %v) succeeded", c.n, c.max)
		}
	}
	if _, err := d.Channel(5, "a", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Channel(5, "b", 1); err == nil {
		t.Error("output taken twice")
	}
}

func TestRegisters(t *testing.T) {
	for _, tt := range []struct {
		ticks int
		want  [4]byte
	}{{0, [4]byte{0, 0, 0, 0x10}}, {1, [4]byte{0, 0, 1, 0}}, {4095, [4]byte{0, 0, 0xFF, 0x0F}}, {4096, [4]byte{0, 0x10, 0, 0}}} {
		if got := Registers(tt.ticks); got != tt.want {
			t.Errorf("Registers(%d) = %v, want %v", tt.ticks, got, tt.want)
		}
	}
}
