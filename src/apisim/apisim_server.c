/* SPDX-License-Identifier: Apache-2.0 */
/* apisim_server.c -- the HTTP side of api-sim: routing, fault application, attempt counting, stats. */
#include "apisim_internal.h"

#include "spate/error.h"
#include "spate/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Attempts are counted per (seed, page) so the n-th request for a page always meets the
 * same fate. The table is bounded; when it fills it starts over (logged), which only
 * matters to a test that replays more than this many distinct pages. */
#define ATTEMPT_TABLE_MAX (1u << 22)

struct apisim_server {
    struct MHD_Daemon *daemon;
    struct apisim_server_opts opts;
    char listen[64];
    int port;
    uint64_t boot_nonce;
    atomic_uint_fast64_t seed_counter;

    pthread_mutex_t attempts_mu;
    uint64_t *att_keys; /* 0 = empty slot */
    uint32_t *att_counts;
    size_t att_cap, att_used;

    atomic_uint_fast64_t requests, api_requests, bad_requests, users_served, good_users, bytes;
    atomic_uint_fast64_t faults[APISIM_FAULT_COUNT];
    atomic_uint_fast64_t recfaults[APISIM_RECFAULT_COUNT];
    /* POST /outage: until this monotonic ms, every /api request gets outage_status */
    atomic_int_fast64_t outage_until_ms;
    atomic_int outage_status;
};

#define ADD(ctr, n) atomic_fetch_add_explicit(&(ctr), (n), memory_order_relaxed)
#define GET(ctr) ((uint64_t)atomic_load_explicit(&(ctr), memory_order_relaxed))

/* Returns the attempt number (0 for the first request) of key and counts this one. */
static uint32_t attempts_bump(struct apisim_server *s, uint64_t key)
{
    if (key == 0)
        key = 1;
    uint32_t n = 0;
    pthread_mutex_lock(&s->attempts_mu);
    if (s->att_used * 2 >= s->att_cap) {
        size_t ncap = s->att_cap ? s->att_cap * 2 : 4096;
        if (ncap > ATTEMPT_TABLE_MAX * 2) {
            SPATE_WARN("api-sim", "attempt table full (%zu pages): starting over",
                       s->att_used);
            memset(s->att_keys, 0, s->att_cap * sizeof *s->att_keys);
            s->att_used = 0;
        } else {
            uint64_t *nk = calloc(ncap, sizeof *nk);
            uint32_t *nc = calloc(ncap, sizeof *nc);
            if (!nk || !nc) {
                free(nk);
                free(nc);
                pthread_mutex_unlock(&s->attempts_mu);
                return 0;
            }
            for (size_t i = 0; i < s->att_cap; i++) {
                if (!s->att_keys[i])
                    continue;
                size_t j = (size_t)(s->att_keys[i] & (ncap - 1));
                while (nk[j])
                    j = (j + 1) & (ncap - 1);
                nk[j] = s->att_keys[i];
                nc[j] = s->att_counts[i];
            }
            free(s->att_keys);
            free(s->att_counts);
            s->att_keys = nk;
            s->att_counts = nc;
            s->att_cap = ncap;
        }
    }
    size_t j = (size_t)(key & (s->att_cap - 1));
    while (s->att_keys[j] && s->att_keys[j] != key)
        j = (j + 1) & (s->att_cap - 1);
    if (s->att_keys[j]) {
        n = ++s->att_counts[j];
    } else {
        s->att_keys[j] = key;
        s->att_counts[j] = 0;
        s->att_used++;
    }
    pthread_mutex_unlock(&s->attempts_mu);
    return n;
}

/* ---- responses --------------------------------------------------------------------- */

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct spate_buf *body,
                             enum apisim_fault fault, uint32_t attempt, int records, int bad,
                             int retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(body->len, body->data, free);
    if (!r) {
        spate_buf_free(body);
        return MHD_NO;
    }
    body->data = NULL; /* owned by the response now */
    char num[32];
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "X-Spate-Fault", apisim_fault_name(fault));
    snprintf(num, sizeof num, "%u", attempt);
    MHD_add_response_header(r, "X-Spate-Attempt", num);
    if (records >= 0) {
        snprintf(num, sizeof num, "%d", records);
        MHD_add_response_header(r, "X-Spate-Records", num);
        snprintf(num, sizeof num, "%d", bad);
        MHD_add_response_header(r, "X-Spate-Bad-Records", num);
    }
    if (retry_after >= 0) {
        snprintf(num, sizeof num, "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", num);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct spate_buf b = {0};
    if (spate_buf_append(&b, "{\"error\":", 9) != 0 || apisim__json_string(&b, msg) != 0 ||
        spate_buf_append(&b, "}", 1) != 0) {
        spate_buf_free(&b);
        return MHD_NO;
    }
    return queue(c, status, &b, APISIM_FAULT_NONE, 0, -1, 0, -1);
}

/* A RESET answer: the full length is announced, half the bytes are sent, then the
 * connection is closed. */
struct reset_body {
    char *data;
    size_t len, cut;
};

static ssize_t reset_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct reset_body *rb = cls;
    if (pos >= rb->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = rb->cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, rb->data + pos, n);
    return (ssize_t)n;
}

static void reset_free(void *cls)
{
    struct reset_body *rb = cls;
    free(rb->data);
    free(rb);
}

static enum MHD_Result queue_reset(struct MHD_Connection *c, struct spate_buf *body,
                                   uint32_t attempt)
{
    struct reset_body *rb = malloc(sizeof *rb);
    if (!rb) {
        spate_buf_free(body);
        return MHD_NO;
    }
    rb->data = body->data;
    rb->len = body->len;
    rb->cut = body->len / 2;
    body->data = NULL;
    struct MHD_Response *r =
        MHD_create_response_from_callback(rb->len, 16384, reset_read, rb, reset_free);
    if (!r) {
        reset_free(rb);
        return MHD_NO;
    }
    char num[16];
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "X-Spate-Fault", "reset");
    snprintf(num, sizeof num, "%u", attempt);
    MHD_add_response_header(r, "X-Spate-Attempt", num);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- handlers ---------------------------------------------------------------------- */

static const char *param(void *arg, const char *name)
{
    struct MHD_Connection *c = arg;
    const char *v = NULL;
    size_t vlen = 0;
    if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      &vlen) != MHD_YES)
        return NULL;
    return v ? v : ""; /* "?noinfo" has no value but is present */
}

static enum MHD_Result handle_api(struct apisim_server *s, struct MHD_Connection *c)
{
    ADD(s->api_requests, 1);
    /* An outage answers before any attempt is counted, so the pages' deterministic
     * fault sequence resumes unchanged when it ends. */
    if (spate_mono_ms() < atomic_load(&s->outage_until_ms)) {
        struct spate_buf body = {0};
        ADD(s->faults[APISIM_FAULT_SERVER], 1);
        if (spate_buf_append(&body, "{\"error\":\"simulated outage\"}", 28) != 0)
            return MHD_NO;
        return queue(c, (unsigned)atomic_load(&s->outage_status), &body, APISIM_FAULT_SERVER, 0,
                     -1, 0, -1);
    }
    char gen_seed[17];
    uint64_t g = apisim__mix64(s->boot_nonce ^ (uint64_t)ADD(s->seed_counter, 1));
    for (int i = 0; i < 16; i++)
        gen_seed[i] = "0123456789abcdef"[(g >> (60 - 4 * i)) & 15];
    gen_seed[16] = 0;

    struct apisim_query q;
    char err[256];
    if (apisim_query_parse(&q, param, c, &s->opts.faults, gen_seed, err, sizeof err) != 0) {
        ADD(s->bad_requests, 1);
        return queue_error(c, MHD_HTTP_BAD_REQUEST, err);
    }
    if (!q.total_given)
        q.total = s->opts.total_users;
    uint32_t attempt =
        q.seed_given ? attempts_bump(s, apisim__hash4(apisim__seed_hash(q.seed),
                                                      (uint64_t)q.page, 0, 0x415454ULL))
                     : 0;
    enum apisim_fault fault = q.forced_fault >= 0
                                  ? (enum apisim_fault)q.forced_fault
                                  : apisim_request_fault(&q.faults, q.seed, q.page, attempt);
    int delay = apisim_request_latency_ms(&q.faults, q.seed, q.page, attempt);
    if (delay > 0) {
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    ADD(s->faults[fault], 1);
    SPATE_DEBUG("api-sim", "seed=%s page=%lld results=%d attempt=%u fault=%s", q.seed,
                (long long)q.page, q.results, attempt, apisim_fault_name(fault));

    struct spate_buf body = {0};
    if (fault == APISIM_FAULT_SERVER) {
        static const unsigned codes[] = {500, 502, 503};
        unsigned code = codes[apisim__shape_hash(&q.faults, q.seed, q.page, attempt) % 3];
        if (spate_buf_append(&body, "{\"error\":\"simulated server error\"}", 34) != 0)
            return MHD_NO;
        return queue(c, code, &body, fault, attempt, -1, 0, -1);
    }
    if (fault == APISIM_FAULT_RATELIMIT) {
        if (spate_buf_appendf(&body, "{\"error\":\"rate limit exceeded, retry after %d s\"}",
                              q.faults.retry_after_s) != 0)
            return MHD_NO;
        return queue(c, 429, &body, fault, attempt, -1, 0, q.faults.retry_after_s);
    }
    uint64_t rf[APISIM_RECFAULT_COUNT] = {0};
    if (apisim_render(&q, &body, rf) != 0) {
        spate_buf_free(&body);
        return queue_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    int count = apisim_page_records(&q);
    ADD(s->users_served, (uint64_t)count);
    for (int i = 0; i < APISIM_RECFAULT_COUNT; i++)
        ADD(s->recfaults[i], rf[i]);
    if (fault == APISIM_FAULT_NONE)
        ADD(s->good_users, rf[APISIM_RECFAULT_NONE]);
    int bad = (int)(rf[APISIM_RECFAULT_MISSING] + rf[APISIM_RECFAULT_WRONGTYPE]);
    if (fault == APISIM_FAULT_RESET) {
        ADD(s->bytes, body.len / 2);
        return queue_reset(c, &body, attempt);
    }
    if (apisim_damage_body(&q.faults, fault, q.seed, q.page, attempt, &body) != 0) {
        spate_buf_free(&body);
        return MHD_NO;
    }
    ADD(s->bytes, body.len);
    return queue(c, MHD_HTTP_OK, &body, fault, attempt, count, bad, -1);
}

static enum MHD_Result handle_stats(struct apisim_server *s, struct MHD_Connection *c)
{
    struct apisim_stats st;
    struct spate_buf b = {0};
    apisim_server_stats(s, &st);
    if (apisim_stats_json(&st, &b) != 0) {
        spate_buf_free(&b);
        return MHD_NO;
    }
    return queue(c, MHD_HTTP_OK, &b, APISIM_FAULT_NONE, 0, -1, 0, -1);
}

/* POST /outage?seconds=N[&status=503]: the API is down for N seconds (0 ends it),
 * for tests of what a pipeline does when its source fails for longer than its
 * retries last. */
static enum MHD_Result handle_outage(struct apisim_server *s, struct MHD_Connection *c)
{
    const char *secs = param(c, "seconds"), *st = param(c, "status");
    char *end = NULL;
    double n = secs ? strtod(secs, &end) : -1;
    long code = 503;
    if (!secs || end == secs || *end || !(n >= 0) || n > 86400)
        return queue_error(c, MHD_HTTP_BAD_REQUEST, "outage: seconds must be in [0, 86400]");
    if (st) {
        code = strtol(st, &end, 10);
        if (end == st || *end || code < 500 || code > 599)
            return queue_error(c, MHD_HTTP_BAD_REQUEST, "outage: status must be a 5xx code");
    }
    atomic_store(&s->outage_status, (int)code);
    atomic_store(&s->outage_until_ms, spate_mono_ms() + (int64_t)(n * 1000));
    SPATE_INFO("api-sim", "outage: answering %ld for %.0f s", code, n);
    struct spate_buf b = {0};
    if (spate_buf_appendf(&b, "{\"outage_seconds\":%.3f,\"status\":%ld}", n, code) != 0)
        return MHD_NO;
    return queue(c, MHD_HTTP_OK, &b, APISIM_FAULT_NONE, 0, -1, 0, -1);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
    struct apisim_server *s = cls;
    (void)version;
    (void)upload_data;
    /* Answer on the second call, once the whole request is in: a response queued on the
     * first call makes libmicrohttpd close the connection instead of keeping it alive. */
    static int seen;
    if (*con_cls == NULL) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_size) { /* ignore any request body */
        *upload_size = 0;
        return MHD_YES;
    }
    ADD(s->requests, 1);
    if (strcmp(method, "POST") == 0 && strcmp(url, "/reset") == 0) {
        /* Forget the attempt counts: the next request for any page is attempt 0 again,
         * so a test can replay the same run against a server that stays up. */
        pthread_mutex_lock(&s->attempts_mu);
        if (s->att_keys)
            memset(s->att_keys, 0, s->att_cap * sizeof *s->att_keys);
        s->att_used = 0;
        pthread_mutex_unlock(&s->attempts_mu);
        struct spate_buf b = {0};
        if (spate_buf_append(&b, "{\"reset\":true}", 14) != 0)
            return MHD_NO;
        return queue(c, MHD_HTTP_OK, &b, APISIM_FAULT_NONE, 0, -1, 0, -1);
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/outage") == 0)
        return handle_outage(s, c);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return queue_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is supported");
    if (strncmp(url, "/api", 4) == 0 && (url[4] == 0 || url[4] == '/'))
        return handle_api(s, c);
    if (strcmp(url, "/stats") == 0)
        return handle_stats(s, c);
    if (strcmp(url, "/health") == 0) {
        struct spate_buf b = {0};
        if (spate_buf_append(&b, "{\"status\":\"ok\"}", 15) != 0)
            return MHD_NO;
        return queue(c, MHD_HTTP_OK, &b, APISIM_FAULT_NONE, 0, -1, 0, -1);
    }
    return queue_error(c, MHD_HTTP_NOT_FOUND, "not found: try GET /api/?results=10, GET /stats, GET /health, POST /reset or POST /outage?seconds=N");
}

/* ---- lifecycle --------------------------------------------------------------------- */

static int fail(char *err, size_t errlen, int code, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return code;
}

/* libmicrohttpd's own messages (a RESET fault makes it complain on purpose) go to our
 * log at debug level. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    SPATE_DEBUG("api-sim", "libmicrohttpd: %s", msg);
}

/* Our own listen socket, so a busy port is reported as such. */
static int open_listener(const char *addr, int port, int *is6, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
        *is6 = 0;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
        *is6 = 1;
    } else {
        snprintf(err, errlen, "--listen: '%s' is not an IPv4 or IPv6 address", addr);
        return SPATE_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail(err, errlen, SPATE_ESYS, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "cannot listen on %s port %d: %s", addr, port, strerror(e));
        return e == EADDRINUSE ? SPATE_EADDRINUSE : SPATE_ESYS;
    }
    return fd;
}

int apisim_server_start(const struct apisim_server_opts *opts, struct apisim_server **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    if (apisim_faults_validate(&opts->faults, err, errlen) != 0)
        return SPATE_EINVAL;
    if (opts->port < 0 || opts->port > 65535)
        return fail(err, errlen, SPATE_EINVAL, "--port must be 0..65535");
    struct apisim_server *s = calloc(1, sizeof *s);
    if (!s)
        return fail(err, errlen, SPATE_ENOMEM, "out of memory");
    s->opts = *opts;
    spate_strlcpy(s->listen, opts->listen ? opts->listen : "127.0.0.1", sizeof s->listen);
    s->opts.listen = s->listen;
    if (s->opts.threads < 1)
        s->opts.threads = 1;
    s->boot_nonce = apisim__mix64((uint64_t)spate_wall_ms() ^ ((uint64_t)getpid() << 32));
    pthread_mutex_init(&s->attempts_mu, NULL);

    int is6 = 0;
    int fd = open_listener(s->listen, opts->port, &is6, err, errlen);
    if (fd < 0) {
        pthread_mutex_destroy(&s->attempts_mu);
        free(s);
        return fd;
    }
    /* Added latency is a sleep in the handler, so it needs a thread per connection to
     * keep one slow answer from stalling the others. */
    int tpc = s->opts.thread_per_connection || opts->faults.latency_ms > 0 ||
              opts->faults.jitter_ms > 0;
    s->opts.thread_per_connection = tpc;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    flags |= tpc ? (MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL) : MHD_USE_EPOLL;
    if (is6)
        flags |= MHD_USE_IPv6;
    unsigned pool = tpc ? 0 : (unsigned)s->opts.threads;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)NULL,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                                 pool > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, pool,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        pthread_mutex_destroy(&s->attempts_mu);
        free(s);
        return fail(err, errlen, SPATE_ESYS, "libmicrohttpd failed to start the daemon");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? (int)info->port : opts->port;
    *out = s;
    return 0;
}

int apisim_server_port(const struct apisim_server *s) { return s->port; }

void apisim_server_stats(const struct apisim_server *s, struct apisim_stats *out)
{
    struct apisim_server *m = (struct apisim_server *)s; /* atomics need non-const */
    memset(out, 0, sizeof *out);
    out->requests = GET(m->requests);
    out->api_requests = GET(m->api_requests);
    out->bad_requests = GET(m->bad_requests);
    out->users_served = GET(m->users_served);
    out->good_users = GET(m->good_users);
    out->bytes = GET(m->bytes);
    for (int i = 0; i < APISIM_FAULT_COUNT; i++)
        out->faults[i] = GET(m->faults[i]);
    for (int i = 0; i < APISIM_RECFAULT_COUNT; i++)
        out->recfaults[i] = GET(m->recfaults[i]);
}

int apisim_stats_json(const struct apisim_stats *st, struct spate_buf *out)
{
    int rc = spate_buf_appendf(
        out,
        "{\"requests\":%llu,\"api_requests\":%llu,\"bad_requests\":%llu,"
        "\"users_served\":%llu,\"good_users\":%llu,\"bytes\":%llu,\"faults\":{",
        (unsigned long long)st->requests, (unsigned long long)st->api_requests,
        (unsigned long long)st->bad_requests, (unsigned long long)st->users_served,
        (unsigned long long)st->good_users, (unsigned long long)st->bytes);
    for (int i = 0; rc == 0 && i < APISIM_FAULT_COUNT; i++)
        rc = spate_buf_appendf(out, "%s\"%s\":%llu", i ? "," : "",
                               apisim_fault_name((enum apisim_fault)i),
                               (unsigned long long)st->faults[i]);
    if (rc == 0)
        rc = spate_buf_append(out, "},\"record_faults\":{", 19);
    for (int i = 0; rc == 0 && i < APISIM_RECFAULT_COUNT; i++)
        rc = spate_buf_appendf(out, "%s\"%s\":%llu", i ? "," : "",
                               apisim_recfault_name((enum apisim_recfault)i),
                               (unsigned long long)st->recfaults[i]);
    if (rc == 0)
        rc = spate_buf_append(out, "}}", 2);
    return rc;
}

void apisim_server_stop(struct apisim_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->attempts_mu);
    free(s->att_keys);
    free(s->att_counts);
    free(s);
}
