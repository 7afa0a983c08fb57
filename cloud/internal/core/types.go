package core

import (
	"encoding/json"
	"time"
)

// Mode is a tenant's mode: live keys decide for real; test keys may simulate.
type TenantMode string

const (
	TenantLive TenantMode = "live"
	TenantTest TenantMode = "test"
)

// Tenant is an integrator account.
type Tenant struct {
	ID        string     `json:"id"` // "ten_…"
	Name      string     `json:"name"`
	Mode      TenantMode `json:"mode"`
	CreatedAt time.Time  `json:"created_at"`
	// WebhookSecrets are sealed (encrypted at rest, see package secret) HMAC
	// keys, newest first. While a secret rotates there are two, and
	// deliveries carry one v1 signature per secret.
	WebhookSecrets []SealedSecret `json:"webhook_secrets"`
	Disabled       bool           `json:"disabled,omitempty"`
	// Settings are the tenant's adjustable behaviour; unset fields take
	// their defaults.
	Settings TenantSettings `json:"settings,omitzero"`
	// CapturePage brands and words the tenant's hosted capture page.
	CapturePage CapturePage `json:"capture_page,omitzero"`
	// DataKey is the tenant's data key, sealed under the master key (see
	// package secret): it seals the personal data of the tenant's sessions
	// (a verification session's subject). Made on first use.
	DataKey []byte `json:"data_key,omitempty"`
	// Workflows are the tenant's named workflows (seed 004's workflowId):
	// id → the flow and settings a session started with it runs.
	Workflows map[string]Workflow `json:"workflows,omitempty"`
}

// Workflow is a tenant's named recipe for a session (seed 004).
type Workflow struct {
	Flow string `json:"flow"`           // liveness (the only flow run here)
	Mode Mode   `json:"mode,omitempty"` // active (default) or passive
	// ReviewBelow, when set, replaces the tenant's
	// verification.liveness_review_below for the workflow's sessions.
	ReviewBelow *float64 `json:"review_below,omitempty"`
	// WebhookURL receives the signed events of the workflow's sessions.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// SealedSecret is an encrypted secret and when it stops being used.
type SealedSecret struct {
	Sealed    []byte     `json:"sealed"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // set on the old secret during rotation
}

// APIKey is one of a tenant's keys. The key itself is shown once at creation;
// only its hash is kept.
type APIKey struct {
	ID        string     `json:"id"` // "key_…"
	TenantID  string     `json:"tenant_id"`
	Hash      []byte     `json:"hash"`   // HashSecret(key)
	Prefix    string     `json:"prefix"` // first characters, for display: "iksk_live_ab12"
	Mode      TenantMode `json:"mode"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// ExpiresAt is set on the old key when a key is rotated with a grace period.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Scopes limit what the key may do (ScopeSessionsRead, …). Nil: every
	// scope — keys made before scopes existed keep working as they did.
	Scopes []string `json:"scopes,omitempty"`
}

// API key scopes.
const (
	ScopeSessionsRead  = "sessions:read"
	ScopeSessionsWrite = "sessions:write"
	// ScopeEphemeralDevicesWrite lets a key create ephemeral devices
	// (POST /api/device/ephemeral, seed 004).
	ScopeEphemeralDevicesWrite = "ephemeral_devices:write"
	// ScopeGalleriesRead lets a key read face galleries and their persons
	// and search them (POST /v1/face/search); ScopeGalleriesWrite lets it
	// create galleries, add, enrol and delete persons.
	ScopeGalleriesRead  = "galleries:read"
	ScopeGalleriesWrite = "galleries:write"
)

// Scopes are every scope a key may carry.
var Scopes = []string{ScopeSessionsRead, ScopeSessionsWrite, ScopeEphemeralDevicesWrite, ScopeGalleriesRead, ScopeGalleriesWrite}

// HasScope reports whether the key may act with scope.
func (k *APIKey) HasScope(scope string) bool {
	return HasScope(k.Scopes, scope)
}

// HasScope reports whether a key carrying scopes (nil: every scope) may act
// with scope.
func HasScope(scopes []string, scope string) bool {
	if scopes == nil {
		return true
	}
	for _, s := range scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Usable reports whether the key authenticates at time now.
func (k *APIKey) Usable(now time.Time) bool {
	if k.RevokedAt != nil && !now.Before(*k.RevokedAt) {
		return false
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return false
	}
	return true
}

// SessionKind says how a session was created.
type SessionKind string

const (
	KindManaged SessionKind = "managed" // by an integrator's backend with an API key
	KindDirect  SessionKind = "direct"  // by a browser, without a key
)

// Mode is the liveness mode of a session.
type Mode string

const (
	ModeActive  Mode = "active"  // 3–6 random challenges
	ModePassive Mode = "passive" // hold still for 3 seconds
)

// ChallengeKinds are the challenges an active session may ask for, by the
// names of models/liveness's Challenge (capture's TestChallengePlan checks
// they match).
var ChallengeKinds = []string{"blink", "turn_left", "turn_right", "smile", "nod"}

// MaxChallenges is the longest challenge list of a session (the engine's
// limit).
const MaxChallenges = 6

// Status is a session's lifecycle state.
type Status string

const (
	StatusPending    Status = "pending"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusExpired    Status = "expired"
	StatusCancelled  Status = "cancelled"
)

// Terminal reports whether no further transition is allowed.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusExpired || s == StatusCancelled
}

// Verdict is the liveness decision.
type Verdict string

const (
	VerdictPass  Verdict = "pass"
	VerdictFail  Verdict = "fail"
	VerdictRetry Verdict = "retry"
)

// Verdict bands of seed 001: pass ≥ 0.70, retry 0.45–0.70, fail below.
const (
	PassThreshold  = 0.70
	RetryThreshold = 0.45
)

// VerdictFor maps a confidence in [0, 1] to its band.
func VerdictFor(confidence float64) Verdict {
	switch {
	case confidence >= PassThreshold:
		return VerdictPass
	case confidence >= RetryThreshold:
		return VerdictRetry
	default:
		return VerdictFail
	}
}

// PhotoState tracks the ICAO photo of a passed session.
type PhotoState string

const (
	PhotoNone    PhotoState = ""        // no photo (not passed, or not yet completed)
	PhotoPending PhotoState = "pending" // being made: GET /photo answers 202
	PhotoReady   PhotoState = "ready"
	PhotoFailed  PhotoState = "failed"
)

// Check is one verification layer's outcome within a session. A flow (seed
// 003) is an ordered list of checks; liveness reports one check per layer.
type Check struct {
	Name   string  `json:"name"`   // a liveness layer: "challenges", "anti_spoof", "injection", "face_consistency", "motion", "non_rigid", "light_response"
	Status string  `json:"status"` // "passed", "failed", "skipped", "pending"
	Score  float64 `json:"score"`  // in [0, 1]
	Detail string  `json:"detail,omitempty"`
}

// Session is one verification session. Bearer secrets are kept only as
// hashes.
type Session struct {
	ID       string      `json:"id"` // "ses_…", time-ordered
	Kind     SessionKind `json:"kind"`
	TenantID string      `json:"tenant_id,omitempty"` // empty for legacy-key and direct sessions
	Test     bool        `json:"test,omitempty"`      // created with a test key: may be simulated

	UserID string   `json:"user_id,omitempty"`
	Mode   Mode     `json:"mode"`
	Flow   []string `json:"flow,omitempty"` // checks requested (verification sessions, seed 003); liveness-only sessions of the other routes leave it empty
	// Reference is the integrator's own identifier of a verification
	// session, echoed back.
	Reference string `json:"reference,omitempty"`
	// SealedSubject is a verification session's subject (names, ID number,
	// date of birth) as JSON sealed with the tenant's data key
	// (Tenant.DataKey): the store never holds it in clear.
	SealedSubject []byte `json:"sealed_subject,omitempty"`
	// SubjectDigest is an HMAC of the subject under the tenant's data key,
	// so an idempotent retry can be compared without opening it.
	SubjectDigest []byte `json:"subject_digest,omitempty"`
	// ReviewBelow, when positive, sends a liveness pass whose confidence is
	// below it to review instead of approving it: the tenant's grey zone
	// when the session was created.
	ReviewBelow float64         `json:"review_below,omitempty"`
	RedirectURL string          `json:"redirect_url,omitempty"`
	WebhookURL  string          `json:"webhook_url,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	DeviceID    string          `json:"device_id,omitempty"` // a kiosk that runs the session (flow 3)
	// EphemeralDevice is the ephemeral device (eph_…, seed 004) whose token
	// started the session: only that token and the tenant's keys see it.
	EphemeralDevice string `json:"ephemeral_device,omitempty"`
	// Workflow is the workflowId the session was started with (seed 004).
	Workflow string `json:"workflow,omitempty"`
	// Challenges, when set, are the active-mode challenges in order instead
	// of a random draw. Test-mode sessions only (Test): a list known in
	// advance can be recorded, so it exists for integrators' browser tests
	// with recorded clips and never for live keys.
	Challenges []string `json:"challenges,omitempty"`

	// Consent is the user's consent to the capture, recorded by the hosted
	// page before the camera starts (POST /s/{id}/consent); nil until then.
	Consent *Consent `json:"consent,omitempty"`

	// FaceRef is the reference face of a session whose flow runs facematch
	// (sealed embedding, never the image); nil for other sessions.
	FaceRef *FaceRef `json:"face_ref,omitempty"`
	// FaceMatch is the facematch check's comparison, set when the session
	// completes with a face to compare; nil until then or without one.
	FaceMatch *FaceMatch `json:"face_match,omitempty"`

	// IdempotencyKey, when set, makes creation idempotent per tenant.
	IdempotencyKey string `json:"idempotency_key,omitempty"`

	TokenHash       []byte    `json:"token_hash"`        // integrator's result token
	ClientTokenHash []byte    `json:"client_token_hash"` // capture page / WebSocket token
	ClientExpiresAt time.Time `json:"client_expires_at"`
	// SealedTokens holds both tokens encrypted under a key derived from the
	// master key, only for sessions created with an idempotency key, so a
	// retried request can return the same tokens.
	SealedTokens []byte `json:"sealed_tokens,omitempty"`

	Status      Status     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// StartedAt is when capture began (the session went in_progress).
	StartedAt *time.Time `json:"started_at,omitempty"`

	Verdict    *Verdict   `json:"verdict,omitempty"`
	Confidence *float64   `json:"confidence,omitempty"`
	Checks     []Check    `json:"checks,omitempty"`
	Reasons    []string   `json:"reasons,omitempty"`
	Attempts   int        `json:"attempts,omitempty"`
	Photo      PhotoState `json:"photo,omitempty"`
	Simulated  bool       `json:"simulated,omitempty"` // completed through the test-mode simulate route
	// AuditFrames lists the 0–4 frames kept for the tenant's audit trail
	// (their JPEGs are in the capture service's audit store), set when a
	// real capture completes.
	AuditFrames []AuditFrame `json:"audit_frames,omitempty"`
	// Redaction, when set, says the session's data was deleted (a
	// tombstone: the decision and timestamps stay).
	Redaction *Redaction `json:"redaction,omitempty"`

	Version int64 `json:"version"` // incremented on every update
}

// Sources of a reference face.
const (
	FaceRefImage   = "image"   // uploaded by the integrator at creation
	FaceRefSession = "session" // the portrait of an earlier approved session
)

// FaceRef is the reference face of a facematch session. It holds no image:
// the embedding is sealed with the tenant's data key, and the face is
// named by a keyed digest of the bytes it came from.
type FaceRef struct {
	Source string `json:"source"` // FaceRefImage or FaceRefSession
	// SessionID is the earlier session whose portrait is the reference
	// (FaceRefSession).
	SessionID string `json:"session_id,omitempty"`
	// Digest is an HMAC-SHA256, under the tenant's data key, of the image
	// the face came from (the upload, or the earlier session's portrait).
	Digest []byte `json:"digest"`
	// SealedEmbedding is the face's embedding (192 float32, little endian)
	// sealed with the tenant's data key.
	SealedEmbedding []byte `json:"sealed_embedding"`
	// Accept and ReviewFrom are the thresholds in force when the session
	// was created: a similarity at or above Accept passes, from ReviewFrom
	// goes to review, below fails.
	Accept     float64 `json:"accept"`
	ReviewFrom float64 `json:"review_from"`
}

// FaceMatch is the outcome of a session's facematch check.
type FaceMatch struct {
	Similarity float64 `json:"similarity"` // cosine similarity of the embeddings, in [-1, 1]
	Status     string  `json:"status"`     // pass, review or fail (at the FaceRef's thresholds)
	// ProbeSource is where the compared face came from: capture (the
	// capture's best frame) or simulated (the test-mode simulate route).
	ProbeSource string `json:"probe_source"`
	// ProbeDigest is an HMAC-SHA256 under the tenant's data key of the
	// compared frame's pixels (capture) or image bytes (simulated).
	ProbeDigest []byte    `json:"probe_digest"`
	ProbeAt     time.Time `json:"probe_at"` // when the compared frame was captured or sent
	// ProbeFrame is the index of the audit frame that is the compared
	// frame (why "best"), or -1 when no audit frame shows it.
	ProbeFrame int `json:"probe_frame"`
}

// AuditFrame describes one frame kept for a session's audit trail. The
// JPEG itself is kept by the capture service until ExpiresAt; this record
// carries no image data.
type AuditFrame struct {
	Index      int          `json:"index"`       // position in the session's list, 0–3
	Why        string       `json:"why"`         // reference, best, challenge:<kind>, last
	CapturedAt time.Time    `json:"captured_at"` // when the server received the frame
	Boxes      [][4]float64 `json:"boxes"`       // faces found: x, y, width, height in pixels
	ExpiresAt  time.Time    `json:"expires_at"`  // end of the retention: the frame is deleted then
}

// Event types, one per state change.
const (
	EventSessionCreated    = "session.created"
	EventSessionStarted    = "session.in_progress"
	EventSessionCompleted  = "session.completed"
	EventSessionExpired    = "session.expired"
	EventSessionCancelled  = "session.cancelled"
	EventSessionPhotoReady = "session.photo_ready"
)

// DeliveryState is a webhook delivery's state.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryDead      DeliveryState = "dead" // attempts exhausted; listed and replayable
)

// Delivery is one webhook event bound for one URL: the durable outbox entry.
// Body is the exact JSON sent ({"id","type","created","data"}); it is
// signed at delivery time with the tenant's current secrets.
type Delivery struct {
	ID            string        `json:"id"` // the event id, "evt_…": Livegate-Event-Id
	Type          string        `json:"type"`
	SessionID     string        `json:"session_id"`
	TenantID      string        `json:"tenant_id,omitempty"` // empty: unsigned (legacy key)
	URL           string        `json:"url"`
	Body          []byte        `json:"body"`
	State         DeliveryState `json:"state"`
	Attempts      int           `json:"attempts"` // attempts made so far
	NextAttemptAt time.Time     `json:"next_attempt_at"`
	LeaseUntil    time.Time     `json:"lease_until"` // a worker holds it until then
	CreatedAt     time.Time     `json:"created_at"`
	DeliveredAt   *time.Time    `json:"delivered_at,omitempty"`
	LastStatus    int           `json:"last_status,omitempty"`
	LastError     string        `json:"last_error,omitempty"`
}

// Consent records that the user agreed to the capture of their face on the
// hosted page: what they were shown, in which language, and when.
type Consent struct {
	// GivenAt is when the server recorded it.
	GivenAt time.Time `json:"given_at"`
	// Language is the page's language when the user agreed (a canonical
	// tag).
	Language string `json:"language"`
	// Text is the exact text shown: the consent statement and the
	// checkbox's label, as ConsentText joins them.
	Text string `json:"text"`
	// TextSHA256 is the SHA-256 of Text's UTF-8 bytes, hex.
	TextSHA256 string `json:"text_sha256"`
	// PolicyURL is the tenant's privacy policy link shown with the text,
	// empty when it has none.
	PolicyURL string `json:"policy_url,omitempty"`
}
