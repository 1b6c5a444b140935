/* SPDX-License-Identifier: Apache-2.0 */
/* sink_schema.c -- `spate schema apply`: keyspace and tables from schema/ CQL files, idempotently. */
#include "spate/sink.h"

#include "sink_internal.h"

#include "spate/cql.h"
#include "spate/error.h"
#include "spate/proc.h"
#include "spate/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int sink_schema_dir(char *buf, size_t size)
{
    const char *env = getenv("SPATE_SCHEMA_DIR");
    if (env && *env) {
        spate_strlcpy(buf, env, size);
        return is_dir(buf) ? 0 : SPATE_ENOTFOUND;
    }
    if (is_dir("schema")) {
        spate_strlcpy(buf, "schema", size);
        return 0;
    }
    /* next to the binary or up to three levels above it (build dirs) */
    char exe[PATH_MAX];
    if (spate_self_exe(exe, sizeof exe) != 0)
        return SPATE_ENOTFOUND;
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash)
            break;
        *slash = 0;
        char cand[PATH_MAX + 32];
        snprintf(cand, sizeof cand, "%s/schema", exe);
        if (is_dir(cand)) {
            spate_strlcpy(buf, cand, size);
            return 0;
        }
        snprintf(cand, sizeof cand, "%s/share/spate/schema", exe);
        if (is_dir(cand)) {
            spate_strlcpy(buf, cand, size);
            return 0;
        }
    }
    return SPATE_ENOTFOUND;
}

static int valid_ident(const char *s)
{
    if (!s || !*s || strlen(s) > 48 || !isalpha((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* {'class': 'SimpleStrategy', 'replication_factor': 1} from the config. */
static int replication_map(const struct spate_cassandra_config *cc, struct spate_buf *b,
                           char *err, size_t errlen)
{
    const char *strategy = cc->replication_strategy ? cc->replication_strategy : "SimpleStrategy";
    if (strcasecmp(strategy, "NetworkTopologyStrategy") == 0) {
        if (cc->datacenters.count == 0) {
            snprintf(err, errlen, "cassandra.replication_strategy NetworkTopologyStrategy needs "
                                  "cassandra.datacenters (dc: replication factor)");
            return SPATE_ECONFIG;
        }
        spate_buf_appendf(b, "{'class': 'NetworkTopologyStrategy'");
        for (size_t i = 0; i < cc->datacenters.count; i++) {
            const char *dc = cc->datacenters.items[i].key, *rf = cc->datacenters.items[i].value;
            char *end;
            long v = strtol(rf, &end, 10);
            if (*end || v < 1 || v > 100 || strchr(dc, '\'')) {
                snprintf(err, errlen, "cassandra.datacenters.%s: expected a replication factor "
                                      "1..100, got '%s'", dc, rf);
                return SPATE_ECONFIG;
            }
            spate_buf_appendf(b, ", '%s': %ld", dc, v);
        }
        return spate_buf_appendf(b, "}");
    }
    return spate_buf_appendf(b, "{'class': 'SimpleStrategy', 'replication_factor': %d}",
                             cc->replication_factor > 0 ? cc->replication_factor : 1);
}

static int substitute(const char *in, const char *keyspace, const char *replication,
                      struct spate_buf *out)
{
    const char *p = in;
    while (*p) {
        if (strncmp(p, "${keyspace}", 11) == 0) {
            spate_buf_append(out, keyspace, strlen(keyspace));
            p += 11;
        } else if (strncmp(p, "${replication}", 14) == 0) {
            spate_buf_append(out, replication, strlen(replication));
            p += 14;
        } else {
            spate_buf_append(out, p, 1);
            p++;
        }
    }
    return spate_buf_append(out, "", 1);
}

/* Splits CQL text into statements on ';' outside quotes and comments; each
 * statement has its comments removed. Calls fn for each non-empty one. */
static int split_statements(const char *text, int (*fn)(void *arg, const char *stmt),
                            void *arg)
{
    struct spate_buf cur = {0};
    int rc = 0;
    const char *p = text;
    while (*p && rc == 0) {
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
            continue;
        }
        if (*p == '\'' || *p == '"') {
            char q = *p;
            const char *s = p++;
            while (*p && !(*p == q && p[1] != q)) {
                if (*p == q)
                    p++; /* doubled quote */
                p++;
            }
            if (*p)
                p++;
            spate_buf_append(&cur, s, (size_t)(p - s));
            continue;
        }
        if (*p == ';') {
            spate_buf_append(&cur, "", 1);
            const char *s = cur.data;
            while (isspace((unsigned char)*s))
                s++;
            if (*s)
                rc = fn(arg, s);
            spate_buf_reset(&cur);
            p++;
            continue;
        }
        spate_buf_append(&cur, p, 1);
        p++;
    }
    if (rc == 0 && cur.len) {
        spate_buf_append(&cur, "", 1);
        const char *s = cur.data;
        while (isspace((unsigned char)*s))
            s++;
        if (*s)
            rc = fn(arg, s);
    }
    spate_buf_free(&cur);
    return rc;
}

struct apply_ctx {
    struct cql_session *s;
    FILE *report;
    int dry_run;
    const char *file;
    char *err;
    size_t errlen;
    int created, existing;
};

/* "CREATE TABLE IF NOT EXISTS ks.name (" -> "table ks.name" */
static void object_name(const char *stmt, char *buf, size_t size)
{
    const char *kinds[] = {"KEYSPACE", "TABLE", "INDEX", "TYPE", "MATERIALIZED VIEW", "FUNCTION"};
    buf[0] = 0;
    if (strncasecmp(stmt, "CREATE ", 7) != 0)
        return;
    const char *p = stmt + 7;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i]);
        if (strncasecmp(p, kinds[i], n) == 0 && isspace((unsigned char)p[n])) {
            p += n;
            while (isspace((unsigned char)*p))
                p++;
            if (strncasecmp(p, "IF NOT EXISTS", 13) == 0)
                p += 13;
            while (isspace((unsigned char)*p))
                p++;
            size_t len = 0;
            while (p[len] && !isspace((unsigned char)p[len]) && p[len] != '(')
                len++;
            char lower[32];
            size_t j;
            for (j = 0; j < n && j < sizeof lower - 1; j++)
                lower[j] = (char)tolower((unsigned char)kinds[i][j]);
            lower[j] = 0;
            snprintf(buf, size, "%s %.*s", lower, (int)len, p);
            return;
        }
    }
}

static int apply_one(void *arg, const char *stmt)
{
    struct apply_ctx *a = arg;
    char name[256];
    object_name(stmt, name, sizeof name);
    if (a->dry_run) {
        fprintf(a->report, "%s;\n\n", stmt);
        return 0;
    }
    struct cql_result *res = NULL;
    /* DDL is rare and slow: a node busy starting up (the compose stack starts
     * everything at once on a small machine) can take well over the usual
     * request timeout to create a table, and the statements are idempotent. */
    struct cql_query_opts o = {.timeout_ms = 120000};
    int rc = cql_query(a->s, stmt, NULL, 0, &o, &res);
    if (rc) {
        snprintf(a->err, a->errlen, "%s: %s%s%s: %s", a->file, name[0] ? "creating " : "",
                 name[0] ? name : "statement", "", cql_session_errstr(a->s));
        return rc;
    }
    int created = cql_result_kind(res) == CQL_RESULT_SCHEMA_CHANGE;
    cql_result_free(res);
    if (name[0]) {
        fprintf(a->report, "%-8s %s\n", created ? "created" : "exists", name);
        if (created)
            a->created++;
        else
            a->existing++;
    } else {
        fprintf(a->report, "%-8s %.60s\n", "ran", stmt);
    }
    return 0;
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int sink_schema_apply(const struct spate_config *cfg, const struct sink_schema_options *opts,
                      FILE *report, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    if (opts->dir)
        spate_strlcpy(dir, opts->dir, sizeof dir);
    else if (sink_schema_dir(dir, sizeof dir)) {
        snprintf(err, errlen, "schema folder not found (set SPATE_SCHEMA_DIR or use --dir)");
        return SPATE_ENOTFOUND;
    }
    const char *keyspace = opts->keyspace ? opts->keyspace : cfg->cassandra.keyspace;
    if (!valid_ident(keyspace)) {
        snprintf(err, errlen, "keyspace '%s' is not a valid name (letters, digits, _)",
                 keyspace ? keyspace : "");
        return SPATE_ECONFIG;
    }
    struct spate_buf repl = {0};
    int rc = replication_map(&cfg->cassandra, &repl, err, errlen);
    if (rc) {
        spate_buf_free(&repl);
        return rc;
    }
    spate_buf_append(&repl, "", 1);

    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        spate_buf_free(&repl);
        return SPATE_ESYS;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".cql") == 0) {
            char **nn = realloc(names, (count + 1) * sizeof *names);
            if (!nn)
                break;
            names = nn;
            names[count++] = strdup(e->d_name);
        } else if (e->d_name[0] != '.') {
            /* schema/NAME/ holds the tables of pipeline NAME (`spate init`): applied
             * after the top-level files, which create the keyspace */
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            DIR *sd = opendir(sub);
            struct dirent *se;
            while (sd && (se = readdir(sd))) {
                size_t sn = strlen(se->d_name);
                if (sn <= 4 || strcmp(se->d_name + sn - 4, ".cql") != 0)
                    continue;
                char **nn = realloc(names, (count + 1) * sizeof *names);
                if (!nn)
                    break;
                names = nn;
                char rel[PATH_MAX];
                /* "~" sorts after every top-level name */
                snprintf(rel, sizeof rel, "~%s/%s", e->d_name, se->d_name);
                names[count++] = strdup(rel);
            }
            if (sd)
                closedir(sd);
        }
    }
    closedir(d);
    qsort(names, count, sizeof *names, cmp_names);

    struct apply_ctx a = {.report = report, .dry_run = opts->dry_run, .err = err,
                          .errlen = errlen};
    if (!opts->dry_run) {
        struct cql_session_config sc;
        cql_session_config_from_spate(&sc, &cfg->cassandra);
        rc = cql_session_new(&sc, &a.s, err, errlen);
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i] + (names[i][0] == '~'));
        char *text = spate_read_file(path);
        if (!text) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            rc = SPATE_ESYS;
            break;
        }
        struct spate_buf sub = {0};
        substitute(text, keyspace, repl.data, &sub);
        free(text);
        a.file = names[i];
        rc = split_statements(sub.data, apply_one, &a);
        spate_buf_free(&sub);
    }
    if (rc == 0 && !opts->dry_run)
        fprintf(report, "schema %s: %d created, %d already existed (%zu files from %s)\n",
                keyspace, a.created, a.existing, count, dir);
    if (rc == 0 && count == 0) {
        snprintf(err, errlen, "%s: no *.cql files", dir);
        rc = SPATE_ENOTFOUND;
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    spate_buf_free(&repl);
    cql_session_free(a.s);
    return rc;
}
