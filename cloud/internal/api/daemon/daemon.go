package daemon

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/captcha"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/servertls"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/cloud/internal/webhook"
)

// Store kinds.
const (
	StoreBolt     = "bbolt"
	StorePostgres = "postgres"
)

// Options configures a daemon. Zero values take the documented defaults.
type Options struct {
	// Addr to listen on. Optional. Default: ":8000". Ignored when Listener is set.
	Addr string
	// Listener to serve on instead of Addr. Optional.
	Listener net.Listener
	// TLSAddr, when set, serves the API over HTTPS there (TLS 1.2 and up),
	// with the certificate TLS names; the plain listener (Addr or
	// Listener) then only redirects to it. Optional. Default: no HTTPS.
	TLSAddr string
	// TLSListener is a TCP listener to serve HTTPS on instead of TLSAddr
	// (TLS is added). Optional.
	TLSListener net.Listener
	// TLS is where the HTTPS certificate comes from: --tls-cert and
	// --tls-key, or with Dev and neither, a development CA kept in
	// DataDir/tls (Dev, Clock and Logger are filled in). Used only with
	// TLSAddr or TLSListener.
	TLS servertls.Config
	// HSTSMaxAge is the Strict-Transport-Security max-age sent on HTTPS
	// responses. Optional. Default: 0, sent as max-age=0 (a browser keeps
	// no pin); negative sends no header. serve sets a year outside --dev.
	HSTSMaxAge time.Duration
	// DataDir holds the bbolt file and master.key. Optional. Default: "./data".
	DataDir string
	// PublicURL is the externally visible base URL for session_url.
	// Optional. Default: http://localhost:<port>.
	PublicURL string
	// Store is "bbolt" or "postgres". Optional. Default: "bbolt".
	Store string
	// PostgresDSN is required with Store "postgres".
	PostgresDSN string
	// PostgresMaxConns is the connection pool size. Optional. Default: 32
	// (concurrent commits share WAL flushes, PostgreSQL's group commit).
	PostgresMaxConns int
	// SessionTTL. Optional. Default: 30m.
	SessionTTL time.Duration
	// RateLimit is requests per minute per API key / client IP; negative
	// disables it. Optional. Default: api.DefaultRateLimit.
	RateLimit int
	// Dev also allows http:// webhook and redirect URLs to literal loopback hosts.
	Dev bool
	// AdminToken enables the admin API. Optional.
	AdminToken string
	// LegacyKey is the legacy global managed-session key. Optional.
	LegacyKey string
	// MasterKeyHex is LIVEGATE_MASTER_KEY; when empty, DataDir/master.key is
	// used (created on first start). Replicas sharing PostgreSQL must share it.
	MasterKeyHex string
	// ProxyHeader names the header holding the client IP behind a trusted proxy. Optional.
	ProxyHeader string
	// BodyLimit in bytes. Optional. Default: api.DefaultBodyLimit.
	BodyLimit int
	// SweepInterval of the TTL sweeper. Optional. Default: 15s.
	SweepInterval time.Duration
	// RetentionInterval is how often the retention sweeper applies the
	// tenants' retention (and, on PostgreSQL, scrubs what redactions
	// left in the table files). Optional. Default: 1h.
	RetentionInterval time.Duration
	// Webhook tunes the delivery worker (Store, Sealer, Clock, Policy and
	// Logger are filled in). Optional.
	Webhook webhook.Config
	// Resolver for URL checks. Optional. Default: the system resolver.
	Resolver netguard.Resolver
	// Clock. Optional. Default: clock.Real.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
	// Version reported in the OpenAPI document. Optional.
	Version string
	// BoltOptions for the bbolt store. Optional.
	BoltOptions bolt.Options
	// Routes, when set, is called once the core parts exist and returns more
	// routes to serve (the capture page, its WebSocket, face compare…) and a
	// function to call at shutdown after the HTTP server stopped (may be nil).
	// Optional.
	Routes func(p Parts) ([]api.Route, func() error, error)
	// Captcha protects POST /api/v1/session (docs/api.md, "Abuse
	// protection"). Optional. Default: off.
	Captcha CaptchaOptions
}

// CaptchaOptions chooses the direct-session route's abuse protection.
type CaptchaOptions struct {
	// Kind is "" (off), "pow", "hcaptcha" or "turnstile".
	Kind string
	// Secret is the hCaptcha or Turnstile secret key (required for those;
	// pow signs with a key derived from the master key, so replicas agree).
	Secret string
	// VerifyURL overrides the service's siteverify URL. Optional.
	VerifyURL string
	// PoW tunes the proof of work (difficulty, growth under load); Secret
	// and Clock are set by the daemon. Optional.
	PoW captcha.PoWConfig
}

// CaptchaKey is the proof-of-work challenges' HMAC key, derived from the
// master key.
func CaptchaKey(master []byte) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("livegate captcha pow v1"))
	return m.Sum(nil)
}

// newCaptcha builds the verifier o.Captcha names (nil when off).
func newCaptcha(ctx context.Context, o Options, master []byte, policy netguard.Policy) (captcha.Verifier, error) {
	switch o.Captcha.Kind {
	case "":
		return nil, nil
	case "pow":
		cfg := o.Captcha.PoW
		cfg.Secret, cfg.Clock = CaptchaKey(master), o.Clock
		return captcha.NewPoW(cfg)
	case "hcaptcha", "turnstile":
		return captcha.NewRemote(ctx, captcha.RemoteConfig{Kind: o.Captcha.Kind, Secret: o.Captcha.Secret,
			VerifyURL: o.Captcha.VerifyURL, Policy: policy})
	}
	return nil, fmt.Errorf("daemon: --captcha %q: want pow, hcaptcha or turnstile", o.Captcha.Kind)
}

// Parts are what a Routes hook may build on.
type Parts struct {
	Sessions  *lifecycle.Service
	Store     store.Store
	Clock     clock.Clock
	Logger    *slog.Logger
	PublicURL string
	// MasterKey is the service's master key, for deriving keys (HMAC it
	// with a purpose label); never log or send it.
	MasterKey []byte
	// URLs is the policy the API vets webhook and redirect URLs with
	// (Options.Dev, Options.Resolver): a hook that accepts a webhook URL
	// checks it with this one, so --dev means the same everywhere.
	URLs netguard.Policy
	// Webhooks wakes the webhook delivery worker. A hook that queues
	// deliveries in the store itself (the fleet's ingest of kiosk results)
	// calls its Notify once they are committed; without it they would wait
	// for the worker's next poll (webhook.Config.PollInterval, 2 s).
	Webhooks api.Notifier
	// Tenants is the API's tenant service: tenants' settings and data keys
	// (what a hook seals or opens for a tenant, it opens with these).
	Tenants *tenancy.Service
}

// Daemon is a running livegate-cloud.
type Daemon struct {
	opts     Options
	st       store.Store
	srv      *api.Server
	ln       net.Listener
	tlsLn    net.Listener     // HTTPS, when on; ln then only redirects
	certs    *servertls.Certs // the HTTPS certificate
	redirect *http.Server     // serves ln when HTTPS is on
	worker   *webhook.Worker
	sessions *lifecycle.Service
	tenants  *tenancy.Service
	sealer   *secret.Sealer
	url      string

	closeExtra func() error
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	errc       chan error
	once       sync.Once
}

// OpenStore opens the store the options name.
func OpenStore(ctx context.Context, o Options) (store.Store, error) {
	switch o.Store {
	case "", StoreBolt:
		return bolt.Open(o.DataDir, o.BoltOptions)
	case StorePostgres:
		if o.PostgresDSN == "" {
			return nil, errors.New("daemon: --store postgres needs --postgres-dsn (LIVEGATE_POSTGRES_DSN)")
		}
		return openPostgres(ctx, o.PostgresDSN, o.PostgresMaxConns)
	}
	return nil, fmt.Errorf("daemon: unknown store %q (want bbolt or postgres)", o.Store)
}

// MasterKey loads (or creates) the master key of o.
func MasterKey(o Options) ([]byte, error) {
	return secret.LoadOrCreateKey(o.MasterKeyHex, filepath.Join(o.DataDir, "master.key"))
}

// TokenKey derives, from the master key, the key that seals the token copies kept for idempotent replays.
func TokenKey(master []byte) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("livegate session tokens v1"))
	return m.Sum(nil)
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = ":8000"
	}
	if o.DataDir == "" {
		o.DataDir = "./data"
	}
	if o.Store == "" {
		o.Store = StoreBolt
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 30 * time.Minute
	}
	if o.RateLimit == 0 {
		o.RateLimit = api.DefaultRateLimit
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Start opens everything and starts serving. Call Shutdown to stop.
func Start(ctx context.Context, o Options) (*Daemon, error) {
	o.defaults()
	d := &Daemon{opts: o, errc: make(chan error, 4)}
	certs, err := openTLS(o)
	if err != nil {
		return nil, err
	}
	d.certs = certs
	master, err := MasterKey(o)
	if err != nil {
		return nil, err
	}
	d.sealer, err = secret.New(master)
	if err != nil {
		return nil, err
	}
	d.st, err = OpenStore(ctx, o)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			d.st.Close()
		}
	}()
	policy := netguard.Policy{Dev: o.Dev, Resolver: o.Resolver}
	if o.Dev {
		o.Logger.Warn("dev mode: http:// webhook and redirect URLs to 127.0.0.1, ::1 and localhost are accepted; do not use in production")
	}
	wc := o.Webhook
	wc.Store, wc.Sealer, wc.Clock, wc.Policy, wc.Logger = d.st, d.sealer, o.Clock, policy, o.Logger
	d.worker, err = webhook.New(wc)
	if err != nil {
		return nil, err
	}

	d.ln = o.Listener
	if d.ln == nil {
		d.ln, err = net.Listen("tcp", o.Addr)
		if err != nil {
			return nil, fmt.Errorf("daemon: listen on %s: %w", o.Addr, err)
		}
	}
	if d.certs != nil {
		raw := o.TLSListener
		if raw == nil {
			if raw, err = net.Listen("tcp", o.TLSAddr); err != nil {
				d.ln.Close()
				return nil, fmt.Errorf("daemon: listen on %s (--tls-addr): %w", o.TLSAddr, err)
			}
		}
		d.tlsLn = tls.NewListener(raw, d.certs.TLSConfig())
	}
	d.url = o.PublicURL
	if d.url == "" && d.tlsLn != nil {
		d.url = "https://localhost:" + strconv.Itoa(d.tlsLn.Addr().(*net.TCPAddr).Port)
	} else if d.url == "" {
		port := d.ln.Addr().(*net.TCPAddr).Port
		d.url = "http://localhost:" + strconv.Itoa(port)
	}
	d.sessions, err = lifecycle.New(lifecycle.Config{
		Store: d.st, URLs: policy, TokenKey: TokenKey(master), PublicURL: d.url, Notifier: d.worker,
		Clock: o.Clock, TTL: o.SessionTTL, SweepInterval: o.SweepInterval, Logger: o.Logger,
		RetentionInterval: o.RetentionInterval, ScrubAfterRedact: o.Store == StoreBolt,
	})
	if err != nil {
		d.closeListeners()
		return nil, err
	}
	d.tenants = tenancy.New(d.st, d.sealer, o.Clock)
	verifier, err := newCaptcha(ctx, o, master, policy)
	if err != nil {
		d.closeListeners()
		return nil, err
	}
	var extra []api.Route
	if o.Routes != nil {
		extra, d.closeExtra, err = o.Routes(Parts{Sessions: d.sessions, Store: d.st, Clock: o.Clock, Logger: o.Logger,
			PublicURL: d.url, MasterKey: master, URLs: policy, Webhooks: d.worker, Tenants: d.tenants})
		if err != nil {
			d.closeListeners()
			return nil, fmt.Errorf("daemon: extra routes: %w", err)
		}
	}
	rate := o.RateLimit
	if rate < 0 {
		rate = 0
	}
	d.srv, err = api.New(api.Config{
		Sessions: d.sessions, Tenants: d.tenants, Store: d.st,
		Replay: func(ctx context.Context, id string) (*core.Delivery, error) {
			return webhook.Replay(ctx, d.st, id, o.Clock.Now())
		},
		Notifier: d.worker, AdminToken: o.AdminToken, LegacyKey: o.LegacyKey, RateLimit: rate,
		BodyLimit: o.BodyLimit, ProxyHeader: o.ProxyHeader, Clock: o.Clock, Logger: o.Logger, Version: o.Version,
		Routes: extra, HSTS: d.hsts(), Captcha: verifier,
	})
	if err != nil {
		d.closeListeners()
		if d.closeExtra != nil {
			d.closeExtra()
		}
		return nil, err
	}

	bg, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.wg.Add(4)
	go func() {
		defer d.wg.Done()
		if err := d.worker.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
			d.errc <- fmt.Errorf("webhook worker: %w", err)
		}
	}()
	go func() {
		defer d.wg.Done()
		if err := d.sessions.RunSweeper(bg); err != nil && !errors.Is(err, context.Canceled) {
			d.errc <- fmt.Errorf("session sweeper: %w", err)
		}
	}()
	go func() {
		defer d.wg.Done()
		if err := d.sessions.RunRetention(bg); err != nil && !errors.Is(err, context.Canceled) {
			d.errc <- fmt.Errorf("retention sweeper: %w", err)
		}
	}()
	go func() {
		defer d.wg.Done()
		ln := d.ln
		if d.tlsLn != nil {
			ln = d.tlsLn
		}
		if err := d.srv.Serve(ln); err != nil {
			d.errc <- fmt.Errorf("http server: %w", err)
		}
	}()
	attrs := []slog.Attr{slog.String("addr", d.ln.Addr().String()), slog.String("public_url", d.url),
		slog.String("store", o.Store), slog.Duration("session_ttl", o.SessionTTL), slog.Int("rate_limit", rate),
		slog.Bool("admin_api", o.AdminToken != ""), slog.Bool("legacy_key", o.LegacyKey != "")}
	if d.tlsLn != nil {
		d.serveRedirect()
		attrs = append(attrs, slog.String("tls_addr", d.tlsLn.Addr().String()))
	}
	ok = true
	if dev := d.DevCA(); dev != nil { // before "serving": whoever waits for that line has this one too
		o.Logger.Warn("dev TLS: a local CA signs the HTTPS certificate; trust its certificate on devices (livegate-kiosk enroll --cloud-ca, ota.ca_file), "+
			"in livegate-ota push --ca, curl --cacert and browsers", slog.String("ca_file", dev.CAFile), slog.String("ca_sha256", dev.Fingerprint),
			slog.Bool("new_ca", dev.NewCA), slog.Any("names", dev.Names), slog.String("https_url", d.url))
	}
	o.Logger.LogAttrs(context.Background(), slog.LevelInfo, "livegate-cloud serving", attrs...)
	return d, nil
}

// URL is the public base URL.
func (d *Daemon) URL() string { return d.url }

// Addr is the address the server listens on (for plain HTTP; with HTTPS
// on, it only redirects).
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

// Store is the open store.
func (d *Daemon) Store() store.Store { return d.st }

// Server is the HTTP server.
func (d *Daemon) Server() *api.Server { return d.srv }

// Sessions is the lifecycle service.
func (d *Daemon) Sessions() *lifecycle.Service { return d.sessions }

// Worker is the webhook delivery worker.
func (d *Daemon) Worker() *webhook.Worker { return d.worker }

// Err reports a background failure (server, worker or sweeper stopped).
func (d *Daemon) Err() <-chan error { return d.errc }

// Shutdown stops accepting requests, drains those in flight (until ctx
// ends), stops the worker and sweeper, and closes the store.
func (d *Daemon) Shutdown(ctx context.Context) error {
	var err error
	d.once.Do(func() {
		err = d.srv.Shutdown(ctx)
		if d.redirect != nil {
			if rerr := d.redirect.Shutdown(ctx); err == nil {
				err = rerr
			}
		}
		// The HTTP server stops only the listeners it has begun serving:
		// one told to stop before its goroutine got that far would serve
		// d.ln afterwards, for ever. Closed here, Serve returns at once.
		d.closeListeners()
		if d.closeExtra != nil {
			if cerr := d.closeExtra(); err == nil {
				err = cerr
			}
		}
		d.cancel()
		d.wg.Wait()
		if cerr := d.st.Close(); err == nil {
			err = cerr
		}
	})
	return err
}
