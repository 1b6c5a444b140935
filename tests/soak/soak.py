# SPDX-License-Identifier: Apache-2.0
"""soak.py -- the chaos soak: `spate run` under load while faults hit it.

Runs the default pipeline (`spate run`: api-sim, ingest, Spark, sink, serve over
Kafka and Cassandra) at a fixed rate and, every ~N minutes, injects a fault
drawn from a seeded generator (the seed is printed; --seed replays the same
schedule). At the end `spate run` stops the source, drains and runs `spate
verify`; this script adds what verify cannot see:

  * an independent oracle of what was fetched: the source asks api-sim for a
    fixed seed, so the keys of every page ingest's saved state says it finished
    are known (`spate api-sim keys`), and users.raw must hold exactly those;
  * no key twice in Cassandra (users_by_nationality is keyed by time, so a
    replayed record with a new timestamp would be a second row);
  * RSS of every C process flat after warm-up (<= 10% growth), from /proc;
  * for each fault, the seconds until the lags were back to steady.

It is driven by tests/soak/run (on demand, its own stack) and by
tests/integration/soak/run.sh (5 minutes in `make test`, the shared stack).
Environment: SPATE_BIN, SPATE_ROOT, SPATE_STATE_DIR and the SPATE_* port
variables spate.yaml reads.
"""
import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

FAULTS = ["kill-ingest", "kill-spark", "kill-sink", "kill-apisim", "kill-kafka",
          "kill-cassandra", "pause-cassandra", "api-503"]
PAUSE_S = 60
OUTAGE_S = 120
SOURCE_SEED = "soak"


def duration(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", s)
    if not m:
        raise argparse.ArgumentTypeError("'%s' is not a duration (e.g. 90s, 5m, 1h)" % s)
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def now():
    return time.monotonic()


class Soak:
    def __init__(self, a):
        self.a = a
        self.bin = os.environ.get("SPATE_BIN", "build/spate")
        self.state = os.path.abspath(os.environ["SPATE_STATE_DIR"])
        self.keyspace = os.environ.get("SPATE_KEYSPACE", "spate_soak")
        self.serve = "http://127.0.0.1:%s" % os.environ.get("SPATE_SERVE_PORT", "8080")
        self.apisim = "http://127.0.0.1:%s" % os.environ.get("SPATE_APISIM_PORT", "8088")
        self.kafka = "127.0.0.1:%s" % os.environ.get("SPATE_KAFKA_PORT", "9092")
        self.out = a.out
        os.makedirs(self.out, exist_ok=True)
        self.batch = max(1, min(500, int(a.rate / 10)))  # as spate run picks it
        self.samples = []            # (t, latest sample of /api/pipeline or None)
        self.rss = collections.OrderedDict()  # (stage, pid) -> [(t, kB)]
        self.proc_start = {}         # (stage, pid) -> t first seen
        self.results = []            # one dict per fault
        self.problems = []
        self.log_f = open(os.path.join(self.out, "soak.log"), "a")

    # ---- small helpers ----------------------------------------------------------------
    def log(self, msg):
        line = "[soak %s] %s" % (time.strftime("%H:%M:%S"), msg)
        print(line, flush=True)
        self.log_f.write(line + "\n")
        self.log_f.flush()

    def spate(self, *args, timeout=600, check=False):
        r = subprocess.run([self.bin, "-c", "spate.yaml", *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise SystemExit("spate %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                          r.stderr.strip()[-800:]))
        return r

    def get_json(self, url, timeout=2):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return json.loads(r.read())
        except Exception:
            return None

    def pipeline(self):
        d = self.get_json(self.serve + "/api/pipeline")
        return d.get("latest") if isinstance(d, dict) else None

    # ---- processes ----------------------------------------------------------------------
    @staticmethod
    def children(ppid):
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                if int(st[st.rindex(")") + 2:].split()[1]) != ppid:
                    continue
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
                out.append((int(d), [x.decode(errors="replace") for x in argv if x]))
            except (OSError, ValueError):
                continue
        return out

    def stages(self):
        """stage name -> pid of spate run's children (argv: spate -c FILE <stage> ...)."""
        res = {}
        if not self.run or self.run.poll() is not None:
            return res
        for pid, argv in self.children(self.run.pid):
            for w in argv[1:4]:
                if w in ("api-sim", "ingest", "spark", "sink", "serve"):
                    res[w] = pid
                    break
            else:  # `spate spark run` execs the driver's Python: no "spark" word is left
                if any(w.endswith("spate_job.py") for w in argv[1:3]):
                    res["spark"] = pid
        return res

    def spark_jvm(self):
        py = self.stages().get("spark")
        if not py:
            return None
        todo = [py]
        while todo:  # the JVM is a child of the driver's Python (spark-submit execs it)
            for pid, argv in self.children(todo.pop()):
                if argv and argv[0].endswith("java") and "SparkSubmit" in " ".join(argv):
                    return pid
                todo.append(pid)
        return None

    def stack_pid(self, svc):
        try:
            with open(os.path.join(self.state, svc, "pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def rss_kb(pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    # ---- sampling ---------------------------------------------------------------------
    def sample(self):
        t = now() - self.t0
        p = self.pipeline()
        self.samples.append((t, p))
        c_procs = dict(self.stages())
        c_procs.pop("spark", None)  # exec'd Python and its JVM, not C
        if self.run and self.run.poll() is None:
            c_procs["spate run"] = self.run.pid
        for stage, pid in c_procs.items():
            kb = self.rss_kb(pid)
            if kb is None:
                continue
            key = (stage, pid)
            self.proc_start.setdefault(key, t)
            self.rss.setdefault(key, []).append((t, kb))
        return p

    def steady(self, p):
        """Lags back to what a healthy pipeline shows, records flowing in."""
        if not p:
            return False
        up = p.get("up") or {}
        lag, lag_spark, r_in = p.get("lag"), p.get("lag_spark"), p.get("r_ingest")
        if not (up.get("ingest") and up.get("sink") and up.get("kafka")):
            return False
        if lag is None or lag_spark is None or r_in is None or lag < 0 or lag_spark < 0:
            return False
        bound = max(self.a.rate * self.a.steady_lag, 500)
        return lag <= bound and lag_spark <= bound and r_in >= 0.5 * self.a.rate

    def wait(self, seconds, until=None):
        """Sample every 2 s for up to seconds; with until, stop when it holds on two
        samples in a row. Returns the time it first held (of the two), or None."""
        end = now() + seconds
        held, first = 0, None
        while now() < end:
            if self.run.poll() is not None:
                return None
            p = self.sample()
            if until:
                if until(p):
                    held += 1
                    first = first if first is not None else now()
                    if held >= 2:
                        return first
                else:
                    held, first = 0, None
            time.sleep(max(0.0, min(2.0, end - now())))
        return None

    # ---- faults ----------------------------------------------------------------------
    def kill(self, what, pid):
        if not pid:
            self.log("%s: no process found to kill" % what)
            return False
        try:
            os.kill(pid, signal.SIGKILL)
            self.log("%s: kill -9 %d" % (what, pid))
            return True
        except ProcessLookupError:
            return False

    def stack_up(self):
        t = now()
        r = self.spate("stack", "up", timeout=600)
        self.log("spate stack up: exit %d in %.0f s" % (r.returncode, now() - t))
        if r.returncode != 0:
            self.problems.append("spate stack up failed after a fault: %s" % r.stderr[-300:])

    def inject(self, kind):
        """Returns when the fault is over (a paused node resumed, a killed store back)."""
        st = self.stages()
        if kind == "kill-ingest":
            return self.kill(kind, st.get("ingest"))
        if kind == "kill-sink":
            return self.kill(kind, st.get("sink"))
        if kind == "kill-apisim":
            return self.kill(kind, st.get("api-sim"))
        if kind == "kill-spark":
            return self.kill(kind, self.spark_jvm())
        if kind in ("kill-kafka", "kill-cassandra"):
            ok = self.kill(kind, self.stack_pid(kind[5:]))
            self.wait(3)
            self.stack_up()  # spate run does not manage the stores; an operator would
            return ok
        if kind == "pause-cassandra":
            pid = self.stack_pid("cassandra")
            if not pid:
                return False
            os.kill(pid, signal.SIGSTOP)
            self.log("%s: SIGSTOP %d for %d s" % (kind, pid, PAUSE_S))
            try:
                self.wait(PAUSE_S)
            finally:
                os.kill(pid, signal.SIGCONT)
            return True
        if kind == "api-503":
            try:
                req = urllib.request.Request(self.apisim + "/outage?seconds=%d" % OUTAGE_S,
                                             method="POST")
                urllib.request.urlopen(req, timeout=5).read()
            except Exception as e:
                self.log("%s: api-sim refused the outage: %s" % (kind, e))
                return False
            self.log("%s: the API answers 503 for %d s" % (kind, OUTAGE_S))
            self.wait(OUTAGE_S)
            return True
        raise ValueError(kind)

    # ---- the run ----------------------------------------------------------------------
    def ingest_state(self):
        """(next_page, skip set) of the source's saved position, (1, {}) if none."""
        path = os.path.join(self.state, "ingest", "api-sim.state")
        nxt, skip = 1, set()
        try:
            with open(path) as f:
                for line in f:
                    w = line.split()
                    if w and w[0] == "next_page":
                        nxt = int(w[1])
                    elif w and w[0] == "skip":
                        skip = {int(x) for x in w[1:]}
        except OSError:
            pass
        return nxt, skip

    def prepare(self):
        self.spate("stack", "up", check=True)
        # a fresh keyspace: a key of an earlier soak must not count as a duplicate
        self.spate("cql", "-e", "DROP KEYSPACE IF EXISTS %s" % self.keyspace, timeout=120)
        self.fresh_topics()
        self.state_before = self.ingest_state()

    def fresh_topics(self):
        """The pipeline starts from nothing: on the shared test stack the e2e
        suite left users.raw full and Spark's checkpoint pointing into it, and
        Spark then read about 275,000 older records again into this soak's window
        (CI failed on keys twice that no fault had caused)."""
        # Kafka's own TopicCommand (the stack's jars): .venv has no Kafka client
        root = os.environ.get("SPATE_ROOT", ".")

        def topics(*args):
            r = subprocess.run(["java", "-cp", os.path.join(root, "deps", "lib", "kafka", "*"),
                                "org.apache.kafka.tools.TopicCommand", "--bootstrap-server",
                                "127.0.0.1:%s" % os.environ.get("SPATE_KAFKA_PORT", "9092")] +
                               list(args), capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise RuntimeError("kafka topics %s: %s" % (args[0], (r.stderr or r.stdout)[-400:]))
            return r.stdout
        topics("--delete", "--if-exists", "--topic", r"users\..*")
        for _ in range(20):  # deletion is asynchronous; spate run creates them again
            if not any(t.startswith("users.") for t in topics("--list").split()):
                break
            time.sleep(1)
        for d in (os.path.join(self.state, "spark", "checkpoints"),
                  os.path.join(self.state, "ingest", "api-sim.state")):
            if os.path.isdir(d):
                shutil.rmtree(d)
            elif os.path.exists(d):
                os.unlink(d)
        self.log("removed the users topics, Spark's checkpoints and ingest's state of an "
                 "earlier run")

    def start_run(self):
        self.run_log = open(os.path.join(self.out, "run.log"), "w")
        args = [self.bin, "-c", "spate.yaml", "run", "--rate", str(self.a.rate), "--for",
                "%ds" % self.a.duration, "--keep-stack", "--no-view", "--drain-timeout", "5m"]
        self.log("starting: %s" % " ".join(args[3:]))
        self.wall0 = int(time.time() * 1000)
        self.t0 = now()
        self.run = subprocess.Popen(args, stdout=self.run_log, stderr=subprocess.STDOUT)

    def schedule(self):
        rng = random.Random(self.a.seed)
        pool = self.a.faults
        # records flowing end to end first: faults test recovery, not start-up
        if self.wait(600, lambda p: self.steady(p) and (p.get("stored") or 0) > 0) is None:
            self.problems.append("the pipeline never reached a steady state")
            return
        self.t_flow = now() - self.t0
        self.log("steady after %.0f s; faults every ~%.0f s, seed %d" %
                 (self.t_flow, self.a.every, self.a.seed))
        end = self.a.duration - self.a.quiet  # the last fault leaves time to recover
        n = 0
        while self.run.poll() is None:
            gap = self.a.every * rng.uniform(0.75, 1.25)
            kind = rng.choice(pool)
            if now() - self.t0 + gap > end or (self.a.max_faults and n >= self.a.max_faults):
                break
            self.wait(gap)
            at = now() - self.t0
            try:
                ok = self.inject(kind)
            except Exception as e:  # a fault that could not be injected is reported, not fatal
                self.log("%s: could not inject: %r" % (kind, e))
                ok = False
            over = now() - self.t0
            rec = self.wait(self.a.recovery_timeout, self.steady)
            n += 1
            r = {"fault": kind, "at": at, "lasted": over - at, "injected": ok,
                 "recovered": None if rec is None else rec - self.t0 - over}
            self.results.append(r)
            self.log("%s at %.0f s: %s" % (kind, at, "recovered %.0f s after it ended" %
                                           r["recovered"] if rec is not None else
                                           "NOT back to steady within %.0f s" %
                                           self.a.recovery_timeout))
            if not ok:  # a schedule that silently skips its faults proves nothing
                self.problems.append("%s at %.0f s was not injected" % (kind, at))
            elif rec is None:
                self.problems.append("%s at %.0f s: lags not back to steady within %.0f s" %
                                     (kind, at, self.a.recovery_timeout))

    def finish(self):
        deadline = now() + self.a.duration + 1800
        while self.run.poll() is None and now() < deadline:
            self.sample()
            time.sleep(5)
        if self.run.poll() is None:
            self.problems.append("spate run did not end (hung) 30 min after --for")
            self.run.send_signal(signal.SIGTERM)
            try:
                self.run.wait(300)
            except subprocess.TimeoutExpired:
                self.run.kill()
                self.run.wait()
        self.run_log.close()
        self.run_rc = self.run.returncode
        text = open(os.path.join(self.out, "run.log"), errors="replace").read()
        self.ledger_ok = "OK: nothing lost, nothing duplicated" in text
        if self.run_rc != 0 or not self.ledger_ok:
            self.problems.append("spate run exited %s; its ledger %s" %
                                 (self.run_rc, "is OK" if self.ledger_ok else "is NOT OK"))

    # ---- end checks ---------------------------------------------------------------------
    def check_fetched(self):
        """users.raw since the start holds exactly the keys of the pages ingest finished."""
        (n0, skip0), (n1, skip1) = self.state_before, self.ingest_state()
        pages = (set(range(n0, n1)) | skip1) - skip0
        self.pages = len(pages)
        expected = set()
        if pages:
            lo, hi = min(pages), max(pages)
            r = self.spate("api-sim", "keys", "--seed", SOURCE_SEED, "--pages", "%d-%d" % (lo, hi),
                           "--results", str(self.batch), check=True)
            for i, line in enumerate(r.stdout.splitlines()):
                if lo + i // self.batch in pages:
                    expected.add(line.split("\t")[0])
        kc = subprocess.run(["kcat", "-C", "-b", self.kafka, "-t", "users.raw", "-e", "-q",
                             "-f", "%T %k\n"], capture_output=True, text=True, timeout=600)
        raw = collections.Counter()
        for line in kc.stdout.splitlines():
            t, _, k = line.partition(" ")
            if t.isdigit() and int(t) >= self.wall0:
                raw[k] += 1
        missing = expected - raw.keys()
        extra = raw.keys() - expected
        self.fetched = {"pages": len(pages), "expected": len(expected), "raw_keys": len(raw),
                        "raw_records": sum(raw.values()),
                        "raw_replayed": sum(1 for v in raw.values() if v > 1)}
        self.log("fetched oracle: %d pages, %d keys expected, users.raw %d keys in %d records "
                 "(%d keys produced again after a restart), %d missing, %d unexpected" %
                 (len(pages), len(expected), len(raw), sum(raw.values()),
                  self.fetched["raw_replayed"], len(missing), len(extra)))
        if missing or extra or not expected:
            self.problems.append("users.raw != the pages ingest finished: %d missing (e.g. %s), "
                                 "%d unexpected (e.g. %s)" % (len(missing), sorted(missing)[:2],
                                                             len(extra), sorted(extra)[:2]))

    def check_verify(self):
        r = self.spate("verify", "--since", str(self.wall0), "--json", timeout=900)
        try:
            self.verify = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.verify = None
        if r.returncode != 0 or not self.verify or not self.verify.get("ok"):
            self.problems.append("spate verify --since: exit %d %s" % (r.returncode,
                                                                       r.stdout.strip()[-400:]))
        else:
            v = self.verify
            self.log("verify: raw %d keys, clean %d keys, DLQ ingest %d (+%d responses) process %d "
                     "sink %d, stored %d: ok" % (v["raw"]["distinct"], v["clean"]["distinct"],
                                                 v["dlq"]["ingest"], v["dlq"]["ingest_responses"],
                                                 v["dlq"]["process"], v["dlq"]["sink"],
                                                 v["stored"]["rows"]))

    def check_no_duplicates(self):
        r = self.spate("cql", "-k", self.keyspace, "--json", "--timeout", "120s", "-e",
                       "SELECT user_id FROM users_by_nationality", timeout=1200)
        count = collections.Counter()
        for line in r.stdout.splitlines():
            try:
                count[json.loads(line)["user_id"]] += 1
            except (ValueError, KeyError, TypeError):
                pass
        twice = [k for k, n in count.items() if n > 1]
        self.rows_by_nat = sum(count.values())
        self.log("users_by_nationality: %d rows, %d keys, %d keys twice" %
                 (self.rows_by_nat, len(count), len(twice)))
        if r.returncode != 0:
            self.problems.append("reading users_by_nationality failed: %s" % r.stderr[-300:])
        if twice:
            self.problems.append("%d keys stored twice in users_by_nationality (e.g. %s)" %
                                 (len(twice), twice[:2]))
        self.dup_keys = len(twice)

    def check_rss(self):
        """Median RSS of the first minute after warm-up against the last minute."""
        self.rss_rows = []
        for (stage, pid), series in self.rss.items():
            start = self.proc_start[(stage, pid)]
            base_from = max(start, self.t_flow if hasattr(self, "t_flow") else start) \
                + self.a.warmup
            base = [kb for t, kb in series if base_from <= t < base_from + 60]
            last_t = series[-1][0]
            tail = [kb for t, kb in series if t >= last_t - 60]
            # A stage restarted after a fault fills its windows again (the
            # sink's in-flight rows after a backlog): its first minutes are
            # warm-up too, so it is judged only after ten minutes of life.
            first = min(st for (sg, _), st in self.proc_start.items() if sg == stage)
            need = 120 if start <= first else 600
            if not base or last_t - base_from < need:
                continue  # too short-lived after warm-up to say
            med = lambda xs: sorted(xs)[len(xs) // 2]
            b, e = med(base), med(tail)
            growth = (e - b) / b
            self.rss_rows.append((stage, pid, b, e, growth, last_t - base_from))
            if growth > self.a.rss_growth:
                self.problems.append("RSS of %s (pid %d) grew %.1f%%: %d -> %d kB over %.0f s" %
                                     (stage, pid, 100 * growth, b, e, last_t - base_from))

    def report(self):
        lines = ["", "chaos soak: seed %d, %.0f records/s, %s, a fault every ~%.0f s" %
                 (self.a.seed, self.a.rate, fmt_dur(self.a.duration), self.a.every), "",
                 "| # | fault | at | lasted | back to steady after |",
                 "|---|---|---|---|---|"]
        for i, r in enumerate(self.results, 1):
            rec = "%.0f s" % r["recovered"] if r["recovered"] is not None else "NOT RECOVERED"
            lines.append("| %d | %s | %s | %.0f s | %s |" % (i, r["fault"], fmt_dur(r["at"]),
                                                            r["lasted"], rec))
        lines += ["", "| process | pid | RSS after warm-up | RSS at the end | growth |",
                  "|---|---|---|---|---|"]
        for stage, pid, b, e, g, span in getattr(self, "rss_rows", []):
            lines.append("| %s | %d | %.1f MB | %.1f MB | %+.1f%% over %s |" %
                         (stage, pid, b / 1024, e / 1024, 100 * g, fmt_dur(span)))
        f = getattr(self, "fetched", None)
        v = getattr(self, "verify", None)
        lines.append("")
        if f:
            lines.append("fetched: %d pages, %d keys; users.raw %d keys in %d records" %
                         (f["pages"], f["expected"], f["raw_keys"], f["raw_records"]))
        if v:
            lines.append("ledger: clean %d keys + process DLQ %d; stored %d + sink DLQ %d; "
                         "ingest DLQ %d responses" %
                         (v["clean"]["distinct"], v["dlq"]["process"], v["stored"]["rows"],
                          v["dlq"]["sink"], v["dlq"]["ingest_responses"]))
        if hasattr(self, "dup_keys"):
            lines.append("keys twice in Cassandra (users_by_nationality): %d" % self.dup_keys)
        lines.append("")
        if self.problems:
            lines.append("VERDICT: FAIL")
            lines += ["  - " + p for p in self.problems]
        else:
            lines.append("VERDICT: PASS: nothing lost, nothing duplicated, RSS flat, "
                         "every fault recovered")
        text = "\n".join(lines)
        print(text, flush=True)
        with open(os.path.join(self.out, "results.md"), "w") as fh:
            fh.write(text + "\n")


def fmt_dur(s):
    s = int(round(s))
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60) if s >= 3600 else \
        "%d:%02d" % (s // 60, s % 60)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=duration, default=3600)
    ap.add_argument("--every", type=duration, default=120)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--faults", default=",".join(FAULTS),
                    help="the pool to draw from (default all: %s)" % ",".join(FAULTS))
    ap.add_argument("--max-faults", type=int, default=0)
    ap.add_argument("--warmup", type=duration, default=None)
    ap.add_argument("--quiet", type=duration, default=None,
                    help="no fault starts this close to the end (default 2 x --every)")
    ap.add_argument("--recovery-timeout", type=duration, default=300)
    ap.add_argument("--steady-lag", type=float, default=3.0,
                    help="steady: both lags under this many seconds of records")
    ap.add_argument("--rss-growth", type=float, default=0.10)
    ap.add_argument("--out", default="build/soak")
    a = ap.parse_args()
    a.faults = [f.strip() for f in a.faults.split(",") if f.strip()]
    for f in a.faults:
        if f not in FAULTS:
            ap.error("unknown fault '%s' (one of %s)" % (f, ", ".join(FAULTS)))
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 1 << 31)
    if a.warmup is None:
        a.warmup = min(300.0, a.duration / 5)
    if a.quiet is None:
        a.quiet = min(2 * a.every, a.duration / 3)
    s = Soak(a)
    s.log("seed %d (replay: --seed %d); faults from %s" % (a.seed, a.seed, ",".join(a.faults)))
    s.run = None
    s.prepare()
    s.start_run()
    try:
        s.schedule()
        s.finish()
    finally:
        if s.run and s.run.poll() is None:  # interrupted: stop spate run, which stops its stages
            s.run.send_signal(signal.SIGTERM)
            s.run.wait()
    s.check_fetched()
    s.check_verify()
    s.check_no_duplicates()
    s.check_rss()
    s.report()
    sys.exit(1 if s.problems else 0)


if __name__ == "__main__":
    main()
