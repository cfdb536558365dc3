/* FLAT (METHODS.md 2.2): loss adjustment with only forget data and template answers, over the
 * mean token probability of the template and of the forget answer, with four f-divergences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "methods/lm_impl.h"

static const char *const flat_names[FLAT_COUNT] = {"kl", "js", "pearson", "tv"};

int flat_variant_parse(const char *s, enum flat_variant *out)
{
    for (int i = 0; i < FLAT_COUNT; i++)
        if (strcmp(s, flat_names[i]) == 0) {
            *out = (enum flat_variant)i;
            return 0;
        }
    return -1;
}

static double softplus(double x)
{
    return -lm_log_sigmoid(-x);
}

/* g*(v) and its derivative; f*(g*(v)) and its derivative (METHODS.md 2.2 table). */
static void flat_terms(enum flat_variant v, double x, double *g, double *dg, double *f, double *df)
{
    switch (v) {
    case FLAT_KL:
        *g = x;
        *dg = 1;
        *f = exp(x - 1);
        *df = *f;
        break;
    case FLAT_JS:
        *g = log(2.0) - softplus(-x);
        *dg = lm_sigmoid(-x);
        *f = softplus(x) - log(2.0);
        *df = lm_sigmoid(x);
        break;
    case FLAT_PEARSON:
        *g = x;
        *dg = 1;
        *f = x * x / 4 + x;
        *df = x / 2 + 1;
        break;
    default: {
        double t = tanh(x);
        *g = *f = t / 2;
        *dg = *df = (1 - t * t) / 2;
        break;
    }
    }
}

double lm_flat(double *dpe, double *dpf, const double *pe, const double *pf, int n,
               enum flat_variant v)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double ge, dge, fe, dfe, gf, dgf, ff, dff;
        flat_terms(v, pe[i], &ge, &dge, &fe, &dfe);
        flat_terms(v, pf[i], &gf, &dgf, &ff, &dff);
        sum += -ge + ff;
        if (dpe)
            dpe[i] = -dge / n;
        if (dpf)
            dpf[i] = dff / n;
    }
    return n ? sum / n : 0.0;
}

/* The forget term on rows [0, n) = prompt + template, [n, 2n) = prompt + forget answer:
 * P̄ = mean of exp(lp) over each row's own scored positions; dlp = dL/dP̄ * p_t / |A|. */
static double flat_forget(struct lm_loop *L, const size_t *items, int n, double scale)
{
    struct lm_batch *b = &L->fb;
    lm_fill_forget(L, items, n, LM_FILL_REFUSAL_THEN_ANSWER);
    gpt_forward(L->model, b->tokens, b->lengths, b->B, b->T);
    gpt_logprobs(L->model, b->targets, L->lp);
    int rows = b->B, T = b->T;
    for (int r = 0; r < rows; r++) {
        double s = 0;
        int k = 0;
        for (int t = 0; t < T; t++)
            if (b->targets[(size_t)r * T + t] >= 0) {
                s += exp((double)L->lp[(size_t)r * T + t]);
                k++;
            }
        L->seq[r] = k ? s / k : 0.0;
        L->count[r] = k;
    }
    enum flat_variant v = FLAT_KL;
    flat_variant_parse(method_arg_str(L->c, "variant", "kl"), &v);  /* checked by flat_unlearn_lm */
    double loss = lm_flat(L->dseq, L->dseq + n, L->seq, L->seq + n, n, v);
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)r * T + t;
            L->dlp[i] = b->targets[i] >= 0 && L->count[r]
                            ? (float)(scale * L->dseq[r] * exp((double)L->lp[i]) / L->count[r])
                            : 0.0f;
        }
    gpt_backward_dlogprob(L->model, b->targets, L->dlp);
    return loss;
}

const struct lm_objective lm_obj_flat = {"flat", "none", 1.0, 1.0, 0.0, METHOD_NEEDS_TEMPLATE, 2,
                                         flat_forget};

/* Sets parameter name of out[0..*n) to num: appended when missing (out has room), overwritten
 * only when force. */
static void arg_set(struct method_arg *out, size_t *n, const char *name, double num, int force)
{
    for (size_t i = 0; i < *n; i++)
        if (out[i].name && strcmp(out[i].name, name) == 0) {
            if (force) {
                out[i].num = num;
                out[i].str = NULL;
            }
            return;
        }
    out[(*n)++] = (struct method_arg){name, num, NULL};
}

int flat_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    const char *vs = method_arg_str(c, "variant", "kl");
    enum flat_variant v;
    if (flat_variant_parse(vs, &v) < 0)
        return lethe_err(err, LETHE_EINPUT,
                         "method 'flat': variant '%s' is not kl, js, pearson or tv", vs);
    /* FLAT's defaults (5 epochs, 8 x 8, warm-up max(2 steps, 1 epoch)) where the caller gave
     * none; the warm-up is raised to 2 steps when an epoch is shorter */
    struct method_arg *args = xcalloc(c->n_args + 4, sizeof(*args));
    size_t n = c->n_args;
    if (n)
        memcpy(args, c->args, n * sizeof(*args));
    arg_set(args, &n, "epochs", 5, 0);
    arg_set(args, &n, "batch", 8, 0);
    arg_set(args, &n, "grad_accum", 8, 0);
    arg_set(args, &n, "warmup", 1.0, 0);
    struct method_ctx fc = *c;
    fc.args = args;
    fc.n_args = n;
    double batch = method_arg_num(&fc, "batch", 8), accum = method_arg_num(&fc, "grad_accum", 8);
    double warm = method_arg_num(&fc, "warmup", 1.0);
    if (c->forget && c->forget->n && batch >= 1 && accum >= 1) {
        double per_step = floor(batch) * floor(accum);
        double spe = ceil((double)c->forget->n / per_step);
        if (warm * spe < 2)
            arg_set(args, &n, "warmup", 2.0 / spe, 1);
    }
    int rc = lm_unlearn(&fc, &lm_obj_flat, err);
    free(args);
    return rc;
}
