// Package provision enrolls devices: the cloud's device CA (ECDSA P-256; its
// key kept in the data directory with 0600 permissions, sealed when a
// secret.Sealer is given), one-time enrollment tokens (stored hashed, with
// an expiry) created by an admin, their single exchange by a device for its
// own credentials — an X.509 client certificate for mutual TLS (preferred;
// the device sends a CSR, its key never leaves it) or a generated password
// (stored hashed) — and revocation, after which the broker refuses the
// device at once.
//
// Service implements broker.Authenticator for the embedded broker.
package provision
