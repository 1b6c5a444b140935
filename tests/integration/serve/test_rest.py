#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# test_rest.py -- every REST endpoint of `spate serve` with good and bad input, against the
# rows seed.py stored in the test Cassandra.
# Usage: test_rest.py BASE_URL SEED.json METRICS_URL TOKEN
import json
import sys
import time
import urllib.error
import urllib.request

base, seed = sys.argv[1], json.load(open(sys.argv[2]))
metrics_base, token = sys.argv[3], sys.argv[4]
AUTH = {"Authorization": "Bearer " + token}
passed = failed = 0


def ok(msg):
    global passed
    passed += 1
    print("ok   " + msg)


def bad(msg):
    global failed
    failed += 1
    print("FAIL " + msg)


def check(cond, msg, detail=""):
    ok(msg) if cond else bad(msg + (": " + str(detail)[:400] if detail != "" else ""))


def get(path, method="GET", headers=None, at=None):
    req = urllib.request.Request((at or base) + path, method=method,
                                 headers=AUTH if headers is None else headers)
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            body, status, headers = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        body, status, headers = e.read(), e.code, e.headers
    ms = (time.monotonic() - t0) * 1000
    doc = None
    if headers.get("Content-Type", "").startswith("application/json") and body:
        doc = json.loads(body)
    return status, doc, body, ms, headers


def expect_400(path, words):
    status, doc, body, _, _ = get(path)
    msg = (doc or {}).get("error", {}).get("message", "")
    check(status == 400 and doc["error"]["status"] == 400 and words in msg,
          f"GET {path} -> 400 '{words}'", f"{status} {body[:200]}")


users = {u["user_id"]: u for u in seed["users"]}
de_ids = seed["de_ids"]

# ---- /api/users/{id} ------------------------------------------------------------------------
uid = de_ids[0]
status, doc, body, ms, _ = get(f"/api/users/{uid}")
check(status == 200 and doc["user"]["user_id"] == uid and doc["user"]["first_name"] == users[uid]["first_name"]
      and doc["user"]["nationality"] == "DE" and doc["user"]["age"] == users[uid]["age"],
      f"GET /api/users/{{id}} -> the stored user ({ms:.1f} ms)", body[:300])
status, doc, body, _, _ = get(f"/api/users/{uid.upper()}")
check(status == 200 and doc["user"]["user_id"] == uid, "an upper-case id finds the same user", status)
fr = next(u for u in seed["users"] if u["nationality"] == "FR")
status, doc, body, _, _ = get(f"/api/users/{fr['user_id']}")
check(status == 200 and doc["user"]["last_name"] == "O'Brien" and doc["user"]["first_name"].startswith("Léa"),
      "non-ASCII and quotes come back intact in JSON", body[:300])
status, doc, body, _, _ = get(f"/api/users/{seed['missing_id']}")
check(status == 404 and "no user with id" in doc["error"]["message"], "unknown id -> 404 with a message", body)
expect_400("/api/users/not-a-uuid", "bad user id")
expect_400("/api/users/123e4567-e89b-12d3-a456-42661417400", "bad user id")       # one digit short
expect_400("/api/users/123e4567-e89b-12d3-a456-42661417400g", "bad user id")      # not hex
expect_400("/api/users/123e4567e89b12d3a456426614174000abcd", "bad user id")      # no dashes
expect_400("/api/users/'%20OR%201=1%20--", "bad user id")                            # injection attempt

# ---- /api/users?nationality=&limit= -----------------------------------------------------------
status, doc, body, ms, _ = get("/api/users?nationality=DE&limit=5")
ids = [u["user_id"] for u in (doc or {}).get("users", [])]
check(status == 200 and ids == de_ids[:5], f"latest 5 DE users, newest first ({ms:.1f} ms)", body[:300])
status, doc, body, _, _ = get("/api/users?nationality=DE&limit=50")
ids = [u["user_id"] for u in (doc or {}).get("users", [])]
check(status == 200 and ids == de_ids and doc["count"] == len(de_ids),
      f"all {len(de_ids)} DE users, walking back into yesterday's partition", f"{len(ids)} {body[:200]}")
ts = [u["ingested_at"] for u in doc["users"]]
check(ts == sorted(ts, reverse=True), "ingested_at strictly newest first")
status, doc, body, _, _ = get("/api/users?nationality=de&limit=2")
check(status == 200 and doc["nationality"] == "DE" and len(doc["users"]) == 2, "lower-case nationality accepted")
status, doc, body, _, _ = get("/api/users?nationality=NO")
check(status == 200 and doc["count"] == 0 and doc["users"] == [], "a nationality with no users -> empty list")
status, doc, body, ms, _ = get("/api/users?limit=6")
ids = [u["user_id"] for u in (doc or {}).get("users", [])]
check(status == 200 and ids == seed["recent_ids"][:6], f"latest 6 of every nationality, merged newest first ({ms:.1f} ms)",
      f"{ids} vs {seed['recent_ids'][:6]}")
status, doc, body, _, _ = get("/api/users")
check(status == 200 and 0 < doc["count"] <= 50, "default limit applies (<= 50)")
expect_400("/api/users?limit=0", "bad limit")
expect_400("/api/users?limit=1001", "bad limit")
expect_400("/api/users?limit=-3", "bad limit")
expect_400("/api/users?limit=ten", "bad limit")
expect_400("/api/users?limit=99999999999999999999", "bad limit")
expect_400("/api/users?nationality=DEU", "bad nationality")
expect_400("/api/users?nationality=D1", "bad nationality")
expect_400("/api/users?nationality=%27%3B", "bad nationality")

# ---- /api/stats ----------------------------------------------------------------------------------------
status, doc, body, ms, _ = get("/api/stats?from=-15m&to=now")
check(status == 200 and doc["total"] == seed["stats_total"] and doc["by_gender"] == seed["by_gender"]
      and doc["by_nationality"] == {"DE": seed["stats_de"], "FR": seed["stats_fr"]},
      f"stats of the last 15 minutes, all nationalities: {seed['stats_total']} signups ({ms:.1f} ms)", body[:300])
check(len(doc["minutes"]) == 10 and all(m["signups"] == 6 for m in doc["minutes"]),
      "10 minutes of 6 signups each", doc["minutes"][:3])
status, doc, body, _, _ = get("/api/stats?from=-15m&nationality=FR")
check(status == 200 and doc["total"] == seed["stats_fr"] and doc["nationality"] == "FR",
      "stats of one nationality", body[:200])
mn = seed["minute_now"]
status, doc, body, _, _ = get(f"/api/stats?from={mn - 3 * 60000}&to={mn}")
check(status == 200 and doc["total"] == 18 and len(doc["minutes"]) == 3,
      "an epoch-ms range selects exactly its 3 minutes", body[:200])
now = int(time.time() * 1000)
iso_from = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now / 1000 - 900))
status, doc, body, _, _ = get(f"/api/stats?from={iso_from}")
check(status == 200 and doc["total"] == seed["stats_total"], "ISO-8601 'from' accepted", body[:200])
status, doc, body, _, _ = get("/api/stats?from=2001-01-01T00:00:00Z&to=2001-01-01T01:00:00Z")
check(status == 200 and doc["total"] == 0 and doc["minutes"] == [], "a range without data -> zero, no error")
expect_400("/api/stats?from=yesterday-ish", "'from' is not a time")
expect_400("/api/stats?to=2026-13-01", "'to' is not a time")
expect_400("/api/stats?from=2026-11-25T10:00:00", "'from' is not a time")   # no zone
expect_400("/api/stats?from=now&to=-1h", "'from' must be before 'to'")
expect_400("/api/stats?from=2026-01-01&to=2026-03-01", "time range too long")
expect_400("/api/stats?nationality=Germany", "bad nationality")

# ---- /api/rejects ----------------------------------------------------------------------------------------
status, doc, body, ms, _ = get("/api/rejects")
check(status == 200 and doc["count"] == seed["rejects"] and doc.get("total") == seed["rejects"]
      and doc["by_stage"] == {"ingest": 1, "process": 1, "sink": 1}, f"rejects of today by stage ({ms:.1f} ms)", body[:300])
check(all(r["reason"] and r["stage"] for r in doc["rejects"]), "each reject carries its stage and reason")
status, doc, body, _, _ = get("/api/rejects?limit=2")
check(status == 200 and doc["count"] == 2 and len(doc["rejects"]) == 2 and doc.get("total") == seed["rejects"],
      "rejects limit: 2 rows, the day's total still counted in full", body[:300])
status, doc, body, _, _ = get("/api/rejects?day=2001-02-03")
check(status == 200 and doc["count"] == 0 and doc.get("total") == 0 and doc["day"] == "2001-02-03",
      "a day without rejects -> empty")
expect_400("/api/rejects?day=2026-02-30", "bad day")
expect_400("/api/rejects?day=25.11.2026", "bad day")
expect_400("/api/rejects?limit=0", "bad limit")

# ---- /api/pipeline, /metrics, /health, errors ---------------------------------------------------------
status, doc, body, ms, _ = get("/api/pipeline")
check(status == 200 and doc["latest"] is not None and len(doc["history"]) >= 1 and "up" in doc["latest"],
      f"pipeline: latest sample and history ({len(doc['history'])} samples, {ms:.1f} ms)", body[:300])
last_t = doc["history"][-1]["t"]
status, doc, body, _, _ = get(f"/api/pipeline?since={last_t}")
check(status == 200 and all(s["t"] > last_t for s in doc["history"]), "pipeline?since returns only newer samples")
expect_400("/api/pipeline?since=banana", "bad since")
# every pipeline of the config by name: the users one is the top-level sample, the
# other has a sampler of its own over its topics (side.raw ...: none exist, so 0)
for _ in range(30):
    status, doc, body, _, _ = get("/api/pipeline")
    pl = doc.get("pipelines") or {}
    side = (pl.get("side") or {}).get("latest")
    if side is not None:
        break
    time.sleep(0.2)
check(status == 200 and list(pl) == ["users", "side"]
      and pl["users"]["latest"]["t"] == doc["latest"]["t"]
      and side is not None and side["raw"] == 0 and "stored" in side and "lag" in side,
      "pipeline: 'pipelines' reports users (the top-level sample) and side (its own)",
      json.dumps(pl)[:300])
status, doc, body, _, headers = get("/metrics", at=metrics_base, headers={})
text = body.decode()
check(status == 200 and "spate_serve_requests_total{route=\"user\",code=\"200\"}" in text
      and "spate_serve_request_duration_seconds_bucket" in text and headers["Content-Type"].startswith("text/plain"),
      "/metrics counts requests by route and status", text[:200])
status, doc, body, _, _ = get("/health")
check(status == 200 and doc["status"] == "ok" and doc["cassandra"] == "up", "/health ok, Cassandra up", body)
status, doc, body, _, _ = get("/api/nothing")
check(status == 404 and doc["error"]["status"] == 404, "unknown path -> 404 JSON")
status, doc, body, _, headers = get("/api/users", method="POST")
check(status == 405 and headers.get("Allow") == "GET, HEAD", "POST -> 405 with Allow: GET, HEAD")
status, doc, body, _, headers = get("/api/users?limit=1", method="HEAD")
check(status == 200 and body == b"", "HEAD -> 200 without a body")
status, doc, body, _, headers = get("/")
csp = headers.get("Content-Security-Policy", "")
check(status == 200 and b"<canvas" in body and "default-src 'self'" in csp,
      "dashboard page served with a self-only CSP", csp)
for asset in ("/dashboard.js", "/dashboard.css"):
    status, doc, body, _, headers = get(asset)
    check(status == 200 and len(body) > 500, f"{asset} embedded ({len(body)} bytes)")

# ---- who may read (issue 16) ------------------------------------------------------------------
status, doc, body, _, headers = get("/metrics", headers={})
check(status == 404 and "own listener" in doc["error"]["message"],
      "/metrics is not on the API's port (its own listener: no PII next to it)", status)
status, doc, body, _, headers = get("/api/users?limit=1", at=metrics_base)
check(status == 404, "the metrics listener serves no API (404)", status)
status, doc, body, _, headers = get("/health", at=metrics_base, headers={})
check(status == 200 and doc["status"] == "ok", "/health on the metrics listener too", status)
status, doc, body, _, headers = get("/api/users?limit=1", headers={})
check(status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
      and "token" in doc["error"]["message"], "no token -> 401 with WWW-Authenticate: Bearer", status)
status, doc, body, _, headers = get("/api/users/" + uid, headers={"Authorization": "Bearer " + token[:-1]})
check(status == 401, "a wrong token -> 401", status)
status, doc, body, _, headers = get("/api/pipeline", headers={"Authorization": "Basic " + token})
check(status == 401, "another scheme -> 401", status)
for path in ("/", "/dashboard.js", "/health"):
    status, doc, body, _, headers = get(path, headers={})
    check(status == 200, f"{path} needs no token (no data in it)", status)
port = base.rsplit(":", 1)[1]
for host in ("rebind.attacker.example", "rebind.attacker.example:" + port, "localhost.attacker.example"):
    for path in ("/api/users?limit=1", "/"):
        status, doc, body, _, headers = get(path, headers={**AUTH, "Host": host})
        check(status == 403 and b"first_name" not in body, f"Host: {host} {path} -> 403 (DNS rebinding)", status)
for host in ("localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port):
    status, doc, body, _, headers = get("/api/users?limit=1", headers={**AUTH, "Host": host})
    check(status == 200, f"Host: {host} -> 200", status)

print(f"rest: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
