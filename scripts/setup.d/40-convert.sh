#!/usr/bin/env bash
# Convert the TFLite models in $LIVEGATE_MODELS to ONNX (models/tflite2onnx)
# and prepare the TFLite WebAssembly reference runtime that the converter's
# golden test compares against (docs/converter.md).
#
# 1. The reference runtime: `npm pack` of four pinned packages (never
#    `npm install`), each tarball checked against its sha256, extracted into
#    $LIVEGATE_CACHE/tflite-golden/node_modules. Skipped when the stamp of the
#    pinned set is present.
# 2. `go run ./internal/cmd/convertmodels` in models/: converts every TFLite
#    model of models/manifest.json into .onnx beside it, atomically, and checks
#    each result's sha256 against the manifest's onnx_sha256. When every
#    converted file already has its pinned hash it only hashes the files.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

CACHE=${LIVEGATE_CACHE:-$HOME/.cache/livegate}
golden=$CACHE/tflite-golden

die() { echo "convert: $*" >&2; exit 1; }

# package@version, tarball sha256, directory under node_modules.
pins=(
  "@tensorflow/tfjs-tflite@0.0.1-alpha.10 ce63551608097a5ecb0f0128fc64c53c15843a851fcd17f83e66e1908a628d71 @tensorflow/tfjs-tflite"
  "@tensorflow/tfjs-core@4.9.0 d23caae3160350e9d7c6a11c05f3d50dda0d7ea62a222ba4684a05a732e62ec7 @tensorflow/tfjs-core"
  "@tensorflow/tfjs-backend-cpu@4.9.0 8a834351c46afbd1dd022f52d324df23952194e745c0b4161cd58697928ee246 @tensorflow/tfjs-backend-cpu"
  "seedrandom@3.0.5 f217e14961edb2a61f23b3eaee7477578021f0db15f69941a866e9f55e518544 seedrandom"
)
stamp=$(printf '%s\n' "${pins[@]}" | sha256sum | cut -d' ' -f1)

if [ "$(cat "$golden/.stamp" 2>/dev/null)" != "$stamp" ]; then
  command -v npm >/dev/null || die "npm is missing (scripts/setup.d/30-fetch.sh installs it)"
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.golden.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/dl" "$tmp/node_modules"
  for pin in "${pins[@]}"; do
    read -r spec sha dir <<<"$pin"
    echo "convert: npm pack $spec"
    file=$(cd "$tmp/dl" && npm pack --silent "$spec" 2> >(grep -v 'Unknown user config' >&2) | tail -n1)
    [ -f "$tmp/dl/$file" ] || die "npm pack $spec produced no tarball"
    got=$(sha256sum "$tmp/dl/$file" | cut -d' ' -f1)
    [ "$got" = "$sha" ] || die "sha256 mismatch for $file (npm pack $spec): expected $sha, got $got"
    mkdir -p "$tmp/node_modules/$dir"
    tar -xzf "$tmp/dl/$file" -C "$tmp/node_modules/$dir" --strip-components=1
  done
  rm -rf "$golden.old"
  [ -d "$golden" ] && mv "$golden" "$golden.old"
  mkdir -p "$golden"
  mv "$tmp/node_modules" "$golden/node_modules"
  echo "$stamp" >"$golden/.stamp"
  rm -rf "$golden.old" "$tmp"
  trap - EXIT
fi

(cd "$root/models" && go run ./internal/cmd/convertmodels) || die "model conversion failed"
