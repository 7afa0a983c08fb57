package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"livegate.dev/firmware/config"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

const (
	goodToken      = "lgenr_good-token-0123456789"
	usedToken      = "lgenr_used-token-0123456789"
	devicePassword = "lgdev_device-password-never-printed"
)

// fakeCloud answers POST /api/v1/devices/enroll as the cloud does: the
// good token once, with a certificate for a CSR or a password; 401
// auth.invalid for any other.
type fakeCloud struct {
	caKey   *ecdsa.PrivateKey
	ca      *x509.Certificate
	caPEM   []byte
	calls   atomic.Int32
	spent   atomic.Bool
	srv     *httptest.Server
	refuses bool
}

func newFakeCloud(t *testing.T) *fakeCloud {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test device CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	f := &fakeCloud{caKey: key, ca: ca, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.enroll))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCloud) enroll(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/devices/enroll" {
		http.NotFound(w, r)
		return
	}
	f.calls.Add(1)
	var req proto.EnrollRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Token != goodToken || !f.spent.CompareAndSwap(false, true) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"detail":{"code":"auth.invalid","message":"the enrollment token is unknown, used or expired","request_id":"req_1"}}`))
		return
	}
	res := proto.EnrollResponse{DeviceID: "lobby-1", CACert: string(f.caPEM), BrokerURL: "ssl://localhost:8883"}
	if req.CSR == "" {
		res.Username, res.Password = "lobby-1", devicePassword
	} else {
		b, _ := pem.Decode([]byte(req.CSR))
		csr, err := x509.ParseCertificateRequest(b.Bytes)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "lobby-1"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca, csr.PublicKey, f.caKey)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		res.Certificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// runKiosk runs the command line and returns its exit status and output.
func runKiosk(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestEnrollErrors: each refusal says what is wrong, and a refusal that
// can be made on the device is made before the one-time token is spent.
func TestEnrollErrors(t *testing.T) {
	fc := newFakeCloud(t)
	notLivegate := httptest.NewServer(http.NotFoundHandler())
	defer notLivegate.Close()
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()

	tests := []struct {
		name  string
		cloud string
		token string
		extra []string
		// before prepares the directory (an existing config or credentials).
		before    func(t *testing.T, cfg, creds string)
		wantCode  int
		want      string
		wantCalls int32 // enrollment requests the cloud saw
	}{
		{name: "no --cloud", cloud: "", token: goodToken, wantCode: 2, want: "--cloud is required"},
		{name: "no token", cloud: fc.srv.URL, token: "", wantCode: 2, want: "no enrollment token: set " + enrollTokenEnv},
		{name: "unknown board", cloud: fc.srv.URL, token: goodToken, extra: []string{"--board", "pi3"}, wantCode: 1, want: "--board: board: unknown board"},
		{name: "bad --auth", cloud: fc.srv.URL, token: goodToken, extra: []string{"--auth", "psk"}, wantCode: 2, want: "--auth \"psk\""},
		{name: "not a URL", cloud: "cloud.example.com", token: goodToken, wantCode: 1, want: "want the cloud's base URL"},
		{name: "http to another machine", cloud: "http://cloud.example.com", token: goodToken, wantCode: 1, want: "would send the enrollment token in clear"},
		{name: "URL with a query", cloud: fc.srv.URL + "/?x=1", token: goodToken, wantCode: 1, want: "without user, query or fragment"},
		{name: "config exists", cloud: fc.srv.URL, token: goodToken, wantCode: 1, want: "exists; not overwriting it (--force",
			before: func(t *testing.T, cfg, _ string) { os.WriteFile(cfg, []byte("board: {board: sim}\n"), 0o600) }},
		{name: "credentials exist", cloud: fc.srv.URL, token: goodToken, wantCode: 1, want: "already holds credentials",
			before: func(t *testing.T, _, creds string) {
				if err := fsync.SaveCredentials(creds, &fsync.Credentials{DeviceID: "old"}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "nothing listens there", cloud: goneURL, token: goodToken, wantCode: 1, want: "cannot reach the cloud at " + goneURL},
		{name: "not a livegate cloud", cloud: notLivegate.URL, token: goodToken, wantCode: 1, want: "not a livegate cloud, or its device fleet is off"},
		{name: "untrusted certificate", cloud: untrusted.URL, token: goodToken, wantCode: 1, want: "not trusted (give its CA with --cloud-ca)"},
		{name: "models directory missing", cloud: fc.srv.URL, token: goodToken, extra: []string{"--models-dir", "/nonexistent/models"}, wantCode: 1, want: "--models-dir /nonexistent/models is not a directory"},
		{name: "ONNX Runtime library missing", cloud: fc.srv.URL, token: goodToken, extra: []string{"--ort-library", "/nonexistent/libonnxruntime.so.1"}, wantCode: 1, want: "--ort-library"},
		{name: "unknown owner", cloud: fc.srv.URL, token: goodToken, extra: []string{"--owner", "no-such-user-here"}, wantCode: 1, want: "--owner: user: unknown user"},
		{name: "refused token", cloud: fc.srv.URL, token: usedToken, wantCode: 1, want: "refused the enrollment token: it is unknown, already used or expired", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc.calls.Store(0)
			dir := t.TempDir()
			cfg, creds := filepath.Join(dir, "kiosk.yaml"), filepath.Join(dir, "data", "creds")
			if tt.before != nil {
				tt.before(t, cfg, creds)
			}
			t.Setenv(enrollTokenEnv, tt.token)
			args := []string{"enroll", "--config", cfg, "--data", filepath.Join(dir, "data"), "--board", "sim"}
			if tt.cloud != "" {
				args = append(args, "--cloud", tt.cloud)
			}
			code, stdout, stderr := runKiosk(t, append(args, tt.extra...)...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tt.wantCode, tt.want)
			}
			if n := fc.calls.Load(); n != tt.wantCalls {
				t.Errorf("the cloud saw %d enrollment requests, want %d", n, tt.wantCalls)
			}
			if tt.token != "" && strings.Contains(stdout+stderr, tt.token) {
				t.Errorf("the token was printed:\n%s%s", stdout, stderr)
			}
			if tt.before == nil {
				if _, err := os.Stat(cfg); err == nil {
					t.Error("a config was written")
				}
			}
		})
	}
}

// TestEnroll: both credential kinds end in a config the daemon loads and
// credentials it reads, 0600, with no secret printed; --force replaces
// them with a new token.
func TestEnroll(t *testing.T) {
	for _, auth := range []string{"certificate", "password"} {
		t.Run(auth, func(t *testing.T) {
			fc := newFakeCloud(t)
			dir := t.TempDir()
			cfg, data := filepath.Join(dir, "etc", "kiosk.yaml"), filepath.Join(dir, "var")
			t.Setenv(enrollTokenEnv, goodToken)
			models := t.TempDir()
			ortLib := filepath.Join(models, "libonnxruntime.so.1")
			os.WriteFile(ortLib, nil, 0o644)
			args := []string{"enroll", "--cloud", fc.srv.URL, "--board", "sim", "--config", cfg, "--data", data, "--auth", auth,
				"--models-dir", models, "--ort-library", ortLib}
			var owner *user.User
			if os.Geteuid() == 0 && auth == "password" {
				if u, err := user.Lookup("nobody"); err == nil {
					owner = u
					args = append(args, "--owner", "nobody")
				}
			}
			code, stdout, stderr := runKiosk(t, args...)
			if code != 0 {
				t.Fatalf("enroll = %d\n%s%s", code, stdout, stderr)
			}
			t.Logf("enroll printed:\n%s", stdout)
			for _, want := range []string{"enrolled device lobby-1", "wrote " + cfg, "next: livegate-kiosk run --config " + cfg} {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			c, err := config.Load(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.DeviceID != "lobby-1" || c.Board.Board != "sim" || c.Cloud.CredentialsDir != filepath.Join(data, "creds") ||
				c.Store.Path != filepath.Join(data, "outbox.db") || c.Models.Dir != models || c.Models.ORTLibrary != ortLib {
				t.Errorf("config %+v", c)
			}
			if owner != nil {
				for _, p := range []string{cfg, data, filepath.Join(data, "creds"), filepath.Join(data, "creds", "device.json")} {
					fi, err := os.Stat(p)
					if err != nil {
						t.Fatal(err)
					}
					if st := fi.Sys().(*syscall.Stat_t); fmt.Sprint(st.Uid) != owner.Uid {
						t.Errorf("%s owned by uid %d, want %s (%s)", p, st.Uid, owner.Uid, owner.Username)
					}
				}
			}
			cr, err := fsync.LoadCredentials(c.Cloud.CredentialsDir) // refuses files others can read
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cr.TLSConfig(); err != nil || cr.BrokerURL != "ssl://localhost:8883" || len(cr.CAPEM) == 0 {
				t.Errorf("credentials %+v: %v", cr, err)
			}
			secrets := []string{goodToken, devicePassword}
			if auth == "certificate" {
				if len(cr.KeyPEM) == 0 || len(cr.CertPEM) == 0 || cr.Password != "" {
					t.Errorf("certificate credentials: key %d bytes, cert %d bytes", len(cr.KeyPEM), len(cr.CertPEM))
				}
				secrets = append(secrets, string(cr.KeyPEM))
			} else if cr.Password != devicePassword {
				t.Error("password not saved")
			}
			for _, s := range secrets {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("a secret was printed:\n%s%s", stdout, stderr)
				}
			}
			for _, p := range []string{cfg, filepath.Join(data, "creds", "device.json")} {
				if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, %v; want mode 0600", p, fi.Mode(), err)
				}
			}

			// Again: refused (the config exists); with --force and a new
			// token, replaced, here by the other kind of credential: nothing
			// of the old one is left.
			if code, _, stderr := runKiosk(t, "enroll", "--cloud", fc.srv.URL, "--board", "sim", "--config", cfg, "--data", data); code != 1 ||
				!strings.Contains(stderr, "not overwriting") {
				t.Fatalf("second enroll = %d %s", code, stderr)
			}
			other := map[string]string{"certificate": "password", "password": "certificate"}[auth]
			fc.spent.Store(false) // a new token from the admin
			if code, stdout, stderr := runKiosk(t, "enroll", "--cloud", fc.srv.URL, "--board", "rpi5", "--config", cfg, "--data", data,
				"--auth", other, "--force"); code != 0 {
				t.Fatalf("enroll --force = %d\n%s%s", code, stdout, stderr)
			}
			if c, err := config.Load(cfg, nil); err != nil || c.Board.Board != "rpi5" {
				t.Errorf("after --force: %+v, %v", c.Board, err)
			}
			cr, err = fsync.LoadCredentials(filepath.Join(data, "creds"))
			if err != nil {
				t.Fatal(err)
			}
			if hasCert := len(cr.KeyPEM) > 0 || len(cr.CertPEM) > 0; hasCert != (other == "certificate") || (cr.Password != "") != (other == "password") {
				t.Errorf("after --force with a %s: key %d bytes, certificate %d bytes, password set %v", other, len(cr.KeyPEM), len(cr.CertPEM), cr.Password != "")
			}
		})
	}
}
