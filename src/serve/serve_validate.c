/* SPDX-License-Identifier: Apache-2.0 */
/* serve_validate.c -- pure parsers of request parameters (ids, times, limits) and JSON strings. */
#include "spate/error.h"
#include "spate/text.h"
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

/* A date whole in s: serve's range is 1970..9999, what the tables hold. */
static int parse_date(const char *s, int64_t *days)
{
    size_t used, len = strlen(s);
    if (len < 10 || !isdigit((unsigned char)s[0]) || spate_parse_date(s, len, days, &used) ||
        used != 10 || *days < 0)
        return SPATE_EINVAL;
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
    if (parse_date(s, &days) || s[10])
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
    int64_t days, ms;
    int flags;
    if (parse_date(s, &days) || spate_parse_iso8601(s, strlen(s), &ms, &flags) ||
        ((flags & SPATE_ISO_TIME) && !(flags & SPATE_ISO_ZONE)))
        return SPATE_EINVAL; /* a time without a zone is ambiguous: refuse it */
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
    return spate_json_escape(out, s, len);
}
