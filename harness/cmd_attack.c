/* lethe attack: one membership-inference attack on a checkpoint (lethe eval restricted to the
 * attack's numbers; harness/cmd_eval.c does the work). */
#include "harness/run_direct.h"

int cmd_attack(int argc, char **argv)
{
    return cmd_eval_impl(argc, argv, 1);
}
