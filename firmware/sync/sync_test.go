package sync

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/firmware/outbox"
	"livegate.dev/proto"
)

func TestCredentialsFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	in := &Credentials{DeviceID: "k1", BrokerURL: "ssl://x:8883", Username: "k1", Password: "secret",
		KeyPEM: []byte("key"), CertPEM: []byte("cert"), CAPEM: []byte("ca")}
	if err := SaveCredentials(dir, in); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"device.json", "device.key", "device.crt", "ca.crt"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v", f, fi.Mode().Perm(), err)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Fatalf("%d files (temp files left?)", len(entries))
	}
	out, err := LoadCredentials(dir)
	if err != nil || out.Password != "secret" || string(out.KeyPEM) != "key" || string(out.CAPEM) != "ca" {
		t.Fatalf("load: %+v %v", out, err)
	}
	os.Chmod(filepath.Join(dir, "device.key"), 0o644)
	if _, err := LoadCredentials(dir); err == nil {
		t.Fatal("a key readable by others was accepted")
	}
}

func TestClockSkew(t *testing.T) {
	base := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		samples   [][3]time.Duration // sent, recv (device), cloud stamp, relative to base
		want      time.Duration
		wantValid bool
	}{
		{"device 2s ahead", [][3]time.Duration{{0, 100 * time.Millisecond, -1950 * time.Millisecond}}, 2 * time.Second, true},
		{"shortest round trip wins", [][3]time.Duration{
			{0, 100 * time.Millisecond, 50 * time.Millisecond},
			{time.Second, time.Second + 900*time.Millisecond, time.Second}, // rtt 900ms, would give +450ms
		}, 0, true},
		{"no cloud time", [][3]time.Duration{{0, time.Millisecond, -1 << 62}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{}
			for _, s := range tt.samples {
				cloud := base.Add(s[2])
				if s[2] == -1<<62 {
					cloud = time.Time{}
				}
				c.measureSkew(base.Add(s[0]), base.Add(s[1]), cloud)
			}
			got, ok := c.ClockSkew()
			if ok != tt.wantValid || got != tt.want {
				t.Fatalf("skew %v, %v; want %v, %v", got, ok, tt.want, tt.wantValid)
			}
		})
	}
}

type fakeClock struct{ now time.Time }

func (f *fakeClock) Now() time.Time                       { return f.now }
func (f *fakeClock) After(time.Duration) <-chan time.Time { return nil }

func TestSubmitAndTelemetry(t *testing.T) {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	clk := &fakeClock{now: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	c, err := New(Config{DeviceID: "k1", BrokerURL: "tcp://127.0.0.1:1", Outbox: ob, Clock: clk, FirmwareVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	r := proto.SessionResult{SessionID: "s1", Mode: "active", Verdict: "pass", Confidence: 0.9, DecidedAt: clk.now}
	if _, err := c.Submit(&r); err != nil {
		t.Fatal(err)
	}
	bad := r
	bad.Verdict = "maybe"
	if _, err := c.Submit(&bad); err == nil {
		t.Fatal("invalid result queued")
	}
	r.SessionID = "s2"
	c.Submit(&r)
	r.SessionID = "s3"
	if _, err := c.Submit(&r); err == nil {
		t.Fatal("submit into a full outbox succeeded")
	}
	c.started = clk.now
	clk.now = clk.now.Add(90 * time.Second)
	tel := c.TelemetryNow()
	if tel.OutboxDepth != 2 || tel.UptimeSeconds != 90 || tel.FirmwareVersion != "1.0" {
		t.Fatalf("telemetry %+v", tel)
	}
	es, _ := ob.After(0, 10)
	var got proto.SessionResult
	if _, err := proto.Decode(es[0].Payload, proto.TypeSessionResult, &got); err != nil || got.SessionID != "s1" || es[0].ID != "res_s1" {
		t.Fatalf("queued entry %q: %+v %v", es[0].ID, got, err)
	}
}
