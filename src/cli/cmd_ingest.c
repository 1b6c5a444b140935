/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_ingest.c -- `spate ingest`: placeholder until its issue lands. */
#include "cli.h"

int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("ingest", "tracked by the issue \"ingest\"");
}
