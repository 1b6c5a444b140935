/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_check.c -- `spate check`: placeholder until its issue lands. */
#include "cli.h"

int cmd_check(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("check", "tracked by the issue \"The main job\"");
}
