/* SPDX-License-Identifier: Apache-2.0 */
/* apisim_query.c -- parse and bound the query parameters of one api-sim request. */
#include "apisim_internal.h"

#include "spate/error.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return SPATE_EINVAL;
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s)
        return SPATE_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return SPATE_EINVAL;
    *out = v;
    return 0;
}

/* A share: "0.1" or "10%", in [0, 1]. */
int apisim_parse_share(const char *s, double *out)
{
    if (!s || !*s)
        return SPATE_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s)
        return SPATE_EINVAL;
    if (*end == '%') {
        v /= 100.0;
        end++;
    }
    if (*end || !(v >= 0.0 && v <= 1.0))
        return SPATE_EINVAL;
    *out = v;
    return 0;
}

int apisim_page_records(const struct apisim_query *q)
{
    if (q->total <= 0)
        return q->results;
    int64_t start = (q->page - 1) * (int64_t)q->results; /* <= 1e12 * 5000: no overflow */
    int64_t left = q->total - start;
    return left <= 0 ? 0 : left < q->results ? (int)left : q->results;
}

static const struct {
    const char *name;
    unsigned bit;
} field_names[] = {
    {"gender", APISIM_F_GENDER}, {"name", APISIM_F_NAME},   {"location", APISIM_F_LOCATION},
    {"email", APISIM_F_EMAIL},   {"login", APISIM_F_LOGIN}, {"registered", APISIM_F_REGISTERED},
    {"dob", APISIM_F_DOB},       {"phone", APISIM_F_PHONE}, {"cell", APISIM_F_CELL},
    {"id", APISIM_F_ID},         {"picture", APISIM_F_PICTURE}, {"nat", APISIM_F_NAT},
};

/* Comma-separated field list to a mask; the bad name goes to err. */
static int parse_fields(const char *param, const char *s, unsigned *out, char *err,
                        size_t errlen)
{
    unsigned mask = 0;
    const char *p = s;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            size_t i;
            for (i = 0; i < sizeof field_names / sizeof field_names[0]; i++)
                if (strlen(field_names[i].name) == len &&
                    strncmp(field_names[i].name, p, len) == 0)
                    break;
            if (i == sizeof field_names / sizeof field_names[0])
                return fail(err, errlen,
                            "%s: unknown field '%.*s' (fields: gender, name, location, email, "
                            "login, registered, dob, phone, cell, id, picture, nat)",
                            param, (int)(len > 32 ? 32 : len), p);
            mask |= field_names[i].bit;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = mask;
    return 0;
}

static int parse_nats(const char *s, struct apisim_query *q, char *err, size_t errlen)
{
    q->nat_count = 0;
    const char *p = s;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            char code[3] = {0};
            int idx = -1;
            if (len == 2) {
                code[0] = p[0];
                code[1] = p[1];
                idx = apisim_nat_find(code);
            }
            if (idx < 0)
                return fail(err, errlen,
                            "nat: unknown nationality '%.*s' (known: AU, BR, CA, CH, DE, DK, ES, "
                            "FI, FR, GB, IE, IN, IR, MX, NL, NO, NZ, RS, TR, UA, US)",
                            (int)(len > 16 ? 16 : len), p);
            int dup = 0;
            for (int i = 0; i < q->nat_count; i++)
                dup |= q->nat[i] == idx;
            if (!dup && q->nat_count < APISIM_NAT_MAX)
                q->nat[q->nat_count++] = idx;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

int apisim_query_parse(struct apisim_query *q, apisim_param_fn get, void *arg,
                       const struct apisim_faults *run_faults, const char *generated_seed,
                       char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->results = 1;
    q->page = 1;
    q->fields = APISIM_F_ALL;
    q->forced_fault = -1;
    q->faults = *run_faults;
    const char *v;
    int64_t n;

    if ((v = get(arg, "results")) != NULL) {
        if (parse_i64(v, 1, APISIM_MAX_RESULTS, &n) != 0)
            return fail(err, errlen, "results: must be an integer from 1 to %d",
                        APISIM_MAX_RESULTS);
        q->results = (int)n;
    }
    if ((v = get(arg, "page")) != NULL) {
        if (parse_i64(v, 1, APISIM_MAX_PAGE, &n) != 0)
            return fail(err, errlen, "page: must be an integer from 1 to %lld",
                        (long long)APISIM_MAX_PAGE);
        q->page = n;
    }
    v = get(arg, "seed");
    if (v && *v) {
        size_t len = strlen(v);
        int ok = len <= APISIM_MAX_SEED_LEN;
        for (size_t i = 0; ok && i < len; i++)
            ok = v[i] > 0x20 && v[i] < 0x7f;
        if (!ok)
            return fail(err, errlen, "seed: must be 1 to %d printable ASCII characters",
                        APISIM_MAX_SEED_LEN);
        memcpy(q->seed, v, len + 1);
        q->seed_given = 1;
    } else {
        spate_strlcpy(q->seed, generated_seed ? generated_seed : "spate", sizeof q->seed);
    }
    if ((v = get(arg, "nat")) != NULL && parse_nats(v, q, err, errlen) != 0)
        return SPATE_EINVAL;
    if ((v = get(arg, "gender")) != NULL && *v) {
        if (strcmp(v, "male") == 0)
            q->gender = 1;
        else if (strcmp(v, "female") == 0)
            q->gender = 2;
        else
            return fail(err, errlen, "gender: must be male or female");
    }
    if ((v = get(arg, "inc")) != NULL && *v &&
        parse_fields("inc", v, &q->fields, err, errlen) != 0)
        return SPATE_EINVAL;
    if ((v = get(arg, "exc")) != NULL && *v) {
        unsigned exc;
        if (parse_fields("exc", v, &exc, err, errlen) != 0)
            return SPATE_EINVAL;
        q->fields &= ~exc;
    }
    if ((v = get(arg, "total")) != NULL) {
        if (parse_i64(v, 0, INT64_MAX / 2, &n) != 0)
            return fail(err, errlen, "total: must be a non-negative integer (0 = unlimited)");
        q->total = n;
        q->total_given = 1;
    }
    if (get(arg, "noinfo") != NULL)
        q->noinfo = 1;
    if ((v = get(arg, "format")) != NULL && *v && strcmp(v, "json") != 0)
        return fail(err, errlen, "format: only json is supported");

    /* Per-request fault overrides: same names as the command-line flags. */
    if ((v = get(arg, "fault")) != NULL && *v) {
        enum apisim_fault f;
        if (apisim_fault_parse(v, &f) != 0)
            return fail(err, errlen,
                        "fault: must be one of none, 5xx, 429, malformed, truncated, reset");
        q->forced_fault = (int)f;
    }
    static const struct {
        const char *name;
        size_t off;
    } shares[] = {
        {"fail_5xx", offsetof(struct apisim_faults, p_5xx)},
        {"fail_429", offsetof(struct apisim_faults, p_429)},
        {"malformed", offsetof(struct apisim_faults, p_malformed)},
        {"truncated", offsetof(struct apisim_faults, p_truncated)},
        {"reset", offsetof(struct apisim_faults, p_reset)},
        {"missing", offsetof(struct apisim_faults, p_missing)},
        {"wrong_type", offsetof(struct apisim_faults, p_wrongtype)},
        {"messy_keys", offsetof(struct apisim_faults, p_messy_keys)},
        {"bad_text", offsetof(struct apisim_faults, p_bad_text)},
    };
    for (size_t i = 0; i < sizeof shares / sizeof shares[0]; i++)
        if ((v = get(arg, shares[i].name)) != NULL &&
            apisim_parse_share(v, (double *)(void *)((char *)&q->faults + shares[i].off)) != 0)
            return fail(err, errlen, "%s: must be a share from 0 to 1 (or 0%% to 100%%)",
                        shares[i].name);
    if ((v = get(arg, "retry_after")) != NULL) {
        if (parse_i64(v, 0, 3600, &n) != 0)
            return fail(err, errlen, "retry_after: must be 0 to 3600 seconds");
        q->faults.retry_after_s = (int)n;
    }
    if ((v = get(arg, "latency_ms")) != NULL) {
        if (parse_i64(v, 0, 600000, &n) != 0)
            return fail(err, errlen, "latency_ms: must be 0 to 600000");
        q->faults.latency_ms = (int)n;
    }
    if ((v = get(arg, "jitter_ms")) != NULL) {
        if (parse_i64(v, 0, 600000, &n) != 0)
            return fail(err, errlen, "jitter_ms: must be 0 to 600000");
        q->faults.jitter_ms = (int)n;
    }
    if ((v = get(arg, "fault_seed")) != NULL) {
        if (parse_i64(v, 0, INT64_MAX, &n) != 0)
            return fail(err, errlen, "fault_seed: must be a non-negative integer");
        q->faults.seed = (uint64_t)n;
    }
    return apisim_faults_validate(&q->faults, err, errlen);
}
