/* SPDX-License-Identifier: Apache-2.0 */
/* pipeline.h -- the record ledger behind `spate verify`: keys seen per stage. */
#ifndef SPATE_PIPELINE_H
#define SPATE_PIPELINE_H

#include "spate/config.h"

#include <jansson.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A multiset of string keys (record ids). Memory grows with the number of
 * distinct keys; nothing else is kept per key. */
struct keyset;

/* New empty set, or NULL when out of memory. Free with keyset_free(). */
struct keyset *keyset_new(void);
void keyset_free(struct keyset *ks);
/* Count one occurrence of key (len bytes, need not be NUL-terminated).
 * Returns the new count (1 on first sight) or a negative SPATE_E* code. */
int64_t keyset_add(struct keyset *ks, const void *key, size_t len);
/* Occurrences of key (0 when absent). */
int64_t keyset_count(const struct keyset *ks, const void *key, size_t len);
size_t keyset_distinct(const struct keyset *ks);
uint64_t keyset_total(const struct keyset *ks);
/* Keys seen more than once. */
size_t keyset_duplicated(const struct keyset *ks);
/* Calls fn for every distinct key; stops early when fn returns non-zero. */
void keyset_each(const struct keyset *ks,
                 int (*fn)(void *arg, const char *key, size_t len, int64_t count), void *arg);

/* One comparison of the ledger: every key of `from` must be in one of `to`
 * (e.g. raw -> clean or process DLQ). */
struct ledger_check {
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
void ledger_compare(const char *name, const struct keyset *from, const struct keyset *const *to,
                    size_t nto, struct ledger_check *out);


/* ---- scanning what the stages hold ---------------------------------------------- */

struct scan_record {
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
struct ledger;

/* New empty ledger; records fetched before since_ms (header spate.fetched_at)
 * are left out when since_ms > 0. NULL when out of memory. */
struct ledger *ledger_new(int64_t since_ms);
void ledger_free(struct ledger *l);
/* Feed one record of the raw, clean or DLQ topic, or one stored key.
 * 0 or SPATE_ENOMEM. */
int ledger_add_raw(struct ledger *l, const struct scan_record *r);
int ledger_add_clean(struct ledger *l, const struct scan_record *r);
int ledger_add_dlq(struct ledger *l, const struct scan_record *r);
int ledger_add_stored(struct ledger *l, const char *key, size_t len);

/* 1 when an ingest DLQ entry with this reason (header spate.error) stands for
 * one record of a response (record_too_large, record_without_key), 0 when it
 * stands for a whole response (not_json, no_records_path, http_*, ...). */
int ledger_ingest_reason_is_record(const char *reason);

struct ledger_report {
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
    struct ledger_check fetched; /* fetched -> raw + ingest DLQ (records) */
    struct ledger_check process; /* raw -> clean + process DLQ (keys) */
    struct ledger_check sink;    /* clean -> stored + sink DLQ (keys) */
    int ok;                      /* every check passed */
};

/* Runs the checks. expect_fetched < 0: ingest's fetched count is unknown and
 * the record count check is skipped. 0 or SPATE_ENOMEM. */
int ledger_evaluate(struct ledger *l, int64_t expect_fetched, struct ledger_report *out);

/* Reads topic from the beginning up to the high watermarks taken when the scan
 * starts, calling fn for each record. Returns 0 or a SPATE_E* code with the
 * reason in err. *records receives the number of records read. */
int scan_topic(const char *bootstrap, const struct spate_kvlist *props, const char *topic,
               int timeout_ms, void (*fn)(void *arg, const struct scan_record *r), void *arg,
               uint64_t *records, char *err, size_t errlen);

/* Adds the text form of column `column` of every row of keyspace.table into ks
 * (paged full scan). Returns 0 or a code with the reason in err. */
int scan_table_keys(const struct spate_config *cfg, const char *table, const char *column,
                    struct keyset *ks, char *err, size_t errlen);

/* Extracts a top-level string field of a JSON object (e.g. "user_id") into out.
 * Returns the length or -1 when absent or not a string/number. */
int json_top_field(const char *json, size_t len, const char *field, char *out, size_t outlen);

/* ---- running the stages -------------------------------------------------------- */

/* Creates the raw, clean, stats and DLQ topics that do not exist yet, with
 * kafka.partitions and kafka.replication_factor. Returns 0 or a code with the
 * reason in err. */
int pipeline_ensure_topics(const struct spate_config *cfg, char *err, size_t errlen);

/* For a stage that reads `topic` (the Spark job reads the raw topic): creates
 * the pipeline's topics that are missing, as pipeline_ensure_topics() does;
 * while Kafka does not answer, or the topic is missing and cannot be created,
 * logs one line naming what is missing (again only when the reason changes)
 * under comp and retries every 2 s. Returns 0 once the topic exists,
 * SPATE_ECANCELED when *stop becomes set (stop may be NULL), or another code
 * with the reason in err when no client can be made. */
int pipeline_await_topic(const struct spate_config *cfg, const char *topic, const char *comp,
                         volatile sig_atomic_t *stop, char *err, size_t errlen);

/* A supervised child process: one stage of the pipeline. */
struct stage_proc {
    char name[32];
    char **argv;        /* borrowed; argv[0] is the program */
    char log_path[512]; /* stdout+stderr go here */
    pid_t pid;          /* 0 = not running */
    int restarts;
    int finished;       /* exited 0 on its own: not restarted */
    int stopping;       /* we asked it to stop */
    int last_status;    /* wait status of the last exit */
    int64_t started_ms, next_start_ms;
};

/* Starts p (own process group; stdin from /dev/null). Returns 0 or a code. */
int stage_start(struct stage_proc *p);
/* Reaps p if it exited (non-blocking). Returns 1 when it just exited. */
int stage_reap(struct stage_proc *p);
/* SIGTERM, wait up to timeout_ms, then SIGKILL; by pid. Returns 0 when gone. */
int stage_stop(struct stage_proc *p, int timeout_ms);
/* Prints the last n lines of the stage's log to stderr. */
void stage_print_tail(const struct stage_proc *p, int n);

/* ---- spate run: the whole pipeline on this machine ------------------------------- */

enum pipeline_stage {
    PIPELINE_APISIM,
    PIPELINE_INGEST,
    PIPELINE_SPARK,
    PIPELINE_SINK,
    PIPELINE_SERVE,
    PIPELINE_NSTAGES
};
extern const char *const pipeline_stage_names[PIPELINE_NSTAGES];

struct pipeline_run_options {
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
struct pipeline_run_state {
    struct stage_proc st[PIPELINE_NSTAGES];
    int enabled[PIPELINE_NSTAGES];
    json_t *latest;          /* serve's last /api/pipeline "latest" sample, or NULL */
    const char *base_url;    /* serve's, for the dashboard and the API */
    int64_t started_ms;      /* pipeline_run was called (monotonic) */
    int64_t t0_ms;           /* the stages started (monotonic); 0 before */
    int64_t since_wall_ms;   /* the stages started (wall clock): the ledger's start */
    int64_t fetched, produced; /* ingest's counts after it stopped; -1 = unknown */
};
/* Called about once a second while the stages run and drain, and once with
 * final set after the sink stopped. */
typedef void (*pipeline_report_fn)(void *arg, const struct pipeline_run_state *s, int final);

/* Brings the stack up, applies the schema, creates the topics, starts serve,
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
int pipeline_run(const struct spate_config *cfg, const struct pipeline_run_options *o,
                 volatile sig_atomic_t *stop, pipeline_report_fn report, void *arg);

/* GET url and parse the JSON body (200 only, 0.9 s timeout); NULL otherwise. */
json_t *pipeline_get_json(const char *url);
/* The number k of a sample, NAN when absent. */
double pipeline_sample_num(const json_t *o, const char *k);

#endif
