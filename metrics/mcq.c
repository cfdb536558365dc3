/* Multiple-choice scoring (METRICS.md 4): cloze (log-prob per UTF-8 byte of the option) and
 * letter predictions, ties to the earliest option, and their accuracies. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

static int check_lp(const double *sum_lp, size_t k, size_t q, struct lethe_error *err)
{
    if (k == 0)
        return lethe_err(err, LETHE_EINPUT, "multiple choice: question %zu has no options", q);
    for (size_t j = 0; j < k; j++)
        if (!isfinite(sum_lp[j]))
            return lethe_err(err, LETHE_EINPUT,
                             "multiple choice: log-prob of option %zu of question %zu is not finite (%g)",
                             j, q, sum_lp[j]);
    return 0;
}

static int cloze_pred(const double *sum_lp, const char *const *options, size_t k, size_t q, size_t *pred,
                      struct lethe_error *err)
{
    int rc = check_lp(sum_lp, k, q, err);
    if (rc < 0)
        return rc;
    size_t best = 0;
    double best_v = -INFINITY;
    for (size_t j = 0; j < k; j++) {
        size_t bytes = options[j] ? strlen(options[j]) : 0;
        if (bytes == 0)
            return lethe_err(err, LETHE_EINPUT, "multiple choice: option %zu of question %zu is empty", j, q);
        double v = sum_lp[j] / (double)bytes;
        if (j == 0 || v > best_v) {
            best = j;
            best_v = v;
        }
    }
    *pred = best;
    return 0;
}

static int letter_pred(const double *sum_lp, size_t k, size_t q, size_t *pred, struct lethe_error *err)
{
    int rc = check_lp(sum_lp, k, q, err);
    if (rc < 0)
        return rc;
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (sum_lp[j] > sum_lp[best])
            best = j;
    *pred = best;
    return 0;
}

int metric_mcq_cloze_pred(const double *sum_lp, const char *const *options, size_t k, size_t *pred,
                          struct lethe_error *err)
{
    return cloze_pred(sum_lp, options, k, 0, pred, err);
}

int metric_mcq_letter_pred(const double *sum_lp, size_t k, size_t *pred, struct lethe_error *err)
{
    return letter_pred(sum_lp, k, 0, pred, err);
}

/* Shared by both accuracies: options NULL = letter scoring. */
static int mcq_acc(const double *sum_lp, const char *const *options, const int *gold, size_t n, size_t k,
                   int *pred, double *acc, struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "multiple choice: no questions");
    if (k == 0 || k > INT_MAX || n > SIZE_MAX / k)
        return lethe_err(err, LETHE_EINPUT, "multiple choice: bad number of options %zu", k);
    int *p = pred ? pred : xmalloc(n * sizeof *p);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t j = 0;
        if (gold[i] < 0 || (size_t)gold[i] >= k)
            rc = lethe_err(err, LETHE_EINPUT, "multiple choice: answer %d of question %zu is not an option",
                           gold[i], i);
        else if (options)
            rc = cloze_pred(sum_lp + i * k, options + i * k, k, i, &j, err);
        else
            rc = letter_pred(sum_lp + i * k, k, i, &j, err);
        p[i] = (int)j;
    }
    if (rc == 0)
        rc = metric_accuracy(gold, p, n, acc, err);
    if (!pred)
        free(p);
    return rc;
}

int metric_mcq_cloze_acc(const double *sum_lp, const char *const *options, const int *gold, size_t n,
                         size_t k, int *pred, double *acc, struct lethe_error *err)
{
    if (!options)
        return lethe_err(err, LETHE_EINPUT, "multiple choice: cloze scoring needs the option texts");
    return mcq_acc(sum_lp, options, gold, n, k, pred, acc, err);
}

int metric_mcq_letter_acc(const double *sum_lp, const int *gold, size_t n, size_t k, int *pred,
                          double *acc, struct lethe_error *err)
{
    return mcq_acc(sum_lp, NULL, gold, n, k, pred, acc, err);
}
