# nrgraph — the two commands a newcomer needs:
#   make demo   the main job on the embedded default
#   make test   the test suite (what CI runs)
# Both install what they need (Go modules via the module proxy, the ONNX
# Runtime library via npm) on first use.

GO        ?= go
CACHE     ?= $(CURDIR)/.cache
ORT_LIB   := $(CACHE)/onnxruntime-1.24.3/libonnxruntime.so.1
BIN       := bin/nrgraph
export NRGRAPH_CACHE := $(CACHE)

.PHONY: all build ort ort-node real-tokenizers bench-deps test test-mpi vet demo bench bench-scale generate fuzz clean doctor corpora embedded repro ablations

all: build

$(ORT_LIB):
	./scripts/install-ort.sh "$(CACHE)"

ort: $(ORT_LIB)

# onnxruntime-node: the independent consumer the export tests load models with.
ort-node:
	./scripts/install-ort-node.sh "$(CACHE)"

# The real Llama 3 / Gemma 3 / Qwen3 tokenizers the tokenizer goldens check.
real-tokenizers:
	./scripts/install-real-tokenizers.sh "$(CACHE)"

build:
	$(GO) build -o $(BIN) ./cmd/nrgraph

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

test: ort ort-node real-tokenizers vet
	$(GO) test -count=1 -timeout 20m ./...

# Data-parallel training over MPI (needs Open MPI: apt-get install
# openmpi-bin libopenmpi-dev): the mpi-tagged build and its tests, which
# start `mpirun -np 2`.
test-mpi: ort
	$(GO) vet -tags mpi ./...
	$(GO) test -tags mpi -count=1 -timeout 10m -run MPI ./trainer

doctor: ort build
	$(BIN) doctor

# The embedded backbone is committed; the French/English text comes from
# Debian packages (make corpora, English + French only here: ~5 min once).
demo: ort build
	CORPORA_EXTRA_LANGS= NRGRAPH=$(CURDIR)/$(BIN) ./scripts/corpora/build.sh "$(CACHE)/corpora"
	$(BIN) demo --corpora "$(CACHE)/corpora" --work "$(CACHE)/demo"

# PyTorch for the bench's reference side (Debian python3-torch + OpenBLAS).
bench-deps:
	./scripts/install-bench-deps.sh

# Go benchmarks (graph build, step, data prep, ...) then nrgraph (fp32 and
# int8 backbone) vs PyTorch (fp32 and bf16 autocast) side by side
# (BENCH_FLAGS; the README table's run). PyTorch's bf16 matmul runs at
# ~1 GFLOP/s on a CPU without AVX512-BF16/AMX, so its steps are small and
# few by default; on a CPU with them pass -bf16-batch 16 -bf16-steps 8.
BENCH_FLAGS ?= -rounds 4 -bf16-batch 2 -bf16-steps 1
bench: ort bench-deps
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./...
	$(GO) build -o bin/nrgraph-bench ./bench && bin/nrgraph-bench $(BENCH_FLAGS)

# The paper's own scale: a random Gemma-2B-shaped bf16 checkpoint written
# here (5 GB on disk under .cache/bench-scale), then build, 2 training steps
# at seq 256 x micro-batch 1 and scoring, each with wall time and peak RSS.
# Needs ~15 GB of free memory; run it alone. -torch adds the same step in
# PyTorch (make bench-deps; at Gemma-2B it takes over an hour on a CPU
# without fast bf16: use -shape mid, or -torch-layers N for N of the 18
# blocks, and extrapolate per block).
SCALE_FLAGS ?= -shape gemma-2b
bench-scale: ort build
	$(GO) build -o bin/nrgraph-scale ./bench/scale && bin/nrgraph-scale $(SCALE_FLAGS)

# Demo corpora (en, fr; de/da/hu unless CORPORA_EXTRA_LANGS=) from Debian
# packages (apt-get download + dpkg -x, nothing installed); ~7 min.
corpora: build
	NRGRAPH=$(CURDIR)/$(BIN) ./scripts/corpora/build.sh "$(CACHE)/corpora"

# The paper's Table 2 / ablations at small scale (10 / 9 runs per seed),
# as the README's tables were made: its learning-rate scale (300 steps are
# 300x fewer than the paper's), 3 seeds (mean ± sd; the claims need a
# spread) and 131,072 scored tokens per held-out set. ~2.3 min a run here
# (2 cores): ~70 min each; REPRO_FLAGS="--lr-scale 5" for one seed.
REPRO_FLAGS ?= --lr-scale 5 --seeds 3 --heldout-tokens 131072
repro: ort build corpora
	$(BIN) repro $(REPRO_FLAGS) --corpora "$(CACHE)/corpora" --work "$(CACHE)/repro"

ablations: ort build corpora
	$(BIN) repro --ablations $(REPRO_FLAGS) --corpora "$(CACHE)/corpora" --work "$(CACHE)/repro"

# Re-pretrains the embedded backbone models/embedded/en-llama-7m (slow).
embedded: ort corpora
	CORPORA=$(CACHE)/corpora ./scripts/embedded.sh

# Every fuzz target (one per parser: 21) for FUZZTIME each; FUZZ=regexp
# picks targets by name (e.g. make fuzz FUZZ='ShardIndex|Unmarshal').
FUZZTIME ?= 1m
FUZZ      ?= .
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' | grep -E '$(FUZZ)' || true); do \
	    echo "== $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME); \
	  done; \
	done

# Regenerates export/onnxpb/onnx.pb.go (needs protoc + protoc-gen-go).
generate:
	$(GO) generate ./...

clean:
	rm -rf bin
