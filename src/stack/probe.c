/* SPDX-License-Identifier: Apache-2.0 */
/* probe.c -- "does it serve clients?" checks for Kafka and Cassandra. */
#include "stack_internal.h"

#include "spate/error.h"
#include "spate/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf; /* connection-refused noise while the broker boots */
}

int stack__probe_kafka(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    char servers[300], errstr[512];
    snprintf(servers, sizeof servers, "%s:%d", host, port);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", servers, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "%s", errstr);
        return SPATE_EINVAL;
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
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
    } else if (md->broker_cnt < 1) {
        snprintf(err, errlen, "metadata from %s lists no broker", servers);
        rc = SPATE_EUNAVAILABLE;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

static int connect_timeout(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        snprintf(err, errlen, "'%s' is not an IPv4 address", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        snprintf(err, errlen, "connect %s:%d: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, timeout_ms) != 1) {
        snprintf(err, errlen, "connect %s:%d: timed out", host, port);
        close(fd);
        return -1;
    }
    int soerr = 0;
    socklen_t l = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
    if (soerr) {
        snprintf(err, errlen, "connect %s:%d: %s", host, port, strerror(soerr));
        close(fd);
        return -1;
    }
    return fd;
}

/* One request, one reply, within the deadline; no protocol state beyond the
 * 9-byte v4 header, so this stays independent of the full CQL client. */
int stack__probe_cql(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = spate_mono_ms() + timeout_ms;
    int fd = connect_timeout(host, port, timeout_ms, err, errlen);
    if (fd < 0)
        return SPATE_EUNAVAILABLE;
    /* STARTUP {"CQL_VERSION": "3.0.0"} */
    static const unsigned char body[] = {0, 1, 0, 11, 'C', 'Q', 'L', '_', 'V', 'E', 'R', 'S',
                                         'I', 'O', 'N', 0, 5, '3', '.', '0', '.', '0'};
    unsigned char frame[9 + sizeof body] = {0x04, 0, 0, 1, 0x01, 0, 0, 0, sizeof body};
    memcpy(frame + 9, body, sizeof body);
    if (send(fd, frame, sizeof frame, MSG_NOSIGNAL) != (ssize_t)sizeof frame) {
        snprintf(err, errlen, "send STARTUP: %s", strerror(errno));
        close(fd);
        return SPATE_EUNAVAILABLE;
    }
    unsigned char hdr[9];
    size_t got = 0;
    while (got < sizeof hdr) {
        int left = (int)(deadline - spate_mono_ms());
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) != 1) {
            snprintf(err, errlen, "no reply to STARTUP within %d ms", timeout_ms);
            close(fd);
            return SPATE_ETIMEDOUT;
        }
        ssize_t n = recv(fd, hdr + got, sizeof hdr - got, 0);
        if (n <= 0) {
            snprintf(err, errlen, "connection closed before the reply to STARTUP");
            close(fd);
            return SPATE_EUNAVAILABLE;
        }
        got += (size_t)n;
    }
    close(fd);
    if (hdr[0] != 0x84) {
        snprintf(err, errlen, "reply is not a CQL v4 response (version byte 0x%02x)", hdr[0]);
        return SPATE_EPROTO;
    }
    if (hdr[4] == 0x02 /* READY */ || hdr[4] == 0x03 /* AUTHENTICATE */)
        return 0;
    snprintf(err, errlen, "STARTUP answered with opcode 0x%02x, not READY", hdr[4]);
    return SPATE_EUNAVAILABLE;
}
