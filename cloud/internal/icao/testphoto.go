package icao

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"image/jpeg"
	"time"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Size of an ICAO photo as the API serves it (seed 001): 480×600, 4:5.
const (
	Width  = 480
	Height = 600
)

var (
	background = color.RGBA{0xdc, 0xe3, 0xea, 0xff} // plain light grey-blue, as ICAO asks
	silhouette = color.RGBA{0x8a, 0x93, 0x9d, 0xff}
	bannerRed  = color.RGBA{0xc6, 0x28, 0x28, 0xff}
	white      = color.RGBA{0xff, 0xff, 0xff, 0xff}
	ink        = color.RGBA{0x20, 0x24, 0x28, 0xff}
)

// TestPhoto draws the test-mode portrait for sessionID, stamped with at, and
// returns it as a JPEG.
func TestPhoto(sessionID string, at time.Time) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, Width, Height))
	stddraw.Draw(img, img.Bounds(), image.NewUniform(background), image.Point{}, stddraw.Src)

	// Silhouette: head (ellipse) and shoulders (half ellipse), centred as an
	// ICAO face would be (eyes near 45% of the height).
	fillEllipse(img, Width/2, 250, 95, 125, silhouette)
	fillEllipse(img, Width/2, 600, 210, 150, silhouette)

	// Banners top and bottom, white text on red.
	stddraw.Draw(img, image.Rect(0, 20, Width, 92), image.NewUniform(bannerRed), image.Point{}, stddraw.Src)
	drawText(img, "TEST IMAGE", 36, 4, white)
	stddraw.Draw(img, image.Rect(0, 470, Width, 590), image.NewUniform(bannerRed), image.Point{}, stddraw.Src)
	drawText(img, "NOT A REAL PERSON", 482, 2, white)
	drawText(img, "livegate test mode - simulated", 516, 2, white)
	drawText(img, sessionID, 546, 1, white)
	drawText(img, at.UTC().Format(time.RFC3339), 564, 1, white)
	drawText(img, "SIMULATED", 104, 2, ink)

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("icao: encoding test photo: %w", err)
	}
	return buf.Bytes(), nil
}

func fillEllipse(img *image.RGBA, cx, cy, rx, ry int, c color.RGBA) {
	b := img.Bounds()
	for y := max(cy-ry, b.Min.Y); y < min(cy+ry+1, b.Max.Y); y++ {
		for x := max(cx-rx, b.Min.X); x < min(cx+rx+1, b.Max.X); x++ {
			dx, dy := float64(x-cx)/float64(rx), float64(y-cy)/float64(ry)
			if dx*dx+dy*dy <= 1 {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

// drawText draws s centred horizontally with its top at y, the 7×13 basic
// font scaled by an integer factor (nearest neighbour keeps it crisp).
func drawText(dst *image.RGBA, s string, y, scale int, c color.RGBA) {
	face := basicfont.Face7x13
	w := font.MeasureString(face, s).Ceil()
	h := face.Height
	small := image.NewRGBA(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: small, Src: image.NewUniform(c), Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	sw, sh := w*scale, h*scale
	x := (Width - sw) / 2
	xdraw.NearestNeighbor.Scale(dst, image.Rect(x, y, x+sw, y+sh), small, small.Bounds(), xdraw.Over, nil)
}
