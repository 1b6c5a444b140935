/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_schema.c -- `spate schema apply|show`: create the keyspace and tables from schema/. */
#include "cli.h"

#include "spate/error.h"
#include "spate/sink.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: spate schema apply|show [options]\n"
               "\n"
               "apply  create the keyspace and every table of schema/*.cql that does not exist\n"
               "       yet (safe to re-run; reports what it created); replication from the\n"
               "       cassandra section of the config\n"
               "show   print the statements apply would run, with the config filled in\n"
               "\n"
               "options:\n"
               "  --dir DIR        folder of the .cql files (default: $SPATE_SCHEMA_DIR, ./schema\n"
               "                   or the one installed next to the binary)\n"
               "  --keyspace KS    keyspace instead of cassandra.keyspace\n"
               "  -h, --help       this help\n");
}

int cmd_schema(struct cli_ctx *ctx, int argc, char **argv)
{
    enum { O_DIR = 256, O_KS };
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, O_DIR},
        {"keyspace", required_argument, NULL, O_KS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sink_schema_options o = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DIR:
            o.dir = optarg;
            break;
        case O_KS:
            o.keyspace = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default:
            return cli_bad_option("schema", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[optind];
    if (strcmp(sub, "show") == 0) {
        o.dry_run = 1;
    } else if (strcmp(sub, "apply") != 0) {
        fprintf(stderr, "spate schema: unknown subcommand '%s' (apply or show)\n", sub);
        return CLI_USAGE;
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    char err[1024] = "";
    int rc = sink_schema_apply(cfg, &o, stdout, err, sizeof err);
    if (rc) {
        fprintf(stderr, "spate schema: %s\n", err[0] ? err : spate_strerror(rc));
        return rc == SPATE_ECONFIG ? CLI_USAGE : CLI_FAIL;
    }
    return CLI_OK;
}
