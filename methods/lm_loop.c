/* The shared loop of the language-model methods (METHODS.md 0.2-0.3): batch pairing, the retain
 * term, gradient accumulation, clipping, the lr schedule and AdamW; and the method arguments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "methods/lm_impl.h"

double method_arg_num(const struct method_ctx *c, const char *name, double def)
{
    for (size_t i = 0; c && i < c->n_args; i++)
        if (c->args[i].name && strcmp(c->args[i].name, name) == 0)
            return c->args[i].str ? def : c->args[i].num;
    return def;
}

const char *method_arg_str(const struct method_ctx *c, const char *name, const char *def)
{
    for (size_t i = 0; c && i < c->n_args; i++)
        if (c->args[i].name && strcmp(c->args[i].name, name) == 0)
            return c->args[i].str ? c->args[i].str : def;
    return def;
}

static int arg_given(const struct method_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_args; i++)
        if (c->args[i].name && strcmp(c->args[i].name, name) == 0)
            return 1;
    return 0;
}

/* ---- losses ---------------------------------------------------------------------------- */

double lm_log_sigmoid(double x)
{
    return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x));
}

double lm_sigmoid(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double lm_ce_tok(float *dlp, const float *lp, const int *targets, int B, int T, double scale)
{
    double sum = 0;
    long n = 0;
    for (size_t i = 0; i < (size_t)B * T; i++)
        if (targets[i] >= 0) {
            sum -= lp[i];
            n++;
        }
    if (dlp)
        for (size_t i = 0; i < (size_t)B * T; i++)
            dlp[i] = targets[i] >= 0 && n ? (float)(-scale / (double)n) : 0.0f;
    return n ? sum / (double)n : 0.0;
}

void lm_seq_logprob(double *seq, int *count, const float *lp, const int *targets, int B, int T)
{
    for (int b = 0; b < B; b++) {
        double s = 0;
        int k = 0;
        for (int t = 0; t < T; t++)
            if (targets[(size_t)b * T + t] >= 0) {
                s += lp[(size_t)b * T + t];
                k++;
            }
        seq[b] = s;
        if (count)
            count[b] = k;
    }
}

void lm_seq_backward(float *dlp, const double *dseq, const int *targets, int B, int T,
                     double scale)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            dlp[i] = targets[i] >= 0 ? (float)(scale * dseq[b]) : 0.0f;
        }
}

/* NPO (arXiv 2404.05868, eq. 3 with 2/beta): d/dDelta of -(2/beta) logsig(-beta Delta) is
 * 2 sigmoid(beta Delta). */
double lm_npo(double *dlogpi, const double *logpi, const double *logpi_ref, int n, double beta)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double d = logpi[i] - logpi_ref[i];
        sum += -(2.0 / beta) * lm_log_sigmoid(-beta * d);
        if (dlogpi)
            dlogpi[i] = 2.0 * lm_sigmoid(beta * d) / n;
    }
    return n ? sum / n : 0.0;
}

/* SimNPO (arXiv 2410.07163): d/dnll of -(2/beta) logsig(beta (nll - delta)) is
 * -2 sigmoid(-beta (nll - delta)). */
double lm_simnpo(double *dnll, const double *nll, int n, double beta, double delta)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double x = beta * (nll[i] - delta);
        sum += -(2.0 / beta) * lm_log_sigmoid(x);
        if (dnll)
            dnll[i] = -2.0 * lm_sigmoid(-x) / n;
    }
    return n ? sum / n : 0.0;
}

/* DPO (arXiv 2305.18290, eq. 7, with 2/beta as open-unlearning): d/dx of -(2/beta) logsig(x)
 * is -(2/beta) sigmoid(-x), and dx/dw = beta, dx/dl = -beta. */
double lm_dpo(double *dw, double *dl, const double *w, const double *w_ref, const double *l,
              const double *l_ref, int n, double beta)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double x = beta * ((w[i] - w_ref[i]) - (l[i] - l_ref[i]));
        sum += -(2.0 / beta) * lm_log_sigmoid(x);
        double g = -2.0 * lm_sigmoid(-x) / n;
        if (dw)
            dw[i] = g;
        if (dl)
            dl[i] = -g;
    }
    return n ? sum / n : 0.0;
}

/* KL(ref || model) per position: sum_v p_ref (log p_ref - log p); d/dz = softmax(z) - p_ref. */
double lm_kl_ref(float *dlogits, const float *logits, const float *ref_logits,
                 const int *lengths, int B, int T, int V, double scale)
{
    long n = 0;
    for (int b = 0; b < B; b++)
        n += lengths[b] < T ? lengths[b] : T;
    double sum = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t row = ((size_t)b * T + t) * (size_t)V;
            float *dz = dlogits ? dlogits + row : NULL;
            if (t >= lengths[b]) {
                if (dz)
                    memset(dz, 0, (size_t)V * sizeof(*dz));
                continue;
            }
            const float *z = logits + row, *r = ref_logits + row;
            double zmax = z[0], rmax = r[0];
            for (int v = 1; v < V; v++) {
                zmax = z[v] > zmax ? z[v] : zmax;
                rmax = r[v] > rmax ? r[v] : rmax;
            }
            double zs = 0, rs = 0;
            for (int v = 0; v < V; v++) {
                zs += exp(z[v] - zmax);
                rs += exp(r[v] - rmax);
            }
            double zl = zmax + log(zs), rl = rmax + log(rs), kl = 0;
            for (int v = 0; v < V; v++) {
                double lr = r[v] - rl, lz = z[v] - zl, pr = exp(lr);
                kl += pr * (lr - lz);
                if (dz)
                    dz[v] = (float)(scale / (double)n * (exp(lz) - pr));
            }
            sum += kl;
        }
    return n ? sum / (double)n : 0.0;
}

/* ---- batches --------------------------------------------------------------------------- */

static void batch_init(struct lm_batch *b, int rows, int cols)
{
    b->rows = rows;
    b->cols = cols;
    b->tokens = xcalloc((size_t)rows * cols, sizeof(int));
    b->targets = xcalloc((size_t)rows * cols, sizeof(int));
    b->lengths = xcalloc((size_t)rows, sizeof(int));
    b->B = b->T = 0;
}

static void batch_release(struct lm_batch *b)
{
    free(b->tokens);
    free(b->targets);
    free(b->lengths);
    memset(b, 0, sizeof(*b));
}

/* Row lengths first (T = the longest), then tokens and targets in (B, T) layout. */
void lm_batch_fill(struct lm_batch *b, const struct lm_example *const *first, const int *n_first,
                   const struct lm_example *const *second, const int *prompt_len, int n,
                   int n_ctx)
{
    LETHE_ASSERT(n <= b->rows);
    int T = 1;
    for (int i = 0; i < n; i++) {
        int len = n_first[i] + (second && second[i] ? second[i]->len : 0);
        b->lengths[i] = len < n_ctx ? len : n_ctx;
        T = b->lengths[i] > T ? b->lengths[i] : T;
    }
    LETHE_ASSERT(T <= b->cols);
    b->B = n;
    b->T = T;
    for (int i = 0; i < n; i++) {
        int *tok = b->tokens + (size_t)i * T, *tg = b->targets + (size_t)i * T;
        int len = b->lengths[i], k = 0;
        for (int j = 0; j < n_first[i] && k < len; j++)
            tok[k++] = first[i]->ids[j];
        for (int j = 0; second && second[i] && j < second[i]->len && k < len; j++)
            tok[k++] = second[i]->ids[j];
        for (; k < T; k++)
            tok[k] = 0;
        for (int t = 0; t < T; t++)
            tg[t] = t + 1 < len && t + 1 >= prompt_len[i] ? tok[t + 1] : -1;
    }
}

void lm_fill_forget(struct lm_loop *L, const size_t *items, int n, enum lm_fill how)
{
    const struct lm_set *F = L->c->forget;
    int rows = 0;
    for (int pass = 0; pass < 2; pass++) {
        int refusal = pass == 0 ? how != LM_FILL_ANSWER : 0;
        if (pass == 1 && how != LM_FILL_REFUSAL_THEN_ANSWER)
            break;
        for (int i = 0; i < n; i++, rows++) {
            const struct lm_example *e = &F->ex[items[i]];
            L->first[rows] = e;
            L->plen[rows] = e->prompt_len;
            L->n_first[rows] = refusal ? e->prompt_len : e->len;
            L->second[rows] = refusal ? &L->c->refusals->ex[L->refusal[items[i]]] : NULL;
        }
    }
    lm_batch_fill(&L->fb, L->first, L->n_first, L->second, L->plen, rows, L->n_ctx);
}

static void fill_retain(struct lm_loop *L, const size_t *items, int n)
{
    for (int i = 0; i < n; i++) {
        const struct lm_example *e = &L->c->retain->ex[items[i]];
        L->first[i] = e;
        L->n_first[i] = e->len;
        L->plen[i] = e->prompt_len;
        L->second[i] = NULL;
    }
    lm_batch_fill(&L->rb, L->first, L->n_first, L->second, L->plen, n, L->n_ctx);
}

/* ---- the loop ------------------------------------------------------------------------- */

static int check_set(const struct lm_set *s, const char *what, int answer_only, int n_ctx, int V,
                     int *max_len, struct lethe_error *err)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct lm_example *e = &s->ex[i];
        if (!e->ids || e->len < (answer_only ? 1 : 2))
            return lethe_err(err, LETHE_EINPUT, "%s item %zu: too short (%d tokens)", what, i,
                             e->len);
        if (!answer_only && (e->prompt_len < 1 || e->prompt_len >= e->len))
            return lethe_err(err, LETHE_EINPUT,
                             "%s item %zu: prompt length %d outside [1, %d)", what, i,
                             e->prompt_len, e->len);
        if (!answer_only && e->prompt_len >= n_ctx)
            return lethe_err(err, LETHE_EINPUT,
                             "%s item %zu: prompt of %d tokens fills the context (%d)", what, i,
                             e->prompt_len, n_ctx);
        for (int t = 0; t < e->len; t++)
            if (e->ids[t] < 0 || e->ids[t] >= V)
                return lethe_err(err, LETHE_EINPUT,
                                 "%s item %zu: token %d at %d is outside the vocabulary (%d)",
                                 what, i, e->ids[t], t, V);
        int len = e->len < n_ctx ? e->len : n_ctx;
        *max_len = len > *max_len ? len : *max_len;
    }
    return 0;
}

static int parse_retain(const char *s, enum lm_retain *out)
{
    static const char *const names[LM_RETAIN_COUNT] = {"none", "nll", "kl"};
    for (int i = 0; i < LM_RETAIN_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum lm_retain)i;
            return 0;
        }
    return -1;
}

int lm_loop_init(struct lm_loop *L, const struct method_ctx *c, const struct lm_objective *o,
                 struct lethe_error *err)
{
    memset(L, 0, sizeof(*L));
    const char *name = o->name;
    if (!c->model)
        return lethe_err(err, LETHE_EINPUT, "method '%s': no model", name);
    if (!c->forget || c->forget->n == 0)
        return lethe_err(err, LETHE_EINPUT, "method '%s': the forget set is empty", name);
    const char *rs = method_arg_str(c, "retain_loss", o->retain_def);
    enum lm_retain retain;
    if (parse_retain(rs, &retain) < 0)
        return lethe_err(err, LETHE_EINPUT, "method '%s': retain_loss '%s' is not nll, kl or none",
                         name, rs);
    double alpha = method_arg_num(c, "alpha", o->alpha_def);
    if (alpha == 0)
        retain = LM_RETAIN_NONE;
    if (retain != LM_RETAIN_NONE && (!c->retain || c->retain->n == 0))
        return lethe_err(err, LETHE_EINPUT, "method '%s': the retain set is empty", name);
    if ((retain == LM_RETAIN_KL || (o->needs & METHOD_NEEDS_REF)) && !c->ref)
        return lethe_err(err, LETHE_EINPUT, "method '%s': no reference model", name);
    if ((o->needs & METHOD_NEEDS_TEMPLATE) && (!c->refusals || c->refusals->n == 0))
        return lethe_err(err, LETHE_EINPUT, "method '%s': no refusal answers", name);
    const struct gpt_config *cfg = gpt_cfg(c->model);
    int maxf = 0, maxr = 0, maxw = 0;
    if (check_set(c->forget, "forget", 0, cfg->n_ctx, cfg->vocab, &maxf, err) < 0 ||
        (retain != LM_RETAIN_NONE &&
         check_set(c->retain, "retain", 0, cfg->n_ctx, cfg->vocab, &maxr, err) < 0) ||
        ((o->needs & METHOD_NEEDS_TEMPLATE) &&
         check_set(c->refusals, "refusal", 1, cfg->n_ctx, cfg->vocab, &maxw, err) < 0)) {
        lethe_err_prefix(err, "method '%s'", name);
        return -LETHE_EINPUT;
    }
    double batch = method_arg_num(c, "batch", 8), accum = method_arg_num(c, "grad_accum", 4);
    if (!(batch >= 1 && batch <= 65536) || !(accum >= 1 && accum <= 65536))
        return lethe_err(err, LETHE_EINPUT, "method '%s': batch %g or grad_accum %g out of range",
                         name, batch, accum);
    L->c = c;
    L->obj = o;
    L->model = c->model;
    L->n_ctx = cfg->n_ctx;
    L->V = cfg->vocab;
    L->retain = retain;
    L->gamma = method_arg_num(c, "gamma", o->gamma_def);
    L->alpha = alpha;
    L->beta = method_arg_num(c, "beta", o->beta_def);
    L->delta = method_arg_num(c, "delta", 0.0);
    L->batch = (int)batch;
    L->accum = (int)accum;
    nn_rng_seed(&L->rng, c->seed);
    if (c->ref)
        L->ref = gpt_clone(c->ref);
    int per = o->rows_per_item > 1 ? o->rows_per_item : 1;
    int rows = L->batch * per;
    int cols = maxf + maxw;
    cols = cols < L->n_ctx ? cols : L->n_ctx;
    cols = cols > maxr ? cols : maxr;
    batch_init(&L->fb, rows, cols);
    batch_init(&L->rb, L->batch, maxr > 1 ? maxr : 1);
    L->lp = xcalloc((size_t)rows * cols, sizeof(float));
    L->lp_ref = xcalloc((size_t)rows * cols, sizeof(float));
    L->dlp = xcalloc((size_t)rows * cols, sizeof(float));
    if (retain == LM_RETAIN_KL)
        L->dlogits = xcalloc((size_t)L->batch * maxr * L->V, sizeof(float));
    L->seq = xcalloc((size_t)rows, sizeof(double));
    L->seq_ref = xcalloc((size_t)rows, sizeof(double));
    L->dseq = xcalloc((size_t)rows, sizeof(double));
    L->count = xcalloc((size_t)rows, sizeof(int));
    L->first = xcalloc((size_t)rows, sizeof(*L->first));
    L->second = xcalloc((size_t)rows, sizeof(*L->second));
    L->n_first = xcalloc((size_t)rows, sizeof(int));
    L->plen = xcalloc((size_t)rows, sizeof(int));
    L->order = xcalloc(c->forget->n, sizeof(size_t));
    for (size_t i = 0; i < c->forget->n; i++)
        L->order[i] = i;
    L->ritems = xcalloc((size_t)L->batch, sizeof(size_t));
    if (o->needs & METHOD_NEEDS_TEMPLATE)
        L->refusal = xcalloc(c->forget->n, sizeof(size_t));
    gpt_reserve(L->model, rows, cols);
    if (L->ref)
        gpt_reserve(L->ref, rows, cols);
    nn_params_alloc_grad(gpt_params(L->model));
    return 0;
}

static double retain_term(struct lm_loop *L, const size_t *items, int n, double scale)
{
    struct lm_batch *b = &L->rb;
    fill_retain(L, items, n);
    if (L->retain == LM_RETAIN_NLL) {
        gpt_forward(L->model, b->tokens, b->lengths, b->B, b->T);
        gpt_logprobs(L->model, b->targets, L->lp);
        double ce = lm_ce_tok(L->dlp, L->lp, b->targets, b->B, b->T, scale);
        gpt_backward_dlogprob(L->model, b->targets, L->dlp);
        return ce;
    }
    gpt_forward(L->ref, b->tokens, b->lengths, b->B, b->T);
    gpt_forward(L->model, b->tokens, b->lengths, b->B, b->T);
    double kl = lm_kl_ref(L->dlogits, gpt_logits(L->model), gpt_logits(L->ref), b->lengths, b->B,
                          b->T, L->V, scale);
    gpt_backward(L->model, L->dlogits);
    return kl;
}

double lm_loop_micro(struct lm_loop *L, const size_t *fitems, const size_t *ritems, int n,
                     double scale)
{
    double loss = 0;
    if (L->gamma != 0)
        loss += L->gamma * L->obj->forget(L, fitems, n, scale * L->gamma);
    if (L->retain != LM_RETAIN_NONE && ritems)
        loss += L->alpha * retain_term(L, ritems, n, scale * L->alpha);
    return loss;
}

static int parse_schedule(const char *s, enum lr_kind *k)
{
    static const char *const names[LR_KIND_COUNT] = {"constant", "linear", "cosine"};
    for (int i = 0; i < LR_KIND_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            *k = (enum lr_kind)i;
            return 0;
        }
    return -1;
}

static void shuffle(size_t *a, size_t n, struct nn_rng *r)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(nn_rng_uniform(r) * (double)i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

int lm_loop_run(struct lm_loop *L, struct lethe_error *err)
{
    const struct method_ctx *c = L->c;
    const char *name = L->obj->name;
    size_t nF = c->forget->n, per_step = (size_t)L->batch * (size_t)L->accum;
    long spe = (long)((nF + per_step - 1) / per_step);
    double epochs = method_arg_num(c, "epochs", 10);
    if (!(epochs >= 1 && epochs <= 1e6))
        return lethe_err(err, LETHE_EINPUT, "method '%s': epochs %g out of range", name, epochs);
    long total = (long)epochs * spe;
    if (arg_given(c, "steps")) {
        double st = method_arg_num(c, "steps", 0);
        if (!(st >= 1))
            return lethe_err(err, LETHE_EINPUT, "method '%s': steps %g out of range", name, st);
        total = (long)st < total ? (long)st : total;
    }
    double lr = arg_given(c, "lr") ? method_arg_num(c, "lr", 0)
                                   : method_arg_num(c, "lr_scale", 1.0) * c->base_lr;
    if (!(lr > 0) || !isfinite(lr))
        return lethe_err(err, LETHE_EINPUT, "method '%s': learning rate %g is not positive "
                         "(base lr %g)", name, lr, c->base_lr);
    struct lr_schedule sched = {.kind = LR_LINEAR, .peak_lr = lr, .final_lr = 0,
                                .total_steps = total};
    const char *ss = method_arg_str(c, "schedule", "linear");
    if (parse_schedule(ss, &sched.kind) < 0)
        return lethe_err(err, LETHE_EINPUT, "method '%s': unknown schedule '%s'", name, ss);
    double warm = method_arg_num(c, "warmup", 1.0);
    if (!(warm >= 0 && warm <= 1e6))
        return lethe_err(err, LETHE_EINPUT, "method '%s': warmup %g out of range", name, warm);
    sched.warmup_steps = (long)ceil(warm * (double)spe - 1e-9);
    if (sched.warmup_steps > total)
        sched.warmup_steps = total;
    const char *bad = lr_schedule_check(&sched);
    if (bad)
        return lethe_err(err, LETHE_EINPUT, "method '%s': %s", name, bad);
    const char *opt_name = method_arg_str(c, "optimizer", "adamw");
    struct adamw_config acfg = adamw_config_default();
    acfg.weight_decay = method_arg_num(c, "weight_decay", 0.01);
    struct sgd_config scfg = sgd_config_default();
    scfg.momentum = method_arg_num(c, "momentum", 0.0);
    scfg.weight_decay = acfg.weight_decay;
    int use_sgd = strcmp(opt_name, "sgd") == 0;
    if (strcmp(opt_name, "adam") == 0)
        acfg.weight_decay = 0;
    else if (!use_sgd && strcmp(opt_name, "adamw") != 0)
        return lethe_err(err, LETHE_EINPUT, "method '%s': unknown optimizer '%s'", name,
                         opt_name);
    double clip = method_arg_num(c, "clip", 1.0);
    struct nn_params *p = gpt_params(L->model);
    struct adamw adam = {0};
    struct sgd sgd = {0};
    if (use_sgd)
        sgd_init(&sgd, p, &scfg);
    else
        adamw_init(&adam, p, &acfg);

    int rc = 0;
    size_t pos = nF;            /* start a new epoch on the first step */
    for (long step = 0; step < total; step++) {
        nn_params_zero_grad(p);
        if (pos >= nF) {
            shuffle(L->order, nF, &L->rng);
            for (size_t i = 0; L->refusal && i < nF; i++)
                L->refusal[i] = (size_t)(nn_rng_uniform(&L->rng) * (double)c->refusals->n);
            pos = 0;
        }
        size_t left = nF - pos;
        int n_micro = (int)((left + (size_t)L->batch - 1) / (size_t)L->batch);
        n_micro = n_micro < L->accum ? n_micro : L->accum;
        double loss = 0;
        for (int m = 0; m < n_micro; m++) {
            int n = (int)(nF - pos < (size_t)L->batch ? nF - pos : (size_t)L->batch);
            if (L->retain != LM_RETAIN_NONE)
                for (int i = 0; i < n; i++)
                    L->ritems[i] = (size_t)(nn_rng_uniform(&L->rng) * (double)c->retain->n);
            loss += lm_loop_micro(L, L->order + pos, L->ritems, n, 1.0 / n_micro) / n_micro;
            pos += (size_t)n;
        }
        if (!isfinite(loss)) {
            rc = lethe_err(err, LETHE_EFAIL, "method '%s': the loss is not finite at step %ld "
                           "(learning rate %g too high?)", name, step, lr);
            break;
        }
        if (L->hook)
            L->hook(L, 0);
        nn_clip_grad_norm(p, clip);
        double lr_t = lr_schedule_at(&sched, step);
        if (use_sgd)
            sgd_step(&sgd, p, lr_t);
        else
            adamw_step(&adam, p, lr_t);
        if (L->hook)
            L->hook(L, 1);
        if (c->on_step)
            c->on_step(c->on_step_ctx, step, total, loss);
    }
    adamw_release(&adam);
    sgd_release(&sgd);
    return rc;
}

void lm_loop_release(struct lm_loop *L)
{
    if (!L)
        return;
    gpt_free(L->ref);
    batch_release(&L->fb);
    batch_release(&L->rb);
    free(L->lp);
    free(L->lp_ref);
    free(L->dlp);
    free(L->dlogits);
    free(L->seq);
    free(L->seq_ref);
    free(L->dseq);
    free(L->count);
    free(L->first);
    free(L->second);
    free(L->n_first);
    free(L->plen);
    free(L->order);
    free(L->ritems);
    free(L->refusal);
    memset(L, 0, sizeof(*L));
}

int lm_unlearn(const struct method_ctx *c, const struct lm_objective *o, struct lethe_error *err)
{
    struct lm_loop L;
    int rc = lm_loop_init(&L, c, o, err);
    if (rc < 0)
        return rc;
    rc = lm_loop_run(&L, err);
    lm_loop_release(&L);
    return rc;
}
