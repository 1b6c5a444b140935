/* SPDX-License-Identifier: Apache-2.0 */
/* probe.c -- "does it serve clients?" checks for Kafka and Cassandra. */
#include "stack_internal.h"

#include "spate/cql.h"
#include "spate/error.h"
#include "spate/kafka.h"

#include <stdio.h>
#include <string.h>

int stack__probe_kafka(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    return stack__probe_kafka_brokers(host, port, 1, timeout_ms, err, errlen);
}

int stack__probe_kafka_brokers(const char *host, int port, int brokers, int timeout_ms, char *err,
                               size_t errlen)
{
    char servers[300], errstr[512];
    snprintf(servers, sizeof servers, "%s:%d", host, port);
    rd_kafka_conf_t *conf = spate_kafka_client_conf(servers, NULL, err, errlen);
    if (!conf)
        return SPATE_EINVAL;
    rd_kafka_conf_set(conf, "socket.connection.setup.timeout.ms", "1000", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        snprintf(err, errlen, "%s", errstr);
        return SPATE_EKAFKA;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    int rc = 0;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "metadata request to %s: %s", servers, rd_kafka_err2str(e));
        rc = SPATE_EUNAVAILABLE;
    } else if (md->broker_cnt < brokers) {
        snprintf(err, errlen, "metadata from %s lists %d of %d brokers", servers, md->broker_cnt,
                 brokers);
        rc = SPATE_EUNAVAILABLE;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

/* The CQL client's own probe: STARTUP answered by READY or AUTHENTICATE. */
int stack__probe_cql(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    return cql_probe(host, port, timeout_ms, err, errlen);
}
