/* SPDX-License-Identifier: Apache-2.0 */
/* test_cql_codec.c -- CQL v4 frames and messages against byte vectors derived by hand from the spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cql/cql_internal.h"

#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__})

static void assert_buf(const struct spate_buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
}

/* ---- requests ----------------------------------------------------------------- */

static void test_startup(void **st)
{
    (void)st;
    struct spate_buf b = {0};
    assert_int_equal(cql__enc_startup(&b, 0, NULL), 0);
    /* header: version 4, flags 0, stream 0, opcode STARTUP, length 22 */
    static const uint8_t want[] = {0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x16,
                                   0x00, 0x01, 0x00, 0x0b, 'C',  'Q',  'L',  '_',  'V',
                                   'E',  'R',  'S',  'I',  'O',  'N',  0x00, 0x05, '3',
                                   '.',  '0',  '.',  '0'};
    assert_buf(&b, want, sizeof want);
    spate_buf_reset(&b);
    assert_int_equal(cql__enc_startup(&b, 1, "lz4"), 0);
    assert_int_equal(b.len, 9 + 22 + 2 + 11 + 2 + 3);
    assert_int_equal(b.data[10], 2); /* two options */
    spate_buf_free(&b);
}

static void test_options_and_stream(void **st)
{
    (void)st;
    struct spate_buf b = {0};
    assert_int_equal(cql__enc_options(&b, 0x1234), 0);
    assert_buf(&b, BYTES(0x04, 0x00, 0x12, 0x34, 0x05, 0, 0, 0, 0), 9);
    cql__frame_set_stream((uint8_t *)b.data, 32767);
    assert_buf(&b, BYTES(0x04, 0x00, 0x7f, 0xff, 0x05, 0, 0, 0, 0), 9);
    spate_buf_free(&b);
}

static void test_query_plain(void **st)
{
    (void)st;
    struct spate_buf b = {0};
    struct cql_params p = {.consistency = 1, .serial_consistency = -1};
    assert_int_equal(cql__enc_query(&b, 2, 0, "SELECT 1", 8, &p), 0);
    static const uint8_t want[] = {0x04, 0, 0x00, 0x02, 0x07, 0, 0, 0, 15,  0,   0,  0,
                                   8,    'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0x00, 0x01, 0x00};
    assert_buf(&b, want, sizeof want);
    spate_buf_free(&b);
}

static void test_query_all_flags(void **st)
{
    (void)st;
    struct spate_buf b = {0};
    const uint8_t vals[] = {0, 0, 0, 1, 0x2a, 0xff, 0xff, 0xff, 0xff}; /* [value] 42, [value] null */
    const uint8_t ps[] = {0xab, 0xcd};
    struct cql_params p = {.consistency = 4, /* QUORUM */
                           .serial_consistency = 9, /* LOCAL_SERIAL */
                           .skip_metadata = 1,
                           .page_size = 100,
                           .paging_state = ps,
                           .paging_state_len = 2,
                           .has_timestamp = 1,
                           .timestamp = 1700000000000000LL,
                           .values = vals,
                           .values_len = sizeof vals,
                           .value_count = 2};
    assert_int_equal(cql__enc_params(&b, &p), 0);
    static const uint8_t want[] = {
        0x00, 0x04,                               /* consistency QUORUM */
        0x3f,                                     /* values|skip|page|state|serial|timestamp */
        0x00, 0x02,                               /* 2 values */
        0, 0, 0, 1, 0x2a, 0xff, 0xff, 0xff, 0xff, /* the values */
        0, 0, 0, 100,                             /* page size */
        0, 0, 0, 2, 0xab, 0xcd,                   /* paging state */
        0x00, 0x09,                               /* serial consistency */
        0x00, 0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x00, /* 1700000000000000 */
    };
    assert_buf(&b, want, sizeof want);
    spate_buf_free(&b);
}

static void test_prepare_execute(void **st)
{
    (void)st;
    struct spate_buf b = {0};
    assert_int_equal(cql__enc_prepare(&b, 3, 0, "X", 1), 0);
    assert_buf(&b, BYTES(0x04, 0, 0, 3, 0x09, 0, 0, 0, 5, 0, 0, 0, 1, 'X'), 14);
    spate_buf_reset(&b);
    const uint8_t id[] = {0xde, 0xad};
    struct cql_params p = {.consistency = 0x0a, .serial_consistency = -1, .has_values = 1};
    assert_int_equal(cql__enc_execute(&b, 4, 0, id, 2, &p), 0);
    assert_buf(&b,
               BYTES(0x04, 0, 0, 4, 0x0a, 0, 0, 0, 9, 0, 2, 0xde, 0xad, 0x00, 0x0a, 0x01, 0x00,
                     0x00),
               18);
    spate_buf_free(&b);
}

static void test_batch(void **st)
{
    (void)st;
    struct spate_buf b = {0};
    const uint8_t v[] = {0, 0, 0, 1, 7};
    const uint8_t id[] = {0x01};
    struct cql_batch_entry e[2] = {
        {.query = "Q", .query_len = 1},
        {.id = id, .id_len = 1, .values = v, .values_len = sizeof v, .value_count = 1}};
    assert_int_equal(cql__enc_batch(&b, 0, 0, 1, e, 2, 1, 8, 1, 5), 0);
    static const uint8_t want[] = {0x04, 0, 0, 0, 0x0d, 0, 0, 0, 35,
                                   0x01,                   /* unlogged */
                                   0x00, 0x02,             /* two statements */
                                   0x00, 0, 0, 0, 1, 'Q', 0x00, 0x00, /* kind 0, no values */
                                   0x01, 0x00, 0x01, 0x01, 0x00, 0x01, 0, 0, 0, 1, 7,
                                   0x00, 0x01,             /* ONE */
                                   0x30,                   /* serial + timestamp */
                                   0x00, 0x08,             /* SERIAL */
                                   0, 0, 0, 0, 0, 0, 0, 5};
    assert_buf(&b, want, sizeof want);
    spate_buf_free(&b);
}

static void test_register_auth(void **st)
{
    (void)st;
    struct spate_buf b = {0};
    const char *ev[] = {"STATUS_CHANGE"};
    assert_int_equal(cql__enc_register(&b, 0, ev, 1), 0);
    assert_int_equal(b.len, 9 + 2 + 2 + 13);
    assert_int_equal((uint8_t)b.data[4], CQL_OP_REGISTER);
    spate_buf_reset(&b);
    assert_int_equal(cql__enc_auth_response(&b, 0, "\0u\0p", 4), 0);
    assert_buf(&b, BYTES(0x04, 0, 0, 0, 0x0f, 0, 0, 0, 8, 0, 0, 0, 4, 0, 'u', 0, 'p'), 17);
    spate_buf_free(&b);
}

/* ---- decoder ------------------------------------------------------------------------ */

static void test_decoder_byte_by_byte(void **st)
{
    (void)st;
    struct cql_decoder d;
    cql__decoder_init(&d, 0, CQL_VERSION_RESPONSE);
    const uint8_t ready[] = {0x84, 0, 0, 7, 0x02, 0, 0, 0, 0};
    const uint8_t ks[] = {0x84, 0, 0, 8, 0x08, 0, 0, 0, 9, 0, 0, 0, 3, 0, 3, 'a', 'b', 'c'};
    struct cql_frame f;
    for (size_t i = 0; i < sizeof ready; i++) {
        assert_int_equal(cql__decoder_next(&d, &f), SPATE_ENEEDMORE);
        cql__decoder_feed(&d, ready + i, 1);
    }
    assert_int_equal(cql__decoder_next(&d, &f), 0);
    assert_int_equal(f.opcode, CQL_OP_READY);
    assert_int_equal(f.stream, 7);
    assert_int_equal(f.len, 0);
    free(f.body);
    cql__decoder_feed(&d, ks, sizeof ks);
    cql__decoder_feed(&d, ready, 4); /* a partial frame behind it */
    assert_int_equal(cql__decoder_next(&d, &f), 0);
    assert_int_equal(f.opcode, CQL_OP_RESULT);
    struct cql_response r;
    char err[128];
    assert_int_equal(cql__response_parse(&f, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r.result->kind, CQL_RESULT_SET_KEYSPACE);
    assert_string_equal(cql_result_info(r.result), "abc");
    cql__response_free(&r);
    assert_int_equal(cql__decoder_next(&d, &f), SPATE_ENEEDMORE);
    cql__decoder_free(&d);
}

static void test_decoder_errors(void **st)
{
    (void)st;
    struct cql_decoder d;
    struct cql_frame f;
    /* request version from a server */
    cql__decoder_init(&d, 0, CQL_VERSION_RESPONSE);
    cql__decoder_feed(&d, BYTES(0x04, 0, 0, 0, 0x02, 0, 0, 0, 0), 9);
    assert_int_equal(cql__decoder_next(&d, &f), SPATE_EPROTO);
    assert_int_equal(cql__decoder_next(&d, &f), SPATE_EPROTO); /* sticky */
    cql__decoder_free(&d);
    /* opcode 0x04 does not exist */
    cql__decoder_init(&d, 0, CQL_VERSION_RESPONSE);
    cql__decoder_feed(&d, BYTES(0x84, 0, 0, 0, 0x04, 0, 0, 0, 0), 9);
    assert_int_equal(cql__decoder_next(&d, &f), SPATE_EPROTO);
    assert_non_null(strstr(d.errstr, "opcode"));
    cql__decoder_free(&d);
    /* oversized and negative lengths fail before any allocation */
    cql__decoder_init(&d, 1024, CQL_VERSION_RESPONSE);
    cql__decoder_feed(&d, BYTES(0x84, 0, 0, 0, 0x08, 0, 0, 0x04, 0x01), 9);
    assert_int_equal(cql__decoder_next(&d, &f), SPATE_ETOOBIG);
    cql__decoder_free(&d);
    cql__decoder_init(&d, 0, CQL_VERSION_RESPONSE);
    cql__decoder_feed(&d, BYTES(0x84, 0, 0, 0, 0x08, 0xff, 0xff, 0xff, 0xff), 9);
    assert_int_equal(cql__decoder_next(&d, &f), SPATE_ETOOBIG);
    cql__decoder_free(&d);
    /* compressed flag without negotiation */
    cql__decoder_init(&d, 0, CQL_VERSION_RESPONSE);
    cql__decoder_feed(&d, BYTES(0x84, 0x01, 0, 0, 0x02, 0, 0, 0, 0), 9);
    assert_int_equal(cql__decoder_next(&d, &f), SPATE_EPROTO);
    cql__decoder_free(&d);
}

static void test_lz4_roundtrip(void **st)
{
    (void)st;
    struct spate_buf b = {0};
    char q[300];
    memset(q, 'a', sizeof q);
    struct cql_params p = {.consistency = 1, .serial_consistency = -1};
    assert_int_equal(cql__enc_query(&b, 9, 1, q, sizeof q, &p), 0);
    assert_true(b.data[1] & CQL_FLAG_COMPRESSION);
    assert_true(b.len < 100); /* 300 'a's compress */
    /* a server-side decoder sees the original body */
    struct cql_decoder d;
    cql__decoder_init(&d, 0, CQL_VERSION_REQUEST);
    d.lz4 = 1;
    cql__decoder_feed(&d, b.data, b.len);
    struct cql_frame f;
    assert_int_equal(cql__decoder_next(&d, &f), 0);
    assert_int_equal(f.flags & CQL_FLAG_COMPRESSION, 0);
    assert_int_equal(f.len, 4 + 300 + 3);
    assert_int_equal(cql__get_i32(f.body), 300);
    assert_int_equal(f.body[4], 'a');
    free(f.body);
    cql__decoder_free(&d);
    /* corrupt compressed body */
    cql__decoder_init(&d, 0, CQL_VERSION_RESPONSE);
    d.lz4 = 1;
    cql__decoder_feed(&d, BYTES(0x84, 0x01, 0, 0, 0x08, 0, 0, 0, 6, 0, 0, 0x10, 0, 0xff, 0xff), 15);
    assert_int_equal(cql__decoder_next(&d, &f), SPATE_EPARSE);
    cql__decoder_free(&d);
    spate_buf_free(&b);
}

/* ---- responses ---------------------------------------------------------------------------- */

static int parse_body(uint8_t opcode, uint8_t flags, const uint8_t *body, size_t len,
                      const struct cql_metadata *fb, struct cql_response *r)
{
    struct cql_frame f = {.version = 0x84, .flags = flags, .opcode = opcode, .len = len};
    f.body = malloc(len ? len : 1);
    memcpy(f.body, body, len);
    char err[256];
    return cql__response_parse(&f, fb, r, err, sizeof err);
}

static void test_error_unavailable(void **st)
{
    (void)st;
    static const uint8_t body[] = {0, 0, 0x10, 0x00, 0, 4, 'g', 'o', 'n', 'e',
                                   0, 4,                          /* QUORUM */
                                   0, 0, 0, 2, 0, 0, 0, 1};
    struct cql_response r;
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, body, sizeof body, NULL, &r), 0);
    assert_int_equal(r.error.server_code, 0x1000);
    assert_int_equal(r.error.status, SPATE_EUNAVAILABLE);
    assert_string_equal(r.error.message, "Unavailable: consistency QUORUM required 2 alive 1 (gone)");
    cql__response_free(&r);
    /* truncated details */
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, body, sizeof body - 1, NULL, &r), SPATE_EPARSE);
}

static void test_error_kinds(void **st)
{
    (void)st;
    struct cql_response r;
    static const uint8_t wt[] = {0, 0, 0x11, 0x00, 0, 1, 'm', 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
                                 0, 6, 'S', 'I', 'M', 'P', 'L', 'E'};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, wt, sizeof wt, NULL, &r), 0);
    assert_int_equal(r.error.status, SPATE_ETIMEDOUT);
    assert_string_equal(r.error.message,
                        "Write timeout: consistency ONE received 0 of 1, write type SIMPLE (m)");
    cql__response_free(&r);
    static const uint8_t rt[] = {0, 0, 0x12, 0x00, 0, 1, 'm', 0, 6, 0, 0, 0, 1, 0, 0, 0, 2, 0};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, rt, sizeof rt, NULL, &r), 0);
    assert_string_equal(r.error.message,
                        "Read timeout: consistency LOCAL_QUORUM received 1 of 2, data missing (m)");
    cql__response_free(&r);
    static const uint8_t rf[] = {0, 0, 0x13, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
                                 0, 0, 0, 1, 1};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, rf, sizeof rf, NULL, &r), 0);
    assert_non_null(strstr(r.error.message, "1 failed, data present"));
    cql__response_free(&r);
    static const uint8_t ae[] = {0, 0, 0x24, 0x00, 0, 0, 0, 2, 'k', 's', 0, 1, 't'};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, ae, sizeof ae, NULL, &r), 0);
    assert_int_equal(r.error.status, SPATE_EEXISTS);
    assert_string_equal(r.error.message, "Already exists: ks.t ()");
    cql__response_free(&r);
    static const uint8_t up[] = {0, 0, 0x25, 0x00, 0, 0, 0, 2, 0xca, 0xfe};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, up, sizeof up, NULL, &r), 0);
    assert_int_equal(r.unprepared_id_len, 2);
    assert_int_equal(r.unprepared_id[0], 0xca);
    assert_non_null(strstr(r.error.message, "0xcafe"));
    cql__response_free(&r);
    static const uint8_t bad_creds[] = {0, 0, 0x01, 0x00, 0, 3, 'b', 'a', 'd'};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, bad_creds, sizeof bad_creds, NULL, &r), 0);
    assert_int_equal(r.error.status, SPATE_EAUTH);
    assert_string_equal(r.error.message, "Authentication error: bad");
    cql__response_free(&r);
    static const uint8_t syn[] = {0, 0, 0x20, 0x00, 0, 1, 'x'};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, syn, sizeof syn, NULL, &r), 0);
    assert_int_equal(r.error.status, SPATE_ESERVER);
    assert_string_equal(r.error.message, "Syntax error: x");
    cql__response_free(&r);
    static const uint8_t ff[] = {0, 0, 0x14, 0x00, 0, 0, 0, 1, 'k', 0, 1, 'f', 0, 1, 0, 3, 'i', 'n', 't'};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, ff, sizeof ff, NULL, &r), 0);
    assert_non_null(strstr(r.error.message, "function k.f"));
    cql__response_free(&r);
    static const uint8_t wf[] = {0, 0, 0x15, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
                                 0, 0, 0, 1, 0, 5, 'B', 'A', 'T', 'C', 'H'};
    assert_int_equal(parse_body(CQL_OP_ERROR, 0, wf, sizeof wf, NULL, &r), 0);
    assert_non_null(strstr(r.error.message, "write type BATCH"));
    cql__response_free(&r);
}

static void test_supported_authenticate_events(void **st)
{
    (void)st;
    struct cql_response r;
    static const uint8_t sup[] = {0, 1, 0, 11, 'C', 'O', 'M', 'P', 'R', 'E', 'S', 'S', 'I', 'O', 'N',
                                  0, 2, 0, 6, 's', 'n', 'a', 'p', 'p', 'y', 0, 3, 'l', 'z', '4'};
    assert_int_equal(parse_body(CQL_OP_SUPPORTED, 0, sup, sizeof sup, NULL, &r), 0);
    assert_true(r.supports_lz4);
    assert_string_equal(r.text, "COMPRESSION=snappy,lz4");
    cql__response_free(&r);
    static const uint8_t au[] = {0, 3, 'P', 'w', 'd'};
    assert_int_equal(parse_body(CQL_OP_AUTHENTICATE, 0, au, sizeof au, NULL, &r), 0);
    assert_string_equal(r.text, "Pwd");
    cql__response_free(&r);
    static const uint8_t ok[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(parse_body(CQL_OP_AUTH_SUCCESS, 0, ok, sizeof ok, NULL, &r), 0);
    assert_int_equal(r.token_len, -1);
    cql__response_free(&r);
    static const uint8_t ev[] = {0, 13, 'S', 'T', 'A', 'T', 'U', 'S', '_', 'C', 'H', 'A', 'N', 'G', 'E',
                                 0, 4, 'D', 'O', 'W', 'N', 4, 127, 0, 0, 2, 0, 0, 0x23, 0x52};
    assert_int_equal(parse_body(CQL_OP_EVENT, 0, ev, sizeof ev, NULL, &r), 0);
    assert_string_equal(r.event_detail, "DOWN 127.0.0.2:9042");
    cql__response_free(&r);
    static const uint8_t sc[] = {0, 13, 'S', 'C', 'H', 'E', 'M', 'A', '_', 'C', 'H', 'A', 'N', 'G', 'E',
                                 0, 7, 'C', 'R', 'E', 'A', 'T', 'E', 'D', 0, 5, 'T', 'A', 'B', 'L', 'E',
                                 0, 2, 'k', 's', 0, 1, 't'};
    assert_int_equal(parse_body(CQL_OP_EVENT, 0, sc, sizeof sc, NULL, &r), 0);
    assert_string_equal(r.event_detail, "CREATED TABLE ks.t");
    cql__response_free(&r);
    /* an unexpected opcode for a response */
    assert_int_equal(parse_body(CQL_OP_QUERY, 0, ok, sizeof ok, NULL, &r), SPATE_EPROTO);
}

static void test_result_void_schema_warnings(void **st)
{
    (void)st;
    struct cql_response r;
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, BYTES(0, 0, 0, 1), 4, NULL, &r), 0);
    assert_int_equal(cql_result_kind(r.result), CQL_RESULT_VOID);
    cql__response_free(&r);
    static const uint8_t sc[] = {0, 0, 0, 5, 0, 7, 'C', 'R', 'E', 'A', 'T', 'E', 'D',
                                 0, 8, 'K', 'E', 'Y', 'S', 'P', 'A', 'C', 'E', 0, 2, 'k', 's'};
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, sc, sizeof sc, NULL, &r), 0);
    assert_string_equal(cql_result_info(r.result), "CREATED KEYSPACE ks");
    cql__response_free(&r);
    /* tracing id + warning flag before the body */
    uint8_t tw[16 + 2 + 2 + 4 + 4];
    memset(tw, 0x11, 16);
    memcpy(tw + 16, BYTES(0, 1, 0, 4, 'w', 'a', 'r', 'n', 0, 0, 0, 1), 12);
    assert_int_equal(parse_body(CQL_OP_RESULT, CQL_FLAG_TRACING | CQL_FLAG_WARNING, tw, sizeof tw,
                                NULL, &r),
                     0);
    assert_int_equal(cql_result_warning_count(r.result), 1);
    assert_string_equal(cql_result_warning(r.result, 0), "warn");
    cql__response_free(&r);
    /* unknown result kind */
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, BYTES(0, 0, 0, 9), 4, NULL, &r), SPATE_EPROTO);
}

/* Rows: global spec ks.t, columns a int, b text, c list<int>; 2 rows, paging state. */
static const uint8_t rows_body[] = {
    0, 0, 0, 2,             /* Rows */
    0, 0, 0, 3,             /* flags: global spec | has more pages */
    0, 0, 0, 3,             /* 3 columns */
    0, 0, 0, 2, 0xaa, 0xbb, /* paging state */
    0, 2, 'k', 's', 0, 1, 't',
    0, 1, 'a', 0, 0x09,
    0, 1, 'b', 0, 0x0d,
    0, 1, 'c', 0, 0x20, 0, 0x09,
    0, 0, 0, 2, /* rows */
    0, 0, 0, 4, 0x80, 0, 0, 0,     0, 0, 0, 2, 'h', 'i',
    0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7,
    0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0,
};

static void test_result_rows(void **st)
{
    (void)st;
    struct cql_response r;
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, rows_body, sizeof rows_body, NULL, &r), 0);
    struct cql_result *res = r.result;
    assert_int_equal(cql_result_kind(res), CQL_RESULT_ROWS);
    assert_int_equal(cql_result_row_count(res), 2);
    assert_int_equal(cql_result_column_count(res), 3);
    assert_string_equal(cql_result_column_name(res, 1), "b");
    assert_int_equal(cql_result_column_index(res, "c"), 2);
    assert_int_equal(cql_result_column_index(res, "zz"), -1);
    assert_true(cql_result_has_more_pages(res));
    const void *ps;
    size_t psl;
    cql_result_paging_state(res, &ps, &psl);
    assert_int_equal(psl, 2);
    int64_t v;
    assert_int_equal(cql_result_get_int64(res, 0, 0, &v), 0);
    assert_int_equal(v, INT32_MIN);
    assert_int_equal(cql_result_get_int64(res, 1, 0, &v), SPATE_ENOTFOUND);
    const char *p;
    size_t l;
    assert_int_equal(cql_result_get_bytes(res, 0, 1, &p, &l), 0);
    assert_int_equal(l, 2);
    assert_memory_equal(p, "hi", 2);
    assert_int_equal(cql_result_get_bytes(res, 1, 1, &p, &l), 0); /* empty string, not null */
    assert_int_equal(l, 0);
    assert_int_equal(cql_result_get_int64(res, 0, 1, &v), SPATE_ETYPE);
    assert_int_equal(cql_result_get_int64(res, 2, 0, &v), SPATE_ERANGE);
    struct spate_buf b = {0};
    assert_int_equal(cql_result_format_cell(res, 0, 2, 0, &b), 0);
    assert_int_equal(cql_result_format_cell(res, 1, 2, 1, &b), 0);
    spate_buf_append(&b, "", 1);
    assert_string_equal(b.data, "[7][]");
    spate_buf_free(&b);
    char tn[64];
    assert_string_equal(cql_type_str(cql_result_column_type(res, 2), tn, sizeof tn), "list<int>");
    cql__response_free(&r);
    /* every truncation of the body is an error, never a crash */
    for (size_t n = 0; n < sizeof rows_body; n++) {
        int rc = parse_body(CQL_OP_RESULT, 0, rows_body, n, NULL, &r);
        assert_int_not_equal(rc, 0);
    }
}

static void test_result_rows_bad_cell(void **st)
{
    (void)st;
    /* an int column whose cell has 3 bytes */
    static const uint8_t body[] = {0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't',
                                   0, 1, 'a', 0, 0x09, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3};
    struct cql_response r;
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, body, sizeof body, NULL, &r), SPATE_EPARSE);
    /* a huge row count with few bytes must not allocate */
    static const uint8_t huge[] = {0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't',
                                   0, 1, 'a', 0, 0x09, 0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, huge, sizeof huge, NULL, &r), SPATE_EPARSE);
    /* unknown type id */
    static const uint8_t badtype[] = {0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't',
                                      0, 1, 'a', 0, 0x0A, 0, 0, 0, 0};
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, badtype, sizeof badtype, NULL, &r), SPATE_EPARSE);
}

static void test_result_prepared_and_no_metadata(void **st)
{
    (void)st;
    static const uint8_t body[] = {
        0, 0, 0, 4,                 /* Prepared */
        0, 2, 0x12, 0x34,           /* id */
        0, 0, 0, 1, 0, 0, 0, 2,     /* flags global, 2 markers */
        0, 0, 0, 1, 0, 1,           /* pk count 1: index 1 */
        0, 2, 'k', 's', 0, 1, 't',
        0, 1, 'v', 0, 0x0d,
        0, 2, 'i', 'd', 0, 0x0c,
        0, 0, 0, 1, 0, 0, 0, 1,     /* result metadata: global, 1 column */
        0, 2, 'k', 's', 0, 1, 't',
        0, 1, 'n', 0, 0x02,
    };
    struct cql_response r;
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, body, sizeof body, NULL, &r), 0);
    struct cql_result *p = r.result;
    assert_int_equal(p->prepared_id_len, 2);
    assert_int_equal(p->params.column_count, 2);
    assert_int_equal(p->pk_count, 1);
    assert_int_equal(p->pk_indexes[0], 1);
    assert_int_equal(p->params.columns[1].type->id, CQL_TYPE_UUID);
    assert_int_equal(p->result_meta.column_count, 1);
    /* now a Rows result with NO_METADATA uses the prepared result metadata */
    static const uint8_t rows[] = {0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1,
                                   0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 42};
    struct cql_response r2;
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, rows, sizeof rows, NULL, &r2), SPATE_EPROTO);
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, rows, sizeof rows, &p->result_meta, &r2), 0);
    int64_t v;
    assert_int_equal(cql_result_get_int64(r2.result, 0, 0, &v), 0);
    assert_int_equal(v, 42);
    assert_string_equal(cql_result_column_name(r2.result, 0), "n");
    cql__response_free(&r2);
    cql__response_free(&r);
    /* pk index beyond the marker count */
    uint8_t bad[sizeof body];
    memcpy(bad, body, sizeof body);
    bad[21] = 5;
    assert_int_equal(parse_body(CQL_OP_RESULT, 0, bad, sizeof bad, NULL, &r), SPATE_EPARSE);
}

static void test_nested_type_depth(void **st)
{
    (void)st;
    /* list<list<...>> 40 deep is rejected */
    uint8_t t[2 * 41];
    for (int i = 0; i < 40; i++) {
        t[2 * i] = 0;
        t[2 * i + 1] = 0x20;
    }
    t[80] = 0;
    t[81] = 0x09;
    struct cql_reader rd;
    cql__reader_init(&rd, t, sizeof t);
    struct cql_type *ty;
    assert_int_equal(cql__type_parse(&rd, &ty, 0), SPATE_EPARSE);
    /* udt and tuple types parse */
    static const uint8_t udt[] = {0, 0x30, 0, 2, 'k', 's', 0, 4, 'a', 'd', 'd', 'r', 0, 2,
                                  0, 4, 'c', 'i', 't', 'y', 0, 0x0d, 0, 3, 'z', 'i', 'p', 0, 0x31,
                                  0, 2, 0, 0x09, 0, 0x22, 0, 0x0d};
    cql__reader_init(&rd, udt, sizeof udt);
    assert_int_equal(cql__type_parse(&rd, &ty, 0), 0);
    char buf[128];
    assert_string_equal(cql_type_str(ty, buf, sizeof buf), "addr");
    assert_string_equal(cql_type_str(ty->sub[1], buf, sizeof buf), "tuple<int, set<text>>");
    assert_string_equal(ty->field_names[1], "zip");
    cql__type_free(ty);
    /* custom duration maps to the duration type */
    static const char dur[] = "\x00\x00\x00\x2c" "org.apache.cassandra.db.marshal.DurationType";
    cql__reader_init(&rd, dur, sizeof dur - 1);
    assert_int_equal(cql__type_parse(&rd, &ty, 0), 0);
    assert_int_equal(ty->id, CQL_TYPE_DURATION);
    cql__type_free(ty);
}

static void test_murmur3(void **st)
{
    (void)st;
    /* values the server computes: token(1) for an int key, token('local') */
    assert_int_equal(cql_murmur3_token(BYTES(0, 0, 0, 1), 4), -4069959284402364209LL);
    assert_int_equal(cql_murmur3_token("local", 5), -7564491331177403445LL);
    /* a tail byte >= 0x80 and a key longer than one block */
    assert_int_equal(cql_murmur3_token("a longer key with more than sixteen bytes \xc3\xa9", 44),
                     -385502235709558048LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startup),
        cmocka_unit_test(test_options_and_stream),
        cmocka_unit_test(test_query_plain),
        cmocka_unit_test(test_query_all_flags),
        cmocka_unit_test(test_prepare_execute),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_register_auth),
        cmocka_unit_test(test_decoder_byte_by_byte),
        cmocka_unit_test(test_decoder_errors),
        cmocka_unit_test(test_lz4_roundtrip),
        cmocka_unit_test(test_error_unavailable),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_supported_authenticate_events),
        cmocka_unit_test(test_result_void_schema_warnings),
        cmocka_unit_test(test_result_rows),
        cmocka_unit_test(test_result_rows_bad_cell),
        cmocka_unit_test(test_result_prepared_and_no_metadata),
        cmocka_unit_test(test_nested_type_depth),
        cmocka_unit_test(test_murmur3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
