/* Tests of merge_dbs: union of shards, identical duplicates, conflicts, done over failed,
 * running runs left out, refused inputs and outputs, and injected write failures. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results/store_impl.h"
#include "tests/db_util.h"
#include "tests/test.h"

/* How many entries of the test folder start with prefix (temporary files left behind). */
static int count_prefixed(const char *prefix)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += str_starts(e->d_name, prefix);
    if (d)
        closedir(d);
    return n;
}

static const char *const methods[] = {"original", "retrain", "npo_lr1e-5"};

/* A shard: the 3 methods x seeds [s0, s0 + n), each done, with 3 metrics, 6 samples and a
 * 3-point curve; values depend on (method, seed) and shift. */
static void make_shard(const char *path, long s0, long n, double shift)
{
    rm_db(path);
    struct lethe_error err = {0};
    struct store *st = store_open(path, STORE_CREATE, &err);
    if (!st) {
        printf("# %s\n", err.msg);
        return;
    }
    for (size_t m = 0; m < 3; m++) {
        char hash[65], json[64];
        snprintf(json, sizeof(json), "{\"lr\":1e-05,\"method\":\"%s\"}", methods[m]);
        sha256_hex(json, strlen(json), hash);
        for (long s = s0; s < s0 + n; s++) {
            struct run_info ri = {.suite = "tofu_mini", .split = "forget10", .method = methods[m],
                                  .method_config_json = json, .seed = s, .config_hash = hash};
            int64_t id;
            if (store_begin_run(st, &ri, &id, &err) != STORE_RUN_NEW)
                printf("# begin: %s\n", err.msg);
            struct run_results *res = run_results_new();
            double v = 0.1 * (double)m + 0.01 * (double)s;
            run_results_metric(res, "base", "", "tofu.model_utility", v + shift, v - 0.05, v + 0.05, 100);
            run_results_metric(res, "base", "forget", "tofu.forget.rouge_l_recall", 0.9 - v, NAN, NAN, 40);
            run_results_metric(res, "q4_g64", "", "tofu.model_utility", v - 0.1, NAN, NAN, 100);
            for (long i = 0; i < 6; i++)
                run_results_sample(res, "base", "forget", "tofu.forget.truth_ratio", i, v * (double)i);
            for (long i = 0; i < 3; i++)
                run_results_curve(res, "unlearn.forget_loss", i, (double)i, v + (double)i);
            if (store_finish_run(st, id, res, 1.0 + (double)s, &err) < 0)
                printf("# finish: %s\n", err.msg);
            run_results_free(res);
        }
    }
    store_put_model(st, "model-a", "cache/a.safetensors", "original", "tofu_mini", s0, 10, &err);
    store_close(st);
}

static void test_union(void)
{
    char *a = tmp_path("a.db"), *b = tmp_path("b.db"), *c = tmp_path("c.db"), *out = tmp_path("out.db");
    make_shard(a, 0, 2, 0);
    make_shard(b, 2, 2, 0);
    make_shard(c, 1, 2, 0);   /* seeds 1, 2: identical copies of runs in a and b */
    rm_db(out);
    const char *ins[] = {a, b, c};
    struct strbuf log = STRBUF_INIT;
    struct lethe_error err = {0};
    int n = merge_dbs(out, ins, 3, 0, &log, &err);
    CHECK_EQ_INT(n, 12);
    if (n < 0)
        printf("# %s\n", err.msg);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM runs"), 12);
    CHECK_EQ_INT(q_int(out, "SELECT count(DISTINCT config_hash || seed) FROM runs"), 12);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM metrics"), 36);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM sample_scores"), 72);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM curves"), 36);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM models"), 1);
    CHECK_EQ_INT(q_int(out, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    CHECK_EQ_INT(q_int(out, "PRAGMA application_id"), STORE_APPLICATION_ID);
    /* values, CIs, NULLs and wall times copied exactly */
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE "
                            "r.method = 'retrain' AND r.seed = 3 AND m.variant = 'base' AND m.name = "
                            "'tofu.model_utility' AND m.value = 0.1 + 0.03 AND m.ci_low = 0.13 - 0.05 AND n = 100"), 1);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM metrics WHERE name = 'tofu.forget.rouge_l_recall' AND ci_low IS NULL"), 12);
    CHECK_EQ_INT(q_int(out, "SELECT sum(wall_s) FROM runs"), 3 * (1 + 2 + 3 + 4));
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM runs WHERE status = 'done'"), 12);
    CHECK_CONTAINS(log.buf, "c.db': 6 runs: 0 taken, 6 identical");
    CHECK_CONTAINS(log.buf, "b.db': 6 runs: 6 taken, 0 identical");
    CHECK_EQ_INT(count_prefixed("out.db."), 0);
    /* a sample-by-sample check against an input, through an independent connection */
    char sql[1024];
    snprintf(sql, sizeof(sql), "ATTACH '%s' AS o", out);
    sqlite3 *db = NULL;
    sqlite3_open_v2(b, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM sample_scores s JOIN runs r ON r.id = s.run_id"
                           " JOIN o.runs r2 ON r2.config_hash = r.config_hash AND r2.seed = r.seed"
                           " JOIN o.sample_scores s2 ON s2.run_id = r2.id AND s2.idx = s.idx AND s2.name = s.name"
                           " AND s2.value = s.value", -1, &st, NULL);
    CHECK(st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 36);
    sqlite3_finalize(st);
    sqlite3_close(db);
    strbuf_release(&log);

    /* the output exists: refused, untouched; --force replaces it */
    char before[65], after[65];
    file_sha(out, before);
    const char *one[] = {a};
    CHECK(merge_dbs(out, one, 1, 0, NULL, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "already exists");
    file_sha(out, after);
    CHECK_STREQ(before, after);
    CHECK_EQ_INT(merge_dbs(out, one, 1, 1, NULL, &err), 6);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM runs"), 6);
    /* the output may not be an input */
    const char *self[] = {a, out};
    CHECK(merge_dbs(out, self, 2, 1, NULL, &err) < 0);
    CHECK_CONTAINS(err.msg, "is also an input");
    free(a); free(b); free(c); free(out);
}

static void test_conflicts(void)
{
    char *a = tmp_path("ca.db"), *b = tmp_path("cb.db"), *c = tmp_path("cc.db"), *d = tmp_path("cd.db"),
         *out = tmp_path("cout.db");
    make_shard(a, 0, 2, 0);
    make_shard(b, 1, 2, 0.001);   /* seed 1 overlaps a: its model_utility differs */
    make_shard(c, 0, 1, 0);
    make_shard(d, 0, 1, 0);
    rm_db(out);
    /* a differing sample score in c, a missing curve point in d */
    exec_sql(c, "UPDATE sample_scores SET value = value + 1e-12 WHERE idx = 4 AND run_id = "
                "(SELECT id FROM runs WHERE method = 'retrain')");
    exec_sql(d, "DELETE FROM curves WHERE step = 2 AND run_id = (SELECT id FROM runs WHERE method = 'original')");
    char sa[65], sb[65], sa2[65], sb2[65];
    file_sha(a, sa);
    file_sha(b, sb);
    const char *ins[] = {a, b};
    struct strbuf log = STRBUF_INIT;
    struct lethe_error err = {0};
    CHECK(merge_dbs(out, ins, 2, 0, &log, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "3 conflicting runs");
    CHECK_CONTAINS(err.msg, "not written");
    CHECK(!file_exists(out));
    CHECK_EQ_INT(count_prefixed("cout.db"), 0);
    /* every conflicting run, with the first differing metric and both values */
    for (size_t m = 0; m < 3; m++) {
        char want[512];
        snprintf(want, sizeof(want), "conflict: tofu_mini/forget10/%s seed 1: '%s' and '%s' differ: metric "
                 "base/tofu.model_utility is 0.", methods[m], a, b);
        CHECK_CONTAINS(log.buf, want);
    }
    char want1[512];
    snprintf(want1, sizeof(want1), "is 0.11 in '%s' and 0.111 in '%s'\n", a, b);
    CHECK_CONTAINS(log.buf, want1);
    file_sha(a, sa2);
    file_sha(b, sb2);
    CHECK_STREQ(sa, sa2);
    CHECK_STREQ(sb, sb2);
    strbuf_reset(&log);

    const char *ins2[] = {a, c, d};
    CHECK(merge_dbs(out, ins2, 3, 0, &log, &err) < 0);
    CHECK_CONTAINS(err.msg, "2 conflicting runs");
    CHECK_CONTAINS(log.buf, "tofu_mini/forget10/retrain seed 0");
    CHECK_CONTAINS(log.buf, "sample score base/tofu.forget.truth_ratio on forget, item 4 is 0.4 in");
    CHECK_CONTAINS(log.buf, "tofu_mini/forget10/original seed 0");
    char want[512];
    snprintf(want, sizeof(want), "curve point unlearn.forget_loss at step 2 is only in '%s'", a);
    CHECK_CONTAINS(log.buf, want);
    CHECK(!file_exists(out));
    strbuf_reset(&log);
    /* the same key with another method configuration */
    exec_sql(d, "UPDATE runs SET method_config_json = '{\"lr\":2e-05}' WHERE method = 'npo_lr1e-5'");
    const char *ins3[] = {a, d};
    CHECK(merge_dbs(out, ins3, 2, 0, &log, &err) < 0);
    CHECK_CONTAINS(log.buf, "npo_lr1e-5 seed 0");
    CHECK_CONTAINS(log.buf, "method_config_json differs");
    strbuf_release(&log);
    free(a); free(b); free(c); free(d); free(out);
}

static void test_states(void)
{
    char *a = tmp_path("sa.db"), *b = tmp_path("sb.db"), *out = tmp_path("sout.db");
    make_shard(a, 0, 2, 0);
    make_shard(b, 0, 2, 0);
    rm_db(out);
    /* in a: retrain seed 0 failed (no results), original seed 1 still running (crashed);
     * in b: npo seed 1 failed, original seed 1 failed too; an extra run only running */
    exec_sql(a, "UPDATE runs SET status = 'failed', error = 'oom' WHERE method = 'retrain' AND seed = 0;"
                "DELETE FROM metrics WHERE run_id IN (SELECT id FROM runs WHERE status = 'failed');"
                "UPDATE runs SET status = 'running' WHERE method = 'original' AND seed = 1;");
    exec_sql(b, "UPDATE runs SET status = 'failed', error = 'nan' WHERE method = 'npo_lr1e-5' AND seed = 1;"
                "UPDATE runs SET status = 'failed', error = 'x' WHERE method = 'original' AND seed = 1;"
                "DELETE FROM metrics WHERE run_id IN (SELECT id FROM runs WHERE status = 'failed');"
                "INSERT INTO runs(suite, split, method, method_config_json, seed, config_hash, status, started_at)"
                " VALUES ('tofu_mini', 'forget10', 'ghost', '{}', 9, 'ghosthash', 'running', '2025-01-01T00:00:00Z')");
    const char *ins[] = {a, b};
    struct strbuf log = STRBUF_INIT;
    struct lethe_error err = {0};
    int n = merge_dbs(out, ins, 2, 0, &log, &err);
    CHECK_EQ_INT(n, 6);
    if (n < 0)
        printf("# %s\n", err.msg);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM runs WHERE status = 'done'"), 5);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM runs WHERE status = 'failed' AND method = 'original' AND seed = 1"), 1);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM runs WHERE status = 'done' AND method = 'retrain' AND seed = 0"), 1);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE"
                            " r.method = 'retrain' AND r.seed = 0"), 3);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM runs WHERE status = 'done' AND method = 'npo_lr1e-5' AND seed = 1"), 1);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM runs WHERE method = 'ghost'"), 0);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM metrics"), 15);
    CHECK_CONTAINS(log.buf, "retrain seed 0: the done copy in");
    CHECK_CONTAINS(log.buf, "npo_lr1e-5 seed 1: the failed copy in");
    CHECK_CONTAINS(log.buf, "1 failed copies left out");
    CHECK_CONTAINS(log.buf, "ghost seed 9 is still 'running'");
    CHECK(!strstr(log.buf, "original seed 1 is still"));   /* b has it (failed) */
    strbuf_release(&log);
    free(a); free(b); free(out);
}

static void test_bad_inputs(void)
{
    char *a = tmp_path("ba.db"), *txt = tmp_path("notes.txt"), *out = tmp_path("bout.db");
    make_shard(a, 0, 1, 0);
    rm_db(out);
    const char *text = "not a database\n";
    FILE *f = fopen(txt, "w");
    fputs(text, f);
    fclose(f);
    char before[65], after[65];
    file_sha(txt, before);
    const char *ins[] = {a, txt};
    struct lethe_error err = {0};
    CHECK(merge_dbs(out, ins, 2, 0, NULL, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, txt);
    CHECK(!file_exists(out));
    file_sha(txt, after);
    CHECK_STREQ(before, after);
    char *missing = tmp_path("missing.db");
    const char *ins2[] = {a, missing};
    CHECK(merge_dbs(out, ins2, 2, 0, NULL, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "missing.db");
    CHECK(!file_exists(missing));
    CHECK(!file_exists(out));
    /* a damaged page inside an otherwise whole file: found when read, reported as bad input */
    char *dmg = tmp_path("damaged.db");
    make_shard(dmg, 0, 3, 0);
    char *bytes = NULL;
    size_t len = 0;
    CHECK_EQ_INT(file_read_all(dmg, &bytes, &len, NULL), 0);
    CHECK(len > 4 * 4096);
    for (size_t i = 4096; i < len; i++)
        bytes[i] = (char)0xA5;
    f = fopen(dmg, "wb");
    fwrite(bytes, 1, len, f);
    fclose(f);
    free(bytes);
    const char *ins3[] = {dmg};
    CHECK(merge_dbs(out, ins3, 1, 0, NULL, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "damaged.db");
    printf("# damaged: %s\n", err.msg);
    CHECK(!file_exists(out));
    CHECK_EQ_INT(count_prefixed("bout.db"), 0);
    free(a); free(txt); free(out); free(missing); free(dmg);
}

/* Every write step of a merge made to fail once: an I/O error, no output, no temporary file. */
static void test_inject(void)
{
    char *a = tmp_path("ia.db"), *b = tmp_path("ib.db"), *out = tmp_path("iout.db");
    make_shard(a, 0, 1, 0);
    make_shard(b, 0, 2, 0);
    rm_db(out);
    const char *ins[] = {a, b};
    struct lethe_error err = {0};
    long n;
    int rc = -1;
    for (n = 1; n < 2000; n++) {
        char v[32];
        snprintf(v, sizeof(v), "%ld", n);
        setenv("LETHE_STORE_FAIL_AT", v, 1);
        memset(&err, 0, sizeof(err));
        rc = merge_dbs(out, ins, 2, 0, NULL, &err);
        if (rc >= 0)
            break;
        if (err.code != LETHE_EIO || !strstr(err.msg, "injected") || file_exists(out) ||
            count_prefixed("iout.db") != 0) {
            printf("# step %ld: code %d, %s\n", n, err.code, err.msg);
            CHECK(0);
            break;
        }
    }
    unsetenv("LETHE_STORE_FAIL_AT");
    CHECK_EQ_INT(rc, 6);
    /* schema steps + (run + 3 metrics + 6 samples + 3 curves) x 6 runs + models, all failed once */
    CHECK(n > 6 * 13);
    printf("# %ld write steps failed one by one\n", n - 1);
    CHECK_EQ_INT(q_int(out, "SELECT count(*) FROM metrics"), 18);
    free(a); free(b); free(out);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/lethe-test-merge.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    unsetenv("LETHE_STORE_FAIL_AT");
    RUN(test_union);
    RUN(test_conflicts);
    RUN(test_states);
    RUN(test_bad_inputs);
    RUN(test_inject);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}
