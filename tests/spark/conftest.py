# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the SQL unit tests: one small local Spark session for all."""
import datetime as dt
import json
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "spark"))

import spate_job  # noqa: E402

SQL_DIR = os.path.join(ROOT, "pipelines", "users")
TOPICS = {"clean": "t.clean", "dlq": "t.dlq", "stats": "t.stats"}
# A fixed fetch time so "birth date in the past" and windows are deterministic.
FETCHED_AT_MS = 1764085040123  # 2025-11-25T15:37:20.123Z


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    s = (SparkSession.builder.master("local[2]").appName("spate-sql-tests")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2")
         .config("spark.default.parallelism", "2")
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    args = spate_job.parse_args(["--topic-clean", TOPICS["clean"], "--topic-dlq", TOPICS["dlq"],
                                 "--topic-stats", TOPICS["stats"], "--watermark", "30 seconds"])
    for k, v in spate_job.session_conf(args).items():
        s.conf.set(k, v)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def pipeline():
    return spate_job.Pipeline(SQL_DIR)


def user(**over):
    """A randomuser.me-shaped record; keyword overrides use dotted paths."""
    rec = {
        "gender": "female",
        "name": {"title": "Miss", "first": "Jennie", "last": "Nichols"},
        "location": {
            "street": {"number": 8929, "name": "Valwood Pkwy"},
            "city": "Billings", "state": "Michigan", "country": "United States",
            "postcode": "63104",
            "coordinates": {"latitude": "-69.8246", "longitude": "134.8719"},
            "timezone": {"offset": "+9:30", "description": "Adelaide, Darwin"},
        },
        "email": "jennie.nichols@example.com",
        "login": {"uuid": "7a0eed16-9430-4d68-901f-c0d4c1c3bf00", "username": "yellowpeacock117",
                  "password": "addison", "salt": "sld", "md5": "x", "sha1": "y", "sha256": "z"},
        "dob": {"date": "1992-03-08T15:13:16.688Z", "age": 30},
        "registered": {"date": "2007-07-09T05:51:59.390Z", "age": 14},
        "phone": "(272) 790-0888",
        "cell": "(489) 330-2385",
        "id": {"name": "SSN", "value": "405-88-3636"},
        "picture": {"large": "https://randomuser.me/api/portraits/women/75.jpg",
                    "medium": "https://randomuser.me/api/portraits/med/women/75.jpg",
                    "thumbnail": "https://randomuser.me/api/portraits/thumb/women/75.jpg"},
        "nat": "US",
    }
    for path, val in over.items():
        node = rec
        parts = path.split("__")
        for p in parts[:-1]:
            node = node[p]
        if val is DELETE:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = val
    return rec


DELETE = object()


def raw_frame(spark, records, fetched_at_ms=FETCHED_AT_MS, extra_headers=None):
    """A DataFrame shaped like the Kafka source: one row per record.

    records: dicts (serialised to JSON), str (sent as is, UTF-8), bytes (sent as
    they are) or None (tombstone);
    or tuples (key, value) to set the Kafka key explicitly.
    """
    from pyspark.sql.types import (ArrayType, BinaryType, IntegerType, LongType, StringType,
                                   StructField, StructType, TimestampType)

    schema = StructType([
        StructField("key", BinaryType()), StructField("value", BinaryType()),
        StructField("topic", StringType()), StructField("partition", IntegerType()),
        StructField("offset", LongType()), StructField("timestamp", TimestampType()),
        StructField("timestampType", IntegerType()),
        StructField("headers", ArrayType(StructType([
            StructField("key", StringType()), StructField("value", BinaryType())]))),
    ])
    rows = []
    kafka_ts = dt.datetime(2025, 11, 25, 15, 37, 21, tzinfo=dt.timezone.utc)
    for i, r in enumerate(records):
        key = None
        if isinstance(r, tuple):
            key, r = r
        if isinstance(r, dict):
            if key is None:
                key = r.get("login", {}).get("uuid") if isinstance(r.get("login"), dict) else None
            value = json.dumps(r, ensure_ascii=False)
        else:
            value = r
        hdrs = []
        if fetched_at_ms is not None:
            ms = fetched_at_ms[i] if isinstance(fetched_at_ms, list) else fetched_at_ms
            hdrs.append(("spate.fetched_at", str(ms).encode()))
        hdrs.append(("spate.source", b"test"))
        for k, v in (extra_headers or []):
            hdrs.append((k, v))
        rows.append((key.encode() if key is not None else None,
                     value.encode("utf-8") if isinstance(value, str) else value,
                     "users.raw", 0, i, kafka_ts, 0, hdrs))
    return spark.createDataFrame(rows, schema)


def run_clean(spark, pipeline, records, **kw):
    """Run query clean over records; returns a list of dicts: topic, key,
    value (parsed JSON), headers (dict of str)."""
    df = pipeline.frame(spark, "clean", raw_frame(spark, records, **kw))
    out = []
    for row in df.collect():
        out.append({
            "topic": row["topic"],
            "key": row["key"],
            "value": json.loads(row["value"]),
            "headers": [(h["key"], bytes(h["value"]).decode()) for h in row["headers"]],
        })
    return out


def clean_one(spark, pipeline, record, **kw):
    rows = run_clean(spark, pipeline, [record], **kw)
    assert len(rows) == 1
    return rows[0]
