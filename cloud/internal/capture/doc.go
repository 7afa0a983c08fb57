// Package capture runs hosted capture sessions over WebSocket
// (GET /api/v1/session/{id}/ws?token=<client token>): the browser sends
// binary JPEG frames, the server feeds them to one liveness.Analyzer per
// attempt and answers with JSON guidance (feedback, challenge, light,
// progress), then a verdict. docs/websocket.md is the protocol.
//
// Admission is bounded everywhere: one live connection per session, a frame
// size limit, a frame-rate cap, and at most one frame waiting per session
// while the engine is busy (a newer frame replaces it and the drop is
// reported to the client), so memory does not grow with load.
//
// The session's state goes through package lifecycle: the first analysed
// frame moves it to in_progress (session.in_progress, once per session),
// failed attempts are counted in the session store, and the final verdict
// completes it (stored result, webhook outbox) with the ICAO photo made from
// the best frame and up to four audit frames (with face boxes) whose JPEGs
// an AuditStore keeps for a retention period and whose list the session
// keeps. Every attempt of a managed session is also recorded while it runs
// (livegate.dev/models/replay, through AuditStore.NewRecording); the
// recording of the attempt that decides the session is kept beside its
// audit frames, sealed at rest, so that its verdict can be replayed.
//
// Failed attempts are also throttled by a Limiter: per end user (the
// session's user_id within its tenant, or the session itself: 5 in 3
// minutes by default) and, as a much larger backstop, per client address
// (100 in 3 minutes), each then cooling down; the budgets come from the
// tenant's settings (PolicyFor), and test-mode sessions are exempt unless
// the tenant says otherwise. The counts live in a FailureThrottle: Throttle
// in this process's memory, PGThrottle in a table replicas share.
package capture
