/* SPDX-License-Identifier: Apache-2.0 */
/* kafka.c -- configuration for spate's short-lived Kafka clients. */
#include "spate/kafka.h"

#include "spate/error.h"
#include "spate/log.h"
#include "spate/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

void spate_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    char comp[32];
    const char *name = rd_kafka_name(rk);
    if (strncmp(name, "spate-", 6) == 0)
        name += 6;
    size_t n = strcspn(name, "#");
    if (n >= sizeof comp)
        n = sizeof comp - 1;
    memcpy(comp, name, n);
    comp[n] = '\0';
    enum spate_log_level l = level <= 3   ? SPATE_LOG_ERROR
                             : level == 4 ? SPATE_LOG_WARN
                             : level <= 6 ? SPATE_LOG_INFO
                                          : SPATE_LOG_DEBUG;
    /* kafka.properties is shared by every stage's producers and consumers,
     * so "X is a consumer property and will be ignored by this producer" is
     * expected, not a mistake worth a warning. */
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "will be ignored by this"))
        l = SPATE_LOG_DEBUG;
    /* A connection refused for our settings is said once, by the client's
     * error callback, as the setting to fix; librdkafka's own line for each
     * attempt is detail. */
    char why[8];
    if (strcmp(fac, "FAIL") == 0 && spate_kafka_explain(0, buf, NULL, why, sizeof why))
        l = SPATE_LOG_DEBUG;
    spate_log(l, comp, "kafka %s: %s", fac, buf);
}

static const char *prop(const struct spate_kvlist *props, const char *k, const char *dflt)
{
    const char *v = props ? spate_kvlist_get(props, k) : NULL;
    return v && *v ? v : dflt;
}

static int has(const char *text, const char *needle)
{
    return strstr(text, needle) != NULL;
}

int spate_kafka_explain(int err, const char *reason, const struct spate_kvlist *props, char *out,
                        size_t outlen)
{
    const char *proto = prop(props, "security.protocol", "plaintext");
    const char *mech = prop(props, "sasl.mechanism", prop(props, "sasl.mechanisms", "GSSAPI"));
    const char *user = prop(props, "sasl.username", "(none)");
    int tls = strncasecmp(proto, "ssl", 3) == 0 || strncasecmp(proto, "sasl_ssl", 8) == 0;
    if (!reason)
        reason = "";
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || has(reason, "SASL authentication error") ||
        has(reason, "Authentication failed")) {
        if (has(reason, "nsupported SASL mechanism") || has(reason, "not enabled"))
            snprintf(out, outlen,
                     "the broker does not offer SASL mechanism %s: set kafka.properties "
                     "sasl.mechanism to one it enables",
                     mech);
        else if (strncasecmp(mech, "SCRAM", 5) == 0 && rd_kafka_version() < 0x020601ff)
            /* librdkafka#4895: its SCRAM proof repeats the client nonce, which
             * Kafka 4 brokers check strictly */
            snprintf(out, outlen,
                     "the broker refused the credentials of user '%s' (SASL %s): check "
                     "kafka.properties sasl.username and sasl.password; if they are right, "
                     "this librdkafka (%s) cannot do SCRAM with Kafka 4 brokers (fixed in "
                     "2.6.1): use sasl.mechanism PLAIN over SASL_SSL or a newer librdkafka",
                     user, mech, rd_kafka_version_str());
        else
            snprintf(out, outlen,
                     "the broker refused the credentials of user '%s' (SASL %s): check "
                     "kafka.properties sasl.username and sasl.password",
                     user, mech);
        return 1;
    }
    if (has(reason, "certificate verify failed") || has(reason, "could not be verified")) {
        snprintf(out, outlen,
                 "the broker's TLS certificate is not trusted: it is not signed by a CA in "
                 "kafka.properties ssl.ca.location (%s), or does not name the host it was "
                 "reached as",
                 prop(props, "ssl.ca.location", "unset: the system's CAs"));
        return 1;
    }
    if (!tls && (has(reason, "connecting to a SSL listener") ||
                 (has(reason, "Disconnected while requesting ApiVersion")))) {
        snprintf(out, outlen,
                 "the broker closed the connection at the first request: its listener probably "
                 "expects TLS; kafka.properties security.protocol is %s (use SSL or SASL_SSL, as "
                 "the listener does)",
                 proto);
        return 1;
    }
    if (tls && (has(reason, "wrong version number") || has(reason, "packet length too long") ||
                has(reason, "unexpected eof") || has(reason, "SSL handshake failed"))) {
        snprintf(out, outlen,
                 "TLS handshake with the broker failed (%s): check that its listener speaks TLS "
                 "(kafka.properties security.protocol is %s)",
                 reason, proto);
        return 1;
    }
    if (strncasecmp(proto, "sasl", 4) != 0 && has(reason, "might require SASL")) {
        snprintf(out, outlen,
                 "the broker closed the connection: its listener probably requires SASL; "
                 "kafka.properties security.protocol is %s (use SASL_SSL or SASL_PLAINTEXT with "
                 "sasl.mechanism, sasl.username and sasl.password)",
                 proto);
        return 1;
    }
    return 0;
}

void spate_kafka_diag_record(struct spate_kafka_diag *d, int err, const char *reason)
{
    if (!d)
        return;
    char line[8];
    int config = spate_kafka_explain(err, reason, NULL, line, sizeof line);
    int had_config = d->err && spate_kafka_explain(d->err, d->reason, NULL, line, sizeof line);
    if (d->err && (had_config || !config))
        return;
    d->err = err ? err : RD_KAFKA_RESP_ERR__FAIL;
    spate_strlcpy(d->reason, reason ? reason : "", sizeof d->reason);
}

int spate_kafka_diag_explain(const struct spate_kafka_diag *d, const struct spate_kvlist *props,
                             char *out, size_t outlen)
{
    return d && d->err && spate_kafka_explain(d->err, d->reason, props, out, outlen);
}

int spate_kafka_diag_report(struct spate_kafka_diag *d, const char *comp,
                            const struct spate_kvlist *props, int err, const char *reason)
{
    char line[512];
    if (!spate_kafka_explain(err, reason, props, line, sizeof line))
        return 0;
    spate_kafka_diag_record(d, err, reason);
    int64_t now = spate_mono_ms();
    if (strcmp(line, d->said) != 0 || now - d->said_ms >= 60000) {
        SPATE_ERROR(comp, "kafka: %s", line);
        spate_strlcpy(d->said, line, sizeof d->said);
        d->said_ms = now;
    }
    return 1;
}

int spate_kafka_preflight(rd_kafka_t *rk, const struct spate_kafka_diag *d, int timeout_ms,
                          volatile sig_atomic_t *stop)
{
    char line[8];
    int64_t deadline = spate_mono_ms() + timeout_ms;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, 1000);
        if (md)
            rd_kafka_metadata_destroy(md);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        rd_kafka_poll(rk, 0);
        if (spate_kafka_diag_explain(d, NULL, line, sizeof line))
            return SPATE_EAUTH;
        if (stop && *stop)
            return SPATE_ECANCELED;
        if (spate_mono_ms() >= deadline)
            return SPATE_ETIMEDOUT;
    }
}

static void diag_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    spate_kafka_diag_record(opaque, err, reason);
}

void spate_kafka_diag_attach(rd_kafka_conf_t *conf, struct spate_kafka_diag *d)
{
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_error_cb(conf, diag_error_cb);
}

int spate_kafka_connection_setting(const char *k)
{
    static const char *const prefixes[] = {"security.", "sasl.", "ssl.", "socket.", NULL};
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(k, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return strcmp(k, "client.id") == 0 || strcmp(k, "broker.address.family") == 0;
}

rd_kafka_conf_t *spate_kafka_client_conf(const char *bootstrap, const struct spate_kvlist *props,
                                         char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    for (size_t i = 0; props && i < props->count; i++) {
        const char *k = props->items[i].key;
        if (!spate_kafka_connection_setting(k))
            continue;
        if (rd_kafka_conf_set(conf, k, props->items[i].value, errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.properties.%s: %s", k, errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka.bootstrap_servers: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Long enough for a broker that is still electing its controller. */
#define CREATE_TIMEOUT_MS 30000
/* How long a new topic may take to show its partition leaders. */
#define VISIBLE_TIMEOUT_MS 10000

/* Wait until the client's metadata shows every partition of a topic just
 * created with a leader. librdkafka learned of the topic before it existed
 * and otherwise looks again only on its 1 s "unavailable topics" timer:
 * a producer's first records waited that second, which was a tenth of a
 * one-million-record benchmark run. Best effort: on timeout the client's
 * own refresh still finds the topic later. */
static void await_visible(rd_kafka_t *rk, const char *name, const char *comp,
                          volatile sig_atomic_t *stop)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    if (!rkt)
        return;
    int64_t deadline = spate_mono_ms() + VISIBLE_TIMEOUT_MS;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int ready = 0;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topics[0].partition_cnt > 0) {
                ready = 1;
                for (int p = 0; p < md->topics[0].partition_cnt; p++)
                    if (md->topics[0].partitions[p].leader < 0)
                        ready = 0;
            }
            rd_kafka_metadata_destroy(md);
        }
        if (ready || (stop && *stop))
            break;
        if (spate_mono_ms() >= deadline) {
            SPATE_WARN(comp, "topic %s created but its partitions have no leader after %d s",
                       name, VISIBLE_TIMEOUT_MS / 1000);
            break;
        }
        spate_sleep_ms(20);
    }
    rd_kafka_topic_destroy(rkt);
}

int spate_kafka_create_topics(rd_kafka_t *rk, const char *const *names, size_t n,
                              const struct spate_kafka_config *kc, const char *comp,
                              volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    int partitions = kc->partitions, replication = kc->replication_factor;
    char min_isr[16];
    snprintf(min_isr, sizeof min_isr, "%d", kc->min_insync_replicas);
    rd_kafka_NewTopic_t **nt = calloc(n ? n : 1, sizeof *nt);
    if (!nt) {
        snprintf(err, errlen, "out of memory");
        return SPATE_ENOMEM;
    }
    size_t m = 0;
    int rc = 0;
    char errstr[512];
    for (size_t i = 0; i < n && rc == 0; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(names[i], names[j]) == 0;
        if (seen)
            continue;
        nt[m] = rd_kafka_NewTopic_new(names[i], partitions, replication, errstr, sizeof errstr);
        if (!nt[m]) {
            snprintf(err, errlen, "topic %s: %s", names[i], errstr);
            rc = SPATE_ECONFIG;
            break;
        }
        m++;
        /* acks=all means "every in-sync replica": without a floor, a topic whose
         * other replicas fell behind acknowledges on its leader alone */
        if (kc->min_insync_replicas > 0 &&
            rd_kafka_NewTopic_set_config(nt[m - 1], "min.insync.replicas", min_isr)) {
            snprintf(err, errlen, "topic %s: cannot set min.insync.replicas", names[i]);
            rc = SPATE_ECONFIG;
            break;
        }
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, CREATE_TIMEOUT_MS, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(ao, CREATE_TIMEOUT_MS, errstr, sizeof errstr);
    rd_kafka_event_t *ev = NULL;
    if (rc == 0 && m > 0) {
        rd_kafka_CreateTopics(rk, nt, m, ao, q);
        /* In slices, so a signal (Kafka down, the user presses Ctrl-C) is
         * answered at once rather than after the whole timeout. */
        int64_t deadline = spate_mono_ms() + CREATE_TIMEOUT_MS + 5000;
        while (!ev && !(stop && *stop) && spate_mono_ms() < deadline)
            ev = rd_kafka_queue_poll(q, 200);
        if (!ev && stop && *stop) {
            snprintf(err, errlen, "creating topics: interrupted");
            rc = SPATE_ECANCELED;
        } else if (!ev) {
            snprintf(err, errlen, "creating topics: no answer within %d s",
                     CREATE_TIMEOUT_MS / 1000 + 5);
            rc = SPATE_ETIMEDOUT;
        } else if (rd_kafka_event_error(ev)) {
            snprintf(err, errlen, "creating topics: %s", rd_kafka_event_error_string(ev));
            rc = SPATE_EKAFKA;
        } else {
            size_t cnt = 0;
            const rd_kafka_topic_result_t **tr =
                rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
            for (size_t i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    SPATE_INFO(comp, "created topic %s (%d partitions, replication %d%s%s)",
                               rd_kafka_topic_result_name(tr[i]), partitions, replication,
                               kc->min_insync_replicas > 0 ? ", min.insync.replicas " : "",
                               kc->min_insync_replicas > 0 ? min_isr : "");
                    await_visible(rk, rd_kafka_topic_result_name(tr[i]), comp, stop);
                } else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && rc == 0) {
                    snprintf(err, errlen, "creating topic %s: %s",
                             rd_kafka_topic_result_name(tr[i]),
                             rd_kafka_topic_result_error_string(tr[i]));
                    rc = SPATE_EKAFKA;
                }
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    for (size_t i = 0; i < m; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    return rc;
}
