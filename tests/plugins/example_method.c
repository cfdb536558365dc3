/* An example out-of-tree method, "plugin_ga": plain gradient ascent on the forget answers with
 * SGD, written against the public headers only (methods/method.h, nn/nn.h). */
#include <stdlib.h>

#include "methods/method.h"
#include "nn/nn.h"

const struct method *lethe_method_plugin(unsigned abi);

static void free_all(int *tok, int *tg, int *len, float *dlp)
{
    free(tok);
    free(tg);
    free(len);
    free(dlp);
}

/* steps of full-batch SGD ascent on the token-mean NLL of the forget answers */
static int plugin_ga_unlearn(const struct method_ctx *c, struct lethe_error *err)
{
    if (!c->model || !c->forget || c->forget->n == 0)
        return lethe_err(err, LETHE_EINPUT, "method 'plugin_ga': the forget set is empty");
    const struct gpt_config *cfg = gpt_cfg(c->model);
    int B = (int)c->forget->n, T = 1;
    for (int b = 0; b < B; b++) {
        const struct lm_example *e = &c->forget->ex[b];
        if (e->len < 2 || e->prompt_len < 1 || e->prompt_len >= e->len)
            return lethe_err(err, LETHE_EINPUT, "method 'plugin_ga': forget item %d has no "
                             "answer", b);
        int len = e->len < cfg->n_ctx ? e->len : cfg->n_ctx;
        T = len > T ? len : T;
    }
    int *tok = calloc((size_t)B * T, sizeof(int)), *tg = calloc((size_t)B * T, sizeof(int));
    int *len = calloc((size_t)B, sizeof(int));
    float *dlp = calloc((size_t)B * T, sizeof(float));
    if (!tok || !tg || !len || !dlp) {
        free_all(tok, tg, len, dlp);
        return lethe_err(err, LETHE_ENOMEM, "method 'plugin_ga': out of memory");
    }
    for (int b = 0; b < B; b++) {
        const struct lm_example *e = &c->forget->ex[b];
        len[b] = e->len < T ? e->len : T;
        for (int t = 0; t < T; t++) {
            tok[b * T + t] = t < len[b] ? e->ids[t] : 0;
            tg[b * T + t] = t + 1 < len[b] && t + 1 >= e->prompt_len ? e->ids[t + 1] : -1;
        }
    }
    struct nn_params *p = gpt_params(c->model);
    nn_params_alloc_grad(p);
    int steps = (int)method_arg_num(c, "steps", 5);
    double lr = method_arg_num(c, "lr", c->base_lr);
    for (int s = 0; s < steps; s++) {
        nn_params_zero_grad(p);
        gpt_forward(c->model, tok, len, B, T);
        double loss = -gpt_nll(c->model, tg, NULL, dlp);   /* ascent: minimise -NLL */
        for (int i = 0; i < B * T; i++)
            dlp[i] = -dlp[i];
        gpt_backward_dlogprob(c->model, tg, dlp);
        nn_clip_grad_norm(p, 1.0);
        for (size_t i = 0; i < p->n; i++)
            p->data[i] -= (float)lr * p->grad[i];
        if (c->on_step)
            c->on_step(c->on_step_ctx, s, steps, loss);
    }
    free_all(tok, tg, len, dlp);
    return 0;
}

static const struct param_spec params[] = {
    {"steps", PARAM_COUNT, "5", NULL, "full-batch SGD steps"},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct method plugin_ga = {
    METHOD_ABI, "plugin_ga", "example plug-in: full-batch SGD gradient ascent on the forget set",
    KINDS_LM, METHOD_NEEDS_FORGET, params, "tests/plugins/example_method.c", plugin_ga_unlearn,
};

const struct method *lethe_method_plugin(unsigned abi)
{
    return abi == METHOD_ABI ? &plugin_ga : NULL;
}
