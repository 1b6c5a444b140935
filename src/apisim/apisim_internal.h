/* SPDX-License-Identifier: Apache-2.0 */
/* apisim_internal.h -- what the api-sim files share: nationality tables and hashing. */
#ifndef SPATE_APISIM_INTERNAL_H
#define SPATE_APISIM_INTERNAL_H

#include "spate/apisim.h"

#include <stdint.h>

/* A name or place: "display" alone, or "display|ascii" when the display form is not in
 * the Latin script (the ascii form feeds email and username). */
struct apisim_city {
    const char *city;
    const char *state;
};

struct apisim_nat {
    const char *code;
    const char *country;
    const char *const *male;
    int n_male;
    const char *const *female;
    int n_female;
    const char *const *last;
    int n_last;
    const struct apisim_city *cities;
    int n_cities;
    const char *const *streets;
    int n_streets;
    /* Postcode: numeric ones are drawn in [pc_min, pc_max]; string ones from pc_fmt. */
    int pc_numeric;
    int pc_min, pc_max;
    const char *pc_fmt;
    /* Format patterns: '#' any digit, 'N' digit 1-9, 'A' letter A-Z, others literal. */
    const char *phone_fmt;
    const char *cell_fmt;
    const char *id_name;
    const char *id_fmt; /* NULL: id.value is JSON null, as the real API does for some */
    double lat_min, lat_max, lon_min, lon_max;
    const char *tz_offset;
    const char *tz_desc;
    int french_titles; /* Monsieur / Madame / Mademoiselle */
};

extern const struct apisim_nat apisim__nats[];
extern const int apisim__nat_count;

/* Small deterministic PRNG (splitmix64): one stream per user. */
struct apisim_rng {
    uint64_t s;
};
static inline uint64_t apisim__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static inline uint64_t apisim__next(struct apisim_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return apisim__mix64(r->s);
}
/* Uniform in [0, n) (n > 0); the modulo bias is irrelevant at these sizes. */
static inline uint32_t apisim__below(struct apisim_rng *r, uint32_t n)
{
    return (uint32_t)(((apisim__next(r) >> 32) * (uint64_t)n) >> 32);
}
/* Uniform double in [0, 1). */
static inline double apisim__unit(uint64_t x)
{
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

/* 64-bit hash of the seed string (FNV-1a, then mixed). */
static inline uint64_t apisim__seed_hash(const char *seed)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)seed; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return apisim__mix64(h);
}
/* Hash of a tuple, for decisions that must not depend on draw order. */
static inline uint64_t apisim__hash4(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t h = apisim__mix64(a ^ 0x243f6a8885a308d3ULL);
    h = apisim__mix64(h ^ b);
    h = apisim__mix64(h ^ c);
    return apisim__mix64(h ^ d);
}

/* Lower-case ASCII form of a display name for email/username: takes the part after '|'
 * when present, otherwise folds Latin letters with diacritics to ASCII and drops the
 * rest (spaces, apostrophes). Writes at most cap-1 bytes + NUL; returns the length. */
size_t apisim__ascii_fold(const char *name, char *out, size_t cap);
/* Display part of a table entry (up to '|'): pointer and length. */
size_t apisim__display_len(const char *entry);

/* The record fault of record `index` of a page, from the seed's hash sh (what
 * apisim_record_fault decides from the seed string); *field gets the damaged
 * field's path ("" for none). */
/* Which text damage record index of a page gets: 0 none, 1 name.first ends in a
 * lone surrogate escape, 2 in byte 0xff. It depends on neither the attempt nor the
 * other faults, so a retried page serves the same bytes. */
int apisim__bad_text_h(const struct apisim_faults *f, uint64_t sh, int64_t page, int index);
enum apisim_recfault apisim__record_fault_h(const struct apisim_faults *f, uint64_t sh,
                                            int64_t page, int index, const char **field);

/* Hash deciding how a damaged body is damaged (see apisim_damage_body). */
uint64_t apisim__shape_hash(const struct apisim_faults *f, const char *seed, int64_t page,
                            uint32_t attempt);

/* Append s as a JSON string literal (quoted, escaped) to out; 0 or SPATE_ENOMEM. */
int apisim__json_string(struct spate_buf *out, const char *s);

#endif
