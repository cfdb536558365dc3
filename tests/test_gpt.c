/* Tests for the GPT-2 core (nn/gpt.c): a double-precision reference model built from the _ref
 * kernels is checked against central finite differences, the fast float model against it
 * (padded batches, masked targets, injected hidden gradients, frozen tensors, per-sample
 * norms), and both against golden values from an independent PyTorch implementation. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/ops.h"
#include "tests/test.h"

static struct nn_rng rng;

/* ---- the reference model (double) -------------------------------------------------------- */

struct ref_layer {
    double *ln1, *ln1m, *ln1r, *qkv, *att, *atty, *res2, *ln2, *ln2m, *ln2r, *fch, *fchg, *res3;
};

struct ref {
    struct gpt_config cfg;
    const struct nn_params *p;  /* table of offsets (the fast model's) */
    double *w, *g;              /* (p->n) parameters and gradients */
    int B, T, N, off[16], len[16];
    size_t aoff[16];
    int *tok, *pos;
    double *enc, *lnf, *lnfm, *lnfr, *logits;
    struct ref_layer *a;
};

static double *zd(size_t n)
{
    return xcalloc(n ? n : 1, sizeof(double));
}

/* offset of "h.<l>.<name>", or of <name> when l < 0 */
static size_t toff_impl(const struct ref *r, int l, const char *suffix)
{
    char name[NN_NAME_MAX];
    if (l >= 0)
        snprintf(name, sizeof(name), "h.%d.%s", l, suffix);
    else
        snprintf(name, sizeof(name), "%s", suffix);
    const struct nn_tensor *t = nn_params_find(r->p, name);
    LETHE_ASSERT(t);
    return t->offset;
}
#define RW(r, l, name) ((r)->w + toff_impl(r, l, name))
#define RG(r, l, name) ((r)->g + toff_impl(r, l, name))

static void ref_release_acts(struct ref *r)
{
    if (!r->a)
        return;
    for (int l = 0; l < r->cfg.n_layer; l++) {
        double **d = (double **)&r->a[l];
        for (size_t k = 0; k < sizeof(r->a[l]) / sizeof(double *); k++)
            free(d[k]);
    }
    free(r->a);
    free(r->tok), free(r->pos), free(r->enc), free(r->lnf), free(r->lnfm), free(r->lnfr);
    free(r->logits);
    r->a = NULL;
}

static void ref_init(struct ref *r, struct gpt *m)
{
    memset(r, 0, sizeof(*r));
    r->cfg = *gpt_cfg(m);
    r->p = gpt_params(m);
    r->w = zd(r->p->n);
    r->g = zd(r->p->n);
    for (size_t i = 0; i < r->p->n; i++)
        r->w[i] = r->p->data[i];
}

static void ref_free(struct ref *r)
{
    ref_release_acts(r);
    free(r->w);
    free(r->g);
}

static void ref_forward(struct ref *r, const int *tokens, const int *lengths, int B, int T)
{
    ref_release_acts(r);
    int C = r->cfg.n_embd, V = r->cfg.vocab, NH = r->cfg.n_head, L = r->cfg.n_layer;
    r->B = B;
    r->T = T;
    r->N = 0;
    size_t ao = 0;
    for (int b = 0; b < B; b++) {
        r->off[b] = r->N;
        r->len[b] = lengths ? lengths[b] : T;
        r->aoff[b] = ao;
        r->N += r->len[b];
        ao += (size_t)NH * r->len[b] * r->len[b];
    }
    r->off[B] = r->N;
    r->aoff[B] = ao;
    int N = r->N;
    r->tok = xmalloc((size_t)(N + 1) * sizeof(int));
    r->pos = xmalloc((size_t)(N + 1) * sizeof(int));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < r->len[b]; t++) {
            r->tok[r->off[b] + t] = tokens[b * T + t];
            r->pos[r->off[b] + t] = t;
        }
    size_t nc = (size_t)N * C;
    r->enc = zd(nc);
    encoder_forward_ref(r->enc, r->tok, r->pos, RW(r, -1, "wte.weight"), RW(r, -1, "wpe.weight"), N,
                        C);
    r->a = xcalloc((size_t)L, sizeof(*r->a));
    const double *res = r->enc;
    for (int l = 0; l < L; l++) {
        struct ref_layer *a = &r->a[l];
        a->ln1 = zd(nc), a->ln1m = zd(N), a->ln1r = zd(N), a->qkv = zd(3 * nc), a->att = zd(ao);
        a->atty = zd(nc), a->res2 = zd(nc), a->ln2 = zd(nc), a->ln2m = zd(N), a->ln2r = zd(N);
        a->fch = zd(4 * nc), a->fchg = zd(4 * nc), a->res3 = zd(nc);
        layernorm_forward_ref(a->ln1, a->ln1m, a->ln1r, res, RW(r, l, "ln_1.weight"),
                              RW(r, l, "ln_1.bias"), N, C, r->cfg.ln_eps);
        matmul_forward_ref(a->qkv, a->ln1, RW(r, l, "attn.c_attn.weight"),
                           RW(r, l, "attn.c_attn.bias"), N, C, 3 * C);
        attention_forward_ref(a->atty, a->att, a->qkv, r->off, r->len, r->aoff, B, NH, C);
        matmul_forward_ref(a->res2, a->atty, RW(r, l, "attn.c_proj.weight"),
                           RW(r, l, "attn.c_proj.bias"), N, C, C);
        for (size_t i = 0; i < nc; i++)
            a->res2[i] += res[i];
        layernorm_forward_ref(a->ln2, a->ln2m, a->ln2r, a->res2, RW(r, l, "ln_2.weight"),
                              RW(r, l, "ln_2.bias"), N, C, r->cfg.ln_eps);
        matmul_forward_ref(a->fch, a->ln2, RW(r, l, "mlp.c_fc.weight"),
                           RW(r, l, "mlp.c_fc.bias"), N, C, 4 * C);
        gelu_forward_ref(a->fchg, a->fch, 4 * nc);
        matmul_forward_ref(a->res3, a->fchg, RW(r, l, "mlp.c_proj.weight"),
                           RW(r, l, "mlp.c_proj.bias"), N, 4 * C, C);
        for (size_t i = 0; i < nc; i++)
            a->res3[i] += a->res2[i];
        res = a->res3;
    }
    r->lnf = zd(nc), r->lnfm = zd(N), r->lnfr = zd(N);
    layernorm_forward_ref(r->lnf, r->lnfm, r->lnfr, res, RW(r, -1, "ln_f.weight"),
                          RW(r, -1, "ln_f.bias"), N, C, r->cfg.ln_eps);
    /* logits (B, T, V), zeros at padding; wte^T as a matmul */
    r->logits = zd((size_t)B * T * V);
    const double *wte = RW(r, -1, "wte.weight");
    for (int b = 0; b < B; b++)
        for (int t = 0; t < r->len[b]; t++)
            for (int v = 0; v < V; v++) {
                double s = 0;
                for (int c = 0; c < C; c++)
                    s += r->lnf[(size_t)(r->off[b] + t) * C + c] * wte[(size_t)v * C + c];
                r->logits[((size_t)b * T + t) * V + v] = s;
            }
}

/* Accumulates into r->g the gradient for dlogits (B, T, V) (padding ignored) plus injected
 * gradients inject[l] (B, T, C) on the residual after block l (NULL entries skipped). */
static void ref_backward(struct ref *r, const double *dlogits, double *const *inject)
{
    int C = r->cfg.n_embd, V = r->cfg.vocab, NH = r->cfg.n_head, L = r->cfg.n_layer, T = r->T;
    int N = r->N;
    size_t nc = (size_t)N * C;
    double *dres = zd(nc), *dln = zd(nc), *d4a = zd(4 * nc), *d4b = zd(4 * nc), *d3 = zd(3 * nc);
    double *datty = zd(nc);
    const double *wte = RW(r, -1, "wte.weight");
    double *dwte = RG(r, -1, "wte.weight");
    for (int b = 0; b < r->B; b++)
        for (int t = 0; t < r->len[b]; t++)
            for (int v = 0; v < V; v++) {
                double d = dlogits[((size_t)b * T + t) * V + v];
                size_t row = (size_t)(r->off[b] + t) * C;
                for (int c = 0; c < C; c++) {
                    dln[row + c] += d * wte[(size_t)v * C + c];
                    dwte[(size_t)v * C + c] += d * r->lnf[row + c];
                }
            }
    const double *last = r->a[L - 1].res3;
    layernorm_backward_ref(dres, RG(r, -1, "ln_f.weight"), RG(r, -1, "ln_f.bias"), dln, last,
                           RW(r, -1, "ln_f.weight"), r->lnfm, r->lnfr, N, C);
    for (int l = L - 1; l >= 0; l--) {
        struct ref_layer *a = &r->a[l];
        if (inject && inject[l])
            for (int b = 0; b < r->B; b++)
                for (int t = 0; t < r->len[b]; t++)
                    for (int c = 0; c < C; c++)
                        dres[(size_t)(r->off[b] + t) * C + c] +=
                            inject[l][((size_t)b * T + t) * C + c];
        const double *res_in = l ? r->a[l - 1].res3 : r->enc;
        memset(d4a, 0, 4 * nc * sizeof(double));
        memset(d4b, 0, 4 * nc * sizeof(double));
        memset(dln, 0, nc * sizeof(double));
        memset(datty, 0, nc * sizeof(double));
        memset(d3, 0, 3 * nc * sizeof(double));
        matmul_backward_ref(d4a, RG(r, l, "mlp.c_proj.weight"),
                            RG(r, l, "mlp.c_proj.bias"), dres, a->fchg,
                            RW(r, l, "mlp.c_proj.weight"), N, 4 * C, C);
        gelu_backward_ref(d4b, a->fch, d4a, 4 * nc);
        matmul_backward_ref(dln, RG(r, l, "mlp.c_fc.weight"), RG(r, l, "mlp.c_fc.bias"),
                            d4b, a->ln2, RW(r, l, "mlp.c_fc.weight"), N, C, 4 * C);
        layernorm_backward_ref(dres, RG(r, l, "ln_2.weight"), RG(r, l, "ln_2.bias"),
                               dln, a->res2, RW(r, l, "ln_2.weight"), a->ln2m, a->ln2r, N,
                               C);
        matmul_backward_ref(datty, RG(r, l, "attn.c_proj.weight"),
                            RG(r, l, "attn.c_proj.bias"), dres, a->atty,
                            RW(r, l, "attn.c_proj.weight"), N, C, C);
        attention_backward_ref(d3, datty, a->att, a->qkv, r->off, r->len, r->aoff, r->B, NH, C);
        memset(dln, 0, nc * sizeof(double));
        matmul_backward_ref(dln, RG(r, l, "attn.c_attn.weight"),
                            RG(r, l, "attn.c_attn.bias"), d3, a->ln1,
                            RW(r, l, "attn.c_attn.weight"), N, C, 3 * C);
        layernorm_backward_ref(dres, RG(r, l, "ln_1.weight"), RG(r, l, "ln_1.bias"),
                               dln, res_in, RW(r, l, "ln_1.weight"), a->ln1m, a->ln1r, N,
                               C);
    }
    encoder_backward_ref(dwte, RG(r, -1, "wpe.weight"), dres, r->tok, r->pos, N, C);
    free(dres), free(dln), free(d4a), free(d4b), free(d3), free(datty);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static const struct gpt_config tiny = {.n_layer = 2, .n_head = 2, .n_embd = 8, .n_ctx = 7,
                                       .vocab = 11, .ln_eps = 1e-5f};

/* A model with weights far from the 0.02 init so every path is exercised. */
static struct gpt *random_model_impl(const struct gpt_config *cfg, uint64_t seed)
{
    struct gpt *m = gpt_new(cfg, seed);
    struct nn_params *p = gpt_params(m);
    for (int i = 0; i < p->n_tensors; i++) {
        struct nn_tensor *t = &p->tensors[i];
        float *d = nn_tensor_data(p, t);
        int gain = t->kind == NN_T_NORM && str_ends(t->name, ".weight");
        double s = t->kind == NN_T_LINEAR || t->kind == NN_T_EMBED ? 0.5 : 0.2;
        if (gain)
            s = 0.3;
        for (size_t k = 0; k < t->numel; k++)
            d[k] = (float)((gain ? 1.0 : 0.0) + s * (2 * nn_rng_uniform(&rng) - 1));
    }
    return m;
}

/* B = 3, T = 5, lengths 5, 2, 4; garbage tokens and targets at padding; some -1 targets */
#define TB 3
#define TT 5
static const int tlen[TB] = {5, 2, 4};
static int ttok[TB * TT], ttgt[TB * TT];

static void make_batch_impl(int V)
{
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < TT; t++) {
            int real = t < tlen[b];
            ttok[b * TT + t] = real ? (int)(nn_rng_next(&rng) % (uint64_t)V) : 100000 + t;
            ttgt[b * TT + t] = real ? (int)(nn_rng_next(&rng) % (uint64_t)V) : 77777;
        }
    ttgt[0 * TT + 1] = -1;
    ttgt[2 * TT + 0] = -1;
    ttgt[2 * TT + 3] = -1;
}

static double worst_rel(const float *a, const double *b, size_t n, double atol, double rtol)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (atol + rtol * fabs(b[i]));
        if (!(e <= w))
            w = e;
    }
    return w;
}

/* worst over the tensors of the table: |fast - ref| / (atol * max|ref of that tensor| + rtol |ref|) */
static double grad_err_impl(const struct nn_params *p, const float *g, const double *ref,
                            double atol, double rtol)
{
    double w = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        double mx = 1e-30;
        for (size_t k = 0; k < t->numel; k++)
            mx = fabs(ref[t->offset + k]) > mx ? fabs(ref[t->offset + k]) : mx;
        for (size_t k = 0; k < t->numel; k++) {
            double e = fabs(g[t->offset + k] - ref[t->offset + k]) /
                       (atol * mx + rtol * fabs(ref[t->offset + k]));
            if (!(e <= w))
                w = e;
        }
    }
    return w;
}

/* ---- layout, init, construction -------------------------------------------------------------- */

static void test_layout(void)
{
    struct nn_params p = {0};
    struct gpt_config cfg = {.n_layer = 2, .n_head = 2, .n_embd = 8, .n_ctx = 7, .vocab = 11,
                             .ln_eps = 1e-5f};
    gpt_params_layout(&p, &cfg);
    CHECK_EQ_INT(p.n_tensors, 4 + 12 * 2);
    CHECK_STREQ(p.tensors[0].name, "wte.weight");
    CHECK_STREQ(p.tensors[1].name, "wpe.weight");
    static const char *const names[12] = {
        "h.1.ln_1.weight", "h.1.ln_1.bias", "h.1.attn.c_attn.weight", "h.1.attn.c_attn.bias",
        "h.1.attn.c_proj.weight", "h.1.attn.c_proj.bias", "h.1.ln_2.weight", "h.1.ln_2.bias",
        "h.1.mlp.c_fc.weight", "h.1.mlp.c_fc.bias", "h.1.mlp.c_proj.weight", "h.1.mlp.c_proj.bias"};
    static const int rows[12] = {8, 8, 8, 24, 8, 8, 8, 8, 8, 32, 32, 8};
    static const int cols[12] = {0, 0, 24, 0, 8, 0, 0, 0, 32, 0, 8, 0};
    static const enum nn_tensor_kind kinds[12] = {
        NN_T_NORM, NN_T_NORM, NN_T_LINEAR, NN_T_BIAS, NN_T_LINEAR, NN_T_BIAS,
        NN_T_NORM, NN_T_NORM, NN_T_LINEAR, NN_T_BIAS, NN_T_LINEAR, NN_T_BIAS};
    for (int j = 0; j < 12; j++) {
        const struct nn_tensor *t = &p.tensors[14 + j];
        CHECK_STREQ(t->name, names[j]);
        CHECK_EQ_INT(t->shape[0], rows[j]);
        CHECK_EQ_INT(t->ndim, cols[j] ? 2 : 1);
        if (cols[j])
            CHECK_EQ_INT(t->shape[1], cols[j]);
        CHECK_EQ_INT(t->kind, kinds[j]);
    }
    CHECK_STREQ(p.tensors[26].name, "ln_f.weight");
    CHECK_STREQ(p.tensors[27].name, "ln_f.bias");
    CHECK_EQ_INT(p.tensors[0].shape[0], 11);
    CHECK_EQ_INT(p.tensors[1].shape[0], 7);
    CHECK_EQ_INT(p.tensors[0].kind, NN_T_EMBED);
    nn_params_release(&p);

    struct gpt_config bad = cfg;
    bad.n_embd = 9;
    CHECK_CONTAINS(gpt_config_check(&bad), "multiple of n_head");
    bad = cfg;
    bad.ln_eps = 0.0f;
    CHECK_CONTAINS(gpt_config_check(&bad), "ln_eps");
    CHECK(gpt_config_check(&cfg) == NULL);
}

static void test_init(void)
{
    struct gpt_config cfg = {.n_layer = 3, .n_head = 4, .n_embd = 64, .n_ctx = 32, .vocab = 500,
                             .ln_eps = 1e-5f};
    struct gpt *m = gpt_new(&cfg, 7), *m2 = gpt_new(&cfg, 7), *m3 = gpt_new(&cfg, 8);
    struct nn_params *p = gpt_params(m);
    CHECK(memcmp(p->data, gpt_params(m2)->data, p->n * sizeof(float)) == 0);
    CHECK(memcmp(p->data, gpt_params(m3)->data, p->n * sizeof(float)) != 0);
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        const float *d = nn_tensor_data(p, t);
        double s = 0, s2 = 0;
        for (size_t k = 0; k < t->numel; k++) {
            s += d[k];
            s2 += (double)d[k] * d[k];
        }
        double mean = s / t->numel, sd = sqrt(s2 / t->numel - mean * mean);
        if (t->kind == NN_T_NORM && str_ends(t->name, "weight")) {
            CHECK(mean == 1.0 && sd == 0.0);
        } else if (t->kind == NN_T_NORM || t->kind == NN_T_BIAS) {
            CHECK(s2 == 0.0);
        } else {
            double want = str_ends(t->name, "c_proj.weight") ? 0.02 / sqrt(6.0) : 0.02;
            /* standard error of the sd estimate is sd / sqrt(2n): allow 6 of them */
            double tol = 6 * want / sqrt(2.0 * t->numel);
            if (fabs(sd - want) > tol || fabs(mean) > 6 * want / sqrt((double)t->numel))
                printf("# %s: mean %g sd %g (want %g)\n", t->name, mean, sd, want);
            CHECK(fabs(sd - want) <= tol);
            CHECK(fabs(mean) <= 6 * want / sqrt((double)t->numel));
        }
    }
    struct gpt *c = gpt_clone(m);
    CHECK(memcmp(gpt_params(c)->data, p->data, p->n * sizeof(float)) == 0);
    CHECK_EQ_INT(gpt_cfg(c)->vocab, 500);
    gpt_free(c);
    gpt_free(m);
    gpt_free(m2);
    gpt_free(m3);
    gpt_free(NULL);
    /* flops convention: 6 per matmul parameter + 12 L T C */
    struct gpt_config small = {4, 4, 256, 256, 8192, 1e-5f};
    CHECK_NEAR(gpt_flops_per_token(&small, 128),
               6.0 * (4 * 12.0 * 256 * 256 + 8192.0 * 256) + 12.0 * 4 * 128 * 256, 1e-3);
}

static void test_from_params(void)
{
    struct lethe_error err = {0};
    /* not allocated */
    struct nn_params p = {0};
    gpt_params_layout(&p, &tiny);
    CHECK(gpt_from_params(&tiny, &p, &err) == NULL);
    CHECK_CONTAINS(err.msg, "not allocated");
    nn_params_release(&p);

    /* missing tensor */
    struct nn_params q = {0};
    int s1[2] = {11, 8};
    nn_params_add(&q, "wte.weight", NN_T_EMBED, 2, s1);
    nn_params_alloc(&q);
    CHECK(gpt_from_params(&tiny, &q, &err) == NULL);
    CHECK_CONTAINS(err.msg, "missing tensor 'wpe.weight'");
    CHECK(q.data != NULL);
    nn_params_release(&q);

    /* wrong shape, with both shapes in the message */
    struct nn_params r = {0};
    struct gpt_config other = tiny;
    other.n_ctx = 9;
    gpt_params_layout(&r, &other);
    nn_params_alloc(&r);
    CHECK(gpt_from_params(&tiny, &r, &err) == NULL);
    CHECK_CONTAINS(err.msg, "tensor 'wpe.weight' has shape [9, 8], expected [7, 8]");
    nn_params_release(&r);

    /* an extra tensor */
    struct nn_params e = {0};
    gpt_params_layout(&e, &tiny);
    int s2[1] = {3};
    nn_params_add(&e, "h.0.attn.bias", NN_T_BIAS, 1, s2);
    nn_params_alloc(&e);
    CHECK(gpt_from_params(&tiny, &e, &err) == NULL);
    CHECK_CONTAINS(err.msg, "unexpected tensor 'h.0.attn.bias'");
    nn_params_release(&e);

    /* success, in a shuffled order: the model reads by name; the table is taken */
    struct gpt *ref = random_model_impl(&tiny, 3);
    struct nn_params s = {0};
    const struct nn_params *rp = gpt_params(ref);
    for (int i = rp->n_tensors - 1; i >= 0; i--)
        nn_params_add(&s, rp->tensors[i].name, rp->tensors[i].kind, rp->tensors[i].ndim,
                      rp->tensors[i].shape);
    nn_params_alloc(&s);
    for (int i = 0; i < s.n_tensors; i++) {
        const struct nn_tensor *src = nn_params_find(rp, s.tensors[i].name);
        memcpy(nn_tensor_data(&s, &s.tensors[i]), nn_tensor_data(rp, src),
               src->numel * sizeof(float));
    }
    s.tensors[3].frozen = 1;
    struct gpt *m = gpt_from_params(&tiny, &s, &err);
    CHECK(m != NULL);
    CHECK(s.data == NULL && s.n_tensors == 0);
    if (m) {
        make_batch_impl(tiny.vocab);
        gpt_forward(ref, ttok, tlen, TB, TT);
        gpt_forward(m, ttok, tlen, TB, TT);
        CHECK(memcmp(gpt_logits(ref), gpt_logits(m),
                     (size_t)TB * TT * tiny.vocab * sizeof(float)) == 0);
        CHECK_EQ_INT(gpt_params(m)->tensors[3].frozen, 1);
        struct gpt *c = gpt_clone(m);
        gpt_forward(c, ttok, tlen, TB, TT);
        CHECK(memcmp(gpt_logits(ref), gpt_logits(c),
                     (size_t)TB * TT * tiny.vocab * sizeof(float)) == 0);
        CHECK_EQ_INT(nn_params_find(gpt_params(c), gpt_params(m)->tensors[3].name)->frozen, 1);
        gpt_free(c);
    }
    gpt_free(m);
    gpt_free(ref);
}

/* ---- forward and gradients against the reference ---------------------------------------------- */

static void test_forward(void)
{
    struct gpt *m = random_model_impl(&tiny, 11);
    make_batch_impl(tiny.vocab);
    struct ref r;
    ref_init(&r, m);
    gpt_forward(m, ttok, tlen, TB, TT);
    ref_forward(&r, ttok, tlen, TB, TT);
    size_t nl = (size_t)TB * TT * tiny.vocab;
    CHECK(worst_rel(gpt_logits(m), r.logits, nl, 1e-5, 1e-5) <= 1.0);
    /* padded logits are zero */
    CHECK(gpt_logits(m)[(size_t)(1 * TT + 3) * tiny.vocab + 2] == 0.0f);
    float lp[TB * TT];
    double sum = gpt_logprobs(m, ttgt, lp), rsum = 0;
    int ok = 1;
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < TT; t++) {
            int i = b * TT + t;
            double want = t < tlen[b] && ttgt[i] >= 0
                              ? logprob_ref(r.logits + (size_t)i * tiny.vocab, tiny.vocab, ttgt[i])
                              : 0.0;
            rsum += want;
            ok &= fabs(lp[i] - want) <= 1e-5;
        }
    CHECK(ok);
    CHECK_NEAR(sum, rsum, 1e-4);
    /* hidden states: (B, T, C), zeros at padding */
    const float *h = gpt_hidden(m, 0);
    ok = 1;
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < TT; t++)
            for (int c = 0; c < tiny.n_embd; c++) {
                double want = t < tlen[b] ? r.a[0].res3[(size_t)(r.off[b] + t) * tiny.n_embd + c]
                                          : 0.0;
                ok &= fabs(h[((size_t)b * TT + t) * tiny.n_embd + c] - want) <= 1e-5;
            }
    CHECK(ok);
    /* unpadded batch: gpt_hidden gives the same values */
    gpt_forward(m, ttok, NULL, 1, TT);
    ref_forward(&r, ttok, NULL, 1, TT);
    h = gpt_hidden(m, 1);
    CHECK(worst_rel(h, r.a[1].res3, (size_t)TT * tiny.n_embd, 1e-5, 1e-5) <= 1.0);
    ref_free(&r);
    gpt_free(m);
}

/* loss(theta) = sum dlp * lp + sum_l <dh_l, hidden_l> over real positions, in double */
struct fd_ctx {
    struct ref *r;
    const float *dlp;
    double *const *inject;
};

static double fd_loss_impl(struct fd_ctx *c)
{
    struct ref *r = c->r;
    ref_forward(r, ttok, tlen, TB, TT);
    int C = r->cfg.n_embd, V = r->cfg.vocab;
    double s = 0;
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < tlen[b]; t++) {
            int i = b * TT + t;
            if (ttgt[i] >= 0)
                s += c->dlp[i] * logprob_ref(r->logits + (size_t)i * V, V, ttgt[i]);
            for (int l = 0; l < r->cfg.n_layer; l++)
                if (c->inject && c->inject[l])
                    for (int k = 0; k < C; k++)
                        s += c->inject[l][(size_t)i * C + k] *
                             r->a[l].res3[(size_t)(r->off[b] + t) * C + k];
        }
    return s;
}

static void test_gradients(void)
{
    struct gpt *m = random_model_impl(&tiny, 12);
    make_batch_impl(tiny.vocab);
    int V = tiny.vocab, C = tiny.n_embd;
    float dlp[TB * TT], dh[TB * TT * 8];
    double dhd[TB * TT * 8];
    for (int i = 0; i < TB * TT; i++)
        dlp[i] = (float)(2 * nn_rng_uniform(&rng) - 1);
    for (int i = 0; i < TB * TT * C; i++) {
        dh[i] = (float)(0.5 * (2 * nn_rng_uniform(&rng) - 1));
        dhd[i] = dh[i];
    }
    double *inject[2] = {dhd, NULL};
    struct ref r;
    ref_init(&r, m);
    struct fd_ctx fc = {&r, dlp, inject};

    /* reference: analytic vs central differences over every parameter */
    fd_loss_impl(&fc);
    double *dlog = zd((size_t)TB * TT * V);
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < tlen[b]; t++) {
            int i = b * TT + t;
            if (ttgt[i] >= 0)
                logprob_backward_ref(dlog + (size_t)i * V, r.logits + (size_t)i * V, V, ttgt[i],
                                     dlp[i]);
        }
    ref_backward(&r, dlog, inject);
    const struct nn_params *p = gpt_params(m);
    double worst = 0, h = 1e-5;
    for (int ti = 0; ti < p->n_tensors; ti++) {
        const struct nn_tensor *t = &p->tensors[ti];
        for (size_t k = 0; k < t->numel; k++) {
            double *x = &r.w[t->offset + k], x0 = *x;
            *x = x0 + h;
            double lp1 = fd_loss_impl(&fc);
            *x = x0 - h;
            double lm1 = fd_loss_impl(&fc);
            *x = x0;
            double fd = (lp1 - lm1) / (2 * h), g = r.g[t->offset + k];
            double e = fabs(fd - g) / (1e-7 + 1e-6 * fabs(g));
            if (!(e <= worst))
                worst = e;
        }
    }
    printf("# reference gradient vs finite differences: worst %.3g of tolerance\n", worst);
    CHECK(worst <= 1.0);

    /* fast: gpt_backward_dlogprob with the injected gradient */
    gpt_forward(m, ttok, tlen, TB, TT);
    gpt_inject_hidden_grad(m, 0, dh);
    nn_params_alloc_grad(gpt_params(m));
    nn_params_zero_grad(gpt_params(m));
    gpt_backward_dlogprob(m, ttgt, dlp);
    double e1 = grad_err_impl(p, p->grad, r.g, 1e-5, 1e-4);
    printf("# fast vs reference gradient: worst %.3g of tolerance\n", e1);
    CHECK(e1 <= 1.0);

    /* gpt_backward from arbitrary dlogits, garbage at padding (ignored), accumulating */
    float *fdl = xmalloc((size_t)TB * TT * V * sizeof(float));
    double *ddl = zd((size_t)TB * TT * V);
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < TT; t++)
            for (int v = 0; v < V; v++) {
                size_t i = ((size_t)b * TT + t) * V + v;
                fdl[i] = t < tlen[b] ? (float)(2 * nn_rng_uniform(&rng) - 1) : 1e6f;
                ddl[i] = t < tlen[b] ? fdl[i] : 0.0;
            }
    ref_forward(&r, ttok, tlen, TB, TT);
    ref_backward(&r, ddl, NULL); /* r.g now holds both gradients */
    gpt_forward(m, ttok, tlen, TB, TT);
    gpt_backward(m, fdl);
    double e2 = grad_err_impl(p, p->grad, r.g, 1e-5, 1e-4);
    CHECK(e2 <= 1.0);
    /* the logits survive an external dlogits */
    CHECK(gpt_logits(m)[3] != 0.0f);

    free(fdl), free(ddl), free(dlog);
    ref_free(&r);
    gpt_free(m);
}

/* fused training loss, gpt_nll, frozen tensors */
static void test_losses(void)
{
    struct gpt *m = random_model_impl(&tiny, 13);
    make_batch_impl(tiny.vocab);
    int V = tiny.vocab;
    struct nn_params *p = gpt_params(m);
    struct ref r;
    ref_init(&r, m);
    ref_forward(&r, ttok, tlen, TB, TT);
    int n = 0;
    double s = 0;
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < tlen[b]; t++)
            if (ttgt[b * TT + t] >= 0) {
                n++;
                s -= logprob_ref(r.logits + (size_t)(b * TT + t) * V, V, ttgt[b * TT + t]);
            }
    double *dlog = zd((size_t)TB * TT * V);
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < tlen[b]; t++)
            if (ttgt[b * TT + t] >= 0)
                logprob_backward_ref(dlog + (size_t)(b * TT + t) * V,
                                     r.logits + (size_t)(b * TT + t) * V, V, ttgt[b * TT + t],
                                     -1.0 / n);
    ref_backward(&r, dlog, NULL);

    nn_params_alloc_grad(p);
    nn_params_zero_grad(p);
    double loss = gpt_forward_loss(m, ttok, tlen, ttgt, TB, TT);
    CHECK_NEAR(loss, s / n, 1e-5);
    gpt_backward_loss(m);
    CHECK(grad_err_impl(p, p->grad, r.g, 1e-5, 1e-4) <= 1.0);
    float *full = xmalloc(p->n * sizeof(float));
    memcpy(full, p->grad, p->n * sizeof(float));

    /* gpt_nll: weighted mean and its dlp; with weights 1 it is the same loss and gradient */
    gpt_forward(m, ttok, tlen, TB, TT);
    float dlp[TB * TT], w[TB * TT];
    CHECK_NEAR(gpt_nll(m, ttgt, NULL, dlp), s / n, 1e-5);
    nn_params_zero_grad(p);
    gpt_backward_dlogprob(m, ttgt, dlp);
    int same = 1;
    for (size_t i = 0; i < p->n; i++)
        same &= fabsf(p->grad[i] - full[i]) <= 1e-6f + 1e-5f * fabsf(full[i]);
    CHECK(same);
    for (int i = 0; i < TB * TT; i++)
        w[i] = (float)(i % 3);
    gpt_forward(m, ttok, tlen, TB, TT);
    double ws = 0, wl = 0;
    for (int b = 0; b < TB; b++)
        for (int t = 0; t < tlen[b]; t++) {
            int i = b * TT + t;
            if (ttgt[i] >= 0) {
                ws += w[i];
                wl -= w[i] * logprob_ref(r.logits + (size_t)i * V, V, ttgt[i]);
            }
        }
    CHECK_NEAR(gpt_nll(m, ttgt, w, dlp), wl / ws, 1e-5);
    CHECK_NEAR(dlp[2], ttgt[2] >= 0 ? -w[2] / ws : 0.0, 1e-7);
    CHECK(dlp[1 * TT + 3] == 0.0f); /* padding */
    CHECK_NEAR(gpt_nll(m, ttgt, NULL, NULL), s / n, 1e-5);

    /* frozen: no gradient there, the same gradient elsewhere */
    CHECK_EQ_INT(nn_params_freeze(p, "h.0.*", 1), 12);
    CHECK_EQ_INT(nn_params_freeze(p, "wpe.weight", 1), 1);
    nn_params_zero_grad(p);
    gpt_forward_loss(m, ttok, tlen, ttgt, TB, TT);
    gpt_backward_loss(m);
    int zero = 1, equal = 1;
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        for (size_t k = 0; k < t->numel; k++) {
            float g = p->grad[t->offset + k];
            if (t->frozen)
                zero &= g == 0.0f;
            else
                equal &= g == full[t->offset + k];
        }
    }
    CHECK(zero);
    CHECK(equal);
    /* only ln_f trainable: the backward stops early and ln_f's gradient is unchanged */
    nn_params_freeze(p, "*", 1);
    nn_params_freeze(p, "ln_f.*", 0);
    nn_params_zero_grad(p);
    gpt_forward_loss(m, ttok, tlen, ttgt, TB, TT);
    gpt_backward_loss(m);
    const struct nn_tensor *lnf = nn_params_find(p, "ln_f.bias");
    CHECK(memcmp(p->grad + lnf->offset, full + lnf->offset, lnf->numel * sizeof(float)) == 0);
    const struct nn_tensor *wte = nn_params_find(p, "wte.weight");
    CHECK(p->grad[wte->offset] == 0.0f);
    nn_params_freeze(p, "*", 0);

    /* nothing scored: loss 0, gradient 0 */
    int none[TB * TT];
    for (int i = 0; i < TB * TT; i++)
        none[i] = -1;
    nn_params_zero_grad(p);
    CHECK(gpt_forward_loss(m, ttok, tlen, none, TB, TT) == 0.0);
    gpt_backward_loss(m);
    double gs = 0;
    for (size_t i = 0; i < p->n; i++)
        gs += fabs(p->grad[i]);
    CHECK(gs == 0.0);
    free(full), free(dlog);
    ref_free(&r);
    gpt_free(m);
}

/* ---- padding, determinism, per-sample norms ---------------------------------------------------- */

/* big enough that every kernel runs its OpenMP path */
static void test_padding(void)
{
    struct gpt_config cfg = {.n_layer = 2, .n_head = 4, .n_embd = 192, .n_ctx = 160,
                             .vocab = 1000, .ln_eps = 1e-5f};
    struct gpt *m = random_model_impl(&cfg, 14);
    struct nn_params *p = gpt_params(m);
    int B = 4, T = 150, lens[4] = {150, 91, 120, 7};
    int *tok = xmalloc((size_t)B * T * sizeof(int)), *tgt = xmalloc((size_t)B * T * sizeof(int));
    for (int i = 0; i < B * T; i++) {
        tok[i] = (int)(nn_rng_next(&rng) % 1000);
        tgt[i] = i % 7 == 3 ? -1 : (int)(nn_rng_next(&rng) % 1000);
    }
    size_t V = 1000, nl = (size_t)B * T * V;
    float *l1 = xmalloc(nl * sizeof(float));
    gpt_forward(m, tok, lens, B, T);
    memcpy(l1, gpt_logits(m), nl * sizeof(float));
    /* garbage in the padding of rows 1 and 3: real positions give the same bits */
    for (int t = 91; t < T; t++)
        tok[1 * T + t] = (int)(nn_rng_next(&rng) % 1000);
    for (int t = 7; t < T; t++)
        tok[3 * T + t] = -5;
    gpt_forward(m, tok, lens, B, T);
    int same = 1;
    for (int b = 0; b < B; b++)
        same &= memcmp(l1 + (size_t)b * T * V, gpt_logits(m) + (size_t)b * T * V,
                       (size_t)lens[b] * V * sizeof(float)) == 0;
    CHECK(same);
    /* row 1 alone, unpadded: the same values */
    gpt_forward(m, tok + T, NULL, 1, 91);
    double w = 0;
    for (size_t i = 0; i < (size_t)91 * V; i++) {
        double e = fabs(gpt_logits(m)[i] - l1[(size_t)T * V + i]);
        w = e > w ? e : w;
    }
    CHECK(w <= 1e-4);
    /* determinism: forward + backward twice give the same bits */
    nn_params_alloc_grad(p);
    float *g1 = xmalloc(p->n * sizeof(float));
    nn_params_zero_grad(p);
    double loss1 = gpt_forward_loss(m, tok, lens, tgt, B, T);
    gpt_backward_loss(m);
    memcpy(g1, p->grad, p->n * sizeof(float));
    nn_params_zero_grad(p);
    double loss2 = gpt_forward_loss(m, tok, lens, tgt, B, T);
    gpt_backward_loss(m);
    CHECK(loss1 == loss2);
    CHECK(memcmp(g1, p->grad, p->n * sizeof(float)) == 0);
    /* and one thread agrees to rounding */
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    nn_params_zero_grad(p);
    double loss3 = gpt_forward_loss(m, tok, lens, tgt, B, T);
    gpt_backward_loss(m);
    omp_set_num_threads(nt);
    CHECK_NEAR(loss3, loss1, 1e-6 * fabs(loss1));
    double gmax = 0, gdiff = 0;
    for (size_t i = 0; i < p->n; i++) {
        gmax = fabs(g1[i]) > gmax ? fabs(g1[i]) : gmax;
        gdiff = fabs(g1[i] - p->grad[i]) > gdiff ? fabs(g1[i] - p->grad[i]) : gdiff;
    }
    CHECK(gdiff <= 1e-5 * gmax);
    free(tok), free(tgt), free(l1), free(g1);
    gpt_free(m);
}

static void test_determinism_and_norms(void)
{
    struct gpt_config cfg = {.n_layer = 2, .n_head = 2, .n_embd = 32, .n_ctx = 16, .vocab = 50,
                             .ln_eps = 1e-5f};
    struct gpt *m = random_model_impl(&cfg, 15);
    struct nn_params *p = gpt_params(m);
    int B = 4, T = 12, lens[4] = {12, 5, 9, 1};
    int tok[48], tgt[48];
    for (int i = 0; i < B * T; i++) {
        tok[i] = (int)(nn_rng_next(&rng) % 50);
        tgt[i] = i % 5 == 0 ? -1 : (int)(nn_rng_next(&rng) % 50);
    }
    tgt[3 * T] = 7; /* row 3 has one scored position */
    nn_params_alloc_grad(p);
    float *g1 = xmalloc(p->n * sizeof(float));
    nn_params_zero_grad(p);
    double l1 = gpt_forward_loss(m, tok, lens, tgt, B, T);
    gpt_backward_loss(m);
    memcpy(g1, p->grad, p->n * sizeof(float));
    nn_params_zero_grad(p);
    double l2 = gpt_forward_loss(m, tok, lens, tgt, B, T);
    gpt_backward_loss(m);
    CHECK(l1 == l2);
    CHECK(memcmp(g1, p->grad, p->n * sizeof(float)) == 0);

    /* per-sample norms: each row's own mean loss, backward alone */
    for (size_t i = 0; i < p->n; i++)
        p->grad[i] = 0.5f;
    nn_params_freeze(p, "h.1.mlp.*", 1);
    float norms[4];
    gpt_sample_grad_norms(m, tok, lens, tgt, B, T, norms);
    int untouched = 1;
    for (size_t i = 0; i < p->n; i++)
        untouched &= p->grad[i] == 0.5f;
    CHECK(untouched);
    for (int b = 0; b < B; b++) {
        nn_params_zero_grad(p);
        gpt_forward_loss(m, tok + b * T, &lens[b], tgt + b * T, 1, T);
        gpt_backward_loss(m);
        double ss = 0;
        for (int i = 0; i < p->n_tensors; i++) {
            const struct nn_tensor *t = &p->tensors[i];
            for (size_t k = 0; k < t->numel; k++)
                ss += t->frozen ? 0.0 : (double)p->grad[t->offset + k] * p->grad[t->offset + k];
        }
        CHECK(norms[b] > 0.0f);
        CHECK_NEAR(norms[b], sqrt(ss), 1e-5 * sqrt(ss));
    }
    /* a row with nothing scored has norm 0 */
    for (int t = 0; t < T; t++)
        tgt[2 * T + t] = -1;
    gpt_sample_grad_norms(m, tok, lens, tgt, B, T, norms);
    CHECK(norms[2] == 0.0f && norms[0] > 0.0f);
    free(g1);
    gpt_free(m);
}

/* ---- golden values from PyTorch ------------------------------------------------------------------ */

static double *read_values_impl(const char *line, const char *key, int idx, int *n)
{
    /* "key idx n v1 .. vn" */
    char k[32];
    int i, cnt, used = 0;
    if (sscanf(line, "%31s %d %d%n", k, &i, &cnt, &used) != 3 || strcmp(k, key) != 0 || i != idx)
        return NULL;
    double *v = xmalloc((size_t)(cnt + 1) * sizeof(double));
    const char *s = line + used;
    for (int j = 0; j < cnt; j++) {
        char *end;
        v[j] = strtod(s, &end);
        LETHE_ASSERT(end != s);
        s = end;
    }
    *n = cnt;
    return v;
}

static void test_golden(void)
{
    struct lethe_error err = {0};
    char *txt = NULL, *bin = NULL;
    size_t blen = 0;
    if (file_read_all("tests/golden/gpt_golden.txt", &txt, NULL, &err) < 0 ||
        file_read_all("tests/golden/gpt_golden.bin", &bin, &blen, &err) < 0) {
        printf("# %s\n", err.msg);
        CHECK(0);
        free(txt);
        return;
    }
    struct gpt_config cfg = {2, 2, 16, 32, 64, 1e-5f};
    struct gpt *m = gpt_new(&cfg, 1);
    struct nn_params *p = gpt_params(m);
    size_t off = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        size_t bytes = p->tensors[i].numel * sizeof(float);
        LETHE_ASSERT(off + bytes <= blen);
        memcpy(nn_tensor_data(p, &p->tensors[i]), bin + off, bytes);
        off += bytes;
    }
    CHECK_EQ_INT(off, blen);
    /* parse: seq/lp/mask lines for 3 sequences, loss, grads */
    int B = 3, T = 32, lens[3] = {0};
    int tok[3 * 32], tgt[3 * 32];
    double *lp[3] = {NULL};
    double loss = NAN;
    for (int i = 0; i < B * T; i++)
        tok[i] = tgt[i] = -1;
    char *save = NULL;
    int ngrad = 0, grad_ok = 1;
    nn_params_alloc_grad(p);
    nn_params_zero_grad(p);
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int n, b;
        double *v;
        if (sscanf(line, "seq %d", &b) == 1 && b >= 0 && b < 3 &&
            (v = read_values_impl(line, "seq", b, &n))) {
            lens[b] = n;
            for (int t = 0; t < n; t++)
                tok[b * T + t] = (int)v[t];
            free(v);
        } else if (sscanf(line, "lp %d", &b) == 1 && b >= 0 && b < 3) {
            lp[b] = read_values_impl(line, "lp", b, &n);
        } else if (sscanf(line, "mask %d", &b) == 1 && b >= 0 && b < 3 &&
                   (v = read_values_impl(line, "mask", b, &n))) {
            for (int t = 0; t < n; t++)
                tgt[b * T + t] = v[t] != 0.0 ? tok[b * T + t + 1] : -1;
            free(v);
        } else if (sscanf(line, "loss %lf", &loss) == 1) {
            /* all sequences are read by now: run the model */
            double got = gpt_forward_loss(m, tok, lens, tgt, B, T);
            printf("# golden loss %.9f, expected %.9f\n", got, loss);
            CHECK_NEAR(got, loss, 1e-4);
            gpt_backward_loss(m);
            /* per-token log-probs of every position */
            int all[3 * 32];
            for (int bb = 0; bb < B; bb++)
                for (int t = 0; t < T; t++)
                    all[bb * T + t] = t + 1 < lens[bb] ? tok[bb * T + t + 1] : -1;
            gpt_forward(m, tok, lens, B, T);
            float got_lp[3 * 32];
            gpt_logprobs(m, all, got_lp);
            double worst = 0;
            for (int bb = 0; bb < B; bb++) {
                CHECK(lp[bb] != NULL);
                for (int t = 0; lp[bb] && t + 1 < lens[bb]; t++) {
                    double e = fabs(got_lp[bb * T + t] - lp[bb][t]);
                    worst = e > worst ? e : worst;
                }
            }
            printf("# golden per-token log-probs: worst difference %.3g\n", worst);
            CHECK(worst <= 1e-4);
        } else if (strncmp(line, "grad ", 5) == 0) {
            char name[NN_NAME_MAX];
            double norm;
            int k, used;
            if (sscanf(line, "grad %95s %lf %d%n", name, &norm, &k, &used) != 3) {
                CHECK(0);
                continue;
            }
            const struct nn_tensor *t = nn_params_find(p, name);
            CHECK(t != NULL);
            if (!t)
                continue;
            const float *g = p->grad + t->offset;
            double ss = 0;
            for (size_t j = 0; j < t->numel; j++)
                ss += (double)g[j] * g[j];
            grad_ok &= fabs(sqrt(ss) - norm) <= 1e-4 * (1 + norm);
            const char *s = line + used;
            for (int j = 0; j < k; j++) {
                char *end;
                long idx = strtol(s, &end, 10);
                double want = strtod(end, &end);
                s = end;
                grad_ok &= idx >= 0 && (size_t)idx < t->numel &&
                           fabs(g[idx] - want) <= 1e-4 * (1 + fabs(want));
            }
            ngrad++;
        }
    }
    CHECK(!isnan(loss));
    CHECK_EQ_INT(ngrad, p->n_tensors);
    CHECK(grad_ok);
    for (int b = 0; b < 3; b++)
        free(lp[b]);
    free(txt);
    free(bin);
    gpt_free(m);
}

int main(void)
{
    nn_rng_seed(&rng, 4242);
    RUN(test_layout);
    RUN(test_init);
    RUN(test_from_params);
    RUN(test_forward);
    RUN(test_gradients);
    RUN(test_losses);
    RUN(test_padding);
    RUN(test_determinism_and_norms);
    RUN(test_golden);
    return test_done();
}
