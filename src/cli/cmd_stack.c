/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_stack.c -- placeholder, replaced by the stack module. */
#include "cli.h"
int cmd_stack(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx; (void)argc; (void)argv;
    return cli_not_yet("stack", "Foundation");
}
