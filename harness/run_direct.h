/* Shared by the direct commands (harness/cmd_train.c, cmd_unlearn.c, cmd_eval.c,
 * cmd_attack.c): one suite and split prepared as lethe run prepares them (harness/run_direct.c). */
#ifndef LETHE_RUN_DIRECT_H
#define LETHE_RUN_DIRECT_H

#include "attacks/attack.h"
#include "harness/run_state.h"

struct direct {
    struct config *cfg;
    const struct suite_cfg *suite;
    struct run_state *rs;           /* no store; the cache of lethe run */
    struct run_prep *prep;
};
/* Loads config, finds suite (a TOFU suite) and split (NULL: its last split), and prepares the
 * data and tokenizer through the cache (cache NULL: $LETHE_CACHE_DIR, else the cache beside
 * the default DB, as lethe run). direct_close releases d, also after a failure. */
int direct_open(const char *config, const char *cache, const char *suite, const char *split,
                struct direct *d, struct lethe_error *err);
void direct_close(struct direct *d);
/* Loads a GPT-2 checkpoint whose vocabulary is the suite's tokenizer's. */
int direct_load_model(struct direct *d, const char *path, struct gpt **out,
                      struct lethe_error *err);
/* Writes m to path (atomically) with Lethe's metadata and the pairs of extra (may be NULL). */
int direct_save_model(struct direct *d, const char *path, const struct gpt *m,
                      const struct safetensors_meta *extra, struct lethe_error *err);

/* A sink that prints each metric (whose name starts with prefix, NULL = all) as a line
 * "name<TAB>variant<TAB>value[<TAB>[lo, hi]]<TAB>n=N" into out and records everything into
 * res when res is not NULL. */
struct direct_sink {
    struct strbuf out;
    const char *prefix;
    struct run_results *res;
    long count;
};
void direct_sink_init(struct direct_sink *t, struct metric_sink *sink);
/* Records res as a run of method `what` ("eval", "attack:min_k") on model_path in the DB at
 * db_path, keyed by the suite, split, what and the model's tensors; *already is set when such
 * a run was done before (nothing is written then). */
int direct_record(struct direct *d, const char *db_path, const char *what, const char *model_path,
                  const struct gpt *m, struct run_results *res, double wall_s, int *already,
                  struct lethe_error *err);

/* lethe eval (attack 0) and lethe attack (attack 1): harness/cmd_eval.c. */
int cmd_eval_impl(int argc, char **argv, int attack);

#endif
