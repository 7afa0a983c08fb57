package sync

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"livegate.dev/proto"
)

// Credentials are what a device keeps after enrollment. Files in the
// credentials directory: device.json (id, broker, password), and for mutual
// TLS device.key (PEM EC private key), device.crt and ca.crt.
type Credentials struct {
	DeviceID  string `json:"device_id"`
	BrokerURL string `json:"broker_url,omitempty"`
	Username  string `json:"username,omitempty"`
	Password  string `json:"password,omitempty"`

	KeyPEM  []byte `json:"-"`
	CertPEM []byte `json:"-"`
	CAPEM   []byte `json:"-"`
}

// TLSConfig returns the TLS configuration of c: the device CA as RootCAs
// (to trust the broker) and, with a certificate, the client certificate for
// mutual TLS. Nil when c has neither.
func (c *Credentials) TLSConfig() (*tls.Config, error) {
	if len(c.CertPEM) == 0 && len(c.CAPEM) == 0 {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(c.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.CAPEM) {
			return nil, fmt.Errorf("sync: device %s: CA file holds no certificate", c.DeviceID)
		}
		tc.RootCAs = pool
	}
	if len(c.CertPEM) > 0 {
		cert, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("sync: device %s certificate: %w", c.DeviceID, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// writeFileAtomic writes data to path with 0600 permissions: a temp file in
// the same directory, fsynced, renamed over path, and the directory fsynced.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
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
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// SaveCredentials writes c into dir (created 0700), each file 0600 and atomic.
func SaveCredentials(dir string, c *Credentials) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sync: credentials dir %s: %w", dir, err)
	}
	meta, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("sync: encode credentials: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{{"device.key", c.KeyPEM}, {"device.crt", c.CertPEM}, {"ca.crt", c.CAPEM}, {"device.json", meta}}
	for _, f := range files { // device.json last: it marks the set complete
		if len(f.data) == 0 {
			continue
		}
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("sync: write credentials %s: %w", f.name, err)
		}
	}
	return nil
}

// LoadCredentials reads what SaveCredentials wrote. It refuses files that
// group or others can read.
func LoadCredentials(dir string) (*Credentials, error) {
	read := func(name string, required bool) ([]byte, error) {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) && !required {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sync: credentials %s: %w", name, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("sync: credentials %s has mode %v; want 0600", p, fi.Mode().Perm())
		}
		return os.ReadFile(p)
	}
	meta, err := read("device.json", true)
	if err != nil {
		return nil, err
	}
	var c Credentials
	if err := json.Unmarshal(meta, &c); err != nil {
		return nil, fmt.Errorf("sync: decode credentials: %w", err)
	}
	if c.KeyPEM, err = read("device.key", false); err != nil {
		return nil, err
	}
	if c.CertPEM, err = read("device.crt", false); err != nil {
		return nil, err
	}
	if c.CAPEM, err = read("ca.crt", false); err != nil {
		return nil, err
	}
	return &c, nil
}

// EnrollError is the cloud's refusal of an enrollment: its HTTP status
// and, when the answer is the API's error envelope, its code and message
// (401 auth.invalid: the token is unknown, used or expired).
type EnrollError struct {
	StatusCode int
	Code       string // e.g. "auth.invalid"; empty when the answer was not the envelope
	Message    string
}

func (e *EnrollError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("sync: enroll refused: HTTP %d: %s: %s", e.StatusCode, e.Code, e.Message)
	}
	return fmt.Sprintf("sync: enroll refused: HTTP %d: %s", e.StatusCode, e.Message)
}

// Enroll exchanges a one-time enrollment token at enrollURL (the cloud's
// POST /api/v1/devices/enroll) for credentials. With mtls it generates an
// ECDSA P-256 key that never leaves the device and sends a CSR; without, it
// asks for a password. The caller saves the result with SaveCredentials.
// A refusal by the cloud is an *EnrollError.
func Enroll(ctx context.Context, hc *http.Client, enrollURL, token string, mtls bool) (*Credentials, error) {
	req := proto.EnrollRequest{Token: token}
	var keyPEM []byte
	if mtls {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("sync: generate device key: %w", err)
		}
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("sync: encode device key: %w", err)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "livegate-device"}}, key)
		if err != nil {
			return nil, fmt.Errorf("sync: create CSR: %w", err)
		}
		req.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
	}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, enrollURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sync: enroll request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("sync: enroll at %s: %w", enrollURL, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("sync: read enroll response: %w", err)
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
		e := &EnrollError{StatusCode: res.StatusCode}
		var env struct {
			Detail struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"detail"`
		}
		if json.Unmarshal(data, &env) == nil && env.Detail.Code != "" {
			e.Code, e.Message = env.Detail.Code, env.Detail.Message
		} else {
			e.Message = fmt.Sprintf("%.200s", data)
		}
		return nil, e
	}
	var out proto.EnrollResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("sync: decode enroll response: %w", err)
	}
	if err := proto.ValidDeviceID(out.DeviceID); err != nil {
		return nil, fmt.Errorf("sync: enroll response: %w", err)
	}
	c := &Credentials{DeviceID: out.DeviceID, BrokerURL: out.BrokerURL, Username: out.Username, Password: out.Password,
		CertPEM: []byte(out.Certificate), CAPEM: []byte(out.CACert)}
	if mtls {
		if out.Certificate == "" {
			return nil, errors.New("sync: enroll response has no certificate")
		}
		c.KeyPEM = keyPEM
	}
	return c, nil
}
