/* SPDX-License-Identifier: Apache-2.0 */
/* it_cql_roundtrip.c -- the cql client against a real Cassandra: types, paging, batches, prepare, routing. */
#include "spate/cql.h"
#include "spate/error.h"
#include "spate/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (cond) {                                                                             \
            passed++;                                                                           \
        } else {                                                                                \
            failed++;                                                                           \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                         \
            printf(__VA_ARGS__);                                                                \
            printf("\n");                                                                       \
        }                                                                                       \
    } while (0)

static const char *KS = "spate_cql_it";

static int q(struct cql_session *s, const char *cql)
{
    int rc = cql_query(s, cql, NULL, 0, NULL, NULL);
    if (rc)
        printf("  query failed: %s: %s\n", cql, cql_session_errstr(s));
    return rc;
}

/* Formats row 0 of a result as "col=value;..." text. */
static char *row_text(const struct cql_result *r, size_t row, int json)
{
    struct spate_buf b = {0};
    for (size_t c = 0; c < cql_result_column_count(r); c++) {
        spate_buf_appendf(&b, "%s%s=", c ? ";" : "", cql_result_column_name(r, c));
        cql_result_format_cell(r, row, c, json, &b);
    }
    spate_buf_append(&b, "", 1);
    return b.data;
}

#define ALL_COLS                                                                                 \
    "k, a, bi, bl, bo, dc, db, fl, i, ts, u, tu, vi, ip, d, t, si, ti, du, l, st, m, tp, ud, "   \
    "fz"

static const char *EXPECTED =
    "k=1;a=ascii;bi=-9223372036854775808;bl=0xcafe;bo=true;dc=-12.345;db=0.1;fl=0.5;"
    "i=-2147483648;ts=2024-05-01 12:00:00.123000+0000;u=123e4567-e89b-42d3-a456-426614174000;"
    "tu=123e4567-e89b-12d3-a456-426614174000;vi=-18446744073709551616;ip=127.0.0.2;"
    "d=1969-12-31;t=23:59:59.999999999;si=-32768;ti=127;du=1y2mo3d4h5m6s;l=[1, 2];"
    "st={'a', 'b'};m={'k': -1};tp=(7, 'x');ud={street: 'main', zip: 1234};fz=[]";

static void test_types(struct cql_session *s)
{
    CHECK(q(s, "CREATE TYPE IF NOT EXISTS addr (street text, zip int)") == 0, "create type");
    CHECK(q(s, "DROP TABLE IF EXISTS all_types") == 0, "drop");
    CHECK(q(s, "CREATE TABLE all_types (k int PRIMARY KEY, a ascii, bi bigint, bl blob, bo boolean, "
               "dc decimal, db double, fl float, i int, ts timestamp, u uuid, tu timeuuid, "
               "vi varint, ip inet, d date, t time, si smallint, ti tinyint, du duration, "
               "l list<int>, st set<text>, m map<text, int>, tp tuple<int, text>, "
               "ud frozen<addr>, fz list<int>)") == 0,
          "create table");
    /* 1. through QUERY with literals */
    CHECK(q(s, "INSERT INTO all_types (" ALL_COLS ") VALUES (1, 'ascii', -9223372036854775808, "
               "0xcafe, true, -12.345, 0.1, 0.5, -2147483648, '2024-05-01T12:00:00.123Z', "
               "123e4567-e89b-42d3-a456-426614174000, 123e4567-e89b-12d3-a456-426614174000, "
               "-18446744073709551616, '127.0.0.2', '1969-12-31', '23:59:59.999999999', -32768, "
               "127, 1y2mo3d4h5m6s, [1, 2], {'a', 'b'}, {'k': -1}, (7, 'x'), "
               "{street: 'main', zip: 1234}, [])") == 0,
          "insert literals");
    struct cql_result *r = NULL;
    int rc = cql_query(s, "SELECT " ALL_COLS " FROM all_types WHERE k = 1", NULL, 0, NULL, &r);
    CHECK(rc == 0 && cql_result_row_count(r) == 1, "select literal row: %s", cql_session_errstr(s));
    if (rc == 0 && cql_result_row_count(r) == 1) {
        char *t = row_text(r, 0, 0);
        /* an empty list is stored as null */
        CHECK(strncmp(t, EXPECTED, strlen(EXPECTED) - 5) == 0, "QUERY round trip:\n  got  %s\n  want %s",
              t, EXPECTED);
        free(t);
    }
    cql_result_free(r);

    /* 2. through prepared EXECUTE with typed values */
    const struct cql_prepared *ins;
    rc = cql_prepare(s, "INSERT INTO all_types (" ALL_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     &ins);
    CHECK(rc == 0, "prepare insert: %s", cql_session_errstr(s));
    if (rc)
        return;
    CHECK(cql_prepared_param_count(ins) == 25, "25 markers");
    struct cql_value li[] = {cql_int(1), cql_int(2)};
    struct cql_value sv[] = {cql_text("a"), cql_text("b")};
    struct cql_value mv[] = {cql_text("k"), cql_int(-1)};
    struct cql_value tv[] = {cql_int(7), cql_text("x")};
    struct cql_value uv[] = {cql_text("main"), cql_int(1234)};
    struct cql_value dur = {.kind = CQL_V_DURATION,
                            .u.duration = {14, 3, (4 * 3600 + 5 * 60 + 6) * 1000000000LL}};
    struct cql_value vals[25] = {
        cql_int(2), cql_text("ascii"), cql_int(INT64_MIN), cql_blob("\xca\xfe", 2), cql_bool(1),
        cql_text("-12.345"), cql_double(0.1), cql_double(0.5), cql_int(INT32_MIN),
        cql_text("2024-05-01T12:00:00.123Z"), cql_text("123e4567-e89b-42d3-a456-426614174000"),
        cql_text("123e4567-e89b-12d3-a456-426614174000"), cql_text("-18446744073709551616"),
        cql_text("127.0.0.2"), cql_int(-1), cql_text("23:59:59.999999999"), cql_int(-32768),
        cql_int(127), dur, cql_list(li, 2), cql_list(sv, 2), cql_map(mv, 1), cql_tuple(tv, 2),
        cql_tuple(uv, 2), cql_list(NULL, 0)};
    rc = cql_execute(s, ins, vals, 25, NULL, NULL);
    CHECK(rc == 0, "execute insert: %s", cql_session_errstr(s));
    const struct cql_prepared *sel;
    rc = cql_prepare(s, "SELECT " ALL_COLS " FROM all_types WHERE k = ?", &sel);
    CHECK(rc == 0, "prepare select");
    struct cql_value k2 = cql_int(2);
    rc = cql_execute(s, sel, &k2, 1, NULL, &r);
    CHECK(rc == 0 && cql_result_row_count(r) == 1, "execute select: %s", cql_session_errstr(s));
    if (rc == 0 && cql_result_row_count(r) == 1) {
        char *t = row_text(r, 0, 0);
        CHECK(strncmp(t + 3, EXPECTED + 3, strlen(EXPECTED) - 8) == 0,
              "EXECUTE round trip:\n  got  %s\n  want %s", t, EXPECTED);
        free(t);
        char *j = row_text(r, 0, 1);
        CHECK(strstr(j, "ud={\"street\":\"main\",\"zip\":1234}") != NULL, "json udt: %s", j);
        free(j);
        int64_t v;
        CHECK(cql_result_get_int64(r, 0, 2, &v) == 0 && v == INT64_MIN, "bigint getter");
    }
    cql_result_free(r);
    /* 3. nulls and unset */
    struct cql_value nv[25];
    for (int i = 0; i < 25; i++)
        nv[i] = i == 0 ? cql_int(3) : i == 1 ? cql_unset() : cql_null();
    CHECK(cql_execute(s, ins, nv, 25, NULL, NULL) == 0, "insert nulls: %s", cql_session_errstr(s));
    struct cql_value k3 = cql_int(3);
    rc = cql_execute(s, sel, &k3, 1, NULL, &r);
    if (rc == 0 && cql_result_row_count(r) == 1) {
        char *t = row_text(r, 0, 0);
        CHECK(strncmp(t, "k=3;a=null;bi=null", 18) == 0, "nulls: %s", t);
        free(t);
    } else {
        CHECK(0, "select nulls: %s", cql_session_errstr(s));
    }
    cql_result_free(r);
    /* 4. a value that does not fit is refused before sending, naming the column */
    vals[8] = cql_int(3000000000LL);
    rc = cql_execute(s, ins, vals, 25, NULL, NULL);
    CHECK(rc == SPATE_ETYPE && strstr(cql_session_errstr(s), "column 'i'") &&
              strstr(cql_session_errstr(s), "out of range for int"),
          "type error names the column: %d %s", rc, cql_session_errstr(s));
}

static void on_insert(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    (void)res;
    int *errors = arg;
    if (status) {
        if (*errors < 3)
            printf("  async insert failed: %s\n", err ? err->message : "?");
        (*errors)++;
    }
}

static void test_paging(struct cql_session *s)
{
    CHECK(q(s, "DROP TABLE IF EXISTS paged") == 0, "drop paged");
    CHECK(q(s, "CREATE TABLE paged (p int, c int, v text, PRIMARY KEY (p, c))") == 0, "create paged");
    const struct cql_prepared *ins;
    if (cql_prepare(s, "INSERT INTO paged (p, c, v) VALUES (?, ?, ?)", &ins)) {
        CHECK(0, "prepare paged insert: %s", cql_session_errstr(s));
        return;
    }
    int errors = 0;
    int64_t t0 = spate_mono_ms();
    struct cql_query_opts o = {.block = 1, .consistency = CQL_CL_ONE};
    for (int i = 0; i < 100000; i++) {
        struct cql_value v[3] = {cql_int(i % 100), cql_int(i), cql_text("value")};
        int rc = cql_execute_async(s, ins, v, 3, &o, on_insert, &errors);
        if (rc) {
            errors++;
            break;
        }
    }
    CHECK(cql_session_drain(s, 120000) == 0, "drain");
    CHECK(errors == 0, "async inserts: %d errors", errors);
    printf("  100000 async inserts in %" PRId64 " ms\n", spate_mono_ms() - t0);
    /* read them back a page at a time */
    struct cql_query_opts po = {.page_size = 5000, .consistency = CQL_CL_ONE};
    size_t total = 0, pages = 0;
    void *state = NULL;
    for (;;) {
        struct cql_result *r;
        int rc = cql_query(s, "SELECT p, c FROM paged", NULL, 0, &po, &r);
        if (rc) {
            CHECK(0, "page %zu: %s", pages, cql_session_errstr(s));
            break;
        }
        total += cql_result_row_count(r);
        pages++;
        int more = cql_result_has_more_pages(r);
        if (more) {
            const void *ps;
            size_t psl;
            cql_result_paging_state(r, &ps, &psl);
            free(state);
            state = malloc(psl);
            memcpy(state, ps, psl);
            po.paging_state = state;
            po.paging_state_len = psl;
        }
        cql_result_free(r);
        if (!more || pages > 1000)
            break;
    }
    free(state);
    CHECK(total == 100000, "paged rows: %zu", total);
    CHECK(pages >= 20, "pages: %zu", pages);
}

static void test_batches(struct cql_session *s)
{
    CHECK(q(s, "DROP TABLE IF EXISTS kv") == 0, "drop kv");
    CHECK(q(s, "CREATE TABLE kv (k text PRIMARY KEY, v int)") == 0, "create kv");
    CHECK(q(s, "DROP TABLE IF EXISTS counts") == 0, "drop counts");
    CHECK(q(s, "CREATE TABLE counts (k text PRIMARY KEY, n counter)") == 0, "create counts");
    const struct cql_prepared *ins, *inc;
    if (cql_prepare(s, "INSERT INTO kv (k, v) VALUES (?, ?)", &ins) ||
        cql_prepare(s, "UPDATE counts SET n = n + ? WHERE k = ?", &inc)) {
        CHECK(0, "prepare batch statements: %s", cql_session_errstr(s));
        return;
    }
    struct cql_value a[2] = {cql_text("a"), cql_int(1)}, b[2] = {cql_text("b"), cql_int(2)};
    struct cql_value lit[1] = {cql_text("c")};
    struct cql_batch_stmt st[3] = {{.prepared = ins, .values = a, .count = 2},
                                   {.prepared = ins, .values = b, .count = 2},
                                   {.query = "INSERT INTO kv (k, v) VALUES (?, 3)", .values = lit,
                                    .count = 1}};
    CHECK(cql_batch(s, CQL_BATCH_LOGGED, st, 3, NULL, NULL) == 0, "logged batch: %s",
          cql_session_errstr(s));
    a[1] = cql_int(10);
    CHECK(cql_batch(s, CQL_BATCH_UNLOGGED, st, 1, NULL, NULL) == 0, "unlogged batch: %s",
          cql_session_errstr(s));
    struct cql_value c1[2] = {cql_int(5), cql_text("x")}, c2[2] = {cql_int(-2), cql_text("x")};
    struct cql_batch_stmt cs[2] = {{.prepared = inc, .values = c1, .count = 2},
                                   {.prepared = inc, .values = c2, .count = 2}};
    CHECK(cql_batch(s, CQL_BATCH_COUNTER, cs, 2, NULL, NULL) == 0, "counter batch: %s",
          cql_session_errstr(s));
    struct cql_result *r;
    if (cql_query(s, "SELECT k, v FROM kv", NULL, 0, NULL, &r) == 0) {
        int64_t sum = 0, v;
        for (size_t i = 0; i < cql_result_row_count(r); i++)
            if (cql_result_get_int64(r, i, 1, &v) == 0)
                sum += v;
        CHECK(cql_result_row_count(r) == 3 && sum == 15, "batch rows %zu sum %" PRId64,
              cql_result_row_count(r), sum);
        cql_result_free(r);
    }
    if (cql_query(s, "SELECT n FROM counts WHERE k = 'x'", NULL, 0, NULL, &r) == 0) {
        int64_t n = 0;
        CHECK(cql_result_get_int64(r, 0, 0, &n) == 0 && n == 3, "counter = %" PRId64, n);
        cql_result_free(r);
    }
    /* a counter update in a logged batch is refused by the server */
    int rc = cql_batch(s, CQL_BATCH_LOGGED, cs, 1, NULL, NULL);
    CHECK(rc == SPATE_ESERVER && strstr(cql_session_errstr(s), "Invalid"), "counter in logged batch: %s",
          cql_session_errstr(s));
}

static void test_reprepare(struct cql_session *s)
{
    CHECK(q(s, "DROP TABLE IF EXISTS evolve") == 0, "drop evolve");
    CHECK(q(s, "CREATE TABLE evolve (k int PRIMARY KEY, a text)") == 0, "create evolve");
    CHECK(q(s, "INSERT INTO evolve (k, a) VALUES (1, 'one')") == 0, "insert evolve");
    const struct cql_prepared *sel;
    if (cql_prepare(s, "SELECT * FROM evolve WHERE k = ?", &sel)) {
        CHECK(0, "prepare evolve");
        return;
    }
    struct cql_value k = cql_int(1);
    struct cql_result *r;
    CHECK(cql_execute(s, sel, &k, 1, NULL, &r) == 0 && cql_result_column_count(r) == 2,
          "before alter");
    cql_result_free(r);
    CHECK(q(s, "ALTER TABLE evolve ADD b int") == 0, "alter");
    CHECK(q(s, "UPDATE evolve SET b = 5 WHERE k = 1") == 0, "update b");
    int rc = cql_execute(s, sel, &k, 1, NULL, &r);
    CHECK(rc == 0, "execute after alter: %s", cql_session_errstr(s));
    if (rc == 0) {
        int col = cql_result_column_index(r, "b");
        int64_t b = 0;
        CHECK(col >= 0 && cql_result_get_int64(r, 0, (size_t)col, &b) == 0 && b == 5,
              "new column visible after re-prepare (cols %zu)", cql_result_column_count(r));
        cql_result_free(r);
    }
}

static void test_routing(struct cql_session *s)
{
    CHECK(q(s, "DROP TABLE IF EXISTS routed") == 0, "drop routed");
    CHECK(q(s, "CREATE TABLE routed (a text, b int, c int, PRIMARY KEY ((a, b), c))") == 0,
          "create routed");
    CHECK(q(s, "DROP TABLE IF EXISTS routed1") == 0, "drop routed1");
    CHECK(q(s, "CREATE TABLE routed1 (k bigint PRIMARY KEY)") == 0, "create routed1");
    const struct cql_prepared *p1, *p2;
    if (cql_prepare(s, "INSERT INTO routed (c, b, a) VALUES (?, ?, ?)", &p2) ||
        cql_prepare(s, "INSERT INTO routed1 (k) VALUES (?)", &p1)) {
        CHECK(0, "prepare routed");
        return;
    }
    size_t npk;
    const uint16_t *pk = cql_prepared_pk_indexes(p2, &npk);
    CHECK(npk == 2 && pk[0] == 2 && pk[1] == 1, "pk indexes follow the key order");
    int mismatches = 0;
    for (int i = 0; i < 200; i++) {
        char a[32];
        snprintf(a, sizeof a, "key-%d-\xc3\xa9", i * 7919);
        struct cql_value v[3] = {cql_int(0), cql_int(i - 100), cql_text(a)};
        struct cql_value kv = cql_int((int64_t)i * 1000003 - 5000);
        int64_t t2, t1;
        if (cql_prepared_token(p2, v, 3, &t2) || cql_prepared_token(p1, &kv, 1, &t1) ||
            cql_execute(s, p2, v, 3, NULL, NULL) || cql_execute(s, p1, &kv, 1, NULL, NULL)) {
            mismatches++;
            continue;
        }
        char sel[200];
        snprintf(sel, sizeof sel, "SELECT token(a, b) FROM routed WHERE a = '%s' AND b = %d", a,
                 i - 100);
        struct cql_result *r;
        int64_t st2 = 0, st1 = 0;
        if (cql_query(s, sel, NULL, 0, NULL, &r) == 0) {
            cql_result_get_int64(r, 0, 0, &st2);
            cql_result_free(r);
        }
        snprintf(sel, sizeof sel, "SELECT token(k) FROM routed1 WHERE k = %" PRId64, kv.u.i);
        if (cql_query(s, sel, NULL, 0, NULL, &r) == 0) {
            cql_result_get_int64(r, 0, 0, &st1);
            cql_result_free(r);
        }
        if (st1 != t1 || st2 != t2) {
            if (mismatches < 3)
                printf("  token mismatch: client %" PRId64 "/%" PRId64 " server %" PRId64
                       "/%" PRId64 "\n", t1, t2, st1, st2);
            mismatches++;
        }
    }
    CHECK(mismatches == 0, "client tokens equal server token() for 400 keys (%d differ)",
          mismatches);
    char owner[80];
    CHECK(cql_session_token_owner(s, 0, owner, sizeof owner) == 0, "ring known");
}

static void test_errors(struct cql_session *s)
{
    int rc = cql_query(s, "SELEKT 1", NULL, 0, NULL, NULL);
    CHECK(rc == SPATE_ESERVER && strncmp(cql_session_errstr(s), "Syntax error:", 13) == 0,
          "syntax error: %s", cql_session_errstr(s));
    CHECK(cql_session_error(s)->server_code == 0x2000, "server code kept");
    rc = cql_query(s, "SELECT * FROM no_such_table", NULL, 0, NULL, NULL);
    CHECK(rc == SPATE_ESERVER && strstr(cql_session_errstr(s), "Invalid query"), "invalid: %s",
          cql_session_errstr(s));
    rc = cql_query(s, "CREATE TABLE kv (k text PRIMARY KEY)", NULL, 0, NULL, NULL);
    CHECK(rc == SPATE_EEXISTS && strstr(cql_session_errstr(s), "Already exists"), "exists: %s",
          cql_session_errstr(s));
    /* a keyspace with RF 3 on one node: QUORUM needs 2 */
    q(s, "CREATE KEYSPACE IF NOT EXISTS spate_cql_rf3 WITH replication = "
         "{'class': 'SimpleStrategy', 'replication_factor': 3}");
    q(s, "CREATE TABLE IF NOT EXISTS spate_cql_rf3.t (k int PRIMARY KEY)");
    struct cql_query_opts o = {.consistency = CQL_CL_QUORUM};
    rc = cql_query(s, "INSERT INTO spate_cql_rf3.t (k) VALUES (1)", NULL, 0, &o, NULL);
    CHECK(rc == SPATE_EUNAVAILABLE &&
              strstr(cql_session_errstr(s), "Unavailable: consistency QUORUM required 2 alive 1"),
          "unavailable: %s", cql_session_errstr(s));
    q(s, "DROP KEYSPACE IF EXISTS spate_cql_rf3");
}

struct bp_state {
    int done;
};

static void on_bp(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    (void)status;
    (void)res;
    (void)err;
    ((struct bp_state *)arg)->done++;
}

static void test_backpressure(const char *host, int port)
{
    struct cql_session_config c;
    cql_session_config_init(&c);
    const char *cp[] = {host};
    c.contact_points = cp;
    c.contact_point_count = 1;
    c.port = port;
    c.max_in_flight = 8;
    c.keyspace = KS;
    c.consistency = CQL_CL_ONE;
    struct cql_session *s;
    char err[256];
    if (cql_session_new(&c, &s, err, sizeof err)) {
        CHECK(0, "session: %s", err);
        return;
    }
    struct bp_state st = {0};
    int accepted = 0, rc = 0;
    for (int i = 0; i < 100; i++) {
        rc = cql_query_async(s, "SELECT k FROM kv", NULL, 0, NULL, on_bp, &st);
        if (rc)
            break;
        accepted++;
    }
    CHECK(rc == SPATE_EAGAIN && accepted == 8 && cql_session_in_flight(s) == 8,
          "EAGAIN after max_in_flight: rc %d accepted %d", rc, accepted);
    CHECK(st.done == 0, "no callback inside submit");
    CHECK(cql_session_drain(s, 10000) == 0 && st.done == 8, "all callbacks after drain: %d", st.done);
    struct cql_query_opts blk = {.block = 1};
    for (int i = 0; i < 50; i++)
        cql_query_async(s, "SELECT k FROM kv", NULL, 0, &blk, on_bp, &st);
    cql_session_drain(s, 10000);
    CHECK(st.done == 58, "blocking submit never refuses: %d", st.done);
    /* USE switches the keyspace of the session */
    CHECK(cql_query(s, "USE system", NULL, 0, NULL, NULL) == 0 &&
              strcmp(cql_session_keyspace(s), "system") == 0,
          "USE: %s", cql_session_keyspace(s));
    cql_session_free(s);
}

int main(void)
{
    const char *host = getenv("SPATE_CASSANDRA_HOST") ? getenv("SPATE_CASSANDRA_HOST") : "127.0.0.1";
    int port = getenv("SPATE_CASSANDRA_PORT") ? atoi(getenv("SPATE_CASSANDRA_PORT")) : 9042;
    char err[256];
    CHECK(cql_probe(host, port, 5000, err, sizeof err) == 0, "probe: %s", err);
    CHECK(cql_probe("127.0.0.1", 1, 1000, err, sizeof err) == SPATE_ECONNREFUSED,
          "probe of a closed port: %s", err);

    struct cql_session_config c;
    cql_session_config_init(&c);
    const char *cp[] = {host};
    c.contact_points = cp;
    c.contact_point_count = 1;
    c.port = port;
    c.consistency = CQL_CL_ONE;
    c.connections_per_host = 2;
    struct cql_session *s;
    int rc = cql_session_new(&c, &s, err, sizeof err);
    CHECK(rc == 0, "session: %s", err);
    if (rc) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    char ddl[256];
    snprintf(ddl, sizeof ddl,
             "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': 'SimpleStrategy', "
             "'replication_factor': 1}",
             KS);
    struct cql_result *r = NULL;
    CHECK(cql_query(s, ddl, NULL, 0, NULL, &r) == 0, "create keyspace: %s", cql_session_errstr(s));
    cql_result_free(r);
    snprintf(ddl, sizeof ddl, "USE %s", KS);
    CHECK(q(s, ddl) == 0, "use");

    test_types(s);
    test_batches(s);
    test_reprepare(s);
    test_routing(s);
    test_errors(s);
    test_paging(s);
    cql_session_free(s);
    test_backpressure(host, port);

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
