# drivers/module.mk — cross-build check for the hardware side.
#   make test-drivers-cross   build drivers/ and board/ for linux/arm64 and
#                             linux/arm (GOARM=7) with CGO_ENABLED=0 and run
#                             their test binaries under qemu user emulation
#                             (qemu-aarch64 for arm64, qemu-arm for armv7: the
#                             armv7 run checks the 32-bit V4L2 struct layouts).
# Pure Go: no cgo toolchain and no fake /proc/cpuinfo are needed.
QEMU_AARCH64 ?= $(shell command -v qemu-aarch64 || command -v qemu-aarch64-static)
QEMU_ARM ?= $(shell command -v qemu-arm || command -v qemu-arm-static)
DRIVERS_CROSS_MODULES := drivers board

.PHONY: test-drivers-cross
TEST_EXTRA += test-drivers-cross

test-drivers-cross:
	@set -euo pipefail; \
	out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	for arch in arm64 arm; do \
	  case $$arch in arm64) qemu="$(QEMU_AARCH64)";; arm) qemu="$(QEMU_ARM)";; esac; \
	  if [ -z "$$qemu" ]; then echo "test-drivers-cross: no qemu for $$arch (install qemu-user-static)"; exit 1; fi; \
	  for m in $(DRIVERS_CROSS_MODULES); do \
	    echo "== cross $$m linux/$$arch"; \
	    dir="$$out/$$arch/$$m"; mkdir -p "$$dir"; \
	    (cd $$m && CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=7 $(GO) build ./... && \
	     CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=7 $(GO) test -c -o "$$dir/" ./...) || exit 1; \
	    for t in "$$dir"/*.test; do \
	      [ -e "$$t" ] || continue; \
	      (cd $$m && "$$qemu" "$$t" -test.count=1 -test.timeout=5m >"$$t.log" 2>&1) || { cat "$$t.log"; echo "FAIL $$m $$(basename $$t) on $$arch"; exit 1; }; \
	      echo "ok   $$m $$(basename $$t .test) linux/$$arch (qemu)"; \
	    done; \
	  done; \
	done
