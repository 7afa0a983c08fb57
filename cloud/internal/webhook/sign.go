package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// verifier's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Limits on what Verify parses, so that a hostile header costs little.
const (
	maxHeaderLen  = 4096
	maxSignatures = 8
)

// Errors returned by Verify.
var (
	// ErrInvalidHeader: the Livegate-Signature header is missing or malformed.
	ErrInvalidHeader = errors.New("webhook: malformed Livegate-Signature header")
	// ErrNoValidSignature: no v1 signature matches the body and secret.
	ErrNoValidSignature = errors.New("webhook: no valid v1 signature for this body and secret")
	// ErrTimestampOutOfTolerance: the signature is valid but its timestamp
	// is too far from now (a replayed or delayed request).
	ErrTimestampOutOfTolerance = errors.New("webhook: signature timestamp outside tolerance")
)

// Sign returns the Livegate-Signature header value for body sent at t:
// "t=<unix>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>", with one v1 per
// secret in the order given (newest first while a secret rotates). With no
// secrets it returns "".
func Sign(secrets [][]byte, t time.Time, body []byte) string {
	if len(secrets) == 0 {
		return ""
	}
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Livegate-Signature header against the raw request body and
// one secret: some v1 value must equal HMAC-SHA256(secret, "<t>.<body>")
// (compared in constant time) and t must be within tolerance of now
// (tolerance <= 0 means DefaultTolerance). Unknown schemes (v0, v2, …) and v1
// values that are not 64 hex digits are ignored. It returns nil,
// ErrInvalidHeader, ErrNoValidSignature or ErrTimestampOutOfTolerance
// (wrapped).
func Verify(header string, body []byte, secret []byte, tolerance time.Duration, now time.Time) error {
	ts, sigs, err := parseHeader(header)
	if err != nil {
		return err
	}
	want := mac(secret, strconv.FormatInt(ts, 10), body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrNoValidSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	age := now.Sub(time.Unix(ts, 0))
	if age > tolerance {
		return fmt.Errorf("%w: signed %s ago (tolerance %s)", ErrTimestampOutOfTolerance, age.Round(time.Second), tolerance)
	}
	if age < -tolerance {
		return fmt.Errorf("%w: signed %s in the future (tolerance %s)", ErrTimestampOutOfTolerance, (-age).Round(time.Second), tolerance)
	}
	return nil
}

// parseHeader splits "t=…,v1=…[,v1=…]" into the timestamp and the decoded v1
// signatures.
func parseHeader(header string) (int64, [][]byte, error) {
	if header == "" {
		return 0, nil, fmt.Errorf("%w: empty", ErrInvalidHeader)
	}
	if len(header) > maxHeaderLen {
		return 0, nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidHeader, maxHeaderLen)
	}
	var (
		ts    int64
		haveT bool
		sigs  [][]byte
		nv1   int
	)
	for _, part := range strings.Split(header, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			return 0, nil, fmt.Errorf("%w: element without '='", ErrInvalidHeader)
		}
		switch k {
		case "t":
			if haveT {
				return 0, nil, fmt.Errorf("%w: more than one t", ErrInvalidHeader)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || v[0] == '+' {
				return 0, nil, fmt.Errorf("%w: t is not a Unix time", ErrInvalidHeader)
			}
			ts, haveT = n, true
		case "v1":
			if nv1++; nv1 > maxSignatures {
				return 0, nil, fmt.Errorf("%w: more than %d v1 signatures", ErrInvalidHeader, maxSignatures)
			}
			// A malformed v1 cannot match; skip it like an unknown scheme.
			if s, err := hex.DecodeString(v); err == nil && len(s) == sha256.Size {
				sigs = append(sigs, s)
			}
		}
	}
	if !haveT {
		return 0, nil, fmt.Errorf("%w: no t", ErrInvalidHeader)
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: no well-formed v1 signature (%d hex digits)", ErrInvalidHeader, 2*sha256.Size)
	}
	return ts, sigs, nil
}
