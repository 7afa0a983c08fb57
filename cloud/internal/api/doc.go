// Package api is livegate-cloud's HTTP surface on Fiber: the iLive session
// routes of seeds 000–002, test-mode simulation, the hosted session page,
// the admin API for tenants, keys and webhook deliveries, health checks, and
// the OpenAPI document with its rendered reference pages.
//
// Cross-cutting rules live in one place (middleware.go): every response
// carries X-Request-Id and the X-RateLimit-* headers; every error — from a
// handler, the router (404/405), the body limit (413) or a panic — is the
// envelope {"detail": {"code", "message", "request_id"}} with a code from
// package apierr; bodies are decoded strictly (package jsonbody).
//
// Routes are declared once, in routes.go, as OpenAPI operations carrying
// their handler: the server registers exactly the documented routes.
package api
