/* SPDX-License-Identifier: Apache-2.0 */
/* apisim_gen.c -- deterministic users in the randomuser.me JSON shape, written by hand for speed. */
#include "apisim_internal.h"

#include "spate/text.h"

#include "spate/error.h"
#include "spate/util.h"

#include <openssl/evp.h>
#include <string.h>

/* Usernames are an adjective, an animal and a number, like the real API's. */
static const char *const adjectives[] = {
    "silver", "happy", "lazy", "crazy", "brave", "tiny", "golden", "purple", "angry", "quiet",
    "heavy", "orange", "white", "black", "red", "blue", "green", "yellow", "ticklish", "sad",
    "beautiful", "organic", "smart", "wild"};
static const char *const animals[] = {
    "swan", "tiger", "wolf", "bear", "frog", "lion", "duck", "rabbit", "koala", "panda",
    "fish", "bird", "snake", "goose", "peacock", "elephant", "gorilla", "ladybug", "butterfly",
    "leopard", "meercat", "mouse", "ostrich", "zebra"};
/* Weak passwords, as a generator of fake accounts would hand out. */
static const char *const passwords[] = {
    "password", "123456", "qwerty", "letmein", "dragon", "sunshine", "monkey", "football",
    "iloveyou", "welcome", "shadow", "master", "baseball", "trustno1", "superman", "hunter",
    "starwars", "cookie", "pepper", "ginger", "summer", "winter", "flower", "banana",
    "chocolate", "matrix", "zxcvbn", "freedom", "whatever", "corvette", "mustang", "phoenix"};

#define NA(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

#define TAG_KEY 0x4b45590000000000ULL /* hash tag of the messy-key decision */

/* ---- text helpers -------------------------------------------------------------------- */

size_t apisim__display_len(const char *entry)
{
    const char *bar = strchr(entry, '|');
    return bar ? (size_t)(bar - entry) : strlen(entry);
}

/* ASCII for one code point of Latin-1 Supplement or Latin Extended-A, or NULL. */
static const char *fold_cp(uint32_t cp)
{
    if (cp >= 0xC0 && cp <= 0xFF) {
        static const char *const l1[64] = {
            "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
            "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
            "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
            "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y"};
        return l1[cp - 0xC0];
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        static const struct {
            uint32_t last;
            const char *s;
        } ext[] = {{0x105, "a"}, {0x10D, "c"}, {0x111, "d"}, {0x11B, "e"}, {0x123, "g"},
                   {0x127, "h"}, {0x131, "i"}, {0x133, "ij"}, {0x135, "j"}, {0x138, "k"},
                   {0x142, "l"}, {0x14B, "n"}, {0x151, "o"}, {0x153, "oe"}, {0x159, "r"},
                   {0x161, "s"}, {0x167, "t"}, {0x173, "u"}, {0x175, "w"}, {0x178, "y"},
                   {0x17E, "z"}, {0x17F, "s"}};
        for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
            if (cp <= ext[i].last)
                return ext[i].s;
    }
    return NULL;
}

size_t apisim__ascii_fold(const char *name, char *out, size_t cap)
{
    const char *bar = strchr(name, '|');
    const unsigned char *p = (const unsigned char *)(bar ? bar + 1 : name);
    size_t n = 0;
    if (cap == 0)
        return 0;
    while (*p && n + 1 < cap) {
        uint32_t c = *p;
        const char *rep = NULL;
        char one[2] = {0, 0};
        if (c < 0x80) {
            p++;
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                one[0] = (char)c;
            else if (c >= 'A' && c <= 'Z')
                one[0] = (char)(c | 0x20);
            rep = one[0] ? one : NULL;
        } else if ((c & 0xE0) == 0xC0 && p[1]) {
            rep = fold_cp(((c & 0x1F) << 6) | (p[1] & 0x3F));
            p += 2;
        } else {
            /* Three- and four-byte sequences (other scripts): skip. */
            p++;
            while ((*p & 0xC0) == 0x80)
                p++;
        }
        for (; rep && *rep && n + 1 < cap; rep++)
            out[n++] = *rep;
    }
    out[n] = 0;
    return n;
}

/* ---- UUID ---------------------------------------------------------------------------- */

#define MASK62 ((1ULL << 62) - 1)

/* A bijection on 62-bit values: xor-shifts and odd multipliers modulo 2^62. */
static uint64_t perm62(uint64_t x)
{
    x &= MASK62;
    x ^= x >> 31;
    x = (x * 0x7fb5d329728ea185ULL) & MASK62;
    x ^= x >> 27;
    x = (x * 0x81dadef4bc2dd44dULL) & MASK62;
    x ^= x >> 33;
    return x;
}

static const char hexd[] = "0123456789abcdef";

static void uuid_h(uint64_t sh, int64_t page, int index, char out[37])
{
    uint64_t hi = apisim__hash4(sh, (uint64_t)page, (uint64_t)index, 0x55554944ULL);
    hi = (hi & ~0xF000ULL) | 0x4000ULL; /* version 4 */
    uint64_t key = ((uint64_t)page << 13) | (uint64_t)index;
    uint64_t lo = 0x8000000000000000ULL | perm62(key ^ (sh & MASK62)); /* variant 10 */
    int o = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        uint64_t w = i < 16 ? hi : lo;
        out[o++] = hexd[(w >> (60 - 4 * (i & 15))) & 0xF];
    }
    out[36] = 0;
}

void apisim_user_uuid(const char *seed, int64_t page, int index, char out[37])
{
    uuid_h(apisim__seed_hash(seed), page, index, out);
}

/* The variant a record's key is served in; it depends on neither the attempt nor
 * the record faults, so a retried page repeats the same keys the same way. */
static enum apisim_messy_key messy_key_h(const struct apisim_faults *f, uint64_t sh,
                                         int64_t page, int index)
{
    if (f->p_messy_keys <= 0)
        return APISIM_KEY_PLAIN;
    uint64_t h = apisim__hash4(f->seed, sh, (uint64_t)page, TAG_KEY | (uint32_t)index);
    if (apisim__unit(h) >= f->p_messy_keys)
        return APISIM_KEY_PLAIN;
    enum apisim_messy_key k = (enum apisim_messy_key)(1 + (apisim__mix64(h) >> 40) % 4);
    /* the first record of a page has no previous one, page 1 no previous page */
    if (k == APISIM_KEY_REPEAT_PAGE && index == 0)
        k = APISIM_KEY_UPPER;
    if (k == APISIM_KEY_REPEAT_PREV && page <= 1)
        k = APISIM_KEY_PADDED;
    return k;
}

static size_t served_uuid_h(const struct apisim_faults *f, uint64_t sh, int64_t page, int index,
                            char *out, enum apisim_messy_key *kind)
{
    enum apisim_messy_key k = messy_key_h(f, sh, page, index);
    if (kind)
        *kind = k;
    switch (k) {
    case APISIM_KEY_REPEAT_PAGE: uuid_h(sh, page, index - 1, out); return 36;
    case APISIM_KEY_REPEAT_PREV: uuid_h(sh, page - 1, index, out); return 36;
    case APISIM_KEY_UPPER:
        uuid_h(sh, page, index, out);
        for (int i = 0; i < 36; i++)
            if (out[i] >= 'a' && out[i] <= 'f')
                out[i] = (char)(out[i] - 'a' + 'A');
        return 36;
    case APISIM_KEY_PADDED:
        /* two spaces before; a tab (JSON-escaped) and a space after */
        out[0] = out[1] = ' ';
        uuid_h(sh, page, index, out + 2);
        memcpy(out + 38, "\\t ", 4);
        return 41;
    default: uuid_h(sh, page, index, out); return 36;
    }
}

enum apisim_messy_key apisim_served_uuid(const struct apisim_faults *f, const char *seed,
                                         int64_t page, int index,
                                         char out[APISIM_SERVED_UUID_MAX + 1])
{
    enum apisim_messy_key k;
    size_t n = served_uuid_h(f, apisim__seed_hash(seed), page, index, out, &k);
    out[n] = 0;
    return k;
}

/* ---- dates --------------------------------------------------------------------------- */

static inline char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" for t seconds + ms; returns the age in whole years
 * at APISIM_REF_EPOCH. */
static int put_date(char **pp, int64_t t, int ms)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t sod = t - days * 86400;
    int64_t y64;
    unsigned um, ud;
    spate_civil_from_days(days, &y64, &um, &ud);
    int y = (int)y64, m = (int)um, d = (int)ud;
    char *p = *pp;
    *p++ = (char)('0' + y / 1000);
    *p++ = (char)('0' + y / 100 % 10);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, (int)(sod / 3600));
    *p++ = ':';
    p = put2(p, (int)(sod / 60 % 60));
    *p++ = ':';
    p = put2(p, (int)(sod % 60));
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    p = put2(p, ms % 100);
    *p++ = 'Z';
    *pp = p;
    int64_t ry;
    unsigned rm, rd;
    spate_civil_from_days(APISIM_REF_EPOCH / 86400, &ry, &rm, &rd);
    int age = (int)ry - y;
    if (rm < um || (rm == um && rd < ud))
        age--;
    return age;
}

/* ---- writer -------------------------------------------------------------------------- */

/* The writer appends into space reserved up front, so the hot path has no checks. Every
 * string written unescaped comes from our tables, which hold no '"', '\\' or control
 * characters (a unit test checks that). */
#define LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) += sizeof(s) - 1)

static inline char *put_str(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static inline char *put_cstr(char *p, const char *s) { return put_str(p, s, strlen(s)); }

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* Fixed 4 decimals, like the real API's coordinates. */
static char *put_fixed4(char *p, double x)
{
    int64_t v = (int64_t)(x * 10000.0 + (x < 0 ? -0.5 : 0.5));
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    p = put_u64(p, (uint64_t)(v / 10000));
    *p++ = '.';
    int f = (int)(v % 10000);
    *p++ = (char)('0' + f / 1000);
    *p++ = (char)('0' + f / 100 % 10);
    p = put2(p, f % 100);
    return p;
}

/* One 64-bit draw yields up to 18 decimal digits (a letter costs two), so a phone
 * number costs one or two draws instead of one per digit. */
static char *put_pattern(char *p, const char *fmt, struct apisim_rng *r)
{
    uint64_t x = apisim__next(r);
    int budget = 18;
    for (; *fmt; fmt++) {
        char c = *fmt;
        if (c != '#' && c != 'N' && c != 'A') {
            *p++ = c;
            continue;
        }
        if (budget < 2) {
            x = apisim__next(r);
            budget = 18;
        }
        if (c == '#') {
            *p++ = (char)('0' + x % 10);
            x /= 10;
            budget--;
        } else if (c == 'N') {
            *p++ = (char)('1' + x % 9);
            x /= 10;
            budget--;
        } else {
            *p++ = (char)('A' + x % 26);
            x /= 100;
            budget -= 2;
        }
    }
    return p;
}

static char *put_hex(char *p, const unsigned char *d, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        *p++ = hexd[d[i] >> 4];
        *p++ = hexd[d[i] & 15];
    }
    return p;
}

struct digests {
    EVP_MD_CTX *ctx;
    EVP_MD *md5, *sha1, *sha256;
};

static int digests_init(struct digests *dg)
{
    dg->ctx = EVP_MD_CTX_new();
    dg->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    dg->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    dg->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    return dg->ctx && dg->md5 && dg->sha1 && dg->sha256 ? 0 : SPATE_ENOMEM;
}

static void digests_free(struct digests *dg)
{
    EVP_MD_CTX_free(dg->ctx);
    EVP_MD_free(dg->md5);
    EVP_MD_free(dg->sha1);
    EVP_MD_free(dg->sha256);
}

static char *put_digest(char *p, struct digests *dg, EVP_MD *md, const char *a, size_t alen,
                        const char *b, size_t blen)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestInit_ex(dg->ctx, md, NULL) != 1 || EVP_DigestUpdate(dg->ctx, a, alen) != 1 ||
        EVP_DigestUpdate(dg->ctx, b, blen) != 1 || EVP_DigestFinal_ex(dg->ctx, out, &n) != 1)
        n = 0; /* cannot happen with fetched digests; leaves an empty string */
    return put_hex(p, out, n);
}

/* Upper bound of one user's bytes: every table string is short (under 64 bytes). */
#define USER_MAX 4096

struct damage {
    const char *missing;   /* dotted field removed, or NULL */
    const char *wrongtype; /* dotted field given the wrong type, or NULL */
    int bad_text;          /* name.first ends in: 1 a lone surrogate escape, 2 byte 0xff */
};

static inline int is(const char *a, const char *b) { return a && strcmp(a, b) == 0; }

/* Key with its comma: first key of an object gets none. */
#define KEY(p, first, lit)                                                                \
    do {                                                                                  \
        if (!(first))                                                                     \
            *(p)++ = ',';                                                                 \
        (first) = 0;                                                                      \
        LIT(p, lit);                                                                      \
    } while (0)

static char *put_user(char *p, const struct apisim_query *q, uint64_t sh, int index,
                      const struct damage *dm, struct digests *dg)
{
    struct apisim_rng r = {apisim__hash4(sh, (uint64_t)q->page, (uint64_t)index, 0x55534552ULL)};
    int ni = q->nat_count ? q->nat[apisim__below(&r, (uint32_t)q->nat_count)]
                          : (int)apisim__below(&r, (uint32_t)apisim__nat_count);
    const struct apisim_nat *n = &apisim__nats[ni];
    int male = q->gender ? q->gender == 1 : (int)apisim__below(&r, 2);
    /* The rest of the user follows from its nationality and gender too, so asking the
     * same (seed, page) with another nat= or gender= filter gives other people rather
     * than the same draws dressed in another country's tables. */
    r.s ^= apisim__mix64(((uint64_t)ni << 1 | (uint64_t)male) + 0x6e6174ULL);
    const char *first = male ? n->male[apisim__below(&r, (uint32_t)n->n_male)]
                             : n->female[apisim__below(&r, (uint32_t)n->n_female)];
    const char *last = n->last[apisim__below(&r, (uint32_t)n->n_last)];
    const char *title;
    uint32_t tsel = apisim__below(&r, 3);
    if (male)
        title = n->french_titles ? "Monsieur" : "Mr";
    else if (n->french_titles)
        title = tsel == 0 ? "Mademoiselle" : "Madame";
    else
        title = tsel == 0 ? "Miss" : tsel == 1 ? "Ms" : "Mrs";
    unsigned fields = q->fields;
    int f1 = 1;

    *p++ = '{';
    if (fields & APISIM_F_GENDER) {
        KEY(p, f1, "\"gender\":");
        if (male)
            LIT(p, "\"male\"");
        else
            LIT(p, "\"female\"");
    }
    size_t first_len = apisim__display_len(first), last_len = apisim__display_len(last);
    if ((fields & APISIM_F_NAME) && !is(dm->missing, "name")) {
        KEY(p, f1, "\"name\":");
        if (is(dm->wrongtype, "name")) {
            *p++ = '"';
            p = put_str(p, first, first_len);
            *p++ = ' ';
            p = put_str(p, last, last_len);
            *p++ = '"';
        } else {
            LIT(p, "{\"title\":\"");
            p = put_cstr(p, title);
            LIT(p, "\",\"first\":\"");
            p = put_str(p, first, first_len);
            if (dm->bad_text == 1)
                LIT(p, "\\ud800");
            else if (dm->bad_text == 2)
                *p++ = (char)0xff;
            LIT(p, "\",\"last\":\"");
            p = put_str(p, last, last_len);
            LIT(p, "\"}");
        }
    }
    /* Location draws happen whether or not the field is shown, so inc/exc never shift
     * the values of the fields that remain. */
    uint32_t street_no = 1 + apisim__below(&r, 9999);
    const char *street = n->streets[apisim__below(&r, (uint32_t)n->n_streets)];
    const struct apisim_city *city = &n->cities[apisim__below(&r, (uint32_t)n->n_cities)];
    uint32_t pc_num = 0;
    struct apisim_rng pc_rng = {apisim__next(&r)};
    if (n->pc_numeric)
        pc_num = (uint32_t)n->pc_min + apisim__below(&r, (uint32_t)(n->pc_max - n->pc_min + 1));
    double lat = n->lat_min + apisim__unit(apisim__next(&r)) * (n->lat_max - n->lat_min);
    double lon = n->lon_min + apisim__unit(apisim__next(&r)) * (n->lon_max - n->lon_min);
    if ((fields & APISIM_F_LOCATION) && !is(dm->missing, "location")) {
        KEY(p, f1, "\"location\":{\"street\":{\"number\":");
        if (is(dm->wrongtype, "location.street.number")) {
            *p++ = '"';
            p = put_u64(p, street_no);
            *p++ = '"';
        } else {
            p = put_u64(p, street_no);
        }
        LIT(p, ",\"name\":\"");
        p = put_cstr(p, street);
        LIT(p, "\"},\"city\":\"");
        p = put_cstr(p, city->city);
        LIT(p, "\",\"state\":\"");
        p = put_cstr(p, city->state);
        LIT(p, "\",\"country\":\"");
        p = put_cstr(p, n->country);
        LIT(p, "\",\"postcode\":");
        if (is(dm->wrongtype, "location.postcode")) {
            LIT(p, "true");
        } else if (n->pc_numeric) {
            p = put_u64(p, pc_num);
        } else {
            *p++ = '"';
            p = put_pattern(p, n->pc_fmt, &pc_rng);
            *p++ = '"';
        }
        LIT(p, ",\"coordinates\":{\"latitude\":\"");
        p = put_fixed4(p, lat);
        LIT(p, "\",\"longitude\":\"");
        p = put_fixed4(p, lon);
        LIT(p, "\"},\"timezone\":{\"offset\":\"");
        p = put_cstr(p, n->tz_offset);
        LIT(p, "\",\"description\":\"");
        p = put_cstr(p, n->tz_desc);
        LIT(p, "\"}}");
    }
    char fa[64], la[64];
    size_t fan = apisim__ascii_fold(first, fa, sizeof fa);
    size_t lan = apisim__ascii_fold(last, la, sizeof la);
    if ((fields & APISIM_F_EMAIL) && !is(dm->missing, "email")) {
        KEY(p, f1, "\"email\":\"");
        p = put_str(p, fa, fan);
        *p++ = '.';
        p = put_str(p, la, lan);
        LIT(p, "@example.com\"");
    }
    const char *adj = adjectives[apisim__below(&r, NA(adjectives))];
    const char *animal = animals[apisim__below(&r, NA(animals))];
    uint32_t unum = 100 + apisim__below(&r, 900);
    const char *pw = passwords[apisim__below(&r, NA(passwords))];
    char salt[8];
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (int i = 0; i < 8; i++)
        salt[i] = alnum[apisim__below(&r, 62)];
    if ((fields & APISIM_F_LOGIN) && !is(dm->missing, "login")) {
        KEY(p, f1, "\"login\":{");
        int f2 = 1;
        if (is(dm->wrongtype, "login.uuid")) {
            KEY(p, f2, "\"uuid\":");
            p = put_u64(p, apisim__hash4(sh, (uint64_t)q->page, (uint64_t)index, 7) >> 12);
        } else if (!is(dm->missing, "login.uuid")) {
            KEY(p, f2, "\"uuid\":\"");
            char key[APISIM_SERVED_UUID_MAX + 1];
            size_t kn = served_uuid_h(&q->faults, sh, q->page, index, key, NULL);
            memcpy(p, key, kn);
            p += kn;
            *p++ = '"';
        }
        KEY(p, f2, "\"username\":\"");
        p = put_cstr(p, adj);
        p = put_cstr(p, animal);
        p = put_u64(p, unum);
        LIT(p, "\",\"password\":\"");
        size_t pwl = strlen(pw);
        p = put_str(p, pw, pwl);
        LIT(p, "\",\"salt\":\"");
        p = put_str(p, salt, 8);
        LIT(p, "\",\"md5\":\"");
        p = put_digest(p, dg, dg->md5, pw, pwl, salt, 8);
        LIT(p, "\",\"sha1\":\"");
        p = put_digest(p, dg, dg->sha1, pw, pwl, salt, 8);
        LIT(p, "\",\"sha256\":\"");
        p = put_digest(p, dg, dg->sha256, pw, pwl, salt, 8);
        LIT(p, "\"}");
    }
    /* Born 18 to 80 years before the reference instant; registered within the 20 years
     * before it. */
    int64_t dob = APISIM_REF_EPOCH - 568036800LL -
                  (int64_t)(apisim__unit(apisim__next(&r)) * 1956571200.0);
    int dob_ms = (int)apisim__below(&r, 1000);
    int64_t reg = APISIM_REF_EPOCH - 86400 - (int64_t)(apisim__unit(apisim__next(&r)) * 631152000.0);
    int reg_ms = (int)apisim__below(&r, 1000);
    if ((fields & APISIM_F_DOB) && !is(dm->missing, "dob")) {
        KEY(p, f1, "\"dob\":{\"date\":\"");
        int age = put_date(&p, dob, dob_ms);
        LIT(p, "\",\"age\":");
        if (is(dm->wrongtype, "dob.age")) {
            *p++ = '"';
            p = put_u64(p, (uint64_t)age);
            *p++ = '"';
        } else {
            p = put_u64(p, (uint64_t)age);
        }
        *p++ = '}';
    }
    if (fields & APISIM_F_REGISTERED) {
        KEY(p, f1, "\"registered\":{\"date\":");
        char *start = p;
        *p++ = '"';
        int age = put_date(&p, reg, reg_ms);
        *p++ = '"';
        if (is(dm->wrongtype, "registered.date")) {
            p = start;
            p = put_u64(p, (uint64_t)reg * 1000 + (uint64_t)reg_ms);
        }
        LIT(p, ",\"age\":");
        p = put_u64(p, (uint64_t)age);
        *p++ = '}';
    }
    struct apisim_rng ph = {apisim__next(&r)};
    if (fields & APISIM_F_PHONE) {
        KEY(p, f1, "\"phone\":\"");
        p = put_pattern(p, n->phone_fmt, &ph);
        *p++ = '"';
    }
    struct apisim_rng ce = {apisim__next(&r)};
    if (fields & APISIM_F_CELL) {
        KEY(p, f1, "\"cell\":\"");
        p = put_pattern(p, n->cell_fmt, &ce);
        *p++ = '"';
    }
    struct apisim_rng idr = {apisim__next(&r)};
    if (fields & APISIM_F_ID) {
        KEY(p, f1, "\"id\":{\"name\":\"");
        p = put_cstr(p, n->id_name);
        LIT(p, "\",\"value\":");
        if (n->id_fmt) {
            *p++ = '"';
            p = put_pattern(p, n->id_fmt, &idr);
            *p++ = '"';
        } else {
            LIT(p, "null");
        }
        *p++ = '}';
    }
    uint32_t pic = apisim__below(&r, 100);
    if (fields & APISIM_F_PICTURE) {
        const char *dir = male ? "men/" : "women/";
        static const char *const sizes[3][2] = {
            {"\"picture\":{\"large\":\"", "https://randomuser.me/api/portraits/"},
            {"\",\"medium\":\"", "https://randomuser.me/api/portraits/med/"},
            {"\",\"thumbnail\":\"", "https://randomuser.me/api/portraits/thumb/"}};
        if (!f1)
            *p++ = ',';
        f1 = 0;
        for (int i = 0; i < 3; i++) {
            p = put_cstr(p, sizes[i][0]);
            p = put_cstr(p, sizes[i][1]);
            p = put_cstr(p, dir);
            p = put_u64(p, pic);
            LIT(p, ".jpg");
        }
        LIT(p, "\"}");
    }
    if ((fields & APISIM_F_NAT) && !is(dm->missing, "nat")) {
        KEY(p, f1, "\"nat\":\"");
        p = put_str(p, n->code, 2);
        *p++ = '"';
    }
    *p++ = '}';
    return p;
}

int apisim__json_string(struct spate_buf *out, const char *s)
{
    return spate_json_escape(out, s, strlen(s)) ? SPATE_ENOMEM : 0;
}

int apisim_render(const struct apisim_query *q, struct spate_buf *out,
                  uint64_t recfaults[APISIM_RECFAULT_COUNT])
{
    struct digests dg = {0};
    int rc = SPATE_ENOMEM;
    uint64_t sh = apisim__seed_hash(q->seed);
    if (digests_init(&dg) != 0)
        goto done;
    int count = apisim_page_records(q);
    if (spate_buf_reserve(out, (size_t)count * 1200 + 256) != 0)
        goto done;
    if (spate_buf_append(out, "{\"results\":[", 12) != 0)
        goto done;
    for (int i = 0; i < count; i++) {
        if (spate_buf_reserve(out, USER_MAX) != 0)
            goto done;
        char *p = out->data + out->len;
        if (i)
            *p++ = ',';
        const char *field;
        struct damage dm = {NULL, NULL, apisim__bad_text_h(&q->faults, sh, q->page, i)};
        enum apisim_recfault rf = apisim__record_fault_h(&q->faults, sh, q->page, i, &field);
        if (rf == APISIM_RECFAULT_MISSING)
            dm.missing = field;
        else if (rf == APISIM_RECFAULT_WRONGTYPE)
            dm.wrongtype = field;
        if (recfaults)
            recfaults[rf]++;
        p = put_user(p, q, sh, i, &dm, &dg);
        out->len = (size_t)(p - out->data);
    }
    if (spate_buf_append(out, "]", 1) != 0)
        goto done;
    if (!q->noinfo) {
        if (spate_buf_append(out, ",\"info\":{\"seed\":", 16) != 0 ||
            apisim__json_string(out, q->seed) != 0 ||
            spate_buf_appendf(out, ",\"results\":%d,\"page\":%lld,\"version\":\"%s\"}",
                              count, (long long)q->page, APISIM_VERSION) != 0)
            goto done;
    }
    if (spate_buf_append(out, "}", 1) != 0)
        goto done;
    rc = 0;
done:
    digests_free(&dg);
    return rc;
}
