/* SPDX-License-Identifier: Apache-2.0 */
/* config.h -- spate.yaml loaded through one table of typed, bounded settings. */
#ifndef SPATE_CONFIG_H
#define SPATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* A free-form string map (librdkafka properties, Spark conf, HTTP headers).
 * Order is kept as written in the file. */
struct spate_kv {
    char *key;
    char *value;
};
struct spate_kvlist {
    struct spate_kv *items;
    size_t count;
};
/* Value of key or NULL. */
const char *spate_kvlist_get(const struct spate_kvlist *l, const char *key);

struct spate_strlist {
    char **items;
    size_t count;
};

struct spate_tls_config {
    int enabled;
    char *ca_file;   /* PEM bundle used to verify the server; NULL = system */
    char *cert_file; /* optional client certificate (PEM) */
    char *key_file;  /* its private key (PEM) */
    int verify;      /* verify the server certificate and host name */
};

struct spate_kafka_config {
    char *bootstrap_servers;
    int partitions;         /* for topics spate creates */
    int replication_factor; /* for topics spate creates */
    int min_insync_replicas; /* topic config of topics spate creates; 0 = broker default */
    char *topic_raw;
    char *topic_clean;
    char *topic_stats;
    char *topic_dlq;
    char *compression; /* none|gzip|snappy|lz4|zstd */
    struct spate_kvlist properties; /* passed through to librdkafka */
};

struct spate_cassandra_config {
    struct spate_strlist contact_points; /* "host" or "host:port" */
    int port;
    char *keyspace;
    char *replication_strategy; /* SimpleStrategy | NetworkTopologyStrategy */
    int replication_factor;     /* SimpleStrategy */
    struct spate_kvlist datacenters; /* NetworkTopologyStrategy: dc -> rf */
    char *consistency;
    char *local_dc;
    char *username;
    char *password;
    struct spate_tls_config tls;
    int connect_timeout_ms;
    int request_timeout_ms;
    int heartbeat_interval_ms; /* OPTIONS on an idle connection; 0 = off */
    int connections_per_host;
    int max_in_flight;  /* per connection */
    int compression;    /* negotiate LZ4 when the server supports it */
};

struct spate_pagination_config {
    char *style;       /* none | page | cursor | link */
    char *page_param;  /* query parameter carrying the page number (page) */
    int64_t start_page;
    int64_t max_pages; /* 0 = unbounded */
    char *cursor_path; /* JSON path of the next cursor in the response (cursor) */
    char *cursor_param;/* query parameter carrying the cursor (cursor) */
    int64_t follow_ms; /* page: at the end of the data, poll again this often (0 = stop) */
};

struct spate_source_config {
    char *name;
    char *url; /* template: {page} {cursor} {batch} {seed} are substituted */
    char *method;
    struct spate_kvlist headers; /* values may use ${VAR} from the environment */
    struct spate_kvlist params;  /* extra query parameters */
    char *body;                  /* request body for POST */
    char *records_path;          /* JSON path of the records array */
    char *key_path;              /* JSON path of the record key inside a record */
    int batch_size;
    char *batch_param;           /* query parameter carrying batch_size unless the
                                  * url or params use {batch}; "" = none */
    char *seed;                  /* substituted for {seed}, else sent as seed=; NULL = none */
    int concurrency;             /* requests in flight */
    double rate_limit;           /* requests per second, 0 = unlimited */
    int timeout_ms;
    int max_retries;
    int backoff_initial_ms;
    int backoff_max_ms;
    char *mode;                  /* continuous | interval */
    int interval_ms;
    int retry_after_max_ms;      /* cap on a Retry-After pause (delta or date) */
    int max_record_bytes;        /* 0 = what Kafka accepts (message.max.bytes less key
                                  * and headers); an explicit value above it is an error */
    struct spate_pagination_config pagination;
    /* hosts besides the url's own that a Link rel="next" or a redirect may
     * lead to; requests there go without the configured headers */
    struct spate_strlist allow_hosts;
    char *state_file;            /* cursor persistence; default under state dir */
    char *pipeline;              /* the pipeline it feeds (NAME.raw); NULL = the users one */
};

struct spate_sink_column_config {
    char *column;
    char *from; /* "field.path", "key", "header:NAME" or "now" */
    char *type; /* declared field type (string, integer, number, boolean, timestamp,
                 * uuid, object, array) checked against the column at start; NULL = any */
};

struct spate_sink_table_config {
    char *table;
    char *consistency;
    int ttl_s; /* 0 = none */
    char *timestamp_field; /* write timestamp from this field, NULL = server */
    struct spate_sink_column_config *columns;
    size_t column_count;
};

struct spate_sink_config {
    char *topic;
    struct spate_sink_table_config *tables;
    size_t table_count;
};

struct spate_sink_section {
    char *group_id;
    int max_in_flight;
    int batch_rows;  /* rows per UNLOGGED BATCH request; 1 = one request a row */
    int batch_bytes; /* and at most this many bytes of values in one */
    int retry_initial_ms;
    int retry_max_ms;
    int commit_interval_ms;
    struct spate_sink_config *mappings;
    size_t mapping_count;
};

struct spate_spark_query_config {
    char *name;
    char *trigger; /* auto | realtime[:DUR] | microbatch | processingTime:DUR */
};

struct spate_spark_config {
    char *master;
    char *trigger;
    char *checkpoint_dir;
    char *sql_dir;
    char *starting_offsets;
    int fail_on_data_loss;
    char *watermark;
    struct spate_spark_query_config *queries;
    size_t query_count;
    struct spate_kvlist conf; /* passed through to Spark */
    struct spate_kvlist kafka_options; /* Kafka source/sink options of the job */
    char *python;       /* the virtualenv's python (spate spark run) */
    char *spark_submit; /* the virtualenv's spark-submit (spate spark submit) */
    char *driver;       /* spark/spate_job.py */
    char *jars_dir;     /* spark-sql-kafka and the jars pyspark lacks */
};

struct spate_stack_config {
    char *data_dir;
    char *java_home;
    char *host;
    int kafka_port;
    int kafka_controller_port;
    int kafka_heap_mb;
    int cassandra_port;
    int cassandra_storage_port;
    int cassandra_heap_mb;
    int start_timeout_s;
    int stop_timeout_s;
    int nodes; /* 1: one Kafka + one Cassandra; N: N of each on 127.0.0.1..N */
};

struct spate_ingest_config {
    int64_t max_response_bytes_total; /* response bodies held at once, every source */
};

struct spate_metrics_config {
    char *listen;   /* address the metrics endpoints bind, default 127.0.0.1 */
    int ingest_port;
    int sink_port;
    int apisim_port;
    int serve_port; /* spate serve's /metrics (the API has serve.port) */
};

/* spate serve's REST API and dashboard. */
struct spate_serve_config {
    char *listen;                  /* default 127.0.0.1 */
    int port;                      /* default 8080 */
    char *token;                   /* bearer token for /api/ paths; NULL or "" = none
                                    * (then SPATE_SERVE_TOKEN, if set) */
    struct spate_strlist allowed_hosts; /* Host header names besides localhost,
                                         * IP literals and the listen address */
    int64_t max_response_bytes;    /* a body is never larger */
    int queue;                     /* Cassandra requests waiting at most; then 503 */
};

/* A pipeline besides the users one (pipelines: in the config or an included
 * file, as `spate init` writes them): topics NAME.raw, NAME.clean, NAME.stats,
 * NAME.dlq, its SQL folder and the table `spate verify` checks. */
struct spate_pipeline_config {
    char *name;
    char *sql_dir;    /* default pipelines/NAME */
    char *table;      /* default NAME */
    char *key_column; /* default id */
};

struct spate_config {
    char *path; /* file it was loaded from, NULL for built-in defaults */
    struct spate_strlist include; /* files whose sources, pipelines and sink mappings
                                   * are added (relative to this file's folder) */
    struct spate_pipeline_config *pipelines;
    size_t pipeline_count;
    char *pipeline; /* the one selected (spate_config_select_pipeline); NULL = users */
    int all_pipelines; /* spate_config_select_all: every pipeline's sources and mappings */
    char *log_level;
    struct spate_kafka_config kafka;
    struct spate_cassandra_config cassandra;
    struct spate_source_config *sources;
    size_t source_count;
    struct spate_ingest_config ingest;
    struct spate_spark_config spark;
    struct spate_sink_section sink;
    struct spate_stack_config stack;
    struct spate_metrics_config metrics;
    struct spate_serve_config serve;
};

/* Bounds on what a config may hold, so a hostile file costs little to refuse: a file
 * larger than SPATE_CONFIG_MAX_FILE bytes, or a value (before or after ${...}
 * interpolation) longer than SPATE_CONFIG_MAX_VALUE, is an error. */
#define SPATE_CONFIG_MAX_FILE (1024 * 1024)
#define SPATE_CONFIG_MAX_VALUE (64 * 1024)

/* Load path (YAML). On success *out is a new config the caller frees with
 * spate_config_free(). On failure returns SPATE_ECONFIG (or SPATE_ESYS when
 * the file cannot be read) and writes "FILE:LINE: key: problem" into err. */
int spate_config_load(const char *path, struct spate_config **out, char *err,
                      size_t errlen);
/* Same, from a string; name is used in messages in place of the file. */
int spate_config_load_string(const char *yaml, const char *name,
                             struct spate_config **out, char *err, size_t errlen);
/* A config holding every default (no file). */
int spate_config_defaults(struct spate_config **out, char *err, size_t errlen);
void spate_config_free(struct spate_config *cfg);

/* Expand ${VAR} and ${VAR:-default} from the environment. Returns a new
 * string (caller frees) or NULL on malformed syntax / no memory, with a
 * message in err. A variable that is unset and has no default is an error.
 * A default may hold ${...} itself, up to 16 levels deep; the cost is linear
 * in the length of in (at most SPATE_CONFIG_MAX_VALUE, as is the result). */
char *spate_config_interpolate(const char *in, char *err, size_t errlen);

/* Narrow cfg to one pipeline: name NULL (or "users") keeps the top-level
 * topics, SQL and tables and drops the sources and sink mappings of the other
 * pipelines; another name takes that pipeline's topics (NAME.raw ...), SQL
 * folder, checkpoint folder (<checkpoints>/NAME), sink group (GROUP-NAME),
 * sources and mappings. Returns 0, or SPATE_ENOTFOUND with the known names in
 * err. */
int spate_config_select_pipeline(struct spate_config *cfg, const char *name, char *err,
                                 size_t errlen);
const struct spate_pipeline_config *spate_config_pipeline(const struct spate_config *cfg,
                                                          const char *name);

/* Keep every pipeline's sources and sink mappings in cfg (what one `spate run`
 * of all of them runs): the top-level topics, SQL and checkpoints stay the
 * users pipeline's, and each stage finds another pipeline's topics with
 * spate_config_topic_of() and its checkpoints with
 * spate_config_pipeline_checkpoint(). Sets cfg->all_pipelines. */
void spate_config_select_all(struct spate_config *cfg);

/* The pipeline whose topics a topic belongs to: the declared pipeline NAME of
 * a topic NAME.something, else NULL (the users one). */
const struct spate_pipeline_config *spate_config_topic_pipeline(const struct spate_config *cfg,
                                                                const char *topic);

/* The topic of kind ("raw", "clean", "stats", "dlq") of pipeline name (NULL or
 * "users": the top-level kafka.topic_<kind>) into out. 0, or SPATE_EINVAL for
 * an unknown kind. */
int spate_config_topic_of(const struct spate_config *cfg, const char *name, const char *kind,
                          char *out, size_t outlen);

/* The Spark checkpoint folder of pipeline name (NULL = users) as a
 * `spate --pipeline NAME` run uses it: <checkpoint root>/NAME. */
void spate_config_pipeline_checkpoint(const struct spate_config *cfg, const char *name,
                                      char *out, size_t outlen);

/* Find a source by name; NULL when absent. */
const struct spate_source_config *spate_config_source(const struct spate_config *cfg,
                                                      const char *name);

#endif
