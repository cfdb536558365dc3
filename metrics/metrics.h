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
 * direction, a one-line summary); keep the more specific patterns first.
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

struct metric_info {
    const char *pattern;    /* glob over the metric name: '*' matches any run of characters */
    enum metric_dir dir;
    const char *summary;
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

/* ==== benchmark metrics and aggregates (metrics/tofu.c, muse.c, wmdp.c, semeval.c, image.c) == */
/* Section owned by the engineer of the benchmark metrics. */

#endif
