/* Tests of results/compare.c on real SQLite files written through the store API: verdicts for
 * each direction, abs/rel/pattern tolerances, one-sided and failed runs, the order of the
 * report, and the tolerance file's errors with their exact messages. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results/results.h"
#include "tests/test.h"

static char tmpdir[256];

struct mv {
    const char *variant, *name;
    double value;
};

static void add_run_cfg(struct store *st, const char *suite, const char *method, const char *cfg,
                        long seed, const struct mv *m, size_t nm, int failed)
{
    char key[512], hash[65], config[128];
    if (cfg)
        snprintf(config, sizeof(config), "%s", cfg);
    else
        snprintf(config, sizeof(config), "{\"method\":\"%s\"}", method);
    snprintf(key, sizeof(key), "%s|forget10|%s", suite, config);
    sha256_hex(key, strlen(key), hash);
    struct run_info ri = {.grid = "test", .suite = suite, .split = "forget10", .method = method,
                          .method_config_json = config, .seed = seed, .config_hash = hash,
                          .threads = 1};
    struct lethe_error err = {0};
    int64_t id = 0;
    LETHE_ASSERT(store_begin_run(st, &ri, &id, &err) == STORE_RUN_NEW);
    if (failed) {
        LETHE_ASSERT(store_fail_run(st, id, "out of memory in npo", &err) == 0);
        return;
    }
    struct run_results *res = run_results_new();
    for (size_t i = 0; i < nm; i++)
        run_results_metric(res, m[i].variant, "", m[i].name, m[i].value, NAN, NAN, 10);
    LETHE_ASSERT(store_finish_run(st, id, res, 1.0, &err) == 0);
    run_results_free(res);
}

static void add_run(struct store *st, const char *suite, const char *method, long seed,
                    const struct mv *m, size_t nm, int failed)
{
    add_run_cfg(st, suite, method, NULL, seed, m, nm, failed);
}

#define FQ "tofu.forget_quality"
#define MU "tofu.model_utility"
#define RL "tofu.forget.rouge_l_recall"
#define PPL "tofu.heldout.ppl"
#define PL "tofu.privleak"
#define PP "tofu.forget.para_prob"

static char *base_path, *new_path;

/* base and new, per metric of npo seed 0 (variant base), and the verdict with abs 0:
 *   fq     0.5  -> 0.4   higher: worse by 0.1             regressed
 *   ppl    20   -> 19    lower: better by 1                improved
 *   privleak 5  -> -5    zero: |-5| = |5|                  ok
 *   rouge  0.45 -> 0.38  oracle: retrain 0.40 in base, 0.41 in new: distance 0.05 -> 0.03, improved
 *   para   0.3  -> 0.9   info                              info
 *   custom.thing 1 -> 2  unknown name                      info (listed)
 *   mu     0.6  -> (absent)                                missing (a regression)
 *   tofu.retain.prob (absent) -> 0.7                       new-metric
 *   tofu.ra.prob_norm NULL -> NULL                         undefined
 *   tofu.wf.prob_norm 0.5 -> NULL                          undefined (became: a regression)
 *   q4_g64 fq 0.2 -> 0.2                                   ok
 *   q4_g64 rouge 0.5 -> 0.5: retrain has no q4 value       no-oracle
 * runs: ga seed 0 only in base; simnpo seed 0 only in new; rmu seed 0 done in base, failed in
 * new; retrain seed 0 both (its rouge is the oracle itself: info). */
static void make_dbs(void)
{
    struct lethe_error err = {0};
    base_path = path_join(tmpdir, "base.db");
    new_path = path_join(tmpdir, "new.db");
    struct store *b = store_open(base_path, STORE_CREATE, &err);
    struct store *n = store_open(new_path, STORE_CREATE, &err);
    LETHE_ASSERT(b && n);
    struct mv mb[] = {{"base", FQ, 0.5},   {"base", PPL, 20},          {"base", PL, 5},
                      {"base", RL, 0.45},  {"base", PP, 0.3},          {"base", "custom.thing", 1},
                      {"base", MU, 0.6},   {"base", "tofu.ra.prob_norm", NAN},
                      {"base", "tofu.wf.prob_norm", 0.5},
                      {"q4_g64", FQ, 0.2}, {"q4_g64", RL, 0.5}};
    struct mv mn[] = {{"base", FQ, 0.4},   {"base", PPL, 19},          {"base", PL, -5},
                      {"base", RL, 0.38},  {"base", PP, 0.9},          {"base", "custom.thing", 2},
                      {"base", "tofu.retain.prob", 0.7}, {"base", "tofu.ra.prob_norm", NAN},
                      {"base", "tofu.wf.prob_norm", NAN},
                      {"q4_g64", FQ, 0.2}, {"q4_g64", RL, 0.5}};
    add_run(b, "tofu_t", "npo", 0, mb, sizeof(mb) / sizeof(mb[0]), 0);
    add_run(n, "tofu_t", "npo", 0, mn, sizeof(mn) / sizeof(mn[0]), 0);
    struct mv ob[] = {{"base", RL, 0.40}}, on[] = {{"base", RL, 0.41}};
    add_run(b, "tofu_t", "retrain", 0, ob, 1, 0);
    add_run(n, "tofu_t", "retrain", 0, on, 1, 0);
    struct mv g[] = {{"base", FQ, 0.1}};
    add_run(b, "tofu_t", "grad_ascent", 0, g, 1, 0);
    add_run(n, "tofu_t", "simnpo", 0, g, 1, 0);
    add_run(b, "tofu_t", "rmu", 0, g, 1, 0);
    add_run(n, "tofu_t", "rmu", 0, NULL, 0, 1);
    store_close(b);
    store_close(n);
}

/* Runs compare on the two DBs; returns the report (caller frees), *reg the regressions. */
static char *run_compare(const char *tol_text, enum lb_format fmt, int quiet, long *reg,
                         int *rc_out, struct lethe_error *err)
{
    char *tol = NULL;
    if (tol_text) {
        tol = path_join(tmpdir, "tol.json");
        LETHE_ASSERT(file_write_atomic(tol, tol_text, strlen(tol_text), NULL) == 0);
    }
    struct store *b = store_open(base_path, STORE_READONLY, err);
    struct store *n = store_open(new_path, STORE_READONLY, err);
    LETHE_ASSERT(b && n);
    struct compare_options o = {.tolerance_path = tol, .format = fmt, .quiet = quiet};
    struct strbuf out = STRBUF_INIT;
    *reg = -1;
    int rc = compare_dbs_opt(b, n, &o, &out, reg, err);
    if (rc_out)
        *rc_out = rc;
    store_close(b);
    store_close(n);
    free(tol);
    if (rc < 0) {
        strbuf_release(&out);
        return NULL;
    }
    return strbuf_detach(&out);
}

static json_t *compare_json(const char *tol_text, long *reg)
{
    struct lethe_error err = {0};
    char *s = run_compare(tol_text, LB_JSON, 0, reg, NULL, &err);
    if (!s) {
        printf("# compare: %s\n", err.msg);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j)
        printf("# invalid JSON %d:%d %s\n", je.line, je.column, je.text);
    free(s);
    return j;
}

/* The row of (method, variant, metric) in any section; NULL if none. */
static json_t *find_row(json_t *j, const char *method, const char *variant, const char *metric)
{
    json_t *secs = json_object_get(j, "sections");
    const char *k;
    json_t *arr;
    json_object_foreach(secs, k, arr) {
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *r = json_array_get(arr, i);
            json_t *m = json_object_get(r, "metric");
            if (m && strcmp(json_string_value(json_object_get(r, "method")), method) == 0 &&
                strcmp(json_string_value(json_object_get(r, "variant")), variant) == 0 &&
                strcmp(json_string_value(m), metric) == 0)
                return r;
        }
    }
    return NULL;
}

static const char *verdict(json_t *j, const char *method, const char *variant, const char *metric)
{
    json_t *r = find_row(j, method, variant, metric);
    return r ? json_string_value(json_object_get(r, "verdict")) : "(no row)";
}

static double field(json_t *r, const char *key)
{
    json_t *v = json_object_get(r, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void test_verdicts_default(void)
{
    long reg;
    json_t *j = compare_json(NULL, &reg);
    CHECK(j != NULL);
    CHECK_STREQ(verdict(j, "npo", "base", FQ), "regressed");
    CHECK_STREQ(verdict(j, "npo", "base", PPL), "improved");
    CHECK_STREQ(verdict(j, "npo", "base", PL), "ok");
    CHECK_STREQ(verdict(j, "npo", "base", RL), "improved");
    CHECK_STREQ(verdict(j, "npo", "base", PP), "info");
    CHECK_STREQ(verdict(j, "npo", "base", "custom.thing"), "info");
    CHECK_STREQ(verdict(j, "npo", "base", MU), "missing");
    CHECK_STREQ(verdict(j, "npo", "base", "tofu.retain.prob"), "new-metric");
    CHECK_STREQ(verdict(j, "npo", "base", "tofu.ra.prob_norm"), "undefined");
    CHECK_STREQ(verdict(j, "npo", "base", "tofu.wf.prob_norm"), "undefined");
    CHECK_STREQ(verdict(j, "npo", "q4_g64", FQ), "ok");
    CHECK_STREQ(verdict(j, "npo", "q4_g64", RL), "no-oracle");
    CHECK_STREQ(verdict(j, "retrain", "base", RL), "info");
    /* values: diff = new - base; the oracle values of each DB */
    json_t *r = find_row(j, "npo", "base", FQ);
    CHECK_NEAR(field(r, "base"), 0.5, 0);
    CHECK_NEAR(field(r, "new"), 0.4, 0);
    CHECK_NEAR(field(r, "diff"), -0.1, 1e-12);
    CHECK_NEAR(field(r, "allowed"), 0, 0);
    CHECK(json_is_true(json_object_get(r, "regression")));
    r = find_row(j, "npo", "base", RL);
    CHECK_NEAR(field(r, "base_oracle"), 0.40, 0);
    CHECK_NEAR(field(r, "new_oracle"), 0.41, 0);
    CHECK(json_is_false(json_object_get(r, "regression")));
    r = find_row(j, "npo", "base", "tofu.wf.prob_norm");
    CHECK(json_is_true(json_object_get(r, "regression")));
    CHECK(json_is_false(json_object_get(find_row(j, "npo", "base", "tofu.ra.prob_norm"),
                                        "regression")));
    /* regressions: fq, model_utility (missing), wf.prob_norm (became undefined), rmu failed */
    CHECK_EQ_INT(reg, 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "regressions")), 4);
    json_t *sum = json_object_get(j, "summary");
    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "runs_matched")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "only_in_base")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "only_in_new")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "failed_in_new")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "regressed")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "info")), 3);
    json_t *unk = json_object_get(j, "unknown_metrics");
    CHECK_EQ_INT(json_array_size(unk), 1);
    CHECK_STREQ(json_string_value(json_array_get(unk, 0)), "custom.thing");
    /* sections: the runs on one side and the failed one */
    json_t *secs = json_object_get(j, "sections");
    json_t *ob = json_object_get(secs, "only_in_base"), *on = json_object_get(secs, "only_in_new");
    json_t *fn = json_object_get(secs, "failed_in_new");
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(ob, 0), "method")), "grad_ascent");
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(on, 0), "method")), "simnpo");
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(fn, 0), "method")), "rmu");
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(fn, 0), "note")),
                "out of memory in npo");
    /* the regressed section holds exactly the three regressed metrics, first */
    json_t *rs = json_object_get(secs, "regressed");
    CHECK_EQ_INT(json_array_size(rs), 3);
    const char *k;
    json_t *v;
    int i = 0;
    json_object_foreach(secs, k, v) {
        if (i++ == 0)
            CHECK_STREQ(k, "regressed");
    }
    json_decref(j);
}

static void test_tolerances(void)
{
    long reg;
    json_t *j;
    /* a default abs 0.2 covers fq's 0.1 */
    j = compare_json("{\"default\": {\"abs\": 0.2}}", &reg);
    CHECK_STREQ(verdict(j, "npo", "base", FQ), "ok");
    CHECK_NEAR(field(find_row(j, "npo", "base", FQ), "allowed"), 0.2, 0);
    /* ... and turns ppl's improvement by 1 into... still improved (1 > 0.2), rouge's 0.02 ok */
    CHECK_STREQ(verdict(j, "npo", "base", PPL), "improved");
    CHECK_STREQ(verdict(j, "npo", "base", RL), "ok");
    CHECK_EQ_INT(reg, 3);
    json_decref(j);
    /* rel: 0.1 x |0.5| = 0.05 < 0.1 regressed; 0.3 x 0.5 = 0.15 ok */
    j = compare_json("{\"metrics\": {\"tofu.forget_quality\": {\"rel\": 0.1}}}", &reg);
    CHECK_STREQ(verdict(j, "npo", "base", FQ), "regressed");
    CHECK_NEAR(field(find_row(j, "npo", "base", FQ), "allowed"), 0.05, 1e-15);
    json_decref(j);
    j = compare_json("{\"metrics\": {\"tofu.forget_quality\": {\"rel\": 0.3}}}", &reg);
    CHECK_STREQ(verdict(j, "npo", "base", FQ), "ok");
    CHECK_EQ_INT(reg, 3);
    json_decref(j);
    /* both abs and rel: the larger allowance, max(0.01, 0.5 x 0.5) = 0.25 */
    j = compare_json("{\"default\": {\"abs\": 0.01, \"rel\": 0.5}}", &reg);
    CHECK_NEAR(field(find_row(j, "npo", "base", FQ), "allowed"), 0.25, 1e-15);
    CHECK_STREQ(verdict(j, "npo", "base", FQ), "ok");
    /* ppl: allowance max(0.01, 0.5 x 20) = 10 > 1: ok rather than improved */
    CHECK_STREQ(verdict(j, "npo", "base", PPL), "ok");
    json_decref(j);
    /* patterns: the first match wins */
    j = compare_json("{\"patterns\": [{\"pattern\": \"tofu.forget_*\", \"abs\": 0.5},"
                     " {\"pattern\": \"tofu.*\", \"abs\": 0}]}", &reg);
    CHECK_STREQ(verdict(j, "npo", "base", FQ), "ok");
    json_decref(j);
    j = compare_json("{\"patterns\": [{\"pattern\": \"tofu.*\", \"abs\": 0},"
                     " {\"pattern\": \"tofu.forget_*\", \"abs\": 0.5}]}", &reg);
    CHECK_STREQ(verdict(j, "npo", "base", FQ), "regressed");
    json_decref(j);
    /* an exact name wins over any pattern */
    j = compare_json("{\"metrics\": {\"tofu.forget_quality\": {\"abs\": 0}},"
                     " \"patterns\": [{\"pattern\": \"*\", \"abs\": 1}]}", &reg);
    CHECK_STREQ(verdict(j, "npo", "base", FQ), "regressed");
    CHECK_STREQ(verdict(j, "npo", "base", PPL), "ok");   /* 1 <= 1 under the pattern */
    json_decref(j);
    /* oracle with abs 0.03: distance 0.05 -> 0.03 is an improvement of 0.02 <= 0.03: ok */
    j = compare_json("{\"metrics\": {\"tofu.forget.rouge_l_recall\": {\"abs\": 0.03}}}", &reg);
    CHECK_STREQ(verdict(j, "npo", "base", RL), "ok");
    json_decref(j);
}

static void test_table_order_and_quiet(void)
{
    long reg;
    struct lethe_error err = {0};
    char *s = run_compare(NULL, LB_TABLE, 0, &reg, NULL, &err);
    CHECK(s != NULL);
    const char *a = strstr(s, "regressed (3)\n"), *b = strstr(s, "failed in new (done in base) (1)");
    const char *c = strstr(s, "runs only in base (1)"), *d = strstr(s, "runs only in new (1)");
    const char *e = strstr(s, "other metrics (");
    CHECK(a && b && c && d && e && a < b && b < c && c < d && d < e);
    CHECK_CONTAINS(s, "unknown metric names (treated as info): custom.thing\n");
    CHECK_CONTAINS(s, "REGRESSED: 4 regressions\n");
    CHECK_CONTAINS(s, "runs: 2 matched, 1 failed in new, 1 only in base, 1 only in new\n");
    /* the regressed fq row, with its numbers */
    CHECK(strstr(s, "regressed  tofu_t  forget10  npo") != NULL);
    free(s);
    s = run_compare(NULL, LB_TABLE, 1, &reg, NULL, &err);
    CHECK(strstr(s, "other metrics") == NULL);
    CHECK_CONTAINS(s, "regressed (3)");
    CHECK_EQ_INT(reg, 4);
    free(s);
    /* CSV: one header, quoted config JSON, every record the same width */
    s = run_compare(NULL, LB_CSV, 0, &reg, NULL, &err);
    CHECK(str_starts(s, "section,verdict,suite,split,method,config,seed,variant,metric,direction,"
                        "base,new,diff,allowed,base_oracle,new_oracle,note\n"));
    CHECK_CONTAINS(s, "\nregressed,regressed,tofu_t,forget10,npo,\"{\"\"method\"\":\"\"npo\"\"}\",0,"
                      "base,tofu.forget_quality,higher,0.5,0.4,");
    CHECK_CONTAINS(s, "\nfailed_in_new,failed,tofu_t,forget10,rmu,");
    free(s);
}

static void test_identical_dbs(void)
{
    struct lethe_error err = {0};
    struct store *b = store_open(base_path, STORE_READONLY, &err);
    struct store *b2 = store_open(base_path, STORE_READONLY, &err);
    struct strbuf out = STRBUF_INIT;
    long reg = -1;
    CHECK_EQ_INT(compare_dbs(b, b2, NULL, LB_TABLE, &out, &reg, &err), 0);
    CHECK_EQ_INT(reg, 0);
    CHECK_CONTAINS(out.buf, "ok: 0 regressions\n");
    CHECK_CONTAINS(out.buf, "runs: 4 matched, 0 failed in new, 0 only in base, 0 only in new");
    strbuf_release(&out);
    store_close(b);
    store_close(b2);
}

/* One method name with another configuration on each side: two one-sided runs, told apart
 * by a hash of their configurations. */
static void test_changed_configuration(void)
{
    struct lethe_error err = {0};
    char *pa = path_join(tmpdir, "cfg_a.db"), *pb = path_join(tmpdir, "cfg_b.db");
    struct store *a = store_open(pa, STORE_CREATE, &err), *b = store_open(pb, STORE_CREATE, &err);
    struct mv m[] = {{"base", FQ, 0.5}};
    add_run_cfg(a, "s", "npo", "{\"lr\":1}", 0, m, 1, 0);
    add_run_cfg(b, "s", "npo", "{\"lr\":2}", 0, m, 1, 0);
    struct strbuf out = STRBUF_INIT;
    long reg = -1;
    CHECK_EQ_INT(compare_dbs(a, b, NULL, LB_TABLE, &out, &reg, &err), 0);
    CHECK_EQ_INT(reg, 0);
    char h1[65], h2[65], l1[64], l2[64];
    sha256_hex("{\"lr\":1}", 8, h1);
    sha256_hex("{\"lr\":2}", 8, h2);
    snprintf(l1, sizeof(l1), "s      forget10  npo [%.6s]     0  not in new", h1);
    snprintf(l2, sizeof(l2), "s      forget10  npo [%.6s]     0  not in base", h2);
    CHECK_CONTAINS(out.buf, l1);
    CHECK_CONTAINS(out.buf, l2);
    CHECK_CONTAINS(out.buf, "runs: 0 matched, 0 failed in new, 1 only in base, 1 only in new");
    strbuf_release(&out);
    store_close(a);
    store_close(b);
    free(pa);
    free(pb);
}

/* Bad tolerance files, each with its exact message. */
static void test_tolerance_errors(void)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"{\"metrics\": {\"tofu.privleak\": {\"abs\": \"2\"}}}",
         "metrics.tofu.privleak.abs: expected a number"},
        {"{\"default\": {\"abs\": -1}}", "default.abs: expected a number >= 0, got -1"},
        {"{\"default\": {\"absolute\": 1}}", "default.absolute: unknown key (expected abs or rel)"},
        {"{\"defaults\": {\"abs\": 1}}",
         "defaults: unknown key (expected default, metrics or patterns)"},
        {"{\"metrics\": {\"tofu.privleak\": 2}}",
         "metrics.tofu.privleak: expected an object like {\"abs\": 0.01}"},
        {"{\"metrics\": {\"tofu.privleak\": {}}}",
         "metrics.tofu.privleak: expected at least one of abs, rel"},
        {"{\"metrics\": []}", "metrics: expected an object of metric names"},
        {"{\"patterns\": {\"*\": {\"abs\": 1}}}",
         "patterns: expected an array of {\"pattern\": ..., \"abs\": ...}"},
        {"{\"patterns\": [{\"pattern\": \"a*\", \"abs\": 1}, {\"abs\": 1}]}",
         "patterns[1].pattern: missing (expected a glob string)"},
        {"{\"patterns\": [{\"pattern\": 3, \"abs\": 1}]}",
         "patterns[0].pattern: expected a non-empty string"},
        {"{\"patterns\": [{\"pattern\": \"x\", \"rel\": 1, \"abs_\": 1}]}",
         "patterns[0].abs_: unknown key (expected pattern, abs or rel)"},
        {"[1, 2]", "expected an object at the top level"},
        {"{\"default\": {\"abs\": 1}, \"default\": {\"abs\": 2}}", "invalid JSON: duplicate object key"},
        {"{\"default\": {\"abs\": 1}", "invalid JSON: "},
    };
    char *tol = path_join(tmpdir, "tol.json");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long reg;
        int rc = 0;
        struct lethe_error err = {0};
        char *s = run_compare(bad[i].text, LB_TABLE, 0, &reg, &rc, &err);
        CHECK(s == NULL);
        free(s);
        CHECK_EQ_INT(err.code, LETHE_EINPUT);
        char want[512];
        if (str_starts(bad[i].msg, "invalid JSON"))
            snprintf(want, sizeof(want), "%s:1:", tol);     /* file:line:column: invalid JSON */
        else
            snprintf(want, sizeof(want), "%s: %s", tol, bad[i].msg);
        if (str_starts(bad[i].msg, "invalid JSON")) {
            CHECK(str_starts(err.msg, want));
            CHECK_CONTAINS(err.msg, bad[i].msg);
        } else {
            CHECK_STREQ(err.msg, want);
        }
    }
    /* a missing file */
    struct store *b = store_open(base_path, STORE_READONLY, NULL);
    struct compare_options o = {.tolerance_path = "/nonexistent/tol.json", .format = LB_TABLE};
    struct strbuf out = STRBUF_INIT;
    struct lethe_error err = {0};
    long reg = 0;
    CHECK(compare_dbs_opt(b, b, &o, &out, &reg, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "cannot open '/nonexistent/tol.json'");
    CHECK(out.len == 0);
    store_close(b);
    free(tol);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lethe-cmp-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    make_dbs();
    RUN(test_verdicts_default);
    RUN(test_tolerances);
    RUN(test_table_order_and_quiet);
    RUN(test_identical_dbs);
    RUN(test_changed_configuration);
    RUN(test_tolerance_errors);
    free(base_path);
    free(new_path);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}
