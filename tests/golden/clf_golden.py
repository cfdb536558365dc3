#!/usr/bin/python3
# Golden values for tests/test_classifier.c and tests/test_optim.c, computed by an independent
# PyTorch implementation (torch.nn.Linear/Conv2d, F.max_pool2d, F.layer_norm, autograd,
# torch.optim.AdamW/Adam/SGD, torch.nn.utils.clip_grad_norm_).
# Provenance: PyTorch 1.13.1 from Debian's python3-torch 1.13.1+dfsg-4 (torch.__version__ reports
# 1.13.0a0), CPU, float32, one thread, run with
#   /usr/bin/python3 tests/golden/clf_golden.py > tests/golden/clf_golden.txt
# Format: '#' comments; "section NAME"; "cfg KEY VALUE ..."; "KEY N V1 .. VN"; "end".
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20240611)
torch.set_num_threads(1)
out = sys.stdout


def emit(key, t):
    vals = t.detach().reshape(-1).tolist() if torch.is_tensor(t) else list(t)
    if vals and isinstance(vals[0], int):
        out.write("%s %d %s\n" % (key, len(vals), " ".join("%d" % v for v in vals)))
    else:
        out.write("%s %d %s\n" % (key, len(vals), " ".join("%.9g" % v for v in vals)))


def emit_cfg(**kw):
    out.write("cfg " + " ".join("%s %s" % (k, v) for k, v in kw.items()) + "\n")


class Trunk(nn.Module):
    """conv stages (conv, ReLU, 2x2 max-pool) then linear layers with ReLU between them"""

    def __init__(self, c, h, w, conv_ch, k, pad, fc, n_out):
        super().__init__()
        self.conv = nn.ModuleList()
        for oc in conv_ch:
            self.conv.append(nn.Conv2d(c, oc, k, stride=1, padding=pad))
            c = oc
            h = (h + 2 * pad - k + 1) // 2
            w = (w + 2 * pad - k + 1) // 2
        dims = [c * h * w] + list(fc) + [n_out]
        self.fc = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(len(dims) - 1))

    def forward(self, x):
        for conv in self.conv:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        x = x.flatten(1)
        for i, lin in enumerate(self.fc):
            x = lin(x)
            if i + 1 < len(self.fc):
                x = F.relu(x)
        return x


def emit_params(model, prefix=""):
    for name, p in model.named_parameters():
        emit("param " + prefix + name, p)


def emit_grads(model, prefix=""):
    for name, p in model.named_parameters():
        emit("grad " + prefix + name, p.grad)


def image_case(name, arch, B, c, h, w, conv_ch, k, pad, fc, K, scale_x=1.0):
    model = Trunk(c, h, w, conv_ch, k, pad, fc, K)
    x = torch.rand(B, c, h, w) * scale_x
    y = torch.randint(0, K, (B,))
    sw = torch.rand(B) * 2
    out.write("section %s\n" % name)
    emit_cfg(arch=arch, in_c=c, in_h=h, in_w=w, n_classes=K, n_conv=len(conv_ch),
             kernel=k, padding=pad, n_fc=len(fc))
    emit("conv_ch", list(conv_ch))
    emit("fc", list(fc))
    emit("B", [B])
    emit_params(model)
    emit("x", x)
    emit("labels", y.tolist())
    emit("weights", sw)
    logits = model(x)
    losses = F.cross_entropy(logits, y, reduction="none")
    loss = losses.mean()
    loss.backward()
    emit("logits", logits)
    emit("losses", losses)
    emit("loss", [loss.item()])
    emit("wloss", [(losses * sw).mean().item()])
    emit("probs", F.softmax(logits, 1))
    emit_grads(model)
    out.write("end\n")


def maxpool_case():
    # ties inside windows (values on a coarse grid) and an odd width: PyTorch routes the
    # gradient to the first maximum in row-major order
    x = (torch.randint(0, 3, (2, 2, 4, 5)).float() / 2).requires_grad_()
    y = F.max_pool2d(x, 2)
    dy = torch.randn(y.shape)
    y.backward(dy)
    out.write("section maxpool\n")
    emit("shape", [2, 2, 4, 5])
    emit("x", x)
    emit("y", y)
    emit("dy", dy)
    emit("dx", x.grad)
    out.write("end\n")


class Multimodal(nn.Module):
    def __init__(self, c, h, w, fc, E, V, pad_id, K):
        super().__init__()
        self.img = Trunk(c, h, w, [], 3, 1, fc, E)
        self.embed = nn.Parameter(torch.randn(V, E))
        self.gate = nn.Linear(2 * E, E)
        self.proj = nn.Linear(2 * E, E)
        self.ln = nn.LayerNorm(E, eps=1e-5)
        with torch.no_grad():  # a non-trivial LayerNorm
            self.ln.weight.copy_(1 + 0.3 * torch.randn(E))
            self.ln.bias.copy_(0.2 * torch.randn(E))
        self.head = nn.Linear(E, K)
        self.pad_id = pad_id

    def forward(self, x, tokens):
        i = self.img(x)
        mask = (tokens != self.pad_id).float()
        rows = self.embed[tokens.clamp(min=0)] * mask.unsqueeze(-1)
        t = rows.sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        g = torch.sigmoid(self.gate(torch.cat([i, t], 1)))
        a = self.proj(torch.cat([i, g * t], 1))
        r = i.norm(dim=1, keepdim=True) / (a.norm(dim=1, keepdim=True) + 1e-6)
        s = torch.minimum(r, torch.ones_like(r))
        J = self.ln(i + s * a)
        return i, t, J, s, self.head(J)


def multimodal_case():
    B, c, h, w, fc, E, V, pad, K, T = 4, 1, 4, 4, [10], 6, 9, 0, 3, 5
    model = Multimodal(c, h, w, fc, E, V, pad, K)
    x = torch.rand(B, c, h, w)
    x[1] *= 8.0  # a large image embedding: s < 1 for some samples, s = 1 for others
    tokens = torch.randint(1, V, (B, T))
    tokens[0, 3:] = pad
    tokens[2, :] = pad  # a report of padding only
    tokens[3, 1] = pad
    y = torch.randint(0, K, (B,))
    out.write("section multimodal\n")
    emit_cfg(arch=2, in_c=c, in_h=h, in_w=w, n_classes=K, n_conv=0, kernel=3, padding=1,
             n_fc=len(fc), embd=E, vocab=V, pad_id=pad)
    emit("conv_ch", [])
    emit("fc", fc)
    emit("B", [B])
    emit("T", [T])
    emit_params(model.img, "img.")
    emit("param txt.embed.weight", model.embed)
    emit("param fuse.gate.weight", model.gate.weight)
    emit("param fuse.gate.bias", model.gate.bias)
    emit("param fuse.proj.weight", model.proj.weight)
    emit("param fuse.proj.bias", model.proj.bias)
    emit("param fuse.ln.weight", model.ln.weight)
    emit("param fuse.ln.bias", model.ln.bias)
    emit("param head.weight", model.head.weight)
    emit("param head.bias", model.head.bias)
    emit("x", x)
    emit("tokens", tokens.reshape(-1).tolist())
    emit("labels", y.tolist())
    i, t, J, s, logits = model(x, tokens)
    print("# s per sample:", " ".join("%.4f" % v for v in s.reshape(-1).tolist()))
    losses = F.cross_entropy(logits, y, reduction="none")
    loss = losses.mean()
    # an embedding-distance term as Forget-MI's (gradient injected at i, t and J in the test)
    loss2 = loss + 0.5 * (i.pow(2).sum() + t.pow(2).sum() + (J * 0.3).sum()) / B
    loss2.backward()
    emit("emb_image", i)
    emit("emb_text", t)
    emit("emb_fused", J)
    emit("logits", logits)
    emit("loss", [loss.item()])
    emit_grads(model.img, "img.")
    emit("grad txt.embed.weight", model.embed.grad)
    emit("grad fuse.gate.weight", model.gate.weight.grad)
    emit("grad fuse.gate.bias", model.gate.bias.grad)
    emit("grad fuse.proj.weight", model.proj.weight.grad)
    emit("grad fuse.proj.bias", model.proj.bias.grad)
    emit("grad fuse.ln.weight", model.ln.weight.grad)
    emit("grad fuse.ln.bias", model.ln.bias.grad)
    emit("grad head.weight", model.head.weight.grad)
    emit("grad head.bias", model.head.bias.grad)
    out.write("end\n")


def optim_case(name, make_opt, steps, clip):
    """Parameters w (LINEAR, 3x4, decayed), b (BIAS, 4), n (NORM, 2), loss gradient
    g = c * (p - target) per element; clip > 0 clips the global norm before each step."""
    gen = torch.Generator().manual_seed(7)
    init = {k: torch.randn(n, generator=gen) for k, n in (("w", 12), ("b", 4), ("n", 2))}
    coef = {k: torch.rand(n, generator=gen) * 4 for k, n in (("w", 12), ("b", 4), ("n", 2))}
    target = {k: torch.randn(n, generator=gen) for k, n in (("w", 12), ("b", 4), ("n", 2))}
    params = {k: v.clone().requires_grad_() for k, v in init.items()}
    opt = make_opt(params)
    out.write("section %s\n" % name)
    for k in ("w", "b", "n"):
        emit("init " + k, init[k])
        emit("coef " + k, coef[k])
        emit("target " + k, target[k])
    norms = []
    for _ in range(steps):
        for k, p in params.items():
            p.grad = (p.detach() - target[k]) * coef[k]
        if clip > 0:
            norms.append(torch.nn.utils.clip_grad_norm_(list(params.values()), clip).item())
        opt.step()
    emit("steps", [steps])
    emit("clip", [clip])
    if norms:
        emit("norms", norms)
    for k in ("w", "b", "n"):
        emit("final " + k, params[k])
    out.write("end\n")


def groups(params, wd):
    return [{"params": [params["w"]], "weight_decay": wd},
            {"params": [params["b"], params["n"]], "weight_decay": 0.0}]


print("# Golden values for tests/test_classifier.c and tests/test_optim.c: written by")
print("# /usr/bin/python3 tests/golden/clf_golden.py (independent PyTorch implementation),")
print("# torch %s (Debian python3-torch 1.13.1+dfsg-4), CPU, float32" % torch.__version__)
image_case("mlp", 0, 3, 1, 3, 4, [], 3, 1, [8, 6], 4)
image_case("cnn_k3", 1, 2, 2, 9, 9, [3, 4], 3, 1, [5], 3)
image_case("cnn_k5", 1, 2, 1, 12, 12, [2], 5, 0, [], 3)
maxpool_case()
multimodal_case()
optim_case("adamw", lambda p: torch.optim.AdamW(groups(p, 0.1), lr=0.05), 6, 0.0)
optim_case("adamw_clip", lambda p: torch.optim.AdamW(groups(p, 0.01), lr=0.02, betas=(0.8, 0.99),
                                                     eps=1e-6), 5, 0.5)
optim_case("adam", lambda p: torch.optim.Adam(list(p.values()), lr=0.01), 6, 0.0)
optim_case("sgd_momentum", lambda p: torch.optim.SGD(groups(p, 0.01), lr=0.05, momentum=0.9),
           6, 0.0)
optim_case("sgd_nesterov", lambda p: torch.optim.SGD(groups(p, 0.0), lr=0.03, momentum=0.8,
                                                     nesterov=True), 5, 0.0)
optim_case("sgd_dampening", lambda p: torch.optim.SGD(groups(p, 0.0), lr=0.03, momentum=0.5,
                                                      dampening=0.3), 5, 1.0)
