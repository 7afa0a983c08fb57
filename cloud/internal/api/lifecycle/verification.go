package lifecycle

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"livegate.dev/cloud/internal/core"
)

// Verification sessions (seed 003) are sessions created for a flow —
// "liveness", or "liveness+facematch" — and read back as one decision. They are the same
// sessions as every other route's (one store, one lifecycle, one webhook
// outbox, one hosted page); this file is their view.

// Flows a verification session may ask for: this server runs FlowLiveness
// and, with a face engine (SetFaces), FlowLivenessFacematch.
const (
	FlowLiveness                  = "liveness"
	FlowLivenessFacematch         = "liveness+facematch"
	FlowLivenessFacematchDocument = "liveness+facematch+document"
)

// Checks, decisions and decision reasons of verification sessions.
const (
	CheckLiveness          = "liveness"
	CheckFacematch         = "facematch"
	DecisionApproved       = "approved"
	DecisionDeclined       = "declined"
	DecisionReview         = "review"
	ReasonLivenessPass     = "liveness_pass"
	ReasonLivenessFail     = "liveness_fail"
	ReasonLivenessRetry    = "liveness_retry"
	ReasonLivenessGreyZone = "liveness_grey_zone"
	// The facematch check's reasons: the best liveness frame against the
	// reference face scored at or above the accept threshold (pass), in
	// the grey zone below it (review), below the grey zone (fail), or no
	// face of the capture could be compared (review).
	ReasonFacematchPass        = "facematch_pass"
	ReasonFacematchFail        = "facematch_fail"
	ReasonFacematchReview      = "facematch_review"
	ReasonFacematchUnavailable = "facematch_unavailable"
)

const (
	verificationCheckStatusPass   = "pass"
	verificationCheckStatusFail   = "fail"
	verificationCheckStatusRetry  = "retry"
	verificationCheckStatusReview = "review"
)

// Verification is a verification session as POST /v1/sessions and
// GET /v1/sessions/{id} return it.
type Verification struct {
	SessionID       string              `json:"sessionId" doc:"Session id (ses_…)."`
	Status          core.Status         `json:"status" doc:"pending, in_progress (capture began), then one of the terminal completed, expired or cancelled." enum:"pending,in_progress,completed,expired,cancelled"`
	Flow            string              `json:"flow" doc:"The checks the session runs." enum:"liveness,liveness+facematch"`
	ClientToken     *string             `json:"clientToken" doc:"Authorizes the hosted page (already inside hostedUrl) until expiresAt, without exposing your API key; null once the session is terminal."`
	HostedURL       string              `json:"hostedUrl" doc:"Send the user here: the hosted capture page, carrying the client token while the session can be captured." format:"uri"`
	ExpiresAt       time.Time           `json:"expiresAt" doc:"Until then the user can complete capture."`
	Decision        *string             `json:"decision" doc:"null until the session completes; then approved, declined or review. review is a case for a human, never an automatic pass." enum:"approved,declined,review"`
	DecisionReasons []string            `json:"decisionReasons" doc:"Why, one per check: liveness_pass, liveness_fail, liveness_retry (the engine asked the user to try again: inconclusive), liveness_grey_zone (a pass below the tenant's review threshold); for liveness+facematch also facematch_pass, facematch_fail, facematch_review (the similarity is in the grey zone below the accept threshold) or facematch_unavailable (the capture kept no face to compare). The decision is the worst of the checks': declined over review over approved."`
	Checks          []VerificationCheck `json:"checks" doc:"One entry per check of the flow once it has an outcome; empty before."`
}

// VerificationCheck is one check of a verification session. A liveness
// check carries score; a facematch check carries similarity and threshold
// instead (MarshalJSON writes only a check's own fields).
type VerificationCheck struct {
	Type       string   `json:"type" enum:"liveness,facematch"`
	Status     string   `json:"status" doc:"liveness: pass, fail, or retry (inconclusive). facematch: pass (similarity ≥ threshold), review (in the grey zone below it, or no face of the capture could be compared) or fail." enum:"pass,fail,retry,review"`
	Score      float64  `json:"score" optional:"true" doc:"liveness only: the liveness confidence in [0, 1]."`
	Similarity *float64 `json:"similarity,omitempty" doc:"facematch only: cosine similarity of the capture's best frame and the reference face (MobileFaceNet embeddings), in [-1, 1]; absent when no face could be compared."`
	Threshold  *float64 `json:"threshold,omitempty" doc:"facematch only: the accept threshold in force when the session was created (0.60 unless the tenant raised it)."`
}

// MarshalJSON writes the fields of the check's type.
func (c VerificationCheck) MarshalJSON() ([]byte, error) {
	if c.Type == CheckFacematch {
		return json.Marshal(struct {
			Type       string   `json:"type"`
			Status     string   `json:"status"`
			Similarity *float64 `json:"similarity,omitempty"`
			Threshold  *float64 `json:"threshold,omitempty"`
		}{c.Type, c.Status, c.Similarity, c.Threshold})
	}
	return json.Marshal(struct {
		Type   string  `json:"type"`
		Status string  `json:"status"`
		Score  float64 `json:"score"`
	}{c.Type, c.Status, c.Score})
}

// VerificationEvent is the data of a verification session's webhook: the
// session as GET /v1/sessions/{id} returns it — with clientToken null, a
// webhook is no place for a bearer token — plus reference and metadata.
type VerificationEvent struct {
	Verification
	Reference string                 `json:"reference,omitempty" doc:"Your identifier given at creation."`
	Metadata  json.RawMessage        `json:"metadata,omitempty" doc:"The metadata given at creation."`
	Redaction *VerificationRedaction `json:"redaction,omitempty" doc:"Set once the session's data was deleted (session.redacted; docs/data-deletion.md)."`
}

// VerificationRedaction is Redaction in the verification sessions'
// camelCase.
type VerificationRedaction struct {
	Scope      string    `json:"scope" enum:"all,biometrics"`
	RedactedAt time.Time `json:"redactedAt"`
	Reason     string    `json:"reason"`
	ReceiptID  string    `json:"receiptId"`
	DeletedBy  string    `json:"deletedBy"`
}

// Decide renders the decision of a session: nil, no reasons and no checks
// until it has completed; then the liveness verdict mapped to a decision
// and, for a flow with facematch, the comparison — the worst of the two
// (declined, then review, then approved) decides.
func Decide(sess *core.Session) (decision *string, reasons []string, checks []VerificationCheck) {
	reasons, checks = []string{}, []VerificationCheck{}
	if sess.Status != core.StatusCompleted || sess.Verdict == nil {
		return nil, reasons, checks
	}
	conf := 0.0
	if sess.Confidence != nil {
		conf = *sess.Confidence
	}
	var d, why, status string
	switch *sess.Verdict {
	case core.VerdictPass:
		status = verificationCheckStatusPass
		if sess.ReviewBelow > 0 && conf < sess.ReviewBelow {
			d, why = DecisionReview, ReasonLivenessGreyZone
		} else {
			d, why = DecisionApproved, ReasonLivenessPass
		}
	case core.VerdictFail:
		d, why, status = DecisionDeclined, ReasonLivenessFail, verificationCheckStatusFail
	default: // retry, or anything the engine may add: never an automatic pass
		d, why, status = DecisionReview, ReasonLivenessRetry, verificationCheckStatusRetry
	}
	reasons, checks = []string{why}, []VerificationCheck{{Type: CheckLiveness, Status: status, Score: conf}}
	if HasFacematch(sess) {
		c, fwhy, fd := facematchCheck(sess)
		reasons, checks = append(reasons, fwhy), append(checks, c)
		if severity[fd] > severity[d] {
			d = fd
		}
	}
	return &d, reasons, checks
}

// severity orders decisions: the worst check decides.
var severity = map[string]int{DecisionApproved: 0, DecisionReview: 1, DecisionDeclined: 2}

// HasFacematch says whether sess's flow runs the facematch check.
func HasFacematch(sess *core.Session) bool { return slices.Contains(sess.Flow, CheckFacematch) }

// facematchCheck renders a completed session's facematch check, its reason
// and the decision it asks for. Review is never an automatic pass: a
// comparison that could not be made asks for review too.
func facematchCheck(sess *core.Session) (VerificationCheck, string, string) {
	c := VerificationCheck{Type: CheckFacematch}
	if sess.FaceRef != nil {
		th := sess.FaceRef.Accept
		c.Threshold = &th
	}
	fm := sess.FaceMatch
	if fm == nil {
		c.Status = verificationCheckStatusReview
		return c, ReasonFacematchUnavailable, DecisionReview
	}
	sim := fm.Similarity
	c.Similarity = &sim
	switch fm.Status {
	case verificationCheckStatusPass:
		c.Status = verificationCheckStatusPass
		return c, ReasonFacematchPass, DecisionApproved
	case verificationCheckStatusFail:
		c.Status = verificationCheckStatusFail
		return c, ReasonFacematchFail, DecisionDeclined
	}
	c.Status = verificationCheckStatusReview
	return c, ReasonFacematchReview, DecisionReview
}

// FlowOf is the flow a session runs, as the verification routes name it:
// sessions of the other routes run liveness.
func FlowOf(sess *core.Session) string {
	if len(sess.Flow) == 0 {
		return FlowLiveness
	}
	return strings.Join(sess.Flow, "+")
}

// HostedURL is the hosted page of sess under publicURL, carrying
// clientToken when it is not empty.
func HostedURL(publicURL, sessionID, clientToken string) string {
	u := strings.TrimRight(publicURL, "/") + "/s/" + sessionID
	if clientToken != "" {
		u += "?t=" + url.QueryEscape(clientToken)
	}
	return u
}

// VerificationOf renders sess; clientToken is shown (and put in hostedUrl)
// only while the session is not terminal.
func VerificationOf(sess *core.Session, publicURL, clientToken string) Verification {
	if sess.Status.Terminal() {
		clientToken = ""
	}
	v := Verification{
		SessionID: sess.ID, Status: sess.Status, Flow: FlowOf(sess),
		HostedURL: HostedURL(publicURL, sess.ID, clientToken), ExpiresAt: sess.ExpiresAt,
	}
	if clientToken != "" {
		v.ClientToken = &clientToken
	}
	v.Decision, v.DecisionReasons, v.Checks = Decide(sess)
	return v
}

// VerificationEventOf renders sess as its webhooks carry it.
func VerificationEventOf(sess *core.Session, publicURL string) VerificationEvent {
	ev := VerificationEvent{Verification: VerificationOf(sess, publicURL, ""), Reference: sess.Reference, Metadata: sess.Metadata}
	if r := sess.Redaction; r != nil {
		ev.Redaction = &VerificationRedaction{Scope: r.Scope, RedactedAt: r.At, Reason: r.Reason, ReceiptID: r.ReceiptID, DeletedBy: r.By}
	}
	return ev
}

// NeedsConsent says whether the capture WebSocket refuses sess until the
// user's consent is recorded: verification sessions (those with a flow),
// whose report carries the consent record. The hosted page asks every
// user before the camera starts; sessions of the other routes keep the
// WebSocket protocol of seeds 000–002, which integrators' own capture
// clients speak after collecting consent in their app (docs/capture.md,
// "Consent").
func NeedsConsent(sess *core.Session) bool { return len(sess.Flow) > 0 }
