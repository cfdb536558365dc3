/* metrics: pure functions of scores, texts and labels, and the registry of every metric name
 * Lethe writes (METRICS.md), with the direction that says which way is better.
 *
 * How to use it in ten lines:
 *
 *     const struct metric_info *m = metric_lookup("tofu.forget.rouge_l_recall");
 *     if (m && m->dir == METRIC_ORACLE)
 *         ...   // better = closer to the retain oracle's value
 *     double d = metric_badness(m->dir, value, oracle_value);   // lower = better, any direction
 *
 * Adding a metric name: one row in metrics/registry.c (a glob pattern over the name, the
 * direction, the range of values, a one-line summary); keep the more specific patterns first.
 */
#ifndef LETHE_METRICS_H
#define LETHE_METRICS_H

#include <stddef.h>

enum metric_dir {
    METRIC_HIGHER,      /* ↑ higher is better */
    METRIC_LOWER,       /* ↓ lower is better */
    METRIC_ORACLE,      /* →O closest to the retain oracle (run 'retrain') is best */
    METRIC_ZERO,        /* →0 zero is best */
    METRIC_INFO,        /* reported, not ranked */
    METRIC_DIR_COUNT
};

/* The set of values a metric can take (METRICS.md 0.1: bounded metrics are fractions). */
enum metric_range {
    METRIC_RANGE_REAL,      /* (-inf, inf): differences, ratios of differences */
    METRIC_RANGE_UNIT,      /* [0, 1]: fractions, probabilities, AUCs, p-values, F1 */
    METRIC_RANGE_NONNEG,    /* [0, inf) */
    METRIC_RANGE_PERCENT,   /* [-100, inf): privleak, a relative change in percent */
    METRIC_RANGE_LOG10P,    /* (-inf, 0]: log10 of a p-value */
    METRIC_RANGE_PPL,       /* [1, inf): perplexity */
    METRIC_RANGE_GAP2,      /* [0, 2]: a sum of two gaps of fractions, or 1 - cosine */
    METRIC_RANGE_COUNT
};

struct metric_info {
    const char *pattern;    /* glob over the metric name: '*' matches any run of characters */
    enum metric_dir dir;
    const char *summary;
    enum metric_range range;    /* added last: rows written without it read as REAL */
};

extern const struct metric_info metric_table[];
extern const size_t metric_table_count;

/* The first registry row whose pattern matches name; NULL for a name Lethe does not know. */
const struct metric_info *metric_lookup(const char *name);
/* "higher", "lower", "oracle", "zero", "info". */
const char *metric_dir_name(enum metric_dir dir);
/* How bad a value is, lower = better, so values of any direction can be ranked and compared:
 * -v (higher), v (lower), |v - oracle| (oracle; NAN when the oracle is NAN), |v| (zero),
 * NAN (info). */
double metric_badness(enum metric_dir dir, double value, double oracle);
/* "[0,1]", "[0,inf)", "(-inf,inf)", "[-100,inf) %", "(-inf,0]", "[1,inf)", "[0,2]";
 * "unknown" out of range. */
const char *metric_range_name(enum metric_range range);
/* The closed bounds of a range (+-INFINITY where open-ended); -1 for an unknown range. */
int metric_range_bounds(enum metric_range range, double *lo, double *hi);
/* 1 if value is finite and lies in the range, else 0 (NaN and +-inf never do). */
int metric_in_range(enum metric_range range, double value);

/* ==== text: ROUGE, Porter stemmer, exact match, BLEU (metrics/rouge.c, metrics/porter.c) ==== */
/* Section owned by the engineer of the text metrics (also metrics/text_bleu.c,
 * metrics/text_keywords.c). Tokenize once, score many:
 *
 *     struct rouge_tokens ref, gen;
 *     metric_rouge_tokenize(&ref, answer, 1);         // 1 = Porter stemming (TOFU), 0 = off (MUSE)
 *     metric_rouge_tokenize(&gen, generation, 1);
 *     struct rouge_score s = metric_rouge_l_tokens(&ref, &gen);   // s.recall, s.precision, s.f1
 *     metric_rouge_tokens_release(&ref); metric_rouge_tokens_release(&gen);
 *
 * Nothing here fails on input: any NUL-terminated byte string is valid text. */
#include <stdint.h>

/* The tokens of a text (METRICS.md 1.2): ASCII lowercased, maximal runs of [a-z0-9] (other
 * bytes, non-ASCII ones included, separate), optionally stemmed. Owned by the struct. */
struct rouge_tokens {
    size_t n;
    char **tok;         /* n NUL-terminated tokens */
    size_t *len;        /* strlen of each token */
    uint64_t *hash;     /* FNV-1a of each token: equal tokens have equal hashes */
    size_t *off;        /* byte offset of the token in the source text */
    size_t *src_len;    /* its byte length in the source text (before stemming) */
    char *buf;
};
/* Tokenizes text into t (initialised here; release with metric_rouge_tokens_release); with
 * stem, tokens longer than 3 bytes go through metric_porter_stem. */
void metric_rouge_tokenize(struct rouge_tokens *t, const char *text, int stem);
/* Stems, in place, the tokens of t longer than 3 bytes (what stem = 1 does). */
void metric_rouge_stem_tokens(struct rouge_tokens *t);
/* Frees what t holds and zeroes it; NULL and zeroed structs are fine. */
void metric_rouge_tokens_release(struct rouge_tokens *t);
/* 1 if token i of a equals token j of b. */
int metric_rouge_token_eq(const struct rouge_tokens *a, size_t i, const struct rouge_tokens *b,
                          size_t j);
/* Porter stemmer, NLTK 3.8 NLTK_EXTENSIONS mode: stems the lowercase word w[0..len) in place
 * (a stem is never longer than its word), writes a NUL after it (w needs len + 1 bytes) and
 * returns its length. Words of 1-2 letters stay, as in NLTK (ROUGE stems only > 3). */
size_t metric_porter_stem(char *w, size_t len);

/* Length of the longest common subsequence of two token lists; O(|a| |b|) time after the
 * common prefix and suffix are taken off, O(min(|a|, |b|)) memory. */
size_t metric_lcs(const struct rouge_tokens *a, const struct rouge_tokens *b);
struct rouge_score {
    double precision;   /* LCS / |prediction| */
    double recall;      /* LCS / |reference| */
    double f1;          /* 2PR/(P+R), 0 when P + R = 0 */
};
/* ROUGE-L of a prediction against a reference (argument order matters: recall divides by the
 * reference); all 0 when either list is empty. */
struct rouge_score metric_rouge_l_tokens(const struct rouge_tokens *ref,
                                         const struct rouge_tokens *pred);
/* The same on strings, tokenized with or without stemming. */
struct rouge_score metric_rouge_l(const char *ref, const char *pred, int stem);
/* Exact match (METRICS.md 1.3): 1 iff the ASCII-lowercased, ASCII-whitespace-stripped strings
 * are equal, else 0. */
int metric_exact_match(const char *gen, const char *gt);

/* Corpus BLEU-4 over unstemmed ROUGE tokens (METRICS.md 8): add every (reference, hypothesis)
 * pair of the corpus to a zeroed bleu_stats, then score it. */
struct bleu_stats {
    size_t match[4];    /* clipped n-gram matches, n = 1..4 */
    size_t total[4];    /* hypothesis n-grams */
    size_t hyp_len;     /* c: total hypothesis tokens */
    size_t ref_len;     /* r: total reference tokens */
};
void metric_bleu_add(struct bleu_stats *st, const struct rouge_tokens *ref,
                     const struct rouge_tokens *hyp);
/* BP * exp(mean log p_n), BP = 1 if c > r else exp(1 - r/c); 0 when any p_n is 0 or there is
 * no hypothesis n-gram of some order. In [0, 1]. */
double metric_bleu_score(const struct bleu_stats *st);
/* Corpus BLEU-4 of n hypotheses against their references (tokenized without stemming). */
double metric_bleu4(const char *const *refs, const char *const *hyps, size_t n);

/* Lethe's fixed stop-word list (metrics/text_keywords.c), sorted, lowercase ROUGE tokens. */
extern const char *const metric_stopwords[];
extern const size_t metric_stopword_count;
int metric_is_stopword(const char *token);
/* Keywords of an answer (METRICS.md 8): every occurrence, in order, of its unstemmed ROUGE
 * tokens that are neither stop words nor tokens of the question; off/src_len give each
 * occurrence's byte span in answer (for keyword_conf). out is initialised here; release it. */
void metric_keywords(struct rouge_tokens *out, const char *answer, const char *question);
/* Keyword accuracy of one item: the fraction of the distinct stemmed keywords that occur among
 * the stemmed generation tokens. Returns 1 and sets *acc, or 0 (*acc = 0) when the answer has
 * no keyword and the item is left out of the mean. The _tokens form takes the keywords already
 * stemmed (metric_keywords then metric_rouge_stem_tokens) and the stemmed generation. */
int metric_keyword_acc(const char *answer, const char *question, const char *generation,
                       double *acc);
int metric_keyword_acc_tokens(const struct rouge_tokens *keywords_stemmed,
                              const struct rouge_tokens *gen_stemmed, double *acc);

/* ==== statistics: KS, AUC/ROC/TPR, classification, means, bootstrap ======================== */
/* (metrics/ks.c, metrics/auc.c, metrics/stats.c, metrics/bootstrap.c, metrics/classify.c)
 * Section owned by the engineer of the statistics.
 *
 *     struct metric_ks ks;
 *     if (metric_ks_2samp(a, na, b, nb, METRIC_KS_AUTO, &ks, &err) < 0) return ...;
 *     // ks.pvalue may underflow to 0: store ks.log10_pvalue too (METRICS.md 0.1)
 *     double auc; metric_auc(pos, npos, neg, nneg, &auc, &err);      // higher score = member
 *     struct metric_ci ci;
 *     metric_bootstrap_auc(pos, npos, neg, nneg, "tofu.mia.loss.auc", 0, 0, &ci, &err);
 *
 * Every function returns 0 or a negative LETHE_E* code with err filled. Inputs are checked:
 * an empty input, a NaN or an infinite value is a LETHE_EINPUT error naming the index, so no
 * NaN reaches the results database silently. The one documented NAN result is
 * metric_macro_auc_ovr when no class has both positives and negatives (stored as NULL). */
#include <stdint.h>
struct lethe_error;

/* -- two-sample Kolmogorov-Smirnov test, two-sided (METRICS.md 1.4) -- */
enum metric_ks_method {
    METRIC_KS_AUTO,     /* exact when max(n1, n2) <= 10000, else asymptotic (scipy's rule) */
    METRIC_KS_EXACT,    /* log-space lattice-path absorption, O(n1 n2) time, O(n2) memory */
    METRIC_KS_ASYMP,    /* Kolmogorov limit at lambda = D sqrt(n1 n2/(n1 + n2)) */
    METRIC_KS_METHOD_COUNT
};
struct metric_ks {
    double statistic;       /* D = K/(n1 n2) */
    double pvalue;          /* exp(log p); 0 when it underflows */
    double log10_pvalue;    /* always finite */
    size_t n1, n2;
    enum metric_ks_method method;   /* the method used: EXACT or ASYMP, never AUTO */
};
/* "auto", "exact", "asymp". */
const char *metric_ks_method_name(enum metric_ks_method m);
/* KS test of samples a (n1 values) and b (n2 values); ties allowed. */
int metric_ks_2samp(const double *a, size_t n1, const double *b, size_t n2, enum metric_ks_method method,
                    struct metric_ks *out, struct lethe_error *err);
/* The integer statistic K = max over distinct pooled values of |i n2 - j n1| (sorts copies). */
int metric_ks_stat_k(const double *a, size_t n1, const double *b, size_t n2, int64_t *k,
                     struct lethe_error *err);
/* Natural log of the exact two-sided p = P(K' >= k) for sizes n1, n2 (no ties); 0 if k <= 0,
 * -INFINITY if k > n1 n2.
 * Fails (LETHE_EFAIL) only if the self-check logaddexp(A, L(n1,n2)) = 0 does not hold. */
int metric_ks_exact_log_p(size_t n1, size_t n2, int64_t k, double *log_p, struct lethe_error *err);
/* Natural log of the Kolmogorov survival function (scipy.stats.kstwobign.sf); 0 for lambda <= 0. */
double metric_kolmogorov_log_sf(double lambda);

/* -- ROC AUC, ROC curve, TPR at fixed FPR (METRICS.md 1.5, 1.6); higher score = member -- */
/* AUC with ties as half, from average ranks. Needs n_pos, n_neg >= 1. */
int metric_auc(const double *pos, size_t n_pos, const double *neg, size_t n_neg, double *auc,
               struct lethe_error *err);
/* ROC points, one per distinct score in decreasing order after the (0,0) point at +inf:
 * thr[i] is the threshold (predict member iff score >= thr[i]), ending at (1,1). Not thinned
 * (sklearn's roc_curve with drop_intermediate=False). */
struct metric_roc {
    size_t n;               /* number of points = distinct scores + 1 */
    double *fpr, *tpr, *thr;
};
/* Fills roc (arrays owned by roc until metric_roc_release). */
int metric_roc_curve(const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                     struct metric_roc *roc, struct lethe_error *err);
void metric_roc_release(struct metric_roc *roc);   /* accepts NULL and a zeroed struct */
/* TPR at FPR <= alpha = num/den: k = floor(num n_neg / den) false positives allowed (integer
 * arithmetic), s* = the (k+1)-th largest negative, TPR = #{pos > s*}/n_pos (1 if k >= n_neg). */
int metric_tpr_at_fpr(const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                      unsigned num, unsigned den, double *tpr, struct lethe_error *err);

/* -- classification (METRICS.md 7); labels are ints, any value -- */
/* Index of the largest value; ties go to the lowest index; n >= 1; NaN never wins. */
size_t metric_argmax(const double *row, size_t n);
size_t metric_argmax_f(const float *row, size_t n);
int metric_accuracy(const int *y_true, const int *y_pred, size_t n, double *acc, struct lethe_error *err);
/* Unweighted mean of F1_c = 2TP/(2TP+FP+FN) over the labels present in y_true or y_pred. */
int metric_macro_f1(const int *y_true, const int *y_pred, size_t n, double *f1, struct lethe_error *err);
/* One-vs-rest macro AUC: probs is (n, n_classes) row-major, y_true in [0, n_classes); mean of
 * the AUC of column c (positives y = c) over the classes with >= 1 positive and >= 1 negative;
 * *auc = NAN (and 0 returned) when there is none. */
int metric_macro_auc_ovr(const double *probs, size_t n, size_t n_classes, const int *y_true, double *auc,
                         struct lethe_error *err);

/* -- means (METRICS.md 1.1); sums in double -- */
/* 0 if n >= 1 and every v[i] is finite, else a LETHE_EINPUT error "<what>: ..." naming the index. */
int metric_check_finite(const double *v, size_t n, const char *what, struct lethe_error *err);
int metric_mean(const double *v, size_t n, double *mean, struct lethe_error *err);
/* Geometric mean of probabilities exp(-mean of the per-item mean NLLs). */
int metric_geomean_prob(const double *mean_nll, size_t n, double *gmean, struct lethe_error *err);
/* H = n / sum 1/v_i; 0 if any v_i = 0; a negative value is an error. */
int metric_hmean(const double *v, size_t n, double *hmean, struct lethe_error *err);

/* -- percentile bootstrap confidence intervals (METRICS.md 1.7) -- */
#define METRIC_BOOT_RESAMPLES 1000
/* xoshiro256** seeded through splitmix64 (Blackman & Vigna, prng.di.unimi.it). */
struct metric_rng {
    uint64_t s[4];
};
void metric_rng_seed(struct metric_rng *r, uint64_t seed);
uint64_t metric_rng_next(struct metric_rng *r);
/* floor(u n) with u = (x >> 11) 2^-53: an index in [0, n). */
size_t metric_rng_index(struct metric_rng *r, size_t n);

struct metric_ci {
    double estimate;        /* the statistic on the full data */
    double low, high;       /* 2.5% and 97.5% quantiles, linear at (B-1) q; NAN if no resample defined */
    size_t resamples;       /* resamples whose statistic was defined (the others are skipped) */
};
/* A statistic of the items idx[0..n-1] (with repeats): 0 and *out (NAN = undefined for this
 * resample), or a negative code. */
typedef int (*metric_item_stat_fn)(const size_t *idx, size_t n, void *ctx, double *out,
                                   struct lethe_error *err);
/* Common arguments: name = the metric name (the PRNG seed is seed ^ fnv1a64(name)), resamples
 * = B (0 = METRIC_BOOT_RESAMPLES). Same inputs, name and seed give the same interval. */
int metric_bootstrap_items(size_t n, metric_item_stat_fn stat, void *ctx, const char *name, uint64_t seed,
                           size_t resamples, struct metric_ci *ci, struct lethe_error *err);
int metric_bootstrap_mean(const double *v, size_t n, const char *name, uint64_t seed, size_t resamples,
                          struct metric_ci *ci, struct lethe_error *err);
/* Stratified: each resample draws n_pos positives, then n_neg negatives. */
int metric_bootstrap_auc(const double *pos, size_t n_pos, const double *neg, size_t n_neg, const char *name,
                         uint64_t seed, size_t resamples, struct metric_ci *ci, struct lethe_error *err);
int metric_bootstrap_tpr_at_fpr(const double *pos, size_t n_pos, const double *neg, size_t n_neg,
                                unsigned num, unsigned den, const char *name, uint64_t seed, size_t resamples,
                                struct metric_ci *ci, struct lethe_error *err);
int metric_bootstrap_accuracy(const int *y_true, const int *y_pred, size_t n, const char *name, uint64_t seed,
                              size_t resamples, struct metric_ci *ci, struct lethe_error *err);
int metric_bootstrap_macro_f1(const int *y_true, const int *y_pred, size_t n, const char *name, uint64_t seed,
                              size_t resamples, struct metric_ci *ci, struct lethe_error *err);
int metric_bootstrap_macro_auc(const double *probs, size_t n, size_t n_classes, const int *y_true,
                               const char *name, uint64_t seed, size_t resamples, struct metric_ci *ci,
                               struct lethe_error *err);

/* ==== benchmark metrics and aggregates (metrics/tofu.c, muse.c, mcq.c, semeval.c, image.c) === */
/* Section owned by the engineer of the benchmark metrics (METRICS.md 2-8).
 *
 *     // TOFU forget split: mean NLLs of each paraphrased answer and of its 5 perturbed ones
 *     double *ltr = xmalloc(n * sizeof *ltr), tr, fq, fq_log10;
 *     metric_tofu_log_truth_ratios(nll_para, nll_pert, n, 5, ltr, &err);
 *     metric_tofu_truth_ratio(ltr, n, METRIC_TR_FORGET, NULL, &tr, &err);
 *     metric_tofu_forget_quality(ltr, n, oracle_ltr, n_oracle, &fq, &fq_log10, &err);
 *
 * Inputs are per-item numbers computed elsewhere: mean NLLs l = S/L over the positions of
 * METRICS.md 0.3, token ids, log-probs, strings, labels. Same contract as the statistics: 0 or
 * a negative LETHE_E* code; an empty input, a NaN or an infinite value is a LETHE_EINPUT error
 * naming what and which index. Where a function takes `double *item`, it may be NULL, else it
 * receives the n per-item values (for sample_scores and bootstraps) of the returned mean. */

/* -- TOFU (METRICS.md 2); nll arrays (n, k) are row-major, item i's k answers together -- */
/* prob: mean_i exp(-nll_i). nll_i >= 0 (a log-probability is <= 0). */
int metric_tofu_prob(const double *nll, size_t n, double *item, double *mean, struct lethe_error *err);
/* pert_prob: mean over items of the mean over the k perturbed answers of exp(-nll). */
int metric_tofu_pert_prob(const double *nll, size_t n, size_t k, double *item, double *mean,
                          struct lethe_error *err);
/* prob_norm (ra, wf): mean_i P(a_i) / (P(a_i) + sum_j P(wrong_ij)), P = exp(-nll); nll_wrong
 * (n, k), k = 3 in TOFU; computed as a logistic of log-sum-exp differences (no underflow). */
int metric_tofu_prob_norm(const double *nll_true, const double *nll_wrong, size_t n, size_t k,
                          double *item, double *mean, struct lethe_error *err);
/* log TR_i = nll_true_i - mean_j nll_pert_ij into log_tr (n); "true" = the paraphrased answer
 * (forget, retain) or the answer (ra, wf). TR = P_false/P_true, P_false geometric. */
int metric_tofu_log_truth_ratios(const double *nll_true, const double *nll_pert, size_t n, size_t k,
                                 double *log_tr, struct lethe_error *err);
enum metric_tr_form {
    METRIC_TR_FORGET,       /* mean min(TR, 1/TR) = mean exp(-|log TR|): tofu.forget.truth_ratio */
    METRIC_TR_RETAIN,       /* mean max(0, 1 - TR): retain, ra, wf truth_ratio */
    METRIC_TR_PROB_MEAN,    /* mean P_true/(P_true + P_false) = mean 1/(1 + TR): truth_ratio_prob_mean */
    METRIC_TR_FORM_COUNT
};
/* A truth-ratio aggregate from the per-item log TR, in log space (no 1e-10 epsilons). */
int metric_tofu_truth_ratio(const double *log_tr, size_t n, enum metric_tr_form form, double *item,
                            double *mean, struct lethe_error *err);
/* Forget quality: the KS p-value (metric_ks_2samp, METRIC_KS_AUTO = exact up to 10000 items) of
 * the model's log TR against the retain oracle's, on the same forget split; *log10_fq is finite
 * when *fq underflows. */
int metric_tofu_forget_quality(const double *log_tr, size_t n, const double *oracle_log_tr,
                               size_t n_oracle, double *fq, double *log10_fq, struct lethe_error *err);
/* The 9 model-utility terms, in this order. */
enum metric_tofu_mu_term {
    METRIC_MU_RETAIN_PROB, METRIC_MU_RETAIN_ROUGE, METRIC_MU_RETAIN_TR,
    METRIC_MU_RA_PROB_NORM, METRIC_MU_RA_ROUGE, METRIC_MU_RA_TR,
    METRIC_MU_WF_PROB_NORM, METRIC_MU_WF_ROUGE, METRIC_MU_WF_TR,
    METRIC_MU_TERM_COUNT
};
/* "retain prob", "retain rouge_l_recall", ..., "wf truth_ratio"; NULL out of range. */
const char *metric_tofu_mu_term_name(enum metric_tofu_mu_term t);
/* tofu.model_utility = H(v[0..8]) (metric_hmean; a zero term gives 0); errors name the term. */
int metric_tofu_model_utility(const double v[METRIC_MU_TERM_COUNT], double *mu, struct lethe_error *err);
/* tofu.retain_utility = H(retain prob, retain ROUGE-L recall, retain truth ratio). */
int metric_tofu_retain_utility(double prob, double rouge, double truth_ratio, double *ru,
                               struct lethe_error *err);
/* Teacher-forced argmax ids pred vs answer ids target (len = L' >= 1 tokens, EOS excluded):
 * exact memorization = share of positions equal; extraction strength = 1 - kstar / L', kstar =
 * the smallest k with pred[k..] = target[k..] (Lethe's choice: kstar = L', ES = 0, when the
 * last token differs). */
int metric_exact_memorization(const int *pred, const int *target, size_t len, double *em,
                              struct lethe_error *err);
int metric_extraction_strength(const int *pred, const int *target, size_t len, double *es,
                               struct lethe_error *err);
/* keyword_conf of one item (METRICS.md 8): exp(mean lp over the answer tokens whose byte span
 * [tok_begin, tok_end) in the answer text overlaps a keyword occurrence [off, off + src_len) of
 * metric_keywords(answer, question)); *conf = NAN (the item is left out of the mean) when no
 * token overlaps. lp (n_tok) are the answer tokens' log-probs, <= 0. */
int metric_keyword_conf(const double *lp, const size_t *tok_begin, const size_t *tok_end, size_t n_tok,
                        const struct rouge_tokens *keywords, double *conf, struct lethe_error *err);
/* Mean stemmed ROUGE-L recall of gens[i] against refs[i] (tofu.<s>.rouge_l_recall). */
int metric_tofu_rouge_recall(const char *const *refs, const char *const *gens, size_t n, double *item,
                             double *mean, struct lethe_error *err);

/* -- MUSE (METRICS.md 3) and held-out perplexity (6) -- */
/* privleak = ((1 - A_u) - (1 - A_o)) / ((1 - A_o) + 1e-10) x 100 from Lethe AUCs in [0, 1]. */
int metric_privleak(double auc_u, double auc_o, double *privleak, struct lethe_error *err);
/* The same from membership scores (metric_auc): forget (pos) vs holdout (neg) of the evaluated
 * model (_u) and of the retain oracle (_o). */
int metric_privleak_scores(const double *pos_u, size_t n_pos_u, const double *neg_u, size_t n_neg_u,
                           const double *pos_o, size_t n_pos_o, const double *neg_o, size_t n_neg_o,
                           double *privleak, struct lethe_error *err);
/* Mean unstemmed ROUGE-L F1 of gens[i] against refs[i] (verbmem_f1, knowmem_f1; the verbmem
 * reference is gt already cut to its first 128 tokens). */
int metric_muse_rouge_f1(const char *const *refs, const char *const *gens, size_t n, double *item,
                         double *mean, struct lethe_error *err);
/* exp(sum nll_sum / sum n_tokens) over n windows (sums of token NLLs and token counts). */
int metric_perplexity(const double *nll_sum, const size_t *n_tokens, size_t n, double *ppl,
                      struct lethe_error *err);

/* -- multiple choice (METRICS.md 4): ties go to the earliest option -- */
/* Cloze: argmax_j sum_lp[j] / bytes(options[j]) (UTF-8 bytes = strlen; the option text itself,
 * without the leading space of its continuation). */
int metric_mcq_cloze_pred(const double *sum_lp, const char *const *options, size_t k, size_t *pred,
                          struct lethe_error *err);
/* Letter: argmax_j sum_lp[j], the summed log-probs of " A".." D". */
int metric_mcq_letter_pred(const double *sum_lp, size_t k, size_t *pred, struct lethe_error *err);
/* Accuracy over n questions of k options: sum_lp and options are (n, k); gold in [0, k); pred
 * (n) may be NULL, else receives the predictions. */
int metric_mcq_cloze_acc(const double *sum_lp, const char *const *options, const int *gold, size_t n,
                         size_t k, int *pred, double *acc, struct lethe_error *err);
int metric_mcq_letter_acc(const double *sum_lp, const int *gold, size_t n, size_t k, int *pred,
                          double *acc, struct lethe_error *err);

/* -- SemEval-2025 Task 4 (METRICS.md 5) -- */
enum metric_semeval_kind {
    METRIC_SEMEVAL_OTHER,   /* neither rule matches */
    METRIC_SEMEVAL_SC,      /* id minus its last character ends in "sc": sentence completion */
    METRIC_SEMEVAL_QA,      /* id ends in "qa" + a digit: question answering */
    METRIC_SEMEVAL_KIND_COUNT
};
enum metric_semeval_kind metric_semeval_item_kind(const char *id);
#define METRIC_SEMEVAL_TASKS 3
enum { METRIC_SEMEVAL_REG, METRIC_SEMEVAL_KN, METRIC_SEMEVAL_SCORES };  /* regurgitation, knowledge */
/* Per-split means: value[t][s] for task t+1 and score s; n[t][s] items behind it (0 = an empty
 * cell, whose value is not read). */
struct metric_semeval_means {
    double value[METRIC_SEMEVAL_TASKS][METRIC_SEMEVAL_SCORES];
    size_t n[METRIC_SEMEVAL_TASKS][METRIC_SEMEVAL_SCORES];
};
/* The means of one split from its items: regurgitation = mean stemmed ROUGE-L recall of the sc
 * items, knowledge = mean exact match of the qa items, per task ("Task1".."Task3"). item (n)
 * may be NULL, else receives each item's score; an empty cell gets n = 0 and value NAN. An id
 * that is neither sc nor qa, or an unknown task, is an error naming the item. */
int metric_semeval_split_means(const char *const *ids, const char *const *tasks, const char *const *gens,
                               const char *const *refs, size_t n, double *item,
                               struct metric_semeval_means *means, struct lethe_error *err);
/* semeval.task_aggregate = H of the forget values as 1 - v and the retain values as v (values
 * in [0, 1]); empty cells are left out (Lethe's choice), *n_terms = the terms used (<= 12). */
int metric_semeval_task_aggregate(const struct metric_semeval_means *forget,
                                  const struct metric_semeval_means *retain, double *h, size_t *n_terms,
                                  struct lethe_error *err);
/* semeval.mia_score = 1 - 2 |AUC - 0.5|. */
int metric_semeval_mia_score(double auc, double *score, struct lethe_error *err);
/* semeval.utility_ok = 1 if utility >= 0.75 x the original model's utility, else 0. */
int metric_semeval_utility_ok(double utility, double original_utility, double *ok, struct lethe_error *err);
/* semeval.final_score = (task_aggregate + mia_score + utility)/3. */
int metric_semeval_final_score(double task_aggregate, double mia_score, double utility, double *score,
                               struct lethe_error *err);

/* -- classifiers (METRICS.md 7) -- */
enum { METRIC_GAP_FORGET_ACC, METRIC_GAP_RETAIN_ACC, METRIC_GAP_TEST_ACC, METRIC_GAP_MIA, METRIC_GAP_COUNT };
/* avg_gap = mean_i |u[i] - oracle[i]| over (FA, RA, TA, svm_rt forget member rate). */
int metric_avg_gap(const double u[METRIC_GAP_COUNT], const double oracle[METRIC_GAP_COUNT], double *gap,
                   struct lethe_error *err);
/* dist_to_oracle = 1 - mean_x cos(z_u(x), z_o(x)) over n rows of c logits (n, c); Lethe's
 * choice: a zero vector has cosine 0 with anything (torch's eps convention). In [0, 2]. */
int metric_dist_to_oracle(const float *logits_u, const float *logits_o, size_t n, size_t c, double *dist,
                          struct lethe_error *err);
/* The classifier metric set of one split (Forget-MI's set and image.<s>.*): prediction =
 * argmax (ties to the lowest class), macro AUC on softmax probabilities (NAN when no class has
 * positives and negatives). logits (n, c), labels in [0, c); pred (n) may be NULL. */
struct metric_clf_scores {
    double acc, macro_f1, macro_auc;
};
int metric_clf_split(const float *logits, const int *labels, size_t n, size_t c, int *pred,
                     struct metric_clf_scores *out, struct lethe_error *err);

/* -- FLAT forget-quality gap (METRICS.md 8) -- */
/* fq_gap = |BLEU_u - BLEU_o| + |RLR_u - RLR_o|, all four in [0, 1]. */
int metric_fq_gap(double bleu_u, double rlr_u, double bleu_o, double rlr_o, double *gap,
                  struct lethe_error *err);
/* The same from the forget answers refs and the generations of the evaluated model (gens_u)
 * and of the oracle (gens_o), n each: BLEU = metric_bleu4, RLR = metric_tofu_rouge_recall. */
int metric_fq_gap_texts(const char *const *refs, const char *const *gens_u, const char *const *gens_o,
                        size_t n, double *gap, struct lethe_error *err);

/* ==== recording sink (what evaluations and attacks write their numbers to) ================ */
/* Section owned by the engineer of the TOFU evaluation. The pipeline points the callbacks at
 * run_results_metric/_sample/_curve (results/results.h); tests record into arrays. Names are
 * metric names of the registry above; split = the middle part of the name ("forget" for
 * tofu.forget.prob and for the MIA names, "" for suite-level names); value NAN = undefined;
 * ci_low/ci_high NAN = no CI; n = items behind the value (n_neg for TPR@FPR). Any callback may
 * be NULL (that kind of record is dropped). */
struct metric_sink {
    void (*metric)(void *ctx, const char *variant, const char *split, const char *name,
                   double value, double ci_low, double ci_high, long n);
    void (*sample)(void *ctx, const char *variant, const char *split, const char *name,
                   long idx, double value);
    void (*curve)(void *ctx, const char *name, long step, double x, double y);
    void *ctx;
};

#endif
