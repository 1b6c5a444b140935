# SPDX-License-Identifier: Apache-2.0
"""e2e.py -- the whole-pipeline benchmark: spate run and the peer at fixed rates.

For each rate and system, on a fresh stack state (its own state dir, wiped before
each run), it runs the pipeline as a user would, with bench/e2e's observer
alongside (build/e2e_observer: samples keys entering the raw topic, polls
Cassandra until each row is readable), and reports per run: e2e latency p50,
p99, p99.9, max; whether the rate was sustained (lags bounded over the measured
window); CPU seconds per 1,000 records of every process tree; peak RSS; how busy
the machine was. A table goes to stdout and is appended to bench/e2e/results.md.

  bench/e2e/run [--rates 500,1000,2000,3000,5000] [--warmup 60s] [--duration 10m]
                [--systems spate,peer] [--peer-triggers default,1s]

Runs: spate = `build/spate run --rate R --for D --no-view` (the end of the window
is a Ctrl-C, which spate run treats as the end of --for: sources stop, Spark and
the sink drain, spate verify runs). peer = `spate api-sim` + `spate ingest` at
the same rate and seed into peer.raw, bench/peers/e2e_peer.py reading it and
writing keyspace peer. Ports and the state dir come from the environment that
spate.yaml reads (SPATE_KAFKA_PORT, SPATE_CASSANDRA_PORT, ..., SPATE_STATE_DIR);
the state dir defaults to .spate-e2e, never the .spate of a user's own stack.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPATE = os.environ.get("SPATE_BIN") or os.path.join(ROOT, "build", "spate")
OBSERVER = os.environ.get("SPATE_E2E_OBSERVER") or os.path.join(ROOT, "build", "e2e_observer")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def log(msg):
    print(msg, flush=True)


def env_port(name, default):
    return int(os.environ.get(name, default))


def parse_duration(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", s.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"'{s}' is not a duration (e.g. 10s, 10m)")
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    return float(m.group(1)) * mult


def cell(v, fmt):
    return "-" if v is None else fmt.format(v)


def fmt_ms(v):
    if v is None or v != v:
        return "-"
    return f"{v:.0f} ms" if v < 1000 else f"{v / 1000:.2f} s"


# ---- /proc accounting ---------------------------------------------------------------

def proc_table():
    """pid -> (ppid, cpu ticks, rss kB, start ticks) for every process."""
    t = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        # fields after the name: state ppid ... utime(14) stime(15) ... starttime(22) vsize rss(24)
        t[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[21]) * PAGE_KB,
                     int(rest[19]))
    return t


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]), idle


def boot_ticks_now():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) * CLK_TCK


class Accounting:
    """CPU (utime+stime deltas) and peak RSS per category of process trees over
    the measured window. roots() returns {pid: category}; every process belongs
    to the category of its nearest ancestor that is a root (itself included)."""

    def __init__(self, roots, every=2.0):
        self.roots = roots
        self.every = every
        self.cpu = {}   # pid -> [category, first ticks, last ticks]
        self.peak_rss = {}
        self.stop = threading.Event()
        self.thread = None
        self.t0 = self.t1 = None
        self.m0 = self.m1 = None

    def _categorise(self, table):
        roots = self.roots()
        out = {}
        for pid in table:
            p, depth = pid, 0
            while p and depth < 64:
                if p in roots:
                    out[pid] = roots[p]
                    break
                p = table[p][0] if p in table else 0
                depth += 1
        return out

    def sample(self, first=False):
        table = proc_table()
        cats = self._categorise(table)
        rss = {}
        for pid, cat in cats.items():
            ppid, ticks, rss_kb, start = table[pid]
            rss[cat] = rss.get(cat, 0) + rss_kb
            if pid not in self.cpu:
                # a process born inside the window counts from zero
                base = ticks if first or start < self.start_boot_ticks else 0
                self.cpu[pid] = [cat, base, ticks]
            else:
                self.cpu[pid][2] = ticks
        for cat, kb in rss.items():
            self.peak_rss[cat] = max(self.peak_rss.get(cat, 0), kb)

    def _loop(self):
        while not self.stop.wait(self.every):
            self.sample()

    def begin(self):
        self.start_boot_ticks = boot_ticks_now()
        self.load = os.getloadavg()[0]  # other tenants of a shared machine show here
        self.t0 = time.time()
        self.m0 = machine_ticks()
        self.sample(first=True)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def end(self):
        if self.t0 is None:
            return
        self.sample()
        self.stop.set()
        self.thread.join()
        self.t1 = time.time()
        self.m1 = machine_ticks()

    def cpu_seconds(self):
        out = {}
        for cat, first, last in self.cpu.values():
            out[cat] = out.get(cat, 0.0) + max(last - first, 0) / CLK_TCK
        return out

    def busy(self):
        if not self.m1:
            return None
        total = self.m1[0] - self.m0[0]
        idle = self.m1[1] - self.m0[1]
        return 100.0 * (total - idle) / total if total else None


# ---- the observer ---------------------------------------------------------------------

class Observer:
    """build/e2e_observer as a child; its stdout drives the window."""

    def __init__(self, args, logpath, on_offsets=None):
        self.lines = []
        self.result = None
        self.window_start = threading.Event()
        self.window_end = threading.Event()
        self.first_row = threading.Event()
        self.offsets = []  # (epoch ms, {name: value})
        self.on_offsets = on_offsets
        self.log = open(logpath, "w")
        self.proc = subprocess.Popen([OBSERVER] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()
            line = line.rstrip("\n")
            if line.startswith("offsets "):
                parts = line.split()
                vals = dict(p.split("=", 1) for p in parts[2:])
                sample = (int(parts[1]), {k: int(v) for k, v in vals.items()})
                if self.on_offsets:
                    sample[1].update(self.on_offsets())
                self.offsets.append(sample)
                continue
            if line.startswith("# first row"):
                self.first_row.set()
            elif line.startswith("# window start"):
                self.window_start.set()
            elif line.startswith("# window end"):
                self.window_end.set()
            elif line.startswith("result "):
                self.result = dict(p.split("=", 1) for p in line.split() if "=" in p)
            if line.startswith(("progress", "result", "#")) or "observer" in line:
                log(f"    observer: {line}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.thread.join(5)
        self.log.close()


# ---- helpers --------------------------------------------------------------------------

class StackStartError(RuntimeError):
    """The stack failed to start: worth one more try. Under heavy load `spate stack
    up` can take a service that has not exec'd yet for one that exited."""


def port_in_use(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def spate_cmd(*args):
    return [SPATE] + (["-c", CONFIG] if CONFIG else []) + list(args)


def stack_down(logf=None):
    subprocess.run(spate_cmd("stack", "down"), cwd=ROOT, stdout=logf or subprocess.DEVNULL,
                   stderr=subprocess.STDOUT, timeout=300)


def reap_stack():
    """`spate stack down`, then any JVM still carrying this state dir's marker (a
    stack_up that lost track of its services under heavy load leaves them without
    pid files): this state dir is the bench's own, so they are the bench's."""
    stack_down()
    left = stack_roots()
    for pid in left:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 60
    while left and time.time() < deadline:
        time.sleep(1)
        left = {p: n for p, n in left.items() if os.path.exists(f"/proc/{p}")}
    for pid, name in left.items():
        log(f"  {name} (pid {pid}) ignored SIGTERM for 60 s: SIGKILL")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def fresh_state():
    reap_stack()
    busy = [p for p in PORTS.values() if port_in_use(p)]
    if busy:
        raise RuntimeError(
            f"port(s) {busy} in use: another stack or pipeline runs here (stop it with "
            f"`build/spate stack down`, or give this bench other ports via SPATE_KAFKA_PORT, "
            f"SPATE_CASSANDRA_PORT, ... as spate.yaml reads them)")
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    os.makedirs(STATE_DIR, exist_ok=True)


def stop_proc(p, sig=signal.SIGINT, timeout=60):
    if p is None or p.poll() is not None:
        return
    p.send_signal(sig)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def stack_roots():
    """Kafka and Cassandra of this state dir, found by the marker stack gives them."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        for a in cmdline(pid):
            if a.startswith(b"-Dspate.stack="):
                svc = a.decode(errors="replace").rsplit("/", 1)[-1]
                if a.decode(errors="replace")[len("-Dspate.stack="):].startswith(STATE_DIR + "/"):
                    out[int(pid)] = svc
    return out


STAGES = ("api-sim", "ingest", "spark", "sink", "serve")


def spate_stage(pid):
    """The subcommand of a spate child process ('ingest', 'spark' ...), or None."""
    args = [a.decode(errors="replace") for a in cmdline(pid)]
    if any(os.path.basename(a) == "spate_job.py" for a in args):
        return "spark"  # `spate spark run` execs the Python driver, which starts the JVM
    if not args or os.path.basename(args[0]) != "spate":
        return None
    i = 1
    if i < len(args) and args[i] == "-c":
        i += 2
    return args[i] if i < len(args) and args[i] in STAGES else None


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    s = f.read()
                if int(s[s.rfind(")") + 2:].split()[1]) == pid:
                    out.append(int(p))
            except OSError:
                pass
    return out


def observer_args(a, rate, keyspace, topic, lag_topics, lag_group, samples_path):
    every = a.every if a.every else max(1, round(rate / a.samples_per_s))
    args = (["-c", CONFIG] if CONFIG else []) + [
        "--every", str(every), "--poll-ms", str(a.poll_ms),
        "--warmup", f"{int(a.warmup * 1000)}ms", "--duration", f"{int(a.duration * 1000)}ms",
        "--timeout", f"{int(a.timeout * 1000)}ms", "--report", f"{int(a.report * 1000)}ms",
        "--samples", samples_path, "--lag-topics", ",".join(lag_topics),
        "--keyspace", keyspace, "--topic", topic]
    if lag_group:
        args += ["--lag-group", lag_group]
    return args


def wait_window(obs, procs, a, what):
    """Until the observer has closed its window and drained; False if it never starts."""
    deadline = time.time() + a.startup_timeout
    while not obs.first_row.is_set():
        if time.time() > deadline:
            log(f"  {what}: no row readable within {a.startup_timeout:.0f} s; giving up")
            return False
        for name, p in procs.items():
            if p.poll() is not None:
                log(f"  {what}: {name} exited ({p.returncode}) before the first row")
                return False
        if obs.proc.poll() is not None:
            log(f"  {what}: the observer exited ({obs.proc.returncode}), see its log")
            return False
        time.sleep(1)
    return True


def measure(obs, acct, a):
    while not obs.window_start.wait(1):
        if obs.proc.poll() is not None:
            raise RuntimeError("the observer exited before its window started; see its log")
    acct.begin()
    log(f"  measured window: {a.duration:.0f} s")
    while not obs.window_end.wait(5):
        if obs.proc.poll() is not None:
            break
    acct.end()
    obs.proc.wait(a.timeout + 120)
    obs.thread.join(30)  # the result line may still sit in the pipe


# ---- lag and rate from the offsets lines -----------------------------------------------

def in_window(obs, acct):
    t0, t1 = acct.t0 * 1000, acct.t1 * 1000
    return [(t, v) for t, v in obs.offsets if t0 - 3000 <= t <= t1 + 3000]


def achieved_rate(samples, topic):
    pts = [(t, v[topic]) for t, v in samples if v.get(topic, -1) >= 0]
    if len(pts) < 2 or pts[-1][0] == pts[0][0]:
        return None, None
    n = pts[-1][1] - pts[0][1]
    return n / ((pts[-1][0] - pts[0][0]) / 1000.0), n


def lag_growth(series, rate):
    """(growth, max) of a lag series in seconds of input: the mean of the last
    quarter minus that of the first quarter, and the largest sample."""
    if len(series) < 4 or not rate:
        return None, None
    q = max(1, len(series) // 4)
    first = sum(series[:q]) / q
    last = sum(series[-q:]) / q
    return (last - first) / rate, max(series) / rate


def judge(lags, rate, achieved, result, grow_limit):
    """Sustained: every lag grew by less than grow_limit seconds of input over the
    window, ingest held 95% of the rate, and under 1% of the samples timed out."""
    reasons = []
    for name, (g, _) in lags.items():
        if g is None:
            reasons.append(f"no {name} lag")
        elif g > grow_limit:
            reasons.append(f"{name} lag +{g:.1f}s")
    if achieved is None or achieved < 0.95 * rate:
        reasons.append("ingest below rate")
    n = int(result.get("samples", 0)) if result else 0
    to = int(result.get("timeouts", 0)) if result else 0
    if n + to == 0 or to > 0.01 * (n + to):
        reasons.append(f"{to} timeouts")
    return ("yes" if not reasons else "no (" + ", ".join(reasons) + ")")


def summarise(system, rate, obs, acct, lags_fn):
    res = obs.result or {}
    samples = in_window(obs, acct)
    achieved, records = achieved_rate(samples, RAW_TOPIC[system])
    if records is None or acct.t1 is None:
        records = None
    lags = lags_fn(samples, rate)
    cpu = acct.cpu_seconds()
    per_k = {k: (v / (records / 1000.0) if records else None) for k, v in cpu.items()}
    row = {
        "system": system, "rate": rate, "achieved": achieved, "records": records,
        "samples": int(res.get("samples", 0)), "timeouts": int(res.get("timeouts", 0)),
        "p50": float(res.get("p50", "nan")), "p99": float(res.get("p99", "nan")),
        "p99.9": float(res.get("p99.9", "nan")), "max": float(res.get("max", "nan")),
        "sustained": judge(lags, rate, achieved, res, GROW_LIMIT),
        "lags": {k: v for k, v in lags.items()},
        "cpu": cpu, "cpu_per_k": per_k,
        "cpu_total_per_k": (sum(cpu.values()) / (records / 1000.0)) if records else None,
        "rss_mb": {k: v / 1024 for k, v in acct.peak_rss.items()},
        "busy": acct.busy(), "load": acct.load,
        "window_s": (acct.t1 - acct.t0) if acct.t1 else None,
    }
    return row


# ---- spate ------------------------------------------------------------------------------

def run_spate(a, rate, logdir):
    fresh_state()
    for_s = int(a.startup_timeout + a.warmup + a.duration + 120)
    cmd = spate_cmd("run", "--rate", str(rate), "--for", f"{for_s}s", "--no-view")
    log(f"  $ {' '.join(cmd)}   (Ctrl-C at the end of the window)")
    runlog = open(os.path.join(logdir, "spate-run.log"), "w")
    run = subprocess.Popen(cmd, cwd=ROOT, stdout=runlog, stderr=subprocess.STDOUT,
                           start_new_session=True)
    obs = None
    try:
        obs = Observer(observer_args(a, rate, KEYSPACE, "users.raw",
                                     ["users.raw", "users.clean", "users.dlq"],
                                     "spate-sink:users.clean",
                                     os.path.join(logdir, "samples.txt")),
                       os.path.join(logdir, "observer.log"))

        def roots():
            r = {os.getpid(): "bench driver", run.pid: "run (supervisor)",
                 obs.proc.pid: "observer"}
            for c in children(run.pid):
                st = spate_stage(c)
                if st:
                    r[c] = st
            r.update(stack_roots())
            return r

        acct = Accounting(roots)
        if not wait_window(obs, {"spate run": run}, a, "spate"):
            with open(os.path.join(logdir, "spate-run.log"), errors="replace") as f:
                if "exited during start-up" in f.read():
                    raise StackStartError("spate run: the stack did not start")
            return None
        log("  first row readable; warming up")
        measure(obs, acct, a)

        def lags(samples, r):
            spark = [max(v["users.raw"] - v["users.clean"] - max(v["users.dlq"], 0), 0)
                     for _, v in samples if min(v["users.raw"], v["users.clean"]) >= 0]
            sink = [max(v["users.clean"] - v["spate-sink@users.clean"], 0)
                    for _, v in samples if min(v["users.clean"],
                                               v.get("spate-sink@users.clean", -1)) >= 0]
            return {"spark": lag_growth(spark, r), "sink": lag_growth(sink, r)}

        return summarise("spate", rate, obs, acct, lags)
    finally:
        if obs:
            obs.stop()
        log("  stopping spate run (drain, verify, stack down) ...")
        if run.poll() is None:
            run.send_signal(signal.SIGINT)
            try:
                run.wait(a.drain_timeout)
            except subprocess.TimeoutExpired:
                # a second Ctrl-C: spate run stops waiting for the drain
                log(f"  spate run still draining after {a.drain_timeout:.0f} s: second Ctrl-C")
                stop_proc(run, signal.SIGINT, timeout=300)
        runlog.close()
        reap_stack()
        with open(os.path.join(logdir, "spate-run.log"), errors="replace") as f:
            tail = [ln.rstrip() for ln in f.readlines() if "verify" in ln or "lost" in ln]
        for ln in tail[-3:]:
            log(f"    {ln}")


# ---- the peer -------------------------------------------------------------------------------

def peer_paths():
    base = os.environ.get("SPATE_PEER_ROOT", ROOT)
    py = os.environ.get("SPATE_PEER_PYTHON") or os.path.join(base, ".venv-peer", "bin", "python")
    script = os.path.join(base, "bench", "peers", "e2e_peer.py")
    jars = glob.glob(os.path.join(base, "deps", "lib", "peer", "*.jar"))
    missing = [p for p in (py, script) if not os.path.exists(p)]
    if not jars:
        missing.append(os.path.join(base, "deps", "lib", "peer", "*.jar"))
    return py, script, missing


def checkpoint_lag_fn(ckpt, topic):
    """Records of topic the peer's slowest query has not committed a batch for:
    its input lag, from the newest commits/N and the matching offsets/N."""
    def committed():
        worst = None
        for q in glob.glob(os.path.join(ckpt, "*", "commits")):
            ids = [int(f) for f in os.listdir(q) if f.isdigit()]
            if not ids:
                worst = 0 if worst is None else min(worst, 0)
                continue
            off = os.path.join(os.path.dirname(q), "offsets", str(max(ids)))
            total = 0
            try:
                with open(off) as f:
                    for ln in f:
                        ln = ln.strip()
                        if ln.startswith("{") and f'"{topic}"' in ln:
                            total = sum(json.loads(ln)[topic].values())
            except (OSError, ValueError, KeyError):
                continue
            worst = total if worst is None else min(worst, total)
        return {"peer@committed": -1 if worst is None else worst}
    return committed


def run_peer(a, rate, trigger, logdir):
    py, script, missing = peer_paths()
    if missing:
        log(f"  peer not installed (missing {', '.join(missing)}); skipped")
        return None
    fresh_state()
    logs = {n: open(os.path.join(logdir, f"{n}.log"), "w") for n in ("stack", "api-sim",
                                                                      "ingest", "peer")}
    if subprocess.run(spate_cmd("stack", "up"), cwd=ROOT, stdout=logs["stack"],
                      stderr=subprocess.STDOUT, timeout=900).returncode != 0:
        for f in logs.values():
            f.close()
        reap_stack()
        raise StackStartError("spate stack up failed")
    # the cadence `spate run` uses: ten requests a second, the source's
    # batch_size as the upper bound (src/cli/cmd_run.c)
    batch = min(a.batch, max(int(rate / 10), 1))
    ckpt = os.path.join(STATE_DIR, "peer-checkpoints")
    procs = {}
    obs = None
    try:
        procs["peer"] = subprocess.Popen(
            [py, script, "--bootstrap", BOOTSTRAP, "--topic", "peer.raw",
             "--dlq-topic", "peer.dlq", "--cassandra-host", "127.0.0.1",
             "--cassandra-port", str(PORTS["cassandra"]), "--keyspace", "peer",
             "--checkpoint-dir", ckpt, "--trigger", trigger, "--master", "local[2]"],
            cwd=ROOT, stdout=logs["peer"], stderr=subprocess.STDOUT, start_new_session=True)
        procs["api-sim"] = subprocess.Popen(
            spate_cmd("api-sim", "--port", str(PORTS["apisim"])), cwd=ROOT,
            stdout=logs["api-sim"], stderr=subprocess.STDOUT, start_new_session=True)
        # exactly the ingest `spate run` starts, into the peer's topics
        cmd = spate_cmd("ingest", "--source", "api-sim", "--rate", f"{rate / batch:.3f}",
                        "--batch", str(batch), "--metrics-port", str(PORTS["ingest"]),
                        "--topic-raw", "peer.raw", "--topic-dlq", "peer.dlq", "--reset")
        log(f"  $ {' '.join(cmd)}")
        procs["ingest"] = subprocess.Popen(cmd, cwd=ROOT, stdout=logs["ingest"],
                                           stderr=subprocess.STDOUT, start_new_session=True)
        obs = Observer(observer_args(a, rate, "peer", "peer.raw", ["peer.raw", "peer.dlq"],
                                     None, os.path.join(logdir, "samples.txt")),
                       os.path.join(logdir, "observer.log"),
                       on_offsets=checkpoint_lag_fn(ckpt, "peer.raw"))

        def roots():
            r = {p.pid: n for n, p in procs.items()}
            r[obs.proc.pid] = "observer"
            r[os.getpid()] = "bench driver"
            r.update(stack_roots())
            return r

        acct = Accounting(roots)
        if not wait_window(obs, procs, a, "peer"):
            return None
        log("  first row readable; warming up")
        measure(obs, acct, a)

        def lags(samples, r):
            inp = [max(v["peer.raw"] - v["peer@committed"], 0) for _, v in samples
                   if v["peer.raw"] >= 0 and v.get("peer@committed", -1) >= 0]
            return {"spark": lag_growth(inp, r)}

        return summarise("peer" if trigger == "default" else f"peer-{trigger}", rate, obs,
                         acct, lags)
    finally:
        if obs:
            obs.stop()
        stop_proc(procs.get("ingest"), signal.SIGINT, 60)
        stop_proc(procs.get("api-sim"), signal.SIGTERM, 10)
        stop_proc(procs.get("peer"), signal.SIGTERM, 90)
        if procs.get("peer"):
            try:
                os.killpg(procs["peer"].pid, signal.SIGKILL)  # the JVM spark-submit left
            except ProcessLookupError:
                pass
        stack_down(logs["stack"])
        reap_stack()
        for f in logs.values():
            f.close()


# ---- report ---------------------------------------------------------------------------------

ORDER = ["ingest", "api-sim", "spark", "peer", "sink", "serve", "kafka", "cassandra",
         "observer", "run (supervisor)", "bench driver"]


def table(rows):
    out = ["| system | rate/s | achieved/s | samples | p50 | p99 | p99.9 | max | timeouts | "
           "sustained | lag growth / max (s) | CPU s per 1k records | machine busy, load avg at "
           "window start | peak RSS |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lag = "; ".join(f"{k} {g:+.2f}/{m:.2f}" if g is not None else f"{k} -"
                        for k, (g, m) in r["lags"].items())
        busy = (f"{r['busy']:.0f}% of {os.cpu_count()} cores, load {r['load']:.1f}"
                if r["busy"] is not None else "-")
        cells = [r["system"], f"{r['rate']:,}", cell(r["achieved"], "{:,.0f}"),
                 f"{r['samples']:,}", fmt_ms(r["p50"]), fmt_ms(r["p99"]), fmt_ms(r["p99.9"]),
                 fmt_ms(r["max"]), str(r["timeouts"]), r["sustained"], lag,
                 cell(r["cpu_total_per_k"], "{:.3f}"), busy,
                 f"{sum(r['rss_mb'].values()):,.0f} MB"]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("CPU seconds per 1,000 records (peak RSS MB) per process tree:")
    out.append("")
    cats = [c for c in ORDER if any(c in r["cpu"] for r in rows)]
    cats += sorted({c for r in rows for c in r["cpu"]} - set(cats))
    out.append("| system | rate/s | " + " | ".join(cats) + " |")
    out.append("|---|---|" + "---|" * len(cats))
    for r in rows:
        cells = []
        for c in cats:
            v = r["cpu_per_k"].get(c)
            cells.append("-" if v is None else f"{v:.3f} ({r['rss_mb'].get(c, 0):,.0f})")
        out.append(f"| {r['system']} | {r['rate']:,} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def machine():
    mem = "?"
    model = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GB"
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    model = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{os.uname().nodename}, {os.cpu_count()} cores ({model}), {mem} memory, "
            f"load average {os.getloadavg()[0]:.2f} at the start")


def main():
    global CONFIG, STATE_DIR, PORTS, BOOTSTRAP, KEYSPACE, RAW_TOPIC, GROW_LIMIT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default="500,1000,2000,3000,5000",
                    help="records/s, comma-separated (default 500,1000,2000,3000,5000)")
    ap.add_argument("--warmup", type=parse_duration, default=60,
                    help="after the first readable row, before measuring (default 60s)")
    ap.add_argument("--duration", type=parse_duration, default=600,
                    help="measured window (default 10m)")
    ap.add_argument("--systems", default="spate,peer", help="spate,peer (default both)")
    ap.add_argument("--peer-triggers", default="default,1s",
                    help="the peer's triggers to run: default,1s (default both)")
    ap.add_argument("--every", type=int, default=0,
                    help="observer samples every Nth record (default: rate/--samples-per-s)")
    ap.add_argument("--samples-per-s", type=float, default=20,
                    help="sampled keys per second when --every is not given (default 20)")
    ap.add_argument("--poll-ms", type=int, default=5, help="observer poll interval (default 5)")
    ap.add_argument("--timeout", type=parse_duration, default=60,
                    help="a key not readable after this is a timeout (default 60s)")
    ap.add_argument("--report", type=parse_duration, default=10,
                    help="observer progress line every (default 10s)")
    ap.add_argument("--startup-timeout", type=parse_duration, default=600,
                    help="stack, schema and Spark start-up budget until the first row (10m)")
    ap.add_argument("--drain-timeout", type=parse_duration, default=300,
                    help="after the window, how long spate run may drain and verify before "
                         "a second Ctrl-C (default 5m)")
    ap.add_argument("--grow-limit", type=float, default=2.0,
                    help="sustained if every lag grew by less than this many seconds of "
                         "input over the window (default 2)")
    ap.add_argument("--batch", type=int, default=500,
                    help="records per request, as sources[api-sim].batch_size (default 500)")
    ap.add_argument("--config", help="spate config (default spate.yaml, as spate run)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "e2e", "results.md"))
    ap.add_argument("--logs", default=os.path.join(ROOT, "bench", "e2e", "logs"),
                    help="per-run logs and raw samples (default bench/e2e/logs)")
    a = ap.parse_args()
    CONFIG = a.config
    GROW_LIMIT = a.grow_limit
    STATE_DIR = os.path.abspath(os.environ.setdefault("SPATE_STATE_DIR",
                                                      os.path.join(ROOT, ".spate-e2e")))
    PORTS = {"kafka": env_port("SPATE_KAFKA_PORT", 9092),
             "kafka-controller": env_port("SPATE_KAFKA_CONTROLLER_PORT", 9093),
             "cassandra": env_port("SPATE_CASSANDRA_PORT", 9042),
             "cassandra-storage": env_port("SPATE_CASSANDRA_STORAGE_PORT", 7000),
             "apisim": env_port("SPATE_APISIM_PORT", 8088),
             "ingest": env_port("SPATE_INGEST_METRICS_PORT", 9401),
             "sink": env_port("SPATE_SINK_METRICS_PORT", 9402),
             "serve": env_port("SPATE_SERVE_PORT", 8080),
             "serve-metrics": env_port("SPATE_SERVE_METRICS_PORT", 9403)}
    BOOTSTRAP = os.environ.get("SPATE_KAFKA", f"127.0.0.1:{PORTS['kafka']}")
    KEYSPACE = os.environ.get("SPATE_KEYSPACE", "spate")
    RAW_TOPIC = {"spate": "users.raw"}
    for exe in (SPATE, OBSERVER):
        if not os.access(exe, os.X_OK):
            sys.exit(f"bench/e2e: {exe} missing: run `make build` first")
    rates = [int(r) for r in a.rates.split(",") if r]
    systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    for s in systems:
        if s not in ("spate", "peer"):
            sys.exit(f"bench/e2e: unknown system '{s}' (spate, peer)")
    triggers = [t.strip() for t in a.peer_triggers.split(",") if t.strip()]
    for t in triggers:
        if t not in ("default", "1s"):
            sys.exit(f"bench/e2e: unknown peer trigger '{t}' (default, 1s)")
    for t in triggers:
        RAW_TOPIC["peer" if t == "default" else f"peer-{t}"] = "peer.raw"

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = "bench/e2e/run " + " ".join(sys.argv[1:])
    mach = machine()
    tag = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    log(f"bench/e2e: {command}\n  {mach}\n  state {STATE_DIR}, kafka {BOOTSTRAP}, "
        f"cassandra port {PORTS['cassandra']}")
    rows = []

    def stop(sig, frame):
        raise KeyboardInterrupt
    # explicitly: a shell starts background jobs with SIGINT ignored
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for rate in rates:
            for system in systems:
                runs = [("spate", None)] if system == "spate" else [("peer", t) for t in triggers]
                for name, trig in runs:
                    label = name if not trig or trig == "default" else f"{name}-{trig}"
                    logdir = os.path.join(a.logs, f"{tag}-{label}-{rate}")
                    os.makedirs(logdir, exist_ok=True)
                    log(f"== {label} at {rate:,} records/s (logs {logdir})")
                    row = None
                    for attempt in (1, 2):
                        try:
                            row = run_spate(a, rate, logdir) if name == "spate" else \
                                run_peer(a, rate, trig, logdir)
                        except StackStartError as e:
                            log(f"  {label} at {rate}: {e}" +
                                ("; trying once more" if attempt == 1 else ""))
                            continue
                        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                            log(f"  {label} at {rate}: failed: {e}")
                        break
                    if row:
                        rows.append(row)
                        log(table([row]))
    except KeyboardInterrupt:
        log("bench/e2e: interrupted; reporting what finished")
    finally:
        reap_stack()
    if not rows:
        log("bench/e2e: no run finished")
        return 1
    text = table(rows)
    log("\n" + text)
    with open(a.out, "a") as f:
        f.write(f"\n## {started}\n\n`{command}`\n\nMachine: {mach}. Warm-up "
                f"{a.warmup:.0f} s after the first readable row, measured window "
                f"{a.duration:.0f} s.\n\n{text}\n")
    log(f"appended to {a.out}")
    return 0


CONFIG = None
STATE_DIR = PORTS = BOOTSTRAP = KEYSPACE = RAW_TOPIC = None
GROW_LIMIT = 2.0

if __name__ == "__main__":
    sys.exit(main())
