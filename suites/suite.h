/* suites: the suite kinds (data, forget splits, generators, model recipes) and the parameter
 * tables that every plug-in (suite kind, method, attack) uses to describe its options.
 *
 * How to use it in ten lines:
 *
 *     const struct suite_kind *k = suite_kind_lookup("tofu");
 *     if (!k) ...                                        // not a kind Lethe knows
 *     if (!suite_kind_has_split(k, "forget10")) ...     // forget splits are fixed by the data
 *     const struct param_spec *p = param_find(k->gen_params, "authors");
 *     printf("%s (%s, default %s): %s\n", p->name, param_type_name(p->type), p->def, p->help);
 *     for (size_t i = 0; i < SUITE_KIND_COUNT; i++)
 *         printf("%s\n", suite_kind_table[i].name);
 *
 * The loaders, generators and evaluators of each kind arrive with their issues; until then a
 * kind is the metadata suites.json is checked against (harness/config.c).
 *
 * Adding a new suite kind:
 *  1. add SUITE_<KIND> before SUITE_KIND_COUNT below (never renumber the others);
 *  2. add its row to suite_kind_table in suites/registry.c: name, summary, forget splits, data
 *     formats, generator and data parameters, model architectures (the static_assert there
 *     keeps the table and the enum in step);
 *  3. describe its data, splits and metrics in SUITES.md and METRICS.md, and add its metric
 *     names to metrics/registry.c;
 *  4. list the methods and attacks that apply to it (their `kinds` masks);
 *  5. add a suite of that kind to suites.json and a valid file to tests/config/valid/;
 *  6. `lethe list kinds` and `lethe list params KIND` show it.
 */
#ifndef LETHE_SUITE_H
#define LETHE_SUITE_H

#include <stddef.h>
#include <stdint.h>

struct lethe_error;

/* ---- parameter tables ------------------------------------------------------------------ */

/* The types a plug-in parameter can have. The range is part of the type, so a table row says
 * everything suites.json is checked against. */
enum param_type {
    PARAM_INT,          /* integer >= 0 */
    PARAM_COUNT,        /* integer >= 1 */
    PARAM_PERCENT,      /* integer in [1, 100] */
    PARAM_REAL,         /* any finite number */
    PARAM_POSITIVE,     /* number > 0 */
    PARAM_NONNEG,       /* number >= 0 */
    PARAM_FRACTION,     /* number in [0, 1] */
    PARAM_BOOL,         /* true or false */
    PARAM_STRING,       /* any non-empty string */
    PARAM_ENUM,         /* one of `choices` */
    PARAM_PATH,         /* a file or folder: ${LETHE_DATA} expanded, relative to suites.json */
    PARAM_COUNT_LIST,   /* non-empty array of integers >= 1, no repeats */
    PARAM_ENUM_LIST,    /* non-empty array of `choices`, no repeats */
    PARAM_VOCAB,        /* "gpt2", or {"bpe": N} with N >= 256 (a BPE learned from the suite) */
    PARAM_TYPE_COUNT
};

/* One parameter. Tables end with a row whose name is NULL. */
struct param_spec {
    const char *name;
    enum param_type type;
    const char *def;        /* the default as JSON text ("0.1", "true", "\"kl\"", "[8, 4]");
                               NULL = no constant default: required where the table says so,
                               otherwise derived at run time (e.g. from the suite's recipe) */
    const char *choices;    /* PARAM_ENUM, PARAM_ENUM_LIST: "kl|js|pearson|tv" */
    const char *help;       /* one line */
};

/* The row of table named name, or NULL (table may be NULL). */
const struct param_spec *param_find(const struct param_spec *table, const char *name);
/* "integer", "count", "real", ..., for `lethe list params`. */
const char *param_type_name(enum param_type type);
/* True if s is one of the '|'-separated choices. */
int param_choice_ok(const char *choices, const char *s);

/* ---- suite kinds ----------------------------------------------------------------------- */

/* Bumped when struct suite_kind changes incompatibly (out-of-tree kinds check it). */
#define SUITE_KIND_ABI 1

enum suite_kind_id {
    SUITE_TOFU,
    SUITE_MUSE,
    SUITE_WMDP,
    SUITE_SEMEVAL,
    SUITE_IMAGE,
    SUITE_MULTIMODAL,
    SUITE_KIND_COUNT
};

/* Masks of kinds, for the `kinds` field of methods and attacks. */
#define KIND_BIT(id) (1u << (id))
#define KINDS_LM (KIND_BIT(SUITE_TOFU) | KIND_BIT(SUITE_MUSE) | KIND_BIT(SUITE_WMDP) | \
                  KIND_BIT(SUITE_SEMEVAL))
#define KINDS_CLASSIFIER (KIND_BIT(SUITE_IMAGE) | KIND_BIT(SUITE_MULTIMODAL))
#define KINDS_ALL (KINDS_LM | KINDS_CLASSIFIER)

struct suite_kind {
    unsigned abi;                       /* SUITE_KIND_ABI */
    enum suite_kind_id id;
    const char *name;                   /* also the prefix of its metric names */
    const char *summary;
    const char *const *splits;          /* the forget splits, NULL-terminated */
    const char *const *formats;         /* formats a data "dir" may hold, the default first,
                                           NULL-terminated */
    const struct param_spec *gen_params;    /* the generator's parameters besides "seed";
                                               NULL = no generator (real data only) */
    const struct param_spec *data_params;   /* data options for real and generated data */
    const char *const *archs;           /* model architectures, NULL-terminated */
};

extern const struct suite_kind suite_kind_table[SUITE_KIND_COUNT];

/* The kind named name, or NULL. */
const struct suite_kind *suite_kind_lookup(const char *name);
/* True if split is one of the kind's forget splits. */
int suite_kind_has_split(const struct suite_kind *kind, const char *split);
/* True if format is one of the kind's data formats. */
int suite_kind_has_format(const struct suite_kind *kind, const char *format);
/* True if arch is one of the kind's model architectures. */
int suite_kind_has_arch(const struct suite_kind *kind, const char *arch);
/* The names of the kinds in mask, comma-separated ("tofu, muse"); returned, the caller frees. */
char *suite_kinds_str(unsigned mask);

/* ---- model architectures and training recipes ------------------------------------------- */

/* A model architecture a suite can train: its parameters (besides "arch"). */
struct model_arch {
    const char *name;                   /* "gpt", "mlp", "cnn", "multimodal" */
    const char *summary;
    const struct param_spec *params;    /* rows without a default are required */
};

extern const struct model_arch model_arch_table[];
extern const size_t model_arch_table_count;
const struct model_arch *model_arch_lookup(const char *name);

/* The training recipe of a suite's reference models (suites.json "train"); rows without a
 * default are required. */
extern const struct param_spec train_params[];

/* ---- TOFU data (suites/tofu.c, suites/tofu_gen.c) ------------------------------------------ */

/* One question/answer item of a TOFU file. Every string and the perturbed array are separately
 * malloc'd, so a set built by hand is released by qa_set_release like a loaded one. */
struct qa_item {
    char *question, *answer;
    char *paraphrased_answer;       /* NULL when the file has none */
    char **perturbed;               /* n_perturbed wrong answers (5 forget/retain, 3 ra/wf) */
    int n_perturbed;
    char *paraphrased_question;     /* NULL when the data has none */
};
/* A file's items in file order; name is the file's stem ("forget10_perturbed", "holdout10"). */
struct qa_set { char *name; struct qa_item *items; size_t n; };
/* Frees what s holds and leaves it empty; s may be NULL or already empty. */
void qa_set_release(struct qa_set *s);

struct tofu_data {                  /* one forget split, e.g. "forget10" */
    struct qa_set full;             /* full.json: all 4000 (the original's QA) */
    struct qa_set retain;           /* retainYY.json: the retain oracle's QA */
    struct qa_set forget;           /* forgetXX.json */
    struct qa_set forget_eval;      /* forgetXX_perturbed.json */
    struct qa_set retain_eval;      /* retain_perturbed.json */
    struct qa_set real_authors;     /* real_authors_perturbed.json (answer + 3 perturbed) */
    struct qa_set world_facts;      /* world_facts_perturbed.json */
    struct qa_set holdout;          /* extra_holdout/holdoutXX.json or holdoutXX.json */
};

/* Loads the files of forget split split ("forget01", "forget05", "forget10") from dir (the
 * real TOFU files or `lethe data gen tofu` output) into *out, checking every record and field
 * and the split's definition: 20 QA per author; forgetXX = the last 1/5/10% of full's authors
 * (at least one; 40/200/400 of 4000), retainYY = the rest of full in order, forgetXX_perturbed
 * = forgetXX item by item, retain_perturbed = the first forget10-many of full, holdoutXX as many
 * items as forgetXX and none of its questions in full; real_authors.json and world_facts.json,
 * when present, match their perturbed files. Files are JSON Lines (blank lines skipped) or one
 * JSON array. Returns 0, or a negative status and err (LETHE_EINPUT naming the file and line,
 * e.g. "'d/forget10_perturbed.json': line 17: missing field 'perturbed_answer'"); on failure
 * *out is left empty. Release with tofu_data_release. */
int tofu_load(const char *dir, const char *split, struct tofu_data *out, struct lethe_error *err);
/* Frees what d holds; d may be NULL. */
void tofu_data_release(struct tofu_data *d);
/* Loads one TOFU file (JSON Lines or a JSON array) and checks its fields by its name: "full",
 * "forgetXX", "retainYY", "holdoutXX" (question, answer), "*_perturbed" (plus the perturbed and
 * paraphrase fields: 5 perturbed answers, or 3 for real_authors/world_facts), "real_authors",
 * "world_facts" (question, option1..4, answer). *out returned; release with qa_set_release. */
int tofu_load_file(const char *path, struct qa_set *out, struct lethe_error *err);

/* Forget-set sizes: the QA items of the last percent% of the n_full / 20 authors (rounded half
 * up, at least one author); 40/200/400 for 1/5/10% of 4000. */
size_t tofu_forget_count(size_t n_full, int percent);

/* Writes a generated TOFU-style data set to dir (SUITES.md "Generated TOFU-style set"): the
 * real file names and fields for `authors` fictitious authors (2 to TOFU_GEN_MAX_AUTHORS) of 20
 * QA each (forgetXX the last 1/5/10% of them, at least one author; with 200 authors the real
 * sizes), real_authors/world_facts utility sets of simple true facts, and
 * extra_holdout/holdoutXX.json (JSON arrays) about further authors never in full. Perturbed
 * answers put another value of the same kind (from the same word lists) into the paraphrased
 * answer's sentence. The same (authors, seed) writes the same bytes. Atomic: the files are
 * written to a sibling temporary folder renamed to dir at the end, so dir must not exist or be
 * empty (LETHE_EINPUT otherwise) and appears complete or not at all. Returns 0 or a negative
 * status and err. */
#define TOFU_GEN_MAX_AUTHORS 500
int tofu_generate(const char *dir, int authors, uint64_t seed, struct lethe_error *err);

/* ---- TOFU evaluation (suites/tofu_eval.c) --------------------------------------------------- */
/* Every tofu.* metric of METRICS.md 2 and the language-model MIAs of ATTACKS.md 1 for one model:
 *
 *     struct tofu_oracle o = {0};
 *     tofu_evaluate(retrain, tok, &data, NULL, "base", &sink, &o, &err);     // the oracle
 *     tofu_evaluate(unlearned, tok, &data, &o, "base", &sink, NULL, &err);   // against it
 *     free((void *)o.log_tr);
 */
struct gpt;
struct tokenizer;
struct metric_sink;
struct lm_example;          /* methods/method.h */

/* What the retain oracle's evaluation leaves for the others: its forget-split log truth ratios
 * (forget quality), its Min-K AUC (privleak; NAN when it had no holdout), and its log truth
 * ratios on paraphrased forget questions (forget_quality_pq; n_pq = 0 without that probe).
 * Filled by tofu_evaluate: log_tr_pq points into the allocation of log_tr, so one free of
 * log_tr frees both. */
struct tofu_oracle {
    const double *log_tr;
    size_t n;
    double mink_auc;
    const double *log_tr_pq;    /* added: NULL when n_pq = 0 */
    size_t n_pq;
};

/* Tokenizes a QA item as METRICS.md 0.2 says: ids = [BOS] + tok("Question: " + question +
 * "\nAnswer:") + tok(" " + answer) + [EOS], prompt and answer tokenized separately;
 * prompt_len = 1 + the prompt tokens kept. Longer than n_ctx: the prompt is left-truncated
 * (BOS kept), never the answer; an answer that does not fit with BOS and EOS is LETHE_EINPUT.
 * answer NULL = item->answer. out->ids is returned (free). */
int tofu_tokenize_qa(struct tokenizer *tok, const struct qa_item *item, const char *answer,
                     int n_ctx, struct lm_example *out, struct lethe_error *err);
/* The same with the question given (the paraphrased-question probe). */
int tofu_tokenize_qa_text(struct tokenizer *tok, const char *question, const char *answer,
                          int n_ctx, struct lm_example *out, struct lethe_error *err);

/* Seconds spent, accumulated by each evaluation. */
struct tofu_eval_timing {
    double score_s;         /* teacher-forced scoring of answers */
    double gen_s;           /* greedy generation */
    double attack_s;        /* MIAs beyond the shared scoring (GradNorm, reference, reports) */
};
struct tofu_eval_opts {
    int max_new_tokens;     /* greedy generation length (200) */
    int batch;              /* rows per scoring forward (32) */
    int gen_batch;          /* prompts per generation call (0 = as many as 256 MB of KV cache hold) */
    uint64_t seed;          /* bootstrap seed (0; METRICS.md 1.7) */
    unsigned mia;           /* bit k = attack k of enum mia_lm_kind (attacks/attack.h); ~0u = all */
    struct gpt *ref;        /* reference model of the 'reference' attack; NULL = no such attack */
    int probes;             /* 1: the paraphrased-question probe (forget_pq, retain_pq) when
                               every item of the split has a paraphrased question */
    struct tofu_eval_timing *timing;    /* NULL or accumulated into */
};
/* The defaults above. */
void tofu_eval_opts_init(struct tofu_eval_opts *o);

/* Evaluates model m (tokenizer tok) on d and writes to sink under variant: for each split s of
 * forget (d->forget_eval), retain (d->retain_eval), ra, wf (skipped when empty):
 * tofu.<s>.{prob, para_prob, pert_prob, truth_ratio, truth_ratio_prob_mean, rouge_l_recall}
 * (forget, retain), tofu.<s>.{prob_norm, truth_ratio, truth_ratio_prob_mean, rouge_l_recall}
 * (ra, wf), tofu.forget.{exact_memorization, extraction_strength}, each with its per-item
 * samples and a bootstrap CI, plus the samples tofu.<s>.log_truth_ratio; tofu.forget_quality
 * (+_log10) against oracle (NULL: m is the oracle, compared with itself: 1), model_utility,
 * retain_utility; the MIAs forget vs holdout (ATTACKS.md 1, mia_lm_report) and tofu.privleak
 * against the oracle's Min-K AUC; with probes, the same forget/retain metrics on forget_pq and
 * retain_pq, tofu.forget_quality_pq and the lifts tofu.<s>_pq.<metric>.lift. own (may be NULL)
 * receives what an oracle leaves (free own->log_tr). 0, or a negative code with err set
 * (bad data: naming split and item; nothing is half-written to sink on a data error). */
int tofu_evaluate_opts(struct gpt *m, struct tokenizer *tok, const struct tofu_data *d,
                       const struct tofu_oracle *oracle, const char *variant,
                       const struct tofu_eval_opts *opts, const struct metric_sink *sink,
                       struct tofu_oracle *own, struct lethe_error *err);
/* tofu_evaluate_opts with the default options. */
int tofu_evaluate(struct gpt *m, struct tokenizer *tok, const struct tofu_data *d,
                  const struct tofu_oracle *oracle, const char *variant,
                  const struct metric_sink *sink, struct tofu_oracle *own,
                  struct lethe_error *err);

#endif
