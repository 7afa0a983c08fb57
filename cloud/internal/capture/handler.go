package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
)

// Defaults of Config.
const (
	DefaultMaxFrameBytes = 1_500_000
	DefaultMaxFPS        = 15
	DefaultAttempts      = 3
	DefaultIdleTimeout   = 30 * time.Second
	DefaultMaxBadFrames  = 10
	maxAuditFrames       = 4
)

// Sessions is the session lifecycle as capture uses it (lifecycle.Service
// satisfies it).
type Sessions interface {
	Get(ctx context.Context, id string) (*core.Session, error)
	ClientTokenValid(sess *core.Session, token string) bool
	// Start moves a pending session to in_progress (session.in_progress is
	// queued once); a session already in progress is returned unchanged.
	Start(ctx context.Context, id string) (*core.Session, error)
	// CountAttempt durably counts a failed attempt that is not the
	// session's last of limit; last reports that it would be.
	CountAttempt(ctx context.Context, id string, limit int) (*core.Session, bool, error)
	Complete(ctx context.Context, id string, o lifecycle.Outcome) (*core.Session, error)
}

// FailureThrottle counts failed attempts per key and imposes cool-downs
// (Throttle counts in memory, PGThrottle in a table replicas share); a
// Limiter says which keys and rules apply to a session.
type FailureThrottle interface {
	// Blocked reports whether key is cooling down at now, and for how long.
	Blocked(key string, now time.Time) (bool, time.Duration)
	// Fail records a failed attempt under key and reports whether key now
	// cools down under r.
	Fail(key string, r Rule, now time.Time) (bool, time.Duration)
}

// FaceMatchFunc compares the best frame of a capture (img, its face mesh
// lm, captured at at) with the reference face of sess, a session whose flow
// runs facematch (sess.FaceRef set); frame is the index of the audit frame
// that shows it, or -1.
type FaceMatchFunc func(ctx context.Context, sess *core.Session, img *imgproc.RGB, lm *face.Landmarks, at time.Time, frame int) (*core.FaceMatch, error)

// BoxFunc finds the face boxes of a JPEG (for audit frames).
type BoxFunc func(ctx context.Context, jpeg []byte) ([][4]float64, error)

// Config configures a Handler.
type Config struct {
	// Sessions reads and completes sessions. Required.
	Sessions Sessions
	// Models are the liveness models shared by every session. Required.
	Models *liveness.Models
	// Analyzer is the base analyzer configuration; Mode comes from the
	// session and LightControlled from Light. Optional.
	Analyzer liveness.Config
	// NoLight disables the screen-colour light challenge. Optional.
	// Default: false (the page flashes the colours the server chose).
	NoLight bool
	// Photo makes the ICAO photo of a pass. Optional. Default: ICAOPhoto.
	Photo PhotoFunc
	// Audit keeps audit frames. Optional. Default: none kept.
	Audit AuditStore
	// Boxes finds face boxes for audit frames. Optional.
	Boxes BoxFunc
	// FaceMatch compares the deciding attempt's best frame with the
	// reference face of a session that has one. Optional. Default: such
	// sessions complete without a comparison (their decision goes to
	// review, facematch_unavailable).
	FaceMatch FaceMatchFunc
	// MaxFrameBytes is the largest frame accepted. Optional. Default: 1.5 MB.
	MaxFrameBytes int
	// MaxFPS caps the frames analysed per second and session; faster frames
	// are dropped (and counted). Optional. Default: 15.
	MaxFPS float64
	// Attempts is the number of attempts a session allows, counted in the
	// session store (so across reconnects, replicas and restarts).
	// Optional. Default: 3.
	Attempts int
	// Throttle counts failed attempts per end user and per client address
	// (Limiter, Policy). Optional. Default: NewThrottle(), counting in this
	// process's memory (docs/capture.md says what that means with several
	// replicas).
	Throttle FailureThrottle
	// Tenants gives each session's tenant settings for the throttle
	// (PolicyFor). Optional. Default: every session gets DefaultPolicy's
	// budgets, and test-mode sessions are exempt.
	Tenants Tenants
	// IdleTimeout closes a connection with no message for this long.
	// Optional. Default: 30 s.
	IdleTimeout time.Duration
	// MaxBadFrames closes a connection after this many undecodable frames
	// or malformed messages in a row. Optional. Default: 10.
	MaxBadFrames int
	// Clock is used for session expiry and throttling. Optional. Default: clock.Real.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

// Stats are counters over every connection since the Handler started.
type Stats struct {
	Received, Analysed, BadFrames, Verdicts int64
	// Dropped counts every frame not analysed: RateCapped of them came
	// faster than MaxFPS, the others found the engine busy with the
	// session's previous frame.
	Dropped, RateCapped int64
}

// Handler serves the capture WebSocket.
type Handler struct {
	cfg     Config
	ctx     context.Context
	cancel  context.CancelFunc
	limiter *Limiter

	mu     sync.Mutex
	live   map[string]*conn
	closed bool // Close was called: no new connection is served (under mu)
	wg     sync.WaitGroup

	received, analysed, dropped, rateCapped, badFrames, verdicts atomic.Int64
}

// New returns a Handler; Close ends its connections.
func New(cfg Config) (*Handler, error) {
	if cfg.Sessions == nil || cfg.Models == nil {
		return nil, errors.New("capture: Sessions and Models are required")
	}
	if cfg.Photo == nil {
		cfg.Photo = ICAOPhoto
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if cfg.MaxFPS <= 0 {
		cfg.MaxFPS = DefaultMaxFPS
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Throttle == nil {
		cfg.Throttle = NewThrottle()
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxBadFrames <= 0 {
		cfg.MaxBadFrames = DefaultMaxBadFrames
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.Analyzer.Validate(); err != nil {
		return nil, fmt.Errorf("capture: analyzer config: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Handler{cfg: cfg, ctx: ctx, cancel: cancel, live: map[string]*conn{},
		limiter: NewLimiter(cfg.Throttle, cfg.Tenants, cfg.Logger)}, nil
}

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	return Stats{Received: h.received.Load(), Analysed: h.analysed.Load(), Dropped: h.dropped.Load(),
		RateCapped: h.rateCapped.Load(), BadFrames: h.badFrames.Load(), Verdicts: h.verdicts.Load()}
}

// Close ends every connection (close code 1001) and waits for them.
func (h *Handler) Close() error {
	// A connection upgraded while Close runs must not join wg while it
	// is waited on: serve adds to it under mu only while not closed.
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// Live reports whether a connection is live for the session.
func (h *Handler) Live(sessionID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live[sessionID] != nil
}

const (
	localSession  = "capture.session"
	localCamera   = "capture.camera"
	localSubject  = "capture.subject"
	localThrottle = "capture.throttle"
)

// Camera kinds of the ws route's camera parameter.
const (
	// CameraFixed: the camera does not move during the session (a laptop's
	// or a desktop's webcam, a kiosk). The default.
	CameraFixed = "fixed"
	// CameraHandheld: a phone or tablet held in the hand. The analyzer
	// then takes no evidence from the background (it moves with the face
	// when the camera moves), so the motion layer rests on parallax alone
	// and the light-response layer carries more of the decision
	// (liveness.Config.HandheldCamera; docs/websocket.md).
	CameraHandheld = "handheld"
)

// Route is the fiber handler of GET /api/v1/session/{id}/ws?token=…: it
// authenticates the client token and the session's state over HTTP (404,
// 410, 409 in the API's envelope), asks the throttle, then upgrades. A
// client cooling down is still upgraded, with Retry-After on the 101, and
// then told (too_many_failures with retry_after, close 4429): a browser
// cannot read a refused handshake. A plain HTTP request gets 429
// capture.too_many_failures with Retry-After instead of 400.
func (h *Handler) Route() fiber.Handler {
	ws := websocket.New(h.serve, websocket.Config{ReadBufferSize: 32 << 10, WriteBufferSize: 4 << 10, HandshakeTimeout: 10 * time.Second})
	return func(c *fiber.Ctx) error {
		id := strings.Clone(c.Params("id"))
		sess, err := h.check(c.UserContext(), id, c.Query("token"))
		if err != nil {
			return err
		}
		camera := c.Query("camera", CameraFixed)
		if camera != CameraFixed && camera != CameraHandheld {
			return apierr.New(apierr.InvalidField, "query parameter \"camera\" must be %q or %q, got %q", CameraFixed, CameraHandheld, camera)
		}
		sub := h.limiter.Subject(c.UserContext(), sess, c.IP())
		d := h.limiter.Check(sub, h.cfg.Clock.Now())
		if !websocket.IsWebSocketUpgrade(c) {
			if d.Blocked {
				e := apierr.New(CodeThrottled, "%s", d.message())
				e.RetryAfter = seconds(d.Wait)
				return e
			}
			return apierr.New(apierr.BadRequest, "this route needs a WebSocket upgrade (docs/websocket.md)")
		}
		if d.Blocked {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(seconds(d.Wait)))
		}
		c.Locals(localSession, sess)
		c.Locals(localCamera, camera == CameraHandheld)
		c.Locals(localSubject, sub)
		c.Locals(localThrottle, d)
		return ws(c)
	}
}

// check authenticates the client token and requires a session that can
// still be captured.
func (h *Handler) check(ctx context.Context, id, token string) (*core.Session, error) {
	notFound := apierr.New(apierr.SessionNotFound, "session %s not found", id)
	sess, err := h.cfg.Sessions.Get(ctx, id)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.SessionNotFound {
			return nil, notFound
		}
		return nil, err
	}
	if token == "" || !core.SecretMatches(token, sess.ClientTokenHash) {
		return nil, notFound
	}
	now := h.cfg.Clock.Now()
	if sess.Status == core.StatusExpired || !now.Before(sess.ExpiresAt) || !h.cfg.Sessions.ClientTokenValid(sess, token) {
		return nil, apierr.New(apierr.SessionExpired, "session %s expired at %s", id, sess.ExpiresAt.Format(time.RFC3339))
	}
	if sess.Status.Terminal() {
		return nil, apierr.New(apierr.SessionTerminal, "session %s is already %s", id, sess.Status)
	}
	if lifecycle.NeedsConsent(sess) && sess.Consent == nil {
		return nil, apierr.New(CodeConsentRequired, "session %s has no consent recorded: the hosted page records it (POST /s/%s/consent) before the camera starts", id, id)
	}
	return sess, nil
}

// CodeConsentRequired refuses the capture of a verification session whose
// user has not consented yet (lifecycle.NeedsConsent).
var CodeConsentRequired = apierr.Register("consent.required", http.StatusForbidden,
	"Capture of a verification session (POST /v1/sessions) is refused until the user's consent is recorded: the hosted page shows its consent screen and records the consent (POST /s/{id}/consent) before the camera starts. Nothing was captured.")

// conn is one live connection.
type conn struct {
	h    *Handler
	ws   *websocket.Conn
	sess *core.Session
	// subject is the connection's end user and address for the throttle.
	subject Subject
	// handheld: the page said the camera is a phone's or tablet's, held
	// in the hand (the ws route's camera parameter).
	handheld bool
	log      *slog.Logger

	wmu    sync.Mutex
	closed bool

	mu        sync.Mutex
	gen       int  // attempt generation: frames of older generations are discarded
	capturing bool // frames are accepted
	light     *liveness.Light
	lastFrame time.Time
	dropped   int
	badRun    int
	started   bool // Sessions.Start was called for this connection (analyse goroutine only)
}

type frameIn struct {
	gen   int
	data  []byte
	ts    time.Duration
	at    time.Time // received, on the handler's clock
	light *liveness.Light
}

func (h *Handler) register(id string, c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live[id] != nil {
		return false
	}
	h.live[id] = c
	return true
}

func (h *Handler) unregister(id string, c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live[id] == c {
		delete(h.live, id)
	}
}

func (h *Handler) serve(ws *websocket.Conn) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	sess, _ := ws.Locals(localSession).(*core.Session)
	if sess == nil {
		return
	}
	handheld, _ := ws.Locals(localCamera).(bool)
	sub, _ := ws.Locals(localSubject).(Subject)
	c := &conn{h: h, ws: ws, sess: sess, subject: sub, handheld: handheld, log: h.cfg.Logger.With(slog.String("session_id", sess.ID))}
	if d, _ := ws.Locals(localThrottle).(Decision); d.Blocked {
		c.closeWith(CloseThrottled, ErrThrottled, d.message(), d.Wait)
		return
	}
	if !h.register(sess.ID, c) {
		c.closeWith(CloseBusy, ErrSessionBusy, "another connection is live for this session", 0)
		return
	}
	defer h.unregister(sess.ID, c)
	if sess.Attempts >= h.cfg.Attempts {
		c.closeWith(CloseSessionOver, ErrSessionOver, "this session has no attempts left", 0)
		return
	}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	afterDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(afterDone)
		if h.ctx.Err() != nil {
			c.closeWith(CloseGoingAway, "", "server shutting down", 0)
		}
		_ = ws.Close()
	})
	defer func() {
		if !stop() {
			<-afterDone // the connection must not be touched after serve returns
		}
	}()

	frames := make(chan frameIn, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		c.analyse(ctx, frames)
	}()
	c.mu.Lock()
	c.gen, c.capturing = 1, true
	c.mu.Unlock()
	c.read(ctx, frames)
	cancel()
	<-done
}

// read is the reader loop: it bounds, rate-limits and forwards frames, and
// handles control messages.
func (c *conn) read(ctx context.Context, frames chan frameIn) {
	cfg := &c.h.cfg
	start := time.Now()
	var lastTS time.Duration
	minGap := time.Duration(float64(time.Second) / cfg.MaxFPS * 0.9)
	for ctx.Err() == nil {
		_ = c.ws.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		mt, r, err := c.ws.NextReader()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				c.closeWith(CloseIdle, ErrIdle, fmt.Sprintf("no message for %s", cfg.IdleTimeout), 0)
			}
			return
		}
		switch mt {
		case websocket.BinaryMessage:
			data, err := io.ReadAll(io.LimitReader(r, int64(cfg.MaxFrameBytes)+1))
			if err != nil {
				return
			}
			c.h.received.Add(1)
			if len(data) > cfg.MaxFrameBytes {
				c.closeWith(CloseFrameTooLarge, ErrFrameTooLarge, fmt.Sprintf("frames are at most %d bytes", cfg.MaxFrameBytes), 0)
				return
			}
			if now := cfg.Clock.Now(); !now.Before(c.sess.ExpiresAt) {
				c.closeWith(CloseSessionOver, ErrSessionOver, "the session expired", 0)
				return
			}
			if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
				if !c.badFrame("frames must be JPEG images") {
					return
				}
				continue
			}
			now := time.Now()
			c.mu.Lock()
			if !c.capturing {
				c.mu.Unlock()
				continue // between attempts: frames are ignored
			}
			if !c.lastFrame.IsZero() && now.Sub(c.lastFrame) < minGap {
				c.dropped++
				c.mu.Unlock()
				c.h.dropped.Add(1)
				c.h.rateCapped.Add(1)
				continue
			}
			c.lastFrame = now
			ts := now.Sub(start)
			if ts <= lastTS {
				ts = lastTS + time.Microsecond
			}
			lastTS = ts
			f := frameIn{gen: c.gen, data: data, ts: ts, at: cfg.Clock.Now(), light: c.light}
			c.mu.Unlock()
			select {
			case frames <- f:
			default:
				// The engine is busy with this session's previous frame: the
				// waiting frame is replaced by the newer one.
				select {
				case <-frames:
					c.mu.Lock()
					c.dropped++
					c.mu.Unlock()
					c.h.dropped.Add(1)
				default:
				}
				select {
				case frames <- f:
				default:
					c.mu.Lock()
					c.dropped++
					c.mu.Unlock()
					c.h.dropped.Add(1)
				}
			}
		case websocket.TextMessage:
			b, err := io.ReadAll(io.LimitReader(r, 4096))
			if err != nil {
				return
			}
			var m ClientMessage
			if json.Unmarshal(b, &m) != nil {
				if !c.badMessage("messages are JSON objects with a type") {
					return
				}
				continue
			}
			switch m.Type {
			case "start":
				// The first attempt is already accepting frames.
			case "retry":
				c.mu.Lock()
				ok := !c.capturing
				if ok {
					c.gen++
					c.capturing, c.light, c.dropped, c.lastFrame = true, nil, 0, time.Time{}
				}
				c.mu.Unlock()
				if !ok {
					c.send(Message{Type: TypeError, Code: ErrNotExpected, Message: "an attempt is already in progress"})
				}
			default:
				if !c.badMessage(fmt.Sprintf("unknown message type %q", m.Type)) {
					return
				}
			}
		}
	}
}

// badFrame reports a bad frame and says whether the connection stays open.
func (c *conn) badFrame(msg string) bool {
	c.h.badFrames.Add(1)
	c.mu.Lock()
	c.badRun++
	n := c.badRun
	c.mu.Unlock()
	if n >= c.h.cfg.MaxBadFrames {
		c.closeWith(CloseBadFrames, ErrBadFrame, fmt.Sprintf("%d bad frames in a row", n), 0)
		return false
	}
	c.send(Message{Type: TypeError, Code: ErrBadFrame, Message: msg})
	return true
}

func (c *conn) badMessage(msg string) bool {
	c.mu.Lock()
	c.badRun++
	n := c.badRun
	c.mu.Unlock()
	if n >= c.h.cfg.MaxBadFrames {
		c.closeWith(CloseBadFrames, ErrBadMessage, fmt.Sprintf("%d malformed messages in a row", n), 0)
		return false
	}
	c.send(Message{Type: TypeError, Code: ErrBadMessage, Message: msg})
	return true
}

// send writes one message; errors end the connection through its reader.
func (c *conn) send(m Message) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.ws.WriteJSON(m); err != nil {
		c.closed = true
		_ = c.ws.Close()
	}
}

// closeWith sends an error message (when code is set) and a close frame.
func (c *conn) closeWith(closeCode int, code, msg string, retry time.Duration) {
	if code != "" {
		m := Message{Type: TypeError, Code: code, Message: msg}
		if retry > 0 {
			m.RetryAfter = seconds(retry)
		}
		c.send(m)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	reason := msg
	if len(reason) > 120 {
		reason = reason[:120]
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeCode, reason), time.Now().Add(2*time.Second))
}

// attempt is the analysis state of one attempt.
type attempt struct {
	gen       int
	an        *liveness.Analyzer
	n         int // frames fed
	analysed  int
	started   bool
	lastChal  string
	lastIndex int
	lastStat  string
	lastIss   string
	lastLight *liveness.Light
	keep      map[int]auditCand
	times     []time.Time // when each fed frame was received, by index
	rec       *attemptRecording
}

type auditCand struct {
	why  string
	jpeg []byte
	at   time.Time
}

func (c *conn) newAttempt(ctx context.Context, gen int) *attempt {
	cfg := c.h.cfg.Analyzer
	cfg.Mode = liveness.Active
	if c.sess.Mode == core.ModePassive {
		cfg.Mode = liveness.Passive
	}
	cfg.LightControlled = !c.h.cfg.NoLight
	cfg.HandheldCamera = cfg.HandheldCamera || c.handheld
	cfg.ChallengePlan = challengePlan(c.sess)
	an := liveness.New(cfg, c.h.cfg.Models, nil)
	return &attempt{gen: gen, an: an, lastIndex: -1, keep: map[int]auditCand{}, rec: c.startRecording(ctx, an)}
}

// challengePlan is the fixed challenge list of a test-mode active session
// (core.Session.Challenges, validated at creation), or nil: the analyzer
// then draws the challenges when the attempt starts. A session that is not
// a test-mode one never gets a plan, whatever its record says — a list
// known in advance can be recorded.
func challengePlan(sess *core.Session) []liveness.Challenge {
	if !sess.Test || sess.Mode != core.ModeActive || len(sess.Challenges) == 0 {
		return nil
	}
	plan := make([]liveness.Challenge, len(sess.Challenges))
	for i, k := range sess.Challenges {
		plan[i] = liveness.Challenge(k)
	}
	if (liveness.Config{ChallengePlan: plan}).Validate() != nil {
		return nil // not a list creation accepts: draw instead
	}
	return plan
}

// analyse is the analysis loop: one frame at a time, the newest waiting.
func (c *conn) analyse(ctx context.Context, frames <-chan frameIn) {
	var at *attempt
	defer func() {
		if at != nil {
			c.discardRecording(ctx, at)
		}
	}()
	for {
		var f frameIn
		select {
		case <-ctx.Done():
			return
		case f = <-frames:
		}
		c.mu.Lock()
		cur, capturing := c.gen, c.capturing
		c.mu.Unlock()
		if f.gen != cur || !capturing {
			continue
		}
		if at == nil || at.gen != f.gen {
			if at != nil {
				c.discardRecording(ctx, at)
			}
			at = c.newAttempt(ctx, f.gen)
		}
		if !c.started {
			c.started = true
			if !c.start(ctx) {
				return
			}
		}
		if !at.started {
			at.started = true
			c.sendStart(at)
		}
		idx := at.n
		at.n++
		at.times = append(at.times, f.at)
		lf := liveness.Frame{JPEG: f.data, Timestamp: f.ts, Light: f.light}
		c.recordFrame(ctx, at, lf)
		g, err := at.an.Feed(ctx, lf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, liveness.ErrClosed) {
				return
			}
			if errors.Is(err, liveness.ErrBadFrame) || errors.Is(err, liveness.ErrTimestamp) {
				if !c.badFrame("the frame could not be decoded (JPEG, 32–4096 px a side, same size for the whole attempt)") {
					c.ws.Close()
					return
				}
				continue
			}
			c.log.LogAttrs(ctx, slog.LevelError, "capture: analysing frame", slog.String("error", err.Error()))
			c.closeWith(CloseInternal, ErrInternal, "the frame could not be analysed", 0)
			c.ws.Close()
			return
		}
		c.mu.Lock()
		c.badRun = 0
		dropped := c.dropped
		c.mu.Unlock()
		c.h.analysed.Add(1)
		at.analysed++
		c.keepAudit(at, idx, f, g)
		c.guide(at, g, dropped)
		if g.Done || at.an.Done() {
			if c.finish(ctx, at) {
				return
			}
		}
	}
}

// start marks the session in progress when analysis of its first frame
// begins (session.in_progress is queued once per session, whatever the
// number of connections); it reports whether the connection goes on.
func (c *conn) start(ctx context.Context) bool {
	if c.sess.Status != core.StatusPending {
		return true // already in progress (a reconnect)
	}
	// c.sess is shared with the reader and stays as read at connect time.
	if _, err := c.h.cfg.Sessions.Start(ctx, c.sess.ID); err != nil {
		if e, ok := apierr.As(err); ok && (e.Code == apierr.SessionTerminal || e.Code == apierr.SessionExpired) {
			c.closeWith(CloseSessionOver, ErrSessionOver, "the session expired or finished", 0)
			c.ws.Close()
			return false
		}
		// The capture goes on; the verdict is stored through the same
		// store and reports the failure then if it persists.
		c.log.LogAttrs(ctx, slog.LevelWarn, "capture: marking session in progress", slog.String("error", err.Error()))
	}
	return true
}

func (c *conn) sendStart(at *attempt) {
	cfg := at.an.Config()
	m := Message{Type: TypeChallenge, Mode: string(cfg.Mode), HoldMS: cfg.Hold.Milliseconds()}
	if cfg.Mode == liveness.Active {
		m.Count = len(at.an.Challenges())
		m.Challenge = string(at.an.Challenges()[0])
		m.Index = intp(0)
		m.RemainingMS = cfg.ChallengeWindow.Milliseconds()
	} else {
		m.Challenge = "hold_still"
	}
	c.send(m)
	if cfg.LightControlled {
		c.send(Message{Type: TypeLight, Off: true, StepMS: cfg.LightStep.Milliseconds()})
	}
}

func colorOf(l *liveness.Light) string {
	ch := func(v float64) int { return int(min(max(v*l.Intensity, 0), 1)*255 + 0.5) }
	return fmt.Sprintf("#%02x%02x%02x", ch(l.R), ch(l.G), ch(l.B))
}

// guide sends what changed after a frame.
func (c *conn) guide(at *attempt, g liveness.Guidance, dropped int) {
	iss := strings.Join(g.Issues, ",")
	if g.Status != at.lastStat || iss != at.lastIss {
		at.lastStat, at.lastIss = g.Status, iss
		c.send(Message{Type: TypeFeedback, Status: g.Status, Issues: g.Issues})
	}
	if g.Challenge != "" && (string(g.Challenge) != at.lastChal || g.ChallengeIndex != at.lastIndex) {
		at.lastChal, at.lastIndex = string(g.Challenge), g.ChallengeIndex
		c.send(Message{Type: TypeChallenge, Mode: string(liveness.Active), Challenge: string(g.Challenge), Index: intp(g.ChallengeIndex),
			Count: g.ChallengeCount, RemainingMS: g.ChallengeRemaining.Milliseconds()})
	}
	if !sameLight(g.Light, at.lastLight) {
		at.lastLight = g.Light
		c.mu.Lock()
		c.light = g.Light
		c.mu.Unlock()
		if g.Light == nil {
			c.send(Message{Type: TypeLight, Off: true})
		} else {
			c.send(Message{Type: TypeLight, Color: colorOf(g.Light), Intensity: floatp(g.Light.Intensity)})
		}
	}
	c.send(Message{Type: TypeProgress, Progress: floatp(round2(g.Progress)), ChallengeProgress: floatp(round2(g.ChallengeProgress)),
		Dropped: intp(dropped), Analysed: intp(at.analysed)})
}

func round2(v float64) float64 { return float64(int(v*100+0.5)) / 100 }

func sameLight(a, b *liveness.Light) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// keepAudit keeps the JPEGs of frames that may become audit frames: the
// first good frame, each frame where a challenge was completed, the latest.
func (c *conn) keepAudit(at *attempt, idx int, f frameIn, g liveness.Guidance) {
	if c.h.cfg.Audit == nil {
		return
	}
	good := g.Status == liveness.StatusChallenge || g.Status == liveness.StatusHoldStill || g.Status == liveness.StatusDone
	hasRef := false
	for _, k := range at.keep {
		if k.why == "reference" {
			hasRef = true
		}
	}
	switch {
	case good && !hasRef:
		at.keep[idx] = auditCand{"reference", f.data, f.at}
	case g.ChallengeIndex > at.lastIndex && at.lastIndex >= 0 && at.lastChal != "":
		at.keep[idx] = auditCand{"challenge:" + at.lastChal, f.data, f.at}
	}
	for k, v := range at.keep {
		if v.why == "last" {
			delete(at.keep, k)
		}
	}
	if _, ok := at.keep[idx]; !ok {
		at.keep[idx] = auditCand{"last", f.data, f.at}
	}
	// Bound what is held: the reference, the last, and at most 6 challenges.
	if len(at.keep) > 8 {
		oldest := -1
		for k, v := range at.keep {
			if strings.HasPrefix(v.why, "challenge:") && (oldest < 0 || k < oldest) {
				oldest = k
			}
		}
		delete(at.keep, oldest)
	}
}

// finish handles an attempt's verdict; it reports whether the connection is over.
func (c *conn) finish(ctx context.Context, at *attempt) bool {
	v := at.an.Verdict()
	h := c.h
	now := h.cfg.Clock.Now()
	h.verdicts.Add(1)
	c.mu.Lock()
	c.capturing = false
	c.light = nil
	c.mu.Unlock()
	if v.Verdict != liveness.VerdictPass {
		sess, last, err := h.cfg.Sessions.CountAttempt(ctx, c.sess.ID, h.cfg.Attempts)
		if err != nil {
			c.discardRecording(ctx, at)
			return c.storeFailed(ctx, "counting attempt", err)
		}
		if !last {
			// Only the attempt that decides the session keeps its recording.
			c.discardRecording(ctx, at)
			left := max(h.cfg.Attempts-sess.Attempts, 0)
			if d := h.limiter.Fail(c.subject, now); d.Blocked {
				c.send(Message{Type: TypeVerdict, Result: v.Verdict, Final: boolp(false), AttemptsLeft: intp(left), Advice: liveness.Advice(v.Reasons)})
				c.closeWith(CloseThrottled, ErrThrottled, d.message(), d.Wait)
				return true
			}
			c.send(Message{Type: TypeVerdict, Result: v.Verdict, Final: boolp(false), AttemptsLeft: intp(left), Advice: liveness.Advice(v.Reasons)})
			return false
		}
		h.limiter.Fail(c.subject, now)
	}
	o := lifecycle.Outcome{Confidence: clamp01(v.Confidence), Verdict: core.Verdict(v.Verdict), Reasons: v.Reasons}
	for _, l := range v.Layers {
		st := "passed"
		if !l.Passed {
			st = "failed"
		}
		detail := l.Detail
		if c.handheld && l.Name == liveness.LayerMotion {
			detail += "; handheld camera: the background was not used"
		}
		o.Checks = append(o.Checks, core.Check{Name: l.Name, Status: st, Score: clamp01(l.Score), Detail: detail})
	}
	if v.Verdict == liveness.VerdictPass {
		if _, img, lm, ok := at.an.BestFrame(); ok {
			photo, err := h.cfg.Photo(img, lm)
			if err != nil {
				c.log.LogAttrs(ctx, slog.LevelWarn, "capture: ICAO photo", slog.String("error", err.Error()))
			}
			o.Photo = photo
		}
	}
	// The audit frames (and the recording) are on disk before the
	// completion that lists them.
	var bestShown int
	o.AuditFrames, bestShown = c.storeAudit(ctx, at, v)
	o.FaceMatch = c.matchFace(ctx, at, bestShown)
	recorded := c.keepRecording(ctx, at, v)
	sess, err := h.cfg.Sessions.Complete(ctx, c.sess.ID, o)
	if err != nil {
		if len(o.AuditFrames) > 0 || recorded {
			if derr := h.cfg.Audit.Delete(ctx, c.sess.ID); derr != nil {
				c.log.LogAttrs(ctx, slog.LevelWarn, "capture: deleting unlisted audit frames", slog.String("error", derr.Error()))
			}
		}
		return c.storeFailed(ctx, "completing session", err)
	}
	c.send(Message{Type: TypeVerdict, Result: v.Verdict, Final: boolp(true), AttemptsLeft: intp(max(h.cfg.Attempts-sess.Attempts, 0)),
		RedirectURL: lifecycle.RedirectTarget(sess), Advice: liveness.Advice(v.Reasons)})
	c.closeWith(CloseNormal, "", "verdict sent", 0)
	return true
}

// storeFailed closes the connection after the session store refused or
// failed a write; it reports that the connection is over.
func (c *conn) storeFailed(ctx context.Context, what string, err error) bool {
	if e, ok := apierr.As(err); ok && (e.Code == apierr.SessionTerminal || e.Code == apierr.SessionExpired) {
		c.closeWith(CloseSessionOver, ErrSessionOver, "the session expired or finished", 0)
		return true
	}
	c.log.LogAttrs(ctx, slog.LevelError, "capture: "+what, slog.String("error", err.Error()))
	c.closeWith(CloseInternal, ErrInternal, "the result could not be stored; try again", 0)
	return true
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

// matchFace compares the attempt's best frame with the session's
// reference face, whatever the liveness verdict (a failed liveness declines
// anyway; the report still shows the comparison). nil when the session has
// no reference, no matcher is configured, the attempt kept no face, or the
// comparison failed (logged without any image data).
func (c *conn) matchFace(ctx context.Context, at *attempt, frame int) *core.FaceMatch {
	if c.sess.FaceRef == nil || c.h.cfg.FaceMatch == nil {
		return nil
	}
	idx, img, lm, ok := at.an.BestFrame()
	if !ok {
		return nil
	}
	var when time.Time
	if idx >= 0 && idx < len(at.times) {
		when = at.times[idx]
	}
	fm, err := c.h.cfg.FaceMatch(ctx, c.sess, img, lm, when, frame)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "capture: face match", slog.String("error", err.Error()))
		return nil
	}
	return fm
}

// storeAudit keeps up to four frames (those the analyzer named first, then
// the best frame, then the others held) with their face boxes, and returns
// what the session lists of them (nothing when no store is configured or
// storing failed) and the position in that list of the best frame (-1 when
// not kept). Only counts and errors are logged, never image data or face
// geometry.
func (c *conn) storeAudit(ctx context.Context, at *attempt, v liveness.Verdict) ([]core.AuditFrame, int) {
	a := c.h.cfg.Audit
	if a == nil {
		return nil, -1
	}
	var out []AuditFrame
	var times []time.Time
	seen := map[int]bool{}
	add := func(idx int, why string, data []byte) {
		if len(out) >= maxAuditFrames || seen[idx] || data == nil {
			return
		}
		seen[idx] = true
		out = append(out, AuditFrame{Index: idx, Why: why, JPEG: data})
		var t time.Time
		if idx >= 0 && idx < len(at.times) {
			t = at.times[idx]
		}
		times = append(times, t)
	}
	for _, af := range v.Audit {
		if k, ok := at.keep[af.Index]; ok {
			add(af.Index, af.Why, k.jpeg)
		}
	}
	if idx, img, _, ok := at.an.BestFrame(); ok && !seen[idx] && len(out) < maxAuditFrames {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img.ToImage(), &jpeg.Options{Quality: 85}); err == nil {
			add(idx, "best", buf.Bytes())
		}
	}
	for _, why := range []string{"reference", "challenge:", "last"} {
		for _, idx := range sortedKeys(at.keep) {
			if k := at.keep[idx]; strings.HasPrefix(k.why, why) {
				add(idx, k.why, k.jpeg)
			}
		}
	}
	if len(out) == 0 {
		return nil, -1
	}
	best := -1
	if idx, _, _, ok := at.an.BestFrame(); ok {
		for i, f := range out {
			if f.Index == idx {
				best = i
			}
		}
	}
	if c.h.cfg.Boxes != nil {
		for i := range out {
			boxes, err := c.h.cfg.Boxes(ctx, out[i].JPEG)
			if err == nil {
				out[i].Boxes = boxes
			}
		}
	}
	for i := range out {
		if out[i].Boxes == nil {
			out[i].Boxes = [][4]float64{}
		}
	}
	if err := a.Put(ctx, c.sess.ID, out); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "capture: storing audit frames", slog.Int("frames", len(out)), slog.String("error", err.Error()))
		return nil, -1
	}
	expires := c.h.cfg.Clock.Now().UTC().Add(a.Retention())
	refs := make([]core.AuditFrame, len(out))
	for i, f := range out {
		refs[i] = core.AuditFrame{Index: i, Why: f.Why, CapturedAt: times[i].UTC(), Boxes: f.Boxes, ExpiresAt: expires}
	}
	return refs, best
}

func sortedKeys(m map[int]auditCand) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// attemptRecording records one attempt with a replay.Writer on the audit
// store's Recording, so that the attempt that decides the session can be
// replayed to its verdict (GET /api/v1/session/{id}/recording). Recording
// is best effort: a failure abandons it and never the attempt.
type attemptRecording struct {
	sink Recording
	w    *replay.Writer
	dead bool
}

// startRecording starts the attempt's recording (nil when the store keeps
// none).
func (c *conn) startRecording(ctx context.Context, an *liveness.Analyzer) *attemptRecording {
	a := c.h.cfg.Audit
	if a == nil || c.sess.Kind == core.KindDirect {
		// A direct session has no owner whose key could fetch it.
		return nil
	}
	sink, err := a.NewRecording(ctx, c.sess.ID)
	if err != nil {
		if !errors.Is(err, ErrRecordingDisabled) {
			c.log.LogAttrs(ctx, slog.LevelWarn, "capture: starting the recording", slog.String("error", err.Error()))
		}
		return nil
	}
	w, err := replay.NewWriter(sink, replay.Header{Producer: replay.ProducerCloud, SessionID: c.sess.ID,
		Started: c.h.cfg.Clock.Now().UTC(), Config: replay.ConfigOf(an)})
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "capture: starting the recording", slog.String("error", err.Error()))
		_ = sink.Discard()
		return nil
	}
	return &attemptRecording{sink: sink, w: w}
}

// recordFrame records a frame about to be fed.
func (c *conn) recordFrame(ctx context.Context, at *attempt, f liveness.Frame) {
	r := at.rec
	if r == nil || r.dead {
		return
	}
	if err := r.w.WriteFrame(f); err != nil {
		r.dead = true
		c.log.LogAttrs(ctx, slog.LevelWarn, "capture: recording abandoned", slog.String("error", err.Error()))
		_ = r.sink.Discard()
	}
}

// keepRecording ends the attempt's recording with its verdict and keeps it;
// it reports whether a recording was kept.
func (c *conn) keepRecording(ctx context.Context, at *attempt, v liveness.Verdict) bool {
	r := at.rec
	if r == nil || r.dead {
		return false
	}
	r.dead = true
	err := r.w.Close(v)
	if err == nil {
		err = r.sink.Keep(ctx)
	} else {
		_ = r.sink.Discard()
	}
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "capture: keeping the recording", slog.Int("frames", r.w.Frames()), slog.String("error", err.Error()))
		return false
	}
	return true
}

// discardRecording drops the recording of an attempt that did not decide
// the session (or was cut off).
func (c *conn) discardRecording(ctx context.Context, at *attempt) {
	r := at.rec
	if r == nil || r.dead {
		return
	}
	r.dead = true
	if err := r.sink.Discard(); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "capture: discarding a recording", slog.String("error", err.Error()))
	}
}
