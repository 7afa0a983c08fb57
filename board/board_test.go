package board

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestBuiltinProfilesValid(t *testing.T) {
	want := []string{"imx8mp", "rk3588", "rpi4", "rpi5", "sim"}
	if got := Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Names() = %v", got)
	}
	for _, n := range want {
		p, err := Load(Config{Board: n})
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if p.Name != n || len(p.Lights) == 0 || p.Relay.MaxOn <= 0 {
			t.Errorf("%s: incomplete profile %+v", n, p)
		}
	}
	if _, err := Load(Config{Board: "pi3"}); !errors.Is(err, ErrUnknownBoard) {
		t.Errorf("unknown board: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestConfigOverrides(t *testing.T) {
	p, err := Load(Config{Board: "rpi4", RelayPin: ptr("GPIO5"), RelayActiveLow: ptr(true), RelayMaxOn: ptr(time.Second),
		PIRPin: ptr(""), CameraFormat: ptr("MJPEG"), CameraWidth: ptr(1280), CameraHeight: ptr(720), InferenceThreads: ptr(2)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Relay != (RelaySpec{Pin: Pin{Name: "GPIO5", ActiveLow: true}, MaxOn: time.Second}) || p.PIR.Name != "" ||
		p.Camera.Format != "MJPEG" || p.Camera.Width != 1280 || p.InferenceThreads != 2 {
		t.Fatalf("overrides not applied: %+v", p)
	}
	// The built-in profile is untouched.
	if b, _ := Builtin("rpi4"); b.Relay.Name != "GPIO17" {
		t.Fatal("override leaked into the built-in profile")
	}
}

func TestValidationNamesField(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"relay max on zero", Config{Board: "rpi4", RelayMaxOn: ptr(time.Duration(0))}, "relay.max_on"},
		{"relay max on too long", Config{Board: "rpi4", RelayMaxOn: ptr(time.Minute)}, "relay.max_on"},
		{"relay pin missing", Config{Board: "rpi4", RelayPin: ptr("")}, "relay.name"},
		{"pin reused", Config{Board: "rpi4", StatusPin: ptr("GPIO17")}, "status.name"},
		{"pca9685 address", Config{Board: "rpi5", PCA9685Addr: ptr(uint16(0x80))}, "pca9685.addr"},
		{"tof clashes with pca9685", Config{Board: "rpi4", ToFAddr: ptr(uint16(0x40))}, "tof.addr"},
		{"tof threshold", Config{Board: "rpi4", ToFNearMM: ptr(0)}, "tof.near_mm"},
		{"pca light without chip", Config{Board: "rpi4", PCA9685Bus: ptr("")}, "lights[1].driver"},
		{"duplicate channel", Config{Board: "rpi4", Lights: []LightSpec{
			{Name: "a", Driver: LightPCA9685, Channel: 1, MaxDuty: 0.5}, {Name: "b", Driver: LightPCA9685, Channel: 1, MaxDuty: 0.5}}}, "lights[1].channel"},
		{"duplicate light", Config{Board: "rpi4", Lights: []LightSpec{
			{Name: "a", Driver: LightPCA9685, Channel: 1, MaxDuty: 0.5}, {Name: "a", Driver: LightPCA9685, Channel: 2, MaxDuty: 0.5}}}, "lights[1].name"},
		{"max duty above 1", Config{Board: "rpi4", Lights: []LightSpec{{Name: "ir", Driver: LightPCA9685, Channel: 3, MaxDuty: 1.2}}}, "lights[0].max_duty"},
		{"gpio light cannot limit duty", Config{Board: "rpi4", Lights: []LightSpec{{Name: "ir", Driver: LightGPIO, Pin: Pin{Name: "GPIO5"}, MaxDuty: 0.5}}}, "lights[0].max_duty"},
		{"pwm light without frequency", Config{Board: "rpi4", Lights: []LightSpec{{Name: "w", Driver: LightPWM, Pin: Pin{Name: "GPIO5"}, MaxDuty: 0.5}}}, "lights[0].frequency_hz"},
		{"light pin reused", Config{Board: "rpi4", Lights: []LightSpec{{Name: "w", Driver: LightGPIO, Pin: Pin{Name: "GPIO22"}, MaxDuty: 1}}}, "lights[0].pin.name"},
		{"unknown light driver", Config{Board: "rpi4", Lights: []LightSpec{{Name: "w", Driver: "dmx", MaxDuty: 1}}}, "lights[0].driver"},
		{"camera format", Config{Board: "rpi4", CameraFormat: ptr("H264")}, "camera.format"},
		{"camera source", Config{Board: "rpi4", CameraSource: ptr("rtsp")}, "camera.source"},
		{"camera file needs path", Config{Board: "sim", CameraSource: ptr("file")}, "camera.device"},
		{"camera fps", Config{Board: "sim", CameraFPS: ptr(0.0)}, "camera.fps"},
		{"only a recording loops", Config{Board: "sim", CameraLoop: ptr(true)}, "camera.loop"},
		{"sim bus on a real board", Config{Board: "rpi4", PCA9685Bus: ptr("sim")}, "pca9685.bus"},
		{"real bus on the sim", Config{Board: "sim", ToFBus: ptr("1")}, "tof.bus"},
		{"threads", Config{Board: "rk3588", InferenceThreads: ptr(0)}, "inference_threads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.cfg)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func openSim(t *testing.T, cfg Config) (*Board, *drivertest.Clock) {
	t.Helper()
	cfg.Board = "sim"
	p, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clk := drivertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b, err := Open(context.Background(), p, Opts{Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, clk
}

func TestSimOpensEverything(t *testing.T) {
	b, _ := openSim(t, Config{})
	for _, r := range b.Report.Parts {
		if r.State != Loaded {
			t.Errorf("%v", r)
		}
	}
	if err := b.Require("relay", "camera", "presence", "distance", "status", "buzzer", "light white", "light red", "light ir"); err != nil {
		t.Fatal(err)
	}
	if b.Sim == nil || len(b.Lights) != 5 {
		t.Fatalf("lights %v", b.Lights)
	}
	if r, _ := b.Report.Part("camera"); !strings.Contains(r.Detail, "RGB24 640x480@30") {
		t.Fatalf("camera: %v", r)
	}
}

func TestSimRelayAndLightsLogged(t *testing.T) {
	b, clk := openSim(t, Config{RelayActiveLow: ptr(true)})
	done := make(chan drivers.PulseReport, 1)
	go func() {
		rep, err := b.Relay.Pulse(context.Background(), 10*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	if !clk.WaitForWaiters(1, 5*time.Second) {
		t.Fatal("relay pulse did not start")
	}
	clk.Advance(3 * time.Second)
	if rep := <-done; !rep.Clipped || rep.Applied != 3*time.Second {
		t.Fatalf("report %+v", rep)
	}
	pulses := b.Sim.RelayPulses()
	if len(pulses) != 1 || pulses[0].End.Sub(pulses[0].Start) != 3*time.Second {
		t.Fatalf("pulses %+v\n%s", pulses, b.Sim.Log)
	}
	// Active low: idle level is high.
	if b.Sim.Pin("GPIO17").Read() != true {
		t.Fatal("active-low relay not idle high")
	}

	clk.Advance(time.Second)
	_ = b.Lights["red"].SetBrightness(1) // clamped to 0.6
	_ = b.Lights["white"].SetBrightness(0.5)
	clk.Advance(time.Second)
	_ = drivers.Off(b.Lights["red"])
	red := b.Sim.LightTrace("red")
	if len(red) != 2 || red[0].Brightness < 0.59 || red[0].Brightness > 0.6 || red[1].Brightness != 0 || red[1].Time.Sub(red[0].Time) != time.Second {
		t.Fatalf("red trace %+v\n%s", red, b.Sim.Log)
	}
	if w := b.Sim.LightTrace("white"); len(w) != 2 || w[1].Brightness != 0.5 {
		t.Fatalf("white trace %+v", w)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Sim.PCA9685.Duty(0) != 0 || b.Sim.Pin("GPIO17").Read() != true {
		t.Fatal("Close left a light or the relay on")
	}
}

func TestSimPresenceAndDistance(t *testing.T) {
	b, _ := openSim(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := b.Presence.Next(ctx)
	if err != nil || ev.Present {
		t.Fatalf("initial %+v %v", ev, err)
	}
	b.Sim.SetPresence(true, 450)
	if ev, err = b.Presence.Next(ctx); err != nil || !ev.Present {
		t.Fatalf("arrive %+v %v", ev, err)
	}
	if mm, err := b.Distance.DistanceMM(ctx); err != nil || mm != 450 {
		t.Fatalf("distance %d %v", mm, err)
	}
	b.Sim.SetPresence(false, 0)
	if ev, err = b.Presence.Next(ctx); err != nil || ev.Present {
		t.Fatalf("leave %+v %v", ev, err)
	}
	if _, err := b.Distance.DistanceMM(ctx); !errors.Is(err, drivers.ErrOutOfRange) {
		t.Fatalf("distance after leaving: %v", err)
	}
	// Nobody reading: many changes must not block, and the last one wins.
	for i := 0; i < 100; i++ {
		b.Sim.SetPresence(i%2 == 1, 300)
	}
	if ev, err = b.Presence.Next(ctx); err != nil || !ev.Present {
		t.Fatalf("after burst %+v %v", ev, err)
	}
	if b.Sim.Pin("GPIO27").Read() != true {
		t.Fatal("PIR pin not at the last level")
	}
}

func TestSimCameraReflectsLights(t *testing.T) {
	b, clk := openSim(t, Config{CameraWidth: ptr(64), CameraHeight: ptr(48)})
	frame := func() []byte {
		ch := make(chan []byte, 1)
		go func() {
			f, err := b.Camera.Next(context.Background())
			if err != nil {
				t.Error(err)
			}
			ch <- f.Clone().Data
		}()
		for {
			select {
			case d := <-ch:
				return d
			default:
			}
			if clk.WaitForWaiters(1, 10*time.Millisecond) {
				clk.Advance(time.Second / 30)
			}
		}
	}
	dark := frame()
	_ = b.Lights["blue"].SetBrightness(1)
	lit := frame()
	// Sum the blue excess over red across the frame: it must rise.
	excess := func(d []byte) int {
		s := 0
		for i := 0; i < len(d); i += 3 {
			s += int(d[i+2]) - int(d[i])
		}
		return s
	}
	if excess(lit) <= excess(dark)+64*48*5 {
		t.Fatalf("blue light not seen: %d vs %d", excess(lit), excess(dark))
	}
}

func TestRealProfileWithoutHardware(t *testing.T) {
	p, err := Load(Config{Board: "rpi4", CameraDevice: ptr("/dev/video-livegate-none")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), p, Opts{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if len(b.Report.Host) == 0 {
		t.Fatal("no host.Init results")
	}
	r, ok := b.Report.Part("relay")
	if !ok {
		t.Fatal("no relay result")
	}
	if b.Relay != nil {
		t.Skip("this machine has GPIO17: a real GPIO host")
	}
	if r.State != Skipped || !strings.Contains(r.Detail, "GPIO17") {
		t.Fatalf("relay result %v", r)
	}
	if c, _ := b.Report.Part("camera"); c.State != Skipped || !strings.Contains(c.Detail, "/dev/video-livegate-none") {
		t.Fatalf("camera result %v", c)
	}
	err = b.Require("relay", "camera")
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "relay (skipped pin GPIO17") {
		t.Fatalf("Require: %v", err)
	}
	t.Logf("report on this machine:\n%s", b.Report)
}

// A killed kiosk leaves the relay pin energised; the next start finds it so
// and drives it off before anything else.
func TestSimStateSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	p, _ := Load(Config{Board: "sim"})
	clk := drivertest.NewClock(time.Unix(0, 0))
	b1, err := Open(context.Background(), p, Opts{Clock: clk, Logger: quiet, SimStateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b1.Sim.Restored("GPIO17"); ok {
		t.Fatal("restored a level on the first start")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _, _ = b1.Relay.Pulse(ctx, time.Second); close(done) }()
	if !clk.WaitForWaiters(1, 5*time.Second) {
		t.Fatal("pulse did not start")
	}
	// "kill -9": the process is gone mid-pulse; nothing runs Close.
	b2, err := Open(context.Background(), p, Opts{Clock: drivertest.NewClock(time.Unix(0, 0)), Logger: quiet, SimStateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if l, ok := b2.Sim.Restored("GPIO17"); !ok || l != true {
		t.Fatalf("restored relay level %v %v, want energised", l, ok)
	}
	if b2.Sim.Pin("GPIO17").Read() != false {
		t.Fatal("relay not driven off at restart")
	}
	if ev := b2.Sim.Log.Events("relay"); len(ev) != 1 || ev[0].Value != 0 {
		t.Fatalf("restart log %v", ev)
	}
	cancel() // let the first board's goroutine end for goleak
	<-done
	b1.Close()
}

func TestSimFileCamera(t *testing.T) {
	missing := t.TempDir() + "/none.y4m"
	b, _ := openSim(t, Config{CameraSource: ptr(CameraFile), CameraDevice: &missing})
	r, _ := b.Report.Part("camera")
	if r.State != Failed || b.Camera != nil {
		t.Fatalf("camera %v", r)
	}
	if err := b.Require("camera"); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("Require: %v", err)
	}
	if err := b.Require("relay", "light white"); err != nil {
		t.Fatalf("other parts: %v", err)
	}
}

// TestSimFileCameraLoop plays a two-frame recording on the sim: without
// camera_loop the camera ends with it (io.EOF, which stops a kiosk); with
// it the first frame comes again, so the kiosk runs on.
func TestSimFileCameraLoop(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "two.y4m")
	// 4×2 I420 frames: 8 luma bytes and 2+2 chroma bytes each.
	data := "YUV4MPEG2 W4 H2 F10:1 C420jpeg\n"
	for _, y := range []string{"\x10", "\xf0"} {
		data += "FRAME\n" + strings.Repeat(y, 8) + strings.Repeat("\x80", 4)
	}
	if err := os.WriteFile(clip, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	play := func(loop bool, n int) ([]byte, error) {
		b, clk := openSim(t, Config{CameraSource: ptr(CameraFile), CameraDevice: &clip, CameraFPS: ptr(0.0), CameraLoop: ptr(loop)})
		var luma []byte
		for i := 0; i < n; i++ {
			f, err := b.Camera.Next(context.Background())
			if err != nil {
				return luma, err
			}
			luma = append(luma, f.Data[0])
			clk.Advance(100 * time.Millisecond) // the next frame is due
		}
		return luma, nil
	}
	if got, err := play(false, 3); !errors.Is(err, io.EOF) || !bytes.Equal(got, []byte{0x10, 0xf0}) {
		t.Fatalf("without loop: frames %x, err %v; want 10f0 then io.EOF", got, err)
	}
	if got, err := play(true, 5); err != nil || !bytes.Equal(got, []byte{0x10, 0xf0, 0x10, 0xf0, 0x10}) {
		t.Fatalf("with loop: frames %x, err %v; want 10f010f010", got, err)
	}
}
