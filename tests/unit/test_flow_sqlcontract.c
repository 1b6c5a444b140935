/* SPDX-License-Identifier: Apache-2.0 */
/* test_pipeline_sqlcontract.c -- the fields the validation rules and @not_null guarantee. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spate/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(const struct flow_sql_guarantees *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->ptrs[i], name))
            return 1;
    return 0;
}

static void test_rules_guarantee_their_is_null_terms(void **state)
{
    (void)state;
    char sql[] = "CREATE VIEW v AS SELECT *, CASE WHEN x THEN 1 END AS other,\n"
                 "  CASE\n"
                 "    WHEN NOT is_object THEN 'malformed_json'\n"
                 "    -- WHEN commented IS NULL THEN 'gone'\n"
                 "    WHEN user_id IS NULL\n"
                 "      OR NOT user_id RLIKE '^[0-9a-f]+$' THEN 'invalid_uuid'\n"
                 "    WHEN first IS NULL OR first = '' or last is null THEN 'empty_name'\n"
                 "    WHEN age IS NULL AND strict THEN 'no_age'\n"
                 "    WHEN (lat IS NULL OR lon IS NULL) THEN 'coords'\n"
                 "    WHEN nat IS NOT NULL AND nat = 'XX' THEN 'xx'\n"
                 "    ELSE NULL\n"
                 "  END AS error\n"
                 "FROM t;\n";
    struct flow_sql_guarantees g = {.n = 0};
    flow_sql_guarantees_rules(&g, sql);
    assert_true(has(&g, "user_id"));
    assert_true(has(&g, "first"));
    assert_true(has(&g, "last"));
    /* only a whole OR term guarantees: not under AND, not inside parentheses */
    assert_false(has(&g, "age"));
    assert_false(has(&g, "lat"));
    assert_false(has(&g, "nat"));
    assert_false(has(&g, "commented"));
    assert_false(has(&g, "x"));
    assert_int_equal(g.n, 3);
}

static void test_no_error_case_guarantees_nothing(void **state)
{
    (void)state;
    char sql[] = "SELECT CASE WHEN a IS NULL THEN 'x' END AS reason FROM t";
    struct flow_sql_guarantees g = {.n = 0};
    flow_sql_guarantees_rules(&g, sql);
    assert_int_equal(g.n, 0);
}

static void test_declared_fields(void **state)
{
    (void)state;
    struct flow_sql_guarantees g = {.n = 0};
    flow_sql_guarantees_declared(&g, "-- @output_mode: update\n"
                                "-- @not_null: ingested_at, processed_at\n"
                                "-- @not_null names what the SQL sets\n"
                                "-- @not_null: window_start,signups\n"
                                "SELECT 1");
    assert_true(has(&g, "ingested_at"));
    assert_true(has(&g, "processed_at"));
    assert_true(has(&g, "window_start"));
    assert_true(has(&g, "signups"));
    assert_int_equal(g.n, 4);
}

/* The shipped users pipeline guarantees every field its mappings put in a key
 * column (spate.yaml: user_id, nationality, ingested_at; window_start). */
static void test_shipped_pipeline(void **state)
{
    (void)state;
    struct spate_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kafka.topic_clean = "users.clean";
    cfg.kafka.topic_stats = "users.stats";
    /* SPATE_TEST_DATA is <source>/tests/unit/data, which need not exist */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", SPATE_TEST_DATA);
    char *cut = strstr(dir, "/tests/unit/data");
    assert_non_null(cut);
    snprintf(cut, sizeof dir - (size_t)(cut - dir), "/pipelines/users");
    cfg.spark.sql_dir = dir;
    struct flow_sql_guarantees g;
    flow_sql_guarantees_of(&cfg, "users.clean", &g);
    assert_true(has(&g, "user_id"));
    assert_true(has(&g, "nationality"));
    assert_true(has(&g, "ingested_at"));
    assert_false(has(&g, "title"));
    flow_sql_guarantees_of(&cfg, "users.stats", &g);
    assert_true(has(&g, "window_start"));
    assert_false(has(&g, "nationality"));
    flow_sql_guarantees_of(&cfg, "users.dlq", &g);
    assert_int_equal(g.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_guarantee_their_is_null_terms),
        cmocka_unit_test(test_no_error_case_guarantees_nothing),
        cmocka_unit_test(test_declared_fields),
        cmocka_unit_test(test_shipped_pipeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
