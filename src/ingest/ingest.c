/* SPDX-License-Identifier: Apache-2.0 */
/* ingest.c -- the ingest engine: libcurl multi requests in, librdkafka idempotent producer out. */
#include "spate/ingest.h"

#include "ingest_internal.h"
#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/jsonpath.h"
#include "spate/log.h"
#include "spate/metrics.h"
#include "spate/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMP "ingest"
#define DEFAULT_DLQ_MAX_BYTES 65536
#define MAX_KEY_BYTES 1024
#define MAX_CURSOR_BYTES 8192
/* Default producer queue, in messages and kilobytes; kafka.properties may
 * change both and the admission below follows. 8 MB is ~75 ms at full speed
 * on loopback; records point into their response bodies, so memory is about
 * this queue plus the bodies in flight (16 MB gave 80 MB RSS, 8 MB 47-55). */
#define PRODUCER_QUEUE_MSGS "200000"
#define PRODUCER_QUEUE_KB "8192"
#define STATE_SAVE_INTERVAL_US 1000000
/* Response bodies kept for reuse: records are produced without a copy and
 * point into their body until delivered, so about a producer queue's worth
 * of bodies is alive at once. */
#define BODY_POOL 8
#define BODY_POOL_BYTES (16u << 20)
#define MAX_REDIRECTS 5

struct ingest_engine;
struct ingest_src;

struct ingest_elem {
    struct jsonpath_span rec;
    struct jsonpath_span key;
};

struct ingest_req {
    struct ingest_req *next; /* retry list, ready list or free list */
    struct ingest_src *src;
    struct ingest_entry *entry;
    CURL *easy;
    struct curl_slist *hdrs;
    struct spate_buf url;
    struct spate_buf body;
    char request_id[48];
    char errbuf[CURL_ERROR_SIZE];
    int attempt; /* 0 = first try */
    int batch;
    int too_big;
    int over_budget; /* aborted: the bodies of other requests held the memory bound */
    int solo;        /* runs alone, with the whole memory bound (after over_budget) */
    size_t counted;  /* bytes of body in the engine's bound */
    int64_t due_us;
    int64_t started_us;
    int64_t retry_after_ms; /* -1 = no header */
    char *link_next;
    char *redirect_url; /* a Location being followed (checked like a Link target) */
    int redirects;
    /* A good body's record array and the span of each record and its key
     * (type JSONPATH_NULL when absent), from parse_body to produce_body;
     * kept for reuse. */
    struct jsonpath_span arr;
    struct ingest_elem *elems;
    size_t nelems, elems_cap;
    int elems_oom;
};

struct ingest_src {
    const struct spate_source_config *cfg;
    struct ingest_engine *eng;
    /* its pipeline's topics (several pipelines share one ingest) */
    char topic_raw[256], topic_dlq[256];
    rd_kafka_topic_t *rkt_raw, *rkt_dlq;
    uint64_t n_fetched, n_produced, n_dlq;
    enum ingest_style style;
    struct ingest_pager pager;
    struct ingest_bucket bucket;
    struct jsonpath *records_jp, *key_jp, *cursor_jp;
    int concurrency;
    int batch;
    size_t max_body;
    size_t record_limit; /* configured max_record_bytes, or SIZE_MAX: Kafka's check only */
    char origin[300];    /* scheme://host:port of the url: where its headers may go */
    /* A request gave up at a position it could not get past: the source
     * stopped there and the run ends non-zero. */
    int gave_up;
    int64_t gave_up_page;
    char gave_up_at[256];
    char gave_up_why[160];
    int inflight; /* in curl */
    int waiting;  /* in the retry list */
    int64_t follow_due_us; /* pagination.follow: when to look for new records (0 = not due) */
    char *state_path;
    int64_t last_save_us;
    /* Stamp lines of pages stamped in this turn of the loop, appended to the
     * state file before their records are produced (write_ahead). */
    struct spate_buf stamp_lines;
    int append_fd;     /* the state file open for appending (-1: open it again) */
    int write_failing; /* the last write-ahead failed (logged once until one succeeds) */
    const char *seed;
    /* Completions in the current second, for the adaptive rate. */
    int64_t window_start_us;
    uint64_t window_count;
    double observed_rate;
    struct metrics_counter *m_status[600]; /* [0] = transport error */
    struct metrics_counter *m_fetched, *m_produced, *m_retries, *m_failed;
    struct metrics_histogram *m_http_latency;
    struct metrics_gauge *m_rate;
};

struct ingest_engine {
    const struct spate_config *cfg;
    const struct ingest_options *opts;
    volatile sig_atomic_t *stop;
    CURLM *multi;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt_raw, *rkt_dlq;
    const char *topic_raw, *topic_dlq;
    int event_pipe[2];
    struct ingest_src *srcs;
    size_t nsrc;
    struct ingest_req *retries;
    struct ingest_req *free_reqs;
    /* Good responses of this turn of the loop, in arrival order, waiting to
     * be stamped and produced (produce_ready). */
    struct ingest_req *ready, *ready_tail;
    int64_t planned; /* records asked for, against max_records */
    /* Admission: a request is issued only when the records it will bring fit
     * in the producer's queue next to those already there, so producev never
     * meets a full queue (which stalled the whole loop in 10 ms polls). */
    int64_t queued_bytes;      /* produced, delivery report not yet seen */
    int64_t queue_limit_bytes; /* queue.buffering.max.kbytes */
    int64_t queue_limit_msgs;  /* queue.buffering.max.messages */
    double avg_record_bytes;   /* moving average, to size what a request brings */
    int64_t message_max;       /* the producer's message.max.bytes */
    /* Response bodies held at once (received, or kept for delivery reports),
     * every source together: a hostile API must not grow ingest past this. */
    size_t body_bytes;
    size_t body_limit;
    int solo_inflight;         /* a solo request is in curl: nothing else starts */
    int bound_reached;
    int stopping;
    int fatal;
    struct spate_kafka_diag kdiag; /* connection errors, for a clear message */
    uint64_t req_seq;
    uint64_t rng;
    char run_id[20];
    size_t dlq_max;
    struct ingest_summary sum;
    struct metrics_registry *reg;
    struct metrics_counter *m_dlq_acked;
    struct metrics_histogram *m_produce_latency;
    struct metrics_gauge *m_queue_depth, *m_inflight;
    struct spate_buf body_pool[BODY_POOL];
    size_t nbody_pool;
    size_t body_pool_bytes; /* capacity held by the pool */
};

static void collect_elem(void *arg, const struct jsonpath_span *el,
                         const struct jsonpath_span *key)
{
    struct ingest_req *r = arg;
    if (r->nelems == r->elems_cap) {
        size_t cap = r->elems_cap ? r->elems_cap * 2 : 1024;
        struct ingest_elem *e = realloc(r->elems, cap * sizeof *e);
        if (!e) {
            r->elems_oom = 1;
            return;
        }
        r->elems = e;
        r->elems_cap = cap;
    }
    struct ingest_elem *x = &r->elems[r->nelems++];
    x->rec = *el;
    if (key) {
        x->key = *key;
    } else {
        x->key.p = NULL;
        x->key.len = 0;
        x->key.type = JSONPATH_NULL;
    }
}

/* ---------------------------------------------------------------- metrics */

static void src_metrics(struct ingest_src *s)
{
    struct metrics_registry *reg = s->eng->reg;
    if (!reg)
        return;
    struct spate_buf lb = {0};
    if (metrics_label_append(&lb, "source", s->cfg->name) != 0) {
        spate_buf_free(&lb);
        return;
    }
    const char *l = lb.data;
    s->m_fetched = metrics_counter(reg, "spate_ingest_records_fetched_total",
                                   "Records found in good API responses", l);
    s->m_produced = metrics_counter(reg, "spate_ingest_records_produced_total",
                                    "Records acknowledged by Kafka in the raw topic", l);
    s->m_retries = metrics_counter(reg, "spate_ingest_retries_total", "HTTP requests retried", l);
    s->m_failed = metrics_counter(reg, "spate_ingest_delivery_failures_total",
                                  "Messages Kafka did not acknowledge", l);
    s->m_http_latency = metrics_histogram(reg, "spate_ingest_http_latency_seconds",
                                          "HTTP request latency (one attempt)", l,
                                          metrics_latency_buckets, metrics_latency_nbuckets);
    s->m_rate = metrics_gauge(reg, "spate_ingest_rate_limit",
                              "Current adaptive request rate limit (0 = unlimited)", l);
    spate_buf_free(&lb);
}

static struct metrics_counter *status_counter(struct ingest_src *s, long status)
{
    if (!s->eng->reg)
        return NULL;
    if (status < 0 || status >= 600)
        status = 0;
    if (!s->m_status[status]) {
        struct spate_buf l = {0};
        char code[16];
        snprintf(code, sizeof code, "%ld", status);
        if (metrics_label_append(&l, "source", s->cfg->name) == 0 &&
            metrics_label_append(&l, "code", status == 0 ? "error" : code) == 0)
            s->m_status[status] = metrics_counter(s->eng->reg, "spate_ingest_requests_total",
                                                  "HTTP requests completed, by status code",
                                                  l.data);
        spate_buf_free(&l);
    }
    return s->m_status[status];
}

static void count_dlq_reason(struct ingest_src *s, const char *reason)
{
    if (!s->eng->reg)
        return;
    struct spate_buf l = {0};
    if (metrics_label_append(&l, "source", s->cfg->name) == 0 &&
        metrics_label_append(&l, "reason", reason) == 0)
        metrics_counter_inc(metrics_counter(s->eng->reg, "spate_ingest_dlq_total",
                                            "Payloads sent to the DLQ topic, by reason", l.data));
    spate_buf_free(&l);
}

/* ---------------------------------------------------------------- kafka */

/* A body whose records are all delivered goes back to the pool, which is
 * bounded in bytes too: sources with multi-megabyte responses must not park
 * eight of them. */
static void body_recycle(struct ingest_engine *eng, struct spate_buf *b)
{
    if (eng->nbody_pool < BODY_POOL && eng->body_pool_bytes + b->cap <= BODY_POOL_BYTES) {
        b->len = 0;
        eng->body_pool_bytes += b->cap;
        eng->body_pool[eng->nbody_pool++] = *b;
    } else {
        spate_buf_free(b);
    }
    memset(b, 0, sizeof *b);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct ingest_engine *eng = opaque;
    struct ingest_entry *e = m->_private;
    struct ingest_src *s = e ? e->owner : NULL;
    int is_dlq = s ? m->rkt == s->rkt_dlq && m->rkt != s->rkt_raw : m->rkt == eng->rkt_dlq;
    eng->queued_bytes -= (int64_t)(m->len + m->key_len);
    if (m->err) {
        eng->sum.failed++;
        if (s)
            metrics_counter_inc(s->m_failed);
        if (e)
            e->failed = 1;
        if (eng->sum.failed <= 10 || eng->sum.failed % 10000 == 0)
            SPATE_ERROR(COMP, "delivery to %s failed: %s (%" PRIu64 " failures so far)",
                        rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err),
                        eng->sum.failed);
    } else if (is_dlq) {
        eng->sum.dlq++;
        if (s)
            s->n_dlq++;
        metrics_counter_inc(eng->m_dlq_acked);
    } else {
        eng->sum.produced++;
        if (s) {
            s->n_produced++;
            metrics_counter_inc(s->m_produced);
        }
    }
    int64_t lat = rd_kafka_message_latency(m);
    if (lat >= 0)
        metrics_histogram_observe(eng->m_produce_latency, (double)lat / 1e6);
    if (e && s) {
        e->pending--;
        if (e->pending == 0 && !e->processing && e->body.data) {
            eng->body_bytes -= e->body_counted;
            e->body_counted = 0;
            body_recycle(eng, &e->body);
        }
        ingest__pager_settle(&s->pager, e);
    }
}

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct ingest_engine *eng = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        SPATE_ERROR(COMP, "fatal producer error: %s: %s", rd_kafka_err2name(orig), buf);
        eng->fatal = 1;
        return;
    }
    if (spate_kafka_diag_report(&eng->kdiag, COMP, &eng->cfg->kafka.properties, err, reason))
        return;
    SPATE_WARN(COMP, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int set_conf(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        SPATE_ERROR(COMP, "kafka property %s: %s", k, err);
        return SPATE_ECONFIG;
    }
    return 0;
}

/* Create the raw and DLQ topics when missing (partitions and replication
 * from the config); an existing topic is left as it is. */
static int ensure_topics(struct ingest_engine *eng)
{
    const struct spate_kafka_config *kc = &eng->cfg->kafka;
    /* every source's raw and DLQ topics, each once */
    const char *names[2 * INGEST_SUMMARY_SOURCES + 2];
    size_t nn = 0;
    for (size_t i = 0; i < eng->nsrc; i++) {
        const char *t[2] = {eng->srcs[i].topic_raw, eng->srcs[i].topic_dlq};
        for (int k = 0; k < 2; k++) {
            size_t j = 0;
            while (j < nn && strcmp(names[j], t[k]))
                j++;
            if (j == nn && nn < sizeof names / sizeof names[0])
                names[nn++] = t[k];
        }
    }
    char err[512];
    /* a refused password or certificate is said at once, not after the
     * admin request's timeout */
    if (spate_kafka_preflight(eng->rk, &eng->kdiag, 10000, eng->stop) == SPATE_EAUTH &&
        spate_kafka_diag_explain(&eng->kdiag, &kc->properties, err, sizeof err)) {
        SPATE_ERROR(COMP, "cannot use Kafka at %s: %s", kc->bootstrap_servers, err);
        return SPATE_ECONFIG; /* the settings do not match the cluster: exit 2 */
    }
    int rc = spate_kafka_create_topics(eng->rk, names, nn, kc, COMP, eng->stop, err, sizeof err);
    if (rc == SPATE_ECANCELED)
        SPATE_INFO(COMP, "stopped (signal) before the first request: %s", err);
    else if (rc) {
        /* "timed out" hides a refused password or an untrusted certificate */
        char why[512];
        rd_kafka_poll(eng->rk, 0);
        if (spate_kafka_diag_explain(&eng->kdiag, &kc->properties, why, sizeof why)) {
            SPATE_ERROR(COMP, "cannot use Kafka at %s: %s", kc->bootstrap_servers, why);
            return SPATE_ECONFIG;
        }
        SPATE_ERROR(COMP, "%s (Kafka at %s)", err, kc->bootstrap_servers);
    }
    return rc;
}

/* The largest record a source may produce, from the producer's effective
 * message.max.bytes (kafka.properties or librdkafka's default) less the key
 * and headers at their largest, and the response size that follows. An
 * explicit max_record_bytes above it is refused rather than clamped: the user
 * said records that large belong in the raw topic, and clamping would send
 * them to the DLQ instead, which they did not ask for. */
static int record_limits(struct ingest_engine *eng)
{
    char fetched[24], rid[sizeof ((struct ingest_req *)0)->request_id];
    memset(rid, 'x', sizeof rid - 1);
    rid[sizeof rid - 1] = '\0';
    for (size_t i = 0; i < eng->nsrc; i++) {
        struct ingest_src *s = &eng->srcs[i];
        struct ingest_kheader hs[INGEST_RECORD_HEADERS];
        ingest__record_headers(hs, s->cfg->name, INT64_MIN, fetched, sizeof fetched, rid);
        size_t worst = ingest__kafka_overhead(MAX_KEY_BYTES, hs, INGEST_RECORD_HEADERS);
        int64_t kafka_max = eng->message_max - (int64_t)worst;
        if (s->cfg->max_record_bytes > 0 && s->cfg->max_record_bytes > kafka_max) {
            SPATE_ERROR(COMP, "config: source %s: max_record_bytes %d is more than Kafka accepts: "
                        "message.max.bytes %" PRId64 " less up to %zu bytes of key and headers "
                        "= %" PRId64 "; lower max_record_bytes (0 = derive it), or raise "
                        "kafka.properties.message.max.bytes together with the topic's "
                        "max.message.bytes", s->cfg->name, s->cfg->max_record_bytes,
                        eng->message_max, worst, kafka_max);
            return SPATE_ECONFIG;
        }
        if (kafka_max < 1) {
            SPATE_ERROR(COMP, "config: kafka.properties.message.max.bytes %" PRId64 " leaves no "
                        "room for a record next to a key and headers of up to %zu bytes",
                        eng->message_max, worst);
            return SPATE_ECONFIG;
        }
        size_t rec = s->cfg->max_record_bytes > 0 ? (size_t)s->cfg->max_record_bytes
                                                  : (size_t)eng->message_max;
        s->record_limit = s->cfg->max_record_bytes > 0 ? rec : SIZE_MAX;
        uint64_t mb = (uint64_t)s->batch * (uint64_t)rec + (1u << 20);
        if (mb > (256u << 20))
            mb = 256u << 20;
        if (mb > eng->body_limit)
            mb = eng->body_limit;
        s->max_body = (size_t)mb;
    }
    return 0;
}

static int producer_start(struct ingest_engine *eng)
{
    const struct spate_kafka_config *kc = &eng->cfg->kafka;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = 0;
    /* Defaults first, so kafka.properties may override the tuning ones; the
     * delivery guarantees are set again afterwards and cannot be weakened. */
    rc = rc ? rc : set_conf(conf, "bootstrap.servers", kc->bootstrap_servers);
    rc = rc ? rc : set_conf(conf, "client.id", "spate-ingest");
    rc = rc ? rc : set_conf(conf, "linger.ms", "5");
    rc = rc ? rc : set_conf(conf, "batch.size", "1000000");
    rc = rc ? rc : set_conf(conf, "queue.buffering.max.messages", PRODUCER_QUEUE_MSGS);
    rc = rc ? rc : set_conf(conf, "queue.buffering.max.kbytes", PRODUCER_QUEUE_KB);
    rc = rc ? rc : set_conf(conf, "compression.type", kc->compression);
    /* Topics are created by ensure_topics with the configured partitions
     * and replication; a producer's metadata request would otherwise have
     * the broker create them first with its own defaults. */
    rc = rc ? rc : set_conf(conf, "allow.auto.create.topics", "false");
    for (size_t i = 0; rc == 0 && i < kc->properties.count; i++)
        rc = set_conf(conf, kc->properties.items[i].key, kc->properties.items[i].value);
    rc = rc ? rc : set_conf(conf, "enable.idempotence", "true");
    rc = rc ? rc : set_conf(conf, "acks", "all");
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    char v[32];
    size_t vl = sizeof v;
    eng->queue_limit_bytes = 1024LL * atoll(rd_kafka_conf_get(conf, "queue.buffering.max.kbytes", v,
                                                              &vl) == RD_KAFKA_CONF_OK
                                                ? v
                                                : PRODUCER_QUEUE_KB);
    vl = sizeof v;
    eng->queue_limit_msgs = atoll(rd_kafka_conf_get(conf, "queue.buffering.max.messages", v,
                                                    &vl) == RD_KAFKA_CONF_OK
                                      ? v
                                      : PRODUCER_QUEUE_MSGS);
    vl = sizeof v;
    eng->message_max = atoll(rd_kafka_conf_get(conf, "message.max.bytes", v, &vl) ==
                                     RD_KAFKA_CONF_OK
                                 ? v
                                 : "1000000");
    rc = record_limits(eng);
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_opaque(conf, eng);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_kafka_error);
    rd_kafka_conf_set_log_cb(conf, spate_kafka_log_cb);
    char err[512];
    eng->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!eng->rk) {
        rd_kafka_conf_destroy(conf);
        SPATE_ERROR(COMP, "cannot create the Kafka producer: %s", err);
        return SPATE_EKAFKA;
    }
    /* Delivery reports wake the poll loop through this pipe. */
    if (pipe(eng->event_pipe) == 0) {
        fcntl(eng->event_pipe[0], F_SETFL, O_NONBLOCK);
        fcntl(eng->event_pipe[1], F_SETFL, O_NONBLOCK);
        rd_kafka_queue_t *mq = rd_kafka_queue_get_main(eng->rk);
        rd_kafka_queue_io_event_enable(mq, eng->event_pipe[1], "1", 1);
        rd_kafka_queue_destroy(mq);
    } else {
        eng->event_pipe[0] = eng->event_pipe[1] = -1;
    }
    rc = ensure_topics(eng);
    if (rc)
        return rc;
    eng->rkt_raw = rd_kafka_topic_new(eng->rk, eng->topic_raw, NULL);
    eng->rkt_dlq = strcmp(eng->topic_raw, eng->topic_dlq) == 0
                       ? eng->rkt_raw
                       : rd_kafka_topic_new(eng->rk, eng->topic_dlq, NULL);
    if (!eng->rkt_raw || !eng->rkt_dlq) {
        SPATE_ERROR(COMP, "cannot create topic handles: %s",
                    rd_kafka_err2str(rd_kafka_last_error()));
        return SPATE_EKAFKA;
    }
    for (size_t i = 0; i < eng->nsrc; i++) {
        struct ingest_src *s = &eng->srcs[i];
        s->rkt_raw = rd_kafka_topic_new(eng->rk, s->topic_raw, NULL);
        s->rkt_dlq = rd_kafka_topic_new(eng->rk, s->topic_dlq, NULL);
        if (!s->rkt_raw || !s->rkt_dlq) {
            SPATE_ERROR(COMP, "%s: cannot create topic handles: %s", s->cfg->name,
                        rd_kafka_err2str(rd_kafka_last_error()));
            return SPATE_EKAFKA;
        }
    }
    return 0;
}

static void drain_event_pipe(struct ingest_engine *eng)
{
    if (eng->event_pipe[0] < 0)
        return;
    char buf[256];
    while (read(eng->event_pipe[0], buf, sizeof buf) > 0) {
    }
}

/* Produce one message, waiting (and serving delivery reports) while the
 * local queue is full. The entry is counted as pending until its report.
 * Without copy, val must stay valid until then (see entry_finish): a copy
 * of every ~1 KB record cost a large malloc and a memcpy, and glibc's
 * large-chunk bins were a fifth of the main thread's time. */
static int produce(struct ingest_engine *eng, rd_kafka_topic_t *rkt, struct ingest_entry *e,
                   const char *key, size_t klen, const char *val, size_t vlen,
                   const struct ingest_kheader *hs, size_t nh, int copy)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(nh);
    for (size_t i = 0; i < nh; i++)
        rd_kafka_header_add(h, hs[i].name, -1, hs[i].value, -1);
    e->pending++;
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            eng->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(copy ? RD_KAFKA_MSG_F_COPY : 0),
            RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(e), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            eng->queued_bytes += (int64_t)(vlen + klen);
            return 0;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !eng->fatal) {
            rd_kafka_poll(eng->rk, 10);
            continue;
        }
        rd_kafka_headers_destroy(h);
        e->pending--;
        e->failed = 1;
        eng->sum.failed++;
        SPATE_ERROR(COMP, "produce to %s failed: %s", rd_kafka_topic_name(rkt),
                    rd_kafka_err2str(err));
        return SPATE_EKAFKA;
    }
}

/* Where a request was in its source's data, for messages and the DLQ. */
static void position_text(const struct ingest_src *s, const struct ingest_req *r, char *out,
                          size_t outlen)
{
    const struct ingest_entry *e = r->entry;
    if (s->style == INGEST_STYLE_PAGE)
        snprintf(out, outlen, "page %" PRId64, e->page);
    else if (s->style == INGEST_STYLE_CURSOR && e->cursor)
        snprintf(out, outlen, "cursor %.200s", e->cursor);
    else if (s->style == INGEST_STYLE_LINK && e->cursor)
        snprintf(out, outlen, "%.200s", e->cursor);
    else if (s->style != INGEST_STYLE_NONE)
        snprintf(out, outlen, "the first request (%.200s)", r->url.data ? r->url.data : "");
    else
        snprintf(out, outlen, "%.200s", r->url.data ? r->url.data : "");
}

static void send_dlq(struct ingest_src *s, struct ingest_req *r, const char *reason,
                     const char *bytes, size_t len, const char *key, size_t klen)
{
    struct ingest_engine *eng = s->eng;
    char fetched[24], orig[24], page[24];
    struct ingest_kheader hs[INGEST_RECORD_HEADERS + 5];
    ingest__record_headers(hs, s->cfg->name, spate_wall_ms(), fetched, sizeof fetched,
                           r->request_id);
    size_t nh = INGEST_RECORD_HEADERS;
    hs[nh].name = "spate.stage";
    hs[nh++].value = "ingest";
    hs[nh].name = "spate.error";
    hs[nh++].value = reason;
    snprintf(orig, sizeof orig, "%zu", len);
    hs[nh].name = "spate.original_bytes";
    hs[nh++].value = orig;
    /* The position of the request, so a payload that stopped a source (or
     * was rejected whole) names what to fetch again. */
    if (s->style == INGEST_STYLE_PAGE) {
        snprintf(page, sizeof page, "%" PRId64, r->entry->page);
        hs[nh].name = "spate.page";
        hs[nh++].value = page;
    } else if (s->style != INGEST_STYLE_NONE && r->entry->cursor &&
               strlen(r->entry->cursor) < MAX_CURSOR_BYTES) {
        hs[nh].name = "spate.cursor";
        hs[nh++].value = r->entry->cursor;
    }
    if (!key) {
        key = r->request_id;
        klen = strlen(r->request_id);
    }
    /* The DLQ message must fit message.max.bytes itself (a record rejected
     * as too large is the case in point): only the payload is cut, never the
     * key, the reason or the original size. */
    size_t keep = len < eng->dlq_max ? len : eng->dlq_max;
    keep = ingest__fit_value(keep, eng->message_max, ingest__kafka_overhead(klen, hs, nh));
    count_dlq_reason(s, reason);
    produce(eng, s->rkt_dlq, r->entry, key, klen, bytes ? bytes : "", bytes ? keep : 0, hs,
            nh, 1);
}

/* ---------------------------------------------------------------- requests */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct ingest_req *r = ud;
    struct ingest_engine *eng = r->src->eng;
    size_t n = size * nmemb;
    /* Returning less than n aborts the transfer. Too big by itself first, so
     * that verdict never depends on what else was in flight. */
    if (r->body.len + n > r->src->max_body) {
        r->too_big = 1;
        return 0;
    }
    if (eng->body_bytes + n > eng->body_limit) {
        r->over_budget = 1;
        return 0;
    }
    if (spate_buf_append(&r->body, ptr, n))
        return 0;
    eng->body_bytes += n;
    r->counted += n;
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct ingest_req *r = ud;
    size_t n = size * nitems;
    char line[MAX_CURSOR_BYTES + 64];
    if (n >= sizeof line)
        return n;
    memcpy(line, buf, n);
    line[n] = '\0';
    char *end = line + n;
    while (end > line && (end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    if (strncasecmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or 100): forget earlier headers. */
        r->retry_after_ms = -1;
        free(r->link_next);
        r->link_next = NULL;
    } else if (strncasecmp(line, "Retry-After:", 12) == 0) {
        r->retry_after_ms = ingest__parse_retry_after(line + 12, spate_wall_ms(),
                                                      r->src->cfg->retry_after_max_ms);
    } else if (strncasecmp(line, "Link:", 5) == 0 && !r->link_next) {
        char next[MAX_CURSOR_BYTES];
        if (ingest__parse_link_next(line + 5, next, sizeof next) == 0)
            r->link_next = strdup(next);
    }
    return n;
}

static struct ingest_req *req_new(struct ingest_engine *eng)
{
    struct ingest_req *r = eng->free_reqs;
    if (r) {
        eng->free_reqs = r->next;
        r->next = NULL;
        return r;
    }
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->easy = curl_easy_init();
    if (!r->easy) {
        free(r);
        return NULL;
    }
    return r;
}

/* The request's body no longer counts against the bound (it is reset or
 * handed to its entry). */
static void body_uncount(struct ingest_engine *eng, struct ingest_req *r)
{
    eng->body_bytes -= r->counted;
    r->counted = 0;
}

static void req_release(struct ingest_engine *eng, struct ingest_req *r)
{
    body_uncount(eng, r);
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    free(r->link_next);
    r->link_next = NULL;
    free(r->redirect_url);
    r->redirect_url = NULL;
    r->redirects = 0;
    /* Keep buffers for reuse unless one grew unusually large. */
    if (r->body.cap > (8u << 20))
        spate_buf_free(&r->body);
    if (r->elems_cap > 65536) {
        free(r->elems);
        r->elems = NULL;
        r->elems_cap = 0;
    }
    r->nelems = 0;
    spate_buf_reset(&r->body);
    spate_buf_reset(&r->url);
    r->entry = NULL;
    r->src = NULL;
    r->attempt = 0;
    r->solo = 0;
    r->next = eng->free_reqs;
    eng->free_reqs = r;
}

static void req_destroy(struct ingest_req *r)
{
    curl_slist_free_all(r->hdrs);
    free(r->link_next);
    free(r->redirect_url);
    spate_buf_free(&r->body);
    spate_buf_free(&r->url);
    free(r->elems);
    if (r->easy)
        curl_easy_cleanup(r->easy);
    free(r);
}

static void give_up(struct ingest_src *s, struct ingest_req *r, const char *why);

/* Start (or restart, for a retry or a redirect) the transfer of r. Returns
 * SPATE_EPERM when its URL leads outside the source's origin to a host
 * allow_hosts does not list: the source gave up there and r is released. */
static int req_start(struct ingest_src *s, struct ingest_req *r)
{
    struct ingest_engine *eng = s->eng;
    snprintf(r->request_id, sizeof r->request_id, "%s-%" PRIu64, eng->run_id, ++eng->req_seq);
    struct ingest_entry *e = r->entry;
    int rc;
    if (r->redirect_url) {
        spate_buf_reset(&r->url);
        rc = spate_buf_append(&r->url, r->redirect_url, strlen(r->redirect_url));
    } else {
        rc = ingest__build_url(s->cfg, e->page, e->cursor, r->batch, s->seed, &r->url);
    }
    if (rc)
        return rc;
    /* A Link target or a saved cursor URL is checked here, before anything
     * is sent: the API (or whoever edits the state file) picks those. */
    char host[256];
    int where = ingest__url_check(s->origin, r->url.data, &s->cfg->allow_hosts, host, sizeof host);
    if (where < 0) {
        const char *what = r->redirect_url ? "a redirect" : "the next page (Link rel=\"next\")";
        SPATE_ERROR(COMP, "%s: %s leads to %s%s, outside the source's origin %s: not followed "
                    "(list the host in the source's allow_hosts to follow it)", s->cfg->name,
                    what, where == SPATE_EPERM ? "host " : "a URL that is not http(s)",
                    where == SPATE_EPERM ? host : "", s->origin);
        give_up(s, r, r->redirect_url ? "redirect_outside_origin" : "url_outside_origin");
        return SPATE_EPERM;
    }
    char **lines = NULL;
    size_t nl = 0;
    /* Another origin (an allowed host) gets the request, never the source's
     * Authorization or API-key headers. */
    rc = ingest__request_header_lines(s->cfg, r->request_id, where == 0, &lines, &nl);
    if (rc)
        return rc;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    for (size_t i = 0; i < nl; i++) {
        struct curl_slist *n = curl_slist_append(r->hdrs, lines[i]);
        if (!n) {
            ingest__free_lines(lines, nl);
            return SPATE_ENOMEM;
        }
        r->hdrs = n;
    }
    ingest__free_lines(lines, nl);
    body_uncount(eng, r);
    spate_buf_reset(&r->body);
    free(r->link_next);
    r->link_next = NULL;
    r->retry_after_ms = -1;
    r->too_big = 0;
    r->over_budget = 0;
    r->errbuf[0] = '\0';
    CURL *c = r->easy;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, r->url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_PRIVATE, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->cfg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(s->cfg->timeout_ms < 10000 ? s->cfg->timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    /* Redirects are followed by on_done, so that each target is checked
     * against the source's origin and its headers never leave it (libcurl
     * would send custom headers such as API keys to any host). */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "spate-ingest/" SPATE_VERSION);
    if (strcmp(s->cfg->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        const char *b = s->cfg->body ? s->cfg->body : "";
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(b));
        curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, b);
    }
    r->started_us = spate_mono_us();
    if (curl_multi_add_handle(eng->multi, c) != CURLM_OK)
        return SPATE_EHTTP;
    s->inflight++;
    if (r->solo)
        eng->solo_inflight++;
    SPATE_DEBUG(COMP, "%s: GET %s (request %s, attempt %d)", s->cfg->name, r->url.data,
                r->request_id, r->attempt + 1);
    return 0;
}

/* The request is over for good (success, permanent failure or abandon). */
static void entry_finish(struct ingest_src *s, struct ingest_req *r)
{
    struct ingest_engine *eng = s->eng;
    struct ingest_entry *e = r->entry;
    if (e->pending > 0) {
        /* Records may still point into the body: the entry keeps it until
         * its last delivery report, the request takes a pooled one. */
        e->body = r->body;
        e->body_counted = r->counted;
        r->counted = 0;
        memset(&r->body, 0, sizeof r->body);
        if (eng->nbody_pool > 0) {
            r->body = eng->body_pool[--eng->nbody_pool];
            eng->body_pool_bytes -= r->body.cap;
        }
    }
    e->processing = 0;
    ingest__pager_settle(&s->pager, e);
    req_release(eng, r);
}

/* The request is over without its records. A paginated source stops at its
 * position: the entry never completes, so the saved state resumes there (a
 * page is produced or fetched again, never skipped), and the run ends
 * non-zero. A source without pagination asks the same URL again next time,
 * so nothing is left behind. */
static void give_up(struct ingest_src *s, struct ingest_req *r, const char *why)
{
    if (s->style != INGEST_STYLE_NONE) {
        ingest__pager_abandon(&s->pager, r->entry);
        /* With several pages in flight the state resumes at the lowest one
         * that gave up: that is the one to name. */
        if (!s->gave_up || (s->style == INGEST_STYLE_PAGE && r->entry->page < s->gave_up_page)) {
            s->gave_up = 1;
            s->gave_up_page = r->entry->page;
            position_text(s, r, s->gave_up_at, sizeof s->gave_up_at);
            spate_strlcpy(s->gave_up_why, why, sizeof s->gave_up_why);
            SPATE_ERROR(COMP, "%s: gave up at %s (%s): this source stops there; requests "
                        "already sent are finished", s->cfg->name, s->gave_up_at, why);
        }
    }
    entry_finish(s, r);
}

static void schedule_retry(struct ingest_src *s, struct ingest_req *r, const char *reason,
                           const char *bytes, size_t len)
{
    struct ingest_engine *eng = s->eng;
    if (eng->stopping) {
        /* Shutting down: the entry stays incomplete, so the saved state
         * keeps it and the next run fetches it again. */
        SPATE_INFO(COMP, "%s: not retrying %s (%s): shutting down", s->cfg->name, r->request_id,
                   reason);
        req_release(eng, r);
        return;
    }
    if (r->attempt >= s->cfg->max_retries) {
        char why[160];
        snprintf(why, sizeof why, "%s_retries_exhausted", reason);
        SPATE_ERROR(COMP, "%s: %s: giving up after %d attempts (%s)", s->cfg->name, r->url.data,
                    r->attempt + 1, reason);
        send_dlq(s, r, why, bytes, len, NULL, 0);
        give_up(s, r, why);
        return;
    }
    /* The body is not needed while waiting: free its share of the bound. */
    body_uncount(eng, r);
    spate_buf_reset(&r->body);
    /* a retry starts over at the source's own URL, not where it was sent */
    free(r->redirect_url);
    r->redirect_url = NULL;
    r->redirects = 0;
    r->attempt++;
    int64_t delay = spate_backoff_ms(r->attempt, s->cfg->backoff_initial_ms,
                                       s->cfg->backoff_max_ms, &eng->rng);
    if (r->retry_after_ms > delay)
        delay = r->retry_after_ms;
    r->due_us = spate_mono_us() + delay * 1000;
    r->next = eng->retries;
    eng->retries = r;
    s->waiting++;
    eng->sum.retries++;
    metrics_counter_inc(s->m_retries);
    SPATE_DEBUG(COMP, "%s: retry %d of %s in %" PRId64 " ms (%s)", s->cfg->name, r->attempt,
                r->url.data, delay, reason);
}

/* The bodies of other requests filled ingest.max_response_bytes_total while
 * this one was arriving: it is not too large by itself, so it is fetched
 * again alone, once everything else has let go of its memory (pump). Alone
 * it either fits or is too big by itself, so this happens at most once per
 * request and costs no attempt. */
static void retry_alone(struct ingest_src *s, struct ingest_req *r)
{
    struct ingest_engine *eng = s->eng;
    if (eng->stopping) {
        req_release(eng, r); /* the entry stays open: the next run fetches it */
        return;
    }
    SPATE_INFO(COMP, "%s: response bodies in flight reached ingest.max_response_bytes_total "
               "(%zu bytes) while %s arrived; fetching it again alone", s->cfg->name,
               eng->body_limit, r->url.data);
    body_uncount(eng, r);
    spate_buf_reset(&r->body);
    r->solo = 1;
    r->due_us = 0;
    r->next = eng->retries;
    eng->retries = r;
    s->waiting++;
    eng->sum.retries++;
    metrics_counter_inc(s->m_retries);
}

/* A 2xx body: validate it and collect its record spans into r (nothing is
 * produced before the whole body is known to be JSON). Returns 1 when the
 * request must be retried (bad payload, sent to the DLQ), else 0. */
static int parse_body(struct ingest_src *s, struct ingest_req *r)
{
    const char *body = r->body.data ? r->body.data : "";
    size_t blen = r->body.len;
    r->nelems = 0;
    r->elems_oom = 0;
    int vrc = jsonpath_validate_find(s->records_jp, s->key_jp, body, blen, &r->arr, collect_elem,
                                     r);
    if (vrc == SPATE_EPARSE) {
        send_dlq(s, r, "not_json", body, blen, NULL, 0);
        return 1;
    }
    if (vrc != 0 || r->arr.type != JSONPATH_ARRAY) {
        send_dlq(s, r, "no_records_path", body, blen, NULL, 0);
        return 1;
    }
    if (r->elems_oom) {
        SPATE_ERROR(COMP, "out of memory splitting a response");
        return 1;
    }
    return 0;
}

/* The first record of r's page not produced before: following a growing
 * source, the head of a page fetched again was produced by an earlier fetch. */
static size_t first_new_record(const struct ingest_req *r)
{
    size_t first = r->entry && r->entry->skip_records > 0 ? (size_t)r->entry->skip_records : 0;
    return first < r->nelems ? first : r->nelems;
}

/* Produce the records parse_body found in r, stamped with its entry's
 * fetched_at, and advance pagination. */
static void produce_body(struct ingest_src *s, struct ingest_req *r)
{
    struct ingest_engine *eng = s->eng;
    const char *body = r->body.data ? r->body.data : "";
    size_t blen = r->body.len;
    int64_t fetched_at = r->entry->stamp ? r->entry->stamp : spate_wall_ms();
    char fetched_buf[24];
    struct ingest_kheader hs[INGEST_RECORD_HEADERS];
    ingest__record_headers(hs, s->cfg->name, fetched_at, fetched_buf, sizeof fetched_buf,
                           r->request_id);
    size_t n = r->nelems;
    size_t first = first_new_record(r);
    if (r->entry->skip_records > 0 && (size_t)r->entry->skip_records > n)
        SPATE_WARN(COMP, "%s: page %" PRId64 " now holds %zu records, %" PRId64 " before: the "
                   "source removed records, which page-number pagination cannot follow",
                   s->cfg->name, r->entry->page, n, r->entry->skip_records);
    /* What Kafka adds to each record besides its key: the same for all. */
    size_t over = ingest__kafka_overhead(0, hs, INGEST_RECORD_HEADERS);
    char key[MAX_KEY_BYTES];
    for (size_t i = first; i < n; i++) {
        const struct jsonpath_span rec = r->elems[i].rec;
        size_t klen = 0;
        int krc = jsonpath_scalar_text(&r->elems[i].key, key, sizeof key, &klen);
        int has_key = krc == 0 && klen > 0;
        /* Checked here, not left to the producer: a record Kafka refuses
         * would fail its entry, and the state could never move past it. */
        if (rec.len > s->record_limit ||
            ingest__fit_value(rec.len, eng->message_max, over + klen) < rec.len) {
            send_dlq(s, r, "record_too_large", rec.p, rec.len, has_key ? key : NULL,
                     has_key ? klen : 0);
            continue;
        }
        if (!has_key) {
            send_dlq(s, r, "record_without_key", rec.p, rec.len, NULL, 0);
            continue;
        }
        produce(eng, s->rkt_raw, r->entry, key, klen, rec.p, rec.len, hs,
                INGEST_RECORD_HEADERS, 0);
    }
    if (n > 0) {
        double per = (double)r->arr.len / (double)n; /* separators included: a bit high */
        eng->avg_record_bytes =
            eng->avg_record_bytes > 0 ? 0.8 * eng->avg_record_bytes + 0.2 * per : per;
    }
    eng->sum.fetched += n - first;
    s->n_fetched += n - first;
    metrics_counter_add(s->m_fetched, n - first);
    const char *next = NULL;
    char cursor[MAX_CURSOR_BYTES];
    if (s->style == INGEST_STYLE_CURSOR) {
        struct jsonpath_span cs;
        if (jsonpath_find(s->cursor_jp, body, blen, &cs) == 0 &&
            jsonpath_scalar_text(&cs, cursor, sizeof cursor, NULL) == 0)
            next = cursor;
    } else if (s->style == INGEST_STYLE_LINK && r->link_next) {
        /* Resolve a relative target against the request URL. */
        CURLU *u = curl_url();
        char *abs = NULL;
        if (u && curl_url_set(u, CURLUPART_URL, r->url.data, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_URL, r->link_next, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK && strlen(abs) < sizeof cursor) {
            spate_strlcpy(cursor, abs, sizeof cursor);
            next = cursor;
        }
        curl_free(abs);
        curl_url_cleanup(u);
    }
    ingest__pager_response(&s->pager, r->entry, n, next);
}

/* The stamps of this turn's new pages, appended to the state file before
 * their records are produced: killed after this, the process leaves them on
 * disk and a restart that fetches those pages again stamps their records the
 * same. An append of a few lines costs ~1-2 us where rewriting the file costs
 * 120-390 us (ext4 flushes a file renamed over another); no fsync: the fault
 * to survive is the process dying (save_state still fsyncs its whole state
 * every second, for the machine going down, and that drops the lines of
 * pages completed since). */
static void write_ahead(struct ingest_src *s)
{
    if (!s->state_path || s->stamp_lines.len == 0)
        return;
    int ok = 1;
    if (s->append_fd < 0)
        s->append_fd = open(s->state_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (s->append_fd < 0 && errno == ENOENT) {
        /* No state file yet: the whole state, which holds these stamps. */
        struct spate_buf b = {0};
        ok = ingest__pager_state(&s->pager, &b) == 0 &&
             ingest__write_atomic(s->state_path, b.data, b.len, 0) == 0;
        spate_buf_free(&b);
    } else if (s->append_fd < 0) {
        ok = 0;
    } else {
        size_t off = 0;
        while (ok && off < s->stamp_lines.len) {
            ssize_t w = write(s->append_fd, s->stamp_lines.data + off, s->stamp_lines.len - off);
            if (w > 0)
                off += (size_t)w;
            else if (!(w < 0 && errno == EINTR))
                ok = 0;
        }
        if (!ok) {
            int e = errno;
            close(s->append_fd);
            s->append_fd = -1;
            errno = e;
        }
    }
    spate_buf_reset(&s->stamp_lines);
    if (!ok) {
        /* Producing goes on: a crash before the next good write then stamps
         * the records of these pages anew when they are fetched again, as
         * before stamps were kept; stopping would lose more than that. */
        if (!s->write_failing)
            SPATE_ERROR(COMP, "%s: cannot write to the state file %s before producing: %s",
                        s->cfg->name, s->state_path, strerror(errno));
        s->write_failing = 1;
        return;
    }
    if (s->write_failing)
        SPATE_INFO(COMP, "%s: the state file %s is written again", s->cfg->name, s->state_path);
    s->write_failing = 0;
}

/* Stamp and produce every good response of this turn of the loop: the pages
 * produced for the first time get a stamp each, and one write per source
 * puts them all in its state file before any of their records is produced. */
static void produce_ready(struct ingest_engine *eng)
{
    if (!eng->ready)
        return;
    int64_t now_ms = spate_wall_ms();
    for (struct ingest_req *r = eng->ready; r; r = r->next) {
        struct ingest_src *s = r->src;
        if (r->nelems > first_new_record(r) && ingest__pager_stamp(&s->pager, r->entry, now_ms) &&
            ingest__pager_stamp_line(&s->pager, r->entry, &s->stamp_lines) != 0)
            SPATE_ERROR(COMP, "%s: out of memory writing a stamp", s->cfg->name);
    }
    for (size_t i = 0; i < eng->nsrc; i++)
        write_ahead(&eng->srcs[i]);
    while (eng->ready) {
        struct ingest_req *r = eng->ready;
        eng->ready = r->next;
        r->next = NULL;
        produce_body(r->src, r);
        entry_finish(r->src, r);
    }
    eng->ready_tail = NULL;
}

static void on_done(struct ingest_engine *eng, CURL *c, CURLcode res)
{
    struct ingest_req *r = NULL;
    curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&r);
    curl_multi_remove_handle(eng->multi, c);
    struct ingest_src *s = r->src;
    s->inflight--;
    if (r->solo)
        eng->solo_inflight--;
    int64_t now = spate_mono_us();
    metrics_histogram_observe(s->m_http_latency, (double)(now - r->started_us) / 1e6);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    eng->sum.requests++;
    metrics_counter_inc(status_counter(s, res == CURLE_OK ? status : 0));
    s->window_count++;
    if (now - s->window_start_us >= 1000000) {
        s->observed_rate = (double)s->window_count * 1e6 / (double)(now - s->window_start_us);
        s->window_start_us = now;
        s->window_count = 0;
    }
    char reason[96];
    if (res != CURLE_OK) {
        if (r->too_big) {
            SPATE_ERROR(COMP, "%s: response of %s exceeds %zu bytes (the least of batch_size "
                        "times the record limit plus 1 MiB, 256 MiB and "
                        "ingest.max_response_bytes_total)", s->cfg->name, r->url.data,
                        s->max_body);
            send_dlq(s, r, "body_too_large", r->body.data, r->body.len, NULL, 0);
            give_up(s, r, "body_too_large");
            return;
        }
        if (r->over_budget) {
            retry_alone(s, r);
            return;
        }
        SPATE_DEBUG(COMP, "%s: %s: %s", s->cfg->name, r->url.data,
                    r->errbuf[0] ? r->errbuf : curl_easy_strerror(res));
        snprintf(reason, sizeof reason, "transport_%d", (int)res);
        schedule_retry(s, r, reason, r->body.data, r->body.len);
        return;
    }
    if (status == 429) {
        ingest__bucket_on_throttle(&s->bucket, now, r->retry_after_ms, s->observed_rate);
        metrics_gauge_set(s->m_rate, s->bucket.rate);
        SPATE_DEBUG(COMP, "%s: 429, retry-after %" PRId64 " ms, rate now %.1f/s", s->cfg->name,
                    r->retry_after_ms, s->bucket.rate);
        schedule_retry(s, r, "http_429", r->body.data, r->body.len);
        return;
    }
    if (status >= 500 || status == 408) {
        snprintf(reason, sizeof reason, "http_%ld", status);
        schedule_retry(s, r, reason, r->body.data, r->body.len);
        return;
    }
    char *location = NULL;
    if ((status == 301 || status == 302 || status == 303 || status == 307 || status == 308) &&
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) {
        if (r->redirects >= MAX_REDIRECTS) {
            SPATE_WARN(COMP, "%s: %s: more than %d redirects; payload sent to the DLQ",
                       s->cfg->name, r->url.data, MAX_REDIRECTS);
            send_dlq(s, r, "too_many_redirects", r->body.data, r->body.len, NULL, 0);
            give_up(s, r, "too_many_redirects");
            return;
        }
        char host[256];
        int where =
            ingest__url_check(s->origin, location, &s->cfg->allow_hosts, host, sizeof host);
        if (where < 0) {
            SPATE_ERROR(COMP, "%s: %s redirects to %s%s, outside the source's origin %s: not "
                        "followed (list the host in the source's allow_hosts to follow it); "
                        "payload sent to the DLQ", s->cfg->name, r->url.data,
                        where == SPATE_EPERM ? "host " : "a URL that is not http(s)",
                        where == SPATE_EPERM ? host : "", s->origin);
            send_dlq(s, r, "redirect_outside_origin", r->body.data, r->body.len, NULL, 0);
            give_up(s, r, "redirect_outside_origin");
            return;
        }
        char *next = strdup(location);
        if (next) {
            free(r->redirect_url);
            r->redirect_url = next;
            r->redirects++;
            body_uncount(eng, r);
            spate_buf_reset(&r->body);
            int rc = req_start(s, r);
            if (rc != 0 && rc != SPATE_EPERM)
                schedule_retry(s, r, "local_error", NULL, 0);
            return;
        }
    }
    if (status < 200 || status >= 300) {
        snprintf(reason, sizeof reason, "http_%ld", status);
        SPATE_WARN(COMP, "%s: %s answered %ld; payload sent to the DLQ", s->cfg->name,
                   r->url.data, status);
        send_dlq(s, r, reason, r->body.data, r->body.len, NULL, 0);
        give_up(s, r, reason);
        return;
    }
    ingest__bucket_on_success(&s->bucket);
    if (parse_body(s, r)) {
        schedule_retry(s, r, "bad_payload", NULL, 0);
        return;
    }
    r->next = NULL;
    if (eng->ready_tail)
        eng->ready_tail->next = r;
    else
        eng->ready = r;
    eng->ready_tail = r;
}

/* ---------------------------------------------------------------- state */

static int mkdirs(const char *path)
{
    char tmp[4096];
    spate_strlcpy(tmp, path, sizeof tmp);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return SPATE_ESYS;
            *p = '/';
        }
    }
    return 0;
}

static void save_state(struct ingest_src *s, int force)
{
    if (!s->state_path || s->style == INGEST_STYLE_NONE)
        return;
    int64_t now = spate_mono_us();
    if (!s->pager.dirty || (!force && now - s->last_save_us < STATE_SAVE_INTERVAL_US))
        return;
    struct spate_buf b = {0};
    if (ingest__pager_state(&s->pager, &b) == 0) {
        if (ingest__write_atomic(s->state_path, b.data, b.len, 1) != 0) {
            SPATE_ERROR(COMP, "%s: cannot save state to %s: %s", s->cfg->name, s->state_path,
                        strerror(errno));
        } else {
            s->pager.dirty = 0;
            /* A new file: the next stamps go after this state, not the old one. */
            if (s->append_fd >= 0) {
                close(s->append_fd);
                s->append_fd = -1;
            }
        }
    }
    spate_buf_free(&b);
    s->last_save_us = now;
}

static int load_state(struct ingest_src *s)
{
    char *text = spate_read_file(s->state_path);
    if (!text) {
        if (errno == ENOENT)
            return 0;
        SPATE_ERROR(COMP, "%s: cannot read the state file %s: %s", s->cfg->name, s->state_path,
                    strerror(errno));
        return SPATE_ESYS;
    }
    char why[256];
    int rc = ingest__pager_load(&s->pager, text, why, sizeof why);
    free(text);
    if (rc == SPATE_ENOMEM)
        return rc;
    if (rc != 0) {
        SPATE_ERROR(COMP, "%s: state file %s, %s; remove it or use --reset", s->cfg->name,
                    s->state_path, why);
        return SPATE_EPARSE;
    }
    SPATE_INFO(COMP, "%s: resuming from %s", s->cfg->name, s->state_path);
    return 0;
}

/* ---------------------------------------------------------------- set-up */

static int src_init(struct ingest_engine *eng, struct ingest_src *s,
                    const struct spate_source_config *cfg)
{
    const struct ingest_options *o = eng->opts;
    s->append_fd = -1;
    s->cfg = cfg;
    s->eng = eng;
    if (ingest__style_parse(cfg->pagination.style, &s->style) != 0)
        return SPATE_ECONFIG;
    ingest__pager_init(&s->pager, s->style, cfg->pagination.start_page,
                       cfg->pagination.max_pages);
    double rate = o->rate >= 0 ? o->rate : cfg->rate_limit;
    if (strcmp(cfg->mode, "interval") == 0 && cfg->interval_ms > 0) {
        double per = 1000.0 / cfg->interval_ms;
        if (rate <= 0 || rate > per)
            rate = per;
    }
    int64_t now = spate_mono_us();
    ingest__bucket_init(&s->bucket, rate, now);
    s->window_start_us = now;
    s->concurrency = o->concurrency > 0 ? o->concurrency : cfg->concurrency;
    s->batch = o->batch > 0 ? o->batch : cfg->batch_size;
    if (o->record_rate > 0) {
        /* Ten requests a second: a request's records enter the pipeline
         * together and leave it one after the other, so a page of half a
         * second's records made the last of them wait for the first; smaller
         * and more often keeps the flow smooth (batch_size stays the bound). */
        if (o->record_rate / 10 < s->batch)
            s->batch = o->record_rate / 10 < 1 ? 1 : (int)(o->record_rate / 10);
        double r = o->record_rate / s->batch;
        if (strcmp(cfg->mode, "interval") == 0 && cfg->interval_ms > 0 &&
            r > 1000.0 / cfg->interval_ms)
            r = 1000.0 / cfg->interval_ms;
        ingest__bucket_init(&s->bucket, r, now);
    }
    if (o->topic_raw)
        snprintf(s->topic_raw, sizeof s->topic_raw, "%s", o->topic_raw);
    else
        spate_config_topic_of(eng->cfg, cfg->pipeline, "raw", s->topic_raw, sizeof s->topic_raw);
    if (o->topic_dlq)
        snprintf(s->topic_dlq, sizeof s->topic_dlq, "%s", o->topic_dlq);
    else
        spate_config_topic_of(eng->cfg, cfg->pipeline, "dlq", s->topic_dlq, sizeof s->topic_dlq);
    s->seed = o->seed ? o->seed : cfg->seed;
    if (jsonpath_compile(cfg->records_path, &s->records_jp) != 0 ||
        jsonpath_compile(cfg->key_path, &s->key_jp) != 0 ||
        (cfg->pagination.cursor_path &&
         jsonpath_compile(cfg->pagination.cursor_path, &s->cursor_jp) != 0)) {
        SPATE_ERROR(COMP, "%s: bad JSON path in records_path, key_path or cursor_path",
                    cfg->name);
        return SPATE_ECONFIG;
    }
    if (s->style == INGEST_STYLE_CURSOR && !s->cursor_jp)
        return SPATE_ECONFIG;
    if (cfg->pagination.follow_ms > 0 && s->style != INGEST_STYLE_PAGE) {
        SPATE_ERROR(COMP, "%s: pagination.follow needs pagination.style page: a cursor or "
                    "link API that ends gives no position to look for new records from",
                    cfg->name);
        return SPATE_ECONFIG;
    }
    if (s->style != INGEST_STYLE_NONE) {
        if (cfg->state_file) {
            s->state_path = strdup(cfg->state_file);
        } else {
            size_t len = strlen(eng->cfg->stack.data_dir) + strlen(cfg->name) + 32;
            s->state_path = malloc(len);
            if (s->state_path)
                snprintf(s->state_path, len, "%s/ingest/%s.state", eng->cfg->stack.data_dir,
                         cfg->name);
        }
        if (!s->state_path)
            return SPATE_ENOMEM;
        if (mkdirs(s->state_path) != 0) {
            SPATE_ERROR(COMP, "%s: cannot create the directory of %s: %s", cfg->name,
                        s->state_path, strerror(errno));
            return SPATE_ESYS;
        }
        if (o->reset_state) {
            unlink(s->state_path);
        } else {
            int rc = load_state(s);
            if (rc)
                return rc;
        }
    }
    struct spate_buf first = {0};
    int orc = ingest__build_url(cfg, cfg->pagination.start_page, NULL, s->batch, s->seed, &first);
    if (orc == 0 && ingest__url_origin(first.data, s->origin, sizeof s->origin) != 0)
        orc = SPATE_ECONFIG;
    spate_buf_free(&first);
    if (orc != 0) {
        SPATE_ERROR(COMP, "%s: url is not an absolute http(s) URL", cfg->name);
        return orc == SPATE_ENOMEM ? orc : SPATE_ECONFIG;
    }
    src_metrics(s);
    metrics_gauge_set(s->m_rate, s->bucket.rate);
    return 0;
}

static void src_free(struct ingest_src *s)
{
    ingest__pager_free(&s->pager);
    spate_buf_free(&s->stamp_lines);
    if (s->append_fd >= 0)
        close(s->append_fd);
    jsonpath_free(s->records_jp);
    jsonpath_free(s->key_jp);
    jsonpath_free(s->cursor_jp);
    free(s->state_path);
}

/* ---------------------------------------------------------------- loop */

static int src_finished(const struct ingest_src *s, const struct ingest_engine *eng)
{
    if (s->inflight || s->waiting)
        return 0;
    if (eng->bound_reached || s->pager.stopped)
        return 1;
    if (s->cfg->pagination.follow_ms > 0 && s->pager.done)
        return 0; /* the end of the data for now: follow() looks again */
    return !ingest__pager_can_issue(&s->pager);
}

/* pagination.follow: once a source reached the end of its data and nothing
 * is open, wait follow_ms and start over where new records will appear.
 * Returns microseconds until it is due (or a large value). */
static int64_t follow(struct ingest_src *s, int64_t now)
{
    int64_t every = s->cfg->pagination.follow_ms * 1000;
    if (every <= 0 || !s->pager.done || s->inflight || s->waiting ||
        ingest__pager_open(&s->pager) > 0)
        return INT64_MAX;
    if (s->follow_due_us == 0) {
        s->follow_due_us = now + every;
        SPATE_DEBUG(COMP, "%s: end of the data at page %" PRId64 "; looking again in %" PRId64
                    " ms", s->cfg->name, s->pager.end_page, every / 1000);
    }
    if (now < s->follow_due_us)
        return s->follow_due_us - now;
    s->follow_due_us = 0;
    ingest__pager_follow(&s->pager, s->batch);
    return 0;
}

/* Would `records` more records fit in the producer's queue? */
static int queue_has_room(const struct ingest_engine *eng, int64_t records)
{
    double avg = eng->avg_record_bytes > 0 ? eng->avg_record_bytes : 2048;
    int64_t msgs = rd_kafka_outq_len(eng->rk) + records;
    double bytes = (double)eng->queued_bytes + (double)records * avg * 1.25;
    return msgs <= eng->queue_limit_msgs && bytes <= (double)eng->queue_limit_bytes;
}

/* Issue due retries and new requests; returns microseconds until the rate
 * limiter lets the next one go (or a large value when nothing waits on it). */
static int64_t pump(struct ingest_engine *eng, int64_t now)
{
    int64_t wake = 100000;
    /* A request waiting to run alone (retry_alone) holds back every other
     * start until it has run, or it could wait for ever. */
    int solo_waiting = 0, inflight = 0;
    for (struct ingest_req *r = eng->retries; r; r = r->next)
        solo_waiting |= r->solo;
    for (size_t i = 0; i < eng->nsrc; i++)
        inflight += eng->srcs[i].inflight;
    int hold = solo_waiting || eng->solo_inflight > 0;
    /* Retries first: they hold their slot. */
    struct ingest_req **pp = &eng->retries;
    while (*pp) {
        struct ingest_req *r = *pp;
        struct ingest_src *s = r->src;
        int alone_ok = inflight == 0 && eng->body_bytes == 0;
        if (hold && !(r->solo && alone_ok)) {
            /* in-flight answers and delivery reports wake the loop */
            if (wake > 2000)
                wake = 2000;
            pp = &r->next;
            continue;
        }
        if (r->due_us > now) {
            if (r->due_us - now < wake)
                wake = r->due_us - now;
            pp = &r->next;
            continue;
        }
        int64_t w = ingest__bucket_take(&s->bucket, now);
        if (w > 0) {
            if (w < wake)
                wake = w;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        r->next = NULL;
        s->waiting--;
        int rc = req_start(s, r);
        if (rc == SPATE_EPERM)
            continue;
        if (rc != 0) {
            SPATE_ERROR(COMP, "%s: cannot start a request", s->cfg->name);
            schedule_retry(s, r, "local_error", NULL, 0);
        }
        inflight++;
    }
    if (eng->stopping || eng->fatal || hold || eng->solo_inflight > 0)
        return wake;
    int64_t coming = 0; /* records requested, not yet produced */
    for (size_t i = 0; i < eng->nsrc; i++)
        coming += (int64_t)(eng->srcs[i].inflight + eng->srcs[i].waiting) * eng->srcs[i].batch;
    for (size_t i = 0; i < eng->nsrc; i++) {
        int64_t w = follow(&eng->srcs[i], now);
        if (w < wake)
            wake = w;
    }
    for (size_t i = 0; i < eng->nsrc; i++) {
        struct ingest_src *s = &eng->srcs[i];
        while (!eng->bound_reached && s->inflight + s->waiting < s->concurrency &&
               ingest__pager_can_issue(&s->pager)) {
            /* an idle producer always takes one request, however large the batch */
            if ((coming > 0 || rd_kafka_outq_len(eng->rk) > 0) &&
                !queue_has_room(eng, coming + s->batch)) {
                if (wake > 2000)
                    wake = 2000; /* delivery reports free room within milliseconds */
                break;
            }
            coming += s->batch;
            int64_t w = ingest__bucket_take(&s->bucket, now);
            if (w > 0) {
                if (w < wake)
                    wake = w;
                break;
            }
            int batch = s->batch;
            if (eng->opts->max_records > 0) {
                int64_t left = eng->opts->max_records - eng->planned;
                if (left <= 0) {
                    eng->bound_reached = 1;
                    break;
                }
                if (left < batch)
                    batch = (int)left;
            }
            struct ingest_req *r = req_new(eng);
            struct ingest_entry *e = r ? ingest__pager_issue(&s->pager) : NULL;
            if (!e) {
                if (r)
                    req_release(eng, r);
                SPATE_ERROR(COMP, "out of memory");
                eng->fatal = 1;
                return wake;
            }
            e->owner = s;
            r->src = s;
            r->entry = e;
            r->batch = batch;
            r->attempt = 0;
            eng->planned += batch;
            if (eng->opts->max_records > 0 && eng->planned >= eng->opts->max_records)
                eng->bound_reached = 1;
            int rc = req_start(s, r);
            if (rc != 0 && rc != SPATE_EPERM) {
                SPATE_ERROR(COMP, "%s: cannot start a request", s->cfg->name);
                schedule_retry(s, r, "local_error", NULL, 0);
            }
        }
    }
    return wake;
}

static int all_finished(struct ingest_engine *eng)
{
    for (size_t i = 0; i < eng->nsrc; i++)
        if (!src_finished(&eng->srcs[i], eng))
            return 0;
    return 1;
}

static void drop_retries(struct ingest_engine *eng)
{
    while (eng->retries) {
        struct ingest_req *r = eng->retries;
        eng->retries = r->next;
        r->src->waiting--;
        req_release(eng, r);
    }
}

static void begin_stop(struct ingest_engine *eng, const char *why)
{
    if (eng->stopping)
        return;
    eng->stopping = 1;
    int inflight = 0;
    for (size_t i = 0; i < eng->nsrc; i++)
        inflight += eng->srcs[i].inflight;
    SPATE_INFO(COMP, "%s: stopping; finishing %d in-flight requests and delivery reports", why,
               inflight);
    drop_retries(eng);
}

static void run_loop(struct ingest_engine *eng)
{
    int64_t t0 = spate_mono_ms();
    for (;;) {
        int64_t now = spate_mono_us();
        if (!eng->stopping && eng->stop && *eng->stop)
            begin_stop(eng, "signal");
        if (!eng->stopping && eng->opts->duration_ms > 0 &&
            spate_mono_ms() - t0 >= eng->opts->duration_ms)
            begin_stop(eng, "duration reached");
        if (!eng->stopping && eng->fatal)
            begin_stop(eng, "fatal error");
        int64_t wake = pump(eng, now);
        int running = 0;
        curl_multi_perform(eng->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(eng->multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                on_done(eng, msg->easy_handle, msg->data.result);
        produce_ready(eng);
        drain_event_pipe(eng);
        rd_kafka_poll(eng->rk, 0);
        int inflight = 0;
        for (size_t i = 0; i < eng->nsrc; i++) {
            inflight += eng->srcs[i].inflight;
            save_state(&eng->srcs[i], 0);
        }
        metrics_gauge_set(eng->m_queue_depth, (double)rd_kafka_outq_len(eng->rk));
        metrics_gauge_set(eng->m_inflight, inflight);
        if (eng->stopping ? inflight == 0 : all_finished(eng))
            break;
        int timeout_ms = (int)(wake / 1000);
        if (timeout_ms < 1)
            timeout_ms = wake > 0 ? 1 : 0;
        if (timeout_ms > 100)
            timeout_ms = 100;
        struct curl_waitfd wfd = {.fd = eng->event_pipe[0], .events = CURL_WAIT_POLLIN};
        curl_multi_poll(eng->multi, eng->event_pipe[0] >= 0 ? &wfd : NULL,
                        eng->event_pipe[0] >= 0 ? 1 : 0, timeout_ms, NULL);
    }
    /* Every request is over; now wait for every delivery report. */
    int64_t last_log = spate_mono_ms();
    int purged = 0;
    while (rd_kafka_outq_len(eng->rk) > 0) {
        if (!purged && eng->stop && *eng->stop >= 2) {
            /* A second signal: give up waiting (the broker may be gone for
             * good). Purged messages come back as failed delivery reports,
             * so the summary counts them and the state stays before them. */
            SPATE_WARN(COMP, "second signal: abandoning %d undelivered messages",
                       rd_kafka_outq_len(eng->rk));
            rd_kafka_purge(eng->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            purged = 1;
        }
        rd_kafka_flush(eng->rk, 200);
        if (spate_mono_ms() - last_log > 5000) {
            SPATE_INFO(COMP, "waiting for %d delivery reports", rd_kafka_outq_len(eng->rk));
            last_log = spate_mono_ms();
        }
        for (size_t i = 0; i < eng->nsrc; i++)
            save_state(&eng->srcs[i], 0);
    }
    rd_kafka_poll(eng->rk, 0);
    for (size_t i = 0; i < eng->nsrc; i++)
        save_state(&eng->srcs[i], 1);
}

static int source_wanted(const struct ingest_options *o, const char *name)
{
    if (o->source)
        return strcmp(o->source, name) == 0;
    if (!o->nsources)
        return 1;
    for (size_t i = 0; i < o->nsources; i++)
        if (!strcmp(o->sources[i], name))
            return 1;
    return 0;
}

int ingest_run(const struct spate_config *cfg, const struct ingest_options *opts,
               volatile sig_atomic_t *stop, struct ingest_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    int64_t t0 = spate_mono_ms();
    struct ingest_engine *eng = calloc(1, sizeof *eng);
    if (!eng)
        return SPATE_ENOMEM;
    eng->cfg = cfg;
    eng->opts = opts;
    eng->stop = stop;
    eng->event_pipe[0] = eng->event_pipe[1] = -1;
    eng->reg = opts->metrics;
    eng->topic_raw = opts->topic_raw ? opts->topic_raw : cfg->kafka.topic_raw;
    eng->topic_dlq = opts->topic_dlq ? opts->topic_dlq : cfg->kafka.topic_dlq;
    eng->dlq_max = opts->dlq_max_bytes > 0 ? (size_t)opts->dlq_max_bytes : DEFAULT_DLQ_MAX_BYTES;
    eng->body_limit = (size_t)cfg->ingest.max_response_bytes_total;
    eng->rng = (uint64_t)spate_wall_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
    snprintf(eng->run_id, sizeof eng->run_id, "%012" PRIx64,
             (uint64_t)(spate_rand64(&eng->rng) & 0xFFFFFFFFFFFFull));
    int rc = 0;

    for (size_t j = 0; j < opts->nsources; j++)
        if (!spate_config_source(cfg, opts->sources[j])) {
            SPATE_ERROR(COMP, "no source named '%s' in the config", opts->sources[j]);
            free(eng);
            return SPATE_ECONFIG;
        }
    size_t want = 0;
    for (size_t i = 0; i < cfg->source_count; i++)
        if (source_wanted(opts, cfg->sources[i].name))
            want++;
    if (want == 0) {
        if (opts->source)
            SPATE_ERROR(COMP, "no source named '%s' in the config", opts->source);
        else
            SPATE_ERROR(COMP, "the config has no sources");
        free(eng);
        return SPATE_ECONFIG;
    }
    eng->srcs = calloc(want, sizeof *eng->srcs);
    if (!eng->srcs) {
        free(eng);
        return SPATE_ENOMEM;
    }
    if (eng->reg) {
        eng->m_dlq_acked = metrics_counter(eng->reg, "spate_ingest_dlq_produced_total",
                                           "Messages acknowledged by Kafka in the DLQ topic",
                                           NULL);
        eng->m_produce_latency = metrics_histogram(
            eng->reg, "spate_ingest_produce_latency_seconds",
            "Time from produce to delivery report", NULL, metrics_latency_buckets,
            metrics_latency_nbuckets);
        eng->m_queue_depth = metrics_gauge(eng->reg, "spate_ingest_producer_queue_depth",
                                           "Messages waiting in the producer", NULL);
        eng->m_inflight = metrics_gauge(eng->reg, "spate_ingest_requests_in_flight",
                                        "HTTP requests in flight", NULL);
    }
    for (size_t i = 0; i < cfg->source_count && rc == 0; i++) {
        if (!source_wanted(opts, cfg->sources[i].name))
            continue;
        rc = src_init(eng, &eng->srcs[eng->nsrc], &cfg->sources[i]);
        eng->nsrc++;
    }
    if (rc == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        rc = SPATE_EHTTP;
    if (rc == 0) {
        eng->multi = curl_multi_init();
        if (!eng->multi)
            rc = SPATE_ENOMEM;
        else
            curl_multi_setopt(eng->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    }
    if (rc == 0)
        rc = producer_start(eng);
    if (rc == 0) {
        for (size_t i = 0; i < eng->nsrc; i++)
            SPATE_INFO(COMP, "%s: polling %s (%s pagination, batch %d, %d in flight, rate %s) "
                       "into %s",
                       eng->srcs[i].cfg->name, eng->srcs[i].cfg->url, eng->srcs[i].cfg->pagination.style,
                       eng->srcs[i].batch, eng->srcs[i].concurrency,
                       eng->srcs[i].bucket.rate > 0 ? "limited" : "unlimited",
                       eng->srcs[i].topic_raw);
        run_loop(eng);
        if (eng->sum.failed > 0 || eng->fatal)
            rc = SPATE_EKAFKA;
        for (size_t i = 0; i < eng->nsrc; i++) {
            const struct ingest_src *s = &eng->srcs[i];
            if (!s->gave_up)
                continue;
            eng->sum.gave_up++;
            SPATE_ERROR(COMP, "%s: stopped at %s (%s); the records from there on were not "
                        "fetched. The saved state (%s) resumes there: fix the cause and run "
                        "spate ingest again", s->cfg->name, s->gave_up_at, s->gave_up_why,
                        s->state_path ? s->state_path : "-");
        }
        if (rc == 0 && eng->sum.gave_up > 0)
            rc = SPATE_EHTTP;
    }
    if (rc == SPATE_ECANCELED)
        rc = 0; /* a signal while creating topics: nothing was fetched */

    /* Tear-down. */
    while (eng->free_reqs) {
        struct ingest_req *r = eng->free_reqs;
        eng->free_reqs = r->next;
        req_destroy(r);
    }
    for (size_t i = 0; eng->rk && i < eng->nsrc; i++) {
        struct ingest_src *s = &eng->srcs[i];
        if (eng->sum.nsources < INGEST_SUMMARY_SOURCES) {
            struct ingest_source_summary *ss = &eng->sum.sources[eng->sum.nsources++];
            snprintf(ss->name, sizeof ss->name, "%s", s->cfg->name);
            snprintf(ss->topic_raw, sizeof ss->topic_raw, "%s", s->topic_raw);
            ss->fetched = s->n_fetched;
            ss->produced = s->n_produced;
            ss->dlq = s->n_dlq;
        }
        if (s->rkt_raw)
            rd_kafka_topic_destroy(s->rkt_raw);
        if (s->rkt_dlq)
            rd_kafka_topic_destroy(s->rkt_dlq);
    }
    if (eng->rk) {
        if (eng->rkt_dlq && eng->rkt_dlq != eng->rkt_raw)
            rd_kafka_topic_destroy(eng->rkt_dlq);
        if (eng->rkt_raw)
            rd_kafka_topic_destroy(eng->rkt_raw);
        rd_kafka_destroy(eng->rk);
    }
    if (eng->multi) {
        curl_multi_cleanup(eng->multi);
        curl_global_cleanup();
    }
    for (int i = 0; i < 2; i++)
        if (eng->event_pipe[i] >= 0)
            close(eng->event_pipe[i]);
    for (size_t i = 0; i < eng->nsrc; i++)
        src_free(&eng->srcs[i]);
    free(eng->srcs);
    for (size_t i = 0; i < eng->nbody_pool; i++)
        spate_buf_free(&eng->body_pool[i]);
    *summary = eng->sum;
    summary->elapsed_ms = spate_mono_ms() - t0;
    free(eng);
    return rc;
}
