/* SPDX-License-Identifier: Apache-2.0 */
/* it_ingest_verify.c -- integration: compare the keys in a raw topic with the keys api-sim served.
 *
 * usage: it_ingest_verify --bootstrap B --topic RAW [--dlq DLQ] [--seed S --pages N --batch M
 *        [--start-page P] [--missing SHARE --wrong-type SHARE --fault-seed N]] [--count-only]
 *
 * Reads RAW (and DLQ) from the beginning up to the high watermarks. Checks that no key
 * appears twice, that every message carries spate.source, spate.fetched_at and
 * spate.request_id, that each value is valid JSON whose login.uuid is the key. With --seed
 * it recomputes, with api-sim's own generator, the login.uuid of every record of pages
 * start..start+N-1 (M records each) and checks that the raw keys are exactly those whose
 * record has a usable key (record faults on login.uuid: a missing one must be in the DLQ
 * as record_without_key, a number is produced under its number). Prints one line of
 * counts per topic and "verify: OK" or "verify: FAIL ..." and exits 0/1. */
#include "spate/apisim.h"
#include "spate/jsonpath.h"

#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYLEN 48

struct flow_keyset {
    char (*keys)[KEYLEN];
    size_t n, cap;
};

static void flow_keyset_add(struct flow_keyset *k, const char *key, size_t len)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 1 << 16;
        k->keys = realloc(k->keys, k->cap * KEYLEN);
        if (!k->keys) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    if (len >= KEYLEN)
        len = KEYLEN - 1;
    memcpy(k->keys[k->n], key, len);
    k->keys[k->n][len] = '\0';
    k->n++;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(a, b);
}

struct reasons {
    char name[24][64];
    uint64_t count[24];
    int n;
};

static void reason_add(struct reasons *r, const char *name, size_t len)
{
    char buf[64];
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, name, len);
    buf[len] = '\0';
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], buf) == 0) {
            r->count[i]++;
            return;
        }
    if (r->n < 24) {
        strcpy(r->name[r->n], buf);
        r->count[r->n++] = 1;
    }
}

static uint64_t reason_get(const struct reasons *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0)
            return r->count[i];
    return 0;
}

struct counts {
    uint64_t messages, bad_headers, bad_value, key_mismatch;
};

/* Consume topic from the beginning to the high watermarks, calling fn for
 * every message. */
/* Partitions of the topic consume_all read last. */
static int last_partitions;

static int consume_all(const char *bootstrap, const char *topic,
                       void (*fn)(const rd_kafka_message_t *m, void *arg), void *arg)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "it-ingest-verify", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "consumer: %s\n", err);
        return -1;
    }
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "no metadata for topic %s\n", topic);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return -1;
    }
    int np = md->topics[0].partition_cnt;
    last_partitions = np;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
    int64_t *high = calloc((size_t)np, sizeof *high);
    int remaining = 0;
    for (int p = 0; p < np; p++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000)) {
            fprintf(stderr, "watermarks of %s[%d] unavailable\n", topic, p);
            return -1;
        }
        high[p] = hi;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = lo;
            remaining++;
        }
    }
    rd_kafka_assign(rk, parts);
    int idle = 0;
    while (remaining > 0 && idle < 300) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        fn(m, arg);
        if (m->offset + 1 >= high[m->partition]) {
            high[m->partition] = INT64_MAX; /* done */
            remaining--;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    free(high);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (remaining > 0) {
        fprintf(stderr, "%s: %d partitions not read to the end\n", topic, remaining);
        return -1;
    }
    return 0;
}

struct raw_ctx {
    struct flow_keyset keys;
    struct counts c;
    struct jsonpath *uuid_jp;
};

static int has_header(rd_kafka_headers_t *h, const char *name)
{
    const void *v;
    size_t sz;
    return h && rd_kafka_header_get_last(h, name, &v, &sz) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           sz > 0;
}

static void on_raw(const rd_kafka_message_t *m, void *arg)
{
    struct raw_ctx *x = arg;
    x->c.messages++;
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    if (!has_header(h, "spate.source") || !has_header(h, "spate.fetched_at") ||
        !has_header(h, "spate.request_id"))
        x->c.bad_headers++;
    flow_keyset_add(&x->keys, m->key ? m->key : "", m->key_len);
    if (jsonpath_validate(m->payload, m->len) != 0) {
        x->c.bad_value++;
        return;
    }
    struct jsonpath_span sp;
    char k[KEYLEN];
    if (jsonpath_find(x->uuid_jp, m->payload, m->len, &sp) != 0 ||
        jsonpath_scalar_text(&sp, k, sizeof k, NULL) != 0 || strlen(k) != m->key_len ||
        memcmp(k, m->key, m->key_len) != 0)
        x->c.key_mismatch++;
}

struct dlq_ctx {
    struct reasons r;
    uint64_t messages, bad_headers;
};

static void on_dlq(const rd_kafka_message_t *m, void *arg)
{
    struct dlq_ctx *x = arg;
    x->messages++;
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    const void *v;
    size_t sz;
    if (!h || rd_kafka_header_get_last(h, "spate.error", &v, &sz) != 0 ||
        rd_kafka_header_get_last(h, "spate.stage", &v, &sz) != 0) {
        x->bad_headers++;
        return;
    }
    rd_kafka_header_get_last(h, "spate.error", &v, &sz);
    reason_add(&x->r, v, sz);
}

int main(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092", *topic = NULL, *dlq = NULL, *seed = NULL;
    int64_t pages = 0, start = 1;
    int batch = 0;
    struct apisim_faults f = {.seed = 1};
    static const struct option lo[] = {
        {"bootstrap", 1, 0, 'b'}, {"topic", 1, 0, 't'},     {"dlq", 1, 0, 'd'},
        {"seed", 1, 0, 's'},      {"pages", 1, 0, 'p'},     {"batch", 1, 0, 'n'},
        {"start-page", 1, 0, 'P'}, {"missing", 1, 0, 'm'},  {"wrong-type", 1, 0, 'w'},
        {"fault-seed", 1, 0, 'f'}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'b': bootstrap = optarg; break;
        case 't': topic = optarg; break;
        case 'd': dlq = optarg; break;
        case 's': seed = optarg; break;
        case 'p': pages = atoll(optarg); break;
        case 'n': batch = atoi(optarg); break;
        case 'P': start = atoll(optarg); break;
        case 'm': f.p_missing = atof(optarg); break;
        case 'w': f.p_wrongtype = atof(optarg); break;
        case 'f': f.seed = strtoull(optarg, NULL, 10); break;
        default: fprintf(stderr, "bad option\n"); return 2;
        }
    }
    if (!topic) {
        fprintf(stderr, "--topic is required\n");
        return 2;
    }
    struct raw_ctx raw = {0};
    jsonpath_compile("login.uuid", &raw.uuid_jp);
    if (consume_all(bootstrap, topic, on_raw, &raw) != 0)
        return 1;
    qsort(raw.keys.keys, raw.keys.n, KEYLEN, cmp_key);
    uint64_t dups = 0;
    for (size_t i = 1; i < raw.keys.n; i++)
        if (strcmp(raw.keys.keys[i], raw.keys.keys[i - 1]) == 0)
            dups++;
    printf("raw: messages=%" PRIu64 " distinct=%" PRIu64 " duplicates=%" PRIu64
           " bad_headers=%" PRIu64 " bad_json=%" PRIu64 " key_mismatch=%" PRIu64
           " partitions=%d\n",
           raw.c.messages, raw.c.messages - dups, dups, raw.c.bad_headers, raw.c.bad_value,
           raw.c.key_mismatch, last_partitions);
    int ok = dups == 0 && raw.c.bad_headers == 0 && raw.c.bad_value == 0 &&
             raw.c.key_mismatch == 0;

    struct dlq_ctx dq = {0};
    if (dlq) {
        if (consume_all(bootstrap, dlq, on_dlq, &dq) != 0) {
            /* An absent or empty DLQ is fine when nothing was bad. */
            dq.messages = 0;
        }
        printf("dlq: messages=%" PRIu64 " bad_headers=%" PRIu64, dq.messages, dq.bad_headers);
        for (int i = 0; i < dq.r.n; i++)
            printf(" %s=%" PRIu64, dq.r.name[i], dq.r.count[i]);
        printf("\n");
        if (dq.bad_headers)
            ok = 0;
    }

    if (seed && pages > 0 && batch > 0) {
        struct flow_keyset exp = {0};
        uint64_t keyless = 0, numeric = 0;
        for (int64_t p = start; p < start + pages; p++) {
            for (int i = 0; i < batch; i++) {
                const char *field = "";
                enum apisim_recfault rf = apisim_record_fault(&f, seed, p, i, &field);
                int on_key = strcmp(field, "login.uuid") == 0 || strcmp(field, "login") == 0;
                if (rf == APISIM_RECFAULT_MISSING && on_key) {
                    keyless++;
                    continue;
                }
                if (rf == APISIM_RECFAULT_WRONGTYPE && on_key) {
                    numeric++;
                    continue;
                }
                char u[37];
                apisim_user_uuid(seed, p, i, u);
                flow_keyset_add(&exp, u, 36);
            }
        }
        qsort(exp.keys, exp.n, KEYLEN, cmp_key);
        /* Merge the two sorted lists. */
        uint64_t missing = 0, unexpected = 0;
        size_t i = 0, j = 0;
        while (i < exp.n || j < raw.keys.n) {
            int d = i >= exp.n ? 1 : j >= raw.keys.n ? -1 : strcmp(exp.keys[i], raw.keys.keys[j]);
            if (d == 0) {
                i++;
                j++;
            } else if (d < 0) {
                if (missing++ < 3)
                    fprintf(stderr, "missing key %s\n", exp.keys[i]);
                i++;
            } else {
                unexpected++;
                j++;
            }
        }
        /* Numeric keys (a wrong-type login.uuid) are not UUIDs: they are the
         * "unexpected" ones, and there must be exactly as many. */
        printf("expected: keys=%zu keyless=%" PRIu64 " numeric=%" PRIu64 " missing=%" PRIu64
               " unexpected=%" PRIu64 "\n",
               exp.n, keyless, numeric, missing, unexpected);
        if (missing || unexpected != numeric)
            ok = 0;
        if (dlq && reason_get(&dq.r, "record_without_key") != keyless)
            ok = 0;
        free(exp.keys);
    }
    free(raw.keys.keys);
    jsonpath_free(raw.uuid_jp);
    printf("verify: %s\n", ok ? "OK" : "FAIL");
    return ok ? 0 : 1;
}
