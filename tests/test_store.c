/* Tests of the results store: schema, runs, resume, failure injection, refused files.
 * Writes that really fail: the tests run as root, which chmod 0444 does not stop, so a
 * database "made read-only mid-grid" is simulated by what does stop root: a file-size limit
 * (RLIMIT_FSIZE, as on a full disk) and another connection holding the write lock; a crash
 * mid-transaction is a forked child that exits from SQLite's progress handler. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results/store_impl.h"
#include "tests/db_util.h"
#include "tests/test.h"

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

/* ---- failure injection ------------------------------------------------------------- */

static long long count_rows(const char *path, const char *table, const char *hash)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE run_id IN (SELECT id FROM runs WHERE config_hash = '%s')",
             table, hash);
    return q_int(path, sql);
}

static char *status_of(const char *path, const char *hash)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT status FROM runs WHERE config_hash = '%s'", hash);
    return q_text(path, sql);
}

/* The database is consistent, the run 'hash' is not done and has no result rows, and the
 * finished run 'keep' still has all of its rows. */
static void check_not_done(const char *path, const char *hash)
{
    char *ic = q_text(path, "PRAGMA integrity_check");
    CHECK_STREQ(ic, "ok");
    free(ic);
    char *status = status_of(path, hash);
    CHECK(status && strcmp(status, "done") != 0);
    free(status);
    CHECK_EQ_INT(count_rows(path, "metrics", hash), 0);
    CHECK_EQ_INT(count_rows(path, "sample_scores", hash), 0);
    CHECK_EQ_INT(count_rows(path, "curves", hash), 0);
    CHECK_EQ_INT(count_rows(path, "metrics", "keep"), 4);
    CHECK_EQ_INT(count_rows(path, "sample_scores", "keep"), 50);
    CHECK_EQ_INT(count_rows(path, "curves", "keep"), 10);
}

static char *db_with_kept_run(const char *name)
{
    char *path = tmp_path(name);
    rm_db(path);
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    if (!st)
        return path;
    struct run_info ri = info("npo", 0, "keep");
    int64_t id;
    store_begin_run(st, &ri, &id, &err);
    struct run_results *res = sample_results(0);
    CHECK_EQ_INT(store_finish_run(st, id, res, 1, &err), 0);
    run_results_free(res);
    store_close(st);
    return path;
}

static void test_inject_finish(void)
{
    char *path = db_with_kept_run("inject.db");
    struct lethe_error err = {0};
    struct run_results *res = sample_results(1);
    long n, rows = 4 + 50 + 10;
    int done = 0;
    for (n = 1; n < 1000 && !done; n++) {
        struct store *st = store_open(path, STORE_CREATE, &err);
        CHECK(st != NULL);
        if (!st)
            break;
        struct run_info ri = info("npo", 0, "victim");
        int64_t id;
        CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
        store_inject_failure(st, n);
        memset(&err, 0, sizeof(err));
        int rc = store_finish_run(st, id, res, 2.0, &err);
        store_close(st);
        if (rc == 0) {
            done = 1;
            break;
        }
        CHECK_EQ_INT(err.code, LETHE_EIO);
        CHECK_CONTAINS(err.msg, "injected failure");
        CHECK_CONTAINS(err.msg, path);
        check_not_done(path, "victim");
    }
    CHECK(done);
    /* BEGIN, every row, the status update, COMMIT: each of these rows + 3 steps failed once */
    CHECK_EQ_INT(n, rows + 4);
    char *status = status_of(path, "victim");
    CHECK_STREQ(status, "done");
    free(status);
    CHECK_EQ_INT(count_rows(path, "metrics", "victim"), 4);
    CHECK_EQ_INT(count_rows(path, "sample_scores", "victim"), 50);
    CHECK_EQ_INT(count_rows(path, "curves", "victim"), 10);
    run_results_free(res);
    free(path);
}

/* store_begin_run redoing a failed run: each of its write steps fails once. */
static void test_inject_begin(void)
{
    char *path = db_with_kept_run("inject-begin.db");
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    struct run_info ri = info("npo", 0, "victim");
    int64_t id;
    CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
    CHECK_EQ_INT(store_fail_run(st, id, "first try failed", &err), 0);
    long n;
    for (n = 1; n < 100; n++) {
        store_inject_failure(st, n);
        int64_t id2 = 0;
        int rc = store_begin_run(st, &ri, &id2, &err);
        if (rc >= 0) {
            CHECK_EQ_INT(rc, STORE_RUN_NEW);
            CHECK_EQ_INT(id2, id);
            break;
        }
        CHECK_CONTAINS(err.msg, "injected failure");
        char *s = status_of(path, "victim");
        CHECK_STREQ(s, "failed");   /* untouched: the redo rolled back */
        free(s);
        char *ic = q_text(path, "PRAGMA integrity_check");
        CHECK_STREQ(ic, "ok");
        free(ic);
    }
    CHECK_EQ_INT(n, 7);   /* BEGIN, 3 deletes, the update, COMMIT, then success */
    char *s = status_of(path, "victim");
    CHECK_STREQ(s, "running");
    free(s);
    store_close(st);
    free(path);
}

/* LETHE_STORE_FAIL_AT arms the injection at open. */
static void test_inject_env(void)
{
    char *path = db_with_kept_run("inject-env.db");
    struct lethe_error err = {0};
    setenv("LETHE_STORE_FAIL_AT", "2", 1);
    struct store *st = store_open(path, STORE_CREATE, &err);
    unsetenv("LETHE_STORE_FAIL_AT");
    CHECK(st != NULL);
    if (!st)
        return;
    struct run_info ri = info("npo", 0, "victim");
    int64_t id;
    CHECK(store_begin_run(st, &ri, &id, &err) < 0);   /* step 2: the insert */
    CHECK_CONTAINS(err.msg, "write step 2");
    CHECK_EQ_INT(q_int(path, "SELECT count(*) FROM runs"), 1);
    CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);   /* one shot */
    store_close(st);
    free(path);
}

/* A crash (the process dies, no rollback, no close) in the middle of store_finish_run, at
 * several points: the progress handler kills the child after k callbacks. */
static int crash_after, crash_calls;
static int crash_cb(void *ctx)
{
    (void)ctx;
    if (++crash_calls >= crash_after)
        _exit(0);
    return 0;
}

static void test_crash_mid_transaction(void)
{
    char *path = db_with_kept_run("crash.db");
    struct lethe_error err = {0};
    int crashed = 0;
    for (int k = 1; k <= 1024; k *= 4) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            struct store *st = store_open(path, STORE_CREATE, &err);
            if (!st)
                _exit(3);
            struct run_info ri = info("npo", 0, "victim");
            int64_t id;
            if (store_begin_run(st, &ri, &id, &err) != STORE_RUN_NEW)
                _exit(4);
            struct run_results *res = run_results_new();
            for (long i = 0; i < 20000; i++)
                run_results_sample(res, "base", "forget", "tofu.mia.loss.score", i, (double)i);
            crash_after = k;
            sqlite3_progress_handler(st->db, 100, crash_cb, NULL);
            store_finish_run(st, id, res, 1, &err);
            _exit(5);   /* finished without crashing */
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            continue;
        crashed++;
        check_not_done(path, "victim");
        /* the next run redoes it */
        struct store *st = store_open(path, STORE_CREATE, &err);
        CHECK(st != NULL);
        if (st) {
            struct run_info ri = info("npo", 0, "victim");
            int64_t id;
            CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
            store_close(st);
        }
    }
    CHECK_EQ_INT(crashed, 6);
    free(path);
}

/* A write that really fails: the file-size limit (as on a full disk; root ignores file modes,
 * not RLIMIT_FSIZE) is set mid-grid, so SQLite's own writes fail with EFBIG. */
static void test_disk_full(void)
{
    char *path = db_with_kept_run("full.db");
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    struct run_info ri = info("npo", 0, "victim");
    int64_t id;
    CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
    struct run_results *res = run_results_new();
    run_results_metric(res, "base", "", "tofu.model_utility", 0.5, NAN, NAN, 1);
    for (long i = 0; i < 30000; i++)
        run_results_sample(res, "base", "forget", "tofu.mia.loss.score", i, (double)i);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = store_finish_run(st, id, res, 1, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(rc < 0);
    CHECK_EQ_INT(err.code, LETHE_EIO);
    CHECK_CONTAINS(err.msg, path);
    printf("# disk full: %s\n", err.msg);
    store_close(st);
    check_not_done(path, "victim");
    /* the grid resumes once there is room */
    st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (st) {
        CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
        CHECK_EQ_INT(store_finish_run(st, id, res, 1, &err), 0);
        store_close(st);
    }
    CHECK_EQ_INT(count_rows(path, "sample_scores", "victim"), 30000);
    run_results_free(res);
    free(path);
}

/* Another process holds the write lock (the database is not writable for us) mid-grid. */
static void test_locked(void)
{
    char *path = db_with_kept_run("locked.db");
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    sqlite3_busy_timeout(st->db, 50);
    struct run_info ri = info("npo", 0, "victim");
    int64_t id;
    CHECK_EQ_INT(store_begin_run(st, &ri, &id, &err), STORE_RUN_NEW);
    sqlite3 *other = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &other), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    struct run_results *res = sample_results(2);
    CHECK(store_finish_run(st, id, res, 1, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EIO);
    CHECK_CONTAINS(err.msg, "locked");
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    check_not_done(path, "victim");
    CHECK_EQ_INT(store_finish_run(st, id, res, 1, &err), 0);
    run_results_free(res);
    store_close(st);
    free(path);
}

/* ---- files that are refused ------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t n)
{
    rm_db(path);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n)
        printf("# cannot write %s\n", path);
    if (f)
        fclose(f);
}

/* path is refused by store_open in both modes with LETHE_EINPUT, a message naming it (and
 * containing want when not NULL), and its bytes unchanged. Returns 1 when all held. */
static int refused(const char *path, const char *want)
{
    char before[65], after[65];
    file_sha(path, before);
    int ok = 1;
    const int modes[2] = {STORE_READONLY, STORE_CREATE};
    for (int i = 0; i < 2; i++) {
        struct lethe_error err = {0};
        struct store *st = store_open(path, modes[i], &err);
        if (st) {
            printf("# '%s' was accepted (mode %d)\n", path, modes[i]);
            store_close(st);
            ok = 0;
            continue;
        }
        if (err.code != LETHE_EINPUT || !strstr(err.msg, path) || (want && !strstr(err.msg, want))) {
            printf("# '%s' (mode %d): code %d, message: %s\n", path, modes[i], err.code, err.msg);
            ok = 0;
        }
    }
    file_sha(path, after);
    if (strcmp(before, after) != 0) {
        printf("# '%s' changed\n", path);
        ok = 0;
    }
    return ok;
}

/* A real database of a few dozen pages, closed (so the file holds everything). */
static char *real_db(const char *name, size_t *len, char **bytes)
{
    char *path = db_with_kept_run(name);
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    for (int i = 0; st && i < 6; i++) {
        char hash[16];
        snprintf(hash, sizeof(hash), "r%d", i);
        struct run_info ri = info("npo", i, hash);
        int64_t id;
        store_begin_run(st, &ri, &id, &err);
        struct run_results *res = sample_results(i);
        for (long j = 0; j < 400; j++)
            run_results_sample(res, "base", "holdout", "tofu.mia.loss.score", j, (double)j / 7);
        store_finish_run(st, id, res, 1, &err);
        run_results_free(res);
    }
    store_close(st);
    if (file_read_all(path, bytes, len, &err) < 0)
        *len = 0;
    return path;
}

static void test_truncated(void)
{
    size_t len = 0;
    char *bytes = NULL;
    char *path = real_db("whole.db", &len, &bytes);
    CHECK(len >= 20 * 4096);
    struct lethe_error err = {0};
    struct store *whole = store_open(path, STORE_READONLY, &err);
    CHECK(whole != NULL);   /* the whole file is fine */
    store_close(whole);
    char *cut = tmp_path("cut.db");
    long tried = 0, failed = 0;
    size_t page = 4096;
    for (size_t n = 1; n < len; n++) {
        size_t r = n % page;
        int pick = n <= 128 || r == 0 || r == 1 || r == page - 1 || n % 1021 == 0;
        if (!pick)
            continue;
        write_file(cut, bytes, n);
        tried++;
        if (!refused(cut, n < 100 ? NULL : "truncated")) {
            printf("# truncated at %zu bytes of %zu: not refused as expected\n", n, len);
            if (++failed > 5)
                break;
        }
    }
    CHECK_EQ_INT(failed, 0);
    CHECK(tried > 200);
    printf("# %ld truncation points of a %zu-byte database refused\n", tried, len);
    /* a 0-byte file is a new database */
    write_file(cut, "", 0);
    struct store *st = store_open(cut, STORE_READONLY, &err);
    CHECK(st == NULL);
    CHECK_CONTAINS(err.msg, "is empty");
    st = store_open(cut, STORE_CREATE, &err);
    CHECK(st != NULL);
    store_close(st);
    CHECK_EQ_INT(q_int(cut, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    free(bytes);
    free(cut);
    free(path);
}

static void sqlite_file(const char *path, const char *sql, int fresh)
{
    if (fresh)
        rm_db(path);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        printf("# cannot make %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
    sqlite3_close(db);
}

static void test_bad_files(void)
{
    char *p = tmp_path("random.db");
    unsigned char rnd[8192];
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof(rnd); i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        rnd[i] = (unsigned char)x;
    }
    write_file(p, rnd, sizeof(rnd));
    CHECK(refused(p, "not a SQLite database"));
    free(p);

    p = tmp_path("suites.json");
    const char *text = "{\"suites\": {}, \"methods\": {}}\n";
    write_file(p, text, strlen(text));
    CHECK(refused(p, "not a SQLite database"));
    free(p);

    p = tmp_path("short.db");
    write_file(p, "SQLite format", 13);
    CHECK(refused(p, "truncated"));
    free(p);

    p = tmp_path("other-app.db");
    sqlite_file(p, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('x');", 1);
    CHECK(refused(p, "another application"));
    free(p);

    p = tmp_path("other-id.db");
    sqlite_file(p, "PRAGMA application_id = 42;", 1);
    CHECK(refused(p, "application_id 42"));
    free(p);

    p = tmp_path("v7.db");
    char *whole = db_with_kept_run("v7.db");
    free(whole);
    sqlite_file(p, "PRAGMA user_version = 7;", 0);
    char want[512];
    snprintf(want, sizeof(want), "'%s' has schema version 7; this lethe reads version 1", p);
    CHECK(refused(p, want));
    free(p);

    /* a damaged header: a bad page size */
    size_t len = 0;
    char *bytes = NULL;
    p = real_db("badpage.db", &len, &bytes);
    if (len > 100) {
        bytes[16] = 0x03;
        bytes[17] = 0x00;
        write_file(p, bytes, len);
        CHECK(refused(p, "bad page size"));
    }
    free(bytes);
    free(p);

    p = tmp_path("a-folder.db");
    mkdir(p, 0755);
    struct lethe_error err = {0};
    CHECK(store_open(p, STORE_CREATE, &err) == NULL);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "is a folder");
    free(p);

    /* an empty SQLite database (no tables, no id) is refused for reading, made a Lethe
     * database when opened to write */
    p = tmp_path("blank.db");
    sqlite_file(p, "VACUUM;", 1);
    CHECK(store_open(p, STORE_READONLY, &err) == NULL);
    CHECK_CONTAINS(err.msg, "empty SQLite database");
    struct store *st = store_open(p, STORE_CREATE, &err);
    CHECK(st != NULL);
    store_close(st);
    CHECK_EQ_INT(q_int(p, "PRAGMA application_id"), STORE_APPLICATION_ID);
    free(p);
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
    RUN(test_inject_finish);
    RUN(test_inject_begin);
    RUN(test_inject_env);
    RUN(test_crash_mid_transaction);
    RUN(test_disk_full);
    RUN(test_locked);
    RUN(test_truncated);
    RUN(test_bad_files);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}
