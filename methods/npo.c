/* The NPO family (METHODS.md 1): npo, npo_gdr, npo_klr (NPO on sequence sums against the frozen
 * original, retain none / nll / kl) and simnpo (reference-free, length-normalised). */
#include "methods/lm_impl.h"

/* L_f = -(2/beta) mean_i logsig(-beta (log pi_theta(y_i|x_i) - log pi_ref(y_i|x_i))). */
static double npo_forget(struct lm_loop *L, const size_t *items, int n, double scale)
{
    struct lm_batch *b = &L->fb;
    lm_fill_forget(L, items, n, LM_FILL_ANSWER);
    gpt_forward(L->ref, b->tokens, b->lengths, b->B, b->T);
    gpt_logprobs(L->ref, b->targets, L->lp_ref);
    lm_seq_logprob(L->seq_ref, NULL, L->lp_ref, b->targets, b->B, b->T);
    gpt_forward(L->model, b->tokens, b->lengths, b->B, b->T);
    gpt_logprobs(L->model, b->targets, L->lp);
    lm_seq_logprob(L->seq, NULL, L->lp, b->targets, b->B, b->T);
    double loss = lm_npo(L->dseq, L->seq, L->seq_ref, n, L->beta);
    lm_seq_backward(L->dlp, L->dseq, b->targets, b->B, b->T, scale);
    gpt_backward_dlogprob(L->model, b->targets, L->dlp);
    return loss;
}

/* L_f = -(2/beta) mean_i logsig(beta (lbar_i - delta)), lbar_i = -sum lp / |A_i|. */
static double simnpo_forget(struct lm_loop *L, const size_t *items, int n, double scale)
{
    struct lm_batch *b = &L->fb;
    lm_fill_forget(L, items, n, LM_FILL_ANSWER);
    gpt_forward(L->model, b->tokens, b->lengths, b->B, b->T);
    gpt_logprobs(L->model, b->targets, L->lp);
    lm_seq_logprob(L->seq, L->count, L->lp, b->targets, b->B, b->T);
    for (int i = 0; i < n; i++)
        L->seq_ref[i] = L->count[i] ? -L->seq[i] / L->count[i] : 0.0;   /* lbar_i */
    double loss = lm_simnpo(L->dseq, L->seq_ref, n, L->beta, L->delta);
    for (int i = 0; i < n; i++)                                      /* d lbar / d lp = -1/|A| */
        L->dseq[i] = L->count[i] ? -L->dseq[i] / L->count[i] : 0.0;
    lm_seq_backward(L->dlp, L->dseq, b->targets, b->B, b->T, scale);
    gpt_backward_dlogprob(L->model, b->targets, L->dlp);
    return loss;
}

#define REF METHOD_NEEDS_REF
const struct lm_objective lm_obj_npo = {"npo", "none", 1.0, 1.0, 0.1, REF, 1, npo_forget};
const struct lm_objective lm_obj_npo_gdr = {"npo_gdr", "nll", 1.0, 1.0, 0.1, REF, 1, npo_forget};
const struct lm_objective lm_obj_npo_klr = {"npo_klr", "kl", 1.0, 1.0, 0.1, REF, 1, npo_forget};
const struct lm_objective lm_obj_simnpo = {"simnpo", "nll", 0.125, 1.0, 4.5, 0, 1, simnpo_forget};

int npo_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_npo, err);
}

int npo_gdr_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_npo_gdr, err);
}

int npo_klr_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_npo_klr, err);
}

int simnpo_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_simnpo, err);
}
