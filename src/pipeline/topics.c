/* SPDX-License-Identifier: Apache-2.0 */
/* topics.c -- create the pipeline's Kafka topics through the admin API. */
#include "spate/pipeline.h"

#include "spate/error.h"
#include "spate/log.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

int pipeline_ensure_topics(const struct spate_config *cfg, char *err, size_t errlen)
{
    const char *names[] = {cfg->kafka.topic_raw, cfg->kafka.topic_clean, cfg->kafka.topic_stats,
                           cfg->kafka.topic_dlq};
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (size_t i = 0; i < cfg->kafka.properties.count; i++) {
        const char *k = cfg->kafka.properties.items[i].key;
        if (!strncmp(k, "security", 8) || !strncmp(k, "sasl", 4) || !strncmp(k, "ssl", 3))
            rd_kafka_conf_set(conf, k, cfg->kafka.properties.items[i].value, errstr,
                              sizeof errstr);
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.bootstrap_servers, errstr,
                          sizeof errstr)) {
        snprintf(err, errlen, "kafka.bootstrap_servers: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SPATE_ECONFIG;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        snprintf(err, errlen, "kafka client: %s", errstr);
        return SPATE_EKAFKA;
    }
    rd_kafka_NewTopic_t *nt[4];
    for (int i = 0; i < 4; i++)
        nt[i] = rd_kafka_NewTopic_new(names[i], cfg->kafka.partitions,
                                      cfg->kafka.replication_factor, errstr, sizeof errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(o, 30000, errstr, sizeof errstr);
    rd_kafka_CreateTopics(rk, nt, 4, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 35000);
    int rc = 0;
    if (!ev) {
        snprintf(err, errlen, "creating topics on %s: no answer in 35 s",
                 cfg->kafka.bootstrap_servers);
        rc = SPATE_ETIMEDOUT;
    } else if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "creating topics on %s: %s", cfg->kafka.bootstrap_servers,
                 rd_kafka_event_error_string(ev));
        rc = SPATE_EKAFKA;
    } else {
        size_t n;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n && rc == 0; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                SPATE_INFO("run", "created topic %s (%d partitions)", rd_kafka_topic_result_name(tr[i]),
                           cfg->kafka.partitions);
            else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                snprintf(err, errlen, "creating topic %s: %s", rd_kafka_topic_result_name(tr[i]),
                         rd_kafka_topic_result_error_string(tr[i]));
                rc = SPATE_EKAFKA;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    for (int i = 0; i < 4; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    rd_kafka_destroy(rk);
    return rc;
}
