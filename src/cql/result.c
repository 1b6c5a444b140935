/* SPDX-License-Identifier: Apache-2.0 */
/* result.c -- accessors of a decoded RESULT: kind, columns, cells, typed getters. */
#include "cql_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- result accessors ---------------------------------------------------------------------- */

enum cql_result_kind cql_result_kind(const struct cql_result *r)
{
    return r->kind;
}

size_t cql_result_row_count(const struct cql_result *r)
{
    return r->kind == CQL_RESULT_ROWS ? r->row_count : 0;
}

size_t cql_result_column_count(const struct cql_result *r)
{
    return r->kind == CQL_RESULT_ROWS && r->cols ? r->cols->column_count : 0;
}

const char *cql_result_column_name(const struct cql_result *r, size_t col)
{
    if (col >= cql_result_column_count(r) || !r->cols->columns)
        return NULL;
    return r->cols->columns[col].name;
}

const struct cql_type *cql_result_column_type(const struct cql_result *r, size_t col)
{
    if (col >= cql_result_column_count(r) || !r->cols->columns)
        return NULL;
    return r->cols->columns[col].type;
}

int cql_result_column_index(const struct cql_result *r, const char *name)
{
    size_t n = cql_result_column_count(r);
    for (size_t i = 0; i < n && r->cols->columns; i++)
        if (strcmp(r->cols->columns[i].name, name) == 0)
            return (int)i;
    return -1;
}

int cql_result_has_more_pages(const struct cql_result *r)
{
    return r->kind == CQL_RESULT_ROWS && (r->meta.flags & CQL_MF_HAS_MORE_PAGES) &&
           r->meta.paging_state != NULL;
}

void cql_result_paging_state(const struct cql_result *r, const void **state, size_t *len)
{
    *state = r->meta.paging_state;
    *len = r->meta.paging_state_len;
}

int cql_result_cell(const struct cql_result *r, size_t row, size_t col, const uint8_t **data,
                    int32_t *len)
{
    size_t nc = cql_result_column_count(r);
    if (row >= cql_result_row_count(r) || col >= nc)
        return SPATE_ERANGE;
    size_t i = row * nc + col;
    *len = r->cell_len[i];
    *data = r->cell_len[i] >= 0 ? r->body + r->cell_off[i] : NULL;
    return 0;
}

static int cell_typed(const struct cql_result *r, size_t row, size_t col, const uint8_t **p,
                      int32_t *len, const struct cql_type **t)
{
    int rc = cql_result_cell(r, row, col, p, len);
    if (rc)
        return rc;
    *t = r->cols->columns[col].type;
    if (*len < 0)
        return SPATE_ENOTFOUND;
    if (*len == 0 && (*t)->id != CQL_TYPE_VARCHAR && (*t)->id != CQL_TYPE_ASCII &&
        (*t)->id != CQL_TYPE_BLOB)
        return SPATE_ENOTFOUND;
    return 0;
}

int cql_result_get_int64(const struct cql_result *r, size_t row, size_t col, int64_t *out)
{
    const uint8_t *p;
    int32_t len;
    const struct cql_type *t;
    int rc = cell_typed(r, row, col, &p, &len, &t);
    if (rc)
        return rc;
    switch (t->id) {
    case CQL_TYPE_TINYINT: *out = (int8_t)p[0]; return 0;
    case CQL_TYPE_SMALLINT: *out = (int16_t)cql__get_u16(p); return 0;
    case CQL_TYPE_INT: *out = cql__get_i32(p); return 0;
    case CQL_TYPE_DATE: *out = (int64_t)(uint32_t)cql__get_i32(p) - 2147483648LL; return 0;
    case CQL_TYPE_BIGINT:
    case CQL_TYPE_COUNTER:
    case CQL_TYPE_TIMESTAMP:
    case CQL_TYPE_TIME: *out = cql__get_i64(p); return 0;
    case CQL_TYPE_BOOLEAN: *out = p[0] != 0; return 0;
    case CQL_TYPE_VARINT:
        if (len > 8)
            return SPATE_ERANGE;
        {
            uint64_t v = (p[0] & 0x80) ? UINT64_MAX : 0;
            for (int32_t i = 0; i < len; i++)
                v = (v << 8) | p[i];
            *out = (int64_t)v;
        }
        return 0;
    default: return SPATE_ETYPE;
    }
}

int cql_result_get_double(const struct cql_result *r, size_t row, size_t col, double *out)
{
    const uint8_t *p;
    int32_t len;
    const struct cql_type *t;
    int rc = cell_typed(r, row, col, &p, &len, &t);
    if (rc)
        return rc;
    if (t->id == CQL_TYPE_DOUBLE) {
        uint64_t u = (uint64_t)cql__get_i64(p);
        memcpy(out, &u, 8);
        return 0;
    }
    if (t->id == CQL_TYPE_FLOAT) {
        uint32_t u = (uint32_t)cql__get_i32(p);
        float f;
        memcpy(&f, &u, 4);
        *out = f;
        return 0;
    }
    if (t->id == CQL_TYPE_DECIMAL) {
        struct spate_buf b = {0};
        rc = cql__format_decimal(p, (size_t)len, &b);
        if (!rc && spate_buf_append(&b, "", 1) == 0)
            *out = strtod(b.data, NULL);
        spate_buf_free(&b);
        return rc;
    }
    int64_t i;
    rc = cql_result_get_int64(r, row, col, &i);
    if (rc == 0)
        *out = (double)i;
    return rc;
}

int cql_result_get_bool(const struct cql_result *r, size_t row, size_t col, int *out)
{
    const uint8_t *p;
    int32_t len;
    const struct cql_type *t;
    int rc = cell_typed(r, row, col, &p, &len, &t);
    if (rc)
        return rc;
    if (t->id != CQL_TYPE_BOOLEAN)
        return SPATE_ETYPE;
    *out = p[0] != 0;
    return 0;
}

int cql_result_get_bytes(const struct cql_result *r, size_t row, size_t col, const char **ptr,
                         size_t *len)
{
    const uint8_t *p;
    int32_t l;
    const struct cql_type *t;
    int rc = cell_typed(r, row, col, &p, &l, &t);
    if (rc)
        return rc;
    if (t->id != CQL_TYPE_VARCHAR && t->id != CQL_TYPE_ASCII && t->id != CQL_TYPE_BLOB)
        return SPATE_ETYPE;
    *ptr = l ? (const char *)p : "";
    *len = (size_t)l;
    return 0;
}

int cql_result_get_uuid(const struct cql_result *r, size_t row, size_t col, uint8_t out[16])
{
    const uint8_t *p;
    int32_t len;
    const struct cql_type *t;
    int rc = cell_typed(r, row, col, &p, &len, &t);
    if (rc)
        return rc;
    if (t->id != CQL_TYPE_UUID && t->id != CQL_TYPE_TIMEUUID)
        return SPATE_ETYPE;
    memcpy(out, p, 16);
    return 0;
}

int cql_result_format_cell(const struct cql_result *r, size_t row, size_t col, int json,
                           struct spate_buf *out)
{
    const uint8_t *p;
    int32_t len;
    int rc = cql_result_cell(r, row, col, &p, &len);
    if (rc)
        return rc;
    return cql_format_value(r->cols->columns[col].type, p, len, json, out);
}

const char *cql_result_info(const struct cql_result *r)
{
    return r->info;
}

size_t cql_result_warning_count(const struct cql_result *r)
{
    return r->warning_count;
}

const char *cql_result_warning(const struct cql_result *r, size_t i)
{
    return i < r->warning_count ? r->warnings[i] : NULL;
}

struct cql_result *cql_result_take(struct cql_result *res)
{
    if (res)
        res->taken = 1;
    return res;
}
