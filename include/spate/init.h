/* SPDX-License-Identifier: Apache-2.0 */
/* init.h -- `spate init`: infer a record structure from sample pages and write a pipeline. */
#ifndef SPATE_INIT_H
#define SPATE_INIT_H

#include <jansson.h>
#include <stddef.h>

#include "spate/util.h"

/* What a field becomes in the clean record and in Cassandra. */
enum init_kind {
    INIT_TEXT,      /* text */
    INIT_BIGINT,    /* bigint: JSON integers, or integer text ("42") */
    INIT_DOUBLE,    /* double: JSON numbers with a fraction, or numeric text */
    INIT_BOOLEAN,   /* boolean: true/false, or their text */
    INIT_TIMESTAMP, /* timestamp: ISO-8601 text */
    INIT_UUID,      /* uuid: 8-4-4-4-12 hex text */
    INIT_JSON,      /* text holding the JSON of an array (or a mixed value) */
};

/* JSON types seen for a field, as a bit mask. */
enum {
    INIT_SEEN_STRING = 1 << 0,
    INIT_SEEN_INTEGER = 1 << 1,
    INIT_SEEN_REAL = 1 << 2,
    INIT_SEEN_BOOL = 1 << 3,
    INIT_SEEN_OBJECT = 1 << 4,
    INIT_SEEN_ARRAY = 1 << 5,
};

struct init_field {
    char *path;       /* dotted path inside a record: "location.city" */
    char *column;     /* column of the clean record and the table: "location_city" */
    enum init_kind kind;
    unsigned seen;    /* INIT_SEEN_* */
    size_t present;   /* records where it is there and not null */
    size_t nulls;     /* records where it is null or absent */
    int as_string;    /* a number, boolean, timestamp or uuid that arrives as text */
    int unique;       /* every present value differs (scalars only) */
    char example[48]; /* the first value seen, cut */
    int key_candidate;/* present in every record, never null, unique, a usable type */
};

struct init_schema {
    char *records_path;      /* "" = the response is the array */
    int records_path_guessed;
    char *key_path;
    int key_path_guessed;
    size_t key;              /* index of the key field in fields */
    size_t record_count;     /* records in the sample */
    size_t skipped_fields;   /* names a dotted path cannot hold (a '.' or '[') */
    struct init_field *fields;
    size_t field_count;
    char *time_field;        /* column of a timestamp present in every record, or NULL */
};

/* Infer the structure of the records of pages[0..npages) (each a parsed
 * response body). records_path and key_path may be NULL: they are then guessed
 * (the largest array of objects; the best key candidate) and the guess is
 * flagged. Returns 0 and fills *out (free with init_schema_free), or
 * SPATE_EINVAL with a message naming what was wrong with the sample: not an
 * object or array, no array of records, an empty page, no usable key. Pure:
 * the same pages give the same schema. */
int init_infer(json_t *const *pages, size_t npages, const char *records_path,
               const char *key_path, struct init_schema *out, char *err, size_t errlen);
void init_schema_free(struct init_schema *s);

/* The records array of one page at path ("" = the page itself), or NULL. */
json_t *init_records_at(json_t *page, const char *path);

/* Index of the field with this path, or -1. */
long init_field_find(const struct init_schema *s, const char *path);

/* SQL / CQL / YAML names for a kind. */
const char *init_kind_cql(enum init_kind k);
const char *init_kind_name(enum init_kind k);

/* ---- rendering the pipeline's files (pure: text out) ------------------------ */

struct init_source_opts {
    const char *name;         /* pipeline name: [a-z][a-z0-9_]* */
    const char *url;
    const char *by;           /* column of the query table (--by), or NULL */
    const char *page_style;   /* none | page | cursor | link */
    const char *page_param;   /* page: query parameter */
    const char *cursor_path;  /* cursor: JSON path of the next cursor */
    const char *cursor_param; /* cursor: query parameter */
    long long start_page;
    const char *keyspace;     /* --update: the keyspace its ALTER TABLE names; NULL = ${keyspace} */
};

/* Each appends one file's text to out; 0 or SPATE_ENOMEM / SPATE_EINVAL. */
int init_render_view(const struct init_schema *s, const struct init_source_opts *o,
                     struct spate_buf *out);
int init_render_clean(const struct init_schema *s, const struct init_source_opts *o,
                      struct spate_buf *out);
int init_render_stats(const struct init_schema *s, const struct init_source_opts *o,
                      struct spate_buf *out);
int init_render_cql(const struct init_schema *s, const struct init_source_opts *o,
                    struct spate_buf *out);
int init_render_config(const struct init_schema *s, const struct init_source_opts *o,
                       struct spate_buf *out);
/* `--update`: the ALTER TABLE statements and SQL lines for fields of now that
 * old lacks (by path). Appends nothing when there are none; returns the count. */
int init_render_update(const struct init_schema *old_s, const struct init_schema *now,
                       const struct init_source_opts *o, struct spate_buf *out);

/* A valid pipeline name: [a-z][a-z0-9_]{0,47}. */
int init_name_ok(const char *name);

/* ---- the sample (I/O: libcurl) ---------------------------------------------------- */

struct init_sample {
    json_t **pages;        /* parsed bodies, owned */
    size_t npages;
    char *url;
    char style[8];         /* none | page | cursor | link: what the API showed */
    char page_param[64];
    long long start_page;
    char cursor_path[256];
    char cursor_param[64];
    char note[320];        /* how the pagination was recognised, for the report */
};

/* GET url and up to pages-1 more pages, following a Link rel="next" header, a
 * cursor field of the response or page numbers (whichever the API shows, in that
 * order). records_path may be NULL. Returns 0, or SPATE_ESERVER (transport, HTTP
 * status) / SPATE_EINVAL (not JSON) with a message naming the URL and the page.
 * Free with init_sample_free() in every case. */
int init_fetch_sample(const char *url, const char *records_path, int pages,
                      struct init_sample *out, char *err, size_t errlen);
void init_sample_free(struct init_sample *s);
/* The source URL for the config: the page or cursor parameter the URL carried
 * becomes {page} / {cursor}. */
void init_url_template(const struct init_sample *s, char *out, size_t outlen);

#endif
