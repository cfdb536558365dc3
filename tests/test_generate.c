/* Tests for generation (nn/generate.c): batched greedy equals one-at-a-time and the cache-free
 * argmax of full forwards; EOS, token limit, full context and stop callbacks; prompt
 * truncation (METRICS.md 0.4); ties to the lowest id; seeded top-k sampling; bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "tests/test.h"

static struct nn_rng rng;

static const struct gpt_config cfg = {.n_layer = 2, .n_head = 4, .n_embd = 40, .n_ctx = 24,
                                      .vocab = 97, .ln_eps = 1e-5f};

/* weights large enough that greedy continuations vary with the prompt */
static struct gpt *model_impl(uint64_t seed)
{
    struct gpt *m = gpt_new(&cfg, seed);
    struct nn_params *p = gpt_params(m);
    for (int i = 0; i < p->n_tensors; i++) {
        struct nn_tensor *t = &p->tensors[i];
        if (t->kind != NN_T_LINEAR && t->kind != NN_T_EMBED)
            continue;
        float *d = nn_tensor_data(p, t);
        for (size_t k = 0; k < t->numel; k++)
            d[k] = (float)(0.35 * nn_rng_normal(&rng));
    }
    return m;
}

static void test_keep(void)
{
    CHECK_EQ_INT(gen_prompt_keep(10, 5, 32), 10);
    CHECK_EQ_INT(gen_prompt_keep(40, 5, 32), 27);
    CHECK_EQ_INT(gen_prompt_keep(40, 100, 32), 16);
    CHECK_EQ_INT(gen_prompt_keep(9, 0, 8), 8);
    CHECK_EQ_INT(gen_prompt_keep(1, 1000, 1), 1);
}

#define NP 4
#define MAXNEW 9
static int plen[NP] = {1, 6, 13, 30}; /* the last is longer than n_ctx: left-truncated */
static int pbuf[NP][30];
static const int *prompts[NP] = {pbuf[0], pbuf[1], pbuf[2], pbuf[3]};

static void make_prompts_impl(void)
{
    for (int b = 0; b < NP; b++) {
        pbuf[b][0] = 96; /* BOS */
        for (int t = 1; t < plen[b]; t++)
            pbuf[b][t] = (int)(nn_rng_next(&rng) % 96);
    }
}

static void test_greedy_batch(void)
{
    struct gpt *m = model_impl(1);
    make_prompts_impl();
    struct lethe_error err = {0};
    struct gen_config gc = {.max_new_tokens = MAXNEW, .eos_id = -1};
    int out[NP * MAXNEW], lens[NP];
    enum gen_stop why[NP];
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &gc, out, lens, why, &err), 0);
    int distinct = 0;
    for (int b = 0; b < NP; b++) {
        CHECK_EQ_INT(lens[b], MAXNEW);
        CHECK_EQ_INT(why[b], GEN_STOP_MAX);
        /* one at a time: the same tokens */
        int one[MAXNEW], n1;
        CHECK_EQ_INT(gpt_generate(m, &prompts[b], &plen[b], 1, &gc, one, &n1, NULL, &err), 0);
        CHECK_EQ_INT(n1, lens[b]);
        CHECK(memcmp(one, out + b * MAXNEW, sizeof(one)) == 0);
        distinct += b > 0 && memcmp(out, out + b * MAXNEW, sizeof(one)) != 0;
        /* against full forwards without a cache on the kept prompt + generated tokens */
        int keep = gen_prompt_keep(plen[b], MAXNEW, cfg.n_ctx), seq[64], n = 0;
        seq[n++] = prompts[b][0];
        for (int t = plen[b] - keep + 1; t < plen[b]; t++)
            seq[n++] = prompts[b][t];
        CHECK_EQ_INT(n, keep);
        for (int k = 0; k < lens[b]; k++) {
            gpt_forward(m, seq, NULL, 1, n);
            const float *z = gpt_logits(m) + (size_t)(n - 1) * cfg.vocab;
            int best = 0;
            for (int v = 1; v < cfg.vocab; v++)
                best = z[v] > z[best] ? v : best;
            int got = out[b * MAXNEW + k];
            /* equal, or a near-tie the two computations may break differently */
            CHECK(got == best || fabsf(z[got] - z[best]) < 1e-4f);
            seq[n++] = got;
        }
    }
    CHECK(distinct > 0);
    /* a different batch composition: rows 3, 1 only */
    const int *p2[2] = {prompts[3], prompts[1]};
    int l2[2] = {plen[3], plen[1]}, o2[2 * MAXNEW], n2[2];
    CHECK_EQ_INT(gpt_generate(m, p2, l2, 2, &gc, o2, n2, NULL, &err), 0);
    CHECK(memcmp(o2, out + 3 * MAXNEW, MAXNEW * sizeof(int)) == 0);
    CHECK(memcmp(o2 + MAXNEW, out + 1 * MAXNEW, MAXNEW * sizeof(int)) == 0);
    gpt_free(m);
}

struct stop_ctx {
    int calls, bad;
};

static int stop_after_two(void *ctx, int row, const int *generated, int n)
{
    struct stop_ctx *s = ctx;
    s->calls++;
    s->bad |= row < 0 || row >= NP || n < 1 || generated[n - 1] < 0;
    return row == 1 && n == 2;
}

static void test_stops(void)
{
    struct gpt *m = model_impl(2);
    make_prompts_impl();
    struct lethe_error err = {0};
    struct gen_config gc = {.max_new_tokens = MAXNEW, .eos_id = -1};
    int out[NP * MAXNEW], lens[NP], o2[NP * MAXNEW], l2[NP];
    enum gen_stop why[NP];
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &gc, out, lens, why, &err), 0);
    /* EOS = row 0's fourth token: row 0 stops after three, without the EOS */
    gc.eos_id = out[3];
    int first = 0;
    while (out[first] != gc.eos_id)
        first++;
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &gc, o2, l2, why, &err), 0);
    CHECK_EQ_INT(l2[0], first);
    CHECK_EQ_INT(why[0], GEN_STOP_EOS);
    CHECK(memcmp(o2, out, (size_t)first * sizeof(int)) == 0);
    /* stop callback on row 1 after two tokens */
    struct stop_ctx sc = {0, 0};
    gc.eos_id = -1;
    gc.stop = stop_after_two;
    gc.stop_ctx = &sc;
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &gc, o2, l2, why, &err), 0);
    CHECK_EQ_INT(l2[1], 2);
    CHECK_EQ_INT(why[1], GEN_STOP_CALLBACK);
    CHECK_EQ_INT(l2[0], MAXNEW);
    CHECK(sc.calls == 3 * MAXNEW + 2 && !sc.bad);
    /* full context: keep 16 of 20 prompt tokens (24 - min(20, 12) = 12? no: reserve is
     * min(max_new, n_ctx/2) = 12, so keep 12), then 12 tokens fill the context */
    gc.stop = NULL;
    gc.max_new_tokens = 20;
    int big[20], *ob = xmalloc(20 * sizeof(int)), lb;
    const int *pb = big;
    int nb = 20;
    for (int t = 0; t < 20; t++)
        big[t] = t == 0 ? 96 : t;
    CHECK_EQ_INT(gen_prompt_keep(20, 20, 24), 12);
    CHECK_EQ_INT(gpt_generate(m, &pb, &nb, 1, &gc, ob, &lb, why, &err), 0);
    CHECK_EQ_INT(lb, 12);
    CHECK_EQ_INT(why[0], GEN_STOP_CTX);
    /* no new tokens */
    gc.max_new_tokens = 0;
    lb = -1;
    CHECK_EQ_INT(gpt_generate(m, &pb, &nb, 1, &gc, NULL, &lb, why, &err), 0);
    CHECK_EQ_INT(lb, 0);
    CHECK_EQ_INT(why[0], GEN_STOP_MAX);
    free(ob);
    gpt_free(m);
}

static void test_ties(void)
{
    /* every token embedding equal: all logits tie, greedy must pick id 0 every step */
    struct gpt *m = model_impl(3);
    struct nn_params *p = gpt_params(m);
    struct nn_tensor *wte = nn_params_find(p, "wte.weight");
    float *d = nn_tensor_data(p, wte);
    for (int v = 1; v < cfg.vocab; v++)
        memcpy(d + (size_t)v * cfg.n_embd, d, cfg.n_embd * sizeof(float));
    struct lethe_error err = {0};
    struct gen_config gc = {.max_new_tokens = 5, .eos_id = -1};
    int pr[3] = {96, 4, 50}, n = 3, out[5], len;
    const int *pp = pr;
    CHECK_EQ_INT(gpt_generate(m, &pp, &n, 1, &gc, out, &len, NULL, &err), 0);
    CHECK_EQ_INT(len, 5);
    CHECK(out[0] == 0 && out[1] == 0 && out[4] == 0);
    gpt_free(m);
}

static void test_sampling(void)
{
    struct gpt *m = model_impl(4);
    make_prompts_impl();
    struct lethe_error err = {0};
    struct gen_config gc = {.max_new_tokens = MAXNEW, .eos_id = -1, .temperature = 1.5f,
                            .top_k = 0, .seed = 99};
    int a[NP * MAXNEW], b[NP * MAXNEW], la[NP], lb[NP];
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &gc, a, la, NULL, &err), 0);
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &gc, b, lb, NULL, &err), 0);
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    /* row 2 alone with its stream (seed + 2): the same tokens */
    struct gen_config g1 = gc;
    g1.seed = 99 + 2;
    CHECK_EQ_INT(gpt_generate(m, &prompts[2], &plen[2], 1, &g1, b, lb, NULL, &err), 0);
    CHECK(memcmp(b, a + 2 * MAXNEW, MAXNEW * sizeof(int)) == 0);
    gc.seed = 100;
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &gc, b, lb, NULL, &err), 0);
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    /* top_k 1 is greedy */
    struct gen_config greedy = {.max_new_tokens = MAXNEW, .eos_id = -1};
    gc.top_k = 1;
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &gc, a, la, NULL, &err), 0);
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, NP, &greedy, b, lb, NULL, &err), 0);
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    /* top_k 3 at a high temperature: first tokens are within the top 3, and several occur */
    gpt_forward(m, prompts[1], NULL, 1, plen[1]);
    const float *z = gpt_logits(m) + (size_t)(plen[1] - 1) * cfg.vocab;
    int top[3] = {-1, -1, -1};
    for (int k = 0; k < 3; k++)
        for (int v = 0; v < cfg.vocab; v++) {
            if (v == top[0] || v == top[1])
                continue;
            if (top[k] < 0 || z[v] > z[top[k]])
                top[k] = v;
        }
    gc.top_k = 3;
    gc.temperature = 50.0f;
    gc.max_new_tokens = 1;
    int seen[3] = {0, 0, 0}, outside = 0;
    for (int s = 0; s < 60; s++) {
        int t1, l1;
        gc.seed = 1000 + (uint64_t)s;
        CHECK_EQ_INT(gpt_generate(m, &prompts[1], &plen[1], 1, &gc, &t1, &l1, NULL, &err), 0);
        int hit = 0;
        for (int k = 0; k < 3; k++)
            if (t1 == top[k])
                seen[k] = hit = 1;
        outside += !hit;
    }
    CHECK_EQ_INT(outside, 0);
    CHECK(seen[0] && seen[1] && seen[2]);
    gpt_free(m);
}

static void test_bad_input(void)
{
    struct gpt *m = model_impl(5);
    struct lethe_error err = {0};
    struct gen_config gc = {.max_new_tokens = 3, .eos_id = -1};
    int pr[2] = {96, 97}, n = 2, out[3], len;
    const int *pp = pr;
    CHECK(gpt_generate(m, &pp, &n, 1, &gc, out, &len, NULL, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "prompt 0: token id 97 at position 1 is outside the vocabulary");
    n = 0;
    CHECK(gpt_generate(m, &pp, &n, 1, &gc, out, &len, NULL, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "prompt 0 is empty");
    n = 1;
    gc.max_new_tokens = -1;
    CHECK(gpt_generate(m, &pp, &n, 1, &gc, out, &len, NULL, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "max_new_tokens");
    gc.max_new_tokens = 3;
    gc.eos_id = 97;
    CHECK_CONTAINS(gen_config_check(&gc, &cfg), "eos_id");
    gc.eos_id = -1;
    gc.temperature = NAN;
    CHECK_CONTAINS(gen_config_check(&gc, &cfg), "temperature");
    gc.temperature = 0.0f;
    CHECK(gen_config_check(&gc, &cfg) == NULL);
    gpt_free(m);
}

int main(void)
{
    nn_rng_seed(&rng, 777);
    RUN(test_keep);
    RUN(test_greedy_batch);
    RUN(test_stops);
    RUN(test_ties);
    RUN(test_sampling);
    RUN(test_bad_input);
    return test_done();
}
