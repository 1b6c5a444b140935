/* SPDX-License-Identifier: Apache-2.0 */
/* test_ingest_policy.c -- backoff arithmetic, the adaptive token bucket, Retry-After and Link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ingest/ingest_internal.h"
#include "spate/error.h"

#include <string.h>

static void test_bucket_rate(void **state)
{
    (void)state;
    struct ingest_bucket b;
    int64_t t = 1000000;
    ingest__bucket_init(&b, 10, t); /* 10/s, burst 10 */
    /* Starts with one token, then refills at 10/s. */
    assert_int_equal(ingest__bucket_take(&b, t), 0);
    int64_t w = ingest__bucket_take(&b, t);
    assert_true(w > 99000 && w <= 100001);
    /* Over 10 simulated seconds, about 100 requests pass. */
    int passed = 0;
    for (int64_t now = t; now < t + 10000000; now += 1000)
        if (ingest__bucket_take(&b, now) == 0)
            passed++;
    assert_true(passed >= 99 && passed <= 101);
    /* Idle time fills at most a burst. */
    passed = 0;
    int64_t later = t + 100000000;
    while (ingest__bucket_take(&b, later) == 0)
        passed++;
    assert_int_equal(passed, 10);

    struct ingest_bucket u;
    ingest__bucket_init(&u, 0, t); /* unlimited */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ingest__bucket_take(&u, t), 0);
}

static void test_bucket_throttle(void **state)
{
    (void)state;
    struct ingest_bucket b;
    int64_t t = 5000000;
    ingest__bucket_init(&b, 100, t);
    /* A 429 with Retry-After 2 s pauses everything for 2 s and halves the rate. */
    ingest__bucket_on_throttle(&b, t, 2000, 0);
    assert_true(b.rate > 49.9 && b.rate < 50.1);
    int64_t w = ingest__bucket_take(&b, t + 1000);
    assert_true(w >= 1998000 && w <= 1999000);
    assert_true(ingest__bucket_take(&b, t + 2000000) == 0 ||
                ingest__bucket_take(&b, t + 2100000) == 0);
    /* Successes climb back to the configured ceiling, never above. */
    for (int i = 0; i < 1000; i++)
        ingest__bucket_on_success(&b);
    assert_true(b.rate == 100);

    /* Unlimited: the rate drops to half of what was achieved, then recovers
     * to unlimited. */
    struct ingest_bucket u;
    ingest__bucket_init(&u, 0, t);
    ingest__bucket_on_throttle(&u, t, 0, 400);
    assert_true(u.rate > 199.9 && u.rate < 200.1);
    ingest__bucket_on_success(&u);
    assert_true(u.rate > 200);
    for (int i = 0; i < 5000 && u.rate > 0; i++)
        ingest__bucket_on_success(&u);
    assert_true(u.rate == 0);
    /* Never below 0.5/s however many 429s. */
    for (int i = 0; i < 100; i++)
        ingest__bucket_on_throttle(&b, t, 0, 0);
    assert_true(b.rate >= 0.5);
}

/* sources[].retry_after_max's default */
#define CAP_MS (5 * 60 * 1000)

static void test_retry_after(void **state)
{
    (void)state;
    assert_int_equal(ingest__parse_retry_after("3", 0, CAP_MS), 3000);
    assert_int_equal(ingest__parse_retry_after(" 0 \r\n", 0, CAP_MS), 0);
    assert_int_equal(ingest__parse_retry_after("120", 0, CAP_MS), 120000);
    assert_int_equal(ingest__parse_retry_after("-1", 0, CAP_MS), -1);
    assert_int_equal(ingest__parse_retry_after("soon", 0, CAP_MS), -1);
    assert_int_equal(ingest__parse_retry_after("5x", 0, CAP_MS), -1);
    assert_int_equal(ingest__parse_retry_after(NULL, 0, CAP_MS), -1);
    /* 2015-10-21T07:28:00Z = 1445412480 s */
    int64_t now = 1445412480000LL - 10000;
    assert_int_equal(ingest__parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now, CAP_MS), 10000);
    assert_int_equal(ingest__parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now + 60000, CAP_MS), 0);
    /* Absurd deltas are capped at the configured maximum, overflow included. */
    assert_int_equal(ingest__parse_retry_after("99999999999", 0, CAP_MS), CAP_MS);
    assert_int_equal(ingest__parse_retry_after("99999999999999999999999", 0, CAP_MS), CAP_MS);
    assert_int_equal(ingest__parse_retry_after("301", 0, CAP_MS), CAP_MS);
    assert_int_equal(ingest__parse_retry_after("299", 0, CAP_MS), 299000);
}

/* Issue 14 item 7: an HTTP-date far ahead paused the source for millennia;
 * it is clamped like the delta form. */
static void test_retry_after_date_capped(void **state)
{
    (void)state;
    int64_t now = 1445412480000LL; /* 2015-10-21T07:28:00Z */
    assert_int_equal(ingest__parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now, CAP_MS),
                     CAP_MS);
    /* an hour ahead: over the cap */
    assert_int_equal(ingest__parse_retry_after("Wed, 21 Oct 2015 08:28:00 GMT", now, CAP_MS),
                     CAP_MS);
    /* a minute ahead: under it, kept */
    assert_int_equal(ingest__parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now, CAP_MS),
                     60000);
    /* a smaller configured cap applies to dates too */
    assert_int_equal(ingest__parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now, 1000), 1000);
}

static void test_link_next(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(ingest__parse_link_next(
                         " <https://api.x/u?page=3>; rel=\"next\", <https://api.x/u?page=9>; "
                         "rel=\"last\"",
                         out, sizeof out),
                     0);
    assert_string_equal(out, "https://api.x/u?page=3");
    assert_int_equal(ingest__parse_link_next("<a>; rel=\"prev\", </n?x=1,2>; title=\"a, b\"; "
                                             "rel=\"prefetch next\"",
                                             out, sizeof out),
                     0);
    assert_string_equal(out, "/n?x=1,2");
    assert_int_equal(ingest__parse_link_next("</p2>; rel=next", out, sizeof out), 0);
    assert_string_equal(out, "/p2");
    assert_int_equal(ingest__parse_link_next("</p2>; REL=\"Next\"", out, sizeof out), 0);
    assert_int_equal(ingest__parse_link_next("</first>; rel=\"first\"", out, sizeof out),
                     SPATE_ENOTFOUND);
    assert_int_equal(ingest__parse_link_next("</x>; rel=\"nextish\"", out, sizeof out),
                     SPATE_ENOTFOUND);
    assert_int_equal(ingest__parse_link_next("", out, sizeof out), SPATE_ENOTFOUND);
    assert_int_equal(ingest__parse_link_next("<unterminated; rel=next", out, sizeof out),
                     SPATE_ENOTFOUND);
    char small[4];
    assert_int_equal(ingest__parse_link_next("</long/url>; rel=next", small, sizeof small),
                     SPATE_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_bucket_rate),
        cmocka_unit_test(test_bucket_throttle), cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_retry_after_date_capped),
        cmocka_unit_test(test_link_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
