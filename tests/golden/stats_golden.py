#!/usr/bin/python3
# Golden values for tests/test_metrics_stats.c (metrics/ks.c, auc.c, classify.c, bootstrap.c),
# computed by the reference implementations METRICS.md names.
# Provenance: Debian bookworm python3-scipy 1.10.1-2 (scipy.stats.ks_2samp, kstwobign),
# python3-sklearn 1.2.1+dfsg-1 (roc_auc_score, roc_curve, f1_score, accuracy_score),
# python3-numpy 1.24.2 (numpy.percentile, linear), run with
#   /usr/bin/python3 tests/golden/stats_golden.py > tests/golden/stats_golden.txt
# The bootstrap cases use an independent Python transcription of METRICS.md 1.7 (xoshiro256**
# from Vigna's reference C, splitmix64, FNV-1a 64) with numpy's percentile.
# Format, one case per line, '#' comments:
#   ks N1 N2 METHOD D P LOG10P  a1..aN1  b1..bN2      (METHOD exact: ks_2samp(method='exact');
#                                                      asymp: kstwobign.sf(D sqrt(n1 n2/(n1+n2))))
#   kolm LAMBDA SF                                     (kstwobign.sf)
#   auc NP NN AUC  p1..pNP  n1..nNN                    (roc_auc_score, members labelled 1)
#   roc NP NN NPTS  p.. n..  fpr.. tpr.. thr..         (roc_curve, drop_intermediate=False;
#                                                      the first threshold is written as inf)
#   f1 N ACC F1  t1..tN  p1..pN                        (accuracy_score, f1_score(average='macro'))
#   mauc N C AUC  y1..yN  probs (row-major)            (mean of roc_auc_score over classes with
#                                                      both positives and negatives)
#   boot NAME SEED B N LOW HIGH  v1..vN                (percentile CI of the mean)
#   bootauc NAME SEED B NP NN LOW HIGH  p.. n..        (stratified, positives first)
import sys
import warnings

import numpy as np
import scipy
import sklearn
from scipy.stats import ks_2samp, kstwobign
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve

warnings.simplefilter("ignore")
out = sys.stdout
rng = np.random.default_rng(20240612)
out.write("# scipy %s, sklearn %s, numpy %s\n" % (scipy.__version__, sklearn.__version__, np.__version__))


def f(x):
    return "%.17g" % x


def vals(v):
    return " ".join(f(x) for x in v)


def short(v):  # sample values: the shortest text that reads back to the same double
    return " ".join(repr(float(x)) for x in v)


def ints(v):
    return " ".join("%d" % x for x in v)


def sample(n, kind):
    if kind == "normal":
        return np.round(rng.normal(0, 1, n), 5)
    if kind == "ties":  # few distinct values, ties within and across samples
        return rng.integers(0, 6, n).astype(float)
    if kind == "round":
        return np.round(rng.normal(0, 1, n), 1)
    return np.round(rng.exponential(1, n), 5)


# ---- KS exact ----
cases = []
for n1, n2 in [(1, 1), (1, 5), (3, 5), (5, 3), (7, 7), (10, 13), (20, 20), (25, 40), (50, 37),
               (64, 64), (100, 150), (200, 30), (333, 77), (400, 400), (500, 499), (1000, 900)]:
    for kind in (["normal", "ties", "round"] if n1 < 1000 else ["ties", "exp"]):
        a = sample(n1, kind)
        b = sample(n2, kind) + (0.4 if kind == "normal" else 0)
        cases.append((a, b))
cases.append((np.arange(400.0), np.arange(400.0) + 400))
cases.append((np.arange(300.0), np.arange(200.0) + 300))
cases.append((np.round(rng.normal(0, 1, 60), 5), np.round(rng.normal(3, 1, 60), 5)))
cases.append((np.ones(10), np.ones(12)))
for a, b in cases:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy falls back to 'asymp' with a warning: keep exact only
        try:
            r = ks_2samp(a, b, method="exact")
        except RuntimeWarning:
            out.write("# ks %d vs %d: scipy's exact mode fell back, case skipped\n" % (len(a), len(b)))
            continue
    p = r.pvalue
    # the log10 from scipy's p; where scipy's p underflows or is 0 the test uses the spec values
    lp = np.log10(p) if p > 0 else float("nan")
    out.write("ks %d %d exact %s %s %s %s %s\n" % (len(a), len(b), f(r.statistic), f(p), f(lp), short(a), short(b)))

# ---- KS asymptotic: kstwobign.sf(lambda) (not ks_2samp's 'asymp', see METRICS.md 1.4) ----
for n1, n2, shift in [(50, 60, 0.2), (300, 200, 0.1), (1000, 1000, 0.05), (40, 40, 0.0)]:
    a = np.round(rng.normal(0, 1, n1), 5)
    b = np.round(rng.normal(shift, 1, n2), 5)
    d = ks_2samp(a, b, method="exact").statistic
    lam = d * np.sqrt(n1 * n2 / (n1 + n2))
    p = kstwobign.sf(lam)
    out.write("ks %d %d asymp %s %s %s %s %s\n" % (n1, n2, f(d), f(p), f(np.log10(p)), short(a), short(b)))
# grids a_i = i/N1 (i < N1), b_j = j/N2 + OFF (j < N2), rebuilt in C: sizes above the exact limit
#   ksgrid N1 N2 OFF METHOD D P LOG10P  (ks_2samp(method='auto') statistic; p of ks_2samp exact when
#                                         max(N1, N2) <= 10000, else kstwobign.sf)
for n1, n2, off in [(12000, 300, 0.1), (10001, 10001, 0.02), (20000, 20000, 0.02), (10000, 9000, 0.01)]:
    a = np.arange(n1) / n1
    b = np.arange(n2) / n2 + off
    d = ks_2samp(a, b).statistic
    lam = d * np.sqrt(n1 * n2 / (n1 + n2))
    exact = max(n1, n2) <= 10000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = ks_2samp(a, b, method="exact").pvalue if exact else kstwobign.sf(lam)
    out.write("ksgrid %d %d %s %s %s %s %s\n" % (n1, n2, f(off), "exact" if exact else "asymp", f(d), f(p),
                                               f(np.log10(p))))
for lam in [0.05, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0, 1.01, 1.2, 1.36, 1.5, 2.0, 3.0, 5.0, 8.0]:
    out.write("kolm %s %s\n" % (f(lam), f(kstwobign.sf(lam))))

# ---- AUC and ROC curve ----
auc_cases = []
for t in range(36):
    np_, nn_ = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    kind = ["normal", "ties", "round"][t % 3]
    pos = sample(np_, kind) + rng.uniform(0, 1)
    neg = sample(nn_, kind)
    auc_cases.append((pos, neg))
auc_cases.append((np.array([0.5, 0.5]), np.array([0.5, 0.5, 0.5])))  # all equal
auc_cases.append((np.array([2.0]), np.array([1.0])))                   # single items
for pos, neg in auc_cases:
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    s = np.r_[pos, neg]
    out.write("auc %d %d %s %s %s\n" % (len(pos), len(neg), f(roc_auc_score(y, s)), vals(pos), vals(neg)))
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    thr = np.array(thr, dtype=float)
    thr[0] = np.inf  # sklearn 1.2 writes max+1 for the (0,0) point; Lethe writes +inf
    out.write("roc %d %d %d %s %s %s %s %s\n" % (len(pos), len(neg), len(fpr), vals(pos), vals(neg),
                                                 vals(fpr), vals(tpr), vals(thr)))

# ---- accuracy and macro-F1 ----
for t in range(36):
    n = int(rng.integers(1, 50))
    k = int(rng.integers(1, 7))
    yt = rng.integers(0, k, n)
    yp = np.where(rng.uniform(size=n) < 0.6, yt, rng.integers(0, k + 1, n))
    if t % 6 == 0:
        yt = np.full(n, 3)  # one-class forget set (METRICS.md 7 pitfall)
    if t % 9 == 1:
        yt = yt - 2         # negative labels
        yp = yp - 2
    out.write("f1 %d %s %s %s %s\n" % (n, f(accuracy_score(yt, yp)), f(f1_score(yt, yp, average="macro")),
                                       ints(yt), ints(yp)))

# ---- one-vs-rest macro AUC ----
for t in range(32):
    n = int(rng.integers(2, 40))
    c = int(rng.integers(2, 6))
    y = rng.integers(0, c, n)
    logits = rng.normal(0, 1, (n, c)) + 1.5 * np.eye(c)[y] * rng.uniform()
    if t % 4 == 0:
        logits = np.round(logits, 0)  # ties
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    aucs = [roc_auc_score(y == k, p[:, k]) for k in range(c) if 0 < (y == k).sum() < n]
    a = np.mean(aucs) if aucs else float("nan")
    out.write("mauc %d %d %s %s %s\n" % (n, c, f(a), ints(y), vals(p.reshape(-1))))


# ---- bootstrap: METRICS.md 1.7 transcribed ----
M64 = (1 << 64) - 1


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for ch in s.encode():
        h = ((h ^ ch) * 0x100000001b3) & M64
    return h


class Rng:
    def __init__(self, seed):
        x = seed
        self.s = []
        for _ in range(4):
            x = (x + 0x9e3779b97f4a7c15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
            z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        r = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return r

    def index(self, n):
        return int(((self.next() >> 11) * 2.0 ** -53) * n)


for name, seed, B, n in [("tofu.forget.rouge_l_recall", 0, 1000, 25), ("muse.knowmem", 7, 200, 9),
                         ("x", 123456789, 1000, 1), ("image.test.acc", 0, 50, 40)]:
    v = np.round(rng.uniform(0, 1, n), 3)
    r = Rng(seed ^ fnv1a64(name))
    st = [np.mean([v[r.index(n)] for _ in range(n)]) for _ in range(B)]
    lo, hi = np.percentile(st, [2.5, 97.5])
    out.write("boot %s %d %d %d %s %s %s\n" % (name, seed, B, n, f(lo), f(hi), vals(v)))
for name, seed, B, np_, nn_ in [("tofu.mia.loss.auc", 0, 300, 12, 15), ("muse.mia.min_k.auc", 42, 100, 5, 30)]:
    pos = np.round(rng.normal(0.5, 1, np_), 1)
    neg = np.round(rng.normal(0, 1, nn_), 1)
    r = Rng(seed ^ fnv1a64(name))
    st = []
    for _ in range(B):
        bp = [pos[r.index(np_)] for _ in range(np_)]
        bn = [neg[r.index(nn_)] for _ in range(nn_)]
        st.append(roc_auc_score(np.r_[np.ones(np_), np.zeros(nn_)], np.r_[bp, bn]))
    lo, hi = np.percentile(st, [2.5, 97.5])
    out.write("bootauc %s %d %d %d %d %s %s %s %s\n" % (name, seed, B, np_, nn_, f(lo), f(hi), vals(pos), vals(neg)))
