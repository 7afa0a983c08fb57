package icao

import (
	"bytes"
	"image/jpeg"
	"testing"
	"time"
)

func TestTestPhoto(t *testing.T) {
	b, err := TestPhoto("ses_01JTEST", time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if got := img.Bounds().Size(); got.X != Width || got.Y != Height {
		t.Fatalf("size %v, want %dx%d", got, Width, Height)
	}
	// The top banner is red and carries white text: both colours must be present.
	var red, whiteish int
	for x := 0; x < Width; x++ {
		for y := 22; y < 90; y++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			switch {
			case r>>8 > 170 && g>>8 < 80 && bl>>8 < 80:
				red++
			case r>>8 > 220 && g>>8 > 220 && bl>>8 > 220:
				whiteish++
			}
		}
	}
	if red < 10000 || whiteish < 1000 {
		t.Fatalf("banner not drawn: %d red, %d white pixels", red, whiteish)
	}
	// Different sessions give different images (the id is stamped).
	b2, err := TestPhoto("ses_01JOTHER", time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(b, b2) {
		t.Fatal("session id not stamped into the photo")
	}
}
