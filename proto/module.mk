# proto/module.mk — benchmarks of the device↔cloud sync (the contract's
# implementations live in firmware/sync and cloud/internal/fleet).

BENCH_EXTRA += bench-fleet

.PHONY: bench-fleet
# Drain 10,000 buffered results after a reconnect (device outbox → broker →
# cloud store + webhook delivery → ack → outbox empty) as results/s and as a
# ratio to raw QoS 1 publishing through the same broker in the same run, on
# the embedded broker and on Mosquitto; then mochi-mqtt with and without its
# bbolt persistence hook.
bench-fleet:
	@cd cloud && $(GO) test -run '^$$' -bench 'BenchmarkDrain' -benchtime 1x -timeout 20m ./internal/fleet/e2e | grep -E '^Benchmark'
	@cd cloud && $(GO) test -run '^$$' -bench 'BenchmarkPersistence' -benchtime 3000x ./internal/fleet/broker | grep -E '^Benchmark'
