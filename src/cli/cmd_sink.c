/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_sink.c -- `spate sink`: placeholder until its issue lands. */
#include "cli.h"

int cmd_sink(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("sink", "tracked by the issue \"sink\"");
}
