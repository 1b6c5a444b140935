/* SPDX-License-Identifier: Apache-2.0 */
/* ingest_pager.c -- pagination state machines and the resume state file. */
#include "ingest_internal.h"

#include "spate/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ingest__style_parse(const char *s, enum ingest_style *out)
{
    if (!s || strcmp(s, "none") == 0)
        *out = INGEST_STYLE_NONE;
    else if (strcmp(s, "page") == 0)
        *out = INGEST_STYLE_PAGE;
    else if (strcmp(s, "cursor") == 0)
        *out = INGEST_STYLE_CURSOR;
    else if (strcmp(s, "link") == 0)
        *out = INGEST_STYLE_LINK;
    else
        return SPATE_EINVAL;
    return 0;
}

void ingest__pager_init(struct ingest_pager *pg, enum ingest_style style, int64_t start_page,
                        int64_t max_pages)
{
    memset(pg, 0, sizeof *pg);
    pg->style = style;
    pg->start_page = start_page;
    pg->max_pages = max_pages;
    pg->next_page = start_page;
    pg->have_next = 1; /* the first page is known: no cursor */
}

static void entry_free(struct ingest_entry *e)
{
    free(e->cursor);
    spate_buf_free(&e->body);
    free(e);
}

static void stamps_free(struct ingest_stamp *st, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(st[i].cursor);
    free(st);
}

void ingest__pager_free(struct ingest_pager *pg)
{
    struct ingest_entry *e = pg->head;
    while (e) {
        struct ingest_entry *n = e->next;
        entry_free(e);
        e = n;
    }
    stamps_free(pg->stamps, pg->nstamps);
    free(pg->skip);
    free(pg->next_cursor);
    memset(pg, 0, sizeof *pg);
}

static int in_skip(const struct ingest_pager *pg, int64_t page)
{
    size_t lo = 0, hi = pg->nskip;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pg->skip[mid] == page)
            return 1;
        if (pg->skip[mid] < page)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Drop skip entries below next_page: they can never be issued again. */
static void trim_skip(struct ingest_pager *pg)
{
    size_t k = 0;
    while (k < pg->nskip && pg->skip[k] < pg->next_page)
        k++;
    if (k) {
        memmove(pg->skip, pg->skip + k, (pg->nskip - k) * sizeof *pg->skip);
        pg->nskip -= k;
    }
}

static int same_cursor(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* A position issued again after a restart takes the stamp its records were
 * produced under before the crash, and leaves the carried list. */
static void claim_stamp(struct ingest_pager *pg, struct ingest_entry *e)
{
    for (size_t i = 0; i < pg->nstamps; i++) {
        struct ingest_stamp *st = &pg->stamps[i];
        if (pg->style == INGEST_STYLE_PAGE ? st->page != e->page
                                           : !same_cursor(st->cursor, e->cursor))
            continue;
        e->stamp = st->ms;
        /* Records before first were stamped (and completed) by an earlier
         * fetch of a growing page: not produced again. */
        if (st->first > e->skip_records)
            e->skip_records = st->first;
        free(st->cursor);
        pg->stamps[i] = pg->stamps[--pg->nstamps];
        return;
    }
}

int ingest__pager_can_issue(const struct ingest_pager *pg)
{
    if (pg->done || pg->stopped)
        return 0;
    switch (pg->style) {
    case INGEST_STYLE_NONE:
        return 1;
    case INGEST_STYLE_PAGE: {
        int64_t p = pg->next_page;
        /* Completed pages from a previous run are skipped over. */
        for (size_t i = 0; i < pg->nskip; i++)
            if (pg->skip[i] == p)
                p++;
        return !(pg->max_pages > 0 && p >= pg->start_page + pg->max_pages);
    }
    case INGEST_STYLE_CURSOR:
    case INGEST_STYLE_LINK:
        return pg->have_next && !pg->busy;
    }
    return 0;
}

struct ingest_entry *ingest__pager_issue(struct ingest_pager *pg)
{
    struct ingest_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->seq = pg->next_seq++;
    e->processing = 1;
    switch (pg->style) {
    case INGEST_STYLE_NONE:
        break;
    case INGEST_STYLE_PAGE:
        while (in_skip(pg, pg->next_page))
            pg->next_page++;
        e->page = pg->next_page++;
        if (pg->refetch_page && e->page == pg->refetch_page) {
            e->skip_records = pg->refetch_skip;
            pg->refetch_page = 0;
        }
        trim_skip(pg);
        break;
    case INGEST_STYLE_CURSOR:
    case INGEST_STYLE_LINK:
        if (pg->next_cursor) {
            e->cursor = strdup(pg->next_cursor);
            if (!e->cursor) {
                free(e);
                return NULL;
            }
        }
        pg->busy = 1;
        pg->have_next = 0;
        break;
    }
    if (pg->nstamps)
        claim_stamp(pg, e);
    if (pg->tail)
        pg->tail->next = e;
    else
        pg->head = e;
    pg->tail = e;
    return e;
}

int ingest__pager_response(struct ingest_pager *pg, struct ingest_entry *e, size_t nrecords,
                           const char *next)
{
    (void)e;
    switch (pg->style) {
    case INGEST_STYLE_NONE:
        break;
    case INGEST_STYLE_PAGE:
        if (nrecords > 0 && e->page >= pg->tail_page) {
            pg->tail_page = e->page;
            pg->tail_count = (int64_t)nrecords;
            pg->dirty = 1;
        }
        if (nrecords == 0) {
            /* The end of the data for now: a later run starts here again, so
             * records appended to the source are not skipped. */
            if (!pg->done || e->page < pg->end_page)
                pg->end_page = e->page;
            pg->done = 1;
            pg->dirty = 1;
        }
        break;
    case INGEST_STYLE_CURSOR:
    case INGEST_STYLE_LINK:
        pg->busy = 0;
        free(pg->next_cursor);
        pg->next_cursor = NULL;
        if (next && *next) {
            pg->next_cursor = strdup(next);
            if (!pg->next_cursor)
                return SPATE_ENOMEM;
            pg->have_next = 1;
        } else {
            pg->done = 1;
        }
        pg->dirty = 1;
        break;
    }
    return 0;
}

int ingest__pager_stamp(struct ingest_pager *pg, struct ingest_entry *e, int64_t now_ms)
{
    if (e->stamp)
        return 0;
    e->stamp = now_ms;
    if (pg->style == INGEST_STYLE_NONE)
        return 0;
    pg->dirty = 1;
    return 1;
}

void ingest__pager_follow(struct ingest_pager *pg, int batch)
{
    if (pg->style != INGEST_STYLE_PAGE || !pg->done || pg->head || pg->stopped)
        return;
    /* What is fetched from here on is new data, fetched for the first time:
     * a stamp the state file still carried for these pages is stale. */
    stamps_free(pg->stamps, pg->nstamps);
    pg->stamps = NULL;
    pg->nstamps = 0;
    int64_t from = pg->end_page;
    pg->refetch_page = 0;
    if (pg->tail_page >= pg->start_page && pg->tail_page + 1 == pg->end_page &&
        pg->tail_count < batch) {
        from = pg->tail_page;
        pg->refetch_page = from;
        pg->refetch_skip = pg->tail_count;
    }
    /* Pages from here on were empty or partial: none of them is complete. */
    size_t k = 0;
    while (k < pg->nskip && pg->skip[k] < from)
        k++;
    pg->nskip = k;
    pg->next_page = from;
    pg->done = 0;
    pg->dirty = 1;
}

void ingest__pager_abandon(struct ingest_pager *pg, struct ingest_entry *e)
{
    /* The entry never completes, so the state keeps pointing at it and the
     * next run tries again. For a cursor or link there is no way forward
     * without this response; for page numbers there is, but going on would
     * leave this page behind for ever once later pages complete. Marking
     * the page style done would also claim an end of the data (end_page)
     * that was never seen. */
    e->failed = 1;
    pg->stopped = 1;
    pg->busy = 0;
    if (pg->style != INGEST_STYLE_PAGE)
        pg->done = 1;
    pg->dirty = 1;
}

static int complete(const struct ingest_entry *e)
{
    return !e->processing && e->pending == 0 && !e->failed;
}

void ingest__pager_settle(struct ingest_pager *pg, struct ingest_entry *e)
{
    /* Looked at before the loop: the loop may free e. */
    if (e && complete(e))
        pg->dirty = 1;
    while (pg->head && complete(pg->head)) {
        struct ingest_entry *h = pg->head;
        pg->head = h->next;
        if (!pg->head)
            pg->tail = NULL;
        entry_free(h);
        pg->dirty = 1;
    }
}

size_t ingest__pager_open(const struct ingest_pager *pg)
{
    size_t n = 0;
    for (const struct ingest_entry *e = pg->head; e; e = e->next)
        if (!complete(e))
            n++;
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int append_hex(struct spate_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char h[2] = {hex[*p >> 4], hex[*p & 15]};
        if (spate_buf_append(out, h, 2))
            return SPATE_ENOMEM;
    }
    return 0;
}

static int append_stamp(struct spate_buf *out, const char *cursor, int64_t ms)
{
    if (spate_buf_append(out, "stamp ", 6) ||
        (cursor ? append_hex(out, cursor) : spate_buf_append(out, "-", 1)) ||
        spate_buf_appendf(out, " %" PRId64 "\n", ms))
        return SPATE_ENOMEM;
    return 0;
}

int ingest__pager_stamp_line(const struct ingest_pager *pg, const struct ingest_entry *e,
                             struct spate_buf *out)
{
    if (pg->style == INGEST_STYLE_PAGE)
        return spate_buf_appendf(out, "stamp %" PRId64 " %" PRId64 " %" PRId64 "\n", e->page,
                                 e->stamp, e->skip_records)
                   ? SPATE_ENOMEM
                   : 0;
    return append_stamp(out, e->cursor, e->stamp);
}

int ingest__pager_state(const struct ingest_pager *pg, struct spate_buf *out)
{
    static const char *const names[] = {"none", "page", "cursor", "link"};
    if (spate_buf_appendf(out, "spate-ingest-state 1\nstyle %s\n", names[pg->style]))
        return SPATE_ENOMEM;
    if (pg->style == INGEST_STYLE_PAGE) {
        /* Resume at the first page not known to be complete; pages above it
         * that did complete are listed so they are not fetched twice. */
        int64_t low = pg->head ? pg->head->page : pg->next_page;
        int64_t end = pg->done ? pg->end_page : INT64_MAX;
        if (end < low)
            low = end;
        if (spate_buf_appendf(out, "next_page %" PRId64 "\nskip", low))
            return SPATE_ENOMEM;
        for (const struct ingest_entry *e = pg->head; e; e = e->next)
            if (complete(e) && e->page < end && spate_buf_appendf(out, " %" PRId64, e->page))
                return SPATE_ENOMEM;
        for (size_t i = 0; i < pg->nskip; i++)
            if (pg->skip[i] >= low && pg->skip[i] < end &&
                spate_buf_appendf(out, " %" PRId64, pg->skip[i]))
                return SPATE_ENOMEM;
        if (spate_buf_append(out, "\n", 1))
            return SPATE_ENOMEM;
        /* Where the data ended: a source that grows continues on this page. */
        if (pg->tail_page && spate_buf_appendf(out, "tail %" PRId64 " %" PRId64 "\n",
                                               pg->tail_page, pg->tail_count))
            return SPATE_ENOMEM;
        /* The pages fetched again on resume whose records were produced
         * already: they keep their stamp. A complete page is not fetched
         * again, so its stamp is dropped. */
        for (const struct ingest_entry *e = pg->head; e; e = e->next)
            if (e->stamp && !complete(e) && ingest__pager_stamp_line(pg, e, out))
                return SPATE_ENOMEM;
        for (size_t i = 0; i < pg->nstamps; i++)
            if (pg->stamps[i].page >= low &&
                spate_buf_appendf(out, "stamp %" PRId64 " %" PRId64 " %" PRId64 "\n",
                                  pg->stamps[i].page, pg->stamps[i].ms, pg->stamps[i].first))
                return SPATE_ENOMEM;
    } else if (pg->style == INGEST_STYLE_CURSOR || pg->style == INGEST_STYLE_LINK) {
        const char *pos;
        int at_end = 0;
        if (pg->head)
            pos = pg->head->cursor;
        else if (pg->done)
            at_end = 1, pos = NULL;
        else
            pos = pg->next_cursor;
        if (at_end) {
            if (spate_buf_appendf(out, "end 1\n"))
                return SPATE_ENOMEM;
        } else if (!pos) {
            if (spate_buf_appendf(out, "cursor -\n"))
                return SPATE_ENOMEM;
        } else {
            if (spate_buf_appendf(out, "cursor ") || append_hex(out, pos) ||
                spate_buf_append(out, "\n", 1))
                return SPATE_ENOMEM;
        }
        if (!at_end) {
            for (const struct ingest_entry *e = pg->head; e; e = e->next)
                if (e->stamp && !complete(e) && ingest__pager_stamp_line(pg, e, out))
                    return SPATE_ENOMEM;
            for (size_t i = 0; i < pg->nstamps; i++)
                if (append_stamp(out, pg->stamps[i].cursor, pg->stamps[i].ms))
                    return SPATE_ENOMEM;
        }
    }
    return 0;
}

static int unhex(const char *s, size_t n, char **out)
{
    if (n % 2)
        return SPATE_EPARSE;
    char *r = malloc(n / 2 + 1);
    if (!r)
        return SPATE_ENOMEM;
    for (size_t i = 0; i < n; i += 2) {
        int hi = -1, lo = -1;
        char a = s[i], b = s[i + 1];
        hi = a >= '0' && a <= '9' ? a - '0' : a >= 'a' && a <= 'f' ? a - 'a' + 10 : -1;
        lo = b >= '0' && b <= '9' ? b - '0' : b >= 'a' && b <= 'f' ? b - 'a' + 10 : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(r);
            return SPATE_EPARSE;
        }
        r[i / 2] = (char)(hi << 4 | lo);
    }
    r[n / 2] = '\0';
    *out = r;
    return 0;
}

struct load {
    char *err;
    size_t errlen;
    int line;
};

static int load_fail(struct load *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int load_fail(struct load *l, const char *fmt, ...)
{
    if (l->err && l->errlen) {
        int n = snprintf(l->err, l->errlen, "line %d: ", l->line);
        if (n >= 0 && (size_t)n < l->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return SPATE_EPARSE;
}

/* One whole decimal number, nothing around it. */
static int parse_i64(const char *s, int64_t *out)
{
    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/* Splits line at single spaces into at most max words; returns how many,
 * or max + 1 when there are more. */
static size_t split_words(char *line, char **w, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return max + 1;
        w[n++] = p;
        p = strchr(p, ' ');
        if (!p)
            return n;
        *p++ = '\0';
    }
}

/* A later line for the same position wins: stamp lines appended after the
 * last whole save are newer than the ones in it. */
static int add_stamp(enum ingest_style style, struct ingest_stamp **st, size_t *n,
                     struct ingest_stamp *one)
{
    for (size_t i = 0; i < *n; i++) {
        struct ingest_stamp *x = &(*st)[i];
        if (style == INGEST_STYLE_PAGE ? x->page == one->page
                                       : same_cursor(x->cursor, one->cursor)) {
            x->ms = one->ms;
            x->first = one->first;
            free(one->cursor);
            return 0;
        }
    }
    struct ingest_stamp *a = realloc(*st, (*n + 1) * sizeof **st);
    if (!a)
        return SPATE_ENOMEM;
    *st = a;
    a[(*n)++] = *one;
    return 0;
}

/* "stamp PAGE MS FIRST" (style page) or "stamp CURSOR MS" (cursor/link,
 * CURSOR hex or - for the first request), words past "stamp" in w. */
static int parse_stamp(struct load *l, enum ingest_style style, char **w, size_t nw,
                       struct ingest_stamp *out)
{
    memset(out, 0, sizeof *out);
    if (style == INGEST_STYLE_PAGE) {
        if (nw != 3 || parse_i64(w[0], &out->page) || parse_i64(w[1], &out->ms) ||
            parse_i64(w[2], &out->first) || out->ms <= 0 || out->first < 0)
            return load_fail(l, "a stamp line is \"stamp PAGE FETCHED_AT_MS FIRST_RECORD\" "
                             "(whole numbers, FETCHED_AT_MS > 0)");
        return 0;
    }
    if (nw != 2 || parse_i64(w[1], &out->ms) || out->ms <= 0)
        return load_fail(l, "a stamp line is \"stamp CURSOR FETCHED_AT_MS\" (CURSOR in hex or "
                         "-, FETCHED_AT_MS a whole number > 0)");
    if (strcmp(w[0], "-") != 0) {
        int rc = unhex(w[0], strlen(w[0]), &out->cursor);
        if (rc == SPATE_ENOMEM)
            return rc;
        if (rc)
            return load_fail(l, "the cursor of a stamp line is not hex");
    }
    return 0;
}

int ingest__pager_load(struct ingest_pager *pg, const char *text, char *err, size_t errlen)
{
    static const char *const names[] = {"none", "page", "cursor", "link"};
    struct load l = {err, errlen, 0};
    if (err && errlen)
        err[0] = '\0';
    char *copy = strdup(text);
    if (!copy)
        return SPATE_ENOMEM;
    /* Everything is parsed into these first: on an error the pager is as it was. */
    int64_t next = 0, tail_page = 0, tail_count = 0;
    int64_t *skip = NULL;
    size_t nskip = 0;
    char *cursor = NULL;
    int have_cursor = 0, at_end = 0, have_tail = 0;
    struct ingest_stamp *st = NULL;
    size_t nst = 0;
    int rc = 0;
    char *p = copy;
    while (rc == 0 && p && *p) {
        char *line = p;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        p = nl ? nl + 1 : NULL;
        l.line++;
        char *w[4];
        if (l.line == 1) {
            if (strcmp(line, "spate-ingest-state 1") != 0)
                rc = load_fail(&l, "not a spate ingest state (\"spate-ingest-state 1\" expected)");
            continue;
        }
        if (l.line == 2) {
            if (strncmp(line, "style ", 6) != 0)
                rc = load_fail(&l, "\"style NAME\" expected");
            else if (strcmp(line + 6, names[pg->style]) != 0)
                rc = load_fail(&l, "a %.16s-pagination state, but the source's pagination.style "
                               "is %s", line + 6, names[pg->style]);
            continue;
        }
        if (pg->style == INGEST_STYLE_NONE) {
            rc = load_fail(&l, "a source without pagination has no state");
        } else if (l.line == 3 && pg->style == INGEST_STYLE_PAGE) {
            size_t nw = split_words(line, w, 2);
            if (nw != 2 || strcmp(w[0], "next_page") != 0 || parse_i64(w[1], &next))
                rc = load_fail(&l, "\"next_page N\" expected");
        } else if (l.line == 4 && pg->style == INGEST_STYLE_PAGE) {
            if (strncmp(line, "skip", 4) != 0 || (line[4] != '\0' && line[4] != ' ')) {
                rc = load_fail(&l, "\"skip [PAGE ...]\" expected");
                continue;
            }
            for (char *q = line[4] ? line + 5 : NULL; q && rc == 0;) {
                char *sp = strchr(q, ' ');
                if (sp)
                    *sp = '\0';
                int64_t v, *a;
                if (parse_i64(q, &v)) {
                    rc = load_fail(&l, "the skip line holds page numbers only");
                } else if (!(a = realloc(skip, (nskip + 1) * sizeof *skip))) {
                    rc = SPATE_ENOMEM;
                } else {
                    skip = a;
                    skip[nskip++] = v;
                }
                q = sp ? sp + 1 : NULL;
            }
        } else if (l.line == 3) {
            size_t nw = split_words(line, w, 2);
            if (nw == 2 && strcmp(w[0], "end") == 0 && strcmp(w[1], "1") == 0) {
                at_end = 1;
            } else if (nw == 2 && strcmp(w[0], "cursor") == 0) {
                have_cursor = 1;
                if (strcmp(w[1], "-") != 0) {
                    rc = unhex(w[1], strlen(w[1]), &cursor);
                    if (rc == SPATE_EPARSE)
                        rc = load_fail(&l, "the cursor is not hex");
                }
            } else {
                rc = load_fail(&l, "\"cursor HEX\", \"cursor -\" or \"end 1\" expected");
            }
        } else if (strncmp(line, "tail ", 5) == 0 && pg->style == INGEST_STYLE_PAGE &&
                   !have_tail) {
            size_t nw = split_words(line, w, 3);
            if (nw != 3 || parse_i64(w[1], &tail_page) || parse_i64(w[2], &tail_count) ||
                tail_page < 0 || tail_count < 0)
                rc = load_fail(&l, "\"tail PAGE COUNT\" expected (whole numbers >= 0)");
            have_tail = 1;
        } else if (strncmp(line, "stamp ", 6) == 0) {
            size_t nw = split_words(line + 6, w, 3);
            struct ingest_stamp one;
            rc = parse_stamp(&l, pg->style, w, nw, &one);
            if (rc == 0 && (rc = add_stamp(pg->style, &st, &nst, &one)) != 0)
                free(one.cursor);
        } else {
            rc = load_fail(&l, "unexpected line \"%.40s\"", line);
        }
    }
    if (rc == 0 && l.line < (pg->style == INGEST_STYLE_PAGE ? 4 : 3)) {
        l.line++;
        rc = load_fail(&l, "the state ends early");
    }
    free(copy);
    if (rc) {
        free(skip);
        free(cursor);
        stamps_free(st, nst);
        return rc;
    }
    stamps_free(pg->stamps, pg->nstamps);
    pg->stamps = st;
    pg->nstamps = nst;
    if (pg->style == INGEST_STYLE_PAGE) {
        pg->tail_page = tail_page;
        pg->tail_count = tail_count;
        if (nskip)
            qsort(skip, nskip, sizeof *skip, cmp_i64);
        free(pg->skip);
        pg->skip = skip;
        pg->nskip = nskip;
        pg->next_page = next;
        trim_skip(pg);
        pg->done = 0;
    } else if (at_end) {
        pg->done = 1;
        pg->have_next = 0;
    } else if (have_cursor) {
        free(pg->next_cursor);
        pg->next_cursor = cursor;
        pg->have_next = 1;
        pg->done = 0;
    }
    return 0;
}

int ingest__write_atomic(const char *path, const char *data, size_t len, int durable)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return SPATE_ESYS;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return SPATE_ESYS;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            errno = e;
            return SPATE_ESYS;
        }
        off += (size_t)w;
    }
    if ((durable && fsync(fd) != 0) || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return SPATE_ESYS;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return SPATE_ESYS;
    }
    if (!durable)
        return 0;
    /* Make the rename itself durable. */
    char dir[4096];
    spate_strlcpy(dir, path, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    } else {
        strcpy(dir, ".");
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
