/* SPDX-License-Identifier: Apache-2.0 */
/* test_pipeline_supervise.c -- how long spate run waits before restarting a stage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spate/flow.h"

static void crash_loop_backs_off_to_30s(void **state)
{
    (void)state;
    struct flow_stage p = {.started_ms = 0};
    const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    int64_t t = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        t += 500; /* dies half a second after each start */
        assert_int_equal(flow_stage_backoff_ms(&p, t), want[i]);
        p.started_ms = t + want[i];
        t = p.started_ms;
    }
}

/* The chaos soak (issue 15) killed each stage a few times an hour; the delay
 * counted every restart since spate run began, so from the sixth kill on a
 * stage that had run for many minutes still waited 30 s to come back. */
static void a_stage_that_ran_a_while_starts_over(void **state)
{
    (void)state;
    struct flow_stage p = {.started_ms = 0};
    int64_t t = 0;
    for (int i = 0; i < 6; i++) { /* six kills, each after ten healthy minutes */
        t += 600000;
        assert_int_equal(flow_stage_backoff_ms(&p, t), 1000);
        p.started_ms = t + 1000;
        t = p.started_ms;
    }
    /* a quick death right after: the streak counts again */
    assert_int_equal(flow_stage_backoff_ms(&p, t + 100), 2000);
    p.started_ms = t + 2100;
    assert_int_equal(flow_stage_backoff_ms(&p, p.started_ms + FLOW_STAGE_HEALTHY_MS - 1), 4000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crash_loop_backs_off_to_30s),
        cmocka_unit_test(a_stage_that_ran_a_while_starts_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
