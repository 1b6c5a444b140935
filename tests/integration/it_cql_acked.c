/* SPDX-License-Identifier: Apache-2.0 */
/* it_cql_acked.c -- does the stack's Cassandra keep every write it acknowledged
 * when it is killed with -9?
 *
 *   it_cql_acked write HOST PORT KEYSPACE FILE  writes rows until the node goes
 *       away; every id Cassandra acknowledged is in FILE when it exits 0
 *   it_cql_acked check HOST PORT KEYSPACE FILE  exit 1, naming them, when an
 *       acknowledged id is not stored
 *
 * The sink commits a Kafka offset only after Cassandra acknowledged the row,
 * so a row the node forgets after acknowledging it is lost for good: with
 * commitlog_sync periodic a kill -9 forgot the last ~100 ms of rows. */
#include "spate/cql.h"
#include "spate/error.h"
#include "spate/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_FLIGHT 64
#define MAX_IDS (1 << 22)

struct acked {
    int32_t *ids;
    size_t n;
    long failed, in_flight;
};

struct req {
    struct acked *a;
    int32_t id;
};

static void done(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    (void)res;
    (void)err;
    struct req *r = arg;
    r->a->in_flight--;
    if (status == 0 && r->a->n < MAX_IDS)
        r->a->ids[r->a->n++] = r->id;
    else if (status != 0)
        r->a->failed++;
    free(r);
}

static struct cql_session *connect_to(const char *host, int port, int wait_ms)
{
    struct cql_session_config c;
    cql_session_config_init(&c);
    const char *cp[] = {host};
    c.contact_points = cp;
    c.contact_point_count = 1;
    c.port = port;
    c.request_timeout_ms = 5000;
    c.connect_timeout_ms = 5000;
    c.consistency = CQL_CL_ONE;
    char err[256];
    int64_t until = spate_mono_ms() + wait_ms;
    for (;;) {
        struct cql_session *s;
        if (cql_session_new(&c, &s, err, sizeof err) == 0)
            return s;
        if (spate_mono_ms() > until) {
            fprintf(stderr, "connect to %s:%d: %s\n", host, port, err);
            return NULL;
        }
        spate_sleep_ms(500);
    }
}

static int write_rows(struct cql_session *s, const char *ks, const char *path)
{
    char q[512];
    snprintf(q, sizeof q,
             "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
             "{'class': 'SimpleStrategy', 'replication_factor': 1}",
             ks);
    if (cql_query(s, q, NULL, 0, NULL, NULL) != 0) {
        fprintf(stderr, "%s: %s\n", q, cql_session_errstr(s));
        return 1;
    }
    snprintf(q, sizeof q, "CREATE TABLE IF NOT EXISTS %s.acked (id int PRIMARY KEY, v text)", ks);
    if (cql_query(s, q, NULL, 0, NULL, NULL) != 0) {
        fprintf(stderr, "%s: %s\n", q, cql_session_errstr(s));
        return 1;
    }
    snprintf(q, sizeof q, "INSERT INTO %s.acked (id, v) VALUES (?, ?)", ks);
    const struct cql_prepared *ins;
    if (cql_prepare(s, q, &ins) != 0) {
        fprintf(stderr, "prepare: %s\n", cql_session_errstr(s));
        return 1;
    }
    struct acked a = {.ids = malloc(MAX_IDS * sizeof(int32_t))};
    if (!a.ids)
        return 1;
    char pad[200];
    memset(pad, 'v', sizeof pad);
    printf("ready\n");
    fflush(stdout);
    int32_t next = 0;
    int64_t start = spate_mono_ms();
    /* until the node goes away (the driving script kills it) and every
     * request in flight has its answer */
    while (spate_mono_ms() - start < 120000 && !(a.failed && a.in_flight == 0)) {
        if (!a.failed && a.in_flight < IN_FLIGHT && next < MAX_IDS) {
            struct req *r = malloc(sizeof *r);
            if (!r)
                break;
            *r = (struct req){.a = &a, .id = next};
            struct cql_value v[2] = {{.kind = CQL_V_INT, .u.i = next},
                                     {.kind = CQL_V_TEXT, .u.s = {pad, sizeof pad}}};
            struct cql_query_opts o = {0};
            if (cql_execute_async(s, ins, v, 2, &o, done, r) == 0) {
                a.in_flight++;
                next++;
                continue;
            }
            free(r);
            a.failed++;
        }
        cql_session_poll(s, 20);
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    for (size_t i = 0; i < a.n; i++)
        fprintf(f, "%" PRId32 "\n", a.ids[i]);
    fclose(f);
    printf("%zu acknowledged, %ld failed\n", a.n, a.failed);
    free(a.ids);
    if (!a.failed) {
        fprintf(stderr, "the node was never killed\n");
        return 1;
    }
    return a.n > 0 ? 0 : 1;
}

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

static int check_rows(struct cql_session *s, const char *ks, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    int32_t *acked = malloc(MAX_IDS * sizeof(int32_t));
    unsigned char *stored = calloc(MAX_IDS, 1);
    size_t n = 0;
    long x;
    while (acked && n < MAX_IDS && fscanf(f, "%ld", &x) == 1)
        acked[n++] = (int32_t)x;
    fclose(f);
    if (!acked || !stored)
        return 1;
    char q[256];
    snprintf(q, sizeof q, "SELECT id FROM %s.acked", ks);
    struct cql_query_opts o = {.page_size = 5000};
    size_t rows = 0;
    for (;;) {
        struct cql_result *res;
        if (cql_query(s, q, NULL, 0, &o, &res) != 0) {
            fprintf(stderr, "%s: %s\n", q, cql_session_errstr(s));
            return 1;
        }
        for (size_t r = 0; r < cql_result_row_count(res); r++) {
            int64_t id;
            if (cql_result_get_int64(res, r, 0, &id) == 0 && id >= 0 && id < MAX_IDS) {
                stored[id] = 1;
                rows++;
            }
        }
        int more = cql_result_has_more_pages(res);
        if (more) {
            const void *st;
            size_t len;
            cql_result_paging_state(res, &st, &len);
            static unsigned char page[256];
            if (len > sizeof page) {
                cql_result_free(res);
                return 1;
            }
            memcpy(page, st, len);
            o.paging_state = page;
            o.paging_state_len = len;
        }
        cql_result_free(res);
        if (!more)
            break;
    }
    qsort(acked, n, sizeof *acked, cmp_i32);
    size_t lost = 0;
    char eg[128] = "";
    for (size_t i = 0; i < n; i++)
        if (!stored[acked[i]] && lost++ < 5) {
            size_t l = strlen(eg);
            snprintf(eg + l, sizeof eg - l, "%s%" PRId32, l ? ", " : " (e.g. ", acked[i]);
        }
    if (lost)
        strncat(eg, ")", sizeof eg - strlen(eg) - 1);
    printf("%zu rows acknowledged before the kill, %zu stored, %zu lost%s\n", n, rows, lost, eg);
    free(acked);
    free(stored);
    return lost || n == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 6 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: it_cql_acked write|check HOST PORT KEYSPACE FILE\n");
        return 2;
    }
    int writing = strcmp(argv[1], "write") == 0;
    struct cql_session *s = connect_to(argv[2], atoi(argv[3]), writing ? 5000 : 60000);
    if (!s)
        return 1;
    int rc = writing ? write_rows(s, argv[4], argv[5]) : check_rows(s, argv[4], argv[5]);
    cql_session_free(s);
    return rc;
}
