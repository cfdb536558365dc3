/* GPT-2 checkpoints: Hugging Face names and layouts in safetensors, the architecture in Lethe's
 * __metadata__ or, for a bare Hugging Face file, in the config.json beside it. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

#define HF_PREFIX "transformer."

static const char *const arch_keys[] = {"format", "lethe.model", "lethe.n_layer", "lethe.n_head",
                                        "lethe.n_embd", "lethe.n_ctx", "lethe.vocab",
                                        "lethe.ln_eps"};

/* The shortest decimal that reads back as the same float. */
static void float_str_impl(char *buf, size_t n, float x)
{
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x)
            return;
    }
}

int safetensors_save_gpt(const char *path, const struct gpt *m,
                         const struct safetensors_meta *meta, struct lethe_error *err)
{
    const struct gpt_config *c = gpt_cfg(m);
    struct safetensors_meta all = {0};
    char v[64];
    safetensors_meta_set(&all, "format", "pt");
    safetensors_meta_set(&all, "lethe.model", GPT_CKPT_MODEL);
    snprintf(v, sizeof(v), "%d", c->n_layer);
    safetensors_meta_set(&all, "lethe.n_layer", v);
    snprintf(v, sizeof(v), "%d", c->n_head);
    safetensors_meta_set(&all, "lethe.n_head", v);
    snprintf(v, sizeof(v), "%d", c->n_embd);
    safetensors_meta_set(&all, "lethe.n_embd", v);
    snprintf(v, sizeof(v), "%d", c->n_ctx);
    safetensors_meta_set(&all, "lethe.n_ctx", v);
    snprintf(v, sizeof(v), "%d", c->vocab);
    safetensors_meta_set(&all, "lethe.vocab", v);
    float_str_impl(v, sizeof(v), c->ln_eps);
    safetensors_meta_set(&all, "lethe.ln_eps", v);
    for (int i = 0; meta && i < meta->n; i++) {
        int ours = 0;
        for (size_t k = 0; k < sizeof(arch_keys) / sizeof(arch_keys[0]); k++)
            ours |= strcmp(meta->keys[i], arch_keys[k]) == 0;
        if (!ours)
            safetensors_meta_set(&all, meta->keys[i], meta->values[i]);
    }
    /* gpt_params is not const-qualified; saving only reads the table */
    int rc = safetensors_save(path, gpt_params((struct gpt *)m), &all, err);
    safetensors_meta_release(&all);
    return rc;
}

/* ---- architecture ---------------------------------------------------------------------- */

static int meta_int_impl(const struct safetensors *st, const char *key, int *out,
                         struct lethe_error *err)
{
    const char *s = safetensors_meta_get(safetensors_metadata(st), key);
    if (!s)
        return lethe_err(err, LETHE_EINPUT, "'%s': metadata '%s' is missing",
                         safetensors_path(st), key);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v <= 0 || v > INT_MAX || *s == '+' || *s == ' ')
        return lethe_err(err, LETHE_EINPUT, "'%s': metadata '%s' is '%s', expected a positive "
                         "integer", safetensors_path(st), key, s);
    *out = (int)v;
    return 0;
}

static int config_from_meta_impl(const struct safetensors *st, struct gpt_config *cfg,
                                 struct lethe_error *err)
{
    const char *path = safetensors_path(st);
    const char *model = safetensors_meta_get(safetensors_metadata(st), "lethe.model");
    if (strcmp(model, GPT_CKPT_MODEL) != 0)
        return lethe_err(err, LETHE_EINPUT, "'%s': metadata 'lethe.model' is '%s', not a GPT-2 "
                         "('" GPT_CKPT_MODEL "')", path, model);
    int rc;
    if ((rc = meta_int_impl(st, "lethe.n_layer", &cfg->n_layer, err)) < 0 ||
        (rc = meta_int_impl(st, "lethe.n_head", &cfg->n_head, err)) < 0 ||
        (rc = meta_int_impl(st, "lethe.n_embd", &cfg->n_embd, err)) < 0 ||
        (rc = meta_int_impl(st, "lethe.n_ctx", &cfg->n_ctx, err)) < 0 ||
        (rc = meta_int_impl(st, "lethe.vocab", &cfg->vocab, err)) < 0)
        return rc;
    const char *s = safetensors_meta_get(safetensors_metadata(st), "lethe.ln_eps");
    if (!s)
        return lethe_err(err, LETHE_EINPUT, "'%s': metadata 'lethe.ln_eps' is missing", path);
    char *end;
    float eps = strtof(s, &end);
    if (!*s || *end || !isfinite(eps) || !(eps > 0))
        return lethe_err(err, LETHE_EINPUT, "'%s': metadata 'lethe.ln_eps' is '%s', expected a "
                         "positive number", path, s);
    cfg->ln_eps = eps;
    return 0;
}

static int json_int_impl(const char *path, const struct nn_json *j, const char *key, int *out,
                         struct lethe_error *err)
{
    const struct nn_json *v = nn_json_get(j, key);
    if (!v)
        return lethe_err(err, LETHE_EINPUT, "'%s': missing key '%s'", path, key);
    if (v->type != NN_JSON_NUMBER || !v->is_int || v->inum <= 0 || v->inum > INT_MAX)
        return lethe_err(err, LETHE_EINPUT, "'%s': '%s' is not a positive integer", path, key);
    *out = (int)v->inum;
    return 0;
}

/* Hugging Face's GPT2Config keys (transformers' configuration_gpt2.py). */
static int config_from_json_impl(const char *path, struct gpt_config *cfg,
                                 struct lethe_error *err)
{
    char *text;
    size_t len;
    int rc = file_read_all(path, &text, &len, err);
    if (rc < 0)
        return rc;
    struct nn_json *j = NULL;
    rc = nn_json_parse(text, len, &j, err);
    free(text);
    if (rc < 0) {
        lethe_err_prefix(err, "'%s'", path);
        return rc;
    }
    const struct nn_json *v;
    if (j->type != NN_JSON_OBJECT) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': not a JSON object", path);
    } else if ((v = nn_json_get(j, "model_type")) &&
               (v->type != NN_JSON_STRING || strcmp(v->str, "gpt2") != 0)) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': 'model_type' is not 'gpt2'", path);
    } else if ((v = nn_json_get(j, "activation_function")) &&
               (v->type != NN_JSON_STRING ||
                (strcmp(v->str, "gelu_new") && strcmp(v->str, "gelu_pytorch_tanh")))) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': 'activation_function' is not 'gelu_new' (the "
                       "tanh GELU of GPT-2)", path);
    } else if ((rc = json_int_impl(path, j, "n_layer", &cfg->n_layer, err)) < 0 ||
               (rc = json_int_impl(path, j, "n_head", &cfg->n_head, err)) < 0 ||
               (rc = json_int_impl(path, j, "n_embd", &cfg->n_embd, err)) < 0 ||
               (rc = json_int_impl(path, j, "n_positions", &cfg->n_ctx, err)) < 0 ||
               (rc = json_int_impl(path, j, "vocab_size", &cfg->vocab, err)) < 0) {
        /* err set */
    } else if (!(v = nn_json_get(j, "layer_norm_epsilon"))) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': missing key 'layer_norm_epsilon'", path);
    } else if (v->type != NN_JSON_NUMBER || !(v->num > 0) || !isfinite((float)v->num)) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': 'layer_norm_epsilon' is not a positive number",
                       path);
    } else {
        cfg->ln_eps = (float)v->num;
        const struct nn_json *inner = nn_json_get(j, "n_inner");
        if (inner && inner->type != NN_JSON_NULL &&
            (inner->type != NN_JSON_NUMBER || !inner->is_int ||
             inner->inum != 4LL * cfg->n_embd))
            rc = lethe_err(err, LETHE_EINPUT, "'%s': 'n_inner' must be null or 4 * n_embd (%lld)",
                           path, 4LL * cfg->n_embd);
    }
    nn_json_free(j);
    return rc;
}

static int config_of_impl(const struct safetensors *st, struct gpt_config *cfg,
                          struct lethe_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    const char *path = safetensors_path(st);
    int rc;
    if (safetensors_meta_get(safetensors_metadata(st), "lethe.model")) {
        rc = config_from_meta_impl(st, cfg, err);
    } else {
        char *dir = path_dirname(path);
        char *conf = path_join(dir, "config.json");
        free(dir);
        if (!file_exists(conf))
            rc = lethe_err(err, LETHE_EINPUT, "'%s': no Lethe metadata ('lethe.model') and no "
                           "'%s' beside it for the architecture", path, conf);
        else
            rc = config_from_json_impl(conf, cfg, err);
        free(conf);
    }
    const char *bad;
    if (!rc && (bad = gpt_config_check(cfg)))
        rc = lethe_err(err, LETHE_EINPUT, "'%s': %s", path, bad);
    return rc;
}

int safetensors_gpt_config(const char *path, struct gpt_config *cfg, struct lethe_error *err)
{
    struct safetensors *st;
    int rc = safetensors_open(path, &st, err);
    if (rc < 0)
        return rc;
    rc = config_of_impl(st, cfg, err);
    safetensors_close(st);
    return rc;
}

/* ---- loading ---------------------------------------------------------------------------- */

static int ignorable_impl(const char *name)
{
    return str_starts(name, "h.") && (str_ends(name, ".attn.bias") ||
                                      str_ends(name, ".attn.masked_bias"));
}

/* Matches the file's tensors to the table: src[k] = file index of table tensor k; *lm = index of
 * lm_head.weight or -1. */
static int match_impl(const struct safetensors *st, const struct nn_params *p, int *src, int *lm,
                      struct lethe_error *err)
{
    const char *path = safetensors_path(st);
    int n = safetensors_count(st), with = 0, without = 0;
    for (int i = 0; i < n; i++) {
        const char *name = safetensors_info(st, i)->name;
        if (strcmp(name, "lm_head.weight") == 0)
            continue;
        if (str_starts(name, HF_PREFIX))
            with++;
        else
            without++;
    }
    if (with && without)
        return lethe_err(err, LETHE_EINPUT, "'%s': some tensor names have the '" HF_PREFIX "' "
                         "prefix and some do not", path);
    size_t skip = with ? strlen(HF_PREFIX) : 0;
    for (int k = 0; k < p->n_tensors; k++)
        src[k] = -1;
    *lm = -1;
    for (int i = 0; i < n; i++) {
        const char *full = safetensors_info(st, i)->name;
        if (strcmp(full, "lm_head.weight") == 0) {
            *lm = i;
            continue;
        }
        const char *name = full + skip;
        const struct nn_tensor *t = nn_params_find(p, name);
        if (t)
            src[t - p->tensors] = i;
        else if (!ignorable_impl(name))
            return lethe_err(err, LETHE_EINPUT, "'%s': unknown tensor '%s'", path, full);
    }
    for (int k = 0; k < p->n_tensors; k++) {
        if (src[k] < 0)
            return lethe_err(err, LETHE_EINPUT, "'%s': missing tensor '%s%s'", path,
                             with ? HF_PREFIX : "", p->tensors[k].name);
        int rc = safetensors_check_tensor(st, src[k], &p->tensors[k], err);
        if (rc < 0)
            return rc;
    }
    if (*lm >= 0) {
        const struct nn_tensor *wte = nn_params_find(p, "wte.weight");
        LETHE_ASSERT(wte);
        int rc = safetensors_check_tensor(st, *lm, wte, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int safetensors_load_gpt(const char *path, struct gpt **out, struct safetensors_meta *meta,
                         struct lethe_error *err)
{
    *out = NULL;
    struct safetensors *st;
    int rc = safetensors_open(path, &st, err);
    if (rc < 0)
        return rc;
    struct gpt_config cfg;
    struct nn_params p = {0};
    int *src = NULL, lm = -1;
    if ((rc = config_of_impl(st, &cfg, err)) < 0)
        goto out;
    gpt_params_layout(&p, &cfg);
    src = xmalloc((size_t)p.n_tensors * sizeof(*src));
    if ((rc = match_impl(st, &p, src, &lm, err)) < 0)
        goto out;
    nn_params_alloc(&p);
    for (int k = 0; k < p.n_tensors && !rc; k++)
        rc = safetensors_read_f32(st, src[k], nn_tensor_data(&p, &p.tensors[k]), err);
    if (!rc && lm >= 0) {
        const struct nn_tensor *wte = nn_params_find(&p, "wte.weight");
        float *head = xmalloc(wte->numel * sizeof(float));
        rc = safetensors_read_f32(st, lm, head, err);
        if (!rc && memcmp(head, nn_tensor_data(&p, wte), wte->numel * sizeof(float)) != 0)
            rc = lethe_err(err, LETHE_EINPUT, "'%s': tensor 'lm_head.weight' differs from "
                           "'%swte.weight'; Lethe's GPT-2 ties the output head to the token "
                           "embedding", path, safetensors_index(st, HF_PREFIX "wte.weight") >= 0
                                                  ? HF_PREFIX : "");
        free(head);
    }
    if (rc < 0)
        goto out;
    struct gpt *m = gpt_from_params(&cfg, &p, err);
    if (!m) {
        lethe_err_prefix(err, "'%s'", path);
        rc = -LETHE_EINPUT;
        goto out;
    }
    if (meta)
        safetensors_meta_copy(meta, safetensors_metadata(st));
    *out = m;
out:
    free(src);
    nn_params_release(&p);
    safetensors_close(st);
    return rc;
}

/* ---- Hugging Face config.json --------------------------------------------------------- */

int gpt_write_hf_config(const char *path, const struct gpt_config *cfg, struct lethe_error *err)
{
    const char *bad = gpt_config_check(cfg);
    if (bad)
        return lethe_err(err, LETHE_EINPUT, "cannot write '%s': %s", path, bad);
    char eps[64];
    float_str_impl(eps, sizeof(eps), cfg->ln_eps);
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb,
                "{\n"
                "  \"activation_function\": \"gelu_new\",\n"
                "  \"architectures\": [\"GPT2LMHeadModel\"],\n"
                "  \"attn_pdrop\": 0.0,\n"
                "  \"embd_pdrop\": 0.0,\n"
                "  \"initializer_range\": 0.02,\n"
                "  \"layer_norm_epsilon\": %s,\n"
                "  \"model_type\": \"gpt2\",\n"
                "  \"n_ctx\": %d,\n"
                "  \"n_embd\": %d,\n"
                "  \"n_head\": %d,\n"
                "  \"n_inner\": null,\n"
                "  \"n_layer\": %d,\n"
                "  \"n_positions\": %d,\n"
                "  \"resid_pdrop\": 0.0,\n"
                "  \"summary_first_dropout\": 0.0,\n"
                "  \"tie_word_embeddings\": true,\n"
                "  \"vocab_size\": %d\n"
                "}\n",
                eps, cfg->n_ctx, cfg->n_embd, cfg->n_head, cfg->n_layer, cfg->n_ctx, cfg->vocab);
    int rc = file_write_atomic(path, sb.buf, sb.len, err);
    strbuf_release(&sb);
    return rc;
}
