/* lethe stats: the metrics library on plain files, for scores produced elsewhere: KS test, ROC
 * AUC with TPR at low FPR, ROUGE-L, bootstrap CI, harmonic mean. One value (or string) a line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/harness.h"
#include "metrics/metrics.h"

struct lines {
    char **s;
    size_t n;
    char *text;     /* owns the strings */
};

/* Splits a file into lines (a final newline ends the last line; "\r\n" is accepted). */
static int read_lines_impl(const char *path, struct lines *out, struct lethe_error *err)
{
    size_t len = 0, cap = 0;
    memset(out, 0, sizeof(*out));
    if (file_read_all(path, &out->text, &len, err) < 0)
        return -LETHE_EINPUT;
    char *p = out->text, *end = out->text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        if (e > p && e[-1] == '\r')
            e[-1] = '\0';
        *e = '\0';
        xgrow(&out->s, &cap, out->n + 1, sizeof(*out->s));
        out->s[out->n++] = p;
        p = e + 1;
    }
    return 0;
}

static void lines_release(struct lines *l)
{
    free(l->s);
    free(l->text);
}

/* One finite number a line; an empty file, a blank line, a non-number or NaN/inf is an error
 * naming the file and line. *v is returned (free). */
static int read_numbers_impl(const char *path, double **v, size_t *n, struct lethe_error *err)
{
    struct lines l;
    *v = NULL;
    *n = 0;
    if (read_lines_impl(path, &l, err) < 0)
        return -LETHE_EINPUT;
    if (l.n == 0) {
        lines_release(&l);
        return lethe_err(err, LETHE_EINPUT, "'%s' is empty: expected one number a line", path);
    }
    *v = xmalloc(l.n * sizeof(**v));
    for (size_t i = 0; i < l.n; i++) {
        char *s = l.s[i], *e;
        while (*s == ' ' || *s == '\t')
            s++;
        errno = 0;
        double x = strtod(s, &e);
        while (*e == ' ' || *e == '\t')
            e++;
        if (s == e || *e || errno == ERANGE || !isfinite(x)) {
            int rc = lethe_err(err, LETHE_EINPUT, "'%s': line %zu: expected a finite number, got '%.40s%s'",
                               path, i + 1, l.s[i], strlen(l.s[i]) > 40 ? "..." : "");
            free(*v);
            *v = NULL;
            lines_release(&l);
            return rc;
        }
        (*v)[i] = x;
    }
    *n = l.n;
    lines_release(&l);
    return 0;
}

static int stats_ks_impl(char **pos, int npos, int json, struct lethe_error *err)
{
    if (npos != 2)
        return lethe_err(err, LETHE_EUSAGE, "ks needs two files: lethe stats ks A B");
    double *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    struct metric_ks ks;
    int rc = read_numbers_impl(pos[0], &a, &na, err);
    if (rc == 0)
        rc = read_numbers_impl(pos[1], &b, &nb, err);
    if (rc == 0)
        rc = metric_ks_2samp(a, na, b, nb, METRIC_KS_AUTO, &ks, err);
    if (rc == 0 && json)
        printf("{\"statistic\": %.17g, \"pvalue\": %.17g, \"log10_pvalue\": %.17g, \"n1\": %zu, "
               "\"n2\": %zu, \"method\": \"%s\"}\n", ks.statistic, ks.pvalue, ks.log10_pvalue, ks.n1,
               ks.n2, metric_ks_method_name(ks.method));
    else if (rc == 0)
        printf("KS two-sample test (%s): D = %.6g, p = %.6g (log10 p = %.6f), n1 = %zu, n2 = %zu\n",
               metric_ks_method_name(ks.method), ks.statistic, ks.pvalue, ks.log10_pvalue, ks.n1, ks.n2);
    free(a);
    free(b);
    return rc;
}

static int write_roc_impl(const char *path, const struct metric_roc *roc, struct lethe_error *err)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "# threshold\tfpr\ttpr\n");
    for (size_t i = 0; i < roc->n; i++)
        strbuf_addf(&sb, "%.17g\t%.17g\t%.17g\n", roc->thr[i], roc->fpr[i], roc->tpr[i]);
    int rc = file_write_atomic(path, sb.buf, sb.len, err);
    strbuf_release(&sb);
    return rc;
}

static int stats_auc_impl(const char *pos_path, const char *neg_path, const char *roc_path, int json,
                          struct lethe_error *err)
{
    if (!pos_path || !neg_path)
        return lethe_err(err, LETHE_EUSAGE, "auc needs --pos FILE and --neg FILE (member scores "
                         "first; higher = more member-like)");
    double *p = NULL, *q = NULL, auc = NAN, t1 = NAN, t01 = NAN;
    size_t np = 0, nq = 0;
    struct metric_roc roc = {0};
    int rc = read_numbers_impl(pos_path, &p, &np, err);
    if (rc == 0)
        rc = read_numbers_impl(neg_path, &q, &nq, err);
    if (rc == 0)
        rc = metric_auc(p, np, q, nq, &auc, err);
    if (rc == 0)
        rc = metric_tpr_at_fpr(p, np, q, nq, 1, 100, &t1, err);
    if (rc == 0)
        rc = metric_tpr_at_fpr(p, np, q, nq, 1, 1000, &t01, err);
    if (rc == 0 && roc_path) {
        rc = metric_roc_curve(p, np, q, nq, &roc, err);
        if (rc == 0)
            rc = write_roc_impl(roc_path, &roc, err);
    }
    if (rc == 0 && json)
        printf("{\"auc\": %.17g, \"tpr_at_fpr_0.01\": %.17g, \"tpr_at_fpr_0.001\": %.17g, "
               "\"n_pos\": %zu, \"n_neg\": %zu}\n", auc, t1, t01, np, nq);
    else if (rc == 0)
        printf("ROC AUC = %.6f, TPR at 1%% FPR = %.6f, TPR at 0.1%% FPR = %.6f (n_pos = %zu, "
               "n_neg = %zu)%s%s\n", auc, t1, t01, np, nq, roc_path ? "; ROC points in " : "",
               roc_path ? roc_path : "");
    metric_roc_release(&roc);
    free(p);
    free(q);
    return rc;
}

static int stats_rouge_impl(const char *ref_path, const char *hyp_path, const char *variant, int json,
                            struct lethe_error *err)
{
    if (!ref_path || !hyp_path)
        return lethe_err(err, LETHE_EUSAGE, "rouge needs --ref FILE and --hyp FILE (one string a line)");
    int recall = strcmp(variant, "recall") == 0;
    if (!recall && strcmp(variant, "f1") != 0)
        return lethe_err(err, LETHE_EUSAGE, "--variant: expected recall or f1, got '%s'", variant);
    struct lines r, h;
    if (read_lines_impl(ref_path, &r, err) < 0)
        return -LETHE_EINPUT;
    if (read_lines_impl(hyp_path, &h, err) < 0) {
        lines_release(&r);
        return -LETHE_EINPUT;
    }
    int rc = 0;
    if (r.n == 0)
        rc = lethe_err(err, LETHE_EINPUT, "'%s' is empty: expected one reference a line", ref_path);
    else if (r.n != h.n)
        rc = lethe_err(err, LETHE_EINPUT, "'%s' has %zu lines and '%s' %zu: one hypothesis per reference",
                       ref_path, r.n, hyp_path, h.n);
    double *v = rc == 0 ? xmalloc(r.n * sizeof(*v)) : NULL, mean = 0;
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        /* TOFU and SemEval use stemmed recall; MUSE the unstemmed F1 (METRICS.md 1.2) */
        struct rouge_score s = metric_rouge_l(r.s[i], h.s[i], recall);
        v[i] = recall ? s.recall : s.f1;
    }
    if (rc == 0)
        rc = metric_mean(v, r.n, &mean, err);
    if (rc == 0 && json) {
        printf("{\"mean\": %.17g, \"values\": [", mean);
        for (size_t i = 0; i < r.n; i++)
            printf("%s%.17g", i ? ", " : "", v[i]);
        printf("]}\n");
    } else if (rc == 0) {
        for (size_t i = 0; i < r.n; i++)
            printf("%.6f\n", v[i]);
        printf("mean ROUGE-L %s (%s) = %.6f over %zu pairs\n", recall ? "recall" : "F1",
               recall ? "stemmed" : "unstemmed", mean, r.n);
    }
    free(v);
    lines_release(&r);
    lines_release(&h);
    return rc;
}

static int stats_bootstrap_impl(char **pos, int npos, const char *stat, const char *resamples_s,
                                const char *seed_s, int json, struct lethe_error *err)
{
    if (npos != 1)
        return lethe_err(err, LETHE_EUSAGE, "bootstrap needs one file: lethe stats bootstrap FILE");
    if (strcmp(stat, "mean") != 0)
        return lethe_err(err, LETHE_EUSAGE, "--stat: only 'mean' is available, got '%s'", stat);
    long resamples, seed;
    if (cli_long("--resamples", resamples_s, &resamples, err) < 0 ||
        cli_long("--seed", seed_s, &seed, err) < 0)
        return -LETHE_EUSAGE;
    if (resamples < 1 || resamples > 10000000)
        return lethe_err(err, LETHE_EUSAGE, "--resamples: expected 1 to 10000000, got %ld", resamples);
    double *v = NULL;
    size_t n = 0;
    struct metric_ci ci;
    int rc = read_numbers_impl(pos[0], &v, &n, err);
    /* seeded with seed XOR fnv1a64("mean"), as every CI of a metric named "mean" (METRICS.md 1.7) */
    if (rc == 0)
        rc = metric_bootstrap_mean(v, n, "mean", (uint64_t)seed, (size_t)resamples, &ci, err);
    if (rc == 0 && json)
        printf("{\"estimate\": %.17g, \"ci_low\": %.17g, \"ci_high\": %.17g, \"resamples\": %ld}\n",
               ci.estimate, ci.low, ci.high, resamples);
    else if (rc == 0)
        printf("mean = %.6g, 95%% percentile CI [%.6g, %.6g] (%ld resamples, seed %ld, n = %zu)\n",
               ci.estimate, ci.low, ci.high, resamples, seed, n);
    free(v);
    return rc;
}

static int stats_hmean_impl(char **pos, int npos, int json, struct lethe_error *err)
{
    if (npos != 1)
        return lethe_err(err, LETHE_EUSAGE, "hmean needs one file: lethe stats hmean FILE");
    double *v = NULL, h = NAN;
    size_t n = 0;
    int rc = read_numbers_impl(pos[0], &v, &n, err);
    if (rc == 0 && (rc = metric_hmean(v, n, &h, err)) < 0)
        lethe_err_prefix(err, "'%s'", pos[0]);
    if (rc == 0)
        printf(json ? "{\"hmean\": %.17g, \"n\": %zu}\n" : "harmonic mean = %.6g (n = %zu)\n", h, n);
    free(v);
    return rc;
}

int cmd_stats(int argc, char **argv)
{
    const char *pos_f = NULL, *neg_f = NULL, *roc = NULL, *ref = NULL, *hyp = NULL;
    const char *variant = "recall", *stat = "mean", *resamples = "1000", *seed = "0";
    int json = 0;
    const struct cli_opt opts[] = {
        {"pos", CLI_STR, &pos_f, NULL}, {"neg", CLI_STR, &neg_f, NULL}, {"roc", CLI_STR, &roc, NULL},
        {"ref", CLI_STR, &ref, NULL}, {"hyp", CLI_STR, &hyp, NULL}, {"variant", CLI_STR, &variant, NULL},
        {"stat", CLI_STR, &stat, NULL}, {"resamples", CLI_STR, &resamples, NULL},
        {"seed", CLI_STR, &seed, NULL}, {"json", CLI_FLAG, NULL, &json}, {NULL, CLI_STR, NULL, NULL},
    };
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    struct lethe_error err = {0};
    const char *what = npos > 0 ? pos[0] : "";
    char **rest = pos + (npos > 0);
    int nrest = npos > 0 ? npos - 1 : 0;
    if (strcmp(what, "ks") == 0)
        rc = stats_ks_impl(rest, nrest, json, &err);
    else if (strcmp(what, "auc") == 0)
        rc = nrest ? lethe_err(&err, LETHE_EUSAGE, "auc takes --pos and --neg, not '%s'", rest[0])
                   : stats_auc_impl(pos_f, neg_f, roc, json, &err);
    else if (strcmp(what, "rouge") == 0)
        rc = nrest ? lethe_err(&err, LETHE_EUSAGE, "rouge takes --ref and --hyp, not '%s'", rest[0])
                   : stats_rouge_impl(ref, hyp, variant, json, &err);
    else if (strcmp(what, "bootstrap") == 0)
        rc = stats_bootstrap_impl(rest, nrest, stat, resamples, seed, json, &err);
    else if (strcmp(what, "hmean") == 0)
        rc = stats_hmean_impl(rest, nrest, json, &err);
    else
        rc = lethe_err(&err, LETHE_EUSAGE, "expected ks, auc, rouge, bootstrap or hmean%s%s%s "
                       "(see 'lethe stats --help')", *what ? ", got '" : "", what, *what ? "'" : "");
    free(pos);
    if (rc < 0) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    return 0;
}
