/* tool_mkdb: writes a sample results database through the store API, for the CLI tests of
 * leaderboard, compare, merge and plot (built as build/tests/tool_mkdb, not run as a test).
 *
 * usage: tool_mkdb OUT.db [--suite NAME] [--kind tofu|image] [--seeds N] [--seed-base N]
 *                         [--shift X] [--fail-at N]
 *
 *   --suite NAME    the suite name in every run (default: tofu_mini, or mnist_mini for --kind image)
 *   --kind K        tofu (default) or image: which metric names (METRICS.md sections 2 and 7)
 *   --seeds N       seeds per (split, method) (default 3)
 *   --seed-base N   the first seed (default 0): shards with disjoint seeds merge without overlap
 *   --shift X       adds X to every metric value (ci_low and ci_high too), so compare can be shown
 *                   a regression; 0 by default
 *   --fail-at N     arms store_inject_failure(N) after opening: the N-th write step fails
 *
 * What it writes, for each split (tofu: forget05, forget10; image: random_10, class_3) x method
 * (original, retrain, and 4 method configurations whose method_config_json carries "lr") x seed:
 * one 'done' run, with config_hash = sha256 of "suite|split|method_config_json" (so the same
 * run gets the same key in every database). Each run has metrics in the variants base, q8 and
 * q4_g64 (values deterministic pseudo-random but plausible: the same arguments give the same
 * numbers; tofu.forget_quality in (1e-20, 1], utilities in [0, 1], CIs on some metrics),
 * 20 sample_scores per variant, an unlearning-loss curve (retrain and original too) and one
 * model row. On success it prints "wrote R runs to OUT"; on error it prints the error and exits
 * with lethe's exit codes (1 for a failed write, 2 for bad input).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/harness.h"
#include "results/results.h"

struct mk_method {
    const char *name;
    const char *json;
    double forget;      /* how much is forgotten: 0 = the original, 1 = the retain oracle */
    double damage;      /* utility lost, in [0, 1] */
};

static const struct mk_method tofu_methods[] = {
    {"original", "{\"method\":\"original\"}", 0.0, 0.0},
    {"retrain", "{\"method\":\"retrain\"}", 1.0, 0.0},
    {"grad_ascent_lr1e-5", "{\"lr\":1e-05,\"method\":\"grad_ascent\"}", 0.9, 0.55},
    {"npo_lr1e-5", "{\"beta\":0.1,\"lr\":1e-05,\"method\":\"npo\"}", 0.6, 0.10},
    {"npo_lr5e-5", "{\"beta\":0.1,\"lr\":5e-05,\"method\":\"npo\"}", 0.85, 0.25},
    {"simnpo_lr1e-5", "{\"beta\":4.5,\"lr\":1e-05,\"method\":\"simnpo\"}", 0.75, 0.08},
};

static const struct mk_method image_methods[] = {
    {"original", "{\"method\":\"original\"}", 0.0, 0.0},
    {"retrain", "{\"method\":\"retrain\"}", 1.0, 0.0},
    {"finetune_retain_lr1e-4", "{\"epochs\":2,\"lr\":0.0001,\"method\":\"finetune_retain\"}", 0.4, 0.02},
    {"grad_ascent_lr1e-4", "{\"lr\":0.0001,\"method\":\"grad_ascent\"}", 0.95, 0.30},
    {"random_label_lr1e-4", "{\"lr\":0.0001,\"method\":\"random_label\"}", 0.8, 0.06},
    {"npo_gdr_lr1e-4", "{\"beta\":0.1,\"lr\":0.0001,\"method\":\"npo_gdr\"}", 0.7, 0.04},
};

static const char *const variants[] = {"base", "q8", "q4_g64"};
#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))

/* A uniform number in [0, 1) determined by the key (splitmix64 of its FNV-1a hash). */
static double mk_uniform(const char *fmt, ...) LETHE_PRINTF(1, 2);
static double mk_uniform(const char *fmt, ...)
{
    char key[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof(key), fmt, ap);
    va_end(ap);
    uint64_t z = fnv1a64(key) + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

struct mk_ctx {
    struct run_results *res;
    const char *key;        /* suite/split/method/seed */
    double shift;
};

/* One metric: value v plus seed noise, clamped to [lo, hi], then shifted; a CI of half-width
 * w around it when w > 0. */
static void put(struct mk_ctx *c, const char *variant, const char *split, const char *name, double v,
                double noise, double lo, double hi, double w, long n)
{
    v += noise * (mk_uniform("%s/%s/%s", c->key, variant, name) - 0.5);
    v = v < lo ? lo : v > hi ? hi : v;
    double cl = NAN, ch = NAN;
    if (w > 0) {
        cl = v - w * (0.8 + 0.4 * mk_uniform("%s/%s/%s/lo", c->key, variant, name));
        ch = v + w * (0.8 + 0.4 * mk_uniform("%s/%s/%s/hi", c->key, variant, name));
        cl = (cl < lo ? lo : cl) + c->shift;
        ch = (ch > hi ? hi : ch) + c->shift;
    }
    run_results_metric(c->res, variant, split, name, v + c->shift, cl, ch, n);
}

static void tofu_metrics(struct mk_ctx *c, const struct mk_method *m, const char *variant, int vi)
{
    /* quantization: q8 barely changes the model; q4_g64 brings forgotten knowledge partly back
     * and costs some utility (the quantization-recovery effect, ATTACKS.md 3) */
    double recover = vi == 2 ? 0.35 : vi == 1 ? 0.03 : 0.0;
    double f = m->forget >= 1 ? 1 : m->forget * (1 - recover);   /* the oracle has nothing to recover */
    double cost = vi == 2 ? 0.05 : vi == 1 ? 0.005 : 0.0;
    double util = 0.62 * (1 - m->damage) - cost;
    double fq_log10 = -(1 - f) * 18 - 0.2;     /* the oracle ~ 1, the original ~ 1e-18 */
    if (m->forget >= 1)
        fq_log10 = -0.4 * vi;
    fq_log10 += 1.0 * (mk_uniform("%s/%s/fq", c->key, variant) - 0.5);
    if (fq_log10 > 0)
        fq_log10 = 0;
    if (fq_log10 < -19.9)
        fq_log10 = -19.9;
    double fq = pow(10, fq_log10);
    run_results_metric(c->res, variant, "", "tofu.forget_quality", fq + c->shift, NAN, NAN, 400);
    run_results_metric(c->res, variant, "", "tofu.forget_quality_log10", fq_log10 + c->shift, NAN, NAN, 400);
    put(c, variant, "", "tofu.model_utility", util, 0.03, 0, 1, 0.02, -1);
    put(c, variant, "", "tofu.retain_utility", util + 0.05, 0.03, 0, 1, 0, -1);
    put(c, variant, "forget", "tofu.forget.rouge_l_recall", 0.95 - 0.55 * f - 0.3 * m->damage, 0.04, 0, 1, 0.03, 400);
    put(c, variant, "retain", "tofu.retain.rouge_l_recall", 0.90 - 0.6 * m->damage - cost, 0.04, 0, 1, 0.02, 3600);
    put(c, variant, "forget", "tofu.forget.prob", 0.9 - 0.75 * f, 0.03, 0, 1, 0.02, 400);
    put(c, variant, "retain", "tofu.retain.prob", 0.88 - 0.5 * m->damage - cost, 0.03, 0, 1, 0.02, 3600);
    put(c, variant, "forget", "tofu.forget.truth_ratio", 0.45 + 0.2 * f, 0.04, 0, 1, 0.02, 400);
    put(c, variant, "", "tofu.privleak", -95 * (1 - f), 6, -100, 100, 0, 400);
    put(c, variant, "forget", "tofu.mia.min_k.auc", 0.5 + 0.48 * (1 - f), 0.03, 0, 1, 0.02, 400);
}

static void image_metrics(struct mk_ctx *c, const struct mk_method *m, const char *variant, int vi)
{
    double recover = vi == 2 ? 0.3 : vi == 1 ? 0.02 : 0.0;
    double f = m->forget >= 1 ? 1 : m->forget * (1 - recover);
    double cost = vi == 2 ? 0.04 : vi == 1 ? 0.003 : 0.0;
    double test = 0.89 * (1 - m->damage) - cost;
    double forget_acc = 0.995 - (0.995 - 0.885) * f;
    put(c, variant, "forget", "image.forget.acc", forget_acc, 0.01, 0, 1, 0.01, 6000);
    put(c, variant, "retain", "image.retain.acc", 0.995 * (1 - m->damage) - cost, 0.005, 0, 1, 0.003, 54000);
    put(c, variant, "test", "image.test.acc", test, 0.01, 0, 1, 0.006, 10000);
    put(c, variant, "forget", "image.forget.macro_f1", forget_acc - 0.01, 0.01, 0, 1, 0.01, 6000);
    put(c, variant, "test", "image.test.macro_f1", test - 0.01, 0.01, 0, 1, 0.006, 10000);
    put(c, variant, "forget", "image.mia.svm_rt.forget_member_rate", 0.8 - 0.2 * f, 0.03, 0, 1, 0, 6000);
    put(c, variant, "", "image.avg_gap", 0.04 * (1 - f) + 0.3 * m->damage + cost, 0.01, 0, 1, 0, -1);
    put(c, variant, "", "image.dist_to_oracle", 0.2 * (1 - f) + 0.2 * m->damage, 0.02, 0, 1, 0, 54000);
}

int main(int argc, char **argv)
{
    const char *suite = NULL, *kind = "tofu", *seeds_s = "3", *base_s = "0", *shift_s = "0", *fail_s = NULL;
    const struct cli_opt opts[] = {
        {"suite", CLI_STR, &suite, NULL},
        {"kind", CLI_STR, &kind, NULL},
        {"seeds", CLI_STR, &seeds_s, NULL},
        {"seed-base", CLI_STR, &base_s, NULL},
        {"shift", CLI_STR, &shift_s, NULL},
        {"fail-at", CLI_STR, &fail_s, NULL},
        {NULL, CLI_STR, NULL, NULL},
    };
    struct lethe_error err = {0};
    char **pos = NULL;
    int npos = 0;
    long n_seeds = 0, seed_base = 0, fail_at = 0;
    double shift = 0;
    int rc = cli_parse(argc, argv, opts, &pos, &npos, &err);
    if (rc == 1) {
        printf("usage: tool_mkdb OUT.db [--suite NAME] [--kind tofu|image] [--seeds N] [--seed-base N]\n"
               "                        [--shift X] [--fail-at N]\n");
        return 0;
    }
    if (rc == 0 && npos != 1)
        rc = lethe_err(&err, LETHE_EUSAGE, "expected one output database (see 'tool_mkdb --help')");
    if (rc == 0 && strcmp(kind, "tofu") != 0 && strcmp(kind, "image") != 0)
        rc = lethe_err(&err, LETHE_EUSAGE, "--kind: expected tofu or image, not '%s'", kind);
    if (rc == 0)
        rc = cli_long("--seeds", seeds_s, &n_seeds, &err);
    if (rc == 0)
        rc = cli_long("--seed-base", base_s, &seed_base, &err);
    if (rc == 0)
        rc = cli_double("--shift", shift_s, &shift, &err);
    if (rc == 0 && fail_s)
        rc = cli_long("--fail-at", fail_s, &fail_at, &err);
    if (rc == 0 && (n_seeds < 1 || n_seeds > 1000))
        rc = lethe_err(&err, LETHE_EUSAGE, "--seeds: expected 1 to 1000, not %ld", n_seeds);
    if (rc < 0) {
        free(pos);
        fprintf(stderr, "tool_mkdb: error: %s\n", err.msg);
        return lethe_exit_code(&err);
    }
    int image = strcmp(kind, "image") == 0;
    if (!suite)
        suite = image ? "mnist_mini" : "tofu_mini";
    const char *out = pos[0];
    free(pos);

    struct store *st = store_open(out, STORE_CREATE, &err);
    if (!st) {
        fprintf(stderr, "tool_mkdb: error: %s\n", err.msg);
        return lethe_exit_code(&err);
    }
    if (fail_at > 0)
        store_inject_failure(st, fail_at);
    const struct mk_method *methods = image ? image_methods : tofu_methods;
    size_t n_methods = image ? sizeof(image_methods) / sizeof(image_methods[0])
                             : sizeof(tofu_methods) / sizeof(tofu_methods[0]);
    static const char *const tofu_splits[] = {"forget05", "forget10"};
    static const char *const image_splits[] = {"random_10", "class_3"};
    const char *const *splits = image ? image_splits : tofu_splits;
    long runs = 0;
    rc = 0;
    for (size_t si = 0; si < 2 && rc == 0; si++) {
        for (size_t mi = 0; mi < n_methods && rc == 0; mi++) {
            const struct mk_method *m = &methods[mi];
            char cfg[512], hash[65];
            snprintf(cfg, sizeof(cfg), "%s|%s|%s", suite, splits[si], m->json);
            sha256_hex(cfg, strlen(cfg), hash);
            for (long s = seed_base; s < seed_base + n_seeds && rc == 0; s++) {
                struct run_info ri = {.grid = "sample", .suite = suite, .split = splits[si],
                                      .method = m->name, .method_config_json = m->json, .seed = s,
                                      .config_hash = hash, .threads = 1};
                int64_t id;
                rc = store_begin_run(st, &ri, &id, &err);
                if (rc < 0)
                    break;
                if (rc == STORE_RUN_DONE) {
                    rc = 0;
                    continue;
                }
                char key[512];
                snprintf(key, sizeof(key), "%s/%s/%s/%ld", suite, splits[si], m->name, s);
                struct mk_ctx c = {run_results_new(), key, shift};
                for (size_t vi = 0; vi < N_VARIANTS; vi++) {
                    if (image)
                        image_metrics(&c, m, variants[vi], (int)vi);
                    else
                        tofu_metrics(&c, m, variants[vi], (int)vi);
                    const char *sname = image ? "image.mia.loss.score" : "tofu.forget.truth_ratio";
                    for (long i = 0; i < 20; i++)
                        run_results_sample(c.res, variants[vi], "forget", sname, i,
                                           clamp01(0.3 + 0.5 * (1 - m->forget) * mk_uniform("%s/%s/s%ld", key, variants[vi], i)
                                                   + 0.2 * mk_uniform("%s/%s/t%ld", key, variants[vi], i)));
                }
                for (long step = 0; step <= 10; step++) {
                    double loss = 2.0 + m->forget * 3.0 * (1 - exp(-0.3 * (double)step))
                                  + 0.05 * mk_uniform("%s/curve/%ld", key, step);
                    run_results_curve(c.res, "unlearn.forget_loss", step * 10, (double)(step * 10), loss);
                }
                double wall = 10 + 50 * mk_uniform("%s/wall", key);
                rc = store_finish_run(st, id, c.res, wall, &err);
                run_results_free(c.res);
                if (rc == 0)
                    runs++;
            }
        }
    }
    if (rc == 0) {
        char hash[65], path[256];
        snprintf(path, sizeof(path), "%s|original|%ld", suite, seed_base);
        sha256_hex(path, strlen(path), hash);
        snprintf(path, sizeof(path), "cache/%.16s.safetensors", hash);
        rc = store_put_model(st, hash, path, "original", suite, seed_base, 120.0, &err);
    }
    store_close(st);
    if (rc < 0) {
        fprintf(stderr, "tool_mkdb: error: %s\n", err.msg);
        return lethe_exit_code(&err);
    }
    printf("wrote %ld runs to %s\n", runs, out);
    return 0;
}
