package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/openapi"
)

// ownedProbe is an OwnsSession route that echoes the session id.
func ownedProbe(readsToo bool) func(daemon.Parts) ([]api.Route, func() error, error) {
	return func(daemon.Parts) ([]api.Route, func() error, error) {
		return []api.Route{{Operation: openapi.Operation{Method: "GET", Path: "/api/v1/session/{id}/owned", ID: "ownedProbe", Tag: "Sessions",
			Summary:   "Test route authorized like cancel",
			Security:  []string{openapi.SecAPIKey},
			Params:    []openapi.Param{{Name: "id", In: "path", Description: "Session id."}},
			Responses: []openapi.Response{{Status: 200, Description: "The session id.", ContentType: "text/plain"}},
			Errors:    []apierr.Code{apierr.AuthMissing, apierr.AuthInvalid, apierr.SessionNotFound}},
			OwnsSession: true, ReadsSession: readsToo,
			Handler: func(c *fiber.Ctx) error { return c.SendString(api.SessionOf(c).ID) }}}, nil, nil
	}
}

// TestOwnsSessionRoute: an OwnsSession route takes the owning API key (or
// the legacy key for its sessions) and no token of any kind.
func TestOwnsSessionRoute(t *testing.T) {
	e := startWith(nil)(t, func(o *daemon.Options) { o.Routes = ownedProbe(false) })
	tc, other := e.tenant("test"), e.tenant("live")
	sc := e.session(tc.APIKey, nil)
	legacy := e.session(legacyKey, nil)
	path := func(id string) string { return "/api/v1/session/" + id + "/owned" }
	cases := []struct {
		name   string
		path   string
		bearer string
		status int
		code   string
	}{
		{"owner's key", path(sc.SessionID), tc.APIKey, 200, ""},
		{"legacy key, its session", path(legacy.SessionID), legacyKey, 200, ""},
		{"no credentials", path(sc.SessionID), "", 401, "auth.missing"},
		{"result token in the query", path(sc.SessionID) + "?token=" + url.QueryEscape(sc.Token), "", 401, "auth.missing"},
		{"client token in the query", path(sc.SessionID) + "?token=" + url.QueryEscape(sc.ClientToken), "", 401, "auth.missing"},
		{"result token as bearer", path(sc.SessionID), sc.Token, 401, "auth.invalid"},
		{"another tenant's key", path(sc.SessionID), other.APIKey, 404, "session.not_found"},
		{"legacy key, a tenant's session", path(sc.SessionID), legacyKey, 404, "session.not_found"},
		{"owner's key, another tenant's session", path(legacy.SessionID), tc.APIKey, 404, "session.not_found"},
		{"missing session", path("ses_00000000000000000000000000"), tc.APIKey, 404, "session.not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.bearer != "" {
				hdr = bearer(c.bearer)
			}
			r := e.with(t).do("GET", c.path, nil, hdr...).want(t, c.status, c.code)
			if c.status == 200 && !strings.HasSuffix(c.path, string(r.body)+"/owned") {
				t.Fatalf("answered %q", r.body)
			}
		})
	}
}

func TestOwnsAndReadsSessionExclusive(t *testing.T) {
	_, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Routes: ownedProbe(true)})
	if err == nil || !strings.Contains(err.Error(), "exclusive") {
		t.Fatalf("a route both ReadsSession and OwnsSession: %v", err)
	}
}
