// Package sign holds the two-tier ed25519 key hierarchy of livegate updates.
//
//	root keys (offline, public halves baked into the firmware)
//	   │ sign
//	   ▼
//	signing keys (rotating: serial, validity window) ── sign ──▶ manifests
//	   ▲
//	   │ revoke by key id
//	revocation list (serial, signed by a root key)
//
// A signing key travels as a Cert: its public key, serial and validity
// window in a JSON body, signed by one root key. A manifest is trusted when
// its signature verifies under a signing key whose Cert verifies under a
// trusted root, is inside its validity window, and is not on the newest
// revocation list the device has seen. Every signature covers a purpose tag
// ("livegate-ota/v1 signing-key", "… revocations", "… manifest") so that
// bytes signed for one purpose are never accepted for another.
//
// Private keys are PEM files written with mode 0600, atomically.
package sign
