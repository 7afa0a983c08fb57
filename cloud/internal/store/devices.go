package store

import (
	"context"
	"time"
)

// Device is a kiosk enrolled in the fleet.
type Device struct {
	ID       string `json:"id"` // proto.ValidDeviceID: the MQTT client id and topic level
	TenantID string `json:"tenant_id"`
	Name     string `json:"name,omitempty"`
	// WebhookURL receives session.completed for the sessions the device
	// decides on its own (assigned sessions use their own webhook_url).
	WebhookURL string `json:"webhook_url,omitempty"`

	// Credentials: a client certificate (serial, SHA-256 of its DER) and/or a
	// password hash (core.HashSecret of a 256-bit generated secret).
	CertSerial       string     `json:"cert_serial,omitempty"`
	CertFingerprint  []byte     `json:"cert_fingerprint,omitempty"`
	PasswordHash     []byte     `json:"password_hash,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	EnrolledAt       *time.Time `json:"enrolled_at,omitempty"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	Status           string     `json:"status,omitempty"` // proto.Status… from the status topic; "" until the first
	LastSeen         *time.Time `json:"last_seen,omitempty"`
	FirmwareVersion  string     `json:"firmware_version,omitempty"`
	ModelsVersion    string     `json:"models_version,omitempty"`
	OutboxDepth      int        `json:"outbox_depth"`
	ClockSkewMillis  int64      `json:"clock_skew_ms"`
	LastTelemetryAt  *time.Time `json:"last_telemetry_at,omitempty"`
	SessionsIngested int64      `json:"sessions_ingested"`
}

// Revoked reports whether the device's credentials are revoked.
func (d *Device) Revoked() bool { return d.RevokedAt != nil }

// Enrollment is a one-time enrollment token for one device. Only the
// token's hash is kept.
type Enrollment struct {
	Hash       []byte     `json:"hash"` // core.HashSecret(token)
	DeviceID   string     `json:"device_id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name,omitempty"`
	WebhookURL string     `json:"webhook_url,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	UsedAt     *time.Time `json:"used_at,omitempty"`
}

// DeviceStore is the fleet's part of the Store: devices and their
// enrollment tokens.
type DeviceStore interface {
	// CreateEnrollment stores a new enrollment token (ErrExists if its hash,
	// or a device with its DeviceID, exists).
	CreateEnrollment(ctx context.Context, e *Enrollment) error
	// ConsumeEnrollment marks the unused, unexpired token with hash as used
	// at now and creates the device that fn builds from it, in one
	// transaction. An unknown, used or expired token is ErrNotFound; a device
	// id already taken is ErrExists. If fn returns an error nothing is written.
	ConsumeEnrollment(ctx context.Context, hash []byte, now time.Time, fn func(*Enrollment) (*Device, error)) (*Device, error)
	GetDevice(ctx context.Context, id string) (*Device, error)
	// ListDevices lists devices by id; tenantID "" lists every tenant's.
	ListDevices(ctx context.Context, tenantID string) ([]*Device, error)
	// UpdateDevice applies fn to the current device in a transaction (the
	// id and tenant are immutable). If fn returns an error nothing is written.
	UpdateDevice(ctx context.Context, id string, fn func(*Device) error) (*Device, error)
}
