/* Tests for round-to-nearest quantization (ATTACKS.md 3): variant names, the spec's worked
 * example, hand-computed cases per format and layout, error bounds, fast == ref, blocks. */
#include <omp.h>
#include <stdlib.h>

#include "nn/nn.h"
#include "tests/test.h"

static const char *const all_names[] = {
    "q8", "q8_row", "q8_g32", "q8_g64", "q8_g128", "q8_asym", "q8_row_asym", "q8_g32_asym",
    "q8_g64_asym", "q8_g128_asym", "q4", "q4_row", "q4_g32", "q4_g64", "q4_g128", "q4_asym",
    "q4_row_asym", "q4_g32_asym", "q4_g64_asym", "q4_g128_asym",
};
#define N_NAMES ((int)(sizeof(all_names) / sizeof(all_names[0])))

static struct quant_format fmt(const char *name)
{
    struct quant_format f;
    struct lethe_error err = {0};
    if (quant_format_parse(name, &f, &err) < 0)
        LETHE_BUG("%s", err.msg);
    return f;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static void test_parse(void)
{
    struct quant_format f;
    struct lethe_error err = {0};
    char buf[QUANT_NAME_MAX];
    for (int i = 0; i < N_NAMES; i++) {
        CHECK_EQ_INT(quant_format_parse(all_names[i], &f, &err), 0);
        CHECK_STREQ(quant_format_name(&f, buf), all_names[i]);
    }
    f = fmt("q4_g64_asym");
    CHECK(f.bits == 4 && f.gran == QUANT_G64 && f.asym == 1);
    CHECK_EQ_INT(quant_group_len(&f), 64);
    f = fmt("q8");
    CHECK(f.bits == 8 && f.gran == QUANT_TENSOR && f.asym == 0);
    CHECK_EQ_INT(quant_group_len(&f), 0);
    f = fmt("q4_row");
    CHECK(f.bits == 4 && f.gran == QUANT_ROW && f.asym == 0);
    const char *bad[] = {"", "q", "q2", "q16", "q4_", "q4_g16", "q4_asym_g64", "q4_tensor", "Q4",
                         "q4_g64_asym_", "q4_row_row", "q4_g1280", "q4_rows", "q4 ", "base",
                         "q4_g64_sym"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(quant_format_parse(bad[i], &f, &err) == -LETHE_EINPUT);
        char want[300];
        snprintf(want, sizeof(want), "unknown quantization variant '%s' (expected "
                 "q<8|4>[_row|_g32|_g64|_g128][_asym], e.g. q4_g64)", bad[i]);
        CHECK_STREQ(err.msg, want);
    }
    CHECK(quant_format_parse("gptq4_g128", &f, &err) == -LETHE_EINPUT);
    CHECK_STREQ(err.msg, "quantization variant 'gptq4_g128': GPTQ is not supported "
                "(round-to-nearest variants are q<b>[_<gran>][_asym])");
}

/* Runs ref, fast and (for group formats) pack/unpack, checks they agree, returns fast's. */
static void fake_all(float *out, const float *w, int rows, int cols, enum quant_layout layout,
                     const char *name)
{
    struct quant_format f = fmt(name);
    size_t n = (size_t)rows * (size_t)cols;
    float *ref = xmalloc(n * 4);
    quant_fake_ref(ref, w, rows, cols, layout, &f);
    quant_fake(out, w, rows, cols, layout, &f);
    if (memcmp(ref, out, n * 4) != 0) {
        printf("# %s: fast != ref\n", name);
        test_cur_failed = 1;
    }
    if (quant_group_len(&f)) {
        size_t nb = quant_blocks_bytes(rows, cols, layout, &f);
        unsigned char *b1 = xmalloc(nb), *b2 = xmalloc(nb);
        memset(b1, 0xaa, nb);
        memset(b2, 0x55, nb);
        quant_pack(b1, w, rows, cols, layout, &f);
        quant_pack_ref(b2, w, rows, cols, layout, &f);
        if (memcmp(b1, b2, nb) != 0) {
            printf("# %s: pack != pack_ref\n", name);
            test_cur_failed = 1;
        }
        float *u1 = xmalloc(n * 4), *u2 = xmalloc(n * 4);
        quant_unpack(u1, b1, rows, cols, layout, &f);
        quant_unpack_ref(u2, b1, rows, cols, layout, &f);
        if (memcmp(u1, ref, n * 4) != 0 || memcmp(u2, ref, n * 4) != 0) {
            printf("# %s: unpack(pack(w)) != fake(w)\n", name);
            test_cur_failed = 1;
        }
        free(u1);
        free(u2);
        free(b1);
        free(b2);
    }
    free(ref);
}

/* ATTACKS.md 3.2's example: w = (0.30, -1.20, 0.05, 0.70), 4-bit, per tensor. */
static void test_spec_example(void)
{
    const float w[4] = {0.30f, -1.20f, 0.05f, 0.70f};
    float o[4];
    fake_all(o, w, 1, 4, QUANT_OUT_IN, "q4");
    const double sym[4] = {0.342857, -1.2, 0, 0.685714};
    float d = 1.2f / 7.0f;
    const int q[4] = {2, -7, 0, 4};
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(o[i], sym[i], 1e-6);
        CHECK(o[i] == d * (float)q[i]);
    }
    fake_all(o, w, 1, 4, QUANT_OUT_IN, "q4_asym");
    const double asym[4] = {0.253333, -1.14, 0, 0.76};
    const int qa[4] = {11, 0, 9, 15};
    float da = (0.70f - -1.20f) / 15.0f;
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(o[i], asym[i], 1e-6);
        CHECK(o[i] == da * (float)(qa[i] - 9));
    }
    fake_all(o, w, 1, 4, QUANT_OUT_IN, "q8");
    const int q8[4] = {32, -127, 5, 74};
    for (int i = 0; i < 4; i++)
        CHECK(o[i] == (1.2f / 127.0f) * (float)q8[i]);
    /* the codes themselves, through a (short) group of 32: sym codes are q + 2^(b-1) */
    struct quant_format f = fmt("q4_g32");
    struct quant_block_q4_g32 b;
    quant_pack(&b, w, 1, 4, QUANT_OUT_IN, &f);
    CHECK(b.d == d && b.zp == 8);
    CHECK(b.qs[0] == (10 | 1 << 4) && b.qs[1] == (8 | 12 << 4));
    for (int i = 2; i < 16; i++)
        CHECK(b.qs[i] == (8 | 8 << 4));         /* past the group's end: zp */
    f = fmt("q4_g32_asym");
    quant_pack(&b, w, 1, 4, QUANT_OUT_IN, &f);
    CHECK(b.d == da && b.zp == 9);
    CHECK(b.qs[0] == (11 | 0 << 4) && b.qs[1] == (9 | 15 << 4));
    f = fmt("q8_g32");
    struct quant_block_q8_g32 b8;
    quant_pack(&b8, w, 1, 4, QUANT_OUT_IN, &f);
    CHECK(b8.zp == 128 && b8.qs[0] == 160 && b8.qs[1] == 1 && b8.qs[2] == 133 && b8.qs[3] == 202);
}

/* Hand-computed cases with exact scales (D = 1 or 0.5), showing round half to even, clamping
 * and which elements form a unit in each layout. */
static void test_hand_examples(void)
{
    float o[64];
    /* [in, out] = (4 inputs, 2 units): units are the COLUMNS.
     * unit 0 = (-1.5, 13.5, 2.5, 0): lo -1.5, hi 13.5, D = 15/15 = 1, zp = rnd(1.5) = 2;
     *   q = rnd(w) + 2 = (0, 16 -> 15, 4, 2), w' = q - 2 = (-2, 13, 2, 0).
     * unit 1 = (0, 7.5, -7.5, 1): D = 1, zp = rnd(7.5) = 8; q = (8, 16 -> 15, 0, 9),
     *   w' = (0, 7, -8, 1). */
    const float w_io[8] = {-1.5f, 0.0f, 13.5f, 7.5f, 2.5f, -7.5f, 0.0f, 1.0f};
    const float want_io[8] = {-2, 0, 13, 7, 2, -8, 0, 1};
    fake_all(o, w_io, 4, 2, QUANT_IN_OUT, "q4_row_asym");
    for (int i = 0; i < 8; i++)
        CHECK(o[i] == want_io[i]);
    /* the same weights as an [out, in] matrix (transposed) give the transposed result */
    float w_oi[8], want_oi[8];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 2; c++) {
            w_oi[c * 4 + r] = w_io[r * 2 + c];
            want_oi[c * 4 + r] = want_io[r * 2 + c];
        }
    fake_all(o, w_oi, 2, 4, QUANT_OUT_IN, "q4_row_asym");
    for (int i = 0; i < 8; i++)
        CHECK(o[i] == want_oi[i]);
    /* per row symmetric, 4 bits: unit (7, 2.5, -0.5, 1.5): D = 7/7 = 1, q = (7, 2, 0, 2);
     * unit (-3.5, 1.25, 0.75, 0.25): D = 0.5, x = (-7, 2.5, 1.5, 0.5), q = (-7, 2, 2, 0). */
    const float s_io[8] = {7, -3.5f, 2.5f, 1.25f, -0.5f, 0.75f, 1.5f, 0.25f};
    const float s_want[8] = {7, -3.5f, 2, 1, 0, 1, 2, 0};
    fake_all(o, s_io, 4, 2, QUANT_IN_OUT, "q4_row");
    for (int i = 0; i < 8; i++)
        CHECK(o[i] == s_want[i]);
    /* per tensor symmetric on the same: D = 1, so the second unit is rounded on the unit grid:
     * (-3.5, 1.25, 0.75, 0.25) -> (-4, 1, 1, 0) */
    const float t_want[8] = {7, -4, 2, 1, 0, 1, 2, 0};
    fake_all(o, s_io, 4, 2, QUANT_IN_OUT, "q4");
    for (int i = 0; i < 8; i++)
        CHECK(o[i] == t_want[i]);
    /* 8 bits: symmetric D = 127/127 = 1: (127, 126.5, -3.5, 0.5) -> (127, 126, -4, 0);
     * asymmetric lo -55, hi 200: D = 1, zp 55: (200, -55, 0.5, 1.5) -> (200, -55, 0, 2) */
    const float e8[4] = {127, 126.5f, -3.5f, 0.5f}, e8w[4] = {127, 126, -4, 0};
    fake_all(o, e8, 1, 4, QUANT_OUT_IN, "q8_row");
    for (int i = 0; i < 4; i++)
        CHECK(o[i] == e8w[i]);
    const float a8[4] = {200, -55, 0.5f, 1.5f}, a8w[4] = {200, -55, 0, 2};
    fake_all(o, a8, 1, 4, QUANT_OUT_IN, "q8_asym");
    for (int i = 0; i < 4; i++)
        CHECK(o[i] == a8w[i]);
    /* groups of 32 along the input: a unit of 40 inputs has groups [0, 32) and [32, 40), each
     * with its own scale: the first has max 7 (D = 1), the second max 3.5 (D = 0.5) */
    float g[40], gw[40];
    for (int i = 0; i < 32; i++) {
        g[i] = i == 5 ? -7.0f : (float)(i % 7) * 0.5f;         /* x.5 values: half to even */
        gw[i] = i == 5 ? -7.0f : nearbyintf(g[i]);
    }
    for (int i = 32; i < 40; i++) {
        g[i] = i == 39 ? 3.5f : (float)(i - 32) * 0.25f;       /* x/0.5 = (i-32)/2 */
        gw[i] = i == 39 ? 3.5f : 0.5f * nearbyintf((float)(i - 32) * 0.5f);
    }
    fake_all(o, g, 1, 40, QUANT_OUT_IN, "q4_g32");
    int bad = 0;
    for (int i = 0; i < 40; i++)
        bad += o[i] != gw[i];
    CHECK_EQ_INT(bad, 0);
    CHECK(o[3] == 2.0f && o[35] == 1.0f && o[33] == 0.0f);   /* 1.5 -> 2, 0.75/0.5 -> 2, 0.5 -> 0 */
    fake_all(o, g, 40, 1, QUANT_IN_OUT, "q4_g32");             /* a column: the same groups */
    bad = 0;
    for (int i = 0; i < 40; i++)
        bad += o[i] != gw[i];
    CHECK_EQ_INT(bad, 0);
    /* an all-zero group stays zero; a zero tensor stays zero */
    float z[8] = {0, 0, 0, 0, 1, 2, 3, 4};
    fake_all(o, z, 2, 4, QUANT_OUT_IN, "q4_row_asym");
    CHECK(o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] == 0 && bits(o[0]) == 0);
    memset(z, 0, sizeof(z));
    fake_all(o, z, 2, 4, QUANT_OUT_IN, "q8_asym");
    for (int i = 0; i < 8; i++)
        CHECK(bits(o[i]) == 0);
    /* subnormal weights: D underflows to 0 (the group becomes 0) or is itself subnormal */
    const float tiny[8] = {1.4e-45f, -2.8e-45f, 1e-45f, 0, 1e-40f, -3e-41f, 7e-42f, 5e-39f};
    for (int k = 0; k < N_NAMES; k++) {
        fake_all(o, tiny, 2, 4, QUANT_OUT_IN, all_names[k]);
        fake_all(o, tiny, 4, 2, QUANT_IN_OUT, all_names[k]);
    }
    fake_all(o, tiny, 2, 4, QUANT_OUT_IN, "q8_row");
    CHECK(bits(o[0]) == 0 && bits(o[1]) == 0);        /* max 2.8e-45 / 127 underflows to 0 */
    CHECK(o[7] != 0.0f && fabsf(o[7] - 5e-39f) < 5e-39f / 200);
}

/* Independent per-group D (in double) for the error bound. */
static double group_scale(const float *w, int rows, int cols, enum quant_layout layout, int u,
                          int i0, int i1, int bits_, int asym)
{
    double lo = 0, hi = 0;
    for (int i = i0; i < i1; i++) {
        double v = layout == QUANT_OUT_IN ? w[(size_t)u * cols + i] : w[(size_t)i * cols + u];
        if (!asym)
            v = fabs(v);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    (void)rows;
    return asym ? (hi - lo) / ((1 << bits_) - 1) : hi / ((1 << (bits_ - 1)) - 1);
}

static void random_matrix(float *w, size_t n, uint64_t seed)
{
    struct nn_rng r;
    nn_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        w[i] = (float)(nn_rng_normal(&r) * 0.05);
        if (nn_rng_uniform(&r) < 0.01)
            w[i] *= 40.0f;              /* outliers */
    }
}

/* For every format, layout and awkward shape: fast == ref (bits), pack/unpack == fake,
 * |w - w'| <= D/2, re-quantizing gives the same codes, and any thread count the same bits. */
static void test_properties(void)
{
    const int shapes[][2] = {{1, 1}, {3, 5}, {7, 33}, {33, 7}, {64, 96}, {130, 20}, {20, 130},
                             {96, 288}, {257, 3}};
    int nshapes = (int)(sizeof(shapes) / sizeof(shapes[0]));
    int bound_bad = 0, idem_bad = 0, thread_bad = 0, cases = 0;
    float *w = xmalloc(96 * 288 * 4), *o = xmalloc(96 * 288 * 4), *o2 = xmalloc(96 * 288 * 4),
          *o3 = xmalloc(96 * 288 * 4);
    for (int s = 0; s < nshapes; s++)
        for (int layout = 0; layout < QUANT_LAYOUT_COUNT; layout++)
            for (int k = 0; k < N_NAMES; k++) {
                int rows = shapes[s][0], cols = shapes[s][1];
                size_t n = (size_t)rows * cols;
                random_matrix(w, n, (uint64_t)(s * 100 + k));
                struct quant_format f = fmt(all_names[k]);
                fake_all(o, w, rows, cols, (enum quant_layout)layout, all_names[k]);
                cases++;
                int n_out = layout == QUANT_OUT_IN ? rows : cols;
                int n_in = layout == QUANT_OUT_IN ? cols : rows;
                int G = f.gran == QUANT_TENSOR || f.gran == QUANT_ROW ? n_in : quant_group_len(&f);
                for (int u = 0; u < n_out; u++)
                    for (int i0 = 0; i0 < n_in; i0 += G) {
                        int i1 = i0 + G < n_in ? i0 + G : n_in;
                        double D = f.gran == QUANT_TENSOR
                                       ? group_scale(w, 1, (int)n, QUANT_OUT_IN, 0, 0, (int)n,
                                                     f.bits, f.asym)
                                       : group_scale(w, rows, cols, (enum quant_layout)layout, u,
                                                     i0, i1, f.bits, f.asym);
                        for (int i = i0; i < i1; i++) {
                            size_t at = layout == QUANT_OUT_IN ? (size_t)u * cols + i
                                                               : (size_t)i * cols + u;
                            if (fabs((double)w[at] - o[at]) > D / 2 * (1 + 1e-5) + 1e-30)
                                bound_bad++;
                        }
                    }
                /* idempotence: quantizing the dequantized weights changes nothing for the
                 * symmetric formats; for the asymmetric ones the codes stay, but D' = (hi' -
                 * lo')/(2^b - 1) is rounded again, which may move a value by an ulp or two */
                quant_fake(o2, o, rows, cols, (enum quant_layout)layout, &f);
                if (!f.asym && memcmp(o, o2, n * 4) != 0)
                    idem_bad++;
                for (size_t i = 0; f.asym && i < n; i++)
                    idem_bad += fabsf(o[i] - o2[i]) > 2.5e-7f * fabsf(o[i]);
                if (f.asym && quant_group_len(&f)) {
                    size_t nb = quant_blocks_bytes(rows, cols, (enum quant_layout)layout, &f);
                    size_t bs = quant_block_size(&f);
                    unsigned char *b1 = xmalloc(nb), *b2 = xmalloc(nb);
                    quant_pack(b1, w, rows, cols, (enum quant_layout)layout, &f);
                    quant_pack(b2, o, rows, cols, (enum quant_layout)layout, &f);
                    for (size_t at = 0; at < nb; at += bs)     /* zp and codes, not d */
                        idem_bad += memcmp(b1 + at + 4, b2 + at + 4, bs - 4) != 0;
                    free(b1);
                    free(b2);
                }
                /* thread counts */
                omp_set_num_threads(3);
                quant_fake(o3, w, rows, cols, (enum quant_layout)layout, &f);
                omp_set_num_threads(1);
                quant_fake(o2, w, rows, cols, (enum quant_layout)layout, &f);
                omp_set_num_threads(2);
                thread_bad += memcmp(o, o2, n * 4) != 0 || memcmp(o, o3, n * 4) != 0;
                /* in place */
                memcpy(o2, w, n * 4);
                quant_fake(o2, o2, rows, cols, (enum quant_layout)layout, &f);
                thread_bad += memcmp(o, o2, n * 4) != 0;
            }
    CHECK_EQ_INT(cases, nshapes * 2 * N_NAMES);
    CHECK_EQ_INT(bound_bad, 0);
    CHECK_EQ_INT(idem_bad, 0);
    CHECK_EQ_INT(thread_bad, 0);
    free(w);
    free(o);
    free(o2);
    free(o3);
}

/* Values already on a group's grid come back exactly. */
static void test_on_grid(void)
{
    float w[64], o[64];
    for (int i = 0; i < 64; i++)
        w[i] = 0.125f * (float)((i * 5) % 15 - 7);            /* D = 0.125, q in [-7, 7] */
    w[0] = -0.875f;
    w[1] = 0.875f;
    fake_all(o, w, 2, 32, QUANT_OUT_IN, "q4_g32");
    CHECK(memcmp(o, w, sizeof(w)) == 0);
    fake_all(o, w, 64, 1, QUANT_IN_OUT, "q4");
    CHECK(memcmp(o, w, sizeof(w)) == 0);
    for (int i = 0; i < 64; i++)
        w[i] = 0.5f * (float)(i % 16) - 3.0f;                 /* lo -3, hi 4.5: D 0.5, zp 6 */
    fake_all(o, w, 1, 64, QUANT_OUT_IN, "q4_g64_asym");
    CHECK(memcmp(o, w, sizeof(w)) == 0);
    fake_all(o, w, 1, 64, QUANT_OUT_IN, "q8_asym");
    for (int i = 0; i < 64; i++)
        CHECK_NEAR(o[i], w[i], 7.5 / 255 / 2);
}

static void test_params(void)
{
    struct nn_params p = {0};
    int sl[2] = {8, 24}, sb[1] = {24}, se[2] = {16, 8}, sc[4] = {4, 2, 3, 3}, sn[1] = {8};
    nn_params_add(&p, "h.0.attn.c_attn.weight", NN_T_LINEAR, 2, sl);
    nn_params_add(&p, "h.0.attn.c_attn.bias", NN_T_BIAS, 1, sb);
    nn_params_add(&p, "wte.weight", NN_T_EMBED, 2, se);
    nn_params_add(&p, "conv.0.weight", NN_T_CONV, 4, sc);
    nn_params_add(&p, "ln_f.weight", NN_T_NORM, 1, sn);
    nn_params_alloc(&p);
    random_matrix(p.data, p.n, 5);
    float *orig = xmalloc(p.n * 4);
    memcpy(orig, p.data, p.n * 4);
    struct quant_format f = fmt("q4_row");
    struct lethe_error err = {0};
    CHECK_EQ_INT(quant_params(&p, &f, QUANT_KINDS_DEFAULT, QUANT_IN_OUT, &err), 2);
    float want[8 * 24];
    const struct nn_tensor *t = nn_params_find(&p, "h.0.attn.c_attn.weight");
    quant_fake_ref(want, orig + t->offset, 8, 24, QUANT_IN_OUT, &f);
    CHECK(memcmp(want, nn_tensor_data(&p, t), sizeof(float) * t->numel) == 0);
    t = nn_params_find(&p, "conv.0.weight");
    quant_fake_ref(want, orig + t->offset, 4, 18, QUANT_OUT_IN, &f);
    CHECK(memcmp(want, nn_tensor_data(&p, t), sizeof(float) * t->numel) == 0);
    const char *same[] = {"h.0.attn.c_attn.bias", "wte.weight", "ln_f.weight"};
    for (int i = 0; i < 3; i++) {
        t = nn_params_find(&p, same[i]);
        CHECK(memcmp(orig + t->offset, nn_tensor_data(&p, t), sizeof(float) * t->numel) == 0);
    }
    /* embeddings on request: rows are units */
    memcpy(p.data, orig, p.n * 4);
    CHECK_EQ_INT(quant_params(&p, &f, QUANT_KINDS_DEFAULT | 1u << NN_T_EMBED, QUANT_IN_OUT,
                              &err), 3);
    t = nn_params_find(&p, "wte.weight");
    quant_fake_ref(want, orig + t->offset, 16, 8, QUANT_OUT_IN, &f);
    CHECK(memcmp(want, nn_tensor_data(&p, t), sizeof(float) * t->numel) == 0);
    /* a non-finite weight: an error and nothing changed */
    memcpy(p.data, orig, p.n * 4);
    t = nn_params_find(&p, "conv.0.weight");
    nn_tensor_data(&p, t)[7] = NAN;
    float *before = xmalloc(p.n * 4);
    memcpy(before, p.data, p.n * 4);
    CHECK(quant_params(&p, &f, QUANT_KINDS_DEFAULT, QUANT_IN_OUT, &err) == -LETHE_EINPUT);
    CHECK_STREQ(err.msg, "cannot quantize tensor 'conv.0.weight': element 7 is not finite");
    CHECK(memcmp(before, p.data, p.n * 4) == 0);
    /* a kind that is not a matrix */
    CHECK(quant_params(&p, &f, 1u << NN_T_BIAS, QUANT_IN_OUT, &err) == -LETHE_EINPUT);
    CHECK_STREQ(err.msg, "cannot quantize tensor 'h.0.attn.c_attn.bias': not a matrix of a "
                "linear, convolution or embedding layer");
    free(before);
    free(orig);
    nn_params_release(&p);
}

int main(void)
{
    omp_set_num_threads(2);
    RUN(test_parse);
    RUN(test_spec_example);
    RUN(test_hand_examples);
    RUN(test_properties);
    RUN(test_on_grid);
    RUN(test_params);
    return test_done();
}
