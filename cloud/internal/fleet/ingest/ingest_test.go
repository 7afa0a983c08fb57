package ingest

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/proto"
)

var t0 = time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)

func enrolled(t *testing.T, st store.Store, id, tenant string, revoked bool) {
	t.Helper()
	ctx := context.Background()
	e := &store.Enrollment{Hash: core.HashSecret(id), DeviceID: id, TenantID: tenant, WebhookURL: "https://h.example.com/x", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := st.CreateEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	_, err := st.ConsumeEnrollment(ctx, e.Hash, t0, func(e *store.Enrollment) (*store.Device, error) {
		d := &store.Device{ID: e.DeviceID, TenantID: e.TenantID, WebhookURL: e.WebhookURL, CreatedAt: t0}
		if revoked {
			d.RevokedAt = &t0
		}
		return d, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func payload(t *testing.T, r proto.SessionResult) []byte {
	t.Helper()
	b, err := proto.Encode("res_"+r.SessionID, proto.TypeSessionResult, t0, &r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRefusals covers the results that are never stored nor acked. (The
// stored-and-acked paths run against real brokers in fleet/e2e.)
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	enrolled(t, st, "k1", "ten_1", false)
	enrolled(t, st, "k2", "ten_1", false)
	enrolled(t, st, "k-rev", "ten_1", true)
	now := t0
	// A session of k2 that k1 will claim.
	v, c := core.VerdictPass, 0.9
	if _, err := st.CreateSession(ctx, &core.Session{ID: "ses_k2", TenantID: "ten_1", DeviceID: "k2", Status: core.StatusCompleted,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now, Verdict: &v, Confidence: &c}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSession(ctx, &core.Session{ID: "ses_pending_k2", TenantID: "ten_1", DeviceID: "k2", Status: core.StatusPending,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	in, err := New(Config{Store: st, BrokerURL: "tcp://127.0.0.1:1", Clock: clock.NewFake(t0), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ok := proto.SessionResult{SessionID: "ses_x", Mode: "active", Verdict: "pass", Confidence: 0.9, DecidedAt: t0}
	tests := []struct {
		name    string
		dev     string
		payload []byte
		want    error
	}{
		{"garbage", "k1", []byte("{"), proto.ErrInvalid},
		{"wrong type", "k1", func() []byte { b, _ := proto.Encode("m", proto.TypeAck, t0, &proto.Ack{Of: "x"}); return b }(), proto.ErrInvalid},
		{"unknown device", "k-none", payload(t, ok), store.ErrNotFound},
		{"revoked device", "k-rev", payload(t, ok), nil},
		{"another device's session", "k1", payload(t, func() proto.SessionResult { r := ok; r.SessionID = "ses_k2"; return r }()), ErrForeignSession},
		{"another device's assigned session", "k1", payload(t, func() proto.SessionResult {
			r := ok
			r.SessionID, r.Assigned = "ses_pending_k2", true
			return r
		}()), ErrForeignSession},
	}
	for _, tt := range tests {
		ack, err := in.HandleResult(ctx, tt.dev, tt.payload)
		if err == nil || ack != nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: ack %v, err %v; want no ack and %v", tt.name, ack, err, tt.want)
		}
	}
	if s, _ := st.GetSession(ctx, "ses_pending_k2"); s.Status != core.StatusPending {
		t.Fatalf("foreign assigned session changed: %s", s.Status)
	}
	if _, err := st.GetSession(ctx, "ses_x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused result was stored: %v", err)
	}
}
