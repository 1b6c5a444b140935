/* SPDX-License-Identifier: Apache-2.0 */
/* cql.h -- Cassandra native protocol v4 client: values, results, session, sync and async calls. */
#ifndef SPATE_CQL_H
#define SPATE_CQL_H

/*
 * Layers (src/cql/), each using only those before it: wire.c (the spec's
 * primitive types) -> types.c (type options and names) -> values.c (building,
 * validating and encoding values) -> format.c (values as text) -> codec.c (pure
 * frame/message codec) -> result.c (result accessors) -> conn.c (one
 * non-blocking connection, TLS, LZ4, stream ids) -> session.c (hosts, pools,
 * discovery, routing, prepared cache, async and sync calls).
 *
 * Threading: a session is single-threaded and caller-driven. No thread is
 * started; I/O happens inside cql_session_poll() and inside the synchronous
 * calls, and completion callbacks run there, on the caller's thread. Use one
 * session per thread (or guard one with a mutex).
 *
 * Status codes are SPATE_E* (spate/error.h). Server errors map to:
 *   Unavailable, Overloaded, Is_bootstrapping    -> SPATE_EUNAVAILABLE
 *   Read/Write timeout                           -> SPATE_ETIMEDOUT
 *   Authentication error, Unauthorized           -> SPATE_EAUTH
 *   Already_exists                               -> SPATE_EEXISTS
 *   Protocol error                               -> SPATE_EPROTO
 *   everything else                              -> SPATE_ESERVER
 * The message always names the server error and its details, e.g.
 * "Unavailable: consistency QUORUM required 2 alive 1".
 */

#include "spate/config.h"

#include <stddef.h>
#include <stdint.h>

struct spate_buf;

/* ---- consistency ------------------------------------------------------- */

/* Zero means "the session's default" wherever an option takes a level; the
 * wire value of every other level is (enum value - 1). */
enum cql_consistency {
    CQL_CL_DEFAULT = 0,
    CQL_CL_ANY,
    CQL_CL_ONE,
    CQL_CL_TWO,
    CQL_CL_THREE,
    CQL_CL_QUORUM,
    CQL_CL_ALL,
    CQL_CL_LOCAL_QUORUM,
    CQL_CL_EACH_QUORUM,
    CQL_CL_SERIAL,
    CQL_CL_LOCAL_SERIAL,
    CQL_CL_LOCAL_ONE,
};
/* "QUORUM" -> CQL_CL_QUORUM (case-insensitive). Returns 0 or SPATE_EINVAL. */
int cql_consistency_parse(const char *name, enum cql_consistency *out);
/* Static name of a level ("QUORUM"); "DEFAULT" for 0, "?" when unknown. */
const char *cql_consistency_name(enum cql_consistency cl);

/* ---- types --------------------------------------------------------------- */

/* Type ids as on the wire ([option] ids of the spec, section 4.2.5.2).
 * CQL_TYPE_DURATION arrives either as 0x15 or as the custom class
 * org.apache.cassandra.db.marshal.DurationType; both decode to it. */
enum cql_type_id {
    CQL_TYPE_CUSTOM = 0x00,
    CQL_TYPE_ASCII = 0x01,
    CQL_TYPE_BIGINT = 0x02,
    CQL_TYPE_BLOB = 0x03,
    CQL_TYPE_BOOLEAN = 0x04,
    CQL_TYPE_COUNTER = 0x05,
    CQL_TYPE_DECIMAL = 0x06,
    CQL_TYPE_DOUBLE = 0x07,
    CQL_TYPE_FLOAT = 0x08,
    CQL_TYPE_INT = 0x09,
    CQL_TYPE_TIMESTAMP = 0x0B,
    CQL_TYPE_UUID = 0x0C,
    CQL_TYPE_VARCHAR = 0x0D, /* = text */
    CQL_TYPE_VARINT = 0x0E,
    CQL_TYPE_TIMEUUID = 0x0F,
    CQL_TYPE_INET = 0x10,
    CQL_TYPE_DATE = 0x11,
    CQL_TYPE_TIME = 0x12,
    CQL_TYPE_SMALLINT = 0x13,
    CQL_TYPE_TINYINT = 0x14,
    CQL_TYPE_DURATION = 0x15,
    CQL_TYPE_LIST = 0x20,
    CQL_TYPE_MAP = 0x21,
    CQL_TYPE_SET = 0x22,
    CQL_TYPE_UDT = 0x30,
    CQL_TYPE_TUPLE = 0x31,
};

/* A decoded type. list/set: sub[0] is the element type; map: sub[0] key,
 * sub[1] value; tuple: sub[0..count-1]; udt: sub[i] with field_names[i].
 * Owned by the result or prepared statement that carries it. */
struct cql_type {
    enum cql_type_id id;
    char *custom;       /* class name, CQL_TYPE_CUSTOM only */
    char *keyspace;     /* UDT only */
    char *name;         /* UDT only */
    size_t count;       /* number of sub types */
    struct cql_type **sub;
    char **field_names; /* UDT only, count entries */
};

/* Writes the CQL spelling of a type ("map<text, frozen<list<int>>>") into
 * buf (always NUL-terminated). Returns buf. */
char *cql_type_str(const struct cql_type *t, char *buf, size_t size);

/* ---- values to bind ---------------------------------------------------------- */

enum cql_value_kind {
    CQL_V_NULL = 0, /* a zeroed cql_value is null */
    CQL_V_UNSET,    /* "not set": leaves the column unchanged */
    CQL_V_BOOL,     /* u.b */
    CQL_V_INT,      /* u.i: any integer type, timestamp (ms), date (days since
                       1970-01-01), time (ns since midnight), float, double,
                       varint, decimal (scale 0); range-checked per type */
    CQL_V_DOUBLE,   /* u.d: float, double, decimal; integer types if integral */
    CQL_V_TEXT,     /* u.s: text/ascii as is; for any scalar type it is parsed:
                       "42", "true", "3.14", "1e6", uuid, "127.0.0.1", "::1",
                       "2024-05-01T12:00:00.123Z" / ms number (timestamp),
                       "2024-05-01" (date), "12:34:56.789" (time),
                       "-123456789012345678901234567890" (varint),
                       "-12.345" (decimal), "0xCAFE" (blob), "1mo2d3h" (duration) */
    CQL_V_BLOB,     /* u.s: blob bytes */
    CQL_V_UUID,     /* u.uuid: uuid, timeuuid (must be version 1) */
    CQL_V_INET,     /* u.inet: 4 or 16 bytes */
    CQL_V_DURATION, /* u.duration */
    CQL_V_LIST,     /* u.coll: list, set (also a tuple or udt, positionally) */
    CQL_V_MAP,      /* u.coll: count pairs, items[2*i] key, items[2*i+1] value */
    CQL_V_TUPLE,    /* u.coll: tuple or udt fields in declaration order;
                       fewer items than udt fields leaves the rest null */
    CQL_V_RAW,      /* u.s: bytes already serialized for the target type */
};

/* A value to bind. Borrowed pointers only: the caller keeps what u.s and
 * u.coll point to alive until the call that takes the value returns (values
 * are serialized before a call returns, async calls included). */
struct cql_value {
    enum cql_value_kind kind;
    union {
        int b;
        int64_t i;
        double d;
        struct {
            const void *ptr;
            size_t len;
        } s;
        uint8_t uuid[16];
        struct {
            uint8_t addr[16];
            int len; /* 4 or 16 */
        } inet;
        struct {
            int32_t months;
            int32_t days;
            int64_t nanos;
        } duration;
        struct {
            const struct cql_value *items;
            size_t count; /* elements; pairs for CQL_V_MAP */
        } coll;
    } u;
};

static inline struct cql_value cql_null(void)
{
    struct cql_value v = {.kind = CQL_V_NULL};
    return v;
}
static inline struct cql_value cql_unset(void)
{
    struct cql_value v = {.kind = CQL_V_UNSET};
    return v;
}
static inline struct cql_value cql_bool(int b)
{
    struct cql_value v = {.kind = CQL_V_BOOL, .u.b = b};
    return v;
}
static inline struct cql_value cql_int(int64_t i)
{
    struct cql_value v = {.kind = CQL_V_INT, .u.i = i};
    return v;
}
static inline struct cql_value cql_double(double d)
{
    struct cql_value v = {.kind = CQL_V_DOUBLE, .u.d = d};
    return v;
}
/* s must be NUL-terminated; use cql_textn for a length. */
struct cql_value cql_text(const char *s);
struct cql_value cql_textn(const char *s, size_t len);
struct cql_value cql_blob(const void *p, size_t len);
struct cql_value cql_uuid(const uint8_t uuid[16]);
struct cql_value cql_list(const struct cql_value *items, size_t count);
struct cql_value cql_map(const struct cql_value *kv, size_t pairs);
struct cql_value cql_tuple(const struct cql_value *items, size_t count);

/* ---- results ----------------------------------------------------------------- */

enum cql_result_kind {
    CQL_RESULT_VOID = 1,
    CQL_RESULT_ROWS = 2,
    CQL_RESULT_SET_KEYSPACE = 3,
    CQL_RESULT_PREPARED = 4,
    CQL_RESULT_SCHEMA_CHANGE = 5,
};

/* A decoded RESULT. Every cell was validated against its column type when the
 * frame was decoded, so the accessors below never read out of bounds. Free
 * with cql_result_free() (NULL-safe). A result of a prepared statement may
 * borrow that statement's column metadata: free it before the session. */
struct cql_result;

void cql_result_free(struct cql_result *r);
enum cql_result_kind cql_result_kind(const struct cql_result *r);
size_t cql_result_row_count(const struct cql_result *r);
size_t cql_result_column_count(const struct cql_result *r);
/* Borrowed, valid while r lives. NULL when col is out of range. */
const char *cql_result_column_name(const struct cql_result *r, size_t col);
const struct cql_type *cql_result_column_type(const struct cql_result *r, size_t col);
/* Index of the column named name, or -1. */
int cql_result_column_index(const struct cql_result *r, const char *name);
/* 1 when more pages follow; the paging state (borrowed) goes into
 * cql_query_opts.paging_state to fetch the next page. */
int cql_result_has_more_pages(const struct cql_result *r);
void cql_result_paging_state(const struct cql_result *r, const void **state, size_t *len);
/* Raw serialized cell: *len = -1 for null. Returns 0 or SPATE_ERANGE. */
int cql_result_cell(const struct cql_result *r, size_t row, size_t col, const uint8_t **data,
                    int32_t *len);
/* Typed getters. Return 0, SPATE_ENOTFOUND for null, SPATE_ERANGE for a bad
 * row/col, SPATE_ETYPE when the column type does not convert. */
int cql_result_get_int64(const struct cql_result *r, size_t row, size_t col, int64_t *out);
int cql_result_get_double(const struct cql_result *r, size_t row, size_t col, double *out);
int cql_result_get_bool(const struct cql_result *r, size_t row, size_t col, int *out);
/* text/ascii/varchar/blob: pointer into r (not NUL-terminated). */
int cql_result_get_bytes(const struct cql_result *r, size_t row, size_t col, const char **ptr,
                         size_t *len);
int cql_result_get_uuid(const struct cql_result *r, size_t row, size_t col, uint8_t out[16]);
/* Appends the cell as text (cqlsh style) or JSON to out. Returns 0 or a code. */
int cql_result_format_cell(const struct cql_result *r, size_t row, size_t col, int json,
                           struct spate_buf *out);
/* Appends a serialized value of type t as text or JSON. len -1 = null. */
int cql_format_value(const struct cql_type *t, const uint8_t *data, int32_t len, int json,
                     struct spate_buf *out);
/* SET_KEYSPACE: the keyspace. SCHEMA_CHANGE: "CREATED TABLE ks.name". Else NULL. */
const char *cql_result_info(const struct cql_result *r);
/* Server warnings attached to the response (borrowed). */
size_t cql_result_warning_count(const struct cql_result *r);
const char *cql_result_warning(const struct cql_result *r, size_t i);

/* ---- errors -------------------------------------------------------------------- */

/* Server error codes of the protocol (section 9), as cql_error.server_code
 * carries them: callers decide from them what is worth a retry. */
enum cql_server_code {
    CQL_ERR_SERVER = 0x0000,
    CQL_ERR_PROTOCOL = 0x000A,
    CQL_ERR_AUTH = 0x0100,
    CQL_ERR_UNAVAILABLE = 0x1000,
    CQL_ERR_OVERLOADED = 0x1001,
    CQL_ERR_BOOTSTRAPPING = 0x1002,
    CQL_ERR_TRUNCATE = 0x1003,
    CQL_ERR_WRITE_TIMEOUT = 0x1100,
    CQL_ERR_READ_TIMEOUT = 0x1200,
    CQL_ERR_READ_FAILURE = 0x1300,
    CQL_ERR_FUNCTION_FAILURE = 0x1400,
    CQL_ERR_WRITE_FAILURE = 0x1500,
    CQL_ERR_SYNTAX = 0x2000,
    CQL_ERR_UNAUTHORIZED = 0x2100,
    CQL_ERR_INVALID = 0x2200,
    CQL_ERR_CONFIG = 0x2300,
    CQL_ERR_ALREADY_EXISTS = 0x2400,
    CQL_ERR_UNPREPARED = 0x2500,
};

/* What went wrong with one request. */
struct cql_error {
    int status;        /* SPATE_E* */
    int server_code;   /* protocol error code (0x1000 ...), -1 if not from the server */
    char message[512]; /* "Unavailable: consistency QUORUM required 2 alive 1" */
};

/* ---- session ------------------------------------------------------------------- */

struct cql_session_config {
    const char *const *contact_points; /* "host" or "host:port" */
    size_t contact_point_count;
    int port;                          /* default native port (9042) */
    const char *keyspace;              /* USE'd on every connection; NULL = none */
    const char *username;              /* PasswordAuthenticator; NULL = none */
    const char *password;
    int tls;                           /* 1 = TLS */
    const char *tls_ca_file;           /* NULL = system store */
    const char *tls_cert_file;         /* optional client certificate */
    const char *tls_key_file;
    int tls_verify;                    /* verify certificate and host name */
    int connect_timeout_ms;            /* default 5000 */
    int request_timeout_ms;            /* default 12000 */
    int connections_per_host;          /* default 1 */
    int max_in_flight;                 /* per connection, 1..32768, default 1024 */
    int compression;                   /* 1 = LZ4 when the server offers it */
    enum cql_consistency consistency;  /* default LOCAL_QUORUM */
    int page_size;                     /* default rows per page, 5000 */
    int discover_peers;                /* read system.peers, default 1 */
    int token_aware;                   /* route by partition key, default 1 */
    int reconnect_initial_ms;          /* backoff between attempts to a down host, default 200,
                                          doubling up to reconnect_max_ms */
    int reconnect_max_ms;              /* default 10000 */
    int heartbeat_interval_ms;         /* OPTIONS on a connection nothing was heard from for
                                          this long; unanswered within request_timeout_ms the
                                          connection is closed. 0 = default 30000, < 0 = off */
    int max_orphans;                   /* requests that timed out still hold their stream id
                                          until the late answer; a connection with this many is
                                          replaced. 0 = default: a quarter of max_in_flight */
    size_t max_frame_bytes;            /* largest accepted frame, default 256 MiB */
    int client_timestamps;             /* 1 = every write carries a client-side default
                                          timestamp (wall clock, microseconds, strictly
                                          increasing per session) unless opts give one */
};

/* Fills c with defaults (127.0.0.1:9042, consistency LOCAL_QUORUM ...). */
void cql_session_config_init(struct cql_session_config *c);
/* Fills c from the cassandra section of spate.yaml. c borrows strings from
 * cc, so cc must outlive the session creation call. keyspace is NOT set (the
 * keyspace may not exist yet); set c->keyspace yourself if wanted. */
void cql_session_config_from_spate(struct cql_session_config *c,
                                   const struct spate_cassandra_config *cc);

struct cql_session;

/* Connects to the first reachable contact point, discovers peers and opens the
 * pools. On success *out is a session the caller frees with
 * cql_session_free(). On failure returns a code and writes why into err. */
int cql_session_new(const struct cql_session_config *cfg, struct cql_session **out, char *err,
                    size_t errlen);
/* Fails every pending request with SPATE_ECANCELED (callbacks fire), closes
 * all connections, frees the prepared statements. NULL-safe. */
void cql_session_free(struct cql_session *s);
/* The sticky error of the last failed synchronous call ("" if none). */
const char *cql_session_errstr(const struct cql_session *s);
/* Details of that error (server code etc.); borrowed. */
const struct cql_error *cql_session_error(const struct cql_session *s);
/* Current keyspace ("" if none); follows USE statements. */
const char *cql_session_keyspace(const struct cql_session *s);

/* Per-request options; NULL or a zeroed struct means all defaults. */
struct cql_query_opts {
    enum cql_consistency consistency;        /* 0 = session default */
    enum cql_consistency serial_consistency; /* 0 = none (server: SERIAL) */
    int page_size;            /* 0 = session default, < 0 = no paging */
    const void *paging_state; /* from cql_result_paging_state() */
    size_t paging_state_len;
    int has_timestamp;        /* send timestamp as the default timestamp */
    int64_t timestamp;        /* microseconds since the epoch */
    int timeout_ms;           /* 0 = session default */
    int idempotent;           /* may be retried on another host after a
                                 connection failure or timeout */
    int block;                /* async: when the in-flight limit is reached,
                                 wait (polling) instead of SPATE_EAGAIN */
};

/* Prepared statement: owned by the session's cache, valid until the session
 * is freed. Preparing the same text twice returns the same object. */
struct cql_prepared;
size_t cql_prepared_param_count(const struct cql_prepared *p);
const char *cql_prepared_param_name(const struct cql_prepared *p, size_t i);
const struct cql_type *cql_prepared_param_type(const struct cql_prepared *p, size_t i);
/* Indexes of the partition key bind markers (routing key), count in *n. */
const uint16_t *cql_prepared_pk_indexes(const struct cql_prepared *p, size_t *n);

/* ---- synchronous calls -------------------------------------------------------------
 * Return 0 and a result the caller frees with cql_result_free() (out may be
 * NULL to discard it), or a code with the cause in cql_session_errstr().
 * Values bound by a plain query have no declared type: CQL_V_INT goes as
 * bigint, CQL_V_DOUBLE as double, CQL_V_TEXT as text; prefer prepared
 * statements for typed binding. */
int cql_query(struct cql_session *s, const char *cql, const struct cql_value *values,
              size_t count, const struct cql_query_opts *opts, struct cql_result **out);
/* Prepares (or finds in the cache). */
int cql_prepare(struct cql_session *s, const char *cql, const struct cql_prepared **out);
/* Values are checked against the bind marker types before sending; a value
 * that does not fit fails with SPATE_ETYPE naming the column. An UNPREPARED
 * answer is handled by re-preparing and retrying transparently. */
int cql_execute(struct cql_session *s, const struct cql_prepared *p,
                const struct cql_value *values, size_t count, const struct cql_query_opts *opts,
                struct cql_result **out);

enum cql_batch_type {
    CQL_BATCH_LOGGED = 0,
    CQL_BATCH_UNLOGGED = 1,
    CQL_BATCH_COUNTER = 2,
};
/* One statement of a batch: prepared (if non-NULL) or query text. Its count
 * values come as cql_value items, or serialized already by
 * cql_prepared_encode (encoded non-NULL; values is then ignored), which lets
 * a caller free what the items pointed to before the batch is built. */
struct cql_batch_stmt {
    const struct cql_prepared *prepared;
    const char *query;
    const struct cql_value *values;
    size_t count;
    const void *encoded;
    size_t encoded_len;
};
int cql_batch(struct cql_session *s, enum cql_batch_type type, const struct cql_batch_stmt *stmts,
              size_t n, const struct cql_query_opts *opts, struct cql_result **out);

/* ---- asynchronous calls ---------------------------------------------------------------
 * Completion callback: status 0 with res (borrowed: freed by the library when
 * the callback returns; call cql_result_take() inside to keep it), or a code
 * with err describing it (res NULL). Runs inside cql_session_poll() or a sync
 * call, never inside the *_async call itself. The callback may submit new
 * requests. */
typedef void (*cql_done_fn)(void *arg, int status, struct cql_result *res,
                            const struct cql_error *err);

/* Return 0 when queued (cb fires exactly once later), or a code (cb never
 * fires): SPATE_EAGAIN when every connection is at max_in_flight and
 * opts->block is 0 (backpressure: poll, then retry), SPATE_ETYPE for a value
 * that does not fit, SPATE_EUNAVAILABLE when no host is up (a blocking call
 * first waits up to connect_timeout_ms for one to come up), SPATE_ETIMEDOUT
 * when opts->block waited the request timeout without a free stream id. The
 * cause is in cql_session_errstr(). */
int cql_query_async(struct cql_session *s, const char *cql, const struct cql_value *values,
                    size_t count, const struct cql_query_opts *opts, cql_done_fn cb, void *arg);
int cql_execute_async(struct cql_session *s, const struct cql_prepared *p,
                      const struct cql_value *values, size_t count,
                      const struct cql_query_opts *opts, cql_done_fn cb, void *arg);
int cql_batch_async(struct cql_session *s, enum cql_batch_type type,
                    const struct cql_batch_stmt *stmts, size_t n,
                    const struct cql_query_opts *opts, cql_done_fn cb, void *arg);
/* Inside a callback: take ownership of res (the caller frees it later). */
struct cql_result *cql_result_take(struct cql_result *res);

/* Runs I/O for up to timeout_ms (0 = don't wait, -1 = until something
 * happens): sends, receives, fires callbacks, expires timed-out requests,
 * sends heartbeats and advances reconnects (never blocking on one: a host
 * that does not answer costs the others nothing). Returns the number of
 * callbacks fired, or a negative code. */
int cql_session_poll(struct cql_session *s, int timeout_ms);
/* Polls until no request is in flight or timeout_ms passes (-1 = forever).
 * Returns 0 or SPATE_ETIMEDOUT. */
int cql_session_drain(struct cql_session *s, int timeout_ms);
/* Requests submitted and not yet completed. */
size_t cql_session_in_flight(const struct cql_session *s);

/* ---- cluster ------------------------------------------------------------------------- */

/* Server events (REGISTERed on the control connection): type is
 * "TOPOLOGY_CHANGE", "STATUS_CHANGE" or "SCHEMA_CHANGE"; detail e.g.
 * "DOWN 127.0.0.2:9042" or "CREATED TABLE ks.t". The session already acts on
 * topology/status events; this is for logging. */
typedef void (*cql_event_fn)(void *arg, const char *type, const char *detail);
void cql_session_set_event_cb(struct cql_session *s, cql_event_fn fn, void *arg);

/* Number of known hosts (contact points and discovered peers). */
size_t cql_session_host_count(const struct cql_session *s);
/* Host i: "127.0.0.1:9042" into buf; *up = 1 when reachable. Returns 0 or SPATE_ERANGE. */
int cql_session_host(const struct cql_session *s, size_t i, char *buf, size_t size, int *up);
/* Requests sent to host i so far (routing statistics), 0 when i is out of range. */
uint64_t cql_session_host_requests(const struct cql_session *s, size_t i);

/* Murmur3 token of a serialized partition key, exactly as Cassandra's
 * Murmur3Partitioner computes it. */
int64_t cql_murmur3_token(const void *key, size_t len);
/* Token of the routing key of a prepared statement bound to values
 * (composite keys are built as the server does). Returns 0, SPATE_ENOTFOUND
 * when the statement has no routing key, or SPATE_ETYPE. */
int cql_prepared_token(const struct cql_prepared *p, const struct cql_value *values, size_t count,
                       int64_t *token);
/* The host ("addr:port") that owns token in the ring the session knows: the
 * one token-aware routing sends to first. Returns 0 or SPATE_ENOTFOUND. */
int cql_session_token_owner(const struct cql_session *s, int64_t token, char *buf, size_t size);
/* The same owner as an index for cql_session_host(), or -1 when the ring is
 * not known (yet). Cheap: for grouping the writes of a batch by replica. */
long cql_session_token_host(const struct cql_session *s, int64_t token);
/* Serializes count values bound to p, as EXECUTE and BATCH carry them, into
 * *out (allocated; the caller frees it with free()), *out_len bytes, and
 * sets *has_token and *token when p has a routing key. Returns 0, or
 * SPATE_ETYPE / SPATE_EINVAL / SPATE_ENOMEM with the reason in err. */
int cql_prepared_encode(const struct cql_prepared *p, const struct cql_value *values,
                        size_t count, void **out, size_t *out_len, int64_t *token,
                        int *has_token, char *err, size_t errlen);

/* ---- readiness probe ------------------------------------------------------------------- */

/* Connects to host:port (plain TCP), does STARTUP (no compression) and waits
 * for READY or AUTHENTICATE (both mean the native transport is up), within
 * timeout_ms overall. Returns 0, or a code with the reason in err. No
 * session, no allocation that outlives the call. */
int cql_probe(const char *host, int port, int timeout_ms, char *err, size_t errlen);
/* The same over TLS, the server's certificate and host name verified against
 * ca_file (PEM; NULL = the system store). */
int cql_probe_tls(const char *host, int port, const char *ca_file, int timeout_ms, char *err,
                  size_t errlen);

#endif
