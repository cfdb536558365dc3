/* lethe merge: merges shard results databases into one (results/merge.c does the work). */
#include <stdio.h>
#include <stdlib.h>

#include "harness/harness.h"
#include "results/results.h"

int cmd_merge(int argc, char **argv)
{
    int force = 0;
    const struct cli_opt opts[] = {
        {"force", CLI_FLAG, NULL, &force},
        {NULL, CLI_STR, NULL, NULL},
    };
    struct lethe_error err = {0};
    char **pos = NULL;
    int npos = 0;
    int rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    if (npos < 2) {
        free(pos);
        return cli_usage_error("expected OUT.db and at least one IN.db (see 'lethe merge --help')");
    }
    struct strbuf log = STRBUF_INIT;
    const char *const *inputs = (const char *const *)(pos + 1);
    rc = merge_dbs(pos[0], inputs, (size_t)npos - 1, force, &log, &err);
    fputs(log.buf ? log.buf : "", rc < 0 ? stderr : stdout);
    if (rc < 0) {
        cli_error(&err);
        rc = lethe_exit_code(&err);
    } else {
        printf("merged %d runs from %d database%s into '%s'\n", rc, npos - 1, npos == 2 ? "" : "s", pos[0]);
        rc = 0;
    }
    strbuf_release(&log);
    free(pos);
    return rc;
}
