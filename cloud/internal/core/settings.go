package core

import (
	"fmt"
	"time"
)

// TenantSettings are a tenant's adjustable behaviour, set through the admin
// API (PUT /admin/v1/tenants/{id}/settings). The zero value means every
// default.
type TenantSettings struct {
	CaptureThrottle CaptureThrottle `json:"capture_throttle,omitzero"`
	// Verification sets how verification sessions (seed 003) decide.
	Verification VerificationSettings `json:"verification,omitzero"`
	// Retention sets when the sweeper deletes the tenant's session data.
	Retention RetentionSettings `json:"retention,omitzero"`
}

// VerificationSettings are a tenant's decision rules for verification
// sessions. A nil field takes its default.
type VerificationSettings struct {
	// LivenessReviewBelow sends a liveness pass whose confidence is below it
	// to review (reason liveness_grey_zone) instead of approving it: a grey
	// zone above the pass threshold, in [PassThreshold, 1]. Default: none
	// (every pass is approved). A retry is always review and a fail always
	// declined.
	LivenessReviewBelow *float64 `json:"liveness_review_below,omitempty"`
	// FacematchAccept is the similarity at or above which the facematch
	// check passes, in [FacematchAcceptMin, 1]: a tenant may be stricter
	// than the calibrated threshold, never looser. Default:
	// FacematchAcceptMin.
	FacematchAccept *float64 `json:"facematch_accept,omitempty"`
	// FacematchReviewFrom opens the facematch grey zone: a similarity from
	// it up to FacematchAccept goes to review (facematch_review), below it
	// fails; in [0, FacematchAccept]. Default: FacematchReviewFromDefault.
	FacematchReviewFrom *float64 `json:"facematch_review_from,omitempty"`
}

// The facematch thresholds' defaults: livegate.dev/models/facematch's
// calibrated Accept and ReviewFrom (a test in package lifecycle checks that they
// agree; core stays free of the engine).
const (
	FacematchAcceptMin         = 0.60
	FacematchReviewFromDefault = 0.50
)

// Facematch returns the facematch thresholds in effect.
func (v VerificationSettings) Facematch() (accept, reviewFrom float64) {
	accept, reviewFrom = FacematchAcceptMin, FacematchReviewFromDefault
	if v.FacematchAccept != nil {
		accept = *v.FacematchAccept
	}
	if v.FacematchReviewFrom != nil {
		reviewFrom = *v.FacematchReviewFrom
	}
	return accept, reviewFrom
}

// CaptureThrottle sets how failed capture attempts of the tenant's sessions
// are throttled (docs/api.md, "Failed captures"). A nil field takes its
// default; Effective fills them in.
//
// Failures are counted per end user — the session's user_id, or the session
// itself when it has none — and, as a backstop, per client address. Both
// counts share the window and the cool-down.
type CaptureThrottle struct {
	// UserLimit failures of one end user within the window start a
	// cool-down for that user. Default: DefaultThrottleUserLimit.
	UserLimit *int `json:"user_limit,omitempty"`
	// AddressLimit failures from one client address (an IPv6 /64) within
	// the window start a cool-down for every session of the tenant from
	// that address. Default: DefaultThrottleAddressLimit.
	AddressLimit *int `json:"address_limit,omitempty"`
	// WindowSeconds is how far back failures are counted. Default:
	// DefaultThrottleWindow.
	WindowSeconds *int `json:"window_seconds,omitempty"`
	// CooldownSeconds is how long a cool-down lasts. Default:
	// DefaultThrottleCooldown.
	CooldownSeconds *int `json:"cooldown_seconds,omitempty"`
	// TestExempt exempts the sessions of test-mode keys from the throttle.
	// Default: true.
	TestExempt *bool `json:"test_exempt,omitempty"`
}

// Defaults of CaptureThrottle.
const (
	// DefaultThrottleUserLimit: AWS's advice for face liveness (at most 5
	// failures in 3 minutes), applied to one user instead of one address.
	DefaultThrottleUserLimit = 5
	// DefaultThrottleAddressLimit: 20 users behind one carrier NAT or
	// branch proxy can each spend their whole budget (or 100 users one
	// failure each) within the window before the address is refused.
	DefaultThrottleAddressLimit = 100
	DefaultThrottleWindow       = 3 * time.Minute
	DefaultThrottleCooldown     = 3 * time.Minute
)

// Bounds of CaptureThrottle's fields (inclusive).
const (
	MaxThrottleUserLimit    = 1000
	MaxThrottleAddressLimit = 100_000
	MaxThrottleSeconds      = 86_400 // window and cool-down: one day
)

// ThrottleValues are a CaptureThrottle with every default filled in.
type ThrottleValues struct {
	UserLimit, AddressLimit int
	Window, Cooldown        time.Duration
	TestExempt              bool
}

// Effective returns the settings with every unset field at its default.
func (c CaptureThrottle) Effective() ThrottleValues {
	v := ThrottleValues{UserLimit: DefaultThrottleUserLimit, AddressLimit: DefaultThrottleAddressLimit,
		Window: DefaultThrottleWindow, Cooldown: DefaultThrottleCooldown, TestExempt: true}
	if c.UserLimit != nil {
		v.UserLimit = *c.UserLimit
	}
	if c.AddressLimit != nil {
		v.AddressLimit = *c.AddressLimit
	}
	if c.WindowSeconds != nil {
		v.Window = time.Duration(*c.WindowSeconds) * time.Second
	}
	if c.CooldownSeconds != nil {
		v.Cooldown = time.Duration(*c.CooldownSeconds) * time.Second
	}
	if c.TestExempt != nil {
		v.TestExempt = *c.TestExempt
	}
	return v
}

// SettingError names a setting whose value is out of its range.
type SettingError struct {
	Setting  string // dotted: "capture_throttle.user_limit"
	Value    int
	Min, Max int
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("setting %q must be %d–%d, got %d", e.Setting, e.Min, e.Max, e.Value)
}

// Validate reports the first setting out of its range (a *SettingError for
// an integer setting).
func (s TenantSettings) Validate() error {
	if v := s.Verification.LivenessReviewBelow; v != nil && (*v < PassThreshold || *v > 1) {
		return fmt.Errorf("setting %q must be %.2f–1, got %v", "verification.liveness_review_below", PassThreshold, *v)
	}
	if v := s.Verification.FacematchAccept; v != nil && (*v < FacematchAcceptMin || *v > 1) {
		return fmt.Errorf("setting %q must be %.2f–1, got %v", "verification.facematch_accept", FacematchAcceptMin, *v)
	}
	if accept, from := s.Verification.Facematch(); s.Verification.FacematchReviewFrom != nil && (from < 0 || from > accept) {
		return fmt.Errorf("setting %q must be 0–%.2f (verification.facematch_accept), got %v", "verification.facematch_review_from", accept, from)
	}
	if err := s.Retention.Validate(); err != nil {
		return err
	}
	c := s.CaptureThrottle
	for _, f := range []struct {
		name     string
		v        *int
		min, max int
	}{
		{"capture_throttle.user_limit", c.UserLimit, 1, MaxThrottleUserLimit},
		{"capture_throttle.address_limit", c.AddressLimit, 1, MaxThrottleAddressLimit},
		{"capture_throttle.window_seconds", c.WindowSeconds, 1, MaxThrottleSeconds},
		{"capture_throttle.cooldown_seconds", c.CooldownSeconds, 1, MaxThrottleSeconds},
	} {
		if f.v != nil && (*f.v < f.min || *f.v > f.max) {
			return &SettingError{Setting: f.name, Value: *f.v, Min: f.min, Max: f.max}
		}
	}
	return nil
}
