/* SPDX-License-Identifier: Apache-2.0 */
/* test_apisim_server.c -- api-sim over real HTTP on 127.0.0.1: routing, each fault kind, attempts, stats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spate/apisim.h"
#include "spate/error.h"
#include "spate/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct reply {
    long status;
    CURLcode cc;
    struct spate_buf body;
    struct spate_buf headers;
    int64_t ms;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    spate_buf_append(arg, p, size * n);
    return size * n;
}

static void reply_free(struct reply *r)
{
    spate_buf_free(&r->body);
    spate_buf_free(&r->headers);
}

static struct reply get(int port, const char *path_query, const char *method)
{
    struct reply r = {0};
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path_query);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    if (method)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    int64_t t0 = spate_mono_ms();
    r.cc = curl_easy_perform(h);
    r.ms = spate_mono_ms() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(h);
    spate_buf_append(&r.body, "", 0);
    spate_buf_append(&r.headers, "", 0);
    return r;
}

/* Value of a response header (case-insensitive name) into out, or "" when absent. */
static const char *header(const struct reply *r, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    size_t nl = strlen(name);
    for (const char *line = r->headers.data; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(line + len - v);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return out;
        }
        line = eol ? eol + 2 : line + len;
    }
    return out;
}

static json_t *parse(const struct reply *r)
{
    json_error_t je;
    return json_loadb(r->body.data, r->body.len, 0, &je);
}

static struct apisim_server *start(const struct apisim_faults *f)
{
    struct apisim_server_opts o = {.listen = "127.0.0.1", .port = 0, .threads = 2};
    if (f)
        o.faults = *f;
    else
        o.faults.retry_after_s = 1;
    struct apisim_server *s = NULL;
    char err[256];
    int rc = apisim_server_start(&o, &s, err, sizeof err);
    if (rc != 0)
        fail_msg("server start: %s", err);
    assert_true(apisim_server_port(s) > 0);
    return s;
}

static void serves_the_rendered_body(void **state)
{
    (void)state;
    struct apisim_server *s = start(NULL);
    int port = apisim_server_port(s);
    struct reply r = get(port, "/api/?results=25&seed=http&page=4&nat=de,no", NULL);
    assert_int_equal(r.cc, CURLE_OK);
    assert_int_equal(r.status, 200);
    char h[64];
    assert_string_equal(header(&r, "X-Spate-Fault", h, sizeof h), "none");
    assert_string_equal(header(&r, "X-Spate-Records", h, sizeof h), "25");
    assert_string_equal(header(&r, "X-Spate-Attempt", h, sizeof h), "0");
    assert_non_null(strstr(header(&r, "Content-Type", h, sizeof h), "application/json"));

    struct apisim_query q = {0};
    strcpy(q.seed, "http");
    q.seed_given = 1;
    q.results = 25;
    q.page = 4;
    q.nat[0] = apisim_nat_find("DE");
    q.nat[1] = apisim_nat_find("NO");
    q.nat_count = 2;
    q.fields = APISIM_F_ALL;
    q.forced_fault = -1;
    q.faults.retry_after_s = 1;
    struct spate_buf want = {0};
    assert_int_equal(apisim_render(&q, &want, NULL), 0);
    assert_int_equal(r.body.len, want.len);
    assert_memory_equal(r.body.data, want.data, want.len);
    spate_buf_free(&want);
    reply_free(&r);

    /* The second request for the same page is attempt 1; same bytes. */
    r = get(port, "/api/?results=25&seed=http&page=4&nat=de,no", NULL);
    assert_string_equal(header(&r, "X-Spate-Attempt", h, sizeof h), "1");
    reply_free(&r);

    /* /api, /api/1.4/ work too; no seed gives a generated one in info. */
    r = get(port, "/api/1.4/?results=3", NULL);
    assert_int_equal(r.status, 200);
    json_t *j = parse(&r);
    assert_non_null(j);
    assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(j, "info"), "seed"))), 16);
    json_decref(j);
    reply_free(&r);
    apisim_server_stop(s);
}

static void errors_are_json(void **state)
{
    (void)state;
    struct apisim_server *s = start(NULL);
    int port = apisim_server_port(s);
    struct reply r = get(port, "/api/?results=99999", NULL);
    assert_int_equal(r.status, 400);
    json_t *j = parse(&r);
    assert_non_null(j);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "results"));
    json_decref(j);
    reply_free(&r);
    r = get(port, "/api/?nat=zz%22", NULL);
    assert_int_equal(r.status, 400);
    j = parse(&r);
    assert_non_null(j); /* the echoed bad value is escaped */
    json_decref(j);
    reply_free(&r);
    r = get(port, "/nope", NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    r = get(port, "/api/", "POST");
    assert_int_equal(r.status, 405);
    reply_free(&r);
    r = get(port, "/health", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);

    /* POST /reset: the next request for a page is attempt 0 again. */
    char h[32];
    reply_free((r = get(port, "/api/?seed=rs&page=2", NULL), &r));
    r = get(port, "/api/?seed=rs&page=2", NULL);
    assert_string_equal(header(&r, "X-Spate-Attempt", h, sizeof h), "1");
    reply_free(&r);
    r = get(port, "/reset", "POST");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = get(port, "/api/?seed=rs&page=2", NULL);
    assert_string_equal(header(&r, "X-Spate-Attempt", h, sizeof h), "0");
    reply_free(&r);
    apisim_server_stop(s);
}

static void each_forced_fault(void **state)
{
    (void)state;
    struct apisim_server *s = start(NULL);
    int port = apisim_server_port(s);
    char h[64];

    struct reply r = get(port, "/api/?results=10&seed=f&fault=5xx", NULL);
    assert_true(r.status == 500 || r.status == 502 || r.status == 503);
    assert_string_equal(header(&r, "X-Spate-Fault", h, sizeof h), "5xx");
    reply_free(&r);

    r = get(port, "/api/?results=10&seed=f&fault=429&retry_after=7", NULL);
    assert_int_equal(r.status, 429);
    assert_string_equal(header(&r, "Retry-After", h, sizeof h), "7");
    reply_free(&r);

    r = get(port, "/api/?results=10&seed=f&fault=malformed", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.cc, CURLE_OK);
    assert_null(parse(&r));
    reply_free(&r);

    r = get(port, "/api/?results=10&seed=f&fault=truncated", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.cc, CURLE_OK);
    assert_null(parse(&r));
    reply_free(&r);

    r = get(port, "/api/?results=500&seed=f&fault=reset", NULL);
    assert_int_equal(r.status, 200);
    assert_int_not_equal(r.cc, CURLE_OK); /* transfer closed with bytes outstanding */
    reply_free(&r);

    r = get(port, "/api/?results=100&seed=f&missing=1", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "X-Spate-Bad-Records", h, sizeof h), "100");
    json_t *j = parse(&r);
    assert_non_null(j);
    json_decref(j);
    reply_free(&r);

    r = get(port, "/api/?results=1&seed=f&latency_ms=150", NULL);
    assert_int_equal(r.status, 200);
    assert_true(r.ms >= 150);
    reply_free(&r);

    /* /stats counted all of that. */
    r = get(port, "/stats", NULL);
    j = parse(&r);
    assert_non_null(j);
    json_t *faults = json_object_get(j, "faults");
    assert_int_equal(json_integer_value(json_object_get(faults, "5xx")), 1);
    assert_int_equal(json_integer_value(json_object_get(faults, "429")), 1);
    assert_int_equal(json_integer_value(json_object_get(faults, "malformed")), 1);
    assert_int_equal(json_integer_value(json_object_get(faults, "truncated")), 1);
    assert_int_equal(json_integer_value(json_object_get(faults, "reset")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "record_faults"), "missing")), 100);
    assert_int_equal(json_integer_value(json_object_get(j, "users_served")), 10 * 2 + 500 + 100 + 1);
    assert_int_equal(json_integer_value(json_object_get(j, "good_users")), 1);
    json_decref(j);
    reply_free(&r);
    apisim_server_stop(s);
}

/* With run-level shares, the server's answers follow apisim_request_fault() attempt by
 * attempt, and /stats counts good users as a test would predict them. */
static void run_faults_follow_the_decision_function(void **state)
{
    (void)state;
    struct apisim_faults f = {.seed = 7, .p_5xx = 0.3, .p_429 = 0.1, .p_malformed = 0.1,
                              .p_truncated = 0.1, .p_missing = 0.1, .retry_after_s = 0};
    struct apisim_server *s = start(&f);
    int port = apisim_server_port(s);
    uint64_t good = 0;
    for (int page = 1; page <= 30; page++) {
        for (uint32_t attempt = 0;; attempt++) {
            char path[128], h[64];
            snprintf(path, sizeof path, "/api/?results=20&seed=run&page=%d", page);
            struct reply r = get(port, path, NULL);
            enum apisim_fault want = apisim_request_fault(&f, "run", page, attempt);
            assert_string_equal(header(&r, "X-Spate-Fault", h, sizeof h), apisim_fault_name(want));
            snprintf(path, sizeof path, "%u", attempt);
            assert_string_equal(header(&r, "X-Spate-Attempt", h, sizeof h), path);
            json_t *j = parse(&r);
            reply_free(&r);
            if (want != APISIM_FAULT_NONE) {
                /* 5xx and 429 carry a JSON error; damaged bodies do not parse. */
                if (want == APISIM_FAULT_MALFORMED || want == APISIM_FAULT_TRUNCATED)
                    assert_null(j);
                json_decref(j);
                assert_true(attempt < 30);
                continue;
            }
            assert_non_null(j);
            for (int i = 0; i < 20; i++)
                good += apisim_record_fault(&f, "run", page, i, NULL) == APISIM_RECFAULT_NONE;
            json_decref(j);
            break;
        }
    }
    struct apisim_stats st;
    apisim_server_stats(s, &st);
    assert_int_equal(st.good_users, good);
    assert_true(st.faults[APISIM_FAULT_SERVER] > 0);
    apisim_server_stop(s);
}

/* Enough distinct pages to make the attempt table grow; counts survive the rehash. */
static void attempts_survive_table_growth(void **state)
{
    (void)state;
    struct apisim_server *s = start(NULL);
    int port = apisim_server_port(s);
    CURL *h = curl_easy_init();
    struct spate_buf sink = {0};
    char url[128];
    for (int page = 1; page <= 3000; page++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/?seed=grow&page=%d&inc=nat", port, page);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        sink.len = 0;
    }
    curl_easy_cleanup(h);
    spate_buf_free(&sink);
    char hv[32];
    for (int page = 1; page <= 3000; page += 997) {
        snprintf(url, sizeof url, "/api/?seed=grow&page=%d&inc=nat", page);
        struct reply r = get(port, url, NULL);
        assert_string_equal(header(&r, "X-Spate-Attempt", hv, sizeof hv), "1");
        reply_free(&r);
    }
    apisim_server_stop(s);
}

static void busy_port_is_reported(void **state)
{
    (void)state;
    struct apisim_server *a = start(NULL);
    struct apisim_server_opts o = {.listen = "127.0.0.1", .port = apisim_server_port(a),
                                   .threads = 1};
    struct apisim_server *b = NULL;
    char err[256];
    assert_int_equal(apisim_server_start(&o, &b, err, sizeof err), SPATE_EADDRINUSE);
    assert_null(b);
    o.listen = "not-an-address";
    o.port = 0;
    assert_int_equal(apisim_server_start(&o, &b, err, sizeof err), SPATE_EINVAL);
    apisim_server_stop(a);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_the_rendered_body),
        cmocka_unit_test(errors_are_json),
        cmocka_unit_test(each_forced_fault),
        cmocka_unit_test(run_faults_follow_the_decision_function),
        cmocka_unit_test(attempts_survive_table_growth),
        cmocka_unit_test(busy_port_is_reported),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
