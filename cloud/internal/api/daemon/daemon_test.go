package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/servertls"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp's package-level date updater and its worker-pool cleaners,
		// which outlive a shut-down server for a few seconds.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs a daemon on free loopback ports and stops it at the end of the test.
func start(t *testing.T, o daemon.Options) *daemon.Daemon {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	o.Logger = quiet
	d, err := daemon.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, d) })
	return d
}

func stop(t *testing.T, d *daemon.Daemon) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// trusting is an HTTP client that trusts only the CA in caFile and does not
// follow redirects.
func trusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		if !pool.AppendCertsFromPEM(b) {
			t.Fatalf("%s holds no certificate", caFile)
		}
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// TestHTTPS: with TLSAddr the API answers over HTTPS with
// Strict-Transport-Security on every response — success, error and unknown
// route alike —, the plain listener only redirects to it, without the
// header, and session and artifact URLs are https://. In dev the
// certificate comes from the generated CA and the redirect is temporary;
// in production from the files and permanent. Without TLS no response
// carries the header.
func TestHTTPS(t *testing.T) {
	prodTLS, err := servertls.EnsureDevCA(filepath.Join(t.TempDir(), "issued"), nil, time.Now(), quiet) // any CA's files will do
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		opts     daemon.Options
		caFile   func(d *daemon.Daemon) string
		hsts     string
		redirect int
	}{
		{name: "dev, generated CA", opts: daemon.Options{Dev: true, TLSAddr: "127.0.0.1:0"},
			caFile: func(d *daemon.Daemon) string { return d.DevCA().CAFile }, hsts: "max-age=0", redirect: http.StatusTemporaryRedirect},
		{name: "production, certificate files", opts: daemon.Options{TLSAddr: "127.0.0.1:0", HSTSMaxAge: servertls.DefaultHSTSMaxAge,
			TLS: servertls.Config{CertFile: prodTLS.CertFile, KeyFile: prodTLS.KeyFile}},
			caFile: func(*daemon.Daemon) string { return prodTLS.CAFile }, hsts: "max-age=31536000", redirect: http.StatusPermanentRedirect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := start(t, tc.opts)
			port := d.TLSAddr().(*net.TCPAddr).Port
			if want := fmt.Sprintf("https://localhost:%d", port); d.URL() != want {
				t.Fatalf("public URL %s, want %s", d.URL(), want)
			}
			if (d.DevCA() != nil) != tc.opts.Dev {
				t.Fatalf("DevCA %+v in dev=%v", d.DevCA(), tc.opts.Dev)
			}
			c := trusting(t, tc.caFile(d))
			base := "https://" + d.TLSAddr().String()
			for _, r := range []struct {
				method, path string
				status       int
			}{{"GET", "/healthz", 200}, {"GET", "/readyz", 200}, {"GET", "/no/such/route", 404},
				{"POST", "/api/v1/managed-session", 401}, {"DELETE", "/healthz", 405}} {
				res := do(t, c, r.method, base+r.path)
				if res.StatusCode != r.status || res.Header.Get("Strict-Transport-Security") != tc.hsts {
					t.Errorf("HTTPS %s %s: %d, Strict-Transport-Security %q; want %d, %q", r.method, r.path,
						res.StatusCode, res.Header.Get("Strict-Transport-Security"), r.status, tc.hsts)
				}
			}
			for _, path := range []string{"/healthz", "/api/v1/session?x=1"} {
				res := do(t, c, "GET", "http://"+d.Addr().String()+path)
				want := fmt.Sprintf("https://127.0.0.1:%d%s", port, path)
				if res.StatusCode != tc.redirect || res.Header.Get("Location") != want {
					t.Errorf("plain GET %s: %d to %q, want %d to %q", path, res.StatusCode, res.Header.Get("Location"), tc.redirect, want)
				}
				if h := res.Header.Get("Strict-Transport-Security"); h != "" {
					t.Errorf("plain GET %s: Strict-Transport-Security %q", path, h)
				}
			}
			// A client that trusts nothing else refuses the certificate.
			if _, err := trusting(t, "").Get(base + "/healthz"); err == nil {
				t.Error("a client without the CA accepted the certificate")
			}
		})
	}

	t.Run("no TLS", func(t *testing.T) {
		d := start(t, daemon.Options{Dev: true, HSTSMaxAge: servertls.DefaultHSTSMaxAge})
		if d.TLSAddr() != nil || d.DevCA() != nil || !strings.HasPrefix(d.URL(), "http://") {
			t.Fatalf("TLS on without TLSAddr: %v %v %s", d.TLSAddr(), d.DevCA(), d.URL())
		}
		res := do(t, trusting(t, ""), "GET", "http://"+d.Addr().String()+"/healthz")
		if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "" {
			t.Fatalf("plain HTTP without TLS: %d, Strict-Transport-Security %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
		}
	})
}

// TestDevCAAcrossRestarts: a restart on the same data directory serves a
// certificate from the same CA (the fingerprint printed at the first start
// stays valid); the CA key and the server key are 0600 in a 0700 directory.
func TestDevCAAcrossRestarts(t *testing.T) {
	data := t.TempDir()
	o := daemon.Options{Dev: true, TLSAddr: "127.0.0.1:0", DataDir: data}
	o.Addr, o.Logger = "127.0.0.1:0", quiet
	d1, err := daemon.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	first := *d1.DevCA()
	stop(t, d1)
	if !first.NewCA || first.CAFile != filepath.Join(data, "tls", servertls.DevCACertFile) {
		t.Fatalf("first start: %+v", first)
	}
	for path, want := range map[string]os.FileMode{filepath.Join(data, "tls"): 0o700, filepath.Join(data, "tls", servertls.DevCAKeyFile): 0o600,
		first.KeyFile: 0o600, first.CAFile: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
	d2 := start(t, o)
	if second := d2.DevCA(); second.NewCA || second.Fingerprint != first.Fingerprint {
		t.Fatalf("restart made a new CA: %s → %s", first.Fingerprint, second.Fingerprint)
	}
	if res := do(t, trusting(t, first.CAFile), "GET", "https://"+d2.TLSAddr().String()+"/readyz"); res.StatusCode != 200 {
		t.Fatalf("after the restart: %d", res.StatusCode)
	}
}

// TestTLSRefusals: a daemon asked for HTTPS it cannot serve does not start,
// and leaves nothing in its data directory; production never generates a
// certificate.
func TestTLSRefusals(t *testing.T) {
	other, err := servertls.EnsureDevCA(t.TempDir(), nil, time.Now(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		opts     daemon.Options
		want     string
		sentinel error
	}{
		{name: "production without certificate files", opts: daemon.Options{TLSAddr: "127.0.0.1:0"}, want: "only with --dev", sentinel: servertls.ErrNoCertificate},
		{name: "production with names, without files", opts: daemon.Options{TLSAddr: "127.0.0.1:0", TLS: servertls.Config{Names: []string{"kiosk.lan"}}},
			sentinel: servertls.ErrNoCertificate},
		{name: "files without --tls-addr", opts: daemon.Options{TLS: servertls.Config{CertFile: other.CertFile, KeyFile: other.KeyFile}}, want: "need --tls-addr"},
		{name: "dev names without --tls-addr", opts: daemon.Options{Dev: true, TLS: servertls.Config{Names: []string{"kiosk.lan"}}}, want: "need --tls-addr"},
		{name: "mismatched files", opts: daemon.Options{TLSAddr: "127.0.0.1:0", TLS: servertls.Config{CertFile: other.CertFile, KeyFile: filepath.Join(filepath.Dir(other.CAFile), servertls.DevCAKeyFile)}},
			want: "do not match"},
		{name: "HTTPS address invalid", opts: daemon.Options{Dev: true, TLSAddr: "256.0.0.1:1"}, want: "--tls-addr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			o := tc.opts
			o.Addr, o.DataDir, o.Logger = "127.0.0.1:0", data, quiet
			d, err := daemon.Start(context.Background(), o)
			if err == nil {
				stop(t, d)
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) || tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v; want it to say %q (%v)", err, tc.want, tc.sentinel)
			}
			if tc.sentinel != nil {
				if left, _ := os.ReadDir(data); len(left) > 0 {
					t.Fatalf("the refused start left %v in the data directory", left)
				}
			}
		})
	}
}

// TestShutdownRightAfterStartTLS: as TestShutdownRightAfterStart (package
// api) with HTTPS on, both servers stop when told to as soon as they started.
func TestShutdownRightAfterStartTLS(t *testing.T) {
	data := t.TempDir()
	for i := range 5 {
		d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", Dev: true, DataDir: data, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); stop(t, d) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("start %d: Shutdown had not returned after 20 s", i)
		}
	}
}
