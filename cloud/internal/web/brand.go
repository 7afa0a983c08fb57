package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // logo uploads
	_ "image/jpeg"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/web/i18n"
)

// Codes of a tenant's capture page settings (docs/api.md, "The capture
// page"; with every other code in docs/error-codes.md).
var (
	CodeInvalidLanguage = apierr.Register("tenant.invalid_language", http.StatusBadRequest,
		"A language of capture_page messages is not a language tag (e.g. es, pt-BR, zh-Hant), is given twice, or there are more than 16; the message names it.")
	CodeInvalidMessage = apierr.Register("tenant.invalid_message", http.StatusBadRequest,
		"A capture page text is refused: an unknown message key, an empty text or one over 500 characters (2000 for consent.text), control characters or unbalanced bold marks, "+
			"placeholders that are not exactly the English text's, or a language that is not built in and does not give every key; the message names the language and key.")
	CodeLowContrast = apierr.Register("tenant.insufficient_contrast", http.StatusUnprocessableEntity,
		"The accent colour does not contrast enough: WCAG AA needs 4.5:1 against the page background (#ffffff) and with the button text (#ffffff); the message gives the measured ratios.")
	CodeLogoType = apierr.Register("tenant.logo_unsupported_type", http.StatusUnsupportedMediaType,
		"The logo is not a PNG, JPEG, GIF or WebP image by its bytes (SVG is refused: it can carry scripts).")
	CodeLogoTooLarge = apierr.Register("tenant.logo_too_large", http.StatusRequestEntityTooLarge,
		"The logo is over 1 MiB, 16 megapixels or 4096 pixels a side, or still over 48 KiB once scaled to 480×144 and re-encoded as PNG.")
	CodeLogoInvalid = apierr.Register("tenant.logo_invalid", http.StatusBadRequest,
		"The logo is empty, truncated or cannot be decoded, or is under 16 pixels a side.")
	CodeLogoNotFound = apierr.Register("tenant.logo_not_found", http.StatusNotFound,
		"The session's tenant has no logo (GET /s/{id}/logo).")
)

// Limits of a tenant's capture page settings.
const (
	MaxBrandName  = 60      // characters
	MaxPolicyURL  = 2048    // bytes of the privacy policy link
	MaxLogoUpload = 1 << 20 // bytes as uploaded
	MaxLogoPixels = 16 << 20
	MaxLogoSide   = 4096
	MinLogoSide   = 16
	// LogoBoxW × LogoBoxH is the largest logo kept: 240×72 CSS pixels, the
	// header's size, at twice the density.
	LogoBoxW, LogoBoxH = 480, 144
	MaxLogoPNG         = 48 << 10 // bytes, once re-encoded
	// MinContrast is WCAG 2.x AA for normal text.
	MinContrast = 4.5
)

// The colours an accent colour is checked against: the page's background,
// and the text of the buttons it fills (the page's --bg and --pri-fg).
const (
	PageBackground = "#ffffff"
	ButtonText     = "#ffffff"
	// DefaultAccent is the page's own accent colour (--pri).
	DefaultAccent = "#0b57d0"
)

// CheckPage validates a tenant's capture page settings — brand name,
// accent colour, privacy policy link, messages — and returns them canonical (the name trimmed,
// the colour in lower case, language tags in their canonical case); the
// logo is carried over untouched. A refusal is an *apierr.Error naming the
// field: tenant.invalid_setting, tenant.insufficient_contrast,
// tenant.invalid_language or tenant.invalid_message.
func CheckPage(p core.CapturePage) (core.CapturePage, error) {
	out := core.CapturePage{Logo: p.Logo}
	name := strings.TrimSpace(p.BrandName)
	if n := utf8.RuneCountInString(name); n > MaxBrandName {
		return out, apierr.New(apierr.SettingInvalid, "setting \"capture_page.brand_name\" is %d characters; at most %d", n, MaxBrandName)
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return out, apierr.New(apierr.SettingInvalid, "setting \"capture_page.brand_name\" holds control characters")
	}
	out.BrandName = name
	if p.AccentColor != "" {
		c, ok := parseHex(p.AccentColor)
		if !ok {
			return out, apierr.New(apierr.SettingInvalid, "setting \"capture_page.accent_color\" must be a colour as #rrggbb, got %q", p.AccentColor)
		}
		bg, _ := parseHex(PageBackground)
		fg, _ := parseHex(ButtonText)
		rb, rt := Contrast(c, bg), Contrast(c, fg)
		if rb < MinContrast || rt < MinContrast {
			return out, apierr.New(CodeLowContrast, "setting \"capture_page.accent_color\" %s contrasts %s:1 with the page background %s and %s:1 with the button text %s; "+
				"WCAG AA needs at least %.1f:1 for both: choose a darker colour", strings.ToLower(p.AccentColor), ratio(rb), PageBackground, ratio(rt), ButtonText, MinContrast)
		}
		out.AccentColor = strings.ToLower(p.AccentColor)
	}
	if p.PolicyURL != "" {
		u, err := url.Parse(p.PolicyURL)
		switch {
		case len(p.PolicyURL) > MaxPolicyURL:
			return out, apierr.New(apierr.SettingInvalid, "setting \"capture_page.policy_url\" is %d bytes; at most %d", len(p.PolicyURL), MaxPolicyURL)
		case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" ||
			strings.IndexFunc(p.PolicyURL, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
			return out, apierr.New(apierr.SettingInvalid, "setting \"capture_page.policy_url\" must be an absolute https URL without credentials or spaces, got %q", p.PolicyURL)
		}
		out.PolicyURL = p.PolicyURL
	}
	in := make(map[string]i18n.Catalogue, len(p.Messages))
	for lang, m := range p.Messages {
		in[lang] = m
	}
	msgs, err := i18n.CheckOverrides(in)
	if err != nil {
		var oe *i18n.OverrideError
		if errors.As(err, &oe) && (oe.Problem == i18n.ProblemLanguage || oe.Problem == i18n.ProblemTooMany) {
			return out, apierr.New(CodeInvalidLanguage, "capture_page.%s", err)
		}
		return out, apierr.New(CodeInvalidMessage, "capture_page.%s", err)
	}
	if len(msgs) > 0 {
		out.Messages = make(map[string]map[string]string, len(msgs))
		for lang, m := range msgs {
			out.Messages[lang] = m
		}
	}
	return out, nil
}

// ratio writes a contrast ratio rounded down to two decimals, so that a
// refused colour never shows as 4.50.
func ratio(r float64) string { return strconv.FormatFloat(math.Floor(r*100)/100, 'f', 2, 64) }

// parseHex reads "#rrggbb".
func parseHex(s string) ([3]uint8, bool) {
	var c [3]uint8
	if len(s) != 7 || s[0] != '#' {
		return c, false
	}
	for i := range 3 {
		v, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return c, false
		}
		c[i] = uint8(v)
	}
	return c, true
}

// Contrast is the WCAG 2.x contrast ratio of two sRGB colours, 1 to 21.
func Contrast(a, b [3]uint8) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is WCAG's relative luminance of an sRGB colour.
func luminance(c [3]uint8) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c[0]) + 0.7152*lin(c[1]) + 0.0722*lin(c[2])
}

// ProcessLogo turns an uploaded logo into the PNG the page serves: the
// type is recognised by its bytes (PNG, JPEG, GIF — its first frame — or
// WebP), its size read from the header and bounded before any pixel is
// decoded, the image scaled down to fit LogoBoxW × LogoBoxH and encoded
// again as PNG by this server, so nothing of the upload but its pixels
// reaches a browser: no metadata, no animation, no script. Refusals are
// *apierr.Error with tenant.logo_unsupported_type, tenant.logo_too_large
// or tenant.logo_invalid.
func ProcessLogo(b []byte) (*core.Logo, error) {
	switch {
	case len(b) == 0:
		return nil, apierr.New(CodeLogoInvalid, "the body must be the logo image (PNG, JPEG, GIF or WebP)")
	case len(b) > MaxLogoUpload:
		return nil, apierr.New(CodeLogoTooLarge, "the logo is %d bytes; at most %d (1 MiB)", len(b), MaxLogoUpload)
	}
	kind := sniffImage(b)
	if kind == "" {
		if looksLikeMarkup(b) {
			return nil, apierr.New(CodeLogoType, "SVG and other markup are not accepted as a logo (they can carry scripts): upload a PNG, JPEG, GIF or WebP")
		}
		return nil, apierr.New(CodeLogoType, "the logo is not a PNG, JPEG, GIF or WebP image")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, apierr.New(CodeLogoInvalid, "the logo's %s header cannot be read: %v", kind, err)
	}
	switch w, h := cfg.Width, cfg.Height; {
	case w > MaxLogoSide || h > MaxLogoSide || w*h > MaxLogoPixels:
		return nil, apierr.New(CodeLogoTooLarge, "the logo is %d×%d pixels; at most %d a side and %d megapixels", w, h, MaxLogoSide, MaxLogoPixels>>20)
	case w < MinLogoSide || h < MinLogoSide:
		return nil, apierr.New(CodeLogoInvalid, "the logo is %d×%d pixels; at least %d a side", w, h, MinLogoSide)
	}
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, apierr.New(CodeLogoInvalid, "the logo (%s) cannot be decoded: %v", kind, err)
	}
	r := src.Bounds()
	scale := math.Min(1, math.Min(float64(LogoBoxW)/float64(r.Dx()), float64(LogoBoxH)/float64(r.Dy())))
	w, h := max(1, int(math.Round(float64(r.Dx())*scale))), max(1, int(math.Round(float64(r.Dy())*scale)))
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	if scale == 1 {
		xdraw.Draw(dst, dst.Bounds(), src, r.Min, xdraw.Src)
	} else {
		xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, r, xdraw.Src, nil)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, dst); err != nil {
		return nil, fmt.Errorf("web: encoding the logo: %w", err)
	}
	if out.Len() > MaxLogoPNG {
		return nil, apierr.New(CodeLogoTooLarge, "the logo, scaled to %d×%d and encoded as PNG, is %d KiB; at most %d KiB: use a simpler image (flat colours, no photograph)",
			w, h, (out.Len()+1023)>>10, MaxLogoPNG>>10)
	}
	sum := sha256.Sum256(out.Bytes())
	return &core.Logo{PNG: out.Bytes(), Width: w, Height: h, SHA256: hex.EncodeToString(sum[:])}, nil
}

// sniffImage names an accepted image type by its first bytes, or "".
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "PNG"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "JPEG"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "GIF"
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return "WebP"
	}
	return ""
}

func looksLikeMarkup(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	return bytes.HasPrefix(b, []byte("<"))
}
