# SPDX-License-Identifier: Apache-2.0
"""The driver's pure parts: SQL splitting, directives, triggers, local master."""
import json

import pytest

import spate_job as j
from conftest import SQL_DIR


def test_split_respects_quotes_and_comments():
    sql = "SELECT 'a;b' AS x; -- c;d\nSELECT \"e;f\" /* g;h */ ;\n\n-- only a comment;\n"
    stmts = j.split_statements(sql)
    assert len(stmts) == 2
    assert "'a;b'" in stmts[0]
    assert '"e;f"' in stmts[1]


def test_split_handles_escaped_quote():
    assert len(j.split_statements(r"SELECT 'it\'s;fine'; SELECT 2")) == 2


def test_directives_only_from_leading_comments():
    text = "-- x\n-- @output_mode: update\n-- @realtime: supported (why)\nSELECT 1\n-- @k: v\n"
    assert j.directives(text) == {"output_mode": "update", "realtime": "supported (why)"}


def test_pipeline_files():
    p = j.Pipeline(SQL_DIR)
    assert set(p.queries) == {"clean", "stats"}
    assert p.queries["clean"].realtime_supported
    assert not p.queries["stats"].realtime_supported
    assert p.queries["stats"].output_mode == "update"
    assert p.queries["stats"].input == "clean"
    assert p.queries["clean"].input == "raw"
    assert p.queries["stats"].conf == {"spark.sql.shuffle.partitions": "1"}
    assert [v[0].rsplit("/", 1)[1] for v in p.views] == ["users_parsed.view.sql"]


@pytest.mark.parametrize("wanted,query,expected", [
    ("auto", "clean", ("realTime", "30 seconds")),
    ("auto", "stats", ("processingTime", "10 seconds")),
    ("microbatch", "stats", ("processingTime", "0 seconds")),
    ("microbatch", "clean", ("processingTime", "0 seconds")),
    ("realtime:2m", "clean", ("realTime", "2 minutes")),
    ("realtime:45 seconds", "clean", ("realTime", "45 seconds")),
    ("processingTime:500ms", "stats", ("processingTime", "500 milliseconds")),
])
def test_triggers(wanted, query, expected):
    assert j.resolve_trigger(j.Pipeline(SQL_DIR).query(query), wanted) == expected


def test_realtime_refused_for_stateful_query():
    with pytest.raises(j.PipelineError, match="real-time"):
        j.resolve_trigger(j.Pipeline(SQL_DIR).query("stats"), "realtime")


def test_unknown_query():
    with pytest.raises(j.PipelineError, match="no query 'nope'"):
        j.Pipeline(SQL_DIR).query("nope")


@pytest.mark.parametrize("master,rt,mb,parts,expected", [
    ("local[2]", 1, 1, 6, "local[8]"),
    ("local[2]", 0, 2, 6, "local[2]"),
    ("local[16]", 1, 1, 6, "local[16]"),
    ("local[*]", 1, 0, 6, "local[6]"),
    ("spark://h:7077", 1, 1, 6, "spark://h:7077"),
])
def test_local_master_gets_a_slot_per_realtime_partition(master, rt, mb, parts, expected):
    assert j.local_master(master, rt, mb, parts)[0] == expected


def test_query_directives_input_trigger_conf(tmp_path):
    (tmp_path / "q.sql").write_text("-- @input: clean\n-- @trigger: processingTime:3s\n"
                                    "-- @conf: a.b=1, c.d=x\nSELECT 'x' AS topic, 'v' AS value\n")
    q = j.Pipeline(str(tmp_path)).query("q")
    assert (q.input, q.conf) == ("clean", {"a.b": "1", "c.d": "x"})
    assert j.resolve_trigger(q, "auto") == ("processingTime", "3 seconds")
    assert j.resolve_trigger(q, "microbatch") == ("processingTime", "0 seconds")


def test_query_directive_errors(tmp_path):
    (tmp_path / "q.sql").write_text("-- @input: elsewhere\nSELECT 1\n")
    with pytest.raises(j.PipelineError, match="@input"):
        j.Pipeline(str(tmp_path))
    (tmp_path / "q.sql").write_text("-- @conf: novalue\nSELECT 1\n")
    with pytest.raises(j.PipelineError, match="@conf"):
        j.Pipeline(str(tmp_path))


def test_checkpoint_folder_follows_the_input():
    p = j.Pipeline(SQL_DIR)
    args = j.parse_args(["--checkpoint-dir", "/ck"])
    assert j.checkpoint_of(args, p.query("clean")) == "/ck/clean"
    assert j.checkpoint_of(args, p.query("stats")) == "/ck/stats-clean"


def test_extra_pipelines_get_their_own_topics_checkpoints_and_query_names(tmp_path):
    spec = json.dumps({"name": "ev", "sql_dir": SQL_DIR, "checkpoint_dir": "/ck/ev",
                       "topic_raw": "ev.raw", "topic_clean": "ev.clean",
                       "topic_stats": "ev.stats", "topic_dlq": "ev.dlq"})
    args = j.parse_args(["--checkpoint-dir", "/ck", "--extra-pipeline", spec])
    [(prefix, a, p, names)] = j.extra_pipelines(args)
    assert prefix == "ev." and names == sorted(p.queries)
    assert (a.topic_raw, a.topic_dlq, a.checkpoint_dir) == ("ev.raw", "ev.dlq", "/ck/ev")
    assert j.checkpoint_of(a, p.query("clean")) == "/ck/ev/clean"
    assert args.topic_raw == "users.raw"  # the main pipeline's are its own
    bad = j.parse_args(["--extra-pipeline", '{"name": "ev"}'])
    with pytest.raises(j.PipelineError, match="--extra-pipeline"):
        j.extra_pipelines(bad)


# ---- kafka.properties (librdkafka names) -> the Java client's options ----------

def test_scram_over_tls_becomes_java_options(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    o = j.java_kafka_options({"security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-512",
                              "sasl.username": "spate", "sasl.password": 'p"w\\d',
                              "ssl.ca.location": str(ca), "linger.ms": "5"})
    assert o["kafka.security.protocol"] == "SASL_SSL"
    assert o["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert o["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required '
        'username="spate" password="p\\"w\\\\d";')
    assert o["kafka.ssl.truststore.type"] == "PEM"
    assert o["kafka.ssl.truststore.certificates"] == ca.read_text()
    assert not any("linger" in k for k in o)


def test_plain_mechanism_and_no_host_check():
    o = j.java_kafka_options({"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
                              "sasl.username": "key", "sasl.password": "secret",
                              "ssl.endpoint.identification.algorithm": "none"})
    assert o["kafka.sasl.jaas.config"].startswith(
        "org.apache.kafka.common.security.plain.PlainLoginModule required")
    assert o["kafka.ssl.endpoint.identification.algorithm"] == ""


def test_untranslatable_mechanism_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(j.PipelineError, match="cannot translate sasl.mechanism OAUTHBEARER"):
        j.java_kafka_options({"sasl.mechanism": "OAUTHBEARER"})
    with pytest.raises(j.PipelineError, match="needs sasl.username and sasl.password"):
        j.java_kafka_options({"sasl.mechanism": "PLAIN", "sasl.username": "u"})
    with pytest.raises(j.PipelineError, match="ssl.ca.location: cannot read"):
        j.java_kafka_options({"ssl.ca.location": str(tmp_path / "missing.pem")})


def test_properties_arrive_through_the_environment(monkeypatch):
    monkeypatch.setenv(j.KAFKA_PROPERTIES_ENV, '{"security.protocol": "SSL"}')
    assert j.kafka_client_options(None) == {"kafka.security.protocol": "SSL"}
    monkeypatch.delenv(j.KAFKA_PROPERTIES_ENV)
    assert j.kafka_client_options(None) == {}
