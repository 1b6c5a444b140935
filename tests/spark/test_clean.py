# SPDX-License-Identifier: Apache-2.0
"""Query clean: each column mapping, each validation rule (pass and fail),
postcode as number and string, unicode names, malformed input, routing."""
import json

import pytest

from conftest import DELETE, TOPICS, clean_one, run_clean, user

UUID = "7a0eed16-9430-4d68-901f-c0d4c1c3bf00"


def ok(row):
    assert row["topic"] == TOPICS["clean"], row
    return row["value"]


def rejected(row, reason):
    assert row["topic"] == TOPICS["dlq"], row
    assert row["value"]["reason"] == reason, row
    hdr = dict(row["headers"])
    assert hdr["spate.stage"] == "process"
    assert hdr["spate.error"] == reason
    assert row["value"]["stage"] == "process"
    return row["value"]


# ---- column mapping ---------------------------------------------------------------

CLEAN_FIELDS = ["user_id", "gender", "title", "first_name", "last_name", "email", "phone",
                "cell", "username", "date_of_birth", "age", "registered_at", "street_number",
                "street_name", "city", "state", "country", "postcode", "latitude", "longitude",
                "timezone_offset", "nationality", "picture_url", "ingested_at", "processed_at"]


def test_clean_has_exactly_the_documented_fields(spark, pipeline):
    v = ok(clean_one(spark, pipeline, user()))
    assert list(v.keys()) == CLEAN_FIELDS


@pytest.mark.parametrize("field,expected", [
    ("user_id", UUID),
    ("gender", "female"),
    ("title", "Miss"),
    ("first_name", "Jennie"),
    ("last_name", "Nichols"),
    ("email", "jennie.nichols@example.com"),
    ("phone", "(272) 790-0888"),
    ("cell", "(489) 330-2385"),
    ("username", "yellowpeacock117"),
    ("date_of_birth", "1992-03-08T15:13:16.688Z"),
    ("age", 30),
    ("registered_at", "2007-07-09T05:51:59.390Z"),
    ("street_number", 8929),
    ("street_name", "Valwood Pkwy"),
    ("city", "Billings"),
    ("state", "Michigan"),
    ("country", "United States"),
    ("postcode", "63104"),
    ("latitude", -69.8246),
    ("longitude", 134.8719),
    ("timezone_offset", "+9:30"),
    ("nationality", "US"),
    ("picture_url", "https://randomuser.me/api/portraits/women/75.jpg"),
    ("ingested_at", "2025-11-25T15:37:20.123Z"),
])
def test_column_mapping(spark, pipeline, field, expected):
    v = ok(clean_one(spark, pipeline, user()))
    assert v[field] == expected
    assert type(v[field]) is type(expected)


def test_key_is_user_id(spark, pipeline):
    assert clean_one(spark, pipeline, user())["key"] == UUID


def test_uuid_is_lower_cased_and_trimmed(spark, pipeline):
    row = clean_one(spark, pipeline, user(login__uuid="  " + UUID.upper() + " "))
    assert ok(row)["user_id"] == UUID
    assert row["key"] == UUID


def test_email_lower_cased_and_trimmed(spark, pipeline):
    v = ok(clean_one(spark, pipeline, user(email="  Jennie.NICHOLS@Example.COM\t")))
    assert v["email"] == "jennie.nichols@example.com"


def test_gender_and_nationality_normalised(spark, pipeline):
    v = ok(clean_one(spark, pipeline, user(gender=" Male ", nat="fr")))
    assert v["gender"] == "male"
    assert v["nationality"] == "FR"


def test_processed_at_is_iso_utc_ms(spark, pipeline):
    v = ok(clean_one(spark, pipeline, user()))
    import re
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", v["processed_at"])
    assert v["processed_at"] > v["ingested_at"]


def test_ingested_at_falls_back_to_kafka_timestamp(spark, pipeline):
    v = ok(clean_one(spark, pipeline, user(), fetched_at_ms=None))
    assert v["ingested_at"] == "2025-11-25T15:37:21.000Z"
    v = ok(clean_one(spark, pipeline, user(), fetched_at_ms="not-a-number"))
    assert v["ingested_at"] == "2025-11-25T15:37:21.000Z"


def test_headers_travel_on_to_clean(spark, pipeline):
    row = clean_one(spark, pipeline, user(), extra_headers=[("spate.request_id", b"r1"),
                                                             ("spate.error", b"stale")])
    hdr = dict(row["headers"])
    assert hdr["spate.fetched_at"] == "1764085040123"
    assert hdr["spate.request_id"] == "r1"
    assert "spate.error" not in hdr and "spate.stage" not in hdr
    # the raw record's Kafka timestamp, for the sink's per-hop latency
    assert hdr["spate.raw_at"] == "1764085041000"


def test_raw_at_header_is_ours_not_the_producers(spark, pipeline):
    row = clean_one(spark, pipeline, user(), extra_headers=[("spate.raw_at", b"1")])
    assert [h for h in row["headers"] if h[0] == "spate.raw_at"] == [
        ("spate.raw_at", "1764085041000")]


def test_absent_optional_fields_are_null_not_missing(spark, pipeline):
    v = ok(clean_one(spark, pipeline, user(phone=DELETE, registered=DELETE)))
    assert v["phone"] is None and v["registered_at"] is None
    assert list(v.keys()) == CLEAN_FIELDS


# ---- postcode and unicode ------------------------------------------------------------

@pytest.mark.parametrize("postcode,expected", [
    (63104, "63104"),
    ("63104", "63104"),
    ("EC1A 1BB", "EC1A 1BB"),
    ("T5K 2J1", "T5K 2J1"),
    (1010, "1010"),
    ("01234", "01234"),
])
def test_postcode_always_text(spark, pipeline, postcode, expected):
    v = ok(clean_one(spark, pipeline, user(location__postcode=postcode)))
    assert v["postcode"] == expected


def test_unicode_names(spark, pipeline):
    rec = user(name__first="Zoë", name__last="Ørnes-Świątek")
    rec["location"]["city"] = "Île-de-France 東京"
    v = ok(clean_one(spark, pipeline, rec))
    assert v["first_name"] == "Zoë"
    assert v["last_name"] == "Ørnes-Świątek"
    assert v["city"] == "Île-de-France 東京"


def test_unicode_non_bmp_and_rtl(spark, pipeline):
    v = ok(clean_one(spark, pipeline, user(name__first="محمد", name__last="𝒜𝓁𝒾 😀")))
    assert v["first_name"] == "محمد"
    assert v["last_name"] == "𝒜𝓁𝒾 😀"


# ---- text Spark cannot carry unchanged (issue 14, item 16) ----------------------------
# Before: a lone surrogate escape was stored as "Ann?a" and bytes that are not
# UTF-8 as U+FFFD, in users.clean and so in Cassandra, without a trace.

def _with_first(raw_first):
    """The user record's JSON text with name.first replaced by raw JSON text."""
    text = json.dumps(user(name__first="FIRST"), ensure_ascii=False)
    return (UUID, text.replace('"FIRST"', '"' + raw_first + '"'))


@pytest.mark.parametrize("first", [
    "Ann\\ud800a",        # a high surrogate alone
    "Ann\\uDBFFa",        # upper-case hex
    "Ann\\udc00a",        # a low surrogate alone
    "Ann\\ude00\\ud83da",  # the halves in the wrong order
    "Ann\\\\\\ud800a",    # an escaped backslash, then a lone escape
])
def test_lone_surrogate_is_rejected_with_the_raw_text(spark, pipeline, first):
    rec = _with_first(first)
    v = rejected(clean_one(spark, pipeline, rec), "lone_surrogate")
    assert v["raw"] == rec[1]


@pytest.mark.parametrize("first,stored", [
    ("\\ud83d\\ude00 Ann", "\U0001F600 Ann"),  # a pair is one character
    ("Ann\\\\ud800a", "Ann\\ud800a"),          # an escaped backslash: text
])
def test_surrogate_pairs_and_escaped_backslashes_pass(spark, pipeline, first, stored):
    v = ok(clean_one(spark, pipeline, _with_first(first)))
    assert v["first_name"] == stored


def test_invalid_utf8_is_rejected_with_the_bytes_in_hex(spark, pipeline):
    key, text = _with_first("AnnXa")
    raw = text.encode("utf-8").replace(b"AnnXa", b"Ann\xffa")
    v = rejected(clean_one(spark, pipeline, (key, raw)), "invalid_utf8")
    assert v["raw"] == "0x" + raw.hex()
    assert v["key"] == UUID


def test_coordinates_as_numbers_too(spark, pipeline):
    v = ok(clean_one(spark, pipeline, user(location__coordinates={"latitude": 12.5,
                                                                  "longitude": -45})))
    assert v["latitude"] == 12.5 and v["longitude"] == -45.0


# ---- validation rules: one passing and one failing row each ------------------------

RULES = [
    # (rule, passing overrides, failing overrides)
    ("invalid_uuid", {"login__uuid": "00000000-0000-4000-8000-000000000000"},
     {"login__uuid": "not-a-uuid"}),
    ("invalid_uuid", {"login__uuid": "ABCDEF01-2345-6789-ABCD-EF0123456789"},
     {"login__uuid": DELETE}),
    ("empty_name", {"name__first": "A", "name__last": "B"}, {"name__first": "  "}),
    ("empty_name", {"name__last": "Ng"}, {"name__last": DELETE}),
    ("invalid_email", {"email": "a.b+c@mail.example.org"}, {"email": "jennie.example.com"}),
    ("invalid_email", {"email": "x@y.io"}, {"email": "a@b@c.com"}),
    ("invalid_email", {"email": "x@y.io"}, {"email": "a b@c.com"}),
    ("invalid_email", {"email": "x@y.io"}, {"email": "ab@localhost"}),
    ("unknown_gender", {"gender": "male"}, {"gender": "unknown"}),
    ("unknown_gender", {"gender": "FEMALE"}, {"gender": DELETE}),
    ("missing_nationality", {"nat": " de "}, {"nat": DELETE}),
    ("missing_nationality", {"nat": "FR"}, {"nat": "  "}),
    ("invalid_birth_date", {"dob__date": "2000-01-01T00:00:00.000Z"}, {"dob__date": "yesterday"}),
    ("birth_date_in_future", {"dob__date": "2025-11-25T15:37:20.122Z"},
     {"dob__date": "2025-11-25T15:37:20.124Z"}),
    ("birth_date_in_future", {"dob__date": "1900-01-01T00:00:00.000Z"},
     {"dob__date": "2999-01-01T00:00:00.000Z"}),
    ("invalid_coordinates", {"location__coordinates": {"latitude": "0", "longitude": "0"}},
     {"location__coordinates": {"latitude": "north", "longitude": "0"}}),
    ("invalid_coordinates", {"location__coordinates": {"latitude": "1", "longitude": "2"}},
     {"location__coordinates": DELETE}),
    ("coordinates_out_of_range",
     {"location__coordinates": {"latitude": "-90", "longitude": "180"}},
     {"location__coordinates": {"latitude": "90.0001", "longitude": "0"}}),
    ("coordinates_out_of_range",
     {"location__coordinates": {"latitude": "90", "longitude": "-180"}},
     {"location__coordinates": {"latitude": "0", "longitude": "-180.5"}}),
]


@pytest.mark.parametrize("rule,good,bad", RULES, ids=[f"{r[0]}-{i}" for i, r in enumerate(RULES)])
def test_rule_pass_and_fail(spark, pipeline, rule, good, bad):
    rows = run_clean(spark, pipeline, [("k-good", user(**good)), ("k-bad", user(**bad))])
    by_key = {r["value"].get("key", r["key"]): r for r in rows}
    assert len(rows) == 2
    good_row = [r for r in rows if r["topic"] == TOPICS["clean"]]
    assert len(good_row) == 1, rows
    bad_row = [r for r in rows if r["topic"] == TOPICS["dlq"]]
    assert len(bad_row) == 1, rows
    v = rejected(bad_row[0], rule)
    assert v["key"] == "k-bad"
    assert bad_row[0]["key"] == "k-bad"
    assert by_key


def test_first_broken_rule_wins(spark, pipeline):
    row = clean_one(spark, pipeline, user(email="bad", gender="x"))
    rejected(row, "invalid_email")


# ---- malformed input never fails the query -------------------------------------------

@pytest.mark.parametrize("raw", [
    '{"gender": "female", "name": ',   # truncated
    "not json at all",
    "[1, 2, 3]",                       # JSON, but not an object
    '"a string"',
    "42",
    "",
    None,                              # tombstone
    "{\"gender\": \"female\"} trailing",
    "\u0000\u0001binary",
])
def test_malformed_json_goes_to_dlq(spark, pipeline, raw):
    row = clean_one(spark, pipeline, ("k1", raw))
    v = rejected(row, "malformed_json")
    assert v["raw"] == raw
    assert v["key"] == "k1"
    assert row["key"] == "k1"


def test_wrong_types_inside_valid_json_do_not_fail(spark, pipeline):
    rec = user()
    rec["name"] = "just a string"
    rec["location"]["coordinates"] = [1, 2]
    row = clean_one(spark, pipeline, ("k2", rec))
    rejected(row, "empty_name")


def test_dlq_envelope(spark, pipeline):
    rec = user(email="nope")
    row = clean_one(spark, pipeline, ("key-7", rec))
    v = rejected(row, "invalid_email")
    assert set(v.keys()) == {"stage", "reason", "key", "raw", "at"}
    assert json.loads(v["raw"]) == rec   # the original value, untouched
    hdr = dict(row["headers"])
    assert hdr["spate.fetched_at"] == "1764085040123"
    assert hdr["spate.source"] == "test"


def test_one_row_out_per_row_in(spark, pipeline):
    recs = [user(), ("a", "junk"), user(gender="robot"), ("b", None)]
    rows = run_clean(spark, pipeline, recs)
    assert len(rows) == 4
    assert sorted(r["topic"] for r in rows) == sorted(
        [TOPICS["clean"], TOPICS["dlq"], TOPICS["dlq"], TOPICS["dlq"]])
