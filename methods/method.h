/* methods: the unlearning methods (METHODS.md) as a table of const descriptors.
 *
 * Adding a new method:
 *  1. define it in METHODS.md: its loss, the data it needs, its defaults and pitfalls;
 *  2. add its descriptor to method_table in methods/registry.c: name (snake_case, unique),
 *     summary (one line), the suite kinds it applies to, the data it needs (METHOD_NEEDS_*),
 *     its parameter table (name, type, default, one-line help; a row named like a common
 *     parameter overrides that parameter's default), and where it is defined;
 *  3. for a language-model method: write methods/<name>.c with its loss (an lm_objective
 *     of methods/lm_impl.h on the shared loop, or its own loop) and its unlearn_lm function,
 *     declared in methods/lm_impl.h, and set unlearn_lm in its row;
 *  4. add a method configuration to suites.json and to the grids that should run it;
 *  5. test it: its loss against the worked example of METHODS.md, and a config test that
 *     its parameters parse (`lethe list params NAME` shows them).
 *
 * How to use it in ten lines:
 *
 *     const struct method *m = method_lookup("npo");
 *     if (!m) ...                                          // not a method Lethe knows
 *     if (!(m->kinds & KIND_BIT(SUITE_TOFU))) ...         // does not apply to that kind
 *     const struct param_spec *p = method_param(m, "beta");  // its own, else a common one
 *     printf("%s = %s: %s\n", p->name, p->def, p->help);     // beta = 0.1: ...
 *     if (m->needs & METHOD_NEEDS_REF) ...                 // keep a frozen copy of the original
 *
 * Running a language-model method (METHOD_ABI 2): fill a struct method_ctx and call
 *
 *     struct method_ctx c = {.model = copy, .ref = original, .forget = &f, .retain = &r,
 *                            .refusals = &idk, .args = args, .n_args = n, .base_lr = 1e-4,
 *                            .seed = 7};
 *     if (m->unlearn_lm && m->unlearn_lm(&c, &err) < 0) ...   // err says why
 *
 * Out-of-tree methods (plug-ins): a shared object exports
 *
 *     const struct method *lethe_method_plugin(unsigned abi);
 *
 * (METHOD_PLUGIN_SYMBOL). The loader (dlopen + dlsym) calls it with METHOD_ABI; the plug-in
 * returns its descriptor, whose `abi` field must equal the abi it was given, or NULL when it
 * was built for another ABI. The descriptor and everything it points to stay valid until the
 * object is unloaded. A plug-in includes only this header, suites/suite.h, base/base.h and
 * nn/nn.h; its name must not clash with a built-in method. Everything a method may read comes
 * through struct method_ctx; it updates c->model in place and reports through err.
 */
#ifndef LETHE_METHOD_H
#define LETHE_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "suites/suite.h"

/* Bumped when struct method changes incompatibly (out-of-tree methods check it).
 * 2: struct method gained unlearn_lm and the language-model context below. */
#define METHOD_ABI 2

/* The symbol an out-of-tree method exports (see the top of this file). */
#define METHOD_PLUGIN_SYMBOL "lethe_method_plugin"
struct method;
typedef const struct method *(*method_plugin_fn)(unsigned abi);

struct gpt;
struct lethe_error;

/* The data a method needs (METHODS.md 0.2 "needs legend"). */
enum method_needs {
    METHOD_NEEDS_FORGET = 1u << 0,      /* F: the forget set */
    METHOD_NEEDS_RETAIN = 1u << 1,      /* R: the retain set */
    METHOD_NEEDS_REF = 1u << 2,         /* Ref: a frozen copy of the original model */
    METHOD_NEEDS_TEMPLATE = 1u << 3,    /* T: template / refusal answers */
    METHOD_NEEDS_NOISE = 1u << 4,       /* N: noisy copies of the forget set */
    METHOD_NEEDS_SYNTH = 1u << 5,       /* G: synthetic (GAN) data */
};

/* ---- the language-model runtime (METHOD_ABI 2) ------------------------------------------ */

/* One tokenized item. ids = [BOS] + tok(prompt) + tok(" " + answer) + [EOS] (METRICS.md 0.2);
 * position t predicts ids[t+1]; the scored (answer) positions are those with
 * t + 1 >= prompt_len: the answer tokens and EOS. Text items use prompt_len 1. A refusal
 * (c->refusals) is only the answer part: tok(" " + refusal) + [EOS], with prompt_len 0. */
struct lm_example {
    int *ids;
    int len;
    int prompt_len;
};
struct lm_set {
    struct lm_example *ex;
    size_t n;
};

/* One method parameter: num for numbers and booleans (1/0), str for strings and enums (NULL
 * for numbers). */
struct method_arg {
    const char *name;
    double num;
    const char *str;
};

/* Everything a language-model method reads. Borrowed for the duration of unlearn_lm. */
struct method_ctx {
    struct gpt *model;                  /* updated in place (a copy of the original) */
    const struct gpt *ref;              /* the frozen original, when needs & REF; else NULL */
    const struct lm_set *forget, *retain;
    const struct lm_set *refusals;      /* IDK answers as tokenized " answer" + EOS pieces */
    const struct method_arg *args;      /* every parameter, defaults filled; n_args of them */
    size_t n_args;
    double base_lr;                     /* 0.1 x the original's peak lr (METHODS.md 0.3) */
    uint64_t seed;                      /* drives shuffling, retain draws, refusal draws */
    /* optional: called after every optimizer step (step 0-based, total steps, the step's loss) */
    void (*on_step)(void *ctx, long step, long total, double loss);
    void *on_step_ctx;
};

/* The number of parameter name in c->args, else def. */
double method_arg_num(const struct method_ctx *c, const char *name, double def);
/* The string of parameter name in c->args (borrowed from c->args), else def. */
const char *method_arg_str(const struct method_ctx *c, const char *name, const char *def);

/* Lethe's refusal sentences for the IDK methods (METHODS.md 0.3; at least 20), without the
 * leading space; *n receives the count. Static storage. The pipeline tokenizes
 * " " + sentence + EOS into c->refusals. */
const char *const *method_idk_refusals(size_t *n);

struct method {
    unsigned abi;                       /* METHOD_ABI */
    const char *name;
    const char *summary;
    unsigned kinds;                     /* KIND_BIT(SUITE_*) mask of the suites it applies to */
    unsigned needs;                     /* METHOD_NEEDS_* */
    const struct param_spec *params;    /* its own parameters, NULL-terminated (may be NULL) */
    const char *source;                 /* where it is defined: METHODS.md section, paper */
    /* ABI 2: unlearns a language model in place (METHODS.md 0-2); 0, or a negative code with
     * err set. NULL for methods not yet implemented and for classifier-only methods. */
    int (*unlearn_lm)(const struct method_ctx *c, struct lethe_error *err);
};

extern const struct method method_table[];
extern const size_t method_table_count;

/* Parameters every method accepts (optimisation and loss weights); a method's own row of the
 * same name overrides the default. Rows without a default are derived at run time from the
 * method and the suite's recipe (METHODS.md 0.3, 3.1). */
extern const struct param_spec method_common_params[];

/* The method named name, or NULL. */
const struct method *method_lookup(const char *name);
/* Loads the out-of-tree method in the shared object at path (methods/plugin.c): dlopen (now,
 * local), dlsym METHOD_PLUGIN_SYMBOL, call it with METHOD_ABI, check the descriptor (abi, a
 * snake_case name that no built-in method has, summary, kinds, unlearn_lm). Returns it (valid
 * for the life of the process: the object is never unloaded), or NULL with err set
 * (LETHE_EINPUT): "plug-in 'P': no such file", "...: not a shared object", "...: not a Lethe
 * plug-in (no symbol 'lethe_method_plugin')", "...: built for ABI 1, this lethe reads ABI 2",
 * "...: descriptor incomplete: no unlearn_lm", "...: cannot be loaded: <dlerror>". The host
 * program must export its symbols (linked with -rdynamic) for the plug-in to call the engine. */
const struct method *method_plugin_load(const char *path, struct lethe_error *err);
/* Makes m (borrowed for the life of the process) known to method_lookup, after the built-in
 * methods; method_plugin_load registers what it loads. -1 if the name is taken or the table
 * of plug-ins (32) is full. */
int method_register(const struct method *m);
/* The parameter name of m: its own row, else the common row, else NULL. */
const struct param_spec *method_param(const struct method *m, const char *name);
/* "F, R, Ref" for a needs mask; returned, the caller frees. */
char *method_needs_str(unsigned needs);

#endif
