/* Optimisation: AdamW and SGD over the flat parameter buffer, global gradient-norm clipping
 * and learning-rate schedules (PyTorch and Hugging Face semantics). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/nn.h"
#include "nn/ops.h"

/* most threads whose partial sums nn_grad_norm keeps (more are not used) */
#define MAX_THREADS 256

static float *state_alloc_impl(size_t n)
{
    return xcalloc(n ? n : 1, sizeof(float));
}

static int decayed_impl(unsigned mask, const struct nn_tensor *t)
{
    return (mask & NN_KIND_BIT(t->kind)) != 0;
}

/* ---- AdamW ----------------------------------------------------------------------------- */

struct adamw_config adamw_config_default(void)
{
    return (struct adamw_config){.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                 .weight_decay = 0.01, .decay_kinds = NN_DECAY_DEFAULT};
}

void adamw_init(struct adamw *opt, const struct nn_params *p, const struct adamw_config *cfg)
{
    memset(opt, 0, sizeof(*opt));
    opt->cfg = cfg ? *cfg : adamw_config_default();
    opt->n = p->n;
    opt->m = state_alloc_impl(p->n);
    opt->v = state_alloc_impl(p->n);
}

struct adamw_scalars {
    float b1, b2, omb1, omb2, eps, step_size, bc2_sqrt, decay;
};

/* 7 floats moved per element; vectorised (sqrt and division are exact in every clone and
 * nothing contracts to FMA, so each clone gives the same bits), it is memory-bound */
NN_CLONES static void adamw_block_impl(float *restrict x, float *restrict m, float *restrict v,
                                       const float *restrict g, size_t n, int dec,
                                       const struct adamw_scalars *k)
{
    const float b1 = k->b1, b2 = k->b2, omb1 = k->omb1, omb2 = k->omb2, eps = k->eps;
    const float step_size = k->step_size, bc2_sqrt = k->bc2_sqrt;
    const float decay = dec ? k->decay : 1.0f;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float xi = x[i] * decay;
        float mi = m[i] * b1 + gi * omb1;
        float vi = v[i] * b2 + gi * gi * omb2;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        x[i] = xi - step_size * (mi / denom);
    }
}

void adamw_step(struct adamw *opt, struct nn_params *p, double lr)
{
    LETHE_ASSERT(p->n == opt->n && p->grad);
    const struct adamw_config *c = &opt->cfg;
    long t = ++opt->t;
    /* as torch.optim.AdamW (single-tensor path): bias corrections in double, the update in
     * float in the same order of operations */
    const float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    const float omb1 = (float)(1.0 - c->beta1), omb2 = (float)(1.0 - c->beta2);
    const double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float decay = (float)(1.0 - lr * c->weight_decay);
    struct adamw_scalars k = {b1, b2, omb1, omb2, eps, step_size, bc2_sqrt, decay};
    float *data = p->data, *grad = p->grad, *m = opt->m, *v = opt->v;
#pragma omp parallel
    for (int t_i = 0; t_i < p->n_tensors; t_i++) {
        const struct nn_tensor *te = &p->tensors[t_i];
        if (te->frozen)
            continue;
        const int dec = c->weight_decay != 0.0 && decayed_impl(c->decay_kinds, te);
        size_t lo, hi, o = te->offset;
        nn_thread_block(te->numel, &lo, &hi);
        if (hi > lo)
            adamw_block_impl(data + o + lo, m + o + lo, v + o + lo, grad + o + lo, hi - lo, dec,
                             &k);
    }
}

void adamw_release(struct adamw *opt)
{
    if (!opt)
        return;
    free(opt->m);
    free(opt->v);
    memset(opt, 0, sizeof(*opt));
}

/* ---- SGD ------------------------------------------------------------------------------- */

struct sgd_config sgd_config_default(void)
{
    return (struct sgd_config){.decay_kinds = NN_DECAY_DEFAULT};
}

void sgd_init(struct sgd *opt, const struct nn_params *p, const struct sgd_config *cfg)
{
    memset(opt, 0, sizeof(*opt));
    opt->cfg = cfg ? *cfg : sgd_config_default();
    opt->n = p->n;
    if (opt->cfg.momentum != 0.0)
        opt->buf = state_alloc_impl(p->n);
}

void sgd_step(struct sgd *opt, struct nn_params *p, double lr)
{
    LETHE_ASSERT(p->n == opt->n && p->grad);
    const struct sgd_config *c = &opt->cfg;
    const int first = opt->t == 0;
    opt->t++;
    const float mu = (float)c->momentum, damp = (float)(1.0 - c->dampening);
    const float wd = (float)c->weight_decay, lrf = (float)lr;
    float *data = p->data, *grad = p->grad, *buf = opt->buf;
#pragma omp parallel
    for (int k = 0; k < p->n_tensors; k++) {
        const struct nn_tensor *te = &p->tensors[k];
        if (te->frozen)
            continue;
        const int dec = wd != 0.0f && decayed_impl(c->decay_kinds, te);
        const size_t o = te->offset, n = te->numel;
#pragma omp for schedule(static) nowait
        for (size_t i = o; i < o + n; i++) {
            float d = grad[i];
            if (dec)
                d += wd * data[i];
            if (buf) {
                float b = first ? d : buf[i] * mu + d * damp;
                buf[i] = b;
                d = c->nesterov ? d + mu * b : b;
            }
            data[i] -= lrf * d;
        }
    }
}

void sgd_release(struct sgd *opt)
{
    if (!opt)
        return;
    free(opt->buf);
    memset(opt, 0, sizeof(*opt));
}

/* ---- gradient norm and clipping ---------------------------------------------------------- */

/* sum of squares in double over 8 fixed lanes (element i goes to lane i % 8), the lanes then
 * added in order: the same bits for any vector width */
NN_CLONES static double sumsq_block_impl(const float *x, size_t n)
{
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
#pragma omp simd
        for (int j = 0; j < 8; j++)
            acc[j] += (double)x[i + j] * x[i + j];
    for (; i < n; i++)
        acc[i % 8] += (double)x[i] * x[i];
    double s = 0;
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return s;
}

double nn_grad_norm(const struct nn_params *p)
{
    if (!p->grad)
        return 0.0;
    double part[MAX_THREADS] = {0};
    int nth = 1;
#ifdef _OPENMP
    nth = omp_get_max_threads();
    if (nth > MAX_THREADS)
        nth = MAX_THREADS;
#endif
    const float *grad = p->grad;
#pragma omp parallel num_threads(nth)
    {
        double s = 0;
        for (int k = 0; k < p->n_tensors; k++) {
            const struct nn_tensor *te = &p->tensors[k];
            if (te->frozen)
                continue;
            size_t lo, hi;
            nn_thread_block(te->numel, &lo, &hi);
            s += sumsq_block_impl(grad + te->offset + lo, hi - lo);
        }
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        part[tid] = s;
    }
    double total = 0;
    for (int i = 0; i < nth; i++)
        total += part[i];
    return sqrt(total);
}

double nn_clip_grad_norm(struct nn_params *p, double max_norm)
{
    double norm = nn_grad_norm(p);
    if (max_norm <= 0.0 || !p->grad)
        return norm;
    double coef = max_norm / (norm + 1e-6);
    if (coef >= 1.0)
        return norm;
    const float cf = (float)coef;
    float *grad = p->grad;
#pragma omp parallel
    for (int k = 0; k < p->n_tensors; k++) {
        const struct nn_tensor *te = &p->tensors[k];
        if (te->frozen)
            continue;
        const size_t o = te->offset, n = te->numel;
#pragma omp for schedule(static) nowait
        for (size_t i = o; i < o + n; i++)
            grad[i] *= cf;
    }
    return norm;
}

/* ---- learning-rate schedules -------------------------------------------------------------- */

const char *lr_schedule_check(const struct lr_schedule *s)
{
    if ((int)s->kind < 0 || s->kind >= LR_KIND_COUNT)
        return "'schedule' must be constant, linear or cosine";
    if (!(s->peak_lr >= 0.0) || !isfinite(s->peak_lr))
        return "'lr' must be a finite number >= 0";
    if (!(s->final_lr >= 0.0) || !isfinite(s->final_lr))
        return "'final_lr' must be a finite number >= 0";
    if (s->warmup_steps < 0)
        return "'warmup_steps' must be >= 0";
    if (s->total_steps < 0)
        return "'total_steps' must be >= 0";
    if (s->kind != LR_CONSTANT && s->warmup_steps > s->total_steps)
        return "'warmup_steps' must not exceed 'total_steps'";
    return NULL;
}

double lr_schedule_at(const struct lr_schedule *s, long step)
{
    if (step < 0)
        step = 0;
    if (step < s->warmup_steps)
        return s->peak_lr * (double)step / (double)s->warmup_steps;
    if (s->kind == LR_CONSTANT)
        return s->peak_lr;
    long span = s->total_steps - s->warmup_steps;
    double q = (double)(step - s->warmup_steps) / (double)(span > 1 ? span : 1);
    if (q > 1.0)
        q = 1.0;
    double f = s->kind == LR_LINEAR ? 1.0 - q : 0.5 * (1.0 + cos(3.14159265358979323846 * q));
    return s->final_lr + (s->peak_lr - s->final_lr) * f;
}
