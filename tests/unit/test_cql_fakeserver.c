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
#include <sys/wait.h>
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
    volatile int connections;
    volatile int mute;   /* read requests, answer none (a hung server) */
    int late_ms;         /* "late" is answered this long after it arrived */
    int16_t late_stream[16];
    int64_t late_due[16];
    int nlate;
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
    } else if (!strcmp(text, "late")) {
        if (fk->nlate < 16) {
            fk->late_stream[fk->nlate] = f->stream;
            fk->late_due[fk->nlate++] = spate_mono_ms() + fk->late_ms;
        }
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
        fk->nlate = 0;
        while (open && !fk->stop) {
            for (int i = 0; i < fk->nlate; i++) {
                if (fk->late_due[i] > spate_mono_ms())
                    continue;
                put_keyspace(fd, fk->late_stream[i], "late");
                fk->late_stream[i] = fk->late_stream[--fk->nlate];
                fk->late_due[i--] = fk->late_due[fk->nlate];
            }
            struct pollfd c = {.fd = fd, .events = POLLIN};
            if (poll(&c, 1, 5) <= 0)
                continue;
            char buf[4096];
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0)
                break;
            cql__decoder_feed(&d, buf, (size_t)n);
            struct cql_frame f;
            while (open && cql__decoder_next(&d, &f) == 0) {
                if (fk->mute) {
                    free(f.body);
                    continue;
                }
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
        {"unknown_stream", "that no request waits for"},
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

/* A port that requires TLS closes on a plain client's first bytes: the
 * error says that this is what such a port does, and which setting it is. */
static void test_plain_client_at_a_tls_port(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 1), 0);
    socklen_t al = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = accept(lfd, NULL, NULL);
        char buf[512];
        if (fd >= 0 && read(fd, buf, sizeof buf) >= 0)
            close(fd);
        _exit(0);
    }
    close(lfd);
    char err[512];
    int rc = cql_probe("127.0.0.1", ntohs(a.sin_port), 2000, err, sizeof err);
    waitpid(pid, NULL, 0);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "requires TLS"));
    assert_non_null(strstr(err, "cassandra.tls.enabled"));
}

/* ---- stream ids of timed-out requests, heartbeats, reconnects ------------------------ */

static void config_fake(struct fake *fk, struct cql_session_config *c, int timeout_ms)
{
    static const char *cp[1];
    static char one[32];
    snprintf(one, sizeof one, "127.0.0.1:%d", fk->port);
    cp[0] = one;
    cql_session_config_init(c);
    c->contact_points = cp;
    c->contact_point_count = 1;
    c->request_timeout_ms = timeout_ms;
    c->reconnect_initial_ms = 10;
}

static struct cql_session *open_session(const struct cql_session_config *c)
{
    struct cql_session *s = NULL;
    char err[256];
    if (cql_session_new(c, &s, err, sizeof err))
        fail_msg("connect: %s", err);
    return s;
}

static int host_up(struct cql_session *s, size_t i)
{
    char b[80];
    int up = 0;
    cql_session_host(s, i, b, sizeof b, &up);
    return up;
}

/* Requests that time out keep their stream ids; a connection that piles up
 * too many of them is replaced rather than left ready with no id to give. */
static void test_orphans_replace_connection(void **state)
{
    struct fake *fk = *state;
    struct cql_session_config c;
    config_fake(fk, &c, 100);
    c.max_in_flight = 8;
    c.max_orphans = 3;
    struct cql_session *s = open_session(&c);
    assert_int_equal(fk->connections, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(run(s, "silent"), SPATE_ETIMEDOUT);
    /* the third orphan closed the connection; the next request gets a new one */
    int rc = run(s, "ok");
    if (rc)
        fail_msg("after the orphans: %s", cql_session_errstr(s));
    assert_int_equal(fk->connections, 2);
    assert_int_equal(cql__session_orphans(s), 0);
    cql_session_free(s);
}

/* A late answer frees the id it held: orphans come and go without the
 * connection ever reaching the threshold. */
static void test_late_answer_frees_id(void **state)
{
    struct fake *fk = *state;
    fk->late_ms = 250;
    struct cql_session_config c;
    config_fake(fk, &c, 100);
    c.max_in_flight = 4;
    c.max_orphans = 3;
    struct cql_session *s = open_session(&c);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(run(s, "late"), SPATE_ETIMEDOUT);
        assert_int_equal(run(s, "late"), SPATE_ETIMEDOUT);
        assert_int_equal(cql__session_orphans(s), 2);
        for (int64_t end = spate_mono_ms() + 1000;
             cql__session_orphans(s) > 0 && spate_mono_ms() < end;)
            cql_session_poll(s, 20);
        assert_int_equal(cql__session_orphans(s), 0);
    }
    assert_int_equal(run(s, "ok"), 0);
    assert_int_equal(fk->connections, 1);
    cql_session_free(s);
}

/* A blocking call with every stream id taken gives up after its timeout with
 * a clear error instead of polling until something frees an id. */
static void test_blocking_call_times_out_without_ids(void **state)
{
    struct fake *fk = *state;
    struct cql_session_config c;
    config_fake(fk, &c, 5000);
    c.max_in_flight = 2;
    c.max_orphans = 2;
    struct cql_session *s = open_session(&c);
    struct pair a = {0}, b = {0};
    assert_int_equal(cql_query_async(s, "silent", NULL, 0, NULL, on_ks, &a), 0);
    assert_int_equal(cql_query_async(s, "silent", NULL, 0, NULL, on_ks, &b), 0);
    struct cql_query_opts o = {.timeout_ms = 200};
    int64_t t0 = spate_mono_ms();
    assert_int_equal(cql_query(s, "ok", NULL, 0, &o, NULL), SPATE_ETIMEDOUT);
    int64_t took = spate_mono_ms() - t0;
    if (took < 190 || took > 1500)
        fail_msg("gave up after %lld ms", (long long)took);
    assert_non_null(strstr(cql_session_errstr(s), "free stream id"));
    cql_session_free(s);
}

/* A server that stops answering is found out by the heartbeat even with no
 * request in flight; an answering one keeps its connection. */
static void test_heartbeat_detects_hung_server(void **state)
{
    struct fake *fk = *state;
    struct cql_session_config c;
    config_fake(fk, &c, 200);
    c.heartbeat_interval_ms = 100;
    c.reconnect_initial_ms = 5000; /* stays down once found dead */
    c.reconnect_max_ms = 5000;
    struct cql_session *s = open_session(&c);
    assert_int_equal(run(s, "ok"), 0);
    for (int64_t end = spate_mono_ms() + 500; spate_mono_ms() < end;)
        cql_session_poll(s, 50);
    assert_true(host_up(s, 0));
    assert_int_equal(fk->connections, 1);
    fk->mute = 1;
    int64_t t0 = spate_mono_ms();
    while (host_up(s, 0) && spate_mono_ms() - t0 < 3000)
        cql_session_poll(s, 50);
    int64_t took = spate_mono_ms() - t0;
    if (host_up(s, 0))
        fail_msg("a server that answers nothing still counts as up after %lld ms", (long long)took);
    assert_true(took < 1000); /* interval + request timeout, and some slack */
    fk->mute = 0;
    cql_session_free(s);
}

/* Every socket asks the kernel to probe an idle peer. */
static void test_keepalive(void **state)
{
    struct fake *fk = *state;
    struct cql_conn conn;
    struct cql_conn_opts o = {.connect_timeout_ms = 1000, .max_streams = 4};
    char err[256];
    assert_int_equal(cql__conn_open(&conn, "127.0.0.1", fk->port, &o, err, sizeof err), 0);
    int on = 0;
    socklen_t l = sizeof on;
    assert_int_equal(getsockopt(conn.fd, SOL_SOCKET, SO_KEEPALIVE, &on, &l), 0);
    assert_int_equal(on, 1);
    cql__conn_close(&conn);
}

/* A listening socket nobody accepts on, its queue already full: SYNs to it
 * are dropped, so a connect neither succeeds nor fails. */
struct black_hole {
    int lfd;
    int port;
    int fill[8];
};

static void black_hole_open(struct black_hole *b)
{
    b->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(b->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(b->lfd, 0), 0);
    socklen_t al = sizeof a;
    getsockname(b->lfd, (struct sockaddr *)&a, &al);
    b->port = ntohs(a.sin_port);
    for (int i = 0; i < 8; i++) {
        b->fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(b->fill[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(50000); /* the handshakes of the fillers complete (or stall) */
}

static void black_hole_close(struct black_hole *b)
{
    for (int i = 0; i < 8; i++)
        close(b->fill[i]);
    close(b->lfd);
}

/* One contact point never answers while another does: requests to the good
 * node complete at once while the session keeps trying the bad one. */
static void test_black_hole_does_not_stall_session(void **state)
{
    struct fake *fk = *state;
    struct black_hole bh;
    black_hole_open(&bh);
    char good[32], bad[32];
    snprintf(good, sizeof good, "127.0.0.1:%d", fk->port);
    snprintf(bad, sizeof bad, "127.0.0.1:%d", bh.port);
    const char *cp[] = {bad, good};
    struct cql_session_config c;
    cql_session_config_init(&c);
    c.contact_points = cp;
    c.contact_point_count = 2;
    c.connect_timeout_ms = 300;
    c.request_timeout_ms = 2000;
    c.reconnect_initial_ms = 10;
    c.reconnect_max_ms = 20; /* attempt the bad host all the time */
    int64_t t0 = spate_mono_ms();
    struct cql_session *s = open_session(&c);
    int64_t opened = spate_mono_ms() - t0;
    if (opened > 1500)
        fail_msg("opening the session took %lld ms", (long long)opened);
    assert_false(host_up(s, 0));
    assert_true(host_up(s, 1));
    int64_t worst = 0;
    t0 = spate_mono_ms();
    int n = 0;
    while (spate_mono_ms() - t0 < 1200) { /* several connect timeouts of the bad host */
        int64_t q0 = spate_mono_ms();
        int rc = run(s, "ok");
        if (rc)
            fail_msg("request %d: %s", n, cql_session_errstr(s));
        int64_t took = spate_mono_ms() - q0;
        if (took > worst)
            worst = took;
        n++;
        cql_session_poll(s, 5);
    }
    if (worst > 100)
        fail_msg("a request to the good node took %lld ms while the bad one was reconnecting",
                 (long long)worst);
    assert_false(host_up(s, 0));
    cql_session_free(s);
    black_hole_close(&bh);
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
        cmocka_unit_test_setup_teardown(test_orphans_replace_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_answer_frees_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_call_times_out_without_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_detects_hung_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_black_hole_does_not_stall_session, setup, teardown),
        cmocka_unit_test(test_plain_client_at_a_tls_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
