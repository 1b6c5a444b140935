/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_util.c -- the shared backoff with jitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_backoff_without_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
