/* Classifier metrics (METRICS.md 7): argmax with ties to the lowest class, accuracy, macro-F1
 * over sklearn's default label set, one-vs-rest macro AUC. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

size_t metric_argmax(const double *row, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (row[i] > row[best] || (isnan(row[best]) && !isnan(row[i])))
            best = i;
    return best;
}

size_t metric_argmax_f(const float *row, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (row[i] > row[best] || (isnan(row[best]) && !isnan(row[i])))
            best = i;
    return best;
}

int metric_accuracy(const int *y_true, const int *y_pred, size_t n, double *acc, struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "accuracy: no items");
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += y_true[i] == y_pred[i];
    *acc = (double)ok / (double)n;
    return 0;
}

static int cmp_int(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

static size_t label_index(const int *labels, size_t n, int y)
{
    const int *p = bsearch(&y, labels, n, sizeof(*labels), cmp_int);
    LETHE_ASSERT(p);
    return (size_t)(p - labels);
}

int metric_macro_f1(const int *y_true, const int *y_pred, size_t n, double *f1, struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "macro f1: no items");
    /* the sorted distinct labels of y_true and y_pred */
    int *labels = xmalloc(2 * n * sizeof(*labels));
    memcpy(labels, y_true, n * sizeof(*labels));
    memcpy(labels + n, y_pred, n * sizeof(*labels));
    qsort(labels, 2 * n, sizeof(*labels), cmp_int);
    size_t nl = 0;
    for (size_t i = 0; i < 2 * n; i++)
        if (nl == 0 || labels[i] != labels[nl - 1])
            labels[nl++] = labels[i];
    size_t *tp = xcalloc(nl, sizeof(*tp)), *fp = xcalloc(nl, sizeof(*fp)), *fn = xcalloc(nl, sizeof(*fn));
    for (size_t i = 0; i < n; i++) {
        size_t t = label_index(labels, nl, y_true[i]);
        if (y_true[i] == y_pred[i]) {
            tp[t]++;
        } else {
            fn[t]++;
            fp[label_index(labels, nl, y_pred[i])]++;
        }
    }
    double s = 0;
    for (size_t c = 0; c < nl; c++)   /* 2TP+FP+FN > 0: every label occurs somewhere */
        s += 2.0 * (double)tp[c] / (double)(2 * tp[c] + fp[c] + fn[c]);
    *f1 = s / (double)nl;
    free(labels);
    free(tp);
    free(fp);
    free(fn);
    return 0;
}

int metric_macro_auc_ovr(const double *probs, size_t n, size_t n_classes, const int *y_true, double *auc,
                         struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "macro auc: no items");
    if (n_classes == 0)
        return lethe_err(err, LETHE_EINPUT, "macro auc: no classes");
    int rc = metric_check_finite(probs, n * n_classes, "macro auc: probabilities", err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (y_true[i] < 0 || (size_t)y_true[i] >= n_classes)
            return lethe_err(err, LETHE_EINPUT, "macro auc: label %zu is %d, outside [0, %zu)", i, y_true[i],
                             n_classes);
    double *pos = xmalloc(n * sizeof(*pos)), *neg = xmalloc(n * sizeof(*neg));
    double s = 0;
    size_t used = 0;
    for (size_t c = 0; c < n_classes && rc == 0; c++) {
        size_t np = 0, nn = 0;
        for (size_t i = 0; i < n; i++) {
            double p = probs[i * n_classes + c];
            if ((size_t)y_true[i] == c)
                pos[np++] = p;
            else
                neg[nn++] = p;
        }
        if (np == 0 || nn == 0)
            continue;
        double a;
        rc = metric_auc(pos, np, neg, nn, &a, err);
        s += a;
        used++;
    }
    free(pos);
    free(neg);
    if (rc < 0)
        return rc;
    *auc = used ? s / (double)used : NAN;
    return 0;
}
