# SPDX-License-Identifier: Apache-2.0
"""sink_peer.py -- the Kafka-to-Cassandra writer a user would otherwise write in Python.

confluent-kafka consumer (manual commits) + cassandra-driver prepared statements run
with execute_concurrent, offsets committed after the writes of each batch succeeded.
It writes the same two tables as `spate sink` (users and users_by_nationality) from the
same users.clean JSON, converting the same way (ISO-8601 or epoch-ms timestamps).

usage: sink_peer.py --brokers B --topic T --group G --host H --port P --keyspace KS
                    --count N [--concurrency C] [--batch M]
Prints one line: "peer: N records, R rows in S s (X rows/s)".
"""
import argparse
import datetime
import json
import sys
import time
import uuid

from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent
from cassandra import ConsistencyLevel
from confluent_kafka import Consumer, KafkaError

USERS_COLS = ["user_id", "gender", "title", "first_name", "last_name", "email", "phone", "cell",
              "username", "date_of_birth", "age", "registered_at", "street_number",
              "street_name", "city", "state", "country", "postcode", "latitude", "longitude",
              "timezone_offset", "nationality", "picture_url", "ingested_at", "processed_at"]
NAT_COLS = ["nationality", "day", "ingested_at", "user_id", "first_name", "last_name", "gender",
            "age", "email", "city", "country", "picture_url", "registered_at"]
TS = {"date_of_birth", "registered_at", "ingested_at", "processed_at"}
INTS = {"age", "street_number"}
FLOATS = {"latitude", "longitude"}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def ts(v):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return EPOCH + datetime.timedelta(milliseconds=v)
    return datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))


def convert(rec):
    out = {}
    for c in USERS_COLS:
        v = rec.get(c)
        if v is None:
            out[c] = None
        elif c == "user_id":
            out[c] = uuid.UUID(v)
        elif c in TS:
            out[c] = ts(v)
        elif c in INTS:
            out[c] = int(v)
        elif c in FLOATS:
            out[c] = float(v)
        else:
            out[c] = str(v)
    out["day"] = out["ingested_at"].date()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", default="127.0.0.1:9092")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9042)
    ap.add_argument("--keyspace", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    a = ap.parse_args()

    cluster = Cluster([a.host], port=a.port)
    session = cluster.connect(a.keyspace)
    ins_users = session.prepare("INSERT INTO users (%s) VALUES (%s)" % (
        ", ".join(USERS_COLS), ", ".join("?" * len(USERS_COLS))))
    ins_nat = session.prepare("INSERT INTO users_by_nationality (%s) VALUES (%s)" % (
        ", ".join(NAT_COLS), ", ".join("?" * len(NAT_COLS))))
    for st in (ins_users, ins_nat):
        st.consistency_level = ConsistencyLevel.ONE

    consumer = Consumer({"bootstrap.servers": a.brokers, "group.id": a.group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.subscribe([a.topic])
    done = rows = retries = 0
    t0 = None
    while done < a.count:
        msgs = consumer.consume(num_messages=a.batch, timeout=1.0)
        if not msgs:
            continue
        if t0 is None:
            t0 = time.monotonic()
        stmts = []
        for m in msgs:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    print("consumer:", m.error(), file=sys.stderr)
                continue
            r = convert(json.loads(m.value()))
            stmts.append((ins_users, [r[c] for c in USERS_COLS]))
            stmts.append((ins_nat, [r[c] for c in NAT_COLS]))
            done += 1
        # retry what failed (timeouts under load) until every write succeeded
        for attempt in range(100):
            results = execute_concurrent(session, stmts, concurrency=a.concurrency,
                                         raise_on_first_error=False)
            failed = [st for st, (ok, _) in zip(stmts, results) if not ok]
            rows += len(stmts) - len(failed)
            if not failed:
                break
            retries += len(failed)
            stmts = failed
            time.sleep(min(0.05 * 2 ** attempt, 5))
        else:
            sys.exit("writes kept failing: %s" % results[0][1])
        consumer.commit(asynchronous=False)  # only after every write of the batch
    secs = time.monotonic() - t0
    consumer.close()
    cluster.shutdown()
    print("peer: %d records, %d rows in %.1f s (%.0f rows/s), %d retries" % (
        done, rows, secs, rows / secs, retries))


if __name__ == "__main__":
    main()
