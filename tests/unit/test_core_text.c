/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_text.c -- the shared digits, ISO-8601 and JSON string helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spate/error.h"
#include "spate/text.h"
#include "spate/util.h"

#include <string.h>

static int iso(const char *s, int64_t *ms, int *flags)
{
    return spate_parse_iso8601(s, strlen(s), ms, flags);
}

static void test_digits(void **state)
{
    int v;
    assert_int_equal(spate_digits("0427x", 4, &v), 0);
    assert_int_equal(v, 427);
    assert_int_equal(spate_digits("12a4", 4, &v), -1);
    assert_true(spate_all_digits("-12", 3));
    assert_false(spate_all_digits("-", 1));
    assert_false(spate_all_digits("", 0));
    assert_false(spate_all_digits("1.5", 3));
    assert_int_equal(spate_days_in_month(2024, 2), 29);
    assert_int_equal(spate_days_in_month(1900, 2), 28);
    assert_int_equal(spate_days_in_month(2000, 2), 29);
    assert_int_equal(spate_days_in_month(2023, 4), 30);
    assert_int_equal(spate_days_in_month(2023, 13), 0);
}

static void test_dates(void **state)
{
    int64_t d;
    size_t used;
    assert_int_equal(spate_parse_date("1970-01-01", 10, &d, &used), 0);
    assert_int_equal(d, 0);
    assert_int_equal(used, 10);
    assert_int_equal(spate_parse_date("2024-02-29T", 11, &d, &used), 0);
    assert_int_equal(d, 19782);
    assert_int_equal(used, 10);
    assert_int_equal(spate_parse_date("-0001-12-31", 11, &d, NULL), 0);
    assert_int_equal(d, -719529);
    /* the day is checked against its month and year */
    const char *bad[] = {"2024-02-30", "2024-02-31", "2023-02-29", "2024-04-31", "2024-00-01",
                         "2024-13-01", "2024-01-00", "2024-1-05",  "24-01-05",   "2024/01/05",
                         "2024-01-0",  ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (spate_parse_date(bad[i], strlen(bad[i]), &d, NULL) != SPATE_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
}

static void test_time_of_day(void **state)
{
    int64_t ns;
    size_t used;
    assert_int_equal(spate_parse_time_of_day("23:59:59.999999999", 18, &ns, &used), 0);
    assert_int_equal(ns, 86399999999999LL);
    assert_int_equal(spate_parse_time_of_day("00:01", 5, &ns, &used), 0);
    assert_int_equal(ns, 60000000000LL);
    assert_int_equal(spate_parse_time_of_day("10:00:00.1234567891", 19, &ns, &used), 0);
    assert_int_equal(ns, 36000123456789LL);
    assert_int_equal(used, 19);
    assert_int_equal(spate_parse_time_of_day("24:00", 5, &ns, NULL), SPATE_EINVAL);
    assert_int_equal(spate_parse_time_of_day("10:60", 5, &ns, NULL), SPATE_EINVAL);
    assert_int_equal(spate_parse_time_of_day("10:00:60", 8, &ns, NULL), SPATE_EINVAL);
    assert_int_equal(spate_parse_time_of_day("10:00:00.", 9, &ns, NULL), SPATE_EINVAL);
}

static void test_iso8601(void **state)
{
    int64_t ms;
    int fl;
    assert_int_equal(iso("2026-11-25T15:37:20.123Z", &ms, &fl), 0);
    assert_int_equal(ms, 1795621040123LL);
    assert_int_equal(fl, SPATE_ISO_TIME | SPATE_ISO_ZONE);
    assert_int_equal(iso("2026-11-25t17:37:20,123+02:00", &ms, &fl), 0);
    assert_int_equal(ms, 1795621040123LL);
    assert_int_equal(iso("2026-11-25 14:07:20.123-0130", &ms, NULL), 0);
    assert_int_equal(ms, 1795621040123LL);
    assert_int_equal(iso("2026-11-25 15:37:20.123 +00", &ms, NULL), 0);
    assert_int_equal(ms, 1795621040123LL);
    assert_int_equal(iso("2026-11-25", &ms, &fl), 0);
    assert_int_equal(ms, 1795564800000LL);
    assert_int_equal(fl, 0);
    assert_int_equal(iso("2026-11-25T15:37", &ms, &fl), 0);
    assert_int_equal(fl, SPATE_ISO_TIME);
    assert_int_equal(iso("1969-12-31T23:59:59.999Z", &ms, NULL), 0);
    assert_int_equal(ms, -1);
    assert_int_equal(iso("2016-12-31T23:59:60Z", &ms, NULL), 0); /* a leap second */
    assert_int_equal(ms, 1483228800000LL);
    const char *bad[] = {"2024-02-31T00:00:00Z", "2024-02-30", "2026-11-25T24:00Z",
                         "2026-11-25T10:00:00Zjunk", "2026-11-25T10:00:00+19:00",
                         "2026-11-25T10:00:00+01:6", "2026-11-25 junk", "2026-11-25T",
                         "yesterday", "1795621040123", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (iso(bad[i], &ms, NULL) != SPATE_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
}

static void test_json_escape(void **state)
{
    struct spate_buf b = {0};
    const char in[] = "a\"b\\c\n\r\t\x01\x1f\xc3\xa9/";
    assert_int_equal(spate_json_escape(&b, in, sizeof in - 1), 0);
    const char want[] = "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\xc3\xa9/\"";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.data, want, b.len);
    spate_buf_reset(&b);
    assert_int_equal(spate_json_escape(&b, "x\0y", 3), 0); /* a NUL is data, not the end */
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "\"x\\u0000y\"", 10);
    spate_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digits),          cmocka_unit_test(test_dates),
        cmocka_unit_test(test_time_of_day),     cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_json_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
