/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_init.c -- `spate init NAME --url URL`: a pipeline written from a sample of an API. */
#include "cli.h"

#include "spate/util.h"
#include "spate/error.h"
#include "spate/init.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate [-c FILE] init NAME --url URL [options]\n"
            "\n"
            "Fetch a sample of a JSON API, infer its records (field paths, types, nullability,\n"
            "key) and write the pipeline NAME: pipelines/NAME/ (SQL and pipeline.yaml),\n"
            "schema/NAME/NAME.cql, and an include of pipelines/NAME/pipeline.yaml in the main\n"
            "config. Same sample, same files.\n"
            "\n"
            "  --url URL            the API (its first page)\n"
            "  --records-path P     JSON path of the records array (default: guessed)\n"
            "  --key-path K         JSON path of the key in a record (default: guessed)\n"
            "  --pages N            sample pages to fetch, following the pagination (default 3)\n"
            "  --by FIELD           also a table of the latest records by this field\n"
            "  --force              overwrite an existing pipeline NAME\n"
            "  --update             compare a fresh sample with the pipeline's fields and print\n"
            "                       the ALTER TABLE and SQL changes (writes nothing)\n"
            "  --dry-run            print what would be inferred and written, write nothing\n");
}

static int mkdirs(const char *path)
{
    char buf[1024];
    spate_strlcpy(buf, path, sizeof buf);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int write_file(const char *path, const struct spate_buf *b)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "spate init: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    size_t n = b->len ? fwrite(b->data, 1, b->len, f) : 0;
    int bad = n != b->len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "spate init: %s: %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    printf("  wrote %s\n", path);
    return 0;
}

/* Adds `include: [rel]` to the main config unless it includes it already. The
 * file is edited as text so the user's comments and layout stay. */
static int add_include(const char *config, const char *rel)
{
    char *text = spate_read_file(config);
    if (!text) {
        printf("  no %s: add `include: [%s]` to your config\n", config, rel);
        return 0;
    }
    if (strstr(text, rel)) {
        free(text);
        printf("  %s includes %s already\n", config, rel);
        return 0;
    }
    struct spate_buf out = {0};
    const char *inc = NULL;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, "include:", 8)) {
            inc = p;
            break;
        }
    int rc = 0;
    if (!inc) {
        size_t n = strlen(text);
        spate_buf_append(&out, text, n);
        if (n && text[n - 1] != '\n')
            spate_buf_append(&out, "\n", 1);
        spate_buf_appendf(&out, "\n# pipelines written by `spate init`\ninclude:\n  - %s\n", rel);
    } else {
        const char *eol = strchr(inc, '\n');
        const char *after = eol ? eol + 1 : inc + strlen(inc);
        const char *v = inc + 8;
        while (*v == ' ')
            v++;
        if (*v == '[') { /* include: [a, b] */
            const char *close = strchr(v, ']');
            if (!close || (eol && close > eol)) {
                rc = -1;
            } else {
                int empty = close == v + 1;
                spate_buf_append(&out, text, (size_t)(close - text));
                spate_buf_appendf(&out, "%s%s", empty ? "" : ", ", rel);
                spate_buf_append(&out, close, strlen(close));
            }
        } else { /* block list: add after its last item */
            const char *p = after;
            while (*p == ' ' || *p == '-') {
                const char *e = strchr(p, '\n');
                if (!e || !strstr(p, "- ") || strstr(p, "- ") > e)
                    break;
                p = e + 1;
            }
            spate_buf_append(&out, text, (size_t)(p - text));
            spate_buf_appendf(&out, "  - %s\n", rel);
            spate_buf_append(&out, p, strlen(p));
        }
    }
    free(text);
    if (rc == 0) {
        rc = write_file(config, &out);
        if (rc == 0)
            printf("  %s now includes %s\n", config, rel);
    } else {
        printf("  could not edit the include: line of %s: add %s to it\n", config, rel);
        rc = 0;
    }
    spate_buf_free(&out);
    return rc;
}

static void report(const struct init_schema *s, const struct init_sample *sm,
                   const struct init_source_opts *o)
{
    printf("sample: %zu records in %zu page(s) of %s\n", s->record_count, sm->npages, sm->url);
    if (strcmp(o->url, sm->url) != 0)
        printf("source url: %s\n", o->url);
    printf("pagination: %s%s%s\n", sm->style, sm->note[0] ? ", from " : "", sm->note);
    printf("records path: %s%s\n", s->records_path[0] ? s->records_path : "(the response)",
           s->records_path_guessed ? "   (guessed: the largest array of objects; "
                                     "--records-path to change)" : "");
    printf("key: %s -> column %s%s\n", s->key_path, s->fields[s->key].column,
           s->key_path_guessed ? "   (guessed: present, never null, unique; --key-path to "
                                 "change)" : "");
    printf("key candidates:");
    for (size_t i = 0; i < s->field_count; i++)
        if (s->fields[i].key_candidate)
            printf(" %s", s->fields[i].path);
    printf("\n\n  %-32s %-24s %-10s %-9s %s\n", "field", "column", "type", "nulls", "e.g.");
    for (size_t i = 0; i < s->field_count; i++) {
        const struct init_field *f = &s->fields[i];
        char nulls[32];
        snprintf(nulls, sizeof nulls, "%zu/%zu", f->nulls, s->record_count);
        printf("  %-32s %-24s %-10s %-9s %.40s%s\n", f->path, f->column, init_kind_name(f->kind),
               nulls, f->example, f->as_string ? "  (arrives as text)" : "");
    }
    printf("\nreview:\n");
    size_t optional = 0, json = 0, never = 0;
    for (size_t i = 0; i < s->field_count; i++) {
        optional += s->fields[i].nulls > 0;
        json += s->fields[i].kind == INIT_JSON;
        never += s->fields[i].present == 0;
    }
    if (optional)
        printf("  - %zu field(s) are null or absent in some records: they are optional "
               "columns, only the key is required\n", optional);
    if (never)
        printf("  - %zu field(s) were null in every record: typed as text, change them if "
               "you know better\n", never);
    if (json)
        printf("  - %zu field(s) hold arrays or mixed values: stored as JSON text\n", json);
    if (s->skipped_fields)
        printf("  - %zu field name(s) hold '.' or '[' and were left out (a dotted path "
               "cannot name them); they stay in %s.raw\n", s->skipped_fields, o->name);
    if (s->fields[s->key].kind == INIT_TIMESTAMP)
        printf("  - the key is a time: stored as the text the API sends, so verify can "
               "match it with the raw record's key\n");
    if (!strcmp(sm->style, "none"))
        printf("  - no pagination seen: the source fetches the URL again and again "
               "(set sources[].pagination if the API pages)\n");
    if (!strcmp(sm->style, "cursor"))
        printf("  - the cursor parameter '%s' is a guess from the field name\n",
               sm->cursor_param);
    printf("  - the rules in pipelines/%s/%s_parsed.view.sql: a record whose key is missing "
           "or whose typed field does not parse goes to %s.dlq\n", o->name, o->name, o->name);
}

/* pipelines/NAME/fields.tsv: the fields of the sample, for `--update`. */
static int render_fields(const struct init_schema *s, struct spate_buf *out)
{
    if (spate_buf_appendf(out, "# path\tcolumn\ttype (written by spate init; --update reads it)\n"))
        return SPATE_ENOMEM;
    for (size_t i = 0; i < s->field_count; i++)
        if (spate_buf_appendf(out, "%s\t%s\t%s\n", s->fields[i].path, s->fields[i].column,
                              init_kind_name(s->fields[i].kind)))
            return SPATE_ENOMEM;
    return 0;
}

static int load_fields(const char *path, struct init_schema *old)
{
    char *text = spate_read_file(path);
    if (!text)
        return -1;
    memset(old, 0, sizeof *old);
    size_t cap = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        if (tab)
            *tab = '\0';
        if (old->field_count == cap) {
            cap = cap ? cap * 2 : 32;
            struct init_field *f = realloc(old->fields, cap * sizeof *f);
            if (!f)
                break;
            old->fields = f;
        }
        memset(&old->fields[old->field_count], 0, sizeof *old->fields);
        old->fields[old->field_count].path = strdup(line);
        old->fields[old->field_count++].column = strdup(tab ? tab + 1 : line);
    }
    free(text);
    return 0;
}

int cmd_init(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"records-path", required_argument, NULL, 'r'},
        {"key-path", required_argument, NULL, 'k'},
        {"pages", required_argument, NULL, 'p'},
        {"by", required_argument, NULL, 'b'},
        {"force", no_argument, NULL, 'f'},
        {"update", no_argument, NULL, 'U'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *url = NULL, *records_path = NULL, *key_path = NULL, *by = NULL;
    int pages = 3, force = 0, update = 0, dry = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'r': records_path = optarg; break;
        case 'k': key_path = optarg; break;
        case 'p':
            pages = atoi(optarg);
            if (pages < 1 || pages > 100) {
                fprintf(stderr, "spate init: --pages: '%s' is not 1..100\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'b': by = optarg; break;
        case 'f': force = 1; break;
        case 'U': update = 1; break;
        case 'n': dry = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default: return cli_bad_option("init", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc || !url) {
        fprintf(stderr, "spate init: %s\n", optind >= argc ? "a pipeline NAME is required"
                                            : optind + 1 < argc ? "one NAME only"
                                                                : "--url is required");
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    if (!init_name_ok(name)) {
        fprintf(stderr, "spate init: pipeline name '%s': use a-z, 0-9 and _, starting with "
                "a letter (it names topics and tables)\n", name);
        return CLI_USAGE;
    }
    if (!strcmp(name, "users") && !update) {
        fprintf(stderr, "spate init: 'users' is the built-in pipeline of spate.yaml; choose "
                "another name\n");
        return CLI_USAGE;
    }
    char dir[512], schema_dir[512], path[1024];
    snprintf(dir, sizeof dir, "pipelines/%s", name);
    snprintf(schema_dir, sizeof schema_dir, "schema/%s", name);
    struct stat st;
    if (!update && !dry && !force && stat(dir, &st) == 0) {
        fprintf(stderr, "spate init: %s exists; --force overwrites it, --update proposes "
                "changes from a new sample\n", dir);
        return CLI_USAGE;
    }

    char err[768] = "";
    struct init_sample sm;
    int rc = init_fetch_sample(url, records_path, pages, &sm, err, sizeof err);
    if (rc) {
        fprintf(stderr, "spate init: %s\n", err[0] ? err : spate_strerror(rc));
        init_sample_free(&sm);
        return CLI_FAIL;
    }
    struct init_schema s;
    rc = init_infer(sm.pages, sm.npages, records_path, key_path, &s, err, sizeof err);
    if (rc) {
        fprintf(stderr, "spate init: %s: %s\n", url, err[0] ? err : spate_strerror(rc));
        init_sample_free(&sm);
        return CLI_FAIL;
    }
    char tmpl[4096];
    init_url_template(&sm, tmpl, sizeof tmpl);
    struct init_source_opts o = {.name = name, .url = tmpl, .by = by,
                                 .page_style = sm.style, .page_param = sm.page_param,
                                 .cursor_path = sm.cursor_path,
                                 .cursor_param = sm.cursor_param,
                                 .start_page = sm.start_page};
    int ret = CLI_OK;
    if (by) {
        int found = 0;
        for (size_t i = 0; i < s.field_count; i++)
            if (!strcmp(s.fields[i].column, by) || !strcmp(s.fields[i].path, by)) {
                found = 1;
                if (s.fields[i].kind == INIT_JSON || s.fields[i].kind == INIT_DOUBLE) {
                    fprintf(stderr, "spate init: --by %s: a %s field cannot partition a "
                            "table\n", by, init_kind_name(s.fields[i].kind));
                    ret = CLI_USAGE;
                }
            }
        if (!found) {
            fprintf(stderr, "spate init: --by %s: no such field in the sample (see the "
                    "fields below)\n", by);
            ret = CLI_USAGE;
        }
    }
    report(&s, &sm, &o);
    if (ret != CLI_OK)
        goto out;

    if (update) {
        struct init_schema old;
        const struct spate_config *cfg = cli_config(ctx);
        o.keyspace = cfg ? cfg->cassandra.keyspace : NULL;
        snprintf(path, sizeof path, "%s/fields.tsv", dir);
        if (load_fields(path, &old) != 0) {
            fprintf(stderr, "spate init: --update: %s: %s (was the pipeline written by "
                    "spate init?)\n", path, strerror(errno));
            ret = CLI_FAIL;
            goto out;
        }
        struct spate_buf b = {0};
        int added = init_render_update(&old, &s, &o, &b);
        init_schema_free(&old);
        printf("\n");
        if (added < 0) {
            ret = CLI_FAIL;
        } else if (added == 0) {
            printf("no new fields: the pipeline covers the fresh sample\n");
        } else {
            printf("%d new field(s); until they are added, records keep them in %s.raw and "
                   "the clean record leaves them out\n\n", added, name);
            fwrite(b.data, 1, b.len, stdout);
        }
        spate_buf_free(&b);
        goto out;
    }

    char view_name[128], cql_name[128];
    snprintf(view_name, sizeof view_name, "%s_parsed.view.sql", name);
    snprintf(cql_name, sizeof cql_name, "%s.cql", name);
    struct {
        const char *file;
        int (*fn)(const struct init_schema *, const struct init_source_opts *,
                  struct spate_buf *);
        int schema;
    } files[] = {
        {view_name, init_render_view, 0},
        {"clean.sql", init_render_clean, 0},
        {"stats.sql", init_render_stats, 0},
        {cql_name, init_render_cql, 1},
        {"pipeline.yaml", init_render_config, 0},
    };
    if (!dry && (mkdirs(dir) != 0 || mkdirs(schema_dir) != 0)) {
        fprintf(stderr, "spate init: cannot create %s or %s: %s\n", dir, schema_dir,
                strerror(errno));
        ret = CLI_FAIL;
        goto out;
    }
    printf("\n");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct spate_buf b = {0};
        const char *d = files[i].schema ? schema_dir : dir;
        snprintf(path, sizeof path, "%s/%s", d, files[i].file);
        if (files[i].fn(&s, &o, &b) != 0) {
            fprintf(stderr, "spate init: out of memory\n");
            spate_buf_free(&b);
            ret = CLI_FAIL;
            goto out;
        }
        if (dry)
            printf("  would write %s (%zu bytes)\n", path, b.len);
        else if (write_file(path, &b) != 0)
            ret = CLI_FAIL;
        spate_buf_free(&b);
    }
    struct spate_buf fb = {0};
    snprintf(path, sizeof path, "%s/fields.tsv", dir);
    if (render_fields(&s, &fb) == 0 && !dry && write_file(path, &fb) != 0)
        ret = CLI_FAIL;
    spate_buf_free(&fb);
    if (ret == CLI_OK && !dry) {
        const char *config = ctx->config_path ? ctx->config_path : "spate.yaml";
        snprintf(path, sizeof path, "pipelines/%s/pipeline.yaml", name);
        if (add_include(config, path) != 0)
            ret = CLI_FAIL;
        printf("\nnext: spate schema apply; spate --pipeline %s run\n", name);
    }
out:
    init_schema_free(&s);
    init_sample_free(&sm);
    return ret;
}
