/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_run.c -- `spate run`: its flags and its live view; the run itself is flow_run. */
#include "cli.h"

#include "spate/error.h"
#include "spate/log.h"
#include "spate/flow.h"
#include "spate/proc.h"
#include "spate/stack.h"
#include "spate/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate run [options]\n"
            "\n"
            "Runs the whole pipeline on this machine: brings the stack up, applies the\n"
            "schema, creates the topics, then starts api-sim, ingest, the Spark job, the\n"
            "sink and serve as supervised child processes (a stage that dies is reported\n"
            "with its last log lines and restarted with backoff) and shows a live view.\n"
            "Ctrl-C (or the end of --for) stops the sources first, lets Spark and the sink\n"
            "drain, stops the stores, prints a summary and runs `spate verify`.\n"
            "\n"
            "Every pipeline of the config runs, one process per stage for them all\n"
            "(spate --pipeline NAME run runs one); each is verified on its own, and a\n"
            "pipeline whose source brought no record at all fails the run.\n"
            "\n"
            "options:\n"
            "  --rate N          records per second to fetch, per source (default 1000)\n"
            "  --for DURATION    stop after DURATION (e.g. 90s, 5m)\n"
            "  --source NAME     a source of the config instead of the built-in api-sim\n"
            "  --keep-stack      leave Kafka and Cassandra running at the end\n"
            "  --no-view         log lines instead of the refreshing screen (default when\n"
            "                    stdout is not a terminal)\n"
            "  --drain-timeout D how long Spark and the sink may make no progress while\n"
            "                    they catch up at the end (default 3m)\n"
            "\n"
            "Logs of each stage: <stack.data_dir>/run/<stage>.log. The dashboard is at\n"
            "http://<serve.listen>:<serve.port>/ while it runs.\n");
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested++;
}

/* What the view keeps between reports. */
struct view {
    const struct spate_config *cfg;
    const char *run_dir;
    int view;             /* a refreshing screen, else log lines */
    int64_t first_row_ms; /* from the start to the first stored row, or -1 */
    int64_t mem_at;       /* when the memory line was last measured */
    char mem_line[256];
};

#define num flow_sample_num

static void fmt_num(char *buf, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(buf, len, "-");
        return;
    }
    long long x = llround(v);
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", x < 0 ? -x : x);
    size_t n = strlen(tmp), o = 0;
    if (x < 0 && o < len - 1)
        buf[o++] = '-';
    for (size_t i = 0; i < n && o < len - 1; i++) {
        buf[o++] = tmp[i];
        if ((n - i - 1) % 3 == 0 && i + 1 < n && o < len - 1)
            buf[o++] = ',';
    }
    buf[o] = '\0';
}

/* /api/pipeline reports latency percentiles in milliseconds. */
static void fmt_ms(char *buf, size_t len, double ms)
{
    if (isnan(ms))
        snprintf(buf, len, "-");
    else if (ms >= 3600e3) /* the histograms' top bucket: only "more than" is known */
        snprintf(buf, len, "> 1 h");
    else if (ms < 1000.0)
        snprintf(buf, len, "%.0f ms", ms);
    else
        snprintf(buf, len, "%.2f s", ms / 1000.0);
}


/* "memory  ingest 41 MB  spark 912 MB ..." every 5 s, from one /proc scan. */
static const char *memory_line(struct view *r, const struct flow_run_state *rs, int final)
{
    int64_t now = spate_mono_ms();
    if (r->mem_at && (final || now - r->mem_at < 5000)) /* final: the stages are gone */
        return r->mem_line;
    r->mem_at = now;
    static struct spate_proc_table procs; /* 64 KB: not on the stack */
    spate_proc_scan(&procs);
    size_t o = (size_t)snprintf(r->mem_line, sizeof r->mem_line, "  memory    ");
    for (int i = 0; i < FLOW_NSTAGES && o < sizeof r->mem_line; i++)
        if (rs->enabled[i] && rs->st[i].pid)
            o += (size_t)snprintf(r->mem_line + o, sizeof r->mem_line - o, " %s %" PRId64 " MB",
                                  flow_stage_names[i],
                                  spate_proc_tree_rss_kb(&procs, rs->st[i].pid) / 1024);
    static const char *const svc[] = {"kafka", "cassandra"};
    for (int i = 0; i < 2 && o < sizeof r->mem_line; i++) {
        pid_t p = stack_pid(r->cfg, i == 0 ? STACK_KAFKA : STACK_CASSANDRA);
        if (p)
            o += (size_t)snprintf(r->mem_line + o, sizeof r->mem_line - o, " %s %" PRId64 " MB",
                                  svc[i], spate_proc_tree_rss_kb(&procs, p) / 1024);
    }
    return r->mem_line;
}

static void render(void *arg, const struct flow_run_state *rs, int final)
{
    struct view *r = arg;
    const json_t *p = rs->latest;
    char url[256];
    int64_t el = (spate_mono_ms() - rs->t0_ms) / 1000;
    char a[32], b[32], c[32], d[32], e[32], f[32];
    if (r->view && !final)
        fputs("\033[H\033[2J", stdout);
    printf("spate run  %02" PRId64 ":%02" PRId64 ":%02" PRId64 "  %s\n", el / 3600, el / 60 % 60,
           el % 60, final ? "(stopped)" : "(Ctrl-C stops, drains and verifies)");
    printf("  %-10s %12s %14s\n", "stage", "records/s", "total");
    fmt_num(a, sizeof a, num(p, "r_ingest"));
    fmt_num(b, sizeof b, num(p, "raw"));
    printf("  %-10s %12s %14s   -> %s\n", "ingest", a, b, r->cfg->kafka.topic_raw);
    fmt_num(a, sizeof a, num(p, "r_process"));
    fmt_num(b, sizeof b, num(p, "clean"));
    printf("  %-10s %12s %14s   -> %s\n", "process", a, b, r->cfg->kafka.topic_clean);
    fmt_num(a, sizeof a, num(p, "r_sink"));
    fmt_num(b, sizeof b, num(p, "stored"));
    printf("  %-10s %12s %14s   -> Cassandra %s\n", "sink", a, b, r->cfg->cassandra.keyspace);
    fmt_num(a, sizeof a, num(p, "dlq_ingest"));
    fmt_num(b, sizeof b, num(p, "dlq_process"));
    fmt_num(c, sizeof c, num(p, "dlq_sink"));
    printf("  DLQ        ingest %s   process %s   sink %s\n", a, b, c);
    fmt_ms(d, sizeof d, num(p, "p50"));
    fmt_ms(e, sizeof e, num(p, "p99"));
    fmt_num(f, sizeof f, num(p, "lag"));
    printf("  latency    p50 %s   p99 %s   (fetched -> stored)   consumer lag %s\n", d, e, f);
    {
        /* which hop holds the time: p50 / p99 of each */
        static const char *const hops[] = {"ingest", "process", "sink"};
        const json_t *h = p ? json_object_get(p, "hops") : NULL;
        printf("  hops      ");
        for (int i = 0; i < 3; i++) {
            const json_t *o = h ? json_object_get(h, hops[i]) : NULL;
            fmt_ms(d, sizeof d, num(o, "p50"));
            fmt_ms(e, sizeof e, num(o, "p99"));
            printf(" %s %s / %s%s", hops[i], d, e, i < 2 ? "  |" : "\n");
        }
    }
    if (json_object_size(rs->pipelines) > 1) {
        /* one line per pipeline: where its records are */
        printf("  %-10s %10s %10s %10s %8s %10s\n", "pipeline", "raw", "clean", "stored", "dlq",
               "records/s");
        const char *k;
        json_t *v;
        json_object_foreach(rs->pipelines, k, v) {
            const json_t *l = json_object_get(v, "latest");
            fmt_num(a, sizeof a, num(l, "raw"));
            fmt_num(b, sizeof b, num(l, "clean"));
            fmt_num(c, sizeof c, num(l, "stored"));
            fmt_num(d, sizeof d, num(l, "dlq"));
            fmt_num(e, sizeof e, num(l, "r_sink"));
            printf("  %-10.10s %10s %10s %10s %8s %10s\n", k, a, b, c, d, e);
        }
    }
    if (r->first_row_ms < 0 && num(p, "stored") > 0) {
        r->first_row_ms = spate_mono_ms() - rs->started_ms;
        SPATE_INFO("run", "first row stored %.1f s after spate run started",
                   r->first_row_ms / 1000.0);
    }
    if (r->first_row_ms >= 0)
        printf("  first row  stored %.1f s after spate run started (stack, schema and Spark "
               "start-up included)\n", r->first_row_ms / 1000.0);
    printf("%s\n", memory_line(r, rs, final));
    printf("  stages    ");
    for (int i = 0; i < FLOW_NSTAGES; i++) {
        if (!rs->enabled[i])
            continue;
        const struct flow_stage *s = &rs->st[i];
        printf(" %s:%s", flow_stage_names[i], s->pid ? "up" : s->finished ? "done" : "down");
        if (s->restarts)
            printf("(%d restarts)", s->restarts);
    }
    printf("\n");
    if (!final && rs->enabled[FLOW_SERVE] && !r->cfg->pipeline) {
        snprintf(url, sizeof url, "%s/api/users?limit=5", rs->base_url);
        json_t *u = flow_get_json(url);
        json_t *items = u ? json_object_get(u, "users") : NULL;
        if (json_is_array(items) && json_array_size(items) > 0) {
            printf("  latest stored users:\n");
            size_t i;
            json_t *it;
            json_array_foreach(items, i, it)
            {
                const char *fn = json_string_value(json_object_get(it, "first_name"));
                const char *ln = json_string_value(json_object_get(it, "last_name"));
                const char *nat = json_string_value(json_object_get(it, "nationality"));
                const char *city = json_string_value(json_object_get(it, "city"));
                const char *id = json_string_value(json_object_get(it, "user_id"));
                printf("    %-36s %-2s %-16.16s %-16.16s %s\n", id ? id : "?", nat ? nat : "",
                       fn ? fn : "", ln ? ln : "", city ? city : "");
            }
        }
        json_decref(u);
    }
    printf("  dashboard  %s/   logs %s/\n", rs->base_url, r->run_dir);
    fflush(stdout);
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"rate", required_argument, NULL, 'r'},
        {"for", required_argument, NULL, 'f'},
        {"source", required_argument, NULL, 's'},
        {"keep-stack", no_argument, NULL, 'k'},
        {"no-view", no_argument, NULL, 'n'},
        {"drain-timeout", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    double rate = 1000;
    int64_t for_ms = 0, drain_ms = 180000;
    const char *source = NULL;
    int keep_stack = 0, view = isatty(1), c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': {
            char *end;
            rate = strtod(optarg, &end);
            if (*end || !(rate > 0) || rate > 1e7) {
                fprintf(stderr, "spate run: --rate must be a number of records/s in (0, 1e7]\n");
                return CLI_USAGE;
            }
            break;
        }
        case 'f':
        case 'd':
            if (spate_parse_duration_ms(optarg, c == 'f' ? &for_ms : &drain_ms) != 0) {
                fprintf(stderr, "spate run: '%s' is not a duration (e.g. 90s, 5m)\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 's': source = optarg; break;
        case 'k': keep_stack = 1; break;
        case 'n': view = 0; break;
        case 'h': usage(stdout); return CLI_OK;
        default: return cli_bad_option("run", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_bad_option("run", argv[optind]);
    /* without --pipeline every pipeline of the config runs, and the stages
     * started below inherit that */
    const char *one = getenv("SPATE_PIPELINE");
    if (!one || !*one)
        setenv("SPATE_ALL_PIPELINES", "1", 1);
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    char exe[PATH_MAX];
    if (spate_self_exe(exe, sizeof exe) != 0) {
        perror("spate run: /proc/self/exe");
        return CLI_FAIL;
    }
    char state[PATH_MAX - 64], run_dir[PATH_MAX];
    if (stack_state_dir(cfg, state, sizeof state) != 0) {
        fprintf(stderr, "spate run: stack.data_dir %s: path too long or no working directory\n",
                cfg->stack.data_dir);
        return CLI_FAIL;
    }
    snprintf(run_dir, sizeof run_dir, "%s/run", state);
    mkdir(state, 0700);
    mkdir(run_dir, 0700);

    if (cfg->all_pipelines && cfg->pipeline_count > 0) {
        printf("spate run: every pipeline of the config: users");
        for (size_t i = 0; i < cfg->pipeline_count; i++)
            printf(", %s", cfg->pipelines[i].name);
        printf(" (spate --pipeline NAME run runs one)\n");
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct flow_run_options o = {
        .exe = exe,
        .config_path = ctx->config_explicit ? ctx->config_path : NULL,
        .source = source,
        .run_dir = run_dir,
        .rate = rate,
        .for_ms = for_ms,
        .drain_ms = drain_ms,
        .keep_stack = keep_stack,
    };
    struct view v = {.cfg = cfg, .run_dir = run_dir, .view = view, .first_row_ms = -1};
    int rc = flow_run(cfg, &o, &stop_requested, render, &v);
    curl_global_cleanup();
    return rc == 0 ? CLI_OK : rc == SPATE_ECONFIG ? CLI_USAGE : CLI_FAIL;
}
