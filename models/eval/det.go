package eval

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// DET plot geometry: both axes are logarithmic from detFloor to 100 %;
// a rate of 0 is drawn on the floor.
const (
	detW, detH       = 720, 600
	detLeft, detTop  = 70, 40
	detRight, detBot = 170, 60
	detFloor         = 0.001
)

var detColours = []color.RGBA{
	{0, 0, 0, 255}, {213, 94, 0, 255}, {0, 114, 178, 255}, {0, 158, 115, 255},
	{204, 121, 167, 255}, {230, 159, 0, 255}, {86, 180, 233, 255}, {120, 120, 120, 255},
}

type plot struct {
	img *image.RGBA
}

func (p *plot) px(rate float64, horizontal bool) float64 {
	v := math.Log10(math.Max(rate, detFloor))
	f := (v - math.Log10(detFloor)) / (0 - math.Log10(detFloor))
	if horizontal {
		return detLeft + f*float64(detW-detLeft-detRight)
	}
	return float64(detH-detBot) - f*float64(detH-detTop-detBot)
}

func (p *plot) set(x, y int, c color.RGBA) {
	if image.Pt(x, y).In(p.img.Rect) {
		p.img.SetRGBA(x, y, c)
	}
}

// line draws a line of the given width (1 or 2 px).
func (p *plot) line(x0, y0, x1, y1 float64, c color.RGBA, width int) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x, y := int(math.Round(x0+(x1-x0)*t)), int(math.Round(y0+(y1-y0)*t))
		for dx := 0; dx < width; dx++ {
			for dy := 0; dy < width; dy++ {
				p.set(x+dx, y+dy, c)
			}
		}
	}
}

func (p *plot) text(x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: p.img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func pct(v float64) string {
	switch {
	case v >= 0.01:
		return fmt.Sprintf("%g%%", math.Round(v*1000)/10)
	default:
		return fmt.Sprintf("%g%%", v*100)
	}
}

// WriteDET draws the DET curve (APCER of each species and of the worst
// species against BPCER, log axes, 0 drawn on the 0.1 % floor) as a PNG and
// marks the operating threshold.
func (r *Report) WriteDET(w io.Writer) error {
	p := &plot{img: image.NewRGBA(image.Rect(0, 0, detW, detH))}
	for i := range p.img.Pix {
		p.img.Pix[i] = 255
	}
	grid := color.RGBA{225, 225, 225, 255}
	axis := color.RGBA{60, 60, 60, 255}
	for _, t := range []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1} {
		x, y := p.px(t, true), p.px(t, false)
		p.line(x, detTop, x, float64(detH-detBot), grid, 1)
		p.line(detLeft, y, float64(detW-detRight), y, grid, 1)
		lbl := pct(t)
		if t == detFloor {
			lbl = "<=0.1%"
		}
		p.text(int(x)-len(lbl)*7/2, detH-detBot+16, lbl, axis)
		p.text(detLeft-8-len(lbl)*7, int(y)+4, lbl, axis)
	}
	p.line(detLeft, float64(detH-detBot), float64(detW-detRight), float64(detH-detBot), axis, 1)
	p.line(detLeft, detTop, detLeft, float64(detH-detBot), axis, 1)
	p.text(detLeft+(detW-detLeft-detRight)/2-60, detH-20, "APCER (attacks accepted)", axis)
	p.text(8, detTop-14, "BPCER (bona fide rejected)", axis)
	p.text(detLeft+200, 16, fmt.Sprintf("DET, %d samples; dot: threshold %.2f", r.Samples, r.Threshold), axis)
	names := []string{"worst species"}
	for _, s := range r.Species {
		names = append(names, r.speciesKey(s))
	}
	for k, name := range names {
		c := detColours[k%len(detColours)]
		get := func(d DETPoint) float64 {
			if k == 0 {
				return d.APCER
			}
			return d.Species[name]
		}
		width := 1
		if k == 0 {
			width = 2
		}
		for i := 1; i < len(r.DET); i++ {
			a, b := r.DET[i-1], r.DET[i]
			p.line(p.px(get(a), true), p.px(a.BPCER, false), p.px(get(b), true), p.px(b.BPCER, false), c, width)
		}
		// Operating point.
		op := operating(r.DET, r.Threshold)
		x, y := p.px(get(op), true), p.px(op.BPCER, false)
		for dx := -3; dx <= 3; dx++ {
			for dy := -3; dy <= 3; dy++ {
				if dx*dx+dy*dy <= 9 {
					p.set(int(x)+dx, int(y)+dy, c)
				}
			}
		}
		ly := detTop + 10 + 18*k
		p.line(float64(detW-detRight+10), float64(ly-4), float64(detW-detRight+30), float64(ly-4), c, 2)
		p.text(detW-detRight+34, ly, name, c)
	}
	if err := png.Encode(w, p.img); err != nil {
		return fmt.Errorf("eval: DET png: %w", err)
	}
	return nil
}

// operating returns the DET point at the lowest threshold ≥ thr.
func operating(det []DETPoint, thr float64) DETPoint {
	for _, d := range det {
		if d.Threshold >= thr {
			return d
		}
	}
	if len(det) == 0 {
		return DETPoint{}
	}
	return det[len(det)-1]
}
