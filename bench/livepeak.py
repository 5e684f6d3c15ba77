#!/usr/bin/python3
"""What is alive at a graph's memory peak, replayed from ONNX Runtime's profile.

    NRGRAPH_ORT_PROFILE=/tmp/prof bin/nrgraph train ... --steps 1
    /usr/bin/python3 bench/livepeak.py /tmp/prof train_step [--top 30]

ONNX Runtime writes, per session, its per-node profile (the order nodes
ran in and each output's shape) and the graph as it optimized it. This
replays that order: each node's outputs are allocated when it runs and
freed after their last reader ran (views — Reshape, Squeeze, Unsqueeze,
Flatten, Identity — share their input's buffer); graph inputs, outputs and
initializers are not counted. It prints the peak of the intermediate
tensors and the largest ones alive there, with the node that made each and
when it was made and last read (node positions in the run order), which is
how models/decoder.go's recomputedBlock was sized. An allocator adds slack
on top; this is the tensors' own bytes.

Reference tool (python3-onnx), not part of nrgraph.
"""
import argparse
import json
import os

import onnx

ELEMENT_BYTES = {"float": 4, "int64": 8, "bfloat16": 2, "float16": 2, "bool": 1,
                 "uint8": 1, "int8": 1, "int32": 4, "double": 8}
VIEWS = {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="NRGRAPH_ORT_PROFILE directory")
    ap.add_argument("graph", help="graph file's base name, e.g. train_step")
    ap.add_argument("--top", type=int, default=30, help="tensors to list")
    a = ap.parse_args()
    profiles = sorted(f for f in os.listdir(a.dir) if f.startswith(a.graph + "_") and f.endswith(".json"))
    if not profiles:
        raise SystemExit(f"{a.dir}: no {a.graph}_*.json profile (run with NRGRAPH_ORT_PROFILE={a.dir})")
    events = json.load(open(os.path.join(a.dir, profiles[-1])))
    model = onnx.load(os.path.join(a.dir, a.graph + ".opt.onnx"), load_external_data=False)
    nodes = {n.name: n for n in model.graph.node}
    outputs = {o.name for o in model.graph.output}

    ran = sorted((e for e in events if e.get("cat") == "Node"), key=lambda e: e["ts"])
    order, size, shape = [], {}, {}
    for e in ran:
        n = nodes.get(e["name"].removesuffix("_kernel_time"))
        if n is None:
            continue
        order.append(n)
        for out, spec in zip(n.output, e["args"].get("output_type_shape", [])):
            (dtype, dims), = spec.items()
            count = 1
            for d in dims:
                count *= d
            size[out], shape[out] = count * ELEMENT_BYTES.get(dtype, 4), dims

    base = {}  # view -> the tensor whose buffer it shares

    def root(v):
        while v in base:
            v = base[v]
        return v
    for n in order:
        if n.op_type in VIEWS and n.input[0] in size:
            base[n.output[0]] = n.input[0]
    last = {}
    for i, n in enumerate(order):
        for v in n.input:
            if v:
                last[root(v)] = i

    alive, total, peak, at, snapshot = {}, 0, 0, 0, {}
    for i, n in enumerate(order):
        for out in n.output:
            if out in size and out not in base and out not in outputs:
                alive[out] = (size[out], n, i)
                total += size[out]
        if total > peak:
            peak, at, snapshot = total, i, dict(alive)
        for v in set(n.input) | set(n.output):
            r = root(v) if v else None
            if r in alive and last.get(r, -1) <= i:
                total -= alive.pop(r)[0]

    print(f"{len(order)} nodes ran; intermediate tensors peak at {peak / 2**20:.1f} MiB "
          f"while node {at} ({order[at].name}) runs")
    rows = sorted(((s, v, n, made) for v, (s, n, made) in snapshot.items()), key=lambda r: -r[0])
    for s, v, n, made in rows[:a.top]:
        print(f"{s / 2**20:9.1f} MiB  {n.op_type:<10} {n.name:<24} made at {made:5d}, last read at "
              f"{last.get(v, made):5d}  {shape[v]}")
    rest = rows[a.top:]
    print(f"{sum(r[0] for r in rest) / 2**20:9.1f} MiB in {len(rest)} smaller tensors")


if __name__ == "__main__":
    main()
