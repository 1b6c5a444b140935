/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_serve.c -- `spate serve`: placeholder until its issue lands. */
#include "cli.h"

int cmd_serve(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("serve", "tracked by the issue \"The main job\"");
}
