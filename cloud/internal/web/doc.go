// Package web is the hosted capture page at session_url (GET /s/{id}?t=…):
// one HTML document with its CSS and JavaScript embedded in the binary (no
// CDN, no build step), which walks the user through welcome, camera
// permission, live capture with a face-guide oval and the server's guidance,
// the screen-colour light challenge, "Analysing…" and the result, then
// redirects to redirect_url?session_id=… (?sessionId=… for a verification
// session of POST /v1/sessions). It also serves the desktop →
// phone handoff: a short-lived sealed link shown as a QR code (drawn in Go),
// and a small state endpoint the desktop page polls to follow the session.
// The page speaks the user's language (package i18n: the catalogues, the
// choice from ?lang= and Accept-Language) and carries the tenant's brand
// name, logo, accent colour and texts (core.CapturePage, checked by
// CheckPage; the logo re-encoded by ProcessLogo and served from GET
// /s/{id}/logo); each challenge's instruction has an illustration.
// The page of a test-mode session (created with a test key) also carries
// the simulated reflection camera, a port of models/lightsim that lights
// the face in the frames it sends (Config.TestCamera; docs/capture.md).
package web
