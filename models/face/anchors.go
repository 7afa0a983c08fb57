package face

import "math"

// AnchorOptions mirrors MediaPipe's SsdAnchorsCalculatorOptions (the fields
// the face detectors use).
type AnchorOptions struct {
	NumLayers                    int
	MinScale, MaxScale           float64
	InputW, InputH               int
	AnchorOffsetX, AnchorOffsetY float64
	Strides                      []int
	AspectRatios                 []float64
	FixedAnchorSize              bool
	// InterpolatedScaleAspectRatio adds one anchor per layer between this
	// layer's scale and the next; MediaPipe's default is 1.0, 0 disables it.
	InterpolatedScaleAspectRatio float64
	ReduceBoxesInLowestLayer     bool
}

// Anchor is one SSD anchor in normalised input coordinates.
type Anchor struct{ XCenter, YCenter, W, H float64 }

// Calculator options of MediaPipe's face_detection graphs.
var (
	// ShortRangeAnchors: face_detection_short_range (128×128, 896 anchors).
	ShortRangeAnchors = AnchorOptions{
		NumLayers: 4, MinScale: 0.1484375, MaxScale: 0.75, InputW: 128, InputH: 128,
		AnchorOffsetX: 0.5, AnchorOffsetY: 0.5, Strides: []int{8, 16, 16, 16},
		AspectRatios: []float64{1.0}, FixedAnchorSize: true, InterpolatedScaleAspectRatio: 1.0,
	}
	// FullRangeAnchors: face_detection_full_range (192×192, 2304 anchors).
	FullRangeAnchors = AnchorOptions{
		NumLayers: 1, MinScale: 0.1484375, MaxScale: 0.75, InputW: 192, InputH: 192,
		AnchorOffsetX: 0.5, AnchorOffsetY: 0.5, Strides: []int{4},
		AspectRatios: []float64{1.0}, FixedAnchorSize: true, InterpolatedScaleAspectRatio: 0,
	}
)

func anchorScale(minScale, maxScale float64, i, n int) float64 {
	if n == 1 {
		return (minScale + maxScale) * 0.5
	}
	return minScale + (maxScale-minScale)*float64(i)/float64(n-1)
}

// GenerateAnchors follows MediaPipe's SsdAnchorsCalculator: consecutive
// layers with the same stride share one feature map and their anchors are
// interleaved per cell.
func GenerateAnchors(o AnchorOptions) []Anchor {
	var out []Anchor
	for layer := 0; layer < o.NumLayers; {
		var heights, widths, ratios, scales []float64
		last := layer
		for last < len(o.Strides) && o.Strides[last] == o.Strides[layer] {
			scale := anchorScale(o.MinScale, o.MaxScale, last, len(o.Strides))
			if last == 0 && o.ReduceBoxesInLowestLayer {
				ratios = append(ratios, 1.0, 2.0, 0.5)
				scales = append(scales, 0.1, scale, scale)
			} else {
				for _, ar := range o.AspectRatios {
					ratios = append(ratios, ar)
					scales = append(scales, scale)
				}
				if o.InterpolatedScaleAspectRatio > 0 {
					next := 1.0
					if last != len(o.Strides)-1 {
						next = anchorScale(o.MinScale, o.MaxScale, last+1, len(o.Strides))
					}
					scales = append(scales, math.Sqrt(scale*next))
					ratios = append(ratios, o.InterpolatedScaleAspectRatio)
				}
			}
			last++
		}
		for i, r := range ratios {
			s := math.Sqrt(r)
			heights = append(heights, scales[i]/s)
			widths = append(widths, scales[i]*s)
		}
		stride := o.Strides[layer]
		fh := int(math.Ceil(float64(o.InputH) / float64(stride)))
		fw := int(math.Ceil(float64(o.InputW) / float64(stride)))
		for y := 0; y < fh; y++ {
			for x := 0; x < fw; x++ {
				for k := range heights {
					a := Anchor{
						XCenter: (float64(x) + o.AnchorOffsetX) / float64(fw),
						YCenter: (float64(y) + o.AnchorOffsetY) / float64(fh),
						W:       widths[k], H: heights[k],
					}
					if o.FixedAnchorSize {
						a.W, a.H = 1, 1
					}
					out = append(out, a)
				}
			}
		}
		layer = last
	}
	return out
}
