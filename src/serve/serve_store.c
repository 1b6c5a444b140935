/* SPDX-License-Identifier: Apache-2.0 */
/* serve_store.c -- the read side of the Cassandra tables: a small session pool and the four
 * query patterns (user by id, latest by nationality, signups per minute, rejects of a day). */
#include "serve_internal.h"

#include "spate/cql.h"
#include "spate/error.h"
#include "spate/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the tables (schema/ files) ---------------------------------------------------------- */

#define Q_USER "SELECT * FROM users WHERE user_id = ?"
#define Q_LATEST                                                                              \
    "SELECT * FROM users_by_nationality WHERE nationality = ? AND day = ? LIMIT ?"
#define Q_STATS                                                                               \
    "SELECT window_start, gender, signups, avg_age FROM signups_by_minute "                  \
    "WHERE nationality = ? AND day = ? AND window_start >= ? AND window_start < ?"
#define Q_REJECTS "SELECT * FROM rejected_by_day WHERE day = ? LIMIT ?"
/* The day's real number: the rows shown stop at the limit. One partition, so no scan. */
#define Q_REJECTS_COUNT "SELECT COUNT(*) FROM rejected_by_day WHERE day = ?"
/* users_by_nationality partitions are (nationality, UTC day of ingested_at): a
 * latest-first read walks back a bounded number of days (never a scan). */
#define BUCKET_MS 86400000LL
#define LATEST_MAX_BUCKETS 8
#define LATEST_ALL_BUCKETS 2
#define ORDER_COLUMN "ingested_at"
#define STATS_MINUTE_COLUMN "window_start"
#define STATS_COUNT_COLUMN "signups"

/* The nationalities randomuser.me (and api-sim) produce, for "latest of all". */
static const char *const all_nats[] = {"AU", "BR", "CA", "CH", "DE", "DK", "ES",
                                       "FI", "FR", "GB", "IE", "IN", "IR", "MX",
                                       "NL", "NO", "NZ", "RS", "TR", "UA", "US"};
#define NNATS (sizeof all_nats / sizeof all_nats[0])

/* ---- session pool ------------------------------------------------------------------------- */

struct store_slot {
    pthread_mutex_t lock;
    struct cql_session *s;
    int64_t retry_ms;
};

struct serve_store {
    const struct spate_config *cfg;
    int n;
    struct store_slot *slots;
    atomic_int up;
    atomic_uint rr;
    size_t max_bytes; /* lists stop before their JSON passes it; 0 = no bound */
};

void serve_store_set_max_bytes(struct serve_store *st, size_t max_bytes) { st->max_bytes = max_bytes; }

/* Room left for rows in a list answer: the head and tail of the document
 * take at most this much besides them. */
#define LIST_OVERHEAD 4096

static int fits(const struct serve_store *st, size_t have, size_t more)
{
    return st->max_bytes == 0 || have + more + LIST_OVERHEAD <= st->max_bytes;
}

int serve_store_open(const struct spate_config *cfg, int pool_size, struct serve_store **out)
{
    if (pool_size < 1 || pool_size > 16)
        return SPATE_EINVAL;
    struct serve_store *st = calloc(1, sizeof *st);
    if (!st)
        return SPATE_ENOMEM;
    st->slots = calloc((size_t)pool_size, sizeof *st->slots);
    if (!st->slots) {
        free(st);
        return SPATE_ENOMEM;
    }
    st->cfg = cfg;
    st->n = pool_size;
    for (int i = 0; i < pool_size; i++)
        pthread_mutex_init(&st->slots[i].lock, NULL);
    *out = st;
    return 0;
}

void serve_store_close(struct serve_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n; i++) {
        cql_session_free(st->slots[i].s);
        pthread_mutex_destroy(&st->slots[i].lock);
    }
    free(st->slots);
    free(st);
}

int serve_store_up(struct serve_store *st) { return atomic_load(&st->up); }

/* A free slot if there is one, else waits for one; connects it when needed.
 * Returns the locked slot or NULL with err (then nothing is locked). */
static struct store_slot *acquire(struct serve_store *st, char *err, size_t errlen)
{
    unsigned start = atomic_fetch_add(&st->rr, 1);
    struct store_slot *sl = NULL;
    for (int i = 0; i < st->n && !sl; i++) {
        struct store_slot *c = &st->slots[(start + (unsigned)i) % (unsigned)st->n];
        if (pthread_mutex_trylock(&c->lock) == 0)
            sl = c;
    }
    if (!sl) {
        sl = &st->slots[start % (unsigned)st->n];
        pthread_mutex_lock(&sl->lock);
    }
    if (sl->s)
        return sl;
    int64_t now = spate_mono_ms();
    if (now < sl->retry_ms) {
        snprintf(err, errlen, "Cassandra is unreachable (retrying in %lld ms)",
                 (long long)(sl->retry_ms - now));
        pthread_mutex_unlock(&sl->lock);
        return NULL;
    }
    struct cql_session_config c;
    cql_session_config_from_spate(&c, &st->cfg->cassandra);
    c.keyspace = st->cfg->cassandra.keyspace;
    if (c.connect_timeout_ms <= 0 || c.connect_timeout_ms > 3000)
        c.connect_timeout_ms = 3000;
    c.request_timeout_ms = 5000;
    char e[256] = "";
    int rc = cql_session_new(&c, &sl->s, e, sizeof e);
    if (rc != 0) {
        sl->s = NULL;
        sl->retry_ms = now + 1000;
        atomic_store(&st->up, 0);
        snprintf(err, errlen, "Cassandra is unreachable: %s", e);
        pthread_mutex_unlock(&sl->lock);
        return NULL;
    }
    atomic_store(&st->up, 1);
    return sl;
}

static void release(struct store_slot *sl) { pthread_mutex_unlock(&sl->lock); }

/* Prepares (cached by the session) and runs one statement; o NULL = defaults. */
static int run_opts(struct serve_store *st, struct store_slot *sl, const char *cql,
                    const struct cql_value *v, size_t n, const struct cql_query_opts *opts,
                    struct cql_result **res, char *err, size_t errlen)
{
    const struct cql_prepared *p;
    struct cql_query_opts o = {.idempotent = 1};
    if (opts)
        o = *opts;
    int rc = cql_prepare(sl->s, cql, &p);
    if (rc == 0)
        rc = cql_execute(sl->s, p, v, n, &o, res);
    if (rc == 0) {
        atomic_store(&st->up, 1);
        return 0;
    }
    snprintf(err, errlen, "query failed: %s", cql_session_errstr(sl->s));
    if (rc == SPATE_ECLOSED || rc == SPATE_ECONNREFUSED || rc == SPATE_EUNAVAILABLE ||
        rc == SPATE_ETIMEDOUT) {
        atomic_store(&st->up, 0);
        return rc == SPATE_ETIMEDOUT ? rc : SPATE_EUNAVAILABLE;
    }
    return rc;
}

static int run(struct serve_store *st, struct store_slot *sl, const char *cql,
               const struct cql_value *v, size_t n, struct cql_result **res, char *err,
               size_t errlen)
{
    return run_opts(st, sl, cql, v, n, NULL, res, err, errlen);
}

/* {"col":value,...} of one row; column names are CQL identifiers, values JSON. */
static int row_json(const struct cql_result *r, size_t row, struct spate_buf *out)
{
    int rc = spate_buf_append(out, "{", 1);
    size_t nc = cql_result_column_count(r);
    for (size_t c = 0; c < nc && rc == 0; c++) {
        const char *name = cql_result_column_name(r, c);
        if (c)
            rc = spate_buf_append(out, ",", 1);
        if (rc == 0)
            rc = serve_json_string(out, name, strlen(name));
        if (rc == 0)
            rc = spate_buf_append(out, ":", 1);
        if (rc == 0)
            rc = cql_result_format_cell(r, row, c, 1, out);
    }
    return rc ? rc : spate_buf_append(out, "}", 1);
}

/* ---- user by id ------------------------------------------------------------------------------ */

int serve_store_user(struct serve_store *st, const uint8_t id[16], struct spate_buf *out,
                     char *err, size_t errlen)
{
    struct store_slot *sl = acquire(st, err, errlen);
    if (!sl)
        return SPATE_EUNAVAILABLE;
    struct cql_value v = cql_uuid(id);
    struct cql_result *r = NULL;
    int rc = run(st, sl, Q_USER, &v, 1, &r, err, errlen);
    release(sl);
    if (rc)
        return rc;
    if (cql_result_row_count(r) == 0) {
        static const char hex[] = "0123456789abcdef";
        char s[37];
        size_t k = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                s[k++] = '-';
            s[k++] = hex[id[i] >> 4];
            s[k++] = hex[id[i] & 15];
        }
        s[k] = 0;
        snprintf(err, errlen, "no user with id %s", s);
        cql_result_free(r);
        return SPATE_ENOTFOUND;
    }
    rc = spate_buf_append(out, "{\"user\":", 8);
    if (rc == 0)
        rc = row_json(r, 0, out);
    if (rc == 0)
        rc = spate_buf_append(out, "}\n", 2);
    cql_result_free(r);
    return rc;
}

/* ---- latest users of a nationality ------------------------------------------------------------ */

struct latest_row {
    int64_t ts;
    char *json;
};

static int cmp_latest(const void *a, const void *b)
{
    const struct latest_row *x = a, *y = b;
    return x->ts < y->ts ? 1 : x->ts > y->ts ? -1 : 0;
}

/* Appends up to limit rows of one nationality, walking buckets back from now. */
static int latest_of(struct serve_store *st, struct store_slot *sl, const char *nat, int limit,
                     int max_buckets, struct latest_row **rows, size_t *nrows, size_t *cap,
                     char *err, size_t errlen)
{
    int64_t bucket = spate_wall_ms() / BUCKET_MS;
    int got = 0;
    for (int b = 0; b < max_buckets && got < limit; b++, bucket--) {
        struct cql_value v[3] = {cql_text(nat), cql_int(bucket), cql_int(limit - got)};
        struct cql_result *r = NULL;
        int rc = run(st, sl, Q_LATEST, v, 3, &r, err, errlen);
        if (rc)
            return rc;
        int tcol = cql_result_column_index(r, ORDER_COLUMN);
        size_t n = cql_result_row_count(r);
        for (size_t i = 0; i < n; i++) {
            if (*nrows == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                struct latest_row *nr = realloc(*rows, nc * sizeof *nr);
                if (!nr) {
                    cql_result_free(r);
                    return SPATE_ENOMEM;
                }
                *rows = nr;
                *cap = nc;
            }
            struct spate_buf j = {0};
            if (row_json(r, i, &j) != 0 || spate_buf_append(&j, "", 1) != 0) {
                spate_buf_free(&j);
                cql_result_free(r);
                return SPATE_ENOMEM;
            }
            int64_t ts = 0;
            if (tcol >= 0)
                cql_result_get_int64(r, i, (size_t)tcol, &ts);
            (*rows)[*nrows].ts = ts;
            (*rows)[*nrows].json = j.data;
            (*nrows)++;
            got++;
        }
        cql_result_free(r);
    }
    return 0;
}

int serve_store_latest(struct serve_store *st, const char *nationality, int limit,
                       struct spate_buf *out, char *err, size_t errlen)
{
    struct store_slot *sl = acquire(st, err, errlen);
    if (!sl)
        return SPATE_EUNAVAILABLE;
    struct latest_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (nationality) {
        rc = latest_of(st, sl, nationality, limit, LATEST_MAX_BUCKETS, &rows, &n, &cap, err,
                       errlen);
    } else {
        for (size_t i = 0; i < NNATS && rc == 0; i++)
            rc = latest_of(st, sl, all_nats[i], limit, LATEST_ALL_BUCKETS, &rows, &n, &cap, err,
                           errlen);
    }
    release(sl);
    if (rc == 0) {
        if (n > 1)
            qsort(rows, n, sizeof *rows, cmp_latest);
        size_t shown = n < (size_t)limit ? n : (size_t)limit;
        size_t bytes = 0, fit = 0;
        while (fit < shown && fits(st, bytes, strlen(rows[fit].json) + 1))
            bytes += strlen(rows[fit++].json) + 1;
        int truncated = fit < shown;
        shown = fit;
        rc = spate_buf_append(out, "{\"nationality\":", 15);
        if (rc == 0)
            rc = nationality ? serve_json_string(out, nationality, strlen(nationality))
                             : spate_buf_append(out, "null", 4);
        if (rc == 0)
            rc = spate_buf_appendf(out, ",\"count\":%zu,%s\"users\":[", shown,
                                   truncated ? "\"truncated\":true," : "");
        for (size_t i = 0; i < shown && rc == 0; i++) {
            if (i)
                rc = spate_buf_append(out, ",", 1);
            if (rc == 0)
                rc = spate_buf_append(out, rows[i].json, strlen(rows[i].json));
        }
        if (rc == 0)
            rc = spate_buf_append(out, "]}\n", 3);
    }
    for (size_t i = 0; i < n; i++)
        free(rows[i].json);
    free(rows);
    return rc;
}

/* ---- signups per minute -------------------------------------------------------------------------- */

struct kv_count {
    char key[64];
    double n;
};

static void bump(struct kv_count *kv, size_t *n, size_t max, const char *key, size_t klen,
                 double by)
{
    if (klen >= sizeof kv[0].key)
        klen = sizeof kv[0].key - 1;
    for (size_t i = 0; i < *n; i++)
        if (strlen(kv[i].key) == klen && !memcmp(kv[i].key, key, klen)) {
            kv[i].n += by;
            return;
        }
    if (*n == max)
        return;
    memcpy(kv[*n].key, key, klen);
    kv[*n].key[klen] = 0;
    kv[*n].n = by;
    (*n)++;
}

static int kv_json(struct spate_buf *out, const char *name, const struct kv_count *kv, size_t n)
{
    int rc = spate_buf_appendf(out, ",\"%s\":{", name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i)
            rc = spate_buf_append(out, ",", 1);
        if (rc == 0)
            rc = serve_json_string(out, kv[i].key, strlen(kv[i].key));
        if (rc == 0)
            rc = spate_buf_appendf(out, ":%.0f", kv[i].n);
    }
    return rc ? rc : spate_buf_append(out, "}", 1);
}

static int get_text(const struct cql_result *r, size_t row, int col, const char **p, size_t *len)
{
    if (col < 0 || cql_result_get_bytes(r, row, (size_t)col, p, len) != 0) {
        *p = "";
        *len = 0;
        return -1;
    }
    return 0;
}

int serve_store_stats(struct serve_store *st, int64_t from_ms, int64_t to_ms,
                      const char *nationality, struct spate_buf *out, char *err, size_t errlen)
{
    size_t nmin = (size_t)((to_ms - 1) / 60000 - from_ms / 60000 + 1);
    double *per_min = calloc(nmin + 1, sizeof *per_min);
    struct kv_count by_gender[8], by_nat[64];
    size_t ng = 0, nn = 0;
    double total = 0;
    if (!per_min)
        return SPATE_ENOMEM;
    struct store_slot *sl = acquire(st, err, errlen);
    if (!sl) {
        free(per_min);
        return SPATE_EUNAVAILABLE;
    }
    int rc = 0;
    int64_t first_day = from_ms / 86400000, last_day = (to_ms - 1) / 86400000;
    double age_sum = 0, age_n = 0;
    size_t nnat = nationality ? 1 : NNATS;
    for (size_t k = 0; k < nnat && rc == 0; k++) {
        const char *nat = nationality ? nationality : all_nats[k];
        for (int64_t day = first_day; day <= last_day && rc == 0; day++) {
            struct cql_value v[4] = {cql_text(nat), cql_int(day), cql_int(from_ms),
                                     cql_int(to_ms)};
            struct cql_result *r = NULL;
            rc = run(st, sl, Q_STATS, v, 4, &r, err, errlen);
            if (rc)
                break;
            int cm = cql_result_column_index(r, STATS_MINUTE_COLUMN);
            int cc = cql_result_column_index(r, STATS_COUNT_COLUMN);
            int cg = cql_result_column_index(r, "gender");
            int ca = cql_result_column_index(r, "avg_age");
            for (size_t i = 0; i < cql_result_row_count(r); i++) {
                const char *gen;
                size_t gl;
                get_text(r, i, cg, &gen, &gl);
                int64_t t = 0, c = 0;
                double age;
                if (cm >= 0)
                    cql_result_get_int64(r, i, (size_t)cm, &t);
                if (cc >= 0)
                    cql_result_get_int64(r, i, (size_t)cc, &c);
                if (t < from_ms || t >= to_ms)
                    continue;
                if (ca >= 0 && cql_result_get_double(r, i, (size_t)ca, &age) == 0) {
                    age_sum += age * (double)c;
                    age_n += (double)c;
                }
                per_min[t / 60000 - from_ms / 60000] += (double)c;
                total += (double)c;
                bump(by_gender, &ng, 8, gl ? gen : "unknown", gl ? gl : 7, (double)c);
                bump(by_nat, &nn, 64, nat, 2, (double)c);
            }
            cql_result_free(r);
        }
    }
    release(sl);
    if (rc == 0) {
        char f[32], t[32];
        rc = spate_buf_appendf(out, "{\"from\":\"%s\",\"to\":\"%s\",\"nationality\":",
                               serve_format_time(from_ms, f, sizeof f),
                               serve_format_time(to_ms, t, sizeof t));
        if (rc == 0)
            rc = nationality ? serve_json_string(out, nationality, strlen(nationality))
                             : spate_buf_append(out, "null", 4);
        if (rc == 0)
            rc = spate_buf_appendf(out, ",\"total\":%.0f", total);
        if (rc == 0 && age_n > 0)
            rc = spate_buf_appendf(out, ",\"avg_age\":%.2f", age_sum / age_n);
        else if (rc == 0)
            rc = spate_buf_append(out, ",\"avg_age\":null", 15);
        if (rc == 0)
            rc = kv_json(out, "by_gender", by_gender, ng);
        if (rc == 0)
            rc = kv_json(out, "by_nationality", by_nat, nn);
        if (rc == 0)
            rc = spate_buf_append(out, ",\"minutes\":[", 12);
        int first = 1;
        for (size_t i = 0; i < nmin && rc == 0; i++) {
            if (per_min[i] == 0)
                continue;
            rc = spate_buf_appendf(out, "%s{\"t\":\"%s\",\"signups\":%.0f}", first ? "" : ",",
                                   serve_format_time(from_ms / 60000 * 60000 +
                                                         (int64_t)i * 60000,
                                                     t, sizeof t),
                                   per_min[i]);
            first = 0;
        }
        if (rc == 0)
            rc = spate_buf_append(out, "]}\n", 3);
    }
    free(per_min);
    return rc;
}

/* ---- rejects of a day ------------------------------------------------------------------------------- */

/* Rows of rejects come in pages this small: a raw payload may be 1 MB, and a
 * page is held whole in memory while it is turned into JSON. */
#define REJECTS_PAGE 32

int serve_store_rejects(struct serve_store *st, int32_t day, int limit, struct spate_buf *out,
                        char *err, size_t errlen)
{
    struct store_slot *sl = acquire(st, err, errlen);
    if (!sl)
        return SPATE_EUNAVAILABLE;
    struct cql_value v[2] = {cql_int(day), cql_int(limit)};
    struct cql_result *cr = NULL;
    int rc = run(st, sl, Q_REJECTS_COUNT, v, 1, &cr, err, errlen);
    struct spate_buf rows = {0};
    struct kv_count by_stage[16];
    size_t ns = 0, n = 0;
    int truncated = 0;
    struct cql_query_opts o = {.idempotent = 1, .page_size = REJECTS_PAGE};
    void *state = NULL;
    size_t state_len = 0;
    while (rc == 0 && !truncated && (int)n < limit) {
        struct cql_result *r = NULL;
        o.paging_state = state;
        o.paging_state_len = state_len;
        rc = run_opts(st, sl, Q_REJECTS, v, 2, &o, &r, err, errlen);
        if (rc)
            break;
        int cs = cql_result_column_index(r, "stage");
        for (size_t i = 0; i < cql_result_row_count(r) && (int)n < limit && rc == 0; i++) {
            struct spate_buf row = {0};
            rc = row_json(r, i, &row);
            if (rc == 0 && !fits(st, rows.len, row.len + 1)) {
                truncated = 1;
                spate_buf_free(&row);
                break;
            }
            if (rc == 0 && n)
                rc = spate_buf_append(&rows, ",", 1);
            if (rc == 0)
                rc = spate_buf_append(&rows, row.data, row.len);
            spate_buf_free(&row);
            if (rc)
                break;
            const char *stage;
            size_t slen;
            get_text(r, i, cs, &stage, &slen);
            bump(by_stage, &ns, 16, slen ? stage : "unknown", slen ? slen : 7, 1);
            n++;
        }
        free(state);
        state = NULL;
        state_len = 0;
        if (rc == 0 && cql_result_has_more_pages(r)) {
            const void *ps;
            cql_result_paging_state(r, &ps, &state_len);
            state = malloc(state_len ? state_len : 1);
            if (!state)
                rc = SPATE_ENOMEM;
            else
                memcpy(state, ps, state_len);
        }
        cql_result_free(r);
        if (!state)
            break;
    }
    free(state);
    release(sl);
    if (rc) {
        cql_result_free(cr);
        spate_buf_free(&rows);
        return rc;
    }
    int64_t total = 0;
    if (cql_result_row_count(cr) != 1 || cql_result_get_int64(cr, 0, 0, &total) != 0) {
        snprintf(err, errlen, "query failed: COUNT(*) of rejected_by_day gave no number");
        cql_result_free(cr);
        spate_buf_free(&rows);
        return SPATE_EPROTO;
    }
    cql_result_free(cr);
    char d[16];
    rc = spate_buf_appendf(out, "{\"day\":\"%s\",\"total\":%lld,\"count\":%zu%s",
                           serve_format_day(day, d, sizeof d), (long long)total, n,
                           truncated ? ",\"truncated\":true" : "");
    if (rc == 0)
        rc = kv_json(out, "by_stage", by_stage, ns);
    if (rc == 0)
        rc = spate_buf_append(out, ",\"rejects\":[", 12);
    if (rc == 0 && rows.len)
        rc = spate_buf_append(out, rows.data, rows.len);
    if (rc == 0)
        rc = spate_buf_append(out, "]}\n", 3);
    spate_buf_free(&rows);
    return rc;
}
