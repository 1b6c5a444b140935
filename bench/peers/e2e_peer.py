#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""e2e_peer.py -- the e2e benchmark's peer: what a user would deploy instead of spate.

The seed's architecture done right: one PySpark 3.5 application reads the raw topic
(records as `spate ingest` produces them: key = login.uuid, value = the randomuser.me
JSON, header spate.fetched_at = epoch ms as text), parses it with from_json into typed
columns, validates it with the rules of pipelines/users/users_parsed.view.sql, and writes
to Cassandra with the Spark Cassandra Connector (SCC) 3.5.1 -- no Kafka hop and no
separate sink between Spark and the store. It does the same work as spate:

  query `users` (foreachBatch): valid rows -> <keyspace>.users and
      <keyspace>.users_by_nationality (upserts, write time = the raw record's Kafka
      timestamp, as `spate sink` does); invalid rows -> the DLQ topic with spate's
      envelope and headers (spate.stage=process, spate.error=<rule>).
  query `stats` (update mode, foreachBatch: SCC's streaming sink takes append mode
      only, which would hold each window back until the watermark passes it): valid
      rows, 1-minute tumbling windows over ingested_at (the spate.fetched_at header)
      with a watermark, count and round(avg(age), 2) per nationality and gender ->
      <keyspace>.signups_by_minute.

Both queries read the raw topic: the peer has no clean topic to feed its stats from
(spate's stats query reads users.clean), so its stats query validates the records
again to count the valid ones. The tables are those of schema/010_users.cql and
schema/020_stats.cql in the peer's own keyspace
(bench/peers/e2e_peer.cql).

Choices (the settings a careful user would make on a 2-core machine, not defaults
left by accident, and nothing spate's job does not also get):
  * local[2]: one task slot per core. The two queries share them through the FAIR
    scheduler, each in its own pool (e2e_peer_pools.xml), so a stats batch does not
    queue a users batch behind it (FIFO runs one query's jobs to completion first).
  * spark.sql.shuffle.partitions = 1: only the stats aggregation shuffles, its groups
    are a few hundred (window x nationality x gender) and every post-shuffle task is
    fixed overhead (a state store each); the default 200 would be 200 of them per
    batch. spate's stats query makes the same choice. Fixed once a checkpoint exists.
  * Trigger of the users query (the one the latency is measured on): `default` = no
    trigger (the next micro-batch starts as soon as the last one ended, Spark's
    lowest-latency micro-batch setting), or `1s` = processingTime 1 second (the usual
    production choice: fewer, larger batches). The stats query runs every 10 s
    (--stats-trigger): a per-minute count needs no sub-second freshness and every
    batch costs planning, state store and commit work whatever it holds; spate's
    stats query runs every 10 s too. --stats-trigger same gives it --trigger.
  * maxOffsetsPerTrigger unset: a batch takes everything that arrived, so the peer
    catches up in one batch after a stall instead of in slices.
  * The users batch is cached once (parse and validate run once) and then written
    three times: users, users_by_nationality, DLQ. Without the cache each write would
    re-read Kafka and re-parse.
  * SCC writes: spark.cassandra.output.concurrent.writes = 64 per task (default 5):
    users rows are one partition each, so every row is its own statement and the
    default would keep only 5 in flight per task; 64 keeps the node busy without
    queueing on it. batch.grouping.key = partition (the default; a batch never spans
    partitions, so it never becomes a multi-partition coordinator batch) with
    batch.size.bytes = 4096, under Cassandra's 5 KiB batch warning threshold: rows of
    users_by_nationality that share (nationality, day) go as one unlogged batch.
    Consistency LOCAL_QUORUM (SCC's default and spate's). ignoreNulls = true: an absent
    field is left unset, not written as a null (a tombstone), as spate's sink does.
  * Checkpoints: one directory per query under --checkpoint-dir; a restart resumes
    from them (the writes are upserts, so a replayed batch rewrites the same rows).
  * Session time zone UTC (the UTC day of the partition keys); Spark 3.5 is not ANSI
    by default, but the SQL still uses try_cast so it means the same as spate's.
  * Java 17: spark-submit (which pyspark runs) adds the --add-opens options Spark 3.5
    needs on Java 17 itself (JavaModuleOptions); nothing to add here.

usage: e2e_peer.py --bootstrap 127.0.0.1:9092 --topic users.raw --dlq-topic users.dlq
                   --cassandra-host 127.0.0.1 --cassandra-port 9042 --keyspace peer
                   --checkpoint-dir DIR [--trigger default|1s] [--master local[2]]
                   [--stats-trigger 10s|same|default|1s] [--starting-offsets earliest|latest]
                   [--progress] [--conf K=V]... [--no-create-schema]
Logs "e2e_peer: started ..." to stderr once both queries run. Runs until SIGTERM or
SIGINT, then stops both queries (a batch in progress is cancelled and replays from the
checkpoint at the next start), stops Spark, waits for its JVM to exit (at most
--stop-timeout) and exits 0; exits 1 if a query fails.
Run it with the peer's virtualenv (.venv-peer, pyspark 3.5) and the jars of
deps/lib/peer (found by default; see bench/peers/README.md).
"""
import argparse
import glob
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Flatten, type and validate: the same expressions and rules, in the same order, as
# pipelines/users/users_parsed.view.sql, so both pipelines accept and reject exactly
# the same records.
RAW_SCHEMA = """
  gender STRING,
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
  nat STRING"""

TRIM = "regexp_replace({}, '^\\\\s+|\\\\s+$', '')"

SOURCE_COLS = [
    "CAST(key AS STRING) AS raw_key",
    "CAST(value AS STRING) AS raw_value",
    "headers",
    "timestamp AS kafka_timestamp",
    "offset AS kafka_offset",
    # the last spate.fetched_at header wins, as in spate
    """try_cast(CAST(try_element_at(
         filter(headers, h -> h.key = 'spate.fetched_at'), -1).value AS STRING) AS BIGINT)
       AS fetched_at_ms""",
]

JSON_COLS = [
    "*",
    # one JSON object and nothing after it, else malformed_json
    """coalesce(json_object_keys(raw_value) IS NOT NULL
                AND raw_value RLIKE '\\\\}\\\\s*$', false) AS is_object""",
    f"from_json(raw_value, '{RAW_SCHEMA}') AS r",
]

TYPED_COLS = [
    "raw_key", "raw_value", "headers", "is_object", "kafka_timestamp", "kafka_offset",
    f"lower({TRIM.format('r.login.uuid')}) AS user_id",
    f"lower({TRIM.format('r.gender')}) AS gender",
    f"{TRIM.format('r.name.title')} AS title",
    f"{TRIM.format('r.name.first')} AS first_name",
    f"{TRIM.format('r.name.last')} AS last_name",
    f"lower({TRIM.format('r.email')}) AS email",
    "r.phone AS phone",
    "r.cell AS cell",
    "r.login.username AS username",
    "try_cast(r.dob.date AS TIMESTAMP) AS date_of_birth",
    "try_cast(r.dob.age AS INT) AS age",
    "try_cast(r.registered.date AS TIMESTAMP) AS registered_at",
    "try_cast(r.location.street.number AS INT) AS street_number",
    "r.location.street.name AS street_name",
    "r.location.city AS city",
    "r.location.state AS state",
    "r.location.country AS country",
    f"{TRIM.format('r.location.postcode')} AS postcode",
    "try_cast(r.location.coordinates.latitude AS DOUBLE) AS latitude",
    "try_cast(r.location.coordinates.longitude AS DOUBLE) AS longitude",
    f"{TRIM.format('r.location.timezone.offset')} AS timezone_offset",
    f"upper({TRIM.format('r.nat')}) AS nationality",
    "r.picture.large AS picture_url",
    """CASE WHEN fetched_at_ms BETWEEN 0 AND 253402300799999
            THEN timestamp_millis(fetched_at_ms) ELSE kafka_timestamp END AS ingested_at""",
    # per-row wall clock, as spate (current_timestamp() is fixed per batch)
    """timestamp_millis(CAST(reflect('java.lang.System', 'currentTimeMillis') AS BIGINT))
       AS processed_at""",
]

ERROR_COL = """CASE
    WHEN NOT is_object THEN 'malformed_json'
    WHEN user_id IS NULL
      OR NOT user_id RLIKE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      THEN 'invalid_uuid'
    WHEN first_name IS NULL OR first_name = '' OR last_name IS NULL OR last_name = ''
      THEN 'empty_name'
    WHEN email IS NULL
      OR NOT email RLIKE '^[^@\\\\s]+@[^@\\\\s.]+(\\\\.[^@\\\\s.]+)+$'
      THEN 'invalid_email'
    WHEN gender IS NULL OR gender NOT IN ('male', 'female') THEN 'unknown_gender'
    WHEN nationality IS NULL OR nationality = '' THEN 'missing_nationality'
    WHEN date_of_birth IS NULL THEN 'invalid_birth_date'
    WHEN date_of_birth >= ingested_at THEN 'birth_date_in_future'
    WHEN latitude IS NULL OR longitude IS NULL
      OR isnan(latitude) OR isnan(longitude) THEN 'invalid_coordinates'
    WHEN latitude NOT BETWEEN -90 AND 90 OR longitude NOT BETWEEN -180 AND 180
      THEN 'coordinates_out_of_range'
    ELSE NULL
  END AS error"""

USERS_COLS = ["user_id", "gender", "title", "first_name", "last_name", "email", "phone",
              "cell", "username", "date_of_birth", "age", "registered_at", "street_number",
              "street_name", "city", "state", "country", "postcode", "latitude",
              "longitude", "timezone_offset", "nationality", "picture_url", "ingested_at",
              "processed_at"]
BY_NAT_COLS = ["nationality", "to_date(ingested_at) AS day", "ingested_at", "user_id",
               "first_name", "last_name", "gender", "age", "email", "city", "country",
               "picture_url", "registered_at"]

DLQ_COLS = [
    "raw_key AS key",
    """to_json(named_struct(
         'stage', 'process', 'reason', error, 'key', raw_key, 'raw', raw_value,
         'at', date_format(processed_at, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")),
       map('ignoreNullFields', 'false')) AS value""",
    """concat(filter(headers, h -> h.key NOT IN ('spate.stage', 'spate.error')),
              array(named_struct('key', 'spate.stage', 'value', CAST('process' AS BINARY)),
                    named_struct('key', 'spate.error', 'value', CAST(error AS BINARY))))
       AS headers""",
]


def parsed(spark, args):
    """The raw topic as a stream of typed rows, `error` NULL for a valid user."""
    raw = (spark.readStream.format("kafka")
           .option("kafka.bootstrap.servers", args.bootstrap)
           .option("subscribe", args.topic)
           .option("includeHeaders", "true")
           .option("startingOffsets", args.starting_offsets)
           .option("failOnDataLoss", "true")
           .load())
    return (raw.selectExpr(*SOURCE_COLS)
            .selectExpr(*JSON_COLS)
            .selectExpr(*TYPED_COLS)
            .selectExpr("*", ERROR_COL))


def cassandra_write(df, args, table, writetime=None):
    w = (df.write.format("org.apache.spark.sql.cassandra")
         .option("keyspace", args.keyspace)
         .option("table", table))
    if writetime:
        w = w.option("writetime", writetime)
    w.mode("append").save()


def users_batch(args):
    def write(batch, _batch_id):
        batch = batch.persist()
        try:
            # Write time as spate's sink sets it: the raw record's Kafka timestamp in
            # microseconds plus the offset's last digits, so the later of two records
            # for a key wins in any arrival order and a replay rewrites the same cells.
            ok = batch.where("error IS NULL").selectExpr(
                "*", "unix_millis(kafka_timestamp) * 1000 + kafka_offset % 1000 AS write_us")
            cassandra_write(ok.selectExpr(*USERS_COLS, "write_us"), args, "users", "write_us")
            cassandra_write(ok.selectExpr(*BY_NAT_COLS, "write_us"), args,
                            "users_by_nationality", "write_us")
            (batch.where("error IS NOT NULL").selectExpr(*DLQ_COLS)
             .write.format("kafka")
             .option("kafka.bootstrap.servers", args.bootstrap)
             .option("topic", args.dlq_topic)
             .save())
        finally:
            batch.unpersist()
    return write


TRIGGERS = {"default": {}, "1s": {"processingTime": "1 second"},
            "10s": {"processingTime": "10 seconds"}}


def start(spark, args):
    trig = TRIGGERS[args.trigger]
    stats_trig = TRIGGERS[args.trigger if args.stats_trigger == "same" else args.stats_trigger]
    sc = spark.sparkContext
    ck = os.path.abspath(args.checkpoint_dir)

    sc.setLocalProperty("spark.scheduler.pool", "users")
    w = (parsed(spark, args).writeStream.queryName("users")
         .option("checkpointLocation", os.path.join(ck, "users"))
         .foreachBatch(users_batch(args)))
    users = (w.trigger(**trig) if trig else w).start()

    sc.setLocalProperty("spark.scheduler.pool", "stats")
    from pyspark.sql import functions as F
    valid = parsed(spark, args).where("error IS NULL").withWatermark("ingested_at",
                                                                     args.watermark)
    agg = (valid.groupBy(F.window("ingested_at", "1 minute").alias("w"),
                         "nationality", "gender")
           .agg(F.count(F.lit(1)).alias("signups"), F.round(F.avg("age"), 2).alias("avg_age")))
    out = agg.selectExpr(
        # a partition key cannot be null: an absent nationality or gender is ''
        "coalesce(nationality, '') AS nationality",
        "to_date(w.start) AS day",
        "w.start AS window_start",
        "coalesce(gender, '') AS gender",
        "w.end AS window_end",
        "signups",
        "avg_age")
    # SCC's streaming sink takes append mode only; update mode goes through
    # foreachBatch, where each batch's changed windows are upserts by primary key.
    w = (out.writeStream.queryName("stats").outputMode("update")
         .option("checkpointLocation", os.path.join(ck, "stats"))
         .foreachBatch(lambda batch, _id: cassandra_write(batch, args, "signups_by_minute")))
    stats = (w.trigger(**stats_trig) if stats_trig else w).start()
    return [users, stats]


def create_schema(spark, keyspace):
    """Apply bench/peers/e2e_peer.cql (IF NOT EXISTS), with `peer` renamed to keyspace.

    Through SCC's own session, so the peer needs no other client; a no-op when the
    tables exist."""
    with open(os.path.join(HERE, "e2e_peer.cql")) as f:
        text = "\n".join(l for l in f.read().splitlines() if not l.lstrip().startswith("--"))
    text = re.sub(r"\bpeer\.", keyspace + ".", text)
    text = re.sub(r"EXISTS peer\b", "EXISTS " + keyspace, text)
    jvm = spark.sparkContext._jvm
    conn = jvm.com.datastax.spark.connector.cql.CassandraConnector.apply(
        spark.sparkContext._jsc.sc().getConf())
    s = conn.openSession()
    try:
        for stmt in (t.strip() for t in text.split(";")):
            if stmt:
                s.execute(stmt)
    finally:
        s.close()


def peer_jars():
    jars = sorted(glob.glob(os.path.join(ROOT, "deps", "lib", "peer", "*.jar")))
    if not jars:
        sys.exit("e2e_peer: no jars in deps/lib/peer: run 'scripts/setup --bench'")
    return ",".join(jars)


def session(args):
    from pyspark.sql import SparkSession
    conf = {
        "spark.jars": args.jars or peer_jars(),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "1",
        "spark.scheduler.mode": "FAIR",
        "spark.scheduler.allocation.file": os.path.join(HERE, "e2e_peer_pools.xml"),
        "spark.sql.streaming.stopTimeout": str(int(args.stop_timeout * 1000)),
        "spark.cassandra.connection.host": args.cassandra_host,
        "spark.cassandra.connection.port": str(args.cassandra_port),
        "spark.cassandra.output.consistency.level": "LOCAL_QUORUM",
        "spark.cassandra.output.concurrent.writes": "64",
        "spark.cassandra.output.batch.grouping.key": "partition",
        "spark.cassandra.output.batch.size.bytes": "4096",
        "spark.cassandra.output.ignoreNulls": "true",
    }
    for kv in args.conf:
        k, _, v = kv.partition("=")
        conf[k] = v
    b = SparkSession.builder.appName("e2e-peer").master(args.master)
    for k, v in conf.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel(args.log_level)
    return spark


def log(msg):
    print(f"e2e_peer: {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="e2e_peer.py", description=__doc__.split("\n")[0])
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--topic", required=True, help="the raw topic (users.raw-shaped records)")
    p.add_argument("--dlq-topic", required=True, help="topic for invalid records")
    p.add_argument("--cassandra-host", default="127.0.0.1")
    p.add_argument("--cassandra-port", type=int, default=9042)
    p.add_argument("--keyspace", default="peer")
    p.add_argument("--checkpoint-dir", required=True)
    p.add_argument("--trigger", choices=["default", "1s"], default="default")
    p.add_argument("--stats-trigger", choices=["10s", "same", "default", "1s"], default="10s",
                   help="trigger of the stats query; same = --trigger (default 10s, as "
                        "spate's stats.sql)")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--starting-offsets", choices=["earliest", "latest"], default="earliest",
                   help="where a new checkpoint starts reading the raw topic")
    p.add_argument("--watermark", default="30 seconds", help="as spark.watermark in spate")
    p.add_argument("--stop-timeout", type=float, default=30.0,
                   help="seconds a query may take to stop after SIGTERM")
    p.add_argument("--jars", help="comma-separated jars (default: deps/lib/peer/*.jar)")
    p.add_argument("--conf", action="append", default=[], metavar="K=V",
                   help="extra Spark conf, repeatable (overrides the choices above)")
    p.add_argument("--no-create-schema", dest="create_schema", action="store_false",
                   help="do not apply bench/peers/e2e_peer.cql (IF NOT EXISTS) at start")
    p.add_argument("--progress", action="store_true",
                   help="log each batch's size and duration to stderr")
    p.add_argument("--log-level", default="WARN")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,47}", args.keyspace):
        sys.exit(f"e2e_peer: --keyspace '{args.keyspace}' is not a Cassandra identifier "
                 "(a letter, then letters, digits or _, at most 48)")
    stop = []

    def on_signal(signum, _frame):
        if stop:  # a second signal: leave now
            os._exit(1)
        stop.append(signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    spark = session(args)
    if args.create_schema:
        create_schema(spark, args.keyspace)
    queries = start(spark, args)
    log(f"started: trigger {args.trigger}, master {args.master}, topic {args.topic} -> "
        f"{args.keyspace}.users, users_by_nationality, signups_by_minute; pid {os.getpid()}")
    rc = 0
    # Poll rather than block in awaitAnyTermination, so a signal is seen within a second
    # and the queries are stopped cleanly from this thread.
    seen = {}
    while not stop:
        failed = [q for q in queries if not q.isActive]
        if failed:
            for q in failed:
                log(f"query {q.name} stopped: {q.exception()}")
            rc = 1
            break
        if args.progress:
            for q in queries:
                p = q.lastProgress
                if p and seen.get(q.name) != p["batchId"]:
                    seen[q.name] = p["batchId"]
                    log(f"{q.name} batch {p['batchId']}: {p['numInputRows']} rows in "
                        f"{p['durationMs'].get('triggerExecution', 0)} ms")
        time.sleep(0.5)
    for q in queries:
        try:
            q.stop()
        except Exception as e:  # stopping is best effort; the checkpoint is consistent
            log(f"stopping {q.name}: {e}")
    # The JVM is pyspark's child and exits when its stdin closes; wait for that, so
    # the job's pid outlives its JVM and a caller that stops it by pid leaves nothing.
    proc = getattr(spark.sparkContext._gateway, "proc", None)
    spark.stop()
    if proc is not None:
        try:
            proc.stdin.close()
            proc.wait(timeout=args.stop_timeout)
        except Exception:  # a JVM that does not leave in time is ended
            proc.kill()
    log(f"stopped ({'signal ' + str(stop[0]) if stop else 'query failure'})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
