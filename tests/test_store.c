/* Tests of the results store: schema, runs, resume, failure injection, refused files. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results/store_impl.h"
#include "tests/test.h"

static char tmpdir[256];

static char *tmp_path(const char *name)
{
    return path_join(tmpdir, name);
}

static void rm_db(const char *path)
{
    char side[1024];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-journal", path);
    unlink(side);
}

/* One integer from a query on a separate plain SQLite connection (an independent reader). */
static long long q_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    long long v = -999;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? -998 : sqlite3_column_int64(stmt, 0);
    else
        printf("# query failed: %s: %s\n", sql, db ? sqlite3_errmsg(db) : "no db");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

static double q_double(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    double v = -999;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

static char *q_text(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    char *v = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        v = xstrdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

static struct run_info info(const char *method, long seed, const char *hash)
{
    struct run_info ri = {.grid = "quick", .suite = "tofu_mini", .split = "forget10", .method = method,
                          .method_config_json = "{\"lr\":1e-05,\"method\":\"npo\"}", .seed = seed,
                          .config_hash = hash, .threads = 2};
    return ri;
}

/* A run's results: 4 metrics (one NaN, CIs on one), 50 samples, 2 curves of 5 points. */
static struct run_results *sample_results(double shift)
{
    struct run_results *res = run_results_new();
    run_results_metric(res, "base", "", "tofu.forget_quality", 0.25 + shift, NAN, NAN, 40);
    run_results_metric(res, "base", "", "tofu.model_utility", 0.5 + shift, 0.45, 0.55, -1);
    run_results_metric(res, "base", "forget", "tofu.forget.rouge_l_recall", NAN, NAN, NAN, 40);
    run_results_metric(res, "q4_g64", "", "tofu.model_utility", 0.4 + shift, 0.35, 0.45, 400);
    for (long i = 0; i < 50; i++)
        run_results_sample(res, i < 25 ? "base" : "q4_g64", "forget", "tofu.forget.truth_ratio", i % 25,
                           (double)i / 50);
    for (long i = 0; i < 5; i++) {
        run_results_curve(res, "unlearn.forget_loss", i, (double)i, 2.0 + (double)i);
        run_results_curve(res, "unlearn.retain_loss", i, (double)i, 1.0 - 0.1 * (double)i);
    }
    return res;
}

static void test_create_schema(void)
{
    char *dir = tmp_path("new/sub");
    char *path = path_join(dir, "r.db");
    struct lethe_error err = {0};
    CHECK(store_open(path, STORE_READONLY, &err) == NULL);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, path);
    CHECK(!file_exists(path));
    struct store *st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st) {
        printf("# %s\n", err.msg);
        return;
    }
    CHECK_STREQ(store_path(st), path);
    store_close(st);
    CHECK_EQ_INT(q_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    CHECK_EQ_INT(q_int(path, "PRAGMA application_id"), STORE_APPLICATION_ID);
    char *mode = q_text(path, "PRAGMA journal_mode");
    CHECK_STREQ(mode, "wal");
    free(mode);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN"
                             " ('runs', 'metrics', 'sample_scores', 'curves', 'models')"), 5);
    /* reopening an existing database changes nothing */
    st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    store_close(st);
    st = store_open(path, STORE_READONLY, &err);
    CHECK(st != NULL);
    CHECK(st && st->readonly);
    store_close(st);
    free(path);
    free(dir);
}

static void test_run_roundtrip(void)
{
    char *path = tmp_path("roundtrip.db");
    rm_db(path);
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    struct run_info ri = info("npo_lr1e-5", 3, "aaaa");
    int64_t id = 0;
    CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
    CHECK(id > 0);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM runs WHERE status = 'running'"), 1);
    struct run_results *res = sample_results(0);
    CHECK_EQ_INT(store_finish_run(st, id, res, 12.5, &err), 0);
    run_results_free(res);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM runs WHERE status = 'done'"), 1);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM metrics"), 4);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM sample_scores"), 50);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM curves"), 10);
    CHECK_NEAR(q_double(path, "SELECT value FROM metrics WHERE name = 'tofu.forget_quality'"), 0.25, 0);
    CHECK_EQ_INT(q_int(path, "SELECT value IS NULL FROM metrics WHERE name = 'tofu.forget.rouge_l_recall'"), 1);
    CHECK_EQ_INT(q_int(path, "SELECT ci_low IS NULL AND n = 40 FROM metrics WHERE name = 'tofu.forget_quality'"), 1);
    CHECK_EQ_INT(q_int(path, "SELECT n IS NULL FROM metrics WHERE variant = 'base' AND name = 'tofu.model_utility'"), 1);
    CHECK_NEAR(q_double(path, "SELECT ci_high FROM metrics WHERE variant = 'q4_g64'"), 0.45, 0);
    CHECK_NEAR(q_double(path, "SELECT sum(value) FROM sample_scores"), 49.0 * 50 / 2 / 50, 1e-12);
    CHECK_NEAR(q_double(path, "SELECT y FROM curves WHERE name = 'unlearn.forget_loss' AND step = 4"), 6.0, 0);
    CHECK_NEAR(q_double(path, "SELECT wall_s FROM runs"), 12.5, 0);
    char *t = q_text(path, "SELECT suite || '/' || split || '/' || method || '/' || seed || '/' || grid"
                           " || '/' || threads || '/' || lethe_version FROM runs");
    CHECK_STREQ(t, "tofu_mini/forget10/npo_lr1e-5/3/quick/2/" LETHE_VERSION);
    free(t);
    t = q_text(path, "SELECT started_at FROM runs");
    CHECK(t && strlen(t) == 20 && t[4] == '-' && t[10] == 'T' && t[19] == 'Z');
    free(t);
    CHECK_EQ_INT(q_int(path, "SELECT finished_at IS NOT NULL AND host IS NOT NULL FROM runs"), 1);
    /* a done run is reported as such and not touched */
    int64_t id2 = 0;
    CHECK_EQ_INT(store_begin_run(st, &ri, &id2, &err), STORE_RUN_DONE);
    CHECK_EQ_INT(id2, id);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM metrics"), 4);
    /* finishing it twice is an error */
    CHECK(store_finish_run(st, id, NULL, 1, &err) < 0);
    CHECK_CONTAINS(err.msg, "not 'running'");
    /* a duplicate metric is refused and nothing is kept */
    struct run_info r2 = info("npo_lr1e-5", 4, "aaaa");
    CHECK_EQ_INT(store_begin_run(st, &r2, &id2, &err), STORE_RUN_NEW);
    res = run_results_new();
    run_results_metric(res, "base", "", "tofu.forget_quality", 0.1, NAN, NAN, 1);
    run_results_metric(res, "base", "", "tofu.forget_quality", 0.2, NAN, NAN, 1);
    CHECK(store_finish_run(st, id2, res, 1, &err) < 0);
    CHECK_CONTAINS(err.msg, "given twice");
    run_results_free(res);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM metrics"), 4);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM runs WHERE status = 'running'"), 1);
    /* fail it: status and error recorded */
    CHECK_EQ_INT(store_fail_run(st, id2, "nan loss at step 3", &err), 0);
    t = q_text(path, "SELECT status || ':' || error FROM runs WHERE seed = 4");
    CHECK_STREQ(t, "failed:nan loss at step 3");
    free(t);
    /* a done run cannot be marked failed */
    CHECK(store_fail_run(st, id, "x", &err) < 0);
    /* models */
    CHECK_EQ_INT(store_put_model(st, "h1", "cache/h1.safetensors", "original", "tofu_mini", 0, 3.5, &err), 0);
    CHECK_EQ_INT(store_put_model(st, "h1", "cache/h1b.safetensors", "original", "tofu_mini", 0, 3.5, &err), 0);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM models"), 1);
    t = q_text(path, "SELECT path FROM models");
    CHECK_STREQ(t, "cache/h1b.safetensors");
    free(t);
    store_close(st);
    /* read-only: writes are refused */
    st = store_open(path, STORE_READONLY, &err);
    CHECK(st != NULL);
    if (st) {
        CHECK(store_begin_run(st, &r2, &id2, &err) < 0);
        CHECK_CONTAINS(err.msg, "read-only");
        store_close(st);
    }
    free(path);
}

static void test_resume(void)
{
    char *path = tmp_path("resume.db");
    rm_db(path);
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    int64_t ids[4];
    const char *hashes[4] = {"h0", "h1", "h2", "h3"};
    for (int i = 0; i < 4; i++) {
        struct run_info ri = info("ga", 0, hashes[i]);
        CHECK_EQ_INT(store_begin_run(st, &ri, &ids[i], &err), STORE_RUN_NEW);
        if (i == 2) {
            /* crash: some rows written, never finished -- simulate with partial rows */
            CHECK_EQ_INT(sqlite3_exec(st->db, "INSERT INTO curves(run_id, name, step, x, y) "
                                      "SELECT id, 'partial', 0, 0, 0 FROM runs WHERE config_hash = 'h2'",
                                      NULL, NULL, NULL), SQLITE_OK);
            continue;
        }
        if (i == 3) {
            CHECK_EQ_INT(store_fail_run(st, ids[i], "diverged", &err), 0);
            continue;
        }
        struct run_results *res = sample_results(i);
        CHECK_EQ_INT(store_finish_run(st, ids[i], res, 1, &err), 0);
        run_results_free(res);
    }
    store_close(st);  /* the process "crashes" with h2 running */
    st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    for (int i = 0; i < 4; i++) {
        struct run_info ri = info("ga", 0, hashes[i]);
        int64_t id = 0;
        int rc = store_begin_run(st, &ri, &id, &err);
        CHECK_EQ_INT(rc, i < 2 ? STORE_RUN_DONE : STORE_RUN_NEW);
        CHECK_EQ_INT(id, ids[i]);
    }
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM curves WHERE name = 'partial'"), 0);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM runs WHERE status = 'running'"), 2);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM runs WHERE error IS NOT NULL"), 0);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM runs"), 4);
    /* other seeds of the same configuration are new runs */
    struct run_info ri = info("ga", 1, "h0");
    int64_t id = 0;
    CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM runs"), 5);
    store_close(st);
    free(path);
}

static void test_many_samples(void)
{
    char *path = tmp_path("big.db");
    rm_db(path);
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    struct run_info ri = info("npo", 0, "big");
    int64_t id;
    CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
    struct run_results *res = run_results_new();
    double sum = 0;
    for (long i = 0; i < 100000; i++) {
        double v = (double)((i * 7919) % 1000) / 1000.0;
        sum += v;
        run_results_sample(res, "base", "forget", i % 2 ? "tofu.mia.min_k.score" : "tofu.mia.loss.score", i / 2, v);
    }
    CHECK_EQ_INT(store_finish_run(st, id, res, 1, &err), 0);
    run_results_free(res);
    store_close(st);
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM sample_scores"), 100000);
    CHECK_NEAR(q_double(path, "SELECT sum(value) FROM sample_scores"), sum, 1e-6);
    free(path);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/lethe-test-store.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_create_schema);
    RUN(test_run_roundtrip);
    RUN(test_resume);
    RUN(test_many_samples);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}
