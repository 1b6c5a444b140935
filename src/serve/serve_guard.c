/* SPDX-License-Identifier: Apache-2.0 */
/* serve_guard.c -- who may read the API: the Host allow-list against DNS rebinding and the
 * bearer token (pure). */
#include "serve_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* The name part of a Host header: "[::1]:8080" -> "::1", "Example.com.:80" -> "example.com".
 * 0, or -1 when it is malformed or too long. */
static int host_name(const char *h, char *out, size_t outlen)
{
    size_t n;
    if (h[0] == '[') {
        const char *end = strchr(h, ']');
        if (!end || (end[1] && end[1] != ':'))
            return -1;
        h++;
        n = (size_t)(end - h);
    } else {
        const char *colon = strchr(h, ':');
        n = colon ? (size_t)(colon - h) : strlen(h);
        if (colon && strchr(colon + 1, ':'))
            return -1;
    }
    if (n == 0 || n >= outlen)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)h[i]);
    if (out[n - 1] == '.') /* the root label: the same name */
        n--;
    out[n] = 0;
    return n ? 0 : -1;
}

static int is_ip_literal(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

int serve__host_allowed(const char *host, const char *listen,
                        const struct spate_strlist *allowed)
{
    /* Browsers always send Host; a client without one is no browser page. */
    if (!host)
        return 1;
    char name[256];
    if (host_name(host, name, sizeof name) != 0)
        return 0;
    /* An IP literal cannot be rebound: a page that reaches us by address has
     * that address as its own origin. localhost resolves locally only. */
    if (is_ip_literal(name) || !strcmp(name, "localhost"))
        return 1;
    if (listen && !strcasecmp(name, listen))
        return 1;
    for (size_t i = 0; allowed && i < allowed->count; i++) {
        const char *a = allowed->items[i];
        size_t al = strlen(a);
        if (al && a[al - 1] == '.')
            al--;
        if (al == strlen(name) && !strncasecmp(a, name, al))
            return 1;
    }
    return 0;
}

int serve__bearer_ok(const char *authorization, const char *token)
{
    if (!token || !*token)
        return 1;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    return spate_secret_equal(t, n, token, strlen(token));
}
