/* lethe train: a suite's reference model (original, retain oracle or the reference MIA's
 * model) to a safetensors file, from the cache of lethe run or trained there
 * (harness/run_tofu.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run_direct.h"

int cmd_train(int argc, char **argv)
{
    const char *suite = NULL, *split = NULL, *role = NULL, *seed = "0", *out = NULL;
    const char *config = LETHE_DEFAULT_CONFIG, *cache = NULL;
    const struct cli_opt opts[] = {
        {"suite", CLI_STR, &suite, NULL}, {"split", CLI_STR, &split, NULL},
        {"role", CLI_STR, &role, NULL},   {"seed", CLI_STR, &seed, NULL},
        {"out", CLI_STR, &out, NULL},     {"config", CLI_STR, &config, NULL},
        {"cache", CLI_STR, &cache, NULL}, {NULL, CLI_STR, NULL, NULL},
    };
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    free(pos);
    if (npos > 0)
        return cli_usage_error("unexpected argument (see 'lethe train --help')");
    if (!suite || !role || !out)
        return cli_usage_error("--suite, --role and --out are required (see 'lethe train --help')");
    if (strcmp(role, "original") != 0 && strcmp(role, "retrain") != 0 &&
        strcmp(role, "reference") != 0)
        return cli_usage_error("--role: '%s' is not original, retrain or reference", role);
    struct lethe_error err = {0};
    long s;
    if (cli_seed(seed, &s))
        return 2;
    struct direct d;
    struct gpt *m = NULL;
    rc = direct_open(config, cache, suite, split, &d, &err);
    if (rc == 0)
        rc = run_ref_model(d.rs, d.prep, role, s, &m, &err);
    char *path = NULL;
    char *text = NULL;
    size_t len = 0;
    if (rc == 0) {
        /* the cached file, byte for byte: its metadata names data, tokenizer and recipe */
        path = run_ref_model_path(d.rs, d.prep, role, s);
        rc = file_read_all(path, &text, &len, &err);
        if (rc == 0)
            rc = file_write_atomic(out, text, len, &err);
    }
    if (rc == 0) {
        char *tdir = path_join(".", out);
        printf("%s model of '%s' (%s, seed %ld) written to '%s' (%s)\n", role, suite,
               d.prep->split, s, out, d.rs->stats.trained ? "trained" : "from the cache");
        free(tdir);
    }
    direct_close(&d);
    free(text);
    free(path);
    if (rc < 0) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    return 0;
}
