package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Code is a registered error code.
type Code struct {
	ID      string // dotted, stable: "session.not_found"
	Status  int    // HTTP status it is sent with
	Meaning string // one sentence for the reference page
}

func (c Code) String() string { return c.ID }

var registry = map[string]Code{}

func register(id string, status int, meaning string) Code {
	if _, dup := registry[id]; dup {
		panic("apierr: duplicate code " + id)
	}
	c := Code{ID: id, Status: status, Meaning: meaning}
	registry[id] = c
	return c
}

// Register adds a code of a route package outside this one (face routes,
// OTA releases) to the registry, so the reference page, the OpenAPI document
// and docs/error-codes.md list it. Call it from package-level variables. A
// code already registered under the same id is returned as registered (the
// first meaning wins), so shared codes such as request.missing_field stay one
// entry.
func Register(id string, status int, meaning string) Code {
	if c, ok := registry[id]; ok {
		if c.Status != status {
			panic("apierr: code " + id + " registered again with another status")
		}
		return c
	}
	return register(id, status, meaning)
}

// The codes of this package's routes; route packages elsewhere use Register.
var (
	InvalidJSON          = register("request.invalid_json", http.StatusBadRequest, "The body is not valid JSON, or holds more than one JSON value.")
	UnknownField         = register("request.unknown_field", http.StatusBadRequest, "The body has a field this route does not accept; the message names it.")
	InvalidField         = register("request.invalid_field", http.StatusBadRequest, "A field has the wrong type or a value out of range; the message names it.")
	MissingField         = register("request.missing_field", http.StatusBadRequest, "A required field is missing; the message names it.")
	InvalidQuery         = register("request.invalid_query", http.StatusBadRequest, "A query parameter has an invalid value; the message names it.")
	BodyTooLarge         = register("request.body_too_large", http.StatusRequestEntityTooLarge, "The body is larger than the documented limit (64 KiB by default).")
	UnsupportedMediaType = register("request.unsupported_media_type", http.StatusUnsupportedMediaType, "A body was sent with a Content-Type other than application/json.")
	RouteNotFound        = register("request.route_not_found", http.StatusNotFound, "No route matches this path.")
	MethodNotAllowed     = register("request.method_not_allowed", http.StatusMethodNotAllowed, "The path exists but not with this HTTP method.")
	BadRequest           = register("request.malformed", http.StatusBadRequest, "The HTTP request could not be parsed.")
	RequestTimeout       = register("request.timeout", http.StatusRequestTimeout, "The client did not send the request in time.")
	HeadersTooLarge      = register("request.headers_too_large", http.StatusRequestHeaderFieldsTooLarge, "The request headers are larger than the server accepts.")

	URLInvalid          = register("url.invalid", http.StatusBadRequest, "redirect_url or webhook_url (the message names which) is not a well-formed absolute URL, or writes its host in an ambiguous form (percent-encoding, non-canonical numbers, single label).")
	URLSchemeNotAllowed = register("url.scheme_not_allowed", http.StatusBadRequest, "redirect_url or webhook_url is not https (with --dev, http:// to a literal 127.0.0.1, ::1 or localhost is also accepted).")
	URLHostNotAllowed   = register("url.host_not_allowed", http.StatusBadRequest, "The URL's host is, or resolves to, a loopback, private, link-local (cloud metadata), CGNAT, multicast, unspecified, IPv6 ULA or other non-public address, in any spelling (decimal, hex, octal, IPv4-mapped IPv6, NAT64, 6to4…).")
	URLHostUnresolvable = register("url.host_unresolvable", http.StatusBadRequest, "The URL's host name does not resolve to any address.")

	AuthMissing   = register("auth.missing", http.StatusUnauthorized, "No credentials: send Authorization: Bearer <API key> (or ?token= where the route allows a session token).")
	AuthInvalid   = register("auth.invalid", http.StatusUnauthorized, "The API key is unknown, revoked or past its rotation grace period.")
	TokenExpired  = register("auth.token_expired", http.StatusUnauthorized, "The session token is correct but has expired; read the session with the tenant's API key instead.")
	AdminDisabled = register("auth.admin_disabled", http.StatusNotFound, "The admin API is disabled because LIVEGATE_ADMIN_TOKEN is not set.")
	AdminInvalid  = register("auth.admin_invalid", http.StatusUnauthorized, "The admin bearer token is missing or wrong.")
	LiveKey       = register("auth.test_key_required", http.StatusForbidden, "A test-mode feature needs a test-mode key (iksk_test_…): simulating a verdict (of a session of the key's tenant) or fixing an active session's challenges at creation; live keys and the legacy key get this error.")

	SessionNotFound   = register("session.not_found", http.StatusNotFound, "No such session, or it belongs to another tenant, or the token is not this session's.")
	SessionExpired    = register("session.expired", http.StatusGone, "The session passed its TTL; its URL no longer serves capture.")
	SessionTerminal   = register("session.already_finished", http.StatusConflict, "The session is already completed, expired or cancelled.")
	PhotoUnavailable  = register("session.photo_unavailable", http.StatusNotFound, "The session did not pass, so it has no ICAO photo (or the photo could not be made, or was deleted by a redaction).")
	IdempotencyReused = register("session.idempotency_conflict", http.StatusConflict, "The Idempotency-Key was already used with a different request body.")

	TenantNotFound   = register("tenant.not_found", http.StatusNotFound, "No tenant with this id.")
	KeyNotFound      = register("tenant.key_not_found", http.StatusNotFound, "No API key with this id for this tenant.")
	SettingInvalid   = register("tenant.invalid_setting", http.StatusBadRequest, "A tenant setting is out of its range; the message names the setting, the allowed range and the value sent (docs/api.md, \"Failed captures\").")
	DeliveryNotFound = register("webhook.delivery_not_found", http.StatusNotFound, "No webhook delivery with this id.")
	DeliveryPending  = register("webhook.delivery_pending", http.StatusConflict, "The delivery is still pending; only dead or delivered deliveries can be replayed.")

	RateLimited = register("rate_limit.exceeded", http.StatusTooManyRequests, "Too many requests in the current window; wait for Retry-After seconds.")

	StoreUnavailable = register("server.store_unavailable", http.StatusServiceUnavailable, "The store cannot serve right now; retry with backoff.")
	Internal         = register("server.internal", http.StatusInternalServerError, "An unexpected error; the request_id identifies it in the server's logs.")
)

// Codes returns every registered code, sorted by id.
func Codes() []Code {
	out := make([]Code, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup returns the registered code with id.
func Lookup(id string) (Code, bool) {
	c, ok := registry[id]
	return c, ok
}

// Error is an API error: a code, a message for the caller, and optionally
// the underlying cause (logged, never sent).
type Error struct {
	Code    Code
	Message string
	Cause   error
	// RetryAfter, when positive, is sent as the Retry-After header (seconds).
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code.ID + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code.ID + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Status is the HTTP status of the error.
func (e *Error) Status() int { return e.Code.Status }

// New returns an *Error with a formatted message.
func New(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error whose cause is err (kept for logs only).
func Wrap(c Code, err error, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...), Cause: err}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Markdown renders the registry as the docs/error-codes.md table.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Error codes\n\n")
	b.WriteString("<!-- Generated from cloud/internal/api/apierr (the one registry of codes); `go test ./cmd/livegate-cloud -run ErrorCodes -update` rewrites it. The running server serves the same table at /docs/reference/error-codes. -->\n\n")
	b.WriteString("Every error is `{\"detail\": {\"code\", \"message\", \"request_id\"}}` with the HTTP status below; `request_id` is also in the `X-Request-Id` header. Match on `code`, show `message` to developers, log `request_id`.\n\n")
	b.WriteString("| code | HTTP status | meaning |\n| --- | --- | --- |\n")
	for _, c := range Codes() {
		fmt.Fprintf(&b, "| `%s` | %d %s | %s |\n", c.ID, c.Status, http.StatusText(c.Status), c.Meaning)
	}
	return b.String()
}
