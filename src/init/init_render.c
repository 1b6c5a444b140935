/* SPDX-License-Identifier: Apache-2.0 */
/* init_render.c -- the files of a pipeline written by `spate init`: SQL, CQL, config. */
#include "spate/init.h"

#include "spate/error.h"

#include <stdio.h>
#include <string.h>

#define ISO_MS "\"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'\""
#define TRIM(x) "regexp_replace(" x ", '^\\\\s+|\\\\s+$', '')"

#define P(...)                                                                               \
    do {                                                                                     \
        if (spate_buf_appendf(out, __VA_ARGS__) != 0)                                        \
            return SPATE_ENOMEM;                                                             \
    } while (0)

static const struct init_field *key_field(const struct init_schema *s)
{
    return &s->fields[s->key];
}

/* The key is kept as text when it is a time: the ledger compares it with the
 * raw record's key, which is the API's text (a timestamp would come back
 * reformatted). */
static enum init_kind stored_kind(const struct init_schema *s, size_t i)
{
    if (i == s->key && s->fields[i].kind == INIT_TIMESTAMP)
        return INIT_TEXT;
    return s->fields[i].kind;
}

static long by_field(const struct init_schema *s, const char *by)
{
    if (!by)
        return -1;
    for (size_t i = 0; i < s->field_count; i++)
        if (!strcmp(s->fields[i].column, by) || !strcmp(s->fields[i].path, by))
            return (long)i;
    return -1;
}

/* r.`a`.`b` for path a.b */
static int raw_ref(struct spate_buf *out, const char *path)
{
    P("r");
    const char *p = path;
    while (*p) {
        const char *d = strchr(p, '.');
        size_t n = d ? (size_t)(d - p) : strlen(p);
        P(".`%.*s`", (int)n, p);
        p += n + (d ? 1 : 0);
    }
    return 0;
}

/* ---- from_json schema: nested STRUCTs of STRING leaves ------------------------------ */

/* Writes the members of the object at prefix (paths starting with prefix + '.')
 * in first-seen order. */
static int struct_members(const struct init_schema *s, const char *prefix, int indent,
                          struct spate_buf *out)
{
    size_t plen = strlen(prefix);
    int first = 1;
    /* each direct child name once, in the order it first appears */
    for (size_t i = 0; i < s->field_count; i++) {
        const char *path = s->fields[i].path;
        if (plen && (strncmp(path, prefix, plen) || path[plen] != '.'))
            continue;
        const char *rest = plen ? path + plen + 1 : path;
        const char *dot = strchr(rest, '.');
        size_t n = dot ? (size_t)(dot - rest) : strlen(rest);
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++) {
            const char *q = s->fields[j].path;
            if (plen && (strncmp(q, prefix, plen) || q[plen] != '.'))
                continue;
            const char *qr = plen ? q + plen + 1 : q;
            dup = !strncmp(qr, rest, n) && (qr[n] == '.' || qr[n] == '\0');
        }
        if (dup)
            continue;
        P("%s\n%*s`%.*s`%s ", first ? "" : ",", indent, "", (int)n, rest, plen ? ":" : "");
        first = 0;
        if (dot) {
            char sub[512];
            snprintf(sub, sizeof sub, "%.*s", (int)(rest - path + n), path);
            P("STRUCT<");
            if (struct_members(s, sub, indent + 2, out))
                return SPATE_ENOMEM;
            P(">");
        } else {
            P("STRING");
        }
    }
    return 0;
}

/* 'a', 'b': the top-level names of the sample, each once */
static int top_names(const struct init_schema *s, struct spate_buf *out)
{
    int first = 1;
    for (size_t i = 0; i < s->field_count; i++) {
        const char *p = s->fields[i].path;
        size_t n = strcspn(p, ".");
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++) {
            const char *q = s->fields[j].path;
            dup = strcspn(q, ".") == n && !strncmp(p, q, n);
        }
        if (dup)
            continue;
        P("%s'", first ? "" : ", ");
        for (size_t k = 0; k < n; k++)
            P(p[k] == '\'' ? "\\'" : "%c", p[k]);
        P("'");
        first = 0;
    }
    return 0;
}

/* ---- the view ------------------------------------------------------------------------ */

static int typed_expr(const struct init_schema *s, size_t i, struct spate_buf *out)
{
    const struct init_field *f = &s->fields[i];
    struct spate_buf ref = {0};
    if (raw_ref(&ref, f->path) || spate_buf_append(&ref, "", 1)) {
        spate_buf_free(&ref);
        return SPATE_ENOMEM;
    }
    const char *r = ref.data;
    int rc = 0;
    switch (stored_kind(s, i)) {
    case INIT_UUID: rc = spate_buf_appendf(out, "lower(" TRIM("%s") ")", r); break;
    case INIT_BIGINT: rc = spate_buf_appendf(out, "try_cast(" TRIM("%s") " AS BIGINT)", r); break;
    case INIT_DOUBLE: rc = spate_buf_appendf(out, "try_cast(" TRIM("%s") " AS DOUBLE)", r); break;
    case INIT_BOOLEAN: rc = spate_buf_appendf(out, "try_cast(" TRIM("%s") " AS BOOLEAN)", r); break;
    case INIT_TIMESTAMP:
        rc = spate_buf_appendf(out, "try_cast(" TRIM("%s") " AS TIMESTAMP)", r);
        break;
    case INIT_TEXT:
        rc = i == s->key ? spate_buf_appendf(out, TRIM("%s"), r) : spate_buf_appendf(out, "%s", r);
        break;
    case INIT_JSON: rc = spate_buf_appendf(out, "%s", r); break;
    }
    spate_buf_free(&ref);
    return rc ? SPATE_ENOMEM : 0;
}

int init_render_view(const struct init_schema *s, const struct init_source_opts *o,
                     struct spate_buf *out)
{
    const char *n = o->name;
    P("-- SPDX-License-Identifier: Apache-2.0\n"
      "-- %s_parsed.view.sql -- the %s.raw records, flattened, typed and validated.\n"
      "--\n"
      "-- Written by `spate init %s` from %zu sample records of\n"
      "-- %s\n"
      "-- It is yours now: review the types and the rules, then keep it in version control.\n"
      "-- spark/spate_job.py runs it once per query that reads %s.raw, after it has\n"
      "-- registered that topic as the view `%s_raw` (Kafka's columns: key, value, topic,\n"
      "-- partition, offset, timestamp, timestampType, headers).\n"
      "--\n"
      "-- Nothing here may fail the query: every cast is a try_cast, so a hostile record\n"
      "-- becomes a row with `error` set (and goes to %s.dlq) instead of an exception.\n"
      "-- One row per raw record, never fewer, never more: raw = clean + process DLQ.\n\n",
      n, n, n, s->record_count, o->url, n, n, n);
    P("CREATE OR REPLACE TEMPORARY VIEW %s_source AS\n"
      "SELECT\n"
      "  CAST(key AS STRING)   AS raw_key,\n"
      "  CAST(value AS STRING) AS raw_value,\n"
      "  headers,\n"
      "  timestamp             AS kafka_timestamp,\n"
      "  -- the fetch time spate ingest stamped (epoch ms, decimal text)\n"
      "  try_cast(CAST(try_element_at(\n"
      "      filter(headers, h -> h.key = 'spate.fetched_at'), -1).value AS STRING) AS BIGINT)\n"
      "                        AS fetched_at_ms\n"
      "FROM %s_raw;\n\n",
      n, n);
    P("CREATE OR REPLACE TEMPORARY VIEW %s_json AS\n"
      "SELECT\n"
      "  *,\n"
      "  -- NULL unless the value is one JSON object\n"
      "  coalesce(json_object_keys(raw_value) IS NOT NULL\n"
      "           AND raw_value RLIKE '\\\\}\\\\s*$', false) AS is_object,\n"
      "  -- Every leaf is read as STRING (a number's JSON text, an array's JSON text), so\n"
      "  -- a wrong type in one field cannot null the whole record; typing is below.\n"
      "  from_json(raw_value, '",
      n);
    if (struct_members(s, "", 4, out))
        return SPATE_ENOMEM;
    P("') AS r,\n"
      "  -- top-level fields the sample did not have (schema drift): the record stays\n"
      "  -- whole in %s.raw, the clean one carries their names in the header\n"
      "  -- spate.new_fields and the sink counts it (spate_sink_records_new_fields_total)\n"
      "  array_except(coalesce(json_object_keys(raw_value), CAST(array() AS ARRAY<STRING>)), array(",
      n);
    if (top_names(s, out))
        return SPATE_ENOMEM;
    P(")) AS new_fields\nFROM %s_source;\n\n", n);

    P("CREATE OR REPLACE TEMPORARY VIEW %s_typed AS\nSELECT\n"
      "  raw_key,\n  raw_value,\n  headers,\n  kafka_timestamp,\n  is_object,\n  r,\n"
      "  new_fields,\n", n);
    for (size_t i = 0; i < s->field_count; i++) {
        const struct init_field *f = &s->fields[i];
        P("  ");
        if (typed_expr(s, i, out))
            return SPATE_ENOMEM;
        P(" AS `%s`,", f->column);
        if (i == s->key || !f->nulls || f->as_string)
            P("  -- %s%s%s", i == s->key ? "the key; " : "",
              f->nulls ? "optional" : "in every sample record",
              f->as_string ? "; arrives as text" : "");
        P("\n");
    }
    P("  CASE WHEN fetched_at_ms BETWEEN 0 AND 253402300799999\n"
      "       THEN timestamp_millis(fetched_at_ms)\n"
      "       ELSE kafka_timestamp END AS ingested_at,\n"
      "  -- wall clock per row (current_timestamp() is fixed per batch)\n"
      "  timestamp_millis(CAST(reflect('java.lang.System', 'currentTimeMillis') AS BIGINT))\n"
      "    AS processed_at\n"
      "FROM %s_json;\n\n",
      n);

    const struct init_field *k = key_field(s);
    long by = by_field(s, o->by);
    P("-- The validation rules, in the order they are checked; `error` names the first\n"
      "-- one a record breaks (also the Kafka header spate.error of its DLQ record).\n"
      "CREATE OR REPLACE TEMPORARY VIEW %s_parsed AS\n"
      "SELECT\n  *,\n  CASE\n"
      "    WHEN NOT is_object THEN 'malformed_json'\n"
      "    -- the key (%s) is in every table's primary key\n"
      "    WHEN `%s` IS NULL OR CAST(`%s` AS STRING) = '' THEN 'missing_key'\n",
      n, k->path, k->column, k->column);
    if (k->kind == INIT_UUID)
        P("    WHEN NOT `%s` RLIKE "
          "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'\n"
          "      THEN 'invalid_key'\n",
          k->column);
    if (by >= 0 && (size_t)by != s->key)
        P("    -- %s is in the key of %s_by_%s\n"
          "    WHEN `%s` IS NULL OR CAST(`%s` AS STRING) = '' THEN 'missing_%s'\n",
          s->fields[by].path, n, s->fields[by].column, s->fields[by].column,
          s->fields[by].column, s->fields[by].column);
    for (size_t i = 0; i < s->field_count; i++) {
        const struct init_field *f = &s->fields[i];
        enum init_kind kd = stored_kind(s, i);
        if (i == s->key || kd == INIT_TEXT || kd == INIT_JSON)
            continue;
        P("    -- %s: %s\n    WHEN ", f->path, init_kind_name(kd));
        if (raw_ref(out, f->path))
            return SPATE_ENOMEM;
        P(" IS NOT NULL AND regexp_replace(");
        if (raw_ref(out, f->path))
            return SPATE_ENOMEM;
        P(", '^\\\\s+|\\\\s+$', '') <> ''\n      AND ");
        if (kd == INIT_UUID)
            P("NOT coalesce(`%s` RLIKE "
              "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', false)",
              f->column);
        else
            P("`%s` IS NULL", f->column);
        P(" THEN 'invalid_%s'\n", f->column);
    }
    P("    ELSE NULL\n  END AS error\nFROM %s_typed;\n", n);
    return 0;
}

/* ---- the clean query ------------------------------------------------------------------ */

static int clean_value(const struct init_schema *s, size_t i, struct spate_buf *out)
{
    const struct init_field *f = &s->fields[i];
    if (stored_kind(s, i) == INIT_TIMESTAMP)
        P("date_format(`%s`, " ISO_MS ")", f->column);
    else
        P("`%s`", f->column);
    return 0;
}

int init_render_clean(const struct init_schema *s, const struct init_source_opts *o,
                      struct spate_buf *out)
{
    const char *n = o->name;
    const struct init_field *k = key_field(s);
    P("-- SPDX-License-Identifier: Apache-2.0\n"
      "-- clean.sql -- query `clean`: %s.raw -> %s.clean, rejects -> %s.dlq.\n"
      "--\n"
      "-- @output_mode: update\n"
      "-- @realtime: supported\n"
      "--\n"
      "-- Written by `spate init %s`. One row in, one row out: a valid record becomes one\n"
      "-- flat JSON object on the clean topic (keyed by %s), an invalid one a DLQ\n"
      "-- envelope with the headers spate.stage=process and spate.error=<rule>.\n"
      "-- Timestamps leave as ISO-8601 text in UTC with milliseconds and a Z.\n\n",
      n, n, n, n, k->column);
    P("SELECT\n"
      "  CASE WHEN error IS NULL THEN '${spate.topic_clean}' ELSE '${spate.topic_dlq}' END AS topic,\n"
      "  CASE WHEN error IS NULL THEN CAST(`%s` AS STRING) ELSE raw_key END AS key,\n"
      "  CASE WHEN error IS NULL THEN\n"
      "    to_json(named_struct(\n",
      k->column);
    for (size_t i = 0; i < s->field_count; i++) {
        P("      '%s', ", s->fields[i].column);
        if (clean_value(s, i, out))
            return SPATE_ENOMEM;
        P(",\n");
    }
    P("      'ingested_at', date_format(ingested_at, " ISO_MS "),\n"
      "      'processed_at', date_format(processed_at, " ISO_MS ")),\n"
      "      -- an absent value is written as null, not left out\n"
      "      map('ignoreNullFields', 'false'))\n"
      "  ELSE\n"
      "    to_json(named_struct(\n"
      "      'stage',  'process',\n"
      "      'reason', error,\n"
      "      'key',    raw_key,\n"
      "      'raw',    raw_value,\n"
      "      'at',     date_format(processed_at, " ISO_MS ")),\n"
      "      map('ignoreNullFields', 'false'))\n"
      "  END AS value,\n"
      "  CASE WHEN error IS NULL THEN\n"
      "    concat(filter(headers, h -> h.key NOT IN ('spate.stage', 'spate.error', 'spate.raw_at',\n"
      "                                              'spate.new_fields')),\n"
      "           array(named_struct('key', 'spate.raw_at',\n"
      "                              'value', CAST(CAST(unix_millis(kafka_timestamp) AS STRING)\n"
      "                                            AS BINARY))),\n"
      "           -- fields the pipeline does not know yet (none: no header)\n"
      "           filter(array(named_struct('key', 'spate.new_fields',\n"
      "                                     'value', CAST(array_join(new_fields, ',') AS BINARY))),\n"
      "                  h -> size(new_fields) > 0))\n"
      "  ELSE\n"
      "    concat(filter(headers, h -> h.key NOT IN ('spate.stage', 'spate.error')),\n"
      "           array(named_struct('key', 'spate.stage', 'value', CAST('process' AS BINARY)),\n"
      "                 named_struct('key', 'spate.error', 'value', CAST(error AS BINARY))))\n"
      "  END AS headers\n"
      "FROM %s_parsed\n",
      n);
    return 0;
}

/* ---- the per-minute stats query ------------------------------------------------------ */

int init_render_stats(const struct init_schema *s, const struct init_source_opts *o,
                      struct spate_buf *out)
{
    (void)s;
    const char *n = o->name;
    P("-- SPDX-License-Identifier: Apache-2.0\n"
      "-- stats.sql -- query `stats`: %s records per minute, from %s.clean to %s.stats.\n"
      "--\n"
      "-- @output_mode: update\n"
      "-- @realtime: unsupported (a streaming aggregation is stateful)\n"
      "-- @input: clean\n"
      "-- @trigger: processingTime:10s\n"
      "-- @conf: spark.sql.shuffle.partitions=1\n"
      "--\n"
      "-- Written by `spate init %s`. 1-minute tumbling windows of ingested_at (the fetch\n"
      "-- time), with the watermark ${spate.watermark}; update mode emits running totals,\n"
      "-- keyed by the window start, so the sink's upsert keeps the latest.\n\n",
      n, n, n, n);
    P("CREATE OR REPLACE TEMPORARY VIEW %s_clean_fields AS\n"
      "SELECT try_cast(c.ingested_at AS TIMESTAMP) AS ingested_at\n"
      "FROM (\n"
      "  SELECT from_json(CAST(value AS STRING), 'ingested_at STRING') AS c\n"
      "  FROM %s_clean\n"
      ");\n\n",
      n, n);
    P("SELECT\n"
      "  '${spate.topic_stats}' AS topic,\n"
      "  window_start AS key,\n"
      "  to_json(named_struct(\n"
      "    'window_start', window_start,\n"
      "    'window_end',   window_end,\n"
      "    'records',      records),\n"
      "    map('ignoreNullFields', 'false')) AS value\n"
      "FROM (\n"
      "  SELECT\n"
      "    date_format(window.start, " ISO_MS ") AS window_start,\n"
      "    date_format(window.end,   " ISO_MS ") AS window_end,\n"
      "    records\n"
      "  FROM (\n"
      "    SELECT window(ingested_at, '1 minute') AS window, count(*) AS records\n"
      "    FROM %s_clean_fields WATERMARK ingested_at DELAY OF INTERVAL ${spate.watermark}\n"
      "    WHERE ingested_at IS NOT NULL\n"
      "    GROUP BY window(ingested_at, '1 minute')\n"
      "  )\n"
      ")\n",
      n);
    return 0;
}

/* ---- CQL ------------------------------------------------------------------------------ */

int init_render_cql(const struct init_schema *s, const struct init_source_opts *o,
                    struct spate_buf *out)
{
    const char *n = o->name;
    const struct init_field *k = key_field(s);
    P("-- SPDX-License-Identifier: Apache-2.0\n"
      "-- %s.cql -- the tables of the %s pipeline, fed from %s.clean, %s.stats and %s.dlq.\n"
      "-- Written by `spate init %s`; `spate schema apply` creates them. Every write is\n"
      "-- an upsert by primary key, so a replayed record rewrites the same row.\n\n",
      n, n, n, n, n, n);
    P("-- Query: one record by key.\n"
      "--   SELECT * FROM %s WHERE %s = ?\n"
      "CREATE TABLE IF NOT EXISTS ${keyspace}.%s (\n",
      n, k->column, n);
    for (size_t i = 0; i < s->field_count; i++)
        P("  %-24s %s%s,\n", s->fields[i].column, init_kind_cql(stored_kind(s, i)),
          i == s->key ? " PRIMARY KEY" : "");
    P("  %-24s timestamp,\n  %-24s timestamp\n);\n\n", "ingested_at", "processed_at");

    long by = by_field(s, o->by);
    if (by >= 0) {
        const struct init_field *b = &s->fields[by];
        P("-- Query: the latest records of one %s, newest first.\n"
          "--   SELECT * FROM %s_by_%s WHERE %s = ? AND day = ? LIMIT 50\n"
          "-- One partition per value and UTC day of ingested_at, so none grows without bound.\n"
          "CREATE TABLE IF NOT EXISTS ${keyspace}.%s_by_%s (\n",
          b->column, n, b->column, b->column, n, b->column);
        P("  %-24s %s,\n  %-24s date,\n  %-24s timestamp,\n", b->column,
          init_kind_cql(stored_kind(s, (size_t)by)), "day", "ingested_at");
        if ((size_t)by != s->key)
            P("  %-24s %s,\n", k->column, init_kind_cql(stored_kind(s, s->key)));
        for (size_t i = 0; i < s->field_count; i++)
            if (i != s->key && i != (size_t)by)
                P("  %-24s %s,\n", s->fields[i].column, init_kind_cql(stored_kind(s, i)));
        if ((size_t)by != s->key)
            P("  PRIMARY KEY ((%s, day), ingested_at, %s)\n"
              ") WITH CLUSTERING ORDER BY (ingested_at DESC, %s ASC);\n\n",
              b->column, k->column, k->column);
        else
            P("  PRIMARY KEY ((%s, day), ingested_at)\n"
              ") WITH CLUSTERING ORDER BY (ingested_at DESC);\n\n",
              b->column);
    }
    P("-- Query: records per minute over a time range of a day.\n"
      "--   SELECT window_start, records FROM %s_by_minute WHERE day = ? AND window_start >= ?\n"
      "CREATE TABLE IF NOT EXISTS ${keyspace}.%s_by_minute (\n"
      "  day          date,\n"
      "  window_start timestamp,\n"
      "  window_end   timestamp,\n"
      "  records      bigint,\n"
      "  PRIMARY KEY ((day), window_start)\n"
      ") WITH CLUSTERING ORDER BY (window_start ASC);\n\n",
      n, n);
    P("-- Query: rejected records of a day, with stage and reason (from %s.dlq).\n"
      "CREATE TABLE IF NOT EXISTS ${keyspace}.%s_rejected_by_day (\n"
      "  day              date,\n"
      "  at               timestamp,\n"
      "  dlq_partition    int,\n"
      "  dlq_offset       bigint,\n"
      "  stage            text,\n"
      "  reason           text,\n"
      "  record_key       text,\n"
      "  raw              text,\n"
      "  PRIMARY KEY ((day), at, dlq_partition, dlq_offset)\n"
      ") WITH CLUSTERING ORDER BY (at DESC, dlq_partition ASC, dlq_offset ASC);\n",
      n, n);
    return 0;
}

/* ---- the config the main one includes ------------------------------------------------- */

static const char *sink_type(enum init_kind k)
{
    switch (k) {
    case INIT_BIGINT: return "integer";
    case INIT_DOUBLE: return "number";
    case INIT_BOOLEAN: return "boolean";
    case INIT_TIMESTAMP: return "timestamp";
    case INIT_UUID: return "uuid";
    case INIT_TEXT:
    case INIT_JSON: break;
    }
    return NULL;
}

static int yaml_str(struct spate_buf *out, const char *v)
{
    /* double-quoted YAML scalar; `$` doubled so ${...} interpolation leaves it */
    P("\"");
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            P("\\%c", *p);
        else if (*p == '$')
            P("$$");
        else
            P("%c", *p);
    }
    P("\"");
    return 0;
}

static int column_line(const struct init_schema *s, size_t i, struct spate_buf *out)
{
    const char *t = sink_type(stored_kind(s, i));
    P("            - {column: %s, from: %s%s%s}\n", s->fields[i].column, s->fields[i].column,
      t ? ", type: " : "", t ? t : "");
    return 0;
}

int init_render_config(const struct init_schema *s, const struct init_source_opts *o,
                       struct spate_buf *out)
{
    const char *n = o->name;
    P("# pipelines/%s/pipeline.yaml -- written by `spate init %s`; the main config\n"
      "# includes it (`include:`). The %s pipeline: its source, its topics (%s.raw,\n"
      "# %s.clean, %s.stats, %s.dlq) and the sink mappings into its tables.\n"
      "# Run it with `spate --pipeline %s run`.\n",
      n, n, n, n, n, n, n, n);
    P("pipelines:\n  - name: %s\n    sql_dir: pipelines/%s\n    table: %s\n"
      "    key_column: %s\n\n",
      n, n, n, s->fields[s->key].column);
    P("sources:\n  - name: %s\n    pipeline: %s\n    url: ", n, n);
    if (yaml_str(out, o->url))
        return SPATE_ENOMEM;
    P("\n    records_path: ");
    /* "$": the response is the array (an empty value would mean the default) */
    if (yaml_str(out, s->records_path[0] ? s->records_path : "$"))
        return SPATE_ENOMEM;
    P("\n    key_path: ");
    if (yaml_str(out, s->key_path))
        return SPATE_ENOMEM;
    P("\n    batch_param: \"\"   # the URL says how many records a page holds\n"
      "    concurrency: 2\n");
    if (o->page_style && strcmp(o->page_style, "none") != 0) {
        P("    pagination:\n      style: %s\n", o->page_style);
        if (!strcmp(o->page_style, "page"))
            P("      page_param: %s\n      start_page: %lld\n", o->page_param, o->start_page);
        if (!strcmp(o->page_style, "cursor")) {
            P("      cursor_path: ");
            if (yaml_str(out, o->cursor_path))
                return SPATE_ENOMEM;
            P("\n      cursor_param: %s\n", o->cursor_param);
        }
    }
    P("\nsink:\n  mappings:\n    - topic: %s.clean\n      tables:\n        - table: %s\n"
      "          columns:\n",
      n, n);
    for (size_t i = 0; i < s->field_count; i++)
        if (column_line(s, i, out))
            return SPATE_ENOMEM;
    P("            - {column: ingested_at, from: ingested_at, type: timestamp}\n"
      "            - {column: processed_at, from: processed_at, type: timestamp}\n");
    long by = by_field(s, o->by);
    if (by >= 0) {
        P("        - table: %s_by_%s\n          columns:\n", n, s->fields[by].column);
        if (column_line(s, (size_t)by, out))
            return SPATE_ENOMEM;
        P("            - {column: day, from: \"day(ingested_at)\"}\n"
          "            - {column: ingested_at, from: ingested_at, type: timestamp}\n");
        for (size_t i = 0; i < s->field_count; i++)
            if (i != (size_t)by && column_line(s, i, out))
                return SPATE_ENOMEM;
    }
    P("    - topic: %s.stats\n      tables:\n        - table: %s_by_minute\n"
      "          columns:\n"
      "            - {column: day, from: \"day(window_start)\"}\n"
      "            - {column: window_start, from: window_start, type: timestamp}\n"
      "            - {column: window_end, from: window_end, type: timestamp}\n"
      "            - {column: records, from: records, type: integer}\n",
      n, n);
    P("    - topic: %s.dlq\n      tables:\n        - table: %s_rejected_by_day\n"
      "          columns:\n"
      "            - {column: day, from: \"day(at|timestamp)\"}\n"
      "            - {column: at, from: \"at|timestamp|now\"}\n"
      "            - {column: dlq_partition, from: partition}\n"
      "            - {column: dlq_offset, from: offset}\n"
      "            - {column: stage, from: \"stage|header:spate.stage|'unknown'\"}\n"
      "            - {column: reason, from: \"reason|header:spate.error|'unknown'\"}\n"
      "            - {column: record_key, from: \"field:key|key\"}\n"
      "            - {column: raw, from: \"raw|value\"}\n",
      n, n);
    return 0;
}

/* ---- --update: what a fresh sample adds ------------------------------------------------ */

int init_render_update(const struct init_schema *old_s, const struct init_schema *now,
                       const struct init_source_opts *o, struct spate_buf *out)
{
    int added = 0;
    for (size_t i = 0; i < now->field_count; i++) {
        const struct init_field *f = &now->fields[i];
        if (init_field_find(old_s, f->path) >= 0)
            continue;
        if (!added)
            P("-- new fields in the sample; run the ALTER TABLE with `spate cql`, add the SQL\n"
              "-- lines to pipelines/%s/ and the columns to pipelines/%s/pipeline.yaml\n",
              o->name, o->name);
        added++;
        P("\n-- %s (%s, %s in %zu of %zu records)\n", f->path, init_kind_name(f->kind),
          f->nulls ? "null or absent" : "present", f->nulls ? f->nulls : f->present,
          now->record_count);
        P("ALTER TABLE %s.%s ADD %s %s;\n", o->keyspace ? o->keyspace : "${keyspace}", o->name,
          f->column, init_kind_cql(f->kind));
        P("--   %s_parsed.view.sql, from_json schema: the leaf `%s` STRING\n", o->name, f->path);
        P("--   %s_parsed.view.sql, %s_typed:  ", o->name, o->name);
        if (typed_expr(now, i, out))
            return SPATE_ENOMEM;
        P(" AS `%s`,\n", f->column);
        P("--   clean.sql, named_struct:  '%s', ", f->column);
        if (clean_value(now, i, out))
            return SPATE_ENOMEM;
        P(",\n");
        const char *t = sink_type(f->kind);
        P("--   pipeline.yaml, table %s:  - {column: %s, from: %s%s%s}\n", o->name, f->column,
          f->column, t ? ", type: " : "", t ? t : "");
    }
    return added;
}
