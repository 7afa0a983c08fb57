package capture

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"

	xdraw "golang.org/x/image/draw"

	"livegate.dev/models/face"
	"livegate.dev/models/icao"
	"livegate.dev/models/imgproc"
)

// PhotoFunc makes the 480×600 ICAO JPEG from the best frame and its mesh.
type PhotoFunc func(img *imgproc.RGB, lm *face.Landmarks) ([]byte, error)

// ICAOPhoto is the default PhotoFunc: the engine's ICAO portrait
// (models/icao: roll corrected, chin-to-crown 75 %, eye line 55 % from the
// bottom), falling back to Portrait if it cannot be made.
func ICAOPhoto(img *imgproc.RGB, lm *face.Landmarks) ([]byte, error) {
	p, err := icao.Make(img, lm)
	if err == nil && len(p.JPEG) > 0 {
		return p.JPEG, nil
	}
	b, perr := Portrait(img, lm)
	if perr != nil {
		return nil, fmt.Errorf("capture: ICAO photo: %w; fallback: %w", err, perr)
	}
	return b, nil
}

// Portrait is the fallback PhotoFunc: a 4:5 crop centred between the eyes,
// scaled so that the head (chin to an estimated crown) fills 75 % of the
// height with the eyes at about 45 % from the top (ICAO 9303's ranges are
// 70–80 % and 30–50 %), padded with light grey where the frame ends, and
// resampled to 480×600.
func Portrait(img *imgproc.RGB, lm *face.Landmarks) ([]byte, error) {
	if img == nil || lm == nil {
		return nil, fmt.Errorf("capture: portrait: no frame")
	}
	p := func(i int) (float64, float64) { return float64(lm.Points[i][0]), float64(lm.Points[i][1]) }
	rx, ry := p(face.MeshRightEyeOuter)
	lx, ly := p(face.MeshLeftEyeOuter)
	fx, fy := p(face.MeshForehead)
	cx, cy := p(face.MeshChin)
	faceH := math.Hypot(cx-fx, cy-fy)
	if faceH < 8 {
		return nil, fmt.Errorf("capture: portrait: face too small (%.0f px)", faceH)
	}
	headH := faceH * 1.3 // the mesh's forehead point sits below the crown
	outH := headH / 0.75
	outW := outH * 0.8
	eyeX, eyeY := (rx+lx)/2, (ry+ly)/2
	x0 := eyeX - outW/2
	y0 := eyeY - 0.45*outH
	src := img.ToImage()
	dst := image.NewRGBA(image.Rect(0, 0, 480, 600))
	xdraw.Draw(dst, dst.Bounds(), image.NewUniform(color.RGBA{235, 235, 235, 255}), image.Point{}, xdraw.Src)
	// Map the crop rectangle, clipped to the frame, onto the output.
	sx0, sy0 := math.Max(x0, 0), math.Max(y0, 0)
	sx1, sy1 := math.Min(x0+outW, float64(img.W)), math.Min(y0+outH, float64(img.H))
	if sx1-sx0 < 4 || sy1-sy0 < 4 {
		return nil, fmt.Errorf("capture: portrait: face outside the frame")
	}
	k := 480 / outW
	dr := image.Rect(int((sx0-x0)*k), int((sy0-y0)*k), int((sx1-x0)*k), int((sy1-y0)*k))
	xdraw.CatmullRom.Scale(dst, dr, src, image.Rect(int(sx0), int(sy0), int(sx1), int(sy1)), xdraw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 92}); err != nil {
		return nil, fmt.Errorf("capture: portrait: encode: %w", err)
	}
	return buf.Bytes(), nil
}
