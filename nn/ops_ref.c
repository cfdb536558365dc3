/* Reference kernels for GPT-2 in double precision: plain loops written straight from the
 * formulas, the oracle for the fast kernels and for finite-difference checks (nn/ops.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "nn/ops.h"

void encoder_forward_ref(double *out, const int *tokens, const int *pos, const double *wte,
                         const double *wpe, int N, int C)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            out[(size_t)n * C + c] = wte[(size_t)tokens[n] * C + c] + wpe[(size_t)pos[n] * C + c];
}

void encoder_backward_ref(double *dwte, double *dwpe, const double *dout, const int *tokens,
                          const int *pos, int N, int C)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            if (dwte)
                dwte[(size_t)tokens[n] * C + c] += dout[(size_t)n * C + c];
            if (dwpe)
                dwpe[(size_t)pos[n] * C + c] += dout[(size_t)n * C + c];
        }
}

void layernorm_forward_ref(double *out, double *mean, double *rstd, const double *inp,
                           const double *w, const double *b, int N, int C, double eps)
{
    for (int n = 0; n < N; n++) {
        const double *x = inp + (size_t)n * C;
        double m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += x[c];
        m /= C;
        for (int c = 0; c < C; c++)
            v += (x[c] - m) * (x[c] - m);
        v /= C;
        double r = 1.0 / sqrt(v + eps);
        for (int c = 0; c < C; c++)
            out[(size_t)n * C + c] = (x[c] - m) * r * w[c] + b[c];
        mean[n] = m;
        rstd[n] = r;
    }
}

/* y = (x - m) r w + b with m, r functions of x: dx = r (dn - mean(dn) - nrm mean(dn nrm)),
 * dn = dy w, nrm = (x - m) r. */
void layernorm_backward_ref(double *dinp, double *dw, double *db, const double *dout,
                            const double *inp, const double *w, const double *mean,
                            const double *rstd, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const double *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        double a = 0, bs = 0;
        for (int c = 0; c < C; c++) {
            double nrm = (x[c] - mean[n]) * rstd[n];
            a += dy[c] * w[c];
            bs += dy[c] * w[c] * nrm;
            if (dw)
                dw[c] += dy[c] * nrm;
            if (db)
                db[c] += dy[c];
        }
        a /= C;
        bs /= C;
        if (dinp)
            for (int c = 0; c < C; c++) {
                double nrm = (x[c] - mean[n]) * rstd[n];
                dinp[(size_t)n * C + c] += (dy[c] * w[c] - a - nrm * bs) * rstd[n];
            }
    }
}

void matmul_forward_ref(double *out, const double *inp, const double *w, const double *bias,
                        int N, int IC, int OC)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int i = 0; i < IC; i++)
                s += inp[(size_t)n * IC + i] * w[(size_t)i * OC + o];
            out[(size_t)n * OC + o] = s;
        }
}

void matmul_backward_ref(double *dinp, double *dw, double *dbias, const double *dout,
                         const double *inp, const double *w, int N, int IC, int OC)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double d = dout[(size_t)n * OC + o];
            if (dbias)
                dbias[o] += d;
            for (int i = 0; i < IC; i++) {
                if (dinp)
                    dinp[(size_t)n * IC + i] += d * w[(size_t)i * OC + o];
                if (dw)
                    dw[(size_t)i * OC + o] += d * inp[(size_t)n * IC + i];
            }
        }
}

void attention_forward_ref(double *out, double *att, const double *qkv, const int *off,
                           const int *len, const size_t *aoff, int B, int NH, int C)
{
    int HS = C / NH;
    double scale = 1.0 / sqrt((double)HS);
    for (int b = 0; b < B; b++) {
        int n = len[b];
        for (int h = 0; h < NH; h++) {
            double *p = att + aoff[b] + (size_t)h * n * n;
            for (int t = 0; t < n; t++) {
                const double *q = qkv + (size_t)(off[b] + t) * 3 * C + h * HS;
                double m = -INFINITY, sum = 0;
                for (int s = 0; s < n; s++) {
                    if (s > t) {
                        p[(size_t)t * n + s] = 0;
                        continue;
                    }
                    const double *k = qkv + (size_t)(off[b] + s) * 3 * C + C + h * HS;
                    double d = 0;
                    for (int i = 0; i < HS; i++)
                        d += q[i] * k[i];
                    p[(size_t)t * n + s] = d * scale;
                    if (d * scale > m)
                        m = d * scale;
                }
                for (int s = 0; s <= t; s++) {
                    p[(size_t)t * n + s] = exp(p[(size_t)t * n + s] - m);
                    sum += p[(size_t)t * n + s];
                }
                for (int s = 0; s <= t; s++)
                    p[(size_t)t * n + s] /= sum;
                double *y = out + (size_t)(off[b] + t) * C + h * HS;
                for (int i = 0; i < HS; i++) {
                    double acc = 0;
                    for (int s = 0; s <= t; s++)
                        acc += p[(size_t)t * n + s] *
                               qkv[(size_t)(off[b] + s) * 3 * C + 2 * C + h * HS + i];
                    y[i] = acc;
                }
            }
        }
    }
}

void attention_backward_ref(double *dqkv, const double *dout, const double *att,
                            const double *qkv, const int *off, const int *len, const size_t *aoff,
                            int B, int NH, int C)
{
    int HS = C / NH, maxn = 1;
    double scale = 1.0 / sqrt((double)HS);
    for (int b = 0; b < B; b++)
        maxn = len[b] > maxn ? len[b] : maxn;
    double *dp = xmalloc((size_t)maxn * sizeof(double));
    for (int b = 0; b < B; b++) {
        int n = len[b];
        for (int h = 0; h < NH; h++) {
            const double *p = att + aoff[b] + (size_t)h * n * n;
            for (int t = 0; t < n; t++) {
                const double *dy = dout + (size_t)(off[b] + t) * C + h * HS;
                /* y = sum_s p_s v_s: dv_s += p_s dy; dp_s = dy . v_s */
                double dot = 0;
                for (int s = 0; s <= t; s++) {
                    const double *v = qkv + (size_t)(off[b] + s) * 3 * C + 2 * C + h * HS;
                    double *dv = dqkv + (size_t)(off[b] + s) * 3 * C + 2 * C + h * HS;
                    dp[s] = 0;
                    for (int i = 0; i < HS; i++) {
                        dv[i] += p[(size_t)t * n + s] * dy[i];
                        dp[s] += dy[i] * v[i];
                    }
                    dot += p[(size_t)t * n + s] * dp[s];
                }
                /* softmax: ds_s = p_s (dp_s - sum p dp); score_s = scale q . k_s */
                const double *q = qkv + (size_t)(off[b] + t) * 3 * C + h * HS;
                double *dq = dqkv + (size_t)(off[b] + t) * 3 * C + h * HS;
                for (int s = 0; s <= t; s++) {
                    double ds = p[(size_t)t * n + s] * (dp[s] - dot) * scale;
                    const double *k = qkv + (size_t)(off[b] + s) * 3 * C + C + h * HS;
                    double *dk = dqkv + (size_t)(off[b] + s) * 3 * C + C + h * HS;
                    for (int i = 0; i < HS; i++) {
                        dq[i] += ds * k[i];
                        dk[i] += ds * q[i];
                    }
                }
            }
        }
    }
    free(dp);
}

/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void gelu_forward_ref(double *out, const double *inp, size_t n)
{
    const double s = sqrt(2.0 / 3.14159265358979323846);
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        out[i] = 0.5 * x * (1.0 + tanh(s * (x + 0.044715 * x * x * x)));
    }
}

void gelu_backward_ref(double *dinp, const double *inp, const double *dout, size_t n)
{
    const double s = sqrt(2.0 / 3.14159265358979323846);
    for (size_t i = 0; i < n; i++) {
        double x = inp[i], t = tanh(s * (x + 0.044715 * x * x * x));
        double g = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * s * (1.0 + 3.0 * 0.044715 * x * x);
        dinp[i] += g * dout[i];
    }
}

double logprob_ref(const double *z, int V, int y)
{
    double m = z[0], s = 0;
    for (int i = 1; i < V; i++)
        if (z[i] > m)
            m = z[i];
    for (int i = 0; i < V; i++)
        s += exp(z[i] - m);
    return z[y] - m - log(s);
}

void logprob_backward_ref(double *dz, const double *z, int V, int y, double dlp)
{
    double lse = z[y] - logprob_ref(z, V, y);
    for (int i = 0; i < V; i++)
        dz[i] += dlp * ((i == y ? 1.0 : 0.0) - exp(z[i] - lse));
}
