/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_serve.c -- `spate serve`: the REST API, the dashboard and /metrics until a signal. */
#include "cli.h"

#include "spate/error.h"
#include "spate/log.h"
#include "spate/serve.h"
#include "spate/util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate serve [options]\n"
            "\n"
            "Read-only HTTP server over the stored data, bound to 127.0.0.1 by default:\n"
            "  /                                  the dashboard (live charts, latest users);\n"
            "                                     with a token, open /#token=TOKEN once\n"
            "  GET /api/users/{id}                one user\n"
            "  GET /api/users?nationality=DE&limit=50   latest users, newest first\n"
            "  GET /api/stats?from=-1h&to=now&nationality=DE   signups per minute\n"
            "  GET /api/rejects?day=2026-11-25&limit=100       rejected records of a day\n"
            "  GET /api/pipeline[?since=MS]      live counters, latency percentiles, lag\n"
            "  GET /health\n"
            "and on its own listener (metrics.listen:metrics.serve_port, 127.0.0.1:9403):\n"
            "  GET /metrics                       Prometheus metrics of this server\n"
            "Times: ISO-8601 with a zone, a date, 'now', '-15m' or epoch ms. Bad input is a\n"
            "400 with {\"error\":{\"status\":400,\"message\":...}}.\n"
            "\n"
            "options:\n"
            "  --listen ADDR        API address (default serve.listen, 127.0.0.1)\n"
            "  --port N             API port (default serve.port, 8080; 0 = any free)\n"
            "  --metrics-listen ADDR  /metrics address (default metrics.listen, 127.0.0.1)\n"
            "  --metrics-port N     /metrics port (default metrics.serve_port, 9403; 0 = any\n"
            "                       free; the API's address and port: served by the API)\n"
            "  --threads N          Cassandra workers and sessions (default 4)\n"
            "  --interval DURATION  pipeline sampling period (default 1s)\n"
            "  --no-kafka           do not read topic offsets and consumer lag from Kafka\n"
            "  --port-file FILE     write the bound API port to FILE once listening\n"
            "  --metrics-port-file FILE  the same for the /metrics port\n"
            "\n"
            "/api/ needs 'Authorization: Bearer TOKEN' when serve.token or SPATE_SERVE_TOKEN\n"
            "is set; requests whose Host is not localhost, an IP address, the listen address\n"
            "or one of serve.allowed_hosts get 403 (DNS rebinding).\n");
}

int cmd_serve(struct cli_ctx *ctx, int argc, char **argv)
{
    enum {
        O_LISTEN = 256,
        O_PORT,
        O_MLISTEN,
        O_MPORT,
        O_THREADS,
        O_INTERVAL,
        O_NOKAFKA,
        O_PORTFILE,
        O_MPORTFILE,
        O_HELP
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"port", required_argument, NULL, O_PORT},
        {"metrics-listen", required_argument, NULL, O_MLISTEN},
        {"metrics-port", required_argument, NULL, O_MPORT},
        {"metrics-port-file", required_argument, NULL, O_MPORTFILE},
        {"threads", required_argument, NULL, O_THREADS},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"no-kafka", no_argument, NULL, O_NOKAFKA},
        {"port-file", required_argument, NULL, O_PORTFILE},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct serve_options o;
    serve_options_init(&o);
    const char *port_file = NULL, *mport_file = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        long v;
        int64_t ms;
        switch (c) {
        case O_LISTEN: o.listen = optarg; break;
        case O_PORT:
            v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 65535) {
                fprintf(stderr, "spate serve: --port: '%s' must be 0..65535\n", optarg);
                return CLI_USAGE;
            }
            o.port = (int)v;
            break;
        case O_MLISTEN: o.metrics_listen = optarg; break;
        case O_MPORT:
            v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 65535) {
                fprintf(stderr, "spate serve: --metrics-port: '%s' must be 0..65535\n", optarg);
                return CLI_USAGE;
            }
            o.metrics_port = (int)v;
            break;
        case O_MPORTFILE: mport_file = optarg; break;
        case O_THREADS:
            v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 16) {
                fprintf(stderr, "spate serve: --threads: '%s' must be 1..16\n", optarg);
                return CLI_USAGE;
            }
            o.threads = (int)v;
            break;
        case O_INTERVAL:
            if (spate_parse_duration_ms(optarg, &ms) != 0 || ms < 100 || ms > 60000) {
                fprintf(stderr, "spate serve: --interval: '%s' must be 100ms..60s\n", optarg);
                return CLI_USAGE;
            }
            o.sample_interval_ms = (int)ms;
            break;
        case O_NOKAFKA: o.kafka = 0; break;
        case O_PORTFILE: port_file = optarg; break;
        case 'h':
        case O_HELP: usage(stdout); return CLI_OK;
        default: return cli_bad_option("serve", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spate serve: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct serve_server *srv = NULL;
    char err[512];
    int rc = serve_start(cfg, &o, &srv, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "spate serve: %s\n", err);
        curl_global_cleanup();
        return CLI_FAIL;
    }
    const char *host = o.listen ? o.listen : cfg->serve.listen;
    const char *mhost = o.metrics_listen ? o.metrics_listen : cfg->metrics.listen;
    /* the token itself is never logged */
    SPATE_INFO("serve", "listening on http://%s:%d/ (dashboard at /, API under /api/%s)",
               host && *host ? host : "127.0.0.1", serve_port(srv),
               serve_has_token(srv) ? ", bearer token required: open the dashboard as "
                                      "/#token=TOKEN"
                                    : "");
    SPATE_INFO("serve", "metrics on http://%s:%d/metrics", mhost && *mhost ? mhost : "127.0.0.1",
               serve_metrics_port(srv));
    const char *files[2] = {port_file, mport_file};
    int ports[2] = {serve_port(srv), serve_metrics_port(srv)};
    for (int i = 0; i < 2; i++) {
        if (!files[i])
            continue;
        /* written whole under another name, then renamed: a reader never sees half */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", files[i]);
        FILE *pf = fopen(tmp, "w");
        if (pf) {
            fprintf(pf, "%d\n", ports[i]);
            if (fclose(pf) == 0)
                rename(tmp, files[i]);
        }
    }
    while (!stop_signal)
        spate_sleep_ms(200);
    SPATE_INFO("serve", "signal %d: stopping", (int)stop_signal);
    serve_stop(srv);
    curl_global_cleanup();
    return CLI_OK;
}
