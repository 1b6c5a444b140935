/* SPDX-License-Identifier: Apache-2.0 */
/* kafka.h -- configuration for spate's short-lived Kafka clients. */
#ifndef SPATE_KAFKA_H
#define SPATE_KAFKA_H

#include "spate/config.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* A librdkafka configuration for a probe, admin or scan client: bootstrap
 * servers plus the connection settings of props (security.*, sasl.*, ssl.*,
 * socket.*, client.id, broker.address.family). Producer tuning is left out: a
 * consumer or admin client rejects or ignores it. Its log callback is silent
 * because these clients report failure through their return values, and
 * librdkafka's connection-refused lines while a broker boots are noise.
 * props may be NULL. NULL with err filled when a setting is refused. */
rd_kafka_conf_t *spate_kafka_client_conf(const char *bootstrap, const struct spate_kvlist *props,
                                         char *err, size_t errlen);

/* fetch.wait.max.ms of long-running consumers whose partitions never change
 * (serve's DLQ reader). The broker answers a waiting fetch as soon as a record
 * arrives, so a long wait adds no latency there; what it changes is how often
 * an idle consumer asks. Not for a consumer that pauses, resumes or is
 * rebalanced: a partition added while a fetch waits is asked for only when
 * that fetch returns. */
#define SPATE_KAFKA_IDLE_FETCH_WAIT_MS "5000"

/* 1 when a librdkafka property is a connection setting (security.*, sasl.*,
 * ssl.*, socket.*, client.id, broker.address.family): what every client of
 * the cluster needs, the Spark job's Java clients included. */
int spate_kafka_connection_setting(const char *key);

/* The first connection error librdkafka reported to a client, kept for the
 * message of a later failure (a metadata request that timed out says nothing
 * of a refused password). Attach with spate_kafka_diag_attach() before
 * rd_kafka_new(); the client's error callback fills it. */
struct spate_kafka_diag {
    int err;          /* rd_kafka_resp_err_t; 0 = nothing reported */
    char reason[512]; /* librdkafka's text */
    char said[512];   /* the explanation last logged by spate_kafka_diag_report */
    int64_t said_ms;
};
/* Makes d the conf's opaque with an error callback that records into it. */
void spate_kafka_diag_attach(rd_kafka_conf_t *conf, struct spate_kafka_diag *d);
/* Records an error into d when it is about the connection (the first one,
 * and a configuration error always wins over a transport one). */
void spate_kafka_diag_record(struct spate_kafka_diag *d, int err, const char *reason);

/* For a long-running client's error callback: records the error and, when it
 * is a settings mismatch (see spate_kafka_explain), logs the explanation as
 * one ERROR line under comp, again only when it changes or after a minute.
 * Returns 1 for such an error (the caller need not log it), else 0. */
int spate_kafka_diag_report(struct spate_kafka_diag *d, const char *comp,
                            const struct spate_kvlist *props, int err, const char *reason);
/* The explanation of what d recorded into out, when it is a settings
 * mismatch: 1, else 0. */
int spate_kafka_diag_explain(const struct spate_kafka_diag *d, const struct spate_kvlist *props,
                             char *out, size_t outlen);

/* Before a stage does anything it could not undo: waits up to timeout_ms for
 * a broker to answer a metadata request, serving rk's callbacks so that an
 * error callback that records into d sees the connection errors. 0 once a
 * broker answers; SPATE_EAUTH as soon as d holds a settings mismatch (the
 * caller reports spate_kafka_diag_explain); SPATE_ETIMEDOUT or
 * SPATE_ECANCELED (stop set) otherwise. */
int spate_kafka_preflight(rd_kafka_t *rk, const struct spate_kafka_diag *d, int timeout_ms,
                          volatile sig_atomic_t *stop);

/* One line naming what is wrong when a librdkafka error means the client's
 * security settings do not match the broker: refused credentials, a broker
 * certificate the CA does not sign, a TLS listener reached without TLS or
 * the reverse. props are kafka.properties (for the names in the message; may
 * be NULL). Returns 1 and fills out, or 0 when err is something else. */
int spate_kafka_explain(int err, const char *reason, const struct spate_kvlist *props, char *out,
                        size_t outlen);

/* A librdkafka log callback for long-running clients: its lines go through
 * spate's logger (one format on stderr, log_level applies) under the
 * client's name without the "spate-" prefix ("spate-sink#consumer-2" logs
 * as component "sink"). */
void spate_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Create the named topics that do not exist yet through rk's admin API
 * (partitions, replication and min.insync.replicas from kc; an existing topic is left as it is;
 * a name listed twice is created once), then wait until the new ones have
 * partition leaders. Logs each creation under comp. Gives up early when
 * *stop becomes set (stop may be NULL). 0, or an error code with err naming
 * the topic and the broker's reason. */
int spate_kafka_create_topics(rd_kafka_t *rk, const char *const *names, size_t n,
                              const struct spate_kafka_config *kc, const char *comp,
                              volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif
