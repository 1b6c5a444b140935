/* SPDX-License-Identifier: Apache-2.0 */
/* jsonpath.h -- find values by dotted path in raw JSON bytes, without building a tree. */
#ifndef SPATE_JSONPATH_H
#define SPATE_JSONPATH_H

#include <stddef.h>

/* Pure code: bytes in, spans out. A span points into the caller's buffer, so
 * a record can be forwarded exactly as it was received. No allocation except
 * jsonpath_compile(). */

enum jsonpath_type {
    JSONPATH_OBJECT,
    JSONPATH_ARRAY,
    JSONPATH_STRING,
    JSONPATH_NUMBER,
    JSONPATH_TRUE,
    JSONPATH_FALSE,
    JSONPATH_NULL,
};

struct jsonpath_span {
    const char *p; /* first byte of the value (a quote for strings) */
    size_t len;    /* bytes of the value, quotes included */
    enum jsonpath_type type;
};

/* Maximum nesting the scanner accepts; deeper input is SPATE_EPARSE. */
#define JSONPATH_MAX_DEPTH 256

struct jsonpath;

/* Compile "a.b[2].c" (optionally starting with "$" or "$."; "" or "$" is the
 * root). Names are any bytes except '.' and '['. On success *out is owned by
 * the caller (jsonpath_free). Returns 0, SPATE_EINVAL or SPATE_ENOMEM. */
int jsonpath_compile(const char *expr, struct jsonpath **out);
void jsonpath_free(struct jsonpath *jp);

/* Check that json[0..len) is exactly one well-formed JSON value (RFC 8259
 * grammar, surrounding whitespace allowed). Returns 0 or SPATE_EPARSE. */
int jsonpath_validate(const char *json, size_t len);

/* Find the value at jp in json. Returns 0 with *out set, SPATE_ENOTFOUND
 * (a step is missing or has the wrong container type) or SPATE_EPARSE
 * (malformed bytes met on the way; bytes after the value are not checked,
 * use jsonpath_validate first when the whole document matters). */
int jsonpath_find(const struct jsonpath *jp, const char *json, size_t len,
                  struct jsonpath_span *out);

/* One pass that does both: validate the whole document (as jsonpath_validate)
 * and find the value at jp (as jsonpath_find). When that value is an array and
 * on_elem is not NULL, on_elem is called for each of its elements, in order,
 * during the pass -- before the rest of the document is checked, so a caller
 * must not act on the elements until this returns 0. When sub is not NULL,
 * the value at sub inside each element is found in the same pass and passed
 * as on_elem's third argument (NULL when absent). Returns 0 with *out set
 * (out may be NULL), SPATE_EPARSE or SPATE_ENOTFOUND (valid JSON, no such
 * value). */
int jsonpath_validate_find(const struct jsonpath *jp, const struct jsonpath *sub,
                           const char *json, size_t len, struct jsonpath_span *out,
                           void (*on_elem)(void *arg, const struct jsonpath_span *elem,
                                           const struct jsonpath_span *sub),
                           void *arg);

/* Iterate the elements of an array span (from jsonpath_find):
 *   struct jsonpath_iter it; jsonpath_iter_init(&it, &arr);
 *   while ((rc = jsonpath_iter_next(&it, &elem)) == 1) ...
 * next returns 1 with an element, 0 at the end, SPATE_EPARSE on bad bytes. */
struct jsonpath_iter {
    const char *p;
    const char *end;
    int count;
};
int jsonpath_iter_init(struct jsonpath_iter *it, const struct jsonpath_span *array);
int jsonpath_iter_next(struct jsonpath_iter *it, struct jsonpath_span *elem);

/* Text of a scalar: strings are unescaped (\uXXXX to UTF-8), numbers and
 * true/false are their literal text. Writes at most outlen-1 bytes plus NUL
 * into out and sets *needed (may be NULL) to the full length. Returns 0,
 * SPATE_ETYPE (null, object or array), SPATE_ETOOBIG (out too small; out
 * holds a truncated prefix) or SPATE_EPARSE. */
int jsonpath_scalar_text(const struct jsonpath_span *v, char *out, size_t outlen,
                         size_t *needed);

#endif
