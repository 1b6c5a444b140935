/* SPDX-License-Identifier: Apache-2.0 */
/* sink_convert.c -- column types from system_schema, and JSON/bytes to typed CQL values. */
#include "sink_internal.h"

#include "spate/error.h"
#include "spate/text.h"
#include "spate/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- types ----------------------------------------------------------------- */

static const struct {
    const char *name;
    enum cql_type_id id;
} scalar_names[] = {
    {"ascii", CQL_TYPE_ASCII},       {"bigint", CQL_TYPE_BIGINT},
    {"blob", CQL_TYPE_BLOB},         {"boolean", CQL_TYPE_BOOLEAN},
    {"decimal", CQL_TYPE_DECIMAL},   {"double", CQL_TYPE_DOUBLE},
    {"float", CQL_TYPE_FLOAT},       {"int", CQL_TYPE_INT},
    {"timestamp", CQL_TYPE_TIMESTAMP}, {"uuid", CQL_TYPE_UUID},
    {"text", CQL_TYPE_VARCHAR},      {"varchar", CQL_TYPE_VARCHAR},
    {"varint", CQL_TYPE_VARINT},     {"timeuuid", CQL_TYPE_TIMEUUID},
    {"inet", CQL_TYPE_INET},         {"date", CQL_TYPE_DATE},
    {"time", CQL_TYPE_TIME},         {"smallint", CQL_TYPE_SMALLINT},
    {"tinyint", CQL_TYPE_TINYINT},   {"duration", CQL_TYPE_DURATION},
};

void sink__type_free(struct sink_type *t)
{
    if (!t)
        return;
    sink__type_free(t->sub[0]);
    sink__type_free(t->sub[1]);
    free(t);
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

static int parse_type_at(const char **p, struct sink_type **out, char *err, size_t errlen,
                         int depth)
{
    if (depth > 16) {
        snprintf(err, errlen, "type nested too deeply");
        return SPATE_EPARSE;
    }
    skip_ws(p);
    const char *start = *p;
    while (isalnum((unsigned char)**p) || **p == '_' || **p == '.' || **p == '\'')
        (*p)++;
    size_t n = (size_t)(*p - start);
    if (n == 0) {
        snprintf(err, errlen, "expected a type name at '%.20s'", start);
        return SPATE_EPARSE;
    }
    char name[64];
    if (n >= sizeof name) {
        snprintf(err, errlen, "type name too long");
        return SPATE_EPARSE;
    }
    memcpy(name, start, n);
    name[n] = 0;
    skip_ws(p);
    if (strcasecmp(name, "frozen") == 0) {
        if (**p != '<') {
            snprintf(err, errlen, "frozen without <...>");
            return SPATE_EPARSE;
        }
        (*p)++;
        int rc = parse_type_at(p, out, err, errlen, depth + 1);
        if (rc)
            return rc;
        skip_ws(p);
        if (**p != '>') {
            sink__type_free(*out);
            *out = NULL;
            snprintf(err, errlen, "missing '>' after frozen<...");
            return SPATE_EPARSE;
        }
        (*p)++;
        return 0;
    }
    struct sink_type *t = calloc(1, sizeof *t);
    if (!t)
        return SPATE_ENOMEM;
    int nsub = 0;
    if (strcasecmp(name, "list") == 0) {
        t->id = CQL_TYPE_LIST;
        nsub = 1;
    } else if (strcasecmp(name, "set") == 0) {
        t->id = CQL_TYPE_SET;
        nsub = 1;
    } else if (strcasecmp(name, "map") == 0) {
        t->id = CQL_TYPE_MAP;
        nsub = 2;
    } else {
        size_t i;
        for (i = 0; i < sizeof scalar_names / sizeof scalar_names[0]; i++)
            if (strcasecmp(name, scalar_names[i].name) == 0)
                break;
        if (i == sizeof scalar_names / sizeof scalar_names[0]) {
            free(t);
            if (strcasecmp(name, "counter") == 0)
                snprintf(err, errlen, "counter columns cannot be upserted by the sink");
            else
                snprintf(err, errlen, "type '%s' (tuple, user-defined, vector or custom) is "
                                      "not supported by the sink", name);
            return SPATE_EUNSUPPORTED;
        }
        t->id = scalar_names[i].id;
    }
    if (nsub) {
        if (**p != '<') {
            free(t);
            snprintf(err, errlen, "%s without <...>", name);
            return SPATE_EPARSE;
        }
        (*p)++;
        for (int i = 0; i < nsub; i++) {
            if (i > 0) {
                skip_ws(p);
                if (**p != ',') {
                    sink__type_free(t);
                    snprintf(err, errlen, "map needs two types");
                    return SPATE_EPARSE;
                }
                (*p)++;
            }
            int rc = parse_type_at(p, &t->sub[i], err, errlen, depth + 1);
            if (rc) {
                sink__type_free(t);
                return rc;
            }
            if (t->sub[i]->id == CQL_TYPE_LIST || t->sub[i]->id == CQL_TYPE_SET ||
                t->sub[i]->id == CQL_TYPE_MAP) {
                sink__type_free(t);
                snprintf(err, errlen, "nested collections are not supported by the sink");
                return SPATE_EUNSUPPORTED;
            }
        }
        skip_ws(p);
        if (**p != '>') {
            sink__type_free(t);
            snprintf(err, errlen, "missing '>' in %s type", name);
            return SPATE_EPARSE;
        }
        (*p)++;
    }
    *out = t;
    return 0;
}

int sink__type_parse(const char *s, struct sink_type **out, char *err, size_t errlen)
{
    const char *p = s;
    *out = NULL;
    int rc = parse_type_at(&p, out, err, errlen, 0);
    if (rc)
        return rc;
    skip_ws(&p);
    if (*p) {
        sink__type_free(*out);
        *out = NULL;
        snprintf(err, errlen, "unexpected '%s' after the type", p);
        return SPATE_EPARSE;
    }
    return 0;
}

static const char *scalar_name(enum cql_type_id id)
{
    if (id == CQL_TYPE_VARCHAR)
        return "text";
    for (size_t i = 0; i < sizeof scalar_names / sizeof scalar_names[0]; i++)
        if (scalar_names[i].id == id)
            return scalar_names[i].name;
    return "?";
}

const char *sink__type_name(const struct sink_type *t, char *buf, size_t size)
{
    char a[64], b[64];
    switch (t->id) {
    case CQL_TYPE_LIST:
    case CQL_TYPE_SET:
        snprintf(buf, size, "%s<%s>", t->id == CQL_TYPE_LIST ? "list" : "set",
                 sink__type_name(t->sub[0], a, sizeof a));
        break;
    case CQL_TYPE_MAP:
        snprintf(buf, size, "map<%s, %s>", sink__type_name(t->sub[0], a, sizeof a),
                 sink__type_name(t->sub[1], b, sizeof b));
        break;
    default:
        snprintf(buf, size, "%s", scalar_name(t->id));
    }
    return buf;
}

/* ---- scratch ------------------------------------------------------------------ */

struct sink_chunk {
    struct sink_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

void *sink__scratch_alloc(struct sink_scratch *sc, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n == 0)
        n = sizeof(max_align_t);
    struct sink_chunk *c = sc->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 8192 ? n : 8192;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = sc->head;
        sc->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void sink__scratch_reset(struct sink_scratch *sc)
{
    struct sink_chunk *c = sc->head;
    if (!c)
        return;
    /* keep the oldest (last) chunk, free the rest */
    while (c->next) {
        struct sink_chunk *n = c->next;
        free(c);
        c = n;
    }
    c->used = 0;
    sc->head = c;
}

void sink__scratch_free(struct sink_scratch *sc)
{
    struct sink_chunk *c = sc->head;
    while (c) {
        struct sink_chunk *n = c->next;
        free(c);
        c = n;
    }
    sc->head = NULL;
}

static char *scratch_strndup(struct sink_scratch *sc, const char *s, size_t len)
{
    char *p = sink__scratch_alloc(sc, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = 0;
    return p;
}

/* ---- scalar parsers ---------------------------------------------------------------- */

int sink__parse_timestamp(const char *s, size_t len, int64_t *ms)
{
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    if (len > 0 && len <= 19 && spate_all_digits(s, len)) {
        char buf[24];
        memcpy(buf, s, len);
        buf[len] = 0;
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno)
            return SPATE_EPARSE;
        *ms = v;
        return 0;
    }
    return spate_parse_iso8601(s, len, ms, NULL) ? SPATE_EPARSE : 0;
}

int64_t sink__day_of_ms(int64_t ms)
{
    int64_t d = ms / 86400000;
    if (ms % 86400000 < 0)
        d--;
    return d;
}

int sink__parse_uuid(const char *s, size_t len, uint8_t out[16])
{
    return spate_parse_uuid(s, len, out) ? SPATE_EPARSE : 0;
}

static int parse_int_text(const char *s, size_t len, int64_t *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return SPATE_EPARSE;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (end == buf || *end)
        return SPATE_EPARSE;
    if (errno == ERANGE)
        return SPATE_ERANGE;
    *out = v;
    return 0;
}

static int parse_double_text(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return SPATE_EPARSE;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || *end || isspace((unsigned char)buf[0]))
        return SPATE_EPARSE;
    *out = v;
    return 0;
}

/* Decimal number syntax: -?digits(.digits)?([eE][+-]?digits)? */
static int is_decimal_text(const char *s, size_t len)
{
    size_t i = 0, nd = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < len && isdigit((unsigned char)s[i])) {
        i++;
        nd++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && isdigit((unsigned char)s[i])) {
            i++;
            nd++;
        }
    }
    if (nd == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t ne = 0;
        while (i < len && isdigit((unsigned char)s[i])) {
            i++;
            ne++;
        }
        if (ne == 0)
            return 0;
    }
    return i == len;
}

/* Checks UTF-8; returns the length of the valid prefix == len when valid. */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* Invalid UTF-8 from raw bytes (a key, a header, a non-JSON value) becomes
 * U+FFFD per bad byte, so a text column still gets a readable string. */
static const char *utf8_sanitize(struct sink_scratch *sc, const char *s, size_t len,
                                 size_t *outlen)
{
    if (utf8_valid((const unsigned char *)s, len)) {
        *outlen = len;
        return s;
    }
    char *o = sink__scratch_alloc(sc, len * 3 + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                             : (c & 0xF8) == 0xF0 ? 3 : 9;
        if (n < 9 && len - i > n && utf8_valid((const unsigned char *)s + i, n + 1)) {
            memcpy(o + j, s + i, n + 1);
            j += n + 1;
            i += n + 1;
        } else {
            memcpy(o + j, "\xEF\xBF\xBD", 3);
            j += 3;
            i++;
        }
    }
    *outlen = j;
    return o;
}

/* ---- conversion -------------------------------------------------------------------- */

/* Short description of a datum for error messages. */
static void describe(const struct sink_datum *d, char *buf, size_t size)
{
    switch (d->kind) {
    case SINK_D_NULL:
        snprintf(buf, size, "null");
        return;
    case SINK_D_TEXT:
        snprintf(buf, size, "\"%.*s%s\"", (int)(d->len > 40 ? 40 : d->len), d->s,
                 d->len > 40 ? "..." : "");
        return;
    case SINK_D_INT:
        snprintf(buf, size, "integer %" PRId64, d->i);
        return;
    case SINK_D_TIMESTAMP:
        snprintf(buf, size, "timestamp %" PRId64 " ms", d->i);
        return;
    case SINK_D_DATE:
        snprintf(buf, size, "date %" PRId64, d->i);
        return;
    case SINK_D_JSON:
        break;
    }
    const json_t *j = d->json;
    switch (json_typeof(j)) {
    case JSON_STRING: {
        size_t n = json_string_length(j);
        snprintf(buf, size, "string \"%.*s%s\"", (int)(n > 40 ? 40 : n), json_string_value(j),
                 n > 40 ? "..." : "");
        return;
    }
    case JSON_INTEGER:
        snprintf(buf, size, "number %" JSON_INTEGER_FORMAT, json_integer_value(j));
        return;
    case JSON_REAL:
        snprintf(buf, size, "number %.17g", json_real_value(j));
        return;
    case JSON_TRUE:
    case JSON_FALSE:
        snprintf(buf, size, "boolean %s", json_is_true(j) ? "true" : "false");
        return;
    case JSON_OBJECT:
        snprintf(buf, size, "an object");
        return;
    case JSON_ARRAY:
        snprintf(buf, size, "an array");
        return;
    case JSON_NULL:
        snprintf(buf, size, "null");
        return;
    }
}

static int fail(const struct sink_type *t, const struct sink_datum *d, const char *why,
                char *err, size_t errlen, int code)
{
    char tn[64], dn[96];
    describe(d, dn, sizeof dn);
    snprintf(err, errlen, "%s for %s: %s", why ? why : "does not convert",
             sink__type_name(t, tn, sizeof tn), dn);
    return code;
}

/* The text of a datum when it has one (JSON string or raw bytes). */
static int text_of(const struct sink_datum *d, const char **s, size_t *len)
{
    if (d->kind == SINK_D_TEXT) {
        *s = d->s;
        *len = d->len;
        return 1;
    }
    if (d->kind == SINK_D_JSON && json_is_string(d->json)) {
        *s = json_string_value(d->json);
        *len = json_string_length(d->json);
        return 1;
    }
    return 0;
}

static int to_integer(const struct sink_type *t, const struct sink_datum *d, int64_t lo,
                      int64_t hi, struct cql_value *out, char *err, size_t errlen)
{
    int64_t v;
    const char *s;
    size_t len;
    if (d->kind == SINK_D_INT || d->kind == SINK_D_TIMESTAMP) {
        v = d->i;
    } else if (d->kind == SINK_D_JSON && json_is_integer(d->json)) {
        v = json_integer_value(d->json);
    } else if (d->kind == SINK_D_JSON && json_is_real(d->json)) {
        double x = json_real_value(d->json);
        if (x != floor(x) || x < -9.2e18 || x > 9.2e18)
            return fail(t, d, "not an integer", err, errlen, SPATE_ETYPE);
        v = (int64_t)x;
    } else if (text_of(d, &s, &len)) {
        int rc = parse_int_text(s, len, &v);
        if (rc == SPATE_ERANGE)
            return fail(t, d, "out of range", err, errlen, SPATE_ERANGE);
        if (rc)
            return fail(t, d, "not an integer", err, errlen, SPATE_ETYPE);
    } else {
        return fail(t, d, NULL, err, errlen, SPATE_ETYPE);
    }
    if (v < lo || v > hi)
        return fail(t, d, "out of range", err, errlen, SPATE_ERANGE);
    *out = cql_int(v);
    return 0;
}

static int to_real(const struct sink_type *t, const struct sink_datum *d, int is_float,
                   struct cql_value *out, char *err, size_t errlen)
{
    double v;
    const char *s;
    size_t len;
    if (d->kind == SINK_D_INT) {
        v = (double)d->i;
    } else if (d->kind == SINK_D_JSON && json_is_number(d->json)) {
        v = json_number_value(d->json);
    } else if (text_of(d, &s, &len)) {
        if (parse_double_text(s, len, &v))
            return fail(t, d, "not a number", err, errlen, SPATE_ETYPE);
    } else {
        return fail(t, d, NULL, err, errlen, SPATE_ETYPE);
    }
    if (is_float && isfinite(v) && fabs(v) > FLT_MAX)
        return fail(t, d, "out of range", err, errlen, SPATE_ERANGE);
    *out = cql_double(v);
    return 0;
}

static int to_timestamp_ms(const struct sink_type *t, const struct sink_datum *d, int64_t *ms,
                           char *err, size_t errlen)
{
    const char *s;
    size_t len;
    if (d->kind == SINK_D_TIMESTAMP || d->kind == SINK_D_INT) {
        *ms = d->i;
        return 0;
    }
    if (d->kind == SINK_D_DATE) {
        *ms = d->i * 86400000;
        return 0;
    }
    if (d->kind == SINK_D_JSON && json_is_integer(d->json)) {
        *ms = json_integer_value(d->json);
        return 0;
    }
    if (d->kind == SINK_D_JSON && json_is_real(d->json)) {
        double x = json_real_value(d->json);
        if (!isfinite(x) || fabs(x) > 9.2e18)
            return fail(t, d, "out of range", err, errlen, SPATE_ERANGE);
        *ms = (int64_t)floor(x);
        return 0;
    }
    if (text_of(d, &s, &len)) {
        if (sink__parse_timestamp(s, len, ms))
            return fail(t, d, "not an ISO-8601 timestamp or epoch milliseconds", err, errlen,
                        SPATE_ETYPE);
        return 0;
    }
    return fail(t, d, NULL, err, errlen, SPATE_ETYPE);
}

static int format_text(const struct sink_datum *d, struct sink_scratch *sc, const char **s,
                       size_t *len)
{
    char buf[64];
    int n;
    if (d->kind == SINK_D_INT) {
        n = snprintf(buf, sizeof buf, "%" PRId64, d->i);
    } else if (d->kind == SINK_D_TIMESTAMP || d->kind == SINK_D_DATE) {
        int64_t ms = d->kind == SINK_D_DATE ? d->i * 86400000 : d->i;
        int64_t days = sink__day_of_ms(ms), rem = ms - days * 86400000;
        /* civil from days (Howard Hinnant's algorithm) */
        int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153, dd = doy - (153 * mp + 2) / 5 + 1;
        int64_t mm = mp < 10 ? mp + 3 : mp - 9;
        y += mm <= 2;
        if (d->kind == SINK_D_DATE)
            n = snprintf(buf, sizeof buf, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y, mm, dd);
        else
            n = snprintf(buf, sizeof buf,
                         "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02" PRId64 ":%02" PRId64
                         ":%02" PRId64 ".%03" PRId64 "Z",
                         y, mm, dd, rem / 3600000, rem / 60000 % 60, rem / 1000 % 60, rem % 1000);
    } else if (d->kind == SINK_D_JSON) {
        const json_t *j = d->json;
        if (json_is_integer(j)) {
            n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        } else if (json_is_real(j)) {
            n = snprintf(buf, sizeof buf, "%.17g", json_real_value(j));
        } else if (json_is_boolean(j)) {
            n = snprintf(buf, sizeof buf, "%s", json_is_true(j) ? "true" : "false");
        } else {
            /* objects and arrays: compact JSON text */
            char *dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!dump)
                return SPATE_ENOMEM;
            size_t dl = strlen(dump);
            *s = scratch_strndup(sc, dump, dl);
            free(dump);
            *len = dl;
            return *s ? 0 : SPATE_ENOMEM;
        }
    } else {
        return SPATE_ETYPE;
    }
    *s = scratch_strndup(sc, buf, (size_t)n);
    *len = (size_t)n;
    return *s ? 0 : SPATE_ENOMEM;
}

static int convert_scalar(const struct sink_type *t, const struct sink_datum *d,
                          struct sink_scratch *sc, struct cql_value *out, char *err, size_t errlen)
{
    const char *s;
    size_t len;
    switch (t->id) {
    case CQL_TYPE_VARCHAR:
    case CQL_TYPE_ASCII:
        if (d->kind == SINK_D_TEXT) {
            s = utf8_sanitize(sc, d->s, d->len, &len);
            if (!s)
                return SPATE_ENOMEM;
        } else if (!text_of(d, &s, &len)) {
            int rc = format_text(d, sc, &s, &len);
            if (rc == SPATE_ENOMEM)
                return rc;
            if (rc)
                return fail(t, d, NULL, err, errlen, SPATE_ETYPE);
        }
        if (t->id == CQL_TYPE_ASCII)
            for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] >= 0x80)
                    return fail(t, d, "non-ASCII character", err, errlen, SPATE_ETYPE);
        *out = cql_textn(s, len);
        return 0;
    case CQL_TYPE_BIGINT:
    case CQL_TYPE_COUNTER:
        return to_integer(t, d, INT64_MIN, INT64_MAX, out, err, errlen);
    case CQL_TYPE_INT:
        return to_integer(t, d, INT32_MIN, INT32_MAX, out, err, errlen);
    case CQL_TYPE_SMALLINT:
        return to_integer(t, d, INT16_MIN, INT16_MAX, out, err, errlen);
    case CQL_TYPE_TINYINT:
        return to_integer(t, d, INT8_MIN, INT8_MAX, out, err, errlen);
    case CQL_TYPE_VARINT:
        if (text_of(d, &s, &len) && len > 18) {
            if (!spate_all_digits(s, len))
                return fail(t, d, "not an integer", err, errlen, SPATE_ETYPE);
            *out = cql_textn(s, len);
            return 0;
        }
        return to_integer(t, d, INT64_MIN, INT64_MAX, out, err, errlen);
    case CQL_TYPE_FLOAT:
        return to_real(t, d, 1, out, err, errlen);
    case CQL_TYPE_DOUBLE:
        return to_real(t, d, 0, out, err, errlen);
    case CQL_TYPE_DECIMAL:
        if (text_of(d, &s, &len)) {
            if (!is_decimal_text(s, len))
                return fail(t, d, "not a decimal number", err, errlen, SPATE_ETYPE);
            *out = cql_textn(s, len);
            return 0;
        }
        if (d->kind == SINK_D_INT) {
            *out = cql_int(d->i);
            return 0;
        }
        if (d->kind == SINK_D_JSON && json_is_integer(d->json)) {
            *out = cql_int(json_integer_value(d->json));
            return 0;
        }
        if (d->kind == SINK_D_JSON && json_is_real(d->json)) {
            /* the shortest text that round-trips keeps 0.1 as 0.1 */
            char buf[40];
            double x = json_real_value(d->json);
            for (int prec = 15; prec <= 17; prec++) {
                snprintf(buf, sizeof buf, "%.*g", prec, x);
                if (strtod(buf, NULL) == x)
                    break;
            }
            if (!is_decimal_text(buf, strlen(buf)))
                return fail(t, d, "not a finite number", err, errlen, SPATE_ETYPE);
            s = scratch_strndup(sc, buf, strlen(buf));
            if (!s)
                return SPATE_ENOMEM;
            *out = cql_textn(s, strlen(s));
            return 0;
        }
        return fail(t, d, NULL, err, errlen, SPATE_ETYPE);
    case CQL_TYPE_BOOLEAN:
        if (d->kind == SINK_D_JSON && json_is_boolean(d->json)) {
            *out = cql_bool(json_is_true(d->json));
            return 0;
        }
        if (d->kind == SINK_D_JSON && json_is_integer(d->json) &&
            (json_integer_value(d->json) == 0 || json_integer_value(d->json) == 1)) {
            *out = cql_bool(json_integer_value(d->json) == 1);
            return 0;
        }
        if (text_of(d, &s, &len)) {
            if ((len == 4 && strncasecmp(s, "true", 4) == 0) || (len == 1 && s[0] == '1')) {
                *out = cql_bool(1);
                return 0;
            }
            if ((len == 5 && strncasecmp(s, "false", 5) == 0) || (len == 1 && s[0] == '0')) {
                *out = cql_bool(0);
                return 0;
            }
        }
        return fail(t, d, "not a boolean", err, errlen, SPATE_ETYPE);
    case CQL_TYPE_TIMESTAMP: {
        int64_t ms;
        int rc = to_timestamp_ms(t, d, &ms, err, errlen);
        if (rc)
            return rc;
        *out = cql_int(ms);
        return 0;
    }
    case CQL_TYPE_DATE: {
        int64_t days;
        if (d->kind == SINK_D_DATE || d->kind == SINK_D_INT) {
            days = d->i;
        } else if (d->kind == SINK_D_TIMESTAMP) {
            days = sink__day_of_ms(d->i);
        } else if (d->kind == SINK_D_JSON && json_is_integer(d->json)) {
            days = json_integer_value(d->json);
        } else if (text_of(d, &s, &len)) {
            int64_t ms;
            if (sink__parse_timestamp(s, len, &ms) || spate_all_digits(s, len))
                return fail(t, d, "not a date (YYYY-MM-DD)", err, errlen, SPATE_ETYPE);
            days = sink__day_of_ms(ms);
        } else {
            return fail(t, d, NULL, err, errlen, SPATE_ETYPE);
        }
        if (days < INT32_MIN || days > INT32_MAX)
            return fail(t, d, "out of range", err, errlen, SPATE_ERANGE);
        *out = cql_int(days);
        return 0;
    }
    case CQL_TYPE_TIME: {
        if (d->kind == SINK_D_JSON && json_is_integer(d->json)) {
            int64_t ns = json_integer_value(d->json);
            if (ns < 0 || ns >= 86400000000000LL)
                return fail(t, d, "out of range", err, errlen, SPATE_ERANGE);
            *out = cql_int(ns);
            return 0;
        }
        int64_t ns;
        size_t used;
        if (!text_of(d, &s, &len) || spate_parse_time_of_day(s, len, &ns, &used) || used != len)
            return fail(t, d, "not a time (HH:MM:SS.fff)", err, errlen, SPATE_ETYPE);
        *out = cql_int(ns);
        return 0;
    }
    case CQL_TYPE_UUID:
    case CQL_TYPE_TIMEUUID: {
        uint8_t u[16];
        if (!text_of(d, &s, &len) || sink__parse_uuid(s, len, u))
            return fail(t, d, "not a uuid", err, errlen, SPATE_ETYPE);
        if (t->id == CQL_TYPE_TIMEUUID && (u[6] >> 4) != 1)
            return fail(t, d, "not a version 1 uuid", err, errlen, SPATE_ETYPE);
        out->kind = CQL_V_UUID;
        memcpy(out->u.uuid, u, 16);
        return 0;
    }
    case CQL_TYPE_INET: {
        char buf[INET6_ADDRSTRLEN + 1];
        if (!text_of(d, &s, &len) || len >= sizeof buf)
            return fail(t, d, "not an IP address", err, errlen, SPATE_ETYPE);
        memcpy(buf, s, len);
        buf[len] = 0;
        out->kind = CQL_V_INET;
        memset(out->u.inet.addr, 0, sizeof out->u.inet.addr);
        if (inet_pton(AF_INET, buf, out->u.inet.addr) == 1) {
            out->u.inet.len = 4;
            return 0;
        }
        if (inet_pton(AF_INET6, buf, out->u.inet.addr) == 1) {
            out->u.inet.len = 16;
            return 0;
        }
        return fail(t, d, "not an IP address", err, errlen, SPATE_ETYPE);
    }
    case CQL_TYPE_BLOB:
        if (d->kind == SINK_D_TEXT) {
            *out = cql_blob(d->s, d->len);
            return 0;
        }
        if (!text_of(d, &s, &len)) {
            int rc = format_text(d, sc, &s, &len);
            if (rc == SPATE_ENOMEM)
                return rc;
            if (rc)
                return fail(t, d, NULL, err, errlen, SPATE_ETYPE);
            *out = cql_blob(s, len);
            return 0;
        }
        if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            if (len % 2)
                return fail(t, d, "odd number of hex digits", err, errlen, SPATE_ETYPE);
            size_t n = (len - 2) / 2;
            uint8_t *b = sink__scratch_alloc(sc, n + 1);
            if (!b)
                return SPATE_ENOMEM;
            for (size_t i = 0; i < n; i++) {
                int hi = spate_hexval((unsigned char)s[2 + 2 * i]),
                    lo = spate_hexval((unsigned char)s[3 + 2 * i]);
                if (hi < 0 || lo < 0)
                    return fail(t, d, "bad hex digit", err, errlen, SPATE_ETYPE);
                b[i] = (uint8_t)(hi << 4 | lo);
            }
            *out = cql_blob(b, n);
            return 0;
        }
        *out = cql_blob(s, len);
        return 0;
    case CQL_TYPE_DURATION:
        if (!text_of(d, &s, &len) || len == 0)
            return fail(t, d, "not a duration (e.g. 1h30m)", err, errlen, SPATE_ETYPE);
        *out = cql_textn(s, len); /* the cql layer parses and checks it */
        return 0;
    default:
        return fail(t, d, "unsupported column type", err, errlen, SPATE_ETYPE);
    }
}

int sink__convert(const struct sink_type *t, const struct sink_datum *d, struct sink_scratch *sc,
                  struct cql_value *out, char *err, size_t errlen)
{
    if (d->kind == SINK_D_NULL || (d->kind == SINK_D_JSON && json_is_null(d->json))) {
        *out = cql_null();
        return 0;
    }
    if (t->id == CQL_TYPE_LIST || t->id == CQL_TYPE_SET) {
        if (d->kind != SINK_D_JSON || !json_is_array(d->json))
            return fail(t, d, "expected a JSON array", err, errlen, SPATE_ETYPE);
        size_t n = json_array_size(d->json);
        struct cql_value *items = sink__scratch_alloc(sc, (n ? n : 1) * sizeof *items);
        if (!items)
            return SPATE_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            struct sink_datum e = {.kind = SINK_D_JSON, .json = json_array_get(d->json, i)};
            if (json_is_null(e.json))
                return fail(t, d, "null element", err, errlen, SPATE_ETYPE);
            int rc = convert_scalar(t->sub[0], &e, sc, &items[i], err, errlen);
            if (rc)
                return rc;
        }
        *out = cql_list(items, n);
        return 0;
    }
    if (t->id == CQL_TYPE_MAP) {
        if (d->kind != SINK_D_JSON || !json_is_object(d->json))
            return fail(t, d, "expected a JSON object", err, errlen, SPATE_ETYPE);
        size_t n = json_object_size(d->json), i = 0;
        struct cql_value *kv = sink__scratch_alloc(sc, (n ? 2 * n : 1) * sizeof *kv);
        if (!kv)
            return SPATE_ENOMEM;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)d->json, k, v)
        {
            struct sink_datum kd = {.kind = SINK_D_TEXT, .s = k, .len = strlen(k)};
            struct sink_datum vd = {.kind = SINK_D_JSON, .json = v};
            int rc = convert_scalar(t->sub[0], &kd, sc, &kv[2 * i], err, errlen);
            if (rc)
                return rc;
            if (json_is_null(v))
                return fail(t, d, "null map value", err, errlen, SPATE_ETYPE);
            rc = convert_scalar(t->sub[1], &vd, sc, &kv[2 * i + 1], err, errlen);
            if (rc)
                return rc;
            i++;
        }
        *out = cql_map(kv, n);
        return 0;
    }
    return convert_scalar(t, d, sc, out, err, errlen);
}

