/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_config.c -- the config loader: a valid file and each kind of error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spate/config.h"
#include "spate/error.h"
#include "spate/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[1024];

static struct spate_config *load_ok(const char *yaml)
{
    struct spate_config *cfg = NULL;
    int rc = spate_config_load_string(yaml, "t.yaml", &cfg, err, sizeof err);
    if (rc != 0)
        fail_msg("unexpected error: %s", err);
    return cfg;
}

/* Loads yaml expecting failure; returns the message. */
static const char *load_err(const char *yaml)
{
    struct spate_config *cfg = NULL;
    int rc = spate_config_load_string(yaml, "t.yaml", &cfg, err, sizeof err);
    assert_int_equal(rc, SPATE_ECONFIG);
    assert_null(cfg);
    return err;
}

static void valid_full_file(void **state)
{
    (void)state;
    struct spate_config *cfg = load_ok(
        "log_level: debug\n"
        "kafka:\n"
        "  bootstrap_servers: k1:9092,k2:9092\n"
        "  partitions: 12\n"
        "  compression: zstd\n"
        "  properties:\n"
        "    linger.ms: \"20\"\n"
        "cassandra:\n"
        "  contact_points: [c1, c2:9043]\n"
        "  consistency: QUORUM\n"
        "  request_timeout: 3s\n"
        "  tls:\n"
        "    enabled: true\n"
        "    ca_file: /etc/ca.pem\n"
        "sources:\n"
        "  - name: a\n"
        "    url: http://x/api\n"
        "    rate_limit: 2.5\n"
        "    pagination: {style: cursor, cursor_path: info.next}\n"
        "  - name: b\n"
        "    url: https://y/api\n"
        "    headers: {Authorization: Bearer t}\n"
        "sink:\n"
        "  mappings:\n"
        "    - topic: users.clean\n"
        "      tables:\n"
        "        - table: users\n"
        "          ttl: 3600\n"
        "          columns:\n"
        "            - {column: user_id, from: user_id}\n"
        "spark:\n"
        "  trigger: processingTime:5s\n"
        "  queries: [{name: clean, trigger: realtime}]\n"
        "stack:\n"
        "  kafka_port: 19092\n");
    assert_string_equal(cfg->log_level, "debug");
    assert_string_equal(cfg->kafka.bootstrap_servers, "k1:9092,k2:9092");
    assert_int_equal(cfg->kafka.partitions, 12);
    assert_string_equal(cfg->kafka.compression, "zstd");
    assert_string_equal(spate_kvlist_get(&cfg->kafka.properties, "linger.ms"), "20");
    assert_int_equal(cfg->cassandra.contact_points.count, 2);
    assert_string_equal(cfg->cassandra.contact_points.items[1], "c2:9043");
    assert_int_equal(cfg->cassandra.request_timeout_ms, 3000);
    assert_int_equal(cfg->cassandra.tls.enabled, 1);
    assert_int_equal(cfg->cassandra.tls.verify, 1); /* default kept inside a given section */
    assert_string_equal(cfg->cassandra.tls.ca_file, "/etc/ca.pem");
    assert_int_equal(cfg->source_count, 2);
    assert_true(cfg->sources[0].rate_limit > 2.4 && cfg->sources[0].rate_limit < 2.6);
    assert_string_equal(cfg->sources[0].pagination.style, "cursor");
    assert_string_equal(cfg->sources[1].records_path, "results"); /* default per element */
    assert_string_equal(spate_kvlist_get(&cfg->sources[1].headers, "Authorization"), "Bearer t");
    assert_non_null(spate_config_source(cfg, "b"));
    assert_null(spate_config_source(cfg, "zz"));
    assert_int_equal(cfg->sink.mapping_count, 1);
    assert_int_equal(cfg->sink.mappings[0].tables[0].ttl_s, 3600);
    assert_string_equal(cfg->sink.mappings[0].tables[0].columns[0].column, "user_id");
    assert_string_equal(cfg->spark.queries[0].trigger, "realtime");
    assert_int_equal(cfg->stack.kafka_port, 19092);
    assert_int_equal(cfg->stack.cassandra_port, 9042);
    spate_config_free(cfg);
}

static void defaults_and_empty_file(void **state)
{
    (void)state;
    struct spate_config *cfg = load_ok("");
    assert_string_equal(cfg->kafka.topic_raw, "users.raw");
    assert_int_equal(cfg->stack.kafka_heap_mb, 512);
    assert_int_equal(cfg->source_count, 0);
    spate_config_free(cfg);
    assert_int_equal(spate_config_defaults(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg->cassandra.keyspace, "spate");
    spate_config_free(cfg);
}

static void unknown_key_names_line(void **state)
{
    (void)state;
    const char *m = load_err("kafka:\n  partitions: 3\n  bootstrap: x\n");
    assert_string_equal(m, "t.yaml:3: kafka.bootstrap: unknown key");
    m = load_err("kafak:\n  partitions: 3\n");
    assert_string_equal(m, "t.yaml:1: kafak: unknown key");
}

static void wrong_type(void **state)
{
    (void)state;
    const char *m = load_err("kafka:\n  partitions: many\n");
    assert_string_equal(m, "t.yaml:2: kafka.partitions: expected an integer, got 'many'");
    m = load_err("cassandra:\n  tls:\n    enabled: maybe\n");
    assert_string_equal(m, "t.yaml:3: cassandra.tls.enabled: expected true or false, got 'maybe'");
    m = load_err("kafka: 3\n");
    assert_string_equal(m, "t.yaml:1: kafka: expected a mapping");
    m = load_err("cassandra:\n  request_timeout: soon\n");
    assert_non_null(strstr(m, "t.yaml:2: cassandra.request_timeout: expected a duration"));
    m = load_err("sources: {name: a}\n");
    assert_string_equal(m, "t.yaml:1: sources: expected a list of mappings");
}

static void out_of_range(void **state)
{
    (void)state;
    const char *m = load_err("stack:\n  kafka_port: 70000\n");
    assert_string_equal(m, "t.yaml:2: stack.kafka_port: value 70000 out of range [1, 65535]");
    m = load_err("kafka:\n  partitions: 0\n");
    assert_string_equal(m, "t.yaml:2: kafka.partitions: value 0 out of range [1, 10000]");
    /* a node number is one digit of its state folder and its 127.0.0.x address */
    m = load_err("stack:\n  nodes: 10\n");
    assert_string_equal(m, "t.yaml:2: stack.nodes: value 10 out of range [1, 9]");
    struct spate_config *cfg = load_ok("stack:\n  nodes: 3\nkafka:\n  min_insync_replicas: 2\n");
    assert_int_equal(cfg->stack.nodes, 3);
    assert_int_equal(cfg->kafka.min_insync_replicas, 2);
    spate_config_free(cfg);
    cfg = load_ok("log_level: info\n");
    assert_int_equal(cfg->stack.nodes, 1);
    assert_int_equal(cfg->kafka.min_insync_replicas, 0);
    spate_config_free(cfg);
}

static void missing_required(void **state)
{
    (void)state;
    const char *m = load_err("sources:\n  - name: a\n");
    assert_string_equal(m, "t.yaml:2: sources[0].url: missing required value");
    m = load_err("sources:\n  - name: a\n    url: http://x\n  - url: http://y\n");
    assert_string_equal(m, "t.yaml:4: sources[1].name: missing required value");
}

static void bad_enum_and_validator(void **state)
{
    (void)state;
    const char *m = load_err("kafka:\n  compression: brotli\n");
    assert_string_equal(m, "t.yaml:2: kafka.compression: 'brotli' is not one of: none, gzip, "
                           "snappy, lz4, zstd");
    m = load_err("sources:\n  - name: a\n    url: ftp://x\n");
    assert_string_equal(m, "t.yaml:3: sources[0].url: 'ftp://x' must start with http:// or https://");
    m = load_err("spark:\n  trigger: sometimes\n");
    assert_non_null(strstr(m, "t.yaml:2: spark.trigger: 'sometimes' must be auto, realtime"));
}

static void cross_field_rules(void **state)
{
    (void)state;
    const char *m = load_err("sources:\n  - name: a\n    url: http://x\n    pagination:\n"
                             "      style: cursor\n");
    assert_string_equal(m, "t.yaml: sources[0].pagination.cursor_path: required when "
                           "pagination.style is cursor");
    m = load_err("stack:\n  kafka_port: 9000\n  kafka_controller_port: 9000\n");
    assert_string_equal(m, "t.yaml: stack.kafka_controller_port: must differ from stack.kafka_port");
    m = load_err("sources:\n  - {name: a, url: http://x}\n  - {name: a, url: http://y}\n");
    assert_string_equal(m, "t.yaml: sources[1].name: duplicate source name 'a'");
}

static void duplicate_key_and_syntax(void **state)
{
    (void)state;
    const char *m = load_err("kafka:\n  partitions: 3\n  partitions: 4\n");
    assert_string_equal(m, "t.yaml:3: kafka.partitions: key given twice");
    m = load_err("kafka:\n  partitions: [3\n");
    assert_non_null(strstr(m, "t.yaml:"));
    assert_non_null(strstr(m, "YAML syntax error"));
}

static void interpolation(void **state)
{
    (void)state;
    setenv("SPATE_T_PORT", "19042", 1);
    unsetenv("SPATE_T_UNSET");
    struct spate_config *cfg = load_ok("cassandra:\n  port: ${SPATE_T_PORT:-9042}\n"
                                       "  keyspace: ks_${SPATE_T_UNSET:-dev}\n");
    assert_int_equal(cfg->cassandra.port, 19042);
    assert_string_equal(cfg->cassandra.keyspace, "ks_dev");
    spate_config_free(cfg);

    const char *m = load_err("cassandra:\n  keyspace: ${SPATE_T_UNSET}\n");
    assert_string_equal(m, "t.yaml:2: cassandra.keyspace: environment variable SPATE_T_UNSET is "
                           "not set and has no default (write ${SPATE_T_UNSET:-default})");
    m = load_err("cassandra:\n  keyspace: ${OOPS\n");
    assert_non_null(strstr(m, "unterminated ${"));
    /* the interpolated text is typed like any other value */
    setenv("SPATE_T_PORT", "abc", 1);
    m = load_err("cassandra:\n  port: ${SPATE_T_PORT}\n");
    assert_string_equal(m, "t.yaml:2: cassandra.port: expected an integer, got 'abc'");

    char e[128];
    char *s = spate_config_interpolate("a$${X}b", e, sizeof e);
    assert_string_equal(s, "a${X}b");
    free(s);
    /* a default may refer to another variable */
    setenv("SPATE_T_PORT", "29092", 1);
    s = spate_config_interpolate("${SPATE_T_UNSET:-h:${SPATE_T_PORT:-9092}}/x", e, sizeof e);
    assert_string_equal(s, "h:29092/x");
    free(s);
    unsetenv("SPATE_T_PORT");
    s = spate_config_interpolate("${SPATE_T_UNSET:-h:${SPATE_T_PORT:-9092}}", e, sizeof e);
    assert_string_equal(s, "h:9092");
    free(s);
}

/* levels of ${SPATE_T_UNSET:-...} around "x", with every brace closed. */
static char *nested(int levels)
{
    static const char open[] = "${SPATE_T_UNSET:-";
    size_t n = (size_t)levels * (sizeof open - 1 + 1) + 2;
    char *s = malloc(n), *o = s;
    assert_non_null(s);
    for (int i = 0; i < levels; i++)
        o += sprintf(o, "%s", open);
    *o++ = 'x';
    for (int i = 0; i < levels; i++)
        *o++ = '}';
    *o = '\0';
    return s;
}

/* ${X:-${X:-...}} nested past 16 levels is refused with file, line and key (a 120 KB value
 * of them used to overflow the stack, at a cost quadratic in its length). */
static void interpolation_depth_bounded(void **state)
{
    (void)state;
    unsetenv("SPATE_T_UNSET");
    char e[256];
    char *s = nested(16);
    char *v = spate_config_interpolate(s, e, sizeof e);
    assert_non_null(v);
    assert_string_equal(v, "x");
    free(v);
    free(s);

    s = nested(17);
    assert_null(spate_config_interpolate(s, e, sizeof e));
    assert_string_equal(e, "${...} nested deeper than 16 levels");
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "cassandra:\n  port: 9042\n  keyspace: '%s'\n", s);
    free(s);
    assert_string_equal(load_err(yaml), "t.yaml:3: cassandra.keyspace: ${...} nested deeper "
                                        "than 16 levels");

    /* Deep and long, within the value bound: refused as fast as the shallow one. */
    s = nested(2500); /* ~45 KB */
    assert_null(spate_config_interpolate(s, e, sizeof e));
    assert_string_equal(e, "${...} nested deeper than 16 levels");
    free(s);
    /* An unused default is still read for its syntax, not for its variables. */
    setenv("SPATE_T_SET", "y", 1);
    v = spate_config_interpolate("${SPATE_T_SET:-${SPATE_T_UNSET}}z", e, sizeof e);
    assert_non_null(v);
    assert_string_equal(v, "yz");
    free(v);
    assert_null(spate_config_interpolate("${SPATE_T_SET:-${}}", e, sizeof e));
    assert_non_null(strstr(e, "bad variable name"));
    unsetenv("SPATE_T_SET");
}

/* A value or a file larger than the bounds is refused before it costs anything. */
static void size_bounds(void **state)
{
    (void)state;
    size_t n = 120 * 1024;
    char *yaml = malloc(n + 64);
    assert_non_null(yaml);
    int o = sprintf(yaml, "kafka:\n  partitions: 3\n  topic_raw: ");
    memset(yaml + o, 'a', n);
    strcpy(yaml + o + n, "\n");
    assert_string_equal(load_err(yaml), "t.yaml:3: kafka.topic_raw: value longer than 65536 "
                                        "bytes");
    /* the result of interpolation too */
    char *big = malloc(40 * 1024);
    memset(big, 'b', 40 * 1024 - 1);
    big[40 * 1024 - 1] = '\0';
    setenv("SPATE_T_BIG", big, 1);
    free(big);
    assert_string_equal(load_err("kafka:\n  topic_raw: ${SPATE_T_BIG}${SPATE_T_BIG}\n"),
                        "t.yaml:2: kafka.topic_raw: value longer than 65536 bytes after "
                        "interpolation");
    unsetenv("SPATE_T_BIG");
    free(yaml);

    size_t fn = SPATE_CONFIG_MAX_FILE + 1;
    yaml = malloc(fn + 1);
    assert_non_null(yaml);
    memset(yaml, '#', fn);
    yaml[fn] = '\0';
    assert_string_equal(load_err(yaml), "t.yaml: file larger than 1048576 bytes (a config is "
                                        "a few KB)");
    free(yaml);
}

/* A "billion laughs" config: each list aliases the one below it, and the loader would
 * copy every repetition. Refused by count, with file, line and key; a few aliases (the
 * way people share headers between sources) are fine. */
static void alias_expansion_bounded(void **state)
{
    (void)state;
    struct spate_buf b = {0};
    assert_int_equal(spate_buf_appendf(&b, "sink:\n  mappings:\n    - &m\n      topic: t\n"
                                           "      tables:\n        - &t\n          table: x\n"
                                           "          columns:\n"
                                           "            - &c {column: a, from: b, type: text}\n"),
                     0);
    for (int i = 1; i < 25; i++)
        assert_int_equal(spate_buf_appendf(&b, "            - *c\n"), 0);
    for (int i = 1; i < 25; i++)
        assert_int_equal(spate_buf_appendf(&b, "        - *t\n"), 0);
    for (int i = 1; i < 25; i++)
        assert_int_equal(spate_buf_appendf(&b, "    - *m\n"), 0);
    assert_true(b.len < 2048); /* 15,625 columns from 2 KB */
    const char *m = load_err(b.data);
    assert_non_null(strstr(m, "t.yaml:"));
    assert_non_null(strstr(m, ": sink.mappings["));
    assert_non_null(strstr(m, "YAML aliases expand to more than 10000 nodes"));
    spate_buf_free(&b);

    /* Bytes, too: one long value aliased many times. */
    char *v = malloc(40000);
    memset(v, 'h', 39999);
    v[39999] = '\0';
    assert_int_equal(spate_buf_appendf(&b, "kafka:\n  topic_raw: &v %s\n  properties:\n", v),
                     0);
    free(v);
    for (int i = 0; i < 40; i++)
        assert_int_equal(spate_buf_appendf(&b, "    p%d: *v\n", i), 0);
    m = load_err(b.data);
    assert_non_null(strstr(m, "t.yaml:2: kafka.properties.p"));
    assert_non_null(strstr(m, "YAML aliases expand to more than 1048576 bytes"));
    spate_buf_free(&b);

    struct spate_config *cfg = load_ok("sources:\n"
                                       "  - name: a\n    url: http://x\n"
                                       "    headers: &h {Accept: application/json, X-K: k}\n"
                                       "  - name: b\n    url: http://y\n    headers: *h\n");
    assert_int_equal(cfg->source_count, 2);
    assert_string_equal(spate_kvlist_get(&cfg->sources[1].headers, "X-K"), "k");
    spate_config_free(cfg);
}

static void file_errors(void **state)
{
    (void)state;
    struct spate_config *cfg = NULL;
    assert_int_equal(spate_config_load("/nonexistent/spate.yaml", &cfg, err, sizeof err),
                     SPATE_ESYS);
    assert_non_null(strstr(err, "/nonexistent/spate.yaml: cannot open"));
    char path[] = "/tmp/spate-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "metrics:\n  listen: 127.0.0.1\n  colour: blue\n";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    assert_int_equal(spate_config_load(path, &cfg, err, sizeof err), SPATE_ECONFIG);
    char want[256];
    snprintf(want, sizeof want, "%s:3: metrics.colour: unknown key", path);
    assert_string_equal(err, want);
    unlink(path);
}

/* Issue 14 items 3, 7 and 10: the ingest limits are in the table with
 * bounds, and the record limit defaults to what Kafka accepts. */
static void ingest_limits(void **state)
{
    (void)state;
    struct spate_config *cfg = load_ok("sources:\n  - name: a\n    url: http://x/api\n");
    assert_int_equal(cfg->sources[0].retry_after_max_ms, 5 * 60 * 1000);
    assert_int_equal(cfg->sources[0].max_record_bytes, 0);
    assert_true(cfg->ingest.max_response_bytes_total == 64LL << 20);
    spate_config_free(cfg);
    cfg = load_ok("ingest: {max_response_bytes_total: 2097152}\n"
                  "sources:\n  - {name: a, url: http://x/api, retry_after_max: 30s,"
                  " max_record_bytes: 5000}\n");
    assert_int_equal(cfg->sources[0].retry_after_max_ms, 30000);
    assert_int_equal(cfg->sources[0].max_record_bytes, 5000);
    assert_true(cfg->ingest.max_response_bytes_total == 2097152);
    spate_config_free(cfg);
    assert_non_null(strstr(load_err("ingest: {max_response_bytes_total: 1000}\n"),
                           "ingest.max_response_bytes_total"));
    assert_non_null(strstr(load_err("sources:\n  - {name: a, url: http://x/, retry_after_max: 0}\n"),
                           "retry_after_max"));
    assert_non_null(strstr(load_err("sources:\n  - {name: a, url: http://x/, max_record_bytes: 10}\n"),
                           "max_record_bytes"));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void include_and_select_pipeline(void **state)
{
    (void)state;
    char dir[] = "/tmp/spate-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char main_path[256], part[256];
    snprintf(main_path, sizeof main_path, "%s/spate.yaml", dir);
    snprintf(part, sizeof part, "%s/ev.yaml", dir);
    write_text(part, "pipelines:\n  - name: ev\n    key_column: id\n"
                     "sources:\n  - {name: ev, pipeline: ev, url: 'http://h/e'}\n"
                     "sink:\n  mappings:\n    - topic: ev.clean\n      tables: []\n");
    write_text(main_path, "include: [ev.yaml]\n"
                          "sources:\n  - {name: sim, url: 'http://h/api'}\n"
                          "sink:\n  mappings:\n    - topic: users.clean\n      tables: []\n");
    struct spate_config *cfg = NULL;
    char msg[512];
    assert_int_equal(spate_config_load(main_path, &cfg, msg, sizeof msg), 0);
    assert_int_equal(cfg->source_count, 2);
    assert_int_equal(cfg->pipeline_count, 1);
    assert_string_equal(cfg->pipelines[0].sql_dir, "pipelines/ev");
    assert_int_equal(cfg->sink.mapping_count, 2);
    /* the users pipeline: nothing of ev's */
    assert_int_equal(spate_config_select_pipeline(cfg, NULL, msg, sizeof msg), 0);
    assert_int_equal(cfg->source_count, 1);
    assert_string_equal(cfg->sources[0].name, "sim");
    assert_int_equal(cfg->sink.mapping_count, 1);
    assert_string_equal(cfg->kafka.topic_raw, "users.raw");
    spate_config_free(cfg);

    assert_int_equal(spate_config_load(main_path, &cfg, msg, sizeof msg), 0);
    assert_int_equal(spate_config_select_pipeline(cfg, "ev", msg, sizeof msg), 0);
    assert_int_equal(cfg->source_count, 1);
    assert_string_equal(cfg->sources[0].name, "ev");
    assert_int_equal(cfg->sink.mapping_count, 1);
    assert_string_equal(cfg->sink.mappings[0].topic, "ev.clean");
    assert_string_equal(cfg->kafka.topic_raw, "ev.raw");
    assert_string_equal(cfg->kafka.topic_dlq, "ev.dlq");
    assert_string_equal(cfg->spark.sql_dir, "pipelines/ev");
    assert_string_equal(cfg->sink.group_id, "spate-sink-ev");
    assert_string_equal(cfg->spark.checkpoint_dir, ".spate/spark/checkpoints/ev");
    spate_config_free(cfg);

    /* every pipeline (spate run without --pipeline): all sources and mappings, the
     * users topics on top, each other pipeline's topics and checkpoints by name */
    assert_int_equal(spate_config_load(main_path, &cfg, msg, sizeof msg), 0);
    spate_config_select_all(cfg);
    assert_int_equal(cfg->all_pipelines, 1);
    assert_null(cfg->pipeline);
    assert_int_equal(cfg->source_count, 2);
    assert_int_equal(cfg->sink.mapping_count, 2);
    assert_string_equal(cfg->kafka.topic_raw, "users.raw");
    char t[256];
    assert_int_equal(spate_config_topic_of(cfg, "ev", "dlq", t, sizeof t), 0);
    assert_string_equal(t, "ev.dlq");
    assert_int_equal(spate_config_topic_of(cfg, NULL, "clean", t, sizeof t), 0);
    assert_string_equal(t, "users.clean");
    assert_int_equal(spate_config_topic_of(cfg, "users", "raw", t, sizeof t), 0);
    assert_string_equal(t, "users.raw");
    assert_int_equal(spate_config_topic_of(cfg, "ev", "nope", t, sizeof t), SPATE_EINVAL);
    spate_config_pipeline_checkpoint(cfg, "ev", t, sizeof t);
    assert_string_equal(t, ".spate/spark/checkpoints/ev");
    spate_config_pipeline_checkpoint(cfg, NULL, t, sizeof t);
    assert_string_equal(t, ".spate/spark/checkpoints");
    assert_non_null(spate_config_topic_pipeline(cfg, "ev.clean"));
    assert_null(spate_config_topic_pipeline(cfg, "users.clean"));
    assert_null(spate_config_topic_pipeline(cfg, "evx.clean"));
    spate_config_free(cfg);

    assert_int_equal(spate_config_load(main_path, &cfg, msg, sizeof msg), 0);
    assert_int_equal(spate_config_select_pipeline(cfg, "nope", msg, sizeof msg),
                     SPATE_ENOTFOUND);
    assert_non_null(strstr(msg, "have: users, ev"));
    spate_config_free(cfg);

    /* an error in the included file names that file and line */
    write_text(part, "sources:\n  - {name: ev, pipeline: zz, url: 'http://h/e'}\n");
    assert_int_equal(spate_config_load(main_path, &cfg, msg, sizeof msg), SPATE_ECONFIG);
    assert_non_null(strstr(msg, "no pipeline 'zz'"));
    write_text(part, "kafka:\n  partitions: 3\n");
    assert_int_equal(spate_config_load(main_path, &cfg, msg, sizeof msg), SPATE_ECONFIG);
    assert_non_null(strstr(msg, "ev.yaml:1: kafka: unknown key"));
    remove(part);
    assert_int_equal(spate_config_load(main_path, &cfg, msg, sizeof msg), SPATE_ECONFIG);
    assert_non_null(strstr(msg, "include"));
    remove(main_path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_full_file),
        cmocka_unit_test(ingest_limits),
        cmocka_unit_test(defaults_and_empty_file),
        cmocka_unit_test(unknown_key_names_line),
        cmocka_unit_test(wrong_type),
        cmocka_unit_test(out_of_range),
        cmocka_unit_test(missing_required),
        cmocka_unit_test(bad_enum_and_validator),
        cmocka_unit_test(cross_field_rules),
        cmocka_unit_test(duplicate_key_and_syntax),
        cmocka_unit_test(interpolation),
        cmocka_unit_test(interpolation_depth_bounded),
        cmocka_unit_test(size_bounds),
        cmocka_unit_test(alias_expansion_bounded),
        cmocka_unit_test(file_errors),
        cmocka_unit_test(include_and_select_pipeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
