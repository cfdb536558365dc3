/* lethe bench: engine throughput (training, scoring, generation) for standard configurations,
 * with the model FLOPs, the achieved GFLOP/s and MFU against an sgemm peak measured on the spot.
 * bench/torch_bench.py is the PyTorch peer with the same fields; `make bench` runs both. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/harness.h"
#include "nn/nn.h"

struct bench_result {
    const char *config;
    double train, score, generate;      /* tokens/s (samples/s for classifiers) */
    double flops_per_token, gflops, mfu, peak;
};

static double now_impl(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of reps timings of fn(ctx) after one warm-up call. */
static double median_time_impl(void (*fn)(void *), void *ctx, int reps)
{
    double t[64];
    if (reps > 64)
        reps = 64;
    fn(ctx);
    for (int i = 0; i < reps; i++) {
        double t0 = now_impl();
        fn(ctx);
        t[i] = now_impl() - t0;
    }
    qsort(t, (size_t)reps, sizeof(t[0]), cmp_double);
    return t[reps / 2];
}

/* The best GFLOP/s of a 1024^3 sgemm: the peak that MFU is measured against. */
static double sgemm_peak_impl(void)
{
    const int n = 1024;
    float *a = xmalloc((size_t)n * n * sizeof(float)), *b = xmalloc((size_t)n * n * sizeof(float));
    float *c = xmalloc((size_t)n * n * sizeof(float));
    struct nn_rng r;
    nn_rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)nn_rng_uniform(&r) - 0.5f;
        b[i] = (float)nn_rng_uniform(&r) - 0.5f;
    }
    double best = 0;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = now_impl();
        for (int k = 0; k < 4; k++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double g = 4 * 2.0 * n * n * (double)n / (now_impl() - t0) / 1e9;
        if (rep > 0 && g > best)   /* the first round warms up */
            best = g;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

struct gpt_bench {
    struct gpt *m;
    struct adamw opt;
    int *tokens, *targets, B, T;
    float *lp;
    int **prompts, *prompt_lens, *out, *out_lens;
    struct gen_config gc;
};

static void gpt_train_step(void *ctx)
{
    struct gpt_bench *b = ctx;
    struct nn_params *p = gpt_params(b->m);
    gpt_forward_loss(b->m, b->tokens, NULL, b->targets, b->B, b->T);
    nn_params_zero_grad(p);
    gpt_backward_loss(b->m);
    nn_clip_grad_norm(p, 1.0);
    adamw_step(&b->opt, p, 1e-4);
}

static void gpt_score_step(void *ctx)
{
    struct gpt_bench *b = ctx;
    gpt_forward(b->m, b->tokens, NULL, b->B, b->T);
    gpt_logprobs(b->m, b->targets, b->lp);
}

static void gpt_generate_step(void *ctx)
{
    struct gpt_bench *b = ctx;
    struct lethe_error err = {0};
    if (gpt_generate(b->m, (const int *const *)b->prompts, b->prompt_lens, b->B, &b->gc, b->out,
                     b->out_lens, NULL, &err) < 0)
        LETHE_BUG("bench generation failed: %s", err.msg);
}

static void bench_gpt_impl(const struct gpt_config *cfg, int B, int T, int reps, struct bench_result *r)
{
    struct gpt_bench b = {0};
    b.m = gpt_new(cfg, 1);
    b.B = B;
    b.T = T;
    nn_params_alloc_grad(gpt_params(b.m));
    adamw_init(&b.opt, gpt_params(b.m), NULL);
    gpt_reserve(b.m, B, T);
    b.tokens = xmalloc((size_t)B * T * sizeof(int));
    b.targets = xmalloc((size_t)B * T * sizeof(int));
    b.lp = xmalloc((size_t)B * T * sizeof(float));
    struct nn_rng rng;
    nn_rng_seed(&rng, 2);
    for (int i = 0; i < B * T; i++)
        b.tokens[i] = (int)(nn_rng_next(&rng) % (uint64_t)cfg->vocab);
    for (int i = 0; i < B * T; i++)
        b.targets[i] = (i % T) + 1 < T ? b.tokens[i + 1] : -1;
    double tt = median_time_impl(gpt_train_step, &b, reps);
    double ts = median_time_impl(gpt_score_step, &b, reps);
    /* generation: B prompts of T/2 tokens, 32 new tokens each, greedy, no EOS */
    int n_new = 32, plen = T / 2;
    b.prompts = xmalloc((size_t)B * sizeof(*b.prompts));
    b.prompt_lens = xmalloc((size_t)B * sizeof(int));
    for (int i = 0; i < B; i++) {
        b.prompts[i] = b.tokens + (size_t)i * T;
        b.prompt_lens[i] = plen;
    }
    b.out = xmalloc((size_t)B * n_new * sizeof(int));
    b.out_lens = xmalloc((size_t)B * sizeof(int));
    b.gc = (struct gen_config){.max_new_tokens = n_new, .eos_id = -1};
    double tg = median_time_impl(gpt_generate_step, &b, reps > 3 ? reps / 2 : 1);
    r->train = B * T / tt;
    r->score = B * T / ts;
    r->generate = B * n_new / tg;
    r->flops_per_token = gpt_flops_per_token(cfg, T);
    free(b.tokens);
    free(b.targets);
    free(b.lp);
    free(b.prompts);
    free(b.prompt_lens);
    free(b.out);
    free(b.out_lens);
    adamw_release(&b.opt);
    gpt_free(b.m);
}

struct mlp_bench {
    struct clf *m;
    struct adamw opt;
    float *x, *dlogits;
    int *labels, B, K;
};

static void mlp_train_step(void *ctx)
{
    struct mlp_bench *b = ctx;
    struct nn_params *p = clf_params(b->m);
    clf_forward(b->m, b->x, NULL, b->B, 0);
    clf_cross_entropy(b->dlogits, NULL, clf_logits(b->m), b->labels, NULL, b->B, b->K);
    nn_params_zero_grad(p);
    clf_backward(b->m, b->dlogits);
    adamw_step(&b->opt, p, 1e-3);
}

static void mlp_score_step(void *ctx)
{
    struct mlp_bench *b = ctx;
    clf_forward(b->m, b->x, NULL, b->B, 0);
    clf_cross_entropy(NULL, NULL, clf_logits(b->m), b->labels, NULL, b->B, b->K);
}

static void bench_mlp_impl(int reps, struct bench_result *r)
{
    struct clf_config cfg = clf_config_default(CLF_MLP);
    cfg.n_fc = 2;
    cfg.fc[0] = 1024;
    cfg.fc[1] = 1024;
    cfg.n_classes = 10;
    struct mlp_bench b = {0};
    b.B = 256;
    b.K = 10;
    b.m = clf_new(&cfg, 1);
    nn_params_alloc_grad(clf_params(b.m));
    adamw_init(&b.opt, clf_params(b.m), NULL);
    clf_reserve(b.m, b.B, 0);
    int D = cfg.in_c * cfg.in_h * cfg.in_w;
    b.x = xmalloc((size_t)b.B * D * sizeof(float));
    b.dlogits = xmalloc((size_t)b.B * b.K * sizeof(float));
    b.labels = xmalloc((size_t)b.B * sizeof(int));
    struct nn_rng rng;
    nn_rng_seed(&rng, 3);
    for (size_t i = 0; i < (size_t)b.B * D; i++)
        b.x[i] = (float)nn_rng_uniform(&rng);
    for (int i = 0; i < b.B; i++)
        b.labels[i] = (int)(nn_rng_next(&rng) % 10);
    double tt = median_time_impl(mlp_train_step, &b, reps * 5);
    double ts = median_time_impl(mlp_score_step, &b, reps * 5);
    r->train = b.B / tt;
    r->score = b.B / ts;
    r->generate = 0;
    r->flops_per_token = 6.0 * ((double)D * 1024 + 1024.0 * 1024 + 1024.0 * 10);
    free(b.x);
    free(b.dlogits);
    free(b.labels);
    adamw_release(&b.opt);
    clf_free(b.m);
}

static const char *const bench_configs[] = {"small", "gpt2", "mlp"};

static int bench_one_impl(const char *name, int reps, struct bench_result *r)
{
    memset(r, 0, sizeof(*r));
    r->config = name;
    r->peak = sgemm_peak_impl();
    if (strcmp(name, "small") == 0) {
        struct gpt_config c = {4, 4, 256, 256, 8192, 1e-5f};
        bench_gpt_impl(&c, 16, 128, reps, r);
    } else if (strcmp(name, "gpt2") == 0) {
        struct gpt_config c = {12, 12, 768, 1024, 50257, 1e-5f};
        bench_gpt_impl(&c, 4, 64, reps, r);
    } else if (strcmp(name, "mlp") == 0) {
        bench_mlp_impl(reps, r);
    } else {
        return -1;
    }
    r->gflops = r->train * r->flops_per_token / 1e9;
    r->mfu = r->peak > 0 ? r->gflops / r->peak : 0;
    return 0;
}

static void print_result_impl(const struct bench_result *r, int json)
{
    const char *unit = strcmp(r->config, "mlp") == 0 ? "samples" : "tokens";
    if (json) {
        printf("{\"config\": \"%s\", \"train_%s_per_s\": %.6g, \"score_%s_per_s\": %.6g, "
               "\"generate_%s_per_s\": %.6g, \"train_flops_per_token\": %.6g, \"gflops\": %.6g, "
               "\"mfu\": %.6g, \"sgemm_peak_gflops\": %.6g, \"blas_kernel\": \"openblas %s\", "
               "\"threads\": %d, \"impl\": \"lethe %s\"}\n",
               r->config, unit, r->train, unit, r->score, unit, r->generate, r->flops_per_token,
               r->gflops, r->mfu, r->peak, openblas_get_corename(), omp_get_max_threads(),
               LETHE_VERSION);
        return;
    }
    printf("%-6s train %10.1f %s/s  score %10.1f %s/s  generate %8.1f %s/s\n", r->config, r->train,
           unit, r->score, unit, r->generate, unit);
    printf("       %.4g FLOPs/%s, %.1f GFLOP/s, MFU %.1f%% of a %.1f GFLOP/s sgemm peak "
           "(openblas %s, %d threads)\n", r->flops_per_token, strcmp(unit, "tokens") ? "sample" : "token",
           r->gflops, 100 * r->mfu, r->peak, openblas_get_corename(), omp_get_max_threads());
}

int cmd_bench(int argc, char **argv)
{
    const char *config = NULL, *reps_s = "5";
    int json = 0;
    const struct cli_opt opts[] = {
        {"config", CLI_STR, &config, NULL}, {"reps", CLI_STR, &reps_s, NULL},
        {"json", CLI_FLAG, NULL, &json}, {NULL, CLI_STR, NULL, NULL},
    };
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    free(pos);
    if (npos)
        return cli_usage_error("unexpected argument (see 'lethe bench --help')");
    struct lethe_error err = {0};
    long reps;
    if (cli_long("--reps", reps_s, &reps, &err) < 0 || reps < 1 || reps > 50) {
        if (!err.code)
            lethe_err(&err, LETHE_EUSAGE, "--reps: expected 1 to 50, got '%s'", reps_s);
        cli_error(&err);
        return 2;
    }
    struct bench_result r;
    size_t n = sizeof(bench_configs) / sizeof(bench_configs[0]);
    for (size_t i = 0; i < n; i++) {
        if (config && strcmp(config, bench_configs[i]) != 0)
            continue;
        bench_one_impl(bench_configs[i], (int)reps, &r);
        print_result_impl(&r, json);
        fflush(stdout);
        if (config)
            return 0;
    }
    if (config)
        return cli_usage_error("unknown bench configuration '%s' (small, gpt2, mlp)", config);
    return 0;
}
