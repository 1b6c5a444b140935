-- SPDX-License-Identifier: Apache-2.0
-- users_parsed.view.sql -- the users.raw records, flattened, typed and validated.
--
-- A *.view.sql file defines temporary views that the query files build on;
-- spark/spate_job.py runs it once per query, right after it has registered
-- the Kafka source of that query as the view `users_raw` (columns: key, value,
-- topic, partition, offset, timestamp, timestampType, headers).
--
-- Nothing here may fail the query: every cast is a try_cast, every lookup a
-- try_element_at, so a hostile record becomes a row with `error` set (and
-- goes to the DLQ) instead of an exception (Spark 4 runs with ANSI SQL on).
--
-- The result has one row per raw record -- never fewer, never more -- which is
-- what makes "raw = clean + process DLQ" hold: each row has either
-- error IS NULL (a clean user) or error = the first rule it broke.
-- ${spate.*} names are filled in by Spark's variable substitution from the
-- session conf the driver sets (spate.topic_clean, spate.topic_dlq, ...).

CREATE OR REPLACE TEMPORARY VIEW users_source AS
SELECT
  CAST(key AS STRING)   AS raw_key,
  CAST(value AS STRING) AS raw_value,
  headers,
  timestamp             AS kafka_timestamp,
  -- spate ingest stamps each record with the time it fetched it (epoch ms,
  -- decimal text). The last occurrence wins should a producer repeat it.
  try_cast(CAST(try_element_at(
      filter(headers, h -> h.key = 'spate.fetched_at'), -1).value AS STRING) AS BIGINT)
                        AS fetched_at_ms
FROM users_raw;

CREATE OR REPLACE TEMPORARY VIEW users_json AS
SELECT
  *,
  -- NULL unless the value is one JSON object: catches truncated text, bare
  -- scalars, arrays, empty and tombstone (NULL) values alike. Spark's parser
  -- stops after the first complete value, so text after the closing brace is
  -- caught by the second test.
  coalesce(json_object_keys(raw_value) IS NOT NULL
           AND raw_value RLIKE '\\}\\s*$', false) AS is_object,
  -- Text Spark cannot carry unchanged: bytes that are not UTF-8 (they would be
  -- read as U+FFFD) and a \uD800-\uDFFF escape that is not one half of a pair
  -- (decoded to a lone UTF-16 surrogate, which the UTF-8 encoder writes as '?').
  -- Either would store a name altered without a trace, so such a record is
  -- rejected with its bytes (see the rules below). The escape is looked for
  -- only in values that hold a \u at all; "\\ud800" (an escaped backslash)
  -- is text, not an escape.
  is_valid_utf8(raw_value) AS is_utf8,
  CASE WHEN instr(raw_value, '\\u') > 0
       THEN raw_value RLIKE '(?i)(?<!\\\\)(?:\\\\\\\\)*\\\\u(?:d[89ab][0-9a-f]{2}(?!\\\\ud[c-f][0-9a-f]{2})|(?<!\\\\ud[89ab][0-9a-f]{2}\\\\u)d[c-f][0-9a-f]{2})'
       ELSE false END AS has_lone_surrogate,
  -- Every leaf is read as STRING: Spark keeps the JSON text of a number in
  -- a STRING field, so postcode 63104 and "63104" both arrive as '63104', and
  -- a wrong type in one field cannot null the whole record. Typing happens
  -- below with try_cast, where a failure is visible per column.
  from_json(raw_value,
    'gender STRING,
     name STRUCT<title: STRING, first: STRING, last: STRING>,
     location STRUCT<
        street: STRUCT<number: STRING, name: STRING>,
        city: STRING, state: STRING, country: STRING, postcode: STRING,
        coordinates: STRUCT<latitude: STRING, longitude: STRING>,
        timezone: STRUCT<offset: STRING, description: STRING>>,
     email STRING,
     login STRUCT<uuid: STRING, username: STRING>,
     dob STRUCT<date: STRING, age: STRING>,
     registered STRUCT<date: STRING, age: STRING>,
     phone STRING,
     cell STRING,
     picture STRUCT<large: STRING, medium: STRING, thumbnail: STRING>,
     nat STRING') AS r
FROM users_source;

CREATE OR REPLACE TEMPORARY VIEW users_typed AS
-- Text is trimmed of blanks, tabs and line breaks at both ends
-- (regexp_replace, because Spark's trim() removes spaces only).
SELECT
  raw_key,
  raw_value,
  headers,
  kafka_timestamp,
  is_object,
  is_utf8,
  has_lone_surrogate,
  lower(regexp_replace(r.login.uuid, '^\\s+|\\s+$', ''))                         AS user_id,
  lower(regexp_replace(r.gender, '^\\s+|\\s+$', ''))                             AS gender,
  regexp_replace(r.name.title, '^\\s+|\\s+$', '')                                AS title,
  regexp_replace(r.name.first, '^\\s+|\\s+$', '')                                AS first_name,
  regexp_replace(r.name.last, '^\\s+|\\s+$', '')                                 AS last_name,
  lower(regexp_replace(r.email, '^\\s+|\\s+$', ''))                              AS email,
  r.phone                                           AS phone,
  r.cell                                            AS cell,
  r.login.username                                  AS username,
  try_cast(r.dob.date AS TIMESTAMP)                 AS date_of_birth,
  try_cast(r.dob.age AS INT)                        AS age,
  try_cast(r.registered.date AS TIMESTAMP)          AS registered_at,
  try_cast(r.location.street.number AS INT)         AS street_number,
  r.location.street.name                            AS street_name,
  r.location.city                                   AS city,
  r.location.state                                  AS state,
  r.location.country                                AS country,
  regexp_replace(r.location.postcode, '^\\s+|\\s+$', '')                         AS postcode,
  try_cast(r.location.coordinates.latitude AS DOUBLE)  AS latitude,
  try_cast(r.location.coordinates.longitude AS DOUBLE) AS longitude,
  regexp_replace(r.location.timezone.offset, '^\\s+|\\s+$', '')                  AS timezone_offset,
  upper(regexp_replace(r.nat, '^\\s+|\\s+$', ''))                                AS nationality,
  r.picture.large                                   AS picture_url,
  -- Event time of the record: when ingest fetched it. A record from another
  -- producer (no header, or a value that is not a plausible epoch-ms) falls
  -- back to the Kafka record timestamp, so it still lands in a window.
  CASE WHEN fetched_at_ms BETWEEN 0 AND 253402300799999
       THEN timestamp_millis(fetched_at_ms)
       ELSE kafka_timestamp END                     AS ingested_at,
  -- Wall clock per row. current_timestamp() is fixed per batch, and a
  -- real-time batch lasts minutes, so it would be wrong there.
  timestamp_millis(CAST(reflect('java.lang.System', 'currentTimeMillis') AS BIGINT))
                                                    AS processed_at
FROM users_json;

-- The validation rules, in the order they are checked; `error` names the
-- first one a record breaks (also sent as the Kafka header spate.error).
CREATE OR REPLACE TEMPORARY VIEW users_parsed AS
SELECT
  *,
  CASE
    -- not one JSON object (truncated, not JSON at all, array, empty, null)
    WHEN NOT is_object THEN 'malformed_json'
    -- bytes that are not UTF-8, anywhere in the record
    WHEN NOT is_utf8 THEN 'invalid_utf8'
    -- a \uD800-\uDFFF escape without its other half, anywhere in the record
    WHEN has_lone_surrogate THEN 'lone_surrogate'
    -- login.uuid must be an RFC 4122 textual UUID (any version)
    WHEN user_id IS NULL
      OR NOT user_id RLIKE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      THEN 'invalid_uuid'
    -- first and last name present and not blank
    WHEN first_name IS NULL OR first_name = '' OR last_name IS NULL OR last_name = ''
      THEN 'empty_name'
    -- local@domain.tld, no blanks, exactly one @
    WHEN email IS NULL
      OR NOT email RLIKE '^[^@\\s]+@[^@\\s.]+(\\.[^@\\s.]+)+$'
      THEN 'invalid_email'
    -- the genders randomuser.me produces
    WHEN gender IS NULL OR gender NOT IN ('male', 'female') THEN 'unknown_gender'
    -- nationality is in the key of users_by_nationality: a record without one
    -- passed here and was then refused by the sink for both tables
    WHEN nationality IS NULL OR nationality = '' THEN 'missing_nationality'
    -- dob.date present and a timestamp ...
    WHEN date_of_birth IS NULL THEN 'invalid_birth_date'
    -- ... strictly before the record was fetched
    WHEN date_of_birth >= ingested_at THEN 'birth_date_in_future'
    -- latitude/longitude present and numeric ...
    WHEN latitude IS NULL OR longitude IS NULL
      OR isnan(latitude) OR isnan(longitude) THEN 'invalid_coordinates'
    -- ... and on the globe
    WHEN latitude NOT BETWEEN -90 AND 90 OR longitude NOT BETWEEN -180 AND 180
      THEN 'coordinates_out_of_range'
    ELSE NULL
  END AS error
FROM users_typed;
