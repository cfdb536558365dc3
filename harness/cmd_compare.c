/* lethe compare: placeholder until its implementation lands (replaced in this same change). */
#include "harness/harness.h"

int cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'lethe compare' is not available yet");
}
