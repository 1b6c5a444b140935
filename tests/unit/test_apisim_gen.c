/* SPDX-License-Identifier: Apache-2.0 */
/* test_apisim_gen.c -- api-sim users: determinism, JSON shape, UUIDs, postcodes, faults, query parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apisim/apisim_internal.h"
#include "spate/apisim.h"
#include "spate/error.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

struct params {
    const char *kv[32]; /* name, value, name, value, ..., NULL */
};

static const char *get_param(void *arg, const char *name)
{
    struct params *p = arg;
    for (int i = 0; p->kv[i]; i += 2)
        if (strcmp(p->kv[i], name) == 0)
            return p->kv[i + 1];
    return NULL;
}

static const struct apisim_faults no_faults = {.seed = 1, .retry_after_s = 1};

static void parse_ok(struct apisim_query *q, struct params *p, const struct apisim_faults *f)
{
    char err[256] = "";
    int rc = apisim_query_parse(q, get_param, p, f ? f : &no_faults, "genseed", err, sizeof err);
    if (rc != 0)
        fail_msg("unexpected parse error: %s", err);
}

static char *render(const struct apisim_query *q, size_t *len)
{
    struct spate_buf b = {0};
    assert_int_equal(apisim_render(q, &b, NULL), 0);
    if (len)
        *len = b.len;
    return b.data;
}

static json_t *render_json(const struct apisim_query *q)
{
    size_t len;
    char *body = render(q, &len);
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    if (!j)
        fail_msg("invalid JSON at %d: %s", je.position, je.text);
    free(body);
    return j;
}

static json_t *path(json_t *o, const char *dotted)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", dotted);
    for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, "."))
        o = json_is_object(o) ? json_object_get(o, tok) : NULL;
    return o;
}

static int is_uuid_v4(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* ---- tests ---- */

static void same_seed_page_same_bytes(void **state)
{
    (void)state;
    struct apisim_query q;
    struct params p = {{"results", "300", "seed", "abc", "page", "7", NULL}};
    parse_ok(&q, &p, NULL);
    size_t l1, l2;
    char *a = render(&q, &l1), *b = render(&q, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    q.page = 8;
    char *c = render(&q, &l2);
    assert_true(l1 != l2 || memcmp(a, c, l1) != 0);
    free(a);
    free(b);
    free(c);

    /* User i does not depend on how many results were asked for. */
    struct apisim_query q3, q5;
    struct params p3 = {{"results", "3", "seed", "abc", NULL}};
    struct params p5 = {{"results", "5", "seed", "abc", NULL}};
    parse_ok(&q3, &p3, NULL);
    parse_ok(&q5, &p5, NULL);
    json_t *j3 = render_json(&q3), *j5 = render_json(&q5);
    for (size_t i = 0; i < 3; i++)
        assert_true(json_equal(json_array_get(json_object_get(j3, "results"), i),
                               json_array_get(json_object_get(j5, "results"), i)));
    json_decref(j3);
    json_decref(j5);
}

static void shape_and_types(void **state)
{
    (void)state;
    struct apisim_query q;
    struct params p = {{"results", "2000", "seed", "shape", "page", "3", NULL}};
    parse_ok(&q, &p, NULL);
    json_t *j = render_json(&q);
    json_t *res = json_object_get(j, "results");
    assert_int_equal(json_array_size(res), 2000);
    static const char *const strings[] = {
        "gender", "name.title", "name.first", "name.last", "location.street.name",
        "location.city", "location.state", "location.country",
        "location.coordinates.latitude", "location.coordinates.longitude",
        "location.timezone.offset", "location.timezone.description", "email", "login.uuid",
        "login.username", "login.password", "login.salt", "login.md5", "login.sha1",
        "login.sha256", "dob.date", "registered.date", "phone", "cell", "id.name",
        "picture.large", "picture.medium", "picture.thumbnail", "nat"};
    size_t i;
    json_t *u;
    json_array_foreach(res, i, u) {
        for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
            if (!json_is_string(path(u, strings[k])))
                fail_msg("user %zu: %s is not a string", i, strings[k]);
        assert_true(json_is_integer(path(u, "location.street.number")));
        assert_true(json_is_integer(path(u, "dob.age")));
        assert_true(json_is_integer(path(u, "registered.age")));
        json_int_t age = json_integer_value(path(u, "dob.age"));
        assert_in_range(age, 17, 81);
        json_t *idv = path(u, "id.value");
        assert_true(json_is_string(idv) || json_is_null(idv));
        assert_int_equal(strlen(json_string_value(path(u, "login.md5"))), 32);
        assert_int_equal(strlen(json_string_value(path(u, "login.sha1"))), 40);
        assert_int_equal(strlen(json_string_value(path(u, "login.sha256"))), 64);
        assert_int_equal(strlen(json_string_value(path(u, "dob.date"))), 24);
        const char *email = json_string_value(path(u, "email"));
        for (const char *c = email; *c; c++)
            assert_true((unsigned char)*c < 0x80);
        assert_non_null(strstr(email, "@example.com"));
        assert_true(apisim_nat_find(json_string_value(path(u, "nat"))) >= 0);
    }
    json_t *info = json_object_get(j, "info");
    assert_string_equal(json_string_value(json_object_get(info, "seed")), "shape");
    assert_int_equal(json_integer_value(json_object_get(info, "results")), 2000);
    assert_int_equal(json_integer_value(json_object_get(info, "page")), 3);
    assert_string_equal(json_string_value(json_object_get(info, "version")), APISIM_VERSION);
    json_decref(j);
}

static void uuid_valid_and_unique(void **state)
{
    (void)state;
    enum { PAGES = 200, PER = 500 };
    char(*all)[37] = malloc((size_t)PAGES * PER * 37);
    assert_non_null(all);
    size_t n = 0;
    for (int page = 1; page <= PAGES; page++)
        for (int i = 0; i < PER; i++) {
            apisim_user_uuid("uuids", page, i, all[n]);
            if (!is_uuid_v4(all[n]))
                fail_msg("not a v4 uuid: %s", all[n]);
            n++;
        }
    qsort(all, n, 37, (int (*)(const void *, const void *))strcmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(all[i - 1], all[i]) == 0)
            fail_msg("duplicate uuid %s", all[i]);
    free(all);

    /* The body carries exactly the uuid the header function computes. */
    struct apisim_query q;
    struct params p = {{"results", "50", "seed", "uuids", "page", "9", NULL}};
    parse_ok(&q, &p, NULL);
    json_t *j = render_json(&q);
    for (int i = 0; i < 50; i++) {
        char want[37];
        apisim_user_uuid("uuids", 9, i, want);
        assert_string_equal(
            json_string_value(path(json_array_get(json_object_get(j, "results"), (size_t)i),
                                   "login.uuid")),
            want);
    }
    json_decref(j);
}

static void postcode_type_fits_nationality(void **state)
{
    (void)state;
    int numeric = 0, strings = 0;
    for (int ni = 0; ni < apisim_nat_count(); ni++) {
        struct apisim_query q;
        struct params p = {{"results", "40", "seed", "pc", "nat", apisim_nat_code(ni), NULL}};
        parse_ok(&q, &p, NULL);
        json_t *j = render_json(&q);
        size_t i;
        json_t *u;
        json_array_foreach(json_object_get(j, "results"), i, u) {
            assert_string_equal(json_string_value(json_object_get(u, "nat")),
                                apisim_nat_code(ni));
            json_t *pc = path(u, "location.postcode");
            if (apisim_nat_postcode_numeric(ni)) {
                assert_true(json_is_integer(pc));
                assert_true(json_integer_value(pc) > 0);
            } else {
                assert_true(json_is_string(pc));
            }
        }
        numeric += apisim_nat_postcode_numeric(ni);
        strings += !apisim_nat_postcode_numeric(ni);
        json_decref(j);
    }
    assert_true(numeric > 0 && strings > 0);
    assert_int_equal(apisim_nat_count(), 21);
}

static void unicode_names_for_some_nationalities(void **state)
{
    (void)state;
    static const char *const nats[] = {"IR", "UA", "RS", "DE", "TR", "NO"};
    for (size_t k = 0; k < sizeof nats / sizeof nats[0]; k++) {
        struct apisim_query q;
        struct params p = {{"results", "200", "seed", "uni", "nat", nats[k], NULL}};
        parse_ok(&q, &p, NULL);
        size_t len;
        char *body = render(&q, &len);
        int non_ascii = 0;
        for (size_t i = 0; i < len; i++)
            non_ascii |= (unsigned char)body[i] >= 0x80;
        assert_true(non_ascii);
        free(body);
    }
}

static void tables_are_json_safe(void **state)
{
    (void)state;
    for (int ni = 0; ni < apisim__nat_count; ni++) {
        const struct apisim_nat *n = &apisim__nats[ni];
        const char *const *lists[] = {n->male, n->female, n->last, n->streets};
        int counts[] = {n->n_male, n->n_female, n->n_last, n->n_streets};
        for (int l = 0; l < 4; l++)
            for (int i = 0; i < counts[l]; i++) {
                for (const char *c = lists[l][i]; *c; c++)
                    assert_true(*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20);
                char ascii[64];
                if (l < 3 && apisim__ascii_fold(lists[l][i], ascii, sizeof ascii) == 0)
                    fail_msg("%s: '%s' has no ASCII form", n->code, lists[l][i]);
            }
        for (int i = 0; i < n->n_cities; i++)
            assert_null(strpbrk(n->cities[i].city, "\"\\"));
    }
}

static void ascii_fold(void **state)
{
    (void)state;
    char out[64];
    static const char *const cases[][2] = {
        {"Jürgen", "jurgen"}, {"Søren", "soren"}, {"İbrahim", "ibrahim"},
        {"Ярослав|yaroslav", "yaroslav"}, {"O'Brien", "obrien"}, {"Maëlys", "maelys"},
        {"Straße", "strasse"}, {"van den Berg", "vandenberg"}, {"Çağan", "cagan"},
        {"Tāwhiao", "tawhiao"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apisim__ascii_fold(cases[i][0], out, sizeof out);
        assert_string_equal(out, cases[i][1]);
    }
    assert_int_equal(apisim__ascii_fold("Jürgen", out, 4), 3);
    assert_string_equal(out, "jur");
}

static void inc_exc_and_filters(void **state)
{
    (void)state;
    struct apisim_query qa, qi, qe;
    struct params pa = {{"results", "20", "seed", "f", NULL}};
    struct params pi = {{"results", "20", "seed", "f", "inc", "name,nat,login", NULL}};
    struct params pe = {{"results", "20", "seed", "f", "exc", "login,picture", "noinfo", "", NULL}};
    parse_ok(&qa, &pa, NULL);
    parse_ok(&qi, &pi, NULL);
    parse_ok(&qe, &pe, NULL);
    json_t *ja = render_json(&qa), *ji = render_json(&qi), *je = render_json(&qe);
    assert_null(json_object_get(je, "info"));
    for (size_t i = 0; i < 20; i++) {
        json_t *a = json_array_get(json_object_get(ja, "results"), i);
        json_t *u = json_array_get(json_object_get(ji, "results"), i);
        json_t *e = json_array_get(json_object_get(je, "results"), i);
        assert_int_equal(json_object_size(u), 3);
        assert_true(json_equal(json_object_get(u, "name"), json_object_get(a, "name")));
        assert_true(json_equal(json_object_get(u, "login"), json_object_get(a, "login")));
        assert_int_equal(json_object_size(e), 10);
        assert_null(json_object_get(e, "login"));
        assert_true(json_equal(json_object_get(e, "location"), json_object_get(a, "location")));
        assert_true(json_equal(json_object_get(e, "dob"), json_object_get(a, "dob")));
    }
    json_decref(ja);
    json_decref(ji);
    json_decref(je);

    struct apisim_query qg;
    struct params pg = {{"results", "100", "seed", "g", "gender", "female", "nat", "fr,ch", NULL}};
    parse_ok(&qg, &pg, NULL);
    json_t *jg = render_json(&qg);
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(jg, "results"), i, u) {
        assert_string_equal(json_string_value(json_object_get(u, "gender")), "female");
        const char *nat = json_string_value(json_object_get(u, "nat"));
        assert_true(strcmp(nat, "FR") == 0 || strcmp(nat, "CH") == 0);
        const char *title = json_string_value(path(u, "name.title"));
        assert_true(strcmp(title, "Madame") == 0 || strcmp(title, "Mademoiselle") == 0);
    }
    json_decref(jg);
}

static void record_faults_match_prediction(void **state)
{
    (void)state;
    struct apisim_faults f = no_faults;
    f.seed = 42;
    f.p_missing = 0.2;
    f.p_wrongtype = 0.1;
    struct apisim_query q;
    struct params p = {{"results", "5000", "seed", "rf", "page", "2", NULL}};
    parse_ok(&q, &p, &f);
    uint64_t counts[APISIM_RECFAULT_COUNT] = {0};
    struct spate_buf b = {0};
    assert_int_equal(apisim_render(&q, &b, counts), 0);
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, 0, &je);
    assert_non_null(j);
    spate_buf_free(&b);
    int seen[APISIM_RECFAULT_COUNT] = {0};
    for (int i = 0; i < 5000; i++) {
        json_t *u = json_array_get(json_object_get(j, "results"), (size_t)i);
        const char *field;
        enum apisim_recfault rf = apisim_record_fault(&f, "rf", 2, i, &field);
        seen[rf]++;
        json_t *v = path(u, field);
        char uuid[37];
        apisim_user_uuid("rf", 2, i, uuid);
        switch (rf) {
        case APISIM_RECFAULT_NONE:
            assert_string_equal(json_string_value(path(u, "login.uuid")), uuid);
            assert_true(json_is_integer(path(u, "dob.age")));
            assert_true(json_is_object(json_object_get(u, "name")));
            break;
        case APISIM_RECFAULT_MISSING:
            if (v)
                fail_msg("record %d: %s should be missing", i, field);
            break;
        case APISIM_RECFAULT_WRONGTYPE:
            assert_non_null(v);
            if (strcmp(field, "login.uuid") == 0 || strcmp(field, "registered.date") == 0)
                assert_true(json_is_integer(v));
            else if (strcmp(field, "dob.age") == 0 || strcmp(field, "name") == 0 ||
                     strcmp(field, "location.street.number") == 0)
                assert_true(json_is_string(v));
            else if (strcmp(field, "location.postcode") == 0)
                assert_true(json_is_boolean(v));
            else
                fail_msg("unexpected wrong-type field %s", field);
            break;
        default: fail();
        }
    }
    for (int k = 0; k < APISIM_RECFAULT_COUNT; k++)
        assert_int_equal(counts[k], (uint64_t)seen[k]);
    assert_in_range(seen[APISIM_RECFAULT_MISSING], 850, 1150);
    assert_in_range(seen[APISIM_RECFAULT_WRONGTYPE], 400, 600);
    json_decref(j);
}

/* bad_text: a share of first names end in a lone surrogate escape or a byte that
 * is not UTF-8, half each; the same page serves the same bytes again. */
static void bad_text_as_asked(void **state)
{
    (void)state;
    struct apisim_query q;
    struct params p = {{"results", "1000", "seed", "bt", "page", "2", "bad_text", "0.1", NULL}};
    parse_ok(&q, &p, NULL);
    struct spate_buf a = {0}, b = {0};
    assert_int_equal(apisim_render(&q, &a, NULL), 0);
    assert_int_equal(apisim_render(&q, &b, NULL), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    int escapes = 0, bytes = 0;
    for (const char *s = a.data; (s = strstr(s, "\\ud800\",\"last\"")) != NULL; s++)
        escapes++;
    for (size_t i = 0; i + 8 < a.len; i++)
        bytes += (unsigned char)a.data[i] == 0xff && !memcmp(a.data + i + 1, "\",\"last", 7);
    assert_in_range(escapes, 25, 75);
    assert_in_range(bytes, 25, 75);
    spate_buf_free(&a);
    spate_buf_free(&b);
    /* none unless asked */
    struct params none = {{"results", "1000", "seed", "bt", "page", "2", NULL}};
    parse_ok(&q, &none, NULL);
    assert_int_equal(apisim_render(&q, &a, NULL), 0);
    assert_null(strstr(a.data, "\\ud800"));
    assert_null(memchr(a.data, 0xff, a.len));
    spate_buf_free(&a);
}

/* messy_keys: the served login.uuid is repeated (within the page or from the
 * previous page), upper case or blank-padded, as apisim_served_uuid predicts;
 * what a JSON parser reads normalises back to a generated uuid. */
static void messy_keys_as_predicted(void **state)
{
    (void)state;
    struct apisim_query q;
    struct params p = {{"results", "2000", "seed", "mk", "page", "3", "messy_keys", "0.2", NULL}};
    parse_ok(&q, &p, NULL);
    assert_true(q.faults.p_messy_keys > 0.19 && q.faults.p_messy_keys < 0.21);
    struct spate_buf b = {0};
    assert_int_equal(apisim_render(&q, &b, NULL), 0);
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, 0, &je);
    assert_non_null(j);
    spate_buf_free(&b);
    int seen[5] = {0};
    for (int i = 0; i < 2000; i++) {
        const char *got = json_string_value(path(json_array_get(json_object_get(j, "results"),
                                                                (size_t)i), "login.uuid"));
        assert_non_null(got);
        char served[APISIM_SERVED_UUID_MAX + 1], own[37], other[37];
        enum apisim_messy_key k = apisim_served_uuid(&q.faults, "mk", 3, i, served);
        seen[k]++;
        apisim_user_uuid("mk", 3, i, own);
        char norm[64];
        size_t n = spate_key_normalize(got, strlen(got), norm);
        norm[n] = 0;
        switch (k) {
        case APISIM_KEY_PLAIN: assert_string_equal(got, own); break;
        case APISIM_KEY_REPEAT_PAGE:
            apisim_user_uuid("mk", 3, i - 1, other);
            assert_string_equal(got, other);
            break;
        case APISIM_KEY_REPEAT_PREV:
            apisim_user_uuid("mk", 2, i, other);
            assert_string_equal(got, other);
            break;
        case APISIM_KEY_UPPER:
            assert_string_not_equal(got, own);
            assert_string_equal(norm, own);
            break;
        case APISIM_KEY_PADDED:
            assert_true(got[0] == ' ' && got[strlen(got) - 2] == '\t');
            assert_string_equal(norm, own);
            break;
        }
    }
    for (int k = 1; k < 5; k++)
        assert_in_range(seen[k], 50, 150);
    json_decref(j);
    /* off by default: every key as generated */
    struct apisim_faults none = no_faults;
    char served[APISIM_SERVED_UUID_MAX + 1];
    assert_int_equal(apisim_served_uuid(&none, "mk", 3, 5, served), APISIM_KEY_PLAIN);
}

static void request_fault_shares_and_retries(void **state)
{
    (void)state;
    struct apisim_faults f = no_faults;
    f.p_5xx = 0.1;
    f.p_429 = 0.05;
    f.p_malformed = 0.01;
    f.p_truncated = 0.01;
    f.p_reset = 0.02;
    int counts[APISIM_FAULT_COUNT] = {0};
    for (int page = 1; page <= 100000; page++)
        counts[apisim_request_fault(&f, "s", page, 0)]++;
    assert_in_range(counts[APISIM_FAULT_SERVER], 9400, 10600);
    assert_in_range(counts[APISIM_FAULT_RATELIMIT], 4500, 5500);
    assert_in_range(counts[APISIM_FAULT_MALFORMED], 800, 1200);
    assert_in_range(counts[APISIM_FAULT_TRUNCATED], 800, 1200);
    assert_in_range(counts[APISIM_FAULT_RESET], 1700, 2300);
    /* Same inputs, same decision; retries of a page eventually get through. */
    for (int page = 1; page <= 1000; page++) {
        assert_int_equal(apisim_request_fault(&f, "s", page, 3), apisim_request_fault(&f, "s", page, 3));
        uint32_t a = 0;
        while (apisim_request_fault(&f, "s", page, a) != APISIM_FAULT_NONE)
            assert_true(++a < 20);
    }
    /* Another fault seed, other decisions. */
    struct apisim_faults g = f;
    g.seed = 2;
    int differ = 0;
    for (int page = 1; page <= 1000; page++)
        differ += apisim_request_fault(&f, "s", page, 0) != apisim_request_fault(&g, "s", page, 0);
    assert_true(differ > 50);
    /* Latency: fixed plus bounded jitter. */
    f.latency_ms = 10;
    f.jitter_ms = 5;
    for (int page = 1; page <= 100; page++)
        assert_in_range(apisim_request_latency_ms(&f, "s", page, 0), 10, 15);
}

static void damaged_bodies_are_invalid_json(void **state)
{
    (void)state;
    struct apisim_query q;
    struct params p = {{"results", "5", "seed", "dmg", NULL}};
    parse_ok(&q, &p, NULL);
    int shapes_seen = 0;
    for (uint32_t attempt = 0; attempt < 60; attempt++) {
        for (int k = 0; k < 2; k++) {
            enum apisim_fault kind = k ? APISIM_FAULT_TRUNCATED : APISIM_FAULT_MALFORMED;
            struct spate_buf b = {0};
            assert_int_equal(apisim_render(&q, &b, NULL), 0);
            size_t orig = b.len;
            assert_int_equal(apisim_damage_body(&q.faults, kind, "dmg", 1, attempt, &b), 0);
            json_error_t je;
            json_t *j = json_loadb(b.data, b.len, 0, &je);
            if (j)
                fail_msg("%s body for attempt %u parsed: %.*s", apisim_fault_name(kind), attempt,
                         (int)b.len, b.data);
            if (kind == APISIM_FAULT_TRUNCATED)
                assert_true(b.len < orig && b.len >= 1);
            else
                shapes_seen |= 1 << (int)(apisim__shape_hash(&q.faults, "dmg", 1, attempt) % 3);
            spate_buf_free(&b);
        }
    }
    assert_int_equal(shapes_seen, 7);
}

static void query_errors(void **state)
{
    (void)state;
    static const char *const bad[][3] = {
        {"results", "0", "results"},    {"results", "5001", "results"},
        {"results", "ten", "results"},  {"page", "0", "page"},
        {"page", "-3", "page"},         {"seed", "has space", "seed"},
        {"seed", "0123456789012345678901234567890123456789012345678901234567890123456789", "seed"},
        {"nat", "US,XX", "XX"},         {"inc", "name,bogus", "bogus"},
        {"exc", "foo", "foo"},          {"gender", "x", "gender"},
        {"format", "xml", "format"},    {"fault", "boom", "fault"},
        {"fail_5xx", "1.5", "fail_5xx"}, {"missing", "abc", "missing"},
        {"latency_ms", "-1", "latency_ms"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct apisim_query q;
        struct params p = {{bad[i][0], bad[i][1], NULL}};
        char err[256] = "";
        assert_int_equal(apisim_query_parse(&q, get_param, &p, &no_faults, "g", err, sizeof err),
                         SPATE_EINVAL);
        if (!strstr(err, bad[i][2]))
            fail_msg("error for %s=%s does not name '%s': %s", bad[i][0], bad[i][1], bad[i][2],
                     err);
    }
    struct apisim_query q;
    struct params sum = {{"fail_5xx", "0.7", "fail_429", "50%", NULL}};
    char err[256];
    assert_int_equal(apisim_query_parse(&q, get_param, &sum, &no_faults, "g", err, sizeof err),
                     SPATE_EINVAL);

    struct params none = {{NULL}};
    parse_ok(&q, &none, NULL);
    assert_int_equal(q.results, 1);
    assert_int_equal(q.page, 1);
    assert_string_equal(q.seed, "genseed");
    assert_false(q.seed_given);
    assert_int_equal(q.fields, APISIM_F_ALL);
    assert_int_equal(q.forced_fault, -1);

    struct params over = {{"nat", "us,Fr", "fail_429", "25%", "fault", "truncated",
                           "results", "5000", NULL}};
    parse_ok(&q, &over, NULL);
    assert_int_equal(q.nat_count, 2);
    assert_string_equal(apisim_nat_code(q.nat[1]), "FR");
    assert_true(q.faults.p_429 > 0.249 && q.faults.p_429 < 0.251);
    assert_int_equal(q.forced_fault, APISIM_FAULT_TRUNCATED);
    assert_int_equal(q.results, 5000);
}

static void bounded_dataset_ends(void **state)
{
    (void)state;
    struct apisim_query q;
    struct params p = {{"results", "40", "seed", "t", "total", "100", NULL}};
    parse_ok(&q, &p, NULL);
    assert_int_equal(apisim_page_records(&q), 40);
    q.page = 3;
    assert_int_equal(apisim_page_records(&q), 20);
    json_t *j = render_json(&q);
    assert_int_equal(json_array_size(json_object_get(j, "results")), 20);
    assert_int_equal(json_integer_value(path(j, "info.results")), 20);
    json_decref(j);
    q.page = 4;
    assert_int_equal(apisim_page_records(&q), 0);
    j = render_json(&q);
    assert_int_equal(json_array_size(json_object_get(j, "results")), 0);
    json_decref(j);
    /* Even an empty page can be damaged into invalid JSON. */
    struct spate_buf b = {0};
    assert_int_equal(apisim_render(&q, &b, NULL), 0);
    for (uint32_t a = 0; a < 12; a++) {
        struct spate_buf c = {0};
        spate_buf_append(&c, b.data, b.len);
        apisim_damage_body(&q.faults, APISIM_FAULT_MALFORMED, "t", 4, a, &c);
        json_error_t je;
        assert_null(json_loadb(c.data, c.len, 0, &je));
        spate_buf_free(&c);
    }
    spate_buf_free(&b);
    q.total = 0;
    assert_int_equal(apisim_page_records(&q), 40);
}

static void seed_is_escaped_in_info(void **state)
{
    (void)state;
    struct apisim_query q;
    struct params p = {{"seed", "a\"b\\c", NULL}};
    parse_ok(&q, &p, NULL);
    json_t *j = render_json(&q);
    assert_string_equal(json_string_value(path(j, "info.seed")), "a\"b\\c");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_page_same_bytes),
        cmocka_unit_test(shape_and_types),
        cmocka_unit_test(uuid_valid_and_unique),
        cmocka_unit_test(postcode_type_fits_nationality),
        cmocka_unit_test(unicode_names_for_some_nationalities),
        cmocka_unit_test(tables_are_json_safe),
        cmocka_unit_test(ascii_fold),
        cmocka_unit_test(inc_exc_and_filters),
        cmocka_unit_test(record_faults_match_prediction),
        cmocka_unit_test(request_fault_shares_and_retries),
        cmocka_unit_test(damaged_bodies_are_invalid_json),
        cmocka_unit_test(query_errors),
        cmocka_unit_test(seed_is_escaped_in_info),
        cmocka_unit_test(bounded_dataset_ends),
        cmocka_unit_test(messy_keys_as_predicted),
        cmocka_unit_test(bad_text_as_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
