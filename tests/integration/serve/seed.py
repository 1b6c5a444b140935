#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# seed.py -- writes the CQL that stores a small, known data set for the serve suite, and
# the JSON of what the REST API must answer for it.
# Usage: seed.py KEYSPACE NOW_MS RUN_ID OUT.cql OUT.json
import datetime
import hashlib
import json
import sys

ks, now_ms, run_id, out_cql, out_json = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
DAY = 86400000


def uid(tag):
    h = bytearray(hashlib.sha256(f"{run_id}/{tag}".encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def day_of(ms):
    """A CQL date literal: a bare integer would be read as the raw unsigned day number."""
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).date()
    return "'" + d.isoformat() + "'"


def q(s):
    return "'" + s.replace("'", "''") + "'"


stmts = []
users = []
# DE: 12 users in the last minutes, newest first every 7 s; 2 more a day earlier
plan = [("DE", i, now_ms - 5000 - i * 7000) for i in range(12)]
plan += [("DE", 12 + i, now_ms - DAY - 60000 * (i + 1)) for i in range(2)]
plan += [("FR", i, now_ms - 3000 - i * 11000) for i in range(5)]
plan += [("US", i, now_ms - 4000 - i * 13000) for i in range(3)]
names = {"DE": ("Jonas", "Müller", "Berlin", "Germany"), "FR": ("Léa", "O'Brien", "Lyon", "France"),
         "US": ("Ava", "Smith", "Austin", "United States")}
for nat, i, t in plan:
    first, last, city, country = names[nat]
    u = {"user_id": uid(f"{nat}{i}"), "nationality": nat, "first_name": f"{first}{i}",
         "last_name": last, "gender": "female" if i % 2 else "male", "age": 20 + i,
         "city": city, "country": country, "email": f"{first.lower()}{i}@example.com",
         "ingested_at": t}
    users.append(u)
    day = day_of(t)
    stmts.append(
        f"INSERT INTO {ks}.users (user_id, gender, first_name, last_name, email, age, city, country, "
        f"nationality, ingested_at, processed_at) VALUES ({u['user_id']}, {q(u['gender'])}, "
        f"{q(u['first_name'])}, {q(u['last_name'])}, {q(u['email'])}, {u['age']}, {q(city)}, "
        f"{q(country)}, {q(nat)}, {t}, {t + 40})")
    stmts.append(
        f"INSERT INTO {ks}.users_by_nationality (nationality, day, ingested_at, user_id, first_name, "
        f"last_name, gender, age, email, city, country) VALUES ({q(nat)}, {day}, {t}, {u['user_id']}, "
        f"{q(u['first_name'])}, {q(u['last_name'])}, {q(u['gender'])}, {u['age']}, {q(u['email'])}, "
        f"{q(city)}, {q(country)})")

# signups: the 10 whole minutes before the current one; DE 3 female + 2 male, FR 1 male
minute_now = now_ms // 60000 * 60000
stats_total = {"DE": 0, "FR": 0}
by_gender = {"female": 0, "male": 0}
for m in range(1, 11):
    ws = minute_now - m * 60000
    for nat, gender, n in (("DE", "female", 3), ("DE", "male", 2), ("FR", "male", 1)):
        stmts.append(
            f"INSERT INTO {ks}.signups_by_minute (nationality, day, window_start, gender, window_end, "
            f"signups, avg_age) VALUES ({q(nat)}, {day_of(ws)}, {ws}, {q(gender)}, {ws + 60000}, {n}, 30.0)")
        stats_total[nat] += n
        by_gender[gender] += n

# rejects of today, one per stage
rejects = [("ingest", "malformed JSON"), ("process", "missing login.uuid"), ("sink", "bad uuid")]
raw = q('{"bad": true}')
for k, (stage, reason) in enumerate(rejects):
    at = now_ms - 1000 * (k + 1)
    stmts.append(
        f"INSERT INTO {ks}.rejected_by_day (day, at, dlq_partition, dlq_offset, stage, reason, "
        f"record_key, raw) VALUES ({day_of(at)}, {at}, 0, {k}, {q(stage)}, {q(reason)}, "
        f"{q('key-' + str(k))}, {raw})")

with open(out_cql, "w") as f:
    f.write(";\n".join(stmts) + ";\n")

de = sorted([u for u in users if u["nationality"] == "DE"], key=lambda u: -u["ingested_at"])
recent = sorted([u for u in users if u["ingested_at"] > now_ms - DAY // 2], key=lambda u: -u["ingested_at"])
with open(out_json, "w") as f:
    json.dump({"users": users, "de_ids": [u["user_id"] for u in de],
               "recent_ids": [u["user_id"] for u in recent],
               "stats_total": sum(stats_total.values()), "stats_de": stats_total["DE"],
               "stats_fr": stats_total["FR"], "by_gender": by_gender,
               "rejects": len(rejects), "minute_now": minute_now, "missing_id": uid("nobody")}, f, indent=1)
