/* SPDX-License-Identifier: Apache-2.0 */
/* ingest_pager.c -- pagination state machines and the resume state file. */
#include "ingest_internal.h"

#include "spate/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

void ingest__pager_free(struct ingest_pager *pg)
{
    struct ingest_entry *e = pg->head;
    while (e) {
        struct ingest_entry *n = e->next;
        entry_free(e);
        e = n;
    }
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

void ingest__pager_follow(struct ingest_pager *pg, int batch)
{
    if (pg->style != INGEST_STYLE_PAGE || !pg->done || pg->head || pg->stopped)
        return;
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

int ingest__pager_load(struct ingest_pager *pg, const char *text)
{
    static const char *const names[] = {"none", "page", "cursor", "link"};
    if (strncmp(text, "spate-ingest-state 1\n", 21) != 0)
        return SPATE_EPARSE;
    const char *p = text + 21;
    char style[16];
    int n = 0;
    if (sscanf(p, "style %15s\n%n", style, &n) != 1 || n == 0)
        return SPATE_EPARSE;
    if (strcmp(style, names[pg->style]) != 0)
        return SPATE_EPARSE;
    p += n;
    if (pg->style == INGEST_STYLE_PAGE) {
        long long next;
        n = 0;
        if (sscanf(p, "next_page %lld\n%n", &next, &n) != 1 || n == 0)
            return SPATE_EPARSE;
        p += n;
        if (strncmp(p, "skip", 4) != 0)
            return SPATE_EPARSE;
        p += 4;
        int64_t *skip = NULL;
        size_t ns = 0;
        while (*p == ' ') {
            char *end;
            long long v = strtoll(p + 1, &end, 10);
            if (end == p + 1) {
                free(skip);
                return SPATE_EPARSE;
            }
            int64_t *ns_arr = realloc(skip, (ns + 1) * sizeof *skip);
            if (!ns_arr) {
                free(skip);
                return SPATE_ENOMEM;
            }
            skip = ns_arr;
            skip[ns++] = v;
            p = end;
        }
        if (*p != '\n' && *p != '\0') {
            free(skip);
            return SPATE_EPARSE;
        }
        long long tp = 0, tc = 0;
        if (*p == '\n' && strncmp(p + 1, "tail ", 5) == 0 &&
            (sscanf(p + 6, "%lld %lld", &tp, &tc) != 2 || tp < 0 || tc < 0)) {
            free(skip);
            return SPATE_EPARSE;
        }
        pg->tail_page = tp;
        pg->tail_count = tc;
        if (ns)
            qsort(skip, ns, sizeof *skip, cmp_i64);
        free(pg->skip);
        pg->skip = skip;
        pg->nskip = ns;
        pg->next_page = next;
        trim_skip(pg);
        pg->done = 0;
    } else if (pg->style == INGEST_STYLE_CURSOR || pg->style == INGEST_STYLE_LINK) {
        if (strncmp(p, "end 1", 5) == 0) {
            pg->done = 1;
            pg->have_next = 0;
            return 0;
        }
        if (strncmp(p, "cursor ", 7) != 0)
            return SPATE_EPARSE;
        p += 7;
        size_t len = strcspn(p, "\n");
        free(pg->next_cursor);
        pg->next_cursor = NULL;
        if (!(len == 1 && p[0] == '-')) {
            int rc = unhex(p, len, &pg->next_cursor);
            if (rc)
                return rc;
        }
        pg->have_next = 1;
        pg->done = 0;
    }
    return 0;
}

int ingest__write_atomic(const char *path, const char *data, size_t len)
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
    if (fsync(fd) != 0 || close(fd) != 0) {
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
