/* SPDX-License-Identifier: Apache-2.0 */
/* wire.c -- CQL v4 primitives (section 3 of the spec): big-endian integers, [string], [bytes], [inet], [vint]; bounds-checked reads, appending writes. */
#include "cql_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- primitive reads ---------------------------------------------------------- */

uint16_t cql__get_u16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

int32_t cql__get_i32(const uint8_t *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                     (uint32_t)p[3]);
}

int64_t cql__get_i64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

void cql__put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void cql__put_i32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)(u >> 24);
    p[1] = (uint8_t)(u >> 16);
    p[2] = (uint8_t)(u >> 8);
    p[3] = (uint8_t)u;
}

void cql__put_i64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)u;
        u >>= 8;
    }
}

int cql__rd_raw(struct cql_reader *r, size_t n, const uint8_t **p)
{
    if (cql__reader_left(r) < n)
        return SPATE_EPARSE;
    *p = r->p + r->pos;
    r->pos += n;
    return 0;
}

int cql__rd_u8(struct cql_reader *r, uint8_t *v)
{
    const uint8_t *p;
    if (cql__rd_raw(r, 1, &p))
        return SPATE_EPARSE;
    *v = p[0];
    return 0;
}

int cql__rd_u16(struct cql_reader *r, uint16_t *v)
{
    const uint8_t *p;
    if (cql__rd_raw(r, 2, &p))
        return SPATE_EPARSE;
    *v = cql__get_u16(p);
    return 0;
}

int cql__rd_i32(struct cql_reader *r, int32_t *v)
{
    const uint8_t *p;
    if (cql__rd_raw(r, 4, &p))
        return SPATE_EPARSE;
    *v = cql__get_i32(p);
    return 0;
}

int cql__rd_i64(struct cql_reader *r, int64_t *v)
{
    const uint8_t *p;
    if (cql__rd_raw(r, 8, &p))
        return SPATE_EPARSE;
    *v = cql__get_i64(p);
    return 0;
}

int cql__rd_string(struct cql_reader *r, const char **s, size_t *len)
{
    uint16_t n;
    const uint8_t *p;
    if (cql__rd_u16(r, &n) || cql__rd_raw(r, n, &p))
        return SPATE_EPARSE;
    *s = (const char *)p;
    *len = n;
    return 0;
}

int cql__rd_long_string(struct cql_reader *r, const char **s, size_t *len)
{
    int32_t n;
    const uint8_t *p;
    if (cql__rd_i32(r, &n) || n < 0 || cql__rd_raw(r, (size_t)n, &p))
        return SPATE_EPARSE;
    *s = (const char *)p;
    *len = (size_t)n;
    return 0;
}

int cql__rd_string_dup(struct cql_reader *r, char **out)
{
    const char *s;
    size_t n;
    if (cql__rd_string(r, &s, &n))
        return SPATE_EPARSE;
    char *d = malloc(n + 1);
    if (!d)
        return SPATE_ENOMEM;
    memcpy(d, s, n);
    d[n] = '\0';
    *out = d;
    return 0;
}

int cql__rd_bytes(struct cql_reader *r, const uint8_t **p, int32_t *len)
{
    int32_t n;
    if (cql__rd_i32(r, &n))
        return SPATE_EPARSE;
    if (n < 0) {
        *p = NULL;
        *len = -1;
        return 0;
    }
    if (cql__rd_raw(r, (size_t)n, p))
        return SPATE_EPARSE;
    *len = n;
    return 0;
}

int cql__rd_short_bytes(struct cql_reader *r, const uint8_t **p, size_t *len)
{
    uint16_t n;
    if (cql__rd_u16(r, &n) || cql__rd_raw(r, n, p))
        return SPATE_EPARSE;
    *len = n;
    return 0;
}

int cql__rd_inet(struct cql_reader *r, uint8_t addr[16], int *alen, int32_t *port)
{
    uint8_t n;
    const uint8_t *p;
    if (cql__rd_u8(r, &n) || (n != 4 && n != 16) || cql__rd_raw(r, n, &p) ||
        cql__rd_i32(r, port))
        return SPATE_EPARSE;
    memcpy(addr, p, n);
    *alen = n;
    return 0;
}

/* ---- primitive writes ------------------------------------------------------------ */

int cql__wr_u8(struct spate_buf *b, uint8_t v)
{
    return spate_buf_append(b, &v, 1);
}

int cql__wr_u16(struct spate_buf *b, uint16_t v)
{
    uint8_t p[2];
    cql__put_u16(p, v);
    return spate_buf_append(b, p, 2);
}

int cql__wr_i32(struct spate_buf *b, int32_t v)
{
    uint8_t p[4];
    cql__put_i32(p, v);
    return spate_buf_append(b, p, 4);
}

int cql__wr_i64(struct spate_buf *b, int64_t v)
{
    uint8_t p[8];
    cql__put_i64(p, v);
    return spate_buf_append(b, p, 8);
}

int cql__wr_string(struct spate_buf *b, const char *s, size_t len)
{
    if (len > 0xFFFF)
        return SPATE_ETOOBIG;
    int rc = cql__wr_u16(b, (uint16_t)len);
    return rc ? rc : spate_buf_append(b, s, len);
}

int cql__wr_long_string(struct spate_buf *b, const char *s, size_t len)
{
    if (len > INT32_MAX)
        return SPATE_ETOOBIG;
    int rc = cql__wr_i32(b, (int32_t)len);
    return rc ? rc : spate_buf_append(b, s, len);
}

int cql__wr_bytes(struct spate_buf *b, const void *p, int32_t len)
{
    if (len < 0)
        return cql__wr_i32(b, -1);
    int rc = cql__wr_i32(b, len);
    return rc ? rc : spate_buf_append(b, p, (size_t)len);
}

int cql__wr_short_bytes(struct spate_buf *b, const void *p, size_t len)
{
    if (len > 0xFFFF)
        return SPATE_ETOOBIG;
    int rc = cql__wr_u16(b, (uint16_t)len);
    return rc ? rc : spate_buf_append(b, p, len);
}

/* ---- vint (duration) ----------------------------------------------------------------- */

/* Cassandra's unsigned vint: the count of leading one bits of the first byte
 * says how many bytes follow; the value is big-endian in the rest. */
int cql__vint_write(uint8_t *out, uint64_t v)
{
    int extra = 0;
    while (extra < 8) {
        /* with `extra` following bytes we hold 7 - extra + 8 * extra bits */
        int bits = 7 - extra + 8 * extra;
        if (extra == 8 || (bits < 64 && v < ((uint64_t)1 << bits)))
            break;
        extra++;
    }
    if (extra == 8) {
        out[0] = 0xFF;
        for (int i = 0; i < 8; i++)
            out[1 + i] = (uint8_t)(v >> (56 - 8 * i));
        return 9;
    }
    uint8_t first = (uint8_t)(0xFF00 >> extra); /* extra leading ones */
    out[0] = (uint8_t)(first | (uint8_t)(v >> (8 * extra)));
    for (int i = 0; i < extra; i++)
        out[1 + i] = (uint8_t)(v >> (8 * (extra - 1 - i)));
    return extra + 1;
}

int cql__vint_read(struct cql_reader *r, uint64_t *v)
{
    uint8_t first;
    if (cql__rd_u8(r, &first))
        return SPATE_EPARSE;
    int extra = 0;
    while (extra < 8 && (first & (0x80 >> extra)))
        extra++;
    uint64_t val = extra == 8 ? 0 : (uint64_t)(first & (0xFF >> (extra + 1)));
    for (int i = 0; i < extra; i++) {
        uint8_t b;
        if (cql__rd_u8(r, &b))
            return SPATE_EPARSE;
        val = (val << 8) | b;
    }
    *v = val;
    return 0;
}
