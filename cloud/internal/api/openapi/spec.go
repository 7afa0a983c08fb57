package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/jsonbody"
)

// Security schemes an operation may accept.
const (
	SecAPIKey       = "apiKey"         // Authorization: Bearer iksk_… (or the legacy global key)
	SecSessionToken = "sessionToken"   // ?token=… of one session
	SecAdmin        = "adminToken"     // Authorization: Bearer <LIVEGATE_ADMIN_TOKEN>
	SecRawKey       = "apiKeyHeader"   // Authorization: <API key>, Bearer optional (seed 004)
	SecEphemeral    = "ephemeralToken" // Authorization: <ephemeral device token>, Bearer optional
)

// Operation documents one route.
type Operation struct {
	Method      string // GET, POST, …
	Path        string // OpenAPI form: /api/v1/session/{id}/result
	ID          string // operationId
	Tag         string
	Summary     string
	Description string
	// Security lists alternative schemes; empty means no credentials.
	Security []string
	Params   []Param
	// Body is a value of the request body type (JSON), or nil.
	Body any
	// Example is a request body (JSON text that decodes strictly into
	// Body's type): the document's example, shown and prefilled in the
	// try-it panel of /docs/api. Optional. Default: {}.
	Example   string
	Responses []Response
	// Errors are the codes this route can answer with, besides the ones
	// every route can (see CommonErrors).
	Errors []apierr.Code
	// RateLimited says the route counts against the request rate limit
	// (sends X-RateLimit-* and may answer 429). The API server sets it from
	// its rate limiter for every route it serves; route tables leave it out.
	RateLimited bool
	// Limits are the limits the route applies itself besides the request
	// rate limit (the capture's failed-attempt throttle), shown on
	// /docs/reference/rate-limits. Optional.
	Limits []Limit
}

// Limit is a limit a route applies besides the request rate limit.
type Limit struct {
	ID       string        // anchor on /docs/reference/rate-limits, e.g. "capture-user"
	Name     string        // e.g. "Failed captures per end user"
	Counts   string        // what is counted, e.g. "failed capture attempts"
	Per      string        // whose budget, e.g. "end user: the session's user_id within the tenant, else the session"
	Limit    int           // how many within Window
	Window   time.Duration // how far back they count
	Cooldown time.Duration // how long a client over the limit waits
	Setting  string        // how the limit is set, e.g. the tenant setting and its range
	Code     string        // the error code of a refusal
	Note     string        // anything else, e.g. who is exempt
}

// Param is a path, query or header parameter.
type Param struct {
	Name        string
	In          string // path, query, header
	Description string
	Required    bool
	Type        string // string (default), integer, boolean
}

// Response is one success response.
type Response struct {
	Status      int
	Description string
	// Body is a value of the JSON body type, or nil (no body, or ContentType's bytes).
	Body        any
	ContentType string // default application/json
	Headers     []string
}

// Webhook documents one outgoing event (OpenAPI 3.1 "webhooks").
type Webhook struct {
	Name        string // e.g. session.completed
	Summary     string
	Description string
	Headers     []Param // sent with the request
	Body        any     // value of the body type
}

// Info is the document's info object.
type Info struct {
	Title, Version, Description string
}

// CommonErrors can come from any route (middleware and the router).
var CommonErrors = []apierr.Code{apierr.BodyTooLarge, apierr.Internal, apierr.StoreUnavailable}

// BodyErrors can come from any route that decodes a JSON body.
var BodyErrors = []apierr.Code{apierr.InvalidJSON, apierr.UnknownField, apierr.InvalidField, apierr.UnsupportedMediaType}

// Envelope is the body of every error response.
type Envelope struct {
	Detail EnvelopeDetail `json:"detail"`
}

// EnvelopeDetail is the inside of the error envelope.
type EnvelopeDetail struct {
	Code      string `json:"code" doc:"A registered error code; see /docs/reference/error-codes."`
	Message   string `json:"message" doc:"What went wrong, for a developer; names the field or parameter at fault."`
	RequestID string `json:"request_id" doc:"Also in the X-Request-Id header; quote it to support."`
	// RetryAfter is set on errors that pass with time (429s).
	RetryAfter int `json:"retry_after,omitempty" doc:"Seconds to wait before trying again, as in the Retry-After header; only on errors that pass with time (429)."`
}

// Build makes the OpenAPI 3.1 document.
func Build(info Info, ops []Operation, hooks ...Webhook) (map[string]any, error) {
	sc := newSchemas()
	sc.of(reflect.TypeOf(Envelope{}))
	paths := map[string]map[string]any{}
	seen := map[string]bool{}
	requestTypes := map[string]bool{}
	for _, op := range ops {
		key := op.Method + " " + op.Path
		if seen[key] || seen["id "+op.ID] {
			return nil, fmt.Errorf("openapi: duplicate operation %s (%s)", key, op.ID)
		}
		seen[key], seen["id "+op.ID] = true, true
		o := map[string]any{
			"operationId": op.ID,
			"summary":     op.Summary,
			"tags":        []string{op.Tag},
		}
		if op.Description != "" {
			o["description"] = op.Description
		}
		sec := []any{}
		for _, s := range op.Security {
			sec = append(sec, map[string]any{s: []string{}})
		}
		o["security"] = sec
		var params []any
		for _, p := range op.Params {
			t := p.Type
			if t == "" {
				t = "string"
			}
			params = append(params, map[string]any{
				"name": p.Name, "in": p.In, "description": p.Description,
				"required": p.Required || p.In == "path", "schema": Schema{"type": t},
			})
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if op.Body != nil {
			t := reflect.TypeOf(op.Body)
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			requestTypes[t.Name()] = true
			mt := map[string]any{"schema": sc.of(t)}
			if op.Example != "" {
				ex, err := example(op.Example, t)
				if err != nil {
					return nil, fmt.Errorf("openapi: %s (%s): %w", key, op.ID, err)
				}
				mt["example"] = ex
			}
			o["requestBody"] = map[string]any{
				"required": false,
				"content":  map[string]any{"application/json": mt},
			}
		} else if op.Example != "" {
			return nil, fmt.Errorf("openapi: %s (%s) has an example but no body", key, op.ID)
		}
		responses := map[string]any{}
		for _, r := range op.Responses {
			resp := map[string]any{"description": r.Description, "headers": headerRefs(append([]string{"X-Request-Id"}, r.Headers...), op.RateLimited)}
			ct := r.ContentType
			if ct == "" {
				ct = "application/json"
			}
			if r.Body != nil {
				resp["content"] = map[string]any{ct: map[string]any{"schema": sc.of(reflect.TypeOf(r.Body))}}
			} else if r.ContentType != "" {
				resp["content"] = map[string]any{ct: map[string]any{"schema": Schema{"type": "string", "contentMediaType": ct}}}
			}
			responses[strconv.Itoa(r.Status)] = resp
		}
		errs := append(append([]apierr.Code{}, op.Errors...), CommonErrors...)
		if op.Body != nil {
			errs = append(errs, BodyErrors...)
		}
		if op.RateLimited {
			errs = append(errs, apierr.RateLimited)
		}
		byStatus := map[int][]string{}
		for _, c := range errs {
			if !contains(byStatus[c.Status], c.ID) {
				byStatus[c.Status] = append(byStatus[c.Status], c.ID)
			}
		}
		for status, codes := range byStatus {
			sort.Strings(codes)
			hs := []string{"X-Request-Id"}
			if status == http.StatusTooManyRequests {
				hs = append(hs, "Retry-After")
			}
			responses[strconv.Itoa(status)] = map[string]any{
				"description":   http.StatusText(status) + ": " + strings.Join(codes, ", "),
				"headers":       headerRefs(hs, op.RateLimited),
				"content":       map[string]any{"application/json": map[string]any{"schema": Schema{"$ref": "#/components/schemas/Envelope"}}},
				"x-error-codes": codes,
			}
		}
		o["responses"] = responses
		if paths[op.Path] == nil {
			paths[op.Path] = map[string]any{}
		}
		paths[op.Path][strings.ToLower(op.Method)] = o
	}
	webhooks := map[string]any{}
	for _, h := range hooks {
		var params []any
		for _, p := range h.Headers {
			params = append(params, map[string]any{"name": p.Name, "in": "header", "description": p.Description,
				"required": p.Required, "schema": Schema{"type": "string"}})
		}
		webhooks[h.Name] = map[string]any{"post": map[string]any{
			"operationId": "webhook_" + strings.ReplaceAll(h.Name, ".", "_"),
			"summary":     h.Summary, "description": h.Description, "tags": []string{"Webhooks"},
			"parameters": params,
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{
				"schema": sc.of(reflect.TypeOf(h.Body))}}},
			"responses": map[string]any{
				"2XX":     map[string]any{"description": "Delivered. Answer quickly; any 2xx counts."},
				"default": map[string]any{"description": "Anything else (including 3xx: redirects are not followed) is a failed attempt, retried with backoff."},
			},
		}}
	}
	for name := range requestTypes {
		if s, ok := sc.named[name]; ok {
			s["additionalProperties"] = false
		}
	}
	var codes []any
	for _, c := range apierr.Codes() {
		codes = append(codes, c.ID)
	}
	sc.named["ErrorCode"] = Schema{"type": "string", "enum": codes, "description": "Every error code the API sends; see /docs/reference/error-codes."}
	if d, ok := sc.named["EnvelopeDetail"]; ok {
		d["properties"].(map[string]any)["code"] = Schema{"$ref": "#/components/schemas/ErrorCode"}
	}
	pathsAny := map[string]any{}
	for k, v := range paths {
		pathsAny[k] = v
	}
	schemasAny := map[string]any{}
	for k, v := range sc.named {
		schemasAny[k] = v
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title": info.Title, "version": info.Version, "description": info.Description,
			"license": map[string]any{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"paths":    pathsAny,
		"webhooks": webhooks,
		"components": map[string]any{
			"schemas": schemasAny,
			"securitySchemes": map[string]any{
				SecAPIKey:       map[string]any{"type": "http", "scheme": "bearer", "description": "A tenant API key (iksk_live_… or iksk_test_…), or the legacy global managed-session key."},
				SecSessionToken: map[string]any{"type": "apiKey", "in": "query", "name": "token", "description": "The token returned when the session was created; valid for that one session only, until 24 h after its TTL."},
				SecAdmin:        map[string]any{"type": "http", "scheme": "bearer", "description": "LIVEGATE_ADMIN_TOKEN. The admin API answers 404 when it is not set."},
				SecRawKey:       map[string]any{"type": "apiKey", "in": "header", "name": "Authorization", "description": "A tenant API key as the whole Authorization header, with or without Bearer (the ephemeral devices' seed sends it bare)."},
				SecEphemeral:    map[string]any{"type": "apiKey", "in": "header", "name": "Authorization", "description": "An ephemeral device's token (lgeph_…) from POST /api/device/ephemeral, with or without Bearer."},
			},
			"headers": map[string]any{
				"X-Request-Id":          header("The request id (req_…), also in every error envelope.", "string"),
				"X-RateLimit-Limit":     header("Requests allowed per window (one minute) for this API key or client IP.", "integer"),
				"X-RateLimit-Remaining": header("Requests left in the current window.", "integer"),
				"X-RateLimit-Reset":     header("Seconds until the current window ends.", "integer"),
				"Retry-After":           header("Seconds to wait before retrying.", "integer"),
				"Idempotent-Replayed":   header("true when an earlier request with the same Idempotency-Key produced this response.", "string"),
				"Location":              header("Where the created resource or redirect points.", "string"),
			},
		},
	}, nil
}

// example parses a request body example, which must decode strictly (as
// the server decodes bodies) into a value of type t.
func example(text string, t reflect.Type) (any, error) {
	if err := jsonbody.Decode([]byte(text), reflect.New(t).Interface()); err != nil {
		return nil, fmt.Errorf("example body does not decode into %s: %s", t.Name(), err.Message)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return nil, fmt.Errorf("example body: %w", err)
	}
	return json.RawMessage(buf.Bytes()), nil // the author's order of fields, kept
}

func header(desc, typ string) map[string]any {
	return map[string]any{"description": desc, "schema": Schema{"type": typ}}
}

func headerRefs(names []string, rateLimited bool) map[string]any {
	if rateLimited {
		names = append(names, "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
	}
	out := map[string]any{}
	for _, n := range names {
		out[n] = map[string]any{"$ref": "#/components/headers/" + n}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
