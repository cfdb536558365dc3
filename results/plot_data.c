/* Figures: reading what they draw from the store (suites, splits, metrics) and grouping runs into
 * method configurations with their mean and sd over seeds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results/plot_impl.h"

/* ---- reading the store ---------------------------------------------------------------- */

sqlite3_stmt *plot_sql(struct store *st, const char *sql, struct lethe_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) {
        store_sqlite_err(st, LETHE_EIO, "cannot read the figure's data", err);
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

const char *plot_col_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? (const char *)t : "";
}

/* Runs a one-column query with up to three text parameters (NULL binds NULL) and gathers the
 * values; the count, or negative on error. */
static int query_strings(struct store *st, const char *sql, const char *a, const char *b,
                         const char *c, char ***out, size_t *n, struct lethe_error *err)
{
    sqlite3_stmt *s = plot_sql(st, sql, err);
    if (!s)
        return -LETHE_EIO;
    const char *params[3] = {a, b, c};
    int np = sqlite3_bind_parameter_count(s);
    for (int i = 0; i < np && i < 3; i++) {
        if (params[i])
            sqlite3_bind_text(s, i + 1, params[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, i + 1);
    }
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow(&v, &cap, cnt + 1, sizeof(*v));
        v[cnt++] = xstrdup(plot_col_text(s, 0));
    }
    if (rc != SQLITE_DONE) {
        int ret = store_sqlite_err(st, LETHE_EIO, "cannot read the figure's data", err);
        sqlite3_finalize(s);
        plot_strings_free(v, cnt);
        return ret < 0 ? ret : -LETHE_EIO;
    }
    sqlite3_finalize(s);
    *out = v;
    *n = cnt;
    return (int)cnt;
}

void plot_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Appends "a, b, c" (at most 12, then "...") or "none". */
static void list_names(struct strbuf *sb, char **v, size_t n)
{
    if (!n)
        strbuf_adds(sb, "none");
    for (size_t i = 0; i < n && i < 12; i++)
        strbuf_addf(sb, "%s%s", i ? ", " : "", v[i]);
    if (n > 12)
        strbuf_addf(sb, ", ... (%zu in all)", n);
}

int plot_pick_suite(struct store *st, const char *suite, char **out, struct lethe_error *err)
{
    char **v = NULL;
    size_t n = 0;
    if (query_strings(st, "SELECT DISTINCT suite FROM runs WHERE status = 'done' ORDER BY suite",
                      NULL, NULL, NULL, &v, &n, err) < 0)
        return -err->code;
    int rc = 0;
    if (suite) {
        size_t i = 0;
        while (i < n && strcmp(v[i], suite) != 0)
            i++;
        if (i == n) {
            struct strbuf sb = STRBUF_INIT;
            list_names(&sb, v, n);
            rc = lethe_err(err, LETHE_EINPUT, "no finished runs of suite '%s' in '%s' (suites: %s)",
                           suite, store_path(st), sb.buf);
            strbuf_release(&sb);
        } else {
            *out = xstrdup(suite);
        }
    } else if (n == 1) {
        *out = xstrdup(v[0]);
    } else if (n == 0) {
        rc = lethe_err(err, LETHE_EINPUT, "no finished runs in '%s'", store_path(st));
    } else {
        struct strbuf sb = STRBUF_INIT;
        list_names(&sb, v, n);
        rc = lethe_err(err, LETHE_EINPUT, "'%s' holds several suites (%s): choose one with --suite",
                       store_path(st), sb.buf);
        strbuf_release(&sb);
    }
    plot_strings_free(v, n);
    return rc;
}

int plot_pick_splits(struct store *st, const char *suite, const char *split, char ***splits,
                     size_t *n, struct lethe_error *err)
{
    char **v = NULL;
    size_t cnt = 0;
    if (query_strings(st, "SELECT DISTINCT split FROM runs WHERE status = 'done' AND suite = ?1 "
                          "ORDER BY split", suite, NULL, NULL, &v, &cnt, err) < 0)
        return -err->code;
    if (!split) {
        if (!cnt) {
            plot_strings_free(v, cnt);
            return lethe_err(err, LETHE_EINPUT, "no finished runs of suite '%s' in '%s'", suite,
                             store_path(st));
        }
        *splits = v;
        *n = cnt;
        return 0;
    }
    for (size_t i = 0; i < cnt; i++) {
        if (strcmp(v[i], split) == 0) {
            plot_strings_free(v, cnt);
            *splits = xmalloc(sizeof(**splits));
            (*splits)[0] = xstrdup(split);
            *n = 1;
            return 0;
        }
    }
    struct strbuf sb = STRBUF_INIT;
    list_names(&sb, v, cnt);
    int rc = lethe_err(err, LETHE_EINPUT, "no finished runs of suite '%s' with split '%s' in '%s' "
                       "(splits: %s)", suite, split, store_path(st), sb.buf);
    strbuf_release(&sb);
    plot_strings_free(v, cnt);
    return rc;
}

int plot_check_metric(struct store *st, const char *suite, const char *split, const char *variant,
                      const char *name, struct lethe_error *err)
{
    char **v = NULL;
    size_t n = 0;
    if (query_strings(st, "SELECT DISTINCT m.name FROM metrics m JOIN runs r ON r.id = m.run_id "
                          "WHERE r.status = 'done' AND r.suite = ?1 "
                          "AND (?2 IS NULL OR r.split = ?2) AND (?3 IS NULL OR m.variant = ?3) "
                          "ORDER BY m.name", suite, split, variant, &v, &n, err) < 0)
        return -err->code;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(v[i], name) == 0;
    int rc = 0;
    if (!found) {
        struct strbuf sb = STRBUF_INIT;
        list_names(&sb, v, n);
        rc = lethe_err(err, LETHE_EINPUT, "no metric '%s' in the finished runs of suite '%s'%s%s%s"
                       "%s%s%s in '%s' (metrics: %s)", name, suite,
                       split ? ", split '" : "", split ? split : "", split ? "'" : "",
                       variant ? ", variant '" : "", variant ? variant : "", variant ? "'" : "",
                       store_path(st), sb.buf);
        strbuf_release(&sb);
    }
    plot_strings_free(v, n);
    return rc;
}

/* ---- groups ---------------------------------------------------------------------------- */

void plot_groups_init(struct plot_groups *gs, size_t n_series)
{
    memset(gs, 0, sizeof(*gs));
    gs->n_series = n_series;
}

void plot_groups_release(struct plot_groups *gs)
{
    if (!gs)
        return;
    for (size_t i = 0; i < gs->n; i++) {
        struct plot_group *g = &gs->g[i];
        free(g->method);
        free(g->config_hash);
        free(g->label);
        for (size_t j = 0; j < gs->n_series; j++)
            free(g->s[j].v);
        free(g->s);
    }
    free(gs->g);
    memset(gs, 0, sizeof(*gs));
}

struct plot_group *plot_groups_get(struct plot_groups *gs, const char *method,
                                   const char *config_hash)
{
    for (size_t i = 0; i < gs->n; i++)
        if (strcmp(gs->g[i].method, method) == 0 && strcmp(gs->g[i].config_hash, config_hash) == 0)
            return &gs->g[i];
    xgrow(&gs->g, &gs->cap, gs->n + 1, sizeof(*gs->g));
    struct plot_group *g = &gs->g[gs->n++];
    memset(g, 0, sizeof(*g));
    g->method = xstrdup(method);
    g->config_hash = xstrdup(config_hash);
    g->ref = strcmp(method, "original") == 0 ? PLOT_REF_ORIGINAL
             : strcmp(method, "retrain") == 0 ? PLOT_REF_RETRAIN : PLOT_REF_NONE;
    g->s = xcalloc(gs->n_series ? gs->n_series : 1, sizeof(*g->s));
    return g;
}

void plot_series_add(struct plot_series *s, double v)
{
    xgrow(&s->v, &s->cap, s->n + 1, sizeof(*s->v));
    s->v[s->n++] = v;
}

static int group_cmp(const void *pa, const void *pb)
{
    const struct plot_group *a = pa, *b = pb;
    if (a->ref != b->ref)
        return a->ref < b->ref ? -1 : 1;
    int c = strcmp(a->method, b->method);
    return c ? c : strcmp(a->config_hash, b->config_hash);
}

void plot_groups_finish(struct plot_groups *gs)
{
    if (gs->n > 1)
        qsort(gs->g, gs->n, sizeof(*gs->g), group_cmp);
    for (size_t i = 0; i < gs->n; i++) {
        struct plot_group *g = &gs->g[i];
        int several = (i > 0 && strcmp(gs->g[i - 1].method, g->method) == 0) ||
                      (i + 1 < gs->n && strcmp(gs->g[i + 1].method, g->method) == 0);
        struct strbuf sb = STRBUF_INIT;
        strbuf_adds(&sb, g->method);
        if (several)
            strbuf_addf(&sb, " [%.8s]", g->config_hash);
        free(g->label);
        g->label = strbuf_detach(&sb);
    }
}

double plot_mean(const struct plot_series *s)
{
    if (!s->n)
        return NAN;
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    return sum / (double)s->n;
}

double plot_sd(const struct plot_series *s)
{
    if (!s->n)
        return NAN;
    if (s->n == 1)
        return 0;
    double m = plot_mean(s), ss = 0;
    for (size_t i = 0; i < s->n; i++)
        ss += (s->v[i] - m) * (s->v[i] - m);
    return sqrt(ss / (double)(s->n - 1));
}
