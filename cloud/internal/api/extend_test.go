package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/openapi"
)

// TestExtraRoutes: routes from other packages (the capture page, its
// WebSocket…) are served with the same middleware, documented, and may
// replace the built-in hosted page.
func TestExtraRoutes(t *testing.T) {
	closed := false
	e := startWith(nil)(t, func(o *daemon.Options) {
		o.Routes = func(p daemon.Parts) ([]api.Route, func() error, error) {
			if p.Sessions == nil || p.Store == nil || len(p.MasterKey) != 32 || p.PublicURL == "" {
				t.Errorf("parts %+v", p)
			}
			return []api.Route{
				{Operation: openapi.Operation{Method: "GET", Path: "/s/{id}", ID: "capturePage", Tag: "Capture", Summary: "The capture page",
					Responses: []openapi.Response{{Status: 200, Description: "HTML.", ContentType: "text/html"}}},
					Handler: func(c *fiber.Ctx) error { return c.SendString("capture page for " + c.Params("id")) }},
				{Operation: openapi.Operation{Method: "GET", Path: "/s/{id}/state", ID: "captureState", Tag: "Capture", Summary: "Page state",
					Params:    []openapi.Param{{Name: "id", In: "path", Description: "Session id."}},
					Responses: []openapi.Response{{Status: 200, Description: "State.", Body: api.Health{}}},
					Errors:    []apierr.Code{apierr.SessionNotFound}},
					Handler: func(c *fiber.Ctx) error { return apierr.New(apierr.SessionNotFound, "no %s", c.Params("id")) }},
			}, func() error { closed = true; return nil }, nil
		}
	})
	r := e.do("GET", "/s/ses_x", nil).want(t, 200, "")
	if string(r.body) != "capture page for ses_x" || r.header.Get("X-RateLimit-Limit") == "" {
		t.Fatalf("replaced page: %s %v", r.body, r.header)
	}
	e.do("GET", "/s/ses_x/state", nil).want(t, 404, "session.not_found")
	spec := string(e.do("GET", "/openapi.json", nil).want(t, 200, "").body)
	if !strings.Contains(spec, `"/s/{id}/state"`) || !strings.Contains(spec, "capturePage") || strings.Contains(spec, `"hostedPage"`) {
		t.Fatal("extra routes not documented (or the replaced one still is)")
	}
	ctx, cancel := contextWithTimeout()
	defer cancel()
	if err := e.d.Shutdown(ctx); err != nil || !closed {
		t.Fatalf("shutdown %v, closed %v", err, closed)
	}
}

// TestRouteBodyLimits: an upload route may accept more than the JSON routes'
// limit; every other route still refuses a body over --body-limit with 413.
func TestRouteBodyLimits(t *testing.T) {
	e := startWith(nil)(t, func(o *daemon.Options) {
		o.Routes = func(p daemon.Parts) ([]api.Route, func() error, error) {
			return []api.Route{
				{Operation: openapi.Operation{Method: "POST", Path: "/upload", ID: "upload", Tag: "Test", Summary: "An upload",
					Responses: []openapi.Response{{Status: 200, Description: "Size.", ContentType: "text/plain"}}},
					Handler:   func(c *fiber.Ctx) error { return c.SendString(fmt.Sprint(len(c.Body()))) },
					BodyLimit: 4 * api.DefaultBodyLimit},
			}, nil, nil
		}
	})
	// 2× the JSON limit: the upload route takes it, a JSON route refuses it.
	r := e.rawOversized("/upload")
	if r.status != 200 || string(r.body) != fmt.Sprint(2*api.DefaultBodyLimit) {
		t.Fatalf("upload route: %d %s", r.status, r.body)
	}
	e.rawOversized("/api/v1/session").want(t, 413, "request.body_too_large")
	// Over the route's own limit: 413 as well. The server may answer before
	// it has read the whole body, so write it from a goroutine and read the
	// answer (as rawOversized does).
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := 5 * api.DefaultBodyLimit
	if _, err := fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n", n); err != nil {
		t.Fatal(err)
	}
	go conn.Write([]byte(strings.Repeat("a", n))) // may fail once the server closes; the answer is what matters
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to an over-limit upload: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("over the route limit: %d", res.StatusCode)
	}
}
