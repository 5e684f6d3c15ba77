#!/usr/bin/env bash
# Installs onnxruntime-node (the official Node.js binding, from the npm
# registry) into the project cache: the second, independent consumer that
# tests load nrgraph's exported ONNX files with. Install scripts are skipped
# (they only fetch optional GPU binaries). Usage: scripts/install-ort-node.sh [CACHE_DIR]
set -euo pipefail
ORT_VERSION=1.24.3
CACHE_DIR="${1:-${NRGRAPH_CACHE:-$(cd "$(dirname "$0")/.." && pwd)/.cache}}"
DEST="$CACHE_DIR/node"
if [ -f "$DEST/node_modules/onnxruntime-node/package.json" ] && grep -q "\"version\": \"$ORT_VERSION\"" "$DEST/node_modules/onnxruntime-node/package.json"; then
  echo "onnxruntime-node $ORT_VERSION already installed: $DEST"
  exit 0
fi
command -v npm >/dev/null || { echo "install-ort-node: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
mkdir -p "$DEST"
npm install --prefix "$DEST" --ignore-scripts --no-audit --no-fund --silent "onnxruntime-node@$ORT_VERSION"
echo "Installed onnxruntime-node $ORT_VERSION: $DEST"
