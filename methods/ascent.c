/* The gradient-ascent family (METHODS.md 1): grad_ascent, grad_diff and ga_klr share the forget
 * term L_f = -CE_tok(F) and differ in their retain term (none, nll, kl). */
#include "methods/lm_impl.h"

static double ascent_forget(struct lm_loop *L, const size_t *items, int n, double scale)
{
    struct lm_batch *b = &L->fb;
    lm_fill_forget(L, items, n, LM_FILL_ANSWER);
    gpt_forward(L->model, b->tokens, b->lengths, b->B, b->T);
    gpt_logprobs(L->model, b->targets, L->lp);
    double ce = lm_ce_tok(L->dlp, L->lp, b->targets, b->B, b->T, -scale);
    gpt_backward_dlogprob(L->model, b->targets, L->dlp);
    return -ce;
}

const struct lm_objective lm_obj_grad_ascent = {"grad_ascent", "none", 1.0, 1.0, 0.0, 0, 1,
                                                ascent_forget};
const struct lm_objective lm_obj_grad_diff = {"grad_diff", "nll", 1.0, 1.0, 0.0, 0, 1,
                                              ascent_forget};
const struct lm_objective lm_obj_ga_klr = {"ga_klr", "kl", 1.0, 1.0, 0.0, METHOD_NEEDS_REF, 1,
                                           ascent_forget};

int grad_ascent_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_grad_ascent, err);
}

int grad_diff_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_grad_diff, err);
}

int ga_klr_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
{
    return lm_unlearn(c, &lm_obj_ga_klr, err);
}
