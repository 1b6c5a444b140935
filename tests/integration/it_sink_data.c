/* SPDX-License-Identifier: Apache-2.0 */
/* it_sink_data.c -- sink tests: produce deterministic users.clean records (with poison
 * records mixed in) and verify Cassandra against the same generator.
 *
 *   it_sink_data topics  --brokers B --partitions P TOPIC...
 *   it_sink_data produce --brokers B --topic T --count N --seed S --base-ms MS
 *                        [--poison-every K] [--from I] [--rate R]
 *   it_sink_data lines   --brokers B --topic T   (stdin: key TAB value [TAB h=v,h=v])
 *   it_sink_data verify  --host H --port P --keyspace KS --count N --seed S --base-ms MS
 *                        [--poison-every K] [--dlq]
 *
 * Record i (0 <= i < N) is a valid user whose user_id encodes i; after every
 * K-th valid record one poison record follows (key "poison-S-J"), of five
 * kinds: bad uuid, bad int, not JSON, no user_id, bad timestamp. */
#include "spate/cql.h"
#include "spate/error.h"
#include "spate/util.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *nats[] = {"AU", "BR", "CA", "CH", "DE", "DK", "ES", "FI", "FR", "GB",
                             "IE", "IN", "IR", "MX", "NL", "NO", "NZ", "RS", "TR", "US"};
static const char *firsts[] = {"Zoë", "Łukasz", "Ana", "Mehmet", "Aarav", "Olivia", "Noah",
                               "Émile", "Søren", "Jürgen", "Chloé", "Liam", "Ñandú", "Yui"};
static const char *lasts[] = {"Smith", "Müller", "García", "Nguyen", "O'Brien", "Kowalski",
                              "Jensen", "Rossi", "Dubois", "Yılmaz", "Silva", "Kim"};
static const char *titles[] = {"Mr", "Ms", "Mrs", "Miss", "Mademoiselle", "Monsieur"};
static const char *cities[] = {"Oslo", "Lyon", "Porto Alegre", "Ankara", "Auckland",
                               "København", "Zürich", "Cork", "Pune", "Leeds"};
#define N(a) (sizeof(a) / sizeof((a)[0]))

struct user {
    char user_id[40];
    const char *gender, *title, *first, *last;
    char email[128], phone[32], cell[32], username[32];
    int64_t dob_ms, reg_ms, ingested_ms, processed_ms;
    int age, street_number;
    char street[64];
    const char *city, *state, *country;
    char postcode[16];
    double lat, lon;
    char tz[8];
    const char *nat;
    char picture[96];
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static void gen(uint64_t seed, int64_t base_ms, int64_t i, struct user *u)
{
    uint64_t h = mix(seed * 1000003ULL + (uint64_t)i);
    snprintf(u->user_id, sizeof u->user_id, "%08" PRIx32 "-%04x-4%03x-8%03x-%012" PRIx64,
             (uint32_t)mix(seed), (unsigned)(seed & 0xffff), (unsigned)(h & 0xfff),
             (unsigned)((h >> 12) & 0xfff), (uint64_t)i);
    u->gender = (h >> 3) & 1 ? "male" : "female";
    u->title = (i % 11 == 0) ? NULL : titles[(h >> 5) % N(titles)];
    u->first = firsts[(h >> 9) % N(firsts)];
    u->last = lasts[(h >> 14) % N(lasts)];
    snprintf(u->email, sizeof u->email, "user.%" PRId64 "@example.com", i);
    snprintf(u->phone, sizeof u->phone, "(%03u)-%03u-%04u", (unsigned)(h % 1000),
             (unsigned)((h >> 10) % 1000), (unsigned)((h >> 20) % 10000));
    snprintf(u->cell, sizeof u->cell, "0%09u", (unsigned)((h >> 7) % 1000000000));
    snprintf(u->username, sizeof u->username, "user%" PRId64, i);
    u->dob_ms = -631152000000LL + (int64_t)((h >> 17) % 1577836800000ULL); /* 1950..2000 */
    u->age = (int)((base_ms - u->dob_ms) / 31556952000LL);
    u->reg_ms = 1000000000000LL + (int64_t)((h >> 19) % 700000000000ULL);
    u->street_number = (int)((h >> 23) % 9999);
    snprintf(u->street, sizeof u->street, "%s Street", lasts[(h >> 27) % N(lasts)]);
    u->city = cities[(h >> 31) % N(cities)];
    u->state = "State";
    u->country = "Country";
    snprintf(u->postcode, sizeof u->postcode, "%05u", (unsigned)((h >> 35) % 90000 + 10000));
    u->lat = (double)((int64_t)((h >> 37) % 180000) - 90000) / 1000.0;
    u->lon = (double)((int64_t)((h >> 41) % 360000) - 180000) / 1000.0 + 0.0001;
    snprintf(u->tz, sizeof u->tz, "%s%u:%s", (h >> 45) & 1 ? "+" : "-",
             (unsigned)((h >> 46) % 12), (h >> 50) & 1 ? "30" : "00");
    u->nat = nats[(h >> 51) % N(nats)];
    snprintf(u->picture, sizeof u->picture, "https://randomuser.me/api/portraits/%s/%u.jpg",
             u->gender[0] == 'm' ? "men" : "women", (unsigned)((h >> 55) % 100));
    u->ingested_ms = base_ms + i;
    u->processed_ms = u->ingested_ms + 5;
}

static void iso(int64_t ms, char *buf, size_t size)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int64_t rem = ms - (int64_t)s * 1000;
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}

static json_t *ts_json(int64_t ms, int as_number)
{
    if (as_number)
        return json_integer(ms);
    char b[40];
    iso(ms, b, sizeof b);
    return json_string(b);
}

static char *user_json(const struct user *u, int64_t i)
{
    json_t *o = json_object();
    json_object_set_new(o, "user_id", json_string(u->user_id));
    json_object_set_new(o, "gender", json_string(u->gender));
    json_object_set_new(o, "title", u->title ? json_string(u->title) : json_null());
    json_object_set_new(o, "first_name", json_string(u->first));
    json_object_set_new(o, "last_name", json_string(u->last));
    json_object_set_new(o, "email", json_string(u->email));
    json_object_set_new(o, "phone", json_string(u->phone));
    json_object_set_new(o, "cell", json_string(u->cell));
    json_object_set_new(o, "username", json_string(u->username));
    json_object_set_new(o, "date_of_birth", ts_json(u->dob_ms, 0));
    json_object_set_new(o, "age", json_integer(u->age));
    json_object_set_new(o, "registered_at", ts_json(u->reg_ms, i % 5 == 0));
    json_object_set_new(o, "street_number", json_integer(u->street_number));
    json_object_set_new(o, "street_name", json_string(u->street));
    json_object_set_new(o, "city", json_string(u->city));
    json_object_set_new(o, "state", json_string(u->state));
    json_object_set_new(o, "country", json_string(u->country));
    /* a number for some records: the text column must take it as text */
    json_object_set_new(o, "postcode", i % 3 == 0 ? json_integer(atoi(u->postcode))
                                                  : json_string(u->postcode));
    json_object_set_new(o, "latitude", json_real(u->lat));
    json_object_set_new(o, "longitude", json_real(u->lon));
    json_object_set_new(o, "timezone_offset", json_string(u->tz));
    json_object_set_new(o, "nationality", json_string(u->nat));
    json_object_set_new(o, "picture_url", json_string(u->picture));
    json_object_set_new(o, "ingested_at", ts_json(u->ingested_ms, 0));
    json_object_set_new(o, "processed_at", ts_json(u->processed_ms, i % 7 == 0));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *poison_json(uint64_t seed, int64_t base_ms, int64_t j, char *key, size_t keylen)
{
    snprintf(key, keylen, "poison-%" PRIu64 "-%" PRId64, seed, j);
    struct user u;
    gen(seed ^ 0x5a5a5a5aULL, base_ms, j, &u);
    char *good = user_json(&u, j);
    json_t *o = json_loads(good, 0, NULL);
    free(good);
    char *s = NULL;
    switch (j % 5) {
    case 0:
        json_object_set_new(o, "user_id", json_string("not-a-uuid"));
        break;
    case 1:
        json_object_set_new(o, "age", json_string("abc"));
        break;
    case 2:
        json_decref(o);
        return strdup("this is not json {");
    case 3:
        json_object_del(o, "user_id");
        break;
    case 4:
        json_object_set_new(o, "registered_at", json_string("yesterday at noon"));
        break;
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static int delivered, failed_dr;
static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *op)
{
    (void)rk;
    (void)op;
    if (m->err) {
        failed_dr++;
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered++;
    }
}

static rd_kafka_t *producer(const char *brokers)
{
    char e[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", brokers, e, sizeof e);
    rd_kafka_conf_set(c, "linger.ms", "20", e, sizeof e);
    rd_kafka_conf_set(c, "enable.idempotence", "true", e, sizeof e);
    rd_kafka_conf_set(c, "compression.codec", "lz4", e, sizeof e);
    rd_kafka_conf_set(c, "queue.buffering.max.messages", "500000", e, sizeof e);
    rd_kafka_conf_set_dr_msg_cb(c, on_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    if (!rk) {
        fprintf(stderr, "producer: %s\n", e);
        exit(2);
    }
    return rk;
}

static int cmd_topics(const char *brokers, int partitions, char **topics, int n)
{
    rd_kafka_t *rk = producer(brokers);
    rd_kafka_NewTopic_t **nt = calloc((size_t)n, sizeof *nt);
    char e[256];
    for (int i = 0; i < n; i++)
        nt[i] = rd_kafka_NewTopic_new(topics[i], partitions, 1, e, sizeof e);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int rc = 0;
    if (!ev) {
        fprintf(stderr, "create topics: no answer\n");
        rc = 1;
    } else {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t cnt;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[i]);
            if (te && te != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                fprintf(stderr, "create %s: %s\n", rd_kafka_topic_result_name(tr[i]),
                        rd_kafka_topic_result_error_string(tr[i]));
                rc = 1;
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    for (int i = 0; i < n; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    rd_kafka_destroy(rk);
    return rc;
}

static void produce_one(rd_kafka_t *rk, const char *topic, const char *key, char *val)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE(val, strlen(val)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 50);
            continue;
        }
        if (e) {
            fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
            exit(2);
        }
        rd_kafka_poll(rk, 0);
        return;
    }
}

static int cmd_produce(const char *brokers, const char *topic, int64_t count, int64_t from,
                       uint64_t seed, int64_t base_ms, int64_t poison_every, double rate)
{
    rd_kafka_t *rk = producer(brokers);
    int64_t t0 = spate_mono_ms(), poisons = 0;
    for (int64_t i = from; i < count; i++) {
        struct user u;
        gen(seed, base_ms, i, &u);
        produce_one(rk, topic, u.user_id, user_json(&u, i));
        if (poison_every > 0 && (i + 1) % poison_every == 0) {
            char key[64];
            int64_t j = (i + 1) / poison_every - 1;
            char *pv = poison_json(seed, base_ms, j, key, sizeof key);
            produce_one(rk, topic, key, pv);
            poisons++;
        }
        if (rate > 0) {
            int64_t due = t0 + (int64_t)((double)(i - from + 1) * 1000.0 / rate);
            while (spate_mono_ms() < due)
                rd_kafka_poll(rk, (int)(due - spate_mono_ms()));
        }
    }
    rd_kafka_flush(rk, 60000);
    rd_kafka_destroy(rk);
    printf("produced %d (%" PRId64 " poison) in %.1f s, %d failed\n", delivered, poisons,
           (double)(spate_mono_ms() - t0) / 1000.0, failed_dr);
    return failed_dr ? 1 : 0;
}

/* Lines "key<TAB>value[<TAB>name=value,name=value]" from stdin, as is. */
static int cmd_lines(const char *brokers, const char *topic)
{
    rd_kafka_t *rk = producer(brokers);
    char *line = NULL; /* any length: the sink's tests feed records near the limit */
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, stdin) > 0) {
        line[strcspn(line, "\n")] = 0;
        char *key = line, *val = strchr(line, '\t'), *hdrs = NULL;
        if (!val)
            continue;
        *val++ = 0;
        if ((hdrs = strchr(val, '\t')))
            *hdrs++ = 0;
        rd_kafka_headers_t *h = rd_kafka_headers_new(4);
        for (char *tok = hdrs ? strtok(hdrs, ",") : NULL; tok; tok = strtok(NULL, ",")) {
            char *eq = strchr(tok, '=');
            if (eq) {
                *eq = 0;
                rd_kafka_header_add(h, tok, -1, eq + 1, -1);
            }
        }
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE(val, strlen(val)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e) {
            rd_kafka_headers_destroy(h);
            fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
            free(line);
            return 2;
        }
        n++;
    }
    free(line);
    rd_kafka_flush(rk, 30000);
    rd_kafka_destroy(rk);
    printf("produced %d, %d failed\n", delivered, failed_dr);
    return failed_dr || delivered != n ? 1 : 0;
}

/* ---- verify ----------------------------------------------------------------- */

static int passed, failed;
static void check(int ok, const char *what, const char *detail)
{
    if (ok) {
        passed++;
        printf("ok   %s\n", what);
    } else {
        failed++;
        printf("FAIL %s%s%s\n", what, detail && *detail ? ": " : "", detail ? detail : "");
    }
}

typedef int (*row_fn)(void *arg, struct cql_result *r, size_t row);

static int scan(struct cql_session *s, const char *q, row_fn fn, void *arg)
{
    struct cql_query_opts o = {.page_size = 5000, .timeout_ms = 60000};
    char *state = NULL;
    size_t state_len = 0;
    for (;;) {
        o.paging_state = state;
        o.paging_state_len = state_len;
        struct cql_result *r = NULL;
        int rc = cql_query(s, q, NULL, 0, &o, &r);
        if (rc) {
            fprintf(stderr, "%s: %s\n", q, cql_session_errstr(s));
            free(state);
            return rc;
        }
        for (size_t i = 0; i < cql_result_row_count(r); i++)
            if (fn(arg, r, i))
                break;
        free(state);
        state = NULL;
        if (!cql_result_has_more_pages(r)) {
            cql_result_free(r);
            return 0;
        }
        const void *ps;
        cql_result_paging_state(r, &ps, &state_len);
        state = malloc(state_len);
        memcpy(state, ps, state_len);
        cql_result_free(r);
    }
}

struct vctx {
    uint64_t seed;
    int64_t base_ms, count;
    unsigned char *seen;
    int64_t rows, dups, foreign, mismatches;
    char first_bad[512];
};

static int64_t index_of(const uint8_t u[16], uint64_t seed, int64_t count)
{
    uint32_t hi = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
    if (hi != (uint32_t)mix(seed))
        return -1;
    int64_t i = 0;
    for (int k = 10; k < 16; k++)
        i = i << 8 | u[k];
    return i < count ? i : -1;
}

static void mismatch(struct vctx *v, int64_t i, const char *col, const char *detail)
{
    if (v->mismatches++ == 0)
        snprintf(v->first_bad, sizeof v->first_bad, "record %" PRId64 " column %s: %s", i, col,
                 detail);
}

static void cmp_text(struct vctx *v, struct cql_result *r, size_t row, int col, int64_t i,
                     const char *name, const char *want)
{
    const char *p;
    size_t len;
    int rc = cql_result_get_bytes(r, row, (size_t)col, &p, &len);
    if (!want) {
        if (rc != SPATE_ENOTFOUND)
            mismatch(v, i, name, "expected null");
        return;
    }
    if (rc || len != strlen(want) || memcmp(p, want, len) != 0) {
        char d[256];
        snprintf(d, sizeof d, "got '%.*s' want '%s'", rc ? 0 : (int)len, rc ? "" : p, want);
        mismatch(v, i, name, d);
    }
}

static void cmp_int(struct vctx *v, struct cql_result *r, size_t row, int col, int64_t i,
                    const char *name, int64_t want)
{
    int64_t got;
    if (cql_result_get_int64(r, row, (size_t)col, &got) || got != want) {
        char d[128];
        snprintf(d, sizeof d, "got %" PRId64 " want %" PRId64, got, want);
        mismatch(v, i, name, d);
    }
}

static void cmp_dbl(struct vctx *v, struct cql_result *r, size_t row, int col, int64_t i,
                    const char *name, double want)
{
    double got;
    if (cql_result_get_double(r, row, (size_t)col, &got) || got != want) {
        char d[128];
        snprintf(d, sizeof d, "got %.17g want %.17g", got, want);
        mismatch(v, i, name, d);
    }
}

static int users_row(void *arg, struct cql_result *r, size_t row)
{
    struct vctx *v = arg;
    uint8_t id[16];
    v->rows++;
    if (cql_result_get_uuid(r, row, 0, id)) {
        v->foreign++;
        return 0;
    }
    int64_t i = index_of(id, v->seed, v->count);
    if (i < 0) {
        v->foreign++;
        return 0;
    }
    if (v->seen[i]++) {
        v->dups++;
        return 0;
    }
    struct user u;
    gen(v->seed, v->base_ms, i, &u);
    int c = 1;
    cmp_text(v, r, row, c++, i, "gender", u.gender);
    cmp_text(v, r, row, c++, i, "title", u.title);
    cmp_text(v, r, row, c++, i, "first_name", u.first);
    cmp_text(v, r, row, c++, i, "last_name", u.last);
    cmp_text(v, r, row, c++, i, "email", u.email);
    cmp_text(v, r, row, c++, i, "phone", u.phone);
    cmp_text(v, r, row, c++, i, "cell", u.cell);
    cmp_text(v, r, row, c++, i, "username", u.username);
    cmp_int(v, r, row, c++, i, "date_of_birth", u.dob_ms);
    cmp_int(v, r, row, c++, i, "age", u.age);
    cmp_int(v, r, row, c++, i, "registered_at", u.reg_ms);
    cmp_int(v, r, row, c++, i, "street_number", u.street_number);
    cmp_text(v, r, row, c++, i, "street_name", u.street);
    cmp_text(v, r, row, c++, i, "city", u.city);
    cmp_text(v, r, row, c++, i, "state", u.state);
    cmp_text(v, r, row, c++, i, "country", u.country);
    cmp_text(v, r, row, c++, i, "postcode", u.postcode);
    cmp_dbl(v, r, row, c++, i, "latitude", u.lat);
    cmp_dbl(v, r, row, c++, i, "longitude", u.lon);
    cmp_text(v, r, row, c++, i, "timezone_offset", u.tz);
    cmp_text(v, r, row, c++, i, "nationality", u.nat);
    cmp_text(v, r, row, c++, i, "picture_url", u.picture);
    cmp_int(v, r, row, c++, i, "ingested_at", u.ingested_ms);
    cmp_int(v, r, row, c++, i, "processed_at", u.processed_ms);
    return 0;
}

static int64_t floor_day(int64_t ms)
{
    int64_t d = ms / 86400000;
    return ms % 86400000 < 0 ? d - 1 : d;
}

static int bynat_row(void *arg, struct cql_result *r, size_t row)
{
    struct vctx *v = arg;
    uint8_t id[16];
    v->rows++;
    if (cql_result_get_uuid(r, row, 3, id)) {
        v->foreign++;
        return 0;
    }
    int64_t i = index_of(id, v->seed, v->count);
    if (i < 0) {
        v->foreign++;
        return 0;
    }
    if (v->seen[i]++) {
        v->dups++;
        return 0;
    }
    struct user u;
    gen(v->seed, v->base_ms, i, &u);
    cmp_text(v, r, row, 0, i, "nationality", u.nat);
    cmp_int(v, r, row, 1, i, "day", floor_day(u.ingested_ms));
    cmp_int(v, r, row, 2, i, "ingested_at", u.ingested_ms);
    cmp_text(v, r, row, 4, i, "first_name", u.first);
    cmp_text(v, r, row, 5, i, "last_name", u.last);
    cmp_int(v, r, row, 6, i, "age", u.age);
    return 0;
}

struct dctx {
    uint64_t seed;
    int64_t npoison;
    int *seen;
    int64_t rows, other, bad_reason;
    char example[256];
};

static int dlq_row(void *arg, struct cql_result *r, size_t row)
{
    struct dctx *d = arg;
    const char *k, *st, *re;
    size_t kl, sl, rl;
    d->rows++;
    if (cql_result_get_bytes(r, row, 0, &k, &kl) || cql_result_get_bytes(r, row, 1, &st, &sl)) {
        d->other++;
        return 0;
    }
    char prefix[48];
    int pl = snprintf(prefix, sizeof prefix, "poison-%" PRIu64 "-", d->seed);
    if (kl <= (size_t)pl || memcmp(k, prefix, (size_t)pl) != 0) {
        d->other++;
        return 0;
    }
    int64_t j = strtoll(k + pl, NULL, 10);
    if (j < 0 || j >= d->npoison) {
        d->other++;
        return 0;
    }
    int has_reason = cql_result_get_bytes(r, row, 2, &re, &rl) == 0 && rl > 0;
    if (sl != 4 || memcmp(st, "sink", 4) != 0 || !has_reason)
        d->bad_reason++;
    else if (!d->example[0])
        snprintf(d->example, sizeof d->example, "%.*s: %.*s", (int)kl, k, (int)rl, re);
    d->seen[j]++;
    return 0;
}

static int cmd_verify(const char *host, int port, const char *ks, int64_t count, uint64_t seed,
                      int64_t base_ms, int64_t poison_every, int dlq)
{
    struct cql_session_config c;
    cql_session_config_init(&c);
    char hp[300];
    snprintf(hp, sizeof hp, "%s:%d", host, port);
    const char *cp[] = {hp};
    c.contact_points = cp;
    c.contact_point_count = 1;
    c.consistency = CQL_CL_ONE;
    c.request_timeout_ms = 60000;
    struct cql_session *s;
    char err[512];
    if (cql_session_new(&c, &s, err, sizeof err)) {
        fprintf(stderr, "cassandra: %s\n", err);
        return 2;
    }
    char q[512], d[600];
    struct vctx v = {.seed = seed, .base_ms = base_ms, .count = count};
    v.seen = calloc((size_t)count, 1);
    snprintf(q, sizeof q,
             "SELECT user_id, gender, title, first_name, last_name, email, phone, cell, "
             "username, date_of_birth, age, registered_at, street_number, street_name, city, "
             "state, country, postcode, latitude, longitude, timezone_offset, nationality, "
             "picture_url, ingested_at, processed_at FROM %s.users",
             ks);
    int64_t t0 = spate_mono_ms();
    if (scan(s, q, users_row, &v) == 0) {
        int64_t missing = 0;
        for (int64_t i = 0; i < count; i++)
            missing += !v.seen[i];
        snprintf(d, sizeof d, "%" PRId64 " rows, %" PRId64 " missing, %" PRId64
                              " duplicate, %" PRId64 " unexpected",
                 v.rows, missing, v.dups, v.foreign);
        char what[128];
        snprintf(what, sizeof what, "users: every one of %" PRId64 " keys present exactly once",
                 count);
        check(missing == 0 && v.dups == 0 && v.foreign == 0, what, d);
        snprintf(d, sizeof d, "%" PRId64 " mismatches; first: %s", v.mismatches, v.first_bad);
        check(v.mismatches == 0, "users: every column equal to the input", d);
    } else {
        check(0, "users: scan", cql_session_errstr(s));
    }
    fprintf(stderr, "users scan: %.1f s\n", (double)(spate_mono_ms() - t0) / 1000.0);

    struct vctx b = {.seed = seed, .base_ms = base_ms, .count = count};
    b.seen = calloc((size_t)count, 1);
    snprintf(q, sizeof q,
             "SELECT nationality, day, ingested_at, user_id, first_name, last_name, age "
             "FROM %s.users_by_nationality",
             ks);
    if (scan(s, q, bynat_row, &b) == 0) {
        int64_t missing = 0;
        for (int64_t i = 0; i < count; i++)
            missing += !b.seen[i];
        snprintf(d, sizeof d, "%" PRId64 " rows, %" PRId64 " missing, %" PRId64
                              " duplicate, %" PRId64 " unexpected, %" PRId64
                              " mismatches (first: %s)",
                 b.rows, missing, b.dups, b.foreign, b.mismatches, b.first_bad);
        check(missing == 0 && b.dups == 0 && b.foreign == 0 && b.mismatches == 0,
              "users_by_nationality: consistent with users (one row per user, same values)", d);
    } else {
        check(0, "users_by_nationality: scan", cql_session_errstr(s));
    }

    if (dlq && poison_every > 0) {
        int64_t np = count / poison_every;
        struct dctx dc = {.seed = seed, .npoison = np};
        dc.seen = calloc((size_t)(np ? np : 1), sizeof *dc.seen);
        snprintf(q, sizeof q, "SELECT record_key, stage, reason FROM %s.rejected_by_day", ks);
        if (scan(s, q, dlq_row, &dc) == 0) {
            int64_t missing = 0, twice = 0;
            for (int64_t j = 0; j < np; j++) {
                missing += dc.seen[j] == 0;
                twice += dc.seen[j] > 1;
            }
            snprintf(d, sizeof d, "%" PRId64 " poison records, %" PRId64 " missing, %" PRId64
                                  " without stage sink + reason",
                     np, missing, dc.bad_reason);
            check(missing == 0 && dc.bad_reason == 0,
                  "rejected_by_day: every poison record with stage sink and its reason", d);
            printf("     e.g. %s\n", dc.example);
            if (twice)
                printf("     note: %" PRId64 " poison records stored twice (re-sent after a "
                       "restart before their offset was committed)\n",
                       twice);
        } else {
            check(0, "rejected_by_day: scan", cql_session_errstr(s));
        }
        free(dc.seen);
    }
    free(v.seen);
    free(b.seen);
    cql_session_free(s);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: it_sink_data topics|produce|verify ...\n");
        return 2;
    }
    const char *cmd = argv[1];
    const char *brokers = "127.0.0.1:9092", *topic = NULL, *host = "127.0.0.1", *ks = "spate";
    int64_t count = 0, from = 0, base_ms = 1764028800000LL, poison_every = 0;
    uint64_t seed = 1;
    int port = 9042, partitions = 6, dlq = 0;
    double rate = 0;
    static const struct option lo[] = {
        {"brokers", 1, NULL, 'b'},   {"topic", 1, NULL, 't'},  {"count", 1, NULL, 'n'},
        {"from", 1, NULL, 'f'},      {"seed", 1, NULL, 's'},   {"base-ms", 1, NULL, 'm'},
        {"poison-every", 1, NULL, 'k'}, {"rate", 1, NULL, 'r'}, {"host", 1, NULL, 'H'},
        {"port", 1, NULL, 'P'},      {"keyspace", 1, NULL, 'K'}, {"partitions", 1, NULL, 'p'},
        {"dlq", 0, NULL, 'd'},       {NULL, 0, NULL, 0},
    };
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'n': count = strtoll(optarg, NULL, 10); break;
        case 'f': from = strtoll(optarg, NULL, 10); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'm': base_ms = strtoll(optarg, NULL, 10); break;
        case 'k': poison_every = strtoll(optarg, NULL, 10); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'H': host = optarg; break;
        case 'P': port = atoi(optarg); break;
        case 'K': ks = optarg; break;
        case 'p': partitions = atoi(optarg); break;
        case 'd': dlq = 1; break;
        default: return 2;
        }
    }
    if (strcmp(cmd, "topics") == 0)
        return cmd_topics(brokers, partitions, argv + optind, argc - optind);
    if (strcmp(cmd, "produce") == 0 && topic)
        return cmd_produce(brokers, topic, count, from, seed, base_ms, poison_every, rate);
    if (strcmp(cmd, "lines") == 0 && topic)
        return cmd_lines(brokers, topic);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(host, port, ks, count, seed, base_ms, poison_every, dlq);
    fprintf(stderr, "it_sink_data: bad command line\n");
    return 2;
}
