/* Tests of FLAT and GRIN (METHODS.md 2.1-2.2): FLAT's loss against the worked example, its
 * derivatives and parameter gradient against finite differences, GRIN's gradients, selection,
 * noise and masked fine-tuning (every unselected weight bit-identical), directions on a tiny
 * GPT trained on generated QA, and determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "methods/lm_impl.h"
#include "methods/method.h"
#include "nn/nn.h"
#include "tests/methods_util.h"
#include "tests/test.h"

/* ---- FLAT's loss ------------------------------------------------------------------------ */

static void test_flat_example(void)
{
    /* METHODS.md 2.2: P̄_e = 0.2, P̄_f = 0.6 */
    const double want[FLAT_COUNT] = {0.470320, 0.249332, 0.490000, 0.169837};
    const double pe = 0.2, pf = 0.6;
    for (int v = 0; v < FLAT_COUNT; v++)
        CHECK_NEAR(lm_flat(NULL, NULL, &pe, &pf, 1, (enum flat_variant)v), want[v], 1e-6);
    /* by hand: kl = -0.2 + exp(-0.4); pearson = -0.2 + 0.6^2/4 + 0.6 */
    CHECK_NEAR(lm_flat(NULL, NULL, &pe, &pf, 1, FLAT_KL), -0.2 + exp(-0.4), 1e-15);
    CHECK_NEAR(lm_flat(NULL, NULL, &pe, &pf, 1, FLAT_PEARSON), 0.49, 1e-15);
    /* the mean over items */
    const double pe2[2] = {0.2, 0.9}, pf2[2] = {0.6, 0.1};
    double zero = lm_flat(NULL, NULL, pe2, pf2, 1, FLAT_JS);
    double one = lm_flat(NULL, NULL, pe2 + 1, pf2 + 1, 1, FLAT_JS);
    CHECK_NEAR(lm_flat(NULL, NULL, pe2, pf2, 2, FLAT_JS), (zero + one) / 2, 1e-15);
    enum flat_variant v;
    CHECK_EQ_INT(flat_variant_parse("tv", &v), 0);
    CHECK_EQ_INT(v, FLAT_TV);
    CHECK(flat_variant_parse("hellinger", &v) < 0);
}

static void test_flat_derivatives(void)
{
    const double pe[3] = {0.05, 0.4, 0.93}, pf[3] = {0.7, 0.01, 0.5};
    for (int v = 0; v < FLAT_COUNT; v++) {
        double de[3], df[3], x[3], y[3];
        lm_flat(de, df, pe, pf, 3, (enum flat_variant)v);
        for (int i = 0; i < 3; i++) {
            const double h = 1e-6;
            memcpy(x, pe, sizeof(x));
            memcpy(y, pf, sizeof(y));
            x[i] = pe[i] + h;
            double fp = lm_flat(NULL, NULL, x, pf, 3, (enum flat_variant)v);
            x[i] = pe[i] - h;
            double fm = lm_flat(NULL, NULL, x, pf, 3, (enum flat_variant)v);
            CHECK_NEAR(de[i], (fp - fm) / (2 * h), 1e-7);
            y[i] = pf[i] + h;
            fp = lm_flat(NULL, NULL, pe, y, 3, (enum flat_variant)v);
            y[i] = pf[i] - h;
            fm = lm_flat(NULL, NULL, pe, y, 3, (enum flat_variant)v);
            CHECK_NEAR(df[i], (fp - fm) / (2 * h), 1e-7);
            /* the signs: the template term is rewarded, the forget term penalised */
            CHECK(de[i] < 0 && df[i] > 0);
        }
    }
}


/* Runs method name on a copy of the trained model with args (plus epochs 5, batch 4,
 * grad_accum 1, lr 3e-3 unless given); returns the copy (gpt_free), NULL on failure. */
static struct gpt *unlearn(const char *name, const struct method_arg *extra, size_t n_extra,
                           uint64_t seed, struct lethe_error *err)
{
    const struct method *m = method_lookup(name);
    struct gpt *copy = gpt_clone(trained);
    struct method_arg args[16];
    size_t n = 0;
    for (size_t i = 0; i < n_extra; i++)
        args[n++] = extra[i];
    static const struct method_arg defs[] = {{"epochs", 5, NULL}, {"batch", 4, NULL},
                                             {"grad_accum", 1, NULL}, {"lr", 3e-3, NULL}};
    for (size_t d = 0; d < 4; d++) {
        int given = 0;
        for (size_t i = 0; i < n_extra; i++)
            given |= strcmp(extra[i].name, defs[d].name) == 0;
        if (!given)
            args[n++] = defs[d];
    }
    struct method_ctx c = {.model = copy, .ref = trained, .forget = &forget_set,
                           .retain = &retain_set, .refusals = &refusal_set, .args = args,
                           .n_args = n, .base_lr = 1e-3, .seed = seed};
    if (m->unlearn_lm(&c, err) < 0) {
        gpt_free(copy);
        return NULL;
    }
    return copy;
}

/* ---- FLAT on the tiny GPT ------------------------------------------------------------- */

static void test_flat_grad_check(void)
{
    const size_t fi[4] = {0, 3, 5, 6};
    static const char *const names[FLAT_COUNT] = {"kl", "js", "pearson", "tv"};
    for (int v = 0; v < FLAT_COUNT; v++) {
        struct gpt *m = gpt_clone(trained);
        struct nn_params *p = gpt_params(m);
        struct nn_rng rng;
        nn_rng_seed(&rng, 9);
        for (size_t i = 0; i < p->n; i++)          /* probabilities away from 0 and 1 */
            p->data[i] += (float)(0.05 * nn_rng_normal(&rng));
        const struct method_arg args[] = {{"variant", 0, names[v]}};
        struct method_ctx c = {.model = m, .forget = &forget_set, .refusals = &refusal_set,
                               .seed = 1, .args = args, .n_args = 1};
        struct lm_loop L;
        struct lethe_error err = {0};
        CHECK_EQ_INT(lm_loop_init(&L, &c, &lm_obj_flat, &err), 0);
        for (int i = 0; i < N_FORGET; i++)
            L.refusal[i] = (size_t)i % 3;
        nn_params_zero_grad(p);
        double loss = lm_loop_micro(&L, fi, NULL, 4, 1.0);
        CHECK(isfinite(loss));
        float *g = xmalloc(p->n * sizeof(float));
        memcpy(g, p->grad, p->n * sizeof(float));
        char label[64];
        snprintf(label, sizeof(label), "flat %s", names[v]);
        CHECK(!loop_fd_check(&L, p, fi, NULL, g, 6, 1e-4, label));
        free(g);
        lm_loop_release(&L);
        gpt_free(m);
    }
}

/* The loss the loop reports for one micro-batch equals lm_flat on mean token probabilities
 * computed here from an independent forward. */
static void test_flat_loss_value(void)
{
    const size_t fi[2] = {1, 6};
    struct gpt *m = gpt_clone(trained);
    struct method_ctx c = {.model = m, .forget = &forget_set, .refusals = &refusal_set,
                           .seed = 1};
    struct lm_loop L;
    struct lethe_error err = {0};
    CHECK_EQ_INT(lm_loop_init(&L, &c, &lm_obj_flat, &err), 0);
    L.refusal[1] = 2;
    L.refusal[6] = 1;
    nn_params_zero_grad(gpt_params(m));
    double got = lm_loop_micro(&L, fi, NULL, 2, 1.0);
    double pe[2], pf[2];
    for (int i = 0; i < 2; i++) {
        const struct lm_example *e = &items[fi[i]], *r = &refusal_ex[L.refusal[fi[i]]];
        int seq[16], n = 0;
        for (int t = 0; t < e->prompt_len; t++)
            seq[n++] = e->ids[t];
        for (int t = 0; t < r->len; t++)
            seq[n++] = r->ids[t];
        for (int which = 0; which < 2; which++) {
            const int *ids = which ? e->ids : seq;
            int len = which ? e->len : n;
            int tg[16];
            float lp[16];
            for (int t = 0; t < len; t++)
                tg[t] = t + 1 < len && t + 1 >= e->prompt_len ? ids[t + 1] : -1;
            gpt_forward(m, ids, &len, 1, len);
            gpt_logprobs(m, tg, lp);
            double s = 0;
            int k = 0;
            for (int t = 0; t < len; t++)
                if (tg[t] >= 0) {
                    s += exp((double)lp[t]);
                    k++;
                }
            (which ? pf : pe)[i] = s / k;
        }
    }
    CHECK_NEAR(got, lm_flat(NULL, NULL, pe, pf, 2, FLAT_KL), 1e-5);
    lm_loop_release(&L);
    gpt_free(m);
}

/* Mean token probability of the scored positions of ids[0..len) (scored from plen - 1). */
static double mean_prob(struct gpt *m, const int *ids, int len, int plen)
{
    int tg[16];
    float lp[16];
    for (int t = 0; t < len; t++)
        tg[t] = t + 1 < len && t + 1 >= plen ? ids[t + 1] : -1;
    gpt_forward(m, ids, &len, 1, len);
    gpt_logprobs(m, tg, lp);
    double s = 0;
    int k = 0;
    for (int t = 0; t < len; t++)
        if (tg[t] >= 0) {
            s += exp((double)lp[t]);
            k++;
        }
    return s / k;
}

/* FLAT's objective over every forget item paired with every template. */
static double flat_objective(struct gpt *m, enum flat_variant v)
{
    double pe[N_FORGET * 3], pf[N_FORGET * 3];
    for (int i = 0, n = 0; i < N_FORGET; i++)
        for (int k = 0; k < 3; k++, n++) {
            int seq[16], len = 0;
            for (int t = 0; t < items[i].prompt_len; t++)
                seq[len++] = items[i].ids[t];
            for (int t = 0; t < refusal_ex[k].len; t++)
                seq[len++] = refusal_ex[k].ids[t];
            pe[n] = mean_prob(m, seq, len, items[i].prompt_len);
            pf[n] = mean_prob(m, items[i].ids, items[i].len, items[i].prompt_len);
        }
    return lm_flat(NULL, NULL, pe, pf, N_FORGET * 3, v);
}

static void test_flat_direction(void)
{
    double f0 = set_nll(trained, &forget_set), w0 = refusal_nll(trained);
    double r0 = set_nll(trained, &retain_set);
    printf("# original: forget nll %.4f, retain nll %.4f, refusal nll %.4f\n", f0, r0, w0);
    CHECK(f0 < 0.5);
    static const char *const names[FLAT_COUNT] = {"kl", "js", "pearson", "tv"};
    for (int v = 0; v < FLAT_COUNT; v++) {
        const struct method_arg args[] = {{"variant", 0, names[v]}};
        struct lethe_error err = {0};
        struct gpt *m = unlearn("flat", args, 1, 1, &err);
        CHECK(m != NULL);
        if (!m) {
            printf("# flat %s: %s\n", names[v], err.msg);
            continue;
        }
        double f = set_nll(m, &forget_set), w = refusal_nll(m), r = set_nll(m, &retain_set);
        double j0 = flat_objective(trained, (enum flat_variant)v);
        double j = flat_objective(m, (enum flat_variant)v);
        printf("# flat %-8s objective %.5f -> %.5f, forget nll %.4f, refusal nll %.4f, "
               "retain nll %.4f\n", names[v], j0, j, f, w, r);
        CHECK(j < j0 - 0.01);           /* the loss it minimises went down */
        CHECK(f > f0 + 0.1);            /* the forget answers became less likely */
        CHECK(w < w0);                  /* and the templates no less likely */
        gpt_free(m);
    }
}

static void test_flat_determinism_errors(void)
{
    struct lethe_error err = {0};
    struct gpt *a = unlearn("flat", NULL, 0, 42, &err), *b = unlearn("flat", NULL, 0, 42, &err);
    struct gpt *c = unlearn("flat", NULL, 0, 43, &err);
    CHECK(a && b && c);
    if (a && b && c) {
        struct nn_params *pa = gpt_params(a), *pb = gpt_params(b), *pc = gpt_params(c);
        CHECK(memcmp(pa->data, pb->data, pa->n * sizeof(float)) == 0);
        CHECK(memcmp(pa->data, pc->data, pa->n * sizeof(float)) != 0);  /* template draws */
    }
    gpt_free(a);
    gpt_free(b);
    gpt_free(c);
    const struct method_arg bad[] = {{"variant", 0, "hellinger"}};
    CHECK(unlearn("flat", bad, 1, 1, &err) == NULL);
    CHECK_STREQ(err.msg, "method 'flat': variant 'hellinger' is not kl, js, pearson or tv");
    struct gpt *m = gpt_clone(trained);
    struct method_ctx ctx = {.model = m, .forget = &forget_set, .base_lr = 1e-3};
    CHECK(flat_unlearn_lm(&ctx, &err) < 0);
    CHECK_STREQ(err.msg, "method 'flat': no refusal answers");
    gpt_free(m);
    const struct method *fm = method_lookup("flat");
    CHECK(fm && fm->unlearn_lm == flat_unlearn_lm);
}

/* ---- GRIN --------------------------------------------------------------------------------- */

/* g_f (accumulated over batches of 3, then divided by the token count) equals the gradient of
 * the token-mean NLL over the whole forget set in one batch (the engine's training loss). */
static void test_grin_gradients(void)
{
    struct gpt *m = gpt_clone(trained);
    struct nn_params *p = gpt_params(m);
    nn_params_alloc_grad(p);
    struct nn_rng rng;
    nn_rng_seed(&rng, 4);
    for (size_t i = 0; i < p->n; i++)              /* gradients well above rounding */
        p->data[i] += (float)(0.05 * nn_rng_normal(&rng));
    size_t idx[N_FORGET];
    for (int i = 0; i < N_FORGET; i++)
        idx[i] = (size_t)i;
    nn_params_zero_grad(p);
    long k = grin_grad_sum(m, &forget_set, idx, N_FORGET, 3);
    CHECK_EQ_INT(k, N_FORGET * 3);              /* two answer tokens + EOS each */
    float *g = xmalloc(p->n * sizeof(float));
    for (size_t j = 0; j < p->n; j++)
        g[j] = p->grad[j] / (float)k;
    int tok[N_FORGET * 7], tg[N_FORGET * 7], len[N_FORGET];
    items_batch(tok, tg, len, N_FORGET);
    nn_params_zero_grad(p);
    gpt_forward_loss(m, tok, len, tg, N_FORGET, 7);
    gpt_backward_loss(m);
    double num = 0, den = 0;
    for (size_t j = 0; j < p->n; j++) {
        num += ((double)g[j] - p->grad[j]) * ((double)g[j] - p->grad[j]);
        den += (double)p->grad[j] * p->grad[j];
    }
    CHECK(den > 0);
    printf("# g_f against the one-batch gradient: relative error %.3g\n", sqrt(num / den));
    CHECK(sqrt(num / den) < 1e-5);
    free(g);
    gpt_free(m);
}

/* A hand-made table: W [2, 3] (linear), ln [3] (norm), b [3] (bias), E [4, 2] (embedding),
 * F [2, 2] (frozen linear). Scalars are named by (tensor, element); flat indices follow the
 * table's offsets (tensors may be padded apart). */
static const int sel_sizes[5] = {6, 3, 3, 8, 4};
static const float sel_gf[24] = {1, 4, 2, 2, 0, 3,   9, 9, 9,   9, 9, 9,
                                 2, 1, 4, 0, 2, 8, 1, 1,   9, 9, 9, 9};
static const float sel_gr[24] = {1, 1, 1, 1, 1, 1,   0, 0, 0,   0, 0, 0,
                                 1, 1, 1, 1, 1, 1, 1, 1,   0, 0, 0, 0};

/* Scatters the 24 listed values into a (p->n) buffer at the tensors' offsets. */
static float *scatter(const struct nn_params *p, const float *v)
{
    float *out = xcalloc(p->n, sizeof(float));
    for (int i = 0, at = 0; i < 5; at += sel_sizes[i], i++)
        memcpy(out + p->tensors[i].offset, v + at, (size_t)sel_sizes[i] * sizeof(float));
    return out;
}

/* The mask of the 24 listed scalars, gathered back from the tensors' offsets; checks that
 * padding between tensors is never selected. */
static void gather(const struct nn_params *p, const unsigned char *mask, unsigned char *out)
{
    size_t on = 0;
    for (size_t j = 0; j < p->n; j++)
        on += mask[j];
    size_t listed = 0;
    for (int i = 0, at = 0; i < 5; at += sel_sizes[i], i++)
        for (int k = 0; k < sel_sizes[i]; k++) {
            out[at + k] = mask[p->tensors[i].offset + (size_t)k];
            listed += out[at + k];
        }
    CHECK_EQ_INT(on, listed);
}

static void test_grin_select(void)
{
    struct nn_params p = {0};
    nn_params_add(&p, "W", NN_T_LINEAR, 2, (const int[]){2, 3});
    nn_params_add(&p, "ln", NN_T_NORM, 1, (const int[]){3});
    nn_params_add(&p, "b", NN_T_BIAS, 1, (const int[]){3});
    nn_params_add(&p, "E", NN_T_EMBED, 2, (const int[]){4, 2});
    nn_params_add(&p, "F", NN_T_LINEAR, 2, (const int[]){2, 2});
    nn_params_alloc(&p);
    CHECK_EQ_INT(nn_params_freeze(&p, "F", 1), 1);
    float *gf = scatter(&p, sel_gf), *gr = scatter(&p, sel_gr);
    unsigned char got[24];
    /* listed index:    W 0..5          ln 6..8    b 9..11    E 12..19                F 20..23
     * eligible: W and E, 14 scalars, mean |g_r| = 1, eps = 0.5 * 1: s = gf / 1.5;
     * rho 0.3 -> k = ceil(4.2) = 5: the 8 (17), the 4s (1, 14), the 3 (5), then one of the
     * four 2s (2, 3, 12, 16): the lowest flat index, 2 */
    struct grin_selection s;
    struct lethe_error err = {0};
    CHECK_EQ_INT(grin_select(&p, gf, gr, 0.3, 0.5, &s, &err), 0);
    CHECK_EQ_INT(s.k, 5);
    CHECK_EQ_INT(s.n_eligible, 14);
    CHECK_NEAR(s.eps, 0.5, 1e-15);
    const unsigned char want[24] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                    0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    gather(&p, s.mask, got);
    for (int j = 0; j < 24; j++)
        CHECK_EQ_INT(got[j], want[j]);
    CHECK_EQ_INT(s.per_tensor[0], 3);
    CHECK_EQ_INT(s.per_tensor[1], 0);
    CHECK_EQ_INT(s.per_tensor[2], 0);
    CHECK_EQ_INT(s.per_tensor[3], 2);
    CHECK_EQ_INT(s.per_tensor[4], 0);
    grin_selection_release(&s);
    /* the retain gradient matters: a large g_r suppresses the largest g_f; rho 1/14 -> k = 1,
     * the top is now 4 / 1.008 at 1 and 14: the lower index, 1 */
    gr[p.tensors[3].offset + 5] = 100;
    CHECK_EQ_INT(grin_select(&p, gf, gr, 1.0 / 14, 1e-3, &s, &err), 0);
    CHECK_EQ_INT(s.k, 1);
    CHECK_NEAR(s.eps, 1e-3 * 113 / 14, 1e-15);
    gather(&p, s.mask, got);
    for (int j = 0; j < 24; j++)
        CHECK_EQ_INT(got[j], j == 1);
    grin_selection_release(&s);
    /* rho 1 selects every eligible scalar and nothing else */
    CHECK_EQ_INT(grin_select(&p, gf, gr, 1.0, 1e-3, &s, &err), 0);
    CHECK_EQ_INT(s.k, 14);
    gather(&p, s.mask, got);
    for (int j = 0; j < 24; j++)
        CHECK_EQ_INT(got[j], j < 6 || (j >= 12 && j < 20));
    grin_selection_release(&s);
    CHECK(grin_select(&p, gf, gr, 0, 1e-3, &s, &err) < 0);
    CHECK_STREQ(err.msg, "method 'grin': rho 0 is not in (0, 1]");
    free(gf);
    free(gr);
    nn_params_release(&p);
}

static void test_grin_noise(void)
{
    struct nn_params p = {0};
    nn_params_add(&p, "A", NN_T_LINEAR, 2, (const int[]){100, 100});
    nn_params_add(&p, "B", NN_T_LINEAR, 2, (const int[]){10, 10});
    nn_params_alloc(&p);
    for (size_t j = 0; j < p.n; j++)
        p.data[j] = j % 2 ? 2.0f : -2.0f;           /* rms 2 */
    unsigned char *mask = xcalloc(p.n, 1);
    for (size_t j = 0; j < 10000; j += 2)
        mask[j] = 1;                                /* half of A, none of B */
    struct nn_rng r;
    nn_rng_seed(&r, 3);
    grin_noise(&p, mask, 0.1, &r);
    double ss = 0;
    for (size_t j = 0; j < p.n; j++) {
        double d = p.data[j] - (j % 2 ? 2.0 : -2.0);
        if (mask[j])
            ss += d * d;
        else
            CHECK(d == 0);
    }
    /* 5000 draws of N(0, 0.2^2): the sample std within 5% (about 3.5 standard errors) */
    CHECK_NEAR(sqrt(ss / 5000), 0.2, 0.01);
    free(mask);
    nn_params_release(&p);
}

static void test_grin_masked(void)
{
    double f0 = set_nll(trained, &forget_set), w0 = refusal_nll(trained);
    static const char *const bases[] = {"grad_diff", "npo_gdr", "idk_nll"};
    for (int b = 0; b < 3; b++) {
        struct gpt *m = gpt_clone(trained);
        const struct method_arg args[] = {{"base", 0, bases[b]}, {"rho", 0.05, NULL},
                                          {"epochs", 5, NULL}, {"batch", 4, NULL},
                                          {"grad_accum", 1, NULL}, {"lr", 1e-2, NULL},
                                          {"weight_decay", 0.1, NULL}};
        struct method_ctx c = {.model = m, .ref = trained, .forget = &forget_set,
                               .retain = &retain_set, .refusals = &refusal_set, .args = args,
                               .n_args = 7, .base_lr = 1e-3, .seed = 7};
        struct grin_selection s;
        struct lethe_error err = {0};
        int rc = grin_unlearn(&c, &s, &err);
        if (rc < 0)
            printf("# grin %s: %s\n", bases[b], err.msg);
        CHECK_EQ_INT(rc, 0);
        if (rc < 0) {
            gpt_free(m);
            continue;
        }
        const struct nn_params *p = gpt_params(m), *p0 = gpt_params(trained);
        size_t changed = 0, outside = 0, sum = 0;
        for (size_t j = 0; j < p->n; j++) {
            int diff = memcmp(&p->data[j], &p0->data[j], sizeof(float)) != 0;
            changed += (size_t)diff;
            outside += (size_t)(diff && !s.mask[j]);
        }
        for (int i = 0; i < p->n_tensors; i++) {
            sum += s.per_tensor[i];
            if (!grin_eligible(&p->tensors[i]))
                CHECK_EQ_INT(s.per_tensor[i], 0);
        }
        CHECK_EQ_INT(outside, 0);                   /* every other weight bit-identical */
        CHECK_EQ_INT(sum, s.k);
        CHECK_EQ_INT(s.k, (size_t)ceil(0.05 * (double)s.n_eligible - 1e-9));
        CHECK(changed > s.k * 9 / 10);              /* the selected ones did move */
        double f = set_nll(m, &forget_set), w = refusal_nll(m);
        printf("# grin %-9s k %zu of %zu eligible, forget nll %.4f -> %.4f, refusal nll %.4f "
               "-> %.4f, retain nll %.4f\n", bases[b], s.k, s.n_eligible, f0, f, w0, w,
               set_nll(m, &retain_set));
        if (b < 2)
            CHECK(f > f0 + 0.1);        /* the ascent bases raise the forget NLL */
        else
            CHECK(w < w0 - 1.0);        /* idk_nll makes the refusals likelier */
        grin_selection_release(&s);
        gpt_free(m);
    }
}

static void test_grin_determinism_errors(void)
{
    const struct method_arg args[] = {{"rho", 0.05, NULL}};
    struct lethe_error err = {0};
    struct gpt *a = unlearn("grin", args, 1, 42, &err), *b = unlearn("grin", args, 1, 42, &err);
    struct gpt *c = unlearn("grin", args, 1, 43, &err);
    CHECK(a && b && c);
    if (a && b && c) {
        struct nn_params *pa = gpt_params(a), *pb = gpt_params(b), *pc = gpt_params(c);
        CHECK(memcmp(pa->data, pb->data, pa->n * sizeof(float)) == 0);
        CHECK(memcmp(pa->data, pc->data, pa->n * sizeof(float)) != 0);
    }
    gpt_free(a);
    gpt_free(b);
    gpt_free(c);
    const struct method_arg bad_base[] = {{"base", 0, "rmu"}};
    CHECK(unlearn("grin", bad_base, 1, 1, &err) == NULL);
    CHECK_STREQ(err.msg, "method 'grin': base 'rmu' is not grad_diff, npo_gdr or idk_nll");
    const struct method_arg bad_rho[] = {{"rho", 1.5, NULL}};
    CHECK(unlearn("grin", bad_rho, 1, 1, &err) == NULL);
    CHECK_STREQ(err.msg, "method 'grin': rho 1.5 is not in (0, 1]");
    struct gpt *m = gpt_clone(trained);
    struct lm_set empty = {NULL, 0};
    struct method_ctx ctx = {.model = m, .forget = &forget_set, .retain = &empty,
                             .base_lr = 1e-3};
    CHECK(grin_unlearn_lm(&ctx, &err) < 0);
    CHECK_STREQ(err.msg, "method 'grin': the retain set is empty");
    const struct method_arg npo[] = {{"base", 0, "npo_gdr"}};
    ctx.retain = &retain_set;
    ctx.args = npo;
    ctx.n_args = 1;
    CHECK(grin_unlearn_lm(&ctx, &err) < 0);
    CHECK_STREQ(err.msg, "method 'grin': no reference model");
    CHECK(memcmp(gpt_params(m)->data, gpt_params(trained)->data,
                 gpt_params(m)->n * sizeof(float)) == 0);
    gpt_free(m);
    const struct method *gm = method_lookup("grin");
    CHECK(gm && gm->unlearn_lm == grin_unlearn_lm);
}

int main(void)
{
    RUN(test_flat_example);
    RUN(test_flat_derivatives);
    RUN(test_grin_select);
    RUN(test_grin_noise);
    make_data();
    trained = train_original();
    RUN(test_flat_grad_check);
    RUN(test_flat_loss_value);
    RUN(test_flat_direction);
    RUN(test_flat_determinism_errors);
    RUN(test_grin_gradients);
    RUN(test_grin_masked);
    RUN(test_grin_determinism_errors);
    gpt_free(trained);
    return test_done();
}
