/* Internals of the run pipeline (harness/run*.c, harness/cache.c) shared with the commands that
 * drive it (cmd_run, cmd_train, cmd_unlearn, cmd_eval, cmd_attack). */
#ifndef LETHE_RUN_IMPL_H
#define LETHE_RUN_IMPL_H

#include <stdint.h>
#include <stdio.h>

#include "harness/harness.h"
#include "methods/method.h"
#include "metrics/metrics.h"
#include "nn/nn.h"
#include "results/results.h"
#include "suites/suite.h"

/* Bumped whenever a change makes cached reference checkpoints stale (training loop, layout). */
#define RUN_MODEL_FORMAT 1
/* Bumped when the tokenizer training or the generated data's cache layout changes. */
#define RUN_CACHE_FORMAT 1

/* ---- progress and timing ------------------------------------------------------------- */

enum run_phase { PH_TRAIN, PH_UNLEARN, PH_SCORE, PH_GENERATE, PH_ATTACK, PH_EVAL, PH_OTHER,
                 PH_COUNT };

struct progress {
    int mode;                   /* 0 quiet, 1 a \r line on a terminal, 2 a line every few seconds */
    double last;                /* when the last line was shown */
    double start;               /* when the current phase started */
    int shown;                  /* a \r line is on screen */
    const char *job;            /* "suite/split/method/seed" of the job running, borrowed */
    const char *phase_name;     /* overrides the phase shown by progress_step, or NULL */
};
/* Seconds since an arbitrary origin (monotonic). */
double run_now(void);
/* Shows phase step/total, loss and tokens/s with an ETA (rate limited). tokens may be 0. */
void progress_step(struct progress *pg, const char *phase, long step, long total, double loss,
                   double tokens);
/* Shows a phase without steps ("evaluating"). */
void progress_phase(struct progress *pg, const char *phase);
/* Clears a \r line before other output. */
void progress_clear(struct progress *pg);

/* ---- the cache ---------------------------------------------------------------------- */

/* A cache folder: data/, tokenizers/, models/, locks/ below root. */
struct run_cache {
    char *root;
};
/* The cache root for a DB: dir if given, else $LETHE_CACHE_DIR, else cache/ beside db_path.
 * Returned (free). */
char *cache_root_for(const char *dir, const char *db_path);
/* Takes an exclusive lock named key (a file in root/locks), waiting for other processes;
 * returns the descriptor (cache_unlock releases it) or negative with err. */
int cache_lock(const struct run_cache *c, const char *key, struct lethe_error *err);
void cache_unlock(int fd);
/* root/<sub>/<name>; returned (free). */
char *cache_path(const struct run_cache *c, const char *sub, const char *name);

/* The model key: sha256 of every input that determines a reference checkpoint. */
struct model_key_in {
    const char *kind;           /* suite kind */
    const char *role;           /* "original" | "retrain" | "reference" */
    const char *arch_json;      /* canonical JSON of the suite's model object */
    const char *train_json;     /* canonical JSON of the suite's train object */
    long seed;
    const char *tokenizer_hash;
    const char *data_hash;      /* sha256 of the tokenized training sequence (run_lm_data_hash) */
};
void cache_model_key(const struct model_key_in *in, char hex[65]);
/* The canonical text the key is the hash of (tests print it). Returned (free). */
char *cache_model_key_text(const struct model_key_in *in);

/* sha256 of the tensors of p (names and data, in name order): "lethe.params_sha256". */
void cache_params_hash(const struct nn_params *p, char hex[65]);
/* Loads the checkpoint at path if it holds the model of key (its metadata says so and the
 * architecture is cfg); 1 and *out when it does, 0 when there is none, and 0 with *why set
 * (returned, free) when the file is unusable (corrupt, truncated, another key). */
int cache_load_model(const char *path, const char *key, const struct gpt_config *cfg,
                     struct gpt **out, double *train_s, char **why);

/* ---- language-model data and training --------------------------------------------- */

/* Hash of a tokenized set (ids, lengths, prompt lengths, in order) into hex. */
void run_lm_data_hash(const struct lm_set *s, const unsigned char *keep, char hex[65]);
void run_lm_set_release(struct lm_set *s);

/* A training recipe (suites.json "train"). */
struct train_recipe {
    int epochs, batch, grad_accum;
    double lr, warmup, weight_decay, clip, momentum, beta1, beta2, eps;
    enum lr_kind schedule;
    int optimizer;              /* 0 adamw, 1 adam, 2 sgd */
};
/* Reads a resolved "train" object (json_t *); err names the bad key. */
int train_recipe_from_json(const void *json, struct train_recipe *r, struct lethe_error *err);
/* Reads a resolved GPT "model" object into cfg (vocab from the tokenizer: vocab_size). */
int gpt_config_from_json(const void *json, int vocab_size, struct gpt_config *cfg,
                         struct lethe_error *err);

/* Trains m on the examples of set whose keep[i] is set (keep NULL = all) with the recipe: each
 * epoch the whole set is shuffled by one seeded permutation and the kept items taken in that
 * order, so a model trained without some items sees the others in the same order (METHODS.md
 * 0.4); loss = mean NLL over the answer positions of each micro-batch. */
int run_lm_train(struct gpt *m, const struct lm_set *set, const unsigned char *keep,
                 const struct train_recipe *r, uint64_t seed, struct progress *pg,
                 double *tokens_out, struct lethe_error *err);

/* ---- the pipeline ---------------------------------------------------------------------- */

struct run_options {
    const char *config_path, *db_path, *cache_dir;
    const char *grid;           /* NULL: the selection below over every suite's grid entries */
    const char *suite, *method, *split;     /* filters (globs); NULL = any */
    long seed; int has_seed;
    int shard_i, shard_n;       /* 1-based shard, shard_n 0 = none */
    int jobs;
    int progress;               /* --progress: lines even when not on a terminal */
};

struct run_stats {
    long done, skipped_done, failed, skipped_kind, skipped_method, trained, loaded;
    double t[PH_COUNT];
};

/* Runs the selection; prints notes and the summary. Returns the exit status. */
int run_main(const struct run_options *opt);

/* State of one process running jobs. */
struct run_state;
struct run_state *run_state_new(struct config *cfg, struct store *st, const char *cache_root,
                                int progress_mode);
void run_state_free(struct run_state *rs);
struct run_stats *run_state_stats(struct run_state *rs);
/* Runs one job (begin, work, finish or fail); returns 0, 1 when it was skipped as done, or a
 * negative error that must stop the grid (bad input): a failed run is recorded and returns 0
 * with stats->failed incremented. */
int run_job(struct run_state *rs, const struct job *job, const char *grid, struct lethe_error *err);

/* ---- TOFU pieces used by the direct commands ------------------------------------------ */

/* A prepared (suite, split): data, tokenizer, tokenized sets. */
struct run_prep;
int run_prep_new(struct run_state *rs, const struct suite_cfg *s, const char *split,
                  struct run_prep **out, struct lethe_error *err);
void run_prep_free(struct run_prep *p);
/* The reference model of role for the job seed, from the cache or trained: "original" (all the
 * training data), "retrain" (the retain oracle of the prepared split) or "reference" (the
 * 'reference' MIA's model: trained with seed + 1 and without the items of every forget split of
 * the suite, so that it saw none of them and is not the oracle; ATTACKS.md 1). */
int run_ref_model(struct run_state *rs, struct run_prep *p, const char *role, long seed,
                   struct gpt **out, struct lethe_error *err);
/* The cache file of that model (whether it exists or not); NULL for an unknown role. Returned
 * (free). */
char *run_ref_model_path(struct run_state *rs, struct run_prep *p, const char *role, long seed);
struct tokenizer *run_prep_tokenizer(struct run_prep *p);

/* Called by tests: LETHE_TEST_DIE_AFTER=phase ends the process (exit 137, no cleanup) after
 * that phase ("train", "unlearn", "eval") of the first job that reaches it. */
void run_test_die_after(const char *phase);

#endif
