/* SPDX-License-Identifier: Apache-2.0 */
/* text.c -- the shared text helpers: digits, ISO-8601 dates and times, JSON strings. */
#include "spate/text.h"

#include "spate/error.h"
#include "spate/util.h"

#include <ctype.h>

int spate_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int spate_all_digits(const char *s, size_t len)
{
    size_t i = (len > 0 && s[0] == '-') ? 1 : 0;
    if (i == len)
        return 0;
    for (; i < len; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int spate_days_in_month(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dm[m - 1] + (m == 2 && leap);
}

int spate_parse_date(const char *s, size_t len, int64_t *days, size_t *used)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    int64_t y = 0;
    size_t y0 = i;
    while (i < len && isdigit((unsigned char)s[i]) && i - y0 < 9)
        y = y * 10 + (s[i++] - '0');
    int m, d;
    if (i - y0 < 4 || len - i < 6 || s[i] != '-' || spate_digits(s + i + 1, 2, &m) ||
        s[i + 3] != '-' || spate_digits(s + i + 4, 2, &d))
        return SPATE_EINVAL;
    if (neg)
        y = -y;
    if (d < 1 || d > spate_days_in_month(y, m))
        return SPATE_EINVAL;
    *days = spate_days_from_civil(y, (unsigned)m, (unsigned)d);
    if (used)
        *used = i + 6;
    return 0;
}

static int time_part(const char *s, size_t len, int max_sec, int64_t *ns, size_t *used)
{
    int h, m, sec = 0;
    if (len < 5 || spate_digits(s, 2, &h) || s[2] != ':' || spate_digits(s + 3, 2, &m) ||
        h > 23 || m > 59)
        return SPATE_EINVAL;
    size_t i = 5;
    int64_t frac = 0;
    if (i < len && s[i] == ':') {
        if (len - i < 3 || spate_digits(s + i + 1, 2, &sec) || sec > max_sec)
            return SPATE_EINVAL;
        i += 3;
        if (i < len && (s[i] == '.' || s[i] == ',')) {
            i++;
            int nd = 0;
            while (i < len && isdigit((unsigned char)s[i])) {
                if (nd < 9) {
                    frac = frac * 10 + (s[i] - '0');
                    nd++;
                }
                i++;
            }
            if (nd == 0)
                return SPATE_EINVAL;
            while (nd++ < 9)
                frac *= 10;
        }
    }
    *ns = ((int64_t)h * 3600 + m * 60 + sec) * 1000000000LL + frac;
    if (used)
        *used = i;
    return 0;
}

int spate_parse_time_of_day(const char *s, size_t len, int64_t *ns, size_t *used)
{
    return time_part(s, len, 59, ns, used);
}

int spate_parse_iso8601(const char *s, size_t len, int64_t *ms, int *flags)
{
    int64_t days, ns = 0, off_min = 0;
    int fl = 0;
    size_t i, n;
    if (spate_parse_date(s, len, &days, &i))
        return SPATE_EINVAL;
    if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        if (time_part(s + i + 1, len - i - 1, 60, &ns, &n)) /* 60: a leap second */
            return SPATE_EINVAL;
        i += 1 + n;
        fl |= SPATE_ISO_TIME;
    }
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
        fl |= SPATE_ISO_ZONE;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1, oh, om = 0;
        i++;
        if (len - i < 2 || spate_digits(s + i, 2, &oh) || oh > 18)
            return SPATE_EINVAL;
        i += 2;
        if (i < len && s[i] == ':')
            i++;
        if (i < len) {
            if (len - i < 2 || spate_digits(s + i, 2, &om) || om > 59)
                return SPATE_EINVAL;
            i += 2;
        }
        off_min = sign * (int64_t)(oh * 60 + om);
        fl |= SPATE_ISO_ZONE;
    }
    if (i != len)
        return SPATE_EINVAL;
    *ms = days * 86400000LL + ns / 1000000 - off_min * 60000;
    if (flags)
        *flags = fl;
    return 0;
}

int spate_json_escape(struct spate_buf *out, const char *s, size_t len)
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
