/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_run.c -- `spate run`: bring the local pipeline up (for now: the stack). */
#include "cli.h"

#include "spate/stack.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: spate run\n"
               "\n"
               "Brings up the local stack (Kafka and Cassandra) and reports it ready.\n"
               "The supervised end-to-end pipeline with its live view comes with the\n"
               "issue \"The main job\".\n");
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        return cli_bad_option("run", argv[i]);
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    if (stack_up(cfg, 0) != 0)
        return CLI_FAIL;
    printf("\nThe stack is ready:\n"
           "  Kafka      %s:%d\n"
           "  Cassandra  %s:%d\n"
           "\n"
           "Next: spate stack status | spate stack logs | spate stack down\n",
           cfg->stack.host, cfg->stack.kafka_port, cfg->stack.host, cfg->stack.cassandra_port);
    return CLI_OK;
}
