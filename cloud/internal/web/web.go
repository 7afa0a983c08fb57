package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"rsc.io/qr"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/jsonbody"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/web/i18n"
	"livegate.dev/models/lightsim"
)

//go:embed assets
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/capture.html.tmpl"))

var hostRe = regexp.MustCompile(`^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?$`)

// Sessions reads sessions and records the user's consent
// (lifecycle.Service satisfies it).
type Sessions interface {
	Get(ctx context.Context, id string) (*core.Session, error)
	ClientTokenValid(sess *core.Session, token string) bool
	RecordConsent(ctx context.Context, id string, c core.Consent) (*core.Session, error)
}

// CodeConsentTextChanged refuses a consent whose text is not the one the
// page would show now.
var CodeConsentTextChanged = apierr.Register("consent.text_changed", http.StatusConflict,
	"The consent text the page showed (its SHA-256, text_sha256) is not the text it would show now in that language: the tenant changed it since the page loaded. Reload the page and agree to the text it shows; nothing was recorded.")

// Tenants reads a session's tenant for its capture page's branding and
// texts (tenancy.Service satisfies it).
type Tenants interface {
	Get(ctx context.Context, id string) (*core.Tenant, error)
}

// Config configures a Handler.
type Config struct {
	// Sessions reads sessions. Required.
	Sessions Sessions
	// Tenants reads the tenant of a session for its page's brand name,
	// logo, accent colour and texts (core.CapturePage). Optional. Default:
	// every page is unbranded, in the built-in texts.
	Tenants Tenants
	// PublicURL is the externally visible base URL (handoff links). Required.
	PublicURL string
	// Live says whether a capture connection is live for a session
	// (capture.Handler.Live). Optional.
	Live func(sessionID string) bool
	// HandoffKey seals handoff links (AES-256-GCM, 32 bytes). Optional.
	// Default: random per process (links then work only on this replica
	// and until a restart).
	HandoffKey []byte
	// HandoffTTL is how long a handoff link works. Optional. Default: 5 min.
	HandoffTTL time.Duration
	// Clock. Optional. Default: clock.Real.
	Clock clock.Clock
	// TestCamera is what the page of a test-mode session (created with a
	// test key, core.Session.Test) offers of the simulated reflection
	// camera: TestCameraOffer, TestCameraAuto or TestCameraOff. The page
	// of any other session never carries it. Optional. Default:
	// TestCameraOffer.
	TestCamera string
}

// TestCamera values (docs/capture.md, "Test mode: the simulated camera").
const (
	// TestCameraOffer: the welcome screen of a test-mode session offers
	// the simulated camera; ?camera=simulated on the page's URL selects it.
	TestCameraOffer = "offer"
	// TestCameraAuto: a test-mode session uses the simulated camera
	// unless the user unticks it.
	TestCameraAuto = "auto"
	// TestCameraOff: no session gets it.
	TestCameraOff = "off"
)

// Handler serves the page, its state and handoff links.
type Handler struct {
	cfg  Config
	aead cipher.AEAD
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Sessions == nil || cfg.PublicURL == "" {
		return nil, errors.New("web: Sessions and PublicURL are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.HandoffTTL <= 0 {
		cfg.HandoffTTL = 5 * time.Minute
	}
	switch cfg.TestCamera {
	case "":
		cfg.TestCamera = TestCameraOffer
	case TestCameraOffer, TestCameraAuto, TestCameraOff:
	default:
		return nil, fmt.Errorf("web: TestCamera %q: want %q, %q or %q", cfg.TestCamera, TestCameraOffer, TestCameraAuto, TestCameraOff)
	}
	if len(cfg.HandoffKey) == 0 {
		cfg.HandoffKey = make([]byte, 32)
		if _, err := rand.Read(cfg.HandoffKey); err != nil {
			return nil, fmt.Errorf("web: handoff key: %w", err)
		}
	}
	if len(cfg.HandoffKey) != 32 {
		return nil, errors.New("web: HandoffKey must be 32 bytes")
	}
	blk, err := aes.NewCipher(cfg.HandoffKey)
	if err != nil {
		return nil, fmt.Errorf("web: handoff cipher: %w", err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, fmt.Errorf("web: handoff cipher: %w", err)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Handler{cfg: cfg, aead: aead}, nil
}

// PageWeight is the size in bytes of the page as served (HTML with inline
// CSS and JavaScript, before compression), for the docs: a live session's
// page in English.
func PageWeight() int { return pageWeight(false) }

// PageWeightTestMode is PageWeight for a test-mode session's page, which adds
// the simulated camera.
func PageWeightTestMode() int { return pageWeight(true) }

// PageWeightGzip is PageWeight once gzip-compressed (level 6, as most
// servers and proxies send it).
func PageWeightGzip() int {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_ = renderWeight(w, false)
	_ = w.Close()
	return z.Len()
}

func pageWeight(test bool) int {
	var b bytes.Buffer
	_ = renderWeight(&b, test)
	return b.Len()
}

// renderWeight renders the page of a typical session (an active one, in
// English, with its config) for the weight figures.
func renderWeight(w io.Writer, test bool) error {
	v := newView(i18n.Default, nil)
	v.Nonce, v.Test, v.TestCamera = "x", test, test
	pc := pageConfig{SessionID: "ses_06H016GGJYKMXR53MT389PMMRR", Token: "lgct_" + strings.Repeat("x", 43), Mode: "active",
		WS: "/api/v1/session/ses_06H016GGJYKMXR53MT389PMMRR/ws", State: "/s/ses_06H016GGJYKMXR53MT389PMMRR/state",
		Handoff: "/s/ses_06H016GGJYKMXR53MT389PMMRR/handoff", Status: "pending", Lang: v.Lang, Msg: v.script()}
	if test {
		pc.Test, pc.TestCamera = true, &testCamera{Params: lightsim.DefaultParams()}
	}
	js, _ := json.Marshal(pc)
	v.Config = template.JS(js)
	return page.Execute(w, v)
}

// view is what the page's template renders.
type view struct {
	Config template.JS
	Nonce  string
	Test   bool
	// TestCamera renders the simulated camera (its option, badge and
	// script): test-mode sessions only.
	TestCamera bool
	// Lang and Dir are the page's language (a canonical tag) and its
	// direction (ltr or rtl).
	Lang, Dir string
	// Passive: the session holds still instead of answering challenges.
	Passive bool
	// ConsentFirst: the page opens on the consent screen (no consent is
	// recorded yet); PolicyURL is the tenant's privacy policy, linked there.
	ConsentFirst bool
	PolicyURL    string
	// Brand, Accent and Logo are the tenant's (core.CapturePage): the name
	// shown in the header and title, the accent colour (#rrggbb), the
	// logo's URL on this origin, its size and its text alternative.
	Brand, Accent         string
	Logo, LogoAlt         string
	LogoWidth, LogoHeight int
	msg                   i18n.Catalogue
}

// newView is a view in lang with a tenant's message overrides.
func newView(lang string, overrides map[string]i18n.Catalogue) view {
	return view{Lang: lang, Dir: i18n.Dir(lang), msg: i18n.Messages(lang, overrides)}
}

// overrides converts a tenant's stored texts to catalogues.
func overrides(m map[string]map[string]string) map[string]i18n.Catalogue {
	out := make(map[string]i18n.Catalogue, len(m))
	for lang, c := range m {
		out[lang] = c
	}
	return out
}

// tenantOf returns the session's tenant (nil for a session without one,
// or when it cannot be read: the page then goes unbranded rather than
// failing).
func (h *Handler) tenantOf(ctx context.Context, sess *core.Session) *core.Tenant {
	if sess.TenantID == "" || h.cfg.Tenants == nil {
		return nil
	}
	t, err := h.cfg.Tenants.Get(ctx, sess.TenantID)
	if err != nil {
		return nil
	}
	return t
}

// T is the text of a message key.
func (v view) T(key string) string { return v.msg[key] }

// H is the text of a message key as HTML: escaped, with **…** in bold.
func (v view) H(key string) template.HTML {
	parts := strings.Split(html.EscapeString(v.msg[key]), "**")
	var b strings.Builder
	for i, p := range parts {
		switch {
		case i == 0:
		case i%2 == 1:
			b.WriteString("<strong>")
		default:
			b.WriteString("</strong>")
		}
		b.WriteString(p)
	}
	return template.HTML(b.String())
}

// scriptPrefixes and scriptKeys are the messages the page's script uses
// (the rest are in the HTML the server renders).
var (
	scriptPrefixes = []string{"prompt.", "guide.", "advice.", "result.", "error.", "wait."}
	scriptKeys     = []string{"capture.title", "capture.starting", "capture.step", "capture.hold_for", "denied.blocked", "denied.not_found",
		"denied.in_use", "consent.required", "consent.failed", "handoff.qr_label", "handoff.waiting", "handoff.connected", "handoff.started", "handoff.expires", "handoff.failed"}
)

func isScriptKey(k string) bool {
	for _, p := range scriptPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	for _, s := range scriptKeys {
		if k == s {
			return true
		}
	}
	return false
}

// script returns the messages the page's script needs.
func (v view) script() map[string]string {
	out := map[string]string{}
	for k, s := range v.msg {
		if isScriptKey(k) {
			out[k] = s
		}
	}
	return out
}

// pageConfig is what the page's script reads.
type pageConfig struct {
	SessionID   string `json:"session_id"`
	Token       string `json:"token"`
	Mode        string `json:"mode"`
	WS          string `json:"ws"`
	State       string `json:"state"`
	Handoff     string `json:"handoff"`
	Status      string `json:"status"`
	Verdict     string `json:"verdict,omitempty"`
	RedirectURL string `json:"redirect_url,omitempty"`
	FromHandoff bool   `json:"from_handoff,omitempty"`
	Test        bool   `json:"test,omitempty"`
	// Lang is the page's language; Msg its script's messages in it.
	Lang string            `json:"lang"`
	Msg  map[string]string `json:"msg"`
	// TestCamera is present for test-mode sessions only.
	TestCamera *testCamera `json:"test_camera,omitempty"`
	// Consent is the consent screen's state.
	Consent pageConsent `json:"consent"`
}

// pageConsent is what the page's script knows of consent.
type pageConsent struct {
	// Given: a consent is recorded; the page starts at the welcome screen.
	Given bool `json:"given"`
	// SHA256 is the hash of the consent text the page shows
	// (i18n.ConsentText), sent back with the consent.
	SHA256 string `json:"sha256"`
	// URL records the consent (POST, with the client token).
	URL string `json:"url"`
}

// textHash is the SHA-256 of s's UTF-8 bytes, hex.
func textHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// testCamera configures the page's simulated reflection camera.
type testCamera struct {
	// Auto: selected unless the user unticks it.
	Auto bool `json:"auto"`
	// Params are the reflection model's (lightsim.DefaultParams: a phone
	// at arm's length in an office, reflected by skin); the page ports
	// lightsim's arithmetic and takes the values from here.
	Params lightsim.Params `json:"params"`
}

// session authenticates the client token (or a handoff link) of a request.
func (h *Handler) session(c *fiber.Ctx) (*core.Session, string, bool, error) {
	id := strings.Clone(c.Params("id"))
	token, fromHandoff := c.Query("t"), false
	if hv := c.Query("h"); hv != "" && token == "" {
		t, err := h.openHandoff(id, hv)
		if err != nil {
			return nil, "", false, apierr.New(apierr.SessionExpired, "this handoff link has expired or is not valid: show a new QR code on the other device")
		}
		token, fromHandoff = t, true
	}
	sess, err := h.cfg.Sessions.Get(c.UserContext(), id)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.SessionNotFound {
			return nil, "", false, apierr.New(apierr.SessionNotFound, "session %s not found", id)
		}
		return nil, "", false, err
	}
	if token == "" || !core.SecretMatches(token, sess.ClientTokenHash) {
		return nil, "", false, apierr.New(apierr.SessionNotFound, "session %s not found", id)
	}
	return sess, token, fromHandoff, nil
}

// Page: GET /s/{id}?t=<client token> (or ?h=<handoff>).
func (h *Handler) Page(c *fiber.Ctx) error {
	sess, token, fromHandoff, err := h.session(c)
	if err != nil {
		return err
	}
	if sess.Status == core.StatusExpired || (!sess.Status.Terminal() && !h.cfg.Clock.Now().Before(sess.ExpiresAt)) {
		return apierr.New(apierr.SessionExpired, "session %s expired at %s", sess.ID, sess.ExpiresAt.Format(time.RFC3339))
	}
	if sess.Status == core.StatusCancelled {
		return apierr.New(apierr.SessionTerminal, "session %s was cancelled", sess.ID)
	}
	var cp core.CapturePage
	tenant := h.tenantOf(c.UserContext(), sess)
	if tenant != nil {
		cp = tenant.CapturePage
	}
	texts := overrides(cp.Messages)
	v := newView(i18n.Match(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage), i18n.Available(texts)), texts)
	v.Test, v.Passive = sess.Test, sess.Mode == core.ModePassive
	v.Brand, v.PolicyURL = cp.BrandName, cp.PolicyURL
	v.ConsentFirst = sess.Consent == nil && sess.Status != core.StatusCompleted
	if _, ok := parseHex(cp.AccentColor); ok {
		v.Accent = cp.AccentColor
	}
	imgSrc := "img-src data: blob:"
	if cp.Logo != nil {
		v.Logo = "/s/" + sess.ID + "/logo?t=" + url.QueryEscape(token) + "&v=" + cp.Logo.SHA256[:min(12, len(cp.Logo.SHA256))]
		v.LogoWidth, v.LogoHeight = (cp.Logo.Width+1)/2, (cp.Logo.Height+1)/2 // a 2× image
		if v.Brand == "" {
			v.LogoAlt = tenant.Name // the logo is the only name shown
		}
		imgSrc = "img-src 'self' data: blob:"
	}
	base := "/s/" + sess.ID
	pc := pageConfig{
		SessionID: sess.ID, Token: token, Mode: string(sess.Mode), Status: string(sess.Status),
		WS: "/api/v1/session/" + sess.ID + "/ws", State: base + "/state", Handoff: base + "/handoff",
		FromHandoff: fromHandoff, Test: sess.Test, Lang: v.Lang, Msg: v.script(),
		Consent: pageConsent{Given: sess.Consent != nil, SHA256: textHash(i18n.ConsentText(v.msg)), URL: base + "/consent"},
	}
	// Only a session created with a test-mode key gets the simulated
	// camera: sess.Test is set from the key at creation and never from
	// anything the client sends.
	if sess.Test && h.cfg.TestCamera != TestCameraOff {
		pc.TestCamera = &testCamera{Auto: h.cfg.TestCamera == TestCameraAuto, Params: lightsim.DefaultParams()}
	}
	if sess.Status == core.StatusCompleted {
		if sess.Verdict != nil {
			pc.Verdict = string(*sess.Verdict)
		}
		pc.RedirectURL = lifecycle.RedirectTarget(sess)
	}
	js, err := json.Marshal(pc)
	if err != nil {
		return fmt.Errorf("web: page config: %w", err)
	}
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	nonce := base64.RawStdEncoding.EncodeToString(nb[:])
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentLanguage, v.Lang)
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptLanguage)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Referrer-Policy", "no-referrer") // the URL carries the client token
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Permissions-Policy", "camera=(self)")
	connect := "'self'"
	if host := c.Hostname(); hostRe.MatchString(host) {
		connect += " wss://" + host + " ws://" + host // older Safari does not match WebSockets with 'self'
	}
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; "+
		imgSrc+"; media-src blob: mediastream:; connect-src "+connect+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	v.Config, v.Nonce, v.TestCamera = template.JS(js), nonce, pc.TestCamera != nil
	return page.Execute(c, v)
}

// State is the body of GET /s/{id}/state.
type State struct {
	Status      string `json:"status" doc:"pending, in_progress, completed, expired or cancelled."`
	Connected   bool   `json:"connected" doc:"A capture connection is live (e.g. the phone after a handoff)."`
	Verdict     string `json:"verdict,omitempty" doc:"pass, fail or retry once completed (never a score)."`
	RedirectURL string `json:"redirect_url,omitempty" doc:"Where the page goes when completed."`
}

// State: GET /s/{id}/state?t=<client token>, polled by the page to follow
// a session captured on another device.
func (h *Handler) State(c *fiber.Ctx) error {
	sess, _, _, err := h.session(c)
	if err != nil {
		return err
	}
	st := State{Status: string(sess.Status)}
	if h.cfg.Live != nil {
		st.Connected = h.cfg.Live(sess.ID)
	}
	if sess.Status == core.StatusCompleted {
		if sess.Verdict != nil {
			st.Verdict = string(*sess.Verdict)
		}
		st.RedirectURL = lifecycle.RedirectTarget(sess)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(st)
}

// ConsentRequest is the body of POST /s/{id}/consent.
type ConsentRequest struct {
	Language   string `json:"language" doc:"The page's language when the user agreed: the language tag of its <html lang>, one the page can be shown in for this session."`
	TextSHA256 string `json:"text_sha256" doc:"SHA-256 (hex) of the consent text the page showed (the page's config carries it): the server checks it against the text it shows in that language now, and records the text with its hash."`
}

// ConsentRecord is a session's consent as the page's route returns it.
type ConsentRecord struct {
	GivenAt    time.Time `json:"given_at" doc:"When the server recorded it."`
	Language   string    `json:"language" doc:"The page's language when the user agreed."`
	Text       string    `json:"text" doc:"The exact text shown: the consent statement, a blank line, the checkbox's label (the tenant's texts where it set them; **…** marks bold)."`
	TextSHA256 string    `json:"text_sha256" doc:"SHA-256 of text (its UTF-8 bytes), hex."`
	PolicyURL  string    `json:"policy_url,omitempty" doc:"The tenant's privacy policy linked beside the text, when it has one."`
}

// RecordOf renders a consent record.
func RecordOf(c *core.Consent) ConsentRecord {
	return ConsentRecord{GivenAt: c.GivenAt, Language: c.Language, Text: c.Text, TextSHA256: c.TextSHA256, PolicyURL: c.PolicyURL}
}

// Consent: POST /s/{id}/consent?t=<client token> (or ?h=) records the
// user's consent before the camera starts: the text the page showed in its
// language (the tenant's where it set one, else the built-in one), that
// text's SHA-256, the tenant's policy link and the time. The page sends the
// hash it was given; a text changed since is refused
// (consent.text_changed) so that what is recorded is what was shown. The
// first consent stands: sending it again returns it unchanged.
func (h *Handler) Consent(c *fiber.Ctx) error {
	sess, _, _, err := h.session(c)
	if err != nil {
		return err
	}
	if ct := c.Get(fiber.HeaderContentType); len(c.Body()) > 0 && ct != "" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), fiber.MIMEApplicationJSON) {
		return apierr.New(apierr.UnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
	}
	var req ConsentRequest
	if err := jsonbody.Decode(c.Body(), &req); err != nil {
		return err
	}
	switch {
	case req.Language == "":
		return apierr.New(apierr.MissingField, "field \"language\" is required")
	case req.TextSHA256 == "":
		return apierr.New(apierr.MissingField, "field \"text_sha256\" is required")
	}
	var cp core.CapturePage
	if t := h.tenantOf(c.UserContext(), sess); t != nil {
		cp = t.CapturePage
	}
	texts := overrides(cp.Messages)
	avail := i18n.Available(texts)
	lang, ok := i18n.Canonical(req.Language)
	if !ok || i18n.Match(lang, "", avail) != lang {
		return apierr.New(apierr.InvalidField, "field \"language\" %q is not a language this page is shown in (%s)", req.Language, strings.Join(avail, ", "))
	}
	text := i18n.ConsentText(i18n.Messages(lang, texts))
	sum := textHash(text)
	if !strings.EqualFold(req.TextSHA256, sum) {
		return apierr.New(CodeConsentTextChanged, "the consent text in %s is not the one the page showed (text_sha256 %.12s…, now %.12s…): reload the page and agree again", lang, req.TextSHA256, sum)
	}
	done, err := h.cfg.Sessions.RecordConsent(c.UserContext(), sess.ID, core.Consent{Language: lang, Text: text, TextSHA256: sum, PolicyURL: cp.PolicyURL})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(RecordOf(done.Consent))
}

// Logo: GET /s/{id}/logo?t=<client token> (or ?h=): the PNG of the
// session's tenant's logo, as this server encoded it (ProcessLogo).
func (h *Handler) Logo(c *fiber.Ctx) error {
	sess, _, _, err := h.session(c)
	if err != nil {
		return err
	}
	t := h.tenantOf(c.UserContext(), sess)
	if t == nil || t.CapturePage.Logo == nil {
		return apierr.New(CodeLogoNotFound, "session %s's tenant has no logo", sess.ID)
	}
	l := t.CapturePage.Logo
	etag := `"` + l.SHA256 + `"`
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400")
	c.Set(fiber.HeaderETag, etag)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Cross-Origin-Resource-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	return c.Send(l.PNG)
}

// Handoff is the body of POST /s/{id}/handoff.
type Handoff struct {
	URL       string    `json:"url" doc:"The short-lived link to open on the phone."`
	ExpiresAt time.Time `json:"expires_at" doc:"When the link stops working (5 minutes by default)."`
	QRSVG     string    `json:"qr_svg" doc:"The link as a QR code, an SVG document."`
}

// Handoff: POST /s/{id}/handoff?t=<client token> makes a short-lived link
// that opens the page on another device.
func (h *Handler) Handoff(c *fiber.Ctx) error {
	sess, token, _, err := h.session(c)
	if err != nil {
		return err
	}
	if sess.Status.Terminal() || !h.cfg.Clock.Now().Before(sess.ExpiresAt) {
		return apierr.New(apierr.SessionTerminal, "session %s is %s", sess.ID, sess.Status)
	}
	exp := h.cfg.Clock.Now().Add(h.cfg.HandoffTTL)
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	link := h.cfg.PublicURL + "/s/" + sess.ID + "?h=" + h.sealHandoff(sess.ID, token, exp)
	if lang, ok := i18n.Canonical(c.Query("lang")); ok {
		link += "&lang=" + lang // the language the page was asked for with ?lang=
	}
	svg, err := QRSVG(link)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(Handoff{URL: link, ExpiresAt: exp.UTC(), QRSVG: svg})
}

// sealHandoff encrypts the client token with its expiry, bound to the
// session id as associated data.
func (h *Handler) sealHandoff(id, token string, exp time.Time) string {
	nonce := make([]byte, h.aead.NonceSize())
	_, _ = rand.Read(nonce)
	pt := binary.BigEndian.AppendUint64(nil, uint64(exp.Unix()))
	pt = append(pt, token...)
	return base64.RawURLEncoding.EncodeToString(h.aead.Seal(nonce, nonce, pt, []byte(id)))
}

func (h *Handler) openHandoff(id, v string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < h.aead.NonceSize()+8 {
		return "", errors.New("web: malformed handoff")
	}
	ns := h.aead.NonceSize()
	pt, err := h.aead.Open(nil, b[:ns], b[ns:], []byte(id))
	if err != nil || len(pt) < 8 {
		return "", errors.New("web: handoff does not open")
	}
	if !h.cfg.Clock.Now().Before(time.Unix(int64(binary.BigEndian.Uint64(pt)), 0)) {
		return "", errors.New("web: handoff expired")
	}
	return string(pt[8:]), nil
}

// QRSVG renders text as a QR code (error correction M) in an SVG document.
func QRSVG(text string) (string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("web: QR code of %d bytes: %w", len(text), err)
	}
	n := code.Size
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-4 -4 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code of the handoff link"><rect x="-4" y="-4" width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n+8, n+8, n+8, n+8)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
