package core

import (
	"fmt"
	"time"
)

// Redaction scopes: what a redaction deletes.
const (
	// ScopeBiometrics deletes a session's biometric data: the ICAO photo,
	// the audit frames and their face boxes, the capture recording, and
	// the face embedding and face digests of a facematch session. The subject and the integrator's
	// identifiers stay.
	ScopeBiometrics = "biometrics"
	// ScopeAll deletes the biometric data and every personal field: the
	// sealed subject, user_id (externalUserId), reference, metadata and
	// redirect_url, and the same fields in the session's webhook outbox.
	ScopeAll = "all"
)

// What a deletion receipt lists as deleted (DeletionReceipt.Deleted).
const (
	DeletedPhoto       = "icao_photo"
	DeletedAuditFrames = "audit_frames"
	DeletedRecording   = "recording"
	DeletedEmbeddings  = "embeddings"
	DeletedDocuments   = "document_images"
	DeletedFaceBoxes   = "face_boxes"
	DeletedSubject     = "subject"
	DeletedUserID      = "user_id"
	DeletedReference   = "reference"
	DeletedMetadata    = "metadata"
	DeletedRedirectURL = "redirect_url"
	DeletedWebhookData = "webhook_payloads"
)

// DeletedBy of a redaction the retention sweeper made.
const DeletedByRetention = "retention"

// EventSessionRedacted is queued when a session's data is deleted.
const EventSessionRedacted = "session.redacted"

// Redaction is the tombstone of a session whose data was deleted: the
// decision and timestamps stay on the session, with this record of the
// latest deletion.
type Redaction struct {
	Scope     string    `json:"scope"` // ScopeBiometrics or ScopeAll
	At        time.Time `json:"at"`
	By        string    `json:"by"` // an API key id (key_…), an ephemeral device (eph_…) or DeletedByRetention
	Reason    string    `json:"reason,omitempty"`
	ReceiptID string    `json:"receipt_id"` // the DeletionReceipt (del_…)
}

// Covers reports whether a redaction of scope is already done by r.
func (r *Redaction) Covers(scope string) bool {
	return r != nil && (r.Scope == ScopeAll || r.Scope == scope)
}

// DeletionReceipt is the signed record of one deletion, and one entry of
// its tenant's append-only deletion trail: entries are numbered (Seq, from
// 1) and each carries the SHA-256 of the one before (PrevHash), so a
// removed or altered entry breaks the chain. Package receipt signs and
// verifies them.
type DeletionReceipt struct {
	ID        string    `json:"receipt_id"` // "del_…"
	TenantID  string    `json:"tenant_id"`  // empty for the sessions of the legacy key and direct sessions
	SessionID string    `json:"session_id"`
	Scope     string    `json:"scope"`
	Deleted   []string  `json:"deleted"` // what was deleted (Deleted… constants), sorted
	Reason    string    `json:"reason"`
	By        string    `json:"deleted_by"`
	At        time.Time `json:"deleted_at"`
	// Decision is the session's outcome kept in the tombstone: its status
	// and, when it completed, its verdict.
	Status   Status   `json:"status"`
	Verdict  *Verdict `json:"verdict"`
	Seq      int64    `json:"seq"`
	PrevHash string   `json:"prev_hash"` // hex SHA-256 of the previous entry's canonical form; 64 zeros for the first
	Hash     string   `json:"hash"`      // hex SHA-256 of this entry's canonical form without hash and signature
	KeyID    string   `json:"key_id"`    // the signing key (GET /v1/deletion-keys)
	// Signature is the Ed25519 signature (base64url, unpadded) of the
	// canonical form without the signature.
	Signature string `json:"signature"`
}

// RetentionSettings are how long a tenant's session data is kept after
// the session was created, in days (a session lasts minutes, so that is
// within minutes of the user's last interaction). A nil field takes its
// default.
type RetentionSettings struct {
	// BiometricDays: then the photo, audit frames, recording and
	// embeddings are deleted. Default: DefaultBiometricDays.
	BiometricDays *int `json:"biometric_days,omitempty"`
	// DataDays: then every personal field is deleted too, leaving the
	// tombstone. Default: DefaultDataDays.
	DataDays *int `json:"data_days,omitempty"`
}

// Defaults and bounds of RetentionSettings (docs/data-deletion.md gives the
// reasoning).
const (
	// DefaultBiometricDays matches the audit frames' default retention:
	// long enough to answer a dispute about a verdict, far inside BIPA's
	// three years and Texas's one year after the purpose ends (the purpose
	// of a liveness check ends when its verdict is delivered).
	DefaultBiometricDays = 30
	// DefaultDataDays keeps the decision's context (who, which reference)
	// one year, Texas's outer limit for biometric identifiers and the
	// usual record-keeping horizon; a tenant with a longer duty sets more.
	DefaultDataDays = 365
	// MaxRetentionDays is BIPA's outer limit: three years after the last
	// interaction.
	MaxRetentionDays = 3 * 365
)

// RetentionValues are RetentionSettings with the defaults filled in.
type RetentionValues struct {
	Biometrics, Data time.Duration
}

// Effective returns the retention in force.
func (r RetentionSettings) Effective() RetentionValues {
	b, d := DefaultBiometricDays, DefaultDataDays
	if r.BiometricDays != nil {
		b = *r.BiometricDays
	}
	if r.DataDays != nil {
		d = *r.DataDays
	}
	return RetentionValues{Biometrics: time.Duration(b) * 24 * time.Hour, Data: time.Duration(d) * 24 * time.Hour}
}

// Validate reports a retention outside 1–MaxRetentionDays days.
func (r RetentionSettings) Validate() error {
	for _, f := range []struct {
		name string
		v    *int
	}{{"retention.biometric_days", r.BiometricDays}, {"retention.data_days", r.DataDays}} {
		if f.v != nil && (*f.v < 1 || *f.v > MaxRetentionDays) {
			return &SettingError{Setting: f.name, Value: *f.v, Min: 1, Max: MaxRetentionDays}
		}
	}
	return nil
}

// ErasePersonal clears the personal fields of sess (ScopeAll) and returns
// what it cleared.
func ErasePersonal(sess *Session) []string {
	var out []string
	if len(sess.SealedSubject) > 0 || len(sess.SubjectDigest) > 0 {
		out = append(out, DeletedSubject)
	}
	if sess.UserID != "" {
		out = append(out, DeletedUserID)
	}
	if sess.Reference != "" {
		out = append(out, DeletedReference)
	}
	if len(sess.Metadata) > 0 {
		out = append(out, DeletedMetadata)
	}
	if sess.RedirectURL != "" {
		out = append(out, DeletedRedirectURL)
	}
	sess.SealedSubject, sess.SubjectDigest, sess.UserID, sess.Reference, sess.Metadata, sess.RedirectURL = nil, nil, "", "", nil, ""
	return out
}

// EraseBiometrics clears the biometric fields of sess (the photo state and
// the audit frames' face boxes) and returns what it cleared; the caller
// deletes the images themselves.
func EraseBiometrics(sess *Session) []string {
	var out []string
	if sess.Photo == PhotoReady || sess.Photo == PhotoPending {
		out = append(out, DeletedPhoto)
	}
	if len(sess.AuditFrames) > 0 {
		out = append(out, DeletedFaceBoxes)
	}
	if sess.Photo != PhotoNone {
		sess.Photo = PhotoDeleted
	}
	sess.AuditFrames = nil
	// A facematch session's reference embedding (sealed) and the keyed
	// digests of the faces compared: the thresholds, the sources and the
	// similarity stay with the decision.
	if r := sess.FaceRef; r != nil {
		if len(r.SealedEmbedding) > 0 || len(r.Digest) > 0 {
			out = append(out, DeletedEmbeddings)
		}
		r.SealedEmbedding, r.Digest = nil, nil
	}
	if m := sess.FaceMatch; m != nil {
		if len(m.ProbeDigest) > 0 {
			out = append(out, DeletedEmbeddings)
		}
		m.ProbeDigest = nil
	}
	return out
}

// PhotoDeleted: the photo was deleted by a redaction.
const PhotoDeleted PhotoState = "deleted"

// CheckScope reports an unknown redaction scope.
func CheckScope(scope string) error {
	if scope != ScopeAll && scope != ScopeBiometrics {
		return fmt.Errorf("scope must be %q or %q, got %q", ScopeAll, ScopeBiometrics, scope)
	}
	return nil
}
