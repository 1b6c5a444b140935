/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_check.c -- `spate check`: the start-up contract between config, services and schemas. */
#include "cli.h"

#include "spate/cql.h"
#include "spate/kafka.h"
#include "spate/flow.h"
#include "spate/sink.h"
#include "spate/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Spark version the job and its Kafka connector are built for (deps/pom.xml). */
#define SPATE_SPARK_VERSION "4.2.0"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate check [options]\n"
            "\n"
            "Checks the contract the pipeline relies on and says how to fix what is wrong:\n"
            "  the config is valid; Kafka and Cassandra answer; Cassandra's version is\n"
            "  supported; the virtualenv's pyspark is the pinned Spark %s; the topics exist\n"
            "  with kafka.partitions partitions; every table and column of sink.mappings\n"
            "  exists with a type that can hold the field; every field a mapping reads is\n"
            "  produced by the SQL of spark.sql_dir; every key column of a mapped table gets\n"
            "  a value for each record (a field a validation rule or @not_null guarantees,\n"
            "  or a default).\n"
            "\n"
            "options:\n"
            "  --skip-topics   don't require the topics (spate run creates them)\n"
            "  --timeout MS    per network check (default 5000)\n",
            SPATE_SPARK_VERSION);
}

struct checker {
    int failed, passed;
};

static void ok(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(struct checker *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ok    ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    c->passed++;
}

static void fail(struct checker *c, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct checker *c, const char *fix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL  ");
    vprintf(fmt, ap);
    printf("\n      fix: %s\n", fix);
    va_end(ap);
    c->failed++;
}

static void check_kafka(struct checker *c, const struct spate_config *cfg, int topics,
                        int timeout_ms)
{
    char errstr[512];
    rd_kafka_conf_t *conf = spate_kafka_client_conf(cfg->kafka.bootstrap_servers,
                                                    &cfg->kafka.properties, errstr, sizeof errstr);
    if (!conf) {
        fail(c, "fix kafka.bootstrap_servers or kafka.properties", "%s", errstr);
        return;
    }
    struct spate_kafka_diag diag = {0};
    spate_kafka_diag_attach(conf, &diag);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fail(c, "check kafka.bootstrap_servers", "kafka client: %s", errstr);
        return;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    rd_kafka_poll(rk, 0);
    if (e && spate_kafka_diag_explain(&diag, &cfg->kafka.properties, errstr, sizeof errstr)) {
        fail(c, "fix kafka.properties", "kafka: %s answers, but %s", cfg->kafka.bootstrap_servers,
             errstr);
        rd_kafka_destroy(rk);
        return;
    }
    if (e) {
        fail(c, "start Kafka (spate stack up) or fix kafka.bootstrap_servers",
             "kafka: no broker of %s answers: %s", cfg->kafka.bootstrap_servers,
             rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return;
    }
    ok(c, "kafka: %d broker(s) at %s answer", md->broker_cnt, cfg->kafka.bootstrap_servers);
    const char *names[] = {cfg->kafka.topic_raw, cfg->kafka.topic_clean, cfg->kafka.topic_stats,
                           cfg->kafka.topic_dlq};
    for (int i = 0; topics && i < 4; i++) {
        int found = -1;
        for (int t = 0; t < md->topic_cnt; t++)
            if (!strcmp(md->topics[t].topic, names[i]))
                found = t;
        if (found < 0) {
            fail(c, "spate run creates the topics; or create it with kafka.partitions partitions",
                 "kafka: topic %s does not exist", names[i]);
        } else if (md->topics[found].partition_cnt < cfg->kafka.partitions) {
            char fix[256];
            snprintf(fix, sizeof fix, "add partitions to %s (kafka-topics --alter --partitions %d)",
                     names[i], cfg->kafka.partitions);
            fail(c, fix, "kafka: topic %s has %d partitions, kafka.partitions is %d", names[i],
                 md->topics[found].partition_cnt, cfg->kafka.partitions);
        } else {
            ok(c, "kafka: topic %s, %d partitions", names[i], md->topics[found].partition_cnt);
        }
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
}

/* A key column that can receive null makes Cassandra refuse the row, and the
 * sink then sends the whole record to the DLQ: every table it feeds loses it. */
static int check_keys(struct checker *c, const struct spate_config *cfg, const char *topic,
                      const struct spate_sink_table_config *tab, struct cql_result *res,
                      size_t rows)
{
    struct flow_sql_guarantees g;
    flow_sql_guarantees_of(cfg, topic, &g);
    int bad = 0;
    for (size_t r = 0; r < rows; r++) {
        const char *name, *kind;
        size_t nl, kl;
        if (cql_result_get_bytes(res, r, 0, &name, &nl) != 0 ||
            cql_result_get_bytes(res, r, 2, &kind, &kl) != 0 || !kind ||
            !((kl == 13 && !memcmp(kind, "partition_key", 13)) ||
              (kl == 10 && !memcmp(kind, "clustering", 10))))
            continue;
        const struct spate_sink_column_config *cc = NULL;
        for (size_t col = 0; col < tab->column_count; col++)
            if (strlen(tab->columns[col].column) == nl &&
                !memcmp(tab->columns[col].column, name, nl))
                cc = &tab->columns[col];
        char fix[512], why[200];
        if (!cc) {
            snprintf(fix, sizeof fix, "map %.*s in sink.mappings (table %s)", (int)nl, name,
                     tab->table);
            fail(c, fix, "contract: %s.%.*s is a key column and no mapping of %s feeds it",
                 tab->table, (int)nl, name, topic);
            bad++;
            continue;
        }
        int rc = sink_from_nullable(cc->from, g.ptrs, g.n, why, sizeof why);
        if (rc < 0) {
            fail(c, "fix the mapping's from", "contract: %s.%s: from '%s': %s", tab->table,
                 cc->column, cc->from, why);
            bad++;
        } else if (rc == 1) {
            snprintf(fix, sizeof fix,
                     "add a validation rule `WHEN <field> IS NULL ... THEN '<reason>'` to the "
                     "CASE of %s/*.view.sql, or give the mapping a default (%s|'...')",
                     cfg->spark.sql_dir, cc->from);
            fail(c, fix,
                 "contract: %s.%s is a key column fed from %s, which %s does not guarantee "
                 "(mapping from '%s'): a record without it is refused for the table",
                 tab->table, cc->column, why, topic, cc->from);
            bad++;
        }
    }
    return bad;
}

static void check_cassandra(struct checker *c, const struct spate_config *cfg, int timeout_ms)
{
    struct cql_session_config sc;
    cql_session_config_from_spate(&sc, &cfg->cassandra);
    sc.connect_timeout_ms = timeout_ms;
    sc.discover_peers = 0;
    struct cql_session *s = NULL;
    char err[512];
    if (cql_session_new(&sc, &s, err, sizeof err) != 0) {
        fail(c, "start Cassandra (spate stack up) or fix cassandra.contact_points/port",
             "cassandra: %s", err);
        return;
    }
    struct cql_result *res = NULL;
    if (cql_query(s, "SELECT release_version FROM system.local", NULL, 0, NULL, &res) == 0 &&
        cql_result_row_count(res) == 1) {
        const char *v;
        size_t len;
        char ver[32] = "?";
        if (cql_result_get_bytes(res, 0, 0, &v, &len) == 0 && len < sizeof ver) {
            memcpy(ver, v, len);
            ver[len] = '\0';
        }
        if (atoi(ver) >= 4)
            ok(c, "cassandra: version %s at %s:%d", ver, cfg->cassandra.contact_points.items[0],
               cfg->cassandra.port);
        else
            fail(c, "use Cassandra 4.0 or newer (the local stack runs 5.0)",
                 "cassandra: version %s is not supported", ver);
    } else {
        fail(c, "check the node's logs", "cassandra: cannot read system.local: %s",
             cql_session_errstr(s));
    }
    cql_result_free(res);

    const char *ks = cfg->cassandra.keyspace;
    for (size_t m = 0; m < cfg->sink.mapping_count; m++) {
        const struct spate_sink_config *map = &cfg->sink.mappings[m];
        for (size_t t = 0; t < map->table_count; t++) {
            const struct spate_sink_table_config *tab = &map->tables[t];
            struct cql_value args[2] = {cql_text(ks), cql_text(tab->table)};
            res = NULL;
            if (cql_query(s,
                          "SELECT column_name, type, kind FROM system_schema.columns WHERE "
                          "keyspace_name = ? AND table_name = ?",
                          args, 2, NULL, &res) != 0) {
                fail(c, "check the node", "cassandra: reading the schema of %s.%s: %s", ks,
                     tab->table, cql_session_errstr(s));
                continue;
            }
            size_t rows = cql_result_row_count(res);
            if (rows == 0) {
                fail(c, "run `spate schema apply` (spate run does it)",
                     "cassandra: table %s.%s does not exist", ks, tab->table);
                cql_result_free(res);
                continue;
            }
            int bad = 0;
            for (size_t col = 0; col < tab->column_count; col++) {
                const struct spate_sink_column_config *cc = &tab->columns[col];
                char ctype[128] = "";
                for (size_t r = 0; r < rows; r++) {
                    const char *name, *type;
                    size_t nl, tl;
                    if (cql_result_get_bytes(res, r, 0, &name, &nl) == 0 &&
                        nl == strlen(cc->column) && !memcmp(name, cc->column, nl) &&
                        cql_result_get_bytes(res, r, 1, &type, &tl) == 0 && tl < sizeof ctype) {
                        memcpy(ctype, type, tl);
                        ctype[tl] = '\0';
                    }
                }
                char fix[256], why[256];
                if (!ctype[0]) {
                    snprintf(fix, sizeof fix,
                             "ALTER TABLE %s.%s ADD %s <type>, or remove it from sink.mappings",
                             ks, tab->table, cc->column);
                    fail(c, fix, "cassandra: %s.%s has no column %s (mapped from %s)", ks,
                         tab->table, cc->column, cc->from);
                    bad++;
                } else if (sink_check_mapping(cc->from, cc->type, ctype, why, sizeof why) != 0) {
                    snprintf(fix, sizeof fix,
                             "change the column type or the mapping's type for %s", cc->column);
                    fail(c, fix, "cassandra: %s.%s.%s is %s, which cannot hold the mapping "
                                 "from %s: %s", ks, tab->table, cc->column, ctype, cc->from, why);
                    bad++;
                }
            }
            if (!bad)
                ok(c, "cassandra: %s.%s has the %zu mapped columns with fitting types", ks,
                   tab->table, tab->column_count);
            if (!check_keys(c, cfg, map->topic, tab, res, rows))
                ok(c, "contract: every key column of %s.%s gets a value for each record of %s",
                   ks, tab->table, map->topic);
            cql_result_free(res);
        }
    }
    cql_session_free(s);
}

static void check_spark(struct checker *c, const struct spate_config *cfg)
{
    /* spark.python comes from the config: run it directly, never through a shell */
    const char *const py[] = {cfg->spark.python, "-c", "import pyspark; print(pyspark.__version__)",
                              NULL};
    char ver[64] = "";
    if (spate_run_capture(py, ver, sizeof ver) != 0)
        ver[0] = '\0';
    ver[strcspn(ver, "\r\n")] = '\0';
    if (!ver[0])
        fail(c, "run scripts/setup (make run does it) or fix spark.python",
             "spark: no pyspark importable by %s", cfg->spark.python);
    else if (strcmp(ver, SPATE_SPARK_VERSION) != 0)
        fail(c, "install pyspark==" SPATE_SPARK_VERSION " (scripts/setup pins it): "
                "the Kafka connector in deps/lib/spark is built for it",
             "spark: pyspark %s found, the pipeline needs Spark %s", ver, SPATE_SPARK_VERSION);
    else
        ok(c, "spark: pyspark %s (%s)", ver, cfg->spark.python);

    char jar[1024];
    snprintf(jar, sizeof jar, "%s/spark-sql-kafka-0-10_2.13-%s.jar", cfg->spark.jars_dir,
             SPATE_SPARK_VERSION);
    if (access(jar, R_OK) != 0)
        fail(c, "run scripts/setup", "spark: %s is missing", jar);
    else
        ok(c, "spark: Kafka connector %s", jar);
}

/* Field names the SQL writes into a topic's JSON: the quoted names of the first
 * named_struct( ... ) of the query file. */
static int sql_fields(const char *path, char fields[][48], int max)
{
    char *text = spate_read_file(path);
    if (!text)
        return -1;
    int count = 0;
    const char *p = strstr(text, "named_struct(");
    int depth = 0;
    for (; p && *p && count < max; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')' && --depth == 0)
            break;
        else if (*p == '\'' && depth == 1) {
            const char *end = strchr(p + 1, '\'');
            if (!end)
                break;
            size_t len = (size_t)(end - p - 1);
            /* a name is followed by a comma: skip the values that are literals */
            const char *q = end + 1;
            while (*q == ' ')
                q++;
            if (*q == ',' && len < 48 && len > 0) {
                memcpy(fields[count], p + 1, len);
                fields[count][len] = '\0';
                count++;
            }
            p = end;
        } else if (*p == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        }
    }
    free(text);
    return count;
}

static void check_contract(struct checker *c, const struct spate_config *cfg)
{
    struct {
        const char *topic;
        const char *file;
    } q[] = {{cfg->kafka.topic_clean, "clean.sql"}, {cfg->kafka.topic_stats, "stats.sql"}};
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", cfg->spark.sql_dir, q[i].file);
        char fields[64][48];
        int n = sql_fields(path, fields, 64);
        if (n <= 0) {
            fail(c, "check spark.sql_dir", "contract: cannot read the output fields of %s", path);
            continue;
        }
        for (size_t m = 0; m < cfg->sink.mapping_count; m++) {
            const struct spate_sink_config *map = &cfg->sink.mappings[m];
            if (strcmp(map->topic, q[i].topic) != 0)
                continue;
            int bad = 0, used = 0;
            for (size_t t = 0; t < map->table_count; t++) {
                for (size_t col = 0; col < map->tables[t].column_count; col++) {
                    const char *from = map->tables[t].columns[col].from;
                    /* plain field names and day(field) / field|default forms */
                    char name[48];
                    const char *s = !strncmp(from, "day(", 4) ? from + 4 : from;
                    size_t len = strcspn(s, ")|.");
                    if (len == 0 || len >= sizeof name || !islower((unsigned char)s[0]))
                        continue;
                    memcpy(name, s, len);
                    name[len] = '\0';
                    if (!strcmp(name, "key") || !strcmp(name, "now") ||
                        !strncmp(name, "header:", 7) || !strcmp(name, "partition") ||
                        !strcmp(name, "offset"))
                        continue;
                    used++;
                    int found = 0;
                    for (int k = 0; k < n; k++)
                        found |= !strcmp(fields[k], name);
                    if (!found) {
                        char fix[256];
                        snprintf(fix, sizeof fix,
                                 "add '%s' to the output of %s or change sink.mappings", name,
                                 path);
                        fail(c, fix,
                             "contract: %s.%s is mapped from field '%s', which %s does not "
                             "write to %s",
                             map->tables[t].table, map->tables[t].columns[col].column, name,
                             q[i].file, q[i].topic);
                        bad++;
                    }
                }
            }
            if (!bad)
                ok(c, "contract: the %d fields sink.mappings reads from %s are written by %s",
                   used, q[i].topic, q[i].file);
        }
    }
}

int cmd_check(struct cli_ctx *ctx, int argc, char **argv)
{
    int topics = 1, timeout_ms = 5000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--skip-topics")) {
            topics = 0;
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            timeout_ms = atoi(argv[++i]);
        } else {
            return cli_bad_option("check", argv[i]);
        }
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    struct checker c = {0};
    ok(&c, "config: %s is valid", cfg->path ? cfg->path : "(built-in defaults)");
    check_kafka(&c, cfg, topics, timeout_ms);
    check_cassandra(&c, cfg, timeout_ms);
    check_spark(&c, cfg);
    check_contract(&c, cfg);
    printf("\ncheck: %d passed, %d failed\n", c.passed, c.failed);
    return c.failed ? CLI_FAIL : CLI_OK;
}
