/* SPDX-License-Identifier: Apache-2.0 */
/* test_cql_fakeserver.c -- a scripted fake Cassandra for replies a real server never sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cql/cql_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake {
    int lfd;
    int port;
    volatile int stop;
    pthread_t th;
    int unprepared_left; /* EXECUTEs to refuse with UNPREPARED */
    int prepares;        /* PREPAREs seen */
    int prepare_invalid; /* answer PREPAREs with Invalid (a dropped table) */
    int held_stream;     /* out-of-order: the first query waits here */
    int connections;
};

static void put_frame(int fd, int16_t stream, uint8_t op, const void *body, size_t len)
{
    uint8_t h[9] = {0x84, 0, 0, 0, op, 0, 0, 0, 0};
    cql__put_u16(h + 2, (uint16_t)stream);
    cql__put_i32(h + 5, (int32_t)len);
    (void)!write(fd, h, 9);
    if (len)
        (void)!write(fd, body, len);
}

static void put_keyspace(int fd, int16_t stream, const char *ks)
{
    struct spate_buf b = {0};
    cql__wr_i32(&b, CQL_RESULT_SET_KEYSPACE);
    cql__wr_string(&b, ks, strlen(ks));
    put_frame(fd, stream, CQL_OP_RESULT, b.data, b.len);
    spate_buf_free(&b);
}

static void put_error(int fd, int16_t stream, int32_t code, const char *msg)
{
    struct spate_buf b = {0};
    cql__wr_i32(&b, code);
    cql__wr_string(&b, msg, strlen(msg));
    if (code == CQL_ERR_UNPREPARED)
        cql__wr_short_bytes(&b, "\x01\x02", 2);
    put_frame(fd, stream, CQL_OP_ERROR, b.data, b.len);
    spate_buf_free(&b);
}

/* Answers one request; returns 0 to keep the connection, -1 to close it. */
static int answer(struct fake *fk, int fd, struct cql_frame *f)
{
    struct cql_reader r;
    cql__reader_init(&r, f->body, f->len);
    const char *q = "";
    size_t ql = 0;
    switch (f->opcode) {
    case CQL_OP_OPTIONS: {
        struct spate_buf b = {0};
        cql__wr_u16(&b, 0);
        put_frame(fd, f->stream, CQL_OP_SUPPORTED, b.data, b.len);
        spate_buf_free(&b);
        return 0;
    }
    case CQL_OP_STARTUP:
    case CQL_OP_REGISTER: put_frame(fd, f->stream, CQL_OP_READY, NULL, 0); return 0;
    case CQL_OP_PREPARE: {
        fk->prepares++;
        if (fk->prepare_invalid) {
            put_error(fd, f->stream, CQL_ERR_INVALID, "table spate.users does not exist");
            return 0;
        }
        struct spate_buf b = {0};
        cql__wr_i32(&b, CQL_RESULT_PREPARED);
        cql__wr_short_bytes(&b, "\x01\x02", 2);
        cql__wr_i32(&b, 0); /* flags */
        cql__wr_i32(&b, 0); /* no markers */
        cql__wr_i32(&b, 0); /* no pk */
        cql__wr_i32(&b, CQL_MF_NO_METADATA);
        cql__wr_i32(&b, 0);
        put_frame(fd, f->stream, CQL_OP_RESULT, b.data, b.len);
        spate_buf_free(&b);
        return 0;
    }
    case CQL_OP_EXECUTE:
        if (fk->unprepared_left > 0) {
            fk->unprepared_left--;
            put_error(fd, f->stream, CQL_ERR_UNPREPARED, "unknown id");
        } else {
            put_keyspace(fd, f->stream, "executed");
        }
        return 0;
    case CQL_OP_QUERY: cql__rd_long_string(&r, &q, &ql); break;
    default: put_error(fd, f->stream, CQL_ERR_PROTOCOL, "unexpected"); return 0;
    }
    char text[128];
    snprintf(text, sizeof text, "%.*s", (int)ql, q);
    if (strstr(text, "system.")) {
        put_error(fd, f->stream, CQL_ERR_INVALID, "no system tables here");
    } else if (!strcmp(text, "timestamp?")) {
        uint16_t cl;
        uint8_t flags = 0;
        int64_t ts = 0;
        cql__rd_u16(&r, &cl);
        cql__rd_u8(&r, &flags);
        if (flags & CQL_QF_PAGE_SIZE) {
            int32_t ps;
            cql__rd_i32(&r, &ps);
        }
        if (flags & CQL_QF_DEFAULT_TIMESTAMP)
            cql__rd_i64(&r, &ts);
        char ans[32];
        snprintf(ans, sizeof ans, "%s", ts > 1600000000000000LL ? "timestamped" : "none");
        put_keyspace(fd, f->stream, ans);
    } else if (!strncmp(text, "USE ", 4)) {
        put_keyspace(fd, f->stream, "ok"); /* reconnects restore the keyspace */
    } else if (!strcmp(text, "ok")) {
        put_keyspace(fd, f->stream, "ok");
    } else if (!strcmp(text, "unknown_stream")) {
        put_keyspace(fd, (int16_t)(f->stream + 100), "x");
    } else if (!strcmp(text, "truncated")) {
        uint8_t h[9] = {0x84, 0, 0, 0, CQL_OP_RESULT, 0, 0, 0, 100};
        cql__put_u16(h + 2, (uint16_t)f->stream);
        (void)!write(fd, h, 9);
        (void)!write(fd, "\0\0\0\3", 4);
        return -1;
    } else if (!strcmp(text, "wrong_length")) {
        /* claims 4 bytes for a Set_keyspace body that needs more */
        put_frame(fd, f->stream, CQL_OP_RESULT, "\0\0\0\3", 4);
    } else if (!strcmp(text, "bad_version")) {
        uint8_t h[9] = {0x83, 0, 0, 0, CQL_OP_READY, 0, 0, 0, 0};
        cql__put_u16(h + 2, (uint16_t)f->stream);
        (void)!write(fd, h, 9);
    } else if (!strcmp(text, "unknown_opcode")) {
        put_frame(fd, f->stream, 0x04, NULL, 0);
    } else if (!strcmp(text, "huge")) {
        uint8_t h[9] = {0x84, 0, 0, 0, CQL_OP_RESULT, 0x7f, 0xff, 0xff, 0xff};
        cql__put_u16(h + 2, (uint16_t)f->stream);
        (void)!write(fd, h, 9);
    } else if (!strcmp(text, "silent")) {
        /* never answer */
    } else if (!strcmp(text, "first")) {
        fk->held_stream = f->stream; /* answered after "second" */
    } else if (!strcmp(text, "second")) {
        put_keyspace(fd, f->stream, "second");
        put_keyspace(fd, (int16_t)fk->held_stream, "first");
    } else if (!strcmp(text, "overloaded")) {
        put_error(fd, f->stream, CQL_ERR_OVERLOADED, "busy");
    } else {
        put_error(fd, f->stream, CQL_ERR_SYNTAX, "unknown script");
    }
    return 0;
}

static void *serve(void *arg)
{
    struct fake *fk = arg;
    while (!fk->stop) {
        struct pollfd p = {.fd = fk->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(fk->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        fk->connections++;
        struct cql_decoder d;
        cql__decoder_init(&d, 0, CQL_VERSION_REQUEST);
        int open = 1;
        while (open && !fk->stop) {
            struct pollfd c = {.fd = fd, .events = POLLIN};
            if (poll(&c, 1, 50) <= 0)
                continue;
            char buf[4096];
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0)
                break;
            cql__decoder_feed(&d, buf, (size_t)n);
            struct cql_frame f;
            while (open && cql__decoder_next(&d, &f) == 0) {
                if (answer(fk, fd, &f))
                    open = 0;
                free(f.body);
            }
        }
        cql__decoder_free(&d);
        close(fd);
    }
    return NULL;
}

static int setup(void **state)
{
    struct fake *fk = calloc(1, sizeof *fk);
    fk->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fk->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fk->lfd, (struct sockaddr *)&a, sizeof a) || listen(fk->lfd, 8))
        return -1;
    socklen_t al = sizeof a;
    getsockname(fk->lfd, (struct sockaddr *)&a, &al);
    fk->port = ntohs(a.sin_port);
    pthread_create(&fk->th, NULL, serve, fk);
    *state = fk;
    return 0;
}

static int teardown(void **state)
{
    struct fake *fk = *state;
    fk->stop = 1;
    pthread_join(fk->th, NULL);
    close(fk->lfd);
    free(fk);
    return 0;
}

static struct cql_session *connect_fake(struct fake *fk, int timeout_ms)
{
    struct cql_session_config c;
    cql_session_config_init(&c);
    static const char *cp[] = {"127.0.0.1"};
    c.contact_points = cp;
    c.contact_point_count = 1;
    c.port = fk->port;
    c.request_timeout_ms = timeout_ms;
    c.reconnect_initial_ms = 10;
    struct cql_session *s = NULL;
    char err[256];
    int rc = cql_session_new(&c, &s, err, sizeof err);
    if (rc)
        fail_msg("connect: %s", err);
    return s;
}

/* Runs one scripted query; returns its status and leaves the message in s. */
static int run(struct cql_session *s, const char *script)
{
    return cql_query(s, script, NULL, 0, NULL, NULL);
}

static void test_ok_and_reconnect_after_bad_frames(void **state)
{
    struct fake *fk = *state;
    struct cql_session *s = connect_fake(fk, 2000);
    assert_int_equal(run(s, "ok"), 0);
    static const struct {
        const char *script;
        const char *needle;
    } bad[] = {
        {"unknown_stream", "stream id 100 that no request waits for"},
        {"truncated", "closed by server"},
        {"wrong_length", "malformed RESULT"},
        {"bad_version", "unexpected protocol version byte 0x83"},
        {"unknown_opcode", "unknown opcode 0x04"},
        {"huge", "frame body length 2147483647"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run(s, bad[i].script);
        assert_int_not_equal(rc, 0);
        if (!strstr(cql_session_errstr(s), bad[i].needle))
            fail_msg("%s: '%s' lacks '%s'", bad[i].script, cql_session_errstr(s), bad[i].needle);
        /* the connection is re-established and works again */
        rc = run(s, "ok");
        if (rc)
            fail_msg("after %s: %s", bad[i].script, cql_session_errstr(s));
    }
    assert_true(fk->connections >= 6);
    cql_session_free(s);
}

static void test_timeout(void **state)
{
    struct fake *fk = *state;
    struct cql_session *s = connect_fake(fk, 300);
    int64_t t0 = spate_mono_ms();
    assert_int_equal(run(s, "silent"), SPATE_ETIMEDOUT);
    int64_t took = spate_mono_ms() - t0;
    assert_true(took >= 290 && took < 2000);
    assert_non_null(strstr(cql_session_errstr(s), "timed out after 300 ms"));
    assert_int_equal(run(s, "ok"), 0); /* the connection survives a timeout */
    cql_session_free(s);
}

struct pair {
    char got[2][32];
    int n;
};

static void on_ks(void *arg, int status, struct cql_result *res, const struct cql_error *err)
{
    struct pair *p = arg;
    (void)err;
    if (status == 0 && p->n < 2)
        snprintf(p->got[p->n], sizeof p->got[0], "%s", cql_result_info(res));
    p->n++;
}

static void test_out_of_order(void **state)
{
    struct fake *fk = *state;
    struct cql_session *s = connect_fake(fk, 2000);
    struct pair a = {0}, b = {0};
    assert_int_equal(cql_query_async(s, "first", NULL, 0, NULL, on_ks, &a), 0);
    assert_int_equal(cql_query_async(s, "second", NULL, 0, NULL, on_ks, &b), 0);
    assert_int_equal(cql_session_drain(s, 2000), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
    assert_string_equal(a.got[0], "first");
    assert_string_equal(b.got[0], "second");
    cql_session_free(s);
}

static void test_unprepared_retry(void **state)
{
    struct fake *fk = *state;
    struct cql_session *s = connect_fake(fk, 2000);
    const struct cql_prepared *p;
    assert_int_equal(cql_prepare(s, "SELECT x", &p), 0);
    assert_int_equal(fk->prepares, 1);
    fk->unprepared_left = 1;
    struct cql_result *r;
    assert_int_equal(cql_execute(s, p, NULL, 0, NULL, &r), 0);
    assert_string_equal(cql_result_info(r), "executed");
    cql_result_free(r);
    assert_int_equal(fk->prepares, 2); /* re-prepared once, transparently */
    /* a statement that stays unknown fails instead of looping */
    fk->unprepared_left = 5;
    assert_int_equal(cql_execute(s, p, NULL, 0, NULL, NULL), SPATE_ESERVER);
    assert_non_null(strstr(cql_session_errstr(s), "Unprepared"));
    /* the table was dropped: the re-prepare's Invalid reaches the caller with
     * its server code, so the sink can tell a gone table from a bad record */
    fk->unprepared_left = 1;
    fk->prepare_invalid = 1;
    assert_int_equal(cql_execute(s, p, NULL, 0, NULL, NULL), SPATE_ESERVER);
    assert_int_equal(cql_session_error(s)->server_code, CQL_ERR_INVALID);
    assert_non_null(strstr(cql_session_errstr(s), "does not exist"));
    fk->prepare_invalid = 0;
    fk->unprepared_left = 0;
    cql_session_free(s);
}

static void test_server_error_and_cancel(void **state)
{
    struct fake *fk = *state;
    struct cql_session *s = connect_fake(fk, 5000);
    assert_int_equal(run(s, "overloaded"), SPATE_EUNAVAILABLE);
    assert_string_equal(cql_session_errstr(s), "Overloaded: busy");
    assert_int_equal(cql_session_error(s)->server_code, CQL_ERR_OVERLOADED);
    /* freeing the session fails what is still in flight */
    struct pair a = {0};
    assert_int_equal(cql_query_async(s, "silent", NULL, 0, NULL, on_ks, &a), 0);
    cql_session_poll(s, 10);
    cql_session_free(s);
    assert_int_equal(a.n, 1);
}

static void test_client_timestamps(void **state)
{
    struct fake *fk = *state;
    struct cql_session *s = connect_fake(fk, 2000);
    struct cql_result *r;
    assert_int_equal(cql_query(s, "timestamp?", NULL, 0, NULL, &r), 0);
    assert_string_equal(cql_result_info(r), "none");
    cql_result_free(r);
    cql_session_free(s);
    struct cql_session_config c;
    cql_session_config_init(&c);
    static const char *cp[] = {"127.0.0.1"};
    c.contact_points = cp;
    c.contact_point_count = 1;
    c.port = fk->port;
    c.client_timestamps = 1;
    char err[256];
    assert_int_equal(cql_session_new(&c, &s, err, sizeof err), 0);
    assert_int_equal(cql_query(s, "timestamp?", NULL, 0, NULL, &r), 0);
    assert_string_equal(cql_result_info(r), "timestamped");
    cql_result_free(r);
    cql_session_free(s);
}

static void test_no_server(void **state)
{
    (void)state;
    struct cql_session_config c;
    cql_session_config_init(&c);
    static const char *cp[] = {"127.0.0.1:1"};
    c.contact_points = cp;
    c.contact_point_count = 1;
    struct cql_session *s;
    char err[256];
    assert_int_equal(cql_session_new(&c, &s, err, sizeof err), SPATE_ECONNREFUSED);
    assert_non_null(strstr(err, "127.0.0.1:1"));
    assert_int_equal(cql_probe("127.0.0.1", 1, 500, err, sizeof err), SPATE_ECONNREFUSED);
}

static void test_probe(void **state)
{
    struct fake *fk = *state;
    char err[128];
    assert_int_equal(cql_probe("127.0.0.1", fk->port, 1000, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ok_and_reconnect_after_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unprepared_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_error_and_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_timestamps, setup, teardown),
        cmocka_unit_test(test_no_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
