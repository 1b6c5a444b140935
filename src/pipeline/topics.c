/* SPDX-License-Identifier: Apache-2.0 */
/* topics.c -- create the pipeline's Kafka topics through the admin API. */
#include "spate/pipeline.h"

#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/log.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

int pipeline_ensure_topics(const struct spate_config *cfg, char *err, size_t errlen)
{
    const char *const names[] = {cfg->kafka.topic_raw, cfg->kafka.topic_clean, cfg->kafka.topic_stats,
                           cfg->kafka.topic_dlq};
    char errstr[512];
    rd_kafka_conf_t *conf =
        spate_kafka_client_conf(cfg->kafka.bootstrap_servers, &cfg->kafka.properties, err, errlen);
    if (!conf)
        return SPATE_ECONFIG;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        snprintf(err, errlen, "kafka client: %s", errstr);
        return SPATE_EKAFKA;
    }
    int rc = spate_kafka_create_topics(rk, names, 4, cfg->kafka.partitions,
                                       cfg->kafka.replication_factor, "run", NULL, err,
                                       errlen);
    rd_kafka_destroy(rk);
    return rc;
}
