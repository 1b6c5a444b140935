/* SPDX-License-Identifier: Apache-2.0 */
/* it_cql_bench.c -- async single-row inserts into a 10-column table (bench/cql/run.sh drives it). */
#include "spate/cql.h"
#include "spate/error.h"
#include "spate/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct state {
    long done;
    long errors;
    long in_flight;
};

static void on_done(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    (void)res;
    struct state *st = arg;
    st->done++;
    st->in_flight--;
    if (status && st->errors++ < 3)
        fprintf(stderr, "insert failed: %s\n", err ? err->message : "?");
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    const char *host = getenv("SPATE_CASSANDRA_HOST") ? getenv("SPATE_CASSANDRA_HOST") : "127.0.0.1";
    int port = getenv("SPATE_CASSANDRA_PORT") ? atoi(getenv("SPATE_CASSANDRA_PORT")) : 9042;
    long rows = argc > 1 ? atol(argv[1]) : 500000;
    long concurrency = argc > 2 ? atol(argv[2]) : 100;
    const char *table = argc > 3 ? argv[3] : "spate_bench.rows10";
    int compression = getenv("CQL_BENCH_LZ4") ? atoi(getenv("CQL_BENCH_LZ4")) : 0;

    struct cql_session_config c;
    cql_session_config_init(&c);
    const char *cp[] = {host};
    c.contact_points = cp;
    c.contact_point_count = 1;
    c.port = port;
    c.consistency = CQL_CL_ONE;
    c.compression = compression;
    c.max_in_flight = 2048;
    struct cql_session *s;
    char err[256];
    if (cql_session_new(&c, &s, err, sizeof err)) {
        fprintf(stderr, "connect: %s\n", err);
        return 1;
    }
    char q[512];
    snprintf(q, sizeof q,
             "INSERT INTO %s (id, c1, c2, c3, c4, c5, c6, c7, c8, c9) VALUES (?, ?, ?, ?, ?, ?, ?, "
             "?, ?, ?)",
             table);
    const struct cql_prepared *p;
    if (cql_prepare(s, q, &p)) {
        fprintf(stderr, "prepare: %s\n", cql_session_errstr(s));
        return 1;
    }
    struct state st = {0};
    double cpu0 = cpu_seconds();
    int64_t t0 = spate_mono_us();
    char text[64];
    for (long i = 0; i < rows; i++) {
        while (st.in_flight >= concurrency)
            cql_session_poll(s, 100);
        snprintf(text, sizeof text, "user-%ld@example.com", i);
        struct cql_value v[10] = {cql_int(i),          cql_text(text),         cql_int(i * 3),
                                  cql_double(i * 0.5), cql_text("FR"),         cql_bool(i & 1),
                                  cql_int(i * 1000),   cql_text("some value"), cql_int(i % 97),
                                  cql_text("2024-05-01T12:00:00Z")};
        int rc = cql_execute_async(s, p, v, 10, NULL, on_done, &st);
        if (rc == SPATE_EAGAIN) {
            i--;
            cql_session_poll(s, 100);
            continue;
        }
        if (rc) {
            fprintf(stderr, "submit: %s\n", cql_session_errstr(s));
            return 1;
        }
        st.in_flight++;
    }
    cql_session_drain(s, 60000);
    int64_t us = spate_mono_us() - t0;
    double cpu = cpu_seconds() - cpu0;
    printf("rows=%ld errors=%ld seconds=%.3f rows_per_s=%.0f cpu_s=%.3f cpu_s_per_100k=%.3f\n",
           st.done, st.errors, us / 1e6, st.done / (us / 1e6), cpu,
           st.done ? cpu * 100000.0 / (double)st.done : 0.0);
    cql_session_free(s);
    return st.errors ? 1 : 0;
}
