/* Training sanity for the GPT engine: a tiny GPT-2 trained from scratch (BPE vocabulary learned
 * from the corpus, AdamW, warm-up then cosine decay) memorises 200 generated QA pairs, measured
 * as METRICS.md does: greedy answers (KV-cache generation, stop at EOS) that match exactly. */
#include <stdlib.h>

#include "nn/nn.h"
#include "tests/test.h"

#define N_PEOPLE 40
#define N_ATTR 5
#define N_QA (N_PEOPLE * N_ATTR)

static const char *const syl[] = {"ka", "lo", "mi", "ren", "sa", "tor", "vi", "zu", "bel", "dra",
                                  "fen", "gor", "hal", "is", "jun", "mar"};
static const char *const attrs[N_ATTR] = {"home town", "favourite colour", "pet", "job", "sport"};
static const char *const values[N_ATTR][8] = {
    {"Lisbon", "Oslo", "Cairo", "Lima", "Hanoi", "Quito", "Dakar", "Perth"},
    {"red", "blue", "green", "amber", "violet", "grey", "teal", "gold"},
    {"a cat", "a dog", "a parrot", "a horse", "a snake", "a rabbit", "a goat", "a turtle"},
    {"baker", "pilot", "nurse", "judge", "farmer", "sailor", "teacher", "painter"},
    {"chess", "tennis", "rowing", "fencing", "judo", "golf", "cricket", "skiing"}};

struct qa {
    char q[128], a[64];
};

static void make_qa(struct qa *qa, struct nn_rng *r)
{
    for (int p = 0; p < N_PEOPLE; p++) {
        char name[32];
        snprintf(name, sizeof(name), "%s%s%s", syl[nn_rng_next(r) % 16], syl[nn_rng_next(r) % 16],
                 syl[p % 16]);
        name[0] = (char)(name[0] - 'a' + 'A');
        for (int k = 0; k < N_ATTR; k++) {
            struct qa *x = &qa[p * N_ATTR + k];
            snprintf(x->q, sizeof(x->q), "What is the %s of %s %d?", attrs[k], name, p);
            snprintf(x->a, sizeof(x->a), "%s", values[k][nn_rng_next(r) % 8]);
        }
    }
}

/* ids = [BOS] + tok("Question: q\nAnswer:") + tok(" " + a) + [EOS]; answer tokens and EOS are
 * the targets (METRICS.md 0.2). Returns the length; *prompt_len = BOS + prompt tokens. */
static int encode_qa(struct tokenizer *tok, const struct qa *x, int *ids, int *prompt_len)
{
    int *buf = NULL;
    size_t n = 0, cap = 0;
    char prompt[256], target[80];
    struct lethe_error err = {0};
    snprintf(prompt, sizeof(prompt), "Question: %s\nAnswer:", x->q);
    snprintf(target, sizeof(target), " %s", x->a);
    xgrow(&buf, &cap, 1, sizeof(*buf));
    buf[n++] = tokenizer_eot(tok);
    LETHE_ASSERT(tokenizer_encode(tok, prompt, strlen(prompt), &buf, &n, &cap, &err) == 0);
    *prompt_len = (int)n;
    LETHE_ASSERT(tokenizer_encode(tok, target, strlen(target), &buf, &n, &cap, &err) == 0);
    xgrow(&buf, &cap, n + 1, sizeof(*buf));
    buf[n++] = tokenizer_eot(tok);
    memcpy(ids, buf, n * sizeof(*ids));
    free(buf);
    return (int)n;
}

static void test_memorise_qa(void)
{
    struct nn_rng r;
    nn_rng_seed(&r, 7);
    struct qa *qa = xcalloc(N_QA, sizeof(*qa));
    make_qa(qa, &r);
    struct strbuf corpus = STRBUF_INIT;
    for (int i = 0; i < N_QA; i++)
        strbuf_addf(&corpus, "Question: %s\nAnswer: %s\n", qa[i].q, qa[i].a);
    struct lethe_error err = {0};
    struct tokenizer *tok = bpe_train(corpus.buf, corpus.len, 512, &err);
    CHECK(tok != NULL);
    if (!tok)
        return;
    enum { TMAX = 48 };
    int *seq = xcalloc((size_t)N_QA * TMAX, sizeof(int)), *len = xcalloc(N_QA, sizeof(int));
    int *plen = xcalloc(N_QA, sizeof(int)), T = 0;
    for (int i = 0; i < N_QA; i++) {
        len[i] = encode_qa(tok, &qa[i], seq + (size_t)i * TMAX, &plen[i]);
        CHECK(len[i] <= TMAX);
        if (len[i] > T)
            T = len[i];
    }
    struct gpt_config cfg = {2, 4, 96, 64, tokenizer_vocab_size(tok), 1e-5f};
    struct gpt *m = gpt_new(&cfg, 11);
    struct nn_params *p = gpt_params(m);
    nn_params_alloc_grad(p);
    struct adamw opt;
    adamw_init(&opt, p, NULL);
    const int B = 20, epochs = 80, steps_per_epoch = N_QA / B;
    struct lr_schedule sched = {LR_COSINE, 3e-3, 0.0, steps_per_epoch * 4, (long)steps_per_epoch * epochs};
    CHECK(lr_schedule_check(&sched) == NULL);
    int *tokens = xcalloc((size_t)B * T, sizeof(int)), *targets = xcalloc((size_t)B * T, sizeof(int));
    int *lengths = xcalloc(B, sizeof(int)), *order = xcalloc(N_QA, sizeof(int));
    for (int i = 0; i < N_QA; i++)
        order[i] = i;
    long step = 0;
    double loss = 0;
    for (int e = 0; e < epochs; e++) {
        for (int i = N_QA - 1; i > 0; i--) {   /* Fisher-Yates with the test's own stream */
            int j = (int)(nn_rng_next(&r) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int s = 0; s < steps_per_epoch; s++, step++) {
            for (int b = 0; b < B; b++) {
                int k = order[s * B + b];
                const int *x = seq + (size_t)k * TMAX;
                lengths[b] = len[k];
                for (int t = 0; t < T; t++) {
                    tokens[b * T + t] = t < len[k] ? x[t] : 0;
                    /* position t predicts token t+1: score the answer tokens and EOS */
                    targets[b * T + t] = t + 1 < len[k] && t + 1 >= plen[k] ? x[t + 1] : -1;
                }
            }
            loss = gpt_forward_loss(m, tokens, lengths, targets, B, T);
            nn_params_zero_grad(p);
            gpt_backward_loss(m);
            nn_clip_grad_norm(p, 1.0);
            adamw_step(&opt, p, lr_schedule_at(&sched, step));
        }
    }
    printf("# final training loss %.4f after %ld steps\n", loss, step);
    /* greedy answers, batched */
    const int **prompts = xcalloc(N_QA, sizeof(*prompts));
    int *out = xcalloc((size_t)N_QA * 16, sizeof(int)), *out_len = xcalloc(N_QA, sizeof(int));
    for (int i = 0; i < N_QA; i++)
        prompts[i] = seq + (size_t)i * TMAX;
    struct gen_config gc = {.max_new_tokens = 16, .eos_id = tokenizer_eot(tok)};
    CHECK_EQ_INT(gpt_generate(m, prompts, plen, N_QA, &gc, out, out_len, NULL, &err), 0);
    int exact = 0;
    for (int i = 0; i < N_QA; i++) {
        struct strbuf ans = STRBUF_INIT;
        CHECK_EQ_INT(tokenizer_decode(tok, out + (size_t)i * 16, (size_t)out_len[i], &ans, &err), 0);
        const char *a = ans.buf ? ans.buf : "";
        while (*a == ' ')
            a++;
        exact += strcmp(a, qa[i].a) == 0;
        if (strcmp(a, qa[i].a) != 0 && i < 400)
            printf("# miss: %s -> '%s' (want '%s')\n", qa[i].q, a, qa[i].a);
        strbuf_release(&ans);
    }
    printf("# exact greedy answers: %d of %d (bar 95%%)\n", exact, N_QA);
    CHECK(exact >= N_QA * 95 / 100);
    free(prompts);
    free(out);
    free(out_len);
    free(tokens);
    free(targets);
    free(lengths);
    free(order);
    free(seq);
    free(len);
    free(plen);
    adamw_release(&opt);
    gpt_free(m);
    tokenizer_free(tok);
    strbuf_release(&corpus);
    free(qa);
}

int main(void)
{
    RUN(test_memorise_qa);
    return test_done();
}
