#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# test_slow.py -- with Cassandra paused (run.sh sends it SIGSTOP), 12 /api/users requests wait
# for it; /health, /metrics and the dashboard must still answer at once: the HTTP threads
# never wait on a query (before issue 16, /health took 5.4 s behind 12 slow requests).
# Usage: test_slow.py BASE_URL METRICS_URL TOKEN
import json
import sys
import threading
import time
import urllib.error
import urllib.request

base, metrics_base, token = sys.argv[1], sys.argv[2], sys.argv[3]
passed = failed = 0


def check(cond, msg, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + msg)
    else:
        failed += 1
        print("FAIL " + msg + (": " + str(detail)[:400] if detail != "" else ""))


def get(url, headers=None, timeout=30):
    req = urllib.request.Request(url, headers=headers or {})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    except Exception as e:  # a timeout is a failure to report, not a crash
        body, status = str(e).encode(), 0
    return status, body, (time.monotonic() - t0) * 1000


slow = []
nats = ["DE", "FR", "GB", "US", "ES", "NL", "NO", "BR", "CA", "CH", "DK", "FI"]


def slow_request(nat):
    slow.append(get(f"{base}/api/users?nationality={nat}&limit=50",
                    {"Authorization": "Bearer " + token}))


threads = [threading.Thread(target=slow_request, args=(n,)) for n in nats]
for t in threads:
    t.start()
time.sleep(1.0)  # every slow request is in, waiting for Cassandra
for name, url in (("/health", base + "/health"), ("/metrics", metrics_base + "/metrics"),
                  ("the dashboard page", base + "/"), ("/health", base + "/health")):
    status, body, ms = get(url, timeout=10)
    check(status == 200 and ms < 500, f"{name} answers in {ms:.0f} ms while 12 API requests wait for a paused Cassandra",
          f"HTTP {status} after {ms:.0f} ms")
status, body, ms = get(metrics_base + "/metrics", timeout=10)
queued = [ln for ln in body.decode(errors="replace").splitlines() if ln.startswith("spate_serve_cassandra_queued ")]
check(queued and float(queued[0].split()[1]) > 0, "/metrics shows the requests waiting for Cassandra", queued)
for t in threads:
    t.join(60)
codes = sorted(s for s, _, _ in slow)
msgs = {json.loads(b)["error"]["message"] for s, b, _ in slow if s == 503}
check(len(slow) == 12 and all(c == 503 for c in codes), "the 12 API requests end with 503 once the query times out", codes)
check(all("127.0.0.1" not in m and "stream" not in m for m in msgs), "their error says what failed, not where", msgs)
print(f"slow: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
