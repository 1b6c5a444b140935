/* SPDX-License-Identifier: Apache-2.0 */
/* common.c -- config loading and error reporting shared by every command. */
#include "cli.h"

#include "spate/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct spate_config *cli_config(struct cli_ctx *ctx)
{
    if (ctx->cfg)
        return ctx->cfg;
    char err[1024];
    int rc;
    const char *path = ctx->config_path ? ctx->config_path : "spate.yaml";
    if (!ctx->config_explicit && access(path, F_OK) != 0)
        rc = spate_config_defaults(&ctx->cfg, err, sizeof err);
    else
        rc = spate_config_load(path, &ctx->cfg, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "%s: config error: %s\n", ctx->prog, err);
        return NULL;
    }
    const char *pipeline = getenv("SPATE_PIPELINE");
    const char *all = getenv("SPATE_ALL_PIPELINES");
    if ((!pipeline || !*pipeline) && all && !strcmp(all, "1")) {
        spate_config_select_all(ctx->cfg);
        pipeline = NULL;
    } else if (spate_config_select_pipeline(ctx->cfg, pipeline && *pipeline ? pipeline : NULL, err,
                                     sizeof err) != 0) {
        fprintf(stderr, "%s: --pipeline: %s\n", ctx->prog, err);
        spate_config_free(ctx->cfg);
        ctx->cfg = NULL;
        return NULL;
    }
    enum spate_log_level lvl;
    if (spate_log_level_parse(ctx->cfg->log_level, &lvl) == 0 && !getenv("SPATE_LOG_LEVEL"))
        spate_log_set_level(lvl);
    return ctx->cfg;
}

int cli_bad_option(const char *cmd, const char *opt)
{
    fprintf(stderr, "spate %s: unknown or incomplete option '%s' (see 'spate %s --help')\n",
            cmd, opt, cmd);
    return CLI_USAGE;
}

int cli_not_yet(const char *cmd, const char *what)
{
    fprintf(stderr, "spate %s: not available in this build yet (%s)\n", cmd, what);
    return CLI_FAIL;
}
