/* SPDX-License-Identifier: Apache-2.0 */
/* test_flow_ledger.c -- the record ledger on what a real-world API serves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spate/flow.h"
#include "spate/util.h"

#include <stdio.h>
#include <string.h>

#define U1 "123e4567-e89b-42d3-a456-426614174001"
#define U2 "123e4567-e89b-42d3-a456-426614174002"
#define U3 "123e4567-e89b-42d3-a456-426614174003"
#define U4 "123e4567-e89b-42d3-a456-426614174004"
#define U5 "123e4567-e89b-42d3-a456-426614174005"

static struct flow_scan_record rec(const char *key, const char *request_id)
{
    struct flow_scan_record r = {.key = key, .key_len = key ? strlen(key) : 0,
                            .request_id = request_id, .fetched_at = 1000};
    return r;
}

static struct flow_scan_record dlq(const char *stage, const char *error, const char *key)
{
    struct flow_scan_record r = rec(key, "run-9");
    r.stage = stage;
    r.error = error;
    r.value = "";
    return r;
}

static void normalize_like_spark(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cases[] = {
        {"  123E4567-E89B-42D3-A456-4266141740FF\t ", "123e4567-e89b-42d3-a456-4266141740ff"},
        {"\r\n\v\fabc\f", "abc"},
        {"a b", "a b"},        /* inner blanks stay */
        {"   ", ""},
        {"", ""},
        {"\xc3\x89T\xc3\xa9", "\xc3\x89t\xc3\xa9"}, /* only ASCII letters are lowered */
        {"\xc2\xa0x", "\xc2\xa0x"},                 /* NBSP is not in Java's \s */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        size_t n = spate_key_normalize(cases[i].in, strlen(cases[i].in), buf);
        buf[n] = '\0';
        assert_string_equal(buf, cases[i].out);
    }
    char inplace[] = " ABC ";
    size_t n = spate_key_normalize(inplace, 5, inplace);
    assert_int_equal(n, 3);
    assert_memory_equal(inplace, "abc", 3);
}

/* What the independent API served: keys repeated within and across responses,
 * upper-case and blank-padded uuids, a non-JSON response (one DLQ entry),
 * a record without a key, an invalid record. Nothing was lost. */
static void real_world_input_is_ok(void **state)
{
    (void)state;
    struct flow_ledger *l = flow_ledger_new(0);
    assert_non_null(l);
    /* response 1: U1, U2, U1 again (within), upper-case U3, a record without a key */
    struct flow_scan_record r;
    r = rec(U1, "run-1"); assert_int_equal(flow_ledger_add_raw(l, &r), 0);
    r = rec(U2, "run-1"); flow_ledger_add_raw(l, &r);
    r = rec(U1, "run-1"); flow_ledger_add_raw(l, &r);
    r = rec("123E4567-E89B-42D3-A456-426614174003", "run-1"); flow_ledger_add_raw(l, &r);
    r = dlq("ingest", "record_without_key", "run-1"); flow_ledger_add_dlq(l, &r);
    /* response 2 was not JSON: one DLQ entry, retried as response 3 */
    r = dlq("ingest", "not_json", "run-2"); flow_ledger_add_dlq(l, &r);
    /* response 3: U2 again (across), padded U4, U5 (invalid: process DLQ, raw key) */
    r = rec(U2, "run-3"); flow_ledger_add_raw(l, &r);
    r = rec("  " U4 "\t ", "run-3"); flow_ledger_add_raw(l, &r);
    r = rec(" " U5, "run-3"); flow_ledger_add_raw(l, &r);
    /* Spark: one row per raw record, user_id normalised; the invalid one keeps its raw key */
    const char *clean[] = {U1, U2, U1, U3, U2, U4};
    for (size_t i = 0; i < 6; i++) {
        r = rec(clean[i], "x");
        flow_ledger_add_clean(l, &r);
    }
    r = dlq("process", "empty_name", " " U5); flow_ledger_add_dlq(l, &r);
    /* the table: one row per user */
    const char *stored[] = {U1, U2, U3, U4};
    for (size_t i = 0; i < 4; i++)
        flow_ledger_add_stored(l, stored[i], strlen(stored[i]));

    struct flow_ledger_report rep;
    /* ingest fetched 3 + 4 records from the two JSON responses */
    assert_int_equal(flow_ledger_evaluate(l, 8, &rep), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.raw_records, 7);
    assert_int_equal(rep.raw_keys, 5);
    assert_int_equal(rep.api_repeated_keys, 2);        /* U1 and U2 */
    assert_int_equal(rep.api_repeated_in_response, 1); /* U1 in run-1 */
    assert_int_equal(rep.dlq_ingest_records, 1);
    assert_int_equal(rep.dlq_ingest_responses, 1);
    assert_int_equal(rep.fetched.expected, 8);
    assert_int_equal(rep.fetched.found, 8);
    assert_int_equal(rep.fetched.missing + rep.fetched.surplus, 0);
    assert_int_equal(rep.fetched.example_count, 0);
    assert_int_equal(rep.process.missing, 0);
    assert_int_equal(rep.process.expected, 5);
    assert_int_equal(rep.sink.missing, 0);
    assert_int_equal(rep.sink.expected, 4);
    /* without ingest's count the key checks still pass */
    assert_int_equal(flow_ledger_evaluate(l, -1, &rep), 0);
    assert_true(rep.ok);
    assert_false(rep.have_fetched);
    flow_ledger_free(l);
}

static void real_loss_is_named(void **state)
{
    (void)state;
    struct flow_ledger *l = flow_ledger_new(0);
    struct flow_scan_record r;
    r = rec(" " U1 " ", "run-1"); flow_ledger_add_raw(l, &r);
    r = rec(U2, "run-1"); flow_ledger_add_raw(l, &r);
    r = rec(U3, "run-1"); flow_ledger_add_raw(l, &r);
    r = rec(U1, "x"); flow_ledger_add_clean(l, &r);
    r = rec(U3, "x"); flow_ledger_add_clean(l, &r);
    flow_ledger_add_stored(l, U1, strlen(U1));
    struct flow_ledger_report rep;
    assert_int_equal(flow_ledger_evaluate(l, 3, &rep), 0);
    assert_false(rep.ok);
    assert_int_equal(rep.process.missing, 1);
    assert_string_equal(rep.process.stage, "process");
    assert_int_equal(rep.process.example_count, 1);
    assert_string_equal(rep.process.examples[0], U2);
    assert_int_equal(rep.sink.missing, 1);
    assert_string_equal(rep.sink.stage, "sink");
    assert_string_equal(rep.sink.examples[0], U3);
    flow_ledger_free(l);
}

static void ingest_count_mismatch(void **state)
{
    (void)state;
    struct flow_ledger *l = flow_ledger_new(0);
    struct flow_scan_record r;
    /* ingest produced U1 twice from one response it fetched once */
    r = rec(U1, "run-1"); flow_ledger_add_raw(l, &r);
    r = rec(U1, "run-1"); flow_ledger_add_raw(l, &r);
    r = rec(U2, "run-1"); flow_ledger_add_raw(l, &r);
    r = rec(U1, "x"); flow_ledger_add_clean(l, &r);
    r = rec(U2, "x"); flow_ledger_add_clean(l, &r);
    flow_ledger_add_stored(l, U1, strlen(U1));
    flow_ledger_add_stored(l, U2, strlen(U2));
    struct flow_ledger_report rep;
    assert_int_equal(flow_ledger_evaluate(l, 2, &rep), 0);
    assert_false(rep.ok);
    assert_int_equal(rep.fetched.surplus, 1);
    assert_int_equal(rep.fetched.missing, 0);
    assert_string_equal(rep.fetched.stage, "ingest");
    assert_int_equal(rep.fetched.example_count, 1);
    assert_string_equal(rep.fetched.examples[0], U1);
    /* ingest fetched 5, raw holds 3 and no DLQ entry accounts for the rest */
    assert_int_equal(flow_ledger_evaluate(l, 5, &rep), 0);
    assert_false(rep.ok);
    assert_int_equal(rep.fetched.missing, 2);
    assert_int_equal(rep.fetched.example_count, 0);
    /* whole-response DLQ entries never stand in for records */
    r = dlq("ingest", "not_json", "run-2"); flow_ledger_add_dlq(l, &r);
    r = dlq("ingest", "http_404", "run-3"); flow_ledger_add_dlq(l, &r);
    assert_int_equal(flow_ledger_evaluate(l, 5, &rep), 0);
    assert_int_equal(rep.fetched.missing, 2);
    flow_ledger_free(l);
}

static void since_scopes_raw_and_ingest_dlq(void **state)
{
    (void)state;
    struct flow_ledger *l = flow_ledger_new(2000);
    struct flow_scan_record r = rec(U1, "old-1");
    r.fetched_at = 1500; /* an earlier run: not owed */
    flow_ledger_add_raw(l, &r);
    r = dlq("ingest", "record_too_large", "old-1");
    r.fetched_at = 1500;
    flow_ledger_add_dlq(l, &r);
    r = rec(U2, "run-1");
    r.fetched_at = 2500;
    flow_ledger_add_raw(l, &r);
    r = dlq("ingest", "record_too_large", "run-1");
    r.fetched_at = 2500;
    flow_ledger_add_dlq(l, &r);
    r = rec(U1, "x"); flow_ledger_add_clean(l, &r); /* in clean, not stored: not owed */
    r = rec(U2, "x"); flow_ledger_add_clean(l, &r);
    flow_ledger_add_stored(l, U2, strlen(U2));
    struct flow_ledger_report rep;
    assert_int_equal(flow_ledger_evaluate(l, 2, &rep), 0);
    assert_true(rep.ok);
    assert_int_equal(rep.raw_skipped, 1);
    assert_int_equal(rep.dlq_ingest_records, 1);
    assert_int_equal(rep.sink.expected, 1);
    flow_ledger_free(l);
}

static void reasons(void **state)
{
    (void)state;
    assert_true(flow_ledger_ingest_reason_is_record("record_too_large"));
    assert_true(flow_ledger_ingest_reason_is_record("record_without_key"));
    assert_false(flow_ledger_ingest_reason_is_record("not_json"));
    assert_false(flow_ledger_ingest_reason_is_record("no_records_path"));
    assert_false(flow_ledger_ingest_reason_is_record("http_429_retries_exhausted"));
    assert_false(flow_ledger_ingest_reason_is_record(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalize_like_spark),
        cmocka_unit_test(real_world_input_is_ok),
        cmocka_unit_test(real_loss_is_named),
        cmocka_unit_test(ingest_count_mismatch),
        cmocka_unit_test(since_scopes_raw_and_ingest_dlq),
        cmocka_unit_test(reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
