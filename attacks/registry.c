/* The registry of attacks and probes (ATTACKS.md): names, the kinds they apply to, and their
 * option tables with the defaults ATTACKS.md gives. */
#include <string.h>

#include "attacks/attack.h"

#define END {NULL, 0, NULL, NULL, NULL}
#define K_PCT(v) {"k_pct", PARAM_PERCENT, v, NULL, "percent of lowest-scoring tokens averaged"}
#define SHADOWS {"shadows", PARAM_COUNT, "16", NULL, "shadow models trained on random halves"}
#define PER_CLASS {"max_per_class", PARAM_COUNT, "10000", NULL, \
                   "SVM training vectors per class (seeded subsample)"}

static const struct param_spec reference_p[] = {
    {"ref", PARAM_ENUM, "\"second_oracle\"", "second_oracle|retrain",
     "reference model: a retain oracle trained with seed + 1, or the oracle itself"},
    END,
};
static const struct param_spec min_k_p[] = {K_PCT("40"), END};
static const struct param_spec svm_rt_p[] = {PER_CLASS, END};
static const struct param_spec svm_shadow_p[] = {SHADOWS, PER_CLASS, END};
static const struct param_spec lira_p[] = {
    SHADOWS,
    {"mode", PARAM_ENUM, "\"online\"", "online|offline",
     "likelihood ratio of IN vs OUT, or the OUT z-score only"},
    {"min_group", PARAM_COUNT, "8", NULL, "IN and OUT shadows needed for a per-item variance"},
    {"ulira", PARAM_BOOL, "false", NULL, "unlearn a forget subset in each shadow (U-LiRA)"},
    END,
};
static const struct param_spec quant_p[] = {
    {"quantizers", PARAM_ENUM_LIST, "[\"rtn\"]", "rtn|gptq",
     "round-to-nearest (variants q...) and/or GPTQ (variants gptq...)"},
    {"bits", PARAM_COUNT_LIST, "[8, 4]", NULL, "bit widths"},
    {"granularity", PARAM_ENUM_LIST, "[\"tensor\", \"g128\", \"g64\", \"g32\"]",
     "tensor|row|g32|g64|g128", "scale per tensor, per output row, or per group of G weights"},
    {"symmetry", PARAM_ENUM_LIST, "[\"sym\", \"asym\"]", "sym|asym",
     "symmetric (restricted range) and/or asymmetric with a zero point"},
    END,
};
static const struct param_spec relearn_p[] = {
    {"modes", PARAM_ENUM_LIST, "[\"subset\"]", "subset|related",
     "relearn on a seeded subset of the forget set and/or on the suite's related text"},
    {"steps", PARAM_COUNT_LIST, "[5, 10, 25, 50]", NULL, "steps at which to evaluate"},
    {"fraction", PARAM_FRACTION, "0.1", NULL, "relearn subset size as a fraction of D_f"},
    {"min_items", PARAM_COUNT, "4", NULL, "smallest relearn subset"},
    END,
};
static const struct param_spec icl_p[] = {
    {"shots", PARAM_COUNT, "3", NULL, "seeded retain QA pairs prepended to each forget prompt"},
    END,
};
static const struct param_spec prefix_p[] = {
    {"fraction", PARAM_FRACTION, "0.25", NULL, "share of the answer given in the prompt"},
    END,
};

#define LM KINDS_LM
#define CLS KINDS_CLASSIFIER
#define A(name, summary, kinds, flags, params, source) \
    {ATTACK_ABI, name, summary, kinds, flags, params, source}
#define QA_KINDS (KIND_BIT(SUITE_TOFU) | KIND_BIT(SUITE_MUSE) | KIND_BIT(SUITE_SEMEVAL))

const struct attack attack_table[] = {
    A("loss", "MIA on the loss: m = -mean NLL (LM) or -CE (classifier)", KINDS_ALL, ATTACK_MIA,
      NULL, "ATTACKS.md 1, 2.1"),
    A("zlib", "MIA on the loss divided by the zlib-compressed length", LM, ATTACK_MIA, NULL,
      "ATTACKS.md 1; arXiv 2012.07805"),
    A("reference", "MIA on the loss difference to a reference model", LM,
      ATTACK_MIA | ATTACK_NEEDS_REFERENCE, reference_p, "ATTACKS.md 1"),
    A("min_k", "MIA on the mean of the k% lowest token log-probs (k = 40)", LM, ATTACK_MIA,
      min_k_p, "ATTACKS.md 1; arXiv 2310.16789"),
    A("min_k20", "Min-K% with k = 20", LM, ATTACK_MIA, NULL, "ATTACKS.md 1; arXiv 2310.16789"),
    A("min_k_pp", "MIA on the k% lowest normalised token scores (Min-K%++)", LM, ATTACK_MIA,
      min_k_p, "ATTACKS.md 1; arXiv 2404.02936"),
    A("gradnorm", "MIA on the mean gradient norm per tensor", LM, ATTACK_MIA, NULL, "ATTACKS.md 1"),
    A("conf", "threshold MIA on the true-class probability", CLS, ATTACK_MIA, NULL,
      "ATTACKS.md 2.1; arXiv 1709.01604"),
    A("entropy", "threshold MIA on the prediction entropy", CLS, ATTACK_MIA, NULL,
      "ATTACKS.md 2.1; arXiv 2003.10595"),
    A("mentr", "threshold MIA on the modified entropy", CLS, ATTACK_MIA, NULL,
      "ATTACKS.md 2.1; arXiv 2003.10595"),
    A("svm_rt", "SVM on the loss: retain vs test half A, applied to forget (SalUn protocol)", CLS,
      ATTACK_MIA, svm_rt_p, "ATTACKS.md 2.2"),
    A("svm_shadow", "SVM on (loss, p_y, entropy, logit) trained over shadow models", CLS,
      ATTACK_MIA | ATTACK_NEEDS_SHADOWS, svm_shadow_p, "ATTACKS.md 2.2"),
    A("lira", "likelihood-ratio attack with shadow models", CLS,
      ATTACK_MIA | ATTACK_NEEDS_SHADOWS, lira_p, "ATTACKS.md 2.3; arXiv 2112.03570"),
    A("quant", "quantize the unlearned model and re-evaluate (recovery probe)", KINDS_ALL,
      ATTACK_DERIVES_MODELS, quant_p, "ATTACKS.md 3; arXiv 2410.16454"),
    A("relearn", "fine-tune on part of the forget set and re-evaluate", KINDS_ALL,
      ATTACK_DERIVES_MODELS, relearn_p, "ATTACKS.md 4; arXiv 2406.13356"),
    A("paraphrase", "re-evaluate forget metrics on paraphrased questions", KIND_BIT(SUITE_TOFU),
      ATTACK_PROBE, NULL, "ATTACKS.md 5"),
    A("rephrase_icl", "prepend few-shot retain QA pairs to forget prompts", QA_KINDS,
      ATTACK_PROBE, icl_p, "ATTACKS.md 5"),
    A("rephrase_prefix", "give the start of the answer and score the rest", QA_KINDS,
      ATTACK_PROBE, prefix_p, "ATTACKS.md 5"),
};
const size_t attack_table_count = sizeof(attack_table) / sizeof(attack_table[0]);

const struct attack *attack_lookup(const char *name)
{
    for (size_t i = 0; i < attack_table_count; i++)
        if (strcmp(attack_table[i].name, name) == 0)
            return &attack_table[i];
    return NULL;
}
