package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SchemaVersion is the payload schema this package writes and reads.
const SchemaVersion = 1

// MaxPayload bounds a payload's size in bytes (audit frames travel inside
// session results, so this is generous but finite).
const MaxPayload = 4 << 20

// Message types.
const (
	TypeSessionResult   = "session.result"
	TypeAck             = "ack"
	TypeCommand         = "command"
	TypeCommandResponse = "command.response"
	TypeTelemetry       = "telemetry"
	TypeStatus          = "status"
)

// Envelope wraps every payload.
type Envelope struct {
	V    int             `json:"v"`    // SchemaVersion
	ID   string          `json:"id"`   // unique message id; consumers dedupe on it
	Type string          `json:"type"` // one of the Type… constants
	Sent time.Time       `json:"sent"` // sender's clock (used to measure skew)
	Body json.RawMessage `json:"body"`
}

// Sentinel errors of decoding.
var (
	ErrVersion = errors.New("proto: unsupported schema version")
	ErrInvalid = errors.New("proto: invalid payload")
)

// Encode wraps body in an Envelope and marshals it.
func Encode(id, typ string, sent time.Time, body any) ([]byte, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty message id", ErrInvalid)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("proto: encoding %s body: %w", typ, err)
	}
	return json.Marshal(Envelope{V: SchemaVersion, ID: id, Type: typ, Sent: sent.UTC(), Body: b})
}

// Decode parses an Envelope strictly, checks it is of type want, and decodes
// its body strictly into out.
func Decode(data []byte, want string, out any) (*Envelope, error) {
	if len(data) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrInvalid, len(data), MaxPayload)
	}
	var env Envelope
	if err := strictUnmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: envelope: %v", ErrInvalid, err)
	}
	if env.V != SchemaVersion {
		return nil, fmt.Errorf("%w: got v=%d, this build reads v=%d", ErrVersion, env.V, SchemaVersion)
	}
	if env.ID == "" {
		return nil, fmt.Errorf("%w: missing id", ErrInvalid)
	}
	if env.Type != want {
		return nil, fmt.Errorf("%w: type %q, want %q", ErrInvalid, env.Type, want)
	}
	if out != nil {
		if err := strictUnmarshal(env.Body, out); err != nil {
			return nil, fmt.Errorf("%w: %s body: %v", ErrInvalid, want, err)
		}
		if v, ok := out.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return nil, fmt.Errorf("%w: %s body: %v", ErrInvalid, want, err)
			}
		}
	}
	return &env, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// Layer is one liveness layer's score as decided on the device.
type Layer struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Passed bool    `json:"passed"`
}

// AuditFrame is a JPEG kept for the tenant's audit, with the face box.
type AuditFrame struct {
	JPEG []byte     `json:"jpeg"` // base64 in JSON
	Box  [4]float64 `json:"box"`  // x, y, w, h in pixels
	At   time.Time  `json:"at"`
}

// SessionResult is a session decided on a kiosk (topic sessions).
type SessionResult struct {
	SessionID       string       `json:"session_id"`       // the cloud's id for assigned sessions, else the device's own
	Assigned        bool         `json:"assigned"`         // true when the cloud assigned it (flow 3)
	Mode            string       `json:"mode"`             // active | passive
	Verdict         string       `json:"verdict"`          // pass | fail | retry
	Confidence      float64      `json:"confidence"`       // [0, 1]
	Reasons         []string     `json:"reasons"`          // reason codes
	Layers          []Layer      `json:"layers"`           // per-layer scores
	StartedAt       time.Time    `json:"started_at"`       // device clock
	DecidedAt       time.Time    `json:"decided_at"`       // device clock
	FirmwareVersion string       `json:"firmware_version"` //
	ModelsVersion   string       `json:"models_version"`   //
	AuditFrames     []AuditFrame `json:"audit_frames,omitempty"`
}

// Validate checks the fields a consumer relies on.
func (r *SessionResult) Validate() error {
	switch {
	case r.SessionID == "":
		return errors.New("session_id is required")
	case r.Mode != "active" && r.Mode != "passive":
		return fmt.Errorf("mode %q must be active or passive", r.Mode)
	case r.Verdict != "pass" && r.Verdict != "fail" && r.Verdict != "retry":
		return fmt.Errorf("verdict %q must be pass, fail or retry", r.Verdict)
	case r.Confidence < 0 || r.Confidence > 1:
		return fmt.Errorf("confidence %v is outside [0, 1]", r.Confidence)
	case r.DecidedAt.IsZero():
		return errors.New("decided_at is required")
	case len(r.AuditFrames) > 4:
		return fmt.Errorf("%d audit frames; at most 4", len(r.AuditFrames))
	}
	return nil
}

// Ack confirms that the cloud has durably stored the message with id Of
// (topic acks). Duplicate results are acknowledged again.
type Ack struct {
	Of        string    `json:"of"`         // the acknowledged message's id
	SessionID string    `json:"session_id"` // for logs
	Duplicate bool      `json:"duplicate"`  // already stored before this delivery
	Received  time.Time `json:"received"`   // cloud clock: the device measures skew from it
}

// Validate checks the fields a consumer relies on.
func (a *Ack) Validate() error {
	if a.Of == "" {
		return errors.New("of is required")
	}
	return nil
}

// Command kinds (topic commands).
const (
	CommandAssignSession = "assign_session"
	CommandConfig        = "config"
	CommandReboot        = "reboot"
	CommandUpdate        = "update"
)

// Command is a request from the cloud to a device.
type Command struct {
	Kind      string          `json:"kind"`
	ExpiresAt time.Time       `json:"expires_at"` // a command arriving later is refused
	Args      json.RawMessage `json:"args,omitempty"`
}

// Validate checks the fields a consumer relies on.
func (c *Command) Validate() error {
	switch c.Kind {
	case CommandAssignSession, CommandConfig, CommandReboot, CommandUpdate:
	default:
		return fmt.Errorf("unknown command kind %q", c.Kind)
	}
	if c.ExpiresAt.IsZero() {
		return errors.New("expires_at is required")
	}
	return nil
}

// AssignSessionArgs are the args of CommandAssignSession.
type AssignSessionArgs struct {
	SessionID string    `json:"session_id"`
	Mode      string    `json:"mode"`
	ExpiresAt time.Time `json:"expires_at"`
}

// UpdateArgs are the args of CommandUpdate.
type UpdateArgs struct {
	Kind     string `json:"kind"` // firmware | models
	Version  string `json:"version"`
	URL      string `json:"url"` // HTTPS download of the signed artifact
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Rollout  string `json:"rollout"`
	Deadline string `json:"deadline,omitempty"`
}

// Update progress states a device reports in UpdateResult.State.
const (
	UpdateDownloading = "downloading" // the artifact is being fetched
	UpdateInstalling  = "installing"  // verified; being written to the inactive slot
	UpdateRebooting   = "rebooting"   // the boot pointer switched; the device restarts on trial
	UpdateSucceeded   = "succeeded"   // the new version passed its health check and is marked good
	UpdateFailed      = "failed"      // refused or not installed; the old version still runs
	UpdateRolledBack  = "rolled_back" // the new version failed its health check (or crash-looped); the old one runs again
)

// UpdateResult is the Result of a device's CommandResponse to an update
// command. A device answers an update command more than once, each time
// with the command's id in Of: "accepted" (downloading) at once, then
// progress, and a final "done" (succeeded) or "failed" (failed or
// rolled_back), the final one possibly after a restart into the new slot.
// The cloud keys progress by Rollout, so the answer is meaningful even when
// the cloud no longer remembers the command.
type UpdateResult struct {
	State   string `json:"state"`             // one of the Update… states
	Rollout string `json:"rollout,omitempty"` // UpdateArgs.Rollout, echoed
	Version string `json:"version,omitempty"` // the version the update command named
	Running string `json:"running,omitempty"` // the version the device runs now
	Detail  string `json:"detail,omitempty"`  // why it failed, for the operator (no secrets)
	// BytesDone and BytesTotal are the download's progress while State is
	// downloading: bytes of the artifact on the device (kept bytes of a
	// resumed download included) and its size. Both are omitted when
	// zero; answers without them (older devices) mean "no figure".
	BytesDone  int64 `json:"bytes_done,omitempty"`
	BytesTotal int64 `json:"bytes_total,omitempty"`
}

// CommandResponse answers a Command (topic commands/resp).
type CommandResponse struct {
	Of     string          `json:"of"`     // the command message's id
	Status string          `json:"status"` // accepted | done | failed | refused
	Error  string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// Validate checks the fields a consumer relies on.
func (r *CommandResponse) Validate() error {
	if r.Of == "" {
		return errors.New("of is required")
	}
	switch r.Status {
	case "accepted", "done", "failed", "refused":
		return nil
	}
	return fmt.Errorf("status %q must be accepted, done, failed or refused", r.Status)
}

// Telemetry is a device's periodic health report.
type Telemetry struct {
	FirmwareVersion string  `json:"firmware_version"`
	ModelsVersion   string  `json:"models_version"`
	Board           string  `json:"board"`
	OutboxDepth     int     `json:"outbox_depth"`
	UptimeSeconds   int64   `json:"uptime_s"`
	ClockSkewMillis int64   `json:"clock_skew_ms"` // device minus cloud, from the last acks
	CPUTempC        float64 `json:"cpu_temp_c,omitempty"`
	FreeDiskBytes   int64   `json:"free_disk_bytes,omitempty"`
}

// Status is the body of a status message (topic status, retained): one of
// the Status… values and, for online, what the device runs.
type Status struct {
	State           string `json:"state"`
	FirmwareVersion string `json:"firmware_version,omitempty"`
	ModelsVersion   string `json:"models_version,omitempty"`
}

// Validate checks the fields a consumer relies on.
func (s *Status) Validate() error {
	switch s.State {
	case StatusOnline, StatusOffline, StatusStopped:
		return nil
	}
	return fmt.Errorf("state %q must be online, offline or stopped", s.State)
}

// EnrollRequest is what a device sends once, over HTTPS, to exchange its
// one-time enrollment token for its own credentials
// (POST /api/v1/devices/enroll).
type EnrollRequest struct {
	Token string `json:"token"` // the one-time enrollment token
	// CSR is a PEM "CERTIFICATE REQUEST" for the device's own ECDSA P-256
	// key (the key never leaves the device). Empty: ask for a password.
	CSR string `json:"csr,omitempty"`
}

// EnrollResponse carries the device's credentials. It is shown once.
type EnrollResponse struct {
	DeviceID    string `json:"device_id"`
	Certificate string `json:"certificate,omitempty"` // PEM client certificate (mutual TLS)
	CACert      string `json:"ca_cert,omitempty"`     // PEM device CA, to trust the broker's certificate
	Username    string `json:"username,omitempty"`    // password mode: the device id
	Password    string `json:"password,omitempty"`    // password mode: shown once, stored hashed
	BrokerURL   string `json:"broker_url,omitempty"`  // where to connect, e.g. ssl://mqtt.example.com:8883
}
