// Package servertls is livegate-cloud's HTTPS: where the listener's
// certificate comes from, the TLS configuration, the Strict-Transport-Security
// value and the plain-HTTP listener's redirect.
//
// The certificate is either a pair of PEM files (--tls-cert, --tls-key),
// read again on Certs.Reload (SIGHUP) and when either file's modification
// time or size changes (checked at most every Config.CheckEvery, on a TLS
// handshake), or — with --dev only — one issued by a local development CA
// that EnsureDevCA makes in the data directory and keeps across restarts,
// for devices and browsers to trust. A bad file never replaces a good
// certificate: a reload that fails keeps serving the previous one.
//
// The TLS configuration accepts TLS 1.2 and 1.3 with Go's default cipher
// suites (for TLS 1.2: ECDHE key exchange only, AES-GCM and
// ChaCha20-Poly1305 preferred, AES-CBC last for old clients).
package servertls
