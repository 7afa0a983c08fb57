package capture

// Close codes sent by the server (docs/websocket.md).
const (
	CloseNormal        = 1000 // the final verdict was sent
	CloseGoingAway     = 1001 // the server is shutting down
	CloseFrameTooLarge = 1009 // a frame over MaxFrameBytes (an error message precedes it)
	CloseInternal      = 1011 // an unexpected server error
	CloseBadFrames     = 4400 // too many undecodable frames or malformed messages in a row
	CloseIdle          = 4408 // no message for IdleTimeout
	CloseBusy          = 4409 // another connection is live for this session
	CloseSessionOver   = 4410 // the session expired or finished while connected
	CloseThrottled     = 4429 // too many failed attempts from this client: cool-down
)

// Message types, server → client.
const (
	TypeFeedback  = "feedback"
	TypeChallenge = "challenge"
	TypeLight     = "light"
	TypeProgress  = "progress"
	TypeVerdict   = "verdict"
	TypeError     = "error"
)

// Error codes carried by {"type": "error"} messages.
const (
	ErrFrameTooLarge = "frame_too_large"
	ErrBadFrame      = "bad_frame"
	ErrBadMessage    = "bad_message"
	ErrSessionBusy   = "session_busy"
	ErrThrottled     = "too_many_failures"
	ErrSessionOver   = "session_over"
	ErrIdle          = "idle_timeout"
	ErrInternal      = "internal"
	ErrNotExpected   = "not_expected"
)

// Message is one server → client message. Fields not used by a type are
// omitted.
type Message struct {
	Type string `json:"type"`

	// feedback
	Status string   `json:"status,omitempty"`
	Issues []string `json:"issues,omitempty"`

	// challenge
	Mode        string `json:"mode,omitempty"`
	Challenge   string `json:"challenge,omitempty"`
	Index       *int   `json:"index,omitempty"`
	Count       int    `json:"count,omitempty"`
	RemainingMS int64  `json:"remaining_ms,omitempty"`
	HoldMS      int64  `json:"hold_ms,omitempty"`

	// light
	Color     string   `json:"color,omitempty"` // "#rrggbb" already scaled by intensity; "" with Off
	Off       bool     `json:"off,omitempty"`
	StepMS    int64    `json:"step_ms,omitempty"`
	Intensity *float64 `json:"intensity,omitempty"`

	// progress
	Progress          *float64 `json:"progress,omitempty"`
	ChallengeProgress *float64 `json:"challenge_progress,omitempty"`
	Dropped           *int     `json:"dropped,omitempty"` // frames dropped so far in this attempt (busy engine or rate cap)
	Analysed          *int     `json:"analysed,omitempty"`

	// verdict
	Result       string `json:"result,omitempty"` // pass, fail or retry — never a score
	Final        *bool  `json:"final,omitempty"`  // the session is completed with this result
	AttemptsLeft *int   `json:"attempts_left,omitempty"`
	RedirectURL  string `json:"redirect_url,omitempty"`
	// Advice lists what the user can change after a verdict that did not
	// pass: the environment reasons (too_dark, backlit, glare, blurred,
	// light_weak; liveness.Advice), never the checks that doubted the face.
	Advice []string `json:"advice,omitempty"`

	// error
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"` // seconds (too_many_failures)
}

// ClientMessage is a client → server text message: {"type": "start"} (begin
// an attempt; optional for the first) or {"type": "retry"} (begin the next
// attempt after a verdict that allows it).
type ClientMessage struct {
	Type string `json:"type"`
}

func intp(v int) *int           { return &v }
func floatp(v float64) *float64 { return &v }
func boolp(v bool) *bool        { return &v }
