/* SPDX-License-Identifier: Apache-2.0 */
/* sink.h -- Kafka topics into Cassandra tables (`spate sink`) and the schema (`spate schema`). */
#ifndef SPATE_SINK_H
#define SPATE_SINK_H

#include "spate/config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

struct metrics_registry;

struct sink_options {
    const char *group_id;      /* consumer group; NULL = sink.group_id */
    const char *keyspace;      /* tables without "ks." live here; NULL = cassandra.keyspace */
    const char *dlq_topic;     /* poison records go here; NULL = kafka.topic_dlq */
    const char *latency_field; /* field with the ingest time for the end-to-end latency
                                * histogram; NULL = "ingested_at", "" = none */
    int64_t max_records;       /* stop once this many records are done; 0 = no limit */
    int64_t duration_ms;       /* stop after this long; 0 = no limit */
    int64_t idle_exit_ms;      /* stop when nothing arrived for this long (counted from
                                * the start or the last record); 0 = never */
    int64_t drain_timeout_ms;  /* on stop, wait this long for in-flight writes; 0 = 60 s */
    int quiet;                 /* no periodic progress lines */
    /* Metrics go into this registry when not NULL (the caller serves it). */
    struct metrics_registry *metrics;
};

struct sink_summary {
    uint64_t records;   /* records done: every write acknowledged, or sent to the DLQ */
    uint64_t rows;      /* rows written (a record may feed several tables) */
    uint64_t dlq;       /* poison records acknowledged in the DLQ topic */
    uint64_t dropped;   /* poison records of the DLQ topic itself (left in Kafka) */
    uint64_t retries;   /* writes retried */
    uint64_t unfinished;/* records still pending at exit (redelivered on restart) */
    uint64_t pauses;    /* times consumption paused (backpressure or Cassandra down) */
    int64_t elapsed_ms;
    double cpu_s;       /* user + system CPU of the process */
    double p50_ms, p99_ms; /* end-to-end latency estimates (0 when not measured) */
};

/* Consume the topics of sink.mappings in the consumer group and upsert each
 * record into its tables until *stop is set (from a signal handler), a limit
 * of opts is reached, or a fatal error. Then stop consuming, finish in-flight
 * writes (up to drain_timeout_ms), commit what is acknowledged and close.
 * The summary is filled in every case. Returns 0; SPATE_ECONFIG for a mapping
 * that does not fit the tables (err names the mapping, column and problem);
 * SPATE_EKAFKA; or the cql code when Cassandra cannot be reached at start. */
int sink_run(const struct spate_config *cfg, const struct sink_options *opts,
             volatile sig_atomic_t *stop, struct sink_summary *summary, char *err,
             size_t errlen);

/* Whether a mapping's `from` expression can yield null, given the JSON fields
 * (paths as written in `from`, e.g. "location.city") the producing query
 * guarantees are never null. A null key column makes Cassandra refuse the row,
 * so `spate check` asks this for every key column of a mapped table. Returns 1
 * (why names the input that may be missing: "field 'nationality'", "header
 * 'x'", "the Kafka key"), 0 (never null) or SPATE_EPARSE (why says what is
 * wrong with the expression). */
int sink_from_nullable(const char *from, const char *const *not_null, size_t n, char *why,
                       size_t whylen);
/* The one rule for "can this column hold this mapping": whether a column of
 * CQL type column_type (as system_schema.columns writes it: "int",
 * "list<text>", "frozen<map<text, int>>") can hold what the `from` expression
 * yields, given the mapping's optional declared field type (NULL = none).
 * sink_run applies it at start; `spate check` asks it too, so the two agree.
 * Returns 0; SPATE_EPARSE (from or the type does not parse), SPATE_EUNSUPPORTED
 * (a type the sink cannot write), SPATE_EINVAL (an unknown declared type) or
 * SPATE_ETYPE; err says why. */
int sink_check_mapping(const char *from, const char *declared, const char *column_type,
                       char *err, size_t errlen);

struct sink_schema_options {
    const char *dir;      /* folder of *.cql files; NULL = search (see sink_schema_dir) */
    const char *keyspace; /* NULL = cassandra.keyspace */
    int dry_run;          /* print the statements instead of running them */
};

/* Finds the schema folder: $SPATE_SCHEMA_DIR, ./schema, or schema/ next to or
 * above the running binary. Writes it into buf; 0 or SPATE_ENOTFOUND. */
int sink_schema_dir(char *buf, size_t size);

/* Runs every statement of the .cql files of dir (in file name order) with ${keyspace}
 * and ${replication} substituted from the config. Statements use IF NOT
 * EXISTS, so re-running is safe. Prints one line per object to report
 * ("created table spate.users" / "exists  table spate.users"). Returns 0 or a
 * code with the failing statement and the server's message in err. */
int sink_schema_apply(const struct spate_config *cfg, const struct sink_schema_options *opts,
                      FILE *report, char *err, size_t errlen);

#endif
