/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_run.c -- `spate run`: placeholder until its issue lands. */
#include "cli.h"

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("run", "tracked by the issue \"The main job\"");
}
