/* SPDX-License-Identifier: Apache-2.0 */
/* test_sink_convert.c -- JSON/bytes to CQL values for every column type, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sink/sink_internal.h"
#include "spate/error.h"

#include <math.h>
#include <string.h>

struct fx {
    struct sink_scratch sc;
    struct sink_type *t;
    json_t *j;
    char err[256];
};

static int setup(void **state)
{
    *state = calloc(1, sizeof(struct fx));
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sink__scratch_free(&f->sc);
    sink__type_free(f->t);
    json_decref(f->j);
    free(f);
    return 0;
}

/* Converts the JSON text js into a column of type ts. */
static int conv(struct fx *f, const char *ts, const char *js, struct cql_value *out)
{
    sink__type_free(f->t);
    f->t = NULL;
    json_decref(f->j);
    assert_int_equal(sink__type_parse(ts, &f->t, f->err, sizeof f->err), 0);
    f->j = json_loads(js, JSON_DECODE_ANY, NULL);
    assert_non_null(f->j);
    struct sink_datum d = {.kind = SINK_D_JSON, .json = f->j};
    f->err[0] = 0;
    return sink__convert(f->t, &d, &f->sc, out, f->err, sizeof f->err);
}

static int conv_text(struct fx *f, const char *ts, const char *s, size_t len,
                     struct cql_value *out)
{
    sink__type_free(f->t);
    f->t = NULL;
    assert_int_equal(sink__type_parse(ts, &f->t, f->err, sizeof f->err), 0);
    struct sink_datum d = {.kind = SINK_D_TEXT, .s = s, .len = len};
    return sink__convert(f->t, &d, &f->sc, out, f->err, sizeof f->err);
}

static void assert_text(const struct cql_value *v, const char *want)
{
    assert_int_equal(v->kind, CQL_V_TEXT);
    assert_int_equal(v->u.s.len, strlen(want));
    assert_memory_equal(v->u.s.ptr, want, strlen(want));
}

static void test_types_parse(void **state)
{
    struct fx *f = *state;
    char buf[64];
    struct sink_type *t;
    assert_int_equal(sink__type_parse("frozen<map<text, bigint>>", &t, f->err, sizeof f->err), 0);
    assert_int_equal(t->id, CQL_TYPE_MAP);
    assert_string_equal(sink__type_name(t, buf, sizeof buf), "map<text, bigint>");
    sink__type_free(t);
    assert_int_equal(sink__type_parse("list<uuid>", &t, f->err, sizeof f->err), 0);
    assert_int_equal(t->sub[0]->id, CQL_TYPE_UUID);
    sink__type_free(t);
    assert_int_equal(sink__type_parse("counter", &t, f->err, sizeof f->err), SPATE_EUNSUPPORTED);
    assert_non_null(strstr(f->err, "counter"));
    assert_int_equal(sink__type_parse("frozen<address>", &t, f->err, sizeof f->err),
                     SPATE_EUNSUPPORTED);
    assert_int_equal(sink__type_parse("tuple<int, text>", &t, f->err, sizeof f->err),
                     SPATE_EUNSUPPORTED);
    assert_int_equal(sink__type_parse("list<int", &t, f->err, sizeof f->err), SPATE_EPARSE);
    assert_int_equal(sink__type_parse("list<list<int>>", &t, f->err, sizeof f->err),
                     SPATE_EUNSUPPORTED);
}

static void test_text(void **state)
{
    struct fx *f = *state;
    struct cql_value v;
    assert_int_equal(conv(f, "text", "\"Zoë\"", &v), 0);
    assert_text(&v, "Zoë");
    assert_int_equal(conv(f, "text", "63104", &v), 0); /* a number into text */
    assert_text(&v, "63104");
    assert_int_equal(conv(f, "text", "2.5", &v), 0);
    assert_text(&v, "2.5");
    assert_int_equal(conv(f, "text", "true", &v), 0);
    assert_text(&v, "true");
    assert_int_equal(conv(f, "text", "{\"a\":1}", &v), 0);
    assert_text(&v, "{\"a\":1}");
    assert_int_equal(conv(f, "ascii", "\"plain\"", &v), 0);
    assert_int_equal(conv(f, "ascii", "\"Zoë\"", &v), SPATE_ETYPE);
    assert_non_null(strstr(f->err, "non-ASCII"));
    /* raw bytes that are not UTF-8 become U+FFFD, never invalid text */
    assert_int_equal(conv_text(f, "text", "a\xff" "b", 3, &v), 0);
    assert_text(&v, "a\xEF\xBF\xBD" "b");
}

static void test_integers(void **state)
{
    struct fx *f = *state;
    struct cql_value v;
    assert_int_equal(conv(f, "int", "42", &v), 0);
    assert_int_equal(v.kind, CQL_V_INT);
    assert_int_equal(v.u.i, 42);
    assert_int_equal(conv(f, "int", "\"-7\"", &v), 0);
    assert_int_equal(v.u.i, -7);
    assert_int_equal(conv(f, "int", "3.0", &v), 0);
    assert_int_equal(v.u.i, 3);
    assert_int_equal(conv(f, "int", "3.5", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "int", "2147483648", &v), SPATE_ERANGE);
    assert_int_equal(conv(f, "int", "\"abc\"", &v), SPATE_ETYPE);
    assert_non_null(strstr(f->err, "abc"));
    assert_int_equal(conv(f, "int", "\"12abc\"", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "int", "true", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "smallint", "32767", &v), 0);
    assert_int_equal(conv(f, "smallint", "32768", &v), SPATE_ERANGE);
    assert_int_equal(conv(f, "tinyint", "-128", &v), 0);
    assert_int_equal(conv(f, "tinyint", "-129", &v), SPATE_ERANGE);
    assert_int_equal(conv(f, "bigint", "9223372036854775807", &v), 0);
    assert_int_equal(v.u.i, INT64_MAX);
    assert_int_equal(conv(f, "bigint", "\"99999999999999999999\"", &v), SPATE_ERANGE);
    assert_int_equal(conv(f, "varint", "\"-123456789012345678901234567890\"", &v), 0);
    assert_text(&v, "-123456789012345678901234567890");
    assert_int_equal(conv(f, "varint", "\"12345678901234567890x\"", &v), SPATE_ETYPE);
}

static void test_reals(void **state)
{
    struct fx *f = *state;
    struct cql_value v;
    assert_int_equal(conv(f, "double", "-33.8688", &v), 0);
    assert_int_equal(v.kind, CQL_V_DOUBLE);
    assert_true(v.u.d == -33.8688);
    assert_int_equal(conv(f, "double", "7", &v), 0);
    assert_true(v.u.d == 7.0);
    assert_int_equal(conv(f, "double", "\"1e3\"", &v), 0);
    assert_true(v.u.d == 1000.0);
    assert_int_equal(conv(f, "double", "\"north\"", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "float", "1.5", &v), 0);
    assert_int_equal(conv(f, "float", "1e300", &v), SPATE_ERANGE);
    assert_int_equal(conv(f, "decimal", "\"-12.345\"", &v), 0);
    assert_text(&v, "-12.345");
    assert_int_equal(conv(f, "decimal", "0.1", &v), 0);
    assert_text(&v, "0.1"); /* the shortest text that gives the same double */
    assert_int_equal(conv(f, "decimal", "\"1.2.3\"", &v), SPATE_ETYPE);
}

static void test_boolean(void **state)
{
    struct fx *f = *state;
    struct cql_value v;
    assert_int_equal(conv(f, "boolean", "true", &v), 0);
    assert_int_equal(v.kind, CQL_V_BOOL);
    assert_int_equal(v.u.b, 1);
    assert_int_equal(conv(f, "boolean", "\"FALSE\"", &v), 0);
    assert_int_equal(v.u.b, 0);
    assert_int_equal(conv(f, "boolean", "1", &v), 0);
    assert_int_equal(v.u.b, 1);
    assert_int_equal(conv(f, "boolean", "2", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "boolean", "\"yes\"", &v), SPATE_ETYPE);
}

static void test_timestamp(void **state)
{
    struct fx *f = *state;
    struct cql_value v;
    assert_int_equal(conv(f, "timestamp", "\"2026-11-25T15:37:20.123Z\"", &v), 0);
    assert_int_equal(v.kind, CQL_V_INT);
    assert_int_equal(v.u.i, 1795621040123LL);
    assert_int_equal(conv(f, "timestamp", "1795621040123", &v), 0); /* epoch ms */
    assert_int_equal(v.u.i, 1795621040123LL);
    assert_int_equal(conv(f, "timestamp", "\"1795621040123\"", &v), 0);
    assert_int_equal(v.u.i, 1795621040123LL);
    assert_int_equal(conv(f, "timestamp", "\"2026-11-25T17:37:20.123+02:00\"", &v), 0);
    assert_int_equal(v.u.i, 1795621040123LL);
    assert_int_equal(conv(f, "timestamp", "\"2026-11-25 15:37:20\"", &v), 0);
    assert_int_equal(v.u.i, 1795621040000LL);
    assert_int_equal(conv(f, "timestamp", "\"1969-12-31T23:59:59.999Z\"", &v), 0);
    assert_int_equal(v.u.i, -1);
    assert_int_equal(conv(f, "timestamp", "\"2026-11-25\"", &v), 0);
    assert_int_equal(v.u.i, 1795564800000LL);
    assert_int_equal(conv(f, "timestamp", "\"2026-02-30T00:00:00Z\"", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "timestamp", "\"yesterday\"", &v), SPATE_ETYPE);
    assert_non_null(strstr(f->err, "ISO-8601"));
    assert_int_equal(conv(f, "timestamp", "\"2026-11-25T15:37:20Zjunk\"", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "timestamp", "true", &v), SPATE_ETYPE);
}

static void test_date_time(void **state)
{
    struct fx *f = *state;
    struct cql_value v;
    assert_int_equal(conv(f, "date", "\"2026-11-25\"", &v), 0);
    assert_int_equal(v.u.i, 20782);
    assert_int_equal(conv(f, "date", "\"2026-11-25T23:59:59.999Z\"", &v), 0);
    assert_int_equal(v.u.i, 20782);
    assert_int_equal(conv(f, "date", "\"1969-12-31\"", &v), 0);
    assert_int_equal(v.u.i, -1);
    assert_int_equal(conv(f, "date", "\"25/11/2026\"", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "time", "\"12:34:56.789\"", &v), 0);
    assert_int_equal(v.u.i, (12 * 3600 + 34 * 60 + 56) * 1000000000LL + 789000000LL);
    assert_int_equal(conv(f, "time", "\"25:00:00\"", &v), SPATE_ETYPE);
    struct sink_datum d = {.kind = SINK_D_DATE, .i = 20782};
    struct sink_type *t;
    assert_int_equal(sink__type_parse("text", &t, f->err, sizeof f->err), 0);
    assert_int_equal(sink__convert(t, &d, &f->sc, &v, f->err, sizeof f->err), 0);
    assert_text(&v, "2026-11-25");
    d.kind = SINK_D_TIMESTAMP;
    d.i = 1795621040123LL;
    assert_int_equal(sink__convert(t, &d, &f->sc, &v, f->err, sizeof f->err), 0);
    assert_text(&v, "2026-11-25T15:37:20.123Z");
    sink__type_free(t);
}

static void test_uuid_inet_blob(void **state)
{
    struct fx *f = *state;
    struct cql_value v;
    assert_int_equal(conv(f, "uuid", "\"0b7e1a2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d\"", &v), 0);
    assert_int_equal(v.kind, CQL_V_UUID);
    assert_int_equal(v.u.uuid[0], 0x0b);
    assert_int_equal(v.u.uuid[15], 0x2d);
    assert_int_equal(conv(f, "uuid", "\"0b7e1a2c3d4f4a5b8c6d7e8f9a0b1c2d\"", &v), 0);
    assert_int_equal(conv(f, "uuid", "\"not-a-uuid\"", &v), SPATE_ETYPE);
    assert_non_null(strstr(f->err, "not a uuid"));
    assert_int_equal(conv(f, "uuid", "\"0b7e1a2c-3d4f-4a5b-8c6d-7e8f9a0b1c2g\"", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "uuid", "12", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "timeuuid", "\"0b7e1a2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d\"", &v),
                     SPATE_ETYPE);
    assert_int_equal(conv(f, "timeuuid", "\"0b7e1a2c-3d4f-1a5b-8c6d-7e8f9a0b1c2d\"", &v), 0);
    assert_int_equal(conv(f, "inet", "\"127.0.0.1\"", &v), 0);
    assert_int_equal(v.kind, CQL_V_INET);
    assert_int_equal(v.u.inet.len, 4);
    assert_int_equal(conv(f, "inet", "\"::1\"", &v), 0);
    assert_int_equal(v.u.inet.len, 16);
    assert_int_equal(conv(f, "inet", "\"300.1.1.1\"", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "blob", "\"0xCAFE\"", &v), 0);
    assert_int_equal(v.kind, CQL_V_BLOB);
    assert_int_equal(v.u.s.len, 2);
    assert_memory_equal(v.u.s.ptr, "\xca\xfe", 2);
    assert_int_equal(conv(f, "blob", "\"0xCAF\"", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "blob", "\"0xZZ\"", &v), SPATE_ETYPE);
    assert_int_equal(conv_text(f, "blob", "\x00\xff", 2, &v), 0);
    assert_int_equal(v.u.s.len, 2);
}

static void test_collections_and_null(void **state)
{
    struct fx *f = *state;
    struct cql_value v;
    assert_int_equal(conv(f, "list<int>", "[1, 2, \"3\"]", &v), 0);
    assert_int_equal(v.kind, CQL_V_LIST);
    assert_int_equal(v.u.coll.count, 3);
    assert_int_equal(v.u.coll.items[2].u.i, 3);
    assert_int_equal(conv(f, "set<text>", "[\"a\", \"b\"]", &v), 0);
    assert_int_equal(conv(f, "list<int>", "[1, \"x\"]", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "list<int>", "[1, null]", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "list<int>", "{\"a\": 1}", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "map<text, double>", "{\"a\": 1.5, \"b\": 2}", &v), 0);
    assert_int_equal(v.kind, CQL_V_MAP);
    assert_int_equal(v.u.coll.count, 2);
    assert_int_equal(conv(f, "map<int, text>", "{\"x\": \"a\"}", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "map<text, int>", "[1]", &v), SPATE_ETYPE);
    assert_int_equal(conv(f, "int", "null", &v), 0);
    assert_int_equal(v.kind, CQL_V_NULL);
    struct sink_datum d = {.kind = SINK_D_NULL};
    assert_int_equal(sink__convert(f->t, &d, &f->sc, &v, f->err, sizeof f->err), 0);
    assert_int_equal(v.kind, CQL_V_NULL);
    assert_int_equal(conv(f, "duration", "\"1h30m\"", &v), 0);
    assert_int_equal(conv(f, "duration", "5", &v), SPATE_ETYPE);
}

static void test_scratch_many(void **state)
{
    struct fx *f = *state;
    /* pointers stay valid across chunk growth until reset */
    char *ptrs[2000];
    for (int i = 0; i < 2000; i++) {
        ptrs[i] = sink__scratch_alloc(&f->sc, 37);
        assert_non_null(ptrs[i]);
        memset(ptrs[i], i & 0xff, 37);
    }
    for (int i = 0; i < 2000; i++)
        assert_int_equal((unsigned char)ptrs[i][36], i & 0xff);
    void *big = sink__scratch_alloc(&f->sc, 100000);
    assert_non_null(big);
    sink__scratch_reset(&f->sc);
    assert_non_null(sink__scratch_alloc(&f->sc, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_types_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boolean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_date_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuid_inet_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collections_and_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_many, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
