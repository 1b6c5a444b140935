/* SPDX-License-Identifier: Apache-2.0 */
/* sink_dlq.c -- the DLQ envelope of a poison record, cut to fit the producer's message limit. */
#include "sink_internal.h"

#include "spate/error.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a value is written: as text when it is UTF-8, else "0x" + hex, which
 * keeps every byte. */
struct repr {
    const unsigned char *p;
    size_t len;
    int hex;
};

static void repr_init(struct repr *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    json_t *probe = p ? json_stringn(p, len) : NULL;
    r->hex = p && !probe;
    json_decref(probe);
}

/* The JSON string of the first n bytes of r (n cut back to a character
 * boundary for text), or NULL when out of memory. */
static json_t *repr_json(const struct repr *r, size_t n)
{
    if (!r->p)
        return json_null();
    if (n > r->len)
        n = r->len;
    if (!r->hex) {
        while (n > 0 && n < r->len && (r->p[n] & 0xC0) == 0x80)
            n--; /* never split a character: the prefix must stay UTF-8 */
        return json_stringn((const char *)r->p, n);
    }
    char *hex = malloc(n * 2 + 3);
    if (!hex)
        return NULL;
    static const char digits[] = "0123456789abcdef";
    hex[0] = '0';
    hex[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        hex[2 + 2 * i] = digits[r->p[i] >> 4];
        hex[3 + 2 * i] = digits[r->p[i] & 15];
    }
    json_t *s = json_stringn(hex, n * 2 + 2);
    free(hex);
    return s;
}

static void sha256_hex(const void *p, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = 0;
    if (!EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL))
        return;
    for (unsigned int i = 0; i < mdlen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Dumps the envelope with key and raw cut to key_n and raw_n bytes; cut adds
 * the fields that say so. NULL when out of memory. */
static char *dump(const struct sink_dlq_in *in, const struct repr *key, size_t key_n,
                  const struct repr *raw, size_t raw_n, int cut, const char *sha,
                  size_t *len)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    bad |= json_object_set_new(o, "stage", json_string("sink"));
    bad |= json_object_set_new(o, "reason", json_string(in->reason ? in->reason : "unknown"));
    bad |= json_object_set_new(o, "key", repr_json(key, key_n));
    bad |= json_object_set_new(o, "raw", repr_json(raw, raw_n));
    if (cut) {
        bad |= json_object_set_new(o, "raw_truncated", json_true());
        bad |= json_object_set_new(o, "raw_bytes", json_integer((json_int_t)in->raw_len));
        bad |= json_object_set_new(o, "raw_sha256", json_string(sha));
        if (key_n < key->len)
            bad |= json_object_set_new(o, "key_truncated", json_true());
    }
    bad |= json_object_set_new(o, "at", json_string(in->at ? in->at : ""));
    bad |= json_object_set_new(o, "topic", json_string(in->topic ? in->topic : ""));
    bad |= json_object_set_new(o, "partition", json_integer(in->partition));
    bad |= json_object_set_new(o, "offset", json_integer(in->offset));
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s)
        *len = strlen(s);
    return s;
}

/* Whether the cut envelope with these prefixes fits max: 0 and *out replaced
 * by it, SPATE_ETOOBIG (*out untouched) or SPATE_ENOMEM. The encoded size
 * grows with either prefix, so the callers bisect on it. */
static int fits_with(const struct sink_dlq_in *in, const struct repr *key, size_t key_n,
                     const struct repr *raw, size_t raw_n, const char *sha, size_t max,
                     char **out, size_t *out_len)
{
    size_t len;
    char *s = dump(in, key, key_n, raw, raw_n, 1, sha, &len);
    if (!s)
        return SPATE_ENOMEM;
    if (len > max) {
        free(s);
        return SPATE_ETOOBIG;
    }
    free(*out);
    *out = s;
    *out_len = len;
    return 0;
}

/* Bisects for the longest prefix of the key (cut_key) or of raw (key_n of the
 * key kept) that fits, given that length 0 fits (*out holds it) and hi does
 * not; *out ends as the longest that fit. 0 or SPATE_ENOMEM (*out freed). */
static int longest_fit(const struct sink_dlq_in *in, const struct repr *key,
                       const struct repr *raw, int cut_key, size_t key_n, size_t hi,
                       const char *sha, size_t max, char **out, size_t *out_len)
{
    size_t lo = 0;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cut_key ? fits_with(in, key, mid, raw, 0, sha, max, out, out_len)
                        : fits_with(in, key, key_n, raw, mid, sha, max, out, out_len);
        if (r == SPATE_ENOMEM) {
            free(*out);
            *out = NULL;
            return r;
        }
        if (r == 0)
            lo = mid;
        else
            hi = mid;
    }
    return 0;
}

int sink__dlq_envelope(const struct sink_dlq_in *in, size_t max_bytes, char **out,
                       size_t *out_len, int *cut)
{
    struct repr key, raw;
    repr_init(&key, in->key, in->key_len);
    repr_init(&raw, in->raw, in->raw_len);
    *out = NULL;
    *cut = 0;
    size_t len;
    char *s = dump(in, &key, key.len, &raw, raw.len, 0, NULL, &len);
    if (!s)
        return SPATE_ENOMEM;
    if (len <= max_bytes) {
        *out = s;
        *out_len = len;
        return 0;
    }
    free(s);
    *cut = 1;
    char sha[65];
    sha256_hex(in->raw ? in->raw : "", in->raw_len, sha);
    /* the key first (whole when the envelope fits without raw), then raw */
    size_t key_n = key.len;
    int rc = fits_with(in, &key, key_n, &raw, 0, sha, max_bytes, out, out_len);
    if (rc == SPATE_ETOOBIG) {
        rc = fits_with(in, &key, 0, &raw, 0, sha, max_bytes, out, out_len);
        if (rc)
            return rc; /* not even the reason and coordinates fit */
        return longest_fit(in, &key, &raw, 1, 0, key.len, sha, max_bytes, out, out_len);
    }
    if (rc)
        return rc;
    return longest_fit(in, &key, &raw, 0, key_n, raw.len, sha, max_bytes, out, out_len);
}
