/* lethe merge: the union of shard databases into a new one, identical duplicates kept once,
 * conflicting versions of a run reported and nothing written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results/store_impl.h"

#define RUN_COLS "grid, suite, split, method, method_config_json, seed, config_hash, status, error," \
                 " started_at, finished_at, wall_s, lethe_version, git_rev, host, threads"
#define RUN_NCOLS 16
/* column positions in "SELECT id, " RUN_COLS */
enum { C_ID, C_GRID, C_SUITE, C_SPLIT, C_METHOD, C_JSON, C_SEED, C_HASH, C_STATUS };

/* The three result tables, each read in an order that makes two identical runs compare row
 * by row. The first `nkey` columns identify a row, the rest are its values. */
static const struct result_table {
    const char *name;
    const char *cols;
    const char *order;
    int ncols, nkey;
} result_tables[] = {
    {"metrics", "variant, name, split, value, ci_low, ci_high, n", "variant, name", 7, 2},
    {"sample_scores", "variant, name, split, idx, value", "variant, name, split, idx, value", 5, 4},
    {"curves", "name, step, x, y", "name, step, x, y", 4, 2},
};
#define N_TABLES (sizeof(result_tables) / sizeof(result_tables[0]))

struct merge_in {
    const char *path;
    struct store *st;
    sqlite3_stmt *runs;                 /* SELECT id, RUN_COLS FROM runs */
    sqlite3_stmt *rows[N_TABLES];       /* the rows of one run, ordered */
    long n_runs, n_new, n_dup, n_running, n_conflicts, n_failed_left;
};

struct merge_out {
    struct store *st;
    sqlite3_stmt *find;                 /* id, status, method_config_json of (config_hash, seed) */
    sqlite3_stmt *ins_run;
    sqlite3_stmt *del_run;
    sqlite3_stmt *ins[N_TABLES];
    sqlite3_stmt *rows[N_TABLES];       /* the rows of one output run, ordered like the inputs' */
    size_t *source;                     /* output run id -> input index */
    size_t cap_source;
};

/* A run left 'running' in an input: reported when no other input had it done. */
struct pending {
    char *hash;
    long seed;
    char *label;
    size_t input;
};

static char *run_label(sqlite3_stmt *r)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s/%s/%s seed %lld", (const char *)sqlite3_column_text(r, C_SUITE),
                (const char *)sqlite3_column_text(r, C_SPLIT), (const char *)sqlite3_column_text(r, C_METHOD),
                (long long)sqlite3_column_int64(r, C_SEED));
    return strbuf_detach(&sb);
}

/* Exact equality of two stored values (NULL equals NULL). */
static int value_eq(sqlite3_stmt *a, sqlite3_stmt *b, int col)
{
    int ta = sqlite3_column_type(a, col), tb = sqlite3_column_type(b, col);
    if (ta != tb)
        return 0;
    switch (ta) {
    case SQLITE_NULL:
        return 1;
    case SQLITE_INTEGER:
        return sqlite3_column_int64(a, col) == sqlite3_column_int64(b, col);
    case SQLITE_FLOAT:
        return sqlite3_column_double(a, col) == sqlite3_column_double(b, col);
    default: {
        int na = sqlite3_column_bytes(a, col), nb = sqlite3_column_bytes(b, col);
        const void *pa = sqlite3_column_blob(a, col), *pb = sqlite3_column_blob(b, col);
        return na == nb && (na == 0 || memcmp(pa, pb, (size_t)na) == 0);
    }
    }
}

static void add_value(struct strbuf *sb, sqlite3_stmt *s, int col)
{
    switch (sqlite3_column_type(s, col)) {
    case SQLITE_NULL:
        strbuf_adds(sb, "NULL");
        break;
    case SQLITE_INTEGER:
        strbuf_addf(sb, "%lld", (long long)sqlite3_column_int64(s, col));
        break;
    case SQLITE_FLOAT: {
        /* the shortest form that reads back as the same double */
        double v = sqlite3_column_double(s, col);
        char buf[40];
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        strbuf_adds(sb, buf);
        break;
    }
    default:
        strbuf_addf(sb, "'%s'", (const char *)sqlite3_column_text(s, col));
    }
}

/* Names a result row: "variant/name" (metrics), "variant/name on split, item i" (samples),
 * "name at step s" (curves). */
static void add_key(struct strbuf *sb, size_t t, sqlite3_stmt *s)
{
    if (t == 0)
        strbuf_addf(sb, "%s/%s", (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1));
    else if (t == 1)
        strbuf_addf(sb, "%s/%s on %s, item %lld", (const char *)sqlite3_column_text(s, 0),
                    (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2),
                    (long long)sqlite3_column_int64(s, 3));
    else
        strbuf_addf(sb, "%s at step %lld", (const char *)sqlite3_column_text(s, 0),
                    (long long)sqlite3_column_int64(s, 1));
}

static const char *const table_item[N_TABLES] = {"metric", "sample score", "curve point"};

/* Compares the result rows of output run out_id (from input a) with input run in_id (input b).
 * Returns 0 when identical, 1 when they differ (the first difference described in diff),
 * negative on a read error. */
static int compare_results(struct merge_out *o, int64_t out_id, struct merge_in *in, int64_t in_id,
                           const char *a, const char *b, struct strbuf *diff, struct lethe_error *err)
{
    for (size_t t = 0; t < N_TABLES; t++) {
        const struct result_table *tab = &result_tables[t];
        sqlite3_stmt *x = o->rows[t], *y = in->rows[t];
        sqlite3_reset(x);
        sqlite3_reset(y);
        sqlite3_bind_int64(x, 1, out_id);
        sqlite3_bind_int64(y, 1, in_id);
        for (;;) {
            int rx = sqlite3_step(x), ry = sqlite3_step(y);
            if (rx != SQLITE_ROW && rx != SQLITE_DONE)
                return store_sqlite_err(o->st, LETHE_EIO, "cannot read merged runs", err);
            if (ry != SQLITE_ROW && ry != SQLITE_DONE)
                return store_sqlite_err(in->st, LETHE_EIO, "cannot read runs", err);
            if (rx == SQLITE_DONE && ry == SQLITE_DONE)
                break;
            if (rx == SQLITE_DONE || ry == SQLITE_DONE) {
                sqlite3_stmt *has = rx == SQLITE_ROW ? x : y;
                strbuf_addf(diff, "%s ", table_item[t]);
                add_key(diff, t, has);
                strbuf_addf(diff, " is only in '%s'", rx == SQLITE_ROW ? a : b);
                sqlite3_reset(x);
                sqlite3_reset(y);
                return 1;
            }
            int keys_equal = 1;
            for (int c = 0; c < tab->nkey; c++)
                keys_equal &= value_eq(x, y, c);
            if (!keys_equal) {
                /* rows in order: the smaller key is missing on the other side */
                int c = 0;
                while (value_eq(x, y, c))
                    c++;
                int cmp;
                if (sqlite3_column_type(x, c) == SQLITE_TEXT && sqlite3_column_type(y, c) == SQLITE_TEXT)
                    cmp = strcmp((const char *)sqlite3_column_text(x, c), (const char *)sqlite3_column_text(y, c));
                else
                    cmp = sqlite3_column_double(x, c) < sqlite3_column_double(y, c) ? -1 : 1;
                sqlite3_stmt *has = cmp < 0 ? x : y;
                strbuf_addf(diff, "%s ", table_item[t]);
                add_key(diff, t, has);
                strbuf_addf(diff, " is only in '%s'", cmp < 0 ? a : b);
                sqlite3_reset(x);
                sqlite3_reset(y);
                return 1;
            }
            for (int c = tab->nkey; c < tab->ncols; c++) {
                if (value_eq(x, y, c))
                    continue;
                strbuf_addf(diff, "%s ", table_item[t]);
                add_key(diff, t, x);
                const char *col = sqlite3_column_name(x, c);
                if (strcmp(col, "value") != 0)
                    strbuf_addf(diff, " (%s)", col);
                strbuf_adds(diff, " is ");
                add_value(diff, x, c);
                strbuf_addf(diff, " in '%s' and ", a);
                add_value(diff, y, c);
                strbuf_addf(diff, " in '%s'", b);
                sqlite3_reset(x);
                sqlite3_reset(y);
                return 1;
            }
        }
        sqlite3_reset(x);
        sqlite3_reset(y);
    }
    return 0;
}

/* Copies input run r (the current row of in->runs) and its results into the output; its new
 * id in *out_id. */
static int copy_run(struct merge_out *o, struct merge_in *in, int64_t *out_id, struct lethe_error *err)
{
    sqlite3_stmt *r = in->runs;
    sqlite3_reset(o->ins_run);
    for (int c = 0; c < RUN_NCOLS; c++)
        sqlite3_bind_value(o->ins_run, c + 1, sqlite3_column_value(r, c + 1));
    if (store_step(o->st, o->ins_run) != SQLITE_DONE)
        return store_sqlite_err(o->st, LETHE_EIO, "cannot write the merged database", err);
    *out_id = sqlite3_last_insert_rowid(o->st->db);
    int64_t in_id = sqlite3_column_int64(r, C_ID);
    for (size_t t = 0; t < N_TABLES; t++) {
        sqlite3_stmt *src = in->rows[t], *dst = o->ins[t];
        sqlite3_reset(src);
        sqlite3_bind_int64(src, 1, in_id);
        int rc;
        while ((rc = sqlite3_step(src)) == SQLITE_ROW) {
            sqlite3_reset(dst);
            sqlite3_bind_int64(dst, 1, *out_id);
            for (int c = 0; c < result_tables[t].ncols; c++)
                sqlite3_bind_value(dst, c + 2, sqlite3_column_value(src, c));
            if (store_step(o->st, dst) != SQLITE_DONE) {
                sqlite3_reset(src);
                return store_sqlite_err(o->st, LETHE_EIO, "cannot write the merged database", err);
            }
        }
        sqlite3_reset(src);
        if (rc != SQLITE_DONE)
            return store_sqlite_err(in->st, LETHE_EIO, "cannot read runs", err);
    }
    xgrow(&o->source, &o->cap_source, (size_t)*out_id + 1, sizeof(*o->source));
    return 0;
}

static sqlite3_stmt *prep(struct store *st, const char *fmt, ...) LETHE_PRINTF(2, 3);
static sqlite3_stmt *prep(struct store *st, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    sqlite3_stmt *s = store_prepare(st, sb.buf, NULL);
    if (!s)
        LETHE_BUG("cannot prepare '%s': %s", sb.buf, sqlite3_errmsg(st->db));
    strbuf_release(&sb);
    return s;
}

static void rows_prepare(struct store *st, sqlite3_stmt *rows[N_TABLES])
{
    for (size_t t = 0; t < N_TABLES; t++)
        rows[t] = prep(st, "SELECT %s FROM %s WHERE run_id = ? ORDER BY %s", result_tables[t].cols,
                       result_tables[t].name, result_tables[t].order);
}

static void rows_finalize(sqlite3_stmt *rows[N_TABLES])
{
    for (size_t t = 0; t < N_TABLES; t++)
        sqlite3_finalize(rows[t]);
}

static void unlink_db(const char *path)
{
    static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
        char *p = xmalloc(strlen(path) + 10);
        sprintf(p, "%s%s", path, sides[i]);
        unlink(p);
        free(p);
    }
}

/* Merges one input into the output; conflicts are counted, not errors. */
static int merge_one(struct merge_out *o, struct merge_in *ins, size_t k, struct pending **pend,
                     size_t *n_pend, size_t *cap_pend, long *conflicts, struct strbuf *log,
                     struct lethe_error *err)
{
    struct merge_in *in = &ins[k];
    sqlite3_stmt *r = in->runs;
    int rc, s;
    while ((s = sqlite3_step(r)) == SQLITE_ROW) {
        in->n_runs++;
        const char *status = (const char *)sqlite3_column_text(r, C_STATUS);
        const char *hash = (const char *)sqlite3_column_text(r, C_HASH);
        long seed = (long)sqlite3_column_int64(r, C_SEED);
        if (strcmp(status, "running") == 0) {
            xgrow(pend, cap_pend, *n_pend + 1, sizeof(**pend));
            (*pend)[(*n_pend)++] = (struct pending){xstrdup(hash), seed, run_label(r), k};
            in->n_running++;
            continue;
        }
        sqlite3_reset(o->find);
        sqlite3_bind_text(o->find, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(o->find, 2, seed);
        int f = sqlite3_step(o->find);
        if (f == SQLITE_DONE) {
            sqlite3_reset(o->find);
            int64_t id;
            if ((rc = copy_run(o, in, &id, err)) < 0)
                return rc;
            o->source[id] = k;
            in->n_new++;
            continue;
        }
        if (f != SQLITE_ROW)
            return store_sqlite_err(o->st, LETHE_EIO, "cannot read merged runs", err);
        int64_t out_id = sqlite3_column_int64(o->find, 0);
        char *out_status = xstrdup((const char *)sqlite3_column_text(o->find, 1));
        int same_json = strcmp((const char *)sqlite3_column_text(o->find, 2),
                               (const char *)sqlite3_column_text(r, C_JSON)) == 0;
        sqlite3_reset(o->find);
        const char *a = ins[o->source[out_id]].path, *b = in->path;
        char *label = run_label(r);
        struct strbuf diff = STRBUF_INIT;
        int differ = 0;
        if (!same_json) {
            strbuf_addf(&diff, "method_config_json differs");
            differ = 1;
        } else if (strcmp(out_status, status) == 0) {
            differ = compare_results(o, out_id, in, sqlite3_column_int64(r, C_ID), a, b, &diff, err);
        }
        rc = 0;
        if (differ < 0) {
            rc = differ;
        } else if (differ) {
            strbuf_addf(log, "conflict: %s: '%s' and '%s' differ: %s\n", label, a, b, diff.buf);
            (*conflicts)++;
            in->n_conflicts++;
        } else if (strcmp(out_status, status) == 0) {
            in->n_dup++;
        } else if (strcmp(status, "done") == 0) {
            /* a done copy beats a failed one */
            sqlite3_reset(o->del_run);
            sqlite3_bind_int64(o->del_run, 1, out_id);
            if (store_step(o->st, o->del_run) != SQLITE_DONE) {
                rc = store_sqlite_err(o->st, LETHE_EIO, "cannot write the merged database", err);
            } else {
                sqlite3_reset(o->del_run);
                int64_t id;
                rc = copy_run(o, in, &id, err);
                if (rc == 0) {
                    o->source[id] = k;
                    in->n_new++;
                    strbuf_addf(log, "note: %s: the done copy in '%s' replaces the failed one in '%s'\n",
                                label, b, a);
                }
            }
        } else {
            in->n_failed_left++;
            strbuf_addf(log, "note: %s: the failed copy in '%s' is left out; '%s' has it done\n", label, b, a);
        }
        strbuf_release(&diff);
        free(label);
        free(out_status);
        if (rc < 0)
            return rc;
    }
    if (s != SQLITE_DONE)
        return store_sqlite_err(in->st, LETHE_EIO, "cannot read runs", err);
    /* the model cache: union by hash, the first path kept */
    sqlite3_stmt *m = prep(in->st, "SELECT hash, path, role, suite, seed, created_at, train_s FROM models");
    sqlite3_stmt *put = prep(o->st, "INSERT OR IGNORE INTO models(hash, path, role, suite, seed, created_at,"
                                    " train_s) VALUES (?, ?, ?, ?, ?, ?, ?)");
    rc = 0;
    while ((s = sqlite3_step(m)) == SQLITE_ROW) {
        sqlite3_reset(put);
        for (int c = 0; c < 7; c++)
            sqlite3_bind_value(put, c + 1, sqlite3_column_value(m, c));
        if (store_step(o->st, put) != SQLITE_DONE) {
            rc = store_sqlite_err(o->st, LETHE_EIO, "cannot write the merged database", err);
            break;
        }
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = store_sqlite_err(in->st, LETHE_EIO, "cannot read models", err);
    sqlite3_finalize(m);
    sqlite3_finalize(put);
    return rc;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int merge_dbs(const char *out_path, const char *const *inputs, size_t n_inputs, int force,
              struct strbuf *log, struct lethe_error *err)
{
    if (n_inputs == 0)
        return lethe_err(err, LETHE_EUSAGE, "nothing to merge: give at least one input database");
    for (size_t k = 0; k < n_inputs; k++)
        if (same_file(out_path, inputs[k]))
            return lethe_err(err, LETHE_EUSAGE, "output '%s' is also an input", out_path);
    struct stat sb;
    if (lstat(out_path, &sb) == 0) {
        if (!force)
            return lethe_err(err, LETHE_EINPUT, "'%s' already exists (use --force to replace it)", out_path);
        if (S_ISDIR(sb.st_mode))
            return lethe_err(err, LETHE_EINPUT, "'%s' is a folder", out_path);
    }
    struct strbuf note = STRBUF_INIT;
    if (!log)
        log = &note;

    int rc = 0;
    long conflicts = 0;
    struct merge_in *ins = xcalloc(n_inputs, sizeof(*ins));
    struct merge_out o = {0};
    struct pending *pend = NULL;
    size_t n_pend = 0, cap_pend = 0;
    char *tmp = NULL;
    for (size_t k = 0; k < n_inputs; k++) {
        ins[k].path = inputs[k];
        ins[k].st = store_open(inputs[k], STORE_READONLY, err);
        if (!ins[k].st) {
            rc = -(err && err->code ? err->code : LETHE_EINPUT);
            goto done;
        }
        ins[k].runs = prep(ins[k].st, "SELECT id, " RUN_COLS " FROM runs ORDER BY id");
        rows_prepare(ins[k].st, ins[k].rows);
    }

    struct strbuf t = STRBUF_INIT;
    strbuf_addf(&t, "%s.merge-%ld.tmp", out_path, (long)getpid());
    tmp = strbuf_detach(&t);
    unlink_db(tmp);
    o.st = store_open(tmp, STORE_CREATE, err);
    if (!o.st) {
        rc = -(err && err->code ? err->code : LETHE_EIO);
        goto done;
    }
    /* messages name the database being written, not its temporary name */
    free(o.st->path);
    o.st->path = xstrdup(out_path);
    o.find = prep(o.st, "SELECT id, status, method_config_json FROM runs WHERE config_hash = ? AND seed = ?");
    o.ins_run = prep(o.st, "INSERT INTO runs(" RUN_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    o.del_run = prep(o.st, "DELETE FROM runs WHERE id = ?");
    for (size_t i = 0; i < N_TABLES; i++) {
        struct strbuf q = STRBUF_INIT;
        strbuf_addf(&q, "INSERT INTO %s(run_id, %s) VALUES (?", result_tables[i].name, result_tables[i].cols);
        for (int c = 0; c < result_tables[i].ncols; c++)
            strbuf_adds(&q, ", ?");
        strbuf_adds(&q, ")");
        o.ins[i] = prep(o.st, "%s", q.buf);
        strbuf_release(&q);
    }
    rows_prepare(o.st, o.rows);

    if (store_exec(o.st, "BEGIN IMMEDIATE") != SQLITE_OK) {
        rc = store_sqlite_err(o.st, LETHE_EIO, "cannot write the merged database", err);
        goto done;
    }
    for (size_t k = 0; k < n_inputs && rc == 0; k++)
        rc = merge_one(&o, ins, k, &pend, &n_pend, &cap_pend, &conflicts, log, err);
    for (size_t i = 0; i < n_pend && rc == 0; i++) {
        sqlite3_reset(o.find);
        sqlite3_bind_text(o.find, 1, pend[i].hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(o.find, 2, pend[i].seed);
        int f = sqlite3_step(o.find);
        sqlite3_reset(o.find);
        if (f == SQLITE_DONE)
            strbuf_addf(log, "note: %s is still 'running' in '%s' (a crashed job); left out\n", pend[i].label,
                        ins[pend[i].input].path);
        else if (f != SQLITE_ROW)
            rc = store_sqlite_err(o.st, LETHE_EIO, "cannot read merged runs", err);
    }
    long total = 0;
    for (size_t k = 0; k < n_inputs && rc == 0; k++) {
        strbuf_addf(log, "'%s': %ld runs: %ld taken, %ld identical to a copy already taken", ins[k].path,
                    ins[k].n_runs, ins[k].n_new, ins[k].n_dup);
        if (ins[k].n_failed_left)
            strbuf_addf(log, ", %ld failed copies left out", ins[k].n_failed_left);
        if (ins[k].n_running)
            strbuf_addf(log, ", %ld still running", ins[k].n_running);
        if (ins[k].n_conflicts)
            strbuf_addf(log, ", %ld in conflict", ins[k].n_conflicts);
        strbuf_addf(log, "\n");
        total += ins[k].n_new;
    }
    if (rc == 0 && conflicts > 0)
        rc = lethe_err(err, LETHE_EINPUT, "%ld conflicting run%s between the inputs; '%s' not written", conflicts,
                       conflicts == 1 ? "" : "s", out_path);
    if (rc == 0) {
        /* replaced runs leave gaps in the ids; the count is what matters */
        sqlite3_stmt *cnt = prep(o.st, "SELECT count(*) FROM runs");
        if (sqlite3_step(cnt) == SQLITE_ROW)
            total = (long)sqlite3_column_int64(cnt, 0);
        sqlite3_finalize(cnt);
    }
    if (rc == 0 && store_exec(o.st, "COMMIT") != SQLITE_OK)
        rc = store_sqlite_err(o.st, LETHE_EIO, "cannot write the merged database", err);
    if (rc == 0 && sqlite3_exec(o.st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_sqlite_err(o.st, LETHE_EIO, "cannot write the merged database", err);
    if (rc < 0)
        sqlite3_exec(o.st->db, "ROLLBACK", NULL, NULL, NULL);
    if (rc == 0)
        rc = (int)(total > 0x7fffffff ? 0x7fffffff : total);

done:
    sqlite3_finalize(o.find);
    sqlite3_finalize(o.ins_run);
    sqlite3_finalize(o.del_run);
    for (size_t i = 0; i < N_TABLES; i++)
        sqlite3_finalize(o.ins[i]);
    rows_finalize(o.rows);
    store_close(o.st);
    free(o.source);
    for (size_t k = 0; k < n_inputs; k++) {
        sqlite3_finalize(ins[k].runs);
        rows_finalize(ins[k].rows);
        store_close(ins[k].st);
    }
    free(ins);
    for (size_t i = 0; i < n_pend; i++) {
        free(pend[i].hash);
        free(pend[i].label);
    }
    free(pend);
    if (rc >= 0 && tmp) {
        /* a stale WAL beside the old file would be replayed into the new one: remove it */
        char *side = xmalloc(strlen(out_path) + 8);
        sprintf(side, "%s-wal", out_path);
        unlink(side);
        sprintf(side, "%s-shm", out_path);
        unlink(side);
        free(side);
        if (rename(tmp, out_path) < 0)
            rc = lethe_err(err, LETHE_EIO, "cannot write '%s': %s", out_path, lethe_strerror(errno));
    }
    if (tmp)
        unlink_db(tmp);
    free(tmp);
    strbuf_release(&note);
    return rc;
}
