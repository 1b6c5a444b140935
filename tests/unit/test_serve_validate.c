/* SPDX-License-Identifier: Apache-2.0 */
/* test_serve_validate.c -- request parameter parsing of `spate serve`: ids, times, limits, JSON. */
#include "spate/error.h"
#include "spate/serve.h"
#include "spate/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* 2026-11-25T15:04:05.123Z */
#define NOW 1795619045123LL

static void test_uuid(void **state)
{
    (void)state;
    uint8_t u[16];
    assert_int_equal(serve_parse_uuid("123e4567-e89b-12d3-a456-426614174000", u), 0);
    assert_int_equal(u[0], 0x12);
    assert_int_equal(u[15], 0x00);
    assert_int_equal(u[6], 0x12);
    assert_int_equal(serve_parse_uuid("123E4567-E89B-12D3-A456-42661417400F", u), 0);
    assert_int_equal(u[15], 0x0f);
    const char *bad[] = {
        "", "x", "123e4567-e89b-12d3-a456-42661417400",     /* short */
        "123e4567-e89b-12d3-a456-4266141740000",              /* long */
        "123e4567e89b-12d3-a456-4266141740000",               /* dash misplaced */
        "123e4567-e89b-12d3-a456-42661417400g",               /* not hex */
        "123e4567-e89b-12d3-a456-42661417400\n",              /* control char */
        "' OR 1=1 --                         ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(serve_parse_uuid(bad[i], u), SPATE_EINVAL);
    assert_int_equal(serve_parse_uuid(NULL, u), SPATE_EINVAL);
}

static void test_nationality(void **state)
{
    (void)state;
    char n[3];
    assert_int_equal(serve_parse_nationality("de", n), 0);
    assert_string_equal(n, "DE");
    assert_int_equal(serve_parse_nationality("US", n), 0);
    assert_string_equal(n, "US");
    assert_int_equal(serve_parse_nationality("DEU", n), SPATE_EINVAL);
    assert_int_equal(serve_parse_nationality("D", n), SPATE_EINVAL);
    assert_int_equal(serve_parse_nationality("D1", n), SPATE_EINVAL);
    assert_int_equal(serve_parse_nationality("';", n), SPATE_EINVAL);
    assert_int_equal(serve_parse_nationality("", n), SPATE_EINVAL);
}

static void test_limit(void **state)
{
    (void)state;
    int v;
    assert_int_equal(serve_parse_limit(NULL, 50, 1, 1000, &v), 0);
    assert_int_equal(v, 50);
    assert_int_equal(serve_parse_limit("", 50, 1, 1000, &v), 0);
    assert_int_equal(v, 50);
    assert_int_equal(serve_parse_limit("1", 50, 1, 1000, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(serve_parse_limit("1000", 50, 1, 1000, &v), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(serve_parse_limit("0", 50, 1, 1000, &v), SPATE_ERANGE);
    assert_int_equal(serve_parse_limit("1001", 50, 1, 1000, &v), SPATE_ERANGE);
    assert_int_equal(serve_parse_limit("-5", 50, 1, 1000, &v), SPATE_ERANGE);
    assert_int_equal(serve_parse_limit("99999999999999999999", 50, 1, 1000, &v), SPATE_ERANGE);
    assert_int_equal(serve_parse_limit("ten", 50, 1, 1000, &v), SPATE_EINVAL);
    assert_int_equal(serve_parse_limit("5x", 50, 1, 1000, &v), SPATE_EINVAL);
    assert_int_equal(serve_parse_limit("5-", 50, 1, 1000, &v), SPATE_EINVAL);
}

static void test_time(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(serve_parse_time("2026-11-25T15:04:05.123Z", NOW, &t), 0);
    assert_int_equal(t, NOW);
    assert_int_equal(serve_parse_time("2026-11-25T15:04:05Z", NOW, &t), 0);
    assert_int_equal(t, NOW - 123);
    assert_int_equal(serve_parse_time("2026-11-25t15:04:05.1234567z", NOW, &t), 0);
    assert_int_equal(t, NOW);
    assert_int_equal(serve_parse_time("2026-11-25T15:04Z", NOW, &t), 0);
    assert_int_equal(t, NOW - 5123);
    assert_int_equal(serve_parse_time("2026-11-25T16:04:05.123+01:00", NOW, &t), 0);
    assert_int_equal(t, NOW);
    assert_int_equal(serve_parse_time("2026-11-25T14:34:05.123-0030", NOW, &t), 0);
    assert_int_equal(t, NOW);
    assert_int_equal(serve_parse_time("2026-11-25", NOW, &t), 0);
    assert_int_equal(t, NOW - ((15 * 3600 + 4 * 60 + 5) * 1000LL + 123));
    assert_int_equal(serve_parse_time("1970-01-01", NOW, &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(serve_parse_time("2024-02-29", NOW, &t), 0); /* leap day */
    assert_int_equal(serve_parse_time("now", NOW, &t), 0);
    assert_int_equal(t, NOW);
    assert_int_equal(serve_parse_time("-15m", NOW, &t), 0);
    assert_int_equal(t, NOW - 900000);
    assert_int_equal(serve_parse_time("now-2h", NOW, &t), 0);
    assert_int_equal(t, NOW - 7200000);
    assert_int_equal(serve_parse_time("1795619045123", NOW, &t), 0);
    assert_int_equal(t, NOW);
    const char *bad[] = {
        "", "yesterday-ish", "2026-13-01", "2026-02-29", "2023-02-29", "2026-11-31",
        "2026-11-25T10:00:00",   /* no zone: ambiguous */
        "2026-11-25T24:00:00Z", "2026-11-25T10:60Z", "2026-11-25T10:00:00+25:00",
        "2026-11-25T10:00:00Zjunk", "2026-11-25 junk", "-", "-x", "now-", "-15q",
        "12345678901234567890", "1969-12-31", "2026-1-5", "2026-11-25T10:00:00.Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (serve_parse_time(bad[i], NOW, &t) != SPATE_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }
}

static void test_day_and_range(void **state)
{
    (void)state;
    int32_t d;
    char buf[32];
    assert_int_equal(serve_parse_day("2026-11-25", NOW, &d), 0);
    assert_int_equal(d, NOW / 86400000);
    assert_string_equal(serve_format_day(d, buf, sizeof buf), "2026-11-25");
    assert_int_equal(serve_parse_day("today", NOW, &d), 0);
    assert_int_equal(d, NOW / 86400000);
    assert_int_equal(serve_parse_day("yesterday", NOW, &d), 0);
    assert_int_equal(d, NOW / 86400000 - 1);
    assert_int_equal(serve_parse_day("2026-02-30", NOW, &d), SPATE_EINVAL);
    assert_int_equal(serve_parse_day("25.11.2026", NOW, &d), SPATE_EINVAL);
    assert_int_equal(serve_parse_day("2026-11-25T00:00Z", NOW, &d), SPATE_EINVAL);
    assert_string_equal(serve_format_time(NOW, buf, sizeof buf), "2026-11-25T15:04:05.123Z");
    assert_string_equal(serve_format_time(0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
    assert_string_equal(serve_format_time(951782400000LL, buf, sizeof buf),
                        "2000-02-29T00:00:00.000Z");
    assert_int_equal(spate_days_from_civil(2000, 3, 1), 11017);

    int64_t f, t;
    char err[256];
    assert_int_equal(serve_parse_range(NULL, NULL, NOW, 86400000, &f, &t, err, sizeof err), 0);
    assert_int_equal(t, NOW);
    assert_int_equal(f, NOW - 3600000);
    assert_int_equal(serve_parse_range("-15m", "now", NOW, 86400000, &f, &t, err, sizeof err), 0);
    assert_int_equal(t - f, 900000);
    assert_int_equal(serve_parse_range("now", "-1h", NOW, 86400000, &f, &t, err, sizeof err),
                     SPATE_ERANGE);
    assert_non_null(strstr(err, "'from' must be before 'to'"));
    assert_int_equal(serve_parse_range("now", "now", NOW, 86400000, &f, &t, err, sizeof err),
                     SPATE_ERANGE);
    assert_int_equal(serve_parse_range("-2d", NULL, NOW, 86400000, &f, &t, err, sizeof err),
                     SPATE_EINVAL); /* "2d" is not a duration spate knows */
    assert_int_equal(serve_parse_range("-48h", NULL, NOW, 86400000, &f, &t, err, sizeof err),
                     SPATE_ERANGE);
    assert_non_null(strstr(err, "at most 24 hours"));
    assert_int_equal(serve_parse_range("x", NULL, NOW, 86400000, &f, &t, err, sizeof err),
                     SPATE_EINVAL);
    assert_non_null(strstr(err, "'from' is not a time"));
    assert_int_equal(serve_parse_range(NULL, "x", NOW, 86400000, &f, &t, err, sizeof err),
                     SPATE_EINVAL);
    assert_non_null(strstr(err, "'to' is not a time"));
}

static void test_json_string(void **state)
{
    (void)state;
    struct spate_buf b = {0};
    const char in[] = "a\"b\\c\n\t\x01\x1f Müller </script>";
    assert_int_equal(serve_json_string(&b, in, sizeof in - 1), 0);
    assert_int_equal(spate_buf_append(&b, "", 1), 0);
    assert_string_equal(b.data,
                        "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f Müller </script>\"");
    spate_buf_reset(&b);
    assert_int_equal(serve_json_string(&b, "", 0), 0);
    assert_int_equal(spate_buf_append(&b, "", 1), 0);
    assert_string_equal(b.data, "\"\"");
    spate_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid),         cmocka_unit_test(test_nationality),
        cmocka_unit_test(test_limit),        cmocka_unit_test(test_time),
        cmocka_unit_test(test_day_and_range), cmocka_unit_test(test_json_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
