/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_cql_frame.c -- libFuzzer target: server bytes -> frames -> responses -> formatted cells. */
#include "cql/cql_internal.h"

#include <stdlib.h>
#include <string.h>

/* A fixed prepared result metadata (int, text, list<int>) so NO_METADATA rows
 * are exercised too. */
static struct cql_metadata fallback;

static void init_fallback(void)
{
    static const uint8_t meta[] = {0, 0, 0, 1, 0, 0, 0, 3, 0, 1, 'k', 0, 1, 't',
                                   0, 1, 'a', 0, 0x09, 0, 1, 'b', 0, 0x0d, 0, 1, 'c', 0, 0x20, 0, 0x09};
    static const uint8_t res[] = {0, 0, 0, 4, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    struct spate_buf b = {0};
    spate_buf_append(&b, res, sizeof res);
    spate_buf_append(&b, meta, sizeof meta);
    struct cql_frame f = {.version = 0x84, .opcode = CQL_OP_RESULT, .len = b.len};
    f.body = (uint8_t *)b.data;
    struct cql_response r;
    char err[128];
    if (cql__response_parse(&f, NULL, &r, err, sizeof err) == 0) {
        fallback = r.result->result_meta;
        memset(&r.result->result_meta, 0, sizeof r.result->result_meta);
        cql__response_free(&r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        init_fallback();
        inited = 1;
    }
    if (size < 1)
        return 0;
    /* first byte: options; the rest arrives in two chunks */
    uint8_t opt = data[0];
    data++;
    size--;
    struct cql_decoder d;
    cql__decoder_init(&d, 1 << 20, CQL_VERSION_RESPONSE);
    d.lz4 = opt & 1;
    size_t cut = size ? (opt >> 1) % (size + 1) : 0;
    cql__decoder_feed(&d, data, cut);
    for (int round = 0; round < 2; round++) {
        struct cql_frame f;
        while (cql__decoder_next(&d, &f) == 0) {
            struct cql_response r;
            char err[256];
            size_t flen = f.len;
            if (cql__response_parse(&f, (opt & 0x80) ? &fallback : NULL, &r, err, sizeof err) == 0) {
                if (r.result && r.result->kind == CQL_RESULT_ROWS) {
                    struct spate_buf out = {0};
                    struct cql_result *res = r.result;
                    for (size_t i = 0; i < cql_result_row_count(res) && i < 64; i++)
                        for (size_t c = 0; c < cql_result_column_count(res); c++) {
                            cql_result_format_cell(res, i, c, 0, &out);
                            cql_result_format_cell(res, i, c, 1, &out);
                            int64_t v;
                            double dv;
                            cql_result_get_int64(res, i, c, &v);
                            cql_result_get_double(res, i, c, &dv);
                            spate_buf_reset(&out);
                        }
                    spate_buf_free(&out);
                }
                cql__response_free(&r);
            }
            (void)flen;
            free(f.body);
        }
        if (round == 0)
            cql__decoder_feed(&d, data + cut, size - cut);
    }
    cql__decoder_free(&d);
    return 0;
}
