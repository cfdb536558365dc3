/* lethe run: the jobs of a grid or a selection into a results DB (harness/run.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run_impl.h"

int cmd_run(int argc, char **argv)
{
    const char *grid = NULL, *suite = NULL, *method = NULL, *seed = NULL, *split = NULL;
    const char *config = LETHE_DEFAULT_CONFIG, *db = LETHE_DEFAULT_DB, *shard = NULL;
    const char *jobs = NULL, *cache = NULL, *plugin = NULL;
    int progress = 0;
    const struct cli_opt opts[] = {
        {"grid", CLI_STR, &grid, NULL},     {"suite", CLI_STR, &suite, NULL},
        {"method", CLI_STR, &method, NULL}, {"seed", CLI_STR, &seed, NULL},
        {"split", CLI_STR, &split, NULL},   {"config", CLI_STR, &config, NULL},
        {"db", CLI_STR, &db, NULL},         {"shard", CLI_STR, &shard, NULL},
        {"jobs", CLI_STR, &jobs, NULL},     {"cache", CLI_STR, &cache, NULL},
        {"progress", CLI_FLAG, NULL, &progress}, {"plugin", CLI_STR, &plugin, NULL},
        {NULL, CLI_STR, NULL, NULL},
    };
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    free(pos);
    if (npos > 0)
        return cli_usage_error("unexpected argument (see 'lethe run --help')");
    struct lethe_error err = {0};
    /* an out-of-tree method: loaded before suites.json is read, so that its name is known */
    if (plugin && !method_plugin_load(plugin, &err)) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    struct run_options o = {0};
    o.config_path = config;
    o.db_path = db;
    o.cache_dir = cache;
    o.grid = grid;
    o.suite = suite;
    o.method = method;
    o.split = split;
    o.progress = progress;
    o.jobs = 1;
    if (seed) {
        if (cli_seed(seed, &o.seed))
            return 2;
        o.has_seed = 1;
    }
    if (jobs) {
        long j;
        if (cli_long("--jobs", jobs, &j, &err) < 0 || j < 1 || j > 256) {
            if (!err.code)
                lethe_err(&err, LETHE_EUSAGE, "--jobs: '%s' is not between 1 and 256", jobs);
            cli_error(&err);
            return 2;
        }
        o.jobs = (int)j;
    }
    if (shard) {
        int i = 0, n = 0, used = 0;
        if (sscanf(shard, "%d/%d%n", &i, &n, &used) != 2 || shard[used] || n < 1 || i < 1 || i > n)
            return cli_usage_error("--shard: '%s' is not i/n with 1 <= i <= n", shard);
        o.shard_i = i;
        o.shard_n = n;
    }
    return run_main(&o);
}
