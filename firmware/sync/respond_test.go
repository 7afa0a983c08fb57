package sync

import (
	"context"
	"encoding/json"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/firmware/outbox"
	"livegate.dev/proto"
)

// fakeMQTT records publishes; every publish completes at once.
type fakeMQTT struct {
	mqtt.Client
	mu   gosync.Mutex
	pubs []published
}

type published struct {
	topic string
	env   *proto.Envelope
	resp  proto.CommandResponse
}

func (f *fakeMQTT) Publish(topic string, _ byte, _ bool, payload any) mqtt.Token {
	var r proto.CommandResponse
	env, _ := proto.Decode(payload.([]byte), proto.TypeCommandResponse, &r)
	f.mu.Lock()
	f.pubs = append(f.pubs, published{topic: topic, env: env, resp: r})
	f.mu.Unlock()
	return doneToken{}
}

func (f *fakeMQTT) all() []published {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]published(nil), f.pubs...)
}

type doneToken struct{}

func (doneToken) Wait() bool                     { return true }
func (doneToken) WaitTimeout(time.Duration) bool { return true }
func (doneToken) Error() error                   { return nil }
func (doneToken) Done() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// progressHandler answers "accepted" and then, from the background, one
// further answer through Respond.
type progressHandler struct {
	c    *Client
	done chan error
}

func (h *progressHandler) HandleCommand(ctx context.Context, id string, _ *proto.Command) proto.CommandResponse {
	go func() {
		res, _ := json.Marshal(proto.UpdateResult{State: proto.UpdateInstalling})
		h.done <- h.c.Respond(ctx, id, proto.CommandResponse{Status: "accepted", Result: res})
	}()
	return proto.CommandResponse{Status: "accepted"}
}

func TestRespondOrderAndRedelivery(t *testing.T) {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	clk := &fakeClock{now: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	h := &progressHandler{done: make(chan error, 1)}
	c, err := New(Config{DeviceID: "k1", BrokerURL: "tcp://127.0.0.1:1", Outbox: ob, Clock: clk, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	fm := &fakeMQTT{}
	c.mqtt = fm
	c.setConnected(true)
	cmd, _ := proto.Encode("cmd1", proto.TypeCommand, clk.now, proto.Command{Kind: proto.CommandUpdate, ExpiresAt: clk.now.Add(time.Hour)})
	c.onCommand(cmd)
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	c.onCommand(cmd) // redelivery: the latest answer again
	ctx := context.Background()
	final := proto.CommandResponse{Status: "done"}
	if err := c.Respond(ctx, "cmd1", final); err != nil {
		t.Fatal(err)
	}
	if err := c.Respond(ctx, "cmd1", final); err != nil { // repeated after a crash
		t.Fatal(err)
	}
	if err := c.Respond(ctx, "cmd1", proto.CommandResponse{Status: "maybe"}); err == nil {
		t.Fatal("invalid answer published")
	}
	p := fm.all()
	if len(p) != 5 {
		t.Fatalf("%d publishes, want 5", len(p))
	}
	want := []struct{ status, id string }{
		{"accepted", "resp-cmd1"},
		{"accepted", p[1].env.ID}, // installing
		{"accepted", p[1].env.ID}, // redelivery gets the latest, same id
		{"done", p[3].env.ID},
		{"done", p[3].env.ID}, // same answer, same id
	}
	for i, w := range want {
		if p[i].topic != proto.Topic("k1", proto.TopicCommandsResp) {
			t.Fatalf("publish %d on %s", i, p[i].topic)
		}
		if p[i].resp.Of != "cmd1" || p[i].resp.Status != w.status || p[i].env.ID != w.id {
			t.Fatalf("publish %d: %+v id %s, want %s %s", i, p[i].resp, p[i].env.ID, w.status, w.id)
		}
	}
	if p[1].env.ID == "resp-cmd1" || p[1].env.ID == p[3].env.ID {
		t.Fatalf("answers share a message id: %s %s", p[1].env.ID, p[3].env.ID)
	}
	var r proto.UpdateResult
	if err := json.Unmarshal(p[2].resp.Result, &r); err != nil || r.State != proto.UpdateInstalling {
		t.Fatalf("redelivery answered %s (%v)", p[2].resp.Result, err)
	}
}

func TestRespondWaitsForConnection(t *testing.T) {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	c, err := New(Config{DeviceID: "k1", BrokerURL: "tcp://127.0.0.1:1", Outbox: ob,
		Versions: func() (string, string) { return "2.0.0", "" }, ModelsVersion: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	fm := &fakeMQTT{}
	c.mqtt = fm
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Respond(ctx, "cmd1", proto.CommandResponse{Status: "done"}); err == nil {
		t.Fatal("Respond returned nil while never connected")
	}
	done := make(chan error, 1)
	go func() { done <- c.Respond(context.Background(), "cmd1", proto.CommandResponse{Status: "done"}) }()
	c.setConnected(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(fm.all()); n != 1 {
		t.Fatalf("%d publishes", n)
	}
	if fw, mv := c.versions(); fw != "2.0.0" || mv != "m1" {
		t.Fatalf("versions %s %s", fw, mv)
	}
}
