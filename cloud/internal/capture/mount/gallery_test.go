package mount

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/image/draw"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/faceapi"
	"livegate.dev/cloud/internal/pgtest"
)

// TestMountedGalleries drives every gallery and search route and its
// refusals over HTTP on both stores, each answer checked against the
// OpenAPI document: a person enrolled from one photo of dlib's johns set is
// found by another photo of them and nobody is matched for a stranger;
// nothing of an enrolled face is in the store in clear; a deleted person is
// no longer found.
func TestMountedGalleries(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the face models")
	}
	t.Run("bbolt", func(t *testing.T) { testMountedGalleries(t, daemon.Options{}) })
	t.Run("postgres", func(t *testing.T) {
		srv := pgtest.Start(t)
		testMountedGalleries(t, daemon.Options{Store: daemon.StorePostgres, PostgresDSN: srv.DSN()})
	})
}

// part is one field of a multipart body: a file when name is set.
type part struct {
	field, filename string
	value           []byte
}

func multipartBody(t *testing.T, parts ...part) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		var fw io.Writer
		var err error
		if p.filename != "" {
			fw, err = w.CreateFormFile(p.field, p.filename)
		} else {
			fw, err = w.CreateFormField(p.field)
		}
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(p.value)
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// upload posts a multipart body.
func (m *mounted) upload(path, bearer string, parts ...part) (int, []byte) {
	m.t.Helper()
	ct, body := multipartBody(m.t, parts...)
	req, _ := http.NewRequest("POST", m.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func errCode(b []byte) string {
	var e struct {
		Detail struct{ Code, Message string }
	}
	json.Unmarshal(b, &e)
	return e.Detail.Code
}

// blurred returns the image downscaled eightfold and scaled back: the face
// is still found but has no detail.
func blurred(t *testing.T, src []byte) []byte {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	small := image.NewRGBA(image.Rect(0, 0, r.Dx()/8, r.Dy()/8))
	draw.ApproxBiLinear.Scale(small, small.Bounds(), img, r, draw.Src, nil)
	big := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.BiLinear.Scale(big, big.Bounds(), small, small.Bounds(), draw.Src, nil)
	var out bytes.Buffer
	jpeg.Encode(&out, big, &jpeg.Options{Quality: 95})
	return out.Bytes()
}

type searchAnswer struct {
	Match      bool
	Candidates []struct {
		PersonID, ExternalID string
		Similarity           float64
		Match, ValidNow      bool
	}
	Results []struct {
		Match      bool
		Candidates []struct{ PersonID string }
		Error      *struct{ Code string }
	}
}

func testMountedGalleries(t *testing.T, o daemon.Options) {
	m := startMounted(t, o, Options{})
	_, key := m.tenant("test")
	_, other := m.tenant("test")
	st, b := m.do("POST", "/admin/v1/tenants", "adm", `{"name":"ro","mode":"test","scopes":["galleries:read"]}`)
	var ro struct {
		APIKey string `json:"api_key"`
	}
	if json.Unmarshal(b, &ro); st != 201 {
		t.Fatalf("read-only tenant: %d %s", st, b)
	}
	johns := func(who string, n int) []byte {
		files := map[string][]string{
			"John_Simm":   {"000288_00470387.jpg"},
			"John_Salley": {"000179_02159509.jpg", "000183_02159543.jpg"},
		}
		return media(t, "johns/"+who+"/"+files[who][n])
	}
	var gal struct {
		GalleryID string
		Threshold float64
		Persons   int
		Version   int64
	}
	// Galleries.
	for _, c := range []struct {
		name, method, path, bearer, body string
		status                           int
		code                             string
	}{
		{"no key", "GET", "/v1/galleries", "", "", 401, "auth.missing"},
		{"wrong key", "GET", "/v1/galleries", "lg_nope", "", 401, "auth.invalid"},
		{"threshold out of range", "POST", "/v1/galleries", key, `{"threshold": 1.5}`, 400, "request.invalid_field"},
		{"unknown field", "POST", "/v1/galleries", key, `{"thresh": 0.5}`, 400, "request.unknown_field"},
		{"read-only key creates", "POST", "/v1/galleries", ro.APIKey, `{"name":"x"}`, 403, "auth.insufficient_scope"},
		{"create", "POST", "/v1/galleries", key, `{"name":"staff"}`, 201, ""},
	} {
		st, b := m.do(c.method, c.path, c.bearer, c.body)
		m.match(c.method, c.path, st, b, c.code)
		if st != c.status || errCode(b) != c.code {
			t.Fatalf("%s: %d %s, want %d %s", c.name, st, b, c.status, c.code)
		}
		if c.status == 201 {
			json.Unmarshal(b, &gal)
		}
	}
	if gal.GalleryID == "" || gal.Threshold != 0.6 || gal.Persons != 0 {
		t.Fatalf("gallery %+v", gal)
	}
	gp := "/v1/galleries/" + gal.GalleryID
	st, b = m.do("GET", "/v1/galleries", key, "")
	m.match("GET", "/v1/galleries", st, b, "")
	if st != 200 || !strings.Contains(string(b), gal.GalleryID) {
		t.Fatalf("list: %d %s", st, b)
	}
	for _, c := range []struct {
		name, bearer, path, doc string
		status                  int
		code                    string
	}{
		{"another tenant's gallery", other, gp, "/v1/galleries/{id}", 404, "gallery.not_found"},
		{"no such gallery", key, "/v1/galleries/gal_nope", "/v1/galleries/{id}", 404, "gallery.not_found"},
		{"read-only key reads", ro.APIKey, "/v1/galleries/gal_nope", "/v1/galleries/{id}", 404, "gallery.not_found"},
		{"no such person", key, gp + "/persons/per_nope", "/v1/galleries/{id}/persons/{person_id}", 404, "gallery.person_not_found"},
	} {
		st, b := m.do("GET", c.path, c.bearer, "")
		m.match("GET", c.doc, st, b, c.code)
		if st != c.status || errCode(b) != c.code {
			t.Fatalf("%s: %d %s", c.name, st, b)
		}
	}

	// Persons.
	addPerson := func(body string, status int, code string) string {
		t.Helper()
		st, b := m.do("POST", gp+"/persons", key, body)
		m.match("POST", "/v1/galleries/{id}/persons", st, b, code)
		if st != status || errCode(b) != code {
			t.Fatalf("add person %s: %d %s, want %d %s", body, st, b, status, code)
		}
		var p struct{ PersonID string }
		json.Unmarshal(b, &p)
		return p.PersonID
	}
	addPerson(`{"displayName":"x"}`, 400, "request.missing_field")
	addPerson(`{"externalId":"a","zones":["no spaces"]}`, 400, "request.invalid_field")
	addPerson(`{"externalId":"a","validFrom":"2030-01-01T00:00:00Z","validTo":"2029-01-01T00:00:00Z"}`, 400, "request.invalid_field")
	simm := addPerson(`{"externalId":"emp-simm","displayName":"John Simm","zones":["lobby","lab-2"]}`, 201, "")
	salley := addPerson(`{"externalId":"emp-salley","validTo":"2000-01-01T00:00:00Z"}`, 201, "")
	addPerson(`{"externalId":"emp-simm"}`, 409, "gallery.person_exists")

	// Enrolment.
	enrol := func(person string, img []byte, status int, code, msg string) {
		t.Helper()
		path := gp + "/persons/" + person + "/faces"
		st, b := m.upload(path, key, part{"image", "face.jpg", img})
		m.match("POST", "/v1/galleries/{id}/persons/{person_id}/faces", st, b, code)
		if st != status || errCode(b) != code || !strings.Contains(string(b), msg) {
			t.Fatalf("enrol %s: %d %s, want %d %s %q", person, st, b, status, code, msg)
		}
	}
	enrol(simm, grey(t, 320, 240), 422, "face.not_detected", "")
	enrol(simm, media(t, "face-api/sample1.jpg"), 422, "face.multiple_faces", "")
	enrol(simm, blurred(t, media(t, "grace_hopper_512x512.jpg")), 422, "gallery.poor_image", "blurred")
	enrol(simm, []byte("not an image"), 415, "image.unsupported_type", "")
	enrol("per_nope", johns("John_Simm", 0), 404, "gallery.person_not_found", "")
	enrol(simm, johns("John_Simm", 0), 201, "", `"faceId"`)
	enrol(salley, johns("John_Salley", 0), 201, "", `"faceId"`)
	enrol(salley, johns("John_Salley", 0), 409, "gallery.face_exists", "")
	st, b = m.do("GET", gp+"/persons/"+simm, key, "")
	m.match("GET", "/v1/galleries/{id}/persons/{person_id}", st, b, "")
	if st != 200 || strings.Count(string(b), `"faceId"`) != 1 {
		t.Fatalf("person: %d %s", st, b)
	}

	// Nothing of the enrolled face in clear: not its embedding (made again
	// here by the same engine), raw, base64 or hex, nor its image.
	eng, err := faceapi.New(faceapi.Config{Sets: 1})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := eng.EmbedOne(context.Background(), "image", johns("John_Simm", 0))
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}
	raw := m.raw()
	enc := lifecycle.EncodeEmbedding(emb)
	for name, needle := range map[string][]byte{
		"embedding": enc[:32], "embedding base64": []byte(base64.StdEncoding.EncodeToString(enc[:48])),
		"embedding hex": []byte(hex.EncodeToString(enc[:32])), "image": johns("John_Simm", 0)[200:264],
		"image base64": []byte(base64.StdEncoding.EncodeToString(johns("John_Simm", 0)[201:249])),
		"image hex":    []byte(hex.EncodeToString(johns("John_Simm", 0)[200:232])),
	} {
		if bytes.Contains(raw, needle) || bytes.Contains(bytes.ToLower(raw), bytes.ToLower(needle)) {
			t.Errorf("the store holds the %s in clear", name)
		}
	}

	// Search.
	search := func(status int, code string, parts ...part) searchAnswer {
		t.Helper()
		st, b := m.upload("/v1/face/search", key, parts...)
		m.match("POST", "/v1/face/search", st, b, code)
		if st != status || errCode(b) != code {
			t.Fatalf("search: %d %s, want %d %s", st, b, status, code)
		}
		var a searchAnswer
		json.Unmarshal(b, &a)
		return a
	}
	g := part{"galleryId", "", []byte(gal.GalleryID)}
	probe := func(b []byte) part { return part{"image", "probe.jpg", b} }
	a := search(200, "", g, probe(johns("John_Salley", 1)))
	if !a.Match || a.Candidates[0].PersonID != salley || a.Candidates[0].ValidNow || len(a.Candidates) != 2 || a.Candidates[1].Match {
		t.Fatalf("John Salley's other photo: %+v", a)
	}
	a = search(200, "", g, probe(media(t, "skimage/astronaut.png")), part{"topK", "", []byte("1")})
	if a.Match || len(a.Candidates) != 1 || a.Candidates[0].Match {
		t.Fatalf("a stranger: %+v", a)
	}
	a = search(200, "", g, probe(johns("John_Simm", 0)))
	if !a.Match || a.Candidates[0].PersonID != simm || !a.Candidates[0].ValidNow || a.Candidates[0].Similarity < 0.99 {
		t.Fatalf("the enrolled photo itself: %+v", a)
	}
	for _, c := range []struct {
		name   string
		status int
		code   string
		parts  []part
	}{
		{"no gallery", 400, "request.missing_field", []part{probe(johns("John_Simm", 0))}},
		{"another tenant's gallery", 404, "gallery.not_found", []part{{"galleryId", "", []byte("gal_nope")}, probe(johns("John_Simm", 0))}},
		{"no probe", 400, "request.missing_field", []part{g}},
		{"both probes", 400, "request.invalid_field", []part{g, probe(johns("John_Simm", 0)), {"sessionId", "", []byte("ses_x")}}},
		{"topK too large", 400, "request.invalid_field", []part{g, probe(johns("John_Simm", 0)), {"topK", "", []byte("51")}}},
		{"unknown session", 404, "session.not_found", []part{g, {"sessionId", "", []byte("ses_nope")}}},
		{"no face", 422, "face.not_detected", []part{g, probe(grey(t, 200, 200))}},
	} {
		t.Run(c.name, func(t *testing.T) { search(c.status, c.code, c.parts...) })
	}
	st, b = m.upload("/v1/face/search", ro.APIKey, g, probe(johns("John_Simm", 0)))
	m.match("POST", "/v1/face/search", st, b, "gallery.not_found")
	if st != 404 {
		t.Fatalf("a read-only key of another tenant: %d %s", st, b)
	}

	// A liveness session's portrait as the probe (here a real photo of
	// John Salley, as a capture would have made it); before it passes,
	// session.not_verified; another tenant's, session.not_found.
	newSession := func(bearer string) string {
		t.Helper()
		st, b := m.do("POST", "/v1/sessions", bearer, `{"flow":"liveness","mode":"passive"}`)
		var v struct{ SessionID string }
		if json.Unmarshal(b, &v); st != 201 {
			t.Fatalf("session: %d %s", st, b)
		}
		return v.SessionID
	}
	sid := newSession(key)
	search(409, "session.not_verified", g, part{"sessionId", "", []byte(sid)})
	if _, err := m.d.Sessions().Complete(context.Background(), sid, lifecycle.Outcome{Confidence: 0.95, Verdict: core.VerdictPass, Photo: johns("John_Salley", 1)}); err != nil {
		t.Fatal(err)
	}
	a = search(200, "", g, part{"sessionId", "", []byte(sid)})
	if !a.Match || a.Candidates[0].PersonID != salley {
		t.Fatalf("by session: %+v", a)
	}
	search(404, "session.not_found", g, part{"sessionId", "", []byte(newSession(other))})

	// Batch.
	batch := func(status int, code string, parts ...part) searchAnswer {
		t.Helper()
		st, b := m.upload("/v1/face/search/batch", key, parts...)
		m.match("POST", "/v1/face/search/batch", st, b, code)
		if st != status || errCode(b) != code {
			t.Fatalf("batch: %d %s, want %d %s", st, b, status, code)
		}
		var a searchAnswer
		json.Unmarshal(b, &a)
		return a
	}
	img := func(b []byte) part { return part{"images", "p.jpg", b} }
	a = batch(200, "", g, img(johns("John_Salley", 1)), img(media(t, "skimage/astronaut.png")), img(grey(t, 100, 100)))
	if len(a.Results) != 3 || !a.Results[0].Match || a.Results[0].Candidates[0].PersonID != salley || a.Results[1].Match ||
		a.Results[2].Error == nil || a.Results[2].Error.Code != "face.not_detected" {
		t.Fatalf("batch: %+v", a)
	}
	batch(400, "search.too_many_probes", g)
	var many []part
	for i := 0; i < 17; i++ {
		many = append(many, img(grey(t, 40, 40)))
	}
	batch(400, "search.too_many_probes", append([]part{g}, many...)...)

	// Deletion: every template goes, the search no longer finds them.
	st, b = m.do("DELETE", gp+"/persons/"+salley, key, "")
	m.match("DELETE", "/v1/galleries/{id}/persons/{person_id}", st, b, "")
	if st != 200 || !strings.Contains(string(b), `"templatesDeleted":1`) {
		t.Fatalf("delete: %d %s", st, b)
	}
	st, b = m.do("DELETE", gp+"/persons/"+salley, key, "")
	m.match("DELETE", "/v1/galleries/{id}/persons/{person_id}", st, b, "gallery.person_not_found")
	if st != 404 {
		t.Fatalf("delete again: %d %s", st, b)
	}
	a = search(200, "", g, probe(johns("John_Salley", 1)))
	if a.Match || len(a.Candidates) != 1 || a.Candidates[0].PersonID == salley {
		t.Fatalf("after the delete: %+v", a)
	}
	st, b = m.do("GET", gp, key, "")
	m.match("GET", "/v1/galleries/{id}", st, b, "")
	if json.Unmarshal(b, &gal); gal.Persons != 1 || gal.Version != 5 {
		t.Fatalf("gallery after 2 adds, 2 enrolments, 1 delete: %s", b)
	}
}
