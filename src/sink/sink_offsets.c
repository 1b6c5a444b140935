/* SPDX-License-Identifier: Apache-2.0 */
/* sink_offsets.c -- per-partition bookkeeping: commit only below the oldest unacknowledged record. */
#include "sink_internal.h"

#include "spate/error.h"

#include <stdlib.h>
#include <string.h>


void sink__track_init(struct sink_track *t)
{
    memset(t, 0, sizeof *t);
    t->next = -1;
    t->committed = -1;
}

void sink__track_free(struct sink_track *t)
{
    free(t->offsets);
    free(t->done);
    sink__track_init(t);
}

static int track_grow(struct sink_track *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    int64_t *o = malloc(cap * sizeof *o);
    unsigned char *d = malloc(cap);
    if (!o || !d) {
        free(o);
        free(d);
        return SPATE_ENOMEM;
    }
    for (size_t i = 0; i < t->count; i++) {
        size_t j = (t->head + i) % t->cap;
        o[i] = t->offsets[j];
        d[i] = t->done[j];
    }
    free(t->offsets);
    free(t->done);
    t->offsets = o;
    t->done = d;
    t->cap = cap;
    t->head = 0;
    return 0;
}

int sink__track_add(struct sink_track *t, int64_t offset, uint64_t *seq)
{
    if (offset < 0 || (t->next >= 0 && offset < t->next))
        return SPATE_EINVAL;
    if (t->count == t->cap) {
        int rc = track_grow(t);
        if (rc)
            return rc;
    }
    size_t j = (t->head + t->count) % t->cap;
    t->offsets[j] = offset;
    t->done[j] = 0;
    *seq = t->head_seq + t->count;
    t->count++;
    t->next = offset + 1;
    return 0;
}

int sink__track_done(struct sink_track *t, uint64_t seq)
{
    if (seq < t->head_seq || seq >= t->head_seq + t->count)
        return SPATE_ENOTFOUND;
    size_t j = (t->head + (size_t)(seq - t->head_seq)) % t->cap;
    if (t->done[j])
        return SPATE_ENOTFOUND;
    t->done[j] = 1;
    while (t->count > 0 && t->done[t->head]) {
        t->head = (t->head + 1) % t->cap;
        t->head_seq++;
        t->count--;
    }
    return 0;
}

int64_t sink__track_commit_offset(const struct sink_track *t)
{
    if (t->count > 0)
        return t->offsets[t->head];
    return t->next;
}

size_t sink__track_pending(const struct sink_track *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += !t->done[(t->head + i) % t->cap];
    return n;
}
