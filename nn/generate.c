/* Generation with a KV cache: each prompt prefilled alone, then the batch decoded step by step
 * with row-by-row kernels, so a row's tokens never depend on the rest of the batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gpt_impl.h"
#include "nn/ops.h"

const char *gen_config_check(const struct gen_config *gc, const struct gpt_config *cfg)
{
    if (gc->max_new_tokens < 0)
        return "max_new_tokens must be >= 0";
    if (gc->eos_id < -1 || gc->eos_id >= cfg->vocab)
        return "eos_id must be -1 or a token id of the vocabulary";
    if (!(gc->temperature >= 0.0f) || !isfinite(gc->temperature))
        return "temperature must be a number >= 0";
    if (gc->top_k < 0)
        return "top_k must be >= 0";
    return NULL;
}

int gen_prompt_keep(int prompt_len, int max_new_tokens, int n_ctx)
{
    int reserve = max_new_tokens < n_ctx / 2 ? max_new_tokens : n_ctx / 2;
    int limit = n_ctx - reserve;
    return prompt_len > limit ? limit : prompt_len;
}

/* ---- choosing a token ------------------------------------------------------------------------ */

static int argmax_impl(const float *z, int V)
{
    int best = 0;
    for (int i = 1; i < V; i++)
        if (z[i] > z[best]) /* strict: ties go to the lowest id */
            best = i;
    return best;
}

/* a ranks before b: larger logit, then lower id */
static int before_impl(const float *z, int a, int b)
{
    return z[a] > z[b] || (z[a] == z[b] && a < b);
}

/* Sift-down in a min-heap (by before_impl: the root is the worst kept id). */
static void heap_down_impl(int *h, int n, int i, const float *z)
{
    for (;;) {
        int w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && before_impl(z, h[w], h[l]))
            w = l;
        if (r < n && before_impl(z, h[w], h[r]))
            w = r;
        if (w == i)
            return;
        int t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Samples from softmax(z / temperature) restricted to the top_k ids (ids ranked by logit, ties
 * by lower id); idx is (V) scratch. Cumulative sums in double, in rank order for top-k and in
 * id order otherwise. */
static int sample_impl(const float *z, int V, float temperature, int top_k, int *idx,
                       struct nn_rng *rng)
{
    int k = top_k > 0 && top_k < V ? top_k : V;
    if (k < V) {
        for (int i = 0; i < k; i++)
            idx[i] = i;
        for (int i = k / 2 - 1; i >= 0; i--)
            heap_down_impl(idx, k, i, z);
        for (int i = k; i < V; i++)
            if (before_impl(z, i, idx[0])) {
                idx[0] = i;
                heap_down_impl(idx, k, 0, z);
            }
        /* heap order -> rank order (insertion sort: k is small) */
        for (int i = 1; i < k; i++) {
            int v = idx[i], j = i;
            for (; j > 0 && before_impl(z, v, idx[j - 1]); j--)
                idx[j] = idx[j - 1];
            idx[j] = v;
        }
    } else {
        for (int i = 0; i < V; i++)
            idx[i] = i;
    }
    float mx = z[idx[0]];
    for (int i = 1; i < k; i++)
        mx = z[idx[i]] > mx ? z[idx[i]] : mx;
    double total = 0.0;
    for (int i = 0; i < k; i++)
        total += exp(((double)z[idx[i]] - mx) / temperature);
    double u = nn_rng_uniform(rng) * total, cum = 0.0;
    for (int i = 0; i < k; i++) {
        cum += exp(((double)z[idx[i]] - mx) / temperature);
        if (u < cum)
            return idx[i];
    }
    return idx[k - 1];
}

/* ---- decoding state ------------------------------------------------------------------------- */

struct gen_row {
    const int *prompt;
    int keep;                   /* prompt tokens kept */
    int n;                      /* tokens generated (and kept in out) */
    int done;
    enum gen_stop reason;
    float *k, *v;               /* (L, cap, C) cache */
    int cap;
    struct nn_rng rng;
};

/* Appends token id to row b (or stops it); returns whether the row goes on. */
static int push_impl(struct gen_row *r, int b, int id, const struct gen_config *gc, int n_ctx,
                     int *out)
{
    if (id == gc->eos_id) {
        r->done = 1;
        r->reason = GEN_STOP_EOS;
        return 0;
    }
    int *row = out + (size_t)b * gc->max_new_tokens;
    row[r->n++] = id;
    if (gc->stop && gc->stop(gc->stop_ctx, b, row, r->n)) {
        r->done = 1;
        r->reason = GEN_STOP_CALLBACK;
    } else if (r->n == gc->max_new_tokens) {
        r->done = 1;
        r->reason = GEN_STOP_MAX;
    } else if (r->keep + r->n >= n_ctx) {
        r->done = 1;
        r->reason = GEN_STOP_CTX;
    }
    return !r->done;
}

static int choose_impl(const float *z, int V, const struct gen_config *gc, int *idx,
                       struct nn_rng *rng)
{
    if (gc->temperature == 0.0f)
        return argmax_impl(z, V);
    return sample_impl(z, V, gc->temperature, gc->top_k, idx, rng);
}

/* Buffers of one decoding step for up to B rows. */
struct gen_step {
    float *x, *ln, *atty, *tmp;     /* (R, C) */
    float *qkv;                     /* (R, 3C) */
    float *fc, *fcg;                /* (R, 4C) */
    float *logits;                  /* (R, V) */
    float *mean, *rstd;             /* (R) */
    float *scratch;                 /* (R, n_ctx) */
};

/* One step over the R rows listed in act: token tok[i] at position pos[i] of row act[i];
 * logits (R, V) into st->logits. Every kernel computes a row the same way whatever R is. */
static void decode_step_impl(struct gpt *m, struct gen_row *rows, const int *act, const int *tok,
                             const int *pos, int R, struct gen_step *st)
{
    const struct gpt_config *cfg = &m->cfg;
    int C = cfg->n_embd, NH = cfg->n_head, V = cfg->vocab;
    size_t rc = (size_t)R * C;
    double work = 0.0;
    for (int i = 0; i < R; i++)
        work += 2.0 * (pos[i] + 1) * C;
    encoder_forward(st->x, tok, pos, m->wte, m->wpe, R, C);
    for (int l = 0; l < cfg->n_layer; l++) {
        const struct gpt_block *w = &m->w[l];
        layernorm_forward(st->ln, st->mean, st->rstd, st->x, w->ln1w, w->ln1b, R, C, cfg->ln_eps);
        matmul_rows(st->qkv, st->ln, w->qkvw, w->qkvb, R, C, 3 * C);
#pragma omp parallel for schedule(static) if (work > 65536.0)
        for (int i = 0; i < R; i++) {
            struct gen_row *r = &rows[act[i]];
            size_t lo = (size_t)l * r->cap * C;
            const float *q = st->qkv + (size_t)i * 3 * C;
            memcpy(r->k + lo + (size_t)pos[i] * C, q + C, (size_t)C * sizeof(float));
            memcpy(r->v + lo + (size_t)pos[i] * C, q + 2 * C, (size_t)C * sizeof(float));
            attention_decode(st->atty + (size_t)i * C, st->scratch + (size_t)i * cfg->n_ctx, q,
                             r->k + lo, r->v + lo, pos[i] + 1, NH, C);
        }
        matmul_rows(st->tmp, st->atty, w->projw, w->projb, R, C, C);
        residual_forward(st->x, st->x, st->tmp, rc);
        layernorm_forward(st->ln, st->mean, st->rstd, st->x, w->ln2w, w->ln2b, R, C, cfg->ln_eps);
        matmul_rows(st->fc, st->ln, w->fcw, w->fcb, R, C, 4 * C);
        gelu_forward(st->fcg, st->fc, 4 * rc);
        matmul_rows(st->tmp, st->fcg, w->fcprojw, w->fcprojb, R, 4 * C, C);
        residual_forward(st->x, st->x, st->tmp, rc);
    }
    layernorm_forward(st->ln, st->mean, st->rstd, st->x, m->lnfw, m->lnfb, R, C, cfg->ln_eps);
    matmul_rows_bt(st->logits, st->ln, m->wte, R, C, V);
}

int gpt_generate(struct gpt *m, const int *const *prompts, const int *prompt_lens, int B,
                 const struct gen_config *gc, int *out, int *out_lens, enum gen_stop *reasons,
                 struct lethe_error *err)
{
    const struct gpt_config *cfg = &m->cfg;
    int C = cfg->n_embd, V = cfg->vocab, L = cfg->n_layer, n_ctx = cfg->n_ctx;
    const char *msg = gen_config_check(gc, cfg);
    if (msg)
        return lethe_err(err, LETHE_EINPUT, "bad generation configuration: %s", msg);
    if (B < 0)
        return lethe_err(err, LETHE_EINPUT, "bad batch size %d", B);
    for (int b = 0; b < B; b++) {
        if (prompt_lens[b] < 1)
            return lethe_err(err, LETHE_EINPUT, "prompt %d is empty", b);
        for (int t = 0; t < prompt_lens[b]; t++)
            if (prompts[b][t] < 0 || prompts[b][t] >= V)
                return lethe_err(err, LETHE_EINPUT,
                                 "prompt %d: token id %d at position %d is outside the "
                                 "vocabulary [0, %d)",
                                 b, prompts[b][t], t, V);
    }
    int max_new = gc->max_new_tokens;
    struct gen_row *rows = xcalloc((size_t)(B ? B : 1), sizeof(*rows));
    size_t cache = 0;
    int max_keep = 1;
    for (int b = 0; b < B; b++) {
        struct gen_row *r = &rows[b];
        r->prompt = prompts[b];
        r->keep = gen_prompt_keep(prompt_lens[b], max_new, n_ctx);
        r->cap = r->keep + max_new < n_ctx ? r->keep + max_new : n_ctx;
        max_keep = r->keep > max_keep ? r->keep : max_keep;
        cache += (size_t)L * r->cap * C;
        nn_rng_seed(&r->rng, gc->seed + (uint64_t)b);
        out_lens[b] = 0;
        if (reasons)
            reasons[b] = GEN_STOP_MAX;
        if (max_new == 0)
            r->done = 1;
    }
    if (max_new == 0 || B == 0) {
        free(rows);
        return 0;
    }
    float *kv = xmalloc(2 * cache * sizeof(float));
    int *idx = xmalloc((size_t)V * sizeof(int)), *kept = xmalloc((size_t)max_keep * sizeof(int));
    size_t o = 0;
    for (int b = 0; b < B; b++) {
        rows[b].k = kv + o;
        rows[b].v = kv + cache + o;
        o += (size_t)L * rows[b].cap * C;
    }

    /* prefill each prompt alone: its K and V into its cache, its first token */
    for (int b = 0; b < B; b++) {
        struct gen_row *r = &rows[b];
        int n = r->keep, skip = prompt_lens[b] - n;
        kept[0] = r->prompt[0];
        for (int t = 1; t < n; t++)
            kept[t] = r->prompt[skip + t];
        gpt_forward_impl(m, kept, NULL, 1, n, 1);
        for (int l = 0; l < L; l++)
            for (int t = 0; t < n; t++) {
                const float *q = m->a[l].qkv + (size_t)t * 3 * C;
                size_t at = ((size_t)l * r->cap + t) * C;
                memcpy(r->k + at, q + C, (size_t)C * sizeof(float));
                memcpy(r->v + at, q + 2 * C, (size_t)C * sizeof(float));
            }
        push_impl(r, b, choose_impl(m->logits, V, gc, idx, &r->rng), gc, n_ctx, out);
    }
    m->state = GPT_SPENT;

    /* decode the rows still going, each at its own position */
    struct gen_step st;
    size_t bc = (size_t)B * C;
    float *buf = xmalloc((bc * 15 + (size_t)B * V + (size_t)B * 2 + (size_t)B * n_ctx) *
                         sizeof(float));
    float *q = buf;
    st.x = q, q += bc;
    st.ln = q, q += bc;
    st.atty = q, q += bc;
    st.tmp = q, q += bc;
    st.qkv = q, q += 3 * bc;
    st.fc = q, q += 4 * bc;
    st.fcg = q, q += 4 * bc;
    st.logits = q, q += (size_t)B * V;
    st.mean = q, q += B;
    st.rstd = q, q += B;
    st.scratch = q;
    int *act = xmalloc((size_t)B * 3 * sizeof(int)), *tok = act + B, *pos = act + 2 * B;
    for (;;) {
        int R = 0;
        for (int b = 0; b < B; b++) {
            if (rows[b].done)
                continue;
            act[R] = b;
            tok[R] = out[(size_t)b * max_new + rows[b].n - 1];
            pos[R] = rows[b].keep + rows[b].n - 1;
            R++;
        }
        if (R == 0)
            break;
        decode_step_impl(m, rows, act, tok, pos, R, &st);
        for (int i = 0; i < R; i++) {
            struct gen_row *r = &rows[act[i]];
            push_impl(r, act[i], choose_impl(st.logits + (size_t)i * V, V, gc, idx, &r->rng), gc,
                      n_ctx, out);
        }
    }
    for (int b = 0; b < B; b++) {
        out_lens[b] = rows[b].n;
        if (reasons)
            reasons[b] = rows[b].reason;
    }
    free(act);
    free(buf);
    free(kept);
    free(idx);
    free(kv);
    free(rows);
    return 0;
}
