-- SPDX-License-Identifier: Apache-2.0
-- stats.sql -- query `stats`: signups per minute by nationality and gender.
--
-- @output_mode: update
-- @realtime: unsupported (streaming aggregation is stateful; Spark 4.2 runs
--            only stateless queries in real-time mode)
-- @input: clean
-- @trigger: processingTime:10s
-- @conf: spark.sql.shuffle.partitions=1
-- @not_null: window_start, window_end, signups
-- @dedupe: users_clean_fields(user_id)
--
-- It reads users.clean, not users.raw: the records there are valid, flat and
-- typed already, so this query parses four short fields instead of running
-- the whole validation a second time, and it counts exactly the records the
-- `clean` query passed. A 10 s trigger, because a per-minute count needs no
-- sub-second freshness and every micro-batch costs the same planning, state
-- store and commit work whatever it holds (back to back, they kept a core
-- busy on a quiet pipeline). One shuffle partition: the groups are a few
-- hundred (window x nationality x gender) and each task is fixed overhead.
--
-- 1-minute tumbling windows over event time = ingested_at (the fetch time
-- ingest stamped), averaging the age.
--
-- Each user counts once. users.clean holds copies: a user the API serves
-- twice, and records the clean query writes again after a restart (its Kafka
-- sink is at-least-once). @dedupe keeps the first record of each user_id and
-- drops the copies that arrive within the watermark of it (Spark's
-- dropDuplicatesWithinWatermark: one state entry per user, forgotten once the
-- watermark passes its ingested_at + the delay). A replay carries the
-- ingested_at of the first copy, so it is either matched there or already
-- behind the watermark, where the window would not count it anyway; an API
-- repeat fetched more than the delay after the first copy counts again.
--
-- The watermark (${spate.watermark}, spark.watermark in spate.yaml) bounds
-- the state: a window is finalised and forgotten once the watermark passes
-- its end, and a record arriving later than that is not counted here (it is
-- still in users.clean). In update mode every micro-batch emits the windows
-- it changed, with their running totals; the Kafka key is
-- "<window_start>|<nationality>|<gender>", so the sink's upsert by
-- (window_start, nationality, gender) keeps the latest total and a replay
-- after a restart converges to the same row.

CREATE OR REPLACE TEMPORARY VIEW users_clean_typed AS
SELECT
  c.user_id,
  c.nationality,
  c.gender,
  c.age,
  try_cast(c.ingested_at AS TIMESTAMP) AS ingested_at
FROM (
  SELECT from_json(CAST(value AS STRING),
                   'user_id STRING, nationality STRING, gender STRING, age INT,
                    ingested_at STRING') AS c
  FROM users_clean
);

CREATE OR REPLACE TEMPORARY VIEW users_clean_fields AS
SELECT * FROM users_clean_typed WATERMARK ingested_at DELAY OF INTERVAL ${spate.watermark}
WHERE ingested_at IS NOT NULL;

SELECT
  '${spate.topic_stats}' AS topic,
  concat_ws('|', window_start, coalesce(nationality, ''), coalesce(gender, '')) AS key,
  to_json(named_struct(
    'window_start', window_start,
    'window_end',   window_end,
    'nationality',  nationality,
    'gender',       gender,
    'signups',      signups,
    'avg_age',      avg_age),
    map('ignoreNullFields', 'false')) AS value
FROM (
  SELECT
    date_format(window.start, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'") AS window_start,
    date_format(window.end,   "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'") AS window_end,
    nationality,
    gender,
    signups,
    avg_age
  FROM (
    SELECT
      window(ingested_at, '1 minute') AS window,
      nationality,
      gender,
      count(*) AS signups,
      -- rounded so the JSON stays short; NULL when no record had an age
      round(avg(age), 2) AS avg_age
    FROM users_clean_fields
    GROUP BY window(ingested_at, '1 minute'), nationality, gender
  )
)
