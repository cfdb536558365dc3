/* Tests for nn/optim.c: AdamW, Adam and SGD trajectories and clipping norms against
 * torch.optim (tests/golden/clf_golden.txt), weight-decay masks, frozen tensors, schedules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "tests/golden/clf_golden_read.h"
#include "tests/test.h"

static struct golden gold;
static int gold_ok;

static const char *const names[3] = {"w", "b", "n"};

/* w LINEAR (3, 4), b BIAS (4), n NORM (2), f LINEAR (2) frozen, as the script's parameters */
static void make_params(struct nn_params *p)
{
    memset(p, 0, sizeof(*p));
    int sw[2] = {3, 4}, sb[1] = {4}, sn[1] = {2}, sf[1] = {2};
    nn_params_add(p, "w", NN_T_LINEAR, 2, sw);
    nn_params_add(p, "b", NN_T_BIAS, 1, sb);
    nn_params_add(p, "n", NN_T_NORM, 1, sn);
    nn_params_add(p, "f", NN_T_LINEAR, 1, sf);
    nn_params_alloc(p);
    nn_params_alloc_grad(p);
    p->tensors[3].frozen = 1;
}

enum opt_kind { OPT_ADAMW, OPT_SGD };

/* Runs the section's trajectory with the given optimizer and compares the final parameters
 * (and the pre-clip norms) with torch's. */
static void run_case(const char *section, enum opt_kind kind, const struct adamw_config *acfg,
                     const struct sgd_config *scfg, float lr)
{
    CHECK(gold_ok);
    const struct golden_section *s = gold_ok ? golden_section(&gold, section) : NULL;
    CHECK(s != NULL);
    if (!s)
        return;
    struct nn_params p;
    make_params(&p);
    const struct golden_item *init[3], *coef[3], *target[3], *final[3];
    char key[64];
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof(key), "init %s", names[k]);
        init[k] = golden_get(s, key);
        snprintf(key, sizeof(key), "coef %s", names[k]);
        coef[k] = golden_get(s, key);
        snprintf(key, sizeof(key), "target %s", names[k]);
        target[k] = golden_get(s, key);
        snprintf(key, sizeof(key), "final %s", names[k]);
        final[k] = golden_get(s, key);
        if (!init[k] || !coef[k] || !target[k] || !final[k]) {
            CHECK(0);
            nn_params_release(&p);
            return;
        }
        CHECK_EQ_INT(init[k]->n, p.tensors[k].numel);
        for (int i = 0; i < init[k]->n; i++)
            p.data[p.tensors[k].offset + i] = (float)init[k]->v[i];
    }
    float *f = nn_tensor_data(&p, &p.tensors[3]);
    f[0] = 0.5f;
    f[1] = -0.25f;
    const struct golden_item *steps = golden_get(s, "steps"), *clip = golden_get(s, "clip");
    const struct golden_item *norms = NULL;
    double max_norm = clip ? clip->v[0] : 0;
    if (max_norm > 0)
        norms = golden_get(s, "norms");
    struct adamw a;
    struct sgd sg;
    if (kind == OPT_ADAMW)
        adamw_init(&a, &p, acfg);
    else
        sgd_init(&sg, &p, scfg);
    int n_steps = steps ? (int)steps->v[0] : 0;
    for (int t = 0; t < n_steps; t++) {
        for (int k = 0; k < 3; k++) {
            const struct nn_tensor *te = &p.tensors[k];
            for (size_t i = 0; i < te->numel; i++) {
                /* the script's gradient, in float as torch computes it */
                float diff = p.data[te->offset + i] - (float)target[k]->v[i];
                p.grad[te->offset + i] = diff * (float)coef[k]->v[i];
            }
        }
        /* a frozen tensor's large gradient must neither move it nor enter the norm */
        p.grad[p.tensors[3].offset] = 100.0f;
        p.grad[p.tensors[3].offset + 1] = -100.0f;
        if (max_norm > 0) {
            double nrm = nn_clip_grad_norm(&p, max_norm);
            CHECK(norms && t < norms->n);
            if (norms && t < norms->n)
                CHECK_NEAR(nrm, norms->v[t], 1e-5 * norms->v[t]);
        }
        if (kind == OPT_ADAMW)
            adamw_step(&a, &p, lr);
        else
            sgd_step(&sg, &p, lr);
    }
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        const struct nn_tensor *te = &p.tensors[k];
        CHECK_EQ_INT(final[k]->n, te->numel);
        for (size_t i = 0; i < te->numel && i < (size_t)final[k]->n; i++) {
            double d = fabs(p.data[te->offset + i] - final[k]->v[i]);
            worst = fmax(worst, d);
            if (!(d <= 2e-6 * (1 + fabs(final[k]->v[i]))))
                printf("# %s %s[%zu]: %.9g vs torch %.9g\n", section, names[k], i,
                       p.data[te->offset + i], final[k]->v[i]);
            CHECK(d <= 2e-6 * (1 + fabs(final[k]->v[i])));
        }
    }
    printf("# %s: %d steps, largest difference from torch %.3g\n", section, n_steps, worst);
    CHECK(f[0] == 0.5f && f[1] == -0.25f);
    if (kind == OPT_ADAMW) {
        CHECK_EQ_INT(a.t, n_steps);
        CHECK(a.m[p.tensors[3].offset] == 0.0f); /* frozen: state untouched */
        adamw_release(&a);
    } else {
        if (sg.buf)
            CHECK(sg.buf[p.tensors[3].offset] == 0.0f);
        sgd_release(&sg);
    }
    nn_params_release(&p);
}

static void test_adamw_golden(void)
{
    struct adamw_config c = adamw_config_default();
    c.weight_decay = 0.1f; /* decays w (LINEAR) only: the default mask */
    run_case("adamw", OPT_ADAMW, &c, NULL, 0.05f);
}

static void test_adamw_clip_golden(void)
{
    struct adamw_config c = {.beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.01f,
                             .decay_kinds = NN_DECAY_DEFAULT};
    run_case("adamw_clip", OPT_ADAMW, &c, NULL, 0.02f);
}

static void test_adam_golden(void)
{
    /* torch.optim.Adam without weight decay = AdamW with weight_decay 0 */
    struct adamw_config c = adamw_config_default();
    c.weight_decay = 0.0f;
    run_case("adam", OPT_ADAMW, &c, NULL, 0.01f);
}

static void test_sgd_golden(void)
{
    struct sgd_config c = sgd_config_default();
    c.momentum = 0.9f;
    c.weight_decay = 0.01f;
    run_case("sgd_momentum", OPT_SGD, NULL, &c, 0.05f);
    c = sgd_config_default();
    c.momentum = 0.8f;
    c.nesterov = 1;
    run_case("sgd_nesterov", OPT_SGD, NULL, &c, 0.03f);
    c = sgd_config_default();
    c.momentum = 0.5f;
    c.dampening = 0.3f;
    run_case("sgd_dampening", OPT_SGD, NULL, &c, 0.03f);
}

/* the decay mask decides which kinds decay: with a zero gradient, one AdamW step multiplies
 * decayed tensors by 1 - lr*wd and leaves the others */
static void test_decay_mask(void)
{
    struct nn_params p;
    make_params(&p);
    for (size_t i = 0; i < p.n; i++)
        p.data[i] = 1.0f;
    struct adamw a;
    struct adamw_config c = adamw_config_default();
    c.weight_decay = 0.5f;
    adamw_init(&a, &p, &c);
    adamw_step(&a, &p, 0.1f);
    CHECK(p.data[p.tensors[0].offset] == 0.95f);
    CHECK(p.data[p.tensors[1].offset] == 1.0f);
    CHECK(p.data[p.tensors[2].offset] == 1.0f);
    CHECK(p.data[p.tensors[3].offset] == 1.0f); /* frozen */
    adamw_release(&a);
    c.decay_kinds = NN_KIND_BIT(NN_T_NORM) | NN_KIND_BIT(NN_T_BIAS);
    adamw_init(&a, &p, &c);
    adamw_step(&a, &p, 0.1f);
    CHECK(p.data[p.tensors[0].offset] == 0.95f);
    CHECK(p.data[p.tensors[1].offset] == 0.95f);
    CHECK(p.data[p.tensors[2].offset] == 0.95f);
    adamw_release(&a);
    /* SGD's coupled decay follows the same mask */
    struct sgd s;
    struct sgd_config sc = sgd_config_default();
    sc.weight_decay = 0.5f;
    sgd_init(&s, &p, &sc);
    CHECK(s.buf == NULL);
    sgd_step(&s, &p, 0.1f);
    CHECK_NEAR(p.data[p.tensors[0].offset], 0.95f * 0.95f, 1e-7);
    CHECK(p.data[p.tensors[1].offset] == 0.95f);
    sgd_release(&s);
    adamw_release(NULL);
    sgd_release(NULL);
    /* first AdamW step: m = (1 - b1) g, v = (1 - b2) g^2, |step| = lr (bias-corrected) */
    nn_params_zero_grad(&p);
    p.grad[p.tensors[1].offset] = 2.0f;
    adamw_init(&a, &p, NULL);
    float before = p.data[p.tensors[1].offset];
    adamw_step(&a, &p, 0.01f);
    CHECK_NEAR(a.m[p.tensors[1].offset], 0.2, 1e-7);
    CHECK_NEAR(a.v[p.tensors[1].offset], 0.004, 1e-9);
    CHECK_NEAR(before - p.data[p.tensors[1].offset], 0.01, 1e-7);
    adamw_release(&a);
    nn_params_release(&p);
}

static void test_clip(void)
{
    struct nn_params p;
    make_params(&p);
    /* norm of (3, 4) spread over two tensors = 5; the frozen tensor does not count */
    p.grad[p.tensors[0].offset + 5] = 3.0f;
    p.grad[p.tensors[2].offset + 1] = -4.0f;
    p.grad[p.tensors[3].offset] = 1000.0f;
    CHECK_NEAR(nn_grad_norm(&p), 5.0, 1e-12);
    CHECK_NEAR(nn_clip_grad_norm(&p, 10.0), 5.0, 1e-12); /* below: untouched */
    CHECK(p.grad[p.tensors[0].offset + 5] == 3.0f);
    CHECK_NEAR(nn_clip_grad_norm(&p, 0.0), 5.0, 1e-12); /* 0: measure only */
    CHECK(p.grad[p.tensors[0].offset + 5] == 3.0f);
    CHECK_NEAR(nn_clip_grad_norm(&p, 1.0), 5.0, 1e-12);
    CHECK_NEAR(p.grad[p.tensors[0].offset + 5], 3.0 / (5.0 + 1e-6), 1e-7);
    CHECK_NEAR(p.grad[p.tensors[2].offset + 1], -4.0 / (5.0 + 1e-6), 1e-7);
    CHECK(p.grad[p.tensors[3].offset] == 1000.0f);
    CHECK_NEAR(nn_grad_norm(&p), 1.0, 1e-6);
    nn_params_release(&p);
    /* a large buffer: the double sum matches a serial one, and repeats exactly */
    struct nn_params q = {0};
    int sh[1] = {1 << 20};
    nn_params_add(&q, "big", NN_T_LINEAR, 1, sh);
    nn_params_alloc(&q);
    nn_params_alloc_grad(&q);
    struct nn_rng r;
    nn_rng_seed(&r, 9);
    double ref = 0;
    for (size_t i = 0; i < q.n; i++) {
        q.grad[i] = (float)(nn_rng_uniform(&r) - 0.5);
        ref += (double)q.grad[i] * q.grad[i];
    }
    double n1 = nn_grad_norm(&q), n2 = nn_grad_norm(&q);
    CHECK_NEAR(n1, sqrt(ref), 1e-9 * sqrt(ref));
    CHECK(n1 == n2);
    nn_params_release(&q);
}

static void test_schedules(void)
{
    /* hand-computed values */
    struct lr_schedule lin = {LR_LINEAR, 1e-3, 0.0, 4, 10};
    CHECK(lr_schedule_check(&lin) == NULL);
    CHECK_NEAR(lr_schedule_at(&lin, 0), 0.0, 1e-15);     /* warm-up starts at 0 (HF) */
    CHECK_NEAR(lr_schedule_at(&lin, 1), 2.5e-4, 1e-15);
    CHECK_NEAR(lr_schedule_at(&lin, 2), 5e-4, 1e-15);
    CHECK_NEAR(lr_schedule_at(&lin, 4), 1e-3, 1e-15);
    CHECK_NEAR(lr_schedule_at(&lin, 7), 5e-4, 1e-15);    /* 1e-3 * (10 - 7) / 6 */
    CHECK_NEAR(lr_schedule_at(&lin, 9), 1e-3 / 6, 1e-15);
    CHECK_NEAR(lr_schedule_at(&lin, 10), 0.0, 1e-15);
    CHECK_NEAR(lr_schedule_at(&lin, 25), 0.0, 1e-15);    /* past the end: the final lr */
    struct lr_schedule lf = {LR_LINEAR, 1.0, 0.2, 0, 8};
    CHECK_NEAR(lr_schedule_at(&lf, 0), 1.0, 1e-15);
    CHECK_NEAR(lr_schedule_at(&lf, 2), 0.8, 1e-15);      /* 0.2 + 0.8 * 6/8 */
    CHECK_NEAR(lr_schedule_at(&lf, 8), 0.2, 1e-15);
    struct lr_schedule cs = {LR_COSINE, 1.0, 0.1, 2, 10};
    CHECK_NEAR(lr_schedule_at(&cs, 1), 0.5, 1e-15);
    CHECK_NEAR(lr_schedule_at(&cs, 2), 1.0, 1e-15);
    CHECK_NEAR(lr_schedule_at(&cs, 4), 0.868198051533946, 1e-12);  /* 0.1 + 0.9 (1 + cos(pi/4))/2 */
    CHECK_NEAR(lr_schedule_at(&cs, 6), 0.55, 1e-12);
    CHECK_NEAR(lr_schedule_at(&cs, 8), 0.231801948466054, 1e-12);  /* 0.1 + 0.9 (1 - cos(pi/4))/2 */
    CHECK_NEAR(lr_schedule_at(&cs, 10), 0.1, 1e-12);
    CHECK_NEAR(lr_schedule_at(&cs, 11), 0.1, 1e-12);
    struct lr_schedule c0 = {LR_COSINE, 3e-4, 0.0, 0, 4};
    CHECK_NEAR(lr_schedule_at(&c0, 0), 3e-4, 1e-18);
    CHECK_NEAR(lr_schedule_at(&c0, 1), 3e-4 * 0.853553390593274, 1e-15);
    struct lr_schedule k = {LR_CONSTANT, 0.01, 0.0, 3, 0};
    CHECK(lr_schedule_check(&k) == NULL);
    CHECK_NEAR(lr_schedule_at(&k, 1), 0.01 / 3, 1e-15);
    CHECK_NEAR(lr_schedule_at(&k, 3), 0.01, 1e-15);
    CHECK_NEAR(lr_schedule_at(&k, 1000), 0.01, 1e-15);
    struct lr_schedule k0 = {LR_CONSTANT, 0.01, 0.0, 0, 0};
    CHECK_NEAR(lr_schedule_at(&k0, 0), 0.01, 1e-15);
    /* bad schedules */
    struct lr_schedule bad = lin;
    bad.warmup_steps = 11;
    CHECK_CONTAINS(lr_schedule_check(&bad), "'warmup_steps'");
    bad = lin;
    bad.peak_lr = -1;
    CHECK_CONTAINS(lr_schedule_check(&bad), "'lr'");
    bad = lin;
    bad.final_lr = NAN;
    CHECK_CONTAINS(lr_schedule_check(&bad), "'final_lr'");
    bad = lin;
    bad.kind = LR_KIND_COUNT;
    CHECK_CONTAINS(lr_schedule_check(&bad), "'schedule'");
    bad = lin;
    bad.total_steps = -1;
    CHECK(lr_schedule_check(&bad) != NULL);
}

int main(void)
{
    gold_ok = golden_load(&gold) == 0;
    RUN(test_adamw_golden);
    RUN(test_adamw_clip_golden);
    RUN(test_adam_golden);
    RUN(test_sgd_golden);
    RUN(test_decay_mask);
    RUN(test_clip);
    RUN(test_schedules);
    golden_release(&gold);
    return test_done();
}
