package tenancy

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store"
)

// KeyPrefix is the prefix of every tenant API key.
const KeyPrefix = "iksk_"

// AuthCacheTTL is how long a successful key lookup is reused. A key revoked
// or rotated through this process stops at once; through another replica
// (or the offline CLI), within AuthCacheTTL.
const AuthCacheTTL = 5 * time.Second

const authCacheMax = 10000

// Service manages tenants and keys.
type Service struct {
	store  store.Store
	sealer *secret.Sealer
	clock  clock.Clock

	mu    sync.Mutex
	cache map[string]authEntry // by key hash
	data  map[string]*DataKey  // tenants' data keys, by tenant id (never change)
}

type authEntry struct {
	key    *core.APIKey
	tenant *core.Tenant
	until  time.Time
}

// New returns a Service. clk may be nil (the real clock).
func New(st store.Store, sealer *secret.Sealer, clk clock.Clock) *Service {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Service{store: st, sealer: sealer, clock: clk, cache: map[string]authEntry{}, data: map[string]*DataKey{}}
}

// forget drops cached lookups of a tenant's keys.
func (s *Service) forget(tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, e := range s.cache {
		if e.key.TenantID == tenantID {
			delete(s.cache, h)
		}
	}
}

// NewTenant is a created tenant with its secrets, shown once.
type NewTenant struct {
	Tenant        *core.Tenant
	KeyID         string
	APIKey        string
	WebhookSecret string
}

// Create makes a tenant with its first API key and webhook secret.
func (s *Service) Create(ctx context.Context, name string, mode core.TenantMode) (*NewTenant, error) {
	return s.CreateScoped(ctx, name, mode, nil)
}

// CheckScopes validates a key's scope list: nil (every scope) or at least
// one known scope, none twice.
func CheckScopes(scopes []string) error {
	if scopes == nil {
		return nil
	}
	if len(scopes) == 0 {
		return apierr.New(apierr.InvalidField, "field \"scopes\" must name at least one scope (%s), or be left out for every scope", strings.Join(core.Scopes, ", "))
	}
	seen := map[string]bool{}
	for i, sc := range scopes {
		if !slices.Contains(core.Scopes, sc) {
			return apierr.New(apierr.InvalidField, "field \"scopes\"[%d] is %q: want one of %s", i, sc, strings.Join(core.Scopes, ", "))
		}
		if seen[sc] {
			return apierr.New(apierr.InvalidField, "field \"scopes\" names %q twice", sc)
		}
		seen[sc] = true
	}
	return nil
}

// CreateScoped is Create whose first key carries scopes (nil: every scope).
func (s *Service) CreateScoped(ctx context.Context, name string, mode core.TenantMode, scopes []string) (*NewTenant, error) {
	if err := CheckScopes(scopes); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return nil, apierr.New(apierr.InvalidField, "field \"name\" must be 1–200 characters")
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		// A name is shown in consoles and terminals: an escape sequence in it
		// would reach an operator's screen.
		return nil, apierr.New(apierr.InvalidField, "field \"name\" must not hold control characters")
	}
	if mode != core.TenantLive && mode != core.TenantTest {
		return nil, apierr.New(apierr.InvalidField, "field \"mode\" must be \"live\" or \"test\", got %q", mode)
	}
	now := s.clock.Now().UTC()
	whsec := core.NewSecret("whsec_")
	t := &core.Tenant{
		ID:             core.NewID("ten", now),
		Name:           name,
		Mode:           mode,
		CreatedAt:      now,
		WebhookSecrets: []core.SealedSecret{{Sealed: s.sealer.Seal([]byte(whsec)), CreatedAt: now}},
	}
	key, k := s.newKey(t.ID, mode, now)
	k.Scopes = slices.Clone(scopes)
	if err := s.store.CreateTenant(ctx, t, k); err != nil {
		return nil, storeErr("creating tenant", err)
	}
	return &NewTenant{Tenant: t, KeyID: k.ID, APIKey: key, WebhookSecret: whsec}, nil
}

func (s *Service) newKey(tenantID string, mode core.TenantMode, now time.Time) (string, *core.APIKey) {
	key := core.NewSecret(KeyPrefix + string(mode) + "_")
	return key, &core.APIKey{
		ID:        core.NewID("key", now),
		TenantID:  tenantID,
		Hash:      core.HashSecret(key),
		Prefix:    key[:len(KeyPrefix)+len(mode)+1+4],
		Mode:      mode,
		CreatedAt: now,
	}
}

// Get returns a tenant.
func (s *Service) Get(ctx context.Context, id string) (*core.Tenant, error) {
	t, err := s.store.GetTenant(ctx, id)
	if err != nil {
		return nil, storeErr("reading tenant", err)
	}
	return t, nil
}

// List returns every tenant.
func (s *Service) List(ctx context.Context) ([]*core.Tenant, error) {
	ts, err := s.store.ListTenants(ctx)
	if err != nil {
		return nil, storeErr("listing tenants", err)
	}
	return ts, nil
}

// Keys lists a tenant's keys (hashes only).
func (s *Service) Keys(ctx context.Context, tenantID string) ([]*core.APIKey, error) {
	if _, err := s.Get(ctx, tenantID); err != nil {
		return nil, err
	}
	ks, err := s.store.ListAPIKeys(ctx, tenantID)
	if err != nil {
		return nil, storeErr("listing keys", err)
	}
	return ks, nil
}

// RotateKey adds a new key to the tenant. Every key usable now keeps working
// for grace (0: stops at once), then expires.
func (s *Service) RotateKey(ctx context.Context, tenantID string, grace time.Duration) (string, *core.APIKey, error) {
	return s.RotateKeyScoped(ctx, tenantID, grace, nil)
}

// RotateKeyScoped is RotateKey whose new key carries scopes (nil: every
// scope).
func (s *Service) RotateKeyScoped(ctx context.Context, tenantID string, grace time.Duration, scopes []string) (string, *core.APIKey, error) {
	if err := CheckScopes(scopes); err != nil {
		return "", nil, err
	}
	if grace < 0 {
		return "", nil, apierr.New(apierr.InvalidField, "grace period must not be negative")
	}
	t, err := s.Get(ctx, tenantID)
	if err != nil {
		return "", nil, err
	}
	now := s.clock.Now().UTC()
	old, err := s.store.ListAPIKeys(ctx, tenantID)
	if err != nil {
		return "", nil, storeErr("listing keys", err)
	}
	key, k := s.newKey(tenantID, t.Mode, now)
	k.Scopes = slices.Clone(scopes)
	defer s.forget(tenantID)
	if err := s.store.PutAPIKey(ctx, k); err != nil {
		return "", nil, storeErr("storing key", err)
	}
	until := now.Add(grace)
	for _, o := range old {
		if !o.Usable(now) {
			continue
		}
		_, err := s.store.UpdateAPIKey(ctx, o.ID, func(k *core.APIKey) error {
			if k.ExpiresAt == nil || k.ExpiresAt.After(until) {
				k.ExpiresAt = &until
			}
			return nil
		})
		if err != nil {
			return "", nil, storeErr("expiring old key", err)
		}
	}
	return key, k, nil
}

// RevokeKey revokes one key at once.
func (s *Service) RevokeKey(ctx context.Context, tenantID, keyID string) (*core.APIKey, error) {
	now := s.clock.Now().UTC()
	defer s.forget(tenantID)
	k, err := s.store.UpdateAPIKey(ctx, keyID, func(k *core.APIKey) error {
		if k.TenantID != tenantID {
			return store.ErrNotFound
		}
		if k.RevokedAt == nil {
			k.RevokedAt = &now
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.New(apierr.KeyNotFound, "tenant %s has no key %s", tenantID, keyID)
	}
	if err != nil {
		return nil, storeErr("revoking key", err)
	}
	return k, nil
}

// RotateWebhookSecret makes a new signing secret. The current ones keep
// signing (a second v1 signature) for grace, then are dropped.
func (s *Service) RotateWebhookSecret(ctx context.Context, tenantID string, grace time.Duration) (string, *core.Tenant, error) {
	if grace < 0 {
		return "", nil, apierr.New(apierr.InvalidField, "grace period must not be negative")
	}
	now := s.clock.Now().UTC()
	defer s.forget(tenantID)
	whsec := core.NewSecret("whsec_")
	sealed := s.sealer.Seal([]byte(whsec))
	until := now.Add(grace)
	t, err := s.store.UpdateTenant(ctx, tenantID, func(t *core.Tenant) error {
		keep := []core.SealedSecret{{Sealed: sealed, CreatedAt: now}}
		if grace > 0 {
			for _, old := range t.WebhookSecrets {
				if old.ExpiresAt != nil && !now.Before(*old.ExpiresAt) {
					continue
				}
				if old.ExpiresAt == nil || old.ExpiresAt.After(until) {
					old.ExpiresAt = &until
				}
				keep = append(keep, old)
			}
		}
		t.WebhookSecrets = keep
		return nil
	})
	if err != nil {
		return "", nil, storeErr("rotating webhook secret", err)
	}
	return whsec, t, nil
}

// SetSettings replaces the tenant's settings (unset fields take their
// defaults); a value out of its range gets apierr.SettingInvalid and
// changes nothing. Sessions read the settings when their capture connects,
// on every replica, so a change applies from the next connection.
func (s *Service) SetSettings(ctx context.Context, tenantID string, settings core.TenantSettings) (*core.Tenant, error) {
	if err := settings.Validate(); err != nil {
		return nil, apierr.New(apierr.SettingInvalid, "%s", err)
	}
	defer s.forget(tenantID)
	t, err := s.store.UpdateTenant(ctx, tenantID, func(t *core.Tenant) error {
		t.Settings = settings
		return nil
	})
	if err != nil {
		return nil, storeErr("updating tenant settings", err)
	}
	return t, nil
}

// SetCapturePage changes the tenant's capture page settings
// (core.CapturePage) with fn, which gets them as stored; the caller has
// checked the new values (web.CheckPage, web.ProcessLogo). Pages read them
// when they load, on every replica.
func (s *Service) SetCapturePage(ctx context.Context, tenantID string, fn func(*core.CapturePage)) (*core.Tenant, error) {
	defer s.forget(tenantID)
	t, err := s.store.UpdateTenant(ctx, tenantID, func(t *core.Tenant) error {
		fn(&t.CapturePage)
		return nil
	})
	if err != nil {
		return nil, storeErr("updating the tenant's capture page", err)
	}
	return t, nil
}

// SetWorkflows replaces the tenant's workflows (checked by the caller).
func (s *Service) SetWorkflows(ctx context.Context, tenantID string, w map[string]core.Workflow) (*core.Tenant, error) {
	defer s.forget(tenantID)
	t, err := s.store.UpdateTenant(ctx, tenantID, func(t *core.Tenant) error {
		t.Workflows = w
		return nil
	})
	if err != nil {
		return nil, storeErr("updating the tenant's workflows", err)
	}
	return t, nil
}

// DataKey is a tenant's data key, open: it seals the personal data of the
// tenant's sessions and computes keyed digests of it.
type DataKey struct {
	sealer *secret.Sealer
	mac    []byte
}

// Seal encrypts plaintext with the tenant's data key.
func (k *DataKey) Seal(plaintext []byte) []byte { return k.sealer.Seal(plaintext) }

// Open decrypts what Seal made.
func (k *DataKey) Open(sealed []byte) ([]byte, error) { return k.sealer.Open(sealed) }

// Digest is an HMAC-SHA256 of b under a key derived from the data key:
// equal for equal inputs, useless without the key.
func (k *DataKey) Digest(b []byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write(b)
	return m.Sum(nil)
}

// DataKey returns the tenant's data key (core.Tenant's DataKey, itself
// sealed under the master key), making it on first use.
func (s *Service) DataKey(ctx context.Context, tenantID string) (*DataKey, error) {
	s.mu.Lock()
	ds, ok := s.data[tenantID]
	s.mu.Unlock()
	if ok {
		return ds, nil
	}
	t, err := s.Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if len(t.DataKey) == 0 {
		fresh := make([]byte, secret.KeySize)
		if _, err := rand.Read(fresh); err != nil {
			return nil, apierr.Wrap(apierr.Internal, err, "making the tenant's data key failed")
		}
		sealed := s.sealer.Seal(fresh)
		t, err = s.store.UpdateTenant(ctx, tenantID, func(t *core.Tenant) error {
			if len(t.DataKey) == 0 { // another request or replica may have made one first
				t.DataKey = sealed
			}
			return nil
		})
		if err != nil {
			return nil, storeErr("storing the tenant's data key", err)
		}
	}
	key, err := s.sealer.Open(t.DataKey)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "opening the data key of tenant %s failed (a different master key?)", tenantID)
	}
	sealer, err := secret.New(key)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "the data key of tenant %s is malformed", tenantID)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("livegate tenant data digest v1"))
	ds = &DataKey{sealer: sealer, mac: m.Sum(nil)}
	s.mu.Lock()
	s.data[tenantID] = ds
	s.mu.Unlock()
	return ds, nil
}

// Authenticate returns the usable key and its tenant for a presented
// iksk_… key, or apierr.AuthInvalid.
func (s *Service) Authenticate(ctx context.Context, presented string) (*core.APIKey, *core.Tenant, error) {
	if !strings.HasPrefix(presented, KeyPrefix) {
		return nil, nil, apierr.New(apierr.AuthInvalid, "invalid API key")
	}
	hash := core.HashSecret(presented)
	now := s.clock.Now()
	s.mu.Lock()
	e, ok := s.cache[string(hash)]
	s.mu.Unlock()
	if !ok || !now.Before(e.until) {
		k, err := s.store.APIKeyByHash(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, apierr.New(apierr.AuthInvalid, "invalid API key")
		}
		if err != nil {
			return nil, nil, storeErr("checking API key", err)
		}
		t, err := s.store.GetTenant(ctx, k.TenantID)
		if err != nil {
			return nil, nil, storeErr("reading tenant of key", err)
		}
		e = authEntry{key: k, tenant: t, until: now.Add(AuthCacheTTL)}
		s.mu.Lock()
		if len(s.cache) >= authCacheMax {
			clear(s.cache)
		}
		s.cache[string(hash)] = e
		s.mu.Unlock()
	}
	if !core.SecretMatches(presented, e.key.Hash) || !e.key.Usable(now) || e.tenant.Disabled {
		return nil, nil, apierr.New(apierr.AuthInvalid, "invalid API key")
	}
	return e.key, e.tenant, nil
}

func storeErr(what string, err error) error {
	if _, ok := apierr.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierr.Wrap(apierr.TenantNotFound, err, "tenant not found")
	case errors.Is(err, store.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierr.Wrap(apierr.StoreUnavailable, err, "%s: store unavailable", what)
	}
	return apierr.Wrap(apierr.Internal, fmt.Errorf("%s: %w", what, err), "%s failed", what)
}
