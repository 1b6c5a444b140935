/* SPDX-License-Identifier: Apache-2.0 */
/* serve_prom.c -- a pure parser of the Prometheus text format, to read the stages' /metrics. */
#include "serve_internal.h"

#include "spate/error.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_name_start(int c) { return isalpha(c) || c == '_' || c == ':'; }
static int is_name_char(int c) { return isalnum(c) || c == '_' || c == ':'; }

static int push(struct serve_prom *p, const char *name, size_t nlen, const char *labels,
                size_t llen, double v)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        if (cap > SERVE_PROM_MAX_SAMPLES)
            return SPATE_ETOOBIG;
        struct serve_prom_sample *s = realloc(p->s, cap * sizeof *s);
        if (!s)
            return SPATE_ENOMEM;
        p->s = s;
        p->cap = cap;
    }
    struct serve_prom_sample *s = &p->s[p->n];
    s->name = strndup(name, nlen);
    s->labels = strndup(labels ? labels : "", llen);
    if (!s->name || !s->labels) {
        free(s->name);
        free(s->labels);
        return SPATE_ENOMEM;
    }
    s->value = v;
    p->n++;
    return 0;
}

/* One line into out. 0, SPATE_EPARSE, SPATE_ETOOBIG or SPATE_ENOMEM. */
static int parse_line(const char *l, size_t ll, struct serve_prom *out)
{
    size_t k = 0;
    while (k < ll && (l[k] == ' ' || l[k] == '\t'))
        k++;
    if (k == ll || l[k] == '#' || l[k] == '\r')
        return 0;
    if (!is_name_start((unsigned char)l[k]))
        return SPATE_EPARSE;
    size_t ns = k;
    while (k < ll && is_name_char((unsigned char)l[k]))
        k++;
    size_t nlen = k - ns;
    const char *labels = NULL;
    size_t llen = 0;
    if (k < ll && l[k] == '{') {
        size_t ls = ++k;
        int inq = 0;
        while (k < ll && (inq || l[k] != '}')) {
            if (inq && l[k] == '\\' && k + 1 < ll)
                k++;
            else if (l[k] == '"')
                inq = !inq;
            k++;
        }
        if (k >= ll)
            return SPATE_EPARSE;
        labels = l + ls;
        llen = k - ls;
        k++;
    }
    while (k < ll && (l[k] == ' ' || l[k] == '\t'))
        k++;
    char num[64];
    size_t vs = k;
    while (k < ll && l[k] != ' ' && l[k] != '\t' && l[k] != '\r')
        k++;
    if (k == vs || k - vs >= sizeof num)
        return SPATE_EPARSE;
    memcpy(num, l + vs, k - vs);
    num[k - vs] = 0;
    double v;
    if (!strcmp(num, "+Inf") || !strcmp(num, "Inf"))
        v = INFINITY;
    else if (!strcmp(num, "-Inf"))
        v = -INFINITY;
    else if (!strcmp(num, "NaN"))
        v = NAN;
    else {
        char *end;
        v = strtod(num, &end);
        if (*end)
            return SPATE_EPARSE;
    }
    return push(out, l + ns, nlen, labels, llen, v);
}

int serve__prom_parse(const char *text, size_t len, struct serve_prom *out)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < len) {
        size_t eol = i;
        while (eol < len && text[eol] != '\n')
            eol++;
        int rc = parse_line(text + i, eol - i, out);
        if (rc) {
            /* The samples of the lines before the bad one are the caller's to free only
             * on success: a half-read exposition is never handed out. */
            serve__prom_free(out);
            return rc;
        }
        i = eol + 1;
    }
    return 0;
}

void serve__prom_free(struct serve_prom *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->s[i].name);
        free(p->s[i].labels);
    }
    free(p->s);
    memset(p, 0, sizeof *p);
}

int serve__prom_label(const char *labels, const char *key, char *out, size_t size)
{
    size_t kl = strlen(key);
    const char *p = labels;
    while (p && *p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *eq = strchr(p, '=');
        if (!eq || eq[1] != '"')
            return SPATE_ENOTFOUND;
        int match = (size_t)(eq - p) == kl && !strncmp(p, key, kl);
        const char *v = eq + 2;
        size_t o = 0;
        while (*v && *v != '"') {
            char c = *v;
            if (c == '\\' && v[1]) {
                v++;
                c = *v == 'n' ? '\n' : *v;
            }
            if (match && o + 1 < size)
                out[o++] = c;
            v++;
        }
        if (match) {
            if (size)
                out[o] = 0;
            return 0;
        }
        p = *v ? v + 1 : v;
    }
    return SPATE_ENOTFOUND;
}

/* labels contain every key="value" pair of filter (a comma-separated list). */
static int labels_match(const char *labels, const char *filter)
{
    if (!filter || !*filter)
        return 1;
    const char *f = filter;
    while (*f) {
        const char *comma = strchr(f, ',');
        size_t fl = comma ? (size_t)(comma - f) : strlen(f);
        char pair[256];
        if (fl >= sizeof pair)
            return 0;
        memcpy(pair, f, fl);
        pair[fl] = 0;
        char *eq = strchr(pair, '=');
        if (!eq)
            return 0;
        *eq = 0;
        char want[200], got[200];
        spate_strlcpy(want, eq[1] == '"' ? eq + 2 : eq + 1, sizeof want);
        size_t wl = strlen(want);
        if (wl && want[wl - 1] == '"')
            want[wl - 1] = 0;
        if (serve__prom_label(labels, pair, got, sizeof got) != 0 || strcmp(got, want))
            return 0;
        f += fl;
        if (*f == ',')
            f++;
    }
    return 1;
}

double serve__prom_sum(const struct serve_prom *p, const char *name, const char *filter,
                       int *found)
{
    double sum = 0;
    int n = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->s[i].name, name) || !labels_match(p->s[i].labels, filter))
            continue;
        if (!isnan(p->s[i].value))
            sum += p->s[i].value;
        n++;
    }
    if (found)
        *found = n > 0;
    return sum;
}

const char *serve__prom_find_name(const struct serve_prom *p, const char *prefix,
                                  const char *const *needles, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    for (size_t i = 0; i < p->n; i++) {
        const char *nm = p->s[i].name;
        size_t nl = strlen(nm);
        if (strncmp(nm, prefix, pl) || nl < sl || strcmp(nm + nl - sl, suffix))
            continue;
        for (size_t k = 0; needles[k]; k++)
            if (strstr(nm + pl, needles[k]))
                return nm;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int serve__prom_histogram(const struct serve_prom *p, const char *family, struct serve_hist *h)
{
    return serve__prom_histogram_where(p, family, NULL, h);
}

int serve__prom_histogram_where(const struct serve_prom *p, const char *family,
                                const char *label, struct serve_hist *h)
{
    char bname[160];
    memset(h, 0, sizeof *h);
    if (strlen(family) + 8 > sizeof bname)
        return SPATE_EINVAL;
    strcpy(bname, family);
    strcat(bname, "_bucket");
    /* Sum every label set per bound (le), then turn cumulative into per-bucket. */
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->s[i].name, bname))
            continue;
        if (label && !strstr(p->s[i].labels ? p->s[i].labels : "", label))
            continue;
        char le[64];
        if (serve__prom_label(p->s[i].labels, "le", le, sizeof le) != 0)
            continue;
        /* A bound that is no number (NaN compares unequal to itself and has no place
         * in the sort) or a count that is no count makes every quantile a guess: the
         * family is refused rather than half read. */
        char *end;
        double b = !strcmp(le, "+Inf") ? INFINITY : strtod(le, &end);
        double c = p->s[i].value;
        if ((isinf(b) ? b < 0 : (*end || end == le || isnan(b))) || !isfinite(c) || c < 0) {
            memset(h, 0, sizeof *h);
            return SPATE_EPARSE;
        }
        size_t k;
        for (k = 0; k < h->n; k++)
            if (h->bounds[k] == b)
                break;
        if (k == h->n) {
            if (h->n == SERVE_HIST_MAX) {
                memset(h, 0, sizeof *h);
                return SPATE_ETOOBIG;
            }
            h->bounds[h->n] = b;
            h->cum[h->n] = 0;
            h->n++;
        }
        h->cum[k] += c;
    }
    if (h->n == 0)
        return SPATE_ENOTFOUND;
    /* sort bounds together with counts */
    double pairs[SERVE_HIST_MAX][2];
    for (size_t k = 0; k < h->n; k++) {
        pairs[k][0] = h->bounds[k];
        pairs[k][1] = h->cum[k];
    }
    qsort(pairs, h->n, sizeof pairs[0], cmp_double);
    for (size_t k = 0; k < h->n; k++) {
        h->bounds[k] = pairs[k][0];
        h->cum[k] = pairs[k][1];
    }
    return 0;
}

/* A bucket's count as an integer. The counts come from another process's text:
 * converting a double outside uint64_t's range is undefined, and the cap keeps the
 * sum of every bucket from wrapping. */
static uint64_t bucket_count(double c)
{
    const double cap = 9007199254740992.0; /* 2^53: exact, and 49 of them fit uint64_t */
    if (!(c > 0)) /* also NaN */
        return 0;
    return c >= cap ? (uint64_t)cap : (uint64_t)c;
}

double serve__hist_quantile(const struct serve_hist *now, const struct serve_hist *before,
                            double q, uint64_t *count)
{
    /* The finite bounds; the last cumulative value is the +Inf total. */
    double bounds[SERVE_HIST_MAX];
    uint64_t counts[SERVE_HIST_MAX + 1];
    size_t nb = 0;
    double prev = 0;
    uint64_t total = 0;
    for (size_t k = 0; k < now->n; k++) {
        double c = now->cum[k];
        if (before && before->n == now->n && before->bounds[k] == now->bounds[k])
            c -= before->cum[k];
        if (c < 0)
            c = 0; /* the stage restarted: its counters began again */
        double inb = c - prev;
        prev = c;
        if (inb < 0)
            inb = 0;
        if (isinf(now->bounds[k])) {
            counts[nb] = bucket_count(inb);
        } else {
            bounds[nb] = now->bounds[k];
            counts[nb] = bucket_count(inb);
            nb++;
        }
        total += bucket_count(inb);
    }
    if (now->n && !isinf(now->bounds[now->n - 1]))
        counts[nb] = 0;
    if (count)
        *count = total;
    if (total == 0 || nb == 0)
        return 0;
    return metrics_quantile_from_buckets(bounds, nb, counts, q);
}
