/* Reference round-to-nearest quantization: ATTACKS.md 3.2 written out plainly, one group at a
 * time, for the tests to compare the fast kernels of quantize.c against. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/quantize_impl.h"

/* Scale D and zero point of n values (ATTACKS.md 3.2). */
static void group_params_ref(const float *v, int n, const struct quant_format *f, float *d,
                             int *zp)
{
    if (!f->asym) {
        float amax = 0.0f;
        for (int i = 0; i < n; i++)
            if (fabsf(v[i]) > amax)
                amax = fabsf(v[i]);
        *d = amax / (float)((1 << (f->bits - 1)) - 1);
        *zp = 0;
        return;
    }
    float lo = 0.0f, hi = 0.0f;
    for (int i = 0; i < n; i++) {
        if (v[i] < lo)
            lo = v[i];
        if (v[i] > hi)
            hi = v[i];
    }
    int qmax = (1 << f->bits) - 1;
    *d = (hi - lo) / (float)qmax;
    *zp = 0;
    if (*d > 0.0f) {
        int z = (int)nearbyintf(-lo / *d);
        *zp = z < 0 ? 0 : z > qmax ? qmax : z;
    }
}

/* The integer code q of w (signed for symmetric formats, in [0, 2^b - 1] for asymmetric). */
static int code_ref(float w, float d, int zp, const struct quant_format *f)
{
    if (d == 0.0f)
        return f->asym ? zp : 0;
    int q = (int)nearbyintf(w / d);
    if (!f->asym) {
        int qmax = (1 << (f->bits - 1)) - 1;
        return q < -qmax ? -qmax : q > qmax ? qmax : q;
    }
    q += zp;
    int qmax = (1 << f->bits) - 1;
    return q < 0 ? 0 : q > qmax ? qmax : q;
}

/* Index of weight (unit u, input i) in a (rows, cols) matrix. */
static size_t at_ref(int u, int i, int cols, enum quant_layout layout)
{
    return layout == QUANT_OUT_IN ? (size_t)u * (size_t)cols + (size_t)i
                                  : (size_t)i * (size_t)cols + (size_t)u;
}

void quant_fake_ref(float *dst, const float *src, int rows, int cols, enum quant_layout layout,
                    const struct quant_format *f)
{
    int n_out = layout == QUANT_OUT_IN ? rows : cols, n_in = layout == QUANT_OUT_IN ? cols : rows;
    size_t total = (size_t)rows * (size_t)cols;
    float d;
    int zp;
    if (f->gran == QUANT_TENSOR) {
        LETHE_ASSERT(total <= (size_t)2147483647);
        group_params_ref(src, (int)total, f, &d, &zp);
        for (size_t k = 0; k < total; k++)
            dst[k] = d * (float)(code_ref(src[k], d, zp, f) - zp);
        return;
    }
    int G = f->gran == QUANT_ROW ? n_in : quant_group_len(f);
    float *v = xmalloc((size_t)(G ? G : 1) * sizeof(float));
    for (int u = 0; u < n_out; u++)
        for (int g0 = 0; g0 < n_in; g0 += G) {
            int n = n_in - g0 < G ? n_in - g0 : G;
            for (int i = 0; i < n; i++)
                v[i] = src[at_ref(u, g0 + i, cols, layout)];
            group_params_ref(v, n, f, &d, &zp);
            for (int i = 0; i < n; i++)
                dst[at_ref(u, g0 + i, cols, layout)] = d * (float)(code_ref(v[i], d, zp, f) - zp);
        }
    free(v);
}

void quant_pack_ref(void *blocks, const float *src, int rows, int cols,
                    enum quant_layout layout, const struct quant_format *f)
{
    int n_out = layout == QUANT_OUT_IN ? rows : cols, n_in = layout == QUANT_OUT_IN ? cols : rows;
    int G = quant_group_len(f);
    LETHE_ASSERT(G > 0);
    int n_groups = (n_in + G - 1) / G;
    size_t bs = quant_block_size(f);
    memset(blocks, 0, quant_blocks_bytes(rows, cols, layout, f));
    float *v = xmalloc((size_t)G * sizeof(float));
    for (int u = 0; u < n_out; u++)
        for (int g = 0; g < n_groups; g++) {
            unsigned char *b = (unsigned char *)blocks + ((size_t)u * (size_t)n_groups + (size_t)g) * bs;
            int n = n_in - g * G < G ? n_in - g * G : G;
            for (int i = 0; i < n; i++)
                v[i] = src[at_ref(u, g * G + i, cols, layout)];
            float d;
            int zp;
            group_params_ref(v, n, f, &d, &zp);
            int zfield = f->asym ? zp : 1 << (f->bits - 1);
            memcpy(b + QUANT_BLOCK_D, &d, sizeof(d));
            b[QUANT_BLOCK_ZP] = (unsigned char)zfield;
            for (int i = 0; i < G; i++) {
                int c = i < n ? code_ref(v[i], d, zp, f) + (f->asym ? 0 : zfield) : zfield;
                if (f->bits == 8)
                    b[QUANT_BLOCK_QS + i] = (unsigned char)c;
                else
                    b[QUANT_BLOCK_QS + i / 2] |= (unsigned char)(i % 2 ? c << 4 : c);
            }
        }
    free(v);
}

void quant_unpack_ref(float *dst, const void *blocks, int rows, int cols,
                      enum quant_layout layout, const struct quant_format *f)
{
    int n_out = layout == QUANT_OUT_IN ? rows : cols, n_in = layout == QUANT_OUT_IN ? cols : rows;
    int G = quant_group_len(f);
    LETHE_ASSERT(G > 0);
    int n_groups = (n_in + G - 1) / G;
    size_t bs = quant_block_size(f);
    for (int u = 0; u < n_out; u++)
        for (int i = 0; i < n_in; i++) {
            const unsigned char *b = (const unsigned char *)blocks +
                                     ((size_t)u * (size_t)n_groups + (size_t)(i / G)) * bs;
            int k = i % G;
            float d;
            memcpy(&d, b + QUANT_BLOCK_D, sizeof(d));
            int c = f->bits == 8 ? b[QUANT_BLOCK_QS + k]
                                 : (b[QUANT_BLOCK_QS + k / 2] >> (k % 2 ? 4 : 0)) & 15;
            dst[at_ref(u, i, cols, layout)] = d * (float)(c - (int)b[QUANT_BLOCK_ZP]);
        }
}
