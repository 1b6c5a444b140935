/* SPDX-License-Identifier: Apache-2.0 */
/* apisim.h -- an offline randomuser.me-compatible API with deterministic fault injection. */
#ifndef SPATE_APISIM_H
#define SPATE_APISIM_H

#include "spate/util.h"

#include <stddef.h>
#include <stdint.h>

/* Hard bounds on what one request may ask for (the real API caps results at 5000 too). */
#define APISIM_MAX_RESULTS 5000
#define APISIM_MAX_SEED_LEN 64
#define APISIM_MAX_PAGE 1000000000000LL /* 1e12: keeps page << 13 | index in 62 bits */
#define APISIM_VERSION "1.4"
/* Ages in dob/registered are computed against this fixed instant (2026-01-01T00:00:00Z),
 * not the wall clock, so the same (seed, page) gives the same bytes on every day. */
#define APISIM_REF_EPOCH 1767225600LL

/* ---- request-level faults --------------------------------------------------------- */

/* What happens to a whole response. Decided before the body is built. */
#define APISIM_FAULT_MAP(XX)                                                        \
    XX(NONE, "none")           /* 200, valid body */                                 \
    XX(SERVER, "5xx")          /* 500/502/503 with a small JSON error body */        \
    XX(RATELIMIT, "429")       /* 429 with Retry-After: <seconds> */                 \
    XX(MALFORMED, "malformed") /* 200, body that is not valid JSON */                \
    XX(TRUNCATED, "truncated") /* 200, body cut short; Content-Length matches it */  \
    XX(RESET, "reset")         /* 200, full Content-Length announced, connection     \
                                  closed after half of it */

enum apisim_fault {
#define APISIM_FAULT_ENUM(name, str) APISIM_FAULT_##name,
    APISIM_FAULT_MAP(APISIM_FAULT_ENUM)
#undef APISIM_FAULT_ENUM
    APISIM_FAULT_COUNT
};

/* What happens to one record inside a good (200, valid JSON) response. */
#define APISIM_RECFAULT_MAP(XX)                                                      \
    XX(NONE, "none")                                                                 \
    XX(MISSING, "missing")     /* a required field is absent (see apisim_record_fault) */ \
    XX(WRONGTYPE, "wrongtype") /* a field has the wrong JSON type */

enum apisim_recfault {
#define APISIM_RECFAULT_ENUM(name, str) APISIM_RECFAULT_##name,
    APISIM_RECFAULT_MAP(APISIM_RECFAULT_ENUM)
#undef APISIM_RECFAULT_ENUM
    APISIM_RECFAULT_COUNT
};

/* "none", "5xx", ... ; never NULL. */
const char *apisim_fault_name(enum apisim_fault f);
const char *apisim_recfault_name(enum apisim_recfault f);
/* Parse a fault name as printed by apisim_fault_name(); 0 or SPATE_EINVAL. */
int apisim_fault_parse(const char *name, enum apisim_fault *out);

/* Fault shares (each in [0,1]) and shapes. Request-level shares are taken in the order
 * 5xx, 429, malformed, truncated, reset from one uniform draw, so their sum must be <= 1.
 * Record-level shares likewise (missing, then wrongtype). */
struct apisim_faults {
    uint64_t seed;        /* the fault seed: same seed, same decisions */
    double p_5xx;
    double p_429;
    double p_malformed;
    double p_truncated;
    double p_reset;
    double p_missing;
    double p_wrongtype;
    /* Share of records whose login.uuid is served the way real APIs do: repeated
     * (the key of the previous record of the page, or of the same record of the
     * previous page), in upper case, or padded with blanks. Independent of the
     * record faults above; see apisim_served_uuid(). */
    double p_messy_keys;
    /* Share of records whose name.first carries text a JSON parser may not keep as
     * served: a lone UTF-16 surrogate escape ("Ann\ud800") or a byte that is not
     * UTF-8 (0xff), half each. Independent of the faults above. */
    double p_bad_text;
    int retry_after_s;    /* Retry-After value of a 429 */
    int latency_ms;       /* added to every request */
    int jitter_ms;        /* plus a uniform 0..jitter_ms, decided per request */
};

/* Parse a share: "0.1" or "10%", in [0,1]. 0 or SPATE_EINVAL. */
int apisim_parse_share(const char *s, double *out);

/* 0 if every share is in [0,1], the sums are <= 1 and the durations are sane;
 * otherwise SPATE_EINVAL with a message in err. */
int apisim_faults_validate(const struct apisim_faults *f, char *err, size_t errlen);

/* The fate of the attempt-th request (0 = first) for (seed, page). The server counts
 * attempts per (seed, page) itself, so a client retrying a failed page eventually gets
 * it, and a test can replay the exact sequence: attempt n of a page always meets the
 * same fault whatever the order or concurrency of the requests. */
enum apisim_fault apisim_request_fault(const struct apisim_faults *f, const char *seed,
                                       int64_t page, uint32_t attempt);
/* Added latency in ms for that attempt (latency_ms + jitter). */
int apisim_request_latency_ms(const struct apisim_faults *f, const char *seed, int64_t page,
                              uint32_t attempt);

/* The fate of record index (0-based) of (seed, page). It does not depend on the attempt:
 * a bad record stays bad on every retry. When field is not NULL it receives the dotted
 * path of the damaged field ("login.uuid", "dob.age", ...) or "" for NONE. */
enum apisim_recfault apisim_record_fault(const struct apisim_faults *f, const char *seed,
                                         int64_t page, int index, const char **field);

/* ---- users ------------------------------------------------------------------------ */

/* Top-level fields, for inc= / exc=. */
enum {
    APISIM_F_GENDER = 1 << 0,
    APISIM_F_NAME = 1 << 1,
    APISIM_F_LOCATION = 1 << 2,
    APISIM_F_EMAIL = 1 << 3,
    APISIM_F_LOGIN = 1 << 4,
    APISIM_F_REGISTERED = 1 << 5,
    APISIM_F_DOB = 1 << 6,
    APISIM_F_PHONE = 1 << 7,
    APISIM_F_CELL = 1 << 8,
    APISIM_F_ID = 1 << 9,
    APISIM_F_PICTURE = 1 << 10,
    APISIM_F_NAT = 1 << 11,
    APISIM_F_ALL = (1 << 12) - 1,
};

#define APISIM_NAT_MAX 32

/* One parsed /api/ request. */
struct apisim_query {
    char seed[APISIM_MAX_SEED_LEN + 1]; /* given or generated */
    int seed_given;
    int results;           /* 1..APISIM_MAX_RESULTS, default 1 */
    int64_t page;          /* >= 1, default 1 */
    int nat[APISIM_NAT_MAX]; /* indexes into the nationality table */
    int nat_count;         /* 0 = all */
    int gender;            /* 0 any, 1 male, 2 female */
    unsigned fields;       /* APISIM_F_* mask */
    int noinfo;
    /* Size of the simulated dataset: users with (page-1)*results + index >= total are
     * not there, so pages past the end come back with "results":[] and a paging
     * consumer can finish. 0 = unlimited (like the real API). total_given says the
     * request set it (total=N); otherwise the server applies its --total-users. */
    int64_t total;
    int total_given;
    /* Per-request fault overrides (query parameters); forced_fault < 0 = not forced. */
    int forced_fault;
    struct apisim_faults faults;
};

/* Parse the query parameters of one request. get(name) returns the raw (URL-decoded)
 * value, "" for a parameter without a value, or NULL when absent. Defaults come from
 * run_faults (copied into q->faults). generated_seed is used when no seed is given.
 * Known parameters: results, page, seed, nat (comma list), gender, inc, exc (comma
 * lists of top-level fields), noinfo, format (json only), total; and the fault
 * overrides fault (a kind to force), fail_5xx, fail_429, malformed, truncated, reset,
 * missing, wrong_type (shares, "0.1" or "10%"), retry_after, latency_ms, jitter_ms,
 * fault_seed. Unknown parameters are ignored, as the real API does. Returns 0 or
 * SPATE_EINVAL with a message naming the parameter in err. Pure: no I/O. */
typedef const char *(*apisim_param_fn)(void *arg, const char *name);
int apisim_query_parse(struct apisim_query *q, apisim_param_fn get, void *arg,
                       const struct apisim_faults *run_faults, const char *generated_seed,
                       char *err, size_t errlen);

/* Records in the page q asks for: results, fewer on the last page of a bounded
 * dataset, 0 past its end. */
int apisim_page_records(const struct apisim_query *q);

/* Number of nationalities and their codes ("AU", "BR", ...). */
int apisim_nat_count(void);
const char *apisim_nat_code(int i);
/* Index of a code (case-insensitive) or -1. */
int apisim_nat_find(const char *code);
/* 1 if that nationality's postcode is a JSON number, 0 if a string. */
int apisim_nat_postcode_numeric(int i);

/* The login.uuid of record index of (seed, page): 36 chars + NUL into out. A valid v4
 * UUID; distinct for every (page, index) of one seed by construction (a bijection of
 * page << 13 | index sits in its low 62 bits). It does not depend on results, nat,
 * gender or inc/exc, so a consumer can predict keys from (seed, page, index) alone. */
void apisim_user_uuid(const char *seed, int64_t page, int index, char out[37]);

/* login.uuid as the response serves it (the text between the quotes, JSON-escaped)
 * once f->p_messy_keys is applied: apisim_user_uuid() unless the record is picked,
 * then one of the variants below. Writes at most APISIM_SERVED_UUID_MAX bytes plus
 * NUL into out and returns the variant. */
#define APISIM_SERVED_UUID_MAX 48
enum apisim_messy_key {
    APISIM_KEY_PLAIN,        /* the record's own uuid, as generated */
    APISIM_KEY_REPEAT_PAGE,  /* the uuid of the previous record of this page */
    APISIM_KEY_REPEAT_PREV,  /* the uuid of the same record of the previous page (of
                                the same seed: a client that sends none gets a new
                                seed per request, and no page before it) */
    APISIM_KEY_UPPER,        /* its own uuid in upper case */
    APISIM_KEY_PADDED,       /* its own uuid between blanks (spaces and a tab) */
};
enum apisim_messy_key apisim_served_uuid(const struct apisim_faults *f, const char *seed,
                                         int64_t page, int index,
                                         char out[APISIM_SERVED_UUID_MAX + 1]);

/* Append the full response body of q (the randomuser.me shape, record faults applied
 * according to q->faults) to out. Deterministic: same q, same bytes. When recfaults is
 * not NULL, recfaults[kind] is incremented once per record. Returns 0 or SPATE_ENOMEM. */
int apisim_render(const struct apisim_query *q, struct spate_buf *out,
                  uint64_t recfaults[APISIM_RECFAULT_COUNT]);

/* Damage a rendered body the way a MALFORMED or TRUNCATED answer to attempt `attempt`
 * of (seed, page) does (other kinds leave it alone). The result is never valid JSON.
 * Returns 0 or SPATE_ENOMEM. */
int apisim_damage_body(const struct apisim_faults *f, enum apisim_fault kind, const char *seed,
                       int64_t page, uint32_t attempt, struct spate_buf *body);

/* ---- server ----------------------------------------------------------------------- */

struct apisim_server_opts {
    const char *listen; /* IPv4 or IPv6 literal, default "127.0.0.1" */
    int port;           /* 0 = pick a free port (see apisim_server_port) */
    int threads;        /* worker threads for the epoll thread pool, >= 1 */
    int thread_per_connection; /* forced automatically when latency is configured */
    int64_t total_users; /* dataset size, 0 = unlimited (see apisim_query.total) */
    struct apisim_faults faults;
};

/* Counters, all monotonic since start. */
struct apisim_stats {
    uint64_t requests;        /* every HTTP request */
    uint64_t api_requests;    /* requests to /api/ */
    uint64_t bad_requests;    /* 400 answers */
    uint64_t users_served;    /* records in 200 bodies, good or bad, any request fault */
    uint64_t good_users;      /* records without record fault in valid (NONE) responses */
    uint64_t bytes;           /* body bytes queued */
    uint64_t faults[APISIM_FAULT_COUNT];
    uint64_t recfaults[APISIM_RECFAULT_COUNT];
};

struct apisim_server;

/* Start a server answering
 *   GET /api/ (also /api and /api/<version>/)  users, see struct apisim_query
 *   GET /stats                                 struct apisim_stats as JSON
 *   GET /health                                {"status":"ok"}
 *   POST /reset                                forget attempt counts (stats are kept)
 * Attempts are only counted for requests that name a seed: without one every request
 * gets a fresh random seed, as on the real API, and is attempt 0. On success *out is owned by the caller, stopped and freed with
 * apisim_server_stop(). Returns 0, SPATE_EADDRINUSE, SPATE_EINVAL or SPATE_ESYS with a
 * message in err. */
int apisim_server_start(const struct apisim_server_opts *opts, struct apisim_server **out,
                        char *err, size_t errlen);
int apisim_server_port(const struct apisim_server *s);
void apisim_server_stats(const struct apisim_server *s, struct apisim_stats *out);
/* Stats as one JSON object (the body of GET /stats); appended to out. */
int apisim_stats_json(const struct apisim_stats *st, struct spate_buf *out);
void apisim_server_stop(struct apisim_server *s);

#endif
