/* MUSE privacy leakage (METRICS.md 3), the ROUGE-L means of TOFU and MUSE (2, 3) and held-out
 * perplexity (6). */
#include <math.h>

#include "base/base.h"
#include "metrics/metrics.h"

static int check_auc(double auc, const char *what, struct lethe_error *err)
{
    if (!(auc >= 0 && auc <= 1))
        return lethe_err(err, LETHE_EINPUT, "privleak: %s AUC %g is not in [0, 1]", what, auc);
    return 0;
}

/* MUSE (arXiv 2407.06460), PrivLeak in Lethe's AUC convention: AUC_MUSE = 1 - AUC. */
int metric_privleak(double auc_u, double auc_o, double *privleak, struct lethe_error *err)
{
    int rc;
    if ((rc = check_auc(auc_u, "unlearned model", err)) < 0 || (rc = check_auc(auc_o, "oracle", err)) < 0)
        return rc;
    *privleak = ((1 - auc_u) - (1 - auc_o)) / ((1 - auc_o) + 1e-10) * 100;
    return 0;
}

int metric_privleak_scores(const double *pos_u, size_t n_pos_u, const double *neg_u, size_t n_neg_u,
                           const double *pos_o, size_t n_pos_o, const double *neg_o, size_t n_neg_o,
                           double *privleak, struct lethe_error *err)
{
    double auc_u, auc_o;
    int rc = metric_auc(pos_u, n_pos_u, neg_u, n_neg_u, &auc_u, err);
    if (rc < 0) {
        lethe_err_prefix(err, "privleak of the unlearned model");
        return rc;
    }
    if ((rc = metric_auc(pos_o, n_pos_o, neg_o, n_neg_o, &auc_o, err)) < 0) {
        lethe_err_prefix(err, "privleak of the oracle");
        return rc;
    }
    return metric_privleak(auc_u, auc_o, privleak, err);
}

int metric_perplexity(const double *nll_sum, const size_t *n_tokens, size_t n, double *ppl,
                      struct lethe_error *err)
{
    double s = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(nll_sum[i]) || nll_sum[i] < 0)
            return lethe_err(err, LETHE_EINPUT, "perplexity: NLL sum %zu is invalid (%g)", i, nll_sum[i]);
        if (n_tokens[i] == 0 && nll_sum[i] != 0)
            return lethe_err(err, LETHE_EINPUT, "perplexity: window %zu has an NLL but no tokens", i);
        s += nll_sum[i];
        count += (double)n_tokens[i];
    }
    if (count == 0)
        return lethe_err(err, LETHE_EINPUT, "perplexity: no tokens");
    *ppl = exp(s / count);
    return 0;
}

/* Mean ROUGE-L statistic (recall or F1) over n (reference, generation) pairs. */
static int rouge_mean(const char *const *refs, const char *const *gens, size_t n, int stem, int f1,
                      double *item, double *mean, struct lethe_error *err)
{
    const char *what = f1 ? "ROUGE-L F1" : "ROUGE-L recall";
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "%s: no items", what);
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!refs[i] || !gens[i])
            return lethe_err(err, LETHE_EINPUT, "%s: item %zu has no %s", what, i,
                             refs[i] ? "generation" : "reference");
        struct rouge_score r = metric_rouge_l(refs[i], gens[i], stem);
        double v = f1 ? r.f1 : r.recall;
        if (item)
            item[i] = v;
        s += v;
    }
    *mean = s / (double)n;
    return 0;
}

int metric_tofu_rouge_recall(const char *const *refs, const char *const *gens, size_t n, double *item,
                             double *mean, struct lethe_error *err)
{
    return rouge_mean(refs, gens, n, 1, 0, item, mean, err);
}

int metric_muse_rouge_f1(const char *const *refs, const char *const *gens, size_t n, double *item,
                         double *mean, struct lethe_error *err)
{
    return rouge_mean(refs, gens, n, 0, 1, item, mean, err);
}
