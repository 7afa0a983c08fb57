# ota: benchmark of applying an artifact against cp + sha256sum (make bench).
.PHONY: bench-ota
bench-ota:
	@bash ota/bench.sh

BENCH_EXTRA += bench-ota
