/* lethe plot: figures (PNG/SVG/PDF) from a results database with gnuplot: scatter of two
 * metrics, grouped bars of a metric per variant, curves from the curves table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/harness.h"
#include "results/results.h"

/* Splits a comma-separated list into owned strings; a usage error for an empty item. */
static int split_list(const char *opt, const char *s, char ***out, size_t *n, struct lethe_error *err)
{
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!len) {
            for (size_t i = 0; i < cnt; i++)
                free(v[i]);
            free(v);
            return lethe_err(err, LETHE_EUSAGE, "%s: empty item in '%s'", opt, s);
        }
        xgrow(&v, &cap, cnt + 1, sizeof(*v));
        v[cnt++] = xstrndup(p, len);
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = v;
    *n = cnt;
    return 0;
}

/* An option given that the figure kind does not use is a usage error. */
static int reject(const char *kind, const char *name, int given, struct lethe_error *err)
{
    if (!given)
        return 0;
    return lethe_err(err, LETHE_EUSAGE, "option '--%s' does not apply to 'lethe plot %s'", name, kind);
}

int cmd_plot(int argc, char **argv)
{
    const char *db = LETHE_DEFAULT_DB, *out = "figures", *format = "png", *name = NULL;
    const char *suite = NULL, *split = NULL, *x = NULL, *y = NULL, *metric = NULL;
    const char *variants = NULL, *variant = NULL, *curve = NULL, *method = NULL;
    const char *xlabel = NULL, *ylabel = NULL;
    int logx = 0, logy = 0, errorbars = 0;
    const struct cli_opt opts[] = {
        {"db", CLI_STR, &db, NULL},         {"out", CLI_STR, &out, NULL},
        {"format", CLI_STR, &format, NULL}, {"name", CLI_STR, &name, NULL},
        {"suite", CLI_STR, &suite, NULL},   {"split", CLI_STR, &split, NULL},
        {"x", CLI_STR, &x, NULL},           {"y", CLI_STR, &y, NULL},
        {"logx", CLI_FLAG, NULL, &logx},    {"logy", CLI_FLAG, NULL, &logy},
        {"errorbars", CLI_FLAG, NULL, &errorbars},
        {"metric", CLI_STR, &metric, NULL}, {"variants", CLI_STR, &variants, NULL},
        {"variant", CLI_STR, &variant, NULL},
        {"curve", CLI_STR, &curve, NULL},   {"method", CLI_STR, &method, NULL},
        {"xlabel", CLI_STR, &xlabel, NULL}, {"ylabel", CLI_STR, &ylabel, NULL},
        {NULL, CLI_STR, NULL, NULL},
    };
    struct lethe_error err = {0};
    char **pos = NULL;
    int npos = 0;
    int rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    const char *kind = npos > 0 ? pos[0] : NULL;
    if (npos != 1 || (strcmp(kind, "scatter") && strcmp(kind, "bars") && strcmp(kind, "curves"))) {
        free(pos);
        if (!kind)
            return cli_usage_error("which figure? 'lethe plot scatter|bars|curves' (see 'lethe plot --help')");
        if (npos > 1)
            return cli_usage_error("unexpected argument '%s' (see 'lethe plot --help')", pos[1]);
        return cli_usage_error("unknown figure '%s': expected scatter, bars or curves", kind);
    }
    int fmt = plot_format_parse(format);
    if (fmt < 0) {
        free(pos);
        return cli_usage_error("--format: expected png, svg or pdf, got '%s'", format);
    }
    int is_scatter = !strcmp(kind, "scatter"), is_bars = !strcmp(kind, "bars");
    int is_curves = !strcmp(kind, "curves");
    if (reject(kind, "x", x && !is_scatter, &err) < 0 ||
        reject(kind, "y", y && !is_scatter, &err) < 0 ||
        reject(kind, "errorbars", errorbars && !is_scatter, &err) < 0 ||
        reject(kind, "variant", variant && !is_scatter, &err) < 0 ||
        reject(kind, "logx", logx && is_bars, &err) < 0 ||
        reject(kind, "logy", logy && is_bars, &err) < 0 ||
        reject(kind, "metric", metric && !is_bars, &err) < 0 ||
        reject(kind, "variants", variants && !is_bars, &err) < 0 ||
        reject(kind, "curve", curve && !is_curves, &err) < 0 ||
        reject(kind, "method", method && !is_curves, &err) < 0) {
        free(pos);
        cli_error(&err);
        return 2;
    }
    if (is_scatter && (!x || !y)) {
        free(pos);
        return cli_usage_error("'lethe plot scatter' needs --x METRIC and --y METRIC");
    }
    if (is_bars && !metric) {
        free(pos);
        return cli_usage_error("'lethe plot bars' needs --metric METRIC");
    }
    if (is_curves && !curve) {
        free(pos);
        return cli_usage_error("'lethe plot curves' needs --curve NAME");
    }
    char **vlist = NULL;
    size_t n_vlist = 0;
    if (variants && split_list("--variants", variants, &vlist, &n_vlist, &err) < 0) {
        free(pos);
        cli_error(&err);
        return 2;
    }
    struct plot_options po = {
        .out_dir = out, .name = name, .format = (enum plot_format)fmt,
        .suite = suite, .split = split, .x = x, .y = y, .logx = logx, .logy = logy,
        .metric = metric, .variants = (const char *const *)vlist, .n_variants = n_vlist,
        .curve = curve, .method = method, .variant = variant, .errorbars = errorbars,
        .xlabel = xlabel, .ylabel = ylabel,
    };
    int status = 0;
    struct store *st = store_open(db, STORE_READONLY, &err);
    char *images = NULL;
    if (!st) {
        cli_error(&err);
        status = lethe_exit_code(&err);
    } else {
        rc = is_scatter ? plot_scatter(st, &po, &images, &err)
             : is_bars  ? plot_bars(st, &po, &images, &err)
                        : plot_curves(st, &po, &images, &err);
        if (rc < 0) {
            cli_error(&err);
            status = lethe_exit_code(&err);
        } else {
            /* one "wrote PATH" line per image */
            for (char *p = images; p && *p;) {
                char *nl = strchr(p, '\n');
                printf("wrote %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
                p = nl ? nl + 1 : p + strlen(p);
            }
        }
    }
    free(images);
    store_close(st);
    for (size_t i = 0; i < n_vlist; i++)
        free(vlist[i]);
    free(vlist);
    free(pos);
    return status;
}
