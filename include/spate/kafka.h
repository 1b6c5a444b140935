/* SPDX-License-Identifier: Apache-2.0 */
/* kafka.h -- configuration for spate's short-lived Kafka clients. */
#ifndef SPATE_KAFKA_H
#define SPATE_KAFKA_H

#include "spate/config.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stddef.h>

/* A librdkafka configuration for a probe, admin or scan client: bootstrap
 * servers plus the connection settings of props (security.*, sasl.*, ssl.*,
 * socket.*, client.id, broker.address.family). Producer tuning is left out: a
 * consumer or admin client rejects or ignores it. Its log callback is silent
 * because these clients report failure through their return values, and
 * librdkafka's connection-refused lines while a broker boots are noise.
 * props may be NULL. NULL with err filled when a setting is refused. */
rd_kafka_conf_t *spate_kafka_client_conf(const char *bootstrap, const struct spate_kvlist *props,
                                         char *err, size_t errlen);

/* fetch.wait.max.ms of spate's long-running consumers. The broker answers a
 * waiting fetch as soon as a record arrives, so a long wait adds no latency;
 * what it changes is how often an idle consumer asks: at librdkafka's 500 ms
 * the broker of an idle pipeline was woken several times a second. */
#define SPATE_KAFKA_IDLE_FETCH_WAIT_MS "5000"

/* A librdkafka log callback for long-running clients: its lines go through
 * spate's logger (one format on stderr, log_level applies) under the
 * client's name without the "spate-" prefix ("spate-sink#consumer-2" logs
 * as component "sink"). */
void spate_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Create the named topics that do not exist yet through rk's admin API
 * (partitions and replication as given; an existing topic is left as it is;
 * a name listed twice is created once), then wait until the new ones have
 * partition leaders. Logs each creation under comp. Gives up early when
 * *stop becomes set (stop may be NULL). 0, or an error code with err naming
 * the topic and the broker's reason. */
int spate_kafka_create_topics(rd_kafka_t *rk, const char *const *names, size_t n, int partitions,
                              int replication, const char *comp, volatile sig_atomic_t *stop,
                              char *err, size_t errlen);

#endif
