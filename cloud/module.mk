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

BENCH_EXTRA += bench-cloud-store

.PHONY: bench-cloud-store
# The stores alone: durable session creates per second with bbolt group commit
# against one bbolt Update per write and bbolt Batch (same run), and PostgreSQL.
bench-cloud-store:
	@cd cloud && $(GO) test -run '^$$' -bench CreateSession -benchtime 3s ./internal/store/bolt/ ./internal/store/postgres/
