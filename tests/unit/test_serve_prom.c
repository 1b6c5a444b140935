/* SPDX-License-Identifier: Apache-2.0 */
/* test_serve_prom.c -- reading the stages' Prometheus text, windowed latency quantiles, the
 * pipeline sample maths and JSON, and the HTTP routing of `spate serve`. */
#include "serve/serve_internal.h"

#include "spate/error.h"
#include "spate/metrics.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char sample_text[] =
    "# HELP spate_ingest_records_fetched_total Records fetched\n"
    "# TYPE spate_ingest_records_fetched_total counter\n"
    "spate_ingest_records_fetched_total{source=\"a\"} 100\n"
    "spate_ingest_records_fetched_total{source=\"b\"} 23\n"
    "spate_ingest_dlq_total{source=\"a\",reason=\"bad \\\"json\\\", really\"} 4\n"
    "spate_ingest_producer_queue_depth 7.5\n"
    "weird_value NaN\n"
    "inf_value +Inf 1700000000000\n"
    "\n"
    "   \n";

static void test_parse(void **state)
{
    (void)state;
    struct serve_prom p;
    assert_int_equal(serve__prom_parse(sample_text, strlen(sample_text), &p), 0);
    assert_int_equal(p.n, 6);
    int found;
    assert_true(serve__prom_sum(&p, "spate_ingest_records_fetched_total", NULL, &found) == 123);
    assert_int_equal(found, 1);
    assert_true(serve__prom_sum(&p, "spate_ingest_records_fetched_total", "source=\"b\"",
                                &found) == 23);
    assert_true(serve__prom_sum(&p, "spate_ingest_records_fetched_total", "source=\"c\"",
                                &found) == 0);
    assert_int_equal(found, 0);
    assert_true(serve__prom_sum(&p, "spate_ingest_dlq_total", "source=\"a\"", &found) == 4);
    assert_true(serve__prom_sum(&p, "spate_ingest_producer_queue_depth", NULL, NULL) == 7.5);
    assert_true(serve__prom_sum(&p, "weird_value", NULL, &found) == 0); /* NaN skipped */
    assert_int_equal(found, 1);
    assert_true(isinf(p.s[5].value));
    char v[64];
    assert_int_equal(serve__prom_label(p.s[2].labels, "reason", v, sizeof v), 0);
    assert_string_equal(v, "bad \"json\", really");
    assert_int_equal(serve__prom_label(p.s[2].labels, "source", v, sizeof v), 0);
    assert_string_equal(v, "a");
    assert_int_equal(serve__prom_label(p.s[2].labels, "nope", v, sizeof v), SPATE_ENOTFOUND);
    static const char *const words[] = {"queue", NULL};
    assert_string_equal(serve__prom_find_name(&p, "spate_ingest_", words, "_depth"),
                        "spate_ingest_producer_queue_depth");
    static const char *const none[] = {"xyz", NULL};
    assert_null(serve__prom_find_name(&p, "spate_ingest_", none, ""));
    serve__prom_free(&p);
    serve__prom_free(&p); /* idempotent */

    const char *bad[] = {"9metric 1\n", "m{a=\"b\" 1\n", "m\n", "m abc\n", "m{a=\"b\"}\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(serve__prom_parse(bad[i], strlen(bad[i]), &p), SPATE_EPARSE);
        serve__prom_free(&p);
    }
}

/* A bad line after good ones: the error leaves nothing allocated behind (no free needed). */
static void test_parse_error_frees_earlier_samples(void **state)
{
    (void)state;
    static const char text[] = "a_total 1\nb_total{x=\"y\"} 2\nc_total 3\nbroken{\n";
    struct serve_prom p;
    assert_int_equal(serve__prom_parse(text, sizeof text - 1, &p), SPATE_EPARSE);
    assert_null(p.s);
    assert_int_equal(p.n, 0);
    assert_int_equal(p.cap, 0);
}

/* Counts that are no counts (+Inf, NaN, negative) and bounds that are no numbers: the
 * family is refused and the histogram left empty; a count beyond uint64_t is capped. */
static void test_histogram_hostile_values(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "h_bucket{le=\"1\"} +Inf\nh_bucket{le=\"+Inf\"} Inf\n",
        "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} NaN\n",
        "h_bucket{le=\"1\"} -3\nh_bucket{le=\"+Inf\"} 1\n",
        "h_bucket{le=\"1\"} 1\nh_bucket{le=\"NaN\"} 1\n",
        "h_bucket{le=\"1\"} 1\nh_bucket{le=\"abc\"} 1\n",
        "h_bucket{le=\"1\"} 1\nh_bucket{le=\"-Inf\"} 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct serve_prom p;
        struct serve_hist h;
        assert_int_equal(serve__prom_parse(bad[i], strlen(bad[i]), &p), 0);
        assert_int_equal(serve__prom_histogram(&p, "h", &h), SPATE_EPARSE);
        assert_int_equal(h.n, 0);
        serve__prom_free(&p);
    }
    /* Too many bounds: refused, and nothing half-filled is left for the caller. */
    struct spate_buf b = {0};
    for (int i = 0; i <= SERVE_HIST_MAX; i++)
        assert_int_equal(spate_buf_appendf(&b, "h_bucket{le=\"%d\"} %d\n", i, i), 0);
    struct serve_prom p;
    struct serve_hist h;
    assert_int_equal(serve__prom_parse(b.data, b.len, &p), 0);
    assert_int_equal(serve__prom_histogram(&p, "h", &h), SPATE_ETOOBIG);
    assert_int_equal(h.n, 0);
    serve__prom_free(&p);
    spate_buf_free(&b);

    /* The quantile maths given a histogram built by hand: no cast of a value outside
     * uint64_t's range (UBSan), counts that do not wrap. */
    struct serve_hist big;
    memset(&big, 0, sizeof big);
    big.n = 3;
    big.bounds[0] = 0.5;
    big.cum[0] = 1e300;
    big.bounds[1] = 1;
    big.cum[1] = INFINITY;
    big.bounds[2] = INFINITY;
    big.cum[2] = NAN;
    uint64_t n = 1;
    double q = serve__hist_quantile(&big, NULL, 0.5, &n);
    /* 1e300 and +Inf observations each count as 2^53, NaN as none */
    assert_true(n == 2 * 9007199254740992ULL);
    assert_true(q >= 0 && q <= 1);
}

/* What metrics.c renders, read back: the two modules agree on the format. */
static void test_roundtrip_with_metrics(void **state)
{
    (void)state;
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_histogram *h =
        metrics_histogram(reg, "spate_sink_e2e_latency_seconds", "e2e", NULL,
                          metrics_latency_buckets, metrics_latency_nbuckets);
    metrics_counter_add(metrics_counter(reg, "spate_sink_rows_written_total", "rows",
                                        "table=\"ks.users\""),
                        900);
    metrics_counter_add(metrics_counter(reg, "spate_sink_rows_written_total", "rows",
                                        "table=\"ks.users_by_nationality\""),
                        900);
    metrics_counter_add(metrics_counter(reg, "spate_sink_dlq_total", "dlq", NULL), 3);
    metrics_gauge_set(metrics_gauge(reg, "spate_sink_consumer_lag", "lag", NULL), 42);
    metrics_gauge_set(metrics_gauge(reg, "spate_sink_blocked", "blocked",
                                    "table=\"ks.users\",reason=\"schema\""),
                      1);
    metrics_gauge_set(metrics_gauge(reg, "spate_sink_blocked", "blocked",
                                    "table=\"ks.users\",reason=\"unauthorized\""),
                      0); /* a cause that has cleared */
    for (int i = 0; i < 100; i++)
        metrics_histogram_observe(h, 0.010); /* 10 ms */
    struct spate_buf b = {0};
    assert_int_equal(metrics_render(reg, &b), 0);
    struct serve_prom p;
    assert_int_equal(serve__prom_parse(b.data, b.len, &p), 0);

    struct serve_sample s;
    memset(&s, 0, sizeof s);
    s.stored = s.lag = -1;
    struct serve_hist h1, h2;
    serve__sample_from_sink(&s, &p, "ks", &h1);
    assert_true(s.stored == 900); /* only the users table */
    assert_true(s.dlq_sink == 3);
    assert_true(s.lag == 42);
    /* a table the sink cannot write shows in /api/pipeline, with its cause */
    assert_true(s.sink_blocked == 1);
    assert_string_equal(s.sink_blocked_by, "ks.users (schema)");
    assert_true(s.sink_dlq_stuck == 0);
    struct spate_buf js = {0};
    assert_int_equal(serve__sample_json(&s, &js), 0);
    assert_non_null(strstr(js.data, "\"sink_blocked\":1,"));
    assert_non_null(strstr(js.data, "\"sink_blocked_by\":\"ks.users (schema)\""));
    spate_buf_free(&js);
    assert_true(h1.n >= 10);
    assert_true(isinf(h1.bounds[h1.n - 1]));
    uint64_t n;
    double q = serve__hist_quantile(&h1, NULL, 0.5, &n);
    assert_int_equal(n, 100);
    assert_true(q > 0.005 && q <= 0.010);
    serve__prom_free(&p);

    /* 100 more observations at 1 s: the window since h1 sees only those. */
    for (int i = 0; i < 100; i++)
        metrics_histogram_observe(h, 1.0);
    spate_buf_reset(&b);
    assert_int_equal(metrics_render(reg, &b), 0);
    assert_int_equal(serve__prom_parse(b.data, b.len, &p), 0);
    serve__sample_from_sink(&s, &p, "ks", &h2);
    q = serve__hist_quantile(&h2, &h1, 0.5, &n);
    assert_int_equal(n, 100);
    assert_true(q > 0.5 && q <= 1.0);
    q = serve__hist_quantile(&h2, NULL, 0.25, &n);
    assert_int_equal(n, 200);
    assert_true(q <= 0.010);
    /* A restarted stage (counts below the previous scrape) is not negative. */
    q = serve__hist_quantile(&h1, &h2, 0.5, &n);
    assert_int_equal(n, 0);
    assert_true(q == 0);
    serve__prom_free(&p);
    spate_buf_free(&b);
    metrics_registry_free(reg);
}

/* Ingest exits at the end of a bounded source and its metrics vanish: its
 * DLQ count must not move to the process stage (spate run's "Spark caught
 * up" check reads dlq_process). */
static void test_dlq_split_after_ingest_exits(void **state)
{
    (void)state;
    struct serve_sample a, b;
    memset(&a, 0, sizeof a);
    a.t_ms = 1000;
    a.raw = a.clean = a.stored = a.fetched = 100;
    a.dlq = 10;
    a.dlq_ingest = 4;
    a.dlq_sink = 1;
    a.ingest_up = a.sink_up = a.kafka_up = 1;
    a.lag = -1;
    serve__sample_derive(&a, NULL);
    assert_true(a.dlq_process == 5);
    /* the next sample: ingest gone, as take_sample leaves it */
    b = a;
    b.t_ms = 2000;
    b.ingest_up = 0;
    b.dlq_ingest = 0;
    b.fetched = -1;
    serve__sample_derive(&b, &a);
    assert_true(b.dlq_ingest == 4);
    assert_true(b.dlq_process == 5);
    assert_true(b.r_process == 0);
    /* and the sink too */
    struct serve_sample c = b;
    c.t_ms = 3000;
    c.sink_up = 0;
    c.dlq_sink = 0;
    serve__sample_derive(&c, &b);
    assert_true(c.dlq_sink == 1 && c.dlq_process == 5);
    /* counted from the DLQ records: taken as they are */
    struct serve_sample d = c;
    d.t_ms = 4000;
    d.dlq_counted = 1;
    d.dlq = 12;
    d.dlq_ingest = 6;
    d.dlq_process = 5;
    d.dlq_sink = 1;
    serve__sample_derive(&d, &c);
    assert_true(d.dlq_ingest == 6 && d.dlq_process == 5 && d.dlq_sink == 1);
}

static void test_dlq_stage(void **state)
{
    (void)state;
    assert_int_equal(serve__dlq_stage("ingest", 6, "<html>", 6), SERVE_DLQ_INGEST);
    assert_int_equal(serve__dlq_stage("process", 7, NULL, 0), SERVE_DLQ_PROCESS);
    assert_int_equal(serve__dlq_stage("sink", 4, "", 0), SERVE_DLQ_SINK);
    assert_int_equal(serve__dlq_stage("sinks", 5, "", 0), SERVE_DLQ_OTHER);
    assert_int_equal(serve__dlq_stage("processprocessprocess", 21, "", 0), SERVE_DLQ_OTHER);
    const char *env = "{\"stage\":\"process\",\"reason\":\"x\"}";
    assert_int_equal(serve__dlq_stage(NULL, 0, env, strlen(env)), SERVE_DLQ_PROCESS);
    assert_int_equal(serve__dlq_stage(NULL, 0, "{\"stage\":1}", 11), SERVE_DLQ_OTHER);
    assert_int_equal(serve__dlq_stage(NULL, 0, "not json", 8), SERVE_DLQ_OTHER);
    assert_int_equal(serve__dlq_stage(NULL, 0, NULL, 0), SERVE_DLQ_OTHER);
}

static void test_derive_and_json(void **state)
{
    (void)state;
    struct serve_sample a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.t_ms = 1000;
    a.fetched = 100;
    a.raw = 100;
    a.clean = 80;
    a.stored = 50;
    a.dlq = 10;
    a.dlq_ingest = 2;
    a.dlq_sink = 1;
    a.lag = -1;
    serve__sample_derive(&a, NULL);
    assert_true(a.dlq_process == 7);
    assert_true(a.r_ingest < 0);
    b = a;
    b.t_ms = 3000;
    b.raw = 2100;
    b.clean = 1880;
    b.dlq = 30;
    b.stored = 1050;
    serve__sample_derive(&b, &a);
    assert_true(b.dlq_process == 27);
    assert_true(b.r_ingest == 1000);                   /* 2000 in 2 s */
    assert_true(b.r_process == (1907.0 - 87.0) / 2);   /* clean + process DLQ */
    assert_true(b.r_sink == 500);
    assert_true(b.r_dlq == 10);
    /* counters that went back (a restarted stage) give 0, not a negative rate */
    struct serve_sample c = b;
    c.t_ms = 4000;
    c.stored = 10;
    serve__sample_derive(&c, &b);
    assert_true(c.r_sink == 0);
    /* unknown raw: the ingest rate falls back to its fetched counter */
    struct serve_sample d = c;
    d.t_ms = 5000;
    d.raw = -1;
    d.fetched = c.fetched + 300;
    serve__sample_derive(&d, &c);
    assert_true(d.r_ingest == 300);

    struct spate_buf j = {0};
    b.p50 = 12.5;
    b.p90 = -1;
    b.ingest_up = 1;
    assert_int_equal(serve__sample_json(&b, &j), 0);
    assert_int_equal(spate_buf_append(&j, "", 1), 0);
    assert_non_null(strstr(j.data, "\"t\":3000"));
    assert_non_null(strstr(j.data, "\"raw\":2100"));
    assert_non_null(strstr(j.data, "\"p50\":12.500"));
    assert_non_null(strstr(j.data, "\"p90\":null"));
    assert_non_null(strstr(j.data, "\"up\":{\"ingest\":true,\"sink\":false,\"kafka\":false}"));
    spate_buf_free(&j);
}

static void test_route(void **state)
{
    (void)state;
    const char *arg;
    assert_int_equal(serve__route("/api/users/abc", &arg), SERVE_R_USER);
    assert_string_equal(arg, "abc");
    assert_int_equal(serve__route("/api/users", &arg), SERVE_R_USERS);
    assert_int_equal(serve__route("/api/users/", &arg), SERVE_R_USERS);
    assert_int_equal(serve__route("/api/stats", &arg), SERVE_R_STATS);
    assert_int_equal(serve__route("/api/rejects", &arg), SERVE_R_REJECTS);
    assert_int_equal(serve__route("/api/pipeline", &arg), SERVE_R_PIPELINE);
    assert_int_equal(serve__route("/metrics", &arg), SERVE_R_METRICS);
    assert_int_equal(serve__route("/health", &arg), SERVE_R_HEALTH);
    assert_int_equal(serve__route("/", &arg), SERVE_R_ASSET);
    assert_int_equal(serve__route("/index.html", &arg), SERVE_R_ASSET);
    assert_int_equal(serve__route("/dashboard.js", &arg), SERVE_R_ASSET);
    assert_int_equal(serve__route("/dashboard.css", &arg), SERVE_R_ASSET);
    assert_int_equal(serve__route("/../etc/passwd", &arg), SERVE_R_NOT_FOUND);
    assert_int_equal(serve__route("/api/statsx", &arg), SERVE_R_NOT_FOUND);
    assert_string_equal(serve__route_name(SERVE_R_USER), "user");

    const struct serve_asset *a = serve__asset_find("/");
    assert_non_null(a);
    assert_non_null(strstr(a->content_type, "text/html"));
    assert_true(a->len > 500);
    assert_int_equal(a->data[a->len], 0); /* NUL after the bytes */
    assert_non_null(strstr((const char *)a->data, "dashboard.js"));
    /* no reference to anything off this server */
    for (size_t i = 0; i < serve__asset_count; i++) {
        const char *s = (const char *)serve__assets[i].data;
        if (strstr(serve__assets[i].content_type, "text/"))
            assert_null(strstr(s, "https://"));
    }

    struct spate_buf b = {0};
    assert_int_equal(serve__json_error(&b, 400, "bad \"x\""), 0);
    assert_int_equal(spate_buf_append(&b, "", 1), 0);
    assert_string_equal(b.data, "{\"error\":{\"status\":400,\"message\":\"bad \\\"x\\\"\"}}\n");
    spate_buf_free(&b);
}

static void test_spark_offsets(void **state)
{
    (void)state;
    static const char log[] =
        "v1\n"
        "{\"batchWatermarkMs\":0,\"batchTimestampMs\":1795623160394,\"conf\":{}}\n"
        "{\"users.raw\":{\"2\":100,\"1\":250,\"0\":50}}\n";
    double sum;
    assert_int_equal(serve__spark_offsets_parse(log, sizeof log - 1, "users.raw", &sum), 0);
    assert_true(sum == 400);
    assert_int_equal(serve__spark_offsets_parse(log, sizeof log - 1, "other", &sum),
                     SPATE_ENOTFOUND);
    static const char junk[] = "v1\n{\n{not json\n";
    assert_int_equal(serve__spark_offsets_parse(junk, sizeof junk - 1, "users.raw", &sum),
                     SPATE_ENOTFOUND);
    assert_int_equal(serve__spark_offsets_parse("", 0, "users.raw", &sum), SPATE_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_error_frees_earlier_samples),
        cmocka_unit_test(test_histogram_hostile_values),
        cmocka_unit_test(test_roundtrip_with_metrics),
        cmocka_unit_test(test_derive_and_json),
        cmocka_unit_test(test_dlq_split_after_ingest_exits),
        cmocka_unit_test(test_dlq_stage),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_spark_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
