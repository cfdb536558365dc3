/* lethe eval: every metric of a suite on any GPT-2-format checkpoint, against the suite's retain
 * oracle (from the cache of lethe run, or --oracle FILE); printed, and recorded with --db. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run_direct.h"

/* The oracle of d for seed: the retain oracle of the cache, or the checkpoint at path. */
static int eval_oracle(struct direct *d, const char *path, long seed, struct tofu_oracle *o,
                       double **own_tr, struct lethe_error *err)
{
    *own_tr = NULL;
    if (!path) {
        int rc = run_tofu_oracle(d->rs, d->prep, seed, err);
        if (rc == 0)
            *o = d->prep->oracle;
        return rc;
    }
    struct gpt *m;
    int rc = direct_load_model(d, path, &m, err);
    if (rc < 0)
        return rc;
    struct metric_sink none = {0};
    rc = run_tofu_evaluate(d->rs, d->prep, m, seed, NULL, &none, -1, o, err);
    gpt_free(m);
    *own_tr = (double *)o->log_tr;
    return rc;
}

int cmd_eval_impl(int argc, char **argv, int attack)
{
    const char *suite = NULL, *split = NULL, *model = NULL, *db = NULL, *oracle = NULL;
    const char *seed = "0", *config = LETHE_DEFAULT_CONFIG, *cache = NULL, *name = NULL;
    const char *ref = NULL;
    struct cli_opt opts[] = {
        {"suite", CLI_STR, &suite, NULL},   {"split", CLI_STR, &split, NULL},
        {"model", CLI_STR, &model, NULL},   {"db", CLI_STR, &db, NULL},
        {"oracle", CLI_STR, &oracle, NULL}, {"seed", CLI_STR, &seed, NULL},
        {"config", CLI_STR, &config, NULL}, {"cache", CLI_STR, &cache, NULL},
        {"ref", CLI_STR, &ref, NULL},       {"attack", CLI_STR, &name, NULL},
        {NULL, CLI_STR, NULL, NULL},
    };
    if (!attack)
        opts[9].name = NULL;            /* lethe eval has no --attack */
    const char *cmd = attack ? "attack" : "eval";
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    free(pos);
    if (npos > 0)
        return cli_usage_error("unexpected argument (see 'lethe %s --help')", cmd);
    if (!suite || !model || (attack && !name))
        return cli_usage_error("--suite, --model%s are required (see 'lethe %s --help')",
                               attack ? " and --attack" : "", cmd);
    struct lethe_error err = {0};
    long s;
    if (cli_seed(seed, &s))
        return 2;
    long mia = -1;
    char prefix[96] = "";
    if (attack) {
        int k = mia_lm_lookup(name);
        if (k < 0) {
            const struct attack *a = attack_lookup(name);
            lethe_err(&err, a ? LETHE_ENOTYET : LETHE_EUSAGE, a
                      ? "--attack: '%s' is not available on a checkpoint yet (the language-model "
                        "MIAs are: loss, zlib, reference, min_k, min_k20, min_k_pp, gradnorm)"
                      : "--attack: no attack '%s' (see 'lethe list attacks')", name);
            cli_error(&err);
            return 2;
        }
        mia = (long)MIA_LM_BIT(k);
        snprintf(prefix, sizeof(prefix), "tofu.mia.%s.", name);
    }
    struct direct d;
    struct gpt *m = NULL;
    double *own_tr = NULL;
    struct tofu_oracle o = {0};
    struct direct_sink t = {STRBUF_INIT, attack ? prefix : NULL, NULL, 0};
    rc = direct_open(config, cache, suite, split, &d, &err);
    if (rc == 0)
        rc = direct_load_model(&d, model, &m, &err);
    if (rc == 0 && ref) {
        rc = direct_load_model(&d, ref, &d.prep->refm, &err);
        d.prep->refm_given = rc == 0;
        if (rc < 0)
            lethe_err_prefix(&err, "--ref");
    }
    if (rc == 0)
        rc = eval_oracle(&d, oracle, s, &o, &own_tr, &err);
    double t0 = run_now();
    if (rc == 0) {
        struct metric_sink sink;
        direct_sink_init(&t, &sink);
        if (db)
            t.res = run_results_new();
        rc = run_tofu_evaluate(d.rs, d.prep, m, s, &o, &sink, mia, NULL, &err);
    }
    if (rc == 0) {
        progress_clear(&d.rs->pg);
        fputs(t.out.buf ? t.out.buf : "", stdout);
        if (db) {
            int already = 0;
            char what[96];
            snprintf(what, sizeof(what), attack ? "attack:%s" : "eval", name);
            rc = direct_record(&d, db, what, model, m, t.res, run_now() - t0, &already, &err);
            if (rc == 0)
                printf(already ? "results: already in '%s'\n" : "results: %s\n", db);
        }
    }
    run_results_free(t.res);
    strbuf_release(&t.out);
    free(own_tr);
    gpt_free(m);
    direct_close(&d);
    if (rc < 0) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    return cmd_eval_impl(argc, argv, 0);
}
