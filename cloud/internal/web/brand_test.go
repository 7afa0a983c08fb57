package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"html"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/web/i18n"
)

func TestContrast(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want string
	}{
		{"#000000", "#ffffff", "21.00"},
		{"#ffffff", "#ffffff", "1.00"},
		{"#777777", "#ffffff", "4.47"}, // the grey that famously just fails AA
		{"#767676", "#ffffff", "4.54"},
		{DefaultAccent, "#ffffff", "6.38"},
	} {
		a, _ := parseHex(c.a)
		b, _ := parseHex(c.b)
		if got := ratio(Contrast(a, b)); got != c.want {
			t.Errorf("Contrast(%s, %s) = %s, want %s", c.a, c.b, got, c.want)
		}
	}
}

func codeOf(err error) string {
	if e, ok := apierr.As(err); ok {
		return e.Code.ID
	}
	return ""
}

// TestCheckPage: a tenant's brand name, accent colour and texts are checked
// and made canonical; each refusal has its code and names the field, the
// measured contrast included.
func TestCheckPage(t *testing.T) {
	p, err := CheckPage(core.CapturePage{BrandName: "  Acme Bank ", AccentColor: "#1A7F37",
		Messages: map[string]map[string]string{"pt-pt": {"button.use_phone": "Usar o meu telemóvel"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.BrandName != "Acme Bank" || p.AccentColor != "#1a7f37" || p.Messages["pt-PT"]["button.use_phone"] != "Usar o meu telemóvel" {
		t.Fatalf("canonical settings %+v", p)
	}
	for _, c := range []struct {
		name string
		p    core.CapturePage
		code string
		msg  string
	}{
		{"long name", core.CapturePage{BrandName: strings.Repeat("é", 61)}, "tenant.invalid_setting", `"capture_page.brand_name" is 61 characters; at most 60`},
		{"control in name", core.CapturePage{BrandName: "Acme\nBank"}, "tenant.invalid_setting", "control characters"},
		{"colour name", core.CapturePage{AccentColor: "blue"}, "tenant.invalid_setting", `must be a colour as #rrggbb, got "blue"`},
		{"short hex", core.CapturePage{AccentColor: "#fff"}, "tenant.invalid_setting", "#rrggbb"},
		{"light grey", core.CapturePage{AccentColor: "#777777"}, "tenant.insufficient_contrast",
			"#777777 contrasts 4.47:1 with the page background #ffffff and 4.47:1 with the button text #ffffff; WCAG AA needs at least 4.5:1"},
		{"yellow", core.CapturePage{AccentColor: "#FFD400"}, "tenant.insufficient_contrast", "#ffd400 contrasts 1.4"},
		{"unknown key", core.CapturePage{Messages: map[string]map[string]string{"es": {"welcome.headline": "x"}}}, "tenant.invalid_message",
			`capture_page.messages["es"]["welcome.headline"]: not a message key`},
		{"placeholder", core.CapturePage{Messages: map[string]map[string]string{"de": {"capture.step": "Schritt {i}"}}}, "tenant.invalid_message", "{i} {n}"},
		{"language", core.CapturePage{Messages: map[string]map[string]string{"english": {"button.start": "Go"}}}, "tenant.invalid_language", `"english"`},
		{"incomplete", core.CapturePage{Messages: map[string]map[string]string{"it": {"button.start": "Inizia"}}}, "tenant.invalid_message", "must give every key"},
	} {
		_, err := CheckPage(c.p)
		if codeOf(err) != c.code || err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v (%s), want %s saying %q", c.name, err, codeOf(err), c.code, c.msg)
		}
	}
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withTextChunk inserts a tEXt chunk (metadata) after a PNG's IHDR.
func withTextChunk(b []byte, text string) []byte {
	data := []byte("Comment\x00" + text)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	body := append([]byte("tEXt"), data...)
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(body))
	const ihdrEnd = 8 + 25
	return append(append(append([]byte{}, b[:ihdrEnd]...), chunk...), b[ihdrEnd:]...)
}

// pngChunks lists a PNG's chunk types.
func pngChunks(b []byte) []string {
	var out []string
	for i := 8; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		out = append(out, string(b[i+4:i+8]))
		i += 12 + n
	}
	return out
}

// flatLogo is a two-colour logo with a transparent margin.
func flatLogo(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := h / 8; y < h-h/8; y++ {
		for x := w / 8; x < w-w/8; x++ {
			c := color.NRGBA{0x0b, 0x57, 0xd0, 0xff}
			if (x/(w/8))%2 == 0 {
				c = color.NRGBA{0xe8, 0x3e, 0x2e, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// pngHeader is a PNG signature and IHDR declaring w×h, with no pixels.
func pngHeader(w, h uint32) []byte {
	body := []byte("IHDR")
	body = binary.BigEndian.AppendUint32(body, w)
	body = binary.BigEndian.AppendUint32(body, h)
	body = append(body, 8, 6, 0, 0, 0)
	b := append([]byte("\x89PNG\r\n\x1a\n"), binary.BigEndian.AppendUint32(nil, 13)...)
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(body))
}

// TestProcessLogo: uploads are recognised by their bytes, bounded before
// decoding, scaled to fit the header and re-encoded as PNG, so metadata,
// animation and markup never reach the page.
func TestProcessLogo(t *testing.T) {
	big := withTextChunk(encodePNG(t, flatLogo(1200, 300)), "secret author metadata")
	l, err := ProcessLogo(big)
	if err != nil {
		t.Fatal(err)
	}
	if l.Width != 480 || l.Height != 120 || bytes.Contains(l.PNG, []byte("secret author")) {
		t.Fatalf("logo %d×%d, metadata kept %v", l.Width, l.Height, bytes.Contains(l.PNG, []byte("secret")))
	}
	for _, c := range pngChunks(l.PNG) {
		if c != "IHDR" && c != "IDAT" && c != "IEND" {
			t.Errorf("re-encoded PNG has a %s chunk", c)
		}
	}
	if img, err := png.Decode(bytes.NewReader(l.PNG)); err != nil || img.Bounds().Dx() != 480 {
		t.Fatalf("re-encoded PNG: %v", err)
	}
	if len(l.SHA256) != 64 {
		t.Fatalf("sha256 %q", l.SHA256)
	}
	// A small logo keeps its size; a JPEG and an animated GIF become PNGs.
	if l, err := ProcessLogo(encodePNG(t, flatLogo(200, 60))); err != nil || l.Width != 200 || l.Height != 60 {
		t.Fatalf("small logo: %v %+v", err, l)
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, flatLogo(320, 320), nil); err != nil {
		t.Fatal(err)
	}
	if l, err := ProcessLogo(jb.Bytes()); err != nil || l.Width != 144 || l.Height != 144 || !bytes.HasPrefix(l.PNG, []byte("\x89PNG")) {
		t.Fatalf("JPEG logo: %v %+v", err, l)
	}
	anim := &gif.GIF{}
	for i := range 3 {
		fr := image.NewPaletted(image.Rect(0, 0, 64, 32), palette.Plan9)
		fr.SetColorIndex(i, i, uint8(i+10))
		anim.Image, anim.Delay = append(anim.Image, fr), append(anim.Delay, 10)
	}
	var gb bytes.Buffer
	if err := gif.EncodeAll(&gb, anim); err != nil {
		t.Fatal(err)
	}
	if l, err := ProcessLogo(gb.Bytes()); err != nil || l.Width != 64 || bytes.Contains(l.PNG, []byte("acTL")) {
		t.Fatalf("GIF logo: %v %+v", err, l)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	noise := image.NewNRGBA(image.Rect(0, 0, 480, 144))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.UintN(256))
	}
	for _, c := range []struct {
		name string
		b    []byte
		code string
		msg  string
	}{
		{"empty", nil, "tenant.logo_invalid", "the body must be the logo image"},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "tenant.logo_unsupported_type", "SVG"},
		{"svg after a BOM", []byte("\xef\xbb\xbf\n<svg/>"), "tenant.logo_unsupported_type", "SVG"},
		{"html", []byte("<!doctype html><script>alert(1)</script>"), "tenant.logo_unsupported_type", "SVG and other markup"},
		{"bmp", append([]byte("BM"), make([]byte, 100)...), "tenant.logo_unsupported_type", "not a PNG, JPEG, GIF or WebP"},
		{"over 1 MiB", append(encodePNG(t, flatLogo(64, 64)), make([]byte, MaxLogoUpload)...), "tenant.logo_too_large", "at most 1048576"},
		{"huge header", pngHeader(30000, 30000), "tenant.logo_too_large", "30000×30000"},
		{"too small", encodePNG(t, flatLogo(8, 8)), "tenant.logo_invalid", "8×8 pixels; at least 16"},
		{"truncated", big[:len(big)/2], "tenant.logo_invalid", "cannot be decoded"},
		{"webp header only", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), "tenant.logo_invalid", "WebP"},
		{"noise", encodePNG(t, noise), "tenant.logo_too_large", "KiB; at most 48 KiB"},
	} {
		_, err := ProcessLogo(c.b)
		if codeOf(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v (%s), want %s saying %q", c.name, err, codeOf(err), c.code, c.msg)
		}
	}
}

// TestPageBranding: a tenant's brand name, accent colour, logo and texts
// reach its sessions' pages (escaped), the logo from this origin with the
// CSP allowing 'self' images only then; a tenant's added language is
// negotiated like a built-in one.
func TestPageBranding(t *testing.T) {
	e := newEnv(t)
	logo, err := ProcessLogo(encodePNG(t, flatLogo(400, 100)))
	if err != nil {
		t.Fatal(err)
	}
	it := map[string]string{}
	for k, v := range i18n.Builtin(i18n.Default) {
		it[k] = "[it] " + v
	}
	e.tenants["ten_a"] = &core.Tenant{ID: "ten_a", Name: "acme-prod", CapturePage: core.CapturePage{
		BrandName: "Acme <Bank>", AccentColor: "#1a7f37", Logo: logo,
		Messages: map[string]map[string]string{
			"en":    {"welcome.title": "Verify with <b>Acme</b>"},
			"pt-PT": {"button.use_phone": "Usar o meu telemóvel"},
			"it":    it,
		}}}
	e.tenants["ten_b"] = &core.Tenant{ID: "ten_b", Name: "plain"}
	open := func(tenant, query, accept string) (string, string, *lifecycle.Created) {
		t.Helper()
		c, err := e.sessions.Create(context.Background(), lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: tenant, KeyID: "key_1"},
			core.KindManaged, lifecycle.CreateRequest{Mode: "active"}, "")
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/s/"+c.Session.ID+"?t="+url.QueryEscape(c.ClientToken)+query, nil)
		req.Header.Set("Accept-Language", accept)
		resp, err := e.app.Test(req, 10_000)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("page: %v %v", err, resp)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get("Content-Security-Policy"), c
	}

	body, csp, c := open("ten_a", "", "en-GB")
	for _, want := range []string{"<title>Face verification · Acme &lt;Bank&gt;</title>", "<span>Acme &lt;Bank&gt;</span>", ":root{--pri:#1a7f37}",
		"Verify with &lt;b&gt;Acme&lt;/b&gt;", `alt="" width="200" height="50"`, `<img src="/s/` + c.Session.ID + `/logo?t=`} {
		if !strings.Contains(body, want) {
			t.Errorf("branded page lacks %q", want)
		}
	}
	if !strings.Contains(csp, "img-src 'self' data: blob:;") || strings.Contains(csp, "http") {
		t.Errorf("CSP with a logo: %q", csp)
	}
	body, _, _ = open("ten_a", "", "pt-PT, en;q=0.5")
	if m := htmlTagRe.FindStringSubmatch(body); m == nil || m[1] != "pt-PT" ||
		!strings.Contains(body, "Usar o meu telemóvel") || !strings.Contains(body, html.EscapeString(i18n.Builtin("pt")["welcome.title"])) {
		t.Errorf("pt-PT page: %v", m)
	}
	body, _, _ = open("ten_a", "", "it-IT, en;q=0.5")
	if m := htmlTagRe.FindStringSubmatch(body); m == nil || m[1] != "it" || !strings.Contains(body, "[it] Start") {
		t.Errorf("a tenant's Italian: %v", m)
	}
	body, csp, _ = open("ten_b", "", "")
	if strings.Contains(body, `class="brand"`) || strings.Contains(body, "--pri:#1") || !strings.Contains(csp, "img-src data: blob:;") {
		t.Errorf("an unbranded tenant's page: CSP %q", csp)
	}

	// The logo, from this origin, with the page's token.
	get := func(path string, hdr ...string) (int, string, []byte, func(string) string) {
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := e.app.Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b, resp.Header.Get
	}
	path := "/s/" + c.Session.ID + "/logo?t=" + url.QueryEscape(c.ClientToken)
	st, ct, b, hdr := get(path)
	if st != 200 || ct != "image/png" || !bytes.Equal(b, logo.PNG) || hdr("ETag") != `"`+logo.SHA256+`"` ||
		hdr("X-Content-Type-Options") != "nosniff" || !strings.Contains(hdr("Cache-Control"), "private") {
		t.Fatalf("logo: %d %s %d bytes", st, ct, len(b))
	}
	if st, _, _, _ := get(path, "If-None-Match", `"`+logo.SHA256+`"`); st != 304 {
		t.Errorf("If-None-Match: %d, want 304", st)
	}
	if st, _, _, _ := get("/s/" + c.Session.ID + "/logo?t=lgct_nope"); st != 404 {
		t.Errorf("logo with a wrong token: %d", st)
	}
	_, _, cb := open("ten_b", "", "")
	if st, _, b, _ := get("/s/" + cb.Session.ID + "/logo?t=" + url.QueryEscape(cb.ClientToken)); st != 404 || !strings.Contains(string(b), "tenant.logo_not_found") {
		t.Errorf("no logo: %d %s", st, b)
	}
}
