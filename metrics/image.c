/* Classifier metrics (METRICS.md 7): the average gap to the retain oracle (SalUn, arXiv
 * 2310.12508), the logit distance to the oracle and the per-split set of Forget-MI (arXiv
 * 2506.23145). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/base.h"
#include "metrics/metrics.h"

int metric_avg_gap(const double u[METRIC_GAP_COUNT], const double oracle[METRIC_GAP_COUNT], double *gap,
                   struct lethe_error *err)
{
    static const char *const names[METRIC_GAP_COUNT] = {"forget accuracy", "retain accuracy",
                                                        "test accuracy", "mia member rate"};
    double s = 0;
    for (int i = 0; i < METRIC_GAP_COUNT; i++) {
        if (!(u[i] >= 0 && u[i] <= 1))
            return lethe_err(err, LETHE_EINPUT, "avg_gap: %s %g is not in [0, 1]", names[i], u[i]);
        if (!(oracle[i] >= 0 && oracle[i] <= 1))
            return lethe_err(err, LETHE_EINPUT, "avg_gap: oracle's %s %g is not in [0, 1]", names[i],
                             oracle[i]);
        s += fabs(u[i] - oracle[i]);
    }
    *gap = s / METRIC_GAP_COUNT;
    return 0;
}

static int check_logits(const float *z, size_t n, size_t c, const char *what, struct lethe_error *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++)
            if (!isfinite(z[i * c + j]))
                return lethe_err(err, LETHE_EINPUT, "%s: logit %zu of row %zu is not finite (%g)", what, j,
                                 i, (double)z[i * c + j]);
    return 0;
}

static int check_shape(size_t n, size_t c, const char *what, struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "%s: no rows", what);
    if (c == 0 || n > SIZE_MAX / c)
        return lethe_err(err, LETHE_EINPUT, "%s: bad number of classes %zu", what, c);
    return 0;
}

int metric_dist_to_oracle(const float *logits_u, const float *logits_o, size_t n, size_t c, double *dist,
                          struct lethe_error *err)
{
    int rc;
    if ((rc = check_shape(n, c, "dist_to_oracle", err)) < 0 ||
        (rc = check_logits(logits_u, n, c, "dist_to_oracle", err)) < 0 ||
        (rc = check_logits(logits_o, n, c, "dist_to_oracle (oracle)", err)) < 0)
        return rc;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *a = logits_u + i * c, *b = logits_o + i * c;
        double dot = 0, na = 0, nb = 0;
        for (size_t j = 0; j < c; j++) {
            dot += (double)a[j] * b[j];
            na += (double)a[j] * a[j];
            nb += (double)b[j] * b[j];
        }
        double cosv = na > 0 && nb > 0 ? dot / (sqrt(na) * sqrt(nb)) : 0;
        total += fmax(-1.0, fmin(1.0, cosv));
    }
    *dist = 1 - total / (double)n;
    return 0;
}

int metric_clf_split(const float *logits, const int *labels, size_t n, size_t c, int *pred,
                     struct metric_clf_scores *out, struct lethe_error *err)
{
    int rc;
    if ((rc = check_shape(n, c, "classifier metrics", err)) < 0 ||
        (rc = check_logits(logits, n, c, "classifier metrics", err)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= c)
            return lethe_err(err, LETHE_EINPUT, "classifier metrics: label %d of row %zu is not a class",
                             labels[i], i);
    int *p = pred ? pred : xmalloc(n * sizeof *p);
    double *prob = xmalloc(n * c * sizeof *prob);
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * c;
        double *q = prob + i * c;
        p[i] = (int)metric_argmax_f(z, c);
        double mx = z[p[i]], s = 0;
        for (size_t j = 0; j < c; j++)
            s += q[j] = exp((double)z[j] - mx);
        for (size_t j = 0; j < c; j++)
            q[j] /= s;
    }
    struct metric_clf_scores r;
    if ((rc = metric_accuracy(labels, p, n, &r.acc, err)) == 0 &&
        (rc = metric_macro_f1(labels, p, n, &r.macro_f1, err)) == 0 &&
        (rc = metric_macro_auc_ovr(prob, n, c, labels, &r.macro_auc, err)) == 0)
        *out = r;
    free(prob);
    if (!pred)
        free(p);
    return rc;
}
