/* SPDX-License-Identifier: Apache-2.0 */
/* serve_validate.c -- pure parsers of request parameters (ids, times, limits) and JSON strings. */
#include "spate/error.h"
#include "spate/util.h"
#include "spate/serve.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int serve_parse_uuid(const char *s, uint8_t out[16])
{
    /* the REST API takes the canonical form only, as the users table shows it */
    if (!s || strlen(s) != 36)
        return SPATE_EINVAL;
    return spate_parse_uuid(s, 36, out);
}

int serve_parse_nationality(const char *s, char out[3])
{
    if (!s || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]) || s[2])
        return SPATE_EINVAL;
    out[0] = (char)toupper((unsigned char)s[0]);
    out[1] = (char)toupper((unsigned char)s[1]);
    out[2] = 0;
    return 0;
}

int serve_parse_limit(const char *s, int def, int min, int max, int *out)
{
    if (!s || !*s) {
        *out = def;
        return 0;
    }
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !(p == s && *p == '-'))
            return SPATE_EINVAL;
    if (strlen(s) > 9)
        return SPATE_ERANGE;
    long v = strtol(s, NULL, 10);
    if (v < min || v > max)
        return SPATE_ERANGE;
    *out = (int)v;
    return 0;
}

static int days_in_month(int64_t y, unsigned m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* YYYY-MM-DD at *p; advances. */
static int parse_date(const char **p, int64_t *days)
{
    int y, m, d;
    if (digits(p, 4, &y) || *(*p)++ != '-' || digits(p, 2, &m) || *(*p)++ != '-' ||
        digits(p, 2, &d))
        return SPATE_EINVAL;
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, (unsigned)m))
        return SPATE_EINVAL;
    *days = spate_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int serve_parse_day(const char *s, int64_t now_ms, int32_t *out_days)
{
    if (!s)
        return SPATE_EINVAL;
    int64_t today = now_ms / 86400000;
    if (!strcmp(s, "today")) {
        *out_days = (int32_t)today;
        return 0;
    }
    if (!strcmp(s, "yesterday")) {
        *out_days = (int32_t)(today - 1);
        return 0;
    }
    int64_t days;
    const char *p = s;
    if (parse_date(&p, &days) || *p)
        return SPATE_EINVAL;
    *out_days = (int32_t)days;
    return 0;
}

int serve_parse_time(const char *s, int64_t now_ms, int64_t *out_ms)
{
    if (!s || !*s || strlen(s) > 64)
        return SPATE_EINVAL;
    if (!strcmp(s, "now")) {
        *out_ms = now_ms;
        return 0;
    }
    const char *rel = NULL;
    if (s[0] == '-')
        rel = s + 1;
    else if (!strncmp(s, "now-", 4))
        rel = s + 4;
    if (rel) {
        int64_t d;
        if (!*rel || !isdigit((unsigned char)*rel) || spate_parse_duration_ms(rel, &d) != 0 ||
            d < 0)
            return SPATE_EINVAL;
        *out_ms = now_ms - d;
        return 0;
    }
    int all_digits = 1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            all_digits = 0;
    if (all_digits) {
        if (strlen(s) > 15)
            return SPATE_EINVAL;
        *out_ms = strtoll(s, NULL, 10);
        return 0;
    }
    const char *p = s;
    int64_t days;
    if (parse_date(&p, &days))
        return SPATE_EINVAL;
    int64_t ms = days * 86400000;
    if (!*p) {
        *out_ms = ms;
        return 0;
    }
    if (*p != 'T' && *p != 't' && *p != ' ')
        return SPATE_EINVAL;
    p++;
    int hh, mm, ss = 0, frac = 0;
    if (digits(&p, 2, &hh) || *p++ != ':' || digits(&p, 2, &mm) || hh > 23 || mm > 59)
        return SPATE_EINVAL;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &ss) || ss > 60)
            return SPATE_EINVAL;
        if (*p == '.') {
            p++;
            int n = 0, scale = 100;
            while (isdigit((unsigned char)*p)) {
                if (n < 3)
                    frac += (*p - '0') * scale;
                scale /= 10;
                n++;
                p++;
            }
            if (n == 0 || n > 9)
                return SPATE_EINVAL;
        }
    }
    ms += ((int64_t)hh * 3600 + mm * 60 + ss) * 1000 + frac;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '+' ? 1 : -1, oh, om;
        if (digits(&p, 2, &oh) || oh > 23)
            return SPATE_EINVAL;
        if (*p == ':')
            p++;
        if (digits(&p, 2, &om) || om > 59)
            return SPATE_EINVAL;
        ms -= sign * ((int64_t)oh * 3600 + om * 60) * 1000;
    } else {
        return SPATE_EINVAL; /* a time without a zone is ambiguous: refuse it */
    }
    if (*p)
        return SPATE_EINVAL;
    *out_ms = ms;
    return 0;
}

int serve_parse_range(const char *from, const char *to, int64_t now_ms, int64_t max_span_ms,
                      int64_t *from_ms, int64_t *to_ms, char *err, size_t errlen)
{
    int64_t f, t = now_ms;
    if (to && *to && serve_parse_time(to, now_ms, &t) != 0) {
        snprintf(err, errlen,
                 "'to' is not a time: use ISO-8601 with a zone (2026-11-25T15:04:05Z), "
                 "a date, 'now', a relative '-15m' or epoch milliseconds");
        return SPATE_EINVAL;
    }
    f = t - 3600 * 1000;
    if (from && *from && serve_parse_time(from, now_ms, &f) != 0) {
        snprintf(err, errlen,
                 "'from' is not a time: use ISO-8601 with a zone (2026-11-25T15:04:05Z), "
                 "a date, 'now', a relative '-15m' or epoch milliseconds");
        return SPATE_EINVAL;
    }
    if (f >= t) {
        snprintf(err, errlen, "'from' must be before 'to'");
        return SPATE_ERANGE;
    }
    if (t - f > max_span_ms) {
        snprintf(err, errlen, "time range too long: at most %lld hours",
                 (long long)(max_span_ms / 3600000));
        return SPATE_ERANGE;
    }
    *from_ms = f;
    *to_ms = t;
    return 0;
}

char *serve_format_time(int64_t ms, char *buf, size_t size)
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    int64_t y;
    unsigned m, d;
    spate_civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
    return buf;
}

char *serve_format_day(int32_t days, char *buf, size_t size)
{
    int64_t y;
    unsigned m, d;
    spate_civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
    return buf;
}

int serve_json_string(struct spate_buf *out, const char *s, size_t len)
{
    int rc = spate_buf_append(out, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = spate_buf_append(out, s + start, i - start);
        if (rc)
            break;
        switch (c) {
        case '"': rc = spate_buf_append(out, "\\\"", 2); break;
        case '\\': rc = spate_buf_append(out, "\\\\", 2); break;
        case '\n': rc = spate_buf_append(out, "\\n", 2); break;
        case '\r': rc = spate_buf_append(out, "\\r", 2); break;
        case '\t': rc = spate_buf_append(out, "\\t", 2); break;
        default: rc = spate_buf_appendf(out, "\\u%04x", c); break;
        }
        start = i + 1;
    }
    if (rc == 0)
        rc = spate_buf_append(out, s + start, len - start);
    if (rc == 0)
        rc = spate_buf_append(out, "\"", 1);
    return rc;
}
