package provision

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/proto"
)

// Sentinel errors.
var (
	// ErrBadToken: the enrollment token is unknown, used or expired.
	ErrBadToken = errors.New("provision: enrollment token is invalid, used or expired")
	// ErrRefused: the device may not connect (unknown, revoked, wrong credentials).
	ErrRefused = errors.New("provision: device credentials refused")
)

// Disconnector drops a device's live broker connection (broker.Broker).
type Disconnector interface{ Disconnect(deviceID string) }

// Config configures a Service.
type Config struct {
	Store store.Store // Required.
	CA    *CA         // Required for certificates; nil allows passwords only.
	// BrokerURL is told to devices at enrollment. Optional.
	BrokerURL string
	// TokenTTL is how long an enrollment token is valid. Optional. Default: 24h.
	TokenTTL time.Duration
	// CertValidity of device certificates. Optional. Default: 5 years.
	CertValidity time.Duration
	// Broker is told to drop revoked devices. Optional.
	Broker Disconnector
	Clock  clock.Clock  // Optional. Default: clock.Real.
	Logger *slog.Logger // Optional. Default: slog.Default().
}

// Service enrolls, authenticates and revokes devices.
type Service struct{ cfg Config }

// New checks cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("provision: Store is required")
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	if cfg.CertValidity <= 0 {
		cfg.CertValidity = 5 * 365 * 24 * time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg}, nil
}

// SetBroker sets the Disconnector after construction (the broker needs the
// Service as its Authenticator first).
func (s *Service) SetBroker(b Disconnector) { s.cfg.Broker = b }

// SetBrokerURL sets the broker URL told to devices at enrollment.
func (s *Service) SetBrokerURL(u string) { s.cfg.BrokerURL = u }

// Enrollment is a created token: shown once.
type Enrollment struct {
	Token     string    `json:"token"`
	DeviceID  string    `json:"device_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateEnrollment makes a one-time token with which device deviceID of
// tenantID enrolls; results the device decides on its own go to webhookURL.
func (s *Service) CreateEnrollment(ctx context.Context, tenantID, deviceID, name, webhookURL string) (*Enrollment, error) {
	if err := proto.ValidDeviceID(deviceID); err != nil {
		return nil, err
	}
	if tenantID == "" {
		return nil, errors.New("provision: tenant is required")
	}
	now := s.cfg.Clock.Now()
	tok := core.NewSecret("lgenr_")
	e := &store.Enrollment{Hash: core.HashSecret(tok), DeviceID: deviceID, TenantID: tenantID, Name: name,
		WebhookURL: webhookURL, CreatedAt: now, ExpiresAt: now.Add(s.cfg.TokenTTL)}
	if err := s.cfg.Store.CreateEnrollment(ctx, e); err != nil {
		return nil, fmt.Errorf("provision: enrollment of %s: %w", deviceID, err)
	}
	return &Enrollment{Token: tok, DeviceID: deviceID, ExpiresAt: e.ExpiresAt}, nil
}

// Enroll exchanges a token, once, for credentials: a certificate for the
// CSR in req, or (without a CSR) a generated password.
func (s *Service) Enroll(ctx context.Context, req *proto.EnrollRequest) (*proto.EnrollResponse, error) {
	now := s.cfg.Clock.Now()
	resp := &proto.EnrollResponse{BrokerURL: s.cfg.BrokerURL}
	d, err := s.cfg.Store.ConsumeEnrollment(ctx, core.HashSecret(req.Token), now, func(e *store.Enrollment) (*store.Device, error) {
		d := &store.Device{ID: e.DeviceID, TenantID: e.TenantID, Name: e.Name, WebhookURL: e.WebhookURL,
			CreatedAt: e.CreatedAt, EnrolledAt: &now}
		resp.DeviceID = d.ID
		if req.CSR != "" {
			if s.cfg.CA == nil {
				return nil, errors.New("provision: this cloud has no device CA; enroll with a password")
			}
			certPEM, cert, err := s.cfg.CA.IssueClient([]byte(req.CSR), d.ID, now, s.cfg.CertValidity)
			if err != nil {
				return nil, err
			}
			d.CertSerial, d.CertFingerprint = cert.SerialNumber.Text(16), Fingerprint(cert)
			resp.Certificate, resp.CACert, resp.Password, resp.Username = string(certPEM), string(s.cfg.CA.CertPEM()), "", ""
			return d, nil
		}
		pw := core.NewSecret("lgdev_")
		d.PasswordHash = core.HashSecret(pw)
		resp.Certificate, resp.Username, resp.Password = "", d.ID, pw
		if s.cfg.CA != nil {
			resp.CACert = string(s.cfg.CA.CertPEM())
		}
		return d, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, fmt.Errorf("provision: enroll: %w", err)
	}
	s.cfg.Logger.Info("device enrolled", slog.String("device_id", d.ID), slog.Bool("certificate", resp.Certificate != ""))
	return resp, nil
}

// Revoke revokes device id's credentials and drops its connection.
func (s *Service) Revoke(ctx context.Context, id string) (*store.Device, error) {
	now := s.cfg.Clock.Now()
	d, err := s.cfg.Store.UpdateDevice(ctx, id, func(d *store.Device) error {
		if d.RevokedAt == nil {
			d.RevokedAt = &now
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("provision: revoke %s: %w", id, err)
	}
	if s.cfg.Broker != nil {
		s.cfg.Broker.Disconnect(id)
	}
	s.cfg.Logger.Info("device revoked", slog.String("device_id", id))
	return d, nil
}

// AuthenticateDevice implements broker.Authenticator: the device must exist,
// not be revoked, and present its own certificate (by fingerprint) or password.
func (s *Service) AuthenticateDevice(ctx context.Context, id string, password []byte, cert *x509.Certificate) error {
	d, err := s.cfg.Store.GetDevice(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRefused, id, err)
	}
	if d.Revoked() {
		return fmt.Errorf("%w: %s is revoked", ErrRefused, id)
	}
	if cert != nil {
		if len(d.CertFingerprint) > 0 && subtle.ConstantTimeCompare(Fingerprint(cert), d.CertFingerprint) == 1 && cert.Subject.CommonName == id {
			return nil
		}
		return fmt.Errorf("%w: %s presented a certificate that is not its own", ErrRefused, id)
	}
	if len(d.PasswordHash) > 0 && core.SecretMatches(string(password), d.PasswordHash) {
		return nil
	}
	return fmt.Errorf("%w: %s: wrong password", ErrRefused, id)
}
