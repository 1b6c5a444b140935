/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_run.c -- `spate run`: the whole pipeline locally, supervised, with a live view. */
#include "cli.h"

#include "spate/log.h"
#include "spate/pipeline.h"
#include "spate/stack.h"
#include "spate/util.h"

#include <curl/curl.h>
#include <dirent.h>
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
#include <sys/wait.h>
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
            "options:\n"
            "  --rate N          records per second to fetch (default 1000)\n"
            "  --for DURATION    stop after DURATION (e.g. 90s, 5m)\n"
            "  --source NAME     a source of the config instead of the built-in api-sim\n"
            "  --keep-stack      leave Kafka and Cassandra running at the end\n"
            "  --no-view         log lines instead of the refreshing screen (default when\n"
            "                    stdout is not a terminal)\n"
            "  --drain-timeout D how long Spark and the sink may make no progress while\n"
            "                    they catch up at the end (default 3m)\n"
            "\n"
            "Logs of each stage: <stack.data_dir>/run/<stage>.log. The dashboard is at\n"
            "http://<metrics.listen>:<metrics.serve_port>/ while it runs.\n");
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested++;
}

enum { ST_APISIM, ST_INGEST, ST_SPARK, ST_SINK, ST_SERVE, NSTAGES };

struct run {
    struct spate_config *cfg;
    struct stage_proc st[NSTAGES];
    int enabled[NSTAGES];
    char *argvs[NSTAGES][16];
    char exe[PATH_MAX];
    char run_dir[PATH_MAX];
    const char *config_path;
    int view;
    int64_t t0;          /* the stages started */
    int64_t started_ms;  /* spate run started (stack and schema included) */
    int64_t first_row_ms; /* from started_ms to the first stored row, or -1 */
    int64_t mem_at;      /* when the memory line was last measured */
    char mem_line[256];
    char base_url[128];
    json_t *last; /* last /api/pipeline "latest" sample */
    int64_t fetched; /* from ingest's summary */
    long ingest_log_start; /* size of the ingest log before this run */
    int64_t since_wall_ms; /* the stages started: what this run's ledger covers */
    int64_t ingest_produced;
};

/* ---- small HTTP GET for the view ---------------------------------------------- */

static size_t collect(char *p, size_t sz, size_t n, void *arg)
{
    spate_buf_append(arg, p, sz * n);
    return sz * n;
}

static json_t *get_json(const char *url)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    struct spate_buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 900L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long code = 0;
    json_t *j = NULL;
    if (curl_easy_perform(c) == CURLE_OK &&
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200 && b.data)
        j = json_loads(b.data, 0, NULL);
    curl_easy_cleanup(c);
    spate_buf_free(&b);
    return j;
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = o ? json_object_get(o, k) : NULL;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

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

static const char *const stage_names[NSTAGES] = {"api-sim", "ingest", "spark", "sink", "serve"};

/* One /proc scan per refresh: pid, parent and RSS of every process, sorted by
 * pid so a process tree is summed by walking each process's parents. */
struct proc_table {
    size_t n;
    struct proc_row {
        pid_t pid, ppid;
        int64_t rss_kb;
    } row[4096];
};

static int cmp_row(const void *a, const void *b)
{
    const struct proc_row *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static void proc_scan(struct proc_table *t)
{
    t->n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return;
    long page_kb = sysconf(_SC_PAGESIZE) / 1024;
    size_t max = sizeof t->row / sizeof t->row[0];
    struct dirent *e;
    while ((e = readdir(d)) && t->n < max) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = '\0';
        char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        int pp = 0;
        long long r = 0;
        /* after ")": state ppid ... rss is the 24th field overall */
        if (!p || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                                "%*d %*d %*d %*u %*u %lld", &pp, &r) != 2)
            continue;
        t->row[t->n++] = (struct proc_row){(pid_t)atoi(e->d_name), (pid_t)pp, r * page_kb};
    }
    closedir(d);
    qsort(t->row, t->n, sizeof t->row[0], cmp_row);
}

/* RSS of root and all its descendants in kB: the spark stage is spate, then
 * Python, then the JVM, and the JVM is what uses the memory. */
static int64_t tree_rss_kb(const struct proc_table *t, pid_t root)
{
    int64_t sum = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct proc_row *r = &t->row[i];
        for (int depth = 0; r && depth < 64; depth++) {
            if (r->pid == root) {
                sum += t->row[i].rss_kb;
                break;
            }
            struct proc_row key = {.pid = r->ppid};
            r = r->ppid > 0 ? bsearch(&key, t->row, t->n, sizeof t->row[0], cmp_row) : NULL;
        }
    }
    return sum;
}

/* "memory  ingest 41 MB  spark 912 MB ..." every 5 s, from one /proc scan. */
static const char *memory_line(struct run *r, int final)
{
    int64_t now = spate_mono_ms();
    if (r->mem_at && (final || now - r->mem_at < 5000)) /* final: the stages are gone */
        return r->mem_line;
    r->mem_at = now;
    static struct proc_table procs; /* 64 KB: not on the stack */
    proc_scan(&procs);
    size_t o = (size_t)snprintf(r->mem_line, sizeof r->mem_line, "  memory    ");
    for (int i = 0; i < NSTAGES && o < sizeof r->mem_line; i++)
        if (r->enabled[i] && r->st[i].pid)
            o += (size_t)snprintf(r->mem_line + o, sizeof r->mem_line - o, " %s %" PRId64 " MB",
                                  stage_names[i], tree_rss_kb(&procs, r->st[i].pid) / 1024);
    static const char *const svc[] = {"kafka", "cassandra"};
    for (int i = 0; i < 2 && o < sizeof r->mem_line; i++) {
        pid_t p = stack_pid(r->cfg, i == 0 ? STACK_KAFKA : STACK_CASSANDRA);
        if (p)
            o += (size_t)snprintf(r->mem_line + o, sizeof r->mem_line - o, " %s %" PRId64 " MB",
                                  svc[i], tree_rss_kb(&procs, p) / 1024);
    }
    return r->mem_line;
}

static void render(struct run *r, int final)
{
    json_t *p = NULL;
    char url[256];
    snprintf(url, sizeof url, "%s/api/pipeline", r->base_url);
    json_t *doc = get_json(url);
    if (doc) {
        p = json_object_get(doc, "latest");
        if (p) {
            json_incref(p);
            json_decref(r->last);
            r->last = p;
        }
        json_decref(doc);
    }
    p = r->last;
    int64_t el = (spate_mono_ms() - r->t0) / 1000;
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
    if (r->first_row_ms < 0 && num(p, "stored") > 0) {
        r->first_row_ms = spate_mono_ms() - r->started_ms;
        SPATE_INFO("run", "first row stored %.1f s after spate run started",
                   r->first_row_ms / 1000.0);
    }
    if (r->first_row_ms >= 0)
        printf("  first row  stored %.1f s after spate run started (stack, schema and Spark "
               "start-up included)\n", r->first_row_ms / 1000.0);
    printf("%s\n", memory_line(r, final));
    printf("  stages    ");
    for (int i = 0; i < NSTAGES; i++) {
        if (!r->enabled[i])
            continue;
        const struct stage_proc *s = &r->st[i];
        printf(" %s:%s", stage_names[i], s->pid ? "up" : s->finished ? "done" : "down");
        if (s->restarts)
            printf("(%d restarts)", s->restarts);
    }
    printf("\n");
    if (!final && r->enabled[ST_SERVE] && !r->cfg->pipeline) {
        snprintf(url, sizeof url, "%s/api/users?limit=5", r->base_url);
        json_t *u = get_json(url);
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
    printf("  dashboard  %s/   logs %s/\n", r->base_url, r->run_dir);
    fflush(stdout);
}

/* ---- stages ---------------------------------------------------------------------- */

static void add_args(struct run *r, int i, const char *const *args)
{
    int n = 0;
    r->argvs[i][n++] = r->exe;
    if (r->config_path) {
        r->argvs[i][n++] = "-c";
        r->argvs[i][n++] = (char *)r->config_path;
    }
    for (; *args && n < 15; args++)
        r->argvs[i][n++] = strdup(*args);
    r->argvs[i][n] = NULL;
    r->st[i].argv = r->argvs[i];
    snprintf(r->st[i].name, sizeof r->st[i].name, "%s", stage_names[i]);
    snprintf(r->st[i].log_path, sizeof r->st[i].log_path, "%s/%s.log", r->run_dir,
             stage_names[i]);
    r->enabled[i] = 1;
}

static int start_stage(struct run *r, int i)
{
    int rc = stage_start(&r->st[i]);
    if (rc)
        fprintf(stderr, "spate run: could not start %s: %s\n", stage_names[i], strerror(errno));
    else
        SPATE_INFO("run", "started %s (pid %d, log %s)", stage_names[i], (int)r->st[i].pid,
                   r->st[i].log_path);
    return rc;
}

/* Reap and restart with backoff; report deaths with their last log lines. */
static void supervise(struct run *r)
{
    int64_t now = spate_mono_ms();
    for (int i = 0; i < NSTAGES; i++) {
        struct stage_proc *s = &r->st[i];
        if (!r->enabled[i] || s->stopping)
            continue;
        if (stage_reap(s)) {
            int st = s->last_status;
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                s->finished = 1;
                SPATE_INFO("run", "%s finished", stage_names[i]);
                continue;
            }
            int64_t backoff = 1000LL << (s->restarts < 5 ? s->restarts : 5);
            if (backoff > 30000)
                backoff = 30000;
            fprintf(stderr, "\nspate run: %s died (%s %d); restarting in %.0f s\n",
                    stage_names[i], WIFEXITED(st) ? "exit" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), (double)backoff / 1000);
            stage_print_tail(s, 10);
            s->next_start_ms = now + backoff;
        }
        if (!s->pid && !s->finished && s->next_start_ms && now >= s->next_start_ms) {
            s->next_start_ms = 0;
            s->restarts++;
            start_stage(r, i);
        }
    }
}

static int run_child_wait(struct run *r, const char *const *args)
{
    char *argv[16];
    int n = 0;
    argv[n++] = r->exe;
    if (r->config_path) {
        argv[n++] = "-c";
        argv[n++] = (char *)r->config_path;
    }
    for (; *args && n < 15; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* "ingest: requests=.. fetched=N produced=M ..." lines this run's ingest
 * processes wrote (the log is appended to across runs): their sum, when every
 * process of this run wrote one. A process that died without its summary
 * leaves the count unknown (-1), never short. */
static void read_ingest_summary(struct run *r)
{
    FILE *f = fopen(r->st[ST_INGEST].log_path, "r");
    if (!f)
        return;
    if (fseek(f, r->ingest_log_start, SEEK_SET) != 0) {
        fclose(f);
        return;
    }
    char line[1024];
    int64_t fetched = 0, produced = 0;
    int summaries = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "ingest: requests=");
        if (!p)
            continue;
        summaries++;
        const char *q = strstr(p, " fetched=");
        if (q)
            fetched += strtoll(q + 9, NULL, 10);
        q = strstr(p, " produced=");
        if (q)
            produced += strtoll(q + 10, NULL, 10);
    }
    fclose(f);
    if (summaries == r->st[ST_INGEST].restarts + 1) {
        r->fetched = fetched;
        r->ingest_produced = produced;
    } else {
        printf("ingest's fetched count is unknown (%d of its %d processes wrote a summary): "
               "the ledger compares keys only\n", summaries, r->st[ST_INGEST].restarts + 1);
    }
}

/* Wait until cond(latest sample) holds, supervising meanwhile. The timeout
 * counts from the last progress (the sample's progress field grew), so a slow
 * but moving drain is never cut short. */
static int wait_until(struct run *r, int (*cond)(const json_t *), const char *progress,
                      int64_t timeout_ms, const char *what)
{
    int64_t deadline = spate_mono_ms() + timeout_ms;
    double last = NAN, last_t = NAN;
    int stable = 0;
    while (spate_mono_ms() < deadline && stop_requested < 2) {
        supervise(r);
        render(r, 0);
        double now = num(r->last, progress);
        if (!isnan(now) && (isnan(last) || now > last)) {
            deadline = spate_mono_ms() + timeout_ms;
            last = now;
        }
        /* Only a new sample counts: r->last stays as it was when serve does
         * not answer, and a stale sample seen three times is not three. */
        double t = num(r->last, "t");
        int fresh = !isnan(t) && (isnan(last_t) || t > last_t);
        if (fresh) {
            last_t = t;
            if (!cond(r->last))
                stable = 0;
            else if (++stable >= 3) /* three samples in a row: not a lucky moment */
                return 0;
        }
        spate_sleep_ms(1000);
    }
    fprintf(stderr, "spate run: %s not reached (no progress for %.0f s); stopping anyway\n",
            what, (double)timeout_ms / 1000);
    return -1;
}

/* Spark has written a clean row or a process-DLQ row for every raw record.
 * dlq_process is the process stage's own count (serve counts the DLQ records
 * by their spate.stage header, and keeps a stopped stage's last figure), so
 * ingest's rejections, whose stage has exited by now, cannot stand in for
 * Spark's rows. */
static int processed_all(const json_t *p)
{
    double raw = num(p, "raw"), clean = num(p, "clean"), dlq = num(p, "dlq_process");
    double rate = num(p, "r_process");
    if (isnan(raw) || isnan(clean))
        return 0;
    /* clean may hold replays after a restart, so >= */
    return clean + (isnan(dlq) ? 0 : dlq) >= raw && (isnan(rate) || rate == 0);
}

static int sink_caught_up(const json_t *p)
{
    double lag = num(p, "lag"), rate = num(p, "r_sink");
    return !isnan(lag) && lag <= 0 && (isnan(rate) || rate == 0);
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
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    /* a pipeline of `spate init` runs its own source; the users one api-sim */
    const char *src_name = source                           ? source
                           : cfg->pipeline && cfg->source_count ? cfg->sources[0].name
                                                                : "api-sim";
    const struct spate_source_config *src = spate_config_source(cfg, src_name);
    if (!src) {
        fprintf(stderr, "spate run: no source named '%s' in the config (sources[].name)\n",
                src_name);
        return CLI_USAGE;
    }

    if (!cfg->pipeline && cfg->pipeline_count > 0) {
        printf("spate run: the users pipeline; the config has %zu more (", cfg->pipeline_count);
        for (size_t i = 0; i < cfg->pipeline_count; i++)
            printf("%s%s", i ? ", " : "", cfg->pipelines[i].name);
        printf("): spate --pipeline NAME run starts one\n");
    }

    struct run r = {.cfg = cfg, .config_path = ctx->config_explicit ? ctx->config_path : NULL,
                    .view = view, .fetched = -1, .ingest_produced = -1,
                    .started_ms = spate_mono_ms(), .first_row_ms = -1};
    ssize_t n = readlink("/proc/self/exe", r.exe, sizeof r.exe - 1);
    if (n <= 0) {
        perror("spate run: /proc/self/exe");
        return CLI_FAIL;
    }
    r.exe[n] = '\0';
    char state[PATH_MAX - 64];
    if (stack_state_dir(cfg, state, sizeof state) != 0) {
        fprintf(stderr, "spate run: stack.data_dir %s: path too long or no working directory\n",
                cfg->stack.data_dir);
        return CLI_FAIL;
    }
    snprintf(r.run_dir, sizeof r.run_dir, "%s/run", state);
    mkdir(state, 0755);
    mkdir(r.run_dir, 0755);
    snprintf(r.base_url, sizeof r.base_url, "http://%s:%d",
             strcmp(cfg->metrics.listen, "0.0.0.0") ? cfg->metrics.listen : "127.0.0.1",
             cfg->metrics.serve_port);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* 1. stack, schema, topics */
    if (stack_up(cfg, 0) != 0)
        return CLI_FAIL;
    int rc = CLI_OK;
    const char *schema_args[] = {"schema", "apply", NULL};
    if (run_child_wait(&r, schema_args) != 0) {
        fprintf(stderr, "spate run: spate schema apply failed (see above)\n");
        rc = CLI_FAIL;
        goto out;
    }
    char err[512];
    if (pipeline_ensure_topics(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "spate run: %s\n", err);
        rc = CLI_FAIL;
        goto out;
    }

    /* 2. the stages: sources last, so every consumer is ready for the first record */
    /* Ten requests a second: a request's records enter the pipeline together
     * and leave it one after the other, so a page of half a second's records
     * made the last of them wait for the first; smaller and more often keeps
     * the flow smooth (the source's batch_size stays the upper bound). */
    int batch = src->batch_size;
    if (rate / 10 < batch)
        batch = (int)(rate / 10 < 1 ? 1 : rate / 10);
    char rate_s[32], batch_s[32], port_s[3][16];
    snprintf(rate_s, sizeof rate_s, "%.3f", rate / batch);
    snprintf(batch_s, sizeof batch_s, "%d", batch);
    snprintf(port_s[0], 16, "%d", cfg->metrics.apisim_port);
    snprintf(port_s[1], 16, "%d", cfg->metrics.ingest_port);
    snprintf(port_s[2], 16, "%d", cfg->metrics.serve_port);
    const char *a_serve[] = {"serve", "--port", port_s[2], NULL};
    const char *a_sink[] = {"sink", NULL};
    const char *a_spark[] = {"spark", "run", NULL};
    const char *a_apisim[] = {"api-sim", "--port", port_s[0], NULL};
    const char *a_ingest[] = {"ingest", "--source", src_name, "--rate", rate_s, "--batch",
                              batch_s, "--metrics-port", port_s[1], NULL};
    add_args(&r, ST_SERVE, a_serve);
    add_args(&r, ST_SINK, a_sink);
    add_args(&r, ST_SPARK, a_spark);
    if (!source && !cfg->pipeline)
        add_args(&r, ST_APISIM, a_apisim);
    add_args(&r, ST_INGEST, a_ingest);
    r.t0 = spate_mono_ms();
    r.since_wall_ms = spate_wall_ms();
    struct stat lst;
    if (stat(r.st[ST_INGEST].log_path, &lst) == 0)
        r.ingest_log_start = (long)lst.st_size;
    const int order[] = {ST_SERVE, ST_SINK, ST_SPARK, ST_APISIM, ST_INGEST};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (r.enabled[order[i]] && start_stage(&r, order[i]) != 0) {
            rc = CLI_FAIL;
            goto stop;
        }
    }
    printf("pipeline started: %.0f records/s from %s; dashboard %s/\n", rate, src_name,
           r.base_url);

    /* 3. live view until Ctrl-C or --for */
    while (!stop_requested) {
        if (for_ms > 0 && spate_mono_ms() - r.t0 >= for_ms)
            break;
        supervise(&r);
        render(&r, 0);
        for (int i = 0; i < 10 && !stop_requested; i++)
            spate_sleep_ms(100);
    }

stop:
    /* 4. stop in order: sources, then let processing and storing drain */
    printf("\nstopping: sources first, then draining Spark and the sink\n");
    stage_stop(&r.st[ST_INGEST], 60000);
    read_ingest_summary(&r);
    stage_stop(&r.st[ST_APISIM], 10000);
    if (r.enabled[ST_SPARK] && rc == CLI_OK)
        wait_until(&r, processed_all, "clean", drain_ms, "Spark caught up with users.raw");
    stage_stop(&r.st[ST_SPARK], 60000);
    if (rc == CLI_OK)
        wait_until(&r, sink_caught_up, "stored", drain_ms, "the sink caught up (lag 0)");
    stage_stop(&r.st[ST_SINK], 90000);
    render(&r, 1);
    stage_stop(&r.st[ST_SERVE], 10000);
    if (r.fetched >= 0)
        printf("ingest fetched %" PRId64 " records, produced %" PRId64 "\n", r.fetched,
               r.ingest_produced);

    /* 5. the ledger */
    if (rc == CLI_OK) {
        /* Only this run's records: the topics keep earlier runs' too. */
        char exp[32], since_s[32];
        snprintf(exp, sizeof exp, "%" PRId64, r.fetched);
        snprintf(since_s, sizeof since_s, "%" PRId64, r.since_wall_ms);
        const char *v_args[] = {"verify", "--since", since_s, "--expect-fetched", exp, NULL};
        const char *v_args_nofetch[] = {"verify", "--since", since_s, NULL};
        printf("\n");
        int v = run_child_wait(&r, r.fetched >= 0 ? v_args : v_args_nofetch);
        if (v != 0)
            rc = CLI_FAIL;
    }
out:
    if (!keep_stack)
        stack_down(cfg, 0);
    json_decref(r.last);
    for (int i = 0; i < NSTAGES; i++)
        for (int j = r.config_path ? 3 : 1; r.argvs[i][j]; j++)
            free(r.argvs[i][j]);
    curl_global_cleanup();
    return rc;
}
