#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# seed_ingest.py -- the seed project's ingest loop, written faithfully as a benchmark peer.
#
# What the seed did: one HTTP request per user (results=1, `requests.get`, so a
# new connection each time), one produce per user followed by a flush, errors
# swallowed. Written here from that description with
# `requests` and `confluent-kafka` (PyPI), against the same api-sim and broker as
# `spate ingest`, so the two can be compared in one run.
#
# usage: seed_ingest.py --url http://127.0.0.1:8088/api/ --bootstrap 127.0.0.1:9092
#                       --topic T (--records N | --seconds S)
# Prints one line: "seed_ingest: records=N seconds=S rate=R records/s".
import argparse
import json
import time

import requests
from confluent_kafka import Producer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--records", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--compression", default="lz4")
    a = ap.parse_args()

    # The seed's producer: acks=all here too, so the comparison is about the loop,
    # not about weaker delivery settings.
    producer = Producer({
        "bootstrap.servers": a.bootstrap,
        "acks": "all",
        "compression.type": a.compression,
    })
    done = 0
    start = time.monotonic()
    while True:
        if a.records and done >= a.records:
            break
        if a.seconds and time.monotonic() - start >= a.seconds:
            break
        try:
            # requests.get, as the seed called it: a new connection per user
            r = requests.get(a.url, params={"results": 1}, timeout=10)
            user = r.json()["results"][0]
            producer.produce(a.topic, key=user["login"]["uuid"],
                             value=json.dumps(user).encode())
            producer.flush()
            done += 1
        except Exception:  # the seed swallowed every error
            pass
    secs = time.monotonic() - start
    print("seed_ingest: records=%d seconds=%.2f rate=%.1f records/s" % (done, secs, done / secs))


if __name__ == "__main__":
    main()
