package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"livegate.dev/ota/sign"
)

// Kind is what an artifact updates.
type Kind string

// Kinds of artifact.
const (
	KindFirmware Kind = "firmware" // the kiosk's root filesystem image
	KindModels   Kind = "models"   // a pack of liveness models for the engine
)

// ManifestFormat is the manifest format this package writes and accepts.
const ManifestFormat = 1

// maxNotes bounds release notes.
const maxNotes = 64 << 10

// Manifest describes a payload. Every field is covered by the signature.
type Manifest struct {
	Format        int       `json:"format"`
	Kind          Kind      `json:"kind"`
	Version       string    `json:"version"`
	Boards        []string  `json:"boards"`
	Archs         []string  `json:"archs"`
	MinVersion    string    `json:"min_version"`
	PayloadSize   int64     `json:"payload_size"`
	PayloadSHA256 string    `json:"payload_sha256"`
	Notes         string    `json:"notes"`
	Created       time.Time `json:"created"`
}

// Validate checks the manifest's own consistency (not its fitness for a
// device; see Target.Check).
func (m *Manifest) Validate() error {
	switch {
	case m.Format != ManifestFormat:
		return fmt.Errorf("manifest: %w: format %d, want %d", ErrMalformed, m.Format, ManifestFormat)
	case m.Kind != KindFirmware && m.Kind != KindModels:
		return fmt.Errorf("manifest: %w: kind %q, want %q or %q", ErrMalformed, m.Kind, KindFirmware, KindModels)
	case len(m.Boards) == 0:
		return fmt.Errorf("manifest: %w: no target boards", ErrMalformed)
	case len(m.Archs) == 0:
		return fmt.Errorf("manifest: %w: no target architectures", ErrMalformed)
	case m.PayloadSize <= 0:
		return fmt.Errorf("manifest: %w: payload_size %d", ErrMalformed, m.PayloadSize)
	case len(m.Notes) > maxNotes:
		return fmt.Errorf("manifest: %w: notes longer than %d bytes", ErrMalformed, maxNotes)
	case m.Created.IsZero():
		return fmt.Errorf("manifest: %w: no created time", ErrMalformed)
	}
	for _, list := range [][]string{m.Boards, m.Archs} {
		for _, s := range list {
			if s == "" {
				return fmt.Errorf("manifest: %w: empty board or architecture", ErrMalformed)
			}
		}
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return fmt.Errorf("manifest: %w: %v", ErrMalformed, err)
	}
	if _, err := ParseVersion(m.MinVersion); err != nil {
		return fmt.Errorf("manifest: %w: min_version: %v", ErrMalformed, err)
	}
	if b, err := hex.DecodeString(m.PayloadSHA256); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != m.PayloadSHA256 {
		return fmt.Errorf("manifest: %w: payload_sha256 %q is not 64 lower-case hex digits", ErrMalformed, m.PayloadSHA256)
	}
	return nil
}

// ParseManifest decodes a manifest strictly (no unknown fields, no trailing
// data) and validates it.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := sign.DecodeStrict(data, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Marshal encodes the manifest as indented JSON, the bytes that get signed.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// HashPayload reads r to the end and returns its size and SHA-256 in hex,
// the values a manifest carries.
func HashPayload(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return n, "", fmt.Errorf("hash payload: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Target is the device an artifact is checked against.
type Target struct {
	Kind    Kind    // what the installer updates
	Board   string  // board profile name, e.g. "rpi5", "sim"
	Arch    string  // GOARCH-style, e.g. "arm64", "amd64"
	Current Version // version running now
}

// Check refuses a manifest that does not fit the target, with the reason.
func (t Target) Check(m *Manifest) error {
	if m.Kind != t.Kind {
		return fmt.Errorf("%w: artifact is %q, installer takes %q", ErrWrongKind, m.Kind, t.Kind)
	}
	if !contains(m.Boards, t.Board) {
		return fmt.Errorf("%w: artifact is for boards %v, device is %q", ErrWrongBoard, m.Boards, t.Board)
	}
	if !contains(m.Archs, t.Arch) {
		return fmt.Errorf("%w: artifact is for architectures %v, device is %q", ErrWrongArch, m.Archs, t.Arch)
	}
	v, err := ParseVersion(m.Version)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if v.Compare(t.Current) <= 0 {
		return fmt.Errorf("%w: artifact version %s is not newer than running %s", ErrDowngrade, v, t.Current)
	}
	minV, err := ParseVersion(m.MinVersion)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if t.Current.Compare(minV) < 0 {
		return fmt.Errorf("%w: running %s, artifact requires at least %s", ErrBelowMinimum, t.Current, minV)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
