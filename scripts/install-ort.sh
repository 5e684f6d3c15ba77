#!/usr/bin/env bash
# Installs the ONNX Runtime shared library nrgraph runs on, from the npm
# registry package onnxruntime-node (the only registry-hosted build of the
# official CPU library), verifying a pinned sha256. Idempotent: a verified
# cached copy is kept. Usage: scripts/install-ort.sh [CACHE_DIR]
set -euo pipefail

ORT_VERSION=1.24.3
CACHE_DIR="${1:-${NRGRAPH_CACHE:-$(cd "$(dirname "$0")/.." && pwd)/.cache}}"
case "$(uname -m)" in
  x86_64|amd64) ARCH=x64;  SHA256=92ba8e44d31b80a34f5e805076a044122c3be1fffe0d88ed790de7267b0b2682 ;;
  aarch64|arm64) ARCH=arm64; SHA256=33032cb5b91c12edbf028d7c69fa40a31848d66c0095448758af237d5e0b07db ;;
  *) echo "install-ort: unsupported machine $(uname -m) (x86_64 and arm64 only)" >&2; exit 1 ;;
esac
DEST="$CACHE_DIR/onnxruntime-$ORT_VERSION/libonnxruntime.so.1"

verify() { [ -f "$1" ] && echo "$SHA256  $1" | sha256sum --check --status; }

if verify "$DEST"; then
  echo "ONNX Runtime $ORT_VERSION already installed: $DEST"
  exit 0
fi
command -v npm >/dev/null || { echo "install-ort: npm not found; install Node.js/npm (Debian: apt-get install npm)" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "Fetching onnxruntime-node@$ORT_VERSION from the npm registry..."
(cd "$TMP" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
tar -xzf "$TMP"/onnxruntime-node-"$ORT_VERSION".tgz -C "$TMP" "package/bin/napi-v6/linux/$ARCH/libonnxruntime.so.1"
SRC="$TMP/package/bin/napi-v6/linux/$ARCH/libonnxruntime.so.1"
if ! verify "$SRC"; then
  echo "install-ort: sha256 mismatch for $SRC (expected $SHA256); refusing to install" >&2
  exit 1
fi
mkdir -p "$(dirname "$DEST")"
cp "$SRC" "$DEST.tmp" && sync "$DEST.tmp" && mv "$DEST.tmp" "$DEST"
echo "Installed ONNX Runtime $ORT_VERSION: $DEST"
