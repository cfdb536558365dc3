/* Nightly regression check: compares the done runs of two results databases metric by metric,
 * against tolerances, with the direction of "worse" taken from the metric registry. */
#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "results/store_impl.h"
#include "results/table_impl.h"

/* ---- tolerance file ------------------------------------------------------------------- */

struct tol_rule {
    double abs, rel;        /* NAN = not given */
};

struct tol_named {
    char *key;              /* metric name or glob */
    struct tol_rule rule;
};

struct tolerance {
    struct tol_rule def;
    struct tol_named *names, *patterns;
    size_t n_names, n_patterns;
};

static void tolerance_release(struct tolerance *t)
{
    for (size_t i = 0; i < t->n_names; i++)
        free(t->names[i].key);
    for (size_t i = 0; i < t->n_patterns; i++)
        free(t->patterns[i].key);
    free(t->names);
    free(t->patterns);
    memset(t, 0, sizeof(*t));
}

/* Reads {"abs": a, "rel": r} at jpath; extra_key (may be NULL) is one more allowed key. */
static int tol_rule_parse(json_t *j, const char *file, const char *jpath, const char *extra_key,
                          struct tol_rule *r, struct lethe_error *err)
{
    r->abs = r->rel = NAN;
    if (!json_is_object(j))
        return lethe_err(err, LETHE_EINPUT, "%s: %s: expected an object like {\"abs\": 0.01}",
                         file, jpath);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        double *dst = strcmp(key, "abs") == 0 ? &r->abs : strcmp(key, "rel") == 0 ? &r->rel : NULL;
        if (!dst) {
            if (extra_key && strcmp(key, extra_key) == 0)
                continue;
            return lethe_err(err, LETHE_EINPUT, "%s: %s.%s: unknown key (expected %s%s%sabs or rel)",
                             file, jpath, key, extra_key ? extra_key : "", extra_key ? ", " : "", "");
        }
        if (!json_is_number(v))
            return lethe_err(err, LETHE_EINPUT, "%s: %s.%s: expected a number", file, jpath, key);
        double x = json_number_value(v);
        if (!isfinite(x) || x < 0)
            return lethe_err(err, LETHE_EINPUT, "%s: %s.%s: expected a number >= 0, got %g", file,
                             jpath, key, x);
        *dst = x;
    }
    if (isnan(r->abs) && isnan(r->rel))
        return lethe_err(err, LETHE_EINPUT, "%s: %s: expected at least one of abs, rel", file, jpath);
    return 0;
}

/* The tolerance file (strict):
 *   {"default": {"abs": a, "rel": r},
 *    "metrics": {"<exact name>": {"abs": a}, ...},
 *    "patterns": [{"pattern": "<glob>", "rel": r}, ...]}
 * Every key optional; without "default" the default is abs 0. */
static int tolerance_load(const char *path, struct tolerance *t, struct lethe_error *err)
{
    memset(t, 0, sizeof(*t));
    t->def.abs = 0;
    t->def.rel = NAN;
    if (!path)
        return 0;
    char *text = NULL;
    int rc = file_read_all(path, &text, NULL, err);
    if (rc < 0)
        return rc;
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root)
        return lethe_err(err, LETHE_EINPUT, "%s:%d:%d: invalid JSON: %s", path, jerr.line,
                         jerr.column, jerr.text);
    rc = 0;
    if (!json_is_object(root)) {
        rc = lethe_err(err, LETHE_EINPUT, "%s: expected an object at the top level", path);
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "default") == 0) {
            if ((rc = tol_rule_parse(v, path, "default", NULL, &t->def, err)) < 0)
                goto done;
        } else if (strcmp(key, "metrics") == 0) {
            if (!json_is_object(v)) {
                rc = lethe_err(err, LETHE_EINPUT, "%s: metrics: expected an object of metric names",
                               path);
                goto done;
            }
            const char *name;
            json_t *r;
            t->names = xcalloc(json_object_size(v) + 1, sizeof(*t->names));
            json_object_foreach(v, name, r) {
                struct strbuf jp = STRBUF_INIT;
                strbuf_addf(&jp, "metrics.%s", name);
                struct tol_named *n = &t->names[t->n_names];
                rc = tol_rule_parse(r, path, jp.buf, NULL, &n->rule, err);
                strbuf_release(&jp);
                if (rc < 0)
                    goto done;
                n->key = xstrdup(name);
                t->n_names++;
            }
        } else if (strcmp(key, "patterns") == 0) {
            if (!json_is_array(v)) {
                rc = lethe_err(err, LETHE_EINPUT,
                               "%s: patterns: expected an array of {\"pattern\": ..., \"abs\": ...}",
                               path);
                goto done;
            }
            size_t i;
            json_t *r;
            t->patterns = xcalloc(json_array_size(v) + 1, sizeof(*t->patterns));
            json_array_foreach(v, i, r) {
                char jp[64];
                snprintf(jp, sizeof(jp), "patterns[%zu]", i);
                if ((rc = tol_rule_parse(r, path, jp, "pattern", &t->patterns[i].rule, err)) < 0)
                    goto done;
                json_t *p = json_object_get(r, "pattern");
                if (!p) {
                    rc = lethe_err(err, LETHE_EINPUT, "%s: %s.pattern: missing (expected a glob string)",
                                   path, jp);
                    goto done;
                }
                if (!json_is_string(p) || json_string_length(p) == 0) {
                    rc = lethe_err(err, LETHE_EINPUT, "%s: %s.pattern: expected a non-empty string",
                                   path, jp);
                    goto done;
                }
                t->patterns[i].key = xstrdup(json_string_value(p));
                t->n_patterns++;
            }
        } else {
            rc = lethe_err(err, LETHE_EINPUT,
                           "%s: %s: unknown key (expected default, metrics or patterns)", path, key);
            goto done;
        }
    }
done:
    json_decref(root);
    if (rc < 0)
        tolerance_release(t);
    return rc;
}

/* The rule for a metric: its exact name, else the first matching pattern, else the default. */
static const struct tol_rule *tolerance_rule(const struct tolerance *t, const char *name)
{
    for (size_t i = 0; i < t->n_names; i++)
        if (strcmp(t->names[i].key, name) == 0)
            return &t->names[i].rule;
    for (size_t i = 0; i < t->n_patterns; i++)
        if (str_glob(t->patterns[i].key, name))
            return &t->patterns[i].rule;
    return &t->def;
}

/* The allowed worsening: the larger of abs and rel x |base|. */
static double tolerance_allow(const struct tol_rule *r, double base)
{
    double a = isnan(r->abs) ? 0 : r->abs;
    double b = isnan(r->rel) ? 0 : r->rel * fabs(base);
    return a > b ? a : b;
}

/* ---- runs of one database ------------------------------------------------------------- */

enum run_status { RUN_DONE, RUN_FAILED, RUN_RUNNING };

struct cmp_metric {
    char *variant, *name;
    double value;           /* NAN = NULL */
};

struct cmp_run {
    char *suite, *split, *method, *config, *error;
    long seed;
    int64_t id;
    int status;
    int matched;
    struct cmp_metric *m;   /* loaded on demand, sorted by (variant, name) */
    size_t nm;
    int loaded;
    int dup_name;           /* another configuration of this method name exists (either DB) */
    struct cmp_run *oracle; /* the 'retrain' run of the same suite, split, seed (cached) */
    int oracle_done;
};

struct cmp_db {
    struct store *st;
    struct cmp_run *runs;   /* one per key (the done one if any, else the latest) */
    size_t n, cap;
};

static const char *ctext(sqlite3_stmt *s, int i)
{
    const unsigned char *p = sqlite3_column_text(s, i);
    return p ? (const char *)p : "";
}

static int key_cmp(const struct cmp_run *a, const struct cmp_run *b)
{
    int c;
    if ((c = strcmp(a->suite, b->suite)) || (c = strcmp(a->split, b->split)) ||
        (c = strcmp(a->method, b->method)) || (c = strcmp(a->config, b->config)))
        return c;
    return a->seed < b->seed ? -1 : a->seed > b->seed;
}

static int run_qsort_cmp(const void *a, const void *b)
{
    return key_cmp(a, b);
}

static void run_release(struct cmp_run *r)
{
    free(r->suite);
    free(r->split);
    free(r->method);
    free(r->config);
    free(r->error);
    for (size_t i = 0; i < r->nm; i++) {
        free(r->m[i].variant);
        free(r->m[i].name);
    }
    free(r->m);
}

static void db_release(struct cmp_db *d)
{
    for (size_t i = 0; i < d->n; i++)
        run_release(&d->runs[i]);
    free(d->runs);
    memset(d, 0, sizeof(*d));
}

static int db_load(struct store *st, struct cmp_db *d, struct lethe_error *err)
{
    memset(d, 0, sizeof(*d));
    d->st = st;
    sqlite3_stmt *s = store_prepare(st,
        "SELECT id, suite, split, method, method_config_json, seed, status, error FROM runs"
        " ORDER BY suite, split, method, method_config_json, seed, id", err);
    if (!s)
        return -LETHE_EFAIL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct cmp_run r = {0};
        r.id = sqlite3_column_int64(s, 0);
        r.suite = xstrdup(ctext(s, 1));
        r.split = xstrdup(ctext(s, 2));
        r.method = xstrdup(ctext(s, 3));
        r.config = xstrdup(ctext(s, 4));
        r.seed = (long)sqlite3_column_int64(s, 5);
        const char *status = ctext(s, 6);
        r.status = strcmp(status, "done") == 0 ? RUN_DONE
                 : strcmp(status, "failed") == 0 ? RUN_FAILED : RUN_RUNNING;
        r.error = xstrdup(ctext(s, 7));
        /* several runs of one key (the suite's configuration changed): a done run wins over
         * others, and the latest of equals wins */
        if (d->n && key_cmp(&d->runs[d->n - 1], &r) == 0) {
            struct cmp_run *prev = &d->runs[d->n - 1];
            if (prev->status == RUN_DONE && r.status != RUN_DONE) {
                run_release(&r);
                continue;
            }
            run_release(prev);
            *prev = r;
            continue;
        }
        xgrow(&d->runs, &d->cap, d->n + 1, sizeof(*d->runs));
        d->runs[d->n++] = r;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sqlite_err(st, rc, "cannot read runs", err);
    if (d->n)
        qsort(d->runs, d->n, sizeof(*d->runs), run_qsort_cmp);  /* C collation, as key_cmp */
    return 0;
}

static int metrics_load(struct cmp_db *d, struct cmp_run *r, struct lethe_error *err)
{
    if (r->loaded)
        return 0;
    sqlite3_stmt *s = store_prepare(d->st,
        "SELECT variant, name, value FROM metrics WHERE run_id = ?1 ORDER BY variant, name", err);
    if (!s)
        return -LETHE_EFAIL;
    sqlite3_bind_int64(s, 1, r->id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow(&r->m, &cap, r->nm + 1, sizeof(*r->m));
        struct cmp_metric *m = &r->m[r->nm++];
        m->variant = xstrdup(ctext(s, 0));
        m->name = xstrdup(ctext(s, 1));
        m->value = sqlite3_column_type(s, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 2);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sqlite_err(d->st, rc, "cannot read metrics", err);
    r->loaded = 1;
    return 0;
}

static struct cmp_run *db_find(struct cmp_db *d, const struct cmp_run *key)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = key_cmp(&d->runs[mid], key);
        if (c == 0)
            return &d->runs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Runs of d with r's (suite, split, method): [*lo, *hi) of the sorted runs. */
static void db_group(const struct cmp_db *d, const char *suite, const char *split,
                     const char *method, size_t *lo, size_t *hi)
{
    size_t a = 0, b = d->n;
    while (a < b) {     /* the first run not before the group */
        size_t mid = (a + b) / 2;
        const struct cmp_run *x = &d->runs[mid];
        int c = strcmp(x->suite, suite);
        if (!c)
            c = strcmp(x->split, split);
        if (!c)
            c = strcmp(x->method, method);
        if (c < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    while (a < d->n && strcmp(d->runs[a].suite, suite) == 0 &&
           strcmp(d->runs[a].split, split) == 0 && strcmp(d->runs[a].method, method) == 0)
        a++;
    *hi = a;
}

/* The done 'retrain' run of d with r's suite, split and seed (the first configuration). */
static struct cmp_run *db_oracle(struct cmp_db *d, const struct cmp_run *r)
{
    size_t lo, hi;
    db_group(d, r->suite, r->split, "retrain", &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        if (d->runs[i].status == RUN_DONE && d->runs[i].seed == r->seed)
            return &d->runs[i];
    return NULL;
}

/* Sets dup_name on every run of a that shares its method name with another configuration in
 * a or b (labels then carry a hash of the configuration). */
static void mark_dup_names(struct cmp_db *a, const struct cmp_db *b)
{
    for (size_t i = 0; i < a->n; i++) {
        struct cmp_run *r = &a->runs[i];
        const struct cmp_db *dbs[2] = {a, b};
        for (int k = 0; k < 2 && !r->dup_name; k++) {
            size_t lo, hi;
            db_group(dbs[k], r->suite, r->split, r->method, &lo, &hi);
            for (size_t j = lo; j < hi && !r->dup_name; j++)
                r->dup_name = strcmp(dbs[k]->runs[j].config, r->config) != 0;
        }
    }
}

static const struct cmp_metric *metric_find(const struct cmp_run *r, const char *variant,
                                            const char *name)
{
    for (size_t i = 0; r && i < r->nm; i++)
        if (strcmp(r->m[i].variant, variant) == 0 && strcmp(r->m[i].name, name) == 0)
            return &r->m[i];
    return NULL;
}

/* ---- verdicts ------------------------------------------------------------------------- */

enum verdict {
    V_OK, V_IMPROVED, V_REGRESSED, V_NEW_METRIC, V_MISSING, V_UNDEFINED, V_INFO, V_NO_ORACLE,
    V_COUNT
};
static const char *const verdict_names[] = {"ok", "improved", "regressed", "new-metric",
                                            "missing", "undefined", "info", "no-oracle"};
static_assert(sizeof(verdict_names) / sizeof(verdict_names[0]) == V_COUNT, "verdict names");

struct cmp_row {
    const struct cmp_run *run;  /* the base run (or the new one for a one-sided run) */
    const char *variant, *name; /* borrowed from the runs' metrics; NULL for a run row */
    const char *dir;
    enum verdict v;
    int regression;
    double base, neu, diff, allow, base_oracle, new_oracle;
    char note[160];
};

struct cmp_report {
    struct cmp_row *rows;
    size_t n, cap;
    long count[V_COUNT];
    long regressions, matched;
    char **unknown;             /* unknown metric names (borrowed), sorted unique */
    size_t n_unknown, cap_unknown;
};

static struct cmp_row *row_new(struct cmp_report *rep, const struct cmp_run *run)
{
    xgrow(&rep->rows, &rep->cap, rep->n + 1, sizeof(*rep->rows));
    struct cmp_row *row = &rep->rows[rep->n++];
    memset(row, 0, sizeof(*row));
    row->run = run;
    row->base = row->neu = row->diff = row->allow = row->base_oracle = row->new_oracle = NAN;
    row->dir = "";
    return row;
}

static void note_unknown(struct cmp_report *rep, char *name)
{
    for (size_t i = 0; i < rep->n_unknown; i++)
        if (strcmp(rep->unknown[i], name) == 0)
            return;
    xgrow(&rep->unknown, &rep->cap_unknown, rep->n_unknown + 1, sizeof(*rep->unknown));
    rep->unknown[rep->n_unknown++] = name;
}

static void judge(struct cmp_row *row, const struct tolerance *tol, struct cmp_run *run,
                  const struct cmp_metric *mb, const struct cmp_metric *mn, struct cmp_db *db_b,
                  struct cmp_db *db_n, struct cmp_report *rep, struct lethe_error *err, int *rc)
{
    const char *name = mb ? mb->name : mn->name;
    row->variant = mb ? mb->variant : mn->variant;
    row->name = name;
    row->base = mb ? mb->value : NAN;
    row->neu = mn ? mn->value : NAN;
    row->diff = row->neu - row->base;
    const struct metric_info *mi = metric_lookup(name);
    enum metric_dir dir = mi ? mi->dir : METRIC_INFO;
    row->dir = mi ? metric_dir_name(dir) : "unknown";
    if (!mi)
        note_unknown(rep, mb ? mb->name : mn->name);
    if (!mn) {
        row->v = V_MISSING;
        row->regression = 1;
        snprintf(row->note, sizeof(row->note), "in base, not in new");
        return;
    }
    if (!mb) {
        row->v = V_NEW_METRIC;
        return;
    }
    if (dir == METRIC_INFO) {
        row->v = V_INFO;
        if (!mi)
            snprintf(row->note, sizeof(row->note), "unknown metric");
        return;
    }
    if (dir == METRIC_ORACLE && strcmp(run->method, "retrain") == 0) {
        row->v = V_INFO;
        snprintf(row->note, sizeof(row->note), "the oracle itself");
        return;
    }
    int nb = isnan(row->base), nn = isnan(row->neu);
    if (nb || nn) {
        row->v = V_UNDEFINED;
        row->regression = !nb && nn;
        snprintf(row->note, sizeof(row->note), "%s",
                 nb && nn ? "undefined in both" : nn ? "became undefined" : "now defined");
        return;
    }
    if (dir == METRIC_ORACLE) {
        struct cmp_run *rn = db_find(db_n, run);
        if (!run->oracle_done) {
            run->oracle = db_oracle(db_b, run);
            run->oracle_done = 1;
        }
        if (rn && !rn->oracle_done) {
            rn->oracle = db_oracle(db_n, rn);
            rn->oracle_done = 1;
        }
        struct cmp_run *ob = run->oracle, *on = rn ? rn->oracle : NULL;
        if (ob && (*rc = metrics_load(db_b, ob, err)) < 0)
            return;
        if (on && (*rc = metrics_load(db_n, on, err)) < 0)
            return;
        const struct cmp_metric *xb = metric_find(ob, row->variant, name);
        const struct cmp_metric *xn = metric_find(on, row->variant, name);
        row->base_oracle = xb ? xb->value : NAN;
        row->new_oracle = xn ? xn->value : NAN;
        if (isnan(row->base_oracle) || isnan(row->new_oracle)) {
            row->v = V_NO_ORACLE;
            snprintf(row->note, sizeof(row->note), "no retrain value in %s",
                     isnan(row->base_oracle) && isnan(row->new_oracle) ? "either DB"
                     : isnan(row->base_oracle) ? "base" : "new");
            return;
        }
    }
    double bb = metric_badness(dir, row->base, row->base_oracle);
    double bn = metric_badness(dir, row->neu, row->new_oracle);
    double worse = bn - bb;
    row->allow = tolerance_allow(tolerance_rule(tol, name), row->base);
    if (dir == METRIC_ORACLE)
        snprintf(row->note, sizeof(row->note), "distance to retrain %.4g -> %.4g", bb, bn);
    /* rounding guard: a distance to an oracle recomputed from shifted values differs in the
     * last bits; 1e-12 of the magnitudes involved is no real change */
    double mag = fmax(fmax(fabs(row->base), fabs(row->neu)),
                      dir == METRIC_ORACLE ? fmax(fabs(row->base_oracle), fabs(row->new_oracle)) : 0);
    if (fabs(worse) <= 1e-12 * mag)
        worse = 0;
    if (worse > row->allow) {
        row->v = V_REGRESSED;
        row->regression = 1;
    } else if (-worse > row->allow) {
        row->v = V_IMPROVED;
    } else {
        row->v = V_OK;
    }
}

/* Compares the metrics of one matched pair of runs; rows appended to rep. */
static int compare_pair(struct cmp_db *db_b, struct cmp_db *db_n, struct cmp_run *rb,
                        struct cmp_run *rn, const struct tolerance *tol, struct cmp_report *rep,
                        struct lethe_error *err)
{
    int rc;
    if ((rc = metrics_load(db_b, rb, err)) < 0 || (rc = metrics_load(db_n, rn, err)) < 0)
        return rc;
    size_t i = 0, j = 0;
    rc = 0;
    while (rc == 0 && (i < rb->nm || j < rn->nm)) {
        int c;
        if (i == rb->nm)
            c = 1;
        else if (j == rn->nm)
            c = -1;
        else if (!(c = strcmp(rb->m[i].variant, rn->m[j].variant)))
            c = strcmp(rb->m[i].name, rn->m[j].name);
        const struct cmp_metric *mb = c <= 0 ? &rb->m[i] : NULL;
        const struct cmp_metric *mn = c >= 0 ? &rn->m[j] : NULL;
        struct cmp_row *row = row_new(rep, rb);
        judge(row, tol, rb, mb, mn, db_b, db_n, rep, err, &rc);
        rep->count[row->v]++;
        rep->regressions += row->regression;
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    return rc;
}

/* ---- rendering ------------------------------------------------------------------------ */

enum section { SEC_REGRESSED, SEC_FAILED, SEC_ONLY_BASE, SEC_ONLY_NEW, SEC_OTHER, SEC_COUNT };
static const char *const section_names[] = {"regressed", "failed_in_new", "only_in_base",
                                            "only_in_new", "other"};
static const char *const section_titles[] = {"regressed", "failed in new (done in base)",
                                             "runs only in base", "runs only in new",
                                             "other metrics"};
static_assert(sizeof(section_names) / sizeof(section_names[0]) == SEC_COUNT, "section names");
static_assert(sizeof(section_titles) / sizeof(section_titles[0]) == SEC_COUNT, "section titles");

/* A row in its report section (run rows have name == NULL). */
struct placed {
    const struct cmp_row *row;
    enum section sec;
};

static void method_label(struct strbuf *sb, const struct cmp_run *r)
{
    strbuf_adds(sb, r->method);
    if (r->dup_name) {
        char hex[65];
        sha256_hex(r->config, strlen(r->config), hex);
        strbuf_addf(sb, " [%.6s]", hex);
    }
}

static void num4(char buf[32], double v)
{
    if (isnan(v))
        snprintf(buf, 32, "-");
    else
        snprintf(buf, 32, "%.6g", v);
}

static void set_num(struct texttab *t, size_t col, double v, int exact)
{
    char nb[32];
    if (exact)
        fmt_exact(nb, v);
    else
        num4(nb, v);
    texttab_set(t, col, nb);
}

/* CSV: one header for every section; each record carries its section. */
static void render_csv(const struct placed *pl, size_t np, int quiet, struct strbuf *out)
{
    static const char *const head[] = {"section", "verdict", "suite", "split", "method",
                                       "config", "seed", "variant", "metric", "direction",
                                       "base", "new", "diff", "allowed", "base_oracle",
                                       "new_oracle", "note"};
    struct texttab t;
    texttab_init(&t, sizeof(head) / sizeof(head[0]));
    for (size_t k = 0; k < t.ncols; k++)
        texttab_head(&t, k, head[k], 0);
    for (size_t i = 0; i < np; i++) {
        const struct cmp_row *row = pl[i].row;
        const struct cmp_run *r = row->run;
        if (pl[i].sec == SEC_OTHER && quiet)
            continue;
        texttab_add_row(&t, 0);
        texttab_set(&t, 0, section_names[pl[i].sec]);
        texttab_set(&t, 1, row->name ? verdict_names[row->v]
                           : pl[i].sec == SEC_FAILED ? "failed" : section_names[pl[i].sec]);
        texttab_set(&t, 2, r->suite);
        texttab_set(&t, 3, r->split);
        texttab_set(&t, 4, r->method);
        texttab_set(&t, 5, r->config);
        texttab_setf(&t, 6, "%ld", r->seed);
        if (row->name) {
            texttab_set(&t, 7, row->variant);
            texttab_set(&t, 8, row->name);
            texttab_set(&t, 9, row->dir);
            double vals[6] = {row->base, row->neu, row->diff, row->allow, row->base_oracle,
                              row->new_oracle};
            for (int k = 0; k < 6; k++)
                set_num(&t, 10 + (size_t)k, vals[k], 1);
        }
        texttab_set(&t, 16, row->note);
    }
    texttab_csv(&t, out, 1);
    texttab_release(&t);
}

/* Text or Markdown: one titled table per section; run sections have their own columns. */
static void render_sections(const struct placed *pl, size_t np, int quiet, int md,
                            struct strbuf *out)
{
    static const char *const mhead[] = {"verdict", "suite", "split", "method", "seed", "variant",
                                        "metric", "dir", "base", "new", "diff", "allowed", "note"};
    static const char *const rhead[] = {"suite", "split", "method", "seed", "note"};
    for (int sec = 0; sec < SEC_COUNT; sec++) {
        size_t count = 0;
        for (size_t i = 0; i < np; i++)
            count += pl[i].sec == (enum section)sec;
        if (count == 0 || (sec == SEC_OTHER && quiet))
            continue;
        int runs = sec == SEC_FAILED || sec == SEC_ONLY_BASE || sec == SEC_ONLY_NEW;
        struct texttab t;
        if (runs) {
            texttab_init(&t, 5);
            for (size_t k = 0; k < 5; k++)
                texttab_head(&t, k, k == 4 && sec == SEC_FAILED ? "error" : rhead[k], k == 3);
        } else {
            texttab_init(&t, 13);
            for (size_t k = 0; k < 13; k++)
                texttab_head(&t, k, mhead[k], k == 4 || (k >= 8 && k <= 11));
        }
        for (size_t i = 0; i < np; i++) {
            if (pl[i].sec != (enum section)sec)
                continue;
            const struct cmp_row *row = pl[i].row;
            const struct cmp_run *r = row->run;
            struct strbuf lb = STRBUF_INIT;
            method_label(&lb, r);
            size_t c = 0;
            texttab_add_row(&t, 0);
            if (!runs)
                texttab_set(&t, c++, verdict_names[row->v]);
            texttab_set(&t, c++, r->suite);
            texttab_set(&t, c++, r->split);
            texttab_set(&t, c++, lb.buf);
            texttab_setf(&t, c++, "%ld", r->seed);
            strbuf_release(&lb);
            if (!runs) {
                texttab_set(&t, c++, row->variant);
                texttab_set(&t, c++, row->name);
                texttab_set(&t, c++, row->dir);
                double vals[4] = {row->base, row->neu, row->diff, row->allow};
                for (int k = 0; k < 4; k++)
                    set_num(&t, c++, vals[k], 0);
            }
            texttab_set(&t, c, row->note);
        }
        if (md) {
            strbuf_addf(out, "### %s (%zu)\n\n", section_titles[sec], count);
            texttab_md(&t, out);
        } else {
            strbuf_addf(out, "%s (%zu)\n", section_titles[sec], count);
            texttab_text(&t, out);
        }
        strbuf_adds(out, "\n");
        texttab_release(&t);
    }
}

static json_t *jnum(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static void render_json(const struct cmp_report *rep, const struct placed *pl, size_t np,
                        const char *base_path, const char *new_path, const char *tol_path,
                        int quiet, long counts[SEC_COUNT], struct strbuf *out)
{
    json_t *root = json_object();
    json_object_set_new(root, "base", json_string(base_path));
    json_object_set_new(root, "new", json_string(new_path));
    json_object_set_new(root, "tolerance", tol_path ? json_string(tol_path) : json_null());
    json_object_set_new(root, "regressions", json_integer(rep->regressions));
    json_t *sum = json_object();
    json_object_set_new(sum, "runs_matched", json_integer(rep->matched));
    for (int s = SEC_FAILED; s < SEC_OTHER; s++)
        json_object_set_new(sum, section_names[s], json_integer(counts[s]));
    for (int v = 0; v < V_COUNT; v++)
        json_object_set_new(sum, verdict_names[v], json_integer(rep->count[v]));
    json_object_set_new(root, "summary", sum);
    json_t *unk = json_array();
    for (size_t i = 0; i < rep->n_unknown; i++)
        json_array_append_new(unk, json_string(rep->unknown[i]));
    json_object_set_new(root, "unknown_metrics", unk);
    json_t *secs = json_object();
    for (int sec = 0; sec < SEC_COUNT; sec++) {
        if (sec == SEC_OTHER && quiet)
            continue;
        json_t *arr = json_array();
        for (size_t i = 0; i < np; i++) {
            if (pl[i].sec != (enum section)sec)
                continue;
            const struct cmp_row *row = pl[i].row;
            const struct cmp_run *r = row->run;
            json_t *o = json_object();
            if (row->name)
                json_object_set_new(o, "verdict", json_string(verdict_names[row->v]));
            json_object_set_new(o, "suite", json_string(r->suite));
            json_object_set_new(o, "split", json_string(r->split));
            json_object_set_new(o, "method", json_string(r->method));
            json_t *cfg = json_loads(r->config, JSON_DECODE_ANY, NULL);
            json_object_set_new(o, "config", cfg ? cfg : json_string(r->config));
            json_object_set_new(o, "seed", json_integer(r->seed));
            if (row->name) {
                json_object_set_new(o, "variant", json_string(row->variant));
                json_object_set_new(o, "metric", json_string(row->name));
                json_object_set_new(o, "direction", json_string(row->dir));
                json_object_set_new(o, "base", jnum(row->base));
                json_object_set_new(o, "new", jnum(row->neu));
                json_object_set_new(o, "diff", jnum(row->diff));
                json_object_set_new(o, "allowed", jnum(row->allow));
                json_object_set_new(o, "base_oracle", jnum(row->base_oracle));
                json_object_set_new(o, "new_oracle", jnum(row->new_oracle));
                json_object_set_new(o, "regression", json_boolean(row->regression));
            }
            json_object_set_new(o, "note", json_string(row->note));
            json_array_append_new(arr, o);
        }
        json_object_set_new(secs, section_names[sec], arr);
    }
    json_object_set_new(root, "sections", secs);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    strbuf_adds(out, s);
    strbuf_adds(out, "\n");
    free(s);
    json_decref(root);
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int compare_dbs_opt(struct store *base, struct store *neu, const struct compare_options *opt,
                    struct strbuf *out, long *regressions, struct lethe_error *err)
{
    struct tolerance tol;
    struct cmp_db db_b = {0}, db_n = {0};
    struct cmp_report rep = {0};
    struct placed *pl = NULL;
    size_t np = 0;
    int rc;
    *regressions = 0;
    if ((rc = tolerance_load(opt->tolerance_path, &tol, err)) < 0)
        return rc;
    if ((rc = db_load(base, &db_b, err)) < 0 || (rc = db_load(neu, &db_n, err)) < 0)
        goto done;
    mark_dup_names(&db_b, &db_n);
    mark_dup_names(&db_n, &db_b);

    /* runs of base that are done: matched, failed in new, or only in base */
    for (size_t i = 0; i < db_b.n; i++) {
        struct cmp_run *rb = &db_b.runs[i];
        if (rb->status != RUN_DONE)
            continue;
        struct cmp_run *rn = db_find(&db_n, rb);
        if (rn && rn->status == RUN_DONE) {
            rn->matched = 1;
            rep.matched++;
            if ((rc = compare_pair(&db_b, &db_n, rb, rn, &tol, &rep, err)) < 0)
                goto done;
        } else {
            struct cmp_row *row = row_new(&rep, rn && rn->status == RUN_FAILED ? rn : rb);
            row->v = V_COUNT;   /* a run row: no verdict of its own */
            if (rn && rn->status == RUN_FAILED) {
                row->regression = 1;
                rep.regressions++;
                snprintf(row->note, sizeof(row->note), "%.150s", rn->error);
            } else {
                snprintf(row->note, sizeof(row->note), "%s",
                         rn ? "unfinished in new" : "not in new");
            }
        }
    }
    for (size_t i = 0; i < db_n.n; i++) {
        struct cmp_run *rn = &db_n.runs[i];
        if (rn->status != RUN_DONE || rn->matched)
            continue;
        struct cmp_run *rb = db_find(&db_b, rn);
        struct cmp_row *row = row_new(&rep, rn);
        row->v = V_COUNT;
        snprintf(row->note, sizeof(row->note), "%s",
                 !rb ? "not in base" : rb->status == RUN_FAILED ? "failed in base" : "unfinished in base");
    }

    /* place rows: regressions first, then failed-in-new, one-sided runs, the rest */
    long counts[SEC_COUNT] = {0};
    pl = xcalloc(rep.n + 1, sizeof(*pl));
    for (int sec = 0; sec < SEC_COUNT; sec++)
        for (size_t i = 0; i < rep.n; i++) {
            const struct cmp_row *row = &rep.rows[i];
            enum section s;
            if (row->name)
                s = row->regression ? SEC_REGRESSED : SEC_OTHER;
            else if (row->regression)
                s = SEC_FAILED;
            else
                s = row->run >= db_b.runs && row->run < db_b.runs + db_b.n ? SEC_ONLY_BASE
                                                                           : SEC_ONLY_NEW;
            if (s != (enum section)sec)
                continue;
            pl[np].row = row;
            pl[np++].sec = s;
            counts[s]++;
        }
    if (rep.n_unknown)
        qsort(rep.unknown, rep.n_unknown, sizeof(*rep.unknown), str_ptr_cmp);

    const char *pb = store_path(base), *pn = store_path(neu);
    if (opt->format == LB_JSON) {
        render_json(&rep, pl, np, pb, pn, opt->tolerance_path, opt->quiet, counts, out);
    } else {
        int csv = opt->format == LB_CSV, md = opt->format == LB_MD;
        if (!csv) {
            strbuf_addf(out, "%scompare: base '%s', new '%s', tolerance %s%s%s\n\n",
                        md ? "## " : "", pb, pn, opt->tolerance_path ? "'" : "",
                        opt->tolerance_path ? opt->tolerance_path : "abs 0 (no file)",
                        opt->tolerance_path ? "'" : "");
        }
        if (csv)
            render_csv(pl, np, opt->quiet, out);
        else
            render_sections(pl, np, opt->quiet, md, out);
        if (!csv) {
            if (rep.n_unknown) {
                strbuf_adds(out, "unknown metric names (treated as info):");
                for (size_t i = 0; i < rep.n_unknown; i++)
                    strbuf_addf(out, "%s %s", i ? "," : "", rep.unknown[i]);
                strbuf_adds(out, "\n");
            }
            strbuf_addf(out, "runs: %ld matched, %ld failed in new, %ld only in base, %ld only in "
                             "new\nmetrics:", rep.matched, counts[SEC_FAILED],
                        counts[SEC_ONLY_BASE], counts[SEC_ONLY_NEW]);
            for (int v = 0; v < V_COUNT; v++)
                strbuf_addf(out, "%s %ld %s", v ? "," : "", rep.count[v], verdict_names[v]);
            strbuf_addf(out, "\n%s: %ld regression%s\n", rep.regressions ? "REGRESSED" : "ok",
                        rep.regressions, rep.regressions == 1 ? "" : "s");
        }
    }
    *regressions = rep.regressions;
    rc = 0;
done:
    free(pl);
    free(rep.rows);
    free(rep.unknown);
    db_release(&db_b);
    db_release(&db_n);
    tolerance_release(&tol);
    return rc;
}

int compare_dbs(struct store *base, struct store *neu, const char *tolerance_path,
                enum lb_format format, struct strbuf *out, long *regressions,
                struct lethe_error *err)
{
    struct compare_options opt = {.tolerance_path = tolerance_path, .format = format, .quiet = 0};
    return compare_dbs_opt(base, neu, &opt, out, regressions, err);
}
