/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_schema.c -- `spate schema`: placeholder until its issue lands. */
#include "cli.h"

int cmd_schema(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("schema", "tracked by the issue \"sink\"");
}
