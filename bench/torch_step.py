#!/usr/bin/python3
"""PyTorch reference for `make bench`: the same decoder, neutral-residues
adapters, loss and AdamW step as nrgraph's train_step.onnx, timed on CPU.

Run with Debian's torch (/usr/bin/python3; install libopenblas0-pthread or
torch falls back to a reference BLAS ~30x slower):
    /usr/bin/python3 bench/torch_step.py --d 256 --layers 4 --threads 2
Prints one JSON line: tokens/s for a training step and for forward scoring,
and peak RSS.
"""
import argparse, json, math, os, resource, statistics, sys, time


def pin_threads(argv):
    """Every thread pool sized to --threads before torch loads: OpenBLAS
    keeps a pool of all CPUs unless OPENBLAS_NUM_THREADS says otherwise
    (torch.set_num_threads does not reach it), so without this "1 thread"
    used 2 BLAS threads."""
    threads = "2"
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            threads = argv[i + 1]
        elif a.startswith("--threads="):
            threads = a.split("=", 1)[1]
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = threads


pin_threads(sys.argv)
# Debian's torch (OpenMP) and OpenBLAS (pthreads) both spin-wait for work
# by default; on this 2-core machine that made 2-thread PyTorch 2-3x slower
# than 1-thread. Passive waiting is PyTorch's best measured setting here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    rot = torch.cat([-x[..., h:], x[..., :h]], dim=-1)
    return x * cos + rot * sin


def add_adapter(block, d, hidden, layers):
    """Neutral residues: GLU adapter + ReLU block gate (trainable, float32),
    low-variance init with a zero output matrix."""
    block.a_in = nn.Linear(d, hidden, bias=False)
    block.a_gate = nn.Linear(d, hidden, bias=False)
    block.a_out = nn.Linear(hidden, d, bias=False)
    block.block_gate = nn.Linear(d, 1)
    std = 1 / math.sqrt(d * layers)
    for m in (block.a_in, block.a_gate, block.block_gate):
        nn.init.normal_(m.weight, std=std)
    nn.init.zeros_(block.a_out.weight)
    nn.init.zeros_(block.block_gate.bias)


def add_rope_and_mask(model, hd, seq):
    """RoPE tables (HF convention) and the additive causal mask."""
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.arange(seq).float()[:, None] * inv[None, :]
    emb = torch.cat([ang, ang], -1)
    model.register_buffer("cos", emb.cos())
    model.register_buffer("sin", emb.sin())
    model.register_buffer("mask", torch.full((seq, seq), -1e9).triu(1))


class Block(nn.Module):
    def __init__(self, d, heads, ffn, adapter_hidden, layers):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)
        add_adapter(self, d, adapter_hidden, layers)

    def forward(self, x, cos, sin, mask):
        b, s, d = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        v = self.v(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        ctx = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, s, d)
        x = x + self.o(ctx)
        f = self.n2(x)
        ffn = self.down(F.silu(self.gate(f)) * self.up(f))
        a = self.a_out(F.silu(self.a_gate(f)) * self.a_in(f)) * F.relu(self.block_gate(f))
        return x + ffn + a, a


class Model(nn.Module):
    def __init__(self, vocab, d, layers, heads, ffn, adapter_hidden, seq):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads, ffn, adapter_hidden, layers) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        hd = d // heads
        add_rope_and_mask(self, hd, seq)

    def forward(self, ids):
        x = self.emb(ids).float()  # the residual stream stays float32 (a bf16 backbone's too)
        outs = []
        for blk in self.blocks:
            x, a = blk(x, self.cos, self.sin, self.mask)
            outs.append(a)
        return self.head(self.norm(x)), outs


class GemmaBlock(nn.Module):
    """A frozen bf16 Gemma block (MQA/GQA, GeGLU, (1 + w) RMSNorm) with a
    float32 neutral-residues adapter beside its FFN."""

    def __init__(self, d, heads, kv, hd, ffn, hidden, layers):
        super().__init__()
        bf = dict(bias=False, dtype=torch.bfloat16)
        self.heads, self.kv, self.hd = heads, kv, hd
        self.n1 = nn.Parameter(torch.zeros(d, dtype=torch.bfloat16))
        self.n2 = nn.Parameter(torch.zeros(d, dtype=torch.bfloat16))
        self.q, self.k, self.v = nn.Linear(d, heads * hd, **bf), nn.Linear(d, kv * hd, **bf), nn.Linear(d, kv * hd, **bf)
        self.o = nn.Linear(heads * hd, d, **bf)
        self.gate, self.up, self.down = nn.Linear(d, ffn, **bf), nn.Linear(d, ffn, **bf), nn.Linear(ffn, d, **bf)
        add_adapter(self, d, hidden, layers)

    @staticmethod
    def norm(x, w):
        x = x.float()
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + w.float())

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        h = self.norm(x, self.n1)
        q = self.q(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(b, s, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, s, self.kv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.heads // self.kv
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        ctx = (att.float().softmax(-1).to(v.dtype) @ v).transpose(1, 2).reshape(b, s, -1)
        x = x + self.o(ctx)
        f = self.norm(x, self.n2)
        ffn = self.down(F.gelu(self.gate(f), approximate="tanh") * self.up(f))
        a = self.a_out(F.silu(self.a_gate(f)) * self.a_in(f)) * F.relu(self.block_gate(f))
        return x + ffn + a, a


class GemmaModel(nn.Module):
    def __init__(self, cfg, hidden, seq):
        super().__init__()
        d, L = cfg["hidden_size"], cfg["num_hidden_layers"]
        heads, kv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        self.d = d
        self.emb = nn.Embedding(cfg["vocab_size"], d, dtype=torch.bfloat16)  # tied LM head
        self.blocks = nn.ModuleList(GemmaBlock(d, heads, kv, hd, cfg["intermediate_size"], hidden, L) for _ in range(L))
        self.norm_w = nn.Parameter(torch.zeros(d, dtype=torch.bfloat16))
        add_rope_and_mask(self, hd, seq)

    def forward(self, ids):
        x = self.emb(ids).float() * math.sqrt(self.d)
        outs = []
        for blk in self.blocks:
            x, a = blk(x, self.cos, self.sin, self.mask)
            outs.append(a)
        return F.linear(GemmaBlock.norm(x, self.norm_w), self.emb.weight), outs


def gemma_backbone_params(cfg):
    d, f, hd, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["head_dim"], cfg["num_hidden_layers"]
    attn = d * cfg["num_attention_heads"] * hd * 2 + d * cfg["num_key_value_heads"] * hd * 2
    return L * (attn + 3 * d * f + 2 * d) + cfg["vocab_size"] * d + d


def gemm_rates(n, reps=3):
    """This process's fp32 and bf16 matmul rates (GFLOP/s) at n x n x n."""
    out = {}
    for name, dt in (("fp32_gflops", torch.float32), ("bf16_gflops", torch.bfloat16)):
        a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
        a @ b
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        out[name] = 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=0, help="default: 688 for d=256, else round(8d/3)")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--adapter-hidden", type=int, default=0, help="default: 20%% capacity like nrgraph")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--gemma-config", default="", help="an HF GemmaForCausalLM config.json: frozen bf16 backbone of that "
                    "shape (random), fp32 adapters at 20%% capacity, AdamW, bf16 autocast (make bench-scale)")
    ap.add_argument("--gemma-layers", type=int, default=0, help="with --gemma-config: keep only this many blocks "
                    "(to measure how PyTorch's peak grows per block where the whole model is too slow)")
    ap.add_argument("--train-only", action="store_true", help="time the training step only")
    ap.add_argument("--bf16-autocast", action="store_true", help="frozen backbone stored in bf16, fp32 adapters "
                    "(master weights), forward under torch.autocast('cpu', dtype=torch.bfloat16): what a PyTorch user runs")
    ap.add_argument("--gemm", type=int, default=0, help="only print fp32 and bf16 GEMM GFLOP/s at this n (n x n x n)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.gemm:
        print(json.dumps(gemm_rates(args.gemm)))
        return
    torch.manual_seed(0)
    if args.gemma_config:
        with open(args.gemma_config) as f:
            cfg = json.load(f)
        P, L, d = gemma_backbone_params(cfg), cfg["num_hidden_layers"], cfg["hidden_size"]
        hidden = args.adapter_hidden or max(1, round((0.2 * P / L - d - 1) / (3 * d)))
        if args.gemma_layers:  # fewer blocks of the same shape (adapters sized for the full model)
            cfg["num_hidden_layers"] = args.gemma_layers
        model = GemmaModel(cfg, hidden, args.seq)
        V, args.d, args.layers = cfg["vocab_size"], d, L
    else:
        model = None
    if model is None:
        ffn = args.ffn or (688 if args.d == 256 else int(round(8 * args.d / 3 / 8)) * 8)
        d, L, V = args.d, args.layers, args.vocab
        backbone = L * (4 * d * d + 3 * d * ffn + 2 * d) + 2 * V * d + d
        hidden = args.adapter_hidden or max(1, round((0.2 * backbone / L - d - 1) / (3 * d)))
        model = Model(V, d, L, args.heads, ffn, hidden, args.seq)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.gemma_config) or args.bf16_autocast)
    trainable = []
    for name, p in model.named_parameters():
        p.requires_grad = name.split(".")[-2:-1] in (["a_in"], ["a_gate"], ["a_out"], ["block_gate"])
        if p.requires_grad:
            trainable.append(p)
        elif args.bf16_autocast:
            p.data = p.data.to(torch.bfloat16)
    opt = torch.optim.AdamW(trainable, lr=2e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    ids = torch.randint(0, V, (args.batch, args.seq))
    tgt = torch.randint(0, V, (args.batch, args.seq))
    domain = torch.zeros(args.batch)
    domain[0] = 1

    def step():
        with autocast:
            logits, outs = model(ids)
        lm = F.cross_entropy(logits.float().reshape(-1, V), tgt.reshape(-1))
        orig = domain[:, None].expand(args.batch, args.seq)
        local = sum((a.abs().mean(-1) * orig).sum() / orig.sum().clamp(min=1) for a in outs) / L
        loss = lm + 0.01 * local
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()

    def score():  # what nrgraph's score graph returns: target log-probs, is-greedy
        with torch.no_grad(), autocast:
            logits, _ = model(ids)
            logp = logits.float().log_softmax(-1)
            target = logp.gather(-1, tgt[..., None])
            return target, target >= logp.max(-1, keepdim=True).values

    tokens = args.batch * args.seq
    res = {"d": d, "layers": L, "threads": args.threads, "bf16_autocast": args.bf16_autocast, "batch": args.batch, "adapter_hidden": hidden, "torch": torch.__version__,
           "blas": torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0] if "BLAS_INFO=" in torch.__config__.show() else "?"}
    for name, fn in (("train", step), ("score", score)):
        if args.train_only and name == "score":
            continue
        if not args.gemma_config and not args.bf16_autocast:
            fn()  # warm up (at Gemma scale, and in bf16 on a CPU without it, each step counts)
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        res[name + "_tokens_per_s"] = tokens / statistics.median(times)  # as nrgraph-bench does
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


if __name__ == "__main__":
    main()
