/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_query.c -- `spate query`: the REST API's queries from a terminal (table or JSON). */
#include "cli.h"

#include "spate/error.h"
#include "spate/serve.h"
#include "spate/util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate query <what> [options]\n"
            "\n"
            "Queries the stored data, as the REST API of `spate serve` does:\n"
            "  user ID                       one user by id (a UUID)\n"
            "  latest [-n DE] [-l N]         latest users, newest first (all nationalities\n"
            "                                without -n)\n"
            "  stats [--from T] [--to T] [-n DE]   signups per minute over a range\n"
            "                                (default the last hour)\n"
            "  rejects [--day D] [-l N]      rejected records of a day (default today)\n"
            "\n"
            "options:\n"
            "  -n, --nationality CC   two-letter nationality\n"
            "  -l, --limit N          rows (1..%d; default %d, rejects 100)\n"
            "      --from T, --to T   ISO-8601 with a zone, a date, 'now', '-15m' or epoch ms\n"
            "      --day D            YYYY-MM-DD, 'today' or 'yesterday'\n"
            "      --json             print the JSON document the REST API returns\n"
            "Exit codes: 0 found, 1 not found or Cassandra error, 2 bad input.\n",
            SERVE_LIMIT_MAX, SERVE_LIMIT_DEFAULT);
}

/* A JSON scalar as text (strings without quotes). */
static void scalar(const json_t *v, char *buf, size_t size)
{
    if (!v || json_is_null(v))
        snprintf(buf, size, "-");
    else if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, size, "%.6g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(buf, size, "true");
    else if (json_is_false(v))
        snprintf(buf, size, "false");
    else {
        char *s = json_dumps(v, JSON_COMPACT);
        snprintf(buf, size, "%s", s ? s : "?");
        free(s);
    }
}

/* Prints rows (objects) as an aligned table of the given columns. */
static void table(const json_t *rows, const char *const *cols, size_t ncols)
{
    size_t w[16] = {0};
    char cell[256];
    for (size_t c = 0; c < ncols; c++)
        w[c] = strlen(cols[c]);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            scalar(json_object_get(row, cols[c]), cell, 48);
            if (strlen(cell) > w[c])
                w[c] = strlen(cell);
        }
    }
    for (size_t c = 0; c < ncols; c++)
        printf("%-*s%s", (int)w[c], cols[c], c + 1 < ncols ? "  " : "\n");
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            scalar(json_object_get(row, cols[c]), cell, 48);
            printf("%-*s%s", (int)w[c], cell, c + 1 < ncols ? "  " : "\n");
        }
    }
}

static void print_counts(const char *title, const json_t *obj)
{
    const char *k;
    json_t *v;
    printf("%s:", title);
    json_object_foreach((json_t *)obj, k, v)
        printf(" %s=%lld", k, (long long)json_integer_value(v));
    printf("\n");
}

static int print_pretty(const char *what, const char *json)
{
    json_error_t je;
    json_t *doc = json_loads(json, 0, &je);
    if (!doc) {
        fputs(json, stdout);
        return 0;
    }
    char cell[256];
    if (!strcmp(what, "user")) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(doc, "user"), k, v) {
            scalar(v, cell, sizeof cell);
            printf("%-16s %s\n", k, cell);
        }
    } else if (!strcmp(what, "latest")) {
        static const char *const cols[] = {"ingested_at", "user_id", "nationality", "first_name",
                                           "last_name",   "gender",  "age",         "city"};
        table(json_object_get(doc, "users"), cols, 8);
        printf("(%lld users)\n", (long long)json_integer_value(json_object_get(doc, "count")));
    } else if (!strcmp(what, "stats")) {
        printf("from %s to %s", json_string_value(json_object_get(doc, "from")),
               json_string_value(json_object_get(doc, "to")));
        scalar(json_object_get(doc, "nationality"), cell, sizeof cell);
        printf(", nationality %s\n", strcmp(cell, "-") ? cell : "all");
        printf("total: %lld signups", (long long)json_integer_value(json_object_get(doc, "total")));
        scalar(json_object_get(doc, "avg_age"), cell, sizeof cell);
        printf(", average age %s\n", cell);
        print_counts("by gender", json_object_get(doc, "by_gender"));
        print_counts("by nationality", json_object_get(doc, "by_nationality"));
        static const char *const cols[] = {"t", "signups"};
        table(json_object_get(doc, "minutes"), cols, 2);
    } else {
        long long total = (long long)json_integer_value(json_object_get(doc, "total"));
        long long shown = (long long)json_integer_value(json_object_get(doc, "count"));
        printf("day %s: %lld rejects", json_string_value(json_object_get(doc, "day")), total);
        if (shown < total)
            printf(" (%lld newest shown; --limit shows more)", shown);
        printf("\n");
        print_counts(shown < total ? "by stage (of those shown)" : "by stage",
                     json_object_get(doc, "by_stage"));
        static const char *const cols[] = {"at", "stage", "reason", "record_key"};
        table(json_object_get(doc, "rejects"), cols, 4);
    }
    json_decref(doc);
    return 0;
}

int cmd_query(struct cli_ctx *ctx, int argc, char **argv)
{
    enum { O_FROM = 256, O_TO, O_DAY, O_JSON, O_HELP };
    static const struct option longopts[] = {
        {"nationality", required_argument, NULL, 'n'},
        {"limit", required_argument, NULL, 'l'},
        {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO},
        {"day", required_argument, NULL, O_DAY},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *nat = NULL, *limit_s = NULL, *from = NULL, *to = NULL, *day_s = NULL;
    int json = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "n:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': nat = optarg; break;
        case 'l': limit_s = optarg; break;
        case O_FROM: from = optarg; break;
        case O_TO: to = optarg; break;
        case O_DAY: day_s = optarg; break;
        case O_JSON: json = 1; break;
        case 'h':
        case O_HELP: usage(stdout); return CLI_OK;
        default: return cli_bad_option("query", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *what = argv[optind];
    if (!strcmp(what, "users"))
        what = "latest";
    if (!strcmp(what, "rejected"))
        what = "rejects";
    int nargs = argc - optind - 1;
    int want_args = !strcmp(what, "user") ? 1 : 0;
    if (strcmp(what, "user") && strcmp(what, "latest") && strcmp(what, "stats") &&
        strcmp(what, "rejects")) {
        fprintf(stderr, "spate query: unknown query '%s' (user, latest, stats, rejects)\n", what);
        return CLI_USAGE;
    }
    if (nargs != want_args) {
        fprintf(stderr, "spate query %s: %s\n", what,
                want_args ? "needs one user id" : "takes no arguments");
        return CLI_USAGE;
    }
    uint8_t id[16];
    char natbuf[3];
    int limit = 0;
    int32_t day = 0;
    int64_t from_ms = 0, to_ms = 0;
    char err[512] = "";
    int64_t now = spate_wall_ms();
    if (!strcmp(what, "user") && serve_parse_uuid(argv[optind + 1], id) != 0) {
        fprintf(stderr, "spate query user: '%s' is not a UUID\n", argv[optind + 1]);
        return CLI_USAGE;
    }
    if (nat && serve_parse_nationality(nat, natbuf) != 0) {
        fprintf(stderr, "spate query: --nationality: '%s' is not a two-letter code\n", nat);
        return CLI_USAGE;
    }
    if (serve_parse_limit(limit_s, !strcmp(what, "rejects") ? 100 : SERVE_LIMIT_DEFAULT, 1,
                          SERVE_LIMIT_MAX, &limit) != 0) {
        fprintf(stderr, "spate query: --limit: '%s' must be 1..%d\n", limit_s, SERVE_LIMIT_MAX);
        return CLI_USAGE;
    }
    if (!strcmp(what, "stats") && serve_parse_range(from, to, now, SERVE_STATS_MAX_RANGE_MS,
                                                    &from_ms, &to_ms, err, sizeof err) != 0) {
        fprintf(stderr, "spate query stats: %s\n", err);
        return CLI_USAGE;
    }
    if (!strcmp(what, "rejects") && serve_parse_day(day_s ? day_s : "today", now, &day) != 0) {
        fprintf(stderr, "spate query rejects: --day: '%s' is not YYYY-MM-DD\n", day_s);
        return CLI_USAGE;
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    struct serve_store *st;
    if (serve_store_open(cfg, 1, &st) != 0) {
        fprintf(stderr, "spate query: out of memory\n");
        return CLI_FAIL;
    }
    struct spate_buf out = {0};
    int rc;
    if (!strcmp(what, "user"))
        rc = serve_store_user(st, id, &out, err, sizeof err);
    else if (!strcmp(what, "latest"))
        rc = serve_store_latest(st, nat ? natbuf : NULL, limit, &out, err, sizeof err);
    else if (!strcmp(what, "stats"))
        rc = serve_store_stats(st, from_ms, to_ms, nat ? natbuf : NULL, &out, err, sizeof err);
    else
        rc = serve_store_rejects(st, day, limit, &out, err, sizeof err);
    serve_store_close(st);
    if (rc != 0) {
        fprintf(stderr, "spate query %s: %s\n", what, err[0] ? err : spate_strerror(rc));
        spate_buf_free(&out);
        return CLI_FAIL;
    }
    spate_buf_append(&out, "", 1);
    if (json)
        fputs(out.data, stdout);
    else
        print_pretty(what, out.data);
    spate_buf_free(&out);
    return CLI_OK;
}
