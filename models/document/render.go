package document

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"strings"
	"time"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// OCRBFont is where Debian's fonts-ocr-b package installs OCR-B, the MRZ
// typeface (installed by `make setup`). It is the "Sharp" cut: the regular
// one draws '8' and '<' with a CFF operator (flex1) that Go's sfnt reader
// does not know, and those glyphs would come out blank.
const OCRBFont = "/usr/share/fonts/opentype/ocr-b/OCRBS.otf"

// ErrNoFont is wrapped when the OCR-B font is not installed.
var ErrNoFont = errors.New("document: OCR-B font missing (Debian package fonts-ocr-b; run `make setup`)")

// LoadOCRB parses the OCR-B font from OCRBFont.
func LoadOCRB() (*opentype.Font, error) {
	data, err := os.ReadFile(OCRBFont)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoFont, err)
	}
	f, err := opentype.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("document: parse %s: %w", OCRBFont, err)
	}
	var buf sfnt.Buffer
	for _, r := range Alphabet {
		gi, err := f.GlyphIndex(&buf, r)
		if err == nil && gi != 0 {
			_, err = f.LoadGlyph(&buf, gi, fixed.I(64), nil)
		}
		if err != nil || gi == 0 {
			return nil, fmt.Errorf("document: %s cannot draw %q: %v", OCRBFont, r, err)
		}
	}
	return f, nil
}

// Identity is what a document states about its holder, the input of
// EncodeMRZ and Render.
type Identity struct {
	DocumentCode string    `json:"document_code"` // "P" for a passport, "I" or "ID" for an ID card
	Issuer       string    `json:"issuer"`        // three-letter state code
	Number       string    `json:"number"`        // up to 9 characters of A–Z and 0–9
	Surname      string    `json:"surname"`
	GivenNames   string    `json:"given_names"`
	Nationality  string    `json:"nationality"`
	Sex          string    `json:"sex"` // "M", "F" or "" (unspecified, '<' in the MRZ)
	Birth        time.Time `json:"birth"`
	Expiry       time.Time `json:"expiry"`
	Optional     string    `json:"optional,omitempty"` // personal number (TD3) or optional data (TD1)
}

// MRZName transliterates a name (or optional data) to the MRZ alphabet:
// upper case, digits kept, common Latin diacritics dropped (Ä→A, ß→SS), anything else that is not a
// letter (spaces, hyphens, apostrophes) a '<'.
func MRZName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == 'ß' || r == 'ẞ':
			b.WriteString("SS")
		case r == 'Æ':
			b.WriteString("AE")
		case r == 'Ø':
			b.WriteString("OE")
		default:
			if t, ok := latinFold[r]; ok {
				b.WriteByte(t)
			} else {
				b.WriteByte('<')
			}
		}
	}
	return b.String()
}

var latinFold = func() map[rune]byte {
	m := map[rune]byte{}
	for base, runes := range map[byte]string{
		'A': "ÀÁÂÃÄÅĀĂĄ", 'C': "ÇĆĈĊČ", 'D': "ĎĐÐ", 'E': "ÈÉÊËĒĔĖĘĚ", 'G': "ĜĞĠĢ", 'H': "ĤĦ",
		'I': "ÌÍÎÏĨĪĬĮİ", 'J': "Ĵ", 'K': "Ķ", 'L': "ĹĻĽĿŁ", 'N': "ÑŃŅŇ", 'O': "ÒÓÔÕÖŌŎŐ",
		'R': "ŔŖŘ", 'S': "ŚŜŞŠ", 'T': "ŢŤŦ", 'U': "ÙÚÛÜŨŪŬŮŰŲ", 'W': "Ŵ", 'Y': "ÝŸŶ", 'Z': "ŹŻŽ",
	} {
		for _, r := range runes {
			m[r] = base
		}
	}
	return m
}()

// nameField is the name zone: SURNAME<<GIVEN<NAMES, filled with '<' or cut
// to width.
func nameField(surname, given string, width int) string {
	s := MRZName(surname)
	if g := MRZName(given); g != "" {
		s += "<<" + g
	}
	if len(s) > width {
		s = s[:width]
	}
	return s + strings.Repeat("<", width-len(s))
}

func pad(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

func yymmdd(t time.Time) string { return t.Format("060102") }

func digit(s string) string { return string(rune('0' + CheckDigit(s))) }

// EncodeMRZ writes the MRZ lines of an identity, with every check digit.
func EncodeMRZ(f Format, id Identity) ([]string, error) {
	if len(id.Number) > 9 || strings.Trim(id.Number, Alphabet) != "" {
		return nil, fmt.Errorf("document: number %q: want up to 9 characters of A–Z, 0–9", id.Number)
	}
	sex := pad(id.Sex, 1)
	num := pad(id.Number, 9)
	birth, expiry := yymmdd(id.Birth), yymmdd(id.Expiry)
	switch f {
	case TD3:
		opt := pad(MRZName(id.Optional), 14)
		optCheck := digit(opt)
		if strings.Trim(opt, "<") == "" {
			optCheck = "<"
		}
		l1 := pad(pad(id.DocumentCode, 2)+pad(id.Issuer, 3)+nameField(id.Surname, id.GivenNames, 39), 44)
		l2 := num + digit(num) + pad(id.Nationality, 3) + birth + digit(birth) + sex + expiry + digit(expiry) + opt + optCheck
		l2 += digit(l2[0:10] + l2[13:20] + l2[21:43])
		return []string{l1, l2}, nil
	case TD1:
		l1 := pad(id.DocumentCode, 2) + pad(id.Issuer, 3) + num + digit(num) + pad(MRZName(id.Optional), 15)
		l2 := birth + digit(birth) + sex + expiry + digit(expiry) + pad(id.Nationality, 3) + strings.Repeat("<", 11)
		l2 += digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
		l3 := nameField(id.Surname, id.GivenNames, 30)
		return []string{l1, l2, l3}, nil
	}
	return nil, fmt.Errorf("document: cannot encode format %v", f)
}

// Geometry of the documents in millimetres: ICAO 9303's ID-1 card (TD1)
// and ID-3 passport page (TD3). The synthetic documents and the reader
// share it: the reader cuts the MRZ band and the portrait where Render puts them.
type geometry struct {
	w, h          float64    // document size
	portrait      [4]float64 // x0, y0, x1, y1
	mrzTop        float64    // top of the MRZ band
	mrzLeft       float64    // first character's left edge
	mrzBaseline   []float64  // baseline of each MRZ line
	capHeight     float64    // OCR-B character height
	pitch         float64    // character pitch (2.54 mm: 10 per inch)
	vizX, vizTop  float64    // visual zone text
	vizSmall      float64    // its labels' and values' character heights
	vizBig        float64
	title, policy string
}

func geometryOf(f Format) geometry {
	switch f {
	case TD1:
		return geometry{w: 85.6, h: 53.98, portrait: [4]float64{4, 10, 26, 38}, mrzTop: 38.5, mrzLeft: 4.7,
			mrzBaseline: []float64{42.8, 47.4, 52.0}, capHeight: 2.4, pitch: 2.54, vizX: 30, vizTop: 11.5, vizSmall: 1.0, vizBig: 1.7,
			title: "UTOPIA - IDENTITY CARD"}
	case TD3:
		return geometry{w: 125, h: 88, portrait: [4]float64{5, 14, 40, 59}, mrzTop: 68, mrzLeft: 6.6,
			mrzBaseline: []float64{76.5, 83.5}, capHeight: 2.4, pitch: 2.54, vizX: 46, vizTop: 16, vizSmall: 1.6, vizBig: 2.4,
			title: "UTOPIA - PASSPORT"}
	}
	return geometry{}
}

// Aspect is the document's width over its height.
func (f Format) Aspect() float64 {
	g := geometryOf(f)
	if g.h == 0 {
		return 0
	}
	return g.w / g.h
}

// RenderOptions are optional settings of Render.
type RenderOptions struct {
	// PxPerMM is the resolution. Optional. Default: 12 (about 300 dpi).
	PxPerMM float64
	// Tint is the document's background colour. Optional. Default: a pale blue-grey.
	Tint color.RGBA
}

// Render draws a synthetic document: a header with the word SYNTHETIC,
// the portrait (scaled and cropped to fill its box), the visual zone and
// the MRZ lines set in OCR-B at the ICAO pitch. lines are the MRZ as it
// should appear (usually EncodeMRZ's, possibly tampered).
func Render(f Format, id Identity, lines []string, portrait image.Image, ocrb *opentype.Font, opts RenderOptions) (*image.RGBA, error) {
	g := geometryOf(f)
	if g.w == 0 {
		return nil, fmt.Errorf("document: cannot render format %v", f)
	}
	if len(lines) != f.Lines() {
		return nil, fmt.Errorf("document: %v wants %d MRZ lines, got %d", f, f.Lines(), len(lines))
	}
	s := opts.PxPerMM
	if s <= 0 {
		s = 12
	}
	tint := opts.Tint
	if tint.A == 0 {
		tint = color.RGBA{226, 234, 240, 255}
	}
	W, H := int(math.Round(g.w*s)), int(math.Round(g.h*s))
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), &image.Uniform{tint}, image.Point{}, draw.Src)
	// A faint guilloche above the MRZ band, as security printing would have.
	for y := 0; y < int(g.mrzTop*s); y++ {
		for x := 0; x < W; x++ {
			v := math.Sin(float64(x)/(2.1*s)+3*math.Sin(float64(y)/(4.3*s))) + math.Sin(float64(y)/(1.7*s)-float64(x)/(9*s))
			if v > 1.6 {
				c := img.RGBAAt(x, y)
				img.SetRGBA(x, y, color.RGBA{c.R - 18, c.G - 10, c.B - 4, 255})
			}
		}
	}
	face := func(mm float64) (font.Face, error) {
		return opentype.NewFace(ocrb, &opentype.FaceOptions{Size: mm * s / 0.7, DPI: 72, Hinting: font.HintingNone})
	}
	text := func(fc font.Face, x, y float64, c color.Color, str string) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: fc, Dot: fixed.P(int(x*s), int(y*s))}
		if x < 0 { // right-aligned at -x
			d.Dot.X = fixed.I(int(-x*s)) - d.MeasureString(str)
		}
		d.DrawString(str)
	}
	small, err := face(g.vizSmall)
	if err != nil {
		return nil, err
	}
	defer small.Close()
	big, err := face(g.vizBig)
	if err != nil {
		return nil, err
	}
	defer big.Close()
	text(big, 4, 6.5, color.RGBA{30, 50, 90, 255}, g.title)
	text(big, -(g.w - 4), 6.5, color.RGBA{200, 20, 20, 255}, "SYNTHETIC")

	if portrait != nil {
		r := image.Rect(int(g.portrait[0]*s), int(g.portrait[1]*s), int(g.portrait[2]*s), int(g.portrait[3]*s))
		xdraw.CatmullRom.Scale(img, r, portrait, fillCrop(portrait.Bounds(), r.Dx(), r.Dy()), xdraw.Src, nil)
	}
	viz := [][2]string{
		{"SURNAME", id.Surname}, {"GIVEN NAMES", id.GivenNames},
		{"NATIONALITY", id.Nationality}, {"SEX", id.Sex},
		{"DATE OF BIRTH", id.Birth.Format("02 01 2006")}, {"DOCUMENT NO", id.Number},
		{"DATE OF EXPIRY", id.Expiry.Format("02 01 2006")},
	}
	y := g.vizTop
	for _, kv := range viz {
		text(small, g.vizX, y, color.RGBA{90, 100, 120, 255}, kv[0])
		text(big, g.vizX, y+g.vizBig*1.25, color.RGBA{20, 20, 30, 255}, strings.ToUpper(kv[1]))
		y += (g.mrzTop - g.vizTop - 1) / float64(len(viz))
	}
	text(small, -(g.w - 4), g.mrzTop-1.2, color.RGBA{200, 20, 20, 255}, "SYNTHETIC - NOT VALID")

	mrz, err := face(g.capHeight)
	if err != nil {
		return nil, err
	}
	defer mrz.Close()
	for i, line := range lines {
		for j := 0; j < len(line); j++ {
			text(mrz, g.mrzLeft+float64(j)*g.pitch, g.mrzBaseline[i], color.Black, line[j:j+1])
		}
	}
	return img, nil
}

// fillCrop is the centred part of src with the aspect of w×h.
func fillCrop(src image.Rectangle, w, h int) image.Rectangle {
	sw, sh := src.Dx(), src.Dy()
	if sw*h > sh*w { // source wider: cut the sides
		cw := sh * w / h
		x0 := src.Min.X + (sw-cw)/2
		return image.Rect(x0, src.Min.Y, x0+cw, src.Max.Y)
	}
	ch := sw * h / w
	y0 := src.Min.Y + (sh-ch)/2
	return image.Rect(src.Min.X, y0, src.Max.X, y0+ch)
}
