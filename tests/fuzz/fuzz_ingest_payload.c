/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_ingest_payload.c -- libFuzzer target: API response bytes -> records and keys; headers. */
#include "ingest/ingest_internal.h"
#include "spate/error.h"
#include "spate/jsonpath.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every span handed out must lie inside the input and be valid JSON itself. */
static const uint8_t *g_data;
static size_t g_size;

static void check_span(const struct jsonpath_span *s)
{
    if ((const uint8_t *)s->p < g_data || (const uint8_t *)s->p + s->len > g_data + g_size)
        abort();
    if (jsonpath_validate(s->p, s->len) != 0)
        abort();
}

static void on_elem(void *arg, const struct jsonpath_span *el, const struct jsonpath_span *key)
{
    (void)arg;
    check_span(el);
    if (key) {
        check_span(key);
        char buf[64];
        jsonpath_scalar_text(key, buf, sizeof buf, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jsonpath *records, *key;
    if (!records) {
        jsonpath_compile("results", &records);
        jsonpath_compile("login.uuid", &key);
    }
    g_data = data;
    g_size = size;
    const char *json = (const char *)data;
    struct jsonpath_span arr;
    int rc = jsonpath_validate_find(records, key, json, size, &arr, on_elem, NULL);
    int valid = jsonpath_validate(json, size) == 0;
    /* The one-pass and the plain validator must agree. */
    if ((rc == SPATE_EPARSE) == valid)
        abort();
    if (rc == 0) {
        check_span(&arr);
        struct jsonpath_span again;
        if (jsonpath_find(records, json, size, &again) != 0 || again.p != arr.p ||
            again.len != arr.len)
            abort();
    }
    /* The same bytes as response header values. */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char out[256];
    ingest__parse_link_next(s, out, sizeof out);
    ingest__parse_retry_after(s, 0, 3600000);
    free(s);
    return 0;
}
