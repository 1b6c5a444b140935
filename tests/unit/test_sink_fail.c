/* SPDX-License-Identifier: Apache-2.0 */
/* test_sink_fail.c -- what a failed write means, and the DLQ envelope cut to the message limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sink/sink_internal.h"
#include "spate/cql.h"
#include "spate/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void test_classify_server_trouble_is_retried(void **state)
{
    (void)state;
    /* before: WRITE_FAILURE and server errors sent every record to the DLQ */
    static const int codes[] = {CQL_ERR_SERVER,        CQL_ERR_OVERLOADED,
                                CQL_ERR_BOOTSTRAPPING, CQL_ERR_UNAVAILABLE,
                                CQL_ERR_WRITE_TIMEOUT, CQL_ERR_WRITE_FAILURE,
                                CQL_ERR_TRUNCATE,      CQL_ERR_READ_FAILURE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *label = "x";
        assert_int_equal(sink__classify_write(SPATE_ESERVER, codes[i], "Server error", &label),
                         SINK_FAIL_RETRY);
        assert_null(label);
    }
    /* client-side trouble: the connection, a timeout, backpressure */
    assert_int_equal(sink__classify_write(SPATE_ETIMEDOUT, -1, NULL, NULL), SINK_FAIL_RETRY);
    assert_int_equal(sink__classify_write(SPATE_ECLOSED, -1, "closed", NULL), SINK_FAIL_RETRY);
    assert_int_equal(sink__classify_write(SPATE_EUNAVAILABLE, -1, NULL, NULL), SINK_FAIL_RETRY);
    assert_int_equal(sink__classify_write(SPATE_ENOMEM, -1, NULL, NULL), SINK_FAIL_RETRY);
    assert_int_equal(sink__classify_write(SPATE_ESERVER, 0x7777, "new code", NULL),
                     SINK_FAIL_RETRY);
}

static void test_classify_table_trouble_blocks(void **state)
{
    (void)state;
    const char *label = NULL;
    assert_int_equal(
        sink__classify_write(SPATE_EAUTH, CQL_ERR_UNAUTHORIZED,
                             "Unauthorized: User app has no MODIFY permission on <table "
                             "spate.users> or any of its parents",
                             &label),
        SINK_FAIL_BLOCKED);
    assert_string_equal(label, "unauthorized");
    /* a dropped table or column, as Cassandra 5 and 4 word it (after the
     * session's re-prepare, prefixed by it) */
    static const char *const gone[] = {
        "Invalid: table users does not exist",
        "re-prepare failed: Invalid: table users does not exist",
        "Invalid: keyspace spate does not exist",
        "Invalid: unconfigured table users",
        "Invalid: Undefined column name email in table spate.users",
        "Invalid: Undefined column name email",
    };
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        label = NULL;
        assert_int_equal(sink__classify_write(SPATE_ESERVER, CQL_ERR_INVALID, gone[i], &label),
                         SINK_FAIL_BLOCKED);
        assert_string_equal(label, "schema");
    }
    assert_int_equal(sink__classify_write(SPATE_ESERVER, CQL_ERR_UNPREPARED,
                                          "Unprepared: unknown id", &label),
                     SINK_FAIL_BLOCKED);
    assert_string_equal(label, "unprepared");
    assert_int_equal(sink__classify_write(SPATE_EAUTH, -1, "authentication failed", &label),
                     SINK_FAIL_BLOCKED);
    assert_string_equal(label, "authentication");
    assert_int_equal(sink__classify_write(SPATE_ESERVER, CQL_ERR_SYNTAX, "line 1", &label),
                     SINK_FAIL_BLOCKED);
}

static void test_classify_record_trouble_is_poison(void **state)
{
    (void)state;
    assert_int_equal(sink__classify_write(SPATE_ESERVER, CQL_ERR_INVALID,
                                          "Invalid: Key may not be empty", NULL),
                     SINK_FAIL_RECORD);
    assert_int_equal(sink__classify_write(SPATE_ESERVER, CQL_ERR_INVALID,
                                          "Invalid: Key length of 70000 is longer than "
                                          "maximum of 65535",
                                          NULL),
                     SINK_FAIL_RECORD);
    assert_int_equal(sink__classify_write(SPATE_ETYPE, -1, "expected a uuid", NULL),
                     SINK_FAIL_RECORD);
    assert_int_equal(sink__classify_write(SPATE_EPROTO, CQL_ERR_PROTOCOL,
                                          "Request is too big", NULL),
                     SINK_FAIL_RECORD);
}

/* ---- DLQ envelope ------------------------------------------------------------------ */

static json_t *parse(const char *s, size_t len)
{
    json_t *o = json_loadb(s, len, 0, NULL);
    assert_non_null(o);
    return o;
}

static void test_envelope_whole_when_it_fits(void **state)
{
    (void)state;
    struct sink_dlq_in in = {.reason = "users.user_id: expected a uuid",
                             .key = "k1",
                             .key_len = 2,
                             .raw = "{\"a\":1}",
                             .raw_len = 7,
                             .at = "2026-12-07T20:00:00.000Z",
                             .topic = "users.clean",
                             .partition = 2,
                             .offset = 41};
    char *s;
    size_t len;
    int cut;
    assert_int_equal(sink__dlq_envelope(&in, 1000000, &s, &len, &cut), 0);
    assert_int_equal(len, strlen(s));
    json_t *o = parse(s, len);
    assert_string_equal(json_string_value(json_object_get(o, "stage")), "sink");
    assert_string_equal(json_string_value(json_object_get(o, "reason")), in.reason);
    assert_string_equal(json_string_value(json_object_get(o, "key")), "k1");
    assert_string_equal(json_string_value(json_object_get(o, "raw")), "{\"a\":1}");
    assert_int_equal(json_integer_value(json_object_get(o, "offset")), 41);
    assert_null(json_object_get(o, "raw_truncated"));
    assert_int_equal(cut, 0);
    json_decref(o);
    free(s);
    /* bytes that are not UTF-8 keep every byte as hex */
    in.raw = "\xff\x00\x10";
    in.raw_len = 3;
    assert_int_equal(sink__dlq_envelope(&in, 1000000, &s, &len, &cut), 0);
    o = parse(s, len);
    assert_string_equal(json_string_value(json_object_get(o, "raw")), "0xff0010");
    json_decref(o);
    free(s);
}

/* The case: a ~500 KB record that is not UTF-8 doubles as hex, past
 * librdkafka's message.max.bytes of 1,000,000. */
static void test_envelope_cut_to_fit(void **state)
{
    (void)state;
    enum { N = 500 * 1024 };
    unsigned char *raw = malloc(N);
    assert_non_null(raw);
    for (size_t i = 0; i < N; i++)
        raw[i] = (unsigned char)(0x80 + i % 0x7f); /* never UTF-8 */
    struct sink_dlq_in in = {.reason = "users.user_id: primary key column is missing or null "
                                       "(value is not JSON: invalid token)",
                             .key = "poison-key",
                             .key_len = 10,
                             .raw = raw,
                             .raw_len = N,
                             .at = "2026-12-07T20:00:00.000Z",
                             .topic = "users.clean",
                             .partition = 0,
                             .offset = 7};
    char *s;
    size_t len;
    int cut;
    const size_t max = 1000000 - 1024;
    assert_int_equal(sink__dlq_envelope(&in, max, &s, &len, &cut), 0);
    assert_true(len <= max);
    assert_true(len > max - 64); /* cut no more than it had to */
    assert_int_equal(cut, 1);
    json_t *o = parse(s, len);
    assert_string_equal(json_string_value(json_object_get(o, "reason")), in.reason);
    assert_string_equal(json_string_value(json_object_get(o, "key")), "poison-key");
    assert_true(json_is_true(json_object_get(o, "raw_truncated")));
    assert_int_equal(json_integer_value(json_object_get(o, "raw_bytes")), N);
    const char *sha = json_string_value(json_object_get(o, "raw_sha256"));
    assert_non_null(sha);
    assert_int_equal(strlen(sha), 64);
    const char *r = json_string_value(json_object_get(o, "raw"));
    assert_memory_equal(r, "0x80818283", 10); /* a prefix of the hex */
    json_decref(o);
    free(s);

    /* text: cut at a character boundary, so the prefix stays UTF-8 */
    char *text = malloc(N + 1);
    assert_non_null(text);
    for (size_t i = 0; i + 2 <= N; i += 2)
        memcpy(text + i, "\xc3\xa9", 2); /* é */
    in.raw = text;
    in.raw_len = N;
    for (size_t lim = 2000; lim < 2020; lim++) {
        assert_int_equal(sink__dlq_envelope(&in, lim, &s, &len, &cut), 0);
        assert_true(len <= lim);
        o = parse(s, len); /* jansson refuses invalid UTF-8 */
        assert_true(json_is_true(json_object_get(o, "raw_truncated")));
        json_decref(o);
        free(s);
    }
    /* nothing but the reason and coordinates fits: refused, not cut */
    assert_int_equal(sink__dlq_envelope(&in, 100, &s, &len, &cut), SPATE_ETOOBIG);
    /* a key too long to fit whole is cut as well */
    in.key = text;
    in.key_len = 4000;
    in.raw_len = 4000;
    assert_int_equal(sink__dlq_envelope(&in, 3000, &s, &len, &cut), 0);
    assert_true(len <= 3000);
    o = parse(s, len);
    assert_true(json_is_true(json_object_get(o, "key_truncated")));
    assert_string_equal(json_string_value(json_object_get(o, "raw")), "");
    assert_string_equal(json_string_value(json_object_get(o, "reason")), in.reason);
    json_decref(o);
    free(s);
    free(text);
    free(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_server_trouble_is_retried),
        cmocka_unit_test(test_classify_table_trouble_blocks),
        cmocka_unit_test(test_classify_record_trouble_is_poison),
        cmocka_unit_test(test_envelope_whole_when_it_fits),
        cmocka_unit_test(test_envelope_cut_to_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
