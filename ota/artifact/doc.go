// Package artifact writes and reads livegate update artifacts: a signed
// manifest and a payload in one tar file, readable in one pass.
//
// Entry order (each a regular file; all metadata before the payload):
//
//	manifest.json     the manifest, exactly the bytes that were signed
//	manifest.sig      {"key_id","signature"}: the signing key's signature
//	signing-key.json  the signing key's certificate, signed by a root key
//	revocations.json  optional: the newest root-signed revocation list
//	payload           the firmware image or model pack, payload_size bytes
//
// Open reads and checks every metadata entry (signatures, key validity and
// revocation, strict JSON, kind, board, arch, versions) before it returns,
// so a refusal happens before the caller has seen a payload byte. The
// payload is then hashed while it streams; the final Read returns io.EOF
// only if size and SHA-256 match the manifest and the archive ends where it
// should, and a specific error otherwise. Callers must treat payload bytes
// as untrusted until that io.EOF.
package artifact
