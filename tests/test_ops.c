/* Tests for GPT-2's kernels (nn/ops.h): every _ref backward against central finite differences
 * in double, every fast kernel against its _ref on random shapes (padding included). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/ops.h"
#include "tests/test.h"

static struct nn_rng rng;

static double *drand_impl(size_t n, double scale)
{
    double *x = xmalloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++)
        x[i] = scale * (2.0 * nn_rng_uniform(&rng) - 1.0);
    return x;
}

static double *dzeros_impl(size_t n)
{
    return xcalloc(n ? n : 1, sizeof(double));
}

static float *to_float_impl(const double *x, size_t n)
{
    float *f = xmalloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        f[i] = (float)x[i];
    return f;
}

/* max |a - b| / (atol + rtol * |b|) over n: <= 1 passes */
static double rel_err_impl(const float *a, const double *b, size_t n, double atol, double rtol)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (atol + rtol * fabs(b[i]));
        if (!(e <= worst))
            worst = e; /* NaN propagates as failure */
    }
    return worst;
}

/* A scalar loss of a forward: sum r * out. The FD harness perturbs x[i] (central, h) and
 * compares with the analytic gradient g; returns max |fd - g| / (1e-7 + |g|) relative error
 * scaled as an absolute-plus-relative tolerance check. */
typedef double (*loss_fn)(void *ctx);

static double fd_check_impl(loss_fn f, void *ctx, double *x, size_t n, const double *g)
{
    const double h = 1e-5;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = f(ctx);
        x[i] = x0 - h;
        double lm = f(ctx);
        x[i] = x0;
        double fd = (lp - lm) / (2 * h);
        double e = fabs(fd - g[i]) / (1e-6 + 1e-6 * fabs(g[i]));
        if (!(e <= worst))
            worst = e;
    }
    return worst;
}

static double dot_impl(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* ---- exp --------------------------------------------------------------------------------- */

static void test_exp(void)
{
    size_t n = 200001;
    float *x = xmalloc(n * sizeof(float)), *y = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = -87.0f + 175.0f * (float)i / (float)(n - 1);
    exp_rows(y, x, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = exp((double)x[i]), r = fabs(y[i] - e) / e;
        worst = r > worst ? r : worst;
    }
    CHECK(worst < 2e-7);
    float lo[3] = {-87.5f, -100.0f, -1e30f}, out[3];
    exp_rows(out, lo, 3);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 0.0f);
    free(x);
    free(y);
}

/* ---- layernorm --------------------------------------------------------------------------- */

struct ln_ctx {
    double *inp, *w, *b, *r, *out, *mean, *rstd;
    int N, C;
};

static double ln_loss_impl(void *p)
{
    struct ln_ctx *c = p;
    layernorm_forward_ref(c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C, 1e-5);
    return dot_impl(c->out, c->r, (size_t)c->N * c->C);
}

static void test_layernorm(void)
{
    for (int pass = 0; pass < 3; pass++) {
        int N = pass == 2 ? 300 : pass ? 67 : 4, C = pass == 2 ? 256 : pass ? 96 : 7;
        size_t nc = (size_t)N * C;
        struct ln_ctx c = {drand_impl(nc, 2.0), drand_impl(C, 1.5), drand_impl(C, 1.0),
                           drand_impl(nc, 1.0), dzeros_impl(nc), dzeros_impl(N), dzeros_impl(N),
                           N, C};
        ln_loss_impl(&c);
        double *dinp = dzeros_impl(nc), *dw = dzeros_impl(C), *db = dzeros_impl(C);
        layernorm_backward_ref(dinp, dw, db, c.r, c.inp, c.w, c.mean, c.rstd, N, C);
        if (pass == 0) {
            CHECK(fd_check_impl(ln_loss_impl, &c, c.inp, nc, dinp) <= 1.0);
            CHECK(fd_check_impl(ln_loss_impl, &c, c.w, C, dw) <= 1.0);
            CHECK(fd_check_impl(ln_loss_impl, &c, c.b, C, db) <= 1.0);
            ln_loss_impl(&c); /* outputs of the unperturbed inputs again */
        }
        /* fast vs ref; gradients accumulate onto a non-zero start */
        float *fi = to_float_impl(c.inp, nc), *fw = to_float_impl(c.w, C),
              *fb = to_float_impl(c.b, C), *fr = to_float_impl(c.r, nc);
        float *fo = xmalloc(nc * sizeof(float)), *fm = xmalloc(N * sizeof(float)),
              *fs = xmalloc(N * sizeof(float));
        layernorm_forward(fo, fm, fs, fi, fw, fb, N, C, 1e-5f);
        CHECK(rel_err_impl(fo, c.out, nc, 1e-5, 1e-5) <= 1.0);
        CHECK(rel_err_impl(fs, c.rstd, N, 1e-5, 1e-5) <= 1.0);
        float *fdi = xmalloc(nc * sizeof(float)), *fdw = xmalloc(C * sizeof(float)),
              *fdb = xmalloc(C * sizeof(float));
        for (size_t i = 0; i < nc; i++) {
            fdi[i] = 1.0f;
            dinp[i] += 1.0;
        }
        for (int i = 0; i < C; i++) {
            fdw[i] = fdb[i] = -2.0f;
            dw[i] -= 2.0;
            db[i] -= 2.0;
        }
        layernorm_backward(fdi, fdw, fdb, fr, fi, fw, fm, fs, N, C);
        CHECK(rel_err_impl(fdi, dinp, nc, 1e-4, 1e-4) <= 1.0);
        CHECK(rel_err_impl(fdw, dw, C, 1e-4, 1e-4) <= 1.0);
        CHECK(rel_err_impl(fdb, db, C, 1e-4, 1e-4) <= 1.0);
        /* NULL outputs are skipped */
        layernorm_backward(NULL, NULL, fdb, fr, fi, fw, fm, fs, N, C);
        free(fi), free(fw), free(fb), free(fr), free(fo), free(fm), free(fs);
        free(fdi), free(fdw), free(fdb);
        free(c.inp), free(c.w), free(c.b), free(c.r), free(c.out), free(c.mean), free(c.rstd);
        free(dinp), free(dw), free(db);
    }
}

/* ---- matmul ------------------------------------------------------------------------------ */

struct mm_ctx {
    double *inp, *w, *bias, *r, *out;
    int N, IC, OC;
};

static double mm_loss_impl(void *p)
{
    struct mm_ctx *c = p;
    matmul_forward_ref(c->out, c->inp, c->w, c->bias, c->N, c->IC, c->OC);
    return dot_impl(c->out, c->r, (size_t)c->N * c->OC);
}

static void test_matmul(void)
{
    int shapes[4][3] = {{3, 5, 4}, {70, 48, 144}, {129, 300, 33}, {300, 256, 256}};
    for (int s = 0; s < 4; s++) {
        int N = shapes[s][0], IC = shapes[s][1], OC = shapes[s][2];
        size_t ni = (size_t)N * IC, nw = (size_t)IC * OC, no = (size_t)N * OC;
        struct mm_ctx c = {drand_impl(ni, 1.0), drand_impl(nw, 1.0), drand_impl(OC, 1.0),
                           drand_impl(no, 1.0), dzeros_impl(no), N, IC, OC};
        mm_loss_impl(&c);
        double *dinp = dzeros_impl(ni), *dw = dzeros_impl(nw), *db = dzeros_impl(OC);
        matmul_backward_ref(dinp, dw, db, c.r, c.inp, c.w, N, IC, OC);
        if (s == 0) {
            CHECK(fd_check_impl(mm_loss_impl, &c, c.inp, ni, dinp) <= 1.0);
            CHECK(fd_check_impl(mm_loss_impl, &c, c.w, nw, dw) <= 1.0);
            CHECK(fd_check_impl(mm_loss_impl, &c, c.bias, OC, db) <= 1.0);
            mm_loss_impl(&c);
        }
        float *fi = to_float_impl(c.inp, ni), *fw = to_float_impl(c.w, nw),
              *fb = to_float_impl(c.bias, OC), *fr = to_float_impl(c.r, no);
        float *fo = xmalloc(no * sizeof(float));
        matmul_forward(fo, fi, fw, fb, N, IC, OC);
        CHECK(rel_err_impl(fo, c.out, no, 1e-4, 1e-4) <= 1.0);
        float *fdi = xcalloc(ni, sizeof(float)), *fdw = xcalloc(nw, sizeof(float)),
              *fdb = xcalloc(OC, sizeof(float));
        matmul_backward(fdi, fdw, fdb, fr, fi, fw, N, IC, OC);
        matmul_backward(fdi, fdw, fdb, fr, fi, fw, N, IC, OC); /* accumulates: twice */
        for (size_t i = 0; i < ni; i++)
            dinp[i] *= 2;
        for (size_t i = 0; i < nw; i++)
            dw[i] *= 2;
        for (int i = 0; i < OC; i++)
            db[i] *= 2;
        CHECK(rel_err_impl(fdi, dinp, ni, 1e-3, 1e-4) <= 1.0);
        CHECK(rel_err_impl(fdw, dw, nw, 1e-3, 1e-4) <= 1.0);
        CHECK(rel_err_impl(fdb, db, OC, 1e-3, 1e-4) <= 1.0);
        /* matmul_rows: same values, and each row alone gives the same bits as in the batch */
        float *fo2 = xmalloc(no * sizeof(float)), *one = xmalloc(OC * sizeof(float));
        matmul_rows(fo2, fi, fw, fb, N, IC, OC);
        CHECK(rel_err_impl(fo2, c.out, no, 1e-4, 1e-4) <= 1.0);
        int same = 1;
        for (int n = 0; n < N; n += 7) {
            matmul_rows(one, fi + (size_t)n * IC, fw, fb, 1, IC, OC);
            same &= memcmp(one, fo2 + (size_t)n * OC, OC * sizeof(float)) == 0;
        }
        CHECK(same);
        free(fi), free(fw), free(fb), free(fr), free(fo), free(fo2), free(one);
        free(fdi), free(fdw), free(fdb);
        free(c.inp), free(c.w), free(c.bias), free(c.r), free(c.out);
        free(dinp), free(dw), free(db);
    }
}

static void test_matmul_rows_bt(void)
{
    int R = 9, C = 40, V = 77;
    double *x = drand_impl((size_t)R * C, 1.0), *wte = drand_impl((size_t)V * C, 1.0);
    double *wt = dzeros_impl((size_t)C * V), *ref = dzeros_impl((size_t)R * V);
    for (int v = 0; v < V; v++)
        for (int c = 0; c < C; c++)
            wt[(size_t)c * V + v] = wte[(size_t)v * C + c];
    matmul_forward_ref(ref, x, wt, NULL, R, C, V);
    float *fx = to_float_impl(x, (size_t)R * C), *fw = to_float_impl(wte, (size_t)V * C);
    float *out = xmalloc((size_t)R * V * sizeof(float)), *one = xmalloc(V * sizeof(float));
    matmul_rows_bt(out, fx, fw, R, C, V);
    CHECK(rel_err_impl(out, ref, (size_t)R * V, 1e-4, 1e-4) <= 1.0);
    matmul_rows_bt(one, fx + 4 * C, fw, 1, C, V);
    CHECK(memcmp(one, out + 4 * V, V * sizeof(float)) == 0);
    free(x), free(wte), free(wt), free(ref), free(fx), free(fw), free(out), free(one);
}

/* nn_sgemm against a plain loop, for all transposes and for both split directions */
static void test_sgemm(void)
{
    int shapes[3][3] = {{200, 48, 300}, {40, 500, 130}, {3, 4, 5}};
    for (int s = 0; s < 3; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                double *a = drand_impl((size_t)M * K, 1), *b = drand_impl((size_t)K * N, 1);
                double *c0 = drand_impl((size_t)M * N, 1);
                float *fa = to_float_impl(a, (size_t)M * K), *fb = to_float_impl(b, (size_t)K * N);
                float *fc = to_float_impl(c0, (size_t)M * N);
                int lda = ta ? M : K, ldb = tb ? K : N;
                nn_sgemm(ta, tb, M, N, K, 0.5f, fa, lda, fb, ldb, 2.0f, fc, N);
                double *ref = dzeros_impl((size_t)M * N);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double acc = 0;
                        for (int k = 0; k < K; k++)
                            acc += (ta ? a[(size_t)k * lda + i] : a[(size_t)i * lda + k]) *
                                   (tb ? b[(size_t)j * ldb + k] : b[(size_t)k * ldb + j]);
                        ref[(size_t)i * N + j] = 0.5 * acc + 2.0 * c0[(size_t)i * N + j];
                    }
                CHECK(rel_err_impl(fc, ref, (size_t)M * N, 1e-4, 1e-4) <= 1.0);
                free(a), free(b), free(c0), free(fa), free(fb), free(fc), free(ref);
            }
}

/* ---- attention --------------------------------------------------------------------------- */

struct att_ctx {
    double *qkv, *r, *out, *att;
    const int *off, *len;
    const size_t *aoff;
    int B, NH, C;
};

static double att_loss_impl(void *p)
{
    struct att_ctx *c = p;
    attention_forward_ref(c->out, c->att, c->qkv, c->off, c->len, c->aoff, c->B, c->NH, c->C);
    return dot_impl(c->out, c->r, (size_t)c->off[c->B] * c->C);
}

static void attention_case_impl(const int *lens, int B, int NH, int C, int fd)
{
    int off[8];
    size_t aoff[8];
    off[0] = 0;
    aoff[0] = 0;
    for (int b = 0; b < B; b++) {
        off[b + 1] = off[b] + lens[b];
        aoff[b + 1] = aoff[b] + (size_t)NH * lens[b] * lens[b];
    }
    int N = off[B];
    size_t n3 = (size_t)N * 3 * C, nc = (size_t)N * C, na = aoff[B];
    struct att_ctx c = {drand_impl(n3, 1.5), drand_impl(nc, 1.0), dzeros_impl(nc),
                        dzeros_impl(na), off, lens, aoff, B, NH, C};
    att_loss_impl(&c);
    double *dqkv = dzeros_impl(n3);
    attention_backward_ref(dqkv, c.r, c.att, c.qkv, off, lens, aoff, B, NH, C);
    if (fd) {
        CHECK(fd_check_impl(att_loss_impl, &c, c.qkv, n3, dqkv) <= 1.0);
        att_loss_impl(&c);
    }
    /* causal: each row's probabilities sum to 1 and vanish above the diagonal */
    int ok = 1;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < lens[b]; t++) {
                double s = 0;
                for (int u = 0; u < lens[b]; u++) {
                    double p = c.att[aoff[b] + (size_t)h * lens[b] * lens[b] +
                                     (size_t)t * lens[b] + u];
                    s += p;
                    ok &= u <= t || p == 0.0;
                }
                ok &= fabs(s - 1.0) < 1e-12;
            }
    CHECK(ok);
    float *fq = to_float_impl(c.qkv, n3), *fr = to_float_impl(c.r, nc);
    float *fo = xmalloc(nc * sizeof(float)), *fa = xmalloc((na ? na : 1) * sizeof(float));
    attention_forward(fo, fa, fq, off, lens, aoff, B, NH, C);
    CHECK(rel_err_impl(fo, c.out, nc, 1e-5, 1e-4) <= 1.0);
    CHECK(rel_err_impl(fa, c.att, na, 1e-6, 1e-4) <= 1.0);
    float *fd3 = xmalloc(n3 * sizeof(float));
    for (size_t i = 0; i < n3; i++) {
        fd3[i] = 0.25f;
        dqkv[i] += 0.25;
    }
    int maxlen = 0;
    for (int b = 0; b < B; b++)
        maxlen = lens[b] > maxlen ? lens[b] : maxlen;
    float *scratch = xmalloc((attention_scratch_floats(maxlen) + 1) * sizeof(float));
    attention_backward(fd3, scratch, fr, fa, fq, off, lens, aoff, B, NH, C, 1);
    CHECK(rel_err_impl(fd3, dqkv, n3, 1e-4, 1e-4) <= 1.0);
    /* overwriting: garbage in dqkv is replaced */
    for (size_t i = 0; i < n3; i++) {
        fd3[i] = 1e6f;
        dqkv[i] -= 0.25;
    }
    attention_backward(fd3, scratch, fr, fa, fq, off, lens, aoff, B, NH, C, 0);
    CHECK(rel_err_impl(fd3, dqkv, n3, 1e-4, 1e-4) <= 1.0);
    /* decoding one query against the keys and values of its sequence */
    int b = B - 1, n = lens[b];
    if (n > 0) {
        float *k = xmalloc((size_t)n * C * sizeof(float)), *v = xmalloc((size_t)n * C * sizeof(float));
        for (int t = 0; t < n; t++) {
            memcpy(k + (size_t)t * C, fq + (size_t)(off[b] + t) * 3 * C + C, C * sizeof(float));
            memcpy(v + (size_t)t * C, fq + (size_t)(off[b] + t) * 3 * C + 2 * C, C * sizeof(float));
        }
        float *y = xmalloc(C * sizeof(float)), *sc = xmalloc(n * sizeof(float));
        attention_decode(y, sc, fq + (size_t)(off[b] + n - 1) * 3 * C, k, v, n, NH, C);
        CHECK(rel_err_impl(y, c.out + (size_t)(off[b] + n - 1) * C, C, 1e-5, 1e-4) <= 1.0);
        free(k), free(v), free(y), free(sc);
    }
    free(c.qkv), free(c.r), free(c.out), free(c.att), free(dqkv);
    free(fq), free(fr), free(fo), free(fa), free(fd3), free(scratch);
}

static void test_attention(void)
{
    int small[3] = {4, 1, 6};
    attention_case_impl(small, 3, 2, 8, 1);
    int padded[4] = {3, 0, 5, 2};
    attention_case_impl(padded, 4, 1, 4, 1);
    int large[3] = {33, 0, 64};
    attention_case_impl(large, 3, 4, 64, 0);
}

/* ---- GELU, encoder ------------------------------------------------------------------------ */

struct gelu_ctx {
    double *inp, *r, *out;
    size_t n;
};

static double gelu_loss_impl(void *p)
{
    struct gelu_ctx *c = p;
    gelu_forward_ref(c->out, c->inp, c->n);
    return dot_impl(c->out, c->r, c->n);
}

static void test_gelu(void)
{
    size_t n = 100000;
    struct gelu_ctx c = {drand_impl(n, 6.0), drand_impl(n, 1.0), dzeros_impl(n), n};
    c.inp[0] = 0.0;
    c.inp[1] = 30.0;
    c.inp[2] = -30.0;
    c.inp[3] = 1e-6;
    gelu_loss_impl(&c);
    double *d = dzeros_impl(n);
    gelu_backward_ref(d, c.inp, c.r, n);
    CHECK(fd_check_impl(gelu_loss_impl, &c, c.inp, 200, d) <= 1.0);
    gelu_loss_impl(&c);
    /* known values: gelu(1) = 0.841191990607..., gelu(-1) = -0.158808009...  (tanh form) */
    double x2[2] = {1.0, -1.0}, y2[2];
    gelu_forward_ref(y2, x2, 2);
    CHECK_NEAR(y2[0], 0.8411919906082768, 1e-12);
    CHECK_NEAR(y2[1], -0.15880800939172324, 1e-12);
    float *fi = to_float_impl(c.inp, n), *fr = to_float_impl(c.r, n);
    float *fo = xmalloc(n * sizeof(float)), *fd = xcalloc(n, sizeof(float));
    gelu_forward(fo, fi, n);
    CHECK(rel_err_impl(fo, c.out, n, 1e-6, 1e-6) <= 1.0);
    gelu_backward(fd, fi, fr, n);
    CHECK(rel_err_impl(fd, d, n, 1e-6, 1e-5) <= 1.0);
    memcpy(fd, fr, n * sizeof(float));
    gelu_backward_inplace(fd, fi, n);
    CHECK(rel_err_impl(fd, d, n, 1e-6, 1e-5) <= 1.0);
    CHECK(fo[1] == 30.0f && fo[2] == 0.0f);
    free(c.inp), free(c.r), free(c.out), free(d), free(fi), free(fr), free(fo), free(fd);
}

struct enc_ctx {
    double *wte, *wpe, *r, *out;
    const int *tok, *pos;
    int N, C;
};

static double enc_loss_impl(void *p)
{
    struct enc_ctx *c = p;
    encoder_forward_ref(c->out, c->tok, c->pos, c->wte, c->wpe, c->N, c->C);
    return dot_impl(c->out, c->r, (size_t)c->N * c->C);
}

static void test_encoder(void)
{
    int V = 6, P = 5, C = 3, N = 7;
    int tok[7] = {1, 4, 1, 1, 0, 5, 4}, pos[7] = {0, 1, 2, 0, 1, 0, 4};
    struct enc_ctx c = {drand_impl((size_t)V * C, 1), drand_impl((size_t)P * C, 1),
                        drand_impl((size_t)N * C, 1), dzeros_impl((size_t)N * C), tok, pos, N, C};
    enc_loss_impl(&c);
    double *dwte = dzeros_impl((size_t)V * C), *dwpe = dzeros_impl((size_t)P * C);
    encoder_backward_ref(dwte, dwpe, c.r, tok, pos, N, C);
    CHECK(fd_check_impl(enc_loss_impl, &c, c.wte, (size_t)V * C, dwte) <= 1.0);
    CHECK(fd_check_impl(enc_loss_impl, &c, c.wpe, (size_t)P * C, dwpe) <= 1.0);
    enc_loss_impl(&c);
    float *fte = to_float_impl(c.wte, (size_t)V * C), *fpe = to_float_impl(c.wpe, (size_t)P * C);
    float *fr = to_float_impl(c.r, (size_t)N * C), *fo = xmalloc((size_t)N * C * sizeof(float));
    encoder_forward(fo, tok, pos, fte, fpe, N, C);
    CHECK(rel_err_impl(fo, c.out, (size_t)N * C, 1e-6, 1e-6) <= 1.0);
    float *fdte = xcalloc((size_t)V * C, sizeof(float)), *fdpe = xcalloc((size_t)P * C, sizeof(float));
    encoder_backward(fdte, fdpe, fr, tok, pos, N, C);
    CHECK(rel_err_impl(fdte, dwte, (size_t)V * C, 1e-6, 1e-6) <= 1.0);
    CHECK(rel_err_impl(fdpe, dwpe, (size_t)P * C, 1e-6, 1e-6) <= 1.0);
    free(c.wte), free(c.wpe), free(c.r), free(c.out), free(dwte), free(dwpe);
    free(fte), free(fpe), free(fr), free(fo), free(fdte), free(fdpe);
}

/* ---- log-softmax ------------------------------------------------------------------------- */

struct lp_ctx {
    double *z;
    int V, y;
};

static double lp_loss_impl(void *p)
{
    struct lp_ctx *c = p;
    return logprob_ref(c->z, c->V, c->y);
}

/* large enough for the threaded path; the serial result is the same */
static void test_encoder_large(void)
{
    int V = 50, P = 40, C = 256, N = 600;
    int *tok = xmalloc(N * sizeof(int)), *pos = xmalloc(N * sizeof(int));
    for (int n = 0; n < N; n++) {
        tok[n] = (int)(nn_rng_next(&rng) % (uint64_t)V);
        pos[n] = n % P;
    }
    double *dout = drand_impl((size_t)N * C, 1), *dwte = dzeros_impl((size_t)V * C);
    double *dwpe = dzeros_impl((size_t)P * C);
    encoder_backward_ref(dwte, dwpe, dout, tok, pos, N, C);
    float *fd = to_float_impl(dout, (size_t)N * C);
    float *fte = xcalloc((size_t)V * C, sizeof(float)), *fpe = xcalloc((size_t)P * C, sizeof(float));
    encoder_backward(fte, fpe, fd, tok, pos, N, C);
    CHECK(rel_err_impl(fte, dwte, (size_t)V * C, 1e-5, 1e-5) <= 1.0);
    CHECK(rel_err_impl(fpe, dwpe, (size_t)P * C, 1e-5, 1e-5) <= 1.0);
    free(tok), free(pos), free(dout), free(dwte), free(dwpe), free(fd), free(fte), free(fpe);
}

static void test_logprob(void)
{
    struct lp_ctx c = {drand_impl(11, 3.0), 11, 7};
    double *dz = dzeros_impl(11);
    logprob_backward_ref(dz, c.z, 11, 7, 1.0);
    CHECK(fd_check_impl(lp_loss_impl, &c, c.z, 11, dz) <= 1.0);
    /* fast: large vocabulary, large logits, dlp scaling */
    int V = 5000;
    double *z = drand_impl(V, 40.0), *dref = dzeros_impl(V);
    z[17] = 300.0;
    z[18] = 299.0;
    double lp = logprob_ref(z, V, 18);
    CHECK_NEAR(lp, -log1p(exp(1.0)), 1e-9);
    logprob_backward_ref(dref, z, V, 18, -0.5);
    float *fz = to_float_impl(z, V);
    CHECK_NEAR((double)fz[18] - logsumexp_row(fz, V), lp, 1e-5);
    float flp = logprob_backward_inplace(fz, V, 18, -0.5f);
    CHECK_NEAR(flp, lp, 1e-5);
    CHECK(rel_err_impl(fz, dref, V, 1e-7, 1e-5) <= 1.0);
    free(c.z), free(dz), free(z), free(dref), free(fz);
}

int main(void)
{
    nn_rng_seed(&rng, 20240611);
    RUN(test_exp);
    RUN(test_layernorm);
    RUN(test_matmul);
    RUN(test_matmul_rows_bt);
    RUN(test_sgemm);
    RUN(test_attention);
    RUN(test_gelu);
    RUN(test_encoder);
    RUN(test_encoder_large);
    RUN(test_logprob);
    return test_done();
}
