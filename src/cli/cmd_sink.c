/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_sink.c -- `spate sink`: consume the mapped topics into Cassandra until stopped. */
#include "cli.h"

#include "spate/error.h"
#include "spate/log.h"
#include "spate/metrics.h"
#include "spate/sink.h"
#include "spate/util.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate sink [options]\n"
            "\n"
            "Consume the topics of sink.mappings in a consumer group and upsert every record\n"
            "into its Cassandra tables (prepared, asynchronous, bounded). Offsets are committed\n"
            "only below the oldest record not yet acknowledged. Records that cannot be\n"
            "converted go to kafka.topic_dlq with spate.stage=sink and the reason. SIGINT or\n"
            "SIGTERM stops consuming, finishes in-flight writes, commits and prints a summary.\n"
            "\n"
            "options:\n"
            "  --group G            consumer group (default sink.group_id)\n"
            "  --keyspace KS        keyspace of unqualified tables (default cassandra.keyspace)\n"
            "  --dlq-topic T        poison records go to T (default kafka.topic_dlq)\n"
            "  --latency-field F    field with the ingest time (default ingested_at, '' = off)\n"
            "  --max-records N      stop once N records are done\n"
            "  --for DURATION       stop after DURATION (e.g. 30s, 5m)\n"
            "  --idle-exit DURATION stop once nothing arrived for DURATION\n"
            "  --drain-timeout D    on stop, wait up to D for in-flight writes (default 60s)\n"
            "  --metrics-port P     serve /metrics on P (default metrics.sink_port, 0 = off)\n"
            "  -q, --quiet          no progress lines\n"
            "  -h, --help           this help\n");
}

static int duration_arg(const char *name, const char *s, int64_t *out)
{
    if (spate_parse_duration_ms(s, out) || *out <= 0) {
        fprintf(stderr, "spate sink: %s: not a duration: '%s'\n", name, s);
        return -1;
    }
    return 0;
}

int cmd_sink(struct cli_ctx *ctx, int argc, char **argv)
{
    enum { O_GROUP = 256, O_KS, O_DLQ, O_LAT, O_MAX, O_FOR, O_IDLE, O_DRAIN, O_MPORT };
    static const struct option longopts[] = {
        {"group", required_argument, NULL, O_GROUP},
        {"keyspace", required_argument, NULL, O_KS},
        {"dlq-topic", required_argument, NULL, O_DLQ},
        {"latency-field", required_argument, NULL, O_LAT},
        {"max-records", required_argument, NULL, O_MAX},
        {"for", required_argument, NULL, O_FOR},
        {"idle-exit", required_argument, NULL, O_IDLE},
        {"drain-timeout", required_argument, NULL, O_DRAIN},
        {"metrics-port", required_argument, NULL, O_MPORT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sink_options o = {0};
    long metrics_port = -1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hq", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case O_GROUP:
            o.group_id = optarg;
            break;
        case O_KS:
            o.keyspace = optarg;
            break;
        case O_DLQ:
            o.dlq_topic = optarg;
            break;
        case O_LAT:
            o.latency_field = optarg;
            break;
        case O_MAX:
            o.max_records = strtoll(optarg, &end, 10);
            if (end == optarg || *end || o.max_records <= 0) {
                fprintf(stderr, "spate sink: --max-records: expected a positive number\n");
                return CLI_USAGE;
            }
            break;
        case O_FOR:
            if (duration_arg("--for", optarg, &o.duration_ms))
                return CLI_USAGE;
            break;
        case O_IDLE:
            if (duration_arg("--idle-exit", optarg, &o.idle_exit_ms))
                return CLI_USAGE;
            break;
        case O_DRAIN:
            if (duration_arg("--drain-timeout", optarg, &o.drain_timeout_ms))
                return CLI_USAGE;
            break;
        case O_MPORT:
            metrics_port = strtol(optarg, &end, 10);
            if (end == optarg || *end || metrics_port < 0 || metrics_port > 65535) {
                fprintf(stderr, "spate sink: --metrics-port: expected 0..65535\n");
                return CLI_USAGE;
            }
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default:
            return cli_bad_option("sink", argv[optind - 1]);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "spate sink: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    if (metrics_port < 0)
        metrics_port = cfg->metrics.sink_port;

    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_server *srv = NULL;
    if (reg && metrics_port > 0) {
        int rc = metrics_server_start(reg, cfg->metrics.listen, (int)metrics_port, &srv);
        if (rc)
            SPATE_WARN("sink", "metrics on %s:%ld not served: %s", cfg->metrics.listen,
                       metrics_port, spate_strerror(rc));
        else
            SPATE_INFO("sink", "metrics on http://%s:%ld/metrics", cfg->metrics.listen,
                       metrics_port);
    }
    o.metrics = reg;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sink_summary s;
    char err[1024] = "";
    int rc = sink_run(cfg, &o, &stop_flag, &s, err, sizeof err);
    metrics_server_stop(srv);
    metrics_registry_free(reg);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double secs = (double)s.elapsed_ms / 1000.0;
    fprintf(stderr,
            "spate sink: %" PRIu64 " records, %" PRIu64 " rows in %.1f s (%.0f rows/s), %" PRIu64
            " to DLQ, %" PRIu64 " retries, %" PRIu64 " unfinished, %" PRIu64
            " unstorable DLQ records, cpu %.1f s, peak RSS %ld MB, e2e p50 %.0f ms p99 %.0f ms\n",
            s.records, s.rows, secs, secs > 0 ? (double)s.rows / secs : 0.0, s.dlq, s.retries,
            s.unfinished, s.dropped, s.cpu_s, ru.ru_maxrss / 1024, s.p50_ms, s.p99_ms);
    if (rc) {
        fprintf(stderr, "spate sink: %s\n", err[0] ? err : spate_strerror(rc));
        return rc == SPATE_ECONFIG ? CLI_USAGE : CLI_FAIL;
    }
    return CLI_OK;
}
