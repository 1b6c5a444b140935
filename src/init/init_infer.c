/* SPDX-License-Identifier: Apache-2.0 */
/* init_infer.c -- the record structure of sample pages: fields, types, nullability, keys. */
#include "spate/init.h"

#include "spate/error.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-field state while walking the records; folded into init_field at the end. */
struct acc {
    size_t last_record; /* 1 + index of the last record it was present in */
    int str_uuid, str_ts, str_int, str_num, str_bool; /* every non-empty string is one */
    size_t nstrings;
    char **values;      /* scalar texts, for the uniqueness test */
    size_t nvalues, cap;
    int unhashable;     /* an object or array was seen: no key */
};

struct walk {
    struct init_schema *s;
    struct acc *acc;
    size_t cap;
    size_t record; /* 1-based */
    int oom;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- string shapes ------------------------------------------------------------- */

static int digits(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    return 1;
}

static int num2(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* ISO-8601 date or date-time: 2024-02-29, 2024-02-29T10:20, ...:30.123Z, +01:00. */
static int is_iso_time(const char *s)
{
    size_t n = strlen(s);
    if (n < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return 0;
    int mo = num2(s + 5), d = num2(s + 8);
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return 0;
    const char *p = s + 10;
    if (*p == '\0')
        return 1;
    if (*p != 'T' && *p != ' ')
        return 0;
    p++;
    if (!digits(p, 2) || p[2] != ':' || !digits(p + 3, 2) || num2(p) > 23 || num2(p + 3) > 59)
        return 0;
    p += 5;
    if (*p == ':') {
        if (!digits(p + 1, 2) || num2(p + 1) > 60)
            return 0;
        p += 3;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                return 0;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (*p == 'Z')
        return p[1] == '\0';
    if (*p == '+' || *p == '-') {
        p++;
        if (!digits(p, 2))
            return 0;
        p += 2;
        if (*p == ':')
            p++;
        if (*p == '\0')
            return 1;
        return digits(p, 2) && p[2] == '\0';
    }
    return *p == '\0';
}

static int is_uuid(const char *s)
{
    static const int dash[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return 0;
    for (int i = 0, k = 0; i < 36; i++) {
        if (k < 4 && i == dash[k]) {
            if (s[i] != '-')
                return 0;
            k++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* -?(0|[1-9][0-9]*): "007" stays text (a code, not a number), at most 18 digits. */
static int is_int_text(const char *s)
{
    const char *p = s + (*s == '-');
    size_t n = strlen(p);
    if (n == 0 || n > 18 || !digits(p, (int)n))
        return 0;
    return !(p[0] == '0' && n > 1);
}

static int is_num_text(const char *s)
{
    const char *p = s + (*s == '-');
    if (!isdigit((unsigned char)*p))
        return 0;
    if (p[0] == '0' && isdigit((unsigned char)p[1]))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

/* ---- the walk ---------------------------------------------------------------------- */

static long field_index(struct walk *w, const char *path)
{
    struct init_schema *s = w->s;
    for (size_t i = 0; i < s->field_count; i++)
        if (strcmp(s->fields[i].path, path) == 0)
            return (long)i;
    if (s->field_count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        struct init_field *f = realloc(s->fields, cap * sizeof *f);
        if (!f)
            return -1;
        s->fields = f;
        struct acc *a = realloc(w->acc, cap * sizeof *a);
        if (!a)
            return -1;
        w->acc = a;
        w->cap = cap;
    }
    struct init_field *f = &s->fields[s->field_count];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path)
        return -1;
    struct acc *a = &w->acc[s->field_count];
    memset(a, 0, sizeof *a);
    a->str_uuid = a->str_ts = a->str_int = a->str_num = a->str_bool = 1;
    return (long)s->field_count++;
}

static void keep_value(struct walk *w, struct acc *a, const char *text)
{
    if (a->nvalues == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->values, cap * sizeof *v);
        if (!v) {
            w->oom = 1;
            return;
        }
        a->values = v;
        a->cap = cap;
    }
    if (!(a->values[a->nvalues] = strdup(text)))
        w->oom = 1;
    else
        a->nvalues++;
}

static void leaf(struct walk *w, const char *path, json_t *v)
{
    long i = field_index(w, path);
    if (i < 0) {
        w->oom = 1;
        return;
    }
    struct init_field *f = &w->s->fields[i];
    struct acc *a = &w->acc[i];
    char text[64];
    const char *val = NULL;
    switch (json_typeof(v)) {
    case JSON_NULL: return;
    case JSON_OBJECT: f->seen |= INIT_SEEN_OBJECT; a->unhashable = 1; break;
    case JSON_ARRAY: f->seen |= INIT_SEEN_ARRAY; a->unhashable = 1; break;
    case JSON_TRUE:
    case JSON_FALSE:
        f->seen |= INIT_SEEN_BOOL;
        val = json_is_true(v) ? "true" : "false";
        break;
    case JSON_INTEGER:
        f->seen |= INIT_SEEN_INTEGER;
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
        val = text;
        break;
    case JSON_REAL:
        f->seen |= INIT_SEEN_REAL;
        snprintf(text, sizeof text, "%.15g", json_real_value(v));
        val = text;
        break;
    case JSON_STRING: {
        val = json_string_value(v);
        if (val[0] == '\0')
            return; /* APIs send "" for "none": it says nothing of the type */
        f->seen |= INIT_SEEN_STRING;
        a->nstrings++;
        a->str_uuid &= is_uuid(val);
        a->str_ts &= is_iso_time(val);
        a->str_int &= is_int_text(val);
        a->str_num &= is_num_text(val);
        a->str_bool &= !strcmp(val, "true") || !strcmp(val, "false");
        break;
    }
    }
    if (a->last_record != w->record) {
        a->last_record = w->record;
        f->present++;
    }
    if (val) {
        if (f->example[0] == '\0')
            spate_strlcpy(f->example, val, sizeof f->example);
        keep_value(w, a, val);
    }
}

/* A name a dotted path can carry: no '.', no '[', not empty. */
static int name_ok(const char *k)
{
    return k[0] != '\0' && !strchr(k, '.') && !strchr(k, '[');
}

static void walk_object(struct walk *w, json_t *obj, const char *prefix, int depth)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (w->oom)
            return;
        if (!name_ok(k)) {
            w->s->skipped_fields++;
            continue;
        }
        char path[512];
        int n = snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", k);
        if (n < 0 || (size_t)n >= sizeof path) {
            w->s->skipped_fields++;
            continue;
        }
        /* Nested objects are flattened; past a few levels the rest is kept as JSON
         * text, which a table can hold and a person can still read. */
        if (json_is_object(v) && json_object_size(v) > 0 && depth < 6)
            walk_object(w, v, path, depth + 1);
        else if (!json_is_object(v) || json_object_size(v) > 0)
            leaf(w, path, v);
        else
            (void)field_index(w, path); /* {}: the field exists, holds nothing yet */
    }
}

/* ---- records path -------------------------------------------------------------------- */

json_t *init_records_at(json_t *page, const char *path)
{
    if (path && path[0] == '$')
        path += path[1] == '.' ? 2 : 1;
    if (!path || !path[0])
        return json_is_array(page) ? page : NULL;
    char buf[512];
    spate_strlcpy(buf, path, sizeof buf);
    json_t *cur = page;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok;
         tok = strtok_r(NULL, ".", &save)) {
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_get(cur, tok);
    }
    return json_is_array(cur) ? cur : NULL;
}

static int objects_only(json_t *arr)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (!json_is_object(e))
            return 0;
    }
    return 1;
}

struct best {
    char path[512];
    size_t len;
    int depth;
    int found;        /* an array of objects, maybe empty */
    char empty[512];  /* the first empty array met, for the message */
};

static void find_arrays(json_t *obj, const char *prefix, int depth, struct best *b)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (!name_ok(k))
            continue;
        char path[512];
        int n = snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", k);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        if (json_is_array(v) && objects_only(v)) {
            size_t len = json_array_size(v);
            if (len == 0 && !b->empty[0])
                spate_strlcpy(b->empty, path, sizeof b->empty);
            /* the largest array wins; on a tie the shallower, then the first */
            if (!b->found || len > b->len || (len == b->len && depth < b->depth)) {
                if (len > 0 || !b->found) {
                    spate_strlcpy(b->path, path, sizeof b->path);
                    b->len = len;
                    b->depth = depth;
                    b->found = 1;
                }
            }
        } else if (json_is_object(v) && depth < 3) {
            find_arrays(v, path, depth + 1, b);
        }
    }
}

/* ---- keys and columns ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *last_segment(const char *path)
{
    const char *d = strrchr(path, '.');
    return d ? d + 1 : path;
}

static int ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* Lower is a better key: id, then names that say id, then UUIDs, then times. */
static int key_rank(const struct init_field *f)
{
    const char *seg = last_segment(f->path);
    size_t n = strlen(seg);
    int top = strchr(f->path, '.') == NULL;
    if ((ieq(seg, "id") || ieq(seg, "uuid")) && top)
        return 0;
    if (ieq(seg, "id") || ieq(seg, "uuid") || ieq(seg, "key"))
        return 1;
    if ((n > 2 && (ieq(seg + n - 2, "id"))) || (n > 4 && ieq(seg + n - 4, "uuid")))
        return 2;
    if (f->kind == INIT_UUID)
        return 3;
    if (f->kind == INIT_TIMESTAMP)
        return 4;
    return 5;
}

static int depth_of(const char *path)
{
    int d = 0;
    for (; *path; path++)
        d += *path == '.';
    return d;
}

/* Names the generated SQL and the tables use themselves, and CQL's reserved words. */
static const char *const reserved[] = {
    "topic", "key", "value", "headers", "raw_key", "raw_value", "kafka_timestamp",
    "fetched_at_ms", "is_object", "r", "error", "ingested_at", "processed_at", "day",
    "window_start", "window_end", "add", "allow", "alter", "and", "apply", "asc",
    "authorize", "batch", "begin", "by", "columnfamily", "create", "delete", "desc",
    "describe", "drop", "entries", "execute", "from", "full", "grant", "if", "in", "index",
    "infinity", "insert", "into", "keyspace", "limit", "modify", "nan", "norecursive", "not",
    "null", "of", "on", "or", "order", "primary", "rename", "replace", "revoke", "schema",
    "select", "set", "table", "to", "token", "truncate", "unlogged", "update", "use", "using",
    "view", "where", "with", "is", "as", "materialized", "mbean", "mbeans", "any", "inet",
    "one", "two", "three", "quorum", "all", "keyspaces", "password", "each_quorum",
    "local_one", "local_quorum", "default", "unset", "unlogged", NULL};

static void column_of(const char *path, char *out, size_t outlen)
{
    size_t o = 0;
    char prev = '_';
    for (const char *p = path; *p && o + 2 < outlen; p++) {
        unsigned char c = (unsigned char)*p;
        char ch;
        if (isupper(c)) {
            /* camelCase -> camel_case */
            if (prev != '_' && (islower((unsigned char)prev) || isdigit((unsigned char)prev)))
                out[o++] = '_';
            ch = (char)tolower(c);
        } else if (isalnum(c) && c < 128) {
            ch = (char)c;
        } else {
            ch = '_';
        }
        if (ch == '_' && (o == 0 || out[o - 1] == '_')) {
            prev = '_';
            continue;
        }
        out[o++] = ch;
        prev = (char)c;
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = '\0';
    if (o == 0)
        spate_strlcpy(out, "field", outlen);
    if (isdigit((unsigned char)out[0])) {
        char tmp[128];
        snprintf(tmp, sizeof tmp, "f_%s", out);
        spate_strlcpy(out, tmp, outlen);
    }
    for (const char *const *r = reserved; *r; r++) {
        if (!strcmp(out, *r)) {
            size_t n = strlen(out);
            if (n + 1 < outlen) {
                out[n] = '_';
                out[n + 1] = '\0';
            }
            break;
        }
    }
}

static enum init_kind resolve(struct init_field *f, const struct acc *a)
{
    unsigned m = f->seen;
    int strings = (m & INIT_SEEN_STRING) != 0;
    unsigned rest = m & ~(unsigned)INIT_SEEN_STRING;
    if (m & (INIT_SEEN_ARRAY | INIT_SEEN_OBJECT))
        return INIT_JSON;
    if (m == 0)
        return INIT_TEXT;
    if (!strings) {
        if (m == INIT_SEEN_BOOL)
            return INIT_BOOLEAN;
        if (m == INIT_SEEN_INTEGER)
            return INIT_BIGINT;
        if ((m & ~(unsigned)(INIT_SEEN_INTEGER | INIT_SEEN_REAL)) == 0)
            return INIT_DOUBLE;
        return INIT_TEXT;
    }
    f->as_string = 1;
    if (rest == 0) {
        /* a time or a UUID is text in JSON anyway: not "a number sent as text" */
        f->as_string = !(a->str_uuid || a->str_ts);
        if (a->str_uuid)
            return INIT_UUID;
        if (a->str_ts)
            return INIT_TIMESTAMP;
        if (a->str_int)
            return INIT_BIGINT;
        if (a->str_num)
            return INIT_DOUBLE;
        if (a->str_bool)
            return INIT_BOOLEAN;
    } else if (rest == INIT_SEEN_INTEGER) {
        if (a->str_int)
            return INIT_BIGINT;
        if (a->str_num)
            return INIT_DOUBLE;
    } else if ((rest & ~(unsigned)(INIT_SEEN_INTEGER | INIT_SEEN_REAL)) == 0) {
        if (a->str_num)
            return INIT_DOUBLE;
    } else if (rest == INIT_SEEN_BOOL && a->str_bool) {
        return INIT_BOOLEAN;
    }
    f->as_string = 0;
    return INIT_TEXT;
}

static int unique_values(struct acc *a)
{
    if (a->nvalues < 2)
        return 1;
    qsort(a->values, a->nvalues, sizeof *a->values, cmp_str);
    for (size_t i = 1; i < a->nvalues; i++)
        if (!strcmp(a->values[i - 1], a->values[i]))
            return 0;
    return 1;
}

static void drop_field(struct init_schema *s, size_t i)
{
    free(s->fields[i].path);
    free(s->fields[i].column);
    memmove(&s->fields[i], &s->fields[i + 1], (s->field_count - i - 1) * sizeof *s->fields);
    s->field_count--;
}

long init_field_find(const struct init_schema *s, const char *path)
{
    for (size_t i = 0; i < s->field_count; i++)
        if (!strcmp(s->fields[i].path, path))
            return (long)i;
    return -1;
}

void init_schema_free(struct init_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->field_count; i++) {
        free(s->fields[i].path);
        free(s->fields[i].column);
    }
    free(s->fields);
    free(s->records_path);
    free(s->key_path);
    free(s->time_field);
    memset(s, 0, sizeof *s);
}

static void free_acc(struct acc *acc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < acc[i].nvalues; j++)
            free(acc[i].values[j]);
        free(acc[i].values);
    }
    free(acc);
}

static const char *type_words(unsigned seen, char *buf, size_t len)
{
    buf[0] = '\0';
    static const char *const names[] = {"string", "integer", "number", "boolean", "object",
                                        "array"};
    for (int b = 0; b < 6; b++) {
        if (seen & (1u << b)) {
            size_t n = strlen(buf);
            snprintf(buf + n, len - n, "%s%s", n ? "/" : "", names[b]);
        }
    }
    return buf[0] ? buf : "null";
}

int init_infer(json_t *const *pages, size_t npages, const char *records_path,
               const char *key_path, struct init_schema *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (npages == 0 || !pages[0]) {
        seterr(err, errlen, "no sample: the first page is missing");
        return SPATE_EINVAL;
    }
    for (size_t p = 0; p < npages; p++) {
        if (!json_is_object(pages[p]) && !json_is_array(pages[p])) {
            seterr(err, errlen, "page %zu is JSON but neither an object nor an array: no "
                   "records in it", p + 1);
            return SPATE_EINVAL;
        }
    }
    /* where the records are */
    if (records_path) {
        out->records_path = strdup(records_path);
        if (!init_records_at(pages[0], records_path)) {
            seterr(err, errlen, "records path '%s': not an array in the first page",
                   records_path);
            init_schema_free(out);
            return SPATE_EINVAL;
        }
    } else if (json_is_array(pages[0])) {
        out->records_path = strdup("");
        out->records_path_guessed = 1;
    } else {
        struct best b = {0};
        find_arrays(pages[0], "", 0, &b);
        if (!b.found) {
            seterr(err, errlen, "no array of records: the first page is an object with no "
                   "array of objects in its first three levels (give --records-path)");
            return SPATE_EINVAL;
        }
        out->records_path = strdup(b.path);
        out->records_path_guessed = 1;
    }
    if (!out->records_path) {
        init_schema_free(out);
        return SPATE_ENOMEM;
    }

    struct walk w = {.s = out};
    size_t not_objects = 0;
    for (size_t p = 0; p < npages && !w.oom; p++) {
        json_t *arr = init_records_at(pages[p], out->records_path);
        if (!arr) {
            if (p == 0) {
                seterr(err, errlen, "records path '%s': not an array in the first page",
                       out->records_path);
                init_schema_free(out);
                return SPATE_EINVAL;
            }
            continue; /* a last page may say "no more" in another shape */
        }
        if (p == 0 && json_array_size(arr) == 0) {
            seterr(err, errlen, "empty page: the array at '%s' of the first page holds no "
                   "records, nothing to infer from (is the URL's data there?)",
                   out->records_path[0] ? out->records_path : "(the response)");
            init_schema_free(out);
            return SPATE_EINVAL;
        }
        size_t i;
        json_t *rec;
        json_array_foreach(arr, i, rec)
        {
            if (!json_is_object(rec)) {
                not_objects++;
                continue;
            }
            w.record = ++out->record_count;
            walk_object(&w, rec, "", 0);
        }
    }
    if (!w.oom && out->record_count == 0) {
        seterr(err, errlen, "no array of records: the array at '%s' holds %zu values, none "
               "of them a JSON object", out->records_path[0] ? out->records_path : "(root)",
               not_objects);
        free_acc(w.acc, out->field_count);
        init_schema_free(out);
        return SPATE_EINVAL;
    }
    if (w.oom) {
        free_acc(w.acc, out->field_count);
        init_schema_free(out);
        return SPATE_ENOMEM;
    }

    /* types, nullability, uniqueness */
    for (size_t i = 0; i < out->field_count; i++) {
        struct init_field *f = &out->fields[i];
        struct acc *a = &w.acc[i];
        f->nulls = out->record_count - f->present;
        f->kind = resolve(f, a);
        f->unique = !a->unhashable && f->present > 0 && unique_values(a);
        int scalar_key = f->kind == INIT_TEXT || f->kind == INIT_BIGINT ||
                         f->kind == INIT_UUID || f->kind == INIT_TIMESTAMP;
        /* a key comes as one JSON type: text or integer, never both */
        int one_type = f->seen == INIT_SEEN_STRING || f->seen == INIT_SEEN_INTEGER;
        f->key_candidate = scalar_key && one_type && f->present == out->record_count &&
                           f->unique && a->nvalues == out->record_count;
    }
    free_acc(w.acc, out->field_count);

    /* a path that is sometimes an object and sometimes not is kept whole, as JSON */
    for (size_t i = 0; i < out->field_count; i++) {
        if (!(out->fields[i].seen & INIT_SEEN_OBJECT))
            continue;
        size_t n = strlen(out->fields[i].path);
        for (size_t j = 0; j < out->field_count;) {
            if (j != i && !strncmp(out->fields[j].path, out->fields[i].path, n) &&
                out->fields[j].path[n] == '.') {
                drop_field(out, j);
                if (j < i)
                    i--;
            } else {
                j++;
            }
        }
    }
    /* the key */
    long key = -1;
    if (key_path) {
        key = init_field_find(out, key_path);
        if (key < 0) {
            seterr(err, errlen, "no usable key: key path '%s' is in none of the %zu records",
                   key_path, out->record_count);
            init_schema_free(out);
            return SPATE_EINVAL;
        }
        struct init_field *f = &out->fields[key];
        if (!f->key_candidate) {
            char t[80];
            if (f->present < out->record_count)
                seterr(err, errlen, "no usable key: '%s' is null or absent in %zu of %zu "
                       "records", key_path, f->nulls, out->record_count);
            else if (!f->unique)
                seterr(err, errlen, "no usable key: '%s' repeats a value within the sample "
                       "(%zu records); a key must be unique", key_path, out->record_count);
            else
                seterr(err, errlen, "no usable key: '%s' is %s; a key is text or an integer",
                       key_path, type_words(f->seen, t, sizeof t));
            init_schema_free(out);
            return SPATE_EINVAL;
        }
    } else {
        int best_rank = 99;
        for (size_t i = 0; i < out->field_count; i++) {
            const struct init_field *f = &out->fields[i];
            if (!f->key_candidate)
                continue;
            int r = key_rank(f);
            if (key < 0 || r < best_rank ||
                (r == best_rank && depth_of(f->path) < depth_of(out->fields[key].path))) {
                key = (long)i;
                best_rank = r;
            }
        }
        if (key < 0) {
            seterr(err, errlen, "no usable key: no field of the %zu records is present in "
                   "every record, never null and unique (give --key-path, or a larger "
                   "sample with --pages)", out->record_count);
            init_schema_free(out);
            return SPATE_EINVAL;
        }
        out->key_path_guessed = 1;
    }
    out->key = (size_t)key;
    out->key_path = strdup(out->fields[key].path);

    /* column names, unique */
    for (size_t i = 0; i < out->field_count; i++) {
        char col[128];
        column_of(out->fields[i].path, col, sizeof col);
        char cand[140];
        spate_strlcpy(cand, col, sizeof cand);
        for (int n = 2;; n++) {
            int clash = 0;
            for (size_t j = 0; j < i; j++)
                clash |= !strcmp(out->fields[j].column, cand);
            if (!clash)
                break;
            snprintf(cand, sizeof cand, "%s_%d", col, n);
        }
        out->fields[i].column = strdup(cand);
        if (!out->fields[i].column) {
            init_schema_free(out);
            return SPATE_ENOMEM;
        }
    }
    /* the event time, when the records carry one in every record */
    for (size_t i = 0; i < out->field_count && !out->time_field; i++)
        if (out->fields[i].kind == INIT_TIMESTAMP && out->fields[i].nulls == 0)
            out->time_field = strdup(out->fields[i].column);
    if (!out->key_path) {
        init_schema_free(out);
        return SPATE_ENOMEM;
    }
    return 0;
}

const char *init_kind_cql(enum init_kind k)
{
    switch (k) {
    case INIT_BIGINT: return "bigint";
    case INIT_DOUBLE: return "double";
    case INIT_BOOLEAN: return "boolean";
    case INIT_TIMESTAMP: return "timestamp";
    case INIT_UUID: return "uuid";
    case INIT_TEXT:
    case INIT_JSON: break;
    }
    return "text";
}

const char *init_kind_name(enum init_kind k)
{
    switch (k) {
    case INIT_BIGINT: return "integer";
    case INIT_DOUBLE: return "number";
    case INIT_BOOLEAN: return "boolean";
    case INIT_TIMESTAMP: return "timestamp";
    case INIT_UUID: return "uuid";
    case INIT_JSON: return "json";
    case INIT_TEXT: break;
    }
    return "text";
}

int init_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 48 || !islower((unsigned char)name[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
            name[i] != '_')
            return 0;
    return 1;
}
