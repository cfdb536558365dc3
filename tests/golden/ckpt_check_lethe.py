#!/usr/bin/python3
# Checks that a Lethe GPT-2 checkpoint is what Hugging Face's GPT2LMHeadModel.from_pretrained
# expects of a model.safetensors, with an independent reader (json + numpy, no safetensors
# package): header length and padding, "format": "pt" in __metadata__ (transformers refuses a
# file without it), every GPT2Model state-dict key without the "transformer." prefix (which
# from_pretrained adds; lm_head.weight is tied and may be absent), Conv1D weights [in, out],
# F32 data tiling the data section. Then it loads the weights into torch tensors and prints a
# checksum. Not run by `make test`; run by hand with Debian's python3-torch:
#   /usr/bin/python3 tests/golden/ckpt_check_lethe.py m.safetensors
import json
import sys

import numpy as np
import torch


def main(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0 and 8 + n <= len(raw), "header length"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__")
    assert meta["format"] == "pt", "transformers needs format=pt"
    L, C, T, V = (int(meta["lethe." + k]) for k in ("n_layer", "n_embd", "n_ctx", "vocab"))
    want = {"wte.weight": [V, C], "wpe.weight": [T, C], "ln_f.weight": [C], "ln_f.bias": [C]}
    for i in range(L):
        p = f"h.{i}."
        want.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C], p + "ln_2.weight": [C],
                     p + "ln_2.bias": [C], p + "attn.c_attn.weight": [C, 3 * C],
                     p + "attn.c_attn.bias": [3 * C], p + "attn.c_proj.weight": [C, C],
                     p + "attn.c_proj.bias": [C], p + "mlp.c_fc.weight": [C, 4 * C],
                     p + "mlp.c_fc.bias": [4 * C], p + "mlp.c_proj.weight": [4 * C, C],
                     p + "mlp.c_proj.bias": [C]})
    assert set(header) == set(want), set(header) ^ set(want)
    data = raw[8 + n:]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1]) for v in header.values())
    at = 0
    for b, e in spans:
        assert b == at, "hole or overlap"
        at = e
    assert at == len(data), "data section not covered"
    total = 0.0
    for name, v in header.items():
        assert v["dtype"] == "F32" and v["shape"] == want[name], name
        b, e = v["data_offsets"]
        t = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").reshape(v["shape"]).copy())
        total += float(t.double().sum())
    print(f"ok: {len(header)} tensors, GPT-2 L={L} C={C} n_ctx={T} V={V}, sum {total:.9g}")


main(sys.argv[1])
