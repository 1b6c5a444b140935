/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_apisim.c -- `spate api-sim`: run the offline randomuser.me-compatible API until a signal. */
#include "cli.h"

#include "spate/apisim.h"
#include "spate/error.h"
#include "spate/log.h"
#include "spate/util.h"

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
            "usage: spate api-sim [options]\n"
            "       spate api-sim keys --seed S --pages FIRST-LAST --results N [...]\n"
            "\n"
            "Serve a randomuser.me-compatible API offline, with deterministic fault injection.\n"
            "  GET /api/?results=N&page=P&seed=S&nat=US,FR&inc=..&exc=..&gender=..&noinfo\n"
            "  GET /stats   counters (users served, faults by kind) as JSON\n"
            "  GET /health,  POST /reset (attempt counts start over)\n"
            "  POST /outage?seconds=N[&status=503]  every /api request fails for N s\n"
            "Same (seed, page) -> same users, byte for byte. Faults are decided from the fault\n"
            "seed, the (seed, page) and the attempt number of that page, so a retried page\n"
            "eventually succeeds and a test can replay every decision (see spate/apisim.h).\n"
            "\n"
            "options:\n"
            "  --listen ADDR         address to bind (default metrics.listen, 127.0.0.1)\n"
            "  --port N              port (default metrics.apisim_port, 8088; 0 = any free)\n"
            "  --threads N           worker threads (default 1)\n"
            "  --thread-per-connection  one thread per connection (implied by --latency/--jitter)\n"
            "  --total-users N       dataset size: pages past N users come back empty (default 0,\n"
            "                        unlimited, like the real API)\n"
            "fault injection (SHARE is 0..1 or a percentage like 10%%):\n"
            "  --fail-5xx SHARE      answer 500/502/503\n"
            "  --fail-429 SHARE      answer 429 with Retry-After\n"
            "  --retry-after S       the Retry-After value (default 1)\n"
            "  --malformed SHARE     200 with a body that is not JSON\n"
            "  --truncated SHARE     200 with a body cut short\n"
            "  --reset SHARE         200, connection closed halfway through the body\n"
            "  --missing SHARE       records missing a required field (mostly login.uuid)\n"
            "  --wrong-type SHARE    records with a field of the wrong JSON type\n"
            "  --messy-keys SHARE    records whose login.uuid is served as real APIs do:\n"
            "                        repeated within or across pages (across: with a\n"
            "                        fixed seed), upper case, or padded with blanks\n"
            "  --bad-text SHARE      records whose name.first ends in a lone surrogate\n"
            "                        escape (\\ud800) or a byte that is not UTF-8\n"
            "  --latency DURATION    added to every answer (e.g. 20ms)\n"
            "  --jitter DURATION     plus a uniform 0..DURATION per request\n"
            "  --fault-seed N        seed of the fault decisions (default 1)\n"
            "The same knobs work per request as query parameters: fault=KIND, fail_5xx,\n"
            "fail_429, retry_after, malformed, truncated, reset, missing, wrong_type,\n"
            "messy_keys, bad_text, latency_ms, jitter_ms, fault_seed.\n"
            "Every answer carries X-Spate-Fault, X-Spate-Attempt and, for 200s,\n"
            "X-Spate-Records and X-Spate-Bad-Records.\n"
            "'spate api-sim keys' lists the login.uuid of every record of a page range with\n"
            "its record fault, for tests that check what a consumer received.\n");
}

static int share_opt(const char *name, const char *v, double *out)
{
    if (apisim_parse_share(v, out) != 0) {
        fprintf(stderr, "spate api-sim: --%s: '%s' is not a share (0..1 or 0%%..100%%)\n", name,
                v);
        return -1;
    }
    return 0;
}

static int int_opt(const char *name, const char *v, long lo, long hi, long *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        fprintf(stderr, "spate api-sim: --%s: '%s' must be an integer from %ld to %ld\n", name,
                v, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

static int dur_opt(const char *name, const char *v, int *out)
{
    int64_t ms;
    if (spate_parse_duration_ms(v, &ms) != 0 || ms < 0 || ms > 600000) {
        fprintf(stderr, "spate api-sim: --%s: '%s' is not a duration up to 10m\n", name, v);
        return -1;
    }
    *out = (int)ms;
    return 0;
}

/* `spate api-sim keys`: the login.uuid of every record of a range of pages with its
 * record fault, so a test written in any language can compute the set of good keys
 * without linking the C decision functions. */
static int cmd_keys(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},    {"pages", required_argument, NULL, 'p'},
        {"results", required_argument, NULL, 'r'}, {"missing", required_argument, NULL, 'm'},
        {"wrong-type", required_argument, NULL, 'w'},
        {"fault-seed", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
        {"total-users", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    struct apisim_faults f = {.seed = 1, .retry_after_s = 1};
    const char *seed = NULL;
    long first = 1, last = 1, results = 1, n;
    long long total = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 's': seed = optarg; break;
        case 'p': {
            char *end;
            first = strtol(optarg, &end, 10);
            last = first;
            if (*end == '-' || *end == ':')
                last = strtol(end + 1, &end, 10);
            if (*end || first < 1 || last < first || last > APISIM_MAX_PAGE) {
                fprintf(stderr, "spate api-sim keys: --pages wants N or FIRST-LAST\n");
                return CLI_USAGE;
            }
            break;
        }
        case 'r': bad = int_opt("results", optarg, 1, APISIM_MAX_RESULTS, &results); break;
        case 't': {
            char *end;
            total = strtoll(optarg, &end, 10);
            bad = !*optarg || *end || total < 0;
            if (bad)
                fprintf(stderr, "spate api-sim keys: --total-users wants a count >= 0\n");
            break;
        }
        case 'm': bad = share_opt("missing", optarg, &f.p_missing); break;
        case 'w': bad = share_opt("wrong-type", optarg, &f.p_wrongtype); break;
        case 'f': bad = int_opt("fault-seed", optarg, 0, 0x7fffffffL, &n); f.seed = (uint64_t)n; break;
        case 'h':
            printf("usage: spate api-sim keys --seed S --pages FIRST-LAST --results N\n"
                   "                          [--missing SHARE] [--wrong-type SHARE] [--fault-seed N]\n"
                   "                          [--total-users N]\n"
                   "Prints one line per record: UUID TAB none|missing|wrongtype TAB FIELD.\n"
                   "The fault options must match the server's; records whose fault is\n"
                   "'missing login.uuid' or 'wrongtype login.uuid' carry no usable key.\n");
            return CLI_OK;
        default: return cli_bad_option("api-sim keys", argv[optind - 1]);
        }
        if (bad)
            return CLI_USAGE;
    }
    if (!seed || !*seed || strlen(seed) > APISIM_MAX_SEED_LEN) {
        fprintf(stderr, "spate api-sim keys: --seed is required (1-%d characters)\n",
                APISIM_MAX_SEED_LEN);
        return CLI_USAGE;
    }
    char err[256];
    if (apisim_faults_validate(&f, err, sizeof err) != 0) {
        fprintf(stderr, "spate api-sim keys: %s\n", err);
        return CLI_USAGE;
    }
    struct apisim_query q = {.results = (int)results, .total = total};
    for (long page = first; page <= last; page++) {
        q.page = page;
        int count = apisim_page_records(&q);
        for (int i = 0; i < count; i++) {
            char uuid[37];
            const char *field;
            apisim_user_uuid(seed, page, i, uuid);
            enum apisim_recfault rf = apisim_record_fault(&f, seed, page, i, &field);
            printf("%s\t%s\t%s\n", uuid, apisim_recfault_name(rf), field);
        }
    }
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static void summary(FILE *f, const struct apisim_stats *st, double secs)
{
    fprintf(f,
            "api-sim: %llu requests (%llu bad), %llu users served (%llu good) in %.1f s; "
            "faults 5xx=%llu 429=%llu malformed=%llu truncated=%llu reset=%llu; "
            "bad records missing=%llu wrongtype=%llu\n",
            (unsigned long long)st->requests, (unsigned long long)st->bad_requests,
            (unsigned long long)st->users_served, (unsigned long long)st->good_users, secs,
            (unsigned long long)st->faults[APISIM_FAULT_SERVER],
            (unsigned long long)st->faults[APISIM_FAULT_RATELIMIT],
            (unsigned long long)st->faults[APISIM_FAULT_MALFORMED],
            (unsigned long long)st->faults[APISIM_FAULT_TRUNCATED],
            (unsigned long long)st->faults[APISIM_FAULT_RESET],
            (unsigned long long)st->recfaults[APISIM_RECFAULT_MISSING],
            (unsigned long long)st->recfaults[APISIM_RECFAULT_WRONGTYPE]);
}

int cmd_apisim(struct cli_ctx *ctx, int argc, char **argv)
{
    enum {
        O_LISTEN = 256, O_PORT, O_THREADS, O_TPC, O_5XX, O_429, O_RETRY, O_MALFORMED,
        O_TRUNCATED, O_RESET, O_MISSING, O_WRONGTYPE, O_LATENCY, O_JITTER, O_FSEED, O_HELP,
        O_TOTAL, O_MESSY, O_BADTEXT
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"port", required_argument, NULL, O_PORT},
        {"threads", required_argument, NULL, O_THREADS},
        {"thread-per-connection", no_argument, NULL, O_TPC},
        {"fail-5xx", required_argument, NULL, O_5XX},
        {"fail-429", required_argument, NULL, O_429},
        {"retry-after", required_argument, NULL, O_RETRY},
        {"malformed", required_argument, NULL, O_MALFORMED},
        {"truncated", required_argument, NULL, O_TRUNCATED},
        {"reset", required_argument, NULL, O_RESET},
        {"missing", required_argument, NULL, O_MISSING},
        {"wrong-type", required_argument, NULL, O_WRONGTYPE},
        {"latency", required_argument, NULL, O_LATENCY},
        {"jitter", required_argument, NULL, O_JITTER},
        {"fault-seed", required_argument, NULL, O_FSEED},
        {"help", no_argument, NULL, O_HELP},
        {"total-users", required_argument, NULL, O_TOTAL},
        {"messy-keys", required_argument, NULL, O_MESSY},
        {"bad-text", required_argument, NULL, O_BADTEXT},
        {NULL, 0, NULL, 0},
    };
    struct apisim_server_opts o = {.listen = NULL, .port = -1, .threads = 1};
    o.faults.seed = 1;
    o.faults.retry_after_s = 1;
    long n;
    int c;
    if (argc > 1 && strcmp(argv[1], "keys") == 0)
        return cmd_keys(argc - 1, argv + 1);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        int bad = 0;
        switch (c) {
        case 'h':
        case O_HELP: usage(stdout); return CLI_OK;
        case O_LISTEN: o.listen = optarg; break;
        case O_PORT: bad = int_opt("port", optarg, 0, 65535, &n); o.port = (int)n; break;
        case O_THREADS: bad = int_opt("threads", optarg, 1, 256, &n); o.threads = (int)n; break;
        case O_TPC: o.thread_per_connection = 1; break;
        case O_TOTAL: {
            char *end;
            long long t = strtoll(optarg, &end, 10);
            if (!*optarg || *end || t < 0) {
                fprintf(stderr, "spate api-sim: --total-users: '%s' must be a count >= 0\n",
                        optarg);
                return CLI_USAGE;
            }
            o.total_users = t;
            break;
        }
        case O_5XX: bad = share_opt("fail-5xx", optarg, &o.faults.p_5xx); break;
        case O_429: bad = share_opt("fail-429", optarg, &o.faults.p_429); break;
        case O_RETRY:
            bad = int_opt("retry-after", optarg, 0, 3600, &n);
            o.faults.retry_after_s = (int)n;
            break;
        case O_MALFORMED: bad = share_opt("malformed", optarg, &o.faults.p_malformed); break;
        case O_TRUNCATED: bad = share_opt("truncated", optarg, &o.faults.p_truncated); break;
        case O_RESET: bad = share_opt("reset", optarg, &o.faults.p_reset); break;
        case O_MISSING: bad = share_opt("missing", optarg, &o.faults.p_missing); break;
        case O_WRONGTYPE: bad = share_opt("wrong-type", optarg, &o.faults.p_wrongtype); break;
        case O_MESSY: bad = share_opt("messy-keys", optarg, &o.faults.p_messy_keys); break;
        case O_BADTEXT: bad = share_opt("bad-text", optarg, &o.faults.p_bad_text); break;
        case O_LATENCY: bad = dur_opt("latency", optarg, &o.faults.latency_ms); break;
        case O_JITTER: bad = dur_opt("jitter", optarg, &o.faults.jitter_ms); break;
        case O_FSEED:
            bad = int_opt("fault-seed", optarg, 0, 0x7fffffffL, &n);
            o.faults.seed = (uint64_t)n;
            break;
        default: return cli_bad_option("api-sim", name);
        }
        if (bad)
            return CLI_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "spate api-sim: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    char err[256];
    if (apisim_faults_validate(&o.faults, err, sizeof err) != 0) {
        fprintf(stderr, "spate api-sim: %s\n", err);
        return CLI_USAGE;
    }
    if (o.port < 0 || !o.listen) { /* defaults come from the config's metrics section */
        struct spate_config *cfg = cli_config(ctx);
        if (!cfg)
            return CLI_USAGE;
        if (o.port < 0)
            o.port = cfg->metrics.apisim_port;
        if (!o.listen)
            o.listen = cfg->metrics.listen && *cfg->metrics.listen ? cfg->metrics.listen
                                                                   : "127.0.0.1";
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct apisim_server *srv;
    int rc = apisim_server_start(&o, &srv, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "spate api-sim: %s\n", err);
        return rc == SPATE_EINVAL ? CLI_USAGE : CLI_FAIL;
    }
    int64_t t0 = spate_mono_ms();
    int is6 = strchr(o.listen, ':') != NULL;
    printf("api-sim listening on http://%s%s%s:%d/api/ (%s, fault seed %llu)\n",
           is6 ? "[" : "", o.listen, is6 ? "]" : "", apisim_server_port(srv),
           o.thread_per_connection || o.faults.latency_ms || o.faults.jitter_ms
               ? "thread per connection"
               : (o.threads > 1 ? "thread pool" : "1 thread"),
           (unsigned long long)o.faults.seed);
    fflush(stdout);
    while (!stop_signal)
        spate_sleep_ms(200);
    struct apisim_stats st;
    apisim_server_stats(srv, &st);
    apisim_server_stop(srv);
    summary(stdout, &st, (double)(spate_mono_ms() - t0) / 1000.0);
    fflush(stdout);
    return CLI_OK;
}
