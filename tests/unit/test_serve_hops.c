/* SPDX-License-Identifier: Apache-2.0 */
/* test_serve_hops.c -- the per-hop latency split and Spark's backlog as serve shows them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/serve/serve_internal.h"
#include "spate/metrics.h"

/* The sink's hop histograms, rendered by metrics.c, read back per hop. */
static void test_hops_from_sink_metrics(void **state)
{
    (void)state;
    struct metrics_registry *reg = metrics_registry_new();
    const char *labels[3] = {"hop=\"ingest\"", "hop=\"process\"", "hop=\"sink\""};
    const double at[3] = {0.004, 0.060, 0.020};
    for (int i = 0; i < 3; i++) {
        struct metrics_histogram *h =
            metrics_histogram(reg, "spate_sink_hop_latency_seconds", "hops", labels[i],
                              metrics_latency_buckets, metrics_latency_nbuckets);
        for (int k = 0; k < 50; k++)
            metrics_histogram_observe(h, at[i]);
    }
    struct spate_buf b = {0};
    assert_int_equal(metrics_render(reg, &b), 0);
    struct serve_prom p;
    assert_int_equal(serve__prom_parse(b.data, b.len, &p), 0);
    struct serve_hist hops[SERVE_HOPS];
    serve__sample_hops(&p, hops);
    for (int i = 0; i < SERVE_HOPS; i++) {
        uint64_t n;
        double q = serve__hist_quantile(&hops[i], NULL, 0.5, &n);
        assert_int_equal(n, 50); /* one hop's series only, not the sum of the three */
        assert_true(q > at[i] * 0.6 && q < at[i] * 1.3); /* within its bucket */
    }
    serve__prom_free(&p);
    /* a sink without hop metrics: nothing, not an error */
    assert_int_equal(serve__prom_parse("x 1\n", 4, &p), 0);
    serve__sample_hops(&p, hops);
    for (int i = 0; i < SERVE_HOPS; i++)
        assert_int_equal(hops[i].n, 0);
    serve__prom_free(&p);
    spate_buf_free(&b);
    metrics_registry_free(reg);
}

static void test_hops_json(void **state)
{
    (void)state;
    struct serve_sample s;
    memset(&s, 0, sizeof s);
    s.hop_p50[0] = 3;
    s.hop_p99[0] = 9.5;
    s.hop_p50[1] = s.hop_p99[1] = -1; /* unknown */
    s.hop_p50[2] = 20;
    s.hop_p99[2] = 80;
    struct spate_buf b = {0};
    assert_int_equal(serve__sample_json(&s, &b), 0);
    assert_non_null(strstr(b.data, "\"hops\":{\"ingest\":{\"p50\":3,\"p99\":9.500},"
                                   "\"process\":{\"p50\":null,\"p99\":null},"
                                   "\"sink\":{\"p50\":20,\"p99\":80}}"));
    spate_buf_free(&b);
}

/* Spark's backlog is raw minus what it wrote (clean and its DLQ), not the
 * checkpoint, which a real-time batch moves only every few minutes. */
static void test_spark_backlog_from_topics(void **state)
{
    (void)state;
    struct serve_sample s;
    memset(&s, 0, sizeof s);
    s.raw = 25000;
    s.clean = 24900;
    s.dlq = 70;
    s.dlq_ingest = 0;
    s.dlq_sink = 10;
    s.lag_spark = 25000; /* what a stale checkpoint says */
    serve__sample_derive(&s, NULL);
    assert_true(s.dlq_process == 60);
    assert_true(s.lag_spark == 40);
    /* more out than in (a replay after a restart): never negative */
    s.clean = 26000;
    serve__sample_derive(&s, NULL);
    assert_true(s.lag_spark == 0);
    /* topics unknown: the checkpoint figure stays */
    memset(&s, 0, sizeof s);
    s.raw = s.clean = s.dlq = -1;
    s.dlq_process = -1;
    s.lag_spark = 123;
    serve__sample_derive(&s, NULL);
    assert_true(s.lag_spark == 123);
}

/* The sampler slows down only when nothing moved and nothing waits. */
static void test_idle_sample(void **state)
{
    (void)state;
    struct serve_sample a, b;
    memset(&a, 0, sizeof a);
    a.fetched = a.raw = a.clean = a.stored = 1000;
    a.dlq = 5;
    a.lag = a.lag_spark = 0;
    a.queue = -1; /* ingest gone: unknown */
    b = a;
    assert_false(serve__sample_idle(&b, NULL)); /* the first sample says nothing */
    assert_true(serve__sample_idle(&b, &a));
    b.raw = 1001; /* a record arrived */
    assert_false(serve__sample_idle(&b, &a));
    b = a;
    b.lag = 3; /* still waiting for the sink: not idle even if nothing moved */
    assert_false(serve__sample_idle(&b, &a));
    b = a;
    b.lag_spark = 1;
    assert_false(serve__sample_idle(&b, &a));
    b = a;
    b.dlq = 6;
    assert_false(serve__sample_idle(&b, &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hops_from_sink_metrics),
        cmocka_unit_test(test_hops_json),
        cmocka_unit_test(test_spark_backlog_from_topics),
        cmocka_unit_test(test_idle_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
