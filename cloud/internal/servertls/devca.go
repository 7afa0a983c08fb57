package servertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files of the development CA in its directory (<data>/tls).
const (
	DevCACertFile = "ca.crt"     // what devices and browsers trust
	DevCAKeyFile  = "ca.key"     // 0600
	DevCertFile   = "server.crt" // the HTTPS certificate, signed by the CA
	DevKeyFile    = "server.key" // 0600
)

// Validity of what EnsureDevCA makes. A certificate with less than
// devRenewBefore left is made again at the next start.
const (
	devCAValidity   = 10 * 365 * 24 * time.Hour
	devCertValidity = 397 * 24 * time.Hour // what browsers accept for a server certificate
	devRenewBefore  = 30 * 24 * time.Hour
)

// DefaultDevNames are the names every generated certificate covers.
var DefaultDevNames = []string{"localhost", "127.0.0.1", "::1"}

// DevCA describes the development CA and the certificate it issued.
type DevCA struct {
	// CAFile is the CA's certificate (PEM): what a kiosk (enroll
	// --cloud-ca, ota.ca_file), livegate-ota push --ca, curl --cacert and
	// a browser's trust store are given.
	CAFile string
	// Fingerprint is the SHA-256 of the CA certificate, as browsers and
	// `openssl x509 -fingerprint -sha256` show it (AB:CD:…).
	Fingerprint string
	// CertFile and KeyFile are the HTTPS certificate and its key.
	CertFile, KeyFile string
	// Names are the DNS names and IP addresses the certificate covers; the
	// CA may sign for these only (X.509 name constraints).
	Names []string
	// NewCA is set when the CA was made at this start: devices and
	// browsers must be given it (again).
	NewCA bool
}

// EnsureDevCA makes, in dir, a development CA and an HTTPS certificate it
// signs for localhost, 127.0.0.1, ::1 and names, or reuses the ones a
// previous start made: the CA as long as it is valid for a month more and
// its name constraints cover the names (else a new CA, logged), the
// certificate as long as it covers exactly these names, chains to the CA
// and is valid for a month more. The directory is 0700, the keys 0600; a
// key that group or others may read is refused.
func EnsureDevCA(dir string, names []string, now time.Time, log *slog.Logger) (*DevCA, error) {
	if log == nil {
		log = slog.Default()
	}
	all, err := devNames(names)
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil { // printed for devices and browsers
		return nil, fmt.Errorf("dev TLS: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev TLS: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev TLS: %w", err)
	}
	d := &DevCA{CAFile: filepath.Join(dir, DevCACertFile), CertFile: filepath.Join(dir, DevCertFile),
		KeyFile: filepath.Join(dir, DevKeyFile), Names: all}
	ca, err := loadDevCA(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case ca != nil && now.Add(devRenewBefore).After(ca.cert.NotAfter):
		log.Warn("dev TLS: the local CA expires soon; making a new one (trust the new CA on devices and browsers)",
			slog.String("ca_file", d.CAFile), slog.Time("not_after", ca.cert.NotAfter))
		ca = nil
	case ca != nil && !ca.permitsAll(all):
		log.Warn("dev TLS: the local CA may not sign for these names (its name constraints); making a new one (trust the new CA on devices and browsers)",
			slog.String("ca_file", d.CAFile), slog.Any("names", all))
		ca = nil
	}
	if ca == nil {
		if ca, err = newDevCA(dir, all, now); err != nil {
			return nil, err
		}
		d.NewCA = true
	}
	d.Fingerprint = Fingerprint(ca.cert)
	if why := serverCertProblem(dir, ca, all, now); why != "" {
		if err := ca.issueServer(dir, all, now); err != nil {
			return nil, err
		}
		log.Info("dev TLS: HTTPS certificate issued by the local CA", slog.String("why", why), slog.Any("names", all))
	}
	return d, nil
}

// Fingerprint is the SHA-256 of a certificate's DER in upper-case hex pairs
// separated by colons.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// devNames are the default names and extra, checked, in canonical form
// (lower-case DNS names, IP addresses as net.IP prints them), without
// duplicates.
func devNames(extra []string) ([]string, error) {
	out := slices.Clone(DefaultDevNames)
	for _, n := range extra {
		n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
		if n == "" {
			continue
		}
		if ip := net.ParseIP(n); ip != nil {
			n = ip.String()
		} else if err := checkDNSName(n); err != nil {
			return nil, fmt.Errorf("--tls-names %q: %w", n, err)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func checkDNSName(n string) error {
	if strings.HasPrefix(n, "*.") {
		return errors.New("wildcards are not supported: list each name")
	}
	if len(n) > 253 {
		return errors.New("longer than 253 characters")
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("not a DNS name or an IP address")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return errors.New("not a DNS name or an IP address")
			}
		}
	}
	return nil
}

type devCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// loadDevCA reads the CA of dir; nil without error when there is none.
func loadDevCA(dir string) (*devCA, error) {
	certPath, keyPath := filepath.Join(dir, DevCACertFile), filepath.Join(dir, DevCAKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dev TLS: %w", err)
	}
	keyPEM, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	remove := fmt.Sprintf("remove %s to make a new CA, then trust the new one on devices and browsers", dir)
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("dev TLS: %s or %s is not PEM (%s)", certPath, keyPath, remove)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dev TLS: %s: %w (%s)", certPath, err, remove)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dev TLS: %s: %w (%s)", keyPath, err, remove)
	}
	if !key.PublicKey.Equal(cert.PublicKey) || !cert.IsCA {
		return nil, fmt.Errorf("dev TLS: %s is not the key of the CA %s (%s)", keyPath, certPath, remove)
	}
	return &devCA{cert: cert, key: key}, nil
}

// readKey reads a private key file that only its owner may read.
func readKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dev TLS: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("dev TLS: %s has mode %04o; a private key must be 0600 (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dev TLS: %w", err)
	}
	return b, nil
}

// newDevCA makes a CA that may sign only for names, and writes it to dir
// (the key first: a CA certificate never names a key that is not there).
func newDevCA(dir string, names []string, now time.Time) (*devCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dev TLS: generate the CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{CommonName: "livegate development CA (" + host + ", " + now.UTC().Format("2006-01-02") + ")",
			Organization: []string{"livegate-cloud serve --dev"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(devCAValidity),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		// The CA can vouch for these names only, so trusting it in a
		// browser does not let its key vouch for any other site.
		PermittedDNSDomainsCritical: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			bits := 8 * len(ip)
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			tmpl.PermittedIPRanges = append(tmpl.PermittedIPRanges, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
		} else {
			tmpl.PermittedDNSDomains = append(tmpl.PermittedDNSDomains, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("dev TLS: create the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(dir, DevCAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, fmt.Errorf("dev TLS: write the CA key: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, DevCACertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("dev TLS: write the CA certificate: %w", err)
	}
	return &devCA{cert: cert, key: key}, nil
}

// permitsAll reports whether the CA's name constraints allow every name.
func (ca *devCA) permitsAll(names []string) bool {
	for _, n := range names {
		ok := false
		if ip := net.ParseIP(n); ip != nil {
			for _, r := range ca.cert.PermittedIPRanges {
				ok = ok || r.Contains(ip)
			}
		} else {
			for _, d := range ca.cert.PermittedDNSDomains {
				ok = ok || n == d || strings.HasSuffix(n, "."+d)
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// serverCertProblem says why the HTTPS certificate in dir must be issued
// (again), or "" when it can be reused.
func serverCertProblem(dir string, ca *devCA, names []string, now time.Time) string {
	certPath, keyPath := filepath.Join(dir, DevCertFile), filepath.Join(dir, DevKeyFile)
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		return "none yet"
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return err.Error()
	}
	keyPEM, err := readKey(keyPath)
	if err != nil {
		return err.Error()
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err.Error()
	}
	leaf := pair.Leaf
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return "not signed by the current CA: " + err.Error()
	}
	if now.Add(devRenewBefore).After(leaf.NotAfter) {
		return "expires on " + leaf.NotAfter.UTC().Format(time.RFC3339)
	}
	have := certNames(pair)
	slices.Sort(have)
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return "other names: " + strings.Join(have, ", ")
	}
	return ""
}

// issueServer writes a new key and HTTPS certificate for names to dir.
func (ca *devCA) issueServer(dir string, names []string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("dev TLS: generate the server key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(devCertValidity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return fmt.Errorf("dev TLS: issue the server certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	// The key first: a key without its certificate is issued again at the
	// next start; the reverse would not load.
	if err := writeAtomic(filepath.Join(dir, DevKeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return fmt.Errorf("dev TLS: write the server key: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, DevCertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("dev TLS: write the server certificate: %w", err)
	}
	return nil
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// writeAtomic writes data to path with mode perm: a temporary file in the
// same directory, fsync, rename, fsync the directory.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
