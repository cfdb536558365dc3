/* The TOFU runner: data (loaded, or generated into the cache), the suite's BPE tokenizer, the
 * reference models (original, retain oracle) from the cache or trained, unlearning and
 * evaluation with the oracle's results. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attacks/attack.h"
#include "harness/run_state.h"

/* ---- data ---------------------------------------------------------------------------- */

/* The generated data folder of a synthetic suite: cache/data/tofu-<key>, made once. */
static int synthetic_dir(struct run_state *rs, const struct suite_cfg *s, char **out,
                         struct lethe_error *err)
{
    const json_t *syn = json_object_get(json_object_get(s->json, "data"), "synthetic");
    char *canon = config_canonical_json(syn);
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "tofu-data %d %s", RUN_CACHE_FORMAT, canon);
    free(canon);
    char hex[65];
    sha256_hex(sb.buf, sb.len, hex);
    strbuf_reset(&sb);
    strbuf_addf(&sb, "tofu-%.16s", hex);
    char *dir = cache_path(&rs->cache, "data", sb.buf);
    int fd = cache_lock(&rs->cache, sb.buf, err);
    strbuf_release(&sb);
    if (fd < 0) {
        free(dir);
        return fd;
    }
    int rc = 0;
    if (!file_exists(dir)) {
        long authors = (long)json_integer_value(json_object_get(syn, "authors"));
        long seed = (long)json_integer_value(json_object_get(syn, "seed"));
        struct strbuf tmp = STRBUF_INIT;
        strbuf_addf(&tmp, "%s.tmp%ld", dir, (long)getpid());
        double t0 = run_now();
        progress_phase(&rs->pg, "generating data");
        rc = tofu_generate(tmp.buf, (int)authors, (uint64_t)seed, err);
        if (rc == 0 && rename(tmp.buf, dir) != 0)
            rc = lethe_err(err, LETHE_EIO, "cannot rename '%s' to '%s': %s", tmp.buf, dir,
                           lethe_strerror(errno));
        rs->stats.t[PH_OTHER] += run_now() - t0;
        strbuf_release(&tmp);
    }
    cache_unlock(fd);
    if (rc < 0) {
        free(dir);
        return rc;
    }
    *out = dir;
    return 0;
}

/* ---- tokenizer ------------------------------------------------------------------------- */

static void add_qa_text(struct bpe_trainer *tr, struct strbuf *corpus, const struct qa_set *s,
                        struct lethe_error *err)
{
    for (size_t i = 0; i < s->n; i++) {
        size_t at = corpus->len;
        strbuf_addf(corpus, "Question: %s\nAnswer: %s\n", s->items[i].question, s->items[i].answer);
        if (tr)
            bpe_trainer_add(tr, corpus->buf + at, corpus->len - at, err);
    }
}

static int prep_tokenizer(struct run_state *rs, struct run_prep *p, struct lethe_error *err)
{
    const json_t *vocab = json_object_get(json_object_get(p->suite->json, "model"), "vocab");
    if (json_is_string(vocab)) {
        p->tok = tokenizer_load(json_string_value(vocab), err);
        if (!p->tok)
            return -(err ? err->code : LETHE_EINPUT);
        tokenizer_hash(p->tok, p->tok_hash);
        return 0;
    }
    int size = (int)json_integer_value(json_object_get(vocab, "bpe"));
    struct strbuf corpus = STRBUF_INIT;
    add_qa_text(NULL, &corpus, &p->d.full, err);
    add_qa_text(NULL, &corpus, &p->d.real_authors, err);
    add_qa_text(NULL, &corpus, &p->d.world_facts, err);
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "bpe %d %d\n", RUN_CACHE_FORMAT, size);
    char hex[65];
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, key.buf, key.len);
    sha256_update(&h, corpus.buf, corpus.len);
    unsigned char dig[32];
    sha256_final(&h, dig);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    strbuf_reset(&key);
    strbuf_addf(&key, "bpe-%.16s", hex);
    char *dir = cache_path(&rs->cache, "tokenizers", key.buf);
    int fd = cache_lock(&rs->cache, key.buf, err);
    int rc = fd < 0 ? fd : 0;
    if (rc == 0 && file_exists(dir)) {
        struct lethe_error e2 = {0};
        p->tok = tokenizer_load(dir, &e2);
        if (!p->tok) {
            progress_clear(&rs->pg);
            fprintf(stderr, "lethe: warning: cached tokenizer '%s' is unusable (%s): training it "
                    "again\n", dir, e2.msg);
            struct strbuf old = STRBUF_INIT;
            strbuf_addf(&old, "%s.bad%ld", dir, (long)getpid());
            rename(dir, old.buf);
            strbuf_release(&old);
        }
    }
    if (rc == 0 && !p->tok) {
        double t0 = run_now();
        progress_phase(&rs->pg, "training the tokenizer");
        struct bpe_trainer *tr = bpe_trainer_new();
        struct strbuf tmp = STRBUF_INIT;
        add_qa_text(tr, &tmp, &p->d.full, err);
        add_qa_text(tr, &tmp, &p->d.real_authors, err);
        add_qa_text(tr, &tmp, &p->d.world_facts, err);
        strbuf_release(&tmp);
        p->tok = bpe_trainer_finish(tr, size, err);
        bpe_trainer_free(tr);
        if (!p->tok) {
            rc = -(err && err->code ? err->code : LETHE_EFAIL);
        } else {
            struct strbuf tdir = STRBUF_INIT;
            strbuf_addf(&tdir, "%s.tmp%ld", dir, (long)getpid());
            rc = tokenizer_save(p->tok, tdir.buf, err);
            if (rc == 0 && rename(tdir.buf, dir) != 0)
                rc = lethe_err(err, LETHE_EIO, "cannot rename '%s' to '%s': %s", tdir.buf, dir,
                               lethe_strerror(errno));
            strbuf_release(&tdir);
        }
        rs->stats.t[PH_TRAIN] += run_now() - t0;
    }
    cache_unlock(fd);
    free(dir);
    strbuf_release(&key);
    strbuf_release(&corpus);
    if (rc == 0)
        tokenizer_hash(p->tok, p->tok_hash);
    return rc;
}

/* ---- tokenized sets ------------------------------------------------------------------- */

static int tokenize_set(struct run_prep *p, const struct qa_set *s, struct lm_set *out,
                        struct lethe_error *err)
{
    size_t at = out->n;
    out->ex = xrealloc(out->ex, (out->n + s->n + 1) * sizeof(*out->ex));
    for (size_t i = 0; i < s->n; i++) {
        struct lm_example *e = &out->ex[at + i];
        memset(e, 0, sizeof(*e));
        if (tofu_tokenize_qa(p->tok, &s->items[i], s->items[i].answer, p->gcfg.n_ctx, e, err) < 0) {
            lethe_err_prefix(err, "'%s' item %zu", s->name ? s->name : "?", i + 1);
            return -(err && err->code ? err->code : LETHE_EINPUT);
        }
        out->n++;
    }
    return 0;
}

static int tokenize_refusals(struct run_prep *p, struct lethe_error *err)
{
    size_t n = 0;
    const char *const *idk = method_idk_refusals(&n);
    p->refusals.ex = xcalloc(n + 1, sizeof(*p->refusals.ex));
    for (size_t i = 0; i < n; i++) {
        int *ids = NULL;
        size_t len = 0, cap = 0;
        char *text = xmalloc(strlen(idk[i]) + 2);
        text[0] = ' ';
        strcpy(text + 1, idk[i]);
        int rc = tokenizer_encode(p->tok, text, strlen(text), &ids, &len, &cap, err);
        free(text);
        if (rc < 0) {
            free(ids);
            return rc;
        }
        xgrow(&ids, &cap, len + 1, sizeof(int));
        ids[len++] = tokenizer_eot(p->tok);
        p->refusals.ex[i] = (struct lm_example){ids, (int)len, 0};
        p->refusals.n++;
    }
    return 0;
}

void run_prep_free(struct run_prep *p)
{
    if (!p)
        return;
    tofu_data_release(&p->d);
    tokenizer_free(p->tok);
    run_lm_set_release(&p->train);
    run_lm_set_release(&p->forget);
    run_lm_set_release(&p->retain);
    run_lm_set_release(&p->refusals);
    free(p->keep);
    free(p->keep_ref);
    free(p->split);
    free(p->arch_json);
    free(p->train_json);
    gpt_free(p->orig);
    gpt_free(p->ret);
    gpt_free(p->refm);
    free(p->oracle_log_tr);
    run_results_free(p->oracle_res);
    free(p);
}

struct tokenizer *run_prep_tokenizer(struct run_prep *p)
{
    return p->tok;
}

int run_prep_new(struct run_state *rs, const struct suite_cfg *s, const char *split,
                 struct run_prep **out, struct lethe_error *err)
{
    struct run_prep *p = xcalloc(1, sizeof(*p));
    p->suite = s;
    p->split = xstrdup(split);
    p->seed = -1;
    p->oracle_seed = -1;
    *out = NULL;
    char *dir = NULL;
    int rc;
    if (s->data_dir)
        dir = xstrdup(s->data_dir);
    else if ((rc = synthetic_dir(rs, s, &dir, err)) < 0)
        goto fail;
    rc = tofu_load(dir, split, &p->d, err);
    free(dir);
    if (rc < 0) {
        lethe_err_prefix(err, "suite '%s'", s->name);
        goto fail;
    }
    const json_t *model = json_object_get(s->json, "model");
    const json_t *train = json_object_get(s->json, "train");
    if ((rc = prep_tokenizer(rs, p, err)) < 0)
        goto fail;
    if ((rc = gpt_config_from_json(model, tokenizer_vocab_size(p->tok), &p->gcfg, err)) < 0 ||
        (rc = train_recipe_from_json(train, &p->recipe, err)) < 0) {
        lethe_err_prefix(err, "suite '%s'", s->name);
        goto fail;
    }
    p->arch_json = config_canonical_json(model);
    p->train_json = config_canonical_json(train);
    /* the original trains on full + real_authors + world_facts; the oracle on the same
     * sequence without the forget items (the last ones of full, tofu_load checks it) */
    if ((rc = tokenize_set(p, &p->d.full, &p->train, err)) < 0 ||
        (rc = tokenize_set(p, &p->d.real_authors, &p->train, err)) < 0 ||
        (rc = tokenize_set(p, &p->d.world_facts, &p->train, err)) < 0 ||
        (rc = tokenize_set(p, &p->d.forget, &p->forget, err)) < 0 ||
        (rc = tokenize_set(p, &p->d.retain, &p->retain, err)) < 0 ||
        (rc = tokenize_refusals(p, err)) < 0)
        goto fail;
    if (p->d.forget.n + p->d.retain.n != p->d.full.n) {
        rc = lethe_err(err, LETHE_EINPUT, "suite '%s': forget (%zu) and retain (%zu) items do not "
                       "add up to full (%zu)", s->name, p->d.forget.n, p->d.retain.n, p->d.full.n);
        goto fail;
    }
    p->keep = xmalloc(p->train.n);
    for (size_t i = 0; i < p->train.n; i++)
        p->keep[i] = !(i >= p->d.retain.n && i < p->d.full.n);
    /* the MIA reference model leaves out the largest forget split of the suite (they are
     * nested: the last items of full) */
    size_t n_out = p->d.forget.n;
    for (size_t i = 0; i < s->n_splits; i++) {
        int pct;
        char tail;
        if (sscanf(s->splits[i], "forget%d%c", &pct, &tail) == 1 && pct > 0 && pct <= 100) {
            size_t k = tofu_forget_count(p->d.full.n, pct);
            if (k > n_out && k < p->d.full.n)
                n_out = k;
        }
    }
    p->keep_ref = xmalloc(p->train.n);
    for (size_t i = 0; i < p->train.n; i++)
        p->keep_ref[i] = !(i >= p->d.full.n - n_out && i < p->d.full.n);
    run_lm_data_hash(&p->train, NULL, p->data_hash_orig);
    run_lm_data_hash(&p->train, p->keep, p->data_hash_ret);
    run_lm_data_hash(&p->train, p->keep_ref, p->data_hash_ref);
    *out = p;
    return 0;
fail:
    run_prep_free(p);
    return rc < 0 ? rc : -LETHE_EFAIL;
}

/* ---- reference models ---------------------------------------------------------------- */

/* What a reference role trains on. */
struct role_data {
    const unsigned char *keep;      /* NULL = every training item */
    const char *data_hash;
    struct gpt **slot;              /* where p keeps the model */
    long train_seed;
};

static int role_data(struct run_prep *p, const char *role, long seed, struct role_data *r,
                     struct lethe_error *err)
{
    if (strcmp(role, "original") == 0) {
        *r = (struct role_data){NULL, p->data_hash_orig, &p->orig, seed};
    } else if (strcmp(role, "retrain") == 0) {
        *r = (struct role_data){p->keep, p->data_hash_ret, &p->ret, seed};
    } else if (strcmp(role, "reference") == 0) {
        *r = (struct role_data){p->keep_ref, p->data_hash_ref, &p->refm, seed + 1};
    } else {
        return lethe_err(err, LETHE_EUSAGE, "no reference model role '%s' (original, retrain, "
                         "reference)", role);
    }
    return 0;
}

static int train_ref(struct run_state *rs, struct run_prep *p, const char *role,
                     const struct role_data *rd, const char *key, const char *path,
                     struct gpt **out, double *train_s, struct lethe_error *err)
{
    long seed = rd->train_seed;
    struct gpt *m = gpt_new(&p->gcfg, (uint64_t)seed);
    double t0 = run_now(), tokens = 0;
    char phase[96];
    snprintf(phase, sizeof(phase), "training %s", role);
    rs->pg.phase_name = phase;
    int rc = run_lm_train(m, &p->train, rd->keep, &p->recipe, (uint64_t)seed, &rs->pg, &tokens,
                          err);
    rs->pg.phase_name = NULL;
    *train_s = run_now() - t0;
    rs->stats.t[PH_TRAIN] += *train_s;
    if (rc < 0) {
        gpt_free(m);
        return rc;
    }
    struct safetensors_meta meta = {0};
    char buf[64], hex[65];
    safetensors_meta_set(&meta, "lethe.format", "1");
    safetensors_meta_set(&meta, "lethe.model_key", key);
    safetensors_meta_set(&meta, "lethe.role", role);
    safetensors_meta_set(&meta, "lethe.suite", p->suite->name);
    safetensors_meta_set(&meta, "lethe.split", p->split);
    snprintf(buf, sizeof(buf), "%ld", seed);
    safetensors_meta_set(&meta, "lethe.seed", buf);
    safetensors_meta_set(&meta, "lethe.tokenizer_sha256", p->tok_hash);
    safetensors_meta_set(&meta, "lethe.data_sha256", rd->data_hash);
    safetensors_meta_set(&meta, "lethe.recipe", p->train_json);
    safetensors_meta_set(&meta, "lethe.arch", p->arch_json);
    snprintf(buf, sizeof(buf), "%.3f", *train_s);
    safetensors_meta_set(&meta, "lethe.train_s", buf);
    cache_params_hash(gpt_params(m), hex);
    safetensors_meta_set(&meta, "lethe.params_sha256", hex);
    char *dir = path_dirname(path);
    rc = dir_make(dir, err);
    free(dir);
    if (rc == 0)
        rc = safetensors_save_gpt(path, m, &meta, err);
    safetensors_meta_release(&meta);
    if (rc < 0) {
        gpt_free(m);
        return rc;
    }
    rs->stats.trained++;
    if (strcmp(role, "reference") != 0)
        run_test_die_after(strcmp(role, "retrain") == 0 ? "train_retrain" : "train_original");
    *out = m;
    return 0;
}

/* The cache file of a reference model and its key. Returned (free). */
static char *model_path(struct run_state *rs, const struct run_prep *p, const char *role,
                        const struct role_data *rd, char key[65])
{
    struct model_key_in in = {p->suite->kind, role, p->arch_json, p->train_json, rd->train_seed,
                              p->tok_hash, rd->data_hash};
    cache_model_key(&in, key);
    char name[96];
    snprintf(name, sizeof(name), "%s-%.24s.safetensors", role, key);
    return cache_path(&rs->cache, "models", name);
}

char *run_ref_model_path(struct run_state *rs, struct run_prep *p, const char *role, long seed)
{
    struct role_data rd = {0};
    char key[65];
    if (role_data(p, role, seed, &rd, NULL) < 0)
        return NULL;
    return model_path(rs, p, role, &rd, key);
}

int run_ref_model(struct run_state *rs, struct run_prep *p, const char *role, long seed,
                  struct gpt **out, struct lethe_error *err)
{
    struct role_data rd = {0};
    int rc = role_data(p, role, seed, &rd, err);
    if (rc < 0)
        return rc;
    if (p->seed != seed) {
        gpt_free(p->orig);
        gpt_free(p->ret);
        p->orig = p->ret = NULL;
        if (!p->refm_given) {
            gpt_free(p->refm);
            p->refm = NULL;
        }
        p->seed = seed;
    }
    struct gpt **slot = rd.slot;
    if (*slot) {
        *out = *slot;
        return 0;
    }
    char key[65];
    char *path = model_path(rs, p, role, &rd, key);
    int fd = cache_lock(&rs->cache, key, err);
    if (fd < 0) {
        free(path);
        return fd;
    }
    struct gpt *m = NULL;
    double train_s = 0;
    char *why = NULL;
    if (cache_load_model(path, key, &p->gcfg, &m, &train_s, &why)) {
        rs->stats.loaded++;
    } else {
        if (why) {
            progress_clear(&rs->pg);
            fprintf(stderr, "lethe: warning: cached model '%s' is unusable (%s): training it "
                    "again\n", path, why);
            free(why);
        }
        rc = train_ref(rs, p, role, &rd, key, path, &m, &train_s, err);
    }
    cache_unlock(fd);
    if (rc == 0 && rs->st &&
        store_put_model(rs->st, key, path, role, p->suite->name, rd.train_seed, train_s, err) < 0)
        rc = -LETHE_EIO;
    free(path);
    if (rc < 0) {
        gpt_free(m);
        return rc;
    }
    *slot = m;
    *out = m;
    return 0;
}

/* ---- evaluation and jobs ---------------------------------------------------------------- */

static void sink_metric(void *ctx, const char *variant, const char *split, const char *name,
                        double value, double lo, double hi, long n)
{
    run_results_metric(ctx, variant, split, name, value, lo, hi, n);
}
static void sink_sample(void *ctx, const char *variant, const char *split, const char *name,
                        long idx, double value)
{
    run_results_sample(ctx, variant, split, name, idx, value);
}
static void sink_curve(void *ctx, const char *name, long step, double x, double y)
{
    run_results_curve(ctx, name, step, x, y);
}

void run_sink_init(struct metric_sink *sink, struct run_results *res)
{
    sink->metric = sink_metric;
    sink->sample = sink_sample;
    sink->curve = sink_curve;
    sink->ctx = res;
}

/* The evaluation options of the suite: its MIAs and probes from its "attacks" list; *ref_mode
 * is 0 without the 'reference' attack, 1 for its second oracle, 2 for ref=retrain. */
static void eval_opts(const struct run_prep *p, struct tofu_eval_opts *o,
                      struct tofu_eval_timing *timing, int *ref_mode)
{
    tofu_eval_opts_init(o);
    o->mia = 0;
    o->probes = 0;
    o->timing = timing;
    *ref_mode = 0;
    const json_t *attacks = json_object_get(p->suite->json, "attacks");
    size_t i;
    const json_t *a;
    json_array_foreach(attacks, i, a) {
        const char *name = json_string_value(json_is_object(a) ? json_object_get(a, "attack") : a);
        if (!name)
            continue;
        int k = mia_lm_lookup(name);
        if (k >= 0)
            o->mia |= MIA_LM_BIT(k);
        if (k == MIA_LM_REFERENCE) {
            const char *ref = json_is_object(a) ? json_string_value(json_object_get(a, "ref")) : NULL;
            *ref_mode = ref && strcmp(ref, "retrain") == 0 ? 2 : 1;
        }
        if (strcmp(name, "paraphrase") == 0)
            o->probes = 1;
    }
}

int run_tofu_evaluate(struct run_state *rs, struct run_prep *p, const struct gpt *m, long seed,
                      const struct tofu_oracle *oracle, const struct metric_sink *sink,
                      long mia, struct tofu_oracle *own, struct lethe_error *err)
{
    struct tofu_eval_timing timing = {0};
    struct tofu_eval_opts o;
    int ref_mode;
    eval_opts(p, &o, &timing, &ref_mode);
    if (mia >= 0) {
        o.mia = (unsigned)mia;
        o.probes = 0;
        if ((o.mia & MIA_LM_BIT(MIA_LM_REFERENCE)) && !ref_mode)
            ref_mode = 1;
    }
    if (!(o.mia & MIA_LM_BIT(MIA_LM_REFERENCE)))
        ref_mode = 0;
    if (ref_mode == 1 && p->refm_given) {
        o.ref = p->refm;
    } else if (ref_mode) {
        int rc = run_ref_model(rs, p, ref_mode == 2 ? "retrain" : "reference", seed, &o.ref, err);
        if (rc < 0) {
            lethe_err_prefix(err, "the 'reference' attack's model");
            return rc;
        }
    }
    struct gpt *copy = gpt_clone(m);        /* attacks may derive variants from it */
    double t0 = run_now();
    progress_phase(&rs->pg, "evaluating");
    int rc = tofu_evaluate_opts(copy, p->tok, &p->d, oracle, "base", &o, sink, own, err);
    double el = run_now() - t0;
    rs->stats.t[PH_SCORE] += timing.score_s;
    rs->stats.t[PH_GENERATE] += timing.gen_s;
    rs->stats.t[PH_ATTACK] += timing.attack_s;
    el -= timing.score_s + timing.gen_s + timing.attack_s;
    rs->stats.t[PH_EVAL] += el > 0 ? el : 0;
    gpt_free(copy);
    return rc;
}

/* Evaluates m (a model of the job seed) into res. */
static int evaluate(struct run_state *rs, struct run_prep *p, const struct gpt *m, long seed,
                    const struct tofu_oracle *oracle, struct run_results *res,
                    struct tofu_oracle *own, struct lethe_error *err)
{
    struct metric_sink sink;
    run_sink_init(&sink, res);
    return run_tofu_evaluate(rs, p, m, seed, oracle, &sink, -1, own, err);
}

int run_tofu_oracle(struct run_state *rs, struct run_prep *p, long seed, struct lethe_error *err)
{
    if (p->oracle_seed == seed)
        return 0;
    free(p->oracle_log_tr);
    p->oracle_log_tr = NULL;
    run_results_free(p->oracle_res);
    p->oracle_res = NULL;
    p->oracle_seed = -1;
    struct gpt *ret;
    int rc = run_ref_model(rs, p, "retrain", seed, &ret, err);
    if (rc < 0)
        return rc;
    struct run_results *res = run_results_new();
    struct tofu_oracle own = {0};
    double t0 = run_now();
    rc = evaluate(rs, p, ret, seed, NULL, res, &own, err);
    p->oracle_eval_s = run_now() - t0;
    if (rc < 0) {
        free((void *)own.log_tr);
        run_results_free(res);
        lethe_err_prefix(err, "evaluating the retain oracle");
        return rc;
    }
    p->oracle_log_tr = (double *)own.log_tr;
    p->oracle = own;
    p->oracle_res = res;
    p->oracle_seed = seed;
    return 0;
}

struct step_ctx {
    struct run_state *rs;
    struct run_results *res;
};
static void on_step(void *ctx, long step, long total, double loss)
{
    struct step_ctx *c = ctx;
    if (c->res)
        run_results_curve(c->res, "unlearn.loss", step, (double)step, loss);
    progress_step(&c->rs->pg, "unlearning", step + 1, total, loss, 0);
}

/* The method's parameters as method_args (strings borrowed from the configuration). */
static struct method_arg *method_args(const struct method_cfg *mc, size_t *n)
{
    const json_t *o = mc->json;
    struct method_arg *a = xcalloc(json_object_size(o) + 1, sizeof(*a));
    const char *k;
    const json_t *v;
    *n = 0;
    json_object_foreach((json_t *)o, k, v) {
        if (strcmp(k, "name") == 0 || strcmp(k, "method") == 0)
            continue;
        struct method_arg *x = &a[*n];
        x->name = k;
        if (json_is_number(v))
            x->num = json_number_value(v);
        else if (json_is_boolean(v))
            x->num = json_is_true(v) ? 1.0 : 0.0;
        else if (json_is_string(v))
            x->str = json_string_value(v);
        else
            continue;
        (*n)++;
    }
    return a;
}

int run_tofu_unlearn(struct run_state *rs, struct run_prep *p, const struct method_cfg *mc,
                     const struct gpt *orig, struct gpt *m, long seed, struct run_results *res,
                     struct lethe_error *err)
{
    if (!mc->info || !mc->info->unlearn_lm)
        return lethe_err(err, LETHE_ENOTYET, "method '%s' has no language-model implementation yet",
                         mc->name);
    size_t n_args;
    struct method_arg *args = method_args(mc, &n_args);
    struct step_ctx sc = {rs, res};
    struct method_ctx c = {
        .model = m, .ref = (mc->info->needs & METHOD_NEEDS_REF) ? orig : NULL,
        .forget = &p->forget, .retain = &p->retain, .refusals = &p->refusals,
        .args = args, .n_args = n_args, .base_lr = 0.1 * p->recipe.lr,
        .seed = (uint64_t)seed, .on_step = on_step, .on_step_ctx = &sc};
    double t0 = run_now();
    progress_phase(&rs->pg, "unlearning");
    int rc = mc->info->unlearn_lm(&c, err);
    rs->stats.t[PH_UNLEARN] += run_now() - t0;
    free(args);
    if (rc < 0)
        lethe_err_prefix(err, "method '%s'", mc->name);
    return rc;
}

int run_tofu_job(struct run_state *rs, struct run_prep *p, const struct job *job,
                 struct run_results **res_out, double *extra_s, struct lethe_error *err)
{
    *extra_s = 0;
    const struct method_cfg *mc = job->method;
    int rc = run_tofu_oracle(rs, p, job->seed, err);
    if (rc < 0)
        return rc;
    if (mc->reference && strcmp(mc->method, "retrain") == 0) {
        if (p->oracle_res) {                /* evaluated for the oracle: its results */
            *res_out = p->oracle_res;
            *extra_s = p->oracle_eval_s;
            p->oracle_res = NULL;
            run_test_die_after("eval");
            return 0;
        }
        struct gpt *ret;
        if ((rc = run_ref_model(rs, p, "retrain", job->seed, &ret, err)) < 0)
            return rc;
        struct run_results *res = run_results_new();
        rc = evaluate(rs, p, ret, job->seed, NULL, res, NULL, err);
        if (rc < 0) {
            run_results_free(res);
            return rc;
        }
        run_test_die_after("eval");
        *res_out = res;
        return 0;
    }
    struct gpt *orig;
    if ((rc = run_ref_model(rs, p, "original", job->seed, &orig, err)) < 0)
        return rc;
    struct run_results *res = run_results_new();
    struct gpt *m = NULL;
    m = gpt_clone(orig);
    if (!mc->reference) {
        if ((rc = run_tofu_unlearn(rs, p, mc, orig, m, job->seed, res, err)) < 0)
            goto out;
        run_test_die_after("unlearn");
    }
    rc = evaluate(rs, p, m, job->seed, &p->oracle, res, NULL, err);
    if (rc == 0)
        run_test_die_after("eval");
out:
    gpt_free(m);
    if (rc < 0) {
        run_results_free(res);
        return rc;
    }
    *res_out = res;
    return 0;
}
