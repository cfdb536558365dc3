/* The registry of unlearning methods (METHODS.md): names, the kinds they apply to, the data they
 * need, and their parameter tables with the defaults METHODS.md gives. */
#include <string.h>

#include "base/base.h"
#include "methods/lm_impl.h"
#include "methods/method.h"

#define END {NULL, 0, NULL, NULL, NULL}
#define F METHOD_NEEDS_FORGET
#define R METHOD_NEEDS_RETAIN
#define REF METHOD_NEEDS_REF
#define T METHOD_NEEDS_TEMPLATE
#define N METHOD_NEEDS_NOISE
#define G METHOD_NEEDS_SYNTH

/* Rows of the loss skeleton L = gamma * L_f(F) + alpha * L_r(R) (METHODS.md 0.2). */
#define RETAIN(loss) {"retain_loss", PARAM_ENUM, "\"" loss "\"", "nll|kl|none", \
                      "retain term: nll (CE on R), kl (KL(ref||model) on R) or none"}
#define ALPHA(v) {"alpha", PARAM_NONNEG, v, NULL, "weight of the retain term"}
#define GAMMA(v) {"gamma", PARAM_NONNEG, v, NULL, "weight of the forget term"}
#define BETA(v, what) {"beta", PARAM_POSITIVE, v, NULL, what}
#define EPOCHS(v) {"epochs", PARAM_COUNT, v, NULL, "passes over the forget set"}
#define LR_SCALE(v) {"lr_scale", PARAM_POSITIVE, v, NULL, "multiple of the base lr when lr is not given"}

const struct param_spec method_common_params[] = {
    {"lr", PARAM_POSITIVE, NULL, NULL,
     "learning rate; default lr_scale x base lr (0.1 x the peak lr of the suite's recipe)"},
    LR_SCALE("1.0"),
    {"epochs", PARAM_COUNT, NULL, NULL,
     "passes over the forget set (default: 10 for language models, 5 for classifiers)"},
    {"steps", PARAM_COUNT, NULL, NULL, "stop after this many optimizer steps (default: no cap)"},
    {"batch", PARAM_COUNT, NULL, NULL, "forget items per micro-batch (default 8 LM, 64 classifier)"},
    {"grad_accum", PARAM_COUNT, NULL, NULL, "micro-batches per step (default 4 LM, 1 classifier)"},
    {"weight_decay", PARAM_NONNEG, NULL, NULL, "weight decay (default 0.01 LM, 0 classifier)"},
    {"schedule", PARAM_ENUM, NULL, "constant|linear|cosine",
     "lr schedule after warm-up (default: linear for QA suites, constant otherwise)"},
    {"warmup", PARAM_NONNEG, NULL, NULL, "warm-up length in epochs (default 1 for QA suites)"},
    {"clip", PARAM_NONNEG, NULL, NULL, "global gradient-norm clip, 0 none (default 1 LM)"},
    {"optimizer", PARAM_ENUM, NULL, "adamw|adam|sgd", "optimizer (default adamw LM, adam classifier)"},
    {"momentum", PARAM_FRACTION, NULL, NULL, "SGD momentum"},
    {"alpha", PARAM_NONNEG, NULL, NULL, "weight of the retain term"},
    {"gamma", PARAM_NONNEG, NULL, NULL, "weight of the forget term"},
    {"retain_loss", PARAM_ENUM, NULL, "nll|kl|none",
     "retain term: nll (CE on R), kl (KL(ref||model) on R) or none"},
    END,
};

static const struct param_spec grad_ascent_p[] = {RETAIN("none"), GAMMA("1.0"), END};
static const struct param_spec grad_diff_p[] = {RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), END};
static const struct param_spec ga_klr_p[] = {RETAIN("kl"), GAMMA("1.0"), ALPHA("1.0"), END};

#define NPO_BETA BETA("0.1", "inverse temperature of the NPO loss (sequence sums)")
static const struct param_spec npo_p[] = {NPO_BETA, RETAIN("none"), GAMMA("1.0"), END};
static const struct param_spec npo_gdr_p[] = {NPO_BETA, RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), END};
static const struct param_spec npo_klr_p[] = {NPO_BETA, RETAIN("kl"), GAMMA("1.0"), ALPHA("1.0"), END};

static const struct param_spec simnpo_p[] = {
    BETA("4.5", "inverse temperature on the length-normalised NLL"),
    {"delta", PARAM_REAL, "0.0", NULL, "margin (the paper's gamma/beta)"},
    RETAIN("nll"), GAMMA("0.125"), ALPHA("1.0"), END,
};
static const struct param_spec idk_nll_p[] = {RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), END};
static const struct param_spec idk_dpo_p[] = {
    BETA("0.1", "inverse temperature of the DPO loss (sequence sums)"),
    RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), END,
};
static const struct param_spec rmu_p[] = {
    {"layer", PARAM_INT, NULL, NULL, "steered block, 0-based (default max(2, floor(0.22 n_layer)))"},
    {"c", PARAM_POSITIVE, NULL, NULL,
     "steering norm (default c_scale x mean forget-token norm of the original)"},
    {"c_scale", PARAM_POSITIVE, "4.0", NULL, "steering norm relative to the original's activations"},
    ALPHA("100.0"), LR_SCALE("5.0"),
    {"batch", PARAM_COUNT, "4", NULL, "forget items per step"},
    {"steps", PARAM_COUNT, "80", NULL, "optimizer steps (fewer if 10 passes over D_f end first)"},
    {"schedule", PARAM_ENUM, "\"constant\"", "constant|linear|cosine", "lr schedule"},
    END,
};
static const struct param_spec undial_p[] = {
    BETA("10.0", "how far the true token's logit is lowered in the soft labels"),
    RETAIN("none"), ALPHA("0.0"), LR_SCALE("10.0"), END,
};
static const struct param_spec wga_p[] = {
    {"beta", PARAM_NONNEG, "1.0", NULL, "exponent of the confidence weight p^beta"},
    RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), EPOCHS("5"), END,
};
static const struct param_spec satimp_p[] = {
    {"beta1", PARAM_NONNEG, "5.0", NULL, "exponent of p in the weight p^beta1 (1-p)^beta2"},
    {"beta2", PARAM_NONNEG, "1.0", NULL, "exponent of (1-p) in the weight"},
    RETAIN("nll"), GAMMA("0.1"), ALPHA("1.0"), EPOCHS("5"), END,
};
static const struct param_spec ce_u_p[] = {RETAIN("none"), GAMMA("1.0"), END};
static const struct param_spec grin_p[] = {
    {"base", PARAM_ENUM, "\"grad_diff\"", "grad_diff|npo_gdr|idk_nll",
     "objective of the masked fine-tuning"},
    {"rho", PARAM_FRACTION, "0.01", NULL, "fraction of eligible weights selected"},
    {"kappa", PARAM_NONNEG, "0.1", NULL, "noise std relative to each tensor's rms"},
    {"eps_scale", PARAM_POSITIVE, "0.001", NULL, "epsilon of the ratio, relative to mean |g_r|"},
    {"retain_ratio", PARAM_POSITIVE, "4.0", NULL, "retain subset for g_r, as a multiple of |D_f|"},
    BETA("0.1", "NPO inverse temperature when base is npo_gdr"),
    RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), END,
};
static const struct param_spec flat_p[] = {
    {"variant", PARAM_ENUM, "\"kl\"", "kl|js|pearson|tv", "the f-divergence of the loss adjustment"},
    EPOCHS("5"),
    {"batch", PARAM_COUNT, "8", NULL, "forget items per micro-batch"},
    {"grad_accum", PARAM_COUNT, "8", NULL, "micro-batches per step (effective batch 64)"},
    {"warmup", PARAM_NONNEG, "1.0", NULL, "warm-up length in epochs (at least 2 steps)"},
    END,
};

#define SURE_COMMON \
    {"percentile", PARAM_FRACTION, "0.9", NULL, "saliency threshold: units below it get no update"}, \
    {"granularity", PARAM_ENUM, "\"unit\"", "unit|module", \
     "saliency per output unit each step, or per tensor once (the paper's form)"}, \
    LR_SCALE("10.0")
static const struct param_spec sure_grad_diff_p[] = {
    SURE_COMMON, RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), END};
static const struct param_spec sure_ga_klr_p[] = {
    SURE_COMMON, RETAIN("kl"), GAMMA("1.0"), ALPHA("1.0"), END};
static const struct param_spec sure_npo_gdr_p[] = {
    SURE_COMMON, NPO_BETA, RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), END};
static const struct param_spec sure_npo_klr_p[] = {
    SURE_COMMON, NPO_BETA, RETAIN("kl"), GAMMA("1.0"), ALPHA("1.0"), END};

static const struct param_spec gwm_p[] = {
    ALPHA("1.0"),
    {"lambda", PARAM_NONNEG, "1.0", NULL, "weight of the retain KL term"},
    EPOCHS("5"),
    {"eval_each_epoch", PARAM_BOOL, "true", NULL, "evaluate after every epoch (the trajectory)"},
    END,
};

/* classifiers (METHODS.md 3) */
static const struct param_spec finetune_retain_p[] = {EPOCHS("2"), END};
static const struct param_spec random_label_p[] = {RETAIN("nll"), GAMMA("1.0"), ALPHA("1.0"), END};
#define FNN_COMMON \
    {"rounds", PARAM_COUNT, "10", NULL, "forgetting rounds, each followed by retain training"}, \
    {"retain_ratio", PARAM_POSITIVE, "10.0", NULL, "retain subset per round, multiple of |D_f|"}
#define FNN_RANGE \
    {"tau_min", PARAM_POSITIVE, "2.0", NULL, "shortest retention time constant"}, \
    {"tau_max", PARAM_POSITIVE, "50.0", NULL, "longest retention time constant"}
static const struct param_spec fnn_fixed_p[] = {
    FNN_COMMON, {"tau", PARAM_POSITIVE, "5.0", NULL, "retention time constant of every neuron"}, END};
static const struct param_spec fnn_range_p[] = {FNN_COMMON, FNN_RANGE, END};
static const struct param_spec multigan_p[] = {
    {"gan_epochs", PARAM_COUNT, "20", NULL, "GAN training epochs (at least gan_steps steps)"},
    {"gan_steps", PARAM_COUNT, "2000", NULL, "minimum GAN training steps"},
    {"gan_lr", PARAM_POSITIVE, "0.0002", NULL, "GAN Adam learning rate (beta1 0.5)"},
    {"gan_batch", PARAM_COUNT, "64", NULL, "GAN batch size"},
    {"z_dim", PARAM_COUNT, "64", NULL, "latent dimension"},
    {"inversion", PARAM_ENUM, "\"least_likely\"", "least_likely|mirror|random_other",
     "label given to forget samples: the original's least likely class, 9 - y, or random"},
    {"retain_ratio", PARAM_POSITIVE, "4.0", NULL, "retain subset in the fine-tuning, x |D_f|"},
    EPOCHS("3"),
    END,
};
static const struct param_spec forget_mi_p[] = {
    {"weights", PARAM_ENUM, "\"default\"", "default|equal|multimodal|unimodal|retention|no_noise",
     "loss weights (UR, UU, MU, MR) preset, or an ablation"},
    {"image_noise", PARAM_NONNEG, "0.1", NULL, "std of the Gaussian noise on forget images"},
    {"text_noise", PARAM_FRACTION, "0.5", NULL, "probability of an edit per report token"},
    {"noise_words", PARAM_INT, "2", NULL, "label words replaced by [NOISE] per report"},
    {"hinge", PARAM_BOOL, "false", NULL, "cap the retention terms at their start + 1 (public code)"},
    EPOCHS("30"),
    {"batch", PARAM_COUNT, "16", NULL, "items per step"},
    {"optimizer", PARAM_ENUM, "\"adamw\"", "adamw|adam|sgd", "optimizer"},
    {"weight_decay", PARAM_NONNEG, "0.01", NULL, "weight decay"},
    {"schedule", PARAM_ENUM, "\"constant\"", "constant|linear|cosine", "lr schedule"},
    END,
};

#define LM KINDS_LM
#define ALL KINDS_ALL
#define CLS KINDS_CLASSIFIER
#define M(name, summary, kinds, needs, params, source) \
    {METHOD_ABI, name, summary, kinds, needs, params, source, NULL}
/* A row with its language-model runtime (methods/lm_impl.h). */
#define ML(fn, name, summary, kinds, needs, params, source) \
    {METHOD_ABI, name, summary, kinds, needs, params, source, fn}

const struct method method_table[] = {
    ML(grad_ascent_unlearn_lm, "grad_ascent", "gradient ascent on the forget set", ALL, F,
       grad_ascent_p, "METHODS.md 1, 3.1"),
    ML(grad_diff_unlearn_lm, "grad_diff", "gradient ascent on forget + NLL on retain (NegGrad+)",
       ALL, F | R, grad_diff_p, "METHODS.md 1, 3.1"),
    ML(ga_klr_unlearn_lm, "ga_klr", "gradient ascent + KL to the original on retain (TOFU 'KL')",
       LM, F | R | REF, ga_klr_p, "METHODS.md 1"),
    ML(npo_unlearn_lm, "npo", "negative preference optimization, no retain term", ALL, F | REF,
       npo_p, "METHODS.md 1; arXiv 2404.05868"),
    ML(npo_gdr_unlearn_lm, "npo_gdr", "NPO + retain NLL (open-unlearning's NPO)", ALL,
       F | R | REF, npo_gdr_p, "METHODS.md 1; arXiv 2404.05868"),
    ML(npo_klr_unlearn_lm, "npo_klr", "NPO + retain KL", LM, F | R | REF, npo_klr_p,
       "METHODS.md 1; arXiv 2404.05868"),
    ML(simnpo_unlearn_lm, "simnpo", "reference-free NPO on length-normalised NLL + retain NLL",
       LM, F | R, simnpo_p, "METHODS.md 1; arXiv 2410.07163"),
    ML(idk_nll_unlearn_lm, "idk_nll", "train forget prompts to refusal answers + retain NLL", LM,
       F | T | R, idk_nll_p, "METHODS.md 1"),
    ML(idk_dpo_unlearn_lm, "idk_dpo", "DPO preferring refusals over forget answers + retain NLL",
       LM, F | T | R | REF, idk_dpo_p, "METHODS.md 1; arXiv 2305.18290"),
    M("rmu", "steer forget activations to a random direction, keep retain activations", LM,
      F | R | REF, rmu_p, "METHODS.md 1; arXiv 2403.03218"),
    M("undial", "self-distillation with the true token's logit lowered", LM, F | REF, undial_p,
      "METHODS.md 1; arXiv 2402.10052"),
    M("wga", "gradient ascent weighted by token confidence + retain NLL", LM, F | R, wga_p,
      "METHODS.md 1; arXiv 2502.19301"),
    M("satimp", "gradient ascent weighted by p^b1 (1-p)^b2 + retain NLL", LM, F | R, satimp_p,
      "METHODS.md 1; arXiv 2505.11953"),
    M("ce_u", "cross entropy to the true-token-removed distribution", LM, F, ce_u_p,
      "METHODS.md 1; arXiv 2503.01224"),
    ML(grin_unlearn_lm, "grin", "gradient-ratio weight selection, noise, masked fine-tuning", LM,
       F | R, grin_p, "METHODS.md 2.1; arXiv 2508.06467"),
    ML(flat_unlearn_lm, "flat", "f-divergence loss adjustment with forget data and templates only",
       LM, F | T, flat_p, "METHODS.md 2.2; arXiv 2410.11143"),
    M("sure_grad_diff", "saliency-masked large-lr grad_diff (survives quantization)", LM, F | R,
      sure_grad_diff_p, "METHODS.md 2.3; arXiv 2410.16454"),
    M("sure_ga_klr", "saliency-masked large-lr ga_klr (survives quantization)", LM, F | R | REF,
      sure_ga_klr_p, "METHODS.md 2.3; arXiv 2410.16454"),
    M("sure_npo_gdr", "saliency-masked large-lr npo_gdr (survives quantization)", LM, F | R | REF,
      sure_npo_gdr_p, "METHODS.md 2.3; arXiv 2410.16454"),
    M("sure_npo_klr", "saliency-masked large-lr npo_klr (survives quantization)", LM, F | R | REF,
      sure_npo_klr_p, "METHODS.md 2.3; arXiv 2410.16454"),
    M("gwm", "global weight modification: ascent + retain NLL + retain KL, all weights", LM,
      F | R | REF, gwm_p, "METHODS.md 2.4; arXiv 2503.04795"),
    M("finetune_retain", "fine-tune on the retain set only", CLS, R, finetune_retain_p,
      "METHODS.md 3.1"),
    M("random_label", "CE to random wrong labels on forget + CE on retain", CLS, F | R,
      random_label_p, "METHODS.md 3.1"),
    M("fnn_fixed", "forgetting neural network, one retention constant", CLS, R, fnn_fixed_p,
      "METHODS.md 3.2; arXiv 2410.22374"),
    M("fnn_random", "forgetting neural network, random retention constants", CLS, R, fnn_range_p,
      "METHODS.md 3.2; arXiv 2410.22374"),
    M("fnn_rank", "forgetting neural network, neurons most active on forget decay fastest", CLS,
      F | R, fnn_range_p, "METHODS.md 3.2; arXiv 2410.22374"),
    M("fnn_rank_w", "forgetting neural network, rank decay applied to weights", CLS, F | R,
      fnn_range_p, "METHODS.md 3.2; arXiv 2410.22374"),
    M("multigan", "GAN-synthesised retain/forget data with inverted labels", KIND_BIT(SUITE_IMAGE),
      F | R | G, multigan_p, "METHODS.md 3.3; arXiv 2407.18467"),
    M("forget_mi", "push forget embeddings to noisy originals, keep retain embeddings",
      KIND_BIT(SUITE_MULTIMODAL), F | N | R | REF, forget_mi_p, "METHODS.md 3.4; arXiv 2506.23145"),
};
const size_t method_table_count = sizeof(method_table) / sizeof(method_table[0]);

/* Out-of-tree methods registered by method_plugin_load, searched after the built-in table. */
#define METHOD_PLUGINS_MAX 32
static const struct method *method_plugins[METHOD_PLUGINS_MAX];
static size_t method_plugins_count;

int method_register(const struct method *m)
{
    if (method_lookup(m->name) || method_plugins_count == METHOD_PLUGINS_MAX)
        return -1;
    method_plugins[method_plugins_count++] = m;
    return 0;
}

const struct method *method_lookup(const char *name)
{
    for (size_t i = 0; i < method_table_count; i++)
        if (strcmp(method_table[i].name, name) == 0)
            return &method_table[i];
    for (size_t i = 0; i < method_plugins_count; i++)
        if (strcmp(method_plugins[i]->name, name) == 0)
            return method_plugins[i];
    return NULL;
}

const struct param_spec *method_param(const struct method *m, const char *name)
{
    const struct param_spec *p = param_find(m->params, name);
    return p ? p : param_find(method_common_params, name);
}

char *method_needs_str(unsigned needs)
{
    static const char *const names[] = {"F", "R", "Ref", "T", "N", "G"};
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (needs & (1u << i))
            strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", names[i]);
    return strbuf_detach(&sb);
}
