package lifecycle

import (
	"encoding/json"
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
}

// ResultOf renders sess.
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
	}
	if r.Checks == nil {
		r.Checks = []core.Check{}
	}
	if r.Reasons == nil {
		r.Reasons = []string{}
	}
	return r
}
