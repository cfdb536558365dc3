/* Training the reference language models: the suite's recipe (AdamW, warm-up, decay), answer
 * tokens only, one seeded data order shared by the original and the retain oracle. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run_impl.h"

static int get_num(const json_t *o, const char *key, double *out, struct lethe_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || !json_is_number(v))
        return lethe_err(err, LETHE_EINPUT, "train: '%s' is missing or not a number", key);
    *out = json_number_value(v);
    return 0;
}

int train_recipe_from_json(const void *json, struct train_recipe *r, struct lethe_error *err)
{
    const json_t *o = json;
    double epochs = 0, batch = 0, accum = 0;
    memset(r, 0, sizeof(*r));
    if (get_num(o, "epochs", &epochs, err) < 0 || get_num(o, "batch", &batch, err) < 0 ||
        get_num(o, "grad_accum", &accum, err) < 0 || get_num(o, "lr", &r->lr, err) < 0 ||
        get_num(o, "warmup", &r->warmup, err) < 0 ||
        get_num(o, "weight_decay", &r->weight_decay, err) < 0 ||
        get_num(o, "clip", &r->clip, err) < 0 || get_num(o, "momentum", &r->momentum, err) < 0 ||
        get_num(o, "beta1", &r->beta1, err) < 0 || get_num(o, "beta2", &r->beta2, err) < 0 ||
        get_num(o, "eps", &r->eps, err) < 0)
        return -LETHE_EINPUT;
    r->epochs = (int)epochs;
    r->batch = (int)batch;
    r->grad_accum = (int)accum;
    const char *sched = json_string_value(json_object_get(o, "schedule"));
    const char *optim = json_string_value(json_object_get(o, "optimizer"));
    if (!sched || !optim)
        return lethe_err(err, LETHE_EINPUT, "train: 'schedule' and 'optimizer' must be strings");
    if (strcmp(sched, "linear") == 0)
        r->schedule = LR_LINEAR;
    else if (strcmp(sched, "cosine") == 0)
        r->schedule = LR_COSINE;
    else if (strcmp(sched, "constant") == 0)
        r->schedule = LR_CONSTANT;
    else
        return lethe_err(err, LETHE_EINPUT, "train: unknown schedule '%s'", sched);
    r->optimizer = strcmp(optim, "adamw") == 0 ? 0 : strcmp(optim, "adam") == 0 ? 1
                 : strcmp(optim, "sgd") == 0 ? 2 : -1;
    if (r->optimizer < 0)
        return lethe_err(err, LETHE_EINPUT, "train: unknown optimizer '%s'", optim);
    if (r->epochs < 1 || r->batch < 1 || r->grad_accum < 1)
        return lethe_err(err, LETHE_EINPUT, "train: epochs, batch and grad_accum must be >= 1");
    return 0;
}

int gpt_config_from_json(const void *json, int vocab_size, struct gpt_config *cfg,
                         struct lethe_error *err)
{
    const json_t *o = json;
    const char *arch = json_string_value(json_object_get(o, "arch"));
    if (!arch || strcmp(arch, "gpt") != 0)
        return lethe_err(err, LETHE_EINPUT, "model: arch '%s' is not a language model",
                         arch ? arch : "?");
    double d = json_number_value(json_object_get(o, "dropout"));
    if (d != 0.0)
        return lethe_err(err, LETHE_ENOTYET, "model: dropout %g is not supported yet (use 0)", d);
    memset(cfg, 0, sizeof(*cfg));
    cfg->n_layer = (int)json_integer_value(json_object_get(o, "n_layer"));
    cfg->n_head = (int)json_integer_value(json_object_get(o, "n_head"));
    cfg->n_embd = (int)json_integer_value(json_object_get(o, "n_embd"));
    cfg->n_ctx = (int)json_integer_value(json_object_get(o, "n_ctx"));
    cfg->vocab = vocab_size;
    cfg->ln_eps = 1e-5f;
    const char *bad = gpt_config_check(cfg);
    if (bad)
        return lethe_err(err, LETHE_EINPUT, "model: %s", bad);
    return 0;
}

void run_lm_data_hash(const struct lm_set *s, const unsigned char *keep, char hex[65])
{
    struct sha256 h;
    sha256_init(&h);
    for (size_t i = 0; i < s->n; i++) {
        if (keep && !keep[i])
            continue;
        int32_t head[2] = {s->ex[i].len, s->ex[i].prompt_len};
        sha256_update(&h, head, sizeof(head));
        for (int t = 0; t < s->ex[i].len; t++) {
            int32_t v = s->ex[i].ids[t];
            sha256_update(&h, &v, sizeof(v));
        }
    }
    unsigned char dig[32];
    sha256_final(&h, dig);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
}

void run_lm_set_release(struct lm_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->ex[i].ids);
    free(s->ex);
    s->ex = NULL;
    s->n = 0;
}

int run_lm_train(struct gpt *m, const struct lm_set *set, const unsigned char *keep,
                 const struct train_recipe *r, uint64_t seed, struct progress *pg,
                 double *tokens_out, struct lethe_error *err)
{
    size_t n_keep = 0;
    int maxlen = 1;
    for (size_t i = 0; i < set->n; i++)
        if (!keep || keep[i]) {
            n_keep++;
            if (set->ex[i].len > maxlen)
                maxlen = set->ex[i].len;
        }
    if (n_keep == 0)
        return lethe_err(err, LETHE_EINPUT, "no training examples");
    const int n_ctx = gpt_cfg(m)->n_ctx;
    if (maxlen > n_ctx)
        maxlen = n_ctx;
    const int B = r->batch;
    const size_t per_step = (size_t)B * (size_t)r->grad_accum;
    const long steps_per_epoch = (long)((n_keep + per_step - 1) / per_step);
    struct lr_schedule ls = {r->schedule, r->lr, 0.0, (long)llround(r->warmup * (double)steps_per_epoch),
                             steps_per_epoch * r->epochs};
    if (ls.warmup_steps > ls.total_steps)
        ls.warmup_steps = ls.total_steps;
    const char *bad = lr_schedule_check(&ls);
    if (bad)
        return lethe_err(err, LETHE_EINPUT, "train: %s", bad);

    struct nn_params *p = gpt_params(m);
    if (!p->grad)
        nn_params_alloc_grad(p);
    struct adamw adam = {0};
    struct sgd sgd = {0};
    if (r->optimizer == 2) {
        struct sgd_config sc = sgd_config_default();
        sc.momentum = r->momentum;
        sc.weight_decay = r->weight_decay;
        sgd_init(&sgd, p, &sc);
    } else {
        struct adamw_config ac = adamw_config_default();
        ac.beta1 = r->beta1;
        ac.beta2 = r->beta2;
        ac.eps = r->eps;
        ac.weight_decay = r->optimizer == 1 ? 0.0 : r->weight_decay;
        adamw_init(&adam, p, &ac);
    }
    gpt_reserve(m, B, maxlen);
    int *tokens = xmalloc((size_t)B * (size_t)maxlen * sizeof(int));
    int *targets = xmalloc((size_t)B * (size_t)maxlen * sizeof(int));
    int *lengths = xmalloc((size_t)B * sizeof(int));
    size_t *perm = xmalloc(set->n * sizeof(size_t));
    size_t *order = xmalloc(n_keep * sizeof(size_t));
    struct nn_rng rng;
    nn_rng_seed(&rng, seed ^ 0x6c657468652d6461ULL);
    double tokens_seen = 0.0, t0 = run_now();
    long step = 0;
    for (int epoch = 0; epoch < r->epochs; epoch++) {
        for (size_t i = 0; i < set->n; i++)
            perm[i] = i;
        for (size_t i = set->n; i > 1; i--) {       /* Fisher-Yates over the whole set */
            size_t j = (size_t)(nn_rng_next(&rng) % i);
            size_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        size_t k = 0;
        for (size_t i = 0; i < set->n; i++)
            if (!keep || keep[perm[i]])
                order[k++] = perm[i];
        for (size_t pos = 0; pos < n_keep; step++) {
            nn_params_zero_grad(p);
            double loss_sum = 0.0;
            int micro = 0;
            for (int a = 0; a < r->grad_accum && pos < n_keep; a++, micro++) {
                int b = 0, T = 1;
                for (; b < B && pos < n_keep; b++, pos++) {
                    const struct lm_example *e = &set->ex[order[pos]];
                    int len = e->len < maxlen ? e->len : maxlen;
                    if (len > T)
                        T = len;
                }
                pos -= (size_t)b;
                for (int i = 0; i < b; i++, pos++) {
                    const struct lm_example *e = &set->ex[order[pos]];
                    int len = e->len < maxlen ? e->len : maxlen;
                    int *tk = tokens + (size_t)i * (size_t)T, *tg = targets + (size_t)i * (size_t)T;
                    for (int t = 0; t < T; t++) {
                        tk[t] = t < len ? e->ids[t] : 0;
                        /* position t predicts ids[t+1]; answer positions: t + 1 >= prompt_len */
                        tg[t] = (t + 1 < len && t + 1 >= e->prompt_len) ? e->ids[t + 1] : -1;
                    }
                    lengths[i] = len;
                    tokens_seen += len;
                }
                loss_sum += gpt_forward_loss(m, tokens, lengths, targets, b, T);
                gpt_backward_loss(m);
            }
            if (micro > 1) {
                float s = 1.0f / (float)micro;
                for (size_t i = 0; i < p->n; i++)
                    p->grad[i] *= s;
            }
            if (r->clip > 0)
                nn_clip_grad_norm(p, r->clip);
            double lr = lr_schedule_at(&ls, step);
            if (r->optimizer == 2)
                sgd_step(&sgd, p, lr);
            else
                adamw_step(&adam, p, lr);
            double loss = loss_sum / micro;
            if (!isfinite(loss)) {
                free(tokens); free(targets); free(lengths); free(perm); free(order);
                adamw_release(&adam);
                sgd_release(&sgd);
                return lethe_err(err, LETHE_EFAIL, "training diverged at step %ld (loss %g)",
                                 step, loss);
            }
            double el = run_now() - t0;
            progress_step(pg, "training", step + 1, ls.total_steps, loss,
                          el > 0 ? tokens_seen / el : 0.0);
        }
    }
    free(tokens);
    free(targets);
    free(lengths);
    free(perm);
    free(order);
    adamw_release(&adam);
    sgd_release(&sgd);
    if (tokens_out)
        *tokens_out = tokens_seen;
    return 0;
}
