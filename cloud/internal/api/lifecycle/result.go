package lifecycle

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"livegate.dev/cloud/internal/core"
)

// Result is a session's result as GET /api/v1/session/{id}/result returns
// it, and the data of every webhook event.
type Result struct {
	SessionID      string          `json:"session_id" doc:"Session id (ses_…)."`
	Status         core.Status     `json:"status" doc:"pending, in_progress, completed, expired or cancelled." enum:"pending,in_progress,completed,expired,cancelled"`
	Verdict        *core.Verdict   `json:"verdict" doc:"pass (confidence ≥ 0.70), retry (0.45–0.70), fail (below); null until completed." enum:"pass,fail,retry"`
	Confidence     *float64        `json:"confidence" doc:"Liveness confidence in [0, 1]; null until completed."`
	Mode           core.Mode       `json:"mode" doc:"active or passive." enum:"active,passive"`
	Checks         []core.Check    `json:"checks" doc:"One entry per verification layer."`
	Reasons        []string        `json:"reasons" doc:"Why the verdict is what it is (machine-readable words)."`
	CreatedAt      time.Time       `json:"created_at"`
	CompletedAt    *time.Time      `json:"completed_at" doc:"null until completed."`
	ExpiresAt      time.Time       `json:"expires_at" doc:"When the capture URL stops working."`
	PhotoAvailable bool            `json:"photo_available" doc:"true when GET …/photo returns the ICAO JPEG."`
	UserID         string          `json:"user_id,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty" doc:"The metadata given at creation."`
	Test           bool            `json:"test,omitempty" doc:"true for sessions of a test-mode key (simulated verdicts possible)."`
	Simulated      bool            `json:"simulated,omitempty" doc:"true when the verdict came from the test-mode simulate route."`
	Challenges     []string        `json:"challenges,omitempty" doc:"Test-mode sessions created with a fixed challenge list only: the challenges asked, in order (otherwise they are drawn at random when the capture starts and not listed)." enum:"blink,turn_left,turn_right,smile,nod"`
	AuditFrames    []AuditFrame    `json:"audit_frames" doc:"0–4 frames of the capture kept for your audit trail, each with its face boxes and a URL to fetch the JPEG with the same credentials as this result; empty when none were kept (simulated or kiosk sessions, audit frames disabled) or once their retention (30 days by default) has ended."`
	Redaction      *Redaction      `json:"redaction,omitempty" doc:"Set once the session's data was deleted (docs/data-deletion.md): the result is then a tombstone without personal data."`
}

// AuditFrame is one audit frame of a result.
type AuditFrame struct {
	Index      int          `json:"index" doc:"Position in the list (0–3); the n of GET /api/v1/session/{id}/audit/{n}."`
	Why        string       `json:"why" doc:"Why it was kept: reference (first good frame), best (the frame the photo came from), challenge:<kind> (a challenge completed), last, or the analyzer's reason."`
	CapturedAt time.Time    `json:"captured_at" doc:"When the server received the frame."`
	FaceBox    *[4]float64  `json:"face_box" doc:"The largest face found, [x, y, width, height] in pixels of the frame; null when no face was found."`
	Boxes      [][4]float64 `json:"boxes" doc:"Every face found, [x, y, width, height] in pixels, largest first."`
	ExpiresAt  time.Time    `json:"expires_at" doc:"When the retention ends and the frame is deleted."`
	URL        string       `json:"url" doc:"Path of the JPEG (GET, relative to this API's base URL), authenticated like the result: ?token=<result token>, or the owning API key as a bearer."`
}

// AuditFramePath is where the JPEG of a session's audit frame n is served.
func AuditFramePath(sessionID string, n int) string {
	return "/api/v1/session/" + sessionID + "/audit/" + strconv.Itoa(n)
}

// AuditFramesAt renders the audit frames of sess whose retention has not
// ended at now (every one when now is zero), largest face box first.
func AuditFramesAt(sess *core.Session, now time.Time) []AuditFrame {
	out := []AuditFrame{}
	for _, f := range sess.AuditFrames {
		if !now.IsZero() && !now.Before(f.ExpiresAt) {
			continue
		}
		boxes := append([][4]float64{}, f.Boxes...)
		sort.SliceStable(boxes, func(i, j int) bool { return boxes[i][2]*boxes[i][3] > boxes[j][2]*boxes[j][3] })
		v := AuditFrame{Index: f.Index, Why: f.Why, CapturedAt: f.CapturedAt, Boxes: boxes, ExpiresAt: f.ExpiresAt,
			URL: AuditFramePath(sess.ID, f.Index)}
		if len(boxes) > 0 {
			b := boxes[0]
			v.FaceBox = &b
		}
		out = append(out, v)
	}
	return out
}

// ResultAt renders sess at now: like ResultOf, without the audit frames
// whose retention has ended.
func ResultAt(sess *core.Session, now time.Time) Result {
	r := ResultOf(sess)
	r.AuditFrames = AuditFramesAt(sess, now)
	return r
}

// ResultOf renders sess as of its last change (webhook events use it):
// every audit frame it lists is included.
func ResultOf(sess *core.Session) Result {
	r := Result{
		SessionID:      sess.ID,
		Status:         sess.Status,
		Verdict:        sess.Verdict,
		Confidence:     sess.Confidence,
		Mode:           sess.Mode,
		Checks:         sess.Checks,
		Reasons:        sess.Reasons,
		CreatedAt:      sess.CreatedAt,
		CompletedAt:    sess.CompletedAt,
		ExpiresAt:      sess.ExpiresAt,
		PhotoAvailable: sess.Photo == core.PhotoReady,
		UserID:         sess.UserID,
		Metadata:       sess.Metadata,
		Test:           sess.Test,
		Simulated:      sess.Simulated,
		Challenges:     sess.Challenges,
	}
	if red := sess.Redaction; red != nil {
		r.Redaction = &Redaction{Scope: red.Scope, RedactedAt: red.At, Reason: red.Reason, ReceiptID: red.ReceiptID, DeletedBy: red.By}
	}
	if r.Checks == nil {
		r.Checks = []core.Check{}
	}
	if r.Reasons == nil {
		r.Reasons = []string{}
	}
	r.AuditFrames = AuditFramesAt(sess, time.Time{})
	return r
}

// Redaction says when and how a session's data was deleted.
type Redaction struct {
	Scope      string    `json:"scope" enum:"all,biometrics"`
	RedactedAt time.Time `json:"redacted_at"`
	Reason     string    `json:"reason"`
	ReceiptID  string    `json:"receipt_id" doc:"The signed deletion receipt (GET /v1/deletion-receipts/{id})."`
	DeletedBy  string    `json:"deleted_by" doc:"An API key id (key_…), an ephemeral device (eph_…), legacy_key or retention."`
}
