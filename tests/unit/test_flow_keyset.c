/* SPDX-License-Identifier: Apache-2.0 */
/* test_flow_keyset.c -- the ledger's key multiset and stage comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spate/flow.h"

#include <stdio.h>
#include <string.h>

static void counts_and_duplicates(void **state)
{
    (void)state;
    struct flow_keyset *ks = flow_keyset_new();
    assert_non_null(ks);
    assert_int_equal(flow_keyset_add(ks, "a", 1), 1);
    assert_int_equal(flow_keyset_add(ks, "b", 1), 1);
    assert_int_equal(flow_keyset_add(ks, "a", 1), 2);
    assert_int_equal(flow_keyset_add(ks, "a", 1), 3);
    assert_int_equal(flow_keyset_add(ks, "", 0), 1); /* the empty key is a key */
    assert_int_equal(flow_keyset_count(ks, "a", 1), 3);
    assert_int_equal(flow_keyset_count(ks, "ab", 2), 0);
    assert_int_equal(flow_keyset_distinct(ks), 3);
    assert_int_equal(flow_keyset_total(ks), 5);
    assert_int_equal(flow_keyset_duplicated(ks), 1);
    flow_keyset_free(ks);
}

static void grows_past_a_million(void **state)
{
    (void)state;
    struct flow_keyset *ks = flow_keyset_new();
    char k[40];
    for (int i = 0; i < 1000000; i++) {
        int n = snprintf(k, sizeof k, "%08x-0000-4000-8000-%012d", i, i);
        assert_int_equal(flow_keyset_add(ks, k, (size_t)n), 1);
    }
    int n = snprintf(k, sizeof k, "%08x-0000-4000-8000-%012d", 777, 777);
    assert_int_equal(flow_keyset_add(ks, k, (size_t)n), 2);
    assert_int_equal(flow_keyset_distinct(ks), 1000000);
    assert_int_equal(flow_keyset_duplicated(ks), 1);
    flow_keyset_free(ks);
}

static void compare_finds_missing(void **state)
{
    (void)state;
    struct flow_keyset *raw = flow_keyset_new(), *clean = flow_keyset_new(), *dlq = flow_keyset_new();
    const char *keys[] = {"k1", "k2", "k3", "k4", "k5"};
    for (int i = 0; i < 5; i++)
        flow_keyset_add(raw, keys[i], 2);
    flow_keyset_add(clean, "k1", 2);
    flow_keyset_add(clean, "k2", 2);
    flow_keyset_add(clean, "k2", 2); /* a replayed duplicate is not a loss */
    flow_keyset_add(dlq, "k4", 2);
    flow_keyset_add(clean, "zz", 2); /* extra keys in a target do not count */
    const struct flow_keyset *to[] = {clean, dlq};
    struct flow_ledger_check c;
    flow_ledger_compare("process", raw, to, 2, &c);
    assert_string_equal(c.name, "process");
    assert_int_equal(c.expected, 5);
    assert_int_equal(c.found, 3);
    assert_int_equal(c.missing, 2);
    assert_int_equal(c.example_count, 2);
    int saw3 = !strcmp(c.examples[0], "k3") || !strcmp(c.examples[1], "k3");
    int saw5 = !strcmp(c.examples[0], "k5") || !strcmp(c.examples[1], "k5");
    assert_true(saw3 && saw5);
    flow_keyset_free(raw);
    flow_keyset_free(clean);
    flow_keyset_free(dlq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_and_duplicates),
        cmocka_unit_test(grows_past_a_million),
        cmocka_unit_test(compare_finds_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
