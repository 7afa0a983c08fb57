package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/capture/mount"
	"livegate.dev/cloud/internal/fleet"
	"livegate.dev/cloud/internal/fleet/fleetapi"
	"livegate.dev/cloud/internal/releases"
	"livegate.dev/cloud/internal/servertls"
	"livegate.dev/cloud/internal/webhook"
)

func serveCmd() *cobra.Command {
	var (
		o           daemon.Options
		rateLimit   int
		logLevel    string
		logFormat   string
		maxAttempts int
		backoffBase time.Duration
		backoffCap  time.Duration
		mqtt        fleetapi.Options
		otaRoots    string
		otaMax      int64
		otaStore    releases.HookOptions // Store, S3Endpoint, S3Region
		hstsMaxAge  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API, hosted session pages and webhook delivery",
		Long: `Run livegate-cloud.

Secrets come from the environment only:
  LIVEGATE_ADMIN_TOKEN               enables the admin API (/admin/v1/…) with this bearer token
  LIVEGATE_MANAGED_SESSION_API_KEY   the legacy global managed-session key (unsigned webhooks)
  LIVEGATE_CAPTCHA_SECRET            the hCaptcha or Turnstile secret key (--captcha hcaptcha|turnstile)
  LIVEGATE_MASTER_KEY                64 hex digits sealing webhook secrets (and the tokens kept
                                     for idempotent replays); default: <data>/master.key, created
                                     on first start.
                                     Replicas sharing PostgreSQL must share it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			o.Logger = logger
			o.AdminToken = os.Getenv("LIVEGATE_ADMIN_TOKEN")
			o.LegacyKey = os.Getenv("LIVEGATE_MANAGED_SESSION_API_KEY")
			o.MasterKeyHex = os.Getenv("LIVEGATE_MASTER_KEY")
			o.Captcha.Secret = os.Getenv("LIVEGATE_CAPTCHA_SECRET")
			o.Version = version
			switch {
			case rateLimit < 0:
				return fmt.Errorf("--rate-limit must be ≥ 0, got %d", rateLimit)
			case rateLimit == 0:
				o.RateLimit = -1 // disabled
			default:
				o.RateLimit = rateLimit
			}
			o.Webhook = webhook.Config{MaxAttempts: maxAttempts, BackoffBase: backoffBase, BackoffCap: backoffCap}
			// HTTPS: a year of HSTS in production; in dev max-age=0 unless
			// asked, so a browser never pins localhost to HTTPS.
			o.HSTSMaxAge = hstsMaxAge
			if o.Dev && !cmd.Flags().Changed("hsts-max-age") {
				o.HSTSMaxAge = 0
			}
			mo := mount.Options{DataDir: o.DataDir} // capture page, WebSocket, face API
			if o.Store == daemon.StorePostgres {
				mo.PostgresDSN = o.PostgresDSN // failed attempts throttled across replicas
			}
			o.Routes = mount.Routes(mo)
			withFleet := mqtt.MQTTAddr != "" || mqtt.MQTTURL != ""
			// OTA releases and staged rollouts (docs/ota-cloud.md). With
			// the fleet, rollouts send update commands through a fleet.Link
			// and receive the devices' answers and telemetry from it; the
			// rollout service is built first, so no answer that arrives as
			// soon as the fleet connects is lost.
			var link *fleet.Link
			if otaRoots != "" {
				ho := releases.HookOptions{DataDir: o.DataDir, RootsFile: otaRoots, AdminToken: o.AdminToken, MaxArtifactSize: otaMax,
					Store: otaStore.Store, S3Endpoint: otaStore.S3Endpoint, S3Region: otaStore.S3Region}
				if o.Store == daemon.StorePostgres {
					ho.PostgresDSN = o.PostgresDSN
				}
				if withFleet {
					link = &fleet.Link{}
					ho.Notifier = link
					ho.Started = func(s *releases.Service) { link.SetListener(s) }
				}
				o.Routes = fleetapi.Chain(o.Routes, releases.Hook(ho))
			}
			// The device fleet (docs/proto.md).
			if withFleet {
				mqtt.DataDir, mqtt.AdminToken, mqtt.Link = o.DataDir, o.AdminToken, link
				o.Routes = fleetapi.Chain(o.Routes, fleetapi.Hook(mqtt))
			}

			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			d, err := daemon.Start(ctx, o)
			if err != nil {
				return err
			}
			// SIGHUP reads the HTTPS certificate files again (they are
			// also read again when they change).
			hup := make(chan os.Signal, 1)
			if d.TLSAddr() != nil {
				signal.Notify(hup, syscall.SIGHUP)
				defer signal.Stop(hup)
			}
			var runErr error
		wait:
			for {
				select {
				case <-ctx.Done():
					logger.Info("shutting down")
					break wait
				case runErr = <-d.Err():
					logger.Error("stopping after a failure", slog.Any("error", runErr))
					break wait
				case <-hup:
					d.ReloadTLS() // logs the outcome; a failure keeps the current certificate
				}
			}
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := d.Shutdown(sctx); err != nil {
				return errors.Join(runErr, fmt.Errorf("shutdown: %w", err))
			}
			logger.Info("stopped")
			return runErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", ":8000", "address to listen on (plain HTTP; with --tls-addr it only redirects to HTTPS)")
	f.StringVar(&o.TLSAddr, "tls-addr", "", "serve HTTPS on this address, e.g. :8443, with --tls-cert and --tls-key (with --dev and neither: a certificate from a local CA generated in <data>/tls)")
	f.StringVar(&o.TLS.CertFile, "tls-cert", "", "PEM certificate for --tls-addr, then its intermediates (read again on SIGHUP and when the file changes)")
	f.StringVar(&o.TLS.KeyFile, "tls-key", "", "PEM private key of --tls-cert, unencrypted")
	f.StringSliceVar(&o.TLS.Names, "tls-names", nil, "with --dev and no --tls-cert: more DNS names or IP addresses for the generated certificate, besides localhost, 127.0.0.1 and ::1 (comma-separated)")
	f.DurationVar(&hstsMaxAge, "hsts-max-age", servertls.DefaultHSTSMaxAge, "Strict-Transport-Security max-age on HTTPS responses; negative: no header (default 0 with --dev)")
	f.StringVar(&o.DataDir, "data", "./data", "data directory (bbolt file, master.key)")
	f.StringVar(&o.PublicURL, "public-url", "", "external base URL used in session_url (default http://localhost:<port>)")
	f.StringVar(&o.Store, "store", daemon.StoreBolt, "store: bbolt (embedded) or postgres")
	f.StringVar(&o.PostgresDSN, "postgres-dsn", "", "PostgreSQL connection string (with --store postgres)")
	f.IntVar(&o.PostgresMaxConns, "postgres-max-conns", 32, "PostgreSQL connection pool size per replica")
	f.DurationVar(&o.SessionTTL, "session-ttl", 30*time.Minute, "how long a session can be captured")
	f.IntVar(&rateLimit, "rate-limit", api.DefaultRateLimit, "requests per minute per API key, and per client IP on keyless routes; 0 disables (per replica)")
	f.StringVar(&o.Captcha.Kind, "captcha", "", "protect POST /api/v1/session (direct sessions): pow (self-hosted proof of work, no third party), hcaptcha or turnstile (secret from LIVEGATE_CAPTCHA_SECRET); default off")
	f.Int64Var(&o.Captcha.PoW.MaxNumber, "captcha-difficulty", 50_000, "with --captcha pow: maxnumber at rest (a browser tries maxnumber/2 hashes on average); doubles for each 60 direct sessions a minute, and for each 10 a minute from one address, up to 64×")
	f.StringVar(&o.Captcha.VerifyURL, "captcha-verify-url", "", "with --captcha hcaptcha|turnstile: the siteverify URL (default: the service's own); https to a public address (with --dev, http to 127.0.0.1 too)")
	f.BoolVar(&o.Dev, "dev", false, "also accept http:// redirect/webhook URLs whose host is literally 127.0.0.1, ::1 or localhost, and generate a local CA for --tls-addr without --tls-cert (local integration only)")
	f.StringVar(&o.ProxyHeader, "proxy-header", "", "header carrying the client IP behind a trusted proxy, e.g. X-Forwarded-For")
	f.IntVar(&o.BodyLimit, "body-limit", api.DefaultBodyLimit, "largest request body in bytes (413 above)")
	f.IntVar(&maxAttempts, "webhook-max-attempts", webhook.DefaultMaxAttempts, "attempts per webhook delivery before it is dead")
	f.DurationVar(&backoffBase, "webhook-backoff-base", webhook.DefaultBackoffBase, "first webhook retry window (doubles per failure)")
	f.DurationVar(&backoffCap, "webhook-backoff-cap", webhook.DefaultBackoffCap, "largest webhook retry window")
	f.DurationVar(&o.SweepInterval, "sweep-interval", 15*time.Second, "how often expired sessions are swept")
	f.DurationVar(&o.RetentionInterval, "retention-interval", time.Hour, "how often the tenants' retention is applied (data past biometric_days / data_days deleted) and, with --store postgres, redacted data scrubbed from the table files (docs/data-deletion.md)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "json", "json or text")
	f.StringVar(&otaRoots, "ota-roots", "", "PEM bundle of trusted OTA root public keys (livegate-ota keygen root); enables /admin/v1/releases, /admin/v1/rollouts, /admin/v1/devices/{id}/labels and /api/v1/releases/{id}/artifact; rollouts reach devices with --mqtt-addr or --mqtt-url")
	f.Int64Var(&otaMax, "ota-max-artifact", releases.DefaultMaxArtifactSize, "largest OTA artifact upload in bytes")
	f.StringVar(&otaStore.Store, "ota-store", "disk", "where OTA artifact files are kept: disk (<data>/releases/) or s3://bucket[/prefix] (an S3-compatible object store at --ota-s3-endpoint; credentials from LIVEGATE_OTA_S3_ACCESS_KEY and LIVEGATE_OTA_S3_SECRET_KEY)")
	f.StringVar(&otaStore.S3Endpoint, "ota-s3-endpoint", "", "object store URL for --ota-store s3://…: https://host[:port] (http:// only to a loopback address)")
	f.StringVar(&otaStore.S3Region, "ota-s3-region", "us-east-1", "object store region for --ota-store s3://…")
	f.StringVar(&mqtt.MQTTAddr, "mqtt-addr", "", "enable the device fleet with the embedded MQTT broker (TLS, device CA) on this address, e.g. :8883")
	f.StringVar(&mqtt.MQTTURL, "mqtt-url", "", "enable the device fleet on an external broker instead, e.g. ssl://mqtt.example.com:8883 (Mosquitto, docs/proto.md)")
	f.StringVar(&mqtt.PublicBrokerURL, "mqtt-public-url", "", "broker URL told to devices at enrollment (default: --mqtt-url, or ssl://localhost:<port>)")
	annotateEnv(f)
	return cmd
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be json or text, got %q", format)
}
