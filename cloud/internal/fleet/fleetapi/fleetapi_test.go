package fleetapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/fleet/fleetapi"
	"livegate.dev/cloud/internal/webhook"
	"livegate.dev/firmware/outbox"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

// fasthttp keeps a date updater and a worker-pool cleaner sleeping (as in package api).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("time.Sleep"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		// paho's Disconnect returns after its quiesce time while its sender may wait out that time on a dead link.
		goleak.IgnoreAnyFunction("github.com/eclipse/paho%2emqtt%2egolang.(*client).Disconnect.func1"))
}

const adminToken = "admin-token-for-tests-0123456789"

type client struct {
	t    *testing.T
	base string
}

func (c *client) do(method, path, bearer string, body any, want int, out any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

// TestDeviceRoutes: enrollment over HTTP, a device syncing through the
// embedded broker, its result in the session API, the registry, assign
// and revoke.
func TestDeviceRoutes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Options{Listener: ln, DataDir: dataDir, AdminToken: adminToken,
		RateLimit: 1_000_000, Logger: slog.New(slog.DiscardHandler),
		Routes: fleetapi.Hook(fleetapi.Options{DataDir: dataDir, MQTTAddr: "127.0.0.1:0", AdminToken: adminToken})})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	c := &client{t: t, base: "http://" + ln.Addr().String()}

	var tenant struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	c.do("POST", "/admin/v1/tenants", adminToken, map[string]string{"name": "acme", "mode": "live"}, 201, &tenant)
	c.do("POST", "/admin/v1/devices/enrollments", "wrong", map[string]string{}, 401, nil)
	c.do("POST", "/admin/v1/devices/enrollments", adminToken, map[string]string{"tenant_id": tenant.TenantID, "device_id": "bad id"}, 400, nil)
	c.do("POST", "/admin/v1/devices/enrollments", adminToken, map[string]string{"tenant_id": "ten_nope", "device_id": "k1"}, 404, nil)
	c.do("POST", "/admin/v1/devices/enrollments", adminToken, map[string]string{"tenant_id": tenant.TenantID, "device_id": "k1",
		"webhook_url": "https://127.0.0.1/hook"}, 400, nil)
	var enr fleetapi.EnrollmentCreated
	c.do("POST", "/admin/v1/devices/enrollments", adminToken, map[string]string{"tenant_id": tenant.TenantID, "device_id": "k1"}, 201, &enr)

	// The device enrolls over HTTP with a CSR (its own key) and saves its credentials.
	cr, err := fsync.Enroll(context.Background(), http.DefaultClient, c.base+"/api/v1/devices/enroll", enr.Token, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fsync.Enroll(context.Background(), http.DefaultClient, c.base+"/api/v1/devices/enroll", enr.Token, true); err == nil ||
		!strings.Contains(err.Error(), "401") {
		t.Fatalf("second exchange of the token: %v", err)
	}
	credDir := filepath.Join(t.TempDir(), "creds")
	if err := fsync.SaveCredentials(credDir, cr); err != nil {
		t.Fatal(err)
	}
	cr, err = fsync.LoadCredentials(credDir)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cr.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	url := strings.Replace(cr.BrokerURL, "ssl://127.0.0.1:", "ssl://localhost:", 1)
	cmds := &recordedCommands{}
	dev, err := fsync.New(fsync.Config{DeviceID: cr.DeviceID, BrokerURL: url, TLS: tc, Outbox: ob, Handler: cmds,
		Logger: slog.New(slog.DiscardHandler), FirmwareVersion: "2.0.0", MaxReconnectInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { dev.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	now := time.Now().UTC()
	if _, err := dev.Submit(&proto.SessionResult{SessionID: "ses_kiosk_1", Mode: "passive", Verdict: "pass", Confidence: 0.88,
		StartedAt: now.Add(-3 * time.Second), DecidedAt: now}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "result acked", func() bool { return ob.Stats().Entries == 0 })
	var res struct {
		SessionID string `json:"session_id"`
		Status    string `json:"status"`
		Verdict   string `json:"verdict"`
	}
	c.do("GET", "/api/v1/session/ses_kiosk_1/result", tenant.APIKey, nil, 200, &res)
	if res.Status != "completed" || res.Verdict != "pass" {
		t.Fatalf("device session through the session API: %+v", res)
	}
	var list fleetapi.DeviceList
	waitFor(t, "registry", func() bool {
		c.do("GET", "/admin/v1/devices?tenant_id="+tenant.TenantID, adminToken, nil, 200, &list)
		return len(list.Devices) == 1 && list.Devices[0].Status == "online" && list.Devices[0].FirmwareVersion == "2.0.0"
	})
	if list.Devices[0].Credential != "certificate" {
		t.Fatalf("device view %+v", list.Devices[0])
	}

	// Assign an existing pending session of the tenant.
	var created struct {
		SessionID string `json:"session_id"`
	}
	c.do("POST", "/api/v1/managed-session", tenant.APIKey, map[string]string{"mode": "active"}, 201, &created)
	var ar fleetapi.AssignResult
	c.do("POST", "/admin/v1/devices/k1/assign", adminToken, map[string]string{"session_id": created.SessionID}, 200, &ar)
	if ar.CommandID == "" || ar.DeviceID != "k1" {
		t.Fatalf("assign: %+v", ar)
	}
	c.do("POST", "/admin/v1/devices/nope/assign", adminToken, map[string]string{"session_id": created.SessionID}, 404, nil)

	// Flow 3: a managed session naming the device sends it the assign command.
	c.do("POST", "/api/v1/managed-session", tenant.APIKey, map[string]string{"mode": "passive", "device_id": "k1"}, 201, &created)
	waitFor(t, "assign command on the device", func() bool { return cmds.has(created.SessionID) })
	c.do("POST", "/api/v1/managed-session", tenant.APIKey, map[string]string{"device_id": "nope"}, 404, nil)

	var rv fleetapi.Device
	c.do("POST", "/admin/v1/devices/k1/revoke", adminToken, nil, 200, &rv)
	if rv.RevokedAt == nil {
		t.Fatal("not revoked")
	}
	waitFor(t, "revoked device disconnected", func() bool { return !dev.Connected() })
	spec := &bytes.Buffer{}
	res2, err := http.Get(c.base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(spec, res2.Body)
	res2.Body.Close()
	for _, id := range []string{"createDeviceEnrollment", "enrollDevice", "listDevices", "revokeDevice", "assignDeviceSession"} {
		if !strings.Contains(spec.String(), id) {
			t.Errorf("%s not in the OpenAPI document", id)
		}
	}
}

// recordedCommands is the kiosk side of assign commands in these tests.
type recordedCommands struct {
	mu       sync.Mutex
	sessions []string
}

func (r *recordedCommands) HandleCommand(_ context.Context, id string, cmd *proto.Command) proto.CommandResponse {
	if cmd.Kind == proto.CommandAssignSession {
		var a proto.AssignSessionArgs
		if err := json.Unmarshal(cmd.Args, &a); err == nil {
			r.mu.Lock()
			r.sessions = append(r.sessions, a.SessionID)
			r.mu.Unlock()
		}
	}
	return proto.CommandResponse{Of: id, Status: "accepted"}
}

func (r *recordedCommands) has(sessionID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sessions {
		if s == sessionID {
			return true
		}
	}
	return false
}

// TestDeviceWebhookFollowsDev: a device's webhook URL is vetted by the
// daemon's URL policy, so --dev lets a loopback http:// URL through for a
// device's sessions exactly when it does for an API-created session.
func TestDeviceWebhookFollowsDev(t *testing.T) {
	const hook = "http://127.0.0.1:9/hooks/livegate"
	tests := []struct {
		name string
		dev  bool
		want int
	}{
		{"production refuses a loopback http URL", false, 400},
		{"dev accepts it", true, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			dataDir := t.TempDir()
			d, err := daemon.Start(context.Background(), daemon.Options{Listener: ln, DataDir: dataDir, AdminToken: adminToken,
				Dev: tt.dev, RateLimit: 1_000_000, Logger: slog.New(slog.DiscardHandler),
				Routes: fleetapi.Hook(fleetapi.Options{DataDir: dataDir, MQTTAddr: "127.0.0.1:0", AdminToken: adminToken})})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := d.Shutdown(ctx); err != nil {
					t.Error(err)
				}
			}()
			c := &client{t: t, base: "http://" + ln.Addr().String()}
			var tenant struct {
				TenantID string `json:"tenant_id"`
				APIKey   string `json:"api_key"`
			}
			c.do("POST", "/admin/v1/tenants", adminToken, map[string]string{"name": "acme", "mode": "test"}, 201, &tenant)
			c.do("POST", "/api/v1/managed-session", tenant.APIKey, map[string]string{"mode": "passive", "webhook_url": hook}, tt.want, nil)
			c.do("POST", "/admin/v1/devices/enrollments", adminToken, map[string]string{"tenant_id": tenant.TenantID, "device_id": "k1",
				"webhook_url": hook}, tt.want, nil)
		})
	}
}

// TestDeviceWebhookWakesWorker: a kiosk's result, once the cloud stored
// it, wakes the webhook worker, so its session.completed webhook leaves at
// once rather than at the worker's next poll. The daemon runs on a fake
// clock that never moves: the worker's poll (PollInterval, an hour here)
// never comes, and the webhook can only arrive because the fleet's ingest
// told the worker (before daemon.Parts carried the worker to the fleet,
// it waited up to the 2 s default poll on a real clock, and for ever here).
func TestDeviceWebhookWakesWorker(t *testing.T) {
	clk := clock.NewFake(time.Now())
	got := make(chan string, 8)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				SessionID string `json:"session_id"`
			} `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err == nil && ev.Type == "session.completed" {
			got <- ev.Data.SessionID
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hooks.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Options{Listener: ln, DataDir: dataDir, AdminToken: adminToken,
		Dev: true, Clock: clk, Webhook: webhook.Config{PollInterval: time.Hour}, RateLimit: 1_000_000, Logger: slog.New(slog.DiscardHandler),
		Routes: fleetapi.Hook(fleetapi.Options{DataDir: dataDir, MQTTAddr: "127.0.0.1:0", AdminToken: adminToken})})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	c := &client{t: t, base: "http://" + ln.Addr().String()}
	var tenant struct {
		TenantID string `json:"tenant_id"`
	}
	c.do("POST", "/admin/v1/tenants", adminToken, map[string]string{"name": "acme", "mode": "test"}, 201, &tenant)
	var enr fleetapi.EnrollmentCreated
	c.do("POST", "/admin/v1/devices/enrollments", adminToken, map[string]string{"tenant_id": tenant.TenantID, "device_id": "k1",
		"webhook_url": hooks.URL + "/hooks/livegate"}, 201, &enr)
	cr, err := fsync.Enroll(context.Background(), http.DefaultClient, c.base+"/api/v1/devices/enroll", enr.Token, false)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cr.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	dev, err := fsync.New(fsync.Config{DeviceID: cr.DeviceID, BrokerURL: cr.BrokerURL, TLS: tc, Outbox: ob,
		Username: cr.Username, Password: cr.Password, Logger: slog.New(slog.DiscardHandler), MaxReconnectInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { dev.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	start := clk.Now()
	now := time.Now().UTC()
	if _, err := dev.Submit(&proto.SessionResult{SessionID: "k1-wakes", Mode: "passive", Verdict: "pass", Confidence: 0.9,
		StartedAt: now.Add(-3 * time.Second), DecidedAt: now}); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-got:
		if id != "k1-wakes" {
			t.Fatalf("webhook for %q, want k1-wakes", id)
		}
	case <-time.After(20 * time.Second): // a bound on a hang, not a measurement
		t.Fatal("no webhook while the webhook worker's clock stood still: the fleet's ingest did not wake the worker")
	}
	if !clk.Now().Equal(start) {
		t.Fatal("the fake clock moved")
	}
}
