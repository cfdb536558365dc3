/* Percentile bootstrap confidence intervals (METRICS.md 1.7) and their PRNG, base/rng.c's
 * xoshiro256** seeded through splitmix64. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

void metric_rng_seed(struct metric_rng *r, uint64_t seed)
{
    xoshiro256_seed(r->s, seed);
}

uint64_t metric_rng_next(struct metric_rng *r)
{
    return xoshiro256_next(r->s);
}

size_t metric_rng_index(struct metric_rng *r, size_t n)
{
    double u = (double)(metric_rng_next(r) >> 11) * 0x1.0p-53;
    size_t i = (size_t)(u * (double)n);
    return i < n ? i : n - 1;   /* u n rounds up to n only for n > 2^53 */
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Quantile q of sorted v[0..n-1], linear interpolation at position (n-1) q (numpy's default). */
static double quantile_sorted(const double *v, size_t n, double q)
{
    double pos = (double)(n - 1) * q;
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return v[n - 1];
    double f = pos - (double)lo;
    return v[lo] + f * (v[lo + 1] - v[lo]);
}

/* Sorts the defined values of stats[0..b-1] (NANs dropped) and fills the interval. */
static void ci_finish(double *stats, size_t b, struct metric_ci *ci)
{
    size_t m = 0;
    for (size_t i = 0; i < b; i++)
        if (!isnan(stats[i]))
            stats[m++] = stats[i];
    ci->resamples = m;
    if (m == 0) {
        ci->low = ci->high = NAN;
        return;
    }
    qsort(stats, m, sizeof(*stats), cmp_double);
    ci->low = quantile_sorted(stats, m, 0.025);
    ci->high = quantile_sorted(stats, m, 0.975);
}

static void rng_for(struct metric_rng *r, const char *name, uint64_t seed)
{
    metric_rng_seed(r, seed ^ fnv1a64(name ? name : ""));
}

int metric_bootstrap_items(size_t n, metric_item_stat_fn stat, void *ctx, const char *name, uint64_t seed,
                           size_t resamples, struct metric_ci *ci, struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "bootstrap '%s': no items", name ? name : "");
    size_t b = resamples ? resamples : METRIC_BOOT_RESAMPLES;
    size_t *idx = xmalloc(n * sizeof(*idx));
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    int rc = stat(idx, n, ctx, &ci->estimate, err);
    double *stats = rc < 0 ? NULL : xmalloc(b * sizeof(*stats));
    struct metric_rng r;
    rng_for(&r, name, seed);
    for (size_t k = 0; k < b && rc == 0; k++) {
        for (size_t i = 0; i < n; i++)
            idx[i] = metric_rng_index(&r, n);
        rc = stat(idx, n, ctx, &stats[k], err);
    }
    if (rc == 0)
        ci_finish(stats, b, ci);
    free(idx);
    free(stats);
    return rc;
}

/* ---- item statistics over index lists ---- */

struct vec_ctx {
    const double *v;
    double *buf;
};

static int stat_mean(const size_t *idx, size_t n, void *ctx, double *out, struct lethe_error *err)
{
    const struct vec_ctx *c = ctx;
    (void)err;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += c->v[idx[i]];
    *out = s / (double)n;
    return 0;
}

int metric_bootstrap_mean(const double *v, size_t n, const char *name, uint64_t seed, size_t resamples,
                          struct metric_ci *ci, struct lethe_error *err)
{
    int rc = metric_check_finite(v, n, "bootstrap mean", err);
    if (rc < 0)
        return rc;
    struct vec_ctx c = {v, NULL};
    return metric_bootstrap_items(n, stat_mean, &c, name, seed, resamples, ci, err);
}

struct label_ctx {
    const int *y_true, *y_pred;
    int *bt, *bp;
    int (*fn)(const int *, const int *, size_t, double *, struct lethe_error *);
};

static int stat_labels(const size_t *idx, size_t n, void *ctx, double *out, struct lethe_error *err)
{
    struct label_ctx *c = ctx;
    for (size_t i = 0; i < n; i++) {
        c->bt[i] = c->y_true[idx[i]];
        c->bp[i] = c->y_pred[idx[i]];
    }
    return c->fn(c->bt, c->bp, n, out, err);
}

static int boot_labels(const int *y_true, const int *y_pred, size_t n,
                       int (*fn)(const int *, const int *, size_t, double *, struct lethe_error *),
                       const char *name, uint64_t seed, size_t resamples, struct metric_ci *ci,
                       struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "bootstrap '%s': no items", name ? name : "");
    struct label_ctx c = {y_true, y_pred, xmalloc(n * sizeof(int)), xmalloc(n * sizeof(int)), fn};
    int rc = metric_bootstrap_items(n, stat_labels, &c, name, seed, resamples, ci, err);
    free(c.bt);
    free(c.bp);
    return rc;
}

int metric_bootstrap_accuracy(const int *y_true, const int *y_pred, size_t n, const char *name, uint64_t seed,
                              size_t resamples, struct metric_ci *ci, struct lethe_error *err)
{
    return boot_labels(y_true, y_pred, n, metric_accuracy, name, seed, resamples, ci, err);
}

int metric_bootstrap_macro_f1(const int *y_true, const int *y_pred, size_t n, const char *name, uint64_t seed,
                              size_t resamples, struct metric_ci *ci, struct lethe_error *err)
{
    return boot_labels(y_true, y_pred, n, metric_macro_f1, name, seed, resamples, ci, err);
}

struct mauc_ctx {
    const double *probs;
    const int *y;
    size_t n_classes;
    double *bprobs;
    int *by;
};

static int stat_macro_auc(const size_t *idx, size_t n, void *ctx, double *out, struct lethe_error *err)
{
    struct mauc_ctx *c = ctx;
    size_t k = c->n_classes;
    for (size_t i = 0; i < n; i++) {
        memcpy(c->bprobs + i * k, c->probs + idx[i] * k, k * sizeof(double));
        c->by[i] = c->y[idx[i]];
    }
    return metric_macro_auc_ovr(c->bprobs, n, k, c->by, out, err);
}

/* Resamples in which no class has both positives and negatives are skipped (NAN statistic). */
int metric_bootstrap_macro_auc(const double *probs, size_t n, size_t n_classes, const int *y_true,
                               const char *name, uint64_t seed, size_t resamples, struct metric_ci *ci,
                               struct lethe_error *err)
{
    if (n == 0 || n_classes == 0)
        return lethe_err(err, LETHE_EINPUT, "bootstrap '%s': no items", name ? name : "");
    if (n_classes > ((size_t)-1) / sizeof(double) / n)
        return lethe_err(err, LETHE_EINPUT, "bootstrap '%s': too many items", name ? name : "");
    struct mauc_ctx c = {probs, y_true, n_classes, xmalloc(n * n_classes * sizeof(double)),
                         xmalloc(n * sizeof(int))};
    int rc = metric_bootstrap_items(n, stat_macro_auc, &c, name, seed, resamples, ci, err);
    free(c.bprobs);
    free(c.by);
    return rc;
}

/* ---- stratified: positives and negatives resampled separately, positives first ---- */

struct pn_ctx {
    unsigned num, den;
    int tpr;
};

static int stat_pn(const struct pn_ctx *c, const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                   double *out, struct lethe_error *err)
{
    if (c->tpr)
        return metric_tpr_at_fpr(pos, n_pos, neg, n_neg, c->num, c->den, out, err);
    return metric_auc(pos, n_pos, neg, n_neg, out, err);
}

static int boot_pn(const double *pos, size_t n_pos, const double *neg, size_t n_neg, const struct pn_ctx *c,
                   const char *name, uint64_t seed, size_t resamples, struct metric_ci *ci,
                   struct lethe_error *err)
{
    int rc = stat_pn(c, pos, n_pos, neg, n_neg, &ci->estimate, err);    /* checks the inputs */
    if (rc < 0)
        return rc;
    size_t b = resamples ? resamples : METRIC_BOOT_RESAMPLES;
    double *bp = xmalloc(n_pos * sizeof(*bp)), *bn = xmalloc(n_neg * sizeof(*bn));
    double *stats = xmalloc(b * sizeof(*stats));
    struct metric_rng r;
    rng_for(&r, name, seed);
    for (size_t k = 0; k < b && rc == 0; k++) {
        for (size_t i = 0; i < n_pos; i++)
            bp[i] = pos[metric_rng_index(&r, n_pos)];
        for (size_t i = 0; i < n_neg; i++)
            bn[i] = neg[metric_rng_index(&r, n_neg)];
        rc = stat_pn(c, bp, n_pos, bn, n_neg, &stats[k], err);
    }
    if (rc == 0)
        ci_finish(stats, b, ci);
    free(bp);
    free(bn);
    free(stats);
    return rc;
}

int metric_bootstrap_auc(const double *pos, size_t n_pos, const double *neg, size_t n_neg, const char *name,
                         uint64_t seed, size_t resamples, struct metric_ci *ci, struct lethe_error *err)
{
    struct pn_ctx c = {0, 1, 0};
    return boot_pn(pos, n_pos, neg, n_neg, &c, name, seed, resamples, ci, err);
}

int metric_bootstrap_tpr_at_fpr(const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                                unsigned num, unsigned den, const char *name, uint64_t seed, size_t resamples,
                                struct metric_ci *ci, struct lethe_error *err)
{
    struct pn_ctx c = {num, den, 1};
    return boot_pn(pos, n_pos, neg, n_neg, &c, name, seed, resamples, ci, err);
}
