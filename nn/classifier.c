/* The classifiers: an MLP / CNN image trunk and the two-branch multimodal net (image trunk, bag
 * of token embeddings, gated fusion, head) over the shared parameter table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

#define POOL 2

struct conv_stage {
    struct clf_conv_geom g;     /* g.B is the batch of the last forward */
    int oh, ow, ph, pw;         /* conv output and pooled sizes */
    int tw, tb;                 /* tensor indices */
    float *col;                 /* (C*K*K, B*OH*OW) */
    float *act;                 /* (B, OC, OH, OW) after ReLU and scale */
    float *pool;                /* (B, OC, PH, PW) */
    int *argmax;                /* (B, OC, PH, PW) */
    const float *scale;         /* (OC) or NULL */
};

struct fc_layer {
    int in, out, relu;
    int tw, tb;
    float *out_buf;             /* (B, out), after ReLU and scale for hidden layers */
    const float *scale;         /* (out) or NULL */
};

struct clf {
    struct clf_config cfg;
    struct nn_params params;
    int n_conv, n_lin;          /* n_lin = n_fc + 1 */
    struct conv_stage conv[CLF_MAX_LAYERS];
    struct fc_layer fc[CLF_MAX_LAYERS + 1];
    int in_size, K, E;
    int t_embed, t_gw, t_gb, t_pw, t_pb, t_lnw, t_lnb, t_hw, t_hb;     /* multimodal */
    size_t max_units;           /* largest activation per sample */
    size_t max_col, max_work;   /* conv scratch for cap_B samples */
    /* activations, for up to cap_B samples and cap_T tokens */
    int cap_B;
    size_t cap_tokens;
    float *arena;
    int *iarena;
    int *tokens;                /* (B, T) */
    float *x;                   /* (B, in_size) */
    float *txt, *fused, *head_out;      /* (B, E), (B, E), (B, K) */
    float *fusion_mem;
    struct clf_fusion_buf fb;
    float *dA, *dB;             /* (B, max_units) backward ping-pong */
    float *dcol, *work;
    float *dimg, *dtxt, *dJ;    /* (B, E) */
    int B, T, has_forward;
    const float *inj[CLF_EMB_COUNT];
};

/* ---- configuration -------------------------------------------------------------------- */

struct clf_config clf_config_default(enum clf_arch arch)
{
    struct clf_config c = {0};
    c.arch = arch;
    c.in_c = 1;
    c.in_h = 28;
    c.in_w = 28;
    c.n_classes = 10;
    c.kernel = 5;
    c.padding = 2;
    c.pad_id = -1;
    c.ln_eps = 1e-5f;
    switch (arch) {
    case CLF_MLP:
        c.n_fc = 2;
        c.fc[0] = 256;
        c.fc[1] = 128;
        break;
    case CLF_CNN:
        c.n_conv = 2;
        c.conv_ch[0] = 16;
        c.conv_ch[1] = 32;
        break;
    case CLF_MULTIMODAL:
        c.n_fc = 1;
        c.fc[0] = 256;
        c.embd = 64;
        c.pad_id = 0;
        break;
    default:
        break;
    }
    return c;
}

const char *clf_config_check(const struct clf_config *c)
{
    if ((int)c->arch < 0 || c->arch >= CLF_ARCH_COUNT)
        return "'arch' must be mlp, cnn or multimodal";
    if (c->in_c < 1 || c->in_h < 1 || c->in_w < 1)
        return "'in_c', 'in_h' and 'in_w' must be at least 1";
    if ((size_t)c->in_c * c->in_h * c->in_w > (1u << 28))
        return "'in_c' x 'in_h' x 'in_w' is too large";
    if (c->n_classes < 2 || c->n_classes > (1 << 20))
        return "'n_classes' must be between 2 and 2^20";
    if (c->n_conv < 0 || c->n_conv > CLF_MAX_LAYERS)
        return "'n_conv' must be between 0 and 8";
    if (c->arch == CLF_MLP && c->n_conv != 0)
        return "'n_conv' must be 0 for an mlp";
    if (c->arch == CLF_CNN && c->n_conv < 1)
        return "'n_conv' must be at least 1 for a cnn";
    if (c->n_conv > 0) {
        if (c->kernel < 1 || c->kernel > 15)
            return "'kernel' must be between 1 and 15";
        if (c->padding < 0 || c->padding >= c->kernel)
            return "'padding' must be between 0 and kernel - 1";
    }
    int h = c->in_h, w = c->in_w;
    for (int l = 0; l < c->n_conv; l++) {
        if (c->conv_ch[l] < 1 || c->conv_ch[l] > 4096)
            return "'conv_ch' must be between 1 and 4096";
        h = clf_conv_out(h, c->kernel, 1, c->padding) / POOL;
        w = clf_conv_out(w, c->kernel, 1, c->padding) / POOL;
        if (h < 1 || w < 1)
            return "the image is too small for 'n_conv' conv stages";
    }
    if (c->n_fc < 0 || c->n_fc > CLF_MAX_LAYERS)
        return "'n_fc' must be between 0 and 8";
    for (int j = 0; j < c->n_fc; j++)
        if (c->fc[j] < 1 || c->fc[j] > (1 << 20))
            return "'fc' widths must be between 1 and 2^20";
    if (c->arch == CLF_MULTIMODAL) {
        if (c->embd < 1 || c->embd > (1 << 16))
            return "'embd' must be between 1 and 65536";
        if (c->vocab < 1 || c->vocab > (1 << 24))
            return "'vocab' must be between 1 and 2^24";
        if (c->pad_id < -1 || c->pad_id >= c->vocab)
            return "'pad_id' must be -1 or a token id below 'vocab'";
        if (!(c->ln_eps > 0.0f) || !isfinite(c->ln_eps))
            return "'ln_eps' must be positive";
    }
    return NULL;
}

/* ---- the parameter table --------------------------------------------------------------- */

static int add_impl(struct nn_params *p, const char *prefix, const char *name,
                    enum nn_tensor_kind kind, int ndim, const int *shape)
{
    char full[NN_NAME_MAX];
    snprintf(full, sizeof(full), "%s%s", prefix, name);
    return nn_params_add(p, full, kind, ndim, shape);
}

/* Adds the tensors and fills the layer geometry of m (not its buffers). */
static void layout_impl(struct clf *m)
{
    const struct clf_config *c = &m->cfg;
    struct nn_params *p = &m->params;
    const char *pre = c->arch == CLF_MULTIMODAL ? "img." : "";
    char name[48];
    int ch = c->in_c, h = c->in_h, w = c->in_w;
    m->in_size = c->in_c * c->in_h * c->in_w;
    m->K = c->n_classes;
    m->E = c->arch == CLF_MULTIMODAL ? c->embd : 0;
    m->n_conv = c->n_conv;
    m->max_units = (size_t)m->in_size;
    for (int l = 0; l < c->n_conv; l++) {
        struct conv_stage *st = &m->conv[l];
        st->g = (struct clf_conv_geom){.B = 0, .C = ch, .H = h, .W = w, .OC = c->conv_ch[l],
                                       .K = c->kernel, .stride = 1, .pad = c->padding};
        st->oh = clf_conv_out(h, c->kernel, 1, c->padding);
        st->ow = clf_conv_out(w, c->kernel, 1, c->padding);
        st->ph = st->oh / POOL;
        st->pw = st->ow / POOL;
        int ws[4] = {c->conv_ch[l], ch, c->kernel, c->kernel}, bs[1] = {c->conv_ch[l]};
        snprintf(name, sizeof(name), "conv.%d.weight", l);
        st->tw = add_impl(p, pre, name, NN_T_CONV, 4, ws);
        snprintf(name, sizeof(name), "conv.%d.bias", l);
        st->tb = add_impl(p, pre, name, NN_T_BIAS, 1, bs);
        size_t units = (size_t)c->conv_ch[l] * st->oh * st->ow;
        if (units > m->max_units)
            m->max_units = units;
        ch = c->conv_ch[l];
        h = st->ph;
        w = st->pw;
    }
    int in = ch * h * w;
    m->n_lin = c->n_fc + 1;
    for (int j = 0; j < m->n_lin; j++) {
        struct fc_layer *f = &m->fc[j];
        int last = j == c->n_fc;
        f->in = in;
        f->out = !last ? c->fc[j] : c->arch == CLF_MULTIMODAL ? c->embd : c->n_classes;
        f->relu = !last;
        int ws[2] = {f->out, f->in}, bs[1] = {f->out};
        snprintf(name, sizeof(name), "fc.%d.weight", j);
        f->tw = add_impl(p, pre, name, NN_T_LINEAR, 2, ws);
        snprintf(name, sizeof(name), "fc.%d.bias", j);
        f->tb = add_impl(p, pre, name, NN_T_BIAS, 1, bs);
        if ((size_t)f->out > m->max_units)
            m->max_units = (size_t)f->out;
        in = f->out;
    }
    if (c->arch == CLF_MULTIMODAL) {
        int E = c->embd;
        int es[2] = {c->vocab, E}, gs[2] = {E, 2 * E}, vs[1] = {E};
        int hs[2] = {c->n_classes, E}, ks[1] = {c->n_classes};
        m->t_embed = nn_params_add(p, "txt.embed.weight", NN_T_EMBED, 2, es);
        m->t_gw = nn_params_add(p, "fuse.gate.weight", NN_T_LINEAR, 2, gs);
        m->t_gb = nn_params_add(p, "fuse.gate.bias", NN_T_BIAS, 1, vs);
        m->t_pw = nn_params_add(p, "fuse.proj.weight", NN_T_LINEAR, 2, gs);
        m->t_pb = nn_params_add(p, "fuse.proj.bias", NN_T_BIAS, 1, vs);
        m->t_lnw = nn_params_add(p, "fuse.ln.weight", NN_T_NORM, 1, vs);
        m->t_lnb = nn_params_add(p, "fuse.ln.bias", NN_T_NORM, 1, vs);
        m->t_hw = nn_params_add(p, "head.weight", NN_T_LINEAR, 2, hs);
        m->t_hb = nn_params_add(p, "head.bias", NN_T_BIAS, 1, ks);
    }
}

void clf_params_layout(struct nn_params *p, const struct clf_config *cfg)
{
    LETHE_ASSERT(clf_config_check(cfg) == NULL);
    LETHE_ASSERT(!p->data && p->n_tensors == 0);
    struct clf tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.cfg = *cfg;
    layout_impl(&tmp);
    *p = tmp.params;
}

/* fan_in of a weight: its size divided by its output dimension */
static int fan_in_impl(const struct nn_tensor *t)
{
    return (int)(t->numel / (size_t)t->shape[0]);
}

static void init_impl(struct clf *m, uint64_t seed)
{
    struct nn_params *p = &m->params;
    struct nn_rng r;
    nn_rng_seed(&r, seed);
    for (int i = 0; i < p->n_tensors; i++) {
        struct nn_tensor *t = &p->tensors[i];
        float *d = nn_tensor_data(p, t);
        if (t->kind == NN_T_NORM) {
            float v = str_ends(t->name, ".weight") ? 1.0f : 0.0f;
            for (size_t k = 0; k < t->numel; k++)
                d[k] = v;
        } else if (t->kind == NN_T_EMBED) {
            for (size_t k = 0; k < t->numel; k++)
                d[k] = (float)nn_rng_normal(&r);
            if (m->cfg.pad_id >= 0)
                memset(d + (size_t)m->cfg.pad_id * t->shape[1], 0,
                       (size_t)t->shape[1] * sizeof(float));
        } else {
            /* a bias takes the fan_in of the weight just before it */
            const struct nn_tensor *wt = t->kind == NN_T_BIAS ? &p->tensors[i - 1] : t;
            double bound = 1.0 / sqrt((double)fan_in_impl(wt));
            for (size_t k = 0; k < t->numel; k++)
                d[k] = (float)((2.0 * nn_rng_uniform(&r) - 1.0) * bound);
        }
    }
}

static struct clf *alloc_impl(const struct clf_config *cfg)
{
    LETHE_ASSERT(clf_config_check(cfg) == NULL);
    struct clf *m = xcalloc(1, sizeof(*m));
    m->cfg = *cfg;
    layout_impl(m);
    return m;
}

struct clf *clf_new(const struct clf_config *cfg, uint64_t seed)
{
    struct clf *m = alloc_impl(cfg);
    nn_params_alloc(&m->params);
    init_impl(m, seed);
    return m;
}

struct clf *clf_from_params(const struct clf_config *cfg, struct nn_params *p,
                            struct lethe_error *err)
{
    const char *msg = clf_config_check(cfg);
    if (msg || !p->data) {
        if (msg)
            lethe_err(err, LETHE_EINPUT, "bad classifier configuration: %s", msg);
        else
            lethe_err(err, LETHE_EINPUT, "the classifier's parameter table has no data");
        return NULL;
    }
    struct clf *m = alloc_impl(cfg);
    struct nn_params *q = &m->params;
    for (int i = 0; i < p->n_tensors; i++)
        if (!nn_params_find(q, p->tensors[i].name)) {
            lethe_err(err, LETHE_EINPUT, "unexpected tensor '%s' for this classifier",
                      p->tensors[i].name);
            clf_free(m);
            return NULL;
        }
    for (int i = 0; i < q->n_tensors; i++) {
        const struct nn_tensor *t = &q->tensors[i], *s = nn_params_find(p, t->name);
        int same = s && s->ndim == t->ndim;
        for (int d = 0; same && d < t->ndim; d++)
            same = s->shape[d] == t->shape[d];
        if (!s || !same) {
            lethe_err(err, LETHE_EINPUT, s ? "tensor '%s' has the wrong shape" :
                      "tensor '%s' is missing", t->name);
            clf_free(m);
            return NULL;
        }
    }
    nn_params_alloc(q);
    for (int i = 0; i < q->n_tensors; i++) {
        struct nn_tensor *t = &q->tensors[i];
        const struct nn_tensor *s = nn_params_find(p, t->name);
        memcpy(nn_tensor_data(q, t), nn_tensor_data(p, s), t->numel * sizeof(float));
        t->frozen = s->frozen;
    }
    nn_params_release(p);
    return m;
}

struct clf *clf_clone(const struct clf *m)
{
    struct clf *c = alloc_impl(&m->cfg);
    nn_params_alloc(&c->params);
    nn_params_copy(&c->params, &m->params);
    for (int i = 0; i < m->params.n_tensors; i++)
        c->params.tensors[i].frozen = m->params.tensors[i].frozen;
    return c;
}

void clf_free(struct clf *m)
{
    if (!m)
        return;
    nn_params_release(&m->params);
    free(m->arena);
    free(m->iarena);
    free(m->tokens);
    free(m);
}

const struct clf_config *clf_cfg(const struct clf *m) { return &m->cfg; }
struct nn_params *clf_params(struct clf *m) { return &m->params; }

/* ---- activation buffers ----------------------------------------------------------------- */

/* offsets are rounded to 16 floats (64 bytes); with a NULL arena only the size is counted */
static float *take_impl(float *arena, size_t *off, size_t n)
{
    float *r = arena ? arena + *off : NULL;
    *off += (n + 15) & ~(size_t)15;
    return r;
}

static int *take_int_impl(int *arena, size_t *off, size_t n)
{
    int *r = arena ? arena + *off : NULL;
    *off += (n + 15) & ~(size_t)15;
    return r;
}

static void bind_impl(struct clf *m, int B, size_t *nf, size_t *ni)
{
    float *a = m->arena;
    int *ia = m->iarena;
    size_t off = 0, ioff = 0, bu = (size_t)B;
    m->max_col = m->max_work = 0;
    m->x = take_impl(a, &off, bu * m->in_size);
    for (int l = 0; l < m->n_conv; l++) {
        struct conv_stage *st = &m->conv[l];
        struct clf_conv_geom g = st->g;
        g.B = B;
        size_t cs = clf_conv2d_col_floats(&g), ws = clf_conv2d_work_floats(&g);
        st->col = take_impl(a, &off, cs);
        st->act = take_impl(a, &off, ws);
        st->pool = take_impl(a, &off, bu * g.OC * st->ph * st->pw);
        st->argmax = take_int_impl(ia, &ioff, bu * g.OC * st->ph * st->pw);
        if (cs > m->max_col)
            m->max_col = cs;
        if (ws > m->max_work)
            m->max_work = ws;
    }
    for (int j = 0; j < m->n_lin; j++)
        m->fc[j].out_buf = take_impl(a, &off, bu * m->fc[j].out);
    m->dA = take_impl(a, &off, bu * m->max_units);
    m->dB = take_impl(a, &off, bu * m->max_units);
    m->dcol = take_impl(a, &off, m->max_col);
    m->work = take_impl(a, &off, m->max_work);
    if (m->cfg.arch == CLF_MULTIMODAL) {
        size_t be = bu * m->E;
        m->txt = take_impl(a, &off, be);
        m->fused = take_impl(a, &off, be);
        m->head_out = take_impl(a, &off, bu * m->K);
        m->dimg = take_impl(a, &off, be);
        m->dtxt = take_impl(a, &off, be);
        m->dJ = take_impl(a, &off, be);
        m->fusion_mem = take_impl(a, &off, clf_fusion_floats(B, m->E));
        if (a)
            clf_fusion_bind(&m->fb, m->fusion_mem, B, m->E);
    }
    *nf = off;
    *ni = ioff;
}

void clf_reserve(struct clf *m, int B, int T)
{
    LETHE_ASSERT(B >= 1 && T >= 0);
    if (B > m->cap_B) {
        size_t nf, ni;
        free(m->arena);
        free(m->iarena);
        m->arena = NULL;
        m->iarena = NULL;
        bind_impl(m, B, &nf, &ni);
        m->arena = xmalloc((nf ? nf : 16) * sizeof(float));
        m->iarena = xmalloc((ni ? ni : 16) * sizeof(int));
        bind_impl(m, B, &nf, &ni);
        m->cap_B = B;
        m->has_forward = 0;
    }
    size_t need = (size_t)B * T;
    if (need > m->cap_tokens) {
        free(m->tokens);
        m->tokens = xmalloc(need * sizeof(int));
        m->cap_tokens = need;
    }
}

/* ---- forward ------------------------------------------------------------------------------ */

static float *tdata_impl(struct clf *m, int t) { return nn_tensor_data(&m->params, &m->params.tensors[t]); }

/* gradient of tensor t, or NULL when frozen */
static float *tgrad_impl(struct clf *m, int t)
{
    const struct nn_tensor *x = &m->params.tensors[t];
    return x->frozen ? NULL : m->params.grad + x->offset;
}

static struct clf_fusion_weights fusion_weights_impl(struct clf *m)
{
    return (struct clf_fusion_weights){
        .w1 = tdata_impl(m, m->t_gw), .b1 = tdata_impl(m, m->t_gb),
        .w2 = tdata_impl(m, m->t_pw), .b2 = tdata_impl(m, m->t_pb),
        .ln_w = tdata_impl(m, m->t_lnw), .ln_b = tdata_impl(m, m->t_lnb)};
}

void clf_forward(struct clf *m, const float *x, const int *tokens, int B, int T)
{
    int mm = m->cfg.arch == CLF_MULTIMODAL;
    LETHE_ASSERT(B >= 1);
    LETHE_ASSERT(mm ? (tokens != NULL && T >= 1) : (tokens == NULL && T == 0));
    clf_reserve(m, B, T);
    m->B = B;
    m->T = T;
    memcpy(m->x, x, (size_t)B * m->in_size * sizeof(float));
    const float *cur = m->x;
    for (int l = 0; l < m->n_conv; l++) {
        struct conv_stage *st = &m->conv[l];
        st->g.B = B;
        clf_conv2d_forward(st->act, st->col, m->work, cur, tdata_impl(m, st->tw),
                           tdata_impl(m, st->tb), &st->g);
        clf_relu_forward(st->act, st->act, st->scale, B, st->g.OC, st->oh * st->ow);
        clf_maxpool2d_forward(st->pool, st->argmax, st->act, B, st->g.OC, st->oh, st->ow, POOL);
        cur = st->pool;
    }
    for (int j = 0; j < m->n_lin; j++) {
        struct fc_layer *f = &m->fc[j];
        if (f->relu)
            clf_linear_relu_forward(f->out_buf, cur, tdata_impl(m, f->tw), tdata_impl(m, f->tb),
                                    f->scale, B, f->in, f->out);
        else
            clf_linear_forward(f->out_buf, cur, tdata_impl(m, f->tw), tdata_impl(m, f->tb), B,
                               f->in, f->out);
        cur = f->out_buf;
    }
    if (mm) {
        const struct nn_tensor *emb = &m->params.tensors[m->t_embed];
        memcpy(m->tokens, tokens, (size_t)B * T * sizeof(int));
        clf_embag_forward(m->txt, m->tokens, nn_tensor_data(&m->params, emb), m->cfg.pad_id, B,
                          T, m->cfg.vocab, m->E);
        struct clf_fusion_weights wt = fusion_weights_impl(m);
        clf_fusion_forward(m->fused, &m->fb, cur, m->txt, &wt, m->cfg.ln_eps, B, m->E);
        clf_linear_forward(m->head_out, m->fused, tdata_impl(m, m->t_hw), tdata_impl(m, m->t_hb),
                           B, m->E, m->K);
    }
    m->has_forward = 1;
}

const float *clf_logits(const struct clf *m)
{
    LETHE_ASSERT(m->has_forward);
    return m->cfg.arch == CLF_MULTIMODAL ? m->head_out : m->fc[m->n_lin - 1].out_buf;
}

const float *clf_embedding(const struct clf *m, enum clf_embedding which)
{
    LETHE_ASSERT(which >= 0 && which < CLF_EMB_COUNT);
    if (m->cfg.arch != CLF_MULTIMODAL)
        return NULL;
    LETHE_ASSERT(m->has_forward);
    switch (which) {
    case CLF_EMB_IMAGE: return m->fc[m->n_lin - 1].out_buf;
    case CLF_EMB_TEXT: return m->txt;
    default: return m->fused;
    }
}

void clf_inject_embedding_grad(struct clf *m, enum clf_embedding which, const float *d)
{
    LETHE_ASSERT(m->cfg.arch == CLF_MULTIMODAL);
    LETHE_ASSERT(which >= 0 && which < CLF_EMB_COUNT);
    m->inj[which] = d;
}

int clf_n_hidden(const struct clf *m) { return m->n_conv + m->n_lin - 1; }

const float *clf_hidden(const struct clf *m, int layer, int *units, int *per_unit)
{
    LETHE_ASSERT(layer >= 0 && layer < clf_n_hidden(m));
    if (layer < m->n_conv) {
        const struct conv_stage *st = &m->conv[layer];
        if (units)
            *units = st->g.OC;
        if (per_unit)
            *per_unit = st->oh * st->ow;
        return m->has_forward ? st->act : NULL;
    }
    const struct fc_layer *f = &m->fc[layer - m->n_conv];
    if (units)
        *units = f->out;
    if (per_unit)
        *per_unit = 1;
    return m->has_forward ? f->out_buf : NULL;
}

void clf_set_hidden_scale(struct clf *m, int layer, const float *scale)
{
    LETHE_ASSERT(layer >= 0 && layer < clf_n_hidden(m));
    int units;
    clf_hidden(m, layer, &units, NULL);
    for (int u = 0; scale && u < units; u++)
        LETHE_ASSERT(scale[u] >= 0.0f);
    if (layer < m->n_conv)
        m->conv[layer].scale = scale;
    else
        m->fc[layer - m->n_conv].scale = scale;
}

/* ---- backward ----------------------------------------------------------------------------- */

static float *other_impl(struct clf *m, const float *cur)
{
    return cur == m->dA ? m->dB : m->dA;
}

static int trainable_impl(struct clf *m, int tw, int tb)
{
    return !m->params.tensors[tw].frozen || !m->params.tensors[tb].frozen;
}

static void vec_add_impl(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

void clf_backward(struct clf *m, const float *dlogits)
{
    LETHE_ASSERT(m->has_forward);
    nn_params_alloc_grad(&m->params);
    const int B = m->B, mm = m->cfg.arch == CLF_MULTIMODAL;
    const size_t be = (size_t)B * m->E;
    /* the lowest layer (conv stages, then linear layers) with a trainable tensor: nothing
     * below it needs a gradient */
    int n_layers = m->n_conv + m->n_lin, lowest = n_layers;
    for (int l = n_layers - 1; l >= 0; l--) {
        int tw = l < m->n_conv ? m->conv[l].tw : m->fc[l - m->n_conv].tw;
        int tb = l < m->n_conv ? m->conv[l].tb : m->fc[l - m->n_conv].tb;
        if (trainable_impl(m, tw, tb))
            lowest = l;
    }
    const float *dcur = dlogits;
    if (mm) {
        memset(m->dJ, 0, be * sizeof(float));
        if (dlogits)
            clf_linear_backward(m->dJ, tgrad_impl(m, m->t_hw), tgrad_impl(m, m->t_hb), dlogits,
                                m->fused, tdata_impl(m, m->t_hw), B, m->E, m->K);
        if (m->inj[CLF_EMB_FUSED])
            vec_add_impl(m->dJ, m->inj[CLF_EMB_FUSED], be);
        memset(m->dimg, 0, be * sizeof(float));
        memset(m->dtxt, 0, be * sizeof(float));
        struct clf_fusion_weights wt = fusion_weights_impl(m);
        struct clf_fusion_grads dw = {
            .w1 = tgrad_impl(m, m->t_gw), .b1 = tgrad_impl(m, m->t_gb),
            .w2 = tgrad_impl(m, m->t_pw), .b2 = tgrad_impl(m, m->t_pb),
            .ln_w = tgrad_impl(m, m->t_lnw), .ln_b = tgrad_impl(m, m->t_lnb)};
        const float *img = m->fc[m->n_lin - 1].out_buf;
        clf_fusion_backward(m->dimg, m->dtxt, &dw, &m->fb, m->dJ, img, m->txt, &wt, B, m->E);
        if (m->inj[CLF_EMB_IMAGE])
            vec_add_impl(m->dimg, m->inj[CLF_EMB_IMAGE], be);
        if (m->inj[CLF_EMB_TEXT])
            vec_add_impl(m->dtxt, m->inj[CLF_EMB_TEXT], be);
        float *demb = tgrad_impl(m, m->t_embed);
        if (demb)
            clf_embag_backward(demb, m->dtxt, m->tokens, m->cfg.pad_id, B, m->T, m->cfg.vocab,
                               m->E);
        dcur = m->dimg;
    }
    for (int i = 0; i < CLF_EMB_COUNT; i++)
        m->inj[i] = NULL;
    if (!dcur)
        return;
    /* dcur: the gradient of layer j's output before its ReLU (the output layer has none). The
     * product that goes down into a hidden layer applies that layer's ReLU and adds its bias
     * gradient in passing, so the hidden layer's own call adds its weight gradient only */
    int bias_done = 0;
    for (int j = m->n_lin - 1; j >= 0 && m->n_conv + j >= lowest; j--) {
        struct fc_layer *f = &m->fc[j];
        const float *inp = j > 0 ? m->fc[j - 1].out_buf
                           : m->n_conv > 0 ? m->conv[m->n_conv - 1].pool : m->x;
        float *dw = tgrad_impl(m, f->tw), *db = bias_done ? NULL : tgrad_impl(m, f->tb);
        int need_dinp = m->n_conv + j > lowest;
        if (j > 0 && need_dinp) {
            const struct fc_layer *below = &m->fc[j - 1];
            LETHE_ASSERT(below->relu);
            float *dpre = other_impl(m, dcur);
            clf_linear_relu_input_backward(dpre, tgrad_impl(m, below->tb), dw, db, dcur, inp,
                                           below->scale, tdata_impl(m, f->tw), B, f->in,
                                           f->out);
            dcur = dpre;
            bias_done = 1;
        } else {
            float *dinp = need_dinp ? other_impl(m, dcur) : NULL;
            clf_linear_relu_backward(dinp, dw, db, NULL, dcur, NULL, NULL, inp,
                                     tdata_impl(m, f->tw), B, f->in, f->out);
            dcur = dinp;
            bias_done = 0;
        }
    }
    for (int l = m->n_conv - 1; l >= 0 && l >= lowest; l--) {
        struct conv_stage *st = &m->conv[l];
        const int OC = st->g.OC, ohw = st->oh * st->ow;
        float *dact = other_impl(m, dcur);
        memset(dact, 0, (size_t)B * OC * ohw * sizeof(float));
        clf_maxpool2d_backward(dact, dcur, st->argmax, B, OC, st->oh, st->ow, POOL);
        float *dpre = other_impl(m, dact);
        memset(dpre, 0, (size_t)B * OC * ohw * sizeof(float));
        clf_relu_backward(dpre, dact, st->act, st->scale, B, OC, ohw);
        float *dinp = NULL;
        if (l > lowest) {
            dinp = other_impl(m, dpre);
            memset(dinp, 0, (size_t)B * st->g.C * st->g.H * st->g.W * sizeof(float));
        }
        clf_conv2d_backward(dinp, tgrad_impl(m, st->tw), tgrad_impl(m, st->tb), m->dcol, m->work,
                            dpre, st->col, tdata_impl(m, st->tw), &st->g);
        dcur = dinp;
    }
}
