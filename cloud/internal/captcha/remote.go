package captcha

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"livegate.dev/cloud/internal/netguard"
)

// The services' siteverify endpoints (the defaults of RemoteConfig.VerifyURL).
const (
	HCaptchaVerifyURL  = "https://api.hcaptcha.com/siteverify"
	TurnstileVerifyURL = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
)

// RemoteConfig configures a Remote verifier.
type RemoteConfig struct {
	// Kind is "hcaptcha" or "turnstile". Required.
	Kind string
	// Secret is the operator's secret key with the service. Required.
	Secret string
	// SiteKey is the public key the page's widget is drawn with. Optional.
	SiteKey string
	// VerifyURL overrides the service's siteverify URL (tests point it at
	// a local fake). It must pass Policy (https, a public address; with
	// Policy.Dev, http to a literal loopback host). Optional. Default: the
	// Kind's URL above.
	VerifyURL string
	// Policy guards the connection as webhook deliveries are guarded.
	// Optional. Default: the production policy.
	Policy netguard.Policy
	// Timeout bounds one verification. Optional. Default: 5 s.
	Timeout time.Duration
}

// Remote verifies hCaptcha or Turnstile response tokens with the
// service's siteverify API (both take secret, response and remoteip as a
// form and answer {"success": bool, "error-codes": […]}).
type Remote struct {
	cfg    RemoteConfig
	client *http.Client
}

var _ Verifier = (*Remote)(nil)

// NewRemote checks cfg (and the verify URL against the policy) and returns
// a Remote.
func NewRemote(ctx context.Context, cfg RemoteConfig) (*Remote, error) {
	switch cfg.Kind {
	case "hcaptcha":
		if cfg.VerifyURL == "" {
			cfg.VerifyURL = HCaptchaVerifyURL
		}
	case "turnstile":
		if cfg.VerifyURL == "" {
			cfg.VerifyURL = TurnstileVerifyURL
		}
	default:
		return nil, fmt.Errorf("captcha: unknown remote kind %q (hcaptcha or turnstile)", cfg.Kind)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("captcha: %s needs a secret", cfg.Kind)
	}
	if err := cfg.Policy.CheckURL(ctx, cfg.VerifyURL); err != nil {
		return nil, fmt.Errorf("captcha: verify URL %q: %w", cfg.VerifyURL, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	tr := &http.Transport{DialContext: cfg.Policy.DialContext, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
		TLSHandshakeTimeout: cfg.Timeout, ResponseHeaderTimeout: cfg.Timeout}
	return &Remote{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// Kind is "hcaptcha" or "turnstile".
func (r *Remote) Kind() string { return r.cfg.Kind }

// SiteKey is the widget's public key.
func (r *Remote) SiteKey() string { return r.cfg.SiteKey }

// Verify asks the service about token. A refused token is ErrInvalid (the
// services report expired and duplicate tokens as error codes:
// timeout-or-duplicate, already-seen-response); a service that cannot be
// asked is ErrUnavailable.
func (r *Remote) Verify(ctx context.Context, token, remoteIP string) error {
	if token == "" {
		return ErrRequired
	}
	if len(token) > 4096 {
		return fmt.Errorf("%w: token over 4096 bytes", ErrInvalid)
	}
	form := url.Values{"secret": {r.cfg.Secret}, "response": {token}}
	if remoteIP != "" {
		form.Set("remoteip", remoteIP)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.VerifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, r.cfg.Kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s answered %d", ErrUnavailable, r.cfg.Kind, resp.StatusCode)
	}
	var out struct {
		Success bool     `json:"success"`
		Codes   []string `json:"error-codes"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return fmt.Errorf("%w: %s answer: %v", ErrUnavailable, r.cfg.Kind, err)
	}
	if !out.Success {
		for _, c := range out.Codes {
			if c == "timeout-or-duplicate" || c == "already-seen-response" {
				return fmt.Errorf("%w: %s: %s", ErrReplayed, r.cfg.Kind, c)
			}
		}
		return fmt.Errorf("%w: %s refused the token (%s)", ErrInvalid, r.cfg.Kind, strings.Join(out.Codes, ", "))
	}
	return nil
}
