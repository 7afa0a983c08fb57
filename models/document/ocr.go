package document

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// Glyph is one character the OCR engine read: its text, its box in the
// image it was given, and its confidence 0–1.
type Glyph struct {
	Char       byte
	Box        image.Rectangle
	Confidence float64
}

// Tesseract runs the `tesseract` command (Debian tesseract-ocr with
// tesseract-ocr-eng) on an image given on stdin, reading hOCR with
// character boxes from stdout; no file is written.
type Tesseract struct {
	// Path is the command. Optional. Default: "tesseract" on $PATH.
	Path string
	// Lang is the traineddata. Optional. Default: "eng" (Debian has no
	// OCR-B model; the MRZ alphabet is read with the English one).
	Lang string
	// PSM is the page segmentation mode. Optional. Default: 6, one
	// uniform block of text, which the cut-out MRZ band is.
	PSM int
	// Timeout bounds one run. Optional. Default: 20 s.
	Timeout time.Duration
}

// ErrNoTesseract is wrapped when the tesseract command cannot be found.
var ErrNoTesseract = errors.New("document: tesseract not installed (Debian tesseract-ocr, tesseract-ocr-eng; run `make setup`)")

func (t Tesseract) withDefaults() Tesseract {
	if t.Path == "" {
		t.Path = "tesseract"
	}
	if t.Lang == "" {
		t.Lang = "eng"
	}
	if t.PSM == 0 {
		t.PSM = 6
	}
	if t.Timeout <= 0 {
		t.Timeout = 20 * time.Second
	}
	return t
}

// Check reports whether the command runs and has its language.
func (t Tesseract) Check(ctx context.Context) error {
	t = t.withDefaults()
	if _, err := exec.LookPath(t.Path); err != nil {
		return fmt.Errorf("%w: %w", ErrNoTesseract, err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, t.Path, "--list-langs").CombinedOutput()
	if err != nil {
		return fmt.Errorf("document: %s --list-langs: %w: %s", t.Path, err, bytes.TrimSpace(out))
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(t.Lang) + `$`).Match(out) {
		return fmt.Errorf("%w: language %q missing", ErrNoTesseract, t.Lang)
	}
	return nil
}

// Read runs Tesseract restricted to the MRZ alphabet on img and returns
// every character with its box and confidence, in reading order. ModeChar
// reads one character (page segmentation mode 10).
func (t Tesseract) Read(ctx context.Context, img image.Image, mode Mode) ([]Glyph, error) {
	t = t.withDefaults()
	if _, err := exec.LookPath(t.Path); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoTesseract, err)
	}
	psm := t.PSM
	if mode == ModeChar {
		psm = 10
	}
	var in bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&in, img); err != nil {
		return nil, fmt.Errorf("document: encode for tesseract: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.Path, "stdin", "stdout",
		"-l", t.Lang, "--psm", strconv.Itoa(psm),
		"-c", "tessedit_char_whitelist="+Alphabet,
		"-c", "hocr_char_boxes=1",
		"-c", "tessedit_create_hocr=1")
	cmd.Stdin = &in
	// One thread: Tesseract's OpenMP threads only contend with the
	// caller's own parallel readers on a small machine.
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("document: tesseract: %w", ctx.Err())
		}
		var ee *exec.Error
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("%w: %w", ErrNoTesseract, err)
		}
		return nil, fmt.Errorf("document: tesseract: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseHOCR(out.Bytes())
}

var cinfoRE = regexp.MustCompile(`class='ocrx_cinfo' title='x_bboxes (-?\d+) (-?\d+) (-?\d+) (-?\d+); x_conf ([0-9.]+)'>([^<]*)</span>`)

// parseHOCR reads the characters of Tesseract's hOCR (hocr_char_boxes).
func parseHOCR(b []byte) ([]Glyph, error) {
	var out []Glyph
	for _, m := range cinfoRE.FindAllSubmatch(b, -1) {
		var v [4]int
		for i := range v {
			v[i], _ = strconv.Atoi(string(m[1+i]))
		}
		conf, err := strconv.ParseFloat(string(m[5]), 64)
		if err != nil {
			return nil, fmt.Errorf("document: hOCR confidence %q: %w", m[5], err)
		}
		text := html.UnescapeString(string(m[6]))
		for i := 0; i < len(text); i++ {
			out = append(out, Glyph{Char: text[i], Box: image.Rect(v[0], v[1], v[2], v[3]), Confidence: conf / 100})
		}
	}
	return out, nil
}
