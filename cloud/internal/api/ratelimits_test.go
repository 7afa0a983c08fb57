package api_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/openapi"
)

// limitedProbe is a route from another package that checks its own
// credential and applies a limit of its own, as the capture's WebSocket
// and the fleet's admin routes do.
var limitedProbe = openapi.Limit{ID: "probe-failures", Name: "Probe failures per user", Counts: "failed probes",
	Per: "user", Limit: 4, Window: 90 * time.Second, Cooldown: 2 * time.Hour, Setting: "nowhere", Code: "rate_limit.exceeded"}

func limitProbeRoutes(daemon.Parts) ([]api.Route, func() error, error) {
	ok := []openapi.Response{{Status: 200, Description: "OK.", ContentType: "text/plain"}}
	return []api.Route{
		{Operation: openapi.Operation{Method: "GET", Path: "/v1/probe/own-key", ID: "probeOwnKey", Tag: "Probe", Summary: "Checks its own key",
			Security: []string{openapi.SecAPIKey}, Responses: ok, Errors: []apierr.Code{apierr.AuthInvalid}, Limits: []openapi.Limit{limitedProbe}},
			Handler: func(c *fiber.Ctx) error {
				if c.Get(fiber.HeaderAuthorization) != "Bearer right" {
					return apierr.New(apierr.AuthInvalid, "wrong probe key")
				}
				return c.SendString("ok")
			}},
		{Operation: openapi.Operation{Method: "GET", Path: "/s/{id}/probe", ID: "probePage", Tag: "Probe", Summary: "A page route",
			Params: []openapi.Param{{Name: "id", In: "path", Description: "Session id."}}, Responses: ok},
			Handler: func(c *fiber.Ctx) error { return c.SendString("page") }},
	}, nil, nil
}

var (
	rowRe     = regexp.MustCompile(`<tr id="rl-([A-Za-z]+)" data-per="([a-z]+)"><td class="mono"><a href="/docs/api#[A-Za-z]+">([A-Z]+) ([^<]+)</a></td><td>([^<]*)</td>`)
	requestRe = regexp.MustCompile(`<section class="op" id="requests" data-limit="(-?\d+)" data-window-seconds="(\d+)">`)
)

// TestRateLimitsPage compares /docs/reference/rate-limits with what the
// server does. For every route it serves, the page's row says whom the
// route's requests count against, and two requests with different bearer
// credentials (in a fresh window) show it: the same budget per client IP,
// one budget each per credential, no X-RateLimit-* headers when not
// limited. The limit and window on the page are the limiter's; a route's
// own limits are shown as its table gives them; a refused credential on a
// route that checks its own counts against the client IP as the page says;
// the OpenAPI document promises 429 exactly on the limited routes. With
// limiting off, the page says so.
func TestRateLimitsPage(t *testing.T) {
	const limit = 7
	e := startWith(nil)(t, func(o *daemon.Options) { o.RateLimit = limit; o.Routes = limitProbeRoutes })
	r := e.do("GET", "/docs/reference/rate-limits", nil).want(t, 200, "")
	page := string(r.body)
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'nonce-") {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	if m := requestRe.FindStringSubmatch(page); m == nil || m[1] != strconv.Itoa(limit) || m[2] != "60" {
		t.Fatalf("the page's request limit %q, want %d per 60 s", m, limit)
	}
	if !strings.Contains(page, fmt.Sprintf("<strong>%d requests per minute</strong>", limit)) {
		t.Error("the page does not state the request limit in words")
	}

	rows := map[string][]string{}
	for _, m := range rowRe.FindAllStringSubmatch(page, -1) {
		rows[m[1]] = m[2:]
	}
	ops := e.d.Server().Operations()
	if len(rows) != len(ops) {
		t.Errorf("the page has %d endpoints, the server serves %d", len(rows), len(ops))
	}
	seen := map[string]bool{}
	for _, op := range ops {
		row, ok := rows[op.ID]
		if !ok {
			t.Errorf("%s %s (%s) is not on the page", op.Method, op.Path, op.ID)
			continue
		}
		per, method, path, words := row[0], row[1], row[2], row[3]
		if method != op.Method || path != op.Path {
			t.Errorf("row %s names %s %s, want %s %s", op.ID, method, path, op.Method, op.Path)
		}
		seen[per] = true
		if op.RateLimited != (per != openapi.NotLimited) {
			t.Errorf("%s %s: OpenAPI RateLimited %v, the page %q", op.Method, op.Path, op.RateLimited, per)
		}
		// A fresh window for every route, then two requests with different credentials.
		e.clk.Advance(time.Minute + time.Second)
		url := strings.NewReplacer("{id}", "ses_probe", "{key_id}", "key_probe", "{n}", "0").Replace(op.Path)
		a := e.do(op.Method, url, nil, bearer("probe-a")...)
		b := e.do(op.Method, url, nil, bearer("probe-b")...)
		got := []string{a.header.Get("X-RateLimit-Remaining"), b.header.Get("X-RateLimit-Remaining")}
		var want []string
		switch per {
		case openapi.NotLimited:
			want = []string{"", ""}
			if words != "not limited" {
				t.Errorf("%s %s: %q", op.Method, op.Path, words)
			}
		case openapi.PerAddress:
			want = []string{strconv.Itoa(limit - 1), strconv.Itoa(limit - 2)}
			if words != fmt.Sprintf("%d per minute per client IP", limit) {
				t.Errorf("%s %s: %q", op.Method, op.Path, words)
			}
		case openapi.PerCredential:
			want = []string{strconv.Itoa(limit - 1), strconv.Itoa(limit - 1)}
			if words != fmt.Sprintf("%d per minute per API key (per client IP without one)", limit) {
				t.Errorf("%s %s: %q", op.Method, op.Path, words)
			}
		default:
			t.Fatalf("%s: scope %q", op.ID, per)
		}
		if got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s %s, said to count %s: X-RateLimit-Remaining %q, want %q", op.Method, op.Path, per, got, want)
		}
		if per != openapi.NotLimited && (a.header.Get("X-RateLimit-Limit") != strconv.Itoa(limit) || a.header.Get("X-RateLimit-Reset") != "60") {
			t.Errorf("%s %s: X-RateLimit-Limit %q, Reset %q", op.Method, op.Path, a.header.Get("X-RateLimit-Limit"), a.header.Get("X-RateLimit-Reset"))
		}
	}
	for _, per := range []string{openapi.NotLimited, openapi.PerAddress, openapi.PerCredential} {
		if !seen[per] {
			t.Errorf("no route counts %q: the comparison misses a case", per)
		}
	}

	// The probe's own limit, as its route table gives it.
	sec := regexp.MustCompile(`(?s)<section class="op" id="probe-failures" data-limit="(\d+)" data-window-seconds="(\d+)" data-cooldown-seconds="(\d+)">(.*?)</section>`).FindStringSubmatch(page)
	if sec == nil || sec[1] != "4" || sec[2] != "90" || sec[3] != "7200" ||
		!strings.Contains(sec[4], "4 per 90 seconds") || !strings.Contains(sec[4], "a cool-down of 2 hours") || !strings.Contains(sec[4], "/docs/api#probeOwnKey") {
		t.Errorf("the probe's limit on the page: %q", sec)
	}
	if !strings.Contains(page, `<a href="#probe-failures">Probe failures per user</a>`) {
		t.Error("the probe's row does not link its limit")
	}

	// Refused credentials count against the client IP on a route that
	// checks its own: the limit's worth of made-up keys, then 429.
	e.clk.Advance(time.Minute + time.Second)
	for i := range limit {
		e.do("GET", "/v1/probe/own-key", nil, bearer(fmt.Sprint("guess-", i))...).want(t, 401, "auth.invalid")
	}
	e.do("GET", "/v1/probe/own-key", nil, bearer("guess-last")...).want(t, 429, "rate_limit.exceeded")

	// Limiting off: the page says so, and no route sends the headers.
	off := startWith(nil)(t, func(o *daemon.Options) { o.RateLimit = -1 })
	r = off.do("GET", "/docs/reference/rate-limits", nil).want(t, 200, "")
	if !strings.Contains(string(r.body), "This server limits no requests") || strings.Contains(string(r.body), "per API key (per client IP") ||
		r.header.Get("X-RateLimit-Limit") != "" {
		t.Fatalf("with limiting off the page or headers claim a limit: %v", r.header)
	}
}
