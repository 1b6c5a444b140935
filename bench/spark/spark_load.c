/* SPDX-License-Identifier: Apache-2.0 */
/* spark_load.c -- load generator and latency meter for the Spark job's tests.
 *
 *   spark_load produce BROKERS TOPIC COUNT RATE [BAD_PCT [MALFORMED_PCT [SEED]]]
 *       COUNT randomuser-shaped records at RATE records/s (0 = as fast as
 *       possible), key = login.uuid, headers spate.fetched_at (epoch ms, taken
 *       just before each send) and spate.source=spark_load. BAD_PCT percent
 *       break one validation rule, MALFORMED_PCT percent are not JSON.
 *       Prints "produced N in S s (R/s)".
 *   spark_load latency BROKERS TOPIC EXPECT TIMEOUT_S [SKIP_BEFORE_MS]
 *       Reads TOPIC from the beginning until EXPECT records arrived or
 *       TIMEOUT_S passed; latency = arrival (local wall clock when the
 *       consumer received it) - spate.fetched_at. Records fetched before
 *       SKIP_BEFORE_MS are counted but left out of the percentiles (warm-up).
 *       Prints "received N latency_ms p50 X p99 Y p999 Z max W".
 *
 * Built by the scripts that use it: cc -O2 spark_load.c -lrdkafka. */
#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: reproducible records for a given seed */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static const char *const firsts[] = {"Jennie", "Zoë", "Łukasz", "محمد", "Ines", "Noah",
                                      "Mía", "Søren", "Aarav", "Chloé", "Yuki", "Олег"};
static const char *const lasts[] = {"Nichols", "Ørnes", "Świątek", "Núñez", "Müller",
                                     "O'Brien", "García", "Kowalski", "田中", "Smith"};
static const char *const nats[] = {"US", "FR", "DE", "ES", "GB", "NO", "BR", "IN"};

static void make_uuid(char out[37])
{
    uint64_t a = rnd(), b = rnd();
    a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; /* version 4 */
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant */
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             (uint64_t)(a >> 32), (uint64_t)((a >> 16) & 0xffff), (uint64_t)(a & 0xffff),
             (uint64_t)(b >> 48), (uint64_t)(b & 0xffffffffffffULL));
}

/* One record into buf; kind 0 = valid, 1 = breaks a rule, 2 = malformed. */
static int make_record(char *buf, size_t len, const char *uuid, int kind, uint64_t i)
{
    const char *gender = (rnd() & 1) ? "male" : "female";
    const char *first = firsts[rnd() % (sizeof firsts / sizeof *firsts)];
    const char *last = lasts[rnd() % (sizeof lasts / sizeof *lasts)];
    const char *nat = nats[rnd() % (sizeof nats / sizeof *nats)];
    char email[96], postcode[32], lat[32];
    snprintf(email, sizeof email, "\"user%" PRIu64 "@example.com\"", i);
    if (rnd() & 1)
        snprintf(postcode, sizeof postcode, "%u", (unsigned)(10000 + rnd() % 89999));
    else
        snprintf(postcode, sizeof postcode, "\"%c%u %uAB\"", 'A' + (int)(rnd() % 26),
                 (unsigned)(rnd() % 9 + 1), (unsigned)(rnd() % 9 + 1));
    snprintf(lat, sizeof lat, "%.4f", (double)(rnd() % 1800000) / 10000.0 - 90.0);
    if (kind == 2)
        return snprintf(buf, len, "{\"gender\": \"%s\", \"name\": {\"first\": \"%s\"", gender,
                        first);
    if (kind == 1) {
        switch (rnd() % 4) {
        case 0: snprintf(email, sizeof email, "\"not-an-email\""); break;
        case 1: gender = "unknown"; break;
        case 2: snprintf(lat, sizeof lat, "123.5"); break;
        default: first = ""; break;
        }
    }
    int age = (int)(18 + rnd() % 60);
    return snprintf(
        buf, len,
        "{\"gender\":\"%s\",\"name\":{\"title\":\"Mx\",\"first\":\"%s\",\"last\":\"%s\"},"
        "\"location\":{\"street\":{\"number\":%u,\"name\":\"Main Street\"},\"city\":\"Oslo\","
        "\"state\":\"Oslo\",\"country\":\"Norway\",\"postcode\":%s,"
        "\"coordinates\":{\"latitude\":\"%s\",\"longitude\":\"%.4f\"},"
        "\"timezone\":{\"offset\":\"+1:00\",\"description\":\"Brussels\"}},"
        "\"email\":%s,\"login\":{\"uuid\":\"%s\",\"username\":\"user%" PRIu64 "\","
        "\"password\":\"pw\",\"salt\":\"s\",\"md5\":\"m\",\"sha1\":\"s\",\"sha256\":\"s\"},"
        "\"dob\":{\"date\":\"%d-03-08T15:13:16.688Z\",\"age\":%d},"
        "\"registered\":{\"date\":\"2015-07-09T05:51:59.390Z\",\"age\":10},"
        "\"phone\":\"(272) 790-0888\",\"cell\":\"(489) 330-2385\","
        "\"id\":{\"name\":\"SSN\",\"value\":\"405-88-3636\"},"
        "\"picture\":{\"large\":\"https://randomuser.me/api/portraits/women/%u.jpg\","
        "\"medium\":\"m\",\"thumbnail\":\"t\"},\"nat\":\"%s\"}",
        gender, first, last, (unsigned)(rnd() % 9999), postcode, lat,
        (double)(rnd() % 3600000) / 10000.0 - 180.0, email, uuid, i, 2025 - age, age,
        (unsigned)(rnd() % 99), nat);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers, const char *group)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err);
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set(conf, "linger.ms", "2", err, sizeof err);
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof err);
    } else {
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", err, sizeof err);
        rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof err);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk)
        fprintf(stderr, "spark_load: %s\n", err);
    return rk;
}

static int produce(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    const char *brokers = argv[2], *topic = argv[3];
    long long count = atoll(argv[4]);
    double rate = atof(argv[5]);
    int bad_pct = argc > 6 ? atoi(argv[6]) : 0;
    int malformed_pct = argc > 7 ? atoi(argv[7]) : 0;
    if (argc > 8)
        rng_state ^= (uint64_t)atoll(argv[8]) * 0x9E3779B97F4A7C15ULL;
    else
        rng_state ^= (uint64_t)wall_ms() * 0x9E3779B97F4A7C15ULL;
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, brokers, NULL);
    if (!rk)
        return 1;
    char rec[4096], uuid[37], ms[24];
    int64_t t0 = mono_us();
    long long sent = 0;
    for (long long i = 0; i < count && !stop; i++) {
        if (rate > 0) { /* pace against the schedule, not the last send */
            int64_t due = t0 + (int64_t)((double)i * 1e6 / rate);
            int64_t now = mono_us();
            if (due > now) {
                rd_kafka_poll(rk, 0);
                struct timespec d = {(time_t)((due - now) / 1000000),
                                     (long)((due - now) % 1000000) * 1000};
                nanosleep(&d, NULL);
            }
        }
        uint64_t r = rnd() % 100;
        int kind = (int)r < malformed_pct ? 2 : ((int)r < malformed_pct + bad_pct ? 1 : 0);
        make_uuid(uuid);
        int n = make_record(rec, sizeof rec, uuid, kind, (uint64_t)i);
        snprintf(ms, sizeof ms, "%" PRId64, wall_ms());
        rd_kafka_resp_err_t e;
        for (;;) {
            e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(uuid, strlen(uuid)),
                RD_KAFKA_V_VALUE(rec, (size_t)n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADER("spate.fetched_at", ms, (ssize_t)strlen(ms)),
                RD_KAFKA_V_HEADER("spate.source", "spark_load", 10), RD_KAFKA_V_END);
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            rd_kafka_poll(rk, 10);
        }
        if (e) {
            fprintf(stderr, "spark_load: produce: %s\n", rd_kafka_err2str(e));
            break;
        }
        sent++;
        rd_kafka_poll(rk, 0);
    }
    int left = rd_kafka_flush(rk, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : rd_kafka_outq_len(rk);
    double secs = (double)(mono_us() - t0) / 1e6;
    printf("produced %lld in %.2f s (%.0f/s)%s\n", sent, secs, (double)sent / secs,
           left ? " NOT ALL DELIVERED" : "");
    rd_kafka_destroy(rk);
    return left || sent != count ? 1 : 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static int latency(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    const char *brokers = argv[2], *topic = argv[3];
    long long expect = atoll(argv[4]);
    int timeout_s = atoi(argv[5]);
    int64_t skip_before = argc > 6 ? atoll(argv[6]) : 0;
    char group[64];
    snprintf(group, sizeof group, "spark-load-%" PRId64, wall_ms());
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, brokers, group);
    if (!rk)
        return 1;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    size_t cap = (size_t)(expect > 0 ? expect : 1024), n = 0;
    int64_t *lat = malloc(cap * sizeof *lat);
    long long received = 0, no_header = 0;
    int64_t deadline = mono_us() + (int64_t)timeout_s * 1000000;
    while (!stop && received < expect && mono_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        int64_t now = wall_ms();
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        received++;
        rd_kafka_headers_t *h = NULL;
        const void *val;
        size_t vlen;
        if (rd_kafka_message_headers(m, &h) == 0 &&
            rd_kafka_header_get_last(h, "spate.fetched_at", &val, &vlen) == 0 && vlen < 24) {
            char tmp[24];
            memcpy(tmp, val, vlen);
            tmp[vlen] = '\0';
            int64_t fetched = atoll(tmp);
            if (fetched >= skip_before) {
                if (n == cap) {
                    cap *= 2;
                    lat = realloc(lat, cap * sizeof *lat);
                }
                lat[n++] = now - fetched;
            }
        } else {
            no_header++;
        }
        rd_kafka_message_destroy(m);
    }
    qsort(lat, n, sizeof *lat, cmp_i64);
    printf("received %lld measured %zu latency_ms p50 %" PRId64 " p99 %" PRId64
           " p999 %" PRId64 " max %" PRId64 "%s\n",
           received, n, pct(lat, n, 0.50), pct(lat, n, 0.99), pct(lat, n, 0.999),
           n ? lat[n - 1] : -1, no_header ? " (some without spate.fetched_at)" : "");
    free(lat);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return received >= expect ? 0 : 1;
}

int main(int argc, char **argv)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int rc = 2;
    if (argc >= 2 && !strcmp(argv[1], "produce"))
        rc = produce(argc, argv);
    else if (argc >= 2 && !strcmp(argv[1], "latency"))
        rc = latency(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: spark_load produce BROKERS TOPIC COUNT RATE [BAD_PCT "
                        "[MALFORMED_PCT [SEED]]]\n"
                        "       spark_load latency BROKERS TOPIC EXPECT TIMEOUT_S "
                        "[SKIP_BEFORE_MS]\n");
    return rc;
}
