# SPDX-License-Identifier: Apache-2.0
"""Benchmark of the Spark job's `clean` query: latency and throughput.

Latency: records are produced at a fixed rate (spark_load, spate.fetched_at =
the wall clock just before each send) for DURATION seconds; a consumer on
users.clean takes arrival = the wall clock when it receives a record, and
reports p50/p99/p99.9 of arrival - fetched_at. Each rate runs once in
real-time mode and once in micro-batch with the default trigger (next batch
as soon as the previous ends), in the same run, because this machine is noisy.

Throughput: a backlog of BACKLOG records is produced first, then the job
starts and the time from its first output to the last is measured: the
maximum sustained records/s of `clean` on this machine, in both modes.

  .venv/bin/python bench/spark/bench.py [--rates 1000,10000] [--duration 120]
      [--backlog 300000] [--modes realtime,microbatch] [--out bench/spark/results.txt]

Needs Kafka on SPATE_KAFKA (default 127.0.0.1:9092) and the built spate binary
(SPATE_BIN, default build/spate). Uses its own topics and checkpoints.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPATE = os.environ.get("SPATE_BIN") or os.path.join(ROOT, "build", "spate")
KAFKA = os.environ.get("SPATE_KAFKA", "127.0.0.1:9092")
PARTITIONS = 3


def log(msg):
    print(msg, flush=True)


def create_topic(name, partitions=PARTITIONS):
    cp = os.path.join(ROOT, "deps", "lib", "kafka", "*")
    subprocess.run(["java", "-cp", cp, "org.apache.kafka.tools.TopicCommand",
                    "--bootstrap-server", KAFKA, "--create", "--if-not-exists", "--topic", name,
                    "--partitions", str(partitions), "--replication-factor", "1"],
                   check=True, stdout=subprocess.DEVNULL, timeout=180)


def topic_count(topic):
    r = subprocess.run(["kcat", "-C", "-b", KAFKA, "-t", topic, "-e", "-q", "-f", "%T\\n"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=600)
    ts = [int(x) for x in r.stdout.split()]
    return len(ts), (min(ts) if ts else 0), (max(ts) if ts else 0)


class Job:
    def __init__(self, tmp, name, trigger, raw):
        self.topics = {"raw": raw, "clean": f"{raw}.clean", "dlq": f"{raw}.dlq",
                       "stats": f"{raw}.stats"}
        self.cfg = os.path.join(tmp, f"{name}.yaml")
        self.log = os.path.join(tmp, f"{name}.log")
        with open(self.cfg, "w") as f:
            f.write(f"""kafka:
  bootstrap_servers: {KAFKA}
  partitions: {PARTITIONS}
  topic_raw: {self.topics['raw']}
  topic_clean: {self.topics['clean']}
  topic_stats: {self.topics['stats']}
  topic_dlq: {self.topics['dlq']}
spark:
  master: local[2]
  checkpoint_dir: {os.path.join(tmp, name, 'ckpt')}
  trigger: {trigger}
  conf:
    spark.ui.enabled: "false"
    spark.sql.shuffle.partitions: "2"
""")
        self.proc = None

    def start(self):
        f = open(self.log, "ab")
        self.proc = subprocess.Popen([SPATE, "-c", self.cfg, "spark", "run", "--query", "clean"],
                                     stdout=f, stderr=f, start_new_session=True, cwd=ROOT)

    def wait_started(self, timeout=600):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"job exited early, see {self.log}")
            with open(self.log, errors="replace") as f:
                if "query clean started" in f.read():
                    return
            time.sleep(2)
        raise RuntimeError(f"job did not start in {timeout}s, see {self.log}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def trigger_of(mode):
    """realtime, realtime:DUR (the checkpoint interval of real-time mode) or microbatch."""
    return mode if mode.startswith("realtime") else "microbatch"


def produce(tool, topic, count, rate):
    return subprocess.Popen([tool, "produce", KAFKA, topic, str(count), str(rate), "0", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def latency_run(tool, tmp, mode, rate, duration, tag):
    safe = mode.replace(":", "-")
    raw = f"bench-spark-{tag}-{safe}-{rate}"
    create_topic(raw)
    job = Job(tmp, f"{safe}-{rate}", trigger_of(mode), raw)
    job.start()
    try:
        job.wait_started()
        # warm-up: the first records pay for code generation and connections
        warm = produce(tool, raw, max(rate * 10, 2000), rate)
        warm.communicate()
        t_warm_end = int(time.time() * 1000) + 2000
        time.sleep(5)
        count = rate * duration
        cons = subprocess.Popen([tool, "latency", KAFKA, job.topics["clean"],
                                 str(count + max(rate * 10, 2000)), str(duration + 180),
                                 str(t_warm_end)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(2)
        p = produce(tool, raw, count, rate)
        pout = p.communicate()[0].strip()
        cout = cons.communicate()[0].strip()
        return pout, cout
    finally:
        job.stop()


def throughput_run(tool, tmp, mode, backlog, tag):
    safe = mode.replace(":", "-")
    raw = f"bench-spark-{tag}-tput-{safe}"
    create_topic(raw)
    p = produce(tool, raw, backlog, 0)
    pout = p.communicate()[0].strip()
    job = Job(tmp, f"tput-{safe}", trigger_of(mode), raw)
    job.start()
    try:
        job.wait_started()
        t0 = time.time()
        last = -1
        while time.time() - t0 < 1800:
            n, first_ts, last_ts = topic_count(job.topics["clean"])
            if n >= backlog:
                break
            if n == last and n > 0 and time.time() - t0 > 60:
                pass
            last = n
            time.sleep(10)
        n, first_ts, last_ts = topic_count(job.topics["clean"])
        secs = max((last_ts - first_ts) / 1000.0, 0.001)
        return pout, f"clean rows {n} of {backlog}; first to last output {secs:.1f} s: " \
                     f"{n / secs:.0f} records/s"
    finally:
        job.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="1000,10000")
    ap.add_argument("--duration", type=int, default=120)
    ap.add_argument("--backlog", type=int, default=300000)
    ap.add_argument("--modes", default="realtime,microbatch",
                    help="realtime, realtime:DUR (e.g. realtime:5m), microbatch")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "spark", "results.txt"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="spate-bench-spark-")
    tool = os.path.join(tmp, "spark_load")
    subprocess.run(["cc", "-O2", "-o", tool, os.path.join(ROOT, "bench", "spark", "spark_load.c"),
                    "-lrdkafka"], check=True)
    tag = str(int(time.time()))
    lines = [f"# spate spark bench {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
             f"host {os.uname().nodename} cpus {os.cpu_count()} load {os.getloadavg()[0]:.1f} "
             f"raw partitions {PARTITIONS}"]
    try:
        if not a.skip_latency:
            for rate in [int(r) for r in a.rates.split(",")]:
                for mode in a.modes.split(","):
                    log(f"latency: {mode} at {rate}/s for {a.duration}s ...")
                    pout, cout = latency_run(tool, tmp, mode, rate, a.duration, tag)
                    line = f"latency mode={mode} rate={rate}/s duration={a.duration}s | {pout} | {cout}"
                    log(line)
                    lines.append(line)
        if not a.skip_throughput:
            for mode in a.modes.split(","):
                log(f"throughput: {mode}, backlog {a.backlog} ...")
                pout, res = throughput_run(tool, tmp, mode, a.backlog, tag)
                line = f"throughput mode={mode} | {pout} | {res}"
                log(line)
                lines.append(line)
    finally:
        lines.append(f"# load at end {os.getloadavg()[0]:.1f}")
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        with open(a.out, "a") as f:
            f.write("\n".join(lines) + "\n")
        log(f"results appended to {a.out}")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([os.path.join(ROOT, "bench", "drop-topics"), f"bench-spark-{tag}-.*"],
                       env=dict(os.environ, SPATE_KAFKA=KAFKA))


if __name__ == "__main__":
    sys.exit(main())
