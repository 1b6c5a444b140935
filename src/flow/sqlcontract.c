/* SPDX-License-Identifier: Apache-2.0 */
/* sqlcontract.c -- which output fields a pipeline's SQL guarantees are never null. */
#include "spate/flow.h"

#include "spate/util.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void guaranteed_add(struct flow_sql_guarantees *g, const char *name, size_t len)
{
    if (len == 0 || len >= sizeof g->names[0] || g->n == FLOW_SQL_GUARANTEES_MAX)
        return;
    for (size_t i = 0; i < g->n; i++)
        if (strlen(g->ptrs[i]) == len && !memcmp(g->ptrs[i], name, len))
            return;
    memcpy(g->names[g->n], name, len);
    g->names[g->n][len] = '\0';
    g->ptrs[g->n] = g->names[g->n];
    g->n++;
}

/* SQL text with `--` comments blanked, so words in comments never count. */
static void blank_comments(char *s)
{
    int quote = 0;
    for (char *p = s; *p; p++) {
        if (*p == '\'')
            quote = !quote;
        else if (!quote && p[0] == '-' && p[1] == '-')
            while (*p && *p != '\n')
                *p++ = ' ';
        if (!*p)
            break;
    }
}

static int word_at(const char *s, const char *p, const char *w)
{
    size_t n = strlen(w);
    return strncasecmp(p, w, n) == 0 && (p == s || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
           !(isalnum((unsigned char)p[n]) || p[n] == '_');
}

/* A WHEN condition of the validation CASE: each top-level disjunct that is
 * exactly `name IS NULL` guarantees name in every row that passes. */
static void disjuncts(struct flow_sql_guarantees *g, const char *s, const char *e)
{
    int depth = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (p == e || (depth == 0 && word_at(s, p, "OR"))) {
            const char *a = start, *b = p;
            while (a < b && isspace((unsigned char)*a))
                a++;
            const char *id = a;
            while (a < b && (isalnum((unsigned char)*a) || *a == '_'))
                a++;
            size_t idlen = (size_t)(a - id);
            while (a < b && isspace((unsigned char)*a))
                a++;
            if (idlen && b - a >= 2 && word_at(s, a, "IS")) {
                a += 2;
                while (a < b && isspace((unsigned char)*a))
                    a++;
                const char *t = b;
                while (t > a && isspace((unsigned char)t[-1]))
                    t--;
                if (t - a == 4 && !strncasecmp(a, "NULL", 4))
                    guaranteed_add(g, id, idlen);
            }
            if (p == e)
                break;
            start = p + 2;
            continue;
        }
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
    }
}

/* The rules of the CASE ... END AS error of a view file: a clean row has
 * error NULL, so it broke none of them. */
void flow_sql_guarantees_rules(struct flow_sql_guarantees *g, char *sql)
{
    blank_comments(sql);
    const char *end = NULL;
    for (const char *p = sql; *p; p++)
        if (word_at(sql, p, "END") && !strncasecmp(p, "END AS error", 12))
            end = p;
    if (!end)
        return;
    const char *cs = NULL;
    for (const char *p = sql; p < end; p++)
        if (word_at(sql, p, "CASE"))
            cs = p;
    if (!cs)
        return;
    for (const char *p = cs; p < end; p++) {
        if (!word_at(sql, p, "WHEN"))
            continue;
        const char *w = p + 4, *t = w;
        while (t < end && !word_at(sql, t, "THEN"))
            t++;
        disjuncts(g, w, t);
        p = t;
    }
}

/* `-- @not_null: a, b` in a query file's leading comments: fields its SQL sets
 * for every row (a timestamp with a fallback, a window bound, a count). */
void flow_sql_guarantees_declared(struct flow_sql_guarantees *g, const char *sql)
{
    for (const char *p = sql; (p = strstr(p, "@not_null:")) != NULL;) {
        p += 10;
        while (*p && *p != '\n') {
            while (*p == ' ' || *p == ',' || *p == '\t')
                p++;
            const char *id = p;
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
                p++;
            if (p == id)
                break;
            guaranteed_add(g, id, (size_t)(p - id));
        }
    }
}

/* The fields of topic the pipeline's SQL guarantees are not null: for the clean
 * topic the validation rules of *.view.sql plus clean.sql's @not_null, for the
 * stats topic stats.sql's @not_null; other topics none. */
void flow_sql_guarantees_of(const struct spate_config *cfg, const char *topic,
                             struct flow_sql_guarantees *g)
{
    g->n = 0;
    /* a config of every pipeline: the topic's own pipeline's SQL */
    const struct spate_pipeline_config *pl = spate_config_topic_pipeline(cfg, topic);
    const char *name = pl ? pl->name : NULL;
    const char *dir = pl && !(cfg->pipeline && !strcmp(cfg->pipeline, pl->name)) ? pl->sql_dir
                                                                                 : cfg->spark.sql_dir;
    char clean[256], stats[256];
    spate_config_topic_of(cfg, name, "clean", clean, sizeof clean);
    spate_config_topic_of(cfg, name, "stats", stats, sizeof stats);
    const char *file = !strcmp(topic, clean)   ? "clean.sql"
                       : !strcmp(topic, stats) ? "stats.sql"
                                               : NULL;
    if (!file)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *sql = spate_read_file(path);
    if (sql)
        flow_sql_guarantees_declared(g, sql);
    free(sql);
    if (strcmp(file, "clean.sql") != 0)
        return;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 9 || strcmp(de->d_name + n - 9, ".view.sql") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if ((sql = spate_read_file(path)) != NULL)
            flow_sql_guarantees_rules(g, sql);
        free(sql);
    }
    if (d)
        closedir(d);
}

