/* lethe merge: placeholder until its implementation lands (replaced in this same change). */
#include "harness/harness.h"

int cmd_merge(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'lethe merge' is not available yet");
}
