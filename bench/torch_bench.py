#!/usr/bin/python3
"""PyTorch CPU peer of `lethe bench`: the same three models with the same math, timed the same way.

Run with Debian's python3-torch (1.13) and /usr/bin/python3, never by `make test`:
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_bench.py --config small --threads 2
Prints one JSON object with the fields of `lethe bench --json`:
    config, train_tokens_per_s, score_tokens_per_s, generate_tokens_per_s,
    train_flops_per_token, gflops, mfu, sgemm_peak_gflops, blas_kernel, threads
(samples instead of tokens for `mlp`: train_samples_per_s, ...). Settings are PyTorch's best on CPU: 2 threads, AdamW with
foreach=True, float32, no autograd during scoring and generation, a KV cache during generation.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

CONFIGS = {
    "small": dict(kind="gpt", n_layer=4, n_head=4, n_embd=256, n_ctx=256, vocab=8192, B=16, T=128),
    "gpt2": dict(kind="gpt", n_layer=12, n_head=12, n_embd=768, n_ctx=1024, vocab=50257, B=4, T=64),
    "mlp": dict(kind="mlp", widths=[784, 1024, 1024, 10], B=256),
}


class Block(torch.nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = torch.nn.LayerNorm(C, eps=1e-5)
        self.c_attn = torch.nn.Linear(C, 3 * C)
        self.c_proj = torch.nn.Linear(C, C)
        self.ln_2 = torch.nn.LayerNorm(C, eps=1e-5)
        self.c_fc = torch.nn.Linear(C, 4 * C)
        self.mlp_proj = torch.nn.Linear(4 * C, C)

    def attn(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.NH, C // self.NH).transpose(1, 2)
        k = k.view(B, T, self.NH, C // self.NH).transpose(1, 2)
        v = v.view(B, T, self.NH, C // self.NH).transpose(1, 2)
        if cache is not None:
            if cache.get("k") is not None:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        causal = cache is None or T > 1
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal) if hasattr(
            F, "scaled_dot_product_attention") else manual_attention(q, k, v, causal)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


def manual_attention(q, k, v, causal):
    att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
    if causal:
        T, S = q.size(-2), k.size(-2)
        mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
        att = att.masked_fill(~mask, float("-inf"))
    return F.softmax(att, dim=-1) @ v


class GPT(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = torch.nn.Embedding(c["vocab"], c["n_embd"])
        self.wpe = torch.nn.Embedding(c["n_ctx"], c["n_embd"])
        self.h = torch.nn.ModuleList([Block(c["n_embd"], c["n_head"]) for _ in range(c["n_layer"])])
        self.ln_f = torch.nn.LayerNorm(c["n_embd"], eps=1e-5)
        for p in self.parameters():
            torch.nn.init.normal_(p, std=0.02) if p.dim() > 1 else torch.nn.init.zeros_(p)

    def forward(self, idx, pos0=0, caches=None):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + T))
        for i, b in enumerate(self.h):
            x = b(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.t()


def gpt_flops_per_token(c):
    """6 x (parameters in matmuls, output projection included) + attention (12 L T C per token
    for forward+backward at sequence length T), the llm.c / PaLM convention."""
    L, C, V, T = c["n_layer"], c["n_embd"], c["vocab"], c["T"]
    n_matmul = L * 12 * C * C + V * C
    return 6 * n_matmul + 12 * L * T * C


def sgemm_peak(threads):
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(4):
            a @ b
        best = max(best, 4 * 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return best


def blas_kernel():
    """The OpenBLAS core in use (Debian's torch calls the system OpenBLAS), else torch's note."""
    try:
        import ctypes
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return "openblas " + lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        for line in torch.__config__.show().splitlines():
            if "BLAS_INFO" in line:
                return line.strip()
    return "unknown"


def timed(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def bench_gpt(c, reps):
    torch.manual_seed(0)
    m = GPT(c)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01, foreach=True)
    B, T = c["B"], c["T"]
    x = torch.randint(0, c["vocab"], (B, T))
    y = torch.randint(0, c["vocab"], (B, T))

    def train():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x).view(-1, c["vocab"]), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    def score():
        with torch.no_grad():
            F.log_softmax(m(x), dim=-1).gather(-1, y.unsqueeze(-1))

    n_new = 32
    prompt = x[:, : T // 2]

    def generate():
        with torch.no_grad():
            caches = [dict() for _ in m.h]
            logits = m(prompt, 0, caches)
            tok = logits[:, -1].argmax(-1, keepdim=True)
            for i in range(n_new - 1):
                logits = m(tok, prompt.size(1) + i, caches)
                tok = logits[:, -1].argmax(-1, keepdim=True)

    tt = timed(train, reps)
    ts = timed(score, reps)
    tg = timed(generate, max(1, reps // 2))
    return B * T / tt, B * T / ts, B * n_new / tg, gpt_flops_per_token(c)


def bench_mlp(c, reps):
    torch.manual_seed(0)
    w = c["widths"]
    layers = []
    for i in range(len(w) - 1):
        layers.append(torch.nn.Linear(w[i], w[i + 1]))
        if i < len(w) - 2:
            layers.append(torch.nn.ReLU())
    m = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01, foreach=True)
    B = c["B"]
    x = torch.rand(B, w[0])
    y = torch.randint(0, w[-1], (B,))

    def train():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        opt.step()

    def score():
        with torch.no_grad():
            F.log_softmax(m(x), dim=-1)

    tt = timed(train, reps * 5)
    ts = timed(score, reps * 5)
    flops = 6 * sum(w[i] * w[i + 1] for i in range(len(w) - 1))
    return B / tt, B / ts, 0.0, flops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", choices=sorted(CONFIGS), default="small")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    c = CONFIGS[a.config]
    peak = sgemm_peak(a.threads)
    if c["kind"] == "gpt":
        tr, sc, ge, fpt = bench_gpt(c, a.reps)
    else:
        tr, sc, ge, fpt = bench_mlp(c, a.reps)
    gflops = tr * fpt / 1e9
    kernel = blas_kernel()
    unit = "samples" if c["kind"] == "mlp" else "tokens"
    print(json.dumps({
        "config": a.config, "train_%s_per_s" % unit: tr, "score_%s_per_s" % unit: sc,
        "generate_%s_per_s" % unit: ge, "train_flops_per_token": fpt, "gflops": gflops,
        "mfu": gflops / peak if peak > 0 else 0.0, "sgemm_peak_gflops": peak,
        "blas_kernel": kernel, "threads": a.threads, "impl": "pytorch " + torch.__version__,
    }))


if __name__ == "__main__":
    main()
