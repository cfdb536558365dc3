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
 * Section owned by the engineer of the statistics. */

/* ==== benchmark metrics and aggregates (metrics/tofu.c, muse.c, wmdp.c, semeval.c, image.c) == */
/* Section owned by the engineer of the benchmark metrics. */

#endif
