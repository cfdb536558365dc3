/* GPT-2's kernels: forward/backward pairs, fast (float, OpenBLAS + OpenMP) and _ref (double,
 * plain loops). Private to nn/ and its tests; the public API is nn/nn.h.
 *
 * Activations are PACKED: a batch of B sequences of lengths len[b] occupies rows off[b] ..
 * off[b] + len[b] - 1 of an (N, .) array, N = sum of len, so padding is never computed.
 * Attention probabilities of row b, head h are a len[b] x len[b] matrix at att + aoff[b] +
 * h * len[b]^2 (aoff[b] = NH * sum over b' < b of len[b']^2). Shape letters: see nn/nn.h;
 * N = packed rows. Every backward ACCUMULATES into its outputs (the caller zeroes them); a NULL
 * gradient output is skipped (frozen weights cost nothing).
 */
#ifndef LETHE_NN_OPS_H
#define LETHE_NN_OPS_H

#include <stddef.h>

/* ---- shared by the engine's kernels (ops.c, clf_ops.c, optim.c) ----------------------------- */

/* Hot leaf loops are compiled for three x86 levels and picked at load time (ifunc), so the
 * vector width follows the machine. They hold no reductions and -std=c11 keeps FMA contraction
 * off, so every clone gives the same bits: results stay deterministic. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define NN_CLONES
#endif

/* [lo, hi): the calling OpenMP thread's static block of [0, n) (all of it outside a team). */
void nn_thread_block(size_t n, size_t *lo, size_t *hi);

/* ---- fast kernels (nn/ops.c) ------------------------------------------------------------ */

/* C = alpha * op(A) op(B) + beta * C (row-major, cblas conventions), split over the OpenMP
 * threads along the larger of M and N, each block a single-threaded cblas_sgemm. */
void nn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *Bm, int ldb, float beta, float *Cm, int ldc);
/* nn_sgemm, then epi(ctx, m0, m1, n0, n1) by each thread of the same team on the block of C it
 * just wrote (rows [m0, m1), columns [n0, n1)); epi must be elementwise on that block (e.g. a
 * bias and an activation), so the split never changes the result. NULL epi: nn_sgemm. */
typedef void (*nn_sgemm_epi_fn)(void *ctx, int m0, int m1, int n0, int n1);
void nn_sgemm_epi(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *Bm, int ldb, float beta, float *Cm, int ldc,
                  nn_sgemm_epi_fn epi, void *ctx);
/* Runs the enclosing computation with OpenBLAS's own threads off (ours split the work). Returns
 * the previous OpenBLAS thread count for nn_blas_restore. */
int nn_blas_single(void);
void nn_blas_restore(int saved);

/* out (N, C) = wte[tokens[n]] + wpe[pos[n]]. */
void encoder_forward(float *out, const int *tokens, const int *pos, const float *wte,
                     const float *wpe, int N, int C);
/* dwte (V, C), dwpe (n_ctx, C) += scatter of dout (N, C); either may be NULL. */
void encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                      const int *pos, int N, int C);

/* out (N, C) = (inp - mean) * rstd * w + b; mean, rstd (N) kept for the backward. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps);
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int N, int C);

/* out (N, OC) = inp (N, IC) @ w (IC, OC) + bias (OC) (Hugging Face Conv1D layout; bias may be
 * NULL). */
void matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                    int IC, int OC);
void matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, int N, int IC, int OC);
/* Row-by-row product for decoding: out (R, OC) = inp (R, IC) @ w (IC, OC) + bias, every row
 * computed in the same order whatever R is (batched decoding equals one-at-a-time). */
void matmul_rows(float *out, const float *inp, const float *w, const float *bias, int R, int IC,
                 int OC);
/* out (R, V) = inp (R, C) @ wte (V, C)^T, batch-invariant like matmul_rows. */
void matmul_rows_bt(float *out, const float *inp, const float *wte, int R, int C, int V);

/* Causal self-attention over packed rows: qkv (N, 3C) -> out (N, C); att as in the file
 * header. Scale 1/sqrt(HS). */
void attention_forward(float *out, float *att, const float *qkv, const int *off, const int *len,
                       const size_t *aoff, int B, int NH, int C);
/* scratch: attention_scratch_floats(max len) floats. accumulate = 0 overwrites the rows of
 * dqkv of the batch instead of adding to them (no zeroing pass needed). */
void attention_backward(float *dqkv, float *scratch, const float *dout, const float *att,
                        const float *qkv, const int *off, const int *len, const size_t *aoff,
                        int B, int NH, int C, int accumulate);
size_t attention_scratch_floats(int max_len);
/* One query against a cache: out (C) for query q (C) and keys/values k, v (n, C) of the same
 * sequence (positions 0 .. n-1); scratch (n) floats. */
void attention_decode(float *out, float *scratch, const float *q, const float *k, const float *v,
                      int n, int NH, int C);

/* GELU, tanh form (Hendrycks & Gimpel 2016, eq. in section 2). n elements. */
void gelu_forward(float *out, const float *inp, size_t n);
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
/* d = gelu'(inp) * d in place: the backward without a second buffer. */
void gelu_backward_inplace(float *d, const float *inp, size_t n);
/* out = a + b; out may alias a or b. */
void residual_forward(float *out, const float *a, const float *b, size_t n);

/* max + log(sum exp(z - max)) of z (V), the sum in double. */
double logsumexp_row(const float *z, int V);
/* For one row of logits z (V) and target y: returns lp = log_softmax(z)[y] and overwrites z
 * with dlp * (onehot(y) - softmax(z)) = dlp * d lp / d z. */
float logprob_backward_inplace(float *z, int V, int y, float dlp);

/* exp with relative error below 2e-7 on [-87, 88] (0 below), vectorisable. */
void exp_rows(float *out, const float *inp, size_t n);

/* ---- reference kernels (nn/ops_ref.c): double, plain loops, same shapes and semantics ---- */

void encoder_forward_ref(double *out, const int *tokens, const int *pos, const double *wte,
                         const double *wpe, int N, int C);
void encoder_backward_ref(double *dwte, double *dwpe, const double *dout, const int *tokens,
                          const int *pos, int N, int C);
void layernorm_forward_ref(double *out, double *mean, double *rstd, const double *inp,
                           const double *w, const double *b, int N, int C, double eps);
void layernorm_backward_ref(double *dinp, double *dw, double *db, const double *dout,
                            const double *inp, const double *w, const double *mean,
                            const double *rstd, int N, int C);
void matmul_forward_ref(double *out, const double *inp, const double *w, const double *bias,
                        int N, int IC, int OC);
void matmul_backward_ref(double *dinp, double *dw, double *dbias, const double *dout,
                         const double *inp, const double *w, int N, int IC, int OC);
void attention_forward_ref(double *out, double *att, const double *qkv, const int *off,
                           const int *len, const size_t *aoff, int B, int NH, int C);
void attention_backward_ref(double *dqkv, const double *dout, const double *att,
                            const double *qkv, const int *off, const int *len, const size_t *aoff,
                            int B, int NH, int C);
void gelu_forward_ref(double *out, const double *inp, size_t n);
void gelu_backward_ref(double *dinp, const double *inp, const double *dout, size_t n);
/* log_softmax(z)[y] for z (V). */
double logprob_ref(const double *z, int V, int y);
/* dz (V) += dlp * d log_softmax(z)[y] / dz. */
void logprob_backward_ref(double *dz, const double *z, int V, int y, double dlp);

#endif
