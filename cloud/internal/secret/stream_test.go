package secret

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func sealStream(t *testing.T, s *Sealer, label string, chunks ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := s.SealStream(&buf, []byte(label))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if n, err := w.Write(c); err != nil || n != len(c) {
			t.Fatalf("write %d bytes: %d, %v", len(c), n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSealedStreamRoundTrip(t *testing.T) {
	s, _ := New(bytes.Repeat([]byte{7}, KeySize))
	big := make([]byte, 3*StreamChunk+17)
	for i := range big {
		big[i] = byte(i * 31)
	}
	cases := []struct {
		name   string
		writes [][]byte
	}{
		{"empty", nil},
		{"one byte", [][]byte{{42}}},
		{"exactly one chunk", [][]byte{big[:StreamChunk]}},
		{"exactly two chunks in small writes", [][]byte{big[:1000], big[1000 : 2*StreamChunk]}},
		{"three chunks and a bit", [][]byte{big}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sealed := sealStream(t, s, "ses_a", c.writes...)
			want := bytes.Join(c.writes, nil)
			if len(want) > 16 && bytes.Contains(sealed, want[:16]) {
				t.Fatal("the sealed stream contains the plaintext")
			}
			got, err := io.ReadAll(s.OpenStream(bytes.NewReader(sealed), []byte("ses_a")))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("opened %d bytes, %v; want %d", len(got), err, len(want))
			}
		})
	}
}

func TestSealedStreamRefuses(t *testing.T) {
	s, _ := New(bytes.Repeat([]byte{7}, KeySize))
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	data := make([]byte, 2*StreamChunk+5)
	sealed := sealStream(t, s, "ses_a", data)
	chunk := 5 + 12 + StreamChunk + 16 // one full sealed chunk with its prefix
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), sealed...)) }
	cases := []struct {
		name  string
		s     *Sealer
		label string
		data  []byte
		want  error
	}{
		{"another key", other, "ses_a", sealed, ErrOpen},
		{"another label", s, "ses_b", sealed, ErrOpen},
		{"a flipped bit", s, "ses_a", mod(func(b []byte) []byte { b[len(b)/2] ^= 1; return b }), ErrOpen},
		{"not a stream", s, "ses_a", []byte("hello, world"), ErrOpen},
		{"cut inside a chunk", s, "ses_a", sealed[:len(sealed)-3], ErrStreamTruncated},
		{"cut after a chunk", s, "ses_a", sealed[:5+chunk], ErrStreamTruncated},
		{"final chunk dropped", s, "ses_a", sealed[:5+2*chunk], ErrStreamTruncated},
		{"chunks swapped", s, "ses_a", mod(func(b []byte) []byte {
			first := append([]byte(nil), b[5:5+chunk]...)
			copy(b[5:5+chunk], b[5+chunk:5+2*chunk])
			copy(b[5+chunk:5+2*chunk], first)
			return b
		}), ErrOpen},
		{"final flag set early", s, "ses_a", mod(func(b []byte) []byte { b[5] = 1; return b }), ErrOpen},
		{"bytes after the end", s, "ses_a", append(append([]byte(nil), sealed...), 0), ErrOpen},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := io.ReadAll(c.s.OpenStream(bytes.NewReader(c.data), []byte(c.label)))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}
