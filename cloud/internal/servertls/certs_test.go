package servertls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/clock"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// selfSigned writes a self-signed certificate for localhost valid in
// [notBefore, notAfter] and its key to dir as name.crt and name.key.
func selfSigned(t *testing.T, dir, name string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	return certFile, keyFile
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOpenErrors: every way --tls-cert and --tls-key can be wrong gets an
// error that names the flag and the file and says what is wrong, at start.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	goodCert, goodKey := selfSigned(t, dir, "good", now.Add(-time.Hour), now.Add(24*time.Hour))
	_, otherKey := selfSigned(t, dir, "other", now.Add(-time.Hour), now.Add(24*time.Hour))
	oldCert, oldKey := selfSigned(t, dir, "old", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFile(t, p("empty.pem"), nil)
	writeFile(t, p("garbage.pem"), []byte("not a certificate\n"))
	writeFile(t, p("csr.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2, 3}}))
	writeFile(t, p("broken.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}))
	writeFile(t, p("pkcs8-encrypted.key"), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	writeFile(t, p("legacy-encrypted.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"}, Bytes: []byte{1, 2, 3}}))
	os.Mkdir(p("adir"), 0o700)

	cases := []struct {
		name      string
		cfg       Config
		want      []string
		sentinel  error
		noDevDirs bool
	}{
		{name: "production without files", cfg: Config{}, sentinel: ErrNoCertificate, want: []string{"--tls-cert and --tls-key", "only with --dev"}},
		{name: "cert without key", cfg: Config{CertFile: goodCert}, want: []string{"go together"}},
		{name: "key without cert", cfg: Config{KeyFile: goodKey}, want: []string{"go together"}},
		{name: "names with files", cfg: Config{CertFile: goodCert, KeyFile: goodKey, Names: []string{"x.lan"}}, want: []string{"--tls-names", "--dev"}},
		{name: "missing cert", cfg: Config{CertFile: p("nope.crt"), KeyFile: goodKey}, want: []string{"--tls-cert", "nope.crt", "no such file"}},
		{name: "missing key", cfg: Config{CertFile: goodCert, KeyFile: p("nope.key")}, want: []string{"--tls-key", "nope.key", "no such file"}},
		{name: "cert is a directory", cfg: Config{CertFile: p("adir"), KeyFile: goodKey}, want: []string{"--tls-cert", "adir", "is a directory"}},
		{name: "empty cert", cfg: Config{CertFile: p("empty.pem"), KeyFile: goodKey}, want: []string{"--tls-cert", "empty.pem", "no PEM data"}},
		{name: "not PEM", cfg: Config{CertFile: p("garbage.pem"), KeyFile: goodKey}, want: []string{"--tls-cert", "garbage.pem", "no PEM data"}},
		{name: "a CSR, not a certificate", cfg: Config{CertFile: p("csr.pem"), KeyFile: goodKey}, want: []string{"--tls-cert", "no CERTIFICATE block", "CERTIFICATE REQUEST"}},
		{name: "certificate does not parse", cfg: Config{CertFile: p("broken.crt"), KeyFile: goodKey}, want: []string{"--tls-cert", "broken.crt"}},
		{name: "swapped", cfg: Config{CertFile: goodKey, KeyFile: goodCert}, want: []string{"--tls-cert", "good.key", "holds a private key", "swapped"}},
		{name: "key file holds a certificate", cfg: Config{CertFile: goodCert, KeyFile: goodCert}, want: []string{"--tls-key", "good.crt", "holds a certificate", "swapped"}},
		{name: "empty key", cfg: Config{CertFile: goodCert, KeyFile: p("empty.pem")}, want: []string{"--tls-key", "empty.pem", "no PEM data"}},
		{name: "key is a CSR", cfg: Config{CertFile: goodCert, KeyFile: p("csr.pem")}, want: []string{"--tls-key", "no PRIVATE KEY block"}},
		{name: "PKCS#8 encrypted key", cfg: Config{CertFile: goodCert, KeyFile: p("pkcs8-encrypted.key")}, want: []string{"--tls-key", "encrypted", "unencrypted"}},
		{name: "legacy encrypted key", cfg: Config{CertFile: goodCert, KeyFile: p("legacy-encrypted.key")}, want: []string{"--tls-key", "encrypted"}},
		{name: "mismatched", cfg: Config{CertFile: goodCert, KeyFile: otherKey}, want: []string{"--tls-cert", "good.crt", "--tls-key", "other.key", "do not match"}},
		{name: "expired", cfg: Config{CertFile: oldCert, KeyFile: oldKey}, want: []string{"--tls-cert", "old.crt", "expired on"}},
		{name: "dev with a bad extra name", cfg: Config{Dev: true, Dir: p("dev"), Names: []string{"not a name"}}, want: []string{"--tls-names", "not a DNS name"}, noDevDirs: true},
		{name: "dev with a wildcard", cfg: Config{Dev: true, Dir: p("dev"), Names: []string{"*.example.lan"}}, want: []string{"--tls-names", "wildcards"}, noDevDirs: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = quiet
			c, err := Open(tc.cfg)
			if err == nil {
				t.Fatalf("Open succeeded: %v", c.Certificate().Leaf.Subject)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error %v is not %v", err, tc.sentinel)
			}
			if tc.noDevDirs {
				if _, err := os.Stat(p("dev")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a refused configuration left %s behind", p("dev"))
				}
			}
		})
	}

	c, err := Open(Config{CertFile: goodCert, KeyFile: goodKey, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if c.Dev() != nil || c.Certificate().Leaf.Subject.CommonName != "good" {
		t.Fatalf("good pair: dev %v, subject %v", c.Dev(), c.Certificate().Leaf.Subject)
	}
}

// TestReload: SIGHUP (Reload) and a change of the files replace the
// certificate; a bad pair never replaces a good one, and a change is
// noticed at most every CheckEvery.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	fc := clock.NewFake(now)
	var logs bytes.Buffer
	certFile, keyFile := selfSigned(t, dir, "site", now.Add(-time.Hour), now.Add(24*time.Hour))
	c, err := Open(Config{CertFile: certFile, KeyFile: keyFile, Clock: fc, CheckEvery: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	served := func() *x509.Certificate {
		t.Helper()
		cert, err := c.TLSConfig().GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return cert.Leaf
	}
	first := served()

	// A renewal: the new pair replaces the files (a later mtime each time).
	bump := 0
	touch := func(files ...string) {
		bump++
		later := time.Now().Add(time.Duration(bump) * time.Minute)
		for _, f := range files {
			os.Chtimes(f, later, later)
		}
	}
	renew := func(name string) *x509.Certificate {
		t.Helper()
		nc, nk := selfSigned(t, dir, name, now.Add(-time.Hour), now.Add(48*time.Hour))
		cb, _ := os.ReadFile(nc)
		kb, _ := os.ReadFile(nk)
		writeFile(t, keyFile, kb)
		writeFile(t, certFile, cb)
		touch(certFile, keyFile)
		leaf, _ := x509.ParseCertificate(must(pem.Decode(cb)).Bytes)
		return leaf
	}
	second := renew("renewed")
	if got := served(); !got.Equal(first) {
		t.Fatal("the files were read again before CheckEvery passed")
	}
	fc.Advance(10 * time.Second)
	if got := served(); !got.Equal(second) {
		t.Fatalf("after a change and CheckEvery: serving %s, want %s", got.Subject, second.Subject)
	}

	// Half a renewal (a new certificate, the old key): kept out, logged once.
	nc, _ := selfSigned(t, dir, "half", now.Add(-time.Hour), now.Add(48*time.Hour))
	cb, _ := os.ReadFile(nc)
	writeFile(t, certFile, cb)
	touch(certFile)
	fc.Advance(10 * time.Second)
	if got := served(); !got.Equal(second) {
		t.Fatalf("a mismatched pair replaced the certificate: %s", got.Subject)
	}
	fc.Advance(10 * time.Second)
	served()
	if n := strings.Count(logs.String(), "TLS certificate not reloaded"); n != 1 {
		t.Fatalf("the failed reload was logged %d times, want once:\n%s", n, logs.String())
	}
	if err := c.Reload(); err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("Reload of a mismatched pair: %v", err)
	}
	if got := served(); !got.Equal(second) {
		t.Fatal("a failed Reload replaced the certificate")
	}

	// SIGHUP after the renewal is complete.
	third := renew("third")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := c.Certificate().Leaf; !got.Equal(third) {
		t.Fatalf("after Reload: serving %s, want %s", got.Subject, third.Subject)
	}
}

func must(b *pem.Block, _ []byte) *pem.Block { return b }
