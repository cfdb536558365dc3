/* ROC AUC with ties as half, ROC curve points and TPR at a fixed FPR (METRICS.md 1.5, 1.6);
 * the membership score convention is "higher = member", positives = members. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

struct scored {
    double v;
    int pos;
};

static int cmp_scored(const void *pa, const void *pb)
{
    double a = ((const struct scored *)pa)->v, b = ((const struct scored *)pb)->v;
    return (a > b) - (a < b);
}

static int cmp_double_desc(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a < b) - (a > b);
}

static int check_pn(const char *what, const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                    struct lethe_error *err)
{
    char w[96];
    snprintf(w, sizeof(w), "%s: positive scores", what);
    int rc = metric_check_finite(pos, n_pos, w, err);
    if (rc < 0)
        return rc;
    snprintf(w, sizeof(w), "%s: negative scores", what);
    return metric_check_finite(neg, n_neg, w, err);
}

/* Pooled scores sorted ascending; the caller frees. */
static struct scored *pool_sorted(const double *pos, size_t n_pos, const double *neg, size_t n_neg)
{
    struct scored *s = xmalloc((n_pos + n_neg) * sizeof(*s));
    for (size_t i = 0; i < n_pos; i++)
        s[i] = (struct scored){pos[i], 1};
    for (size_t i = 0; i < n_neg; i++)
        s[n_pos + i] = (struct scored){neg[i], 0};
    qsort(s, n_pos + n_neg, sizeof(*s), cmp_scored);
    return s;
}

/* AUC = (R_pos - n_pos(n_pos+1)/2) / (n_pos n_neg) with average ranks (Mann-Whitney U). Ranks are
 * kept doubled (integers) so the rank sum is exact up to 2^53. */
int metric_auc(const double *pos, size_t n_pos, const double *neg, size_t n_neg, double *auc,
               struct lethe_error *err)
{
    int rc = check_pn("auc", pos, n_pos, neg, n_neg, err);
    if (rc < 0)
        return rc;
    size_t n = n_pos + n_neg;
    struct scored *s = pool_sorted(pos, n_pos, neg, n_neg);
    double r2 = 0;  /* twice the rank sum of the positives */
    for (size_t i = 0; i < n;) {
        size_t e = i;
        size_t np = 0;
        while (e < n && s[e].v == s[i].v)
            np += (size_t)s[e++].pos;
        /* ranks i+1 .. e, average (i+1+e)/2, doubled: i+1+e */
        r2 += (double)np * (double)(i + 1 + e);
        i = e;
    }
    free(s);
    double np = (double)n_pos;
    *auc = (r2 / 2 - np * (np + 1) / 2) / (np * (double)n_neg);
    return 0;
}

int metric_roc_curve(const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                     struct metric_roc *roc, struct lethe_error *err)
{
    memset(roc, 0, sizeof(*roc));
    int rc = check_pn("roc", pos, n_pos, neg, n_neg, err);
    if (rc < 0)
        return rc;
    size_t n = n_pos + n_neg;
    struct scored *s = pool_sorted(pos, n_pos, neg, n_neg);
    roc->fpr = xmalloc((n + 1) * sizeof(double));
    roc->tpr = xmalloc((n + 1) * sizeof(double));
    roc->thr = xmalloc((n + 1) * sizeof(double));
    roc->fpr[0] = roc->tpr[0] = 0;
    roc->thr[0] = INFINITY;
    size_t m = 1, tp = 0, fp = 0;
    for (size_t i = n; i > 0;) {    /* descending */
        double v = s[i - 1].v;
        while (i > 0 && s[i - 1].v == v) {
            if (s[i - 1].pos)
                tp++;
            else
                fp++;
            i--;
        }
        roc->fpr[m] = (double)fp / (double)n_neg;
        roc->tpr[m] = (double)tp / (double)n_pos;
        roc->thr[m] = v;
        m++;
    }
    roc->n = m;
    free(s);
    return 0;
}

void metric_roc_release(struct metric_roc *roc)
{
    if (!roc)
        return;
    free(roc->fpr);
    free(roc->tpr);
    free(roc->thr);
    memset(roc, 0, sizeof(*roc));
}

int metric_tpr_at_fpr(const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                      unsigned num, unsigned den, double *tpr, struct lethe_error *err)
{
    if (den == 0 || num > den)
        return lethe_err(err, LETHE_EINPUT, "tpr at fpr: alpha %u/%u is not in [0, 1]", num, den);
    int rc = check_pn("tpr at fpr", pos, n_pos, neg, n_neg, err);
    if (rc < 0)
        return rc;
    /* k = floor(num n_neg / den) exactly: n_neg = q den + r, num r < 2^64 */
    size_t q = n_neg / den, r = n_neg % den;
    size_t k = q * num + (size_t)((unsigned long long)num * r / den);
    if (k >= n_neg) {
        *tpr = 1;
        return 0;
    }
    double *sn = xmalloc(n_neg * sizeof(*sn));
    memcpy(sn, neg, n_neg * sizeof(*sn));
    qsort(sn, n_neg, sizeof(*sn), cmp_double_desc);
    double s_star = sn[k];     /* the (k+1)-th largest negative */
    free(sn);
    size_t above = 0;
    for (size_t i = 0; i < n_pos; i++)
        above += pos[i] > s_star;
    *tpr = (double)above / (double)n_pos;
    return 0;
}
