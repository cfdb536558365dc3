/* Layers of the classifiers: linear, ReLU, 2-D convolution (im2col + sgemm), max-pooling,
 * bag of embeddings, gated fusion, cross-entropy; `_ref` plain kernels beside the fast ones. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/nn.h"
#include "nn/ops.h"

/* below this many elements a loop runs on one thread (OpenMP start-up costs more) */
#define PAR_MIN 131072

/* ---- linear ------------------------------------------------------------------------ */

NN_CLONES static void vadd_impl(float *restrict out, const float *restrict a, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++)
        out[i] += a[i];
}

/* y = y + bias (relu 0), or y = max(y + bias, 0) * k (relu 1); bias and k may be NULL. The
 * same operations in the same order as clf_linear_forward then clf_relu_forward. */
NN_CLONES static void bias_act_impl(float *restrict y, const float *restrict bias,
                                    const float *restrict k, int n, int relu)
{
    if (!relu) {
#pragma omp simd
        for (int i = 0; i < n; i++)
            y[i] = y[i] + bias[i];
    } else if (bias && k) {
#pragma omp simd
        for (int i = 0; i < n; i++) {
            float t = y[i] + bias[i];
            y[i] = t > 0.0f ? t * k[i] : 0.0f;
        }
    } else if (bias) {
#pragma omp simd
        for (int i = 0; i < n; i++) {
            float t = y[i] + bias[i];
            y[i] = t > 0.0f ? t : 0.0f;
        }
    } else {
#pragma omp simd
        for (int i = 0; i < n; i++) {
            float t = y[i];
            y[i] = t > 0.0f ? t * (k ? k[i] : 1.0f) : 0.0f;
        }
    }
}

struct linear_epi {
    float *out;
    const float *bias, *scale;
    int OC, relu;
};

/* the sgemm epilogue: bias and activation on the block the thread just computed */
static void linear_epi_impl(void *ctx, int m0, int m1, int n0, int n1)
{
    const struct linear_epi *e = ctx;
    for (int r = m0; r < m1; r++)
        bias_act_impl(e->out + (size_t)r * e->OC + n0, e->bias ? e->bias + n0 : NULL,
                      e->scale ? e->scale + n0 : NULL, n1 - n0, e->relu);
}

static void linear_act_forward_impl(float *out, const float *inp, const float *weight,
                                    const float *bias, const float *scale, int relu, int B,
                                    int IC, int OC)
{
    struct linear_epi e = {out, bias, scale, OC, relu};
    int need = relu || bias;
    nn_sgemm_epi(0, 1, B, OC, IC, 1.0f, inp, IC, weight, IC, 0.0f, out, OC,
                 need ? linear_epi_impl : NULL, &e);
}

void clf_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                        int B, int IC, int OC)
{
    linear_act_forward_impl(out, inp, weight, bias, NULL, 0, B, IC, OC);
}

void clf_linear_relu_forward(float *out, const float *inp, const float *weight,
                             const float *bias, const float *scale, int B, int IC, int OC)
{
    linear_act_forward_impl(out, inp, weight, bias, scale, 1, B, IC, OC);
}

/* dbias (OC) += the rows of dout (B, OC) in order of b; threads own slices of the outputs */
static void bias_backward_impl(float *dbias, const float *dout, int B, int OC)
{
#pragma omp parallel if ((size_t)B * OC >= PAR_MIN)
    {
        size_t j0_, j1_;
        nn_thread_block((size_t)OC, &j0_, &j1_);
        int j0 = (int)j0_, j1 = (int)j1_;
        for (int b = 0; b < B && j1 > j0; b++)
            vadd_impl(dbias + j0, dout + (size_t)b * OC + j0, j1 - j0);
    }
}

void clf_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int B, int IC, int OC)
{
    if (dinp)
        nn_sgemm(0, 0, B, IC, OC, 1.0f, dout, OC, weight, IC, 1.0f, dinp, IC);
    if (dweight)
        nn_sgemm(1, 0, OC, IC, B, 1.0f, dout, OC, inp, IC, 1.0f, dweight, IC);
    if (dbias)
        bias_backward_impl(dbias, dout, B, OC);
}

/* one row: d = y > 0 ? dy * k : 0 (k NULL: 1), and db += d when db is not NULL */
NN_CLONES static void relu_bias_back_impl(float *restrict d, float *restrict db,
                                          const float *restrict dy, const float *restrict y,
                                          const float *restrict k, int n)
{
    if (db && k) {
#pragma omp simd
        for (int i = 0; i < n; i++) {
            float v = y[i] > 0.0f ? dy[i] * k[i] : 0.0f;
            d[i] = v;
            db[i] += v;
        }
    } else if (db) { /* dy * 1 = dy */
#pragma omp simd
        for (int i = 0; i < n; i++) {
            float v = y[i] > 0.0f ? dy[i] : 0.0f;
            d[i] = v;
            db[i] += v;
        }
    } else {
#pragma omp simd
        for (int i = 0; i < n; i++)
            d[i] = y[i] > 0.0f ? dy[i] * (k ? k[i] : 1.0f) : 0.0f;
    }
}

/* dinp (B, IC) = d weight (overwritten, then epi on each thread's block), dweight += d^T inp */
static void linear_products_impl(float *dinp, float *dweight, const float *d, const float *inp,
                                 const float *weight, int B, int IC, int OC,
                                 nn_sgemm_epi_fn epi, void *ctx)
{
    if (dinp)
        nn_sgemm_epi(0, 0, B, IC, OC, 1.0f, d, OC, weight, IC, 0.0f, dinp, IC, epi, ctx);
    if (dweight)
        nn_sgemm(1, 0, OC, IC, B, 1.0f, d, OC, inp, IC, 1.0f, dweight, IC);
}

void clf_linear_relu_backward(float *dinp, float *dweight, float *dbias, float *dpre,
                              const float *dout, const float *out, const float *scale,
                              const float *inp, const float *weight, int B, int IC, int OC)
{
    const float *d = dout;
    if (out) {
        /* threads own slices of the OC units: dpre and dbias (rows added in order of b) */
#pragma omp parallel if ((size_t)B * OC >= PAR_MIN)
        {
            size_t j0_, j1_;
            nn_thread_block((size_t)OC, &j0_, &j1_);
            int j0 = (int)j0_, j1 = (int)j1_;
            for (int b = 0; b < B && j1 > j0; b++) {
                size_t o = (size_t)b * OC + j0;
                relu_bias_back_impl(dpre + o, dbias ? dbias + j0 : NULL, dout + o, out + o,
                                    scale ? scale + j0 : NULL, j1 - j0);
            }
        }
        d = dpre;
    } else if (dbias) {
        bias_backward_impl(dbias, dout, B, OC);
    }
    linear_products_impl(dinp, dweight, d, inp, weight, B, IC, OC, NULL, NULL);
}

/* in place: d = y > 0 ? d * k : 0, and db += d when db is not NULL */
NN_CLONES static void relu_back_inplace_impl(float *restrict d, float *restrict db,
                                             const float *restrict y, const float *restrict k,
                                             int n)
{
    if (db && !k) {
#pragma omp simd
        for (int i = 0; i < n; i++) {
            float v = y[i] > 0.0f ? d[i] : 0.0f;
            d[i] = v;
            db[i] += v;
        }
    } else if (db) {
#pragma omp simd
        for (int i = 0; i < n; i++) {
            float v = y[i] > 0.0f ? d[i] * k[i] : 0.0f;
            d[i] = v;
            db[i] += v;
        }
    } else {
#pragma omp simd
        for (int i = 0; i < n; i++)
            d[i] = y[i] > 0.0f ? d[i] * (k ? k[i] : 1.0f) : 0.0f;
    }
}

struct relu_in_epi {
    float *d, *db;
    const float *act, *scale;
    int B, IC;
    int partial;        /* a block without every row: dbias is added after the product */
};

/* the ReLU below on the block of dinp a thread just computed; its bias gradient too when the
 * block holds every row (the rows are then added in order of b, as bias_backward_impl does) */
static void relu_in_epi_impl(void *ctx, int m0, int m1, int n0, int n1)
{
    struct relu_in_epi *e = ctx;
    int full = m0 == 0 && m1 == e->B;
    if (!full && e->db) {
#pragma omp atomic write
        e->partial = 1;
    }
    for (int r = m0; r < m1; r++) {
        size_t o = (size_t)r * e->IC + n0;
        relu_back_inplace_impl(e->d + o, full && e->db ? e->db + n0 : NULL, e->act + o,
                               e->scale ? e->scale + n0 : NULL, n1 - n0);
    }
}

void clf_linear_relu_input_backward(float *dpre_in, float *dbias_in, float *dweight,
                                    float *dbias, const float *dout, const float *inp,
                                    const float *inp_scale, const float *weight, int B, int IC,
                                    int OC)
{
    if (dbias)
        bias_backward_impl(dbias, dout, B, OC);
    struct relu_in_epi e = {dpre_in, dbias_in, inp, inp_scale, B, IC, 0};
    linear_products_impl(dpre_in, dweight, dout, inp, weight, B, IC, OC,
                         dpre_in ? relu_in_epi_impl : NULL, &e);
    if (e.partial)
        bias_backward_impl(dbias_in, dpre_in, B, IC);
}

/* ---- ReLU with an optional per-unit scale --------------------------------------------- */

/* one sample (U, S): y = max(x, 0) * k[u] */
NN_CLONES static void relu_sample_impl(float *y, const float *x, const float *k, int U, int S)
{
    if (S == 1) {
#pragma omp simd
        for (int u = 0; u < U; u++)
            y[u] = x[u] > 0.0f ? x[u] * (k ? k[u] : 1.0f) : 0.0f;
        return;
    }
    for (int u = 0; u < U; u++) {
        const float ku = k ? k[u] : 1.0f;
        const float *xu = x + (size_t)u * S;
        float *yu = y + (size_t)u * S;
#pragma omp simd
        for (int s = 0; s < S; s++)
            yu[s] = xu[s] > 0.0f ? xu[s] * ku : 0.0f;
    }
}

/* one sample (U, S): dx += dy * k[u] where y > 0 */
NN_CLONES static void relu_back_sample_impl(float *restrict dx, const float *restrict dy,
                                             const float *restrict y, const float *k, int U,
                                             int S)
{
    if (S == 1) {
#pragma omp simd
        for (int u = 0; u < U; u++)
            dx[u] += y[u] > 0.0f ? dy[u] * (k ? k[u] : 1.0f) : 0.0f;
        return;
    }
    for (int u = 0; u < U; u++) {
        const float ku = k ? k[u] : 1.0f;
        const size_t o = (size_t)u * S;
#pragma omp simd
        for (int s = 0; s < S; s++)
            dx[o + s] += y[o + s] > 0.0f ? dy[o + s] * ku : 0.0f;
    }
}

void clf_relu_forward(float *out, const float *inp, const float *scale, int B, int U, int S)
{
    const size_t per = (size_t)U * S;
#pragma omp parallel for schedule(static) if (per * B >= PAR_MIN)
    for (int b = 0; b < B; b++)
        relu_sample_impl(out + b * per, inp + b * per, scale, U, S);
}

void clf_relu_backward(float *dinp, const float *dout, const float *out, const float *scale,
                       int B, int U, int S)
{
    const size_t per = (size_t)U * S;
#pragma omp parallel for schedule(static) if (per * B >= PAR_MIN)
    for (int b = 0; b < B; b++)
        relu_back_sample_impl(dinp + b * per, dout + b * per, out + b * per, scale, U, S);
}

/* ---- 2-D convolution -------------------------------------------------------------------- */

int clf_conv_out(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

size_t clf_conv2d_col_floats(const struct clf_conv_geom *g)
{
    int oh = clf_conv_out(g->H, g->K, g->stride, g->pad);
    int ow = clf_conv_out(g->W, g->K, g->stride, g->pad);
    return (size_t)g->C * g->K * g->K * g->B * oh * ow;
}

size_t clf_conv2d_work_floats(const struct clf_conv_geom *g)
{
    int oh = clf_conv_out(g->H, g->K, g->stride, g->pad);
    int ow = clf_conv_out(g->W, g->K, g->stride, g->pad);
    return (size_t)g->OC * g->B * oh * ow;
}

/* For stride 1, the output columns ox whose input column ox - pad + kx lies inside [0, W). */
static void valid_cols_impl(int ow, int W, int pad, int kx, int *lo, int *hi)
{
    int a = pad - kx, b = W + pad - kx;
    *lo = a > 0 ? a : 0;
    *hi = b < ow ? b : ow;
    if (*hi < *lo)
        *hi = *lo;
}

/* col (C*K*K, B*OH*OW): row (c, ky, kx), column (b, oy, ox) */
static void im2col_impl(float *col, const float *inp, const struct clf_conv_geom *g, int oh,
                        int ow)
{
    const int K = g->K, C = g->C, H = g->H, W = g->W, s = g->stride, pad = g->pad;
    const size_t ohw = (size_t)oh * ow, ncol = (size_t)g->B * ohw;
    const int rows = C * K * K;
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)rows * ncol >= PAR_MIN)
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < g->B; b++) {
            int c = r / (K * K), ky = (r / K) % K, kx = r % K, lo, hi;
            const float *x = inp + ((size_t)b * C + c) * H * W;
            float *dst = col + (size_t)r * ncol + (size_t)b * ohw;
            valid_cols_impl(ow, W, pad, kx, &lo, &hi);
            for (int oy = 0; oy < oh; oy++) {
                int iy = oy * s - pad + ky;
                float *d = dst + (size_t)oy * ow;
                if (iy < 0 || iy >= H) {
                    memset(d, 0, (size_t)ow * sizeof(float));
                    continue;
                }
                const float *xr = x + (size_t)iy * W;
                if (s == 1) { /* zeros, a copied run, zeros */
                    memset(d, 0, (size_t)lo * sizeof(float));
                    if (hi > lo)
                        memcpy(d + lo, xr + lo - pad + kx, (size_t)(hi - lo) * sizeof(float));
                    memset(d + hi, 0, (size_t)(ow - hi) * sizeof(float));
                    continue;
                }
                for (int ox = 0; ox < ow; ox++) {
                    int ix = ox * s - pad + kx;
                    d[ox] = (ix >= 0 && ix < W) ? xr[ix] : 0.0f;
                }
            }
        }
}

/* dinp += col2im(dcol); one (b, c) plane per iteration, so no two threads share a plane */
static void col2im_impl(float *dinp, const float *dcol, const struct clf_conv_geom *g, int oh,
                        int ow)
{
    const int K = g->K, C = g->C, H = g->H, W = g->W, s = g->stride, pad = g->pad;
    const size_t ohw = (size_t)oh * ow, ncol = (size_t)g->B * ohw;
#pragma omp parallel for collapse(2) schedule(static) \
    if ((size_t)C * K * K * ncol >= PAR_MIN)
    for (int b = 0; b < g->B; b++)
        for (int c = 0; c < C; c++) {
            float *dx = dinp + ((size_t)b * C + c) * H * W;
            for (int ky = 0; ky < K; ky++)
                for (int kx = 0; kx < K; kx++) {
                    const float *src = dcol + ((size_t)(c * K + ky) * K + kx) * ncol + b * ohw;
                    int lo, hi;
                    valid_cols_impl(ow, W, pad, kx, &lo, &hi);
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * s - pad + ky;
                        if (iy < 0 || iy >= H)
                            continue;
                        float *dr = dx + (size_t)iy * W;
                        const float *sr = src + (size_t)oy * ow;
                        if (s == 1) {
                            if (hi > lo)
                                vadd_impl(dr + lo - pad + kx, sr + lo, hi - lo);
                            continue;
                        }
                        for (int ox = 0; ox < ow; ox++) {
                            int ix = ox * s - pad + kx;
                            if (ix >= 0 && ix < W)
                                dr[ix] += sr[ox];
                        }
                    }
                }
        }
}

void clf_conv2d_forward(float *out, float *col, float *work, const float *inp,
                        const float *weight, const float *bias, const struct clf_conv_geom *g)
{
    int oh = clf_conv_out(g->H, g->K, g->stride, g->pad);
    int ow = clf_conv_out(g->W, g->K, g->stride, g->pad);
    const int ckk = g->C * g->K * g->K;
    const size_t ohw = (size_t)oh * ow, ncol = (size_t)g->B * ohw;
    im2col_impl(col, inp, g, oh, ow);
    /* work (OC, B*OH*OW) = weight (OC, C*K*K) @ col */
    nn_sgemm(0, 0, g->OC, (int)ncol, ckk, 1.0f, weight, ckk, col, (int)ncol, 0.0f, work,
               (int)ncol);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)g->OC * ncol >= PAR_MIN)
    for (int b = 0; b < g->B; b++)
        for (int o = 0; o < g->OC; o++) {
            float bo = bias ? bias[o] : 0.0f;
            const float *src = work + (size_t)o * ncol + b * ohw;
            float *dst = out + ((size_t)b * g->OC + o) * ohw;
            for (size_t p = 0; p < ohw; p++)
                dst[p] = src[p] + bo;
        }
}

void clf_conv2d_backward(float *dinp, float *dweight, float *dbias, float *dcol, float *work,
                         const float *dout, const float *col, const float *weight,
                         const struct clf_conv_geom *g)
{
    int oh = clf_conv_out(g->H, g->K, g->stride, g->pad);
    int ow = clf_conv_out(g->W, g->K, g->stride, g->pad);
    const int ckk = g->C * g->K * g->K;
    const size_t ohw = (size_t)oh * ow, ncol = (size_t)g->B * ohw;
    /* work (OC, B*OH*OW) = dout rearranged from (B, OC, OH*OW) */
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)g->OC * ncol >= PAR_MIN)
    for (int b = 0; b < g->B; b++)
        for (int o = 0; o < g->OC; o++)
            memcpy(work + (size_t)o * ncol + b * ohw, dout + ((size_t)b * g->OC + o) * ohw,
                   ohw * sizeof(float));
    if (dbias) {
#pragma omp parallel for schedule(static) if ((size_t)g->OC * ncol >= PAR_MIN)
        for (int o = 0; o < g->OC; o++) {
            double s = 0;
            const float *w = work + (size_t)o * ncol;
            for (size_t p = 0; p < ncol; p++)
                s += w[p];
            dbias[o] += (float)s;
        }
    }
    if (dweight) /* dweight (OC, CKK) += work @ col^T */
        nn_sgemm(0, 1, g->OC, ckk, (int)ncol, 1.0f, work, (int)ncol, col, (int)ncol, 1.0f,
                   dweight, ckk);
    if (dinp) { /* dcol (CKK, N) = weight^T @ work, then scattered back */
        nn_sgemm(1, 0, ckk, (int)ncol, g->OC, 1.0f, weight, ckk, work, (int)ncol, 0.0f, dcol,
                   (int)ncol);
        col2im_impl(dinp, dcol, g, oh, ow);
    }
}

void clf_conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                            const struct clf_conv_geom *g)
{
    int oh = clf_conv_out(g->H, g->K, g->stride, g->pad);
    int ow = clf_conv_out(g->W, g->K, g->stride, g->pad);
    for (int b = 0; b < g->B; b++)
        for (int o = 0; o < g->OC; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double s = bias ? bias[o] : 0.0;
                    for (int c = 0; c < g->C; c++)
                        for (int ky = 0; ky < g->K; ky++)
                            for (int kx = 0; kx < g->K; kx++) {
                                int iy = oy * g->stride - g->pad + ky;
                                int ix = ox * g->stride - g->pad + kx;
                                if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
                                    continue;
                                s += (double)weight[((o * g->C + c) * g->K + ky) * g->K + kx] *
                                     inp[(((size_t)b * g->C + c) * g->H + iy) * g->W + ix];
                            }
                    out[(((size_t)b * g->OC + o) * oh + oy) * ow + ox] = (float)s;
                }
}

void clf_conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *inp, const float *weight,
                             const struct clf_conv_geom *g)
{
    int oh = clf_conv_out(g->H, g->K, g->stride, g->pad);
    int ow = clf_conv_out(g->W, g->K, g->stride, g->pad);
    for (int b = 0; b < g->B; b++)
        for (int o = 0; o < g->OC; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    float d = dout[(((size_t)b * g->OC + o) * oh + oy) * ow + ox];
                    if (dbias)
                        dbias[o] += d;
                    for (int c = 0; c < g->C; c++)
                        for (int ky = 0; ky < g->K; ky++)
                            for (int kx = 0; kx < g->K; kx++) {
                                int iy = oy * g->stride - g->pad + ky;
                                int ix = ox * g->stride - g->pad + kx;
                                if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
                                    continue;
                                size_t wi = ((size_t)(o * g->C + c) * g->K + ky) * g->K + kx;
                                size_t xi = (((size_t)b * g->C + c) * g->H + iy) * g->W + ix;
                                if (dweight)
                                    dweight[wi] += d * inp[xi];
                                if (dinp)
                                    dinp[xi] += d * weight[wi];
                            }
                }
}

/* ---- max-pooling (kernel = stride = k, floor) ------------------------------------------ */

/* PyTorch's rule: the first maximum in row-major order of the window wins; NaN wins. */
static int window_argmax_impl(const float *x, int W, int y0, int x0, int k)
{
    int best = y0 * W + x0;
    float bv = x[best];
    for (int dy = 0; dy < k; dy++)
        for (int dx = 0; dx < k; dx++) {
            int i = (y0 + dy) * W + x0 + dx;
            if (x[i] > bv || isnan(x[i])) {
                best = i;
                bv = x[i];
                if (isnan(bv))
                    return best;
            }
        }
    return best;
}

void clf_maxpool2d_forward(float *out, int *argmax, const float *inp, int B, int C, int H, int W,
                           int k)
{
    const int oh = H / k, ow = W / k;
#pragma omp parallel for schedule(static) if ((size_t)B * C * H * W >= PAR_MIN)
    for (int bc = 0; bc < B * C; bc++) {
        const float *x = inp + (size_t)bc * H * W;
        float *y = out + (size_t)bc * oh * ow;
        int *am = argmax + (size_t)bc * oh * ow;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                int i = window_argmax_impl(x, W, oy * k, ox * k, k);
                am[oy * ow + ox] = i;
                y[oy * ow + ox] = x[i];
            }
    }
}

void clf_maxpool2d_backward(float *dinp, const float *dout, const int *argmax, int B, int C,
                            int H, int W, int k)
{
    const int oh = H / k, ow = W / k;
#pragma omp parallel for schedule(static) if ((size_t)B * C * H * W >= PAR_MIN)
    for (int bc = 0; bc < B * C; bc++) {
        float *dx = dinp + (size_t)bc * H * W;
        const float *dy = dout + (size_t)bc * oh * ow;
        const int *am = argmax + (size_t)bc * oh * ow;
        for (int j = 0; j < oh * ow; j++)
            dx[am[j]] += dy[j];
    }
}

void clf_maxpool2d_forward_ref(float *out, const float *inp, int B, int C, int H, int W, int k)
{
    const int oh = H / k, ow = W / k;
    for (int bc = 0; bc < B * C; bc++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float m = -INFINITY;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) {
                        float v = inp[((size_t)bc * H + oy * k + dy) * W + ox * k + dx];
                        if (v > m)
                            m = v;
                    }
                out[((size_t)bc * oh + oy) * ow + ox] = m;
            }
}

void clf_maxpool2d_backward_ref(float *dinp, const float *dout, const float *inp, int B, int C,
                                int H, int W, int k)
{
    const int oh = H / k, ow = W / k;
    for (int bc = 0; bc < B * C; bc++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                /* the first maximum in scan order takes the whole gradient */
                int by = 0, bx = 0;
                float m = -INFINITY;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) {
                        float v = inp[((size_t)bc * H + oy * k + dy) * W + ox * k + dx];
                        if (v > m) {
                            m = v;
                            by = dy;
                            bx = dx;
                        }
                    }
                dinp[((size_t)bc * H + oy * k + by) * W + ox * k + bx] +=
                    dout[((size_t)bc * oh + oy) * ow + ox];
            }
}

/* ---- bag of token embeddings ------------------------------------------------------------ */

void clf_embag_forward(float *out, const int *tokens, const float *table, int pad_id, int B,
                       int T, int V, int E)
{
#pragma omp parallel for schedule(static) if ((size_t)B * T * E >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * E;
        const int *tok = tokens + (size_t)b * T;
        memset(o, 0, (size_t)E * sizeof(float));
        int n = 0;
        for (int t = 0; t < T; t++) {
            if (tok[t] == pad_id)
                continue;
            LETHE_ASSERT(tok[t] >= 0 && tok[t] < V);
            const float *row = table + (size_t)tok[t] * E;
            for (int e = 0; e < E; e++)
                o[e] += row[e];
            n++;
        }
        if (n > 0) {
            float inv = 1.0f / (float)n;
            for (int e = 0; e < E; e++)
                o[e] *= inv;
        }
    }
}

void clf_embag_backward(float *dtable, const float *dout, const int *tokens, int pad_id, int B,
                        int T, int V, int E)
{
    (void)V;
    /* threads own slices of the E columns and walk every (b, t) in order: no races, and the
     * order of the sums does not depend on the thread count */
#pragma omp parallel if ((size_t)B * T * E >= PAR_MIN)
    {
        int nth = 1, tid = 0;
#ifdef _OPENMP
        nth = omp_get_num_threads();
        tid = omp_get_thread_num();
#endif
        int e0 = (int)((long)E * tid / nth), e1 = (int)((long)E * (tid + 1) / nth);
        for (int b = 0; b < B; b++) {
            const int *tok = tokens + (size_t)b * T;
            int n = 0;
            for (int t = 0; t < T; t++)
                n += tok[t] != pad_id;
            if (n == 0)
                continue;
            float inv = 1.0f / (float)n;
            const float *d = dout + (size_t)b * E;
            for (int t = 0; t < T; t++) {
                if (tok[t] == pad_id)
                    continue;
                float *row = dtable + (size_t)tok[t] * E;
                for (int e = e0; e < e1; e++)
                    row[e] += d[e] * inv;
            }
        }
    }
}

/* ---- gated fusion ------------------------------------------------------------------------ */

size_t clf_fusion_floats(int B, int E)
{
    /* per sample: x 2E, w E, u 2E, a E, h E; s, |i|, |a|, mean, rstd; dh E, du 2E, dz E, dx 2E */
    return (size_t)B * (13 * (size_t)E + 5);
}

void clf_fusion_bind(struct clf_fusion_buf *f, float *mem, int B, int E)
{
    size_t be = (size_t)B * E;
    f->x = mem;
    f->w = f->x + 2 * be;
    f->u = f->w + be;
    f->a = f->u + 2 * be;
    f->h = f->a + be;
    f->s = f->h + be;
    f->norm_i = f->s + B;
    f->norm_a = f->norm_i + B;
    f->mean = f->norm_a + B;
    f->rstd = f->mean + B;
    f->dh = f->rstd + B;
    f->du = f->dh + be;
    f->dz = f->du + 2 * be;
    f->dx = f->dz + be;
}

#define FUSION_NORM_EPS 1e-6f

void clf_fusion_forward(float *J, struct clf_fusion_buf *f, const float *img, const float *txt,
                        const struct clf_fusion_weights *wt, float ln_eps, int B, int E)
{
    const int E2 = 2 * E;
#pragma omp parallel for schedule(static) if ((size_t)B * E >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        memcpy(f->x + (size_t)b * E2, img + (size_t)b * E, (size_t)E * sizeof(float));
        memcpy(f->x + (size_t)b * E2 + E, txt + (size_t)b * E, (size_t)E * sizeof(float));
    }
    clf_linear_forward(f->w, f->x, wt->w1, wt->b1, B, E2, E);
#pragma omp parallel for schedule(static) if ((size_t)B * E >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        float *w = f->w + (size_t)b * E, *u = f->u + (size_t)b * E2;
        const float *t = txt + (size_t)b * E;
        memcpy(u, img + (size_t)b * E, (size_t)E * sizeof(float));
        for (int e = 0; e < E; e++) {
            w[e] = 1.0f / (1.0f + expf(-w[e]));
            u[E + e] = w[e] * t[e];
        }
    }
    clf_linear_forward(f->a, f->u, wt->w2, wt->b2, B, E2, E);
#pragma omp parallel for schedule(static) if ((size_t)B * E >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        const float *i = img + (size_t)b * E, *a = f->a + (size_t)b * E;
        float *h = f->h + (size_t)b * E, *j = J + (size_t)b * E;
        double ni = 0, na = 0;
        for (int e = 0; e < E; e++) {
            ni += (double)i[e] * i[e];
            na += (double)a[e] * a[e];
        }
        float nif = (float)sqrt(ni), naf = (float)sqrt(na);
        float r = nif / (naf + FUSION_NORM_EPS);
        float s = r < 1.0f ? r : 1.0f;
        f->norm_i[b] = nif;
        f->norm_a[b] = naf;
        f->s[b] = s;
        double mean = 0, var = 0;
        for (int e = 0; e < E; e++) {
            h[e] = i[e] + s * a[e];
            mean += h[e];
        }
        mean /= E;
        for (int e = 0; e < E; e++)
            var += (h[e] - mean) * (h[e] - mean);
        var /= E;
        float rstd = (float)(1.0 / sqrt(var + ln_eps));
        f->mean[b] = (float)mean;
        f->rstd[b] = rstd;
        for (int e = 0; e < E; e++)
            j[e] = (h[e] - (float)mean) * rstd * wt->ln_w[e] + wt->ln_b[e];
    }
}

void clf_fusion_backward(float *dimg, float *dtxt, const struct clf_fusion_grads *dw,
                         struct clf_fusion_buf *f, const float *dJ, const float *img,
                         const float *txt, const struct clf_fusion_weights *wt, int B, int E)
{
    const int E2 = 2 * E;
    /* LayerNorm, then h = i + s a with s = min(|i| / (|a| + eps), 1) */
#pragma omp parallel for schedule(static) if ((size_t)B * E >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        const float *h = f->h + (size_t)b * E, *dj = dJ + (size_t)b * E;
        const float *i = img + (size_t)b * E, *a = f->a + (size_t)b * E;
        float *dh = f->dh + (size_t)b * E, *da = f->dz + (size_t)b * E;
        float *di = dimg + (size_t)b * E;
        float mean = f->mean[b], rstd = f->rstd[b];
        double m1 = 0, m2 = 0; /* means of dnorm and dnorm * xhat */
        for (int e = 0; e < E; e++) {
            float xhat = (h[e] - mean) * rstd;
            float dn = dj[e] * wt->ln_w[e];
            m1 += dn;
            m2 += (double)dn * xhat;
        }
        m1 /= E;
        m2 /= E;
        float s = f->s[b];
        double ds = 0;
        for (int e = 0; e < E; e++) {
            float xhat = (h[e] - mean) * rstd;
            float dn = dj[e] * wt->ln_w[e];
            dh[e] = (float)((dn - m1 - xhat * m2) * rstd);
            ds += (double)dh[e] * a[e];
        }
        for (int e = 0; e < E; e++) {
            di[e] += dh[e];
            da[e] = s * dh[e];
        }
        float ni = f->norm_i[b], na = f->norm_a[b], den = na + FUSION_NORM_EPS;
        if (ni / den < 1.0f) { /* s = ni / den: gradient through both norms */
            float dni = (float)(ds / den), dna = (float)(-ds * ni / ((double)den * den));
            if (ni > 0.0f)
                for (int e = 0; e < E; e++)
                    di[e] += dni * i[e] / ni;
            if (na > 0.0f)
                for (int e = 0; e < E; e++)
                    da[e] += dna * a[e] / na;
        }
    }
    if (dw->ln_w || dw->ln_b) {
#pragma omp parallel for schedule(static) if ((size_t)B * E >= PAR_MIN)
        for (int e = 0; e < E; e++) {
            double gw = 0, gb = 0;
            for (int b = 0; b < B; b++) {
                float xhat = (f->h[(size_t)b * E + e] - f->mean[b]) * f->rstd[b];
                float dj = dJ[(size_t)b * E + e];
                gw += (double)dj * xhat;
                gb += dj;
            }
            if (dw->ln_w)
                dw->ln_w[e] += (float)gw;
            if (dw->ln_b)
                dw->ln_b[e] += (float)gb;
        }
    }
    /* a = W2 u + b2 (da is in f->dz) */
    memset(f->du, 0, (size_t)B * E2 * sizeof(float));
    clf_linear_backward(f->du, dw->w2, dw->b2, f->dz, f->u, wt->w2, B, E2, E);
    /* u = [i; w * t], w = sigmoid(z) */
#pragma omp parallel for schedule(static) if ((size_t)B * E >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        const float *du = f->du + (size_t)b * E2, *w = f->w + (size_t)b * E;
        const float *t = txt + (size_t)b * E;
        float *di = dimg + (size_t)b * E, *dt = dtxt + (size_t)b * E, *dz = f->dz + (size_t)b * E;
        for (int e = 0; e < E; e++) {
            di[e] += du[e];
            dt[e] += du[E + e] * w[e];
            dz[e] = du[E + e] * t[e] * w[e] * (1.0f - w[e]);
        }
    }
    /* z = W1 [i; t] + b1 */
    memset(f->dx, 0, (size_t)B * E2 * sizeof(float));
    clf_linear_backward(f->dx, dw->w1, dw->b1, f->dz, f->x, wt->w1, B, E2, E);
#pragma omp parallel for schedule(static) if ((size_t)B * E >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        const float *dx = f->dx + (size_t)b * E2;
        float *di = dimg + (size_t)b * E, *dt = dtxt + (size_t)b * E;
        for (int e = 0; e < E; e++) {
            di[e] += dx[e];
            dt[e] += dx[E + e];
        }
    }
}

/* ---- losses and probabilities ----------------------------------------------------------- */

double clf_cross_entropy(float *dlogits, float *losses, const float *logits, const int *labels,
                         const float *weights, int B, int K)
{
    double total = 0; /* one thread: the sum keeps a fixed order */
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        int y = labels[b];
        LETHE_ASSERT(y >= 0 && y < K);
        float m = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > m)
                m = z[k];
        double sum = 0;
        for (int k = 0; k < K; k++)
            sum += exp((double)z[k] - m);
        double lse = m + log(sum);
        double l = lse - z[y];
        if (losses)
            losses[b] = (float)l;
        double w = weights ? weights[b] : 1.0;
        total += w * l;
        if (dlogits) {
            float *d = dlogits + (size_t)b * K;
            double c = w / B;
            for (int k = 0; k < K; k++)
                d[k] = (float)(c * (exp((double)z[k] - lse) - (k == y)));
        }
    }
    return total / B;
}

void clf_softmax(float *probs, const float *logits, int B, int K)
{
#pragma omp parallel for schedule(static) if ((size_t)B * K >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        float *p = probs + (size_t)b * K;
        float m = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > m)
                m = z[k];
        double sum = 0;
        for (int k = 0; k < K; k++)
            sum += exp((double)z[k] - m);
        for (int k = 0; k < K; k++)
            p[k] = (float)(exp((double)z[k] - m) / sum);
    }
}

void clf_argmax(int *pred, const float *logits, int B, int K)
{
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (z[k] > z[best])
                best = k;
        pred[b] = best;
    }
}
