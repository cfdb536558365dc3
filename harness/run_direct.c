/* What the direct commands (train, unlearn, eval, attack) share: a suite and split prepared as
 * lethe run prepares them, checkpoints read and written with Lethe's metadata, and a sink that
 * prints metrics. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/run_direct.h"

int direct_open(const char *config, const char *cache, const char *suite, const char *split,
                struct direct *d, struct lethe_error *err)
{
    memset(d, 0, sizeof(*d));
    if (!suite)
        return lethe_err(err, LETHE_EUSAGE, "--suite is required");
    d->cfg = config_load(config, err);
    if (!d->cfg)
        return -LETHE_EINPUT;
    d->suite = config_suite(d->cfg, suite);
    if (!d->suite)
        return lethe_err(err, LETHE_EINPUT, "%s: no suite '%s'", config, suite);
    if (!d->suite->kind_info || d->suite->kind_info->id != SUITE_TOFU)
        return lethe_err(err, LETHE_ENOTYET, "suite '%s': the %s suites have no runner yet",
                         suite, d->suite->kind);
    if (!split)
        split = d->suite->splits[d->suite->n_splits - 1];
    int ok = 0;
    for (size_t i = 0; i < d->suite->n_splits; i++)
        ok |= strcmp(d->suite->splits[i], split) == 0;
    if (!ok)
        return lethe_err(err, LETHE_EINPUT, "suite '%s' has no split '%s'", suite, split);
    char *root = cache_root_for(cache, LETHE_DEFAULT_DB);
    d->rs = run_state_new(d->cfg, NULL, root, isatty(2) ? 1 : 0);
    free(root);
    return run_prep_new(d->rs, d->suite, split, &d->prep, err);
}

void direct_close(struct direct *d)
{
    if (!d)
        return;
    if (d->rs)
        progress_clear(&d->rs->pg);
    run_prep_free(d->prep);
    run_state_free(d->rs);
    config_free(d->cfg);
    memset(d, 0, sizeof(*d));
}

int direct_load_model(struct direct *d, const char *path, struct gpt **out,
                      struct lethe_error *err)
{
    struct gpt *m = NULL;
    if (safetensors_load_gpt(path, &m, NULL, err) < 0)
        return -(err && err->code ? err->code : LETHE_EINPUT);
    int vocab = tokenizer_vocab_size(run_prep_tokenizer(d->prep));
    if (gpt_cfg(m)->vocab != vocab) {
        gpt_free(m);
        return lethe_err(err, LETHE_EINPUT, "'%s': a vocabulary of %d tokens, the suite's tokenizer "
                         "has %d", path, gpt_cfg(m)->vocab, vocab);
    }
    *out = m;
    return 0;
}

int direct_save_model(struct direct *d, const char *path, const struct gpt *m,
                      const struct safetensors_meta *extra, struct lethe_error *err)
{
    struct safetensors_meta meta = {0};
    char hex[65];
    safetensors_meta_set(&meta, "lethe.format", "1");
    safetensors_meta_set(&meta, "lethe.suite", d->suite->name);
    tokenizer_hash(run_prep_tokenizer(d->prep), hex);
    safetensors_meta_set(&meta, "lethe.tokenizer_sha256", hex);
    if (extra)
        safetensors_meta_copy(&meta, extra);
    cache_params_hash(gpt_params((struct gpt *)m), hex);
    safetensors_meta_set(&meta, "lethe.params_sha256", hex);
    int rc = safetensors_save_gpt(path, m, &meta, err);
    safetensors_meta_release(&meta);
    return rc;
}

/* ---- a sink that prints (and optionally records) ----------------------------------------- */

static void tee_metric(void *ctx, const char *variant, const char *split, const char *name,
                       double value, double lo, double hi, long n)
{
    struct direct_sink *t = ctx;
    if (t->res)
        run_results_metric(t->res, variant, split, name, value, lo, hi, n);
    if (t->prefix && !str_starts(name, t->prefix))
        return;
    strbuf_addf(&t->out, "%s\t%s\t", name, variant);
    if (isnan(value))
        strbuf_adds(&t->out, "undefined");
    else
        strbuf_addf(&t->out, "%.6g", value);
    if (!isnan(lo) && !isnan(hi))
        strbuf_addf(&t->out, "\t[%.6g, %.6g]", lo, hi);
    if (n >= 0)
        strbuf_addf(&t->out, "\tn=%ld", n);
    strbuf_adds(&t->out, "\n");
    t->count++;
}
static void tee_sample(void *ctx, const char *variant, const char *split, const char *name,
                       long idx, double value)
{
    struct direct_sink *t = ctx;
    if (t->res)
        run_results_sample(t->res, variant, split, name, idx, value);
}
static void tee_curve(void *ctx, const char *name, long step, double x, double y)
{
    struct direct_sink *t = ctx;
    if (t->res)
        run_results_curve(t->res, name, step, x, y);
}

void direct_sink_init(struct direct_sink *t, struct metric_sink *sink)
{
    sink->metric = tee_metric;
    sink->sample = tee_sample;
    sink->curve = tee_curve;
    sink->ctx = t;
}

int direct_record(struct direct *d, const char *db_path, const char *what, const char *model_path,
                  const struct gpt *m, struct run_results *res, double wall_s, int *already,
                  struct lethe_error *err)
{
    char hex[65];
    cache_params_hash(gpt_params((struct gpt *)m), hex);
    json_t *mc = json_pack("{s:s, s:s, s:s}", "method", what, "model", model_path,
                           "params_sha256", hex);
    json_t *r = json_pack("{s:i, s:O, s:s, s:O}", "lethe", 1, "suite", (json_t *)d->suite->json,
                          "split", d->prep->split, "method", mc);
    char *mjson = config_canonical_json(mc), *rjson = config_canonical_json(r);
    char hash[65];
    sha256_hex(rjson, strlen(rjson), hash);
    json_decref(r);
    json_decref(mc);
    free(rjson);
    struct store *st = store_open(db_path, STORE_CREATE, err);
    int rc = st ? 0 : -LETHE_EINPUT;
    int64_t id = 0;
    struct run_info ri = {NULL, d->suite->name, d->prep->split, what, mjson, 0, hash, 0};
    if (rc == 0)
        rc = store_begin_run(st, &ri, &id, err);
    *already = rc == STORE_RUN_DONE;
    if (rc == STORE_RUN_NEW)
        rc = store_finish_run(st, id, res, wall_s, err);
    store_close(st);
    free(mjson);
    return rc < 0 ? rc : 0;
}
