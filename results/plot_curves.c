/* lethe plot curves: the rows of the curves table with one name (unlearning curves, ROC points),
 * one line per run, one colour per method configuration. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results/plot_impl.h"

/* One run's curve. */
struct curve_run {
    size_t group;           /* index of its line colour / legend entry */
    long seed;
    int64_t run_id;
    size_t first, n;        /* its points in the point arrays */
};

struct curve_line {         /* one legend entry: a (suite, split, method configuration) */
    char *suite, *split, *method, *config_hash;
    char *label;
    size_t n_runs;
};

struct curve_data {
    struct curve_run *runs;
    size_t n_runs, cap_runs;
    struct curve_line *lines;
    size_t n_lines, cap_lines;
    double *x, *y;
    long *step;
    size_t n_pts, cap_x, cap_y, cap_step;
};

static void curve_data_release(struct curve_data *cd)
{
    for (size_t i = 0; i < cd->n_lines; i++) {
        free(cd->lines[i].suite);
        free(cd->lines[i].split);
        free(cd->lines[i].method);
        free(cd->lines[i].config_hash);
        free(cd->lines[i].label);
    }
    free(cd->lines);
    free(cd->runs);
    free(cd->x);
    free(cd->y);
    free(cd->step);
}

static size_t curve_line_get(struct curve_data *cd, const char *suite, const char *split,
                             const char *method, const char *hash)
{
    for (size_t i = 0; i < cd->n_lines; i++) {
        struct curve_line *l = &cd->lines[i];
        if (!strcmp(l->suite, suite) && !strcmp(l->split, split) && !strcmp(l->method, method) &&
            !strcmp(l->config_hash, hash))
            return i;
    }
    xgrow(&cd->lines, &cd->cap_lines, cd->n_lines + 1, sizeof(*cd->lines));
    struct curve_line *l = &cd->lines[cd->n_lines];
    memset(l, 0, sizeof(*l));
    l->suite = xstrdup(suite);
    l->split = xstrdup(split);
    l->method = xstrdup(method);
    l->config_hash = xstrdup(hash);
    return cd->n_lines++;
}

/* Explains why nothing matched: the curve does not exist at all, or the filters exclude it. */
static int curves_none(struct plot_ctx *ctx, struct lethe_error *err)
{
    const struct plot_options *opt = ctx->opt;
    sqlite3_stmt *s = plot_sql(ctx->st,
        "SELECT DISTINCT c.name FROM curves c JOIN runs r ON r.id = c.run_id "
        "WHERE r.status = 'done' ORDER BY c.name", err);
    if (!s)
        return -err->code;
    struct strbuf names = STRBUF_INIT;
    int exists = 0, n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *name = plot_col_text(s, 0);
        exists |= strcmp(name, opt->curve) == 0;
        if (n++ < 12)
            strbuf_addf(&names, "%s%s", n > 1 ? ", " : "", name);
    }
    sqlite3_finalize(s);
    if (n > 12)
        strbuf_addf(&names, ", ... (%d in all)", n);
    int rc;
    if (!exists) {
        rc = lethe_err(err, LETHE_EINPUT, "no curve '%s' in the finished runs of '%s' (curves: %s)",
                       opt->curve, store_path(ctx->st), n ? names.buf : "none");
    } else {
        struct strbuf f = STRBUF_INIT;
        if (opt->suite)
            strbuf_addf(&f, " of suite '%s'", opt->suite);
        if (opt->split)
            strbuf_addf(&f, "%s split '%s'", f.len ? "," : " of", opt->split);
        if (opt->method)
            strbuf_addf(&f, "%s method '%s'", f.len ? "," : " of", opt->method);
        rc = lethe_err(err, LETHE_EINPUT, "no finished run%s has curve '%s' in '%s'", f.buf ? f.buf : "",
                       opt->curve, store_path(ctx->st));
        strbuf_release(&f);
    }
    strbuf_release(&names);
    return rc;
}

static int curves_gather(struct plot_ctx *ctx, struct curve_data *cd, struct lethe_error *err)
{
    const struct plot_options *opt = ctx->opt;
    sqlite3_stmt *s = plot_sql(ctx->st,
        "SELECT r.id, r.suite, r.split, r.method, r.config_hash, r.seed, c.step, c.x, c.y "
        "FROM curves c JOIN runs r ON r.id = c.run_id "
        "WHERE c.name = ?1 AND r.status = 'done' AND (?2 IS NULL OR r.suite = ?2) "
        "AND (?3 IS NULL OR r.split = ?3) AND (?4 IS NULL OR r.method = ?4) "
        "ORDER BY r.suite, r.split, r.method, r.config_hash, r.seed, r.id, c.step", err);
    if (!s)
        return -err->code;
    sqlite3_bind_text(s, 1, opt->curve, -1, SQLITE_STATIC);
    const char *filters[3] = {opt->suite, opt->split, opt->method};
    for (int i = 0; i < 3; i++) {
        if (filters[i])
            sqlite3_bind_text(s, i + 2, filters[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, i + 2);
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (!cd->n_runs || cd->runs[cd->n_runs - 1].run_id != id) {
            size_t line = curve_line_get(cd, plot_col_text(s, 1), plot_col_text(s, 2),
                                         plot_col_text(s, 3), plot_col_text(s, 4));
            cd->lines[line].n_runs++;
            xgrow(&cd->runs, &cd->cap_runs, cd->n_runs + 1, sizeof(*cd->runs));
            cd->runs[cd->n_runs++] = (struct curve_run){.group = line, .run_id = id,
                                                        .seed = (long)sqlite3_column_int64(s, 5),
                                                        .first = cd->n_pts};
        }
        long step = (long)sqlite3_column_int64(s, 6);
        /* a missing x is the step; a missing y leaves a gap */
        double x = sqlite3_column_type(s, 7) == SQLITE_NULL ? (double)step : sqlite3_column_double(s, 7);
        double y = sqlite3_column_type(s, 8) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 8);
        xgrow(&cd->x, &cd->cap_x, cd->n_pts + 1, sizeof(*cd->x));
        xgrow(&cd->y, &cd->cap_y, cd->n_pts + 1, sizeof(*cd->y));
        xgrow(&cd->step, &cd->cap_step, cd->n_pts + 1, sizeof(*cd->step));
        cd->x[cd->n_pts] = x;
        cd->y[cd->n_pts] = y;
        cd->step[cd->n_pts] = step;
        cd->n_pts++;
        cd->runs[cd->n_runs - 1].n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sqlite_err(ctx->st, LETHE_EIO, "cannot read the figure's data", err);
    if (!cd->n_runs)
        return curves_none(ctx, err);
    return 0;
}

/* Labels: the method (with its config hash when one name has several configurations), and the
 * suite/split when the figure mixes several. */
static void curves_labels(struct curve_data *cd)
{
    int mixed = 0;
    for (size_t i = 1; i < cd->n_lines; i++)
        mixed |= strcmp(cd->lines[i].suite, cd->lines[0].suite) ||
                 strcmp(cd->lines[i].split, cd->lines[0].split);
    for (size_t i = 0; i < cd->n_lines; i++) {
        struct curve_line *l = &cd->lines[i];
        int several = 0;
        for (size_t j = 0; j < cd->n_lines; j++)
            several |= j != i && !strcmp(cd->lines[j].method, l->method) &&
                       !strcmp(cd->lines[j].suite, l->suite) && !strcmp(cd->lines[j].split, l->split);
        struct strbuf sb = STRBUF_INIT;
        strbuf_adds(&sb, l->method);
        if (several)
            strbuf_addf(&sb, " [%.8s]", l->config_hash);
        if (mixed)
            strbuf_addf(&sb, ", %s/%s", l->suite, l->split);
        if (l->n_runs > 1)
            strbuf_addf(&sb, " (%zu runs)", l->n_runs);
        l->label = strbuf_detach(&sb);
    }
}

/* The line style of a line: the reference runs dashed (original black, retrain vermilion, as in
 * the scatter), the methods in the first five Okabe-Ito colours, then again with dashes. */
static void curve_style(struct strbuf *sb, const struct curve_line *lines, size_t i)
{
    if (!strcmp(lines[i].method, "original")) {
        strbuf_adds(sb, "lc rgb '#000000' dt 2 pt 5 ");
        return;
    }
    if (!strcmp(lines[i].method, "retrain")) {
        strbuf_adds(sb, "lc rgb '#D55E00' dt 2 pt 9 ");
        return;
    }
    size_t k = 0;   /* the method's rank among the non-reference lines */
    for (size_t j = 0; j < i; j++)
        k += strcmp(lines[j].method, "original") && strcmp(lines[j].method, "retrain");
    strbuf_addf(sb, "lt %zu dt %zu ", k % 5 + 1, k / 5 % 3 * 2 + 1);
}

int plot_curves(struct store *st, const struct plot_options *opt, char **image,
                struct lethe_error *err)
{
    if (image)
        *image = NULL;
    struct lethe_error local = {0};
    if (!err)
        err = &local;   /* the helpers below report through err */
    struct plot_ctx ctx;
    struct curve_data cd = {0};
    struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT, lab = STRBUF_INIT;
    char *stem = NULL, *suite = NULL;
    int rc = plot_ctx_init(&ctx, st, opt, err);
    if (rc == 0 && (!opt->curve || !*opt->curve))
        rc = lethe_err(err, LETHE_EUSAGE, "curves need a curve name (--curve)");
    if (rc == 0 && opt->suite)
        rc = plot_pick_suite(st, opt->suite, &suite, err);
    if (rc == 0)
        rc = curves_gather(&ctx, &cd, err);
    if (rc < 0)
        goto out;
    curves_labels(&cd);
    const char *parts[] = {opt->suite, opt->split, opt->method, opt->curve, "curves"};
    stem = plot_stem(opt->name, NULL, 0, parts, 5);

    int x_is_step = 1, roc = strstr(opt->curve, "roc") != NULL;
    size_t dropped = 0, blocks = 0;
    plot_comment(&dat, "lethe plot curves: '%s', one block (gnuplot index) per run", opt->curve);
    plot_comment(&dat, "columns: 1 step, 2 x, 3 y");
    size_t max_n = 0;
    for (size_t r = 0; r < cd.n_runs; r++)
        if (cd.runs[r].n > max_n)
            max_n = cd.runs[r].n;
    const char *with = max_n <= 30 ? "linespoints lw 1.5 ps 1" : "lines lw 1.5";
    int *titled = xcalloc(cd.n_lines, sizeof(*titled));
    struct strbuf plot = STRBUF_INIT;
    for (size_t r = 0; r < cd.n_runs; r++) {
        struct curve_run *run = &cd.runs[r];
        struct curve_line *l = &cd.lines[run->group];
        size_t kept = 0;
        struct strbuf blk = STRBUF_INIT;
        for (size_t i = run->first; i < run->first + run->n; i++) {
            if (cd.x[i] != (double)cd.step[i])
                x_is_step = 0;
            if ((opt->logx && !(cd.x[i] > 0)) || (opt->logy && isfinite(cd.y[i]) && !(cd.y[i] > 0))) {
                dropped++;
                continue;
            }
            strbuf_addf(&blk, "%ld ", cd.step[i]);
            plot_dat_number(&blk, cd.x[i]);
            strbuf_adds(&blk, " ");
            plot_dat_number(&blk, cd.y[i]);
            strbuf_adds(&blk, "\n");
            kept++;
        }
        if (!kept) {
            plot_comment(&dat, "run %lld ('%s', seed %ld): no point left on the log axes",
                         (long long)run->run_id, l->method, run->seed);
            strbuf_release(&blk);
            continue;
        }
        strbuf_adds(&dat, blocks ? "\n\n" : "");
        plot_comment(&dat, "index %zu: run %lld, '%s', '%s/%s', seed %ld", blocks,
                     (long long)run->run_id, l->method, l->suite, l->split, run->seed);
        strbuf_add(&dat, blk.buf, blk.len);
        strbuf_release(&blk);
        /* the first drawn run of a line carries its legend entry */
        strbuf_addf(&plot, "%s     dat index %zu using 2:3 with %s ", plot.len ? ", \\\n" : "",
                    blocks, with);
        curve_style(&plot, cd.lines, run->group);
        if (!titled[run->group]++) {
            strbuf_adds(&plot, "title ");
            plot_gp_text(&plot, l->label);
        } else {
            strbuf_adds(&plot, "notitle");
        }
        blocks++;
    }
    free(titled);
    if (dropped) {
        lethe_log(LETHE_LOG_WARN, "figure '%s': %zu point%s left out: not positive on a log axis",
                  stem, dropped, dropped > 1 ? "s" : "");
        plot_comment(&dat, "%zu point%s left out: not positive on a log axis", dropped,
                     dropped > 1 ? "s" : "");
    }
    if (!blocks) {
        strbuf_release(&plot);
        rc = lethe_err(err, LETHE_EINPUT, "figure '%s': no point left to draw on the log axes", stem);
        goto out;
    }

    struct strbuf what = STRBUF_INIT;
    strbuf_addf(&what, "lethe plot curves: '%s'%s%s%s%s%s%s", opt->curve,
                opt->suite ? ", suite " : "", opt->suite ? opt->suite : "",
                opt->split ? ", split " : "", opt->split ? opt->split : "",
                opt->method ? ", method " : "", opt->method ? opt->method : "");
    plot_script_head(&gp, &ctx, stem, what.buf);
    strbuf_release(&what);
    strbuf_adds(&gp, "\nset title ");
    strbuf_adds(&lab, opt->curve);
    if (opt->suite)
        strbuf_addf(&lab, ", %s", opt->suite);
    if (opt->split)
        strbuf_addf(&lab, ", %s", opt->split);
    plot_gp_text(&gp, lab.buf);
    strbuf_reset(&lab);
    strbuf_adds(&gp, "\nset xlabel ");
    strbuf_adds(&lab, opt->xlabel ? opt->xlabel : roc ? "false positive rate" : x_is_step ? "step" : "x");
    if (!opt->xlabel && opt->logx)
        strbuf_adds(&lab, " (log scale)");
    plot_gp_text(&gp, lab.buf);
    strbuf_reset(&lab);
    strbuf_adds(&gp, "\nset ylabel ");
    strbuf_adds(&lab, opt->ylabel ? opt->ylabel : roc ? "true positive rate" : opt->curve);
    if (!opt->ylabel && opt->logy)
        strbuf_adds(&lab, " (log scale)");
    plot_gp_text(&gp, lab.buf);
    strbuf_adds(&gp, "\n");
    if (opt->logx)
        plot_gp_logscale(&gp, 'x');
    if (opt->logy)
        plot_gp_logscale(&gp, 'y');
    strbuf_adds(&gp, "set key below horizontal samplen 2.5 spacing 1.2\n"
                     "set offsets 0, 0, graph 0.05, graph 0.05\n");
    strbuf_addf(&gp, "\nplot \\\n%s", plot.buf);
    if (roc)
        strbuf_adds(&gp, ", \\\n     x with lines dt 2 lw 1 lc rgb '#888888' title 'chance'");
    strbuf_adds(&gp, "\n");
    strbuf_release(&plot);
    rc = plot_render(&ctx, stem, &gp, &dat, err);
    if (rc == 0)
        plot_ctx_images(&ctx, image);
out:
    strbuf_release(&dat);
    strbuf_release(&gp);
    strbuf_release(&lab);
    free(stem);
    free(suite);
    curve_data_release(&cd);
    plot_ctx_release(&ctx);
    return rc < 0 ? rc : 0;
}
