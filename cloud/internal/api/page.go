package api

import (
	"embed"
	"html/template"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
)

//go:embed assets
var assets embed.FS

var pageSession = template.Must(template.ParseFS(assets, "assets/session.html.tmpl"))

// hostedPage: GET /s/{id}?t=<client token>. Until the capture page lands it
// shows the session's state; past the TTL it answers 410.
func (s *Server) hostedPage(c *fiber.Ctx) error {
	id := sessionParam(c)
	sess, err := s.cfg.Sessions.Get(c.UserContext(), id)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.SessionNotFound {
			return notFound(id)
		}
		return err
	}
	if t := c.Query("t"); t == "" || !core.SecretMatches(t, sess.ClientTokenHash) {
		return notFound(id)
	}
	if sess.Status == core.StatusExpired || !s.cfg.Clock.Now().Before(sess.ExpiresAt) {
		return apierr.New(apierr.SessionExpired, "session %s expired at %s", id, sess.ExpiresAt.Format(time.RFC3339))
	}
	if sess.Status == core.StatusCancelled {
		return apierr.New(apierr.SessionTerminal, "session %s was cancelled", id)
	}
	view := map[string]any{
		"SessionID": sess.ID, "Status": string(sess.Status), "Mode": string(sess.Mode), "Test": sess.Test,
		"ExpiresAt": sess.ExpiresAt.Format(time.RFC3339), "Pending": !sess.Status.Terminal(),
	}
	if sess.Verdict != nil {
		view["Verdict"] = string(*sess.Verdict)
	}
	if sess.Status == core.StatusCompleted {
		view["Redirect"] = lifecycle.RedirectTarget(sess)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Referrer-Policy", "no-referrer") // the URL carries the client token
	c.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	return pageSession.Execute(c, view)
}
