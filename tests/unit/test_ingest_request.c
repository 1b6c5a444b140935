/* SPDX-License-Identifier: Apache-2.0 */
/* test_ingest_request.c -- request URLs from templates, request and record header building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ingest/ingest_internal.h"
#include "spate/config.h"
#include "spate/error.h"

#include <stdlib.h>
#include <string.h>

static struct spate_config *load(const char *yaml)
{
    struct spate_config *cfg = NULL;
    char err[512];
    int rc = spate_config_load_string(yaml, "test.yaml", &cfg, err, sizeof err);
    if (rc)
        fail_msg("config: %s", err);
    return cfg;
}

static void url_is(const struct spate_source_config *src, int64_t page, const char *cursor,
                   int batch, const char *seed, const char *want)
{
    struct spate_buf b = {0};
    assert_int_equal(ingest__build_url(src, page, cursor, batch, seed, &b), 0);
    assert_string_equal(b.data, want);
    assert_int_equal(strlen(b.data), b.len);
    spate_buf_free(&b);
}

static void test_url_page(void **state)
{
    (void)state;
    struct spate_config *cfg = load("sources:\n"
                                    "  - name: a\n"
                                    "    url: http://h:1/api/\n"
                                    "    params:\n"
                                    "      nat: \"us,fr\"\n"
                                    "      inc: login name\n"
                                    "    pagination:\n"
                                    "      style: page\n");
    const struct spate_source_config *src = &cfg->sources[0];
    url_is(src, 7, NULL, 500, NULL,
           "http://h:1/api/?nat=us%2Cfr&inc=login%20name&results=500&page=7");
    url_is(src, 1, NULL, 3, "s 1", "http://h:1/api/?nat=us%2Cfr&inc=login%20name&results=3&"
                                   "seed=s%201&page=1");
    spate_config_free(cfg);
}

static void test_url_placeholders(void **state)
{
    (void)state;
    struct spate_config *cfg = load("sources:\n"
                                    "  - name: a\n"
                                    "    url: http://h/v1/{seed}/items?n={batch}&p={page}\n"
                                    "    batch_param: \"\"\n"
                                    "    pagination:\n"
                                    "      style: page\n"
                                    "  - name: c\n"
                                    "    url: http://h/feed?x=1\n"
                                    "    params:\n"
                                    "      after: \"{cursor}\"\n"
                                    "      size: \"{batch}\"\n"
                                    "    pagination:\n"
                                    "      style: cursor\n"
                                    "      cursor_path: meta.next\n"
                                    "  - name: d\n"
                                    "    url: http://h/feed\n"
                                    "    pagination:\n"
                                    "      style: cursor\n"
                                    "      cursor_path: next\n"
                                    "      cursor_param: after\n"
                                    "  - name: l\n"
                                    "    url: http://h/first\n"
                                    "    pagination:\n"
                                    "      style: link\n");
    /* Placeholders in the template replace the implicit parameters. */
    url_is(&cfg->sources[0], 4, NULL, 50, "ab/c", "http://h/v1/ab%2Fc/items?n=50&p=4");
    /* A placeholder in params: the whole value is encoded once. */
    url_is(&cfg->sources[1], 1, NULL, 10, NULL, "http://h/feed?x=1&after=&size=10");
    url_is(&cfg->sources[1], 1, "a&b=c", 10, NULL, "http://h/feed?x=1&after=a%26b%3Dc&size=10");
    /* Without a placeholder the cursor parameter is appended, not on the first page. */
    url_is(&cfg->sources[2], 1, NULL, 5, NULL, "http://h/feed?results=5");
    url_is(&cfg->sources[2], 1, "Zm9v==", 5, NULL, "http://h/feed?results=5&after=Zm9v%3D%3D");
    /* Link style: the next URL from the Link header is used as is. */
    url_is(&cfg->sources[3], 1, NULL, 5, NULL, "http://h/first?results=5");
    url_is(&cfg->sources[3], 1, "http://h/next?x=%20", 5, NULL, "http://h/next?x=%20");
    spate_config_free(cfg);
}

static void test_request_headers(void **state)
{
    (void)state;
    setenv("SPATE_TEST_TOKEN", "s3cr3t", 1);
    struct spate_config *cfg = load("sources:\n"
                                    "  - name: a\n"
                                    "    url: http://h/\n"
                                    "    headers:\n"
                                    "      Authorization: Bearer ${SPATE_TEST_TOKEN}\n"
                                    "      Accept: application/json\n"
                                    "      X-Empty: \"\"\n");
    char **lines = NULL;
    size_t n = 0;
    assert_int_equal(ingest__request_header_lines(&cfg->sources[0], "run-7", 1, &lines, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(lines[0], "Authorization: Bearer s3cr3t");
    assert_string_equal(lines[1], "Accept: application/json");
    assert_string_equal(lines[2], "X-Empty;");
    assert_string_equal(lines[3], "X-Request-Id: run-7");
    ingest__free_lines(lines, n);
    /* To another origin: the request id only, never the Authorization. */
    assert_int_equal(ingest__request_header_lines(&cfg->sources[0], "run-8", 0, &lines, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(lines[0], "X-Request-Id: run-8");
    ingest__free_lines(lines, n);
    spate_config_free(cfg);

    /* A value that would split the request is refused. */
    cfg = load("sources:\n"
               "  - name: a\n"
               "    url: http://h/\n"
               "    headers:\n"
               "      X-Bad: \"a\\r\\nInjected: 1\"\n");
    assert_int_equal(ingest__request_header_lines(&cfg->sources[0], "r", 1, &lines, &n),
                     SPATE_EINVAL);
    assert_null(lines);
    spate_config_free(cfg);
}

/* A Link rel="next" or a redirect used to be followed to any host, with the
 * source's headers: e.g. to the cloud metadata address. */
static void test_url_origin_check(void **state)
{
    (void)state;
    char o[300], host[256];
    assert_int_equal(ingest__url_origin("http://API.example.com/v1/users?page=1", o, sizeof o), 0);
    assert_string_equal(o, "http://api.example.com:80");
    assert_int_equal(ingest__url_origin("https://api.example.com:8443/", o, sizeof o), 0);
    assert_string_equal(o, "https://api.example.com:8443");
    assert_int_equal(ingest__url_origin("ftp://h/", o, sizeof o), SPATE_EINVAL);
    assert_int_equal(ingest__url_origin("/relative", o, sizeof o), SPATE_EINVAL);

    struct spate_strlist none = {0};
    char *items[] = {"cdn.example.net", "::1"};
    struct spate_strlist allow = {items, 2};
    ingest__url_origin("https://api.example.com/v1", o, sizeof o);
    /* same origin, default port written or not */
    assert_int_equal(ingest__url_check(o, "https://api.example.com:443/v1?page=2", &none, host,
                                       sizeof host), 0);
    assert_int_equal(ingest__url_check(o, "https://API.EXAMPLE.COM/x", &none, NULL, 0), 0);
    /* another host, port or scheme is another origin */
    assert_int_equal(ingest__url_check(o, "http://169.254.169.254/latest/meta-data/", &none, host,
                                       sizeof host), SPATE_EPERM);
    assert_string_equal(host, "169.254.169.254");
    assert_int_equal(ingest__url_check(o, "https://api.example.com:444/", &none, NULL, 0),
                     SPATE_EPERM);
    assert_int_equal(ingest__url_check(o, "http://api.example.com/", &none, NULL, 0), SPATE_EPERM);
    /* a user-info trick does not change the host */
    assert_int_equal(ingest__url_check(o, "https://api.example.com@evil.example/", &none, host,
                                       sizeof host), SPATE_EPERM);
    assert_string_equal(host, "evil.example");
    assert_int_equal(ingest__url_check(o, "https://api.example.com.evil.example/", &allow, NULL, 0),
                     SPATE_EPERM);
    /* an allowed host: followed, as another origin (no source headers) */
    assert_int_equal(ingest__url_check(o, "https://CDN.example.net/page/2", &allow, NULL, 0), 1);
    assert_int_equal(ingest__url_check(o, "http://[::1]:8080/", &allow, NULL, 0), 1);
    assert_int_equal(ingest__url_check(o, "file:///etc/passwd", &allow, NULL, 0), SPATE_EINVAL);
    assert_int_equal(ingest__url_check(o, "gopher://cdn.example.net/", &allow, NULL, 0),
                     SPATE_EINVAL);
}

static void test_record_headers(void **state)
{
    (void)state;
    struct ingest_kheader h[INGEST_RECORD_HEADERS];
    char buf[24];
    ingest__record_headers(h, "api-sim", 1764000000123LL, buf, sizeof buf, "abc-1");
    assert_string_equal(h[0].name, "spate.source");
    assert_string_equal(h[0].value, "api-sim");
    assert_string_equal(h[1].name, "spate.fetched_at");
    assert_string_equal(h[1].value, "1764000000123");
    assert_string_equal(h[2].name, "spate.request_id");
    assert_string_equal(h[2].value, "abc-1");
}

/* Issue 14 item 3: a record between message.max.bytes (1,000,000 by default)
 * and the old 1 MiB max_record_bytes was accepted and then refused by Kafka.
 * The check counts what librdkafka counts: framing, key and headers. */
static void test_kafka_overhead(void **state)
{
    (void)state;
    char fetched[24];
    struct ingest_kheader h[INGEST_RECORD_HEADERS];
    ingest__record_headers(h, "users", 1700000000000LL, fetched, sizeof fetched, "abc-1");
    /* 36 framing + 36 key + (10 + 12 + 5) + (10 + 16 + 13) + (10 + 16 + 5) */
    size_t o = ingest__kafka_overhead(36, h, INGEST_RECORD_HEADERS);
    assert_int_equal(o, 36 + 36 + 27 + 39 + 31);
    /* 1,000,000-byte record: fits the old 1,048,576 limit, not Kafka's */
    assert_true(1000000 + o > 1000000);
    assert_int_equal(ingest__fit_value(1000000, 1000000, o), 1000000 - o);
    assert_int_equal(ingest__fit_value(100, 1000000, o), 100);
    assert_int_equal(ingest__fit_value(100, 50, o), 0);
    assert_int_equal(ingest__fit_value(100, 0, 0), 0);
}

static void test_url_encode(void **state)
{
    (void)state;
    struct spate_buf b = {0};
    assert_int_equal(ingest__url_encode(&b, "aZ09-_.~ /?&=%\xc3\xa9"), 0);
    assert_int_equal(spate_buf_append(&b, "", 1), 0);
    assert_string_equal(b.data, "aZ09-_.~%20%2F%3F%26%3D%25%C3%A9");
    spate_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_page),        cmocka_unit_test(test_url_placeholders),
        cmocka_unit_test(test_request_headers), cmocka_unit_test(test_record_headers),
        cmocka_unit_test(test_url_origin_check),
        cmocka_unit_test(test_url_encode),      cmocka_unit_test(test_kafka_overhead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
