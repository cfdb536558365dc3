/* Tests of the benchmark metrics (metrics/tofu.c, muse.c, mcq.c, semeval.c, image.c): every worked
 * example of METRICS.md 2-8, edge cases, and the registry entry of every name they produce.
 * Values marked "python" come from tests/golden/metrics_bench.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"
#include "test.h"

#define CHECK_EINPUT(call) \
    do { struct lethe_error e_ = {0}; int rc_ = (call); CHECK(rc_ == -LETHE_EINPUT); \
        CHECK(e_.code == LETHE_EINPUT); CHECK(e_.msg[0] != 0); } while (0)
/* The same, with the message checked to name what went wrong. */
#define CHECK_EINPUT_MSG(call, needle) \
    do { struct lethe_error e_ = {0}; int rc_ = (call); CHECK(rc_ == -LETHE_EINPUT); \
        CHECK_CONTAINS(e_.msg, needle); } while (0)

/* ---- TOFU (METRICS.md 2) ---- */

/* METRICS.md 2: l(true) = 0.5, l(pert) = {1.0, 1.5, 2.0, 1.2, 1.3} -> TR = e^-0.9. */
static void test_tofu_truth_ratio_example(void)
{
    struct lethe_error err = {0};
    const double nll_true[1] = {0.5}, nll_pert[5] = {1.0, 1.5, 2.0, 1.2, 1.3};
    double ltr[1], v, item[1];
    CHECK_EQ_INT(metric_tofu_log_truth_ratios(nll_true, nll_pert, 1, 5, ltr, &err), 0);
    CHECK_NEAR(ltr[0], -0.9, 1e-15);
    CHECK_NEAR(exp(ltr[0]), 0.406570, 5e-7);
    CHECK_EQ_INT(metric_tofu_truth_ratio(ltr, 1, METRIC_TR_FORGET, item, &v, &err), 0);
    CHECK_NEAR(v, 0.406570, 5e-7);
    CHECK_NEAR(item[0], v, 0);
    CHECK_EQ_INT(metric_tofu_truth_ratio(ltr, 1, METRIC_TR_RETAIN, NULL, &v, &err), 0);
    CHECK_NEAR(v, 0.593430, 5e-7);
    CHECK_EQ_INT(metric_tofu_truth_ratio(ltr, 1, METRIC_TR_PROB_MEAN, NULL, &v, &err), 0);
    CHECK_NEAR(v, 0.710950, 5e-7);
    CHECK_NEAR(v, 0.7109495026250039, 1e-15);  /* python */
}

/* Both sides of TR = 1, the forget form is symmetric in log TR, large ratios do not overflow. */
static void test_tofu_truth_ratio_forms(void)
{
    struct lethe_error err = {0};
    const double ltr[4] = {0.9, -0.9, 0.0, 800.0};
    double item[4], v;
    CHECK_EQ_INT(metric_tofu_truth_ratio(ltr, 4, METRIC_TR_FORGET, item, &v, &err), 0);
    CHECK_NEAR(item[0], exp(-0.9), 1e-15);
    CHECK_NEAR(item[1], exp(-0.9), 1e-15);
    CHECK_NEAR(item[2], 1.0, 0);
    CHECK_NEAR(item[3], 0.0, 1e-300);
    CHECK_NEAR(v, (2 * exp(-0.9) + 1) / 4, 1e-15);
    CHECK_EQ_INT(metric_tofu_truth_ratio(ltr, 4, METRIC_TR_RETAIN, item, &v, &err), 0);
    CHECK_NEAR(item[0], 0.0, 0);        /* TR > 1: max(0, 1 - TR) = 0 */
    CHECK_NEAR(item[1], 1 - exp(-0.9), 1e-15);
    CHECK_NEAR(item[2], 0.0, 0);
    CHECK_EQ_INT(metric_tofu_truth_ratio(ltr, 4, METRIC_TR_PROB_MEAN, item, &v, &err), 0);
    CHECK_NEAR(item[0], 1 / (1 + exp(0.9)), 1e-15);
    CHECK_NEAR(item[2], 0.5, 0);
    CHECK(item[3] >= 0 && item[3] < 1e-300);
    const double bad[2] = {0.1, NAN};
    CHECK_EINPUT(metric_tofu_truth_ratio(bad, 2, METRIC_TR_FORGET, NULL, &v, &e_));
    CHECK_EINPUT(metric_tofu_truth_ratio(ltr, 0, METRIC_TR_FORGET, NULL, &v, &e_));
    CHECK_EINPUT(metric_tofu_truth_ratio(ltr, 1, METRIC_TR_FORM_COUNT, NULL, &v, &e_));
    const double nll_true[2] = {0.5, 0.2}, nll_pert[4] = {1.0, 2.0, -0.1, 1.0};
    double out[2];
    CHECK_EINPUT_MSG(metric_tofu_log_truth_ratios(nll_true, nll_pert, 2, 2, out, &e_), "value 2");
    CHECK_EINPUT(metric_tofu_log_truth_ratios(nll_true, nll_pert, 2, 0, out, &e_));
}

static void test_tofu_probs(void)
{
    struct lethe_error err = {0};
    const double nll[3] = {0.0, M_LN2, 2 * M_LN2};
    double item[3], v;
    CHECK_EQ_INT(metric_tofu_prob(nll, 3, item, &v, &err), 0);
    CHECK_NEAR(item[1], 0.5, 1e-15);
    CHECK_NEAR(v, (1 + 0.5 + 0.25) / 3, 1e-15);
    /* pert_prob: mean over items of the mean over k perturbed answers */
    const double pert[6] = {0.0, M_LN2, M_LN2, M_LN2, 2 * M_LN2, 2 * M_LN2};
    CHECK_EQ_INT(metric_tofu_pert_prob(pert, 2, 3, item, &v, &err), 0);
    CHECK_NEAR(item[0], 2.0 / 3, 1e-15);
    CHECK_NEAR(item[1], (0.5 + 0.25 + 0.25) / 3, 1e-15);
    CHECK_NEAR(v, (2.0 / 3 + 1.0 / 3) / 2, 1e-15);
    const double bad[2] = {0.1, INFINITY}, neg[2] = {0.1, -0.5};
    CHECK_EINPUT_MSG(metric_tofu_prob(bad, 2, NULL, &v, &e_), "value 1");
    CHECK_EINPUT_MSG(metric_tofu_prob(neg, 2, NULL, &v, &e_), "negative");
    CHECK_EINPUT(metric_tofu_prob(nll, 0, NULL, &v, &e_));
}

static void test_tofu_prob_norm(void)
{
    struct lethe_error err = {0};
    /* P(a)/(P(a) + sum P(wrong)); the second item needs log space (exp(-800) = 0, 0/0 directly) */
    const double t[3] = {0.5, 800.0, 0.0}, w[9] = {1.0, 2.0, 0.7, 801, 802, 800.5, 1000, 1000, 1000};
    double item[3], v;
    CHECK_EQ_INT(metric_tofu_prob_norm(t, w, 3, 3, item, &v, &err), 0);
    CHECK_NEAR(item[0], 0.3775876687638953, 1e-15);     /* python */
    CHECK_NEAR(item[0], exp(-0.5) / (exp(-0.5) + exp(-1.0) + exp(-2.0) + exp(-0.7)), 1e-15);
    CHECK_NEAR(item[1], 1 / (1 + exp(-1.0) + exp(-2.0) + exp(-0.5)), 1e-15);
    CHECK_NEAR(item[2], 1.0, 0);
    CHECK_NEAR(v, (item[0] + item[1] + item[2]) / 3, 1e-15);
    const double wn[9] = {1.0, NAN, 0.7, 0, 0, 0, 0, 0, 0};
    CHECK_EINPUT_MSG(metric_tofu_prob_norm(t, wn, 3, 3, NULL, &v, &e_), "value 1");
}

static void test_tofu_forget_quality(void)
{
    struct lethe_error err = {0};
    /* METRICS.md 1.4: {1,2,3,4} vs {5,6,7,8} -> p = 1/35 */
    const double a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    double fq, l10;
    CHECK_EQ_INT(metric_tofu_forget_quality(a, 4, b, 4, &fq, &l10, &err), 0);
    CHECK_NEAR(fq, 1.0 / 35, 1e-12);
    CHECK_NEAR(l10, log10(1.0 / 35), 1e-12);
    /* the oracle's own forget quality is 1 */
    CHECK_EQ_INT(metric_tofu_forget_quality(a, 4, a, 4, &fq, &l10, &err), 0);
    CHECK_NEAR(fq, 1.0, 1e-12);
    CHECK_NEAR(l10, 0.0, 1e-12);
    /* 400 vs 400 fully separated: the p-value underflows, its log10 does not */
    double *x = xmalloc(800 * sizeof *x);
    for (int i = 0; i < 800; i++)
        x[i] = i;
    CHECK_EQ_INT(metric_tofu_forget_quality(x + 400, 400, x, 400, &fq, &l10, &err), 0);
    CHECK_NEAR(l10, -238.973226, 1e-6);
    CHECK(fq < 1e-238);
    const double bad[2] = {0.3, NAN};
    CHECK_EINPUT_MSG(metric_tofu_forget_quality(bad, 2, a, 4, &fq, &l10, &e_), "forget quality");
    CHECK_EINPUT(metric_tofu_forget_quality(a, 0, a, 4, &fq, &l10, &e_));
    free(x);
}

static void test_tofu_utility(void)
{
    struct lethe_error err = {0};
    double mu[METRIC_MU_TERM_COUNT] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1}, h;
    CHECK_EQ_INT(metric_tofu_model_utility(mu, &h, &err), 0);
    CHECK_NEAR(h, 0.3181371861411138, 1e-15);   /* python: 9/sum(1/x) */
    /* METRICS.md 1.1: H(0.5, 0.25, 1.0) = 3/7 */
    CHECK_EQ_INT(metric_tofu_retain_utility(0.5, 0.25, 1.0, &h, &err), 0);
    CHECK_NEAR(h, 3.0 / 7, 1e-15);
    CHECK_NEAR(3.0 / 7, 0.428571, 5e-7);
    /* a zero term makes H zero */
    mu[METRIC_MU_WF_PROB_NORM] = 0;
    CHECK_EQ_INT(metric_tofu_model_utility(mu, &h, &err), 0);
    CHECK_NEAR(h, 0.0, 0);
    CHECK_EQ_INT(metric_tofu_retain_utility(0.5, 0.0, 1.0, &h, &err), 0);
    CHECK_NEAR(h, 0.0, 0);
    /* NaN and negative terms are errors naming the term */
    mu[METRIC_MU_RA_TR] = NAN;
    CHECK_EINPUT_MSG(metric_tofu_model_utility(mu, &h, &e_), "'ra truth_ratio'");
    mu[METRIC_MU_RA_TR] = -0.1;
    CHECK_EINPUT_MSG(metric_tofu_model_utility(mu, &h, &e_), "'ra truth_ratio' is negative");
    CHECK_EINPUT_MSG(metric_tofu_retain_utility(0.5, 0.3, INFINITY, &h, &e_), "'retain truth_ratio'");
    CHECK_STREQ(metric_tofu_mu_term_name(METRIC_MU_RETAIN_PROB), "retain prob");
    CHECK_STREQ(metric_tofu_mu_term_name(METRIC_MU_WF_ROUGE), "wf rouge_l_recall");
    CHECK(metric_tofu_mu_term_name(METRIC_MU_TERM_COUNT) == NULL);
}

/* METRICS.md 2: y = (a,b,c,d); yhat = (x,b,c,d) -> ES 0.75, EM 0.75; (a,b,x,d) -> ES 0.25, EM 0.75. */
static void test_tofu_em_es(void)
{
    struct lethe_error err = {0};
    const int y[4] = {1, 2, 3, 4}, p1[4] = {9, 2, 3, 4}, p2[4] = {1, 2, 9, 4}, p3[4] = {1, 2, 3, 9},
              p4[4] = {9, 9, 9, 9};
    double em, es;
    CHECK_EQ_INT(metric_exact_memorization(p1, y, 4, &em, &err), 0);
    CHECK_EQ_INT(metric_extraction_strength(p1, y, 4, &es, &err), 0);
    CHECK_NEAR(em, 0.75, 0);
    CHECK_NEAR(es, 0.75, 0);
    CHECK_EQ_INT(metric_exact_memorization(p2, y, 4, &em, &err), 0);
    CHECK_EQ_INT(metric_extraction_strength(p2, y, 4, &es, &err), 0);
    CHECK_NEAR(em, 0.75, 0);
    CHECK_NEAR(es, 0.25, 0);
    /* Lethe's choice: the last token differs -> k* = L', ES = 0 (open-unlearning: 1/L') */
    CHECK_EQ_INT(metric_extraction_strength(p3, y, 4, &es, &err), 0);
    CHECK_NEAR(es, 0.0, 0);
    CHECK_EQ_INT(metric_extraction_strength(y, y, 4, &es, &err), 0);
    CHECK_NEAR(es, 1.0, 0);
    CHECK_EQ_INT(metric_exact_memorization(y, y, 4, &em, &err), 0);
    CHECK_NEAR(em, 1.0, 0);
    CHECK_EQ_INT(metric_exact_memorization(p4, y, 4, &em, &err), 0);
    CHECK_NEAR(em, 0.0, 0);
    CHECK_EQ_INT(metric_extraction_strength(p1, y, 1, &es, &err), 0);   /* one token, wrong */
    CHECK_NEAR(es, 0.0, 0);
    CHECK_EINPUT_MSG(metric_exact_memorization(y, y, 0, &em, &e_), "empty answer");
    CHECK_EINPUT_MSG(metric_extraction_strength(y, y, 0, &es, &e_), "empty answer");
}

static void test_tofu_keyword_conf(void)
{
    struct lethe_error err = {0};
    /* answer "Paris is the capital": keyword "paris" at bytes [0, 5); BPE tokens "Par" "is"
     * " is" " the" " capital" */
    size_t off[1] = {0}, src_len[1] = {5};
    struct rouge_tokens kw = {0};
    kw.n = 1;
    kw.off = off;
    kw.src_len = src_len;
    const size_t tb[5] = {0, 3, 5, 8, 12}, te[5] = {3, 5, 8, 12, 20};
    const double lp[5] = {-0.2, -0.6, -3.0, -0.1, -2.0};
    double conf;
    CHECK_EQ_INT(metric_keyword_conf(lp, tb, te, 5, &kw, &conf, &err), 0);
    CHECK_NEAR(conf, exp(-0.4), 1e-15);
    /* the keyword list of the text engineer gives the same span */
    struct rouge_tokens k2;
    metric_keywords(&k2, "Paris is the capital", "What is the capital of France?");
    CHECK_EQ_INT(k2.n, 1);
    if (k2.n == 1) {
        CHECK_EQ_INT(k2.off[0], 0);
        CHECK_EQ_INT(k2.src_len[0], 5);
        CHECK_EQ_INT(metric_keyword_conf(lp, tb, te, 5, &k2, &conf, &err), 0);
        CHECK_NEAR(conf, exp(-0.4), 1e-15);
    }
    metric_rouge_tokens_release(&k2);
    /* no keyword: NAN, the item is left out */
    kw.n = 0;
    CHECK_EQ_INT(metric_keyword_conf(lp, tb, te, 5, &kw, &conf, &err), 0);
    CHECK(isnan(conf));
    kw.n = 1;
    const double bad[5] = {-0.2, 0.5, -3.0, -0.1, -2.0};
    CHECK_EINPUT_MSG(metric_keyword_conf(bad, tb, te, 5, &kw, &conf, &e_), "log-prob 1");
}

/* METRICS.md 1.2 example through the TOFU and MUSE means. */
static void test_rouge_means(void)
{
    struct lethe_error err = {0};
    const char *refs[2] = {"The cats were running quickly.", "Paris"};
    const char *gens[2] = {"A cat runs quickly", ""};
    double item[2], v;
    CHECK_EQ_INT(metric_tofu_rouge_recall(refs, gens, 2, item, &v, &err), 0);
    CHECK_NEAR(item[0], 0.6, 1e-15);
    CHECK_NEAR(item[1], 0.0, 0);
    CHECK_NEAR(v, 0.3, 1e-15);
    CHECK_EQ_INT(metric_muse_rouge_f1(refs, gens, 2, item, &v, &err), 0);
    CHECK_NEAR(item[0], 0.222222, 5e-7);
    CHECK_NEAR(v, item[0] / 2, 1e-15);
    const char *none[2] = {"x", NULL};
    CHECK_EINPUT_MSG(metric_muse_rouge_f1(refs, none, 2, NULL, &v, &e_), "item 1");
    CHECK_EINPUT(metric_tofu_rouge_recall(refs, gens, 0, NULL, &v, &e_));
}

/* ---- MUSE (METRICS.md 3) and perplexity (6) ---- */

static void test_privleak(void)
{
    struct lethe_error err = {0};
    double v;
    /* METRICS.md 3: A_o = 0.5228, A_u = 0.99 -> -97.904 */
    CHECK_EQ_INT(metric_privleak(0.99, 0.5228, &v, &err), 0);
    CHECK_NEAR(v, -97.904, 5e-4);
    CHECK_NEAR(v, -97.90444256121029, 1e-9);    /* python, the same formula */
    CHECK(metric_in_range(metric_lookup("muse.privleak")->range, v));
    CHECK_EQ_INT(metric_privleak(0.6, 0.6, &v, &err), 0);
    CHECK_NEAR(v, 0.0, 1e-12);
    CHECK_EQ_INT(metric_privleak(0.2, 0.6, &v, &err), 0);  /* over-unlearning: positive */
    CHECK_NEAR(v, 100.0, 1e-6);
    /* from scores: members {0.9, 0.4} vs {0.4, 0.2} give AUC 0.875 (METRICS.md 1.5); the
     * oracle's equal samples give 0.5 */
    const double pu[2] = {0.9, 0.4}, nu[2] = {0.4, 0.2}, po[2] = {1, 2}, no[2] = {2, 1};
    CHECK_EQ_INT(metric_privleak_scores(pu, 2, nu, 2, po, 2, no, 2, &v, &err), 0);
    CHECK_NEAR(v, (0.125 - 0.5) / 0.5 * 100, 1e-6);
    CHECK_EINPUT_MSG(metric_privleak(1.2, 0.5, &v, &e_), "AUC 1.2");
    CHECK_EINPUT(metric_privleak(0.5, NAN, &v, &e_));
    const double bad[2] = {0.9, NAN};
    CHECK_EINPUT_MSG(metric_privleak_scores(pu, 2, nu, 2, bad, 2, no, 2, &v, &e_), "oracle");
}

static void test_perplexity(void)
{
    struct lethe_error err = {0};
    const double s[3] = {2.0, 1.0, 0.0};
    const size_t n[3] = {2, 1, 0};
    double ppl;
    CHECK_EQ_INT(metric_perplexity(s, n, 3, &ppl, &err), 0);
    CHECK_NEAR(ppl, M_E, 1e-15);            /* exp(3/3), not the mean of per-window ppls */
    const double s2[2] = {3.0, 1.0};
    const size_t n2[2] = {1, 3};
    CHECK_EQ_INT(metric_perplexity(s2, n2, 2, &ppl, &err), 0);
    CHECK_NEAR(ppl, M_E, 1e-15);
    CHECK_EINPUT_MSG(metric_perplexity(s, n, 0, &ppl, &e_), "no tokens");
    const double bad[2] = {1.0, NAN};
    CHECK_EINPUT_MSG(metric_perplexity(bad, n, 2, &ppl, &e_), "sum 1");
    const double neg[1] = {-1.0};
    CHECK_EINPUT(metric_perplexity(neg, n, 1, &ppl, &e_));
}

/* ---- multiple choice (METRICS.md 4) ---- */

static void test_mcq(void)
{
    struct lethe_error err = {0};
    size_t p;
    /* bytes, not characters: "Zürich" is 7 bytes (-1.0 per byte) and beats "Bern" (-1.05);
     * per character (6) it would lose */
    const char *opts[4] = {"Bern", "Z\xc3\xbcrich", "Geneva", "Basel"};
    const double lp[4] = {-4.2, -7.0, -7.2, -6.0};
    CHECK_EQ_INT(metric_mcq_cloze_pred(lp, opts, 4, &p, &err), 0);
    CHECK_EQ_INT(p, 1);
    /* letter scoring: plain argmax, ties to the earliest */
    const double ll[4] = {-1.0, -0.5, -0.5, -2.0};
    CHECK_EQ_INT(metric_mcq_letter_pred(ll, 4, &p, &err), 0);
    CHECK_EQ_INT(p, 1);
    const double tie[4] = {-8.0, -7.0, -12.0, -10.0};     /* per byte -2, -1, -2, -2 -> 1 */
    const char *o4[4] = {"abcd", "abcdefg", "abcdef", "abcde"};
    CHECK_EQ_INT(metric_mcq_cloze_pred(tie, o4, 4, &p, &err), 0);
    CHECK_EQ_INT(p, 1);
    const double tie2[4] = {-8.0, -14.0, -12.0, -10.0};   /* all -2 per byte -> the first */
    CHECK_EQ_INT(metric_mcq_cloze_pred(tie2, o4, 4, &p, &err), 0);
    CHECK_EQ_INT(p, 0);
    /* accuracy over 3 questions */
    const double all[12] = {-4.2, -7.0, -7.2, -6.0, -1, -1, -1, -1, -9, -9, -1, -9};
    const char *allo[12] = {"Bern", "Z\xc3\xbcrich", "Geneva", "Basel", "a", "b", "c", "d",
                            "a", "b", "c", "d"};
    const int gold[3] = {1, 2, 2};
    int pred[3];
    double acc;
    CHECK_EQ_INT(metric_mcq_cloze_acc(all, allo, gold, 3, 4, pred, &acc, &err), 0);
    CHECK_EQ_INT(pred[0], 1);
    CHECK_EQ_INT(pred[1], 0);
    CHECK_EQ_INT(pred[2], 2);
    CHECK_NEAR(acc, 2.0 / 3, 1e-15);
    CHECK_EQ_INT(metric_mcq_letter_acc(all, gold, 3, 4, NULL, &acc, &err), 0);
    CHECK_NEAR(acc, 1.0 / 3, 1e-15);    /* letters: -4.2 wins question 0 */
    /* errors */
    const char *empty[4] = {"Bern", "", "Geneva", "Basel"};
    CHECK_EINPUT_MSG(metric_mcq_cloze_pred(lp, empty, 4, &p, &e_), "option 1");
    const double nan_lp[4] = {-1, NAN, -1, -1};
    CHECK_EINPUT_MSG(metric_mcq_letter_pred(nan_lp, 4, &p, &e_), "option 1");
    const int badgold[3] = {1, 4, 2};
    CHECK_EINPUT_MSG(metric_mcq_cloze_acc(all, allo, badgold, 3, 4, NULL, &acc, &e_), "question 1");
    CHECK_EINPUT(metric_mcq_letter_acc(all, gold, 0, 4, NULL, &acc, &e_));
    CHECK_EINPUT(metric_mcq_letter_pred(ll, 0, &p, &e_));
}

/* ---- SemEval-2025 Task 4 (METRICS.md 5) ---- */

static void test_semeval_kind(void)
{
    CHECK_EQ_INT(metric_semeval_item_kind("6fa3c1d0-1b2c-4d5e-9f00-sc1"), METRIC_SEMEVAL_SC);
    CHECK_EQ_INT(metric_semeval_item_kind("abcsc0"), METRIC_SEMEVAL_SC);
    CHECK_EQ_INT(metric_semeval_item_kind("abcqa3"), METRIC_SEMEVAL_QA);
    CHECK_EQ_INT(metric_semeval_item_kind("qa0"), METRIC_SEMEVAL_QA);
    CHECK_EQ_INT(metric_semeval_item_kind("abcqax"), METRIC_SEMEVAL_OTHER);   /* qa + not a digit */
    CHECK_EQ_INT(metric_semeval_item_kind("abcsc"), METRIC_SEMEVAL_OTHER);    /* minus last = "abcs" */
    CHECK_EQ_INT(metric_semeval_item_kind("abcqa"), METRIC_SEMEVAL_OTHER);
    CHECK_EQ_INT(metric_semeval_item_kind("sc"), METRIC_SEMEVAL_OTHER);
    CHECK_EQ_INT(metric_semeval_item_kind(""), METRIC_SEMEVAL_OTHER);
    CHECK_EQ_INT(metric_semeval_item_kind(NULL), METRIC_SEMEVAL_OTHER);
}

static void fill_means(struct metric_semeval_means *m, const double v[6])
{
    for (int t = 0; t < 3; t++)
        for (int c = 0; c < 2; c++) {
            m->value[t][c] = v[2 * t + c];
            m->n[t][c] = 10;
        }
}

/* METRICS.md 5: H = 0.687075, AUC 0.62 -> MIA 0.76, utility 0.45 -> final 0.632358. */
static void test_semeval_example(void)
{
    struct lethe_error err = {0};
    const double fv[6] = {0.2, 0.1, 0.3, 0.05, 0.4, 0.0}, rv[6] = {0.8, 0.6, 0.7, 0.5, 0.9, 0.4};
    struct metric_semeval_means f, r;
    fill_means(&f, fv);
    fill_means(&r, rv);
    double h, mia, fin, ok;
    size_t nt = 0;
    CHECK_EQ_INT(metric_semeval_task_aggregate(&f, &r, &h, &nt, &err), 0);
    CHECK_NEAR(h, 0.687075, 5e-7);
    CHECK_NEAR(h, 0.6870754807232373, 1e-15);  /* python: 12/sum(1/x) of the 12 terms */
    CHECK_EQ_INT(nt, 12);
    CHECK_EQ_INT(metric_semeval_mia_score(0.62, &mia, &err), 0);
    CHECK_NEAR(mia, 0.76, 1e-15);
    CHECK_EQ_INT(metric_semeval_final_score(h, mia, 0.45, &fin, &err), 0);
    CHECK_NEAR(fin, 0.632358, 5e-7);
    CHECK_NEAR(fin, 0.6323584935744124, 1e-15);    /* python */
    /* symmetric MIA score: 0.38 is as far from 0.5 as 0.62 */
    CHECK_EQ_INT(metric_semeval_mia_score(0.38, &mia, &err), 0);
    CHECK_NEAR(mia, 0.76, 1e-15);
    CHECK_EQ_INT(metric_semeval_mia_score(1.0, &mia, &err), 0);
    CHECK_NEAR(mia, 0.0, 0);
    /* utility bar: >= 0.75 x the original's */
    CHECK_EQ_INT(metric_semeval_utility_ok(0.375, 0.5, &ok, &err), 0);
    CHECK_NEAR(ok, 1.0, 0);
    CHECK_EQ_INT(metric_semeval_utility_ok(0.37, 0.5, &ok, &err), 0);
    CHECK_NEAR(ok, 0.0, 0);
    CHECK_EINPUT(metric_semeval_utility_ok(NAN, 0.5, &ok, &e_));
    CHECK_EINPUT(metric_semeval_mia_score(-0.1, &mia, &e_));
    CHECK_EINPUT_MSG(metric_semeval_final_score(h, NAN, 0.45, &fin, &e_), "mia score");
}

static void test_semeval_aggregate_edges(void)
{
    struct lethe_error err = {0};
    const double fv[6] = {0.2, 0.1, 0.3, 0.05, 0.4, 0.0}, rv[6] = {0.8, 0.6, 0.7, 0.5, 0.9, 0.4};
    struct metric_semeval_means f, r;
    fill_means(&f, fv);
    fill_means(&r, rv);
    double h;
    size_t nt = 0;
    /* Lethe's choice: empty cells (Task3 knowledge, no qa items) are left out, n = 10 */
    f.n[2][METRIC_SEMEVAL_KN] = r.n[2][METRIC_SEMEVAL_KN] = 0;
    f.value[2][METRIC_SEMEVAL_KN] = r.value[2][METRIC_SEMEVAL_KN] = NAN;
    CHECK_EQ_INT(metric_semeval_task_aggregate(&f, &r, &h, &nt, &err), 0);
    CHECK_NEAR(h, 0.7160589836389196, 1e-15);  /* python: the 10 remaining terms */
    CHECK_EQ_INT(nt, 10);
    /* a forget value of 1 enters as 0: H = 0 */
    fill_means(&f, fv);
    f.value[0][METRIC_SEMEVAL_REG] = 1.0;
    CHECK_EQ_INT(metric_semeval_task_aggregate(&f, &r, &h, &nt, &err), 0);
    CHECK_NEAR(h, 0.0, 0);
    f.value[1][METRIC_SEMEVAL_KN] = 1.5;
    CHECK_EINPUT_MSG(metric_semeval_task_aggregate(&f, &r, &h, &nt, &e_), "forget Task2 knowledge");
    fill_means(&f, fv);
    r.value[0][METRIC_SEMEVAL_REG] = NAN;
    CHECK_EINPUT_MSG(metric_semeval_task_aggregate(&f, &r, &h, &nt, &e_), "retain Task1 regurgitation");
    memset(&f, 0, sizeof f);
    memset(&r, 0, sizeof r);
    CHECK_EINPUT_MSG(metric_semeval_task_aggregate(&f, &r, &h, &nt, &e_), "empty");
}

static void test_semeval_split_means(void)
{
    struct lethe_error err = {0};
    const char *ids[4] = {"d1sc1", "d1qa0", "d2qa1", "d3sc2"};
    const char *tasks[4] = {"Task1", "Task1", "Task1", "Task3"};
    const char *gens[4] = {"A cat runs quickly", " Paris \n", "Lyon", "nothing alike"};
    const char *refs[4] = {"The cats were running quickly.", "paris", "Marseille", "x y"};
    double item[4];
    struct metric_semeval_means m;
    CHECK_EQ_INT(metric_semeval_split_means(ids, tasks, gens, refs, 4, item, &m, &err), 0);
    CHECK_NEAR(item[0], 0.6, 1e-15);            /* stemmed ROUGE-L recall (METRICS.md 1.2) */
    CHECK_NEAR(item[1], 1.0, 0);                /* exact match after lower + strip */
    CHECK_NEAR(item[2], 0.0, 0);
    CHECK_NEAR(item[3], 0.0, 0);
    CHECK_NEAR(m.value[0][METRIC_SEMEVAL_REG], 0.6, 1e-15);
    CHECK_EQ_INT(m.n[0][METRIC_SEMEVAL_REG], 1);
    CHECK_NEAR(m.value[0][METRIC_SEMEVAL_KN], 0.5, 0);
    CHECK_EQ_INT(m.n[0][METRIC_SEMEVAL_KN], 2);
    CHECK_EQ_INT(m.n[1][METRIC_SEMEVAL_REG], 0);
    CHECK_EQ_INT(m.n[2][METRIC_SEMEVAL_REG], 1);
    const char *badid[1] = {"d1xx1"}, *badtask[1] = {"Task4"};
    CHECK_EINPUT_MSG(metric_semeval_split_means(badid, tasks, gens, refs, 1, NULL, &m, &e_), "'d1xx1'");
    CHECK_EINPUT_MSG(metric_semeval_split_means(ids, badtask, gens, refs, 1, NULL, &m, &e_), "'Task4'");
}

/* ---- classifiers (METRICS.md 7) ---- */

static void test_avg_gap(void)
{
    struct lethe_error err = {0};
    /* METRICS.md 7: (0.92, 0.99, 0.90, 0.80) vs (0.89, 0.995, 0.905, 0.70) -> 0.035 */
    const double u[4] = {0.92, 0.99, 0.90, 0.80}, o[4] = {0.89, 0.995, 0.905, 0.70};
    double g;
    CHECK_EQ_INT(metric_avg_gap(u, o, &g, &err), 0);
    CHECK_NEAR(g, 0.035, 1e-15);
    CHECK_EQ_INT(metric_avg_gap(o, o, &g, &err), 0);
    CHECK_NEAR(g, 0.0, 0);
    const double bad[4] = {0.9, NAN, 0.9, 0.5};
    CHECK_EINPUT_MSG(metric_avg_gap(bad, o, &g, &e_), "retain accuracy");
    CHECK_EINPUT_MSG(metric_avg_gap(u, bad, &g, &e_), "oracle's retain accuracy");
}

static void test_dist_to_oracle(void)
{
    struct lethe_error err = {0};
    double d;
    const float a[2] = {3, 4}, b[2] = {4, 3};
    CHECK_EQ_INT(metric_dist_to_oracle(a, b, 1, 2, &d, &err), 0);
    CHECK_NEAR(d, 1 - 24.0 / 25, 1e-15);
    const float u[8] = {1, 2, 1, 0, 1, 0, 0, 0}, o[8] = {2, 4, 0, 1, -1, 0, 5, 5};
    CHECK_EQ_INT(metric_dist_to_oracle(u, o, 4, 2, &d, &err), 0);
    /* rows: parallel (cos 1), orthogonal (0), opposite (-1), zero vector (0 by choice) */
    CHECK_NEAR(d, 1 - (1 + 0 - 1 + 0) / 4.0, 1e-15);
    CHECK_EQ_INT(metric_dist_to_oracle(u, u, 3, 2, &d, &err), 0);
    CHECK_NEAR(d, 0.0, 1e-15);
    const float n[2] = {1, NAN};
    CHECK_EINPUT_MSG(metric_dist_to_oracle(a, n, 1, 2, &d, &e_), "oracle");
    CHECK_EINPUT(metric_dist_to_oracle(a, b, 0, 2, &d, &e_));
}

/* METRICS.md 7: y = (0,0,1,1,2,2) with the probability rows of the example; the argmax gives
 * yhat = (0,1,1,1,2,0) -> acc 0.666667, macro-F1 0.655556, macro AUC 0.958333. */
static void test_clf_split(void)
{
    struct lethe_error err = {0};
    const double p[18] = {.7, .2, .1, .4, .5, .1, .2, .6, .2, .1, .8, .1, .1, .2, .7, .5, .1, .4};
    float z[18];
    for (int i = 0; i < 18; i++)
        z[i] = (float)log(p[i]) + 3.0f;     /* softmax is shift-invariant */
    const int y[6] = {0, 0, 1, 1, 2, 2};
    int pred[6];
    struct metric_clf_scores s;
    CHECK_EQ_INT(metric_clf_split(z, y, 6, 3, pred, &s, &err), 0);
    const int want[6] = {0, 1, 1, 1, 2, 0};
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(pred[i], want[i]);
    CHECK_NEAR(s.acc, 0.666667, 5e-7);
    CHECK_NEAR(s.macro_f1, 0.655556, 5e-7);
    CHECK_NEAR(s.macro_auc, 0.958333, 5e-7);
    /* a one-class forget set: macro AUC undefined (NAN), macro-F1 over {1,3,5} (METRICS.md 7) */
    float z1[24] = {0};
    const int y1[4] = {3, 3, 3, 3}, p1[4] = {3, 1, 3, 5};
    for (int i = 0; i < 4; i++)
        z1[i * 6 + p1[i]] = 1.0f;
    CHECK_EQ_INT(metric_clf_split(z1, y1, 4, 6, NULL, &s, &err), 0);
    CHECK_NEAR(s.macro_f1, 0.222222, 5e-7);
    CHECK_NEAR(s.acc, 0.5, 0);
    CHECK(isnan(s.macro_auc));
    /* ties in logits go to the lowest class */
    const float zt[3] = {1, 1, 0};
    const int yt[1] = {1};
    CHECK_EQ_INT(metric_clf_split(zt, yt, 1, 3, pred, &s, &err), 0);
    CHECK_EQ_INT(pred[0], 0);
    const int ybad[6] = {0, 0, 1, 3, 2, 2};
    CHECK_EINPUT_MSG(metric_clf_split(z, ybad, 6, 3, NULL, &s, &e_), "row 3");
    z[7] = NAN;
    CHECK_EINPUT_MSG(metric_clf_split(z, y, 6, 3, NULL, &s, &e_), "row 2");
}

/* ---- FLAT fq_gap (METRICS.md 8) ---- */

static void test_fq_gap(void)
{
    struct lethe_error err = {0};
    double g;
    CHECK_EQ_INT(metric_fq_gap(0.3, 0.5, 0.1, 0.2, &g, &err), 0);
    CHECK_NEAR(g, 0.5, 1e-15);
    CHECK_EQ_INT(metric_fq_gap(0.1, 0.2, 0.3, 0.5, &g, &err), 0);
    CHECK_NEAR(g, 0.5, 1e-15);
    CHECK_EINPUT_MSG(metric_fq_gap(0.3, NAN, 0.1, 0.2, &g, &e_), "ROUGE-L recall");
    /* texts: the oracle reproduces the answers (BLEU 1, recall 1), the model says nothing */
    const char *refs[2] = {"the author was born in a small town", "she wrote three novels about the sea"};
    const char *empty[2] = {"", ""};
    CHECK_EQ_INT(metric_fq_gap_texts(refs, empty, refs, 2, &g, &err), 0);
    CHECK_NEAR(g, 2.0, 1e-12);
    CHECK_EQ_INT(metric_fq_gap_texts(refs, refs, refs, 2, &g, &err), 0);
    CHECK_NEAR(g, 0.0, 1e-12);
    CHECK(metric_in_range(metric_lookup("tofu.forget.fq_gap")->range, 2.0));
}

/* ---- every name these functions produce, in the registry with the spec's direction ---- */

static void test_names(void)
{
    static const struct {
        const char *name;
        enum metric_dir dir;
        enum metric_range range;
    } e[] = {
        {"tofu.forget.prob", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.retain.prob", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget.para_prob", METRIC_INFO, METRIC_RANGE_UNIT},
        {"tofu.retain.pert_prob", METRIC_INFO, METRIC_RANGE_UNIT},
        {"tofu.ra.prob_norm", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.wf.prob_norm", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget.rouge_l_recall", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.wf.rouge_l_recall", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget.truth_ratio", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.retain.truth_ratio", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.ra.truth_ratio", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget.truth_ratio_prob_mean", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.retain.truth_ratio_prob_mean", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget_quality", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget_quality_log10", METRIC_HIGHER, METRIC_RANGE_LOG10P},
        {"tofu.model_utility", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.retain_utility", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.privleak", METRIC_ZERO, METRIC_RANGE_PERCENT},
        {"tofu.forget.exact_memorization", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget.extraction_strength", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget.keyword_conf", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget.fq_gap", METRIC_ZERO, METRIC_RANGE_GAP2},
        {"tofu.heldout.ppl", METRIC_LOWER, METRIC_RANGE_PPL},
        {"muse.forget.verbmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.forget.knowmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.retain.knowmem_f1", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"muse.privleak", METRIC_ZERO, METRIC_RANGE_PERCENT},
        {"muse.scal.k2.privleak", METRIC_ZERO, METRIC_RANGE_PERCENT},
        {"muse.heldout.ppl", METRIC_LOWER, METRIC_RANGE_PPL},
        {"muse.forget.fq_gap", METRIC_ZERO, METRIC_RANGE_GAP2},
        {"wmdp.hazard.mcq_cloze_acc", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"wmdp.hazard.mcq_acc", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"wmdp.general.mcq_cloze_acc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"wmdp.bio.mcq_acc", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"semeval.forget.Task1.regurgitation", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"semeval.forget.Task3.knowledge", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"semeval.retain.Task2.regurgitation", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.retain.Task2.knowledge", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.task_aggregate", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.mia_auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"semeval.mia_score", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.utility", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.utility_ok", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.final_score", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.heldout.ppl", METRIC_LOWER, METRIC_RANGE_PPL},
        {"image.forget.acc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"image.test.acc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"image.retain.macro_f1", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"image.forget.macro_auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"image.avg_gap", METRIC_ZERO, METRIC_RANGE_UNIT},
        {"image.dist_to_oracle", METRIC_LOWER, METRIC_RANGE_GAP2},
        {"multimodal.forget.macro_auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"multimodal.forget.macro_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"multimodal.test.macro_auc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"multimodal.test.macro_f1", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"multimodal.dist_to_oracle", METRIC_LOWER, METRIC_RANGE_GAP2},
        {"multimodal.avg_gap", METRIC_ZERO, METRIC_RANGE_UNIT},
    };
    for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
        const struct metric_info *m = metric_lookup(e[i].name);
        if (!m) {
            test_cur_failed = 1;
            printf("# '%s' is not in the registry\n", e[i].name);
            continue;
        }
        if (m->dir != e[i].dir || m->range != e[i].range) {
            test_cur_failed = 1;
            printf("# '%s': %s %s (pattern '%s'), spec says %s %s\n", e[i].name, metric_dir_name(m->dir),
                   metric_range_name(m->range), m->pattern, metric_dir_name(e[i].dir),
                   metric_range_name(e[i].range));
        }
    }
}

int main(void)
{
    RUN(test_tofu_truth_ratio_example);
    RUN(test_tofu_truth_ratio_forms);
    RUN(test_tofu_probs);
    RUN(test_tofu_prob_norm);
    RUN(test_tofu_forget_quality);
    RUN(test_tofu_utility);
    RUN(test_tofu_em_es);
    RUN(test_tofu_keyword_conf);
    RUN(test_rouge_means);
    RUN(test_privleak);
    RUN(test_perplexity);
    RUN(test_mcq);
    RUN(test_semeval_kind);
    RUN(test_semeval_example);
    RUN(test_semeval_aggregate_edges);
    RUN(test_semeval_split_means);
    RUN(test_avg_gap);
    RUN(test_dist_to_oracle);
    RUN(test_clf_split);
    RUN(test_fq_gap);
    RUN(test_names);
    return test_done();
}
