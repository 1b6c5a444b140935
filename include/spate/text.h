/* SPDX-License-Identifier: Apache-2.0 */
/* text.h -- small text helpers every module shares: digits, ISO-8601 times, JSON strings. */
#ifndef SPATE_TEXT_H
#define SPATE_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct spate_buf;

/* Exactly n decimal digits at s (which must hold n bytes) into *out. 0 or -1. */
int spate_digits(const char *s, int n, int *out);
/* Whether s[0..len) is an optional '-' and then one or more decimal digits. */
int spate_all_digits(const char *s, size_t len);
/* Days in month m (1..12) of proleptic Gregorian year y. */
int spate_days_in_month(int64_t y, int m);

/* A calendar date [+-]YYYY-MM-DD at s[0..len) (a year of 4 to 9 digits, the
 * day checked against its month: 2024-02-30 is refused) into days since
 * 1970-01-01. *used (may be NULL) gets the bytes read. 0 or SPATE_EINVAL. */
int spate_parse_date(const char *s, size_t len, int64_t *days, size_t *used);
/* A time of day HH:MM[:SS[(.|,)fraction]] at s[0..len) into nanoseconds since
 * midnight (digits past the ninth are ignored), as CQL's time type holds it.
 * *used (may be NULL) gets the bytes read. 0 or SPATE_EINVAL. */
int spate_parse_time_of_day(const char *s, size_t len, int64_t *ns, size_t *used);

/* What spate_parse_iso8601 found besides the instant. */
enum {
    SPATE_ISO_TIME = 1, /* a time of day was given (else midnight) */
    SPATE_ISO_ZONE = 2, /* Z or an offset was given (else UTC assumed) */
};
/* The one ISO-8601 timestamp reader (CQL literals, the sink's fields, serve's
 * query parameters): a date, then optionally [T|t|space] and a time of day,
 * (a second of 60 is a leap second, counted as the next minute's first),
 * then optionally blanks and Z or +-HH[[:]MM] (up to 18 hours, as Java's
 * ZoneOffset). The whole of s[0..len) must be used. *ms gets milliseconds
 * since the epoch, *flags (may be NULL) SPATE_ISO_* bits, for a caller that
 * must refuse a time without a zone. 0 or SPATE_EINVAL. */
int spate_parse_iso8601(const char *s, size_t len, int64_t *ms, int *flags);

/* Appends s[0..len) to out as a JSON string, quotes included: '"' and '\\'
 * escaped, \n \r \t by name, other control bytes as \u00XX, the rest (UTF-8
 * too) as it is. 0 or the buffer's out-of-memory code. */
int spate_json_escape(struct spate_buf *out, const char *s, size_t len);

#endif
