/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_apisim.c -- `spate api-sim`: placeholder until its issue lands. */
#include "cli.h"

int cmd_apisim(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("api-sim", "tracked by the issue \"ingest\"");
}
