/* SPDX-License-Identifier: Apache-2.0 */
/* util.h -- clocks, bounded string copies and a growable byte buffer. */
#ifndef SPATE_UTIL_H
#define SPATE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds / microseconds on the monotonic clock (for durations). */
int64_t spate_mono_ms(void);
int64_t spate_mono_us(void);
/* Milliseconds since the Unix epoch (for timestamps that cross processes). */
int64_t spate_wall_ms(void);
/* Sleep; returns early (0) when a signal arrives. */
void spate_sleep_ms(int64_t ms);

/* strlcpy semantics: always NUL-terminates, returns strlen(src). */
size_t spate_strlcpy(char *dst, const char *src, size_t size);

/* Parse "250ms", "5s", "2m", "1h" or a bare number of ms into milliseconds.
 * Returns 0 or SPATE_EINVAL. */
int spate_parse_duration_ms(const char *s, int64_t *out_ms);

/* Value of a hex digit (either case), or -1. */
int spate_hexval(int c);
/* A UUID in its canonical 36-character form, or as 32 hex digits, into its
 * 16 bytes. 0 or SPATE_EINVAL. */
int spate_parse_uuid(const char *s, size_t len, uint8_t out[16]);
/* A record key as the pipeline identifies it: the users pipeline's Spark SQL
 * computes user_id = lower(regexp_replace(login.uuid, '^\\s+|\\s+$', ''))
 * (pipelines/users/users_parsed.view.sql), so " 123E4567-..." from the API and
 * "123e4567-..." in users.clean are one user. This is that function in C, for
 * whatever compares keys across stages (spate verify): blanks of Java's \s
 * class (space, \t, \n, \v, \f, \r) are cut at both ends and ASCII letters
 * lowered. Spark lowers other letters too, but no non-ASCII letter lowers to a
 * hex digit, so a key that differs only there never passes the UUID rule and
 * stays under its raw text on both sides of a comparison. Writes the result
 * (never longer than len, not NUL-terminated) to out, which must hold len
 * bytes and may be key itself; returns its length. */
size_t spate_key_normalize(const char *key, size_t len, char *out);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's civil-date algorithms, written from their description). */
int64_t spate_days_from_civil(int64_t y, unsigned m, unsigned d);
void spate_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Small deterministic PRNG (xorshift64*) so jitter is testable; a zero state
 * is seeded with a constant. */
uint64_t spate_rand64(uint64_t *state);
/* The one retry delay (ingest's requests, the sink's writes, the CQL
 * session's reconnects, spate run's restarts): for retry number `attempt`
 * (1 = first), the capped exponential base = min(max_ms, initial_ms *
 * 2^(attempt-1)), then "equal jitter" from rng: base/2 + uniform[0, base/2],
 * so delays stay within [base/2, base] and retries of many clients spread out.
 * rng NULL = no jitter (base itself). Never overflows. */
int64_t spate_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, uint64_t *rng);

/* 1 when a (alen bytes) equals b (blen bytes). The time taken does not depend
 * on where they differ nor on b's length (a secret such as a bearer token goes
 * in b): both are hashed with SHA-256 and the digests compared in constant time. */
int spate_secret_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Runs argv[0] (a path, or a name looked up in PATH) with argv, no shell in
 * between: nothing in the arguments is ever quoted or interpreted. Its
 * stdout (up to outlen - 1 bytes, NUL-terminated) goes into out, its stderr to
 * /dev/null. Returns the exit status (0..255), or -1 when it could not be run
 * or died of a signal. */
int spate_run_capture(const char *const argv[], char *out, size_t outlen);

/* Growable byte buffer. Owner frees with spate_buf_free(). */
struct spate_buf {
    char *data;
    size_t len;
    size_t cap;
};
int spate_buf_reserve(struct spate_buf *b, size_t extra);
int spate_buf_append(struct spate_buf *b, const void *data, size_t len);
int spate_buf_appendf(struct spate_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void spate_buf_reset(struct spate_buf *b);
void spate_buf_free(struct spate_buf *b);
/* The whole file at path, NUL-terminated (malloc'd; the caller frees), or
 * NULL when it cannot be opened. */
char *spate_read_file(const char *path);

#endif
