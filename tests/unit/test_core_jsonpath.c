/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_jsonpath.c -- path compilation, validation, lookup and iteration over raw JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spate/error.h"
#include "spate/jsonpath.h"

#include <stdlib.h>
#include <string.h>

static const char doc[] =
    "{ \"info\": {\"seed\": \"abc\", \"page\": 3},\n"
    "  \"results\": [\n"
    "    {\"login\": {\"uuid\": \"u-1\", \"n\": 7}, \"name\": {\"first\": \"J\\u00e9r\\u00f4me\"}},\n"
    "    {\"login\": {\"uuid\": 42}, \"tags\": [1, [2, 3], {\"a\": null}]},\n"
    "    {\"login\": {}},\n"
    "    {\"lo\\u0067in\": {\"uuid\": \"escaped-key\"}}\n"
    "  ],\n"
    "  \"next\": null, \"ok\": true }";

static struct jsonpath *compile(const char *expr)
{
    struct jsonpath *jp = NULL;
    assert_int_equal(jsonpath_compile(expr, &jp), 0);
    assert_non_null(jp);
    return jp;
}

static void find_text(const char *expr, const char *json, const char *want)
{
    struct jsonpath *jp = compile(expr);
    struct jsonpath_span sp;
    assert_int_equal(jsonpath_find(jp, json, strlen(json), &sp), 0);
    char buf[128];
    assert_int_equal(jsonpath_scalar_text(&sp, buf, sizeof buf, NULL), 0);
    assert_string_equal(buf, want);
    jsonpath_free(jp);
}

static void test_compile(void **state)
{
    (void)state;
    struct jsonpath *jp;
    const char *good[] = {"", "$", "$.a", "a", "a.b.c", "a[0]", "a[0][12].b", "[3]", "$[1].x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(jsonpath_compile(good[i], &jp), 0);
        jsonpath_free(jp);
    }
    const char *bad[] = {"a.", "a..b", "a[", "a[x]", "a[1", "a[1]b", ".", "a.[0]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jp = (struct jsonpath *)1;
        assert_int_equal(jsonpath_compile(bad[i], &jp), SPATE_EINVAL);
        assert_null(jp);
    }
}

static void test_find(void **state)
{
    (void)state;
    find_text("info.seed", doc, "abc");
    find_text("$.info.page", doc, "3");
    find_text("results[0].login.uuid", doc, "u-1");
    find_text("results[0].name.first", doc, "J\xc3\xa9r\xc3\xb4me");
    find_text("results[1].login.uuid", doc, "42");
    find_text("results[1].tags[1][0]", doc, "2");
    find_text("results[3].login.uuid", doc, "escaped-key");
    find_text("ok", doc, "true");

    struct jsonpath *jp = compile("results");
    struct jsonpath_span sp;
    assert_int_equal(jsonpath_find(jp, doc, strlen(doc), &sp), 0);
    assert_int_equal(sp.type, JSONPATH_ARRAY);
    assert_int_equal(sp.p[0], '[');
    assert_int_equal(sp.p[sp.len - 1], ']');
    jsonpath_free(jp);

    const char *missing[] = {"nope", "results[9]", "results[2].login.uuid", "info.seed.x",
                             "info[0]", "results.login"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        jp = compile(missing[i]);
        assert_int_equal(jsonpath_find(jp, doc, strlen(doc), &sp), SPATE_ENOTFOUND);
        jsonpath_free(jp);
    }
    jp = compile("next");
    assert_int_equal(jsonpath_find(jp, doc, strlen(doc), &sp), 0);
    assert_int_equal(sp.type, JSONPATH_NULL);
    char buf[8];
    assert_int_equal(jsonpath_scalar_text(&sp, buf, sizeof buf, NULL), SPATE_ETYPE);
    jsonpath_free(jp);

    /* The root path returns the whole value. */
    jp = compile("");
    assert_int_equal(jsonpath_find(jp, " [1,2] ", 7, &sp), 0);
    assert_int_equal(sp.len, 5);
    jsonpath_free(jp);
}

static void test_iterate(void **state)
{
    (void)state;
    struct jsonpath *jp = compile("results");
    struct jsonpath_span arr, el;
    assert_int_equal(jsonpath_find(jp, doc, strlen(doc), &arr), 0);
    struct jsonpath_iter it;
    assert_int_equal(jsonpath_iter_init(&it, &arr), 0);
    int n = 0, rc;
    while ((rc = jsonpath_iter_next(&it, &el)) == 1) {
        assert_int_equal(el.type, JSONPATH_OBJECT);
        assert_int_equal(el.p[0], '{');
        assert_int_equal(el.p[el.len - 1], '}');
        /* Each element is valid JSON on its own: the bytes forwarded as is. */
        assert_int_equal(jsonpath_validate(el.p, el.len), 0);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 4);
    jsonpath_free(jp);

    struct jsonpath_span empty = {.p = "[ ]", .len = 3, .type = JSONPATH_ARRAY};
    assert_int_equal(jsonpath_iter_init(&it, &empty), 0);
    assert_int_equal(jsonpath_iter_next(&it, &el), 0);
    struct jsonpath_span obj = {.p = "{}", .len = 2, .type = JSONPATH_OBJECT};
    assert_int_equal(jsonpath_iter_init(&it, &obj), SPATE_ETYPE);
}

static void test_validate(void **state)
{
    (void)state;
    const char *good[] = {"{}", "[]", " 1 ", "-0.5e+3", "\"a\\n\\u00e9\"", "true", "null",
                          "{\"a\":[1,{\"b\":false}],\"c\":\"\"}", "[[[[]]]]"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(jsonpath_validate(good[i], strlen(good[i])), 0);
    const char *bad[] = {"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "[,1]", "01", "1.", "-",
                         "\"abc", "\"\\x\"", "\"\\u12g4\"", "tru", "nul", "{} {}", "[1 2]",
                         "{\"a\":1,}", "{'a':1}", "\"tab\there\"", "+1", ".5", "1e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(jsonpath_validate(bad[i], strlen(bad[i])), SPATE_EPARSE);
    /* Truncated documents at every length are rejected. */
    for (size_t len = 0; len < strlen(doc) - 1; len++)
        assert_int_equal(jsonpath_validate(doc, len), SPATE_EPARSE);
    assert_int_equal(jsonpath_validate(doc, strlen(doc)), 0);
    /* Nesting beyond the limit is an error, not a stack overflow. */
    size_t deep = JSONPATH_MAX_DEPTH * 4;
    char *d = malloc(deep * 2);
    memset(d, '[', deep);
    memset(d + deep, ']', deep);
    assert_int_equal(jsonpath_validate(d, deep * 2), SPATE_EPARSE);
    free(d);
}

static void test_scalar_text(void **state)
{
    (void)state;
    struct jsonpath_span s = {.p = "\"\\ud83d\\ude00 \\\"q\\\" \\/\"", .type = JSONPATH_STRING};
    s.len = strlen(s.p);
    char buf[64];
    size_t need = 0;
    assert_int_equal(jsonpath_scalar_text(&s, buf, sizeof buf, &need), 0);
    assert_string_equal(buf, "\xf0\x9f\x98\x80 \"q\" /");
    assert_int_equal(need, strlen(buf));
    char small[4];
    assert_int_equal(jsonpath_scalar_text(&s, small, sizeof small, &need), SPATE_ETOOBIG);
    assert_int_equal(strlen(small), 3);
    struct jsonpath_span num = {.p = "-12.5e3", .len = 7, .type = JSONPATH_NUMBER};
    assert_int_equal(jsonpath_scalar_text(&num, buf, sizeof buf, NULL), 0);
    assert_string_equal(buf, "-12.5e3");
}

/* Lookups on malformed input fail cleanly wherever they stop. */
static void test_find_malformed(void **state)
{
    (void)state;
    struct jsonpath *jp = compile("results[3].login.uuid");
    struct jsonpath_span sp;
    for (size_t len = 0; len < strlen(doc); len++) {
        int rc = jsonpath_find(jp, doc, len, &sp);
        assert_true(rc == SPATE_EPARSE || rc == SPATE_ENOTFOUND || rc == 0);
        if (rc == 0)
            assert_true(sp.p + sp.len <= doc + len);
    }
    jsonpath_free(jp);
}

struct collected {
    struct jsonpath_span el[8];
    struct jsonpath_span sub[8];
    int has_sub[8];
    int n;
};

static void collect(void *arg, const struct jsonpath_span *el, const struct jsonpath_span *sub)
{
    struct collected *c = arg;
    if (c->n < 8) {
        c->el[c->n] = *el;
        c->has_sub[c->n] = sub != NULL;
        if (sub)
            c->sub[c->n] = *sub;
    }
    c->n++;
}

static void test_validate_find(void **state)
{
    (void)state;
    struct jsonpath *jp = compile("results");
    struct jsonpath_span sp;
    struct collected c = {0};
    assert_int_equal(jsonpath_validate_find(jp, NULL, doc, strlen(doc), &sp, collect, &c), 0);
    assert_int_equal(sp.type, JSONPATH_ARRAY);
    assert_int_equal(c.n, 4);
    /* The same spans as jsonpath_find + iteration. */
    struct jsonpath_iter it;
    struct jsonpath_span el;
    jsonpath_iter_init(&it, &sp);
    for (int i = 0; jsonpath_iter_next(&it, &el) == 1; i++) {
        assert_ptr_equal(el.p, c.el[i].p);
        assert_int_equal(el.len, c.el[i].len);
    }
    /* Invalid anywhere, even after the array: EPARSE. */
    for (size_t len = 0; len < strlen(doc); len++) {
        c.n = 0;
        assert_int_equal(jsonpath_validate_find(jp, NULL, doc, len, &sp, collect, &c), SPATE_EPARSE);
    }
    jsonpath_free(jp);
    /* With a sub path: each element's key is found in the same pass. */
    jp = compile("results");
    struct jsonpath *key = compile("login.uuid");
    c.n = 0;
    assert_int_equal(jsonpath_validate_find(jp, key, doc, strlen(doc), &sp, collect, &c), 0);
    assert_int_equal(c.n, 4);
    char buf[64];
    assert_true(c.has_sub[0]);
    assert_int_equal(jsonpath_scalar_text(&c.sub[0], buf, sizeof buf, NULL), 0);
    assert_string_equal(buf, "u-1");
    assert_true(c.has_sub[1]);
    assert_int_equal(c.sub[1].type, JSONPATH_NUMBER);
    assert_false(c.has_sub[2]);
    assert_true(c.has_sub[3]); /* "lo\u0067in" is "login" */
    assert_int_equal(jsonpath_scalar_text(&c.sub[3], buf, sizeof buf, NULL), 0);
    assert_string_equal(buf, "escaped-key");
    jsonpath_free(key);
    jsonpath_free(jp);
    /* Valid but absent: ENOTFOUND; nested and indexed paths work. */
    jp = compile("results[1].tags[1]");
    c.n = 0;
    assert_int_equal(jsonpath_validate_find(jp, NULL, doc, strlen(doc), &sp, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.el[0].len, 1);
    jsonpath_free(jp);
    jp = compile("results[3].login.uuid");
    assert_int_equal(jsonpath_validate_find(jp, NULL, doc, strlen(doc), &sp, NULL, NULL), 0);
    assert_int_equal(sp.type, JSONPATH_STRING);
    jsonpath_free(jp);
    jp = compile("nothing.here");
    assert_int_equal(jsonpath_validate_find(jp, NULL, doc, strlen(doc), &sp, NULL, NULL),
                     SPATE_ENOTFOUND);
    jsonpath_free(jp);
    /* Strings longer than the 8-byte fast path, with specials at every offset. */
    for (int off = 0; off < 20; off++) {
        char s[64];
        memset(s, 'a', sizeof s);
        s[0] = '"';
        s[off + 1] = '\\';
        s[off + 2] = 'n';
        s[40] = '"';
        assert_int_equal(jsonpath_validate(s, 41), 0);
        s[off + 1] = '\n'; /* raw control character: invalid */
        assert_int_equal(jsonpath_validate(s, 41), SPATE_EPARSE);
        s[off + 1] = '"'; /* string ends early: trailing garbage */
        assert_int_equal(jsonpath_validate(s, 41), SPATE_EPARSE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile),      cmocka_unit_test(test_find),
        cmocka_unit_test(test_iterate),      cmocka_unit_test(test_validate),
        cmocka_unit_test(test_scalar_text),  cmocka_unit_test(test_find_malformed),
        cmocka_unit_test(test_validate_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
