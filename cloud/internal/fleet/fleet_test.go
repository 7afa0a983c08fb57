package fleet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/fleet"
	"livegate.dev/cloud/internal/mqtttest"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/firmware/outbox"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

type assignHandler struct {
	got     atomic.Value
	updates atomic.Int32 // update commands run
	assigns atomic.Int32 // assign_session commands run
}

func (h *assignHandler) HandleCommand(_ context.Context, _ string, c *proto.Command) proto.CommandResponse {
	h.got.Store(c.Kind)
	if c.Kind == proto.CommandAssignSession {
		h.assigns.Add(1)
	}
	if c.Kind == proto.CommandUpdate {
		h.updates.Add(1)
		var a proto.UpdateArgs
		json.Unmarshal(c.Args, &a)
		res, _ := json.Marshal(proto.UpdateResult{State: proto.UpdateDownloading, Rollout: a.Rollout, Version: a.Version})
		return proto.CommandResponse{Status: "accepted", Result: res}
	}
	return proto.CommandResponse{Status: "accepted"}
}

// listener records what the fleet hands on.
type listener struct {
	mu     sync.Mutex
	resps  []proto.UpdateResult
	boards []string
	online []string
}

func (l *listener) DeviceOnline(_ context.Context, dev string) {
	l.mu.Lock()
	l.online = append(l.online, dev)
	l.mu.Unlock()
}

// onlines counts the DeviceOnline events of dev.
func (l *listener) onlines(dev string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, d := range l.online {
		if d == dev {
			n++
		}
	}
	return n
}

// answers counts the update answers naming rollout.
func (l *listener) answers(rollout string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.resps {
		if x.Rollout == rollout {
			n++
		}
	}
	return n
}

func (l *listener) CommandResponse(_ context.Context, _ string, r *proto.CommandResponse) {
	var res proto.UpdateResult
	if json.Unmarshal(r.Result, &res) == nil && res.Rollout != "" {
		l.mu.Lock()
		l.resps = append(l.resps, res)
		l.mu.Unlock()
	}
}

func (l *listener) Telemetry(_ context.Context, _ string, t *proto.Telemetry) {
	l.mu.Lock()
	l.boards = append(l.boards, t.Board)
	l.mu.Unlock()
}

func (l *listener) saw(rollout, board string) (bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var r, b bool
	for _, x := range l.resps {
		r = r || x.Rollout == rollout && x.State == proto.UpdateDownloading
	}
	for _, x := range l.boards {
		b = b || x == board
	}
	return r, b
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

func TestFleetModes(t *testing.T) {
	tests := []struct{ name string }{{"embedded"}, {"mosquitto"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dir := t.TempDir()
			st, err := bolt.Open(dir, bolt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			lis := &listener{}
			cfg := fleet.Config{Store: st, DataDir: dir, MQTTAddr: "127.0.0.1:0", BrokerHosts: []string{"localhost", "127.0.0.1"},
				Logger: slog.New(slog.DiscardHandler), Listener: lis}
			if tt.name == "mosquitto" {
				if !mqtttest.Available() {
					t.Skip("mosquitto not installed")
				}
				// The CA must exist first to issue Mosquitto's certificate.
				f0, err := fleet.New(fleet.Config{Store: st, DataDir: dir, MQTTURL: "ssl://127.0.0.1:1", Logger: cfg.Logger})
				if err != nil {
					t.Fatal(err)
				}
				sc, sk, err := f0.CA.IssueKeyPair("mosquitto", []string{"127.0.0.1"}, true, time.Now(), time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				mq := mqtttest.Start(t, mqtttest.Config{CA: f0.CA.CertPEM(), Cert: sc, Key: sk})
				cfg.MQTTURL = mq.URL()
			}
			f, err := fleet.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { f.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
			defer wcancel()
			if err := f.Ingest.WaitConnected(wctx); err != nil {
				t.Fatal(err)
			}

			e, err := f.Provision.CreateEnrollment(ctx, "ten_1", "kiosk-1", "lobby", "https://hooks.example.com/x")
			if err != nil {
				t.Fatal(err)
			}
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "k"}}, key)
			resp, err := f.Provision.Enroll(ctx, &proto.EnrollRequest{Token: e.Token,
				CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))})
			if err != nil {
				t.Fatal(err)
			}
			kder, _ := x509.MarshalECPrivateKey(key)
			cr := &fsync.Credentials{DeviceID: resp.DeviceID, BrokerURL: resp.BrokerURL, CertPEM: []byte(resp.Certificate),
				CAPEM: []byte(resp.CACert), KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
			tc, err := cr.TLSConfig()
			if err != nil {
				t.Fatal(err)
			}
			ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ob.Close()
			h := &assignHandler{}
			c, err := fsync.New(fsync.Config{DeviceID: cr.DeviceID, BrokerURL: cr.BrokerURL, TLS: tc, Outbox: ob, Handler: h,
				Logger: cfg.Logger, MaxReconnectInterval: 500 * time.Millisecond, TelemetryInterval: 100 * time.Millisecond,
				Telemetry: func() proto.Telemetry { return proto.Telemetry{Board: "sim"} }})
			if err != nil {
				t.Fatal(err)
			}
			dctx, dcancel := context.WithCancel(ctx)
			ddone := make(chan struct{})
			go func() { c.Run(dctx); close(ddone) }()
			defer func() { dcancel(); <-ddone }()

			now := time.Now().UTC()
			if _, err := c.Submit(&proto.SessionResult{SessionID: "ses_dev_1", Mode: "active", Verdict: "pass", Confidence: 0.9, DecidedAt: now}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "result acked", func() bool { return ob.Stats().Entries == 0 })
			if s, err := st.GetSession(ctx, "ses_dev_1"); err != nil || s.TenantID != "ten_1" || s.DeviceID != "kiosk-1" {
				t.Fatalf("stored session: %+v %v", s, err)
			}
			pending := &core.Session{ID: core.NewID("ses", now), TenantID: "ten_1", DeviceID: "kiosk-1", Mode: core.ModeActive,
				Status: core.StatusPending, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour)}
			cmdID, err := f.AssignSession(ctx, pending)
			if err != nil || cmdID != fleet.AssignCommandID(pending.ID) {
				t.Fatalf("assign: %q %v", cmdID, err)
			}
			waitFor(t, "assign command at the device", func() bool { return h.got.Load() == proto.CommandAssignSession })
			// The device's answer ends the fleet's repeats of it.
			waitFor(t, "the assign command answered", func() bool { _, kept := f.Pending.Get(cmdID); return !kept })
			// Sent again (an idempotent replay, or by hand): the same
			// command id, answered from the device's records, not run
			// again.
			if id2, err := f.AssignSession(ctx, pending); err != nil || id2 != cmdID {
				t.Fatalf("assign again: %q %v", id2, err)
			}
			waitFor(t, "the repeated assign answered", func() bool { _, kept := f.Pending.Get(cmdID); return !kept })
			if n := h.assigns.Load(); n != 1 {
				t.Fatalf("the device ran the repeated assign command %d times", n)
			}
			other := *pending
			other.TenantID = "ten_2"
			if _, err := f.AssignSession(ctx, &other); err == nil {
				t.Fatal("assigned a session to another tenant's device")
			}

			// OTA: the update command reaches the device, its answer and
			// its telemetry reach the Listener.
			// The device's session coming online reached the listener
			// (embedded: its commands subscription; Mosquitto: its birth).
			waitFor(t, "kiosk-1 online at the listener", func() bool { return lis.onlines("kiosk-1") > 0 })
			args := proto.UpdateArgs{Kind: "firmware", Version: "1.2.0", URL: "https://cloud.example/a", SHA256: "ab", Size: 1, Rollout: "rol_t"}
			exp := time.Now().Add(time.Hour)
			if err := f.SendUpdate(ctx, "kiosk-1", "cmd_rol_t_1", exp, args); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "update answer and board at the listener", func() bool { r, b := lis.saw("rol_t", "sim"); return r && b })
			// The same command sent again (same id) is answered again
			// from the device's records, not run a second time.
			if err := f.SendUpdate(ctx, "kiosk-1", "cmd_rol_t_1", exp, args); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "second answer to the repeated update", func() bool { return lis.answers("rol_t") >= 2 })
			if n := h.updates.Load(); n != 1 {
				t.Fatalf("the device ran the repeated update command %d times", n)
			}
			if err := f.SendUpdate(ctx, "kiosk-9", "cmd_rol_t_2", exp, args); err == nil {
				t.Fatal("update sent to an unknown device")
			}
		})
	}
}
