/* SPDX-License-Identifier: Apache-2.0 */
/* sink.c -- the sink engine: consumer group in, prepared async upserts out, commits behind acks. */
#include "spate/sink.h"

#include "sink_internal.h"

#include "spate/cql.h"
#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/log.h"
#include "spate/metrics.h"
#include "spate/util.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define LOG "sink"

/* ---- structures ------------------------------------------------------------ */

struct sink_column {
    char *name;
    struct sink_expr *expr;
    struct sink_type *type;
    int pk; /* partition key or clustering column: must not be null */
};

struct sink_table {
    char *ks, *name;
    char *label; /* "ks.name" */
    struct sink_column *cols;
    size_t ncols;
    enum cql_consistency cl;
    int ttl_s;
    struct sink_expr *ts_expr; /* write timestamp from a field, or NULL */
    /* INSERT ... USING TIMESTAMP ?: ncols values, then the write time, bound
     * per row because the rows of one BATCH have their own */
    const struct cql_prepared *stmt;
    size_t nbind;
    struct metrics_counter *m_rows;
    /* Set while the table refuses every write (a permission revoked, the
     * table or a column dropped): its writes wait, consumption pauses, and
     * one write probes the table now and then until it is taken again. */
    const char *blocked;          /* cause label (sink__classify_write), NULL = writable */
    int64_t blocked_since_ms, next_probe_ms, last_block_log_ms;
    int probes;
    struct metrics_gauge *m_blocked; /* spate_sink_blocked{table,reason} of the cause */
};

struct sink_route {
    char *topic;
    struct sink_table *tables;
    size_t ntables;
    size_t max_cols;
    int is_dlq; /* the DLQ topic itself: its poison records are not re-sent there */
    char *dlq;  /* where its poison records go: the DLQ of the topic's pipeline */
};

struct sink_part {
    char *topic;
    int32_t partition;
    struct sink_track track;
    struct sink_part *next;
};

struct sink_rec;

struct sink_write {
    struct sink_rec *rec;
    size_t table;
    int attempts;
    int in_flight;
    int64_t due_ms;
    int64_t sent_us;
    struct sink_write *next_retry;
    int queued;
    void *enc; /* serialized values while the write waits in a batch */
    size_t enc_len;
};

/* Writes that go to one replica in one UNLOGGED BATCH request. */
struct sink_batch {
    struct sink *sk;
    enum cql_consistency cl;
    size_t n, bytes;
    struct sink_write **w;
};

/* What a record keeps of its Kafka message: a copy, so the consumer's fetch
 * buffers are released at once (a message pins its whole fetch response). */
struct sink_kmsg {
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 = none */
    char *key;            /* NULL = no key */
    size_t key_len;
    char *payload;        /* NULL = no value */
    size_t len;
    rd_kafka_headers_t *headers; /* NULL = none */
};

struct sink_rec {
    struct sink *sk;
    struct sink_kmsg msg;
    struct sink_route *route;
    struct sink_part *part; /* NULL once abandoned (partition revoked) */
    uint64_t seq;
    int pending; /* writes not acknowledged + DLQ delivery outstanding */
    int poisoned;
    char *reason;
    int64_t ingested_ms; /* -1 = unknown */
    struct sink_rec *prev, *next;
    /* the DLQ write: retried from the main loop, never from its own failure */
    size_t dlq_budget;      /* envelope bytes allowed; 0 = not computed yet */
    int dlq_attempts;
    int dlq_queued;         /* waiting in sk->dlq_retry (counted in pending) */
    int dlq_stuck;          /* failed for good so far: counted in sk->ndlq_stuck */
    int64_t dlq_due_ms;
    struct sink_rec *dlq_next;
    struct sink_write w[];
};

struct sink {
    const struct spate_config *cfg;
    const struct sink_options *opts;
    volatile sig_atomic_t *stop;
    const char *keyspace, *dlq_topic, *latency_field;
    int max_in_flight;
    /* records allowed in flight now: halved when writes time out (the node
     * is behind; more requests would only time out too and be retried), grown
     * back by one per acknowledged write, up to max_in_flight */
    int window;
    int64_t last_cut_ms;
    struct sink_route *routes;
    size_t nroutes;
    struct cql_session *cql;
    rd_kafka_t *consumer, *producer;
    struct sink_part *parts;
    rd_kafka_topic_partition_list_t *assigned;
    struct sink_rec *live;      /* every record not yet done */
    size_t nlive;
    struct sink_write *retry;   /* writes waiting for their retry time */
    size_t nretry;
    int paused;
    int down;                   /* Cassandra unreachable or refusing */
    int nblocked;               /* tables refusing every write (see sink_table.blocked) */
    struct sink_rec *dlq_retry; /* records whose DLQ write waits for a new attempt */
    size_t ndlq_stuck;
    size_t dlq_max_bytes;       /* the DLQ producer's message.max.bytes */
    int64_t down_since_ms;
    struct sink_scratch sc;
    struct cql_value *vals;
    /* batches being filled, one per replica (host index % SINK_GROUPS) */
#define SINK_GROUPS 16
    struct sink_batch *pend[SINK_GROUPS];
    int closing;
    int fatal;
    char fatal_msg[256];
    struct spate_kafka_diag kdiag; /* connection errors, for a clear message */
    int64_t last_msg_ms;
    int64_t last_retry_log_ms;
    uint64_t rng;
    struct sink_summary sum;
    /* metrics */
    struct metrics_registry *reg;
    struct metrics_counter *m_new_fields;
    struct metrics_counter *m_records, *m_dlq, *m_retries, *m_poison, *m_dropped,
        *m_commits, *m_pauses, *m_dlq_failures;
    struct metrics_gauge *m_lag, *m_inflight, *m_paused, *m_up, *m_rate, *m_dlq_stuck;
    struct metrics_histogram *m_e2e, *m_write;
    struct metrics_histogram *m_hop[3]; /* fetched -> raw -> clean -> stored */
};

/* ---- helpers -------------------------------------------------------------- */

static struct sink_route *find_route(struct sink *sk, const char *topic)
{
    for (size_t i = 0; i < sk->nroutes; i++)
        if (strcmp(sk->routes[i].topic, topic) == 0)
            return &sk->routes[i];
    return NULL;
}

static struct sink_part *find_part(struct sink *sk, const char *topic, int32_t partition)
{
    for (struct sink_part *p = sk->parts; p; p = p->next)
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return p;
    return NULL;
}

static int header_lookup(void *arg, const char *name, const void **ptr, size_t *len)
{
    const struct sink_kmsg *m = arg;
    rd_kafka_headers_t *h = m->headers;
    if (!h)
        return SPATE_ENOTFOUND;
    return rd_kafka_header_get_last(h, name, ptr, len) == RD_KAFKA_RESP_ERR_NO_ERROR
               ? 0
               : SPATE_ENOTFOUND;
}

static void view_of(struct sink_rec *r, const json_t *root, struct sink_msg_view *v)
{
    struct sink_kmsg *m = &r->msg;
    memset(v, 0, sizeof *v);
    v->topic = r->route->topic;
    v->partition = m->partition;
    v->offset = m->offset;
    v->timestamp_ms = m->timestamp_ms;
    v->key = m->key;
    v->key_len = m->key_len;
    v->value = m->payload;
    v->value_len = m->len;
    v->root = root;
    v->header = header_lookup;
    v->header_arg = m;
    v->now_ms = spate_wall_ms();
}

static json_t *parse_value(const struct sink_kmsg *m, char *why, size_t whylen)
{
    if (!m->payload || m->len == 0) {
        snprintf(why, whylen, "empty value");
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(m->payload, m->len, 0, &je);
    if (!root) {
        snprintf(why, whylen, "value is not JSON: %s at position %d", je.text, je.position);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(why, whylen, "value is not a JSON object");
        return NULL;
    }
    return root;
}

/* Builds the values of table t for record r into sk->vals (and sk->sc).
 * Returns 0, or SPATE_ETYPE with the reason in why (poison). */
static int build_values(struct sink *sk, struct sink_rec *r, const struct sink_table *t,
                        const struct sink_msg_view *v, struct cql_value *vals,
                        struct cql_query_opts *qo, char *why, size_t whylen)
{
    char err[256];
    for (size_t i = 0; i < t->ncols; i++) {
        const struct sink_column *c = &t->cols[i];
        struct sink_datum d;
        int rc = sink__expr_eval(c->expr, v, &d, err, sizeof err);
        if (rc == 0)
            rc = sink__convert(c->type, &d, &sk->sc, &vals[i], err, sizeof err);
        if (rc == SPATE_ENOMEM)
            return rc;
        if (rc) {
            snprintf(why, whylen, "%s.%s: %s", t->name, c->name, err);
            return SPATE_ETYPE;
        }
        if (vals[i].kind == CQL_V_NULL) {
            if (c->pk) {
                snprintf(why, whylen, "%s.%s: primary key column is missing or null%s%s",
                         t->name, c->name, r->reason ? " (" : "", r->reason ? r->reason : "");
                if (r->reason)
                    spate_strlcpy(why + strlen(why), ")", whylen - strlen(why));
                return SPATE_ETYPE;
            }
            /* unset, not null: no tombstone for a field the record does not carry */
            vals[i] = cql_unset();
        }
    }
    memset(qo, 0, sizeof *qo);
    qo->consistency = t->cl;
    qo->idempotent = 1;
    vals[t->ncols] = cql_unset(); /* no write time of ours: the node's clock */
    if (!t->ts_expr && v->timestamp_ms >= 0) {
        /* Writes of one partition are in flight together, so two records with
         * the same primary key could reach the node in either order. Their
         * Kafka timestamp (plus the offset's last digits, for records of the
         * same millisecond) as the write timestamp makes the later record win
         * whatever the arrival order, and makes a replay write the same cells. */
        qo->has_timestamp = 1;
        qo->timestamp = v->timestamp_ms * 1000 + v->offset % 1000;
        vals[t->ncols] = (struct cql_value){.kind = CQL_V_INT, .u.i = qo->timestamp};
    } else if (t->ts_expr) {
        struct sink_datum d;
        struct sink_type tst = {.id = CQL_TYPE_TIMESTAMP};
        struct cql_value tv;
        if (sink__expr_eval(t->ts_expr, v, &d, err, sizeof err) == 0 && d.kind != SINK_D_NULL &&
            sink__convert(&tst, &d, &sk->sc, &tv, err, sizeof err) == 0) {
            qo->has_timestamp = 1;
            qo->timestamp = tv.u.i * 1000;
            vals[t->ncols] = (struct cql_value){.kind = CQL_V_INT, .u.i = qo->timestamp};
        }
    }
    return 0;
}

/* ---- record life cycle --------------------------------------------------------- */

static void dlq_unqueue(struct sink *sk, struct sink_rec *r)
{
    for (struct sink_rec **pp = &sk->dlq_retry; *pp; pp = &(*pp)->dlq_next)
        if (*pp == r) {
            *pp = r->dlq_next;
            break;
        }
    r->dlq_next = NULL;
    r->dlq_queued = 0;
}

static void set_dlq_stuck(struct sink *sk, struct sink_rec *r, int stuck)
{
    if (stuck == r->dlq_stuck)
        return;
    r->dlq_stuck = stuck;
    if (stuck)
        sk->ndlq_stuck++;
    else
        sk->ndlq_stuck--;
    metrics_gauge_set(sk->m_dlq_stuck, (double)sk->ndlq_stuck);
}

static void rec_free(struct sink *sk, struct sink_rec *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (sk->live == r)
        sk->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    sk->nlive--;
    if (r->dlq_queued)
        dlq_unqueue(sk, r);
    set_dlq_stuck(sk, r, 0);
    free(r->msg.key);
    free(r->msg.payload);
    if (r->msg.headers)
        rd_kafka_headers_destroy(r->msg.headers);
    free(r->reason);
    for (size_t i = 0; r->route && i < r->route->ntables; i++)
        free(r->w[i].enc);
    free(r);
}

/* Epoch ms in a header's decimal text, or -1. */
static int64_t header_ms(const struct sink_rec *r, const char *name)
{
    const void *p;
    size_t len;
    if (header_lookup((void *)&r->msg, name, &p, &len) != 0 || len == 0 || len > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        char c = ((const char *)p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

/* Splits the record's way into its hops: ingest stamped spate.fetched_at when
 * it fetched the record, Kafka stamped the raw record (Spark passes that on
 * as spate.raw_at) and the clean one, and the node acknowledged it now. */
static void observe_hops(struct sink *sk, const struct sink_rec *r, int64_t now_ms)
{
    int64_t fetched = header_ms(r, "spate.fetched_at"), raw = header_ms(r, "spate.raw_at");
    int64_t clean = r->msg.timestamp_ms;
    if (fetched < 0 || raw < 0 || clean < 0)
        return;
    int64_t t[4] = {fetched, raw, clean, now_ms};
    for (int i = 0; i < 3; i++) {
        double d = (double)(t[i + 1] - t[i]) / 1000.0;
        metrics_histogram_observe(sk->m_hop[i], d < 0 ? 0 : d); /* clocks of two hosts */
    }
}

static void rec_finish(struct sink *sk, struct sink_rec *r)
{
    if (r->part) {
        sink__track_done(&r->part->track, r->seq);
        sk->sum.records++;
        metrics_counter_inc(sk->m_records);
        if (!r->poisoned) {
            int64_t now = spate_wall_ms();
            if (r->ingested_ms >= 0) {
                double lat = (double)(now - r->ingested_ms) / 1000.0;
                metrics_histogram_observe(sk->m_e2e, lat < 0 ? 0 : lat);
            }
            observe_hops(sk, r, now);
            /* schema drift: Spark names the raw record's fields its SQL does
             * not know yet (pipelines written by `spate init`) */
            const void *nf;
            size_t nflen;
            if (header_lookup(&r->msg, "spate.new_fields", &nf, &nflen) == 0)
                metrics_counter_inc(sk->m_new_fields);
        }
    }
    rec_free(sk, r);
}

/* DLQ attempts for a transient producer error before the record counts as
 * stuck; a stuck record is still tried again, at DLQ_RECHECK_MS, so that a
 * topic or ACL fixed by an operator lets the sink go on without a restart. */
#define DLQ_MAX_ATTEMPTS 10
#define DLQ_RECHECK_MS 30000
/* Bytes of a Kafka record besides key, value and headers (lengths, varints,
 * attributes), with room to spare; an envelope cut a few bytes short costs
 * nothing, one that is a byte too long fails again. */
#define DLQ_FRAMING_BYTES 512
/* A smaller envelope is not worth sending: the reason and coordinates fit. */
#define DLQ_MIN_BUDGET 2048

static void dlq_schedule(struct sink *sk, struct sink_rec *r, int64_t delay_ms)
{
    r->dlq_due_ms = spate_mono_ms() + delay_ms;
    r->dlq_queued = 1;
    r->pending++; /* the DLQ write is still owed */
    r->dlq_next = sk->dlq_retry;
    sk->dlq_retry = r;
}

/* Errors the producer may get past by itself: the queue drains, a leader is
 * elected, the broker comes back. */
static int dlq_transient(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR: return 1;
    default: return 0;
    }
}

/* The DLQ write of r failed with e (detail when it never reached Kafka): try
 * again later from the main loop, smaller when Kafka said it is too large;
 * a failure that does not go away is logged, counted and leaves the record
 * pending, so no commit passes it. */
static void dlq_failed(struct sink *sk, struct sink_rec *r, rd_kafka_resp_err_t e,
                       const char *detail)
{
    const struct sink_kmsg *m = &r->msg;
    if (e == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_fatal_error(sk->producer, why, sizeof why);
        if (!sk->fatal)
            snprintf(sk->fatal_msg, sizeof sk->fatal_msg,
                     "DLQ producer failed for good (%s) at %s[%" PRId32 "]@%" PRId64
                     ": nothing past it is committed; restart the sink",
                     why, r->route->topic, m->partition, m->offset);
        sk->fatal = 1;
        set_dlq_stuck(sk, r, 1);
        dlq_schedule(sk, r, DLQ_RECHECK_MS); /* stays pending until the end */
        return;
    }
    if ((e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
         e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE) &&
        r->dlq_budget / 2 >= DLQ_MIN_BUDGET) {
        /* the topic's or broker's limit is below the producer's: halve */
        r->dlq_budget /= 2;
        SPATE_WARN(LOG, "%s[%" PRId32 "]@%" PRId64 ": DLQ record too large for the topic (%s); "
                        "sending it cut to %zu bytes",
                   r->route->topic, m->partition, m->offset, rd_kafka_err2str(e),
                   r->dlq_budget);
        dlq_schedule(sk, r, 0);
        return;
    }
    r->dlq_attempts++;
    if (dlq_transient(e) && r->dlq_attempts <= DLQ_MAX_ATTEMPTS) {
        SPATE_DEBUG(LOG, "DLQ produce: %s, attempt %d: retrying", rd_kafka_err2str(e),
                    r->dlq_attempts);
        dlq_schedule(sk, r, spate_backoff_ms(r->dlq_attempts, 100, 5000, &sk->rng));
        return;
    }
    metrics_counter_inc(sk->m_dlq_failures);
    if (!r->dlq_stuck)
        SPATE_ERROR(LOG, "%s[%" PRId32 "]@%" PRId64 ": cannot write the poison record to %s: "
                         "%s%s%s (reason it is poison: %s); it is not committed, nor is "
                         "anything after it in its partition; trying again every %d s",
                    r->route->topic, m->partition, m->offset, r->route->dlq,
                    detail ? detail : rd_kafka_err2str(e), detail ? "" : " after ",
                    detail ? "" : (r->dlq_attempts > 1 ? "several attempts" : "one attempt"),
                    r->reason ? r->reason : "unknown", DLQ_RECHECK_MS / 1000);
    set_dlq_stuck(sk, r, 1);
    dlq_schedule(sk, r, DLQ_RECHECK_MS);
}

static void send_to_dlq(struct sink *sk, struct sink_rec *r)
{
    const struct sink_kmsg *m = &r->msg;
    if (r->route->is_dlq || !r->part) {
        /* A record of the DLQ topic itself that no table takes stays in that
         * topic (nothing is lost); sending it there again would loop. */
        if (r->part) {
            SPATE_ERROR(LOG, "%s[%" PRId32 "]@%" PRId64 ": cannot store DLQ record (%s); it "
                             "stays in the topic",
                        r->route->topic, m->partition, m->offset, r->reason);
            sk->sum.dropped++;
            metrics_counter_inc(sk->m_dropped);
        }
        rec_finish(sk, r);
        return;
    }
    const char *reason = r->reason ? r->reason : "unknown";
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    size_t header_bytes = 0;
    rd_kafka_headers_t *orig = m->headers;
    if (orig) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(orig, i, &name, &val, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             i++)
            if (strcmp(name, "spate.stage") != 0 && strcmp(name, "spate.error") != 0) {
                rd_kafka_header_add(h, name, -1, val, (ssize_t)size);
                header_bytes += strlen(name) + size + 16;
            }
    }
    rd_kafka_header_add(h, "spate.stage", -1, "sink", 4);
    rd_kafka_header_add(h, "spate.error", -1, reason, -1);
    header_bytes += 2 * 32 + strlen(reason);
    /* A key that alone nearly fills a message stays in the envelope only
     * (cut there if need be); the DLQ record goes without a Kafka key. */
    int with_key = m->key && m->key_len <= sk->dlq_max_bytes / 4;
    if (r->dlq_budget == 0) {
        size_t used = (with_key ? m->key_len : 0) + header_bytes + DLQ_FRAMING_BYTES;
        r->dlq_budget = sk->dlq_max_bytes > used + DLQ_MIN_BUDGET ? sk->dlq_max_bytes - used
                                                                  : DLQ_MIN_BUDGET;
    }

    char at[40];
    struct sink_datum now = {.kind = SINK_D_TIMESTAMP, .i = spate_wall_ms()};
    struct sink_type text = {.id = CQL_TYPE_VARCHAR};
    struct cql_value tv;
    char err[64];
    sink__convert(&text, &now, &sk->sc, &tv, err, sizeof err);
    snprintf(at, sizeof at, "%.*s", (int)tv.u.s.len, (const char *)tv.u.s.ptr);
    struct sink_dlq_in in = {.reason = reason,
                             .key = m->key,
                             .key_len = m->key_len,
                             .raw = m->payload,
                             .raw_len = m->len,
                             .at = at,
                             .topic = r->route->topic,
                             .partition = m->partition,
                             .offset = m->offset};
    char *payload = NULL;
    size_t plen = 0;
    int cut = 0;
    int rc = sink__dlq_envelope(&in, r->dlq_budget, &payload, &plen, &cut);
    if (rc) {
        rd_kafka_headers_destroy(h);
        if (rc == SPATE_ENOMEM) {
            dlq_failed(sk, r, RD_KAFKA_RESP_ERR__QUEUE_FULL, NULL);
            return;
        }
        char d[160];
        snprintf(d, sizeof d, "its envelope does not fit in %zu bytes (message.max.bytes %zu)",
                 r->dlq_budget, sk->dlq_max_bytes);
        dlq_failed(sk, r, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, d);
        return;
    }
    if (cut)
        SPATE_WARN(LOG, "%s[%" PRId32 "]@%" PRId64 ": poison record of %zu bytes: DLQ envelope "
                        "cut to %zu bytes (raw_truncated, raw_bytes, raw_sha256)",
                   r->route->topic, m->partition, m->offset, m->len, plen);
    r->pending++;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        sk->producer, RD_KAFKA_V_TOPIC(r->route->dlq),
        RD_KAFKA_V_KEY(with_key ? m->key : NULL, with_key ? m->key_len : 0),
        RD_KAFKA_V_VALUE(payload, plen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
    if (e) {
        /* not queued: the payload and headers are still ours */
        free(payload);
        rd_kafka_headers_destroy(h);
        r->pending--;
        dlq_failed(sk, r, e, NULL);
    }
}

static void on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct sink *sk = opaque;
    struct sink_rec *r = m->_private;
    if (!r)
        return;
    r->pending--;
    if (!r->part || sk->closing) {
        if (r->pending == 0)
            rec_free(sk, r);
        return;
    }
    if (m->err) {
        dlq_failed(sk, r, m->err, NULL);
        return;
    }
    if (r->dlq_stuck) {
        const struct sink_kmsg *k = &r->msg;
        SPATE_INFO(LOG, "%s[%" PRId32 "]@%" PRId64 ": DLQ write succeeded at last",
                   r->route->topic, k->partition, k->offset);
    }
    sk->sum.dlq++;
    metrics_counter_inc(sk->m_dlq);
    if (r->pending == 0)
        rec_finish(sk, r);
}

/* DLQ writes whose time has come (from the main loop: a failure schedules
 * the next attempt instead of recursing). */
static void run_dlq_retries(struct sink *sk)
{
    if (!sk->dlq_retry)
        return;
    int64_t now = spate_mono_ms();
    struct sink_rec *due = NULL;
    for (struct sink_rec **pp = &sk->dlq_retry; *pp;) {
        struct sink_rec *r = *pp;
        if (r->dlq_due_ms <= now) {
            *pp = r->dlq_next;
            r->dlq_next = due;
            due = r;
        } else {
            pp = &r->dlq_next;
        }
    }
    while (due) {
        struct sink_rec *r = due;
        due = r->dlq_next;
        r->dlq_next = NULL;
        r->dlq_queued = 0;
        r->pending--;
        if (!r->part || sk->closing) {
            if (r->pending == 0)
                rec_free(sk, r);
            continue;
        }
        if (sk->fatal) { /* the producer is gone: the record waits for the exit */
            dlq_schedule(sk, r, DLQ_RECHECK_MS);
            continue;
        }
        send_to_dlq(sk, r);
    }
}

static void poison(struct sink *sk, struct sink_rec *r, const char *why)
{
    if (!r->poisoned) {
        r->poisoned = 1;
        free(r->reason);
        r->reason = strdup(why);
        metrics_counter_inc(sk->m_poison);
        SPATE_WARN(LOG, "%s[%" PRId32 "]@%" PRId64 ": poison record: %s", r->route->topic,
                   r->msg.partition, r->msg.offset, why);
    }
}

static void write_done(struct sink *sk, struct sink_rec *r)
{
    if (--r->pending > 0)
        return;
    if (!r->part || sk->closing) {
        rec_free(sk, r);
        return;
    }
    if (r->poisoned)
        send_to_dlq(sk, r);
    else
        rec_finish(sk, r);
}

static void schedule_retry(struct sink *sk, struct sink_write *w, int64_t delay_ms)
{
    w->due_ms = spate_mono_ms() + delay_ms;
    w->next_retry = sk->retry;
    w->queued = 1;
    sk->retry = w;
    sk->nretry++;
}

static void set_down(struct sink *sk, int down, const char *why)
{
    if (down && !sk->down) {
        sk->down = 1;
        sk->down_since_ms = spate_mono_ms();
        metrics_gauge_set(sk->m_up, 0);
        SPATE_WARN(LOG, "Cassandra unavailable (%s): pausing consumption, retrying writes", why);
    } else if (!down && sk->down) {
        sk->down = 0;
        metrics_gauge_set(sk->m_up, 1);
        SPATE_INFO(LOG, "Cassandra is back after %.1f s: resuming",
                   (double)(spate_mono_ms() - sk->down_since_ms) / 1000.0);
    }
}

/* A blocked table is re-checked by one of its writes this often: an operator
 * restores a grant or a table in seconds to minutes; a check costs one
 * refused write. */
#define BLOCKED_RECHECK_INITIAL_MS 1000
#define BLOCKED_RECHECK_MAX_MS 10000
#define BLOCKED_LOG_EVERY_MS 60000

static struct sink_table *table_of(const struct sink_write *w)
{
    return &w->rec->route->tables[w->table];
}

/* Table t refused a write for a reason no retry of the write can fix soon
 * (label from sink__classify_write): pause, hold its writes, probe it. */
static void block_table(struct sink *sk, struct sink_table *t, const char *label,
                        const char *msg)
{
    int64_t now = spate_mono_ms();
    int changed = 0;
    if (t->blocked && strcmp(t->blocked, label) != 0) { /* another cause: move the gauge */
        metrics_gauge_set(t->m_blocked, 0);
        t->blocked = NULL;
        sk->nblocked--;
        changed = 1;
    }
    if (!t->blocked) {
        t->blocked = label;
        if (!changed)
            t->blocked_since_ms = now;
        t->probes = 0;
        t->next_probe_ms = now + BLOCKED_RECHECK_INITIAL_MS;
        sk->nblocked++;
        char labels[320];
        snprintf(labels, sizeof labels, "table=\"%s\",reason=\"%s\"", t->label, label);
        t->m_blocked = metrics_gauge(sk->reg, "spate_sink_blocked",
                                     "1 while the table refuses every write (reason: "
                                     "unauthorized, authentication, schema, unprepared); "
                                     "consumption waits for it",
                                     labels);
        metrics_gauge_set(t->m_blocked, 1);
        t->last_block_log_ms = now;
        SPATE_ERROR(LOG, "table %s refuses writes (%s): %s; consumption paused, no record is "
                         "sent to the DLQ or committed past for it; re-checking every %d s "
                         "until it takes writes again",
                    t->label, label, msg, BLOCKED_RECHECK_MAX_MS / 1000);
    } else if (now - t->last_block_log_ms >= BLOCKED_LOG_EVERY_MS) {
        t->last_block_log_ms = now;
        SPATE_WARN(LOG, "table %s still refuses writes after %.0f s (%s): %s", t->label,
                   (double)(now - t->blocked_since_ms) / 1000.0, label, msg);
    }
}

/* A write to t was acknowledged: if t was blocked it is writable again, and
 * its held writes go out now rather than at the next probe time. */
static void unblock_table(struct sink *sk, struct sink_table *t)
{
    if (!t->blocked)
        return;
    metrics_gauge_set(t->m_blocked, 0);
    SPATE_INFO(LOG, "table %s takes writes again after %.1f s: resuming", t->label,
               (double)(spate_mono_ms() - t->blocked_since_ms) / 1000.0);
    t->blocked = NULL;
    t->blocked_since_ms = 0;
    t->probes = 0;
    sk->nblocked--;
    for (struct sink_write *w = sk->retry; w; w = w->next_retry)
        if (table_of(w) == t)
            w->due_ms = 0;
}

/* Holds write w until its blocked table's next probe. */
static void hold_for_table(struct sink *sk, struct sink_write *w)
{
    int64_t wait = table_of(w)->next_probe_ms - spate_mono_ms();
    schedule_retry(sk, w, wait > 0 ? wait : 0);
}

static void on_write_done(void *arg, int status, struct cql_result *res,
                          const struct cql_error *err);
static int execute(struct sink *sk, struct sink_write *w, const struct cql_value *vals,
                   const struct cql_query_opts *qo, char *why, size_t whylen);
static void sent(struct sink *sk, struct sink_write *w, int rc, const char *why);

/* Submits write w (a table of its record). Re-parses the value when needed. */
static void submit(struct sink *sk, struct sink_write *w, json_t *root_hint)
{
    struct sink_rec *r = w->rec;
    const struct sink_table *t = &r->route->tables[w->table];
    char why[512];
    json_t *root = root_hint;
    if (!root)
        root = parse_value(&r->msg, why, sizeof why);
    struct sink_msg_view v;
    view_of(r, root, &v);
    struct cql_query_opts qo;
    sink__scratch_reset(&sk->sc);
    int rc = build_values(sk, r, t, &v, sk->vals, &qo, why, sizeof why);
    if (rc == 0)
        rc = execute(sk, w, sk->vals, &qo, why, sizeof why);
    /* only now: the text values point into root until execute serialized them */
    if (!root_hint && root)
        json_decref(root);
    sent(sk, w, rc, why);
}

/* Sends write w with its values; a value the cql layer rejects is poison. */
static int execute(struct sink *sk, struct sink_write *w, const struct cql_value *vals,
                   const struct cql_query_opts *qo, char *why, size_t whylen)
{
    const struct sink_table *t = &w->rec->route->tables[w->table];
    int rc = cql_execute_async(sk->cql, t->stmt, vals, t->nbind, qo, on_write_done, w);
    if (rc && rc != SPATE_EAGAIN) /* the reason a poison record or a blocked table logs */
        snprintf(why, whylen, "%s: %s", t->name, cql_session_errstr(sk->cql));
    return rc;
}

/* What follows an attempt to send w that returned rc. */
static void sent(struct sink *sk, struct sink_write *w, int rc, const char *why)
{
    struct sink_rec *r = w->rec;
    if (rc == 0) {
        w->in_flight = 1;
        w->sent_us = spate_mono_us();
        return;
    }
    if (rc == SPATE_EAGAIN) { /* the session is full: try again on the next turn */
        schedule_retry(sk, w, 0);
        return;
    }
    const char *label;
    enum sink_fail f = rc == SPATE_ETYPE ? SINK_FAIL_RECORD
                                         : sink__classify_write(rc, -1, why, &label);
    if (f == SINK_FAIL_BLOCKED) {
        block_table(sk, table_of(w), label, cql_session_errstr(sk->cql));
        hold_for_table(sk, w);
        return;
    }
    if (f == SINK_FAIL_RETRY) {
        if (rc == SPATE_EUNAVAILABLE || rc == SPATE_ECLOSED || rc == SPATE_ECONNREFUSED)
            set_down(sk, 1, cql_session_errstr(sk->cql));
        w->attempts++;
        sk->sum.retries++;
        metrics_counter_inc(sk->m_retries);
        schedule_retry(sk, w,
                       spate_backoff_ms(w->attempts, sk->cfg->sink.retry_initial_ms,
                                        sk->cfg->sink.retry_max_ms, &sk->rng));
        return;
    }
    poison(sk, r, why);
    write_done(sk, r);
}

static void on_write_done(void *arg, int status, struct cql_result *res,
                          const struct cql_error *err)
{
    (void)res;
    struct sink_write *w = arg;
    struct sink_rec *r = w->rec;
    struct sink *sk = r->sk;
    w->in_flight = 0;
    if (sk->closing || !r->part) {
        write_done(sk, r);
        return;
    }
    if (status == 0) {
        if (sk->window < sk->max_in_flight)
            sk->window++;
        struct sink_table *t = table_of(w);
        unblock_table(sk, t);
        metrics_counter_inc(t->m_rows);
        sk->sum.rows++;
        metrics_histogram_observe(sk->m_write,
                                  (double)(spate_mono_us() - w->sent_us) / 1e6);
        set_down(sk, 0, NULL);
        write_done(sk, r);
        return;
    }
    const char *msg = err ? err->message : spate_strerror(status);
    const char *label;
    enum sink_fail f = sink__classify_write(status, err ? err->server_code : -1, msg, &label);
    if (f == SINK_FAIL_BLOCKED) {
        set_down(sk, 0, NULL); /* the node answered: it is up, the table is not */
        block_table(sk, table_of(w), label, msg);
        hold_for_table(sk, w);
        return;
    }
    if (f == SINK_FAIL_RETRY) {
        if (status != SPATE_ETIMEDOUT)
            set_down(sk, 1, msg);
        int64_t t = spate_mono_ms();
        if (status == SPATE_ETIMEDOUT && t - sk->last_cut_ms >= 1000) {
            sk->window = sk->window / 2 > 8 ? sk->window / 2 : 8;
            sk->last_cut_ms = t;
            SPATE_DEBUG(LOG, "write timed out: window %d records", sk->window);
        }
        w->attempts++;
        sk->sum.retries++;
        metrics_counter_inc(sk->m_retries);
        int64_t now = spate_mono_ms();
        if (now - sk->last_retry_log_ms >= 5000) { /* one line per 5 s, not per write */
            SPATE_WARN(LOG, "write to %s failed (%s), attempt %d: retrying (%zu writes "
                            "waiting)",
                       r->route->tables[w->table].label, msg, w->attempts, sk->nretry + 1);
            sk->last_retry_log_ms = now;
        }
        schedule_retry(sk, w,
                       spate_backoff_ms(w->attempts, sk->cfg->sink.retry_initial_ms,
                                        sk->cfg->sink.retry_max_ms, &sk->rng));
        return;
    }
    set_down(sk, 0, NULL); /* the node answered: it is up, the write is bad */
    char why[600];
    snprintf(why, sizeof why, "%s: %s", r->route->tables[w->table].name, msg);
    poison(sk, r, why);
    write_done(sk, r);
}

static void run_retries(struct sink *sk)
{
    if (!sk->retry)
        return;
    int64_t now = spate_mono_ms();
    struct sink_write *due = NULL, **pp = &sk->retry;
    while (*pp) {
        struct sink_write *w = *pp;
        if (w->due_ms <= now) {
            *pp = w->next_retry;
            w->next_retry = due;
            due = w;
            sk->nretry--;
        } else {
            pp = &w->next_retry;
        }
    }
    /* oldest first is not needed for correctness: every write is an upsert */
    size_t limit = (size_t)sk->window * 2;
    while (due) {
        struct sink_write *w = due;
        due = w->next_retry;
        w->queued = 0;
        w->next_retry = NULL;
        if (!w->rec->part || sk->closing) {
            write_done(sk, w->rec);
            continue;
        }
        struct sink_table *t = table_of(w);
        if (t->blocked) {
            if (now < t->next_probe_ms) {
                hold_for_table(sk, w);
                continue;
            }
            /* this write is the probe; the others wait for its answer */
            t->probes++;
            t->next_probe_ms = now + spate_backoff_ms(t->probes + 1, BLOCKED_RECHECK_INITIAL_MS,
                                                      BLOCKED_RECHECK_MAX_MS, &sk->rng);
        }
        if (cql_session_in_flight(sk->cql) >= limit) {
            schedule_retry(sk, w, 20); /* the window is full: not a new attempt */
            continue;
        }
        submit(sk, w, NULL);
    }
}

/* ---- batches ----------------------------------------------------------------------
 * A first attempt joins the batch of its replica; the main loop flushes every
 * batch once it has taken what the consumer had, so a lone record waits for
 * nothing, and rows that arrive together cost Cassandra one request. Retries
 * go alone (submit), so a row the node refuses is found and only it goes to
 * the DLQ. */

static void on_batch_done(void *arg, int status, struct cql_result *res,
                          const struct cql_error *err)
{
    struct sink_batch *b = arg;
    struct sink *sk = b->sk;
    /* A refused batch may be one bad row, or one table of several that is
     * gone: each row alone gets its own answer. Trouble of the node is
     * everyone's, retried as it is. */
    int permanent = status != 0 && !sk->closing &&
                    sink__classify_write(status, err ? err->server_code : -1,
                                         err ? err->message : NULL, NULL) != SINK_FAIL_RETRY;
    if (permanent) {
        /* one statement may be the cause: send each alone to find it */
        const char *msg = err ? err->message : spate_strerror(status);
        SPATE_DEBUG(LOG, "batch of %zu rows refused (%s): sending them one by one", b->n, msg);
    }
    for (size_t i = 0; i < b->n; i++) {
        struct sink_write *w = b->w[i];
        if (!permanent) {
            on_write_done(w, status, res, err);
            continue;
        }
        w->in_flight = 0;
        if (!w->rec->part)
            write_done(sk, w->rec);
        else if (table_of(w)->blocked) /* known refused: wait for the probe's answer */
            hold_for_table(sk, w);
        else
            submit(sk, w, NULL);
    }
    free(b->w);
    free(b);
}

static void batch_flush(struct sink *sk, size_t g)
{
    struct sink_batch *b = sk->pend[g];
    if (!b)
        return;
    sk->pend[g] = NULL;
    struct cql_batch_stmt *st = calloc(b->n, sizeof *st);
    int rc = SPATE_ENOMEM;
    if (st) {
        for (size_t i = 0; i < b->n; i++) {
            const struct sink_table *t = &b->w[i]->rec->route->tables[b->w[i]->table];
            st[i] = (struct cql_batch_stmt){.prepared = t->stmt,
                                            .count = t->nbind,
                                            .encoded = b->w[i]->enc,
                                            .encoded_len = b->w[i]->enc_len};
        }
        struct cql_query_opts qo = {.consistency = b->cl, .idempotent = 1};
        rc = cql_batch_async(sk->cql, CQL_BATCH_UNLOGGED, st, b->n, &qo, on_batch_done, b);
        free(st);
    }
    char why[512];
    snprintf(why, sizeof why, "batch: %s",
             rc == SPATE_ENOMEM ? "out of memory" : cql_session_errstr(sk->cql));
    int64_t now = spate_mono_us();
    for (size_t i = 0; i < b->n; i++) {
        struct sink_write *w = b->w[i];
        free(w->enc);
        w->enc = NULL;
        if (rc == 0) {
            w->in_flight = 1;
            w->sent_us = now;
        } else {
            /* each is retried alone, or is poison if the values do not fit */
            sent(sk, w, rc == SPATE_ETYPE ? SPATE_EAGAIN : rc, why);
        }
    }
    if (rc) {
        free(b->w);
        free(b);
    }
}

static void flush_batches(struct sink *sk)
{
    for (size_t g = 0; g < SINK_GROUPS; g++)
        batch_flush(sk, g);
}

/* Adds write w to its replica's batch: 1 when it joined one (the batch's
 * callback settles it), or a code for sent() as execute() returns it. */
static int batch_add(struct sink *sk, struct sink_write *w, const struct cql_value *vals,
                     const struct cql_query_opts *qo, char *why, size_t whylen)
{
    const struct sink_table *t = &w->rec->route->tables[w->table];
    int64_t token = 0;
    int has_token = 0;
    char err[400];
    int rc = cql_prepared_encode(t->stmt, vals, t->nbind, &w->enc, &w->enc_len, &token,
                                 &has_token, err, sizeof err);
    if (rc) {
        snprintf(why, whylen, "%s: %s", t->name, err);
        return rc == SPATE_ENOMEM ? rc : SPATE_ETYPE;
    }
    long host = has_token ? cql_session_token_host(sk->cql, token) : -1;
    size_t g = host < 0 ? 0 : (size_t)host % SINK_GROUPS;
    struct sink_batch *b = sk->pend[g];
    if (b && (b->cl != qo->consistency ||
              b->bytes + w->enc_len > (size_t)sk->cfg->sink.batch_bytes)) {
        batch_flush(sk, g);
        b = NULL;
    }
    if (!b) {
        b = calloc(1, sizeof *b);
        size_t cap = (size_t)sk->cfg->sink.batch_rows;
        if (!b || !(b->w = calloc(cap, sizeof *b->w))) {
            free(b);
            free(w->enc);
            w->enc = NULL;
            snprintf(why, whylen, "out of memory");
            return SPATE_ENOMEM;
        }
        b->sk = sk;
        b->cl = qo->consistency;
        sk->pend[g] = b;
    }
    b->w[b->n++] = w;
    b->bytes += w->enc_len;
    if (b->n >= (size_t)sk->cfg->sink.batch_rows)
        batch_flush(sk, g);
    return 1;
}

/* A consumed message: track it, convert it, send its writes. */
static void handle_message(struct sink *sk, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            SPATE_WARN(LOG, "consumer: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return;
    }
    const char *topic = rd_kafka_topic_name(m->rkt);
    struct sink_route *route = find_route(sk, topic);
    struct sink_part *part = find_part(sk, topic, m->partition);
    if (!route || !part) {
        /* a message of a partition already revoked: its new owner has it */
        rd_kafka_message_destroy(m);
        return;
    }
    sk->last_msg_ms = spate_mono_ms();
    struct sink_rec *r = calloc(1, sizeof *r + route->ntables * sizeof(struct sink_write));
    if (!r) {
        rd_kafka_message_destroy(m);
        sk->fatal = 1;
        snprintf(sk->fatal_msg, sizeof sk->fatal_msg, "out of memory");
        return;
    }
    uint64_t seq;
    if (sink__track_add(&part->track, m->offset, &seq) != 0) {
        /* an offset not above the last one: a re-delivery after a seek; the
         * upserts are idempotent, but the bookkeeping wants order, so skip */
        SPATE_DEBUG(LOG, "%s[%" PRId32 "]@%" PRId64 ": out of order, skipped", topic,
                    m->partition, m->offset);
        free(r);
        rd_kafka_message_destroy(m);
        return;
    }
    r->sk = sk;
    {
        struct sink_kmsg *k = &r->msg;
        rd_kafka_timestamp_type_t tt;
        k->partition = m->partition;
        k->offset = m->offset;
        k->timestamp_ms = rd_kafka_message_timestamp(m, &tt);
        if (m->key) {
            k->key = malloc(m->key_len + 1);
            if (k->key) {
                memcpy(k->key, m->key, m->key_len);
                k->key_len = m->key_len;
            }
        }
        if (m->payload) {
            k->payload = malloc(m->len + 1);
            if (k->payload) {
                memcpy(k->payload, m->payload, m->len);
                k->len = m->len;
            }
        }
        rd_kafka_message_detach_headers(m, &k->headers);
        if ((m->key && !k->key) || (m->payload && !k->payload)) {
            sk->fatal = 1;
            snprintf(sk->fatal_msg, sizeof sk->fatal_msg, "out of memory");
        }
        rd_kafka_message_destroy(m);
    }
    r->route = route;
    r->part = part;
    r->seq = seq;
    r->ingested_ms = -1;
    r->next = sk->live;
    if (sk->live)
        sk->live->prev = r;
    sk->live = r;
    sk->nlive++;
    for (size_t i = 0; i < route->ntables; i++)
        r->w[i] = (struct sink_write){.rec = r, .table = i};

    char why[512] = "";
    json_t *root = parse_value(&r->msg, why, sizeof why);
    if (!root)
        r->reason = strdup(why); /* kept as context should a key column be missing */
    if (root && sk->latency_field && *sk->latency_field) {
        json_t *f = json_object_get(root, sk->latency_field);
        int64_t ms;
        if (json_is_string(f) &&
            sink__parse_timestamp(json_string_value(f), json_string_length(f), &ms) == 0)
            r->ingested_ms = ms;
        else if (json_is_integer(f))
            r->ingested_ms = json_integer_value(f);
    }
    /* Convert every table first: a record that cannot be converted goes to
     * the DLQ whole, without writing some of its tables. */
    struct sink_msg_view v;
    view_of(r, root, &v);
    sink__scratch_reset(&sk->sc);
    struct cql_value *vals[route->ntables ? route->ntables : 1];
    struct cql_query_opts qo[route->ntables ? route->ntables : 1];
    for (size_t i = 0; i < route->ntables; i++) {
        vals[i] = sink__scratch_alloc(&sk->sc, route->tables[i].nbind * sizeof **vals);
        int rc = vals[i] ? build_values(sk, r, &route->tables[i], &v, vals[i], &qo[i], why,
                                        sizeof why)
                         : SPATE_ENOMEM;
        if (rc) {
            if (rc == SPATE_ENOMEM)
                snprintf(why, sizeof why, "out of memory converting the record");
            r->pending = 1;
            poison(sk, r, why);
            json_decref(root);
            write_done(sk, r);
            return;
        }
    }
    r->pending = (int)route->ntables;
    if (route->ntables == 0) {
        r->pending = 1;
        json_decref(root);
        write_done(sk, r);
        return;
    }
    /* the values point into root and the scratch; each call serializes them */
    for (size_t i = 0; i < route->ntables; i++) {
        if (route->tables[i].blocked) { /* fetched before the pause took effect */
            hold_for_table(sk, &r->w[i]);
            continue;
        }
        int rc = sk->cfg->sink.batch_rows > 1
                     ? batch_add(sk, &r->w[i], vals[i], &qo[i], why, sizeof why)
                     : execute(sk, &r->w[i], vals[i], &qo[i], why, sizeof why);
        if (rc != 1)
            sent(sk, &r->w[i], rc, why);
    }
    json_decref(root);
}

/* ---- partitions, pausing, commits -------------------------------------------------- */

static void set_paused(struct sink *sk, int pause)
{
    if (pause == sk->paused || !sk->assigned || sk->assigned->cnt == 0) {
        if (!sk->assigned || sk->assigned->cnt == 0)
            sk->paused = pause;
        return;
    }
    rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(sk->consumer, sk->assigned)
                                  : rd_kafka_resume_partitions(sk->consumer, sk->assigned);
    if (e)
        SPATE_WARN(LOG, "%s partitions: %s", pause ? "pause" : "resume", rd_kafka_err2str(e));
    sk->paused = pause;
    metrics_gauge_set(sk->m_paused, pause);
    if (pause) {
        sk->sum.pauses++;
        metrics_counter_inc(sk->m_pauses);
    }
}

static void update_flow(struct sink *sk)
{
    size_t limit = (size_t)sk->window;
    /* down with nothing left to retry: resume, the next writes probe the node */
    if (sk->down && sk->nretry == 0 && cql_session_in_flight(sk->cql) == 0)
        set_down(sk, 0, NULL);
    if (!sk->paused && (sk->nlive >= limit || sk->down || sk->nblocked || *sk->stop))
        set_paused(sk, 1);
    else if (sk->paused && !sk->down && !sk->nblocked && !*sk->stop && sk->nlive <= limit / 2)
        set_paused(sk, 0);
}

/* Commits, for every partition (or only those of only), the offset below the
 * oldest unacknowledged record. sync: wait for the broker's answer. */
static void commit(struct sink *sk, const rd_kafka_topic_partition_list_t *only, int sync)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (struct sink_part *p = sk->parts; p; p = p->next) {
        if (only && !rd_kafka_topic_partition_list_find(only, p->topic, p->partition))
            continue;
        int64_t off = sink__track_commit_offset(&p->track);
        if (off < 0 || off == p->track.committed)
            continue;
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = off;
        p->track.committed = off;
    }
    if (l->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_commit(sk->consumer, l, sync ? 0 : 1);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            SPATE_WARN(LOG, "commit: %s", rd_kafka_err2str(e));
        metrics_counter_inc(sk->m_commits);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Whether r waits for something an operator must fix (a blocked table, a
 * DLQ write that keeps failing): draining cannot finish it, so a stop or a
 * rebalance does not wait for it; it is re-read from the committed offset. */
static int rec_held(const struct sink_rec *r)
{
    if (r->dlq_stuck)
        return 1;
    for (size_t i = 0; i < r->route->ntables; i++)
        if (r->w[i].queued && r->route->tables[i].blocked)
            return 1;
    return 0;
}

/* Polls Cassandra and the DLQ producer until the records of the given
 * partitions (all when only is NULL) are done or timeout_ms passes. */
static void drain(struct sink *sk, const rd_kafka_topic_partition_list_t *only,
                  int64_t timeout_ms)
{
    int64_t until = spate_mono_ms() + timeout_ms;
    flush_batches(sk);
    for (;;) {
        size_t pending = 0;
        for (struct sink_rec *r = sk->live; r; r = r->next)
            if (r->part && !rec_held(r) &&
                (!only || rd_kafka_topic_partition_list_find(only, r->part->topic,
                                                             r->part->partition)))
                pending++;
        if (pending == 0 || spate_mono_ms() >= until)
            return;
        run_retries(sk);
        run_dlq_retries(sk);
        cql_session_poll(sk->cql, 5);
        rd_kafka_poll(sk->producer, 0);
    }
}

/* Drops the records of the given partitions that are still pending: their
 * next owner re-reads them from the committed offset. */
static void abandon(struct sink *sk, const rd_kafka_topic_partition_list_t *only)
{
    flush_batches(sk); /* a write in a batch is in flight from here on */
    for (struct sink_rec *r = sk->live, *next; r; r = next) {
        next = r->next;
        if (!r->part || (only && !rd_kafka_topic_partition_list_find(only, r->part->topic,
                                                                     r->part->partition)))
            continue;
        r->part = NULL;
        sk->sum.unfinished++;
        if (r->dlq_queued) { /* its DLQ write waits for a retry: settle it now */
            dlq_unqueue(sk, r);
            r->pending--;
        }
        /* writes waiting for a retry are not in flight: settle them now */
        for (struct sink_write **pp = &sk->retry; *pp;) {
            if ((*pp)->rec == r) {
                struct sink_write *w = *pp;
                *pp = w->next_retry;
                w->queued = 0;
                sk->nretry--;
                if (--r->pending == 0)
                    break;
            } else {
                pp = &(*pp)->next_retry;
            }
        }
        if (r->pending == 0)
            rec_free(sk, r);
    }
}

static void remove_parts(struct sink *sk, const rd_kafka_topic_partition_list_t *l)
{
    for (struct sink_part **pp = &sk->parts; *pp;) {
        struct sink_part *p = *pp;
        if (!l || rd_kafka_topic_partition_list_find(l, p->topic, p->partition)) {
            *pp = p->next;
            sink__track_free(&p->track);
            free(p->topic);
            free(p);
        } else {
            pp = &p->next;
        }
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct sink *sk = opaque;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &parts->elems[i];
            if (find_part(sk, tp->topic, tp->partition))
                continue;
            struct sink_part *p = calloc(1, sizeof *p);
            if (!p || !(p->topic = strdup(tp->topic))) {
                free(p);
                continue;
            }
            p->partition = tp->partition;
            sink__track_init(&p->track);
            p->next = sk->parts;
            sk->parts = p;
        }
        SPATE_INFO(LOG, "assigned %d partition(s)", parts->cnt);
        rd_kafka_assign(rk, parts);
        if (sk->assigned)
            rd_kafka_topic_partition_list_destroy(sk->assigned);
        sk->assigned = rd_kafka_topic_partition_list_copy(parts);
        if (sk->paused) {
            sk->paused = 0;
            set_paused(sk, 1);
        }
        return;
    }
    int lost = rd_kafka_assignment_lost(rk);
    if (e == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !lost) {
        /* Finish what is in flight so the next owner starts right after it;
         * bounded, because Cassandra may be down and the group is waiting. */
        drain(sk, parts, 10000);
        commit(sk, parts, 1);
    }
    abandon(sk, parts);
    remove_parts(sk, parts);
    SPATE_INFO(LOG, "%s %d partition(s)", lost ? "lost" : "revoked", parts->cnt);
    rd_kafka_assign(rk, NULL);
    if (sk->assigned)
        rd_kafka_topic_partition_list_destroy(sk->assigned);
    sk->assigned = NULL;
}

static void update_lag(struct sink *sk)
{
    int64_t lag = 0;
    for (struct sink_part *p = sk->parts; p; p = p->next) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(sk->consumer, p->topic, p->partition, &lo, &hi) ||
            hi < 0)
            continue;
        int64_t pos = p->track.next >= 0 ? p->track.next : p->track.committed;
        if (pos < 0)
            pos = lo;
        if (hi > pos)
            lag += hi - pos;
    }
    metrics_gauge_set(sk->m_lag, (double)lag);
}

/* ---- set-up ---------------------------------------------------------------------- */

/* A refused password, an untrusted certificate or a TLS listener reached
 * without TLS is logged as one line saying which setting is wrong; the rest
 * as librdkafka words it. */
static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct sink *sk = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__FATAL ||
        spate_kafka_diag_report(&sk->kdiag, LOG, &sk->cfg->kafka.properties, err, reason))
        return;
    SPATE_WARN(LOG, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int kafka_conf(struct sink *sk, rd_kafka_conf_t *conf, int consumer, char *err,
                      size_t errlen)
{
    const struct spate_kafka_config *kc = &sk->cfg->kafka;
    char e[512];
#define SET(k, v)                                                                          \
    do {                                                                                   \
        if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {              \
            snprintf(err, errlen, "kafka property %s: %s", k, e);                          \
            return SPATE_ECONFIG;                                                          \
        }                                                                                  \
    } while (0)
    SET("bootstrap.servers", kc->bootstrap_servers);
    SET("client.id", "spate-sink");
    for (size_t i = 0; i < kc->properties.count; i++) {
        const char *k = kc->properties.items[i].key, *v = kc->properties.items[i].value;
        /* producer-only or consumer-only keys simply do not apply to the other */
        if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK)
            SPATE_DEBUG(LOG, "kafka property %s not used by the %s: %s", k,
                        consumer ? "consumer" : "producer", e);
    }
    if (consumer) {
        SET("group.id", sk->opts->group_id ? sk->opts->group_id : sk->cfg->sink.group_id);
        SET("enable.auto.commit", "false");
        SET("enable.auto.offset.store", "false");
        if (!spate_kvlist_get(&kc->properties, "auto.offset.reset"))
            SET("auto.offset.reset", "earliest");
        /* bounded prefetch: memory stays small while Cassandra is slow */
        if (!spate_kvlist_get(&kc->properties, "queued.max.messages.kbytes"))
            SET("queued.max.messages.kbytes", "8192");
        /* A subscribed topic that does not exist yet (Spark creates its output
         * topics on first write) is looked up again at this interval; with
         * librdkafka's default of 5 minutes the first rows waited that long. */
        /* fetch.wait.max.ms stays at librdkafka's 500 ms: a partition
         * assigned or resumed while a fetch waits at the broker is asked for
         * only when that fetch returns, so a long wait delayed records after
         * a rebalance or a pause (SPATE_KAFKA_IDLE_FETCH_WAIT_MS is for
         * consumers whose partitions never change). */
        if (!spate_kvlist_get(&kc->properties, "topic.metadata.refresh.interval.ms"))
            SET("topic.metadata.refresh.interval.ms", "10000");
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    } else {
        SET("enable.idempotence", "true");
        SET("acks", "all");
        /* The DLQ topic is created with the configured partitions below;
         * auto-creation would give it the broker's defaults. */
        SET("allow.auto.create.topics", "false");
        if (kc->compression && strcmp(kc->compression, "none") != 0)
            SET("compression.codec", kc->compression);
        rd_kafka_conf_set_dr_msg_cb(conf, on_dlq_delivery);
    }
    rd_kafka_conf_set_log_cb(conf, spate_kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, on_kafka_error);
    rd_kafka_conf_set_opaque(conf, sk);
#undef SET
    return 0;
}

static const char *mapping_where(const struct spate_sink_config *m,
                                 const struct spate_sink_table_config *t, char *buf,
                                 size_t size)
{
    snprintf(buf, size, "sink.mappings[topic %s] table %s", m->topic, t->table);
    return buf;
}

/* Reads the columns of ks.table from system_schema and binds every mapped
 * column to its type; checks types, primary key coverage and expressions. */
static int setup_table(struct sink *sk, const struct spate_sink_config *m,
                       const struct spate_sink_table_config *tc, struct sink_table *t, char *err,
                       size_t errlen)
{
    char where[300];
    mapping_where(m, tc, where, sizeof where);
    const char *dot = strchr(tc->table, '.');
    t->ks = dot ? strndup(tc->table, (size_t)(dot - tc->table)) : strdup(sk->keyspace);
    t->name = strdup(dot ? dot + 1 : tc->table);
    size_t ll = strlen(t->ks) + strlen(t->name) + 2;
    t->label = malloc(ll);
    if (!t->ks || !t->name || !t->label)
        return SPATE_ENOMEM;
    snprintf(t->label, ll, "%s.%s", t->ks, t->name);
    t->ttl_s = tc->ttl_s;
    if (tc->consistency && cql_consistency_parse(tc->consistency, &t->cl) != 0) {
        snprintf(err, errlen, "%s: unknown consistency '%s'", where, tc->consistency);
        return SPATE_ECONFIG;
    }
    char e[300];
    if (tc->timestamp_field &&
        sink__expr_parse(tc->timestamp_field, &t->ts_expr, e, sizeof e) != 0) {
        snprintf(err, errlen, "%s: timestamp_field: %s", where, e);
        return SPATE_ECONFIG;
    }
    if (tc->column_count == 0) {
        snprintf(err, errlen, "%s: no columns mapped", where);
        return SPATE_ECONFIG;
    }

    struct cql_value args[2] = {cql_text(t->ks), cql_text(t->name)};
    struct cql_result *res = NULL;
    /* set-up calls get a generous timeout and a few tries: a busy node at
     * start is not a reason to fail (request_timeout is for the writes) */
    struct cql_query_opts so = {.timeout_ms = 30000};
    int rc;
    for (int attempt = 0;; attempt++) {
        rc = cql_query(sk->cql,
                       "SELECT column_name, kind, type FROM system_schema.columns "
                       "WHERE keyspace_name = ? AND table_name = ?",
                       args, 2, &so, &res);
        if (!(rc == SPATE_ETIMEDOUT || rc == SPATE_EUNAVAILABLE) || attempt >= 5)
            break;
        spate_sleep_ms(500);
    }
    if (rc) {
        snprintf(err, errlen, "%s: reading system_schema.columns: %s", where,
                 cql_session_errstr(sk->cql));
        return rc;
    }
    size_t rows = cql_result_row_count(res);
    if (rows == 0) {
        cql_result_free(res);
        snprintf(err, errlen, "%s: table %s does not exist (run `spate schema apply`)", where,
                 t->label);
        return SPATE_ECONFIG;
    }
    t->cols = calloc(tc->column_count, sizeof *t->cols);
    if (!t->cols) {
        cql_result_free(res);
        return SPATE_ENOMEM;
    }
    t->ncols = tc->column_count;
    rc = 0;
    for (size_t i = 0; i < tc->column_count && rc == 0; i++) {
        const struct spate_sink_column_config *cc = &tc->columns[i];
        struct sink_column *c = &t->cols[i];
        c->name = strdup(cc->column);
        for (size_t j = 0; j < i; j++)
            if (strcmp(t->cols[j].name, cc->column) == 0) {
                snprintf(err, errlen, "%s: column %s is mapped twice", where, cc->column);
                rc = SPATE_ECONFIG;
            }
        if (rc)
            break;
        if (sink__expr_parse(cc->from, &c->expr, e, sizeof e) != 0) {
            snprintf(err, errlen, "%s: column %s: from '%s': %s", where, cc->column, cc->from, e);
            rc = SPATE_ECONFIG;
            break;
        }
        size_t row;
        for (row = 0; row < rows; row++) {
            const char *p;
            size_t len;
            if (cql_result_get_bytes(res, row, 0, &p, &len) == 0 && len == strlen(cc->column) &&
                memcmp(p, cc->column, len) == 0)
                break;
        }
        if (row == rows) {
            struct spate_buf names = {0};
            for (size_t j = 0; j < rows; j++) {
                const char *p;
                size_t len;
                if (cql_result_get_bytes(res, j, 0, &p, &len) == 0)
                    spate_buf_appendf(&names, "%s%.*s", j ? ", " : "", (int)len, p);
            }
            snprintf(err, errlen, "%s: column %s does not exist in %s (it has: %.*s)", where,
                     cc->column, t->label, (int)names.len, names.data ? names.data : "");
            spate_buf_free(&names);
            rc = SPATE_ECONFIG;
            break;
        }
        const char *kp, *tp;
        size_t kl, tl;
        char kind[32] = "", type[128] = "";
        if (cql_result_get_bytes(res, row, 1, &kp, &kl) == 0)
            snprintf(kind, sizeof kind, "%.*s", (int)kl, kp);
        if (cql_result_get_bytes(res, row, 2, &tp, &tl) == 0)
            snprintf(type, sizeof type, "%.*s", (int)tl, tp);
        c->pk = strcmp(kind, "partition_key") == 0 || strcmp(kind, "clustering") == 0;
        if (sink__type_parse(type, &c->type, e, sizeof e) != 0) {
            snprintf(err, errlen, "%s: column %s (%s): %s", where, cc->column, type, e);
            rc = SPATE_ECONFIG;
            break;
        }
        if (sink__expr_check(c->expr, cc->type, c->type, e, sizeof e) != 0) {
            snprintf(err, errlen, "%s: column %s from '%s': %s", where, cc->column, cc->from, e);
            rc = SPATE_ECONFIG;
            break;
        }
    }
    /* every primary key column must be mapped */
    for (size_t row = 0; row < rows && rc == 0; row++) {
        const char *p, *kp;
        size_t len, kl;
        if (cql_result_get_bytes(res, row, 0, &p, &len) || cql_result_get_bytes(res, row, 1, &kp, &kl))
            continue;
        int key = (kl == 13 && memcmp(kp, "partition_key", 13) == 0) ||
                  (kl == 10 && memcmp(kp, "clustering", 10) == 0);
        if (!key)
            continue;
        size_t i;
        for (i = 0; i < t->ncols; i++)
            if (strlen(t->cols[i].name) == len && memcmp(t->cols[i].name, p, len) == 0)
                break;
        if (i == t->ncols) {
            snprintf(err, errlen, "%s: primary key column %.*s of %s is not mapped", where,
                     (int)len, p, t->label);
            rc = SPATE_ECONFIG;
        }
    }
    cql_result_free(res);
    if (rc)
        return rc;

    struct spate_buf q = {0};
    spate_buf_appendf(&q, "INSERT INTO \"%s\".\"%s\" (", t->ks, t->name);
    for (size_t i = 0; i < t->ncols; i++)
        spate_buf_appendf(&q, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
    spate_buf_appendf(&q, ") VALUES (");
    for (size_t i = 0; i < t->ncols; i++)
        spate_buf_appendf(&q, "%s?", i ? ", " : "");
    spate_buf_appendf(&q, ")");
    if (t->ttl_s > 0)
        spate_buf_appendf(&q, " USING TTL %d AND TIMESTAMP ?", t->ttl_s);
    else
        spate_buf_appendf(&q, " USING TIMESTAMP ?");
    t->nbind = t->ncols + 1;
    for (int attempt = 0;; attempt++) {
        rc = cql_prepare(sk->cql, q.data, &t->stmt);
        if (!(rc == SPATE_ETIMEDOUT || rc == SPATE_EUNAVAILABLE) || attempt >= 20)
            break;
        spate_sleep_ms(200);
    }
    if (rc)
        snprintf(err, errlen, "%s: preparing %s: %s", where, q.data, cql_session_errstr(sk->cql));
    spate_buf_free(&q);
    if (rc)
        return rc;
    char labels[256];
    snprintf(labels, sizeof labels, "table=\"%s\"", t->label);
    t->m_rows = metrics_counter(sk->reg, "spate_sink_rows_written_total",
                                "Rows acknowledged by Cassandra", labels);
    return 0;
}

static void free_routes(struct sink *sk)
{
    for (size_t i = 0; i < sk->nroutes; i++) {
        struct sink_route *r = &sk->routes[i];
        for (size_t j = 0; j < r->ntables; j++) {
            struct sink_table *t = &r->tables[j];
            for (size_t k = 0; k < t->ncols; k++) {
                free(t->cols[k].name);
                sink__expr_free(t->cols[k].expr);
                sink__type_free(t->cols[k].type);
            }
            free(t->cols);
            sink__expr_free(t->ts_expr);
            free(t->ks);
            free(t->name);
            free(t->label);
        }
        free(r->tables);
        free(r->topic);
        free(r->dlq);
    }
    free(sk->routes);
}

static void register_metrics(struct sink *sk)
{
    struct metrics_registry *g = sk->reg;
    sk->m_records = metrics_counter(g, "spate_sink_records_total",
                                    "Records done (all writes acknowledged or sent to the DLQ)",
                                    NULL);
    sk->m_dlq = metrics_counter(g, "spate_sink_dlq_total", "Poison records sent to the DLQ",
                                NULL);
    sk->m_new_fields = metrics_counter(g, "spate_sink_records_new_fields_total",
                                       "Stored records whose raw record has fields the "
                                       "pipeline's SQL does not read yet (spate init --update)",
                                       NULL);
    sk->m_poison = metrics_counter(g, "spate_sink_poison_total",
                                   "Records that could not be converted or written", NULL);
    sk->m_dropped = metrics_counter(g, "spate_sink_dlq_unstorable_total",
                                    "DLQ-topic records no table could take", NULL);
    sk->m_retries = metrics_counter(g, "spate_sink_write_retries_total",
                                    "Writes retried after a timeout, overload or outage", NULL);
    sk->m_commits = metrics_counter(g, "spate_sink_commits_total", "Offset commits", NULL);
    sk->m_pauses = metrics_counter(g, "spate_sink_pauses_total",
                                   "Times consumption paused (backpressure or outage)", NULL);
    sk->m_lag = metrics_gauge(g, "spate_sink_consumer_lag", "Records behind the partition ends",
                              NULL);
    sk->m_inflight = metrics_gauge(g, "spate_sink_records_in_flight",
                                   "Records consumed and not yet acknowledged", NULL);
    sk->m_paused = metrics_gauge(g, "spate_sink_paused",
                                 "1 while consumption is paused (backpressure, Cassandra down, "
                                 "a table blocked: see spate_sink_blocked)",
                                 NULL);
    sk->m_up = metrics_gauge(g, "spate_sink_cassandra_up", "0 while Cassandra refuses writes",
                             NULL);
    sk->m_rate = metrics_gauge(g, "spate_sink_rows_per_second", "Rows written per second", NULL);
    sk->m_dlq_failures = metrics_counter(g, "spate_sink_dlq_failures_total",
                                         "DLQ writes that failed for good (the record stays "
                                         "uncommitted and is tried again)",
                                         NULL);
    sk->m_dlq_stuck = metrics_gauge(g, "spate_sink_dlq_stuck",
                                    "Poison records whose DLQ write keeps failing (nothing "
                                    "after them is committed)",
                                    NULL);
    sk->m_e2e = metrics_histogram(g, "spate_sink_e2e_latency_seconds",
                                  "Now minus the record's ingested_at, at acknowledgement", NULL,
                                  metrics_latency_buckets, metrics_latency_nbuckets);
    static const char *const hop_labels[3] = {"hop=\"ingest\"", "hop=\"process\"",
                                              "hop=\"sink\""};
    for (int i = 0; i < 3; i++)
        sk->m_hop[i] = metrics_histogram(
            g, "spate_sink_hop_latency_seconds",
            "Each hop of a record: ingest = fetched -> in the raw topic, process = raw -> "
            "clean topic (Spark), sink = clean topic -> acknowledged by Cassandra",
            hop_labels[i], metrics_latency_buckets, metrics_latency_nbuckets);
    sk->m_write = metrics_histogram(g, "spate_sink_write_latency_seconds",
                                    "Cassandra write round trip", NULL, metrics_latency_buckets,
                                    metrics_latency_nbuckets);
    metrics_gauge_set(sk->m_up, 1);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- run ---------------------------------------------------------------------------- */

int sink_run(const struct spate_config *cfg, const struct sink_options *opts,
             volatile sig_atomic_t *stop, struct sink_summary *summary, char *err,
             size_t errlen)
{
    struct sink sk0 = {0}, *sk = &sk0;
    int rc = 0;
    int64_t t0 = spate_mono_ms();
    double cpu0 = cpu_seconds();
    memset(summary, 0, sizeof *summary);
    err[0] = 0;
    sk->cfg = cfg;
    sk->opts = opts;
    sk->stop = stop;
    sk->keyspace = opts->keyspace ? opts->keyspace : cfg->cassandra.keyspace;
    sk->dlq_topic = opts->dlq_topic ? opts->dlq_topic : cfg->kafka.topic_dlq;
    sk->latency_field = opts->latency_field ? opts->latency_field : "ingested_at";
    sk->max_in_flight = cfg->sink.max_in_flight;
    sk->window = sk->max_in_flight;
    sk->rng = (uint64_t)spate_mono_us() | 1;
    int own_reg = 0;
    sk->reg = opts->metrics;
    if (!sk->reg) {
        sk->reg = metrics_registry_new();
        own_reg = 1;
    }
    register_metrics(sk);

    if (cfg->sink.mapping_count == 0) {
        snprintf(err, errlen, "sink.mappings is empty: nothing to consume");
        rc = SPATE_ECONFIG;
        goto out;
    }

    /* Cassandra first: the mapping is checked against the live schema. */
    struct cql_session_config csc;
    cql_session_config_from_spate(&csc, &cfg->cassandra);
    /* room for every write of every record in flight, so the session never
     * answers EAGAIN in the steady state (our own bound is the record count) */
    {
        int want = sk->max_in_flight * 2 / (csc.connections_per_host > 0 ? csc.connections_per_host : 1);
        if (want > 32768)
            want = 32768;
        if (csc.max_in_flight < want)
            csc.max_in_flight = want;
    }
    rc = cql_session_new(&csc, &sk->cql, err, errlen);
    if (rc)
        goto out;

    sk->routes = calloc(cfg->sink.mapping_count, sizeof *sk->routes);
    if (!sk->routes) {
        rc = SPATE_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < cfg->sink.mapping_count; i++) {
        const struct spate_sink_config *m = &cfg->sink.mappings[i];
        if (find_route(sk, m->topic)) {
            snprintf(err, errlen, "sink.mappings: topic %s is listed twice (put its tables in "
                                  "one mapping)", m->topic);
            rc = SPATE_ECONFIG;
            goto out;
        }
        struct sink_route *r = &sk->routes[sk->nroutes++];
        r->topic = strdup(m->topic);
        /* one sink may serve several pipelines: each topic's poison records go
         * to its own pipeline's DLQ */
        const struct spate_pipeline_config *pl = spate_config_topic_pipeline(cfg, m->topic);
        char dlq[256];
        if (opts->dlq_topic || !pl)
            snprintf(dlq, sizeof dlq, "%s", sk->dlq_topic);
        else
            spate_config_topic_of(cfg, pl->name, "dlq", dlq, sizeof dlq);
        r->dlq = strdup(dlq);
        r->is_dlq = strcmp(m->topic, dlq) == 0;
        r->tables = calloc(m->table_count ? m->table_count : 1, sizeof *r->tables);
        if (!r->topic || !r->tables || !r->dlq) {
            rc = SPATE_ENOMEM;
            goto out;
        }
        for (size_t j = 0; j < m->table_count; j++) {
            r->ntables++;
            rc = setup_table(sk, m, &m->tables[j], &r->tables[j], err, errlen);
            if (rc)
                goto out;
            if (r->tables[j].nbind > r->max_cols)
                r->max_cols = r->tables[j].nbind;
        }
    }
    size_t maxc = 1;
    for (size_t i = 0; i < sk->nroutes; i++)
        if (sk->routes[i].max_cols > maxc)
            maxc = sk->routes[i].max_cols;
    sk->vals = calloc(maxc, sizeof *sk->vals);
    if (!sk->vals) {
        rc = SPATE_ENOMEM;
        goto out;
    }

    /* Kafka: the DLQ producer, then the consumer. */
    char e[512];
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    rc = kafka_conf(sk, pc, 0, err, errlen);
    if (rc) {
        rd_kafka_conf_destroy(pc);
        goto out;
    }
    sk->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, e, sizeof e);
    if (!sk->producer) {
        rd_kafka_conf_destroy(pc);
        snprintf(err, errlen, "kafka producer: %s", e);
        rc = SPATE_EKAFKA;
        goto out;
    }
    {
        /* the DLQ envelope is cut to what this producer accepts */
        char v[32];
        size_t vs = sizeof v;
        sk->dlq_max_bytes = 1000000;
        if (rd_kafka_conf_get(rd_kafka_conf(sk->producer), "message.max.bytes", v, &vs) ==
            RD_KAFKA_CONF_OK) {
            long long n = atoll(v);
            if (n > 0)
                sk->dlq_max_bytes = (size_t)n;
        }
    }
    {
        /* The topics we read exist before we subscribe, with the configured
         * partitions, so the group starts at once however the stages were
         * started; where the cluster forbids it, whoever creates them later
         * is picked up by the metadata refresh. */
        const char **names = calloc(2 * sk->nroutes + 1, sizeof *names);
        if (names) {
            for (size_t i = 0; i < sk->nroutes; i++) {
                names[2 * i] = sk->routes[i].topic;
                /* and the DLQs it writes to (a name listed twice is created once) */
                names[2 * i + 1] = sk->routes[i].dlq;
            }
            names[2 * sk->nroutes] = sk->dlq_topic;
            char te[512];
            int trc = spate_kafka_preflight(sk->producer, &sk->kdiag, 10000, stop) == SPATE_EAUTH
                          ? SPATE_EAUTH
                          : spate_kafka_create_topics(sk->producer, names, 2 * sk->nroutes + 1,
                                                      &cfg->kafka, LOG, stop, te, sizeof te);
            free(names);
            rd_kafka_poll(sk->producer, 0);
            /* a setting the broker refuses will not fix itself: stop before
             * consuming anything, with the one line that says which */
            if (trc && spate_kafka_diag_explain(&sk->kdiag, &cfg->kafka.properties, te,
                                                sizeof te)) {
                snprintf(err, errlen, "cannot use Kafka at %s: %s",
                         cfg->kafka.bootstrap_servers, te);
                rc = SPATE_ECONFIG; /* exit 2: the settings do not match the cluster */
                goto out;
            }
            if (trc)
                SPATE_WARN(LOG, "%s; subscribing anyway", te);
        }
    }
    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    rc = kafka_conf(sk, cc, 1, err, errlen);
    if (rc) {
        rd_kafka_conf_destroy(cc);
        goto out;
    }
    sk->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, e, sizeof e);
    if (!sk->consumer) {
        rd_kafka_conf_destroy(cc);
        snprintf(err, errlen, "kafka consumer: %s", e);
        rc = SPATE_EKAFKA;
        goto out;
    }
    rd_kafka_poll_set_consumer(sk->consumer);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)sk->nroutes);
    for (size_t i = 0; i < sk->nroutes; i++)
        rd_kafka_topic_partition_list_add(subs, sk->routes[i].topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t ke = rd_kafka_subscribe(sk->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (ke) {
        snprintf(err, errlen, "subscribe: %s", rd_kafka_err2str(ke));
        rc = SPATE_EKAFKA;
        goto out;
    }
    {
        struct spate_buf tl = {0};
        for (size_t i = 0; i < sk->nroutes; i++) {
            spate_buf_appendf(&tl, "%s%s -> ", i ? "; " : "", sk->routes[i].topic);
            for (size_t j = 0; j < sk->routes[i].ntables; j++)
                spate_buf_appendf(&tl, "%s%s", j ? ", " : "", sk->routes[i].tables[j].label);
        }
        SPATE_INFO(LOG, "group %s: %s (max %d records in flight)",
                   opts->group_id ? opts->group_id : cfg->sink.group_id, tl.data,
                   sk->max_in_flight);
        spate_buf_free(&tl);
    }

    int64_t last_commit = spate_mono_ms(), last_tick = last_commit, last_log = last_commit;
    sk->last_msg_ms = last_commit; /* idle time counts from the start too */
    uint64_t rows_at_tick = 0;
    int64_t started = spate_mono_ms();
    int stopping = 0;
    while (!sk->fatal) {
        int64_t now = spate_mono_ms();
        if (!stopping) {
            const char *why = NULL;
            if (*stop)
                why = "signal";
            else if (opts->max_records > 0 && sk->sum.records >= (uint64_t)opts->max_records)
                why = "max records";
            else if (opts->duration_ms > 0 && now - started >= opts->duration_ms)
                why = "duration";
            else if (opts->idle_exit_ms > 0 && sk->nlive == 0 &&
                     now - sk->last_msg_ms >= opts->idle_exit_ms)
                why = "idle";
            if (why) {
                SPATE_INFO(LOG, "stopping (%s): finishing %zu record(s) in flight", why,
                           sk->nlive);
                stopping = 1;
                *stop = 1;
                set_paused(sk, 1);
                break;
            }
        }
        /* consume while there is room */
        int got = 0;
        while ((sk->nlive < (size_t)sk->window || sk->paused) && got < 1000) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(sk->consumer, 0);
            if (!m)
                break;
            handle_message(sk, m);
            got++;
            if (sk->paused)
                break; /* serve the poll, but take no more than what was fetched */
        }
        flush_batches(sk);
        run_retries(sk);
        run_dlq_retries(sk);
        rd_kafka_poll(sk->producer, 0);
        size_t inflight = cql_session_in_flight(sk->cql);
        if (got > 0) {
            cql_session_poll(sk->cql, 0);
        } else if (inflight > 0) {
            cql_session_poll(sk->cql, 5);
        } else if (sk->nretry > 0 || sk->dlq_retry) {
            cql_session_poll(sk->cql, 10);
        } else {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(sk->consumer, 100);
            if (m)
                handle_message(sk, m);
            flush_batches(sk);
            cql_session_poll(sk->cql, 0);
        }
        update_flow(sk);
        now = spate_mono_ms();
        if (now - last_commit >= cfg->sink.commit_interval_ms) {
            commit(sk, NULL, 0);
            last_commit = now;
        }
        if (now - last_tick >= 1000) {
            update_lag(sk);
            metrics_gauge_set(sk->m_inflight, (double)sk->nlive);
            metrics_gauge_set(sk->m_rate, (double)(sk->sum.rows - rows_at_tick) * 1000.0 /
                                              (double)(now - last_tick));
            rows_at_tick = sk->sum.rows;
            last_tick = now;
        }
        if (!opts->quiet && now - last_log >= 10000) {
            SPATE_INFO(LOG, "%" PRIu64 " records, %" PRIu64 " rows, %" PRIu64 " dlq, %" PRIu64
                            " retries, %zu in flight, lag %.0f%s%s%s",
                       sk->sum.records, sk->sum.rows, sk->sum.dlq, sk->sum.retries, sk->nlive,
                       metrics_gauge_value(sk->m_lag), sk->down ? ", Cassandra down" : "",
                       sk->nblocked ? ", a table refuses writes" : "",
                       sk->ndlq_stuck ? ", DLQ writes failing" : "");
            last_log = now;
        }
    }
    if (sk->fatal) {
        snprintf(err, errlen, "%s", sk->fatal_msg[0] ? sk->fatal_msg : "fatal error");
        rc = SPATE_ESYS;
    }
    /* Stop: no new records; finish the writes in flight; commit; close. */
    set_paused(sk, 1);
    int64_t dt = opts->drain_timeout_ms > 0 ? opts->drain_timeout_ms : 60000;
    drain(sk, NULL, dt);
    if (sk->nlive)
        SPATE_WARN(LOG, "%zu record(s) not acknowledged after %" PRId64 " ms: not committed, "
                        "they are re-read on restart", sk->nlive, dt);
    commit(sk, NULL, 1);
    rd_kafka_flush(sk->producer, 10000);

out:
    if (sk->consumer) {
        rd_kafka_consumer_close(sk->consumer); /* revokes: commits what is done */
        rd_kafka_destroy(sk->consumer);
    }
    sk->closing = 1;
    abandon(sk, NULL);
    cql_session_free(sk->cql); /* cancels what is left; callbacks free their records */
    if (sk->producer) {
        rd_kafka_flush(sk->producer, 5000);
        rd_kafka_purge(sk->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(sk->producer, 0);
        rd_kafka_destroy(sk->producer);
    }
    while (sk->live) /* anything still referenced by a callback that never came */
        rec_free(sk, sk->live);
    remove_parts(sk, NULL);
    if (sk->assigned)
        rd_kafka_topic_partition_list_destroy(sk->assigned);
    sink__scratch_free(&sk->sc);
    free(sk->vals);
    free_routes(sk);
    sk->sum.elapsed_ms = spate_mono_ms() - t0;
    sk->sum.cpu_s = cpu_seconds() - cpu0;
    sk->sum.p50_ms = metrics_histogram_quantile(sk->m_e2e, 0.5) * 1000;
    sk->sum.p99_ms = metrics_histogram_quantile(sk->m_e2e, 0.99) * 1000;
    *summary = sk->sum;
    if (own_reg)
        metrics_registry_free(sk->reg);
    return rc;
}
