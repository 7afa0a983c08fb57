package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/board"
	"livegate.dev/drivers/drivertest"
	"livegate.dev/firmware/config"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/firmware/outbox"
	"livegate.dev/proto"
)

// idleEngine is never asked for an analyzer: these tests do not run
// sessions.
type idleEngine struct{}

func (idleEngine) NewAnalyzer() kiosk.Analyzer { panic("no session expected") }
func (idleEngine) Mode() string                { return "passive" }
func (idleEngine) ModelsVersion() string       { return "test" }

func newTestKiosk(t *testing.T) *kiosk.Kiosk {
	t.Helper()
	p, err := board.Load(board.Config{Board: "sim", CameraWidth: ptr(64), CameraHeight: ptr(48)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := board.Open(t.Context(), p, board.Opts{Clock: drivertest.NewClock(time.Unix(0, 0)), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	k, err := kiosk.New(kiosk.Hardware{Camera: b.Camera, Relay: b.Relay, Lights: b.Lights}, idleEngine{}, &kiosk.OutboxStore{Outbox: ob}, nil, kiosk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAssignHandler(t *testing.T) {
	k := newTestKiosk(t)
	h := assignHandler{k: k, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	args := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	tests := []struct {
		name string
		cmd  proto.Command
		want string
	}{
		{"assign", proto.Command{Kind: proto.CommandAssignSession, Args: args(proto.AssignSessionArgs{SessionID: "s1"})}, "accepted"},
		{"no id", proto.Command{Kind: proto.CommandAssignSession, Args: args(proto.AssignSessionArgs{})}, "refused"},
		{"bad args", proto.Command{Kind: proto.CommandAssignSession, Args: json.RawMessage(`[1]`)}, "refused"},
		{"reboot is not ours", proto.Command{Kind: proto.CommandReboot}, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.HandleCommand(t.Context(), "cmd-1", &tt.cmd)
			if r.Status != tt.want || r.Of != "cmd-1" {
				t.Errorf("got %+v, want %s", r, tt.want)
			}
		})
	}
}

func TestNewSyncOffline(t *testing.T) {
	c := config.Default()
	c.DeviceID, c.Board.Board = "k1", "sim"
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	c.Cloud.CredentialsDir = t.TempDir() // empty: not enrolled yet
	sc, err := newSync(c, ob, assignHandler{k: newTestKiosk(t)}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || sc != nil {
		t.Fatalf("offline newSync = %v, %v", sc, err)
	}
	c.Cloud.Broker = "tcp://127.0.0.1:1"
	c.Cloud.PasswordFile = filepath.Join(t.TempDir(), "missing")
	if _, err := newSync(c, ob, assignHandler{k: newTestKiosk(t)}, nil, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("missing password file accepted")
	}
}
