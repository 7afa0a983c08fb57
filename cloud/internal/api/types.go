package api

import (
	"encoding/json"
	"time"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
)

// SessionCreated is the 201 body of both session-creating routes.
type SessionCreated struct {
	SessionID   string      `json:"session_id" doc:"Session id (ses_…), time-ordered."`
	SessionURL  string      `json:"session_url" doc:"Send the user here: the hosted capture page (carries the client token)."`
	Token       string      `json:"token" doc:"Result token for GET …/result and …/photo (?token=). Shown once; valid for this session only, until 24 h after expires_at."`
	ClientToken string      `json:"client_token" doc:"Capture-page token (already inside session_url); valid until expires_at."`
	ExpiresAt   time.Time   `json:"expires_at" doc:"Creation + session TTL (30 min by default); after it the session_url answers 410."`
	Mode        core.Mode   `json:"mode" enum:"active,passive"`
	Status      core.Status `json:"status" enum:"pending,in_progress,completed,expired,cancelled"`
	Challenges  []string    `json:"challenges,omitempty" doc:"The fixed challenge list, when a test-mode key gave one." enum:"blink,turn_left,turn_right,smile,nod"`
}

// LivenessSession is a session in the shape of seed 002's
// /v1/liveness/sessions routes.
type LivenessSession struct {
	ID         string                 `json:"id" doc:"Session id (ses_…)."`
	Object     string                 `json:"object" doc:"Always liveness_session." enum:"liveness_session"`
	Status     core.Status            `json:"status" enum:"pending,in_progress,completed,expired,cancelled"`
	Mode       core.Mode              `json:"mode" enum:"active,passive"`
	UserID     string                 `json:"user_id,omitempty"`
	URL        string                 `json:"url,omitempty" doc:"The hosted page to send the user to (on creation only)."`
	Token      string                 `json:"token,omitempty" doc:"Result token (on creation only)."`
	CreatedAt  time.Time              `json:"created_at"`
	ExpiresAt  time.Time              `json:"expires_at"`
	Result     *LivenessSessionResult `json:"result" doc:"null until the session completes."`
	Metadata   json.RawMessage        `json:"metadata,omitempty"`
	Test       bool                   `json:"test,omitempty" doc:"Created with a test-mode key."`
	Simulated  bool                   `json:"simulated,omitempty" doc:"Completed by the simulate route."`
	Challenges []string               `json:"challenges,omitempty" doc:"The fixed challenge list of a test-mode session, when one was given at creation." enum:"blink,turn_left,turn_right,smile,nod"`
	RedirectTo string                 `json:"redirect_to,omitempty" doc:"Where the user is sent on completion (redirect_url plus session_id)."`
}

// LivenessSessionResult is the decision part of a LivenessSession.
type LivenessSessionResult struct {
	Verdict        core.Verdict           `json:"verdict" enum:"pass,fail,retry"`
	Confidence     float64                `json:"confidence"`
	Checks         []core.Check           `json:"checks"`
	Reasons        []string               `json:"reasons"`
	CompletedAt    time.Time              `json:"completed_at"`
	PhotoAvailable bool                   `json:"photo_available"`
	AuditFrames    []lifecycle.AuditFrame `json:"audit_frames" doc:"0–4 frames kept for your audit trail, as in GET /api/v1/session/{id}/result; empty when none were kept or once their retention has ended."`
}

// SimulateRequest is the body of POST /api/v1/session/{id}/simulate.
type SimulateRequest struct {
	Verdict    string   `json:"verdict" doc:"The verdict to simulate." enum:"pass,fail,retry"`
	Confidence *float64 `json:"confidence,omitempty" doc:"Optional; must lie in the verdict's band (pass ≥ 0.70, retry 0.45–0.70, fail < 0.45). Default: 0.97, 0.55 or 0.12."`
	FaceImage  string   `json:"faceImage,omitempty" doc:"liveness+facematch sessions only, optional: a JPEG or PNG photo with exactly one face, base64, that stands in for the capture's best frame — the face engine compares it with the session's reference face for real, so a test can reach facematch_pass, facematch_review and facematch_fail. Without it the session completes with nothing compared (facematch_unavailable, review). Limits and errors as referenceFace.image."`
}

// SimulateResponse is the session's result after simulation, plus where the
// hosted page sends the user.
type SimulateResponse struct {
	lifecycle.Result
	RedirectTo string `json:"redirect_to,omitempty" doc:"redirect_url with session_id added to its query; empty without redirect_url."`
}

// PhotoPending is the 202 body of GET …/photo while the photo may still come.
type PhotoPending struct {
	SessionID string      `json:"session_id"`
	Status    core.Status `json:"status" doc:"The session's status."`
	Message   string      `json:"message"`
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status" enum:"ok"`
}

// CreateTenantRequest is the body of POST /admin/v1/tenants.
type CreateTenantRequest struct {
	Name   string   `json:"name" doc:"Display name, 1–200 characters, no control characters."`
	Mode   string   `json:"mode" doc:"live keys decide for real; test keys may also simulate verdicts." enum:"live,test"`
	Scopes []string `json:"scopes,omitempty" doc:"What the first API key may do: sessions:read, sessions:write (checked on the session routes), ephemeral_devices:write (POST /api/device/ephemeral), galleries:read and galleries:write (/v1/galleries, POST /v1/face/search). Default: every scope." enum:"sessions:read,sessions:write,ephemeral_devices:write,galleries:read,galleries:write" minItems:"1"`
}

// TenantCreated is the 201 body of tenant creation. Secrets are shown once.
type TenantCreated struct {
	TenantID      string          `json:"tenant_id"`
	Name          string          `json:"name"`
	Mode          core.TenantMode `json:"mode" enum:"live,test"`
	CreatedAt     time.Time       `json:"created_at"`
	KeyID         string          `json:"key_id"`
	APIKey        string          `json:"api_key" doc:"iksk_live_… or iksk_test_…; shown once, stored hashed."`
	WebhookSecret string          `json:"webhook_secret" doc:"whsec_…: the HMAC-SHA256 key of Livegate-Signature; shown once."`
	Scopes        []string        `json:"scopes" doc:"The scopes of the API key." enum:"sessions:read,sessions:write,ephemeral_devices:write,galleries:read,galleries:write"`
}

// TenantView is a tenant without secrets.
type TenantView struct {
	TenantID       string          `json:"tenant_id"`
	Name           string          `json:"name"`
	Mode           core.TenantMode `json:"mode" enum:"live,test"`
	CreatedAt      time.Time       `json:"created_at"`
	Disabled       bool            `json:"disabled"`
	WebhookSecrets []SecretView    `json:"webhook_secrets" doc:"Signing secrets, newest first (values never shown again)."`
	Settings       SettingsView    `json:"settings" doc:"The tenant's settings in effect (defaults filled in); change them with PUT /admin/v1/tenants/{id}/settings."`
	CapturePage    CapturePageView `json:"capture_page" doc:"The hosted capture page's brand name, accent colour, texts and logo; change them with PUT /admin/v1/tenants/{id}/capture-page and PUT …/capture-page/logo."`
}

// CapturePageSettings is the body of PUT
// /admin/v1/tenants/{id}/capture-page: it replaces the page's brand name,
// accent colour and texts, every field left out taking its default (the
// logo has its own route and is kept).
type CapturePageSettings struct {
	BrandName   string                       `json:"brand_name,omitempty" doc:"Shown at the top of every screen and in the page title; at most 60 characters. Default: none."`
	AccentColor string                       `json:"accent_color,omitempty" doc:"#rrggbb, for the buttons, the progress bar and links. It must contrast at least 4.5:1 (WCAG AA) with the page background (#ffffff) and with the button text (#ffffff); a refusal gives the measured ratios. Default: #0b57d0."`
	PolicyURL   string                       `json:"policy_url,omitempty" doc:"Your privacy policy: an https URL (at most 2048 bytes), linked from the page's consent screen and kept in each consent record. Default: no link." format:"uri"`
	Messages    map[string]map[string]string `json:"messages,omitempty" doc:"Texts that replace built-in ones or add a language: language tag (es, pt-BR, it…) → message key → text (keys and placeholders: docs/capture.md, Languages). Texts keep exactly the English text's {placeholders}; **…** marks bold. A language that is neither built in nor a variant of one must give every key. At most 16 languages and 500 characters a text (2000 for consent.text, your consent statement: with consent.agree, the checkbox's label, it is the text a consent record keeps)."`
}

// CapturePageView is a tenant's capture page settings in effect.
type CapturePageView struct {
	BrandName   string                       `json:"brand_name" doc:"Empty: no name shown."`
	AccentColor string                       `json:"accent_color" doc:"The accent colour in effect (#0b57d0 unless set)."`
	PolicyURL   string                       `json:"policy_url,omitempty" doc:"The privacy policy linked from the consent screen, when set."`
	Messages    map[string]map[string]string `json:"messages" doc:"The tenant's texts as set (language tags in canonical case)."`
	Languages   []string                     `json:"languages" doc:"The languages the page may be shown in: the built-in ones (ar, de, en, es, fr, pt, zh) and the tenant's."`
	Logo        *LogoView                    `json:"logo,omitempty" doc:"The logo, when one is set."`
}

// LogoView describes a tenant's logo; the page loads the PNG from
// GET /s/{id}/logo.
type LogoView struct {
	Width     int       `json:"width" doc:"Pixels; the page draws it at half this size (2× density)."`
	Height    int       `json:"height" doc:"Pixels."`
	Bytes     int       `json:"bytes" doc:"Size of the PNG the server encoded."`
	SHA256    string    `json:"sha256" doc:"SHA-256 of the PNG, hex."`
	UpdatedAt time.Time `json:"updated_at"`
}

// TenantSettings is the body of PUT /admin/v1/tenants/{id}/settings: it
// replaces the tenant's settings, and every field left out takes its
// default.
type TenantSettings struct {
	CaptureThrottle *CaptureThrottleSettings `json:"capture_throttle,omitempty" doc:"How failed capture attempts of the tenant's sessions are throttled (docs/api.md, Failed captures)."`
	Verification    *VerificationSettings    `json:"verification,omitempty" doc:"How verification sessions (/v1/sessions) decide."`
	Retention       *RetentionSettings       `json:"retention,omitempty" doc:"When the retention sweeper deletes the tenant's session data (docs/data-deletion.md)."`
}

// RetentionSettings are a tenant's retention, in days after a session was
// created; a field left out takes its default.
type RetentionSettings struct {
	BiometricDays *int `json:"biometric_days,omitempty" doc:"Then the photo, audit frames, recording and embeddings are deleted: 1–1095. Default 30."`
	DataDays      *int `json:"data_days,omitempty" doc:"Then every personal field is deleted too, leaving the tombstone (decision, status, timestamps): 1–1095. Default 365."`
}

// RetentionView is the retention in force.
type RetentionView struct {
	BiometricDays int `json:"biometric_days"`
	DataDays      int `json:"data_days"`
}

// VerificationSettings are a tenant's decision rules for verification
// sessions; a field left out takes its default.
type VerificationSettings struct {
	LivenessReviewBelow *float64 `json:"liveness_review_below,omitempty" doc:"A liveness pass whose confidence is below this is sent to review (liveness_grey_zone) instead of approved: 0.70–1. Default: none (every pass is approved). Applies to sessions created after the change."`
	FacematchAccept     *float64 `json:"facematch_accept,omitempty" doc:"The similarity at or above which the facematch check passes: 0.60–1 (stricter than the calibrated 0.60, never looser; docs/face.md). Default 0.60. Applies to sessions created after the change."`
	FacematchReviewFrom *float64 `json:"facematch_review_from,omitempty" doc:"Where the facematch grey zone starts: a similarity from it up to facematch_accept goes to review (facematch_review), below it is declined (facematch_fail); 0 to facematch_accept (equal: no grey zone). Default 0.50. Applies to sessions created after the change."`
}

// CaptureThrottleSettings are the failure throttle's settings; a field left
// out takes its default.
type CaptureThrottleSettings struct {
	UserLimit       *int  `json:"user_limit,omitempty" doc:"Failed attempts of one end user (the session's user_id, or the session when it has none) within the window that start a cool-down for that user: 1–1000. Default 5."`
	AddressLimit    *int  `json:"address_limit,omitempty" doc:"Failed attempts from one client address (an IPv6 /64) within the window that start a cool-down for every session of the tenant from that address, the backstop: 1–100000. Default 100."`
	WindowSeconds   *int  `json:"window_seconds,omitempty" doc:"How far back failures are counted, seconds: 1–86400. Default 180."`
	CooldownSeconds *int  `json:"cooldown_seconds,omitempty" doc:"How long a cool-down lasts, seconds (the retry_after the page counts down): 1–86400. Default 180."`
	TestExempt      *bool `json:"test_exempt,omitempty" doc:"Whether sessions of test-mode keys are exempt from the throttle. Default true."`
}

// SettingsView is a tenant's settings in effect.
type SettingsView struct {
	CaptureThrottle CaptureThrottleView `json:"capture_throttle"`
	Verification    VerificationView    `json:"verification"`
	Retention       RetentionView       `json:"retention"`
}

// VerificationView is the verification decision rules in effect.
type VerificationView struct {
	LivenessReviewBelow *float64 `json:"liveness_review_below" doc:"null: every liveness pass is approved."`
	FacematchAccept     float64  `json:"facematch_accept" doc:"The facematch accept threshold in effect."`
	FacematchReviewFrom float64  `json:"facematch_review_from" doc:"Where the facematch grey zone starts."`
}

// CaptureThrottleView is the failure throttle's settings in effect.
type CaptureThrottleView struct {
	UserLimit       int  `json:"user_limit"`
	AddressLimit    int  `json:"address_limit"`
	WindowSeconds   int  `json:"window_seconds"`
	CooldownSeconds int  `json:"cooldown_seconds"`
	TestExempt      bool `json:"test_exempt"`
}

// SecretView describes one webhook secret without its value.
type SecretView struct {
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at" doc:"Set on a secret being rotated out."`
}

// TenantList is the body of GET /admin/v1/tenants.
type TenantList struct {
	Tenants []TenantView `json:"tenants"`
}

// KeyView describes an API key without its value.
type KeyView struct {
	KeyID     string          `json:"key_id"`
	Prefix    string          `json:"prefix" doc:"The key's first characters, to recognise it."`
	Mode      core.TenantMode `json:"mode" enum:"live,test"`
	CreatedAt time.Time       `json:"created_at"`
	RevokedAt *time.Time      `json:"revoked_at"`
	ExpiresAt *time.Time      `json:"expires_at" doc:"End of the grace period of a rotated key."`
	Usable    bool            `json:"usable" doc:"Whether the key authenticates now."`
	Scopes    []string        `json:"scopes" doc:"What the key may do; keys made without a list have every scope." enum:"sessions:read,sessions:write,ephemeral_devices:write,galleries:read,galleries:write"`
}

// KeyList is the body of GET /admin/v1/tenants/{id}/keys.
type KeyList struct {
	Keys []KeyView `json:"keys"`
}

// RotateRequest is the body of the key and secret rotation routes.
type RotateRequest struct {
	GracePeriodSeconds *int64 `json:"grace_period_seconds,omitempty" doc:"How long the old key(s)/secret(s) keep working. Default: 0 for keys (stop now), 86400 for webhook secrets."`
}

// RotateKeyRequest is the body of POST /admin/v1/tenants/{id}/keys/rotate.
type RotateKeyRequest struct {
	GracePeriodSeconds *int64   `json:"grace_period_seconds,omitempty" doc:"How long the keys usable now keep working: 0–7776000 seconds. Default: 0 (they stop now)."`
	Scopes             []string `json:"scopes,omitempty" doc:"What the new key may do: sessions:read, sessions:write (checked on the session routes), ephemeral_devices:write (POST /api/device/ephemeral), galleries:read and galleries:write (/v1/galleries, POST /v1/face/search). Default: every scope." enum:"sessions:read,sessions:write,ephemeral_devices:write,galleries:read,galleries:write" minItems:"1"`
}

// KeyRotated is the 201 body of key rotation. The key is shown once.
type KeyRotated struct {
	KeyID                string          `json:"key_id"`
	APIKey               string          `json:"api_key"`
	Prefix               string          `json:"prefix"`
	Mode                 core.TenantMode `json:"mode" enum:"live,test"`
	CreatedAt            time.Time       `json:"created_at"`
	PreviousKeysExpireAt time.Time       `json:"previous_keys_expire_at" doc:"When the keys that were usable before stop working."`
	Scopes               []string        `json:"scopes" doc:"The new key's scopes." enum:"sessions:read,sessions:write,ephemeral_devices:write,galleries:read,galleries:write"`
}

// SecretRotated is the 201 body of webhook secret rotation.
type SecretRotated struct {
	WebhookSecret     string    `json:"webhook_secret" doc:"The new whsec_…; shown once."`
	CreatedAt         time.Time `json:"created_at"`
	PreviousExpiresAt time.Time `json:"previous_expires_at" doc:"Until then deliveries carry one v1 signature per secret."`
}

// DeliveryView is a webhook outbox entry.
type DeliveryView struct {
	DeliveryID    string             `json:"delivery_id" doc:"The event id (evt_…), sent as Livegate-Event-Id."`
	Type          string             `json:"type"`
	SessionID     string             `json:"session_id"`
	TenantID      string             `json:"tenant_id,omitempty"`
	Host          string             `json:"host" doc:"The webhook URL's host (paths and queries are not shown)."`
	State         core.DeliveryState `json:"state" enum:"pending,delivered,dead"`
	Attempts      int                `json:"attempts"`
	NextAttemptAt time.Time          `json:"next_attempt_at"`
	CreatedAt     time.Time          `json:"created_at"`
	DeliveredAt   *time.Time         `json:"delivered_at"`
	LastStatus    int                `json:"last_status,omitempty" doc:"HTTP status of the last attempt."`
	LastError     string             `json:"last_error,omitempty"`
	Body          json.RawMessage    `json:"body" doc:"The exact event JSON that is sent."`
}

// DeliveryList is the body of GET /admin/v1/deliveries.
type DeliveryList struct {
	Deliveries []DeliveryView `json:"deliveries"`
}

// WebhookEvent is the body of every webhook (documented in the OpenAPI
// document's "webhooks"; built by webhook.NewDelivery).
type WebhookEvent struct {
	ID      string           `json:"id" doc:"Event id (evt_…), also Livegate-Event-Id; the same on every attempt and replay: deduplicate on it."`
	Type    string           `json:"type" enum:"session.completed,session.expired,session.cancelled,session.in_progress,session.photo_ready,session.redacted"`
	Created int64            `json:"created" doc:"Unix seconds when the state changed."`
	Data    lifecycle.Result `json:"data" doc:"The session's result at that change, as GET …/result returns it."`
}
