/* SPDX-License-Identifier: Apache-2.0 */
/* flow.h -- the pipeline's flow: the verify ledger, topics, supervised stages, `spate run`. */
#ifndef SPATE_FLOW_H
#define SPATE_FLOW_H

#include "spate/config.h"

#include <jansson.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A multiset of string keys (record ids). Memory grows with the number of
 * distinct keys; nothing else is kept per key. */
struct flow_keyset;

/* New empty set, or NULL when out of memory. Free with flow_keyset_free(). */
struct flow_keyset *flow_keyset_new(void);
void flow_keyset_free(struct flow_keyset *ks);
/* Count one occurrence of key (len bytes, need not be NUL-terminated).
 * Returns the new count (1 on first sight) or a negative SPATE_E* code. */
int64_t flow_keyset_add(struct flow_keyset *ks, const void *key, size_t len);
/* Occurrences of key (0 when absent). */
int64_t flow_keyset_count(const struct flow_keyset *ks, const void *key, size_t len);
size_t flow_keyset_distinct(const struct flow_keyset *ks);
uint64_t flow_keyset_total(const struct flow_keyset *ks);
/* Keys seen more than once. */
size_t flow_keyset_duplicated(const struct flow_keyset *ks);
/* Calls fn for every distinct key; stops early when fn returns non-zero. */
void flow_keyset_each(const struct flow_keyset *ks,
                 int (*fn)(void *arg, const char *key, size_t len, int64_t count), void *arg);

/* One comparison of the ledger: every key of `from` must be in one of `to`
 * (e.g. raw -> clean or process DLQ). */
struct flow_ledger_check {
    const char *name;   /* "process" */
    const char *stage;  /* the stage a failure of this check points at, or NULL */
    uint64_t expected;  /* distinct keys of from */
    uint64_t found;     /* of those, found in a target */
    uint64_t missing;   /* lost at this stage */
    uint64_t surplus;   /* more than expected (a count check only): duplicated */
    char examples[5][64]; /* up to 5 missing (or duplicated) keys, for the report */
    size_t example_count;
};

/* Compare: every key of from must occur in at least one of the targets. */
void flow_ledger_compare(const char *name, const struct flow_keyset *from, const struct flow_keyset *const *to,
                    size_t nto, struct flow_ledger_check *out);


/* ---- scanning what the stages hold ---------------------------------------------- */

struct flow_scan_record {
    const char *key; /* Kafka key, may be NULL */
    size_t key_len;
    const char *value;
    size_t value_len;
    const char *stage; /* header spate.stage, NUL-terminated, or NULL */
    const char *error; /* header spate.error (a DLQ reason), NUL-terminated, or NULL */
    const char *request_id; /* header spate.request_id: one per HTTP response, or NULL */
    int64_t fetched_at; /* header spate.fetched_at (ms), or -1 */
};

/* ---- the ledger: what every stage holds, per key identity ------------------------
 *
 * Keys are compared after spate_key_normalize() (the normalisation Spark applies
 * to user_id), so an upper-case or blank-padded key the API served and its clean
 * form are one identity. The ledger counts:
 *   - records: ingest's fetched count (what the API served in the responses it
 *     accepted) = records in the raw topic + ingest's per-record DLQ entries.
 *     A key the API serves twice is two records here and two in raw: the API's
 *     repeat, accounted for, not an ingest duplicate. A whole response ingest
 *     rejected (not JSON, no records path, an HTTP error) is one DLQ entry and
 *     holds no counted record, so it is reported apart.
 *   - keys: every raw key reaches users.clean or the process DLQ; every clean key
 *     (of a raw record in range) reaches the table or the sink DLQ. */
struct flow_ledger;

/* New empty ledger; records fetched before since_ms (header spate.fetched_at)
 * are left out when since_ms > 0. NULL when out of memory. */
struct flow_ledger *flow_ledger_new(int64_t since_ms);
void flow_ledger_free(struct flow_ledger *l);
/* Feed one record of the raw, clean or DLQ topic, or one stored key.
 * 0 or SPATE_ENOMEM. */
int flow_ledger_add_raw(struct flow_ledger *l, const struct flow_scan_record *r);
int flow_ledger_add_clean(struct flow_ledger *l, const struct flow_scan_record *r);
int flow_ledger_add_dlq(struct flow_ledger *l, const struct flow_scan_record *r);
int flow_ledger_add_stored(struct flow_ledger *l, const char *key, size_t len);

/* 1 when an ingest DLQ entry with this reason (header spate.error) stands for
 * one record of a response (record_too_large, record_without_key), 0 when it
 * stands for a whole response (not_json, no_records_path, http_*, ...). */
int flow_ledger_ingest_reason_is_record(const char *reason);

struct flow_ledger_report {
    uint64_t raw_records, raw_keys, raw_skipped;
    uint64_t api_repeated_keys;         /* keys the API served more than once */
    uint64_t api_repeated_in_response;  /* of those, repeated within one response */
    char repeated_examples[5][64];
    size_t repeated_example_count;
    uint64_t clean_records, clean_keys, clean_replayed_keys;
    uint64_t dlq_ingest_records;   /* one record of a response each */
    uint64_t dlq_ingest_responses; /* one whole response each */
    uint64_t dlq_process_records, dlq_process_keys;
    uint64_t dlq_sink_records, dlq_sink_keys;
    uint64_t dlq_other_records;
    uint64_t stored_keys;
    int have_fetched;
    struct flow_ledger_check fetched; /* fetched -> raw + ingest DLQ (records) */
    struct flow_ledger_check process; /* raw -> clean + process DLQ (keys) */
    struct flow_ledger_check sink;    /* clean -> stored + sink DLQ (keys) */
    int ok;                      /* every check passed */
};

/* Runs the checks. expect_fetched < 0: ingest's fetched count is unknown and
 * the record count check is skipped. 0 or SPATE_ENOMEM. */
int flow_ledger_evaluate(struct flow_ledger *l, int64_t expect_fetched, struct flow_ledger_report *out);

/* Reads topic from the beginning up to the high watermarks taken when the scan
 * starts, calling fn for each record. Returns 0 or a SPATE_E* code with the
 * reason in err. *records receives the number of records read. */
int flow_scan_topic(const char *bootstrap, const struct spate_kvlist *props, const char *topic,
               int timeout_ms, void (*fn)(void *arg, const struct flow_scan_record *r), void *arg,
               uint64_t *records, char *err, size_t errlen);

/* Adds the text form of column `column` of every row of keyspace.table into ks
 * (paged full scan). Returns 0 or a code with the reason in err. */
int flow_scan_table_keys(const struct spate_config *cfg, const char *table, const char *column,
                    struct flow_keyset *ks, char *err, size_t errlen);

/* Extracts a top-level string field of a JSON object (e.g. "user_id") into out.
 * Returns the length or -1 when absent or not a string/number. */
int flow_json_top_field(const char *json, size_t len, const char *field, char *out, size_t outlen);

/* ---- what the SQL guarantees ---------------------------------------------------- */

/* Output fields a query's SQL sets in every row it writes, so a sink mapping
 * may feed a key column from them (`spate check`). */
#define FLOW_SQL_GUARANTEES_MAX 64
struct flow_sql_guarantees {
    char names[FLOW_SQL_GUARANTEES_MAX][48];
    const char *ptrs[FLOW_SQL_GUARANTEES_MAX]; /* names[i], for sink_from_nullable() */
    size_t n;
};

/* Adds the fields the validation rules of a view file guarantee: a clean row
 * has `error` NULL, so for each WHEN of the CASE ... END AS error, a top-level
 * OR term that is exactly `name IS NULL` guarantees name. Blanks the `--`
 * comments of sql in place. */
void flow_sql_guarantees_rules(struct flow_sql_guarantees *g, char *sql);
/* Adds the fields of `-- @not_null: a, b` lines (values set by construction). */
void flow_sql_guarantees_declared(struct flow_sql_guarantees *g, const char *sql);
/* The fields guaranteed in topic's records: for kafka.topic_clean the rules of
 * spark.sql_dir's *.view.sql plus clean.sql's @not_null, for kafka.topic_stats
 * stats.sql's @not_null, for any other topic none. Unreadable files add nothing. */
void flow_sql_guarantees_of(const struct spate_config *cfg, const char *topic,
                             struct flow_sql_guarantees *g);

/* ---- running the stages -------------------------------------------------------- */

/* Creates the raw, clean, stats and DLQ topics that do not exist yet, with
 * kafka.partitions and kafka.replication_factor. Returns 0 or a code with the
 * reason in err. */
int flow_ensure_topics(const struct spate_config *cfg, char *err, size_t errlen);

/* For a stage that reads `topic` (the Spark job reads the raw topic): creates
 * the pipeline's topics that are missing, as flow_ensure_topics() does;
 * while Kafka does not answer, or the topic is missing and cannot be created,
 * logs one line naming what is missing (again only when the reason changes)
 * under comp and retries every 2 s. Returns 0 once the topic exists,
 * SPATE_ECANCELED when *stop becomes set (stop may be NULL), or another code
 * with the reason in err when no client can be made. */
int flow_await_topic(const struct spate_config *cfg, const char *topic, const char *comp,
                         volatile sig_atomic_t *stop, char *err, size_t errlen);

/* A supervised child process: one stage of the pipeline. */
struct flow_stage {
    char name[32];
    char **argv;        /* borrowed; argv[0] is the program */
    char log_path[512]; /* stdout+stderr go here */
    pid_t pid;          /* 0 = not running */
    int restarts;       /* all restarts, for the view */
    int quick_deaths;   /* deaths in a row, each soon after its start: the backoff */
    int finished;       /* exited 0 on its own: not restarted */
    int stopping;       /* we asked it to stop */
    int last_status;    /* wait status of the last exit */
    int64_t started_ms, next_start_ms;
};

/* Starts p (own process group; stdin from /dev/null). Returns 0 or a code. */
int flow_stage_start(struct flow_stage *p);
/* Reaps p if it exited (non-blocking). Returns 1 when it just exited. */
int flow_stage_reap(struct flow_stage *p);
/* SIGTERM, wait up to timeout_ms, then SIGKILL; by pid. Returns 0 when gone. */
int flow_stage_stop(struct flow_stage *p, int timeout_ms);
/* How long to wait before restarting p, which just died at now_ms: 1 s, doubling
 * with each death in a row up to 30 s. A stage that ran FLOW_STAGE_HEALTHY_MS before
 * it died starts over at 1 s: a fault an hour after the last one is a new fault, not
 * the sixth of a crash loop. */
#define FLOW_STAGE_HEALTHY_MS 60000
int64_t flow_stage_backoff_ms(struct flow_stage *p, int64_t now_ms);
/* Prints the last n lines of the stage's log to stderr. */
void flow_stage_print_tail(const struct flow_stage *p, int n);

/* ---- spate run: the whole pipeline on this machine ------------------------------- */

enum flow_stage_id {
    FLOW_APISIM,
    FLOW_INGEST,
    FLOW_SPARK,
    FLOW_SINK,
    FLOW_SERVE,
    FLOW_NSTAGES
};
extern const char *const flow_stage_names[FLOW_NSTAGES];

struct flow_run_options {
    const char *exe;         /* the spate binary the stages run */
    const char *config_path; /* passed to each stage as -c PATH; NULL = none */
    const char *source;      /* a source of the config; NULL = the built-in api-sim */
    const char *run_dir;     /* the stages' logs and ingest's summary go here */
    double rate;             /* records per second to fetch */
    int64_t for_ms;          /* stop after this long; 0 = when *stop is set */
    int64_t drain_ms;        /* how long Spark and the sink may make no progress
                              * while they catch up at the end */
    int keep_stack;          /* leave Kafka and Cassandra running */
};

/* What a report sees: borrowed, valid during the call. */
struct flow_run_state {
    struct flow_stage st[FLOW_NSTAGES];
    int enabled[FLOW_NSTAGES];
    json_t *latest;          /* serve's last /api/pipeline "latest" sample, or NULL */
    json_t *pipelines;       /* its "pipelines" object (name -> {"latest": sample}), or NULL */
    const char *base_url;    /* serve's, for the dashboard and the API */
    int64_t started_ms;      /* flow_run was called (monotonic) */
    int64_t t0_ms;           /* the stages started (monotonic); 0 before */
    int64_t since_wall_ms;   /* the stages started (wall clock): the ledger's start */
    int64_t fetched, produced; /* ingest's counts after it stopped; -1 = unknown */
};
/* Called about once a second while the stages run and drain, and once with
 * final set after the sink stopped. */
typedef void (*flow_report_fn)(void *arg, const struct flow_run_state *s, int final);

/* With cfg->all_pipelines, every pipeline of the config runs: one ingest
 * process polls the users pipeline's source (o->source or api-sim) and the
 * first source of each other pipeline, each into its pipeline's topics; one
 * Spark job and one sink serve them all. The drain waits for each, the ledger
 * is verified for each, and a pipeline whose source produced no record fails
 * the run, naming the source and its URL.
 * Brings the stack up, applies the schema, creates the topics, starts serve,
 * the sink, the Spark job, api-sim and ingest as supervised children (a stage
 * that dies is reported with its last log lines and restarted with backoff),
 * reports until *stop is set or for_ms passed, then stops the sources, lets
 * Spark and the sink drain, stops them, runs `spate verify` on this run's
 * records and takes the stack down unless keep_stack. A second *stop (a
 * second Ctrl-C) cuts the drain short. Returns 0 when the ledger verified;
 * SPATE_ECONFIG (no such source), SPATE_EUNAVAILABLE (the stack), SPATE_ESERVER
 * (the schema), SPATE_EKAFKA (the topics), SPATE_ESYS (a stage could not start)
 * or SPATE_ESTATE (the ledger found a loss or a duplicate). Prints its steps
 * to stdout and stderr, as a command would. */
int flow_run(const struct spate_config *cfg, const struct flow_run_options *o,
                 volatile sig_atomic_t *stop, flow_report_fn report, void *arg);

/* GET url and parse the JSON body (200 only, 0.9 s timeout); NULL otherwise. */
json_t *flow_get_json(const char *url);
/* The number k of a sample, NAN when absent. */
double flow_sample_num(const json_t *o, const char *k);

#endif
