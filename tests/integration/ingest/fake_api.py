#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# fake_api.py -- a tiny paginated JSON API (page, cursor and Link styles) for ingest tests.
#
# api-sim covers page-number pagination and faults; this server covers the other two
# pagination styles and exact, scripted payloads. Records are deterministic:
# key "k-<n>" for the n-th record (0-based) of the whole data set.
#
#   GET /page?results=N&page=P     {"results":[...], "info":{...}}; empty past the end
#   GET /cursor?results=N[&cursor=C]  {"data":{"items":[...]}, "next": C'|null}
#   GET /link?results=N[&from=I]   {"results":[...]} + Link: <...>; rel="next"
#   GET /bad/<kind>                not_json | no_records | nokey | big
#   GET /stats                     {"requests": n}
#   GET /grow?n=K                  appends K records to the data set (a source that grows)
#   GET /fail?page=P&code=C        /page answers page P with status C from now on (C=0: heal)
#   GET /pad?n=K&bytes=S           record K carries S bytes of padding (S=0: none)
#   GET /link?...&next_base=URL     the next link is absolute, on URL (another origin)
#   GET /redirect?to=URL           302 to URL
#   GET /seen                      {"data_requests": n (all but /stats and /seen),
#                                   "auth": [credential headers received]}
# Usage: fake_api.py PORT TOTAL_RECORDS [HOST]   (prints "ready" when listening)
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOTAL = 1000
LOCK = threading.Lock()
REQUESTS = 0
AUTH = []  # Authorization / X-Api-Key values received
DATA = 0   # requests other than /stats and /seen
FAIL = {}  # page -> HTTP status
PAD = {}   # record number -> padding bytes


def record(n):
    r = {"login": {"uuid": "k-%d" % n}, "n": n, "name": {"first": "F\u00e9lix", "last": "L%d" % n}}
    if PAD.get(n):
        r["pad"] = "x" * PAD[n]
    return r


def items(start, count):
    end = min(TOTAL, start + count)
    return [record(i) for i in range(start, end)], end


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        global REQUESTS, TOTAL, DATA
        with LOCK:
            REQUESTS += 1
            if not self.path.startswith(("/stats", "/seen")):
                DATA += 1
            for h in ("Authorization", "X-Api-Key"):
                if self.headers.get(h):
                    AUTH.append(h + ": " + self.headers[h])
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        n = int(q.get("results", "10"))
        if u.path == "/page":
            page = int(q.get("page", "1"))
            if FAIL.get(page):
                self.send(FAIL[page], {"error": "page %d is unavailable" % page})
                return
            recs, _ = items((page - 1) * n, n) if (page - 1) * n < TOTAL else ([], 0)
            self.send(200, {"results": recs, "info": {"page": page, "results": len(recs)}})
        elif u.path == "/cursor":
            start = int(q["cursor"][2:]) if "cursor" in q else 0
            recs, end = items(start, n)
            nxt = "c-%d" % end if end < TOTAL else None
            self.send(200, {"data": {"items": recs}, "next": nxt})
        elif u.path == "/link":
            start = int(q.get("from", "0"))
            recs, end = items(start, n)
            h = {}
            if end < TOTAL:
                base = q.get("next_base", "")
                extra = "&next_base=" + base if base else ""
                h["Link"] = '<%s/link?results=%d&from=%d%s>; rel="next", </link?from=0>; rel="first"' % (
                    base, n, end, extra)
            self.send(200, {"results": recs}, h)
        elif u.path == "/bad/not_json":
            self.send(200, b'{"results": [ {"login": ')
        elif u.path == "/bad/no_records":
            self.send(200, {"error": "nothing here"})
        elif u.path == "/bad/nokey":
            self.send(200, {"results": [record(1), {"login": {}}, {"x": 1}, record(2)]})
        elif u.path == "/bad/big":
            self.send(200, {"results": [record(3), {"login": {"uuid": "big"}, "pad": "x" * 5000}]})
        elif u.path == "/grow":
            with LOCK:
                TOTAL += int(q.get("n", "0"))
            self.send(200, {"total": TOTAL})
        elif u.path == "/fail":
            with LOCK:
                FAIL[int(q["page"])] = int(q.get("code", "0"))
            self.send(200, {"fail": FAIL})
        elif u.path == "/pad":
            with LOCK:
                PAD[int(q["n"])] = int(q.get("bytes", "0"))
            self.send(200, {"pad": len(PAD)})
        elif u.path == "/redirect":
            self.send(302, {"moved": q["to"]}, {"Location": q["to"]})
        elif u.path == "/seen":
            self.send(200, {"data_requests": DATA, "auth": AUTH})
        elif u.path == "/stats":
            self.send(200, {"requests": REQUESTS})
        else:
            self.send(404, {"error": "not found"})


def main():
    global TOTAL
    port = int(sys.argv[1])
    TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    srv = ThreadingHTTPServer((host, port), Handler)
    srv.daemon_threads = True
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
