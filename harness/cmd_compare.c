/* lethe compare: the nightly regression check between two results databases
 * (results/compare.c does the work). Exit 1 when anything regressed. */
#include <stdio.h>
#include <stdlib.h>

#include "harness/harness.h"
#include "results/results.h"

int cmd_compare(int argc, char **argv)
{
    const char *tolerance = NULL, *format = "table";
    int quiet = 0;
    const struct cli_opt opts[] = {
        {"tolerance", CLI_STR, &tolerance, NULL},
        {"format", CLI_STR, &format, NULL},
        {"quiet", CLI_FLAG, NULL, &quiet},
        {NULL, CLI_STR, NULL, NULL},
    };
    struct lethe_error err = {0};
    char **pos = NULL;
    int npos = 0;
    int rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    if (npos != 2) {
        free(pos);
        return cli_usage_error("expected BASE.db and NEW.db (see 'lethe compare --help')");
    }
    int fmt = lb_format_parse(format);
    if (fmt < 0 || fmt == LB_MD) {
        free(pos);
        return cli_usage_error("--format: expected table, csv or json, got '%s'", format);
    }
    struct store *base = NULL, *neu = NULL;
    struct strbuf out = STRBUF_INIT;
    long regressions = 0;
    base = store_open(pos[0], STORE_READONLY, &err);
    if (base)
        neu = store_open(pos[1], STORE_READONLY, &err);
    if (!base || !neu) {
        cli_error(&err);
        rc = lethe_exit_code(&err);
        goto done;
    }
    struct compare_options o = {.tolerance_path = tolerance, .format = (enum lb_format)fmt,
                                .quiet = quiet};
    rc = compare_dbs_opt(base, neu, &o, &out, &regressions, &err);
    if (rc < 0) {
        cli_error(&err);
        rc = lethe_exit_code(&err);
        goto done;
    }
    fputs(out.buf ? out.buf : "", stdout);
    rc = regressions > 0 ? 1 : 0;
done:
    strbuf_release(&out);
    store_close(neu);
    store_close(base);
    free(pos);
    return rc;
}
