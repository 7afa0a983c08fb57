package captcha

import (
	"context"
	"errors"
)

// Header is the request header that carries a solution (PoW: the base64
// JSON payload; hCaptcha and Turnstile: the widget's response token).
const Header = "X-Captcha"

// The errors a Verifier returns; the API maps each to its code.
var (
	// ErrRequired: no solution was sent.
	ErrRequired = errors.New("captcha: solution required")
	// ErrInvalid: the solution is malformed, its signature or its hash is
	// wrong, or the remote service refused the token.
	ErrInvalid = errors.New("captcha: solution invalid")
	// ErrExpired: the challenge is past its expiry.
	ErrExpired = errors.New("captcha: challenge expired")
	// ErrReplayed: the solution was already used.
	ErrReplayed = errors.New("captcha: solution already used")
	// ErrUnavailable: the remote verification service could not be asked.
	ErrUnavailable = errors.New("captcha: verification service unavailable")
)

// Verifier checks a solution sent with a request. remoteIP is the client's
// address (the remote services take it as a hint). The error wraps one of
// the Err values above.
type Verifier interface {
	Verify(ctx context.Context, solution, remoteIP string) error
	// Kind names the verifier for the page: "pow", "hcaptcha" or "turnstile".
	Kind() string
}
