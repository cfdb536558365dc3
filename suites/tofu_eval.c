/* TOFU evaluation (METRICS.md 0.2-0.4 and 2, ATTACKS.md 1 and 5): tokenization of QA items,
 * batched scoring and generation, every tofu.* metric and the language-model MIAs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacks/attack.h"
#include "base/base.h"
#include "methods/method.h"
#include "metrics/metrics.h"
#include "nn/nn.h"
#include "suites/suite.h"

#define GEN_KV_BUDGET ((size_t)256 << 20) /* bytes of KV cache one generation call may hold */
#define GEN_MAX_ROWS 128

static double now_impl(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- tokenization (METRICS.md 0.2) -------------------------------------------------------- */

static int encode_impl(struct tokenizer *tok, const char *text, int **ids, size_t *n, size_t *cap,
                       struct lethe_error *err)
{
    return tokenizer_encode(tok, text, strlen(text), ids, n, cap, err);
}

int tofu_tokenize_qa_text(struct tokenizer *tok, const char *question, const char *answer,
                          int n_ctx, struct lm_example *out, struct lethe_error *err)
{
    struct strbuf prompt = STRBUF_INIT, target = STRBUF_INIT;
    strbuf_addf(&prompt, "Question: %s\nAnswer:", question);
    strbuf_addf(&target, " %s", answer);
    int *p = NULL, *a = NULL, rc;
    size_t np = 0, pcap = 0, na = 0, acap = 0;
    if ((rc = encode_impl(tok, prompt.buf, &p, &np, &pcap, err)) < 0 ||
        (rc = encode_impl(tok, target.buf, &a, &na, &acap, err)) < 0)
        goto done;
    if (n_ctx < 2 || na > (size_t)n_ctx - 2) {
        rc = lethe_err(err, LETHE_EINPUT,
                       "answer '%.40s' has %zu tokens and does not fit a context of %d with BOS "
                       "and EOS",
                       answer, na, n_ctx);
        goto done;
    }
    size_t keep = (size_t)n_ctx - 2 - na;
    if (keep > np)
        keep = np;
    size_t len = 1 + keep + na + 1;
    out->ids = xmalloc(len * sizeof(int));
    out->ids[0] = tokenizer_eot(tok);
    memcpy(out->ids + 1, p + (np - keep), keep * sizeof(int));
    memcpy(out->ids + 1 + keep, a, na * sizeof(int));
    out->ids[len - 1] = tokenizer_eot(tok);
    out->len = (int)len;
    out->prompt_len = (int)(1 + keep);
    rc = 0;
done:
    free(p);
    free(a);
    strbuf_release(&prompt);
    strbuf_release(&target);
    return rc;
}

int tofu_tokenize_qa(struct tokenizer *tok, const struct qa_item *item, const char *answer,
                     int n_ctx, struct lm_example *out, struct lethe_error *err)
{
    return tofu_tokenize_qa_text(tok, item->question, answer ? answer : item->answer, n_ctx, out,
                                 err);
}

/* ---- decoded text (METRICS.md 0.4) --------------------------------------------------------- */

/* Appends s[0..n) to out with every ill-formed UTF-8 subsequence replaced by U+FFFD, one per
 * maximal subpart (Python's errors="replace"). */
static void utf8_sanitize_impl(struct strbuf *out, const unsigned char *s, size_t n)
{
    static const char repl[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            strbuf_add(out, (const char *)s + i, 1);
            i++;
            continue;
        }
        int need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            strbuf_add(out, repl, 3);
            i++;
            continue;
        }
        int got = 0;
        while (got < need && i + 1 + (size_t)got < n) {
            unsigned d = s[i + 1 + (size_t)got];
            unsigned l = got == 0 ? lo : 0x80, h = got == 0 ? hi : 0xBF;
            if (d < l || d > h)
                break;
            got++;
        }
        if (got == need)
            strbuf_add(out, (const char *)s + i, (size_t)need + 1);
        else
            strbuf_add(out, repl, 3);
        i += 1 + (size_t)got;
    }
}

static int is_space_impl(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The continuation as text: decoded, ill-formed UTF-8 replaced, ASCII whitespace stripped.
 * Returned (free). */
static char *gen_text_impl(struct tokenizer *tok, const int *ids, int n, struct lethe_error *err)
{
    struct strbuf raw = STRBUF_INIT, clean = STRBUF_INIT;
    if (tokenizer_decode(tok, ids, (size_t)n, &raw, err) < 0) {
        strbuf_release(&raw);
        return NULL;
    }
    utf8_sanitize_impl(&clean, (const unsigned char *)(raw.buf ? raw.buf : ""), raw.len);
    strbuf_release(&raw);
    char *s = strbuf_detach(&clean);
    size_t b = 0, e = strlen(s);
    while (b < e && is_space_impl(s[b]))
        b++;
    while (e > b && is_space_impl(s[e - 1]))
        e--;
    memmove(s, s + b, e - b);
    s[e - b] = '\0';
    return s;
}

/* ---- results gathered in memory, written to the sink only when everything succeeded ------- */

enum rec_type { REC_METRIC, REC_SAMPLE, REC_CURVE };
struct rec {
    enum rec_type type;
    char *split, *name;
    double value, lo, hi, x, y;
    long n;     /* metric: n; sample: idx; curve: step */
};
struct recbuf {
    struct rec *r;
    size_t n, cap;
};

static void rec_push_impl(struct recbuf *rb, enum rec_type type, const char *split,
                          const char *name, double value, double lo, double hi, long n, double x,
                          double y)
{
    xgrow(&rb->r, &rb->cap, rb->n + 1, sizeof(*rb->r));
    rb->r[rb->n++] = (struct rec){type, xstrdup(split ? split : ""), xstrdup(name), value, lo, hi,
                                  x, y, n};
}

static void rec_metric_impl(void *ctx, const char *variant, const char *split, const char *name,
                            double value, double lo, double hi, long n)
{
    (void)variant;
    rec_push_impl(ctx, REC_METRIC, split, name, value, lo, hi, n, 0, 0);
}

static void rec_sample_impl(void *ctx, const char *variant, const char *split, const char *name,
                            long idx, double value)
{
    (void)variant;
    rec_push_impl(ctx, REC_SAMPLE, split, name, value, 0, 0, idx, 0, 0);
}

static void rec_curve_impl(void *ctx, const char *name, long step, double x, double y)
{
    rec_push_impl(ctx, REC_CURVE, "", name, 0, 0, 0, step, x, y);
}

static void recbuf_flush_impl(const struct recbuf *rb, const char *variant,
                              const struct metric_sink *sink)
{
    for (size_t i = 0; sink && i < rb->n; i++) {
        const struct rec *r = &rb->r[i];
        if (r->type == REC_METRIC && sink->metric)
            sink->metric(sink->ctx, variant, r->split, r->name, r->value, r->lo, r->hi, r->n);
        else if (r->type == REC_SAMPLE && sink->sample)
            sink->sample(sink->ctx, variant, r->split, r->name, r->n, r->value);
        else if (r->type == REC_CURVE && sink->curve)
            sink->curve(sink->ctx, r->name, r->n, r->x, r->y);
    }
}

static void recbuf_release_impl(struct recbuf *rb)
{
    for (size_t i = 0; i < rb->n; i++) {
        free(rb->r[i].split);
        free(rb->r[i].name);
    }
    free(rb->r);
    rb->r = NULL;
    rb->n = rb->cap = 0;
}

/* ---- the evaluation's plan: splits, sequences to score, prompts to continue ---------------- */

enum role { ROLE_FORGET, ROLE_RETAIN, ROLE_UTIL };

/* the metrics a split can have, for the probe lifts */
enum smet {
    SM_PROB, SM_PARA_PROB, SM_PERT_PROB, SM_TR, SM_TR_PROB_MEAN, SM_ROUGE, SM_PROB_NORM, SM_EM,
    SM_ES, SM_COUNT
};
static const char *const smet_names[] = {"prob", "para_prob", "pert_prob", "truth_ratio",
                                         "truth_ratio_prob_mean", "rouge_l_recall", "prob_norm",
                                         "exact_memorization", "extraction_strength"};
_Static_assert(sizeof(smet_names) / sizeof(smet_names[0]) == SM_COUNT, "one name per metric");

struct split_ev {
    const char *name;           /* "forget", "retain", "ra", "wf", "forget_pq", "retain_pq" */
    const struct qa_set *set;
    enum role role;
    int pq;                     /* questions = paraphrased_question */
    int plain;                  /* index of the plain split of a probe split, else -1 */
    int tr;                     /* paraphrased/perturbed answers present: truth-ratio metrics */
    size_t n, k;                /* items, perturbed answers per item */
    size_t ans0, para0, pert0;  /* sequence indices: answers, paraphrased, perturbed (i k + j) */
    size_t gen0;                /* prompt indices */
    double *ltr;                /* (n) log truth ratios when tr */
    double val[SM_COUNT];
    int have[SM_COUNT];
};

#define MAX_SPLITS 6

struct ev {
    struct gpt *m;
    struct tokenizer *tok;
    const struct tofu_eval_opts *o;
    int n_ctx;
    struct lm_example *ex;      /* the sequences to score */
    unsigned *want;             /* (n_ex) LM_STAT_* of each */
    size_t n_ex, cap_ex, cap_want;
    int **prompts;              /* the prompts to continue: [BOS] + tok(prompt) */
    int *prompt_lens;
    const char **refs;          /* the answers the continuations are compared with */
    size_t n_gen, cap_p, cap_pl, cap_r;
    char **gens;                /* (n_gen) the continuations */
    struct lm_seq_stats *st;    /* (n_ex) */
    struct split_ev sp[MAX_SPLITS];
    int n_sp;
    const struct qa_set *hold;  /* holdout items: answers hold0.. (MIA negatives) */
    size_t hold0, n_hold;
    struct recbuf rb;
    struct metric_sink rec;
};

static int add_seq_impl(struct ev *e, const char *question, const char *answer, unsigned want,
                        struct lethe_error *err)
{
    xgrow(&e->ex, &e->cap_ex, e->n_ex + 1, sizeof(*e->ex));
    xgrow(&e->want, &e->cap_want, e->n_ex + 1, sizeof(*e->want));
    int rc = tofu_tokenize_qa_text(e->tok, question, answer, e->n_ctx, &e->ex[e->n_ex], err);
    if (rc < 0)
        return rc;
    e->want[e->n_ex++] = want;
    return 0;
}

static int add_prompt_impl(struct ev *e, const char *question, const char *ref,
                           struct lethe_error *err)
{
    xgrow(&e->prompts, &e->cap_p, e->n_gen + 1, sizeof(*e->prompts));
    xgrow(&e->prompt_lens, &e->cap_pl, e->n_gen + 1, sizeof(*e->prompt_lens));
    xgrow(&e->refs, &e->cap_r, e->n_gen + 1, sizeof(*e->refs));
    struct strbuf prompt = STRBUF_INIT;
    strbuf_addf(&prompt, "Question: %s\nAnswer:", question);
    int *ids = NULL;
    size_t n = 0, cap = 0;
    xgrow(&ids, &cap, 1, sizeof(*ids));
    ids[n++] = tokenizer_eot(e->tok);
    int rc = encode_impl(e->tok, prompt.buf, &ids, &n, &cap, err);
    strbuf_release(&prompt);
    if (rc < 0) {
        free(ids);
        return rc;
    }
    e->prompts[e->n_gen] = ids;
    e->prompt_lens[e->n_gen] = (int)n;
    e->refs[e->n_gen++] = ref;
    return 0;
}

/* Checks the items of a split and queues its sequences and prompts. A probe split whose items
 * lack paraphrased questions is skipped (0, nothing queued). */
static int plan_split_impl(struct ev *e, const char *name, const struct qa_set *set,
                           enum role role, int pq, int plain, unsigned ans_want,
                           struct lethe_error *err)
{
    if (!set || set->n == 0)
        return 0;
    const struct qa_item *it = set->items;
    size_t n = set->n;
    if (pq)
        for (size_t i = 0; i < n; i++)
            if (!it[i].paraphrased_question)
                return 0;
    int k = it[0].n_perturbed, para = it[0].paraphrased_answer != NULL;
    for (size_t i = 0; i < n; i++) {
        if (!it[i].question || !it[i].answer)
            return lethe_err(err, LETHE_EINPUT, "tofu split '%s': item %zu has no %s", name, i,
                             it[i].question ? "answer" : "question");
        if (it[i].n_perturbed != k)
            return lethe_err(err, LETHE_EINPUT,
                             "tofu split '%s': item %zu has %d perturbed answers, item 0 has %d",
                             name, i, it[i].n_perturbed, k);
        for (int j = 0; j < k; j++)
            if (!it[i].perturbed || !it[i].perturbed[j])
                return lethe_err(err, LETHE_EINPUT,
                                 "tofu split '%s': item %zu: perturbed answer %d is missing", name,
                                 i, j);
        if (role != ROLE_UTIL && (it[i].paraphrased_answer != NULL) != para)
            return lethe_err(err, LETHE_EINPUT,
                             "tofu split '%s': item %zu %s a paraphrased answer and item 0 %s",
                             name, i, para ? "has no" : "has", para ? "has" : "has none");
    }
    LETHE_ASSERT(e->n_sp < MAX_SPLITS);
    struct split_ev *s = &e->sp[e->n_sp];
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->set = set;
    s->role = role;
    s->pq = pq;
    s->plain = plain;
    s->n = n;
    s->k = k > 0 ? (size_t)k : 0;
    s->tr = k > 0 && (role == ROLE_UTIL || para);
    int rc = 0;
    size_t i = 0;
    s->ans0 = e->n_ex;
    for (i = 0; i < n && rc == 0; i++)
        rc = add_seq_impl(e, pq ? it[i].paraphrased_question : it[i].question, it[i].answer,
                          ans_want, err);
    s->para0 = e->n_ex;
    for (i = 0; s->tr && role != ROLE_UTIL && i < n && rc == 0; i++)
        rc = add_seq_impl(e, pq ? it[i].paraphrased_question : it[i].question,
                          it[i].paraphrased_answer, 0, err);
    s->pert0 = e->n_ex;
    for (i = 0; s->tr && i < n && rc == 0; i++)
        for (int j = 0; j < k && rc == 0; j++)
            rc = add_seq_impl(e, pq ? it[i].paraphrased_question : it[i].question,
                              it[i].perturbed[j], 0, err);
    s->gen0 = e->n_gen;
    for (i = 0; i < n && rc == 0; i++)
        rc = add_prompt_impl(e, pq ? it[i].paraphrased_question : it[i].question, it[i].answer,
                             err);
    if (rc < 0) {
        lethe_err_prefix(err, "tofu split '%s': item %zu", name, i - 1);
        return rc;
    }
    e->n_sp++;
    return 0;
}

static struct split_ev *find_split_impl(struct ev *e, const char *name)
{
    for (int i = 0; i < e->n_sp; i++)
        if (strcmp(e->sp[i].name, name) == 0)
            return &e->sp[i];
    return NULL;
}

/* ---- scoring and generation ----------------------------------------------------------------- */

static void seq_of_impl(struct lm_seq *q, const struct lm_example *x)
{
    *q = (struct lm_seq){x->ids, x->len, x->prompt_len, 1};
}

/* Scores every queued sequence, grouped by what is kept of it. */
static int score_all_impl(struct ev *e, struct lethe_error *err)
{
    e->st = xcalloc(e->n_ex ? e->n_ex : 1, sizeof(*e->st));
    struct lm_seq *seqs = xmalloc((e->n_ex ? e->n_ex : 1) * sizeof(*seqs));
    struct lm_seq_stats *tmp = xmalloc((e->n_ex ? e->n_ex : 1) * sizeof(*tmp));
    size_t *idx = xmalloc((e->n_ex ? e->n_ex : 1) * sizeof(*idx));
    int rc = 0;
    for (unsigned w = 0; w < 8 && rc == 0; w++) {
        size_t c = 0;
        for (size_t i = 0; i < e->n_ex; i++)
            if (e->want[i] == w) {
                seq_of_impl(&seqs[c], &e->ex[i]);
                idx[c++] = i;
            }
        if (c == 0)
            continue;
        rc = mia_lm_score_seqs(e->m, seqs, c, w, e->o->batch, tmp, err);
        for (size_t j = 0; rc == 0 && j < c; j++)
            e->st[idx[j]] = tmp[j];
    }
    free(seqs);
    free(tmp);
    free(idx);
    return rc;
}

/* Greedy continuations of every queued prompt (METRICS.md 0.4), in chunks. */
static int generate_all_impl(struct ev *e, struct lethe_error *err)
{
    const struct gpt_config *cfg = gpt_cfg(e->m);
    int max_new = e->o->max_new_tokens;
    e->gens = xcalloc(e->n_gen ? e->n_gen : 1, sizeof(*e->gens));
    size_t row_kv = 2 * (size_t)cfg->n_layer * (size_t)cfg->n_embd * (size_t)cfg->n_ctx *
                    sizeof(float);
    size_t rows = e->o->gen_batch > 0 ? (size_t)e->o->gen_batch : GEN_KV_BUDGET / row_kv;
    if (rows < 1)
        rows = 1;
    if (e->o->gen_batch <= 0 && rows > GEN_MAX_ROWS)
        rows = GEN_MAX_ROWS;
    if (rows > e->n_gen)
        rows = e->n_gen ? e->n_gen : 1;
    struct gen_config gc = {.max_new_tokens = max_new, .eos_id = tokenizer_eot(e->tok),
                            .temperature = 0.0f};
    int *out = xmalloc(rows * (size_t)(max_new > 0 ? max_new : 1) * sizeof(int));
    int *out_lens = xmalloc(rows * sizeof(int));
    int rc = 0;
    for (size_t g0 = 0; g0 < e->n_gen && rc == 0; g0 += rows) {
        int B = (int)(e->n_gen - g0 < rows ? e->n_gen - g0 : rows);
        rc = gpt_generate(e->m, (const int *const *)(e->prompts + g0), e->prompt_lens + g0, B, &gc,
                          out, out_lens, NULL, err);
        for (int b = 0; rc == 0 && b < B; b++) {
            e->gens[g0 + (size_t)b] = gen_text_impl(e->tok, out + (size_t)b * (size_t)max_new,
                                                    out_lens[b], err);
            if (!e->gens[g0 + (size_t)b])
                rc = -LETHE_EFAIL;
        }
    }
    free(out);
    free(out_lens);
    return rc;
}

/* ---- metrics ---------------------------------------------------------------------------------- */

/* A per-item metric of a split: its mean with a bootstrap CI, and its items as samples. */
static int emit_items_impl(struct ev *e, struct split_ev *s, enum smet which, const double *item,
                           double mean, struct lethe_error *err)
{
    char name[128];
    snprintf(name, sizeof(name), "tofu.%s.%s", s->name, smet_names[which]);
    struct metric_ci ci;
    int rc = metric_bootstrap_mean(item, s->n, name, e->o->seed, 0, &ci, err);
    if (rc < 0) {
        lethe_err_prefix(err, "%s", name);
        return rc;
    }
    e->rec.metric(e->rec.ctx, "", s->name, name, mean, ci.low, ci.high, (long)s->n);
    for (size_t i = 0; i < s->n; i++)
        e->rec.sample(e->rec.ctx, "", s->name, name, (long)i, item[i]);
    s->val[which] = mean;
    s->have[which] = 1;
    return 0;
}

static int split_metrics_impl(struct ev *e, struct split_ev *s, struct lethe_error *err)
{
    size_t n = s->n, k = s->k;
    double *ans = xmalloc(n * sizeof(double)), *para = xmalloc(n * sizeof(double));
    double *pert = xmalloc((n * k > 0 ? n * k : 1) * sizeof(double)), *item = xmalloc(n * sizeof(double));
    double mean;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        ans[i] = e->st[s->ans0 + i].nll;
        para[i] = s->tr && s->role != ROLE_UTIL ? e->st[s->para0 + i].nll : 0;
        for (size_t j = 0; s->tr && j < k; j++)
            pert[i * k + j] = e->st[s->pert0 + i * k + j].nll;
    }
    if (s->role != ROLE_UTIL) {
        if ((rc = metric_tofu_prob(ans, n, item, &mean, err)) < 0 ||
            (rc = emit_items_impl(e, s, SM_PROB, item, mean, err)) < 0)
            goto done;
        if (s->tr && ((rc = metric_tofu_prob(para, n, item, &mean, err)) < 0 ||
                      (rc = emit_items_impl(e, s, SM_PARA_PROB, item, mean, err)) < 0 ||
                      (rc = metric_tofu_pert_prob(pert, n, k, item, &mean, err)) < 0 ||
                      (rc = emit_items_impl(e, s, SM_PERT_PROB, item, mean, err)) < 0))
            goto done;
    } else if (s->tr) {
        if ((rc = metric_tofu_prob_norm(ans, pert, n, k, item, &mean, err)) < 0 ||
            (rc = emit_items_impl(e, s, SM_PROB_NORM, item, mean, err)) < 0)
            goto done;
    }
    if (s->tr) {
        s->ltr = xmalloc(n * sizeof(double));
        enum metric_tr_form form = s->role == ROLE_FORGET ? METRIC_TR_FORGET : METRIC_TR_RETAIN;
        if ((rc = metric_tofu_log_truth_ratios(s->role == ROLE_UTIL ? ans : para, pert, n, k,
                                               s->ltr, err)) < 0 ||
            (rc = metric_tofu_truth_ratio(s->ltr, n, form, item, &mean, err)) < 0 ||
            (rc = emit_items_impl(e, s, SM_TR, item, mean, err)) < 0 ||
            (rc = metric_tofu_truth_ratio(s->ltr, n, METRIC_TR_PROB_MEAN, item, &mean, err)) < 0 ||
            (rc = emit_items_impl(e, s, SM_TR_PROB_MEAN, item, mean, err)) < 0)
            goto done;
        char name[128];
        snprintf(name, sizeof(name), "tofu.%s.log_truth_ratio", s->name);
        for (size_t i = 0; i < n; i++)
            e->rec.sample(e->rec.ctx, "", s->name, name, (long)i, s->ltr[i]);
    }
    if ((rc = metric_tofu_rouge_recall(e->refs + s->gen0, (const char *const *)e->gens + s->gen0, n,
                                       item, &mean, err)) < 0 ||
        (rc = emit_items_impl(e, s, SM_ROUGE, item, mean, err)) < 0)
        goto done;
    if (s->role == ROLE_FORGET) {
        double *es = xmalloc(n * sizeof(double));
        double em_sum = 0, es_sum = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const struct lm_seq_stats *q = &e->st[s->ans0 + i];
            const struct lm_example *x = &e->ex[s->ans0 + i];
            rc = metric_exact_memorization(q->pred, x->ids + x->prompt_len, (size_t)q->n_tok,
                                           &item[i], err);
            if (rc == 0)
                rc = metric_extraction_strength(q->pred, x->ids + x->prompt_len, (size_t)q->n_tok,
                                                &es[i], err);
            em_sum += item[i];
            es_sum += es[i];
        }
        if (rc == 0)
            rc = emit_items_impl(e, s, SM_EM, item, em_sum / (double)n, err);
        if (rc == 0)
            rc = emit_items_impl(e, s, SM_ES, es, es_sum / (double)n, err);
        free(es);
    }
done:
    if (rc < 0 && !strstr(err ? err->msg : "", "tofu."))
        lethe_err_prefix(err, "tofu split '%s'", s->name);
    free(ans);
    free(para);
    free(pert);
    free(item);
    return rc;
}

/* Suite-level aggregates: forget quality, model and retain utility, probe lifts. */
static int aggregates_impl(struct ev *e, const struct tofu_oracle *oracle, struct lethe_error *err)
{
    int rc;
    static const char *const fq_split[2] = {"forget", "forget_pq"};
    static const char *const fq_name[2] = {"tofu.forget_quality", "tofu.forget_quality_pq"};
    for (int p = 0; p < 2; p++) {
        struct split_ev *s = find_split_impl(e, fq_split[p]);
        if (!s || !s->tr)
            continue;
        const double *o = s->ltr;
        size_t no = s->n;
        if (oracle) {
            o = p ? oracle->log_tr_pq : oracle->log_tr;
            no = p ? oracle->n_pq : oracle->n;
        }
        if (!o || no == 0)
            continue;
        double fq, fq10;
        if ((rc = metric_tofu_forget_quality(s->ltr, s->n, o, no, &fq, &fq10, err)) < 0) {
            lethe_err_prefix(err, "%s", fq_name[p]);
            return rc;
        }
        char name[64];
        snprintf(name, sizeof(name), "%s_log10", fq_name[p]);
        e->rec.metric(e->rec.ctx, "", "", fq_name[p], fq, NAN, NAN, (long)s->n);
        e->rec.metric(e->rec.ctx, "", "", name, fq10, NAN, NAN, (long)s->n);
    }
    struct split_ev *r = find_split_impl(e, "retain"), *ra = find_split_impl(e, "ra"),
                    *wf = find_split_impl(e, "wf");
    if (r && r->have[SM_PROB] && r->have[SM_ROUGE] && r->have[SM_TR]) {
        double ru;
        if ((rc = metric_tofu_retain_utility(r->val[SM_PROB], r->val[SM_ROUGE], r->val[SM_TR], &ru,
                                             err)) < 0)
            return rc;
        e->rec.metric(e->rec.ctx, "", "", "tofu.retain_utility", ru, NAN, NAN, (long)r->n);
        if (ra && wf && ra->have[SM_PROB_NORM] && ra->have[SM_TR] && wf->have[SM_PROB_NORM] &&
            wf->have[SM_TR]) {
            double v[METRIC_MU_TERM_COUNT] = {
                r->val[SM_PROB],       r->val[SM_ROUGE],  r->val[SM_TR],
                ra->val[SM_PROB_NORM], ra->val[SM_ROUGE], ra->val[SM_TR],
                wf->val[SM_PROB_NORM], wf->val[SM_ROUGE], wf->val[SM_TR]};
            double mu;
            if ((rc = metric_tofu_model_utility(v, &mu, err)) < 0)
                return rc;
            e->rec.metric(e->rec.ctx, "", "", "tofu.model_utility", mu, NAN, NAN,
                          (long)(r->n + ra->n + wf->n));
        }
    }
    for (int i = 0; i < e->n_sp; i++) {
        struct split_ev *s = &e->sp[i];
        if (s->plain < 0)
            continue;
        const struct split_ev *pl = &e->sp[s->plain];
        for (int j = 0; j < SM_COUNT; j++)
            if (s->have[j] && pl->have[j]) {
                char name[128];
                snprintf(name, sizeof(name), "tofu.%s.%s.lift", s->name, smet_names[j]);
                e->rec.metric(e->rec.ctx, "", s->name, name, s->val[j] - pl->val[j], NAN, NAN,
                              (long)s->n);
            }
    }
    return 0;
}

/* The MIAs, forget answers (members) vs holdout answers (non-members), and privleak. */
static int mias_impl(struct ev *e, const struct tofu_oracle *oracle, unsigned mask,
                     const char *variant, double *mink_auc, struct lethe_error *err)
{
    *mink_auc = NAN;
    struct split_ev *f = find_split_impl(e, "forget");
    if (!f || e->n_hold == 0 || mask == 0)
        return 0;
    size_t np = f->n, nn = e->n_hold, nt = np + nn;
    struct lm_seq_stats *st = xmalloc(nt * sizeof(*st)), *ref = NULL;
    struct lm_seq *seqs = xmalloc(nt * sizeof(*seqs));
    const char **texts = xmalloc(nt * sizeof(*texts));
    double *gnorm = NULL, *m = xmalloc(nt * sizeof(double));
    for (size_t i = 0; i < nt; i++) {
        size_t x = i < np ? f->ans0 + i : e->hold0 + (i - np);
        st[i] = e->st[x];
        seq_of_impl(&seqs[i], &e->ex[x]);
        texts[i] = i < np ? f->set->items[i].answer : e->hold->items[i - np].answer;
    }
    int rc = 0;
    double t0 = now_impl();
    if (mask & MIA_LM_BIT(MIA_LM_GRADNORM)) {
        gnorm = xmalloc(nt * sizeof(double));
        rc = mia_lm_gradnorm(e->m, seqs, nt, gnorm, err);
    }
    if (rc == 0 && (mask & MIA_LM_BIT(MIA_LM_REFERENCE))) {
        ref = xcalloc(nt, sizeof(*ref));
        rc = mia_lm_score_seqs(e->o->ref, seqs, nt, 0, e->o->batch, ref, err);
        if (rc < 0)
            lethe_err_prefix(err, "reference model");
    }
    double auc;
    for (int k = 0; rc == 0 && k < MIA_LM_KIND_COUNT; k++) {
        if (!(mask & MIA_LM_BIT(k)))
            continue;
        rc = mia_lm_member_scores((enum mia_lm_kind)k, st, ref, texts, gnorm, nt, m, err);
        if (rc == 0)
            rc = mia_lm_report("tofu", (enum mia_lm_kind)k, m, np, m + np, nn, variant, &e->rec,
                               e->o->seed, &auc, err);
        if (rc == 0 && k == MIA_LM_MIN_K) {
            *mink_auc = auc;
            double a_o = oracle ? oracle->mink_auc : auc, pl;
            if (isfinite(a_o)) {
                if ((rc = metric_privleak(auc, a_o, &pl, err)) == 0)
                    e->rec.metric(e->rec.ctx, "", "", "tofu.privleak", pl, NAN, NAN, (long)nt);
            }
        }
    }
    if (e->o->timing)
        e->o->timing->attack_s += now_impl() - t0;
    lm_seq_stats_release(ref, ref ? nt : 0);
    free(ref);
    free(st);
    free(seqs);
    free(texts);
    free(gnorm);
    free(m);
    return rc;
}

/* ---- the evaluation ----------------------------------------------------------------------------- */

void tofu_eval_opts_init(struct tofu_eval_opts *o)
{
    *o = (struct tofu_eval_opts){.max_new_tokens = 200, .batch = 32, .gen_batch = 0, .seed = 0,
                                 .mia = ~0u, .ref = NULL, .probes = 1, .timing = NULL};
}

static void ev_release_impl(struct ev *e)
{
    for (size_t i = 0; i < e->n_ex; i++)
        free(e->ex[i].ids);
    free(e->ex);
    free(e->want);
    for (size_t i = 0; i < e->n_gen; i++) {
        free(e->prompts[i]);
        if (e->gens)
            free(e->gens[i]);
    }
    free(e->prompts);
    free(e->prompt_lens);
    free(e->refs);
    free(e->gens);
    lm_seq_stats_release(e->st, e->st ? e->n_ex : 0);
    free(e->st);
    for (int i = 0; i < e->n_sp; i++)
        free(e->sp[i].ltr);
    recbuf_release_impl(&e->rb);
}

int tofu_evaluate_opts(struct gpt *m, struct tokenizer *tok, const struct tofu_data *d,
                       const struct tofu_oracle *oracle, const char *variant,
                       const struct tofu_eval_opts *opts, const struct metric_sink *sink,
                       struct tofu_oracle *own, struct lethe_error *err)
{
    struct tofu_eval_opts defaults;
    if (!opts) {
        tofu_eval_opts_init(&defaults);
        opts = &defaults;
    }
    if (opts->max_new_tokens < 0)
        return lethe_err(err, LETHE_EINPUT, "max_new_tokens must be >= 0, not %d",
                         opts->max_new_tokens);
    if (!variant)
        variant = "base";
    if (own)
        *own = (struct tofu_oracle){NULL, 0, NAN, NULL, 0};
    struct ev e;
    memset(&e, 0, sizeof(e));
    e.m = m;
    e.tok = tok;
    e.o = opts;
    e.n_ctx = gpt_cfg(m)->n_ctx;
    e.rec = (struct metric_sink){rec_metric_impl, rec_sample_impl, rec_curve_impl, &e.rb};
    unsigned mask = opts->mia & (MIA_LM_BIT(MIA_LM_KIND_COUNT) - 1u);
    if (!opts->ref)
        mask &= ~MIA_LM_BIT(MIA_LM_REFERENCE);
    int need_mia = mask && d->holdout.n > 0;
    unsigned mia_want = 0;
    if (need_mia && (mask & (MIA_LM_BIT(MIA_LM_MIN_K) | MIA_LM_BIT(MIA_LM_MIN_K20))))
        mia_want |= LM_STAT_TOKENS;
    if (need_mia && (mask & MIA_LM_BIT(MIA_LM_MIN_K_PP)))
        mia_want |= LM_STAT_ZPP;
    const struct qa_set *forget = d->forget_eval.n ? &d->forget_eval : &d->forget;

    int rc = 0;
    double t0 = now_impl();
    if ((rc = plan_split_impl(&e, "forget", forget, ROLE_FORGET, 0, -1,
                              LM_STAT_ARGMAX | mia_want, err)) < 0 ||
        (rc = plan_split_impl(&e, "retain", &d->retain_eval, ROLE_RETAIN, 0, -1, 0, err)) < 0 ||
        (rc = plan_split_impl(&e, "ra", &d->real_authors, ROLE_UTIL, 0, -1, 0, err)) < 0 ||
        (rc = plan_split_impl(&e, "wf", &d->world_facts, ROLE_UTIL, 0, -1, 0, err)) < 0)
        goto done;
    if (opts->probes) {
        struct split_ev *f = find_split_impl(&e, "forget"), *r = find_split_impl(&e, "retain");
        if (f && (rc = plan_split_impl(&e, "forget_pq", forget, ROLE_FORGET, 1,
                                       (int)(f - e.sp), LM_STAT_ARGMAX, err)) < 0)
            goto done;
        if (r && (rc = plan_split_impl(&e, "retain_pq", &d->retain_eval, ROLE_RETAIN, 1,
                                       (int)(r - e.sp), 0, err)) < 0)
            goto done;
    }
    if (need_mia && find_split_impl(&e, "forget")) {
        e.hold0 = e.n_ex;
        for (size_t i = 0; i < d->holdout.n && rc == 0; i++) {
            const struct qa_item *it = &d->holdout.items[i];
            if (!it->question || !it->answer)
                rc = lethe_err(err, LETHE_EINPUT, "tofu split 'holdout': item %zu has no %s", i,
                               it->question ? "answer" : "question");
            else if ((rc = add_seq_impl(&e, it->question, it->answer, mia_want, err)) < 0)
                lethe_err_prefix(err, "tofu split 'holdout': item %zu", i);
        }
        if (rc < 0)
            goto done;
        e.n_hold = d->holdout.n;
        e.hold = &d->holdout;
    }

    if ((rc = score_all_impl(&e, err)) < 0)
        goto done;
    double t1 = now_impl();
    if ((rc = generate_all_impl(&e, err)) < 0)
        goto done;
    double t2 = now_impl();
    if (opts->timing) {
        opts->timing->score_s += t1 - t0;
        opts->timing->gen_s += t2 - t1;
    }
    for (int i = 0; i < e.n_sp; i++)
        if ((rc = split_metrics_impl(&e, &e.sp[i], err)) < 0)
            goto done;
    if ((rc = aggregates_impl(&e, oracle, err)) < 0)
        goto done;
    double mink_auc;
    if ((rc = mias_impl(&e, oracle, need_mia ? mask : 0, variant, &mink_auc, err)) < 0)
        goto done;

    recbuf_flush_impl(&e.rb, variant, sink);
    if (own) {
        struct split_ev *f = find_split_impl(&e, "forget"), *fp = find_split_impl(&e, "forget_pq");
        size_t n = f && f->tr ? f->n : 0, npq = fp && fp->tr ? fp->n : 0;
        double *buf = xmalloc((n + npq ? n + npq : 1) * sizeof(double));
        if (n)
            memcpy(buf, f->ltr, n * sizeof(double));
        if (npq)
            memcpy(buf + n, fp->ltr, npq * sizeof(double));
        *own = (struct tofu_oracle){buf, n, mink_auc, npq ? buf + n : NULL, npq};
    }
done:
    ev_release_impl(&e);
    return rc;
}

int tofu_evaluate(struct gpt *m, struct tokenizer *tok, const struct tofu_data *d,
                  const struct tofu_oracle *oracle, const char *variant,
                  const struct metric_sink *sink, struct tofu_oracle *own,
                  struct lethe_error *err)
{
    return tofu_evaluate_opts(m, tok, d, oracle, variant, NULL, sink, own, err);
}
