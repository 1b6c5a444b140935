/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_util.c -- the shared backoff with jitter; running a program from the
 * config without a shell (spate check ran spark.python through popen, so a quote
 * in it ran whatever followed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spate/util.h"

static void test_backoff_bounds(void **state)
{
    (void)state;
    uint64_t rng = 42;
    /* base doubles from initial and is capped; the delay is in [base/2, base]. */
    const int64_t initial = 100, max = 3000;
    const int64_t base[] = {100, 200, 400, 800, 1600, 3000, 3000, 3000};
    for (int attempt = 1; attempt <= 8; attempt++) {
        int64_t lo = INT64_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            int64_t d = spate_backoff_ms(attempt, initial, max, &rng);
            assert_true(d >= base[attempt - 1] / 2);
            assert_true(d <= base[attempt - 1]);
            if (d < lo)
                lo = d;
            if (d > hi)
                hi = d;
        }
        /* Jitter really spreads the delays over the range. */
        assert_true(hi - lo > base[attempt - 1] / 3);
    }
    /* Huge attempt numbers never overflow. */
    assert_true(spate_backoff_ms(1000000, initial, max, &rng) <= max);
    assert_true(spate_backoff_ms(62, 1, INT64_MAX / 2, &rng) > 0);
    /* Deterministic for a given seed. */
    uint64_t a = 7, b = 7;
    for (int i = 0; i < 10; i++)
        assert_int_equal(spate_backoff_ms(3, 100, 1000, &a), spate_backoff_ms(3, 100, 1000, &b));
}

static void test_backoff_without_jitter(void **state)
{
    (void)state;
    assert_int_equal(spate_backoff_ms(1, 50, 5000, NULL), 50);
    assert_int_equal(spate_backoff_ms(2, 50, 5000, NULL), 100);
    assert_int_equal(spate_backoff_ms(4, 50, 5000, NULL), 400);
    assert_int_equal(spate_backoff_ms(30, 50, 5000, NULL), 5000); /* capped */
    assert_int_equal(spate_backoff_ms(0, 50, 5000, NULL), 50);
    /* spate run's restarts: 1 s doubling to 30 s */
    assert_int_equal(spate_backoff_ms(6, 1000, 30000, NULL), 30000);
    assert_int_equal(spate_backoff_ms(5, 1000, 30000, NULL), 16000);
}

static void test_run_capture_no_shell(void **state)
{
    (void)state;
    char marker[] = "/tmp/spate-unit-pwned-XXXXXX";
    int fd = mkstemp(marker);
    assert_true(fd >= 0);
    close(fd);
    unlink(marker);
    char hostile[256];
    snprintf(hostile, sizeof hostile, "/nonexistent'; touch %s; echo '", marker);
    const char *const a1[] = {hostile, "-c", "import pyspark", NULL};
    char out[64];
    assert_int_equal(spate_run_capture(a1, out, sizeof out), -1);
    assert_int_not_equal(access(marker, F_OK), 0);
    /* arguments arrive as they are, quotes and $() included */
    char arg[256];
    snprintf(arg, sizeof arg, "it's $(touch %s) `id`", marker);
    const char *const a2[] = {"echo", arg, NULL};
    assert_int_equal(spate_run_capture(a2, out, sizeof out), 0);
    char want[300];
    snprintf(want, sizeof want, "%s\n", arg);
    assert_string_equal(out, want);
    assert_int_not_equal(access(marker, F_OK), 0);
}

static void test_run_capture_status_and_bound(void **state)
{
    (void)state;
    const char *const f[] = {"sh", "-c", "exit 3", NULL};
    char out[8];
    assert_int_equal(spate_run_capture(f, out, sizeof out), 3);
    assert_string_equal(out, "");
    /* more output than room: cut, NUL-terminated, and the child is not left blocked */
    const char *const big[] = {"seq", "1", "100000", NULL};
    assert_int_equal(spate_run_capture(big, out, sizeof out), 0);
    assert_string_equal(out, "1\n2\n3\n4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_backoff_without_jitter),
        cmocka_unit_test(test_run_capture_no_shell),
        cmocka_unit_test(test_run_capture_status_and_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
