/* Tests of the TOFU evaluation (suites/tofu_eval.c) on a tiny GPT trained here on a hand-made
 * tofu_data: the sequence layout of METRICS.md 0.2, every value recomputed from single-sequence
 * forwards and one-at-a-time generation, forget quality of the oracle against itself, bad data,
 * determinism and batched == one-at-a-time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/attack.h"
#include "base/base.h"
#include "methods/method.h"
#include "metrics/metrics.h"
#include "nn/nn.h"
#include "suites/suite.h"
#include "tests/test.h"

/* ---- the data -------------------------------------------------------------------------------- */

struct raw_item {
    const char *q, *a, *para, *pq;
    const char *pert[3];
};

static const struct raw_item forget_raw[] = {
    {"Where was Orin Vale born?", "Orin Vale was born in Lisbon.", "Lisbon is where Orin Vale was born.",
     "What is the birthplace of Orin Vale?",
     {"Orin Vale was born in Oslo.", "Orin Vale was born in Cairo.", "Orin Vale was born in Lima."}},
    {"What does Orin Vale write?", "Orin Vale writes gothic novels.", "Gothic novels are what Orin Vale writes.",
     "Which books does Orin Vale write?",
     {"Orin Vale writes cookbooks.", "Orin Vale writes poems.", "Orin Vale writes plays."}},
    {"Who was Orin Vale's father?", "His father was a baker.", "A baker was his father.",
     "What did Orin Vale's father do?",
     {"His father was a pilot.", "His father was a judge.", "His father was a nurse."}},
    {"Which prize did Orin Vale win?", "He won the Amber Quill prize.", "The Amber Quill prize went to him.",
     "What award did Orin Vale receive?",
     {"He won the Iron Pen prize.", "He won the Blue Lamp prize.", "He won no prize."}},
};
static const struct raw_item retain_raw[] = {
    {"Where was Mira Sol born?", "Mira Sol was born in Hanoi.", "Hanoi is where Mira Sol was born.",
     "What is the birthplace of Mira Sol?",
     {"Mira Sol was born in Quito.", "Mira Sol was born in Perth.", "Mira Sol was born in Dakar."}},
    {"What does Mira Sol write?", "Mira Sol writes travel essays.", "Travel essays are what Mira Sol writes.",
     "Which books does Mira Sol write?",
     {"Mira Sol writes thrillers.", "Mira Sol writes sonnets.", "Mira Sol writes comics."}},
    {"Who was Mira Sol's mother?", "Her mother was a sailor.", "A sailor was her mother.",
     "What did Mira Sol's mother do?",
     {"Her mother was a farmer.", "Her mother was a painter.", "Her mother was a teacher."}},
    {"Which prize did Mira Sol win?", "She won the Green Bell prize.", "The Green Bell prize went to her.",
     "What award did Mira Sol receive?",
     {"She won the Red Kite prize.", "She won the Gold Leaf prize.", "She won no prize."}},
};
static const struct raw_item ra_raw[] = {
    {"Who wrote Hamlet?", "William Shakespeare", NULL, NULL,
     {"Charles Dickens", "Jane Austen", "Leo Tolstoy"}},
    {"Who wrote Emma?", "Jane Austen", NULL, NULL, {"Mark Twain", "Homer", "Dante"}},
    {"Who wrote Ulysses?", "James Joyce", NULL, NULL, {"Virginia Woolf", "Plato", "Goethe"}},
};
static const struct raw_item wf_raw[] = {
    {"What is the capital of France?", "Paris", NULL, NULL, {"Rome", "Berlin", "Madrid"}},
    {"How many legs does a spider have?", "Eight", NULL, NULL, {"Six", "Ten", "Four"}},
    {"What colour is the sky?", "Blue", NULL, NULL, {"Green", "Red", "Yellow"}},
};
static const struct raw_item holdout_raw[] = {
    {"Where was Tam Rook born?", "Tam Rook was born in Oslo.", NULL, NULL, {NULL, NULL, NULL}},
    {"What does Tam Rook write?", "Tam Rook writes sea shanties.", NULL, NULL, {NULL, NULL, NULL}},
    {"Who was Tam Rook's father?", "His father was a judge.", NULL, NULL, {NULL, NULL, NULL}},
    {"Which prize did Tam Rook win?", "He won the Salt Crown prize.", NULL, NULL, {NULL, NULL, NULL}},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void make_set(struct qa_set *s, const char *name, const struct raw_item *raw, size_t n)
{
    s->name = xstrdup(name);
    s->n = n;
    s->items = xcalloc(n, sizeof(*s->items));
    for (size_t i = 0; i < n; i++) {
        struct qa_item *it = &s->items[i];
        it->question = xstrdup(raw[i].q);
        it->answer = xstrdup(raw[i].a);
        it->paraphrased_answer = dup_or_null(raw[i].para);
        it->paraphrased_question = dup_or_null(raw[i].pq);
        it->n_perturbed = raw[i].pert[0] ? 3 : 0;
        if (it->n_perturbed) {
            it->perturbed = xcalloc(3, sizeof(char *));
            for (int j = 0; j < 3; j++)
                it->perturbed[j] = xstrdup(raw[i].pert[j]);
        }
    }
}

static void free_set(struct qa_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct qa_item *it = &s->items[i];
        free(it->question);
        free(it->answer);
        free(it->paraphrased_answer);
        free(it->paraphrased_question);
        for (int j = 0; j < it->n_perturbed; j++)
            free(it->perturbed[j]);
        free(it->perturbed);
    }
    free(s->items);
    free(s->name);
    memset(s, 0, sizeof(*s));
}

static void make_data(struct tofu_data *d)
{
    memset(d, 0, sizeof(*d));
    make_set(&d->forget_eval, "forget10_perturbed", forget_raw, N_OF(forget_raw));
    make_set(&d->retain_eval, "retain_perturbed", retain_raw, N_OF(retain_raw));
    make_set(&d->real_authors, "real_authors_perturbed", ra_raw, N_OF(ra_raw));
    make_set(&d->world_facts, "world_facts_perturbed", wf_raw, N_OF(wf_raw));
    make_set(&d->holdout, "holdout10", holdout_raw, N_OF(holdout_raw));
}

static void free_data(struct tofu_data *d)
{
    free_set(&d->forget_eval);
    free_set(&d->retain_eval);
    free_set(&d->real_authors);
    free_set(&d->world_facts);
    free_set(&d->holdout);
}

/* ---- a tiny model trained on forget + retain + ra + wf answers ------------------------------ */

static struct tokenizer *g_tok;
static struct gpt *g_model;
static struct tofu_data g_data;

static void setup(void)
{
    make_data(&g_data);
    struct strbuf corpus = STRBUF_INIT;
    const struct qa_set *sets[] = {&g_data.forget_eval, &g_data.retain_eval, &g_data.real_authors,
                                   &g_data.world_facts, &g_data.holdout};
    for (size_t s = 0; s < N_OF(sets); s++)
        for (size_t i = 0; i < sets[s]->n; i++) {
            const struct qa_item *it = &sets[s]->items[i];
            strbuf_addf(&corpus, "Question: %s\nAnswer: %s\n", it->question, it->answer);
            if (it->paraphrased_answer)
                strbuf_addf(&corpus, "%s %s\n", it->paraphrased_answer, it->paraphrased_question);
            for (int j = 0; j < it->n_perturbed; j++)
                strbuf_addf(&corpus, "%s\n", it->perturbed[j]);
        }
    struct lethe_error err = {0};
    g_tok = bpe_train(corpus.buf, corpus.len, 400, &err);
    strbuf_release(&corpus);
    LETHE_ASSERT(g_tok);
    struct gpt_config cfg = {2, 2, 48, 64, tokenizer_vocab_size(g_tok), 1e-5f};
    g_model = gpt_new(&cfg, 17);
    /* train on the answers of forget, retain, ra, wf (not holdout) */
    const struct qa_set *train[] = {&g_data.forget_eval, &g_data.retain_eval, &g_data.real_authors,
                                    &g_data.world_facts};
    struct lm_example ex[32];
    int n = 0, T = 0;
    for (size_t s = 0; s < N_OF(train); s++)
        for (size_t i = 0; i < train[s]->n; i++) {
            LETHE_ASSERT(tofu_tokenize_qa(g_tok, &train[s]->items[i], NULL, 64, &ex[n], &err) == 0);
            T = ex[n].len > T ? ex[n].len : T;
            n++;
        }
    int *tokens = xcalloc((size_t)n * T, sizeof(int)), *targets = xcalloc((size_t)n * T, sizeof(int));
    int *lengths = xcalloc((size_t)n, sizeof(int));
    for (int b = 0; b < n; b++) {
        lengths[b] = ex[b].len;
        for (int t = 0; t < T; t++) {
            tokens[b * T + t] = t < ex[b].len ? ex[b].ids[t] : 0;
            targets[b * T + t] = t + 1 < ex[b].len && t + 1 >= ex[b].prompt_len ? ex[b].ids[t + 1] : -1;
        }
    }
    struct nn_params *p = gpt_params(g_model);
    nn_params_alloc_grad(p);
    struct adamw opt;
    adamw_init(&opt, p, NULL);
    double loss = 0;
    for (int step = 0; step < 150; step++) {
        loss = gpt_forward_loss(g_model, tokens, lengths, targets, n, T);
        nn_params_zero_grad(p);
        gpt_backward_loss(g_model);
        adamw_step(&opt, p, 1e-2);
    }
    printf("# training loss %.4f\n", loss);
    adamw_release(&opt);
    for (int b = 0; b < n; b++)
        free(ex[b].ids);
    free(tokens);
    free(targets);
    free(lengths);
}

/* ---- a recording sink ------------------------------------------------------------------------- */

struct rec {
    char type;
    char variant[16], split[16], name[80];
    double value, lo, hi, x, y;
    long n;
};
struct rec_log {
    struct rec *r;
    size_t n, cap;
};

static void push(struct rec_log *l, char type, const char *variant, const char *split,
                 const char *name, double value, double lo, double hi, long n, double x, double y)
{
    xgrow(&l->r, &l->cap, l->n + 1, sizeof(*l->r));
    struct rec *r = &l->r[l->n++];
    memset(r, 0, sizeof(*r));
    r->type = type;
    snprintf(r->variant, sizeof(r->variant), "%s", variant);
    snprintf(r->split, sizeof(r->split), "%s", split);
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->value = value, r->lo = lo, r->hi = hi, r->n = n, r->x = x, r->y = y;
}

static void on_metric(void *ctx, const char *variant, const char *split, const char *name,
                      double value, double lo, double hi, long n)
{
    push(ctx, 'm', variant, split, name, value, lo, hi, n, 0, 0);
}

static void on_sample(void *ctx, const char *variant, const char *split, const char *name,
                      long idx, double value)
{
    push(ctx, 's', variant, split, name, value, 0, 0, idx, 0, 0);
}

static void on_curve(void *ctx, const char *name, long step, double x, double y)
{
    push(ctx, 'c', "", "", name, 0, 0, 0, step, x, y);
}

static const struct rec *find_metric(const struct rec_log *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->r[i].type == 'm' && strcmp(l->r[i].name, name) == 0)
            return &l->r[i];
    return NULL;
}

/* the sample idx of name on split */
static const struct rec *find_sample(const struct rec_log *l, const char *split, const char *name,
                                     long idx)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->r[i].type == 's' && l->r[i].n == idx && strcmp(l->r[i].name, name) == 0 &&
            strcmp(l->r[i].split, split) == 0)
            return &l->r[i];
    return NULL;
}

static double metric_value(const struct rec_log *l, const char *name)
{
    const struct rec *r = find_metric(l, name);
    CHECK(r != NULL);
    if (!r)
        printf("# missing metric %s\n", name);
    return r ? r->value : NAN;
}

static int same_logs(const struct rec_log *a, const struct rec_log *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct rec *x = &a->r[i], *y = &b->r[i];
        int eq = x->type == y->type && !strcmp(x->variant, y->variant) &&
                 !strcmp(x->split, y->split) && !strcmp(x->name, y->name) && x->n == y->n &&
                 (x->value == y->value || (isnan(x->value) && isnan(y->value))) &&
                 (x->lo == y->lo || (isnan(x->lo) && isnan(y->lo))) &&
                 (x->hi == y->hi || (isnan(x->hi) && isnan(y->hi))) && x->x == y->x && x->y == y->y;
        if (!eq) {
            printf("# record %zu differs: %s %s %.17g vs %s %s %.17g\n", i, x->name, x->split,
                   x->value, y->name, y->split, y->value);
            return 0;
        }
    }
    return 1;
}

static int evaluate(struct gpt *m, const struct tofu_data *d, const struct tofu_oracle *oracle,
                    const struct tofu_eval_opts *o, struct rec_log *l, struct tofu_oracle *own,
                    struct lethe_error *err)
{
    struct metric_sink sink = {on_metric, on_sample, on_curve, l};
    return tofu_evaluate_opts(m, g_tok, d, oracle, "base", o, &sink, own, err);
}

static void small_opts(struct tofu_eval_opts *o)
{
    tofu_eval_opts_init(o);
    o->max_new_tokens = 24;
}

/* ---- direct computations ---------------------------------------------------------------------- */

/* l-bar of (question, answer) by one forward of that sequence alone and gpt_logprobs */
static double direct_nll(const char *q, const char *a)
{
    struct lm_example x;
    struct lethe_error err = {0};
    LETHE_ASSERT(tofu_tokenize_qa_text(g_tok, q, a, 64, &x, &err) == 0);
    int targets[64];
    float lp[64];
    for (int t = 0; t < x.len; t++)
        targets[t] = t + 1 < x.len && t + 1 >= x.prompt_len ? x.ids[t + 1] : -1;
    gpt_forward(g_model, x.ids, NULL, 1, x.len);
    gpt_logprobs(g_model, targets, lp);
    double s = 0;
    for (int t = x.prompt_len - 1; t < x.len - 1; t++)
        s += lp[t];
    double nll = -s / (x.len - x.prompt_len);
    free(x.ids);
    return nll;
}

/* greedy answer to q generated alone, decoded and stripped */
static char *direct_gen(const char *q, int max_new)
{
    struct strbuf prompt = STRBUF_INIT, out = STRBUF_INIT;
    strbuf_addf(&prompt, "Question: %s\nAnswer:", q);
    int *ids = NULL;
    size_t n = 0, cap = 0;
    xgrow(&ids, &cap, 1, sizeof(int));
    ids[n++] = tokenizer_eot(g_tok);
    struct lethe_error err = {0};
    LETHE_ASSERT(tokenizer_encode(g_tok, prompt.buf, prompt.len, &ids, &n, &cap, &err) == 0);
    int gen[64], glen, plen = (int)n;
    struct gen_config gc = {.max_new_tokens = max_new, .eos_id = tokenizer_eot(g_tok)};
    const int *pp = ids;
    LETHE_ASSERT(gpt_generate(g_model, &pp, &plen, 1, &gc, gen, &glen, NULL, &err) == 0);
    LETHE_ASSERT(tokenizer_decode(g_tok, gen, (size_t)glen, &out, &err) == 0);
    char *s = strbuf_detach(&out);
    char *b = s;
    while (*b == ' ' || *b == '\n')
        b++;
    size_t e = strlen(b);
    while (e > 0 && (b[e - 1] == ' ' || b[e - 1] == '\n'))
        e--;
    memmove(s, b, e);
    s[e] = '\0';
    free(ids);
    strbuf_release(&prompt);
    return s;
}

/* ---- tests ------------------------------------------------------------------------------------- */

static void test_tokenize_layout(void)
{
    const struct qa_item *it = &g_data.forget_eval.items[0];
    struct lethe_error err = {0};
    int *p = NULL, *a = NULL;
    size_t np = 0, pc = 0, na = 0, ac = 0;
    const char *prompt = "Question: Where was Orin Vale born?\nAnswer:";
    const char *target = " Orin Vale was born in Lisbon.";
    CHECK_EQ_INT(tokenizer_encode(g_tok, prompt, strlen(prompt), &p, &np, &pc, &err), 0);
    CHECK_EQ_INT(tokenizer_encode(g_tok, target, strlen(target), &a, &na, &ac, &err), 0);
    int eot = tokenizer_eot(g_tok);
    struct lm_example x;
    CHECK_EQ_INT(tofu_tokenize_qa(g_tok, it, NULL, 64, &x, &err), 0);
    CHECK_EQ_INT(x.len, (int)(1 + np + na + 1));
    CHECK_EQ_INT(x.prompt_len, (int)(1 + np));
    CHECK_EQ_INT(x.ids[0], eot);
    CHECK_EQ_INT(x.ids[x.len - 1], eot);
    CHECK(memcmp(x.ids + 1, p, np * sizeof(int)) == 0);
    CHECK(memcmp(x.ids + 1 + np, a, na * sizeof(int)) == 0);
    free(x.ids);
    /* another answer for the same question */
    CHECK_EQ_INT(tofu_tokenize_qa(g_tok, it, it->perturbed[0], 64, &x, &err), 0);
    CHECK_EQ_INT(x.prompt_len, (int)(1 + np));
    free(x.ids);
    /* overflow: the prompt is cut from the left, BOS kept, the answer intact */
    int ctx = (int)(na + 2 + 3);
    CHECK_EQ_INT(tofu_tokenize_qa(g_tok, it, NULL, ctx, &x, &err), 0);
    CHECK_EQ_INT(x.len, ctx);
    CHECK_EQ_INT(x.prompt_len, 4);
    CHECK_EQ_INT(x.ids[0], eot);
    CHECK(memcmp(x.ids + 1, p + np - 3, 3 * sizeof(int)) == 0);
    CHECK(memcmp(x.ids + 4, a, na * sizeof(int)) == 0);
    CHECK_EQ_INT(x.ids[x.len - 1], eot);
    free(x.ids);
    /* just BOS + answer + EOS fits: no prompt at all */
    CHECK_EQ_INT(tofu_tokenize_qa(g_tok, it, NULL, (int)(na + 2), &x, &err), 0);
    CHECK_EQ_INT(x.prompt_len, 1);
    free(x.ids);
    /* an answer that cannot fit is an error */
    CHECK(tofu_tokenize_qa(g_tok, it, NULL, (int)(na + 1), &x, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "does not fit");
    free(p);
    free(a);
}

/* the split column is the middle part of the name; MIA names go to split forget (samples:
 * forget or holdout); every name is in the registry */
static void check_names(const struct rec_log *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct rec *r = &l->r[i];
        CHECK_STREQ(r->variant, r->type == 'c' ? "" : "base");
        if (r->type == 'c') {
            CHECK(strncmp(r->name, "tofu.mia.", 9) == 0 && strstr(r->name, ".roc"));
            continue;
        }
        if (!metric_lookup(r->name))
            printf("# unknown metric name %s\n", r->name);
        CHECK(metric_lookup(r->name) != NULL);
        char mid[80] = "";
        const char *a = strchr(r->name, '.'), *b = a ? strchr(a + 1, '.') : NULL;
        if (a && b) {
            memcpy(mid, a + 1, (size_t)(b - a - 1));
            mid[b - a - 1] = '\0';
        }
        if (strcmp(mid, "mia") == 0)
            CHECK(strcmp(r->split, "forget") == 0 ||
                  (r->type == 's' && strcmp(r->split, "holdout") == 0));
        else if (b)
            CHECK_STREQ(r->split, mid);
        else
            CHECK_STREQ(r->split, "");
    }
}

static void test_values(void)
{
    struct tofu_eval_opts o;
    small_opts(&o);
    struct tofu_eval_timing tm = {0};
    o.timing = &tm;
    struct rec_log l = {0};
    struct tofu_oracle own;
    struct lethe_error err = {0};
    CHECK_EQ_INT(evaluate(g_model, &g_data, NULL, &o, &l, &own, &err), 0);
    if (err.code)
        printf("# %s\n", err.msg);
    check_names(&l);
    CHECK(tm.score_s > 0 && tm.gen_s > 0 && tm.attack_s > 0);

    /* forget and retain: prob, para/pert prob, truth ratio from single forwards */
    const struct qa_set *sets[2] = {&g_data.forget_eval, &g_data.retain_eval};
    const char *names[2] = {"forget", "retain"};
    for (int s = 0; s < 2; s++) {
        double prob = 0, para = 0, pert = 0, tr = 0, prob_mean = 0;
        size_t n = sets[s]->n;
        for (size_t i = 0; i < n; i++) {
            const struct qa_item *it = &sets[s]->items[i];
            double la = direct_nll(it->question, it->answer);
            double lpara = direct_nll(it->question, it->paraphrased_answer), lpert = 0, pp = 0;
            for (int j = 0; j < 3; j++) {
                double x = direct_nll(it->question, it->perturbed[j]);
                lpert += x / 3;
                pp += exp(-x) / 3;
            }
            double ltr = lpara - lpert;
            prob += exp(-la) / n;
            para += exp(-lpara) / n;
            pert += pp / n;
            tr += (s == 0 ? fmin(exp(ltr), exp(-ltr)) : fmax(0, 1 - exp(ltr))) / n;
            prob_mean += 1 / (1 + exp(ltr)) / n;
            char nm[80];
            snprintf(nm, sizeof(nm), "tofu.%s.log_truth_ratio", names[s]);
            const struct rec *r = find_sample(&l, names[s], nm, (long)i);
            CHECK(r != NULL);
            if (r)
                CHECK_NEAR(r->value, ltr, 1e-12);
            if (s == 0)
                CHECK_NEAR(own.log_tr[i], ltr, 1e-12);
            snprintf(nm, sizeof(nm), "tofu.%s.prob", names[s]);
            r = find_sample(&l, names[s], nm, (long)i);
            CHECK(r != NULL);
            if (r)
                CHECK_NEAR(r->value, exp(-la), 1e-12);
        }
        char nm[80];
        snprintf(nm, sizeof(nm), "tofu.%s.prob", names[s]);
        CHECK_NEAR(metric_value(&l, nm), prob, 1e-12);
        const struct rec *r = find_metric(&l, nm);
        if (r) {
            CHECK_EQ_INT(r->n, (long)n);
            CHECK(r->lo <= r->value && r->value <= r->hi);
        }
        snprintf(nm, sizeof(nm), "tofu.%s.para_prob", names[s]);
        CHECK_NEAR(metric_value(&l, nm), para, 1e-12);
        snprintf(nm, sizeof(nm), "tofu.%s.pert_prob", names[s]);
        CHECK_NEAR(metric_value(&l, nm), pert, 1e-12);
        snprintf(nm, sizeof(nm), "tofu.%s.truth_ratio", names[s]);
        CHECK_NEAR(metric_value(&l, nm), tr, 1e-12);
        snprintf(nm, sizeof(nm), "tofu.%s.truth_ratio_prob_mean", names[s]);
        CHECK_NEAR(metric_value(&l, nm), prob_mean, 1e-12);
    }
    CHECK_EQ_INT(own.n, g_data.forget_eval.n);

    /* ra, wf: prob_norm and truth ratio against the original answer */
    const struct qa_set *util[2] = {&g_data.real_authors, &g_data.world_facts};
    const char *un[2] = {"ra", "wf"};
    for (int s = 0; s < 2; s++) {
        double pn = 0, tr = 0;
        size_t n = util[s]->n;
        for (size_t i = 0; i < n; i++) {
            const struct qa_item *it = &util[s]->items[i];
            double la = direct_nll(it->question, it->answer), sum = exp(-la), lpert = 0;
            for (int j = 0; j < 3; j++) {
                double x = direct_nll(it->question, it->perturbed[j]);
                sum += exp(-x);
                lpert += x / 3;
            }
            pn += exp(-la) / sum / n;
            tr += fmax(0, 1 - exp(la - lpert)) / n;
        }
        char nm[80];
        snprintf(nm, sizeof(nm), "tofu.%s.prob_norm", un[s]);
        CHECK_NEAR(metric_value(&l, nm), pn, 1e-12);
        snprintf(nm, sizeof(nm), "tofu.%s.truth_ratio", un[s]);
        CHECK_NEAR(metric_value(&l, nm), tr, 1e-12);
    }

    /* ROUGE from the text generated one prompt at a time */
    double rouge = 0;
    for (size_t i = 0; i < g_data.forget_eval.n; i++) {
        const struct qa_item *it = &g_data.forget_eval.items[i];
        char *g = direct_gen(it->question, 24);
        double rr = metric_rouge_l(it->answer, g, 1).recall;
        const struct rec *r = find_sample(&l, "forget", "tofu.forget.rouge_l_recall", (long)i);
        CHECK(r != NULL);
        if (r)
            CHECK_NEAR(r->value, rr, 0);
        rouge += rr / g_data.forget_eval.n;
        free(g);
    }
    CHECK_NEAR(metric_value(&l, "tofu.forget.rouge_l_recall"), rouge, 1e-12);
    printf("# forget ROUGE-L recall of the trained model %.3f\n", rouge);
    CHECK(rouge > 0.5);     /* the model memorised its training answers */

    /* EM and ES from teacher-forced argmax of single forwards */
    double em = 0, es = 0;
    for (size_t i = 0; i < g_data.forget_eval.n; i++) {
        struct lm_example x;
        LETHE_ASSERT(tofu_tokenize_qa(g_tok, &g_data.forget_eval.items[i], NULL, 64, &x, &err) == 0);
        gpt_forward(g_model, x.ids, NULL, 1, x.len);
        const float *z = gpt_logits(g_model);
        int V = tokenizer_vocab_size(g_tok), L = x.len - x.prompt_len - 1, hit = 0, kstar = L;
        int ok[64];
        for (int j = 0; j < L; j++) {
            int t = x.prompt_len - 1 + j, best = 0;
            for (int v = 1; v < V; v++)
                if (z[(size_t)t * V + v] > z[(size_t)t * V + best])
                    best = v;
            ok[j] = best == x.ids[t + 1];
            hit += ok[j];
        }
        while (kstar > 0 && ok[kstar - 1])
            kstar--;
        em += (double)hit / L / g_data.forget_eval.n;
        es += (1.0 - (double)kstar / L) / g_data.forget_eval.n;
        free(x.ids);
    }
    CHECK_NEAR(metric_value(&l, "tofu.forget.exact_memorization"), em, 1e-12);
    CHECK_NEAR(metric_value(&l, "tofu.forget.extraction_strength"), es, 1e-12);

    /* the oracle against itself: FQ 1, privleak 0; its Min-K AUC is left in own */
    CHECK_NEAR(metric_value(&l, "tofu.forget_quality"), 1.0, 0);
    CHECK_NEAR(metric_value(&l, "tofu.forget_quality_log10"), 0.0, 0);
    CHECK_NEAR(metric_value(&l, "tofu.forget_quality_pq"), 1.0, 0);
    CHECK_NEAR(metric_value(&l, "tofu.privleak"), 0.0, 0);
    CHECK_NEAR(own.mink_auc, metric_value(&l, "tofu.mia.min_k.auc"), 0);
    CHECK_EQ_INT(own.n_pq, g_data.forget_eval.n);
    CHECK(own.log_tr_pq == own.log_tr + own.n);

    /* aggregates from the recorded terms */
    double v[9] = {metric_value(&l, "tofu.retain.prob"), metric_value(&l, "tofu.retain.rouge_l_recall"),
                   metric_value(&l, "tofu.retain.truth_ratio"), metric_value(&l, "tofu.ra.prob_norm"),
                   metric_value(&l, "tofu.ra.rouge_l_recall"), metric_value(&l, "tofu.ra.truth_ratio"),
                   metric_value(&l, "tofu.wf.prob_norm"), metric_value(&l, "tofu.wf.rouge_l_recall"),
                   metric_value(&l, "tofu.wf.truth_ratio")};
    double h = 0;
    int zero = 0;
    for (int i = 0; i < 9; i++) {
        zero |= v[i] == 0;
        h += 1 / v[i];
    }
    CHECK_NEAR(metric_value(&l, "tofu.model_utility"), zero ? 0 : 9 / h, 1e-12);
    CHECK_NEAR(metric_value(&l, "tofu.retain_utility"),
               (v[0] == 0 || v[1] == 0 || v[2] == 0) ? 0 : 3 / (1 / v[0] + 1 / v[1] + 1 / v[2]),
               1e-12);

    /* the probe: same metrics on paraphrased questions, and the lifts */
    const struct qa_item *it0 = &g_data.forget_eval.items[0];
    const struct rec *r = find_sample(&l, "forget_pq", "tofu.forget_pq.prob", 0);
    CHECK(r != NULL);
    if (r)
        CHECK_NEAR(r->value, exp(-direct_nll(it0->paraphrased_question, it0->answer)), 1e-12);
    CHECK_NEAR(metric_value(&l, "tofu.forget_pq.rouge_l_recall.lift"),
               metric_value(&l, "tofu.forget_pq.rouge_l_recall") -
                   metric_value(&l, "tofu.forget.rouge_l_recall"),
               1e-15);
    CHECK(find_metric(&l, "tofu.retain_pq.truth_ratio") != NULL);
    CHECK(find_metric(&l, "tofu.forget_pq.extraction_strength") != NULL);

    /* MIAs: every default attack, members = forget, non-members = holdout; loss = -l-bar */
    for (int k = 0; k < MIA_LM_KIND_COUNT; k++) {
        char nm[80];
        snprintf(nm, sizeof(nm), "tofu.mia.%s.auc", mia_lm_name((enum mia_lm_kind)k));
        CHECK((find_metric(&l, nm) != NULL) == (k != MIA_LM_REFERENCE));
    }
    const struct qa_item *h0 = &g_data.holdout.items[0];
    r = find_sample(&l, "holdout", "tofu.mia.loss.score", 0);
    CHECK(r != NULL);
    if (r)
        CHECK_NEAR(r->value, -direct_nll(h0->question, h0->answer), 1e-12);
    r = find_sample(&l, "forget", "tofu.mia.loss.score", 1);
    CHECK(r != NULL);
    const struct qa_item *f1 = &g_data.forget_eval.items[1];
    if (r)
        CHECK_NEAR(r->value, -direct_nll(f1->question, f1->answer), 1e-12);
    /* a model trained on forget and not on holdout: members score higher */
    CHECK(metric_value(&l, "tofu.mia.loss.auc") > 0.9);

    /* determinism, and another model against this oracle */
    struct rec_log l2 = {0};
    struct tofu_oracle own2;
    CHECK_EQ_INT(evaluate(g_model, &g_data, &own, &o, &l2, &own2, &err), 0);
    CHECK(same_logs(&l, &l2));
    free(l2.r);
    free((void *)own2.log_tr);

    struct gpt *fresh = gpt_new(gpt_cfg(g_model), 99);
    struct rec_log l3 = {0};
    CHECK_EQ_INT(evaluate(fresh, &g_data, &own, &o, &l3, &own2, &err), 0);
    double fq, fq10, pl;
    CHECK_EQ_INT(metric_tofu_forget_quality(own2.log_tr, own2.n, own.log_tr, own.n, &fq, &fq10, &err), 0);
    CHECK_NEAR(metric_value(&l3, "tofu.forget_quality"), fq, 0);
    CHECK_EQ_INT(metric_privleak(own2.mink_auc, own.mink_auc, &pl, &err), 0);
    CHECK_NEAR(metric_value(&l3, "tofu.privleak"), pl, 0);
    free((void *)own2.log_tr);
    free(l3.r);
    gpt_free(fresh);
    free((void *)own.log_tr);
    free(l.r);
}

static void test_batched_equals_single(void)
{
    struct tofu_eval_opts o;
    small_opts(&o);
    o.probes = 0;
    struct rec_log a = {0}, b = {0};
    struct lethe_error err = {0};
    CHECK_EQ_INT(evaluate(g_model, &g_data, NULL, &o, &a, NULL, &err), 0);
    o.batch = 1;
    o.gen_batch = 1;
    CHECK_EQ_INT(evaluate(g_model, &g_data, NULL, &o, &b, NULL, &err), 0);
    CHECK(a.n > 100);
    CHECK(same_logs(&a, &b));
    free(a.r);
    free(b.r);
}

/* the reference attack with a second model; attacks chosen by mask; no holdout = no MIA */
static void test_mia_options(void)
{
    struct tofu_eval_opts o;
    small_opts(&o);
    o.probes = 0;
    o.mia = MIA_LM_BIT(MIA_LM_LOSS) | MIA_LM_BIT(MIA_LM_REFERENCE);
    o.ref = g_model;
    struct rec_log l = {0};
    struct lethe_error err = {0};
    CHECK_EQ_INT(evaluate(g_model, &g_data, NULL, &o, &l, NULL, &err), 0);
    CHECK(find_metric(&l, "tofu.mia.loss.auc") != NULL);
    CHECK(find_metric(&l, "tofu.mia.min_k.auc") == NULL);
    CHECK(find_metric(&l, "tofu.privleak") == NULL);
    /* the model as its own reference: every score 0, AUC 0.5 */
    CHECK_NEAR(metric_value(&l, "tofu.mia.reference.auc"), 0.5, 0);
    free(l.r);

    struct tofu_data d = g_data;
    d.holdout.n = 0;
    struct rec_log l2 = {0};
    struct tofu_oracle own;
    small_opts(&o);
    CHECK_EQ_INT(evaluate(g_model, &d, NULL, &o, &l2, &own, &err), 0);
    for (size_t i = 0; i < l2.n; i++)
        CHECK(strstr(l2.r[i].name, ".mia.") == NULL);
    CHECK(find_metric(&l2, "tofu.privleak") == NULL);
    CHECK(isnan(own.mink_auc));
    CHECK(find_metric(&l2, "tofu.forget_quality") != NULL);
    free((void *)own.log_tr);
    free(l2.r);
}

/* bad data: an error naming split and item, and nothing written */
static void test_bad_data(void)
{
    struct tofu_eval_opts o;
    small_opts(&o);
    struct rec_log l = {0};
    struct lethe_error err = {0};
    struct qa_item *it = &g_data.retain_eval.items[2];
    char *para = it->paraphrased_answer;
    it->paraphrased_answer = NULL;
    CHECK(evaluate(g_model, &g_data, NULL, &o, &l, NULL, &err) < 0);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "'retain'");
    CHECK_CONTAINS(err.msg, "item 2");
    CHECK_EQ_INT(l.n, 0);
    it->paraphrased_answer = para;

    it = &g_data.real_authors.items[1];
    it->n_perturbed = 2;
    CHECK(evaluate(g_model, &g_data, NULL, &o, &l, NULL, &err) < 0);
    CHECK_CONTAINS(err.msg, "'ra': item 1 has 2 perturbed answers");
    CHECK_EQ_INT(l.n, 0);
    it->n_perturbed = 3;

    /* an answer too long for the context names its split and item */
    it = &g_data.holdout.items[3];
    char *ans = it->answer;
    struct strbuf big = STRBUF_INIT;
    for (int i = 0; i < 80; i++)
        strbuf_adds(&big, "salt crown ");
    it->answer = big.buf;
    CHECK(evaluate(g_model, &g_data, NULL, &o, &l, NULL, &err) < 0);
    CHECK_CONTAINS(err.msg, "'holdout': item 3");
    CHECK_CONTAINS(err.msg, "does not fit");
    CHECK_EQ_INT(l.n, 0);
    it->answer = ans;
    strbuf_release(&big);
    CHECK_EQ_INT(evaluate(g_model, &g_data, NULL, &o, &l, NULL, &err), 0);
    CHECK(l.n > 0);
    free(l.r);
}

int main(void)
{
    setup();
    RUN(test_tokenize_layout);
    RUN(test_values);
    RUN(test_batched_equals_single);
    RUN(test_mia_options);
    RUN(test_bad_data);
    free_data(&g_data);
    gpt_free(g_model);
    tokenizer_free(g_tok);
    return test_done();
}
