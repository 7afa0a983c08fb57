// Package webhook delivers livegate-cloud's events to integrators: it builds
// the durable outbox entries (NewDelivery), signs them (Sign, Verify), and runs
// the delivery worker (Worker) that claims due entries from the store, POSTs
// them, retries with exponential backoff and jitter, and dead-letters what
// cannot be delivered; Replay re-queues a dead (or delivered) entry.
//
// Wire format (docs/webhooks.md is the integrator's guide):
//
//	POST <webhook_url>
//	Content-Type: application/json
//	User-Agent: Livegate-Webhooks/1.0
//	Livegate-Event-Id: evt_…          (same on every attempt and replay)
//	Livegate-Event-Type: session.completed
//	Livegate-Attempt: 1               (1-based)
//	Livegate-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=…]
//
//	{"id":"evt_…","type":"session.completed","created":1767225600,"data":{…}}
//
// The signature header is present only for sessions that belong to a tenant;
// sessions created with the legacy global key get unsigned webhooks. While a
// tenant's secret rotates, the header carries one v1 per unexpired secret.
// The HMAC key is the webhook secret exactly as shown to the integrator (its
// bytes, prefix included); the tenant keeps it sealed (package secret).
//
// Delivery is at least once: receivers deduplicate on Livegate-Event-Id.
// Every attempt re-checks the URL with the netguard Policy and connects
// through Policy.DialContext (the checked IP, never a proxy); redirects are
// not followed (a 3xx is a failed attempt); only a 2xx delivers.
//
// Retry schedule with the defaults (MaxAttempts 14, BackoffBase 1m,
// BackoffCap 12h): after failed attempt n the next one waits a uniformly
// random time in [w/2, w] where w = min(12h, 1m·2^(n-1)):
//
//	after attempt   1   2   3   4    5    6     7     8      9     10    11   12   13
//	window w       1m  2m  4m  8m  16m  32m  1h04  2h08  4h16  8h32   12h  12h  12h
//
// so the 14th and last attempt comes 26.5 h to 53 h after the first (40 h on
// average), and the entry is then dead: listed by the admin API and
// replayable. Each window keeps its upper half rather than AWS-style "full"
// jitter over [0, w], so that the span has a guaranteed minimum.
package webhook
