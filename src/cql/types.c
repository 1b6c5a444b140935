/* SPDX-License-Identifier: Apache-2.0 */
/* types.c -- CQL types: consistency names, [option] type parsing and type names. */
#include "cql_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- consistency names ---------------------------------------------------------- */

static const char *const cl_names[] = {"DEFAULT",     "ANY",          "ONE",
                                       "TWO",         "THREE",        "QUORUM",
                                       "ALL",         "LOCAL_QUORUM", "EACH_QUORUM",
                                       "SERIAL",      "LOCAL_SERIAL", "LOCAL_ONE"};

const char *cql_consistency_name(enum cql_consistency cl)
{
    if ((unsigned)cl < sizeof cl_names / sizeof cl_names[0])
        return cl_names[cl];
    return "?";
}

int cql_consistency_parse(const char *name, enum cql_consistency *out)
{
    for (size_t i = 1; name && i < sizeof cl_names / sizeof cl_names[0]; i++) {
        if (strcasecmp(name, cl_names[i]) == 0) {
            *out = (enum cql_consistency)i;
            return 0;
        }
    }
    return SPATE_EINVAL;
}

/* ---- type parsing ------------------------------------------------------------------- */

void cql__type_free(struct cql_type *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++) {
        if (t->sub)
            cql__type_free(t->sub[i]);
        if (t->field_names)
            free(t->field_names[i]);
    }
    free(t->sub);
    free(t->field_names);
    free(t->custom);
    free(t->keyspace);
    free(t->name);
    free(t);
}

static int is_known_scalar(uint16_t id)
{
    return (id >= CQL_TYPE_ASCII && id <= CQL_TYPE_DURATION && id != 0x0A);
}

int cql__type_parse(struct cql_reader *r, struct cql_type **out, int depth)
{
    uint16_t id;
    *out = NULL;
    if (depth > CQL_MAX_TYPE_DEPTH || cql__rd_u16(r, &id))
        return SPATE_EPARSE;
    struct cql_type *t = calloc(1, sizeof *t);
    if (!t)
        return SPATE_ENOMEM;
    t->id = (enum cql_type_id)id;
    int rc = 0;
    size_t n = 0;
    if (id == CQL_TYPE_CUSTOM) {
        rc = cql__rd_string_dup(r, &t->custom);
        if (!rc && strcmp(t->custom, "org.apache.cassandra.db.marshal.DurationType") == 0)
            t->id = CQL_TYPE_DURATION;
    } else if (is_known_scalar(id)) {
        /* no parameters */
    } else if (id == CQL_TYPE_LIST || id == CQL_TYPE_SET || id == CQL_TYPE_MAP) {
        n = id == CQL_TYPE_MAP ? 2 : 1;
    } else if (id == CQL_TYPE_TUPLE || id == CQL_TYPE_UDT) {
        uint16_t cnt;
        if (id == CQL_TYPE_UDT &&
            ((rc = cql__rd_string_dup(r, &t->keyspace)) || (rc = cql__rd_string_dup(r, &t->name))))
            goto fail;
        if (cql__rd_u16(r, &cnt)) {
            rc = SPATE_EPARSE;
            goto fail;
        }
        n = cnt;
        /* each sub type takes at least 2 bytes: bounds the allocation */
        if (n > cql__reader_left(r) / 2) {
            rc = SPATE_EPARSE;
            goto fail;
        }
    } else {
        rc = SPATE_EPARSE; /* unknown type id */
    }
    if (rc)
        goto fail;
    if (n) {
        t->sub = calloc(n, sizeof *t->sub);
        if (id == CQL_TYPE_UDT)
            t->field_names = calloc(n, sizeof *t->field_names);
        if (!t->sub || (id == CQL_TYPE_UDT && !t->field_names)) {
            rc = SPATE_ENOMEM;
            goto fail;
        }
        t->count = n;
        for (size_t i = 0; i < n; i++) {
            if (id == CQL_TYPE_UDT && (rc = cql__rd_string_dup(r, &t->field_names[i])))
                goto fail;
            if ((rc = cql__type_parse(r, &t->sub[i], depth + 1)))
                goto fail;
        }
    }
    *out = t;
    return 0;
fail:
    cql__type_free(t);
    return rc ? rc : SPATE_EPARSE;
}

static const char *scalar_name(enum cql_type_id id)
{
    switch (id) {
    case CQL_TYPE_ASCII: return "ascii";
    case CQL_TYPE_BIGINT: return "bigint";
    case CQL_TYPE_BLOB: return "blob";
    case CQL_TYPE_BOOLEAN: return "boolean";
    case CQL_TYPE_COUNTER: return "counter";
    case CQL_TYPE_DECIMAL: return "decimal";
    case CQL_TYPE_DOUBLE: return "double";
    case CQL_TYPE_FLOAT: return "float";
    case CQL_TYPE_INT: return "int";
    case CQL_TYPE_TIMESTAMP: return "timestamp";
    case CQL_TYPE_UUID: return "uuid";
    case CQL_TYPE_VARCHAR: return "text";
    case CQL_TYPE_VARINT: return "varint";
    case CQL_TYPE_TIMEUUID: return "timeuuid";
    case CQL_TYPE_INET: return "inet";
    case CQL_TYPE_DATE: return "date";
    case CQL_TYPE_TIME: return "time";
    case CQL_TYPE_SMALLINT: return "smallint";
    case CQL_TYPE_TINYINT: return "tinyint";
    case CQL_TYPE_DURATION: return "duration";
    default: return NULL;
    }
}

static void type_str(const struct cql_type *t, struct spate_buf *b)
{
    const char *s = scalar_name(t->id);
    if (s) {
        spate_buf_appendf(b, "%s", s);
        return;
    }
    switch (t->id) {
    case CQL_TYPE_CUSTOM: spate_buf_appendf(b, "'%s'", t->custom ? t->custom : "?"); return;
    case CQL_TYPE_LIST:
    case CQL_TYPE_SET:
    case CQL_TYPE_MAP:
    case CQL_TYPE_TUPLE:
        spate_buf_appendf(b, "%s<", t->id == CQL_TYPE_LIST  ? "list"
                                    : t->id == CQL_TYPE_SET ? "set"
                                    : t->id == CQL_TYPE_MAP ? "map"
                                                            : "tuple");
        for (size_t i = 0; i < t->count; i++) {
            if (i)
                spate_buf_appendf(b, ", ");
            type_str(t->sub[i], b);
        }
        spate_buf_appendf(b, ">");
        return;
    case CQL_TYPE_UDT: spate_buf_appendf(b, "%s", t->name ? t->name : "udt"); return;
    default: spate_buf_appendf(b, "?"); return;
    }
}

char *cql_type_str(const struct cql_type *t, char *buf, size_t size)
{
    struct spate_buf b = {0};
    if (t)
        type_str(t, &b);
    spate_strlcpy(buf, b.data ? b.data : "?", size);
    spate_buf_free(&b);
    return buf;
}
