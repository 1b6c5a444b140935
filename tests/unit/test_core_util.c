/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_util.c -- running a program from the config without a shell (spate check ran
 * spark.python through popen, so a quote in it ran whatever followed). */
#include "spate/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_run_capture_no_shell(void **state)
{
    (void)state;
    char marker[] = "/tmp/spate-unit-pwned-XXXXXX";
    int fd = mkstemp(marker);
    assert_true(fd >= 0);
    close(fd);
    unlink(marker);
    char hostile[256];
    snprintf(hostile, sizeof hostile, "/nonexistent'; touch %s; echo '", marker);
    const char *const a1[] = {hostile, "-c", "import pyspark", NULL};
    char out[64];
    assert_int_equal(spate_run_capture(a1, out, sizeof out), -1);
    assert_int_not_equal(access(marker, F_OK), 0);
    /* arguments arrive as they are, quotes and $() included */
    char arg[256];
    snprintf(arg, sizeof arg, "it's $(touch %s) `id`", marker);
    const char *const a2[] = {"echo", arg, NULL};
    assert_int_equal(spate_run_capture(a2, out, sizeof out), 0);
    char want[300];
    snprintf(want, sizeof want, "%s\n", arg);
    assert_string_equal(out, want);
    assert_int_not_equal(access(marker, F_OK), 0);
}

static void test_run_capture_status_and_bound(void **state)
{
    (void)state;
    const char *const f[] = {"sh", "-c", "exit 3", NULL};
    char out[8];
    assert_int_equal(spate_run_capture(f, out, sizeof out), 3);
    assert_string_equal(out, "");
    /* more output than room: cut, NUL-terminated, and the child is not left blocked */
    const char *const big[] = {"seq", "1", "100000", NULL};
    assert_int_equal(spate_run_capture(big, out, sizeof out), 0);
    assert_string_equal(out, "1\n2\n3\n4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_capture_no_shell),
        cmocka_unit_test(test_run_capture_status_and_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
