/* GPT-2 (Radford et al. 2019; Hugging Face's GPT2LMHeadModel): parameters in Hugging Face's
 * names and layouts, forward and backward over packed padded batches, log-probabilities,
 * fused losses, hidden states and per-sample gradient norms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gpt_impl.h"
#include "nn/ops.h"

#define ALIGN_FLOATS(n) (((n) + 15) & ~(size_t)15)

/* ---- configuration and parameters ---------------------------------------------------------- */

const char *gpt_config_check(const struct gpt_config *cfg)
{
    if (cfg->n_layer < 1 || cfg->n_layer > 1000)
        return "n_layer must be in 1..1000";
    if (cfg->n_head < 1 || cfg->n_head > 1024)
        return "n_head must be in 1..1024";
    if (cfg->n_embd < 1 || cfg->n_embd > 65536)
        return "n_embd must be in 1..65536";
    if (cfg->n_embd % cfg->n_head != 0)
        return "n_embd must be a multiple of n_head";
    if (cfg->n_ctx < 1 || cfg->n_ctx > 65536)
        return "n_ctx must be in 1..65536";
    if (cfg->vocab < 1 || cfg->vocab > 16777216)
        return "vocab must be in 1..16777216";
    if (!(cfg->ln_eps > 0.0f) || !isfinite(cfg->ln_eps))
        return "ln_eps must be a positive number";
    return NULL;
}

static const char *const block_names[GPT_LAYER_TENSORS] = {
    "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
    "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
    "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
};

/* Name, kind and shape of tensor i of the layout (0 wte, 1 wpe, 2 + 12 l + j block l, then
 * ln_f weight and bias). */
static void layout_entry_impl(const struct gpt_config *cfg, int i, char *name,
                              enum nn_tensor_kind *kind, int *ndim, int *shape)
{
    int C = cfg->n_embd, L = cfg->n_layer;
    if (i == 0 || i == 1) {
        strcpy(name, i == 0 ? "wte.weight" : "wpe.weight");
        *kind = NN_T_EMBED;
        *ndim = 2;
        shape[0] = i == 0 ? cfg->vocab : cfg->n_ctx;
        shape[1] = C;
        return;
    }
    if (i >= 2 + GPT_LAYER_TENSORS * L) {
        strcpy(name, i == 2 + GPT_LAYER_TENSORS * L ? "ln_f.weight" : "ln_f.bias");
        *kind = NN_T_NORM;
        *ndim = 1;
        shape[0] = C;
        return;
    }
    int l = (i - 2) / GPT_LAYER_TENSORS, j = (i - 2) % GPT_LAYER_TENSORS;
    snprintf(name, NN_NAME_MAX, "h.%d.%s", l, block_names[j]);
    static const int rows[GPT_LAYER_TENSORS] = {1, 1, 1, 3, 1, 1, 1, 1, 1, 4, 4, 1};
    static const int cols[GPT_LAYER_TENSORS] = {0, 0, 3, 0, 1, 0, 0, 0, 4, 0, 1, 0};
    static const enum nn_tensor_kind kinds[GPT_LAYER_TENSORS] = {
        NN_T_NORM, NN_T_NORM, NN_T_LINEAR, NN_T_BIAS, NN_T_LINEAR, NN_T_BIAS,
        NN_T_NORM, NN_T_NORM, NN_T_LINEAR, NN_T_BIAS, NN_T_LINEAR, NN_T_BIAS,
    };
    *kind = kinds[j];
    shape[0] = rows[j] * C;
    if (cols[j]) {
        *ndim = 2;
        shape[1] = cols[j] * C;
    } else {
        *ndim = 1;
    }
}

static int layout_count_impl(const struct gpt_config *cfg)
{
    return 4 + GPT_LAYER_TENSORS * cfg->n_layer;
}

void gpt_params_layout(struct nn_params *p, const struct gpt_config *cfg)
{
    LETHE_ASSERT(!gpt_config_check(cfg));
    for (int i = 0; i < layout_count_impl(cfg); i++) {
        char name[NN_NAME_MAX];
        enum nn_tensor_kind kind;
        int ndim, shape[NN_MAX_DIMS];
        layout_entry_impl(cfg, i, name, &kind, &ndim, shape);
        nn_params_add(p, name, kind, ndim, shape);
    }
}

/* Points the weight pointers at the tensors of the table. */
static void bind_weights_impl(struct gpt *m)
{
    struct nn_params *p = &m->params;
    int L = m->cfg.n_layer;
#define TP(i) (p->data + p->tensors[m->tidx[i]].offset)
    m->wte = TP(0);
    m->wpe = TP(1);
    for (int l = 0; l < L; l++) {
        float **dst = (float **)&m->w[l];
        for (int j = 0; j < GPT_LAYER_TENSORS; j++)
            dst[j] = TP(2 + GPT_LAYER_TENSORS * l + j);
    }
    m->lnfw = TP(2 + GPT_LAYER_TENSORS * L);
    m->lnfb = TP(3 + GPT_LAYER_TENSORS * L);
#undef TP
}

/* A model around a table already laid out (tidx filled); takes p. */
static struct gpt *model_new_impl(const struct gpt_config *cfg, struct nn_params *p, int *tidx)
{
    struct gpt *m = xcalloc(1, sizeof(*m));
    m->cfg = *cfg;
    m->params = *p;
    memset(p, 0, sizeof(*p));
    m->tidx = tidx;
    m->w = xcalloc((size_t)cfg->n_layer, sizeof(*m->w));
    m->dw = xcalloc((size_t)cfg->n_layer, sizeof(*m->dw));
    m->a = xcalloc((size_t)cfg->n_layer, sizeof(*m->a));
    m->inject = xcalloc((size_t)cfg->n_layer, sizeof(*m->inject));
    bind_weights_impl(m);
    return m;
}

static struct gpt *alloc_model_impl(const struct gpt_config *cfg)
{
    struct nn_params p = {0};
    gpt_params_layout(&p, cfg);
    nn_params_alloc(&p);
    int n = layout_count_impl(cfg);
    int *tidx = xmalloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++)
        tidx[i] = i;
    return model_new_impl(cfg, &p, tidx);
}

struct gpt *gpt_new(const struct gpt_config *cfg, uint64_t seed)
{
    struct gpt *m = alloc_model_impl(cfg);
    struct nn_params *p = &m->params;
    struct nn_rng rng;
    nn_rng_seed(&rng, seed);
    double proj_std = 0.02 / sqrt(2.0 * cfg->n_layer);
    /* one stream, tensors in layout order, elements in row-major order */
    for (int i = 0; i < p->n_tensors; i++) {
        struct nn_tensor *t = &p->tensors[i];
        float *d = nn_tensor_data(p, t);
        if (t->kind == NN_T_LINEAR || t->kind == NN_T_EMBED) {
            double std = str_ends(t->name, "c_proj.weight") ? proj_std : 0.02;
            for (size_t k = 0; k < t->numel; k++)
                d[k] = (float)(std * nn_rng_normal(&rng));
        } else if (t->kind == NN_T_NORM && str_ends(t->name, ".weight")) {
            for (size_t k = 0; k < t->numel; k++)
                d[k] = 1.0f;
        }
    }
    return m;
}

static void shape_str_impl(char *buf, int ndim, const int *shape)
{
    int n = sprintf(buf, "[");
    for (int d = 0; d < ndim && d < NN_MAX_DIMS; d++)
        n += sprintf(buf + n, "%s%d", d ? ", " : "", shape[d]);
    sprintf(buf + n, "]");
}

struct gpt *gpt_from_params(const struct gpt_config *cfg, struct nn_params *p,
                            struct lethe_error *err)
{
    const char *msg = gpt_config_check(cfg);
    if (msg) {
        lethe_err(err, LETHE_EINPUT, "bad GPT-2 configuration: %s", msg);
        return NULL;
    }
    if (!p->data) {
        lethe_err(err, LETHE_EINPUT, "parameter table not allocated");
        return NULL;
    }
    int n = layout_count_impl(cfg);
    int *tidx = xmalloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) {
        char name[NN_NAME_MAX];
        enum nn_tensor_kind kind;
        int ndim, shape[NN_MAX_DIMS];
        layout_entry_impl(cfg, i, name, &kind, &ndim, shape);
        struct nn_tensor *t = nn_params_find(p, name);
        if (!t) {
            lethe_err(err, LETHE_EINPUT, "missing tensor '%s'", name);
            free(tidx);
            return NULL;
        }
        int same = t->ndim == ndim;
        for (int d = 0; same && d < ndim; d++)
            same = t->shape[d] == shape[d];
        if (!same) {
            char got[64], want[64];
            shape_str_impl(got, t->ndim, t->shape);
            shape_str_impl(want, ndim, shape);
            lethe_err(err, LETHE_EINPUT, "tensor '%s' has shape %s, expected %s", name, got, want);
            free(tidx);
            return NULL;
        }
        tidx[i] = (int)(t - p->tensors);
    }
    if (p->n_tensors != n) {
        /* every expected tensor was found, so some other name is extra */
        for (int i = 0; i < p->n_tensors; i++) {
            int known = 0;
            for (int j = 0; j < n && !known; j++)
                known = tidx[j] == i;
            if (!known) {
                lethe_err(err, LETHE_EINPUT, "unexpected tensor '%s'", p->tensors[i].name);
                free(tidx);
                return NULL;
            }
        }
    }
    return model_new_impl(cfg, p, tidx);
}

struct gpt *gpt_clone(const struct gpt *m)
{
    struct gpt *c = alloc_model_impl(&m->cfg);
    for (int i = 0; i < layout_count_impl(&m->cfg); i++) {
        const struct nn_tensor *src = &m->params.tensors[m->tidx[i]];
        struct nn_tensor *dst = &c->params.tensors[i];
        memcpy(nn_tensor_data(&c->params, dst), nn_tensor_data(&m->params, src),
               src->numel * sizeof(float));
        dst->frozen = src->frozen;
    }
    return c;
}

void gpt_free(struct gpt *m)
{
    if (!m)
        return;
    nn_params_release(&m->params);
    free(m->tidx);
    free(m->w);
    free(m->dw);
    free(m->a);
    free(m->inject);
    free(m->tokens);
    free(m->pos);
    free(m->off);
    free(m->len);
    free(m->aoff);
    free(m->acts);
    free(m->grads);
    free(m->scratch);
    free(m->hidden_bt);
    free(m->sample_grad);
    free(m);
}

const struct gpt_config *gpt_cfg(const struct gpt *m)
{
    return &m->cfg;
}

struct nn_params *gpt_params(struct gpt *m)
{
    return &m->params;
}

double gpt_flops_per_token(const struct gpt_config *cfg, int T)
{
    double C = cfg->n_embd, L = cfg->n_layer;
    double matmul_params = L * 12.0 * C * C + (double)cfg->vocab * C;
    return 6.0 * matmul_params + 6.0 * 2.0 * L * (double)T * C;
}

/* ---- buffers --------------------------------------------------------------------------------- */

static float *alloc_floats_impl(size_t n)
{
    void *mem = NULL;
    if (posix_memalign(&mem, 64, (n ? n : 1) * sizeof(float)) != 0)
        LETHE_BUG("out of memory allocating %zu floats", n);
    return mem;
}

/* (Re)sizes the activations and backward scratch for bt = B*T positions, att attention
 * floats per layer and B rows. Old contents are lost. */
static void grow_impl(struct gpt *m, size_t bt, size_t att, int B)
{
    if (bt <= m->cap_bt && att <= m->cap_att && B <= m->cap_b)
        return;
    bt = bt > m->cap_bt ? bt : m->cap_bt;
    att = att > m->cap_att ? att : m->cap_att;
    B = B > m->cap_b ? B : m->cap_b;
    size_t C = (size_t)m->cfg.n_embd, V = (size_t)m->cfg.vocab;
    int L = m->cfg.n_layer;
    size_t nc = ALIGN_FLOATS(bt * C), n1 = ALIGN_FLOATS(bt), na = ALIGN_FLOATS(att);
    size_t per_layer = nc * (1 + 3 + 1 + 1 + 1 + 4 + 4 + 1) + n1 * 4 + na;
    size_t total = per_layer * (size_t)L + nc * 2 + n1 * 3 + ALIGN_FLOATS(bt * V);
    free(m->acts);
    m->acts = alloc_floats_impl(total);
    float *q = m->acts;
#define TAKE(ptr, n) do { (ptr) = q; q += (n); } while (0)
    for (int l = 0; l < L; l++) {
        struct gpt_block_acts *a = &m->a[l];
        TAKE(a->ln1, nc);
        TAKE(a->ln1_mean, n1);
        TAKE(a->ln1_rstd, n1);
        TAKE(a->qkv, 3 * nc);
        TAKE(a->att, na);
        TAKE(a->atty, nc);
        TAKE(a->res2, nc);
        TAKE(a->ln2, nc);
        TAKE(a->ln2_mean, n1);
        TAKE(a->ln2_rstd, n1);
        TAKE(a->fch, 4 * nc);
        TAKE(a->fchg, 4 * nc);
        TAKE(a->res3, nc);
    }
    TAKE(m->encoded, nc);
    TAKE(m->lnf, nc);
    TAKE(m->lnf_mean, n1);
    TAKE(m->lnf_rstd, n1);
    TAKE(m->lp, n1);
    TAKE(m->logits, ALIGN_FLOATS(bt * V));
    LETHE_ASSERT(q == m->acts + total);
    free(m->grads);
    m->grads = alloc_floats_impl(nc * 10);
    q = m->grads;
    TAKE(m->dres, nc);
    TAKE(m->dln, nc);
    TAKE(m->datty, nc);
    TAKE(m->dqkv, 3 * nc);
    TAKE(m->dfch, 4 * nc);
#undef TAKE
    m->tokens = xrealloc(m->tokens, bt * sizeof(int));
    m->pos = xrealloc(m->pos, bt * sizeof(int));
    m->off = xrealloc(m->off, (size_t)(B + 1) * sizeof(int));
    m->len = xrealloc(m->len, (size_t)(B + 1) * sizeof(int));
    m->aoff = xrealloc(m->aoff, (size_t)(B + 1) * sizeof(size_t));
    m->cap_bt = bt;
    m->cap_att = att;
    m->cap_b = B;
    m->state = GPT_NO_FORWARD;
}

void gpt_reserve(struct gpt *m, int B, int T)
{
    LETHE_ASSERT(B >= 1 && T >= 1 && T <= m->cfg.n_ctx);
    grow_impl(m, (size_t)B * T, (size_t)m->cfg.n_head * B * T * T, B);
    size_t need = attention_scratch_floats(T);
    if (need > m->cap_scratch) {
        free(m->scratch);
        m->scratch = alloc_floats_impl(need);
        m->cap_scratch = need;
    }
}

/* ---- forward --------------------------------------------------------------------------------- */

void gpt_forward_impl(struct gpt *m, const int *tokens, const int *lengths, int B, int T,
                      int last_only)
{
    const struct gpt_config *cfg = &m->cfg;
    int C = cfg->n_embd, V = cfg->vocab, NH = cfg->n_head, L = cfg->n_layer;
    LETHE_ASSERT(B >= 1 && T >= 1 && T <= cfg->n_ctx);
    size_t att = 0;
    for (int b = 0; b < B; b++) {
        int n = lengths ? lengths[b] : T;
        LETHE_ASSERT(n >= 0 && n <= T);
        att += (size_t)NH * n * n;
    }
    grow_impl(m, (size_t)B * T, att, B);
    m->B = B;
    m->T = T;
    m->full = 1;
    m->maxlen = 0;
    int N = 0;
    size_t ao = 0;
    for (int b = 0; b < B; b++) {
        int n = lengths ? lengths[b] : T;
        m->off[b] = N;
        m->len[b] = n;
        m->aoff[b] = ao;
        m->full &= n == T;
        m->maxlen = n > m->maxlen ? n : m->maxlen;
        for (int t = 0; t < n; t++) {
            int id = tokens[(size_t)b * T + t];
            LETHE_ASSERT(id >= 0 && id < V);
            m->tokens[N + t] = id;
            m->pos[N + t] = t;
        }
        N += n;
        ao += (size_t)NH * n * n;
    }
    m->off[B] = N;
    m->aoff[B] = ao;
    m->N = N;
    m->last_only = last_only;
    for (int l = 0; l < L; l++)
        m->inject[l] = NULL;

    encoder_forward(m->encoded, m->tokens, m->pos, m->wte, m->wpe, N, C);
    const float *res = m->encoded;
    for (int l = 0; l < L; l++) {
        struct gpt_block_acts *a = &m->a[l];
        const struct gpt_block *w = &m->w[l];
        layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, res, w->ln1w, w->ln1b, N, C,
                          cfg->ln_eps);
        matmul_forward(a->qkv, a->ln1, w->qkvw, w->qkvb, N, C, 3 * C);
        attention_forward(a->atty, a->att, a->qkv, m->off, m->len, m->aoff, B, NH, C);
        matmul_forward(a->res2, a->atty, w->projw, w->projb, N, C, C);
        residual_forward(a->res2, a->res2, res, (size_t)N * C);
        layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, w->ln2w, w->ln2b, N, C,
                          cfg->ln_eps);
        matmul_forward(a->fch, a->ln2, w->fcw, w->fcb, N, C, 4 * C);
        gelu_forward(a->fchg, a->fch, (size_t)N * 4 * C);
        matmul_forward(a->res3, a->fchg, w->fcprojw, w->fcprojb, N, 4 * C, C);
        residual_forward(a->res3, a->res3, a->res2, (size_t)N * C);
        res = a->res3;
    }
    if (last_only) {
        /* row b's last position only; logits (B, V) */
        for (int b = 0; b < B; b++) {
            float *out = m->logits + (size_t)b * V;
            if (m->len[b] == 0) {
                memset(out, 0, (size_t)V * sizeof(float));
                continue;
            }
            int r = m->off[b] + m->len[b] - 1;
            layernorm_forward(m->lnf + (size_t)r * C, m->lnf_mean + r, m->lnf_rstd + r,
                              res + (size_t)r * C, m->lnfw, m->lnfb, 1, C, cfg->ln_eps);
            matmul_rows_bt(out, m->lnf + (size_t)r * C, m->wte, 1, C, V);
        }
        m->state = GPT_LOGITS;
        return;
    }
    layernorm_forward(m->lnf, m->lnf_mean, m->lnf_rstd, res, m->lnfw, m->lnfb, N, C,
                      cfg->ln_eps);
    if (m->full) {
        nn_sgemm(0, 1, N, V, C, 1.0f, m->lnf, C, m->wte, C, 0.0f, m->logits, V);
    } else {
        for (int b = 0; b < B; b++) {
            float *out = m->logits + (size_t)b * T * V;
            nn_sgemm(0, 1, m->len[b], V, C, 1.0f, m->lnf + (size_t)m->off[b] * C, C, m->wte, C,
                     0.0f, out, V);
            memset(out + (size_t)m->len[b] * V, 0, (size_t)(T - m->len[b]) * V * sizeof(float));
        }
    }
    m->state = GPT_LOGITS;
}

void gpt_forward(struct gpt *m, const int *tokens, const int *lengths, int B, int T)
{
    gpt_forward_impl(m, tokens, lengths, B, T, 0);
}

const float *gpt_logits(const struct gpt *m)
{
    LETHE_ASSERT(m->state == GPT_LOGITS && !m->last_only);
    return m->logits;
}

const float *gpt_hidden(const struct gpt *m, int layer)
{
    LETHE_ASSERT(m->state != GPT_NO_FORWARD && layer >= 0 && layer < m->cfg.n_layer);
    const float *res = m->a[layer].res3;
    if (m->full)
        return res;
    /* unpack into (B, T, C), zeros at padding; a cache the const model may fill */
    struct gpt *mm = (struct gpt *)m;
    size_t C = (size_t)m->cfg.n_embd, need = (size_t)m->B * m->T * C;
    if (need > mm->cap_hidden) {
        free(mm->hidden_bt);
        mm->hidden_bt = alloc_floats_impl(need);
        mm->cap_hidden = need;
    }
    memset(mm->hidden_bt, 0, need * sizeof(float));
    for (int b = 0; b < m->B; b++)
        memcpy(mm->hidden_bt + (size_t)b * m->T * C, res + (size_t)m->off[b] * C,
               (size_t)m->len[b] * C * sizeof(float));
    return mm->hidden_bt;
}

void gpt_inject_hidden_grad(struct gpt *m, int layer, const float *dh)
{
    LETHE_ASSERT(m->state != GPT_NO_FORWARD && layer >= 0 && layer < m->cfg.n_layer);
    m->inject[layer] = dh;
}

/* ---- log-probabilities and losses -------------------------------------------------------------- */

static void check_logits_impl(const struct gpt *m)
{
    LETHE_ASSERT(m->state == GPT_LOGITS && !m->last_only);
}

double gpt_logprobs(const struct gpt *m, const int *targets, float *lp)
{
    check_logits_impl(m);
    int B = m->B, T = m->T, V = m->cfg.vocab;
#pragma omp parallel for schedule(static) if ((double)B * T * V > 65536.0)
    for (int i = 0; i < B * T; i++) {
        int b = i / T, t = i % T, y = targets[i];
        if (t >= m->len[b] || y < 0) {
            lp[i] = 0.0f;
            continue;
        }
        LETHE_ASSERT(y < V);
        const float *z = m->logits + (size_t)i * V;
        lp[i] = (float)((double)z[y] - logsumexp_row(z, V));
    }
    double sum = 0.0;
    for (int i = 0; i < B * T; i++)
        if (i % T < m->len[i / T] && targets[i] >= 0)
            sum += lp[i];
    return sum;
}

double gpt_nll(const struct gpt *m, const int *targets, const float *weights, float *dlp)
{
    size_t n = (size_t)m->B * m->T;
    float *lp = dlp ? dlp : xmalloc(n * sizeof(float));
    gpt_logprobs(m, targets, lp);
    double sw = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        if ((int)(i % m->T) >= m->len[i / m->T] || targets[i] < 0)
            continue;
        double w = weights ? weights[i] : 1.0;
        sw += w;
        s -= w * lp[i];
    }
    double loss = sw != 0.0 ? s / sw : 0.0;
    if (dlp)
        for (size_t i = 0; i < n; i++) {
            int scored = (int)(i % m->T) < m->len[i / m->T] && targets[i] >= 0;
            dlp[i] = scored && sw != 0.0 ? (float)(-(weights ? weights[i] : 1.0) / sw) : 0.0f;
        }
    else
        free(lp);
    return loss;
}

/* Turns the logits rows of rows b0..b1-1 into dlp * d lp / d logits in place (zeros where
 * nothing is scored); lp, if not NULL, receives the packed log-probs. */
static void dlogits_inplace_impl(struct gpt *m, int b0, int b1, const int *targets,
                                 const float *dlp, float dlp_const, float *lp)
{
    int T = m->T, V = m->cfg.vocab;
    int n = (b1 - b0) * T;
#pragma omp parallel for schedule(static) if ((double)n * V > 65536.0)
    for (int k = 0; k < n; k++) {
        int i = b0 * T + k, b = i / T, t = i % T;
        if (t >= m->len[b])
            continue; /* padding rows are zero since the forward */
        float *z = m->logits + (size_t)i * V;
        int y = targets[i];
        float d = dlp ? dlp[i] : dlp_const;
        LETHE_ASSERT(y < V);
        if (y < 0) {
            memset(z, 0, (size_t)V * sizeof(float));
            if (lp)
                lp[m->off[b] + t] = 0.0f;
            continue;
        }
        float l = logprob_backward_inplace(z, V, y, d);
        if (lp)
            lp[m->off[b] + t] = l;
    }
}

/* ---- backward -------------------------------------------------------------------------------- */

/* Binds the gradient pointers (NULL for frozen tensors or when grad is NULL); returns whether
 * any tensor takes a gradient. */
static int bind_grads_impl(struct gpt *m)
{
    struct nn_params *p = &m->params;
    int L = m->cfg.n_layer, any = 0;
#define GP(i) (p->grad && !p->tensors[m->tidx[i]].frozen \
                   ? (any = 1, p->grad + p->tensors[m->tidx[i]].offset) : NULL)
    m->dwte = GP(0);
    m->dwpe = GP(1);
    for (int l = 0; l < L; l++) {
        float **dst = (float **)&m->dw[l];
        for (int j = 0; j < GPT_LAYER_TENSORS; j++)
            dst[j] = GP(2 + GPT_LAYER_TENSORS * l + j);
    }
    m->dlnfw = GP(2 + GPT_LAYER_TENSORS * L);
    m->dlnfb = GP(3 + GPT_LAYER_TENSORS * L);
#undef GP
    return any;
}

static int block_trainable_impl(const struct gpt *m, int l)
{
    const float *const *d = (const float *const *)&m->dw[l];
    for (int j = 0; j < GPT_LAYER_TENSORS; j++)
        if (d[j])
            return 1;
    return 0;
}

static void ensure_scratch_impl(struct gpt *m)
{
    size_t need = attention_scratch_floats(m->maxlen);
    if (need > m->cap_scratch) {
        free(m->scratch);
        m->scratch = alloc_floats_impl(need);
        m->cap_scratch = need;
    }
}

/* Backward over rows b0 .. b1-1 of the last forward from dlogits (B, T, V), into the bound
 * gradient pointers. */
static void backward_impl(struct gpt *m, int b0, int b1, const float *dlogits, int use_inject)
{
    const struct gpt_config *cfg = &m->cfg;
    int C = cfg->n_embd, V = cfg->vocab, NH = cfg->n_head, L = cfg->n_layer, T = m->T;
    int r0 = m->off[b0], nr = m->off[b1] - r0;
    if (nr == 0)
        return;
    /* lowest[l]: something at or below block l (or the embeddings) takes a gradient */
    int emb = m->dwte || m->dwpe, top = -1;
    for (int l = 0; l < L; l++)
        if (emb || block_trainable_impl(m, l))
            top = l;
    int need_dln = top >= 0 || emb || m->dlnfw || m->dlnfb;
    ensure_scratch_impl(m);
    size_t rc = (size_t)r0 * C;
    float *dres = m->dres + rc, *dln = m->dln + rc;

    /* lm head: logits = lnf @ wte^T */
    int contiguous = 1;
    for (int b = b0; b < b1; b++)
        contiguous &= m->len[b] == T;
    for (int b = b0; b < b1; b++) {
        int rows = contiguous ? nr : m->len[b];
        const float *dl = dlogits + (size_t)(contiguous ? b0 : b) * T * V;
        size_t ro = (size_t)(contiguous ? r0 : m->off[b]) * C;
        if (rows > 0) {
            if (need_dln)
                nn_sgemm(0, 0, rows, C, V, 1.0f, dl, V, m->wte, C, 0.0f, m->dln + ro, C);
            if (m->dwte)
                nn_sgemm(1, 0, V, C, rows, 1.0f, dl, V, m->lnf + ro, C, 1.0f, m->dwte, C);
        }
        if (contiguous)
            break;
    }
    if (!need_dln)
        return;
    const float *res_last = m->a[L - 1].res3 + rc;
    if (top >= 0)
        memset(dres, 0, (size_t)nr * C * sizeof(float));
    layernorm_backward(top >= 0 ? dres : NULL, m->dlnfw, m->dlnfb, dln, res_last, m->lnfw,
                       m->lnf_mean + r0, m->lnf_rstd + r0, nr, C);

    for (int l = L - 1; l >= 0 && l <= top; l--) {
        struct gpt_block_acts *a = &m->a[l];
        const struct gpt_block *w = &m->w[l], *dw = &m->dw[l];
        if (use_inject && m->inject[l])
            for (int b = b0; b < b1; b++)
                residual_forward(m->dres + (size_t)m->off[b] * C, m->dres + (size_t)m->off[b] * C,
                                 m->inject[l] + (size_t)b * T * C, (size_t)m->len[b] * C);
        const float *res_in = (l == 0 ? m->encoded : m->a[l - 1].res3) + rc;
        float *dfch = m->dfch + rc * 4, *datty = m->datty + rc, *dqkv = m->dqkv + rc * 3;
        /* MLP: res3 = res2 + fcproj(gelu(fc(ln2(res2)))); activation gradients are written
         * (beta 0), parameter gradients accumulated */
        nn_sgemm(0, 1, nr, 4 * C, C, 1.0f, dres, C, w->fcprojw, C, 0.0f, dfch, 4 * C);
        matmul_backward(NULL, dw->fcprojw, dw->fcprojb, dres, a->fchg + rc * 4, w->fcprojw, nr,
                        4 * C, C);
        gelu_backward_inplace(dfch, a->fch + rc * 4, (size_t)nr * 4 * C);
        nn_sgemm(0, 1, nr, C, 4 * C, 1.0f, dfch, 4 * C, w->fcw, 4 * C, 0.0f, dln, C);
        matmul_backward(NULL, dw->fcw, dw->fcb, dfch, a->ln2 + rc, w->fcw, nr, C, 4 * C);
        layernorm_backward(dres, dw->ln2w, dw->ln2b, dln, a->res2 + rc, w->ln2w,
                           a->ln2_mean + r0, a->ln2_rstd + r0, nr, C);
        /* attention: res2 = res_in + proj(attn(qkv(ln1(res_in)))) */
        nn_sgemm(0, 1, nr, C, C, 1.0f, dres, C, w->projw, C, 0.0f, datty, C);
        matmul_backward(NULL, dw->projw, dw->projb, dres, a->atty + rc, w->projw, nr, C, C);
        attention_backward(m->dqkv, m->scratch, m->datty, a->att, a->qkv, m->off + b0,
                           m->len + b0, m->aoff + b0, b1 - b0, NH, C, 0);
        nn_sgemm(0, 1, nr, C, 3 * C, 1.0f, dqkv, 3 * C, w->qkvw, 3 * C, 0.0f, dln, C);
        matmul_backward(NULL, dw->qkvw, dw->qkvb, dqkv, a->ln1 + rc, w->qkvw, nr, C, 3 * C);
        layernorm_backward(dres, dw->ln1w, dw->ln1b, dln, res_in, w->ln1w, a->ln1_mean + r0,
                           a->ln1_rstd + r0, nr, C);
    }
    if (emb)
        encoder_backward(m->dwte, m->dwpe, dres, m->tokens + r0, m->pos + r0, nr, C);
}

static void backward_all_impl(struct gpt *m, const float *dlogits)
{
    LETHE_ASSERT(m->state != GPT_NO_FORWARD && !m->last_only);
    nn_params_alloc_grad(&m->params);
    if (bind_grads_impl(m))
        backward_impl(m, 0, m->B, dlogits, 1);
    for (int l = 0; l < m->cfg.n_layer; l++)
        m->inject[l] = NULL;
}

void gpt_backward(struct gpt *m, const float *dlogits)
{
    backward_all_impl(m, dlogits);
    if (dlogits == m->logits)
        m->state = GPT_SPENT;
}

void gpt_backward_dlogprob(struct gpt *m, const int *targets, const float *dlp)
{
    check_logits_impl(m);
    dlogits_inplace_impl(m, 0, m->B, targets, dlp, 0.0f, NULL);
    m->state = GPT_SPENT;
    backward_all_impl(m, m->logits);
}

double gpt_forward_loss(struct gpt *m, const int *tokens, const int *lengths, const int *targets,
                        int B, int T)
{
    gpt_forward(m, tokens, lengths, B, T);
    int scored = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < m->len[b]; t++)
            scored += targets[(size_t)b * T + t] >= 0;
    float d = scored ? -1.0f / (float)scored : 0.0f;
    dlogits_inplace_impl(m, 0, B, targets, NULL, d, m->lp);
    double sum = 0.0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < m->len[b]; t++)
            if (targets[(size_t)b * T + t] >= 0)
                sum += m->lp[m->off[b] + t];
    m->state = GPT_DLOGITS;
    return scored ? -sum / scored : 0.0;
}

void gpt_backward_loss(struct gpt *m)
{
    LETHE_ASSERT(m->state == GPT_DLOGITS);
    m->state = GPT_SPENT;
    backward_all_impl(m, m->logits);
}

void gpt_sample_grad_norms(struct gpt *m, const int *tokens, const int *lengths,
                           const int *targets, int B, int T, float *norms)
{
    gpt_forward(m, tokens, lengths, B, T);
    struct nn_params *p = &m->params;
    if (!m->sample_grad)
        m->sample_grad = alloc_floats_impl(p->n);
    float *saved = p->grad;
    p->grad = m->sample_grad;
    bind_grads_impl(m);
    for (int b = 0; b < B; b++) {
        int scored = 0;
        for (int t = 0; t < m->len[b]; t++)
            scored += targets[(size_t)b * T + t] >= 0;
        norms[b] = 0.0f;
        if (!scored)
            continue;
        memset(p->grad, 0, p->n * sizeof(float));
        dlogits_inplace_impl(m, b, b + 1, targets, NULL, -1.0f / (float)scored, NULL);
        backward_impl(m, b, b + 1, m->logits, 0);
        double ss = 0.0;
        for (int i = 0; i < p->n_tensors; i++) {
            const struct nn_tensor *t = &p->tensors[i];
            if (t->frozen)
                continue;
            const float *g = p->grad + t->offset;
            for (size_t k = 0; k < t->numel; k++)
                ss += (double)g[k] * g[k];
        }
        norms[b] = (float)sqrt(ss);
    }
    p->grad = saved;
    m->state = GPT_SPENT;
}
