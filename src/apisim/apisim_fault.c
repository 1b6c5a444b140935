/* SPDX-License-Identifier: Apache-2.0 */
/* apisim_fault.c -- the fault model: which request or record goes wrong and how, replayable from its inputs. */
#include "apisim_internal.h"

#include "spate/error.h"
#include "spate/util.h"

#include <stdio.h>
#include <string.h>

#define NA(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return SPATE_EINVAL;
}

const char *apisim_fault_name(enum apisim_fault f)
{
    static const char *const names[] = {
#define APISIM_FAULT_STR(name, str) str,
        APISIM_FAULT_MAP(APISIM_FAULT_STR)
#undef APISIM_FAULT_STR
    };
    return (unsigned)f < APISIM_FAULT_COUNT ? names[f] : "unknown";
}

const char *apisim_recfault_name(enum apisim_recfault f)
{
    static const char *const names[] = {
#define APISIM_RECFAULT_STR(name, str) str,
        APISIM_RECFAULT_MAP(APISIM_RECFAULT_STR)
#undef APISIM_RECFAULT_STR
    };
    return (unsigned)f < APISIM_RECFAULT_COUNT ? names[f] : "unknown";
}

int apisim_fault_parse(const char *name, enum apisim_fault *out)
{
    for (int i = 0; i < APISIM_FAULT_COUNT; i++)
        if (strcmp(name, apisim_fault_name((enum apisim_fault)i)) == 0) {
            *out = (enum apisim_fault)i;
            return 0;
        }
    return SPATE_EINVAL;
}

int apisim_faults_validate(const struct apisim_faults *f, char *err, size_t errlen)
{
    const double shares[] = {f->p_5xx, f->p_429, f->p_malformed, f->p_truncated, f->p_reset,
                             f->p_missing, f->p_wrongtype, f->p_messy_keys, f->p_bad_text};
    for (size_t i = 0; i < sizeof shares / sizeof shares[0]; i++)
        if (!(shares[i] >= 0.0 && shares[i] <= 1.0))
            return fail(err, errlen, "fault shares must be between 0 and 1");
    if (f->p_5xx + f->p_429 + f->p_malformed + f->p_truncated + f->p_reset > 1.0 + 1e-9)
        return fail(err, errlen,
                    "the request fault shares (5xx, 429, malformed, truncated, reset) add up "
                    "to more than 1");
    if (f->p_missing + f->p_wrongtype > 1.0 + 1e-9)
        return fail(err, errlen, "the record fault shares (missing, wrong-type) add up to more "
                                 "than 1");
    if (f->retry_after_s < 0 || f->retry_after_s > 3600)
        return fail(err, errlen, "retry-after must be between 0 and 3600 seconds");
    if (f->latency_ms < 0 || f->latency_ms > 600000 || f->jitter_ms < 0 ||
        f->jitter_ms > 600000)
        return fail(err, errlen, "latency and jitter must be between 0 and 600000 ms");
    return 0;
}

/* ---- fault decisions ----------------------------------------------------------------- */

#define TAG_REQ 0x5245510000000000ULL
#define TAG_LAT 0x4c41540000000000ULL
#define TAG_REC 0x5245430000000000ULL
#define TAG_SHAPE 0x5348500000000000ULL
#define TAG_TXT 0x5458540000000000ULL

static enum apisim_fault request_fault_h(const struct apisim_faults *f, uint64_t sh,
                                         int64_t page, uint32_t attempt)
{
    double u = apisim__unit(apisim__hash4(f->seed, sh, (uint64_t)page, TAG_REQ | attempt));
    double acc = 0;
    if (u < (acc += f->p_5xx))
        return APISIM_FAULT_SERVER;
    if (u < (acc += f->p_429))
        return APISIM_FAULT_RATELIMIT;
    if (u < (acc += f->p_malformed))
        return APISIM_FAULT_MALFORMED;
    if (u < (acc += f->p_truncated))
        return APISIM_FAULT_TRUNCATED;
    if (u < (acc += f->p_reset))
        return APISIM_FAULT_RESET;
    return APISIM_FAULT_NONE;
}

enum apisim_fault apisim_request_fault(const struct apisim_faults *f, const char *seed,
                                       int64_t page, uint32_t attempt)
{
    return request_fault_h(f, apisim__seed_hash(seed), page, attempt);
}

int apisim_request_latency_ms(const struct apisim_faults *f, const char *seed, int64_t page,
                              uint32_t attempt)
{
    int ms = f->latency_ms;
    if (f->jitter_ms > 0) {
        uint64_t h = apisim__hash4(f->seed, apisim__seed_hash(seed), (uint64_t)page,
                                   TAG_LAT | attempt);
        ms += (int)(h % (uint64_t)(f->jitter_ms + 1));
    }
    return ms;
}

/* Fields a record fault damages. login.uuid comes up most because it is the record key
 * a consumer cannot do without. */
static const char *const missing_fields[] = {"login.uuid", "login.uuid", "login.uuid", "email",
                                             "name", "dob", "nat", "location"};
static const char *const wrongtype_fields[] = {"login.uuid", "dob.age", "registered.date",
                                               "name", "location.street.number",
                                               "location.postcode"};

int apisim__bad_text_h(const struct apisim_faults *f, uint64_t sh, int64_t page, int index)
{
    if (f->p_bad_text <= 0)
        return 0;
    uint64_t h = apisim__hash4(f->seed, sh, (uint64_t)page, TAG_TXT | (uint32_t)index);
    if (apisim__unit(h) >= f->p_bad_text)
        return 0;
    return 1 + (int)((apisim__mix64(h) >> 40) & 1);
}

enum apisim_recfault apisim__record_fault_h(const struct apisim_faults *f, uint64_t sh,
                                            int64_t page, int index, const char **field)
{
    *field = "";
    if (f->p_missing <= 0 && f->p_wrongtype <= 0)
        return APISIM_RECFAULT_NONE;
    uint64_t h = apisim__hash4(f->seed, sh, (uint64_t)page, TAG_REC | (uint32_t)index);
    double u = apisim__unit(h);
    /* The variant comes from bits the uniform draw barely uses. */
    uint32_t v = (uint32_t)(apisim__mix64(h) >> 40);
    if (u < f->p_missing) {
        *field = missing_fields[v % NA(missing_fields)];
        return APISIM_RECFAULT_MISSING;
    }
    if (u < f->p_missing + f->p_wrongtype) {
        *field = wrongtype_fields[v % NA(wrongtype_fields)];
        return APISIM_RECFAULT_WRONGTYPE;
    }
    return APISIM_RECFAULT_NONE;
}

enum apisim_recfault apisim_record_fault(const struct apisim_faults *f, const char *seed,
                                         int64_t page, int index, const char **field)
{
    const char *name;
    enum apisim_recfault rf = apisim__record_fault_h(f, apisim__seed_hash(seed), page, index, &name);
    if (field)
        *field = name;
    return rf;
}

/* ---- body damage for request faults -------------------------------------------------- */

/* How a MALFORMED or TRUNCATED body is damaged, decided from the same inputs as the
 * fault itself so tests can replay it. */
uint64_t apisim__shape_hash(const struct apisim_faults *f, const char *seed, int64_t page,
                            uint32_t attempt)
{
    return apisim__hash4(f->seed, apisim__seed_hash(seed), (uint64_t)page, TAG_SHAPE | attempt);
}

static const char html_error[] =
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

int apisim_damage_body(const struct apisim_faults *f, enum apisim_fault kind, const char *seed,
                       int64_t page, uint32_t attempt, struct spate_buf *body)
{
    uint64_t shape = apisim__shape_hash(f, seed, page, attempt);
    if (kind == APISIM_FAULT_TRUNCATED) {
        if (body->len > 1)
            body->len = 1 + (size_t)(shape % (body->len - 1));
        return 0;
    }
    if (kind != APISIM_FAULT_MALFORMED)
        return 0;
    switch (shape % 3) {
    case 0: /* a proxy's HTML error page sent as 200 */
        body->len = 0;
        return spate_buf_append(body, html_error, sizeof html_error - 1);
    case 1: { /* a trailing comma after the last record */
        static const char marker[] = "],\"info\":{";
        size_t mlen = sizeof marker - 1;
        size_t pos = body->len >= 2 ? body->len - 2 : 0; /* noinfo: before the final "]}" */
        for (size_t i = body->len >= mlen ? body->len - mlen + 1 : 0; i-- > 0;)
            if (memcmp(body->data + i, marker, mlen) == 0) {
                pos = i;
                break;
            }
        if (spate_buf_reserve(body, 1) != 0)
            return SPATE_ENOMEM;
        memmove(body->data + pos + 1, body->data + pos, body->len - pos);
        body->data[pos] = ',';
        body->len++;
        return 0;
    }
    default: /* a raw control byte in the middle: invalid anywhere in JSON text */
        if (body->len == 0)
            return spate_buf_append(body, "\x01", 1);
        body->data[body->len / 2] = '\x01';
        return 0;
    }
}
