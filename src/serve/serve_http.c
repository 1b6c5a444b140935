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

struct serve_server {
    const struct spate_config *cfg;
    struct MHD_Daemon *daemon;
    int fd;
    int port;
    struct serve_store *store;
    struct serve_pipeline *pipeline;
    struct metrics_registry *reg;
    struct metrics_histogram *m_latency[SERVE_R_COUNT];
    struct metrics_gauge *m_cassandra_up;
    int64_t started_ms;
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

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type,
                                struct spate_buf *body, int cacheable)
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
    MHD_add_response_header(r, "Cache-Control", cacheable ? "max-age=60" : "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, struct spate_buf *b)
{
    return send_buf(c, status, "application/json; charset=utf-8", b, 0);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                  unsigned *status_out)
{
    struct spate_buf b = {0};
    *status_out = status;
    if (serve__json_error(&b, (int)status, msg) != 0) {
        spate_buf_free(&b);
        return MHD_NO;
    }
    return send_json(c, status, &b);
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

/* Maps a store status onto an HTTP answer. */
static enum MHD_Result store_answer(struct MHD_Connection *c, int rc, struct spate_buf *b,
                                    const char *err, unsigned *status)
{
    if (rc == 0) {
        *status = MHD_HTTP_OK;
        return send_json(c, MHD_HTTP_OK, b);
    }
    spate_buf_free(b);
    if (rc == SPATE_ENOTFOUND)
        return send_error(c, MHD_HTTP_NOT_FOUND, err, status);
    SPATE_WARN("serve", "%s: %s", spate_err_name(rc), err);
    if (rc == SPATE_EUNAVAILABLE || rc == SPATE_ETIMEDOUT)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, err, status);
    return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, err, status);
}

static enum MHD_Result handle_user(struct serve_server *s, struct MHD_Connection *c,
                                   const char *id, unsigned *status)
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
    struct spate_buf b = {0};
    char err[512] = "";
    int rc = serve_store_user(s->store, uuid, &b, err, sizeof err);
    return store_answer(c, rc, &b, err, status);
}

static enum MHD_Result handle_users(struct serve_server *s, struct MHD_Connection *c,
                                    unsigned *status)
{
    const char *nat = arg(c, "nationality");
    if (!nat)
        nat = arg(c, "nat");
    char natbuf[3];
    if (nat && *nat && serve_parse_nationality(nat, natbuf) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "bad nationality: expected a two-letter code such as DE", status);
    int limit;
    int rc = serve_parse_limit(arg(c, "limit"), SERVE_LIMIT_DEFAULT, 1, SERVE_LIMIT_MAX, &limit);
    if (rc != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "bad limit: expected an integer from 1 to %d", SERVE_LIMIT_MAX);
        return send_error(c, MHD_HTTP_BAD_REQUEST, msg, status);
    }
    struct spate_buf b = {0};
    char err[512] = "";
    rc = serve_store_latest(s->store, nat && *nat ? natbuf : NULL, limit, &b, err, sizeof err);
    return store_answer(c, rc, &b, err, status);
}

static enum MHD_Result handle_stats(struct serve_server *s, struct MHD_Connection *c,
                                    unsigned *status)
{
    int64_t from, to;
    char err[512] = "";
    if (serve_parse_range(arg(c, "from"), arg(c, "to"), spate_wall_ms(), SERVE_STATS_MAX_RANGE_MS,
                          &from, &to, err, sizeof err) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, err, status);
    const char *nat = arg(c, "nationality");
    if (!nat)
        nat = arg(c, "nat");
    char natbuf[3];
    if (nat && *nat && serve_parse_nationality(nat, natbuf) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "bad nationality: expected a two-letter code such as DE", status);
    struct spate_buf b = {0};
    int rc = serve_store_stats(s->store, from, to, nat && *nat ? natbuf : NULL, &b, err,
                               sizeof err);
    return store_answer(c, rc, &b, err, status);
}

static enum MHD_Result handle_rejects(struct serve_server *s, struct MHD_Connection *c,
                                      unsigned *status)
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
    struct spate_buf b = {0};
    char err[512] = "";
    int rc = serve_store_rejects(s->store, day, limit, &b, err, sizeof err);
    return store_answer(c, rc, &b, err, status);
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
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", status);
    }
    *status = MHD_HTTP_OK;
    return send_json(c, MHD_HTTP_OK, &b);
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
    *status = MHD_HTTP_OK;
    return send_json(c, MHD_HTTP_OK, &b);
}

static enum MHD_Result handle_metrics(struct serve_server *s, struct MHD_Connection *c,
                                      unsigned *status)
{
    struct spate_buf b = {0};
    metrics_gauge_set(s->m_cassandra_up, serve_store_up(s->store));
    if (metrics_render(s->reg, &b) != 0) {
        spate_buf_free(&b);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", status);
    }
    *status = MHD_HTTP_OK;
    return send_buf(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b, 0);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct serve_server *s = cls;
    (void)version;
    (void)upload;
    (void)con_cls;
    int64_t t0 = spate_mono_us();
    unsigned status = 0;
    enum MHD_Result ret;
    const char *a;
    enum serve_route r = serve__route(url, &a);
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        *upload_size = 0;
        struct spate_buf b = {0};
        serve__json_error(&b, 405, "read-only API: only GET and HEAD are allowed");
        struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(
            b.len, b.data, free);
        if (!resp) {
            spate_buf_free(&b);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        MHD_destroy_response(resp);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else {
        switch (r) {
        case SERVE_R_ASSET:
            status = MHD_HTTP_OK;
            ret = send_asset(c, serve__asset_find(url));
            break;
        case SERVE_R_HEALTH: ret = handle_health(s, c, &status); break;
        case SERVE_R_METRICS: ret = handle_metrics(s, c, &status); break;
        case SERVE_R_USER: ret = handle_user(s, c, a, &status); break;
        case SERVE_R_USERS: ret = handle_users(s, c, &status); break;
        case SERVE_R_STATS: ret = handle_stats(s, c, &status); break;
        case SERVE_R_REJECTS: ret = handle_rejects(s, c, &status); break;
        case SERVE_R_PIPELINE: ret = handle_pipeline(s, c, &status); break;
        default:
            ret = send_error(c, MHD_HTTP_NOT_FOUND,
                             "no such endpoint: see /api/users, /api/users/{id}, /api/stats, "
                             "/api/rejects, /api/pipeline, /metrics, /health",
                             &status);
            break;
        }
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

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    spate_vlog(SPATE_LOG_DEBUG, "serve", fmt, ap);
}

/* Binds the listening socket ourselves so that a taken port is reported as such. */
static int listen_on(const char *host, int port, int *fd_out, int *port_out, char *err,
                     size_t errlen)
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
        snprintf(err, errlen, "cannot listen on %s port %d: %s%s", host, port, strerror(e),
                 e == EADDRINUSE ? " (port already in use; pick another with --port)" : "");
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

void serve_options_init(struct serve_options *o)
{
    memset(o, 0, sizeof *o);
    o->port = -1;
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
    const char *host = opt->listen ? opt->listen : cfg->metrics.listen;
    if (!host || !*host)
        host = "127.0.0.1";
    int port = opt->port >= 0 ? opt->port : cfg->metrics.serve_port;
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "bad port %d", port);
        return SPATE_EINVAL;
    }
    int threads = opt->threads > 0 ? opt->threads : 4;
    struct serve_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return SPATE_ENOMEM;
    }
    s->cfg = cfg;
    s->fd = -1;
    s->started_ms = spate_wall_ms();
    int rc = listen_on(host, port, &s->fd, &s->port, err, errlen);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->reg = metrics_registry_new();
    if (!s->reg || serve_store_open(cfg, threads, &s->store) != 0) {
        snprintf(err, errlen, "out of memory");
        serve_stop(s);
        return SPATE_ENOMEM;
    }
    for (int r = 0; r < SERVE_R_COUNT; r++) {
        char labels[48];
        snprintf(labels, sizeof labels, "route=\"%s\"", route_names[r]);
        s->m_latency[r] = metrics_histogram(s->reg, "spate_serve_request_duration_seconds",
                                            "Time to answer an HTTP request", labels,
                                            metrics_latency_buckets, metrics_latency_nbuckets);
    }
    s->m_cassandra_up = metrics_gauge(s->reg, "spate_serve_cassandra_up",
                                      "1 when the last Cassandra query succeeded", NULL);
    rc = serve__pipeline_start(cfg, opt->sample_interval_ms > 0 ? opt->sample_interval_ms : 1000,
                               opt->history > 0 ? opt->history : 600, opt->kafka, &s->pipeline);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the pipeline sampler: %s", spate_strerror(rc));
        serve_stop(s);
        return rc;
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        answer, s, MHD_OPTION_LISTEN_SOCKET, s->fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        NULL, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot start the HTTP server on %s:%d", host, s->port);
        serve_stop(s);
        return SPATE_ESYS;
    }
    s->fd = -1; /* the daemon owns it now */
    *out = s;
    return 0;
}

int serve_port(const struct serve_server *s) { return s ? s->port : -1; }

void serve_stop(struct serve_server *s)
{
    if (!s)
        return;
    int64_t t0 = spate_mono_ms();
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    SPATE_DEBUG("serve", "HTTP server stopped in %lld ms", (long long)(spate_mono_ms() - t0));
    if (s->fd >= 0)
        close(s->fd);
    serve__pipeline_stop(s->pipeline);
    serve_store_close(s->store);
    metrics_registry_free(s->reg);
    free(s);
}
