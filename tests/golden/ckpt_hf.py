#!/usr/bin/python3
# Writes the Hugging Face-style GPT-2 checkpoints that tests/test_safetensors.c loads: an
# independent safetensors writer (the format by hand, json + numpy), run once with Debian's
# python3-torch 1.13.1 and python3-numpy 1.24.2 (`/usr/bin/python3 tests/golden/ckpt_hf.py`
# from the repo top); the outputs are checked in.
#   ckpt_hf_f16/model.safetensors   F16, "transformer." prefix, tied lm_head.weight, the
#                                   attn.bias (BOOL) and attn.masked_bias (F32 scalar) buffers
#   ckpt_hf_bf16/model.safetensors  BF16, no prefix, no lm_head, no buffers
#   */config.json                   as GPT2Config.to_json_file writes it
#   */expected.safetensors          F32 = torch's .float() of every stored tensor (no prefix)
# ln_f.bias holds special values (subnormals, extremes, -0, +-inf, NaN) to check the decoding.
import json
import os

import numpy as np
import torch

L, NH, C, NPOS, V = 2, 2, 8, 16, 32
top = os.path.dirname(os.path.abspath(__file__))


def params():
    g = torch.Generator().manual_seed(20240611)
    r = lambda *s: torch.randn(*s, generator=g) * 0.5
    sd = {"wte.weight": r(V, C), "wpe.weight": r(NPOS, C)}
    for i in range(L):
        p = f"h.{i}."
        sd[p + "ln_1.weight"] = 1 + r(C)
        sd[p + "ln_1.bias"] = r(C)
        sd[p + "attn.c_attn.weight"] = r(C, 3 * C)      # Conv1D: [in, out]
        sd[p + "attn.c_attn.bias"] = r(3 * C)
        sd[p + "attn.c_proj.weight"] = r(C, C)
        sd[p + "attn.c_proj.bias"] = r(C)
        sd[p + "ln_2.weight"] = 1 + r(C)
        sd[p + "ln_2.bias"] = r(C)
        sd[p + "mlp.c_fc.weight"] = r(C, 4 * C)
        sd[p + "mlp.c_fc.bias"] = r(4 * C)
        sd[p + "mlp.c_proj.weight"] = r(4 * C, C)
        sd[p + "mlp.c_proj.bias"] = r(C)
    sd["ln_f.weight"] = 1 + r(C)
    sd["ln_f.bias"] = r(C)
    return sd


def raw(t):
    """(dtype name, little-endian bytes) of a torch tensor."""
    if t.dtype == torch.float16:
        return "F16", t.numpy().astype("<f2").tobytes()
    if t.dtype == torch.bfloat16:
        return "BF16", t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float32:
        return "F32", t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.bool:
        return "BOOL", t.numpy().astype(np.uint8).tobytes()
    raise ValueError(t.dtype)


def write(path, tensors, metadata=None):
    """Data in dict order; header keys sorted (so header order != offset order)."""
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        dt, b = raw(t.contiguous())
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def config():
    return {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1, "bos_token_id": V - 1, "embd_pdrop": 0.1, "eos_token_id": V - 1,
        "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
        "n_ctx": NPOS, "n_embd": C, "n_head": NH, "n_inner": None, "n_layer": L,
        "n_positions": NPOS, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
        "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
        "summary_type": "cls_index", "summary_use_proj": True, "transformers_version": "4.30.2",
        "use_cache": True, "vocab_size": V,
    }


def emit(folder, dtype, special, prefix, lm_head, buffers):
    os.makedirs(os.path.join(top, folder), exist_ok=True)
    sd = {k: v.to(dtype) for k, v in params().items()}
    sd["ln_f.bias"] = torch.tensor(special, dtype=dtype)
    out = {}
    for k, v in sd.items():
        out[prefix + k] = v
        if buffers and k.endswith("attn.c_proj.bias"):
            i = k.split(".")[1]
            out[f"{prefix}h.{i}.attn.bias"] = torch.tril(torch.ones(NPOS, NPOS, dtype=torch.bool)).view(1, 1, NPOS, NPOS)
            out[f"{prefix}h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    if lm_head:
        out["lm_head.weight"] = sd["wte.weight"].clone()
    write(os.path.join(top, folder, "model.safetensors"), out, {"format": "pt"})
    write(os.path.join(top, folder, "expected.safetensors"), {k: v.float() for k, v in sd.items()})
    with open(os.path.join(top, folder, "config.json"), "w") as f:
        json.dump(config(), f, indent=2, sort_keys=True)
        f.write("\n")


inf, nan = float("inf"), float("nan")
emit("ckpt_hf_f16", torch.float16,
     [2.0**-24, 1023 * 2.0**-24, 2.0**-14, 65504.0, -0.0, inf, -inf, nan],
     "transformer.", True, True)
emit("ckpt_hf_bf16", torch.bfloat16,
     [2.0**-133, 2.0**-126, 3.3895313892515355e38, -0.0, inf, -inf, nan, -1.5],
     "", False, False)
