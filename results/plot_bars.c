/* lethe plot bars: one metric as grouped bars, one group per method configuration, one bar per
 * variant (the quantization-recovery figure: base vs q8 vs q4_g64), mean over seeds with sd. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results/plot_impl.h"

/* The variants to draw: the given ones (each must have the metric), or every variant with the
 * metric, "base" first and the rest in the order they were first written (the order the suite's
 * attacks run in). Returned in *out; free with plot_strings_free. */
static int bars_variants(struct plot_ctx *ctx, const char *suite, const char *split,
                         char ***out, size_t *n, struct lethe_error *err)
{
    const struct plot_options *opt = ctx->opt;
    sqlite3_stmt *s = plot_sql(ctx->st,
        "SELECT m.variant FROM metrics m JOIN runs r ON r.id = m.run_id "
        "WHERE r.status = 'done' AND r.suite = ?1 AND r.split = ?2 AND m.name = ?3 "
        "AND m.value IS NOT NULL GROUP BY m.variant "
        "ORDER BY m.variant <> 'base', MIN(m.rowid), m.variant", err);
    if (!s)
        return -err->code;
    sqlite3_bind_text(s, 1, suite, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, split, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, opt->metric, -1, SQLITE_STATIC);
    char **have = NULL;
    size_t n_have = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow(&have, &cap, n_have + 1, sizeof(*have));
        have[n_have++] = xstrdup(plot_col_text(s, 0));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        plot_strings_free(have, n_have);
        return store_sqlite_err(ctx->st, LETHE_EIO, "cannot read the figure's data", err);
    }
    if (!n_have) {
        plot_strings_free(have, n_have);
        return lethe_err(err, LETHE_EINPUT, "no finished run of suite '%s', split '%s' has a value "
                         "of '%s' in '%s'", suite, split, opt->metric, store_path(ctx->st));
    }
    if (!opt->variants || !opt->n_variants) {
        *out = have;
        *n = n_have;
        return 0;
    }
    for (size_t i = 0; i < opt->n_variants; i++) {
        size_t j = 0;
        while (j < n_have && strcmp(have[j], opt->variants[i]) != 0)
            j++;
        int dup = 0;
        for (size_t k = 0; k < i; k++)
            dup |= strcmp(opt->variants[k], opt->variants[i]) == 0;
        if (j == n_have || dup) {
            struct strbuf sb = STRBUF_INIT;
            for (size_t k = 0; k < n_have; k++)
                strbuf_addf(&sb, "%s%s", k ? ", " : "", have[k]);
            rc = dup ? lethe_err(err, LETHE_EUSAGE, "variant '%s' given twice", opt->variants[i])
                     : lethe_err(err, LETHE_EINPUT, "no variant '%s' with metric '%s' in suite '%s', "
                                 "split '%s' of '%s' (variants: %s)", opt->variants[i], opt->metric,
                                 suite, split, store_path(ctx->st), sb.buf);
            strbuf_release(&sb);
            plot_strings_free(have, n_have);
            return rc;
        }
    }
    plot_strings_free(have, n_have);
    *out = xcalloc(opt->n_variants, sizeof(**out));
    for (size_t i = 0; i < opt->n_variants; i++)
        (*out)[i] = xstrdup(opt->variants[i]);
    *n = opt->n_variants;
    return 0;
}

static int bars_gather(struct plot_ctx *ctx, const char *suite, const char *split,
                       char **variants, size_t n_variants, struct plot_groups *gs,
                       struct lethe_error *err)
{
    sqlite3_stmt *s = plot_sql(ctx->st,
        "SELECT r.method, r.config_hash, m.variant, m.value FROM runs r "
        "JOIN metrics m ON m.run_id = r.id AND m.name = ?3 "
        "WHERE r.status = 'done' AND r.suite = ?1 AND r.split = ?2 AND m.value IS NOT NULL "
        "ORDER BY r.method, r.config_hash, r.seed, r.id", err);
    if (!s)
        return -err->code;
    sqlite3_bind_text(s, 1, suite, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, split, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, ctx->opt->metric, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *variant = plot_col_text(s, 2);
        size_t v = 0;
        while (v < n_variants && strcmp(variants[v], variant) != 0)
            v++;
        if (v == n_variants)
            continue;
        struct plot_group *g = plot_groups_get(gs, plot_col_text(s, 0), plot_col_text(s, 1));
        plot_series_add(&g->s[v], sqlite3_column_double(s, 3));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sqlite_err(ctx->st, LETHE_EIO, "cannot read the figure's data", err);
    plot_groups_finish(gs);
    return 0;
}

static int bars_one(struct plot_ctx *ctx, const char *suite, const char *split, int several,
                    struct lethe_error *err)
{
    const struct plot_options *opt = ctx->opt;
    if (plot_check_metric(ctx->st, suite, split, NULL, opt->metric, err) < 0)
        return -err->code;
    char **variants = NULL;
    size_t n_variants = 0;
    int rc = bars_variants(ctx, suite, split, &variants, &n_variants, err);
    if (rc < 0)
        return rc;
    struct plot_groups gs;
    plot_groups_init(&gs, n_variants);
    rc = bars_gather(ctx, suite, split, variants, n_variants, &gs, err);
    if (rc < 0) {
        plot_groups_release(&gs);
        plot_strings_free(variants, n_variants);
        return rc;
    }
    const char *parts[] = {suite, split, opt->metric, "bars"};
    char *stem = plot_stem(opt->name, split, several, parts, 4);

    struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT, what = STRBUF_INIT, lab = STRBUF_INIT;
    plot_comment(&dat, "lethe plot bars: '%s', suite '%s', split '%s'", opt->metric, suite, split);
    plot_comment(&dat, "mean and sample sd over seeds (sd 0 for one seed; NaN: no value)");
    struct strbuf cols = STRBUF_INIT;
    strbuf_adds(&cols, "columns: 1 label number (its text is in the script's array 'label' and "
                "after each line)");
    for (size_t v = 0; v < n_variants; v++)
        strbuf_addf(&cols, ", %zu '%s' mean, %zu sd, %zu seeds", 2 + 3 * v, variants[v], 3 + 3 * v,
                    4 + 3 * v);
    plot_comment(&dat, "%s", cols.buf);
    strbuf_release(&cols);
    const char **labels = xcalloc(gs.n ? gs.n : 1, sizeof(*labels));
    double lo = 0;
    size_t n_refs = 0, longest = 0, max_seeds = 0;
    for (size_t i = 0; i < gs.n; i++) {
        struct plot_group *g = &gs.g[i];
        n_refs += g->ref != PLOT_REF_NONE;
        if (strlen(g->label) > longest)
            longest = strlen(g->label);
        labels[i] = g->label;
        strbuf_addf(&dat, "%zu", i + 1);
        for (size_t v = 0; v < n_variants; v++) {
            double m = plot_mean(&g->s[v]), sd = plot_sd(&g->s[v]);
            strbuf_adds(&dat, " ");
            plot_dat_number(&dat, m);
            strbuf_adds(&dat, " ");
            plot_dat_number(&dat, sd);
            strbuf_addf(&dat, " %zu", g->s[v].n);
            if (isfinite(m) && m - sd < lo)
                lo = m - sd;
            if (g->s[v].n > max_seeds)
                max_seeds = g->s[v].n;
        }
        strbuf_adds(&dat, "  ");
        plot_comment(&dat, "'%s'", g->label);
    }

    strbuf_addf(&what, "lethe plot bars: %s per method and variant, suite '%s', split '%s'",
                opt->metric, suite, split);
    plot_script_head(&gp, ctx, stem, what.buf);
    strbuf_adds(&gp, "\nset title ");
    strbuf_addf(&lab, "%s, %s", suite, split);
    if (max_seeds > 1)
        strbuf_addf(&lab, " (means over up to %zu seeds, error bars: sd)", max_seeds);
    plot_gp_text(&gp, lab.buf);
    strbuf_reset(&lab);
    strbuf_adds(&gp, "\nset ylabel ");
    if (opt->ylabel)
        strbuf_adds(&lab, opt->ylabel);
    else
        plot_axis_label(&lab, opt->metric, 0);
    plot_gp_text(&gp, lab.buf);
    strbuf_adds(&gp, "\n");
    if (opt->xlabel) {
        strbuf_adds(&gp, "set xlabel ");
        plot_gp_text(&gp, opt->xlabel);
        strbuf_adds(&gp, "\n");
    }
    strbuf_adds(&gp, "set style data histogram\n"
                     "set style histogram errorbars gap 1.5 lw 1\n"
                     "set style fill solid 0.9 border rgb '#333333'\n"
                     "set boxwidth 0.95 relative\n"
                     "set grid noxtics ytics\n"
                     "set xtics nomirror scale 0 noenhanced\n"
                     "set key top right horizontal samplen 1.5\n");
    if (gs.n > 6 || longest > 12)
        strbuf_adds(&gp, "set xtics rotate by 30 right\n");
    if (lo >= 0)
        strbuf_adds(&gp, "set yrange [0:*]\n");
    else
        strbuf_adds(&gp, "set xzeroaxis lt -1\n");
    strbuf_adds(&gp, "# room above the bars for the key\nset offsets 0, 0, graph 0.15, 0\n");
    if (n_refs && n_refs < gs.n)
        strbuf_addf(&gp, "# the reference runs (left) apart from the methods\n"
                    "set arrow from %zu - 0.5, graph 0 to %zu - 0.5, graph 1 nohead dt 2 "
                    "lc rgb '#888888'\n", n_refs, n_refs);
    strbuf_adds(&gp, "\n# the group labels; column 1 of the data is the number of a group's label\n");
    plot_gp_labels(&gp, labels, gs.n);
    free(labels);
    strbuf_adds(&gp, "\nplot \\\n");
    for (size_t v = 0; v < n_variants; v++) {
        strbuf_addf(&gp, "     %s using %zu:%zu%s lt %zu title ", v ? "''" : "dat", 2 + 3 * v,
                    3 + 3 * v, v ? "" : ":xtic(label[int($1)])", v + 1);
        plot_gp_text(&gp, variants[v]);
        strbuf_adds(&gp, v + 1 < n_variants ? ", \\\n" : "\n");
    }
    rc = plot_render(ctx, stem, &gp, &dat, err);
    strbuf_release(&dat);
    strbuf_release(&gp);
    strbuf_release(&what);
    strbuf_release(&lab);
    free(stem);
    plot_groups_release(&gs);
    plot_strings_free(variants, n_variants);
    return rc;
}

int plot_bars(struct store *st, const struct plot_options *opt, char **image,
              struct lethe_error *err)
{
    if (image)
        *image = NULL;
    struct lethe_error local = {0};
    if (!err)
        err = &local;   /* the helpers below report through err */
    struct plot_ctx ctx;
    int rc = plot_ctx_init(&ctx, st, opt, err);
    if (rc == 0 && (!opt->metric || !*opt->metric))
        rc = lethe_err(err, LETHE_EUSAGE, "bars need a metric (--metric)");
    char *suite = NULL, **splits = NULL;
    size_t n_splits = 0;
    if (rc == 0)
        rc = plot_pick_suite(st, opt->suite, &suite, err);
    if (rc == 0)
        rc = plot_pick_splits(st, suite, opt->split, &splits, &n_splits, err);
    /* a metric missing from the whole suite is one error, not a warning per split */
    if (rc == 0 && n_splits > 1)
        rc = plot_check_metric(st, suite, NULL, NULL, opt->metric, err);
    for (size_t i = 0; rc == 0 && i < n_splits; i++)
        rc = plot_each_split(bars_one(&ctx, suite, splits[i], n_splits > 1, err), &ctx, splits[i],
                             n_splits > 1, i + 1 == n_splits, err);
    if (rc == 0)
        plot_ctx_images(&ctx, image);
    plot_strings_free(splits, n_splits);
    free(suite);
    plot_ctx_release(&ctx);
    return rc < 0 ? rc : 0;
}
