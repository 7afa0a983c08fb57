package imgproc

import "math"

// SRGBToLinear decodes an 8-bit sRGB value to linear light in [0, 1] (the
// IEC 61966-2-1 curve), by table.
var SRGBToLinear = func() (t [256]float64) {
	for i := range t {
		v := float64(i) / 255
		if v <= 0.04045 {
			t[i] = v / 12.92
		} else {
			t[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return t
}()
