-- SPDX-License-Identifier: Apache-2.0
-- clean.sql -- query `clean`: users.raw -> users.clean, rejects -> users.dlq.
--
-- @output_mode: update
-- @realtime: supported
-- @not_null: ingested_at, processed_at
--
-- One row in, one row out: a valid record becomes one flat JSON object on
-- the clean topic (keyed by user_id), an invalid or malformed one becomes a
-- DLQ envelope on the DLQ topic (keyed by the raw key) with the Kafka headers
-- spate.stage=process and spate.error=<rule>. Both go through the one Kafka
-- sink of this query, which routes each row by its `topic` column, so a
-- record can never reach both topics or neither.
--
-- The query is stateless (projection only), so it may run in real-time mode
-- (trigger realtime), which Spark 4.2 supports for stateless Kafka -> Kafka
-- queries in update output mode; see pipelines/users/README.md.
--
-- @not_null names the fields this SQL sets for every row by construction
-- (ingested_at falls back to the Kafka timestamp, processed_at is the clock);
-- with the `WHEN x IS NULL` rules of users_parsed, `spate check` knows which
-- fields can feed a key column of a mapped table.
--
-- Timestamps leave as ISO-8601 text in UTC with milliseconds and a Z
-- ("2026-11-25T15:37:20.123Z"); the driver pins spark.sql.session.timeZone
-- to UTC so date_format renders UTC.

SELECT
  CASE WHEN error IS NULL THEN '${spate.topic_clean}' ELSE '${spate.topic_dlq}' END AS topic,
  CASE WHEN error IS NULL THEN user_id ELSE raw_key END AS key,
  CASE WHEN error IS NULL THEN
    to_json(named_struct(
      'user_id',         user_id,
      'gender',          gender,
      'title',           title,
      'first_name',      first_name,
      'last_name',       last_name,
      'email',           email,
      'phone',           phone,
      'cell',            cell,
      'username',        username,
      'date_of_birth',   date_format(date_of_birth, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
      'age',             age,
      'registered_at',   date_format(registered_at, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
      'street_number',   street_number,
      'street_name',     street_name,
      'city',            city,
      'state',           state,
      'country',         country,
      'postcode',        postcode,
      'latitude',        latitude,
      'longitude',       longitude,
      'timezone_offset', timezone_offset,
      'nationality',     nationality,
      'picture_url',     picture_url,
      'ingested_at',     date_format(ingested_at, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
      'processed_at',    date_format(processed_at, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")),
      -- an absent value is written as null, not left out
      map('ignoreNullFields', 'false'))
  ELSE
    to_json(named_struct(
      'stage',  'process',
      'reason', error,
      'key',    raw_key,
      -- bytes that are not UTF-8 cannot be JSON text unchanged: they leave as
      -- "0x" + hex, the way the sink's DLQ writes such a value
      'raw',    CASE WHEN error = 'invalid_utf8'
                     THEN concat('0x', lower(hex(CAST(raw_value AS BINARY))))
                     ELSE raw_value END,
      'at',     date_format(processed_at, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")),
      map('ignoreNullFields', 'false'))
  END AS value,
  -- The raw record's headers travel on (spate.fetched_at, spate.source,
  -- spate.request_id), less any stage/error a producer may have set; a DLQ
  -- row gets this stage's own. spate.raw_at is the raw record's Kafka
  -- timestamp (epoch ms): with the clean record's own, the sink splits the
  -- end-to-end latency into its hops.
  CASE WHEN error IS NULL THEN
    concat(filter(headers, h -> h.key NOT IN ('spate.stage', 'spate.error', 'spate.raw_at')),
           array(named_struct('key', 'spate.raw_at',
                              'value', CAST(CAST(unix_millis(kafka_timestamp) AS STRING)
                                            AS BINARY))))
  ELSE
    concat(filter(headers, h -> h.key NOT IN ('spate.stage', 'spate.error')),
           array(named_struct('key', 'spate.stage', 'value', CAST('process' AS BINARY)),
                 named_struct('key', 'spate.error', 'value', CAST(error AS BINARY))))
  END AS headers
FROM users_parsed
