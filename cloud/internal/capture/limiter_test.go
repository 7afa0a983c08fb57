package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
)

func ptr[T any](v T) *T { return &v }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeTenants serves tenants from a map; a missing one fails like a store
// that cannot be read.
type fakeTenants map[string]*core.Tenant

func (f fakeTenants) Get(_ context.Context, id string) (*core.Tenant, error) {
	if t, ok := f[id]; ok {
		return t, nil
	}
	return nil, errors.New("store unavailable")
}

// limiterStep is one call on a Limiter: Fail (fail true) or Check, n times
// (default once); the last call's Decision is checked.
type limiterStep struct {
	sess      string        // a session of the case
	addr      string        // the client address
	at        time.Duration // after t0
	fail      bool
	n         int
	want      bool          // blocked
	wantScope string        // checked when want
	wantWait  time.Duration // checked when > 0
}

func tenantWith(mode core.TenantMode, c core.CaptureThrottle) *core.Tenant {
	return &core.Tenant{ID: "ten_" + string(mode), Mode: mode, Settings: core.TenantSettings{CaptureThrottle: c}}
}

// TestLimiter: which failures share a budget, and which budget applies.
func TestLimiter(t *testing.T) {
	live := tenantWith(core.TenantLive, core.CaptureThrottle{})
	strict := &core.Tenant{ID: "ten_strict", Mode: core.TenantLive, Settings: core.TenantSettings{CaptureThrottle: core.CaptureThrottle{
		UserLimit: ptr(2), AddressLimit: ptr(3), WindowSeconds: ptr(60), CooldownSeconds: ptr(10)}}}
	test := tenantWith(core.TenantTest, core.CaptureThrottle{})
	testCounted := &core.Tenant{ID: "ten_counted", Mode: core.TenantTest, Settings: core.TenantSettings{CaptureThrottle: core.CaptureThrottle{
		TestExempt: ptr(false), CooldownSeconds: ptr(5)}}}
	tenants := fakeTenants{live.ID: live, strict.ID: strict, test.ID: test, testCounted.ID: testCounted}
	managed := func(id string, ten *core.Tenant, user string) *core.Session {
		return &core.Session{ID: id, Kind: core.KindManaged, TenantID: ten.ID, Test: ten.Mode == core.TenantTest, UserID: user}
	}
	sessions := map[string]*core.Session{
		"alice1":     managed("ses_a1", live, "alice"),
		"alice2":     managed("ses_a2", live, "alice"),
		"alice3":     managed("ses_a3", live, "alice"),
		"bob":        managed("ses_b1", live, "bob"),
		"anon1":      managed("ses_n1", live, ""),
		"anon2":      managed("ses_n2", live, ""),
		"legacy":     {ID: "ses_l1", Kind: core.KindManaged, UserID: "alice"},
		"direct1":    {ID: "ses_d1", Kind: core.KindDirect, UserID: "alice"},
		"direct2":    {ID: "ses_d2", Kind: core.KindDirect, UserID: "alice"},
		"strict1":    managed("ses_s1", strict, "carol"),
		"strict2":    managed("ses_s2", strict, "dave"),
		"strict3":    managed("ses_s3", strict, "erin"),
		"strict4":    managed("ses_s4", strict, "frank"),
		"test":       managed("ses_t1", test, "tess"),
		"counted":    managed("ses_c1", testCounted, "tess"),
		"unreadable": {ID: "ses_u1", Kind: core.KindManaged, TenantID: "ten_gone", UserID: "ursula"},
	}
	for i := range 101 {
		sessions[fmt.Sprintf("user%03d", i)] = managed(fmt.Sprintf("ses_u%03d", i), live, fmt.Sprintf("user-%03d", i))
	}
	const (
		nat   = "203.0.113.7"
		other = "198.51.100.20"
	)
	steps := func(s ...limiterStep) []limiterStep { return s }
	manyUsers := func(n int, addr string) []limiterStep {
		var out []limiterStep
		for i := range n {
			out = append(out, limiterStep{sess: fmt.Sprintf("user%03d", i), addr: addr, at: time.Duration(i) * time.Second, fail: true})
		}
		return out
	}
	cases := []struct {
		name  string
		steps []limiterStep
	}{
		{"one user's failures share a budget across sessions and addresses", steps(
			limiterStep{sess: "alice1", addr: nat, fail: true, n: 3},
			limiterStep{sess: "alice2", addr: nat, at: time.Second, fail: true},
			limiterStep{sess: "alice3", addr: other, at: 2 * time.Second, fail: true, want: true, wantScope: ScopeUser, wantWait: 3 * time.Minute},
			limiterStep{sess: "alice1", addr: nat, at: 3 * time.Second, want: true, wantScope: ScopeUser, wantWait: 3*time.Minute - time.Second},
			// Another user behind the same address is not touched.
			limiterStep{sess: "bob", addr: nat, at: 3 * time.Second},
			// The cool-down ends exactly at its end.
			limiterStep{sess: "alice2", addr: nat, at: 182 * time.Second},
		)},
		{"without a user_id the session is the user", steps(
			limiterStep{sess: "anon1", addr: nat, fail: true, n: 4},
			limiterStep{sess: "anon2", addr: nat, fail: true, n: 4},
			limiterStep{sess: "anon1", addr: nat, fail: true, want: true, wantScope: ScopeUser},
			limiterStep{sess: "anon2", addr: nat},
		)},
		{"a direct session's user_id is not trusted", steps(
			limiterStep{sess: "direct1", addr: nat, fail: true, n: 4},
			limiterStep{sess: "direct2", addr: nat, fail: true, n: 4},
			limiterStep{sess: "direct2", addr: nat},
			// Nor shared with a backend's user of that name.
			limiterStep{sess: "legacy", addr: nat, fail: true, n: 4},
			limiterStep{sess: "alice1", addr: nat, fail: true, n: 4},
			limiterStep{sess: "alice1", addr: nat},
		)},
		{"100 users behind one address: the backstop", append(manyUsers(99, nat),
			limiterStep{sess: "user100", addr: nat, at: 100 * time.Second},
			limiterStep{sess: "user099", addr: nat, at: 100 * time.Second, fail: true, want: true, wantScope: ScopeAddress, wantWait: 3 * time.Minute},
			limiterStep{sess: "user100", addr: nat, at: 101 * time.Second, want: true, wantScope: ScopeAddress},
			// Elsewhere, and for another tenant at that address, nothing changed.
			limiterStep{sess: "user100", addr: other, at: 101 * time.Second},
			limiterStep{sess: "strict1", addr: nat, at: 101 * time.Second},
		)},
		{"a tenant's own limits", steps(
			limiterStep{sess: "strict1", addr: nat, fail: true},
			limiterStep{sess: "strict1", addr: nat, at: time.Second, fail: true, want: true, wantScope: ScopeUser, wantWait: 10 * time.Second},
			limiterStep{sess: "strict2", addr: nat, at: 2 * time.Second, fail: true, want: true, wantScope: ScopeAddress, wantWait: 10 * time.Second},
			limiterStep{sess: "strict3", addr: nat, at: 3 * time.Second, want: true, wantScope: ScopeAddress, wantWait: 9 * time.Second},
			limiterStep{sess: "strict4", addr: other, at: 3 * time.Second},
			// The other tenant behind the address keeps its defaults.
			limiterStep{sess: "bob", addr: nat, at: 3 * time.Second, fail: true, n: 4},
			limiterStep{sess: "bob", addr: nat, at: 4 * time.Second},
			limiterStep{sess: "strict3", addr: nat, at: 12 * time.Second},
		)},
		{"both budgets spent: the longer wait", steps(
			limiterStep{sess: "strict2", addr: nat, fail: true},
			limiterStep{sess: "strict3", addr: nat, at: time.Second, fail: true},
			limiterStep{sess: "strict1", addr: nat, at: 2 * time.Second, fail: true, want: true, wantScope: ScopeAddress, wantWait: 10 * time.Second},
			// Carol's own budget runs out during the address's cool-down.
			limiterStep{sess: "strict1", addr: nat, at: 5 * time.Second, fail: true, want: true, wantScope: ScopeUser, wantWait: 10 * time.Second},
			limiterStep{sess: "strict2", addr: nat, at: 5 * time.Second, want: true, wantScope: ScopeAddress, wantWait: 7 * time.Second},
		)},
		{"test-mode sessions are exempt", steps(
			limiterStep{sess: "test", addr: nat, fail: true, n: 200},
			limiterStep{sess: "test", addr: nat},
		)},
		{"unless the tenant counts them", steps(
			limiterStep{sess: "counted", addr: nat, fail: true, n: 4},
			limiterStep{sess: "counted", addr: nat, at: time.Second, fail: true, want: true, wantScope: ScopeUser, wantWait: 5 * time.Second},
		)},
		{"IPv6: one /64 is one address", steps(
			limiterStep{sess: "strict1", addr: "2001:db8:1:2::10", fail: true},
			limiterStep{sess: "strict2", addr: "2001:db8:1:2:ffff::1", fail: true},
			limiterStep{sess: "strict3", addr: "2001:db8:1:2::99", fail: true, want: true, wantScope: ScopeAddress},
			limiterStep{sess: "strict4", addr: "2001:db8:1:3::1"},
			limiterStep{sess: "strict4", addr: "::ffff:203.0.113.7", fail: true},
			limiterStep{sess: "strict3", addr: nat},
		)},
		{"a tenant that cannot be read gets the defaults", steps(
			limiterStep{sess: "unreadable", addr: nat, fail: true, n: 4},
			limiterStep{sess: "unreadable", addr: nat},
			limiterStep{sess: "unreadable", addr: nat, fail: true, want: true, wantScope: ScopeUser, wantWait: 3 * time.Minute},
		)},
	}
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter(NewThrottle(), tenants, discardLogger())
			for i, s := range tc.steps {
				sess := sessions[s.sess]
				if sess == nil {
					t.Fatalf("step %d: no session %q", i, s.sess)
				}
				sub := l.Subject(context.Background(), sess, s.addr)
				var d Decision
				for range max(s.n, 1) {
					if s.fail {
						d = l.Fail(sub, t0.Add(s.at))
					} else {
						d = l.Check(sub, t0.Add(s.at))
					}
				}
				if d.Blocked != s.want || (s.want && s.wantScope != "" && d.Scope != s.wantScope) ||
					(s.wantWait > 0 && d.Wait != s.wantWait) || (!d.Blocked && d.Wait != 0) {
					t.Fatalf("step %d %+v: got %+v", i, s, d)
				}
			}
		})
	}
}

// TestPolicyFor: the defaults, a tenant's settings, and the exemption.
func TestPolicyFor(t *testing.T) {
	def := Policy{User: Rule{5, 3 * time.Minute, 3 * time.Minute}, Address: Rule{100, 3 * time.Minute, 3 * time.Minute}}
	if got := DefaultPolicy(); got != def {
		t.Fatalf("DefaultPolicy() = %+v, want %+v", got, def)
	}
	for _, tc := range []struct {
		name string
		sess core.Session
		t    *core.Tenant
		want Policy
	}{
		{"direct", core.Session{Kind: core.KindDirect}, nil, def},
		{"live tenant, no settings", core.Session{}, &core.Tenant{}, def},
		{"test session", core.Session{Test: true}, &core.Tenant{Mode: core.TenantTest}, Policy{User: def.User, Address: def.Address, Exempt: true}},
		{"test session counted", core.Session{Test: true},
			&core.Tenant{Settings: core.TenantSettings{CaptureThrottle: core.CaptureThrottle{TestExempt: ptr(false)}}}, def},
		{"every setting", core.Session{}, &core.Tenant{Settings: core.TenantSettings{CaptureThrottle: core.CaptureThrottle{
			UserLimit: ptr(3), AddressLimit: ptr(1000), WindowSeconds: ptr(600), CooldownSeconds: ptr(30)}}},
			Policy{User: Rule{3, 10 * time.Minute, 30 * time.Second}, Address: Rule{1000, 10 * time.Minute, 30 * time.Second}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PolicyFor(&tc.sess, tc.t); got != tc.want {
				t.Fatalf("PolicyFor = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestThrottleKeys: what names a user and an address.
func TestThrottleKeys(t *testing.T) {
	for _, tc := range []struct {
		sess        core.Session
		addr        string
		user, addr2 string
	}{
		{core.Session{ID: "ses_1", Kind: core.KindManaged, TenantID: "ten_a", UserID: "u:1"}, "203.0.113.7", "u:ten_a:u:1", "a:ten_a:203.0.113.7"},
		{core.Session{ID: "ses_2", Kind: core.KindManaged, TenantID: "ten_a"}, "::ffff:203.0.113.7", "s:ses_2", "a:ten_a:203.0.113.7"},
		{core.Session{ID: "ses_3", Kind: core.KindManaged, UserID: "bob"}, "2001:db8:1:2:3:4:5:6", "u::bob", "a::2001:db8:1:2::/64"},
		{core.Session{ID: "ses_4", Kind: core.KindDirect, UserID: "bob"}, "fe80::1%eth0", "s:ses_4", "a::fe80::/64"},
		{core.Session{ID: "ses_5", Kind: core.KindDirect}, "not an address", "s:ses_5", "a::not an address"},
	} {
		if u, a := UserKey(&tc.sess), AddressKey(&tc.sess, tc.addr); u != tc.user || a != tc.addr2 {
			t.Errorf("%+v from %q: keys %q, %q; want %q, %q", tc.sess, tc.addr, u, a, tc.user, tc.addr2)
		}
	}
}
