#!/usr/bin/env bash
# Benchmark: applying a 50 MB artifact on the sim layout (verify + write +
# fsync + switch, `livegate-ota sim install`) against the disk-bound limit of
# plain `cp` plus `sha256sum` of the same file, measured in the same run.
# Prints the best of ROUNDS runs of each and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LIVEGATE_OTA:-bin/livegate-ota}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-50000000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

ms() { date +%s%N | awk '{printf "%d", $1/1000000}'; }

"$L" -q keygen root -o "$W/root" >/dev/null
"$L" -q keygen signing --root "$W/root.key" --serial 1 -o "$W/k" >/dev/null
head -c "$SIZE" /dev/urandom >"$W/payload"
head -c 4096 /dev/urandom >"$W/factory"
"$L" -q sign --key "$W/k.key" --cert "$W/k.cert" --payload "$W/factory" --kind firmware --version 1.0.0 \
  --board sim --arch "$(go env GOARCH)" -o "$W/factory.lgota" >/dev/null
"$L" -q sign --key "$W/k.key" --cert "$W/k.cert" --payload "$W/payload" --kind firmware --version 1.1.0 \
  --board sim --arch "$(go env GOARCH)" -o "$W/a.lgota" >/dev/null
cat "$W/a.lgota" >/dev/null # warm the page cache for both sides alike

best_ota=999999999
best_cp=999999999
for i in $(seq "$ROUNDS"); do
  rm -rf "$W/dev" "$W/copy"
  "$L" -q sim --root "$W/dev" --roots "$W/root.pub" provision "$W/factory.lgota" >/dev/null
  t0=$(ms)
  "$L" -q sim --root "$W/dev" --roots "$W/root.pub" install "$W/a.lgota" >/dev/null
  t1=$(ms)
  cp "$W/a.lgota" "$W/copy" && sha256sum "$W/copy" >/dev/null
  t2=$(ms)
  ota=$((t1 - t0)); cpt=$((t2 - t1))
  ((ota < best_ota)) && best_ota=$ota
  ((cpt < best_cp)) && best_cp=$cpt
done
mb=$(awk -v s="$SIZE" 'BEGIN{printf "%.0f", s/1e6}')
ratio=$(awk -v a="$best_ota" -v b="$best_cp" 'BEGIN{ if (b < 1) b = 1; printf "%.2f", a/b }')
echo "ota bench: apply ${mb} MB artifact (verify + write + fsync + switch): ${best_ota} ms; cp + sha256sum: ${best_cp} ms; ratio ${ratio} (best of ${ROUNDS})"
