/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_config.c -- `spate config validate|show`: check a config before use. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: spate [-c FILE] config validate    check the file; errors name FILE:LINE: key\n"
               "       spate [-c FILE] config show        print the effective settings\n");
}

static void show(const struct spate_config *cfg)
{
    printf("config: %s\n", cfg->path ? cfg->path : "(built-in defaults)");
    printf("kafka.bootstrap_servers: %s\n", cfg->kafka.bootstrap_servers);
    printf("kafka.partitions: %d\n", cfg->kafka.partitions);
    printf("kafka.topics: %s %s %s %s\n", cfg->kafka.topic_raw, cfg->kafka.topic_clean,
           cfg->kafka.topic_stats, cfg->kafka.topic_dlq);
    printf("cassandra.contact_points:");
    for (size_t i = 0; i < cfg->cassandra.contact_points.count; i++)
        printf(" %s", cfg->cassandra.contact_points.items[i]);
    printf("\ncassandra.port: %d\ncassandra.keyspace: %s\n", cfg->cassandra.port,
           cfg->cassandra.keyspace);
    printf("sources:");
    for (size_t i = 0; i < cfg->source_count; i++)
        printf(" %s(%s)", cfg->sources[i].name, cfg->sources[i].url);
    printf("\nspark.master: %s\n", cfg->spark.master);
    printf("stack.data_dir: %s\nstack.kafka_port: %d\nstack.cassandra_port: %d\n",
           cfg->stack.data_dir, cfg->stack.kafka_port, cfg->stack.cassandra_port);
}

int cmd_config(struct cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "validate") != 0 && strcmp(argv[1], "show") != 0) {
        fprintf(stderr, "spate config: unknown subcommand '%s'\n", argv[1]);
        usage(stderr);
        return CLI_USAGE;
    }
    if (argc > 2)
        return cli_bad_option("config", argv[2]);
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    if (!strcmp(argv[1], "show"))
        show(cfg);
    else
        printf("%s: ok\n", cfg->path ? cfg->path : "(built-in defaults)");
    return CLI_OK;
}
