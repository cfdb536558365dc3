/* Two-sample Kolmogorov-Smirnov test, two-sided (METRICS.md 1.4): the integer statistic, the
 * exact p-value as lattice-path mass absorbed in log space, and the Kolmogorov limit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

#define KS_AUTO_MAX_N 10000     /* scipy.stats.ks_2samp: exact when max(n1, n2) <= 10000 */

const char *metric_ks_method_name(enum metric_ks_method m)
{
    static const char *const names[] = {"auto", "exact", "asymp"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == METRIC_KS_METHOD_COUNT, "ks method names");
    return (unsigned)m < METRIC_KS_METHOD_COUNT ? names[m] : "?";
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static double *sorted_copy(const double *v, size_t n)
{
    double *c = xmalloc(n * sizeof(*c));
    memcpy(c, v, n * sizeof(*c));
    qsort(c, n, sizeof(*c), cmp_double);
    return c;
}

static int ks_check(const double *a, size_t n1, const double *b, size_t n2, struct lethe_error *err)
{
    int rc = metric_check_finite(a, n1, "ks: first sample", err);
    if (rc == 0)
        rc = metric_check_finite(b, n2, "ks: second sample", err);
    if (rc == 0 && n1 > (size_t)INT64_MAX / n2)
        rc = lethe_err(err, LETHE_EINPUT, "ks: samples of %zu and %zu values are too large", n1, n2);
    return rc;
}

/* K over the distinct values of the pooled sample, from sorted sa and sb. */
static int64_t ks_k_sorted(const double *sa, size_t n1, const double *sb, size_t n2)
{
    int64_t k = 0;
    size_t i = 0, j = 0;
    while (i < n1 || j < n2) {
        double v = i == n1 ? sb[j] : j == n2 ? sa[i] : (sa[i] < sb[j] ? sa[i] : sb[j]);
        while (i < n1 && sa[i] == v)
            i++;
        while (j < n2 && sb[j] == v)
            j++;
        int64_t d = (int64_t)i * (int64_t)n2 - (int64_t)j * (int64_t)n1;
        if (d < 0)
            d = -d;
        if (d > k)
            k = d;
    }
    return k;
}

int metric_ks_stat_k(const double *a, size_t n1, const double *b, size_t n2, int64_t *k,
                     struct lethe_error *err)
{
    int rc = ks_check(a, n1, b, n2, err);
    if (rc < 0)
        return rc;
    double *sa = sorted_copy(a, n1), *sb = sorted_copy(b, n2);
    *k = ks_k_sorted(sa, n1, sb, n2);
    free(sa);
    free(sb);
    return 0;
}

static double logaddexp(double x, double y)
{
    if (x == -INFINITY)
        return y;
    if (y == -INFINITY)
        return x;
    return x > y ? x + log1p(exp(y - x)) : y + log1p(exp(x - y));
}

/* Row i of the lattice: the non-absorbed cells are lo(i) <= j <= hi(i), |i n2 - j n1| < k. */
static size_t band_lo(int64_t i, int64_t n1, int64_t n2, int64_t k)
{
    int64_t t = i * n2 - k;     /* need j n1 > t */
    return t < 0 ? 0 : (size_t)(t / n1 + 1);
}

static size_t band_hi(int64_t i, int64_t n1, int64_t n2, int64_t k)
{
    int64_t t = i * n2 + k;     /* need j n1 < t */
    int64_t j = (t - 1) / n1;
    return j > n2 ? (size_t)n2 : (size_t)j;
}

/* METRICS.md 1.4 steps 1-5. Rows are i = 0..n1 (two rows of n2+1 log masses kept); only the band
 * of non-absorbed cells and the absorbing cells next to it are visited: lo(i-1) <= j <= hi(i)+1. */
int metric_ks_exact_log_p(size_t n1, size_t n2, int64_t k, double *log_p, struct lethe_error *err)
{
    if (k <= 0) {
        *log_p = 0;
        return 0;
    }
    if (n1 == 0 || n2 == 0)
        return lethe_err(err, LETHE_EINPUT, "ks: empty sample");
    const int64_t N1 = (int64_t)n1, N2 = (int64_t)n2;
    double *lg = xmalloc((n1 + n2 + 1) * sizeof(*lg));     /* lg[t] = log t */
    lg[0] = -INFINITY;
    for (size_t t = 1; t <= n1 + n2; t++)
        lg[t] = log((double)t);
    double *prev = xmalloc((n2 + 1) * sizeof(*prev)), *cur = xmalloc((n2 + 1) * sizeof(*cur));
    for (size_t j = 0; j <= n2; j++)
        prev[j] = cur[j] = -INFINITY;
    double absorbed = -INFINITY;
    size_t prev_a = 0, prev_b = 0;  /* range of row i-1 written into prev */
    size_t old_a = 0, old_b = 0;    /* range of row i-2 still in cur */
    int have_old = 0;
    for (int64_t i = 0; i <= N1; i++) {
        if (have_old)
            for (size_t j = old_a; j <= old_b; j++)
                cur[j] = -INFINITY;
        size_t a = i == 0 ? 0 : band_lo(i - 1, N1, N2, k);
        size_t hi = band_hi(i, N1, N2, k);
        size_t b = hi < n2 ? hi + 1 : n2;
        size_t down_left = (size_t)(N1 - i + 1);   /* n1 - (i-1) rows left above */
        for (size_t j = a; j <= b; j++) {
            double l;
            if (i == 0 && j == 0) {
                l = 0;
            } else {
                l = -INFINITY;
                /* from (i-1, j): probability (n1-(i-1)) / (n1-(i-1) + n2-j) */
                if (i > 0 && prev[j] != -INFINITY)
                    l = prev[j] + lg[down_left] - lg[down_left + (n2 - j)];
                /* from (i, j-1): probability (n2-(j-1)) / (n1-i + n2-(j-1)) */
                if (j > 0 && cur[j - 1] != -INFINITY)
                    l = logaddexp(l, cur[j - 1] + lg[n2 - j + 1] - lg[(size_t)(N1 - i) + n2 - j + 1]);
            }
            int64_t d = i * N2 - (int64_t)j * N1;
            if (d < 0)
                d = -d;
            if (d >= k) {
                absorbed = logaddexp(absorbed, l);
                l = -INFINITY;
            }
            cur[j] = l;
        }
        old_a = prev_a;
        old_b = prev_b;
        have_old = i > 0;
        prev_a = a;
        prev_b = b;
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double end = prev[n2];
    free(lg);
    free(prev);
    free(cur);
    double total = logaddexp(absorbed, end);
    if (!(fabs(total) < 1e-9))
        return lethe_err(err, LETHE_EFAIL, "ks: exact p-value self-check failed (total log mass %g, n1 %zu, "
                         "n2 %zu, k %lld)", total, n1, n2, (long long)k);
    *log_p = absorbed > 0 ? 0 : absorbed;
    return 0;
}

/* The Kolmogorov limit (METRICS.md 1.4): for lambda >= 1 the alternating series in log form,
 * for lambda < 1 the theta-function form 1 - sqrt(2 pi)/lambda sum exp(-(2k-1)^2 pi^2/(8 lambda^2)). */
double metric_kolmogorov_log_sf(double lambda)
{
    if (!(lambda > 0))
        return 0;
    double l2 = lambda * lambda;
    if (lambda >= 1) {
        double s = 0;
        for (int k = 2; k < 100; k++) {
            double t = exp(-2.0 * ((double)k * k - 1) * l2);
            s += (k % 2 == 0) ? -t : t;
            if (t < 1e-18)
                break;
        }
        return log(2.0) - 2 * l2 + log1p(s);
    }
    double s = 0;
    for (int k = 1; k < 100; k++) {
        double q = 2.0 * k - 1;
        double t = exp(-q * q * M_PI * M_PI / (8 * l2));
        s += t;
        if (t < 1e-18 * s || t == 0)
            break;
    }
    return log1p(-sqrt(2 * M_PI) / lambda * s);
}

int metric_ks_2samp(const double *a, size_t n1, const double *b, size_t n2, enum metric_ks_method method,
                    struct metric_ks *out, struct lethe_error *err)
{
    if ((unsigned)method >= METRIC_KS_METHOD_COUNT)
        return lethe_err(err, LETHE_EINPUT, "ks: unknown method %d", (int)method);
    int64_t k;
    int rc = metric_ks_stat_k(a, n1, b, n2, &k, err);
    if (rc < 0)
        return rc;
    if (method == METRIC_KS_AUTO)
        method = (n1 > n2 ? n1 : n2) <= KS_AUTO_MAX_N ? METRIC_KS_EXACT : METRIC_KS_ASYMP;
    double d = (double)k / ((double)n1 * (double)n2);
    double log_p;
    if (method == METRIC_KS_EXACT) {
        rc = metric_ks_exact_log_p(n1, n2, k, &log_p, err);
        if (rc < 0)
            return rc;
    } else {
        double ne = (double)n1 * (double)n2 / ((double)n1 + (double)n2);
        log_p = metric_kolmogorov_log_sf(d * sqrt(ne));
    }
    out->statistic = d;
    out->pvalue = exp(log_p);
    out->log10_pvalue = log_p / M_LN10;
    out->n1 = n1;
    out->n2 = n2;
    out->method = method;
    return 0;
}
