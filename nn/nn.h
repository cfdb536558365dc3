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
/* Section owned by the engineer of the tokenizers. */

/* ==== generation (nn/generate.c) ======================================================= */
/* Section owned by the engineer of the GPT core. */

#endif
