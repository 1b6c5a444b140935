/* SPDX-License-Identifier: Apache-2.0 */
/* serve_internal.h -- what the serve files share: the Prometheus reader, the pipeline sampler,
 * the embedded dashboard assets and the HTTP router. */
#ifndef SPATE_SERVE_INTERNAL_H
#define SPATE_SERVE_INTERNAL_H

#include "spate/config.h"
#include "spate/metrics.h"
#include "spate/serve.h"
#include "spate/util.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Prometheus text format (pure) ------------------------------------------------------ */

#define SERVE_PROM_MAX_SAMPLES 100000

struct serve_prom_sample {
    char *name;
    char *labels; /* raw text between the braces, "" when none */
    double value;
};

struct serve_prom {
    struct serve_prom_sample *s;
    size_t n, cap;
};

/* Parses an exposition; 0 and *out (free with serve__prom_free) or SPATE_EPARSE
 * (then *out is empty). Comments and TYPE/HELP lines are skipped. */
int serve__prom_parse(const char *text, size_t len, struct serve_prom *out);
void serve__prom_free(struct serve_prom *p);
/* Value of label key in a raw label list into out. 0 or SPATE_ENOTFOUND. */
int serve__prom_label(const char *labels, const char *key, char *out, size_t size);
/* Sum of every sample named name whose labels contain every pair of filter
 * (`stage="sink",kind="x"`, NULL = all). *found = 1 when at least one matched. */
double serve__prom_sum(const struct serve_prom *p, const char *name, const char *filter,
                       int *found);
/* First sample name that starts with prefix, ends with suffix and contains one
 * of needles (NULL-terminated) in between; NULL when none. Borrowed from p. */
const char *serve__prom_find_name(const struct serve_prom *p, const char *prefix,
                                  const char *const *needles, const char *suffix);

#define SERVE_HIST_MAX 48
/* A histogram family summed over its label sets: ascending bounds (the last
 * may be +Inf) and cumulative counts. */
struct serve_hist {
    size_t n;
    double bounds[SERVE_HIST_MAX];
    double cum[SERVE_HIST_MAX];
};
/* Reads family (without "_bucket"). 0, SPATE_ENOTFOUND, SPATE_ETOOBIG or SPATE_EPARSE (a
 * bound that is no number, a count that is negative or not finite); on error *h is empty. */
int serve__prom_histogram(const struct serve_prom *p, const char *family, struct serve_hist *h);
/* The same over the label sets that contain label (e.g. `hop="sink"`). */
int serve__prom_histogram_where(const struct serve_prom *p, const char *family,
                                const char *label, struct serve_hist *h);
/* Quantile q of the observations made between before and now (before NULL =
 * since the start); *count = how many. 0 when none. */
double serve__hist_quantile(const struct serve_hist *now, const struct serve_hist *before,
                            double q, uint64_t *count);

/* ---- pipeline sampler ------------------------------------------------------------------- */

/* One sample of the pipeline. Values < 0 are unknown (shown as null). */
struct serve_sample {
    int64_t t_ms;
    /* running totals */
    double fetched;     /* ingest: records fetched from the source (its metrics) */
    double raw;         /* records in the raw topic (sum of end offsets) */
    double clean;       /* records in the clean topic */
    double stored;      /* sink: rows acknowledged by Cassandra (metrics, else committed offsets) */
    double dlq;         /* records in the DLQ topic */
    double dlq_ingest, dlq_process, dlq_sink;
    /* 1: the three above were counted from the DLQ records' spate.stage
     * header, exact whichever stage is running; 0: from the stages' metrics */
    int dlq_counted;
    /* per second over the last interval */
    double r_ingest, r_process, r_sink, r_dlq;
    /* end-to-end latency over the last interval, ms */
    double p50, p90, p99;
    /* the same split by hop (SERVE_HOPS: ingest, process, sink), ms */
#define SERVE_HOPS 3
    double hop_p50[SERVE_HOPS], hop_p99[SERVE_HOPS];
    double lat_count;
    /* consumer lag of the sink group on the clean topic, records */
    double lag;
    /* raw-topic records the Spark queries have not finished (from the checkpoint) */
    double lag_spark;
    /* ingest producer queue depth */
    double queue;
    int ingest_up, sink_up, kafka_up;
    /* sink: tables refusing its writes (consumption paused for them), named
     * "ks.table (reason)", and poison records whose DLQ write keeps failing */
    double sink_blocked;
    char sink_blocked_by[256];
    double sink_dlq_stuck;
};

struct serve_pipeline;

/* Starts the sampler thread (interval_ms, history samples kept). kafka = 0
 * leaves topic offsets and lag out. 0 or SPATE_ENOMEM / SPATE_ESYS. */
int serve__pipeline_start(const struct spate_config *cfg, int interval_ms, int history, int kafka,
                          struct serve_pipeline **out);
void serve__pipeline_stop(struct serve_pipeline *p);
/* Appends the /api/pipeline JSON: the latest sample, source states and the
 * history newer than since_ms. */
int serve__pipeline_json(struct serve_pipeline *p, int64_t since_ms, struct spate_buf *out);
/* Renders one sample as a JSON object (pure, for tests). */
int serve__sample_json(const struct serve_sample *s, struct spate_buf *out);
/* Computes the derived fields of cur (rates, per-stage DLQ) from prev (pure). */
void serve__sample_derive(struct serve_sample *cur, const struct serve_sample *prev);
/* 1 when nothing moved from prev to cur and nothing waits in a topic or a
 * queue: the pipeline is idle and the sampler may slow down (pure). */
int serve__sample_idle(const struct serve_sample *cur, const struct serve_sample *prev);
/* Reads the stage metrics of one scrape into s (pure). ingest=1 for the
 * ingest exposition, 0 for the sink's. Latency histograms are kept in *hist. */
void serve__sample_from_ingest(struct serve_sample *s, const struct serve_prom *p);
void serve__sample_from_sink(struct serve_sample *s, const struct serve_prom *p,
                             const char *keyspace, struct serve_hist *hist);
/* The same for the stored rows of another table than users (a pipeline of
 * `spate init`). */
void serve__sample_from_sink_table(struct serve_sample *s, const struct serve_prom *p,
                                   const char *keyspace, const char *table,
                                   struct serve_hist *hist);

/* The sink's per-hop histograms of one scrape (pure); a hop it does not
 * report is left with n = 0. */
void serve__sample_hops(const struct serve_prom *p, struct serve_hist hops[SERVE_HOPS]);
extern const char *const serve_hop_names[SERVE_HOPS];

/* The stage a DLQ record names: its header spate.stage (header may be NULL),
 * else the "stage" field of its JSON value (pure). */
enum serve_dlq_stage { SERVE_DLQ_INGEST, SERVE_DLQ_PROCESS, SERVE_DLQ_SINK, SERVE_DLQ_OTHER };
enum serve_dlq_stage serve__dlq_stage(const void *header, size_t hlen, const void *value,
                                      size_t vlen);

/* Sum of the offsets of topic in a Spark offset-log file (pure). 0 or SPATE_ENOTFOUND. */
int serve__spark_offsets_parse(const char *text, size_t len, const char *topic, double *sum);

/* ---- embedded assets -------------------------------------------------------------------- */

struct serve_asset {
    const char *path;         /* "/", "/dashboard.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};
/* Generated at build time from src/serve/assets/ (see CMakeLists.txt). */
extern const struct serve_asset serve__assets[];
extern const size_t serve__asset_count;
const struct serve_asset *serve__asset_find(const char *path);

/* ---- HTTP routing (pure parts) --------------------------------------------------------- */

enum serve_route {
    SERVE_R_NOT_FOUND = 0,
    SERVE_R_ASSET,
    SERVE_R_HEALTH,
    SERVE_R_METRICS,
    SERVE_R_USER,     /* /api/users/{id} */
    SERVE_R_USERS,    /* /api/users */
    SERVE_R_STATS,
    SERVE_R_REJECTS,
    SERVE_R_PIPELINE,
    SERVE_R_COUNT,
};
/* Route of a path; for SERVE_R_USER *arg points at the id in path. */
enum serve_route serve__route(const char *path, const char **arg);
const char *serve__route_name(enum serve_route r);

/* ---- who may read (pure) ---------------------------------------------------------------- */

/* 1 when a request with this Host header (NULL = none) may be answered: an IP
 * literal, localhost, the listen address, or a name of allowed. Anything else
 * is a browser sent here by a name the attacker controls (DNS rebinding). */
int serve__host_allowed(const char *host, const char *listen,
                        const struct spate_strlist *allowed);
/* 1 when token is NULL or "" (none configured) or the Authorization header
 * is "Bearer <token>"; compared in constant time. */
int serve__bearer_ok(const char *authorization, const char *token);

/* Appends {"error":{"status":N,"message":"..."}}. */
int serve__json_error(struct spate_buf *out, int status, const char *message);

#endif
