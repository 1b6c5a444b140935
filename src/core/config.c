/* SPDX-License-Identifier: Apache-2.0 */
/* config.c -- spate.yaml: YAML document -> one table of typed settings. */
#include "spate/config.h"
#include "spate/error.h"
#include "spate/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- the settings table --------------------------------------------------
 * Every setting is one row: name, type, where it lives, default, bounds and
 * an optional validator (the redis config.c idea). Nested sections and lists
 * of sections point at their own tables, so one walker handles the whole file
 * and every error can name FILE:LINE and the full key path. */

enum cfg_type {
    CFG_STR,
    CFG_ENUM,
    CFG_INT,
    CFG_I64,
    CFG_DOUBLE,
    CFG_BOOL,
    CFG_DURATION, /* int milliseconds, written "250ms", "5s", "2m" or a number */
    CFG_STRLIST,
    CFG_KVLIST,
    CFG_SECTION,
    CFG_LIST, /* a sequence of sections */
};

struct cfg_spec {
    const char *name;
    enum cfg_type type;
    size_t offset;
    const char *def; /* default as written in YAML; NULL = none */
    double min, max;
    const char *const *choices;
    int required;
    const struct cfg_spec *children;
    size_t elem_size;    /* CFG_LIST */
    size_t count_offset; /* CFG_LIST: offset of the size_t count */
    const char *(*validate)(const char *value);
};

#define END_SPEC {NULL, CFG_STR, 0, NULL, 0, 0, NULL, 0, NULL, 0, 0, NULL}
#define F(st, m) offsetof(struct st, m)

#define STR(st, m, name, def) {name, CFG_STR, F(st, m), def, 0, 0, NULL, 0, NULL, 0, 0, NULL}
#define REQSTR(st, m, name) {name, CFG_STR, F(st, m), NULL, 0, 0, NULL, 1, NULL, 0, 0, NULL}
#define VSTR(st, m, name, def, fn) {name, CFG_STR, F(st, m), def, 0, 0, NULL, 0, NULL, 0, 0, fn}
#define ENUMV(st, m, name, def, ch) {name, CFG_ENUM, F(st, m), def, 0, 0, ch, 0, NULL, 0, 0, NULL}
#define INT(st, m, name, def, lo, hi) {name, CFG_INT, F(st, m), def, lo, hi, NULL, 0, NULL, 0, 0, NULL}
#define I64(st, m, name, def, lo, hi) {name, CFG_I64, F(st, m), def, lo, hi, NULL, 0, NULL, 0, 0, NULL}
#define DBL(st, m, name, def, lo, hi) {name, CFG_DOUBLE, F(st, m), def, lo, hi, NULL, 0, NULL, 0, 0, NULL}
#define BOOL(st, m, name, def) {name, CFG_BOOL, F(st, m), def, 0, 1, NULL, 0, NULL, 0, 0, NULL}
#define DUR(st, m, name, def, lo, hi) {name, CFG_DURATION, F(st, m), def, lo, hi, NULL, 0, NULL, 0, 0, NULL}
#define SLIST(st, m, name, def) {name, CFG_STRLIST, F(st, m), def, 0, 0, NULL, 0, NULL, 0, 0, NULL}
#define KVL(st, m, name) {name, CFG_KVLIST, F(st, m), NULL, 0, 0, NULL, 0, NULL, 0, 0, NULL}
#define SECT(st, m, name, ch) {name, CFG_SECTION, F(st, m), NULL, 0, 0, NULL, 0, ch, 0, 0, NULL}
#define LIST(st, m, cnt, name, ch, et) \
    {name, CFG_LIST, F(st, m), NULL, 0, 0, NULL, 0, ch, sizeof(struct et), F(st, cnt), NULL}

static const char *const consistency_levels[] = {
    "ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM",
    "EACH_QUORUM", "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE", NULL};
static const char *const compressions[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
static const char *const strategies[] = {"SimpleStrategy", "NetworkTopologyStrategy", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", "off", NULL};
static const char *const methods[] = {"GET", "POST", NULL};
static const char *const poll_modes[] = {"continuous", "interval", NULL};
static const char *const page_styles[] = {"none", "page", "cursor", "link", NULL};
static const char *const offsets[] = {"earliest", "latest", NULL};

static const char *validate_url(const char *v)
{
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
        return "must start with http:// or https://";
    return NULL;
}

static const char *validate_trigger(const char *v)
{
    if (strcmp(v, "auto") == 0 || strcmp(v, "realtime") == 0 || strcmp(v, "microbatch") == 0)
        return NULL;
    if (strncmp(v, "processingTime:", 15) == 0 || strncmp(v, "realtime:", 9) == 0) {
        int64_t ms;
        if (spate_parse_duration_ms(strchr(v, ':') + 1, &ms) == 0)
            return NULL;
    }
    return "must be auto, realtime, microbatch, realtime:DURATION or processingTime:DURATION";
}

static const struct cfg_spec tls_spec[] = {
    BOOL(spate_tls_config, enabled, "enabled", "false"),
    STR(spate_tls_config, ca_file, "ca_file", NULL),
    STR(spate_tls_config, cert_file, "cert_file", NULL),
    STR(spate_tls_config, key_file, "key_file", NULL),
    BOOL(spate_tls_config, verify, "verify", "true"),
    END_SPEC,
};

static const struct cfg_spec kafka_spec[] = {
    STR(spate_kafka_config, bootstrap_servers, "bootstrap_servers", "127.0.0.1:9092"),
    INT(spate_kafka_config, partitions, "partitions", "6", 1, 10000),
    INT(spate_kafka_config, replication_factor, "replication_factor", "1", 1, 32),
    /* 0 leaves the broker's default */
    INT(spate_kafka_config, min_insync_replicas, "min_insync_replicas", "0", 0, 32),
    STR(spate_kafka_config, topic_raw, "topic_raw", "users.raw"),
    STR(spate_kafka_config, topic_clean, "topic_clean", "users.clean"),
    STR(spate_kafka_config, topic_stats, "topic_stats", "users.stats"),
    STR(spate_kafka_config, topic_dlq, "topic_dlq", "users.dlq"),
    ENUMV(spate_kafka_config, compression, "compression", "lz4", compressions),
    KVL(spate_kafka_config, properties, "properties"),
    END_SPEC,
};

static const struct cfg_spec cassandra_spec[] = {
    SLIST(spate_cassandra_config, contact_points, "contact_points", "[127.0.0.1]"),
    INT(spate_cassandra_config, port, "port", "9042", 1, 65535),
    STR(spate_cassandra_config, keyspace, "keyspace", "spate"),
    ENUMV(spate_cassandra_config, replication_strategy, "replication_strategy",
          "SimpleStrategy", strategies),
    INT(spate_cassandra_config, replication_factor, "replication_factor", "1", 1, 32),
    KVL(spate_cassandra_config, datacenters, "datacenters"),
    ENUMV(spate_cassandra_config, consistency, "consistency", "LOCAL_QUORUM",
          consistency_levels),
    STR(spate_cassandra_config, local_dc, "local_dc", NULL),
    STR(spate_cassandra_config, username, "username", NULL),
    STR(spate_cassandra_config, password, "password", NULL),
    SECT(spate_cassandra_config, tls, "tls", tls_spec),
    DUR(spate_cassandra_config, connect_timeout_ms, "connect_timeout", "5s", 1, 600000),
    DUR(spate_cassandra_config, request_timeout_ms, "request_timeout", "12s", 1, 600000),
    /* 0 turns heartbeats off */
    DUR(spate_cassandra_config, heartbeat_interval_ms, "heartbeat_interval", "30s", 0, 3600000),
    INT(spate_cassandra_config, connections_per_host, "connections_per_host", "2", 1, 64),
    INT(spate_cassandra_config, max_in_flight, "max_in_flight", "1024", 1, 32768),
    BOOL(spate_cassandra_config, compression, "compression", "true"),
    END_SPEC,
};

static const struct cfg_spec pagination_spec[] = {
    ENUMV(spate_pagination_config, style, "style", "none", page_styles),
    STR(spate_pagination_config, page_param, "page_param", "page"),
    I64(spate_pagination_config, start_page, "start_page", "1", 0, 1e15),
    I64(spate_pagination_config, max_pages, "max_pages", "0", 0, 1e15),
    STR(spate_pagination_config, cursor_path, "cursor_path", NULL),
    STR(spate_pagination_config, cursor_param, "cursor_param", "cursor"),
    DUR(spate_pagination_config, follow_ms, "follow", "0", 0, 86400000),
    END_SPEC,
};

static const struct cfg_spec source_spec[] = {
    REQSTR(spate_source_config, name, "name"),
    {"url", CFG_STR, F(spate_source_config, url), NULL, 0, 0, NULL, 1, NULL, 0, 0, validate_url},
    ENUMV(spate_source_config, method, "method", "GET", methods),
    KVL(spate_source_config, headers, "headers"),
    KVL(spate_source_config, params, "params"),
    STR(spate_source_config, body, "body", NULL),
    STR(spate_source_config, records_path, "records_path", "results"),
    STR(spate_source_config, key_path, "key_path", "login.uuid"),
    INT(spate_source_config, batch_size, "batch_size", "500", 1, 100000),
    STR(spate_source_config, batch_param, "batch_param", "results"),
    STR(spate_source_config, seed, "seed", NULL),
    INT(spate_source_config, concurrency, "concurrency", "8", 1, 1024),
    DBL(spate_source_config, rate_limit, "rate_limit", "0", 0, 1e9),
    DUR(spate_source_config, timeout_ms, "timeout", "10s", 1, 3600000),
    INT(spate_source_config, max_retries, "max_retries", "8", 0, 1000),
    DUR(spate_source_config, backoff_initial_ms, "backoff_initial", "100ms", 1, 3600000),
    DUR(spate_source_config, backoff_max_ms, "backoff_max", "30s", 1, 3600000),
    ENUMV(spate_source_config, mode, "mode", "continuous", poll_modes),
    DUR(spate_source_config, interval_ms, "interval", "1s", 0, 86400000),
    /* Retry-After is the API's word, but a date far ahead (or a huge delta)
     * would park the source for years: minutes is what a user expects. */
    DUR(spate_source_config, retry_after_max_ms, "retry_after_max", "5m", 1, 86400000),
    /* 0: derived at start from the producer (message.max.bytes less the key
     * and headers); a larger value would be accepted here and refused by Kafka */
    INT(spate_source_config, max_record_bytes, "max_record_bytes", "0", 0, 100000000),
    SECT(spate_source_config, pagination, "pagination", pagination_spec),
    SLIST(spate_source_config, allow_hosts, "allow_hosts", NULL),
    STR(spate_source_config, state_file, "state_file", NULL),
    STR(spate_source_config, pipeline, "pipeline", NULL),
    END_SPEC,
};

static const struct cfg_spec sink_column_spec[] = {
    REQSTR(spate_sink_column_config, column, "column"),
    REQSTR(spate_sink_column_config, from, "from"),
    STR(spate_sink_column_config, type, "type", NULL),
    END_SPEC,
};

static const struct cfg_spec sink_table_spec[] = {
    REQSTR(spate_sink_table_config, table, "table"),
    ENUMV(spate_sink_table_config, consistency, "consistency", "LOCAL_QUORUM",
          consistency_levels),
    INT(spate_sink_table_config, ttl_s, "ttl", "0", 0, 630720000),
    STR(spate_sink_table_config, timestamp_field, "timestamp_field", NULL),
    LIST(spate_sink_table_config, columns, column_count, "columns", sink_column_spec,
         spate_sink_column_config),
    END_SPEC,
};

static const struct cfg_spec sink_mapping_spec[] = {
    REQSTR(spate_sink_config, topic, "topic"),
    LIST(spate_sink_config, tables, table_count, "tables", sink_table_spec,
         spate_sink_table_config),
    END_SPEC,
};

static const struct cfg_spec sink_spec[] = {
    STR(spate_sink_section, group_id, "group_id", "spate-sink"),
    INT(spate_sink_section, max_in_flight, "max_in_flight", "4096", 1, 65536),
    /* Rows that arrive together go to Cassandra in one UNLOGGED BATCH per
     * replica: the node's cost is mostly per request, not per row. Under
     * Cassandra's batch_size_fail_threshold (50 KiB by default). */
    INT(spate_sink_section, batch_rows, "batch_rows", "32", 1, 1024),
    INT(spate_sink_section, batch_bytes, "batch_bytes", "40960", 1024, 16777216),
    DUR(spate_sink_section, retry_initial_ms, "retry_initial", "50ms", 1, 600000),
    DUR(spate_sink_section, retry_max_ms, "retry_max", "5s", 1, 600000),
    DUR(spate_sink_section, commit_interval_ms, "commit_interval", "1s", 1, 600000),
    LIST(spate_sink_section, mappings, mapping_count, "mappings", sink_mapping_spec,
         spate_sink_config),
    END_SPEC,
};

static const struct cfg_spec spark_query_spec[] = {
    REQSTR(spate_spark_query_config, name, "name"),
    VSTR(spate_spark_query_config, trigger, "trigger", NULL, validate_trigger),
    END_SPEC,
};

static const struct cfg_spec spark_spec[] = {
    STR(spate_spark_config, master, "master", "local[2]"),
    /* auto: real-time mode for the queries whose SQL file says Spark supports
     * it (stateless ones), micro-batch for the others */
    VSTR(spate_spark_config, trigger, "trigger", "auto", validate_trigger),
    STR(spate_spark_config, checkpoint_dir, "checkpoint_dir", NULL),
    STR(spate_spark_config, sql_dir, "sql_dir", "pipelines/users"),
    ENUMV(spate_spark_config, starting_offsets, "starting_offsets", "earliest", offsets),
    BOOL(spate_spark_config, fail_on_data_loss, "fail_on_data_loss", "true"),
    STR(spate_spark_config, watermark, "watermark", "30 seconds"),
    LIST(spate_spark_config, queries, query_count, "queries", spark_query_spec,
         spate_spark_query_config),
    KVL(spate_spark_config, conf, "conf"),
    /* options of the job's Kafka source and sink ("source." / "sink." prefix
     * for one side only), e.g. kafka.security.protocol, maxOffsetsPerTrigger */
    KVL(spate_spark_config, kafka_options, "kafka_options"),
    /* relative paths: to the working directory, else to the folder above the
     * spate binary's (the project root of a build/ tree) */
    STR(spate_spark_config, python, "python", ".venv/bin/python"),
    STR(spate_spark_config, spark_submit, "spark_submit", ".venv/bin/spark-submit"),
    STR(spate_spark_config, driver, "driver", "spark/spate_job.py"),
    STR(spate_spark_config, jars_dir, "jars_dir", "deps/lib/spark"),
    END_SPEC,
};

static const struct cfg_spec stack_spec[] = {
    STR(spate_stack_config, data_dir, "data_dir", ".spate"),
    STR(spate_stack_config, java_home, "java_home", NULL),
    STR(spate_stack_config, host, "host", "127.0.0.1"),
    INT(spate_stack_config, kafka_port, "kafka_port", "9092", 1, 65535),
    INT(spate_stack_config, kafka_controller_port, "kafka_controller_port", "9093", 1, 65535),
    INT(spate_stack_config, kafka_heap_mb, "kafka_heap_mb", "512", 128, 65536),
    INT(spate_stack_config, cassandra_port, "cassandra_port", "9042", 1, 65535),
    INT(spate_stack_config, cassandra_storage_port, "cassandra_storage_port", "7000", 1, 65535),
    INT(spate_stack_config, cassandra_heap_mb, "cassandra_heap_mb", "1024", 256, 65536),
    INT(spate_stack_config, start_timeout_s, "start_timeout", "180", 5, 3600),
    INT(spate_stack_config, stop_timeout_s, "stop_timeout", "30", 1, 600),
    /* > 1: a cluster on 127.0.0.1 .. 127.0.0.N (one digit keeps markers distinct) */
    INT(spate_stack_config, nodes, "nodes", "1", 1, 9),
    END_SPEC,
};

/* 64 MiB of bodies leaves room for the producer queue, the body pool and
 * librdkafka in a 256 MiB container. */
static const struct cfg_spec ingest_spec[] = {
    I64(spate_ingest_config, max_response_bytes_total, "max_response_bytes_total", "67108864",
        1048576, 1e12),
    END_SPEC,
};

static const struct cfg_spec metrics_spec[] = {
    STR(spate_metrics_config, listen, "listen", "127.0.0.1"),
    INT(spate_metrics_config, ingest_port, "ingest_port", "9401", 0, 65535),
    INT(spate_metrics_config, sink_port, "sink_port", "9402", 0, 65535),
    INT(spate_metrics_config, apisim_port, "apisim_port", "8088", 0, 65535),
    INT(spate_metrics_config, serve_port, "serve_port", "9403", 0, 65535),
    END_SPEC,
};

static const struct cfg_spec serve_spec[] = {
    STR(spate_serve_config, listen, "listen", "127.0.0.1"),
    INT(spate_serve_config, port, "port", "8080", 0, 65535),
    STR(spate_serve_config, token, "token", NULL),
    SLIST(spate_serve_config, allowed_hosts, "allowed_hosts", NULL),
    /* /api/rejects could build 1,000 rows of up to 1 MB each */
    I64(spate_serve_config, max_response_bytes, "max_response_bytes", "4194304", 65536,
        1073741824),
    INT(spate_serve_config, queue, "queue", "64", 1, 100000),
    END_SPEC,
};

static const struct cfg_spec pipeline_spec[] = {
    REQSTR(spate_pipeline_config, name, "name"),
    STR(spate_pipeline_config, sql_dir, "sql_dir", NULL),
    STR(spate_pipeline_config, table, "table", NULL),
    STR(spate_pipeline_config, key_column, "key_column", "id"),
    END_SPEC,
};

/* What an included file may hold: lists that are added to the main file's. */
static const struct cfg_spec include_sink_spec[] = {
    LIST(spate_sink_section, mappings, mapping_count, "mappings", sink_mapping_spec,
         spate_sink_config),
    END_SPEC,
};
static const struct cfg_spec include_root_spec[] = {
    LIST(spate_config, pipelines, pipeline_count, "pipelines", pipeline_spec,
         spate_pipeline_config),
    LIST(spate_config, sources, source_count, "sources", source_spec, spate_source_config),
    SECT(spate_config, sink, "sink", include_sink_spec),
    END_SPEC,
};

static const struct cfg_spec root_spec[] = {
    ENUMV(spate_config, log_level, "log_level", "info", log_levels),
    SLIST(spate_config, include, "include", NULL),
    LIST(spate_config, pipelines, pipeline_count, "pipelines", pipeline_spec,
         spate_pipeline_config),
    SECT(spate_config, kafka, "kafka", kafka_spec),
    SECT(spate_config, cassandra, "cassandra", cassandra_spec),
    LIST(spate_config, sources, source_count, "sources", source_spec, spate_source_config),
    SECT(spate_config, ingest, "ingest", ingest_spec),
    SECT(spate_config, spark, "spark", spark_spec),
    SECT(spate_config, sink, "sink", sink_spec),
    SECT(spate_config, stack, "stack", stack_spec),
    SECT(spate_config, metrics, "metrics", metrics_spec),
    SECT(spate_config, serve, "serve", serve_spec),
    END_SPEC,
};

/* ---- loader --------------------------------------------------------------- */

/* libyaml resolves an alias to the node it names, so the document stays small, but the
 * walker below copies each node every time it is reached: an anchor aliased ten times
 * inside a list aliased ten times... multiplies. The nodes and bytes reached a second
 * time (through an alias) are counted and bounded; a config needs a few hundred. */
#define ALIAS_MAX_NODES 10000
#define ALIAS_MAX_BYTES (1024 * 1024)

struct loader {
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
    int failed;
    unsigned char *seen; /* per node of doc: reached once already */
    size_t nseen;
    size_t alias_nodes, alias_bytes;
};

static void fail(struct loader *ld, const yaml_node_t *at, const char *key,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(struct loader *ld, const yaml_node_t *at, const char *key,
                 const char *fmt, ...)
{
    if (ld->failed)
        return; /* keep the first cause */
    ld->failed = 1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at != NULL)
        snprintf(ld->err, ld->errlen, "%s:%lu: %s: %s", ld->file,
                 (unsigned long)at->start_mark.line + 1, key, msg);
    else
        snprintf(ld->err, ld->errlen, "%s: %s: %s", ld->file, key, msg);
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *type_name(enum cfg_type t)
{
    switch (t) {
    case CFG_STR: case CFG_ENUM: return "a string";
    case CFG_INT: case CFG_I64: return "an integer";
    case CFG_DOUBLE: return "a number";
    case CFG_BOOL: return "true or false";
    case CFG_DURATION: return "a duration such as 500ms, 5s or 2m";
    case CFG_STRLIST: return "a list of strings";
    case CFG_KVLIST: return "a mapping of strings";
    case CFG_SECTION: return "a mapping";
    case CFG_LIST: return "a list of mappings";
    }
    return "?";
}

static void free_field(const struct cfg_spec *s, void *base);

static void free_section(const struct cfg_spec *spec, void *base)
{
    for (const struct cfg_spec *s = spec; s->name; s++)
        free_field(s, base);
}

static void free_strlist(struct spate_strlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static void free_kvlist(struct spate_kvlist *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static void free_field(const struct cfg_spec *s, void *base)
{
    char *p = (char *)base + s->offset;
    switch (s->type) {
    case CFG_STR: case CFG_ENUM:
        free(*(char **)p);
        *(char **)p = NULL;
        break;
    case CFG_STRLIST: free_strlist((struct spate_strlist *)p); break;
    case CFG_KVLIST: free_kvlist((struct spate_kvlist *)p); break;
    case CFG_SECTION: free_section(s->children, p); break;
    case CFG_LIST: {
        char *items = *(char **)p;
        size_t *count = (size_t *)((char *)base + s->count_offset);
        for (size_t i = 0; i < *count; i++)
            free_section(s->children, items + i * s->elem_size);
        free(items);
        *(char **)p = NULL;
        *count = 0;
        break;
    }
    default: break;
    }
}

static const char *scalar_of(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* Scalars are interpolated before they are typed, so "${PORT:-9042}" is a
 * valid integer. Returns a new string or NULL after fail(). */
static char *interp_scalar(struct loader *ld, const yaml_node_t *n, const char *key)
{
    char ierr[256];
    char *v = spate_config_interpolate(scalar_of(n), ierr, sizeof ierr);
    if (v == NULL)
        fail(ld, n, key, "%s", ierr);
    return v;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_i64(const char *v, int64_t *out)
{
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0')
        return -1;
    *out = x;
    return 0;
}

static void check_range(struct loader *ld, const yaml_node_t *n, const char *key,
                        const struct cfg_spec *s, double x)
{
    if (s->min < s->max && (x < s->min || x > s->max))
        fail(ld, n, key, "value %g out of range [%g, %g]", x, s->min, s->max);
}

/* Apply a scalar text (from the file or a default) to a scalar field. n may be
 * NULL for defaults. */
static void set_scalar(struct loader *ld, const struct cfg_spec *s, void *base,
                       const char *v, const yaml_node_t *n, const char *key)
{
    char *p = (char *)base + s->offset;
    switch (s->type) {
    case CFG_STR:
    case CFG_ENUM:
        if (s->type == CFG_ENUM) {
            int ok = 0;
            for (const char *const *c = s->choices; *c; c++)
                ok |= strcmp(*c, v) == 0;
            if (!ok) {
                char list[256] = "";
                for (const char *const *c = s->choices; *c; c++) {
                    strncat(list, *c, sizeof list - strlen(list) - 1);
                    if (c[1])
                        strncat(list, ", ", sizeof list - strlen(list) - 1);
                }
                fail(ld, n, key, "'%s' is not one of: %s", v, list);
                return;
            }
        }
        if (s->validate) {
            const char *why = s->validate(v);
            if (why) {
                fail(ld, n, key, "'%s' %s", v, why);
                return;
            }
        }
        free(*(char **)p);
        *(char **)p = xstrdup(v);
        break;
    case CFG_INT:
    case CFG_I64: {
        int64_t x;
        if (parse_i64(v, &x) != 0) {
            fail(ld, n, key, "expected %s, got '%s'", type_name(s->type), v);
            return;
        }
        check_range(ld, n, key, s, (double)x);
        if (s->type == CFG_INT) {
            if (x < INT_MIN || x > INT_MAX) {
                fail(ld, n, key, "value %s does not fit an int", v);
                return;
            }
            *(int *)p = (int)x;
        } else {
            *(int64_t *)p = x;
        }
        break;
    }
    case CFG_DOUBLE: {
        errno = 0;
        char *end;
        double x = strtod(v, &end);
        if (errno != 0 || end == v || *end != '\0' || !isfinite(x)) {
            fail(ld, n, key, "expected a number, got '%s'", v);
            return;
        }
        check_range(ld, n, key, s, x);
        *(double *)p = x;
        break;
    }
    case CFG_BOOL: {
        int b;
        if (parse_bool(v, &b) != 0) {
            fail(ld, n, key, "expected true or false, got '%s'", v);
            return;
        }
        *(int *)p = b;
        break;
    }
    case CFG_DURATION: {
        int64_t ms;
        if (spate_parse_duration_ms(v, &ms) != 0) {
            fail(ld, n, key, "expected a duration such as 500ms, 5s or 2m, got '%s'", v);
            return;
        }
        check_range(ld, n, key, s, (double)ms);
        *(int *)p = (int)ms;
        break;
    }
    default:
        fail(ld, n, key, "internal: not a scalar setting");
    }
}

static void load_section(struct loader *ld, const struct cfg_spec *spec, void *base,
                         const yaml_node_t *map, const char *prefix);

static void defaults_section(struct loader *ld, const struct cfg_spec *spec, void *base,
                             const char *prefix);

static void join_key(char *out, size_t outlen, const char *prefix, const char *name)
{
    if (prefix[0])
        snprintf(out, outlen, "%s.%s", prefix, name);
    else
        snprintf(out, outlen, "%s", name);
}

static void defaults_section(struct loader *ld, const struct cfg_spec *spec, void *base,
                             const char *prefix)
{
    for (const struct cfg_spec *s = spec; s->name && !ld->failed; s++) {
        char key[256];
        join_key(key, sizeof key, prefix, s->name);
        if (s->type == CFG_SECTION) {
            defaults_section(ld, s->children, (char *)base + s->offset, key);
        } else if (s->type == CFG_STRLIST && s->def) {
            /* only "[a, b]" defaults are needed */
            struct spate_strlist *l = (struct spate_strlist *)((char *)base + s->offset);
            char *copy = strdup(s->def), *save = NULL;
            for (char *tok = strtok_r(copy, "[], ", &save); tok;
                 tok = strtok_r(NULL, "[], ", &save)) {
                char **items = realloc(l->items, (l->count + 1) * sizeof *items);
                if (!items)
                    break;
                l->items = items;
                l->items[l->count++] = strdup(tok);
            }
            free(copy);
        } else if (s->def && s->type != CFG_LIST && s->type != CFG_KVLIST) {
            set_scalar(ld, s, base, s->def, NULL, key);
        }
    }
}

/* The node at index, reached from key; NULL after fail() when aliases have expanded
 * past the bounds. */
static const yaml_node_t *node_at(struct loader *ld, int index, const char *key)
{
    const yaml_node_t *n = yaml_document_get_node(ld->doc, index);
    size_t i = (size_t)index - 1;
    if (!n || i >= ld->nseen) {
        fail(ld, NULL, key, "internal: no YAML node %d", index);
        return NULL;
    }
    if (!ld->seen[i]) {
        ld->seen[i] = 1;
        return n;
    }
    ld->alias_nodes++;
    if (n->type == YAML_SCALAR_NODE)
        ld->alias_bytes += n->data.scalar.length;
    if (ld->alias_nodes > ALIAS_MAX_NODES) {
        fail(ld, n, key, "YAML aliases expand to more than %d nodes; write the repeated "
             "part out, or alias it fewer times", ALIAS_MAX_NODES);
        return NULL;
    }
    if (ld->alias_bytes > ALIAS_MAX_BYTES) {
        fail(ld, n, key, "YAML aliases expand to more than %d bytes of values; write the "
             "repeated part out, or alias it fewer times", ALIAS_MAX_BYTES);
        return NULL;
    }
    return n;
}

static void load_strlist(struct loader *ld, const struct cfg_spec *s, void *base,
                         const yaml_node_t *n, const char *key)
{
    struct spate_strlist *l = (struct spate_strlist *)((char *)base + s->offset);
    free_strlist(l);
    if (n->type == YAML_SCALAR_NODE) {
        /* a single string, or a comma-separated one from ${VAR} */
        char *v = interp_scalar(ld, n, key);
        if (!v)
            return;
        char *save = NULL;
        for (char *tok = strtok_r(v, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            char **items = realloc(l->items, (l->count + 1) * sizeof *items);
            if (!items) {
                fail(ld, n, key, "out of memory");
                break;
            }
            l->items = items;
            l->items[l->count++] = strdup(tok);
        }
        free(v);
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        fail(ld, n, key, "expected %s", type_name(s->type));
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top && !ld->failed; it++) {
        const yaml_node_t *item = node_at(ld, *it, key);
        if (!item)
            return;
        if (item->type != YAML_SCALAR_NODE) {
            fail(ld, item, key, "list items must be strings");
            return;
        }
        char *v = interp_scalar(ld, item, key);
        if (!v)
            return;
        char **items = realloc(l->items, (l->count + 1) * sizeof *items);
        if (!items) {
            free(v);
            fail(ld, n, key, "out of memory");
            return;
        }
        l->items = items;
        l->items[l->count++] = v;
    }
}

static void load_kvlist(struct loader *ld, const struct cfg_spec *s, void *base,
                        const yaml_node_t *n, const char *key)
{
    struct spate_kvlist *l = (struct spate_kvlist *)((char *)base + s->offset);
    free_kvlist(l);
    if (n->type == YAML_SCALAR_NODE && scalar_of(n)[0] == '\0')
        return; /* "key:" with nothing = empty map */
    if (n->type != YAML_MAPPING_NODE) {
        fail(ld, n, key, "expected %s", type_name(s->type));
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top && !ld->failed; pr++) {
        const yaml_node_t *k = node_at(ld, pr->key, key);
        if (!k)
            return;
        char sub[256];
        join_key(sub, sizeof sub, key, k->type == YAML_SCALAR_NODE ? scalar_of(k) : "?");
        const yaml_node_t *v = node_at(ld, pr->value, sub);
        if (!v)
            return;
        if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
            fail(ld, k, key, "entries must be 'name: value' strings");
            return;
        }
        char *value = interp_scalar(ld, v, sub);
        if (!value)
            return;
        struct spate_kv *items = realloc(l->items, (l->count + 1) * sizeof *items);
        if (!items) {
            free(value);
            fail(ld, n, key, "out of memory");
            return;
        }
        l->items = items;
        l->items[l->count].key = strdup(scalar_of(k));
        l->items[l->count].value = value;
        l->count++;
    }
}

static void load_list(struct loader *ld, const struct cfg_spec *s, void *base,
                      const yaml_node_t *n, const char *key)
{
    free_field(s, base);
    if (n->type == YAML_SCALAR_NODE && scalar_of(n)[0] == '\0')
        return;
    if (n->type != YAML_SEQUENCE_NODE) {
        fail(ld, n, key, "expected %s", type_name(s->type));
        return;
    }
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    char *items = calloc(count ? count : 1, s->elem_size);
    if (!items) {
        fail(ld, n, key, "out of memory");
        return;
    }
    *(char **)((char *)base + s->offset) = items;
    size_t *cnt = (size_t *)((char *)base + s->count_offset);
    for (size_t i = 0; i < count && !ld->failed; i++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s[%zu]", key, i);
        const yaml_node_t *item = node_at(ld, n->data.sequence.items.start[i], sub);
        if (!item)
            return;
        *cnt = i + 1; /* counted before filling, so free_field sees it */
        defaults_section(ld, s->children, items + i * s->elem_size, sub);
        if (item->type != YAML_MAPPING_NODE) {
            fail(ld, item, sub, "expected a mapping");
            return;
        }
        load_section(ld, s->children, items + i * s->elem_size, item, sub);
    }
}

static void load_section(struct loader *ld, const struct cfg_spec *spec, void *base,
                         const yaml_node_t *map, const char *prefix)
{
    /* Which keys appeared, so a missing required key can be reported. */
    int seen[64] = {0};
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
         pr < map->data.mapping.pairs.top && !ld->failed; pr++) {
        const char *where = prefix[0] ? prefix : "(top level)";
        const yaml_node_t *k = node_at(ld, pr->key, where);
        if (!k)
            return;
        if (k->type != YAML_SCALAR_NODE) {
            fail(ld, k, where, "keys must be plain strings");
            return;
        }
        const char *name = scalar_of(k);
        char key[256];
        join_key(key, sizeof key, prefix, name);
        const yaml_node_t *v = node_at(ld, pr->value, key);
        if (!v)
            return;
        const struct cfg_spec *s = NULL;
        int idx = 0;
        for (const struct cfg_spec *c = spec; c->name; c++, idx++) {
            if (strcmp(c->name, name) == 0) {
                s = c;
                break;
            }
        }
        if (s == NULL) {
            fail(ld, k, key, "unknown key");
            return;
        }
        if (idx < 64) {
            if (seen[idx]) {
                fail(ld, k, key, "key given twice");
                return;
            }
            seen[idx] = 1;
        }
        switch (s->type) {
        case CFG_SECTION:
            if (v->type == YAML_SCALAR_NODE && scalar_of(v)[0] == '\0')
                break;
            if (v->type != YAML_MAPPING_NODE) {
                fail(ld, v, key, "expected a mapping");
                return;
            }
            load_section(ld, s->children, (char *)base + s->offset, v, key);
            break;
        case CFG_LIST: load_list(ld, s, base, v, key); break;
        case CFG_STRLIST: load_strlist(ld, s, base, v, key); break;
        case CFG_KVLIST: load_kvlist(ld, s, base, v, key); break;
        default: {
            if (v->type != YAML_SCALAR_NODE) {
                fail(ld, v, key, "expected %s", type_name(s->type));
                return;
            }
            if (s->required && scalar_of(v)[0] == '\0') {
                fail(ld, v, key, "missing required value");
                return;
            }
            char *val = interp_scalar(ld, v, key);
            if (!val)
                return;
            if (val[0] == '\0' && (s->type == CFG_STR)) {
                /* an empty string clears an optional string */
                free(*(char **)((char *)base + s->offset));
                *(char **)((char *)base + s->offset) = NULL;
            } else {
                set_scalar(ld, s, base, val, v, key);
            }
            free(val);
        }
        }
    }
    int idx = 0;
    for (const struct cfg_spec *c = spec; c->name && !ld->failed; c++, idx++) {
        if (c->required && idx < 64 && !seen[idx]) {
            char key[256];
            join_key(key, sizeof key, prefix, c->name);
            fail(ld, map, key, "missing required value");
        }
    }
}

/* Rules that span several keys. */
static void validate_whole(struct loader *ld, struct spate_config *cfg)
{
    for (size_t i = 0; i < cfg->source_count && !ld->failed; i++) {
        struct spate_source_config *src = &cfg->sources[i];
        char key[128];
        if (strcmp(src->pagination.style, "cursor") == 0 && !src->pagination.cursor_path) {
            snprintf(key, sizeof key, "sources[%zu].pagination.cursor_path", i);
            fail(ld, NULL, key, "required when pagination.style is cursor");
        }
        if (src->max_record_bytes > 0 && src->max_record_bytes < 64) {
            snprintf(key, sizeof key, "sources[%zu].max_record_bytes", i);
            fail(ld, NULL, key, "must be 0 (what Kafka accepts) or at least 64");
        }
        if (src->backoff_initial_ms > src->backoff_max_ms) {
            snprintf(key, sizeof key, "sources[%zu].backoff_initial", i);
            fail(ld, NULL, key, "must not exceed backoff_max");
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->sources[j].name, src->name) == 0) {
                snprintf(key, sizeof key, "sources[%zu].name", i);
                fail(ld, NULL, key, "duplicate source name '%s'", src->name);
            }
        }
    }
    for (size_t i = 0; i < cfg->pipeline_count && !ld->failed; i++) {
        struct spate_pipeline_config *p = &cfg->pipelines[i];
        char key[128];
        snprintf(key, sizeof key, "pipelines[%zu].name", i);
        int ok = p->name[0] >= 'a' && p->name[0] <= 'z';
        for (const char *c = p->name; *c; c++)
            ok &= (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
        if (!ok || !strcmp(p->name, "users"))
            fail(ld, NULL, key, "'%s': a-z, 0-9 and _, starting with a letter, not 'users' "
                 "(the top-level pipeline)", p->name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->pipelines[j].name, p->name))
                fail(ld, NULL, key, "duplicate pipeline name '%s'", p->name);
        char buf[300];
        if (!p->sql_dir) {
            snprintf(buf, sizeof buf, "pipelines/%s", p->name);
            p->sql_dir = xstrdup(buf);
        }
        if (!p->table)
            p->table = xstrdup(p->name);
    }
    for (size_t i = 0; i < cfg->source_count && !ld->failed; i++) {
        const char *p = cfg->sources[i].pipeline;
        if (p && strcmp(p, "users") != 0 && !spate_config_pipeline(cfg, p)) {
            char key[128];
            snprintf(key, sizeof key, "sources[%zu].pipeline", i);
            fail(ld, NULL, key, "no pipeline '%s' in pipelines:", p);
        }
    }
    if (cfg->stack.kafka_port == cfg->stack.kafka_controller_port)
        fail(ld, NULL, "stack.kafka_controller_port", "must differ from stack.kafka_port");
    if (cfg->stack.cassandra_port == cfg->stack.cassandra_storage_port)
        fail(ld, NULL, "stack.cassandra_storage_port", "must differ from stack.cassandra_port");
    if (cfg->cassandra.contact_points.count == 0)
        fail(ld, NULL, "cassandra.contact_points", "at least one contact point is required");
    if (cfg->sink.retry_initial_ms > cfg->sink.retry_max_ms)
        fail(ld, NULL, "sink.retry_initial", "must not exceed sink.retry_max");
}

/* Appends the n items of src (elem bytes each) to *dst / *count; src's array is
 * freed, its items now belong to dst. */
static int append_items(void *dst, size_t *count, void *src, size_t *src_count, size_t elem)
{
    char **d = dst, **sp = src;
    if (*src_count == 0) {
        free(*sp);
        *sp = NULL;
        return 0;
    }
    char *items = realloc(*d, (*count + *src_count) * elem);
    if (!items)
        return SPATE_ENOMEM;
    memcpy(items + *count * elem, *sp, *src_count * elem);
    *d = items;
    *count += *src_count;
    free(*sp);
    *sp = NULL;
    *src_count = 0;
    return 0;
}

static int parse_into(struct loader *ld, const char *yaml, size_t len,
                      const struct cfg_spec *spec, void *base);

/* include: FILE -- its pipelines, sources and sink mappings join the main file's;
 * a relative FILE is read from the main file's folder. */
static void load_include(struct loader *ld, struct spate_config *cfg, const char *file)
{
    char path[4096];
    const char *slash = strrchr(ld->file, '/');
    if (file[0] != '/' && slash)
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - ld->file), ld->file, file);
    else
        snprintf(path, sizeof path, "%s", file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(ld, NULL, "include", "%s: cannot open: %s", path, strerror(errno));
        return;
    }
    struct spate_buf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= SPATE_CONFIG_MAX_FILE)
        if (spate_buf_append(&b, chunk, n) != 0)
            break;
    fclose(f);
    if (b.len > SPATE_CONFIG_MAX_FILE) {
        fail(ld, NULL, "include", "%s: larger than %d bytes", path, SPATE_CONFIG_MAX_FILE);
        spate_buf_free(&b);
        return;
    }
    struct spate_config part = {0};
    struct loader sub = {.file = path, .err = ld->err, .errlen = ld->errlen};
    parse_into(&sub, b.data ? b.data : "", b.len, include_root_spec, &part);
    spate_buf_free(&b);
    if (sub.failed) {
        ld->failed = 1; /* sub wrote the message, naming the included file */
    } else if (append_items(&cfg->pipelines, &cfg->pipeline_count, &part.pipelines,
                            &part.pipeline_count, sizeof *part.pipelines) ||
               append_items(&cfg->sources, &cfg->source_count, &part.sources,
                            &part.source_count, sizeof *part.sources) ||
               append_items(&cfg->sink.mappings, &cfg->sink.mapping_count, &part.sink.mappings,
                            &part.sink.mapping_count, sizeof *part.sink.mappings)) {
        fail(ld, NULL, "include", "out of memory");
    }
    free_section(include_root_spec, &part);
}

/* Parses yaml and loads its top-level mapping into base through spec. */
static int parse_into(struct loader *ld, const char *yaml, size_t len,
                      const struct cfg_spec *spec, void *base)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(ld->err, ld->errlen, "%s:%lu: YAML syntax error: %s", ld->file,
                 (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "unknown");
        ld->failed = 1;
        yaml_parser_delete(&parser);
        return SPATE_ECONFIG;
    }
    ld->doc = &doc;
    ld->nseen = (size_t)(doc.nodes.top - doc.nodes.start);
    ld->seen = calloc(ld->nseen ? ld->nseen : 1, 1);
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!ld->seen)
        fail(ld, NULL, "(top level)", "out of memory");
    else if (root != NULL) { /* an empty file means all defaults */
        ld->seen[0] = 1; /* libyaml's root is its first node */
        if (root->type == YAML_MAPPING_NODE)
            load_section(ld, spec, base, root, "");
        else if (!(root->type == YAML_SCALAR_NODE && scalar_of(root)[0] == '\0'))
            fail(ld, root, "(top level)", "expected a mapping of sections");
    }
    free(ld->seen);
    ld->seen = NULL;
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    ld->doc = NULL;
    return ld->failed ? SPATE_ECONFIG : 0;
}

static int load_common(const char *yaml, size_t len, const char *name,
                       struct spate_config **out, char *err, size_t errlen)
{
    *out = NULL;
    struct spate_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return SPATE_ENOMEM;
    struct loader ld = {.file = name, .err = err, .errlen = errlen};
    err[0] = '\0';
    defaults_section(&ld, root_spec, cfg, "");

    if (yaml != NULL && len > SPATE_CONFIG_MAX_FILE) {
        snprintf(err, errlen, "%s: file larger than %d bytes (a config is a few KB)", name,
                 SPATE_CONFIG_MAX_FILE);
        ld.failed = 1;
    }
    if (yaml != NULL && !ld.failed) {
        if (parse_into(&ld, yaml, len, root_spec, cfg) != 0 && !ld.failed) {
            spate_config_free(cfg);
            return SPATE_ECONFIG;
        }
        if (ld.failed && strstr(err, "YAML syntax error")) {
            spate_config_free(cfg);
            return SPATE_ECONFIG;
        }
        for (size_t i = 0; i < cfg->include.count && !ld.failed; i++)
            load_include(&ld, cfg, cfg->include.items[i]);
    }
    if (!ld.failed)
        validate_whole(&ld, cfg);
    if (ld.failed) {
        spate_config_free(cfg);
        return SPATE_ECONFIG;
    }
    cfg->path = xstrdup(yaml ? name : NULL);
    *out = cfg;
    return 0;
}

int spate_config_load_string(const char *yaml, const char *name,
                             struct spate_config **out, char *err, size_t errlen)
{
    return load_common(yaml, strlen(yaml), name, out, err, errlen);
}

int spate_config_defaults(struct spate_config **out, char *err, size_t errlen)
{
    return load_common(NULL, 0, "(defaults)", out, err, errlen);
}

int spate_config_load(const char *path, struct spate_config **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return SPATE_ESYS;
    }
    struct spate_buf b = {0};
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((rc = spate_buf_append(&b, chunk, n)) != 0)
            break;
        if (b.len > SPATE_CONFIG_MAX_FILE)
            break; /* enough to know it is too large: load_common says so */
    }
    int rerr = ferror(f);
    fclose(f);
    if (rc != 0 || rerr) {
        snprintf(err, errlen, "%s: cannot read: %s", path,
                 rc == SPATE_ENOMEM ? "out of memory" : "I/O error");
        spate_buf_free(&b);
        return rc ? rc : SPATE_ESYS;
    }
    rc = load_common(b.data ? b.data : "", b.len, path, out, err, errlen);
    spate_buf_free(&b);
    return rc;
}

void spate_config_free(struct spate_config *cfg)
{
    if (!cfg)
        return;
    free_section(root_spec, cfg);
    free(cfg->path);
    free(cfg->pipeline);
    free(cfg);
}

const char *spate_kvlist_get(const struct spate_kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return l->items[i].value;
    return NULL;
}

const struct spate_pipeline_config *spate_config_pipeline(const struct spate_config *cfg,
                                                          const char *name)
{
    for (size_t i = 0; name && i < cfg->pipeline_count; i++)
        if (!strcmp(cfg->pipelines[i].name, name))
            return &cfg->pipelines[i];
    return NULL;
}

const struct spate_pipeline_config *spate_config_topic_pipeline(const struct spate_config *cfg,
                                                                const char *topic)
{
    for (size_t i = 0; i < cfg->pipeline_count; i++) {
        size_t n = strlen(cfg->pipelines[i].name);
        if (!strncmp(topic, cfg->pipelines[i].name, n) && topic[n] == '.')
            return &cfg->pipelines[i];
    }
    return NULL;
}

/* *field = a + sep + b */
static int set_str(char **field, const char *a, const char *sep, const char *b)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s%s", a, sep, b);
    char *v = strdup(buf);
    if (!v)
        return SPATE_ENOMEM;
    free(*field);
    *field = v;
    return 0;
}

int spate_config_select_pipeline(struct spate_config *cfg, const char *name, char *err,
                                 size_t errlen)
{
    if (name && !strcmp(name, "users"))
        name = NULL;
    const struct spate_pipeline_config *p = spate_config_pipeline(cfg, name);
    if (name && !p) {
        size_t o = (size_t)snprintf(err, errlen, "no pipeline '%s' (have: users", name);
        for (size_t i = 0; i < cfg->pipeline_count && o < errlen; i++)
            o += (size_t)snprintf(err + o, errlen - o, ", %s", cfg->pipelines[i].name);
        if (o < errlen)
            snprintf(err + o, errlen - o, ")");
        return SPATE_ENOTFOUND;
    }
    /* keep the sources and mappings of the chosen pipeline only, in order */
    size_t k = 0;
    for (size_t i = 0; i < cfg->source_count; i++) {
        const char *sp = cfg->sources[i].pipeline;
        int mine = name ? (sp && !strcmp(sp, name)) : (!sp || !strcmp(sp, "users"));
        if (mine)
            cfg->sources[k++] = cfg->sources[i];
        else
            free_section(source_spec, &cfg->sources[i]);
    }
    cfg->source_count = k;
    k = 0;
    for (size_t i = 0; i < cfg->sink.mapping_count; i++) {
        int mine = spate_config_topic_pipeline(cfg, cfg->sink.mappings[i].topic) == p;
        if (mine)
            cfg->sink.mappings[k++] = cfg->sink.mappings[i];
        else
            free_section(sink_mapping_spec, &cfg->sink.mappings[i]);
    }
    cfg->sink.mapping_count = k;
    if (!p)
        return 0;
    struct spate_kafka_config *kc = &cfg->kafka;
    const char *ckpt = cfg->spark.checkpoint_dir;
    char base[1024];
    snprintf(base, sizeof base, "%s", ckpt ? ckpt : "");
    if (set_str(&kc->topic_raw, p->name, ".", "raw") ||
        set_str(&kc->topic_clean, p->name, ".", "clean") ||
        set_str(&kc->topic_stats, p->name, ".", "stats") ||
        set_str(&kc->topic_dlq, p->name, ".", "dlq") ||
        set_str(&cfg->spark.sql_dir, p->sql_dir, "", "") ||
        set_str(&cfg->sink.group_id, cfg->sink.group_id, "-", p->name) ||
        set_str(&cfg->pipeline, p->name, "", ""))
        return SPATE_ENOMEM;
    /* each pipeline's Spark queries keep their own checkpoints */
    if (ckpt)
        return set_str(&cfg->spark.checkpoint_dir, base, "/", p->name);
    char dflt[1024];
    snprintf(dflt, sizeof dflt, "%s/spark/checkpoints", cfg->stack.data_dir);
    return set_str(&cfg->spark.checkpoint_dir, dflt, "/", p->name);
}

void spate_config_select_all(struct spate_config *cfg)
{
    cfg->all_pipelines = 1;
}

int spate_config_topic_of(const struct spate_config *cfg, const char *name, const char *kind,
                          char *out, size_t outlen)
{
    const struct spate_kafka_config *kc = &cfg->kafka;
    const char *top = !strcmp(kind, "raw")     ? kc->topic_raw
                      : !strcmp(kind, "clean") ? kc->topic_clean
                      : !strcmp(kind, "stats") ? kc->topic_stats
                      : !strcmp(kind, "dlq")   ? kc->topic_dlq
                                               : NULL;
    if (!top)
        return SPATE_EINVAL;
    if (!name || !strcmp(name, "users") || (cfg->pipeline && !strcmp(cfg->pipeline, name)))
        snprintf(out, outlen, "%s", top);
    else
        snprintf(out, outlen, "%s.%s", name, kind);
    return 0;
}

void spate_config_pipeline_checkpoint(const struct spate_config *cfg, const char *name,
                                      char *out, size_t outlen)
{
    const char *ckpt = cfg->spark.checkpoint_dir;
    char base[1024];
    if (ckpt && *ckpt)
        snprintf(base, sizeof base, "%s", ckpt);
    else
        snprintf(base, sizeof base, "%s/spark/checkpoints", cfg->stack.data_dir);
    if (!name || !strcmp(name, "users") || (cfg->pipeline && !strcmp(cfg->pipeline, name)))
        snprintf(out, outlen, "%s", base);
    else
        snprintf(out, outlen, "%s/%s", base, name);
}

const struct spate_source_config *spate_config_source(const struct spate_config *cfg,
                                                      const char *name)
{
    for (size_t i = 0; i < cfg->source_count; i++)
        if (strcmp(cfg->sources[i].name, name) == 0)
            return &cfg->sources[i];
    return NULL;
}

/* One ${...} inside a default is one C frame: the nesting a config needs is a level or
 * two, and a hostile value must not reach the stack's end. */
#define INTERP_MAX_DEPTH 16

struct interp {
    const char *in; /* the whole value, for messages */
    struct spate_buf out;
    char *err;
    size_t errlen;
};

static int is_var_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static int interp_emit(struct interp *ip, const char *p, size_t n)
{
    if (ip->out.len + n > SPATE_CONFIG_MAX_VALUE) {
        snprintf(ip->err, ip->errlen, "value longer than %d bytes after interpolation",
                 SPATE_CONFIG_MAX_VALUE);
        return -1;
    }
    if (spate_buf_append(&ip->out, p, n) != 0) {
        snprintf(ip->err, ip->errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Expands *pp up to its end (depth 0) or up to and past the '}' that closes a default
 * (depth > 0), appending to the output when emit is set. A default that is not used is
 * still read (emit 0) to find its end and check its syntax, but its variables need not
 * be set. Each byte is read once, so the cost is linear in the value. 0 or -1 with err. */
static int interp_run(struct interp *ip, const char **pp, int depth, int emit)
{
    const char *p = *pp;
    for (;;) {
        if (*p == '\0') {
            if (depth > 0) {
                snprintf(ip->err, ip->errlen, "unterminated ${ in '%s'", ip->in);
                return -1;
            }
            break;
        }
        if (*p == '}' && depth > 0) {
            p++;
            break;
        }
        if (p[0] == '$' && p[1] == '$') { /* "$$" escapes a literal '$' */
            if (emit && interp_emit(ip, "$", 1) != 0)
                return -1;
            p += 2;
            continue;
        }
        if (!(p[0] == '$' && p[1] == '{')) {
            size_t run = 1 + strcspn(p + 1, "$}");
            if (emit && interp_emit(ip, p, run) != 0)
                return -1;
            p += run;
            continue;
        }
        if (depth >= INTERP_MAX_DEPTH) {
            snprintf(ip->err, ip->errlen, "${...} nested deeper than %d levels",
                     INTERP_MAX_DEPTH);
            return -1;
        }
        const char *start = p + 2, *q = start;
        while (is_var_char(*q))
            q++;
        size_t nlen = (size_t)(q - start);
        int has_default = q[0] == ':' && q[1] == '-';
        if (*q == '\0' || (q[0] == ':' && q[1] == '\0')) {
            snprintf(ip->err, ip->errlen, "unterminated ${ in '%s'", ip->in);
            return -1;
        }
        if (nlen == 0) {
            snprintf(ip->err, ip->errlen, "bad variable name in '%s'", ip->in);
            return -1;
        }
        if ((*q != '}' && !has_default) || nlen >= 128) {
            /* the name as written, up to where it would have ended */
            size_t shown = nlen + strcspn(q, "}:");
            snprintf(ip->err, ip->errlen, "bad variable name '%.*s'",
                     (int)(shown < 64 ? shown : 64), start);
            return -1;
        }
        char name[128];
        memcpy(name, start, nlen);
        name[nlen] = '\0';
        const char *val = emit ? getenv(name) : NULL;
        int use_env = val && *val;
        if (use_env && interp_emit(ip, val, strlen(val)) != 0)
            return -1;
        if (has_default) {
            p = q + 2;
            if (interp_run(ip, &p, depth + 1, emit && !use_env) != 0)
                return -1;
            continue;
        }
        if (emit && !use_env) {
            snprintf(ip->err, ip->errlen,
                     "environment variable %s is not set and has no default "
                     "(write ${%s:-default})",
                     name, name);
            return -1;
        }
        p = q + 1;
    }
    *pp = p;
    return 0;
}

char *spate_config_interpolate(const char *in, char *err, size_t errlen)
{
    size_t len = strlen(in);
    if (len > SPATE_CONFIG_MAX_VALUE) {
        snprintf(err, errlen, "value longer than %d bytes", SPATE_CONFIG_MAX_VALUE);
        return NULL;
    }
    struct interp ip = {.in = in, .err = err, .errlen = errlen};
    const char *p = in;
    if (spate_buf_reserve(&ip.out, len + 1) != 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (interp_run(&ip, &p, 0, 1) != 0) {
        spate_buf_free(&ip.out);
        return NULL;
    }
    /* Also NUL-terminates an empty result (reserve alone does not). */
    if (spate_buf_append(&ip.out, "", 0) != 0) {
        snprintf(err, errlen, "out of memory");
        spate_buf_free(&ip.out);
        return NULL;
    }
    return ip.out.data;
}
