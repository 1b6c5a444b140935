/* SPDX-License-Identifier: Apache-2.0 */
/* init_fetch.c -- fetch sample pages of an API and find how it paginates. */
#include "spate/init.h"

#include "spate/error.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SAMPLE_MAX_BYTES (64L * 1024 * 1024)

struct resp {
    struct spate_buf body;
    char next_link[2048];
    long status;
    int too_large;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct resp *r = arg;
    if (r->body.len + size * n > (size_t)SAMPLE_MAX_BYTES) {
        r->too_large = 1;
        return 0;
    }
    return spate_buf_append(&r->body, p, size * n) == 0 ? size * n : 0;
}

/* Link: <https://api/x?page=2>; rel="next", <...>; rel="last" */
static void parse_link(const char *v, size_t len, char *out, size_t outlen)
{
    const char *end = v + len;
    const char *p = v;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt)
            return;
        const char *gt = memchr(lt, '>', (size_t)(end - lt));
        if (!gt)
            return;
        const char *comma = memchr(gt, ',', (size_t)(end - gt));
        const char *stop = comma ? comma : end;
        /* rel="next" or rel=next among the parameters */
        int next = 0;
        for (const char *q = gt; q + 8 <= stop; q++)
            if (!strncasecmp(q, "rel=", 4)) {
                const char *r = q + 4 + (q[4] == '"');
                if (r + 4 <= stop && !strncasecmp(r, "next", 4) &&
                    (r + 4 == stop || r[4] == '"' || r[4] == ';' || r[4] == ' '))
                    next = 1;
            }
        if (next) {
            size_t n = (size_t)(gt - lt - 1);
            if (n < outlen) {
                memcpy(out, lt + 1, n);
                out[n] = '\0';
            }
            return;
        }
        p = stop + 1;
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(p, "link:", 5))
        parse_link(p + 5, len - 5, r->next_link, sizeof r->next_link);
    return len;
}

static int get(const char *url, struct resp *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    if (!c)
        return SPATE_ENOMEM;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "spate-init");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    if (r->too_large) {
        snprintf(err, errlen, "%s: the response is larger than %ld MiB: not a sample page",
                 url, SAMPLE_MAX_BYTES >> 20);
        return SPATE_EINVAL;
    }
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(cc));
        return SPATE_ESERVER;
    }
    if (r->status < 200 || r->status > 299) {
        snprintf(err, errlen, "%s: HTTP status %ld", url, r->status);
        return SPATE_ESERVER;
    }
    return 0;
}

static json_t *parse(const char *url, struct resp *r, int page, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_DECODE_ANY, &je);
    if (!j) {
        char head[41];
        size_t n = r->body.len < 40 ? r->body.len : 40;
        for (size_t i = 0; i < n; i++)
            head[i] = (r->body.data[i] >= 32 && r->body.data[i] < 127) ? r->body.data[i] : '.';
        head[n] = '\0';
        snprintf(err, errlen, "%s (page %d): not JSON: %s at byte %d (the body begins \"%s\")",
                 url, page, je.text, je.position, head);
    }
    return j;
}

/* ---- URL query editing ------------------------------------------------------------------ */

/* The value of query parameter name in url (into out), 1 when found. */
static int query_param(const char *url, const char *name, char *out, size_t outlen)
{
    const char *q = strchr(url, '?');
    size_t n = strlen(name);
    while (q) {
        q++;
        if (!strncmp(q, name, n) && q[n] == '=') {
            const char *v = q + n + 1;
            size_t len = strcspn(v, "&#");
            if (len >= outlen)
                len = outlen - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
        q = strchr(q, '&');
    }
    return 0;
}

/* url with parameter name set to value (replaced, or added). */
static void with_param(const char *url, const char *name, const char *value, char *out,
                       size_t outlen)
{
    const char *q = strchr(url, '?');
    size_t n = strlen(name);
    const char *p = q;
    while (p) {
        p++;
        if (!strncmp(p, name, n) && p[n] == '=') {
            const char *v = p + n + 1;
            size_t len = strcspn(v, "&#");
            snprintf(out, outlen, "%.*s%s%s", (int)(v - url), url, value, v + len);
            return;
        }
        p = strchr(p, '&');
    }
    snprintf(out, outlen, "%s%s%s=%s", url, q ? "&" : "?", name, value);
}

/* ---- cursors ------------------------------------------------------------------------------ */

struct cursor_name {
    const char *field; /* in the response */
    const char *param; /* the query parameter that carries it back: a guess */
};
static const struct cursor_name cursor_names[] = {
    {"next_cursor", "cursor"}, {"nextCursor", "cursor"},       {"cursor", "cursor"},
    {"next", "cursor"},        {"next_page_token", "page_token"},
    {"nextPageToken", "pageToken"}, {"next_token", "token"},   {"after", "after"},
    {NULL, NULL}};

/* A cursor at the top level or one object down (meta.next_cursor). */
static int find_cursor(json_t *page, char *path, size_t plen, const char **param)
{
    if (!json_is_object(page))
        return 0;
    for (const struct cursor_name *c = cursor_names; c->field; c++) {
        json_t *v = json_object_get(page, c->field);
        if (json_is_string(v) && strncmp(json_string_value(v), "http", 4) != 0) {
            snprintf(path, plen, "%s", c->field);
            *param = c->param;
            return 1;
        }
    }
    const char *k;
    json_t *o;
    json_object_foreach(page, k, o)
    {
        if (!json_is_object(o) || strchr(k, '.'))
            continue;
        for (const struct cursor_name *c = cursor_names; c->field; c++) {
            json_t *v = json_object_get(o, c->field);
            if (json_is_string(v) && strncmp(json_string_value(v), "http", 4) != 0) {
                snprintf(path, plen, "%s.%s", k, c->field);
                *param = c->param;
                return 1;
            }
        }
    }
    return 0;
}

static const char *cursor_value(json_t *page, const char *path)
{
    char buf[256];
    spate_strlcpy(buf, path, sizeof buf);
    json_t *cur = page;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save))
        cur = json_is_object(cur) ? json_object_get(cur, t) : NULL;
    return json_is_string(cur) && json_string_value(cur)[0] ? json_string_value(cur) : NULL;
}

/* The text of the first record, to tell two pages apart. */
static char *first_record(json_t *page, const char *records_path)
{
    json_t *arr = NULL;
    if (records_path)
        arr = init_records_at(page, records_path);
    else if (json_is_array(page))
        arr = page;
    else if (json_is_object(page)) {
        const char *k;
        json_t *v;
        json_object_foreach(page, k, v)
        {
            if (json_is_array(v) && json_array_size(v) > 0) {
                arr = v;
                break;
            }
        }
    }
    json_t *e = arr ? json_array_get(arr, 0) : NULL;
    return e ? json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
}

static int push(struct init_sample *s, json_t *j)
{
    json_t **p = realloc(s->pages, (s->npages + 1) * sizeof *p);
    if (!p) {
        json_decref(j);
        return SPATE_ENOMEM;
    }
    s->pages = p;
    s->pages[s->npages++] = j;
    return 0;
}

void init_sample_free(struct init_sample *s)
{
    for (size_t i = 0; i < s->npages; i++)
        json_decref(s->pages[i]);
    free(s->pages);
    free(s->url);
    memset(s, 0, sizeof *s);
}

static int same_first(json_t *a, json_t *b, const char *records_path)
{
    char *x = first_record(a, records_path), *y = first_record(b, records_path);
    int same = !x || !y || !strcmp(x, y);
    free(x);
    free(y);
    return same;
}

int init_fetch_sample(const char *url, const char *records_path, int pages,
                      struct init_sample *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    snprintf(out->style, sizeof out->style, "none");
    out->url = strdup(url);
    if (!out->url)
        return SPATE_ENOMEM;
    struct resp r;
    int rc = get(url, &r, err, errlen);
    if (rc) {
        spate_buf_free(&r.body);
        return rc;
    }
    json_t *first = parse(url, &r, 1, err, errlen);
    char link[2048];
    spate_strlcpy(link, r.next_link, sizeof link);
    spate_buf_free(&r.body);
    if (!first)
        return SPATE_EINVAL;
    if ((rc = push(out, first)) != 0)
        return rc;
    if (pages < 1)
        pages = 1;

    char next[4096];
    const char *param = NULL;
    char cpath[256];
    if (link[0]) {
        snprintf(out->style, sizeof out->style, "link");
        snprintf(out->note, sizeof out->note, "a Link header with rel=\"next\"");
        while ((int)out->npages < pages && link[0]) {
            spate_strlcpy(next, link, sizeof next);
            if ((rc = get(next, &r, err, errlen)) != 0)
                break;
            json_t *j = parse(next, &r, (int)out->npages + 1, err, errlen);
            spate_strlcpy(link, r.next_link, sizeof link);
            spate_buf_free(&r.body);
            if (!j)
                return SPATE_EINVAL;
            if ((rc = push(out, j)) != 0)
                return rc;
        }
        spate_buf_free(&r.body);
        return rc;
    }
    if (find_cursor(first, cpath, sizeof cpath, &param)) {
        char cp[64];
        /* a cursor parameter already in the URL names itself */
        const char *use = param;
        for (const struct cursor_name *c = cursor_names; c->field; c++)
            if (query_param(url, c->param, cp, sizeof cp))
                use = c->param;
        snprintf(out->style, sizeof out->style, "cursor");
        spate_strlcpy(out->cursor_path, cpath, sizeof out->cursor_path);
        spate_strlcpy(out->cursor_param, use, sizeof out->cursor_param);
        snprintf(out->note, sizeof out->note, "a cursor in the response ('%s'), sent back as "
                 "?%s= (a guess: check the API's documentation)", cpath, use);
        json_t *last = first;
        while ((int)out->npages < pages) {
            const char *cur = cursor_value(last, cpath);
            if (!cur)
                break;
            with_param(url, use, cur, next, sizeof next);
            if ((rc = get(next, &r, err, errlen)) != 0)
                break;
            json_t *j = parse(next, &r, (int)out->npages + 1, err, errlen);
            spate_buf_free(&r.body);
            if (!j)
                return SPATE_EINVAL;
            if ((rc = push(out, j)) != 0)
                return rc;
            last = j;
        }
        spate_buf_free(&r.body);
        return rc;
    }
    /* page numbers: the URL's own page parameter, else try ?page=2 */
    char pv[32];
    long long start = 1;
    int in_url = query_param(url, "page", pv, sizeof pv);
    if (in_url)
        start = strtoll(pv, NULL, 10);
    char num[32];
    snprintf(num, sizeof num, "%lld", start + 1);
    with_param(url, "page", num, next, sizeof next);
    if (pages < 2 && !in_url)
        return 0; /* one page asked for: no probe */
    if (get(next, &r, err, errlen) != 0) {
        spate_buf_free(&r.body);
        err[0] = '\0';
        return 0; /* no second page: a single-page API */
    }
    json_t *second = parse(next, &r, 2, err, errlen);
    spate_buf_free(&r.body);
    err[0] = '\0';
    if (!second || same_first(first, second, records_path)) {
        json_decref(second);
        if (in_url) {
            snprintf(out->style, sizeof out->style, "page");
            spate_strlcpy(out->page_param, "page", sizeof out->page_param);
            out->start_page = start;
        }
        return 0;
    }
    snprintf(out->style, sizeof out->style, "page");
    spate_strlcpy(out->page_param, "page", sizeof out->page_param);
    out->start_page = start;
    snprintf(out->note, sizeof out->note, "page numbers (?page=%lld gave other records than "
             "page %lld)", start + 1, start);
    if ((int)out->npages < pages) {
        if ((rc = push(out, second)) != 0)
            return rc;
    } else {
        json_decref(second);
    }
    for (long long p = start + 2; (int)out->npages < pages; p++) {
        snprintf(num, sizeof num, "%lld", p);
        with_param(url, "page", num, next, sizeof next);
        if ((rc = get(next, &r, err, errlen)) != 0) {
            spate_buf_free(&r.body);
            err[0] = '\0';
            return 0;
        }
        json_t *j = parse(next, &r, (int)out->npages + 1, err, errlen);
        spate_buf_free(&r.body);
        if (!j)
            return SPATE_EINVAL;
        json_t *arr = records_path ? init_records_at(j, records_path) : NULL;
        if (arr && json_array_size(arr) == 0) {
            json_decref(j);
            break; /* the end of the data */
        }
        if ((rc = push(out, j)) != 0)
            return rc;
    }
    return 0;
}

void init_url_template(const struct init_sample *s, char *out, size_t outlen)
{
    char v[64];
    if (!strcmp(s->style, "page") && query_param(s->url, s->page_param, v, sizeof v)) {
        with_param(s->url, s->page_param, "{page}", out, outlen);
        return;
    }
    if (!strcmp(s->style, "cursor") && query_param(s->url, s->cursor_param, v, sizeof v)) {
        with_param(s->url, s->cursor_param, "{cursor}", out, outlen);
        return;
    }
    spate_strlcpy(out, s->url, outlen);
}
