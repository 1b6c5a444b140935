# SPDX-License-Identifier: Apache-2.0
# bench_python.py -- the peer: Python cassandra-driver inserting the same rows as it_cql_bench.
import datetime
import os
import resource
import sys
import time

from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args


def main():
    host = os.environ.get("SPATE_CASSANDRA_HOST", "127.0.0.1")
    port = int(os.environ.get("SPATE_CASSANDRA_PORT", "9042"))
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 500000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    table = sys.argv[3] if len(sys.argv) > 3 else "spate_bench.rows10"
    cluster = Cluster([host], port=port, protocol_version=4, compression=False)
    session = cluster.connect()
    stmt = session.prepare(
        f"INSERT INTO {table} (id, c1, c2, c3, c4, c5, c6, c7, c8, c9) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    stmt.consistency_level = ConsistencyLevel.ONE
    ts = datetime.datetime(2024, 5, 1, 12, 0, 0)
    args = [(i, f"user-{i}@example.com", i * 3, i * 0.5, "FR", bool(i & 1), i * 1000,
             "some value", i % 97, ts) for i in range(rows)]
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    results = execute_concurrent_with_args(session, stmt, args, concurrency=concurrency,
                                           raise_on_first_error=False)
    errors = sum(1 for ok, _ in results if not ok)
    secs = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    done = rows
    print(f"rows={done} errors={errors} seconds={secs:.3f} rows_per_s={done / secs:.0f} "
          f"cpu_s={cpu:.3f} cpu_s_per_100k={cpu * 100000 / done:.3f}")
    cluster.shutdown()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
