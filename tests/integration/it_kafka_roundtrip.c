/* SPDX-License-Identifier: Apache-2.0 */
/* it_kafka_roundtrip.c -- integration: admin-created topic, idempotent produce, consume back.
 *
 * usage: it_kafka_roundtrip BOOTSTRAP TOPIC COUNT
 * Creates TOPIC with 6 partitions through the admin API, produces COUNT
 * messages (key "k<i>", payload derived from i) with enable.idempotence and
 * acks=all, checks every delivery report, then consumes the topic from the
 * beginning and checks that each key arrives exactly once with its payload. */
#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long delivered, delivery_errors;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (delivery_errors++ < 5)
            fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered++;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void payload_for(long i, char *buf, size_t len)
{
    snprintf(buf, len, "{\"i\":%ld,\"check\":%" PRIu64 ",\"pad\":\"%.*s\"}", i,
             (uint64_t)i * 2654435761u, (int)(i % 64), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static int set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config %s=%s: %s\n", k, v, err);
        return -1;
    }
    return 0;
}

static int create_topic(const char *bootstrap, const char *topic, int partitions)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "admin client: %s\n", err);
        return -1;
    }
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int rc = -1;
    if (ev) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
        if (n == 1 && rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = 0;
        else if (n == 1)
            fprintf(stderr, "create topic %s: %s\n", topic, rd_kafka_topic_result_error_string(tr[0]));
        rd_kafka_event_destroy(ev);
    } else {
        fprintf(stderr, "create topic %s: no answer in 30 s\n", topic);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);

    /* verify the partition count through metadata */
    if (rc == 0) {
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md;
        for (int tries = 0; tries < 50; tries++) {
            if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                int pc = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
                rd_kafka_metadata_destroy(md);
                if (pc == partitions)
                    break;
            }
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
            if (tries == 49) {
                fprintf(stderr, "topic %s does not show %d partitions\n", topic, partitions);
                rc = -1;
            }
        }
        rd_kafka_topic_destroy(t);
    }
    rd_kafka_destroy(rk);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC COUNT\n", argv[0]);
        return 2;
    }
    const char *bootstrap = argv[1], *topic = argv[2];
    long count = atol(argv[3]);
    char err[512];

    if (create_topic(bootstrap, topic, 6) != 0)
        return 1;
    printf("created topic %s with 6 partitions\n", topic);

    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    if (set(pc, "bootstrap.servers", bootstrap) || set(pc, "enable.idempotence", "true") ||
        set(pc, "acks", "all") || set(pc, "linger.ms", "5") || set(pc, "compression.type", "lz4"))
        return 1;
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    if (!p) {
        fprintf(stderr, "producer: %s\n", err);
        return 1;
    }
    double t0 = now_s();
    char key[32], val[256];
    for (long i = 0; i < count; i++) {
        snprintf(key, sizeof key, "k%ld", i);
        payload_for(i, val, sizeof val);
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                RD_KAFKA_V_VALUE(val, strlen(val)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(p, 10);
                continue;
            }
            if (e) {
                fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            break;
        }
        rd_kafka_poll(p, 0);
    }
    rd_kafka_flush(p, 60000);
    double t1 = now_s();
    rd_kafka_destroy(p);
    printf("produced %ld, delivered %ld, delivery errors %ld in %.2f s (%.0f msg/s)\n", count,
           delivered, delivery_errors, t1 - t0, (double)count / (t1 - t0));
    if (delivered != count || delivery_errors) {
        fprintf(stderr, "FAIL: not every message was acknowledged\n");
        return 1;
    }

    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    char group[128];
    snprintf(group, sizeof group, "it-%s", topic);
    if (set(cc, "bootstrap.servers", bootstrap) || set(cc, "group.id", group) ||
        set(cc, "auto.offset.reset", "earliest") || set(cc, "enable.auto.commit", "false") ||
        set(cc, "enable.partition.eof", "true"))
        return 1;
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    if (!c) {
        fprintf(stderr, "consumer: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(6);
    for (int i = 0; i < 6; i++)
        rd_kafka_topic_partition_list_add(parts, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);

    unsigned char *seen = calloc((size_t)count, 1);
    long got = 0, dups = 0, bad = 0, eofs = 0;
    double deadline = now_s() + 120;
    while (eofs < 6 && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
        } else {
            long i = -1;
            if (m->key_len > 1 && m->key_len < 30 && ((char *)m->key)[0] == 'k') {
                char k[32];
                memcpy(k, m->key, m->key_len);
                k[m->key_len] = '\0';
                i = atol(k + 1);
            }
            if (i < 0 || i >= count) {
                bad++;
            } else {
                payload_for(i, val, sizeof val);
                if (m->len != strlen(val) || memcmp(m->payload, val, m->len) != 0)
                    bad++;
                else if (seen[i]++)
                    dups++;
                else
                    got++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    free(seen);
    printf("consumed %ld distinct keys, %ld duplicates, %ld bad payloads\n", got, dups, bad);
    if (got != count || dups || bad) {
        fprintf(stderr, "FAIL: expected %ld distinct keys, no duplicate, no bad payload\n", count);
        return 1;
    }
    return 0;
}
