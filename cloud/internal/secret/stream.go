package secret

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sealed streams: data too large to seal in one piece (a session's
// recording) is sealed in chunks of StreamChunk bytes, each with AES-256-GCM
// under the Sealer's key and a fresh random nonce, and authenticated with
// the stream's label (binding it to, e.g., its session), its position and
// whether it is the last chunk. A chunk moved, dropped, replayed from
// another stream or a stream cut short fails to open.
//
//	stream = "LGSS1" chunk*           (the last chunk has its final flag set)
//	chunk  = final uint8, length uint32 (big-endian), nonce ‖ ciphertext ‖ tag
//	AAD    = label ‖ index uint64 (big-endian) ‖ final

// StreamChunk is the plaintext size of a sealed stream's chunks.
const StreamChunk = 64 << 10

var streamMagic = []byte("LGSS1")

// ErrStreamTruncated is returned when a sealed stream ends before its final
// chunk.
var ErrStreamTruncated = errors.New("secret: sealed stream cut short")

// StreamWriter seals what is written to it; Close writes the final chunk.
type StreamWriter struct {
	s     *Sealer
	w     io.Writer
	label []byte
	buf   []byte
	out   []byte
	index uint64
	err   error
	done  bool
}

// SealStream returns a writer that seals everything written to it into w,
// bound to label. Close must be called to end the stream (it does not close
// w).
func (s *Sealer) SealStream(w io.Writer, label []byte) (*StreamWriter, error) {
	if _, err := w.Write(streamMagic); err != nil {
		return nil, fmt.Errorf("secret: starting a sealed stream: %w", err)
	}
	return &StreamWriter{s: s, w: w, label: append([]byte(nil), label...), buf: make([]byte, 0, StreamChunk)}, nil
}

func (s *Sealer) aad(label []byte, index uint64, final bool) []byte {
	a := append(append([]byte(nil), label...), make([]byte, 9)...)
	binary.BigEndian.PutUint64(a[len(label):], index)
	if final {
		a[len(a)-1] = 1
	}
	return a
}

// Write buffers p and seals every full chunk.
func (w *StreamWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("secret: write to a closed sealed stream")
	}
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		// A full chunk is sealed only once more data follows: the last one
		// is sealed by Close, as final.
		if len(w.buf) == StreamChunk {
			if w.err = w.chunk(false); w.err != nil {
				return n, w.err
			}
		}
		k := min(len(p), StreamChunk-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, n = p[k:], n+k
	}
	return n, nil
}

// chunk seals and writes the buffered plaintext.
func (w *StreamWriter) chunk(final bool) error {
	ns := w.s.aead.NonceSize()
	need := 5 + ns + len(w.buf) + w.s.aead.Overhead()
	if cap(w.out) < need {
		w.out = make([]byte, 0, need)
	}
	out := w.out[:5+ns]
	if final {
		out[0] = 1
	} else {
		out[0] = 0
	}
	if _, err := rand.Read(out[5:]); err != nil {
		return fmt.Errorf("secret: nonce: %w", err)
	}
	out = w.s.aead.Seal(out, out[5:5+ns], w.buf, w.s.aad(w.label, w.index, final))
	binary.BigEndian.PutUint32(out[1:5], uint32(len(out)-5))
	if _, err := w.w.Write(out); err != nil {
		return fmt.Errorf("secret: writing sealed chunk %d: %w", w.index, err)
	}
	w.index++
	w.buf = w.buf[:0]
	return nil
}

// Close seals what is buffered as the final chunk. It does not close the
// underlying writer.
func (w *StreamWriter) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	if w.err != nil {
		return w.err
	}
	w.err = w.chunk(true)
	return w.err
}

// StreamReader opens a sealed stream as it is read.
type StreamReader struct {
	s     *Sealer
	r     *bufio.Reader
	label []byte
	index uint64
	plain []byte
	buf   []byte
	final bool
	err   error
	begun bool
}

// OpenStream returns a reader of the plaintext of a stream sealed with
// label. A wrong key, a wrong label or altered bytes give ErrOpen; a stream
// that ends before its final chunk gives ErrStreamTruncated.
func (s *Sealer) OpenStream(r io.Reader, label []byte) *StreamReader {
	return &StreamReader{s: s, r: bufio.NewReaderSize(r, StreamChunk+64), label: append([]byte(nil), label...)}
}

// Read returns plaintext, opening the next chunk when needed.
func (r *StreamReader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.final {
			if _, err := r.r.Peek(1); !errors.Is(err, io.EOF) {
				r.err = fmt.Errorf("%w: bytes after the final chunk", ErrOpen)
				return 0, r.err
			}
			r.err = io.EOF
			return 0, io.EOF
		}
		r.err = r.next()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

func (r *StreamReader) next() error {
	if !r.begun {
		m := make([]byte, len(streamMagic))
		if _, err := io.ReadFull(r.r, m); err != nil {
			return truncated(err)
		}
		if string(m) != string(streamMagic) {
			return fmt.Errorf("%w: not a sealed stream", ErrOpen)
		}
		r.begun = true
	}
	var pre [5]byte
	if _, err := io.ReadFull(r.r, pre[:]); err != nil {
		return truncated(err)
	}
	n := binary.BigEndian.Uint32(pre[1:])
	ns, ov := r.s.aead.NonceSize(), r.s.aead.Overhead()
	if pre[0] > 1 || n < uint32(ns+ov) || n > uint32(ns+ov+StreamChunk) {
		return fmt.Errorf("%w: malformed chunk %d", ErrOpen, r.index)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		return truncated(err)
	}
	final := pre[0] == 1
	pt, err := r.s.aead.Open(b[ns:ns], b[:ns], b[ns:], r.s.aad(r.label, r.index, final))
	if err != nil {
		return fmt.Errorf("%w: chunk %d", ErrOpen, r.index)
	}
	r.plain, r.final = pt, final
	r.index++
	return nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrStreamTruncated
	}
	return fmt.Errorf("secret: reading a sealed stream: %w", err)
}
