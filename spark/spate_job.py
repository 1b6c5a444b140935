# SPDX-License-Identifier: Apache-2.0
"""spate_job.py -- the thin PySpark driver that runs the SQL in pipelines/<name>/.

The logic lives in SQL files; this driver only wires them to Kafka:

* every ``*.view.sql`` file in the SQL folder defines temporary views (run in
  name order, once per query, after the query's Kafka source is registered as
  the view ``users_raw``);
* every other ``*.sql`` file is one streaming query, named after the file
  (``clean.sql`` -> query ``clean``). Its last statement is a SELECT returning
  the Kafka sink's columns: ``topic``, ``key``, ``value`` and optionally
  ``headers``. Header comments tell the driver how to run it:
  ``-- @output_mode: update``, ``-- @realtime: supported|unsupported``,
  ``-- @input: raw|clean`` (the topic it reads, registered as the view
  ``users_raw`` or ``users_clean``; the view files run for ``raw`` only),
  ``-- @trigger: processingTime:10s`` (what trigger ``auto`` means for it) and
  ``-- @conf: k=v ...`` (session settings for this query alone) and
  ``-- @dedupe: VIEW(COL, ...)`` (the view VIEW, which the query's statements
  create with a watermark, keeps one row per COL value within the watermark:
  Spark's ``dropDuplicatesWithinWatermark``, which SQL cannot spell).
* ``${spate.NAME}`` in the SQL is filled in by Spark's own variable
  substitution from the session conf: spate.topic_raw, spate.topic_clean,
  spate.topic_stats, spate.topic_dlq, spate.watermark.

Each query reads the raw topic with its own Kafka source and checkpoint
(<checkpoint-dir>/<query>), so a restart resumes each from its own offsets.

`spate spark run` / `spate spark submit` build the command line; run
``python spark/spate_job.py --help`` for the options.
"""

import argparse
import json
import os
import re
import signal
import sys
import threading

# The view each query's Kafka source is registered as, by the topic it reads
# (`-- @input: raw|clean`).
SOURCE_VIEWS = {"raw": "users_raw", "clean": "users_clean"}
ISO_MS = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
# Every real-time batch ends with offset and commit log writes, a re-plan and
# new tasks, which hold the records arriving meanwhile; a longer batch makes
# that rarer (bench/e2e measured 5 minutes), but progress is committed only at
# a batch end, so a stop or crash replays up to one batch into users.clean and
# the DLQ (a 5-minute batch replayed a whole container run after down/up).
# `spark.trigger: realtime:5m` is the lever; the default keeps replays short.
DEFAULT_REALTIME_BATCH = "30 seconds"
# how often the driver looks at its queries' state (main)
WATCH_INTERVAL_S = 2
# fetch.max.wait.ms of the Kafka source (see kafka_source)
IDLE_FETCH_WAIT_MS = "5000"

_DIRECTIVE = re.compile(r"^--\s*@([a-z_]+)\s*:\s*(\S.*?)\s*$")


class PipelineError(Exception):
    """A problem with the SQL folder or the options (exit code 2)."""


# ---- SQL files -----------------------------------------------------------------


def split_statements(text):
    """Split SQL text on top-level semicolons.

    Quotes ('...', "...", `...`) and comments (-- and /* */) are respected, so
    a ';' inside them does not split. Empty statements are dropped.
    """
    out, cur, i, n = [], [], 0, len(text)
    quote = None
    while i < n:
        c = text[i]
        if quote:
            cur.append(c)
            if c == "\\" and quote != "`" and i + 1 < n:
                cur.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
            i += 1
            continue
        if c in "'\"`":
            quote = c
            cur.append(c)
            i += 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            cur.append(text[i:j])
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            cur.append(text[i:j])
            i = j
            continue
        if c == ";":
            out.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    out.append("".join(cur))
    return [s for s in out if _strip_comments(s).strip()]


def _strip_comments(sql):
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    return re.sub(r"--[^\n]*", " ", sql)


def directives(text):
    """The ``-- @key: value`` lines of a file's leading comment block."""
    found = {}
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if not s.startswith("--"):
            break
        m = _DIRECTIVE.match(s)
        if m:
            found[m.group(1)] = m.group(2)
    return found


class Query:
    """One query file: name, statements and directives."""

    def __init__(self, name, path, text):
        self.name = name
        self.path = path
        self.statements = split_statements(text)
        self.directives = directives(text)
        if not self.statements:
            raise PipelineError(f"{path}: no SQL statement")
        self.output_mode = self.directives.get("output_mode", "append")
        if self.output_mode not in ("append", "update", "complete"):
            raise PipelineError(f"{path}: @output_mode must be append, update or complete")
        rt = self.directives.get("realtime", "unsupported").split()[0]
        self.realtime_supported = rt == "supported"
        self.input = self.directives.get("input", "raw").split()[0]
        if self.input not in SOURCE_VIEWS:
            raise PipelineError(f"{path}: @input must be one of {', '.join(SOURCE_VIEWS)}")
        # the trigger `auto` gives this query (else real-time or micro-batch)
        self.default_trigger = self.directives.get("trigger")
        # session settings that hold for this query only (Spark reads them when
        # the query starts and keeps them in its checkpoint)
        self.conf = {}
        for item in self.directives.get("conf", "").replace(",", " ").split():
            if "=" not in item:
                raise PipelineError(f"{path}: @conf takes KEY=VALUE items, got '{item}'")
            k, v = item.split("=", 1)
            self.conf[k] = v
        # (view, [columns]) or None
        self.dedupe = None
        if "dedupe" in self.directives:
            m = re.fullmatch(r"([A-Za-z_]\w*)\s*\(\s*([\w\s,]+?)\s*\)",
                             self.directives["dedupe"])
            if not m:
                raise PipelineError(f"{path}: @dedupe takes VIEW(COLUMN, ...), got "
                                    f"'{self.directives['dedupe']}'")
            self.dedupe = (m.group(1), [c.strip() for c in m.group(2).split(",") if c.strip()])


class Pipeline:
    """The SQL folder: view files (run first, in name order) and queries."""

    def __init__(self, sql_dir):
        if not os.path.isdir(sql_dir):
            raise PipelineError(f"SQL folder {sql_dir} does not exist")
        self.sql_dir = sql_dir
        self.views = []  # list of (path, [statements])
        self.queries = {}
        for fname in sorted(os.listdir(sql_dir)):
            if not fname.endswith(".sql"):
                continue
            path = os.path.join(sql_dir, fname)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if fname.endswith(".view.sql"):
                self.views.append((path, split_statements(text)))
            else:
                name = fname[: -len(".sql")]
                self.queries[name] = Query(name, path, text)
        if not self.queries:
            raise PipelineError(f"{sql_dir}: no query file (*.sql other than *.view.sql)")

    def query(self, name):
        if name not in self.queries:
            raise PipelineError(
                f"no query '{name}' in {self.sql_dir} (have: {', '.join(sorted(self.queries))})")
        return self.queries[name]

    def frame(self, spark, name, source_df):
        """The DataFrame of query `name` over `source_df` (streaming or not).

        source_df has the Kafka source's columns; it is registered as the view
        users_raw, then the view files and the query's statements run. Used by
        the job and by the unit tests alike.
        """
        q = self.query(name)
        source_df.createOrReplaceTempView(SOURCE_VIEWS[q.input])
        # a pipeline written by `spate init NAME` reads its topics as NAME_raw / NAME_clean
        own = os.path.basename(os.path.normpath(self.sql_dir))
        if re.fullmatch(r"[a-z][a-z0-9_]*", own) and f"{own}_{q.input}" != SOURCE_VIEWS[q.input]:
            source_df.createOrReplaceTempView(f"{own}_{q.input}")
        # the view files build on users_raw; a query reading users.clean has
        # its records flat and typed already
        if q.input == "raw":
            for path, stmts in self.views:
                for s in stmts:
                    _run(spark, path, s)
        for s in q.statements[:-1]:
            _run(spark, q.path, s)
        if q.dedupe:
            view, cols = q.dedupe
            try:
                v = spark.table(view)
                # Spark refuses the watermark form on a batch frame (the SQL
                # tests run one); there every copy is within reach anyway
                if v.isStreaming:
                    v = v.dropDuplicatesWithinWatermark(cols)
                else:
                    v = v.dropDuplicates(cols)
                v.createOrReplaceTempView(view)
            except Exception as e:  # no such view or column, no watermark
                raise PipelineError(f"{q.path}: @dedupe {view}({', '.join(cols)}): {e}") from e
        df = _run(spark, q.path, q.statements[-1])
        missing = {"topic", "value"} - set(df.columns)
        if missing:
            raise PipelineError(f"{q.path}: the final SELECT must return topic, key, value "
                                f"[, headers]; missing {', '.join(sorted(missing))}")
        return df


def _run(spark, path, stmt):
    try:
        return spark.sql(stmt)
    except Exception as e:  # AnalysisException, ParseException: name the file
        raise PipelineError(f"{path}: {e}") from e


# ---- session and streams -------------------------------------------------------


def session_conf(args):
    """Session settings the SQL relies on, plus the user's passthrough conf."""
    conf = {
        # date_format renders UTC, so "...Z" is true
        "spark.sql.session.timeZone": "UTC",
        "spate.topic_raw": args.topic_raw,
        "spate.topic_clean": args.topic_clean,
        "spate.topic_stats": args.topic_stats,
        "spate.topic_dlq": args.topic_dlq,
        "spate.watermark": args.watermark,
    }
    return conf


def local_master(master, realtime_queries, microbatch_queries, partitions):
    """The master to use: `master`, with more threads when it is local[N].

    A real-time query keeps one long-running task per Kafka partition busy for
    the whole batch; with fewer task slots than that, the partitions take turns
    one batch duration at a time and latency becomes the batch duration. Those
    tasks mostly wait on the network, so in local mode we give each a thread of
    its own (threads, not cores), plus two for the micro-batch queries.
    Returns (master, note or None).
    """
    m = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master or "")
    if not m or not realtime_queries:
        return master, None
    if m.group(1) in (None, ""):
        have = 1
    elif m.group(1) == "*":
        have = os.cpu_count() or 1
    else:
        have = int(m.group(1))
    need = realtime_queries * partitions + (2 if microbatch_queries else 0)
    if have >= need:
        return master, None
    rest = master[m.end(1):] if m.group(1) else "]"
    new = f"local[{need}{rest}" if m.group(1) else f"local[{need}]"
    return new, (f"master {master} has {have} task slot(s); {realtime_queries} real-time "
                 f"quer{'y' if realtime_queries == 1 else 'ies'} x {partitions} Kafka partitions"
                 f"{' + 2 for micro-batch' if microbatch_queries else ''} need {need}: using {new}")


def build_session(args, master=None):
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName(args.app_name)
    master = master or args.master
    if master:
        b = b.master(master)
    defaults = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.streaming.stopGracefullyOnShutdown": "true",
    }
    user = dict(kv for kv in args.conf)
    for k, v in defaults.items():
        if k not in user:
            b = b.config(k, v)
    if args.jars:
        b = b.config("spark.jars", args.jars)
    for k, v in user.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel(args.spark_log_level)
    for k, v in session_conf(args).items():
        spark.conf.set(k, v)
    return spark


def resolve_trigger(query, wanted):
    """(kind, value) for the writer: ('realTime', dur) or ('processingTime', dur).

    wanted: auto | realtime | realtime:DUR | microbatch | processingTime:DUR.
    auto = real-time mode when the query file says Spark supports it, else
    micro-batch with the default trigger (next batch as soon as one ends).
    """
    w = (wanted or "auto").strip()
    if w == "auto":
        w = query.default_trigger or ("realtime" if query.realtime_supported else "microbatch")
    if w == "microbatch":
        return ("processingTime", "0 seconds")
    if w.startswith("processingTime:"):
        return ("processingTime", _duration(w.split(":", 1)[1]))
    if w == "realtime" or w.startswith("realtime:"):
        if not query.realtime_supported:
            raise PipelineError(
                f"query '{query.name}' cannot run in real-time mode on this Spark "
                f"({query.path}: @realtime: {query.directives.get('realtime', 'unsupported')}); "
                f"use trigger microbatch or auto")
        dur = w.split(":", 1)[1] if ":" in w else DEFAULT_REALTIME_BATCH
        return ("realTime", _duration(dur))
    raise PipelineError(f"bad trigger '{wanted}' for query '{query.name}'")


def _duration(text):
    """'250ms' / '5s' / '2m' / '1h' / '30 seconds' -> Spark interval text."""
    t = text.strip()
    m = re.fullmatch(r"(\d+)\s*(ms|s|m|h)?", t)
    if not m:
        return t  # already "30 seconds" style
    unit = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours",
            None: "milliseconds"}[m.group(2)]
    return f"{m.group(1)} {unit}"


# ---- Kafka security ------------------------------------------------------------

# JAAS login modules of the Java client, by SASL mechanism.
_JAAS_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
# `spate spark` passes the connection settings of kafka.properties (librdkafka
# names) in this variable, as a JSON object, so passwords stay out of argv.
KAFKA_PROPERTIES_ENV = "SPATE_KAFKA_PROPERTIES"


def _jaas_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _read(path, key):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise PipelineError(f"kafka.properties.{key}: cannot read {path}: {e.strerror}") from e


def java_kafka_options(props):
    """Spark Kafka source/sink options (kafka.*) for librdkafka settings.

    The C stages and the Spark job read one kafka.properties: security.protocol,
    sasl.mechanism(s), sasl.username/password, ssl.ca.location and a client
    certificate become the Java client's settings. PEM files are passed by
    content (ssl.truststore.certificates), so executors on other hosts need no
    copy of them. Raises PipelineError for what cannot be translated.
    """
    out = {}
    proto = props.get("security.protocol")
    if proto:
        out["kafka.security.protocol"] = proto.upper()
    mech = props.get("sasl.mechanism") or props.get("sasl.mechanisms")
    if mech:
        mech = mech.strip().upper()
        out["kafka.sasl.mechanism"] = mech
        if mech in _JAAS_MODULES:
            user, password = props.get("sasl.username"), props.get("sasl.password")
            if user is None or password is None:
                raise PipelineError(f"kafka.properties: sasl.mechanism {mech} needs "
                                    "sasl.username and sasl.password")
            out["kafka.sasl.jaas.config"] = (f"{_JAAS_MODULES[mech]} required "
                                             f"username={_jaas_quote(user)} "
                                             f"password={_jaas_quote(password)};")
        else:
            raise PipelineError(f"kafka.properties: the Spark job cannot translate sasl.mechanism "
                                f"{mech}; give spark.kafka_options kafka.sasl.jaas.config (and "
                                "what else the Java client needs) yourself")
    ca = props.get("ssl.ca.location")
    if ca:
        out["kafka.ssl.truststore.type"] = "PEM"
        out["kafka.ssl.truststore.certificates"] = _read(ca, "ssl.ca.location")
    cert, key = props.get("ssl.certificate.location"), props.get("ssl.key.location")
    if cert and key:
        # the Java client reads PKCS#8 keys ("BEGIN PRIVATE KEY") only
        out["kafka.ssl.keystore.type"] = "PEM"
        out["kafka.ssl.keystore.certificate.chain"] = _read(cert, "ssl.certificate.location")
        out["kafka.ssl.keystore.key"] = _read(key, "ssl.key.location")
        if props.get("ssl.key.password"):
            out["kafka.ssl.key.password"] = props["ssl.key.password"]
    if (props.get("ssl.endpoint.identification.algorithm") or "").lower() == "none":
        out["kafka.ssl.endpoint.identification.algorithm"] = ""
    return out


def kafka_client_options(args):
    """The security options every Kafka source and sink of the job gets."""
    raw = os.environ.get(KAFKA_PROPERTIES_ENV)
    if not raw:
        return {}
    try:
        props = json.loads(raw)
    except ValueError as e:
        raise PipelineError(f"{KAFKA_PROPERTIES_ENV} is not a JSON object: {e}") from e
    if not isinstance(props, dict):
        raise PipelineError(f"{KAFKA_PROPERTIES_ENV} is not a JSON object")
    return java_kafka_options({str(k): str(v) for k, v in props.items()})


def kafka_source(spark, args, topic=None):
    r = (spark.readStream.format("kafka")
         .option("kafka.bootstrap.servers", args.bootstrap)
         .option("subscribe", topic or args.topic_raw)
         .option("includeHeaders", "true")
         # Only used when the checkpoint is new; a restart always resumes from
         # the checkpoint's offsets.
         .option("startingOffsets", args.starting_offsets)
         .option("failOnDataLoss", "true" if args.fail_on_data_loss else "false")
         # The broker answers a waiting fetch as soon as a record arrives, so a
         # long wait costs no latency; at the default 500 ms every real-time
         # task woke the broker twice a second while nothing arrived.
         .option("kafka.fetch.max.wait.ms", IDLE_FETCH_WAIT_MS))
    for k, v in args.kafka_security.items():
        r = r.option(k, v)
    for k, v in args.kafka_option:
        if not k.startswith("sink."):
            r = r.option(k[len("source."):] if k.startswith("source.") else k, v)
    return r.load()


def checkpoint_of(args, query):
    """The query's checkpoint folder. A checkpoint holds offsets of the topic
    it was made on, so a query that reads another topic gets a folder of its
    own (stats read users.raw before it read users.clean)."""
    folder = query.name if query.input == "raw" else f"{query.name}-{query.input}"
    return os.path.join(args.checkpoint_dir, folder)


def start_query(spark, args, pipeline, name, prefix=""):
    q = pipeline.query(name)
    kind, value = resolve_trigger(q, dict(args.query_trigger).get(name, args.trigger))
    topic = args.topic_clean if q.input == "clean" else args.topic_raw
    # ${spate.topic_*} of this pipeline: Spark substitutes them when the SQL is parsed
    for k in ("topic_raw", "topic_clean", "topic_stats", "topic_dlq"):
        spark.conf.set(f"spate.{k}", getattr(args, k))
    df = pipeline.frame(spark, name, kafka_source(spark, args, topic))
    cols = [c for c in ("topic", "key", "value", "headers") if c in df.columns]
    w = (df.select(*cols).writeStream.format("kafka")
         .queryName(prefix + name)
         .option("kafka.bootstrap.servers", args.bootstrap)
         .option("checkpointLocation", checkpoint_of(args, q))
         .outputMode(q.output_mode))
    if args.compression and args.compression != "none":
        w = w.option("kafka.compression.type", args.compression)
    for k, v in args.kafka_security.items():
        w = w.option(k, v)
    for k, v in args.kafka_option:
        if not k.startswith("source."):
            w = w.option(k[len("sink."):] if k.startswith("sink.") else k, v)
    w = w.trigger(**{kind: value})
    saved = {k: spark.conf.get(k, None) for k in q.conf}
    for k, v in q.conf.items():
        spark.conf.set(k, v)
    try:
        sq = w.start()
    finally:
        for k, v in saved.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
    mode = "real-time" if kind == "realTime" else "micro-batch"
    log(f"query {prefix}{name} started ({mode}, trigger {kind}={value}, output {q.output_mode}, "
        f"checkpoint {checkpoint_of(args, q)})")
    return sq


def log_progress(queries, seen):
    """One line per finished batch of each query: where its time went.

    Spark's own progress report (durationMs) splits a batch into planning,
    offset and commit-log writes and the work itself, which is how a stall at
    a real-time batch boundary is told apart from slow processing.
    """
    for sq in queries:
        try:
            p = sq.lastProgress
        except Exception:  # the query is stopping
            continue
        if not p or seen.get(sq.name) == p.get("batchId"):
            continue
        seen[sq.name] = p.get("batchId")
        d = p.get("durationMs", {})
        parts = " ".join(f"{k}={v}" for k, v in sorted(d.items()))
        log(f"progress {sq.name} batch {p.get('batchId')}: rows {p.get('numInputRows')} "
            f"at {p.get('timestamp')}; ms: {parts}")


def log(msg):
    print(f"spate spark: {msg}", file=sys.stderr, flush=True)


# ---- command line --------------------------------------------------------------


def _kv(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    k, v = text.split("=", 1)
    return (k.strip(), v)


def _bool(text):
    t = text.strip().lower()
    if t in ("true", "1", "yes", "on"):
        return True
    if t in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="spate_job.py",
                                description="Run the spate SQL pipeline on Spark.")
    p.add_argument("--master", help="Spark master (omit under spark-submit)")
    p.add_argument("--app-name", default="spate")
    p.add_argument("--jars", help="comma-separated jars for spark.jars (omit under spark-submit)")
    p.add_argument("--conf", type=_kv, action="append", default=[], metavar="K=V",
                   help="Spark conf, repeatable")
    p.add_argument("--bootstrap", default="127.0.0.1:9092")
    p.add_argument("--topic-raw", default="users.raw")
    p.add_argument("--topic-clean", default="users.clean")
    p.add_argument("--topic-stats", default="users.stats")
    p.add_argument("--topic-dlq", default="users.dlq")
    p.add_argument("--compression", default="lz4")
    p.add_argument("--kafka-partitions", type=int, default=6,
                   help="partitions of the raw topic: task slots a real-time query needs")
    p.add_argument("--kafka-option", type=_kv, action="append", default=[], metavar="K=V",
                   help="Kafka source and sink option, repeatable; prefix source. or sink. "
                        "to give it to one side only")
    p.add_argument("--sql-dir", default="pipelines/users")
    p.add_argument("--extra-pipeline", action="append", default=[], metavar="JSON",
                   help="another pipeline in the same session, repeatable: a JSON object with "
                        "name, sql_dir, checkpoint_dir, topic_raw, topic_clean, topic_stats, "
                        "topic_dlq; its queries are named NAME.QUERY")
    p.add_argument("--checkpoint-dir", default=".spate/spark/checkpoints")
    p.add_argument("--starting-offsets", default="earliest", choices=["earliest", "latest"])
    p.add_argument("--fail-on-data-loss", type=_bool, default=True)
    p.add_argument("--watermark", default="30 seconds")
    p.add_argument("--trigger", default="auto",
                   help="auto | realtime[:DUR] | microbatch | processingTime:DUR")
    p.add_argument("--query-trigger", type=_kv, action="append", default=[], metavar="Q=TRIGGER",
                   help="trigger of one query, repeatable")
    p.add_argument("--query", action="append", default=[],
                   help="run only this query, repeatable (default: every query file)")
    p.add_argument("--spark-log-level", default="WARN")
    p.add_argument("--progress-log", action="store_true",
                   default=os.environ.get("SPATE_SPARK_PROGRESS") == "1",
                   help="log each finished batch of every query with Spark's durations")
    p.add_argument("--check", action="store_true",
                   help="load the SQL, resolve triggers, print the plan of each query and exit")
    # filled from the environment by main(): see kafka_client_options
    p.set_defaults(kafka_security={})
    return p.parse_args(argv)


def extra_pipelines(args):
    """The --extra-pipeline specs as (prefix, args, Pipeline, query names): one
    Spark session runs every pipeline of a `spate run`, a JVM for all."""
    out = []
    for spec in args.extra_pipeline:
        try:
            d = json.loads(spec)
            a = argparse.Namespace(**vars(args))
            for k in ("sql_dir", "checkpoint_dir", "topic_raw", "topic_clean", "topic_stats",
                      "topic_dlq"):
                setattr(a, k, str(d[k]))
            name = str(d["name"])
        except (ValueError, KeyError, TypeError) as e:
            raise PipelineError(f"--extra-pipeline {spec}: {e}") from e
        pl = Pipeline(a.sql_dir)
        out.append((name + ".", a, pl, sorted(pl.queries)))
    return out


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        args.kafka_security = kafka_client_options(args)
        pipeline = Pipeline(args.sql_dir)
        names = args.query or sorted(pipeline.queries)
        # every pipeline of the run in one session: (query name prefix, args, pipeline, names)
        runs = [("", args, pipeline, names)] + extra_pipelines(args)
        kinds = [resolve_trigger(pl.query(n), dict(a.query_trigger).get(n, a.trigger))[0]
                 for _, a, pl, ns in runs for n in ns]  # fail fast, before the JVM starts
    except PipelineError as e:
        log(f"error: {e}")
        return 2
    rt = kinds.count("realTime")
    master, note = local_master(args.master, rt, len(kinds) - rt, args.kafka_partitions)
    if note:
        log(note)

    spark = build_session(args, master)
    stopping = {"flag": False}
    wake = threading.Event()

    def on_signal(signum, frame):
        # Only a flag and a wake-up: a py4j call from inside a signal handler
        # would re-enter the gateway connection the main loop may be using.
        if not stopping["flag"]:
            log(f"signal {signum}: stopping the queries")
        stopping["flag"] = True
        wake.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if args.check:
            for n in names:
                q = pipeline.query(n)
                topic = args.topic_clean if q.input == "clean" else args.topic_raw
                df = pipeline.frame(spark, n, kafka_source(spark, args, topic))
                kind, value = resolve_trigger(pipeline.query(n),
                                              dict(args.query_trigger).get(n, args.trigger))
                print(f"query {n}: trigger {kind}={value}, columns {', '.join(df.columns)}")
            return 0
        queries = [start_query(spark, a, pl, n, prefix) for prefix, a, pl, ns in runs for n in ns]
        seen = {}
        # The driver watches its queries from Python. Spark's
        # awaitAnyTermination waits in 10 ms steps inside the JVM, which was
        # most of an idle driver's CPU; a query's state is one cheap call.
        while not stopping["flag"]:
            try:
                alive = 0
                for sq in queries:
                    if sq.isActive:
                        alive += 1
                        continue
                    e = sq.exception()
                    if e is not None:
                        raise RuntimeError(f"query {sq.name}: {e}")
                if not alive:
                    break
                if args.progress_log:
                    log_progress(queries, seen)
            except Exception as e:  # a query failed: stop the rest, exit non-zero
                if stopping["flag"]:
                    break
                log(f"error: query failed: {e}")
                for sq in spark.streams.active:
                    sq.stop()
                return 1
            wake.wait(WATCH_INTERVAL_S)
        if stopping["flag"]:
            for sq in spark.streams.active:
                sq.stop()
            log("queries stopped")
        return 0
    except PipelineError as e:
        log(f"error: {e}")
        return 2
    except Exception as e:
        if stopping["flag"]:  # the JVM went away first on a signal to the group
            return 0
        raise
    finally:
        try:
            spark.stop()
        except Exception:
            pass


if __name__ == "__main__":
    sys.exit(main())
