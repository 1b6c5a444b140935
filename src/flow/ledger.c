/* SPDX-License-Identifier: Apache-2.0 */
/* ledger.c -- the record ledger: what each stage holds, per normalised key, and its checks. */
#include "spate/flow.h"

#include "spate/error.h"
#include "spate/util.h"

#include <stdlib.h>
#include <string.h>

struct flow_ledger {
    int64_t since;
    /* normalised keys per stage */
    struct flow_keyset *raw, *clean, *dlq_process, *dlq_sink, *stored;
    /* request_id NUL normalised key: which raw records came from one response */
    struct flow_keyset *raw_by_response;
    uint64_t raw_skipped, dlq_ingest_records, dlq_ingest_responses, dlq_other;
    int oom;
};

struct flow_ledger *flow_ledger_new(int64_t since_ms)
{
    struct flow_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->since = since_ms;
    l->raw = flow_keyset_new();
    l->clean = flow_keyset_new();
    l->dlq_process = flow_keyset_new();
    l->dlq_sink = flow_keyset_new();
    l->stored = flow_keyset_new();
    l->raw_by_response = flow_keyset_new();
    if (!l->raw || !l->clean || !l->dlq_process || !l->dlq_sink || !l->stored ||
        !l->raw_by_response) {
        flow_ledger_free(l);
        return NULL;
    }
    return l;
}

void flow_ledger_free(struct flow_ledger *l)
{
    if (!l)
        return;
    flow_keyset_free(l->raw);
    flow_keyset_free(l->clean);
    flow_keyset_free(l->dlq_process);
    flow_keyset_free(l->dlq_sink);
    flow_keyset_free(l->stored);
    flow_keyset_free(l->raw_by_response);
    free(l);
}

/* Adds the normalised form of key, after prefix (may be empty) and a NUL when
 * prefix is not NULL. */
static int add_key(struct flow_ledger *l, struct flow_keyset *ks, const char *prefix, const char *key,
                   size_t len)
{
    size_t plen = prefix ? strlen(prefix) + 1 : 0;
    char small[256];
    char *buf = plen + len <= sizeof small ? small : malloc(plen + len);
    if (!buf) {
        l->oom = 1;
        return SPATE_ENOMEM;
    }
    if (prefix)
        memcpy(buf, prefix, plen);
    size_t n = spate_key_normalize(key, len, buf + plen);
    int64_t rc = flow_keyset_add(ks, buf, plen + n);
    if (buf != small)
        free(buf);
    if (rc < 0) {
        l->oom = 1;
        return (int)rc;
    }
    return 0;
}

static int before_since(const struct flow_ledger *l, const struct flow_scan_record *r)
{
    return l->since > 0 && r->fetched_at >= 0 && r->fetched_at < l->since;
}

int flow_ledger_add_raw(struct flow_ledger *l, const struct flow_scan_record *r)
{
    if (before_since(l, r)) {
        l->raw_skipped++;
        return 0;
    }
    const char *key = r->key ? r->key : "(no key)";
    size_t len = r->key ? r->key_len : 8;
    int rc = add_key(l, l->raw, NULL, key, len);
    return rc ? rc : add_key(l, l->raw_by_response, r->request_id ? r->request_id : "", key, len);
}

/* The Kafka key, else the JSON field of the value; 0 when neither. */
static size_t record_key(const struct flow_scan_record *r, const char *field, char *buf, size_t len,
                         const char **key)
{
    if (r->key && r->key_len > 0) {
        *key = r->key;
        return r->key_len;
    }
    int n = r->value ? flow_json_top_field(r->value, r->value_len, field, buf, len) : -1;
    *key = buf;
    return n > 0 ? (size_t)n : 0;
}

int flow_ledger_add_clean(struct flow_ledger *l, const struct flow_scan_record *r)
{
    char buf[256];
    const char *key;
    size_t n = record_key(r, "user_id", buf, sizeof buf, &key);
    return n ? add_key(l, l->clean, NULL, key, n) : 0;
}

int flow_ledger_ingest_reason_is_record(const char *reason)
{
    /* The reasons src/ingest/ingest.c gives one record of an accepted
     * response; its fetched count includes these records. */
    return reason && (!strcmp(reason, "record_too_large") || !strcmp(reason, "record_without_key"));
}

int flow_ledger_add_dlq(struct flow_ledger *l, const struct flow_scan_record *r)
{
    const char *stage = r->stage;
    char stage_buf[32];
    if (!stage && r->value &&
        flow_json_top_field(r->value, r->value_len, "stage", stage_buf, sizeof stage_buf) > 0)
        stage = stage_buf;
    if (stage && !strcmp(stage, "ingest")) {
        if (before_since(l, r))
            return 0;
        if (flow_ledger_ingest_reason_is_record(r->error))
            l->dlq_ingest_records++;
        else
            l->dlq_ingest_responses++;
        return 0;
    }
    struct flow_keyset *to = !stage                       ? NULL
                        : !strcmp(stage, "process") ? l->dlq_process
                        : !strcmp(stage, "sink")    ? l->dlq_sink
                                                    : NULL;
    if (!to) {
        l->dlq_other++;
        return 0;
    }
    char buf[256];
    const char *key;
    size_t n = record_key(r, "key", buf, sizeof buf, &key);
    return n ? add_key(l, to, NULL, key, n) : add_key(l, to, NULL, "(no key)", 8);
}

int flow_ledger_add_stored(struct flow_ledger *l, const char *key, size_t len)
{
    return add_key(l, l->stored, NULL, key, len);
}

/* ---- the checks ---------------------------------------------------------------- */

static void example(char (*ex)[64], size_t *count, const char *key, size_t len)
{
    if (*count >= 5)
        return;
    size_t n = len < 63 ? len : 63;
    memcpy(ex[*count], key, n);
    ex[*count][n] = '\0';
    (*count)++;
}

struct repeat_ctx {
    struct flow_ledger_report *out;
    int within; /* walking raw_by_response */
};

static int count_repeats(void *arg, const char *key, size_t len, int64_t count)
{
    struct repeat_ctx *c = arg;
    if (count < 2)
        return 0;
    if (!c->within) {
        c->out->api_repeated_keys++;
        example(c->out->repeated_examples, &c->out->repeated_example_count, key, len);
        return 0;
    }
    c->out->api_repeated_in_response++;
    /* the key follows the request id and its NUL; a candidate should ingest
     * have produced more records than it fetched */
    const char *nul = memchr(key, '\0', len);
    size_t off = nul ? (size_t)(nul - key) + 1 : 0;
    example(c->out->fetched.examples, &c->out->fetched.example_count, key + off, len - off);
    return 0;
}

struct filter_ctx {
    const struct flow_keyset *raw;
    struct flow_keyset *out;
    int oom;
};

static int keep_if_raw(void *arg, const char *key, size_t len, int64_t count)
{
    struct filter_ctx *f = arg;
    if (flow_keyset_count(f->raw, key, len) > 0)
        for (int64_t i = 0; i < count; i++)
            if (flow_keyset_add(f->out, key, len) < 0)
                return f->oom = 1;
    return 0;
}

int flow_ledger_evaluate(struct flow_ledger *l, int64_t expect_fetched, struct flow_ledger_report *out)
{
    memset(out, 0, sizeof *out);
    if (l->oom)
        return SPATE_ENOMEM;
    out->raw_records = flow_keyset_total(l->raw);
    out->raw_keys = flow_keyset_distinct(l->raw);
    out->raw_skipped = l->raw_skipped;
    out->clean_records = flow_keyset_total(l->clean);
    out->clean_keys = flow_keyset_distinct(l->clean);
    out->clean_replayed_keys = flow_keyset_duplicated(l->clean);
    out->dlq_ingest_records = l->dlq_ingest_records;
    out->dlq_ingest_responses = l->dlq_ingest_responses;
    out->dlq_process_records = flow_keyset_total(l->dlq_process);
    out->dlq_process_keys = flow_keyset_distinct(l->dlq_process);
    out->dlq_sink_records = flow_keyset_total(l->dlq_sink);
    out->dlq_sink_keys = flow_keyset_distinct(l->dlq_sink);
    out->dlq_other_records = l->dlq_other;
    out->stored_keys = flow_keyset_distinct(l->stored);

    /* Records: what ingest fetched is in raw or its per-record DLQ, once. */
    struct repeat_ctx rc = {out, 0};
    flow_keyset_each(l->raw, count_repeats, &rc);
    rc.within = 1;
    flow_keyset_each(l->raw_by_response, count_repeats, &rc);
    out->fetched.name = "fetched -> raw + ingest DLQ (records)";
    out->fetched.stage = "ingest";
    if (expect_fetched >= 0) {
        out->have_fetched = 1;
        uint64_t accounted = out->raw_records + out->dlq_ingest_records;
        out->fetched.expected = (uint64_t)expect_fetched;
        out->fetched.found = accounted;
        if ((uint64_t)expect_fetched > accounted)
            out->fetched.missing = (uint64_t)expect_fetched - accounted;
        else
            out->fetched.surplus = accounted - (uint64_t)expect_fetched;
    }
    /* only a surplus makes the repeated-in-a-response keys suspects */
    if (!out->fetched.surplus)
        out->fetched.example_count = 0;

    /* Keys: raw -> clean + process DLQ; clean -> stored + sink DLQ. */
    const struct flow_keyset *after_raw[] = {l->clean, l->dlq_process};
    flow_ledger_compare("raw -> clean + process DLQ (keys)", l->raw, after_raw, 2, &out->process);
    out->process.stage = "process";
    struct flow_keyset *clean_from = l->clean;
    if (l->since > 0) {
        /* only clean keys whose raw record is in range are owed */
        clean_from = flow_keyset_new();
        struct filter_ctx f = {l->raw, clean_from, 0};
        if (clean_from)
            flow_keyset_each(l->clean, keep_if_raw, &f);
        if (!clean_from || f.oom) {
            flow_keyset_free(clean_from);
            return SPATE_ENOMEM;
        }
    }
    const struct flow_keyset *after_clean[] = {l->stored, l->dlq_sink};
    flow_ledger_compare("clean -> stored + sink DLQ (keys)", clean_from, after_clean, 2, &out->sink);
    out->sink.stage = "sink";
    if (clean_from != l->clean)
        flow_keyset_free(clean_from);
    out->ok = !out->fetched.missing && !out->fetched.surplus && !out->process.missing &&
              !out->sink.missing;
    return 0;
}
