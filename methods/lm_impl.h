/* methods/lm_impl.h: the shared training loop of the language-model methods (METHODS.md 0.2-0.3)
 * and their losses; internal to methods/ and its tests (the public header is method.h).
 *
 * A method on the shared loop is an lm_objective: its forget term L_f as a function that runs
 * forward and backward over a micro-batch of forget items. The loop adds the retain term
 * (nll: CE_tok(R), kl: KL_R, none), pairs batches, accumulates, clips, schedules the lr and
 * steps the optimizer:
 *
 *     static double my_forget(struct lm_loop *L, const size_t *items, int n, double scale);
 *     const struct lm_objective lm_obj_mine = {"mine", "nll", 1.0, 1.0, 0, my_forget};
 *     int mine_unlearn_lm(const struct method_ctx *c, struct lethe_error *err)
 *     {
 *         return lm_unlearn(c, &lm_obj_mine, err);
 *     }
 *
 * Losses (the lm_* functions below) take per-token log-probs lp (B, T) laid out as gpt_logprobs
 * gives them, with targets (B, T) (-1 = not scored), and write d(loss)/d(input) scaled by
 * `scale` (the loop folds gamma or alpha and 1/micro-batches into it).
 */
#ifndef LETHE_LM_IMPL_H
#define LETHE_LM_IMPL_H

#include "methods/method.h"
#include "nn/nn.h"

enum lm_retain { LM_RETAIN_NONE, LM_RETAIN_NLL, LM_RETAIN_KL, LM_RETAIN_COUNT };

/* A padded micro-batch: row b holds lengths[b] tokens, then padding (token 0, never attended). */
struct lm_batch {
    int *tokens;                /* (B, T) */
    int *lengths;               /* (B) */
    int *targets;               /* (B, T): tokens[b, t + 1] on scored positions, else -1 */
    int B, T;
    int rows, cols;             /* capacity */
};

struct lm_loop;

struct lm_objective {
    const char *name;
    const char *retain_def;     /* default retain_loss: "nll", "kl" or "none" */
    double gamma_def, alpha_def, beta_def;
    unsigned needs;             /* METHOD_NEEDS_REF / _TEMPLATE besides F (R follows retain) */
    int rows_per_item;          /* batch rows per forget item (2 for DPO), 1 otherwise */
    /* Forward and backward of scale * L_f over forget items[0..n); accumulates into the model's
     * gradients; returns L_f (unscaled). */
    double (*forget)(struct lm_loop *L, const size_t *items, int n, double scale);
};

struct lm_loop {
    const struct method_ctx *c;
    const struct lm_objective *obj;
    struct gpt *model;
    struct gpt *ref;            /* a clone of c->ref (its own activations), or NULL */
    int n_ctx, V;
    enum lm_retain retain;
    double gamma, alpha, beta, delta;
    int batch, accum;
    struct nn_rng rng;
    size_t *order;              /* (|F|) this epoch's forget order */
    size_t *refusal;            /* (|F|) this epoch's refusal of each forget item, or NULL */
    size_t *ritems;             /* (batch) this micro-batch's retain draws */
    struct lm_batch fb, rb;     /* forget and retain micro-batches */
    float *lp, *lp_ref, *dlp;   /* (rows, cols) */
    float *dlogits;             /* (batch, retain cols, V) for KL_R, else NULL */
    double *seq, *seq_ref, *dseq;   /* (rows) per-row scratch */
    int *count;                 /* (rows) scored positions of each row */
    const struct lm_example **first, **second; /* (rows) lm_batch_fill arguments */
    int *n_first, *plen;        /* (rows) */
    /* Optional, set after lm_loop_init (which clears it): lm_loop_run calls it on every step
     * with after_step 0 once the gradients are accumulated (before clipping), and with
     * after_step 1 after the optimizer step. */
    void (*hook)(struct lm_loop *L, int after_step);
    void *hook_ctx;
};

/* ---- losses (pure functions; tests check them against METHODS.md's examples) ---------------- */

/* log(sigmoid(x)) = -softplus(-x), stable for any x; sigmoid likewise. */
double lm_log_sigmoid(double x);
double lm_sigmoid(double x);
/* CE_tok = sum of -lp over scored positions / their count (a token mean over the whole batch,
 * not a mean of per-item means); 0 when none is scored. dlp (may be NULL) = scale * dCE/dlp. */
double lm_ce_tok(float *dlp, const float *lp, const int *targets, int B, int T, double scale);
/* seq[b] = sum of lp over the scored positions of row b (log pi(y|x)), count[b] = how many. */
void lm_seq_logprob(double *seq, int *count, const float *lp, const int *targets, int B, int T);
/* dlp[b, t] = scale * dseq[b] on the scored positions of row b, 0 elsewhere. */
void lm_seq_backward(float *dlp, const double *dseq, const int *targets, int B, int T,
                     double scale);
/* NPO: -(2/beta) mean_i logsig(-beta (logpi_i - logpi_ref_i)); dlogpi = dL/dlogpi_i. */
double lm_npo(double *dlogpi, const double *logpi, const double *logpi_ref, int n, double beta);
/* SimNPO: -(2/beta) mean_i logsig(beta (nll_i - delta)) over length-normalised NLLs; dnll. */
double lm_simnpo(double *dnll, const double *nll, int n, double beta, double delta);
/* DPO: -(2/beta) mean_i logsig(beta ((w_i - w_ref_i) - (l_i - l_ref_i))); dw, dl. */
double lm_dpo(double *dw, double *dl, const double *w, const double *w_ref, const double *l,
              const double *l_ref, int n, double beta);
/* KL_R = mean over the non-padding positions (t < lengths[b]) of KL(softmax(ref) || softmax(z));
 * dlogits (B, T, V) = scale * dKL/dz (0 on padding). logits, ref_logits (B, T, V). */
double lm_kl_ref(float *dlogits, const float *logits, const float *ref_logits,
                 const int *lengths, int B, int T, int V, double scale);

/* ---- the loop ----------------------------------------------------------------------------- */

/* Fills b with items ex[i] (i < n): row i = first[i] (its first n_first[i] ids) followed by
 * second[i] (may be NULL: none), scored from position prompt_len - 1 on, cut to n_ctx. */
void lm_batch_fill(struct lm_batch *b, const struct lm_example *const *first, const int *n_first,
                   const struct lm_example *const *second, const int *prompt_len, int n,
                   int n_ctx);
enum lm_fill { LM_FILL_ANSWER, LM_FILL_REFUSAL, LM_FILL_REFUSAL_THEN_ANSWER };
/* Fills L->fb with forget items[0..n): their own answers, their prompts followed by this
 * epoch's refusal (L->refusal), or both (rows [0, n) the refusals, [n, 2n) the answers). */
void lm_fill_forget(struct lm_loop *L, const size_t *items, int n, enum lm_fill how);

/* Validates c for objective o and sets up L (clones the reference, sizes every buffer). */
int lm_loop_init(struct lm_loop *L, const struct method_ctx *c, const struct lm_objective *o,
                 struct lethe_error *err);
/* Forward/backward of scale * (gamma L_f(forget items) + alpha L_r(retain items)); n items of
 * each (retain may be NULL when there is no retain term); accumulates gradients; returns the
 * unscaled gamma L_f + alpha L_r. */
double lm_loop_micro(struct lm_loop *L, const size_t *fitems, const size_t *ritems, int n,
                     double scale);
/* The whole schedule of METHODS.md 0.2-0.3 on L->model. */
int lm_loop_run(struct lm_loop *L, struct lethe_error *err);
void lm_loop_release(struct lm_loop *L);
/* init + run + release. */
int lm_unlearn(const struct method_ctx *c, const struct lm_objective *o, struct lethe_error *err);

/* ---- the methods on the loop ------------------------------------------------------------ */

extern const struct lm_objective lm_obj_grad_ascent, lm_obj_grad_diff, lm_obj_ga_klr;
extern const struct lm_objective lm_obj_npo, lm_obj_npo_gdr, lm_obj_npo_klr, lm_obj_simnpo;
extern const struct lm_objective lm_obj_idk_nll, lm_obj_idk_dpo;

int grad_ascent_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);
int grad_diff_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);
int ga_klr_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);
int npo_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);
int npo_gdr_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);
int npo_klr_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);
int simnpo_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);
int idk_nll_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);
int idk_dpo_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);

/* ---- FLAT (methods/flat.c, METHODS.md 2.2) and GRIN (methods/grin.c, 2.1) ------------------ */

enum flat_variant { FLAT_KL, FLAT_JS, FLAT_PEARSON, FLAT_TV, FLAT_COUNT };
/* 0 and *out set for "kl", "js", "pearson", "tv"; else -1. */
int flat_variant_parse(const char *s, enum flat_variant *out);
/* FLAT: mean_i [-g*(pe_i) + f*(g*(pf_i))] over mean token probabilities of the template (pe)
 * and of the forget answer (pf); dpe, dpf (may be NULL) = d/dpe_i, d/dpf_i. */
double lm_flat(double *dpe, double *dpf, const double *pe, const double *pf, int n,
               enum flat_variant v);
extern const struct lm_objective lm_obj_flat;
int flat_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);

/* GRIN's selection: mask (n) 1 for the k selected scalars; per_tensor (n_tensors) how many of
 * each tensor (its selected fraction = per_tensor[i] / numel). */
struct grin_selection {
    unsigned char *mask;
    size_t k, n_eligible;
    size_t *per_tensor;
    int n_tensors;
    double eps;                 /* the epsilon of the ratio that was used */
};
/* Whether tensor t takes part in the selection: an unfrozen weight matrix or embedding. */
int grin_eligible(const struct nn_tensor *t);
/* Adds to m's gradients the gradient of the summed answer NLL of items idx[0..n) of s (batches
 * of `batch`); returns the number of scored tokens. The items must be valid for m. */
long grin_grad_sum(struct gpt *m, const struct lm_set *s, const size_t *idx, size_t n, int batch);
/* s_j = |gf_j| / (|gr_j| + eps), eps = eps_scale * mean |gr| over the eligible scalars; selects
 * exactly ceil(rho * N_eligible) eligible scalars of highest s, ties to the lower flat index. */
int grin_select(const struct nn_params *p, const float *gf, const float *gr, double rho,
                double eps_scale, struct grin_selection *out, struct lethe_error *err);
/* theta_j += N(0, (kappa rms(T_j))^2) for the selected j, in flat order, rms of each tensor
 * before the noise. */
void grin_noise(struct nn_params *p, const unsigned char *mask, double kappa, struct nn_rng *r);
void grin_selection_release(struct grin_selection *s);
/* The whole of GRIN; when sel is not NULL it receives the selection (caller releases). */
int grin_unlearn(const struct method_ctx *c, struct grin_selection *sel, struct lethe_error *err);
int grin_unlearn_lm(const struct method_ctx *c, struct lethe_error *err);

#endif
