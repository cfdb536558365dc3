/* Tests of results/leaderboard.c on real SQLite files written through the store API: means and
 * sample sds against hand-computed values, the order for each direction, reference rows set
 * apart, variants, failed runs, and each format parsed back. */
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
    double value, lo, hi;
};

/* Adds one run with its metrics (done, or failed when failed is set). */
static void add_run(struct store *st, const char *suite, const char *split, const char *method,
                    const char *config, long seed, const struct mv *m, size_t nm, int failed)
{
    char key[512], hash[65];
    snprintf(key, sizeof(key), "%s|%s|%s|%s", suite, split, method, config);
    sha256_hex(key, strlen(key), hash);
    struct run_info ri = {.grid = "test", .suite = suite, .split = split, .method = method,
                          .method_config_json = config, .seed = seed, .config_hash = hash,
                          .threads = 1};
    struct lethe_error err = {0};
    int64_t id = 0;
    int rc = store_begin_run(st, &ri, &id, &err);
    if (rc < 0)
        printf("# store_begin_run: %s\n", err.msg);
    LETHE_ASSERT(rc == STORE_RUN_NEW);
    if (failed) {
        LETHE_ASSERT(store_fail_run(st, id, "injected failure", &err) == 0);
        return;
    }
    struct run_results *res = run_results_new();
    for (size_t i = 0; i < nm; i++)
        run_results_metric(res, m[i].variant, "", m[i].name, m[i].value, m[i].lo, m[i].hi, 10);
    rc = store_finish_run(st, id, res, 1.0, &err);
    if (rc < 0)
        printf("# store_finish_run: %s\n", err.msg);
    LETHE_ASSERT(rc == 0);
    run_results_free(res);
}

#define FQ "tofu.forget_quality"
#define MU "tofu.model_utility"
#define RL "tofu.forget.rouge_l_recall"
#define PPL "tofu.heldout.ppl"
#define PL "tofu.privleak"
#define PP "tofu.forget.para_prob"
#define NPO "{\"lr\":1e-05,\"method\":\"npo\"}"
#define GA "{\"lr\":2e-05,\"method\":\"grad_ascent\"}"
#define SIM "{\"beta\":4.5,\"lr\":5e-05,\"method\":\"simnpo\"}"

/* The shared database (values chosen so that means and sds are easy by hand):
 *   npo     seeds 0,1,2: fq 0.5 0.7 0.9 (CIs [0.4,0.6] [0.6,0.8] [0.8,1.0]), mu 0.60 0.62 0.64,
 *                        rouge 0.45, ppl 20, privleak -5, para_prob 0.1
 *   ga      seeds 0,1  : fq 0.1 0.3, mu 0.2 0.4, rouge 0.1, ppl 50, privleak 30, para 0.3;
 *                        seed 2 failed
 *   simnpo  seed 0     : fq 0.9 [0.85, 0.95], mu 0.5, rouge 0.3, ppl 10, privleak 10, para 0.2
 *   retrain seed 0     : fq 1, mu 0.7, rouge 0.4;  original seed 0: fq 1e-10, mu 0.75, rouge 0.9
 *   variant q4_g64: npo seed 0 fq 0.05, retrain fq 0.8
 *   split forget05: npo seed 0 fq 0.25
 *   suite img_t (no view): image.test.acc, image.forget.acc for 'm1' and 'm2' */
static char *make_db(void)
{
    char *path = path_join(tmpdir, "lb.db");
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    if (!st)
        printf("# %s\n", err.msg);
    LETHE_ASSERT(st);
    const double fq[3] = {0.5, 0.7, 0.9}, mu[3] = {0.60, 0.62, 0.64};
    for (long s = 0; s < 3; s++) {
        struct mv m[] = {{"base", FQ, fq[s], fq[s] - 0.1, fq[s] + 0.1},
                         {"base", MU, mu[s], NAN, NAN},
                         {"base", RL, 0.45, NAN, NAN},
                         {"base", PPL, 20, NAN, NAN},
                         {"base", PL, -5, NAN, NAN},
                         {"base", PP, 0.1, NAN, NAN},
                         {"q4_g64", FQ, 0.05, NAN, NAN}};
        add_run(st, "tofu_t", "forget10", "npo", NPO, s, m, s == 0 ? 7 : 6, 0);
    }
    const double gfq[2] = {0.1, 0.3}, gmu[2] = {0.2, 0.4};
    for (long s = 0; s < 2; s++) {
        struct mv m[] = {{"base", FQ, gfq[s], NAN, NAN}, {"base", MU, gmu[s], NAN, NAN},
                         {"base", RL, 0.1, NAN, NAN},    {"base", PPL, 50, NAN, NAN},
                         {"base", PL, 30, NAN, NAN},     {"base", PP, 0.3, NAN, NAN}};
        add_run(st, "tofu_t", "forget10", "grad_ascent", GA, s, m, 6, 0);
    }
    add_run(st, "tofu_t", "forget10", "grad_ascent", GA, 2, NULL, 0, 1);
    {
        struct mv m[] = {{"base", FQ, 0.9, 0.85, 0.95}, {"base", MU, 0.5, NAN, NAN},
                         {"base", RL, 0.3, NAN, NAN},   {"base", PPL, 10, NAN, NAN},
                         {"base", PL, 10, NAN, NAN},    {"base", PP, 0.2, NAN, NAN}};
        add_run(st, "tofu_t", "forget10", "simnpo", SIM, 0, m, 6, 0);
    }
    {
        struct mv m[] = {{"base", FQ, 1, NAN, NAN}, {"base", MU, 0.7, NAN, NAN},
                         {"base", RL, 0.4, NAN, NAN}, {"q4_g64", FQ, 0.8, NAN, NAN}};
        add_run(st, "tofu_t", "forget10", "retrain", "{}", 0, m, 4, 0);
    }
    {
        struct mv m[] = {{"base", FQ, 1e-10, NAN, NAN}, {"base", MU, 0.75, NAN, NAN},
                         {"base", RL, 0.9, NAN, NAN}};
        add_run(st, "tofu_t", "forget10", "original", "{}", 0, m, 3, 0);
    }
    {
        struct mv m[] = {{"base", FQ, 0.25, NAN, NAN}};
        add_run(st, "tofu_t", "forget05", "npo", NPO, 0, m, 1, 0);
    }
    {
        struct mv m1[] = {{"base", "image.test.acc", 0.8, NAN, NAN},
                          {"base", "image.forget.acc", 0.5, NAN, NAN}};
        struct mv m2[] = {{"base", "image.test.acc", 0.9, NAN, NAN},
                          {"base", "image.forget.acc", 0.7, NAN, NAN}};
        add_run(st, "img_t", "random_1", "m1", "{\"method\":\"m1\"}", 0, m1, 2, 0);
        add_run(st, "img_t", "random_1", "m2", "{\"method\":\"m2\"}", 0, m2, 2, 0);
    }
    store_close(st);
    return path;
}

static char *db_path;

static const char *const headline[] = {FQ, MU, RL};

/* Renders with one view of tofu_t ranked by rank_by; returns the text (caller frees) or NULL. */
static char *render(const char *rank_by, const char *suite, const char *split, const char *variant,
                    enum lb_format fmt, int *rc_out, struct lethe_error *err)
{
    struct store *st = store_open(db_path, STORE_READONLY, err);
    if (!st)
        return NULL;
    struct suite_view v = {.suite = "tofu_t", .headline = headline, .n_headline = 3,
                           .rank_by = rank_by};
    struct lb_options o = {.suite = suite, .split = split, .variant = variant, .format = fmt,
                           .views = &v, .n_views = 1};
    struct strbuf out = STRBUF_INIT;
    int rc = leaderboard_render(st, &o, &out, err);
    store_close(st);
    if (rc_out)
        *rc_out = rc;
    if (rc < 0) {
        strbuf_release(&out);
        return NULL;
    }
    return strbuf_detach(&out);
}

static json_t *render_json(const char *rank_by, const char *variant)
{
    struct lethe_error err = {0};
    char *s = render(rank_by, "tofu_t", "forget10", variant, LB_JSON, NULL, &err);
    if (!s) {
        printf("# render: %s\n", err.msg);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j)
        printf("# invalid JSON at %d:%d: %s\n", je.line, je.column, je.text);
    free(s);
    return j;
}

static json_t *table0(json_t *j)
{
    return json_array_get(json_object_get(j, "tables"), 0);
}

static const char *row_method(json_t *t, const char *section, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(t, section), i),
                                             "method"));
}

static json_t *cell(json_t *t, const char *section, const char *method, const char *metric)
{
    json_t *rows = json_object_get(t, section);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        if (strcmp(json_string_value(json_object_get(r, "method")), method) == 0)
            return json_object_get(json_object_get(r, "metrics"), metric);
    }
    return NULL;
}

static double num(json_t *c, const char *key)
{
    json_t *v = json_object_get(c, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void test_means_and_sds(void)
{
    json_t *j = render_json(FQ, NULL);
    json_t *t = table0(j);
    CHECK(t != NULL);
    /* npo fq: mean (0.5+0.7+0.9)/3 = 0.7; sd sqrt((0.04+0+0.04)/2) = 0.2;
     * CI: mean of the bounds (0.4+0.6+0.8)/3 = 0.6 and (0.6+0.8+1.0)/3 = 0.8 */
    json_t *c = cell(t, "rows", "npo", FQ);
    CHECK_NEAR(num(c, "mean"), 0.7, 1e-12);
    CHECK_NEAR(num(c, "sd"), 0.2, 1e-12);
    CHECK_NEAR(num(c, "ci_low"), 0.6, 1e-12);
    CHECK_NEAR(num(c, "ci_high"), 0.8, 1e-12);
    CHECK_EQ_INT(json_integer_value(json_object_get(c, "n")), 3);
    /* npo mu: mean 0.62; sd sqrt((0.0004+0+0.0004)/2) = 0.02; no CI */
    c = cell(t, "rows", "npo", MU);
    CHECK_NEAR(num(c, "mean"), 0.62, 1e-12);
    CHECK_NEAR(num(c, "sd"), 0.02, 1e-12);
    CHECK(json_is_null(json_object_get(c, "ci_low")));
    /* ga fq: mean 0.2, sd sqrt((0.01+0.01)/1) = 0.141421356237; the failed seed left out */
    c = cell(t, "rows", "grad_ascent", FQ);
    CHECK_NEAR(num(c, "mean"), 0.2, 1e-12);
    CHECK_NEAR(num(c, "sd"), 0.14142135623731, 1e-12);
    /* simnpo: one seed: sd null, the stored CI */
    c = cell(t, "rows", "simnpo", FQ);
    CHECK_NEAR(num(c, "mean"), 0.9, 1e-12);
    CHECK(json_is_null(json_object_get(c, "sd")));
    CHECK_NEAR(num(c, "ci_low"), 0.85, 1e-12);
    CHECK_NEAR(num(c, "ci_high"), 0.95, 1e-12);
    CHECK_EQ_INT(json_integer_value(json_object_get(t, "failed_runs")), 1);
    json_t *ga = NULL;
    for (size_t i = 0; i < 3; i++)
        if (strcmp(row_method(t, "rows", i), "grad_ascent") == 0)
            ga = json_array_get(json_object_get(t, "rows"), i);
    CHECK_EQ_INT(json_integer_value(json_object_get(ga, "seeds")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(ga, "failed")), 1);
    CHECK_NEAR(json_number_value(json_object_get(ga, "lr")), 2e-5, 1e-20);
    /* the columns are the view's headline, in order */
    json_t *cols = json_object_get(t, "columns");
    CHECK_EQ_INT(json_array_size(cols), 3);
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(cols, 0), "name")), FQ);
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(cols, 2), "name")), RL);
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(cols, 2), "direction")), "oracle");
    json_decref(j);
}

/* Ranked rows in order, reference rows apart (never ranked among methods). */
static void check_order(const char *rank_by, const char *a, const char *b, const char *c)
{
    json_t *j = render_json(rank_by, NULL);
    json_t *t = table0(j);
    json_t *rows = json_object_get(t, "rows");
    CHECK_EQ_INT(json_array_size(rows), 3);
    CHECK_STREQ(row_method(t, "rows", 0), a);
    CHECK_STREQ(row_method(t, "rows", 1), b);
    CHECK_STREQ(row_method(t, "rows", 2), c);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(rows, 0), "rank")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(rows, 2), "rank")), 3);
    CHECK_EQ_INT(json_array_size(json_object_get(t, "reference")), 2);
    CHECK_STREQ(row_method(t, "reference", 0), "original");
    CHECK_STREQ(row_method(t, "reference", 1), "retrain");
    CHECK(json_object_get(json_array_get(json_object_get(t, "reference"), 0), "rank") == NULL);
    json_decref(j);
}

static void test_order_higher(void)
{
    /* fq means: simnpo 0.9, npo 0.7, ga 0.2 (retrain's 1.0 is not ranked) */
    check_order(FQ, "simnpo", "npo", "grad_ascent");
}

static void test_order_lower(void)
{
    /* ppl: simnpo 10, npo 20, ga 50 */
    check_order(PPL, "simnpo", "npo", "grad_ascent");
}

static void test_order_zero(void)
{
    /* privleak: |npo -5| = 5, |simnpo 10| = 10, |ga 30| = 30 */
    check_order(PL, "npo", "simnpo", "grad_ascent");
}

static void test_order_oracle(void)
{
    /* rouge vs retrain's 0.4: npo |0.45-0.4| = 0.05, simnpo 0.1, ga 0.3; a "higher" reading
     * would give ga last too but npo first only by distance: original (0.9) is not ranked */
    check_order(RL, "npo", "simnpo", "grad_ascent");
    json_t *j = render_json(RL, NULL);
    CHECK_NEAR(json_number_value(json_object_get(table0(j), "oracle")), 0.4, 1e-12);
    CHECK_STREQ(json_string_value(json_object_get(table0(j), "direction")), "oracle");
    json_decref(j);
}

static void test_order_info(void)
{
    /* para_prob is info: not ranked, rows in name order, rank null */
    json_t *j = render_json(PP, NULL);
    json_t *t = table0(j);
    CHECK_STREQ(row_method(t, "rows", 0), "grad_ascent");
    CHECK_STREQ(row_method(t, "rows", 1), "npo");
    CHECK_STREQ(row_method(t, "rows", 2), "simnpo");
    CHECK(json_is_null(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "rank")));
    /* rank_by not among the headline: it becomes the first column */
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(t, "columns"), 0),
                                                  "name")), PP);
    json_decref(j);
}

static void test_variant(void)
{
    json_t *j = render_json(FQ, "q4_g64");
    json_t *t = table0(j);
    CHECK_STREQ(json_string_value(json_object_get(t, "variant")), "q4_g64");
    /* only npo seed 0 has a q4_g64 value: mean 0.05 from n = 1 of 3 seeds */
    json_t *c = cell(t, "rows", "npo", FQ);
    CHECK_NEAR(num(c, "mean"), 0.05, 1e-12);
    CHECK_EQ_INT(json_integer_value(json_object_get(c, "n")), 1);
    CHECK(json_is_null(json_object_get(cell(t, "rows", "simnpo", FQ), "mean")));
    CHECK_NEAR(num(cell(t, "reference", "retrain", FQ), "mean"), 0.8, 1e-12);
    CHECK_STREQ(row_method(t, "rows", 0), "npo");   /* the only defined value ranks first */
    /* only tables with the variant are shown: forget05 has none */
    CHECK_EQ_INT(json_array_size(json_object_get(j, "tables")), 1);
    json_decref(j);
    /* the text form shows the count of defined values and '-' for undefined */
    struct lethe_error err = {0};
    char *s = render(FQ, "tofu_t", "forget10", "q4_g64", LB_TABLE, NULL, &err);
    CHECK_CONTAINS(s, "tofu_t / forget10 (variant q4_g64)");
    CHECK_CONTAINS(s, "0.05 (n=1)");
    free(s);
    /* an absent variant is an input error naming the ones present */
    int rc = 0;
    s = render(FQ, NULL, NULL, "q9", LB_TABLE, &rc, &err);
    CHECK(s == NULL);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no metrics of variant 'q9'");
    CHECK_CONTAINS(err.msg, "'base', 'q4_g64'");
}

static void test_table_format(void)
{
    struct lethe_error err = {0};
    int rc = -1;
    char *s = render(FQ, "tofu_t", NULL, NULL, LB_TABLE, &rc, &err);
    CHECK_EQ_INT(rc, 2);    /* forget05 and forget10 */
    CHECK_CONTAINS(s, "tofu_t / forget10 (variant base): ranked by tofu.forget_quality, "
                      "higher is better\n");
    CHECK_CONTAINS(s, "note: 1 failed run left out of the aggregates");
    CHECK_CONTAINS(s, "0.7 ± 0.2 [0.6, 0.8]");
    CHECK_CONTAINS(s, "0.9 [0.85, 0.95]");
    CHECK_CONTAINS(s, "tofu.forget_quality ↑");
    CHECK_CONTAINS(s, "tofu.forget.rouge_l_recall →O");
    /* the ranked rows, then a separator, then the reference rows */
    const char *r1 = strstr(s, "\n   1  simnpo");
    const char *r3 = strstr(s, "\n   3  grad_ascent");
    const char *sep = strstr(s, "\n----");
    const char *ref = strstr(s, "\n ref  original");
    CHECK(r1 && r3 && sep && ref && r1 < r3 && r3 < sep && sep < ref);
    /* forget05 comes first (split order) */
    CHECK(strstr(s, "tofu_t / forget05") < strstr(s, "tofu_t / forget10"));
    free(s);
}

/* A small RFC 4180 reader: fields of each record; returns the count of records. */
static size_t csv_parse(const char *s, char ***fields, size_t *nfields, size_t max_rec)
{
    size_t rec = 0;
    while (*s && rec < max_rec) {
        size_t nf = 0;
        fields[rec] = xcalloc(256, sizeof(char *));
        for (;;) {
            struct strbuf f = STRBUF_INIT;
            strbuf_adds(&f, "");
            if (*s == '"') {
                s++;
                for (;;) {
                    if (*s == '"' && s[1] == '"') {
                        strbuf_add(&f, "\"", 1);
                        s += 2;
                    } else if (*s == '"') {
                        s++;
                        break;
                    } else if (!*s) {
                        break;
                    } else {
                        strbuf_add(&f, s++, 1);
                    }
                }
            } else {
                while (*s && *s != ',' && *s != '\n')
                    strbuf_add(&f, s++, 1);
            }
            fields[rec][nf++] = strbuf_detach(&f);
            if (*s == ',') {
                s++;
                continue;
            }
            if (*s == '\n')
                s++;
            break;
        }
        nfields[rec++] = nf;
    }
    return rec;
}

static size_t col_index(char **header, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(header[i], name) == 0)
            return i;
    return (size_t)-1;
}

static void test_csv_format(void)
{
    struct lethe_error err = {0};
    char *s = render(FQ, NULL, NULL, NULL, LB_CSV, NULL, &err);
    CHECK(s != NULL);
    CHECK(str_starts(s, "suite,split,variant,section,rank,method,config,lr,seeds,failed,"
                        "image.forget.acc.mean,image.forget.acc.sd,image.forget.acc.n,"));
    CHECK_CONTAINS(s, ",tofu.forget_quality.mean,tofu.forget_quality.sd,tofu.forget_quality.n,"
                      "tofu.forget_quality.ci_low,tofu.forget_quality.ci_high,");
    /* the config JSON is quoted with doubled quotes */
    CHECK_CONTAINS(s, ",\"{\"\"lr\"\":1e-05,\"\"method\"\":\"\"npo\"\"}\",");
    char **rec[32];
    size_t nf[32];
    size_t n = csv_parse(s, rec, nf, 32);
    /* header + tofu_t/forget05 (1) + tofu_t/forget10 (5) + img_t (2); one header only */
    CHECK_EQ_INT(n, 9);
    size_t cm = col_index(rec[0], nf[0], "method"), cfq = col_index(rec[0], nf[0], FQ ".mean");
    size_t csd = col_index(rec[0], nf[0], FQ ".sd"), csec = col_index(rec[0], nf[0], "section");
    size_t cacc = col_index(rec[0], nf[0], "image.test.acc.mean");
    CHECK(cm != (size_t)-1 && cfq != (size_t)-1 && csd != (size_t)-1 && cacc != (size_t)-1);
    int saw_npo = 0, saw_ref = 0;
    for (size_t r = 1; r < n; r++) {
        CHECK_EQ_INT(nf[r], nf[0]);
        if (nf[r] != nf[0])
            continue;
        if (strcmp(rec[r][cm], "npo") == 0 && strcmp(rec[r][1], "forget10") == 0) {
            saw_npo = 1;
            CHECK_NEAR(strtod(rec[r][cfq], NULL), 0.7, 1e-12);
            CHECK_NEAR(strtod(rec[r][csd], NULL), 0.2, 1e-12);
            CHECK_STREQ(rec[r][col_index(rec[0], nf[0], "config")], NPO);
        }
        if (strcmp(rec[r][cm], "simnpo") == 0)
            CHECK_STREQ(rec[r][csd], "");   /* one seed: no sd */
        if (strcmp(rec[r][cm], "retrain") == 0) {
            saw_ref = 1;
            CHECK_STREQ(rec[r][csec], "reference");
            CHECK_STREQ(rec[r][col_index(rec[0], nf[0], "rank")], "");
        }
        if (strcmp(rec[r][cm], "m2") == 0)
            CHECK_NEAR(strtod(rec[r][cacc], NULL), 0.9, 1e-12);
    }
    CHECK(saw_npo && saw_ref);
    for (size_t r = 0; r < n; r++) {
        for (size_t k = 0; k < nf[r]; k++)
            free(rec[r][k]);
        free(rec[r]);
    }
    free(s);
}

static void test_md_format(void)
{
    struct lethe_error err = {0};
    char *s = render(FQ, "tofu_t", "forget10", NULL, LB_MD, NULL, &err);
    CHECK_CONTAINS(s, "### tofu_t / forget10 (variant base): ranked by tofu.forget_quality");
    CHECK_CONTAINS(s, "| rank | method | lr | seeds | tofu.forget_quality ↑ |");
    CHECK_CONTAINS(s, "| ---: | --- | ---: | ---: | --- |");
    CHECK_CONTAINS(s, "| 1 | simnpo | 5e-05 | 1 | 0.9 [0.85, 0.95] |");
    CHECK_CONTAINS(s, "| ref | retrain | - | 1 | 1 |");
    free(s);

    /* a pipe in a method name is escaped */
    char *p = path_join(tmpdir, "md.db");
    struct store *st = store_open(p, STORE_CREATE, &err);
    struct mv m[] = {{"base", "x.y", 1, NAN, NAN}};
    add_run(st, "s", "p", "odd|name", "{\"a\":\"b|c\"}", 0, m, 1, 0);
    struct lb_options o = {.format = LB_MD};
    struct strbuf out = STRBUF_INIT;
    CHECK_EQ_INT(leaderboard_render(st, &o, &out, &err), 1);
    CHECK_CONTAINS(out.buf, "| - | odd\\|name | - | 1 | 1 |");
    CHECK_CONTAINS(out.buf, "| rank | method | lr | seeds | x.y ? |");  /* unknown metric */
    strbuf_release(&out);
    store_close(st);
    free(p);
}

static void test_no_view(void)
{
    /* img_t has no view: every base metric is a column, in name order, the first ranks
     * (image.forget.acc, oracle direction, no retrain row: not ranked) */
    struct lethe_error err = {0};
    struct store *st = store_open(db_path, STORE_READONLY, &err);
    struct lb_options o = {.suite = "img_t", .format = LB_JSON};
    struct strbuf out = STRBUF_INIT;
    CHECK_EQ_INT(leaderboard_render(st, &o, &out, &err), 1);
    json_t *j = json_loads(out.buf, 0, NULL);
    json_t *t = table0(j);
    CHECK_STREQ(json_string_value(json_object_get(t, "rank_by")), "image.forget.acc");
    CHECK_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(t, "columns"), 1),
                                                  "name")), "image.test.acc");
    CHECK(json_is_null(json_object_get(t, "oracle")));
    CHECK(json_is_null(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "rank")));
    json_decref(j);
    strbuf_reset(&out);
    o.format = LB_TABLE;
    CHECK_EQ_INT(leaderboard_render(st, &o, &out, &err), 1);
    CHECK_CONTAINS(out.buf, "closest to retrain is best (no retrain row: not ranked)");
    strbuf_release(&out);
    store_close(st);
}

static void test_errors_and_empty(void)
{
    struct lethe_error err = {0};
    int rc = 0;
    char *s = render(FQ, "nope", NULL, NULL, LB_TABLE, &rc, &err);
    CHECK(s == NULL);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no runs of suite 'nope' in '");
    CHECK_CONTAINS(err.msg, "(suites: 'img_t', 'tofu_t')");
    memset(&err, 0, sizeof(err));
    s = render(FQ, "tofu_t", "forget99", NULL, LB_TABLE, &rc, &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, "no runs of split 'forget99' of suite 'tofu_t'");

    /* an empty database: no table, valid JSON, not an error */
    char *p = path_join(tmpdir, "empty.db");
    struct store *st = store_open(p, STORE_CREATE, &err);
    struct lb_options o = {.format = LB_JSON};
    struct strbuf out = STRBUF_INIT;
    CHECK_EQ_INT(leaderboard_render(st, &o, &out, &err), 0);
    json_t *j = json_loads(out.buf, 0, NULL);
    CHECK(j && json_array_size(json_object_get(j, "tables")) == 0);
    json_decref(j);
    strbuf_reset(&out);
    o.format = LB_TABLE;
    CHECK_EQ_INT(leaderboard_render(st, &o, &out, &err), 0);
    CHECK(out.len == 0);
    strbuf_release(&out);
    store_close(st);
    free(p);
}

static void test_only_failed_and_duplicate_names(void)
{
    struct lethe_error err = {0};
    char *p = path_join(tmpdir, "dup.db");
    struct store *st = store_open(p, STORE_CREATE, &err);
    struct mv a[] = {{"base", FQ, 0.3, NAN, NAN}}, b[] = {{"base", FQ, 0.6, NAN, NAN}};
    add_run(st, "s", "p", "npo", "{\"lr\":1}", 0, a, 1, 0);
    add_run(st, "s", "p", "npo", "{\"lr\":2}", 0, b, 1, 0);
    add_run(st, "s", "q", "npo", "{\"lr\":1}", 0, NULL, 0, 1);
    struct lb_options o = {.format = LB_TABLE};
    struct strbuf out = STRBUF_INIT;
    CHECK_EQ_INT(leaderboard_render(st, &o, &out, &err), 2);
    /* two configurations of one name: told apart by a hash of the configuration */
    char h1[65], h2[65], first[64], second[64];
    sha256_hex("{\"lr\":1}", 8, h1);
    sha256_hex("{\"lr\":2}", 8, h2);
    snprintf(first, sizeof(first), "\n   1  npo [%.6s]", h2);   /* lr 2 ranks first (0.6) */
    snprintf(second, sizeof(second), "\n   2  npo [%.6s]", h1);
    CHECK_CONTAINS(out.buf, first);
    CHECK_CONTAINS(out.buf, second);
    /* a split with only failed runs: its table says so */
    CHECK_CONTAINS(out.buf, "s / q (variant base)");
    CHECK_CONTAINS(out.buf, "note: no done runs\nnote: 1 failed run left out of the aggregates");
    strbuf_release(&out);
    store_close(st);
    free(p);
}

static void test_format_parse(void)
{
    CHECK_EQ_INT(lb_format_parse("table"), LB_TABLE);
    CHECK_EQ_INT(lb_format_parse("csv"), LB_CSV);
    CHECK_EQ_INT(lb_format_parse("md"), LB_MD);
    CHECK_EQ_INT(lb_format_parse("json"), LB_JSON);
    CHECK(lb_format_parse("html") < 0);
    CHECK(lb_format_parse("") < 0);
    CHECK(lb_format_parse(NULL) < 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lethe-lb-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    db_path = make_db();
    RUN(test_means_and_sds);
    RUN(test_order_higher);
    RUN(test_order_lower);
    RUN(test_order_zero);
    RUN(test_order_oracle);
    RUN(test_order_info);
    RUN(test_variant);
    RUN(test_table_format);
    RUN(test_csv_format);
    RUN(test_md_format);
    RUN(test_no_view);
    RUN(test_errors_and_empty);
    RUN(test_only_failed_and_duplicate_names);
    RUN(test_format_parse);
    free(db_path);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}
