package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/bolt"
)

func TestRedirectTarget(t *testing.T) {
	cases := []struct{ redirect, want string }{
		{"", ""},
		{"https://app.example.com/done", "https://app.example.com/done?session_id=ses_1"},
		{"https://app.example.com/done?ref=a&x=%2F", "https://app.example.com/done?ref=a&x=%2F&session_id=ses_1"},
		{"https://app.example.com/done?session_id=old&b=2", "https://app.example.com/done?b=2&session_id=ses_1"},
		{"https://app.example.com/done#frag", "https://app.example.com/done?session_id=ses_1#frag"},
	}
	for _, c := range cases {
		if got := RedirectTarget(&core.Session{ID: "ses_1", RedirectURL: c.redirect}); got != c.want {
			t.Errorf("RedirectTarget(%q) = %q, want %q", c.redirect, got, c.want)
		}
	}
	// A verification session (one with a flow) names itself in camelCase,
	// like the rest of /v1/sessions; a session_id already there is kept.
	vcases := []struct{ redirect, want string }{
		{"https://app.example.com/done", "https://app.example.com/done?sessionId=ses_1"},
		{"https://app.example.com/done?ref=a", "https://app.example.com/done?ref=a&sessionId=ses_1"},
		{"https://app.example.com/done?sessionId=old&b=2", "https://app.example.com/done?b=2&sessionId=ses_1"},
		{"https://app.example.com/done?session_id=x", "https://app.example.com/done?session_id=x&sessionId=ses_1"},
	}
	for _, c := range vcases {
		sess := &core.Session{ID: "ses_1", RedirectURL: c.redirect, Flow: []string{CheckLiveness}}
		if got := RedirectTarget(sess); got != c.want {
			t.Errorf("RedirectTarget(verification %q) = %q, want %q", c.redirect, got, c.want)
		}
	}
}

type notifier struct{ n int }

func (n *notifier) Notify() { n.n++ }

func newService(t *testing.T) (*Service, *clock.Fake, *notifier) {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	n := &notifier{}
	s, err := New(Config{Store: st, URLs: netguard.Policy{Dev: true}, TokenKey: bytes.Repeat([]byte{9}, 32),
		PublicURL: "https://verify.example.com/", Notifier: n, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk, n
}

func TestCompleteExpireAndEvents(t *testing.T) {
	s, clk, n := newService(t)
	ctx := context.Background()
	p := Principal{Kind: PrincipalTenant, TenantID: "ten_1", Test: true}
	c, err := s.Create(ctx, p, core.KindManaged, CreateRequest{WebhookURL: "http://127.0.0.1:9/h"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionURL != "https://verify.example.com/s/"+c.Session.ID+"?t="+c.ClientToken {
		t.Fatalf("session url %q", c.SessionURL)
	}
	if ok, _ := s.TokenValid(c.Session, c.Token); !ok || !s.ClientTokenValid(c.Session, c.ClientToken) {
		t.Fatal("tokens not valid for their session")
	}
	if ok, _ := s.TokenValid(c.Session, c.ClientToken); ok {
		t.Fatal("client token accepted as result token")
	}
	// The verdict follows the bands when not given.
	done, err := s.Complete(ctx, c.Session.ID, Outcome{Confidence: 0.5})
	if err != nil || *done.Verdict != core.VerdictRetry || done.Photo != core.PhotoNone || n.n != 1 {
		t.Fatalf("complete: %+v %v (notified %d)", done, err, n.n)
	}
	ds, _ := s.cfg.Store.ListDeliveries(ctx, storeFilter(c.Session.ID))
	if len(ds) != 1 || ds[0].Type != core.EventSessionCompleted || ds[0].TenantID != "ten_1" {
		t.Fatalf("deliveries %+v", ds)
	}
	// A pass without a photo marks it pending.
	c2, _ := s.Create(ctx, p, core.KindManaged, CreateRequest{}, "")
	done, err = s.Complete(ctx, c2.Session.ID, Outcome{Confidence: 0.9})
	if err != nil || done.Photo != core.PhotoPending || n.n != 1 {
		t.Fatalf("pass without photo: %+v %v (notified %d: no webhook_url, no notify)", done, err, n.n)
	}
	// Past the TTL, Complete expires instead and says so.
	c3, _ := s.Create(ctx, p, core.KindManaged, CreateRequest{WebhookURL: "http://127.0.0.1:9/h"}, "")
	clk.Advance(30 * time.Minute)
	got, err := s.Complete(ctx, c3.Session.ID, Outcome{Confidence: 0.9})
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != apierr.SessionExpired || got.Status != core.StatusExpired {
		t.Fatalf("complete after TTL: %v %+v", err, got)
	}
	ds, _ = s.cfg.Store.ListDeliveries(ctx, storeFilter(c3.Session.ID))
	if len(ds) != 1 || ds[0].Type != core.EventSessionExpired {
		t.Fatalf("expiry deliveries %+v", ds)
	}
	// Every session is terminal now: nothing left to sweep.
	if n := s.SweepOnce(ctx); n != 0 {
		t.Fatalf("swept %d", n)
	}
	// A refused completion does not touch the stored photo.
	c4, _ := s.Create(ctx, p, core.KindManaged, CreateRequest{}, "")
	if _, err := s.Complete(ctx, c4.Session.ID, Outcome{Confidence: 0.9, Photo: []byte("first")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Complete(ctx, c4.Session.ID, Outcome{Confidence: 0.9, Photo: []byte("second")}); err == nil {
		t.Fatal("second completion accepted")
	}
	if b, err := s.Photo(ctx, c4.Session.ID); err != nil || string(b) != "first" {
		t.Fatalf("photo after a refused completion: %q %v", b, err)
	}
	if _, err := s.Complete(ctx, c.Session.ID, Outcome{Confidence: 2}); err == nil {
		t.Fatal("confidence 2 accepted")
	}
}

func TestSweepExpiresAllDue(t *testing.T) {
	s, clk, _ := newService(t)
	ctx := context.Background()
	for i := 0; i < sweepBatch+5; i++ {
		if _, err := s.Create(ctx, Principal{}, core.KindDirect, CreateRequest{}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.SweepOnce(ctx); n != 0 {
		t.Fatalf("swept %d before the TTL", n)
	}
	clk.Advance(s.TTL())
	if n := s.SweepOnce(ctx); n != sweepBatch+5 {
		t.Fatalf("swept %d, want %d", n, sweepBatch+5)
	}
}

func storeFilter(sessionID string) store.DeliveryFilter {
	return store.DeliveryFilter{SessionID: sessionID}
}
