/* SPDX-License-Identifier: Apache-2.0 */
/* values.c -- CQL values: constructors, validation of received values, encoding of bound values from text and numbers. */
#include "cql_internal.h"

#include "spate/text.h"

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

/* ---- value constructors -------------------------------------------------------------- */

struct cql_value cql_text(const char *s)
{
    return cql_textn(s, s ? strlen(s) : 0);
}

struct cql_value cql_textn(const char *s, size_t len)
{
    struct cql_value v = {.kind = CQL_V_TEXT};
    v.u.s.ptr = s;
    v.u.s.len = len;
    return v;
}

struct cql_value cql_blob(const void *p, size_t len)
{
    struct cql_value v = {.kind = CQL_V_BLOB};
    v.u.s.ptr = p;
    v.u.s.len = len;
    return v;
}

struct cql_value cql_uuid(const uint8_t uuid[16])
{
    struct cql_value v = {.kind = CQL_V_UUID};
    memcpy(v.u.uuid, uuid, 16);
    return v;
}

struct cql_value cql_list(const struct cql_value *items, size_t count)
{
    struct cql_value v = {.kind = CQL_V_LIST};
    v.u.coll.items = items;
    v.u.coll.count = count;
    return v;
}

struct cql_value cql_map(const struct cql_value *kv, size_t pairs)
{
    struct cql_value v = {.kind = CQL_V_MAP};
    v.u.coll.items = kv;
    v.u.coll.count = pairs;
    return v;
}

struct cql_value cql_tuple(const struct cql_value *items, size_t count)
{
    struct cql_value v = {.kind = CQL_V_TUPLE};
    v.u.coll.items = items;
    v.u.coll.count = count;
    return v;
}

/* ---- validation of received values ------------------------------------------------------ */

static int fixed_size(enum cql_type_id id)
{
    switch (id) {
    case CQL_TYPE_BIGINT:
    case CQL_TYPE_COUNTER:
    case CQL_TYPE_TIMESTAMP:
    case CQL_TYPE_TIME:
    case CQL_TYPE_DOUBLE: return 8;
    case CQL_TYPE_INT:
    case CQL_TYPE_FLOAT:
    case CQL_TYPE_DATE: return 4;
    case CQL_TYPE_SMALLINT: return 2;
    case CQL_TYPE_TINYINT:
    case CQL_TYPE_BOOLEAN: return 1;
    case CQL_TYPE_UUID:
    case CQL_TYPE_TIMEUUID: return 16;
    default: return -1;
    }
}

int cql__value_validate(const struct cql_type *t, const uint8_t *p, int32_t len, int depth)
{
    if (len < 0 || !t)
        return 0;
    if (depth > CQL_MAX_TYPE_DEPTH)
        return SPATE_EPARSE;
    int fs = fixed_size(t->id);
    if (fs > 0)
        return (len == 0 || len == fs) ? 0 : SPATE_EPARSE;
    struct cql_reader r;
    cql__reader_init(&r, p, (size_t)len);
    switch (t->id) {
    case CQL_TYPE_INET: return (len == 0 || len == 4 || len == 16) ? 0 : SPATE_EPARSE;
    case CQL_TYPE_DECIMAL: return (len == 0 || len >= 4) ? 0 : SPATE_EPARSE;
    case CQL_TYPE_DURATION: {
        if (len == 0)
            return 0;
        uint64_t v;
        for (int i = 0; i < 3; i++)
            if (cql__vint_read(&r, &v))
                return SPATE_EPARSE;
        return cql__reader_left(&r) == 0 ? 0 : SPATE_EPARSE;
    }
    case CQL_TYPE_LIST:
    case CQL_TYPE_SET:
    case CQL_TYPE_MAP: {
        if (len == 0)
            return 0;
        int32_t n;
        if (cql__rd_i32(&r, &n) || n < 0)
            return SPATE_EPARSE;
        int per = t->id == CQL_TYPE_MAP ? 2 : 1;
        if ((size_t)n > cql__reader_left(&r) / (4u * (unsigned)per))
            return SPATE_EPARSE;
        for (int32_t i = 0; i < n; i++) {
            for (int j = 0; j < per; j++) {
                const uint8_t *ep;
                int32_t el;
                if (cql__rd_bytes(&r, &ep, &el) ||
                    cql__value_validate(t->sub[j], ep, el, depth + 1))
                    return SPATE_EPARSE;
            }
        }
        return cql__reader_left(&r) == 0 ? 0 : SPATE_EPARSE;
    }
    case CQL_TYPE_TUPLE:
    case CQL_TYPE_UDT:
        for (size_t i = 0; i < t->count && cql__reader_left(&r) > 0; i++) {
            const uint8_t *ep;
            int32_t el;
            if (cql__rd_bytes(&r, &ep, &el) || cql__value_validate(t->sub[i], ep, el, depth + 1))
                return SPATE_EPARSE;
        }
        return cql__reader_left(&r) == 0 ? 0 : SPATE_EPARSE;
    default: return 0; /* text, ascii, blob, varint, custom: any bytes */
    }
}

/* ---- parsing text into values ---------------------------------------------------------------- */

/* Copies a counted string into a NUL-terminated stack buffer. */
static int cstr(char *dst, size_t size, const struct cql_value *v)
{
    if (v->u.s.len >= size)
        return SPATE_ETOOBIG;
    memcpy(dst, v->u.s.ptr, v->u.s.len);
    dst[v->u.s.len] = '\0';
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return SPATE_EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (*end || errno == ERANGE)
        return errno == ERANGE ? SPATE_ERANGE : SPATE_EINVAL;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return SPATE_EINVAL;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return SPATE_EINVAL;
    *out = d;
    return 0;
}

static int parse_timestamp(const char *s, int64_t *ms)
{
    int64_t v;
    if (parse_i64(s, &v) == 0) {
        *ms = v;
        return 0;
    }
    return spate_parse_iso8601(s, strlen(s), ms, NULL);
}

/* Decimal digit string (with optional sign) -> minimal two's complement
 * big-endian bytes. */
static int varint_from_decimal(const char *s, size_t len, struct spate_buf *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == len)
        return SPATE_EINVAL;
    size_t cap = (len - i) / 2 + 2; /* bytes: log256(10^n) < n/2 + 1 */
    uint8_t *mag = calloc(cap, 1);  /* big-endian magnitude */
    if (!mag)
        return SPATE_ENOMEM;
    for (; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) {
            free(mag);
            return SPATE_EINVAL;
        }
        unsigned carry = (unsigned)(s[i] - '0');
        for (size_t k = cap; k-- > 0;) {
            unsigned v = mag[k] * 10u + carry;
            mag[k] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    if (neg) { /* two's complement: invert and add one */
        unsigned carry = 1;
        for (size_t k = cap; k-- > 0;) {
            unsigned v = (uint8_t)~mag[k] + carry;
            mag[k] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    /* strip redundant sign bytes */
    size_t start = 0;
    while (start + 1 < cap && ((mag[start] == 0x00 && !(mag[start + 1] & 0x80)) ||
                               (mag[start] == 0xFF && (mag[start + 1] & 0x80))))
        start++;
    int rc = spate_buf_append(out, mag + start, cap - start);
    free(mag);
    return rc;
}

static int varint_from_i64(int64_t v, struct spate_buf *out)
{
    uint8_t b[8];
    cql__put_i64(b, v);
    size_t start = 0;
    while (start < 7 && ((b[start] == 0x00 && !(b[start + 1] & 0x80)) ||
                         (b[start] == 0xFF && (b[start + 1] & 0x80))))
        start++;
    return spate_buf_append(out, b + start, 8 - start);
}

/* "-12.345e-3" -> unscaled varint + scale */
static int decimal_from_text(const char *s, size_t len, struct spate_buf *out)
{
    char digits[512];
    size_t nd = 0;
    int32_t scale = 0;
    size_t i = 0;
    int seen_dot = 0, any = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        if (s[i] == '-')
            digits[nd++] = '-';
        i++;
    }
    for (; i < len; i++) {
        char c = s[i];
        if (isdigit((unsigned char)c)) {
            if (nd >= sizeof digits - 1)
                return SPATE_ETOOBIG;
            digits[nd++] = c;
            any = 1;
            if (seen_dot)
                scale++;
        } else if (c == '.' && !seen_dot) {
            seen_dot = 1;
        } else if (c == 'e' || c == 'E') {
            char ebuf[16];
            size_t el = len - i - 1;
            if (el == 0 || el >= sizeof ebuf)
                return SPATE_EINVAL;
            memcpy(ebuf, s + i + 1, el);
            ebuf[el] = '\0';
            int64_t e;
            if (parse_i64(ebuf, &e) || e > 100000 || e < -100000)
                return SPATE_EINVAL;
            scale -= (int32_t)e;
            break;
        } else {
            return SPATE_EINVAL;
        }
    }
    if (!any)
        return SPATE_EINVAL;
    int rc = cql__wr_i32(out, scale);
    return rc ? rc : varint_from_decimal(digits, nd, out);
}

static int blob_from_text(const char *s, size_t len, struct spate_buf *out)
{
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (len % 2)
            return SPATE_EINVAL;
        for (size_t i = 2; i < len; i += 2) {
            int h = spate_hexval((unsigned char)s[i]), l = spate_hexval((unsigned char)s[i + 1]);
            if (h < 0 || l < 0)
                return SPATE_EINVAL;
            uint8_t b = (uint8_t)(h << 4 | l);
            int rc = spate_buf_append(out, &b, 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    return spate_buf_append(out, s, len);
}

/* "1y2mo3w4d5h6m7s8ms9us10ns", optional leading '-' */
static int duration_from_text(const char *s, int32_t *months, int32_t *days, int64_t *nanos)
{
    int neg = 0;
    int64_t mo = 0, d = 0, ns = 0;
    if (*s == '-')
        neg = 1, s++;
    if (!*s)
        return SPATE_EINVAL;
    while (*s) {
        if (!isdigit((unsigned char)*s))
            return SPATE_EINVAL;
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (errno)
            return SPATE_ERANGE;
        s = end;
        if (!strncasecmp(s, "mo", 2))
            mo += n * 1, s += 2;
        else if (!strncasecmp(s, "ms", 2))
            ns += n * 1000000LL, s += 2;
        else if (!strncasecmp(s, "us", 2))
            ns += n * 1000LL, s += 2;
        else if (!strncasecmp(s, "ns", 2))
            ns += n, s += 2;
        else if (*s == 'y' || *s == 'Y')
            mo += n * 12, s++;
        else if (*s == 'w' || *s == 'W')
            d += n * 7, s++;
        else if (*s == 'd' || *s == 'D')
            d += n, s++;
        else if (*s == 'h' || *s == 'H')
            ns += n * 3600000000000LL, s++;
        else if (*s == 'm' || *s == 'M')
            ns += n * 60000000000LL, s++;
        else if (*s == 's' || *s == 'S')
            ns += n * 1000000000LL, s++;
        else
            return SPATE_EINVAL;
    }
    if (mo > INT32_MAX || d > INT32_MAX)
        return SPATE_ERANGE;
    *months = (int32_t)(neg ? -mo : mo);
    *days = (int32_t)(neg ? -d : d);
    *nanos = neg ? -ns : ns;
    return 0;
}

/* ---- encoding bound values -------------------------------------------------------------------- */

static const char *kind_name(enum cql_value_kind k)
{
    static const char *const n[] = {"null", "unset", "boolean", "integer", "double", "text",
                                     "blob", "uuid",  "inet",    "duration", "list", "map",
                                     "tuple", "raw"};
    return (unsigned)k < sizeof n / sizeof n[0] ? n[k] : "?";
}

static int mismatch(char *err, size_t errlen, const struct cql_type *t,
                    const struct cql_value *v, const char *why)
{
    char tn[96];
    cql_type_str(t, tn, sizeof tn);
    if (why)
        snprintf(err, errlen, "%s value does not fit %s: %s", kind_name(v->kind), tn, why);
    else
        snprintf(err, errlen, "%s value does not fit %s", kind_name(v->kind), tn);
    return SPATE_ETYPE;
}

/* Converts v to a 64-bit integer when it is one (INT, integral DOUBLE, TEXT). */
static int as_i64(const struct cql_value *v, int64_t *out, char *err, size_t errlen,
                  const struct cql_type *t)
{
    char buf[64];
    switch (v->kind) {
    case CQL_V_INT: *out = v->u.i; return 0;
    case CQL_V_BOOL: *out = v->u.b ? 1 : 0; return 0;
    case CQL_V_DOUBLE:
        if (!(v->u.d == floor(v->u.d)) || fabs(v->u.d) >= 9.2233720368547758e18)
            return mismatch(err, errlen, t, v, "not an integer");
        *out = (int64_t)v->u.d;
        return 0;
    case CQL_V_TEXT: {
        if (cstr(buf, sizeof buf, v))
            return mismatch(err, errlen, t, v, "text too long for a number");
        int rc = parse_i64(buf, out);
        if (rc == SPATE_ERANGE)
            return mismatch(err, errlen, t, v, "out of range");
        if (rc) {
            double d;
            if (parse_double(buf, &d) == 0 && d == floor(d) && fabs(d) < 9.2233720368547758e18) {
                *out = (int64_t)d;
                return 0;
            }
            snprintf(err, errlen, "'%s' is not an integer", buf);
            return SPATE_ETYPE;
        }
        return 0;
    }
    default: return mismatch(err, errlen, t, v, NULL);
    }
}

static int as_double(const struct cql_value *v, double *out, char *err, size_t errlen,
                     const struct cql_type *t)
{
    char buf[128];
    switch (v->kind) {
    case CQL_V_INT: *out = (double)v->u.i; return 0;
    case CQL_V_DOUBLE: *out = v->u.d; return 0;
    case CQL_V_TEXT:
        if (cstr(buf, sizeof buf, v) || parse_double(buf, out)) {
            snprintf(err, errlen, "'%.*s' is not a number", (int)(v->u.s.len > 60 ? 60 : v->u.s.len),
                     (const char *)v->u.s.ptr);
            return SPATE_ETYPE;
        }
        return 0;
    default: return mismatch(err, errlen, t, v, NULL);
    }
}

static int range_check(int64_t x, int64_t lo, int64_t hi, char *err, size_t errlen,
                       const struct cql_type *t)
{
    if (x < lo || x > hi) {
        char tn[32];
        cql_type_str(t, tn, sizeof tn);
        snprintf(err, errlen, "value %" PRId64 " out of range for %s", x, tn);
        return SPATE_ETYPE;
    }
    return 0;
}

static int enc_value(struct spate_buf *b, const struct cql_type *t, const struct cql_value *v,
                     int depth, int in_coll, char *err, size_t errlen);

static int enc_elements(struct spate_buf *b, const struct cql_type *t, const struct cql_value *v,
                        int depth, char *err, size_t errlen)
{
    int rc;
    size_t n = v->u.coll.count;
    if (n > INT32_MAX)
        return SPATE_ETOOBIG;
    if (t->id == CQL_TYPE_LIST || t->id == CQL_TYPE_SET) {
        if (v->kind != CQL_V_LIST)
            return mismatch(err, errlen, t, v, NULL);
        if ((rc = cql__wr_i32(b, (int32_t)n)))
            return rc;
        for (size_t i = 0; i < n; i++)
            if ((rc = enc_value(b, t->sub[0], &v->u.coll.items[i], depth + 1, 1, err, errlen)))
                return rc;
        return 0;
    }
    if (t->id == CQL_TYPE_MAP) {
        if (v->kind != CQL_V_MAP)
            return mismatch(err, errlen, t, v, NULL);
        if ((rc = cql__wr_i32(b, (int32_t)n)))
            return rc;
        for (size_t i = 0; i < 2 * n; i++)
            if ((rc = enc_value(b, t->sub[i % 2], &v->u.coll.items[i], depth + 1, 1, err, errlen)))
                return rc;
        return 0;
    }
    /* tuple / udt */
    if (v->kind != CQL_V_TUPLE && v->kind != CQL_V_LIST)
        return mismatch(err, errlen, t, v, NULL);
    if (n > t->count) {
        snprintf(err, errlen, "%zu values for a %s of %zu fields", n,
                 t->id == CQL_TYPE_UDT ? "user type" : "tuple", t->count);
        return SPATE_ETYPE;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = enc_value(b, t->sub[i], &v->u.coll.items[i], depth + 1, 2, err, errlen)))
            return rc;
    return 0;
}

/* Infers the wire type of a value bound without metadata. */
static const struct cql_type *infer_type(const struct cql_value *v)
{
    static const struct cql_type t_bool = {.id = CQL_TYPE_BOOLEAN},
                                 t_bigint = {.id = CQL_TYPE_BIGINT},
                                 t_double = {.id = CQL_TYPE_DOUBLE},
                                 t_text = {.id = CQL_TYPE_VARCHAR},
                                 t_blob = {.id = CQL_TYPE_BLOB},
                                 t_uuid = {.id = CQL_TYPE_UUID},
                                 t_inet = {.id = CQL_TYPE_INET},
                                 t_dur = {.id = CQL_TYPE_DURATION};
    switch (v->kind) {
    case CQL_V_BOOL: return &t_bool;
    case CQL_V_INT: return &t_bigint;
    case CQL_V_DOUBLE: return &t_double;
    case CQL_V_TEXT: return &t_text;
    case CQL_V_BLOB: return &t_blob;
    case CQL_V_UUID: return &t_uuid;
    case CQL_V_INET: return &t_inet;
    case CQL_V_DURATION: return &t_dur;
    default: return NULL;
    }
}

/* Appends the content bytes of a non-null value. */
static int enc_content(struct spate_buf *b, const struct cql_type *t, const struct cql_value *v,
                       int depth, char *err, size_t errlen)
{
    int rc;
    int64_t x;
    double d;
    char buf[160];
    if (depth > CQL_MAX_TYPE_DEPTH) {
        snprintf(err, errlen, "values nested too deeply");
        return SPATE_ETYPE;
    }
    if (v->kind == CQL_V_RAW)
        return spate_buf_append(b, v->u.s.ptr, v->u.s.len);
    if (!t) {
        if (v->kind == CQL_V_LIST || v->kind == CQL_V_MAP || v->kind == CQL_V_TUPLE) {
            /* untyped collection: elements typed by their own kinds */
            if ((rc = cql__wr_i32(b, (int32_t)v->u.coll.count)))
                return rc;
            size_t n = v->kind == CQL_V_MAP ? 2 * v->u.coll.count : v->u.coll.count;
            for (size_t i = 0; i < n; i++)
                if ((rc = enc_value(b, NULL, &v->u.coll.items[i], depth + 1, 1, err, errlen)))
                    return rc;
            return 0;
        }
        t = infer_type(v);
        if (!t) {
            snprintf(err, errlen, "cannot infer a type for a %s value", kind_name(v->kind));
            return SPATE_ETYPE;
        }
    }
    switch (t->id) {
    case CQL_TYPE_ASCII:
    case CQL_TYPE_VARCHAR:
        if (v->kind != CQL_V_TEXT)
            return mismatch(err, errlen, t, v, NULL);
        if (t->id == CQL_TYPE_ASCII) {
            const uint8_t *p = v->u.s.ptr;
            for (size_t i = 0; i < v->u.s.len; i++)
                if (p[i] > 127)
                    return mismatch(err, errlen, t, v, "non-ASCII byte");
        }
        return spate_buf_append(b, v->u.s.ptr, v->u.s.len);
    case CQL_TYPE_BLOB:
        if (v->kind == CQL_V_BLOB)
            return spate_buf_append(b, v->u.s.ptr, v->u.s.len);
        if (v->kind == CQL_V_TEXT)
            return blob_from_text(v->u.s.ptr, v->u.s.len, b) ? mismatch(err, errlen, t, v, "bad hex")
                                                             : 0;
        return mismatch(err, errlen, t, v, NULL);
    case CQL_TYPE_BOOLEAN: {
        int bv;
        if (v->kind == CQL_V_BOOL)
            bv = v->u.b != 0;
        else if (v->kind == CQL_V_INT && (v->u.i == 0 || v->u.i == 1))
            bv = (int)v->u.i;
        else if (v->kind == CQL_V_TEXT && !cstr(buf, sizeof buf, v) &&
                 (!strcasecmp(buf, "true") || !strcasecmp(buf, "false")))
            bv = !strcasecmp(buf, "true");
        else
            return mismatch(err, errlen, t, v, NULL);
        return cql__wr_u8(b, (uint8_t)bv);
    }
    case CQL_TYPE_TINYINT:
        if ((rc = as_i64(v, &x, err, errlen, t)) || (rc = range_check(x, INT8_MIN, INT8_MAX, err, errlen, t)))
            return rc;
        return cql__wr_u8(b, (uint8_t)(int8_t)x);
    case CQL_TYPE_SMALLINT:
        if ((rc = as_i64(v, &x, err, errlen, t)) ||
            (rc = range_check(x, INT16_MIN, INT16_MAX, err, errlen, t)))
            return rc;
        return cql__wr_u16(b, (uint16_t)(int16_t)x);
    case CQL_TYPE_INT:
        if ((rc = as_i64(v, &x, err, errlen, t)) ||
            (rc = range_check(x, INT32_MIN, INT32_MAX, err, errlen, t)))
            return rc;
        return cql__wr_i32(b, (int32_t)x);
    case CQL_TYPE_BIGINT:
    case CQL_TYPE_COUNTER:
        if ((rc = as_i64(v, &x, err, errlen, t)))
            return rc;
        return cql__wr_i64(b, x);
    case CQL_TYPE_VARINT:
        if (v->kind == CQL_V_TEXT) {
            size_t l = v->u.s.len;
            const char *s = v->u.s.ptr;
            while (l && isspace((unsigned char)s[l - 1]))
                l--;
            if ((rc = varint_from_decimal(s, l, b)))
                return rc == SPATE_ENOMEM ? rc : mismatch(err, errlen, t, v, "not an integer");
            return 0;
        }
        if ((rc = as_i64(v, &x, err, errlen, t)))
            return rc;
        return varint_from_i64(x, b);
    case CQL_TYPE_DECIMAL:
        if (v->kind == CQL_V_TEXT) {
            if ((rc = decimal_from_text(v->u.s.ptr, v->u.s.len, b)))
                return rc == SPATE_ENOMEM ? rc : mismatch(err, errlen, t, v, "not a decimal number");
            return 0;
        }
        if (v->kind == CQL_V_INT) {
            if ((rc = cql__wr_i32(b, 0)))
                return rc;
            return varint_from_i64(v->u.i, b);
        }
        if (v->kind == CQL_V_DOUBLE) {
            if (!isfinite(v->u.d))
                return mismatch(err, errlen, t, v, "not finite");
            int n = snprintf(buf, sizeof buf, "%.17g", v->u.d);
            return decimal_from_text(buf, (size_t)n, b);
        }
        return mismatch(err, errlen, t, v, NULL);
    case CQL_TYPE_FLOAT: {
        if ((rc = as_double(v, &d, err, errlen, t)))
            return rc;
        if (isfinite(d) && fabs(d) > FLT_MAX)
            return mismatch(err, errlen, t, v, "out of range");
        float f = (float)d;
        uint32_t u;
        memcpy(&u, &f, 4);
        return cql__wr_i32(b, (int32_t)u);
    }
    case CQL_TYPE_DOUBLE: {
        if ((rc = as_double(v, &d, err, errlen, t)))
            return rc;
        uint64_t u;
        memcpy(&u, &d, 8);
        return cql__wr_i64(b, (int64_t)u);
    }
    case CQL_TYPE_TIMESTAMP:
        if (v->kind == CQL_V_TEXT) {
            if (cstr(buf, sizeof buf, v) || parse_timestamp(buf, &x))
                return mismatch(err, errlen, t, v, "expected ms since epoch or YYYY-MM-DD[THH:MM:SS[.fff]][Z|+HH:MM]");
        } else if ((rc = as_i64(v, &x, err, errlen, t))) {
            return rc;
        }
        return cql__wr_i64(b, x);
    case CQL_TYPE_DATE:
        if (v->kind == CQL_V_TEXT) {
            size_t used;
            if (cstr(buf, sizeof buf, v))
                return mismatch(err, errlen, t, v, NULL);
            if (spate_parse_date(buf, strlen(buf), &x, &used) || buf[used]) {
                if (parse_i64(buf, &x))
                    return mismatch(err, errlen, t, v, "expected YYYY-MM-DD");
            }
        } else if ((rc = as_i64(v, &x, err, errlen, t))) {
            return rc;
        }
        if ((rc = range_check(x, INT32_MIN, INT32_MAX, err, errlen, t)))
            return rc;
        return cql__wr_i32(b, (int32_t)(uint32_t)(x + 2147483648LL));
    case CQL_TYPE_TIME:
        if (v->kind == CQL_V_TEXT) {
            size_t used;
            if (cstr(buf, sizeof buf, v) || spate_parse_time_of_day(buf, strlen(buf), &x, &used) ||
                buf[used]) {
                if (parse_i64(buf, &x))
                    return mismatch(err, errlen, t, v, "expected HH:MM:SS[.fffffffff]");
            }
        } else if ((rc = as_i64(v, &x, err, errlen, t))) {
            return rc;
        }
        if ((rc = range_check(x, 0, 86399999999999LL, err, errlen, t)))
            return rc;
        return cql__wr_i64(b, x);
    case CQL_TYPE_UUID:
    case CQL_TYPE_TIMEUUID: {
        uint8_t u[16];
        if (v->kind == CQL_V_UUID)
            memcpy(u, v->u.uuid, 16);
        else if (v->kind == CQL_V_TEXT) {
            if (v->u.s.len != 36 || spate_parse_uuid(v->u.s.ptr, 36, u))
                return mismatch(err, errlen, t, v, "not a UUID");
        } else
            return mismatch(err, errlen, t, v, NULL);
        if (t->id == CQL_TYPE_TIMEUUID && (u[6] >> 4) != 1)
            return mismatch(err, errlen, t, v, "not a version 1 (time-based) UUID");
        return spate_buf_append(b, u, 16);
    }
    case CQL_TYPE_INET:
        if (v->kind == CQL_V_INET) {
            if (v->u.inet.len != 4 && v->u.inet.len != 16)
                return mismatch(err, errlen, t, v, "address length must be 4 or 16");
            return spate_buf_append(b, v->u.inet.addr, (size_t)v->u.inet.len);
        }
        if (v->kind == CQL_V_TEXT && !cstr(buf, sizeof buf, v)) {
            uint8_t a[16];
            if (inet_pton(AF_INET, buf, a) == 1)
                return spate_buf_append(b, a, 4);
            if (inet_pton(AF_INET6, buf, a) == 1)
                return spate_buf_append(b, a, 16);
            return mismatch(err, errlen, t, v, "not an IP address");
        }
        return mismatch(err, errlen, t, v, NULL);
    case CQL_TYPE_DURATION: {
        int32_t mo, dd;
        int64_t ns;
        if (v->kind == CQL_V_DURATION) {
            mo = v->u.duration.months;
            dd = v->u.duration.days;
            ns = v->u.duration.nanos;
        } else if (v->kind == CQL_V_TEXT) {
            if (cstr(buf, sizeof buf, v) || duration_from_text(buf, &mo, &dd, &ns))
                return mismatch(err, errlen, t, v, "expected e.g. 1y2mo3d4h5m6s");
        } else
            return mismatch(err, errlen, t, v, NULL);
        if (!((mo >= 0 && dd >= 0 && ns >= 0) || (mo <= 0 && dd <= 0 && ns <= 0)))
            return mismatch(err, errlen, t, v, "months, days and nanoseconds must share a sign");
        uint8_t out[27];
        int n = cql__vint_write(out, cql__zigzag(mo));
        n += cql__vint_write(out + n, cql__zigzag(dd));
        n += cql__vint_write(out + n, cql__zigzag(ns));
        return spate_buf_append(b, out, (size_t)n);
    }
    case CQL_TYPE_LIST:
    case CQL_TYPE_SET:
    case CQL_TYPE_MAP:
    case CQL_TYPE_TUPLE:
    case CQL_TYPE_UDT: return enc_elements(b, t, v, depth, err, errlen);
    case CQL_TYPE_CUSTOM:
        if (v->kind == CQL_V_BLOB)
            return spate_buf_append(b, v->u.s.ptr, v->u.s.len);
        return mismatch(err, errlen, t, v, "custom types take raw bytes");
    default: return mismatch(err, errlen, t, v, "unsupported type");
    }
}

/* in_coll: 0 top level, 1 collection element (no null/unset), 2 tuple/udt field (null ok) */
static int enc_value(struct spate_buf *b, const struct cql_type *t, const struct cql_value *v,
                     int depth, int in_coll, char *err, size_t errlen)
{
    if (v->kind == CQL_V_NULL) {
        if (in_coll == 1) {
            snprintf(err, errlen, "null inside a collection");
            return SPATE_ETYPE;
        }
        return cql__wr_i32(b, -1);
    }
    if (v->kind == CQL_V_UNSET) {
        if (in_coll) {
            snprintf(err, errlen, "unset inside a collection");
            return SPATE_ETYPE;
        }
        return cql__wr_i32(b, -2);
    }
    size_t at = b->len;
    int rc = cql__wr_i32(b, 0);
    if (rc)
        return rc;
    if ((rc = enc_content(b, t, v, depth, err, errlen))) {
        b->len = at;
        return rc;
    }
    size_t n = b->len - at - 4;
    if (n > INT32_MAX) {
        b->len = at;
        return SPATE_ETOOBIG;
    }
    cql__put_i32((uint8_t *)b->data + at, (int32_t)n);
    return 0;
}

int cql__value_encode(struct spate_buf *b, const struct cql_type *t, const struct cql_value *v,
                      char *err, size_t errlen)
{
    return enc_value(b, t, v, 0, 0, err, errlen);
}
