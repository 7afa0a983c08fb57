package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/fleet/broker"
	"livegate.dev/cloud/internal/fleet/ingest"
	"livegate.dev/cloud/internal/fleet/provision"
	"livegate.dev/cloud/internal/store"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

// handler records commands and accepts them.
type handler struct {
	mu   sync.Mutex
	cmds []proto.Command
}

func (h *handler) HandleCommand(_ context.Context, _ string, c *proto.Command) proto.CommandResponse {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, *c)
	return proto.CommandResponse{Status: "accepted"}
}

func (h *handler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.cmds)
}

func TestEmbeddedEndToEnd(t *testing.T) {
	for _, mtls := range []bool{true, false} {
		t.Run(fmt.Sprintf("mtls=%v", mtls), func(t *testing.T) {
			ctx := context.Background()
			c := newCloud(t, t.TempDir())
			b, svc := startEmbedded(t, ctx, c, true)
			var n counter
			var respMu sync.Mutex
			resps := map[string]string{}
			in := startIngest(t, ctx, ingest.Config{Store: c.st, BrokerURL: b.URL(), Username: broker.ServiceUser, Password: svc,
				TLS: &tls.Config{RootCAs: c.ca.Pool(), MinVersion: tls.VersionTLS12}, Notifier: &n,
				OnCommandResponse: func(_ context.Context, dev string, r *proto.CommandResponse) {
					respMu.Lock()
					resps[r.Of] = r.Status
					respMu.Unlock()
				}})
			id := "kiosk-a"
			cr := c.enroll(t, id, mtls)
			h := &handler{}
			d := startDevice(t, ctx, cr, b.URL(), t.TempDir(), func(cfg *fsync.Config) { cfg.Handler = h })

			var ids []string
			for i := range 100 {
				r := result("emb", i)
				if _, err := d.c.Submit(r); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.SessionID)
			}
			waitFor(t, 30*time.Second, "outbox drained", func() bool { return d.ob.Stats().Entries == 0 })
			verifyExactlyOnce(t, c.st, id, ids)
			if n.n.Load() != 100 {
				t.Fatalf("webhook worker notified %d times, want 100", n.n.Load())
			}
			if s, ok := d.c.ClockSkew(); !ok || s > time.Second || s < -time.Second {
				t.Fatalf("clock skew %v, %v (same machine: want |skew| < 1s)", s, ok)
			}

			// Registry: status from the birth, versions and depth from telemetry.
			waitFor(t, 10*time.Second, "registry updated", func() bool {
				dev, err := c.st.GetDevice(ctx, id)
				return err == nil && dev.Status == proto.StatusOnline && dev.FirmwareVersion == "1.4.2" &&
					dev.LastTelemetryAt != nil && dev.OutboxDepth == 0 && dev.LastSeen != nil
			})

			// Flow 3: the cloud assigns a pending session; the device's result completes it.
			now := time.Now().UTC()
			pending := &core.Session{ID: core.NewID("ses", now), Kind: core.KindManaged, TenantID: tenantID, Mode: core.ModeActive,
				DeviceID: id, WebhookURL: "https://hooks.example.com/assigned", Status: core.StatusPending,
				CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour), ClientExpiresAt: now.Add(time.Hour), Version: 1}
			if _, err := c.st.CreateSession(ctx, pending, nil); err != nil {
				t.Fatal(err)
			}
			cmdID := core.NewID("cmd", now)
			if err := in.PublishCommand(ctx, id, cmdID, proto.CommandAssignSession,
				proto.AssignSessionArgs{SessionID: pending.ID, Mode: "active", ExpiresAt: pending.ExpiresAt}, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "command answered", func() bool {
				respMu.Lock()
				defer respMu.Unlock()
				return resps[cmdID] == "accepted"
			})
			h.mu.Lock()
			var args proto.AssignSessionArgs
			if len(h.cmds) != 1 || json.Unmarshal(h.cmds[0].Args, &args) != nil || args.SessionID != pending.ID {
				t.Fatalf("device got commands %+v", h.cmds)
			}
			h.mu.Unlock()
			ar := result("emb", 1000)
			ar.SessionID, ar.Assigned, ar.Mode = pending.ID, true, "active"
			if _, err := d.c.Submit(ar); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "assigned result acked", func() bool { return d.ob.Stats().Entries == 0 })
			got, err := c.st.GetSession(ctx, pending.ID)
			if err != nil || got.Status != core.StatusCompleted || got.Verdict == nil || *got.Verdict != core.VerdictPass {
				t.Fatalf("assigned session after the result: %+v %v", got, err)
			}
			ds, _ := c.st.ListDeliveries(ctx, store.DeliveryFilter{SessionID: pending.ID})
			if len(ds) != 1 || ds[0].URL != "https://hooks.example.com/assigned" {
				t.Fatalf("assigned session deliveries: %d", len(ds))
			}

			// Revocation: the live connection is dropped and reconnects are refused.
			if _, err := c.prov.Revoke(ctx, id); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "revoked device disconnected", func() bool { return !d.c.Connected() })
			if err := c.prov.AuthenticateDevice(ctx, id, []byte(cr.Password), nil); !errors.Is(err, provision.ErrRefused) {
				t.Fatalf("revoked device authenticated: %v", err)
			}
			if err := rawConnect(cr, b.URL(), id); err == nil {
				t.Fatal("the broker accepted a revoked device")
			}
		})
	}
}

func rawOptions(cr *fsync.Credentials, url, clientID string) *paho.ClientOptions {
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetAutoReconnect(false).
		SetConnectTimeout(5 * time.Second).SetCleanSession(true)
	if cr.Username != "" {
		o.SetUsername(cr.Username).SetPassword(cr.Password)
	}
	if tc, err := cr.TLSConfig(); err == nil && tc != nil {
		o.SetTLSConfig(tc)
	} else if len(cr.CAPEM) > 0 {
		c := *cr
		c.CertPEM = nil
		o.SetTLSConfig(&tls.Config{RootCAs: poolOf(cr.CAPEM), MinVersion: tls.VersionTLS12})
	}
	return o
}

func rawConnect(cr *fsync.Credentials, url, clientID string) error {
	cl := paho.NewClient(rawOptions(cr, url, clientID))
	t := cl.Connect()
	if !t.WaitTimeout(10 * time.Second) {
		return errors.New("connect timed out")
	}
	if t.Error() == nil {
		cl.Disconnect(0)
	}
	return t.Error()
}

func TestEmbeddedAuthAndACL(t *testing.T) {
	ctx := context.Background()
	c := newCloud(t, t.TempDir())
	b, svc := startEmbedded(t, ctx, c, true)
	var n counter
	startIngest(t, ctx, ingest.Config{Store: c.st, BrokerURL: b.URL(), Username: broker.ServiceUser, Password: svc,
		TLS: &tls.Config{RootCAs: c.ca.Pool(), MinVersion: tls.VersionTLS12}, Notifier: &n})
	a := c.enroll(t, "kiosk-a", false)
	bcr := c.enroll(t, "kiosk-b", true)

	wrong := *a
	wrong.Password = "nope"
	otherID := *a
	tests := []struct {
		name     string
		cr       *fsync.Credentials
		clientID string
		ok       bool
	}{
		{"password", a, "kiosk-a", true},
		{"certificate", bcr, "kiosk-b", true},
		{"wrong password", &wrong, "kiosk-a", false},
		{"client id of another device", &otherID, "kiosk-b", false},
		{"certificate as another device", bcr, "kiosk-a", false},
		{"service name without its password", &fsync.Credentials{Username: broker.ServiceUser, Password: "x", CAPEM: a.CAPEM}, "svc", false},
	}
	for _, tt := range tests {
		err := rawConnect(tt.cr, b.URL(), tt.clientID)
		if (err == nil) != tt.ok {
			t.Errorf("%s: connect err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}

	// kiosk-a may not publish as kiosk-b nor read kiosk-b's commands.
	cl := paho.NewClient(rawOptions(a, b.URL(), "kiosk-a"))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer cl.Disconnect(0)
	sub := cl.Subscribe(proto.Topic("kiosk-b", proto.TopicCommands), 1, func(paho.Client, paho.Message) {})
	sub.WaitTimeout(5 * time.Second)
	if st := sub.(*paho.SubscribeToken); st.Result()[proto.Topic("kiosk-b", proto.TopicCommands)] != 0x80 {
		t.Fatalf("subscribing to another device's commands: %v", st.Result())
	}
	// A publish on another device's topic is refused and the client is
	// disconnected (mochi-mqtt, MQTT 3.1.1 has no PUBACK reason code).
	_, forged, _ := fsync.EncodeResult(result("acl", 1), time.Now())
	cl.Publish(proto.Topic("kiosk-b", proto.TopicSessions), 1, false, forged).WaitTimeout(2 * time.Second)
	waitFor(t, 5*time.Second, "forging client disconnected", func() bool { return !cl.IsConnectionOpen() })
	cl = paho.NewClient(rawOptions(a, b.URL(), "kiosk-a"))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer cl.Disconnect(0)
	_, own, _ := fsync.EncodeResult(result("acl", 2), time.Now())
	cl.Publish(proto.Topic("kiosk-a", proto.TopicSessions), 1, false, own).WaitTimeout(5 * time.Second)
	waitFor(t, 10*time.Second, "own result stored", func() bool { return n.n.Load() >= 1 })
	if _, err := c.st.GetSession(ctx, result("acl", 1).SessionID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a result published on another device's topic was stored: %v", err)
	}
	if s, err := c.st.GetSession(ctx, result("acl", 2).SessionID); err != nil || s.DeviceID != "kiosk-a" {
		t.Fatalf("own result: %+v %v", s, err)
	}
}
