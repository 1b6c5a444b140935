/* SPDX-License-Identifier: Apache-2.0 */
/* scan.c -- read what a stage holds: a Kafka topic to its end, a table's keys. */
#include "spate/flow.h"

#include "spate/cql.h"
#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/util.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The last value of header name as a string in buf, or NULL when absent or
 * longer than buf. */
static const char *header_text(rd_kafka_headers_t *h, const char *name, char *buf, size_t len)
{
    const void *v;
    size_t vl;
    if (rd_kafka_header_get_last(h, name, &v, &vl) != 0 || !v || vl >= len)
        return NULL;
    memcpy(buf, v, vl);
    buf[vl] = '\0';
    return buf;
}

int flow_scan_topic(const char *bootstrap, const struct spate_kvlist *props, const char *topic,
               int timeout_ms, void (*fn)(void *arg, const struct flow_scan_record *r), void *arg,
               uint64_t *records, char *err, size_t errlen)
{
    char errstr[512];
    *records = 0;
    rd_kafka_conf_t *conf = spate_kafka_client_conf(bootstrap, props, err, errlen);
    if (!conf)
        return SPATE_ECONFIG;
    if (rd_kafka_conf_set(conf, "group.id", "spate-verify", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "fetch.max.bytes", "52428800", errstr, sizeof errstr)) {
        snprintf(err, errlen, "kafka config: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SPATE_ECONFIG;
    }
    struct spate_kafka_diag diag = {0};
    spate_kafka_diag_attach(conf, &diag);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka consumer: %s", errstr);
        return SPATE_EKAFKA;
    }
    int rc = 0;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, 10000);
    rd_kafka_topic_destroy(t);
    rd_kafka_poll(rk, 0);
    if (e && spate_kafka_diag_explain(&diag, props, errstr, sizeof errstr)) {
        snprintf(err, errlen, "cannot use Kafka at %s: %s", bootstrap, errstr);
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        return SPATE_EAUTH;
    }
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "topic %s on %s: %s", topic, bootstrap,
                 e ? rd_kafka_err2str(e)
                   : rd_kafka_err2str(md->topic_cnt ? md->topics[0].err
                                                    : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        return SPATE_ENOTFOUND;
    }
    int nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);

    /* The end is fixed when the scan starts, so a live stream cannot keep it
     * running forever. */
    int64_t *end = calloc((size_t)nparts, sizeof *end);
    int64_t *pos = calloc((size_t)nparts, sizeof *pos);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
    int remaining = 0;
    for (int p = 0; p < nparts && end; p++) {
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
        if (e) {
            snprintf(err, errlen, "watermarks of %s[%d]: %s", topic, p, rd_kafka_err2str(e));
            rc = SPATE_EKAFKA;
            break;
        }
        end[p] = hi;
        pos[p] = lo;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = lo;
            remaining++;
        }
    }
    if (rc == 0 && remaining > 0)
        rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);

    int64_t deadline = spate_mono_ms() + timeout_ms;
    while (rc == 0 && remaining > 0) {
        if (spate_mono_ms() > deadline) {
            snprintf(err, errlen, "reading %s did not reach the end within %d ms", topic,
                     timeout_ms);
            rc = SPATE_ETIMEDOUT;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            snprintf(err, errlen, "reading %s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            rc = SPATE_EKAFKA;
            break;
        }
        int p = m->partition;
        if (p >= 0 && p < nparts && m->offset < end[p]) {
            struct flow_scan_record r = {.key = m->key, .key_len = m->key_len,
                                    .value = m->payload, .value_len = m->len,
                                    .fetched_at = -1};
            char stage[64] = "", error[128] = "", request_id[128] = "";
            rd_kafka_headers_t *h = NULL;
            if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const void *v;
                size_t vl;
                r.stage = header_text(h, "spate.stage", stage, sizeof stage);
                r.error = header_text(h, "spate.error", error, sizeof error);
                r.request_id = header_text(h, "spate.request_id", request_id, sizeof request_id);
                if (rd_kafka_header_get_last(h, "spate.fetched_at", &v, &vl) == 0 && v &&
                    vl < 32) {
                    char num[32];
                    memcpy(num, v, vl);
                    num[vl] = '\0';
                    r.fetched_at = strtoll(num, NULL, 10);
                }
            }
            fn(arg, &r);
            (*records)++;
            pos[p] = m->offset + 1;
            if (pos[p] >= end[p])
                remaining--;
        }
        rd_kafka_message_destroy(m);
    }
    free(end);
    free(pos);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

int flow_scan_table_keys(const struct spate_config *cfg, const char *table, const char *column,
                    struct flow_keyset *ks, char *err, size_t errlen)
{
    struct cql_session_config sc;
    cql_session_config_from_spate(&sc, &cfg->cassandra);
    struct cql_session *s = NULL;
    int rc = cql_session_new(&sc, &s, err, errlen);
    if (rc)
        return rc;
    char q[512];
    snprintf(q, sizeof q, "SELECT %s FROM %s.%s", column, cfg->cassandra.keyspace, table);
    /* The config's consistency, not ONE: on a cluster a replica that was down
     * (longer than the hint window) lacks rows the others hold, and a read at
     * ONE that lands there reports them lost. Writes at LOCAL_QUORUM and reads
     * at LOCAL_QUORUM always overlap. */
    struct cql_query_opts opts = {.page_size = 5000, .timeout_ms = 60000};
    void *paging = NULL;
    for (;;) {
        struct cql_result *res = NULL;
        rc = cql_query(s, q, NULL, 0, &opts, &res);
        if (rc) {
            snprintf(err, errlen, "%s: %s", q, cql_session_errstr(s));
            break;
        }
        struct spate_buf cell = {0};
        for (size_t row = 0; row < cql_result_row_count(res); row++) {
            spate_buf_reset(&cell);
            if (cql_result_format_cell(res, row, 0, 0, &cell) == 0 && cell.data)
                flow_keyset_add(ks, cell.data, cell.len);
        }
        spate_buf_free(&cell);
        if (!cql_result_has_more_pages(res)) {
            cql_result_free(res);
            break;
        }
        const void *st;
        size_t len;
        cql_result_paging_state(res, &st, &len);
        free(paging);
        paging = malloc(len ? len : 1);
        if (!paging) {
            cql_result_free(res);
            rc = SPATE_ENOMEM;
            break;
        }
        memcpy(paging, st, len);
        opts.paging_state = paging;
        opts.paging_state_len = len;
        cql_result_free(res);
    }
    free(paging);
    cql_session_free(s);
    return rc;
}

int flow_json_top_field(const char *json, size_t len, const char *field, char *out, size_t outlen)
{
    json_error_t e;
    json_t *root = json_loadb(json, len, 0, &e);
    if (!root)
        return -1;
    int n = -1;
    json_t *v = json_is_object(root) ? json_object_get(root, field) : NULL;
    if (json_is_string(v))
        n = snprintf(out, outlen, "%s", json_string_value(v));
    else if (json_is_integer(v))
        n = snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
    json_decref(root);
    return n >= 0 && (size_t)n < outlen ? n : -1;
}
