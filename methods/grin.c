/* GRIN (METHODS.md 2.1): gradient-ratio influence |g_f| / (|g_r| + eps) selects 1% of the weight
 * scalars, Gaussian noise goes onto them, then a base objective fine-tunes only them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "methods/lm_impl.h"

int grin_eligible(const struct nn_tensor *t)
{
    return !t->frozen && t->ndim >= 2 &&
           (t->kind == NN_T_LINEAR || t->kind == NN_T_EMBED || t->kind == NN_T_CONV);
}

long grin_grad_sum(struct gpt *m, const struct lm_set *s, const size_t *idx, size_t n, int batch)
{
    int n_ctx = gpt_cfg(m)->n_ctx, cols = 1;
    for (size_t i = 0; i < n; i++) {
        int len = s->ex[idx[i]].len < n_ctx ? s->ex[idx[i]].len : n_ctx;
        cols = len > cols ? len : cols;
    }
    struct lm_batch b = {.rows = batch, .cols = cols};
    b.tokens = xcalloc((size_t)batch * cols, sizeof(int));
    b.targets = xcalloc((size_t)batch * cols, sizeof(int));
    b.lengths = xcalloc((size_t)batch, sizeof(int));
    float *lp = xcalloc((size_t)batch * cols, sizeof(float));
    float *dlp = xcalloc((size_t)batch * cols, sizeof(float));
    const struct lm_example **first = xcalloc((size_t)batch, sizeof(*first));
    int *n_first = xcalloc((size_t)batch, sizeof(int)), *plen = xcalloc((size_t)batch, sizeof(int));
    long tokens = 0;
    for (size_t at = 0; at < n; at += (size_t)batch) {
        int nb = (int)(n - at < (size_t)batch ? n - at : (size_t)batch);
        for (int i = 0; i < nb; i++) {
            first[i] = &s->ex[idx[at + (size_t)i]];
            n_first[i] = first[i]->len;
            plen[i] = first[i]->prompt_len;
        }
        lm_batch_fill(&b, first, n_first, NULL, plen, nb, n_ctx);
        gpt_forward(m, b.tokens, b.lengths, b.B, b.T);
        gpt_logprobs(m, b.targets, lp);
        for (size_t i = 0; i < (size_t)b.B * b.T; i++) {
            dlp[i] = b.targets[i] >= 0 ? -1.0f : 0.0f;     /* d(sum of -lp)/d lp */
            tokens += b.targets[i] >= 0;
        }
        gpt_backward_dlogprob(m, b.targets, dlp);
    }
    free(b.tokens);
    free(b.targets);
    free(b.lengths);
    free(lp);
    free(dlp);
    free(first);
    free(n_first);
    free(plen);
    return tokens;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int grin_select(const struct nn_params *p, const float *gf, const float *gr, double rho,
                double eps_scale, struct grin_selection *out, struct lethe_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!(rho > 0 && rho <= 1))
        return lethe_err(err, LETHE_EINPUT, "method 'grin': rho %g is not in (0, 1]", rho);
    if (!(eps_scale > 0) || !isfinite(eps_scale))
        return lethe_err(err, LETHE_EINPUT, "method 'grin': eps_scale %g is not positive",
                         eps_scale);
    size_t ne = 0;
    double sum_r = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        if (!grin_eligible(t))
            continue;
        ne += t->numel;
        for (size_t j = t->offset; j < t->offset + t->numel; j++) {
            if (!isfinite(gf[j]) || !isfinite(gr[j]))
                return lethe_err(err, LETHE_EFAIL, "method 'grin': the gradient of '%s' is not "
                                 "finite", t->name);
            sum_r += fabs((double)gr[j]);
        }
    }
    if (ne == 0)
        return lethe_err(err, LETHE_EINPUT, "method 'grin': the model has no trainable weight "
                         "matrix to select from");
    double eps = eps_scale * sum_r / (double)ne;
    if (!(eps > 0))
        eps = 1e-300;           /* a zero retain gradient: the ratio is |g_f| / tiny */
    double *s = xmalloc(ne * sizeof(double)), *sorted = xmalloc(ne * sizeof(double));
    size_t at = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        if (grin_eligible(t))
            for (size_t j = t->offset; j < t->offset + t->numel; j++)
                s[at++] = fabs((double)gf[j]) / (fabs((double)gr[j]) + eps);
    }
    size_t k = (size_t)ceil(rho * (double)ne - 1e-9);
    k = k < 1 ? 1 : k > ne ? ne : k;
    memcpy(sorted, s, ne * sizeof(double));
    qsort(sorted, ne, sizeof(double), cmp_desc);
    double thr = sorted[k - 1];
    size_t above = 0;
    for (size_t j = 0; j < ne; j++)
        above += s[j] > thr;
    size_t ties = k - above;    /* scalars equal to the threshold taken, lowest flat index first */
    out->mask = xcalloc(p->n, 1);
    out->per_tensor = xcalloc((size_t)p->n_tensors, sizeof(size_t));
    out->n_tensors = p->n_tensors;
    at = 0;
    for (int i = 0; i < p->n_tensors; i++) {    /* tensors are laid out in offset order */
        const struct nn_tensor *t = &p->tensors[i];
        if (!grin_eligible(t))
            continue;
        for (size_t j = t->offset; j < t->offset + t->numel; j++, at++) {
            int take = s[at] > thr || (s[at] == thr && ties > 0 && ties--);
            out->mask[j] = (unsigned char)take;
            out->per_tensor[i] += (size_t)take;
        }
    }
    out->k = k;
    out->n_eligible = ne;
    out->eps = eps;
    free(s);
    free(sorted);
    return 0;
}

void grin_noise(struct nn_params *p, const unsigned char *mask, double kappa, struct nn_rng *r)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        float *d = p->data + t->offset;
        double ss = 0;
        int any = 0;
        for (size_t j = 0; j < t->numel; j++) {
            ss += (double)d[j] * d[j];
            any |= mask[t->offset + j];
        }
        if (!any)
            continue;
        double sd = kappa * sqrt(ss / (double)t->numel);
        for (size_t j = 0; j < t->numel; j++)
            if (mask[t->offset + j])
                d[j] = (float)(d[j] + sd * nn_rng_normal(r));
    }
}

void grin_selection_release(struct grin_selection *s)
{
    if (!s)
        return;
    free(s->mask);
    free(s->per_tensor);
    memset(s, 0, sizeof(*s));
}

static int check_items(const struct lm_set *s, const size_t *idx, size_t n, int V, int n_ctx,
                       struct lethe_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct lm_example *e = &s->ex[idx[i]];
        if (!e->ids || e->len < 2 || e->prompt_len < 1 || e->prompt_len >= e->len ||
            e->prompt_len >= n_ctx)
            return lethe_err(err, LETHE_EINPUT, "method 'grin': retain item %zu: no answer "
                             "within the context (length %d, prompt %d)", idx[i], e->len,
                             e->prompt_len);
        for (int t = 0; t < e->len; t++)
            if (e->ids[t] < 0 || e->ids[t] >= V)
                return lethe_err(err, LETHE_EINPUT, "method 'grin': retain item %zu: token %d "
                                 "at %d is outside the vocabulary (%d)", idx[i], e->ids[t], t,
                                 V);
    }
    return 0;
}

/* What GRIN's hook keeps: the mask of the selection and the weights it started from. */
struct grin_keep {
    const unsigned char *mask;
    const float *keep;
};

/* The shared loop's hook: gradients outside the mask are zeroed before clipping, and after each
 * optimizer step the weights outside it are put back (undoing decoupled weight decay, the only
 * thing that moves them: their moments stay 0), so they stay bit-identical. */
static void masked_hook(struct lm_loop *L, int after_step)
{
    const struct grin_keep *k = L->hook_ctx;
    struct nn_params *p = gpt_params(L->model);
    for (size_t j = 0; j < p->n; j++)
        if (!k->mask[j]) {
            if (after_step)
                p->data[j] = k->keep[j];
            else
                p->grad[j] = 0;
        }
}

int grin_unlearn(const struct method_ctx *c, struct grin_selection *sel, struct lethe_error *err)
{
    if (sel)
        memset(sel, 0, sizeof(*sel));
    const char *base = method_arg_str(c, "base", "grad_diff");
    struct lm_objective obj;
    if (strcmp(base, "grad_diff") == 0)
        obj = lm_obj_grad_diff;
    else if (strcmp(base, "npo_gdr") == 0)
        obj = lm_obj_npo_gdr;
    else if (strcmp(base, "idk_nll") == 0)
        obj = lm_obj_idk_nll;
    else
        return lethe_err(err, LETHE_EINPUT,
                         "method 'grin': base '%s' is not grad_diff, npo_gdr or idk_nll", base);
    obj.name = "grin";
    double rho = method_arg_num(c, "rho", 0.01), kappa = method_arg_num(c, "kappa", 0.1);
    double eps_scale = method_arg_num(c, "eps_scale", 0.001);
    double ratio = method_arg_num(c, "retain_ratio", 4.0);
    if (!(rho > 0 && rho <= 1))
        return lethe_err(err, LETHE_EINPUT, "method 'grin': rho %g is not in (0, 1]", rho);
    if (!(kappa >= 0) || !isfinite(kappa))
        return lethe_err(err, LETHE_EINPUT, "method 'grin': kappa %g is negative", kappa);
    if (!(ratio > 0) || !isfinite(ratio))
        return lethe_err(err, LETHE_EINPUT, "method 'grin': retain_ratio %g is not positive",
                         ratio);
    if (!c->retain || c->retain->n == 0)
        return lethe_err(err, LETHE_EINPUT, "method 'grin': the retain set is empty");
    struct lm_loop L;
    int rc = lm_loop_init(&L, c, &obj, err);
    if (rc < 0)
        return rc;
    struct nn_params *p = gpt_params(L.model);
    /* a stream of its own, derived from the run seed (the loop's stream is the seed itself) */
    struct nn_rng rng;
    nn_rng_seed(&rng, c->seed ^ 0x67726e5f6d61736bull);
    size_t nF = c->forget->n, nR = c->retain->n;
    double want = ceil(ratio * (double)nF - 1e-9);
    size_t nr = want < (double)nR ? (size_t)want : nR;
    size_t *ridx = xmalloc(nR * sizeof(size_t)), *fidx = xmalloc(nF * sizeof(size_t));
    for (size_t i = 0; i < nR; i++)
        ridx[i] = i;
    for (size_t i = 0; i < nr; i++) {           /* a seeded subset: partial Fisher-Yates */
        size_t j = i + (size_t)(nn_rng_uniform(&rng) * (double)(nR - i));
        size_t t = ridx[i];
        ridx[i] = ridx[j];
        ridx[j] = t;
    }
    for (size_t i = 0; i < nF; i++)
        fidx[i] = i;
    float *gf = NULL, *gr = NULL, *keep = NULL;
    struct grin_selection s = {0};
    rc = check_items(c->retain, ridx, nr, gpt_cfg(L.model)->vocab, L.n_ctx, err);
    if (rc < 0)
        goto done;
    gf = xmalloc(p->n * sizeof(float));
    gr = xmalloc(p->n * sizeof(float));
    nn_params_zero_grad(p);
    long kf = grin_grad_sum(L.model, c->forget, fidx, nF, L.batch);
    for (size_t j = 0; j < p->n; j++)
        gf[j] = kf ? (float)(p->grad[j] / (double)kf) : 0.0f;
    nn_params_zero_grad(p);
    long kr = grin_grad_sum(L.model, c->retain, ridx, nr, L.batch);
    for (size_t j = 0; j < p->n; j++)
        gr[j] = kr ? (float)(p->grad[j] / (double)kr) : 0.0f;
    rc = grin_select(p, gf, gr, rho, eps_scale, &s, err);
    if (rc < 0)
        goto done;
    if (kappa > 0)
        grin_noise(p, s.mask, kappa, &rng);
    keep = xmalloc(p->n * sizeof(float));
    memcpy(keep, p->data, p->n * sizeof(float));
    struct grin_keep gk = {s.mask, keep};
    L.hook = masked_hook;
    L.hook_ctx = &gk;
    rc = lm_loop_run(&L, err);
done:
    if (sel && rc == 0)
        *sel = s;
    else
        grin_selection_release(&s);
    free(gf);
    free(gr);
    free(keep);
    free(ridx);
    free(fidx);
    lm_loop_release(&L);
    return rc;
}

int grin_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return grin_unlearn(c, NULL, err);
}
