package liveness

import (
	"cmp"
	"hash/maphash"
	"math"
	"slices"
	"time"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// thumbN is the side of the grey face thumbnail compared between frames.
const thumbN = 24

// frameRec is what the Analyzer keeps of one frame: measures, not pixels.
type frameRec struct {
	idx   int
	t     time.Duration
	faces int   // significant faces detected
	ok    bool  // exactly one face with a mesh
	pts   []pt2 // the motionPoints of the mesh (not all 468: memory)
	iod   float64
	m     face.Measures
	box   [4]float32
	luma  float64 // mean grey level of the face box
	// scene is the mean grey level of the frame outside the face box and
	// glare the share of face-box pixels with a clipped channel.
	scene, glare float64
	sharp        float64 // mean |Laplacian| of the face box at a fixed scale, per 100 grey levels of its mean
	skin         [3]float64
	// relief and reliefCos are the colour (linear RGB) around each of
	// reliefPoints and the cosine of the angle between the mesh's surface
	// there and the camera's axis (fillRelief).
	relief    [][3]float64
	reliefCos []float64
	light     *Light
	thumb     [thumbN * thumbN]float32
	hash      uint64 // of the whole frame's pixels
	tex       texture
	hasTx     bool
	crop      *greyCrop
	// sur and faceD are the background's and the face's displacement from
	// the previous frame (source pixels; surroundTracker), when hasSur.
	sur, faceD pt2
	surN       int
	hasSur     bool
}

var hashSeed = maphash.MakeSeed()

// centre returns the centroid of the kept landmarks.
func (r *frameRec) centre() pt2 {
	var c pt2
	for _, p := range r.pts {
		c[0] += p[0]
		c[1] += p[1]
	}
	n := float64(len(r.pts))
	return pt2{c[0] / n, c[1] / n}
}

// fillPatches computes the face box's grey thumbnail, luma and sharpness.
func (r *frameRec) fillPatches(img *imgproc.RGB) {
	bx, by, bw, bh := float64(r.box[0]), float64(r.box[1]), float64(r.box[2]), float64(r.box[3])
	// Thumbnail: area means over thumbN×thumbN cells of the box.
	for j := 0; j < thumbN; j++ {
		y0 := int(by + bh*float64(j)/thumbN)
		y1 := max(int(by+bh*float64(j+1)/thumbN), y0+1)
		for i := 0; i < thumbN; i++ {
			x0 := int(bx + bw*float64(i)/thumbN)
			x1 := max(int(bx+bw*float64(i+1)/thumbN), x0+1)
			var s float64
			n := 0
			for y := max(y0, 0); y < min(y1, img.H); y++ {
				for x := max(x0, 0); x < min(x1, img.W); x++ {
					k := (y*img.W + x) * 3
					s += 0.299*float64(img.Pix[k]) + 0.587*float64(img.Pix[k+1]) + 0.114*float64(img.Pix[k+2])
					n++
				}
			}
			if n > 0 {
				s /= float64(n)
			}
			r.thumb[j*thumbN+i] = float32(s)
		}
	}
	// Luma and sharpness on a 64×64 nearest-neighbour grid of the box: the
	// Laplacian at a fixed face scale, so the figure does not depend on the
	// distance.
	const g = 64
	var grid [g * g]float64
	var sum float64
	for j := 0; j < g; j++ {
		y := min(max(int(by+bh*(float64(j)+0.5)/g), 0), img.H-1)
		for i := 0; i < g; i++ {
			x := min(max(int(bx+bw*(float64(i)+0.5)/g), 0), img.W-1)
			k := (y*img.W + x) * 3
			v := 0.299*float64(img.Pix[k]) + 0.587*float64(img.Pix[k+1]) + 0.114*float64(img.Pix[k+2])
			grid[j*g+i] = v
			sum += v
		}
	}
	r.luma = sum / (g * g)
	var lap float64
	for j := 1; j < g-1; j++ {
		for i := 1; i < g-1; i++ {
			c := grid[j*g+i]
			lap += math.Abs(4*c - grid[(j-1)*g+i] - grid[(j+1)*g+i] - grid[j*g+i-1] - grid[j*g+i+1])
		}
	}
	// Relative to the brightness, so a dim face is not called blurred.
	r.sharp = 100 * lap / float64((g-2)*(g-2)) / math.Max(r.luma, 1)
}

// fillScene measures the frame around the face (for back light) and the
// clipped highlights on the face (glare), on a sparse grid.
func (r *frameRec) fillScene(img *imgproc.RGB) {
	bx0, by0 := int(r.box[0]), int(r.box[1])
	bx1, by1 := bx0+int(r.box[2]), by0+int(r.box[3])
	var out, in, clipped float64
	var nOut float64
	for y := 0; y < img.H; y += 4 {
		for x := 0; x < img.W; x += 4 {
			k := (y*img.W + x) * 3
			if x >= bx0 && x < bx1 && y >= by0 && y < by1 {
				in++
				if max(img.Pix[k], img.Pix[k+1], img.Pix[k+2]) >= 250 {
					clipped++
				}
				continue
			}
			out += 0.299*float64(img.Pix[k]) + 0.587*float64(img.Pix[k+1]) + 0.114*float64(img.Pix[k+2])
			nOut++
		}
	}
	if nOut > 0 {
		r.scene = out / nOut
	}
	if in > 0 {
		r.glare = clipped / in
	}
}

// skinPoints are mesh points on the cheeks and forehead, away from the
// eyes, nostrils and lips, whose colour follows the light on the face.
var skinPoints = []int{50, 280, 151, 101, 330, 117, 346}

// fillSkin averages the colour of small squares around skinPoints, in
// linear [0, 1] RGB.
func (r *frameRec) fillSkin(img *imgproc.RGB, mesh []pt2) {
	rad := max(int(r.iod*0.12), 1)
	var s [3]float64
	n := 0
	for _, pi := range skinPoints {
		s, n = addSquare(img, int(mesh[pi][0]), int(mesh[pi][1]), rad, s, n)
	}
	if n > 0 {
		for c := range s {
			r.skin[c] = s[c] / float64(n)
		}
	}
}

// addSquare adds to sum the linear RGB of the pixels of img in the square
// of half-side rad around (cx, cy), clipped to the image, and to n their
// count.
func addSquare(img *imgproc.RGB, cx, cy, rad int, sum [3]float64, n int) ([3]float64, int) {
	for y := max(cy-rad, 0); y <= min(cy+rad, img.H-1); y++ {
		for x := max(cx-rad, 0); x <= min(cx+rad, img.W-1); x++ {
			k := (y*img.W + x) * 3
			sum[0] += imgproc.SRGBToLinear[img.Pix[k]]
			sum[1] += imgproc.SRGBToLinear[img.Pix[k+1]]
			sum[2] += imgproc.SRGBToLinear[img.Pix[k+2]]
			n++
		}
	}
	return sum, n
}

// reliefPoints are mesh points spread over the skin of the forehead, the
// nose, the cheeks from the front to the side and the jaw, away from the
// eyes, brows, nostrils and lips: where the face turns towards or away from
// a light beside the camera.
var reliefPoints = []int{
	// forehead
	10, 151, 9, 108, 337, 67, 297, 109, 338, 104, 333, 69, 299,
	// cheeks, front
	117, 346, 118, 347, 50, 280, 101, 330, 36, 266, 205, 425, 119, 348,
	// cheeks, towards the side
	123, 352, 116, 345, 147, 376, 213, 433, 192, 416, 93, 323, 137, 366, 227, 447, 34, 264,
	// nose
	6, 197, 195, 5, 198, 420, 217, 437, 209, 429, 129, 358, 114, 343,
	// chin and jaw
	152, 175, 199, 200, 171, 396, 208, 428, 32, 262, 169, 394, 135, 364, 138, 367, 172, 397, 58, 288,
}

// reliefNeighbours is how many mesh points (the point and its nearest in
// the image) the surface's plane at a relief point is fitted to.
const reliefNeighbours = 10

// fillRelief samples the colour around each of reliefPoints (squares of
// half-side 5 % of the eye distance, at least a pixel) and estimates the
// mesh's surface normal there: the least-squares plane z = ax + by + c
// through the point's reliefNeighbours nearest mesh points, whose normal
// makes the angle with cosine 1/√(1 + a² + b²) with the camera's axis.
// The neighbours are found on the first frame a session samples (nb nil)
// and kept (the mesh's topology is fixed).
func (r *frameRec) fillRelief(img *imgproc.RGB, lm *face.Landmarks, nb *[][]int) {
	rad := max(int(math.Round(r.iod*0.1)), 1)
	r.relief = make([][3]float64, len(reliefPoints))
	r.reliefCos = make([]float64, len(reliefPoints))
	if *nb == nil {
		*nb = reliefNeighbourhoods(lm)
	}
	for k, pi := range reliefPoints {
		c := lm.Points[pi]
		s, n := addSquare(img, int(math.Round(float64(c[0]))), int(math.Round(float64(c[1]))), rad, [3]float64{}, 0)
		if n > 0 {
			r.relief[k] = [3]float64{s[0] / float64(n), s[1] / float64(n), s[2] / float64(n)}
		}
		r.reliefCos[k] = planeCos(lm, (*nb)[k])
	}
}

// reliefNeighbourhoods lists, for each of reliefPoints, the point and its
// reliefNeighbours − 1 nearest mesh points in lm.
func reliefNeighbourhoods(lm *face.Landmarks) [][]int {
	type nb struct {
		d float64
		i int
	}
	out := make([][]int, len(reliefPoints))
	near := make([]nb, 0, len(lm.Points))
	for k, pi := range reliefPoints {
		c := lm.Points[pi]
		near = near[:0]
		for i, p := range lm.Points {
			dx, dy := float64(p[0]-c[0]), float64(p[1]-c[1])
			near = append(near, nb{dx*dx + dy*dy, i})
		}
		slices.SortFunc(near, func(a, b nb) int { return cmp.Compare(a.d, b.d) })
		for _, v := range near[:reliefNeighbours] {
			out[k] = append(out[k], v.i)
		}
	}
	return out
}

// planeCos fits z = ax + by + c to the mesh points idx (least squares,
// centred) and returns 1/√(1 + a² + b²); 1 when the points do not span a
// plane.
func planeCos(lm *face.Landmarks, idx []int) float64 {
	var mx, my, mz float64
	n := float64(len(idx))
	for _, i := range idx {
		p := lm.Points[i]
		mx, my, mz = mx+float64(p[0])/n, my+float64(p[1])/n, mz+float64(p[2])/n
	}
	var sxx, sxy, syy, sxz, syz float64
	for _, i := range idx {
		p := lm.Points[i]
		x, y, z := float64(p[0])-mx, float64(p[1])-my, float64(p[2])-mz
		sxx, sxy, syy, sxz, syz = sxx+x*x, sxy+x*y, syy+y*y, sxz+x*z, syz+y*z
	}
	det := sxx*syy - sxy*sxy
	if det <= 1e-9*(sxx*syy+1e-12) {
		return 1
	}
	a := (sxz*syy - syz*sxy) / det
	b := (syz*sxx - sxz*sxy) / det
	return 1 / math.Sqrt(1+a*a+b*b)
}

func frameHash(img *imgproc.RGB) uint64 {
	return maphash.Bytes(hashSeed, img.Pix)
}

// thumbMAD is the mean absolute grey difference of two thumbnails.
func thumbMAD(a, b *frameRec) float64 {
	var s float64
	for i := range a.thumb {
		s += math.Abs(float64(a.thumb[i] - b.thumb[i]))
	}
	return s / float64(len(a.thumb))
}

// iodOf is the distance between the outer eye corners.
func iodOf(pts []pt2) float64 {
	a, b := pts[face.MeshRightEyeOuter], pts[face.MeshLeftEyeOuter]
	return math.Hypot(a[0]-b[0], a[1]-b[1])
}
