/* The leaderboard: per (suite, split), one row per method configuration aggregated over the
 * seeds of its done runs, ranked by the suite's ranking metric, as a table, CSV, Markdown or JSON. */
#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "results/store_impl.h"
#include "results/table_impl.h"

int lb_format_parse(const char *s)
{
    static const char *const names[] = {"table", "csv", "md", "json"};
    static_assert(sizeof(names) / sizeof(names[0]) == LB_FORMAT_COUNT, "one name per format");
    for (int i = 0; s && i < LB_FORMAT_COUNT; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* One metric of one row: the defined values of its seeds and their stored CIs. */
struct lb_cell {
    double *v, *lo, *hi;    /* per defined value; lo/hi NAN without a CI */
    size_t n, cap;
    double mean, sd, ci_low, ci_high;
};

struct lb_row {
    char *method, *config;
    char *label;            /* method, or method [hash] when the name has several configs */
    double lr;              /* NAN when the configuration has no numeric "lr" */
    double lr_scale;        /* its "lr_scale" (a multiple of the suite's base lr), or NAN */
    int reference;          /* 'original' or 'retrain' */
    long *seeds;
    int64_t *run_ids;
    size_t n_runs, cap_runs;
    long failed, running;   /* runs of this configuration left out */
    struct lb_cell *cells;  /* one per column */
    double badness;
    long rank;              /* 0 = unranked */
};

struct lb_table {
    char *suite, *split;
    const char *variant;
    char **cols;
    size_t ncols;
    size_t rank_col;        /* index of the ranking metric among cols */
    const char *rank_by;
    enum metric_dir dir;
    int known;              /* rank_by is in the registry */
    double oracle;          /* retrain's mean of rank_by (ORACLE direction), else NAN */
    struct lb_row *rows;
    size_t nrows, cap_rows;
    long failed, running;   /* runs left out of the aggregates */
    long n_metric_rows;     /* metrics rows of the variant */
};

static void cell_push(struct lb_cell *c, double v, double lo, double hi)
{
    if (c->n == c->cap) {
        size_t cap = c->cap, cap2 = c->cap, cap3 = c->cap;
        xgrow(&c->v, &cap, c->n + 1, sizeof(double));
        xgrow(&c->lo, &cap2, c->n + 1, sizeof(double));
        xgrow(&c->hi, &cap3, c->n + 1, sizeof(double));
        c->cap = cap;
    }
    c->v[c->n] = v;
    c->lo[c->n] = lo;
    c->hi[c->n] = hi;
    c->n++;
}

/* mean, sample sd (n-1; NAN for one value), and the CI: the stored one for a single value, the
 * mean of the bounds over the values that have one for several. */
static void cell_aggregate(struct lb_cell *c)
{
    c->mean = c->sd = c->ci_low = c->ci_high = NAN;
    if (c->n == 0)
        return;
    double s = 0;
    for (size_t i = 0; i < c->n; i++)
        s += c->v[i];
    c->mean = s / (double)c->n;
    if (c->n > 1) {
        double ss = 0;
        for (size_t i = 0; i < c->n; i++)
            ss += (c->v[i] - c->mean) * (c->v[i] - c->mean);
        c->sd = sqrt(ss / (double)(c->n - 1));
    }
    double slo = 0, shi = 0;
    size_t nci = 0;
    for (size_t i = 0; i < c->n; i++)
        if (!isnan(c->lo[i]) && !isnan(c->hi[i])) {
            slo += c->lo[i];
            shi += c->hi[i];
            nci++;
        }
    if (nci) {
        c->ci_low = slo / (double)nci;
        c->ci_high = shi / (double)nci;
    }
}

static void table_free(struct lb_table *t)
{
    for (size_t r = 0; r < t->nrows; r++) {
        struct lb_row *row = &t->rows[r];
        for (size_t c = 0; row->cells && c < t->ncols; c++) {
            free(row->cells[c].v);
            free(row->cells[c].lo);
            free(row->cells[c].hi);
        }
        free(row->cells);
        free(row->method);
        free(row->config);
        free(row->label);
        free(row->seeds);
        free(row->run_ids);
    }
    free(t->rows);
    for (size_t c = 0; c < t->ncols; c++)
        free(t->cols[c]);
    free(t->cols);
    free(t->suite);
    free(t->split);
    memset(t, 0, sizeof(*t));
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *p = sqlite3_column_text(s, i);
    return p ? (const char *)p : "";
}

static double col_double(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

static int step_err(struct store *st, int rc, struct lethe_error *err)
{
    return store_sqlite_err(st, rc, "cannot read the leaderboard", err);
}

static int is_reference(const char *method)
{
    return strcmp(method, "original") == 0 || strcmp(method, "retrain") == 0;
}

/* The configuration's numeric value of key, or NAN. */
static double config_number(const char *config, const char *key)
{
    json_t *j = json_loads(config, JSON_DECODE_ANY, NULL);
    double x = NAN;
    if (j && json_is_object(j)) {
        json_t *v = json_object_get(j, key);
        if (v && json_is_number(v))
            x = json_number_value(v);
    }
    json_decref(j);
    return x;
}

static struct lb_row *row_get(struct lb_table *t, const char *method, const char *config)
{
    for (size_t r = 0; r < t->nrows; r++)
        if (strcmp(t->rows[r].method, method) == 0 && strcmp(t->rows[r].config, config) == 0)
            return &t->rows[r];
    xgrow(&t->rows, &t->cap_rows, t->nrows + 1, sizeof(*t->rows));
    struct lb_row *row = &t->rows[t->nrows++];
    memset(row, 0, sizeof(*row));
    row->method = xstrdup(method);
    row->config = xstrdup(config);
    row->lr = config_number(config, "lr");
    row->lr_scale = config_number(config, "lr_scale");
    row->reference = is_reference(method);
    return row;
}

static const struct suite_view *view_of(const struct lb_options *opt, const char *suite)
{
    for (size_t i = 0; opt->views && i < opt->n_views; i++)
        if (opt->views[i].suite && strcmp(opt->views[i].suite, suite) == 0)
            return &opt->views[i];
    return NULL;
}

static void add_col(struct lb_table *t, const char *name)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (strcmp(t->cols[c], name) == 0)
            return;
    t->cols = xrealloc(t->cols, (t->ncols + 1) * sizeof(*t->cols));
    t->cols[t->ncols++] = xstrdup(name);
}

/* Fills t (suite and split set) from the database: its runs, columns, and cell values. */
static int table_load(struct store *st, const struct lb_options *opt, struct lb_table *t,
                      struct lethe_error *err)
{
    int rc;
    sqlite3_stmt *s = store_prepare(st,
        "SELECT id, method, method_config_json, seed, status FROM runs"
        " WHERE suite = ?1 AND split = ?2 ORDER BY method, method_config_json, seed, id", err);
    if (!s)
        return -LETHE_EFAIL;
    sqlite3_bind_text(s, 1, t->suite, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, t->split, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct lb_row *row = row_get(t, col_text(s, 1), col_text(s, 2));
        const char *status = col_text(s, 4);
        if (strcmp(status, "done") == 0) {
            size_t cap = row->cap_runs;
            xgrow(&row->seeds, &cap, row->n_runs + 1, sizeof(long));
            cap = row->cap_runs;
            xgrow(&row->run_ids, &cap, row->n_runs + 1, sizeof(int64_t));
            row->cap_runs = cap;
            row->run_ids[row->n_runs] = sqlite3_column_int64(s, 0);
            row->seeds[row->n_runs++] = (long)sqlite3_column_int64(s, 3);
        } else if (strcmp(status, "failed") == 0) {
            row->failed++;
            t->failed++;
        } else {
            row->running++;
            t->running++;
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return step_err(st, rc, err);

    /* drop configurations without a done run (they are counted in the notes) */
    size_t w = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->rows[r].n_runs) {
            t->rows[w++] = t->rows[r];
        } else {
            free(t->rows[r].method);
            free(t->rows[r].config);
            free(t->rows[r].seeds);
            free(t->rows[r].run_ids);
        }
    }
    t->nrows = w;

    /* columns: the view's headline (rank_by first if it is not among them), else every
     * metric of the variant in name order */
    const struct suite_view *v = view_of(opt, t->suite);
    if (v && v->n_headline) {
        if (v->rank_by) {
            int in = 0;
            for (size_t i = 0; i < v->n_headline; i++)
                in |= strcmp(v->headline[i], v->rank_by) == 0;
            if (!in)
                add_col(t, v->rank_by);
        }
        for (size_t i = 0; i < v->n_headline; i++)
            add_col(t, v->headline[i]);
    }
    s = store_prepare(st,
        "SELECT DISTINCT m.name FROM metrics m JOIN runs r ON r.id = m.run_id"
        " WHERE r.suite = ?1 AND r.split = ?2 AND r.status = 'done' AND m.variant = ?3"
        " ORDER BY m.name", err);
    if (!s)
        return -LETHE_EFAIL;
    sqlite3_bind_text(s, 1, t->suite, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, t->split, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, t->variant, -1, SQLITE_STATIC);
    int had_cols = t->ncols > 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        t->n_metric_rows++;
        if (!had_cols)
            add_col(t, col_text(s, 0));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return step_err(st, rc, err);
    t->rank_by = v && v->rank_by ? v->rank_by : t->ncols ? t->cols[0] : NULL;
    for (size_t c = 0; c < t->ncols; c++)
        if (t->rank_by && strcmp(t->cols[c], t->rank_by) == 0)
            t->rank_col = c;
    const struct metric_info *mi = t->rank_by ? metric_lookup(t->rank_by) : NULL;
    t->known = mi != NULL;
    t->dir = mi ? mi->dir : METRIC_INFO;

    for (size_t r = 0; r < t->nrows; r++)
        t->rows[r].cells = xcalloc(t->ncols ? t->ncols : 1, sizeof(struct lb_cell));
    s = store_prepare(st,
        "SELECT m.run_id, m.name, m.value, m.ci_low, m.ci_high FROM metrics m"
        " JOIN runs r ON r.id = m.run_id"
        " WHERE r.suite = ?1 AND r.split = ?2 AND r.status = 'done' AND m.variant = ?3"
        " ORDER BY r.seed, r.id", err);
    if (!s)
        return -LETHE_EFAIL;
    sqlite3_bind_text(s, 1, t->suite, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, t->split, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, t->variant, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_type(s, 2) == SQLITE_NULL)
            continue;   /* undefined: not a value */
        int64_t id = sqlite3_column_int64(s, 0);
        const char *name = col_text(s, 1);
        size_t c = 0;
        while (c < t->ncols && strcmp(t->cols[c], name) != 0)
            c++;
        if (c == t->ncols)
            continue;
        for (size_t r = 0; r < t->nrows; r++)
            for (size_t k = 0; k < t->rows[r].n_runs; k++)
                if (t->rows[r].run_ids[k] == id)
                    cell_push(&t->rows[r].cells[c], sqlite3_column_double(s, 2), col_double(s, 3),
                              col_double(s, 4));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return step_err(st, rc, err);
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++)
            cell_aggregate(&t->rows[r].cells[c]);
    return 0;
}

static int row_cmp(const void *pa, const void *pb)
{
    const struct lb_row *a = pa, *b = pb;
    if (a->reference != b->reference)
        return a->reference - b->reference;
    if (!a->reference) {
        int na = isnan(a->badness), nb = isnan(b->badness);
        if (na != nb)
            return na - nb;
        if (!na && a->badness != b->badness)
            return a->badness < b->badness ? -1 : 1;
    }
    int c = strcmp(a->method, b->method);
    return c ? c : strcmp(a->config, b->config);
}

/* Sorts: ranked method rows by badness (undefined last), then the reference rows; sets
 * ranks (ties share a rank) and labels. */
static void table_rank(struct lb_table *t)
{
    t->oracle = NAN;
    if (t->dir == METRIC_ORACLE && t->ncols)
        for (size_t r = 0; r < t->nrows; r++)
            if (strcmp(t->rows[r].method, "retrain") == 0)
                t->oracle = t->rows[r].cells[t->rank_col].mean;
    for (size_t r = 0; r < t->nrows; r++) {
        struct lb_row *row = &t->rows[r];
        row->badness = t->ncols ? metric_badness(t->dir, row->cells[t->rank_col].mean, t->oracle)
                                : NAN;
    }
    if (t->nrows)
        qsort(t->rows, t->nrows, sizeof(*t->rows), row_cmp);
    long rank = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        struct lb_row *row = &t->rows[r];
        if (row->reference || isnan(row->badness))
            continue;
        rank = r > 0 && !t->rows[r - 1].reference && t->rows[r - 1].badness == row->badness
                   ? t->rows[r - 1].rank : (long)r + 1;
        row->rank = rank;
    }
    for (size_t r = 0; r < t->nrows; r++) {
        struct lb_row *row = &t->rows[r];
        int dup = 0;
        for (size_t q = 0; q < t->nrows; q++)
            dup |= q != r && strcmp(t->rows[q].method, row->method) == 0;
        if (dup) {
            char hex[65];
            sha256_hex(row->config, strlen(row->config), hex);
            struct strbuf sb = STRBUF_INIT;
            strbuf_addf(&sb, "%s [%.6s]", row->method, hex);
            row->label = strbuf_detach(&sb);
        } else {
            row->label = xstrdup(row->method);
        }
    }
}

/* ---- rendering ------------------------------------------------------------------------ */

static const char *dir_arrow(const char *name)
{
    const struct metric_info *m = metric_lookup(name);
    if (!m)
        return " ?";
    switch (m->dir) {
    case METRIC_HIGHER: return " ↑";
    case METRIC_LOWER: return " ↓";
    case METRIC_ORACLE: return " →O";
    case METRIC_ZERO: return " →0";
    default: return "";
    }
}

static const char *dir_phrase(const struct lb_table *t)
{
    if (!t->known)
        return "not ranked: unknown metric";
    switch (t->dir) {
    case METRIC_HIGHER: return "higher is better";
    case METRIC_LOWER: return "lower is better";
    case METRIC_ORACLE: return "closest to retrain is best";
    case METRIC_ZERO: return "closest to 0 is best";
    default: return "not ranked: an info metric";
    }
}

/* "mean ± sd [lo, hi]" with 4 significant digits; "-" when undefined; "(n=k)" when fewer
 * seeds than runs have a value. */
static void cell_text(struct strbuf *sb, const struct lb_cell *c, size_t n_runs)
{
    if (c->n == 0) {
        strbuf_adds(sb, "-");
        return;
    }
    strbuf_addf(sb, "%.4g", c->mean);
    if (!isnan(c->sd))
        strbuf_addf(sb, " ± %.4g", c->sd);
    if (!isnan(c->ci_low))
        strbuf_addf(sb, " [%.4g, %.4g]", c->ci_low, c->ci_high);
    if (c->n < n_runs)
        strbuf_addf(sb, " (n=%zu)", c->n);
}

/* The lr, else its multiple of the suite's base lr (METHODS.md 0.3) as "0.2x base". */
static void lr_text(char buf[32], double lr, double lr_scale)
{
    if (!isnan(lr))
        snprintf(buf, 32, "%g", lr);
    else if (!isnan(lr_scale))
        snprintf(buf, 32, "%gx base", lr_scale);
    else
        snprintf(buf, 32, "-");
}

static void title(struct strbuf *out, const struct lb_table *t)
{
    strbuf_addf(out, "%s / %s (variant %s)", t->suite, t->split, t->variant);
    if (t->rank_by) {
        strbuf_addf(out, ": ranked by %s, %s", t->rank_by, dir_phrase(t));
        if (t->dir == METRIC_ORACLE && t->known) {
            if (isnan(t->oracle))
                strbuf_adds(out, " (no retrain row: not ranked)");
            else
                strbuf_addf(out, " (%.4g)", t->oracle);
        }
    }
}

static void notes(struct strbuf *out, const struct lb_table *t, const char *prefix)
{
    if (t->nrows == 0)
        strbuf_addf(out, "%sno done runs\n", prefix);
    if (t->failed || t->running) {
        strbuf_addf(out, "%s", prefix);
        if (t->failed)
            strbuf_addf(out, "%ld failed run%s", t->failed, t->failed == 1 ? "" : "s");
        if (t->failed && t->running)
            strbuf_adds(out, " and ");
        if (t->running)
            strbuf_addf(out, "%ld unfinished run%s", t->running, t->running == 1 ? "" : "s");
        strbuf_adds(out, " left out of the aggregates\n");
    }
}

static void fill_texttab(const struct lb_table *t, struct texttab *tt)
{
    texttab_init(tt, 4 + t->ncols);
    texttab_head(tt, 0, "rank", 1);
    texttab_head(tt, 1, "method", 0);
    texttab_head(tt, 2, "lr", 1);
    texttab_head(tt, 3, "seeds", 1);
    for (size_t c = 0; c < t->ncols; c++) {
        struct strbuf h = STRBUF_INIT;
        strbuf_addf(&h, "%s%s", t->cols[c], dir_arrow(t->cols[c]));
        texttab_head(tt, 4 + c, h.buf, 0);
        strbuf_release(&h);
    }
    int first_ref = 1;
    for (size_t r = 0; r < t->nrows; r++) {
        const struct lb_row *row = &t->rows[r];
        texttab_add_row(tt, row->reference && first_ref && r > 0);
        if (row->reference)
            first_ref = 0;
        if (row->reference)
            texttab_set(tt, 0, "ref");
        else if (row->rank)
            texttab_setf(tt, 0, "%ld", row->rank);
        else
            texttab_set(tt, 0, "-");
        texttab_set(tt, 1, row->label);
        char lr[32];
        lr_text(lr, row->lr, row->lr_scale);
        texttab_set(tt, 2, lr);
        texttab_setf(tt, 3, "%zu", row->n_runs);
        for (size_t c = 0; c < t->ncols; c++) {
            struct strbuf sb = STRBUF_INIT;
            cell_text(&sb, &row->cells[c], row->n_runs);
            texttab_set(tt, 4 + c, sb.buf);
            strbuf_release(&sb);
        }
    }
}

static const char legend[] =
    "values: mean ± sample sd over seeds [CI: the stored 95% CI for one seed, the mean of the "
    "per-seed bounds for several]; - = undefined; ref = reference run, not ranked";

static void render_text(const struct lb_table *tabs, size_t n, int md, struct strbuf *out)
{
    for (size_t i = 0; i < n; i++) {
        const struct lb_table *t = &tabs[i];
        if (i)
            strbuf_adds(out, "\n");
        if (md) {
            struct strbuf h = STRBUF_INIT;
            title(&h, t);
            strbuf_adds(out, "### ");
            md_cell(out, h.buf);
            strbuf_adds(out, "\n\n");
            strbuf_release(&h);
        } else {
            title(out, t);
            strbuf_adds(out, "\n\n");
        }
        struct texttab tt;
        fill_texttab(t, &tt);
        if (md)
            texttab_md(&tt, out);
        else
            texttab_text(&tt, out);
        texttab_release(&tt);
        if (md && (t->nrows == 0 || t->failed || t->running))
            strbuf_adds(out, "\n");
        notes(out, t, md ? "" : "note: ");
    }
    if (n)
        strbuf_addf(out, "\n%s\n", legend);
}

static void render_csv(const struct lb_table *tabs, size_t n, struct strbuf *out)
{
    /* one header: the union of every table's metric columns, in order of appearance */
    char **names = NULL;
    size_t nn = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < tabs[i].ncols; c++) {
            size_t k = 0;
            while (k < nn && strcmp(names[k], tabs[i].cols[c]) != 0)
                k++;
            if (k == nn) {
                names = xrealloc(names, (nn + 1) * sizeof(*names));
                names[nn++] = tabs[i].cols[c];
            }
        }
    static const char *const fixed[] = {"suite", "split", "variant", "section", "rank", "method",
                                        "config", "lr", "seeds", "failed"};
    static const char *const parts[] = {"mean", "sd", "n", "ci_low", "ci_high"};
    const size_t nf = sizeof(fixed) / sizeof(fixed[0]), np = sizeof(parts) / sizeof(parts[0]);
    struct texttab tt;
    texttab_init(&tt, nf + np * nn);
    for (size_t k = 0; k < nf; k++)
        texttab_head(&tt, k, fixed[k], 0);
    for (size_t k = 0; k < nn; k++)
        for (size_t p = 0; p < np; p++) {
            struct strbuf h = STRBUF_INIT;
            strbuf_addf(&h, "%s.%s", names[k], parts[p]);
            texttab_head(&tt, nf + np * k + p, h.buf, 0);
            strbuf_release(&h);
        }
    for (size_t i = 0; i < n; i++) {
        const struct lb_table *t = &tabs[i];
        for (size_t r = 0; r < t->nrows; r++) {
            const struct lb_row *row = &t->rows[r];
            char num[32];
            texttab_add_row(&tt, 0);
            texttab_set(&tt, 0, t->suite);
            texttab_set(&tt, 1, t->split);
            texttab_set(&tt, 2, t->variant);
            texttab_set(&tt, 3, row->reference ? "reference" : "method");
            if (row->rank)
                texttab_setf(&tt, 4, "%ld", row->rank);
            texttab_set(&tt, 5, row->method);
            texttab_set(&tt, 6, row->config);
            fmt_exact(num, row->lr);
            texttab_set(&tt, 7, num);
            texttab_setf(&tt, 8, "%zu", row->n_runs);
            texttab_setf(&tt, 9, "%ld", row->failed);
            for (size_t c = 0; c < t->ncols; c++) {
                size_t k = 0;
                while (strcmp(names[k], t->cols[c]) != 0)
                    k++;
                const struct lb_cell *cl = &row->cells[c];
                size_t base = nf + np * k;
                fmt_exact(num, cl->mean);
                texttab_set(&tt, base, num);
                fmt_exact(num, cl->sd);
                texttab_set(&tt, base + 1, num);
                texttab_setf(&tt, base + 2, "%zu", cl->n);
                fmt_exact(num, cl->ci_low);
                texttab_set(&tt, base + 3, num);
                fmt_exact(num, cl->ci_high);
                texttab_set(&tt, base + 4, num);
            }
        }
    }
    texttab_csv(&tt, out, 1);
    texttab_release(&tt);
    free(names);
}

static json_t *jnum(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static json_t *row_json(const struct lb_table *t, const struct lb_row *row)
{
    json_t *o = json_object();
    if (!row->reference)
        json_object_set_new(o, "rank", row->rank ? json_integer(row->rank) : json_null());
    json_object_set_new(o, "method", json_string(row->method));
    json_t *cfg = json_loads(row->config, JSON_DECODE_ANY, NULL);
    json_object_set_new(o, "config", cfg ? cfg : json_string(row->config));
    json_object_set_new(o, "lr", jnum(row->lr));
    json_object_set_new(o, "lr_scale", jnum(row->lr_scale));
    json_object_set_new(o, "seeds", json_integer((json_int_t)row->n_runs));
    json_t *seeds = json_array();
    for (size_t k = 0; k < row->n_runs; k++)
        json_array_append_new(seeds, json_integer(row->seeds[k]));
    json_object_set_new(o, "seed_list", seeds);
    json_object_set_new(o, "failed", json_integer(row->failed));
    json_t *m = json_object();
    for (size_t c = 0; c < t->ncols; c++) {
        const struct lb_cell *cl = &row->cells[c];
        json_t *x = json_object();
        json_object_set_new(x, "mean", jnum(cl->mean));
        json_object_set_new(x, "sd", jnum(cl->sd));
        json_object_set_new(x, "n", json_integer((json_int_t)cl->n));
        json_object_set_new(x, "ci_low", jnum(cl->ci_low));
        json_object_set_new(x, "ci_high", jnum(cl->ci_high));
        json_object_set_new(m, t->cols[c], x);
    }
    json_object_set_new(o, "metrics", m);
    return o;
}

static void render_json(struct store *st, const char *variant, const struct lb_table *tabs,
                        size_t n, struct strbuf *out)
{
    json_t *root = json_object();
    json_object_set_new(root, "db", json_string(store_path(st)));
    json_object_set_new(root, "variant", json_string(variant));
    json_object_set_new(root, "ci", json_string("the stored CI for one seed; the mean of the "
                                                "per-seed bounds for several"));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct lb_table *t = &tabs[i];
        json_t *o = json_object();
        json_object_set_new(o, "suite", json_string(t->suite));
        json_object_set_new(o, "split", json_string(t->split));
        json_object_set_new(o, "variant", json_string(t->variant));
        json_object_set_new(o, "rank_by", t->rank_by ? json_string(t->rank_by) : json_null());
        json_object_set_new(o, "direction",
                            json_string(t->known ? metric_dir_name(t->dir) : "unknown"));
        json_object_set_new(o, "oracle", jnum(t->oracle));
        json_t *cols = json_array();
        for (size_t c = 0; c < t->ncols; c++) {
            const struct metric_info *mi = metric_lookup(t->cols[c]);
            json_t *x = json_object();
            json_object_set_new(x, "name", json_string(t->cols[c]));
            json_object_set_new(x, "direction",
                                json_string(mi ? metric_dir_name(mi->dir) : "unknown"));
            json_array_append_new(cols, x);
        }
        json_object_set_new(o, "columns", cols);
        json_object_set_new(o, "failed_runs", json_integer(t->failed));
        json_object_set_new(o, "unfinished_runs", json_integer(t->running));
        json_t *rows = json_array(), *refs = json_array();
        for (size_t r = 0; r < t->nrows; r++)
            json_array_append_new(t->rows[r].reference ? refs : rows, row_json(t, &t->rows[r]));
        json_object_set_new(o, "rows", rows);
        json_object_set_new(o, "reference", refs);
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "tables", arr);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    strbuf_adds(out, s);
    strbuf_adds(out, "\n");
    free(s);
    json_decref(root);
}

/* ---- selection ------------------------------------------------------------------------ */

/* Every distinct value of SQL (one text column) as "a, b, c", for error messages. */
static void list_values(struct store *st, const char *sql, struct strbuf *sb)
{
    sqlite3_stmt *s = store_prepare(st, sql, NULL);
    if (!s)
        return;
    int first = 1;
    while (sqlite3_step(s) == SQLITE_ROW) {
        strbuf_addf(sb, "%s'%s'", first ? "" : ", ", col_text(s, 0));
        first = 0;
    }
    if (first)
        strbuf_adds(sb, "none");
    sqlite3_finalize(s);
}

static int count_rows(struct store *st, const char *sql, const char *a, const char *b,
                      long *n, struct lethe_error *err)
{
    sqlite3_stmt *s = store_prepare(st, sql, err);
    if (!s)
        return -LETHE_EFAIL;
    if (a)
        sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *n = (long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : step_err(st, rc, err);
}

int leaderboard_render(struct store *st, const struct lb_options *opt, struct strbuf *out,
                       struct lethe_error *err)
{
    const char *variant = opt->variant ? opt->variant : "base";
    const char *path = store_path(st);
    long n = 0;
    int rc;
    if (opt->suite) {
        if ((rc = count_rows(st, "SELECT count(*) FROM runs WHERE suite = ?1", opt->suite, NULL,
                             &n, err)) < 0)
            return rc;
        if (n == 0) {
            struct strbuf sb = STRBUF_INIT;
            list_values(st, "SELECT DISTINCT suite FROM runs ORDER BY suite", &sb);
            lethe_err(err, LETHE_EINPUT, "no runs of suite '%s' in '%s' (suites: %s)", opt->suite,
                      path, sb.buf);
            strbuf_release(&sb);
            return -LETHE_EINPUT;
        }
    }
    if (opt->split) {
        if ((rc = count_rows(st, "SELECT count(*) FROM runs WHERE split = ?1"
                                 " AND (?2 IS NULL OR suite = ?2)", opt->split, opt->suite,
                             &n, err)) < 0)
            return rc;
        if (n == 0) {
            struct strbuf sb = STRBUF_INIT;
            list_values(st, "SELECT DISTINCT split FROM runs ORDER BY split", &sb);
            lethe_err(err, LETHE_EINPUT, "no runs of split '%s'%s%s%s in '%s' (splits: %s)",
                      opt->split, opt->suite ? " of suite '" : "", opt->suite ? opt->suite : "",
                      opt->suite ? "'" : "", path, sb.buf);
            strbuf_release(&sb);
            return -LETHE_EINPUT;
        }
    }

    sqlite3_stmt *s = store_prepare(st,
        "SELECT DISTINCT suite, split FROM runs WHERE (?1 IS NULL OR suite = ?1)"
        " AND (?2 IS NULL OR split = ?2) ORDER BY suite, split", err);
    if (!s)
        return -LETHE_EFAIL;
    if (opt->suite)
        sqlite3_bind_text(s, 1, opt->suite, -1, SQLITE_STATIC);
    if (opt->split)
        sqlite3_bind_text(s, 2, opt->split, -1, SQLITE_STATIC);
    struct lb_table *tabs = NULL;
    size_t ntabs = 0, cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow(&tabs, &cap, ntabs + 1, sizeof(*tabs));
        memset(&tabs[ntabs], 0, sizeof(*tabs));
        tabs[ntabs].suite = xstrdup(col_text(s, 0));
        tabs[ntabs].split = xstrdup(col_text(s, 1));
        tabs[ntabs].variant = variant;
        ntabs++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        rc = step_err(st, rc, err);
        goto done;
    }
    long variant_metrics = 0;
    for (size_t i = 0; i < ntabs; i++) {
        if ((rc = table_load(st, opt, &tabs[i], err)) < 0)
            goto done;
        table_rank(&tabs[i]);
        variant_metrics += tabs[i].n_metric_rows;
    }
    /* a variant that was asked for must exist: tables without it are left out */
    if (opt->variant && strcmp(variant, "base") != 0) {
        if (variant_metrics == 0 && ntabs > 0) {
            struct strbuf sb = STRBUF_INIT;
            list_values(st, "SELECT DISTINCT variant FROM metrics ORDER BY variant", &sb);
            rc = lethe_err(err, LETHE_EINPUT, "no metrics of variant '%s' in '%s' (variants: %s)",
                           variant, path, sb.buf);
            strbuf_release(&sb);
            goto done;
        }
        size_t w = 0;
        for (size_t i = 0; i < ntabs; i++) {
            if (tabs[i].n_metric_rows)
                tabs[w++] = tabs[i];
            else
                table_free(&tabs[i]);
        }
        ntabs = w;
    }
    switch (opt->format) {
    case LB_CSV:
        render_csv(tabs, ntabs, out);
        break;
    case LB_JSON:
        render_json(st, variant, tabs, ntabs, out);
        break;
    case LB_MD:
        render_text(tabs, ntabs, 1, out);
        break;
    default:
        render_text(tabs, ntabs, 0, out);
        break;
    }
    rc = (int)ntabs;
done:
    for (size_t i = 0; i < ntabs; i++)
        table_free(&tabs[i]);
    free(tabs);
    return rc;
}
