package liveness

import (
	"math"
	"math/cmplx"
	"sort"

	"livegate.dev/models/imgproc"
)

// texN is the side of the face patch whose spectrum is analysed, at the
// source's own resolution (screen pixels and print dots are finer than any
// resampling would keep).
const texN = 64

// texture is the spectral evidence of one face patch.
type texture struct {
	// Moire is the strongest isolated peak of the smoothed log spectrum at
	// mid and high frequencies over its ring's median (natural log units):
	// a screen's pixel grid aliased by the camera makes narrow peaks a skin
	// patch does not have.
	Moire float64
	// HF is the share of high-frequency power (0.25–0.5 cycles/px) in the
	// 0.05–0.5 band; printing and re-filming lower it.
	HF float64
}

// fft computes an in-place radix-2 FFT of len(a) (a power of two).
func fft(a []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := 0; k < size/2; k++ {
				u, v := a[start+k], a[start+k+size/2]*wk
				a[start+k], a[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
}

// texScratch holds reusable buffers for analyseTexture.
type texScratch struct {
	grid []complex128
	col  []complex128
	pow  []float64
	ring [][]float64
	hann [texN]float64
}

func newTexScratch() *texScratch {
	s := &texScratch{grid: make([]complex128, texN*texN), col: make([]complex128, texN), pow: make([]float64, texN*texN)}
	for i := range s.hann {
		s.hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/texN)
	}
	s.ring = make([][]float64, texN)
	return s
}

// analyseTexture measures the texN×texN grey patch of img centred at
// (cx, cy). ok is false when the patch does not fit in the image.
func (s *texScratch) analyse(img *imgproc.RGB, cx, cy int) (texture, bool) {
	x0, y0 := cx-texN/2, cy-texN/2
	if x0 < 0 || y0 < 0 || x0+texN > img.W || y0+texN > img.H {
		return texture{}, false
	}
	var mean float64
	for y := 0; y < texN; y++ {
		for x := 0; x < texN; x++ {
			i := ((y0+y)*img.W + x0 + x) * 3
			g := 0.299*float64(img.Pix[i]) + 0.587*float64(img.Pix[i+1]) + 0.114*float64(img.Pix[i+2])
			s.grid[y*texN+x] = complex(g, 0)
			mean += g
		}
	}
	mean /= texN * texN
	for y := 0; y < texN; y++ {
		for x := 0; x < texN; x++ {
			v := real(s.grid[y*texN+x]) - mean
			s.grid[y*texN+x] = complex(v*s.hann[x]*s.hann[y], 0)
		}
	}
	for y := 0; y < texN; y++ {
		fft(s.grid[y*texN : (y+1)*texN])
	}
	for x := 0; x < texN; x++ {
		for y := 0; y < texN; y++ {
			s.col[y] = s.grid[y*texN+x]
		}
		fft(s.col)
		for y := 0; y < texN; y++ {
			p := real(s.col[y])*real(s.col[y]) + imag(s.col[y])*imag(s.col[y])
			s.pow[y*texN+x] = p
		}
	}
	// Smooth the periodogram over 3×3 bins (its raw values scatter by a
	// factor of e); a real peak survives, a noise spike does not.
	freq := func(i int) int {
		if i >= texN/2 {
			return i - texN
		}
		return i
	}
	for i := range s.ring {
		s.ring[i] = s.ring[i][:0]
	}
	var lo, hi float64
	type bin struct {
		r int
		v float64
	}
	bins := make([]bin, 0, texN*texN/2)
	for v := 0; v < texN; v++ {
		for u := 0; u < texN; u++ {
			fu, fv := freq(u), freq(v)
			if fv < 0 || (fv == 0 && fu < 0) {
				continue // the spectrum of a real patch is symmetric
			}
			r := math.Hypot(float64(fu), float64(fv))
			p := s.pow[v*texN+u]
			if r >= 0.05*texN && r < 0.25*texN {
				lo += p
			} else if r >= 0.25*texN && r <= 0.5*texN {
				hi += p
			}
			if r < 0.12*texN || r > 0.5*texN || onBlockLattice(fu, fv) {
				continue
			}
			var sm float64
			for dv := -1; dv <= 1; dv++ {
				for du := -1; du <= 1; du++ {
					sm += s.pow[((v+dv+texN)%texN)*texN+(u+du+texN)%texN]
				}
			}
			lv := math.Log(sm/9 + 1e-9)
			ri := int(math.Round(r))
			s.ring[ri] = append(s.ring[ri], lv)
			bins = append(bins, bin{ri, lv})
		}
	}
	med := make([]float64, texN)
	for i, rg := range s.ring {
		if len(rg) > 0 {
			c := append([]float64(nil), rg...)
			sort.Float64s(c)
			med[i] = c[len(c)/2]
		}
	}
	var t texture
	for _, b := range bins {
		t.Moire = math.Max(t.Moire, b.v-med[b.r])
	}
	if lo+hi > 0 {
		t.HF = hi / (lo + hi)
	}
	return t, true
}

// blockPeriod is the JPEG block size: compression leaves a periodic
// pattern at multiples of 1/blockPeriod cycles per pixel (block edges), and
// a camera's scaler at a ratio of small integers leaves one there too. A
// peak there says "compressed" or "resampled", not "screen".
const blockPeriod = 8

// onBlockLattice reports whether the frequency bin (fu, fv) of the texN
// spectrum lies within one bin of a multiple of texN/blockPeriod in both
// directions; those bins are left out of the moiré search.
func onBlockLattice(fu, fv int) bool {
	step := texN / blockPeriod
	near := func(f int) bool {
		m := ((f % step) + step) % step
		return m <= 1 || m >= step-1
	}
	return near(fu) && near(fv)
}
