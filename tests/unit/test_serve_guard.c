/* SPDX-License-Identifier: Apache-2.0 */
/* test_serve_guard.c -- the Host allow-list (DNS rebinding) and the bearer token of `spate serve`. */
#include "serve/serve_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A page on rebind.attacker.example whose name now resolves to 127.0.0.1 sends
 * its own name as Host: it used to get 200 and the users' data. */
static void test_host(void **state)
{
    (void)state;
    struct spate_strlist none = {0};
    char *names[] = {"spate.internal.example", "dash.example."};
    struct spate_strlist allowed = {names, 2};
    assert_false(serve__host_allowed("rebind.attacker.example", "127.0.0.1", &none));
    assert_false(serve__host_allowed("rebind.attacker.example:8080", "127.0.0.1", &allowed));
    assert_false(serve__host_allowed("localhost.attacker.example", "127.0.0.1", &none));
    assert_false(serve__host_allowed("127.0.0.1.nip.io:8080", "127.0.0.1", &none));
    assert_true(serve__host_allowed("127.0.0.1:8080", "127.0.0.1", &none));
    assert_true(serve__host_allowed("127.0.0.1", "127.0.0.1", &none));
    assert_true(serve__host_allowed("localhost:8080", "127.0.0.1", &none));
    assert_true(serve__host_allowed("LOCALHOST.", "127.0.0.1", &none));
    assert_true(serve__host_allowed("[::1]:8080", "127.0.0.1", &none));
    assert_true(serve__host_allowed("10.1.2.3:8080", "0.0.0.0", &none));
    /* the listen address when it is a name, and configured names */
    assert_true(serve__host_allowed("Box.lan:8080", "box.lan", &none));
    assert_true(serve__host_allowed("spate.internal.example:8080", "0.0.0.0", &allowed));
    assert_true(serve__host_allowed("dash.example", "0.0.0.0", &allowed));
    assert_false(serve__host_allowed("internal.example", "0.0.0.0", &allowed));
    /* malformed */
    assert_false(serve__host_allowed("", "127.0.0.1", &none));
    assert_false(serve__host_allowed("[::1", "127.0.0.1", &none));
    assert_false(serve__host_allowed("a:b:c", "127.0.0.1", &none));
    /* no Host at all (HTTP/1.0 tools): no browser page */
    assert_true(serve__host_allowed(NULL, "127.0.0.1", &none));
}

static void test_bearer(void **state)
{
    (void)state;
    assert_true(serve__bearer_ok(NULL, NULL));
    assert_true(serve__bearer_ok(NULL, ""));
    assert_true(serve__bearer_ok("Bearer x", NULL));
    assert_false(serve__bearer_ok(NULL, "t0ken-abc"));
    assert_false(serve__bearer_ok("", "t0ken-abc"));
    assert_false(serve__bearer_ok("Basic dDBrZW4tYWJj", "t0ken-abc"));
    assert_false(serve__bearer_ok("Bearer t0ken-ab", "t0ken-abc"));
    assert_false(serve__bearer_ok("Bearer t0ken-abcd", "t0ken-abc"));
    assert_false(serve__bearer_ok("Bearer ", "t0ken-abc"));
    assert_true(serve__bearer_ok("Bearer t0ken-abc", "t0ken-abc"));
    assert_true(serve__bearer_ok("bearer  t0ken-abc ", "t0ken-abc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_bearer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
