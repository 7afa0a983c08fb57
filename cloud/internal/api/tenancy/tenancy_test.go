package tenancy

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/cloud/internal/webhook"
)

func newService(t *testing.T) (*Service, *clock.Fake) {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	return New(st, sealer, clk), clk
}

func wantCode(t *testing.T, err error, c apierr.Code) {
	t.Helper()
	e, ok := apierr.As(err)
	if !ok || e.Code != c {
		t.Fatalf("error %v, want %s", err, c.ID)
	}
}

func TestCreateAndAuthenticate(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	for _, mode := range []core.TenantMode{core.TenantLive, core.TenantTest} {
		nt, err := s.Create(ctx, "Acme "+string(mode), mode)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(nt.APIKey, "iksk_"+string(mode)+"_") || len(nt.APIKey) < 40 {
			t.Fatalf("key %q", nt.APIKey)
		}
		if !strings.HasPrefix(nt.WebhookSecret, "whsec_") {
			t.Fatalf("webhook secret %q", nt.WebhookSecret)
		}
		k, ten, err := s.Authenticate(ctx, nt.APIKey)
		if err != nil || ten.ID != nt.Tenant.ID || k.Mode != mode {
			t.Fatalf("Authenticate = %v %v %v", k, ten, err)
		}
		secs, err := secrets(s, nt.Tenant.ID)
		if err != nil || len(secs) != 1 || string(secs[0]) != nt.WebhookSecret {
			t.Fatalf("WebhookSecrets = %q, %v", secs, err)
		}
		// Only the hash is stored.
		keys, _ := s.Keys(ctx, nt.Tenant.ID)
		if len(keys) != 1 || bytes.Contains(keys[0].Hash, []byte(nt.APIKey)) || !strings.HasPrefix(nt.APIKey, keys[0].Prefix) {
			t.Fatalf("stored key %+v", keys[0])
		}
	}
	for _, bad := range []string{"", "iksk_live_nope", "whsec_x", nt0(t, s)[:20]} {
		_, _, err := s.Authenticate(ctx, bad)
		wantCode(t, err, apierr.AuthInvalid)
	}
	_, err := s.Create(ctx, "", core.TenantLive)
	wantCode(t, err, apierr.InvalidField)
	_, err = s.Create(ctx, "x", "sandbox")
	wantCode(t, err, apierr.InvalidField)
}

// secrets opens the tenant's current webhook secrets as the delivery worker does.
func secrets(s *Service, tenantID string) ([][]byte, error) {
	t, err := s.Get(context.Background(), tenantID)
	if err != nil {
		return nil, err
	}
	return webhook.TenantSecrets(s.sealer, t, s.clock.Now())
}

func nt0(t *testing.T, s *Service) string {
	nt, err := s.Create(context.Background(), "other", core.TenantLive)
	if err != nil {
		t.Fatal(err)
	}
	return nt.APIKey
}

func TestRotateAndRevoke(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	nt, err := s.Create(ctx, "Acme", core.TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	newKey, k, err := s.RotateKey(ctx, nt.Tenant.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{nt.APIKey, newKey} {
		if _, _, err := s.Authenticate(ctx, key); err != nil {
			t.Fatalf("key unusable during grace: %v", err)
		}
	}
	clk.Advance(time.Hour)
	_, _, err = s.Authenticate(ctx, nt.APIKey)
	wantCode(t, err, apierr.AuthInvalid)
	if _, _, err := s.Authenticate(ctx, newKey); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeKey(ctx, nt.Tenant.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Authenticate(ctx, newKey)
	wantCode(t, err, apierr.AuthInvalid)
	_, err = s.RevokeKey(ctx, "ten_other", k.ID)
	wantCode(t, err, apierr.KeyNotFound)
	_, _, err = s.RotateKey(ctx, "ten_missing", 0)
	wantCode(t, err, apierr.TenantNotFound)

	// Webhook secret rotation: two secrets during the grace period, newest first.
	whsec, _, err := s.RotateWebhookSecret(ctx, nt.Tenant.ID, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	secs, _ := secrets(s, nt.Tenant.ID)
	if len(secs) != 2 || string(secs[0]) != whsec || string(secs[1]) != nt.WebhookSecret {
		t.Fatalf("secrets during rotation: %q", secs)
	}
	clk.Advance(24 * time.Hour)
	secs, _ = secrets(s, nt.Tenant.ID)
	if len(secs) != 1 || string(secs[0]) != whsec {
		t.Fatalf("secrets after grace: %q", secs)
	}
}

func TestRevocationByAnotherReplica(t *testing.T) {
	a, clk := newService(t)
	b := New(a.store, a.sealer, clk) // a second replica on the same store
	ctx := context.Background()
	nt, err := a.Create(ctx, "Acme", core.TenantLive)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Authenticate(ctx, nt.APIKey); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RevokeKey(ctx, nt.Tenant.ID, nt.KeyID); err != nil {
		t.Fatal(err)
	}
	// The replica that revoked refuses at once.
	_, _, err = b.Authenticate(ctx, nt.APIKey)
	wantCode(t, err, apierr.AuthInvalid)
	// The other may use its cached lookup until AuthCacheTTL, not longer.
	clk.Advance(AuthCacheTTL)
	_, _, err = a.Authenticate(ctx, nt.APIKey)
	wantCode(t, err, apierr.AuthInvalid)
}

// TestTenantName: a name is 1–200 characters of text; control characters
// (a terminal escape, NUL, a newline) are refused — a name reaches
// consoles, logs and terminals.
func TestTenantName(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Acme Bank — Lisboa", true},
		{"银行", true},
		{strings.Repeat("a", 200), true},
		{"", false},
		{strings.Repeat("a", 201), false},
		{"Acme\x1b[2J", false},
		{"Acme\x00", false},
		{"Acme\nBank", false},
	} {
		_, err := s.Create(ctx, tc.name, core.TenantTest)
		if (err == nil) != tc.ok {
			t.Errorf("Create(%q): %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
