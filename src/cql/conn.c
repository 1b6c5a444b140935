/* SPDX-License-Identifier: Apache-2.0 */
/* conn.c -- one CQL connection: non-blocking socket, handshake, stream ids, framed reads/writes. */
#include "cql_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


/* ---- plain transport ------------------------------------------------------------- */

static long plain_read(struct cql_conn *c, void *buf, size_t len)
{
    return (long)recv(c->fd, buf, len, 0);
}

static long plain_write(struct cql_conn *c, const void *buf, size_t len)
{
    return (long)send(c->fd, buf, len, MSG_NOSIGNAL);
}

static void plain_close(struct cql_conn *c)
{
    (void)c;
}

const struct cql_io_ops cql__plain_io = {plain_read, plain_write, plain_close};

/* ---- stream ids ---------------------------------------------------------------------- */

int cql__conn_take_stream(struct cql_conn *c)
{
    if (c->nfree == 0)
        return -1;
    return c->free_ids[--c->nfree];
}

void cql__conn_release_stream(struct cql_conn *c, int stream)
{
    if (stream < 0 || stream >= c->max_streams)
        return;
    c->slots[stream] = NULL;
    c->free_ids[c->nfree++] = (int16_t)stream;
}

/* ---- blocking helpers for the handshake ------------------------------------------------- */

static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - spate_mono_ms();
        if (left <= 0)
            return SPATE_ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return SPATE_ESYS;
    }
}

static int write_all(struct cql_conn *c, int64_t deadline)
{
    while (c->out_off < c->out.len) {
        int rc = cql__conn_flush(c);
        if (rc)
            return rc;
        if (c->out_off < c->out.len && (rc = wait_fd(c->fd, POLLOUT, deadline)))
            return rc;
    }
    return 0;
}

static int read_one(struct cql_conn *c, struct cql_frame *f, int64_t deadline)
{
    for (;;) {
        int rc = cql__decoder_next(&c->dec, f);
        if (rc != SPATE_ENEEDMORE)
            return rc;
        char buf[16384];
        long n = c->io->read(c, buf, sizeof buf);
        if (n > 0) {
            if ((rc = cql__decoder_feed(&c->dec, buf, (size_t)n)))
                return rc;
            continue;
        }
        if (n == 0)
            return SPATE_ECLOSED;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return errno == ECONNRESET ? SPATE_ECLOSED : SPATE_ESYS;
        if ((rc = wait_fd(c->fd, POLLIN, deadline)))
            return rc;
    }
}

/* Sends the frame already in c->out and waits for its response. */
static int roundtrip(struct cql_conn *c, struct cql_response *resp, int64_t deadline, char *err,
                     size_t errlen)
{
    int rc = write_all(c, deadline);
    struct cql_frame f = {0};
    if (!rc) {
        do {
            rc = read_one(c, &f, deadline);
            if (!rc && f.stream < 0) { /* an event before our answer: skip */
                free(f.body);
                f.body = NULL;
                continue;
            }
            break;
        } while (1);
    }
    if (rc) {
        if (rc == SPATE_ETIMEDOUT)
            snprintf(err, errlen, "timed out during connection setup");
        else if (c->dec.err)
            snprintf(err, errlen, "%s", c->dec.errstr);
        else
            snprintf(err, errlen, "%s", rc == SPATE_ESYS ? strerror(errno) : spate_strerror(rc));
        return rc;
    }
    rc = cql__response_parse(&f, NULL, resp, err, errlen);
    free(f.body);
    if (rc)
        return rc;
    if (resp->opcode == CQL_OP_ERROR) {
        snprintf(err, errlen, "%s", resp->error.message);
        rc = resp->error.status;
        cql__response_free(resp);
    }
    return rc;
}

static int connected_to_self(int fd)
{
    struct sockaddr_storage a, b;
    socklen_t al = sizeof a, bl = sizeof b;
    if (getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
        getpeername(fd, (struct sockaddr *)&b, &bl) != 0)
        return 0;
    return al == bl && memcmp(&a, &b, al) == 0;
}

static int do_connect(struct cql_conn *c, const char *host, int port, int64_t deadline, char *err,
                      size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *res = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int g = getaddrinfo(host, ps, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(g));
        return SPATE_ERESOLVE;
    }
    int rc = SPATE_ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (w == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0 &&
                connected_to_self(fd)) {
                /* A port in the ephemeral range with nothing listening can be
                 * "reached" by TCP simultaneous open from our own socket; that
                 * would hold the port and keep the server from restarting. */
                snprintf(err, errlen, "connect to %s:%d: connection refused (nothing listens)",
                         host, port);
                rc = SPATE_ECONNREFUSED;
                close(fd);
                continue;
            } else if (w == 0 && soerr == 0) {
                c->fd = fd;
                freeaddrinfo(res);
                return 0;
            }
            if (w == SPATE_ETIMEDOUT) {
                snprintf(err, errlen, "connect to %s:%d timed out", host, port);
                rc = SPATE_ETIMEDOUT;
            } else {
                snprintf(err, errlen, "connect to %s:%d: %s", host, port, strerror(soerr ? soerr : errno));
                rc = soerr == ECONNREFUSED ? SPATE_ECONNREFUSED : SPATE_ESYS;
            }
        } else {
            snprintf(err, errlen, "connect to %s:%d: %s", host, port, strerror(errno));
            rc = errno == ECONNREFUSED ? SPATE_ECONNREFUSED : SPATE_ESYS;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

int cql__conn_open(struct cql_conn *c, const char *host, int port, const struct cql_conn_opts *o,
                   char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->io = &cql__plain_io;
    int64_t deadline = spate_mono_ms() + (o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000);
    cql__decoder_init(&c->dec, o->max_frame, CQL_VERSION_RESPONSE);
    c->max_streams = o->max_streams > 0 && o->max_streams <= CQL_MAX_STREAMS ? o->max_streams : 1024;
    c->slots = calloc((size_t)c->max_streams, sizeof *c->slots);
    c->free_ids = malloc((size_t)c->max_streams * sizeof *c->free_ids);
    if (!c->slots || !c->free_ids) {
        snprintf(err, errlen, "out of memory");
        cql__conn_close(c);
        return SPATE_ENOMEM;
    }
    /* pop order: low ids first */
    for (int i = 0; i < c->max_streams; i++)
        c->free_ids[i] = (int16_t)(c->max_streams - 1 - i);
    c->nfree = c->max_streams;

    int rc = do_connect(c, host, port, deadline, err, errlen);
    if (rc)
        goto fail;
    if (o->tls_ctx && (rc = cql__tls_connect(c, o->tls_ctx, host, o->tls_verify, deadline, err, errlen)))
        goto fail;

    struct cql_response resp;
    const char *compression = NULL;
    if (o->compression) {
        if ((rc = cql__enc_options(&c->out, 0)) || (rc = roundtrip(c, &resp, deadline, err, errlen)))
            goto fail;
        if (resp.opcode == CQL_OP_SUPPORTED && resp.supports_lz4)
            compression = "lz4";
        cql__response_free(&resp);
    }
    if ((rc = cql__enc_startup(&c->out, 0, compression)))
        goto fail;
    if (compression)
        c->lz4 = c->dec.lz4 = 1; /* the answer to STARTUP may already be compressed */
    if ((rc = roundtrip(c, &resp, deadline, err, errlen)))
        goto fail;
    if (resp.opcode == CQL_OP_AUTHENTICATE) {
        char cls[200];
        snprintf(cls, sizeof cls, "%s", resp.text ? resp.text : "?");
        cql__response_free(&resp);
        if (!o->username) {
            snprintf(err, errlen, "server requires authentication (%s) but no username is configured",
                     cls);
            rc = SPATE_EAUTH;
            goto fail;
        }
        /* SASL PLAIN: authzid \0 user \0 password */
        size_t ul = strlen(o->username), pl = o->password ? strlen(o->password) : 0;
        if (ul + pl > 4096) {
            rc = SPATE_EINVAL;
            snprintf(err, errlen, "credentials too long");
            goto fail;
        }
        char tok[4100];
        tok[0] = '\0';
        memcpy(tok + 1, o->username, ul);
        tok[1 + ul] = '\0';
        if (pl)
            memcpy(tok + 2 + ul, o->password, pl);
        if ((rc = cql__enc_auth_response(&c->out, 0, tok, (int32_t)(2 + ul + pl))))
            goto fail;
        rc = roundtrip(c, &resp, deadline, err, errlen);
        if (rc) {
            if (rc == SPATE_EAUTH) {
                char m[256];
                snprintf(m, sizeof m, "%s", err);
                snprintf(err, errlen, "authentication as '%s' failed: %s", o->username, m);
            }
            goto fail;
        }
        int ok = resp.opcode == CQL_OP_AUTH_SUCCESS;
        cql__response_free(&resp);
        if (!ok) {
            snprintf(err, errlen, "authentication needs more than one SASL step (unsupported)");
            rc = SPATE_EAUTH;
            goto fail;
        }
    } else if (resp.opcode != CQL_OP_READY) {
        snprintf(err, errlen, "unexpected %s answer to STARTUP", cql__opcode_name(resp.opcode));
        cql__response_free(&resp);
        rc = SPATE_EPROTO;
        goto fail;
    } else {
        cql__response_free(&resp);
    }
    if (o->keyspace && o->keyspace[0]) {
        char q[300];
        int n = snprintf(q, sizeof q, "USE \"%s\"", o->keyspace);
        struct cql_params p = {.consistency = 1, .serial_consistency = -1};
        if ((rc = cql__enc_query(&c->out, 0, c->lz4, q, (size_t)n, &p)) ||
            (rc = roundtrip(c, &resp, deadline, err, errlen)))
            goto fail;
        cql__response_free(&resp);
        spate_strlcpy(c->keyspace, o->keyspace, sizeof c->keyspace);
    }
    if (o->register_events) {
        static const char *const ev[] = {"TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"};
        if ((rc = cql__enc_register(&c->out, 0, ev, 3)) ||
            (rc = roundtrip(c, &resp, deadline, err, errlen)))
            goto fail;
        cql__response_free(&resp);
    }
    spate_buf_reset(&c->out);
    c->out_off = 0;
    c->ready = 1;
    c->last_used_ms = spate_mono_ms();
    return 0;
fail:
    cql__conn_close(c);
    return rc;
}

void cql__conn_close(struct cql_conn *c)
{
    if (c->io && c->fd >= 0)
        c->io->close(c);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->ready = 0;
    cql__decoder_free(&c->dec);
    spate_buf_free(&c->out);
    c->out_off = 0;
    free(c->slots);
    free(c->free_ids);
    c->slots = NULL;
    c->free_ids = NULL;
    c->nfree = 0;
    c->in_flight = 0;
}

int cql__conn_flush(struct cql_conn *c)
{
    while (c->out_off < c->out.len) {
        long n = c->io->write(c, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        snprintf(c->errstr, sizeof c->errstr, "write failed: %s",
                 n == 0 ? "connection closed" : strerror(errno));
        return SPATE_ECLOSED;
    }
    /* everything went out: reuse the buffer from its start */
    c->out.len = 0;
    c->out_off = 0;
    return 0;
}

int cql__conn_read(struct cql_conn *c, void (*fn)(struct cql_conn *c, struct cql_frame *f, void *arg),
                   void *arg)
{
    char buf[65536];
    for (int rounds = 0; rounds < 64; rounds++) {
        long n = c->io->read(c, buf, sizeof buf);
        if (n == 0) {
            snprintf(c->errstr, sizeof c->errstr, "connection closed by server");
            return SPATE_ECLOSED;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            snprintf(c->errstr, sizeof c->errstr, "read failed: %s", strerror(errno));
            return SPATE_ECLOSED;
        }
        int rc = cql__decoder_feed(&c->dec, buf, (size_t)n);
        for (;;) {
            struct cql_frame f = {0};
            if (!rc)
                rc = cql__decoder_next(&c->dec, &f);
            if (rc == SPATE_ENEEDMORE)
                break;
            if (rc) {
                snprintf(c->errstr, sizeof c->errstr, "bad frame from server: %s",
                         c->dec.err ? c->dec.errstr : spate_strerror(rc));
                return rc;
            }
            fn(c, &f, arg);
            free(f.body);
            if (c->failed)
                return SPATE_EPROTO;
        }
        if ((size_t)n < sizeof buf)
            return 0;
    }
    return 0;
}
