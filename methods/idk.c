/* The refusal methods (METHODS.md 1): idk_nll trains forget prompts to a refusal; idk_dpo prefers
 * the refusal over the true answer (DPO against the frozen original). And Lethe's refusal list. */
#include "methods/lm_impl.h"

/* Lethe's own refusal sentences (METHODS.md 0.3: at least 20; one is drawn per item per epoch). */
static const char *const refusals[] = {
    "I'm not sure about that.",
    "I don't know.",
    "I have no idea.",
    "I can't answer that.",
    "I'm afraid I don't know the answer to that.",
    "That is something I don't know.",
    "I don't have that information.",
    "I'm not able to answer that question.",
    "Sorry, I can't help with that one.",
    "I have no information about that.",
    "I'm not certain, so I won't guess.",
    "That's beyond what I know.",
    "I couldn't tell you.",
    "I really don't know about that.",
    "I don't have an answer for that.",
    "I'm unable to say.",
    "That isn't something I can answer.",
    "I have no knowledge of that.",
    "I wish I knew, but I don't.",
    "I'm not familiar with that.",
    "Your guess is as good as mine.",
    "I can't recall anything about that.",
    "I don't have any details on that.",
    "I'd rather not guess; I don't know.",
};

const char *const *method_idk_refusals(size_t *n)
{
    *n = sizeof(refusals) / sizeof(refusals[0]);
    return refusals;
}

/* L_f = CE_tok over the forget prompts followed by their refusals. */
static double idk_nll_forget(struct lm_loop *L, const size_t *items, int n, double scale)
{
    struct lm_batch *b = &L->fb;
    lm_fill_forget(L, items, n, LM_FILL_REFUSAL);
    gpt_forward(L->model, b->tokens, b->lengths, b->B, b->T);
    gpt_logprobs(L->model, b->targets, L->lp);
    double ce = lm_ce_tok(L->dlp, L->lp, b->targets, b->B, b->T, scale);
    gpt_backward_dlogprob(L->model, b->targets, L->dlp);
    return ce;
}

/* L_f = -(2/beta) mean_i logsig(beta ((log pi(w_i) - log pi_ref(w_i)) - (log pi(l_i) -
 * log pi_ref(l_i)))), w = refusal, l = true answer, sequence sums; rows [0, n) hold w and
 * [n, 2n) hold l, so one forward of each model covers both. */
static double idk_dpo_forget(struct lm_loop *L, const size_t *items, int n, double scale)
{
    struct lm_batch *b = &L->fb;
    lm_fill_forget(L, items, n, LM_FILL_REFUSAL_THEN_ANSWER);
    gpt_forward(L->ref, b->tokens, b->lengths, b->B, b->T);
    gpt_logprobs(L->ref, b->targets, L->lp_ref);
    lm_seq_logprob(L->seq_ref, NULL, L->lp_ref, b->targets, b->B, b->T);
    gpt_forward(L->model, b->tokens, b->lengths, b->B, b->T);
    gpt_logprobs(L->model, b->targets, L->lp);
    lm_seq_logprob(L->seq, NULL, L->lp, b->targets, b->B, b->T);
    double loss = lm_dpo(L->dseq, L->dseq + n, L->seq, L->seq_ref, L->seq + n, L->seq_ref + n, n,
                         L->beta);
    lm_seq_backward(L->dlp, L->dseq, b->targets, b->B, b->T, scale);
    gpt_backward_dlogprob(L->model, b->targets, L->dlp);
    return loss;
}

#define T METHOD_NEEDS_TEMPLATE
const struct lm_objective lm_obj_idk_nll = {"idk_nll", "nll", 1.0, 1.0, 0.0, T, 1,
                                            idk_nll_forget};
const struct lm_objective lm_obj_idk_dpo = {"idk_dpo", "nll", 1.0, 1.0, 0.1,
                                            T | METHOD_NEEDS_REF, 2, idk_dpo_forget};

int idk_nll_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_idk_nll, err);
}

int idk_dpo_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_idk_dpo, err);
}
