/* Tests of metrics/registry.c: every name of the METRICS.md and ATTACKS.md tables resolves to
 * the direction and the range of values the spec gives (written out by hand from the spec, not
 * from the table). */
#include <math.h>
#include <stdlib.h>

#include "base/base.h"
#include "metrics/metrics.h"
#include "test.h"

struct expect {
    const char *name;
    enum metric_dir dir;
    enum metric_range range;
};

static void check_all(const struct expect *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct metric_info *m = metric_lookup(e[i].name);
        if (!m) {
            test_cur_failed = 1;
            printf("# '%s' is not in the registry\n", e[i].name);
        } else if (m->dir != e[i].dir) {
            test_cur_failed = 1;
            printf("# '%s': direction %s (pattern '%s'), spec says %s\n", e[i].name,
                   metric_dir_name(m->dir), m->pattern, metric_dir_name(e[i].dir));
        }
        if (m && m->range != e[i].range) {
            test_cur_failed = 1;
            printf("# '%s': range %s (pattern '%s'), spec says %s\n", e[i].name,
                   metric_range_name(m->range), m->pattern, metric_range_name(e[i].range));
        }
    }
}
#define CHECK_ALL(arr) check_all(arr, sizeof(arr) / sizeof(arr[0]))

/* METRICS.md section 2 table: TOFU */
static void test_tofu(void)
{
    static const struct expect e[] = {
        {"tofu.forget.prob", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.retain.prob", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget.para_prob", METRIC_INFO, METRIC_RANGE_UNIT},
        {"tofu.retain.para_prob", METRIC_INFO, METRIC_RANGE_UNIT},
        {"tofu.forget.pert_prob", METRIC_INFO, METRIC_RANGE_UNIT},
        {"tofu.retain.pert_prob", METRIC_INFO, METRIC_RANGE_UNIT},
        {"tofu.forget.rouge_l_recall", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.retain.rouge_l_recall", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.ra.rouge_l_recall", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.wf.rouge_l_recall", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.ra.prob_norm", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.wf.prob_norm", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget.truth_ratio", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.retain.truth_ratio", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.ra.truth_ratio", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.wf.truth_ratio", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget_quality", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget_quality_log10", METRIC_HIGHER, METRIC_RANGE_LOG10P},
        {"tofu.model_utility", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.retain_utility", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.privleak", METRIC_ZERO, METRIC_RANGE_PERCENT},
        {"tofu.forget.exact_memorization", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget.extraction_strength", METRIC_ORACLE, METRIC_RANGE_UNIT},
        /* section 8: keyword metrics on the forget split, FLAT's gap to the oracle */
        {"tofu.forget.keyword_acc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget.keyword_conf", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget.fq_gap", METRIC_ZERO, METRIC_RANGE_GAP2},
        /* section 6 */
        {"tofu.heldout.ppl", METRIC_LOWER, METRIC_RANGE_PPL},
    };
    CHECK_ALL(e);
}

/* METRICS.md section 3 table: MUSE, with C5/C6 repeating C1-C4 */
static void test_muse(void)
{
    static const struct expect e[] = {
        {"muse.forget.verbmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.forget.knowmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.privleak", METRIC_ZERO, METRIC_RANGE_PERCENT},
        {"muse.retain.knowmem_f1", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"muse.scal.k1.forget.verbmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.scal.k4.forget.knowmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.scal.k2.privleak", METRIC_ZERO, METRIC_RANGE_PERCENT},
        {"muse.scal.k3.retain.knowmem_f1", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"muse.sust.k1.forget.verbmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.sust.k2.forget.knowmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.sust.k3.privleak", METRIC_ZERO, METRIC_RANGE_PERCENT},
        {"muse.sust.k4.retain.knowmem_f1", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"muse.heldout.ppl", METRIC_LOWER, METRIC_RANGE_PPL},
        {"muse.forget.fq_gap", METRIC_ZERO, METRIC_RANGE_GAP2},
    };
    CHECK_ALL(e);
}

/* METRICS.md section 4: hazard (and real WMDP domains) down, general up */
static void test_wmdp(void)
{
    static const struct expect e[] = {
        {"wmdp.hazard.mcq_cloze_acc", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"wmdp.hazard.mcq_acc", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"wmdp.general.mcq_cloze_acc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"wmdp.general.mcq_acc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"wmdp.bio.mcq_acc", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"wmdp.chem.mcq_acc", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"wmdp.cyber.mcq_acc", METRIC_LOWER, METRIC_RANGE_UNIT},
    };
    CHECK_ALL(e);
}

/* METRICS.md section 5: forget values enter the task aggregate as 1 - v */
static void test_semeval(void)
{
    static const struct expect e[] = {
        {"semeval.forget.Task1.regurgitation", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"semeval.forget.Task2.knowledge", METRIC_LOWER, METRIC_RANGE_UNIT},
        {"semeval.retain.Task3.regurgitation", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.retain.Task1.knowledge", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.task_aggregate", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.mia_auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"semeval.mia_score", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.utility", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.utility_ok", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.final_score", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"semeval.heldout.ppl", METRIC_LOWER, METRIC_RANGE_PPL},
    };
    CHECK_ALL(e);
}

/* METRICS.md section 7: classifiers */
static void test_classifiers(void)
{
    static const struct expect e[] = {
        {"image.forget.acc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"image.retain.acc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"image.test.acc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"image.forget.macro_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"image.test.macro_f1", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"image.retain.macro_auc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"image.avg_gap", METRIC_ZERO, METRIC_RANGE_UNIT},
        {"image.dist_to_oracle", METRIC_LOWER, METRIC_RANGE_GAP2},
        {"image.mia.svm_rt.forget_member_rate", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"image.mia.loss.auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"multimodal.mia.svm_rt.forget_member_rate", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"multimodal.forget.macro_auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"multimodal.forget.macro_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"multimodal.test.macro_auc", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"multimodal.test.macro_f1", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"multimodal.dist_to_oracle", METRIC_LOWER, METRIC_RANGE_GAP2},
        {"multimodal.forget.acc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"multimodal.avg_gap", METRIC_ZERO, METRIC_RANGE_UNIT},
    };
    CHECK_ALL(e);
}

/* ATTACKS.md sections 0-5: MIAs, calibration, probes, derived values */
static void test_attacks(void)
{
    static const struct expect e[] = {
        {"tofu.mia.loss.auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.mia.zlib.tpr_at_fpr_1pct", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.mia.min_k.tpr_at_fpr_0p1pct", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"semeval.mia.min_k_pp.auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.mia.gradnorm.auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"image.mia.lira.auc", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"image.mia.svm_shadow.tpr_at_fpr_1pct", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"image.mia.loss.forget_member_rate", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.mia_retain.loss.auc", METRIC_INFO, METRIC_RANGE_UNIT},
        {"image.mia_retain.svm_rt.forget_member_rate", METRIC_INFO, METRIC_RANGE_UNIT},
        /* section 3.4 and 4: recovered fraction 0 = no recovery; excess 0 = as the oracle */
        {"tofu.forget.rouge_l_recall.recovered_fraction", METRIC_ZERO, METRIC_RANGE_REAL},
        {"tofu.forget_quality_log10.recovered_fraction", METRIC_ZERO, METRIC_RANGE_REAL},
        {"tofu.mia.loss.auc.recovered_fraction", METRIC_ZERO, METRIC_RANGE_REAL},
        {"image.forget.acc.recovered_fraction", METRIC_ZERO, METRIC_RANGE_REAL},
        {"wmdp.hazard.mcq_cloze_acc.recovered_fraction", METRIC_ZERO, METRIC_RANGE_REAL},
        {"tofu.forget.prob.relearn_excess", METRIC_ZERO, METRIC_RANGE_REAL},
        {"tofu.forget_relearned.rouge_l_recall", METRIC_INFO, METRIC_RANGE_REAL},
        {"image.forget_relearned.acc", METRIC_INFO, METRIC_RANGE_REAL},
        /* section 5: probe splits behave as forget (oracle) or retain (higher) */
        {"tofu.forget_pq.prob", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget_pq.truth_ratio", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget_pq.rouge_l_recall", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget_pq.para_prob", METRIC_INFO, METRIC_RANGE_UNIT},
        {"tofu.forget_pq.exact_memorization", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.retain_pq.truth_ratio", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.retain_pq.prob", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget_quality_pq", METRIC_HIGHER, METRIC_RANGE_UNIT},
        {"tofu.forget_quality_pq_log10", METRIC_HIGHER, METRIC_RANGE_LOG10P},
        {"tofu.forget_icl3.rouge_l_recall", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget_prefix25.rouge_l_recall", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"muse.forget_icl3.knowmem_f1", METRIC_ORACLE, METRIC_RANGE_UNIT},
        {"tofu.forget_icl3.rouge_l_recall.lift", METRIC_ORACLE, METRIC_RANGE_REAL},
    };
    CHECK_ALL(e);
}

static void test_unknown_names(void)
{
    CHECK(metric_lookup("nonsense") == NULL);
    CHECK(metric_lookup("") == NULL);
    CHECK(metric_lookup(NULL) == NULL);
    CHECK(metric_lookup("tofu.forget.unheard_of") == NULL);
    CHECK(metric_lookup("tofu.model_utility_x") == NULL);
    CHECK(metric_lookup("xtofu.privleak") == NULL);
}

/* Every row is reachable: no earlier row swallows all of a later row's names, checked on the
 * pattern itself with each '*' replaced by a plausible segment. */
static void test_rows_reachable(void)
{
    for (size_t i = 0; i < metric_table_count; i++) {
        const char *p = metric_table[i].pattern;
        struct strbuf sb = STRBUF_INIT;
        for (const char *c = p; *c; c++) {
            if (*c == '*')
                strbuf_adds(&sb, c == p ? "tofu" : c[1] == '.' || !c[1] ? "x" : "");
            else
                strbuf_add(&sb, c, 1);
        }
        const struct metric_info *m = metric_lookup(sb.buf);
        if (m != &metric_table[i]) {
            test_cur_failed = 1;
            printf("# row '%s' is shadowed by '%s' (name '%s')\n", p, m ? m->pattern : "(none)",
                   sb.buf);
        }
        CHECK(metric_table[i].summary && metric_table[i].summary[0]);
        CHECK((unsigned)metric_table[i].dir < METRIC_DIR_COUNT);
        strbuf_release(&sb);
    }
}

static void test_dir_names(void)
{
    CHECK_STREQ(metric_dir_name(METRIC_HIGHER), "higher");
    CHECK_STREQ(metric_dir_name(METRIC_LOWER), "lower");
    CHECK_STREQ(metric_dir_name(METRIC_ORACLE), "oracle");
    CHECK_STREQ(metric_dir_name(METRIC_ZERO), "zero");
    CHECK_STREQ(metric_dir_name(METRIC_INFO), "info");
}

static void test_ranges(void)
{
    double lo = 0, hi = 0;
    CHECK_STREQ(metric_range_name(METRIC_RANGE_UNIT), "[0,1]");
    CHECK_STREQ(metric_range_name(METRIC_RANGE_PERCENT), "[-100,inf) %");
    CHECK_STREQ(metric_range_name(METRIC_RANGE_COUNT), "unknown");
    CHECK_EQ_INT(metric_range_bounds(METRIC_RANGE_UNIT, &lo, &hi), 0);
    CHECK(lo == 0.0 && hi == 1.0);
    CHECK_EQ_INT(metric_range_bounds(METRIC_RANGE_LOG10P, &lo, &hi), 0);
    CHECK(isinf(lo) && lo < 0 && hi == 0.0);
    CHECK_EQ_INT(metric_range_bounds(METRIC_RANGE_PPL, &lo, &hi), 0);
    CHECK(lo == 1.0 && isinf(hi));
    CHECK_EQ_INT(metric_range_bounds(METRIC_RANGE_COUNT, &lo, &hi), -1);
    CHECK(metric_in_range(METRIC_RANGE_UNIT, 0.0) && metric_in_range(METRIC_RANGE_UNIT, 1.0));
    CHECK(!metric_in_range(METRIC_RANGE_UNIT, 1.0 + 1e-12));
    CHECK(!metric_in_range(METRIC_RANGE_UNIT, -1e-300));
    CHECK(!metric_in_range(METRIC_RANGE_UNIT, NAN));
    CHECK(!metric_in_range(METRIC_RANGE_REAL, INFINITY));
    CHECK(metric_in_range(METRIC_RANGE_REAL, -1e300));
    CHECK(metric_in_range(METRIC_RANGE_PERCENT, -97.904));
    CHECK(metric_in_range(METRIC_RANGE_PERCENT, 250));
    CHECK(!metric_in_range(METRIC_RANGE_PERCENT, -100.5));
    CHECK(metric_in_range(METRIC_RANGE_LOG10P, -238.97));
    CHECK(!metric_in_range(METRIC_RANGE_LOG10P, 0.1));
    CHECK(!metric_in_range(METRIC_RANGE_PPL, 0.99) && metric_in_range(METRIC_RANGE_PPL, 12.5));
    CHECK(metric_in_range(METRIC_RANGE_GAP2, 2.0) && !metric_in_range(METRIC_RANGE_GAP2, 2.01));
    CHECK(metric_in_range(METRIC_RANGE_NONNEG, 0.0) && !metric_in_range(METRIC_RANGE_NONNEG, -0.1));
    CHECK(!metric_in_range(METRIC_RANGE_COUNT, 0.5));
    /* every row has a known range */
    for (size_t i = 0; i < metric_table_count; i++)
        CHECK((unsigned)metric_table[i].range < METRIC_RANGE_COUNT);
}

static void test_badness(void)
{
    CHECK_NEAR(metric_badness(METRIC_HIGHER, 0.7, NAN), -0.7, 0);
    CHECK_NEAR(metric_badness(METRIC_LOWER, 0.7, NAN), 0.7, 0);
    CHECK_NEAR(metric_badness(METRIC_ORACLE, 0.7, 0.5), 0.2, 1e-15);
    CHECK_NEAR(metric_badness(METRIC_ORACLE, 0.3, 0.5), 0.2, 1e-15);
    CHECK(isnan(metric_badness(METRIC_ORACLE, 0.3, NAN)));
    CHECK_NEAR(metric_badness(METRIC_ZERO, -97.9, NAN), 97.9, 0);
    CHECK_NEAR(metric_badness(METRIC_ZERO, 3.0, NAN), 3.0, 0);
    CHECK(isnan(metric_badness(METRIC_INFO, 1.0, 1.0)));
    CHECK(isnan(metric_badness(METRIC_HIGHER, NAN, NAN)));
    /* ranking: better values have lower badness */
    CHECK(metric_badness(METRIC_HIGHER, 0.9, NAN) < metric_badness(METRIC_HIGHER, 0.1, NAN));
    CHECK(metric_badness(METRIC_LOWER, 0.1, NAN) < metric_badness(METRIC_LOWER, 0.9, NAN));
    CHECK(metric_badness(METRIC_ZERO, -0.1, NAN) < metric_badness(METRIC_ZERO, 0.5, NAN));
}

int main(void)
{
    RUN(test_tofu);
    RUN(test_muse);
    RUN(test_wmdp);
    RUN(test_semeval);
    RUN(test_classifiers);
    RUN(test_attacks);
    RUN(test_unknown_names);
    RUN(test_rows_reachable);
    RUN(test_dir_names);
    RUN(test_ranges);
    RUN(test_badness);
    return test_done();
}
