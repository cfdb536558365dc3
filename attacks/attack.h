/* attacks: membership inference, quantization-recovery, relearning and paraphrase probes
 * (ATTACKS.md) as a table of const descriptors.
 *
 * Adding a new attack:
 *  1. define it in ATTACKS.md: its score (higher = more member-like), the items it compares,
 *     its options, the metric names and variants it writes;
 *  2. add its descriptor to attack_table in attacks/registry.c: name (snake_case, unique),
 *     summary (one line), the suite kinds it applies to, ATTACK_* flags, its option table
 *     (name, type, default, one-line help), and where it is defined;
 *  3. when the engine lands: write attacks/<name>.c exporting only its descriptor, with
 *     everything else static, and move the row there;
 *  4. add its metric names to metrics/registry.c, and the attack to the suites of suites.json
 *     that should run it;
 *  5. test it against the worked example of ATTACKS.md, and a config test that its options
 *     parse (`lethe list params NAME` shows them).
 *
 * How to use it in ten lines:
 *
 *     const struct attack *a = attack_lookup("min_k");
 *     if (!a) ...                                           // not an attack Lethe knows
 *     if (!(a->kinds & KIND_BIT(SUITE_IMAGE))) ...         // does not apply to that kind
 *     const struct param_spec *p = param_find(a->params, "k_pct");
 *     printf("%s = %s: %s\n", p->name, p->def, p->help);   // k_pct = 40: ...
 *     if (a->flags & ATTACK_DERIVES_MODELS) ...            // writes variants (q4_g64, relearn_50)
 *
 * The descriptor carries metadata only for now: the functions (score items, derive a model)
 * come with the engine, together with ATTACK_ABI 2.
 */
#ifndef LETHE_ATTACK_H
#define LETHE_ATTACK_H

#include <stddef.h>

#include "suites/suite.h"

/* Bumped when struct attack changes incompatibly (out-of-tree attacks check it). */
#define ATTACK_ABI 1

enum attack_flags {
    ATTACK_MIA = 1u << 0,               /* a membership-inference score (AUC, TPR@FPR) */
    ATTACK_DERIVES_MODELS = 1u << 1,    /* derives variants of the model and re-evaluates */
    ATTACK_NEEDS_SHADOWS = 1u << 2,     /* trains shadow models (ATTACKS.md 2.4) */
    ATTACK_NEEDS_REFERENCE = 1u << 3,   /* needs a second reference model */
    ATTACK_PROBE = 1u << 4,             /* re-evaluates on rephrased prompts (probe splits) */
};

struct attack {
    unsigned abi;                       /* ATTACK_ABI */
    const char *name;                   /* also the <attack> of <kind>.mia.<attack>.<stat> */
    const char *summary;
    unsigned kinds;                     /* KIND_BIT(SUITE_*) mask of the suites it applies to */
    unsigned flags;                     /* ATTACK_* */
    const struct param_spec *params;    /* options, NULL-terminated (may be NULL) */
    const char *source;                 /* where it is defined: ATTACKS.md section, paper */
};

extern const struct attack attack_table[];
extern const size_t attack_table_count;

/* The attack named name, or NULL. */
const struct attack *attack_lookup(const char *name);

#endif
