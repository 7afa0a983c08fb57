package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"livegate.dev/cloud/internal/fleet/broker"
	"livegate.dev/cloud/internal/fleet/ingest"
	"livegate.dev/cloud/internal/mqtttest"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/firmware/outbox"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

// TestMain lets the test binary run as a child process: the device
// (E2E_ROLE=device) or the cloud ingest (E2E_ROLE=cloud), so fault tests can
// kill -9 them.
func TestMain(m *testing.M) {
	switch os.Getenv("E2E_ROLE") {
	case "device":
		os.Exit(deviceMain())
	case "cloud":
		os.Exit(cloudMain())
	}
	// paho's Disconnect returns after its quiesce time while its sender may
	// wait out that time on a dead link.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eclipse/paho%2emqtt%2egolang.(*client).Disconnect.func1"),
		// fasthttp's date updater and worker-pool cleaner outlive the OTA test's daemon for a few seconds.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"))
}

// deviceMain runs a device from E2E_DIR (credentials, outbox.db) against
// E2E_BROKER until its outbox is empty, then stops cleanly.
func deviceMain() int {
	dir := os.Getenv("E2E_DIR")
	cr, err := fsync.LoadCredentials(filepath.Join(dir, "creds"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer ob.Close()
	cfg, err := deviceConfig(cr, os.Getenv("E2E_BROKER"), ob)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg.Window = 128
	c, err := fsync.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	deadline := time.Now().Add(90 * time.Second)
	for ob.Stats().Entries > 0 {
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "device: outbox not drained in 90s")
			return 3
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	return 0
}

// cloudMain runs the ingest on the bolt store in E2E_DIR against E2E_BROKER
// until SIGTERM; it prints "ready" once subscribed.
func cloudMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st, err := bolt.Open(os.Getenv("E2E_DIR"), bolt.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer st.Close()
	in, err := ingest.New(ingest.Config{Store: st, BrokerURL: os.Getenv("E2E_BROKER"), Username: broker.ServiceUser,
		Password: os.Getenv("E2E_SVC_PASS"), Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	done := make(chan struct{})
	go func() { in.Run(ctx); close(done) }()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := in.WaitConnected(wctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("ready")
	<-done
	return 0
}

// child is a re-executed test binary.
type child struct {
	cmd   *exec.Cmd
	done  chan error
	ready chan struct{}
}

func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ready" {
				close(ready)
			}
		}
		c.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	c.ready = ready
	return c
}

func (c *child) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

func (c *child) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case err := <-c.done:
		if err != nil {
			t.Fatalf("child process: %v", err)
		}
	case <-time.After(timeout):
		t.Fatalf("child process still running after %v", timeout)
	}
}

// mosquittoFleet enrolls devices with passwords and starts a Mosquitto that
// knows them and the service user.
func mosquittoFleet(t *testing.T, c *cloud, ids ...string) (*mqtttest.Mosquitto, string, map[string]*fsync.Credentials) {
	t.Helper()
	if !mqtttest.Available() {
		t.Skip("mosquitto not installed")
	}
	svc := randHex(16)
	users := map[string]string{broker.ServiceUser: svc}
	creds := map[string]*fsync.Credentials{}
	for _, id := range ids {
		cr := c.enroll(t, id, false)
		cr.CAPEM = nil // plain TCP to the test broker
		users[id] = cr.Password
		creds[id] = cr
	}
	return mqtttest.Start(t, mqtttest.Config{Users: users}), svc, creds
}

func size(t *testing.T) int {
	if testing.Short() {
		return 300
	}
	return 1000
}

// TestFaultBrokerKilled: Mosquitto is killed (SIGKILL) and restarted while
// the device drains; device and cloud reconnect, unacked results are
// republished, duplicates are acked again.
func TestFaultBrokerKilled(t *testing.T) {
	ctx := context.Background()
	c := newCloud(t, t.TempDir())
	mq, svc, creds := mosquittoFleet(t, c, "kiosk-f1")
	var n counter
	startIngest(t, ctx, ingest.Config{Store: c.st, BrokerURL: mq.URL(), Username: broker.ServiceUser, Password: svc, Notifier: &n})
	dir := t.TempDir()
	ids := fillOutbox(t, filepath.Join(dir, "outbox.db"), "brk", size(t))
	d := startDevice(t, ctx, creds["kiosk-f1"], mq.URL(), dir, func(cfg *fsync.Config) { cfg.Window = 128 })
	waitFor(t, 30*time.Second, "a third stored", func() bool { return n.n.Load() >= int64(len(ids)/3) })
	if err := mq.Kill(); err != nil {
		t.Fatal(err)
	}
	left := d.ob.Stats().Entries
	waitFor(t, 10*time.Second, "device notices", func() bool { return !d.c.Connected() })
	if err := mq.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "outbox drained", func() bool { return d.ob.Stats().Entries == 0 })
	d.stop()
	t.Logf("%d results, %d unacked when the broker died", len(ids), left)
	if left == 0 {
		t.Fatal("the outbox was drained before the broker was killed: the test proved nothing")
	}
	verifyExactlyOnce(t, c.st, "kiosk-f1", ids)
}

// TestFaultNetworkCut: a proxy between device and broker stops forwarding
// (a dead link, no FIN) until the device's keepalive notices; then the link
// comes back.
func TestFaultNetworkCut(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newCloud(t, t.TempDir())
	mq, svc, creds := mosquittoFleet(t, c, "kiosk-f2")
	var n counter
	startIngest(t, ctx, ingest.Config{Store: c.st, BrokerURL: mq.URL(), Username: broker.ServiceUser, Password: svc, Notifier: &n})
	px, err := NewProxy(ctx, mq.Addr())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ids := fillOutbox(t, filepath.Join(dir, "outbox.db"), "net", size(t))
	d := startDevice(t, ctx, creds["kiosk-f2"], "tcp://"+px.Addr(), dir, func(cfg *fsync.Config) { cfg.Window = 128 })
	waitFor(t, 30*time.Second, "a third stored", func() bool { return n.n.Load() >= int64(len(ids)/3) })
	px.Cut()
	waitFor(t, 15*time.Second, "device notices the dead link", func() bool { return !d.c.Connected() })
	left := d.ob.Stats().Entries
	px.Restore()
	waitFor(t, 60*time.Second, "outbox drained", func() bool { return d.ob.Stats().Entries == 0 })
	d.stop()
	t.Logf("%d results, %d unacked during the cut", len(ids), left)
	if left == 0 {
		t.Fatal("the outbox was drained before the cut: the test proved nothing")
	}
	verifyExactlyOnce(t, c.st, "kiosk-f2", ids)
}

// TestFaultDeviceKilled: the device process is killed with SIGKILL
// mid-drain and started again on the same outbox file.
func TestFaultDeviceKilled(t *testing.T) {
	ctx := context.Background()
	c := newCloud(t, t.TempDir())
	mq, svc, creds := mosquittoFleet(t, c, "kiosk-f3")
	var n counter
	startIngest(t, ctx, ingest.Config{Store: c.st, BrokerURL: mq.URL(), Username: broker.ServiceUser, Password: svc, Notifier: &n})
	dir := t.TempDir()
	if err := fsync.SaveCredentials(filepath.Join(dir, "creds"), creds["kiosk-f3"]); err != nil {
		t.Fatal(err)
	}
	ids := fillOutbox(t, filepath.Join(dir, "outbox.db"), "dev", size(t))
	env := []string{"E2E_ROLE=device", "E2E_DIR=" + dir, "E2E_BROKER=" + mq.URL()}
	ch := startChild(t, env...)
	waitFor(t, 30*time.Second, "a third stored", func() bool { return n.n.Load() >= int64(len(ids)/3) })
	ch.kill9(t)
	// The broker publishes the last will; the registry shows the device offline.
	waitFor(t, 15*time.Second, "last will in the registry", func() bool {
		d, err := c.st.GetDevice(context.Background(), "kiosk-f3")
		return err == nil && d.Status == proto.StatusOffline
	})
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	left := ob.Stats().Entries
	ob.Close()
	if left == 0 {
		t.Fatal("the outbox was drained before the kill: the test proved nothing")
	}
	startChild(t, env...).wait(t, 90*time.Second)
	// The second run ended with a clean stop.
	waitFor(t, 10*time.Second, "clean stop in the registry", func() bool {
		d, err := c.st.GetDevice(context.Background(), "kiosk-f3")
		return err == nil && d.Status == proto.StatusStopped
	})
	ob, err = outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if e := ob.Stats().Entries; e != 0 {
		t.Fatalf("%d entries left", e)
	}
	t.Logf("%d results, %d unacked when the device was killed", len(ids), left)
	waitFor(t, 10*time.Second, "webhooks queued", func() bool { return n.n.Load() >= int64(len(ids)) })
	verifyExactlyOnce(t, c.st, "kiosk-f3", ids)
}

// TestFaultCloudKilled: the cloud ingest process is killed with SIGKILL
// mid-ingest and started again on the same store; Mosquitto keeps its
// persistent session's messages meanwhile.
func TestFaultCloudKilled(t *testing.T) {
	ctx := context.Background()
	cdir := t.TempDir()
	c := newCloud(t, cdir)
	mq, svc, creds := mosquittoFleet(t, c, "kiosk-f4")
	c.st.Close() // the cloud process owns the store now
	env := []string{"E2E_ROLE=cloud", "E2E_DIR=" + cdir, "E2E_BROKER=" + mq.URL(), "E2E_SVC_PASS=" + svc}
	cl := startChild(t, env...)
	select {
	case <-cl.ready:
	case <-time.After(30 * time.Second):
		t.Fatal("cloud process not ready")
	}
	dir := t.TempDir()
	ids := fillOutbox(t, filepath.Join(dir, "outbox.db"), "cld", size(t))
	d := startDevice(t, ctx, creds["kiosk-f4"], mq.URL(), dir, func(cfg *fsync.Config) { cfg.Window = 128 })
	waitFor(t, 30*time.Second, "a third acked", func() bool { return d.ob.Stats().Entries <= len(ids)*2/3 })
	cl.kill9(t)
	left := d.ob.Stats().Entries
	cl = startChild(t, env...)
	waitFor(t, 60*time.Second, "outbox drained", func() bool { return d.ob.Stats().Entries == 0 })
	d.stop()
	cl.cmd.Process.Signal(syscall.SIGTERM)
	cl.wait(t, 10*time.Second)
	t.Logf("%d results, %d unacked when the cloud was killed", len(ids), left)
	if left == 0 {
		t.Fatal("the outbox was drained before the kill: the test proved nothing")
	}
	st, err := bolt.Open(cdir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	verifyExactlyOnce(t, st, "kiosk-f4", ids)
}
