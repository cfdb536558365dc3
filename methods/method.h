/* methods: the unlearning methods (METHODS.md) as a table of const descriptors.
 *
 * Adding a new method:
 *  1. define it in METHODS.md: its loss, the data it needs, its defaults and pitfalls;
 *  2. add its descriptor to method_table in methods/registry.c: name (snake_case, unique),
 *     summary (one line), the suite kinds it applies to, the data it needs (METHOD_NEEDS_*),
 *     its parameter table (name, type, default, one-line help; a row named like a common
 *     parameter overrides that parameter's default), and where it is defined;
 *  3. when the engine lands: write methods/<name>.c exporting only its descriptor, with
 *     everything else static, and move the row there;
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
 * The descriptor carries metadata only for now: the functions (init, step, finish on the
 * engine's models) come with the engine, together with METHOD_ABI 2.
 */
#ifndef LETHE_METHOD_H
#define LETHE_METHOD_H

#include <stddef.h>

#include "suites/suite.h"

/* Bumped when struct method changes incompatibly (out-of-tree methods check it). */
#define METHOD_ABI 1

/* The data a method needs (METHODS.md 0.2 "needs legend"). */
enum method_needs {
    METHOD_NEEDS_FORGET = 1u << 0,      /* F: the forget set */
    METHOD_NEEDS_RETAIN = 1u << 1,      /* R: the retain set */
    METHOD_NEEDS_REF = 1u << 2,         /* Ref: a frozen copy of the original model */
    METHOD_NEEDS_TEMPLATE = 1u << 3,    /* T: template / refusal answers */
    METHOD_NEEDS_NOISE = 1u << 4,       /* N: noisy copies of the forget set */
    METHOD_NEEDS_SYNTH = 1u << 5,       /* G: synthetic (GAN) data */
};

struct method {
    unsigned abi;                       /* METHOD_ABI */
    const char *name;
    const char *summary;
    unsigned kinds;                     /* KIND_BIT(SUITE_*) mask of the suites it applies to */
    unsigned needs;                     /* METHOD_NEEDS_* */
    const struct param_spec *params;    /* its own parameters, NULL-terminated (may be NULL) */
    const char *source;                 /* where it is defined: METHODS.md section, paper */
};

extern const struct method method_table[];
extern const size_t method_table_count;

/* Parameters every method accepts (optimisation and loss weights); a method's own row of the
 * same name overrides the default. Rows without a default are derived at run time from the
 * method and the suite's recipe (METHODS.md 0.3, 3.1). */
extern const struct param_spec method_common_params[];

/* The method named name, or NULL. */
const struct method *method_lookup(const char *name);
/* The parameter name of m: its own row, else the common row, else NULL. */
const struct param_spec *method_param(const struct method *m, const char *name);
/* "F, R, Ref" for a needs mask; returned, the caller frees. */
char *method_needs_str(unsigned needs);

#endif
