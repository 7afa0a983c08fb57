package update_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/firmware/outbox"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/firmware/update"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/proto"
)

// The fleet test runs sim kiosks with the real sync client against a real
// Mosquitto: the shape a cloud-side end-to-end test takes with this
// package (one install.Device per kind in a temporary directory, the
// sync client as Responder, Restart = power off and on again).

const mosquittoBin = "/usr/sbin/mosquitto"

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
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
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

// simKiosk is one device of the fleet.
type simKiosk struct {
	t         *testing.T
	id, dir   string
	broker    string
	roots     []ed25519.PublicKey
	unhealthy string
	srv       *server

	mu      gosync.Mutex
	agent   *update.Agent
	client  *fsync.Client
	ob      *outbox.Outbox
	cancel  context.CancelFunc
	ran     chan struct{}
	boots   atomic.Int32
	restart chan struct{}
	stopped chan struct{}
}

// HandleCommand routes update commands to the agent of the current boot.
func (k *simKiosk) HandleCommand(ctx context.Context, id string, cmd *proto.Command) proto.CommandResponse {
	k.mu.Lock()
	a := k.agent
	k.mu.Unlock()
	if a == nil {
		return proto.CommandResponse{Of: id, Status: "refused", Error: "starting"}
	}
	return a.HandleCommand(ctx, id, cmd)
}

// power is one boot: Start the slots, connect, start the agent, report.
func (k *simKiosk) power() {
	t := k.t
	k.boots.Add(1)
	health := func(_ context.Context, run install.Running) error {
		if run.Version == k.unhealthy {
			return errUnhealthy
		}
		return nil
	}
	dev := newDevice(t, k.dir, artifact.KindFirmware, k.roots, health)
	if _, err := dev.Start(context.Background()); err != nil {
		t.Error(err)
		return
	}
	ob, err := outbox.Open(filepath.Join(k.dir, "outbox.db"), outbox.Options{NoSync: true})
	if err != nil {
		t.Error(err)
		return
	}
	c, err := fsync.New(fsync.Config{DeviceID: k.id, BrokerURL: k.broker, Outbox: ob, Handler: k, Logger: quiet(),
		Versions: func() (string, string) { e, _ := dev.Env(); return e.Slots[e.Active].Version, "" }})
	if err != nil {
		t.Error(err)
		return
	}
	a, err := update.New(update.Config{Installers: map[artifact.Kind]*install.Device{artifact.KindFirmware: dev},
		Fetcher: fetcher(tlsClient(k.srv)), Dir: filepath.Join(k.dir, "ota"), Responder: c, Logger: quiet(),
		Restart: func(context.Context) error { k.restart <- struct{}{}; return nil }})
	if err != nil {
		t.Error(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	k.mu.Lock()
	k.agent, k.client, k.ob, k.cancel, k.ran = a, c, ob, cancel, ran
	k.mu.Unlock()
	go func() { defer close(ran); c.Run(ctx) }()
	go func() {
		if _, err := a.ReportPending(ctx); err != nil && ctx.Err() == nil {
			t.Error(err)
		}
	}()
}

func (k *simKiosk) off() {
	k.mu.Lock()
	a, cancel, ran, ob := k.agent, k.cancel, k.ran, k.ob
	k.agent = nil
	k.mu.Unlock()
	cancel()
	<-ran
	a.Close()
	ob.Close()
}

// supervise restarts the kiosk when its agent asks, like systemd.
func (k *simKiosk) supervise() {
	defer close(k.stopped)
	for range k.restart {
		k.off()
		k.power()
	}
}

func TestFleetOverMQTT(t *testing.T) {
	if testing.Short() {
		t.Skip("broker and fleet")
	}
	broker := startMosquitto(t)
	srv := newServer(t)
	keys := newKeys(t)
	roots := []ed25519.PublicKey{keys.Root.Public()}
	url, size, sum := srv.put("/firmware/1.1.0.lgota", keys.signed(t, artifact.KindFirmware, "1.1.0", artSize))
	args, _ := json.Marshal(proto.UpdateArgs{Kind: "firmware", Version: "1.1.0", URL: url, Size: size, SHA256: sum, Rollout: "ro_fleet"})

	// The cloud's side: answers and births of every device.
	type msg struct {
		dev  string
		resp proto.CommandResponse
	}
	answers := make(chan msg, 256)
	births := make(chan msg, 256)
	obs := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("cloud"))
	if tok := obs.Connect(); !tok.Wait() || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer obs.Disconnect(100)
	sub := func(kind string, f func(dev string, payload []byte)) {
		tok := obs.Subscribe(proto.AllDevices(kind), 1, func(_ mqtt.Client, m mqtt.Message) {
			dev, _, _ := proto.ParseTopic(m.Topic())
			f(dev, m.Payload())
		})
		if !tok.Wait() || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	sub(proto.TopicCommandsResp, func(dev string, p []byte) {
		var r proto.CommandResponse
		if _, err := proto.Decode(p, proto.TypeCommandResponse, &r); err == nil {
			answers <- msg{dev, r}
		}
	})
	sub(proto.TopicStatus, func(dev string, p []byte) {
		var s proto.Status
		if _, err := proto.Decode(p, proto.TypeStatus, &s); err == nil && s.State == proto.StatusOnline {
			births <- msg{dev, proto.CommandResponse{Of: s.FirmwareVersion}}
		}
	})

	fleet := map[string]*simKiosk{}
	for _, id := range []string{"k1", "k2", "k3"} {
		k := &simKiosk{t: t, id: id, dir: t.TempDir(), broker: broker, roots: roots, srv: srv,
			restart: make(chan struct{}, 1), stopped: make(chan struct{})}
		if id == "k3" {
			k.unhealthy = "1.1.0" // this device's health check fails
		}
		d := newDevice(t, k.dir, artifact.KindFirmware, roots, nil)
		if _, err := d.Provision(context.Background(), bytes.NewReader(keys.signed(t, artifact.KindFirmware, "1.0.0", 4<<10))); err != nil {
			t.Fatal(err)
		}
		k.power()
		go k.supervise()
		fleet[id] = k
	}
	defer func() {
		for _, k := range fleet {
			close(k.restart)
			<-k.stopped
			k.off()
		}
	}()

	// Send the update to every device until each answers (a device
	// subscribes right after its connect).
	now := time.Now()
	cmd, _ := proto.Encode("upd-1", proto.TypeCommand, now, proto.Command{Kind: proto.CommandUpdate, ExpiresAt: now.Add(time.Hour), Args: args})
	finals := map[string]proto.UpdateResult{}
	seen := map[string][]string{}
	for len(finals) < len(fleet) {
		for id := range fleet {
			if len(seen[id]) == 0 {
				obs.Publish(proto.Topic(id, proto.TopicCommands), 1, false, cmd).Wait()
			}
		}
		select {
		case m := <-answers:
			var u proto.UpdateResult
			json.Unmarshal(m.resp.Result, &u)
			if m.resp.Of != "upd-1" {
				t.Fatalf("answer of %q from %s", m.resp.Of, m.dev)
			}
			if n := len(seen[m.dev]); n == 0 || seen[m.dev][n-1] != u.State {
				seen[m.dev] = append(seen[m.dev], u.State)
			}
			if m.resp.Status == "done" || m.resp.Status == "failed" {
				if _, dup := finals[m.dev]; !dup {
					finals[m.dev] = u
				}
			}
		case <-time.After(200 * time.Millisecond): // resend to devices not yet subscribed
		}
	}
	for id, k := range fleet {
		want, running := proto.UpdateSucceeded, "1.1.0"
		if k.unhealthy != "" {
			want, running = proto.UpdateRolledBack, "1.0.0"
		}
		f := finals[id]
		if f.State != want || f.Running != running || f.Rollout != "ro_fleet" {
			t.Errorf("%s: final %+v, want %s running %s; states %v", id, f, want, running, seen[id])
		}
		if k.boots.Load() != 2 {
			t.Errorf("%s booted %d times", id, k.boots.Load())
		}
		st := seen[id]
		if len(st) < 4 || st[0] != proto.UpdateDownloading || st[len(st)-2] != proto.UpdateRebooting {
			t.Errorf("%s: states %v", id, st)
		}
	}
	// The births after the restart name the running version.
	last := map[string]string{}
	for len(births) > 0 {
		m := <-births
		last[m.dev] = m.resp.Of
	}
	for id, k := range fleet {
		want := "1.1.0"
		if k.unhealthy != "" {
			want = "1.0.0"
		}
		if last[id] != want {
			t.Errorf("%s: last birth names %q, want %s", id, last[id], want)
		}
	}
}
