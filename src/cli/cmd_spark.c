/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_spark.c -- `spate spark`: placeholder until its issue lands. */
#include "cli.h"

int cmd_spark(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("spark", "tracked by the issue \"process\"");
}
