/* SPDX-License-Identifier: Apache-2.0 */
/* ingest_policy.c -- retry backoff, the adaptive token bucket and response-header parsing. */
#define _XOPEN_SOURCE 700 /* strptime */
#include "ingest_internal.h"

#include "spate/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void ingest__bucket_init(struct ingest_bucket *b, double rate, int64_t now_us)
{
    memset(b, 0, sizeof *b);
    b->rate = rate > 0 ? rate : 0;
    b->ceiling = b->rate;
    /* A burst of one second's worth (at least 1) keeps requests evenly
     * spread while tolerating loop jitter. */
    b->burst = b->rate >= 1 ? b->rate : 1;
    b->tokens = 1;
    b->last_us = now_us;
}

int64_t ingest__bucket_take(struct ingest_bucket *b, int64_t now_us)
{
    if (now_us < b->paused_until_us)
        return b->paused_until_us - now_us;
    if (b->rate <= 0)
        return 0;
    if (now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) * b->rate / 1e6;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->last_us = now_us;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    int64_t wait = (int64_t)((1.0 - b->tokens) * 1e6 / b->rate) + 1;
    return wait;
}

void ingest__bucket_on_throttle(struct ingest_bucket *b, int64_t now_us, int64_t retry_after_ms,
                                double observed_rate)
{
    if (retry_after_ms > 0) {
        int64_t until = now_us + retry_after_ms * 1000;
        if (until > b->paused_until_us)
            b->paused_until_us = until;
    }
    double cur = b->rate > 0 ? b->rate : observed_rate;
    if (observed_rate > 0 && cur > observed_rate)
        cur = observed_rate;
    double nr = cur / 2;
    if (nr < 0.5)
        nr = 0.5;
    b->rate = nr;
    b->burst = nr >= 1 ? nr : 1;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last_us = now_us;
}

void ingest__bucket_on_success(struct ingest_bucket *b)
{
    if (b->rate <= 0)
        return;
    if (b->ceiling > 0 && b->rate >= b->ceiling)
        return;
    double step = b->rate * 0.02;
    if (step < 0.5)
        step = 0.5;
    b->rate += step;
    if (b->ceiling > 0 && b->rate >= b->ceiling) {
        b->rate = b->ceiling;
    } else if (b->ceiling <= 0 && b->rate > 1e6) {
        b->rate = 0; /* unlimited again */
        return;
    }
    b->burst = b->rate >= 1 ? b->rate : 1;
}

int64_t ingest__parse_retry_after(const char *value, int64_t now_wall_ms, int64_t max_ms)
{
    if (!value)
        return -1;
    if (max_ms < 0)
        max_ms = 0;
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        errno = 0;
        long long s = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end != '\0' || s < 0)
            return -1;
        /* strtoll saturates on overflow: still "a very long time". */
        if (errno == ERANGE || s > max_ms / 1000)
            return max_ms;
        return (int64_t)s * 1000 < max_ms ? (int64_t)s * 1000 : max_ms;
    }
    /* IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT". A date is the
     * API's clock, not ours, and may be years ahead: clamped like a delta. */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    if ((int64_t)t > (now_wall_ms + max_ms) / 1000 + 1)
        return max_ms;
    int64_t delay = (int64_t)t * 1000 - now_wall_ms;
    if (delay > max_ms)
        return max_ms;
    return delay > 0 ? delay : 0;
}

/* Does the rel parameter value (quoted or not, space-separated types)
 * contain "next"? */
static int rel_has_next(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    size_t i = 0;
    while (i < n) {
        while (i < n && v[i] == ' ')
            i++;
        size_t s = i;
        while (i < n && v[i] != ' ')
            i++;
        if (i - s == 4 && strncasecmp(v + s, "next", 4) == 0)
            return 1;
    }
    return 0;
}

int ingest__parse_link_next(const char *value, char *out, size_t outlen)
{
    const char *p = value;
    while (p && *p) {
        const char *lt = strchr(p, '<');
        if (!lt)
            break;
        const char *gt = strchr(lt + 1, '>');
        if (!gt)
            break;
        /* Parameters run to the next ',' that is outside quotes. */
        const char *q = gt + 1;
        int in_quote = 0;
        const char *seg_end = q;
        while (*seg_end && (in_quote || *seg_end != ',')) {
            if (*seg_end == '"')
                in_quote = !in_quote;
            seg_end++;
        }
        int is_next = 0;
        while (q < seg_end) {
            while (q < seg_end && (*q == ';' || *q == ' ' || *q == '\t'))
                q++;
            const char *name = q;
            while (q < seg_end && *q != '=' && *q != ';')
                q++;
            size_t name_len = (size_t)(q - name);
            while (name_len > 0 && name[name_len - 1] == ' ')
                name_len--;
            if (q < seg_end && *q == '=') {
                q++;
                while (q < seg_end && *q == ' ')
                    q++;
                const char *val = q;
                int vq = 0;
                while (q < seg_end && (vq || *q != ';')) {
                    if (*q == '"')
                        vq = !vq;
                    q++;
                }
                size_t vlen = (size_t)(q - val);
                while (vlen > 0 && val[vlen - 1] == ' ')
                    vlen--;
                if (name_len == 3 && strncasecmp(name, "rel", 3) == 0 && rel_has_next(val, vlen))
                    is_next = 1;
            }
        }
        if (is_next) {
            size_t n = (size_t)(gt - lt - 1);
            if (n + 1 > outlen)
                return SPATE_ETOOBIG;
            memcpy(out, lt + 1, n);
            out[n] = '\0';
            return 0;
        }
        p = *seg_end ? seg_end + 1 : seg_end;
    }
    return SPATE_ENOTFOUND;
}
