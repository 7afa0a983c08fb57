# models/ make targets, included by the top-level Makefile.
#   make test   also cross-builds the models tests for linux/arm64 and runs them
#               under qemu-aarch64 with the arm64 ONNX Runtime library
#   make bench  prints per-model ONNX Runtime latency (median, p95; 1 and 2 threads)

.PHONY: test-models-arm64 build-models-arm64 bench-models

TEST_EXTRA += test-models-arm64
BENCH_EXTRA += bench-models

test-models-arm64:
	@bash scripts/fetch/test-arm64.sh

# Only the arm64 build of livegate-face (no tests), for a quick check.
build-models-arm64:
	@mkdir -p bin/linux-arm64
	@if [ -d models/cmd/livegate-face ]; then \
	  cd models && CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	    $(GO) build -o ../bin/linux-arm64/ ./cmd/livegate-face && echo "bin/linux-arm64/livegate-face"; \
	else echo "models/cmd/livegate-face does not exist yet"; fi

bench-models:
	@cd models && $(GO) test -run '^$$' -bench BenchmarkModels -benchtime 50x -count 1 ./ort/
-include $(dir $(lastword $(MAKEFILE_LIST)))eval.mk

# The face pipeline (decode → detect → landmarks, embedding every 10th frame)
# as a ratio to the raw model time of the same frames, and the liveness
# analyzer's cost per frame as a ratio to that pipeline, each in one run.
BENCH_EXTRA += bench-face bench-liveness
.PHONY: bench-face bench-liveness
bench-face: build
	@bin/livegate-face bench --frames 300
bench-liveness:
	@cd models && $(GO) test -run '^$$' -bench Analyzer -benchtime 3x ./liveness/
