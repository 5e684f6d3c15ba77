#!/usr/bin/env bash
# Regenerates the embedded default backbone (models/embedded/en-llama-7m):
# a ~7M-parameter English Llama pretrained from scratch by nrgraph on the
# English pretraining corpus of `make corpora`.
#
#   make corpora && scripts/embedded.sh [STEPS]
#
# Steps: byte-level BPE tokenizer (8192) on English text -> token shards ->
# `nrgraph train --from-scratch` -> `nrgraph export --hf` (bf16) -> copy.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-900}"
CORPORA="${CORPORA:-.cache/corpora}"
WORK="${WORK:-.cache/embedded}"
OUT="${OUT:-models/embedded/en-llama-7m}"
BIN=bin/nrgraph
mkdir -p "$WORK/model" "$WORK/shards" "$OUT"
go build -o "$BIN" ./cmd/nrgraph

cp models/embedded/config.json "$WORK/model/config.json"
if [ ! -f "$WORK/model/tokenizer.json" ]; then
  "$BIN" train-tokenizer --vocab 8192 --out "$WORK/model/tokenizer.json" "$CORPORA/en_pretrain.jsonl"
fi
for set in en_pretrain en_heldout; do
  [ -f "$WORK/shards/$set.bin" ] || "$BIN" tokenize --tokenizer "$WORK/model/tokenizer.json" --out "$WORK/shards/$set" "$CORPORA/$set.jsonl"
done
"$BIN" train --from-scratch --model "$WORK/model" --seq 256 \
  --new "$WORK/shards/en_pretrain" --p 0 --steps "$STEPS" --batch 16 --lr 3e-3 --warmup 200 \
  --schedule cosine --min-lr-ratio 0.1 --eval-every 500 --eval-new "$WORK/shards/en_heldout" --eval-batches 8 \
  --save-every 250 --out "$WORK/run" --resume
"$BIN" export --build "$WORK/run/build" --checkpoint "$WORK/run" --out "$WORK/export" --hf "$OUT" --hf-dtype bfloat16
ls -la "$OUT"
