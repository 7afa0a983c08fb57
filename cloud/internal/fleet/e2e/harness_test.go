package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/fleet/broker"
	"livegate.dev/cloud/internal/fleet/ingest"
	"livegate.dev/cloud/internal/fleet/provision"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/firmware/outbox"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

const tenantID = "ten_e2e"

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// counter counts Notify calls (one per result whose webhook was queued).
type counter struct{ n atomic.Int64 }

func (c *counter) Notify() { c.n.Add(1) }

// cloud is a bolt store with a device CA and the provisioning service.
type cloud struct {
	dir  string
	st   *bolt.Store
	ca   *provision.CA
	prov *provision.Service
}

func newCloud(t testing.TB, dir string) *cloud {
	t.Helper()
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := provision.LoadOrCreateCA(dir, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	prov, err := provision.New(provision.Config{Store: st, CA: ca, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return &cloud{dir: dir, st: st, ca: ca, prov: prov}
}

// enroll enrolls device id through the provisioning service, with a
// certificate (mtls) or a password.
func (c *cloud) enroll(t testing.TB, id string, mtls bool) *fsync.Credentials {
	t.Helper()
	ctx := context.Background()
	e, err := c.prov.CreateEnrollment(ctx, tenantID, id, "kiosk "+id, "https://hooks.example.com/livegate")
	if err != nil {
		t.Fatal(err)
	}
	cr := &fsync.Credentials{DeviceID: id}
	req := &proto.EnrollRequest{Token: e.Token}
	if mtls {
		key, csr := newCSR(t)
		req.CSR = csr
		cr.KeyPEM = key
	}
	resp, err := c.prov.Enroll(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	cr.Username, cr.Password = resp.Username, resp.Password
	cr.CertPEM, cr.CAPEM = []byte(resp.Certificate), []byte(resp.CACert)
	return cr
}

// startEmbedded runs the embedded broker until the test ends.
func startEmbedded(t testing.TB, ctx context.Context, c *cloud, tlsOn bool) (*broker.Broker, string) {
	t.Helper()
	svc := randHex(16)
	cfg := broker.Config{Addr: "127.0.0.1:0", Devices: c.prov, ServicePassword: []byte(svc), Logger: quiet}
	if tlsOn {
		tc, err := c.ca.ServerTLS([]string{"127.0.0.1"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS = tc
	}
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.prov.SetBroker(b)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b, svc
}

// startIngest runs the cloud ingest until the test ends and waits until it is subscribed.
func startIngest(t testing.TB, ctx context.Context, cfg ingest.Config) *ingest.Ingest {
	t.Helper()
	cfg.Logger = quiet
	in, err := ingest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { in.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := in.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	return in
}

// device is a sync client with its outbox, running until stop or the test's end.
type device struct {
	c    *fsync.Client
	ob   *outbox.Outbox
	stop func()
}

func deviceConfig(cr *fsync.Credentials, url string, ob *outbox.Outbox) (fsync.Config, error) {
	cfg := fsync.Config{DeviceID: cr.DeviceID, BrokerURL: url, Outbox: ob, Username: cr.Username, Password: cr.Password,
		Logger: quiet, AckTimeout: 5 * time.Second, KeepAlive: time.Second, MaxReconnectInterval: 500 * time.Millisecond,
		Window: 512, FirmwareVersion: "1.4.2", ModelsVersion: "m-2026.11", TelemetryInterval: 200 * time.Millisecond}
	tc, err := cr.TLSConfig()
	if err != nil {
		return cfg, err
	}
	cfg.TLS = tc
	return cfg, nil
}

func startDevice(t testing.TB, ctx context.Context, cr *fsync.Credentials, url, dir string, mod func(*fsync.Config)) *device {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := deviceConfig(cr, url, ob)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := fsync.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	d := &device{c: c, ob: ob}
	var stopped atomic.Bool
	d.stop = func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		<-done
		ob.Close()
	}
	t.Cleanup(d.stop)
	return d
}

// result is the i-th decided session of a test run.
func result(run string, i int) *proto.SessionResult {
	now := time.Now().UTC()
	v, conf := "pass", 0.91
	if i%3 == 0 {
		v, conf = "fail", 0.2
	}
	return &proto.SessionResult{SessionID: fmt.Sprintf("ses_%s_%06d", run, i), Mode: "passive", Verdict: v, Confidence: conf,
		Reasons: []string{}, Layers: []proto.Layer{{Name: "motion", Score: conf, Passed: v == "pass"}},
		StartedAt: now.Add(-3 * time.Second), DecidedAt: now, FirmwareVersion: "1.4.2", ModelsVersion: "m-2026.11"}
}

// fillOutbox appends n results to the outbox at path (closed afterwards) and
// returns the session ids: the device's log.
func fillOutbox(t testing.TB, path, run string, n int) []string {
	t.Helper()
	// Filled without fsync per entry (fast set-up); Close syncs the file.
	ob, err := outbox.Open(path, outbox.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ids := make([]string, n)
	for i := range n {
		r := result(run, i)
		id, data, err := fsync.EncodeResult(r, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ob.Append(id, time.Now(), data); err != nil {
			t.Fatal(err)
		}
		ids[i] = r.SessionID
	}
	return ids
}

// waitFor polls cond every 20ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

// verifyExactlyOnce checks that every id of the device's log is a completed
// session of the device and that exactly one session.completed delivery
// exists per id and none for anything else.
func verifyExactlyOnce(t testing.TB, st store.Store, device string, ids []string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		s, err := st.GetSession(ctx, id)
		if err != nil {
			t.Fatalf("session %s of the device's log is not in the cloud: %v", id, err)
		}
		if s.DeviceID != device || s.Status != core.StatusCompleted || s.TenantID != tenantID || s.Verdict == nil {
			t.Fatalf("session %s: %+v", id, s)
		}
	}
	ds, err := st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, Limit: len(ids) + 1000})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, d := range ds {
		if d.Type != core.EventSessionCompleted {
			t.Fatalf("unexpected delivery type %s", d.Type)
		}
		per[d.SessionID]++
	}
	var extra []string
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		if per[id] != 1 {
			t.Fatalf("session %s has %d webhook deliveries, want 1", id, per[id])
		}
	}
	for id := range per {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	if len(ds) != len(ids) || len(extra) > 0 {
		t.Fatalf("%d deliveries for %d logged results; not in the log: %v", len(ds), len(ids), extra)
	}
}

func logLevel() slog.Level {
	if os.Getenv("E2E_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelError
}
