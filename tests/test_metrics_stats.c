/* Tests of the statistics (metrics/ks.c, auc.c, classify.c, stats.c, bootstrap.c): the worked
 * examples of METRICS.md 1 and 7, brute-force oracles, properties, edge cases, and golden values
 * from scipy and sklearn (tests/golden/stats_golden.txt, written by stats_golden.py). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"
#include "test.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static double rel_err(double got, double want)
{
    if (got == want)
        return 0;
    return fabs(got - want) / fmax(fabs(want), 1e-300);
}

/* ---- worked examples of METRICS.md ---- */

static void test_ks_examples(void)
{
    struct lethe_error err = {0};
    struct metric_ks ks;
    double a1[] = {1, 2, 3, 4}, b1[] = {5, 6, 7, 8};
    CHECK(metric_ks_2samp(a1, 4, b1, 4, METRIC_KS_AUTO, &ks, &err) == 0);
    CHECK_NEAR(ks.statistic, 1, 0);
    CHECK(rel_err(ks.pvalue, 1.0 / 35) < 1e-13);
    CHECK_EQ_INT(ks.method, METRIC_KS_EXACT);
    CHECK_EQ_INT(ks.n1, 4);
    CHECK_EQ_INT(ks.n2, 4);
    int64_t k = 0;
    CHECK(metric_ks_stat_k(a1, 4, b1, 4, &k, &err) == 0);
    CHECK_EQ_INT(k, 16);

    double a2[] = {0.1, 0.2, 0.3}, b2[] = {0.25, 0.4, 0.5, 0.6, 0.7};
    CHECK(metric_ks_stat_k(a2, 3, b2, 5, &k, &err) == 0);
    CHECK_EQ_INT(k, 12);
    CHECK(metric_ks_2samp(a2, 3, b2, 5, METRIC_KS_EXACT, &ks, &err) == 0);
    CHECK_NEAR(ks.statistic, 0.8, 1e-15);
    CHECK(rel_err(ks.pvalue, 1.0 / 7) < 1e-13);
    CHECK_STREQ(metric_ks_method_name(ks.method), "exact");

    static double a3[400], b3[400];
    for (int i = 0; i < 400; i++) {
        a3[i] = i;
        b3[i] = 400 + i;
    }
    CHECK(metric_ks_2samp(a3, 400, b3, 400, METRIC_KS_AUTO, &ks, &err) == 0);
    CHECK_NEAR(ks.log10_pvalue, -238.973226, 5e-7);
    CHECK(rel_err(ks.pvalue, 1.0636e-239) < 1e-4);
    CHECK(metric_ks_2samp(a3, 300, b3, 200, METRIC_KS_AUTO, &ks, &err) == 0);
    CHECK_NEAR(ks.log10_pvalue, -144.402687, 5e-7);
    /* b first: the same test */
    CHECK(metric_ks_2samp(b3, 200, a3, 300, METRIC_KS_AUTO, &ks, &err) == 0);
    CHECK_NEAR(ks.log10_pvalue, -144.402687, 5e-7);
}

static void test_kolmogorov_examples(void)
{
    CHECK_NEAR(exp(metric_kolmogorov_log_sf(1.0)), 0.2699997, 5e-8);
    CHECK_NEAR(exp(metric_kolmogorov_log_sf(1.36)), 0.0494859, 5e-8);
    CHECK_NEAR(exp(metric_kolmogorov_log_sf(2.0)), 6.709253e-4, 5e-10);
    CHECK_NEAR(metric_kolmogorov_log_sf(0), 0, 0);
    /* both regimes meet at lambda = 1 */
    CHECK(rel_err(exp(metric_kolmogorov_log_sf(1 - 1e-12)), exp(metric_kolmogorov_log_sf(1))) < 1e-10);
    /* far tail: 2 exp(-2 lambda^2) */
    CHECK(rel_err(metric_kolmogorov_log_sf(30), log(2) - 1800) < 1e-15);
}

static void test_auc_examples(void)
{
    struct lethe_error err = {0};
    double auc;
    double pos[] = {0.9, 0.4}, neg[] = {0.4, 0.2};
    CHECK(metric_auc(pos, 2, neg, 2, &auc, &err) == 0);
    CHECK_NEAR(auc, 0.875, 1e-15);
    CHECK(metric_auc(neg, 2, pos, 2, &auc, &err) == 0);
    CHECK_NEAR(auc, 0.125, 1e-15);   /* MUSE's convention */

    double n2[] = {0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.90};
    double p2[] = {0.95, 0.92, 0.80, 0.50, 0.30};
    double t;
    CHECK(metric_tpr_at_fpr(p2, 5, n2, 10, 1, 10, &t, &err) == 0);
    CHECK_NEAR(t, 0.8, 1e-15);
    CHECK(metric_tpr_at_fpr(p2, 5, n2, 10, 1, 100, &t, &err) == 0);
    CHECK_NEAR(t, 0.4, 1e-15);
    CHECK(metric_tpr_at_fpr(p2, 5, n2, 10, 1, 1000, &t, &err) == 0);
    CHECK_NEAR(t, 0.4, 1e-15);
    CHECK(metric_tpr_at_fpr(p2, 5, n2, 10, 1, 1, &t, &err) == 0);
    CHECK_NEAR(t, 1, 0);
    CHECK(metric_auc(p2, 5, n2, 10, &auc, &err) == 0);
    CHECK_NEAR(auc, 0.87, 1e-15);
}

static void test_classify_examples(void)
{
    struct lethe_error err = {0};
    int y[] = {0, 0, 1, 1, 2, 2}, yp[] = {0, 1, 1, 1, 2, 0};
    double v;
    CHECK(metric_macro_f1(y, yp, 6, &v, &err) == 0);
    CHECK_NEAR(v, (0.5 + 0.8 + 2.0 / 3) / 3, 1e-15);
    CHECK_NEAR(v, 0.655556, 5e-7);
    CHECK(metric_accuracy(y, yp, 6, &v, &err) == 0);
    CHECK_NEAR(v, 4.0 / 6, 1e-15);

    int y1[] = {3, 3, 3, 3}, yp1[] = {3, 1, 3, 5};
    CHECK(metric_macro_f1(y1, yp1, 4, &v, &err) == 0);
    CHECK_NEAR(v, 0.222222, 5e-7);
    CHECK_NEAR(v, 2.0 / 9, 1e-15);

    double probs[] = {.7, .2, .1, .4, .5, .1, .2, .6, .2, .1, .8, .1, .1, .2, .7, .5, .1, .4};
    CHECK(metric_macro_auc_ovr(probs, 6, 3, y, &v, &err) == 0);
    CHECK_NEAR(v, (0.875 + 1 + 1) / 3, 1e-15);
    CHECK_NEAR(v, 0.958333, 5e-7);
}

static void test_means_examples(void)
{
    struct lethe_error err = {0};
    double v3[] = {0.5, 0.25, 1.0}, h, m;
    CHECK(metric_hmean(v3, 3, &h, &err) == 0);
    CHECK_NEAR(h, 3.0 / 7, 1e-15);
    CHECK(metric_mean(v3, 3, &m, &err) == 0);
    CHECK_NEAR(m, 1.75 / 3, 1e-15);
    double nll[] = {0.5, 1.5};
    CHECK(metric_geomean_prob(nll, 2, &m, &err) == 0);
    CHECK_NEAR(m, exp(-1.0), 1e-15);
    double z[] = {0.5, 0, 1};
    CHECK(metric_hmean(z, 3, &h, &err) == 0);
    CHECK_NEAR(h, 0, 0);
    double one[] = {0.25};
    CHECK(metric_hmean(one, 1, &h, &err) == 0);
    CHECK_NEAR(h, 0.25, 0);
}

/* ---- independent oracles ---- */

/* Counts the monotone lattice paths from (0,0) to (n,m) that touch |i m - j n| >= k. */
static double count_paths_hit(int i, int j, int n, int m, long k, int hit)
{
    long d = labs((long)i * m - (long)j * n);
    if (d >= k)
        hit = 1;
    if (i == n && j == m)
        return hit;
    double c = 0;
    if (i < n)
        c += count_paths_hit(i + 1, j, n, m, k, hit);
    if (j < m)
        c += count_paths_hit(i, j + 1, n, m, k, hit);
    return c;
}

static void test_ks_exact_brute_force(void)
{
    struct lethe_error err = {0};
    double worst = 0;
    for (int n = 1; n <= 7; n++)
        for (int m = 1; m <= 7; m++) {
            double total = count_paths_hit(0, 0, n, m, (long)n * m + 1, 0);  /* 0 */
            double all = 1;     /* C(n+m, n) */
            for (int t = 1; t <= n; t++)
                all = all * (m + t) / t;
            CHECK_NEAR(total, 0, 0);
            for (long k = 1; k <= (long)n * m; k++) {
                double want = count_paths_hit(0, 0, n, m, k, 0) / all, lp;
                CHECK(metric_ks_exact_log_p((size_t)n, (size_t)m, k, &lp, &err) == 0);
                double e = rel_err(exp(lp), want);
                if (e > worst)
                    worst = e;
            }
        }
    printf("# ks exact vs path enumeration (n, m <= 7, every k): max rel err %.3g\n", worst);
    CHECK(worst < 1e-13);
}

static uint64_t lcg_state = 12345;
static double lcg_uniform(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * 0x1.0p-53;
}

static void test_auc_vs_pairs(void)
{
    struct lethe_error err = {0};
    for (int t = 0; t < 50; t++) {
        size_t np = 1 + (size_t)(lcg_uniform() * 30), nn = 1 + (size_t)(lcg_uniform() * 30);
        double pos[32], neg[32];
        for (size_t i = 0; i < np; i++)
            pos[i] = floor(lcg_uniform() * 8);
        for (size_t i = 0; i < nn; i++)
            neg[i] = floor(lcg_uniform() * 7);
        double s = 0;
        for (size_t i = 0; i < np; i++)
            for (size_t j = 0; j < nn; j++)
                s += pos[i] > neg[j] ? 1 : pos[i] == neg[j] ? 0.5 : 0;
        double auc, back;
        CHECK(metric_auc(pos, np, neg, nn, &auc, &err) == 0);
        CHECK_NEAR(auc, s / ((double)np * (double)nn), 1e-14);
        /* property: AUC(pos, neg) + AUC(neg, pos) = 1 */
        CHECK(metric_auc(neg, nn, pos, np, &back, &err) == 0);
        CHECK_NEAR(auc + back, 1, 1e-14);
        /* TPR@FPR against the definition max{TPR(tau) : FPR(tau) <= alpha} over tau in scores+inf */
        unsigned dens[] = {100, 10, 4, 2};
        for (size_t d = 0; d < N_OF(dens); d++) {
            double best = 0;
            for (size_t c = 0; c <= np + nn; c++) {
                double tau = c == np + nn ? INFINITY : c < np ? pos[c] : neg[c - np];
                size_t tp = 0, fp = 0;
                for (size_t i = 0; i < np; i++)
                    tp += pos[i] >= tau;
                for (size_t j = 0; j < nn; j++)
                    fp += neg[j] >= tau;
                if ((double)fp * dens[d] <= (double)nn && (double)tp / (double)np > best)
                    best = (double)tp / (double)np;
            }
            double tpr;
            CHECK(metric_tpr_at_fpr(pos, np, neg, nn, 1, dens[d], &tpr, &err) == 0);
            CHECK_NEAR(tpr, best, 1e-15);
        }
    }
}

/* ---- properties and edge cases ---- */

static void test_ks_properties(void)
{
    struct lethe_error err = {0};
    struct metric_ks ks;
    double a[50];
    for (int i = 0; i < 50; i++)
        a[i] = floor(lcg_uniform() * 10);
    CHECK(metric_ks_2samp(a, 50, a, 50, METRIC_KS_AUTO, &ks, &err) == 0);
    CHECK_NEAR(ks.statistic, 0, 0);
    CHECK_NEAR(ks.pvalue, 1, 0);
    CHECK_NEAR(ks.log10_pvalue, 0, 0);
    CHECK(metric_ks_2samp(a, 50, a, 50, METRIC_KS_ASYMP, &ks, &err) == 0);
    CHECK_NEAR(ks.pvalue, 1, 0);
    CHECK_EQ_INT(ks.method, METRIC_KS_ASYMP);
    /* all-equal values in both samples: D = 0 */
    double c1[] = {2, 2, 2}, c2[] = {2, 2};
    CHECK(metric_ks_2samp(c1, 3, c2, 2, METRIC_KS_AUTO, &ks, &err) == 0);
    CHECK_NEAR(ks.pvalue, 1, 0);
    /* single items */
    double s1[] = {1}, s2[] = {2};
    CHECK(metric_ks_2samp(s1, 1, s2, 1, METRIC_KS_AUTO, &ks, &err) == 0);
    CHECK_NEAR(ks.statistic, 1, 0);
    CHECK_NEAR(ks.pvalue, 1, 1e-15);   /* 2/C(2,1) */
    /* the p-value never increases with k */
    double last = 1, lp;
    for (int64_t k = 1; k <= 30 * 20; k += 7) {
        CHECK(metric_ks_exact_log_p(30, 20, k, &lp, &err) == 0);
        CHECK(lp <= last + 1e-15);
        last = lp;
    }
}

static void test_edge_errors(void)
{
    struct lethe_error err = {0};
    struct metric_ks ks;
    double ok[] = {1, 2, 3}, bad[] = {1, NAN, 3}, inf[] = {1, 2, INFINITY}, v;
    CHECK(metric_ks_2samp(ok, 0, ok, 3, METRIC_KS_AUTO, &ks, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no values");
    CHECK(metric_ks_2samp(ok, 3, bad, 3, METRIC_KS_AUTO, &ks, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "second sample: value 1 is not finite");
    CHECK(metric_ks_2samp(inf, 3, ok, 3, METRIC_KS_AUTO, &ks, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "first sample: value 2");
    CHECK(metric_ks_2samp(ok, 3, ok, 3, (enum metric_ks_method)7, &ks, &err) == -LETHE_EINPUT);

    CHECK(metric_auc(ok, 3, ok, 0, &v, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "auc: negative scores: no values");
    CHECK(metric_auc(bad, 3, ok, 3, &v, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "auc: positive scores: value 1");
    CHECK(metric_tpr_at_fpr(ok, 3, ok, 3, 1, 0, &v, &err) == -LETHE_EINPUT);
    CHECK(metric_tpr_at_fpr(ok, 3, ok, 3, 2, 1, &v, &err) == -LETHE_EINPUT);
    CHECK(metric_tpr_at_fpr(ok, 0, ok, 3, 1, 100, &v, &err) == -LETHE_EINPUT);
    struct metric_roc roc;
    CHECK(metric_roc_curve(ok, 3, inf, 3, &roc, &err) == -LETHE_EINPUT);
    CHECK(roc.fpr == NULL);
    metric_roc_release(&roc);
    metric_roc_release(NULL);

    /* all-equal scores: AUC 1/2, TPR at 1% = 0 (no threshold separates) */
    double e1[] = {0.3, 0.3}, e2[] = {0.3, 0.3, 0.3};
    CHECK(metric_auc(e1, 2, e2, 3, &v, &err) == 0);
    CHECK_NEAR(v, 0.5, 0);
    CHECK(metric_tpr_at_fpr(e1, 2, e2, 3, 1, 100, &v, &err) == 0);
    CHECK_NEAR(v, 0, 0);
    CHECK(metric_roc_curve(e1, 2, e2, 3, &roc, &err) == 0);
    CHECK_EQ_INT(roc.n, 2);
    CHECK_NEAR(roc.fpr[1], 1, 0);
    CHECK_NEAR(roc.tpr[1], 1, 0);
    metric_roc_release(&roc);

    int y[] = {1}, yp[] = {1};
    CHECK(metric_accuracy(y, yp, 0, &v, &err) == -LETHE_EINPUT);
    CHECK(metric_macro_f1(y, yp, 0, &v, &err) == -LETHE_EINPUT);
    CHECK(metric_macro_f1(y, yp, 1, &v, &err) == 0);   /* single item */
    CHECK_NEAR(v, 1, 0);
    /* macro AUC: one class only -> NAN, documented (stored as NULL) */
    double p1[] = {0.2, 0.8, 0.6, 0.4};
    int yc[] = {1, 1};
    CHECK(metric_macro_auc_ovr(p1, 2, 2, yc, &v, &err) == 0);
    CHECK(isnan(v));
    int ybad[] = {0, 2};
    CHECK(metric_macro_auc_ovr(p1, 2, 2, ybad, &v, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "label 1 is 2");
    double pnan[] = {0.2, 0.8, NAN, 0.4};
    int y01[] = {0, 1};
    CHECK(metric_macro_auc_ovr(pnan, 2, 2, y01, &v, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "value 2 is not finite");
    /* ties across classes: equal probabilities for both classes give 1/2 each */
    double ptie[] = {0.5, 0.5, 0.5, 0.5};
    CHECK(metric_macro_auc_ovr(ptie, 2, 2, y01, &v, &err) == 0);
    CHECK_NEAR(v, 0.5, 0);

    double neg[] = {0.5, -0.1};
    CHECK(metric_hmean(neg, 2, &v, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "harmonic mean: value 1 is negative");
    double negz[] = {0, -0.1};   /* a zero does not hide a negative */
    CHECK(metric_hmean(negz, 2, &v, &err) == -LETHE_EINPUT);
    CHECK(metric_hmean(bad, 3, &v, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "value 1 is not finite");
    CHECK(metric_hmean(inf, 3, &v, &err) == -LETHE_EINPUT);
    CHECK(metric_mean(ok, 0, &v, &err) == -LETHE_EINPUT);
    CHECK(metric_mean(bad, 3, &v, &err) == -LETHE_EINPUT);
    CHECK(metric_geomean_prob(inf, 3, &v, &err) == -LETHE_EINPUT);

    double row[] = {1, 3, 3, 2};
    CHECK_EQ_INT(metric_argmax(row, 4), 1);
    float rowf[] = {NAN, 0, 0};
    CHECK_EQ_INT(metric_argmax_f(rowf, 3), 1);
}

static void test_rng_vectors(void)
{
    /* splitmix64 from seed 0 (Vigna's reference): the seeded state words */
    struct metric_rng r;
    metric_rng_seed(&r, 0);
    CHECK(r.s[0] == 0xe220a8397b1dcdafULL);
    CHECK(r.s[1] == 0x6e789e6aa1b965f4ULL);
    CHECK(r.s[2] == 0x06c45d188009454fULL);
    /* xoshiro256** from state {1, 2, 3, 4} (the reference known-answer sequence) */
    struct metric_rng x = {{1, 2, 3, 4}};
    const uint64_t want[] = {11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL, 1216172134540287360ULL};
    for (size_t i = 0; i < N_OF(want); i++)
        CHECK(metric_rng_next(&x) == want[i]);
    for (int i = 0; i < 1000; i++)
        CHECK(metric_rng_index(&r, 7) < 7);
}

static void test_bootstrap_properties(void)
{
    struct lethe_error err = {0};
    double v[40];
    for (int i = 0; i < 40; i++)
        v[i] = lcg_uniform();
    struct metric_ci a, b, c;
    CHECK(metric_bootstrap_mean(v, 40, "tofu.forget.prob", 0, 0, &a, &err) == 0);
    CHECK_EQ_INT(a.resamples, METRIC_BOOT_RESAMPLES);
    CHECK(a.low <= a.estimate && a.estimate <= a.high);
    CHECK(a.low < a.high);
    CHECK(metric_bootstrap_mean(v, 40, "tofu.forget.prob", 0, 0, &b, &err) == 0);
    CHECK(a.low == b.low && a.high == b.high);    /* same input + seed -> same interval */
    CHECK(metric_bootstrap_mean(v, 40, "tofu.retain.prob", 0, 0, &c, &err) == 0);
    CHECK(a.low != c.low || a.high != c.high);    /* the name enters the seed */
    CHECK(metric_bootstrap_mean(v, 40, "tofu.forget.prob", 1, 0, &c, &err) == 0);
    CHECK(a.low != c.low || a.high != c.high);

    double pos[30], neg[25];
    for (int i = 0; i < 30; i++)
        pos[i] = lcg_uniform() + 0.3;
    for (int i = 0; i < 25; i++)
        neg[i] = lcg_uniform();
    CHECK(metric_bootstrap_auc(pos, 30, neg, 25, "x.mia.loss.auc", 0, 0, &a, &err) == 0);
    CHECK(a.low <= a.estimate && a.estimate <= a.high);
    CHECK(metric_bootstrap_tpr_at_fpr(pos, 30, neg, 25, 1, 10, "x.mia.loss.tpr", 0, 0, &a, &err) == 0);
    CHECK(a.low <= a.estimate && a.estimate <= a.high);

    int yt[60], yp[60];
    double probs[60 * 3];
    for (int i = 0; i < 60; i++) {
        yt[i] = i % 3;
        yp[i] = lcg_uniform() < 0.7 ? yt[i] : (int)(lcg_uniform() * 3);
        for (int k = 0; k < 3; k++)
            probs[i * 3 + k] = lcg_uniform() + (k == yt[i] ? 0.5 : 0);
    }
    CHECK(metric_bootstrap_accuracy(yt, yp, 60, "image.test.acc", 0, 200, &a, &err) == 0);
    CHECK(a.low <= a.estimate && a.estimate <= a.high);
    CHECK_EQ_INT(a.resamples, 200);
    CHECK(metric_bootstrap_macro_f1(yt, yp, 60, "image.test.macro_f1", 0, 200, &a, &err) == 0);
    CHECK(a.low <= a.estimate && a.estimate <= a.high);
    CHECK(metric_bootstrap_macro_auc(probs, 60, 3, yt, "image.test.macro_auc", 0, 200, &a, &err) == 0);
    CHECK(a.low <= a.estimate && a.estimate <= a.high);
    /* two items of two classes: some resamples hold one class only and are skipped */
    int y2[] = {0, 1};
    double p2[] = {0.9, 0.1, 0.2, 0.8};
    CHECK(metric_bootstrap_macro_auc(p2, 2, 2, y2, "m", 0, 100, &a, &err) == 0);
    CHECK(a.resamples > 20 && a.resamples < 80);
    CHECK_NEAR(a.low, 1, 0);
    /* a single item: the interval is the point */
    double one[] = {0.25};
    CHECK(metric_bootstrap_mean(one, 1, "m", 0, 0, &a, &err) == 0);
    CHECK(a.low == 0.25 && a.high == 0.25);
    CHECK(metric_bootstrap_mean(one, 0, "m", 0, 0, &a, &err) == -LETHE_EINPUT);
    double bad[] = {0.25, NAN};
    CHECK(metric_bootstrap_mean(bad, 2, "m", 0, 0, &a, &err) == -LETHE_EINPUT);
    CHECK(metric_bootstrap_auc(bad, 2, neg, 25, "m", 0, 0, &a, &err) == -LETHE_EINPUT);
}

/* ---- golden values ---- */

static char *next_tok(char **p)
{
    while (**p == ' ')
        (*p)++;
    if (!**p)
        return NULL;
    char *t = *p;
    while (**p && **p != ' ')
        (*p)++;
    if (**p)
        *(*p)++ = 0;
    return t;
}

static double num(char **p)
{
    char *t = next_tok(p);
    if (!t) {
        test_cur_failed = 1;
        printf("# golden: line too short\n");
        return NAN;
    }
    if (strcmp(t, "inf") == 0)
        return INFINITY;
    return strtod(t, NULL);
}

static double *nums(char **p, size_t n)
{
    double *v = xmalloc((n ? n : 1) * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = num(p);
    return v;
}

static int *ints(char **p, size_t n)
{
    int *v = xmalloc((n ? n : 1) * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (int)num(p);
    return v;
}

struct maxerr {
    double v;
    int count;
};

static void upd(struct maxerr *m, double e)
{
    if (e > m->v || isnan(e))
        m->v = isnan(e) ? INFINITY : e;
    m->count++;
}

static void test_golden(void)
{
    const char *top = getenv("LETHE_TOP");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/golden/stats_golden.txt", top ? top : ".");
    char *text = NULL;
    struct lethe_error err = {0};
    if (file_read_all(path, &text, NULL, &err) < 0) {
        CHECK(!"cannot read tests/golden/stats_golden.txt");
        printf("# %s\n", err.msg);
        return;
    }
    struct maxerr ks_d = {0, 0}, ks_p = {0, 0}, ks_lp = {0, 0}, as_p = {0, 0}, kolm = {0, 0}, auc_e = {0, 0},
                  roc_e = {0, 0}, f1_e = {0, 0}, acc_e = {0, 0}, mauc_e = {0, 0}, boot_e = {0, 0};
    int roc_shape_bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *p = line;
        char *kind = next_tok(&p);
        if (!kind)
            continue;
        if (strcmp(kind, "ks") == 0 || strcmp(kind, "ksgrid") == 0) {
            int grid = kind[2] == 'g';
            size_t n1 = (size_t)num(&p), n2 = (size_t)num(&p);
            double off = grid ? num(&p) : 0;
            char *meth = next_tok(&p);
            double d = num(&p), pv = num(&p), lp = num(&p);
            double *a, *b;
            if (grid) {
                a = xmalloc(n1 * sizeof(*a));
                b = xmalloc(n2 * sizeof(*b));
                for (size_t i = 0; i < n1; i++)
                    a[i] = (double)i / (double)n1;
                for (size_t j = 0; j < n2; j++)
                    b[j] = (double)j / (double)n2 + off;
            } else {
                a = nums(&p, n1);
                b = nums(&p, n2);
            }
            int exact = strcmp(meth, "exact") == 0;
            struct metric_ks ks;
            enum metric_ks_method m = grid ? METRIC_KS_AUTO : exact ? METRIC_KS_EXACT : METRIC_KS_ASYMP;
            CHECK(metric_ks_2samp(a, n1, b, n2, m, &ks, &err) == 0);
            CHECK_EQ_INT(ks.method, exact ? METRIC_KS_EXACT : METRIC_KS_ASYMP);
            upd(&ks_d, fabs(ks.statistic - d));
            upd(exact ? &ks_p : &as_p, rel_err(ks.pvalue, pv));
            if (isfinite(lp))
                upd(&ks_lp, fabs(ks.log10_pvalue - lp));
            free(a);
            free(b);
        } else if (strcmp(kind, "kolm") == 0) {
            double lam = num(&p), sf = num(&p);
            upd(&kolm, rel_err(exp(metric_kolmogorov_log_sf(lam)), sf));
        } else if (strcmp(kind, "auc") == 0) {
            size_t np = (size_t)num(&p), nn = (size_t)num(&p);
            double want = num(&p), *pos = nums(&p, np), *neg = nums(&p, nn), auc;
            CHECK(metric_auc(pos, np, neg, nn, &auc, &err) == 0);
            upd(&auc_e, fabs(auc - want));
            free(pos);
            free(neg);
        } else if (strcmp(kind, "roc") == 0) {
            size_t np = (size_t)num(&p), nn = (size_t)num(&p), npts = (size_t)num(&p);
            double *pos = nums(&p, np), *neg = nums(&p, nn);
            double *fpr = nums(&p, npts), *tpr = nums(&p, npts), *thr = nums(&p, npts);
            struct metric_roc roc;
            CHECK(metric_roc_curve(pos, np, neg, nn, &roc, &err) == 0);
            if (roc.n != npts) {
                roc_shape_bad++;
            } else {
                for (size_t i = 0; i < npts; i++) {
                    upd(&roc_e, fabs(roc.fpr[i] - fpr[i]));
                    upd(&roc_e, fabs(roc.tpr[i] - tpr[i]));
                    if (roc.thr[i] != thr[i])
                        roc_shape_bad++;
                }
            }
            metric_roc_release(&roc);
            free(pos);
            free(neg);
            free(fpr);
            free(tpr);
            free(thr);
        } else if (strcmp(kind, "f1") == 0) {
            size_t n = (size_t)num(&p);
            double acc = num(&p), f1 = num(&p), v;
            int *yt = ints(&p, n), *yp = ints(&p, n);
            CHECK(metric_accuracy(yt, yp, n, &v, &err) == 0);
            upd(&acc_e, fabs(v - acc));
            CHECK(metric_macro_f1(yt, yp, n, &v, &err) == 0);
            upd(&f1_e, fabs(v - f1));
            free(yt);
            free(yp);
        } else if (strcmp(kind, "mauc") == 0) {
            size_t n = (size_t)num(&p), c = (size_t)num(&p);
            double want = num(&p), v;
            int *y = ints(&p, n);
            double *pr = nums(&p, n * c);
            CHECK(metric_macro_auc_ovr(pr, n, c, y, &v, &err) == 0);
            upd(&mauc_e, isnan(want) && isnan(v) ? 0 : fabs(v - want));
            free(y);
            free(pr);
        } else if (strcmp(kind, "boot") == 0 || strcmp(kind, "bootauc") == 0) {
            int strat = kind[4] == 'a';
            char *name = next_tok(&p);
            uint64_t seed = (uint64_t)num(&p);
            size_t b = (size_t)num(&p), n1 = (size_t)num(&p), n2 = strat ? (size_t)num(&p) : 0;
            double lo = num(&p), hi = num(&p);
            double *v1 = nums(&p, n1), *v2 = nums(&p, n2);
            struct metric_ci ci;
            if (strat)
                CHECK(metric_bootstrap_auc(v1, n1, v2, n2, name, seed, b, &ci, &err) == 0);
            else
                CHECK(metric_bootstrap_mean(v1, n1, name, seed, b, &ci, &err) == 0);
            upd(&boot_e, fabs(ci.low - lo));
            upd(&boot_e, fabs(ci.high - hi));
            free(v1);
            free(v2);
        } else {
            CHECK(!"unknown golden line kind");
        }
    }
    free(text);
    printf("# golden max errors: ks D %.3g (%d), ks exact p rel %.3g (%d), ks log10 p %.3g, ks asymp p rel %.3g "
           "(%d), kstwobign rel %.3g (%d)\n", ks_d.v, ks_d.count, ks_p.v, ks_p.count, ks_lp.v, as_p.v, as_p.count,
           kolm.v, kolm.count);
    printf("# golden max errors: auc %.3g (%d), roc %.3g (%d curves' points), acc %.3g, macro f1 %.3g (%d), "
           "macro auc %.3g (%d), bootstrap %.3g (%d bounds)\n", auc_e.v, auc_e.count, roc_e.v, roc_e.count,
           acc_e.v, f1_e.v, f1_e.count, mauc_e.v, mauc_e.count, boot_e.v, boot_e.count);
    CHECK(ks_d.count >= 40 && auc_e.count >= 30 && f1_e.count >= 30 && mauc_e.count >= 30 && boot_e.count >= 12);
    CHECK(ks_d.v < 1e-15);
    CHECK(ks_p.v < 1e-11);
    CHECK(ks_lp.v < 1e-11);
    CHECK(as_p.v < 1e-12);
    CHECK(kolm.v < 1e-12);
    CHECK(auc_e.v < 1e-14);
    CHECK(roc_e.v < 1e-15);
    CHECK_EQ_INT(roc_shape_bad, 0);
    CHECK(acc_e.v < 1e-15);
    CHECK(f1_e.v < 1e-14);
    CHECK(mauc_e.v < 1e-14);
    CHECK(boot_e.v < 1e-14);
}

int main(void)
{
    RUN(test_ks_examples);
    RUN(test_kolmogorov_examples);
    RUN(test_auc_examples);
    RUN(test_classify_examples);
    RUN(test_means_examples);
    RUN(test_ks_exact_brute_force);
    RUN(test_auc_vs_pairs);
    RUN(test_ks_properties);
    RUN(test_edge_errors);
    RUN(test_rng_vectors);
    RUN(test_bootstrap_properties);
    RUN(test_golden);
    return test_done();
}
