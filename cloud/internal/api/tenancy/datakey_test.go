package tenancy

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/secret"
)

// TestDataKey: a tenant's data key is made once, even by services racing
// on one store (two replicas), kept sealed under the master key, and
// opened only with that key.
func TestDataKey(t *testing.T) {
	a, _ := newService(t)
	b := New(a.store, a.sealer, a.clock) // another replica: its own cache
	ctx := context.Background()
	nt, err := a.Create(ctx, "Acme", core.TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]*DataKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			k, err := s.DataKey(ctx, nt.Tenant.ID)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sealed := keys[0].Seal([]byte("Ada Lovelace"))
	for i, k := range keys {
		if pt, err := k.Open(sealed); err != nil || string(pt) != "Ada Lovelace" {
			t.Fatalf("key %d does not open key 0's seal: %v", i, err)
		}
		if !bytes.Equal(k.Digest([]byte("x")), keys[0].Digest([]byte("x"))) {
			t.Fatalf("key %d digests differently", i)
		}
	}
	if bytes.Equal(keys[0].Digest([]byte("x")), keys[0].Digest([]byte("y"))) {
		t.Fatal("digest ignores its input")
	}
	st, err := a.store.GetTenant(ctx, nt.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.DataKey) == 0 {
		t.Fatal("no data key stored")
	}
	if _, err := a.sealer.Open(st.DataKey); err != nil {
		t.Fatalf("the stored key is not sealed under the master key: %v", err)
	}
	// Another tenant has its own key.
	other, err := a.Create(ctx, "Other", core.TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := a.DataKey(ctx, other.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ok.Open(sealed); err == nil {
		t.Fatal("another tenant's key opens this tenant's data")
	}
	// A server with another master key cannot open it.
	wrong, err := secret.New(bytes.Repeat([]byte{9}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(a.store, wrong, a.clock).DataKey(ctx, nt.Tenant.ID); err == nil {
		t.Fatal("a different master key opened the data key")
	} else if e, ok := apierr.As(err); !ok || e.Code != apierr.Internal {
		t.Fatalf("error %v", err)
	}
	if _, err := a.DataKey(ctx, "ten_missing"); err == nil {
		t.Fatal("a data key for a missing tenant")
	} else {
		wantCode(t, err, apierr.TenantNotFound)
	}
}

// TestScopes: key creation and rotation keep the scopes given, and refuse
// unknown, repeated or empty lists.
func TestScopes(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	nt, err := s.CreateScoped(ctx, "Acme", core.TenantLive, []string{core.ScopeSessionsRead})
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := s.Authenticate(ctx, nt.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	if !k.HasScope(core.ScopeSessionsRead) || k.HasScope(core.ScopeSessionsWrite) {
		t.Fatalf("scopes %v", k.Scopes)
	}
	key, _, err := s.RotateKey(ctx, nt.Tenant.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if k, _, err = s.Authenticate(ctx, key); err != nil || k.Scopes != nil || !k.HasScope(core.ScopeSessionsWrite) {
		t.Fatalf("a key rotated without a list: %v %v", k, err)
	}
	for _, bad := range [][]string{{}, {"admin"}, {core.ScopeSessionsRead, core.ScopeSessionsRead}} {
		if _, _, err := s.RotateKeyScoped(ctx, nt.Tenant.ID, 0, bad); err == nil {
			t.Fatalf("rotation with scopes %q accepted", bad)
		} else {
			wantCode(t, err, apierr.InvalidField)
		}
		if _, err := s.CreateScoped(ctx, "X", core.TenantTest, bad); err == nil {
			t.Fatalf("creation with scopes %q accepted", bad)
		}
	}
	// A refused rotation changed nothing: the rotated key still works.
	if _, _, err := s.Authenticate(ctx, key); err != nil {
		t.Fatal(err)
	}
}
