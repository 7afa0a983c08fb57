#!/usr/bin/env bash
# Debian packages the build and the tests use. Installs only what is missing.
set -euo pipefail
pkgs=(
  postgresql            # PostgreSQL store tests start their own throwaway server
  mosquitto             # MQTT fault tests run a real broker
  chromium              # browser end-to-end tests of the capture page
  ffmpeg                # test media conversion (clips to y4m/frames)
  gcc-aarch64-linux-gnu # cgo cross-build for arm64 boards
  libc6-dev-arm64-cross
  gcc-arm-linux-gnueabihf
  libc6-dev-armhf-cross
  qemu-user-static      # run arm64 tests under emulation
  wrk                   # HTTP load for benchmarks
  libubootenv-tool      # fw_printenv/fw_setenv: the OTA U-Boot layout is also tested against the real tools
  tesseract-ocr         # the ID-document reader's OCR engine (models/document), run as a command
  tesseract-ocr-eng     # its English model: the MRZ alphabet is read with it
  fonts-ocr-b           # OCR-B, the MRZ font, for the synthetic documents
  unzip xz-utils ca-certificates
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing Debian packages: ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
