/* SPDX-License-Identifier: Apache-2.0 */
/* run.c -- `spate run`: stack, schema, topics, supervised stages, drain and ledger. */
#include "spate/flow.h"

#include "spate/error.h"
#include "spate/log.h"
#include "spate/proc.h"
#include "spate/stack.h"
#include "spate/util.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG "run"

const char *const flow_stage_names[FLOW_NSTAGES] = {"api-sim", "ingest", "spark",
                                                             "sink", "serve"};

#define FLOW_MAX_ARGS 96
#define MAX_RUN_PIPELINES 32

/* A pipeline this run feeds, and what its source brought. */
struct run_pipeline {
    const char *name; /* NULL = users */
    const struct spate_source_config *src;
    int64_t fetched, produced, dlq; /* from ingest's summaries; -1 = unknown */
};

struct run {
    const struct spate_config *cfg;
    const struct flow_run_options *o;
    volatile sig_atomic_t *stop;
    flow_report_fn report;
    void *arg;
    struct flow_run_state s;
    char *argvs[FLOW_NSTAGES][FLOW_MAX_ARGS];
    char base_url[128];
    char ingest_summary[1100]; /* ingest's counts, a JSON line per process */
    struct run_pipeline pipes[MAX_RUN_PIPELINES];
    size_t npipes;
};

/* ---- serve's /api/pipeline: the samples the drain waits on ------------------------------- */

static size_t collect(char *p, size_t sz, size_t n, void *arg)
{
    spate_buf_append(arg, p, sz * n);
    return sz * n;
}

/* "Authorization: Bearer ..." when serve has a token (serve.token or
 * SPATE_SERVE_TOKEN, which the serve child inherits), else NULL. */
static struct curl_slist *auth_header;

static void auth_set(const struct spate_config *cfg)
{
    const char *token = cfg->serve.token && *cfg->serve.token ? cfg->serve.token
                                                               : getenv("SPATE_SERVE_TOKEN");
    curl_slist_free_all(auth_header);
    auth_header = NULL;
    if (!token || !*token)
        return;
    struct spate_buf h = {0};
    if (spate_buf_appendf(&h, "Authorization: Bearer %s", token) == 0)
        auth_header = curl_slist_append(NULL, h.data);
    explicit_bzero(h.data, h.len);
    spate_buf_free(&h);
}

json_t *flow_get_json(const char *url)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    struct spate_buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (auth_header)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, auth_header);
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

double flow_sample_num(const json_t *o, const char *k)
{
    const json_t *v = o ? json_object_get(o, k) : NULL;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Takes a new sample when serve answers (else keeps the last), then reports. */
static void tick(struct run *r, int final)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/pipeline", r->base_url);
    json_t *doc = flow_get_json(url);
    json_t *p = doc ? json_object_get(doc, "latest") : NULL;
    if (p) {
        json_incref(p);
        json_decref(r->s.latest);
        r->s.latest = p;
    }
    json_t *all = doc ? json_object_get(doc, "pipelines") : NULL;
    if (json_is_object(all)) {
        json_incref(all);
        json_decref(r->s.pipelines);
        r->s.pipelines = all;
    }
    json_decref(doc);
    if (r->report)
        r->report(r->arg, &r->s, final);
}

/* ---- stages ------------------------------------------------------------------------ */

static void add_args(struct run *r, int i, const char *const *args)
{
    int n = 0;
    r->argvs[i][n++] = (char *)r->o->exe;
    if (r->o->config_path) {
        r->argvs[i][n++] = "-c";
        r->argvs[i][n++] = (char *)r->o->config_path;
    }
    for (; *args && n < FLOW_MAX_ARGS - 1; args++)
        r->argvs[i][n++] = strdup(*args);
    r->argvs[i][n] = NULL;
    r->s.st[i].argv = r->argvs[i];
    snprintf(r->s.st[i].name, sizeof r->s.st[i].name, "%s", flow_stage_names[i]);
    snprintf(r->s.st[i].log_path, sizeof r->s.st[i].log_path, "%s/%s.log", r->o->run_dir,
             flow_stage_names[i]);
    r->s.enabled[i] = 1;
}

static int start_stage(struct run *r, int i)
{
    int rc = flow_stage_start(&r->s.st[i]);
    if (rc)
        SPATE_ERROR(LOG, "could not start %s: %s", flow_stage_names[i], spate_strerror(rc));
    else
        SPATE_INFO(LOG, "started %s (pid %d, log %s)", flow_stage_names[i],
                   (int)r->s.st[i].pid, r->s.st[i].log_path);
    return rc;
}

/* Reap and restart with backoff; report deaths with their last log lines. */
static void supervise(struct run *r)
{
    int64_t now = spate_mono_ms();
    for (int i = 0; i < FLOW_NSTAGES; i++) {
        struct flow_stage *s = &r->s.st[i];
        if (!r->s.enabled[i] || s->stopping)
            continue;
        if (flow_stage_reap(s)) {
            int st = s->last_status;
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                s->finished = 1;
                SPATE_INFO(LOG, "%s finished", flow_stage_names[i]);
                continue;
            }
            int64_t backoff = flow_stage_backoff_ms(s, now);
            fprintf(stderr, "\nspate run: %s died (%s %d); restarting in %.0f s\n",
                    flow_stage_names[i], WIFEXITED(st) ? "exit" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), (double)backoff / 1000);
            flow_stage_print_tail(s, 10);
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
    struct spate_argv a = {0};
    spate_argv_add(&a, r->o->exe);
    if (r->o->config_path) {
        spate_argv_add(&a, "-c");
        spate_argv_add(&a, r->o->config_path);
    }
    for (; *args; args++)
        spate_argv_add(&a, *args);
    struct spate_proc_options po = {.argv = a.argv};
    pid_t pid;
    int st, rc = a.oom ? SPATE_ENOMEM : spate_proc_spawn(&po, &pid);
    spate_argv_free(&a);
    if (rc || spate_proc_wait(pid, &st, 0) != 1)
        return -1;
    return spate_proc_exit_code(st);
}

/* The summaries this run's ingest processes wrote (spate ingest --summary, one
 * JSON line each): their sum, when every process of this run wrote one. A
 * process that died without its summary leaves the count unknown (-1), never
 * short. */
static void read_ingest_summary(struct run *r)
{
    FILE *f = fopen(r->ingest_summary, "r");
    static char line[65536]; /* a line names every source */
    int64_t fetched = 0, produced = 0;
    int summaries = 0;
    for (size_t i = 0; i < r->npipes; i++)
        r->pipes[i].fetched = r->pipes[i].produced = r->pipes[i].dlq = 0;
    while (f && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        const json_t *fe = json_object_get(j, "fetched"), *pr = json_object_get(j, "produced");
        if (json_is_integer(fe) && json_is_integer(pr)) {
            summaries++;
            fetched += json_integer_value(fe);
            produced += json_integer_value(pr);
        }
        const json_t *srcs = json_object_get(j, "sources");
        for (size_t i = 0; i < r->npipes; i++) {
            const json_t *one = json_object_get(srcs, r->pipes[i].src->name);
            r->pipes[i].fetched += json_integer_value(json_object_get(one, "fetched"));
            r->pipes[i].produced += json_integer_value(json_object_get(one, "produced"));
            r->pipes[i].dlq += json_integer_value(json_object_get(one, "dlq"));
        }
        json_decref(j);
    }
    if (f)
        fclose(f);
    if (summaries == r->s.st[FLOW_INGEST].restarts + 1) {
        r->s.fetched = fetched;
        r->s.produced = produced;
    } else {
        for (size_t i = 0; i < r->npipes; i++)
            r->pipes[i].fetched = r->pipes[i].produced = r->pipes[i].dlq = -1;
        printf("ingest's fetched count is unknown (%d of its %d processes wrote a summary): "
               "the ledger compares keys only\n", summaries,
               r->s.st[FLOW_INGEST].restarts + 1);
    }
}

/* cond over the latest sample of every pipeline serve reports when this run
 * feeds several, else over the one sample. */
static int every_pipeline(const struct run *r, int (*cond)(const json_t *))
{
    if (r->npipes > 1 && json_is_object(r->s.pipelines)) {
        const char *k;
        json_t *v;
        json_object_foreach(r->s.pipelines, k, v) {
            if (!cond(json_object_get(v, "latest")))
                return 0;
        }
        return 1;
    }
    return cond(r->s.latest);
}

/* The sum of key over the pipelines (as every_pipeline), NAN when unknown. */
static double progress_of(const struct run *r, const char *key)
{
    if (r->npipes > 1 && json_is_object(r->s.pipelines)) {
        double sum = NAN;
        const char *k;
        json_t *v;
        json_object_foreach(r->s.pipelines, k, v) {
            double x = flow_sample_num(json_object_get(v, "latest"), key);
            if (!isnan(x))
                sum = isnan(sum) ? x : sum + x;
        }
        return sum;
    }
    return flow_sample_num(r->s.latest, key);
}

/* Wait until cond(latest sample) holds, supervising meanwhile. The timeout
 * counts from the last progress (the sample's progress field grew), so a slow
 * but moving drain is never cut short. */
static int wait_until(struct run *r, int (*cond)(const json_t *), const char *progress,
                      const char *what)
{
    int64_t timeout_ms = r->o->drain_ms;
    int64_t deadline = spate_mono_ms() + timeout_ms;
    double last = NAN, last_t = NAN;
    int stable = 0;
    while (spate_mono_ms() < deadline && *r->stop < 2) {
        supervise(r);
        tick(r, 0);
        double now = progress_of(r, progress);
        if (!isnan(now) && (isnan(last) || now > last)) {
            deadline = spate_mono_ms() + timeout_ms;
            last = now;
        }
        /* Only a new sample counts: the sample stays as it was when serve does
         * not answer, and a stale sample seen three times is not three. */
        double t = flow_sample_num(r->s.latest, "t");
        int fresh = !isnan(t) && (isnan(last_t) || t > last_t);
        if (fresh) {
            last_t = t;
            if (!every_pipeline(r, cond))
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
    double raw = flow_sample_num(p, "raw"), clean = flow_sample_num(p, "clean");
    double dlq = flow_sample_num(p, "dlq_process"), rate = flow_sample_num(p, "r_process");
    if (isnan(raw) || isnan(clean))
        return 0;
    /* clean may hold replays after a restart, so >= */
    return clean + (isnan(dlq) ? 0 : dlq) >= raw && (isnan(rate) || rate == 0);
}

static int sink_caught_up(const json_t *p)
{
    double lag = flow_sample_num(p, "lag"), rate = flow_sample_num(p, "r_sink");
    return !isnan(lag) && lag <= 0 && (isnan(rate) || rate == 0);
}

/* ---- the run ------------------------------------------------------------------------- */

int flow_run(const struct spate_config *cfg, const struct flow_run_options *o,
                 volatile sig_atomic_t *stop, flow_report_fn report, void *arg)
{
    /* a pipeline of `spate init` runs its own source; the users one api-sim */
    const char *src_name = o->source                           ? o->source
                           : cfg->pipeline && cfg->source_count ? cfg->sources[0].name
                                                                : "api-sim";
    const struct spate_source_config *src = spate_config_source(cfg, src_name);
    if (!src) {
        fprintf(stderr, "spate run: no source named '%s' in the config (sources[].name)\n",
                src_name);
        return SPATE_ECONFIG;
    }
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return SPATE_ENOMEM;
    r->pipes[r->npipes++] = (struct run_pipeline){.name = cfg->pipeline, .src = src, .fetched = -1,
                                                  .produced = -1, .dlq = -1};
    /* every other pipeline: its first source, into its own topics */
    for (size_t i = 0; cfg->all_pipelines && i < cfg->pipeline_count; i++) {
        const struct spate_source_config *ps = NULL;
        for (size_t j = 0; j < cfg->source_count && !ps; j++)
            if (cfg->sources[j].pipeline && !strcmp(cfg->sources[j].pipeline, cfg->pipelines[i].name))
                ps = &cfg->sources[j];
        if (!ps)
            printf("spate run: pipeline %s has no source (sources[].pipeline: %s): its "
                   "queries run, nothing is fetched for it\n", cfg->pipelines[i].name,
                   cfg->pipelines[i].name);
        else if (r->npipes < MAX_RUN_PIPELINES)
            r->pipes[r->npipes++] = (struct run_pipeline){
                .name = cfg->pipelines[i].name, .src = ps, .fetched = -1, .produced = -1,
                .dlq = -1};
    }
    r->cfg = cfg;
    r->o = o;
    r->stop = stop;
    r->report = report;
    r->arg = arg;
    r->s.fetched = r->s.produced = -1;
    r->s.started_ms = spate_mono_ms();
    snprintf(r->base_url, sizeof r->base_url, "http://%s:%d",
             strcmp(cfg->serve.listen, "0.0.0.0") ? cfg->serve.listen : "127.0.0.1",
             cfg->serve.port);
    auth_set(cfg);
    r->s.base_url = r->base_url;
    snprintf(r->ingest_summary, sizeof r->ingest_summary, "%s/ingest-summary.jsonl",
             o->run_dir);

    /* 1. stack, schema, topics */
    if (stack_up(cfg, 0) != 0) {
        free(r);
        return SPATE_EUNAVAILABLE;
    }
    int rc = 0;
    const char *schema_args[] = {"schema", "apply", NULL};
    char err[512];
    if (run_child_wait(r, schema_args) != 0) {
        fprintf(stderr, "spate run: spate schema apply failed (see above)\n");
        rc = SPATE_ESERVER;
        goto out;
    }
    if (flow_ensure_topics(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "spate run: %s\n", err);
        rc = SPATE_EKAFKA;
        goto out;
    }

    /* 2. the stages: sources last, so every consumer is ready for the first record */
    /* records/s per source: ingest sizes each source's requests for it */
    char rate_s[32], port_s[3][16];
    snprintf(rate_s, sizeof rate_s, "%.3f", o->rate);
    snprintf(port_s[0], 16, "%d", cfg->metrics.apisim_port);
    snprintf(port_s[1], 16, "%d", cfg->metrics.ingest_port);
    snprintf(port_s[2], 16, "%d", cfg->serve.port);
    const char *a_serve[] = {"serve", "--port", port_s[2], NULL};
    const char *a_sink[] = {"sink", NULL};
    const char *a_spark[] = {"spark", "run", NULL};
    const char *a_apisim[] = {"api-sim", "--port", port_s[0], NULL};
    const char *a_ingest[FLOW_MAX_ARGS] = {"ingest", "--record-rate", rate_s, "--metrics-port",
                                           port_s[1], "--summary", r->ingest_summary};
    for (size_t i = 0, n = 7; i < r->npipes && n + 3 < FLOW_MAX_ARGS; i++) {
        a_ingest[n++] = "--source";
        a_ingest[n++] = r->pipes[i].src->name;
    }
    add_args(r, FLOW_SERVE, a_serve);
    add_args(r, FLOW_SINK, a_sink);
    add_args(r, FLOW_SPARK, a_spark);
    if (!o->source && !cfg->pipeline)
        add_args(r, FLOW_APISIM, a_apisim);
    add_args(r, FLOW_INGEST, a_ingest);
    r->s.t0_ms = spate_mono_ms();
    r->s.since_wall_ms = spate_wall_ms();
    unlink(r->ingest_summary); /* only this run's processes count */
    const int order[] = {FLOW_SERVE, FLOW_SINK, FLOW_SPARK, FLOW_APISIM,
                         FLOW_INGEST};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (r->s.enabled[order[i]] && start_stage(r, order[i]) != 0) {
            rc = SPATE_ESYS;
            goto stop;
        }
    }
    for (size_t i = 0; i < r->npipes; i++)
        printf("pipeline %s started: %.0f records/s from %s; dashboard %s/\n",
               r->pipes[i].name ? r->pipes[i].name : "users", o->rate, r->pipes[i].src->name,
               r->base_url);

    /* 3. running until *stop or for_ms, reporting once a second */
    while (!*stop) {
        if (o->for_ms > 0 && spate_mono_ms() - r->s.t0_ms >= o->for_ms)
            break;
        supervise(r);
        tick(r, 0);
        for (int i = 0; i < 10 && !*stop; i++)
            spate_sleep_ms(100);
    }

stop:
    /* 4. stop in order: sources, then let processing and storing drain */
    printf("\nstopping: sources first, then draining Spark and the sink\n");
    flow_stage_stop(&r->s.st[FLOW_INGEST], 60000);
    read_ingest_summary(r);
    flow_stage_stop(&r->s.st[FLOW_APISIM], 10000);
    if (r->s.enabled[FLOW_SPARK] && rc == 0)
        wait_until(r, processed_all, "clean", "Spark caught up with users.raw");
    flow_stage_stop(&r->s.st[FLOW_SPARK], 60000);
    if (rc == 0)
        wait_until(r, sink_caught_up, "stored", "the sink caught up (lag 0)");
    flow_stage_stop(&r->s.st[FLOW_SINK], 90000);
    tick(r, 1);
    flow_stage_stop(&r->s.st[FLOW_SERVE], 10000);
    if (r->s.fetched >= 0)
        printf("ingest fetched %" PRId64 " records, produced %" PRId64 "\n", r->s.fetched,
               r->s.produced);
    /* A source that brought nothing is not a success, even if nothing was lost:
     * the API was down, the URL wrong or the records path empty. */
    int empty = 0;
    for (size_t i = 0; rc == 0 && i < r->npipes; i++) {
        const struct run_pipeline *p = &r->pipes[i];
        if (p->produced != 0)
            continue;
        fprintf(stderr, "spate run: pipeline %s: ingest produced no record from source %s "
                "(%s): %" PRId64 " fetched, %" PRId64 " to the DLQ; see %s/ingest.log\n",
                p->name ? p->name : "users", p->src->name, p->src->url, p->fetched, p->dlq,
                o->run_dir);
        empty = 1;
    }

    /* 5. the ledger */
    if (rc == 0) {
        /* Only this run's records: the topics keep earlier runs' too. */
        char exp[32], since_s[32];
        snprintf(since_s, sizeof since_s, "%" PRId64, r->s.since_wall_ms);
        /* one ledger per pipeline, each against what its own source fetched */
        for (size_t i = 0; i < r->npipes; i++) {
            int64_t fetched = r->npipes > 1 ? r->pipes[i].fetched : r->s.fetched;
            snprintf(exp, sizeof exp, "%" PRId64, fetched);
            const char *name = r->pipes[i].name ? r->pipes[i].name : "users";
            const char *v_args[] = {"--pipeline", name, "verify", "--since", since_s,
                                    "--expect-fetched", exp, NULL};
            if (fetched < 0)
                v_args[5] = NULL;
            printf("\n");
            if (r->npipes > 1)
                printf("pipeline %s:\n", name);
            fflush(stdout);
            if (run_child_wait(r, v_args) != 0)
                rc = SPATE_ESTATE;
        }
        if (empty && rc == 0)
            rc = SPATE_ENOTFOUND;
    }
out:
    if (!o->keep_stack)
        stack_down(cfg, 0);
    curl_slist_free_all(auth_header);
    auth_header = NULL;
    json_decref(r->s.latest);
    json_decref(r->s.pipelines);
    for (int i = 0; i < FLOW_NSTAGES; i++)
        for (int j = o->config_path ? 3 : 1; r->argvs[i][j]; j++)
            free(r->argvs[i][j]);
    free(r);
    return rc;
}
