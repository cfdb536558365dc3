/* lethe plot: placeholder until its implementation lands (replaced in this same change). */
#include "harness/harness.h"

int cmd_plot(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'lethe plot' is not available yet");
}
