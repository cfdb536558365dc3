#!/usr/bin/python3
# Independent values for tests/test_metrics_bench.c (METRICS.md 2-8), from the formulas of
# METRICS.md in plain Python 3 (standard library only: math, fractions); run with /usr/bin/python3.
# The C test embeds these numbers with a "python:" comment; make test never runs this script.
import math
from fractions import Fraction


def hmean(v):
    return 0.0 if any(x == 0 for x in v) else len(v) / sum(1 / x for x in v)


# METRICS.md 2: truth ratio example
ltr = 0.5 - sum([1.0, 1.5, 2.0, 1.2, 1.3]) / 5
tr = math.exp(ltr)
print("truth_ratio forget %.16g retain %.16g prob_mean %.16g" % (min(tr, 1 / tr), max(0, 1 - tr), 1 / (1 + tr)))
# prob_norm, item 0: nll_true 0.5, wrong {1.0, 2.0, 0.7}
p = [math.exp(-x) for x in (0.5, 1.0, 2.0, 0.7)]
print("prob_norm %.16g" % (p[0] / sum(p)))
# model utility of (0.9, 0.8, ..., 0.1) and retain utility H(0.5, 0.25, 1.0) = 3/7
print("model_utility %.16g" % hmean([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]))
print("retain_utility %s" % (3 / sum(1 / Fraction(x) for x in ("0.5", "0.25", "1"))))
# METRICS.md 3: privleak
print("privleak %.16g" % (((1 - 0.99) - (1 - 0.5228)) / ((1 - 0.5228) + 1e-10) * 100))
# METRICS.md 5: SemEval example, and without the Task3 knowledge cells
f = [0.2, 0.1, 0.3, 0.05, 0.4, 0.0]
r = [0.8, 0.6, 0.7, 0.5, 0.9, 0.4]
h = hmean([1 - v for v in f] + r)
print("task_aggregate %.16g final %.16g" % (h, (h + (1 - 2 * abs(0.62 - 0.5)) + 0.45) / 3))
print("task_aggregate_10 %.16g" % hmean([1 - v for v in f[:5]] + r[:5]))
