# SPDX-License-Identifier: Apache-2.0
"""fixture_api.py -- three JSON API shapes served offline for the `spate init` suite.

  /users   randomuser-like: nested objects, numbers as text, page pagination
           (?page=N, an empty page ends the data)
  /events  an events feed: arrays of objects, nested arrays, optional fields,
           ISO timestamps, cursor pagination (meta.next_cursor, ?cursor=)
  /series  a time series: one record per timestamp, many numeric fields, a
           Link: <...>; rel="next" header
  /bad/*   bad samples: notjson, scalar, empty, nokey

Deterministic: the same request always gets the same bytes.
usage: fixture_api.py PORT [PAGES]
"""

import json
import random
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PER_PAGE = 25


def users_page(page, pages):
    if page < 1 or page > pages:
        return {"results": [], "info": {"page": page, "results": 0}}
    rnd = random.Random(page)
    out = []
    for i in range(PER_PAGE):
        n = (page - 1) * PER_PAGE + i
        out.append({
            "gender": rnd.choice(["male", "female"]),
            "name": {"title": "Ms", "first": f"First{n}", "last": f"Last{n}"},
            "location": {
                "street": {"number": rnd.randint(1, 999), "name": "Main Street"},
                "city": rnd.choice(["Paris", "Lyon", "Berlin"]),
                "postcode": rnd.choice(["01234", "75001", "EC1A 1BB"]),
                "coordinates": {"latitude": f"{rnd.uniform(-90, 90):.4f}",
                                "longitude": f"{rnd.uniform(-180, 180):.4f}"},
            },
            "email": f"user{n}@example.com",
            "login": {"uuid": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                      "username": f"user{n}"},
            "dob": {"date": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}T10:20:30.000Z",
                    "age": str(20 + n % 60)},
            "nat": rnd.choice(["FR", "DE", "GB"]),
        })
    return {"results": out, "info": {"seed": "fixture", "results": PER_PAGE, "page": page}}


def events_page(cursor, pages):
    page = int(cursor[1:]) if cursor and cursor.startswith("c") else 1
    rnd = random.Random(1000 + page)
    data = []
    for i in range(PER_PAGE if page <= pages else 0):
        n = (page - 1) * PER_PAGE + i
        e = {
            "id": f"evt_{n:05d}",
            "type": rnd.choice(["click", "view", "purchase"]),
            "occurred_at": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00+00:00",
            "actor": {"id": 100 + n % 7, "name": f"actor{n % 7}"},
            "tags": [rnd.choice(["a", "b", "c"]) for _ in range(n % 3)],
            "items": [{"sku": f"S{k}", "qty": k + 1} for k in range(n % 3)],
            "amount": round(rnd.uniform(1, 100), 2),
        }
        if n % 4 == 0:
            e["note"] = f"note {n}"
        if page > 3:  # schema drift: a field `spate init` (3 pages) never saw
            e["region"] = rnd.choice(["eu", "us"])
        data.append(e)
    nxt = f"c{page + 1}" if page < pages else None
    return {"data": data, "meta": {"count": len(data), "next_cursor": nxt}}


def series_page(page, pages):
    if page < 1 or page > pages:
        return [], None
    rnd = random.Random(2000 + page)
    out = []
    for i in range(PER_PAGE):
        n = (page - 1) * PER_PAGE + i
        rec = {"time": f"2026-12-01T{n // 60 % 24:02d}:{n % 60:02d}:00Z",
               "station": "st1", "count": n, "ok": n % 5 != 0}
        for f in ("temp", "humidity", "pressure", "wind", "gust", "rain", "uv", "dew"):
            rec[f] = round(rnd.uniform(0, 100), 3)
        out.append(rec)
    nxt = f"/series?page={page + 1}" if page < pages else None
    return out, nxt


class Handler(BaseHTTPRequestHandler):
    pages = 4

    def log_message(self, fmt, *args):
        pass

    def send(self, body, ctype="application/json", headers=None):
        b = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        if u.path == "/users":
            self.send(users_page(int(q.get("page", "1")), self.pages))
        elif u.path == "/events":
            self.send(events_page(q.get("cursor", ""), self.pages))
        elif u.path == "/series":
            recs, nxt = series_page(int(q.get("page", "1")), self.pages)
            host = self.headers.get("Host", "127.0.0.1")
            h = {"Link": f'<http://{host}{nxt}>; rel="next"'} if nxt else {}
            self.send(recs, headers=h)
        elif u.path == "/bad/notjson":
            self.send(b"<html>maintenance</html>", "text/html")
        elif u.path == "/bad/scalar":
            self.send(b"42")
        elif u.path == "/bad/empty":
            self.send({"results": []})
        elif u.path == "/bad/nokey":
            self.send({"items": [{"kind": "a", "v": None}, {"kind": "a", "v": 1}]})
        else:
            self.send_response(404)
            self.end_headers()


def main():
    port = int(sys.argv[1])
    Handler.pages = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
