package lifecycle

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/models/face"
	"livegate.dev/models/facematch"
)

// Faces is the face engine as the facematch check uses it (the capture
// routes' engine satisfies it, SetFaces).
type Faces interface {
	// Embed returns the embedding of the one face of a JPEG or PNG image
	// (a reference upload, an earlier session's portrait, a simulated
	// probe). Its errors are API errors that name field: face.not_detected,
	// face.multiple_faces, image.* and server.* codes.
	Embed(ctx context.Context, field string, image []byte) ([]float32, error)
}

// DataKey seals, opens and digests with a tenant's data key
// (tenancy.DataKey satisfies it).
type DataKey interface {
	Seal(plaintext []byte) []byte
	Open(sealed []byte) ([]byte, error)
	Digest(b []byte) []byte
}

// NewFaceRef makes the reference face of a session from its embedding and
// the bytes it came from, sealed and digested with the tenant's key k, with
// the thresholds in force.
func NewFaceRef(k DataKey, source, sessionID string, image []byte, emb []float32, accept, reviewFrom float64) *core.FaceRef {
	return &core.FaceRef{Source: source, SessionID: sessionID, Digest: k.Digest(image),
		SealedEmbedding: k.Seal(encodeEmbedding(emb)), Accept: accept, ReviewFrom: reviewFrom}
}

// MatchFace compares probe with sess's reference face, opened with k: the
// comparison as the session keeps it, its probe named by the keyed digest
// of probeBytes.
func MatchFace(sess *core.Session, k DataKey, probe []float32, probeBytes []byte, source string, at time.Time, frame int) (*core.FaceMatch, error) {
	ref := sess.FaceRef
	if ref == nil {
		return nil, fmt.Errorf("lifecycle: session %s has no reference face", sess.ID)
	}
	plain, err := k.Open(ref.SealedEmbedding)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: opening the reference face of session %s: %w", sess.ID, err)
	}
	emb, err := decodeEmbedding(plain)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: reference face of session %s: %w", sess.ID, err)
	}
	if len(probe) != len(emb) {
		return nil, fmt.Errorf("lifecycle: probe embedding of %d values, the reference has %d", len(probe), len(emb))
	}
	sim := math.Round(float64(face.Cosine(emb, probe))*1e4) / 1e4
	return &core.FaceMatch{Similarity: sim, Status: string(facematch.Decide(sim, ref.Accept, ref.ReviewFrom)),
		ProbeSource: source, ProbeDigest: k.Digest(probeBytes), ProbeAt: at.UTC(), ProbeFrame: frame}, nil
}

// Probe sources of a FaceMatch.
const (
	ProbeCapture   = "capture"
	ProbeSimulated = "simulated"
)

func encodeEmbedding(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeEmbedding(b []byte) ([]float32, error) {
	if len(b) != 4*face.EmbeddingSize {
		return nil, fmt.Errorf("embedding of %d bytes, want %d", len(b), 4*face.EmbeddingSize)
	}
	v := make([]float32, face.EmbeddingSize)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// EncodeEmbedding is the byte form of an embedding that is sealed at rest
// (float32 little-endian): a session's reference face, a gallery template.
func EncodeEmbedding(v []float32) []byte { return encodeEmbedding(v) }

// DecodeEmbedding reads what EncodeEmbedding wrote (face.EmbeddingSize values).
func DecodeEmbedding(b []byte) ([]float32, error) { return decodeEmbedding(b) }
