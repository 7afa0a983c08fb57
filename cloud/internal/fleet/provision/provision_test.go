package provision

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/proto"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func TestCAFiles(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		sealer Sealer
	}{{"plain", nil}, {"sealed", sealer}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ca, err := LoadOrCreateCA(dir, tt.sealer, t0)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dir, CAKeyFile))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("CA key mode %v, %v", fi.Mode().Perm(), err)
			}
			raw, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
			if blk, _ := pem.Decode(raw); (blk == nil) != (tt.sealer != nil) {
				t.Fatalf("CA key file: PEM block %v with sealer %v", blk != nil, tt.sealer != nil)
			}
			again, err := LoadOrCreateCA(dir, tt.sealer, t0)
			if err != nil || string(again.CertPEM()) != string(ca.CertPEM()) {
				t.Fatalf("reload: %v", err)
			}
			os.Chmod(filepath.Join(dir, CAKeyFile), 0o644)
			if _, err := LoadOrCreateCA(dir, tt.sealer, t0); err == nil {
				t.Fatal("a CA key readable by others was accepted")
			}
		})
	}
}

func csr(t *testing.T, curve elliptic.Curve) string {
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "evil"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func TestEnrollOnceAndRevoke(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ca, err := LoadOrCreateCA(dir, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	s, err := New(Config{Store: st, CA: ca, Clock: clk, TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateEnrollment(ctx, "ten_1", "bad/id", "", ""); err == nil {
		t.Fatal("invalid device id accepted")
	}
	certTok, _ := s.CreateEnrollment(ctx, "ten_1", "k-cert", "", "")
	pwTok, _ := s.CreateEnrollment(ctx, "ten_1", "k-pw", "", "")
	oldTok, _ := s.CreateEnrollment(ctx, "ten_1", "k-old", "", "")
	p384Tok, _ := s.CreateEnrollment(ctx, "ten_1", "k-384", "", "")

	if _, err := s.Enroll(ctx, &proto.EnrollRequest{Token: p384Tok.Token, CSR: csr(t, elliptic.P384())}); err == nil {
		t.Fatal("P-384 CSR accepted")
	}
	res, err := s.Enroll(ctx, &proto.EnrollRequest{Token: certTok.Token, CSR: csr(t, elliptic.P256())})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode([]byte(res.Certificate))
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil || cert.Subject.CommonName != "k-cert" || res.DeviceID != "k-cert" {
		t.Fatalf("certificate: CN %q, %v", cert.Subject.CommonName, err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enroll(ctx, &proto.EnrollRequest{Token: certTok.Token, CSR: csr(t, elliptic.P256())}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("second exchange of a token: %v", err)
	}
	pw, err := s.Enroll(ctx, &proto.EnrollRequest{Token: pwTok.Token})
	if err != nil || pw.Password == "" || pw.Username != "k-pw" {
		t.Fatalf("password enrollment: %+v %v", pw, err)
	}
	dev, _ := st.GetDevice(ctx, "k-pw")
	if string(dev.PasswordHash) == pw.Password || len(dev.PasswordHash) != 32 {
		t.Fatal("password not stored hashed")
	}
	clk.Advance(time.Hour)
	if _, err := s.Enroll(ctx, &proto.EnrollRequest{Token: oldTok.Token}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("expired token: %v", err)
	}

	auth := []struct {
		name string
		id   string
		pw   string
		cert *x509.Certificate
		ok   bool
	}{
		{"cert", "k-cert", "", cert, true},
		{"cert of another device", "k-pw", "", cert, false},
		{"password", "k-pw", pw.Password, nil, true},
		{"wrong password", "k-pw", "x", nil, false},
		{"cert device with empty password", "k-cert", "", nil, false},
		{"unknown", "k-none", "x", nil, false},
	}
	for _, a := range auth {
		err := s.AuthenticateDevice(ctx, a.id, []byte(a.pw), a.cert)
		if (err == nil) != a.ok {
			t.Errorf("%s: %v", a.name, err)
		}
	}
	if _, err := s.Revoke(ctx, "k-cert"); err != nil {
		t.Fatal(err)
	}
	if err := s.AuthenticateDevice(ctx, "k-cert", nil, cert); !errors.Is(err, ErrRefused) {
		t.Fatalf("revoked: %v", err)
	}
}
