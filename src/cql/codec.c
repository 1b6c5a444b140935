/* SPDX-License-Identifier: Apache-2.0 */
/* codec.c -- CQL v4 frames and messages: bytes in, structs out; no I/O, clocks or logging. */
#include "cql_internal.h"

#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- decoder --------------------------------------------------------------------------- */

void cql__decoder_init(struct cql_decoder *d, size_t max_frame, uint8_t expect_version)
{
    memset(d, 0, sizeof *d);
    d->max_frame = max_frame ? max_frame : CQL_MAX_FRAME_DEFAULT;
    d->expect_version = expect_version;
}

void cql__decoder_reset(struct cql_decoder *d)
{
    spate_buf_reset(&d->in);
    d->off = 0;
    d->err = 0;
    d->errstr[0] = '\0';
    d->lz4 = 0;
}

void cql__decoder_free(struct cql_decoder *d)
{
    spate_buf_free(&d->in);
    d->off = 0;
}

int cql__decoder_feed(struct cql_decoder *d, const void *buf, size_t len)
{
    if (d->err)
        return d->err;
    /* Compact once the consumed prefix dominates, so the buffer stays bounded
     * by one frame plus one read. */
    if (d->off > 0 && (d->off == d->in.len || d->off > 65536)) {
        memmove(d->in.data, d->in.data + d->off, d->in.len - d->off);
        d->in.len -= d->off;
        d->off = 0;
    }
    return spate_buf_append(&d->in, buf, len);
}

static int dec_fail(struct cql_decoder *d, int code, const char *msg)
{
    d->err = code;
    spate_strlcpy(d->errstr, msg, sizeof d->errstr);
    return code;
}

static int known_opcode(uint8_t op)
{
    return op <= CQL_OP_AUTH_SUCCESS && op != 0x04;
}

int cql__decoder_next(struct cql_decoder *d, struct cql_frame *f)
{
    if (d->err)
        return d->err;
    size_t avail = d->in.len - d->off;
    if (avail < CQL_HEADER_LEN)
        return SPATE_ENEEDMORE;
    const uint8_t *h = (const uint8_t *)d->in.data + d->off;
    if (h[0] != d->expect_version) {
        char m[96];
        snprintf(m, sizeof m, "unexpected protocol version byte 0x%02x", h[0]);
        return dec_fail(d, SPATE_EPROTO, m);
    }
    if (!known_opcode(h[4])) {
        char m[64];
        snprintf(m, sizeof m, "unknown opcode 0x%02x", h[4]);
        return dec_fail(d, SPATE_EPROTO, m);
    }
    int32_t blen = cql__get_i32(h + 5);
    if (blen < 0 || (size_t)blen > d->max_frame) {
        char m[96];
        snprintf(m, sizeof m, "frame body length %d outside 0..%zu", blen, d->max_frame);
        return dec_fail(d, SPATE_ETOOBIG, m);
    }
    if (avail - CQL_HEADER_LEN < (size_t)blen)
        return SPATE_ENEEDMORE;
    const uint8_t *src = h + CQL_HEADER_LEN;
    uint8_t flags = h[1];
    uint8_t *body = NULL;
    size_t len = (size_t)blen;
    if (flags & CQL_FLAG_COMPRESSION) {
        if (!d->lz4)
            return dec_fail(d, SPATE_EPROTO, "compressed frame but no compression negotiated");
        if (blen < 4)
            return dec_fail(d, SPATE_EPARSE, "compressed body shorter than its length prefix");
        int32_t ulen = cql__get_i32(src);
        if (ulen < 0 || (size_t)ulen > d->max_frame)
            return dec_fail(d, SPATE_ETOOBIG, "uncompressed body length out of range");
        body = malloc(ulen > 0 ? (size_t)ulen : 1);
        if (!body)
            return dec_fail(d, SPATE_ENOMEM, "out of memory");
        int got = ulen == 0 && blen == 4
                      ? 0
                      : LZ4_decompress_safe((const char *)src + 4, (char *)body, blen - 4, ulen);
        if (got != ulen) {
            free(body);
            return dec_fail(d, SPATE_EPARSE, "corrupt LZ4 body");
        }
        len = (size_t)ulen;
        flags &= (uint8_t)~CQL_FLAG_COMPRESSION;
    } else {
        body = malloc(len ? len : 1);
        if (!body)
            return dec_fail(d, SPATE_ENOMEM, "out of memory");
        if (len)
            memcpy(body, src, len);
    }
    f->version = h[0];
    f->flags = flags;
    f->stream = (int16_t)cql__get_u16(h + 2);
    f->opcode = h[4];
    f->body = body;
    f->len = len;
    d->off += CQL_HEADER_LEN + (size_t)blen;
    return 0;
}

/* ---- request encoding ---------------------------------------------------------------------- */

int cql__frame_begin(struct spate_buf *b, uint8_t version, int16_t stream, uint8_t opcode,
                     size_t *start)
{
    uint8_t h[CQL_HEADER_LEN] = {version, 0, 0, 0, opcode, 0, 0, 0, 0};
    cql__put_u16(h + 2, (uint16_t)stream);
    *start = b->len;
    return spate_buf_append(b, h, sizeof h);
}

int cql__frame_end(struct spate_buf *b, size_t start, int lz4)
{
    size_t blen = b->len - start - CQL_HEADER_LEN;
    if (blen > INT32_MAX)
        return SPATE_ETOOBIG;
    /* Small bodies are not worth compressing; the flag says which we did. */
    if (lz4 && blen >= 64) {
        int bound = LZ4_compressBound((int)blen);
        char *tmp = malloc((size_t)bound + 4);
        if (!tmp)
            return SPATE_ENOMEM;
        cql__put_i32((uint8_t *)tmp, (int32_t)blen);
        int clen = LZ4_compress_default(b->data + start + CQL_HEADER_LEN, tmp + 4, (int)blen,
                                        bound);
        if (clen <= 0) {
            free(tmp);
            return SPATE_EINVAL;
        }
        b->len = start + CQL_HEADER_LEN;
        int rc = spate_buf_append(b, tmp, (size_t)clen + 4);
        free(tmp);
        if (rc)
            return rc;
        blen = (size_t)clen + 4;
        b->data[start + 1] |= CQL_FLAG_COMPRESSION;
    }
    cql__put_i32((uint8_t *)b->data + start + 5, (int32_t)blen);
    return 0;
}

int cql__frame_append(struct spate_buf *out, const void *frame, size_t len, int lz4)
{
    size_t start = out->len;
    int rc = spate_buf_append(out, frame, len);
    if (rc || !lz4)
        return rc;
    rc = cql__frame_end(out, start, 1);
    if (rc)
        out->len = start;
    return rc;
}

void cql__frame_set_stream(uint8_t *frame, int16_t stream)
{
    cql__put_u16(frame + 2, (uint16_t)stream);
}

#define TRY(x)                                                                                   \
    do {                                                                                         \
        int rc_ = (x);                                                                           \
        if (rc_)                                                                                 \
            return rc_;                                                                          \
    } while (0)

int cql__enc_params(struct spate_buf *b, const struct cql_params *p)
{
    uint8_t flags = 0;
    if (p->value_count > 0 || p->has_values)
        flags |= CQL_QF_VALUES;
    if (p->skip_metadata)
        flags |= CQL_QF_SKIP_METADATA;
    if (p->page_size > 0)
        flags |= CQL_QF_PAGE_SIZE;
    if (p->paging_state)
        flags |= CQL_QF_PAGING_STATE;
    if (p->serial_consistency >= 0)
        flags |= CQL_QF_SERIAL_CONSISTENCY;
    if (p->has_timestamp)
        flags |= CQL_QF_DEFAULT_TIMESTAMP;
    TRY(cql__wr_u16(b, (uint16_t)p->consistency));
    TRY(cql__wr_u8(b, flags));
    if (flags & CQL_QF_VALUES) {
        TRY(cql__wr_u16(b, p->value_count));
        TRY(spate_buf_append(b, p->values, p->values_len));
    }
    if (flags & CQL_QF_PAGE_SIZE)
        TRY(cql__wr_i32(b, p->page_size));
    if (flags & CQL_QF_PAGING_STATE) {
        if (p->paging_state_len > INT32_MAX)
            return SPATE_ETOOBIG;
        TRY(cql__wr_bytes(b, p->paging_state, (int32_t)p->paging_state_len));
    }
    if (flags & CQL_QF_SERIAL_CONSISTENCY)
        TRY(cql__wr_u16(b, (uint16_t)p->serial_consistency));
    if (flags & CQL_QF_DEFAULT_TIMESTAMP)
        TRY(cql__wr_i64(b, p->timestamp));
    return 0;
}

int cql__enc_startup(struct spate_buf *b, int16_t stream, const char *compression)
{
    size_t st;
    TRY(cql__frame_begin(b, CQL_VERSION_REQUEST, stream, CQL_OP_STARTUP, &st));
    TRY(cql__wr_u16(b, compression ? 2 : 1));
    TRY(cql__wr_string(b, "CQL_VERSION", 11));
    TRY(cql__wr_string(b, "3.0.0", 5));
    if (compression) {
        TRY(cql__wr_string(b, "COMPRESSION", 11));
        TRY(cql__wr_string(b, compression, strlen(compression)));
    }
    return cql__frame_end(b, st, 0);
}

int cql__enc_options(struct spate_buf *b, int16_t stream)
{
    size_t st;
    TRY(cql__frame_begin(b, CQL_VERSION_REQUEST, stream, CQL_OP_OPTIONS, &st));
    return cql__frame_end(b, st, 0);
}

int cql__enc_query(struct spate_buf *b, int16_t stream, int lz4, const char *query, size_t qlen,
                   const struct cql_params *p)
{
    size_t st;
    TRY(cql__frame_begin(b, CQL_VERSION_REQUEST, stream, CQL_OP_QUERY, &st));
    TRY(cql__wr_long_string(b, query, qlen));
    TRY(cql__enc_params(b, p));
    return cql__frame_end(b, st, lz4);
}

int cql__enc_prepare(struct spate_buf *b, int16_t stream, int lz4, const char *query, size_t qlen)
{
    size_t st;
    TRY(cql__frame_begin(b, CQL_VERSION_REQUEST, stream, CQL_OP_PREPARE, &st));
    TRY(cql__wr_long_string(b, query, qlen));
    return cql__frame_end(b, st, lz4);
}

int cql__enc_execute(struct spate_buf *b, int16_t stream, int lz4, const void *id, size_t idlen,
                     const struct cql_params *p)
{
    size_t st;
    TRY(cql__frame_begin(b, CQL_VERSION_REQUEST, stream, CQL_OP_EXECUTE, &st));
    TRY(cql__wr_short_bytes(b, id, idlen));
    TRY(cql__enc_params(b, p));
    return cql__frame_end(b, st, lz4);
}

int cql__enc_register(struct spate_buf *b, int16_t stream, const char *const *events, size_t n)
{
    size_t st;
    TRY(cql__frame_begin(b, CQL_VERSION_REQUEST, stream, CQL_OP_REGISTER, &st));
    TRY(cql__wr_u16(b, (uint16_t)n));
    for (size_t i = 0; i < n; i++)
        TRY(cql__wr_string(b, events[i], strlen(events[i])));
    return cql__frame_end(b, st, 0);
}

int cql__enc_auth_response(struct spate_buf *b, int16_t stream, const void *token, int32_t len)
{
    size_t st;
    TRY(cql__frame_begin(b, CQL_VERSION_REQUEST, stream, CQL_OP_AUTH_RESPONSE, &st));
    TRY(cql__wr_bytes(b, token, len));
    return cql__frame_end(b, st, 0);
}

int cql__enc_batch(struct spate_buf *b, int16_t stream, int lz4, int type,
                   const struct cql_batch_entry *e, size_t n, int consistency,
                   int serial_consistency, int has_timestamp, int64_t timestamp)
{
    if (n > 0xFFFF)
        return SPATE_ETOOBIG;
    size_t st;
    TRY(cql__frame_begin(b, CQL_VERSION_REQUEST, stream, CQL_OP_BATCH, &st));
    TRY(cql__wr_u8(b, (uint8_t)type));
    TRY(cql__wr_u16(b, (uint16_t)n));
    for (size_t i = 0; i < n; i++) {
        if (e[i].query) {
            TRY(cql__wr_u8(b, 0));
            TRY(cql__wr_long_string(b, e[i].query, e[i].query_len));
        } else {
            TRY(cql__wr_u8(b, 1));
            TRY(cql__wr_short_bytes(b, e[i].id, e[i].id_len));
        }
        TRY(cql__wr_u16(b, e[i].value_count));
        TRY(spate_buf_append(b, e[i].values, e[i].values_len));
    }
    uint8_t flags = 0;
    if (serial_consistency >= 0)
        flags |= CQL_QF_SERIAL_CONSISTENCY;
    if (has_timestamp)
        flags |= CQL_QF_DEFAULT_TIMESTAMP;
    TRY(cql__wr_u16(b, (uint16_t)consistency));
    TRY(cql__wr_u8(b, flags));
    if (serial_consistency >= 0)
        TRY(cql__wr_u16(b, (uint16_t)serial_consistency));
    if (has_timestamp)
        TRY(cql__wr_i64(b, timestamp));
    return cql__frame_end(b, st, lz4);
}

/* ---- names ----------------------------------------------------------------------------------- */

const char *cql__opcode_name(uint8_t op)
{
    static const char *const names[] = {
        "ERROR", "STARTUP", "READY", "AUTHENTICATE", "?", "OPTIONS", "SUPPORTED", "QUERY",
        "RESULT", "PREPARE", "EXECUTE", "REGISTER", "EVENT", "BATCH", "AUTH_CHALLENGE",
        "AUTH_RESPONSE", "AUTH_SUCCESS"};
    return op < sizeof names / sizeof names[0] ? names[op] : "?";
}

const char *cql__server_error_name(int32_t code)
{
    switch (code) {
    case CQL_ERR_SERVER: return "Server error";
    case CQL_ERR_PROTOCOL: return "Protocol error";
    case CQL_ERR_AUTH: return "Authentication error";
    case CQL_ERR_UNAVAILABLE: return "Unavailable";
    case CQL_ERR_OVERLOADED: return "Overloaded";
    case CQL_ERR_BOOTSTRAPPING: return "Is bootstrapping";
    case CQL_ERR_TRUNCATE: return "Truncate error";
    case CQL_ERR_WRITE_TIMEOUT: return "Write timeout";
    case CQL_ERR_READ_TIMEOUT: return "Read timeout";
    case CQL_ERR_READ_FAILURE: return "Read failure";
    case CQL_ERR_FUNCTION_FAILURE: return "Function failure";
    case CQL_ERR_WRITE_FAILURE: return "Write failure";
    case CQL_ERR_SYNTAX: return "Syntax error";
    case CQL_ERR_UNAUTHORIZED: return "Unauthorized";
    case CQL_ERR_INVALID: return "Invalid query";
    case CQL_ERR_CONFIG: return "Config error";
    case CQL_ERR_ALREADY_EXISTS: return "Already exists";
    case CQL_ERR_UNPREPARED: return "Unprepared";
    default: return "Unknown error";
    }
}

int cql__server_status(int32_t code)
{
    switch (code) {
    case CQL_ERR_UNAVAILABLE:
    case CQL_ERR_OVERLOADED:
    case CQL_ERR_BOOTSTRAPPING: return SPATE_EUNAVAILABLE;
    case CQL_ERR_WRITE_TIMEOUT:
    case CQL_ERR_READ_TIMEOUT: return SPATE_ETIMEDOUT;
    case CQL_ERR_AUTH:
    case CQL_ERR_UNAUTHORIZED: return SPATE_EAUTH;
    case CQL_ERR_ALREADY_EXISTS: return SPATE_EEXISTS;
    case CQL_ERR_PROTOCOL: return SPATE_EPROTO;
    default: return SPATE_ESERVER;
    }
}

/* ---- response decoding ------------------------------------------------------------------------ */

void cql__metadata_free(struct cql_metadata *m)
{
    if (m->columns) {
        for (size_t i = 0; i < m->column_count; i++) {
            free(m->columns[i].keyspace);
            free(m->columns[i].table);
            free(m->columns[i].name);
            cql__type_free(m->columns[i].type);
        }
        free(m->columns);
    }
    free(m->paging_state);
    memset(m, 0, sizeof *m);
}

static void free_strings(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void cql_result_free(struct cql_result *r)
{
    if (!r)
        return;
    free(r->body);
    cql__metadata_free(&r->meta);
    free(r->cell_off);
    free(r->cell_len);
    free(r->info);
    free(r->prepared_id);
    cql__metadata_free(&r->params);
    free(r->pk_indexes);
    cql__metadata_free(&r->result_meta);
    free_strings(r->warnings, r->warning_count);
    free(r);
}

void cql__response_free(struct cql_response *r)
{
    cql_result_free(r->result);
    free(r->text);
    free_strings(r->warnings, r->warning_count);
    memset(r, 0, sizeof *r);
}

/* Reads metadata; prepared = 1 for the bind-marker metadata of PREPARED
 * (which carries pk indexes and no paging state). */
static int parse_metadata(struct cql_reader *rd, struct cql_metadata *m, int prepared,
                          uint16_t **pk, size_t *pk_count)
{
    int32_t flags, ncols;
    if (cql__rd_i32(rd, &flags) || cql__rd_i32(rd, &ncols) || ncols < 0)
        return SPATE_EPARSE;
    m->flags = flags;
    m->column_count = (size_t)ncols;
    if (prepared) {
        int32_t npk;
        if (cql__rd_i32(rd, &npk) || npk < 0 || (size_t)npk * 2 > cql__reader_left(rd))
            return SPATE_EPARSE;
        if (npk > 0) {
            *pk = malloc((size_t)npk * sizeof **pk);
            if (!*pk)
                return SPATE_ENOMEM;
            for (int32_t i = 0; i < npk; i++) {
                if (cql__rd_u16(rd, &(*pk)[i]) || (*pk)[i] >= ncols)
                    return SPATE_EPARSE;
            }
        }
        *pk_count = (size_t)npk;
    } else if (flags & CQL_MF_HAS_MORE_PAGES) {
        const uint8_t *ps;
        int32_t pslen;
        if (cql__rd_bytes(rd, &ps, &pslen))
            return SPATE_EPARSE;
        if (pslen >= 0) {
            m->paging_state = malloc(pslen ? (size_t)pslen : 1);
            if (!m->paging_state)
                return SPATE_ENOMEM;
            memcpy(m->paging_state, ps, (size_t)pslen);
            m->paging_state_len = (size_t)pslen;
        }
    }
    if (!prepared && (flags & CQL_MF_NO_METADATA))
        return 0;
    /* Each column spec takes at least 4 bytes (name + type), which bounds the
     * allocation by the frame size whatever count the peer claims. */
    if ((size_t)ncols > cql__reader_left(rd) / 4)
        return SPATE_EPARSE;
    char *gks = NULL, *gtable = NULL;
    int rc = 0;
    if (flags & CQL_MF_GLOBAL_TABLES_SPEC) {
        if ((rc = cql__rd_string_dup(rd, &gks)) || (rc = cql__rd_string_dup(rd, &gtable)))
            goto out;
    }
    m->columns = calloc(ncols ? (size_t)ncols : 1, sizeof *m->columns);
    if (!m->columns) {
        rc = SPATE_ENOMEM;
        goto out;
    }
    for (int32_t i = 0; i < ncols; i++) {
        struct cql_colspec *c = &m->columns[i];
        if (!(flags & CQL_MF_GLOBAL_TABLES_SPEC)) {
            if ((rc = cql__rd_string_dup(rd, &c->keyspace)) ||
                (rc = cql__rd_string_dup(rd, &c->table)))
                goto out;
        } else {
            c->keyspace = strdup(gks);
            c->table = strdup(gtable);
            if (!c->keyspace || !c->table) {
                rc = SPATE_ENOMEM;
                goto out;
            }
        }
        if ((rc = cql__rd_string_dup(rd, &c->name)) ||
            (rc = cql__type_parse(rd, &c->type, 0)))
            goto out;
    }
out:
    free(gks);
    free(gtable);
    return rc;
}

static int parse_rows(struct cql_reader *rd, struct cql_result *res,
                      const struct cql_metadata *fallback, char *err, size_t errlen)
{
    int rc = parse_metadata(rd, &res->meta, 0, NULL, NULL);
    if (rc)
        return rc;
    res->cols = &res->meta;
    if (res->meta.flags & CQL_MF_NO_METADATA) {
        if (!fallback || !fallback->columns ||
            fallback->column_count != res->meta.column_count) {
            snprintf(err, errlen, "rows without metadata and no matching prepared metadata");
            return SPATE_EPROTO;
        }
        res->cols = fallback;
    }
    int32_t nrows;
    if (cql__rd_i32(rd, &nrows) || nrows < 0)
        return SPATE_EPARSE;
    size_t ncols = res->meta.column_count;
    if (ncols == 0 && nrows > 0) {
        /* Rows of zero columns carry no bytes; cap what we accept. */
        if (nrows > 1000000)
            return SPATE_EPARSE;
    } else if ((size_t)nrows > cql__reader_left(rd) / 4 / (ncols ? ncols : 1)) {
        return SPATE_EPARSE;
    }
    res->row_count = (size_t)nrows;
    size_t cells = res->row_count * ncols;
    res->cell_off = malloc((cells ? cells : 1) * sizeof *res->cell_off);
    res->cell_len = malloc((cells ? cells : 1) * sizeof *res->cell_len);
    if (!res->cell_off || !res->cell_len)
        return SPATE_ENOMEM;
    for (size_t i = 0; i < cells; i++) {
        const uint8_t *p;
        int32_t len;
        if (cql__rd_bytes(rd, &p, &len))
            return SPATE_EPARSE;
        const struct cql_type *t = res->cols->columns[i % ncols].type;
        if (cql__value_validate(t, p, len, 0)) {
            snprintf(err, errlen, "row %zu column '%s': malformed value for its type", i / ncols,
                     res->cols->columns[i % ncols].name);
            return SPATE_EPARSE;
        }
        res->cell_off[i] = (uint32_t)(rd->pos - (len > 0 ? (size_t)len : 0));
        res->cell_len[i] = len;
    }
    return 0;
}

static int parse_result(struct cql_reader *rd, struct cql_result *res,
                        const struct cql_metadata *fallback, char *err, size_t errlen)
{
    int32_t kind;
    if (cql__rd_i32(rd, &kind))
        return SPATE_EPARSE;
    res->kind = (enum cql_result_kind)kind;
    res->cols = &res->meta;
    switch (kind) {
    case CQL_RESULT_VOID: return 0;
    case CQL_RESULT_ROWS: return parse_rows(rd, res, fallback, err, errlen);
    case CQL_RESULT_SET_KEYSPACE: return cql__rd_string_dup(rd, &res->info);
    case CQL_RESULT_PREPARED: {
        const uint8_t *id;
        size_t idlen;
        int rc;
        if (cql__rd_short_bytes(rd, &id, &idlen) || idlen == 0 || idlen > 64)
            return SPATE_EPARSE;
        res->prepared_id = malloc(idlen);
        if (!res->prepared_id)
            return SPATE_ENOMEM;
        memcpy(res->prepared_id, id, idlen);
        res->prepared_id_len = idlen;
        if ((rc = parse_metadata(rd, &res->params, 1, &res->pk_indexes, &res->pk_count)))
            return rc;
        return parse_metadata(rd, &res->result_meta, 0, NULL, NULL);
    }
    case CQL_RESULT_SCHEMA_CHANGE: {
        const char *change, *target, *a, *b = "";
        size_t lc, lt, la, lb = 0;
        if (cql__rd_string(rd, &change, &lc) || cql__rd_string(rd, &target, &lt) ||
            cql__rd_string(rd, &a, &la))
            return SPATE_EPARSE;
        if (!(lt == 8 && memcmp(target, "KEYSPACE", 8) == 0) && cql__rd_string(rd, &b, &lb))
            return SPATE_EPARSE;
        /* FUNCTION/AGGREGATE carry an argument type list we don't need. */
        size_t n = lc + lt + la + lb + 4;
        res->info = malloc(n);
        if (!res->info)
            return SPATE_ENOMEM;
        snprintf(res->info, n, "%.*s %.*s %.*s%s%.*s", (int)lc, change, (int)lt, target, (int)la,
                 a, lb ? "." : "", (int)lb, b);
        return 0;
    }
    default: snprintf(err, errlen, "unknown result kind %d", kind); return SPATE_EPROTO;
    }
}

static int parse_error(struct cql_reader *rd, struct cql_response *r)
{
    int32_t code;
    const char *msg;
    size_t mlen;
    if (cql__rd_i32(rd, &code) || cql__rd_string(rd, &msg, &mlen))
        return SPATE_EPARSE;
    struct cql_error *e = &r->error;
    e->server_code = code;
    e->status = cql__server_status(code);
    const char *name = cql__server_error_name(code);
    char detail[256] = "";
    uint16_t cl;
    int32_t a, b, c;
    uint8_t present;
    const char *s1, *s2;
    size_t l1, l2;
    switch (code) {
    case CQL_ERR_UNAVAILABLE:
        if (cql__rd_u16(rd, &cl) || cql__rd_i32(rd, &a) || cql__rd_i32(rd, &b))
            return SPATE_EPARSE;
        snprintf(detail, sizeof detail, "consistency %s required %d alive %d",
                 cql_consistency_name((enum cql_consistency)(cl + 1)), a, b);
        break;
    case CQL_ERR_WRITE_TIMEOUT:
        if (cql__rd_u16(rd, &cl) || cql__rd_i32(rd, &a) || cql__rd_i32(rd, &b) ||
            cql__rd_string(rd, &s1, &l1))
            return SPATE_EPARSE;
        snprintf(detail, sizeof detail, "consistency %s received %d of %d, write type %.*s",
                 cql_consistency_name((enum cql_consistency)(cl + 1)), a, b, (int)l1, s1);
        break;
    case CQL_ERR_READ_TIMEOUT:
        if (cql__rd_u16(rd, &cl) || cql__rd_i32(rd, &a) || cql__rd_i32(rd, &b) ||
            cql__rd_u8(rd, &present))
            return SPATE_EPARSE;
        snprintf(detail, sizeof detail, "consistency %s received %d of %d, data %s",
                 cql_consistency_name((enum cql_consistency)(cl + 1)), a, b,
                 present ? "present" : "missing");
        break;
    case CQL_ERR_READ_FAILURE:
        if (cql__rd_u16(rd, &cl) || cql__rd_i32(rd, &a) || cql__rd_i32(rd, &b) ||
            cql__rd_i32(rd, &c) || cql__rd_u8(rd, &present))
            return SPATE_EPARSE;
        snprintf(detail, sizeof detail, "consistency %s received %d of %d, %d failed, data %s",
                 cql_consistency_name((enum cql_consistency)(cl + 1)), a, b, c,
                 present ? "present" : "missing");
        break;
    case CQL_ERR_WRITE_FAILURE:
        if (cql__rd_u16(rd, &cl) || cql__rd_i32(rd, &a) || cql__rd_i32(rd, &b) ||
            cql__rd_i32(rd, &c) || cql__rd_string(rd, &s1, &l1))
            return SPATE_EPARSE;
        snprintf(detail, sizeof detail, "consistency %s received %d of %d, %d failed, write type %.*s",
                 cql_consistency_name((enum cql_consistency)(cl + 1)), a, b, c, (int)l1, s1);
        break;
    case CQL_ERR_FUNCTION_FAILURE:
        if (cql__rd_string(rd, &s1, &l1) || cql__rd_string(rd, &s2, &l2))
            return SPATE_EPARSE;
        snprintf(detail, sizeof detail, "function %.*s.%.*s", (int)l1, s1, (int)l2, s2);
        break;
    case CQL_ERR_ALREADY_EXISTS:
        if (cql__rd_string(rd, &s1, &l1) || cql__rd_string(rd, &s2, &l2))
            return SPATE_EPARSE;
        snprintf(detail, sizeof detail, "%.*s%s%.*s", (int)l1, s1, l2 ? "." : "", (int)l2, s2);
        break;
    case CQL_ERR_UNPREPARED: {
        const uint8_t *id;
        size_t idlen;
        if (cql__rd_short_bytes(rd, &id, &idlen))
            return SPATE_EPARSE;
        if (idlen > sizeof r->unprepared_id)
            idlen = sizeof r->unprepared_id;
        memcpy(r->unprepared_id, id, idlen);
        r->unprepared_id_len = idlen;
        int n = snprintf(detail, sizeof detail, "statement id 0x");
        for (size_t i = 0; i < idlen && i < 16 && n + 3 < (int)sizeof detail; i++)
            n += snprintf(detail + n, sizeof detail - (size_t)n, "%02x", id[i]);
        break;
    }
    default: break;
    }
    if (detail[0])
        snprintf(e->message, sizeof e->message, "%s: %s (%.*s)", name, detail, (int)mlen, msg);
    else
        snprintf(e->message, sizeof e->message, "%s: %.*s", name, (int)mlen, msg);
    return 0;
}

static int parse_event(struct cql_reader *rd, struct cql_response *r)
{
    const char *t, *c, *a, *b;
    size_t lt, lc, la, lb;
    if (cql__rd_string(rd, &t, &lt) || cql__rd_string(rd, &c, &lc))
        return SPATE_EPARSE;
    snprintf(r->event_type, sizeof r->event_type, "%.*s", (int)lt, t);
    snprintf(r->event_change, sizeof r->event_change, "%.*s", (int)lc, c);
    if (!strcmp(r->event_type, "TOPOLOGY_CHANGE") || !strcmp(r->event_type, "STATUS_CHANGE")) {
        if (cql__rd_inet(rd, r->event_addr, &r->event_addr_len, &r->event_port))
            return SPATE_EPARSE;
        char host[64];
        if (r->event_addr_len == 4)
            snprintf(host, sizeof host, "%u.%u.%u.%u", r->event_addr[0], r->event_addr[1],
                     r->event_addr[2], r->event_addr[3]);
        else {
            int n = 0;
            for (int i = 0; i < 16; i += 2)
                n += snprintf(host + n, sizeof host - (size_t)n, "%s%x", i ? ":" : "",
                              cql__get_u16(r->event_addr + i));
        }
        snprintf(r->event_detail, sizeof r->event_detail, "%s %s:%d", r->event_change, host,
                 (int)r->event_port);
        return 0;
    }
    if (!strcmp(r->event_type, "SCHEMA_CHANGE")) {
        if (cql__rd_string(rd, &t, &lt) || cql__rd_string(rd, &a, &la))
            return SPATE_EPARSE;
        lb = 0;
        b = "";
        if (!(lt == 8 && memcmp(t, "KEYSPACE", 8) == 0) && cql__rd_string(rd, &b, &lb))
            return SPATE_EPARSE;
        snprintf(r->event_detail, sizeof r->event_detail, "%s %.*s %.*s%s%.*s", r->event_change,
                 (int)lt, t, (int)la, a, lb ? "." : "", (int)lb, b);
        return 0;
    }
    return SPATE_EPROTO;
}

static int parse_supported(struct cql_reader *rd, struct cql_response *r)
{
    uint16_t n;
    struct spate_buf out = {0};
    int rc = 0;
    if (cql__rd_u16(rd, &n))
        return SPATE_EPARSE;
    for (uint16_t i = 0; i < n && !rc; i++) {
        const char *k;
        size_t kl;
        uint16_t m;
        if (cql__rd_string(rd, &k, &kl) || cql__rd_u16(rd, &m)) {
            rc = SPATE_EPARSE;
            break;
        }
        rc = spate_buf_appendf(&out, "%s%.*s=", i ? " " : "", (int)kl, k);
        for (uint16_t j = 0; j < m && !rc; j++) {
            const char *v;
            size_t vl;
            if (cql__rd_string(rd, &v, &vl)) {
                rc = SPATE_EPARSE;
                break;
            }
            if (kl == 11 && !memcmp(k, "COMPRESSION", 11) && vl == 3 && !memcmp(v, "lz4", 3))
                r->supports_lz4 = 1;
            rc = spate_buf_appendf(&out, "%s%.*s", j ? "," : "", (int)vl, v);
        }
    }
    if (!rc && spate_buf_append(&out, "", 1) == 0)
        r->text = out.data;
    else {
        spate_buf_free(&out);
        rc = rc ? rc : SPATE_ENOMEM;
    }
    return rc;
}

int cql__response_parse(struct cql_frame *f, const struct cql_metadata *fallback,
                        struct cql_response *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->opcode = f->opcode;
    r->stream = f->stream;
    r->error.server_code = -1;
    uint8_t *body = f->body;
    f->body = NULL;
    struct cql_reader rd;
    cql__reader_init(&rd, body, f->len);
    int rc = 0;
    err[0] = '\0';
    if (f->flags & CQL_FLAG_TRACING) {
        const uint8_t *id;
        if ((rc = cql__rd_raw(&rd, 16, &id)))
            goto fail;
    }
    if (f->flags & CQL_FLAG_WARNING) {
        uint16_t n;
        if ((rc = cql__rd_u16(&rd, &n)))
            goto fail;
        if (n > cql__reader_left(&rd) / 2) {
            rc = SPATE_EPARSE;
            goto fail;
        }
        r->warnings = calloc(n ? n : 1, sizeof *r->warnings);
        if (!r->warnings) {
            rc = SPATE_ENOMEM;
            goto fail;
        }
        for (uint16_t i = 0; i < n; i++) {
            if ((rc = cql__rd_string_dup(&rd, &r->warnings[i])))
                goto fail;
            r->warning_count++;
        }
    }
    if (f->flags & CQL_FLAG_CUSTOM_PAYLOAD) {
        uint16_t n;
        if ((rc = cql__rd_u16(&rd, &n)))
            goto fail;
        for (uint16_t i = 0; i < n; i++) {
            const char *k;
            size_t kl;
            const uint8_t *v;
            int32_t vl;
            if ((rc = cql__rd_string(&rd, &k, &kl)) || (rc = cql__rd_bytes(&rd, &v, &vl)))
                goto fail;
        }
    }
    switch (f->opcode) {
    case CQL_OP_ERROR: rc = parse_error(&rd, r); break;
    case CQL_OP_READY: break;
    case CQL_OP_AUTHENTICATE: rc = cql__rd_string_dup(&rd, &r->text); break;
    case CQL_OP_SUPPORTED: rc = parse_supported(&rd, r); break;
    case CQL_OP_RESULT:
        r->result = calloc(1, sizeof *r->result);
        if (!r->result) {
            rc = SPATE_ENOMEM;
            break;
        }
        rc = parse_result(&rd, r->result, fallback, err, errlen);
        if (rc == 0) {
            r->result->body = body;
            r->result->body_len = f->len;
            body = NULL;
            r->result->warnings = r->warnings;
            r->result->warning_count = r->warning_count;
            r->warnings = NULL;
            r->warning_count = 0;
        }
        break;
    case CQL_OP_EVENT: rc = parse_event(&rd, r); break;
    case CQL_OP_AUTH_CHALLENGE:
    case CQL_OP_AUTH_SUCCESS:
        /* The token is only needed during the call; it is copied by the
         * caller if kept. Keep the body alive via text. */
        rc = cql__rd_bytes(&rd, &r->token, &r->token_len);
        if (rc == 0 && r->token_len > 0) {
            r->text = malloc((size_t)r->token_len + 1);
            if (!r->text) {
                rc = SPATE_ENOMEM;
                break;
            }
            memcpy(r->text, r->token, (size_t)r->token_len);
            r->text[r->token_len] = '\0';
            r->token = (const uint8_t *)r->text;
        } else {
            r->token = NULL;
        }
        break;
    default:
        snprintf(err, errlen, "unexpected %s message from server", cql__opcode_name(f->opcode));
        rc = SPATE_EPROTO;
        break;
    }
    if (rc)
        goto fail;
    free(body);
    return 0;
fail:
    if (!err[0])
        snprintf(err, errlen, "malformed %s message (%s)", cql__opcode_name(f->opcode),
                 spate_strerror(rc));
    free(body);
    cql__response_free(r);
    return rc;
}
