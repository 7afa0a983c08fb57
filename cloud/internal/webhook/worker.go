package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store"
)

// Config configures a Worker.
type Config struct {
	// Store holds the outbox. Required.
	Store store.Store
	// Sealer opens tenants' sealed webhook secrets. Required.
	Sealer *secret.Sealer

	// Clock drives retries, leases and signature timestamps.
	//
	// Optional. Default: clock.Real{}.
	Clock clock.Clock
	// Policy decides which URLs and addresses may be contacted; every attempt
	// re-checks the URL and dials through Policy.DialContext.
	//
	// Optional. Default: the zero Policy (https only, public addresses,
	// system resolver).
	Policy netguard.Policy
	// Logger receives one record per attempt (ids, attempt, status, host;
	// never bodies, URLs' paths or queries, or secrets).
	//
	// Optional. Default: slog.Default().
	Logger *slog.Logger
	// Timeout bounds one attempt: URL check, connect, TLS, request and
	// response headers, and reading up to 64 KiB of the response body.
	//
	// Optional. Default: 10s.
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is dead.
	//
	// Optional. Default: 14 (spanning 26.5 h to 53 h, see the package doc).
	MaxAttempts int
	// BackoffBase is the retry window after the first failed attempt; it
	// doubles after each further failure up to BackoffCap. The wait is
	// uniformly random in the upper half of the window.
	//
	// Optional. Default: 1m.
	BackoffBase time.Duration
	// BackoffCap is the largest retry window.
	//
	// Optional. Default: 12h.
	BackoffCap time.Duration
	// Lease is how long a claimed delivery is reserved for this worker; if
	// the process dies, another worker takes it over after the lease. Must
	// exceed Timeout.
	//
	// Optional. Default: 2×Timeout + 30s.
	Lease time.Duration
	// BatchSize is how many deliveries are claimed at once; they are sent
	// concurrently.
	//
	// Optional. Default: 16.
	BatchSize int
	// PollInterval is how long an idle worker waits before looking for due
	// deliveries again (Notify wakes it earlier). It also bounds how late a
	// scheduled retry starts.
	//
	// Optional. Default: 2s.
	PollInterval time.Duration
	// UserAgent is sent with every request.
	//
	// Optional. Default: "Livegate-Webhooks/1.0".
	UserAgent string
}

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxAttempts  = 14
	DefaultBackoffBase  = time.Minute
	DefaultBackoffCap   = 12 * time.Hour
	DefaultBatchSize    = 16
	DefaultPollInterval = 2 * time.Second
	DefaultUserAgent    = "Livegate-Webhooks/1.0"
)

// maxResponseRead is how much of a receiver's response is read (and
// discarded) so the connection can be reused.
const maxResponseRead = 64 << 10

func configDefault(c Config) (Config, error) {
	if c.Store == nil {
		return c, errors.New("webhook: Config.Store is required")
	}
	if c.Sealer == nil {
		return c, errors.New("webhook: Config.Sealer is required")
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffCap <= 0 {
		c.BackoffCap = DefaultBackoffCap
	}
	if c.BackoffCap < c.BackoffBase {
		return c, fmt.Errorf("webhook: BackoffCap %s is below BackoffBase %s", c.BackoffCap, c.BackoffBase)
	}
	if c.Lease <= 0 {
		c.Lease = 2*c.Timeout + 30*time.Second
	}
	if c.Lease <= c.Timeout {
		return c, fmt.Errorf("webhook: Lease %s must exceed Timeout %s", c.Lease, c.Timeout)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	return c, nil
}

// Worker delivers the outbox. Several workers (in one process or in several
// replicas) may run against one store: the store's claims keep them apart.
type Worker struct {
	cfg       Config
	log       *slog.Logger
	client    *http.Client
	transport *http.Transport
	notify    chan struct{}

	// afterAttempt, when set (tests), is called with a copy of the delivery
	// after each attempt has been saved.
	afterAttempt func(core.Delivery)
}

// New returns a Worker for cfg, with defaults applied to its optional fields.
func New(cfg Config) (*Worker, error) {
	cfg, err := configDefault(cfg)
	if err != nil {
		return nil, err
	}
	if span := minSpan(cfg); cfg.MaxAttempts < 8 || span < 24*time.Hour {
		cfg.Logger.Warn("webhook retry schedule is shorter than the recommended 8 attempts over 24h",
			"max_attempts", cfg.MaxAttempts, "min_span", span.String())
	}
	tr := &http.Transport{
		Proxy:                  nil, // never through a proxy: the policy dials
		DialContext:            cfg.Policy.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &Worker{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "webhook"),
		transport: tr,
		client: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a 3xx is the answer, and a failure
			},
		},
		notify: make(chan struct{}, 1),
	}, nil
}

// Notify wakes the worker to look for due deliveries now, e.g. right after a
// delivery was enqueued or replayed. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done: it claims due deliveries, sends them, and
// waits on the clock (PollInterval) or Notify. Attempts in flight when ctx
// ends are abandoned without counting; their lease is released. Run returns
// nil after ctx is done; store errors are logged and retried.
func (w *Worker) Run(ctx context.Context) error {
	defer w.transport.CloseIdleConnections()
	for {
		n, err := w.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.log.Error("webhook: claiming deliveries failed", "err", err)
		} else if n == w.cfg.BatchSize {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.notify:
		case <-w.cfg.Clock.After(w.cfg.PollInterval):
		}
	}
}

// pass claims one batch and delivers it, returning how many were claimed.
func (w *Worker) pass(ctx context.Context) (int, error) {
	ds, err := w.cfg.Store.ClaimDeliveries(ctx, w.cfg.Clock.Now(), w.cfg.Lease, w.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("webhook: claim deliveries: %w", err)
	}
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.deliver(ctx, d)
		}()
	}
	wg.Wait()
	return len(ds), nil
}

// deliver makes one attempt at d and saves the outcome.
func (w *Worker) deliver(ctx context.Context, d *core.Delivery) {
	attempt := d.Attempts + 1
	status, err := w.send(ctx, d, attempt)
	// Saving must happen even while shutting down.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	log := w.log.With("delivery_id", d.ID, "session_id", d.SessionID, "tenant_id", d.TenantID,
		"event", d.Type, "attempt", attempt, "host", hostOf(d.URL))
	if err != nil && ctx.Err() != nil {
		// Interrupted by shutdown: not an attempt. Release the lease.
		d.LeaseUntil = time.Time{}
		if serr := w.cfg.Store.SaveDelivery(saveCtx, d); serr != nil {
			log.Warn("webhook: releasing lease at shutdown failed", "err", serr)
		}
		return
	}
	now := w.cfg.Clock.Now()
	d.Attempts = attempt
	d.LastStatus = status
	d.LeaseUntil = time.Time{}
	switch {
	case err == nil:
		d.State = core.DeliveryDelivered
		d.DeliveredAt = &now
		d.LastError = ""
	case attempt >= w.cfg.MaxAttempts:
		d.State = core.DeliveryDead
		d.LastError = truncate(err.Error(), 500)
	default:
		d.NextAttemptAt = now.Add(w.backoff(attempt))
		d.LastError = truncate(err.Error(), 500)
	}
	if serr := w.cfg.Store.SaveDelivery(saveCtx, d); serr != nil {
		// The lease will expire and the delivery be attempted again: at
		// least once, never lost.
		log.Error("webhook: saving delivery outcome failed", "err", serr, "status", status)
		return
	}
	switch d.State {
	case core.DeliveryDelivered:
		log.Info("webhook delivered", "status", status)
	case core.DeliveryDead:
		log.Error("webhook dead after last attempt", "status", status, "err", err)
	default:
		log.Warn("webhook attempt failed", "status", status, "err", err, "next_attempt_at", d.NextAttemptAt)
	}
	if w.afterAttempt != nil {
		w.afterAttempt(*d)
	}
}

// send POSTs d once and returns the HTTP status (0 without a response) and
// nil only for a 2xx.
func (w *Worker) send(ctx context.Context, d *core.Delivery, attempt int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	if err := w.cfg.Policy.CheckURL(ctx, d.URL); err != nil {
		var ne *netguard.Error
		if errors.As(err, &ne) {
			return 0, fmt.Errorf("webhook URL refused (%s): %w", ne.Code, err)
		}
		return 0, fmt.Errorf("webhook URL refused: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", stripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.cfg.UserAgent)
	req.Header.Set("Livegate-Event-Id", d.ID)
	req.Header.Set("Livegate-Event-Type", d.Type)
	req.Header.Set("Livegate-Attempt", strconv.Itoa(attempt))
	if d.TenantID != "" {
		sig, err := w.signature(ctx, d, w.cfg.Clock.Now())
		if err != nil {
			return 0, err
		}
		req.Header.Set("Livegate-Signature", sig)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", stripURL(err))
	}
	// Drain a little so the connection can be reused; the status decides.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("receiver answered %d: redirects are not followed", resp.StatusCode)
	default:
		return resp.StatusCode, fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
}

// signature signs d's body with its tenant's unexpired secrets.
func (w *Worker) signature(ctx context.Context, d *core.Delivery, now time.Time) (string, error) {
	t, err := w.cfg.Store.GetTenant(ctx, d.TenantID)
	if err != nil {
		return "", fmt.Errorf("load tenant %s for signing: %w", d.TenantID, err)
	}
	secrets, err := TenantSecrets(w.cfg.Sealer, t, now)
	if err != nil {
		return "", err
	}
	return Sign(secrets, now, d.Body), nil
}

// backoff is the wait after failed attempt n (1-based): uniform in the upper
// half of the window min(cap, base·2^(n-1)).
func (w *Worker) backoff(n int) time.Duration {
	win := window(w.cfg.BackoffBase, w.cfg.BackoffCap, n)
	half := win / 2
	return half + rand.N(win-half+1)
}

// minSpan is the shortest time from the first to the last attempt.
func minSpan(cfg Config) time.Duration {
	var d time.Duration
	for n := 1; n < cfg.MaxAttempts; n++ {
		d += window(cfg.BackoffBase, cfg.BackoffCap, n) / 2
		if d > 365*24*time.Hour {
			break
		}
	}
	return d
}

// window is the retry window after failed attempt n.
func window(base, cap time.Duration, n int) time.Duration {
	win := base
	for i := 1; i < n && win < cap; i++ {
		win *= 2
	}
	return min(win, cap)
}

// stripURL drops the URL from a *url.Error: a webhook URL's path or query may
// carry the integrator's own secrets, and errors end up in logs and in the
// delivery's LastError.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
