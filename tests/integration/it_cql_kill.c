/* SPDX-License-Identifier: Apache-2.0 */
/* it_cql_kill.c -- requests in flight while the server is killed: errors arrive within the configured time. */
#include "spate/cql.h"
#include "spate/error.h"
#include "spate/util.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The driving script sends SIGUSR1 right after it killed the server. */
static volatile sig_atomic_t killed;
static void on_usr1(int sig)
{
    (void)sig;
    killed = 1;
}

struct st {
    long ok, failed, in_flight;
    int first_status;
    int64_t first_fail_ms;
    char first_msg[300];
};

static void done(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    (void)res;
    struct st *s = arg;
    s->in_flight--;
    if (status == 0) {
        s->ok++;
        return;
    }
    if (!s->failed++) {
        s->first_status = status;
        s->first_fail_ms = spate_mono_ms();
        snprintf(s->first_msg, sizeof s->first_msg, "%s", err ? err->message : "?");
    }
}

int main(void)
{
    const char *host = getenv("SPATE_CASSANDRA_HOST") ? getenv("SPATE_CASSANDRA_HOST") : "127.0.0.1";
    int port = getenv("SPATE_CASSANDRA_PORT") ? atoi(getenv("SPATE_CASSANDRA_PORT")) : 9042;
    int timeout_ms = 3000;
    signal(SIGUSR1, on_usr1);
    struct cql_session_config c;
    cql_session_config_init(&c);
    const char *cp[] = {host};
    c.contact_points = cp;
    c.contact_point_count = 1;
    c.port = port;
    c.username = getenv("SPATE_CASSANDRA_USER");
    c.password = getenv("SPATE_CASSANDRA_PASSWORD");
    c.request_timeout_ms = timeout_ms;
    c.connect_timeout_ms = 5000; /* PasswordAuthenticator hashes slowly on a busy machine */
    c.consistency = CQL_CL_ONE;
    struct cql_session *s;
    char err[256];
    int passed = 0, failed = 0;
    if (cql_session_new(&c, &s, err, sizeof err)) {
        printf("connect: %s\n0 passed, 1 failed\n", err);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    struct st st = {0};
    int64_t killed_at = 0, start = spate_mono_ms();
    while (spate_mono_ms() - start < 120000) {
        if (killed && !killed_at)
            killed_at = spate_mono_ms();
        if (killed_at && st.failed && st.in_flight == 0)
            break;
        if (!killed_at && st.in_flight < 50) {
            struct cql_query_opts o = {0};
            if (cql_query_async(s, "SELECT release_version FROM system.local", NULL, 0, &o, done,
                                &st) == 0)
                st.in_flight++;
            continue;
        }
        cql_session_poll(s, 20);
        if (killed_at && spate_mono_ms() - killed_at > 2 * timeout_ms + 2000)
            break;
    }
    int64_t now = spate_mono_ms();
    printf("ok before kill: %ld, failed: %ld, first error %s: %s\n", st.ok, st.failed,
           spate_err_name(st.first_status), st.first_msg);
    int64_t lag = st.first_fail_ms - killed_at;
    printf("first error %" PRId64 " ms after the kill; all resolved after %" PRId64 " ms\n", lag,
           now - killed_at);
#define CHECK(cond, what)                                                                        \
    do {                                                                                         \
        if (cond)                                                                                \
            passed++;                                                                            \
        else {                                                                                   \
            failed++;                                                                            \
            printf("FAIL %s\n", what);                                                           \
        }                                                                                        \
    } while (0)
    CHECK(killed_at > 0, "the script signalled the kill");
    CHECK(st.ok > 0, "requests succeeded before the kill");
    CHECK(st.failed > 0 && (st.first_status == SPATE_ECLOSED || st.first_status == SPATE_ETIMEDOUT),
          "in-flight requests fail with a connection error or timeout");
    CHECK(lag <= timeout_ms + 1000, "first error within the request timeout");
    CHECK(st.in_flight == 0, "every in-flight request completed");
    int64_t t0 = spate_mono_ms();
    int rc = cql_query(s, "SELECT release_version FROM system.local", NULL, 0, NULL, NULL);
    int64_t took = spate_mono_ms() - t0;
    printf("query after the kill: %s (%s) in %" PRId64 " ms\n", spate_err_name(rc),
           cql_session_errstr(s), took);
    CHECK(rc != 0 && took <= timeout_ms + c.connect_timeout_ms + 1000,
          "a new request fails fast while the server is down");
    cql_session_free(s);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
