/* SPDX-License-Identifier: Apache-2.0 */
/* topics.c -- create the pipeline's Kafka topics through the admin API. */
#include "spate/flow.h"

#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/log.h"
#include "spate/util.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

/* The topics a stage of cfg may create: the raw, clean, stats and DLQ topics
 * of its pipeline, or of every pipeline when cfg runs them all. */
#define MAX_TOPICS 64
struct topic_names {
    char buf[MAX_TOPICS][256];
    const char *names[MAX_TOPICS];
    size_t n;
};

static void topic_names(const struct spate_config *cfg, struct topic_names *t)
{
    static const char *const kinds[] = {"raw", "clean", "stats", "dlq"};
    size_t np = cfg->all_pipelines ? cfg->pipeline_count + 1 : 1;
    t->n = 0;
    for (size_t p = 0; p < np; p++) {
        for (size_t k = 0; k < 4 && t->n < MAX_TOPICS; k++) {
            spate_config_topic_of(cfg, p ? cfg->pipelines[p - 1].name : cfg->pipeline, kinds[k],
                                  t->buf[t->n], sizeof t->buf[t->n]);
            t->names[t->n] = t->buf[t->n];
            t->n++;
        }
    }
}

int flow_ensure_topics(const struct spate_config *cfg, char *err, size_t errlen)
{
    static struct topic_names t; /* 16 KB: not on the stack */
    topic_names(cfg, &t);
    const char *const *names = t.names;
    char errstr[512];
    rd_kafka_conf_t *conf =
        spate_kafka_client_conf(cfg->kafka.bootstrap_servers, &cfg->kafka.properties, err, errlen);
    if (!conf)
        return SPATE_ECONFIG;
    struct spate_kafka_diag diag = {0};
    spate_kafka_diag_attach(conf, &diag);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka client: %s", errstr);
        return SPATE_EKAFKA;
    }
    int rc = spate_kafka_preflight(rk, &diag, 10000, NULL);
    if (rc == SPATE_EAUTH && spate_kafka_diag_explain(&diag, &cfg->kafka.properties, errstr,
                                                      sizeof errstr))
        snprintf(err, errlen, "cannot use Kafka at %s: %s", cfg->kafka.bootstrap_servers,
                 errstr);
    else
        rc = spate_kafka_create_topics(rk, names, t.n, &cfg->kafka, "run", NULL, err, errlen);
    rd_kafka_destroy(rk);
    return rc;
}

/* 1 when topic exists with partitions, 0 when the cluster says it does not,
 * -1 with the reason in err when no broker answers. */
static int topic_exists(rd_kafka_t *rk, const char *topic, const char *bootstrap, char *err,
                        size_t errlen)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = t ? rd_kafka_metadata(rk, 0, t, &md, 3000) : RD_KAFKA_RESP_ERR__FAIL;
    if (t)
        rd_kafka_topic_destroy(t);
    if (e) {
        /* not the librdkafka error: it varies between attempts (timed out,
         * transport failure), and each change would be another line */
        snprintf(err, errlen, "no broker of %s answers", bootstrap);
        return -1;
    }
    int found = md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0;
    rd_kafka_metadata_destroy(md);
    return found;
}

int flow_await_topic(const struct spate_config *cfg, const char *topic, const char *comp,
                         volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    const struct spate_kafka_config *kc = &cfg->kafka;
    static struct topic_names t;
    topic_names(cfg, &t);
    const char *const *names = t.names;
    char errstr[512], said[512] = "", why[512];
    rd_kafka_conf_t *conf =
        spate_kafka_client_conf(kc->bootstrap_servers, &kc->properties, err, errlen);
    if (!conf)
        return SPATE_ECONFIG;
    /* a metadata request must not have the broker create the topic with its
     * own defaults */
    rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", errstr, sizeof errstr);
    struct spate_kafka_diag diag = {0};
    spate_kafka_diag_attach(conf, &diag);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka client: %s", errstr);
        return SPATE_EKAFKA;
    }
    int rc;
    for (;;) {
        /* A quick probe first: with no broker up, creating would take the
         * admin timeout before saying anything. */
        int have = topic_exists(rk, topic, kc->bootstrap_servers, why, sizeof why);
        rd_kafka_poll(rk, 0);
        /* a broker that refuses our settings is not one to wait for */
        if (have < 0 && spate_kafka_diag_explain(&diag, &kc->properties, why, sizeof why)) {
            snprintf(err, errlen, "cannot use Kafka at %s: %s", kc->bootstrap_servers, why);
            rc = SPATE_EAUTH;
            break;
        }
        if (have >= 0) {
            rc = spate_kafka_create_topics(rk, names, t.n, kc, comp, stop, why, sizeof why);
            if (rc == 0)
                break;
            if (rc != SPATE_ECANCELED && topic_exists(rk, topic, kc->bootstrap_servers, errstr,
                                                      sizeof errstr) == 1) {
                /* a cluster that forbids creating topics, where someone did */
                SPATE_WARN(comp, "%s; topic %s exists, going on", why, topic);
                rc = 0;
                break;
            }
            if (have == 0 && rc != SPATE_ECANCELED) {
                char tmp[sizeof why];
                snprintf(tmp, sizeof tmp, "topic %s does not exist and creating it failed: %s",
                         topic, why);
                spate_strlcpy(why, tmp, sizeof why);
            }
        }
        if (stop && *stop) {
            snprintf(err, errlen, "stopped while waiting for topic %s", topic);
            rc = SPATE_ECANCELED;
            break;
        }
        if (strcmp(why, said) != 0) { /* one line per reason, not one per attempt */
            SPATE_WARN(comp, "waiting for Kafka topic %s: %s", topic, why);
            spate_strlcpy(said, why, sizeof said);
        }
        for (int i = 0; i < 20 && !(stop && *stop); i++)
            spate_sleep_ms(100);
    }
    rd_kafka_destroy(rk);
    return rc;
}
