/* SPDX-License-Identifier: Apache-2.0 */
/* session.c -- hosts, pools, discovery, token-aware routing, prepared cache, async and sync calls. */
#include "cql_internal.h"

#include "spate/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGC "cql"

struct cql_host {
    char addr[64];
    int port;
    char name[80]; /* addr:port */
    int up;
    int64_t next_attempt_ms;
    int failures;          /* connect attempts failed in a row: the backoff */
    struct cql_conn *conns;
    int nconns;
    int64_t *tokens;
    size_t ntokens;
    char dc[64];
    char last_err[300];
    int last_rc; /* status of the last failed connect attempt */
    uint64_t requests;
};

struct cql_prepared {
    char *query;
    size_t qlen;
    uint8_t id[64];
    size_t idlen;
    struct cql_metadata params;
    uint16_t *pk;
    size_t npk;
    struct cql_metadata result_meta;
    /* result metadata replaced by a re-prepare: results may still borrow it */
    struct cql_metadata *retired;
    size_t nretired;
    struct cql_prepared *next;
};

typedef void (*internal_fn)(struct cql_session *s, struct cql_conn *c, struct cql_req *req,
                            int status, struct cql_response *resp, const struct cql_error *err);

struct cql_req {
    struct spate_buf frame;
    uint8_t opcode;
    struct spate_buf params; /* EXECUTE: the serialized query parameters (to rebuild) */
    struct cql_prepared *prepared;
    cql_done_fn cb;
    void *arg;
    internal_fn internal;
    struct cql_req *parent;
    int64_t deadline;
    int timeout_ms;
    int idempotent;
    int attempts;
    int reprepared;
    int has_token;
    int64_t token;
    int counted; /* counts in s->in_flight */
    struct cql_host *pin; /* only this host may serve it (schema agreement) */
};

struct cql_req cql__orphan;

struct ring_entry {
    int64_t token;
    struct cql_host *host;
};

struct cql_session {
    struct cql_session_config cfg;
    uint64_t rng; /* reconnect jitter, so clients that lost a node do not return in step */
    char **contact_points;
    char *cfg_keyspace;
    char *username;
    char *password;
    struct cql_host **hosts;
    size_t nhosts;
    struct ring_entry *ring;
    size_t nring;
    void *tls_ctx;
    struct cql_prepared *prepared;
    struct cql_error last;
    char keyspace[256];
    size_t in_flight;
    int fired;
    cql_event_fn ev;
    void *ev_arg;
    struct cql_conn *control;
    size_t rr;
    int need_refresh;
    int64_t last_timestamp; /* client-side timestamps: strictly increasing */
    struct pollfd *pfds;
    struct cql_conn **pconns;
    size_t pcap;
    int starting; /* cql_session_new: a failed attempt is not retried yet */
};

/* ---- errors ------------------------------------------------------------------------- */

static void set_err(struct cql_session *s, int status, int server_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_err(struct cql_session *s, int status, int server_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s->last.status = status;
    s->last.server_code = server_code;
    vsnprintf(s->last.message, sizeof s->last.message, fmt, ap);
    va_end(ap);
}

const char *cql_session_errstr(const struct cql_session *s)
{
    return s->last.message;
}

const struct cql_error *cql_session_error(const struct cql_session *s)
{
    return &s->last;
}

const char *cql_session_keyspace(const struct cql_session *s)
{
    return s->keyspace;
}

void cql_session_set_event_cb(struct cql_session *s, cql_event_fn fn, void *arg)
{
    s->ev = fn;
    s->ev_arg = arg;
}

size_t cql_session_in_flight(const struct cql_session *s)
{
    return s->in_flight;
}

/* ---- config ----------------------------------------------------------------------------- */

void cql_session_config_init(struct cql_session_config *c)
{
    static const char *const def_cp[] = {"127.0.0.1"};
    memset(c, 0, sizeof *c);
    c->contact_points = def_cp;
    c->contact_point_count = 1;
    c->port = 9042;
    c->tls_verify = 1;
    c->connect_timeout_ms = 5000;
    c->request_timeout_ms = 12000;
    c->connections_per_host = 1;
    c->max_in_flight = 1024;
    c->compression = 1;
    c->consistency = CQL_CL_LOCAL_QUORUM;
    c->page_size = 5000;
    c->discover_peers = 1;
    c->token_aware = 1;
    c->reconnect_initial_ms = 200;
    c->reconnect_max_ms = 10000;
    c->heartbeat_interval_ms = 30000;
    c->max_frame_bytes = CQL_MAX_FRAME_DEFAULT;
}

void cql_session_config_from_spate(struct cql_session_config *c,
                                   const struct spate_cassandra_config *cc)
{
    cql_session_config_init(c);
    if (cc->contact_points.count) {
        c->contact_points = (const char *const *)cc->contact_points.items;
        c->contact_point_count = cc->contact_points.count;
    }
    c->port = cc->port;
    c->username = cc->username;
    c->password = cc->password;
    c->tls = cc->tls.enabled;
    c->tls_ca_file = cc->tls.ca_file;
    c->tls_cert_file = cc->tls.cert_file;
    c->tls_key_file = cc->tls.key_file;
    c->tls_verify = cc->tls.verify;
    c->connect_timeout_ms = cc->connect_timeout_ms;
    c->request_timeout_ms = cc->request_timeout_ms;
    c->connections_per_host = cc->connections_per_host;
    c->max_in_flight = cc->max_in_flight;
    c->compression = cc->compression;
    c->heartbeat_interval_ms = cc->heartbeat_interval_ms > 0 ? cc->heartbeat_interval_ms : -1;
    enum cql_consistency cl;
    if (cql_consistency_parse(cc->consistency, &cl) == 0)
        c->consistency = cl;
}

/* ---- hosts ----------------------------------------------------------------------------- */

static int64_t reconnect_delay_ms(struct cql_session *s, const struct cql_host *h)
{
    return spate_backoff_ms(h->failures + 1, s->cfg.reconnect_initial_ms,
                            s->cfg.reconnect_max_ms, &s->rng);
}

static struct cql_host *host_find(struct cql_session *s, const char *addr, int port)
{
    for (size_t i = 0; i < s->nhosts; i++)
        if (s->hosts[i]->port == port && strcmp(s->hosts[i]->addr, addr) == 0)
            return s->hosts[i];
    return NULL;
}

static struct cql_host *host_add(struct cql_session *s, const char *addr, int port)
{
    struct cql_host *h = host_find(s, addr, port);
    if (h)
        return h;
    struct cql_host **nh = realloc(s->hosts, (s->nhosts + 1) * sizeof *nh);
    if (!nh)
        return NULL;
    s->hosts = nh;
    h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->nconns = s->cfg.connections_per_host;
    h->conns = calloc((size_t)h->nconns, sizeof *h->conns);
    if (!h->conns) {
        free(h);
        return NULL;
    }
    for (int i = 0; i < h->nconns; i++)
        h->conns[i].fd = -1;
    spate_strlcpy(h->addr, addr, sizeof h->addr);
    h->port = port;
    snprintf(h->name, sizeof h->name, "%s:%d", addr, port);
    h->failures = 0;
    s->hosts[s->nhosts++] = h;
    return h;
}

size_t cql_session_host_count(const struct cql_session *s)
{
    return s->nhosts;
}

int cql_session_host(const struct cql_session *s, size_t i, char *buf, size_t size, int *up)
{
    if (i >= s->nhosts)
        return SPATE_ERANGE;
    spate_strlcpy(buf, s->hosts[i]->name, size);
    if (up)
        *up = s->hosts[i]->up;
    return 0;
}

uint64_t cql_session_host_requests(const struct cql_session *s, size_t i)
{
    return i < s->nhosts ? s->hosts[i]->requests : 0;
}

static void host_update_up(struct cql_host *h)
{
    int any = 0;
    for (int i = 0; i < h->nconns; i++)
        any |= h->conns[i].ready;
    h->up = any;
}

/* ---- request lifecycle ------------------------------------------------------------------ */

static void req_free(struct cql_req *r)
{
    if (!r)
        return;
    spate_buf_free(&r->frame);
    spate_buf_free(&r->params);
    free(r);
}

/* Delivers the outcome and frees the request. */
static void deliver(struct cql_session *s, struct cql_conn *c, struct cql_req *req, int status,
                    struct cql_response *resp, const struct cql_error *err)
{
    if (req->counted && s->in_flight > 0)
        s->in_flight--;
    if (req->internal) {
        req->internal(s, c, req, status, resp, err);
    } else if (req->cb) {
        struct cql_result *res = status == 0 && resp ? resp->result : NULL;
        if (res)
            resp->result = NULL;
        s->fired++;
        req->cb(req->arg, status, res, status ? err : NULL);
        if (res && !res->taken)
            cql_result_free(res);
    }
    req_free(req);
}

static void fail_req(struct cql_session *s, struct cql_conn *c, struct cql_req *req, int status,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail_req(struct cql_session *s, struct cql_conn *c, struct cql_req *req, int status,
                     const char *fmt, ...)
{
    struct cql_error e = {.status = status, .server_code = -1};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    deliver(s, c, req, status, NULL, &e);
}

static int send_on(struct cql_session *s, struct cql_conn *c, struct cql_req *req)
{
    int stream = cql__conn_take_stream(c);
    if (stream < 0)
        return SPATE_EAGAIN;
    cql__frame_set_stream((uint8_t *)req->frame.data, (int16_t)stream);
    /* frames are built uncompressed; each connection compresses if it negotiated LZ4 */
    if (cql__frame_append(&c->out, req->frame.data, req->frame.len, c->lz4)) {
        cql__conn_release_stream(c, stream);
        return SPATE_ENOMEM;
    }
    c->slots[stream] = req;
    c->in_flight++;
    if (c->host)
        c->host->requests++;
    int to = req->timeout_ms > 0 ? req->timeout_ms : s->cfg.request_timeout_ms;
    req->deadline = spate_mono_ms() + to;
    req->timeout_ms = to;
    c->last_used_ms = spate_mono_ms();
    return 0;
}

static int conn_has_room(const struct cql_conn *c)
{
    return c->ready && !c->failed && c->nfree > 0;
}

static struct cql_conn *host_pick_conn(struct cql_host *h)
{
    struct cql_conn *best = NULL;
    for (int i = 0; i < h->nconns; i++) {
        struct cql_conn *c = &h->conns[i];
        if (conn_has_room(c) && (!best || c->in_flight < best->in_flight))
            best = c;
    }
    return best;
}

static size_t ring_owner_index(const struct cql_session *s, int64_t token)
{
    size_t lo = 0, hi = s->nring;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->ring[mid].token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == s->nring ? 0 : lo;
}

static struct cql_conn *pick_conn(struct cql_session *s, const struct cql_req *req,
                                  const struct cql_host *avoid)
{
    if (req->pin)
        return req->pin->up ? host_pick_conn(req->pin) : NULL;
    if (req->has_token && s->cfg.token_aware && s->nring) {
        /* walk the ring from the owner: replicas in order */
        size_t i0 = ring_owner_index(s, req->token);
        for (size_t k = 0; k < s->nring && k < 64; k++) {
            struct cql_host *h = s->ring[(i0 + k) % s->nring].host;
            if (h == avoid || !h->up)
                continue;
            struct cql_conn *c = host_pick_conn(h);
            if (c)
                return c;
        }
    }
    for (size_t k = 0; k < s->nhosts; k++) {
        struct cql_host *h = s->hosts[(s->rr + k) % s->nhosts];
        if (h == avoid || !h->up)
            continue;
        struct cql_conn *c = host_pick_conn(h);
        if (c) {
            s->rr = (s->rr + k + 1) % s->nhosts;
            return c;
        }
    }
    return NULL;
}

static int any_host_up(const struct cql_session *s)
{
    for (size_t i = 0; i < s->nhosts; i++)
        if (s->hosts[i]->up)
            return 1;
    return 0;
}

static int conn_connecting(const struct cql_conn *c)
{
    return c->state != CQL_CONN_CLOSED && c->state != CQL_CONN_READY;
}

static int any_conn_connecting(const struct cql_session *s)
{
    for (size_t i = 0; i < s->nhosts; i++)
        for (int k = 0; k < s->hosts[i]->nconns; k++)
            if (conn_connecting(&s->hosts[i]->conns[k]))
                return 1;
    return 0;
}

static void maybe_reconnect(struct cql_session *s, int force);

static int unavailable(struct cql_session *s)
{
    const struct cql_host *h = s->nhosts ? s->hosts[0] : NULL;
    for (size_t i = 0; i < s->nhosts && h && !h->last_err[0]; i++)
        if (s->hosts[i]->last_err[0])
            h = s->hosts[i];
    set_err(s, SPATE_EUNAVAILABLE, -1, "no Cassandra host is reachable (%s%s%s)",
            h ? h->name : "none", h && h->last_err[0] ? ": " : "", h ? h->last_err : "");
    return SPATE_EUNAVAILABLE;
}

/* Routes and sends; on failure the request is NOT freed (caller decides).
 * With block, waits by polling, never longer than the connect timeout for a
 * host to come up or the request timeout for a free stream id: a blocking
 * call returns an error rather than spin for ever. */
static int dispatch(struct cql_session *s, struct cql_req *req, int block, const struct cql_host *avoid)
{
    int64_t host_until = 0, room_until = 0;
    for (;;) {
        struct cql_conn *c = pick_conn(s, req, avoid);
        if (!c && avoid)
            c = pick_conn(s, req, NULL);
        if (c)
            return send_on(s, c, req);
        if (req->pin && !req->pin->up) {
            set_err(s, SPATE_EUNAVAILABLE, -1, "host %s is down", req->pin->name);
            return SPATE_EUNAVAILABLE;
        }
        int64_t now = spate_mono_ms();
        if (!any_host_up(s)) {
            if (!block)
                return unavailable(s);
            if (!host_until) {
                maybe_reconnect(s, 1);
                host_until = now + s->cfg.connect_timeout_ms;
            }
            if (now >= host_until || !any_conn_connecting(s))
                return unavailable(s);
        } else {
            if (!block) {
                set_err(s, SPATE_EAGAIN, -1, "every connection has %d requests in flight",
                        s->cfg.max_in_flight);
                return SPATE_EAGAIN;
            }
            int to = req->timeout_ms > 0 ? req->timeout_ms : s->cfg.request_timeout_ms;
            if (!room_until)
                room_until = now + to;
            if (now >= room_until) {
                set_err(s, SPATE_ETIMEDOUT, -1,
                        "no connection had a free stream id within %d ms (each has %d ids, "
                        "taken by requests in flight or timed out and unanswered)",
                        to, s->cfg.max_in_flight);
                return SPATE_ETIMEDOUT;
            }
        }
        int rc = cql_session_poll(s, 50);
        if (rc < 0)
            return rc;
    }
}

/* ---- connection failure and reconnection --------------------------------------------------- */

static void conn_fail(struct cql_session *s, struct cql_conn *c, const char *why)
{
    struct cql_host *h = c->host;
    char reason[256];
    snprintf(reason, sizeof reason, "%s", why && why[0] ? why : "connection failed");
    SPATE_WARN(LOGC, "connection to %s lost: %s", h ? h->name : "?", reason);
    if (h)
        snprintf(h->last_err, sizeof h->last_err, "%s", reason);
    /* detach the pending requests before closing */
    int n = c->max_streams;
    struct cql_req **slots = c->slots;
    c->slots = NULL;
    c->ready = 0;
    if (s->control == c)
        s->control = NULL;
    struct cql_req **pending = NULL;
    size_t np = 0;
    if (slots) {
        pending = malloc((size_t)n * sizeof *pending);
        for (int i = 0; i < n && pending; i++)
            if (slots[i] && slots[i] != &cql__orphan)
                pending[np++] = slots[i];
        c->slots = slots;
    }
    cql__conn_close(c);
    if (h) {
        host_update_up(h);
        h->next_attempt_ms = spate_mono_ms() + reconnect_delay_ms(s, h);
    }
    for (size_t i = 0; i < np; i++) {
        struct cql_req *r = pending[i];
        if (r->idempotent && !r->internal && r->attempts < 2 && r->attempts < (int)s->nhosts) {
            r->attempts++;
            if (dispatch(s, r, 0, h) == 0)
                continue;
        }
        fail_req(s, NULL, r, SPATE_ECLOSED, "connection to %s lost: %s", h ? h->name : "?", reason);
    }
    free(pending);
}

static void on_registered(struct cql_session *s, struct cql_conn *c, struct cql_req *req,
                          int status, struct cql_response *resp, const struct cql_error *err)
{
    (void)req;
    (void)resp;
    (void)s;
    /* no retry: events only speed up what reconnects and timeouts find anyway */
    if (status && status != SPATE_ECLOSED && status != SPATE_ECANCELED)
        SPATE_WARN(LOGC, "REGISTER for events on %s failed: %s",
                   c && c->host ? c->host->name : "?", err ? err->message : "?");
}

/* The control connection hears topology, status and schema events. */
static void become_control(struct cql_session *s, struct cql_conn *c)
{
    static const char *const ev[] = {"TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"};
    struct cql_req *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->opcode = CQL_OP_REGISTER;
    r->internal = on_registered;
    if (cql__enc_register(&r->frame, 0, ev, 3) || send_on(s, c, r)) {
        req_free(r);
        return;
    }
    s->control = c;
}

static void propagate_keyspace(struct cql_session *s, struct cql_conn *origin);

static void on_conn_ready(struct cql_session *s, struct cql_conn *c)
{
    struct cql_host *h = c->host;
    c->last_used_ms = c->last_read_ms = spate_mono_ms();
    if (!h->up && !s->starting) /* a reconnect: worth a line, the first connect is not */
        SPATE_INFO(LOGC, "connected to %s", h->name);
    h->failures = 0;
    h->up = 1;
    /* a USE may have run while this connection was being set up */
    if (strcmp(c->keyspace, s->keyspace) != 0)
        propagate_keyspace(s, NULL);
    if (!s->control)
        become_control(s, c);
}

/* A connect attempt failed: back off before the next one to this host. */
static void attempt_failed(struct cql_session *s, struct cql_conn *c, int rc)
{
    struct cql_host *h = c->host;
    snprintf(h->last_err, sizeof h->last_err, "%s", c->errstr);
    h->last_rc = rc;
    int64_t delay = reconnect_delay_ms(s, h);
    h->next_attempt_ms = spate_mono_ms() + delay;
    SPATE_DEBUG(LOGC, "connect to %s failed: %s (next in %lld ms)", h->name, c->errstr,
                (long long)delay);
    h->failures++;
    host_update_up(h);
}

/* Advances a connect attempt: events from poll, or 0 to check its deadline. */
static void conn_progress(struct cql_session *s, struct cql_conn *c, short revents)
{
    int rc = cql__conn_step(c, revents);
    if (!rc && !c->ready)
        rc = cql__conn_expired(c, spate_mono_ms());
    if (rc)
        attempt_failed(s, c, rc);
    else if (c->ready)
        on_conn_ready(s, c);
}

static int start_conn(struct cql_session *s, struct cql_host *h, struct cql_conn *c)
{
    struct cql_conn_opts o = {
        .connect_timeout_ms = s->cfg.connect_timeout_ms,
        .compression = s->cfg.compression,
        .keyspace = s->keyspace[0] ? s->keyspace : NULL,
        .username = s->username,
        .password = s->password,
        .tls_ctx = s->tls_ctx,
        .tls_verify = s->cfg.tls_verify,
        .max_frame = s->cfg.max_frame_bytes,
        .max_streams = s->cfg.max_in_flight,
    };
    int rc = cql__conn_start(c, h->addr, h->port, &o);
    c->host = h;
    if (rc)
        attempt_failed(s, c, rc);
    return rc;
}

/* Starts connect attempts for the closed connections of every host whose
 * backoff has passed (every host with force). Never waits: the attempts
 * go on in cql_session_poll. */
static void maybe_reconnect(struct cql_session *s, int force)
{
    if (s->starting && !force)
        return;
    int64_t now = spate_mono_ms();
    for (size_t i = 0; i < s->nhosts; i++) {
        struct cql_host *h = s->hosts[i];
        if (!force && now < h->next_attempt_ms)
            continue;
        for (int k = 0; k < h->nconns; k++) {
            struct cql_conn *c = &h->conns[k];
            if (c->state == CQL_CONN_CLOSED && start_conn(s, h, c))
                break;
        }
    }
}

/* ---- frames in ----------------------------------------------------------------------------------- */

static struct cql_prepared *prepared_by_id(struct cql_session *s, const uint8_t *id, size_t len)
{
    for (struct cql_prepared *p = s->prepared; p; p = p->next)
        if (p->idlen == len && memcmp(p->id, id, len) == 0)
            return p;
    return NULL;
}

static void retire_meta(struct cql_prepared *p)
{
    struct cql_metadata *r = realloc(p->retired, (p->nretired + 1) * sizeof *r);
    if (!r)
        return; /* keep the old one in place rather than free it under a result */
    p->retired = r;
    p->retired[p->nretired++] = p->result_meta;
    memset(&p->result_meta, 0, sizeof p->result_meta);
}

/* Moves a PREPARED result into p (first prepare or re-prepare). */
static void prepared_update(struct cql_prepared *p, struct cql_result *res)
{
    memcpy(p->id, res->prepared_id, res->prepared_id_len);
    p->idlen = res->prepared_id_len;
    cql__metadata_free(&p->params);
    p->params = res->params;
    memset(&res->params, 0, sizeof res->params);
    free(p->pk);
    p->pk = res->pk_indexes;
    p->npk = res->pk_count;
    res->pk_indexes = NULL;
    res->pk_count = 0;
    if (p->result_meta.columns || p->result_meta.column_count)
        retire_meta(p);
    cql__metadata_free(&p->result_meta);
    p->result_meta = res->result_meta;
    memset(&res->result_meta, 0, sizeof res->result_meta);
}

static int build_execute(struct cql_req *req)
{
    size_t st;
    spate_buf_reset(&req->frame);
    int rc = cql__frame_begin(&req->frame, CQL_VERSION_REQUEST, 0, CQL_OP_EXECUTE, &st);
    if (!rc)
        rc = cql__wr_short_bytes(&req->frame, req->prepared->id, req->prepared->idlen);
    if (!rc)
        rc = spate_buf_append(&req->frame, req->params.data, req->params.len);
    if (!rc)
        rc = cql__frame_end(&req->frame, st, 0);
    return rc;
}

static void on_reprepared(struct cql_session *s, struct cql_conn *c, struct cql_req *req,
                          int status, struct cql_response *resp, const struct cql_error *err)
{
    struct cql_req *parent = req->parent;
    req->parent = NULL;
    if (status || !resp || !resp->result || resp->result->kind != CQL_RESULT_PREPARED) {
        if (parent) {
            /* the server's code travels on: a caller tells a table that is gone
             * (Invalid) from a node in trouble by it */
            struct cql_error e = {.status = status ? status : SPATE_EPROTO,
                                  .server_code = err ? err->server_code : -1};
            snprintf(e.message, sizeof e.message, "re-prepare failed: %s",
                     err ? err->message : "unexpected answer");
            deliver(s, c, parent, e.status, NULL, &e);
        }
        return;
    }
    struct cql_prepared *p = req->prepared;
    uint8_t oldid[64];
    size_t oldlen = p->idlen;
    memcpy(oldid, p->id, oldlen);
    prepared_update(p, resp->result);
    if (!parent)
        return;
    if (parent->opcode == CQL_OP_EXECUTE) {
        if (build_execute(parent)) {
            fail_req(s, c, parent, SPATE_ENOMEM, "out of memory");
            return;
        }
    } else if (oldlen != p->idlen || memcmp(oldid, p->id, oldlen) != 0) {
        fail_req(s, c, parent, SPATE_ESERVER,
                 "prepared statement id changed after re-prepare; retry the batch");
        return;
    }
    parent->counted = 1;
    s->in_flight++;
    int rc = c && c->ready ? send_on(s, c, parent) : dispatch(s, parent, 0, NULL);
    if (rc) {
        fail_req(s, c, parent, rc, "cannot resend after re-prepare: %s", spate_strerror(rc));
    }
}

/* UNPREPARED: prepare again on the same connection, then resend once. */
static int reprepare(struct cql_session *s, struct cql_conn *c, struct cql_req *req,
                     struct cql_response *resp)
{
    struct cql_prepared *p = req->prepared;
    if (!p || (resp->unprepared_id_len && (p->idlen != resp->unprepared_id_len ||
                                           memcmp(p->id, resp->unprepared_id, p->idlen))))
        p = prepared_by_id(s, resp->unprepared_id, resp->unprepared_id_len);
    if (!p || req->reprepared)
        return -1;
    struct cql_req *pr = calloc(1, sizeof *pr);
    if (!pr)
        return -1;
    pr->opcode = CQL_OP_PREPARE;
    pr->internal = on_reprepared;
    pr->prepared = p;
    pr->parent = req;
    pr->timeout_ms = req->timeout_ms;
    if (cql__enc_prepare(&pr->frame, 0, 0, p->query, p->qlen) || send_on(s, c, pr)) {
        req_free(pr);
        return -1;
    }
    req->reprepared = 1;
    if (req->counted && s->in_flight > 0)
        s->in_flight--; /* counted again when resent */
    req->counted = 0;
    SPATE_DEBUG(LOGC, "re-preparing on %s: %.60s", c->host ? c->host->name : "?", p->query);
    return 0;
}

static void propagate_keyspace(struct cql_session *s, struct cql_conn *origin);
static void refresh_peers(struct cql_session *s);

static void handle_event(struct cql_session *s, struct cql_response *r)
{
    SPATE_DEBUG(LOGC, "event %s %s", r->event_type, r->event_detail);
    if (!strcmp(r->event_type, "STATUS_CHANGE") || !strcmp(r->event_type, "TOPOLOGY_CHANGE")) {
        char a[INET6_ADDRSTRLEN] = "";
        inet_ntop(r->event_addr_len == 4 ? AF_INET : AF_INET6, r->event_addr, a, sizeof a);
        struct cql_host *h = host_find(s, a, s->cfg.port);
        if (!strcmp(r->event_change, "UP") && h) {
            h->next_attempt_ms = 0;
            h->failures = 0;
        } else if (!strcmp(r->event_change, "DOWN") && h) {
            /* our own connections tell us when they break; just back off */
            h->next_attempt_ms = spate_mono_ms() + reconnect_delay_ms(s, h);
        } else {
            s->need_refresh = 1;
        }
    }
    if (s->ev)
        s->ev(s->ev_arg, r->event_type, r->event_detail);
}

static void on_frame(struct cql_conn *c, struct cql_frame *f, void *arg)
{
    struct cql_session *s = arg;
    char err[256];
    if (f->stream < 0) {
        struct cql_response r;
        if (f->opcode == CQL_OP_EVENT && cql__response_parse(f, NULL, &r, err, sizeof err) == 0) {
            handle_event(s, &r);
            cql__response_free(&r);
        }
        return;
    }
    if (f->stream >= c->max_streams || !c->slots || !c->slots[f->stream]) {
        snprintf(c->errstr, sizeof c->errstr, "response for stream id %d that no request waits for",
                 f->stream);
        c->failed = 1;
        return;
    }
    struct cql_req *req = c->slots[f->stream];
    cql__conn_release_stream(c, f->stream);
    if (c->in_flight)
        c->in_flight--;
    if (req == &cql__orphan) {
        /* the late answer of a request that already timed out: only now may
         * its stream id serve another request */
        if (c->orphans > 0)
            c->orphans--;
        return;
    }
    struct cql_response resp;
    const struct cql_metadata *fallback = req->prepared ? &req->prepared->result_meta : NULL;
    int rc = cql__response_parse(f, fallback, &resp, err, sizeof err);
    if (rc) {
        snprintf(c->errstr, sizeof c->errstr, "%s", err);
        fail_req(s, c, req, rc, "bad response from %s: %s", c->host ? c->host->name : "?", err);
        c->failed = 1;
        return;
    }
    if (resp.opcode == CQL_OP_ERROR) {
        if (resp.error.server_code == CQL_ERR_UNPREPARED && reprepare(s, c, req, &resp) == 0) {
            cql__response_free(&resp);
            return;
        }
        deliver(s, c, req, resp.error.status, &resp, &resp.error);
    } else if (resp.opcode == CQL_OP_RESULT) {
        if (resp.result->kind == CQL_RESULT_SET_KEYSPACE && resp.result->info) {
            spate_strlcpy(s->keyspace, resp.result->info, sizeof s->keyspace);
            spate_strlcpy(c->keyspace, resp.result->info, sizeof c->keyspace);
            propagate_keyspace(s, c);
        }
        deliver(s, c, req, 0, &resp, NULL);
    } else if ((req->opcode == CQL_OP_OPTIONS && resp.opcode == CQL_OP_SUPPORTED) ||
               (req->opcode == CQL_OP_REGISTER && resp.opcode == CQL_OP_READY)) {
        deliver(s, c, req, 0, &resp, NULL);
    } else {
        struct cql_error e = {.status = SPATE_EPROTO, .server_code = -1};
        snprintf(e.message, sizeof e.message, "unexpected %s answer",
                 cql__opcode_name(resp.opcode));
        deliver(s, c, req, SPATE_EPROTO, &resp, &e);
    }
    cql__response_free(&resp);
}

static void on_use_done(struct cql_session *s, struct cql_conn *c, struct cql_req *req, int status,
                        struct cql_response *resp, const struct cql_error *err)
{
    (void)s;
    (void)req;
    (void)resp;
    if (status)
        SPATE_WARN(LOGC, "USE on %s failed: %s", c && c->host ? c->host->name : "?",
                   err ? err->message : "?");
}

static void propagate_keyspace(struct cql_session *s, struct cql_conn *origin)
{
    char q[300];
    int n = snprintf(q, sizeof q, "USE \"%s\"", s->keyspace);
    for (size_t i = 0; i < s->nhosts; i++) {
        for (int k = 0; k < s->hosts[i]->nconns; k++) {
            struct cql_conn *c = &s->hosts[i]->conns[k];
            if (c == origin || !c->ready || !strcmp(c->keyspace, s->keyspace))
                continue;
            struct cql_req *r = calloc(1, sizeof *r);
            struct cql_params p = {.consistency = 1, .serial_consistency = -1};
            if (!r)
                continue;
            r->internal = on_use_done;
            if (cql__enc_query(&r->frame, 0, 0, q, (size_t)n, &p) || send_on(s, c, r)) {
                req_free(r);
                continue;
            }
            spate_strlcpy(c->keyspace, s->keyspace, sizeof c->keyspace);
        }
    }
}

/* ---- poll ------------------------------------------------------------------------------------------ */

static int max_orphans(const struct cql_session *s)
{
    return s->cfg.max_orphans;
}

static void on_heartbeat(struct cql_session *s, struct cql_conn *c, struct cql_req *req,
                         int status, struct cql_response *resp, const struct cql_error *err)
{
    (void)s;
    (void)resp;
    (void)err;
    if (!c)
        return; /* the connection is gone already */
    c->heartbeat = 0;
    if (status == SPATE_ETIMEDOUT) {
        snprintf(c->errstr, sizeof c->errstr,
                 "no answer to a heartbeat within %d ms (server unresponsive)", req->timeout_ms);
        c->failed = 1;
    }
}

/* OPTIONS on a connection nothing was heard from for a heartbeat interval:
 * a server that stops answering (or a peer gone without a FIN) is found out
 * even when no request is in flight, and before the requests pile up. */
static void send_heartbeats(struct cql_session *s, int64_t now)
{
    if (s->cfg.heartbeat_interval_ms <= 0)
        return;
    for (size_t i = 0; i < s->nhosts; i++) {
        struct cql_host *h = s->hosts[i];
        for (int k = 0; k < h->nconns; k++) {
            struct cql_conn *c = &h->conns[k];
            if (!c->ready || c->failed || c->heartbeat || !c->nfree ||
                now - c->last_read_ms < s->cfg.heartbeat_interval_ms)
                continue;
            struct cql_req *r = calloc(1, sizeof *r);
            if (!r)
                return;
            r->opcode = CQL_OP_OPTIONS;
            r->internal = on_heartbeat;
            if (cql__enc_options(&r->frame, 0) || send_on(s, c, r)) {
                req_free(r);
                continue;
            }
            c->heartbeat = 1;
        }
    }
}

/* Fails requests past their deadline. Their stream ids stay reserved (a late
 * answer must not be taken for a newer request's) until the answer comes; a
 * connection that piles up such orphans, or whose heartbeat went unanswered,
 * is closed and replaced. */
static void expire(struct cql_session *s, int64_t now)
{
    for (size_t i = 0; i < s->nhosts; i++) {
        struct cql_host *h = s->hosts[i];
        for (int k = 0; k < h->nconns; k++) {
            struct cql_conn *c = &h->conns[k];
            if (conn_connecting(c)) {
                conn_progress(s, c, 0);
                continue;
            }
            if (!c->ready || !c->in_flight)
                continue;
            for (int st = 0; st < c->max_streams && c->ready; st++) {
                struct cql_req *r = c->slots[st];
                if (!r || r == &cql__orphan || r->deadline > now)
                    continue;
                c->slots[st] = &cql__orphan;
                c->orphans++;
                fail_req(s, c, r, SPATE_ETIMEDOUT, "request to %s timed out after %d ms",
                         h->name, r->timeout_ms);
                if (c->ready && c->failed) {
                    conn_fail(s, c, c->errstr);
                } else if (c->ready && c->orphans >= max_orphans(s)) {
                    char why[160];
                    snprintf(why, sizeof why,
                             "%d timed-out requests still hold their stream ids; "
                             "replacing the connection", c->orphans);
                    conn_fail(s, c, why);
                    h->next_attempt_ms = 0; /* the host may be fine: reconnect now */
                }
            }
        }
    }
}

/* The next moment poll must wake up for: a request deadline, a connect
 * deadline, a heartbeat or a reconnect attempt. */
static int64_t next_deadline(struct cql_session *s, int64_t now)
{
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < s->nhosts; i++) {
        struct cql_host *h = s->hosts[i];
        for (int k = 0; k < h->nconns; k++) {
            struct cql_conn *c = &h->conns[k];
            if (c->state == CQL_CONN_CLOSED) {
                if (!s->starting && h->next_attempt_ms < best)
                    best = h->next_attempt_ms > now ? h->next_attempt_ms : now;
                continue;
            }
            if (conn_connecting(c)) {
                if (c->deadline_ms < best)
                    best = c->deadline_ms;
                continue;
            }
            if (s->cfg.heartbeat_interval_ms > 0 && !c->heartbeat && c->nfree > 0 &&
                c->last_read_ms + s->cfg.heartbeat_interval_ms < best)
                best = c->last_read_ms + s->cfg.heartbeat_interval_ms;
            if (!c->in_flight)
                continue;
            for (int st = 0; st < c->max_streams; st++) {
                struct cql_req *r = c->slots[st];
                if (r && r != &cql__orphan && r->deadline < best)
                    best = r->deadline;
            }
        }
    }
    return best;
}

/* Room in the poll arrays for every connection. */
static int poll_reserve(struct cql_session *s)
{
    size_t total = 0;
    for (size_t i = 0; i < s->nhosts; i++)
        total += (size_t)s->hosts[i]->nconns;
    if (total <= s->pcap)
        return 0;
    struct pollfd *pf = realloc(s->pfds, total * sizeof *pf);
    if (!pf)
        return SPATE_ENOMEM;
    s->pfds = pf;
    struct cql_conn **pc = realloc(s->pconns, total * sizeof *pc);
    if (!pc)
        return SPATE_ENOMEM;
    s->pconns = pc;
    s->pcap = total;
    return 0;
}

int cql_session_poll(struct cql_session *s, int timeout_ms)
{
    s->fired = 0;
    int64_t now = spate_mono_ms();
    maybe_reconnect(s, 0);
    if (s->need_refresh) {
        /* topology changed: new hosts get pools through maybe_reconnect */
        s->need_refresh = 0;
        refresh_peers(s);
    }
    if (!s->control) {
        for (size_t i = 0; i < s->nhosts && !s->control; i++)
            for (int k = 0; k < s->hosts[i]->nconns && !s->control; k++)
                if (s->hosts[i]->conns[k].ready)
                    become_control(s, &s->hosts[i]->conns[k]);
    }
    send_heartbeats(s, now);
    if (poll_reserve(s))
        return SPATE_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->nhosts; i++) {
        struct cql_host *h = s->hosts[i];
        for (int k = 0; k < h->nconns; k++) {
            struct cql_conn *c = &h->conns[k];
            if (c->state == CQL_CONN_CLOSED)
                continue;
            if (c->ready && c->out.len > c->out_off) {
                int rc = cql__conn_flush(c);
                if (rc) {
                    conn_fail(s, c, c->errstr);
                    continue;
                }
            }
            s->pfds[n].fd = c->fd;
            s->pfds[n].events = cql__conn_events(c);
            s->pfds[n].revents = 0;
            s->pconns[n++] = c;
        }
    }
    int wait = timeout_ms;
    int64_t dl = next_deadline(s, now);
    if (dl != INT64_MAX) {
        int64_t left = dl - now;
        if (left < 0)
            left = 0;
        if (wait < 0 || left < wait)
            wait = (int)left;
    }
    if (s->fired)
        wait = 0;
    if (n == 0) {
        /* nothing connected or connecting: wait for the next reconnect attempt */
        if (wait < 0 || wait > 100)
            wait = 100;
        if (wait > 0)
            spate_sleep_ms(wait);
    } else {
        int pr = poll(s->pfds, (nfds_t)n, wait);
        if (pr < 0 && errno != EINTR)
            return SPATE_ESYS;
        for (size_t i = 0; pr > 0 && i < n; i++) {
            struct cql_conn *c = s->pconns[i];
            short re = s->pfds[i].revents;
            if (!re)
                continue;
            if (conn_connecting(c)) {
                conn_progress(s, c, re);
                continue;
            }
            if (!c->ready)
                continue;
            if (re & (POLLIN | POLLERR | POLLHUP)) {
                int rc = cql__conn_read(c, on_frame, s);
                if (rc || c->failed) {
                    conn_fail(s, c, c->errstr);
                    continue;
                }
            }
            if ((re & POLLOUT) && c->ready && cql__conn_flush(c)) {
                conn_fail(s, c, c->errstr);
                continue;
            }
        }
        /* requests submitted by callbacks go out now */
        for (size_t i = 0; i < n; i++) {
            struct cql_conn *c = s->pconns[i];
            if (c->ready && c->out.len > c->out_off && cql__conn_flush(c))
                conn_fail(s, c, c->errstr);
        }
    }
    expire(s, spate_mono_ms());
    return s->fired;
}

int cql__session_orphans(const struct cql_session *s)
{
    int n = 0;
    for (size_t i = 0; i < s->nhosts; i++)
        for (int k = 0; k < s->hosts[i]->nconns; k++)
            n += s->hosts[i]->conns[k].orphans;
    return n;
}

int cql_session_drain(struct cql_session *s, int timeout_ms)
{
    int64_t end = timeout_ms < 0 ? INT64_MAX : spate_mono_ms() + timeout_ms;
    while (s->in_flight > 0) {
        int64_t left = end - spate_mono_ms();
        if (left <= 0)
            return SPATE_ETIMEDOUT;
        int rc = cql_session_poll(s, left > 100 ? 100 : (int)left);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- building requests ------------------------------------------------------------------------------ */

static int wire_cl(const struct cql_session *s, enum cql_consistency cl)
{
    if (cl == CQL_CL_DEFAULT)
        cl = s->cfg.consistency;
    return (int)cl - 1;
}

static int64_t next_timestamp(struct cql_session *s)
{
    int64_t now = spate_wall_ms() * 1000 + spate_mono_us() % 1000;
    if (now <= s->last_timestamp)
        now = s->last_timestamp + 1;
    s->last_timestamp = now;
    return now;
}

static void fill_params(struct cql_session *s, const struct cql_query_opts *o,
                        struct cql_params *p)
{
    memset(p, 0, sizeof *p);
    p->consistency = wire_cl(s, o ? o->consistency : CQL_CL_DEFAULT);
    p->serial_consistency = o && o->serial_consistency ? (int)o->serial_consistency - 1 : -1;
    int ps = o && o->page_size ? o->page_size : s->cfg.page_size;
    p->page_size = ps > 0 ? ps : 0;
    if (o && o->paging_state) {
        p->paging_state = o->paging_state;
        p->paging_state_len = o->paging_state_len;
    }
    if (o && o->has_timestamp) {
        p->has_timestamp = 1;
        p->timestamp = o->timestamp;
    } else if (s->cfg.client_timestamps) {
        p->has_timestamp = 1;
        p->timestamp = next_timestamp(s);
    }
}

/* Serializes values; names the bind marker in the error. */
static int encode_values(struct cql_session *s, const struct cql_metadata *params,
                         const struct cql_value *values, size_t count, struct spate_buf *out)
{
    if (count > 0xFFFF) {
        set_err(s, SPATE_ETOOBIG, -1, "too many values (%zu)", count);
        return SPATE_ETOOBIG;
    }
    if (params && params->columns && count != params->column_count) {
        set_err(s, SPATE_EINVAL, -1, "statement has %zu bind markers but %zu values were given",
                params->column_count, count);
        return SPATE_EINVAL;
    }
    for (size_t i = 0; i < count; i++) {
        char err[300];
        const struct cql_type *t = params && params->columns ? params->columns[i].type : NULL;
        int rc = cql__value_encode(out, t, &values[i], err, sizeof err);
        if (rc) {
            if (params && params->columns)
                set_err(s, rc, -1, "column '%s': %s", params->columns[i].name, err);
            else
                set_err(s, rc, -1, "value %zu: %s", i + 1, err);
            return rc;
        }
    }
    return 0;
}

/* Token of the routing key found in serialized values (value i at its offset). */
static int token_from_values(const struct cql_prepared *p, const uint8_t *vals, size_t len,
                             size_t count, int64_t *token)
{
    if (!p->npk)
        return SPATE_ENOTFOUND;
    const uint8_t *ptr[64];
    int32_t lens[64];
    struct cql_reader r;
    cql__reader_init(&r, vals, len);
    size_t upto = 0;
    for (size_t k = 0; k < p->npk; k++)
        if (p->pk[k] + 1u > upto)
            upto = p->pk[k] + 1u;
    if (upto > 64 || upto > count)
        return SPATE_ENOTFOUND;
    for (size_t i = 0; i < upto; i++)
        if (cql__rd_bytes(&r, &ptr[i], &lens[i]))
            return SPATE_EPARSE;
    if (p->npk == 1) {
        if (lens[p->pk[0]] < 0)
            return SPATE_ENOTFOUND;
        *token = cql_murmur3_token(ptr[p->pk[0]], (size_t)lens[p->pk[0]]);
        return 0;
    }
    struct spate_buf key = {0};
    for (size_t k = 0; k < p->npk; k++) {
        int32_t l = lens[p->pk[k]];
        if (l < 0 || l > 0xFFFF) {
            spate_buf_free(&key);
            return SPATE_ENOTFOUND;
        }
        cql__wr_u16(&key, (uint16_t)l);
        spate_buf_append(&key, ptr[p->pk[k]], (size_t)l);
        cql__wr_u8(&key, 0);
    }
    *token = cql_murmur3_token(key.data, key.len);
    spate_buf_free(&key);
    return 0;
}

int cql_prepared_token(const struct cql_prepared *p, const struct cql_value *values, size_t count,
                       int64_t *token)
{
    struct spate_buf b = {0};
    for (size_t i = 0; i < count; i++) {
        char err[200];
        const struct cql_type *t =
            p->params.columns && i < p->params.column_count ? p->params.columns[i].type : NULL;
        if (cql__value_encode(&b, t, &values[i], err, sizeof err)) {
            spate_buf_free(&b);
            return SPATE_ETYPE;
        }
    }
    int rc = token_from_values(p, (const uint8_t *)b.data, b.len, count, token);
    spate_buf_free(&b);
    return rc;
}

long cql_session_token_host(const struct cql_session *s, int64_t token)
{
    if (!s->nring)
        return -1;
    const struct cql_host *h = s->ring[ring_owner_index(s, token)].host;
    for (size_t i = 0; i < s->nhosts; i++)
        if (s->hosts[i] == h)
            return (long)i;
    return -1;
}

int cql_prepared_encode(const struct cql_prepared *p, const struct cql_value *values,
                        size_t count, void **out, size_t *out_len, int64_t *token,
                        int *has_token, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    *has_token = 0;
    if (p->params.columns && count != p->params.column_count) {
        snprintf(err, errlen, "statement has %zu bind markers but %zu values were given",
                 p->params.column_count, count);
        return SPATE_EINVAL;
    }
    struct spate_buf b = {0};
    for (size_t i = 0; i < count; i++) {
        const struct cql_type *t = p->params.columns ? p->params.columns[i].type : NULL;
        char why[300];
        int rc = cql__value_encode(&b, t, &values[i], why, sizeof why);
        if (rc) {
            if (p->params.columns)
                snprintf(err, errlen, "column '%s': %s", p->params.columns[i].name, why);
            else
                snprintf(err, errlen, "value %zu: %s", i + 1, why);
            spate_buf_free(&b);
            return rc;
        }
    }
    if (token_from_values(p, (const uint8_t *)b.data, b.len, count, token) == 0)
        *has_token = 1;
    *out_len = b.len;
    *out = b.data;
    if (!*out) { /* no values at all: still a buffer the caller may free */
        *out = malloc(1);
        if (!*out)
            return SPATE_ENOMEM;
    }
    return 0;
}

int cql_session_token_owner(const struct cql_session *s, int64_t token, char *buf, size_t size)
{
    if (!s->nring)
        return SPATE_ENOTFOUND;
    spate_strlcpy(buf, s->ring[ring_owner_index(s, token)].host->name, size);
    return 0;
}

static struct cql_req *req_new(const struct cql_query_opts *o, cql_done_fn cb, void *arg)
{
    struct cql_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cb = cb;
    r->arg = arg;
    r->timeout_ms = o ? o->timeout_ms : 0;
    r->idempotent = o ? o->idempotent : 0;
    return r;
}

static int submit(struct cql_session *s, struct cql_req *r, const struct cql_query_opts *o)
{
    int rc = dispatch(s, r, o && o->block, NULL);
    if (rc) {
        req_free(r);
        return rc;
    }
    r->counted = 1;
    s->in_flight++;
    return 0;
}

static int query_async(struct cql_session *s, struct cql_host *pin, const char *cql,
                       const struct cql_value *values, size_t count,
                       const struct cql_query_opts *opts, cql_done_fn cb, void *arg)
{
    struct cql_req *r = req_new(opts, cb, arg);
    if (!r) {
        set_err(s, SPATE_ENOMEM, -1, "out of memory");
        return SPATE_ENOMEM;
    }
    r->pin = pin;
    struct spate_buf vals = {0};
    int rc = encode_values(s, NULL, values, count, &vals);
    if (rc) {
        spate_buf_free(&vals);
        req_free(r);
        return rc;
    }
    struct cql_params p;
    fill_params(s, opts, &p);
    p.values = vals.data;
    p.values_len = vals.len;
    p.value_count = (uint16_t)count;
    r->opcode = CQL_OP_QUERY;
    rc = cql__enc_query(&r->frame, 0, 0, cql, strlen(cql), &p);
    spate_buf_free(&vals);
    if (rc) {
        set_err(s, rc, -1, "cannot encode query: %s", spate_strerror(rc));
        req_free(r);
        return rc;
    }
    return submit(s, r, opts);
}

int cql_query_async(struct cql_session *s, const char *cql, const struct cql_value *values,
                    size_t count, const struct cql_query_opts *opts, cql_done_fn cb, void *arg)
{
    return query_async(s, NULL, cql, values, count, opts, cb, arg);
}

int cql_execute_async(struct cql_session *s, const struct cql_prepared *p,
                      const struct cql_value *values, size_t count,
                      const struct cql_query_opts *opts, cql_done_fn cb, void *arg)
{
    struct cql_req *r = req_new(opts, cb, arg);
    if (!r) {
        set_err(s, SPATE_ENOMEM, -1, "out of memory");
        return SPATE_ENOMEM;
    }
    r->prepared = (struct cql_prepared *)p;
    struct spate_buf vals = {0};
    int rc = encode_values(s, &p->params, values, count, &vals);
    if (rc) {
        spate_buf_free(&vals);
        req_free(r);
        return rc;
    }
    if (token_from_values(p, (const uint8_t *)vals.data, vals.len, count, &r->token) == 0)
        r->has_token = 1;
    struct cql_params prm;
    fill_params(s, opts, &prm);
    prm.values = vals.data;
    prm.values_len = vals.len;
    prm.value_count = (uint16_t)count;
    prm.has_values = count > 0;
    prm.skip_metadata = p->result_meta.columns != NULL && p->result_meta.column_count > 0;
    r->opcode = CQL_OP_EXECUTE;
    rc = cql__enc_params(&r->params, &prm);
    spate_buf_free(&vals);
    if (!rc)
        rc = build_execute(r);
    if (rc) {
        set_err(s, rc, -1, "cannot encode execute: %s", spate_strerror(rc));
        req_free(r);
        return rc;
    }
    return submit(s, r, opts);
}

int cql_batch_async(struct cql_session *s, enum cql_batch_type type,
                    const struct cql_batch_stmt *stmts, size_t n,
                    const struct cql_query_opts *opts, cql_done_fn cb, void *arg)
{
    struct cql_req *r = req_new(opts, cb, arg);
    struct cql_batch_entry *e = calloc(n ? n : 1, sizeof *e);
    struct spate_buf *vb = calloc(n ? n : 1, sizeof *vb);
    int rc = 0;
    if (!r || !e || !vb) {
        rc = SPATE_ENOMEM;
        set_err(s, rc, -1, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const struct cql_batch_stmt *st = &stmts[i];
        if (st->encoded)
            rc = spate_buf_append(&vb[i], st->encoded, st->encoded_len) ? SPATE_ENOMEM : 0;
        else
            rc = encode_values(s, st->prepared ? &st->prepared->params : NULL, st->values,
                               st->count, &vb[i]);
        if (rc) {
            char m[sizeof s->last.message];
            snprintf(m, sizeof m, "%s", s->last.message);
            set_err(s, rc, -1, "batch statement %zu: %s", i + 1, m);
            break;
        }
        if (st->prepared) {
            e[i].id = st->prepared->id;
            e[i].id_len = st->prepared->idlen;
            if (!r->has_token &&
                token_from_values(st->prepared, (const uint8_t *)vb[i].data, vb[i].len, st->count,
                                  &r->token) == 0)
                r->has_token = 1;
            if (!r->prepared)
                r->prepared = (struct cql_prepared *)st->prepared;
        } else {
            e[i].query = st->query;
            e[i].query_len = st->query ? strlen(st->query) : 0;
        }
        e[i].values = vb[i].data;
        e[i].values_len = vb[i].len;
        e[i].value_count = (uint16_t)st->count;
    }
    if (rc)
        goto out;
    struct cql_params p;
    fill_params(s, opts, &p);
    r->opcode = CQL_OP_BATCH;
    rc = cql__enc_batch(&r->frame, 0, 0, (int)type, e, n, p.consistency,
                        p.serial_consistency, p.has_timestamp, p.timestamp);
    if (rc) {
        set_err(s, rc, -1, "cannot encode batch: %s", spate_strerror(rc));
        goto out;
    }
    /* r->prepared stays set for UNPREPARED lookups; a batch result has no rows */
    struct cql_req *tmp = r;
    r = NULL;
    rc = submit(s, tmp, opts);
out:
    for (size_t i = 0; vb && i < n; i++)
        spate_buf_free(&vb[i]);
    free(vb);
    free(e);
    req_free(r);
    return rc;
}

/* ---- prepare ---------------------------------------------------------------------------------------- */

size_t cql_prepared_param_count(const struct cql_prepared *p)
{
    return p->params.column_count;
}

const char *cql_prepared_param_name(const struct cql_prepared *p, size_t i)
{
    return p->params.columns && i < p->params.column_count ? p->params.columns[i].name : NULL;
}

const struct cql_type *cql_prepared_param_type(const struct cql_prepared *p, size_t i)
{
    return p->params.columns && i < p->params.column_count ? p->params.columns[i].type : NULL;
}

const uint16_t *cql_prepared_pk_indexes(const struct cql_prepared *p, size_t *n)
{
    *n = p->npk;
    return p->pk;
}

static void prepared_free(struct cql_prepared *p)
{
    free(p->query);
    cql__metadata_free(&p->params);
    cql__metadata_free(&p->result_meta);
    for (size_t i = 0; i < p->nretired; i++)
        cql__metadata_free(&p->retired[i]);
    free(p->retired);
    free(p->pk);
    free(p);
}

/* ---- sync wrappers ---------------------------------------------------------------------------------- */

struct sync_wait {
    int done;
    int status;
    struct cql_result *res;
    struct cql_error err;
};

static void sync_cb(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    struct sync_wait *w = arg;
    w->done = 1;
    w->status = status;
    if (res)
        w->res = cql_result_take(res);
    if (err)
        w->err = *err;
}

static void await_schema_agreement(struct cql_session *s);

static int sync_finish(struct cql_session *s, struct sync_wait *w, struct cql_result **out)
{
    while (!w->done) {
        int rc = cql_session_poll(s, 100);
        if (rc < 0 && !w->done) {
            set_err(s, rc, -1, "poll failed: %s", spate_strerror(rc));
            return rc;
        }
    }
    if (w->status) {
        s->last = w->err;
        if (!s->last.message[0])
            set_err(s, w->status, -1, "%s", spate_strerror(w->status));
        cql_result_free(w->res);
        return w->status;
    }
    if (w->res && cql_result_kind(w->res) == CQL_RESULT_SCHEMA_CHANGE)
        await_schema_agreement(s);
    if (out)
        *out = w->res;
    else
        cql_result_free(w->res);
    return 0;
}

static struct cql_query_opts sync_opts(const struct cql_query_opts *o)
{
    struct cql_query_opts so = {0};
    if (o)
        so = *o;
    so.block = 1;
    return so;
}

/* Until every reachable host reports the same schema_version, as drivers do
 * after DDL: the node that ran CREATE TABLE answers before the others have
 * applied it, and a statement routed to one of them right after fails with
 * "table does not exist". Each host is asked for its own system.local (a
 * request pinned to it), so the answer does not depend on gossip having
 * reached the control host. Gives up with a warning after the request timeout;
 * the DDL itself succeeded either way. */
static void await_schema_agreement(struct cql_session *s)
{
    if (s->nhosts < 2)
        return;
    struct cql_error saved = s->last;
    struct cql_query_opts o = {.consistency = CQL_CL_ONE, .page_size = -1, .block = 1};
    int64_t deadline = spate_mono_ms() + s->cfg.request_timeout_ms;
    char odd[80] = "";
    for (;;) {
        uint8_t first[16];
        int have = 0, agree = 1;
        for (size_t i = 0; i < s->nhosts && agree; i++) {
            struct cql_host *h = s->hosts[i];
            if (!h->up)
                continue;
            struct sync_wait w = {0};
            struct cql_result *r = NULL;
            uint8_t v[16];
            if (query_async(s, h, "SELECT schema_version FROM system.local WHERE key='local'",
                            NULL, 0, &o, sync_cb, &w) != 0 ||
                sync_finish(s, &w, &r) != 0 || cql_result_get_uuid(r, 0, 0, v) != 0) {
                cql_result_free(r);
                continue; /* a host going down has no say */
            }
            cql_result_free(r);
            if (!have) {
                memcpy(first, v, sizeof v);
                have = 1;
            } else if (memcmp(first, v, sizeof v) != 0) {
                agree = 0;
                snprintf(odd, sizeof odd, "%s", h->name);
            }
        }
        if (agree)
            break;
        int64_t now = spate_mono_ms();
        if (now >= deadline) {
            SPATE_WARN(LOGC, "schema versions still differ after %d ms (%s disagrees); "
                       "going on", s->cfg.request_timeout_ms, odd);
            break;
        }
        for (int64_t until = now + 200; spate_mono_ms() < until;)
            if (cql_session_poll(s, (int)(until - spate_mono_ms())) < 0)
                break;
    }
    s->last = saved;
}

int cql_query(struct cql_session *s, const char *cql, const struct cql_value *values,
              size_t count, const struct cql_query_opts *opts, struct cql_result **out)
{
    struct sync_wait w = {0};
    struct cql_query_opts so = sync_opts(opts);
    if (out)
        *out = NULL;
    int rc = cql_query_async(s, cql, values, count, &so, sync_cb, &w);
    return rc ? rc : sync_finish(s, &w, out);
}

int cql_execute(struct cql_session *s, const struct cql_prepared *p,
                const struct cql_value *values, size_t count, const struct cql_query_opts *opts,
                struct cql_result **out)
{
    struct sync_wait w = {0};
    struct cql_query_opts so = sync_opts(opts);
    if (out)
        *out = NULL;
    int rc = cql_execute_async(s, p, values, count, &so, sync_cb, &w);
    return rc ? rc : sync_finish(s, &w, out);
}

int cql_batch(struct cql_session *s, enum cql_batch_type type, const struct cql_batch_stmt *stmts,
              size_t n, const struct cql_query_opts *opts, struct cql_result **out)
{
    struct sync_wait w = {0};
    struct cql_query_opts so = sync_opts(opts);
    if (out)
        *out = NULL;
    int rc = cql_batch_async(s, type, stmts, n, &so, sync_cb, &w);
    return rc ? rc : sync_finish(s, &w, out);
}

int cql_prepare(struct cql_session *s, const char *cql, const struct cql_prepared **out)
{
    size_t qlen = strlen(cql);
    for (struct cql_prepared *p = s->prepared; p; p = p->next) {
        if (p->qlen == qlen && memcmp(p->query, cql, qlen) == 0) {
            *out = p;
            return 0;
        }
    }
    struct cql_req *r = req_new(NULL, sync_cb, NULL);
    struct sync_wait w = {0};
    if (!r) {
        set_err(s, SPATE_ENOMEM, -1, "out of memory");
        return SPATE_ENOMEM;
    }
    r->arg = &w;
    r->opcode = CQL_OP_PREPARE;
    int rc = cql__enc_prepare(&r->frame, 0, 0, cql, qlen);
    if (rc) {
        req_free(r);
        set_err(s, rc, -1, "cannot encode prepare: %s", spate_strerror(rc));
        return rc;
    }
    struct cql_query_opts so = {.block = 1};
    if ((rc = submit(s, r, &so)))
        return rc;
    struct cql_result *res = NULL;
    if ((rc = sync_finish(s, &w, &res)))
        return rc;
    if (!res || res->kind != CQL_RESULT_PREPARED) {
        cql_result_free(res);
        set_err(s, SPATE_EPROTO, -1, "server answered PREPARE without a prepared result");
        return SPATE_EPROTO;
    }
    struct cql_prepared *p = calloc(1, sizeof *p);
    if (!p || !(p->query = malloc(qlen + 1))) {
        free(p);
        cql_result_free(res);
        set_err(s, SPATE_ENOMEM, -1, "out of memory");
        return SPATE_ENOMEM;
    }
    memcpy(p->query, cql, qlen + 1);
    p->qlen = qlen;
    prepared_update(p, res);
    cql_result_free(res);
    p->next = s->prepared;
    s->prepared = p;
    *out = p;
    return 0;
}

/* ---- discovery -------------------------------------------------------------------------------------- */

/* Reads a set<text>/list<text> cell of tokens into h->tokens. */
static void read_tokens(struct cql_host *h, const struct cql_result *r, size_t row, int col)
{
    const uint8_t *p;
    int32_t len;
    if (col < 0 || cql_result_cell(r, row, (size_t)col, &p, &len) || len < 4)
        return;
    struct cql_reader rd;
    cql__reader_init(&rd, p, (size_t)len);
    int32_t n;
    if (cql__rd_i32(&rd, &n) || n <= 0)
        return;
    int64_t *t = malloc((size_t)n * sizeof *t);
    if (!t)
        return;
    size_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *e;
        int32_t el;
        char buf[32];
        if (cql__rd_bytes(&rd, &e, &el) || el <= 0 || el >= (int32_t)sizeof buf)
            continue;
        memcpy(buf, e, (size_t)el);
        buf[el] = '\0';
        t[k++] = strtoll(buf, NULL, 10);
    }
    free(h->tokens);
    h->tokens = t;
    h->ntokens = k;
}

static int cmp_ring(const void *a, const void *b)
{
    const struct ring_entry *x = a, *y = b;
    return x->token < y->token ? -1 : x->token > y->token;
}

static void build_ring(struct cql_session *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nhosts; i++)
        n += s->hosts[i]->ntokens;
    struct ring_entry *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return;
    size_t k = 0;
    for (size_t i = 0; i < s->nhosts; i++)
        for (size_t j = 0; j < s->hosts[i]->ntokens; j++)
            r[k++] = (struct ring_entry){s->hosts[i]->tokens[j], s->hosts[i]};
    qsort(r, k, sizeof *r, cmp_ring);
    free(s->ring);
    s->ring = r;
    s->nring = k;
}

static void inet_cell(const struct cql_result *r, size_t row, int col, char *out, size_t size)
{
    const uint8_t *p;
    int32_t len;
    out[0] = '\0';
    if (col < 0 || cql_result_cell(r, row, (size_t)col, &p, &len) || (len != 4 && len != 16))
        return;
    inet_ntop(len == 4 ? AF_INET : AF_INET6, p, out, (socklen_t)size);
}

#define PEERS_QUERY "SELECT peer, rpc_address, data_center, tokens FROM system.peers"

static void apply_peers(struct cql_session *s, const struct cql_result *r)
{
    for (size_t i = 0; i < cql_result_row_count(r); i++) {
        char addr[64];
        inet_cell(r, i, cql_result_column_index(r, "rpc_address"), addr, sizeof addr);
        if (!addr[0] || !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::"))
            inet_cell(r, i, cql_result_column_index(r, "peer"), addr, sizeof addr);
        if (!addr[0])
            continue;
        struct cql_host *h = host_add(s, addr, s->cfg.port);
        if (!h)
            continue;
        read_tokens(h, r, i, cql_result_column_index(r, "tokens"));
    }
}

/* A synchronous query that only h may answer. */
static int query_on(struct cql_session *s, struct cql_host *h, const char *cql,
                    const struct cql_query_opts *o, struct cql_result **out)
{
    struct sync_wait w = {0};
    struct cql_query_opts so = sync_opts(o);
    *out = NULL;
    int rc = query_async(s, h, cql, NULL, 0, &so, sync_cb, &w);
    return rc ? rc : sync_finish(s, &w, out);
}

/* Both queries go to first: other contact points may be up by now, and
 * system.local and system.peers describe the node that answers. */
static void discover(struct cql_session *s, struct cql_host *first)
{
    struct cql_result *r = NULL;
    struct cql_query_opts o = {.consistency = CQL_CL_ONE, .page_size = -1};
    if (query_on(s, first, "SELECT data_center, tokens FROM system.local WHERE key='local'", &o,
                 &r) == 0) {
        if (cql_result_row_count(r) > 0) {
            read_tokens(first, r, 0, cql_result_column_index(r, "tokens"));
            const char *dc;
            size_t dl;
            if (cql_result_get_bytes(r, 0, 0, &dc, &dl) == 0)
                snprintf(first->dc, sizeof first->dc, "%.*s", (int)dl, dc);
        }
        cql_result_free(r);
        r = NULL;
    }
    if (s->cfg.discover_peers && query_on(s, first, PEERS_QUERY, &o, &r) == 0) {
        apply_peers(s, r);
        cql_result_free(r);
    }
    build_ring(s);
}

/* A TOPOLOGY_CHANGE event: read system.peers again, asynchronously. */
static void on_peers(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    struct cql_session *s = arg;
    if (status) {
        SPATE_WARN(LOGC, "refreshing peers failed: %s", err ? err->message : "?");
        return;
    }
    apply_peers(s, res);
    build_ring(s);
}

static void refresh_peers(struct cql_session *s)
{
    struct cql_query_opts o = {.consistency = CQL_CL_ONE, .page_size = -1};
    if (s->cfg.discover_peers)
        cql_query_async(s, PEERS_QUERY, NULL, 0, &o, on_peers, s);
}

/* ---- session lifecycle ------------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int cql_session_new(const struct cql_session_config *cfg, struct cql_session **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    struct cql_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return SPATE_ENOMEM;
    }
    s->rng = (uint64_t)spate_mono_us() ^ (uint64_t)(uintptr_t)s;
    s->cfg = *cfg;
    if (s->cfg.connections_per_host < 1)
        s->cfg.connections_per_host = 1;
    if (s->cfg.max_in_flight < 1 || s->cfg.max_in_flight > CQL_MAX_STREAMS)
        s->cfg.max_in_flight = 1024;
    if (s->cfg.request_timeout_ms <= 0)
        s->cfg.request_timeout_ms = 12000;
    if (s->cfg.connect_timeout_ms <= 0)
        s->cfg.connect_timeout_ms = 5000;
    if (s->cfg.reconnect_initial_ms <= 0)
        s->cfg.reconnect_initial_ms = 200;
    if (s->cfg.reconnect_max_ms < s->cfg.reconnect_initial_ms)
        s->cfg.reconnect_max_ms = s->cfg.reconnect_initial_ms;
    if (s->cfg.heartbeat_interval_ms == 0)
        s->cfg.heartbeat_interval_ms = 30000;
    /* a quarter: enough to ride out a burst of slow queries, far from the
     * point where the connection has no id left */
    if (s->cfg.max_orphans <= 0)
        s->cfg.max_orphans = s->cfg.max_in_flight / 4 > 0 ? s->cfg.max_in_flight / 4 : 1;
    if (s->cfg.max_orphans > s->cfg.max_in_flight)
        s->cfg.max_orphans = s->cfg.max_in_flight;
    if (!s->cfg.max_frame_bytes)
        s->cfg.max_frame_bytes = CQL_MAX_FRAME_DEFAULT;
    if (s->cfg.port <= 0)
        s->cfg.port = 9042;
    if (s->cfg.consistency == CQL_CL_DEFAULT)
        s->cfg.consistency = CQL_CL_LOCAL_QUORUM;
    s->username = dup_or_null(cfg->username);
    s->password = dup_or_null(cfg->password);
    s->cfg.contact_points = NULL;
    s->last.server_code = -1;
    if (cfg->keyspace)
        spate_strlcpy(s->keyspace, cfg->keyspace, sizeof s->keyspace);
    int rc = 0;
    if (cfg->tls) {
        s->tls_ctx = cql__tls_ctx_new(cfg->tls_ca_file, cfg->tls_cert_file, cfg->tls_key_file,
                                      cfg->tls_verify, err, errlen);
        if (!s->tls_ctx) {
            cql_session_free(s);
            return SPATE_ETLS;
        }
    }
    for (size_t i = 0; i < cfg->contact_point_count; i++) {
        char addr[128];
        int port = s->cfg.port;
        spate_strlcpy(addr, cfg->contact_points[i], sizeof addr);
        char *colon = strrchr(addr, ':');
        if (colon && strchr(addr, ':') == colon) { /* host:port, not IPv6 */
            *colon = '\0';
            port = atoi(colon + 1);
        }
        if (!host_add(s, addr, port)) {
            cql_session_free(s);
            snprintf(err, errlen, "out of memory");
            return SPATE_ENOMEM;
        }
    }
    if (s->nhosts == 0) {
        cql_session_free(s);
        snprintf(err, errlen, "no contact points");
        return SPATE_EINVAL;
    }
    /* Every contact point at once, so a dead one costs nothing when another
     * answers; the first ready serves discovery. */
    s->starting = 1;
    struct cql_host *first = NULL;
    struct cql_host *fatal = NULL;
    maybe_reconnect(s, 1);
    for (;;) {
        for (size_t i = 0; i < s->nhosts && !first; i++)
            if (s->hosts[i]->up)
                first = s->hosts[i];
        for (size_t i = 0; i < s->nhosts && !fatal; i++)
            if (s->hosts[i]->last_rc == SPATE_EAUTH || s->hosts[i]->last_rc == SPATE_ETLS)
                fatal = s->hosts[i]; /* other hosts will say the same */
        if (first || fatal || !any_conn_connecting(s))
            break;
        if ((rc = cql_session_poll(s, 100)) < 0)
            break;
    }
    if (!first) {
        struct cql_host *h = fatal ? fatal : s->hosts[s->nhosts - 1];
        snprintf(err, errlen, "%s", h->last_err[0] ? h->last_err : spate_strerror(rc));
        rc = rc < 0 ? rc : h->last_rc ? h->last_rc : SPATE_ECONNREFUSED;
        cql_session_free(s);
        return rc;
    }
    discover(s, first);
    /* fill the pools of every host; wait for the attempts (each bounded by the
     * connect timeout) so that routing starts with the whole cluster */
    maybe_reconnect(s, 1);
    while (any_conn_connecting(s))
        if (cql_session_poll(s, 100) < 0)
            break;
    s->starting = 0;
    *out = s;
    return 0;
}

void cql_session_free(struct cql_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nhosts; i++) {
        struct cql_host *h = s->hosts[i];
        for (int k = 0; k < h->nconns; k++) {
            struct cql_conn *c = &h->conns[k];
            if (!c->slots)
                continue;
            for (int st = 0; st < c->max_streams; st++) {
                struct cql_req *r = c->slots[st];
                if (r && r != &cql__orphan) {
                    c->slots[st] = NULL;
                    if (r->parent)
                        fail_req(s, NULL, r->parent, SPATE_ECANCELED, "session closed");
                    r->parent = NULL;
                    fail_req(s, NULL, r, SPATE_ECANCELED, "session closed");
                }
            }
            cql__conn_close(c);
        }
        free(h->conns);
        free(h->tokens);
        free(h);
    }
    free(s->hosts);
    free(s->ring);
    while (s->prepared) {
        struct cql_prepared *p = s->prepared;
        s->prepared = p->next;
        prepared_free(p);
    }
    if (s->tls_ctx)
        cql__tls_ctx_free(s->tls_ctx);
    free(s->username);
    if (s->password)
        explicit_bzero(s->password, strlen(s->password));
    free(s->password);
    free(s->pfds);
    free(s->pconns);
    free(s);
}

/* ---- probe ------------------------------------------------------------------------------------------ */

static int probe(const char *host, int port, void *tls_ctx, int timeout_ms, char *err,
                 size_t errlen)
{
    struct cql_conn c;
    struct cql_conn_opts o = {.connect_timeout_ms = timeout_ms > 0 ? timeout_ms : 2000,
                              .max_streams = 1,
                              .tls_ctx = tls_ctx,
                              .tls_verify = tls_ctx != NULL};
    char e[256];
    int rc = cql__conn_open(&c, host, port, &o, e, sizeof e);
    if (rc == SPATE_EAUTH && strstr(e, "requires authentication")) {
        /* AUTHENTICATE means the native transport is up */
        return 0;
    }
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s", e);
        return rc;
    }
    cql__conn_close(&c);
    return 0;
}

int cql_probe(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    return probe(host, port, NULL, timeout_ms, err, errlen);
}

int cql_probe_tls(const char *host, int port, const char *ca_file, int timeout_ms, char *err,
                  size_t errlen)
{
    char e[256];
    void *ctx = cql__tls_ctx_new(ca_file, NULL, NULL, 1, e, sizeof e);
    if (!ctx) {
        if (err && errlen)
            snprintf(err, errlen, "%s", e);
        return SPATE_ETLS;
    }
    int rc = probe(host, port, ctx, timeout_ms, err, errlen);
    cql__tls_ctx_free(ctx);
    return rc;
}
