// Package ratelimit counts requests per identity (an API key, or a client IP
// on keyless routes) in fixed one-minute windows on an injected clock.
//
// State is per replica, in memory: with N replicas behind a load balancer an
// identity may make up to N×limit requests per window. This is documented in
// docs/api.md; a store-backed limiter can replace it behind the same methods.
package ratelimit
