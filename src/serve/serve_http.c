/* SPDX-License-Identifier: Apache-2.0 */
/* serve_http.c -- the read-only HTTP server: routing, input validation, JSON answers, /metrics. */
#include "serve_internal.h"

#include "spate/error.h"
#include "spate/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One listening socket: the API (dashboard, /api/, /health) and/or /metrics. */
struct serve_listener {
    struct serve_server *s;
    struct MHD_Daemon *daemon;
    const char *host;
    int fd;
    int port;
    int api;     /* serves the dashboard and /api/ (Host and token checked) */
    int metrics; /* serves /metrics */
};

/* A request that needs Cassandra: parsed on the HTTP thread, run by a worker,
 * answered on the HTTP thread again after MHD_resume_connection. */
struct serve_job {
    struct serve_job *next;
    struct MHD_Connection *conn;
    enum serve_route route;
    int64_t t0_us;
    uint8_t uuid[16];
    char nat[3];
    int has_nat;
    int limit;
    int64_t from, to;
    int32_t day;
    int rc;
    struct spate_buf body;
    char err[512];
};

struct serve_server {
    const struct spate_config *cfg;
    struct serve_listener api, met;
    struct serve_store *store;
    struct serve_pipeline *pipeline;
    struct metrics_registry *reg;
    struct metrics_histogram *m_latency[SERVE_R_COUNT];
    struct metrics_gauge *m_cassandra_up, *m_queued;
    const char *token;
    size_t max_body;
    int64_t started_ms;
    /* the Cassandra workers: HTTP threads never wait on a query, so /health,
     * /metrics and the dashboard answer while Cassandra is slow */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct serve_job *qhead, *qtail;
    int qlen, qmax;
    int stopping;
    pthread_t *workers;
    int nworkers;
    int qinit;
};

static const char *const route_names[SERVE_R_COUNT] = {
    "not_found", "asset", "health", "metrics", "user", "users", "stats", "rejects", "pipeline",
};

const char *serve__route_name(enum serve_route r)
{
    return (unsigned)r < SERVE_R_COUNT ? route_names[r] : "?";
}

enum serve_route serve__route(const char *path, const char **arg)
{
    *arg = NULL;
    if (!strcmp(path, "/health") || !strcmp(path, "/healthz"))
        return SERVE_R_HEALTH;
    if (!strcmp(path, "/metrics"))
        return SERVE_R_METRICS;
    if (!strcmp(path, "/api/users") || !strcmp(path, "/api/users/"))
        return SERVE_R_USERS;
    if (!strncmp(path, "/api/users/", 11)) {
        *arg = path + 11;
        return SERVE_R_USER;
    }
    if (!strcmp(path, "/api/stats"))
        return SERVE_R_STATS;
    if (!strcmp(path, "/api/rejects"))
        return SERVE_R_REJECTS;
    if (!strcmp(path, "/api/pipeline"))
        return SERVE_R_PIPELINE;
    if (serve__asset_find(path))
        return SERVE_R_ASSET;
    return SERVE_R_NOT_FOUND;
}

const struct serve_asset *serve__asset_find(const char *path)
{
    if (!strcmp(path, "/index.html"))
        path = "/";
    for (size_t i = 0; i < serve__asset_count; i++)
        if (!strcmp(serve__assets[i].path, path))
            return &serve__assets[i];
    return NULL;
}

int serve__json_error(struct spate_buf *out, int status, const char *message)
{
    int rc = spate_buf_appendf(out, "{\"error\":{\"status\":%d,\"message\":", status);
    if (rc == 0)
        rc = serve_json_string(out, message, strlen(message));
    if (rc == 0)
        rc = spate_buf_append(out, "}}\n", 3);
    return rc;
}

/* ---- answers ------------------------------------------------------------------------ */

static enum MHD_Result send_buf(struct serve_server *s, struct MHD_Connection *c, unsigned status,
                                const char *type, struct spate_buf *body, unsigned *status_out);

static enum MHD_Result send_raw(struct MHD_Connection *c, unsigned status, const char *type,
                                struct spate_buf *body, const char *h1, const char *v1)
{
    if (!body->data && spate_buf_append(body, "", 0) != 0)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(body->len, body->data, free);
    if (!r) {
        spate_buf_free(body);
        return MHD_NO;
    }
    body->data = NULL;
    body->len = body->cap = 0;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (h1)
        MHD_add_response_header(r, h1, v1);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error_h(struct MHD_Connection *c, unsigned status, const char *msg,
                                    unsigned *status_out, const char *h1, const char *v1)
{
    struct spate_buf b = {0};
    *status_out = status;
    if (serve__json_error(&b, (int)status, msg) != 0) {
        spate_buf_free(&b);
        return MHD_NO;
    }
    return send_raw(c, status, "application/json; charset=utf-8", &b, h1, v1);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                  unsigned *status_out)
{
    return send_error_h(c, status, msg, status_out, NULL, NULL);
}

/* Every body passes here: none is larger than serve.max_response_bytes. */
static enum MHD_Result send_buf(struct serve_server *s, struct MHD_Connection *c, unsigned status,
                                const char *type, struct spate_buf *body, unsigned *status_out)
{
    if (body->len > s->max_body) {
        SPATE_WARN("serve", "a %zu-byte answer exceeds serve.max_response_bytes (%zu): refused",
                   body->len, s->max_body);
        spate_buf_free(body);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "the answer is larger than serve.max_response_bytes; ask for fewer "
                          "rows (limit) or a shorter range",
                          status_out);
    }
    *status_out = status;
    return send_raw(c, status, type, body, NULL, NULL);
}

static enum MHD_Result send_json(struct serve_server *s, struct MHD_Connection *c,
                                 unsigned status, struct spate_buf *b, unsigned *status_out)
{
    return send_buf(s, c, status, "application/json; charset=utf-8", b, status_out);
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const struct serve_asset *a)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", a->content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    /* The token may sit in the page's URL fragment: never in a Referer. */
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /* Everything the page needs comes from this server: no CDN, works offline. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- Cassandra work, off the HTTP threads -------------------------------------------- */

static void job_free(struct serve_job *j)
{
    if (!j)
        return;
    spate_buf_free(&j->body);
    free(j);
}

static void job_run(struct serve_server *s, struct serve_job *j)
{
    switch (j->route) {
    case SERVE_R_USER:
        j->rc = serve_store_user(s->store, j->uuid, &j->body, j->err, sizeof j->err);
        break;
    case SERVE_R_USERS:
        j->rc = serve_store_latest(s->store, j->has_nat ? j->nat : NULL, j->limit, &j->body,
                                   j->err, sizeof j->err);
        break;
    case SERVE_R_STATS:
        j->rc = serve_store_stats(s->store, j->from, j->to, j->has_nat ? j->nat : NULL, &j->body,
                                  j->err, sizeof j->err);
        break;
    case SERVE_R_REJECTS:
        j->rc = serve_store_rejects(s->store, j->day, j->limit, &j->body, j->err, sizeof j->err);
        break;
    default: j->rc = SPATE_EINVAL; break;
    }
}

static void *worker_main(void *arg)
{
    struct serve_server *s = arg;
    pthread_mutex_lock(&s->qlock);
    for (;;) {
        while (!s->qhead && !s->stopping)
            pthread_cond_wait(&s->qcond, &s->qlock);
        struct serve_job *j = s->qhead;
        if (!j)
            break; /* stopping and nothing left */
        s->qhead = j->next;
        if (!s->qhead)
            s->qtail = NULL;
        s->qlen--;
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->qlock);
        metrics_gauge_add(s->m_queued, -1);
        if (stopping) {
            j->rc = SPATE_ECANCELED;
        } else {
            job_run(s, j);
        }
        /* The HTTP thread picks the answer up when MHD calls answer() again. */
        MHD_resume_connection(j->conn);
        pthread_mutex_lock(&s->qlock);
    }
    pthread_mutex_unlock(&s->qlock);
    return NULL;
}

/* Queues j and suspends its connection; answers 503 at once when the queue is
 * full (Cassandra slow and many waiting) or the server is stopping. */
static enum MHD_Result submit(struct serve_server *s, struct MHD_Connection *c,
                              struct serve_job *j, void **con_cls, unsigned *status)
{
    j->conn = c;
    pthread_mutex_lock(&s->qlock);
    if (s->stopping || s->qlen >= s->qmax) {
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->qlock);
        job_free(j);
        if (!stopping)
            SPATE_WARN("serve", "%d Cassandra requests already wait (serve.queue): 503", s->qmax);
        return send_error_h(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                            stopping ? "the server is stopping"
                                     : "too many requests wait for Cassandra; try again shortly",
                            status, "Retry-After", "1");
    }
    /* Suspended before a worker can see it, so its resume always follows. */
    MHD_suspend_connection(c);
    if (s->qtail)
        s->qtail->next = j;
    else
        s->qhead = j;
    s->qtail = j;
    s->qlen++;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    metrics_gauge_add(s->m_queued, 1);
    *con_cls = j;
    *status = 0;
    return MHD_YES;
}

/* The answer of a finished job. Error bodies say what failed, not where:
 * host names, user names and TLS details are for the log. */
static enum MHD_Result job_answer(struct serve_server *s, struct MHD_Connection *c,
                                  struct serve_job *j, unsigned *status)
{
    if (j->rc == 0)
        return send_json(s, c, MHD_HTTP_OK, &j->body, status);
    if (j->rc == SPATE_ENOTFOUND)
        return send_error(c, MHD_HTTP_NOT_FOUND, j->err, status);
    if (j->rc == SPATE_ECANCELED)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is stopping", status);
    SPATE_WARN("serve", "%s: %s: %s", serve__route_name(j->route), spate_err_name(j->rc),
               j->err);
    if (j->rc == SPATE_ETIMEDOUT)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "Cassandra did not answer in time (details in the server log)",
                          status);
    if (j->rc == SPATE_EUNAVAILABLE)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "Cassandra is unreachable (details in the server log)", status);
    return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                      "the Cassandra query failed (details in the server log)", status);
}

static struct serve_job *job_new(enum serve_route r)
{
    struct serve_job *j = calloc(1, sizeof *j);
    if (j) {
        j->route = r;
        j->t0_us = spate_mono_us();
    }
    return j;
}

static enum MHD_Result oom(struct MHD_Connection *c, unsigned *status)
{
    return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", status);
}

static enum MHD_Result handle_user(struct serve_server *s, struct MHD_Connection *c,
                                   const char *id, void **con_cls, unsigned *status)
{
    uint8_t uuid[16];
    if (serve_parse_uuid(id, uuid) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "bad user id: expected a UUID like 123e4567-e89b-12d3-a456-426614174000, "
                 "got %zu characters",
                 strlen(id));
        return send_error(c, MHD_HTTP_BAD_REQUEST, msg, status);
    }
    struct serve_job *j = job_new(SERVE_R_USER);
    if (!j)
        return oom(c, status);
    memcpy(j->uuid, uuid, 16);
    return submit(s, c, j, con_cls, status);
}

static int nationality_arg(struct MHD_Connection *c, char nat[3], int *has)
{
    const char *n = arg(c, "nationality");
    if (!n)
        n = arg(c, "nat");
    *has = n && *n;
    return *has ? serve_parse_nationality(n, nat) : 0;
}

static enum MHD_Result handle_users(struct serve_server *s, struct MHD_Connection *c,
                                    void **con_cls, unsigned *status)
{
    char nat[3];
    int has;
    if (nationality_arg(c, nat, &has) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "bad nationality: expected a two-letter code such as DE", status);
    int limit;
    if (serve_parse_limit(arg(c, "limit"), SERVE_LIMIT_DEFAULT, 1, SERVE_LIMIT_MAX, &limit) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "bad limit: expected an integer from 1 to %d", SERVE_LIMIT_MAX);
        return send_error(c, MHD_HTTP_BAD_REQUEST, msg, status);
    }
    struct serve_job *j = job_new(SERVE_R_USERS);
    if (!j)
        return oom(c, status);
    memcpy(j->nat, nat, 3);
    j->has_nat = has;
    j->limit = limit;
    return submit(s, c, j, con_cls, status);
}

static enum MHD_Result handle_stats(struct serve_server *s, struct MHD_Connection *c,
                                    void **con_cls, unsigned *status)
{
    int64_t from, to;
    char err[512] = "";
    if (serve_parse_range(arg(c, "from"), arg(c, "to"), spate_wall_ms(), SERVE_STATS_MAX_RANGE_MS,
                          &from, &to, err, sizeof err) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, err, status);
    char nat[3];
    int has;
    if (nationality_arg(c, nat, &has) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "bad nationality: expected a two-letter code such as DE", status);
    struct serve_job *j = job_new(SERVE_R_STATS);
    if (!j)
        return oom(c, status);
    memcpy(j->nat, nat, 3);
    j->has_nat = has;
    j->from = from;
    j->to = to;
    return submit(s, c, j, con_cls, status);
}

static enum MHD_Result handle_rejects(struct serve_server *s, struct MHD_Connection *c,
                                      void **con_cls, unsigned *status)
{
    const char *d = arg(c, "day");
    int32_t day;
    if (serve_parse_day(d && *d ? d : "today", spate_wall_ms(), &day) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "bad day: expected YYYY-MM-DD, 'today' or 'yesterday'", status);
    int limit;
    if (serve_parse_limit(arg(c, "limit"), 100, 1, SERVE_LIMIT_MAX, &limit) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "bad limit: expected an integer from 1 to %d", SERVE_LIMIT_MAX);
        return send_error(c, MHD_HTTP_BAD_REQUEST, msg, status);
    }
    struct serve_job *j = job_new(SERVE_R_REJECTS);
    if (!j)
        return oom(c, status);
    j->day = day;
    j->limit = limit;
    return submit(s, c, j, con_cls, status);
}

static enum MHD_Result handle_pipeline(struct serve_server *s, struct MHD_Connection *c,
                                       unsigned *status)
{
    const char *since = arg(c, "since");
    int64_t since_ms = 0;
    if (since && *since && serve_parse_time(since, spate_wall_ms(), &since_ms) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "bad since: expected epoch milliseconds or a time", status);
    struct spate_buf b = {0};
    if (serve__pipeline_json(s->pipeline, since_ms, &b) != 0) {
        spate_buf_free(&b);
        return oom(c, status);
    }
    return send_json(s, c, MHD_HTTP_OK, &b, status);
}

static enum MHD_Result handle_health(struct serve_server *s, struct MHD_Connection *c,
                                     unsigned *status)
{
    struct spate_buf b = {0};
    int up = serve_store_up(s->store);
    spate_buf_appendf(&b,
                      "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_s\":%lld,"
                      "\"cassandra\":\"%s\"}\n",
                      SPATE_VERSION, (long long)((spate_wall_ms() - s->started_ms) / 1000),
                      up ? "up" : "unknown or down");
    return send_json(s, c, MHD_HTTP_OK, &b, status);
}

static enum MHD_Result handle_metrics(struct serve_server *s, struct MHD_Connection *c,
                                      unsigned *status)
{
    struct spate_buf b = {0};
    metrics_gauge_set(s->m_cassandra_up, serve_store_up(s->store));
    if (metrics_render(s->reg, &b) != 0) {
        spate_buf_free(&b);
        return oom(c, status);
    }
    return send_buf(s, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b, status);
}

static int is_api_route(enum serve_route r)
{
    return r == SERVE_R_USER || r == SERVE_R_USERS || r == SERVE_R_STATS ||
           r == SERVE_R_REJECTS || r == SERVE_R_PIPELINE;
}

static enum MHD_Result route_request(struct serve_listener *L, struct MHD_Connection *c,
                                     const char *url, const char *method, enum serve_route r,
                                     const char *a, void **con_cls, unsigned *status)
{
    struct serve_server *s = L->s;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return send_error_h(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                            "read-only API: only GET and HEAD are allowed", status, "Allow",
                            "GET, HEAD");
    if (L->api &&
        !serve__host_allowed(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"), L->host,
                             &s->cfg->serve.allowed_hosts)) {
        SPATE_WARN("serve", "refused a request for a host name not in serve.allowed_hosts "
                   "(DNS rebinding?)");
        return send_error(c, MHD_HTTP_FORBIDDEN,
                          "unknown Host: this server answers to localhost, IP addresses, its "
                          "listen address and serve.allowed_hosts",
                          status);
    }
    if (!L->api && r != SERVE_R_METRICS && r != SERVE_R_HEALTH)
        return send_error(c, MHD_HTTP_NOT_FOUND,
                          "this is the metrics listener: /metrics and /health only", status);
    if (r == SERVE_R_METRICS && !L->metrics)
        return send_error(c, MHD_HTTP_NOT_FOUND,
                          "/metrics is served on its own listener (metrics.listen, "
                          "metrics.serve_port)",
                          status);
    if (is_api_route(r) &&
        !serve__bearer_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
                          s->token))
        return send_error_h(c, MHD_HTTP_UNAUTHORIZED,
                            "this API needs a token: send 'Authorization: Bearer TOKEN' "
                            "(serve.token or SPATE_SERVE_TOKEN)",
                            status, "WWW-Authenticate", "Bearer realm=\"spate\"");
    switch (r) {
    case SERVE_R_ASSET: *status = MHD_HTTP_OK; return send_asset(c, serve__asset_find(url));
    case SERVE_R_HEALTH: return handle_health(s, c, status);
    case SERVE_R_METRICS: return handle_metrics(s, c, status);
    case SERVE_R_USER: return handle_user(s, c, a, con_cls, status);
    case SERVE_R_USERS: return handle_users(s, c, con_cls, status);
    case SERVE_R_STATS: return handle_stats(s, c, con_cls, status);
    case SERVE_R_REJECTS: return handle_rejects(s, c, con_cls, status);
    case SERVE_R_PIPELINE: return handle_pipeline(s, c, status);
    default:
        return send_error(c, MHD_HTTP_NOT_FOUND,
                          "no such endpoint: see /api/users, /api/users/{id}, /api/stats, "
                          "/api/rejects, /api/pipeline, /health",
                          status);
    }
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct serve_listener *L = cls;
    struct serve_server *s = L->s;
    (void)version;
    (void)upload;
    unsigned status = 0;
    enum MHD_Result ret;
    enum serve_route r;
    int64_t t0;
    struct serve_job *j = *con_cls;
    if (j) { /* resumed: a worker finished the query */
        *con_cls = NULL;
        r = j->route;
        t0 = j->t0_us;
        ret = job_answer(s, c, j, &status);
        job_free(j);
    } else {
        *upload_size = 0;
        t0 = spate_mono_us();
        const char *a;
        r = serve__route(url, &a);
        ret = route_request(L, c, url, method, r, a, con_cls, &status);
        if (status == 0 && ret == MHD_YES && *con_cls)
            return MHD_YES; /* suspended until a worker answers */
    }
    double secs = (double)(spate_mono_us() - t0) / 1e6;
    metrics_histogram_observe(s->m_latency[r], secs);
    char labels[96];
    snprintf(labels, sizeof labels, "route=\"%s\",code=\"%u\"", serve__route_name(r), status);
    metrics_counter_inc(metrics_counter(s->reg, "spate_serve_requests_total",
                                        "HTTP requests answered, by route and status", labels));
    SPATE_DEBUG("serve", "%s %s -> %u in %.1f ms", method, url, status, secs * 1000);
    return ret;
}

/* A connection that ends with its job still attached never got its answer
 * (the client left): the worker is done with it, since MHD only calls this
 * after resuming. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    job_free(*con_cls);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    spate_vlog(SPATE_LOG_DEBUG, "serve", fmt, ap);
}

/* Binds the listening socket ourselves so that a taken port is reported as such. */
static int listen_on(const char *host, int port, const char *flag, int *fd_out, int *port_out,
                     char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve listen address '%s': %s", host, gai_strerror(gai));
        return SPATE_EINVAL;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        freeaddrinfo(res);
        return SPATE_ESYS;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s port %d: %s%s%s%s", host, port, strerror(e),
                 e == EADDRINUSE ? " (port already in use; pick another with " : "",
                 e == EADDRINUSE ? flag : "", e == EADDRINUSE ? ")" : "");
        close(fd);
        freeaddrinfo(res);
        return e == EADDRINUSE ? SPATE_EADDRINUSE : SPATE_ESYS;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return 0;
}

static int listener_start(struct serve_listener *L, char *err, size_t errlen)
{
    L->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
            MHD_ALLOW_SUSPEND_RESUME,
        0, NULL, NULL, answer, L, MHD_OPTION_LISTEN_SOCKET, L->fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)2, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!L->daemon) {
        snprintf(err, errlen, "cannot start the HTTP server on %s:%d", L->host, L->port);
        return SPATE_ESYS;
    }
    L->fd = -1; /* the daemon owns it now */
    return 0;
}

void serve_options_init(struct serve_options *o)
{
    memset(o, 0, sizeof *o);
    o->port = -1;
    o->metrics_port = -1;
    o->kafka = 1;
}

int serve_start(const struct spate_config *cfg, const struct serve_options *opt,
                struct serve_server **out, char *err, size_t errlen)
{
    struct serve_options defaults;
    if (!opt) {
        serve_options_init(&defaults);
        opt = &defaults;
    }
    const char *host = opt->listen ? opt->listen : cfg->serve.listen;
    if (!host || !*host)
        host = "127.0.0.1";
    const char *mhost = opt->metrics_listen ? opt->metrics_listen : cfg->metrics.listen;
    if (!mhost || !*mhost)
        mhost = "127.0.0.1";
    int port = opt->port >= 0 ? opt->port : cfg->serve.port;
    int mport = opt->metrics_port >= 0 ? opt->metrics_port : cfg->metrics.serve_port;
    if (port < 0 || port > 65535 || mport < 0 || mport > 65535) {
        snprintf(err, errlen, "bad port %d", port < 0 || port > 65535 ? port : mport);
        return SPATE_EINVAL;
    }
    int threads = opt->threads > 0 ? opt->threads : 4;
    struct serve_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return SPATE_ENOMEM;
    }
    s->cfg = cfg;
    s->api = (struct serve_listener){.s = s, .host = host, .fd = -1, .api = 1};
    s->met = (struct serve_listener){.s = s, .host = mhost, .fd = -1, .metrics = 1};
    s->started_ms = spate_wall_ms();
    s->max_body = (size_t)cfg->serve.max_response_bytes;
    s->qmax = cfg->serve.queue;
    s->token = opt->token ? opt->token : cfg->serve.token;
    if (!s->token || !*s->token)
        s->token = getenv("SPATE_SERVE_TOKEN");
    if (s->token && !*s->token)
        s->token = NULL;
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    s->qinit = 1;
    /* The same address and port for both: one listener, as before the split. */
    int shared = mport == port && port != 0 && !strcmp(host, mhost);
    int rc = listen_on(host, port, "--port", &s->api.fd, &s->api.port, err, errlen);
    if (rc == 0 && shared) {
        s->api.metrics = 1;
        s->met.port = s->api.port;
    } else if (rc == 0) {
        rc = listen_on(mhost, mport, "--metrics-port", &s->met.fd, &s->met.port, err, errlen);
    }
    if (rc != 0) {
        serve_stop(s);
        return rc;
    }
    s->reg = metrics_registry_new();
    if (!s->reg || serve_store_open(cfg, threads, &s->store) != 0) {
        snprintf(err, errlen, "out of memory");
        serve_stop(s);
        return SPATE_ENOMEM;
    }
    serve_store_set_max_bytes(s->store, s->max_body);
    for (int r = 0; r < SERVE_R_COUNT; r++) {
        char labels[48];
        snprintf(labels, sizeof labels, "route=\"%s\"", route_names[r]);
        s->m_latency[r] = metrics_histogram(s->reg, "spate_serve_request_duration_seconds",
                                            "Time to answer an HTTP request", labels,
                                            metrics_latency_buckets, metrics_latency_nbuckets);
    }
    s->m_cassandra_up = metrics_gauge(s->reg, "spate_serve_cassandra_up",
                                      "1 when the last Cassandra query succeeded", NULL);
    s->m_queued = metrics_gauge(s->reg, "spate_serve_cassandra_queued",
                                "API requests waiting for a Cassandra worker", NULL);
    rc = serve__pipeline_start(cfg, opt->sample_interval_ms > 0 ? opt->sample_interval_ms : 1000,
                               opt->history > 0 ? opt->history : 600, opt->kafka, &s->pipeline);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the pipeline sampler: %s", spate_strerror(rc));
        serve_stop(s);
        return rc;
    }
    s->workers = calloc((size_t)threads, sizeof *s->workers);
    if (!s->workers) {
        snprintf(err, errlen, "out of memory");
        serve_stop(s);
        return SPATE_ENOMEM;
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            snprintf(err, errlen, "cannot start a Cassandra worker: %s", strerror(errno));
            serve_stop(s);
            return SPATE_ESYS;
        }
        s->nworkers++;
    }
    rc = listener_start(&s->api, err, errlen);
    if (rc == 0 && !shared)
        rc = listener_start(&s->met, err, errlen);
    if (rc != 0) {
        serve_stop(s);
        return rc;
    }
    *out = s;
    return 0;
}

int serve_port(const struct serve_server *s) { return s ? s->api.port : -1; }
int serve_metrics_port(const struct serve_server *s) { return s ? s->met.port : -1; }
int serve_has_token(const struct serve_server *s) { return s && s->token; }

void serve_stop(struct serve_server *s)
{
    if (!s)
        return;
    int64_t t0 = spate_mono_ms();
    /* Workers first: every suspended connection is resumed (queued jobs with
     * "stopping") before MHD may stop, which it must not with any suspended. */
    if (s->qinit) {
        pthread_mutex_lock(&s->qlock);
        s->stopping = 1;
        pthread_cond_broadcast(&s->qcond);
        pthread_mutex_unlock(&s->qlock);
    }
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->workers);
    if (s->api.daemon)
        MHD_stop_daemon(s->api.daemon);
    if (s->met.daemon)
        MHD_stop_daemon(s->met.daemon);
    SPATE_DEBUG("serve", "HTTP server stopped in %lld ms", (long long)(spate_mono_ms() - t0));
    if (s->api.fd >= 0)
        close(s->api.fd);
    if (s->met.fd >= 0)
        close(s->met.fd);
    serve__pipeline_stop(s->pipeline);
    serve_store_close(s->store);
    metrics_registry_free(s->reg);
    if (s->qinit) {
        pthread_mutex_destroy(&s->qlock);
        pthread_cond_destroy(&s->qcond);
    }
    free(s);
}
