/* A plug-in of the right ABI whose descriptor has no unlearn_lm: the loader must refuse it. */
#include "methods/method.h"

const struct method *lethe_method_plugin(unsigned abi);

static const struct method half = {METHOD_ABI, "half_method", "a method without a runtime",
                                   KINDS_LM, METHOD_NEEDS_FORGET, NULL,
                                   "tests/plugins/incomplete.c", NULL};

const struct method *lethe_method_plugin(unsigned abi)
{
    return abi == METHOD_ABI ? &half : NULL;
}
