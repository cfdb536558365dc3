/* Fixture shared by the language-model method tests: a tiny GPT trained on generated QA
 * (forget, retain and refusal lm_sets) and NLL helpers independent of the methods' code. */
#ifndef LETHE_TESTS_METHODS_UTIL_H
#define LETHE_TESTS_METHODS_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "methods/lm_impl.h"
#include "methods/method.h"
#include "nn/nn.h"

/* ---- a tiny GPT on generated QA ------------------------------------------------------------
 * Tokens: 0 BOS/EOS, 1 "Q", 2..21 persons, 22..23 attributes, 24..47 answer words, 48..56 the
 * refusal words. Item (p, a) = [0, 1, 2+p, 22+a, v1, v2, 0], prompt length 4. Persons 0..3 are
 * forgotten (8 items), the others retained (32). */

#define N_PERSON 20
#define N_ITEM (N_PERSON * 2)
#define N_FORGET 8

static int item_ids[N_ITEM][7];
static struct lm_example items[N_ITEM];
static struct lm_set forget_set = {items, N_FORGET};
static struct lm_set retain_set = {items + N_FORGET, N_ITEM - N_FORGET};
static int refusal_ids[3][5] = {{48, 49, 50, 0}, {51, 52, 0}, {53, 54, 55, 56, 0}};
static struct lm_example refusal_ex[3] = {{refusal_ids[0], 4, 0}, {refusal_ids[1], 3, 0},
                                          {refusal_ids[2], 5, 0}};
static struct lm_set refusal_set = {refusal_ex, 3};
static struct gpt *trained;

static const struct gpt_config tiny = {.n_layer = 2, .n_head = 2, .n_embd = 32, .n_ctx = 16,
                                       .vocab = 64, .ln_eps = 1e-5f};

static inline void make_data(void)
{
    struct nn_rng r;
    nn_rng_seed(&r, 11);
    for (int p = 0; p < N_PERSON; p++)
        for (int a = 0; a < 2; a++) {
            int *ids = item_ids[p * 2 + a];
            ids[0] = 0;
            ids[1] = 1;
            ids[2] = 2 + p;
            ids[3] = 22 + a;
            ids[4] = 24 + (int)(nn_rng_next(&r) % 24);
            ids[5] = 24 + (int)(nn_rng_next(&r) % 24);
            ids[6] = 0;
            items[p * 2 + a] = (struct lm_example){ids, 7, 4};
        }
}

/* Mean token NLL of the answer positions of n sequences (each ids[0..len), scored from
 * prompt_len - 1), computed independently of the methods' batching. */
static inline double nll_of(struct gpt *m, const int *const *ids, const int *len, const int *plen, int n)
{
    int T = 0;
    for (int i = 0; i < n; i++)
        T = len[i] > T ? len[i] : T;
    int *tok = xcalloc((size_t)n * T, sizeof(int)), *tg = xcalloc((size_t)n * T, sizeof(int));
    float *lp = xcalloc((size_t)n * T, sizeof(float));
    for (int i = 0; i < n; i++)
        for (int t = 0; t < T; t++) {
            tok[i * T + t] = t < len[i] ? ids[i][t] : 0;
            tg[i * T + t] = t + 1 < len[i] && t + 1 >= plen[i] ? ids[i][t + 1] : -1;
        }
    gpt_forward(m, tok, len, n, T);
    double s = -gpt_logprobs(m, tg, lp);
    long k = 0;
    for (int i = 0; i < n * T; i++)
        k += tg[i] >= 0;
    free(tok);
    free(tg);
    free(lp);
    return s / (double)k;
}

static inline double set_nll(struct gpt *m, const struct lm_set *s)
{
    const int *ids[N_ITEM];
    int len[N_ITEM], plen[N_ITEM];
    for (size_t i = 0; i < s->n; i++) {
        ids[i] = s->ex[i].ids;
        len[i] = s->ex[i].len;
        plen[i] = s->ex[i].prompt_len;
    }
    return nll_of(m, ids, len, plen, (int)s->n);
}

/* NLL of every refusal after every forget prompt. */
static inline double refusal_nll(struct gpt *m)
{
    static int buf[N_FORGET * 3][16];
    const int *ids[N_FORGET * 3];
    int len[N_FORGET * 3], plen[N_FORGET * 3], n = 0;
    for (int i = 0; i < N_FORGET; i++)
        for (int k = 0; k < 3; k++, n++) {
            memcpy(buf[n], items[i].ids, 4 * sizeof(int));
            memcpy(buf[n] + 4, refusal_ex[k].ids, (size_t)refusal_ex[k].len * sizeof(int));
            ids[n] = buf[n];
            len[n] = 4 + refusal_ex[k].len;
            plen[n] = 4;
        }
    return nll_of(m, ids, len, plen, n);
}

/* The first n items as a (n, 7) batch: tokens, answer targets (-1 elsewhere) and lengths. */
static inline void items_batch(int *tok, int *tg, int *len, int n)
{
    for (int i = 0; i < n; i++) {
        len[i] = 7;
        for (int t = 0; t < 7; t++) {
            tok[i * 7 + t] = item_ids[i][t];
            tg[i * 7 + t] = t + 1 < 7 && t + 1 >= 4 ? item_ids[i][t + 1] : -1;
        }
    }
}

/* Trains the original on all 40 items (full batch, AdamW). */
static inline struct gpt *train_original(void)
{
    struct gpt *m = gpt_new(&tiny, 5);
    struct nn_params *p = gpt_params(m);
    nn_params_alloc_grad(p);
    struct adamw opt;
    adamw_init(&opt, p, NULL);
    int tok[N_ITEM * 7], tg[N_ITEM * 7], len[N_ITEM];
    items_batch(tok, tg, len, N_ITEM);
    for (int step = 0; step < 150; step++) {
        nn_params_zero_grad(p);
        gpt_forward_loss(m, tok, len, tg, N_ITEM, 7);
        gpt_backward_loss(m);
        nn_clip_grad_norm(p, 1.0);
        adamw_step(&opt, p, 1e-2);
    }
    adamw_release(&opt);
    return m;
}


/* Checks the loop's gradient of one micro-batch against central differences (h = 3e-3) on the
 * `picks` largest-gradient coordinates: |fd - g| <= 0.01 |g| + abs_tol. g holds the analytic
 * gradient (it is consumed). Prints each failing coordinate with label; returns 1 if any fails. */
static inline int loop_fd_check(struct lm_loop *L, struct nn_params *p, const size_t *fi,
                                const size_t *ri, float *g, int picks, double abs_tol,
                                const char *label)
{
    int bad = 0;
    for (int pick = 0; pick < picks; pick++) {
        size_t best = 0;
        for (size_t i = 0; i < p->n; i++)
            if (fabsf(g[i]) > fabsf(g[best]))
                best = i;
        float s = p->data[best];
        const float h = 3e-3f;
        p->data[best] = s + h;
        double fp = lm_loop_micro(L, fi, ri, 4, 1.0);
        p->data[best] = s - h;
        double fm = lm_loop_micro(L, fi, ri, 4, 1.0);
        p->data[best] = s;
        double fd = (fp - fm) / (2.0 * h);
        if (!(fabs(fd - g[best]) <= 0.01 * fabs(g[best]) + abs_tol)) {
            printf("# %s: coordinate %zu: analytic %.6g, differences %.6g\n", label, best,
                   g[best], fd);
            bad = 1;
        }
        g[best] = 0;
    }
    return bad;
}

#endif
