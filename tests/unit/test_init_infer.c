/* SPDX-License-Identifier: Apache-2.0 */
/* test_init_infer.c -- `spate init`'s inference on fixture pages of three API shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spate/error.h"
#include "spate/init.h"

#include <stdio.h>
#include <string.h>

static json_t *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/init/%s", SPATE_TEST_DATA, name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    assert_non_null(j);
    return j;
}

static const struct init_field *field(const struct init_schema *s, const char *path)
{
    long i = init_field_find(s, path);
    assert_true(i >= 0);
    return &s->fields[i];
}

static void randomuser_shape(void **state)
{
    (void)state;
    json_t *p = fixture("users.json");
    struct init_schema s;
    char err[256];
    assert_int_equal(init_infer(&p, 1, NULL, NULL, &s, err, sizeof err), 0);
    assert_string_equal(s.records_path, "results");
    assert_true(s.records_path_guessed);
    assert_int_equal(s.record_count, 6);
    /* the only unique, never-null field that says it is an id */
    assert_string_equal(s.key_path, "login.uuid");
    assert_true(s.key_path_guessed);
    assert_int_equal(field(&s, "login.uuid")->kind, INIT_UUID);
    assert_string_equal(field(&s, "login.uuid")->column, "login_uuid");
    /* numbers that arrive as text */
    assert_int_equal(field(&s, "dob.age")->kind, INIT_BIGINT);
    assert_true(field(&s, "dob.age")->as_string);
    assert_int_equal(field(&s, "location.coordinates.latitude")->kind, INIT_DOUBLE);
    assert_int_equal(field(&s, "location.street.number")->kind, INIT_BIGINT);
    assert_int_equal(field(&s, "dob.date")->kind, INIT_TIMESTAMP);
    /* "01234" and "EC1A 1BB" are codes, not numbers */
    assert_int_equal(field(&s, "location.postcode")->kind, INIT_TEXT);
    assert_int_equal(field(&s, "email")->kind, INIT_TEXT);
    init_schema_free(&s);
    json_decref(p);
}

static void events_shape(void **state)
{
    (void)state;
    json_t *p = fixture("events.json");
    struct init_schema s;
    char err[256];
    assert_int_equal(init_infer(&p, 1, NULL, NULL, &s, err, sizeof err), 0);
    assert_string_equal(s.records_path, "data");
    assert_string_equal(s.key_path, "id");
    assert_int_equal(field(&s, "occurred_at")->kind, INIT_TIMESTAMP);
    assert_int_equal(field(&s, "actor.id")->kind, INIT_BIGINT);
    assert_int_equal(field(&s, "items")->kind, INIT_JSON);
    assert_int_equal(field(&s, "tags")->kind, INIT_JSON);
    assert_int_equal(field(&s, "amount")->kind, INIT_DOUBLE);
    /* optional: present in records 0 and 4 of 6 */
    assert_int_equal(field(&s, "note")->nulls, 4);
    assert_int_equal(field(&s, "note")->kind, INIT_TEXT);
    /* `type` is a word the generated SQL may not own: still a plain column */
    assert_string_equal(field(&s, "type")->column, "type");
    init_schema_free(&s);
    json_decref(p);
}

static void series_shape(void **state)
{
    (void)state;
    json_t *p = fixture("series.json");
    struct init_schema s;
    char err[256];
    assert_int_equal(init_infer(&p, 1, NULL, NULL, &s, err, sizeof err), 0);
    assert_string_equal(s.records_path, ""); /* the response is the array */
    /* no id: the timestamp is the unique, never-null field; count is unique too
     * but a time ranks first */
    assert_string_equal(s.key_path, "time");
    assert_int_equal(field(&s, "temp")->kind, INIT_DOUBLE);
    assert_int_equal(field(&s, "ok")->kind, INIT_BOOLEAN);
    assert_int_equal(field(&s, "count")->kind, INIT_BIGINT);
    assert_non_null(s.time_field);
    /* the source's records_path says "the response", not "the default" */
    struct init_source_opts o = {.name = "weather", .url = "u", .page_style = "link"};
    struct spate_buf b = {0};
    assert_int_equal(init_render_config(&s, &o, &b), 0);
    spate_buf_append(&b, "", 1);
    /* "$$": a literal $ through the config's ${VAR} interpolation */
    assert_non_null(strstr(b.data, "records_path: \"$$\""));
    spate_buf_free(&b);
    init_schema_free(&s);
    json_decref(p);
}

static void same_sample_same_files(void **state)
{
    (void)state;
    json_t *p = fixture("events.json");
    struct init_source_opts o = {.name = "events", .url = "http://x/events", .by = "type",
                                 .page_style = "cursor", .cursor_path = "meta.next_cursor",
                                 .cursor_param = "cursor"};
    struct spate_buf a = {0}, b = {0};
    for (int round = 0; round < 2; round++) {
        struct init_schema s;
        char err[256];
        assert_int_equal(init_infer(&p, 1, NULL, NULL, &s, err, sizeof err), 0);
        struct spate_buf *out = round ? &b : &a;
        assert_int_equal(init_render_view(&s, &o, out), 0);
        assert_int_equal(init_render_clean(&s, &o, out), 0);
        assert_int_equal(init_render_cql(&s, &o, out), 0);
        assert_int_equal(init_render_config(&s, &o, out), 0);
        init_schema_free(&s);
    }
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    spate_buf_append(&a, "", 1);
    /* the table by key, the query table by type, the typed columns */
    assert_non_null(strstr(a.data, "id                       text PRIMARY KEY"));
    assert_non_null(strstr(a.data, "PRIMARY KEY ((type, day), ingested_at, id)"));
    assert_non_null(strstr(a.data, "occurred_at              timestamp"));
    assert_non_null(strstr(a.data, "THEN 'invalid_amount'"));
    assert_non_null(strstr(a.data, "FROM events_raw"));
    assert_non_null(strstr(a.data, "cursor_path: \"meta.next_cursor\""));
    spate_buf_free(&a);
    spate_buf_free(&b);
    json_decref(p);
}

static void expect_error(const char *json, const char *records, const char *key,
                         const char *want)
{
    json_error_t e;
    json_t *p = json_loads(json, JSON_DECODE_ANY, &e);
    assert_non_null(p);
    struct init_schema s;
    char err[256] = "";
    assert_int_equal(init_infer(&p, 1, records, key, &s, err, sizeof err), SPATE_EINVAL);
    if (!strstr(err, want))
        fail_msg("error '%s' does not say '%s'", err, want);
    json_decref(p);
}

static void bad_samples(void **state)
{
    (void)state;
    expect_error("42", NULL, NULL, "neither an object nor an array");
    expect_error("{\"a\": 1, \"b\": {\"c\": [1, 2]}}", NULL, NULL, "no array of records");
    expect_error("{\"results\": []}", NULL, NULL, "empty page");
    expect_error("[1, 2, 3]", NULL, NULL, "none of them a JSON object");
    expect_error("{\"items\": [{\"k\": \"a\"}, {\"k\": \"a\"}]}", NULL, NULL, "no usable key");
    expect_error("{\"items\": [{\"k\": \"a\"}, {\"k\": null}]}", NULL, "k",
                 "null or absent in 1 of 2");
    expect_error("{\"items\": [{\"k\": \"a\"}, {\"k\": \"a\"}]}", NULL, "k", "repeats");
    expect_error("{\"items\": [{\"k\": \"a\"}]}", "nope", NULL, "records path 'nope'");
}

static void update_finds_new_fields(void **state)
{
    (void)state;
    json_t *p = fixture("events.json");
    struct init_schema old, now;
    char err[256];
    assert_int_equal(init_infer(&p, 1, NULL, NULL, &old, err, sizeof err), 0);
    json_object_set_new(json_array_get(json_object_get(p, "data"), 2), "region",
                        json_string("eu"));
    assert_int_equal(init_infer(&p, 1, NULL, NULL, &now, err, sizeof err), 0);
    struct init_source_opts o = {.name = "events", .url = "u"};
    struct spate_buf b = {0};
    assert_int_equal(init_render_update(&old, &now, &o, &b), 1);
    spate_buf_append(&b, "", 1);
    assert_non_null(strstr(b.data, "ALTER TABLE ${keyspace}.events ADD region text;"));
    spate_buf_free(&b);
    init_schema_free(&old);
    init_schema_free(&now);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(randomuser_shape),       cmocka_unit_test(events_shape),
        cmocka_unit_test(series_shape),           cmocka_unit_test(same_sample_same_files),
        cmocka_unit_test(bad_samples),            cmocka_unit_test(update_finds_new_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
