/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_proc.c -- argv building, spawning (attached, detached), waiting, /proc reads, log tails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spate/error.h"
#include "spate/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/spate-test-proc.XXXXXX";

static int setup(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_argv(void **state)
{
    struct spate_argv a = {0};
    spate_argv_add(&a, "java");
    for (int i = 0; i < 200; i++) /* past any fixed size */
        spate_argv_addf(&a, "-Dk%d=%s", i, "v");
    assert_false(a.oom);
    assert_int_equal(a.argc, 201);
    assert_string_equal(a.argv[0], "java");
    assert_string_equal(a.argv[200], "-Dk199=v");
    assert_null(a.argv[201]);
    spate_argv_free(&a);
    assert_null(a.argv);
    assert_int_equal(a.argc, 0);
}

static void test_spawn_log_and_status(void **state)
{
    char log[256];
    snprintf(log, sizeof log, "%s/a.log", dir);
    char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    struct spate_proc_options o = {.argv = argv, .log_path = log,
                                   .flags = SPATE_PROC_PATH | SPATE_PROC_GROUP};
    pid_t pid;
    assert_int_equal(spate_proc_spawn(&o, &pid), 0);
    int st;
    assert_int_equal(spate_proc_wait(pid, &st, 0), 1);
    assert_int_equal(spate_proc_exit_code(st), 3);
    assert_string_equal(slurp(log), "out\nerr\n");

    char *const sig[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    o = (struct spate_proc_options){.argv = sig};
    assert_int_equal(spate_proc_spawn(&o, &pid), 0);
    assert_int_equal(spate_proc_wait(pid, &st, 0), 1);
    assert_int_equal(spate_proc_exit_code(st), 128 + SIGTERM);

    /* an attached exec failure is exit 127 with the reason in the log */
    char *const none[] = {"/nonexistent/spate-no-such-program", NULL};
    o = (struct spate_proc_options){.argv = none, .log_path = log};
    assert_int_equal(spate_proc_spawn(&o, &pid), 0);
    assert_int_equal(spate_proc_wait(pid, &st, 0), 1);
    assert_int_equal(spate_proc_exit_code(st), 127);
    assert_non_null(strstr(slurp(log), "exec /nonexistent/spate-no-such-program"));

    o.log_path = "/nonexistent/dir/x.log";
    assert_int_equal(spate_proc_spawn(&o, &pid), SPATE_ESYS);
}

static void test_spawn_detached(void **state)
{
    char log[256], pidfile[256], script[600];
    snprintf(log, sizeof log, "%s/d.log", dir);
    snprintf(pidfile, sizeof pidfile, "%s/d.pid", dir);
    snprintf(script, sizeof script, "echo $$ > '%s'; pwd", pidfile);
    char *const argv[] = {"sh", "-c", script, NULL};
    struct spate_proc_options o = {.argv = argv, .log_path = log, .cwd = "/",
                                   .flags = SPATE_PROC_PATH | SPATE_PROC_DETACH |
                                            SPATE_PROC_NULL_STDIN};
    pid_t pid = 0;
    assert_int_equal(spate_proc_spawn(&o, &pid), 0);
    assert_true(pid > 0);
    /* not our child: it was reparented, we cannot wait for it */
    int st;
    assert_int_equal(spate_proc_wait(pid, &st, WNOHANG), SPATE_ESYS);
    for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
        usleep(10000);
    char *got = slurp(pidfile);
    assert_non_null(got);
    assert_int_equal(atoi(got), pid); /* the pid given is the program's own */
    assert_string_equal(slurp(log), "/\n");

    char *const none[] = {"spate-no-such-program-anywhere", NULL};
    o = (struct spate_proc_options){.argv = none, .flags = SPATE_PROC_PATH | SPATE_PROC_DETACH};
    errno = 0;
    assert_int_equal(spate_proc_spawn(&o, &pid), SPATE_ESYS);
    assert_int_equal(errno, ENOENT);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "spate_proc_wait did not return: it spins on ECHILD\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(3);
    _exit(2);
}

/* With SIGCHLD ignored the kernel reaps children itself and waitpid fails with
 * ECHILD: the wait must return, not retry for ever (spate run's child wait
 * did: `while (waitpid(pid, &st, 0) < 0) {}`). */
static void test_wait_echild_returns(void **state)
{
    signal(SIGALRM, on_alarm);
    alarm(10);
    void (*old)(int) = signal(SIGCHLD, SIG_IGN);
    char *const argv[] = {"/bin/true", NULL};
    struct spate_proc_options o = {.argv = argv};
    pid_t pid;
    assert_int_equal(spate_proc_spawn(&o, &pid), 0);
    int st;
    errno = 0;
    assert_int_equal(spate_proc_wait(pid, &st, 0), SPATE_ESYS);
    assert_int_equal(errno, ECHILD);
    signal(SIGCHLD, old);
    alarm(0);
}

static void test_proc_reads(void **state)
{
    char exe[4096];
    assert_int_equal(spate_self_exe(exe, sizeof exe), 0);
    assert_non_null(strstr(exe, "test_core_proc"));
    assert_int_equal(exe[0], '/');
    int64_t own = spate_proc_rss_kb(getpid());
    assert_true(own > 0);
    static struct spate_proc_table t;
    spate_proc_scan(&t);
    assert_true(t.n > 0);
    assert_true(spate_proc_tree_rss_kb(&t, getpid()) > 0);
    assert_int_equal(spate_proc_tree_rss_kb(&t, 999999999), 0);
}

static void test_print_tail(void **state)
{
    char path[256], out[256];
    snprintf(path, sizeof path, "%s/t.log", dir);
    snprintf(out, sizeof out, "%s/t.out", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("one\ntwo\nthree\nfour", f); /* the last line has no newline */
    fclose(f);
    FILE *o = fopen(out, "w");
    spate_print_tail(o, path, 2);
    spate_print_tail(o, "/nonexistent.log", 2);
    fclose(o);
    char want[512];
    snprintf(want, sizeof want,
             "    --- last lines of %s ---\n    three\n    four\n    (no log at /nonexistent.log)\n",
             path);
    assert_string_equal(slurp(out), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv),
        cmocka_unit_test(test_spawn_log_and_status),
        cmocka_unit_test(test_spawn_detached),
        cmocka_unit_test(test_wait_echild_returns),
        cmocka_unit_test(test_proc_reads),
        cmocka_unit_test(test_print_tail),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
