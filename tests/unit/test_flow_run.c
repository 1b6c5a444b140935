/* SPDX-License-Identifier: Apache-2.0 */
/* test_flow_run.c -- flow_run refuses a bad request before it starts anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spate/config.h"
#include "spate/error.h"
#include "spate/flow.h"

#include <math.h>

static int reports;

static void count(void *arg, const struct flow_run_state *s, int final)
{
    reports++;
}

/* An unknown source is refused before the stack, a stage or a report. */
static void test_unknown_source(void **state)
{
    struct spate_config *cfg = NULL;
    char err[256];
    assert_int_equal(spate_config_defaults(&cfg, err, sizeof err), 0);
    struct flow_run_options o = {.exe = "/nonexistent/spate", .source = "no-such-source",
                                     .run_dir = "/nonexistent", .rate = 10};
    volatile sig_atomic_t stop = 0;
    assert_int_equal(flow_run(cfg, &o, &stop, count, NULL), SPATE_ECONFIG);
    assert_int_equal(reports, 0);
    spate_config_free(cfg);
}

static void test_sample_num(void **state)
{
    json_t *j = json_pack("{s:i, s:f, s:s}", "raw", 12, "p99", 1.5, "x", "text");
    assert_true(flow_sample_num(j, "raw") == 12.0);
    assert_true(flow_sample_num(j, "p99") == 1.5);
    assert_true(isnan(flow_sample_num(j, "x")));
    assert_true(isnan(flow_sample_num(j, "missing")));
    assert_true(isnan(flow_sample_num(NULL, "raw")));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_source),
        cmocka_unit_test(test_sample_num),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
