/* SPDX-License-Identifier: Apache-2.0 */
/* ingest_internal.h -- pure parts of ingest: backoff, rate limit, pagination, URLs, headers. */
#ifndef SPATE_INGEST_INTERNAL_H
#define SPATE_INGEST_INTERNAL_H

#include "spate/config.h"
#include "spate/util.h"

#include <stddef.h>
#include <stdint.h>

/* ---- token bucket ----------------------------------------------------- */

/* rate <= 0 means unlimited. Tokens refill continuously up to burst. A pause
 * (from Retry-After) blocks every take until it passes. The adaptive part:
 * on 429 the rate is halved from what was really achieved; each success
 * raises it by 2% (at least 0.5/s) until the configured ceiling (or, for an
 * unlimited source, until it is unlimited again past 1e6/s). */
struct ingest_bucket {
    double rate;       /* current requests/s, <= 0 unlimited */
    double ceiling;    /* configured rate, <= 0 unlimited */
    double burst;
    double tokens;
    int64_t last_us;
    int64_t paused_until_us;
};
void ingest__bucket_init(struct ingest_bucket *b, double rate, int64_t now_us);
/* 0 when a token was taken, else microseconds until one is available. */
int64_t ingest__bucket_take(struct ingest_bucket *b, int64_t now_us);
/* A 429: pause for retry_after_ms (0 = none given) and halve the rate from
 * observed_rate (requests/s completed recently; used when unlimited). */
void ingest__bucket_on_throttle(struct ingest_bucket *b, int64_t now_us, int64_t retry_after_ms,
                                double observed_rate);
void ingest__bucket_on_success(struct ingest_bucket *b);

/* ---- HTTP response headers -------------------------------------------- */

/* Retry-After value: delta-seconds or an HTTP-date. Returns the delay in ms,
 * clamped to [0, max_ms] in both forms, or -1 when unparseable. now_wall_ms
 * is used for dates. */
int64_t ingest__parse_retry_after(const char *value, int64_t now_wall_ms, int64_t max_ms);

/* From one Link header value, copy the target of rel="next" into out.
 * Returns 0, SPATE_ENOTFOUND or SPATE_ETOOBIG. */
int ingest__parse_link_next(const char *value, char *out, size_t outlen);

/* ---- URL and request headers ------------------------------------------ */

/* Percent-encode s for a query component (RFC 3986 unreserved kept). */
int ingest__url_encode(struct spate_buf *out, const char *s);

/* Build the request URL: {page} {cursor} {batch} {seed} substituted in the
 * template and in params values (encoded), params appended as a query, and
 * the page (style page) or cursor (style cursor) parameter appended when the
 * template has no placeholder for it; likewise batch_param=batch and
 * seed=seed (seed NULL = none). cursor may be NULL (first page). For
 * style link, a non-NULL cursor is the full next URL and is returned as is.
 * Returns 0 or SPATE_ENOMEM. */
int ingest__build_url(const struct spate_source_config *src, int64_t page, const char *cursor,
                      int batch, const char *seed, struct spate_buf *out);

/* "Name: value" lines for the request: configured headers (only when
 * source_headers is 1: never to another origin), then X-Request-Id. *out is
 * an array of count malloc'd strings (free with ingest__free_lines). Values
 * are never logged by callers. */
int ingest__request_header_lines(const struct spate_source_config *src, const char *request_id,
                                 int source_headers, char ***out, size_t *count);

/* ---- where a source may send requests ------------------------------------
 * A source's origin is the scheme, host and port of its url. A Link
 * rel="next" target, a redirect or a saved cursor URL is followed only
 * within that origin, or to a host the source lists in allow_hosts; the
 * configured headers (Authorization, API keys) go to the source's origin
 * only, so an API (or anything that can write its Link headers) cannot
 * send them, or the request, to 169.254.169.254. */

/* "scheme://host:port" of url (lower case, default port filled in) into
 * out. 0 or SPATE_EINVAL (not an absolute http(s) URL). */
int ingest__url_origin(const char *url, char *out, size_t outlen);
/* May a request for the source of origin go to url? 0: same origin;
 * 1: another origin on a host of allow (without the source's headers);
 * SPATE_EPERM: refused; SPATE_EINVAL: not an http(s) URL. url's host goes
 * into host (may be NULL) for the message. */
int ingest__url_check(const char *origin, const char *url, const struct spate_strlist *allow,
                      char *host, size_t hostlen);
void ingest__free_lines(char **lines, size_t count);

/* The Kafka headers of a produced record. */
struct ingest_kheader {
    const char *name;
    const char *value;
};
#define INGEST_RECORD_HEADERS 3
/* Fills h[0..2] with spate.source, spate.fetched_at, spate.request_id.
 * fetched_at_buf (>= 24 bytes) holds the decimal timestamp. */
void ingest__record_headers(struct ingest_kheader *h, const char *source, int64_t fetched_at_ms,
                            char *fetched_at_buf, size_t buflen, const char *request_id);

/* Upper bound of the bytes a message adds to its value in librdkafka's
 * size check against message.max.bytes: the per-record framing of the v2
 * format, the key and the serialised headers. A value of at most
 * message.max.bytes minus this is never refused as too large. */
size_t ingest__kafka_overhead(size_t klen, const struct ingest_kheader *h, size_t nh);

/* The most of a value of vlen bytes that fits in a message under
 * message_max with this overhead (0 when nothing fits). */
size_t ingest__fit_value(size_t vlen, int64_t message_max, size_t overhead);

/* ---- pagination and resume state -------------------------------------- */

enum ingest_style { INGEST_STYLE_NONE, INGEST_STYLE_PAGE, INGEST_STYLE_CURSOR, INGEST_STYLE_LINK };
int ingest__style_parse(const char *s, enum ingest_style *out);

/* One request position and its progress. An entry is complete when its
 * response was processed (not awaiting a retry) and every record produced
 * from it was acknowledged by Kafka. */
struct ingest_entry {
    struct ingest_entry *next;
    uint64_t seq;
    int64_t page;    /* style page */
    char *cursor;    /* style cursor/link: position of this request, NULL = first */
    int processing;  /* request in flight, waiting for retry, or being produced */
    int64_t pending; /* produced messages not yet acknowledged */
    int failed;      /* a delivery failed: never complete, state stays before it */
    int64_t skip_records; /* style page: leading records produced by an earlier fetch */
    void *owner;     /* the engine's source; the pager never touches it */
    /* The response body its produced records point into (they are produced
     * without a copy), kept until their last delivery report; the engine
     * fills and recycles it, the pager only frees it with the entry. */
    struct spate_buf body;
    size_t body_counted; /* bytes of body in the engine's bound on response bodies */
    /* spate.fetched_at of its records (epoch ms; 0 = none yet). Kept in the
     * resume state until the entry completes, so that the same position
     * fetched again after a crash stamps its records as the first fetch did
     * and every row keyed by that time is the same row again. */
    int64_t stamp;
};

/* A stamp read from the state file, for a position not issued again yet. */
struct ingest_stamp {
    int64_t page;  /* style page */
    char *cursor;  /* style cursor/link: NULL = the first request */
    int64_t ms;
    int64_t first; /* style page: the records before this index carry older stamps */
};

struct ingest_pager {
    enum ingest_style style;
    int64_t start_page;
    int64_t max_pages;   /* 0 = unbounded */
    int64_t next_page;   /* style page: next page number to issue */
    int64_t *skip;       /* style page: pages already completed (sorted) */
    size_t nskip;
    char *next_cursor;   /* cursor/link: position of the next request */
    int have_next;       /* cursor/link: next position known */
    int busy;            /* cursor/link: a request is outstanding */
    int done;            /* end of data reached */
    int stopped;         /* a request gave up: nothing more is issued, the state stays at it */
    int64_t end_page;    /* style page: lowest page found empty (resume there) */
    int64_t tail_page;   /* style page: highest page that held records (0 = none) */
    int64_t tail_count;  /* ... and how many it held */
    int64_t refetch_page;  /* style page, following: this page is fetched again ... */
    int64_t refetch_skip;  /* ... and its first refetch_skip records are not produced */
    uint64_t next_seq;
    struct ingest_entry *head, *tail; /* issued, not yet complete, by seq */
    struct ingest_stamp *stamps; /* from the state file, not yet claimed by an issue */
    size_t nstamps;
    int dirty;           /* state changed since last save */
};

void ingest__pager_init(struct ingest_pager *pg, enum ingest_style style, int64_t start_page,
                        int64_t max_pages);
void ingest__pager_free(struct ingest_pager *pg);
/* Restore from a state text (from ingest__pager_state). SPATE_EPARSE on bad
 * text or a different style, with "line N: what" in err (may be NULL).
 * A state written before stamps existed (no stamp lines) loads as it did. */
int ingest__pager_load(struct ingest_pager *pg, const char *text, char *err, size_t errlen);
/* May a new request be issued now? */
int ingest__pager_can_issue(const struct ingest_pager *pg);
/* Issue the next position: a new entry (owned by the pager) or NULL on
 * no memory. Only call when can_issue. A position whose stamp came from the
 * state file gets it back (and, for a page, its skip_records). */
struct ingest_entry *ingest__pager_issue(struct ingest_pager *pg);
/* A response was processed for e: nrecords in it; next is the cursor or
 * next URL found (NULL = none: the end for cursor/link). For page style,
 * an empty page is the end. */
int ingest__pager_response(struct ingest_pager *pg, struct ingest_entry *e, size_t nrecords,
                           const char *next);
/* The records of e are about to be produced: give e its stamp (now_ms when
 * it has none). Returns 1 when the stamp is new, and then its line
 * (ingest__pager_stamp_line) must reach the state file before the first of
 * them is produced: a crash after that point finds the stamp on disk. 0
 * when e was stamped already (by the state file or before), and for style
 * none, which has no position to fetch again. */
int ingest__pager_stamp(struct ingest_pager *pg, struct ingest_entry *e, int64_t now_ms);
/* Append e's "stamp ..." line to out. Appended to a state file (after its
 * last line), it makes a valid state with that stamp: a later line for the
 * same position replaces an earlier one, and a stamp of a position the state
 * counts as complete is never used. 0 or SPATE_ENOMEM. */
int ingest__pager_stamp_line(const struct ingest_pager *pg, const struct ingest_entry *e,
                             struct spate_buf *out);
/* Page style at the end of the data with nothing open: start over where new
 * records will appear, the last page again when it held fewer than batch
 * records (skipping those already produced), else the first empty page. */
void ingest__pager_follow(struct ingest_pager *pg, int batch);
/* A request gave up (retries exhausted, a permanent error): nothing more is
 * issued and the saved state stays at e's position, whatever the style, so
 * its records are fetched by a later run instead of being skipped. */
void ingest__pager_abandon(struct ingest_pager *pg, struct ingest_entry *e);
/* Call after e->processing or e->pending changed: pops (and frees) complete
 * entries from the head, e included when it is complete; do not use e after. */
void ingest__pager_settle(struct ingest_pager *pg, struct ingest_entry *e);
/* Serialise the resume position into out. */
int ingest__pager_state(const struct ingest_pager *pg, struct spate_buf *out);
/* Number of entries not yet complete. */
size_t ingest__pager_open(const struct ingest_pager *pg);

/* Write data to path atomically: path.tmp, rename. durable adds an fsync of
 * the file before and of its directory after the rename (survives a power
 * loss); without it the write survives a crash of the process only.
 * Returns 0 or SPATE_ESYS. */
int ingest__write_atomic(const char *path, const char *data, size_t len, int durable);

#endif
