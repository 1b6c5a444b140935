/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.h -- counters, gauges and fixed-bucket histograms in Prometheus text format. */
#ifndef SPATE_METRICS_H
#define SPATE_METRICS_H

#include "spate/util.h"

#include <stddef.h>
#include <stdint.h>

/* A registry owns every series registered in it. Registration takes a mutex
 * (do it at start-up, or cache the returned pointer); updates are lock-free
 * atomics, so hot paths may update from any thread. Series pointers stay
 * valid until metrics_registry_free(). */
struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;
struct metrics_server;

/* Returns a new empty registry (caller frees with metrics_registry_free) or
 * NULL when out of memory. */
struct metrics_registry *metrics_registry_new(void);
/* Frees the registry and every series in it. Stop servers using it first. */
void metrics_registry_free(struct metrics_registry *reg);

/* Register (or find, when name+labels is already registered) a series.
 *   name   Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)
 *   help   one-line description (used once per name)
 *   labels NULL or a label list without braces: `status="200",source="users"`
 * Returns the series (owned by the registry) or NULL on bad name, a name
 * registered with another type, or no memory. */
struct metrics_counter *metrics_counter(struct metrics_registry *reg, const char *name,
                                        const char *help, const char *labels);
struct metrics_gauge *metrics_gauge(struct metrics_registry *reg, const char *name,
                                    const char *help, const char *labels);
/* bounds: ascending upper bounds (the +Inf bucket is implicit), copied.
 * A histogram found by name+labels keeps the bounds it was created with. */
struct metrics_histogram *metrics_histogram(struct metrics_registry *reg, const char *name,
                                            const char *help, const char *labels,
                                            const double *bounds, size_t nbounds);

/* Appends the label pair key="value" to out, escaping value as the text
 * format asks (backslash, double quote and newline), so a source or table name
 * from the config cannot break the exposition or forge other series.
 * 0 or SPATE_ENOMEM. */
int metrics_label_append(struct spate_buf *out, const char *key, const char *value);

/* Latency buckets in seconds, 100 us .. 60 s, roughly 1-2.5-5 per decade. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

/* Updates; all accept NULL (a series that failed to register) as a no-op. */
void metrics_counter_add(struct metrics_counter *c, uint64_t n);
static inline void metrics_counter_inc(struct metrics_counter *c) { metrics_counter_add(c, 1); }
uint64_t metrics_counter_value(const struct metrics_counter *c);

void metrics_gauge_set(struct metrics_gauge *g, double v);
void metrics_gauge_add(struct metrics_gauge *g, double delta);
double metrics_gauge_value(const struct metrics_gauge *g);

void metrics_histogram_observe(struct metrics_histogram *h, double v);
uint64_t metrics_histogram_count(const struct metrics_histogram *h);
double metrics_histogram_sum(const struct metrics_histogram *h);
/* Estimate quantile q (0..1) by linear interpolation inside the bucket that
 * holds the rank (Prometheus histogram_quantile). Observations in the +Inf
 * bucket are reported as the highest finite bound. 0 when empty. */
double metrics_histogram_quantile(const struct metrics_histogram *h, double q);

/* Pure estimator behind metrics_histogram_quantile, exposed for tests:
 * counts[i] is the (non-cumulative) count of bucket i, nbounds+1 entries. */
double metrics_quantile_from_buckets(const double *bounds, size_t nbounds,
                                     const uint64_t *counts, double q);

/* Append the whole registry in Prometheus text exposition format 0.0.4.
 * Histograms also get a gauge family NAME_quantile{quantile="0.5|0.9|0.99|0.999"}
 * with the estimates. Returns 0 or SPATE_ENOMEM. */
int metrics_render(struct metrics_registry *reg, struct spate_buf *out);

/* Serve GET /metrics (and GET /healthz -> "ok") on listen:port from a
 * background thread (libmicrohttpd). port 0 is rejected: callers skip the
 * server when their port setting is 0. On success *out is the server, freed
 * with metrics_server_stop(). Returns 0, SPATE_EINVAL (bad address or port),
 * SPATE_EADDRINUSE or SPATE_ESYS. */
int metrics_server_start(struct metrics_registry *reg, const char *listen, int port,
                         struct metrics_server **out);
/* Stops the thread and frees the server; NULL is a no-op. */
void metrics_server_stop(struct metrics_server *srv);

#endif
