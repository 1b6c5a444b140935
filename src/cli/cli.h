/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h -- what every `spate <command>` shares: context, config, exit codes. */
#ifndef SPATE_CLI_H
#define SPATE_CLI_H

#include "spate/config.h"

/* Exit codes every command follows. */
enum {
    CLI_OK = 0,
    CLI_FAIL = 1,  /* the command ran and something failed */
    CLI_USAGE = 2, /* bad command line or bad configuration */
};

struct cli_ctx {
    const char *prog;        /* "spate" */
    const char *config_path; /* -c FILE, NULL = spate.yaml if present */
    int config_explicit;     /* -c was given: a missing file is an error */
    struct spate_config *cfg;/* loaded on first cli_config() */
};

/* Load (once) and return the config; on error prints "spate: FILE:LINE: key:
 * problem" to stderr and returns NULL (the command then exits CLI_USAGE). */
struct spate_config *cli_config(struct cli_ctx *ctx);

/* Standard handling of an option getopt did not know: prints the error naming
 * the option and a hint, returns CLI_USAGE. */
int cli_bad_option(const char *cmd, const char *opt);

/* Every command: argv[0] is the command name. */
typedef int (*cli_fn)(struct cli_ctx *ctx, int argc, char **argv);

struct cli_command {
    const char *name;
    cli_fn fn;
    const char *summary;
};

int cmd_stack(struct cli_ctx *ctx, int argc, char **argv);
int cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cmd_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv);
int cmd_apisim(struct cli_ctx *ctx, int argc, char **argv);
int cmd_spark(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sink(struct cli_ctx *ctx, int argc, char **argv);
int cmd_schema(struct cli_ctx *ctx, int argc, char **argv);
int cmd_query(struct cli_ctx *ctx, int argc, char **argv);
int cmd_cql(struct cli_ctx *ctx, int argc, char **argv);
int cmd_serve(struct cli_ctx *ctx, int argc, char **argv);
int cmd_verify(struct cli_ctx *ctx, int argc, char **argv);
int cmd_config(struct cli_ctx *ctx, int argc, char **argv);
int cmd_init(struct cli_ctx *ctx, int argc, char **argv);

/* For commands not built yet: says so and which issue tracks it. */
int cli_not_yet(const char *cmd, const char *what);

#endif
