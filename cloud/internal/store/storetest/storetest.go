package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// T0 is the suite's fixed "now".
var T0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// Run runs the conformance suite; open returns a fresh, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Tenants", testTenants},
		{"UpdateTenant", testUpdateTenant},
		{"APIKeys", testAPIKeys},
		{"UpdateAPIKey", testUpdateAPIKey},
		{"CreateSession", testCreateSession},
		{"Idempotency", testIdempotency},
		{"UpdateSession", testUpdateSession},
		{"UpdateSessionError", testUpdateSessionError},
		{"UpdateSessionConcurrent", testUpdateSessionConcurrent},
		{"ListExpiring", testListExpiring},
		{"Photos", testPhotos},
		{"Claim", testClaim},
		{"ClaimConcurrent", testClaimConcurrent},
		{"SaveDelivery", testSaveDelivery},
		{"ListDeliveries", testListDeliveries},
		{"ConcurrentCreate", testConcurrentCreate},
		{"CancelledContext", testCancelledContext},
		{"Redact", testRedact},
		{"RetentionDue", testRetentionDue},
		{"SaveKeepsScrubbedBody", testSaveKeepsScrubbedBody},
		{"Enrollment", testEnrollment},
		{"Devices", testDevices},
		{"Galleries", testGalleries},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// ---- fixtures

// Tenant returns a tenant with one API key.
func Tenant(name string) (*core.Tenant, *core.APIKey) {
	t := &core.Tenant{
		ID: core.NewID("ten", T0), Name: name, Mode: core.TenantTest, CreatedAt: T0,
		WebhookSecrets: []core.SealedSecret{{Sealed: []byte("sealed-" + name), CreatedAt: T0}},
	}
	return t, Key(t.ID)
}

// Key returns a new API key of tenant.
func Key(tenantID string) *core.APIKey {
	secret := core.NewSecret("iksk_test_")
	return &core.APIKey{
		ID: core.NewID("key", T0), TenantID: tenantID, Hash: core.HashSecret(secret),
		Prefix: secret[:14], Mode: core.TenantTest, CreatedAt: T0,
	}
}

// Session returns a pending session of tenant (may be "") expiring at T0+30m.
func Session(tenantID string) *core.Session {
	return &core.Session{
		ID: core.NewID("ses", T0), Kind: core.KindManaged, TenantID: tenantID, Test: true,
		UserID: "user-1", Mode: core.ModeActive, RedirectURL: "https://example.com/back",
		WebhookURL: "https://example.com/hook", Metadata: json.RawMessage(`{"order":42}`),
		TokenHash: core.HashSecret(core.NewSecret("tok_")), ClientTokenHash: core.HashSecret(core.NewSecret("ctk_")),
		ClientExpiresAt: T0.Add(30 * time.Minute), Status: core.StatusPending,
		CreatedAt: T0, UpdatedAt: T0, ExpiresAt: T0.Add(30 * time.Minute), Version: 1,
	}
}

// Delivery returns a pending delivery of session s, due at T0.
func Delivery(s *core.Session, typ string) *core.Delivery {
	id := core.NewID("evt", T0)
	return &core.Delivery{
		ID: id, Type: typ, SessionID: s.ID, TenantID: s.TenantID, URL: s.WebhookURL,
		Body:  []byte(fmt.Sprintf(`{"id":%q,"type":%q,"data":{"session_id":%q}}`, id, typ, s.ID)),
		State: core.DeliveryPending, NextAttemptAt: T0, CreatedAt: T0,
	}
}

// same compares two values through their JSON (times compare exactly).
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: encode: %v %v", what, err1, err2)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func isErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
	if err == want {
		t.Errorf("%s: returned the bare sentinel %v; wrap it with what failed", what, want)
	}
}

var ctx = context.Background()

// ---- tenants and keys

func testTenants(t *testing.T, s store.Store) {
	a, ak := Tenant("a")
	b, bk := Tenant("b")
	noErr(t, "CreateTenant a", s.CreateTenant(ctx, a, ak))
	noErr(t, "CreateTenant b", s.CreateTenant(ctx, b, bk))
	same(t, "GetTenant", must[*core.Tenant](t, "GetTenant")(s.GetTenant(ctx, a.ID)), a)
	list := must[[]*core.Tenant](t, "ListTenants")(s.ListTenants(ctx))
	same(t, "ListTenants", list, []*core.Tenant{a, b})

	_, err := s.GetTenant(ctx, "ten_missing")
	isErr(t, "GetTenant missing", err, store.ErrNotFound)

	dup := *a
	isErr(t, "CreateTenant same id", s.CreateTenant(ctx, &dup, Key(a.ID)), store.ErrExists)

	// A key hash that is taken fails the whole creation: no tenant appears.
	c, ck := Tenant("c")
	ck.Hash = ak.Hash
	isErr(t, "CreateTenant taken key hash", s.CreateTenant(ctx, c, ck), store.ErrExists)
	_, err = s.GetTenant(ctx, c.ID)
	isErr(t, "tenant of failed creation", err, store.ErrNotFound)
	_, err = s.APIKeyByHash(ctx, ak.Hash)
	noErr(t, "first key still found", err)
}

func testUpdateTenant(t *testing.T, s store.Store) {
	a, ak := Tenant("a")
	noErr(t, "CreateTenant", s.CreateTenant(ctx, a, ak))
	exp := T0.Add(24 * time.Hour)
	got := must[*core.Tenant](t, "UpdateTenant")(s.UpdateTenant(ctx, a.ID, func(t *core.Tenant) error {
		t.Name = "renamed"
		t.WebhookSecrets[0].ExpiresAt = &exp
		t.WebhookSecrets = append([]core.SealedSecret{{Sealed: []byte("new"), CreatedAt: T0}}, t.WebhookSecrets...)
		return nil
	}))
	if got.Name != "renamed" || len(got.WebhookSecrets) != 2 {
		t.Fatalf("UpdateTenant returned %+v", got)
	}
	same(t, "tenant after update", must[*core.Tenant](t, "GetTenant")(s.GetTenant(ctx, a.ID)), got)

	errFn := errors.New("refused")
	_, err := s.UpdateTenant(ctx, a.ID, func(t *core.Tenant) error { t.Name = "lost"; return errFn })
	if err != errFn {
		t.Errorf("UpdateTenant fn error = %v, want it unchanged", err)
	}
	same(t, "tenant after failed update", must[*core.Tenant](t, "GetTenant")(s.GetTenant(ctx, a.ID)), got)

	_, err = s.UpdateTenant(ctx, "ten_missing", func(*core.Tenant) error { return nil })
	isErr(t, "UpdateTenant missing", err, store.ErrNotFound)
	if _, err := s.UpdateTenant(ctx, a.ID, func(t *core.Tenant) error { t.ID = "ten_other"; return nil }); err == nil {
		t.Error("UpdateTenant changing the id succeeded")
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	a, ak := Tenant("a")
	b, bk := Tenant("b")
	noErr(t, "CreateTenant a", s.CreateTenant(ctx, a, ak))
	noErr(t, "CreateTenant b", s.CreateTenant(ctx, b, bk))
	ak2 := Key(a.ID)
	noErr(t, "PutAPIKey", s.PutAPIKey(ctx, ak2))

	for _, k := range []*core.APIKey{ak, ak2, bk} {
		same(t, "APIKeyByHash "+k.ID, must[*core.APIKey](t, "APIKeyByHash")(s.APIKeyByHash(ctx, k.Hash)), k)
	}
	_, err := s.APIKeyByHash(ctx, core.HashSecret("iksk_test_unknown"))
	isErr(t, "APIKeyByHash unknown", err, store.ErrNotFound)

	same(t, "ListAPIKeys a", must[[]*core.APIKey](t, "ListAPIKeys")(s.ListAPIKeys(ctx, a.ID)), []*core.APIKey{ak, ak2})
	same(t, "ListAPIKeys b", must[[]*core.APIKey](t, "ListAPIKeys")(s.ListAPIKeys(ctx, b.ID)), []*core.APIKey{bk})
	if l := must[[]*core.APIKey](t, "ListAPIKeys")(s.ListAPIKeys(ctx, "ten_none")); len(l) != 0 {
		t.Errorf("ListAPIKeys of unknown tenant = %d keys", len(l))
	}

	tests := []struct {
		name string
		key  func() *core.APIKey
		want error
	}{
		{"same id", func() *core.APIKey { k := Key(a.ID); k.ID = ak.ID; return k }, store.ErrExists},
		{"same hash", func() *core.APIKey { k := Key(b.ID); k.Hash = ak.Hash; return k }, store.ErrExists},
		{"unknown tenant", func() *core.APIKey { return Key("ten_missing") }, store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.key()
			isErr(t, "PutAPIKey", s.PutAPIKey(ctx, k), tc.want)
			if got, err := s.APIKeyByHash(ctx, k.Hash); err == nil && got.ID == k.ID && k.ID != ak.ID {
				t.Errorf("refused key %s is findable", k.ID)
			}
		})
	}
}

func testUpdateAPIKey(t *testing.T, s store.Store) {
	a, ak := Tenant("a")
	noErr(t, "CreateTenant", s.CreateTenant(ctx, a, ak))
	revoked := T0.Add(time.Hour)
	got := must[*core.APIKey](t, "UpdateAPIKey")(s.UpdateAPIKey(ctx, ak.ID, func(k *core.APIKey) error {
		k.RevokedAt = &revoked
		return nil
	}))
	if got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) {
		t.Fatalf("UpdateAPIKey returned %+v", got)
	}
	same(t, "key after update", must[*core.APIKey](t, "APIKeyByHash")(s.APIKeyByHash(ctx, ak.Hash)), got)

	errFn := errors.New("refused")
	if _, err := s.UpdateAPIKey(ctx, ak.ID, func(k *core.APIKey) error { k.Prefix = "x"; return errFn }); err != errFn {
		t.Errorf("UpdateAPIKey fn error = %v, want it unchanged", err)
	}
	same(t, "key after failed update", must[*core.APIKey](t, "APIKeyByHash")(s.APIKeyByHash(ctx, ak.Hash)), got)
	_, err := s.UpdateAPIKey(ctx, "key_missing", func(*core.APIKey) error { return nil })
	isErr(t, "UpdateAPIKey missing", err, store.ErrNotFound)
	if _, err := s.UpdateAPIKey(ctx, ak.ID, func(k *core.APIKey) error { k.Hash = core.HashSecret("other"); return nil }); err == nil {
		t.Error("UpdateAPIKey changing the hash succeeded")
	}
}

// ---- sessions

func testCreateSession(t *testing.T, s store.Store) {
	a, ak := Tenant("a")
	noErr(t, "CreateTenant", s.CreateTenant(ctx, a, ak))
	ses := Session(a.ID)
	ses.Flow = []string{"liveness"}
	ses.Challenges = []string{"blink", "turn_left"} // a test-mode session's fixed list
	ev := Delivery(ses, core.EventSessionCreated)
	got := must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, []*core.Delivery{ev}))
	same(t, "CreateSession result", got, ses)
	same(t, "GetSession", must[*core.Session](t, "GetSession")(s.GetSession(ctx, ses.ID)), ses)
	same(t, "GetDelivery", must[*core.Delivery](t, "GetDelivery")(s.GetDelivery(ctx, ev.ID)), ev)

	_, err := s.GetSession(ctx, "ses_missing")
	isErr(t, "GetSession missing", err, store.ErrNotFound)
	_, err = s.GetDelivery(ctx, "evt_missing")
	isErr(t, "GetDelivery missing", err, store.ErrNotFound)

	dup := *ses
	_, err = s.CreateSession(ctx, &dup, nil)
	isErr(t, "CreateSession same id", err, store.ErrExists)

	// A delivery id that is taken fails the whole creation.
	other := Session(a.ID)
	ev2 := Delivery(other, core.EventSessionCreated)
	ev2.ID = ev.ID
	_, err = s.CreateSession(ctx, other, []*core.Delivery{ev2})
	isErr(t, "CreateSession with taken delivery id", err, store.ErrExists)
	_, err = s.GetSession(ctx, other.ID)
	isErr(t, "session of failed creation", err, store.ErrNotFound)

	// Sessions without tenant (legacy key, direct) and without deliveries.
	direct := Session("")
	direct.Kind, direct.WebhookURL, direct.Metadata = core.KindDirect, "", nil
	must[*core.Session](t, "CreateSession direct")(s.CreateSession(ctx, direct, nil))
	same(t, "GetSession direct", must[*core.Session](t, "GetSession")(s.GetSession(ctx, direct.ID)), direct)
}

func testIdempotency(t *testing.T, s store.Store) {
	a, ak := Tenant("a")
	b, bk := Tenant("b")
	noErr(t, "CreateTenant a", s.CreateTenant(ctx, a, ak))
	noErr(t, "CreateTenant b", s.CreateTenant(ctx, b, bk))
	first := Session(a.ID)
	first.IdempotencyKey = "order-42"
	must[*core.Session](t, "CreateSession first")(s.CreateSession(ctx, first, []*core.Delivery{Delivery(first, core.EventSessionCreated)}))

	tests := []struct {
		name     string
		tenant   string
		key      string
		wantSame bool // ErrExists and the first session back
	}{
		{"same tenant same key", a.ID, "order-42", true},
		{"same tenant other key", a.ID, "order-43", false},
		{"other tenant same key", b.ID, "order-42", false},
		{"no tenant same key", "", "order-42", false},
		{"no key", a.ID, "", false},
		{"no key again", a.ID, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ses := Session(tc.tenant)
			ses.IdempotencyKey = tc.key
			ev := Delivery(ses, core.EventSessionCreated)
			got, err := s.CreateSession(ctx, ses, []*core.Delivery{ev})
			if !tc.wantSame {
				noErr(t, "CreateSession", err)
				if got.ID != ses.ID {
					t.Errorf("CreateSession returned session %s, want %s", got.ID, ses.ID)
				}
				return
			}
			isErr(t, "CreateSession repeated key", err, store.ErrExists)
			if got == nil || got.ID != first.ID {
				t.Fatalf("CreateSession repeated key returned %v, want the first session %s", got, first.ID)
			}
			same(t, "returned session", got, first)
			_, err = s.GetSession(ctx, ses.ID)
			isErr(t, "the repeated session", err, store.ErrNotFound)
			_, err = s.GetDelivery(ctx, ev.ID)
			isErr(t, "the repeated session's delivery", err, store.ErrNotFound)
		})
	}
}

func testUpdateSession(t *testing.T, s store.Store) {
	a, ak := Tenant("a")
	noErr(t, "CreateTenant", s.CreateTenant(ctx, a, ak))
	ses := Session(a.ID)
	ses.Challenges = []string{"smile", "nod", "blink"}
	must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, nil))

	done := T0.Add(5 * time.Minute)
	var ev *core.Delivery
	got := must[*core.Session](t, "UpdateSession")(s.UpdateSession(ctx, ses.ID, func(cur *core.Session) ([]*core.Delivery, error) {
		v, c := core.VerdictPass, 0.91
		cur.Status, cur.Verdict, cur.Confidence = core.StatusCompleted, &v, &c
		cur.Checks = []core.Check{{Name: "anti_spoof", Status: "passed", Score: 0.91}}
		cur.Reasons = []string{"all checks passed"}
		cur.CompletedAt, cur.UpdatedAt, cur.Photo = &done, done, core.PhotoPending
		ev = Delivery(cur, core.EventSessionCompleted)
		return []*core.Delivery{ev}, nil
	}))
	if got.Version != ses.Version+1 {
		t.Errorf("Version after update = %d, want %d", got.Version, ses.Version+1)
	}
	if !got.UpdatedAt.Equal(done) {
		t.Errorf("UpdatedAt = %v, want %v (as the function set it)", got.UpdatedAt, done)
	}
	same(t, "GetSession after update", must[*core.Session](t, "GetSession")(s.GetSession(ctx, ses.ID)), got)
	if !slices.Equal(got.Challenges, ses.Challenges) {
		t.Errorf("Challenges after update = %q, want %q (kept as created)", got.Challenges, ses.Challenges)
	}
	same(t, "enqueued delivery", must[*core.Delivery](t, "GetDelivery")(s.GetDelivery(ctx, ev.ID)), ev)

	// Each update bumps the version once more.
	for i := range 3 {
		got = must[*core.Session](t, "UpdateSession")(s.UpdateSession(ctx, ses.ID, func(cur *core.Session) ([]*core.Delivery, error) {
			cur.Attempts++
			return nil, nil
		}))
		if want := ses.Version + 2 + int64(i); got.Version != want {
			t.Errorf("Version after %d more updates = %d, want %d", i+1, got.Version, want)
		}
	}

	_, err := s.UpdateSession(ctx, "ses_missing", func(*core.Session) ([]*core.Delivery, error) { return nil, nil })
	isErr(t, "UpdateSession missing", err, store.ErrNotFound)
	for name, change := range map[string]func(*core.Session){
		"id":              func(c *core.Session) { c.ID = "ses_other" },
		"tenant":          func(c *core.Session) { c.TenantID = "ten_other" },
		"idempotency key": func(c *core.Session) { c.IdempotencyKey = "other" },
	} {
		_, err := s.UpdateSession(ctx, ses.ID, func(c *core.Session) ([]*core.Delivery, error) { change(c); return nil, nil })
		if err == nil {
			t.Errorf("UpdateSession changing the %s succeeded", name)
		}
	}
	// A delivery id that is taken fails the update: nothing written.
	before := must[*core.Session](t, "GetSession")(s.GetSession(ctx, ses.ID))
	_, err = s.UpdateSession(ctx, ses.ID, func(c *core.Session) ([]*core.Delivery, error) {
		c.Attempts = 99
		d := Delivery(c, core.EventSessionCompleted)
		d.ID = ev.ID
		return []*core.Delivery{d}, nil
	})
	isErr(t, "UpdateSession with taken delivery id", err, store.ErrExists)
	same(t, "session after refused update", must[*core.Session](t, "GetSession")(s.GetSession(ctx, ses.ID)), before)
}

func testUpdateSessionError(t *testing.T, s store.Store) {
	ses := Session("")
	must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, nil))
	errFn := errors.New("session is already terminal")
	var ev *core.Delivery
	got, err := s.UpdateSession(ctx, ses.ID, func(cur *core.Session) ([]*core.Delivery, error) {
		cur.Status = core.StatusCancelled
		ev = Delivery(cur, core.EventSessionCancelled)
		return []*core.Delivery{ev}, errFn
	})
	if err != errFn {
		t.Fatalf("UpdateSession fn error = %v, want it unchanged", err)
	}
	if got != nil {
		t.Errorf("UpdateSession with fn error returned session %+v", got)
	}
	same(t, "session after failed update", must[*core.Session](t, "GetSession")(s.GetSession(ctx, ses.ID)), ses)
	_, err = s.GetDelivery(ctx, ev.ID)
	isErr(t, "delivery of failed update", err, store.ErrNotFound)
	if c := must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0.Add(time.Hour), time.Minute, 10)); len(c) != 0 {
		t.Errorf("claimed %d deliveries after a failed update", len(c))
	}
}

// testUpdateSessionConcurrent: updates of one session from many goroutines
// are serialised; none is lost.
func testUpdateSessionConcurrent(t *testing.T, s store.Store) {
	ses := Session("")
	must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, nil))
	const n = 24
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateSession(ctx, ses.ID, func(c *core.Session) ([]*core.Delivery, error) {
				c.Attempts++
				return []*core.Delivery{Delivery(c, core.EventSessionStarted)}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got := must[*core.Session](t, "GetSession")(s.GetSession(ctx, ses.ID))
	if got.Attempts != n || got.Version != ses.Version+n {
		t.Errorf("after %d concurrent updates: attempts %d, version %d; want %d, %d", n, got.Attempts, got.Version, n, ses.Version+n)
	}
	ds := must[[]*core.Delivery](t, "ListDeliveries")(s.ListDeliveries(ctx, store.DeliveryFilter{SessionID: ses.ID}))
	if len(ds) != n {
		t.Errorf("%d deliveries enqueued, want %d", len(ds), n)
	}
}

func testListExpiring(t *testing.T, s store.Store) {
	// Created out of expiry order so that id order is not expiry order.
	fixtures := []struct {
		name   string
		expiry time.Duration // from T0
		status core.Status
	}{
		{"late", 10 * time.Minute, core.StatusPending},
		{"early", -20 * time.Minute, core.StatusPending},
		{"now", 0, core.StatusInProgress},
		{"middle", -5 * time.Minute, core.StatusInProgress},
		{"done", -30 * time.Minute, core.StatusCompleted},
		{"expired", -40 * time.Minute, core.StatusExpired},
		{"cancelled", -40 * time.Minute, core.StatusCancelled},
		{"future", time.Hour, core.StatusPending},
	}
	ids := map[string]string{}
	for _, f := range fixtures {
		ses := Session("")
		ses.ExpiresAt, ses.Status = T0.Add(f.expiry), f.status
		must[*core.Session](t, "CreateSession "+f.name)(s.CreateSession(ctx, ses, nil))
		ids[f.name] = ses.ID
	}
	names := func(l []string) []string {
		byID := map[string]string{}
		for n, id := range ids {
			byID[id] = n
		}
		out := make([]string, len(l))
		for i, id := range l {
			out[i] = byID[id]
		}
		return out
	}
	tests := []struct {
		at    time.Duration
		limit int
		want  []string
	}{
		{0, 10, []string{"early", "middle", "now"}},
		{0, 2, []string{"early", "middle"}},
		{-time.Nanosecond, 10, []string{"early", "middle"}},
		{-time.Hour, 10, []string{}},
		{15 * time.Minute, 10, []string{"early", "middle", "now", "late"}},
		{2 * time.Hour, 1, []string{"early"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("at%v_limit%d", tc.at, tc.limit), func(t *testing.T) {
			got := must[[]string](t, "ListExpiring")(s.ListExpiring(ctx, T0.Add(tc.at), tc.limit))
			if g := names(got); !slices.Equal(g, tc.want) {
				t.Errorf("ListExpiring = %v, want %v", g, tc.want)
			}
		})
	}
	// A session that becomes terminal leaves the list; one whose expiry is
	// moved moves.
	must[*core.Session](t, "UpdateSession")(s.UpdateSession(ctx, ids["early"], func(c *core.Session) ([]*core.Delivery, error) {
		c.Status = core.StatusExpired
		return nil, nil
	}))
	must[*core.Session](t, "UpdateSession")(s.UpdateSession(ctx, ids["late"], func(c *core.Session) ([]*core.Delivery, error) {
		c.ExpiresAt = T0.Add(-time.Hour)
		return nil, nil
	}))
	got := names(must[[]string](t, "ListExpiring")(s.ListExpiring(ctx, T0, 10)))
	if want := []string{"late", "middle", "now"}; !slices.Equal(got, want) {
		t.Errorf("ListExpiring after updates = %v, want %v", got, want)
	}
}

func testPhotos(t *testing.T, s store.Store) {
	ses := Session("")
	must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, nil))
	_, err := s.GetPhoto(ctx, ses.ID)
	isErr(t, "GetPhoto before put", err, store.ErrNotFound)
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{7}, 64<<10)...)
	noErr(t, "PutPhoto", s.PutPhoto(ctx, ses.ID, jpeg))
	if got := must[[]byte](t, "GetPhoto")(s.GetPhoto(ctx, ses.ID)); !bytes.Equal(got, jpeg) {
		t.Errorf("GetPhoto returned %d bytes, want the %d put", len(got), len(jpeg))
	}
	jpeg2 := []byte{0xFF, 0xD8, 0xFF, 0xD9}
	noErr(t, "PutPhoto again", s.PutPhoto(ctx, ses.ID, jpeg2))
	if got := must[[]byte](t, "GetPhoto")(s.GetPhoto(ctx, ses.ID)); !bytes.Equal(got, jpeg2) {
		t.Errorf("GetPhoto after replace = %x", got)
	}
	isErr(t, "PutPhoto unknown session", s.PutPhoto(ctx, "ses_missing", jpeg), store.ErrNotFound)
	_, err = s.GetPhoto(ctx, "ses_missing")
	isErr(t, "GetPhoto unknown session", err, store.ErrNotFound)
}

// ---- deliveries

func ids(ds []*core.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func testClaim(t *testing.T, s store.Store) {
	ses := Session("")
	var ds []*core.Delivery
	// Next attempts T0-3m, T0-2m, T0-1m, T0, T0+1m: created newest-due first
	// so that id order differs from due order.
	for i := 4; i >= 0; i-- {
		d := Delivery(ses, core.EventSessionCreated)
		d.NextAttemptAt = T0.Add(time.Duration(i-3) * time.Minute)
		ds = append(ds, d)
	}
	must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, ds))
	byDue := []string{ds[4].ID, ds[3].ID, ds[2].ID, ds[1].ID} // due at T0, oldest first
	const lease = 30 * time.Second

	got := must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0, lease, 3))
	if !slices.Equal(ids(got), byDue[:3]) {
		t.Fatalf("first claim = %v, want %v (oldest next attempt first, limit 3)", ids(got), byDue[:3])
	}
	for _, d := range got {
		if !d.LeaseUntil.Equal(T0.Add(lease)) {
			t.Errorf("claimed %s: LeaseUntil %v, want %v", d.ID, d.LeaseUntil, T0.Add(lease))
		}
		stored := must[*core.Delivery](t, "GetDelivery")(s.GetDelivery(ctx, d.ID))
		if !stored.LeaseUntil.Equal(T0.Add(lease)) {
			t.Errorf("stored %s: LeaseUntil %v, want the lease", d.ID, stored.LeaseUntil)
		}
	}
	got = must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0.Add(time.Second), lease, 10))
	if !slices.Equal(ids(got), byDue[3:]) {
		t.Fatalf("second claim = %v, want only %v (the others are leased, one is not due)", ids(got), byDue[3:])
	}
	// The worker delivered one and failed one (retry later); the third's
	// worker died: its lease expires and it is claimable again.
	delivered, retried := got[0], must[*core.Delivery](t, "GetDelivery")(s.GetDelivery(ctx, byDue[0]))
	when := T0.Add(2 * time.Second)
	delivered.State, delivered.Attempts, delivered.DeliveredAt, delivered.LastStatus = core.DeliveryDelivered, 1, &when, 200
	delivered.LeaseUntil = time.Time{}
	noErr(t, "SaveDelivery delivered", s.SaveDelivery(ctx, delivered))
	retried.Attempts, retried.LastStatus, retried.LastError = 1, 500, "server error"
	retried.NextAttemptAt, retried.LeaseUntil = T0.Add(10*time.Minute), time.Time{}
	noErr(t, "SaveDelivery retry", s.SaveDelivery(ctx, retried))

	if got := must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0.Add(lease-time.Second), lease, 10)); len(got) != 0 {
		t.Fatalf("claim before lease expiry = %v, want none", ids(got))
	}
	got = must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0.Add(lease), lease, 10))
	if want := byDue[1:3]; !slices.Equal(ids(got), want) {
		t.Fatalf("claim at lease expiry = %v, want %v", ids(got), want)
	}
	got = must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0.Add(time.Hour), lease, 10))
	// Due now: the retried one, the one that was in the future, and the two
	// whose lease lapsed again; never the delivered one.
	if want := []string{byDue[0], byDue[1], byDue[2], ds[0].ID}; !sameSet(ids(got), want) {
		t.Fatalf("claim an hour later = %v, want %v in any order", ids(got), want)
	}
	if got := must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0.Add(time.Hour), lease, 0)); len(got) != 0 {
		t.Errorf("claim with limit 0 returned %d", len(got))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// testClaimConcurrent: claimers running at once never get the same delivery,
// and together they get every delivery.
func testClaimConcurrent(t *testing.T, s store.Store) {
	const sessions, perSession, claimers = 20, 6, 6
	var all []string
	for range sessions {
		ses := Session("")
		var ds []*core.Delivery
		for range perSession {
			d := Delivery(ses, core.EventSessionCreated)
			ds = append(ds, d)
			all = append(all, d.ID)
		}
		must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, ds))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				got, err := s.ClaimDeliveries(ctx, T0, time.Minute, 5)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, id := range all {
		if seen[id] != 1 {
			t.Errorf("delivery %s claimed %d times, want exactly once", id, seen[id])
		}
	}
	if len(seen) != len(all) {
		t.Errorf("claimed %d distinct deliveries, want %d", len(seen), len(all))
	}
}

func testSaveDelivery(t *testing.T, s store.Store) {
	ses := Session("")
	d := Delivery(ses, core.EventSessionCreated)
	must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, []*core.Delivery{d}))
	// Dead letter, then replayed by an admin: claimable again.
	d.State, d.Attempts, d.LastError = core.DeliveryDead, 8, "connection refused"
	noErr(t, "SaveDelivery dead", s.SaveDelivery(ctx, d))
	same(t, "dead letter", must[*core.Delivery](t, "GetDelivery")(s.GetDelivery(ctx, d.ID)), d)
	if got := must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0.Add(time.Hour), time.Minute, 10)); len(got) != 0 {
		t.Fatalf("dead letter was claimed: %v", ids(got))
	}
	d.State, d.NextAttemptAt = core.DeliveryPending, T0.Add(2*time.Hour)
	noErr(t, "SaveDelivery replay", s.SaveDelivery(ctx, d))
	if got := must[[]*core.Delivery](t, "ClaimDeliveries")(s.ClaimDeliveries(ctx, T0.Add(2*time.Hour), time.Minute, 10)); !slices.Equal(ids(got), []string{d.ID}) {
		t.Fatalf("replayed delivery claim = %v", ids(got))
	}
	missing := Delivery(ses, core.EventSessionCreated)
	isErr(t, "SaveDelivery unknown", s.SaveDelivery(ctx, missing), store.ErrNotFound)
}

func testListDeliveries(t *testing.T, s store.Store) {
	a, ak := Tenant("a")
	b, bk := Tenant("b")
	noErr(t, "CreateTenant a", s.CreateTenant(ctx, a, ak))
	noErr(t, "CreateTenant b", s.CreateTenant(ctx, b, bk))
	sa1, sa2, sb1, sl := Session(a.ID), Session(a.ID), Session(b.ID), Session("")
	var all []*core.Delivery // creation order
	for _, ses := range []*core.Session{sa1, sa2, sb1, sl} {
		ds := []*core.Delivery{Delivery(ses, core.EventSessionCreated), Delivery(ses, core.EventSessionCompleted)}
		must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, ds))
		all = append(all, ds...)
	}
	// Kill one of a's and one of b's.
	for _, d := range []*core.Delivery{all[1], all[4]} {
		d.State = core.DeliveryDead
		noErr(t, "SaveDelivery", s.SaveDelivery(ctx, d))
	}
	newest := func(keep func(*core.Delivery) bool) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].ID)
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    store.DeliveryFilter
		keep func(*core.Delivery) bool
		max  int
	}{
		{"all", store.DeliveryFilter{}, func(*core.Delivery) bool { return true }, 0},
		{"limit", store.DeliveryFilter{Limit: 3}, func(*core.Delivery) bool { return true }, 3},
		{"dead", store.DeliveryFilter{State: core.DeliveryDead}, func(d *core.Delivery) bool { return d.State == core.DeliveryDead }, 0},
		{"pending", store.DeliveryFilter{State: core.DeliveryPending}, func(d *core.Delivery) bool { return d.State == core.DeliveryPending }, 0},
		{"tenant a", store.DeliveryFilter{TenantID: a.ID}, func(d *core.Delivery) bool { return d.TenantID == a.ID }, 0},
		{"tenant a dead", store.DeliveryFilter{TenantID: a.ID, State: core.DeliveryDead}, func(d *core.Delivery) bool {
			return d.TenantID == a.ID && d.State == core.DeliveryDead
		}, 0},
		{"session", store.DeliveryFilter{SessionID: sa2.ID}, func(d *core.Delivery) bool { return d.SessionID == sa2.ID }, 0},
		{"session of other tenant", store.DeliveryFilter{SessionID: sa2.ID, TenantID: b.ID}, func(*core.Delivery) bool { return false }, 0},
		{"session pending limit 1", store.DeliveryFilter{SessionID: sa1.ID, State: core.DeliveryPending, Limit: 1}, func(d *core.Delivery) bool {
			return d.SessionID == sa1.ID && d.State == core.DeliveryPending
		}, 1},
		{"delivered", store.DeliveryFilter{State: core.DeliveryDelivered}, func(d *core.Delivery) bool { return false }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := must[[]*core.Delivery](t, "ListDeliveries")(s.ListDeliveries(ctx, tc.f))
			want := newest(tc.keep)
			if tc.max > 0 && len(want) > tc.max {
				want = want[:tc.max]
			}
			if g := ids(got); !slices.Equal(g, want) && !(len(g) == 0 && len(want) == 0) {
				t.Errorf("ListDeliveries(%+v) = %v, want %v", tc.f, g, want)
			}
		})
	}
	// The default limit is 100.
	ses := Session("")
	var many []*core.Delivery
	for range 105 {
		many = append(many, Delivery(ses, core.EventSessionStarted))
	}
	must[*core.Session](t, "CreateSession")(s.CreateSession(ctx, ses, many))
	if got := must[[]*core.Delivery](t, "ListDeliveries")(s.ListDeliveries(ctx, store.DeliveryFilter{SessionID: ses.ID})); len(got) != 100 {
		t.Errorf("ListDeliveries without limit returned %d, want 100", len(got))
	}
}

// ---- concurrency and lifecycle

func testConcurrentCreate(t *testing.T, s store.Store) {
	const writers, each = 16, 12
	var wg sync.WaitGroup
	created := make([][]string, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				ses := Session("")
				if _, err := s.CreateSession(ctx, ses, []*core.Delivery{Delivery(ses, core.EventSessionCreated)}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				created[w] = append(created[w], ses.ID)
			}
		}()
	}
	wg.Wait()
	for w, l := range created {
		for _, id := range l {
			if _, err := s.GetSession(ctx, id); err != nil {
				t.Errorf("writer %d: session %s: %v", w, id, err)
			}
		}
	}
	ds := must[[]*core.Delivery](t, "ListDeliveries")(s.ListDeliveries(ctx, store.DeliveryFilter{Limit: 1000}))
	if len(ds) != writers*each {
		t.Errorf("%d deliveries, want %d", len(ds), writers*each)
	}
}

// testCancelledContext: a write whose context is already done fails with
// the context's error and writes nothing.
func testCancelledContext(t *testing.T, s store.Store) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ses := Session("")
	ev := Delivery(ses, core.EventSessionCreated)
	if _, err := s.CreateSession(cctx, ses, []*core.Delivery{ev}); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateSession with a cancelled context = %v, want context.Canceled", err)
	}
	_, err := s.GetSession(ctx, ses.ID)
	isErr(t, "session of cancelled creation", err, store.ErrNotFound)
	_, err = s.GetDelivery(ctx, ev.ID)
	isErr(t, "delivery of cancelled creation", err, store.ErrNotFound)
}

func testClose(t *testing.T, s store.Store) {
	noErr(t, "Ping", s.Ping(ctx))
	noErr(t, "Close", s.Close())
	isErr(t, "Ping after Close", s.Ping(ctx), store.ErrClosed)
	_, err := s.CreateSession(ctx, Session(""), nil)
	isErr(t, "CreateSession after Close", err, store.ErrClosed)
	_, err = s.GetSession(ctx, "ses_x")
	isErr(t, "GetSession after Close", err, store.ErrClosed)
	noErr(t, "second Close", s.Close())
}
