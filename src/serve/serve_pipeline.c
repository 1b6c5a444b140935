/* SPDX-License-Identifier: Apache-2.0 */
/* serve_pipeline.c -- samples the running pipeline once a second: the stages' /metrics and the
 * Kafka topic offsets and sink consumer lag, kept as a short history for the dashboard. */
#include "serve_internal.h"

#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/log.h"

#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct serve_pipeline {
    const struct spate_config *cfg;
    int interval_ms;
    int use_kafka;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    /* ring of samples, guarded by lock */
    struct serve_sample *ring;
    size_t cap, head, count;
    char ingest_url[256], sink_url[256];
    char kafka_error[256];
    /* sampler-thread only */
    rd_kafka_t *rk;
    int64_t rk_retry_ms;
    struct serve_hist prev_hist;
    struct serve_hist prev_hops[SERVE_HOPS];
    int have_prev_hist;
    int64_t meta_ms;
    rd_kafka_topic_partition_list_t *ends;      /* raw, clean, dlq partitions */
    rd_kafka_topic_partition_list_t *committed; /* clean partitions */
    /* The DLQ split per stage is counted from the DLQ records themselves: a
     * stage's own metrics vanish when it exits (ingest does, at the end of
     * a bounded source) or restart at 0. */
    rd_kafka_t *dlq_rk;
    rd_kafka_topic_partition_list_t *dlq_pos; /* next offset to read, per partition */
    double dlq_by_stage[4];
    int dlq_ready; /* every DLQ partition was read to its end once */
    /* The other pipelines of the config, each sampled by a sampler of its own
     * over its own topics (cfg owned): the sink's lag gauge is every topic's,
     * so theirs is read from the group's committed offsets (kafka_lag). */
    struct serve_pipeline *subs[32];
    struct spate_config *sub_cfgs[32];
    size_t nsubs;
    int kafka_lag;
};

/* ---- pure parts --------------------------------------------------------------------------- */

static const char *const stored_words[] = {"written", "stored", "upsert", NULL};
static const char *const e2e_words[] = {"e2e", "end_to_end", "endtoend", NULL};
static const char *const dlq_words[] = {"dlq", "rejected", NULL};
static const char *const lag_words[] = {"lag", NULL};

void serve__sample_from_ingest(struct serve_sample *s, const struct serve_prom *p)
{
    int found;
    double v = serve__prom_sum(p, "spate_ingest_records_fetched_total", NULL, &found);
    s->fetched = found ? v : -1;
    v = serve__prom_sum(p, "spate_ingest_dlq_total", NULL, &found);
    s->dlq_ingest = found ? v : 0;
    v = serve__prom_sum(p, "spate_ingest_producer_queue_depth", NULL, &found);
    s->queue = found ? v : -1;
}

/* Sink metric names as src/sink/sink.c registers them; the word lists are a
 * fallback so a renamed series still shows up. */
void serve__sample_from_sink(struct serve_sample *s, const struct serve_prom *p,
                             const char *keyspace, struct serve_hist *hist)
{
    serve__sample_from_sink_table(s, p, keyspace, "users", hist);
}

void serve__sample_from_sink_table(struct serve_sample *s, const struct serve_prom *p,
                                   const char *keyspace, const char *stored_table,
                                   struct serve_hist *hist)
{
    int found = 0;
    char filter[192];
    snprintf(filter, sizeof filter, "table=\"%s.%s\"", keyspace ? keyspace : "spate",
             stored_table);
    double v = serve__prom_sum(p, "spate_sink_rows_written_total", filter, &found);
    int family = found;
    if (!found)
        serve__prom_sum(p, "spate_sink_rows_written_total", NULL, &family);
    /* the series of other tables are not this one's (a sink of several pipelines) */
    if (!found && !family) {
        const char *name = serve__prom_find_name(p, "spate_sink_", stored_words, "_total");
        if (name)
            v = serve__prom_sum(p, name, NULL, &found);
    }
    if (found)
        s->stored = v;
    v = serve__prom_sum(p, "spate_sink_dlq_total", NULL, &found);
    if (!found) {
        const char *name = serve__prom_find_name(p, "spate_sink_", dlq_words, "_total");
        if (name)
            v = serve__prom_sum(p, name, NULL, &found);
    }
    if (found)
        s->dlq_sink = v;
    v = serve__prom_sum(p, "spate_sink_consumer_lag", NULL, &found);
    if (!found) {
        const char *name = serve__prom_find_name(p, "spate_sink_", lag_words, "");
        if (name)
            v = serve__prom_sum(p, name, NULL, &found);
    }
    if (found)
        s->lag = v;
    /* a sink that cannot write a table pauses rather than reject its records:
     * say which table and why, or the pipeline looks merely slow */
    s->sink_blocked = 0;
    s->sink_blocked_by[0] = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct serve_prom_sample *m = &p->s[i];
        char table[160], reason[48];
        if (strcmp(m->name, "spate_sink_blocked") != 0 || !(m->value > 0))
            continue;
        s->sink_blocked++;
        if (serve__prom_label(m->labels, "table", table, sizeof table))
            snprintf(table, sizeof table, "?");
        if (serve__prom_label(m->labels, "reason", reason, sizeof reason))
            snprintf(reason, sizeof reason, "?");
        size_t used = strlen(s->sink_blocked_by);
        snprintf(s->sink_blocked_by + used, sizeof s->sink_blocked_by - used, "%s%s (%s)",
                 used ? ", " : "", table, reason);
    }
    v = serve__prom_sum(p, "spate_sink_dlq_stuck", NULL, &found);
    s->sink_dlq_stuck = found ? v : 0;
    memset(hist, 0, sizeof *hist);
    if (serve__prom_histogram(p, "spate_sink_e2e_latency_seconds", hist) == 0)
        return;
    const char *name = serve__prom_find_name(p, "spate_sink_", e2e_words, "_bucket");
    if (name) {
        char fam[160];
        size_t n = strlen(name) - strlen("_bucket");
        if (n < sizeof fam) {
            memcpy(fam, name, n);
            fam[n] = 0;
            serve__prom_histogram(p, fam, hist);
        }
    }
}

static double rate(double cur, double prev, double secs)
{
    if (cur < 0 || prev < 0 || secs <= 0)
        return -1;
    double d = cur - prev;
    return d < 0 ? 0 : d / secs; /* a restarted stage starts its counters again */
}

enum serve_dlq_stage serve__dlq_stage(const void *header, size_t hlen, const void *value,
                                      size_t vlen)
{
    char buf[16];
    const char *st = NULL;
    size_t n = 0;
    json_t *doc = NULL;
    if (header) {
        st = header;
        n = hlen;
    } else if (value && vlen > 0 && ((const char *)value)[0] == '{') {
        doc = json_loadb(value, vlen, 0, NULL);
        json_t *v = json_object_get(doc, "stage");
        if (json_is_string(v)) {
            st = json_string_value(v);
            n = strlen(st);
        }
    }
    enum serve_dlq_stage k = SERVE_DLQ_OTHER;
    if (st && n < sizeof buf) {
        memcpy(buf, st, n);
        buf[n] = 0;
        k = !strcmp(buf, "ingest")    ? SERVE_DLQ_INGEST
            : !strcmp(buf, "process") ? SERVE_DLQ_PROCESS
            : !strcmp(buf, "sink")    ? SERVE_DLQ_SINK
                                      : SERVE_DLQ_OTHER;
    }
    json_decref(doc);
    return k;
}

void serve__sample_derive(struct serve_sample *cur, const struct serve_sample *prev)
{
    /* Without the DLQ records' own count, a stage that is down keeps its
     * last known figure: its metrics vanished with it, its records did not. */
    if (!cur->dlq_counted && prev) {
        if (!cur->ingest_up && prev->dlq_ingest > cur->dlq_ingest)
            cur->dlq_ingest = prev->dlq_ingest;
        if (!cur->sink_up && prev->dlq_sink > cur->dlq_sink)
            cur->dlq_sink = prev->dlq_sink;
    }
    /* Then the process stage's DLQ is what is in the DLQ topic and was not put
     * there by the ingest or the sink. */
    if (!cur->dlq_counted && cur->dlq >= 0) {
        double p = cur->dlq - (cur->dlq_ingest > 0 ? cur->dlq_ingest : 0) -
                   (cur->dlq_sink > 0 ? cur->dlq_sink : 0);
        cur->dlq_process = p < 0 ? 0 : p;
    }
    /* What Spark has not processed yet: raw records that are neither in the
     * clean topic nor in the DLQ from Spark. The checkpoint (the fallback)
     * moves only at a batch end, which in real-time mode is minutes apart:
     * it drew a sawtooth while records crossed Spark in milliseconds. */
    if (cur->raw >= 0 && cur->clean >= 0 && cur->dlq_process >= 0) {
        double l = cur->raw - cur->clean - cur->dlq_process;
        cur->lag_spark = l < 0 ? 0 : l;
    }
    cur->r_ingest = cur->r_process = cur->r_sink = cur->r_dlq = -1;
    if (!prev)
        return;
    double secs = (double)(cur->t_ms - prev->t_ms) / 1000.0;
    cur->r_ingest = rate(cur->raw, prev->raw, secs);
    if (cur->r_ingest < 0)
        cur->r_ingest = rate(cur->fetched, prev->fetched, secs);
    double out_now = cur->clean >= 0 ? cur->clean + (cur->dlq_process > 0 ? cur->dlq_process : 0)
                                     : -1;
    double out_prev = prev->clean >= 0
                          ? prev->clean + (prev->dlq_process > 0 ? prev->dlq_process : 0)
                          : -1;
    cur->r_process = rate(out_now, out_prev, secs);
    cur->r_sink = rate(cur->stored, prev->stored, secs);
    cur->r_dlq = rate(cur->dlq, prev->dlq, secs);
}

static int num(struct spate_buf *b, const char *key, double v, int comma)
{
    if (v < 0 || isnan(v) || isinf(v))
        return spate_buf_appendf(b, "%s\"%s\":null", comma ? "," : "", key);
    if (v == floor(v) && fabs(v) < 9e15)
        return spate_buf_appendf(b, "%s\"%s\":%.0f", comma ? "," : "", key, v);
    return spate_buf_appendf(b, "%s\"%s\":%.3f", comma ? "," : "", key, v);
}

const char *const serve_hop_names[SERVE_HOPS] = {"ingest", "process", "sink"};

void serve__sample_hops(const struct serve_prom *p, struct serve_hist hops[SERVE_HOPS])
{
    for (int i = 0; i < SERVE_HOPS; i++) {
        char label[64];
        snprintf(label, sizeof label, "hop=\"%s\"", serve_hop_names[i]);
        if (serve__prom_histogram_where(p, "spate_sink_hop_latency_seconds", label, &hops[i]))
            memset(&hops[i], 0, sizeof hops[i]);
    }
}

int serve__sample_json(const struct serve_sample *s, struct spate_buf *b)
{
    int rc = spate_buf_appendf(b, "{\"t\":%lld", (long long)s->t_ms);
    rc |= num(b, "fetched", s->fetched, 1);
    rc |= num(b, "raw", s->raw, 1);
    rc |= num(b, "clean", s->clean, 1);
    rc |= num(b, "stored", s->stored, 1);
    rc |= num(b, "dlq", s->dlq, 1);
    rc |= num(b, "dlq_ingest", s->dlq_ingest, 1);
    rc |= num(b, "dlq_process", s->dlq_process, 1);
    rc |= num(b, "dlq_sink", s->dlq_sink, 1);
    rc |= num(b, "r_ingest", s->r_ingest, 1);
    rc |= num(b, "r_process", s->r_process, 1);
    rc |= num(b, "r_sink", s->r_sink, 1);
    rc |= num(b, "r_dlq", s->r_dlq, 1);
    rc |= num(b, "p50", s->p50, 1);
    rc |= num(b, "p90", s->p90, 1);
    rc |= num(b, "p99", s->p99, 1);
    rc |= num(b, "lat_count", s->lat_count, 1);
    rc |= num(b, "lag", s->lag, 1);
    rc |= num(b, "lag_spark", s->lag_spark, 1);
    rc |= num(b, "queue", s->queue, 1);
    /* where the time goes: per hop p50/p99 in ms, null when not known */
    rc |= spate_buf_append(b, ",\"hops\":{", 9);
    for (int i = 0; i < SERVE_HOPS; i++) {
        rc |= spate_buf_appendf(b, "%s\"%s\":{", i ? "," : "", serve_hop_names[i]);
        rc |= num(b, "p50", s->hop_p50[i], 0);
        rc |= num(b, "p99", s->hop_p99[i], 1);
        rc |= spate_buf_append(b, "}", 1);
    }
    rc |= spate_buf_append(b, "}", 1);
    rc |= num(b, "sink_blocked", s->sink_blocked, 1);
    rc |= num(b, "sink_dlq_stuck", s->sink_dlq_stuck, 1);
    {
        json_t *by = json_string(s->sink_blocked_by);
        char *txt = by ? json_dumps(by, JSON_ENCODE_ANY) : NULL;
        json_decref(by);
        rc |= spate_buf_appendf(b, ",\"sink_blocked_by\":%s", txt ? txt : "\"\"");
        free(txt);
    }
    rc |= spate_buf_appendf(b, ",\"dlq_counted\":%s", s->dlq_counted ? "true" : "false");
    rc |= spate_buf_appendf(b, ",\"up\":{\"ingest\":%s,\"sink\":%s,\"kafka\":%s}}",
                            s->ingest_up ? "true" : "false", s->sink_up ? "true" : "false",
                            s->kafka_up ? "true" : "false");
    return rc ? SPATE_ENOMEM : 0;
}

/* ---- scraping --------------------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t n, void *arg)
{
    struct spate_buf *b = arg;
    if (b->len + size * n > (64u << 20))
        return 0;
    return spate_buf_append(b, ptr, size * n) == 0 ? size * n : 0;
}

/* GET url into a parsed exposition. 0 or a code (stage down). */
static int scrape(const char *url, struct serve_prom *out)
{
    memset(out, 0, sizeof *out);
    if (!*url)
        return SPATE_ENOTFOUND;
    CURL *h = curl_easy_init();
    if (!h)
        return SPATE_ENOMEM;
    struct spate_buf b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 800L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 300L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    int rc = SPATE_EHTTP;
    if (cc == CURLE_OK && code == 200)
        rc = serve__prom_parse(b.data ? b.data : "", b.len, out);
    spate_buf_free(&b);
    return rc;
}

/* ---- Kafka offsets ------------------------------------------------------------------------ */

static void kafka_close(struct serve_pipeline *p)
{
    if (p->dlq_pos)
        rd_kafka_topic_partition_list_destroy(p->dlq_pos);
    p->dlq_pos = NULL;
    if (p->dlq_rk)
        rd_kafka_destroy(p->dlq_rk);
    p->dlq_rk = NULL;
    memset(p->dlq_by_stage, 0, sizeof p->dlq_by_stage);
    p->dlq_ready = 0;
    if (p->ends)
        rd_kafka_topic_partition_list_destroy(p->ends);
    if (p->committed)
        rd_kafka_topic_partition_list_destroy(p->committed);
    p->ends = p->committed = NULL;
    if (p->rk)
        rd_kafka_destroy(p->rk);
    p->rk = NULL;
}

static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    SPATE_DEBUG("serve", "kafka %s: %s", fac, buf);
}

static int kafka_open(struct serve_pipeline *p)
{
    const struct spate_kafka_config *kc = &p->cfg->kafka;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (size_t i = 0; i < kc->properties.count; i++)
        rd_kafka_conf_set(conf, kc->properties.items[i].key, kc->properties.items[i].value,
                          errstr, sizeof errstr); /* producer-only ones do not apply: ignore */
    /* The sink's group id lets us read its committed offsets; without a
     * subscription this handle never joins the group. */
    if (rd_kafka_conf_set(conf, "bootstrap.servers", kc->bootstrap_servers, errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id",
                          p->cfg->sink.group_id ? p->cfg->sink.group_id : "spate-sink", errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "client.id", "spate-serve", errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
        snprintf(p->kafka_error, sizeof p->kafka_error, "%s", errstr);
        rd_kafka_conf_destroy(conf);
        return SPATE_EKAFKA;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log);
    p->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!p->rk) {
        snprintf(p->kafka_error, sizeof p->kafka_error, "%s", errstr);
        rd_kafka_conf_destroy(conf);
        return SPATE_EKAFKA;
    }
    return 0;
}

/* Builds the partition lists from the cluster metadata. */
static int kafka_metadata(struct serve_pipeline *p)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 1, NULL, &md, 1000);
    if (e) {
        snprintf(p->kafka_error, sizeof p->kafka_error, "metadata: %s", rd_kafka_err2str(e));
        return SPATE_EKAFKA;
    }
    const struct spate_kafka_config *kc = &p->cfg->kafka;
    const char *topics[] = {kc->topic_raw, kc->topic_clean, kc->topic_dlq};
    rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_new(32);
    rd_kafka_topic_partition_list_t *com = rd_kafka_topic_partition_list_new(16);
    for (int t = 0; t < md->topic_cnt; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];
        if (mt->err)
            continue;
        for (int k = 0; k < 3; k++) {
            if (!topics[k] || strcmp(mt->topic, topics[k]))
                continue;
            for (int i = 0; i < mt->partition_cnt; i++) {
                rd_kafka_topic_partition_list_add(ends, mt->topic, mt->partitions[i].id)->offset =
                    RD_KAFKA_OFFSET_END;
                if (k == 1)
                    rd_kafka_topic_partition_list_add(com, mt->topic, mt->partitions[i].id);
            }
        }
    }
    rd_kafka_metadata_destroy(md);
    if (p->ends)
        rd_kafka_topic_partition_list_destroy(p->ends);
    if (p->committed)
        rd_kafka_topic_partition_list_destroy(p->committed);
    p->ends = ends;
    p->committed = com;
    return 0;
}

/* A consumer of the DLQ topic that never joins a group or commits: it is
 * assigned the partitions and reads every record once, for its stage. */
static int dlq_open(struct serve_pipeline *p)
{
    const struct spate_kafka_config *kc = &p->cfg->kafka;
    char errstr[512];
    rd_kafka_conf_t *conf =
        spate_kafka_client_conf(kc->bootstrap_servers, &kc->properties, errstr, sizeof errstr);
    if (!conf)
        return SPATE_EKAFKA;
    if (rd_kafka_conf_set(conf, "group.id", "spate-serve-dlq", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "client.id", "spate-serve-dlq", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", SPATE_KAFKA_IDLE_FETCH_WAIT_MS, errstr,
                          sizeof errstr)) {
        rd_kafka_conf_destroy(conf);
        return SPATE_EKAFKA;
    }
    p->dlq_rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!p->dlq_rk) {
        rd_kafka_conf_destroy(conf);
        return SPATE_EKAFKA;
    }
    p->dlq_pos = rd_kafka_topic_partition_list_new(8);
    return 0;
}

/* Reads the DLQ records added since the last sample (up to the end offsets
 * in ends, for at most budget_ms) and counts them by stage. */
static void dlq_count(struct serve_pipeline *p, const rd_kafka_topic_partition_list_t *ends,
                      int64_t budget_ms)
{
    const char *topic = p->cfg->kafka.topic_dlq;
    if (!p->dlq_rk && dlq_open(p) != 0)
        return;
    int added = 0;
    for (int i = 0; i < ends->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &ends->elems[i];
        if (strcmp(e->topic, topic) ||
            rd_kafka_topic_partition_list_find(p->dlq_pos, topic, e->partition))
            continue;
        rd_kafka_topic_partition_list_add(p->dlq_pos, topic, e->partition)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        added = 1;
    }
    if (added && rd_kafka_assign(p->dlq_rk, p->dlq_pos) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    int64_t deadline = spate_mono_ms() + budget_ms;
    for (;;) {
        int behind = 0;
        for (int i = 0; i < p->dlq_pos->cnt; i++) {
            const rd_kafka_topic_partition_t *at = &p->dlq_pos->elems[i];
            const rd_kafka_topic_partition_t *end =
                rd_kafka_topic_partition_list_find((rd_kafka_topic_partition_list_t *)ends, topic,
                                                   at->partition);
            if (end && end->offset > 0 && (at->offset < 0 || at->offset < end->offset))
                behind = 1;
        }
        if (!behind) {
            p->dlq_ready = p->dlq_pos->cnt > 0;
            return;
        }
        int64_t left = deadline - spate_mono_ms();
        if (left <= 0)
            return;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->dlq_rk, (int)(left < 100 ? left : 100));
        if (!m)
            continue;
        if (!m->err && m->rkt && !strcmp(rd_kafka_topic_name(m->rkt), topic)) {
            rd_kafka_topic_partition_t *at =
                rd_kafka_topic_partition_list_find(p->dlq_pos, topic, m->partition);
            if (at && m->offset >= at->offset) {
                rd_kafka_headers_t *h = NULL;
                const void *v = NULL;
                size_t vl = 0;
                if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
                    rd_kafka_header_get_last(h, "spate.stage", &v, &vl) != 0)
                    v = NULL;
                p->dlq_by_stage[serve__dlq_stage(v, vl, m->payload, m->len)]++;
                at->offset = m->offset + 1;
            }
        }
        rd_kafka_message_destroy(m);
    }
}

static void kafka_sample(struct serve_pipeline *p, struct serve_sample *s)
{
    int64_t now = spate_mono_ms();
    if (!p->rk) {
        if (now < p->rk_retry_ms)
            return;
        p->rk_retry_ms = now + 5000;
        if (kafka_open(p) != 0)
            return;
    }
    if (!p->ends || now - p->meta_ms > 10000) {
        if (kafka_metadata(p) != 0)
            return;
        p->meta_ms = now;
    }
    if (p->ends->cnt == 0) {
        s->kafka_up = 1; /* reachable, topics not created yet */
        s->raw = s->clean = s->dlq = 0;
        return;
    }
    /* Latest offsets of every partition in one request per broker. */
    rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_copy(p->ends);
    for (int i = 0; i < ends->cnt; i++)
        ends->elems[i].offset = RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(p->rk, ends, 1000);
    if (e) {
        snprintf(p->kafka_error, sizeof p->kafka_error, "offsets: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(ends);
        return;
    }
    const struct spate_kafka_config *kc = &p->cfg->kafka;
    double raw = 0, clean = 0, dlq = 0;
    for (int i = 0; i < ends->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &ends->elems[i];
        if (tp->err || tp->offset < 0)
            continue;
        if (!strcmp(tp->topic, kc->topic_raw))
            raw += (double)tp->offset;
        else if (!strcmp(tp->topic, kc->topic_clean))
            clean += (double)tp->offset;
        else
            dlq += (double)tp->offset;
    }
    s->kafka_up = 1;
    s->raw = raw;
    s->clean = clean;
    s->dlq = dlq;
    dlq_count(p, ends, p->interval_ms / 2);
    if (p->dlq_ready) {
        s->dlq_counted = 1;
        s->dlq_ingest = p->dlq_by_stage[SERVE_DLQ_INGEST];
        s->dlq_process = p->dlq_by_stage[SERVE_DLQ_PROCESS];
        s->dlq_sink = p->dlq_by_stage[SERVE_DLQ_SINK];
    }
    if (p->committed->cnt > 0) {
        rd_kafka_topic_partition_list_t *com = rd_kafka_topic_partition_list_copy(p->committed);
        if (rd_kafka_committed(p->rk, com, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            double lag = 0, done = 0;
            for (int i = 0; i < com->cnt; i++) {
                const rd_kafka_topic_partition_t *tp = &com->elems[i];
                rd_kafka_topic_partition_t *end =
                    rd_kafka_topic_partition_list_find(ends, tp->topic, tp->partition);
                double hi = end && end->offset >= 0 ? (double)end->offset : 0;
                double c = tp->offset >= 0 ? (double)tp->offset : 0;
                done += c;
                lag += hi > c ? hi - c : 0;
            }
            if (s->lag < 0)
                s->lag = lag; /* the sink's own gauge is fresher when it runs */
            if (s->stored < 0)
                s->stored = done; /* no sink metrics: committed offsets are what it stored */
        }
        rd_kafka_topic_partition_list_destroy(com);
    }
    rd_kafka_topic_partition_list_destroy(ends);
}

/* ---- Spark progress from its checkpoint ---------------------------------------------------
 * Spark does not commit offsets to Kafka; its checkpoint has them. offsets/<batch> is
 * "v1", a metadata line, then one JSON line per source: {"topic":{"0":123,...}};
 * commits/<batch> exists once that batch is fully written. */

int serve__spark_offsets_parse(const char *text, size_t len, const char *topic, double *sum)
{
    size_t i = 0;
    *sum = 0;
    int found = 0;
    for (int line = 0; i < len; line++) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        if (line >= 2 && e > i && text[i] == '{') {
            json_error_t je;
            json_t *doc = json_loadb(text + i, e - i, 0, &je);
            json_t *parts = doc ? json_object_get(doc, topic) : NULL;
            const char *k;
            json_t *v;
            if (json_is_object(parts)) {
                json_object_foreach(parts, k, v) {
                    if (json_is_integer(v) && json_integer_value(v) >= 0)
                        *sum += (double)json_integer_value(v);
                }
                found = 1;
            }
            json_decref(doc);
        }
        i = e + 1;
    }
    return found ? 0 : SPATE_ENOTFOUND;
}

/* Highest numeric file name in dir, or -1. */
static long latest_batch(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long best = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long n = strtol(de->d_name, &end, 10);
        if (end != de->d_name && !*end && n > best)
            best = n;
    }
    closedir(d);
    return best;
}

/* Records of the raw topic every Spark query has fully processed (the least
 * of the queries), or -1 when no checkpoint says. */
static double spark_done(const struct serve_pipeline *p)
{
    char root[512];
    const struct spate_config *cfg = p->cfg;
    if (cfg->spark.checkpoint_dir && *cfg->spark.checkpoint_dir)
        snprintf(root, sizeof root, "%s", cfg->spark.checkpoint_dir);
    else
        snprintf(root, sizeof root, "%s/spark/checkpoints",
                 cfg->stack.data_dir ? cfg->stack.data_dir : ".spate");
    DIR *d = opendir(root);
    if (!d)
        return -1;
    double least = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/commits", root, de->d_name);
        long batch = latest_batch(path);
        if (batch < 0)
            continue;
        snprintf(path, sizeof path, "%s/%s/offsets/%ld", root, de->d_name, batch);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char buf[65536];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        double sum;
        if (serve__spark_offsets_parse(buf, n, cfg->kafka.topic_raw, &sum) == 0 &&
            (least < 0 || sum < least))
            least = sum;
    }
    closedir(d);
    return least;
}

/* ---- the sampler thread ------------------------------------------------------------------ */

static int stopping(struct serve_pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    int stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

int serve__sample_idle(const struct serve_sample *cur, const struct serve_sample *prev)
{
    if (!prev)
        return 0;
    if (cur->fetched != prev->fetched || cur->raw != prev->raw || cur->clean != prev->clean ||
        cur->stored != prev->stored || cur->dlq != prev->dlq)
        return 0;
    return cur->lag <= 0 && cur->lag_spark <= 0 && cur->queue <= 0;
}

/* Takes one sample; 1 when the pipeline was idle since the previous one. */
static int take_sample(struct serve_pipeline *p)
{
    struct serve_sample s;
    memset(&s, 0, sizeof s);
    s.t_ms = spate_wall_ms();
    s.fetched = s.raw = s.clean = s.stored = s.dlq = -1;
    s.dlq_process = s.p50 = s.p90 = s.p99 = s.lat_count = s.lag = s.lag_spark = s.queue = -1;
    struct serve_prom prom;
    if (scrape(p->ingest_url, &prom) == 0) {
        s.ingest_up = 1;
        serve__sample_from_ingest(&s, &prom);
        serve__prom_free(&prom);
    }
    struct serve_hist hist, hops[SERVE_HOPS];
    memset(&hist, 0, sizeof hist);
    memset(hops, 0, sizeof hops);
    for (int i = 0; i < SERVE_HOPS; i++)
        s.hop_p50[i] = s.hop_p99[i] = -1;
    if (stopping(p))
        return 0;
    if (scrape(p->sink_url, &prom) == 0) {
        s.sink_up = 1;
        const struct spate_pipeline_config *pl = spate_config_pipeline(p->cfg, p->cfg->pipeline);
        serve__sample_from_sink_table(&s, &prom, p->cfg->cassandra.keyspace,
                                      pl ? pl->table : "users", &hist);
        if (p->kafka_lag)
            s.lag = -1;
        serve__sample_hops(&prom, hops);
        serve__prom_free(&prom);
    }
    for (int i = 0; i < SERVE_HOPS; i++) {
        if (!hops[i].n)
            continue;
        uint64_t n = 0;
        const struct serve_hist *before = p->prev_hops[i].n ? &p->prev_hops[i] : NULL;
        double q50 = serve__hist_quantile(&hops[i], before, 0.50, &n);
        if (n > 0) {
            s.hop_p50[i] = q50 * 1000;
            s.hop_p99[i] = serve__hist_quantile(&hops[i], before, 0.99, NULL) * 1000;
        }
        p->prev_hops[i] = hops[i];
    }
    if (stopping(p))
        return 0;
    if (p->use_kafka)
        kafka_sample(p, &s);
    double done = spark_done(p);
    if (done >= 0 && s.raw >= 0)
        s.lag_spark = s.raw > done ? s.raw - done : 0;
    if (hist.n) {
        uint64_t n = 0;
        const struct serve_hist *before = p->have_prev_hist ? &p->prev_hist : NULL;
        double p50 = serve__hist_quantile(&hist, before, 0.50, &n);
        if (n > 0) {
            s.p50 = p50 * 1000;
            s.p90 = serve__hist_quantile(&hist, before, 0.90, NULL) * 1000;
            s.p99 = serve__hist_quantile(&hist, before, 0.99, NULL) * 1000;
        }
        s.lat_count = (double)n;
        p->prev_hist = hist;
        p->have_prev_hist = 1;
    }
    pthread_mutex_lock(&p->lock);
    const struct serve_sample *prev =
        p->count ? &p->ring[(p->head + p->cap - 1) % p->cap] : NULL;
    serve__sample_derive(&s, prev);
    int idle = serve__sample_idle(&s, prev);
    p->ring[p->head] = s;
    p->head = (p->head + 1) % p->cap;
    if (p->count < p->cap)
        p->count++;
    pthread_mutex_unlock(&p->lock);
    return idle;
}

/* A sample scrapes two stages and asks Kafka for offsets: once a second it
 * was a good part of an idle pipeline's cost. After this many idle samples
 * the sampler waits IDLE_INTERVAL_MS; the first record seen brings the
 * configured interval back. */
#define IDLE_AFTER_SAMPLES 10
#define IDLE_INTERVAL_MS 5000

static void *sampler(void *arg)
{
    struct serve_pipeline *p = arg;
    int quiet = 0;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        pthread_mutex_unlock(&p->lock);
        int64_t t0 = spate_mono_ms();
        quiet = take_sample(p) ? quiet + 1 : 0;
        int64_t interval = p->interval_ms;
        if (quiet >= IDLE_AFTER_SAMPLES && interval < IDLE_INTERVAL_MS)
            interval = IDLE_INTERVAL_MS;
        int64_t wait = interval - (spate_mono_ms() - t0);
        if (wait < 50)
            wait = 50;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&p->lock);
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    kafka_close(p);
    return NULL;
}

static void metrics_url(char *buf, size_t size, const char *listen, int port)
{
    if (port <= 0) {
        buf[0] = 0;
        return;
    }
    /* A wildcard bind is reached on the loopback. */
    const char *host = !listen || !*listen || !strcmp(listen, "0.0.0.0") ? "127.0.0.1"
                       : !strcmp(listen, "::")                           ? "[::1]"
                                                                         : listen;
    snprintf(buf, size, "http://%s:%d/metrics", host, port);
}

int serve__pipeline_start(const struct spate_config *cfg, int interval_ms, int history, int kafka,
                          struct serve_pipeline **out)
{
    struct serve_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return SPATE_ENOMEM;
    p->cfg = cfg;
    p->interval_ms = interval_ms;
    p->use_kafka = kafka;
    p->cap = (size_t)history;
    p->ring = calloc(p->cap, sizeof *p->ring);
    if (!p->ring) {
        free(p);
        return SPATE_ENOMEM;
    }
    metrics_url(p->ingest_url, sizeof p->ingest_url, cfg->metrics.listen, cfg->metrics.ingest_port);
    metrics_url(p->sink_url, sizeof p->sink_url, cfg->metrics.listen, cfg->metrics.sink_port);
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, sampler, p) != 0) {
        serve__pipeline_stop(p);
        return SPATE_ESYS;
    }
    p->started = 1;
    /* serving every pipeline (not one chosen with --pipeline): a sampler for
     * each of the others, on the config file read again and narrowed to it */
    for (size_t i = 0; !cfg->pipeline && cfg->path && i < cfg->pipeline_count &&
                       p->nsubs < sizeof p->subs / sizeof p->subs[0]; i++) {
        struct spate_config *sub = NULL;
        char err[512];
        if (spate_config_load(cfg->path, &sub, err, sizeof err) != 0 ||
            spate_config_select_pipeline(sub, cfg->pipelines[i].name, err, sizeof err) != 0) {
            SPATE_WARN("serve", "pipeline %s: %s", cfg->pipelines[i].name, err);
            spate_config_free(sub);
            continue;
        }
        /* `spate run` of every pipeline: one sink, in the users pipeline's group */
        if (cfg->all_pipelines) {
            free(sub->sink.group_id);
            sub->sink.group_id = strdup(cfg->sink.group_id ? cfg->sink.group_id : "spate-sink");
        }
        struct serve_pipeline *sp = NULL;
        if (serve__pipeline_start(sub, interval_ms, history < 4 ? history : 4, kafka, &sp) != 0) {
            spate_config_free(sub);
            continue;
        }
        sp->kafka_lag = 1;
        p->subs[p->nsubs] = sp;
        p->sub_cfgs[p->nsubs++] = sub;
    }
    *out = p;
    return 0;
}

void serve__pipeline_stop(struct serve_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsubs; i++) {
        serve__pipeline_stop(p->subs[i]);
        spate_config_free(p->sub_cfgs[i]);
    }
    if (p->started) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
        int64_t t0 = spate_mono_ms();
        pthread_join(p->thread, NULL);
        SPATE_DEBUG("serve", "pipeline sampler stopped in %lld ms",
                    (long long)(spate_mono_ms() - t0));
    }
    kafka_close(p);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->ring);
    free(p);
}

/* The latest sample of p as JSON, "null" when none (or p is NULL); locked
 * tells that the caller holds p's lock already. */
static int latest_json(const struct serve_pipeline *cp, int locked, struct spate_buf *b)
{
    struct serve_pipeline *p = (struct serve_pipeline *)cp;
    if (!p)
        return spate_buf_append(b, "null", 4);
    if (!locked)
        pthread_mutex_lock(&p->lock);
    int rc = p->count ? serve__sample_json(&p->ring[(p->head + p->cap - 1) % p->cap], b)
                      : spate_buf_append(b, "null", 4);
    if (!locked)
        pthread_mutex_unlock(&p->lock);
    return rc;
}

int serve__pipeline_json(struct serve_pipeline *p, int64_t since_ms, struct spate_buf *b)
{
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    rc |= spate_buf_appendf(b, "{\"now\":%lld,\"interval_ms\":%d,", (long long)spate_wall_ms(),
                            p->interval_ms);
    /* which pipeline these figures are of (spate --pipeline NAME serve), and
     * the others of the config, each served by its own `spate --pipeline` */
    const char *name = p->cfg->pipeline ? p->cfg->pipeline : "users";
    rc |= spate_buf_append(b, "\"pipeline\":", 11);
    rc |= serve_json_string(b, name, strlen(name));
    /* every pipeline of the config by name, with its latest sample when this
     * serve samples it (null: it is served by its own `spate --pipeline`) */
    rc |= spate_buf_append(b, ",\"pipelines\":{", 14);
    for (size_t i = 0; i <= p->cfg->pipeline_count; i++) {
        const char *pn = i ? p->cfg->pipelines[i - 1].name : "users";
        const struct serve_pipeline *src = NULL;
        if (!strcmp(pn, name))
            src = p;
        for (size_t j = 0; j < p->nsubs && !src; j++)
            if (!strcmp(p->sub_cfgs[j]->pipeline, pn))
                src = p->subs[j];
        rc |= spate_buf_append(b, i ? "," : "", i ? 1 : 0);
        rc |= serve_json_string(b, pn, strlen(pn));
        rc |= spate_buf_append(b, ":{\"latest\":", 11);
        rc |= latest_json(src, src == p, b);
        rc |= spate_buf_append(b, "}", 1);
    }
    rc |= spate_buf_append(b, "},\"sources\":{\"ingest\":", 22);
    rc |= serve_json_string(b, p->ingest_url, strlen(p->ingest_url));
    rc |= spate_buf_append(b, ",\"sink\":", 8);
    rc |= serve_json_string(b, p->sink_url, strlen(p->sink_url));
    rc |= spate_buf_append(b, ",\"kafka\":", 9);
    const char *bs = p->use_kafka ? p->cfg->kafka.bootstrap_servers : "";
    rc |= serve_json_string(b, bs, strlen(bs));
    rc |= spate_buf_append(b, ",\"kafka_error\":", 15);
    rc |= serve_json_string(b, p->kafka_error, strlen(p->kafka_error));
    rc |= spate_buf_append(b, "},\"latest\":", 11);
    if (p->count)
        rc |= serve__sample_json(&p->ring[(p->head + p->cap - 1) % p->cap], b);
    else
        rc |= spate_buf_append(b, "null", 4);
    rc |= spate_buf_append(b, ",\"history\":[", 12);
    int first = 1;
    for (size_t i = 0; i < p->count; i++) {
        const struct serve_sample *s = &p->ring[(p->head + p->cap - p->count + i) % p->cap];
        if (s->t_ms <= since_ms)
            continue;
        if (!first)
            rc |= spate_buf_append(b, ",", 1);
        first = 0;
        rc |= serve__sample_json(s, b);
    }
    rc |= spate_buf_append(b, "]}\n", 3);
    pthread_mutex_unlock(&p->lock);
    return rc ? SPATE_ENOMEM : 0;
}
