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
/* Section owned by the engineer of the text metrics. */

/* ==== statistics: KS, AUC/ROC/TPR, classification, means, bootstrap ======================== */
/* (metrics/ks.c, metrics/auc.c, metrics/stats.c, metrics/bootstrap.c, metrics/classify.c)
 * Section owned by the engineer of the statistics. */

/* ==== benchmark metrics and aggregates (metrics/tofu.c, muse.c, wmdp.c, semeval.c, image.c) == */
/* Section owned by the engineer of the benchmark metrics. */

#endif
