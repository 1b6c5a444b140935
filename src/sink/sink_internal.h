/* SPDX-License-Identifier: Apache-2.0 */
/* sink_internal.h -- the sink's pure parts: column types, value conversion, mapping
 * expressions and offset bookkeeping, shared by the engine and the unit tests. */
#ifndef SPATE_SINK_INTERNAL_H
#define SPATE_SINK_INTERNAL_H

#include "spate/cql.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- column types (parsed from system_schema.columns.type) ------------------ */

/* A column type as system_schema spells it ("text", "frozen<list<int>>",
 * "map<text, bigint>"). sub[0] is the element (list/set) or key (map) type,
 * sub[1] the map value type. */
struct sink_type {
    enum cql_type_id id;
    struct sink_type *sub[2];
};

/* Parses a system_schema type string. Returns 0 and *out (free with
 * sink__type_free), SPATE_EUNSUPPORTED for a type the sink cannot write
 * (counter, udt, tuple, custom, vector) or SPATE_EPARSE; err says which. */
int sink__type_parse(const char *s, struct sink_type **out, char *err, size_t errlen);
void sink__type_free(struct sink_type *t);
/* CQL spelling of t into buf; returns buf. */
const char *sink__type_name(const struct sink_type *t, char *buf, size_t size);

/* ---- scratch memory for one record's converted values ------------------------ */

/* A bump allocator: pointers stay valid until reset/free; reset keeps the
 * first chunk so a steady stream of records does not call malloc. */
struct sink_scratch {
    struct sink_chunk *head;
};
void *sink__scratch_alloc(struct sink_scratch *sc, size_t n);
void sink__scratch_reset(struct sink_scratch *sc);
void sink__scratch_free(struct sink_scratch *sc);

/* ---- data: what a mapping expression yields ------------------------------------ */

enum sink_datum_kind {
    SINK_D_NULL = 0,  /* missing field, JSON null, absent header */
    SINK_D_JSON,      /* json (borrowed) */
    SINK_D_TEXT,      /* s/len: bytes from the key, a header or the raw value */
    SINK_D_INT,       /* i: a plain integer (partition, offset) */
    SINK_D_TIMESTAMP, /* i: ms since the epoch (now, the Kafka timestamp) */
    SINK_D_DATE,      /* i: days since the epoch (day(...)) */
};

struct sink_datum {
    enum sink_datum_kind kind;
    const json_t *json;
    const char *s;
    size_t len;
    int64_t i;
};

/* Converts d into a value for a column of type t. Strings, buffers and
 * collection items live in sc. A null datum gives CQL_V_NULL (the caller
 * decides between null and unset). Returns 0, or SPATE_ETYPE / SPATE_ERANGE
 * with a reason ("expected a uuid, got string \"abc\"") in err. */
int sink__convert(const struct sink_type *t, const struct sink_datum *d, struct sink_scratch *sc,
                  struct cql_value *out, char *err, size_t errlen);

/* Timestamp text: ISO-8601 ("2024-05-01T12:00:00.123Z", "2024-05-01 12:00:00+02:00",
 * "2024-05-01") or epoch milliseconds as digits. Returns 0 or SPATE_EPARSE. */
int sink__parse_timestamp(const char *s, size_t len, int64_t *ms);
/* Days since the epoch for ms (floor division). */
int64_t sink__day_of_ms(int64_t ms);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (or 32 hex digits). 0 or SPATE_EPARSE. */
int sink__parse_uuid(const char *s, size_t len, uint8_t out[16]);

/* ---- mapping expressions ------------------------------------------------------ */

/* `from` of a mapped column:
 *   PATH | field:PATH    a JSON field of the value ("location.city")
 *   key | value          the Kafka key / the whole value as bytes
 *   header:NAME          a Kafka header
 *   topic | partition | offset | timestamp (the Kafka record's, ms) | now
 *   'literal'            a constant text
 *   day(EXPR)            the UTC day of a timestamp (a date)
 *   A|B|...              the first of A, B ... that is not null */
enum sink_expr_op {
    SINK_X_FIELD,
    SINK_X_KEY,
    SINK_X_VALUE,
    SINK_X_HEADER,
    SINK_X_TOPIC,
    SINK_X_PARTITION,
    SINK_X_OFFSET,
    SINK_X_TIMESTAMP,
    SINK_X_NOW,
    SINK_X_LITERAL,
    SINK_X_DAY,
};

struct sink_expr {
    enum sink_expr_op op;
    char *arg;               /* field path, header name or literal */
    char **path;             /* FIELD: arg split on '.' */
    size_t path_len;
    struct sink_expr *inner; /* DAY */
    struct sink_expr *alt;   /* next alternative after '|' */
};

/* Parses text into *out (free with sink__expr_free). 0 or SPATE_EPARSE with err. */
int sink__expr_parse(const char *text, struct sink_expr **out, char *err, size_t errlen);
void sink__expr_free(struct sink_expr *x);
/* What an expression yields, for the start-up check against the column type. */
enum sink_expr_class {
    SINK_C_JSON,      /* unknown until a record arrives */
    SINK_C_TEXT,
    SINK_C_INT,
    SINK_C_TIMESTAMP,
    SINK_C_DATE,
};
enum sink_expr_class sink__expr_class(const struct sink_expr *x);
/* Whether a column of type t can hold what x yields, given the optional
 * declared field type ("string", "integer", "number", "boolean", "timestamp",
 * "object", "array"; NULL = unknown). 0 or SPATE_ETYPE with the reason. */
int sink__expr_check(const struct sink_expr *x, const char *declared, const struct sink_type *t,
                     char *err, size_t errlen);

/* Whether x can yield null for some record: 1 (why names the first input that
 * may be missing), or 0. not_null(field, arg) says whether the producer
 * guarantees a JSON field; NULL = no field is guaranteed. */
int sink__expr_nullable(const struct sink_expr *x, int (*not_null)(const char *, void *),
                        void *arg, char *why, size_t whylen);

/* One Kafka record as the evaluator sees it. */
struct sink_msg_view {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 if none */
    const void *key;
    size_t key_len;       /* key NULL = no key */
    const void *value;
    size_t value_len;
    const json_t *root;   /* parsed value, NULL when it is not a JSON object */
    /* header lookup: returns 0 and ptr/len of the last header named name */
    int (*header)(void *arg, const char *name, const void **ptr, size_t *len);
    void *header_arg;
    int64_t now_ms;
};

/* Evaluates x against m. Returns 0 with *d (may be SINK_D_NULL) or
 * SPATE_ETYPE with err (day() of something that is not a timestamp). */
int sink__expr_eval(const struct sink_expr *x, const struct sink_msg_view *m,
                    struct sink_datum *d, char *err, size_t errlen);

/* ---- offset bookkeeping ----------------------------------------------------------- */

/* Records of one partition in consumption order; a record is done when all
 * its writes are acknowledged (or it went to the DLQ). The committable offset
 * is the offset of the oldest record not done, or one past the newest record
 * when all are done: never past an unacknowledged record. */
struct sink_track {
    int64_t *offsets;
    unsigned char *done;
    size_t cap;
    size_t head;       /* ring index of the oldest record */
    size_t count;      /* records in the ring */
    uint64_t head_seq; /* sequence number of the oldest record */
    int64_t next;      /* one past the newest record added, -1 = none yet */
    int64_t committed; /* last offset handed to commit, -1 = none */
};

void sink__track_init(struct sink_track *t);
void sink__track_free(struct sink_track *t);
/* Adds a record (offsets must increase). *seq identifies it for _done.
 * 0 or SPATE_ENOMEM / SPATE_EINVAL (offset not above the previous one). */
int sink__track_add(struct sink_track *t, int64_t offset, uint64_t *seq);
/* Marks the record done. 0 or SPATE_ENOTFOUND (unknown or already done). */
int sink__track_done(struct sink_track *t, uint64_t seq);
/* The offset to commit now (see above), or -1 when nothing was added. */
int64_t sink__track_commit_offset(const struct sink_track *t);
/* Records not done yet. */
size_t sink__track_pending(const struct sink_track *t);

/* ---- what a failed write means ---------------------------------------------------- */

enum sink_fail {
    SINK_FAIL_RETRY,   /* the node or the network: retry the write with a capped backoff */
    SINK_FAIL_BLOCKED, /* the table refuses every write (permission, schema): pause, re-check */
    SINK_FAIL_RECORD,  /* this record's values: the record goes to the DLQ */
};

/* Classifies a failed write from its status (SPATE_E*), the server's error
 * code (enum cql_server_code, -1 when the client failed it) and message
 * (may be NULL). For SINK_FAIL_BLOCKED, *label (when label is not NULL) is
 * a short static name of the cause for metrics: "unauthorized",
 * "authentication", "schema" or "unprepared". */
enum sink_fail sink__classify_write(int status, int server_code, const char *msg,
                                    const char **label);

/* ---- the sink's DLQ envelope --------------------------------------------------------- */

struct sink_dlq_in {
    const char *reason;              /* why the record is poison; NULL = "unknown" */
    const void *key;                 /* the Kafka key; NULL = none */
    size_t key_len;
    const void *raw;                 /* the record's value; NULL = none */
    size_t raw_len;
    const char *at;                  /* when it was rejected, ISO-8601 */
    const char *topic;
    int32_t partition;
    int64_t offset;
};

/* The DLQ envelope of a poison record as compact JSON of at most max_bytes:
 * {"stage":"sink","reason","key","raw","at","topic","partition","offset"}.
 * Bytes that are not UTF-8 are written as "0x" + hex. When the whole does not
 * fit, raw (then the key, if even that is not enough) is cut at a character
 * boundary and "raw_truncated":true, "raw_bytes" (the original length) and
 * "raw_sha256" (of the whole value) are added, so the record can still be
 * found and told apart; the reason and coordinates are always kept whole.
 * Returns 0 with *out (free with free()), *out_len and *cut (1 when something
 * was cut), SPATE_ETOOBIG when not even the reason and coordinates fit, or
 * SPATE_ENOMEM. */
int sink__dlq_envelope(const struct sink_dlq_in *in, size_t max_bytes, char **out,
                       size_t *out_len, int *cut);

#endif
