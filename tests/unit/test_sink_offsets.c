/* SPDX-License-Identifier: Apache-2.0 */
/* test_sink_offsets.c -- commit bookkeeping with out-of-order acks, backoff, mapping expressions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sink/sink_internal.h"
#include "spate/error.h"

#include <stdlib.h>
#include <string.h>

static void test_commit_in_order(void **state)
{
    (void)state;
    struct sink_track t;
    sink__track_init(&t);
    assert_int_equal(sink__track_commit_offset(&t), -1); /* nothing consumed */
    uint64_t s[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(sink__track_add(&t, 10 + i, &s[i]), 0);
    assert_int_equal(sink__track_commit_offset(&t), 10);
    assert_int_equal(sink__track_done(&t, s[0]), 0);
    assert_int_equal(sink__track_commit_offset(&t), 11);
    assert_int_equal(sink__track_done(&t, s[1]), 0);
    assert_int_equal(sink__track_done(&t, s[2]), 0);
    assert_int_equal(sink__track_commit_offset(&t), 13); /* one past the last */
    assert_int_equal(sink__track_pending(&t), 0);
    sink__track_free(&t);
}

static void test_commit_out_of_order(void **state)
{
    (void)state;
    struct sink_track t;
    sink__track_init(&t);
    uint64_t s[10];
    for (int i = 0; i < 10; i++)
        assert_int_equal(sink__track_add(&t, i, &s[i]), 0);
    /* acks 3, 1, 2 arrive before 0: nothing may be committed past 0 */
    assert_int_equal(sink__track_done(&t, s[3]), 0);
    assert_int_equal(sink__track_done(&t, s[1]), 0);
    assert_int_equal(sink__track_done(&t, s[2]), 0);
    assert_int_equal(sink__track_commit_offset(&t), 0);
    assert_int_equal(sink__track_pending(&t), 7);
    assert_int_equal(sink__track_done(&t, s[0]), 0);
    assert_int_equal(sink__track_commit_offset(&t), 4); /* 0..3 done, 4 is not */
    assert_int_equal(sink__track_done(&t, s[9]), 0);
    assert_int_equal(sink__track_commit_offset(&t), 4);
    for (int i = 8; i >= 4; i--) {
        assert_int_equal(sink__track_commit_offset(&t), 4);
        assert_int_equal(sink__track_done(&t, s[i]), 0);
    }
    assert_int_equal(sink__track_commit_offset(&t), 10);
    /* done twice, or unknown: refused, and the state does not move */
    assert_int_equal(sink__track_done(&t, s[5]), SPATE_ENOTFOUND);
    assert_int_equal(sink__track_done(&t, 12345), SPATE_ENOTFOUND);
    assert_int_equal(sink__track_commit_offset(&t), 10);
    sink__track_free(&t);
}

static void test_commit_gaps_and_order(void **state)
{
    (void)state;
    struct sink_track t;
    sink__track_init(&t);
    uint64_t a, b, c;
    /* compacted topics and transaction markers leave gaps in offsets */
    assert_int_equal(sink__track_add(&t, 100, &a), 0);
    assert_int_equal(sink__track_add(&t, 105, &b), 0);
    assert_int_equal(sink__track_add(&t, 104, &c), SPATE_EINVAL); /* must increase */
    assert_int_equal(sink__track_done(&t, b), 0);
    assert_int_equal(sink__track_commit_offset(&t), 100);
    assert_int_equal(sink__track_done(&t, a), 0);
    assert_int_equal(sink__track_commit_offset(&t), 106);
    sink__track_free(&t);
}

/* Random acknowledgement order over a ring that wraps and grows: the
 * committable offset is always the lowest offset not yet done. */
static void test_commit_random(void **state)
{
    (void)state;
    struct sink_track t;
    sink__track_init(&t);
    enum { N = 5000 };
    static uint64_t seq[N];
    static unsigned char done[N];
    memset(done, 0, sizeof done);
    srand(42);
    int added = 0, ndone = 0;
    while (ndone < N) {
        /* add a few, ack a few at random among the added */
        for (int k = 0; k < 7 && added < N; k++, added++)
            assert_int_equal(sink__track_add(&t, added * 2, &seq[added]), 0);
        for (int k = 0; k < 5; k++) {
            int i = rand() % added;
            if (!done[i]) {
                assert_int_equal(sink__track_done(&t, seq[i]), 0);
                done[i] = 1;
                ndone++;
            }
        }
        int lowest = 0;
        while (lowest < added && done[lowest])
            lowest++;
        int64_t want = lowest < added ? lowest * 2 : (added - 1) * 2 + 1;
        assert_int_equal(sink__track_commit_offset(&t), want);
        if (added == N && ndone < N) { /* finish the rest in reverse order */
            for (int i = N - 1; i >= 0; i--)
                if (!done[i]) {
                    assert_int_equal(sink__track_done(&t, seq[i]), 0);
                    done[i] = 1;
                    ndone++;
                    int lo = 0;
                    while (lo < N && done[lo])
                        lo++;
                    assert_int_equal(sink__track_commit_offset(&t),
                                     lo < N ? lo * 2 : (N - 1) * 2 + 1);
                }
        }
    }
    assert_int_equal(sink__track_commit_offset(&t), (N - 1) * 2 + 1);
    sink__track_free(&t);
}

/* ---- expressions ------------------------------------------------------------ */

static int hdr(void *arg, const char *name, const void **p, size_t *len)
{
    (void)arg;
    if (strcmp(name, "spate.stage") == 0) {
        *p = "ingest";
        *len = 6;
        return 0;
    }
    return SPATE_ENOTFOUND;
}

static void view(struct sink_msg_view *m, json_t *root)
{
    memset(m, 0, sizeof *m);
    m->topic = "users.dlq";
    m->partition = 3;
    m->offset = 77;
    m->timestamp_ms = 1795621040123LL;
    m->key = "k1";
    m->key_len = 2;
    m->value = "raw bytes";
    m->value_len = 9;
    m->root = root;
    m->header = hdr;
    m->now_ms = 1000;
}

static void test_expr(void **state)
{
    (void)state;
    char err[256];
    struct sink_expr *x;
    struct sink_datum d;
    struct sink_msg_view m;
    json_t *root = json_loads("{\"a\":{\"b\":\"x\"},\"at\":\"2026-11-25T01:00:00Z\",\"n\":null,"
                              "\"arr\":[10,20]}",
                              0, NULL);
    view(&m, root);

    assert_int_equal(sink__expr_parse("a.b", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_class(x), SINK_C_JSON);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.kind, SINK_D_JSON);
    assert_string_equal(json_string_value(d.json), "x");
    sink__expr_free(x);

    assert_int_equal(sink__expr_parse("arr.1", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(json_integer_value(d.json), 20);
    sink__expr_free(x);

    /* fallbacks: null field -> header -> literal */
    assert_int_equal(sink__expr_parse("n | header:spate.stage | 'unknown'", &x, err, sizeof err),
                     0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.kind, SINK_D_TEXT);
    assert_int_equal(d.len, 6);
    assert_memory_equal(d.s, "ingest", 6);
    sink__expr_free(x);
    assert_int_equal(sink__expr_parse("missing|header:nope|'unknown'", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.len, 7);
    sink__expr_free(x);

    /* field:key is the JSON field, key the Kafka key */
    assert_int_equal(sink__expr_parse("field:key|key", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.kind, SINK_D_TEXT);
    assert_memory_equal(d.s, "k1", 2);
    sink__expr_free(x);

    assert_int_equal(sink__expr_parse("day(at|timestamp)", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_class(x), SINK_C_DATE);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.kind, SINK_D_DATE);
    assert_int_equal(d.i, 20782);
    sink__expr_free(x);
    assert_int_equal(sink__expr_parse("day(missing|timestamp)", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.i, 20782); /* from the Kafka timestamp */
    sink__expr_free(x);
    assert_int_equal(sink__expr_parse("day(a.b)", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), SPATE_ETYPE);
    assert_non_null(strstr(err, "not a timestamp"));
    sink__expr_free(x);

    assert_int_equal(sink__expr_parse("partition", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.kind, SINK_D_INT);
    assert_int_equal(d.i, 3);
    sink__expr_free(x);
    assert_int_equal(sink__expr_parse("value", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.len, 9);
    sink__expr_free(x);

    /* not a JSON value: fields are null, so fallbacks apply */
    view(&m, NULL);
    assert_int_equal(sink__expr_parse("raw|value", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_eval(x, &m, &d, err, sizeof err), 0);
    assert_int_equal(d.kind, SINK_D_TEXT);
    sink__expr_free(x);

    assert_int_equal(sink__expr_parse("", &x, err, sizeof err), SPATE_EPARSE);
    assert_int_equal(sink__expr_parse("a||b", &x, err, sizeof err), SPATE_EPARSE);
    assert_int_equal(sink__expr_parse("day(at", &x, err, sizeof err), SPATE_EPARSE);
    assert_int_equal(sink__expr_parse("a b", &x, err, sizeof err), SPATE_EPARSE);
    assert_non_null(strstr(err, "unexpected"));
    assert_int_equal(sink__expr_parse("a..b", &x, err, sizeof err), SPATE_EPARSE);
    json_decref(root);
}

static void test_expr_check(void **state)
{
    (void)state;
    char err[256];
    struct sink_expr *x;
    struct sink_type *t;
    assert_int_equal(sink__type_parse("uuid", &t, err, sizeof err), 0);
    assert_int_equal(sink__expr_parse("user_id", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_check(x, "uuid", t, err, sizeof err), 0);
    assert_int_equal(sink__expr_check(x, "string", t, err, sizeof err), 0);
    assert_int_equal(sink__expr_check(x, "boolean", t, err, sizeof err), SPATE_ETYPE);
    assert_non_null(strstr(err, "cannot hold"));
    assert_int_equal(sink__expr_check(x, "weird", t, err, sizeof err), SPATE_EINVAL);
    sink__expr_free(x);
    assert_int_equal(sink__expr_parse("now", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_check(x, NULL, t, err, sizeof err), SPATE_ETYPE);
    assert_non_null(strstr(err, "timestamp"));
    sink__expr_free(x);
    sink__type_free(t);
    assert_int_equal(sink__type_parse("int", &t, err, sizeof err), 0);
    assert_int_equal(sink__expr_parse("offset", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_check(x, NULL, t, err, sizeof err), 0);
    sink__expr_free(x);
    assert_int_equal(sink__expr_parse("day(at)", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_check(x, NULL, t, err, sizeof err), 0);
    sink__expr_free(x);
    assert_int_equal(sink__expr_parse("age", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_check(x, "timestamp", t, err, sizeof err), SPATE_ETYPE);
    assert_int_equal(sink__expr_check(x, "integer", t, err, sizeof err), 0);
    sink__expr_free(x);
    sink__type_free(t);
    assert_int_equal(sink__type_parse("list<text>", &t, err, sizeof err), 0);
    assert_int_equal(sink__expr_parse("key", &x, err, sizeof err), 0);
    assert_int_equal(sink__expr_check(x, NULL, t, err, sizeof err), SPATE_ETYPE);
    sink__expr_free(x);
    sink__type_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_in_order),
        cmocka_unit_test(test_commit_out_of_order),
        cmocka_unit_test(test_commit_gaps_and_order),
        cmocka_unit_test(test_commit_random),
        cmocka_unit_test(test_expr),
        cmocka_unit_test(test_expr_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
