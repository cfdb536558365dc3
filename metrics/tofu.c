/* TOFU metrics (METRICS.md 2, 8): probabilities, truth ratio, forget quality, model utility,
 * exact memorization, extraction strength and keyword confidence from per-item numbers. */
#include <assert.h>
#include <math.h>
#include <stdint.h>

#include "base/base.h"
#include "metrics/metrics.h"

/* A mean NLL is finite and >= 0, since every log-probability is <= 0. */
static int check_nll(const double *nll, size_t count, const char *what, struct lethe_error *err)
{
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(nll[i]))
            return lethe_err(err, LETHE_EINPUT, "%s: value %zu is not finite (%g)", what, i, nll[i]);
        if (nll[i] < 0)
            return lethe_err(err, LETHE_EINPUT, "%s: value %zu is a negative NLL (%g)", what, i, nll[i]);
    }
    return 0;
}

static int check_shape(size_t n, size_t k, const char *what, struct lethe_error *err)
{
    if (n == 0)
        return lethe_err(err, LETHE_EINPUT, "%s: no items", what);
    if (k == 0)
        return lethe_err(err, LETHE_EINPUT, "%s: no answers per item", what);
    if (n > SIZE_MAX / k)
        return lethe_err(err, LETHE_EINPUT, "%s: %zu x %zu answers overflow", what, n, k);
    return 0;
}

int metric_tofu_prob(const double *nll, size_t n, double *item, double *mean, struct lethe_error *err)
{
    return metric_tofu_pert_prob(nll, n, 1, item, mean, err);
}

int metric_tofu_pert_prob(const double *nll, size_t n, size_t k, double *item, double *mean,
                          struct lethe_error *err)
{
    int rc;
    if ((rc = check_shape(n, k, "probability", err)) < 0 ||
        (rc = check_nll(nll, n * k, "probability", err)) < 0)
        return rc;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += exp(-nll[i * k + j]);
        if (item)
            item[i] = s / (double)k;
        total += s / (double)k;
    }
    *mean = total / (double)n;
    return 0;
}

int metric_tofu_prob_norm(const double *nll_true, const double *nll_wrong, size_t n, size_t k,
                          double *item, double *mean, struct lethe_error *err)
{
    int rc;
    if ((rc = check_shape(n, k, "prob_norm", err)) < 0 ||
        (rc = check_nll(nll_true, n, "prob_norm answers", err)) < 0 ||
        (rc = check_nll(nll_wrong, n * k, "prob_norm wrong answers", err)) < 0)
        return rc;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        /* P_t/(P_t + sum_j P_j) = 1/(1 + exp(x)), x = log sum_j exp(nll_t - nll_j) */
        const double *w = nll_wrong + i * k;
        double mx = -INFINITY;
        for (size_t j = 0; j < k; j++)
            mx = fmax(mx, nll_true[i] - w[j]);
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += exp(nll_true[i] - w[j] - mx);
        double x = mx + log(s);
        double v = x > 0 ? exp(-x) / (1 + exp(-x)) : 1 / (1 + exp(x));
        if (item)
            item[i] = v;
        total += v;
    }
    *mean = total / (double)n;
    return 0;
}

int metric_tofu_log_truth_ratios(const double *nll_true, const double *nll_pert, size_t n, size_t k,
                                 double *log_tr, struct lethe_error *err)
{
    int rc;
    if ((rc = check_shape(n, k, "truth ratio", err)) < 0 ||
        (rc = check_nll(nll_true, n, "truth ratio true answers", err)) < 0 ||
        (rc = check_nll(nll_pert, n * k, "truth ratio perturbed answers", err)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += nll_pert[i * k + j];
        log_tr[i] = nll_true[i] - s / (double)k;
    }
    return 0;
}

int metric_tofu_truth_ratio(const double *log_tr, size_t n, enum metric_tr_form form, double *item,
                            double *mean, struct lethe_error *err)
{
    if ((unsigned)form >= METRIC_TR_FORM_COUNT)
        return lethe_err(err, LETHE_EINPUT, "truth ratio: unknown aggregate %d", (int)form);
    int rc = metric_check_finite(log_tr, n, "truth ratio", err);
    if (rc < 0)
        return rc;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double x = log_tr[i], v;
        if (form == METRIC_TR_FORGET)
            v = exp(-fabs(x));                          /* min(TR, 1/TR) */
        else if (form == METRIC_TR_RETAIN)
            v = x >= 0 ? 0 : -expm1(x);                 /* max(0, 1 - TR) */
        else
            v = x > 0 ? exp(-x) / (1 + exp(-x)) : 1 / (1 + exp(x));    /* 1/(1 + TR) */
        if (item)
            item[i] = v;
        total += v;
    }
    *mean = total / (double)n;
    return 0;
}

int metric_tofu_forget_quality(const double *log_tr, size_t n, const double *oracle_log_tr,
                               size_t n_oracle, double *fq, double *log10_fq, struct lethe_error *err)
{
    struct metric_ks ks;
    int rc = metric_ks_2samp(log_tr, n, oracle_log_tr, n_oracle, METRIC_KS_AUTO, &ks, err);
    if (rc < 0) {
        lethe_err_prefix(err, "forget quality");
        return rc;
    }
    *fq = ks.pvalue;
    if (log10_fq)
        *log10_fq = ks.log10_pvalue;
    return 0;
}

static const char *const mu_names[] = {
    "retain prob", "retain rouge_l_recall", "retain truth_ratio",
    "ra prob_norm", "ra rouge_l_recall", "ra truth_ratio",
    "wf prob_norm", "wf rouge_l_recall", "wf truth_ratio",
};
static_assert(sizeof(mu_names) / sizeof(mu_names[0]) == METRIC_MU_TERM_COUNT,
              "one name per model-utility term");

const char *metric_tofu_mu_term_name(enum metric_tofu_mu_term t)
{
    return (unsigned)t < METRIC_MU_TERM_COUNT ? mu_names[t] : NULL;
}

/* H of named terms: the error names the term, not only its index. */
static int named_hmean(const double *v, const char *const *names, size_t n, const char *what, double *h,
                       struct lethe_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            return lethe_err(err, LETHE_EINPUT, "%s: term '%s' is not finite (%g)", what, names[i], v[i]);
        if (v[i] < 0)
            return lethe_err(err, LETHE_EINPUT, "%s: term '%s' is negative (%g)", what, names[i], v[i]);
    }
    int rc = metric_hmean(v, n, h, err);
    if (rc < 0)
        lethe_err_prefix(err, "%s", what);
    return rc;
}

int metric_tofu_model_utility(const double v[METRIC_MU_TERM_COUNT], double *mu, struct lethe_error *err)
{
    return named_hmean(v, mu_names, METRIC_MU_TERM_COUNT, "model utility", mu, err);
}

int metric_tofu_retain_utility(double prob, double rouge, double truth_ratio, double *ru,
                               struct lethe_error *err)
{
    const double v[3] = {prob, rouge, truth_ratio};
    return named_hmean(v, mu_names, 3, "retain utility", ru, err);
}

int metric_exact_memorization(const int *pred, const int *target, size_t len, double *em,
                              struct lethe_error *err)
{
    if (len == 0)
        return lethe_err(err, LETHE_EINPUT, "exact memorization: empty answer");
    size_t hits = 0;
    for (size_t t = 0; t < len; t++)
        hits += pred[t] == target[t];
    *em = (double)hits / (double)len;
    return 0;
}

int metric_extraction_strength(const int *pred, const int *target, size_t len, double *es,
                               struct lethe_error *err)
{
    if (len == 0)
        return lethe_err(err, LETHE_EINPUT, "extraction strength: empty answer");
    size_t k = len;     /* k* = one past the last mismatch; 0 when the whole answer matches */
    while (k > 0 && pred[k - 1] == target[k - 1])
        k--;
    *es = 1.0 - (double)k / (double)len;
    return 0;
}

int metric_keyword_conf(const double *lp, const size_t *tok_begin, const size_t *tok_end, size_t n_tok,
                        const struct rouge_tokens *keywords, double *conf, struct lethe_error *err)
{
    double s = 0;
    size_t used = 0;
    for (size_t t = 0; t < n_tok; t++) {
        if (!isfinite(lp[t]) || lp[t] > 0)
            return lethe_err(err, LETHE_EINPUT, "keyword confidence: log-prob %zu is invalid (%g)", t,
                             lp[t]);
        if (tok_end[t] < tok_begin[t])
            return lethe_err(err, LETHE_EINPUT, "keyword confidence: token %zu ends before it begins", t);
        for (size_t w = 0; w < keywords->n; w++) {
            size_t kb = keywords->off[w], ke = kb + keywords->src_len[w];
            if (tok_begin[t] < ke && kb < tok_end[t]) {
                s += lp[t];
                used++;
                break;
            }
        }
    }
    *conf = used ? exp(s / (double)used) : NAN;
    return 0;
}

/* FLAT (arXiv 2410.11143) forget-quality gap, Lethe's definition (METRICS.md 8). */
int metric_fq_gap(double bleu_u, double rlr_u, double bleu_o, double rlr_o, double *gap,
                  struct lethe_error *err)
{
    static const char *const names[4] = {"BLEU", "ROUGE-L recall", "oracle's BLEU",
                                         "oracle's ROUGE-L recall"};
    const double v[4] = {bleu_u, rlr_u, bleu_o, rlr_o};
    for (int i = 0; i < 4; i++)
        if (!(v[i] >= 0 && v[i] <= 1))
            return lethe_err(err, LETHE_EINPUT, "fq_gap: %s %g is not in [0, 1]", names[i], v[i]);
    *gap = fabs(bleu_u - bleu_o) + fabs(rlr_u - rlr_o);
    return 0;
}

int metric_fq_gap_texts(const char *const *refs, const char *const *gens_u, const char *const *gens_o,
                        size_t n, double *gap, struct lethe_error *err)
{
    double rlr_u, rlr_o;
    int rc = metric_tofu_rouge_recall(refs, gens_u, n, NULL, &rlr_u, err);
    if (rc == 0)
        rc = metric_tofu_rouge_recall(refs, gens_o, n, NULL, &rlr_o, err);
    if (rc < 0) {
        lethe_err_prefix(err, "fq_gap");
        return rc;
    }
    return metric_fq_gap(metric_bleu4(refs, gens_u, n), rlr_u, metric_bleu4(refs, gens_o, n), rlr_o, gap,
                         err);
}
