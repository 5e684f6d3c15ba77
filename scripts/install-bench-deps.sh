#!/usr/bin/env bash
# Installs what `make bench` needs for its PyTorch side, from Debian apt:
# python3-torch (imports only under /usr/bin/python3) and the pthread
# OpenBLAS, without which Debian's torch falls back to the reference BLAS
# (~30x slower). Does nothing when both are present.
set -euo pipefail

have_torch() { /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; }
have_openblas() { dpkg -s libopenblas0-pthread >/dev/null 2>&1; }

if have_torch && have_openblas; then
  exit 0
fi
command -v apt-get >/dev/null || { echo "install-bench-deps: needs Debian apt-get (python3-torch, libopenblas0-pthread)" >&2; exit 1; }
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "install-bench-deps: apt-get install python3-torch libopenblas0-pthread" >&2
$sudo apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread >/dev/null
have_torch || { echo "install-bench-deps: /usr/bin/python3 still cannot import torch" >&2; exit 1; }
