/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_verify.c -- `spate verify`: the record ledger, stage by stage, by key. */
#include "cli.h"

#include "spate/error.h"
#include "spate/flow.h"
#include "spate/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate verify [options]\n"
            "\n"
            "Counts and compares the records at every stage and exits 1 on any loss:\n"
            "  fetched              = users.raw + ingest DLQ      (records, with\n"
            "                                                      --expect-fetched)\n"
            "  users.raw            -> users.clean + process DLQ  (every raw key)\n"
            "  users.clean          -> stored rows + sink DLQ     (every clean key)\n"
            "Keys are compared as Spark normalises user_id (blanks cut, lower case). A key\n"
            "the API served twice is two records in fetched and in users.raw: reported,\n"
            "not a duplicate. A whole response ingest rejected (not JSON, an HTTP error)\n"
            "is one DLQ entry, not records. Repeats in users.clean are harmless (upserts).\n"
            "\n"
            "options:\n"
            "  --since MS           only records fetched at or after MS (ms since epoch)\n"
            "  --expect-fetched N   records ingest fetched (its summary), to check raw\n"
            "  --table NAME         table holding one row per record (default users)\n"
            "  --key-column NAME    its key column (default user_id)\n"
            "  --query-table NAME   a query table keyed by appearance, whose extra rows per\n"
            "                       key are counted (default users_by_nationality; \"\"\n"
            "                       skips it)\n"
            "  --timeout DURATION   per topic scan (default 5m)\n"
            "  --json               print the report as one JSON object\n"
            "\n"
            "Without --pipeline, every pipeline of the config gets its ledger and the exit\n"
            "is 1 when any fails (with --json, --expect-fetched or a --table option: the\n"
            "users pipeline only).\n");
}

static void on_raw(void *arg, const struct flow_scan_record *r) { flow_ledger_add_raw(arg, r); }
static void on_clean(void *arg, const struct flow_scan_record *r) { flow_ledger_add_clean(arg, r); }
static void on_dlq(void *arg, const struct flow_scan_record *r) { flow_ledger_add_dlq(arg, r); }

static int on_stored(void *arg, const char *key, size_t len, int64_t count)
{
    (void)count;
    return flow_ledger_add_stored(arg, key, len) != 0;
}

static void print_check(const struct flow_ledger_check *c)
{
    printf("  %-40s %10llu %10llu %10llu", c->name, (unsigned long long)c->expected,
           (unsigned long long)c->found, (unsigned long long)c->missing);
    if (c->surplus)
        printf("   %llu more than expected", (unsigned long long)c->surplus);
    printf("\n");
    for (size_t i = 0; i < c->example_count; i++)
        printf("      %s: %s\n", c->missing ? "missing" : "repeated in one response",
               c->examples[i]);
}

/* The verdict names the check, the stage and what was found. */
static void print_failure(const struct flow_ledger_check *c, const char *from, const char *to)
{
    if (c->missing && c->expected && !strcmp(c->stage, "ingest"))
        printf("LOSS at ingest: it fetched %llu records, but %s and the ingest DLQ hold %llu "
               "(%llu missing; check '%s')\n",
               (unsigned long long)c->expected, from, (unsigned long long)c->found,
               (unsigned long long)c->missing, c->name);
    else if (c->surplus)
        printf("DUPLICATED at ingest: %s and the ingest DLQ hold %llu records, %llu more than "
               "the %llu it fetched (check '%s')%s\n",
               from, (unsigned long long)c->found, (unsigned long long)c->surplus,
               (unsigned long long)c->expected, c->name,
               c->example_count ? "; keys repeated within one response are listed above" : "");
    else if (c->missing)
        printf("LOSS at %s: %llu of %llu keys of %s are in neither %s (check '%s'), e.g. %s\n",
               c->stage, (unsigned long long)c->missing, (unsigned long long)c->expected, from,
               to, c->name, c->example_count ? c->examples[0] : "?");
}

static int verify_one(const struct spate_config *cfg, int64_t since, int64_t expect_fetched,
                      const char *table, const char *key_column, const char *query_table,
                      int64_t timeout_ms, int json);

int cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"expect-fetched", required_argument, NULL, 'e'},
        {"table", required_argument, NULL, 't'},
        {"key-column", required_argument, NULL, 'k'},
        {"query-table", required_argument, NULL, 'q'},
        {"timeout", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int64_t since = 0, expect_fetched = -1, timeout_ms = 300000;
    const char *table = "users", *key_column = "user_id", *query_table = "users_by_nationality";
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': since = strtoll(optarg, NULL, 10); break;
        case 'e': expect_fetched = strtoll(optarg, NULL, 10); break;
        case 't': table = optarg; break;
        case 'k': key_column = optarg; break;
        case 'q': query_table = optarg; break;
        case 'T':
            if (spate_parse_duration_ms(optarg, &timeout_ms) != 0) {
                fprintf(stderr, "spate verify: --timeout: '%s' is not a duration\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default: return cli_bad_option("verify", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_bad_option("verify", argv[optind]);
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    const char *one = getenv("SPATE_PIPELINE");
    int custom = expect_fetched >= 0 || strcmp(table, "users") || strcmp(key_column, "user_id") ||
                 strcmp(query_table, "users_by_nationality");
    /* Without --pipeline, a ledger for every pipeline (the options naming one
     * pipeline's figures, and --json, keep to the users one) */
    if ((one && *one) || cfg->pipeline || cfg->pipeline_count == 0 || !cfg->path || custom ||
        json)
        return verify_one(cfg, since, expect_fetched, table, key_column, query_table,
                          timeout_ms, json);
    int rc = CLI_OK;
    for (size_t i = 0; i <= cfg->pipeline_count; i++) {
        const char *name = i ? cfg->pipelines[i - 1].name : "users";
        struct spate_config *sub = NULL;
        char err[1024];
        printf("%spipeline %s:\n", i ? "\n" : "", name);
        fflush(stdout);
        if (spate_config_load(cfg->path, &sub, err, sizeof err) != 0 ||
            spate_config_select_pipeline(sub, name, err, sizeof err) != 0) {
            fprintf(stderr, "spate verify: %s\n", err);
            spate_config_free(sub);
            return CLI_USAGE;
        }
        int one_rc = verify_one(sub, since, -1, table, key_column, query_table, timeout_ms, 0);
        spate_config_free(sub);
        if (one_rc != CLI_OK)
            rc = one_rc;
    }
    if (rc == CLI_OK)
        printf("\nevery pipeline: OK (users");
    else
        printf("\nnot every pipeline verified (users");
    for (size_t i = 0; i < cfg->pipeline_count; i++)
        printf(", %s", cfg->pipelines[i].name);
    printf(")\n");
    return rc;
}

/* The ledger of cfg's pipeline: scans its topics and table, prints the report. */
static int verify_one(const struct spate_config *cfg, int64_t since, int64_t expect_fetched,
                      const char *table, const char *key_column, const char *query_table,
                      int64_t timeout_ms, int json)
{
    /* a pipeline's own table and key unless the command line names others */
    const struct spate_pipeline_config *pl = spate_config_pipeline(cfg, cfg->pipeline);
    if (pl && !strcmp(table, "users"))
        table = pl->table;
    if (pl && !strcmp(key_column, "user_id"))
        key_column = pl->key_column;

    struct flow_ledger *l = flow_ledger_new(since);
    struct flow_keyset *stored = flow_keyset_new();
    if (!l || !stored) {
        flow_ledger_free(l);
        flow_keyset_free(stored);
        fprintf(stderr, "spate verify: out of memory\n");
        return CLI_FAIL;
    }
    char err[512];
    uint64_t n;
    const char *bs = cfg->kafka.bootstrap_servers;
    const struct spate_kvlist *props = &cfg->kafka.properties;
    int rc = flow_scan_topic(bs, props, cfg->kafka.topic_raw, (int)timeout_ms, on_raw, l, &n, err,
                        sizeof err);
    if (!rc)
        rc = flow_scan_topic(bs, props, cfg->kafka.topic_clean, (int)timeout_ms, on_clean, l, &n,
                        err, sizeof err);
    if (!rc)
        rc = flow_scan_topic(bs, props, cfg->kafka.topic_dlq, (int)timeout_ms, on_dlq, l, &n, err,
                        sizeof err);
    if (!rc)
        rc = flow_scan_table_keys(cfg, table, key_column, stored, err, sizeof err);
    if (!rc)
        flow_keyset_each(stored, on_stored, l);
    flow_keyset_free(stored);
    /* A query table keyed by fetch time holds a row per appearance of a key (the
     * API serving a user twice, ingest fetching a page again): count them, so the
     * report says what the table holds rather than assuming one row per key. */
    uint64_t q_rows = 0, q_keys = 0;
    int have_query = 0;
    if (!rc && query_table[0]) {
        struct flow_keyset *qs = flow_keyset_new();
        char qerr[512];
        if (qs && flow_scan_table_keys(cfg, query_table, key_column, qs, qerr, sizeof qerr) == 0) {
            q_rows = flow_keyset_total(qs);
            q_keys = flow_keyset_distinct(qs);
            have_query = 1;
        }
        flow_keyset_free(qs);
    }
    struct flow_ledger_report rep;
    if (!rc && flow_ledger_evaluate(l, expect_fetched, &rep) != 0) {
        snprintf(err, sizeof err, "out of memory");
        rc = SPATE_ENOMEM;
    }
    flow_ledger_free(l);
    if (rc) {
        fprintf(stderr, "spate verify: %s\n", err);
        return CLI_FAIL;
    }
    int loss = !rep.ok;
    const char *raw = cfg->kafka.topic_raw, *clean = cfg->kafka.topic_clean;

    if (json) {
        printf("{\"raw\":{\"records\":%llu,\"distinct\":%llu,\"api_repeated\":%llu,"
               "\"api_repeated_in_response\":%llu},"
               "\"clean\":{\"records\":%llu,\"distinct\":%llu,\"duplicated\":%llu},"
               "\"dlq\":{\"ingest\":%llu,\"ingest_responses\":%llu,\"process\":%llu,"
               "\"sink\":%llu,\"other\":%llu},"
               "\"stored\":{\"rows\":%llu},"
               "\"query_table\":{\"rows\":%llu,\"keys\":%llu},"
               "\"missing\":{\"process\":%llu,\"sink\":%llu,\"fetched\":%llu},"
               "\"surplus\":{\"fetched\":%llu},"
               "\"ok\":%s}\n",
               (unsigned long long)rep.raw_records, (unsigned long long)rep.raw_keys,
               (unsigned long long)rep.api_repeated_keys,
               (unsigned long long)rep.api_repeated_in_response,
               (unsigned long long)rep.clean_records, (unsigned long long)rep.clean_keys,
               (unsigned long long)rep.clean_replayed_keys,
               (unsigned long long)rep.dlq_ingest_records,
               (unsigned long long)rep.dlq_ingest_responses,
               (unsigned long long)rep.dlq_process_keys, (unsigned long long)rep.dlq_sink_keys,
               (unsigned long long)rep.dlq_other_records, (unsigned long long)rep.stored_keys,
               (unsigned long long)q_rows, (unsigned long long)q_keys,
               (unsigned long long)rep.process.missing, (unsigned long long)rep.sink.missing,
               (unsigned long long)rep.fetched.missing, (unsigned long long)rep.fetched.surplus,
               loss ? "false" : "true");
    } else {
        if (since > 0)
            printf("record ledger (records fetched since %lld ms; keys compared as Spark "
                   "normalises them)\n", (long long)since);
        else
            printf("record ledger (all records; keys compared as Spark normalises them)\n");
        printf("  %-22s %10s %10s %10s\n", "stage", "records", "keys", "repeated");
        printf("  %-22s %10llu %10llu %10llu\n", raw, (unsigned long long)rep.raw_records,
               (unsigned long long)rep.raw_keys, (unsigned long long)rep.api_repeated_keys);
        printf("  %-22s %10llu %10llu %10llu\n", clean, (unsigned long long)rep.clean_records,
               (unsigned long long)rep.clean_keys, (unsigned long long)rep.clean_replayed_keys);
        printf("  %-22s %10llu   (+ %llu whole responses rejected)\n", "DLQ ingest",
               (unsigned long long)rep.dlq_ingest_records,
               (unsigned long long)rep.dlq_ingest_responses);
        printf("  %-22s %10llu %10llu\n", "DLQ process", (unsigned long long)rep.dlq_process_records,
               (unsigned long long)rep.dlq_process_keys);
        printf("  %-22s %10llu %10llu\n", "DLQ sink", (unsigned long long)rep.dlq_sink_records,
               (unsigned long long)rep.dlq_sink_keys);
        if (rep.dlq_other_records)
            printf("  %-22s %10llu   (no spate.stage)\n", "DLQ other",
                   (unsigned long long)rep.dlq_other_records);
        printf("  %-22s %10s %10llu\n", table, "", (unsigned long long)rep.stored_keys);
        if (have_query)
            printf("  %-22s %10llu %10llu   (%llu rows of keys stored more than once)\n",
                   query_table, (unsigned long long)q_rows, (unsigned long long)q_keys,
                   (unsigned long long)(q_rows - q_keys));
        printf("\n  %-40s %10s %10s %10s\n", "check", "expected", "found", "missing");
        if (rep.have_fetched)
            print_check(&rep.fetched);
        print_check(&rep.process);
        print_check(&rep.sink);
        if (rep.api_repeated_keys) {
            printf("  %llu keys the API served more than once (%llu of them within one "
                   "response): each copy is counted, none is a duplicate made by spate%s\n",
                   (unsigned long long)rep.api_repeated_keys,
                   (unsigned long long)rep.api_repeated_in_response,
                   rep.have_fetched ? "" : " (--expect-fetched proves it)");
            for (size_t i = 0; i < rep.repeated_example_count; i++)
                printf("      e.g. %s\n", rep.repeated_examples[i]);
        }
        if (rep.clean_replayed_keys)
            printf("  %llu keys appear more than once in %s: repeats or replays, harmless "
                   "(upserts)\n", (unsigned long long)rep.clean_replayed_keys, clean);
        printf("\n");
        if (loss) {
            char to_process[160], to_sink[160];
            snprintf(to_process, sizeof to_process, "%s nor the process DLQ", clean);
            snprintf(to_sink, sizeof to_sink, "%s nor the sink DLQ", table);
            print_failure(&rep.fetched, raw, "");
            print_failure(&rep.process, raw, to_process);
            print_failure(&rep.sink, clean, to_sink);
        } else {
            printf("OK: nothing lost, nothing duplicated\n");
        }
    }
    return loss ? CLI_FAIL : CLI_OK;
}
