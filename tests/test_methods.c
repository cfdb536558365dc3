/* Tests of the language-model methods: each loss against METHODS.md's worked examples, their
 * derivatives and every method's parameter gradient against finite differences on a tiny GPT,
 * the direction each method moves a tiny GPT trained on generated QA, and determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "methods/lm_impl.h"
#include "methods/method.h"
#include "nn/nn.h"
#include "tests/methods_util.h"
#include "tests/test.h"

/* ---- losses against METHODS.md ---------------------------------------------------------- */

static void test_loss_examples(void)
{
    double a = -12, a_ref = -10, d;
    CHECK_NEAR(lm_npo(&d, &a, &a_ref, 1, 0.1), 11.962777, 1e-6);
    CHECK_NEAR(lm_npo(&d, &a_ref, &a_ref, 1, 0.1), 20 * log(2.0), 1e-9);
    CHECK_NEAR(d, 1.0, 1e-12);                          /* 2 sigmoid(0) */
    double l = 0.2;
    CHECK_NEAR(lm_simnpo(&d, &l, 1, 4.5, 0.0), 0.151624, 1e-6);
    double w = -8, w_ref = -9, dw, dl;
    CHECK_NEAR(lm_dpo(&dw, &dl, &w, &w_ref, &a, &a_ref, 1, 0.1), 11.087105, 1e-6);
    CHECK_NEAR(dw, -dl, 1e-15);
    CHECK(dw < 0);                                      /* raising log pi(w) lowers the loss */
    /* token mean over the batch vs mean of item means: 0.42 vs 0.475 */
    const float lp[6] = {-0.2f, -0.1f, -0.3f, -1.0f, -0.5f, 0.0f};
    const int tg[6] = {5, 5, 5, 5, 5, -1};
    CHECK_NEAR(lm_ce_tok(NULL, lp, tg, 2, 3, 1.0), 0.42, 1e-7);
    double seq[2];
    int cnt[2];
    lm_seq_logprob(seq, cnt, lp, tg, 2, 3);
    CHECK_EQ_INT(cnt[0], 3);
    CHECK_EQ_INT(cnt[1], 2);
    CHECK_NEAR((-seq[0] / cnt[0] - seq[1] / cnt[1]) / 2, 0.475, 1e-7);
    CHECK_NEAR(lm_log_sigmoid(-800), -800, 1e-9);
    CHECK_NEAR(lm_log_sigmoid(800), 0, 1e-300);
    CHECK_NEAR(lm_sigmoid(-800), 0, 1e-300);
}

/* d(loss)/d(input) of each pure loss against central differences, in double. */
static void test_loss_derivatives(void)
{
    const double h = 1e-6;
    double x[3] = {-12.5, -3.0, -30.0}, r[3] = {-10.0, -4.0, -29.0}, g[3], gw[3], gl[3];
    double y[3] = {-7.0, -2.0, -40.0}, yr[3] = {-9.0, -2.5, -35.0};
    lm_npo(g, x, r, 3, 0.1);
    for (int i = 0; i < 3; i++) {
        double s = x[i];
        x[i] = s + h;
        double fp = lm_npo(NULL, x, r, 3, 0.1);
        x[i] = s - h;
        double fm = lm_npo(NULL, x, r, 3, 0.1);
        x[i] = s;
        CHECK_NEAR(g[i], (fp - fm) / (2 * h), 1e-6);
    }
    double nll[3] = {0.2, 1.5, 4.0};
    lm_simnpo(g, nll, 3, 4.5, 0.3);
    for (int i = 0; i < 3; i++) {
        double s = nll[i];
        nll[i] = s + h;
        double fp = lm_simnpo(NULL, nll, 3, 4.5, 0.3);
        nll[i] = s - h;
        double fm = lm_simnpo(NULL, nll, 3, 4.5, 0.3);
        nll[i] = s;
        CHECK_NEAR(g[i], (fp - fm) / (2 * h), 1e-6);
    }
    lm_dpo(gw, gl, y, yr, x, r, 3, 0.1);
    for (int i = 0; i < 3; i++) {
        double s = y[i];
        y[i] = s + h;
        double fp = lm_dpo(NULL, NULL, y, yr, x, r, 3, 0.1);
        y[i] = s - h;
        double fm = lm_dpo(NULL, NULL, y, yr, x, r, 3, 0.1);
        y[i] = s;
        CHECK_NEAR(gw[i], (fp - fm) / (2 * h), 1e-6);
        s = x[i];
        x[i] = s + h;
        fp = lm_dpo(NULL, NULL, y, yr, x, r, 3, 0.1);
        x[i] = s - h;
        fm = lm_dpo(NULL, NULL, y, yr, x, r, 3, 0.1);
        x[i] = s;
        CHECK_NEAR(gl[i], (fp - fm) / (2 * h), 1e-6);
    }
    /* CE_tok: d/dlp = -1/count on scored positions, 0 elsewhere */
    const float lp[4] = {-1, -2, -3, -4};
    const int tg[4] = {1, -1, 2, 3};
    float dlp[4];
    CHECK_NEAR(lm_ce_tok(dlp, lp, tg, 2, 2, 2.0), 8.0 / 3, 1e-6);
    CHECK_NEAR(dlp[0], -2.0 / 3, 1e-7);
    CHECK_NEAR(dlp[1], 0, 0);
    CHECK_NEAR(dlp[3], -2.0 / 3, 1e-7);
    /* KL_R: zero at z = ref; derivative against differences; padding ignored */
    enum { B = 2, T = 3, V = 5 };
    float z[B * T * V], zr[B * T * V], dz[B * T * V];
    struct nn_rng rng;
    nn_rng_seed(&rng, 3);
    for (int i = 0; i < B * T * V; i++) {
        z[i] = (float)nn_rng_normal(&rng);
        zr[i] = (float)nn_rng_normal(&rng);
    }
    const int len[B] = {3, 2};
    CHECK_NEAR(lm_kl_ref(NULL, zr, zr, len, B, T, V, 1.0), 0, 1e-12);
    double kl = lm_kl_ref(dz, z, zr, len, B, T, V, 1.0);
    CHECK(kl > 0);
    for (int i = 0; i < B * T * V; i++) {
        float s = z[i];
        float hp = 1e-2f;
        z[i] = s + hp;
        double fp = lm_kl_ref(NULL, z, zr, len, B, T, V, 1.0);
        z[i] = s - hp;
        double fm = lm_kl_ref(NULL, z, zr, len, B, T, V, 1.0);
        z[i] = s;
        double fd = (fp - fm) / (2.0 * ((double)(s + hp) - s));
        CHECK_NEAR(dz[i], fd, 2e-5);
    }
    CHECK_NEAR(dz[(1 * T + 2) * V + 1], 0, 0);      /* padding row */
}

static void test_refusals_and_args(void)
{
    size_t n = 0;
    const char *const *r = method_idk_refusals(&n);
    CHECK(n >= 20);
    for (size_t i = 0; i < n; i++) {
        CHECK(r[i] && strlen(r[i]) > 5 && r[i][0] != ' ');
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(r[i], r[j]) != 0);
    }
    const struct method_arg args[] = {{"beta", 0.5, NULL}, {"retain_loss", 0, "kl"}};
    struct method_ctx c = {.args = args, .n_args = 2};
    CHECK_NEAR(method_arg_num(&c, "beta", 0.1), 0.5, 0);
    CHECK_NEAR(method_arg_num(&c, "gamma", 2.0), 2.0, 0);
    CHECK_STREQ(method_arg_str(&c, "retain_loss", "nll"), "kl");
    CHECK_STREQ(method_arg_str(&c, "schedule", "linear"), "linear");
    static const char *const lm[] = {"grad_ascent", "grad_diff", "ga_klr", "npo", "npo_gdr",
                                     "npo_klr", "simnpo", "idk_nll", "idk_dpo"};
    for (size_t i = 0; i < sizeof(lm) / sizeof(lm[0]); i++) {
        const struct method *m = method_lookup(lm[i]);
        CHECK(m && m->unlearn_lm && m->abi == METHOD_ABI);
    }
    CHECK_EQ_INT(METHOD_ABI, 2);
}



/* Unlearns a copy of the trained model with method name; returned (gpt_free). */
static struct gpt *unlearn(const char *name, double lr, uint64_t seed, const char *retain)
{
    const struct method *m = method_lookup(name);
    struct gpt *copy = gpt_clone(trained);
    struct method_arg args[8] = {
        {"epochs", 5, NULL}, {"batch", 4, NULL}, {"grad_accum", 1, NULL}, {"lr", lr, NULL},
        {"retain_loss", 0, retain},
    };
    struct method_ctx c = {.model = copy, .ref = trained, .forget = &forget_set,
                           .retain = &retain_set, .refusals = &refusal_set, .args = args,
                           .n_args = retain ? 5 : 4, .base_lr = 1e-3, .seed = seed};
    struct lethe_error err = {0};
    int rc = m->unlearn_lm(&c, &err);
    if (rc < 0)
        printf("# %s: %s\n", name, err.msg);
    CHECK_EQ_INT(rc, 0);
    return copy;
}

static void test_directions(void)
{
    double f0 = set_nll(trained, &forget_set), r0 = set_nll(trained, &retain_set);
    double w0 = refusal_nll(trained);
    printf("# original: forget nll %.4f, retain nll %.4f, refusal nll %.4f\n", f0, r0, w0);
    CHECK(f0 < 0.5 && r0 < 0.5);                        /* the original learned the QA */
    static const char *const up[] = {"grad_ascent", "grad_diff", "ga_klr", "npo", "npo_gdr",
                                     "npo_klr", "simnpo"};
    double retain_after[7];
    for (int i = 0; i < 7; i++) {
        struct gpt *m = unlearn(up[i], 3e-3, 1, NULL);
        double f = set_nll(m, &forget_set), r = set_nll(m, &retain_set);
        retain_after[i] = r;
        printf("# %-12s forget nll %.4f, retain nll %.4f\n", up[i], f, r);
        CHECK(f > f0 + 0.2);                            /* forgetting raises the forget NLL */
        gpt_free(m);
    }
    CHECK(retain_after[1] < retain_after[0]);           /* grad_diff keeps retain better than GA */
    CHECK(retain_after[2] < retain_after[0]);           /* ga_klr too */
    CHECK(retain_after[4] < retain_after[3]);           /* npo_gdr better than npo */
    CHECK(retain_after[5] < retain_after[3]);           /* npo_klr too */
    static const char *const idk[] = {"idk_nll", "idk_dpo"};
    for (int i = 0; i < 2; i++) {
        struct gpt *m = unlearn(idk[i], 3e-3, 1, NULL);
        struct gpt *bare = unlearn(idk[i], 3e-3, 1, "none");
        double w = refusal_nll(m), f = set_nll(m, &forget_set);
        double r = set_nll(m, &retain_set), rb = set_nll(bare, &retain_set);
        printf("# %-12s refusal nll %.4f, forget nll %.4f, retain nll %.4f (%.4f without)\n",
               idk[i], w, f, r, rb);
        CHECK(w < w0 - 0.5);                            /* refusals become likelier */
        CHECK(f > f0);
        CHECK(r < rb);                                  /* the retain term protects the rest */
        gpt_free(m);
        gpt_free(bare);
    }
}

static void test_determinism(void)
{
    static const char *const names[] = {"grad_diff", "npo_klr", "idk_dpo"};
    for (int i = 0; i < 3; i++) {
        struct gpt *a = unlearn(names[i], 3e-3, 42, NULL), *b = unlearn(names[i], 3e-3, 42, NULL);
        struct gpt *c = unlearn(names[i], 3e-3, 43, NULL);
        struct nn_params *pa = gpt_params(a), *pb = gpt_params(b), *pc = gpt_params(c);
        CHECK(memcmp(pa->data, pb->data, pa->n * sizeof(float)) == 0);
        CHECK(memcmp(pa->data, pc->data, pa->n * sizeof(float)) != 0);   /* the seed matters */
        gpt_free(a);
        gpt_free(b);
        gpt_free(c);
    }
}

/* Each objective's parameter gradient (one micro-batch through lm_loop_micro) against central
 * differences of its loss on a handful of the largest-gradient coordinates. */
static void test_grad_check(void)
{
    static const struct lm_objective *const objs[] = {
        &lm_obj_grad_ascent, &lm_obj_grad_diff, &lm_obj_ga_klr, &lm_obj_npo, &lm_obj_npo_gdr,
        &lm_obj_npo_klr, &lm_obj_simnpo, &lm_obj_idk_nll, &lm_obj_idk_dpo};
    const size_t fi[4] = {0, 3, 5, 6}, ri[4] = {2, 9, 17, 30};
    const struct method_arg forget_only[] = {{"retain_loss", 0, "none"}, {"gamma", 1, NULL}};
    for (size_t k = 0; k < 2 * sizeof(objs) / sizeof(objs[0]); k++) {
        int alone = k % 2 == 0;     /* the forget term alone, then the method's whole loss */
        const struct lm_objective *o = objs[k / 2];
        struct gpt *m = gpt_clone(trained);
        struct nn_params *p = gpt_params(m);
        struct nn_rng rng;
        nn_rng_seed(&rng, 9);
        for (size_t i = 0; i < p->n; i++)          /* away from the reference */
            p->data[i] += (float)(0.02 * nn_rng_normal(&rng));
        struct method_ctx c = {.model = m, .ref = trained, .forget = &forget_set,
                               .retain = &retain_set, .refusals = &refusal_set, .seed = 1,
                               .args = alone ? forget_only : NULL, .n_args = alone ? 2 : 0};
        struct lm_loop L;
        struct lethe_error err = {0};
        CHECK_EQ_INT(lm_loop_init(&L, &c, o, &err), 0);
        if (L.refusal)
            for (int i = 0; i < N_FORGET; i++)
                L.refusal[i] = (size_t)i % 3;
        nn_params_zero_grad(p);
        lm_loop_micro(&L, fi, ri, 4, 1.0);
        float *g = xmalloc(p->n * sizeof(float));
        memcpy(g, p->grad, p->n * sizeof(float));
        char label[96];
        snprintf(label, sizeof(label), "%s%s", o->name, alone ? " (forget term)" : "");
        CHECK(!loop_fd_check(&L, p, fi, ri, g, 6, 1e-3, label));
        free(g);
        lm_loop_release(&L);
        gpt_free(m);
    }
}

static void test_errors(void)
{
    struct gpt *m = gpt_clone(trained);
    struct lethe_error err = {0};
    struct lm_set empty = {NULL, 0};
    struct method_ctx c = {.model = m, .forget = &empty, .retain = &retain_set, .base_lr = 1e-3};
    CHECK(grad_ascent_unlearn_lm(&c, &err) < 0);
    CHECK_CONTAINS(err.msg, "forget set is empty");
    c.forget = &forget_set;
    CHECK(npo_unlearn_lm(&c, &err) < 0);
    CHECK_CONTAINS(err.msg, "no reference model");
    CHECK(idk_nll_unlearn_lm(&c, &err) < 0);
    CHECK_CONTAINS(err.msg, "no refusal answers");
    int bad_ids[3] = {0, 99, 0};
    struct lm_example bad = {bad_ids, 3, 1};
    struct lm_set bad_set = {&bad, 1};
    c.forget = &bad_set;
    CHECK(grad_ascent_unlearn_lm(&c, &err) < 0);
    CHECK_CONTAINS(err.msg, "forget item 0: token 99");
    c.forget = &forget_set;
    c.base_lr = 0;
    CHECK(grad_ascent_unlearn_lm(&c, &err) < 0);
    CHECK_CONTAINS(err.msg, "learning rate");
    const struct method_arg args[] = {{"retain_loss", 0, "mse"}};
    c.args = args;
    c.n_args = 1;
    CHECK(grad_diff_unlearn_lm(&c, &err) < 0);
    CHECK_CONTAINS(err.msg, "retain_loss 'mse'");
    /* nothing was changed by the failed runs */
    CHECK(memcmp(gpt_params(m)->data, gpt_params(trained)->data,
                 gpt_params(m)->n * sizeof(float)) == 0);
    gpt_free(m);
}

int main(void)
{
    RUN(test_loss_examples);
    RUN(test_loss_derivatives);
    RUN(test_refusals_and_args);
    make_data();
    trained = train_original();
    RUN(test_grad_check);
    RUN(test_directions);
    RUN(test_determinism);
    RUN(test_errors);
    gpt_free(trained);
    return test_done();
}
