/* attacks: membership inference, quantization-recovery, relearning and paraphrase probes
 * (ATTACKS.md) as a table of const descriptors.
 *
 * Adding a new attack:
 *  1. define it in ATTACKS.md: its score (higher = more member-like), the items it compares,
 *     its options, the metric names and variants it writes;
 *  2. add its descriptor to attack_table in attacks/registry.c: name (snake_case, unique),
 *     summary (one line), the suite kinds it applies to, ATTACK_* flags, its option table
 *     (name, type, default, one-line help), and where it is defined;
 *  3. when the engine lands: write attacks/<name>.c exporting only its descriptor, with
 *     everything else static, and move the row there;
 *  4. add its metric names to metrics/registry.c, and the attack to the suites of suites.json
 *     that should run it;
 *  5. test it against the worked example of ATTACKS.md, and a config test that its options
 *     parse (`lethe list params NAME` shows them).
 *
 * How to use it in ten lines:
 *
 *     const struct attack *a = attack_lookup("min_k");
 *     if (!a) ...                                           // not an attack Lethe knows
 *     if (!(a->kinds & KIND_BIT(SUITE_IMAGE))) ...         // does not apply to that kind
 *     const struct param_spec *p = param_find(a->params, "k_pct");
 *     printf("%s = %s: %s\n", p->name, p->def, p->help);   // k_pct = 40: ...
 *     if (a->flags & ATTACK_DERIVES_MODELS) ...            // writes variants (q4_g64, relearn_50)
 *
 * The descriptor carries metadata only for now: the functions (score items, derive a model)
 * come with the engine, together with ATTACK_ABI 2.
 */
#ifndef LETHE_ATTACK_H
#define LETHE_ATTACK_H

#include <stddef.h>

#include "suites/suite.h"

/* Bumped when struct attack changes incompatibly (out-of-tree attacks check it). */
#define ATTACK_ABI 1

enum attack_flags {
    ATTACK_MIA = 1u << 0,               /* a membership-inference score (AUC, TPR@FPR) */
    ATTACK_DERIVES_MODELS = 1u << 1,    /* derives variants of the model and re-evaluates */
    ATTACK_NEEDS_SHADOWS = 1u << 2,     /* trains shadow models (ATTACKS.md 2.4) */
    ATTACK_NEEDS_REFERENCE = 1u << 3,   /* needs a second reference model */
    ATTACK_PROBE = 1u << 4,             /* re-evaluates on rephrased prompts (probe splits) */
};

struct attack {
    unsigned abi;                       /* ATTACK_ABI */
    const char *name;                   /* also the <attack> of <kind>.mia.<attack>.<stat> */
    const char *summary;
    unsigned kinds;                     /* KIND_BIT(SUITE_*) mask of the suites it applies to */
    unsigned flags;                     /* ATTACK_* */
    const struct param_spec *params;    /* options, NULL-terminated (may be NULL) */
    const char *source;                 /* where it is defined: ATTACKS.md section, paper */
};

extern const struct attack attack_table[];
extern const size_t attack_table_count;

/* The attack named name, or NULL. */
const struct attack *attack_lookup(const char *name);

/* ==== language-model membership inference (attacks/mia_lm.c) ============================ */
/* Section owned by the engineer of the TOFU evaluation. ATTACKS.md 1 on token sequences laid
 * out as METRICS.md 0.2-0.3 says; membership score m: higher = more member-like.
 *
 *     struct lm_seq s[2] = {{ids_a, len_a, prompt_len_a, 1}, {ids_b, len_b, 1, 0}};
 *     struct lm_seq_stats st[2];
 *     mia_lm_score_seqs(model, s, 2, LM_STAT_TOKENS | LM_STAT_ZPP, 0, st, &err);   // batched
 *     double m[2];
 *     mia_lm_member_scores(MIA_LM_MIN_K, st, NULL, NULL, NULL, 2, m, &err);
 *     mia_lm_report("tofu", MIA_LM_MIN_K, pos, n_pos, neg, n_neg, "base", &sink, 0, &auc, &err);
 *     lm_seq_stats_release(st, 2);
 */
#include <stdint.h>

#include "metrics/metrics.h"

struct gpt;
struct lethe_error;

/* The language-model attacks, in the order Lethe reports them. */
enum mia_lm_kind {
    MIA_LM_LOSS,        /* -mean NLL (answer + EOS) */
    MIA_LM_ZLIB,        /* -mean NLL / Z(text) */
    MIA_LM_MIN_K,       /* mean of the 40% lowest lp (EOS excluded) */
    MIA_LM_MIN_K20,     /* the same at 20% */
    MIA_LM_MIN_K_PP,    /* mean of the 40% lowest Min-K%++ z */
    MIA_LM_GRADNORM,    /* -mean over tensors of the gradient's Frobenius norm */
    MIA_LM_REFERENCE,   /* mean NLL of the reference model - mean NLL of the model */
    MIA_LM_KIND_COUNT
};
#define MIA_LM_BIT(k) (1u << (k))
/* Every attack that needs no second model. */
#define MIA_LM_DEFAULT (MIA_LM_BIT(MIA_LM_KIND_COUNT) - 1u - MIA_LM_BIT(MIA_LM_REFERENCE))
/* "loss", "zlib", "min_k", "min_k20", "min_k_pp", "gradnorm", "reference" (the names of
 * attack_table); NULL out of range. */
const char *mia_lm_name(enum mia_lm_kind k);
/* The kind named name, or -1. */
int mia_lm_lookup(const char *name);

/* One token sequence: ids[first..len-1] are the scored targets (position t predicts ids[t+1]);
 * first = the prompt length (BOS + prompt) for QA, 1 for a whole text. eos = 1 when ids[len-1]
 * is EOS: it counts for the mean NLL (prob, truth ratio, loss, zlib, reference) and not for the
 * token lists (Min-K%, Min-K%++, GradNorm, EM, ES). */
struct lm_seq {
    const int *ids;
    int len;            /* 2 .. n_ctx */
    int first;          /* 1 .. len - 1 */
    int eos;            /* 0 or 1 */
};

/* What mia_lm_score_seqs keeps of each sequence beyond the mean NLL. */
enum lm_stat_want {
    LM_STAT_TOKENS = 1u << 0,   /* lp: per-token log-probs */
    LM_STAT_ZPP = 1u << 1,      /* zpp: Min-K%++ z per token (a full-vocabulary pass) */
    LM_STAT_ARGMAX = 1u << 2,   /* pred: teacher-forced argmax ids (ties to the lowest id) */
};
struct lm_seq_stats {
    double nll;         /* mean -lp over ids[first..len-1], EOS included (the l-bar of 0.2) */
    int n_scored;       /* len - first */
    int n_tok;          /* tokens of the lists: len - first - eos */
    double *lp;         /* (n_tok) or NULL */
    double *zpp;        /* (n_tok) or NULL */
    int *pred;          /* (n_tok) or NULL */
};

/* Scores n sequences with m in batches of up to max_batch rows (0 = 32; fewer when the logits
 * of a batch would pass 256 MB), longest first, right-padded: out[i] is filled for seqs[i]
 * (arrays returned inside it; lm_seq_stats_release). A row's numbers do not depend on the
 * other rows. Clobbers m's activations. 0, or LETHE_EINPUT naming a bad sequence. */
int mia_lm_score_seqs(struct gpt *m, const struct lm_seq *seqs, size_t n, unsigned want,
                      int max_batch, struct lm_seq_stats *out, struct lethe_error *err);
/* Frees the arrays of out[0..n-1]; NULL is fine. */
void lm_seq_stats_release(struct lm_seq_stats *out, size_t n);

/* Z(x): the byte length of zlib.compress(text) (level 6, 2-byte header, Adler-32 trailer);
 * "The author was born in 1958." gives 36, "" gives 8. */
size_t mia_zlib_size(const char *text, size_t len);
/* Mean of the k = max(1, floor(n k_pct / 100)) smallest of v[0..n-1]; 0 when n = 0. */
double mia_min_k(const double *v, size_t n, int k_pct);
/* Min-K%++ z of target under logits z (V): (lp - mu)/sigma with mu = sum p log p, sigma^2 =
 * sum p (log p)^2 - mu^2 clamped to >= 1e-6, sums in double; *lp (may be NULL) receives
 * log_softmax(z)[target]. */
double mia_min_k_pp_z(const float *logits, int V, int target, double *lp);

/* GradNorm scores, one sequence at a time: score[i] = mean over the tensors that are not
 * frozen of ||d(mean over the list tokens of -lp)/d tensor||_F (dropout is never on; tied
 * embeddings are one tensor). Gradients are zeroed first and m's gradient buffer is restored
 * afterwards. A sequence without list tokens scores 0. */
int mia_lm_gradnorm(struct gpt *m, const struct lm_seq *seqs, size_t n, double *score,
                    struct lethe_error *err);

/* Membership scores m[0..n-1] of attack k from the stats of the model (st; LM_STAT_TOKENS for
 * the Min-K attacks, LM_STAT_ZPP for Min-K%++), the texts (zlib: the answer or whole text), the
 * GradNorm scores (gnorm, from mia_lm_gradnorm) and the reference model's stats (ref). Inputs an
 * attack does not use may be NULL; a missing one it needs is LETHE_EINPUT. */
int mia_lm_member_scores(enum mia_lm_kind k, const struct lm_seq_stats *st,
                         const struct lm_seq_stats *ref, const char *const *texts,
                         const double *gnorm, size_t n, double *m, struct lethe_error *err);

/* Writes attack k's results on members pos vs non-members neg to sink: <kind>.mia.<attack>.auc,
 * .tpr_at_fpr_1pct and .tpr_at_fpr_0p1pct (split "forget", stratified bootstrap CIs with seed,
 * n = n_pos + n_neg for the AUC and n_neg for the TPRs), the scores as samples
 * <kind>.mia.<attack>.score (split "forget" for pos, "holdout" for neg), and the ROC curve
 * <kind>.mia.<attack>.roc (step = point index, x = FPR, y = TPR; ".<variant>" appended to the
 * curve name unless variant is "base" or empty). *auc (may be NULL) receives the AUC. */
int mia_lm_report(const char *kind, enum mia_lm_kind k, const double *pos, size_t n_pos,
                  const double *neg, size_t n_neg, const char *variant,
                  const struct metric_sink *sink, uint64_t seed, double *auc,
                  struct lethe_error *err);

#endif
