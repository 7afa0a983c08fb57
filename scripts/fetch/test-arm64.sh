#!/usr/bin/env bash
# Cross-compile every test binary of the models module for linux/arm64 (cgo,
# Debian's aarch64-linux-gnu-gcc) and run each under qemu-aarch64 with the arm64
# ONNX Runtime library. Run by `make test` (target test-models-arm64).
#
# ONNX Runtime reads /proc/cpuinfo at start-up and crashes on the host's x86
# one under qemu, so each binary runs in a private mount namespace
# (unshare -m, needs root) with a fake ARM cpuinfo bind-mounted over it.
# Tests run with -test.short (heavy tests skip themselves with testing.Short)
# and LIVEGATE_EMULATED=qemu in the environment; the tests listed in
# scripts/fetch/arm64-skip.txt are skipped, with the reason printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../models"
CACHE=${LIVEGATE_CACHE:-$HOME/.cache/livegate}
lib=$CACHE/ort/linux-arm64/libonnxruntime.so.1
sysroot=/usr/aarch64-linux-gnu
die() { echo "test-models-arm64: $*" >&2; exit 1; }

qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static) ||
  die "qemu-aarch64 not found: run \`make setup\` (Debian qemu-user-static)"
command -v aarch64-linux-gnu-gcc >/dev/null ||
  die "aarch64-linux-gnu-gcc not found: run \`make setup\` (Debian gcc-aarch64-linux-gnu)"
[ -f "$sysroot/include/stdio.h" ] ||
  die "no arm64 C headers in $sysroot: run \`make setup\` (Debian libc6-dev-arm64-cross)"
[ -f "$lib" ] || die "$lib missing: run \`make setup\`"
[ "$(id -u)" -eq 0 ] || die "needs root for unshare -m and the cpuinfo bind mount"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# A 2-core Cortex-A72 (Raspberry Pi 4) as ONNX Runtime's cpuinfo parser expects.
for i in 0 1; do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i"
done >"$out/cpuinfo"

export CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc
mapfile -t pkgs < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' ./...)
# ARM64_PKGS="face ort" limits the run to these packages (relative to models/).
if [ -n "${ARM64_PKGS:-}" ]; then
  sel=()
  for line in "${pkgs[@]}"; do
    rel=${line%% *}; rel=${rel#livegate.dev/models}; rel=${rel#/}
    for want in $ARM64_PKGS; do [ "$rel" = "$want" ] && sel+=("$line"); done
  done
  pkgs=("${sel[@]}")
fi
[ ${#pkgs[@]} -gt 0 ] || die "no test packages found"

# skips PKG: the -test.skip pattern of a package from arm64-skip.txt, and
# the reasons on stderr.
skipfile=$here/arm64-skip.txt
skips() {
  local rel=${1#livegate.dev/models} pat=() p r
  rel=${rel#/}
  while IFS=$'\t' read -r p r reason; do
    [ -n "$p" ] && [ "${p:0:1}" != "#" ] && [ "$p" = "${rel:-.}" ] || continue
    pat+=("$r")
    echo "   skip on arm64: $r ($reason)" >&2
  done <"$skipfile"
  local IFS='|'
  echo "${pat[*]}"
}

n=0
for line in "${pkgs[@]}"; do
  pkg=${line%% *} dir=${line#* }
  n=$((n + 1))
  bin=$out/$n.test
  go test -c -o "$bin" "$pkg" || die "cross-compile $pkg failed"
  echo "== arm64 (qemu) $pkg"
  skip=$(skips "$pkg")
  start=$(date +%s)
  (cd "$dir" && LIVEGATE_ORT_LIB=$lib QEMU_LD_PREFIX=$sysroot LIVEGATE_EMULATED=qemu QEMU_CPU=cortex-a72 \
    unshare -m sh -c 'mount --bind "$1" /proc/cpuinfo && shift && exec "$@"' sh "$out/cpuinfo" \
    "$qemu" "$bin" -test.short -test.count=1 -test.timeout=10m ${skip:+-test.skip "$skip"}) ||
    die "$pkg failed on arm64"
  echo "   ok, $(($(date +%s) - start)) s"
done

# The livegate-face tool builds for arm64 and starts under qemu.
if [ -d cmd/livegate-face ]; then
  echo "== arm64 build livegate-face"
  go build -o "$out/livegate-face" ./cmd/livegate-face || die "arm64 build of livegate-face failed"
  QEMU_LD_PREFIX=$sysroot QEMU_CPU=cortex-a72 "$qemu" "$out/livegate-face" --help >/dev/null ||
    die "arm64 livegate-face --help failed under qemu"
fi
echo "test-models-arm64: ${#pkgs[@]} packages green on linux/arm64 under qemu"
