package capture

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/core"
)

// CodeThrottled answers a plain HTTP request to the capture WebSocket's
// route while its client is cooling down (a WebSocket client gets the
// too_many_failures message and close code 4429 instead, which a browser can
// read); Retry-After and retry_after say how long.
var CodeThrottled = apierr.Register("capture.too_many_failures", http.StatusTooManyRequests,
	"Too many failed capture attempts by this end user, or from this address: wait for Retry-After seconds (retry_after in the envelope) before capturing again (docs/api.md, \"Failed captures\").")

// Policy is how the failed attempts of one session's captures are
// throttled.
type Policy struct {
	// User is the budget of one end user: the session's user_id within its
	// tenant when a backend created it with one, else the session itself.
	User Rule
	// Address is the budget of one client address (an IPv6 /64) within
	// the session's tenant: the backstop against many users or sessions
	// failing from one place. Much larger than User, so that the customers
	// behind one carrier NAT or branch proxy do not share one user's budget.
	Address Rule
	// Exempt sessions are neither refused nor counted (test-mode sessions,
	// unless the tenant says otherwise).
	Exempt bool
}

// PolicyFor is the policy of sess under its tenant's settings (t nil: the
// defaults, as for direct and legacy-key sessions).
func PolicyFor(sess *core.Session, t *core.Tenant) Policy {
	var set core.CaptureThrottle
	if t != nil {
		set = t.Settings.CaptureThrottle
	}
	v := set.Effective()
	return Policy{
		User:    Rule{Limit: v.UserLimit, Window: v.Window, Cooldown: v.Cooldown},
		Address: Rule{Limit: v.AddressLimit, Window: v.Window, Cooldown: v.Cooldown},
		Exempt:  sess.Test && v.TestExempt,
	}
}

// DefaultPolicy is the policy of a session without tenant settings.
func DefaultPolicy() Policy { return PolicyFor(&core.Session{}, nil) }

// Limits describe the throttle under p (the capture WebSocket's route
// carries DefaultPolicy's) for /docs/reference/rate-limits.
func Limits(p Policy) []openapi.Limit {
	set := func(limit string, most int) string {
		return fmt.Sprintf("per tenant with PUT /admin/v1/tenants/{id}/settings: capture_throttle.%s (1–%d), "+
			"window_seconds and cooldown_seconds (1–%d, shared by both limits)", limit, most, core.MaxThrottleSeconds)
	}
	exempt := "Sessions of test-mode keys are neither refused nor counted unless the tenant sets capture_throttle.test_exempt to false. " +
		"Creating sessions is not limited by it."
	return []openapi.Limit{
		{ID: "capture-user", Name: "Failed captures per end user", Counts: "failed capture attempts (verdict fail or retry)",
			Per:   "end user: the session's user_id within your tenant, or the session itself when it has none",
			Limit: p.User.Limit, Window: p.User.Window, Cooldown: p.User.Cooldown, Code: CodeThrottled.ID, Note: exempt,
			Setting: set("user_limit", core.MaxThrottleUserLimit)},
		{ID: "capture-address", Name: "Failed captures per client address", Counts: "failed capture attempts (verdict fail or retry)",
			Per:   "client address within your tenant (IPv6: its /64): the backstop against many users or sessions failing from one place",
			Limit: p.Address.Limit, Window: p.Address.Window, Cooldown: p.Address.Cooldown, Code: CodeThrottled.ID, Note: exempt,
			Setting: set("address_limit", core.MaxThrottleAddressLimit)},
	}
}

// Tenants reads a session's tenant for its throttle settings
// (tenancy.Service satisfies it).
type Tenants interface {
	Get(ctx context.Context, id string) (*core.Tenant, error)
}

// Limiter applies each session's Policy on a FailureThrottle: it says
// whether a capture may start and records failed attempts, under the end
// user's key and the client address's key.
type Limiter struct {
	throttle FailureThrottle
	tenants  Tenants
	log      *slog.Logger
}

// NewLimiter returns a Limiter counting in th; tenants may be nil (every
// session then gets the defaults), log may be nil (slog.Default()).
func NewLimiter(th FailureThrottle, tenants Tenants, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.Default()
	}
	return &Limiter{throttle: th, tenants: tenants, log: log}
}

// Subject is one capture connection as the throttle sees it: its keys and
// the policy in force.
type Subject struct {
	UserKey    string
	AddressKey string
	Policy     Policy
	SessionID  string
}

// Scopes of a Decision.
const (
	ScopeUser    = "user"
	ScopeAddress = "address"
)

// Decision is whether a subject is cooling down, for how long, and which
// budget is spent (ScopeUser or ScopeAddress; with both, the longer wait's).
type Decision struct {
	Blocked bool
	Wait    time.Duration
	Scope   string
}

// Subject resolves the keys and the policy of a capture of sess from the
// client address addr. The tenant is read here, once per connection; when
// it cannot be read, the defaults apply (and the failure is logged).
func (l *Limiter) Subject(ctx context.Context, sess *core.Session, addr string) Subject {
	var t *core.Tenant
	if sess.TenantID != "" && l.tenants != nil {
		var err error
		if t, err = l.tenants.Get(ctx, sess.TenantID); err != nil {
			l.log.LogAttrs(ctx, slog.LevelWarn, "capture: reading the tenant's throttle settings; using the defaults",
				slog.String("session_id", sess.ID), slog.String("tenant_id", sess.TenantID), slog.String("error", err.Error()))
			t = nil
		}
	}
	return Subject{UserKey: UserKey(sess), AddressKey: AddressKey(sess, addr), Policy: PolicyFor(sess, t), SessionID: sess.ID}
}

// UserKey is the throttle key of the end user of sess: the tenant's
// user_id for a session a backend created with one (a direct session's
// user_id is the browser's word, so it is not trusted), else the session.
func UserKey(sess *core.Session) string {
	if sess.Kind == core.KindManaged && sess.UserID != "" {
		return "u:" + sess.TenantID + ":" + sess.UserID
	}
	return "s:" + sess.ID
}

// AddressKey is the throttle key of a client address for sess's tenant:
// an IPv4 address as it is, an IPv6 address by its /64 (what one
// subscriber is usually given).
func AddressKey(sess *core.Session, addr string) string {
	if a, err := netip.ParseAddr(addr); err == nil {
		a = a.Unmap()
		if a.Is6() {
			p, _ := a.WithZone("").Prefix(64)
			addr = p.String()
		} else {
			addr = a.String()
		}
	}
	return "a:" + sess.TenantID + ":" + addr
}

// Check says whether s may start a capture at now.
func (l *Limiter) Check(s Subject, now time.Time) Decision {
	if s.Policy.Exempt {
		return Decision{}
	}
	ub, uw := l.throttle.Blocked(s.UserKey, now)
	ab, aw := l.throttle.Blocked(s.AddressKey, now)
	return decide(ub, uw, ab, aw)
}

// Fail records a failed attempt of s at now under both keys and says
// whether s now cools down.
func (l *Limiter) Fail(s Subject, now time.Time) Decision {
	if s.Policy.Exempt {
		return Decision{}
	}
	ub, uw := l.throttle.Fail(s.UserKey, s.Policy.User, now)
	ab, aw := l.throttle.Fail(s.AddressKey, s.Policy.Address, now)
	d := decide(ub, uw, ab, aw)
	if d.Blocked {
		// Neither the address nor the user id is logged: both are personal data.
		l.log.Info("capture: failed attempts throttled", slog.String("session_id", s.SessionID),
			slog.String("scope", d.Scope), slog.Int("retry_after", seconds(d.Wait)))
	}
	return d
}

func decide(ub bool, uw time.Duration, ab bool, aw time.Duration) Decision {
	switch {
	case ub && (!ab || uw >= aw):
		return Decision{Blocked: true, Wait: uw, Scope: ScopeUser}
	case ab:
		return Decision{Blocked: true, Wait: aw, Scope: ScopeAddress}
	}
	return Decision{}
}

// seconds rounds a wait up to whole seconds (Retry-After, retry_after).
func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// message is what the WebSocket's error and the HTTP error say.
func (d Decision) message() string {
	who := "for this user"
	if d.Scope == ScopeAddress {
		who = "from this address"
	}
	return "too many failed attempts " + who + ": try again in " + strconv.Itoa(seconds(d.Wait)) + " s"
}
