/* nn: Lethe's engine. GPT-2 and small classifiers in plain C with OpenBLAS and OpenMP:
 * forward, backward, training, checkpoints, tokenizers, generation, quantization.
 *
 * How to use it in ten lines:
 *
 *     struct gpt_config cfg = {.n_layer = 4, .n_head = 4, .n_embd = 256, .n_ctx = 256,
 *                              .vocab = 4096, .ln_eps = 1e-5f};
 *     struct gpt *m = gpt_new(&cfg, 1234);                       // GPT-2 init from a seed
 *     gpt_forward(m, tokens, lengths, B, T);                     // logits for (B, T) tokens
 *     double loss = gpt_nll(m, targets, weights, dlp);           // per-token log-probs, loss
 *     nn_params_zero_grad(&m->params);
 *     gpt_backward_dlogprob(m, targets, dlp);                    // any loss over log-probs
 *     adamw_step(&opt, &m->params, lr);                          // one loop over the flat buffer
 *     safetensors_save_gpt("m.safetensors", m, meta, &err);      // Hugging Face names, atomic
 *     gpt_free(m);
 *
 * Legend of shape letters used in comments: B batch, T time (sequence positions), C channels
 * (n_embd), V vocabulary, L layers, NH heads, HS head size (C/NH), 3C (q,k,v), 4C (MLP).
 * Conventions (STYLE.md): outputs first, then inputs and weights, then sizes; gradients are
 * named d<name>; backward ACCUMULATES into gradients and the caller zeroes them.
 * The engine knows nothing of JSON, SQLite or suites; errors are returned through
 * struct lethe_error.
 */
#ifndef LETHE_NN_H
#define LETHE_NN_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ---- parameters: one flat buffer of named tensors -------------------------------------- */

enum nn_tensor_kind {
    NN_T_LINEAR,    /* a weight matrix of a linear map (quantized by the probe) */
    NN_T_EMBED,     /* an embedding table (wte, wpe; quantized by the probe) */
    NN_T_NORM,      /* a LayerNorm gain or bias */
    NN_T_BIAS,      /* a bias vector */
    NN_T_CONV,      /* a convolution kernel */
    NN_T_KIND_COUNT
};

#define NN_NAME_MAX 96
#define NN_MAX_DIMS 4

struct nn_tensor {
    char name[NN_NAME_MAX];     /* Hugging Face name for GPT-2, e.g. "h.0.attn.c_attn.weight" */
    enum nn_tensor_kind kind;
    int ndim;
    int shape[NN_MAX_DIMS];     /* row-major; GPT-2 Conv1D weights are [in, out] as in HF */
    size_t offset;              /* into data/grad, in floats */
    size_t numel;
    int frozen;                 /* 1 = no gradient is applied by the optimizer */
};

struct nn_params {
    float *data;                /* (n) all parameters */
    float *grad;                /* (n) their gradients; NULL until nn_params_alloc_grad */
    size_t n;
    struct nn_tensor *tensors;
    int n_tensors;
};

/* Appends a tensor to the table (before nn_params_alloc). Returns its index. */
int nn_params_add(struct nn_params *p, const char *name, enum nn_tensor_kind kind, int ndim,
                  const int *shape);
/* Allocates data (zeroed, 64-byte aligned) for every tensor added. */
void nn_params_alloc(struct nn_params *p);
void nn_params_alloc_grad(struct nn_params *p);
void nn_params_zero_grad(struct nn_params *p);
void nn_params_release(struct nn_params *p);
/* The tensor of that name, or NULL. */
struct nn_tensor *nn_params_find(const struct nn_params *p, const char *name);
static inline float *nn_tensor_data(const struct nn_params *p, const struct nn_tensor *t)
{
    return p->data + t->offset;
}
/* Freezes (1) or thaws (0) every tensor whose name matches the glob; returns how many matched. */
int nn_params_freeze(struct nn_params *p, const char *glob, int frozen);
/* Copies data (and not grad) from src, which must have the same table. */
void nn_params_copy(struct nn_params *dst, const struct nn_params *src);

/* Deterministic random numbers (xoshiro256** seeded through splitmix64). */
struct nn_rng {
    uint64_t s[4];
};
void nn_rng_seed(struct nn_rng *r, uint64_t seed);
uint64_t nn_rng_next(struct nn_rng *r);
double nn_rng_uniform(struct nn_rng *r);        /* [0, 1) with 53 bits */
double nn_rng_normal(struct nn_rng *r);         /* standard normal */

/* ==== minimal JSON reading (nn/json.c) ================================================= */
/* The engine reads two JSON formats itself (safetensors headers, vocab.json/encoder.json)
 * without jansson: a small strict RFC 8259 reader into a tree. */

enum nn_json_type { NN_JSON_NULL, NN_JSON_BOOL, NN_JSON_NUMBER, NN_JSON_STRING, NN_JSON_ARRAY,
                    NN_JSON_OBJECT, NN_JSON_TYPE_COUNT };

struct nn_json {
    enum nn_json_type type;
    int boolean;                /* BOOL */
    double num;                 /* NUMBER */
    int is_int;                 /* NUMBER written without fraction or exponent */
    long long inum;             /* NUMBER when is_int (exact up to 2^63) */
    char *str;                  /* STRING: UTF-8, NUL-terminated (may hold NUL: see len) */
    size_t len;                 /* STRING: bytes */
    struct nn_json *items;      /* ARRAY/OBJECT: n values, in file order */
    char **keys;                /* OBJECT: n keys (NUL-terminated UTF-8) */
    size_t n;
};

/* Parses text (len bytes); *out is returned (nn_json_free). Errors name line and column:
 * "line 3, column 14: expected ':'". Duplicate object keys are an error. */
int nn_json_parse(const char *text, size_t len, struct nn_json **out, struct lethe_error *err);
void nn_json_free(struct nn_json *j);
/* The value of key in an object, or NULL (also when obj is not an object). */
const struct nn_json *nn_json_get(const struct nn_json *obj, const char *key);

/* ==== GPT-2 (nn/gpt.c, nn/ops.c) ====================================================== */
/* Section owned by the engineer of the GPT core; the declarations below are the contract.
 * Sequence layout (METRICS.md 0.2): position t predicts token t+1; callers pass targets
 * (B, T) with targets[b,t] = the token to score at position t, or -1 for "not scored". */

struct gpt_config {
    int n_layer, n_head, n_embd, n_ctx, vocab;
    float ln_eps;               /* 1e-5 */
};

struct gpt;                     /* parameters + activations; see gpt.c */

/* NULL if cfg is usable, else a message naming the bad field. */
const char *gpt_config_check(const struct gpt_config *cfg);
/* A GPT-2 with GPT-2's initialisation from seed (normal 0.02; residual projections
 * c_proj scaled by 1/sqrt(2L); biases 0; LayerNorm gains 1). Returned; gpt_free. */
struct gpt *gpt_new(const struct gpt_config *cfg, uint64_t seed);
void gpt_free(struct gpt *m);
const struct gpt_config *gpt_cfg(const struct gpt *m);
struct nn_params *gpt_params(struct gpt *m);

/* Forward over tokens (B, T); lengths (B) = real length of each row (positions at or past it
 * are padding, never attended to by real positions; NULL = every row is T long). Keeps the
 * activations for a backward. T <= n_ctx. */
void gpt_forward(struct gpt *m, const int *tokens, const int *lengths, int B, int T);
/* Logits of the last forward, (B, T, V); borrowed until the next forward. */
const float *gpt_logits(const struct gpt *m);
/* lp[b,t] = log_softmax(logits[b,t])[targets[b,t]] (max-subtracted, summed in double), 0 where
 * targets < 0. Returns the sum of the scored lp. */
double gpt_logprobs(const struct gpt *m, const int *targets, float *lp);
/* Residual stream after block `layer` (0-based), (B, T, C); borrowed until the next forward. */
const float *gpt_hidden(const struct gpt *m, int layer);
/* Adds dh (B, T, C) to the gradient flowing into the residual after block `layer` during
 * the next backward (RMU-style losses). dh is borrowed until that backward. */
void gpt_inject_hidden_grad(struct gpt *m, int layer, const float *dh);
/* Backward of the last forward from d(loss)/d(logits) (B, T, V); accumulates into the
 * parameter gradients (frozen tensors get none). */
void gpt_backward(struct gpt *m, const float *dlogits);
/* Backward from d(loss)/d(lp) (B, T) for the targets of gpt_logprobs: d lp / d z =
 * onehot(target) - softmax(z). */
void gpt_backward_dlogprob(struct gpt *m, const int *targets, const float *dlp);
/* Per-sample global gradient L2 norms (GradNorm attack): norms[b] = ||d(mean over scored
 * positions of -lp of row b)/d theta||. Leaves the accumulated gradients untouched. */
void gpt_sample_grad_norms(struct gpt *m, const int *tokens, const int *lengths,
                           const int *targets, int B, int T, float *norms);

/* ==== classifiers (nn/classifier.c) ==================================================== */
/* Section owned by the engineer of the classifiers and optimizers. */

/* ==== optimisation (nn/optim.c) ======================================================== */
/* Section owned by the engineer of the classifiers and optimizers. */

/* ==== checkpoints (nn/safetensors.c) =================================================== */
/* Section owned by the engineer of checkpoints and quantization. */

/* ==== quantization (nn/quantize.c) ===================================================== */
/* Section owned by the engineer of checkpoints and quantization. */

/* ==== tokenizers (nn/tokenizer.c, nn/bpe_train.c) ====================================== */
/* Section owned by the engineer of the tokenizers. */

/* ==== generation (nn/generate.c) ======================================================= */
/* Section owned by the engineer of the GPT core. */

#endif
