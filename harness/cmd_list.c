/* lethe list: placeholder until its implementation lands (replaced in this same change). */
#include "harness/harness.h"

int cmd_list(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'lethe list' is not available yet");
}
