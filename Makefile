# livegate — top-level build. Every target does its own set-up on a fresh machine.
#   make demo    run the main job on the embedded defaults
#   make test    run every test (calls setup first)
#   make bench   run the benchmarks and print the README's figures
SHELL := /bin/bash
MODULES := proto models drivers board firmware ota cloud
GO ?= go
export LIVEGATE_CACHE ?= $(HOME)/.cache/livegate
export PATH := $(CURDIR)/bin:$(PATH)

# Each module may add targets in its own module.mk and append them to
# TEST_EXTRA (run by `make test` after the Go tests) or BENCH_EXTRA.
TEST_EXTRA :=
BENCH_EXTRA :=
-include $(wildcard */module.mk)

.PHONY: all setup build demo test test-go bench lint fmt clean

all: build

setup:
	@bash scripts/setup.sh

build:
	@mkdir -p bin
	@for m in $(MODULES); do \
	  if [ -d $$m/cmd ]; then $(GO) build -o bin/ ./$$m/cmd/... || exit 1; fi; \
	done
	@ls bin

lint:
	@bad=$$(gofmt -l $(MODULES)); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done
	@bash scripts/check-docs.sh

fmt:
	gofmt -w $(MODULES)

test: setup lint build test-go $(TEST_EXTRA)
	@echo "make test: all green"

test-go:
	@for m in $(MODULES); do \
	  echo "== go test $$m"; \
	  (cd $$m && $(GO) test -race -count=1 -timeout 20m ./...) || exit 1; \
	done

bench: setup build $(BENCH_EXTRA)

demo: setup build
	@bash scripts/demo.sh

clean:
	rm -rf bin
