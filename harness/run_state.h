/* The state of a process running jobs (harness/run.c) and the prepared TOFU suite
 * (harness/run_tofu.c); private to those files. */
#ifndef LETHE_RUN_STATE_H
#define LETHE_RUN_STATE_H

#include "harness/run_impl.h"

struct run_prep {
    const struct suite_cfg *suite;
    char *split;
    struct tofu_data d;
    struct tokenizer *tok;
    char tok_hash[65];
    struct gpt_config gcfg;
    struct train_recipe recipe;
    char *arch_json, *train_json;   /* canonical JSON of the suite's model and train objects */
    struct lm_set train;            /* full + real_authors + world_facts, the original's data */
    unsigned char *keep;            /* (train.n) 0 for the forget items: the oracle's data */
    unsigned char *keep_ref;        /* (train.n) 0 for the items of every forget split of the
                                       suite: the data of the MIA reference model */
    struct lm_set forget, retain, refusals;
    char data_hash_orig[65], data_hash_ret[65], data_hash_ref[65];
    long seed;                      /* the (job) seed of the models below, -1 for none */
    struct gpt *orig, *ret, *refm;  /* refm: the 'reference' attack's model (trained with seed + 1) */
    int refm_given;                 /* refm is a checkpoint the user gave (kept across seeds) */
    long oracle_seed;               /* the seed of the oracle's results, -1 for none */
    struct tofu_oracle oracle;
    double *oracle_log_tr;
    struct run_results *oracle_res; /* the retrain run's results, until its job takes them */
    double oracle_eval_s;           /* the seconds their evaluation took */
};

struct run_state {
    struct config *cfg;             /* borrowed */
    struct store *st;               /* borrowed; NULL for the direct commands */
    struct run_cache cache;
    struct progress pg;
    struct run_stats stats;
    struct run_prep *prep;          /* the (suite, split) of the last job */
    char label[256];                /* the job running, for the progress line */
};

/* The oracle's results for the prepared split and seed: computed (evaluating the retain oracle
 * into p->oracle_res) unless kept from before. */
int run_tofu_oracle(struct run_state *rs, struct run_prep *p, long seed, struct lethe_error *err);
/* The work of one TOFU job into res (taken over for 'retrain' when kept; *extra_s then gets
 * the seconds of that earlier evaluation). */
int run_tofu_job(struct run_state *rs, struct run_prep *p, const struct job *job,
                 struct run_results **res, double *extra_s, struct lethe_error *err);
/* Evaluates a copy of m on the prepared split into sink: the suite's MIAs and probes, or only
 * the MIAs of the bit mask mia (>= 0) and no probes. own as tofu_evaluate. The 'reference'
 * attack scores against the reference model of the job's seed (run_ref_model) or p->refm when
 * refm_given. */
int run_tofu_evaluate(struct run_state *rs, struct run_prep *p, const struct gpt *m, long seed,
                      const struct tofu_oracle *oracle, const struct metric_sink *sink,
                      long mia, struct tofu_oracle *own, struct lethe_error *err);
/* Applies method configuration mc to m in place (orig: the frozen original); unlearning curve
 * points go to res (may be NULL). */
int run_tofu_unlearn(struct run_state *rs, struct run_prep *p, const struct method_cfg *mc,
                     const struct gpt *orig, struct gpt *m, long seed, struct run_results *res,
                     struct lethe_error *err);
/* A sink that writes into a struct run_results. */
void run_sink_init(struct metric_sink *sink, struct run_results *res);

#endif
