package imgproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// pngIHDR is a PNG signature and IHDR chunk of w×h at the bit depth and
// colour type given, and nothing else: enough for a header check.
func pngIHDR(w, h uint32, depth, colourType byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colourType
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestDecodeMemoryBudget: an image whose pixel count is within the limit but
// whose decoded form is not (a 16-bit RGBA PNG holds 8 bytes a pixel) is
// refused from its header, before any pixel buffer; the same size at 8 bits
// passes the budget (and, having no pixel data here, fails as corrupt).
func TestDecodeMemoryBudget(t *testing.T) {
	tests := []struct {
		name              string
		w, h              uint32
		depth, colourType byte
		want              error
	}{
		{"4096² 16-bit RGBA", 4096, 4096, 16, 6, ErrTooLarge},
		{"4096² 8-bit RGBA", 4096, 4096, 8, 6, ErrCorrupt},
		{"4096² 16-bit grey", 4096, 4096, 16, 0, ErrCorrupt},
		{"6000² 8-bit RGB", 6000, 6000, 8, 2, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBytes(pngIHDR(tc.w, tc.h, tc.depth, tc.colourType), nil, DecodeOptions{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	// A caller may raise the budget.
	_, err := DecodeBytes(pngIHDR(4096, 4096, 16, 6), nil, DecodeOptions{MaxDecodedBytes: 1 << 30})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("with a 1 GiB budget: %v, want the header accepted", err)
	}
}
