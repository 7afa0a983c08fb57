#!/usr/bin/env bash
# check-docs: the project's Markdown refers only to files inside the project,
# and every relative link resolves. Run by `make lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# Names of notes kept outside the project: a reader of the project has none of them.
if grep -rnE 'MODELS\.md|ARCHITECTURE\.md|TOOLCHAIN\.md|STYLE\.md' \
     --include='*.md' --include='*.go' --include='*.tmpl' --include='*.sh' \
     --exclude-dir=node_modules --exclude=check-docs.sh . ; then
  echo "check-docs: the lines above name files outside the project" >&2
  status=1
fi
while IFS= read -r md; do
  dir=$(dirname "$md")
  # Inline links and images: ](target) — not URLs, mail or in-page anchors.
  while IFS= read -r target; do
    path=${target%%#*}
    [ -z "$path" ] && continue
    if [ ! -e "$dir/$path" ]; then
      echo "check-docs: $md links to $target, which does not exist" >&2
      status=1
    elif [[ "$(realpath -m "$dir/$path")" != "$PWD"* ]]; then
      echo "check-docs: $md links to $target, outside the project" >&2
      status=1
    fi
  done < <(grep -oE '\]\([^)[:space:]]+\)' "$md" | sed -E 's/^\]\(//; s/\)$//' | grep -vE '^(https?:|mailto:|#|/)' || true)
done < <(git ls-files '*.md' | grep -v node_modules)
exit $status
