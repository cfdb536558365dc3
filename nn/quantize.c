/* Round-to-nearest fake quantization (ATTACKS.md 3): variant names, fast OpenMP kernels, packed
 * group blocks and the in-place pass over a parameter table. quantize_ref.c holds the oracle. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/quantize_impl.h"

#define COL_CHUNK 256           /* units per thread task in the [in, out] stats pass */
#define MAGIC 0x1.8p23f         /* (x + MAGIC) - MAGIC = round half to even for |x| < 2^22 */

/* ---- formats ----------------------------------------------------------------------------- */

static const char *const gran_names[] = {"", "_row", "_g32", "_g64", "_g128"};
_Static_assert(sizeof(gran_names) / sizeof(gran_names[0]) == QUANT_GRAN_COUNT, "gran names");

int quant_format_parse(const char *name, struct quant_format *f, struct lethe_error *err)
{
    memset(f, 0, sizeof(*f));
    if (str_starts(name, "gptq"))
        return lethe_err(err, LETHE_EINPUT, "quantization variant '%s': GPTQ is not supported "
                         "(round-to-nearest variants are q<b>[_<gran>][_asym])", name);
    const char *s = name;
    if (s[0] != 'q' || (s[1] != '8' && s[1] != '4'))
        goto bad;
    f->bits = s[1] - '0';
    s += 2;
    f->gran = QUANT_TENSOR;
    for (int g = 1; g < QUANT_GRAN_COUNT; g++) {
        size_t n = strlen(gran_names[g]);
        if (strncmp(s, gran_names[g], n) == 0 && (s[n] == '\0' || s[n] == '_')) {
            f->gran = (enum quant_gran)g;
            s += n;
            break;
        }
    }
    if (strcmp(s, "_asym") == 0) {
        f->asym = 1;
        s += 5;
    }
    if (*s)
        goto bad;
    return 0;
bad:
    memset(f, 0, sizeof(*f));
    return lethe_err(err, LETHE_EINPUT, "unknown quantization variant '%s' (expected "
                     "q<8|4>[_row|_g32|_g64|_g128][_asym], e.g. q4_g64)", name);
}

const char *quant_format_name(const struct quant_format *f, char *buf)
{
    LETHE_ASSERT(f->gran >= 0 && f->gran < QUANT_GRAN_COUNT);
    snprintf(buf, QUANT_NAME_MAX, "q%d%s%s", f->bits, gran_names[f->gran], f->asym ? "_asym" : "");
    return buf;
}

int quant_group_len(const struct quant_format *f)
{
    switch (f->gran) {
    case QUANT_G32: return 32;
    case QUANT_G64: return 64;
    case QUANT_G128: return 128;
    default: return 0;
    }
}

static void check_format_impl(const struct quant_format *f)
{
    LETHE_ASSERT((f->bits == 8 || f->bits == 4) && f->gran >= 0 && f->gran < QUANT_GRAN_COUNT);
}

size_t quant_block_size(const struct quant_format *f)
{
    check_format_impl(f);
    static const size_t size[2][QUANT_GRAN_COUNT] = {
        {0, 0, sizeof(struct quant_block_q4_g32), sizeof(struct quant_block_q4_g64),
         sizeof(struct quant_block_q4_g128)},
        {0, 0, sizeof(struct quant_block_q8_g32), sizeof(struct quant_block_q8_g64),
         sizeof(struct quant_block_q8_g128)},
    };
    return size[f->bits == 8][f->gran];
}

size_t quant_blocks_bytes(int rows, int cols, enum quant_layout layout,
                          const struct quant_format *f)
{
    int n_out = layout == QUANT_OUT_IN ? rows : cols, n_in = layout == QUANT_OUT_IN ? cols : rows;
    int G = quant_group_len(f);
    LETHE_ASSERT(G > 0);
    return (size_t)n_out * (size_t)((n_in + G - 1) / G) * quant_block_size(f);
}

/* ---- the fast kernels ---------------------------------------------------------------------- */

/* Clamping ranges of one format: x = w/D is clamped to [xlo, xhi] before rounding (which leaves
 * the clamped code unchanged and keeps the rounding trick exact), q to [qlo, qhi]. */
struct qrange {
    float xlo, xhi, qlo, qhi;
};

static struct qrange range_impl(const struct quant_format *f)
{
    struct qrange r;
    if (f->asym) {
        r.qlo = 0.0f;
        r.qhi = (float)((1 << f->bits) - 1);
        r.xlo = -(float)(1 << f->bits);
        r.xhi = (float)(1 << f->bits);
    } else {
        r.qhi = (float)((1 << (f->bits - 1)) - 1);
        r.qlo = -r.qhi;
        r.xlo = r.qlo - 1.0f;
        r.xhi = r.qhi + 1.0f;
    }
    return r;
}

/* The code q (as a float, an integer) of w in a group with scale d and zero point zp. */
static inline float code_impl(float w, float d, float zp, struct qrange r)
{
    float x = w / (d > 0.0f ? d : INFINITY);   /* D = 0: x = +-0, so w' = 0 * 0 = +0 */
    x = x < r.xlo ? r.xlo : x;
    x = x > r.xhi ? r.xhi : x;
    float q = ((x + MAGIC) - MAGIC) + zp;
    q = q < r.qlo ? r.qlo : q;
    return q > r.qhi ? r.qhi : q;
}

/* lo/hi statistics into D/Z turned into scale and zero point (ATTACKS.md 3.2). */
static void params_impl(float *d, float *zp, float lo, float hi, const struct quant_format *f)
{
    if (!f->asym) {
        *d = hi / (float)((1 << (f->bits - 1)) - 1);    /* hi = max|w| */
        *zp = 0.0f;
        return;
    }
    float qmax = (float)((1 << f->bits) - 1);
    *d = (hi - lo) / qmax;
    *zp = 0.0f;
    if (*d > 0.0f) {
        float z = nearbyintf(-lo / *d);
        *zp = z < 0.0f ? 0.0f : z > qmax ? qmax : z;
    }
}

struct qshape {
    int n_out, n_in, G, n_groups;
};

static struct qshape shape_impl(int rows, int cols, enum quant_layout layout,
                                const struct quant_format *f)
{
    check_format_impl(f);
    LETHE_ASSERT(layout == QUANT_OUT_IN || layout == QUANT_IN_OUT);
    struct qshape s;
    s.n_out = layout == QUANT_OUT_IN ? rows : cols;
    s.n_in = layout == QUANT_OUT_IN ? cols : rows;
    s.G = f->gran == QUANT_TENSOR || f->gran == QUANT_ROW ? s.n_in : quant_group_len(f);
    if (s.G <= 0)
        s.G = 1;
    s.n_groups = (s.n_in + s.G - 1) / s.G;
    return s;
}

/* Scale and zero point of every group: D[g * n_out + u], Z[...] ((n_groups, n_out)). */
static void stats_impl(float *D, float *Z, const float *src, int rows, int cols,
                       enum quant_layout layout, const struct quant_format *f, struct qshape s)
{
    size_t np = (size_t)s.n_groups * (size_t)s.n_out;
    int asym = f->asym;
    if (f->gran == QUANT_TENSOR) {
        size_t total = (size_t)rows * (size_t)cols;
        float lo = 0.0f, hi = 0.0f;
        if (asym) {
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
            for (size_t k = 0; k < total; k++) {
                lo = src[k] < lo ? src[k] : lo;
                hi = src[k] > hi ? src[k] : hi;
            }
        } else {
#pragma omp parallel for schedule(static) reduction(max : hi)
            for (size_t k = 0; k < total; k++) {
                float a = fabsf(src[k]);
                hi = a > hi ? a : hi;
            }
        }
        float d, zp;
        params_impl(&d, &zp, lo, hi, f);
        for (size_t k = 0; k < np; k++) {
            D[k] = d;
            Z[k] = zp;
        }
        return;
    }
    if (layout == QUANT_OUT_IN) {
#pragma omp parallel for schedule(static)
        for (int u = 0; u < s.n_out; u++) {
            const float *w = src + (size_t)u * (size_t)s.n_in;
            for (int g = 0; g < s.n_groups; g++) {
                int i0 = g * s.G, i1 = i0 + s.G < s.n_in ? i0 + s.G : s.n_in;
                float lo = 0.0f, hi = 0.0f;
                if (asym) {
#pragma omp simd reduction(min : lo) reduction(max : hi)
                    for (int i = i0; i < i1; i++) {
                        lo = w[i] < lo ? w[i] : lo;
                        hi = w[i] > hi ? w[i] : hi;
                    }
                } else {
#pragma omp simd reduction(max : hi)
                    for (int i = i0; i < i1; i++) {
                        float a = fabsf(w[i]);
                        hi = a > hi ? a : hi;
                    }
                }
                size_t k = (size_t)g * (size_t)s.n_out + (size_t)u;
                params_impl(&D[k], &Z[k], lo, hi, f);
            }
        }
        return;
    }
    /* [in, out]: a group is G rows; per-column statistics with the columns innermost */
    int n_chunks = (s.n_out + COL_CHUNK - 1) / COL_CHUNK;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < n_chunks; c++) {
        int u0 = c * COL_CHUNK, u1 = u0 + COL_CHUNK < s.n_out ? u0 + COL_CHUNK : s.n_out;
        float lo[COL_CHUNK], hi[COL_CHUNK];
        for (int g = 0; g < s.n_groups; g++) {
            int i0 = g * s.G, i1 = i0 + s.G < s.n_in ? i0 + s.G : s.n_in;
            for (int u = 0; u < u1 - u0; u++)
                lo[u] = hi[u] = 0.0f;
            for (int i = i0; i < i1; i++) {
                const float *w = src + (size_t)i * (size_t)cols + (size_t)u0;
                if (asym) {
#pragma omp simd
                    for (int u = 0; u < u1 - u0; u++) {
                        lo[u] = w[u] < lo[u] ? w[u] : lo[u];
                        hi[u] = w[u] > hi[u] ? w[u] : hi[u];
                    }
                } else {
#pragma omp simd
                    for (int u = 0; u < u1 - u0; u++) {
                        float a = fabsf(w[u]);
                        hi[u] = a > hi[u] ? a : hi[u];
                    }
                }
            }
            for (int u = 0; u < u1 - u0; u++) {
                size_t k = (size_t)g * (size_t)s.n_out + (size_t)(u0 + u);
                params_impl(&D[k], &Z[k], lo[u], hi[u], f);
            }
        }
    }
}

void quant_fake(float *dst, const float *src, int rows, int cols, enum quant_layout layout,
                const struct quant_format *f)
{
    struct qshape s = shape_impl(rows, cols, layout, f);
    size_t np = (size_t)s.n_groups * (size_t)s.n_out;
    float *D = xmalloc((np ? np : 1) * sizeof(float)), *Z = xmalloc((np ? np : 1) * sizeof(float));
    stats_impl(D, Z, src, rows, cols, layout, f, s);
    struct qrange r = range_impl(f);
    if (layout == QUANT_OUT_IN) {
#pragma omp parallel for schedule(static)
        for (int u = 0; u < s.n_out; u++) {
            const float *w = src + (size_t)u * (size_t)s.n_in;
            float *o = dst + (size_t)u * (size_t)s.n_in;
            for (int g = 0; g < s.n_groups; g++) {
                int i0 = g * s.G, i1 = i0 + s.G < s.n_in ? i0 + s.G : s.n_in;
                size_t k = (size_t)g * (size_t)s.n_out + (size_t)u;
                float d = D[k], zp = Z[k];
#pragma omp simd
                for (int i = i0; i < i1; i++)
                    o[i] = d * (code_impl(w[i], d, zp, r) - zp);
            }
        }
    } else {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < s.n_in; i++) {
            const float *w = src + (size_t)i * (size_t)cols;
            float *o = dst + (size_t)i * (size_t)cols;
            const float *d = D + (size_t)(i / s.G) * (size_t)s.n_out;
            const float *zp = Z + (size_t)(i / s.G) * (size_t)s.n_out;
#pragma omp simd
            for (int u = 0; u < s.n_out; u++)
                o[u] = d[u] * (code_impl(w[u], d[u], zp[u], r) - zp[u]);
        }
    }
    free(D);
    free(Z);
}

void quant_pack(void *blocks, const float *src, int rows, int cols, enum quant_layout layout,
                const struct quant_format *f)
{
    struct qshape s = shape_impl(rows, cols, layout, f);
    LETHE_ASSERT(quant_group_len(f) > 0);
    size_t np = (size_t)s.n_groups * (size_t)s.n_out, bs = quant_block_size(f);
    float *D = xmalloc((np ? np : 1) * sizeof(float)), *Z = xmalloc((np ? np : 1) * sizeof(float));
    stats_impl(D, Z, src, rows, cols, layout, f, s);
    struct qrange r = range_impl(f);
    float off = f->asym ? 0.0f : (float)(1 << (f->bits - 1));      /* sym codes are q + 2^(b-1) */
    size_t ostride = layout == QUANT_OUT_IN ? (size_t)cols : 1;
    size_t istride = layout == QUANT_OUT_IN ? 1 : (size_t)cols;
#pragma omp parallel for schedule(static)
    for (int u = 0; u < s.n_out; u++) {
        unsigned char codes[128];
        for (int g = 0; g < s.n_groups; g++) {
            size_t k = (size_t)g * (size_t)s.n_out + (size_t)u;
            unsigned char *b = (unsigned char *)blocks + ((size_t)u * (size_t)s.n_groups + (size_t)g) * bs;
            int i0 = g * s.G, n = s.n_in - i0 < s.G ? s.n_in - i0 : s.G;
            float d = D[k], zp = Z[k];
            unsigned char zfield = (unsigned char)(f->asym ? zp : off);
            const float *w = src + (size_t)u * ostride + (size_t)i0 * istride;
            for (int i = 0; i < n; i++)
                codes[i] = (unsigned char)(code_impl(w[(size_t)i * istride], d, zp, r) + off);
            for (int i = n; i < s.G; i++)
                codes[i] = zfield;
            memset(b, 0, bs);
            memcpy(b + QUANT_BLOCK_D, &d, sizeof(d));
            b[QUANT_BLOCK_ZP] = zfield;
            if (f->bits == 8)
                memcpy(b + QUANT_BLOCK_QS, codes, (size_t)s.G);
            else
                for (int j = 0; j < s.G / 2; j++)
                    b[QUANT_BLOCK_QS + j] = (unsigned char)(codes[2 * j] | codes[2 * j + 1] << 4);
        }
    }
    free(D);
    free(Z);
}

void quant_unpack(float *dst, const void *blocks, int rows, int cols, enum quant_layout layout,
                  const struct quant_format *f)
{
    struct qshape s = shape_impl(rows, cols, layout, f);
    LETHE_ASSERT(quant_group_len(f) > 0);
    size_t bs = quant_block_size(f);
    size_t ostride = layout == QUANT_OUT_IN ? (size_t)cols : 1;
    size_t istride = layout == QUANT_OUT_IN ? 1 : (size_t)cols;
#pragma omp parallel for schedule(static)
    for (int u = 0; u < s.n_out; u++) {
        float v[128];
        for (int g = 0; g < s.n_groups; g++) {
            const unsigned char *b = (const unsigned char *)blocks +
                                     ((size_t)u * (size_t)s.n_groups + (size_t)g) * bs;
            int i0 = g * s.G, n = s.n_in - i0 < s.G ? s.n_in - i0 : s.G;
            float d;
            memcpy(&d, b + QUANT_BLOCK_D, sizeof(d));
            float zp = (float)b[QUANT_BLOCK_ZP];
            const unsigned char *qs = b + QUANT_BLOCK_QS;
            if (f->bits == 8) {
                for (int i = 0; i < s.G; i++)
                    v[i] = d * ((float)qs[i] - zp);
            } else {
                for (int j = 0; j < s.G / 2; j++) {
                    v[2 * j] = d * ((float)(qs[j] & 15) - zp);
                    v[2 * j + 1] = d * ((float)(qs[j] >> 4) - zp);
                }
            }
            float *o = dst + (size_t)u * ostride + (size_t)i0 * istride;
            for (int i = 0; i < n; i++)
                o[(size_t)i * istride] = v[i];
        }
    }
}

/* ---- a parameter table -------------------------------------------------------------------- */

int quant_params(struct nn_params *p, const struct quant_format *f, unsigned kinds,
                 enum quant_layout linear_layout, struct lethe_error *err)
{
    check_format_impl(f);
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < p->n_tensors; k++) {
            const struct nn_tensor *t = &p->tensors[k];
            if (!(kinds & (1u << t->kind)))
                continue;
            int ok = t->kind == NN_T_CONV ? t->ndim >= 2 : t->ndim == 2;
            if (t->kind != NN_T_LINEAR && t->kind != NN_T_EMBED && t->kind != NN_T_CONV)
                ok = 0;
            if (!ok)
                return lethe_err(err, LETHE_EINPUT, "cannot quantize tensor '%s': not a matrix "
                                 "of a linear, convolution or embedding layer", t->name);
            float *w = nn_tensor_data(p, t);
            int rows = t->shape[0], cols = (int)(t->numel / (size_t)t->shape[0]);
            if (pass == 0) {
                for (size_t i = 0; i < t->numel; i++)
                    if (!isfinite(w[i]))
                        return lethe_err(err, LETHE_EINPUT, "cannot quantize tensor '%s': "
                                         "element %zu is not finite", t->name, i);
                continue;
            }
            quant_fake(w, w, rows, cols, t->kind == NN_T_LINEAR ? linear_layout : QUANT_OUT_IN,
                       f);
            n++;
        }
    }
    return n;
}
