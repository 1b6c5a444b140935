/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_verify.c -- `spate verify`: the record ledger, stage by stage, by key. */
#include "cli.h"

#include "spate/pipeline.h"
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
            "Counts and compares record keys at every stage and exits 1 on any loss:\n"
            "  users.raw            = fetched - ingest DLQ       (with --expect-fetched)\n"
            "  users.raw            -> users.clean + process DLQ  (every raw key)\n"
            "  users.clean          -> stored rows + sink DLQ     (every clean key)\n"
            "Duplicates are reported; in users.clean they are harmless (the sink upserts).\n"
            "\n"
            "options:\n"
            "  --since MS           only records fetched at or after MS (ms since epoch)\n"
            "  --expect-fetched N   records ingest fetched (its summary), to check raw\n"
            "  --table NAME         table holding one row per record (default users)\n"
            "  --key-column NAME    its key column (default user_id)\n"
            "  --timeout DURATION   per topic scan (default 5m)\n"
            "  --json               print the report as one JSON object\n");
}

struct stage_sets {
    struct keyset *raw, *clean, *dlq_process, *dlq_sink, *dlq_other, *stored;
    uint64_t dlq_ingest;   /* ingest DLQ records often have no key */
    uint64_t raw_skipped;  /* outside --since */
    int64_t since;
};

static void on_raw(void *arg, const struct scan_record *r)
{
    struct stage_sets *s = arg;
    if (s->since > 0 && r->fetched_at >= 0 && r->fetched_at < s->since) {
        s->raw_skipped++;
        return;
    }
    if (r->key)
        keyset_add(s->raw, r->key, r->key_len);
    else
        keyset_add(s->raw, "(no key)", 8);
}

static size_t record_key(const struct scan_record *r, const char *field, char *buf, size_t len)
{
    if (r->key && r->key_len > 0 && r->key_len < len) {
        memcpy(buf, r->key, r->key_len);
        buf[r->key_len] = '\0';
        return r->key_len;
    }
    int n = r->value ? json_top_field(r->value, r->value_len, field, buf, len) : -1;
    return n > 0 ? (size_t)n : 0;
}

static void on_clean(void *arg, const struct scan_record *r)
{
    struct stage_sets *s = arg;
    char k[256];
    size_t n = record_key(r, "user_id", k, sizeof k);
    if (n)
        keyset_add(s->clean, k, n);
}

static void on_dlq(void *arg, const struct scan_record *r)
{
    struct stage_sets *s = arg;
    char k[256];
    const char *stage = r->stage;
    char stage_buf[32];
    if (!stage && r->value &&
        json_top_field(r->value, r->value_len, "stage", stage_buf, sizeof stage_buf) > 0)
        stage = stage_buf;
    if (stage && !strcmp(stage, "ingest")) {
        s->dlq_ingest++;
        return;
    }
    size_t n = record_key(r, "key", k, sizeof k);
    struct keyset *to = !stage ? s->dlq_other
                        : !strcmp(stage, "process") ? s->dlq_process
                        : !strcmp(stage, "sink") ? s->dlq_sink
                                                 : s->dlq_other;
    keyset_add(to, n ? k : "(no key)", n ? n : 8);
}

static void print_row(const char *name, const struct keyset *ks)
{
    printf("  %-22s %10llu %10zu %10zu\n", name, (unsigned long long)keyset_total(ks),
           keyset_distinct(ks), keyset_duplicated(ks));
}

static void print_check(const struct ledger_check *c)
{
    printf("  %-40s %10llu %10llu %10llu\n", c->name, (unsigned long long)c->expected,
           (unsigned long long)c->found, (unsigned long long)c->missing);
    for (size_t i = 0; i < c->example_count; i++)
        printf("      missing: %s\n", c->examples[i]);
}

struct filter_ctx {
    const struct keyset *raw;
    struct keyset *out;
};

static int keep_if_raw(void *arg, const char *key, size_t len, int64_t count)
{
    struct filter_ctx *f = arg;
    if (keyset_count(f->raw, key, len) > 0)
        for (int64_t i = 0; i < count; i++)
            keyset_add(f->out, key, len);
    return 0;
}

int cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"expect-fetched", required_argument, NULL, 'e'},
        {"table", required_argument, NULL, 't'},
        {"key-column", required_argument, NULL, 'k'},
        {"timeout", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int64_t since = 0, expect_fetched = -1, timeout_ms = 300000;
    const char *table = "users", *key_column = "user_id";
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': since = strtoll(optarg, NULL, 10); break;
        case 'e': expect_fetched = strtoll(optarg, NULL, 10); break;
        case 't': table = optarg; break;
        case 'k': key_column = optarg; break;
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

    struct stage_sets s = {keyset_new(), keyset_new(), keyset_new(), keyset_new(),
                           keyset_new(), keyset_new(), 0, 0, since};
    if (!s.raw || !s.clean || !s.dlq_process || !s.dlq_sink || !s.dlq_other || !s.stored) {
        fprintf(stderr, "spate verify: out of memory\n");
        return CLI_FAIL;
    }
    char err[512];
    uint64_t n;
    const char *bs = cfg->kafka.bootstrap_servers;
    const struct spate_kvlist *props = &cfg->kafka.properties;
    int rc = scan_topic(bs, props, cfg->kafka.topic_raw, (int)timeout_ms, on_raw, &s, &n, err,
                        sizeof err);
    if (!rc)
        rc = scan_topic(bs, props, cfg->kafka.topic_clean, (int)timeout_ms, on_clean, &s, &n,
                        err, sizeof err);
    if (!rc)
        rc = scan_topic(bs, props, cfg->kafka.topic_dlq, (int)timeout_ms, on_dlq, &s, &n, err,
                        sizeof err);
    if (!rc)
        rc = scan_table_keys(cfg, table, key_column, s.stored, err, sizeof err);
    if (rc) {
        fprintf(stderr, "spate verify: %s\n", err);
        return CLI_FAIL;
    }

    /* With --since, only clean keys whose raw record is in range are owed. */
    struct keyset *clean_from = s.clean;
    if (since > 0) {
        clean_from = keyset_new();
        struct filter_ctx f = {s.raw, clean_from};
        keyset_each(s.clean, keep_if_raw, &f);
    }
    struct ledger_check process, sink;
    const struct keyset *after_raw[] = {s.clean, s.dlq_process};
    const struct keyset *after_clean[] = {s.stored, s.dlq_sink};
    ledger_compare("raw -> clean + process DLQ", s.raw, after_raw, 2, &process);
    ledger_compare("clean -> stored + sink DLQ", clean_from, after_clean, 2, &sink);
    int64_t fetched_gap = 0;
    if (expect_fetched >= 0)
        fetched_gap = expect_fetched - (int64_t)keyset_distinct(s.raw) - (int64_t)s.dlq_ingest;
    int loss = process.missing > 0 || sink.missing > 0 || fetched_gap > 0 ||
               keyset_duplicated(s.raw) > 0;

    if (json) {
        printf("{\"raw\":{\"records\":%llu,\"distinct\":%zu,\"duplicated\":%zu},"
               "\"clean\":{\"records\":%llu,\"distinct\":%zu,\"duplicated\":%zu},"
               "\"dlq\":{\"ingest\":%llu,\"process\":%zu,\"sink\":%zu,\"other\":%zu},"
               "\"stored\":{\"rows\":%zu},"
               "\"missing\":{\"process\":%llu,\"sink\":%llu,\"fetched\":%lld},"
               "\"ok\":%s}\n",
               (unsigned long long)keyset_total(s.raw), keyset_distinct(s.raw),
               keyset_duplicated(s.raw), (unsigned long long)keyset_total(s.clean),
               keyset_distinct(s.clean), keyset_duplicated(s.clean),
               (unsigned long long)s.dlq_ingest, keyset_distinct(s.dlq_process),
               keyset_distinct(s.dlq_sink), keyset_distinct(s.dlq_other),
               keyset_distinct(s.stored), (unsigned long long)process.missing,
               (unsigned long long)sink.missing, (long long)(fetched_gap > 0 ? fetched_gap : 0),
               loss ? "false" : "true");
    } else {
        if (since > 0)
            printf("record ledger (records fetched since %lld ms)\n", (long long)since);
        else
            printf("record ledger (all records)\n");
        printf("  %-22s %10s %10s %10s\n", "stage", "records", "distinct", "duplicated");
        print_row(cfg->kafka.topic_raw, s.raw);
        print_row(cfg->kafka.topic_clean, s.clean);
        printf("  %-22s %10llu\n", "DLQ ingest", (unsigned long long)s.dlq_ingest);
        print_row("DLQ process", s.dlq_process);
        print_row("DLQ sink", s.dlq_sink);
        if (keyset_total(s.dlq_other))
            print_row("DLQ other", s.dlq_other);
        printf("  %-22s %10s %10zu\n", table, "", keyset_distinct(s.stored));
        printf("\n  %-40s %10s %10s %10s\n", "check", "expected", "found", "missing");
        if (expect_fetched >= 0)
            printf("  %-40s %10lld %10llu %10lld\n", "fetched -> raw + ingest DLQ",
                   (long long)expect_fetched,
                   (unsigned long long)(keyset_distinct(s.raw) + s.dlq_ingest),
                   (long long)(fetched_gap > 0 ? fetched_gap : 0));
        print_check(&process);
        print_check(&sink);
        if (keyset_duplicated(s.raw))
            printf("  %zu keys appear more than once in %s (ingest must not duplicate)\n",
                   keyset_duplicated(s.raw), cfg->kafka.topic_raw);
        if (keyset_duplicated(s.clean))
            printf("  %zu keys appear more than once in %s: replays, harmless (upserts)\n",
                   keyset_duplicated(s.clean), cfg->kafka.topic_clean);
        printf("\n%s\n", loss ? "LOSS: records are missing or duplicated (see above)"
                              : "OK: nothing lost, nothing duplicated");
    }
    if (clean_from != s.clean)
        keyset_free(clean_from);
    keyset_free(s.raw);
    keyset_free(s.clean);
    keyset_free(s.dlq_process);
    keyset_free(s.dlq_sink);
    keyset_free(s.dlq_other);
    keyset_free(s.stored);
    return loss ? CLI_FAIL : CLI_OK;
}
