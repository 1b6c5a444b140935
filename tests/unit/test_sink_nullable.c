/* SPDX-License-Identifier: Apache-2.0 */
/* test_sink_nullable.c -- which mapping expressions can give a key column null. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spate/error.h"
#include "spate/sink.h"

#include <string.h>

static const char *const clean_not_null[] = {"user_id", "nationality", "ingested_at"};
#define NN (sizeof clean_not_null / sizeof clean_not_null[0])

static void test_fields_follow_the_guarantees(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(sink_from_nullable("nationality", clean_not_null, NN, why, sizeof why), 0);
    assert_int_equal(sink_from_nullable("day(ingested_at)", clean_not_null, NN, why, sizeof why),
                     0);
    /* a field no rule guarantees: the sink would refuse the record for the table */
    assert_int_equal(sink_from_nullable("title", clean_not_null, NN, why, sizeof why), 1);
    assert_string_equal(why, "field 'title'");
    assert_int_equal(sink_from_nullable("day(registered_at)", clean_not_null, NN, why,
                                        sizeof why), 1);
    assert_string_equal(why, "field 'registered_at'");
    /* nothing guaranteed at all */
    assert_int_equal(sink_from_nullable("nationality", NULL, 0, why, sizeof why), 1);
    assert_string_equal(why, "field 'nationality'");
    assert_int_equal(sink_from_nullable("location.city", NULL, 0, why, sizeof why), 1);
    assert_string_equal(why, "field 'location.city'");
}

static void test_alternatives_need_one_that_is_never_null(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(sink_from_nullable("nationality|''", NULL, 0, why, sizeof why), 0);
    assert_int_equal(sink_from_nullable("at|timestamp|now", NULL, 0, why, sizeof why), 0);
    assert_int_equal(sink_from_nullable("day(at|timestamp)", NULL, 0, why, sizeof why), 0);
    assert_int_equal(sink_from_nullable("partition", NULL, 0, why, sizeof why), 0);
    assert_int_equal(sink_from_nullable("stage|header:spate.stage", NULL, 0, why, sizeof why), 1);
    assert_string_equal(why, "field 'stage'");
    assert_int_equal(sink_from_nullable("header:x|key", NULL, 0, why, sizeof why), 1);
    assert_string_equal(why, "header 'x'");
    assert_int_equal(sink_from_nullable("key", NULL, 0, why, sizeof why), 1);
    assert_string_equal(why, "the Kafka key");
    assert_int_equal(sink_from_nullable("title|nationality", clean_not_null, NN, why, sizeof why),
                     0);
}

static void test_bad_expression_is_an_error(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(sink_from_nullable("day(ingested_at", NULL, 0, why, sizeof why),
                     SPATE_EPARSE);
    assert_true(strlen(why) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_follow_the_guarantees),
        cmocka_unit_test(test_alternatives_need_one_that_is_never_null),
        cmocka_unit_test(test_bad_expression_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
