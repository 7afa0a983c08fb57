package sync

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/firmware/outbox"
	"livegate.dev/proto"
)

const mosquittoBin = "/usr/sbin/mosquitto"

// startMosquitto runs an anonymous Mosquitto on a free loopback port for
// the test, or skips it when Mosquitto is not installed.
func startMosquitto(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(mosquittoBin); err != nil {
		t.Skipf("%s not installed", mosquittoBin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	conf := filepath.Join(dir, "mosquitto.conf")
	_, port, _ := net.SplitHostPort(addr)
	if err := os.WriteFile(conf, []byte("listener "+port+" 127.0.0.1\nallow_anonymous true\npersistence false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mosquittoBin, "-c", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "tcp://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto does not accept connections: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

// TestRespondOverMosquitto: the first answer and a further one from
// Respond reach a subscriber in order, under distinct message ids, and
// Respond returns after the broker's PUBACK.
func TestRespondOverMosquitto(t *testing.T) {
	url := startMosquitto(t)
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	h := &progressHandler{done: make(chan error, 1)}
	dev, err := New(Config{DeviceID: "k1", BrokerURL: url, Outbox: ob, Handler: h, Logger: quietLogger(),
		Versions: func() (string, string) { return "1.1.0", "m2" }})
	if err != nil {
		t.Fatal(err)
	}
	h.c = dev

	got := make(chan *proto.Envelope, 8)
	status := make(chan proto.Status, 8)
	obs := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("observer"))
	if tok := obs.Connect(); !tok.Wait() || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer obs.Disconnect(100)
	if tok := obs.Subscribe(proto.Topic("k1", proto.TopicCommandsResp), 1, func(_ mqtt.Client, m mqtt.Message) {
		var r proto.CommandResponse
		env, err := proto.Decode(m.Payload(), proto.TypeCommandResponse, &r)
		if err == nil {
			got <- env
		}
	}); !tok.Wait() || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := obs.Subscribe(proto.Topic("k1", proto.TopicStatus), 1, func(_ mqtt.Client, m mqtt.Message) {
		var s proto.Status
		if _, err := proto.Decode(m.Payload(), proto.TypeStatus, &s); err == nil {
			status <- s
		}
	}); !tok.Wait() || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- dev.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	if err := dev.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if s := <-status; s.State != proto.StatusOnline || s.FirmwareVersion != "1.1.0" || s.ModelsVersion != "m2" {
		t.Fatalf("birth %+v", s)
	}
	now := time.Now()
	cmd, _ := proto.Encode("cmd1", proto.TypeCommand, now, proto.Command{Kind: proto.CommandUpdate, ExpiresAt: now.Add(time.Hour)})
	// The device subscribes from its connect handler without waiting:
	// publish until the first answer comes back.
	var first *proto.Envelope
	for first == nil {
		obs.Publish(proto.Topic("k1", proto.TopicCommands), 1, false, cmd).Wait()
		select {
		case first = <-got:
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := <-h.done; err != nil {
		t.Fatalf("Respond: %v", err)
	}
	var second *proto.Envelope
	for second == nil || second.ID == first.ID { // redeliveries of the first answer may come in between
		second = <-got
	}
	var r1, r2 proto.CommandResponse
	json.Unmarshal(first.Body, &r1)
	json.Unmarshal(second.Body, &r2)
	var u proto.UpdateResult
	json.Unmarshal(r2.Result, &u)
	if first.ID != "resp-cmd1" || r1.Status != "accepted" || r2.Of != "cmd1" || u.State != proto.UpdateInstalling {
		t.Fatalf("answers %s %+v then %s %+v (%+v)", first.ID, r1, second.ID, r2, u)
	}
	if err := dev.Announce(); err != nil {
		t.Fatal(err)
	}
	if s := <-status; s.State != proto.StatusOnline || s.FirmwareVersion != "1.1.0" {
		t.Fatalf("announce %+v", s)
	}
}

// TestAppendWhileConnectedIsSent walks a kiosk's verdict to the broker: a
// result queued while offline goes out on connect, and one the kiosk
// appends to the outbox directly (as kiosk.OutboxStore does, not through
// Submit) while the connection is up must reach a subscriber without a
// reconnect. The fake clock's timers never fire, so neither the ack-timeout
// resend nor telemetry can flush it: only the append may wake the sender.
func TestAppendWhileConnectedIsSent(t *testing.T) {
	url := startMosquitto(t)
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	clk := &fakeClock{now: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	appendResult := func(session string) string {
		t.Helper()
		id, data, err := EncodeResult(&proto.SessionResult{SessionID: session, Mode: "passive", Verdict: "pass",
			Confidence: 0.9, DecidedAt: clk.now}, clk.now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ob.Append(id, clk.now, data); err != nil {
			t.Fatal(err)
		}
		return id
	}
	dev, err := New(Config{DeviceID: "k1", BrokerURL: url, Outbox: ob, Clock: clk, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}

	results := make(chan string, 16)
	wills := make(chan struct{}, 16)
	obs := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("cloud"))
	if tok := obs.Connect(); !tok.Wait() || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer obs.Disconnect(100)
	for topic, h := range map[string]mqtt.MessageHandler{
		proto.Topic("k1", proto.TopicSessions): func(_ mqtt.Client, m mqtt.Message) {
			var r proto.SessionResult
			if env, err := proto.Decode(m.Payload(), proto.TypeSessionResult, &r); err == nil {
				results <- env.ID
			}
		},
		// The broker publishes the device's last will when its connection
		// drops: a reconnect shows here.
		proto.Topic("k1", proto.TopicStatus): func(_ mqtt.Client, m mqtt.Message) {
			var s proto.Status
			if _, err := proto.Decode(m.Payload(), proto.TypeStatus, &s); err == nil && s.State == proto.StatusOffline {
				wills <- struct{}{}
			}
		},
	} {
		if tok := obs.Subscribe(topic, 1, h); !tok.Wait() || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	// await returns once id arrives. Delivery is at least once: paho may
	// publish a message again when it was stored during the connect, so a
	// repeat of an earlier result is skipped.
	await := func(id string, earlier ...string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case got := <-results:
				if got == id {
					return
				}
				if !slices.Contains(earlier, got) {
					t.Fatalf("got result %s while waiting for %s", got, id)
				}
			case <-deadline:
				t.Fatalf("%s not published within 15 s (outbox depth %d)", id, ob.Stats().Entries)
			}
		}
	}

	offline := appendResult("ses_offline")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- dev.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	if err := dev.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// Its arrival also says the sender has taken the connect's wake-up and
	// waits again: no later connect or ack (there is no cloud) wakes it.
	await(offline)

	online := appendResult("ses_online")
	await(online, offline)
	if n := len(wills); n != 0 || !dev.Connected() {
		t.Fatalf("%d last wills, connected %v: the result went out through a reconnect", n, dev.Connected())
	}
	if d := ob.Stats().Entries; d != 2 {
		t.Fatalf("outbox depth %d, want 2: entries go only on the cloud's ack", d)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
