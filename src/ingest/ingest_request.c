/* SPDX-License-Identifier: Apache-2.0 */
/* ingest_request.c -- request URLs from templates, request headers and record headers. */
#include "ingest_internal.h"

#include "spate/error.h"

#include <curl/curl.h>
#include <ctype.h>
#include <strings.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ingest__url_encode(struct spate_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_' || c == '.' || c == '~';
        if (keep) {
            if (spate_buf_append(out, p, 1))
                return SPATE_ENOMEM;
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (spate_buf_append(out, e, 3))
                return SPATE_ENOMEM;
        }
    }
    return 0;
}

struct subst {
    int64_t page;
    const char *cursor;
    int batch;
    const char *seed;
    int style;
};

/* Copy tmpl into out with placeholders replaced; encode=1 percent-encodes
 * substituted values (they land in a URL), the template text is kept. */
static int substitute(struct spate_buf *out, const char *tmpl, const struct subst *s, int encode)
{
    const char *p = tmpl;
    while (*p) {
        const char *brace = strchr(p, '{');
        if (!brace)
            return spate_buf_append(out, p, strlen(p)) ? SPATE_ENOMEM : 0;
        if (spate_buf_append(out, p, (size_t)(brace - p)))
            return SPATE_ENOMEM;
        char num[32];
        const char *val = NULL;
        size_t adv = 0;
        if (strncmp(brace, "{page}", 6) == 0) {
            snprintf(num, sizeof num, "%" PRId64, s->page);
            val = num;
            adv = 6;
        } else if (strncmp(brace, "{batch}", 7) == 0) {
            snprintf(num, sizeof num, "%d", s->batch);
            val = num;
            adv = 7;
        } else if (strncmp(brace, "{cursor}", 8) == 0) {
            val = s->cursor ? s->cursor : "";
            adv = 8;
        } else if (strncmp(brace, "{seed}", 6) == 0) {
            val = s->seed ? s->seed : "";
            adv = 6;
        }
        if (!val) {
            if (spate_buf_append(out, "{", 1))
                return SPATE_ENOMEM;
            p = brace + 1;
            continue;
        }
        int rc = encode ? ingest__url_encode(out, val)
                        : (spate_buf_append(out, val, strlen(val)) ? SPATE_ENOMEM : 0);
        if (rc)
            return rc;
        p = brace + adv;
    }
    return 0;
}

static int uses(const struct spate_source_config *src, const char *ph)
{
    if (strstr(src->url, ph))
        return 1;
    for (size_t i = 0; i < src->params.count; i++)
        if (strstr(src->params.items[i].value, ph))
            return 1;
    return 0;
}

int ingest__build_url(const struct spate_source_config *src, int64_t page, const char *cursor,
                      int batch, const char *seed, struct spate_buf *out)
{
    enum ingest_style style = INGEST_STYLE_NONE;
    ingest__style_parse(src->pagination.style, &style);
    spate_buf_reset(out);
    if (style == INGEST_STYLE_LINK && cursor && *cursor) {
        if (spate_buf_append(out, cursor, strlen(cursor)) || spate_buf_reserve(out, 1))
            return SPATE_ENOMEM;
        out->data[out->len] = '\0';
        return 0;
    }
    struct subst s = {.page = page, .cursor = cursor, .batch = batch, .seed = seed};
    int rc = substitute(out, src->url, &s, 1);
    if (rc)
        return rc;
    int has_query = memchr(out->data, '?', out->len) != NULL;
#define SEP()                                                                  \
    do {                                                                       \
        if (spate_buf_append(out, has_query ? "&" : "?", 1))                   \
            return SPATE_ENOMEM;                                               \
        has_query = 1;                                                         \
    } while (0)
    for (size_t i = 0; i < src->params.count; i++) {
        SEP();
        if (ingest__url_encode(out, src->params.items[i].key) || spate_buf_append(out, "=", 1))
            return SPATE_ENOMEM;
        /* The value template is encoded as a whole after substitution. */
        struct spate_buf v = {0};
        rc = substitute(&v, src->params.items[i].value, &s, 0);
        if (rc == 0 && spate_buf_append(&v, "", 1))
            rc = SPATE_ENOMEM;
        if (rc == 0)
            rc = ingest__url_encode(out, v.data);
        spate_buf_free(&v);
        if (rc)
            return rc;
    }
    if (src->batch_param && *src->batch_param && !uses(src, "{batch}")) {
        SEP();
        if (ingest__url_encode(out, src->batch_param) || spate_buf_appendf(out, "=%d", batch))
            return SPATE_ENOMEM;
    }
    if (seed && *seed && !uses(src, "{seed}")) {
        SEP();
        if (spate_buf_append(out, "seed=", 5) || ingest__url_encode(out, seed))
            return SPATE_ENOMEM;
    }
    if (style == INGEST_STYLE_PAGE && !uses(src, "{page}")) {
        SEP();
        if (ingest__url_encode(out, src->pagination.page_param) ||
            spate_buf_appendf(out, "=%" PRId64, page))
            return SPATE_ENOMEM;
    }
    if (style == INGEST_STYLE_CURSOR && cursor && *cursor && !uses(src, "{cursor}")) {
        SEP();
        if (ingest__url_encode(out, src->pagination.cursor_param) ||
            spate_buf_append(out, "=", 1) || ingest__url_encode(out, cursor))
            return SPATE_ENOMEM;
    }
#undef SEP
    /* NUL-terminate without counting it, so out->data is a C string. */
    if (spate_buf_reserve(out, 1))
        return SPATE_ENOMEM;
    out->data[out->len] = '\0';
    return 0;
}

int ingest__request_header_lines(const struct spate_source_config *src, const char *request_id,
                                 int source_headers, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    size_t nh = source_headers ? src->headers.count : 0;
    size_t n = nh + 1;
    char **lines = calloc(n, sizeof *lines);
    if (!lines)
        return SPATE_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < nh; i++) {
        const struct spate_kv *kv = &src->headers.items[i];
        /* A header with CR/LF in its name or value would split the request. */
        if (strpbrk(kv->key, "\r\n:") || strpbrk(kv->value, "\r\n")) {
            ingest__free_lines(lines, k);
            return SPATE_EINVAL;
        }
        size_t len = strlen(kv->key) + strlen(kv->value) + 3;
        lines[k] = malloc(len);
        if (!lines[k]) {
            ingest__free_lines(lines, k);
            return SPATE_ENOMEM;
        }
        /* "Name;" is curl's way to send a header with an empty value. */
        if (kv->value[0])
            snprintf(lines[k], len, "%s: %s", kv->key, kv->value);
        else
            snprintf(lines[k], len, "%s;", kv->key);
        k++;
    }
    size_t len = strlen(request_id) + sizeof "X-Request-Id: ";
    lines[k] = malloc(len);
    if (!lines[k]) {
        ingest__free_lines(lines, k);
        return SPATE_ENOMEM;
    }
    snprintf(lines[k], len, "X-Request-Id: %s", request_id);
    k++;
    *out = lines;
    *count = k;
    return 0;
}

void ingest__free_lines(char **lines, size_t count)
{
    if (!lines)
        return;
    for (size_t i = 0; i < count; i++)
        free(lines[i]);
    free(lines);
}

void ingest__record_headers(struct ingest_kheader *h, const char *source, int64_t fetched_at_ms,
                            char *fetched_at_buf, size_t buflen, const char *request_id)
{
    snprintf(fetched_at_buf, buflen, "%" PRId64, fetched_at_ms);
    h[0].name = "spate.source";
    h[0].value = source;
    h[1].name = "spate.fetched_at";
    h[1].value = fetched_at_buf;
    h[2].name = "spate.request_id";
    h[2].value = request_id;
}

/* librdkafka's RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD: length, attributes,
 * timestamp and offset deltas, key and value lengths, header count, each a
 * varint at its widest. */
#define KAFKA_RECORD_FRAMING 36
/* A header is a name and a value, each after a varint length (<= 5 bytes). */
#define KAFKA_HEADER_FRAMING 10

size_t ingest__kafka_overhead(size_t klen, const struct ingest_kheader *h, size_t nh)
{
    size_t n = KAFKA_RECORD_FRAMING + klen;
    for (size_t i = 0; i < nh; i++)
        n += KAFKA_HEADER_FRAMING + strlen(h[i].name) + (h[i].value ? strlen(h[i].value) : 0);
    return n;
}

size_t ingest__fit_value(size_t vlen, int64_t message_max, size_t overhead)
{
    if (message_max <= 0 || (uint64_t)message_max <= overhead)
        return 0;
    size_t room = (size_t)((uint64_t)message_max - overhead);
    return vlen < room ? vlen : room;
}

/* Parts of an absolute http(s) URL: scheme, host (lower case) and port. */
static int url_parts(const char *url, char *scheme, size_t slen, char *host, size_t hlen,
                     long *port)
{
    CURLU *u = curl_url();
    char *sc = NULL, *h = NULL, *p = NULL;
    int rc = SPATE_EINVAL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &sc, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        (!strcasecmp(sc, "http") || !strcasecmp(sc, "https")) && strlen(sc) < slen &&
        strlen(h) < hlen && *h) {
        for (size_t i = 0; sc[i]; i++)
            scheme[i] = (char)tolower((unsigned char)sc[i]);
        scheme[strlen(sc)] = 0;
        for (size_t i = 0; h[i]; i++)
            host[i] = (char)tolower((unsigned char)h[i]);
        host[strlen(h)] = 0;
        *port = strtol(p, NULL, 10);
        rc = 0;
    }
    curl_free(sc);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

int ingest__url_origin(const char *url, char *out, size_t outlen)
{
    char scheme[8], host[256];
    long port;
    if (url_parts(url, scheme, sizeof scheme, host, sizeof host, &port) != 0)
        return SPATE_EINVAL;
    int n = snprintf(out, outlen, "%s://%s:%ld", scheme, host, port);
    return n > 0 && (size_t)n < outlen ? 0 : SPATE_EINVAL;
}

int ingest__url_check(const char *origin, const char *url, const struct spate_strlist *allow,
                      char *host, size_t hostlen)
{
    char scheme[8], h[256], o[300];
    long port;
    if (host && hostlen)
        host[0] = 0;
    if (url_parts(url, scheme, sizeof scheme, h, sizeof h, &port) != 0)
        return SPATE_EINVAL;
    if (host)
        spate_strlcpy(host, h, hostlen);
    snprintf(o, sizeof o, "%s://%s:%ld", scheme, h, port);
    if (!strcmp(o, origin))
        return 0;
    for (size_t i = 0; allow && i < allow->count; i++) {
        /* curl writes an IPv6 host in brackets; accept the list either way */
        const char *a = allow->items[i];
        size_t al = strlen(a);
        if (!strcasecmp(a, h) ||
            (h[0] == '[' && al + 2 == strlen(h) && !strncasecmp(h + 1, a, al)))
            return 1;
    }
    return SPATE_EPERM;
}
