package document

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"math"
	"sort"
	"strings"
	"time"

	"livegate.dev/models/imgproc"
)

// OCR reads characters from an image: what Reader needs of an engine.
// Tesseract satisfies it.
type OCR interface {
	Read(ctx context.Context, img image.Image, mode Mode) ([]Glyph, error)
}

// Mode is what the image given to an OCR holds.
type Mode int

const (
	// ModeBlock: lines of text (the MRZ band).
	ModeBlock Mode = iota
	// ModeChar: one character (a cell the block reading left empty).
	ModeChar
)

var _ OCR = Tesseract{}

// Reader reads a document from a photo. The zero value is ready: Tesseract
// on $PATH and the wall clock.
type Reader struct {
	// OCR is the engine. Optional. Default: Tesseract{}.
	OCR OCR
	// Now is the clock that resolves two-digit years. Optional. Default: time.Now.
	Now func() time.Time
	// PxPerMM is the resolution the document is rectified to before it is
	// read. Optional. Default: 12 (about 300 dpi).
	PxPerMM float64
}

// Status says how far reading got.
type Status string

const (
	// StatusRead: the MRZ was read in full (its check digits may still fail).
	StatusRead Status = "read"
	// StatusNotFound: no document outline was found in the photo.
	StatusNotFound Status = "not_found"
	// StatusUnreadable: a document was found but no MRZ could be read from it.
	StatusUnreadable Status = "unreadable"
)

// Result is what Reader.Read found.
type Result struct {
	Status Status `json:"status"`
	// Quad is the document's outline in the photo.
	Quad Quad `json:"quad"`
	// MRZ is the zone read, after corrections; nil unless Status is StatusRead.
	MRZ *MRZ `json:"mrz,omitempty"`
	// OCRLines are the MRZ lines as the engine read them, placed on the
	// character grid, before any correction.
	OCRLines []string `json:"ocr_lines,omitempty"`
	// Portrait is the rectified portrait zone, for a face match; nil when
	// no document was found.
	Portrait *image.RGBA `json:"-"`
	// Duration is the time Read took.
	Duration time.Duration `json:"duration"`
}

// Confidence is the lowest field confidence, 0 when nothing was read.
func (r *Result) Confidence() float64 {
	if r.MRZ == nil || len(r.MRZ.Fields) == 0 {
		return 0
	}
	c := 1.0
	for _, f := range r.MRZ.Fields {
		c = math.Min(c, f.Confidence)
	}
	return c
}

// Read finds the document in img, rectifies it, reads its MRZ and cuts out
// its portrait. A photo without a readable document is not an error: see
// Result.Status. Errors are the OCR engine's (missing, failing, ctx done).
func (r *Reader) Read(ctx context.Context, img image.Image) (*Result, error) {
	start := time.Now()
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	ocr := r.OCR
	if ocr == nil {
		ocr = Tesseract{}
	}
	s := r.PxPerMM
	if s <= 0 {
		s = 12
	}
	res := &Result{Status: StatusNotFound}
	defer func() { res.Duration = time.Since(start) }()
	q, err := Locate(img)
	if err != nil {
		return res, nil
	}
	res.Quad = q
	res.Status = StatusUnreadable
	src := toRGBA(img)
	// The outline's aspect says card or passport page first; the other is
	// tried when the first does not read with every check digit right, and
	// the reading with more checks passing is kept.
	formats := []Format{TD1, TD3}
	if math.Abs(q.Aspect()-TD3.Aspect()) < math.Abs(q.Aspect()-TD1.Aspect()) {
		formats = []Format{TD3, TD1}
	}
	var firstPortrait *image.RGBA
	bestScore := -1.0
	for _, f := range formats {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		g := geometryOf(f)
		h, ok := homographyOf([4]Point{{0, 0}, {g.w * s, 0}, {g.w * s, g.h * s}, {0, g.h * s}}, [4]Point(q))
		if !ok {
			continue
		}
		portrait := image.NewRGBA(image.Rect(int(g.portrait[0]*s), int(g.portrait[1]*s), int(g.portrait[2]*s), int(g.portrait[3]*s)))
		warp(portrait, src, h)
		if firstPortrait == nil {
			firstPortrait = portrait
		}
		// The band stops short of the document's edges, where a sliver of
		// background would be ink stuck to the first character, and is read
		// on a white margin.
		band := image.NewRGBA(image.Rect(int((g.mrzLeft-2)*s), int(g.mrzTop*s), int((g.w-1.5)*s), int((g.h-0.8)*s)))
		warp(band, src, h)
		bin := binarise(band, int(3*g.pitch*s))
		pad := int(2 * g.pitch * s)
		padded := image.NewGray(image.Rect(0, 0, bin.Rect.Dx()+2*pad, bin.Rect.Dy()+2*pad))
		for i := range padded.Pix {
			padded.Pix[i] = 255
		}
		draw.Draw(padded, bin.Rect.Sub(bin.Rect.Min).Add(image.Pt(pad, pad)), bin, bin.Rect.Min, draw.Src)
		glyphs, err := ocr.Read(ctx, padded, ModeBlock)
		if err != nil {
			return nil, err
		}
		for i := range glyphs { // back to document pixels
			glyphs[i].Box = glyphs[i].Box.Add(bin.Rect.Min.Sub(image.Pt(pad, pad)))
		}
		lines, conf, centres := placeOnGrid(glyphs, f, s)
		if lines == nil {
			continue
		}
		fillers(bin, lines, conf, centres, f, s)
		if err := reread(ctx, ocr, bin, lines, conf, centres, f, s); err != nil {
			return nil, err
		}
		nameTail(lines, conf, f)
		optionalTail(lines, conf, f)
		m := correct(lines, conf, f, now())
		if m == nil {
			continue
		}
		if sc := score(m); sc > bestScore {
			bestScore = sc
			res.Status, res.MRZ, res.Portrait = StatusRead, m, portrait
			res.OCRLines = make([]string, len(lines))
			for i, l := range lines {
				res.OCRLines[i] = string(l)
			}
		}
		if m.Valid() {
			break
		}
	}
	if res.Portrait == nil {
		res.Portrait = firstPortrait
	}
	return res, nil
}

// score ranks readings of one photo: the share of check digits that
// match, then the mean field confidence.
func score(m *MRZ) float64 {
	var checks, ok, conf float64
	for _, f := range m.Fields {
		conf += f.Confidence
		if f.HasCheck {
			checks++
			if f.CheckOK {
				ok++
			}
		}
	}
	return ok/max(checks, 1) + 0.1*conf/float64(max(len(m.Fields), 1))
}

func toRGBA(img image.Image) *image.RGBA {
	if m, ok := img.(*image.RGBA); ok {
		return m
	}
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m
}

// binarise is Bradley's adaptive threshold: a pixel darker by 15 % than
// the mean of the win×win square around it is ink. Glare and shading
// change the mean, not the decision.
func binarise(src *image.RGBA, win int) *image.Gray {
	b := src.Rect
	w, h := b.Dx(), b.Dy()
	lum := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := src.PixOffset(b.Min.X+x, b.Min.Y+y)
			lum[y*w+x] = 0.299*float64(src.Pix[i]) + 0.587*float64(src.Pix[i+1]) + 0.114*float64(src.Pix[i+2])
		}
	}
	integral := make([]float64, (w+1)*(h+1))
	for y := 0; y < h; y++ {
		row := 0.0
		for x := 0; x < w; x++ {
			row += lum[y*w+x]
			integral[(y+1)*(w+1)+x+1] = integral[y*(w+1)+x+1] + row
		}
	}
	out := image.NewGray(b)
	r := max(win/2, 1)
	for y := 0; y < h; y++ {
		y0, y1 := max(y-r, 0), min(y+r+1, h)
		for x := 0; x < w; x++ {
			x0, x1 := max(x-r, 0), min(x+r+1, w)
			sum := integral[y1*(w+1)+x1] - integral[y0*(w+1)+x1] - integral[y1*(w+1)+x0] + integral[y0*(w+1)+x0]
			mean := sum / float64((x1-x0)*(y1-y0))
			v := uint8(255)
			if lum[y*w+x] < mean*0.85 {
				v = 0
			}
			out.Pix[y*out.Stride+x] = v
		}
	}
	return out
}

// placeOnGrid puts each character the engine read in its cell of the MRZ:
// the row whose line its centre is nearest, the column its centre falls in
// at the 2.54 mm pitch (offsets estimated from the characters themselves).
// Two characters in one cell (a '<' read as "<K") keep the one nearer the
// cell's centre; an empty cell is left 0 for fillers and reread.
func placeOnGrid(glyphs []Glyph, f Format, s float64) ([][]byte, [][]float64, [][]Point) {
	g := geometryOf(f)
	if len(glyphs) < f.Lines()*f.Width()/2 {
		return nil, nil, nil
	}
	rowY := make([]float64, len(g.mrzBaseline))
	for i, b := range g.mrzBaseline {
		rowY[i] = (b - g.capHeight/2) * s
	}
	pitch := g.pitch * s
	cy := func(gl Glyph) float64 { return float64(gl.Box.Min.Y+gl.Box.Max.Y) / 2 }
	cx := func(gl Glyph) float64 { return float64(gl.Box.Min.X+gl.Box.Max.X) / 2 }
	nearest := func(y, off float64) int {
		best := 0
		for i := range rowY {
			if math.Abs(y-off-rowY[i]) < math.Abs(y-off-rowY[best]) {
				best = i
			}
		}
		return best
	}
	var dys []float64
	for _, gl := range glyphs {
		dys = append(dys, cy(gl)-rowY[nearest(cy(gl), 0)])
	}
	dy := median(dys)
	rows := make([][]Glyph, len(rowY))
	for _, gl := range glyphs {
		i := nearest(cy(gl), dy)
		if math.Abs(cy(gl)-dy-rowY[i]) < pitch*0.9 {
			rows[i] = append(rows[i], gl)
		}
	}
	x0 := (g.mrzLeft + g.pitch/2) * s // centre of column 0, about
	lines := make([][]byte, len(rows))
	conf := make([][]float64, len(rows))
	centres := make([][]Point, len(rows))
	for r, row := range rows {
		if len(row) < f.Width()/3 {
			return nil, nil, nil
		}
		// The fractional offset of the glyph centres from the pitch grid,
		// as a circular mean.
		var sn, cs float64
		for _, gl := range row {
			a := 2 * math.Pi * (cx(gl) - x0) / pitch
			sn += math.Sin(a)
			cs += math.Cos(a)
		}
		off := math.Atan2(sn, cs) / (2 * math.Pi) * pitch
		// Then the line's own start and pitch, fitted by least squares to
		// the columns so found: a small scale error of the rectification
		// would otherwise add up along 44 characters.
		a, b := x0+off, pitch
		var sx, sy, sxx, sxy, n float64
		for _, gl := range row {
			col := math.Round((cx(gl) - a) / b)
			sx, sy, sxx, sxy, n = sx+col, sy+cx(gl), sxx+col*col, sxy+col*cx(gl), n+1
		}
		if den := n*sxx - sx*sx; n >= 10 && den > 0 {
			if fb := (n*sxy - sx*sy) / den; math.Abs(fb-pitch) < 0.05*pitch {
				a, b = (sy-fb*sx)/n, fb
			}
		}
		line := make([]byte, f.Width())
		c := make([]float64, f.Width())
		d := make([]float64, f.Width())
		for i := range d {
			d[i] = math.Inf(1)
		}
		for _, gl := range row {
			col := int(math.Round((cx(gl) - a) / b))
			if col < 0 || col >= f.Width() {
				continue
			}
			dd := math.Abs(cx(gl) - a - float64(col)*b)
			if dd < d[col] {
				line[col], c[col], d[col] = gl.Char, gl.Confidence, dd
			}
		}
		centres[r] = make([]Point, f.Width())
		for i := range line {
			centres[r][i] = Point{a + float64(i)*b, rowY[r] + dy}
		}
		lines[r], conf[r] = line, c
	}
	return lines, conf, centres
}

// fillers settles the cells that may hold the filler '<' by the shape of
// their ink (cellInk): a chevron read as a letter becomes '<', an empty
// cell becomes '<' trusted only when it holds a chevron, and a '<' where
// the field wants a digit is not trusted.
func fillers(bin *image.Gray, lines [][]byte, conf [][]float64, centres [][]Point, f Format, s float64) {
	g := geometryOf(f)
	cls := classes(f)
	pw, ch := g.pitch*s, g.capHeight*s
	// A chevron is shorter than the letters and digits: the height most
	// characters of the zone reach is the reference.
	cells := make([][]image.Rectangle, len(lines))
	var hs []float64
	for r := range lines {
		cells[r] = make([]image.Rectangle, len(lines[r]))
		for c, p := range centres[r] {
			cells[r][c] = image.Rect(int(p.X-pw/2), int(p.Y-ch*0.75), int(p.X+pw/2), int(p.Y+ch*0.75))
			if box, _, _, n := cellInk(bin, cells[r][c]); n > 0 {
				hs = append(hs, float64(box.Dy()))
			}
		}
	}
	sort.Float64s(hs)
	fullH := 0.0
	if len(hs) > 0 {
		fullH = hs[len(hs)*9/10]
	}
	for r := range lines {
		for c := range lines[r] {
			gap := lines[r][c] == 0
			if gap {
				lines[r][c] = '<'
			}
			box, ext, mid, n := cellInk(bin, cells[r][c])
			chevron := n > 0 && ext <= 0.36 && mid >= 0.38 && mid <= 0.62 && float64(box.Dy()) < 0.93*fullH
			switch {
			case cls[r][c] == classNumeric && !(lines[r][c] == '<' && chevron):
				if lines[r][c] == '<' || gap {
					conf[r][c] = 0
				}
			case chevron && (gap || lines[r][c] != '<'):
				lines[r][c], conf[r][c] = '<', 0.9
			case gap:
				conf[r][c] = 0
			}
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// reread gives the cells with ink that the block reading left empty
// (Tesseract tends to drop a check digit that follows a run of fillers, and
// a line's first character) a second reading each, alone.
func reread(ctx context.Context, ocr OCR, bin *image.Gray, lines [][]byte, conf [][]float64, centres [][]Point, f Format, s float64) error {
	g := geometryOf(f)
	pw, ch := g.pitch*s, g.capHeight*s
	for r := range lines {
		for c := range lines[r] {
			if conf[r][c] > 0 {
				continue
			}
			p := centres[r][c]
			if _, _, _, n := cellInk(bin, image.Rect(int(p.X-pw/2), int(p.Y-ch*0.6), int(p.X+pw/2), int(p.Y+ch*0.6))); float64(n) < 0.05*pw*ch {
				continue
			}
			cell := image.Rect(int(p.X-pw*0.55), int(p.Y-ch*0.8), int(p.X+pw*0.55), int(p.Y+ch*0.8)).Intersect(bin.Rect)
			if cell.Empty() {
				continue
			}
			// The cell on a white margin, as Tesseract likes a lone character.
			m := int(ch)
			img := image.NewGray(image.Rect(0, 0, cell.Dx()+2*m, cell.Dy()+2*m))
			for i := range img.Pix {
				img.Pix[i] = 255
			}
			draw.Draw(img, cell.Sub(cell.Min).Add(image.Pt(m, m)), bin, cell.Min, draw.Src)
			gl, err := ocr.Read(ctx, img, ModeChar)
			if err != nil {
				return err
			}
			if len(gl) == 1 {
				lines[r][c], conf[r][c] = gl[0].Char, gl[0].Confidence
			}
		}
	}
	return nil
}

// nameTail: names hold '<' alone between their parts and "<<" once,
// between surname and given names, so from the first "<<<" after that
// separator on, the name zone is fillers whatever the engine read.
func nameTail(lines [][]byte, conf [][]float64, f Format) {
	r, start := 0, 5
	if f == TD1 {
		r, start = 2, 0
	}
	l := lines[r]
	sep := strings.Index(string(l[start:]), "<<")
	if sep < 0 {
		return
	}
	tail := strings.Index(string(l[start+sep+2:]), "<<<")
	if tail < 0 {
		return
	}
	for i := start + sep + 2 + tail; i < len(l); i++ {
		l[i], conf[r][i] = '<', math.Max(conf[r][i], 0.85)
	}
}

// optionalTail: an optional data field's fillers run to its end, so from
// its first "<<<" on the field is fillers whatever the engine read (a
// check digit or the composite still covers it).
func optionalTail(lines [][]byte, conf [][]float64, f Format) {
	spans := map[Format][][3]int{TD3: {{1, 28, 42}}, TD1: {{0, 15, 30}, {1, 18, 29}}}
	for _, sp := range spans[f] {
		l := lines[sp[0]]
		k := strings.Index(string(l[sp[1]:sp[2]]), "<<<")
		if k < 0 {
			continue
		}
		for i := sp[1] + k; i < sp[2]; i++ {
			l[i], conf[sp[0]][i] = '<', math.Max(conf[sp[0]][i], 0.85)
		}
	}
}

// Character classes of MRZ positions.
const (
	classAlpha   = 'A' // letters or '<'
	classNumeric = 'N' // digits (check digits, dates)
	classAlnum   = 'X' // document numbers and optional data
)

// classes are the character class of each position of each line.
func classes(f Format) []string {
	rep := strings.Repeat
	switch f {
	case TD3:
		return []string{
			rep("A", 44),
			rep("X", 9) + "N" + "AAA" + rep("N", 7) + "A" + rep("N", 7) + rep("X", 14) + "NN",
		}
	case TD1:
		return []string{
			"AAAAA" + rep("X", 9) + "N" + rep("X", 15),
			rep("N", 7) + "A" + rep("N", 7) + "AAA" + rep("X", 11) + "N",
			rep("A", 30),
		}
	}
	return nil
}

// The letters and digits Tesseract's English model confuses in OCR-B.
var (
	toDigit  = map[byte]byte{'O': '0', 'Q': '0', 'D': '0', 'U': '0', 'I': '1', 'L': '1', 'T': '1', 'Z': '2', 'S': '5', 'G': '6', 'B': '8', 'A': '4'}
	toLetter = map[byte]byte{'0': 'O', '1': 'I', '2': 'Z', '4': 'A', '5': 'S', '6': 'G', '8': 'B'}
	swap     = map[byte]string{'0': "O", 'O': "0", '1': "I", 'I': "1J", 'J': "I", '5': "S", 'S': "5J", '8': "B", 'B': "86", '2': "Z", 'Z': "2", '6': "GB", 'G': "6", 'D': "0"}
)

// guessed is the confidence of a character the reader had to guess: a
// letter read where a digit goes, or a letter that looks like a digit in a
// number.
const guessed = 0.5

// digitLookalikes are the letters Tesseract reads for OCR-B digits.
const digitLookalikes = "OQDISJBGZ"

// swapBelow is the confidence under which a character of a document number
// or optional field may be swapped to make its check digit match: any, as
// Tesseract is sure of many a wrong O for 0. The composite check guards the swap.
const swapBelow = 1.01

// correct fixes what the character classes and the check digits allow and
// parses the result; field confidences are the lowest of their characters'.
func correct(lines [][]byte, conf [][]float64, f Format, now time.Time) *MRZ {
	cls := classes(f)
	fixed := make([][]byte, len(lines))
	changed := make([][]bool, len(lines))
	for r, l := range lines {
		fixed[r] = append([]byte(nil), l...)
		changed[r] = make([]bool, len(l))
		for i, c := range l {
			var to byte
			switch cls[r][i] {
			case classNumeric:
				to = toDigit[c]
			case classAlpha:
				to = toLetter[c]
			}
			if to != 0 {
				// A letter where only digits go (or the reverse) is the
				// engine's mistake: the corrected character is a guess.
				fixed[r][i], changed[r][i] = to, true
				conf[r][i] = math.Min(conf[r][i], guessed)
			}
		}
	}
	// Issuing state and nationality are listed codes: a code that is not
	// becomes the one listed code a lookalike letter away.
	codeAt := map[Format][][2]int{TD3: {{0, 2}, {1, 10}}, TD1: {{0, 2}, {1, 15}}}
	for _, at := range codeAt[f] {
		l := fixed[at[0]]
		read := string(l[at[1] : at[1]+3])
		if code, ok := fixStateCode(read); ok && code != read {
			for k := 0; k < 3; k++ {
				if l[at[1]+k] != code[k] {
					l[at[1]+k], changed[at[0]][at[1]+k] = code[k], true
					conf[at[0]][at[1]+k] = math.Max(conf[at[0]][at[1]+k], 0.85)
				}
			}
		}
	}
	strs := func() []string {
		s := make([]string, len(fixed))
		for i, l := range fixed {
			s[i] = string(l)
		}
		return s
	}
	m, err := Parse(strs(), now)
	if err != nil {
		return nil
	}
	// Alphanumeric fields whose check fails: try swapping one of their four
	// least certain ambiguous characters for each of its lookalikes; keep a swap only when the field's
	// check and the composite then both pass (two swaps would pass both by
	// chance too often).
	for _, name := range []string{FieldDocumentNumber, FieldOptional1} {
		fd, ok := m.Field(name)
		if !ok || !fd.HasCheck || fd.CheckOK {
			continue
		}
		var cand []int
		for i := fd.start; i < fd.end; i++ {
			if _, ok := swap[fixed[fd.line][i]]; ok && conf[fd.line][i] < swapBelow {
				cand = append(cand, i)
			}
		}
		sort.Slice(cand, func(a, b int) bool { return conf[fd.line][cand[a]] < conf[fd.line][cand[b]] })
		if len(cand) > 4 {
			cand = cand[:4]
		}
		try := func(p int, to byte) bool {
			l := fixed[fd.line]
			old := l[p]
			l[p] = to
			mm, err := Parse(strs(), now)
			if err == nil {
				a, _ := mm.Field(name)
				c, _ := mm.Field(FieldComposite)
				if a.CheckOK && c.CheckOK {
					changed[fd.line][p] = true
					m = mm
					return true
				}
			}
			l[p] = old
			return false
		}
	swaps:
		for _, p := range cand {
			for _, to := range []byte(swap[fixed[fd.line][p]]) {
				if try(p, to) {
					break swaps
				}
			}
		}
	}
	// In a number or optional field, a letter that looks like a digit may
	// be one (Tesseract reads OCR-B's 0 as O, 5 as S, 9 as S or J…): such a
	// field is not certain enough to decline on its check digit.
	for _, name := range []string{FieldDocumentNumber, FieldOptional1, FieldOptional2} {
		fd, ok := m.Field(name)
		if !ok {
			continue
		}
		for p := fd.start; p < fd.end; p++ {
			if strings.IndexByte(digitLookalikes, fixed[fd.line][p]) >= 0 {
				conf[fd.line][p] = math.Min(conf[fd.line][p], guessed)
			}
		}
	}
	for i := range m.Fields {
		fd := &m.Fields[i]
		fd.Confidence, fd.Corrected = 1, 0
		end := fd.end
		if fd.check >= 0 && fd.check >= end {
			end = fd.check + 1
		}
		for p := fd.start; p < end; p++ {
			fd.Confidence = math.Min(fd.Confidence, conf[fd.line][p])
			if changed[fd.line][p] {
				fd.Corrected++
			}
		}
		fd.Confidence = math.Round(fd.Confidence*1000) / 1000
	}
	return m
}

// cellInk measures the ink of one MRZ cell of a binarised band: the ink's
// box and, within the left quarter of that box, the vertical extent and
// centre of the ink, relative to the box's height. OCR-B's filler '<' is a
// chevron whose left quarter is its apex alone, small and centred; every
// letter Tesseract mistakes it for (K, E, C, S, X) has a stem or arms
// reaching the top and bottom there.
func cellInk(bin *image.Gray, cell image.Rectangle) (box image.Rectangle, leftExtent, leftCentre float64, n int) {
	cell = cell.Intersect(bin.Rect)
	box = image.Rectangle{Min: cell.Max, Max: cell.Min}
	for y := cell.Min.Y; y < cell.Max.Y; y++ {
		for x := cell.Min.X; x < cell.Max.X; x++ {
			if bin.Pix[bin.PixOffset(x, y)] == 0 {
				n++
				box.Min.X, box.Min.Y = min(box.Min.X, x), min(box.Min.Y, y)
				box.Max.X, box.Max.Y = max(box.Max.X, x+1), max(box.Max.Y, y+1)
			}
		}
	}
	if n == 0 {
		return image.Rectangle{}, 0, 0, 0
	}
	qx := box.Min.X + max(box.Dx()/4, 1)
	y0, y1 := box.Max.Y, box.Min.Y
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < qx; x++ {
			if bin.Pix[bin.PixOffset(x, y)] == 0 {
				y0, y1 = min(y0, y), max(y1, y+1)
			}
		}
	}
	h := float64(box.Dy())
	return box, float64(y1-y0) / h, (float64(y0+y1)/2 - float64(box.Min.Y)) / h, n
}

// ReadBytes decodes a JPEG or PNG as sent by a browser or a phone, with
// imgproc's limits (size and pixel count checked before any pixel buffer
// exists), and reads it. A file that is not an image is an error wrapping
// imgproc's (ErrNotImage, ErrTooLarge, ErrCorrupt, …).
func (r *Reader) ReadBytes(ctx context.Context, data []byte) (*Result, error) {
	img, err := imgproc.DecodeBytes(data, nil, imgproc.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("document: photo: %w", err)
	}
	return r.Read(ctx, img.ToImage())
}
