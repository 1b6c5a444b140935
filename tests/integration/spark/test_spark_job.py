# SPDX-License-Identifier: Apache-2.0
"""Integration of the Spark job on real Kafka + Spark local mode.

Run by tests/integration/spark/run.sh (environment from tests/integration/run:
SPATE_BIN, SPATE_KAFKA, SPATE_ROOT, SPATE_RUN_ID). Each run uses its own topics
and checkpoint folder, so it never sees another run's data.

1. the command line `spate spark run|submit` builds, and errors it reports;
2. randomuser-shaped records (valid, rule-breaking, malformed) -> the job ->
   users.clean / users.dlq / users.stats: raw = clean + process DLQ per key,
   every DLQ row names a rule, stats signups add up to the clean count;
3. kill -9 of the Spark driver (the JVM and its python) mid-stream, restart:
   every raw record ends in clean or DLQ, none lost; duplicates are counted.

The job of 2. starts before anything created its topics, as on a fresh stack:
`spate spark run` creates them with the configured partitions (no Java stack
trace); with no broker at all it waits, saying so in one line.

Prints "N passed, N failed" last; exits non-zero on any failure.
"""
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("SPATE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SPATE = os.environ.get("SPATE_BIN") or os.path.join(ROOT, "build", "spate")
KAFKA = os.environ.get("SPATE_KAFKA", "127.0.0.1:9092")
RUN_ID = os.environ.get("SPATE_RUN_ID") or str(int(time.time()))
PARTITIONS = 3

results = {"passed": 0, "failed": 0}
procs = []  # process groups this test started


def ok(cond, what, detail=""):
    if cond:
        results["passed"] += 1
        print(f"ok   {what}", flush=True)
    else:
        results["failed"] += 1
        print(f"FAIL {what}{': ' + detail if detail else ''}", flush=True)
    return cond


def log(msg):
    print(f"     {msg}", flush=True)


# ---- Kafka helpers (kcat and the Kafka tools jar) -----------------------------------

def read_topic(topic, fmt="%k\t%h\t%s\n"):
    """Every record of topic as (key, headers dict, value str)."""
    r = subprocess.run(["kcat", "-C", "-b", KAFKA, "-t", topic, "-e", "-q", "-u",
                        "-f", fmt.replace("\n", "\\n").replace("\t", "\\t")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    out = []
    for line in r.stdout.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        k, h, v = line.split("\t", 2)
        hd = {}
        for part in h.split(","):
            if "=" in part:
                a, b = part.split("=", 1)
                hd[a] = b
        out.append((k, hd, v))
    return out


def count_keys(topic):
    r = subprocess.run(["kcat", "-C", "-b", KAFKA, "-t", topic, "-e", "-q", "-f", "%k\\n"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=300)
    return r.stdout.decode("utf-8", "replace").count("\n")


# ---- the job ---------------------------------------------------------------------------

def topic_partitions(name):
    """Partitions of topic name, 0 when it does not exist. Lists every topic:
    a metadata request naming it would have the broker auto-create it."""
    r = subprocess.run(["kcat", "-L", "-b", KAFKA], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=60)
    m = re.search(rf'topic "{re.escape(name)}" with (\d+) partitions',
                  r.stdout.decode("utf-8", "replace"))
    return int(m.group(1)) if m else 0


def write_config(path, topics, ckpt, bootstrap=KAFKA):
    with open(path, "w") as f:
        f.write(f"""# written by tests/integration/spark/test_spark_job.py
log_level: info
kafka:
  bootstrap_servers: {bootstrap}
  partitions: {PARTITIONS}
  topic_raw: {topics['raw']}
  topic_clean: {topics['clean']}
  topic_stats: {topics['stats']}
  topic_dlq: {topics['dlq']}
spark:
  master: local[2]
  checkpoint_dir: {ckpt}
  starting_offsets: earliest
  fail_on_data_loss: true
  watermark: 10 seconds
  queries:
    - name: clean
      trigger: realtime:10s
  conf:
    spark.ui.enabled: "false"
    spark.sql.shuffle.partitions: "2"
""")


def start_job(cfg, logpath):
    f = open(logpath, "ab")
    p = subprocess.Popen([SPATE, "-c", cfg, "spark", "run"], stdout=f, stderr=f,
                         start_new_session=True, cwd=ROOT)
    procs.append(p)
    return p


def kill_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def stop_job(p, grace=60):
    if p.poll() is not None:
        return
    kill_group(p, signal.SIGTERM)
    try:
        p.wait(grace)
    except subprocess.TimeoutExpired:
        kill_group(p, signal.SIGKILL)
        p.wait(10)
    # the JVM is in the same session; make sure nothing of it is left
    kill_group(p, signal.SIGKILL)


def group_alive(pgid):
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as s:
                    fields = s.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    return True
            except (OSError, IndexError, ValueError):
                pass
    return False


def wait_for(pred, timeout, every=3.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return pred()


def build_load_tool(tmp):
    exe = os.path.join(tmp, "spark_load")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(ROOT, "bench", "spark", "spark_load.c"),
                    "-lrdkafka"], check=True)
    return exe


def produce(tool, topic, count, rate, bad=10, malformed=3, seed=None):
    args = [tool, "produce", KAFKA, topic, str(count), str(rate), str(bad), str(malformed)]
    if seed is not None:
        args.append(str(seed))
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


# ---- checks ------------------------------------------------------------------------------

def reconcile(topics, what):
    """raw = clean + process DLQ per key. Returns (missing, both, dup_rows)."""
    raw = collections.Counter(k for k, _, _ in read_topic(topics["raw"]))
    clean = collections.Counter(k for k, _, _ in read_topic(topics["clean"]))
    dlq_rows = read_topic(topics["dlq"])
    dlq = collections.Counter(k for k, _, _ in dlq_rows)
    missing = [k for k in raw if k not in clean and k not in dlq]
    both = [k for k in raw if k in clean and k in dlq]
    extra = [k for k in list(clean) + list(dlq) if k not in raw]
    dup_rows = (sum(clean.values()) + sum(dlq.values())) - (len(clean) + len(dlq))
    ok(not missing, f"{what}: every raw key is in clean or DLQ",
       f"{len(missing)} missing, e.g. {missing[:3]}")
    ok(not both, f"{what}: no key in both clean and DLQ", f"{len(both)}, e.g. {both[:3]}")
    ok(not extra, f"{what}: no key in clean/DLQ that is not in raw", f"{extra[:3]}")
    log(f"{what}: raw {sum(raw.values())} records ({len(raw)} keys), clean "
        f"{sum(clean.values())}, DLQ {sum(dlq.values())}, duplicate rows {dup_rows}")
    return raw, clean, dlq, dlq_rows, dup_rows


def main():
    tmp = tempfile.mkdtemp(prefix="spate-it-spark-")
    topics = {t: f"it-spark-{RUN_ID}.{t}" for t in ("raw", "clean", "dlq", "stats")}
    ckpt = os.path.join(tmp, "checkpoints")
    cfg = os.path.join(tmp, "spate.yaml")
    write_config(cfg, topics, ckpt)
    joblog = os.path.join(tmp, "job.log")
    job = None
    try:
        # -- 1. command line ------------------------------------------------------
        r = subprocess.run([SPATE, "-c", cfg, "spark", "run", "--dry-run"],
                           capture_output=True, text=True, cwd=ROOT)
        cmd = r.stdout
        ok(r.returncode == 0 and "spate_job.py" in cmd and "spark-sql-kafka" in cmd
           and f"--topic-raw {topics['raw']}" in cmd and "--query-trigger clean=realtime:10s" in cmd
           and f"--checkpoint-dir {ckpt}" in cmd,
           "spark run --dry-run: venv python, driver, Kafka jars, topics, trigger, checkpoints",
           cmd + r.stderr)
        r = subprocess.run([SPATE, "-c", cfg, "spark", "submit", "--master", "spark://127.0.0.1:7077",
                            "--dry-run"], capture_output=True, text=True, cwd=ROOT)
        ok(r.returncode == 0 and r.stdout.split()[0].endswith("/spark-submit")
           and "--master spark://127.0.0.1:7077" in r.stdout and "--jars " in r.stdout,
           "spark submit --master URL --dry-run: spark-submit with master and jars",
           r.stdout + r.stderr)
        r = subprocess.run([SPATE, "-c", cfg, "spark", "submit", "--dry-run"],
                           capture_output=True, text=True, cwd=ROOT)
        ok(r.returncode == 2 and "--master" in r.stderr, "spark submit without --master: usage error",
           r.stderr)
        # its own topics: the job of 2. must find none of its own created
        cfg_rt = os.path.join(tmp, "spate-rt.yaml")
        write_config(cfg_rt, {t: n + "-rt" for t, n in topics.items()}, ckpt + "-rt")
        r = subprocess.run([SPATE, "-c", cfg_rt, "spark", "run", "--trigger", "stats=realtime"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
        ok(r.returncode == 2 and "real-time" in r.stderr,
           "realtime trigger on the stateful stats query is refused with a reason", r.stderr[-500:])

        # no broker at all: one line naming what is missing, then waiting
        cfg_nok = os.path.join(tmp, "spate-nokafka.yaml")
        write_config(cfg_nok, topics, ckpt + "-nokafka", bootstrap="127.0.0.1:1")
        nok_log = os.path.join(tmp, "nokafka.log")
        nok = start_job(cfg_nok, nok_log)
        time.sleep(8)
        alive = nok.poll() is None
        kill_group(nok, signal.SIGTERM)
        try:
            nok.wait(10)
            stopped = True
        except subprocess.TimeoutExpired:
            stopped = False
        stop_job(nok)
        with open(nok_log, errors="replace") as f:
            text = f.read()
        waiting = [ln for ln in text.splitlines() if "waiting for Kafka topic" in ln]
        ok(alive and stopped and len(waiting) == 1 and "127.0.0.1:1" in waiting[0]
           and "Exception" not in text,
           "spark run with no broker: waits, saying so in one line; SIGTERM stops it", text[-1500:])

        # -- 2. records through the job ----------------------------------------------
        # Started on a fresh stack: nothing created the raw topic yet.
        tool = build_load_tool(tmp)
        ok(topic_partitions(topics["raw"]) == 0, "the raw topic does not exist before the job")
        job = start_job(cfg, joblog)
        parts = wait_for(lambda: topic_partitions(topics["raw"]), timeout=120, every=1)
        ok(parts == PARTITIONS, f"spark run created the raw topic with {PARTITIONS} partitions",
           f"{parts} partitions; see {joblog}")
        p = produce(tool, topics["raw"], 3000, 0, bad=10, malformed=3, seed=42)
        out = p.communicate(timeout=120)[0].decode()
        ok(p.returncode == 0, "3000 records produced to raw", out)
        first = 3000
        done = wait_for(lambda: count_keys(topics["clean"]) + count_keys(topics["dlq"]) >= first,
                        timeout=600, every=5)
        ok(done, "clean + DLQ reach the raw count", f"see {joblog}")
        with open(joblog, errors="replace") as f:
            text = f.read()
        ok("UnknownTopicOrPartition" not in text and job.poll() is None,
           "the job started before its topic existed and is running, no stack trace",
           text[-1500:])
        raw, clean, dlq, dlq_rows, dup = reconcile(topics, "first run")
        ok(dup == 0, "first run: no duplicates without a failure", str(dup))

        reasons = collections.Counter(json.loads(v)["reason"] for _, _, v in dlq_rows)
        log(f"DLQ reasons: {dict(reasons)}")
        ok("malformed_json" in reasons and len(reasons) >= 3,
           "DLQ holds malformed JSON and rule breaks, each with its rule", str(reasons))
        hdr_ok = all(h.get("spate.stage") == "process" and h.get("spate.error") ==
                     json.loads(v)["reason"] for _, h, v in dlq_rows)
        ok(hdr_ok, "every DLQ row has headers spate.stage=process and spate.error=<rule>")
        env_ok = all(set(json.loads(v)) == {"stage", "reason", "key", "raw", "at"}
                     for _, _, v in dlq_rows)
        ok(env_ok, "DLQ value is {stage, reason, key, raw, at}")

        crow = read_topic(topics["clean"])
        sample = json.loads(crow[0][2])
        ok(crow[0][0] == sample["user_id"] and sample["ingested_at"].endswith("Z")
           and isinstance(sample["latitude"], float) and isinstance(sample["postcode"], str)
           and "spate.fetched_at" in crow[0][1],
           "clean rows: key = user_id, typed fields, ISO timestamps, headers carried", crow[0][2])

        # stats: the latest value per key, summed, equals the clean count once
        # the watermark has closed the windows (new records move it on)
        def stats_total():
            latest = {}
            for k, _, v in read_topic(topics["stats"]):
                latest[k] = json.loads(v)
            return sum(s["signups"] for s in latest.values()), latest

        total = wait_for(lambda: stats_total()[0] >= len(clean), timeout=120, every=5)
        got, latest = stats_total()
        ok(got == len(clean), "stats: signups over all windows = clean records",
           f"stats {got} vs clean {len(clean)}")
        k0 = next(iter(latest), "")
        ok(k0.count("|") == 2 and k0.split("|")[0].endswith("Z"),
           "stats key is window_start|nationality|gender", k0)
        del total

        # -- 3. kill -9 mid-stream, restart ---------------------------------------------
        second = 8000
        p = produce(tool, topics["raw"], second, 1000, bad=10, malformed=3)
        # kill once the job is visibly working through the new records
        wait_for(lambda: count_keys(topics["clean"]) + count_keys(topics["dlq"]) >= first + 500,
                 timeout=120, every=1)
        before = count_keys(topics["clean"]) + count_keys(topics["dlq"])
        kill_group(job, signal.SIGKILL)
        job.wait(30)
        ok(wait_for(lambda: not group_alive(job.pid), 20, 1),
           "kill -9: the driver (python and its JVM) is gone")
        log(f"killed the job with {before} of {first + second} rows written; producer continues")
        out = p.communicate(timeout=120)[0].decode()
        ok(p.returncode == 0, f"{second} more records produced at 1000/s", out)
        job = start_job(cfg, joblog)
        total_raw = first + second
        done = wait_for(lambda: len({k for k, _, _ in read_topic(topics["clean"], "%k\t\t\n")}
                                    | {k for k, _, _ in read_topic(topics["dlq"], "%k\t\t\n")})
                        >= total_raw, timeout=900, every=10)
        ok(done, "after restart every raw key reaches clean or DLQ", f"see {joblog}")
        raw, clean, dlq, dlq_rows, dup = reconcile(topics, "after kill -9 and restart")
        ok(sum(raw.values()) == total_raw, "raw holds every produced record",
           str(sum(raw.values())))
        log(f"duplicates after kill -9 (replayed from the checkpoint; the sink upserts): {dup}")
        print(f"METRIC spark_kill9_duplicates {dup}", flush=True)
        # the stats query counts each user once: the copies the restart wrote
        # again into clean are not counted twice (before: signups = clean records)
        users = {k for k, _, _ in read_topic(topics["clean"], "%k\t\t\n")}
        wait_for(lambda: stats_total()[0] >= len(users), timeout=180, every=5)
        got = stats_total()[0]
        ok(got == len(users), f"stats after kill -9: signups = distinct clean users "
           f"({dup} replayed copies in clean not counted)", f"stats {got} vs {len(users)} users")
    finally:
        if job is not None:
            stop_job(job)
        for pr in procs:
            stop_job(pr)
        if results["failed"] and os.path.exists(joblog):
            print("---- job log (tail) ----")
            with open(joblog, "rb") as f:
                print(f.read()[-4000:].decode("utf-8", "replace"))
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"spark: {results['passed']} passed, {results['failed']} failed", flush=True)
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
