/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_verify.c -- `spate verify`: placeholder until its issue lands. */
#include "cli.h"

int cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return cli_not_yet("verify", "tracked by the issue \"The main job\"");
}
