/* SPDX-License-Identifier: Apache-2.0 */
/* conn.c -- one CQL connection: non-blocking connect and handshake, stream ids, framed I/O. */
#include "cql_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
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

/* ---- connecting: a state machine the session's poll loop drives ------------------------ */

static int conn_error(struct cql_conn *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Saves why the attempt failed, closes the connection and returns rc. */
static int conn_error(struct cql_conn *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof c->errstr, fmt, ap);
    va_end(ap);
    cql__conn_close(c);
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

/* A peer that vanishes without a FIN or RST (power loss, a dropped NAT entry)
 * leaves an idle socket open for ever; keepalive lets the kernel notice. The
 * Linux default waits two hours before the first probe, far longer than
 * anyone waits for a database, hence the explicit timings. */
static void set_keepalive(int fd)
{
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
#ifdef TCP_KEEPIDLE
    int idle = 60, intvl = 10, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
#endif
}

/* Starts a non-blocking connect() to the next resolved address. 0 when one is
 * under way (or done), else the error of the last address tried. */
static int tcp_next(struct cql_conn *c)
{
    int rc = SPATE_ECONNREFUSED;
    if (!c->ai_next)
        return conn_error(c, rc, "connect to %s:%d: no address left to try", c->hostname, c->port);
    while (c->ai_next) {
        struct addrinfo *ai = c->ai_next;
        c->ai_next = ai->ai_next;
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        ai->ai_protocol);
        if (fd < 0) {
            snprintf(c->errstr, sizeof c->errstr, "socket: %s", strerror(errno));
            rc = SPATE_ESYS;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_keepalive(fd);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            c->fd = fd;
            c->state = CQL_CONN_TCP;
            return 0;
        }
        snprintf(c->errstr, sizeof c->errstr, "connect to %s:%d: %s", c->hostname, c->port,
                 strerror(errno));
        rc = errno == ECONNREFUSED ? SPATE_ECONNREFUSED : SPATE_ESYS;
        close(fd);
    }
    char why[sizeof c->errstr];
    snprintf(why, sizeof why, "%s", c->errstr);
    return conn_error(c, rc, "%s", why);
}

static int send_frame_rc(struct cql_conn *c, int rc, enum cql_conn_state next)
{
    if (rc)
        return conn_error(c, rc, "cannot encode the handshake: %s", spate_strerror(rc));
    c->state = next;
    if ((rc = cql__conn_flush(c))) {
        char why[sizeof c->errstr];
        snprintf(why, sizeof why, "%s", c->errstr);
        return conn_error(c, rc, "%s:%d: %s", c->hostname, c->port, why);
    }
    return 0;
}

/* After READY or AUTH_SUCCESS: USE the keyspace, or done. */
static int after_startup(struct cql_conn *c)
{
    if (c->keyspace[0]) {
        char q[300];
        int n = snprintf(q, sizeof q, "USE \"%s\"", c->keyspace);
        struct cql_params p = {.consistency = 1, .serial_consistency = -1};
        return send_frame_rc(c, cql__enc_query(&c->out, 0, c->lz4, q, (size_t)n, &p),
                             CQL_CONN_USE);
    }
    c->state = CQL_CONN_READY;
    c->ready = 1;
    return 0;
}

/* The first handshake frame, once the byte stream (TCP or TLS) is up. */
static int begin_handshake(struct cql_conn *c)
{
    if (c->opts.compression)
        return send_frame_rc(c, cql__enc_options(&c->out, 0), CQL_CONN_OPTIONS);
    return send_frame_rc(c, cql__enc_startup(&c->out, 0, NULL), CQL_CONN_STARTUP);
}

static int on_auth_request(struct cql_conn *c, const char *cls)
{
    const struct cql_conn_opts *o = &c->opts;
    if (!o->username)
        return conn_error(c, SPATE_EAUTH,
                          "server requires authentication (%s) but no username is configured", cls);
    /* SASL PLAIN: authzid \0 user \0 password */
    size_t ul = strlen(o->username), pl = o->password ? strlen(o->password) : 0;
    if (ul + pl > 4096)
        return conn_error(c, SPATE_EINVAL, "credentials too long");
    char tok[4100];
    tok[0] = '\0';
    memcpy(tok + 1, o->username, ul);
    tok[1 + ul] = '\0';
    if (pl)
        memcpy(tok + 2 + ul, o->password, pl);
    int rc = cql__enc_auth_response(&c->out, 0, tok, (int32_t)(2 + ul + pl));
    explicit_bzero(tok, sizeof tok); /* no copy of the password left on the stack */
    return send_frame_rc(c, rc, CQL_CONN_AUTH);
}

/* One answer of the handshake; moves to the next state. */
static int handshake_frame(struct cql_conn *c, struct cql_frame *f)
{
    struct cql_response resp;
    char err[256];
    int rc = cql__response_parse(f, NULL, &resp, err, sizeof err);
    if (rc)
        return conn_error(c, rc, "%s:%d: %s", c->hostname, c->port, err);
    if (resp.opcode == CQL_OP_ERROR) {
        rc = resp.error.status;
        if (c->state == CQL_CONN_AUTH && rc == SPATE_EAUTH)
            snprintf(err, sizeof err, "authentication as '%s' failed: %s", c->opts.username,
                     resp.error.message);
        else
            snprintf(err, sizeof err, "%s", resp.error.message);
        cql__response_free(&resp);
        return conn_error(c, rc, "%s", err);
    }
    uint8_t op = resp.opcode;
    switch (c->state) {
    case CQL_CONN_OPTIONS: {
        int lz4 = op == CQL_OP_SUPPORTED && resp.supports_lz4;
        cql__response_free(&resp);
        rc = cql__enc_startup(&c->out, 0, lz4 ? "lz4" : NULL);
        if (lz4)
            c->lz4 = c->dec.lz4 = 1; /* the answer to STARTUP may already be compressed */
        return send_frame_rc(c, rc, CQL_CONN_STARTUP);
    }
    case CQL_CONN_STARTUP:
        if (op == CQL_OP_AUTHENTICATE) {
            char cls[200];
            snprintf(cls, sizeof cls, "%s", resp.text ? resp.text : "?");
            cql__response_free(&resp);
            return on_auth_request(c, cls);
        }
        cql__response_free(&resp);
        if (op != CQL_OP_READY)
            return conn_error(c, SPATE_EPROTO, "unexpected %s answer to STARTUP",
                              cql__opcode_name(op));
        return after_startup(c);
    case CQL_CONN_AUTH:
        cql__response_free(&resp);
        if (op != CQL_OP_AUTH_SUCCESS)
            return conn_error(c, SPATE_EAUTH,
                              "authentication needs more than one SASL step (unsupported)");
        return after_startup(c);
    case CQL_CONN_USE:
        cql__response_free(&resp);
        if (op != CQL_OP_RESULT)
            return conn_error(c, SPATE_EPROTO, "unexpected %s answer to USE", cql__opcode_name(op));
        c->state = CQL_CONN_READY;
        c->ready = 1;
        return 0;
    default: cql__response_free(&resp); return conn_error(c, SPATE_EPROTO, "unexpected frame");
    }
}

/* Reads what the server sent during the handshake and acts on each answer. */
static int handshake_read(struct cql_conn *c)
{
    for (;;) {
        struct cql_frame f = {0};
        int rc = cql__decoder_next(&c->dec, &f);
        if (rc == 0) {
            if (f.stream < 0) { /* an event before our answer: skip */
                free(f.body);
                continue;
            }
            rc = handshake_frame(c, &f);
            free(f.body);
            if (rc || c->ready)
                return rc;
            continue;
        }
        /* A TLS port answers a plain client by closing (or with a TLS alert,
         * which is no CQL frame): say so, the cause is a setting. */
        const char *hint = c->opts.tls_ctx ? ""
                                           : " (a server that requires TLS does this to a client "
                                             "without it: see cassandra.tls.enabled)";
        if (rc != SPATE_ENEEDMORE)
            return conn_error(c, rc, "%s:%d: bad frame during connection setup: %s%s",
                              c->hostname, c->port,
                              c->dec.err ? c->dec.errstr : spate_strerror(rc), hint);
        char buf[16384];
        long n = c->io->read(c, buf, sizeof buf);
        if (n > 0) {
            if ((rc = cql__decoder_feed(&c->dec, buf, (size_t)n)))
                return conn_error(c, rc, "%s:%d: %s", c->hostname, c->port, c->dec.errstr);
            c->last_read_ms = spate_mono_ms();
            continue;
        }
        if (n == 0)
            return conn_error(c, SPATE_ECLOSED, "%s:%d closed the connection during setup%s",
                              c->hostname, c->port, hint);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        int e = errno;
        return conn_error(c, e == ECONNRESET ? SPATE_ECLOSED : SPATE_ESYS,
                          "%s:%d: read during connection setup: %s%s", c->hostname, c->port,
                          strerror(e), e == ECONNRESET ? hint : "");
    }
}

int cql__conn_start(struct cql_conn *c, const char *host, int port, const struct cql_conn_opts *o)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->io = &cql__plain_io;
    c->opts = *o;
    c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    c->deadline_ms = spate_mono_ms() + c->connect_timeout_ms;
    spate_strlcpy(c->hostname, host, sizeof c->hostname);
    c->port = port;
    if (o->keyspace)
        spate_strlcpy(c->keyspace, o->keyspace, sizeof c->keyspace);
    cql__decoder_init(&c->dec, o->max_frame, CQL_VERSION_RESPONSE);
    c->max_streams = o->max_streams > 0 && o->max_streams <= CQL_MAX_STREAMS ? o->max_streams : 1024;
    c->slots = calloc((size_t)c->max_streams, sizeof *c->slots);
    c->free_ids = malloc((size_t)c->max_streams * sizeof *c->free_ids);
    if (!c->slots || !c->free_ids)
        return conn_error(c, SPATE_ENOMEM, "out of memory");
    /* pop order: low ids first */
    for (int i = 0; i < c->max_streams; i++)
        c->free_ids[i] = (int16_t)(c->max_streams - 1 - i);
    c->nfree = c->max_streams;

    /* An address literal resolves without a lookup; a name may still block
     * on DNS here, which is why contact points are best given as addresses. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int g = getaddrinfo(host, ps, &hints, &c->ai);
    if (g == EAI_NONAME) {
        hints.ai_flags = AI_NUMERICSERV;
        g = getaddrinfo(host, ps, &hints, &c->ai);
    }
    if (g != 0) {
        c->ai = NULL;
        return conn_error(c, SPATE_ERESOLVE, "cannot resolve %s: %s", host, gai_strerror(g));
    }
    c->ai_next = c->ai;
    return tcp_next(c);
}

short cql__conn_events(const struct cql_conn *c)
{
    switch (c->state) {
    case CQL_CONN_CLOSED: return 0;
    case CQL_CONN_TCP: return POLLOUT;
    case CQL_CONN_TLS: return c->tls_want;
    default: return (short)(POLLIN | (c->out.len > c->out_off ? POLLOUT : 0));
    }
}

int cql__conn_step(struct cql_conn *c, short revents)
{
    int rc;
    if (c->state == CQL_CONN_TCP) {
        if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
            return 0;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        if (!soerr && connected_to_self(c->fd)) {
            /* A port in the ephemeral range with nothing listening can be
             * "reached" by TCP simultaneous open from our own socket; that
             * would hold the port and keep the server from restarting. */
            soerr = ECONNREFUSED;
        }
        if (soerr) {
            snprintf(c->errstr, sizeof c->errstr, "connect to %s:%d: %s", c->hostname, c->port,
                     soerr == ECONNREFUSED ? "connection refused (nothing listens)"
                                           : strerror(soerr));
            close(c->fd);
            c->fd = -1;
            if (c->ai_next)
                return tcp_next(c);
            char why[sizeof c->errstr];
            snprintf(why, sizeof why, "%s", c->errstr);
            return conn_error(c, soerr == ECONNREFUSED ? SPATE_ECONNREFUSED : SPATE_ESYS, "%s",
                              why);
        }
        freeaddrinfo(c->ai);
        c->ai = c->ai_next = NULL;
        if (c->opts.tls_ctx) {
            char err[256];
            if ((rc = cql__tls_begin(c, c->opts.tls_ctx, c->hostname, c->opts.tls_verify, err,
                                     sizeof err)))
                return conn_error(c, rc, "%s", err);
            c->state = CQL_CONN_TLS;
            revents = 0;
        } else {
            return begin_handshake(c);
        }
    }
    if (c->state == CQL_CONN_TLS) {
        char err[256];
        rc = cql__tls_step(c, &c->tls_want, c->hostname, err, sizeof err);
        if (rc == SPATE_ENEEDMORE)
            return 0;
        if (rc)
            return conn_error(c, rc, "%s", err);
        return begin_handshake(c);
    }
    if (c->state == CQL_CONN_CLOSED || c->state == CQL_CONN_READY)
        return 0;
    if ((revents & POLLOUT) && (rc = cql__conn_flush(c))) {
        char why[sizeof c->errstr];
        snprintf(why, sizeof why, "%s", c->errstr);
        return conn_error(c, rc, "%s:%d: %s", c->hostname, c->port, why);
    }
    if (revents & (POLLIN | POLLERR | POLLHUP))
        return handshake_read(c);
    return 0;
}

int cql__conn_expired(struct cql_conn *c, int64_t now)
{
    if (c->state == CQL_CONN_CLOSED || c->state == CQL_CONN_READY || now < c->deadline_ms)
        return 0;
    static const char *const waits[] = {
        [CQL_CONN_OPTIONS] = "OPTIONS",
        [CQL_CONN_STARTUP] = "STARTUP",
        [CQL_CONN_AUTH] = "AUTH_RESPONSE",
        [CQL_CONN_USE] = "USE",
    };
    if (c->state == CQL_CONN_TCP)
        return conn_error(c, SPATE_ETIMEDOUT, "connect to %s:%d timed out after %d ms",
                          c->hostname, c->port, c->connect_timeout_ms);
    if (c->state == CQL_CONN_TLS)
        return conn_error(c, SPATE_ETIMEDOUT, "TLS handshake with %s:%d timed out after %d ms",
                          c->hostname, c->port, c->connect_timeout_ms);
    return conn_error(c, SPATE_ETIMEDOUT,
                      "connection setup with %s:%d timed out after %d ms (no answer to %s)",
                      c->hostname, c->port, c->connect_timeout_ms, waits[c->state]);
}

int cql__conn_open(struct cql_conn *c, const char *host, int port, const struct cql_conn_opts *o,
                   char *err, size_t errlen)
{
    int rc = cql__conn_start(c, host, port, o);
    short revents = 0;
    while (!rc && !c->ready) {
        rc = cql__conn_step(c, revents);
        if (rc || c->ready)
            break;
        int64_t now = spate_mono_ms();
        if ((rc = cql__conn_expired(c, now)))
            break;
        struct pollfd p = {.fd = c->fd, .events = cql__conn_events(c)};
        int n = poll(&p, 1, (int)(c->deadline_ms - now));
        if (n < 0 && errno != EINTR) {
            rc = conn_error(c, SPATE_ESYS, "poll: %s", strerror(errno));
            break;
        }
        revents = n > 0 ? p.revents : 0;
    }
    if (rc)
        snprintf(err, errlen, "%s", c->errstr);
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
    c->state = CQL_CONN_CLOSED;
    if (c->ai)
        freeaddrinfo(c->ai);
    c->ai = c->ai_next = NULL;
    cql__decoder_free(&c->dec);
    spate_buf_free(&c->out);
    c->out_off = 0;
    free(c->slots);
    free(c->free_ids);
    c->slots = NULL;
    c->free_ids = NULL;
    c->nfree = 0;
    c->in_flight = 0;
    c->orphans = 0;
    c->heartbeat = 0;
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
        c->last_read_ms = spate_mono_ms();
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
