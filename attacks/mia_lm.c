/* Language-model membership inference (ATTACKS.md 1): batched sequence scoring, LOSS, zlib,
 * Min-K%, Min-K%++, GradNorm and Reference scores, and their AUC/TPR/ROC reports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "attacks/attack.h"
#include "base/base.h"
#include "nn/nn.h"

#define LOGITS_BUDGET ((size_t)256 << 20) /* bytes of logits one scoring batch may hold */
#define DEFAULT_BATCH 32

static const char *const kind_names[] = {"loss",     "zlib",     "min_k",    "min_k20",
                                         "min_k_pp", "gradnorm", "reference"};
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == MIA_LM_KIND_COUNT,
               "one name per language-model attack");

const char *mia_lm_name(enum mia_lm_kind k)
{
    return (unsigned)k < MIA_LM_KIND_COUNT ? kind_names[k] : NULL;
}

int mia_lm_lookup(const char *name)
{
    for (int k = 0; name && k < MIA_LM_KIND_COUNT; k++)
        if (strcmp(kind_names[k], name) == 0)
            return k;
    return -1;
}

/* ---- pure pieces --------------------------------------------------------------------------- */

size_t mia_zlib_size(const char *text, size_t len)
{
    uLongf cap = compressBound((uLong)len);
    Bytef *buf = xmalloc(cap);
    int rc = compress2(buf, &cap, (const Bytef *)text, (uLong)len, 6);
    LETHE_ASSERT(rc == Z_OK);
    free(buf);
    return (size_t)cap;
}

static int cmp_double_impl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mia_min_k(const double *v, size_t n, int k_pct)
{
    if (n == 0)
        return 0.0;
    size_t k = n * (size_t)k_pct / 100;
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    double *s = xmalloc(n * sizeof(*s));
    memcpy(s, v, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_double_impl);
    double sum = 0;
    for (size_t i = 0; i < k; i++)
        sum += s[i];
    free(s);
    return sum / (double)k;
}

double mia_min_k_pp_z(const float *logits, int V, int target, double *lp_out)
{
    /* with y = z - max z, e = exp(y), S = sum e: log p = y - log S, so mu = A/S - log S and
     * sigma^2 = sum p (log p)^2 - mu^2 = B/S - (A/S)^2, A = sum e y, B = sum e y^2: one pass */
    float mx = logits[0];
    for (int v = 1; v < V; v++)
        mx = logits[v] > mx ? logits[v] : mx;
    double s = 0, a = 0, b = 0;
    for (int v = 0; v < V; v++) {
        double y = (double)logits[v] - mx, e = exp(y);
        s += e;
        a += e * y;
        b += e * y * y;
    }
    double log_s = log(s), ma = a / s;
    double mu = ma - log_s, var = b / s - ma * ma;
    if (var < 1e-6)
        var = 1e-6;
    double lp = (double)logits[target] - mx - log_s;
    if (lp_out)
        *lp_out = lp;
    return (lp - mu) / sqrt(var);
}

/* ---- batched scoring ------------------------------------------------------------------------ */

static int check_seq_impl(const struct lm_seq *s, size_t i, int n_ctx, int V,
                          struct lethe_error *err)
{
    if (!s->ids || s->len < 2 || s->len > n_ctx)
        return lethe_err(err, LETHE_EINPUT, "sequence %zu: length %d is outside [2, %d]", i, s->len,
                         n_ctx);
    if (s->first < 1 || s->first > s->len - 1)
        return lethe_err(err, LETHE_EINPUT, "sequence %zu: first scored token %d is outside [1, %d]",
                         i, s->first, s->len - 1);
    if (s->eos != 0 && s->eos != 1)
        return lethe_err(err, LETHE_EINPUT, "sequence %zu: eos flag %d is not 0 or 1", i, s->eos);
    for (int t = 0; t < s->len; t++)
        if (s->ids[t] < 0 || s->ids[t] >= V)
            return lethe_err(err, LETHE_EINPUT,
                             "sequence %zu: token id %d at position %d is outside the vocabulary "
                             "[0, %d)",
                             i, s->ids[t], t, V);
    return 0;
}

/* sort key: longest first, then by index (a fixed order whatever qsort does with ties) */
struct order_impl {
    int len;
    size_t i;
};

static int cmp_order_impl(const void *a, const void *b)
{
    const struct order_impl *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

void lm_seq_stats_release(struct lm_seq_stats *out, size_t n)
{
    for (size_t i = 0; out && i < n; i++) {
        free(out[i].lp);
        free(out[i].zpp);
        free(out[i].pred);
        out[i].lp = out[i].zpp = NULL;
        out[i].pred = NULL;
    }
}

/* The stats of row b of the last forward (T positions a row, lp (B, T)). */
static void row_stats_impl(const struct gpt *m, const struct lm_seq *s, int b, int T,
                           const float *lp, unsigned want, struct lm_seq_stats *o)
{
    int V = gpt_cfg(m)->vocab;
    const float *row = lp + (size_t)b * T;
    double sum = 0;
    for (int t = s->first - 1; t <= s->len - 2; t++)
        sum += row[t];
    o->n_scored = s->len - s->first;
    o->n_tok = o->n_scored - s->eos;
    o->nll = -sum / o->n_scored;
    o->lp = o->zpp = NULL;
    o->pred = NULL;
    size_t nt = o->n_tok > 0 ? (size_t)o->n_tok : 1;
    if (want & LM_STAT_TOKENS)
        o->lp = xmalloc(nt * sizeof(double));
    if (want & LM_STAT_ZPP)
        o->zpp = xmalloc(nt * sizeof(double));
    if (want & LM_STAT_ARGMAX)
        o->pred = xmalloc(nt * sizeof(int));
    const float *logits = gpt_logits(m);
    for (int j = 0; j < o->n_tok; j++) {
        int t = s->first - 1 + j;
        if (o->lp)
            o->lp[j] = row[t];
        const float *z = logits + ((size_t)b * T + t) * V;
        if (o->zpp)
            o->zpp[j] = mia_min_k_pp_z(z, V, s->ids[t + 1], NULL);
        if (o->pred)
            o->pred[j] = (int)metric_argmax_f(z, (size_t)V);
    }
}

int mia_lm_score_seqs(struct gpt *m, const struct lm_seq *seqs, size_t n, unsigned want,
                      int max_batch, struct lm_seq_stats *out, struct lethe_error *err)
{
    const struct gpt_config *cfg = gpt_cfg(m);
    int rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = check_seq_impl(&seqs[i], i, cfg->n_ctx, cfg->vocab, err)) < 0)
            return rc;
    if (n == 0)
        return 0;
    if (max_batch <= 0)
        max_batch = DEFAULT_BATCH;
    struct order_impl *ord = xmalloc(n * sizeof(*ord));
    for (size_t i = 0; i < n; i++)
        ord[i] = (struct order_impl){seqs[i].len, i};
    qsort(ord, n, sizeof(*ord), cmp_order_impl);
    int T0 = ord[0].len;
    size_t cells = (size_t)max_batch * T0;
    int *tokens = xmalloc(cells * sizeof(int)), *targets = xmalloc(cells * sizeof(int));
    int *lengths = xmalloc((size_t)max_batch * sizeof(int));
    float *lp = xmalloc(cells * sizeof(float));
    for (size_t i0 = 0; i0 < n;) {
        int T = ord[i0].len;
        size_t per_row = (size_t)T * (size_t)cfg->vocab * sizeof(float);
        size_t fit = LOGITS_BUDGET / per_row;
        int B = fit < (size_t)max_batch ? (int)(fit ? fit : 1) : max_batch;
        if ((size_t)B > n - i0)
            B = (int)(n - i0);
        for (int b = 0; b < B; b++) {
            const struct lm_seq *s = &seqs[ord[i0 + (size_t)b].i];
            int *tk = tokens + (size_t)b * T, *tg = targets + (size_t)b * T;
            lengths[b] = s->len;
            for (int t = 0; t < T; t++) {
                tk[t] = t < s->len ? s->ids[t] : 0;
                tg[t] = t >= s->first - 1 && t <= s->len - 2 ? s->ids[t + 1] : -1;
            }
        }
        gpt_forward(m, tokens, lengths, B, T);
        gpt_logprobs(m, targets, lp);
        #pragma omp parallel for schedule(static) if (want & LM_STAT_ZPP)
        for (int b = 0; b < B; b++) {
            size_t i = ord[i0 + (size_t)b].i;
            row_stats_impl(m, &seqs[i], b, T, lp, want, &out[i]);
        }
        i0 += (size_t)B;
    }
    free(ord);
    free(tokens);
    free(targets);
    free(lengths);
    free(lp);
    return 0;
}

/* ---- GradNorm -------------------------------------------------------------------------------- */

/* sum of g^2: 16 float lanes (vectorised) over blocks of 1024, the blocks summed in double */
static double sum_squares_impl(const float *g, size_t n)
{
    double total = 0;
    for (size_t b = 0; b < n; b += 1024) {
        size_t e = b + 1024 < n ? b + 1024 : n, j = b;
        float lane[16] = {0};
        for (; j + 16 <= e; j += 16)
            for (int k = 0; k < 16; k++)
                lane[k] += g[j + (size_t)k] * g[j + (size_t)k];
        double part = 0;
        for (int k = 0; k < 16; k++)
            part += lane[k];
        for (; j < e; j++)
            part += (double)g[j] * g[j];
        total += part;
    }
    return total;
}

int mia_lm_gradnorm(struct gpt *m, const struct lm_seq *seqs, size_t n, double *score,
                    struct lethe_error *err)
{
    const struct gpt_config *cfg = gpt_cfg(m);
    int rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = check_seq_impl(&seqs[i], i, cfg->n_ctx, cfg->vocab, err)) < 0)
            return rc;
    struct nn_params *p = gpt_params(m);
    float *saved = NULL;
    if (p->grad) {
        saved = xmalloc(p->n * sizeof(float));
        memcpy(saved, p->grad, p->n * sizeof(float));
    }
    int *targets = xmalloc((size_t)cfg->n_ctx * sizeof(int));
    for (size_t i = 0; i < n; i++) {
        const struct lm_seq *s = &seqs[i];
        int listed = 0;
        for (int t = 0; t < s->len; t++) {
            int in = t >= s->first - 1 && t <= s->len - 2 - s->eos;
            targets[t] = in ? s->ids[t + 1] : -1;
            listed += in;
        }
        score[i] = 0;
        if (!listed)
            continue;
        nn_params_alloc_grad(p);
        nn_params_zero_grad(p);
        gpt_forward_loss(m, s->ids, NULL, targets, 1, s->len);
        gpt_backward_loss(m);
        double total = 0;
        int counted = 0;
        for (int k = 0; k < p->n_tensors; k++) {
            const struct nn_tensor *t = &p->tensors[k];
            if (t->frozen)
                continue;
            total += sqrt(sum_squares_impl(p->grad + t->offset, t->numel));
            counted++;
        }
        score[i] = counted ? total / counted : 0.0;
    }
    if (saved) {
        memcpy(p->grad, saved, p->n * sizeof(float));
        free(saved);
    } else if (p->grad) {
        nn_params_zero_grad(p);
    }
    free(targets);
    return 0;
}

/* ---- membership scores ----------------------------------------------------------------------- */

int mia_lm_member_scores(enum mia_lm_kind k, const struct lm_seq_stats *st,
                         const struct lm_seq_stats *ref, const char *const *texts,
                         const double *gnorm, size_t n, double *m, struct lethe_error *err)
{
    const char *name = mia_lm_name(k);
    if (!name)
        return lethe_err(err, LETHE_EINPUT, "unknown language-model attack %d", (int)k);
    if (k != MIA_LM_GRADNORM && !st)
        return lethe_err(err, LETHE_EINPUT, "attack '%s': no sequence scores", name);
    if (k == MIA_LM_ZLIB && !texts)
        return lethe_err(err, LETHE_EINPUT, "attack 'zlib': no texts");
    if (k == MIA_LM_GRADNORM && !gnorm)
        return lethe_err(err, LETHE_EINPUT, "attack 'gradnorm': no gradient norms");
    if (k == MIA_LM_REFERENCE && !ref)
        return lethe_err(err, LETHE_EINPUT, "attack 'reference': no reference model scores");
    for (size_t i = 0; i < n; i++) {
        switch (k) {
        case MIA_LM_LOSS:
            m[i] = -st[i].nll;
            break;
        case MIA_LM_ZLIB: {
            const char *t = texts[i] ? texts[i] : "";
            m[i] = -st[i].nll / (double)mia_zlib_size(t, strlen(t));
            break;
        }
        case MIA_LM_MIN_K:
        case MIA_LM_MIN_K20:
            if (!st[i].lp && st[i].n_tok > 0)
                return lethe_err(err, LETHE_EINPUT, "attack '%s': sequence %zu has no token "
                                 "log-probs", name, i);
            m[i] = mia_min_k(st[i].lp, (size_t)st[i].n_tok, k == MIA_LM_MIN_K ? 40 : 20);
            break;
        case MIA_LM_MIN_K_PP:
            if (!st[i].zpp && st[i].n_tok > 0)
                return lethe_err(err, LETHE_EINPUT, "attack 'min_k_pp': sequence %zu has no "
                                 "Min-K%%++ scores", i);
            m[i] = mia_min_k(st[i].zpp, (size_t)st[i].n_tok, 40);
            break;
        case MIA_LM_GRADNORM:
            m[i] = -gnorm[i];
            break;
        case MIA_LM_REFERENCE:
            m[i] = ref[i].nll - st[i].nll;
            break;
        default:
            LETHE_BUG("unhandled attack %d", (int)k);
        }
    }
    return 0;
}

/* ---- reports ------------------------------------------------------------------------------- */

int mia_lm_report(const char *kind, enum mia_lm_kind k, const double *pos, size_t n_pos,
                  const double *neg, size_t n_neg, const char *variant,
                  const struct metric_sink *sink, uint64_t seed, double *auc,
                  struct lethe_error *err)
{
    const char *attack = mia_lm_name(k);
    if (!attack)
        return lethe_err(err, LETHE_EINPUT, "unknown language-model attack %d", (int)k);
    if (!variant)
        variant = "";
    char name[160];
    int rc;
    double a;
    struct metric_ci ci;
    snprintf(name, sizeof(name), "%s.mia.%s.auc", kind, attack);
    if ((rc = metric_auc(pos, n_pos, neg, n_neg, &a, err)) < 0 ||
        (rc = metric_bootstrap_auc(pos, n_pos, neg, n_neg, name, seed, 0, &ci, err)) < 0)
        return lethe_err_prefix(err, "%s", name), rc;
    if (auc)
        *auc = a;
    if (sink && sink->metric)
        sink->metric(sink->ctx, variant, "forget", name, a, ci.low, ci.high,
                     (long)(n_pos + n_neg));
    static const struct { const char *suffix; unsigned num, den; } tprs[] = {
        {"tpr_at_fpr_1pct", 1, 100}, {"tpr_at_fpr_0p1pct", 1, 1000}};
    for (size_t j = 0; j < sizeof(tprs) / sizeof(tprs[0]); j++) {
        double tpr;
        snprintf(name, sizeof(name), "%s.mia.%s.%s", kind, attack, tprs[j].suffix);
        if ((rc = metric_tpr_at_fpr(pos, n_pos, neg, n_neg, tprs[j].num, tprs[j].den, &tpr,
                                    err)) < 0 ||
            (rc = metric_bootstrap_tpr_at_fpr(pos, n_pos, neg, n_neg, tprs[j].num, tprs[j].den,
                                              name, seed, 0, &ci, err)) < 0)
            return lethe_err_prefix(err, "%s", name), rc;
        if (sink && sink->metric)
            sink->metric(sink->ctx, variant, "forget", name, tpr, ci.low, ci.high, (long)n_neg);
    }
    snprintf(name, sizeof(name), "%s.mia.%s.score", kind, attack);
    if (sink && sink->sample) {
        for (size_t i = 0; i < n_pos; i++)
            sink->sample(sink->ctx, variant, "forget", name, (long)i, pos[i]);
        for (size_t i = 0; i < n_neg; i++)
            sink->sample(sink->ctx, variant, "holdout", name, (long)i, neg[i]);
    }
    if (sink && sink->curve) {
        struct metric_roc roc;
        if ((rc = metric_roc_curve(pos, n_pos, neg, n_neg, &roc, err)) < 0)
            return rc;
        if (variant[0] && strcmp(variant, "base") != 0)
            snprintf(name, sizeof(name), "%s.mia.%s.roc.%s", kind, attack, variant);
        else
            snprintf(name, sizeof(name), "%s.mia.%s.roc", kind, attack);
        for (size_t i = 0; i < roc.n; i++)
            sink->curve(sink->ctx, name, (long)i, roc.fpr[i], roc.tpr[i]);
        metric_roc_release(&roc);
    }
    return 0;
}
