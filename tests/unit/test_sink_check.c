/* SPDX-License-Identifier: Apache-2.0 */
/* test_sink_check.c -- sink_check_mapping, the rule `spate sink` and `spate check` share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spate/error.h"
#include "spate/sink.h"

#include <string.h>

static int fits(const char *from, const char *declared, const char *ctype)
{
    char err[256] = "";
    int rc = sink_check_mapping(from, declared, ctype, err, sizeof err);
    if (rc)
        assert_true(err[0] != '\0'); /* every refusal says why */
    return rc;
}

/* spate check refused these until it asked the sink: a string field is parsed
 * per record into a number column, and an integer 0/1 is a boolean. */
static void test_cases_check_used_to_refuse(void **state)
{
    assert_int_equal(fits("age", "string", "int"), 0);
    assert_int_equal(fits("age", "string", "bigint"), 0);
    assert_int_equal(fits("active", "integer", "boolean"), 0);
}

static void test_declared_types(void **state)
{
    assert_int_equal(fits("user_id", "uuid", "uuid"), 0);
    assert_int_equal(fits("user_id", "uuid", "timeuuid"), 0);
    assert_int_equal(fits("age", "integer", "uuid"), SPATE_ETYPE);
    assert_int_equal(fits("lat", "number", "int"), SPATE_ETYPE);
    assert_int_equal(fits("lat", "number", "double"), 0);
    assert_int_equal(fits("at", "timestamp", "timestamp"), 0);
    assert_int_equal(fits("at", "timestamp", "boolean"), SPATE_ETYPE);
    assert_int_equal(fits("tags", "array", "list<text>"), 0);
    assert_int_equal(fits("tags", "array", "frozen<set<text>>"), 0);
    assert_int_equal(fits("tags", "array", "int"), SPATE_ETYPE);
    assert_int_equal(fits("attrs", "object", "map<text, text>"), 0);
    assert_int_equal(fits("attrs", "object", "text"), 0);
    assert_int_equal(fits("attrs", "object", "ascii"), SPATE_ETYPE);
    assert_int_equal(fits("flag", "boolean", "int"), SPATE_ETYPE);
    assert_int_equal(fits("x", NULL, "int"), 0);
    assert_int_equal(fits("x", "weird", "int"), SPATE_EINVAL);
}

static void test_expressions(void **state)
{
    assert_int_equal(fits("day(ingested_at)", "timestamp", "date"), 0);
    assert_int_equal(fits("day(ingested_at)", NULL, "uuid"), SPATE_ETYPE);
    assert_int_equal(fits("partition", NULL, "int"), 0);
    assert_int_equal(fits("now", NULL, "timestamp"), 0);
}

static void test_bad_input_named(void **state)
{
    char err[256] = "";
    assert_int_not_equal(sink_check_mapping("age", NULL, "int<", err, sizeof err), 0);
    assert_true(err[0] != '\0');
    err[0] = '\0';
    assert_int_not_equal(sink_check_mapping("day(", NULL, "date", err, sizeof err), 0);
    assert_non_null(strstr(err, "day("));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_check_used_to_refuse),
        cmocka_unit_test(test_declared_types),
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_bad_input_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
