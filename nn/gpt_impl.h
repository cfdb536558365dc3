/* The inside of struct gpt, shared by nn/gpt.c and nn/generate.c (private to nn/ and tests).
 * Activations are packed (see nn/ops.h): row b of the last forward is at rows off[b] ..
 * off[b] + len[b] - 1 of every (N, .) array; only the logits keep the (B, T, V) layout. */
#ifndef LETHE_NN_GPT_IMPL_H
#define LETHE_NN_GPT_IMPL_H

#include "nn/nn.h"

#define GPT_LAYER_TENSORS 12

/* One block's weights (or gradients: NULL = frozen), Hugging Face layouts. */
struct gpt_block {
    float *ln1w, *ln1b;         /* (C) */
    float *qkvw, *qkvb;         /* (C, 3C), (3C) */
    float *projw, *projb;       /* (C, C), (C) */
    float *ln2w, *ln2b;         /* (C) */
    float *fcw, *fcb;           /* (C, 4C), (4C) */
    float *fcprojw, *fcprojb;   /* (4C, C), (C) */
};

/* One block's activations of the last forward. */
struct gpt_block_acts {
    float *ln1, *ln1_mean, *ln1_rstd;   /* (N, C), (N), (N) */
    float *qkv;                         /* (N, 3C) */
    float *att;                         /* (NH * sum len^2) */
    float *atty;                        /* (N, C) attention output before c_proj */
    float *res2;                        /* (N, C) residual after attention */
    float *ln2, *ln2_mean, *ln2_rstd;   /* (N, C), (N), (N) */
    float *fch, *fchg;                  /* (N, 4C) before and after GELU */
    float *res3;                        /* (N, C) residual after the block */
};

enum gpt_logits_state {
    GPT_NO_FORWARD,
    GPT_LOGITS,         /* logits holds the logits of the last forward */
    GPT_DLOGITS,        /* logits holds d(loss)/d(logits) of gpt_forward_loss */
    GPT_SPENT,          /* logits was consumed by a backward */
};

struct gpt {
    struct gpt_config cfg;
    struct nn_params params;
    int *tidx;                  /* (4 + 12 L) tensor indices in gpt_params_layout order */
    float *wte, *wpe, *lnfw, *lnfb;
    struct gpt_block *w;        /* (L) */
    /* gradients bound for the running backward (NULL: frozen) */
    float *dwte, *dwpe, *dlnfw, *dlnfb;
    struct gpt_block *dw;       /* (L) */

    /* the last forward */
    int B, T, N, maxlen, full;  /* full: every row is T long, packed == (B, T) */
    int *tokens, *pos;          /* (N) */
    int *off, *len;             /* (B + 1), (B) */
    size_t *aoff;               /* (B + 1) */
    enum gpt_logits_state state;
    int last_only;              /* logits were computed for each row's last position only */

    /* activations: one buffer, sized by the capacities below */
    size_t cap_bt, cap_att;     /* B*T and NH * sum len^2 it can hold */
    int cap_b;
    float *acts;
    struct gpt_block_acts *a;   /* (L) */
    float *encoded;             /* (N, C) */
    float *lnf, *lnf_mean, *lnf_rstd;   /* (N, C), (N), (N) */
    float *logits;              /* (B, T, V) */
    float *lp;                  /* (N) per-position log-probs of gpt_forward_loss */
    /* backward scratch */
    float *grads;
    float *dres, *dln, *datty;  /* (N, C) */
    float *dqkv;                /* (N, 3C) */
    float *dfch;                /* (N, 4C) */
    float *scratch;             /* attention backward */
    size_t cap_scratch;

    const float **inject;       /* (L) borrowed (B, T, C) gradients, or NULL */
    float *hidden_bt;           /* (B, T, C) unpacked hidden state for gpt_hidden */
    size_t cap_hidden;
    float *sample_grad;         /* (params.n) for gpt_sample_grad_norms */
};

/* Forward over tokens (B, T) into the activations; last_only computes the logits of each row's
 * last real position only, (B, V), with the row kernel of decoding (matmul_rows_bt). */
void gpt_forward_impl(struct gpt *m, const int *tokens, const int *lengths, int B, int T,
                      int last_only);

#endif
