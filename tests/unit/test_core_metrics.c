/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_metrics.c -- metric registration, atomic updates, quantiles, text format, HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spate/error.h"
#include "spate/metrics.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *render(struct metrics_registry *reg)
{
    struct spate_buf b = {0};
    assert_int_equal(metrics_render(reg, &b), 0);
    assert_int_equal(spate_buf_append(&b, "", 1), 0);
    return b.data;
}

static void test_counter_gauge(void **state)
{
    (void)state;
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_counter *a = metrics_counter(reg, "req_total", "Requests", "code=\"200\"");
    struct metrics_counter *b = metrics_counter(reg, "req_total", "Requests", "code=\"500\"");
    assert_non_null(a);
    assert_ptr_not_equal(a, b);
    /* Same name and labels: the same series. */
    assert_ptr_equal(a, metrics_counter(reg, "req_total", "ignored", "code=\"200\""));
    /* A name cannot change type; bad names are refused. */
    assert_null(metrics_gauge(reg, "req_total", "x", NULL));
    assert_null(metrics_counter(reg, "1bad", "x", NULL));
    assert_null(metrics_counter(reg, "bad-name", "x", NULL));
    metrics_counter_add(a, 5);
    metrics_counter_inc(a);
    metrics_counter_inc(b);
    metrics_counter_inc(NULL); /* no-op */
    assert_int_equal(metrics_counter_value(a), 6);
    struct metrics_gauge *g = metrics_gauge(reg, "depth", "Queue depth", NULL);
    metrics_gauge_set(g, 10);
    metrics_gauge_add(g, -2.5);
    assert_true(fabs(metrics_gauge_value(g) - 7.5) < 1e-9);

    char *text = render(reg);
    assert_non_null(strstr(text, "# HELP req_total Requests\n# TYPE req_total counter\n"));
    assert_non_null(strstr(text, "req_total{code=\"200\"} 6\n"));
    assert_non_null(strstr(text, "req_total{code=\"500\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE depth gauge\ndepth 7.5\n"));
    /* HELP/TYPE once per name. */
    assert_null(strstr(strstr(text, "# TYPE req_total") + 1, "# TYPE req_total"));
    free(text);
    metrics_registry_free(reg);
}

static void test_quantile_math(void **state)
{
    (void)state;
    const double bounds[] = {1, 2, 4, 8};
    /* 10 observations in (0,1], 10 in (1,2], 0 in (2,4], 0 in (4,8], 0 above. */
    const uint64_t c1[] = {10, 10, 0, 0, 0};
    assert_true(fabs(metrics_quantile_from_buckets(bounds, 4, c1, 0.5) - 1.0) < 1e-9);
    assert_true(fabs(metrics_quantile_from_buckets(bounds, 4, c1, 0.25) - 0.5) < 1e-9);
    assert_true(fabs(metrics_quantile_from_buckets(bounds, 4, c1, 0.75) - 1.5) < 1e-9);
    assert_true(fabs(metrics_quantile_from_buckets(bounds, 4, c1, 1.0) - 2.0) < 1e-9);
    /* Everything above the last bound reports the last bound. */
    const uint64_t c2[] = {0, 0, 0, 0, 5};
    assert_true(fabs(metrics_quantile_from_buckets(bounds, 4, c2, 0.99) - 8.0) < 1e-9);
    const uint64_t c0[] = {0, 0, 0, 0, 0};
    assert_true(metrics_quantile_from_buckets(bounds, 4, c0, 0.5) == 0.0);
    /* p99.9 of 1000 observations with one outlier in (4,8]. */
    const uint64_t c3[] = {999, 0, 0, 1, 0};
    double p999 = metrics_quantile_from_buckets(bounds, 4, c3, 0.999);
    assert_true(p999 <= 1.0 + 1e-9);
    double p9999 = metrics_quantile_from_buckets(bounds, 4, c3, 0.9999);
    assert_true(p9999 > 4.0 && p9999 <= 8.0);
}

static void test_histogram(void **state)
{
    (void)state;
    struct metrics_registry *reg = metrics_registry_new();
    const double bounds[] = {0.01, 0.1, 1};
    struct metrics_histogram *h = metrics_histogram(reg, "lat_seconds", "Latency", "op=\"x\"",
                                                    bounds, 3);
    assert_non_null(h);
    const double unsorted[] = {1, 0.5};
    assert_null(metrics_histogram(reg, "other", "x", NULL, unsorted, 2));
    for (int i = 0; i < 90; i++)
        metrics_histogram_observe(h, 0.005);
    for (int i = 0; i < 9; i++)
        metrics_histogram_observe(h, 0.05);
    metrics_histogram_observe(h, 5); /* +Inf bucket */
    metrics_histogram_observe(h, 0.1); /* le is inclusive */
    assert_int_equal(metrics_histogram_count(h), 101);
    assert_true(fabs(metrics_histogram_sum(h) - (0.45 + 0.45 + 5 + 0.1)) < 1e-9);
    assert_true(metrics_histogram_quantile(h, 0.5) <= 0.01);
    char *text = render(reg);
    assert_non_null(strstr(text, "# TYPE lat_seconds histogram\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"x\",le=\"0.01\"} 90\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"x\",le=\"0.10000000000000001\"} 100\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"x\",le=\"+Inf\"} 101\n"));
    assert_non_null(strstr(text, "lat_seconds_count{op=\"x\"} 101\n"));
    assert_non_null(strstr(text, "lat_seconds_sum{op=\"x\"} "));
    assert_non_null(strstr(text, "# TYPE lat_seconds_quantile gauge\n"));
    assert_non_null(strstr(text, "lat_seconds_quantile{op=\"x\",quantile=\"0.999\"} "));
    free(text);
    metrics_registry_free(reg);
}

struct hammer {
    struct metrics_counter *c;
    struct metrics_histogram *h;
    struct metrics_gauge *g;
};

static void *hammer_thread(void *arg)
{
    struct hammer *hm = arg;
    for (int i = 0; i < 100000; i++) {
        metrics_counter_inc(hm->c);
        metrics_histogram_observe(hm->h, 0.002);
        metrics_gauge_add(hm->g, 1);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    struct metrics_registry *reg = metrics_registry_new();
    struct hammer hm = {
        .c = metrics_counter(reg, "n_total", "n", NULL),
        .h = metrics_histogram(reg, "t_seconds", "t", NULL, metrics_latency_buckets,
                               metrics_latency_nbuckets),
        .g = metrics_gauge(reg, "g", "g", NULL),
    };
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer_thread, &hm);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(metrics_counter_value(hm.c), 400000);
    assert_int_equal(metrics_histogram_count(hm.h), 400000);
    assert_true(fabs(metrics_gauge_value(hm.g) - 400000) < 1e-6);
    assert_true(fabs(metrics_histogram_sum(hm.h) - 800) < 1e-3);
    metrics_registry_free(reg);
}

static int http_get(int port, const char *path, char *out, size_t outlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while (got < outlen - 1 && (r = read(fd, out + got, outlen - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(fd);
    return (int)got;
}

static void test_http_endpoint(void **state)
{
    (void)state;
    struct metrics_registry *reg = metrics_registry_new();
    metrics_counter_add(metrics_counter(reg, "served_total", "Served", NULL), 3);
    struct metrics_server *srv = NULL;
    int port = 0, rc = -1;
    for (int tries = 0; tries < 20 && rc != 0; tries++) {
        port = 20000 + (int)((unsigned)getpid() * 7u + (unsigned)tries * 131u) % 30000;
        rc = metrics_server_start(reg, "127.0.0.1", port, &srv);
    }
    assert_int_equal(rc, 0);
    char buf[8192];
    assert_true(http_get(port, "/metrics", buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "200 OK"));
    assert_non_null(strstr(buf, "text/plain; version=0.0.4"));
    assert_non_null(strstr(buf, "served_total 3\n"));
    assert_true(http_get(port, "/healthz", buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "ok"));
    assert_true(http_get(port, "/nope", buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "404"));
    /* The same port twice is refused. */
    struct metrics_server *srv2 = NULL;
    assert_int_not_equal(metrics_server_start(reg, "127.0.0.1", port, &srv2), 0);
    assert_int_equal(metrics_server_start(reg, "not-an-ip", port + 1, &srv2), SPATE_EINVAL);
    assert_int_equal(metrics_server_start(reg, "127.0.0.1", 0, &srv2), SPATE_EINVAL);
    metrics_server_stop(srv);
    metrics_registry_free(reg);
}

/* A source name from the config with a quote, a backslash and a newline must
 * stay one label value: raw, it ended the value early and a newline started a
 * forged series of the attacker's choosing. */
static void test_label_escape(void **state)
{
    (void)state;
    struct spate_buf l = {0};
    assert_int_equal(metrics_label_append(&l, "source", "a\"b\\c\nevil_total 1e9"), 0);
    assert_int_equal(metrics_label_append(&l, "code", "200"), 0);
    assert_string_equal(l.data, "source=\"a\\\"b\\\\c\\nevil_total 1e9\",code=\"200\"");
    struct metrics_registry *reg = metrics_registry_new();
    metrics_counter_inc(metrics_counter(reg, "x_total", "x", l.data));
    struct spate_buf out = {0};
    assert_int_equal(metrics_render(reg, &out), 0);
    assert_non_null(strstr(out.data, "x_total{source=\"a\\\"b\\\\c\\nevil_total 1e9\",code=\"200\"} 1\n"));
    assert_null(strstr(out.data, "\nevil_total"));
    spate_buf_free(&out);
    spate_buf_free(&l);
    metrics_registry_free(reg);
}

static void test_secret_equal(void **state)
{
    (void)state;
    assert_true(spate_secret_equal("s3cret-token", 12, "s3cret-token", 12));
    assert_false(spate_secret_equal("s3cret-tokeN", 12, "s3cret-token", 12));
    assert_false(spate_secret_equal("s3cret", 6, "s3cret-token", 12));
    assert_false(spate_secret_equal("", 0, "s3cret-token", 12));
    assert_true(spate_secret_equal("", 0, "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge),     cmocka_unit_test(test_quantile_math),
        cmocka_unit_test(test_histogram),         cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_http_endpoint),     cmocka_unit_test(test_label_escape),
        cmocka_unit_test(test_secret_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
