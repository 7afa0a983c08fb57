# cloud/capture.mk — the capture WebSocket benchmark (included by cloud/module.mk).

BENCH_EXTRA += bench-cloud-capture

.PHONY: bench-cloud-capture
# Concurrent WebSocket capture sessions at 10 frames/s each against the real
# liveness models, N = 1, 2, 3, … (each level 15 s of sessions back to back)
# until more than 10 % of frames are dropped plus one level beyond: frames analysed per second, drop share, verdict
# latency p50/p95, CPU per analysed frame as a ratio to the raw pipeline
# (decode → detect → landmarks) timed in the same run, and the largest
# number of sessions with at most 10 % dropped.
bench-cloud-capture:
	@cd cloud && $(GO) run ./internal/capture/bench -max $${LIVEGATE_CAPTURE_BENCH_MAX:-16}

TEST_EXTRA += test-cloud-e2e

.PHONY: test-cloud-e2e
# The hosted page in headless Chromium with a fake camera (skipped under
# -race in test-go, so it runs here once, without the race detector).
test-cloud-e2e:
	@cd cloud && $(GO) test -count=1 -timeout 15m ./e2e/
