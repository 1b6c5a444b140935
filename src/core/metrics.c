/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c -- lock-free metric updates, Prometheus text rendering and a /metrics endpoint. */
#include "spate/metrics.h"
#include "spate/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_counter {
    _Atomic uint64_t value;
};

/* A double kept as its bit pattern so it can be updated with CAS. */
struct metrics_gauge {
    _Atomic uint64_t bits;
};

struct metrics_histogram {
    double *bounds;
    size_t nbounds;
    _Atomic uint64_t *counts; /* nbounds + 1, last is +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_bits;
};

struct metrics_series {
    struct metrics_series *next;
    char *labels; /* NULL or `a="b",c="d"` */
    union {
        struct metrics_counter counter;
        struct metrics_gauge gauge;
        struct metrics_histogram hist;
    } u;
};

struct metrics_family {
    struct metrics_family *next;
    char *name;
    char *help;
    enum metrics_type type;
    struct metrics_series *series, *series_tail;
};

struct metrics_registry {
    pthread_mutex_t lock;
    struct metrics_family *families, *families_tail;
};

const double metrics_latency_buckets[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075,
    /* finer where a real-time pipeline's percentiles live, so p50 and p99
     * between 10 ms and 1 s are read within ~25%, not within 2.5x */
    0.01,   0.015,   0.02,   0.03,  0.04,   0.05,  0.075,
    0.1,    0.15,    0.2,    0.25,  0.3,    0.4,   0.5,   0.75,
    1,      1.5,     2.5,    5,     10,     30,    60,
    /* a pipeline that falls behind still reports how far, not just "over a minute" */
    120,    300,     600,    1800,  3600,
};
const size_t metrics_latency_nbuckets =
    sizeof metrics_latency_buckets / sizeof metrics_latency_buckets[0];

static uint64_t dbl_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double bits_dbl(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static void atomic_add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    for (;;) {
        uint64_t nw = dbl_bits(bits_dbl(old) + delta);
        if (atomic_compare_exchange_weak_explicit(bits, &old, nw, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

struct metrics_registry *metrics_registry_new(void)
{
    struct metrics_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return NULL;
    pthread_mutex_init(&reg->lock, NULL);
    return reg;
}

void metrics_registry_free(struct metrics_registry *reg)
{
    if (!reg)
        return;
    struct metrics_family *f = reg->families;
    while (f) {
        struct metrics_family *fn = f->next;
        struct metrics_series *s = f->series;
        while (s) {
            struct metrics_series *sn = s->next;
            if (f->type == METRICS_HISTOGRAM) {
                free(s->u.hist.bounds);
                free((void *)s->u.hist.counts);
            }
            free(s->labels);
            free(s);
            s = sn;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = fn;
    }
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

static int valid_name(const char *name)
{
    if (!name || !*name)
        return 0;
    for (const char *p = name; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                    *p == ':';
        int digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p != name))
            return 0;
    }
    return 1;
}

static int same_labels(const char *a, const char *b)
{
    if (!a || !*a)
        return !b || !*b;
    return b && strcmp(a, b) == 0;
}

/* Finds or creates the series; called with the lock held. *created tells
 * the caller to initialise type-specific parts. */
static struct metrics_series *lookup(struct metrics_registry *reg, const char *name,
                                     const char *help, const char *labels,
                                     enum metrics_type type, int *created)
{
    *created = 0;
    if (!valid_name(name))
        return NULL;
    struct metrics_family *f;
    for (f = reg->families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            break;
    if (f && f->type != type)
        return NULL;
    if (f) {
        for (struct metrics_series *s = f->series; s; s = s->next)
            if (same_labels(s->labels, labels))
                return s;
    } else {
        f = calloc(1, sizeof *f);
        if (!f)
            return NULL;
        f->name = strdup(name);
        f->help = strdup(help ? help : "");
        f->type = type;
        if (!f->name || !f->help) {
            free(f->name);
            free(f->help);
            free(f);
            return NULL;
        }
        if (reg->families_tail)
            reg->families_tail->next = f;
        else
            reg->families = f;
        reg->families_tail = f;
    }
    struct metrics_series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (labels && *labels) {
        s->labels = strdup(labels);
        if (!s->labels) {
            free(s);
            return NULL;
        }
    }
    if (f->series_tail)
        f->series_tail->next = s;
    else
        f->series = s;
    f->series_tail = s;
    *created = 1;
    return s;
}

struct metrics_counter *metrics_counter(struct metrics_registry *reg, const char *name,
                                        const char *help, const char *labels)
{
    if (!reg)
        return NULL;
    int created;
    pthread_mutex_lock(&reg->lock);
    struct metrics_series *s = lookup(reg, name, help, labels, METRICS_COUNTER, &created);
    pthread_mutex_unlock(&reg->lock);
    return s ? &s->u.counter : NULL;
}

struct metrics_gauge *metrics_gauge(struct metrics_registry *reg, const char *name,
                                    const char *help, const char *labels)
{
    if (!reg)
        return NULL;
    int created;
    pthread_mutex_lock(&reg->lock);
    struct metrics_series *s = lookup(reg, name, help, labels, METRICS_GAUGE, &created);
    pthread_mutex_unlock(&reg->lock);
    return s ? &s->u.gauge : NULL;
}

struct metrics_histogram *metrics_histogram(struct metrics_registry *reg, const char *name,
                                            const char *help, const char *labels,
                                            const double *bounds, size_t nbounds)
{
    if (!reg || !bounds || nbounds == 0)
        return NULL;
    for (size_t i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    int created;
    pthread_mutex_lock(&reg->lock);
    struct metrics_series *s = lookup(reg, name, help, labels, METRICS_HISTOGRAM, &created);
    if (s && created) {
        struct metrics_histogram *h = &s->u.hist;
        h->bounds = malloc(nbounds * sizeof *h->bounds);
        h->counts = calloc(nbounds + 1, sizeof *h->counts);
        if (!h->bounds || !h->counts) {
            /* Leave a usable empty histogram with one bucket rather than a
             * half-built one; no-memory here is practically unreachable. */
            free(h->bounds);
            free((void *)h->counts);
            h->bounds = NULL;
            h->counts = NULL;
            h->nbounds = 0;
            s = NULL;
        } else {
            memcpy(h->bounds, bounds, nbounds * sizeof *h->bounds);
            h->nbounds = nbounds;
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return s ? &s->u.hist : NULL;
}

void metrics_counter_add(struct metrics_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t metrics_counter_value(const struct metrics_counter *c)
{
    return c ? atomic_load_explicit(&((struct metrics_counter *)c)->value,
                                    memory_order_relaxed)
             : 0;
}

void metrics_gauge_set(struct metrics_gauge *g, double v)
{
    if (g)
        atomic_store_explicit(&g->bits, dbl_bits(v), memory_order_relaxed);
}

void metrics_gauge_add(struct metrics_gauge *g, double delta)
{
    if (g)
        atomic_add_double(&g->bits, delta);
}

double metrics_gauge_value(const struct metrics_gauge *g)
{
    return g ? bits_dbl(atomic_load_explicit(&((struct metrics_gauge *)g)->bits,
                                             memory_order_relaxed))
             : 0.0;
}

void metrics_histogram_observe(struct metrics_histogram *h, double v)
{
    if (!h || !h->counts || isnan(v))
        return;
    /* Binary search for the first bound >= v (buckets are "le"). */
    size_t lo = 0, hi = h->nbounds;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v <= h->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->counts[lo], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
}

uint64_t metrics_histogram_count(const struct metrics_histogram *h)
{
    return h ? atomic_load_explicit(&((struct metrics_histogram *)h)->count,
                                    memory_order_relaxed)
             : 0;
}

double metrics_histogram_sum(const struct metrics_histogram *h)
{
    return h ? bits_dbl(atomic_load_explicit(&((struct metrics_histogram *)h)->sum_bits,
                                             memory_order_relaxed))
             : 0.0;
}

double metrics_quantile_from_buckets(const double *bounds, size_t nbounds,
                                     const uint64_t *counts, double q)
{
    if (nbounds == 0)
        return 0.0;
    uint64_t total = 0;
    for (size_t i = 0; i <= nbounds; i++)
        total += counts[i];
    if (total == 0)
        return 0.0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    double rank = q * (double)total;
    uint64_t cum = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        uint64_t prev = cum;
        cum += counts[i];
        if ((double)cum >= rank && counts[i] > 0) {
            if (i == nbounds)
                return bounds[nbounds - 1];
            /* The first bucket's lower edge is 0 when its bound is positive,
             * as in Prometheus; otherwise it has no width to interpolate. */
            double lower = i == 0 ? (bounds[0] > 0 ? 0.0 : bounds[0]) : bounds[i - 1];
            double upper = bounds[i];
            double frac = (rank - (double)prev) / (double)counts[i];
            if (frac < 0)
                frac = 0;
            return lower + (upper - lower) * frac;
        }
    }
    return bounds[nbounds - 1];
}

double metrics_histogram_quantile(const struct metrics_histogram *h, double q)
{
    if (!h || !h->counts)
        return 0.0;
    uint64_t stack_counts[64];
    uint64_t *counts = stack_counts;
    if (h->nbounds + 1 > 64) {
        counts = malloc((h->nbounds + 1) * sizeof *counts);
        if (!counts)
            return 0.0;
    }
    for (size_t i = 0; i <= h->nbounds; i++)
        counts[i] = atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    double r = metrics_quantile_from_buckets(h->bounds, h->nbounds, counts, q);
    if (counts != stack_counts)
        free(counts);
    return r;
}

/* %g is not enough for Prometheus: +Inf/NaN have fixed spellings. */
static int append_number(struct spate_buf *out, double v)
{
    if (isnan(v))
        return spate_buf_append(out, "NaN", 3);
    if (isinf(v))
        return v > 0 ? spate_buf_append(out, "+Inf", 4) : spate_buf_append(out, "-Inf", 4);
    return spate_buf_appendf(out, "%.17g", v);
}

static int append_help(struct spate_buf *out, const struct metrics_family *f,
                       const char *suffix, const char *type)
{
    int rc = spate_buf_appendf(out, "# HELP %s%s ", f->name, suffix);
    /* HELP escapes backslash and newline. */
    for (const char *p = f->help; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = spate_buf_append(out, "\\\\", 2);
        else if (*p == '\n')
            rc = spate_buf_append(out, "\\n", 2);
        else
            rc = spate_buf_append(out, p, 1);
    }
    if (rc == 0)
        rc = spate_buf_appendf(out, "\n# TYPE %s%s %s\n", f->name, suffix, type);
    return rc;
}

/* name{labels,extra} -- either part may be empty. */
static int append_series_name(struct spate_buf *out, const char *name, const char *suffix,
                              const char *labels, const char *extra)
{
    int has_l = labels && *labels, has_e = extra && *extra;
    if (!has_l && !has_e)
        return spate_buf_appendf(out, "%s%s ", name, suffix);
    return spate_buf_appendf(out, "%s%s{%s%s%s} ", name, suffix, has_l ? labels : "",
                             has_l && has_e ? "," : "", has_e ? extra : "");
}

static int render_histogram(struct spate_buf *out, const struct metrics_family *f,
                            const struct metrics_series *s)
{
    const struct metrics_histogram *h = &s->u.hist;
    int rc = 0;
    uint64_t cum = 0;
    char le[64];
    for (size_t i = 0; rc == 0 && i <= h->nbounds; i++) {
        cum += atomic_load_explicit(&((struct metrics_histogram *)h)->counts[i],
                                    memory_order_relaxed);
        if (i == h->nbounds)
            snprintf(le, sizeof le, "le=\"+Inf\"");
        else
            snprintf(le, sizeof le, "le=\"%.17g\"", h->bounds[i]);
        rc = append_series_name(out, f->name, "_bucket", s->labels, le);
        if (rc == 0)
            rc = spate_buf_appendf(out, "%llu\n", (unsigned long long)cum);
    }
    if (rc == 0)
        rc = append_series_name(out, f->name, "_sum", s->labels, NULL);
    if (rc == 0)
        rc = append_number(out, metrics_histogram_sum(h));
    if (rc == 0)
        rc = spate_buf_append(out, "\n", 1);
    if (rc == 0)
        rc = append_series_name(out, f->name, "_count", s->labels, NULL);
    /* _count equals the +Inf bucket so a scrape is self-consistent even when
     * observations race with it. */
    if (rc == 0)
        rc = spate_buf_appendf(out, "%llu\n", (unsigned long long)cum);
    return rc;
}

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};

int metrics_render(struct metrics_registry *reg, struct spate_buf *out)
{
    int rc = 0;
    pthread_mutex_lock(&reg->lock);
    for (struct metrics_family *f = reg->families; rc == 0 && f; f = f->next) {
        static const char *const tn[] = {"counter", "gauge", "histogram"};
        rc = append_help(out, f, "", tn[f->type]);
        for (struct metrics_series *s = f->series; rc == 0 && s; s = s->next) {
            switch (f->type) {
            case METRICS_COUNTER:
                rc = append_series_name(out, f->name, "", s->labels, NULL);
                if (rc == 0)
                    rc = spate_buf_appendf(out, "%llu\n",
                                           (unsigned long long)metrics_counter_value(
                                               &s->u.counter));
                break;
            case METRICS_GAUGE:
                rc = append_series_name(out, f->name, "", s->labels, NULL);
                if (rc == 0)
                    rc = append_number(out, metrics_gauge_value(&s->u.gauge));
                if (rc == 0)
                    rc = spate_buf_append(out, "\n", 1);
                break;
            case METRICS_HISTOGRAM:
                rc = render_histogram(out, f, s);
                break;
            }
        }
        if (rc == 0 && f->type == METRICS_HISTOGRAM) {
            rc = append_help(out, f, "_quantile", "gauge");
            for (struct metrics_series *s = f->series; rc == 0 && s; s = s->next) {
                for (size_t qi = 0; rc == 0 && qi < sizeof quantiles / sizeof quantiles[0];
                     qi++) {
                    char ql[48];
                    snprintf(ql, sizeof ql, "quantile=\"%g\"", quantiles[qi]);
                    rc = append_series_name(out, f->name, "_quantile", s->labels, ql);
                    if (rc == 0)
                        rc = append_number(out, metrics_histogram_quantile(&s->u.hist,
                                                                           quantiles[qi]));
                    if (rc == 0)
                        rc = spate_buf_append(out, "\n", 1);
                }
            }
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return rc == 0 ? 0 : SPATE_ENOMEM;
}

struct metrics_server {
    struct MHD_Daemon *daemon;
    struct metrics_registry *reg;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
    struct metrics_server *srv = cls;
    struct MHD_Response *resp;
    unsigned int status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "method not allowed\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg,
                                               MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") == 0) {
        struct spate_buf b = {0};
        if (metrics_render(srv->reg, &b) != 0) {
            spate_buf_free(&b);
            return MHD_NO;
        }
        resp = MHD_create_response_from_buffer(b.len, b.data ? b.data : (char *)"",
                                               b.data ? MHD_RESPMEM_MUST_FREE
                                                      : MHD_RESPMEM_PERSISTENT);
        if (!resp) {
            spate_buf_free(&b);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    } else if (strcmp(url, "/healthz") == 0) {
        static const char ok[] = "ok\n";
        resp = MHD_create_response_from_buffer(sizeof ok - 1, (void *)ok,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        static const char nf[] = "not found\n";
        resp = MHD_create_response_from_buffer(sizeof nf - 1, (void *)nf,
                                               MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    }
    if (!resp)
        return MHD_NO;
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

int metrics_server_start(struct metrics_registry *reg, const char *listen, int port,
                         struct metrics_server **out)
{
    *out = NULL;
    if (!reg || port <= 0 || port > 65535)
        return SPATE_EINVAL;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, listen && *listen ? listen : "127.0.0.1", &sa.sin_addr) != 1)
        return SPATE_EINVAL;
    struct metrics_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return SPATE_ENOMEM;
    srv->reg = reg;
    errno = 0;
    srv->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
                                   (uint16_t)port, NULL, NULL, answer, srv,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                                   MHD_OPTION_END);
    if (!srv->daemon) {
        int e = errno;
        free(srv);
        return e == EADDRINUSE ? SPATE_EADDRINUSE : SPATE_ESYS;
    }
    *out = srv;
    return 0;
}

void metrics_server_stop(struct metrics_server *srv)
{
    if (!srv)
        return;
    MHD_stop_daemon(srv->daemon);
    free(srv);
}

int metrics_label_append(struct spate_buf *out, const char *key, const char *value)
{
    int rc = spate_buf_appendf(out, "%s%s=\"", out->len ? "," : "", key);
    for (const char *p = value; *p && rc == 0; p++) {
        if (*p == '\\')
            rc = spate_buf_append(out, "\\\\", 2);
        else if (*p == '"')
            rc = spate_buf_append(out, "\\\"", 2);
        else if (*p == '\n')
            rc = spate_buf_append(out, "\\n", 2);
        else
            rc = spate_buf_append(out, p, 1);
    }
    return rc ? rc : spate_buf_append(out, "\"", 1);
}
