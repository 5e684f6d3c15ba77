# Regenerates draws.json, the golden for TestPyRandomMatchesCPython:
#   /usr/bin/python3 evaltasks/testdata/pyrandom/generate.py > evaltasks/testdata/pyrandom/draws.json
# Each case replays lm-eval's few-shot sampling: one random.Random(seed)
# shared by all documents in order, each drawing sample(range(pool), k).
import json
import random
import sys

cases = []
for seed, pool, k, docs in [
    (1234, 5, 2, 4),        # small pool: the shrinking-list algorithm
    (1234, 1119, 5, 6),     # ARC-Challenge train split, 5-shot
    (1234, 9741, 6, 4),     # CSQA train, 5-shot from the same split (k+1)
    (1234, 100, 25, 2),     # k > 5 changes setsize: still the list algorithm
    (0, 40, 3, 3),
    (2**40 + 7, 1000, 5, 2),  # a seed over 32 bits: two key words
]:
    rnd = random.Random(seed)
    draws = [rnd.sample(range(pool), k) for _ in range(docs)]
    cases.append({"seed": seed, "pool": pool, "k": k, "draws": draws})

def lines(path):
    with open(path, encoding="utf-8") as f:
        return [l for l in f if l.strip()]

# lm-eval's ContextSampler.get_context on the ARC fixture (pool: the train
# file, 2-shot) and on the CSQA train fixture evaluated with itself as the pool (3-shot:
# draw 4, drop the document itself, keep 3).
here = "evaltasks/testdata"
arc_docs, arc_pool = lines(here + "/arc/ARC-Challenge-Test.jsonl"), lines(here + "/arc/ARC-Challenge-Train.jsonl")
rnd = random.Random(1234)
arc = [rnd.sample(range(len(arc_pool)), 2) for _ in arc_docs]
csqa_docs = lines(here + "/csqa/train_rand_split.jsonl")
rnd = random.Random(1234)
csqa = [[j for j in rnd.sample(range(len(csqa_docs)), 4) if j != d][:3] for d in range(len(csqa_docs))]
first = random.Random(1234)
json.dump({"python": sys.version.split()[0], "first_uint32": [first.getrandbits(32) for _ in range(5)], "cases": cases, "arc_fixture_2shot": arc, "csqa_fixture_same_split_3shot": csqa}, sys.stdout)
print()
