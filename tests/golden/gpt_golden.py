#!/usr/bin/python3
# Golden values for tests/test_gpt.c: a tiny GPT-2 (2 layers, 2 heads, 16 wide, n_ctx 32,
# vocabulary 64) with fixed random weights, and the per-token log-probabilities, losses and
# gradients that an independent PyTorch implementation computes for three token sequences.
# The model below is written from the GPT-2 paper / Hugging Face GPT2Model math with torch
# built-ins (F.layer_norm, F.gelu(approximate="tanh"), torch.softmax, F.log_softmax, autograd),
# in float64, and shares no code with Lethe.
# Provenance: PyTorch 1.13.1 from Debian's python3-torch 1.13.1+dfsg-4 (torch.__version__
# reports 1.13.0a0), CPU, one thread, run from the repository top with
#   /usr/bin/python3 tests/golden/gpt_golden.py
# It writes
#   tests/golden/gpt_golden.bin          the weights: float32 little-endian, tensors in
#                                        gpt_params_layout order (wte, wpe, h.0.ln_1.weight,
#                                        ..., ln_f.bias), Hugging Face layouts, no header
#   tests/golden/gpt_golden.safetensors  the same weights as safetensors (names without the
#                                        "transformer." prefix, F32), written by hand below
#   tests/golden/gpt_golden.txt          the expected values (format in its header)
import json
import math
import struct

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
L, NH, C, NCTX, V, EPS = 2, 2, 16, 32, 64, 1e-5
HS = C // NH
gen = torch.Generator().manual_seed(20240611)


def layout():
    """(name, shape) in Lethe's gpt_params_layout order (Hugging Face names and layouts)."""
    t = [("wte.weight", (V, C)), ("wpe.weight", (NCTX, C))]
    for i in range(L):
        p = "h.%d." % i
        t += [(p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
              (p + "attn.c_attn.weight", (C, 3 * C)), (p + "attn.c_attn.bias", (3 * C,)),
              (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
              (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
              (p + "mlp.c_fc.weight", (C, 4 * C)), (p + "mlp.c_fc.bias", (4 * C,)),
              (p + "mlp.c_proj.weight", (4 * C, C)), (p + "mlp.c_proj.bias", (C,))]
    t += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    return t


# Weights larger than GPT-2's 0.02 init so that attention and GELU are far from linear.
params = {}
for name, shape in layout():
    if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
        w = 1.0 + 0.2 * torch.randn(shape, generator=gen)
    elif name.endswith(".bias"):
        w = 0.1 * torch.randn(shape, generator=gen)
    elif name.startswith("wte") or name.startswith("wpe"):
        w = 0.5 * torch.randn(shape, generator=gen)
    else:
        w = 0.3 * torch.randn(shape, generator=gen)
    # the float32 values are the model; compute in float64 from them exactly
    params[name] = w.float().double().requires_grad_(True)


def forward(p, idx):
    """Logits (T, V) of one sequence of token ids."""
    T = idx.shape[0]
    x = p["wte.weight"][idx] + p["wpe.weight"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(L):
        g = lambda n: p["h.%d.%s" % (i, n)]
        h = F.layer_norm(x, (C,), g("ln_1.weight"), g("ln_1.bias"), EPS)
        qkv = h @ g("attn.c_attn.weight") + g("attn.c_attn.bias")   # Conv1D: x @ W[in, out]
        q, k, v = qkv.split(C, dim=1)
        q = q.view(T, NH, HS).transpose(0, 1)
        k = k.view(T, NH, HS).transpose(0, 1)
        v = v.view(T, NH, HS).transpose(0, 1)
        att = (q @ k.transpose(1, 2)) / math.sqrt(HS)
        att = att.masked_fill(~mask, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ g("attn.c_proj.weight") + g("attn.c_proj.bias")
        h = F.layer_norm(x, (C,), g("ln_2.weight"), g("ln_2.bias"), EPS)
        h = F.gelu(h @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias"), approximate="tanh")
        x = x + h @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias")
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], EPS)
    return x @ p["wte.weight"].t()                                  # tied output


def token_logprobs(p, idx):
    """lp[t] = log_softmax(logits[t])[idx[t + 1]], t = 0 .. T-2."""
    lp = F.log_softmax(forward(p, idx), dim=-1)
    return lp[torch.arange(idx.shape[0] - 1), idx[1:]]


seqs = [
    [63] + [int(v) for v in torch.randint(0, V, (19,), generator=gen)],   # 20 tokens
    [63] + [int(v) for v in torch.randint(0, V, (31,), generator=gen)],   # 32 = n_ctx
    [63, 5, 5, 5, 17, 0, 62],                                              # 7 tokens
]
# answer-only mask for the masked loss: sequence 0 scores its positions 12.. only
masks = [[1 if t >= 12 else 0 for t in range(len(seqs[0]) - 1)],
         [1] * (len(seqs[1]) - 1),
         [1] * (len(seqs[2]) - 1)]

lines = ["# Expected values for tests/test_gpt.c, written by tests/golden/gpt_golden.py (see its",
         "# header for provenance). Lines: 'cfg L NH C NCTX V EPS'; 'seq I N ids...';",
         "# 'lp I N values...' (lp[t] = log p(ids[t+1] | ids[..t])); 'mask I N 0/1...';",
         "# 'loss MEAN' (token mean of -lp over the masked positions of all sequences);",
         "# 'grad NAME NORM K i0 g0 i1 g1 ...' (gradient of that loss: its L2 norm and K entries).",
         "cfg %d %d %d %d %d %g" % (L, NH, C, NCTX, V, EPS)]
total, count = 0.0, 0
for i, s in enumerate(seqs):
    idx = torch.tensor(s)
    lp = token_logprobs(params, idx)
    lines.append("seq %d %d %s" % (i, len(s), " ".join(str(v) for v in s)))
    lines.append("lp %d %d %s" % (i, len(s) - 1, " ".join("%.10g" % v for v in lp.tolist())))
    lines.append("mask %d %d %s" % (i, len(s) - 1, " ".join(str(v) for v in masks[i])))
    m = torch.tensor(masks[i], dtype=torch.float64)
    total = total + (-(lp * m)).sum()
    count += int(m.sum())
loss = total / count
loss.backward()
lines.append("loss %.12g" % loss.item())
for name, shape in layout():
    g = params[name].grad.reshape(-1)
    n = g.numel()
    picks = sorted(set([0, 1, n // 3, n // 2, n - 2, n - 1]))
    lines.append("grad %s %.10g %d %s" % (name, g.norm().item(), len(picks),
                                          " ".join("%d %.10g" % (k, g[k].item()) for k in picks)))

with open("tests/golden/gpt_golden.txt", "w") as f:
    f.write("\n".join(lines) + "\n")

raw = b"".join(params[name].detach().float().numpy().astype("<f4").tobytes()
               for name, _ in layout())
with open("tests/golden/gpt_golden.bin", "wb") as f:
    f.write(raw)

# safetensors by hand: u64 LE header length, JSON header (dtype, shape, data_offsets relative
# to the data section), then the raw little-endian data; header padded with spaces to 8 bytes.
header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
for name, shape in layout():
    b = params[name].detach().float().numpy().astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(b)]}
    offset += len(b)
    blobs.append(b)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open("tests/golden/gpt_golden.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print("loss %.9g; wrote tests/golden/gpt_golden.{txt,bin,safetensors}" % loss.item())
