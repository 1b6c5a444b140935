/* SPDX-License-Identifier: Apache-2.0 */
/* main.c -- `spate` entry point: global options and command dispatch only. */
#include "cli/cli.h"

#include "spate/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_command commands[] = {
    {"run", cmd_run, "run the whole pipeline locally with a live view"},
    {"stack", cmd_stack, "start, stop and inspect the local Kafka and Cassandra"},
    {"check", cmd_check, "check the pipeline contract (config, services, schemas)"},
    {"ingest", cmd_ingest, "poll HTTP JSON APIs into Kafka"},
    {"api-sim", cmd_apisim, "serve a randomuser.me-compatible API offline"},
    {"spark", cmd_spark, "run or submit the Spark Structured Streaming job"},
    {"sink", cmd_sink, "write Kafka topics into Cassandra tables"},
    {"schema", cmd_schema, "apply the Cassandra schema"},
    {"query", cmd_query, "query stored users and stats"},
    {"cql", cmd_cql, "run CQL statements against Cassandra"},
    {"serve", cmd_serve, "REST API, dashboard and metrics"},
    {"verify", cmd_verify, "prove nothing was lost or duplicated"},
    {"config", cmd_config, "validate or print the configuration"},
    {"init", cmd_init, "write a pipeline from a sample of a JSON API"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate [-c FILE] [--pipeline NAME] [--log-level LEVEL] <command> [options]\n"
            "\n"
            "spate streams records from HTTP JSON APIs through Kafka and Spark into\n"
            "Cassandra.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "  help      show this help, or 'spate help COMMAND'\n"
            "  version   print the version\n"
            "\n"
            "global options:\n"
            "  -c, --config FILE     configuration file (default: ./spate.yaml if present)\n"
            "  --log-level LEVEL     debug, info, warn, error (overrides the config)\n"
            "  --pipeline NAME       the pipeline to work on (default users, every pipeline for\n"
            "                        run and verify; $SPATE_PIPELINE)\n"
            "\n"
            "'spate COMMAND --help' shows a command's options.\n");
}

static const struct cli_command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {.prog = "spate"};
    const char *env_level = getenv("SPATE_LOG_LEVEL");
    enum spate_log_level lvl;
    if (env_level && spate_log_level_parse(env_level, &lvl) == 0)
        spate_log_set_level(lvl);

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (++i >= argc) {
                fprintf(stderr, "spate: option '%s' needs a file name\n", a);
                return CLI_USAGE;
            }
            ctx.config_path = argv[i];
            ctx.config_explicit = 1;
        } else if (!strncmp(a, "--config=", 9)) {
            ctx.config_path = a + 9;
            ctx.config_explicit = 1;
        } else if (!strcmp(a, "--pipeline") || !strncmp(a, "--pipeline=", 11)) {
            const char *v = a[10] == '=' ? a + 11 : (++i < argc ? argv[i] : NULL);
            if (!v || !v[0]) {
                fprintf(stderr, "spate: --pipeline needs a pipeline name\n");
                return CLI_USAGE;
            }
            /* in the environment, so the stages `spate run` starts select it too */
            setenv("SPATE_PIPELINE", v, 1);
        } else if (!strcmp(a, "--log-level")) {
            if (++i >= argc || spate_log_level_parse(argv[i], &lvl) != 0) {
                fprintf(stderr, "spate: --log-level needs one of debug, info, warn, error\n");
                return CLI_USAGE;
            }
            spate_log_set_level(lvl);
            setenv("SPATE_LOG_LEVEL", argv[i], 1); /* children and config keep it */
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("spate %s\n", SPATE_VERSION);
            return CLI_OK;
        } else {
            fprintf(stderr, "spate: unknown option '%s' (see 'spate help')\n", a);
            return CLI_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[i];
    if (!strcmp(name, "version")) {
        printf("spate %s\n", SPATE_VERSION);
        return CLI_OK;
    }
    if (!strcmp(name, "help")) {
        if (i + 1 < argc) {
            const struct cli_command *c = find(argv[i + 1]);
            if (!c) {
                fprintf(stderr, "spate: unknown command '%s' (see 'spate help')\n", argv[i + 1]);
                return CLI_USAGE;
            }
            char *sub[] = {(char *)c->name, "--help", NULL};
            return c->fn(&ctx, 2, sub);
        }
        usage(stdout);
        return CLI_OK;
    }
    const struct cli_command *c = find(name);
    if (!c) {
        fprintf(stderr, "spate: unknown command '%s' (see 'spate help')\n", name);
        return CLI_USAGE;
    }
    int rc = c->fn(&ctx, argc - i, argv + i);
    spate_config_free(ctx.cfg);
    return rc;
}
