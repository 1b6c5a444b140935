/* SPDX-License-Identifier: Apache-2.0 */
/* keyset.c -- an open-addressing multiset of record keys, for the ledger. */
#include "spate/flow.h"

#include "spate/error.h"

#include <stdlib.h>
#include <string.h>

/* Keys are copied into large chunks (one allocation per 1 MiB, not per key):
 * a million uuids cost ~60 MB instead of a million mallocs. */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

struct slot {
    const char *key; /* NULL = empty */
    uint32_t len;
    uint32_t hash;
    int64_t count;
};

struct flow_keyset {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t distinct, duplicated;
    uint64_t total;
    struct chunk *chunks;
};

static uint32_t hash_bytes(const void *p, size_t len)
{
    /* FNV-1a, then a final mix so the low bits used for the index are good */
    uint32_t h = 2166136261u;
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x7feb352dU;
    h ^= h >> 15;
    return h;
}

struct flow_keyset *flow_keyset_new(void)
{
    struct flow_keyset *ks = calloc(1, sizeof *ks);
    if (!ks)
        return NULL;
    ks->cap = 1024;
    ks->slots = calloc(ks->cap, sizeof *ks->slots);
    if (!ks->slots) {
        free(ks);
        return NULL;
    }
    return ks;
}

void flow_keyset_free(struct flow_keyset *ks)
{
    if (!ks)
        return;
    for (struct chunk *c = ks->chunks, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(ks->slots);
    free(ks);
}

static const char *store(struct flow_keyset *ks, const void *key, size_t len)
{
    struct chunk *c = ks->chunks;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > (1u << 20) ? len + 1 : (1u << 20);
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = ks->chunks;
        ks->chunks = c;
    }
    char *p = c->data + c->used;
    memcpy(p, key, len);
    p[len] = '\0';
    c->used += len + 1;
    return p;
}

static struct slot *find(const struct flow_keyset *ks, const void *key, size_t len, uint32_t h)
{
    size_t mask = ks->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct slot *s = &ks->slots[i];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

static int grow(struct flow_keyset *ks)
{
    size_t ncap = ks->cap * 2;
    struct slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return SPATE_ENOMEM;
    for (size_t i = 0; i < ks->cap; i++) {
        struct slot *s = &ks->slots[i];
        if (!s->key)
            continue;
        for (size_t j = s->hash & (ncap - 1);; j = (j + 1) & (ncap - 1)) {
            if (!ns[j].key) {
                ns[j] = *s;
                break;
            }
        }
    }
    free(ks->slots);
    ks->slots = ns;
    ks->cap = ncap;
    return 0;
}

int64_t flow_keyset_add(struct flow_keyset *ks, const void *key, size_t len)
{
    if (len > UINT32_MAX)
        return SPATE_ETOOBIG;
    if ((ks->distinct + 1) * 10 > ks->cap * 7) {
        int rc = grow(ks);
        if (rc)
            return rc;
    }
    uint32_t h = hash_bytes(key, len);
    struct slot *s = find(ks, key, len, h);
    ks->total++;
    if (s->key) {
        if (++s->count == 2)
            ks->duplicated++;
        return s->count;
    }
    const char *copy = store(ks, key, len);
    if (!copy)
        return SPATE_ENOMEM;
    s->key = copy;
    s->len = (uint32_t)len;
    s->hash = h;
    s->count = 1;
    ks->distinct++;
    return 1;
}

int64_t flow_keyset_count(const struct flow_keyset *ks, const void *key, size_t len)
{
    struct slot *s = find(ks, key, len, hash_bytes(key, len));
    return s->key ? s->count : 0;
}

size_t flow_keyset_distinct(const struct flow_keyset *ks) { return ks->distinct; }
uint64_t flow_keyset_total(const struct flow_keyset *ks) { return ks->total; }
size_t flow_keyset_duplicated(const struct flow_keyset *ks) { return ks->duplicated; }

void flow_keyset_each(const struct flow_keyset *ks,
                 int (*fn)(void *arg, const char *key, size_t len, int64_t count), void *arg)
{
    for (size_t i = 0; i < ks->cap; i++) {
        const struct slot *s = &ks->slots[i];
        if (s->key && fn(arg, s->key, s->len, s->count))
            return;
    }
}

struct compare_ctx {
    const struct flow_keyset *const *to;
    size_t nto;
    struct flow_ledger_check *out;
};

static int compare_one(void *arg, const char *key, size_t len, int64_t count)
{
    (void)count;
    struct compare_ctx *c = arg;
    c->out->expected++;
    for (size_t i = 0; i < c->nto; i++) {
        if (c->to[i] && flow_keyset_count(c->to[i], key, len) > 0) {
            c->out->found++;
            return 0;
        }
    }
    c->out->missing++;
    if (c->out->example_count < 5) {
        size_t n = len < 63 ? len : 63;
        memcpy(c->out->examples[c->out->example_count], key, n);
        c->out->examples[c->out->example_count][n] = '\0';
        c->out->example_count++;
    }
    return 0;
}

void flow_ledger_compare(const char *name, const struct flow_keyset *from, const struct flow_keyset *const *to,
                    size_t nto, struct flow_ledger_check *out)
{
    memset(out, 0, sizeof *out);
    out->name = name;
    struct compare_ctx c = {to, nto, out};
    flow_keyset_each(from, compare_one, &c);
}
