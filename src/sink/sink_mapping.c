/* SPDX-License-Identifier: Apache-2.0 */
/* sink_mapping.c -- the `from` expressions of column mappings: parse, check, evaluate. */
#include "sink_internal.h"

#include "spate/error.h"
#include "spate/sink.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sink__expr_free(struct sink_expr *x)
{
    while (x) {
        struct sink_expr *next = x->alt;
        free(x->arg);
        for (size_t i = 0; i < x->path_len; i++)
            free(x->path[i]);
        free(x->path);
        sink__expr_free(x->inner);
        free(x);
        x = next;
    }
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

static int split_path(struct sink_expr *x, char *err, size_t errlen)
{
    const char *p = x->arg;
    size_t n = 1;
    for (const char *q = p; *q; q++)
        n += *q == '.';
    x->path = calloc(n, sizeof *x->path);
    if (!x->path)
        return SPATE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0) {
            snprintf(err, errlen, "empty segment in field path '%s'", x->arg);
            return SPATE_EPARSE;
        }
        x->path[i] = strndup(p, len);
        if (!x->path[i])
            return SPATE_ENOMEM;
        x->path_len = i + 1;
        p = dot ? dot + 1 : p + len;
    }
    return 0;
}

static int parse_alts(const char *s, const char *e, struct sink_expr **out, char *err,
                      size_t errlen, int depth);

static int parse_one(const char *s, const char *e, struct sink_expr **out, char *err,
                     size_t errlen, int depth)
{
    trim(&s, &e);
    size_t n = (size_t)(e - s);
    if (n == 0) {
        snprintf(err, errlen, "empty expression");
        return SPATE_EPARSE;
    }
    struct sink_expr *x = calloc(1, sizeof *x);
    if (!x)
        return SPATE_ENOMEM;
    int rc = 0;
    static const struct {
        const char *word;
        enum sink_expr_op op;
    } words[] = {
        {"key", SINK_X_KEY},           {"value", SINK_X_VALUE},   {"topic", SINK_X_TOPIC},
        {"partition", SINK_X_PARTITION}, {"offset", SINK_X_OFFSET}, {"timestamp", SINK_X_TIMESTAMP},
        {"now", SINK_X_NOW},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strlen(words[i].word) == n && memcmp(words[i].word, s, n) == 0) {
            x->op = words[i].op;
            *out = x;
            return 0;
        }
    }
    if (n >= 2 && s[0] == '\'' && e[-1] == '\'') {
        x->op = SINK_X_LITERAL;
        x->arg = strndup(s + 1, n - 2);
        rc = x->arg ? 0 : SPATE_ENOMEM;
    } else if (n > 7 && memcmp(s, "header:", 7) == 0) {
        x->op = SINK_X_HEADER;
        x->arg = strndup(s + 7, n - 7);
        rc = x->arg ? 0 : SPATE_ENOMEM;
    } else if (n > 4 && memcmp(s, "day(", 4) == 0 && e[-1] == ')') {
        x->op = SINK_X_DAY;
        rc = parse_alts(s + 4, e - 1, &x->inner, err, errlen, depth + 1);
    } else {
        const char *p = s;
        if (n > 6 && memcmp(s, "field:", 6) == 0)
            p += 6;
        for (const char *q = p; q < e; q++) {
            if (!(isalnum((unsigned char)*q) || *q == '_' || *q == '.' || *q == '-' ||
                  *q == '$' || *q == '@')) {
                snprintf(err, errlen, "unexpected '%c' in '%.*s' (expected a field path, key, "
                                      "value, header:NAME, topic, partition, offset, timestamp, "
                                      "now, 'literal' or day(...))",
                         *q, (int)n, s);
                free(x);
                return SPATE_EPARSE;
            }
        }
        x->op = SINK_X_FIELD;
        x->arg = strndup(p, (size_t)(e - p));
        rc = x->arg ? split_path(x, err, errlen) : SPATE_ENOMEM;
    }
    if (rc) {
        sink__expr_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

static int parse_alts(const char *s, const char *e, struct sink_expr **out, char *err,
                      size_t errlen, int depth)
{
    if (depth > 8) {
        snprintf(err, errlen, "expression nested too deeply");
        return SPATE_EPARSE;
    }
    struct sink_expr *head = NULL, **tail = &head;
    const char *start = s;
    int paren = 0, quote = 0;
    for (const char *p = s;; p++) {
        if (p == e || (*p == '|' && paren == 0 && !quote)) {
            struct sink_expr *x;
            int rc = parse_one(start, p, &x, err, errlen, depth);
            if (rc) {
                sink__expr_free(head);
                return rc;
            }
            *tail = x;
            tail = &x->alt;
            if (p == e)
                break;
            start = p + 1;
            continue;
        }
        if (*p == '\'')
            quote = !quote;
        else if (!quote && *p == '(')
            paren++;
        else if (!quote && *p == ')' && --paren < 0)
            break;
    }
    if (paren != 0 || quote) {
        sink__expr_free(head);
        snprintf(err, errlen, "unbalanced %s in '%.*s'", quote ? "quote" : "parentheses",
                 (int)(e - s), s);
        return SPATE_EPARSE;
    }
    *out = head;
    return 0;
}

int sink__expr_parse(const char *text, struct sink_expr **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!text) {
        snprintf(err, errlen, "empty expression");
        return SPATE_EPARSE;
    }
    return parse_alts(text, text + strlen(text), out, err, errlen, 0);
}

static enum sink_expr_class class_one(const struct sink_expr *x)
{
    switch (x->op) {
    case SINK_X_FIELD:
        return SINK_C_JSON;
    case SINK_X_KEY:
    case SINK_X_VALUE:
    case SINK_X_HEADER:
    case SINK_X_TOPIC:
    case SINK_X_LITERAL:
        return SINK_C_TEXT;
    case SINK_X_PARTITION:
    case SINK_X_OFFSET:
        return SINK_C_INT;
    case SINK_X_TIMESTAMP:
    case SINK_X_NOW:
        return SINK_C_TIMESTAMP;
    case SINK_X_DAY:
        return SINK_C_DATE;
    }
    return SINK_C_JSON;
}

enum sink_expr_class sink__expr_class(const struct sink_expr *x)
{
    enum sink_expr_class c = class_one(x);
    for (const struct sink_expr *a = x->alt; a; a = a->alt)
        if (class_one(a) != c)
            return SINK_C_JSON; /* mixed: decided per record */
    return c;
}

/* Whether one alternative can be null, and what makes it so. Kafka records of
 * message format v2 always carry a timestamp, so `timestamp` counts as present. */
static int null_one(const struct sink_expr *x, int (*not_null)(const char *, void *), void *arg,
                    char *why, size_t whylen)
{
    switch (x->op) {
    case SINK_X_TOPIC:
    case SINK_X_PARTITION:
    case SINK_X_OFFSET:
    case SINK_X_TIMESTAMP:
    case SINK_X_NOW:
    case SINK_X_LITERAL:
        return 0;
    case SINK_X_KEY:
        snprintf(why, whylen, "the Kafka key");
        return 1;
    case SINK_X_VALUE:
        snprintf(why, whylen, "the Kafka value");
        return 1;
    case SINK_X_HEADER:
        snprintf(why, whylen, "header '%s'", x->arg);
        return 1;
    case SINK_X_DAY:
        return sink__expr_nullable(x->inner, not_null, arg, why, whylen);
    case SINK_X_FIELD:
        if (not_null && not_null(x->arg, arg))
            return 0;
        snprintf(why, whylen, "field '%s'", x->arg);
        return 1;
    }
    return 1;
}

int sink__expr_nullable(const struct sink_expr *x, int (*not_null)(const char *, void *),
                        void *arg, char *why, size_t whylen)
{
    char first[160] = "";
    for (const struct sink_expr *a = x; a; a = a->alt) {
        char w[160];
        if (!null_one(a, not_null, arg, w, sizeof w))
            return 0;
        if (!first[0])
            snprintf(first, sizeof first, "%s", w);
    }
    snprintf(why, whylen, "%s", first);
    return 1;
}

struct names {
    const char *const *v;
    size_t n;
};

static int in_names(const char *field, void *arg)
{
    const struct names *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], field) == 0)
            return 1;
    return 0;
}

int sink_from_nullable(const char *from, const char *const *not_null, size_t n, char *why,
                       size_t whylen)
{
    struct sink_expr *x;
    int rc = sink__expr_parse(from, &x, why, whylen);
    if (rc)
        return rc;
    struct names l = {not_null, n};
    rc = sink__expr_nullable(x, in_names, &l, why, whylen);
    sink__expr_free(x);
    return rc;
}

static int scalar_text_like(enum cql_type_id id)
{
    return id != CQL_TYPE_LIST && id != CQL_TYPE_SET && id != CQL_TYPE_MAP;
}

static int is_integer_type(enum cql_type_id id)
{
    return id == CQL_TYPE_BIGINT || id == CQL_TYPE_INT || id == CQL_TYPE_SMALLINT ||
           id == CQL_TYPE_TINYINT || id == CQL_TYPE_VARINT || id == CQL_TYPE_COUNTER;
}

static int is_text_type(enum cql_type_id id)
{
    return id == CQL_TYPE_VARCHAR || id == CQL_TYPE_ASCII || id == CQL_TYPE_BLOB;
}

/* Whether a column of type id can hold values of a field declared as decl. */
static int declared_fits(const char *decl, enum cql_type_id id)
{
    if (is_text_type(id))
        return strcmp(decl, "object") != 0 || id != CQL_TYPE_ASCII;
    if (strcmp(decl, "string") == 0)
        return scalar_text_like(id); /* parsed per record */
    if (strcmp(decl, "integer") == 0)
        return is_integer_type(id) || id == CQL_TYPE_FLOAT || id == CQL_TYPE_DOUBLE ||
               id == CQL_TYPE_DECIMAL || id == CQL_TYPE_TIMESTAMP || id == CQL_TYPE_DATE ||
               id == CQL_TYPE_TIME || id == CQL_TYPE_BOOLEAN;
    if (strcmp(decl, "number") == 0)
        return id == CQL_TYPE_FLOAT || id == CQL_TYPE_DOUBLE || id == CQL_TYPE_DECIMAL;
    if (strcmp(decl, "boolean") == 0)
        return id == CQL_TYPE_BOOLEAN;
    if (strcmp(decl, "timestamp") == 0)
        return id == CQL_TYPE_TIMESTAMP || id == CQL_TYPE_DATE || id == CQL_TYPE_BIGINT;
    if (strcmp(decl, "uuid") == 0)
        return id == CQL_TYPE_UUID || id == CQL_TYPE_TIMEUUID;
    if (strcmp(decl, "array") == 0)
        return id == CQL_TYPE_LIST || id == CQL_TYPE_SET;
    if (strcmp(decl, "object") == 0)
        return id == CQL_TYPE_MAP;
    return 0;
}

int sink__expr_check(const struct sink_expr *x, const char *declared, const struct sink_type *t,
                     char *err, size_t errlen)
{
    char tn[64];
    enum cql_type_id id = t->id;
    static const char *const decls[] = {"string", "integer", "number", "boolean",
                                        "timestamp", "uuid", "object", "array"};
    if (declared) {
        size_t i;
        for (i = 0; i < sizeof decls / sizeof decls[0]; i++)
            if (strcmp(declared, decls[i]) == 0)
                break;
        if (i == sizeof decls / sizeof decls[0]) {
            snprintf(err, errlen, "unknown field type '%s' (string, integer, number, boolean, "
                                  "timestamp, uuid, object or array)", declared);
            return SPATE_EINVAL;
        }
        if (!declared_fits(declared, id)) {
            snprintf(err, errlen, "a %s column cannot hold a field of type %s",
                     sink__type_name(t, tn, sizeof tn), declared);
            return SPATE_ETYPE;
        }
    }
    for (const struct sink_expr *a = x; a; a = a->alt) {
        const char *what = NULL;
        switch (class_one(a)) {
        case SINK_C_JSON:
            break;
        case SINK_C_TEXT:
            if (!scalar_text_like(id))
                what = "text";
            break;
        case SINK_C_INT:
            if (!(is_integer_type(id) || id == CQL_TYPE_VARCHAR || id == CQL_TYPE_ASCII ||
                  id == CQL_TYPE_FLOAT || id == CQL_TYPE_DOUBLE || id == CQL_TYPE_DECIMAL))
                what = "an integer";
            break;
        case SINK_C_TIMESTAMP:
            if (!(id == CQL_TYPE_TIMESTAMP || id == CQL_TYPE_DATE || id == CQL_TYPE_BIGINT ||
                  id == CQL_TYPE_VARINT || id == CQL_TYPE_VARCHAR || id == CQL_TYPE_ASCII))
                what = "a timestamp";
            break;
        case SINK_C_DATE:
            if (!(id == CQL_TYPE_DATE || id == CQL_TYPE_TIMESTAMP || id == CQL_TYPE_VARCHAR ||
                  id == CQL_TYPE_ASCII || id == CQL_TYPE_INT || id == CQL_TYPE_BIGINT))
                what = "a date";
            break;
        }
        if (what) {
            snprintf(err, errlen, "a %s column cannot hold %s", sink__type_name(t, tn, sizeof tn),
                     what);
            return SPATE_ETYPE;
        }
    }
    return 0;
}

static const json_t *lookup(const json_t *root, char *const *path, size_t n)
{
    const json_t *j = root;
    for (size_t i = 0; i < n && j; i++) {
        if (json_is_object(j)) {
            j = json_object_get(j, path[i]);
        } else if (json_is_array(j)) {
            char *end;
            unsigned long idx = strtoul(path[i], &end, 10);
            j = *end ? NULL : json_array_get(j, idx);
        } else {
            return NULL;
        }
    }
    return j;
}

static int eval_one(const struct sink_expr *x, const struct sink_msg_view *m,
                    struct sink_datum *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    switch (x->op) {
    case SINK_X_FIELD: {
        const json_t *j = m->root ? lookup(m->root, x->path, x->path_len) : NULL;
        if (j && !json_is_null(j)) {
            d->kind = SINK_D_JSON;
            d->json = j;
        }
        return 0;
    }
    case SINK_X_KEY:
        if (m->key) {
            d->kind = SINK_D_TEXT;
            d->s = m->key;
            d->len = m->key_len;
        }
        return 0;
    case SINK_X_VALUE:
        if (m->value) {
            d->kind = SINK_D_TEXT;
            d->s = m->value;
            d->len = m->value_len;
        }
        return 0;
    case SINK_X_HEADER: {
        const void *p;
        size_t len;
        if (m->header && m->header(m->header_arg, x->arg, &p, &len) == 0 && p) {
            d->kind = SINK_D_TEXT;
            d->s = p;
            d->len = len;
        }
        return 0;
    }
    case SINK_X_TOPIC:
        if (m->topic) {
            d->kind = SINK_D_TEXT;
            d->s = m->topic;
            d->len = strlen(m->topic);
        }
        return 0;
    case SINK_X_PARTITION:
        d->kind = SINK_D_INT;
        d->i = m->partition;
        return 0;
    case SINK_X_OFFSET:
        d->kind = SINK_D_INT;
        d->i = m->offset;
        return 0;
    case SINK_X_TIMESTAMP:
        if (m->timestamp_ms >= 0) {
            d->kind = SINK_D_TIMESTAMP;
            d->i = m->timestamp_ms;
        }
        return 0;
    case SINK_X_NOW:
        d->kind = SINK_D_TIMESTAMP;
        d->i = m->now_ms;
        return 0;
    case SINK_X_LITERAL:
        d->kind = SINK_D_TEXT;
        d->s = x->arg;
        d->len = strlen(x->arg);
        return 0;
    case SINK_X_DAY: {
        struct sink_datum in;
        int rc = sink__expr_eval(x->inner, m, &in, err, errlen);
        if (rc || in.kind == SINK_D_NULL)
            return rc;
        int64_t ms;
        const char *s = NULL;
        size_t len = 0;
        if (in.kind == SINK_D_TIMESTAMP || in.kind == SINK_D_INT) {
            ms = in.i;
        } else if (in.kind == SINK_D_DATE) {
            ms = in.i * 86400000;
        } else if (in.kind == SINK_D_JSON && json_is_integer(in.json)) {
            ms = json_integer_value(in.json);
        } else {
            if (in.kind == SINK_D_TEXT) {
                s = in.s;
                len = in.len;
            } else if (json_is_string(in.json)) {
                s = json_string_value(in.json);
                len = json_string_length(in.json);
            }
            if (!s || sink__parse_timestamp(s, len, &ms)) {
                snprintf(err, errlen, "day(): not a timestamp: %s%.*s%s", s ? "\"" : "",
                         s ? (int)(len > 40 ? 40 : len) : 0, s ? s : "a non-text value",
                         s ? "\"" : "");
                return SPATE_ETYPE;
            }
        }
        d->kind = SINK_D_DATE;
        d->i = sink__day_of_ms(ms);
        return 0;
    }
    }
    return 0;
}

int sink__expr_eval(const struct sink_expr *x, const struct sink_msg_view *m,
                    struct sink_datum *d, char *err, size_t errlen)
{
    for (const struct sink_expr *a = x; a; a = a->alt) {
        int rc = eval_one(a, m, d, err, errlen);
        if (rc)
            return rc;
        if (d->kind != SINK_D_NULL)
            return 0;
    }
    memset(d, 0, sizeof *d);
    return 0;
}


int sink_check_mapping(const char *from, const char *declared, const char *column_type,
                       char *err, size_t errlen)
{
    struct sink_expr *x = NULL;
    struct sink_type *t = NULL;
    char e[256];
    int rc = sink__expr_parse(from, &x, e, sizeof e);
    if (rc) {
        snprintf(err, errlen, "from '%s': %s", from, e);
        return rc;
    }
    rc = sink__type_parse(column_type, &t, e, sizeof e);
    if (rc)
        snprintf(err, errlen, "%s", e);
    else
        rc = sink__expr_check(x, declared, t, err, errlen);
    sink__type_free(t);
    sink__expr_free(x);
    return rc;
}
