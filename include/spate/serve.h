/* SPDX-License-Identifier: Apache-2.0 */
/* serve.h -- `spate serve`: read-only REST API over Cassandra, the dashboard, /metrics, and the
 * store queries `spate query` shares with it. */
#ifndef SPATE_SERVE_H
#define SPATE_SERVE_H

#include "spate/config.h"
#include "spate/util.h"

#include <stddef.h>
#include <stdint.h>

/* ---- store: the four query patterns of DESIGN.md, answered as JSON ------------------ */

/* A small pool of CQL sessions (one per concurrent request at most), each
 * guarded by a mutex, connected lazily: a store opened while Cassandra is down
 * works as soon as it comes back. Every query is a prepared statement with
 * bound values. */
struct serve_store;

/* Limits the API enforces (400 outside them). */
#define SERVE_LIMIT_DEFAULT 50
#define SERVE_LIMIT_MAX 1000
#define SERVE_STATS_MAX_RANGE_MS (7LL * 24 * 3600 * 1000) /* one week of minutes */

/* Creates a store for the cassandra section of cfg (cfg must outlive it).
 * pool_size sessions at most (1..16). Never connects here. Returns 0 and
 * *out (free with serve_store_close) or SPATE_ENOMEM / SPATE_EINVAL. */
int serve_store_open(const struct spate_config *cfg, int pool_size, struct serve_store **out);
void serve_store_close(struct serve_store *st);
/* 1 when the last attempt to reach Cassandra succeeded. */
int serve_store_up(struct serve_store *st);
/* Lists (latest users, rejects) stop adding rows before out passes max_bytes
 * and say "truncated":true; 0 = no bound (the default). */
void serve_store_set_max_bytes(struct serve_store *st, size_t max_bytes);

/* Each query appends one JSON object to out and returns 0, or returns a code
 * with a one-line message in err:
 *   SPATE_ENOTFOUND      no such user (serve_store_user only)
 *   SPATE_EUNAVAILABLE   Cassandra unreachable (HTTP 503)
 *   anything else        the query failed (HTTP 500)
 * Shapes:
 *   user     {"user":{column:value,...}}
 *   latest   {"nationality":"DE"|null,"count":N,"users":[{...},...]}  newest first
 *   stats    {"from":"..","to":"..","nationality":..,"total":N,
 *             "by_gender":{"female":N,..},"by_nationality":{"DE":N,..},
 *             "minutes":[{"t":"..","signups":N},...]}
 *   rejects  {"day":"YYYY-MM-DD","total":M,"count":N,"by_stage":{..},"rejects":[{...},...]}
 *            total: the day's rejects; count, by_stage and rejects: the N newest of them
 *            that the limit let through */
int serve_store_user(struct serve_store *st, const uint8_t id[16], struct spate_buf *out,
                     char *err, size_t errlen);
/* nationality NULL = every nationality the store knows (merged, newest first). */
int serve_store_latest(struct serve_store *st, const char *nationality, int limit,
                       struct spate_buf *out, char *err, size_t errlen);
int serve_store_stats(struct serve_store *st, int64_t from_ms, int64_t to_ms,
                      const char *nationality, struct spate_buf *out, char *err, size_t errlen);
/* day: days since 1970-01-01 (UTC). */
int serve_store_rejects(struct serve_store *st, int32_t day, int limit, struct spate_buf *out,
                        char *err, size_t errlen);

/* ---- input validation (pure; used by the HTTP handlers and `spate query`) ------------ */

/* "123e4567-e89b-12d3-a456-426614174000" (any case) -> 16 bytes. 0 or SPATE_EINVAL. */
int serve_parse_uuid(const char *s, uint8_t out[16]);
/* Two ASCII letters, uppercased into out[3]. 0 or SPATE_EINVAL. */
int serve_parse_nationality(const char *s, char out[3]);
/* Decimal integer in [min, max]; s NULL or "" gives def. 0 or SPATE_EINVAL / SPATE_ERANGE. */
int serve_parse_limit(const char *s, int def, int min, int max, int *out);
/* A point in time as ms since the epoch:
 *   "2026-11-25T15:04:05Z", "2026-11-25T15:04:05.123Z", "2026-11-25T15:04Z",
 *   "2026-11-25T15:04:05+01:00", "2026-11-25" (00:00 UTC),
 *   "now", "-15m" / "now-15m" (relative to now_ms), or a bare integer of ms.
 * 0 or SPATE_EINVAL. */
int serve_parse_time(const char *s, int64_t now_ms, int64_t *out_ms);
/* "YYYY-MM-DD" -> days since 1970-01-01; "today"/"yesterday" relative to now_ms. */
int serve_parse_day(const char *s, int64_t now_ms, int32_t *out_days);
/* from/to as above, defaults from = to - 1h, to = now; checks from < to and the
 * span is at most max_span_ms. On error writes the reason for a 400 into err. */
int serve_parse_range(const char *from, const char *to, int64_t now_ms, int64_t max_span_ms,
                      int64_t *from_ms, int64_t *to_ms, char *err, size_t errlen);
/* ms since the epoch -> "2026-11-25T15:04:05.123Z" (buf >= 25 bytes). Returns buf. */
char *serve_format_time(int64_t ms, char *buf, size_t size);
/* days since the epoch -> "2026-11-25" (buf >= 11). Returns buf. */
char *serve_format_day(int32_t days, char *buf, size_t size);
/* Appends s as a JSON string (with quotes), escaping as RFC 8259 asks. */
int serve_json_string(struct spate_buf *out, const char *s, size_t len);

/* ---- the server ------------------------------------------------------------------------ */

struct serve_options {
    const char *listen;     /* NULL = cfg serve.listen (127.0.0.1): API and dashboard */
    int port;               /* -1 = cfg serve.port; 0 = any free port */
    const char *metrics_listen; /* NULL = cfg metrics.listen (127.0.0.1): /metrics */
    int metrics_port;       /* -1 = cfg metrics.serve_port; 0 = any free port. The same
                             * address and port as the API: one listener serves both */
    const char *token;      /* NULL = cfg serve.token, else SPATE_SERVE_TOKEN */
    int threads;            /* Cassandra workers and sessions, 0 = 4 */
    int sample_interval_ms; /* pipeline sampler period, 0 = 1000 */
    int history;            /* samples kept for the charts, 0 = 600 */
    int kafka;              /* 1 = read topic offsets and consumer lag from Kafka */
};
void serve_options_init(struct serve_options *o);

struct serve_server;

/* Binds, starts the HTTP worker threads and the pipeline sampler; returns at
 * once. *out is freed with serve_stop(). Returns 0, SPATE_EADDRINUSE,
 * SPATE_EINVAL or SPATE_ESYS with a message in err. cfg must outlive the
 * server. */
int serve_start(const struct spate_config *cfg, const struct serve_options *opt,
                struct serve_server **out, char *err, size_t errlen);
/* The bound ports (useful with port 0). */
int serve_port(const struct serve_server *s);
int serve_metrics_port(const struct serve_server *s);
/* 1 when /api/ needs a bearer token. */
int serve_has_token(const struct serve_server *s);
/* Stops accepting, joins every thread, closes sessions and frees s. NULL-safe. */
void serve_stop(struct serve_server *s);

#endif
