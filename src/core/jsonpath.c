/* SPDX-License-Identifier: Apache-2.0 */
/* jsonpath.c -- a validating JSON skipper and dotted-path lookup over raw bytes. */
#include "spate/jsonpath.h"
#include "spate/error.h"
#include "spate/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jsonpath_step {
    char *name; /* NULL for an index step */
    size_t name_len;
    size_t index;
};

struct jsonpath {
    struct jsonpath_step *steps;
    size_t count;
};

void jsonpath_free(struct jsonpath *jp)
{
    if (!jp)
        return;
    for (size_t i = 0; i < jp->count; i++)
        free(jp->steps[i].name);
    free(jp->steps);
    free(jp);
}

static int add_step(struct jsonpath *jp, const char *name, size_t len, size_t index)
{
    struct jsonpath_step *s = realloc(jp->steps, (jp->count + 1) * sizeof *s);
    if (!s)
        return SPATE_ENOMEM;
    jp->steps = s;
    s = &jp->steps[jp->count];
    s->name = NULL;
    s->name_len = len;
    s->index = index;
    if (name) {
        s->name = malloc(len + 1);
        if (!s->name)
            return SPATE_ENOMEM;
        memcpy(s->name, name, len);
        s->name[len] = '\0';
    }
    jp->count++;
    return 0;
}

int jsonpath_compile(const char *expr, struct jsonpath **out)
{
    *out = NULL;
    if (!expr)
        return SPATE_EINVAL;
    struct jsonpath *jp = calloc(1, sizeof *jp);
    if (!jp)
        return SPATE_ENOMEM;
    const char *p = expr;
    int rc = 0;
    int start = 1;       /* nothing parsed yet: a name needs no '.' */
    int expect_name = 0; /* after a '.', a name must follow */
    if (*p == '$') {
        p++;
        if (*p == '.') {
            p++;
            expect_name = 1;
        }
    }
    while (*p && rc == 0) {
        if (*p == '[') {
            if (expect_name) {
                rc = SPATE_EINVAL;
                break;
            }
            p++;
            if (*p < '0' || *p > '9') {
                rc = SPATE_EINVAL;
                break;
            }
            size_t idx = 0;
            while (*p >= '0' && *p <= '9') {
                if (idx > (SIZE_MAX - 9) / 10) {
                    rc = SPATE_EINVAL;
                    break;
                }
                idx = idx * 10 + (size_t)(*p - '0');
                p++;
            }
            if (rc == 0 && *p != ']')
                rc = SPATE_EINVAL;
            if (rc)
                break;
            p++;
            rc = add_step(jp, NULL, 0, idx);
            start = 0;
            continue;
        }
        if (*p == '.') {
            if (start || expect_name) {
                rc = SPATE_EINVAL;
                break;
            }
            p++;
            expect_name = 1;
            continue;
        }
        if (!start && !expect_name) { /* "a[1]b" */
            rc = SPATE_EINVAL;
            break;
        }
        size_t n = strcspn(p, ".[");
        rc = add_step(jp, p, n, 0);
        p += n;
        start = 0;
        expect_name = 0;
    }
    if (rc == 0 && expect_name)
        rc = SPATE_EINVAL;
    if (rc) {
        jsonpath_free(jp);
        return rc;
    }
    *out = jp;
    return 0;
}

/* ---- scanner: every function returns the position after what it consumed,
 * or NULL when the bytes are not valid JSON. */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at the opening quote. *has_escape tells the caller whether a plain
 * memcmp of the body is the key's value. */
static const char *skip_string(const char *p, const char *end, int *has_escape)
{
    p++;
    if (has_escape)
        *has_escape = 0;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (has_escape)
                *has_escape = 1;
            if (++p >= end)
                return NULL;
            switch (*p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p++;
                break;
            case 'u':
                if (end - p < 5)
                    return NULL;
                for (int i = 1; i <= 4; i++)
                    if (spate_hexval(p[i]) < 0)
                        return NULL;
                p += 5;
                break;
            default:
                return NULL;
            }
            continue;
        }
        p++;
        /* Fast path: 8 bytes at a time while none is '"', '\\' or < 0x20. */
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
            uint64_t special = ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) |
                               ((x - ones * 0x20) & ~x);
            special &= highs;
            if (special) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                /* Borrows only run upwards, so the lowest flagged byte is a real
                 * '"', '\\' or control byte: go straight to it. */
                p += __builtin_ctzll(special) >> 3;
#endif
                break;
            }
            p += 8;
        }
    }
    return NULL;
}

static const char *skip_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *skip_literal(const char *p, const char *end, const char *lit, size_t n)
{
    if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
        return NULL;
    return p + n;
}

/* A validation pass may also watch one path: it records the span of the
 * value there and, when that value is an array, reports each element. `on`
 * is the number of path steps the current value matches, or -1 when it is
 * off the path. */
struct walk {
    const struct jsonpath *jp;
    const struct jsonpath *sub; /* looked up inside each reported element */
    void (*on_elem)(void *arg, const struct jsonpath_span *elem,
                    const struct jsonpath_span *sub);
    void *arg;
    struct jsonpath_span target;
    int found;
};

static int key_equals(const char *k, size_t klen, int has_escape, const char *name,
                      size_t name_len);

static const char *skip_value(const char *p, const char *end, int depth,
                              enum jsonpath_type *type, struct walk *w, int on);

static const char *skip_container(const char *p, const char *end, int depth, int is_obj,
                                  struct walk *w, int on)
{
    if (depth >= JSONPATH_MAX_DEPTH)
        return NULL;
    char close = is_obj ? '}' : ']';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    /* Steps of the path still to match below this container. */
    const struct jsonpath_step *step = w && on >= 0 && (size_t)on < w->jp->count
                                           ? &w->jp->steps[on]
                                           : NULL;
    int report = w && on >= 0 && (size_t)on == w->jp->count && !is_obj && w->on_elem;
    size_t idx = 0;
    for (;;) {
        int child_on = -1;
        if (is_obj) {
            if (p >= end || *p != '"')
                return NULL;
            int esc;
            const char *kend = skip_string(p, end, step && step->name ? &esc : NULL);
            if (!kend)
                return NULL;
            if (step && step->name &&
                key_equals(p + 1, (size_t)(kend - p - 2), esc, step->name, step->name_len))
                child_on = on + 1;
            p = skip_ws(kend, end);
            if (p >= end || *p != ':')
                return NULL;
            p = skip_ws(p + 1, end);
        } else if (step && !step->name && step->index == idx) {
            child_on = on + 1;
        }
        idx++;
        enum jsonpath_type t;
        const char *vstart = p;
        if (report) {
            /* The element is scanned once: validated, and its sub path found
             * on the way. */
            struct walk ew = {.jp = w->sub};
            p = skip_value(p, end, depth + 1, &t, w->sub ? &ew : NULL, w->sub ? 0 : -1);
            if (!p)
                return NULL;
            struct jsonpath_span el = {vstart, (size_t)(p - vstart), t};
            w->on_elem(w->arg, &el, ew.found ? &ew.target : NULL);
        } else {
            p = skip_value(p, end, depth + 1, &t, child_on >= 0 ? w : NULL, child_on);
            if (!p)
                return NULL;
        }
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        if (*p == close)
            return p + 1;
        if (*p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
    }
}

static const char *skip_value(const char *p, const char *end, int depth,
                              enum jsonpath_type *type, struct walk *w, int on)
{
    if (p >= end)
        return NULL;
    enum jsonpath_type t;
    const char *r;
    switch (*p) {
    case '{':
        t = JSONPATH_OBJECT;
        r = skip_container(p, end, depth, 1, w, on);
        break;
    case '[':
        t = JSONPATH_ARRAY;
        r = skip_container(p, end, depth, 0, w, on);
        break;
    case '"':
        t = JSONPATH_STRING;
        r = skip_string(p, end, NULL);
        break;
    case 't':
        t = JSONPATH_TRUE;
        r = skip_literal(p, end, "true", 4);
        break;
    case 'f':
        t = JSONPATH_FALSE;
        r = skip_literal(p, end, "false", 5);
        break;
    case 'n':
        t = JSONPATH_NULL;
        r = skip_literal(p, end, "null", 4);
        break;
    default:
        t = JSONPATH_NUMBER;
        r = skip_number(p, end);
        break;
    }
    if (type)
        *type = t;
    if (r && w && on >= 0 && (size_t)on == w->jp->count && !w->found) {
        w->target.p = p;
        w->target.len = (size_t)(r - p);
        w->target.type = t;
        w->found = 1;
    }
    return r;
}

int jsonpath_validate_find(const struct jsonpath *jp, const struct jsonpath *sub,
                           const char *json, size_t len, struct jsonpath_span *out,
                           void (*on_elem)(void *arg, const struct jsonpath_span *elem,
                                           const struct jsonpath_span *sub),
                           void *arg)
{
    if (!jp || !json)
        return SPATE_EINVAL;
    struct walk w = {.jp = jp, .sub = sub, .on_elem = on_elem, .arg = arg};
    const char *end = json + len;
    const char *p = skip_ws(json, end);
    p = skip_value(p, end, 0, NULL, &w, 0);
    if (!p)
        return SPATE_EPARSE;
    p = skip_ws(p, end);
    if (p != end)
        return SPATE_EPARSE;
    if (!w.found)
        return SPATE_ENOTFOUND;
    if (out)
        *out = w.target;
    return 0;
}

int jsonpath_validate(const char *json, size_t len)
{
    if (!json)
        return SPATE_EPARSE;
    const char *end = json + len;
    const char *p = skip_ws(json, end);
    p = skip_value(p, end, 0, NULL, NULL, -1);
    if (!p)
        return SPATE_EPARSE;
    p = skip_ws(p, end);
    return p == end ? 0 : SPATE_EPARSE;
}

/* Decode one \uXXXX (p after the 'u'). */
static unsigned hex4(const char *p)
{
    return (unsigned)(spate_hexval(p[0]) << 12 | spate_hexval(p[1]) << 8 | spate_hexval(p[2]) << 4 |
                      spate_hexval(p[3]));
}

/* Unescape the body of a string (between the quotes) into out. Returns the
 * decoded length (which may exceed outlen; only outlen bytes are written),
 * or (size_t)-1 on bad escapes. */
static size_t unescape(const char *p, const char *end, char *out, size_t outlen)
{
    size_t n = 0;
#define PUT(ch)                                                                \
    do {                                                                       \
        if (n < outlen)                                                        \
            out[n] = (char)(ch);                                               \
        n++;                                                                   \
    } while (0)
    while (p < end) {
        if (*p != '\\') {
            PUT(*p);
            p++;
            continue;
        }
        p++;
        if (p >= end)
            return (size_t)-1;
        char c = *p++;
        switch (c) {
        case '"': PUT('"'); break;
        case '\\': PUT('\\'); break;
        case '/': PUT('/'); break;
        case 'b': PUT('\b'); break;
        case 'f': PUT('\f'); break;
        case 'n': PUT('\n'); break;
        case 'r': PUT('\r'); break;
        case 't': PUT('\t'); break;
        case 'u': {
            if (end - p < 4)
                return (size_t)-1;
            unsigned cp = hex4(p);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' &&
                p[1] == 'u') {
                unsigned lo = hex4(p + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* lone surrogate */
            if (cp < 0x80) {
                PUT(cp);
            } else if (cp < 0x800) {
                PUT(0xC0 | (cp >> 6));
                PUT(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                PUT(0xE0 | (cp >> 12));
                PUT(0x80 | ((cp >> 6) & 0x3F));
                PUT(0x80 | (cp & 0x3F));
            } else {
                PUT(0xF0 | (cp >> 18));
                PUT(0x80 | ((cp >> 12) & 0x3F));
                PUT(0x80 | ((cp >> 6) & 0x3F));
                PUT(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            return (size_t)-1;
        }
    }
#undef PUT
    return n;
}

/* Does the raw key body k[0..klen) (escapes possible) equal name? */
static int key_equals(const char *k, size_t klen, int has_escape, const char *name,
                      size_t name_len)
{
    if (!has_escape)
        return klen == name_len && memcmp(k, name, name_len) == 0;
    char tmp[256];
    if (name_len > sizeof tmp)
        return 0;
    size_t n = unescape(k, k + klen, tmp, sizeof tmp);
    return n == name_len && memcmp(tmp, name, name_len) == 0;
}

int jsonpath_find(const struct jsonpath *jp, const char *json, size_t len,
                  struct jsonpath_span *out)
{
    if (!jp || !json)
        return SPATE_EINVAL;
    const char *end = json + len;
    const char *p = skip_ws(json, end);
    for (size_t si = 0; si < jp->count; si++) {
        const struct jsonpath_step *st = &jp->steps[si];
        if (p >= end)
            return SPATE_EPARSE;
        int want_obj = st->name != NULL;
        if (*p != (want_obj ? '{' : '[')) {
            /* Wrong container (or scalar): not found, provided it is JSON. */
            return skip_value(p, end, (int)si, NULL, NULL, -1) ? SPATE_ENOTFOUND : SPATE_EPARSE;
        }
        p = skip_ws(p + 1, end);
        if (p < end && *p == (want_obj ? '}' : ']'))
            return SPATE_ENOTFOUND;
        size_t idx = 0;
        int found = 0;
        for (;;) {
            int match = 0;
            if (want_obj) {
                if (p >= end || *p != '"')
                    return SPATE_EPARSE;
                int esc;
                const char *kend = skip_string(p, end, &esc);
                if (!kend)
                    return SPATE_EPARSE;
                match = key_equals(p + 1, (size_t)(kend - p - 2), esc, st->name, st->name_len);
                p = skip_ws(kend, end);
                if (p >= end || *p != ':')
                    return SPATE_EPARSE;
                p = skip_ws(p + 1, end);
            } else {
                match = idx == st->index;
                idx++;
            }
            if (match) {
                found = 1;
                break;
            }
            p = skip_value(p, end, (int)si + 1, NULL, NULL, -1);
            if (!p)
                return SPATE_EPARSE;
            p = skip_ws(p, end);
            if (p >= end)
                return SPATE_EPARSE;
            if (*p == (want_obj ? '}' : ']'))
                break;
            if (*p != ',')
                return SPATE_EPARSE;
            p = skip_ws(p + 1, end);
        }
        if (!found)
            return SPATE_ENOTFOUND;
    }
    enum jsonpath_type t;
    const char *vend = skip_value(p, end, (int)jp->count, &t, NULL, -1);
    if (!vend)
        return SPATE_EPARSE;
    out->p = p;
    out->len = (size_t)(vend - p);
    out->type = t;
    return 0;
}

int jsonpath_iter_init(struct jsonpath_iter *it, const struct jsonpath_span *array)
{
    if (!array || array->type != JSONPATH_ARRAY || array->len < 2)
        return SPATE_ETYPE;
    it->p = array->p + 1;
    it->end = array->p + array->len - 1; /* the closing ']' */
    it->count = 0;
    return 0;
}

int jsonpath_iter_next(struct jsonpath_iter *it, struct jsonpath_span *elem)
{
    const char *p = skip_ws(it->p, it->end);
    if (it->count > 0) {
        if (p >= it->end)
            return 0;
        if (*p != ',')
            return SPATE_EPARSE;
        p = skip_ws(p + 1, it->end);
    } else if (p >= it->end) {
        return 0;
    }
    enum jsonpath_type t;
    const char *vend = skip_value(p, it->end, 1, &t, NULL, -1);
    if (!vend)
        return SPATE_EPARSE;
    elem->p = p;
    elem->len = (size_t)(vend - p);
    elem->type = t;
    it->p = vend;
    it->count++;
    return 1;
}

int jsonpath_scalar_text(const struct jsonpath_span *v, char *out, size_t outlen,
                         size_t *needed)
{
    size_t n;
    if (outlen == 0)
        return SPATE_EINVAL;
    switch (v->type) {
    case JSONPATH_STRING:
        if (v->len < 2)
            return SPATE_EPARSE;
        n = unescape(v->p + 1, v->p + v->len - 1, out, outlen - 1);
        if (n == (size_t)-1)
            return SPATE_EPARSE;
        break;
    case JSONPATH_NUMBER:
    case JSONPATH_TRUE:
    case JSONPATH_FALSE:
        n = v->len;
        memcpy(out, v->p, n < outlen - 1 ? n : outlen - 1);
        break;
    default:
        return SPATE_ETYPE;
    }
    if (needed)
        *needed = n;
    out[n < outlen - 1 ? n : outlen - 1] = '\0';
    return n < outlen ? 0 : SPATE_ETOOBIG;
}
