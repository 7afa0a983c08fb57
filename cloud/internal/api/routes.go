package api

import (
	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/captcha"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/faceapi"
	"livegate.dev/cloud/internal/web"
)

// route is a documented operation and its handler.
type route struct {
	openapi.Operation
	handler fiber.Handler
}

// Route is a documented route another package serves through this server
// (the capture page, its WebSocket, face compare…): it gets the same
// middleware (request id, envelope errors, rate limits, logs) and appears in
// the OpenAPI document and /docs/api.
type Route struct {
	openapi.Operation
	Handler fiber.Handler
	// BodyLimit is the largest request body this route accepts, in bytes
	// (413 above it). Optional. Default: the server's BodyLimit (JSON routes).
	// Upload routes (face images, OTA artifacts) set their own.
	BodyLimit int
	// ReadsSession makes the server authorize the request exactly as it
	// does GET /api/v1/session/{id}/result before Handler runs: the
	// session's result token (?token= or a bearer lgst_…) or the owning
	// tenant's API key with the sessions:read scope (or the legacy key for
	// its sessions); anything else gets the same 404 as a missing session
	// (a key without the scope, 403 auth.insufficient_scope). Handler reads
	// the session with SessionOf. The path must have an {id} parameter.
	ReadsSession bool
	// OwnsSession makes the server authorize the request exactly as it
	// does POST /api/v1/session/{id}/cancel before Handler runs, the key
	// needing the sessions:read scope: the owning tenant's API key (or the
	// legacy key for its sessions) and nothing
	// else — no session token, no client token; another tenant's key gets
	// the same 404 as a missing session. For data the end user's page has
	// no need of (a session's recording). Handler reads the session with
	// SessionOf. The path must have an {id} parameter.
	OwnsSession bool
}

const localSession = "api.session"

// SessionOf returns the session a ReadsSession or OwnsSession route was
// authorized for.
func SessionOf(c *fiber.Ctx) *core.Session {
	sess, _ := c.Locals(localSession).(*core.Session)
	return sess
}

// ownsSession wraps h with the cancel route's authorization.
func (s *Server) ownsSession(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess, _, err := s.ownedSession(c, core.ScopeSessionsRead)
		if err != nil {
			return err
		}
		c.Locals(localSession, sess)
		return h(c)
	}
}

// readsSession wraps h with the result route's authorization.
func (s *Server) readsSession(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess, err := s.readableSession(c)
		if err != nil {
			return err
		}
		c.Locals(localSession, sess)
		return h(c)
	}
}

// bodyLimits are the built-in routes that accept more than the server's
// BodyLimit: a tenant's capture page texts (up to 16 languages) and its
// logo upload.
func bodyLimits() map[string]int {
	return map[string]int{
		"PUT /admin/v1/tenants/{id}/capture-page":      256 << 10,
		"PUT /admin/v1/tenants/{id}/capture-page/logo": web.MaxLogoUpload,
		"POST /v1/sessions":                            referenceBodyLimit,
		"POST /api/v1/session/{id}/simulate":           referenceBodyLimit,
	}
}

// merge adds extra routes to the built-in ones; an extra route with the
// method and path of a built-in one replaces it (e.g. the hosted page).
// Every route's RateLimited is what the rate-limit middleware does with
// its requests (rateScope), whatever the route table said.
func merge(builtin []route, extra []Route) []route {
	out := append([]route(nil), builtin...)
	for _, x := range extra {
		r := route{Operation: x.Operation, handler: x.Handler}
		replaced := false
		for i := range out {
			if out[i].Method == r.Method && out[i].Path == r.Path {
				out[i], replaced = r, true
			}
		}
		if !replaced {
			out = append(out, r)
		}
	}
	for i := range out {
		out[i].RateLimited = rateScope(out[i].Method, out[i].Path) != openapi.NotLimited
	}
	return out
}

var (
	pathID        = openapi.Param{Name: "id", In: "path", Description: "Session id (ses_…)."}
	queryToken    = openapi.Param{Name: "token", In: "query", Description: "The session's result token (alternatively send the owning tenant's API key as a bearer)."}
	idemKey       = openapi.Param{Name: "Idempotency-Key", In: "header", Description: "Optional, ≤ 255 characters. A retry with the same key (per tenant) and the same body returns the same session and tokens (201, Idempotent-Replayed: true); a different body gets 409."}
	captchaHeader = openapi.Param{Name: "X-Captcha", In: "header", Description: "Required when the server runs with --captcha: a proof-of-work solution (base64 JSON, see GET /api/v1/captcha/challenge) or an hCaptcha/Turnstile response token. Each is usable once."}
	tenantIDPath  = openapi.Param{Name: "id", In: "path", Description: "Tenant id (ten_…)."}
)

const (
	tagSessions     = "Sessions"
	tagLiveness     = "Liveness (seed 002 shape)"
	tagVerification = "Verification sessions"
	tagEphemeral    = "Ephemeral devices (seed 004)"
	tagTest         = "Test mode"
	tagAdmin        = "Admin"
	tagDeletion     = "Data deletion"
	tagMeta         = "Service"
)

// redactDoc describes the redact routes of every surface.
const redactDoc = "Deletes the session's data now (synchronous: done when the call returns; docs/data-deletion.md): with scope all (default) its biometric data " +
	"(ICAO photo, audit frames and their face boxes, the capture recording, embeddings) and its personal fields (subject, user id, reference, metadata, " +
	"redirect URL, and the same in its webhook payloads); with scope biometrics the biometric data only. The decision, status and timestamps stay " +
	"(a tombstone). Answers the signed deletion receipt and queues session.redacted. Idempotent: a session already redacted with the scope " +
	"answers the same receipt. A pending or in-progress session gets 409 session.not_finished (cancel it first)."

var keyAuthErrors = []apierr.Code{apierr.AuthMissing, apierr.AuthInvalid, CodeInsufficientScope}

var verificationAuthErrs = []apierr.Code{apierr.AuthMissing, apierr.AuthInvalid, CodeInsufficientScope, CodeTenantKeyRequired}

// routes is the one table of the API: what is registered is what is documented.
func (s *Server) routes() []route {
	sec := []string{openapi.SecAPIKey}
	admin := []string{openapi.SecAdmin}
	adminErrs := func(extra ...apierr.Code) []apierr.Code {
		return append([]apierr.Code{apierr.AdminDisabled, apierr.AdminInvalid}, extra...)
	}
	urlErrs := []apierr.Code{apierr.URLInvalid, apierr.URLSchemeNotAllowed, apierr.URLHostNotAllowed, apierr.URLHostUnresolvable}
	createErrs := append(append(append([]apierr.Code{}, keyAuthErrors...), urlErrs...), apierr.IdempotencyReused, apierr.LiveKey)
	readErrs := []apierr.Code{apierr.AuthMissing, apierr.AuthInvalid, CodeInsufficientScope, apierr.TokenExpired, apierr.SessionNotFound}
	// faceErrs: a reference face or a simulated probe that the face
	// engine refuses.
	var faceErrs []apierr.Code
	for _, c := range []faceapi.Code{faceapi.CodeNoFace, faceapi.CodeMultipleFaces, faceapi.CodeUnsupported, faceapi.CodeCorrupt,
		faceapi.CodeTooLarge, faceapi.CodeTooSmall, faceapi.CodeNotVerified, faceapi.CodeBusy, faceapi.CodeEngineUnavailable} {
		faceErrs = append(faceErrs, c.API)
	}
	return []route{
		{openapi.Operation{Method: "POST", Path: "/api/v1/managed-session", ID: "createManagedSession", Tag: tagSessions,
			Summary: "Create a managed session",
			Description: "Server-to-server: authenticate with a tenant API key (sessions get signed webhooks) or the legacy global key " +
				"(sessions get unsigned webhooks). redirect_url and webhook_url must be https and must not resolve to internal addresses. " +
				"A test-mode key may fix an active session's challenges (challenges) so a browser test's recorded clip can answer them; live keys never can.",
			Security: sec, Params: []openapi.Param{idemKey}, Body: lifecycle.CreateRequest{}, Example: `{"user_id": "user_123", "mode": "passive"}`,
			Responses: []openapi.Response{{Status: 201, Description: "Session created (pending).", Body: SessionCreated{}, Headers: []string{"Location", "Idempotent-Replayed"}}},
			Errors:    createErrs}, s.createManaged},
		{openapi.Operation{Method: "POST", Path: "/api/v1/session", ID: "createDirectSession", Tag: tagSessions,
			Summary: "Create a direct session (no API key)",
			Description: "Client-side sessions for demos and standalone apps. Rate-limited per client IP; no webhook. " +
				"On a server started with --captcha (pow, hcaptcha or turnstile) the request needs a solution in the X-Captcha header, " +
				"each usable once: with pow, the base64 JSON {algorithm, challenge, number, salt, signature} solving a challenge from " +
				"GET /api/v1/captcha/challenge; with hcaptcha or turnstile, the widget's response token.",
			Params: []openapi.Param{captchaHeader},
			Body:   lifecycle.DirectRequest{}, Example: `{"mode": "passive"}`,
			Responses: []openapi.Response{{Status: 201, Description: "Session created (pending).", Body: SessionCreated{}, Headers: []string{"Location"}}},
			Errors: append(append([]apierr.Code{}, urlErrs...), CodeCaptchaRequired, CodeCaptchaInvalid, CodeCaptchaExpired,
				CodeCaptchaReplayed, CodeCaptchaUnavailable)}, s.createDirect},
		{openapi.Operation{Method: "GET", Path: "/api/v1/captcha/challenge", ID: "getCaptchaChallenge", Tag: tagSessions,
			Summary: "Get a proof-of-work challenge for a direct session (no API key)",
			Description: "With --captcha pow: a challenge signed by the server (HMAC-SHA256), valid 5 minutes. Find the number n in " +
				"[0, maxnumber] with hex(SHA-256(salt + decimal n)) = challenge, then send base64 of the JSON {algorithm, challenge, " +
				"number, salt, signature} as X-Captcha on POST /api/v1/session. maxnumber doubles under load. No cookie; rate-limited per client IP.",
			Responses: []openapi.Response{{Status: 200, Description: "A challenge.", Body: captcha.Challenge{}}},
			Errors:    []apierr.Code{CodeCaptchaDisabled}}, s.captchaChallenge},
		{openapi.Operation{Method: "GET", Path: "/api/v1/session/{id}/result", ID: "getSessionResult", Tag: tagSessions,
			Summary:     "Get a session's result",
			Description: "With ?token= (this session's token only) or the owning tenant's API key. Any other credential gets 404, exactly like a missing session.",
			Security:    []string{openapi.SecSessionToken, openapi.SecAPIKey}, Params: []openapi.Param{pathID, queryToken},
			Responses: []openapi.Response{{Status: 200, Description: "The result.", Body: lifecycle.Result{}}},
			Errors:    readErrs}, s.result},
		{openapi.Operation{Method: "GET", Path: "/api/v1/session/{id}/photo", ID: "getSessionPhoto", Tag: tagSessions,
			Summary:     "Download the ICAO photo of a passed session",
			Description: "480×600 JPEG on pass. 202 while the session has not completed or the photo is being made (Retry-After).",
			Security:    []string{openapi.SecSessionToken, openapi.SecAPIKey}, Params: []openapi.Param{pathID, queryToken},
			Responses: []openapi.Response{
				{Status: 200, Description: "The photo.", ContentType: "image/jpeg"},
				{Status: 202, Description: "Not available yet.", Body: PhotoPending{}, Headers: []string{"Retry-After"}}},
			Errors: append(readErrs, apierr.PhotoUnavailable)}, s.photo},
		{openapi.Operation{Method: "POST", Path: "/api/v1/session/{id}/cancel", ID: "cancelSession", Tag: tagSessions,
			Summary:     "Cancel a session that has not finished",
			Description: "With the owning API key. Queues session.cancelled.",
			Security:    sec, Params: []openapi.Param{pathID},
			Responses: []openapi.Response{{Status: 200, Description: "The cancelled session.", Body: lifecycle.Result{}}},
			Errors:    append(append([]apierr.Code{}, keyAuthErrors...), apierr.SessionNotFound, apierr.SessionTerminal)}, s.cancel},
		{openapi.Operation{Method: "POST", Path: "/api/v1/session/{id}/redact", ID: "redactSession", Tag: tagDeletion,
			Summary:     "Delete a session's biometric data and personal data (managed and seed 002 sessions)",
			Description: "With the owning API key (sessions:write). " + redactDoc,
			Security:    sec, Params: []openapi.Param{pathID}, Body: RedactRequest{}, Example: `{"reason": "erasure request #4411"}`,
			Responses: []openapi.Response{{Status: 200, Description: "The deletion receipt.", Body: core.DeletionReceipt{}}},
			Errors:    append(append([]apierr.Code{}, keyAuthErrors...), apierr.SessionNotFound, lifecycle.CodeNotFinished, apierr.InvalidField)}, s.redactSession},
		{openapi.Operation{Method: "POST", Path: "/api/v1/session/{id}/simulate", ID: "simulateSession", Tag: tagTest,
			Summary: "Complete a test-mode session with a chosen verdict",
			Description: "Test keys only (live keys get 403). Completes the session exactly as a real capture: stored result, session.completed webhook, " +
				"redirect target, and on pass a generated 480×600 JPEG marked as a test image. For a liveness+facematch session, faceImage stands in " +
				"for the capture's best frame: the face engine compares it with the reference face for real.",
			Security: sec, Params: []openapi.Param{pathID}, Body: SimulateRequest{}, Example: `{"verdict": "pass"}`,
			Responses: []openapi.Response{{Status: 200, Description: "The completed session.", Body: SimulateResponse{}}},
			Errors: append(append(append([]apierr.Code{}, keyAuthErrors...), apierr.LiveKey, apierr.SessionNotFound, apierr.SessionTerminal,
				apierr.SessionExpired, apierr.MissingField, apierr.InvalidField, CodeFlowUnavailable), faceErrs...)}, s.simulate},
		{openapi.Operation{Method: "POST", Path: "/v1/liveness/sessions", ID: "createLivenessSession", Tag: tagLiveness,
			Summary: "Create a managed liveness session (seed 002)", Security: sec, Params: []openapi.Param{idemKey},
			Body: lifecycle.CreateRequest{}, Example: `{"user_id": "user_123", "mode": "passive"}`,
			Responses: []openapi.Response{{Status: 201, Description: "Session created.", Body: LivenessSession{}, Headers: []string{"Location", "Idempotent-Replayed"}}},
			Errors:    createErrs}, s.createLiveness},
		{openapi.Operation{Method: "GET", Path: "/v1/liveness/sessions/{id}", ID: "getLivenessSession", Tag: tagLiveness,
			Summary: "Get a liveness session and its result (seed 002)", Security: sec, Params: []openapi.Param{pathID},
			Responses: []openapi.Response{{Status: 200, Description: "The session.", Body: LivenessSession{}}},
			Errors:    append(append([]apierr.Code{}, keyAuthErrors...), apierr.SessionNotFound)}, s.getLiveness},
		{openapi.Operation{Method: "POST", Path: "/v1/liveness/sessions/{id}/redact", ID: "redactLivenessSession", Tag: tagDeletion,
			Summary:     "Delete a liveness session's biometric data and personal data (seed 002 paths)",
			Description: "The same as POST /api/v1/session/{id}/redact, beside the seed 002 routes. With the owning API key (sessions:write). " + redactDoc,
			Security:    sec, Params: []openapi.Param{pathID}, Body: RedactRequest{}, Example: `{"scope": "biometrics"}`,
			Responses: []openapi.Response{{Status: 200, Description: "The deletion receipt.", Body: core.DeletionReceipt{}}},
			Errors:    append(append([]apierr.Code{}, keyAuthErrors...), apierr.SessionNotFound, lifecycle.CodeNotFinished, apierr.InvalidField)}, s.redactSession},
		{openapi.Operation{Method: "POST", Path: "/v1/sessions", ID: "createVerificationSession", Tag: tagVerification,
			Summary: "Create a verification session for a flow",
			Description: "Needs the sessions:write scope. Send the user to hostedUrl (it carries clientToken, which authorizes the hosted page " +
				"without your API key), then poll GET /v1/sessions/{id} or receive the webhook until status is terminal. Flows liveness and " +
				"liveness+facematch run (liveness+facematch+document gets 422 session.flow_unavailable). liveness+facematch needs referenceFace: " +
				"a photo (base64 JPEG or PNG with exactly one face; the body may then be up to about 6.7 MiB) or an earlier approved session of yours; " +
				"only the face's embedding is kept, sealed with your tenant's data key, as subject is.",
			Security: sec, Params: []openapi.Param{idemKey}, Body: VerificationRequest{},
			Example:   `{"flow": "liveness", "reference": "signup_18422", "subject": {"firstName": "Ada", "lastName": "Lovelace"}, "metadata": {"order": 42}}`,
			Responses: []openapi.Response{{Status: 201, Description: "Session created (pending).", Body: lifecycle.Verification{}, Headers: []string{"Location", "Idempotent-Replayed"}}},
			Errors: append(append(append([]apierr.Code{}, verificationAuthErrs...), append(append([]apierr.Code{}, urlErrs...), apierr.MissingField, apierr.InvalidField, CodeFlowUnavailable,
				apierr.IdempotencyReused, apierr.LiveKey, apierr.SessionNotFound)...), faceErrs...)}, s.createVerification},
		{openapi.Operation{Method: "GET", Path: "/v1/sessions", ID: "listVerificationSessions", Tag: tagVerification,
			Summary: "List the verification sessions of one external user",
			Description: "Needs the sessions:read scope. The tenant's verification sessions whose externalUserId (metadata.externalUserId at " +
				"POST /api/sessions) is the one given, newest first, without client tokens, from an index on the tenant and user. A redacted session has no user id left and is not listed.",
			Security: sec, Params: []openapi.Param{
				{Name: "externalUserId", In: "query", Required: true, Description: "The external user id, as given at creation."},
				{Name: "limit", In: "query", Type: "integer", Description: "1–100, default 20."}},
			Responses: []openapi.Response{{Status: 200, Description: "The sessions.", Body: SessionList{}}},
			Errors:    append(append([]apierr.Code{}, verificationAuthErrs...), apierr.InvalidQuery)}, s.listVerifications},
		{openapi.Operation{Method: "GET", Path: "/v1/sessions/{id}", ID: "getVerificationSession", Tag: tagVerification,
			Summary: "Get a verification session's status and decision",
			Description: "Needs the sessions:read scope. decision is null until the session completes, then approved, declined or review " +
				"(review is a case for a human, never an automatic pass); clientToken is null once the session is terminal.",
			Security: sec, Params: []openapi.Param{pathID},
			Responses: []openapi.Response{{Status: 200, Description: "The session.", Body: lifecycle.Verification{}}},
			Errors:    append(append([]apierr.Code{}, verificationAuthErrs...), apierr.SessionNotFound)}, s.getVerification},
		{openapi.Operation{Method: "POST", Path: "/v1/sessions/{id}/cancel", ID: "cancelVerificationSession", Tag: tagVerification,
			Summary:     "Cancel a verification session that is not terminal",
			Description: "Needs the sessions:write scope. Queues session.cancelled. A completed, expired or cancelled session gets 409 session.already_finished.",
			Security:    sec, Params: []openapi.Param{pathID},
			Responses: []openapi.Response{{Status: 200, Description: "The cancelled session.", Body: lifecycle.Verification{}}},
			Errors:    append(append([]apierr.Code{}, verificationAuthErrs...), apierr.SessionNotFound, apierr.SessionTerminal)}, s.cancelVerification},
		{openapi.Operation{Method: "GET", Path: "/v1/sessions/{id}/report", ID: "getVerificationReport", Tag: tagVerification,
			Summary: "Get a verification session's report: the per-check breakdown",
			Description: "Needs the sessions:read scope. For audit and record keeping: the decision, the subject, capture timestamps, attempts, and " +
				"per check its layers, reasons, confidence and the frames kept.",
			Security: sec, Params: []openapi.Param{pathID},
			Responses: []openapi.Response{{Status: 200, Description: "The report.", Body: VerificationReport{}}},
			Errors:    append(append([]apierr.Code{}, verificationAuthErrs...), apierr.SessionNotFound)}, s.verificationReport},
		{openapi.Operation{Method: "POST", Path: "/v1/sessions/{id}/redact", ID: "redactVerificationSession", Tag: tagDeletion,
			Summary:     "Delete a verification session's biometric data and personal data",
			Description: "Needs the sessions:write scope. " + redactDoc + " The session.redacted event has the verification sessions' camelCase shape.",
			Security:    sec, Params: []openapi.Param{pathID}, Body: RedactRequest{}, Example: `{"reason": "erasure request #4411"}`,
			Responses: []openapi.Response{{Status: 200, Description: "The deletion receipt.", Body: core.DeletionReceipt{}}},
			Errors:    append(append([]apierr.Code{}, verificationAuthErrs...), apierr.SessionNotFound, lifecycle.CodeNotFinished, apierr.InvalidField)}, s.redactVerification},
		{openapi.Operation{Method: "GET", Path: "/v1/deletion-receipts", ID: "listDeletionReceipts", Tag: tagDeletion,
			Summary: "Your tenant's deletion trail: every deletion receipt, in order",
			Description: "Needs the sessions:read scope. Append-only and hash-chained: entry seq n carries the hash of entry n-1 (prev_hash), " +
				"so a removed or altered entry breaks the chain. Deletions by the retention sweeper are listed with deleted_by retention. docs/data-deletion.md shows how to verify it.",
			Security: sec, Params: []openapi.Param{
				{Name: "after", In: "query", Type: "integer", Description: "Entries after this seq (default 0: from the first)."},
				{Name: "limit", In: "query", Type: "integer", Description: "1–1000, default 100."}},
			Responses: []openapi.Response{{Status: 200, Description: "The entries.", Body: DeletionReceiptList{}}},
			Errors:    append(append([]apierr.Code{}, keyAuthErrors...), apierr.InvalidQuery)}, s.listReceipts},
		{openapi.Operation{Method: "GET", Path: "/v1/deletion-receipts/{id}", ID: "getDeletionReceipt", Tag: tagDeletion,
			Summary: "Get one deletion receipt", Description: "Needs the sessions:read scope; another tenant's receipt is 404.",
			Security: sec, Params: []openapi.Param{{Name: "id", In: "path", Description: "Receipt id (del_…)."}},
			Responses: []openapi.Response{{Status: 200, Description: "The receipt.", Body: core.DeletionReceipt{}}},
			Errors:    append(append([]apierr.Code{}, keyAuthErrors...), lifecycle.CodeReceiptNotFound)}, s.getReceipt},
		{openapi.Operation{Method: "GET", Path: "/v1/deletion-keys", ID: "getDeletionKeys", Tag: tagDeletion,
			Summary:     "The public keys that verify deletion receipts (no authentication)",
			Description: "Ed25519 over the receipt's canonical JSON (keys sorted, no whitespace, without signature); docs/data-deletion.md.",
			Responses:   []openapi.Response{{Status: 200, Description: "The keys.", Body: DeletionKeys{}}}}, s.deletionKeys},
		{openapi.Operation{Method: "POST", Path: "/api/device/ephemeral", ID: "createEphemeralDevice", Tag: tagEphemeral,
			Summary: "Create an ephemeral device: a token that starts and reads its own sessions",
			Description: "Needs the ephemeral_devices:write scope; send the API key as Authorization: <key> or Bearer <key>. The token " +
				"(authorization) lives ttl seconds (60–86400, default 3600); sessions started with it are visible to that token and to your tenant's " +
				"API keys only. The server keeps no copy: it is signed with your tenant's data key. It works until its TTL ends or the API key " +
				"that made it stops working (revoked, or its rotation grace over), whichever comes first.",
			Security: []string{openapi.SecRawKey}, Body: EphemeralRequest{}, Example: `{"ttl": 3600}`,
			Responses: []openapi.Response{{Status: 201, Description: "The device's token, shown once.", Body: EphemeralDevice{}}},
			Errors:    append(append([]apierr.Code{}, verificationAuthErrs...), apierr.InvalidField)}, s.createEphemeral},
		{openapi.Operation{Method: "POST", Path: "/api/sessions", ID: "createEphemeralSession", Tag: tagEphemeral,
			Summary: "Start a session of a workflow with an ephemeral device's token",
			Description: "Authorization is the device's token (with or without Bearer), not your API key. workflowId is one of your tenant's " +
				"workflows or a flow's name: liveness runs; liveness+facematch and liveness+facematch+document get 422 session.flow_unavailable. metadata.externalUserId " +
				"binds the session to your user. The session is a verification session (the same decision, report, webhooks and hosted page); " +
				"handoffUrl is the desktop page that hands it to the phone.",
			Security: []string{openapi.SecEphemeral}, Params: []openapi.Param{idemKey,
				{Name: "workflowId", In: "query", Required: true, Description: "The workflow: one of your tenant's (PUT /admin/v1/tenants/{id}/workflows) or a flow's name (liveness)."}},
			Body: EphemeralSessionRequest{}, Example: `{"metadata": {"externalUserId": "user_18422"}}`,
			Responses: []openapi.Response{{Status: 201, Description: "Session created (pending).", Body: EphemeralSession{}, Headers: []string{"Location", "Idempotent-Replayed"}}},
			Errors: append([]apierr.Code{apierr.AuthMissing, CodeEphemeralRequired, CodeEphemeralExpired, apierr.InvalidQuery, CodeWorkflowNotFound,
				CodeFlowUnavailable, apierr.InvalidField, apierr.IdempotencyReused}, urlErrs...)}, s.createEphemeralSession},
		{openapi.Operation{Method: "GET", Path: "/api/sessions/{id}", ID: "getEphemeralSession", Tag: tagEphemeral,
			Summary:     "Get a session started with this ephemeral device's token",
			Description: "Another device's session, or one not started by a device, is 404 session.not_found; your API key reads every one at GET /v1/sessions/{id}.",
			Security:    []string{openapi.SecEphemeral}, Params: []openapi.Param{pathID},
			Responses: []openapi.Response{{Status: 200, Description: "The session.", Body: EphemeralSession{}}},
			Errors:    []apierr.Code{apierr.AuthMissing, CodeEphemeralRequired, CodeEphemeralExpired, apierr.SessionNotFound}}, s.getEphemeralSession},
		{openapi.Operation{Method: "POST", Path: "/api/sessions/{id}/redact", ID: "redactEphemeralSession", Tag: tagDeletion,
			Summary:     "Delete the data of a session started with this ephemeral device's token",
			Description: "Authorization is the device's token (with or without Bearer); deleted_by is the device's id. " + redactDoc,
			Security:    []string{openapi.SecEphemeral}, Params: []openapi.Param{pathID}, Body: RedactRequest{}, Example: `{"reason": "user left"}`,
			Responses: []openapi.Response{{Status: 200, Description: "The deletion receipt.", Body: core.DeletionReceipt{}}},
			Errors: []apierr.Code{apierr.AuthMissing, CodeEphemeralRequired, CodeEphemeralExpired, apierr.SessionNotFound, lifecycle.CodeNotFinished,
				apierr.InvalidField}}, s.redactEphemeral},
		{openapi.Operation{Method: "GET", Path: "/mobile", ID: "mobileHandoff", Tag: tagEphemeral,
			Summary: "The phone's link: opens the hosted page of one session",
			Description: "303 to the session's hosted page while the device's token lives and the session can be captured; the link names one " +
				"session, and the token opens only its own device's sessions.",
			Params: []openapi.Param{{Name: "authorization", In: "query", Required: true, Description: "The ephemeral device's token."},
				{Name: "sessionId", In: "query", Required: true, Description: "The session (ses_…)."}},
			Responses: []openapi.Response{{Status: 303, Description: "To the hosted page.", Headers: []string{"Location"}}},
			Errors: []apierr.Code{apierr.InvalidQuery, apierr.AuthMissing, CodeEphemeralRequired, CodeEphemeralExpired, apierr.SessionNotFound,
				apierr.SessionExpired, apierr.SessionTerminal}}, s.mobileHandoff},
		{openapi.Operation{Method: "GET", Path: "/capture", ID: "captureHandoff", Tag: tagEphemeral,
			Summary: "The desktop page of a handoff: the phone's link as a QR code and a button; it follows the phone",
			Description: "HTML. url must be this server's /mobile link (URL-encoded); any other gets 400 handoff.invalid_link, and its token " +
				"and session are checked as /mobile checks them. While the session is pending the page shows the QR code and a button; it reloads " +
				"itself every 3 seconds (no script) and says when the phone is capturing and when the session has finished, expired or been cancelled.",
			Params:    []openapi.Param{{Name: "url", In: "query", Required: true, Description: "The /mobile?authorization=…&sessionId=… link, URL-encoded."}},
			Responses: []openapi.Response{{Status: 200, Description: "The page.", ContentType: "text/html"}},
			Errors:    []apierr.Code{CodeHandoffInvalid, CodeEphemeralRequired, CodeEphemeralExpired, apierr.SessionNotFound}}, s.capturePage},
		{openapi.Operation{Method: "GET", Path: "/s/{id}", ID: "hostedPage", Tag: tagSessions,
			Summary:     "The hosted session page (session_url)",
			Description: "HTML. Needs the client token in ?t= (session_url carries it). 410 past the TTL; errors are HTML for browsers (Accept: text/html), the envelope otherwise.",
			Params:      []openapi.Param{pathID, {Name: "t", In: "query", Description: "The client token.", Required: true}},
			Responses:   []openapi.Response{{Status: 200, Description: "The page.", ContentType: "text/html"}},
			Errors:      []apierr.Code{apierr.SessionNotFound, apierr.SessionExpired, apierr.SessionTerminal}}, s.hostedPage},
		{openapi.Operation{Method: "GET", Path: "/start", ID: "startPage", Tag: tagSessions,
			Summary: "The start page: creates a direct session and opens its capture page",
			Description: "HTML for a standalone deployment's users. It creates a direct session (POST /api/v1/session) and goes to its session_url; " +
				"on a server with --captcha pow it first solves a challenge in a Web Worker, without user action, cookie or third-party call.",
			Params: []openapi.Param{{Name: "mode", In: "query", Description: "passive (default) or active."},
				{Name: "redirect_url", In: "query", Description: "Where the capture page sends the user when done (https)."}},
			Responses: []openapi.Response{{Status: 200, Description: "The page.", ContentType: "text/html"}}}, web.StartPage},
		{openapi.Operation{Method: "GET", Path: "/start/start.js", ID: "startScript", Tag: tagSessions,
			Summary:   "The start page's script",
			Responses: []openapi.Response{{Status: 200, Description: "JavaScript.", ContentType: "text/javascript"}}}, web.StartScript},
		{openapi.Operation{Method: "GET", Path: "/start/pow-worker.js", ID: "startPowWorker", Tag: tagSessions,
			Summary:   "The start page's proof-of-work solver (a Web Worker)",
			Responses: []openapi.Response{{Status: 200, Description: "JavaScript.", ContentType: "text/javascript"}}}, web.PowWorker},

		{openapi.Operation{Method: "POST", Path: "/admin/v1/tenants", ID: "createTenant", Tag: tagAdmin,
			Summary: "Create a tenant with its first API key and webhook secret", Security: admin,
			Body: CreateTenantRequest{}, Example: `{"name": "Acme", "mode": "test"}`,
			Responses: []openapi.Response{{Status: 201, Description: "Created; secrets are shown once.", Body: TenantCreated{}}},
			Errors:    adminErrs(apierr.MissingField, apierr.InvalidField)}, s.admin(s.createTenant)},
		{openapi.Operation{Method: "GET", Path: "/admin/v1/tenants", ID: "listTenants", Tag: tagAdmin,
			Summary: "List tenants", Security: admin,
			Responses: []openapi.Response{{Status: 200, Description: "Tenants.", Body: TenantList{}}},
			Errors:    adminErrs()}, s.admin(s.listTenants)},
		{openapi.Operation{Method: "GET", Path: "/admin/v1/tenants/{id}", ID: "getTenant", Tag: tagAdmin,
			Summary: "Get a tenant", Security: admin, Params: []openapi.Param{tenantIDPath},
			Responses: []openapi.Response{{Status: 200, Description: "The tenant.", Body: TenantView{}}},
			Errors:    adminErrs(apierr.TenantNotFound)}, s.admin(s.getTenant)},
		{openapi.Operation{Method: "PUT", Path: "/admin/v1/tenants/{id}/settings", ID: "putTenantSettings", Tag: tagAdmin,
			Summary: "Replace a tenant's settings",
			Description: "The body replaces the tenant's settings; every field left out takes its default. capture_throttle sets how failed " +
				"capture attempts are throttled: per end user (user_id, or the session) and, as a backstop, per client address, and whether " +
				"test-mode sessions are exempt. Captures read the settings when they connect, so a change applies from the next connection. " +
				"verification.liveness_review_below sends a verification session's liveness pass below that confidence to review; a session takes the rule in force when it is created. " +
				"retention.biometric_days and retention.data_days (1–1095, defaults 30 and 365) are when the retention sweeper deletes a session's biometric data, then every personal field (docs/data-deletion.md).",
			Security: admin, Params: []openapi.Param{tenantIDPath},
			Body: TenantSettings{}, Example: `{"capture_throttle": {"user_limit": 5, "address_limit": 100, "window_seconds": 180, "cooldown_seconds": 180, "test_exempt": true}, "verification": {"liveness_review_below": 0.85}, "retention": {"biometric_days": 30, "data_days": 365}}`,
			Responses: []openapi.Response{{Status: 200, Description: "The tenant with its settings in effect.", Body: TenantView{}}},
			Errors:    adminErrs(apierr.TenantNotFound, apierr.SettingInvalid)}, s.admin(s.putTenantSettings)},
		{openapi.Operation{Method: "PUT", Path: "/admin/v1/tenants/{id}/capture-page", ID: "putCapturePage", Tag: tagAdmin,
			Summary: "Replace a tenant's capture page brand name, accent colour, policy link and texts",
			Description: "The body replaces them; every field left out takes its default (the logo has its own route and is kept). " +
				"accent_color must contrast at least 4.5:1 with the page background and the button text (WCAG AA; a refusal gives the measured ratios). " +
				"messages override built-in texts or add a language (language tag → message key → text): known keys only, each text keeping " +
				"exactly the English text's {placeholders}; a language neither built in nor a variant of one gives every key. " +
				"consent.text and consent.agree are the consent screen's statement and checkbox label, recorded with every consent; " +
				"policy_url (https) is linked beside them. " +
				"Body limit 256 KiB. Pages read these when they load. Keys and languages: docs/capture.md.",
			Security: admin, Params: []openapi.Param{tenantIDPath},
			Body: CapturePageSettings{}, Example: `{"brand_name": "Acme Bank", "accent_color": "#0b57d0", "policy_url": "https://acme.example/privacy", "messages": {"en": {"welcome.title": "Verify it's you to open your Acme account"}, "pt-PT": {"button.use_phone": "Usar o meu telemóvel"}}}`,
			Responses: []openapi.Response{{Status: 200, Description: "The tenant with its capture page settings in effect.", Body: TenantView{}}},
			Errors: adminErrs(apierr.TenantNotFound, apierr.SettingInvalid, web.CodeLowContrast, web.CodeInvalidLanguage,
				web.CodeInvalidMessage)}, s.admin(s.putCapturePage)},
		{openapi.Operation{Method: "PUT", Path: "/admin/v1/tenants/{id}/capture-page/logo", ID: "putCapturePageLogo", Tag: tagAdmin,
			Summary: "Set a tenant's logo (the body is the image)",
			Description: "The body is the image file itself (PNG, JPEG, GIF or WebP, recognised by its bytes; SVG is refused: it can carry scripts), " +
				"at most 1 MiB, 4096 pixels a side and 16 megapixels, at least 16 pixels a side. The server decodes it, scales it to fit 480×144 " +
				"(the page's header at 2× density) and encodes it again as PNG (at most 48 KiB): no metadata, animation or script of the upload " +
				"reaches a browser. The page loads it from its own origin (GET /s/{id}/logo).",
			Security: admin, Params: []openapi.Param{tenantIDPath},
			Responses: []openapi.Response{{Status: 200, Description: "The tenant with its logo.", Body: TenantView{}}},
			Errors: adminErrs(apierr.TenantNotFound, web.CodeLogoType, web.CodeLogoTooLarge,
				web.CodeLogoInvalid)}, s.admin(s.putLogo)},
		{openapi.Operation{Method: "DELETE", Path: "/admin/v1/tenants/{id}/capture-page/logo", ID: "deleteCapturePageLogo", Tag: tagAdmin,
			Summary: "Remove a tenant's logo", Security: admin, Params: []openapi.Param{tenantIDPath},
			Responses: []openapi.Response{{Status: 200, Description: "The tenant without a logo.", Body: TenantView{}}},
			Errors:    adminErrs(apierr.TenantNotFound)}, s.admin(s.deleteLogo)},
		{openapi.Operation{Method: "PUT", Path: "/admin/v1/tenants/{id}/workflows", ID: "putWorkflows", Tag: tagAdmin,
			Summary: "Replace a tenant's workflows (the workflowId of POST /api/sessions)",
			Description: "The body replaces every workflow ({} removes them all). A workflow names its flow (liveness; the others get 422 " +
				"session.flow_unavailable), its mode and optionally its own livenessReviewBelow and webhookUrl (where its sessions' signed events go). Sessions take the workflow as it is when they start.",
			Security: admin, Params: []openapi.Param{tenantIDPath},
			Body: WorkflowsBody{}, Example: `{"workflows": {"signup": {"flow": "liveness", "mode": "passive", "livenessReviewBelow": 0.85}}}`,
			Responses: []openapi.Response{{Status: 200, Description: "The tenant's workflows.", Body: WorkflowsBody{}}},
			Errors: adminErrs(append([]apierr.Code{apierr.TenantNotFound, apierr.MissingField, apierr.InvalidField, CodeFlowUnavailable},
				urlErrs...)...)}, s.admin(s.putWorkflows)},
		{openapi.Operation{Method: "GET", Path: "/admin/v1/tenants/{id}/workflows", ID: "getWorkflows", Tag: tagAdmin,
			Summary: "A tenant's workflows", Security: admin, Params: []openapi.Param{tenantIDPath},
			Responses: []openapi.Response{{Status: 200, Description: "The tenant's workflows.", Body: WorkflowsBody{}}},
			Errors:    adminErrs(apierr.TenantNotFound)}, s.admin(s.getWorkflows)},
		{openapi.Operation{Method: "GET", Path: "/admin/v1/tenants/{id}/keys", ID: "listKeys", Tag: tagAdmin,
			Summary: "List a tenant's API keys (no values)", Security: admin, Params: []openapi.Param{tenantIDPath},
			Responses: []openapi.Response{{Status: 200, Description: "Keys.", Body: KeyList{}}},
			Errors:    adminErrs(apierr.TenantNotFound)}, s.admin(s.listKeys)},
		{openapi.Operation{Method: "POST", Path: "/admin/v1/tenants/{id}/keys/rotate", ID: "rotateKey", Tag: tagAdmin,
			Summary:     "Rotate API keys",
			Description: "Adds a new key; every key usable now keeps working for grace_period_seconds (default 0), then stops. scopes limits what the new key may do (default: every scope).",
			Security:    admin, Params: []openapi.Param{tenantIDPath}, Body: RotateKeyRequest{}, Example: `{"grace_period_seconds": 3600, "scopes": ["sessions:read"]}`,
			Responses: []openapi.Response{{Status: 201, Description: "The new key, shown once.", Body: KeyRotated{}}},
			Errors:    adminErrs(apierr.TenantNotFound, apierr.InvalidField)}, s.admin(s.rotateKey)},
		{openapi.Operation{Method: "POST", Path: "/admin/v1/tenants/{id}/keys/{key_id}/revoke", ID: "revokeKey", Tag: tagAdmin,
			Summary: "Revoke an API key now", Security: admin,
			Params:    []openapi.Param{tenantIDPath, {Name: "key_id", In: "path", Description: "Key id (key_…)."}},
			Responses: []openapi.Response{{Status: 200, Description: "The revoked key.", Body: KeyView{}}},
			Errors:    adminErrs(apierr.KeyNotFound)}, s.admin(s.revokeKey)},
		{openapi.Operation{Method: "POST", Path: "/admin/v1/tenants/{id}/webhook-secret/rotate", ID: "rotateWebhookSecret", Tag: tagAdmin,
			Summary:     "Rotate the webhook signing secret",
			Description: "The old secret keeps signing for grace_period_seconds (default 86400): deliveries then carry two v1 signatures.",
			Security:    admin, Params: []openapi.Param{tenantIDPath}, Body: RotateRequest{}, Example: `{"grace_period_seconds": 86400}`,
			Responses: []openapi.Response{{Status: 201, Description: "The new secret, shown once.", Body: SecretRotated{}}},
			Errors:    adminErrs(apierr.TenantNotFound)}, s.admin(s.rotateSecret)},
		{openapi.Operation{Method: "GET", Path: "/admin/v1/deliveries", ID: "listDeliveries", Tag: tagAdmin,
			Summary: "List webhook deliveries (state=dead lists dead letters)", Security: admin,
			Params: []openapi.Param{
				{Name: "state", In: "query", Description: "pending, delivered or dead."},
				{Name: "tenant_id", In: "query", Description: "Only this tenant's."},
				{Name: "session_id", In: "query", Description: "Only this session's."},
				{Name: "limit", In: "query", Type: "integer", Description: "1–1000, default 100."}},
			Responses: []openapi.Response{{Status: 200, Description: "Deliveries, newest first.", Body: DeliveryList{}}},
			Errors:    adminErrs(apierr.InvalidQuery)}, s.admin(s.listDeliveries)},
		{openapi.Operation{Method: "GET", Path: "/admin/v1/deliveries/{id}", ID: "getDelivery", Tag: tagAdmin,
			Summary: "Get a webhook delivery", Security: admin,
			Params:    []openapi.Param{{Name: "id", In: "path", Description: "Delivery (event) id, evt_…."}},
			Responses: []openapi.Response{{Status: 200, Description: "The delivery.", Body: DeliveryView{}}},
			Errors:    adminErrs(apierr.DeliveryNotFound)}, s.admin(s.getDelivery)},
		{openapi.Operation{Method: "POST", Path: "/admin/v1/deliveries/{id}/replay", ID: "replayDelivery", Tag: tagAdmin,
			Summary:     "Replay a dead (or delivered) webhook delivery",
			Description: "Re-queues it with the same event id and a fresh attempt count.",
			Security:    admin,
			Params:      []openapi.Param{{Name: "id", In: "path", Description: "Delivery (event) id, evt_…."}},
			Responses:   []openapi.Response{{Status: 202, Description: "Queued.", Body: DeliveryView{}}},
			Errors:      adminErrs(apierr.DeliveryNotFound, apierr.DeliveryPending)}, s.admin(s.replayDelivery)},

		{openapi.Operation{Method: "GET", Path: "/healthz", ID: "healthz", Tag: tagMeta, Summary: "Liveness probe (not rate-limited)",
			Responses: []openapi.Response{{Status: 200, Description: "The process serves.", Body: Health{}}}}, s.healthz},
		{openapi.Operation{Method: "GET", Path: "/readyz", ID: "readyz", Tag: tagMeta, Summary: "Readiness probe: pings the store (not rate-limited)",
			Responses: []openapi.Response{{Status: 200, Description: "The store answers.", Body: Health{}}}}, s.readyz},
		{openapi.Operation{Method: "GET", Path: "/openapi.json", ID: "openapi", Tag: tagMeta, Summary: "This OpenAPI 3.1 document",
			Responses: []openapi.Response{{Status: 200, Description: "The document.", ContentType: "application/json"}}}, s.openapiJSON},
		{openapi.Operation{Method: "GET", Path: "/docs/api", ID: "docsAPI", Tag: tagMeta, Summary: "The API reference, rendered from this document",
			Responses: []openapi.Response{{Status: 200, Description: "HTML.", ContentType: "text/html"}}}, s.docsAPI},
		{openapi.Operation{Method: "GET", Path: "/docs/reference/error-codes", ID: "docsErrorCodes", Tag: tagMeta, Summary: "Every error code with its HTTP status and meaning",
			Responses: []openapi.Response{{Status: 200, Description: "HTML.", ContentType: "text/html"}}}, s.docsErrors},
		{openapi.Operation{Method: "GET", Path: "/docs/reference/rate-limits", ID: "docsRateLimits", Tag: tagMeta,
			Summary:     "The rate limits this server applies, per endpoint",
			Description: "The request rate limit (per API key or client IP, with the X-RateLimit-* headers) and each route's own limits, such as the failed-capture throttle, rendered from the limits in force.",
			Responses:   []openapi.Response{{Status: 200, Description: "HTML.", ContentType: "text/html"}}}, s.docsRateLimits},
	}
}
