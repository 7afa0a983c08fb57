package artifact

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"livegate.dev/ota/sign"
)

// Entry names, in the order Write puts them.
const (
	EntryManifest    = "manifest.json"
	EntrySignature   = "manifest.sig"
	EntrySigningKey  = "signing-key.json"
	EntryRevocations = "revocations.json"
	EntryPayload     = "payload"
)

// maxMeta bounds every metadata entry.
const maxMeta = 1 << 20

// Refusal reasons. Signature errors come from package sign and are
// re-exported here so callers need one import.
var (
	ErrUnsigned     = sign.ErrUnsigned
	ErrUntrustedKey = sign.ErrUntrustedKey
	ErrBadSignature = sign.ErrBadSignature
	ErrKeyExpired   = sign.ErrKeyExpired
	ErrKeyRevoked   = sign.ErrKeyRevoked
	ErrMalformed    = sign.ErrMalformed

	// ErrTruncated: the artifact ends early.
	ErrTruncated = errors.New("artifact truncated")
	// ErrPayloadMismatch: the payload's size or SHA-256 differs from the
	// signed manifest (the payload was altered).
	ErrPayloadMismatch = errors.New("payload does not match the manifest")
	// ErrDowngrade: the artifact is not newer than the running version.
	ErrDowngrade = errors.New("downgrade refused")
	// ErrBelowMinimum: the running version is older than the artifact's
	// minimum current version.
	ErrBelowMinimum = errors.New("running version below the artifact's minimum")
	// ErrWrongBoard: the artifact does not list this board.
	ErrWrongBoard = errors.New("wrong board")
	// ErrWrongArch: the artifact does not list this architecture.
	ErrWrongArch = errors.New("wrong architecture")
	// ErrWrongKind: a firmware artifact handed to the models installer or
	// the other way round.
	ErrWrongKind = errors.New("wrong kind")
)

var reasons = []struct {
	err  error
	code string
}{
	{ErrUnsigned, "unsigned"}, {ErrUntrustedKey, "untrusted-key"}, {ErrBadSignature, "bad-signature"},
	{ErrKeyExpired, "key-expired"}, {ErrKeyRevoked, "key-revoked"}, {ErrTruncated, "truncated"},
	{ErrPayloadMismatch, "payload-mismatch"}, {ErrDowngrade, "downgrade"}, {ErrBelowMinimum, "below-minimum"},
	{ErrWrongBoard, "wrong-board"}, {ErrWrongArch, "wrong-arch"}, {ErrWrongKind, "wrong-kind"},
	{ErrMalformed, "malformed"},
}

// Reason maps a refusal to a short stable code for reports ("unsigned",
// "bad-signature", "downgrade", …); "" for nil and "error" for other errors.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	return "error"
}

// Write writes an artifact: m (whose PayloadSize and PayloadSHA256 must
// describe payload) signed by key, key's certificate, the optional
// revocation list, then the payload. It fails if payload does not match m.
func Write(w io.Writer, m *Manifest, payload io.Reader, key *sign.SigningKey, revocations *sign.Envelope) error {
	if key == nil || key.Cert == nil {
		return fmt.Errorf("artifact: write: signing key without certificate")
	}
	mb, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("artifact: write: %w", err)
	}
	sig := key.Sign(sign.PurposeManifest, mb)
	sb, err := json.Marshal(sig)
	if err != nil {
		return fmt.Errorf("artifact: write: %w", err)
	}
	cb, err := sign.MarshalEnvelope(key.Cert)
	if err != nil {
		return fmt.Errorf("artifact: write: %w", err)
	}
	tw := tar.NewWriter(w)
	entries := []struct {
		name string
		data []byte
	}{{EntryManifest, mb}, {EntrySignature, append(sb, '\n')}, {EntrySigningKey, cb}}
	if revocations != nil {
		rb, err := sign.MarshalEnvelope(revocations)
		if err != nil {
			return fmt.Errorf("artifact: write: %w", err)
		}
		entries = append(entries, struct {
			name string
			data []byte
		}{EntryRevocations, rb})
	}
	for _, e := range entries {
		if err := tw.WriteHeader(header(e.name, int64(len(e.data)), m)); err != nil {
			return fmt.Errorf("artifact: write %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("artifact: write %s: %w", e.name, err)
		}
	}
	if err := tw.WriteHeader(header(EntryPayload, m.PayloadSize, m)); err != nil {
		return fmt.Errorf("artifact: write payload: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(payload, m.PayloadSize+1))
	if err != nil {
		return fmt.Errorf("artifact: write payload after %d bytes: %w", n, err)
	}
	if n != m.PayloadSize || hex.EncodeToString(h.Sum(nil)) != m.PayloadSHA256 {
		return fmt.Errorf("artifact: write: %w: payload changed while writing (%d bytes, manifest says %d)", ErrPayloadMismatch, n, m.PayloadSize)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("artifact: write: close archive: %w", err)
	}
	return nil
}

func header(name string, size int64, m *Manifest) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: m.Created.UTC().Truncate(time.Second), Format: tar.FormatPAX}
}

// countingReader counts bytes taken from the underlying reader.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Meta is the metadata of an artifact as read from it.
type Meta struct {
	Manifest    *Manifest
	RawManifest []byte
	Signature   *sign.Signature
	Cert        *sign.Envelope
	Revocations *sign.Envelope
	PayloadSize int64 // size in the payload entry's header
}

// readMeta reads entries up to and including the payload header.
func readMeta(cr *countingReader, tr *tar.Reader) (*Meta, error) {
	seen := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				if cr.n == 0 {
					return nil, fmt.Errorf("%w: empty", ErrTruncated)
				}
				return nil, fmt.Errorf("%w: archive ends before the payload", ErrTruncated)
			case errors.Is(err, io.ErrUnexpectedEOF):
				return nil, fmt.Errorf("%w: inside an entry header", ErrTruncated)
			}
			return nil, fmt.Errorf("%w: not an artifact archive: %v", ErrMalformed, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: entry %q is not a regular file", ErrMalformed, hdr.Name)
		}
		if hdr.Name == EntryPayload {
			return decodeMeta(seen, hdr.Size)
		}
		switch hdr.Name {
		case EntryManifest, EntrySignature, EntrySigningKey, EntryRevocations:
		default:
			return nil, fmt.Errorf("%w: unknown entry %q", ErrMalformed, hdr.Name)
		}
		if _, dup := seen[hdr.Name]; dup {
			return nil, fmt.Errorf("%w: entry %q twice", ErrMalformed, hdr.Name)
		}
		if hdr.Size > maxMeta {
			return nil, fmt.Errorf("%w: entry %q is %d bytes, limit %d", ErrMalformed, hdr.Name, hdr.Size, maxMeta)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: inside %s", ErrTruncated, hdr.Name)
			}
			return nil, fmt.Errorf("artifact: read %s: %w", hdr.Name, err)
		}
		seen[hdr.Name] = b
	}
}

func decodeMeta(seen map[string][]byte, payloadSize int64) (*Meta, error) {
	meta := &Meta{RawManifest: seen[EntryManifest], PayloadSize: payloadSize}
	if meta.RawManifest == nil {
		return nil, fmt.Errorf("%w: no %s before the payload", ErrMalformed, EntryManifest)
	}
	if b, ok := seen[EntrySignature]; ok {
		var s sign.Signature
		if err := sign.DecodeStrict(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", EntrySignature, err)
		}
		meta.Signature = &s
	}
	if b, ok := seen[EntrySigningKey]; ok {
		e, err := sign.ParseEnvelope(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EntrySigningKey, err)
		}
		meta.Cert = e
	}
	if b, ok := seen[EntryRevocations]; ok {
		e, err := sign.ParseEnvelope(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EntryRevocations, err)
		}
		meta.Revocations = e
	}
	return meta, nil
}

// Reader streams a verified artifact's payload. Metadata has been checked
// when Open returns it; the payload is checked as it is read.
type Reader struct {
	Manifest *Manifest
	Check    *sign.Check
	// Revocations is the artifact's revocation list if it was newer than
	// the one the Trust held and is now in force; the caller should store
	// it. Nil otherwise.
	Revocations *sign.Envelope

	cr   *countingReader
	tr   *tar.Reader
	h    hash.Hash
	done int64
	err  error
}

// Open reads an artifact's metadata from r, applies its revocation list to
// trust if newer, verifies the signature chain and checks the manifest
// against target. Any refusal happens here, before a payload byte is read.
func Open(r io.Reader, trust *sign.Trust, target Target) (*Reader, error) {
	return open(r, trust, &target)
}

// OpenAnyTarget is Open without the device checks (kind, board, arch,
// versions): for a release server or a technician's tool that checks
// signatures and payload before publishing. Devices use Open.
func OpenAnyTarget(r io.Reader, trust *sign.Trust) (*Reader, error) {
	return open(r, trust, nil)
}

func open(r io.Reader, trust *sign.Trust, target *Target) (*Reader, error) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	meta, err := readMeta(cr, tr)
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	var applied *sign.Envelope
	if meta.Revocations != nil {
		before, _ := trust.Revocations()
		l, err := trust.SetRevocations(meta.Revocations)
		switch {
		case errors.Is(err, sign.ErrStaleRevocations):
			// The device holds a newer list; keep it.
		case err != nil:
			return nil, fmt.Errorf("artifact: %w", err)
		case before == nil || l.Serial > before.Serial:
			applied = meta.Revocations
		}
	}
	if meta.Signature == nil {
		return nil, fmt.Errorf("artifact: manifest: %w: no %s", ErrUnsigned, EntrySignature)
	}
	if meta.Cert == nil {
		return nil, fmt.Errorf("artifact: manifest: %w: no %s", ErrUnsigned, EntrySigningKey)
	}
	chk, err := trust.Verify(meta.Cert, sign.PurposeManifest, meta.RawManifest, meta.Signature)
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	m, err := ParseManifest(meta.RawManifest)
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	if m.Created.Before(chk.Key.NotBefore) || !m.Created.Before(chk.Key.NotAfter) {
		return nil, fmt.Errorf("artifact: %w: manifest created %s outside the signing key's window", ErrKeyExpired, m.Created)
	}
	if target != nil {
		if err := target.Check(m); err != nil {
			return nil, fmt.Errorf("artifact: %w", err)
		}
	}
	if meta.PayloadSize != m.PayloadSize {
		return nil, fmt.Errorf("artifact: %w: payload entry is %d bytes, manifest says %d", ErrPayloadMismatch, meta.PayloadSize, m.PayloadSize)
	}
	return &Reader{Manifest: m, Check: chk, Revocations: applied, cr: cr, tr: tr, h: sha256.New()}, nil
}

// Read reads payload bytes. It returns io.EOF only after the whole payload
// was read, matched the manifest's size and SHA-256, and the archive ended
// properly; ErrPayloadMismatch or ErrTruncated otherwise.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.tr.Read(p)
	r.h.Write(p[:n])
	r.done += int64(n)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		r.err = r.finish()
	case errors.Is(err, io.ErrUnexpectedEOF):
		r.err = fmt.Errorf("artifact: %w: payload ends after %d of %d bytes", ErrTruncated, r.done, r.Manifest.PayloadSize)
	default:
		r.err = fmt.Errorf("artifact: read payload: %w", err)
	}
	return n, r.err
}

func (r *Reader) finish() error {
	if r.done != r.Manifest.PayloadSize {
		return fmt.Errorf("artifact: %w: payload ends after %d of %d bytes", ErrTruncated, r.done, r.Manifest.PayloadSize)
	}
	if got := hex.EncodeToString(r.h.Sum(nil)); got != r.Manifest.PayloadSHA256 {
		return fmt.Errorf("artifact: %w: payload sha256 %s, manifest says %s", ErrPayloadMismatch, got, r.Manifest.PayloadSHA256)
	}
	end := r.cr.n // the payload's last byte
	_, err := r.tr.Next()
	switch {
	case errors.Is(err, io.EOF):
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("artifact: %w: inside the end-of-archive marker", ErrTruncated)
	case err == nil:
		return fmt.Errorf("artifact: %w: entry after the payload", ErrMalformed)
	default:
		return fmt.Errorf("artifact: %w: after the payload: %v", ErrMalformed, err)
	}
	// tar reports a clean EOF also when the input stops at a block
	// boundary inside the two zero blocks that end an archive.
	if want := (end+511)/512*512 + 1024; r.cr.n != want {
		return fmt.Errorf("artifact: %w: end-of-archive marker incomplete", ErrTruncated)
	}
	return io.EOF
}

// Inspect reads an artifact's metadata without verifying anything, for
// display. The caller must not trust what it returns.
func Inspect(r io.Reader) (*Meta, error) {
	cr := &countingReader{r: r}
	meta, err := readMeta(cr, tar.NewReader(cr))
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	m, err := ParseManifest(meta.RawManifest)
	if err != nil {
		return meta, fmt.Errorf("artifact: %w", err)
	}
	meta.Manifest = m
	return meta, nil
}
