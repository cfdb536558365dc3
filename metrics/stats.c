/* Means over items (METRICS.md 1.1): arithmetic, geometric mean of probabilities, harmonic,
 * and the finiteness check every statistic applies to its inputs. */
#include <math.h>

#include "base/base.h"
#include "metrics/metrics.h"

int metric_check_finite(const double *v, size_t n, const char *what, struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "%s: no values", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return lethe_err(err, LETHE_EINPUT, "%s: value %zu is not finite ('%g')", what, i, v[i]);
    return 0;
}

int metric_mean(const double *v, size_t n, double *mean, struct lethe_error *err)
{
    int rc = metric_check_finite(v, n, "mean", err);
    if (rc < 0)
        return rc;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    *mean = s / (double)n;
    return 0;
}

int metric_geomean_prob(const double *mean_nll, size_t n, double *gmean, struct lethe_error *err)
{
    int rc = metric_check_finite(mean_nll, n, "geometric mean", err);
    if (rc < 0)
        return rc;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += mean_nll[i];
    *gmean = exp(-s / (double)n);
    return 0;
}

/* Lethe's choice beyond METRICS.md 1.1 ("NaN propagates"): a NaN or infinite value is an error,
 * so an aggregate never turns into a silent NaN. A zero gives 0 only once every value passed. */
int metric_hmean(const double *v, size_t n, double *hmean, struct lethe_error *err)
{
    int rc = metric_check_finite(v, n, "harmonic mean", err);
    if (rc < 0)
        return rc;
    int zero = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0)
            return lethe_err(err, LETHE_EINPUT, "harmonic mean: value %zu is negative ('%g')", i, v[i]);
        if (v[i] == 0)
            zero = 1;
    }
    if (zero) {
        *hmean = 0;
        return 0;
    }
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += 1.0 / v[i];
    *hmean = (double)n / s;
    return 0;
}
