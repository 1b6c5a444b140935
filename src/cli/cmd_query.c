/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_query.c -- `spate query`: placeholder until its issue lands. */
#include "cli.h"

int cmd_query(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("query", "tracked by the issue \"The main job\"");
}
