package servertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// caPool reads the CA file a device or browser is given, and nothing else.
func caPool(t *testing.T, file string) (*x509.CertPool, *x509.Certificate) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s is not PEM", file)
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, ca
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestDevCA: the development CA and its certificate are made once with
// private files, reused across restarts (same CA fingerprint, same
// certificate), verify for every name with only the CA trusted, and the CA
// may sign for nothing else.
func TestDevCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	d1, err := EnsureDevCA(dir, nil, now, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if !d1.NewCA || !slices.Equal(d1.Names, DefaultDevNames) {
		t.Fatalf("first start: new CA %v, names %v", d1.NewCA, d1.Names)
	}
	if !filepath.IsAbs(d1.CAFile) {
		t.Fatalf("CA file %s is not an absolute path", d1.CAFile)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, d1.CAFile: 0o644, filepath.Join(dir, DevCAKeyFile): 0o600,
		d1.CertFile: 0o644, d1.KeyFile: 0o600} {
		if got := mode(t, path); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
	}
	pool, ca := caPool(t, d1.CAFile)
	if got := Fingerprint(ca); got != d1.Fingerprint || len(got) != 95 {
		t.Fatalf("fingerprint %q, file's %q", d1.Fingerprint, got)
	}
	certPEM, _ := os.ReadFile(d1.CertFile)

	// A restart reuses both.
	d2, err := EnsureDevCA(dir, nil, now.Add(time.Hour), quiet)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(d2.CertFile)
	if d2.NewCA || d2.Fingerprint != d1.Fingerprint || string(again) != string(certPEM) {
		t.Fatalf("restart: new CA %v, fingerprint %s → %s, certificate reissued %v", d2.NewCA, d1.Fingerprint, d2.Fingerprint, string(again) != string(certPEM))
	}

	// The certificate verifies for each name with only the CA trusted.
	c, err := Open(Config{Dev: true, Dir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Certificate().Leaf
	for _, name := range DefaultDevNames {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The CA cannot vouch for another site even if its key leaked.
	forged := forge(t, dir, ca, "bank.example", now)
	var inv x509.CertificateInvalidError
	if _, err := forged.Verify(x509.VerifyOptions{Roots: pool, DNSName: "bank.example"}); !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
		t.Fatalf("a certificate for bank.example from the dev CA: %v, want CANotAuthorizedForThisName", err)
	}

	// A name outside the CA's constraints makes a new CA; going back to
	// fewer names keeps that CA and issues the certificate again.
	d3, err := EnsureDevCA(dir, []string{"Kiosk-Host.LAN.", "192.168.1.20"}, now, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if !d3.NewCA || d3.Fingerprint == d1.Fingerprint || !slices.Contains(d3.Names, "kiosk-host.lan") || !slices.Contains(d3.Names, "192.168.1.20") {
		t.Fatalf("extra names: new CA %v, names %v", d3.NewCA, d3.Names)
	}
	pool3, _ := caPool(t, d3.CAFile)
	c3, err := Open(Config{Dev: true, Dir: dir, Names: []string{"kiosk-host.lan", "192.168.1.20"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kiosk-host.lan", "192.168.1.20", "localhost"} {
		if _, err := c3.Certificate().Leaf.Verify(x509.VerifyOptions{Roots: pool3, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	d4, err := EnsureDevCA(dir, nil, now, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if d4.NewCA || d4.Fingerprint != d3.Fingerprint || !slices.Equal(d4.Names, DefaultDevNames) {
		t.Fatalf("fewer names: new CA %v (fingerprint kept %v), names %v", d4.NewCA, d4.Fingerprint == d3.Fingerprint, d4.Names)
	}

	// A certificate with less than a month left is issued again, by the same CA.
	before, _ := os.ReadFile(d4.CertFile)
	d5, err := EnsureDevCA(dir, nil, now.Add(devCertValidity-devRenewBefore+time.Hour), quiet)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(d5.CertFile)
	if d5.NewCA || string(before) == string(after) {
		t.Fatalf("an expiring certificate: new CA %v, reissued %v", d5.NewCA, string(before) != string(after))
	}
}

// TestDevCAKeyPermissions: a CA key that group or others may read is
// refused, not used and not replaced.
func TestDevCAKeyPermissions(t *testing.T) {
	dir := t.TempDir()
	if _, err := EnsureDevCA(dir, nil, time.Now(), quiet); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, DevCAKeyFile)
	before, _ := os.ReadFile(key)
	os.Chmod(key, 0o644)
	_, err := EnsureDevCA(dir, nil, time.Now(), quiet)
	if err == nil || !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable CA key: %v", err)
	}
	if after, _ := os.ReadFile(key); string(after) != string(before) {
		t.Fatal("the CA key was replaced")
	}
}

// TestDevOnly: outside dev mode nothing is generated, whatever the other
// settings.
func TestDevOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	for _, cfg := range []Config{{Dir: dir}, {Dir: dir, Names: []string{"kiosk.lan"}}} {
		cfg.Logger = quiet
		if _, err := Open(cfg); !errors.Is(err, ErrNoCertificate) {
			t.Fatalf("production without a certificate: %v", err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("production made %s", dir)
	}
}

// TestHandshake: a client trusting only the development CA connects over
// TLS 1.2 and 1.3 to localhost, 127.0.0.1 and ::1; TLS 1.1 is refused.
func TestHandshake(t *testing.T) {
	c, err := Open(Config{Dev: true, Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := caPool(t, c.Dev().CAFile)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ErrorLog: log.New(io.Discard, "", 0), TLSConfig: c.TLSConfig()}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTLS(ln, "", "") }()
	defer func() { srv.Close(); <-done }()
	get := func(host string, version uint16) error {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: version, MaxVersion: version, ServerName: host}}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			return err
		}
		res.Body.Close()
		return nil
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			if err := get(host, v); err != nil {
				t.Errorf("%s, %s: %v", host, tls.VersionName(v), err)
			}
		}
	}
	if err := get("localhost", tls.VersionTLS11); err == nil {
		t.Error("TLS 1.1 was accepted")
	}
	if err := get("example.com", tls.VersionTLS13); err == nil {
		t.Error("a certificate for example.com was accepted")
	}
}

// forge signs a certificate for name with the CA's key, as someone who
// stole the key would.
func forge(t *testing.T, dir string, ca *x509.Certificate, name string, now time.Time) *x509.Certificate {
	t.Helper()
	kb, _ := os.ReadFile(filepath.Join(dir, DevCAKeyFile))
	blk, _ := pem.Decode(kb)
	caKey, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := newSerial()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}
