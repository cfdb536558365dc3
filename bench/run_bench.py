#!/usr/bin/python3
"""make bench: runs `lethe bench` and the PyTorch peer (bench/torch_bench.py) alternately, several
rounds per configuration, and prints both sides' medians and their ratio (Lethe / PyTorch).

    /usr/bin/python3 bench/run_bench.py [--lethe build/lethe] [--rounds 3] [--configs small,gpt2,mlp]

For the benchmark alone, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset on both sides (never in
tests or CI), and each side prints the OpenBLAS kernel it then uses. Without python3-torch only
Lethe's numbers are printed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

FIELDS = [("train", "train_%s_per_s"), ("score", "score_%s_per_s"), ("generate", "generate_%s_per_s"),
          ("mfu", "mfu")]


def run(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lethe", default="build/lethe")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--configs", default="small,gpt2,mlp")
    a = ap.parse_args()
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch  # noqa: F401  (only to know whether the peer can run)
        have_torch = True
    except ImportError:
        have_torch = False
        print("python3-torch is not installed: Lethe's numbers only "
              "(apt-get install python3-torch to compare)")
    here = os.path.dirname(os.path.abspath(__file__))
    for cfg in a.configs.split(","):
        unit = "samples" if cfg == "mlp" else "tokens"
        res = {"lethe": [], "pytorch": []}
        for _ in range(a.rounds):
            res["lethe"].append(run([a.lethe, "bench", "--config", cfg, "--json"], env))
            if have_torch:
                res["pytorch"].append(run([sys.executable, os.path.join(here, "torch_bench.py"),
                                           "--config", cfg, "--threads", "2"], env))
        print("%s (%s/s, medians of %d rounds)" % (cfg, unit, a.rounds))
        print("  %-9s %12s %12s %12s %8s   %s" % ("", "train", "score", "generate", "MFU", "kernel"))
        med = {}
        for side, rows in res.items():
            if not rows:
                continue
            med[side] = {k: statistics.median(r[f % unit if "%" in f else f] for r in rows)
                         for k, f in FIELDS}
            m = med[side]
            print("  %-9s %12.1f %12.1f %12.1f %7.1f%%   %s, %d threads, sgemm peak %.0f GFLOP/s" % (
                side, m["train"], m["score"], m["generate"], 100 * m["mfu"], rows[-1]["blas_kernel"],
                rows[-1]["threads"], statistics.median(r["sgemm_peak_gflops"] for r in rows)))
        if "pytorch" in med:
            r = {k: (med["lethe"][k] / med["pytorch"][k] if med["pytorch"][k] else float("nan"))
                 for k, _ in FIELDS}
            print("  %-9s %11.2fx %11.2fx %11.2fx" % ("ratio", r["train"], r["score"], r["generate"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
