/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_cql.c -- `spate cql`: placeholder until its issue lands. */
#include "cli.h"

int cmd_cql(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("cql", "tracked by the issue \"cql\"");
}
