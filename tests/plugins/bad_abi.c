/* A plug-in built for method ABI 1: the loader must refuse it. */
#include "methods/method.h"

const struct method *lethe_method_plugin(unsigned abi);

static const struct method old = {1, "old_method", "a method of ABI 1", KINDS_LM,
                                  METHOD_NEEDS_FORGET, NULL, "tests/plugins/bad_abi.c", NULL};

const struct method *lethe_method_plugin(unsigned abi)
{
    (void)abi;
    return &old;
}
