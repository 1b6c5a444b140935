# SPDX-License-Identifier: Apache-2.0
"""Query stats: window assignment, grouping, average age, key shape."""
import json

from conftest import TOPICS, raw_frame, user

# 2025-11-25T15:37:00.000Z
MINUTE = 1764085020000


def run_stats(spark, pipeline, records, fetched):
    """Query stats reads users.clean: feed it what query clean writes there."""
    clean = pipeline.frame(spark, "clean", raw_frame(spark, records, fetched_at_ms=fetched))
    clean = clean.where(f"topic = '{TOPICS['clean']}'").selectExpr(
        "CAST(key AS BINARY) AS key", "CAST(value AS BINARY) AS value", "topic",
        "0 AS partition", "CAST(0 AS BIGINT) AS offset", "current_timestamp() AS timestamp",
        "0 AS timestampType", "headers")
    df = pipeline.frame(spark, "stats", clean)
    return {r["key"]: (r["topic"], json.loads(r["value"])) for r in df.collect()}


def uid(i):
    return f"00000000-0000-4000-8000-{i:012d}"


def test_window_assignment_and_bounds(spark, pipeline):
    recs = [user(login__uuid=uid(1)), user(login__uuid=uid(2)), user(login__uuid=uid(3)),
            user(login__uuid=uid(4))]
    # first ms of the minute, last ms of the minute, first ms of the next one
    fetched = [MINUTE, MINUTE + 59999, MINUTE + 60000, MINUTE - 1]
    out = run_stats(spark, pipeline, recs, fetched)
    k0 = "2025-11-25T15:37:00.000Z|US|female"
    k1 = "2025-11-25T15:38:00.000Z|US|female"
    km = "2025-11-25T15:36:00.000Z|US|female"
    assert set(out) == {k0, k1, km}
    topic, v = out[k0]
    assert topic == "t.stats"
    assert v == {"window_start": "2025-11-25T15:37:00.000Z",
                 "window_end": "2025-11-25T15:38:00.000Z",
                 "nationality": "US", "gender": "female", "signups": 2, "avg_age": 30.0}
    assert out[k1][1]["signups"] == 1
    assert out[km][1]["window_end"] == "2025-11-25T15:37:00.000Z"


def test_grouping_by_nationality_and_gender_with_average_age(spark, pipeline):
    recs = [
        user(login__uuid=uid(1), nat="FR", gender="male", dob__age=20),
        user(login__uuid=uid(2), nat="FR", gender="male", dob__age=31),
        user(login__uuid=uid(3), nat="FR", gender="female", dob__age=40),
        user(login__uuid=uid(4), nat="DE", gender="male", dob__age="55"),
    ]
    out = run_stats(spark, pipeline, recs, MINUTE + 5)
    w = "2025-11-25T15:37:00.000Z"
    assert out[f"{w}|FR|male"][1]["signups"] == 2
    assert out[f"{w}|FR|male"][1]["avg_age"] == 25.5
    assert out[f"{w}|FR|female"][1]["signups"] == 1
    assert out[f"{w}|DE|male"][1]["avg_age"] == 55.0
    assert len(out) == 3


def test_only_valid_records_are_counted(spark, pipeline):
    recs = [user(login__uuid=uid(1)), user(login__uuid=uid(2), email="bad"),
            ("k", "garbage")]
    out = run_stats(spark, pipeline, recs, MINUTE)
    assert list(out.values())[0][1]["signups"] == 1
    assert len(out) == 1


# ---- each user counts once (issue 14, item 14) ---------------------------------------
# Before: a user the API served twice, and the records the clean query writes
# again after a restart, were each counted (19,479 signups for 19,290 users).

def clean_records(spark, pipeline, records, fetched):
    """(key, value) of what query clean writes to users.clean for records."""
    clean = pipeline.frame(spark, "clean", raw_frame(spark, records, fetched_at_ms=fetched))
    return [(r["key"], r["value"]) for r in clean.where(f"topic = '{TOPICS['clean']}'").collect()]


def test_repeats_in_one_batch_count_once(spark, pipeline):
    a, b = user(login__uuid=uid(1)), user(login__uuid=uid(2))
    out = run_stats(spark, pipeline, [a, b, a, b], [MINUTE + 1, MINUTE + 2, MINUTE + 1,
                                                    MINUTE + 9000])
    assert list(out.values())[0][1]["signups"] == 2


def test_stream_counts_each_user_once_across_repeats_and_a_restart(spark, pipeline, tmp_path):
    """The streaming query with its checkpoint, stopped and started again: a
    replayed record (same ingested_at) and an API repeat (a later one, within
    the watermark) do not count again."""
    import datetime as dt

    from pyspark.sql.types import (BinaryType, IntegerType, LongType, StringType, StructField,
                                   StructType, TimestampType)

    schema = StructType([
        StructField("key", BinaryType()), StructField("value", BinaryType()),
        StructField("topic", StringType()), StructField("partition", IntegerType()),
        StructField("offset", LongType()), StructField("timestamp", TimestampType())])
    indir, ckpt = tmp_path / "in", tmp_path / "ckpt"
    ts = dt.datetime(2025, 11, 25, 15, 37, 21, tzinfo=dt.timezone.utc)

    def add_file(recs):
        rows = [(k.encode(), v.encode(), "users.clean", 0, i, ts) for i, (k, v) in enumerate(recs)]
        spark.createDataFrame(rows, schema).coalesce(1).write.mode("append").parquet(str(indir))

    latest = {}

    def run():
        src = spark.readStream.schema(schema).parquet(str(indir))
        df = pipeline.frame(spark, "stats", src)

        def keep(batch, _id):
            for r in batch.collect():  # the sink's upsert: the last total wins
                latest[r["key"]] = json.loads(r["value"])

        q = (df.writeStream.outputMode("update").foreachBatch(keep)
             .option("checkpointLocation", str(ckpt)).trigger(availableNow=True).start())
        q.awaitTermination()

    a, b, c = (user(login__uuid=uid(i)) for i in (1, 2, 3))
    first = clean_records(spark, pipeline, [a, b], [MINUTE + 1000, MINUTE + 2000])
    add_file(first + first[:1])  # a written twice in one batch
    run()
    key = "2025-11-25T15:37:00.000Z|US|female"
    assert latest[key]["signups"] == 2
    # after the restart: a replayed as it was, b served again 5 s later, c new
    again = clean_records(spark, pipeline, [b, c], [MINUTE + 7000, MINUTE + 3000])
    add_file(first[:1] + again)
    run()
    assert latest[key]["signups"] == 3
