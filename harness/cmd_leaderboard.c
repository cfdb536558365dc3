/* lethe leaderboard: placeholder until its implementation lands (replaced in this same change). */
#include "harness/harness.h"

int cmd_leaderboard(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'lethe leaderboard' is not available yet");
}
