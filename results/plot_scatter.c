/* lethe plot scatter: one metric against another, one point per method configuration (mean over
 * seeds), the reference runs 'original' and 'retrain' marked apart (the TOFU figure). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results/plot_impl.h"

/* The runs of one split that have both metrics, grouped by method configuration. */
static int scatter_gather(struct plot_ctx *ctx, const char *suite, const char *split,
                          const char *variant, struct plot_groups *gs, struct lethe_error *err)
{
    const struct plot_options *opt = ctx->opt;
    sqlite3_stmt *s = plot_sql(ctx->st,
        "SELECT r.method, r.config_hash, mx.value, my.value FROM runs r "
        "JOIN metrics mx ON mx.run_id = r.id AND mx.variant = ?3 AND mx.name = ?4 "
        "JOIN metrics my ON my.run_id = r.id AND my.variant = ?3 AND my.name = ?5 "
        "WHERE r.status = 'done' AND r.suite = ?1 AND r.split = ?2 "
        "AND mx.value IS NOT NULL AND my.value IS NOT NULL "
        "ORDER BY r.method, r.config_hash, r.seed, r.id", err);
    if (!s)
        return -err->code;
    sqlite3_bind_text(s, 1, suite, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, split, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, variant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, opt->x, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, opt->y, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct plot_group *g = plot_groups_get(gs, plot_col_text(s, 0), plot_col_text(s, 1));
        plot_series_add(&g->s[0], sqlite3_column_double(s, 2));
        plot_series_add(&g->s[1], sqlite3_column_double(s, 3));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sqlite_err(ctx->st, LETHE_EIO, "cannot read the figure's data", err);
    if (!gs->n)
        return lethe_err(err, LETHE_EINPUT, "no finished run of suite '%s', split '%s' has both "
                         "'%s' and '%s' (variant '%s') in '%s'", suite, split, opt->x, opt->y,
                         variant, store_path(ctx->st));
    plot_groups_finish(gs);
    return 0;
}

static const char *const block_titles[] = {"original", "retrain (oracle)", "unlearning methods"};
_Static_assert(sizeof(block_titles) / sizeof(block_titles[0]) == PLOT_REF_NONE + 1,
               "one block per kind of group");

/* Label placement: a point's label goes right of it at one of these vertical offsets (in text
 * lines); a label takes the first one whose box overlaps no label placed before it (the first
 * offset when every one does), so that points which coincide or nearly do keep readable
 * labels. */
static const double label_offsets[] = {0.6, -0.6, 1.8, -1.8, 3.0, -3.0, 4.2, -4.2};
#define N_LABEL_OFFSETS (int)(sizeof(label_offsets) / sizeof(label_offsets[0]))

/* The label level of each point (x, y in data units, kept[i] 0 for points not drawn), from the
 * figure's geometry: 1200x900 at 16 pt (a text line about 1/24 of the graph's height, a
 * character 1/90 of its width), the axes as gnuplot autoscales them (whole decades on a log
 * axis) with the offsets the script sets (5% left, 35% right, 8% below and above). */
static void label_levels(const double *x, const double *y, const char *const *text,
                         const int *kept, size_t n, int logx, int logy, int *level)
{
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    double *u = xcalloc(2 * n + 1, sizeof(double));
    int logs[2] = {logx, logy};
    for (size_t i = 0; i < n; i++) {
        if (!kept[i])
            continue;
        u[2 * i] = logx ? log10(x[i]) : x[i];
        u[2 * i + 1] = logy ? log10(y[i]) : y[i];
        for (int a = 0; a < 2; a++) {
            lo[a] = fmin(lo[a], u[2 * i + a]);
            hi[a] = fmax(hi[a], u[2 * i + a]);
        }
    }
    for (int a = 0; a < 2; a++)
        if (logs[a] && isfinite(lo[a])) {
            lo[a] = floor(lo[a]);
            hi[a] = fmax(ceil(hi[a]), lo[a] + 1);
        }
    const double pad_lo[2] = {0.05, 0.08}, pad_hi[2] = {0.35, 0.08};
    const double line = 1.0 / 24, chr = 1.0 / 90;      /* in units of the graph */
    for (size_t i = 0; i < n; i++) {
        level[i] = 0;
        if (!kept[i])
            continue;
        for (int a = 0; a < 2; a++) {
            double f = hi[a] > lo[a] ? (u[2 * i + a] - lo[a]) / (hi[a] - lo[a]) : 0.5;
            u[2 * i + a] = (f + pad_lo[a]) / (1 + pad_lo[a] + pad_hi[a]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!kept[i])
            continue;
        double x0 = u[2 * i] + chr, x1 = x0 + chr * (double)strlen(text[i]);
        for (int k = 0; k < N_LABEL_OFFSETS; k++) {
            double yc = u[2 * i + 1] + label_offsets[k] * line;
            int clash = 0;
            for (size_t j = 0; j < i && !clash; j++) {
                if (!kept[j])
                    continue;
                double a0 = u[2 * j] + chr, a1 = a0 + chr * (double)strlen(text[j]);
                double yj = u[2 * j + 1] + label_offsets[level[j]] * line;
                clash = a0 < x1 && x0 < a1 && fabs(yj - yc) < line;
            }
            if (!clash) {
                level[i] = k;
                break;
            }
        }
    }
    free(u);
}

static int scatter_one(struct plot_ctx *ctx, const char *suite, const char *split, int several,
                       struct lethe_error *err)
{
    const struct plot_options *opt = ctx->opt;
    const char *variant = opt->variant ? opt->variant : "base";
    if (plot_check_metric(ctx->st, suite, split, variant, opt->x, err) < 0 ||
        plot_check_metric(ctx->st, suite, split, variant, opt->y, err) < 0)
        return -err->code;
    struct plot_groups gs;
    plot_groups_init(&gs, 2);
    int rc = scatter_gather(ctx, suite, split, variant, &gs, err);
    if (rc < 0) {
        plot_groups_release(&gs);
        return rc;
    }
    const char *parts[] = {suite, split, strcmp(variant, "base") ? variant : NULL, "scatter"};
    char *stem = plot_stem(opt->name, split, several, parts, 4);

    /* the data file: one block (gnuplot index) per kind of point, empty kinds left out */
    struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT, plot = STRBUF_INIT, what = STRBUF_INIT;
    plot_comment(&dat, "lethe plot scatter: suite '%s', split '%s', variant '%s'", suite, split,
                 variant);
    plot_comment(&dat, "x = '%s', y = '%s': mean and sample sd over seeds (sd 0 for one seed)",
                 opt->x, opt->y);
    plot_comment(&dat, "columns: 1 x_mean, 2 x_sd, 3 y_mean, 4 y_sd, 5 seeds, 6 label number "
                 "(the label's text is in the script's array 'label' and after each line), "
                 "7 label level (its vertical offset, so that labels do not overlap)");
    const char **labels = xcalloc(gs.n ? gs.n : 1, sizeof(*labels));
    size_t n_labels = 0;
    /* where each label goes: from every point drawn, the references first */
    double *px = xcalloc(gs.n + 1, sizeof(double)), *py = xcalloc(gs.n + 1, sizeof(double));
    int *pk = xcalloc(gs.n + 1, sizeof(int)), *lv = xcalloc(gs.n + 1, sizeof(int));
    const char **pl = xcalloc(gs.n + 1, sizeof(*pl));
    size_t np = 0, *slot = xcalloc(gs.n + 1, sizeof(size_t));
    for (int kind = 0; kind <= PLOT_REF_NONE; kind++)
        for (size_t i = 0; i < gs.n; i++) {
            if ((int)gs.g[i].ref != kind)
                continue;
            px[np] = plot_mean(&gs.g[i].s[0]);
            py[np] = plot_mean(&gs.g[i].s[1]);
            pk[np] = (!opt->logx || px[np] > 0) && (!opt->logy || py[np] > 0) &&
                     isfinite(px[np]) && isfinite(py[np]);
            pl[np] = gs.g[i].label;
            slot[i] = np++;
        }
    label_levels(px, py, pl, pk, np, opt->logx, opt->logy, lv);
    int used[PLOT_REF_NONE + 1][N_LABEL_OFFSETS];
    memset(used, 0, sizeof(used));
    int block = 0, kept = 0;
    size_t max_seeds = 0;
    for (int kind = PLOT_REF_NONE; kind >= 0; kind--) {
        /* methods first (index 0), so that the reference points are drawn over them */
        size_t in_block = 0;
        for (size_t i = 0; i < gs.n; i++) {
            struct plot_group *g = &gs.g[i];
            if ((int)g->ref != kind)
                continue;
            double xm = plot_mean(&g->s[0]), ym = plot_mean(&g->s[1]);
            if ((opt->logx && !(xm > 0)) || (opt->logy && !(ym > 0))) {
                const char *axis = opt->logx && !(xm > 0) ? opt->x : opt->y;
                double v = opt->logx && !(xm > 0) ? xm : ym;
                lethe_log(LETHE_LOG_WARN, "figure '%s': '%s' left out: its mean %s is %g, not "
                          "positive on a log axis", stem, g->label, axis, v);
                plot_comment(&dat, "left out: '%s' (mean %s = %.12g is not positive on a log axis)",
                             g->label, axis, v);
                continue;
            }
            if (!in_block++) {
                strbuf_adds(&dat, block ? "\n\n" : "");
                plot_comment(&dat, "index %d: %s", block, block_titles[kind]);
            }
            plot_dat_number(&dat, xm);
            strbuf_adds(&dat, " ");
            plot_dat_number(&dat, plot_sd(&g->s[0]));
            strbuf_adds(&dat, " ");
            plot_dat_number(&dat, ym);
            strbuf_adds(&dat, " ");
            plot_dat_number(&dat, plot_sd(&g->s[1]));
            labels[n_labels++] = g->label;
            strbuf_addf(&dat, " %zu %zu %d  ", g->s[0].n, n_labels, lv[slot[i]]);
            used[kind][lv[slot[i]]] = 1;
            plot_comment(&dat, "'%s'", g->label);
            if (g->s[0].n > max_seeds)
                max_seeds = g->s[0].n;
            kept++;
        }
        if (!in_block)
            continue;
        static const char *const style[] = {
            "pt 5 ps 2.2 lc rgb '#000000'",     /* original: black square */
            "pt 9 ps 2.6 lc rgb '#D55E00'",     /* retrain: vermilion triangle */
            "pt 7 ps 1.8 lc rgb '#0072B2'",     /* methods: blue circles */
        };
        static const char *const label_colour[] = {"#000000", "#D55E00", "#333333"};
        strbuf_addf(&plot, "%s     dat index %d using 1:3%s with %s %s title ",
                    plot.len ? ", \\\n" : "", block, opt->errorbars ? ":2:4" : "",
                    opt->errorbars ? "xyerrorbars" : "points", style[kind]);
        plot_gp_text(&plot, block_titles[kind]);
        for (int k = 0; k < N_LABEL_OFFSETS; k++)
            if (used[kind][k])
                strbuf_addf(&plot, ", \\\n     dat index %d using 1:(int($7) == %d ? $3 : NaN):"
                            "(label[int($6)]) with labels left offset char 1,%.1f tc rgb '%s' "
                            "noenhanced notitle", block, k, label_offsets[k], label_colour[kind]);
        block++;
    }
    if (!kept) {
        rc = lethe_err(err, LETHE_EINPUT, "figure '%s': no point left to draw: every mean is "
                       "non-positive on the log axis", stem);
        goto out;
    }

    strbuf_addf(&what, "lethe plot scatter: %s against %s, suite '%s', split '%s', variant '%s'",
                opt->y, opt->x, suite, split, variant);
    plot_script_head(&gp, ctx, stem, what.buf);
    strbuf_adds(&gp, "\nset title ");
    struct strbuf t = STRBUF_INIT;
    strbuf_addf(&t, "%s, %s%s%s", suite, split, strcmp(variant, "base") ? ", variant " : "",
                strcmp(variant, "base") ? variant : "");
    if (max_seeds > 1)
        strbuf_addf(&t, " (means over up to %zu seeds%s)", max_seeds,
                    opt->errorbars ? ", error bars: sd" : "");
    plot_gp_text(&gp, t.buf);
    strbuf_release(&t);
    strbuf_adds(&gp, "\nset xlabel ");
    struct strbuf lab = STRBUF_INIT;
    if (opt->xlabel)
        strbuf_adds(&lab, opt->xlabel);
    else
        plot_axis_label(&lab, opt->x, opt->logx);
    plot_gp_text(&gp, lab.buf);
    strbuf_reset(&lab);
    strbuf_adds(&gp, "\nset ylabel ");
    if (opt->ylabel)
        strbuf_adds(&lab, opt->ylabel);
    else
        plot_axis_label(&lab, opt->y, opt->logy);
    plot_gp_text(&gp, lab.buf);
    strbuf_release(&lab);
    strbuf_adds(&gp, "\n");
    if (opt->logx)
        plot_gp_logscale(&gp, 'x');
    if (opt->logy)
        plot_gp_logscale(&gp, 'y');
    strbuf_adds(&gp, "set key below horizontal samplen 1 spacing 1.2\n"
                     "# room for the labels right of the points\n"
                     "set offsets graph 0.05, graph 0.35, graph 0.08, graph 0.08\n\n"
                     "# the point labels; column 6 of the data is the number of a point's label\n");
    plot_gp_labels(&gp, labels, n_labels);
    strbuf_addf(&gp, "\nplot \\\n%s\n", plot.buf);
    rc = plot_render(ctx, stem, &gp, &dat, err);
out:
    strbuf_release(&dat);
    strbuf_release(&gp);
    strbuf_release(&plot);
    strbuf_release(&what);
    free(stem);
    free(labels);
    free(px);
    free(py);
    free(pk);
    free(lv);
    free(pl);
    free(slot);
    plot_groups_release(&gs);
    return rc;
}

int plot_scatter(struct store *st, const struct plot_options *opt, char **image,
                 struct lethe_error *err)
{
    if (image)
        *image = NULL;
    struct lethe_error local = {0};
    if (!err)
        err = &local;   /* the helpers below report through err */
    struct plot_ctx ctx;
    int rc = plot_ctx_init(&ctx, st, opt, err);
    if (rc == 0 && (!opt->x || !*opt->x || !opt->y || !*opt->y))
        rc = lethe_err(err, LETHE_EUSAGE, "a scatter needs two metrics (--x and --y)");
    char *suite = NULL, **splits = NULL;
    size_t n_splits = 0;
    if (rc == 0)
        rc = plot_pick_suite(st, opt->suite, &suite, err);
    if (rc == 0)
        rc = plot_pick_splits(st, suite, opt->split, &splits, &n_splits, err);
    /* a metric missing from the whole suite is one error, not a warning per split */
    const char *variant = opt->variant ? opt->variant : "base";
    if (rc == 0 && n_splits > 1)
        rc = plot_check_metric(st, suite, NULL, variant, opt->x, err);
    if (rc == 0 && n_splits > 1)
        rc = plot_check_metric(st, suite, NULL, variant, opt->y, err);
    for (size_t i = 0; rc == 0 && i < n_splits; i++)
        rc = plot_each_split(scatter_one(&ctx, suite, splits[i], n_splits > 1, err), &ctx, splits[i],
                             n_splits > 1, i + 1 == n_splits, err);
    if (rc == 0)
        plot_ctx_images(&ctx, image);
    plot_strings_free(splits, n_splits);
    free(suite);
    plot_ctx_release(&ctx);
    return rc < 0 ? rc : 0;
}
