package lifecycle

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/models/facematch"
)

// testKey is a DataKey with a fixed key.
type testKey struct{ s *secret.Sealer }

func (k testKey) Seal(p []byte) []byte          { return k.s.Seal(p) }
func (k testKey) Open(b []byte) ([]byte, error) { return k.s.Open(b) }
func (k testKey) Digest(b []byte) []byte {
	m := hmac.New(sha256.New, []byte("k"))
	m.Write(b)
	return m.Sum(nil)
}
func unit(i int) []float32 { v := make([]float32, 192); v[i] = 1; return v }
func mix(a, b []float32, wa, wb float32) []float32 {
	out := make([]float32, len(a))
	for i := range a {
		out[i] = wa*a[i] + wb*b[i]
	}
	return out
}

// TestMatchFace: the reference is sealed (its embedding never in clear),
// named by a keyed digest, and compared at the thresholds it was made with.
func TestMatchFace(t *testing.T) {
	s, err := secret.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	k := testKey{s}
	image := []byte("the reference image bytes")
	ref := NewFaceRef(k, core.FaceRefImage, "", image, unit(0), 0.6, 0.5)
	if bytes.Contains(ref.SealedEmbedding, encodeEmbedding(unit(0))[:8]) || !bytes.Equal(ref.Digest, k.Digest(image)) {
		t.Fatalf("reference %+v", ref)
	}
	sess := &core.Session{ID: "ses_1", FaceRef: ref}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name   string
		probe  []float32
		status string
		sim    float64
	}{
		{"same", unit(0), "pass", 1},
		{"at accept", mix(unit(0), unit(1), 0.6, 0.8), "pass", 0.6},
		{"grey zone", mix(unit(0), unit(1), 0.55, 0.835), "review", 0.55},
		{"other", unit(1), "fail", 0},
	} {
		fm, err := MatchFace(sess, k, c.probe, []byte(c.name), ProbeCapture, at, 2)
		if err != nil || fm.Status != c.status || fm.Similarity < c.sim-0.001 || fm.Similarity > c.sim+0.001 || fm.ProbeSource != ProbeCapture ||
			!bytes.Equal(fm.ProbeDigest, k.Digest([]byte(c.name))) || !fm.ProbeAt.Equal(at) || fm.ProbeFrame != 2 {
			t.Fatalf("%s: %+v, %v", c.name, fm, err)
		}
	}
	if _, err := MatchFace(sess, k, make([]float32, 10), nil, ProbeCapture, at, -1); err == nil {
		t.Fatal("a probe of the wrong size was compared")
	}
	bad := *ref
	bad.SealedEmbedding = append([]byte{}, ref.SealedEmbedding...)
	bad.SealedEmbedding[len(bad.SealedEmbedding)-1] ^= 1
	if _, err := MatchFace(&core.Session{ID: "ses_2", FaceRef: &bad}, k, unit(0), nil, ProbeCapture, at, -1); err == nil {
		t.Fatal("a tampered reference opened")
	}
	if _, err := MatchFace(&core.Session{ID: "ses_3"}, k, unit(0), nil, ProbeCapture, at, -1); err == nil {
		t.Fatal("a session without a reference was compared")
	}
}

// TestFacematchDefaults: the tenant settings' defaults are the calibrated
// thresholds of the engine.
func TestFacematchDefaults(t *testing.T) {
	if core.FacematchAcceptMin != facematch.Accept || core.FacematchReviewFromDefault != facematch.ReviewFrom {
		t.Fatalf("core %v/%v, models/facematch %v/%v", core.FacematchAcceptMin, core.FacematchReviewFromDefault, facematch.Accept, facematch.ReviewFrom)
	}
}
