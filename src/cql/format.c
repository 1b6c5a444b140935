/* SPDX-License-Identifier: Apache-2.0 */
/* format.c -- CQL values as text: cqlsh-like or JSON, for `spate cql` and the result accessors. */
#include "cql_internal.h"

#include "spate/text.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- formatting ------------------------------------------------------------------------------- */

static int json_string(struct spate_buf *out, const uint8_t *p, size_t n)
{
    return spate_json_escape(out, (const char *)p, n);
}

/* Two's complement big-endian bytes -> decimal text. */
static int varint_to_decimal(const uint8_t *p, size_t n, struct spate_buf *out)
{
    if (n == 0)
        return spate_buf_append(out, "0", 1);
    int neg = p[0] & 0x80;
    uint8_t *mag = malloc(n);
    char *digits = malloc(n * 3 + 2);
    if (!mag || !digits) {
        free(mag);
        free(digits);
        return SPATE_ENOMEM;
    }
    memcpy(mag, p, n);
    if (neg) { /* magnitude = two's complement negation */
        unsigned carry = 1;
        for (size_t k = n; k-- > 0;) {
            unsigned v = (uint8_t)~mag[k] + carry;
            mag[k] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    size_t nd = 0;
    int nonzero = 1;
    while (nonzero) {
        unsigned rem = 0;
        nonzero = 0;
        for (size_t k = 0; k < n; k++) {
            unsigned cur = (rem << 8) | mag[k];
            mag[k] = (uint8_t)(cur / 10);
            rem = cur % 10;
            if (mag[k])
                nonzero = 1;
        }
        digits[nd++] = (char)('0' + rem);
    }
    int rc = 0;
    if (neg)
        rc = spate_buf_append(out, "-", 1);
    for (size_t k = nd; k-- > 0 && !rc;)
        rc = spate_buf_append(out, &digits[k], 1);
    free(mag);
    free(digits);
    return rc;
}

int cql__format_decimal(const uint8_t *p, size_t n, struct spate_buf *out)
{
    int32_t scale = cql__get_i32(p);
    struct spate_buf u = {0};
    int rc = varint_to_decimal(p + 4, n - 4, &u);
    if (rc) {
        spate_buf_free(&u);
        return rc;
    }
    const char *s = u.data;
    size_t len = u.len;
    int neg = s[0] == '-';
    if (neg)
        s++, len--;
    if (neg)
        rc = spate_buf_append(out, "-", 1);
    if (scale <= 0) {
        rc = rc ? rc : spate_buf_append(out, s, len);
        if (scale < 0 && !rc)
            rc = spate_buf_appendf(out, "E+%" PRId64, -(int64_t)scale); /* scale may be INT32_MIN */
    } else if ((size_t)scale < len) {
        rc = rc ? rc : spate_buf_append(out, s, len - (size_t)scale);
        rc = rc ? rc : spate_buf_append(out, ".", 1);
        rc = rc ? rc : spate_buf_append(out, s + len - (size_t)scale, (size_t)scale);
    } else if (scale <= 64) {
        rc = rc ? rc : spate_buf_append(out, "0.", 2);
        for (size_t k = len; k < (size_t)scale && !rc; k++)
            rc = spate_buf_append(out, "0", 1);
        rc = rc ? rc : spate_buf_append(out, s, len);
    } else {
        rc = rc ? rc : spate_buf_appendf(out, "%.*sE-%d", (int)len, s, scale);
    }
    spate_buf_free(&u);
    return rc;
}

static int fmt_double(double d, int is_float, int json, struct spate_buf *out)
{
    if (!isfinite(d)) {
        if (json)
            return spate_buf_append(out, "null", 4);
        return spate_buf_appendf(out, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
    }
    char buf[64];
    int prec = is_float ? 6 : 15;
    for (;; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (is_float ? (float)strtod(buf, NULL) == (float)d : strtod(buf, NULL) == d)
            break;
        if (prec >= 17)
            break;
    }
    return spate_buf_appendf(out, "%s", buf);
}

static int fmt_uuid(const uint8_t *p, struct spate_buf *out, int quote)
{
    return spate_buf_appendf(out,
                             "%s%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x%s",
                             quote ? "\"" : "", p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],
                             p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15],
                             quote ? "\"" : "");
}

static int fmt_value(const struct cql_type *t, const uint8_t *p, int32_t len, int json,
                     int nested, struct spate_buf *out, int depth);

static int fmt_elements(const struct cql_type *t, const uint8_t *p, int32_t len, int json,
                        struct spate_buf *out, int depth)
{
    struct cql_reader r;
    cql__reader_init(&r, p, (size_t)len);
    int rc = 0;
    if (t->id == CQL_TYPE_TUPLE || t->id == CQL_TYPE_UDT) {
        int udt = t->id == CQL_TYPE_UDT;
        rc = spate_buf_append(out, json ? (udt ? "{" : "[") : (udt ? "{" : "("), 1);
        for (size_t i = 0; i < t->count && !rc; i++) {
            const uint8_t *ep = NULL;
            int32_t el = -1;
            if (cql__reader_left(&r) > 0 && cql__rd_bytes(&r, &ep, &el))
                return SPATE_EPARSE;
            if (i)
                rc = spate_buf_append(out, ", ", json ? 1 : 2);
            if (!rc && udt)
                rc = json ? spate_buf_appendf(out, "\"%s\":", t->field_names[i])
                          : spate_buf_appendf(out, "%s: ", t->field_names[i]);
            if (!rc)
                rc = fmt_value(t->sub[i], ep, el, json, 1, out, depth + 1);
        }
        return rc ? rc : spate_buf_append(out, json ? (udt ? "}" : "]") : (udt ? "}" : ")"), 1);
    }
    int32_t n;
    if (cql__rd_i32(&r, &n) || n < 0)
        return SPATE_EPARSE;
    int map = t->id == CQL_TYPE_MAP;
    const char *open = json ? (map ? "{" : "[") : (t->id == CQL_TYPE_LIST ? "[" : "{");
    const char *close = json ? (map ? "}" : "]") : (t->id == CQL_TYPE_LIST ? "]" : "}");
    rc = spate_buf_append(out, open, 1);
    for (int32_t i = 0; i < n && !rc; i++) {
        const uint8_t *ep;
        int32_t el;
        if (cql__rd_bytes(&r, &ep, &el))
            return SPATE_EPARSE;
        if (i)
            rc = spate_buf_append(out, ", ", json ? 1 : 2);
        if (map && !rc) {
            const struct cql_type *kt = t->sub[0];
            if (json) {
                /* JSON keys are strings: text keys as is, others as their text form */
                if (kt->id == CQL_TYPE_VARCHAR || kt->id == CQL_TYPE_ASCII) {
                    rc = fmt_value(kt, ep, el, 1, 1, out, depth + 1);
                } else {
                    struct spate_buf kb = {0};
                    rc = fmt_value(kt, ep, el, 0, 0, &kb, depth + 1);
                    if (!rc)
                        rc = json_string(out, (const uint8_t *)kb.data, kb.len);
                    spate_buf_free(&kb);
                }
            } else {
                rc = fmt_value(kt, ep, el, 0, 1, out, depth + 1);
            }
            if (!rc)
                rc = spate_buf_append(out, json ? ":" : ": ", json ? 1 : 2);
            if (!rc && cql__rd_bytes(&r, &ep, &el))
                return SPATE_EPARSE;
            if (!rc)
                rc = fmt_value(t->sub[1], ep, el, json, 1, out, depth + 1);
        } else if (!rc) {
            rc = fmt_value(t->sub[0], ep, el, json, 1, out, depth + 1);
        }
    }
    return rc ? rc : spate_buf_append(out, close, 1);
}

static int fmt_value(const struct cql_type *t, const uint8_t *p, int32_t len, int json,
                     int nested, struct spate_buf *out, int depth)
{
    if (len < 0)
        return spate_buf_append(out, "null", 4);
    if (depth > CQL_MAX_TYPE_DEPTH || cql__value_validate(t, p, len, 0))
        return SPATE_EPARSE;
    enum cql_type_id id = t->id;
    int is_text = id == CQL_TYPE_VARCHAR || id == CQL_TYPE_ASCII;
    if (len == 0 && !is_text && id != CQL_TYPE_BLOB && id != CQL_TYPE_CUSTOM)
        return json ? spate_buf_append(out, "null", 4) : 0; /* legacy empty value */
    switch (id) {
    case CQL_TYPE_ASCII:
    case CQL_TYPE_VARCHAR:
        if (json)
            return json_string(out, p, (size_t)len);
        if (nested) {
            int rc = spate_buf_append(out, "'", 1);
            for (int32_t i = 0; i < len && !rc; i++)
                rc = p[i] == '\'' ? spate_buf_append(out, "''", 2) : spate_buf_append(out, p + i, 1);
            return rc ? rc : spate_buf_append(out, "'", 1);
        }
        return spate_buf_append(out, p, (size_t)len);
    case CQL_TYPE_BOOLEAN: return spate_buf_appendf(out, "%s", p[0] ? "true" : "false");
    case CQL_TYPE_TINYINT: return spate_buf_appendf(out, "%d", (int)(int8_t)p[0]);
    case CQL_TYPE_SMALLINT: return spate_buf_appendf(out, "%d", (int)(int16_t)cql__get_u16(p));
    case CQL_TYPE_INT: return spate_buf_appendf(out, "%" PRId32, cql__get_i32(p));
    case CQL_TYPE_BIGINT:
    case CQL_TYPE_COUNTER: return spate_buf_appendf(out, "%" PRId64, cql__get_i64(p));
    case CQL_TYPE_VARINT: return varint_to_decimal(p, (size_t)len, out);
    case CQL_TYPE_DECIMAL: return cql__format_decimal(p, (size_t)len, out);
    case CQL_TYPE_FLOAT: {
        uint32_t u = (uint32_t)cql__get_i32(p);
        float f;
        memcpy(&f, &u, 4);
        return fmt_double(f, 1, json, out);
    }
    case CQL_TYPE_DOUBLE: {
        uint64_t u = (uint64_t)cql__get_i64(p);
        double d;
        memcpy(&d, &u, 8);
        return fmt_double(d, 0, json, out);
    }
    case CQL_TYPE_TIMESTAMP: {
        int64_t ms = cql__get_i64(p);
        int64_t days = ms / 86400000, rem = ms % 86400000;
        if (rem < 0)
            rem += 86400000, days--;
        int64_t y;
        unsigned mo, d;
        spate_civil_from_days(days, &y, &mo, &d);
        int64_t s = rem / 1000;
        return spate_buf_appendf(out, json ? "\"%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ\""
                                           : "%04" PRId64 "-%02u-%02u %02d:%02d:%02d.%03d000+0000",
                                 y, mo, d, (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60),
                                 (int)(rem % 1000));
    }
    case CQL_TYPE_DATE: {
        int64_t days = (int64_t)(uint32_t)cql__get_i32(p) - 2147483648LL;
        int64_t y;
        unsigned mo, d;
        spate_civil_from_days(days, &y, &mo, &d);
        return spate_buf_appendf(out, json ? "\"%04" PRId64 "-%02u-%02u\"" : "%04" PRId64 "-%02u-%02u",
                                 y, mo, d);
    }
    case CQL_TYPE_TIME: {
        int64_t ns = cql__get_i64(p);
        int neg = ns < 0;
        uint64_t u = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
        uint64_t s = u / 1000000000ULL;
        return spate_buf_appendf(out, json ? "\"%s%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%09" PRIu64 "\""
                                           : "%s%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%09" PRIu64,
                                 neg ? "-" : "", (uint64_t)(s / 3600), (uint64_t)(s / 60 % 60), (uint64_t)(s % 60), (uint64_t)(u % 1000000000ULL));
    }
    case CQL_TYPE_UUID:
    case CQL_TYPE_TIMEUUID: return fmt_uuid(p, out, json);
    case CQL_TYPE_INET: {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(len == 4 ? AF_INET : AF_INET6, p, a, sizeof a);
        return spate_buf_appendf(out, json ? "\"%s\"" : "%s", a);
    }
    case CQL_TYPE_BLOB:
    case CQL_TYPE_CUSTOM: {
        int rc = spate_buf_append(out, json ? "\"0x" : "0x", json ? 3 : 2);
        for (int32_t i = 0; i < len && !rc; i++)
            rc = spate_buf_appendf(out, "%02x", p[i]);
        return rc ? rc : (json ? spate_buf_append(out, "\"", 1) : 0);
    }
    case CQL_TYPE_DURATION: {
        struct cql_reader r;
        uint64_t a, b2, c;
        cql__reader_init(&r, p, (size_t)len);
        if (cql__vint_read(&r, &a) || cql__vint_read(&r, &b2) || cql__vint_read(&r, &c))
            return SPATE_EPARSE;
        int64_t mo = cql__unzigzag(a), d = cql__unzigzag(b2), ns = cql__unzigzag(c);
        struct spate_buf tb = {0};
        int neg = mo < 0 || d < 0 || ns < 0;
        uint64_t umo = (uint64_t)(mo < 0 ? -mo : mo), ud = (uint64_t)(d < 0 ? -d : d);
        uint64_t uns = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
        if (neg)
            spate_buf_append(&tb, "-", 1);
        if (umo / 12)
            spate_buf_appendf(&tb, "%" PRIu64 "y", umo / 12);
        if (umo % 12)
            spate_buf_appendf(&tb, "%" PRIu64 "mo", umo % 12);
        if (ud)
            spate_buf_appendf(&tb, "%" PRIu64 "d", ud);
        static const struct {
            uint64_t ns;
            const char *unit;
        } units[] = {{3600000000000ULL, "h"}, {60000000000ULL, "m"}, {1000000000ULL, "s"},
                     {1000000ULL, "ms"},      {1000ULL, "us"},       {1ULL, "ns"}};
        for (size_t i = 0; i < 6; i++) {
            if (uns / units[i].ns)
                spate_buf_appendf(&tb, "%" PRIu64 "%s", uns / units[i].ns, units[i].unit);
            uns %= units[i].ns;
        }
        if (tb.len == 0 || (tb.len == 1 && neg))
            spate_buf_append(&tb, "0s", 2);
        int rc = json ? json_string(out, (const uint8_t *)tb.data, tb.len)
                      : spate_buf_append(out, tb.data, tb.len);
        spate_buf_free(&tb);
        return rc;
    }
    case CQL_TYPE_LIST:
    case CQL_TYPE_SET:
    case CQL_TYPE_MAP:
    case CQL_TYPE_TUPLE:
    case CQL_TYPE_UDT: return fmt_elements(t, p, len, json, out, depth);
    default: return SPATE_EUNSUPPORTED;
    }
}

int cql_format_value(const struct cql_type *t, const uint8_t *data, int32_t len, int json,
                     struct spate_buf *out)
{
    if (!t || !out)
        return SPATE_EINVAL;
    return fmt_value(t, data, len, json, 0, out, 0);
}
