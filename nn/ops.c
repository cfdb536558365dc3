/* GPT-2's fast kernels: OpenBLAS sgemm for every matrix product (attention's QK^T and AV per
 * (row, head)), plain C with OpenMP and vectorisable loops for the rest (see nn/ops.h). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "nn/ops.h"

/* Below this much work (elements touched, or multiply-adds) a kernel runs on the calling
 * thread: waking a team costs more than it saves, and much more on a busy machine. */
#define PAR_MIN 65536.0

#define GELU_S 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_A 0.044715f

/* ---- exp -------------------------------------------------------------------------------- */

/* exp(x) = 2^k * e^r, k = round(x / ln 2), r = x - k ln 2 (ln 2 split in two for an exact
 * reduction), e^r by its Taylor polynomial to degree 7 on |r| <= ln2/2 (error < 2e-8 there).
 * Rounding by the 1.5 * 2^23 trick; 2^k built in the exponent bits. 0 below -87.33. */
static inline float exp_impl(float x)
{
    float xc = x < -87.0f ? -87.0f : x;
    xc = xc > 88.0f ? 88.0f : xc;
    float k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - k * 0.693145751953125f;
    r = r - k * 1.428606765330187045e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union {
        int i;
        float f;
    } u;
    u.i = ((int)k + 127) << 23;
    float e = p * u.f;
    return x < -87.33f ? 0.0f : e;
}

NN_CLONES static void exp_block_impl(float *out, const float *inp, float shift, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++)
        out[i] = exp_impl(inp[i] - shift);
}

void exp_rows(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i += 4096)
        exp_block_impl(out + i, inp + i, 0.0f, (int)(n - i < 4096 ? n - i : 4096));
}

/* ---- threads and sgemm ------------------------------------------------------------------- */

int nn_blas_single(void)
{
    int saved = openblas_get_num_threads();
    if (saved != 1)
        openblas_set_num_threads(1);
    return saved;
}

void nn_blas_restore(int saved)
{
    if (saved != 1)
        openblas_set_num_threads(saved);
}

static void sgemm1_impl(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *Bm, int ldb, float beta, float *Cm, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, Bm, ldb, beta, Cm, ldc);
}

void nn_sgemm_epi(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *Bm, int ldb, float beta, float *Cm, int ldc, nn_sgemm_epi_fn epi,
                  void *ctx)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                Cm[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * Cm[(size_t)i * ldc + j];
        if (epi)
            epi(ctx, 0, M, 0, N);
        return;
    }
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if ((double)M * N * K < 2e6)
        nt = 1;
    int saved = nn_blas_single();
    if (nt <= 1) {
        sgemm1_impl(ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, Cm, ldc);
        if (epi)
            epi(ctx, 0, M, 0, N);
    } else if (M >= N) {
        int chunk = ((M + nt - 1) / nt + 15) / 16 * 16;
#pragma omp parallel num_threads(nt)
        {
            int m0 = omp_get_thread_num() * chunk;
            int m1 = m0 + chunk < M ? m0 + chunk : M;
            if (m1 > m0) {
                sgemm1_impl(ta, tb, m1 - m0, N, K, alpha, ta ? A + m0 : A + (size_t)m0 * lda, lda,
                            Bm, ldb, beta, Cm + (size_t)m0 * ldc, ldc);
                if (epi)
                    epi(ctx, m0, m1, 0, N);
            }
        }
    } else {
        int chunk = ((N + nt - 1) / nt + 15) / 16 * 16;
#pragma omp parallel num_threads(nt)
        {
            int n0 = omp_get_thread_num() * chunk;
            int n1 = n0 + chunk < N ? n0 + chunk : N;
            if (n1 > n0) {
                sgemm1_impl(ta, tb, M, n1 - n0, K, alpha, A, lda,
                            tb ? Bm + (size_t)n0 * ldb : Bm + n0, ldb, beta, Cm + n0, ldc);
                if (epi)
                    epi(ctx, 0, M, n0, n1);
            }
        }
    }
    nn_blas_restore(saved);
}

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *Bm, int ldb, float beta, float *Cm, int ldc)
{
    nn_sgemm_epi(ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, Cm, ldc, NULL, NULL);
}

void nn_thread_block(size_t n, size_t *lo, size_t *hi)
{
    size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
    size_t chunk = (n + nt - 1) / nt;
    *lo = id * chunk < n ? id * chunk : n;
    *hi = *lo + chunk < n ? *lo + chunk : n;
}

/* ---- small vector loops ------------------------------------------------------------------ */

/* Reductions over a row in LANES fixed partial sums, combined in order: the result depends on
 * the values only, not on the row's address or the vector width (rows of a batch and the same
 * row alone give the same bits). */
#define LANES 32

NN_CLONES static float sum_impl(const float *x, int n)
{
    float acc[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += x[i + j];
    for (int j = 0; i + j < n; j++)
        acc[j] += x[i + j];
    float s = 0.0f;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

/* sum (x - m)^2 */
NN_CLONES static float sumsq_dev_impl(const float *x, float m, int n)
{
    float acc[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += (x[i + j] - m) * (x[i + j] - m);
    for (int j = 0; i + j < n; j++)
        acc[j] += (x[i + j] - m) * (x[i + j] - m);
    float s = 0.0f;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

NN_CLONES static float dot_impl(const float *a, const float *b, int n)
{
    float acc[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += a[i + j] * b[i + j];
    for (int j = 0; i + j < n; j++)
        acc[j] += a[i + j] * b[i + j];
    float s = 0.0f;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

NN_CLONES static void vadd_impl(float *out, const float *a, const float *b, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

NN_CLONES static void vacc_impl(float *out, const float *a, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++)
        out[i] += a[i];
}

/* ---- encoder ----------------------------------------------------------------------------- */

void encoder_forward(float *out, const int *tokens, const int *pos, const float *wte,
                     const float *wpe, int N, int C)
{
#pragma omp parallel for schedule(static) if ((double)N * C > PAR_MIN)
    for (int n = 0; n < N; n++)
        vadd_impl(out + (size_t)n * C, wte + (size_t)tokens[n] * C, wpe + (size_t)pos[n] * C, C);
}

void encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                      const int *pos, int N, int C)
{
    /* each thread owns a block of channels and walks the rows in order: no races, and the
     * sums do not depend on the number of threads */
#pragma omp parallel if ((double)N * C > PAR_MIN)
    {
        size_t c0_, c1_;
        nn_thread_block((size_t)C, &c0_, &c1_);
        int c0 = (int)c0_, c1 = (int)c1_;
        for (int n = 0; n < N && c1 > c0; n++) {
            const float *d = dout + (size_t)n * C + c0;
            if (dwte)
                vacc_impl(dwte + (size_t)tokens[n] * C + c0, d, c1 - c0);
            if (dwpe)
                vacc_impl(dwpe + (size_t)pos[n] * C + c0, d, c1 - c0);
        }
    }
}

/* ---- layernorm (Ba et al. 2016, eq. 4) ----------------------------------------------------- */

NN_CLONES static void layernorm_row_impl(float *out, float *mean, float *rstd, const float *x,
                                         const float *w, const float *b, int C, float eps)
{
    float m = sum_impl(x, C) / (float)C;
    float r = 1.0f / sqrtf(sumsq_dev_impl(x, m, C) / (float)C + eps);
#pragma omp simd
    for (int i = 0; i < C; i++)
        out[i] = (x[i] - m) * r * w[i] + b[i];
    *mean = m;
    *rstd = r;
}

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps)
{
#pragma omp parallel for schedule(static) if ((double)N * C > PAR_MIN)
    for (int n = 0; n < N; n++)
        layernorm_row_impl(out + (size_t)n * C, &mean[n], &rstd[n], inp + (size_t)n * C, w, b, C,
                           eps);
}

NN_CLONES static void layernorm_drow_impl(float *dinp, const float *dout, const float *x,
                                          const float *w, float m, float r, int C)
{
    float a = 0.0f, bsum = 0.0f;
#pragma omp simd reduction(+ : a, bsum)
    for (int i = 0; i < C; i++) {
        float dn = dout[i] * w[i];
        a += dn;
        bsum += dn * (x[i] - m) * r;
    }
    a /= (float)C;
    bsum /= (float)C;
#pragma omp simd
    for (int i = 0; i < C; i++) {
        float nrm = (x[i] - m) * r;
        dinp[i] += (dout[i] * w[i] - a - nrm * bsum) * r;
    }
}

NN_CLONES static void layernorm_dw_impl(float *dw, float *db, const float *dout, const float *x,
                                        float m, float r, int n)
{
    if (dw) {
#pragma omp simd
        for (int i = 0; i < n; i++)
            dw[i] += dout[i] * ((x[i] - m) * r);
    }
    if (db) {
#pragma omp simd
        for (int i = 0; i < n; i++)
            db[i] += dout[i];
    }
}

void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int N, int C)
{
#pragma omp parallel if ((double)N * C > PAR_MIN)
    {
        if (dinp) {
#pragma omp for schedule(static)
            for (int n = 0; n < N; n++)
                layernorm_drow_impl(dinp + (size_t)n * C, dout + (size_t)n * C,
                                    inp + (size_t)n * C, w, mean[n], rstd[n], C);
        }
        if (dw || db) {
            size_t c0_, c1_;
            nn_thread_block((size_t)C, &c0_, &c1_);
            int c0 = (int)c0_, c1 = (int)c1_;
            for (int n = 0; n < N && c1 > c0; n++)
                layernorm_dw_impl(dw ? dw + c0 : NULL, db ? db + c0 : NULL,
                                  dout + (size_t)n * C + c0, inp + (size_t)n * C + c0, mean[n],
                                  rstd[n], c1 - c0);
        }
    }
}

/* ---- matmul ------------------------------------------------------------------------------ */

void matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                    int IC, int OC)
{
    if (bias) {
#pragma omp parallel for schedule(static) if ((double)N * OC > PAR_MIN)
        for (int n = 0; n < N; n++)
            memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
    }
    nn_sgemm(0, 0, N, OC, IC, 1.0f, inp, IC, w, OC, bias ? 1.0f : 0.0f, out, OC);
}

void matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, int N, int IC, int OC)
{
    if (dinp)
        nn_sgemm(0, 1, N, IC, OC, 1.0f, dout, OC, w, OC, 1.0f, dinp, IC);
    if (dw)
        nn_sgemm(1, 0, IC, OC, N, 1.0f, inp, IC, dout, OC, 1.0f, dw, OC);
    if (dbias) {
#pragma omp parallel if ((double)N * OC > PAR_MIN)
        {
            size_t o0_, o1_;
            nn_thread_block((size_t)OC, &o0_, &o1_);
            int o0 = (int)o0_, o1 = (int)o1_;
            for (int n = 0; n < N && o1 > o0; n++)
                vacc_impl(dbias + o0, dout + (size_t)n * OC + o0, o1 - o0);
        }
    }
}

#define ROWS_JB 32  /* output columns per block of matmul_rows */
#define ROWS_RT 4   /* rows per register tile of matmul_rows */
#define ROWS_VB 16  /* vocabulary rows per block of matmul_rows_bt */

/* Columns j0 .. j0+jn-1 of rows r0 .. r0+nr-1 (nr <= ROWS_RT): every element is bias, then
 * + x[k] * w[k][j] for k = 0, 1, ..., the same sequence whatever the tile, so a row gives the
 * same bits alone or in a batch. */
NN_CLONES static void matmul_rows_tile_impl(float *out, const float *inp, const float *w,
                                            const float *bias, int r0, int nr, int IC, int OC,
                                            int j0, int jn)
{
    float acc[ROWS_RT][ROWS_JB];
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < jn; j++)
            acc[r][j] = bias ? bias[j0 + j] : 0.0f;
    if (nr == ROWS_RT && jn == ROWS_JB) {
        const float *x0 = inp + (size_t)r0 * IC, *x1 = x0 + IC, *x2 = x1 + IC, *x3 = x2 + IC;
        for (int k = 0; k < IC; k++) {
            const float *wk = w + (size_t)k * OC + j0;
            const float a0 = x0[k], a1 = x1[k], a2 = x2[k], a3 = x3[k];
#pragma omp simd
            for (int j = 0; j < ROWS_JB; j++) {
                acc[0][j] += a0 * wk[j];
                acc[1][j] += a1 * wk[j];
                acc[2][j] += a2 * wk[j];
                acc[3][j] += a3 * wk[j];
            }
        }
    } else {
        for (int r = 0; r < nr; r++) {
            const float *x = inp + (size_t)(r0 + r) * IC;
            for (int k = 0; k < IC; k++) {
                const float xk = x[k], *wk = w + (size_t)k * OC + j0;
#pragma omp simd
                for (int j = 0; j < jn; j++)
                    acc[r][j] += xk * wk[j];
            }
        }
    }
    for (int r = 0; r < nr; r++)
        memcpy(out + (size_t)(r0 + r) * OC + j0, acc[r], (size_t)jn * sizeof(float));
}

void matmul_rows(float *out, const float *inp, const float *w, const float *bias, int R, int IC,
                 int OC)
{
    int nblocks = (OC + ROWS_JB - 1) / ROWS_JB;
#pragma omp parallel for schedule(static) if ((double)R * IC * OC > PAR_MIN)
    for (int jb = 0; jb < nblocks; jb++) {
        int j0 = jb * ROWS_JB, jn = OC - j0 < ROWS_JB ? OC - j0 : ROWS_JB;
        for (int r0 = 0; r0 < R; r0 += ROWS_RT)
            matmul_rows_tile_impl(out, inp, w, bias, r0, R - r0 < ROWS_RT ? R - r0 : ROWS_RT, IC,
                                  OC, j0, jn);
    }
}

void matmul_rows_bt(float *out, const float *inp, const float *wte, int R, int C, int V)
{
    int nblocks = (V + ROWS_VB - 1) / ROWS_VB;
#pragma omp parallel for schedule(static) if ((double)R * C * V > PAR_MIN)
    for (int vb = 0; vb < nblocks; vb++) {
        int v0 = vb * ROWS_VB, v1 = v0 + ROWS_VB < V ? v0 + ROWS_VB : V;
        for (int r = 0; r < R; r++)
            for (int v = v0; v < v1; v++)
                out[(size_t)r * V + v] =
                    dot_impl(inp + (size_t)r * C, wte + (size_t)v * C, C);
    }
}

/* ---- attention (Vaswani et al. 2017, eq. 1; causal, per (row, head)) ------------------------ */

/* Row t of a causal score matrix: softmax over p[0..t], zeros after, n columns. */
NN_CLONES static void softmax_causal_impl(float *p, int t, int n)
{
    float m = p[0];
#pragma omp simd reduction(max : m)
    for (int s = 0; s <= t; s++)
        m = p[s] > m ? p[s] : m;
#pragma omp simd
    for (int s = 0; s <= t; s++)
        p[s] = exp_impl(p[s] - m);
    float inv = 1.0f / sum_impl(p, t + 1);
#pragma omp simd
    for (int s = 0; s <= t; s++)
        p[s] *= inv;
    for (int s = t + 1; s < n; s++)
        p[s] = 0.0f;
}

/* sequences at least this long have their attention products split in two causal blocks */
#define ATT_SPLIT_MIN 64

void attention_forward(float *out, float *att, const float *qkv, const int *off, const int *len,
                       const size_t *aoff, int B, int NH, int C)
{
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    double work = 2.0 * (double)(aoff[B] - aoff[0]) / NH * C;
    int saved = nn_blas_single();
#pragma omp parallel for schedule(static) if (work > PAR_MIN)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH, n = len[b];
        if (n == 0)
            continue;
        const float *q = qkv + (size_t)off[b] * C3 + h * HS;
        float *p = att + aoff[b] + (size_t)h * n * n, *o = out + (size_t)off[b] * C + h * HS;
        /* causal: rows below h2 see only the first h2 keys, so the upper right block of the
         * scores is never computed (the softmax writes its zeros) and the first h2 rows of
         * the output take only the first h2 values */
        int h2 = n >= ATT_SPLIT_MIN ? (n / 2 + 15) / 16 * 16 : 0;
        if (h2 > 0)
            sgemm1_impl(0, 1, h2, h2, HS, scale, q, C3, q + C, C3, 0.0f, p, n);
        sgemm1_impl(0, 1, n - h2, n, HS, scale, q + (size_t)h2 * C3, C3, q + C, C3, 0.0f,
                    p + (size_t)h2 * n, n);
        for (int t = 0; t < n; t++)
            softmax_causal_impl(p + (size_t)t * n, t, n);
        if (h2 > 0)
            sgemm1_impl(0, 0, h2, HS, h2, 1.0f, p, n, q + 2 * C, C3, 0.0f, o, C);
        sgemm1_impl(0, 0, n - h2, HS, n, 1.0f, p + (size_t)h2 * n, n, q + 2 * C, C3, 0.0f,
                    o + (size_t)h2 * C, C);
    }
    nn_blas_restore(saved);
}

size_t attention_scratch_floats(int max_len)
{
    return (size_t)omp_get_max_threads() * (size_t)max_len * (size_t)max_len;
}

/* dS = P * (dP - rowsum(P * dP)) on row t (causal: s <= t; zeros after). */
NN_CLONES static void softmax_causal_back_impl(float *dp, const float *p, int t, int n)
{
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int s = 0; s <= t; s++)
        dot += p[s] * dp[s];
#pragma omp simd
    for (int s = 0; s <= t; s++)
        dp[s] = p[s] * (dp[s] - dot);
    for (int s = t + 1; s < n; s++)
        dp[s] = 0.0f;
}

void attention_backward(float *dqkv, float *scratch, const float *dout, const float *att,
                        const float *qkv, const int *off, const int *len, const size_t *aoff,
                        int B, int NH, int C, int accumulate)
{
    int HS = C / NH, C3 = 3 * C;
    float beta = accumulate ? 1.0f : 0.0f;
    float scale = 1.0f / sqrtf((float)HS);
    int maxn = 0;
    for (int b = 0; b < B; b++)
        maxn = len[b] > maxn ? len[b] : maxn;
    double work = 4.0 * (double)(aoff[B] - aoff[0]) / NH * C;
    int saved = nn_blas_single();
#pragma omp parallel if (work > PAR_MIN)
    {
        float *dp = scratch + (size_t)omp_get_thread_num() * maxn * maxn;
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * NH; bh++) {
            int b = bh / NH, h = bh % NH, n = len[b];
            if (n == 0)
                continue;
            size_t o3 = (size_t)off[b] * C3 + h * HS;
            const float *q = qkv + o3, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + o3, *dk = dq + C, *dv = dq + 2 * C;
            const float *p = att + aoff[b] + (size_t)h * n * n;
            const float *dy = dout + (size_t)off[b] * C + h * HS;
            sgemm1_impl(0, 1, n, n, HS, 1.0f, dy, C, v, C3, 0.0f, dp, n);
            sgemm1_impl(1, 0, n, HS, n, 1.0f, p, n, dy, C, beta, dv, C3);
            for (int t = 0; t < n; t++)
                softmax_causal_back_impl(dp + (size_t)t * n, p + (size_t)t * n, t, n);
            sgemm1_impl(0, 0, n, HS, n, scale, dp, n, k, C3, beta, dq, C3);
            sgemm1_impl(1, 0, n, HS, n, scale, dp, n, q, C3, beta, dk, C3);
        }
    }
    nn_blas_restore(saved);
}

void attention_decode(float *out, float *scratch, const float *q, const float *k, const float *v,
                      int n, int NH, int C)
{
    int HS = C / NH;
    float scale = 1.0f / sqrtf((float)HS);
    for (int h = 0; h < NH; h++) {
        const float *qh = q + h * HS;
        for (int i = 0; i < n; i++)
            scratch[i] = dot_impl(qh, k + (size_t)i * C + h * HS, HS) * scale;
        softmax_causal_impl(scratch, n - 1, n);
        float *oh = out + h * HS;
        memset(oh, 0, (size_t)HS * sizeof(float));
        for (int i = 0; i < n; i++) {
            const float pi = scratch[i], *vi = v + (size_t)i * C + h * HS;
            for (int j = 0; j < HS; j++)
                oh[j] += pi * vi[j];
        }
    }
}

/* ---- GELU, residual ------------------------------------------------------------------------ */

/* With E = exp(2u): 1 + tanh(u) = 2E / (E + 1) and 1 - tanh(u)^2 = 4E / (E + 1)^2, free of the
 * cancellation of 1 +- tanh in float; exp clamps at 88, so the ends are exact. */
NN_CLONES static void gelu_block_impl(float *out, const float *x, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++) {
        float u = GELU_S * (x[i] + GELU_A * x[i] * x[i] * x[i]);
        float e = exp_impl(2.0f * u);
        out[i] = x[i] * (e / (e + 1.0f));
    }
}

NN_CLONES static void gelu_back_block_impl(float *dinp, const float *x, const float *dout, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++) {
        float u = GELU_S * (x[i] + GELU_A * x[i] * x[i] * x[i]);
        float e = exp_impl(2.0f * u), inv = 1.0f / (e + 1.0f), s1 = e * inv;
        float du = GELU_S * (1.0f + 3.0f * GELU_A * x[i] * x[i]);
        dinp[i] += s1 * (1.0f + 2.0f * x[i] * du * inv) * dout[i];
    }
}

NN_CLONES static void gelu_back_inplace_block_impl(float *d, const float *x, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++) {
        float u = GELU_S * (x[i] + GELU_A * x[i] * x[i] * x[i]);
        float e = exp_impl(2.0f * u), inv = 1.0f / (e + 1.0f), s1 = e * inv;
        float du = GELU_S * (1.0f + 3.0f * GELU_A * x[i] * x[i]);
        d[i] = s1 * (1.0f + 2.0f * x[i] * du * inv) * d[i];
    }
}

#define ELT_BLOCK 4096

void gelu_forward(float *out, const float *inp, size_t n)
{
    long nb = (long)((n + ELT_BLOCK - 1) / ELT_BLOCK);
#pragma omp parallel for schedule(static) if ((double)n > PAR_MIN)
    for (long i = 0; i < nb; i++) {
        size_t o = (size_t)i * ELT_BLOCK;
        gelu_block_impl(out + o, inp + o, (int)(n - o < ELT_BLOCK ? n - o : ELT_BLOCK));
    }
}

void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
    long nb = (long)((n + ELT_BLOCK - 1) / ELT_BLOCK);
#pragma omp parallel for schedule(static) if ((double)n > PAR_MIN)
    for (long i = 0; i < nb; i++) {
        size_t o = (size_t)i * ELT_BLOCK;
        gelu_back_block_impl(dinp + o, inp + o, dout + o,
                             (int)(n - o < ELT_BLOCK ? n - o : ELT_BLOCK));
    }
}

void gelu_backward_inplace(float *d, const float *inp, size_t n)
{
    long nb = (long)((n + ELT_BLOCK - 1) / ELT_BLOCK);
#pragma omp parallel for schedule(static) if ((double)n > PAR_MIN)
    for (long i = 0; i < nb; i++) {
        size_t o = (size_t)i * ELT_BLOCK;
        gelu_back_inplace_block_impl(d + o, inp + o, (int)(n - o < ELT_BLOCK ? n - o : ELT_BLOCK));
    }
}

void residual_forward(float *out, const float *a, const float *b, size_t n)
{
    long nb = (long)((n + ELT_BLOCK - 1) / ELT_BLOCK);
#pragma omp parallel for schedule(static) if ((double)n > PAR_MIN)
    for (long i = 0; i < nb; i++) {
        size_t o = (size_t)i * ELT_BLOCK;
        vadd_impl(out + o, a + o, b + o, (int)(n - o < ELT_BLOCK ? n - o : ELT_BLOCK));
    }
}

/* ---- log-softmax ------------------------------------------------------------------------- */

NN_CLONES static float max_impl(const float *z, int V)
{
    float m = z[0];
#pragma omp simd reduction(max : m)
    for (int i = 0; i < V; i++)
        m = z[i] > m ? z[i] : m;
    return m;
}

NN_CLONES static double sum_double_impl(const float *z, int n)
{
    double acc[LANES / 2] = {0};
    int i = 0;
    for (; i + LANES / 2 <= n; i += LANES / 2)
        for (int j = 0; j < LANES / 2; j++)
            acc[j] += (double)z[i + j];
    for (int j = 0; i + j < n; j++)
        acc[j] += (double)z[i + j];
    double s = 0.0;
    for (int j = 0; j < LANES / 2; j++)
        s += acc[j];
    return s;
}

double logsumexp_row(const float *z, int V)
{
    float m = max_impl(z, V), tmp[512];
    double s = 0.0;
    for (int i = 0; i < V; i += 512) {
        int n = V - i < 512 ? V - i : 512;
        exp_block_impl(tmp, z + i, m, n);
        s += sum_double_impl(tmp, n);
    }
    return (double)m + log(s);
}

NN_CLONES static void scale_impl(float *z, float a, int V)
{
#pragma omp simd
    for (int i = 0; i < V; i++)
        z[i] *= a;
}

float logprob_backward_inplace(float *z, int V, int y, float dlp)
{
    float m = max_impl(z, V), zy = z[y];
    double s = 0.0;
    for (int i = 0; i < V; i += 4096) {
        int n = V - i < 4096 ? V - i : 4096;
        exp_block_impl(z + i, z + i, m, n);
        s += sum_double_impl(z + i, n);
    }
    float lp = (float)((double)zy - (double)m - log(s));
    scale_impl(z, (float)(-(double)dlp / s), V);
    z[y] += dlp;
    return lp;
}
