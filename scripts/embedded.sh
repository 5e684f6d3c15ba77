#!/usr/bin/env bash
# Regenerates the embedded default backbone (models/embedded/en-llama-7m):
# a ~7M-parameter Llama pretrained from scratch by nrgraph on the English
# pretraining corpus of `make corpora`, with a multilingual vocabulary.
#
#   make corpora && scripts/embedded.sh [STEPS]
#
# Steps: byte-level BPE tokenizer (8192) -> token shards -> `nrgraph train
# --from-scratch` -> `nrgraph export --hf` (bf16) -> copy.
#
# The tokenizer is trained as Gemma's is, on several languages: the English
# pretraining text and the demo languages' training sets (never their
# held-out sets), about 2 MB of text from each (--bytes-per-file, documents
# evenly spaced), so French, German, Danish and Hungarian get real pieces
# instead of bytes. Pretraining stays English-only, so those languages are
# new to the model but not to its vocabulary.
#
# Interrupted (Ctrl-C, SIGTERM, a crash)? Run the same command again: every
# step is skipped when its output exists and training resumes from the last
# checkpoint in $WORK/run (saved every 250 steps). Set BIN to a built
# nrgraph to run without rebuilding (a long run keeps its binary).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-3000}"
CORPORA="${CORPORA:-.cache/corpora}"
WORK="${WORK:-.cache/embedded}"
OUT="${OUT:-models/embedded/en-llama-7m}"
TOKENIZER_LANGS="${TOKENIZER_LANGS:-fr de da hu}"
if [ -z "${BIN:-}" ]; then
  BIN=bin/nrgraph
  go build -o "$BIN" ./cmd/nrgraph
fi
mkdir -p "$WORK/model" "$WORK/shards" "$OUT"

cp models/embedded/config.json "$WORK/model/config.json"
if [ ! -f "$WORK/model/tokenizer.json" ]; then
  inputs=("$CORPORA/en_pretrain.jsonl")
  for lang in $TOKENIZER_LANGS; do inputs+=("$CORPORA/${lang}_train.jsonl"); done
  for f in "${inputs[@]}"; do
    [ -f "$f" ] || { echo "embedded.sh: $f missing: run \`make corpora\` (with de/da/hu: CORPORA_EXTRA_LANGS unset) or set TOKENIZER_LANGS" >&2; exit 1; }
  done
  "$BIN" train-tokenizer --vocab 8192 --bytes-per-file 2000000 --out "$WORK/model/tokenizer.json" "${inputs[@]}"
fi
for set in en_pretrain en_heldout; do
  [ -f "$WORK/shards/$set.bin" ] || "$BIN" tokenize --tokenizer "$WORK/model/tokenizer.json" --out "$WORK/shards/$set" "$CORPORA/$set.jsonl"
done
"$BIN" train --from-scratch --model "$WORK/model" --seq 256 \
  --new "$WORK/shards/en_pretrain" --p 0 --steps "$STEPS" --batch 16 --lr 3e-3 --warmup 200 \
  --schedule cosine --min-lr-ratio 0.1 --eval-every 250 --eval-new "$WORK/shards/en_heldout" --eval-batches 8 \
  --save-every 250 --out "$WORK/run" --resume
"$BIN" export --build "$WORK/run/build" --checkpoint "$WORK/run" --out "$WORK/export" --hf "$OUT" --hf-dtype bfloat16
ls -la "$OUT"
