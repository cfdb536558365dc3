/* Tests for the classifiers of nn/: finite-difference gradient checks of every layer and of
 * whole models against double-precision references, fast-vs-_ref kernels, PyTorch goldens. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "tests/golden/clf_golden_read.h"
#include "tests/test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static struct nn_rng rng;

static float *rand_floats(size_t n, double lo, double hi)
{
    float *v = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(lo + (hi - lo) * nn_rng_uniform(&rng));
    return v;
}

static double *to_double(const float *v, size_t n)
{
    double *d = xmalloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        d[i] = v[i];
    return d;
}

static float *zeros(size_t n)
{
    return xcalloc(n ? n : 1, sizeof(float));
}

/* A loss of double parameters, for finite differences. */
typedef double (*loss_fn)(void *ctx);

#define FD_H 1e-6

/* Central differences of f over theta[0..n) against analytic (float) gradients:
 * |analytic - numeric| <= atol + rtol |numeric| for every element. */
static void fd_check(const char *what, double *theta, size_t n, const float *analytic,
                     loss_fn f, void *ctx, double atol, double rtol)
{
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double save = theta[i];
        theta[i] = save + FD_H;
        double lp = f(ctx);
        theta[i] = save - FD_H;
        double lm = f(ctx);
        theta[i] = save;
        double num = (lp - lm) / (2 * FD_H);
        double err = fabs(analytic[i] - num), lim = atol + rtol * fabs(num);
        if (err / lim > worst)
            worst = err / lim;
        if (!(err <= lim)) {
            if (bad < 3)
                printf("# %s[%zu]: analytic %.9g numeric %.9g\n", what, i, analytic[i], num);
            bad++;
        }
    }
    if (bad)
        printf("# %s: %zu of %zu gradients off (worst %.3g x tolerance)\n", what, bad, n, worst);
    CHECK(bad == 0);
}

static void check_close(const char *what, const float *a, const double *b, size_t n, double atol,
                        double rtol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= atol + rtol * fabs(b[i]))) {
            if (bad < 3)
                printf("# %s[%zu]: %.9g vs %.9g\n", what, i, a[i], b[i]);
            bad++;
        }
    if (bad)
        printf("# %s: %zu of %zu values differ\n", what, bad, n);
    CHECK(bad == 0);
}

static void check_close_f(const char *what, const float *a, const float *b, size_t n,
                          double atol, double rtol)
{
    double *d = to_double(b, n);
    check_close(what, a, d, n, atol, rtol);
    free(d);
}

/* ---- double-precision references (written independently of nn/clf_ops.c) ------------------- */

static void lin_d(double *out, const double *in, const double *w, const double *b, int B, int IC,
                  int OC)
{
    for (int n = 0; n < B; n++)
        for (int o = 0; o < OC; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < IC; i++)
                s += w[(size_t)o * IC + i] * in[(size_t)n * IC + i];
            out[(size_t)n * OC + o] = s;
        }
}

static void relu_d(double *x, const float *scale, int B, int U, int S)
{
    for (int n = 0; n < B; n++)
        for (int u = 0; u < U; u++)
            for (int s = 0; s < S; s++) {
                double *v = &x[((size_t)n * U + u) * S + s];
                *v = *v > 0 ? *v * (scale ? scale[u] : 1.0) : 0.0;
            }
}

static void conv_d(double *out, const double *in, const double *w, const double *b,
                   const struct clf_conv_geom *g)
{
    int oh = (g->H + 2 * g->pad - g->K) / g->stride + 1;
    int ow = (g->W + 2 * g->pad - g->K) / g->stride + 1;
    for (int n = 0; n < g->B; n++)
        for (int o = 0; o < g->OC; o++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    double s = b ? b[o] : 0.0;
                    for (int c = 0; c < g->C; c++)
                        for (int i = 0; i < g->K; i++)
                            for (int j = 0; j < g->K; j++) {
                                int yy = y * g->stride + i - g->pad, xx = x * g->stride + j - g->pad;
                                if (yy >= 0 && yy < g->H && xx >= 0 && xx < g->W)
                                    s += w[((o * g->C + c) * g->K + i) * g->K + j] *
                                         in[((n * g->C + c) * g->H + yy) * g->W + xx];
                            }
                    out[((n * g->OC + o) * oh + y) * ow + x] = s;
                }
}

static void pool_d(double *out, const double *in, int B, int C, int H, int W, int k)
{
    int oh = H / k, ow = W / k;
    for (int p = 0; p < B * C; p++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double m = in[((size_t)p * H + y * k) * W + x * k];
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                        m = fmax(m, in[((size_t)p * H + y * k + i) * W + x * k + j]);
                out[((size_t)p * oh + y) * ow + x] = m;
            }
}

static void embag_d(double *out, const int *tok, const double *table, int pad, int B, int T,
                    int E)
{
    for (int n = 0; n < B; n++) {
        int cnt = 0;
        for (int e = 0; e < E; e++)
            out[(size_t)n * E + e] = 0;
        for (int t = 0; t < T; t++)
            if (tok[n * T + t] != pad) {
                cnt++;
                for (int e = 0; e < E; e++)
                    out[(size_t)n * E + e] += table[(size_t)tok[n * T + t] * E + e];
            }
        for (int e = 0; e < E && cnt; e++)
            out[(size_t)n * E + e] /= cnt;
    }
}

/* the Forget-MI gate of METHODS.md 3.4 (see nn.h) */
static void fusion_d(double *J, const double *img, const double *txt, const double *w1,
                     const double *b1, const double *w2, const double *b2, const double *lnw,
                     const double *lnb, double eps, int B, int E)
{
    double *x = xmalloc(2 * (size_t)E * sizeof(double)), *z = xmalloc((size_t)E * sizeof(double));
    double *a = xmalloc((size_t)E * sizeof(double)), *h = xmalloc((size_t)E * sizeof(double));
    for (int n = 0; n < B; n++) {
        const double *i = img + (size_t)n * E, *t = txt + (size_t)n * E;
        for (int e = 0; e < E; e++) {
            x[e] = i[e];
            x[E + e] = t[e];
        }
        lin_d(z, x, w1, b1, 1, 2 * E, E);
        for (int e = 0; e < E; e++)
            x[E + e] = t[e] / (1 + exp(-z[e]));
        lin_d(a, x, w2, b2, 1, 2 * E, E);
        double ni = 0, na = 0;
        for (int e = 0; e < E; e++) {
            ni += i[e] * i[e];
            na += a[e] * a[e];
        }
        double s = fmin(sqrt(ni) / (sqrt(na) + 1e-6), 1.0), mu = 0, var = 0;
        for (int e = 0; e < E; e++) {
            h[e] = i[e] + s * a[e];
            mu += h[e] / E;
        }
        for (int e = 0; e < E; e++)
            var += (h[e] - mu) * (h[e] - mu) / E;
        for (int e = 0; e < E; e++)
            J[(size_t)n * E + e] = (h[e] - mu) / sqrt(var + eps) * lnw[e] + lnb[e];
    }
    free(x);
    free(z);
    free(a);
    free(h);
}

static double ce_d(const double *z, const int *y, const float *w, int B, int K)
{
    double tot = 0;
    for (int n = 0; n < B; n++) {
        double m = z[(size_t)n * K], s = 0;
        for (int k = 1; k < K; k++)
            m = fmax(m, z[(size_t)n * K + k]);
        for (int k = 0; k < K; k++)
            s += exp(z[(size_t)n * K + k] - m);
        tot += (w ? w[n] : 1.0) * (m + log(s) - z[(size_t)n * K + y[n]]);
    }
    return tot / B;
}

static double dot_d(const float *r, const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += r[i] * v[i];
    return s;
}

/* ---- layer gradient checks ------------------------------------------------------------------ */

struct lin_ctx {
    double *in, *w, *b, *out;
    const float *R;
    int B, IC, OC;
};

static double lin_loss(void *p)
{
    struct lin_ctx *c = p;
    lin_d(c->out, c->in, c->w, c->b, c->B, c->IC, c->OC);
    return dot_d(c->R, c->out, (size_t)c->B * c->OC);
}

static void test_linear_grad(void)
{
    int B = 3, IC = 7, OC = 5;
    float *in = rand_floats((size_t)B * IC, -1, 1), *w = rand_floats((size_t)OC * IC, -1, 1);
    float *b = rand_floats(OC, -1, 1), *R = rand_floats((size_t)B * OC, -1, 1);
    float *out = zeros((size_t)B * OC), *din = zeros((size_t)B * IC);
    float *dw = zeros((size_t)OC * IC), *db = zeros(OC);
    struct lin_ctx c = {to_double(in, (size_t)B * IC), to_double(w, (size_t)OC * IC),
                        to_double(b, OC), xmalloc((size_t)B * OC * sizeof(double)), R, B, IC, OC};
    clf_linear_forward(out, in, w, b, B, IC, OC);
    lin_loss(&c);
    check_close("linear out", out, c.out, (size_t)B * OC, 1e-5, 1e-5);
    /* accumulation: a backward adds to what is there */
    dw[0] = 1.0f;
    clf_linear_backward(din, dw, db, R, in, w, B, IC, OC);
    dw[0] -= 1.0f;
    fd_check("linear dinp", c.in, (size_t)B * IC, din, lin_loss, &c, 1e-5, 1e-4);
    fd_check("linear dweight", c.w, (size_t)OC * IC, dw, lin_loss, &c, 1e-5, 1e-4);
    fd_check("linear dbias", c.b, OC, db, lin_loss, &c, 1e-5, 1e-4);
    /* NULL gradients are skipped; no bias */
    memset(din, 0, (size_t)B * IC * sizeof(float));
    clf_linear_backward(din, NULL, NULL, R, in, w, B, IC, OC);
    clf_linear_forward(out, in, w, NULL, B, IC, OC);
    CHECK_NEAR(out[0], c.out[0] - c.b[0], 1e-5);
    free(in), free(w), free(b), free(R), free(out), free(din), free(dw), free(db);
    free(c.in), free(c.w), free(c.b), free(c.out);
}

/* The fused hidden layer against clf_linear_* then clf_relu_*: the same bits, at a size that
 * splits over threads (B * OC above the kernels' parallel threshold). */
static void test_linear_relu_fused(void)
{
    struct nn_rng saved = rng; /* the later tests keep their data */
    int B = 64, IC = 300, OC = 2100;
    size_t ni = (size_t)B * IC, no = (size_t)B * OC, nw = (size_t)OC * IC;
    float *in = rand_floats(ni, -1, 1), *w = rand_floats(nw, -0.1, 0.1);
    float *b = rand_floats(OC, -0.5, 0.5), *scale = rand_floats(OC, 0, 2);
    float *dout = rand_floats(no, -1, 1), *seed = rand_floats(nw, -1, 1);
    float *out = zeros(no), *ref = zeros(no), *dpre = zeros(no), *dref = zeros(no);
    float *din = rand_floats(ni, 5, 6), *din_r = zeros(ni);
    float *dw = xmalloc(nw * sizeof(float)), *dw_r = xmalloc(nw * sizeof(float));
    float *db = zeros(OC), *db_r = zeros(OC);
    for (int pass = 0; pass < 3; pass++) {
        const float *sc = pass == 1 ? scale : NULL, *bias = pass == 2 ? NULL : b;
        clf_linear_relu_forward(out, in, w, bias, sc, B, IC, OC);
        clf_linear_forward(ref, in, w, bias, B, IC, OC);
        clf_relu_forward(ref, ref, sc, B, OC, 1);
        CHECK(memcmp(out, ref, no * sizeof(float)) == 0);
        /* backward: dpre and dinp overwritten (din holds junk), dweight and dbias accumulate */
        memcpy(dw, seed, nw * sizeof(float));
        memcpy(dw_r, seed, nw * sizeof(float));
        for (int j = 0; j < OC; j++)
            db[j] = db_r[j] = (float)j;
        clf_linear_relu_backward(din, dw, db, dpre, dout, out, sc, in, w, B, IC, OC);
        memset(dref, 0, no * sizeof(float));
        memset(din_r, 0, ni * sizeof(float));
        clf_relu_backward(dref, dout, ref, sc, B, OC, 1);
        clf_linear_backward(din_r, dw_r, db_r, dref, in, w, B, IC, OC);
        check_close_f("fused dpre", dpre, dref, no, 0, 0);
        check_close_f("fused dinp", din, din_r, ni, 0, 0);
        check_close_f("fused dweight", dw, dw_r, nw, 0, 0);
        check_close_f("fused dbias", db, db_r, OC, 0, 0);
    }
    /* out NULL: a plain linear layer; dinp still overwritten */
    for (int j = 0; j < OC; j++)
        db[j] = db_r[j] = 0.0f;
    memset(din_r, 0, ni * sizeof(float));
    clf_linear_relu_backward(din, NULL, db, NULL, dout, NULL, NULL, in, w, B, IC, OC);
    clf_linear_backward(din_r, NULL, db_r, dout, in, w, B, IC, OC);
    check_close_f("linear dinp", din, din_r, ni, 0, 0);
    check_close_f("linear dbias", db, db_r, OC, 0, 0);
    free(in), free(w), free(b), free(scale), free(dout), free(seed), free(out), free(ref);
    free(dpre), free(dref), free(din), free(din_r), free(dw), free(dw_r), free(db), free(db_r);
    rng = saved;
}

/* The product into a fused layer below (ReLU and bias gradient in the product's epilogue)
 * against the separate kernels, the same bits; and the same bits at one thread. */
static void input_backward_case(int B, int IC, int OC)
{
    size_t ni = (size_t)B * IC, no = (size_t)B * OC, nw = (size_t)OC * IC;
    float *z = rand_floats(ni, -1, 1), *bz = rand_floats(IC, -0.2, 0.2);
    float *scale = rand_floats(IC, 0, 2), *w = rand_floats(nw, -0.1, 0.1);
    float *dout = rand_floats(no, -1, 1), *act = zeros(ni);
    float *dpre = zeros(ni), *dref = zeros(ni), *dinp = zeros(ni), *dpre1 = zeros(ni);
    float *dw = zeros(nw), *dw_r = zeros(nw), *dw1 = zeros(nw);
    float *db = zeros(OC), *db_r = zeros(OC), *dbi = zeros(IC), *dbi_r = zeros(IC);
    float *dbi1 = zeros(IC);
    double tol = 0;
    for (int pass = 0; pass < 2; pass++) {
        const float *sc = pass ? scale : NULL;
        memcpy(act, z, ni * sizeof(float));
        clf_relu_forward(act, act, sc, B, IC, 1);
        clf_linear_relu_input_backward(dpre, dbi, dw, db, dout, act, sc, w, B, IC, OC);
        memset(dinp, 0, ni * sizeof(float));
        memset(dref, 0, ni * sizeof(float));
        clf_linear_backward(dinp, dw_r, db_r, dout, act, w, B, IC, OC);
        clf_relu_backward(dref, dinp, act, sc, B, IC, 1);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < IC; i++)
                dbi_r[i] += dref[(size_t)b * IC + i];
        check_close_f("input backward dpre", dpre, dref, ni, tol, tol);
        check_close_f("input backward dweight", dw, dw_r, nw, tol, tol);
        check_close_f("input backward dbias", db, db_r, OC, 0, 0);
        check_close_f("input backward dbias below", dbi, dbi_r, IC, 1e-5, 1e-5);
    }
    /* one thread gives the same bits */
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    memset(dbi1, 0, IC * sizeof(float));
    memset(dbi, 0, IC * sizeof(float));
    memset(dw1, 0, nw * sizeof(float));
    memset(dw, 0, nw * sizeof(float));
    clf_linear_relu_input_backward(dpre1, dbi1, dw1, NULL, dout, act, scale, w, B, IC, OC);
    omp_set_num_threads(nt);
    clf_linear_relu_input_backward(dpre, dbi, dw, NULL, dout, act, scale, w, B, IC, OC);
    CHECK(memcmp(dpre, dpre1, ni * sizeof(float)) == 0);
    CHECK(memcmp(dw, dw1, nw * sizeof(float)) == 0);
    CHECK(memcmp(dbi, dbi1, IC * sizeof(float)) == 0);
    free(z), free(bz), free(scale), free(w), free(dout), free(act), free(dpre), free(dref);
    free(dinp), free(dpre1), free(dw), free(dw_r), free(dw1), free(db), free(db_r), free(dbi);
    free(dbi_r), free(dbi1);
}

static void test_linear_input_backward(void)
{
    struct nn_rng saved = rng; /* the later tests keep their data */
    input_backward_case(64, 2100, 300);
    input_backward_case(256, 1000, 10);
    input_backward_case(3, 5, 2);
    rng = saved;
}

struct relu_ctx {
    double *in, *out;
    const float *R, *scale;
    int B, U, S;
};

static double relu_loss(void *p)
{
    struct relu_ctx *c = p;
    size_t n = (size_t)c->B * c->U * c->S;
    memcpy(c->out, c->in, n * sizeof(double));
    relu_d(c->out, c->scale, c->B, c->U, c->S);
    return dot_d(c->R, c->out, n);
}

static void test_relu_grad(void)
{
    int B = 2, U = 3, S = 4;
    size_t n = (size_t)B * U * S;
    float scale[3] = {1.0f, 0.5f, 0.0f};
    float *in = rand_floats(n, -1, 1), *R = rand_floats(n, -1, 1);
    for (size_t i = 0; i < n; i++) /* keep away from the kink */
        if (fabsf(in[i]) < 0.05f)
            in[i] = 0.3f;
    float *out = zeros(n), *din = zeros(n);
    struct relu_ctx c = {to_double(in, n), xmalloc(n * sizeof(double)), R, scale, B, U, S};
    for (int pass = 0; pass < 2; pass++) {
        c.scale = pass ? scale : NULL;
        clf_relu_forward(out, in, c.scale, B, U, S);
        relu_loss(&c);
        check_close("relu out", out, c.out, n, 0, 0);
        memset(din, 0, n * sizeof(float));
        clf_relu_backward(din, R, out, c.scale, B, U, S);
        fd_check("relu dinp", c.in, n, din, relu_loss, &c, 1e-6, 1e-5);
    }
    /* in place */
    memcpy(out, in, n * sizeof(float));
    clf_relu_forward(out, out, scale, B, U, S);
    check_close("relu in place", out, c.out, n, 0, 0);
    free(in), free(R), free(out), free(din), free(c.in), free(c.out);
}

struct conv_ctx {
    double *in, *w, *b, *out;
    const float *R;
    struct clf_conv_geom g;
};

static double conv_loss(void *p)
{
    struct conv_ctx *c = p;
    conv_d(c->out, c->in, c->w, c->b, &c->g);
    return dot_d(c->R, c->out, clf_conv2d_work_floats(&c->g));
}

static void conv_case(struct clf_conv_geom g)
{
    size_t nin = (size_t)g.B * g.C * g.H * g.W, nw = (size_t)g.OC * g.C * g.K * g.K;
    size_t nout = clf_conv2d_work_floats(&g), ncol = clf_conv2d_col_floats(&g);
    float *in = rand_floats(nin, -1, 1), *w = rand_floats(nw, -1, 1), *b = rand_floats(g.OC, -1, 1);
    float *R = rand_floats(nout, -1, 1), *out = zeros(nout), *out_ref = zeros(nout);
    float *col = zeros(ncol), *dcol = zeros(ncol), *work = zeros(nout);
    float *din = zeros(nin), *dw = zeros(nw), *db = zeros(g.OC);
    float *din_r = zeros(nin), *dw_r = zeros(nw), *db_r = zeros(g.OC);
    struct conv_ctx c = {to_double(in, nin), to_double(w, nw), to_double(b, g.OC),
                         xmalloc(nout * sizeof(double)), R, g};
    clf_conv2d_forward(out, col, work, in, w, b, &g);
    clf_conv2d_forward_ref(out_ref, in, w, b, &g);
    conv_loss(&c);
    check_close("conv out", out, c.out, nout, 1e-5, 1e-5);
    check_close("conv_ref out", out_ref, c.out, nout, 1e-5, 1e-5);
    clf_conv2d_backward(din, dw, db, dcol, work, R, col, w, &g);
    clf_conv2d_backward_ref(din_r, dw_r, db_r, R, in, w, &g);
    fd_check("conv dinp", c.in, nin, din, conv_loss, &c, 1e-5, 1e-4);
    fd_check("conv dweight", c.w, nw, dw, conv_loss, &c, 1e-5, 1e-4);
    fd_check("conv dbias", c.b, g.OC, db, conv_loss, &c, 1e-5, 1e-4);
    check_close_f("conv_ref dinp", din_r, din, nin, 1e-5, 1e-4);
    check_close_f("conv_ref dweight", dw_r, dw, nw, 1e-5, 1e-4);
    check_close_f("conv_ref dbias", db_r, db, g.OC, 1e-5, 1e-4);
    /* a second backward accumulates */
    clf_conv2d_backward(din, NULL, NULL, dcol, work, R, col, w, &g);
    for (size_t i = 0; i < nin; i++)
        din_r[i] *= 2;
    check_close_f("conv dinp accumulates", din, din_r, nin, 1e-5, 1e-4);
    free(in), free(w), free(b), free(R), free(out), free(out_ref), free(col), free(dcol);
    free(work), free(din), free(dw), free(db), free(din_r), free(dw_r), free(db_r);
    free(c.in), free(c.w), free(c.b), free(c.out);
}

static void test_conv_grad(void)
{
    conv_case((struct clf_conv_geom){.B = 2, .C = 2, .H = 5, .W = 6, .OC = 3, .K = 3, .stride = 1,
                                     .pad = 1});
    conv_case((struct clf_conv_geom){.B = 1, .C = 3, .H = 7, .W = 7, .OC = 2, .K = 5, .stride = 1,
                                     .pad = 2});
    conv_case((struct clf_conv_geom){.B = 2, .C = 1, .H = 6, .W = 5, .OC = 2, .K = 3, .stride = 1,
                                     .pad = 0});
    conv_case((struct clf_conv_geom){.B = 2, .C = 2, .H = 9, .W = 8, .OC = 3, .K = 4, .stride = 2,
                                     .pad = 1});
}

/* fast and _ref convolutions on a larger, batched case (sgemm path with OpenMP) */
static void test_conv_fast_vs_ref(void)
{
    struct clf_conv_geom g = {.B = 8, .C = 4, .H = 14, .W = 13, .OC = 6, .K = 5, .stride = 1,
                              .pad = 2};
    size_t nin = (size_t)g.B * g.C * g.H * g.W, nw = (size_t)g.OC * g.C * g.K * g.K;
    size_t nout = clf_conv2d_work_floats(&g), ncol = clf_conv2d_col_floats(&g);
    float *in = rand_floats(nin, -1, 1), *w = rand_floats(nw, -1, 1), *b = rand_floats(g.OC, -1, 1);
    float *R = rand_floats(nout, -1, 1), *out = zeros(nout), *out_r = zeros(nout);
    float *col = zeros(ncol), *dcol = zeros(ncol), *work = zeros(nout);
    float *din = zeros(nin), *dw = zeros(nw), *db = zeros(g.OC);
    float *din_r = zeros(nin), *dw_r = zeros(nw), *db_r = zeros(g.OC);
    clf_conv2d_forward(out, col, work, in, w, b, &g);
    clf_conv2d_forward_ref(out_r, in, w, b, &g);
    check_close_f("conv fast vs ref", out, out_r, nout, 1e-4, 1e-4);
    clf_conv2d_backward(din, dw, db, dcol, work, R, col, w, &g);
    clf_conv2d_backward_ref(din_r, dw_r, db_r, R, in, w, &g);
    check_close_f("conv dinp fast vs ref", din, din_r, nin, 1e-4, 1e-4);
    check_close_f("conv dweight fast vs ref", dw, dw_r, nw, 1e-3, 1e-4);
    check_close_f("conv dbias fast vs ref", db, db_r, g.OC, 1e-3, 1e-4);
    free(in), free(w), free(b), free(R), free(out), free(out_r), free(col), free(dcol);
    free(work), free(din), free(dw), free(db), free(din_r), free(dw_r), free(db_r);
}

struct pool_ctx {
    double *in, *out;
    const float *R;
    int B, C, H, W, k;
};

static double pool_loss(void *p)
{
    struct pool_ctx *c = p;
    pool_d(c->out, c->in, c->B, c->C, c->H, c->W, c->k);
    return dot_d(c->R, c->out, (size_t)c->B * c->C * (c->H / c->k) * (c->W / c->k));
}

static void test_maxpool_grad(void)
{
    int B = 2, C = 3, H = 5, W = 7, k = 2; /* odd sizes: the last row and column are dropped */
    size_t nin = (size_t)B * C * H * W, nout = (size_t)B * C * (H / k) * (W / k);
    float *in = rand_floats(nin, -1, 1), *R = rand_floats(nout, -1, 1);
    float *out = zeros(nout), *out_r = zeros(nout), *din = zeros(nin), *din_r = zeros(nin);
    int *am = xcalloc(nout, sizeof(int));
    struct pool_ctx c = {to_double(in, nin), xmalloc(nout * sizeof(double)), R, B, C, H, W, k};
    clf_maxpool2d_forward(out, am, in, B, C, H, W, k);
    clf_maxpool2d_forward_ref(out_r, in, B, C, H, W, k);
    pool_loss(&c);
    check_close("maxpool out", out, c.out, nout, 0, 0);
    check_close("maxpool_ref out", out_r, c.out, nout, 0, 0);
    clf_maxpool2d_backward(din, R, am, B, C, H, W, k);
    clf_maxpool2d_backward_ref(din_r, R, in, B, C, H, W, k);
    fd_check("maxpool dinp", c.in, nin, din, pool_loss, &c, 1e-6, 1e-5);
    check_close_f("maxpool_ref dinp", din_r, din, nin, 0, 0);
    /* ties: the first maximum in row-major order takes the gradient, in both kernels */
    float tie[8] = {1, 3, 2, 0, 3, 3, 3, 1}; /* (1, 1, 2, 4): windows {1,3,3,3}, {2,0,3,1} */
    float dy[2] = {5, 7}, y[2], dx[8] = {0}, dx_r[8] = {0};
    int tam[2];
    clf_maxpool2d_forward(y, tam, tie, 1, 1, 2, 4, 2);
    CHECK(y[0] == 3 && y[1] == 3);
    CHECK_EQ_INT(tam[0], 1);
    CHECK_EQ_INT(tam[1], 6);
    clf_maxpool2d_backward(dx, dy, tam, 1, 1, 2, 4, 2);
    clf_maxpool2d_backward_ref(dx_r, dy, tie, 1, 1, 2, 4, 2);
    float want[8] = {0, 5, 0, 0, 0, 0, 7, 0};
    for (int i = 0; i < 8; i++) {
        CHECK(dx[i] == want[i]);
        CHECK(dx_r[i] == want[i]);
    }
    free(in), free(R), free(out), free(out_r), free(din), free(din_r), free(am);
    free(c.in), free(c.out);
}

struct embag_ctx {
    double *table, *out;
    const int *tok;
    const float *R;
    int pad, B, T, E;
};

static double embag_loss(void *p)
{
    struct embag_ctx *c = p;
    embag_d(c->out, c->tok, c->table, c->pad, c->B, c->T, c->E);
    return dot_d(c->R, c->out, (size_t)c->B * c->E);
}

static void test_embag_grad(void)
{
    int B = 4, T = 5, V = 6, E = 3, pad = 2;
    int tok[20] = {0, 1, 2, 2, 2,    /* two real tokens then padding */
                   3, 3, 5, 1, 0,    /* a repeated token */
                   2, 2, 2, 2, 2,    /* padding only: zero embedding, no gradient */
                   4, 2, 4, 2, 5};   /* padding in the middle */
    float *table = rand_floats((size_t)V * E, -1, 1), *R = rand_floats((size_t)B * E, -1, 1);
    float *out = zeros((size_t)B * E), *dt = zeros((size_t)V * E);
    struct embag_ctx c = {to_double(table, (size_t)V * E), xmalloc((size_t)B * E * sizeof(double)),
                          tok, R, pad, B, T, E};
    clf_embag_forward(out, tok, table, pad, B, T, V, E);
    embag_loss(&c);
    check_close("embag out", out, c.out, (size_t)B * E, 1e-6, 1e-6);
    for (int e = 0; e < E; e++)
        CHECK(out[2 * E + e] == 0.0f);
    clf_embag_backward(dt, R, tok, pad, B, T, V, E);
    fd_check("embag dtable", c.table, (size_t)V * E, dt, embag_loss, &c, 1e-6, 1e-5);
    for (int e = 0; e < E; e++)
        CHECK(dt[pad * E + e] == 0.0f);
    /* no padding id */
    clf_embag_forward(out, tok, table, -1, B, T, V, E);
    c.pad = -1;
    embag_loss(&c);
    check_close("embag out, no pad", out, c.out, (size_t)B * E, 1e-6, 1e-6);
    free(table), free(R), free(out), free(dt), free(c.table), free(c.out);
}

struct fusion_ctx {
    double *img, *txt, *w1, *b1, *w2, *b2, *lnw, *lnb, *J;
    const float *R;
    int B, E;
};

static double fusion_loss(void *p)
{
    struct fusion_ctx *c = p;
    fusion_d(c->J, c->img, c->txt, c->w1, c->b1, c->w2, c->b2, c->lnw, c->lnb, 1e-5, c->B, c->E);
    return dot_d(c->R, c->J, (size_t)c->B * c->E);
}

static void test_fusion_grad(void)
{
    int B = 4, E = 5;
    size_t be = (size_t)B * E, ww = (size_t)E * 2 * E;
    float *img = rand_floats(be, -1, 1), *txt = rand_floats(be, -1, 1);
    for (int e = 0; e < E; e++) { /* sample 1: a small image embedding (s < 1); 3: large */
        img[E + e] *= 0.05f;
        img[3 * E + e] *= 6.0f;
    }
    float *w1 = rand_floats(ww, -0.5, 0.5), *b1 = rand_floats(E, -0.5, 0.5);
    float *w2 = rand_floats(ww, -0.5, 0.5), *b2 = rand_floats(E, -0.5, 0.5);
    float *lnw = rand_floats(E, 0.5, 1.5), *lnb = rand_floats(E, -0.5, 0.5);
    float *R = rand_floats(be, -1, 1), *J = zeros(be);
    float *mem = zeros(clf_fusion_floats(B, E));
    struct clf_fusion_buf fb;
    clf_fusion_bind(&fb, mem, B, E);
    struct clf_fusion_weights wt = {w1, b1, w2, b2, lnw, lnb};
    float *di = zeros(be), *dt = zeros(be), *dw1 = zeros(ww), *db1 = zeros(E), *dw2 = zeros(ww);
    float *db2 = zeros(E), *dlnw = zeros(E), *dlnb = zeros(E);
    struct clf_fusion_grads dw = {dw1, db1, dw2, db2, dlnw, dlnb};
    struct fusion_ctx c = {to_double(img, be), to_double(txt, be), to_double(w1, ww),
                           to_double(b1, E), to_double(w2, ww), to_double(b2, E),
                           to_double(lnw, E), to_double(lnb, E), xmalloc(be * sizeof(double)), R,
                           B, E};
    clf_fusion_forward(J, &fb, img, txt, &wt, 1e-5f, B, E);
    fusion_loss(&c);
    check_close("fusion J", J, c.J, be, 1e-5, 1e-5);
    int below = 0, capped = 0;
    for (int b = 0; b < B; b++) {
        below += fb.s[b] < 1.0f;
        capped += fb.s[b] == 1.0f;
    }
    CHECK(below > 0 && capped > 0); /* both branches of the min are exercised */
    clf_fusion_backward(di, dt, &dw, &fb, R, img, txt, &wt, B, E);
    fd_check("fusion dimg", c.img, be, di, fusion_loss, &c, 1e-5, 1e-4);
    fd_check("fusion dtxt", c.txt, be, dt, fusion_loss, &c, 1e-5, 1e-4);
    fd_check("fusion dw1", c.w1, ww, dw1, fusion_loss, &c, 1e-5, 1e-4);
    fd_check("fusion db1", c.b1, E, db1, fusion_loss, &c, 1e-5, 1e-4);
    fd_check("fusion dw2", c.w2, ww, dw2, fusion_loss, &c, 1e-5, 1e-4);
    fd_check("fusion db2", c.b2, E, db2, fusion_loss, &c, 1e-5, 1e-4);
    fd_check("fusion dln_w", c.lnw, E, dlnw, fusion_loss, &c, 1e-5, 1e-4);
    fd_check("fusion dln_b", c.lnb, E, dlnb, fusion_loss, &c, 1e-5, 1e-4);
    free(img), free(txt), free(w1), free(b1), free(w2), free(b2), free(lnw), free(lnb);
    free(R), free(J), free(mem), free(di), free(dt), free(dw1), free(db1), free(dw2), free(db2);
    free(dlnw), free(dlnb);
    free(c.img), free(c.txt), free(c.w1), free(c.b1), free(c.w2), free(c.b2), free(c.lnw);
    free(c.lnb), free(c.J);
}

static void test_cross_entropy(void)
{
    /* logits (2, 1, 0), label 1: loss = log(e^2 + e + 1) - 1 = 1.4076059644 */
    float z[6] = {2, 1, 0, 0, 0, 0}, d[6], p[6], l[2], w[2] = {1.0f, 3.0f};
    int y[2] = {1, 2}, pred[2];
    double loss = clf_cross_entropy(d, l, z, y, NULL, 2, 3);
    CHECK_NEAR(l[0], 1.4076059644, 1e-6);
    CHECK_NEAR(l[1], log(3.0), 1e-6);
    CHECK_NEAR(loss, (1.4076059644 + log(3.0)) / 2, 1e-6);
    clf_softmax(p, z, 2, 3);
    CHECK_NEAR(p[0], exp(2.0) / (exp(2.0) + exp(1.0) + 1), 1e-7);
    CHECK_NEAR(d[1], (p[1] - 1) / 2, 1e-7);
    CHECK_NEAR(d[5], (p[5] - 1) / 2, 1e-7);
    loss = clf_cross_entropy(d, NULL, z, y, w, 2, 3);
    CHECK_NEAR(loss, (1.4076059644 + 3 * log(3.0)) / 2, 1e-6);
    CHECK_NEAR(d[3], 3 * p[3] / 2, 1e-7);
    clf_argmax(pred, z, 2, 3);
    CHECK_EQ_INT(pred[0], 0);
    CHECK_EQ_INT(pred[1], 0); /* ties: the lowest class */
    /* large logits stay finite */
    float big[3] = {1000, -1000, 999};
    int yb = 2;
    CHECK_NEAR(clf_cross_entropy(NULL, NULL, big, &yb, NULL, 1, 3), log(1 + exp(-1.0)) + 1, 1e-5);
}

/* ---- whole models --------------------------------------------------------------------------- */

struct model_ctx {
    struct clf *m;
    double *theta;              /* a double copy of the parameters */
    double *x;
    const int *tokens, *y;
    int B, T;
    const float *scale[CLF_MAX_LAYERS * 2];
    const float *Ri, *Rt, *RJ;  /* injected-gradient coefficients (multimodal) */
};

static const double *tensor_d(const struct model_ctx *c, const char *name)
{
    const struct nn_tensor *t = nn_params_find(clf_params(c->m), name);
    LETHE_ASSERT(t);
    return c->theta + t->offset;
}

/* The model in double from the config and the parameter names alone. */
static double model_loss(void *p)
{
    struct model_ctx *c = p;
    const struct clf_config *cfg = clf_cfg(c->m);
    int mm = cfg->arch == CLF_MULTIMODAL, B = c->B;
    const char *pre = mm ? "img." : "";
    char name[128];
    int ch = cfg->in_c, h = cfg->in_h, w = cfg->in_w, hidden = 0;
    size_t n = (size_t)ch * h * w;
    double *cur = xmalloc((size_t)B * n * sizeof(double));
    memcpy(cur, c->x, (size_t)B * n * sizeof(double));
    for (int l = 0; l < cfg->n_conv; l++) {
        struct clf_conv_geom g = {B, ch, h, w, cfg->conv_ch[l], cfg->kernel, 1, cfg->padding};
        int oh = h + 2 * cfg->padding - cfg->kernel + 1, ow = w + 2 * cfg->padding - cfg->kernel + 1;
        double *o = xmalloc((size_t)B * g.OC * oh * ow * sizeof(double));
        snprintf(name, sizeof(name), "%sconv.%d.weight", pre, l);
        const double *W = tensor_d(c, name);
        snprintf(name, sizeof(name), "%sconv.%d.bias", pre, l);
        conv_d(o, cur, W, tensor_d(c, name), &g);
        relu_d(o, c->scale[hidden++], B, g.OC, oh * ow);
        free(cur);
        cur = xmalloc((size_t)B * g.OC * (oh / 2) * (ow / 2) * sizeof(double));
        pool_d(cur, o, B, g.OC, oh, ow, 2);
        free(o);
        ch = g.OC;
        h = oh / 2;
        w = ow / 2;
    }
    int in = ch * h * w;
    for (int j = 0; j <= cfg->n_fc; j++) {
        int out = j < cfg->n_fc ? cfg->fc[j] : mm ? cfg->embd : cfg->n_classes;
        double *o = xmalloc((size_t)B * out * sizeof(double));
        snprintf(name, sizeof(name), "%sfc.%d.weight", pre, j);
        const double *W = tensor_d(c, name);
        snprintf(name, sizeof(name), "%sfc.%d.bias", pre, j);
        lin_d(o, cur, W, tensor_d(c, name), B, in, out);
        if (j < cfg->n_fc)
            relu_d(o, c->scale[hidden++], B, out, 1);
        free(cur);
        cur = o;
        in = out;
    }
    double loss;
    if (mm) {
        int E = cfg->embd;
        double *t = xmalloc((size_t)B * E * sizeof(double)), *J = xmalloc((size_t)B * E * sizeof(double));
        double *z = xmalloc((size_t)B * cfg->n_classes * sizeof(double));
        embag_d(t, c->tokens, tensor_d(c, "txt.embed.weight"), cfg->pad_id, B, c->T, E);
        fusion_d(J, cur, t, tensor_d(c, "fuse.gate.weight"), tensor_d(c, "fuse.gate.bias"),
                 tensor_d(c, "fuse.proj.weight"), tensor_d(c, "fuse.proj.bias"),
                 tensor_d(c, "fuse.ln.weight"), tensor_d(c, "fuse.ln.bias"), cfg->ln_eps, B, E);
        lin_d(z, J, tensor_d(c, "head.weight"), tensor_d(c, "head.bias"), B, E, cfg->n_classes);
        loss = ce_d(z, c->y, NULL, B, cfg->n_classes);
        if (c->Ri)
            loss += dot_d(c->Ri, cur, (size_t)B * E) + dot_d(c->Rt, t, (size_t)B * E) +
                    dot_d(c->RJ, J, (size_t)B * E);
        free(t), free(J), free(z);
    } else {
        loss = ce_d(cur, c->y, NULL, B, cfg->n_classes);
    }
    free(cur);
    return loss;
}

/* forward + backward of the engine and finite differences of the double model, every tensor */
static void model_check(const char *what, struct model_ctx *c, const float *x)
{
    struct clf *m = c->m;
    struct nn_params *p = clf_params(m);
    const struct clf_config *cfg = clf_cfg(m);
    int K = cfg->n_classes, B = c->B;
    size_t be = (size_t)B * cfg->embd;
    float *dlogits = zeros((size_t)B * K);
    clf_forward(m, x, c->tokens, B, c->T);
    double loss = clf_cross_entropy(dlogits, NULL, clf_logits(m), c->y, NULL, B, K);
    c->theta = to_double(p->data, p->n);
    double loss_d = model_loss(c);
    if (c->Ri) {
        clf_inject_embedding_grad(m, CLF_EMB_IMAGE, c->Ri);
        clf_inject_embedding_grad(m, CLF_EMB_TEXT, c->Rt);
        clf_inject_embedding_grad(m, CLF_EMB_FUSED, c->RJ);
        double *ei = to_double(clf_embedding(m, CLF_EMB_IMAGE), be);
        double *et = to_double(clf_embedding(m, CLF_EMB_TEXT), be);
        double *eJ = to_double(clf_embedding(m, CLF_EMB_FUSED), be);
        loss += dot_d(c->Ri, ei, be) + dot_d(c->Rt, et, be) + dot_d(c->RJ, eJ, be);
        free(ei), free(et), free(eJ);
    }
    CHECK_NEAR(loss, loss_d, 1e-5 * (1 + fabs(loss_d)));
    nn_params_alloc_grad(p);
    nn_params_zero_grad(p);
    clf_backward(m, dlogits);
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        char label[160];
        snprintf(label, sizeof(label), "%s %s", what, t->name);
        if (t->frozen) {
            int zero = 1;
            for (size_t k = 0; k < t->numel; k++)
                zero &= p->grad[t->offset + k] == 0.0f;
            CHECK(zero);
            continue;
        }
        fd_check(label, c->theta + t->offset, t->numel, p->grad + t->offset, model_loss, c, 1e-5,
                 1e-4);
    }
    free(c->theta);
    c->theta = NULL;
    free(dlogits);
}

static void test_mlp_grad(void)
{
    struct clf_config cfg = {.arch = CLF_MLP, .in_c = 1, .in_h = 3, .in_w = 4, .n_classes = 4,
                             .n_fc = 2, .fc = {7, 5}};
    CHECK(clf_config_check(&cfg) == NULL);
    struct clf *m = clf_new(&cfg, 11);
    int B = 5, y[5] = {0, 3, 1, 2, 3};
    float *x = rand_floats((size_t)B * 12, 0, 1);
    struct model_ctx c = {.m = m, .x = to_double(x, (size_t)B * 12), .y = y, .B = B};
    model_check("mlp", &c, x);
    /* a hidden-layer scale (FNN) and a frozen layer */
    float scale[7] = {1.0f, 0.5f, 0.0f, 2.0f, 0.25f, 1.0f, 0.9f};
    clf_set_hidden_scale(m, 0, scale);
    c.scale[0] = scale;
    CHECK_EQ_INT(nn_params_freeze(clf_params(m), "fc.1.*", 1), 2);
    model_check("mlp scaled, fc.1 frozen", &c, x);
    /* everything below the head frozen: only the head has a gradient */
    nn_params_freeze(clf_params(m), "fc.0.*", 1);
    model_check("mlp fc.0 and fc.1 frozen", &c, x);
    clf_free(m);
    free(x), free(c.x);
}

static void test_cnn_grad(void)
{
    struct clf_config cfg = {.arch = CLF_CNN, .in_c = 2, .in_h = 7, .in_w = 6, .n_classes = 3,
                             .n_conv = 2, .conv_ch = {3, 4}, .kernel = 3, .padding = 1,
                             .n_fc = 1, .fc = {5}};
    CHECK(clf_config_check(&cfg) == NULL);
    struct clf *m = clf_new(&cfg, 12);
    int B = 3, y[3] = {2, 0, 1};
    size_t n = (size_t)B * 2 * 7 * 6;
    float *x = rand_floats(n, 0, 1);
    struct model_ctx c = {.m = m, .x = to_double(x, n), .y = y, .B = B};
    model_check("cnn", &c, x);
    float s0[3] = {0.7f, 1.0f, 0.3f}, s2[5] = {1, 0.5f, 1, 0.1f, 2};
    clf_set_hidden_scale(m, 0, s0);
    clf_set_hidden_scale(m, 2, s2);
    c.scale[0] = s0;
    c.scale[2] = s2;
    model_check("cnn scaled", &c, x);
    clf_free(m);
    free(x), free(c.x);
    /* 5x5 kernel without padding, no hidden linear layer */
    struct clf_config k5 = {.arch = CLF_CNN, .in_c = 1, .in_h = 10, .in_w = 9, .n_classes = 3,
                            .n_conv = 1, .conv_ch = {2}, .kernel = 5, .padding = 0};
    CHECK(clf_config_check(&k5) == NULL);
    m = clf_new(&k5, 13);
    x = rand_floats((size_t)B * 90, 0, 1);
    struct model_ctx c5 = {.m = m, .x = to_double(x, (size_t)B * 90), .y = y, .B = B};
    model_check("cnn k5", &c5, x);
    clf_free(m);
    free(x), free(c5.x);
}

static void test_multimodal_grad(void)
{
    for (int conv = 0; conv < 2; conv++) {
        struct clf_config cfg = {.arch = CLF_MULTIMODAL, .in_c = 1, .in_h = 4, .in_w = 4,
                                 .n_classes = 3, .n_conv = conv, .conv_ch = {2}, .kernel = 3,
                                 .padding = 1, .n_fc = 1, .fc = {6}, .embd = 4, .vocab = 7,
                                 .pad_id = 0, .ln_eps = 1e-5f};
        CHECK(clf_config_check(&cfg) == NULL);
        struct clf *m = clf_new(&cfg, 14 + conv);
        int B = 4, T = 5, y[4] = {0, 2, 1, 1};
        int tok[20] = {1, 2, 0, 0, 0, 3, 3, 6, 5, 4, 0, 0, 0, 0, 0, 6, 0, 2, 0, 1};
        size_t n = (size_t)B * 16, be = (size_t)B * 4;
        float *x = rand_floats(n, 0, 1);
        for (int i = 16; i < 32; i++) /* one large image: both branches of s */
            x[i] *= 10;
        struct model_ctx c = {.m = m, .x = to_double(x, n), .tokens = tok, .y = y, .B = B, .T = T};
        model_check(conv ? "multimodal cnn" : "multimodal mlp", &c, x);
        float *Ri = rand_floats(be, -1, 1), *Rt = rand_floats(be, -1, 1), *RJ = rand_floats(be, -1, 1);
        c.Ri = Ri;
        c.Rt = Rt;
        c.RJ = RJ;
        model_check("multimodal with injected gradients", &c, x);
        CHECK_EQ_INT(nn_params_freeze(clf_params(m), "img.*", 1), conv ? 6 : 4);
        nn_params_freeze(clf_params(m), "txt.*", 1);
        model_check("multimodal, image and text frozen", &c, x);
        clf_free(m);
        free(x), free(c.x), free(Ri), free(Rt), free(RJ);
    }
}

/* only injected gradients (dlogits NULL): the head gets none */
static void test_multimodal_inject_only(void)
{
    struct clf_config cfg = clf_config_default(CLF_MULTIMODAL);
    cfg.in_h = cfg.in_w = 6;
    cfg.fc[0] = 8;
    cfg.embd = 5;
    cfg.vocab = 11;
    struct clf *m = clf_new(&cfg, 3);
    int B = 2, T = 3, tok[6] = {1, 4, 0, 10, 10, 2};
    float *x = rand_floats((size_t)B * 36, 0, 1), dJ[10];
    for (int i = 0; i < 10; i++)
        dJ[i] = 0.1f * (float)i;
    clf_forward(m, x, tok, B, T);
    CHECK(clf_embedding(m, CLF_EMB_TEXT) != NULL);
    struct nn_params *p = clf_params(m);
    nn_params_alloc_grad(p);
    nn_params_zero_grad(p);
    clf_inject_embedding_grad(m, CLF_EMB_FUSED, dJ);
    clf_backward(m, NULL);
    const struct nn_tensor *hw = nn_params_find(p, "head.weight");
    const struct nn_tensor *gw = nn_params_find(p, "fuse.gate.weight");
    double hs = 0, gs = 0;
    for (size_t i = 0; i < hw->numel; i++)
        hs += fabs(p->grad[hw->offset + i]);
    for (size_t i = 0; i < gw->numel; i++)
        gs += fabs(p->grad[gw->offset + i]);
    CHECK(hs == 0.0);
    CHECK(gs > 0.0);
    /* the injection is consumed: a second backward with nothing adds nothing */
    float *before = xmalloc(p->n * sizeof(float));
    memcpy(before, p->grad, p->n * sizeof(float));
    clf_forward(m, x, tok, B, T);
    clf_backward(m, NULL);
    CHECK(memcmp(before, p->grad, p->n * sizeof(float)) == 0);
    /* image-only models have no embeddings */
    struct clf_config mc = clf_config_default(CLF_MLP);
    struct clf *mlp = clf_new(&mc, 1);
    CHECK(clf_embedding(mlp, CLF_EMB_FUSED) == NULL);
    clf_free(mlp);
    clf_free(m);
    free(x), free(before);
}

/* ---- construction, init, determinism ---------------------------------------------------------- */

static void test_layout_and_init(void)
{
    struct clf_config cfg = clf_config_default(CLF_MLP);
    struct clf *m = clf_new(&cfg, 42);
    struct nn_params *p = clf_params(m);
    CHECK_EQ_INT(p->n_tensors, 6);
    const struct nn_tensor *w0 = nn_params_find(p, "fc.0.weight");
    CHECK(w0 && w0->shape[0] == 256 && w0->shape[1] == 784 && w0->kind == NN_T_LINEAR);
    const struct nn_tensor *b2 = nn_params_find(p, "fc.2.bias");
    CHECK(b2 && b2->shape[0] == 10 && b2->kind == NN_T_BIAS);
    /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases: bounds, mean, variance */
    double bound = 1 / sqrt(784.0), s = 0, s2 = 0, mx = 0;
    for (size_t i = 0; i < w0->numel; i++) {
        double v = p->data[w0->offset + i];
        s += v;
        s2 += v * v;
        mx = fmax(mx, fabs(v));
    }
    CHECK(mx <= bound && mx > 0.99 * bound);
    CHECK_NEAR(s / w0->numel, 0, 0.01 * bound);
    CHECK_NEAR(s2 / w0->numel, bound * bound / 3, 0.02 * bound * bound);
    const struct nn_tensor *b0 = nn_params_find(p, "fc.0.bias");
    mx = 0;
    for (size_t i = 0; i < b0->numel; i++)
        mx = fmax(mx, fabs(p->data[b0->offset + i]));
    CHECK(mx <= bound && mx > 0.9 * bound);
    /* same seed, same weights; another seed, others */
    struct clf *m2 = clf_new(&cfg, 42), *m3 = clf_new(&cfg, 43);

    CHECK(memcmp(p->data, clf_params(m2)->data, p->n * sizeof(float)) == 0);
    CHECK(memcmp(p->data, clf_params(m3)->data, p->n * sizeof(float)) != 0);
    clf_free(m2);
    clf_free(m3);
    clf_free(m);
    clf_free(NULL);

    struct clf_config cc = clf_config_default(CLF_CNN);
    m = clf_new(&cc, 1);
    p = clf_params(m);
    const struct nn_tensor *c1 = nn_params_find(p, "conv.1.weight");
    CHECK(c1 && c1->shape[0] == 32 && c1->shape[1] == 16 && c1->shape[2] == 5 &&
          c1->kind == NN_T_CONV);
    const struct nn_tensor *f0 = nn_params_find(p, "fc.0.weight");
    CHECK(f0 && f0->shape[0] == 10 && f0->shape[1] == 32 * 7 * 7);
    CHECK_EQ_INT(clf_n_hidden(m), 2);
    clf_free(m);

    struct clf_config mc = clf_config_default(CLF_MULTIMODAL);
    mc.vocab = 50;
    m = clf_new(&mc, 1);
    p = clf_params(m);
    const char *names[] = {"img.fc.0.weight", "img.fc.1.weight", "txt.embed.weight",
                           "fuse.gate.weight", "fuse.gate.bias", "fuse.proj.weight",
                           "fuse.proj.bias", "fuse.ln.weight", "fuse.ln.bias", "head.weight",
                           "head.bias"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        CHECK(nn_params_find(p, names[i]) != NULL);
    const struct nn_tensor *emb = nn_params_find(p, "txt.embed.weight");
    CHECK(emb->kind == NN_T_EMBED && emb->shape[0] == 50 && emb->shape[1] == 64);
    for (int e = 0; e < 64; e++) /* padding row 0 */
        CHECK(p->data[emb->offset + e] == 0.0f);
    const struct nn_tensor *lnw = nn_params_find(p, "fuse.ln.weight");
    CHECK(lnw->kind == NN_T_NORM && p->data[lnw->offset] == 1.0f);
    CHECK(nn_params_find(p, "fuse.ln.bias")->kind == NN_T_NORM);
    /* layout, from_params and clone */
    struct nn_params q = {0};
    clf_params_layout(&q, &mc);
    CHECK_EQ_INT(q.n_tensors, p->n_tensors);
    nn_params_alloc(&q);
    nn_params_copy(&q, p);
    q.tensors[3].frozen = 1;
    struct lethe_error err = {0};
    m2 = clf_from_params(&mc, &q, &err);
    CHECK(m2 != NULL);
    CHECK(q.data == NULL); /* taken */
    CHECK(memcmp(clf_params(m2)->data, p->data, p->n * sizeof(float)) == 0);
    CHECK_EQ_INT(clf_params(m2)->tensors[3].frozen, 1);
    m3 = clf_clone(m2);
    CHECK(memcmp(clf_params(m3)->data, p->data, p->n * sizeof(float)) == 0);
    CHECK_EQ_INT(clf_params(m3)->tensors[3].frozen, 1);
    clf_free(m3);
    clf_free(m2);
    /* a wrong shape, a missing and an unexpected tensor are refused, the table is left */
    struct clf_config other = mc;
    other.embd = 32;
    clf_params_layout(&q, &other);
    nn_params_alloc(&q);
    CHECK(clf_from_params(&mc, &q, &err) == NULL);
    CHECK_CONTAINS(err.msg, "wrong shape");
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK(q.data != NULL);
    nn_params_release(&q);
    struct clf_config mlp = clf_config_default(CLF_MLP);
    clf_params_layout(&q, &mlp);
    nn_params_alloc(&q);
    CHECK(clf_from_params(&mc, &q, &err) == NULL);
    CHECK_CONTAINS(err.msg, "unexpected tensor 'fc.0.weight'");
    nn_params_release(&q);
    int s1[1] = {10};
    nn_params_add(&q, "fc.2.bias", NN_T_BIAS, 1, s1);
    nn_params_alloc(&q);
    CHECK(clf_from_params(&mlp, &q, &err) == NULL);
    CHECK_CONTAINS(err.msg, "tensor 'fc.0.weight' is missing");
    nn_params_release(&q);
    clf_free(m);
}

static void test_config_check(void)
{
    struct clf_config ok = clf_config_default(CLF_CNN), c;
    CHECK(clf_config_check(&ok) == NULL);
    c = ok;
    c.n_classes = 1;
    CHECK_CONTAINS(clf_config_check(&c), "'n_classes'");
    c = ok;
    c.n_conv = 0;
    CHECK_CONTAINS(clf_config_check(&c), "'n_conv'");
    c = ok;
    c.padding = 5;
    CHECK_CONTAINS(clf_config_check(&c), "'padding'");
    c = ok;
    c.n_conv = 5; /* 28 -> 14 -> 7 -> 3 -> 1 -> 0 */
    for (int l = 0; l < 5; l++)
        c.conv_ch[l] = 2;
    CHECK_CONTAINS(clf_config_check(&c), "too small");
    c = ok;
    c.conv_ch[1] = 0;
    CHECK_CONTAINS(clf_config_check(&c), "'conv_ch'");
    c = clf_config_default(CLF_MLP);
    c.fc[1] = 0;
    CHECK_CONTAINS(clf_config_check(&c), "'fc'");
    c = clf_config_default(CLF_MLP);
    c.n_conv = 1;
    c.conv_ch[0] = 4;
    CHECK_CONTAINS(clf_config_check(&c), "mlp");
    c = clf_config_default(CLF_MULTIMODAL);
    CHECK_CONTAINS(clf_config_check(&c), "'vocab'");
    c.vocab = 10;
    CHECK(clf_config_check(&c) == NULL);
    c.pad_id = 10;
    CHECK_CONTAINS(clf_config_check(&c), "'pad_id'");
    c.pad_id = 0;
    c.ln_eps = 0;
    CHECK_CONTAINS(clf_config_check(&c), "'ln_eps'");
    c = ok;
    c.arch = CLF_ARCH_COUNT;
    CHECK_CONTAINS(clf_config_check(&c), "'arch'");
}

/* batch size changes (buffers grow) and repeated steps give the same numbers */
static void test_batches_and_determinism(void)
{
    struct clf_config cfg = {.arch = CLF_MULTIMODAL, .in_c = 1, .in_h = 8, .in_w = 8,
                             .n_classes = 4, .n_conv = 1, .conv_ch = {3}, .kernel = 3,
                             .padding = 1, .n_fc = 1, .fc = {10}, .embd = 6, .vocab = 20,
                             .pad_id = 0, .ln_eps = 1e-5f};
    float *x = rand_floats(9 * 64, 0, 1);
    int tok[9 * 4], y[9];
    for (int i = 0; i < 36; i++)
        tok[i] = (int)(nn_rng_next(&rng) % 20);
    for (int i = 0; i < 9; i++)
        y[i] = (int)(nn_rng_next(&rng) % 4);
    struct clf *m = clf_new(&cfg, 5);
    float small[2 * 4];
    clf_forward(m, x, tok, 2, 4);
    memcpy(small, clf_logits(m), sizeof(small));
    /* a larger batch gives the same logits up to rounding (OpenBLAS may block rows of a
     * 2-row and a 9-row product differently, so bits are not promised across batch sizes) */
    clf_forward(m, x, tok, 9, 4);
    for (int k = 0; k < 8; k++)
        CHECK_NEAR(small[k], clf_logits(m)[k], 1e-5);
    /* the same batch again gives the same bits */
    clf_forward(m, x, tok, 2, 4);
    CHECK(memcmp(small, clf_logits(m), sizeof(small)) == 0);
    /* one sample at a time gives the batch's logits */
    float batch[9 * 4], one[4];
    clf_forward(m, x, tok, 9, 4);
    memcpy(batch, clf_logits(m), sizeof(batch));
    for (int b = 0; b < 9; b++) {
        clf_forward(m, x + b * 64, tok + b * 4, 1, 4);
        memcpy(one, clf_logits(m), sizeof(one));
        for (int k = 0; k < 4; k++)
            CHECK_NEAR(one[k], batch[b * 4 + k], 1e-5);
    }
    clf_free(m);
    /* two trainings from the same seed agree bit for bit */
    float *final[2];
    size_t n_params = 0;
    for (int run = 0; run < 2; run++) {
        m = clf_new(&cfg, 77);
        struct nn_params *p = clf_params(m);
        struct adamw opt;
        adamw_init(&opt, p, NULL);
        float dl[9 * 4];
        for (int step = 0; step < 4; step++) {
            clf_forward(m, x, tok, 9, 4);
            clf_cross_entropy(dl, NULL, clf_logits(m), y, NULL, 9, 4);
            nn_params_alloc_grad(p);
            nn_params_zero_grad(p);
            clf_backward(m, dl);
            nn_clip_grad_norm(p, 1.0);
            adamw_step(&opt, p, 1e-2f);
        }
        n_params = p->n;
        final[run] = xmalloc(p->n * sizeof(float));
        memcpy(final[run], p->data, p->n * sizeof(float));
        adamw_release(&opt);
        clf_free(m);
    }
    CHECK(memcmp(final[0], final[1], n_params * sizeof(float)) == 0);
    free(final[0]), free(final[1]), free(x);
}

/* ---- PyTorch goldens --------------------------------------------------------------------------- */

static struct golden gold;
static int gold_ok;
static double gold_worst; /* largest |Lethe - PyTorch| since the last report */

static int gint(const struct golden_section *s, const char *key)
{
    const struct golden_item *it = golden_get(s, key);
    return it && it->n > 0 ? (int)it->v[0] : 0;
}

static void check_item(const char *what, const float *a, const struct golden_item *it, size_t n,
                       double tol)
{
    CHECK(it != NULL);
    if (!it)
        return;
    CHECK_EQ_INT(it->n, n);
    if ((size_t)it->n != n)
        return;
    check_close(what, a, it->v, n, tol, tol);
    for (size_t i = 0; i < n; i++)
        gold_worst = fmax(gold_worst, fabs(a[i] - it->v[i]));
}

static struct clf *golden_model(const struct golden_section *s)
{
    struct clf_config cfg = {0};
    cfg.arch = (enum clf_arch)gint(s, "cfg arch");
    cfg.in_c = gint(s, "cfg in_c");
    cfg.in_h = gint(s, "cfg in_h");
    cfg.in_w = gint(s, "cfg in_w");
    cfg.n_classes = gint(s, "cfg n_classes");
    cfg.n_conv = gint(s, "cfg n_conv");
    cfg.kernel = gint(s, "cfg kernel");
    cfg.padding = gint(s, "cfg padding");
    cfg.n_fc = gint(s, "cfg n_fc");
    const struct golden_item *cc = golden_get(s, "conv_ch"), *fc = golden_get(s, "fc");
    for (int i = 0; cc && i < cc->n && i < CLF_MAX_LAYERS; i++)
        cfg.conv_ch[i] = (int)cc->v[i];
    for (int i = 0; fc && i < fc->n && i < CLF_MAX_LAYERS; i++)
        cfg.fc[i] = (int)fc->v[i];
    if (cfg.arch == CLF_MULTIMODAL) {
        cfg.embd = gint(s, "cfg embd");
        cfg.vocab = gint(s, "cfg vocab");
        cfg.pad_id = gint(s, "cfg pad_id");
        cfg.ln_eps = 1e-5f;
    }
    const char *msg = clf_config_check(&cfg);
    if (msg) {
        printf("# golden config: %s\n", msg);
        return NULL;
    }
    struct clf *m = clf_new(&cfg, 0);
    struct nn_params *p = clf_params(m);
    int loaded = 0;
    for (int i = 0; i < s->n_items; i++) {
        const struct golden_item *it = &s->items[i];
        if (strncmp(it->key, "param ", 6) != 0)
            continue;
        const struct nn_tensor *t = nn_params_find(p, it->key + 6);
        CHECK(t != NULL);
        if (!t)
            continue;
        CHECK_EQ_INT(t->numel, it->n);
        for (size_t k = 0; k < t->numel && k < (size_t)it->n; k++)
            p->data[t->offset + k] = (float)it->v[k];
        loaded++;
    }
    CHECK_EQ_INT(loaded, p->n_tensors);
    return m;
}

static float *golden_floats(const struct golden_section *s, const char *key, size_t *n)
{
    const struct golden_item *it = golden_get(s, key);
    *n = it ? (size_t)it->n : 0;
    float *v = zeros(*n);
    for (size_t i = 0; i < *n; i++)
        v[i] = (float)it->v[i];
    return v;
}

static int *golden_ints(const struct golden_section *s, const char *key)
{
    const struct golden_item *it = golden_get(s, key);
    int *v = xcalloc(it && it->n ? (size_t)it->n : 1, sizeof(int));
    for (int i = 0; it && i < it->n; i++)
        v[i] = (int)it->v[i];
    return v;
}

static void check_grads(const struct golden_section *s, struct clf *m)
{
    struct nn_params *p = clf_params(m);
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        char key[128];
        snprintf(key, sizeof(key), "grad %s", t->name);
        check_item(key, p->grad + t->offset, golden_get(s, key), t->numel, 1e-4);
    }
}

static void golden_image(const char *name)
{
    const struct golden_section *s = golden_section(&gold, name);
    CHECK(s != NULL);
    if (!s)
        return;
    struct clf *m = golden_model(s);
    CHECK(m != NULL);
    if (!m)
        return;
    int B = gint(s, "B"), K = clf_cfg(m)->n_classes;
    size_t nx, nw;
    float *x = golden_floats(s, "x", &nx), *w = golden_floats(s, "weights", &nw);
    int *y = golden_ints(s, "labels");
    float *dl = zeros((size_t)B * K), *losses = zeros(B), *probs = zeros((size_t)B * K);
    clf_forward(m, x, NULL, B, 0);
    check_item("logits", clf_logits(m), golden_get(s, "logits"), (size_t)B * K, 1e-4);
    double loss = clf_cross_entropy(dl, losses, clf_logits(m), y, NULL, B, K);
    const struct golden_item *gl = golden_get(s, "loss"), *gw = golden_get(s, "wloss");
    CHECK(gl && fabs(loss - gl->v[0]) <= 1e-4);
    check_item("losses", losses, golden_get(s, "losses"), B, 1e-4);
    double wl = clf_cross_entropy(NULL, NULL, clf_logits(m), y, w, B, K);
    CHECK(gw && fabs(wl - gw->v[0]) <= 1e-4);
    clf_softmax(probs, clf_logits(m), B, K);
    check_item("probs", probs, golden_get(s, "probs"), (size_t)B * K, 1e-5);
    struct nn_params *p = clf_params(m);
    nn_params_alloc_grad(p);
    nn_params_zero_grad(p);
    clf_backward(m, dl);
    check_grads(s, m);
    printf("# golden %s: loss %.7f vs PyTorch %.7f; largest |Lethe - PyTorch| over logits, "
           "losses, probabilities and gradients %.2g\n", name, loss, gl ? gl->v[0] : NAN,
           gold_worst);
    gold_worst = 0;
    clf_free(m);
    free(x), free(w), free(y), free(dl), free(losses), free(probs);
}

static void test_golden_mlp(void)
{
    CHECK(gold_ok);
    if (gold_ok)
        golden_image("mlp");
}

static void test_golden_cnn(void)
{
    CHECK(gold_ok);
    if (!gold_ok)
        return;
    golden_image("cnn_k3");
    golden_image("cnn_k5");
}

static void test_golden_maxpool(void)
{
    CHECK(gold_ok);
    const struct golden_section *s = gold_ok ? golden_section(&gold, "maxpool") : NULL;
    if (!s)
        return;
    int *sh = golden_ints(s, "shape");
    int B = sh[0], C = sh[1], H = sh[2], W = sh[3];
    size_t nx, ny;
    float *x = golden_floats(s, "x", &nx), *dy = golden_floats(s, "dy", &ny);
    float *y = zeros(ny), *dx = zeros(nx), *dx_r = zeros(nx);
    int *am = xcalloc(ny, sizeof(int));
    clf_maxpool2d_forward(y, am, x, B, C, H, W, 2);
    check_item("maxpool y", y, golden_get(s, "y"), ny, 1e-7);
    clf_maxpool2d_backward(dx, dy, am, B, C, H, W, 2);
    check_item("maxpool dx (ties)", dx, golden_get(s, "dx"), nx, 1e-7);
    clf_maxpool2d_backward_ref(dx_r, dy, x, B, C, H, W, 2);
    check_item("maxpool_ref dx (ties)", dx_r, golden_get(s, "dx"), nx, 1e-7);
    free(sh), free(x), free(dy), free(y), free(dx), free(dx_r), free(am);
}

static void test_golden_multimodal(void)
{
    CHECK(gold_ok);
    const struct golden_section *s = gold_ok ? golden_section(&gold, "multimodal") : NULL;
    if (!s)
        return;
    struct clf *m = golden_model(s);
    CHECK(m != NULL);
    if (!m)
        return;
    int B = gint(s, "B"), T = gint(s, "T"), K = clf_cfg(m)->n_classes, E = clf_cfg(m)->embd;
    size_t nx, be = (size_t)B * E;
    float *x = golden_floats(s, "x", &nx);
    int *tok = golden_ints(s, "tokens"), *y = golden_ints(s, "labels");
    float *dl = zeros((size_t)B * K), *di = zeros(be), *dt = zeros(be), *dJ = zeros(be);
    clf_forward(m, x, tok, B, T);
    check_item("image embedding", clf_embedding(m, CLF_EMB_IMAGE), golden_get(s, "emb_image"), be,
               1e-4);
    check_item("text embedding", clf_embedding(m, CLF_EMB_TEXT), golden_get(s, "emb_text"), be,
               1e-4);
    check_item("fused embedding", clf_embedding(m, CLF_EMB_FUSED), golden_get(s, "emb_fused"), be,
               1e-4);
    check_item("logits", clf_logits(m), golden_get(s, "logits"), (size_t)B * K, 1e-4);
    double loss = clf_cross_entropy(dl, NULL, clf_logits(m), y, NULL, B, K);
    const struct golden_item *gl = golden_get(s, "loss");
    CHECK(gl && fabs(loss - gl->v[0]) <= 1e-4);
    /* the script's loss adds 0.5 (|i|^2 + |t|^2 + 0.3 sum J) / B */
    const float *ei = clf_embedding(m, CLF_EMB_IMAGE), *et = clf_embedding(m, CLF_EMB_TEXT);
    for (size_t i = 0; i < be; i++) {
        di[i] = ei[i] / B;
        dt[i] = et[i] / B;
        dJ[i] = 0.15f / B;
    }
    clf_inject_embedding_grad(m, CLF_EMB_IMAGE, di);
    clf_inject_embedding_grad(m, CLF_EMB_TEXT, dt);
    clf_inject_embedding_grad(m, CLF_EMB_FUSED, dJ);
    struct nn_params *p = clf_params(m);
    nn_params_alloc_grad(p);
    nn_params_zero_grad(p);
    clf_backward(m, dl);
    check_grads(s, m);
    printf("# golden multimodal: loss %.7f vs PyTorch %.7f; largest |Lethe - PyTorch| over "
           "embeddings, logits and gradients %.2g\n", loss, gl ? gl->v[0] : NAN, gold_worst);
    gold_worst = 0;
    clf_free(m);
    free(x), free(tok), free(y), free(dl), free(di), free(dt), free(dJ);
}

int main(void)
{
    nn_rng_seed(&rng, 2024);
    gold_ok = golden_load(&gold) == 0;
    RUN(test_linear_grad);
    RUN(test_relu_grad);
    RUN(test_linear_relu_fused);
    RUN(test_linear_input_backward);
    RUN(test_conv_grad);
    RUN(test_conv_fast_vs_ref);
    RUN(test_maxpool_grad);
    RUN(test_embag_grad);
    RUN(test_fusion_grad);
    RUN(test_cross_entropy);
    RUN(test_mlp_grad);
    RUN(test_cnn_grad);
    RUN(test_multimodal_grad);
    RUN(test_multimodal_inject_only);
    RUN(test_layout_and_init);
    RUN(test_config_check);
    RUN(test_batches_and_determinism);
    RUN(test_golden_mlp);
    RUN(test_golden_cnn);
    RUN(test_golden_maxpool);
    RUN(test_golden_multimodal);
    golden_release(&gold);
    return test_done();
}
