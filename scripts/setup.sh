#!/usr/bin/env bash
# make setup: fetch and verify everything livegate needs, idempotently.
# Each step is a script in scripts/setup.d, run in name order. A step that has
# nothing to do returns quickly, so `make test` can call this every time.
set -euo pipefail
cd "$(dirname "$0")/.."
export LIVEGATE_CACHE="${LIVEGATE_CACHE:-$HOME/.cache/livegate}"
mkdir -p "$LIVEGATE_CACHE"
for step in scripts/setup.d/*.sh; do
  bash "$step"
done
