#!/usr/bin/env bash
# Go modules of every workspace module.
set -euo pipefail
for m in proto models drivers board firmware ota cloud; do
  (cd "$m" && go mod download)
done
