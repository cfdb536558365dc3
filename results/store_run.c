/* The results store: runs (begin, finish in one transaction, fail) and their results in memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results/store_impl.h"

/* ---- results gathered in memory ----------------------------------------------------- */

struct rr_metric { const char *variant, *split, *name; double value, ci_low, ci_high; long n; };
struct rr_sample { const char *variant, *split, *name; long idx; double value; };
struct rr_curve { const char *name; long step; double x, y; };

struct run_results {
    char **strs;            /* interned strings: a run uses few distinct names */
    size_t n_strs, cap_strs;
    size_t last;            /* the last string found, checked first */
    struct rr_metric *metrics; size_t n_metrics, cap_metrics;
    struct rr_sample *samples; size_t n_samples, cap_samples;
    struct rr_curve *curves; size_t n_curves, cap_curves;
};

struct run_results *run_results_new(void)
{
    return xcalloc(1, sizeof(struct run_results));
}

void run_results_free(struct run_results *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_strs; i++)
        free(res->strs[i]);
    free(res->strs);
    free(res->metrics);
    free(res->samples);
    free(res->curves);
    free(res);
}

static const char *rr_intern(struct run_results *res, const char *s)
{
    if (!s)
        s = "";
    if (res->last < res->n_strs && strcmp(res->strs[res->last], s) == 0)
        return res->strs[res->last];
    for (size_t i = 0; i < res->n_strs; i++)
        if (strcmp(res->strs[i], s) == 0) {
            res->last = i;
            return res->strs[i];
        }
    xgrow(&res->strs, &res->cap_strs, res->n_strs + 1, sizeof(*res->strs));
    res->strs[res->n_strs] = xstrdup(s);
    res->last = res->n_strs;
    return res->strs[res->n_strs++];
}

void run_results_metric(struct run_results *res, const char *variant, const char *split,
                        const char *name, double value, double ci_low, double ci_high, long n)
{
    xgrow(&res->metrics, &res->cap_metrics, res->n_metrics + 1, sizeof(*res->metrics));
    struct rr_metric *m = &res->metrics[res->n_metrics++];
    m->variant = rr_intern(res, variant);
    m->split = rr_intern(res, split);
    m->name = rr_intern(res, name);
    m->value = value;
    m->ci_low = ci_low;
    m->ci_high = ci_high;
    m->n = n;
}

void run_results_sample(struct run_results *res, const char *variant, const char *split,
                        const char *name, long idx, double value)
{
    xgrow(&res->samples, &res->cap_samples, res->n_samples + 1, sizeof(*res->samples));
    struct rr_sample *s = &res->samples[res->n_samples++];
    s->variant = rr_intern(res, variant);
    s->split = rr_intern(res, split);
    s->name = rr_intern(res, name);
    s->idx = idx;
    s->value = value;
}

void run_results_curve(struct run_results *res, const char *name, long step, double x, double y)
{
    xgrow(&res->curves, &res->cap_curves, res->n_curves + 1, sizeof(*res->curves));
    struct rr_curve *c = &res->curves[res->n_curves++];
    c->name = rr_intern(res, name);
    c->step = step;
    c->x = x;
    c->y = y;
}

/* ---- runs --------------------------------------------------------------------------- */

/* NaN (undefined) is stored as NULL. */
static void bind_real(sqlite3_stmt *stmt, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(stmt, i);
    else
        sqlite3_bind_double(stmt, i, v);
}

static void bind_text_or_null(sqlite3_stmt *stmt, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, i);
}

/* The git revision of this build: $LETHE_GIT_REV, else `git rev-parse` in the folder of
 * the executable, else NULL. Looked up once per store. */
static const char *store_git_rev(struct store *st)
{
    if (st->git_rev_done)
        return st->git_rev;
    st->git_rev_done = 1;
    const char *env = getenv("LETHE_GIT_REV");
    if (env && *env) {
        st->git_rev = xstrdup(env);
        return st->git_rev;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *dir = path_dirname(exe);
    if (strchr(dir, '\'')) {
        free(dir);
        return NULL;
    }
    struct strbuf cmd = STRBUF_INIT;
    strbuf_addf(&cmd, "git -C '%s' rev-parse --short=12 HEAD 2>/dev/null", dir);
    free(dir);
    FILE *p = popen(cmd.buf, "r");
    strbuf_release(&cmd);
    if (!p)
        return NULL;
    char line[128] = "";
    char *got = fgets(line, sizeof(line), p);
    int status = pclose(p);
    if (got && status == 0) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line)
            st->git_rev = xstrdup(line);
    }
    return st->git_rev;
}

static int store_writable(struct store *st, struct lethe_error *err)
{
    if (st->readonly)
        return lethe_err(err, LETHE_EFAIL, "'%s' is open read-only", st->path);
    return 0;
}

int store_begin_run(struct store *st, const struct run_info *ri, int64_t *run_id,
                    struct lethe_error *err)
{
    if (store_writable(st, err) < 0)
        return -LETHE_EFAIL;
    LETHE_ASSERT(ri->suite && ri->split && ri->method && ri->config_hash);
    char now[32], host[256] = "";
    store_now_iso(now);
    if (gethostname(host, sizeof(host) - 1) < 0)
        host[0] = '\0';
    const char *git_rev = store_git_rev(st);
    sqlite3_stmt *sel = NULL, *del = NULL, *put = NULL;
    int rc = 0, state = STORE_RUN_NEW;
    if (store_exec(st, "BEGIN IMMEDIATE") != SQLITE_OK)
        return store_sqlite_err(st, LETHE_EIO, "cannot start a run", err);
    sel = store_prepare(st, "SELECT id, status FROM runs WHERE config_hash = ? AND seed = ?", err);
    if (!sel)
        goto fail_prepared;
    sqlite3_bind_text(sel, 1, ri->config_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(sel, 2, ri->seed);
    int s = sqlite3_step(sel);
    int64_t id = 0;
    if (s == SQLITE_ROW) {
        id = sqlite3_column_int64(sel, 0);
        const char *status = (const char *)sqlite3_column_text(sel, 1);
        if (status && strcmp(status, "done") == 0)
            state = STORE_RUN_DONE;
    } else if (s != SQLITE_DONE) {
        goto fail;
    }
    if (state == STORE_RUN_DONE) {
        sqlite3_finalize(sel);
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        *run_id = id;
        return STORE_RUN_DONE;
    }
    if (id) {
        /* a crashed or failed run: clear what it left and run it again */
        static const char *const clear[] = {
            "DELETE FROM metrics WHERE run_id = ?",
            "DELETE FROM sample_scores WHERE run_id = ?",
            "DELETE FROM curves WHERE run_id = ?",
        };
        for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++) {
            del = store_prepare(st, clear[i], err);
            if (!del)
                goto fail_prepared;
            sqlite3_bind_int64(del, 1, id);
            if (store_step(st, del) != SQLITE_DONE)
                goto fail;
            sqlite3_finalize(del);
            del = NULL;
        }
        put = store_prepare(st,
            "UPDATE runs SET grid = ?1, suite = ?2, split = ?3, method = ?4, method_config_json = ?5,"
            " status = 'running', error = NULL, started_at = ?8, finished_at = NULL, wall_s = NULL,"
            " lethe_version = ?9, git_rev = ?10, host = ?11, threads = ?12 WHERE id = ?13", err);
    } else {
        put = store_prepare(st,
            "INSERT INTO runs(grid, suite, split, method, method_config_json, seed, config_hash,"
            " status, started_at, lethe_version, git_rev, host, threads)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', ?8, ?9, ?10, ?11, ?12)", err);
    }
    if (!put)
        goto fail_prepared;
    bind_text_or_null(put, 1, ri->grid);
    sqlite3_bind_text(put, 2, ri->suite, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 3, ri->split, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 4, ri->method, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 5, ri->method_config_json ? ri->method_config_json : "{}", -1, SQLITE_STATIC);
    if (!id) {
        sqlite3_bind_int64(put, 6, ri->seed);
        sqlite3_bind_text(put, 7, ri->config_hash, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(put, 8, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 9, LETHE_VERSION, -1, SQLITE_STATIC);
    bind_text_or_null(put, 10, git_rev);
    bind_text_or_null(put, 11, host[0] ? host : NULL);
    if (ri->threads > 0)
        sqlite3_bind_int(put, 12, ri->threads);
    if (id)
        sqlite3_bind_int64(put, 13, id);
    if (store_step(st, put) != SQLITE_DONE)
        goto fail;
    if (!id)
        id = sqlite3_last_insert_rowid(st->db);
    sqlite3_finalize(sel);
    sqlite3_finalize(put);
    sel = put = NULL;
    if (store_exec(st, "COMMIT") != SQLITE_OK)
        goto fail;
    *run_id = id;
    return state;
fail:
    rc = store_sqlite_err(st, LETHE_EIO, "cannot start a run", err);
fail_prepared:
    if (!rc)
        rc = -(err && err->code ? err->code : LETHE_EFAIL);
    sqlite3_finalize(sel);
    sqlite3_finalize(del);
    sqlite3_finalize(put);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_finish_run(struct store *st, int64_t run_id, const struct run_results *res,
                     double wall_s, struct lethe_error *err)
{
    if (store_writable(st, err) < 0)
        return -LETHE_EFAIL;
    sqlite3_stmt *chk = NULL, *m = NULL, *s = NULL, *c = NULL, *up = NULL;
    int rc = 0;
    const char *what = "cannot record run results";
    if (store_exec(st, "BEGIN IMMEDIATE") != SQLITE_OK)
        return store_sqlite_err(st, LETHE_EIO, what, err);
    chk = store_prepare(st, "SELECT status FROM runs WHERE id = ?", err);
    m = chk ? store_prepare(st, "INSERT INTO metrics(run_id, variant, split, name, value, ci_low, ci_high, n)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", err) : NULL;
    s = m ? store_prepare(st, "INSERT INTO sample_scores(run_id, variant, split, name, idx, value)"
                              " VALUES (?, ?, ?, ?, ?, ?)", err) : NULL;
    c = s ? store_prepare(st, "INSERT INTO curves(run_id, name, step, x, y) VALUES (?, ?, ?, ?, ?)", err)
          : NULL;
    up = c ? store_prepare(st, "UPDATE runs SET status = 'done', error = NULL, finished_at = ?, wall_s = ?"
                               " WHERE id = ?", err) : NULL;
    if (!up)
        goto fail_prepared;
    sqlite3_bind_int64(chk, 1, run_id);
    int r = sqlite3_step(chk);
    if (r == SQLITE_DONE) {
        rc = lethe_err(err, LETHE_EFAIL, "%s in '%s': no run with id %lld", what, st->path, (long long)run_id);
        goto fail_prepared;
    }
    if (r != SQLITE_ROW)
        goto fail;
    const char *status = (const char *)sqlite3_column_text(chk, 0);
    if (!status || strcmp(status, "running") != 0) {
        rc = lethe_err(err, LETHE_EFAIL, "%s in '%s': run %lld is '%s', not 'running'", what, st->path,
                       (long long)run_id, status ? status : "?");
        goto fail_prepared;
    }
    for (size_t i = 0; res && i < res->n_metrics; i++) {
        const struct rr_metric *x = &res->metrics[i];
        sqlite3_reset(m);
        sqlite3_bind_int64(m, 1, run_id);
        sqlite3_bind_text(m, 2, x->variant, -1, SQLITE_STATIC);
        sqlite3_bind_text(m, 3, x->split, -1, SQLITE_STATIC);
        sqlite3_bind_text(m, 4, x->name, -1, SQLITE_STATIC);
        bind_real(m, 5, x->value);
        bind_real(m, 6, x->ci_low);
        bind_real(m, 7, x->ci_high);
        if (x->n >= 0)
            sqlite3_bind_int64(m, 8, x->n);
        else
            sqlite3_bind_null(m, 8);
        if (store_step(st, m) != SQLITE_DONE) {
            if (!st->injected && sqlite3_errcode(st->db) == SQLITE_CONSTRAINT) {
                rc = lethe_err(err, LETHE_EFAIL, "%s in '%s': metric '%s' of variant '%s' given twice",
                               what, st->path, x->name, x->variant);
                goto fail_prepared;
            }
            goto fail;
        }
    }
    for (size_t i = 0; res && i < res->n_samples; i++) {
        const struct rr_sample *x = &res->samples[i];
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, run_id);
        sqlite3_bind_text(s, 2, x->variant, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, x->split, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, x->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, x->idx);
        bind_real(s, 6, x->value);
        if (store_step(st, s) != SQLITE_DONE)
            goto fail;
    }
    for (size_t i = 0; res && i < res->n_curves; i++) {
        const struct rr_curve *x = &res->curves[i];
        sqlite3_reset(c);
        sqlite3_bind_int64(c, 1, run_id);
        sqlite3_bind_text(c, 2, x->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(c, 3, x->step);
        bind_real(c, 4, x->x);
        bind_real(c, 5, x->y);
        if (store_step(st, c) != SQLITE_DONE)
            goto fail;
    }
    char now[32];
    store_now_iso(now);
    sqlite3_bind_text(up, 1, now, -1, SQLITE_STATIC);
    bind_real(up, 2, wall_s);
    sqlite3_bind_int64(up, 3, run_id);
    if (store_step(st, up) != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(chk);
    sqlite3_finalize(m);
    sqlite3_finalize(s);
    sqlite3_finalize(c);
    sqlite3_finalize(up);
    chk = m = s = c = up = NULL;
    if (store_exec(st, "COMMIT") != SQLITE_OK)
        goto fail;
    return 0;
fail:
    rc = store_sqlite_err(st, LETHE_EIO, what, err);
fail_prepared:
    if (!rc)
        rc = -(err && err->code ? err->code : LETHE_EFAIL);
    sqlite3_finalize(chk);
    sqlite3_finalize(m);
    sqlite3_finalize(s);
    sqlite3_finalize(c);
    sqlite3_finalize(up);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_fail_run(struct store *st, int64_t run_id, const char *error, struct lethe_error *err)
{
    if (store_writable(st, err) < 0)
        return -LETHE_EFAIL;
    sqlite3_stmt *up = store_prepare(st,
        "UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status <> 'done'",
        err);
    if (!up)
        return -LETHE_EFAIL;
    char now[32];
    store_now_iso(now);
    sqlite3_bind_text(up, 1, error ? error : "unknown error", -1, SQLITE_STATIC);
    sqlite3_bind_text(up, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(up, 3, run_id);
    int rc = 0;
    if (store_step(st, up) != SQLITE_DONE)
        rc = store_sqlite_err(st, LETHE_EIO, "cannot record a failed run", err);
    else if (sqlite3_changes(st->db) == 0)
        rc = lethe_err(err, LETHE_EFAIL, "cannot record a failed run in '%s': no unfinished run with id %lld",
                       st->path, (long long)run_id);
    sqlite3_finalize(up);
    return rc;
}
