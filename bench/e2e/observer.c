/* SPDX-License-Identifier: Apache-2.0 */
/* observer.c -- e2e latency: keys sampled from the raw topic, polled in Cassandra till readable. */
/*
 * One thread consumes the raw topic (its own group, from the end) and keeps
 * every Nth record's key with its spate.fetched_at header; the main thread
 * asks Cassandra, in ONE query per round for all pending keys, which of them
 * are readable, and takes latency = the wall clock when the answer arrived -
 * fetched_at. A third thread, when asked, prints the topics' end offsets and
 * a consumer group's committed offsets, from which bench/e2e/run judges
 * whether a rate was sustained. See bench/e2e/README.md for the method.
 *
 * The main thread, not the consumer, timestamps readability: a key sampled
 * late (the consumer starved of CPU) is still timed from fetched_at, so the
 * error is an overestimate bounded by the poll interval plus one query.
 */
#include "spate/config.h"
#include "spate/cql.h"
#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- options ------------------------------------------------------------------- */

struct opts {
    const char *config;
    const char *topic;
    const char *keyspace;
    const char *table;
    const char *column;
    const char *group;
    int every;
    int poll_ms;
    int max_in;
    int max_reads; /* key reads per second, all rounds together */
    int fetch_wait_ms;
    int64_t timeout_ms;
    int64_t warmup_ms;
    int64_t duration_ms;
    int64_t report_ms;
    int64_t lag_every_ms;
    const char *samples_path;
    const char *lag_topics; /* comma-separated */
    const char *lag_group;  /* GROUP:TOPIC */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: e2e_observer [options]\n"
            "\n"
            "Samples every Nth record of the raw topic (key, header spate.fetched_at) and polls\n"
            "Cassandra until each sampled key's row is readable; latency = readable - fetched_at.\n"
            "Prints a line every --report and at the end: samples, p50, p90, p99, p99.9,\n"
            "max (ms), timeouts (keys never readable within --timeout, not latencies).\n"
            "\n"
            "  -c FILE             spate config for Kafka and Cassandra (default spate.yaml)\n"
            "  --topic T           raw topic (default kafka.topic_raw)\n"
            "  --keyspace KS       (default cassandra.keyspace)\n"
            "  --table T           (default users)  --column C  key column (default user_id)\n"
            "  --every N           sample every Nth record (default 20)\n"
            "  --poll-ms N         one query for all pending keys every N ms (default 5)\n"
            "  --max-in N          at most N keys per query, rotating (default 64)\n"
            "  --max-reads N       at most N key reads per second in all (default 2000):\n"
            "                      rounds slow down rather than load Cassandra when keys pile up\n"
            "  --timeout D         a key not readable after D is a timeout (default 60s)\n"
            "  --warmup D          measure from D after the first readable row (default 0)\n"
            "  --duration D        measured window, then drain and exit (default: until SIGINT)\n"
            "  --report D          progress line every D (default 10s)\n"
            "  --samples FILE      write 'fetched_at_ms latency_ms key' per measured sample\n"
            "  --group ID          the observer's consumer group (default spate-e2e-observer-PID;\n"
            "                      it never commits, so it starts from the end every time)\n"
            "  --fetch-wait-ms N   consumer fetch.wait.max.ms (default 10)\n"
            "  --lag-topics T,T    print the topics' end offsets every --lag-every (default 5s)\n"
            "  --lag-group G:T     and the committed offsets of group G on topic T\n");
}

/* ---- samples ------------------------------------------------------------------- */

struct sample {
    uint8_t id[16];
    char key[40];
    int64_t fetched_ms;
    int64_t taken_us; /* when the consumer saw it: timeouts count from here */
};

/* Handed from the consumer thread to the main thread. */
struct inbox {
    pthread_mutex_t mu;
    pthread_cond_t arrived; /* wakes an idle poller: no 5 ms spinning between samples */
    struct sample *items;
    size_t n, cap;
    int64_t consumed;  /* records read from the raw topic */
    int64_t invalid;   /* sampled keys that are no UUID: never stored */
    int64_t no_header; /* sampled records without spate.fetched_at */
    int ready;         /* partitions assigned */
};

struct stats {
    double *v;
    size_t n, cap;
};

static void stats_add(struct stats *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        double *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentiles of v[from..n) into out[] for qs[]; max last. */
static void percentiles(const struct stats *s, size_t from, const double *qs, size_t nq,
                        double *out)
{
    size_t n = s->n - from;
    for (size_t i = 0; i <= nq; i++)
        out[i] = NAN;
    if (n == 0)
        return;
    double *c = malloc(n * sizeof *c);
    if (!c)
        return;
    memcpy(c, s->v + from, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    for (size_t i = 0; i < nq; i++) {
        size_t rank = (size_t)ceil(qs[i] * (double)n);
        out[i] = c[rank ? rank - 1 : 0];
    }
    out[nq] = c[n - 1];
    free(c);
}

/* ---- consumer thread ---------------------------------------------------------------- */

struct consumer {
    const struct opts *o;
    const struct spate_config *cfg;
    const char *topic;
    struct inbox *box;
    volatile sig_atomic_t quit;
    char err[512];
};

/* The key as Kafka carries it (login.uuid as served) into the stored form. */
static int normalise_key(const void *key, size_t len, struct sample *s)
{
    const char *k = key;
    while (len && isspace((unsigned char)k[0])) {
        k++;
        len--;
    }
    while (len && isspace((unsigned char)k[len - 1]))
        len--;
    if (len == 0 || len >= sizeof s->key)
        return -1;
    for (size_t i = 0; i < len; i++)
        s->key[i] = (char)tolower((unsigned char)k[i]);
    s->key[len] = '\0';
    return spate_parse_uuid(s->key, len, s->id) == 0 ? 0 : -1;
}

static int topic_exists(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 1, NULL, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    int found = 0;
    for (int i = 0; i < md->topic_cnt && !found; i++)
        found = strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].partition_cnt > 0;
    rd_kafka_metadata_destroy(md);
    return found;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* From the end: records already in the topic are history, not latency. */
        for (int i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = RD_KAFKA_OFFSET_END;
        rd_kafka_assign(rk, parts);
        pthread_mutex_lock(&c->box->mu);
        c->box->ready = 1;
        pthread_mutex_unlock(&c->box->mu);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static int64_t header_ms(rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hs = NULL;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hs, "spate.fetched_at", &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        len == 0 || len > 20)
        return -1;
    char buf[24];
    memcpy(buf, v, len);
    buf[len] = '\0';
    char *end;
    long long ms = strtoll(buf, &end, 10);
    return *end || ms <= 0 ? -1 : (int64_t)ms;
}

static void *consume_main(void *arg)
{
    struct consumer *c = arg;
    const struct opts *o = c->o;
    rd_kafka_conf_t *conf = spate_kafka_client_conf(c->cfg->kafka.bootstrap_servers,
                                                    &c->cfg->kafka.properties, c->err,
                                                    sizeof c->err);
    if (!conf)
        return NULL;
    char errstr[512], wait_s[16];
    snprintf(wait_s, sizeof wait_s, "%d", o->fetch_wait_ms);
    const char *kv[][2] = {{"group.id", o->group},
                           {"enable.auto.commit", "false"},
                           {"auto.offset.reset", "latest"},
                           {"fetch.wait.max.ms", wait_s},
                           {"enable.partition.eof", "false"},
                           {"client.id", "spate-e2e-observer"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            snprintf(c->err, sizeof c->err, "%s: %s", kv[i][0], errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        snprintf(c->err, sizeof c->err, "kafka consumer: %s", errstr);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    /* The pipeline creates the topic at start; a consumer subscribed before
     * that would wait librdkafka's metadata refresh (minutes). */
    int announced = 0;
    while (!c->quit && !topic_exists(rk, c->topic)) {
        if (!announced++)
            fprintf(stderr, "observer: waiting for topic %s\n", c->topic);
        spate_sleep_ms(1000);
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, c->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(c->err, sizeof c->err, "subscribe %s: %s", c->topic, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return NULL;
    }
    int64_t n = 0;
    while (!c->quit) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "observer: consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int take = ++n % o->every == 0;
        struct sample s = {0};
        int bad = 0;
        if (take) {
            s.taken_us = wall_us();
            s.fetched_ms = header_ms(m);
            bad = !m->key || normalise_key(m->key, m->key_len, &s) != 0;
        }
        rd_kafka_message_destroy(m);
        pthread_mutex_lock(&c->box->mu);
        c->box->consumed = n;
        if (take && s.fetched_ms < 0) {
            c->box->no_header++;
        } else if (take && bad) {
            c->box->invalid++;
        } else if (take) {
            if (c->box->n == c->box->cap) {
                size_t cap = c->box->cap ? c->box->cap * 2 : 256;
                struct sample *ni = realloc(c->box->items, cap * sizeof *ni);
                if (ni) {
                    c->box->items = ni;
                    c->box->cap = cap;
                }
            }
            if (c->box->n < c->box->cap)
                c->box->items[c->box->n++] = s;
            pthread_cond_signal(&c->box->arrived);
        }
        pthread_mutex_unlock(&c->box->mu);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

/* ---- lag thread: end offsets and a group's committed offsets ---------------------- */

struct lagger {
    const struct opts *o;
    const struct spate_config *cfg;
    volatile sig_atomic_t quit;
};

static int partition_count(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;
    if (t && rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    if (t)
        rd_kafka_topic_destroy(t);
    return n;
}

/* Sum of the end offsets of topic, or -1 when it does not exist (yet). */
static int64_t end_offsets(rd_kafka_t *rk, const char *topic)
{
    int np = partition_count(rk, topic);
    if (np <= 0)
        return -1;
    int64_t sum = 0;
    for (int p = 0; p < np; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000))
            return -1;
        sum += hi;
    }
    return sum;
}

static int64_t committed_offsets(rd_kafka_t *rk, const char *topic)
{
    int np = partition_count(rk, topic);
    if (np <= 0)
        return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    int64_t sum = -1;
    if (rd_kafka_committed(rk, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        sum = 0;
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].offset >= 0)
                sum += l->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return sum;
}

static void *lag_main(void *arg)
{
    struct lagger *lg = arg;
    const struct opts *o = lg->o;
    char err[512], errstr[512], group[256] = "spate-e2e-observer-lag", gtopic[256] = "";
    if (o->lag_group) {
        const char *colon = strrchr(o->lag_group, ':');
        if (colon && colon > o->lag_group && colon[1]) {
            snprintf(group, sizeof group, "%.*s", (int)(colon - o->lag_group), o->lag_group);
            snprintf(gtopic, sizeof gtopic, "%s", colon + 1);
        }
    }
    rd_kafka_conf_t *conf = spate_kafka_client_conf(lg->cfg->kafka.bootstrap_servers,
                                                    &lg->cfg->kafka.properties, err, sizeof err);
    if (!conf)
        return NULL;
    /* This handle never subscribes: it only reads the group's commits, so the
     * group it names is not disturbed. */
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "observer: lag client: %s\n", errstr);
        return NULL;
    }
    char *topics = strdup(o->lag_topics ? o->lag_topics : "");
    while (!lg->quit && topics) {
        char line[2048];
        size_t off = (size_t)snprintf(line, sizeof line, "offsets %" PRId64, spate_wall_ms());
        char *save = NULL, *copy = strdup(topics);
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && off < sizeof line;
             t = strtok_r(NULL, ",", &save))
            off += (size_t)snprintf(line + off, sizeof line - off, " %s=%" PRId64, t,
                                    end_offsets(rk, t));
        free(copy);
        if (gtopic[0] && off < sizeof line)
            snprintf(line + off, sizeof line - off, " %s@%s=%" PRId64, group, gtopic,
                     committed_offsets(rk, gtopic));
        printf("%s\n", line);
        fflush(stdout);
        for (int64_t t0 = spate_mono_ms(); !lg->quit && spate_mono_ms() - t0 < o->lag_every_ms;)
            spate_sleep_ms(100);
    }
    free(topics);
    rd_kafka_destroy(rk);
    return NULL;
}

/* ---- the poller (main thread) -------------------------------------------------------- */

enum phase { PH_FIRST, PH_WARMUP, PH_WINDOW, PH_DRAIN };

struct poller {
    const struct opts *o;
    struct cql_session *s;
    const struct cql_prepared *q;
    struct sample *pend;
    size_t npend, cap;
    size_t cursor;     /* rotation when more keys are pending than max_in */
    int in_flight;
    int64_t sent_us;
    enum phase phase;
    int64_t first_ready_ms, window_start_ms, window_end_ms;
    struct stats warm, win;
    int64_t warm_timeouts, win_timeouts, late_samples, queries, query_errors;
    FILE *samples;
};

static int in_window(const struct poller *p, int64_t fetched_ms)
{
    return p->window_start_ms && fetched_ms >= p->window_start_ms &&
           (!p->window_end_ms || fetched_ms < p->window_end_ms);
}

static void resolved(struct poller *p, size_t i, int64_t now_us)
{
    struct sample *s = &p->pend[i];
    double ms = (double)(now_us - s->fetched_ms * 1000) / 1000.0;
    if (p->phase == PH_FIRST) {
        p->phase = PH_WARMUP;
        p->first_ready_ms = now_us / 1000;
        p->window_start_ms = p->first_ready_ms + p->o->warmup_ms;
        if (p->o->duration_ms)
            p->window_end_ms = p->window_start_ms + p->o->duration_ms;
        printf("# first row readable %" PRId64 " (%.1f ms after its fetch)\n", p->first_ready_ms,
               ms);
        fflush(stdout);
    }
    if (in_window(p, s->fetched_ms)) {
        stats_add(&p->win, ms);
        if (p->samples)
            fprintf(p->samples, "%" PRId64 " %.3f %s\n", s->fetched_ms, ms, s->key);
    } else if (s->fetched_ms < p->window_start_ms || !p->window_start_ms) {
        stats_add(&p->warm, ms);
    }
    p->pend[i] = p->pend[--p->npend];
}

struct query_ctx {
    struct poller *p;
    uint8_t (*ids)[16];
    size_t n;
};

static void on_rows(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    struct query_ctx *qc = arg;
    struct poller *p = qc->p;
    int64_t now = wall_us();
    p->in_flight = 0;
    if (status) {
        if (p->query_errors++ < 5)
            fprintf(stderr, "observer: query: %s\n", err ? err->message : spate_strerror(status));
    } else {
        size_t rows = cql_result_row_count(res);
        for (size_t r = 0; r < rows; r++) {
            uint8_t id[16];
            if (cql_result_get_uuid(res, r, 0, id) != 0)
                continue;
            for (size_t i = 0; i < p->npend; i++) {
                if (memcmp(p->pend[i].id, id, 16) == 0) {
                    resolved(p, i, now);
                    break;
                }
            }
        }
    }
    free(qc->ids);
    free(qc);
}

/* Returns the number of keys asked for (0 when nothing was sent). */
static size_t send_query(struct poller *p)
{
    size_t n = p->npend < (size_t)p->o->max_in ? p->npend : (size_t)p->o->max_in;
    struct query_ctx *qc = calloc(1, sizeof *qc);
    struct cql_value *vals = calloc(n, sizeof *vals);
    uint8_t(*ids)[16] = calloc(n, 16);
    if (!qc || !vals || !ids) {
        free(qc);
        free(vals);
        free(ids);
        return 0;
    }
    if (p->cursor >= p->npend)
        p->cursor = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(ids[k], p->pend[(p->cursor + k) % p->npend].id, 16);
        vals[k] = cql_uuid(ids[k]);
    }
    p->cursor += n;
    qc->p = p;
    qc->ids = ids;
    qc->n = n;
    struct cql_value list = cql_list(vals, n);
    struct cql_query_opts qo = {.consistency = CQL_CL_ONE, .page_size = -1, .idempotent = 1,
                                .timeout_ms = 5000};
    p->sent_us = wall_us();
    int rc = cql_execute_async(p->s, p->q, &list, 1, &qo, on_rows, qc);
    free(vals);
    if (rc) {
        if (p->query_errors++ < 5)
            fprintf(stderr, "observer: query: %s\n", cql_session_errstr(p->s));
        free(ids);
        free(qc);
        return 0;
    }
    p->queries++;
    p->in_flight = 1;
    return n;
}

static void take_inbox(struct poller *p, struct inbox *box)
{
    pthread_mutex_lock(&box->mu);
    for (size_t i = 0; i < box->n; i++) {
        const struct sample *s = &box->items[i];
        /* A record fetched after the window closed is not measured. */
        if (p->window_end_ms && s->fetched_ms >= p->window_end_ms) {
            p->late_samples++;
            continue;
        }
        if (p->npend == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 1024;
            struct sample *np = realloc(p->pend, cap * sizeof *np);
            if (!np)
                break;
            p->pend = np;
            p->cap = cap;
        }
        p->pend[p->npend++] = *s;
    }
    box->n = 0;
    pthread_mutex_unlock(&box->mu);
}

/* Nothing pending: sleep until the consumer hands over a sample, at most ms. */
static void inbox_wait(struct inbox *box, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&box->mu);
    if (box->n == 0)
        pthread_cond_timedwait(&box->arrived, &box->mu, &ts);
    pthread_mutex_unlock(&box->mu);
}

static void expire(struct poller *p, int64_t now_us)
{
    for (size_t i = 0; i < p->npend;) {
        const struct sample *s = &p->pend[i];
        if (now_us - s->taken_us < p->o->timeout_ms * 1000) {
            i++;
            continue;
        }
        if (in_window(p, s->fetched_ms))
            p->win_timeouts++;
        else
            p->warm_timeouts++;
        p->pend[i] = p->pend[--p->npend];
    }
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(struct poller *p, struct inbox *box, const char *tag, size_t *interval_from)
{
    static const double qs[] = {0.50, 0.90, 0.99, 0.999};
    double v[5], iv[5];
    int window = p->window_start_ms != 0 && p->phase >= PH_WINDOW;
    const struct stats *st = window ? &p->win : &p->warm;
    percentiles(st, 0, qs, 4, v);
    size_t from = interval_from && *interval_from <= st->n ? *interval_from : 0;
    percentiles(st, from, qs, 4, iv);
    pthread_mutex_lock(&box->mu);
    int64_t consumed = box->consumed, invalid = box->invalid, no_header = box->no_header;
    pthread_mutex_unlock(&box->mu);
    printf("%s %s samples=%zu p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f timeouts=%" PRId64
           " invalid=%" PRId64 " no_header=%" PRId64 " pending=%zu consumed=%" PRId64
           " queries=%" PRId64 " query_errors=%" PRId64 " late=%" PRId64
           " cpu_s=%.2f | interval n=%zu p50=%.1f p99=%.1f max=%.1f\n",
           tag, window ? "window" : "warmup", st->n, v[0], v[1], v[2], v[3], v[4],
           window ? p->win_timeouts : p->warm_timeouts, invalid, no_header, p->npend, consumed,
           p->queries, p->query_errors, p->late_samples, cpu_seconds(), st->n - from, iv[0], iv[2],
           iv[4]);
    fflush(stdout);
    if (interval_from)
        *interval_from = st->n;
}

static int parse_dur(const char *flag, const char *v, int64_t *out)
{
    if (spate_parse_duration_ms(v, out) != 0 || *out < 0) {
        fprintf(stderr, "e2e_observer: %s: '%s' is not a duration (e.g. 500ms, 10s, 5m)\n", flag,
                v);
        return -1;
    }
    return 0;
}

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) {
        fprintf(stderr, "e2e_observer: %s must be an integer in [%d, %d], not '%s'\n", flag, lo,
                hi, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"topic", required_argument, NULL, 't'},     {"keyspace", required_argument, NULL, 'k'},
        {"table", required_argument, NULL, 'T'},     {"column", required_argument, NULL, 'C'},
        {"every", required_argument, NULL, 'e'},     {"poll-ms", required_argument, NULL, 'p'},
        {"max-in", required_argument, NULL, 'm'},    {"timeout", required_argument, NULL, 'o'},
        {"max-reads", required_argument, NULL, 'R'},
        {"warmup", required_argument, NULL, 'w'},    {"duration", required_argument, NULL, 'd'},
        {"report", required_argument, NULL, 'r'},    {"samples", required_argument, NULL, 's'},
        {"group", required_argument, NULL, 'g'},
        {"fetch-wait-ms", required_argument, NULL, 'f'},
        {"lag-topics", required_argument, NULL, 'L'}, {"lag-group", required_argument, NULL, 'G'},
        {"lag-every", required_argument, NULL, 'E'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'c': o->config = optarg; break;
        case 't': o->topic = optarg; break;
        case 'k': o->keyspace = optarg; break;
        case 'T': o->table = optarg; break;
        case 'C': o->column = optarg; break;
        case 'g': o->group = optarg; break;
        case 's': o->samples_path = optarg; break;
        case 'L': o->lag_topics = optarg; break;
        case 'G': o->lag_group = optarg; break;
        case 'e': bad = parse_int("--every", optarg, 1, 1000000, &o->every); break;
        case 'p': bad = parse_int("--poll-ms", optarg, 1, 60000, &o->poll_ms); break;
        case 'm': bad = parse_int("--max-in", optarg, 1, 10000, &o->max_in); break;
        case 'R': bad = parse_int("--max-reads", optarg, 1, 10000000, &o->max_reads); break;
        case 'f': bad = parse_int("--fetch-wait-ms", optarg, 0, 5000, &o->fetch_wait_ms); break;
        case 'o': bad = parse_dur("--timeout", optarg, &o->timeout_ms); break;
        case 'w': bad = parse_dur("--warmup", optarg, &o->warmup_ms); break;
        case 'd': bad = parse_dur("--duration", optarg, &o->duration_ms); break;
        case 'r': bad = parse_dur("--report", optarg, &o->report_ms); break;
        case 'E': bad = parse_dur("--lag-every", optarg, &o->lag_every_ms); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (bad)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "e2e_observer: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->timeout_ms == 0 || o->report_ms == 0 || o->lag_every_ms == 0) {
        fprintf(stderr, "e2e_observer: --timeout, --report and --lag-every must be > 0\n");
        return -1;
    }
    return 0;
}

/* Identifiers go into CQL text: letters, digits and '_' only. */
static int plain_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    struct opts o = {.config = "spate.yaml", .table = "users", .column = "user_id",
                     .every = 20, .poll_ms = 5, .max_in = 64,
                     .max_reads = 2000, .fetch_wait_ms = 10, .timeout_ms = 60000,
                     .report_ms = 10000, .lag_every_ms = 5000};
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    /* Two observers sharing a group would split the partitions between them. */
    char group[64];
    if (!o.group) {
        snprintf(group, sizeof group, "spate-e2e-observer-%d", (int)getpid());
        o.group = group;
    }
    char err[512];
    struct spate_config *cfg = NULL;
    if (spate_config_load(o.config, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "e2e_observer: %s\n", err);
        return 2;
    }
    const char *topic = o.topic ? o.topic : cfg->kafka.topic_raw;
    const char *ks = o.keyspace ? o.keyspace : cfg->cassandra.keyspace;
    if (!plain_name(ks) || !plain_name(o.table) || !plain_name(o.column)) {
        fprintf(stderr, "e2e_observer: keyspace, table and column must be plain identifiers "
                        "(letters, digits, _)\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct poller p = {.o = &o};
    if (o.samples_path && !(p.samples = fopen(o.samples_path, "w"))) {
        fprintf(stderr, "e2e_observer: %s: %s\n", o.samples_path, strerror(errno));
        return 2;
    }
    struct cql_session_config cc;
    cql_session_config_from_spate(&cc, &cfg->cassandra);
    cc.consistency = CQL_CL_ONE;
    cc.compression = 0; /* answers are a few uuids */
    /* Cassandra may still be starting when the bench starts the observer; the
     * bench bounds the wait, and a signal ends it. */
    int rc;
    for (int tries = 0;; tries++) {
        rc = cql_session_new(&cc, &p.s, err, sizeof err);
        if (rc == 0 || stop_requested)
            break;
        if (tries == 0)
            fprintf(stderr, "observer: waiting for Cassandra (%s)\n", err);
        spate_sleep_ms(1000);
    }
    if (rc) {
        fprintf(stderr, "e2e_observer: Cassandra: %s\n", err);
        return 1;
    }
    /* One statement for any number of keys: IN ? binds a list. The table
     * appears when the pipeline applies its schema, so wait for it. */
    char cql[512];
    snprintf(cql, sizeof cql, "SELECT %s FROM %s.%s WHERE %s IN ?", o.column, ks, o.table,
             o.column);
    for (int tries = 0;; tries++) {
        rc = cql_prepare(p.s, cql, &p.q);
        if (rc == 0 || stop_requested)
            break;
        if (tries == 0)
            fprintf(stderr, "observer: waiting for %s.%s (%s)\n", ks, o.table,
                    cql_session_errstr(p.s));
        spate_sleep_ms(1000);
    }
    if (rc) {
        fprintf(stderr, "e2e_observer: prepare '%s': %s\n", cql, cql_session_errstr(p.s));
        cql_session_free(p.s);
        return 1;
    }

    struct inbox box = {.mu = PTHREAD_MUTEX_INITIALIZER, .arrived = PTHREAD_COND_INITIALIZER};
    struct consumer cons = {.o = &o, .cfg = cfg, .topic = topic, .box = &box};
    struct lagger lg = {.o = &o, .cfg = cfg};
    pthread_t ct, lt;
    if (pthread_create(&ct, NULL, consume_main, &cons) != 0) {
        fprintf(stderr, "e2e_observer: thread: %s\n", strerror(errno));
        return 1;
    }
    int lag = o.lag_topics || o.lag_group;
    if (lag && pthread_create(&lt, NULL, lag_main, &lg) != 0)
        lag = 0;
    printf("# observer: topic %s, %s.%s, every %d, poll %d ms, timeout %" PRId64
           " ms, warmup %" PRId64 " ms, duration %" PRId64 " ms\n",
           topic, ks, o.table, o.every, o.poll_ms, o.timeout_ms, o.warmup_ms, o.duration_ms);
    fflush(stdout);

    int64_t next_report = spate_mono_ms() + o.report_ms;
    int64_t next_send_us = 0;
    size_t interval_from = 0;
    while (!stop_requested) {
        int64_t now = wall_us();
        if (cons.err[0]) {
            fprintf(stderr, "e2e_observer: %s\n", cons.err);
            break;
        }
        if (p.phase == PH_WARMUP && now / 1000 >= p.window_start_ms) {
            p.phase = PH_WINDOW;
            interval_from = 0;
            printf("# window start %" PRId64 "\n", p.window_start_ms);
            fflush(stdout);
        }
        if (p.phase == PH_WINDOW && p.window_end_ms && now / 1000 >= p.window_end_ms) {
            p.phase = PH_DRAIN;
            printf("# window end %" PRId64 "\n", p.window_end_ms);
            fflush(stdout);
            cons.quit = 1;
        }
        take_inbox(&p, &box);
        expire(&p, now);
        if (p.phase == PH_DRAIN && p.npend == 0 && !p.in_flight)
            break;
        if (!p.in_flight && p.npend && now >= next_send_us) {
            size_t keys = send_query(&p);
            /* Until the first row is readable nothing is measured, and the
             * pipeline is still starting: no need to ask 200 times a second.
             * Later, keys piling up (a pipeline falling behind) slow the rounds
             * down instead of turning the observer into Cassandra's main load. */
            int64_t gap_us = (int64_t)(p.phase == PH_FIRST ? 100 : o.poll_ms) * 1000;
            int64_t budget_us = (int64_t)keys * 1000000 / o.max_reads;
            next_send_us = now + (budget_us > gap_us ? budget_us : gap_us);
        }
        if (!p.in_flight && !p.npend) {
            inbox_wait(&box, 100);
            cql_session_poll(p.s, 0);
        } else {
            int64_t wait_ms = p.in_flight ? 20 : (next_send_us - wall_us()) / 1000;
            cql_session_poll(p.s, wait_ms < 0 ? 0 : (int)wait_ms);
        }
        if (spate_mono_ms() >= next_report) {
            next_report += o.report_ms;
            report(&p, &box, "progress", &interval_from);
        }
    }
    cons.quit = 1;
    lg.quit = 1;
    pthread_join(ct, NULL);
    if (lag)
        pthread_join(lt, NULL);
    cql_session_drain(p.s, 5000);
    report(&p, &box, "result", NULL);
    if (p.samples)
        fclose(p.samples);
    cql_session_free(p.s);
    spate_config_free(cfg);
    free(p.pend);
    free(p.warm.v);
    free(p.win.v);
    free(box.items);
    return 0;
}
