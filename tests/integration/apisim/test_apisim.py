#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# test_apisim.py -- `spate api-sim` end to end: real binary, real HTTP, strict JSON, faults, shutdown.
#
# usage: tests/integration/apisim/test_apisim.py [SPATE_BINARY]
# Starts its own servers on free ports (--port 0), stops them with SIGTERM and checks
# the exit code and summary line. Standard library only.
import atexit
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid as uuidlib

SPATE = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPATE", "build/spate")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


RUNNING = []


@atexit.register
def _stop_leftovers():
    for p in RUNNING:  # a failed check must not leave a server behind
        if p.poll() is None:
            p.kill()
            p.wait()


class Server:
    def __init__(self, *flags):
        self.proc = subprocess.Popen([SPATE, "api-sim", "--port", "0", *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        RUNNING.append(self.proc)
        line = self.proc.stdout.readline()
        m = re.search(r":(\d+)/api/", line)
        if not m:
            self.proc.kill()
            raise SystemExit("api-sim did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(m.group(1))

    def get(self, path):
        """(status, headers dict, body bytes or None when the transfer broke)"""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", path)
            r = c.getresponse()
            headers = {k.lower(): v for k, v in r.getheaders()}
            try:
                body = r.read()
            except http.client.IncompleteRead:
                body = None
            return r.status, headers, body
        finally:
            c.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err


def keys(seed, pages, results, *flags):
    out = subprocess.run([SPATE, "api-sim", "keys", "--seed", seed, "--pages", pages,
                          "--results", str(results), *flags],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_clean_pages():
    s = Server()
    seen = []
    for page in range(1, 21):
        status, h, body = s.get("/api/?results=500&seed=it&page=%d" % page)
        check(status == 200, "page %d status %d" % (page, status))
        doc = json.loads(body.decode("utf-8"))  # strict parser: no NaN, no trailing commas
        check(doc["info"] == {"seed": "it", "results": 500, "page": page, "version": "1.4"},
              "info of page %d" % page)
        for u in doc["results"]:
            check(UUID_RE.match(u["login"]["uuid"]) is not None, "uuid format")
            check(uuidlib.UUID(u["login"]["uuid"]).version == 4, "uuid version")
            seen.append(u["login"]["uuid"])
        again = s.get("/api/?results=500&seed=it&page=%d" % page)[2]
        check(again == body, "page %d not byte-identical on a second request" % page)
    check(len(seen) == len(set(seen)) == 10000, "10000 distinct uuids")
    expected = [k[0] for k in keys("it", "1-20", 500)]
    check(expected == seen, "'api-sim keys' lists the served uuids in order")
    status, _, body = s.get("/api/?results=5001")
    check(status == 400 and "results" in json.loads(body)["error"], "400 for results=5001")
    rc, out, _ = s.stop()
    check(rc == 0, "exit code 0 after SIGTERM, got %s" % rc)
    check("41 requests (1 bad), 20000 users served (20000 good)" in out,
          "summary line: %r" % out)


def test_faults_and_retries():
    flags = ["--fail-5xx", "0.2", "--fail-429", "10%", "--retry-after", "2", "--malformed",
             "0.05", "--truncated", "0.05", "--reset", "0.05", "--missing", "0.1",
             "--wrong-type", "0.05", "--latency", "2ms", "--jitter", "3ms", "--fault-seed", "9"]
    s = Server(*flags)
    got, kinds = [], {}
    for page in range(1, 61):
        for attempt in range(50):
            status, h, body = s.get("/api/?results=50&seed=flt&page=%d" % page)
            kind = h.get("x-spate-fault")
            kinds[kind] = kinds.get(kind, 0) + 1
            check(h.get("x-spate-attempt") == str(attempt), "attempt header counts retries")
            if kind == "5xx":
                check(status in (500, 502, 503), "5xx status")
                continue
            if kind == "429":
                check(status == 429 and h.get("retry-after") == "2", "429 + Retry-After")
                continue
            if kind == "reset":
                check(body is None, "reset breaks the transfer")
                continue
            if kind in ("malformed", "truncated"):
                try:
                    json.loads(body)
                    check(False, "%s body parsed" % kind)
                except (ValueError, UnicodeDecodeError):
                    pass
                continue
            check(kind == "none" and status == 200, "clean answer")
            for u in json.loads(body)["results"]:
                uid = u.get("login", {}).get("uuid")
                if isinstance(uid, str):
                    got.append(uid)
            break
    for k in ("5xx", "429", "malformed", "truncated", "reset", "none"):
        check(kinds.get(k, 0) > 0, "saw fault kind %s (%s)" % (k, kinds))
    want = [k[0] for k in keys("flt", "1-60", 50, "--missing", "0.1", "--wrong-type", "0.05",
                               "--fault-seed", "9")
            if not (k[2] == "login.uuid" and k[1] in ("missing", "wrongtype"))]
    check(sorted(got) == sorted(want), "keys from clean answers = predicted good keys "
          "(%d vs %d)" % (len(got), len(want)))
    stats = json.loads(s.get("/stats")[2])
    check(stats["faults"]["5xx"] == kinds["5xx"], "stats count 5xx")
    rc, out, _ = s.stop()
    check(rc == 0 and "faults 5xx=%d" % kinds["5xx"] in out, "summary names faults: %r" % out)


def test_bounded_dataset():
    s = Server("--total-users", "1234")
    got, page = [], 1
    while True:
        status, h, body = s.get("/api/?results=100&seed=end&page=%d" % page)
        res = json.loads(body)["results"]
        if not res:
            break
        got += [u["login"]["uuid"] for u in res]
        page += 1
    check(len(got) == 1234 and page == 14, "1234 users over 13 pages, then empty")
    check(got == [k[0] for k in keys("end", "1-20", 100, "--total-users", "1234")],
          "'keys --total-users' agrees")
    status, h, body = s.get("/api/?results=10&seed=end&total=5")
    check(len(json.loads(body)["results"]) == 5, "total= per request")
    s.stop()


def test_outage():
    """POST /outage makes every /api request fail for a while (the soak's API-down
    fault), without spending the pages' attempts, and ends by itself."""
    s = Server()

    def post(path):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        try:
            c.request("POST", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    before = s.get("/api/?results=5&seed=out&page=3")
    check(post("/outage?seconds=1.5")[0] == 200, "POST /outage?seconds=1.5 is accepted")
    statuses = {s.get("/api/?results=5&seed=out&page=%d" % p)[0] for p in range(1, 6)}
    check(statuses == {503}, "every request fails with 503 during the outage: %s" % statuses)
    check(post("/outage?seconds=soon")[0] == 400, "a bad duration is refused")
    check(post("/outage?seconds=1&status=200")[0] == 400, "a non-5xx status is refused")
    time.sleep(1.6)
    after = s.get("/api/?results=5&seed=out&page=3")
    check(after[0] == 200 and after[2] == before[2], "the outage ends by itself; pages unchanged")
    check(post("/outage?seconds=60&status=502")[0] == 200 and
          s.get("/api/?results=1&seed=out")[0] == 502, "status= sets the answer")
    check(post("/outage?seconds=0")[0] == 200 and s.get("/api/?results=1&seed=out")[0] == 200,
          "seconds=0 ends an outage")
    s.stop()


def test_bad_flags():
    for args in (["--fail-5xx", "2"], ["--port", "70000"], ["--fail-5xx", "0.6", "--fail-429", "0.6"],
                 ["--latency", "soon"], ["--bogus"]):
        r = subprocess.run([SPATE, "api-sim", *args], capture_output=True, text=True, timeout=10)
        check(r.returncode == 2 and r.stderr.strip() != "", "exit 2 with a message for %s" % args)


if __name__ == "__main__":
    t0 = time.time()
    test_clean_pages()
    test_faults_and_retries()
    test_bounded_dataset()
    test_outage()
    test_bad_flags()
    print("api-sim integration: %s in %.1fs" % ("FAILED (%d)" % len(failures) if failures else "ok",
                                               time.time() - t0))
    sys.exit(1 if failures else 0)
