// Package daemon wires livegate-cloud together: it opens the store, loads
// the master key, builds the URL policy, the webhook worker, the session
// lifecycle (with its TTL sweeper), tenancy and the HTTP server — with
// TLSAddr, over HTTPS (package servertls) while the plain listener only
// redirects —, runs them, and shuts them down in order. `livegate-cloud
// serve` and the end-to-end tests use the same Start, so what the tests run
// is what ships.
package daemon
