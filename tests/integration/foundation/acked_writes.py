# SPDX-License-Identifier: Apache-2.0
"""acked_writes.py -- does the stack's Cassandra keep every write it
acknowledged when it is killed with -9?

  write HOST PORT KS FILE   writes rows until the node goes away; every id
                            Cassandra acknowledged is appended to FILE first
  check HOST PORT KS FILE   exit 1 (naming them) when an acknowledged id is
                            not stored

The sink commits a Kafka offset only after Cassandra acknowledged the row, so
a row the node forgets after acknowledging it is lost for good: with
commitlog_sync periodic, a kill -9 forgot the last ~100 ms of rows.
"""
import os
import sys
import time

import warnings

from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import RetryPolicy

warnings.simplefilter("ignore", DeprecationWarning)


class NoRetry(RetryPolicy):
    def on_write_timeout(self, *a, **k):
        return self.RETHROW, None

    def on_unavailable(self, *a, **k):
        return self.RETHROW, None

    def on_request_error(self, *a, **k):
        return self.RETHROW, None


def write(host, port, ks, path):
    cl = Cluster([host], port=port, default_retry_policy=NoRetry(), connect_timeout=5)
    s = cl.connect()
    s.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}" % ks)
    s.execute("CREATE TABLE IF NOT EXISTS %s.acked (id int PRIMARY KEY, v text)" % ks)
    ins = s.prepare("INSERT INTO %s.acked (id, v) VALUES (?, ?)" % ks)
    i, t0 = 0, time.time()
    with open(path, "w") as f:
        print("ready", flush=True)
        while time.time() - t0 < 60:
            futs = [(i + k, s.execute_async(ins, (i + k, "v" * 200))) for k in range(64)]
            i += 64
            acked = []
            for k, fu in futs:
                try:
                    fu.result()
                    acked.append(k)
                except Exception:  # the node went away: what it acked is in the file
                    pass
            f.write("".join("%d\n" % k for k in acked))
            f.flush()
            if len(acked) < len(futs):
                return 0
    print("the node was never killed", file=sys.stderr)
    return 1


def check(host, port, ks, path):
    acked = [int(x) for x in open(path).read().split()]
    deadline = time.time() + 60
    while True:
        try:
            s = Cluster([host], port=port, connect_timeout=5).connect()
            break
        except NoHostAvailable:
            if time.time() > deadline:
                raise
            time.sleep(1)
    stored = {r.id for r in s.execute("SELECT id FROM %s.acked" % ks)}
    lost = sorted(set(acked) - stored)
    print("%d rows acknowledged before the kill, %d stored, %d lost%s" %
          (len(acked), len(stored), len(lost), " (e.g. %s)" % lost[:5] if lost else ""))
    return 1 if lost or not acked else 0


if __name__ == "__main__":
    mode, host, port, ks, path = sys.argv[1:6]
    sys.exit({"write": write, "check": check}[mode](host, int(port), ks, path))
