package openapi

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Whom a route's requests count against under the request rate limit.
const (
	// PerCredential: the request's Authorization bearer credential (an API
	// key, an admin token…), or its client IP when it has none.
	PerCredential = "credential"
	// PerAddress: the client IP, whatever credential comes with the
	// request (keyless routes: inventing bearer values buys no budget).
	PerAddress = "address"
	// NotLimited: never counted (health probes).
	NotLimited = "none"
)

// RateLimits is what /docs/reference/rate-limits shows: the request rate
// limit as the server applies it, and the limits of every route it serves.
type RateLimits struct {
	Title string
	// Limit is the number of requests per Window of one identity; ≤ 0 means
	// the server limits no requests.
	Limit  int
	Window time.Duration
	Routes []RouteLimit
}

// RouteLimit is one route as the rate limits apply to it.
type RouteLimit struct {
	Operation
	// Per is whom its requests count against: PerCredential, PerAddress
	// or NotLimited.
	Per string
}

type viewLimit struct {
	Limit
	WindowText, WindowSpan, CooldownText, Ordinal string
	WindowSeconds, CooldownSeconds                int
	Routes                                        []RouteLimit
}

// RenderRateLimits renders the rate-limit reference page. nonce is the
// Content-Security-Policy nonce of its style.
func RenderRateLimits(rl RateLimits, nonce string) ([]byte, error) {
	routes := append([]RouteLimit(nil), rl.Routes...)
	sort.SliceStable(routes, func(i, j int) bool {
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	var limits []*viewLimit
	byID := map[string]*viewLimit{}
	for _, r := range routes {
		switch r.Per {
		case PerCredential, PerAddress, NotLimited:
		default:
			return nil, fmt.Errorf("openapi: rate limits: %s %s: unknown scope %q", r.Method, r.Path, r.Per)
		}
		for _, l := range r.Limits {
			v := byID[l.ID]
			if v == nil {
				v = &viewLimit{Limit: l, WindowText: per(l.Window), WindowSpan: duration(l.Window), CooldownText: duration(l.Cooldown), Ordinal: ordinal(l.Limit),
					WindowSeconds: int(l.Window / time.Second), CooldownSeconds: int(l.Cooldown / time.Second)}
				byID[l.ID] = v
				limits = append(limits, v)
			} else if v.Limit != l {
				return nil, fmt.Errorf("openapi: rate limits: limit %q differs between routes", l.ID)
			}
			v.Routes = append(v.Routes, r)
		}
	}
	var buf bytes.Buffer
	err := tmplRateLimits.Execute(&buf, map[string]any{
		"Title": rl.Title, "CSS": css(), "Nonce": nonce,
		"Enabled": rl.Limit > 0, "Limit": rl.Limit, "Window": per(rl.Window), "WindowSeconds": int(rl.Window / time.Second),
		"Routes": routes, "Limits": limits,
		"PerCredential": PerCredential, "PerAddress": PerAddress,
	})
	if err != nil {
		return nil, fmt.Errorf("openapi: rendering rate limits: %w", err)
	}
	return buf.Bytes(), nil
}

// per words a window after "per": "minute", "3 minutes", "90 seconds".
func per(d time.Duration) string {
	s := duration(d)
	if len(s) > 2 && s[:2] == "1 " {
		return s[2:]
	}
	return s
}

// duration words d in its largest whole unit: "1 minute", "3 minutes",
// "90 seconds", "1 day".
func duration(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if d >= u.d && d%u.d == 0 {
			return plural(int(d/u.d), u.name)
		}
	}
	return plural(int(d/time.Second), "second")
}

// ordinal is the suffix of n's ordinal: "st" (1st), "nd", "rd", "th".
func ordinal(n int) string {
	if n%100 >= 11 && n%100 <= 13 {
		return "th"
	}
	switch n % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
