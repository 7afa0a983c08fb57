package servertls

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"livegate.dev/cloud/internal/clock"
)

// DefaultCheckEvery is how often, at most, a handshake checks whether the
// certificate files changed.
const DefaultCheckEvery = 5 * time.Second

// ErrNoCertificate is returned by Open for HTTPS without certificate files
// outside development mode: a certificate is generated only with --dev.
var ErrNoCertificate = errors.New("HTTPS needs a certificate: give --tls-cert and --tls-key (a local CA and its certificate are generated only with --dev)")

// Config says where the HTTPS certificate comes from.
type Config struct {
	// CertFile is the PEM certificate followed by its intermediates
	// (certbot's fullchain.pem); KeyFile is its PEM private key,
	// unencrypted. Both or neither.
	CertFile, KeyFile string
	// Dev allows, when neither file is given, a certificate from a local
	// development CA kept in Dir (EnsureDevCA). Never set in production.
	Dev bool
	// Dir keeps the generated CA and certificate. Required when one is
	// generated.
	Dir string
	// Names are the DNS names and IP addresses the generated certificate
	// covers besides localhost, 127.0.0.1 and ::1. Optional; only with a
	// generated certificate.
	Names []string
	// CheckEvery is how often, at most, a TLS handshake checks whether the
	// files changed. Optional. Default: DefaultCheckEvery. Negative: never
	// (Reload only).
	CheckEvery time.Duration
	// Clock. Optional. Default: clock.Real.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

// Certs serves the HTTPS certificate.
type Certs struct {
	cfg       Config
	certLabel string // how errors name the files: the flags, or "generated"
	keyLabel  string
	dev       *DevCA

	mu      sync.Mutex
	cert    *tls.Certificate
	loaded  stamp // the files as they were when cert was read from them
	failed  stamp // the files as they were when reading them last failed
	checked time.Time
}

// stamp identifies a version of the certificate and key files.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// Open loads the certificate files, or with Dev and no files makes (or
// reuses) the development CA and its certificate. Errors name the flag and
// the file and say what is wrong: unreadable, not PEM, swapped, encrypted,
// mismatched, expired.
func Open(cfg Config) (*Certs, error) {
	if cfg.CheckEvery == 0 {
		cfg.CheckEvery = DefaultCheckEvery
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch {
	case (cfg.CertFile == "") != (cfg.KeyFile == ""):
		return nil, errors.New("--tls-cert and --tls-key go together: give both")
	case cfg.CertFile == "" && !cfg.Dev:
		return nil, ErrNoCertificate
	case cfg.CertFile != "" && len(cfg.Names) > 0:
		return nil, errors.New("--tls-names is for the certificate --dev generates; a --tls-cert certificate covers the names it was issued for")
	}
	c := &Certs{cfg: cfg, certLabel: "--tls-cert", keyLabel: "--tls-key"}
	if cfg.CertFile == "" {
		if cfg.Dir == "" {
			return nil, errors.New("servertls: Dir is required to generate a development certificate")
		}
		dev, err := EnsureDevCA(cfg.Dir, cfg.Names, cfg.Clock.Now(), cfg.Logger)
		if err != nil {
			return nil, err
		}
		c.dev = dev
		c.cfg.CertFile, c.cfg.KeyFile = dev.CertFile, dev.KeyFile
		c.certLabel, c.keyLabel = "generated certificate", "generated key"
	}
	st, _ := c.stat()
	pair, err := loadPair(c.cfg.CertFile, c.cfg.KeyFile, c.certLabel, c.keyLabel, cfg.Clock.Now())
	if err != nil {
		return nil, err
	}
	c.cert, c.loaded, c.checked = &pair, st, cfg.Clock.Now()
	return c, nil
}

// TLSConfig is the HTTPS listener's configuration: TLS 1.2 and up, Go's
// default cipher suites, HTTP/1.1, and the current certificate.
func (c *Certs) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}, GetCertificate: c.getCertificate}
}

// Dev is the generated development CA, or nil when the certificate came
// from --tls-cert and --tls-key.
func (c *Certs) Dev() *DevCA { return c.dev }

// Certificate is the certificate served now.
func (c *Certs) Certificate() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert
}

// Reload reads the files again (SIGHUP). On an error the previous
// certificate stays in service and the error says why.
func (c *Certs) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reload("reload requested")
}

func (c *Certs) reload(why string) error {
	st, _ := c.stat()
	pair, err := loadPair(c.cfg.CertFile, c.cfg.KeyFile, c.certLabel, c.keyLabel, c.cfg.Clock.Now())
	if err != nil {
		c.failed = st
		c.cfg.Logger.Error("TLS certificate not reloaded; serving the previous one", slog.String("why", why), slog.Any("error", err))
		return err
	}
	c.cert, c.loaded, c.failed = &pair, st, stamp{}
	c.cfg.Logger.Info("TLS certificate reloaded", slog.String("why", why), slog.String("cert_file", c.cfg.CertFile),
		slog.Any("names", certNames(pair)), slog.Time("not_after", pair.Leaf.NotAfter))
	return nil
}

// getCertificate serves the current certificate, reading the files again
// first when they changed since they were last read (or last failed).
func (c *Certs) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg.CheckEvery > 0 {
		if now := c.cfg.Clock.Now(); now.Sub(c.checked) >= c.cfg.CheckEvery {
			c.checked = now
			if st, err := c.stat(); err == nil && st != c.loaded && st != c.failed {
				c.reload("files changed")
			}
		}
	}
	return c.cert, nil
}

func (c *Certs) stat() (stamp, error) {
	cf, err := os.Stat(c.cfg.CertFile)
	if err != nil {
		return stamp{}, err
	}
	kf, err := os.Stat(c.cfg.KeyFile)
	if err != nil {
		return stamp{}, err
	}
	return stamp{certMod: cf.ModTime(), keyMod: kf.ModTime(), certSize: cf.Size(), keySize: kf.Size()}, nil
}

// loadPair reads a certificate (chain) and its key, saying precisely what
// is wrong with them; certLabel and keyLabel name them in errors.
func loadPair(certFile, keyFile, certLabel, keyLabel string, now time.Time) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", certLabel, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", keyLabel, err)
	}
	certTypes, keyTypes := pemTypes(certPEM), pemTypes(keyPEM)
	switch {
	case len(certTypes) == 0:
		return tls.Certificate{}, fmt.Errorf("%s %s: no PEM data (want a PEM CERTIFICATE block, the server's certificate first, then its intermediates)", certLabel, certFile)
	case !slices.Contains(certTypes, "CERTIFICATE") && hasKey(certTypes):
		return tls.Certificate{}, fmt.Errorf("%s %s holds a private key, not a certificate (are %s and %s swapped?)", certLabel, certFile, certLabel, keyLabel)
	case !slices.Contains(certTypes, "CERTIFICATE"):
		return tls.Certificate{}, fmt.Errorf("%s %s: no CERTIFICATE block (found %s)", certLabel, certFile, strings.Join(certTypes, ", "))
	case len(keyTypes) == 0:
		return tls.Certificate{}, fmt.Errorf("%s %s: no PEM data (want a PEM PRIVATE KEY block)", keyLabel, keyFile)
	case slices.Contains(keyTypes, "ENCRYPTED PRIVATE KEY") || encrypted(keyPEM):
		return tls.Certificate{}, fmt.Errorf("%s %s is encrypted with a passphrase; give the key unencrypted (mode 0600, readable by the server's user only)", keyLabel, keyFile)
	case !hasKey(keyTypes) && slices.Contains(keyTypes, "CERTIFICATE"):
		return tls.Certificate{}, fmt.Errorf("%s %s holds a certificate, not a private key (are %s and %s swapped?)", keyLabel, keyFile, certLabel, keyLabel)
	case !hasKey(keyTypes):
		return tls.Certificate{}, fmt.Errorf("%s %s: no PRIVATE KEY block (found %s)", keyLabel, keyFile, strings.Join(keyTypes, ", "))
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	switch {
	case err != nil && strings.Contains(err.Error(), "does not match"):
		return tls.Certificate{}, fmt.Errorf("%s %s and %s %s do not match: the key is not the certificate's (a certificate renewed without its new key, or the files of two sites?)",
			certLabel, certFile, keyLabel, keyFile)
	case err != nil:
		return tls.Certificate{}, fmt.Errorf("%s %s with %s %s: %w", certLabel, certFile, keyLabel, keyFile, err)
	case pair.Leaf == nil:
		return tls.Certificate{}, fmt.Errorf("%s %s: the certificate did not parse", certLabel, certFile)
	case now.After(pair.Leaf.NotAfter):
		return tls.Certificate{}, fmt.Errorf("%s %s expired on %s (renew it)", certLabel, certFile, pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return pair, nil
}

// pemTypes lists the types of the PEM blocks in b, in order.
func pemTypes(b []byte) []string {
	var out []string
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		out = append(out, blk.Type)
	}
}

// encrypted reports a legacy (RFC 1423) encrypted PEM key.
func encrypted(b []byte) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") {
			return true
		}
	}
}

func hasKey(types []string) bool {
	for _, t := range types {
		if t == "PRIVATE KEY" || strings.HasSuffix(t, " PRIVATE KEY") && t != "ENCRYPTED PRIVATE KEY" {
			return true
		}
	}
	return false
}

// certNames are the DNS names and IP addresses a certificate covers.
func certNames(c tls.Certificate) []string {
	if c.Leaf == nil {
		return nil
	}
	out := append([]string(nil), c.Leaf.DNSNames...)
	for _, ip := range c.Leaf.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}
