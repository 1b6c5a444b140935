/* SPDX-License-Identifier: Apache-2.0 */
/* cql_internal.h -- what the cql layers share: codec, type serialization, connection. */
#ifndef SPATE_CQL_INTERNAL_H
#define SPATE_CQL_INTERNAL_H

#include "spate/cql.h"
#include "spate/error.h"
#include "spate/util.h"

#include <stddef.h>
#include <stdint.h>

/* ---- protocol constants ---------------------------------------------------- */

#define CQL_VERSION_REQUEST 0x04
#define CQL_VERSION_RESPONSE 0x84
#define CQL_HEADER_LEN 9
#define CQL_MAX_FRAME_DEFAULT (256u * 1024u * 1024u)
#define CQL_MAX_TYPE_DEPTH 16 /* nesting of collection/tuple/udt types */
#define CQL_MAX_STREAMS 32768

enum {
    CQL_FLAG_COMPRESSION = 0x01,
    CQL_FLAG_TRACING = 0x02,
    CQL_FLAG_CUSTOM_PAYLOAD = 0x04,
    CQL_FLAG_WARNING = 0x08,
};

enum cql_opcode {
    CQL_OP_ERROR = 0x00,
    CQL_OP_STARTUP = 0x01,
    CQL_OP_READY = 0x02,
    CQL_OP_AUTHENTICATE = 0x03,
    CQL_OP_OPTIONS = 0x05,
    CQL_OP_SUPPORTED = 0x06,
    CQL_OP_QUERY = 0x07,
    CQL_OP_RESULT = 0x08,
    CQL_OP_PREPARE = 0x09,
    CQL_OP_EXECUTE = 0x0A,
    CQL_OP_REGISTER = 0x0B,
    CQL_OP_EVENT = 0x0C,
    CQL_OP_BATCH = 0x0D,
    CQL_OP_AUTH_CHALLENGE = 0x0E,
    CQL_OP_AUTH_RESPONSE = 0x0F,
    CQL_OP_AUTH_SUCCESS = 0x10,
};

/* Query flags (QUERY/EXECUTE/BATCH parameters). */
enum {
    CQL_QF_VALUES = 0x01,
    CQL_QF_SKIP_METADATA = 0x02,
    CQL_QF_PAGE_SIZE = 0x04,
    CQL_QF_PAGING_STATE = 0x08,
    CQL_QF_SERIAL_CONSISTENCY = 0x10,
    CQL_QF_DEFAULT_TIMESTAMP = 0x20,
    CQL_QF_NAMES = 0x40,
};

/* Rows metadata flags. */
enum {
    CQL_MF_GLOBAL_TABLES_SPEC = 0x0001,
    CQL_MF_HAS_MORE_PAGES = 0x0002,
    CQL_MF_NO_METADATA = 0x0004,
};

/* Error codes of section 9: enum cql_server_code in spate/cql.h (cql_error.server_code). */

/* ---- bounds-checked reader ------------------------------------------------------
 * Every read checks the remaining length first and returns SPATE_EPARSE when
 * the input is short or a length is negative where it must not be. */
struct cql_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

static inline void cql__reader_init(struct cql_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
}
static inline size_t cql__reader_left(const struct cql_reader *r)
{
    return r->len - r->pos;
}
int cql__rd_u8(struct cql_reader *r, uint8_t *v);
int cql__rd_u16(struct cql_reader *r, uint16_t *v);
int cql__rd_i32(struct cql_reader *r, int32_t *v);
int cql__rd_i64(struct cql_reader *r, int64_t *v);
int cql__rd_raw(struct cql_reader *r, size_t n, const uint8_t **p);
/* [string]: pointer into the input, not NUL-terminated. */
int cql__rd_string(struct cql_reader *r, const char **s, size_t *len);
int cql__rd_long_string(struct cql_reader *r, const char **s, size_t *len);
/* [string] duplicated as a NUL-terminated heap string. */
int cql__rd_string_dup(struct cql_reader *r, char **out);
/* [bytes]: *len = -1 for null (any negative length). */
int cql__rd_bytes(struct cql_reader *r, const uint8_t **p, int32_t *len);
int cql__rd_short_bytes(struct cql_reader *r, const uint8_t **p, size_t *len);
/* [inet]: address bytes (4 or 16) and port. */
int cql__rd_inet(struct cql_reader *r, uint8_t addr[16], int *alen, int32_t *port);

/* ---- writer helpers (append to a spate_buf, big-endian) -------------------------- */
int cql__wr_u8(struct spate_buf *b, uint8_t v);
int cql__wr_u16(struct spate_buf *b, uint16_t v);
int cql__wr_i32(struct spate_buf *b, int32_t v);
int cql__wr_i64(struct spate_buf *b, int64_t v);
int cql__wr_string(struct spate_buf *b, const char *s, size_t len);
int cql__wr_long_string(struct spate_buf *b, const char *s, size_t len);
int cql__wr_bytes(struct spate_buf *b, const void *p, int32_t len); /* len < 0: null */
int cql__wr_short_bytes(struct spate_buf *b, const void *p, size_t len);
void cql__put_u16(uint8_t *p, uint16_t v);
void cql__put_i32(uint8_t *p, int32_t v);
void cql__put_i64(uint8_t *p, int64_t v);
uint16_t cql__get_u16(const uint8_t *p);
int32_t cql__get_i32(const uint8_t *p);
int64_t cql__get_i64(const uint8_t *p);

/* ---- frames ----------------------------------------------------------------------- */

struct cql_frame {
    uint8_t version;
    uint8_t flags; /* compression already undone */
    int16_t stream;
    uint8_t opcode;
    uint8_t *body; /* heap, owned by whoever holds the frame; free() */
    size_t len;
};

/* Incremental decoder: feed() bytes as they arrive, next() until NEEDMORE.
 * Pure: no I/O, clocks or logging. An error is sticky until reset. */
struct cql_decoder {
    struct spate_buf in;
    size_t off;             /* consumed prefix of in */
    size_t max_frame;       /* largest accepted body (after decompression) */
    uint8_t expect_version; /* 0x84 for a client, 0x04 for a (fake) server */
    int lz4;                /* bodies flagged compressed are LZ4 */
    int err;
    char errstr[160];
};
void cql__decoder_init(struct cql_decoder *d, size_t max_frame, uint8_t expect_version);
void cql__decoder_reset(struct cql_decoder *d);
void cql__decoder_free(struct cql_decoder *d);
int cql__decoder_feed(struct cql_decoder *d, const void *buf, size_t len);
/* 0 with *f filled (caller frees f->body), SPATE_ENEEDMORE, or an error. */
int cql__decoder_next(struct cql_decoder *d, struct cql_frame *f);

/* Request building: begin writes the 9-byte header, end patches the length
 * and compresses the body with LZ4 when lz4 is set. */
int cql__frame_begin(struct spate_buf *b, uint8_t version, int16_t stream, uint8_t opcode,
                     size_t *start);
int cql__frame_end(struct spate_buf *b, size_t start, int lz4);
/* Appends a complete uncompressed frame to out, compressing its body with
 * LZ4 when lz4 is set (and the body is worth it). */
int cql__frame_append(struct spate_buf *out, const void *frame, size_t len, int lz4);
/* Rewrites the stream id of a frame already in a buffer. */
void cql__frame_set_stream(uint8_t *frame, int16_t stream);

/* QUERY/EXECUTE parameters. values holds count serialized [value]s. */
struct cql_params {
    int consistency; /* wire value */
    int serial_consistency; /* wire value, -1 = none */
    int skip_metadata;
    int32_t page_size; /* <= 0: none */
    const void *paging_state;
    size_t paging_state_len;
    int has_timestamp;
    int64_t timestamp;
    const void *values;
    size_t values_len;
    uint16_t value_count;
    int has_values; /* send the values flag even with 0 values */
};
int cql__enc_params(struct spate_buf *b, const struct cql_params *p);

/* Whole request frames appended to b. */
int cql__enc_startup(struct spate_buf *b, int16_t stream, const char *compression);
int cql__enc_options(struct spate_buf *b, int16_t stream);
int cql__enc_query(struct spate_buf *b, int16_t stream, int lz4, const char *query, size_t qlen,
                   const struct cql_params *p);
int cql__enc_prepare(struct spate_buf *b, int16_t stream, int lz4, const char *query, size_t qlen);
int cql__enc_execute(struct spate_buf *b, int16_t stream, int lz4, const void *id, size_t idlen,
                     const struct cql_params *p);
int cql__enc_register(struct spate_buf *b, int16_t stream, const char *const *events, size_t n);
int cql__enc_auth_response(struct spate_buf *b, int16_t stream, const void *token, int32_t len);
/* One entry of a BATCH; values already serialized. */
struct cql_batch_entry {
    const char *query; /* kind 0 when non-NULL */
    size_t query_len;
    const void *id;    /* kind 1 */
    size_t id_len;
    const void *values;
    size_t values_len;
    uint16_t value_count;
};
int cql__enc_batch(struct spate_buf *b, int16_t stream, int lz4, int type,
                   const struct cql_batch_entry *e, size_t n, int consistency,
                   int serial_consistency, int has_timestamp, int64_t timestamp);

/* ---- results and responses ---------------------------------------------------------- */

struct cql_colspec {
    char *keyspace;
    char *table;
    char *name;
    struct cql_type *type;
};

struct cql_metadata {
    int32_t flags;
    size_t column_count;
    struct cql_colspec *columns; /* NULL with NO_METADATA */
    uint8_t *paging_state;
    size_t paging_state_len;
};
void cql__metadata_free(struct cql_metadata *m);

struct cql_result {
    enum cql_result_kind kind;
    uint8_t *body; /* owned frame body cells point into */
    size_t body_len;
    struct cql_metadata meta;
    const struct cql_metadata *cols; /* &meta or a prepared statement's result metadata */
    size_t row_count;
    uint32_t *cell_off; /* row_count * columns offsets into body */
    int32_t *cell_len;
    char *info;
    /* PREPARED */
    uint8_t *prepared_id;
    size_t prepared_id_len;
    struct cql_metadata params;
    uint16_t *pk_indexes;
    size_t pk_count;
    struct cql_metadata result_meta;
    char **warnings;
    size_t warning_count;
    int taken; /* async: the callback took ownership */
};

/* A decoded response frame. */
struct cql_response {
    uint8_t opcode;
    int16_t stream;
    struct cql_error error;     /* ERROR */
    uint8_t unprepared_id[64];  /* ERROR Unprepared: the unknown id */
    size_t unprepared_id_len;
    struct cql_result *result;  /* RESULT (owned; cql_result_free) */
    char *text;                 /* AUTHENTICATE: authenticator class; SUPPORTED:
                                   "KEY=v1,v2 ..." */
    int supports_lz4;           /* SUPPORTED lists COMPRESSION lz4 */
    const uint8_t *token;       /* AUTH_CHALLENGE/SUCCESS: points into body */
    int32_t token_len;
    char event_type[32];        /* EVENT */
    char event_change[32];      /* NEW_NODE, UP, DOWN, CREATED ... */
    char event_detail[320];     /* "127.0.0.1:9042" or "TABLE ks.t" */
    uint8_t event_addr[16];
    int event_addr_len;
    int32_t event_port;
    char **warnings;
    size_t warning_count;
};

/* Decodes f into r, taking ownership of f->body (set to NULL). fallback gives
 * the column metadata for a Rows result sent with NO_METADATA (from the
 * prepared statement). Returns 0 or SPATE_EPARSE/EPROTO/ENOMEM with err. */
int cql__response_parse(struct cql_frame *f, const struct cql_metadata *fallback,
                        struct cql_response *r, char *err, size_t errlen);
void cql__response_free(struct cql_response *r);

/* Maps a server error code to SPATE_E*. */
int cql__server_status(int32_t code);
const char *cql__server_error_name(int32_t code);
const char *cql__opcode_name(uint8_t op);

/* ---- types (types.c) ------------------------------------------------------------------ */

/* [option] -> type; depth limits nesting. */
int cql__type_parse(struct cql_reader *r, struct cql_type **out, int depth);
void cql__type_free(struct cql_type *t);
/* Checks that a serialized value is well formed for t (sizes, nested
 * collections, utf-8 is not checked). len < 0 = null. */
int cql__value_validate(const struct cql_type *t, const uint8_t *p, int32_t len, int depth);
/* Appends v as a [value] (with its [int] length) for type t (NULL = infer
 * from the kind). On a mismatch returns SPATE_ETYPE with why in err. */
int cql__value_encode(struct spate_buf *b, const struct cql_type *t, const struct cql_value *v,
                      char *err, size_t errlen);
/* A decimal's [int] scale and varint as text ("-12.345"); n >= 4. */
int cql__format_decimal(const uint8_t *p, size_t n, struct spate_buf *out);
/* Cassandra unsigned/signed vint (duration). */
int cql__vint_write(uint8_t *out, uint64_t v); /* returns bytes written (1..9) */
int cql__vint_read(struct cql_reader *r, uint64_t *v);
/* A signed vint is the zigzag of the value: small magnitudes stay short. */
static inline uint64_t cql__zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t cql__unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- connection (conn.c, tls.c) ---------------------------------------------------- */

struct cql_conn;
struct cql_req;
struct cql_session;
struct cql_host;

/* Byte transport of a connection: plain socket or TLS (hiredis-style table). */
struct cql_io_ops {
    /* > 0 bytes, 0 at EOF, -1 with errno (EAGAIN when it would block). */
    long (*read)(struct cql_conn *c, void *buf, size_t len);
    long (*write)(struct cql_conn *c, const void *buf, size_t len);
    void (*close)(struct cql_conn *c);
};

/* Borrowed strings must outlive the connection attempt. */
struct cql_conn_opts {
    int connect_timeout_ms; /* the whole attempt: TCP, TLS and the handshake */
    int compression;
    const char *keyspace;
    const char *username;
    const char *password;
    void *tls_ctx; /* SSL_CTX *, NULL = plain */
    int tls_verify;
    size_t max_frame;
    int max_streams;
};

/* Where a connection is. Everything before READY is the connect attempt,
 * driven without blocking by cql__conn_step() so that one slow or dead host
 * never holds up traffic to the others. */
enum cql_conn_state {
    CQL_CONN_CLOSED = 0,
    CQL_CONN_TCP,     /* non-blocking connect() under way */
    CQL_CONN_TLS,     /* TLS handshake */
    CQL_CONN_OPTIONS, /* waiting for SUPPORTED */
    CQL_CONN_STARTUP, /* waiting for READY or AUTHENTICATE */
    CQL_CONN_AUTH,    /* waiting for AUTH_SUCCESS */
    CQL_CONN_USE,     /* waiting for the USE result */
    CQL_CONN_READY,
};

struct addrinfo;

struct cql_conn {
    int fd;
    void *ssl; /* SSL * */
    const struct cql_io_ops *io;
    struct cql_decoder dec;
    struct spate_buf out;
    size_t out_off;
    struct cql_req **slots;   /* stream id -> request; &cql__orphan when timed out */
    int16_t *free_ids;
    int nfree;
    int max_streams;
    size_t in_flight;
    int orphans; /* slots holding &cql__orphan */
    int heartbeat; /* an OPTIONS heartbeat is in flight */
    int lz4;
    int ready;
    int failed;  /* fatal error seen; session closes it */
    enum cql_conn_state state;
    struct cql_host *host;
    char keyspace[256];
    char errstr[256];
    int64_t last_used_ms;
    int64_t last_read_ms; /* anything heard from the server */
    /* the connect attempt */
    struct cql_conn_opts opts;
    char hostname[128];
    int port;
    int connect_timeout_ms;
    int64_t deadline_ms;
    struct addrinfo *ai, *ai_next;
    short tls_want;
};

/* Sentinel for a slot whose request timed out: the stream id stays taken
 * until its late response arrives, so it can never be matched to a newer
 * request. */
extern struct cql_req cql__orphan;

/* Starts a connection attempt without blocking (a host name, unlike an
 * address, may wait on DNS). 0: under way, drive it with cql__conn_events(),
 * poll() and cql__conn_step() until c->ready; else a code with the cause in
 * c->errstr and c closed. */
int cql__conn_start(struct cql_conn *c, const char *host, int port, const struct cql_conn_opts *o);
/* What to poll for while connecting (and after: POLLIN, POLLOUT if output waits). */
short cql__conn_events(const struct cql_conn *c);
/* Advances the attempt with the events poll() reported (0 = none). 0 while
 * under way or once ready; else a code with c->errstr and c closed. */
int cql__conn_step(struct cql_conn *c, short revents);
/* SPATE_ETIMEDOUT (c closed, c->errstr says in which phase) when an attempt
 * has passed its connect timeout, else 0. */
int cql__conn_expired(struct cql_conn *c, int64_t now);
/* Blocking (bounded by connect_timeout_ms) start + step until ready: for
 * probes. On success the socket is non-blocking and ready for requests. */
int cql__conn_open(struct cql_conn *c, const char *host, int port, const struct cql_conn_opts *o,
                   char *err, size_t errlen);
void cql__conn_close(struct cql_conn *c);
/* Writes as much of the out buffer as the socket takes. 0 or a code. */
int cql__conn_flush(struct cql_conn *c);
/* Reads what is available and hands each decoded frame to fn. 0, or a code
 * when the connection failed (EOF, error, bad frame). */
int cql__conn_read(struct cql_conn *c, void (*fn)(struct cql_conn *c, struct cql_frame *f, void *arg),
                   void *arg);
/* Takes a free stream id, or -1. */
int cql__conn_take_stream(struct cql_conn *c);
void cql__conn_release_stream(struct cql_conn *c, int stream);
/* TLS (tls.c): a client context from files; NULL with err on failure. */
void *cql__tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                       int verify, char *err, size_t errlen);
void cql__tls_ctx_free(void *ctx);
/* Wraps c->fd in TLS; the handshake itself is cql__tls_step(). */
int cql__tls_begin(struct cql_conn *c, void *ctx, const char *host, int verify, char *err,
                   size_t errlen);
/* One non-blocking handshake step: 0 when done, SPATE_ENEEDMORE with *want
 * (POLLIN or POLLOUT) set, or SPATE_ETLS with err. */
int cql__tls_step(struct cql_conn *c, short *want, const char *host, char *err, size_t errlen);
/* Stream ids held by timed-out requests on every connection of s (tests). */
int cql__session_orphans(const struct cql_session *s);
extern const struct cql_io_ops cql__plain_io;

#endif
