/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_ingest.c -- `spate ingest`: poll the configured HTTP sources into Kafka. */
#include "cli.h"

#include "spate/error.h"
#include "spate/ingest.h"
#include "spate/log.h"
#include "spate/metrics.h"
#include "spate/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_flag;

/* The first signal drains; a second one stops waiting for Kafka. */
static void on_signal(int sig)
{
    (void)sig;
    if (stop_flag < 2)
        stop_flag++;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate ingest [options]\n"
            "\n"
            "Poll the HTTP JSON sources of the config and produce every record, exactly as\n"
            "received, to kafka.topic_raw; bad payloads go to kafka.topic_dlq. SIGINT or\n"
            "SIGTERM stops polling, drains in-flight requests and delivery reports, and\n"
            "prints a summary line; a second signal stops waiting for Kafka (undelivered\n"
            "messages are counted as failed and the resume state stays before them).\n"
            "\n"
            "options:\n"
            "  --source NAME        only this source, repeatable (default: every source)\n"
            "  --rate R             requests per second per source (0 = unlimited)\n"
            "  --record-rate N      records per second per source (sets each one's batch\n"
            "                       to at most N/10 and its request rate to match)\n"
            "  --concurrency N      requests in flight per source\n"
            "  --batch N            records per request\n"
            "  --max-records N      stop after asking for N records (the last request is\n"
            "                       shortened)\n"
            "  --for DURATION       stop after DURATION (e.g. 30s, 5m)\n"
            "  --seed S             value for {seed} / seed= (default: the source's seed)\n"
            "  --reset              ignore the saved pagination state, start from the start\n"
            "  --topic-raw T        produce records to T instead of kafka.topic_raw\n"
            "  --topic-dlq T        send bad payloads to T instead of kafka.topic_dlq\n"
            "  --dlq-max-bytes N    raw bytes kept in a DLQ message (default 65536)\n"
            "  --metrics-port P     serve /metrics on P (default metrics.ingest_port, 0 = off)\n"
            "  --summary FILE       at exit, append the counts as one JSON line to FILE\n"
            "  -h, --help           this help\n");
}

/* The counts for a program (spate run adds them up across restarts): one
 * JSON object a line, appended, so each process of a run leaves its own. */
static int write_summary(const char *path, const struct ingest_summary *sum)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    fprintf(f, "{\"requests\":%" PRIu64 ",\"fetched\":%" PRIu64 ",\"produced\":%" PRIu64
               ",\"dlq\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"failed\":%" PRIu64
               ",\"elapsed_ms\":%" PRId64 ",\"sources\":{",
            sum->requests, sum->fetched, sum->produced, sum->dlq, sum->retries, sum->failed,
            (int64_t)sum->elapsed_ms);
    /* per source, so a run of several pipelines has each one's counts */
    for (size_t i = 0; i < sum->nsources; i++) {
        const struct ingest_source_summary *s = &sum->sources[i];
        json_t *name = json_string(s->name), *topic = json_string(s->topic_raw);
        char *n = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
        char *t = topic ? json_dumps(topic, JSON_ENCODE_ANY) : NULL;
        fprintf(f, "%s%s:{\"topic_raw\":%s,\"fetched\":%" PRIu64 ",\"produced\":%" PRIu64
                   ",\"dlq\":%" PRIu64 "}",
                i ? "," : "", n ? n : "\"?\"", t ? t : "\"\"", s->fetched, s->produced, s->dlq);
        free(n);
        free(t);
        json_decref(name);
        json_decref(topic);
    }
    fprintf(f, "}}\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv)
{
    enum { O_SOURCE = 256, O_RATE, O_CONC, O_BATCH, O_MAX, O_FOR, O_SEED, O_RESET, O_TRAW,
           O_TDLQ, O_DLQMAX, O_MPORT, O_SUMMARY, O_RRATE };
    enum { MAX_SOURCES = 64 };
    const char *sources[MAX_SOURCES];
    static const struct option longopts[] = {
        {"source", required_argument, NULL, O_SOURCE},
        {"rate", required_argument, NULL, O_RATE},
        {"record-rate", required_argument, NULL, O_RRATE},
        {"concurrency", required_argument, NULL, O_CONC},
        {"batch", required_argument, NULL, O_BATCH},
        {"max-records", required_argument, NULL, O_MAX},
        {"for", required_argument, NULL, O_FOR},
        {"seed", required_argument, NULL, O_SEED},
        {"reset", no_argument, NULL, O_RESET},
        {"topic-raw", required_argument, NULL, O_TRAW},
        {"topic-dlq", required_argument, NULL, O_TDLQ},
        {"dlq-max-bytes", required_argument, NULL, O_DLQMAX},
        {"metrics-port", required_argument, NULL, O_MPORT},
        {"summary", required_argument, NULL, O_SUMMARY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ingest_options o = {.rate = -1};
    const char *summary_path = NULL;
    int64_t metrics_port = -1, v;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_SOURCE:
            if (o.nsources == MAX_SOURCES) {
                fprintf(stderr, "spate ingest: --source: at most %d\n", MAX_SOURCES);
                return CLI_USAGE;
            }
            sources[o.nsources++] = optarg;
            o.sources = sources;
            break;
        case O_RRATE: {
            char *end;
            o.record_rate = strtod(optarg, &end);
            if (end == optarg || *end || !(o.record_rate > 0) || o.record_rate > 1e7) {
                fprintf(stderr, "spate ingest: --record-rate: not a rate in (0, 1e7]: '%s'\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        }
        case O_RATE: {
            char *end;
            o.rate = strtod(optarg, &end);
            if (end == optarg || *end || o.rate < 0) {
                fprintf(stderr, "spate ingest: --rate: not a rate >= 0: '%s'\n", optarg);
                return CLI_USAGE;
            }
            break;
        }
        case O_CONC:
            if (parse_i64(optarg, 1, 1024, &v)) {
                fprintf(stderr, "spate ingest: --concurrency: expected 1..1024\n");
                return CLI_USAGE;
            }
            o.concurrency = (int)v;
            break;
        case O_BATCH:
            if (parse_i64(optarg, 1, 100000, &v)) {
                fprintf(stderr, "spate ingest: --batch: expected 1..100000\n");
                return CLI_USAGE;
            }
            o.batch = (int)v;
            break;
        case O_MAX:
            if (parse_i64(optarg, 1, INT64_MAX, &o.max_records)) {
                fprintf(stderr, "spate ingest: --max-records: expected a positive number\n");
                return CLI_USAGE;
            }
            break;
        case O_FOR:
            if (spate_parse_duration_ms(optarg, &o.duration_ms) || o.duration_ms <= 0) {
                fprintf(stderr, "spate ingest: --for: not a duration: '%s'\n", optarg);
                return CLI_USAGE;
            }
            break;
        case O_SEED:
            o.seed = optarg;
            break;
        case O_RESET:
            o.reset_state = 1;
            break;
        case O_TRAW:
            o.topic_raw = optarg;
            break;
        case O_TDLQ:
            o.topic_dlq = optarg;
            break;
        case O_DLQMAX:
            if (parse_i64(optarg, 1, 100000000, &v)) {
                fprintf(stderr, "spate ingest: --dlq-max-bytes: expected 1..100000000\n");
                return CLI_USAGE;
            }
            o.dlq_max_bytes = (int)v;
            break;
        case O_MPORT:
            if (parse_i64(optarg, 0, 65535, &metrics_port)) {
                fprintf(stderr, "spate ingest: --metrics-port: expected 0..65535\n");
                return CLI_USAGE;
            }
            break;
        case O_SUMMARY:
            summary_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default:
            return cli_bad_option("ingest", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spate ingest: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    if (metrics_port < 0)
        metrics_port = cfg->metrics.ingest_port;

    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_server *srv = NULL;
    if (reg && metrics_port > 0) {
        int rc = metrics_server_start(reg, cfg->metrics.listen, (int)metrics_port, &srv);
        if (rc) {
            fprintf(stderr, "spate ingest: metrics endpoint on %s:%d: %s\n",
                    cfg->metrics.listen, (int)metrics_port, spate_strerror(rc));
            metrics_registry_free(reg);
            return CLI_FAIL;
        }
        SPATE_INFO("ingest", "metrics on http://%s:%d/metrics", cfg->metrics.listen,
                   (int)metrics_port);
    }
    o.metrics = reg;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signal(SIGPIPE, SIG_IGN);

    /* Producer messages and their headers (thousands queued) are allocated
     * and freed in waves. With glibc's default 128 KB trim threshold the top
     * of the heap goes back to the kernel after each wave and is faulted in
     * again for the next: ~8% of ingest's CPU per record (bench/ingest),
     * measured while records were still copied into their messages; not
     * measured again since they point into the response bodies. Keeping it
     * costs a few MB of RSS. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);

    struct ingest_summary sum;
    stop_flag = 0;
    int rc = ingest_run(cfg, &o, &stop_flag, &sum);

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    metrics_server_stop(srv);
    metrics_registry_free(reg);

    double secs = (double)sum.elapsed_ms / 1000.0;
    printf("ingest: requests=%" PRIu64 " fetched=%" PRIu64 " produced=%" PRIu64 " dlq=%" PRIu64
           " retries=%" PRIu64 " failed=%" PRIu64 " elapsed=%.2fs rate=%.0f records/s\n",
           sum.requests, sum.fetched, sum.produced, sum.dlq, sum.retries, sum.failed, secs,
           secs > 0 ? (double)sum.produced / secs : 0.0);
    fflush(stdout);
    if (summary_path && write_summary(summary_path, &sum) != 0)
        fprintf(stderr, "spate ingest: --summary %s: %s\n", summary_path, strerror(errno));
    if (rc == SPATE_ECONFIG)
        return CLI_USAGE;
    if (rc == SPATE_EHTTP && sum.gave_up > 0) {
        fprintf(stderr, "spate ingest: %" PRIu64 " source%s stopped at a position %s could not "
                "fetch (see the errors above); the saved state resumes there\n", sum.gave_up,
                sum.gave_up == 1 ? "" : "s", sum.gave_up == 1 ? "it" : "they");
        return CLI_FAIL;
    }
    if (rc) {
        fprintf(stderr, "spate ingest: %s\n", spate_strerror(rc));
        return CLI_FAIL;
    }
    return CLI_OK;
}
