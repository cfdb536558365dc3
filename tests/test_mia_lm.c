/* Tests of the language-model MIAs (attacks/mia_lm.c): the worked examples of ATTACKS.md 1, the
 * batched scorer against one forward per sequence with the statistics recomputed here from the
 * logits, GradNorm against gradients taken through another engine path, and the reports. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/attack.h"
#include "base/base.h"
#include "metrics/metrics.h"
#include "nn/nn.h"
#include "tests/test.h"

/* ATTACKS.md 1, zlib: Z = 36, m = -2/36; "" gives 8 */
static void test_zlib_example(void)
{
    const char *t = "The author was born in 1958.";
    CHECK_EQ_INT(mia_zlib_size(t, strlen(t)), 36);
    CHECK_EQ_INT(mia_zlib_size("", 0), 8);
    struct lm_seq_stats st = {.nll = 2.0};
    const char *texts[1] = {t};
    double m;
    struct lethe_error err = {0};
    CHECK_EQ_INT(mia_lm_member_scores(MIA_LM_ZLIB, &st, NULL, texts, NULL, 1, &m, &err), 0);
    CHECK_NEAR(m, -0.0555556, 5e-8);
    CHECK_EQ_INT(mia_lm_member_scores(MIA_LM_LOSS, &st, NULL, NULL, NULL, 1, &m, &err), 0);
    CHECK_NEAR(m, -2.0, 0);
    /* a missing input is an error, not a crash */
    CHECK(mia_lm_member_scores(MIA_LM_ZLIB, &st, NULL, NULL, NULL, 1, &m, &err) < 0);
    CHECK_CONTAINS(err.msg, "zlib");
    CHECK(mia_lm_member_scores(MIA_LM_REFERENCE, &st, NULL, NULL, NULL, 1, &m, &err) < 0);
    CHECK(mia_lm_member_scores(MIA_LM_GRADNORM, &st, NULL, NULL, NULL, 1, &m, &err) < 0);
}

/* ATTACKS.md 1, min_k: K 40% -> k = 2 -> -3.15, K 20% -> -4.0; k = max(1, floor(n K / 100)) */
static void test_min_k_example(void)
{
    double lp[5] = {-0.1, -2.3, -0.5, -4.0, -1.2};
    CHECK_NEAR(mia_min_k(lp, 5, 40), -3.15, 1e-15);
    CHECK_NEAR(mia_min_k(lp, 5, 20), -4.0, 0);
    CHECK_NEAR(mia_min_k(lp, 0, 40), 0.0, 0);
    CHECK_NEAR(mia_min_k(lp, 2, 40), -2.3, 0);     /* floor(0.8) = 0 -> 1 */
    CHECK_NEAR(mia_min_k(lp, 3, 40), -2.3, 0);     /* floor(1.2) = 1 */
    double ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = -(double)i;
    CHECK_NEAR(mia_min_k(ten, 10, 40), -(9 + 8 + 7 + 6) / 4.0, 0);
    CHECK_NEAR(mia_min_k(ten, 10, 20), -(9 + 8) / 2.0, 0);
    struct lm_seq_stats st = {.nll = 1, .n_tok = 5, .lp = lp, .zpp = lp};
    double m[1];
    struct lethe_error err = {0};
    CHECK_EQ_INT(mia_lm_member_scores(MIA_LM_MIN_K, &st, NULL, NULL, NULL, 1, m, &err), 0);
    CHECK_NEAR(m[0], -3.15, 1e-15);
    CHECK_EQ_INT(mia_lm_member_scores(MIA_LM_MIN_K20, &st, NULL, NULL, NULL, 1, m, &err), 0);
    CHECK_NEAR(m[0], -4.0, 0);
    CHECK_EQ_INT(mia_lm_member_scores(MIA_LM_MIN_K_PP, &st, NULL, NULL, NULL, 1, m, &err), 0);
    CHECK_NEAR(m[0], -3.15, 1e-15);
}

/* ATTACKS.md 1, min_k_pp: logits (2, 1, 0), target 1 */
static void test_min_k_pp_example(void)
{
    float z[3] = {2, 1, 0};
    double lp;
    double zz = mia_min_k_pp_z(z, 3, 1, &lp);
    CHECK_NEAR(lp, -1.407606, 5e-7);
    CHECK_NEAR(zz, -0.882951, 5e-7);
    /* a flat distribution has variance 0: clamped to 1e-6 */
    float flat[4] = {0, 0, 0, 0};
    CHECK_NEAR(mia_min_k_pp_z(flat, 4, 2, NULL), 0.0, 1e-12);
}

static void test_names(void)
{
    for (int k = 0; k < MIA_LM_KIND_COUNT; k++) {
        CHECK(attack_lookup(mia_lm_name((enum mia_lm_kind)k)) != NULL);
        CHECK_EQ_INT(mia_lm_lookup(mia_lm_name((enum mia_lm_kind)k)), k);
    }
    CHECK(mia_lm_name(MIA_LM_KIND_COUNT) == NULL);
    CHECK_EQ_INT(mia_lm_lookup("nope"), -1);
    CHECK(!(MIA_LM_DEFAULT & MIA_LM_BIT(MIA_LM_REFERENCE)));
    CHECK(MIA_LM_DEFAULT & MIA_LM_BIT(MIA_LM_GRADNORM));
}

/* ---- a tiny random GPT and hand-made sequences ----------------------------------------------- */

#define V 40
#define NSEQ 7

static struct gpt *tiny_gpt(uint64_t seed)
{
    struct gpt_config cfg = {2, 2, 16, 24, V, 1e-5f};
    return gpt_new(&cfg, seed);
}

/* NSEQ sequences of different lengths: QA-like ones ending in EOS (id V - 1), text ones not */
static void make_seqs(struct lm_seq *s, int ids[NSEQ][24])
{
    struct nn_rng r;
    nn_rng_seed(&r, 3);
    static const int lens[NSEQ] = {9, 24, 5, 13, 2, 17, 9};
    static const int firsts[NSEQ] = {4, 10, 1, 6, 1, 1, 8};
    static const int eos[NSEQ] = {1, 1, 0, 1, 0, 0, 1};
    for (int i = 0; i < NSEQ; i++) {
        ids[i][0] = V - 1;
        for (int t = 1; t < lens[i]; t++)
            ids[i][t] = (int)(nn_rng_next(&r) % (V - 1));
        if (eos[i])
            ids[i][lens[i] - 1] = V - 1;
        s[i] = (struct lm_seq){ids[i], lens[i], firsts[i], eos[i]};
    }
}

/* log_softmax(z)[y] in double, written out here */
static double lsm(const float *z, int y)
{
    double mx = z[0];
    for (int v = 1; v < V; v++)
        mx = z[v] > mx ? z[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++)
        s += exp(z[v] - mx);
    return z[y] - mx - log(s);
}

static void test_score_seqs(void)
{
    struct gpt *m = tiny_gpt(5);
    struct lm_seq s[NSEQ];
    int ids[NSEQ][24];
    make_seqs(s, ids);
    struct lm_seq_stats a[NSEQ], b[NSEQ];
    struct lethe_error err = {0};
    unsigned all = LM_STAT_TOKENS | LM_STAT_ZPP | LM_STAT_ARGMAX;
    CHECK_EQ_INT(mia_lm_score_seqs(m, s, NSEQ, all, 0, a, &err), 0);
    CHECK_EQ_INT(mia_lm_score_seqs(m, s, NSEQ, all, 1, b, &err), 0);
    float lp[24];
    int targets[24];
    for (int i = 0; i < NSEQ; i++) {
        /* batched == one-at-a-time, bit for bit */
        CHECK(a[i].nll == b[i].nll);
        CHECK_EQ_INT(a[i].n_scored, s[i].len - s[i].first);
        CHECK_EQ_INT(a[i].n_tok, s[i].len - s[i].first - s[i].eos);
        for (int j = 0; j < a[i].n_tok; j++) {
            CHECK(a[i].lp[j] == b[i].lp[j]);
            CHECK(a[i].zpp[j] == b[i].zpp[j]);
            CHECK_EQ_INT(a[i].pred[j], b[i].pred[j]);
        }
        /* against a forward of this sequence alone, statistics recomputed from the logits */
        gpt_forward(m, s[i].ids, NULL, 1, s[i].len);
        for (int t = 0; t < s[i].len; t++)
            targets[t] = t + 1 < s[i].len && t + 1 >= s[i].first ? s[i].ids[t + 1] : -1;
        gpt_logprobs(m, targets, lp);
        const float *logits = gpt_logits(m);
        double sum = 0;
        for (int t = s[i].first - 1; t < s[i].len - 1; t++) {
            sum += lp[t];
            CHECK_NEAR(lp[t], lsm(logits + (size_t)t * V, s[i].ids[t + 1]), 1e-5);
        }
        CHECK_NEAR(a[i].nll, -sum / (s[i].len - s[i].first), 1e-12);
        for (int j = 0; j < a[i].n_tok; j++) {
            int t = s[i].first - 1 + j;
            const float *z = logits + (size_t)t * V;
            CHECK_NEAR(a[i].lp[j], lp[t], 1e-12);
            double lse = lsm(z, 0) , mu = 0, m2 = 0;
            lse = z[0] - lse;   /* log sum exp z */
            int best = 0;
            for (int v = 0; v < V; v++) {
                double q = z[v] - lse;
                mu += exp(q) * q;
                m2 += exp(q) * q * q;
                if (z[v] > z[best])
                    best = v;
            }
            double zz = (z[s[i].ids[t + 1]] - lse - mu) / sqrt(fmax(m2 - mu * mu, 1e-6));
            CHECK_NEAR(a[i].zpp[j], zz, 1e-9);
            CHECK_EQ_INT(a[i].pred[j], best);
        }
        /* loss = -l-bar */
        double mm;
        CHECK_EQ_INT(mia_lm_member_scores(MIA_LM_LOSS, &a[i], NULL, NULL, NULL, 1, &mm, &err), 0);
        CHECK(mm == -a[i].nll);
    }
    /* the reference against the model itself scores 0 everywhere */
    double ref[NSEQ];
    CHECK_EQ_INT(mia_lm_member_scores(MIA_LM_REFERENCE, a, b, NULL, NULL, NSEQ, ref, &err), 0);
    for (int i = 0; i < NSEQ; i++)
        CHECK(ref[i] == 0.0);
    lm_seq_stats_release(a, NSEQ);
    lm_seq_stats_release(b, NSEQ);
    /* only the mean NLL when nothing else is wanted */
    CHECK_EQ_INT(mia_lm_score_seqs(m, s, NSEQ, 0, 3, a, &err), 0);
    CHECK(a[0].lp == NULL && a[0].zpp == NULL && a[0].pred == NULL);
    lm_seq_stats_release(a, NSEQ);
    /* bad sequences are named */
    struct lm_seq bad = s[1];
    bad.first = 0;
    CHECK(mia_lm_score_seqs(m, &bad, 1, 0, 0, a, &err) < 0);
    CHECK_CONTAINS(err.msg, "sequence 0");
    int big[3] = {0, V, 1};
    bad = (struct lm_seq){big, 3, 1, 0};
    CHECK(mia_lm_score_seqs(m, &bad, 1, 0, 0, a, &err) < 0);
    CHECK_CONTAINS(err.msg, "outside the vocabulary");
    gpt_free(m);
}

/* GradNorm against gradients taken through gpt_backward_dlogprob, and the per-tensor norms'
 * global norm against gpt_sample_grad_norms */
static void test_gradnorm(void)
{
    struct gpt *m = tiny_gpt(9);
    struct nn_params *p = gpt_params(m);
    struct lm_seq s[NSEQ];
    int ids[NSEQ][24];
    make_seqs(s, ids);
    /* gradients left over from "training": restored afterwards, never used */
    nn_params_alloc_grad(p);
    for (size_t i = 0; i < p->n; i++)
        p->grad[i] = 1.0f;
    double g[NSEQ];
    struct lethe_error err = {0};
    CHECK_EQ_INT(mia_lm_gradnorm(m, s, NSEQ, g, &err), 0);
    int restored = 1;
    for (size_t i = 0; i < p->n; i++)
        restored &= p->grad[i] == 1.0f;
    CHECK(restored);
    float dlp[24];
    int targets[24];
    for (int i = 0; i < NSEQ; i++) {
        int nt = s[i].len - s[i].first - s[i].eos;
        for (int t = 0; t < s[i].len; t++) {
            int in = t + 1 >= s[i].first && t + 1 <= s[i].len - 1 - s[i].eos;
            targets[t] = in ? s[i].ids[t + 1] : -1;
            dlp[t] = in ? -1.0f / (float)nt : 0.0f;
        }
        if (nt == 0) {
            CHECK(g[i] == 0.0);
            continue;
        }
        nn_params_zero_grad(p);
        gpt_forward(m, s[i].ids, NULL, 1, s[i].len);
        gpt_backward_dlogprob(m, targets, dlp);
        double total = 0, ss_all = 0;
        for (int k = 0; k < p->n_tensors; k++) {
            double ss = 0;
            for (size_t j = 0; j < p->tensors[k].numel; j++) {
                double x = p->grad[p->tensors[k].offset + j];
                ss += x * x;
            }
            total += sqrt(ss);
            ss_all += ss;
        }
        CHECK_NEAR(g[i], total / p->n_tensors, 1e-6 * g[i]);
        float gn;
        gpt_sample_grad_norms(m, s[i].ids, NULL, targets, 1, s[i].len, &gn);
        CHECK_NEAR(sqrt(ss_all), gn, 1e-4 * gn);
    }
    /* frozen tensors do not count */
    CHECK(nn_params_freeze(p, "h.*", 1) > 0);
    double g2[NSEQ];
    CHECK_EQ_INT(mia_lm_gradnorm(m, s, NSEQ, g2, &err), 0);
    CHECK(g2[0] != g[0]);
    nn_params_freeze(p, "*", 0);
    CHECK_EQ_INT(mia_lm_gradnorm(m, s, NSEQ, g2, &err), 0);
    for (int i = 0; i < NSEQ; i++)
        CHECK(g2[i] == g[i]);  /* deterministic */
    gpt_free(m);
}

/* ---- reports ---------------------------------------------------------------------------------- */

struct rec_log {
    int metrics, samples, curves;
    char names[16][96];
    double values[16], lo[16], hi[16];
    long n[16];
    char split[16][16];
    double cx[64], cy[64];
    long cstep[64];
    char curve_name[96];
    int forget_samples, holdout_samples;
};

static void on_metric(void *ctx, const char *variant, const char *split, const char *name,
                      double value, double lo, double hi, long n)
{
    struct rec_log *l = ctx;
    CHECK_STREQ(variant, "base");
    CHECK(metric_lookup(name) != NULL);
    if (l->metrics < 16) {
        snprintf(l->names[l->metrics], sizeof(l->names[0]), "%s", name);
        snprintf(l->split[l->metrics], sizeof(l->split[0]), "%s", split);
        l->values[l->metrics] = value;
        l->lo[l->metrics] = lo;
        l->hi[l->metrics] = hi;
        l->n[l->metrics] = n;
    }
    l->metrics++;
}

static void on_sample(void *ctx, const char *variant, const char *split, const char *name,
                      long idx, double value)
{
    struct rec_log *l = ctx;
    (void)variant, (void)idx, (void)value;
    CHECK_STREQ(name, "tofu.mia.loss.score");
    CHECK(metric_lookup(name) != NULL);
    l->samples++;
    l->forget_samples += strcmp(split, "forget") == 0;
    l->holdout_samples += strcmp(split, "holdout") == 0;
}

static void on_curve(void *ctx, const char *name, long step, double x, double y)
{
    struct rec_log *l = ctx;
    snprintf(l->curve_name, sizeof(l->curve_name), "%s", name);
    if (l->curves < 64) {
        l->cstep[l->curves] = step;
        l->cx[l->curves] = x;
        l->cy[l->curves] = y;
    }
    l->curves++;
}

static void test_report(void)
{
    /* identical member and non-member sets: AUC 0.5 */
    double pos[6] = {-1.5, -0.2, -3.0, -0.7, -2.2, -1.1}, neg[6];
    memcpy(neg, pos, sizeof(pos));
    struct rec_log l;
    memset(&l, 0, sizeof(l));
    struct metric_sink sink = {on_metric, on_sample, on_curve, &l};
    double auc;
    struct lethe_error err = {0};
    CHECK_EQ_INT(mia_lm_report("tofu", MIA_LM_LOSS, pos, 6, neg, 6, "base", &sink, 0, &auc, &err), 0);
    CHECK_NEAR(auc, 0.5, 0);
    CHECK_EQ_INT(l.metrics, 3);
    CHECK_STREQ(l.names[0], "tofu.mia.loss.auc");
    CHECK_STREQ(l.names[1], "tofu.mia.loss.tpr_at_fpr_1pct");
    CHECK_STREQ(l.names[2], "tofu.mia.loss.tpr_at_fpr_0p1pct");
    CHECK_STREQ(l.split[0], "forget");
    CHECK_NEAR(l.values[0], 0.5, 0);
    CHECK_EQ_INT(l.n[0], 12);
    CHECK_EQ_INT(l.n[1], 6);
    CHECK(l.lo[0] <= 0.5 && l.hi[0] >= 0.5 && l.lo[0] < l.hi[0]);
    /* TPR at zero false positives: the best negative is also a member score: 0 */
    CHECK_NEAR(l.values[1], 0.0, 0);
    CHECK_EQ_INT(l.forget_samples, 6);
    CHECK_EQ_INT(l.holdout_samples, 6);
    /* ROC: (0,0) then one point per distinct score, ending at (1,1), on the diagonal here */
    CHECK_STREQ(l.curve_name, "tofu.mia.loss.roc");
    CHECK_EQ_INT(l.curves, 7);
    CHECK(l.cx[0] == 0 && l.cy[0] == 0 && l.cx[6] == 1 && l.cy[6] == 1);
    for (int i = 0; i < 7; i++) {
        CHECK_EQ_INT(l.cstep[i], i);
        CHECK_NEAR(l.cx[i], l.cy[i], 1e-15);
    }
    /* separated sets: AUC 1, TPR 1; a variant's curve is named apart */
    double hi[3] = {5, 6, 7}, lo[3] = {1, 2, 3};
    memset(&l, 0, sizeof(l));
    sink.sample = NULL;
    CHECK_EQ_INT(mia_lm_report("tofu", MIA_LM_LOSS, hi, 3, lo, 3, "base", &sink, 0, &auc, &err), 0);
    CHECK_NEAR(auc, 1.0, 0);
    CHECK_NEAR(l.values[1], 1.0, 0);
    /* a NaN score is an error naming the metric */
    double nan_pos[2] = {NAN, 1};
    CHECK(mia_lm_report("tofu", MIA_LM_LOSS, nan_pos, 2, lo, 3, "base", &sink, 0, &auc, &err) < 0);
    CHECK_CONTAINS(err.msg, "tofu.mia.loss.auc");
}

static void on_curve_name(void *ctx, const char *name, long step, double x, double y)
{
    (void)step, (void)x, (void)y;
    snprintf(ctx, 96, "%s", name);
}

static void test_report_variant_curve(void)
{
    char name[96] = "";
    struct metric_sink sink = {NULL, NULL, on_curve_name, name};
    double a[2] = {1, 2}, b[2] = {0, 3};
    struct lethe_error err = {0};
    CHECK_EQ_INT(mia_lm_report("muse", MIA_LM_MIN_K, a, 2, b, 2, "q4_g64", &sink, 0, NULL, &err), 0);
    CHECK_STREQ(name, "muse.mia.min_k.roc.q4_g64");
}

int main(void)
{
    RUN(test_zlib_example);
    RUN(test_min_k_example);
    RUN(test_min_k_pp_example);
    RUN(test_names);
    RUN(test_score_seqs);
    RUN(test_gradnorm);
    RUN(test_report);
    RUN(test_report_variant_curve);
    return test_done();
}
