/* lethe leaderboard: ranks method configurations per suite and split (results/leaderboard.c
 * does the work; this reads the options and the suites' headline metrics from suites.json). */
#include <stdio.h>
#include <stdlib.h>

#include "harness/harness.h"
#include "results/results.h"

int cmd_leaderboard(int argc, char **argv)
{
    const char *db = LETHE_DEFAULT_DB, *config = NULL, *suite = NULL, *split = NULL;
    const char *variant = NULL, *format = "table";
    const struct cli_opt opts[] = {
        {"db", CLI_STR, &db, NULL},
        {"config", CLI_STR, &config, NULL},
        {"suite", CLI_STR, &suite, NULL},
        {"split", CLI_STR, &split, NULL},
        {"variant", CLI_STR, &variant, NULL},
        {"format", CLI_STR, &format, NULL},
        {NULL, CLI_STR, NULL, NULL},
    };
    struct lethe_error err = {0};
    char **pos = NULL;
    int npos = 0;
    int rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    if (npos > 0) {
        rc = cli_usage_error("unexpected argument '%s' (see 'lethe leaderboard --help')", pos[0]);
        free(pos);
        return rc;
    }
    free(pos);
    int fmt = lb_format_parse(format);
    if (fmt < 0)
        return cli_usage_error("--format: expected table, csv, md or json, got '%s'", format);

    /* the suites' headline metrics; without a suites.json (the default one absent) every
     * metric is a column */
    struct config *cfg = NULL;
    if (config || file_exists(LETHE_DEFAULT_CONFIG)) {
        cfg = config_load(config ? config : LETHE_DEFAULT_CONFIG, &err);
        if (!cfg) {
            cli_error(&err);
            return lethe_exit_code(&err);
        }
    }
    struct suite_view *views = NULL;
    size_t nv = cfg ? cfg->n_suites : 0;
    if (nv) {
        views = xcalloc(nv, sizeof(*views));
        for (size_t i = 0; i < nv; i++) {
            const struct suite_cfg *s = &cfg->suites[i];
            views[i].suite = s->name;
            views[i].headline = (const char *const *)s->headline;
            views[i].n_headline = s->n_headline;
            views[i].rank_by = s->rank_by;
        }
    }

    struct store *st = store_open(db, STORE_READONLY, &err);
    if (!st) {
        cli_error(&err);
        free(views);
        config_free(cfg);
        return lethe_exit_code(&err);
    }
    struct lb_options o = {.suite = suite, .split = split, .variant = variant,
                           .format = (enum lb_format)fmt, .views = views, .n_views = nv};
    struct strbuf out = STRBUF_INIT;
    rc = leaderboard_render(st, &o, &out, &err);
    if (rc < 0) {
        cli_error(&err);
        rc = lethe_exit_code(&err);
    } else {
        fputs(out.buf ? out.buf : "", stdout);
        if (rc == 0) {
            /* an empty database: not an error */
            FILE *f = fmt == LB_TABLE || fmt == LB_MD ? stdout : stderr;
            fprintf(f, "no runs in '%s'%s\n", db, fmt == LB_TABLE || fmt == LB_MD ? "" : " (nothing to rank)");
        }
        rc = 0;
    }
    strbuf_release(&out);
    store_close(st);
    free(views);
    config_free(cfg);
    return rc;
}
