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
