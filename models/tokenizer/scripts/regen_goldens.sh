#!/usr/bin/env bash
# Regenerates every test tokenizer and golden file of package tokenizer.
#
#   models/tokenizer/scripts/regen_goldens.sh
#
# Needs node and network access to npm once: HF's Node binding ("tokenizers",
# prebuilt for linux-x64) is installed into $TOKREF (default /tmp/tokref),
# outside the repository. Steps:
#   1. train the HF-made test tokenizers (bytelevel-hf, llama-sp, gemma-sp,
#      metaspace-sp) with the Node binding;
#   2. retrain ours-bytelevel.tokenizer.json with our Go trainer and extend it
#      (ours-bytelevel-extended.tokenizer.json) (go test -update);
#   3. load every testdata/*.tokenizer.json in the Node binding and record
#      encodings/decodings of testdata/texts.json as *.golden.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
TOKREF="${TOKREF:-/tmp/tokref}"
TOKENIZERS_VERSION="${TOKENIZERS_VERSION:-0.23.2}"
if [ ! -d "$TOKREF/node_modules/tokenizers" ]; then
  mkdir -p "$TOKREF"
  (cd "$TOKREF" && npm init -y >/dev/null && npm install "tokenizers@$TOKENIZERS_VERSION")
fi
export NODE_PATH="$TOKREF/node_modules"
node "$here/gen_goldens.js" train
(cd "$here/.." && go test -count=1 -run "TestTrainMatchesCommitted|TestExtendMatchesCommitted" . -update)
node "$here/gen_goldens.js" golden
