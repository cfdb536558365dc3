/* Tests of metrics/registry.c: every name of the METRICS.md and ATTACKS.md tables resolves to
 * the direction the spec gives (written out by hand from the spec, not from the table). */
#include <math.h>
#include <stdlib.h>

#include "base/base.h"
#include "metrics/metrics.h"
#include "test.h"

struct expect {
    const char *name;
    enum metric_dir dir;
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
    }
}
#define CHECK_ALL(arr) check_all(arr, sizeof(arr) / sizeof(arr[0]))

/* METRICS.md section 2 table: TOFU */
static void test_tofu(void)
{
    static const struct expect e[] = {
        {"tofu.forget.prob", METRIC_ORACLE},
        {"tofu.retain.prob", METRIC_HIGHER},
        {"tofu.forget.para_prob", METRIC_INFO},
        {"tofu.retain.para_prob", METRIC_INFO},
        {"tofu.forget.pert_prob", METRIC_INFO},
        {"tofu.retain.pert_prob", METRIC_INFO},
        {"tofu.forget.rouge_l_recall", METRIC_ORACLE},
        {"tofu.retain.rouge_l_recall", METRIC_HIGHER},
        {"tofu.ra.rouge_l_recall", METRIC_HIGHER},
        {"tofu.wf.rouge_l_recall", METRIC_HIGHER},
        {"tofu.ra.prob_norm", METRIC_HIGHER},
        {"tofu.wf.prob_norm", METRIC_HIGHER},
        {"tofu.forget.truth_ratio", METRIC_ORACLE},
        {"tofu.retain.truth_ratio", METRIC_HIGHER},
        {"tofu.ra.truth_ratio", METRIC_HIGHER},
        {"tofu.wf.truth_ratio", METRIC_HIGHER},
        {"tofu.forget_quality", METRIC_HIGHER},
        {"tofu.forget_quality_log10", METRIC_HIGHER},
        {"tofu.model_utility", METRIC_HIGHER},
        {"tofu.retain_utility", METRIC_HIGHER},
        {"tofu.privleak", METRIC_ZERO},
        {"tofu.forget.exact_memorization", METRIC_ORACLE},
        {"tofu.forget.extraction_strength", METRIC_ORACLE},
        /* section 8: keyword metrics on the forget split, FLAT's gap to the oracle */
        {"tofu.forget.keyword_acc", METRIC_ORACLE},
        {"tofu.forget.keyword_conf", METRIC_ORACLE},
        {"tofu.forget.fq_gap", METRIC_ZERO},
        /* section 6 */
        {"tofu.heldout.ppl", METRIC_LOWER},
    };
    CHECK_ALL(e);
}

/* METRICS.md section 3 table: MUSE, with C5/C6 repeating C1-C4 */
static void test_muse(void)
{
    static const struct expect e[] = {
        {"muse.forget.verbmem_f1", METRIC_ORACLE},
        {"muse.forget.knowmem_f1", METRIC_ORACLE},
        {"muse.privleak", METRIC_ZERO},
        {"muse.retain.knowmem_f1", METRIC_HIGHER},
        {"muse.scal.k1.forget.verbmem_f1", METRIC_ORACLE},
        {"muse.scal.k4.forget.knowmem_f1", METRIC_ORACLE},
        {"muse.scal.k2.privleak", METRIC_ZERO},
        {"muse.scal.k3.retain.knowmem_f1", METRIC_HIGHER},
        {"muse.sust.k1.forget.verbmem_f1", METRIC_ORACLE},
        {"muse.sust.k2.forget.knowmem_f1", METRIC_ORACLE},
        {"muse.sust.k3.privleak", METRIC_ZERO},
        {"muse.sust.k4.retain.knowmem_f1", METRIC_HIGHER},
        {"muse.heldout.ppl", METRIC_LOWER},
        {"muse.forget.fq_gap", METRIC_ZERO},
    };
    CHECK_ALL(e);
}

/* METRICS.md section 4: hazard (and real WMDP domains) down, general up */
static void test_wmdp(void)
{
    static const struct expect e[] = {
        {"wmdp.hazard.mcq_cloze_acc", METRIC_LOWER},
        {"wmdp.hazard.mcq_acc", METRIC_LOWER},
        {"wmdp.general.mcq_cloze_acc", METRIC_HIGHER},
        {"wmdp.general.mcq_acc", METRIC_HIGHER},
        {"wmdp.bio.mcq_acc", METRIC_LOWER},
        {"wmdp.chem.mcq_acc", METRIC_LOWER},
        {"wmdp.cyber.mcq_acc", METRIC_LOWER},
    };
    CHECK_ALL(e);
}

/* METRICS.md section 5: forget values enter the task aggregate as 1 - v */
static void test_semeval(void)
{
    static const struct expect e[] = {
        {"semeval.forget.Task1.regurgitation", METRIC_LOWER},
        {"semeval.forget.Task2.knowledge", METRIC_LOWER},
        {"semeval.retain.Task3.regurgitation", METRIC_HIGHER},
        {"semeval.retain.Task1.knowledge", METRIC_HIGHER},
        {"semeval.task_aggregate", METRIC_HIGHER},
        {"semeval.mia_auc", METRIC_ORACLE},
        {"semeval.mia_score", METRIC_HIGHER},
        {"semeval.utility", METRIC_HIGHER},
        {"semeval.utility_ok", METRIC_HIGHER},
        {"semeval.final_score", METRIC_HIGHER},
        {"semeval.heldout.ppl", METRIC_LOWER},
    };
    CHECK_ALL(e);
}

/* METRICS.md section 7: classifiers */
static void test_classifiers(void)
{
    static const struct expect e[] = {
        {"image.forget.acc", METRIC_ORACLE},
        {"image.retain.acc", METRIC_HIGHER},
        {"image.test.acc", METRIC_HIGHER},
        {"image.forget.macro_f1", METRIC_ORACLE},
        {"image.test.macro_f1", METRIC_HIGHER},
        {"image.retain.macro_auc", METRIC_HIGHER},
        {"image.avg_gap", METRIC_ZERO},
        {"image.dist_to_oracle", METRIC_LOWER},
        {"image.mia.svm_rt.forget_member_rate", METRIC_ORACLE},
        {"image.mia.loss.auc", METRIC_ORACLE},
        {"multimodal.mia.svm_rt.forget_member_rate", METRIC_ORACLE},
        {"multimodal.forget.macro_auc", METRIC_ORACLE},
        {"multimodal.forget.macro_f1", METRIC_ORACLE},
        {"multimodal.test.macro_auc", METRIC_HIGHER},
        {"multimodal.test.macro_f1", METRIC_HIGHER},
        {"multimodal.dist_to_oracle", METRIC_LOWER},
        {"multimodal.forget.acc", METRIC_ORACLE},
        {"multimodal.avg_gap", METRIC_ZERO},
    };
    CHECK_ALL(e);
}

/* ATTACKS.md sections 0-5: MIAs, calibration, probes, derived values */
static void test_attacks(void)
{
    static const struct expect e[] = {
        {"tofu.mia.loss.auc", METRIC_ORACLE},
        {"tofu.mia.zlib.tpr_at_fpr_1pct", METRIC_ORACLE},
        {"muse.mia.min_k.tpr_at_fpr_0p1pct", METRIC_ORACLE},
        {"semeval.mia.min_k_pp.auc", METRIC_ORACLE},
        {"tofu.mia.gradnorm.auc", METRIC_ORACLE},
        {"image.mia.lira.auc", METRIC_ORACLE},
        {"image.mia.svm_shadow.tpr_at_fpr_1pct", METRIC_ORACLE},
        {"image.mia.loss.forget_member_rate", METRIC_ORACLE},
        {"tofu.mia_retain.loss.auc", METRIC_INFO},
        {"image.mia_retain.svm_rt.forget_member_rate", METRIC_INFO},
        /* section 3.4 and 4: recovered fraction 0 = no recovery; excess 0 = as the oracle */
        {"tofu.forget.rouge_l_recall.recovered_fraction", METRIC_ZERO},
        {"tofu.forget_quality_log10.recovered_fraction", METRIC_ZERO},
        {"tofu.mia.loss.auc.recovered_fraction", METRIC_ZERO},
        {"image.forget.acc.recovered_fraction", METRIC_ZERO},
        {"wmdp.hazard.mcq_cloze_acc.recovered_fraction", METRIC_ZERO},
        {"tofu.forget.prob.relearn_excess", METRIC_ZERO},
        {"tofu.forget_relearned.rouge_l_recall", METRIC_INFO},
        {"image.forget_relearned.acc", METRIC_INFO},
        /* section 5: probe splits behave as forget (oracle) or retain (higher) */
        {"tofu.forget_pq.prob", METRIC_ORACLE},
        {"tofu.forget_pq.truth_ratio", METRIC_ORACLE},
        {"tofu.forget_pq.rouge_l_recall", METRIC_ORACLE},
        {"tofu.forget_pq.para_prob", METRIC_INFO},
        {"tofu.forget_pq.exact_memorization", METRIC_ORACLE},
        {"tofu.retain_pq.truth_ratio", METRIC_HIGHER},
        {"tofu.retain_pq.prob", METRIC_HIGHER},
        {"tofu.forget_quality_pq", METRIC_HIGHER},
        {"tofu.forget_quality_pq_log10", METRIC_HIGHER},
        {"tofu.forget_icl3.rouge_l_recall", METRIC_ORACLE},
        {"tofu.forget_prefix25.rouge_l_recall", METRIC_ORACLE},
        {"muse.forget_icl3.knowmem_f1", METRIC_ORACLE},
        {"tofu.forget_icl3.rouge_l_recall.lift", METRIC_ORACLE},
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
    RUN(test_badness);
    return test_done();
}
