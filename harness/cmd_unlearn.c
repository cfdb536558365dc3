/* lethe unlearn: one method configuration applied to a checkpoint, the unlearned checkpoint
 * written (harness/run_tofu.c runs the method as lethe run does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run_direct.h"

int cmd_unlearn(int argc, char **argv)
{
    const char *suite = NULL, *split = NULL, *method = NULL, *model = NULL, *out = NULL;
    const char *seed = "0", *config = LETHE_DEFAULT_CONFIG, *cache = NULL;
    const struct cli_opt opts[] = {
        {"suite", CLI_STR, &suite, NULL},   {"split", CLI_STR, &split, NULL},
        {"method", CLI_STR, &method, NULL}, {"model", CLI_STR, &model, NULL},
        {"out", CLI_STR, &out, NULL},       {"seed", CLI_STR, &seed, NULL},
        {"config", CLI_STR, &config, NULL}, {"cache", CLI_STR, &cache, NULL},
        {NULL, CLI_STR, NULL, NULL},
    };
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    free(pos);
    if (npos > 0)
        return cli_usage_error("unexpected argument (see 'lethe unlearn --help')");
    if (!suite || !method || !model || !out)
        return cli_usage_error("--suite, --method, --model and --out are required "
                               "(see 'lethe unlearn --help')");
    struct lethe_error err = {0};
    long s;
    if (cli_seed(seed, &s))
        return 2;
    struct direct d;
    struct gpt *orig = NULL, *m = NULL;
    const struct method_cfg *mc = NULL;
    rc = direct_open(config, cache, suite, split, &d, &err);
    if (rc == 0) {
        mc = config_method(d.cfg, method);
        if (!mc || mc->reference)
            rc = lethe_err(&err, LETHE_EINPUT, "%s: no method configuration '%s'%s", config, method,
                           mc ? " (a reference run, not a method)" : "");
    }
    if (rc == 0)
        rc = direct_load_model(&d, model, &orig, &err);
    if (rc == 0) {
        m = gpt_clone(orig);
        rc = run_tofu_unlearn(d.rs, d.prep, mc, orig, m, s, NULL, &err);
    }
    if (rc == 0) {
        struct safetensors_meta meta = {0};
        char buf[32];
        char *mjson = config_canonical_json(mc->json);
        safetensors_meta_set(&meta, "lethe.role", "unlearned");
        safetensors_meta_set(&meta, "lethe.split", d.prep->split);
        safetensors_meta_set(&meta, "lethe.method", mc->name);
        safetensors_meta_set(&meta, "lethe.method_config", mjson);
        safetensors_meta_set(&meta, "lethe.from", model);
        snprintf(buf, sizeof(buf), "%ld", s);
        safetensors_meta_set(&meta, "lethe.seed", buf);
        rc = direct_save_model(&d, out, m, &meta, &err);
        safetensors_meta_release(&meta);
        free(mjson);
    }
    if (rc == 0)
        printf("'%s' unlearned with %s (%s, seed %ld) in %.1fs, written to '%s'\n", model,
               mc->name, d.prep->split, s, d.rs->stats.t[PH_UNLEARN], out);
    gpt_free(orig);
    gpt_free(m);
    direct_close(&d);
    if (rc < 0) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    return 0;
}
