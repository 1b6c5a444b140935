/* SPDX-License-Identifier: Apache-2.0 */
/* ingest.h -- poll HTTP JSON APIs and produce their records to Kafka. */
#ifndef SPATE_INGEST_H
#define SPATE_INGEST_H

#include "spate/config.h"

#include <signal.h>
#include <stdint.h>

struct metrics_registry;

struct ingest_options {
    const char *source;       /* only this source; NULL = every source in the config */
    const char *const *sources; /* or only these nsources sources (with source NULL) */
    size_t nsources;
    double record_rate;       /* > 0: records/s per source; each source's batch becomes
                               * min(batch_size, record_rate / 10) and its request rate
                               * record_rate / batch (rate and batch then do not apply) */
    double rate;              /* requests/s override per source; < 0 = from config */
    int concurrency;          /* requests in flight override; 0 = from config */
    int batch;                /* records per request override; 0 = from config */
    int64_t max_records;      /* stop issuing requests once this many records were asked
                               * for (the last request is shortened); 0 = unbounded */
    int64_t duration_ms;      /* stop (as on SIGTERM) after this long; 0 = unbounded */
    const char *seed;         /* {seed} override; NULL = source's seed */
    int reset_state;          /* ignore a saved resume state and start from the start */
    const char *topic_raw;    /* override kafka.topic_raw; NULL = config */
    const char *topic_dlq;    /* override kafka.topic_dlq; NULL = config */
    int dlq_max_bytes;        /* raw bytes kept in a DLQ message; 0 = 65536 */
    /* Metrics go into this registry when not NULL (the caller serves it). */
    struct metrics_registry *metrics;
};

/* The counts of one source (summary->sources). */
struct ingest_source_summary {
    char name[64];
    char topic_raw[256]; /* where its records went */
    uint64_t fetched, produced, dlq;
};
#define INGEST_SUMMARY_SOURCES 32

struct ingest_summary {
    uint64_t requests;  /* HTTP requests completed (any outcome) */
    uint64_t fetched;   /* records found in good responses */
    uint64_t produced;  /* records acknowledged by Kafka in the raw topic */
    uint64_t dlq;       /* messages acknowledged in the DLQ topic */
    uint64_t retries;   /* requests retried */
    uint64_t failed;    /* messages Kafka did not acknowledge (reported, not lost silently) */
    uint64_t gave_up;   /* paginated sources that stopped at a position they could not
                         * fetch (retries exhausted, a 4xx, a body too large); the saved
                         * state resumes there */
    int64_t elapsed_ms;
    /* per source, in the config's order (the first INGEST_SUMMARY_SOURCES) */
    struct ingest_source_summary sources[INGEST_SUMMARY_SOURCES];
    size_t nsources;
};

/* Records of a source go to the raw and DLQ topics of its pipeline
 * (spate_config_topic_of with sources[].pipeline), unless topic_raw /
 * topic_dlq override them.
 * Run until every source is finished (end of pagination, max_records), the
 * duration passes or *stop becomes non-zero (set it from a signal handler).
 * Then stop polling, finish every in-flight request, wait for every delivery
 * report and save the resume state. If *stop reaches 2 while waiting for
 * delivery reports, the undelivered messages are purged and counted as
 * failed. The summary is filled in every case.
 * Returns 0; SPATE_ECONFIG (unknown source, bad settings, a max_record_bytes
 * Kafka would refuse); SPATE_EKAFKA (producer or topic set-up failed, or
 * deliveries failed); SPATE_EHTTP (a source gave up: summary->gave_up);
 * SPATE_ESYS. */
int ingest_run(const struct spate_config *cfg, const struct ingest_options *opts,
               volatile sig_atomic_t *stop, struct ingest_summary *summary);

#endif
