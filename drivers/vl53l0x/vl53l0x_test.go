package vl53l0x_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
	. "livegate.dev/drivers/vl53l0x"
	"livegate.dev/drivers/vl53l0x/vl53l0xtest"
)

func w(b ...byte) i2ctest.IO { return i2ctest.IO{Addr: 0x29, W: b} }
func rd(reg byte, r ...byte) i2ctest.IO {
	return i2ctest.IO{Addr: 0x29, W: []byte{reg}, R: r}
}

// initOps is New's traffic with a sensor that reports every calibration
// sample ready on the first status read.
var initOps = []i2ctest.IO{
	rd(0xC0, 0xEE),
	w(0x88, 0x00),
	w(0x80, 0x01), w(0xFF, 0x01), w(0x00, 0x00),
	rd(0x91, 0x3C),
	w(0x00, 0x01), w(0xFF, 0x00), w(0x80, 0x00),
	rd(0x60, 0x00), w(0x60, 0x12),
	w(0x44, 0x00, 0x20),
	w(0x0A, 0x04),
	rd(0x84, 0x11), w(0x84, 0x01),
	w(0x0B, 0x01),
	w(0x01, 0x01), w(0x00, 0x41), rd(0x13, 0x04), w(0x0B, 0x01), w(0x00, 0x00),
	w(0x01, 0x02), w(0x00, 0x01), rd(0x13, 0x04), w(0x0B, 0x01), w(0x00, 0x00),
	w(0x01, 0xE8),
}

// measureOps is one single-shot ranging that sees mm with device status st.
func measureOps(st byte, mm int) []i2ctest.IO {
	res := make([]byte, 12)
	res[0] = st << 3
	res[10], res[11] = byte(mm>>8), byte(mm)
	return []i2ctest.IO{
		w(0x80, 0x01), w(0xFF, 0x01), w(0x00, 0x00), w(0x91, 0x3C), w(0x00, 0x01), w(0xFF, 0x00), w(0x80, 0x00),
		w(0x00, 0x01),
		rd(0x00, 0x00),
		rd(0x13, 0x04),
		{Addr: 0x29, W: []byte{0x14}, R: res},
		w(0x0B, 0x01),
	}
}

func TestPlayback(t *testing.T) {
	var ops []i2ctest.IO
	ops = append(ops, initOps...)
	ops = append(ops, measureOps(11, 432)...)
	ops = append(ops, measureOps(4, 8190)...)
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	clk := drivertest.NewClock(time.Unix(0, 0))
	d, err := New(context.Background(), bus, Opts{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mm, err := d.DistanceMM(context.Background())
	if err != nil || mm != 432 {
		t.Fatalf("distance = %d, %v; want 432", mm, err)
	}
	if _, err := d.DistanceMM(context.Background()); !errors.Is(err, drivers.ErrOutOfRange) {
		t.Fatalf("err = %v, want ErrOutOfRange", err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestEmulatorMatchesPlayback records the driver against the in-memory
// sensor: the emulator must produce exactly the recorded traffic.
func TestEmulatorMatchesPlayback(t *testing.T) {
	chip := vl53l0xtest.New(0x29, nil, "tof")
	chip.SetDistance(432)
	rec := &i2ctest.Record{Bus: chip}
	d, err := New(context.Background(), rec, Opts{Clock: drivertest.NewClock(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	if mm, err := d.DistanceMM(context.Background()); err != nil || mm != 432 {
		t.Fatalf("distance = %d, %v", mm, err)
	}
	chip.SetDistance(0)
	if _, err := d.DistanceMM(context.Background()); !errors.Is(err, drivers.ErrOutOfRange) {
		t.Fatalf("err = %v", err)
	}
	want := append(append(append([]i2ctest.IO(nil), initOps...), measureOps(11, 432)...), measureOps(4, 8190)...)
	if !reflect.DeepEqual(rec.Ops, want) {
		t.Fatalf("traffic differs:\n got %v\nwant %v", rec.Ops, want)
	}
}

func TestPollingOnClock(t *testing.T) {
	chip := vl53l0xtest.New(0x29, nil, "tof")
	clk := drivertest.NewClock(time.Unix(0, 0))
	d, err := New(context.Background(), chip, Opts{Clock: clk, Poll: 10 * time.Millisecond, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	chip.SetDistance(250)
	chip.SetReadyAfter(2)
	type res struct {
		mm  int
		err error
	}
	ch := make(chan res, 1)
	go func() { mm, err := d.DistanceMM(context.Background()); ch <- res{mm, err} }()
	for i := 0; i < 2; i++ {
		if !clk.WaitForWaiters(1, 5*time.Second) {
			t.Fatal("no poll wait")
		}
		clk.Advance(10 * time.Millisecond)
	}
	if r := <-ch; r.err != nil || r.mm != 250 {
		t.Fatalf("got %+v", r)
	}
	// A sample that never comes times out after Timeout on the clock.
	chip.SetReadyAfter(1000)
	go func() { mm, err := d.DistanceMM(context.Background()); ch <- res{mm, err} }()
	for i := 0; i < 5; i++ {
		if !clk.WaitForWaiters(1, 5*time.Second) {
			t.Fatal("no poll wait")
		}
		clk.Advance(10 * time.Millisecond)
	}
	if r := <-ch; !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", r.err)
	}
}

func TestWrongChip(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{rd(0xC0, 0xAA)}, DontPanic: true}
	if _, err := New(context.Background(), bus, Opts{}); !errors.Is(err, ErrNotVL53L0X) {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(context.Background(), vl53l0xtest.New(0x30, nil, ""), Opts{}); err == nil {
		t.Fatal("absent device accepted")
	}
}
