/* Tests of the figures (results/plot*.c): real gnuplot on databases written through the store
 * API, with the means checked against values computed by hand from what was written. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results/plot_impl.h"
#include "tests/test.h"

static char tmpdir[256];
static char *db_path;           /* the main sample database */
static char *db_two;            /* two suites, for the suite-choice errors */

/* ---- writing sample databases ------------------------------------------------------------- */

struct m_val {
    const char *variant, *name;
    double value;
};

/* One finished run with the given metrics (and, when n_steps > 0, a curve y = y0 - 0.25 step). */
static int64_t add_run(struct store *st, const char *suite, const char *split, const char *method,
                       long seed, const struct m_val *vals, size_t n_vals, const char *curve,
                       int n_steps, double y0)
{
    struct lethe_error err = {0};
    char key[512], hash[65];
    snprintf(key, sizeof(key), "%s|%s|%s", suite, split, method);
    sha256_hex(key, strlen(key), hash);
    struct run_info ri = {.suite = suite, .split = split, .method = method,
                          .method_config_json = "{}", .seed = seed, .config_hash = hash, .threads = 1};
    int64_t id = -1;
    int rc = store_begin_run(st, &ri, &id, &err);
    if (rc != STORE_RUN_NEW) {
        printf("# store_begin_run: %d %s\n", rc, err.msg);
        return -1;
    }
    struct run_results *res = run_results_new();
    for (size_t i = 0; i < n_vals; i++)
        run_results_metric(res, vals[i].variant, "", vals[i].name, vals[i].value, NAN, NAN, 10);
    for (int s = 0; s < n_steps; s++)
        run_results_curve(res, curve, s, (double)s, y0 - 0.25 * s);
    if (store_finish_run(st, id, res, 1.0, &err) < 0)
        printf("# store_finish_run: %s\n", err.msg);
    run_results_free(res);
    return id;
}

#define MU "tofu.model_utility"
#define FQ "tofu.forget_quality"
#define RL "tofu.forget.rouge_l_recall"
#define WEIRD "we'ird \"name\"\\x_y"

/* The sample: suite tofu_t, split forget10 (and forget05 with two runs). Hand means are in the
 * tests below. */
static void make_db(void)
{
    struct lethe_error err = {0};
    struct store *st = store_open(db_path, STORE_CREATE, &err);
    if (!st) {
        printf("# store_open: %s\n", err.msg);
        exit(1);
    }
    const char *S = "tofu_t", *P = "forget10";
    /* original: mu 0.60, 0.62 -> 0.61; fq 1e-10, 3e-10 -> 2e-10 */
    add_run(st, S, P, "original", 0, (struct m_val[]){{"base", MU, 0.60}, {"base", FQ, 1e-10},
            {"base", RL, 0.9}}, 3, NULL, 0, 0);
    add_run(st, S, P, "original", 1, (struct m_val[]){{"base", MU, 0.62}, {"base", FQ, 3e-10},
            {"base", RL, 0.94}}, 3, NULL, 0, 0);
    /* retrain: mu 0.58, 0.60 -> 0.59; fq 0.9, 1.0 -> 0.95 */
    add_run(st, S, P, "retrain", 0, (struct m_val[]){{"base", MU, 0.58}, {"base", FQ, 0.9}}, 2,
            NULL, 0, 0);
    add_run(st, S, P, "retrain", 1, (struct m_val[]){{"base", MU, 0.60}, {"base", FQ, 1.0}}, 2,
            NULL, 0, 0);
    /* npo_lr1e-5: mu 0.5, 0.55, 0.45 -> 0.5 (sd 0.05); fq 0.01, 0.02, 0.03 -> 0.02 (sd 0.01);
     * rouge base 0.2, 0.3, 0.4 -> 0.3 (sd 0.1); q8 0.21, 0.31, 0.41 -> 0.31;
     * q4_g64 0.5, 0.6, 0.7 -> 0.6; curve y0 2.0, 2.1, 2.2 */
    const double mu[] = {0.5, 0.55, 0.45}, fq[] = {0.01, 0.02, 0.03}, rl[] = {0.2, 0.3, 0.4};
    for (int s = 0; s < 3; s++)
        add_run(st, S, P, "npo_lr1e-5", s, (struct m_val[]){{"base", MU, mu[s]}, {"base", FQ, fq[s]},
                {"base", RL, rl[s]}, {"q8", RL, rl[s] + 0.01}, {"q4_g64", RL, rl[s] + 0.3},
                {"q4_g64", MU, mu[s] - 0.1}, {"q4_g64", FQ, fq[s] * 10}}, 7,
                "unlearn.forget_loss", 5, 2.0 + 0.1 * s);
    /* grad_ascent: fq 0 -> left out on a log y axis; rouge only in base (0.05) */
    add_run(st, S, P, "grad_ascent", 0, (struct m_val[]){{"base", MU, 0.2}, {"base", FQ, 0.0},
            {"base", RL, 0.05}}, 3, "unlearn.forget_loss", 5, 3.0);
    /* a name that needs quoting everywhere */
    add_run(st, S, P, WEIRD, 0, (struct m_val[]){{"base", MU, 0.3}, {"base", FQ, 0.001},
            {"base", RL, 0.5}, {"q8", RL, 0.45}}, 4, NULL, 0, 0);
    /* forget05: two runs */
    add_run(st, S, "forget05", "original", 0, (struct m_val[]){{"base", MU, 0.7}, {"base", FQ, 1e-5}},
            2, NULL, 0, 0);
    add_run(st, S, "forget05", "npo_lr1e-5", 0, (struct m_val[]){{"base", MU, 0.4},
            {"base", FQ, 0.5}}, 2, NULL, 0, 0);
    /* ... and a third on the very same point: its label must go elsewhere */
    add_run(st, S, "forget05", "npo_lr2e-5", 0, (struct m_val[]){{"base", MU, 0.4},
            {"base", FQ, 0.5}}, 2, NULL, 0, 0);
    /* forget01: one run whose forget quality is 0: nothing to draw on a log axis */
    add_run(st, S, "forget01", "grad_ascent", 0, (struct m_val[]){{"base", MU, 0.1}, {"base", FQ, 0}},
            2, NULL, 0, 0);
    /* a run left 'running' with a wild value written behind the store's back: never drawn */
    char hash[65];
    sha256_hex("crashed", 7, hash);
    struct run_info ri = {.suite = S, .split = P, .method = "npo_lr1e-5", .method_config_json = "{}",
                          .seed = 9, .config_hash = hash, .threads = 1};
    int64_t id;
    if (store_begin_run(st, &ri, &id, &err) == STORE_RUN_NEW) {
        char sql[256];
        snprintf(sql, sizeof(sql), "INSERT INTO metrics(run_id, variant, split, name, value) VALUES "
                 "(%lld, 'base', '', '" MU "', 99), (%lld, 'base', '', '" FQ "', 99)",
                 (long long)id, (long long)id);
        if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            printf("# insert: %s\n", sqlite3_errmsg(st->db));
    }
    store_close(st);

    st = store_open(db_two, STORE_CREATE, &err);
    add_run(st, "suite_a", "s1", "original", 0, (struct m_val[]){{"base", MU, 0.5}}, 1, NULL, 0, 0);
    add_run(st, "suite_b", "s1", "original", 0, (struct m_val[]){{"base", MU, 0.5}}, 1, NULL, 0, 0);
    store_close(st);
}

/* ---- checking the files ------------------------------------------------------------------- */

static char *out_dir(const char *name)
{
    char *d = path_join(tmpdir, name);
    return d;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* The image starts with its format's signature and has a plausible size. */
static int image_ok(const char *path, enum plot_format f)
{
    char *text = NULL;
    size_t len = 0;
    if (file_read_all(path, &text, &len, NULL) < 0) {
        printf("# cannot read '%s'\n", path);
        return 0;
    }
    int ok = 0;
    if (f == PLOT_PNG) {
        ok = len >= 8 && memcmp(text, "\x89PNG\r\n\x1a\n", 8) == 0;
    } else if (f == PLOT_PDF) {
        ok = len >= 5 && memcmp(text, "%PDF-", 5) == 0;
    } else {
        const char *p = text;
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        if (strncmp(p, "<?xml", 5) == 0) {
            const char *end = strstr(p, "?>");
            p = end ? end + 2 : p;
        }
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        ok = strncmp(p, "<svg", 4) == 0;
    }
    if (!ok)
        printf("# '%s' lacks its signature\n", path);
    if (len < 2048 || len > 5 * 1024 * 1024) {
        printf("# '%s' has an implausible size %zu\n", path, len);
        ok = 0;
    }
    free(text);
    return ok;
}

/* The sibling of an image: same stem, another extension. Returned. */
static char *sibling(const char *image, const char *ext)
{
    struct strbuf sb = STRBUF_INIT;
    const char *dot = strrchr(image, '.');
    strbuf_add(&sb, image, dot ? (size_t)(dot - image) : strlen(image));
    strbuf_addf(&sb, ".%s", ext);
    return strbuf_detach(&sb);
}

/* The data line of a .dat file that ends with the comment "# 'label'", its leading numbers parsed
 * into v (at most nv); the count of numbers, or -1 when there is no such line. */
static int dat_row(const char *dat_path, const char *label, double *v, int nv)
{
    char *text = NULL;
    if (file_read_all(dat_path, &text, NULL, NULL) < 0)
        return -1;
    struct strbuf tail = STRBUF_INIT;
    strbuf_addf(&tail, "  # '%s'", label);
    int found = -1;
    for (char *line = strtok(text, "\n"); line && found < 0; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !str_ends(line, tail.buf))
            continue;
        found = 0;
        char *p = line, *end;
        while (found < nv) {
            double d = strtod(p, &end);
            if (end == p)
                break;
            v[found++] = d;
            p = end;
        }
    }
    strbuf_release(&tail);
    free(text);
    return found;
}

static int has_text(const char *path, const char *needle)
{
    char *text = NULL;
    if (file_read_all(path, &text, NULL, NULL) < 0)
        return 0;
    int yes = strstr(text, needle) != NULL;
    free(text);
    return yes;
}

/* Names in dir that contain "tmp" (left-over temporaries). */
static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, "tmp") != NULL;
    if (d)
        closedir(d);
    return n;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static struct store *open_db(const char *path)
{
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_READONLY, &err);
    if (!st)
        printf("# store_open: %s\n", err.msg);
    return st;
}

static const enum plot_format formats[] = {PLOT_PNG, PLOT_SVG, PLOT_PDF};

/* ---- tests -------------------------------------------------------------------------------- */

static void test_format_parse(void)
{
    CHECK_EQ_INT(plot_format_parse("png"), PLOT_PNG);
    CHECK_EQ_INT(plot_format_parse("svg"), PLOT_SVG);
    CHECK_EQ_INT(plot_format_parse("pdf"), PLOT_PDF);
    CHECK(plot_format_parse("PNG") < 0);
    CHECK(plot_format_parse("jpeg") < 0);
    CHECK(plot_format_parse("") < 0);
    CHECK(plot_format_parse(NULL) < 0);
}

static void test_scatter_formats(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("scatter");
    for (size_t i = 0; i < 3; i++) {
        struct lethe_error err = {0};
        struct plot_options o = {.out_dir = dir, .format = formats[i], .suite = "tofu_t",
                                 .split = "forget10", .x = MU, .y = FQ, .logy = 1};
        char *img = NULL;
        CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), 0);
        if (err.code)
            printf("# %s\n", err.msg);
        char want[512];
        snprintf(want, sizeof(want), "%s/tofu_t_forget10_scatter.%s", dir,
                 formats[i] == PLOT_PNG ? "png" : formats[i] == PLOT_SVG ? "svg" : "pdf");
        CHECK_STREQ(img, want);
        if (!img)
            continue;
        CHECK(image_ok(img, formats[i]));
        char *gp = sibling(img, "gp"), *dat = sibling(img, "dat");
        CHECK(file_size(gp) > 0);
        CHECK(has_text(gp, "set logscale y"));
        CHECK(has_text(gp, "'tofu_t_forget10_scatter.dat'"));
        /* hand means: npo mu (0.5+0.55+0.45)/3 = 0.5, sd 0.05; fq 0.02, sd 0.01; 3 seeds.
         * The 'running' run with 99s is not counted. */
        double v[5];
        CHECK_EQ_INT(dat_row(dat, "npo_lr1e-5", v, 5), 5);
        CHECK_NEAR(v[0], 0.5, 1e-9);
        CHECK_NEAR(v[1], 0.05, 1e-9);
        CHECK_NEAR(v[2], 0.02, 1e-9);
        CHECK_NEAR(v[3], 0.01, 1e-9);
        CHECK_NEAR(v[4], 3, 0);
        CHECK_EQ_INT(dat_row(dat, "original", v, 5), 5);
        CHECK_NEAR(v[0], 0.61, 1e-9);
        CHECK_NEAR(v[1], sqrt(0.0002), 1e-9);   /* sd of 0.60, 0.62 */
        CHECK_NEAR(v[2], 2e-10, 1e-18);
        CHECK_NEAR(v[4], 2, 0);
        CHECK_EQ_INT(dat_row(dat, "retrain", v, 5), 5);
        CHECK_NEAR(v[0], 0.59, 1e-9);
        CHECK_NEAR(v[2], 0.95, 1e-9);
        /* the odd name: its number in the data, its text quoted in the script */
        double w[6];
        CHECK_EQ_INT(dat_row(dat, WEIRD, w, 6), 6);
        CHECK_NEAR(w[0], 0.3, 1e-9);
        char want_label[128];
        snprintf(want_label, sizeof(want_label), "label[%d] = 'we''ird \"name\"\\x_y'\n", (int)w[5]);
        CHECK(has_text(gp, want_label));
        /* fq = 0 cannot sit on a log axis: left out, with a note */
        CHECK_EQ_INT(dat_row(dat, "grad_ascent", v, 5), -1);
        CHECK(has_text(dat, "# left out: 'grad_ascent'"));
        free(gp);
        free(dat);
        free(img);
    }
    free(dir);
    store_close(st);
}

static void test_scatter_linear_keeps_zero(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("scatter_lin");
    struct lethe_error err = {0};
    struct plot_options o = {.out_dir = dir, .format = PLOT_SVG, .split = "forget10", .x = MU,
                             .y = FQ, .name = "lin", .errorbars = 1};
    char *img = NULL;
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), 0);  /* the only suite is picked */
    if (img) {
        char *dat = sibling(img, "dat"), *gp = sibling(img, "gp");
        double v[5];
        CHECK_EQ_INT(dat_row(dat, "grad_ascent", v, 5), 5);
        CHECK_NEAR(v[2], 0, 0);
        CHECK(!has_text(gp, "set logscale"));
        CHECK(has_text(gp, "xyerrorbars"));
        CHECK(image_ok(img, PLOT_SVG));
        free(dat);
        free(gp);
    }
    free(img);
    free(dir);
    store_close(st);
}

static void test_scatter_variant(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("scatter_q4");
    struct lethe_error err = {0};
    struct plot_options o = {.out_dir = dir, .format = PLOT_PNG, .split = "forget10", .x = MU,
                             .y = FQ, .logy = 1, .variant = "q4_g64"};
    char *img = NULL;
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), 0);
    CHECK_CONTAINS(img, "tofu_t_forget10_q4_g64_scatter.png");
    if (img) {
        char *dat = sibling(img, "dat");
        double v[5];
        /* q4_g64: mu 0.4, 0.45, 0.35 -> 0.4; fq 0.1, 0.2, 0.3 -> 0.2; only npo has the variant */
        CHECK_EQ_INT(dat_row(dat, "npo_lr1e-5", v, 5), 5);
        CHECK_NEAR(v[0], 0.4, 1e-9);
        CHECK_NEAR(v[2], 0.2, 1e-9);
        CHECK_EQ_INT(dat_row(dat, "original", v, 5), -1);
        free(dat);
    }
    free(img);
    free(dir);
    store_close(st);
}

static struct strbuf logged = STRBUF_INIT;

static void log_capture(int level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level >= LETHE_LOG_WARN)
        strbuf_addf(&logged, "%s\n", msg);
}

static void test_scatter_every_split(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("scatter_all");
    struct lethe_error err = {0};
    struct plot_options o = {.out_dir = dir, .format = PLOT_PNG, .suite = "tofu_t", .x = MU,
                             .y = FQ, .logy = 1, .name = "fig"};
    char *img = NULL;
    strbuf_reset(&logged);
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), 0);
    /* forget01 has nothing positive to draw on the log axis: left out with a warning */
    CHECK_CONTAINS(logged.buf, "split 'forget01' left out");
    CHECK_CONTAINS(logged.buf, "'grad_ascent' left out");
    char want[1024];
    snprintf(want, sizeof(want), "%s/fig_forget05.png\n%s/fig_forget10.png", dir, dir);
    CHECK_STREQ(img, want);
    char *p05 = path_join(dir, "fig_forget05.png"), *d05 = path_join(dir, "fig_forget05.dat");
    CHECK(image_ok(p05, PLOT_PNG));
    double v[5];
    CHECK_EQ_INT(dat_row(d05, "npo_lr1e-5", v, 5), 5);
    CHECK_NEAR(v[0], 0.4, 1e-12);
    CHECK_NEAR(v[2], 0.5, 1e-12);
    /* two points in one place: column 7, the label's vertical offset level, differs */
    double a[7], b[7];
    CHECK_EQ_INT(dat_row(d05, "npo_lr1e-5", a, 7), 7);
    CHECK_EQ_INT(dat_row(d05, "npo_lr2e-5", b, 7), 7);
    CHECK(a[6] != b[6]);
    char *g05 = path_join(dir, "fig_forget05.gp");
    char want_cmd[128];
    snprintf(want_cmd, sizeof(want_cmd), "(int($7) == %d ? $3 : NaN):(label[int($6)])", (int)b[6]);
    CHECK(has_text(g05, want_cmd));     /* a labels command draws that level */
    free(g05);
    free(p05);
    free(d05);
    free(img);
    free(dir);
    store_close(st);
}

static void test_bars_formats(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("bars");
    for (size_t i = 0; i < 3; i++) {
        struct lethe_error err = {0};
        struct plot_options o = {.out_dir = dir, .format = formats[i], .suite = "tofu_t",
                                 .split = "forget10", .metric = RL};
        char *img = NULL;
        CHECK_EQ_INT(plot_bars(st, &o, &img, &err), 0);
        if (err.code)
            printf("# %s\n", err.msg);
        if (!img)
            continue;
        CHECK_CONTAINS(img, "/tofu_t_forget10_" RL "_bars.");
        CHECK(image_ok(img, formats[i]));
        char *dat = sibling(img, "dat"), *gp = sibling(img, "gp");
        /* every variant present: base first, then in the order written (q8, q4_g64). npo: base
         * 0.3 (sd 0.1), q8 0.31 (sd 0.1), q4_g64 0.6 (sd 0.1), 3 seeds each */
        double v[10];   /* label number, then mean, sd, seeds per variant */
        CHECK_EQ_INT(dat_row(dat, "npo_lr1e-5", v, 10), 10);
        CHECK_NEAR(v[1], 0.3, 1e-9);
        CHECK_NEAR(v[2], 0.1, 1e-9);
        CHECK_NEAR(v[3], 3, 0);
        CHECK_NEAR(v[4], 0.31, 1e-9);
        CHECK_NEAR(v[5], 0.1, 1e-9);
        CHECK_NEAR(v[7], 0.6, 1e-9);
        /* original: base (0.9 + 0.94)/2 = 0.92, no q4/q8 values: NaN, 0 seeds; first group */
        CHECK_EQ_INT(dat_row(dat, "original", v, 10), 10);
        CHECK_NEAR(v[0], 1, 0);
        CHECK_NEAR(v[1], 0.92, 1e-9);
        CHECK(isnan(v[4]));
        CHECK_NEAR(v[6], 0, 0);
        CHECK(has_text(gp, "label[1] = 'original'\n"));
        CHECK(has_text(gp, "title 'q4_g64' noenhanced"));
        CHECK(has_text(gp, "xtic(label[int($1)])"));
        free(dat);
        free(gp);
        free(img);
    }
    free(dir);
    store_close(st);
}

static void test_bars_variants(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("bars_v");
    const char *const vs[] = {"q8", "base"};
    struct lethe_error err = {0};
    struct plot_options o = {.out_dir = dir, .format = PLOT_PNG, .split = "forget10",
                             .metric = RL, .variants = vs, .n_variants = 2, .name = "qr"};
    char *img = NULL;
    CHECK_EQ_INT(plot_bars(st, &o, &img, &err), 0);
    if (img) {
        char *dat = sibling(img, "dat");
        double v[7];
        /* the given order: q8 then base */
        CHECK_EQ_INT(dat_row(dat, "npo_lr1e-5", v, 7), 7);
        CHECK_NEAR(v[1], 0.31, 1e-9);
        CHECK_NEAR(v[4], 0.3, 1e-9);
        CHECK_EQ_INT(dat_row(dat, WEIRD, v, 7), 7);
        CHECK_NEAR(v[1], 0.45, 1e-12);
        CHECK_NEAR(v[4], 0.5, 1e-12);
        /* grad_ascent has no q8 value */
        CHECK_EQ_INT(dat_row(dat, "grad_ascent", v, 7), 7);
        CHECK(isnan(v[1]));
        CHECK_NEAR(v[4], 0.05, 1e-12);
        free(dat);
    }
    free(img);
    /* a variant nobody has */
    const char *const bad[] = {"base", "q3"};
    o.variants = bad;
    memset(&err, 0, sizeof(err));
    img = NULL;
    CHECK_EQ_INT(plot_bars(st, &o, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no variant 'q3'");
    CHECK_CONTAINS(err.msg, "q4_g64");
    CHECK(img == NULL);
    free(dir);
    store_close(st);
}

static void test_curves_formats(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("curves");
    for (size_t i = 0; i < 3; i++) {
        struct lethe_error err = {0};
        struct plot_options o = {.out_dir = dir, .format = formats[i], .curve = "unlearn.forget_loss"};
        char *img = NULL;
        CHECK_EQ_INT(plot_curves(st, &o, &img, &err), 0);
        if (err.code)
            printf("# %s\n", err.msg);
        if (!img)
            continue;
        CHECK_CONTAINS(img, "/unlearn.forget_loss_curves.");
        CHECK(image_ok(img, formats[i]));
        char *dat = sibling(img, "dat"), *gp = sibling(img, "gp");
        /* 4 runs (grad_ascent, npo x 3), 5 points each: y = y0 - 0.25 step */
        CHECK(has_text(dat, "# index 3: "));
        CHECK(!has_text(dat, "# index 4: "));
        CHECK(has_text(dat, "\n4 4 2\n"));          /* grad_ascent y0 = 3: 3 - 1 */
        CHECK(has_text(dat, "\n2 2 1.6\n"));        /* npo seed 1: 2.1 - 0.5 */
        CHECK(has_text(gp, "title 'npo_lr1e-5 (3 runs)' noenhanced"));
        CHECK(has_text(gp, "set xlabel 'step'"));
        free(dat);
        free(gp);
        free(img);
    }
    free(dir);
    store_close(st);
}

static void test_curves_filters_and_log(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("curves_f");
    struct lethe_error err = {0};
    struct plot_options o = {.out_dir = dir, .format = PLOT_PNG, .curve = "unlearn.forget_loss",
                             .method = "grad_ascent", .logx = 1, .suite = "tofu_t"};
    char *img = NULL;
    CHECK_EQ_INT(plot_curves(st, &o, &img, &err), 0);
    CHECK_CONTAINS(img, "tofu_t_grad_ascent_unlearn.forget_loss_curves.png");
    if (img) {
        char *dat = sibling(img, "dat");
        /* one run; step 0 (x = 0) cannot sit on a log x axis */
        CHECK(has_text(dat, "# index 0: "));
        CHECK(!has_text(dat, "# index 1: "));
        CHECK(!has_text(dat, "\n0 0 3\n"));
        CHECK(has_text(dat, "\n1 1 2.75\n"));
        CHECK(has_text(dat, "1 point left out"));
        CHECK(image_ok(img, PLOT_PNG));
        free(dat);
    }
    free(img);
    free(dir);
    store_close(st);
}

/* `cd out && gnuplot STEM.gp` draws the same image again from the files beside it. */
static void test_script_standalone(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("standalone");
    struct lethe_error err = {0};
    struct plot_options o = {.out_dir = dir, .format = PLOT_PNG, .split = "forget10", .x = MU,
                             .y = FQ, .logy = 1, .name = "again"};
    char *img = NULL;
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), 0);
    store_close(st);
    if (!img) {
        free(dir);
        return;
    }
    long size = file_size(img);
    CHECK(unlink(img) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cd '%s' && gnuplot again.gp", dir);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK(image_ok(img, PLOT_PNG));
    CHECK(labs(file_size(img) - size) < size / 10 + 1);
    free(img);
    free(dir);
}

static void test_bad_input(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("bad");
    struct lethe_error err = {0};
    char *img = NULL;
    struct plot_options o = {.out_dir = dir, .format = PLOT_PNG, .split = "forget10",
                             .x = "tofu.no_such_metric", .y = FQ};
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no metric 'tofu.no_such_metric'");
    CHECK_CONTAINS(err.msg, MU);          /* the metrics that exist are listed */
    CHECK(img == NULL);

    /* the same over every split: one error, no warning per split */
    memset(&err, 0, sizeof(err));
    strbuf_reset(&logged);
    o.split = NULL;
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no metric 'tofu.no_such_metric' in the finished runs of suite 'tofu_t', variant 'base' in");
    CHECK(logged.len == 0);
    o.split = "forget10";

    memset(&err, 0, sizeof(err));
    o.x = MU;
    o.suite = "muse_t";
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no finished runs of suite 'muse_t'");

    memset(&err, 0, sizeof(err));
    o.suite = "tofu_t";
    o.split = "forget99";
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "split 'forget99'");
    CHECK_CONTAINS(err.msg, "forget01, forget05, forget10");

    memset(&err, 0, sizeof(err));
    o.split = "forget10";
    o.variant = "q8";     /* q8 has no model utility */
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "variant 'q8'");

    memset(&err, 0, sizeof(err));
    struct plot_options b = {.out_dir = dir, .format = PLOT_PNG, .metric = "tofu.nothing"};
    CHECK_EQ_INT(plot_bars(st, &b, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no metric 'tofu.nothing'");

    memset(&err, 0, sizeof(err));
    struct plot_options c = {.out_dir = dir, .format = PLOT_PNG, .curve = "roc.nothing"};
    CHECK_EQ_INT(plot_curves(st, &c, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no curve 'roc.nothing'");
    CHECK_CONTAINS(err.msg, "unlearn.forget_loss");
    memset(&err, 0, sizeof(err));
    c.curve = "unlearn.forget_loss";
    c.method = "retrain";
    CHECK_EQ_INT(plot_curves(st, &c, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "method 'retrain'");

    /* every point non-positive on the log axis */
    memset(&err, 0, sizeof(err));
    struct plot_options z = {.out_dir = dir, .format = PLOT_PNG, .split = "forget01", .x = MU,
                             .y = FQ, .logy = 1};
    CHECK_EQ_INT(plot_scatter(st, &z, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "no point left to draw");

    /* bad names and formats are usage errors */
    memset(&err, 0, sizeof(err));
    struct plot_options n = {.out_dir = dir, .format = PLOT_PNG, .x = MU, .y = FQ, .name = "a/b"};
    CHECK_EQ_INT(plot_scatter(st, &n, &img, &err), -LETHE_EUSAGE);
    CHECK_CONTAINS(err.msg, "'a/b'");
    memset(&err, 0, sizeof(err));
    n.name = NULL;
    n.format = PLOT_FORMAT_COUNT;
    CHECK_EQ_INT(plot_scatter(st, &n, &img, &err), -LETHE_EUSAGE);
    CHECK(img == NULL);
    store_close(st);

    /* two suites and none chosen */
    st = open_db(db_two);
    memset(&err, 0, sizeof(err));
    struct plot_options t = {.out_dir = dir, .format = PLOT_PNG, .metric = MU};
    CHECK_EQ_INT(plot_bars(st, &t, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "several suites (suite_a, suite_b)");
    store_close(st);
    /* nothing was drawn */
    CHECK_EQ_INT(count_files(dir), 0);
    free(dir);
}

static void test_missing_gnuplot(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("nognuplot");
    struct plot_options o = {.out_dir = dir, .format = PLOT_PNG, .split = "forget10", .x = MU, .y = FQ};
    char *old_path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    struct lethe_error err = {0};
    char *img = NULL;

    setenv("LETHE_GNUPLOT", "/nonexistent/gnuplot", 1);
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "gnuplot not found");
    CHECK_CONTAINS(err.msg, "/nonexistent/gnuplot");
    CHECK_CONTAINS(err.msg, "gnuplot-nox");
    unsetenv("LETHE_GNUPLOT");

    memset(&err, 0, sizeof(err));
    setenv("PATH", "/nonexistent:/also/missing", 1);
    CHECK_EQ_INT(plot_bars(st, &(struct plot_options){.out_dir = dir, .metric = RL}, &img, &err),
                 -LETHE_EINPUT);
    CHECK_STREQ(err.msg, "gnuplot not found: install gnuplot-nox (scripts/deps.sh)");
    setenv("PATH", old_path, 1);
    CHECK(img == NULL);
    CHECK(!file_exists(dir));     /* nothing written */
    free(old_path);
    free(dir);
    store_close(st);
}

/* A gnuplot that writes half an image and fails: no image is left, its stderr is reported. */
static void test_failing_gnuplot(void)
{
    struct store *st = open_db(db_path);
    char *dir = out_dir("failing");
    char *fake = path_join(tmpdir, "fake-gnuplot");
    const char *script =
        "#!/bin/sh\n"
        "# args: -e \"outfile = '<name>'\" ./<stem>.gp\n"
        "f=$(printf '%s' \"$2\" | sed \"s/^outfile = '\\(.*\\)'$/\\1/\")\n"
        "printf 'half an image' > \"$f\"\n"
        "echo '\"./x.gp\" line 3: boom: invalid command' >&2\n"
        "exit 1\n";
    FILE *f = fopen(fake, "w");
    if (f) {
        fputs(script, f);
        fclose(f);
    }
    chmod(fake, 0755);
    setenv("LETHE_GNUPLOT", fake, 1);
    /* an image from an earlier good run must survive a failed redraw untouched */
    CHECK(dir_make(dir, NULL) == 0);
    char *img_path = path_join(dir, "f.png");
    CHECK(file_write_atomic(img_path, "old", 3, NULL) == 0);
    struct lethe_error err = {0};
    char *img = NULL;
    struct plot_options o = {.out_dir = dir, .format = PLOT_PNG, .split = "forget10", .x = MU,
                             .y = FQ, .name = "f"};
    CHECK_EQ_INT(plot_scatter(st, &o, &img, &err), -LETHE_EFAIL);
    CHECK_CONTAINS(err.msg, "gnuplot failed on");
    CHECK_CONTAINS(err.msg, "boom: invalid command");
    CHECK(img == NULL);
    CHECK_EQ_INT(file_size(img_path), 3);
    CHECK_EQ_INT(count_tmp(dir), 0);
    unsetenv("LETHE_GNUPLOT");
    free(img_path);
    free(fake);
    free(dir);
    store_close(st);
}

static void test_quoting(void)
{
    struct strbuf sb = STRBUF_INIT;
    plot_gp_text(&sb, "it's\na_b");
    CHECK_STREQ(sb.buf, "'it''s a_b' noenhanced");
    strbuf_release(&sb);
    /* comments: one line whatever the text, no continuation by a final backslash */
    plot_comment(&sb, "'%s'", "a\nb");
    plot_comment(&sb, "x %s", "c\\");
    CHECK_STREQ(sb.buf, "# 'a b'\n# x c\\ #\n");
    strbuf_release(&sb);
    const char *const labels[] = {"a", "b'c"};
    plot_gp_labels(&sb, labels, 2);
    CHECK_STREQ(sb.buf, "array label[2]\nlabel[1] = 'a'\nlabel[2] = 'b''c'\n");
    strbuf_release(&sb);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/lethe-test-plot.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    db_path = path_join(tmpdir, "sample.db");
    db_two = path_join(tmpdir, "two.db");
    make_db();
    unsetenv("LETHE_GNUPLOT");
    lethe_log_set(log_capture, NULL);   /* warnings are checked where they matter, else dropped */
    RUN(test_format_parse);
    RUN(test_quoting);
    RUN(test_scatter_formats);
    RUN(test_scatter_linear_keeps_zero);
    RUN(test_scatter_variant);
    RUN(test_scatter_every_split);
    RUN(test_bars_formats);
    RUN(test_bars_variants);
    RUN(test_curves_formats);
    RUN(test_curves_filters_and_log);
    RUN(test_script_standalone);
    RUN(test_bad_input);
    RUN(test_missing_gnuplot);
    RUN(test_failing_gnuplot);
    int rc = test_done();
    if (rc == 0) {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", tmpdir);
    }
    free(db_path);
    free(db_two);
    strbuf_release(&logged);
    return rc;
}
