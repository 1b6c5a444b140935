/* SPDX-License-Identifier: Apache-2.0 */
/* util.c -- clocks, bounded string copies, a growable byte buffer, secrets, a child's output. */
#include "spate/util.h"
#include "spate/error.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t spate_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t spate_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t spate_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void spate_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

size_t spate_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size > 0) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

int spate_parse_duration_ms(const char *s, int64_t *out_ms)
{
    if (s == NULL || *s == '\0')
        return SPATE_EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || v < 0)
        return SPATE_EINVAL;
    double mult;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else
        return SPATE_EINVAL;
    double ms = v * mult;
    if (ms > 9.0e15)
        return SPATE_ERANGE;
    *out_ms = (int64_t)ms;
    return 0;
}

int spate_buf_reserve(struct spate_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2)
            return SPATE_ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return SPATE_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int spate_buf_append(struct spate_buf *b, const void *data, size_t len)
{
    int rc = spate_buf_reserve(b, len);
    if (rc != 0)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int spate_buf_appendf(struct spate_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SPATE_EINVAL;
    int rc = spate_buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void spate_buf_reset(struct spate_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void spate_buf_free(struct spate_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int spate_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    /* Comparing digests hides the secret's length and where a guess first
     * differs; a byte loop over the shorter input would leak both. */
    unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
    SHA256(a, alen, da);
    SHA256(b, blen, db);
    int eq = CRYPTO_memcmp(da, db, sizeof da) == 0;
    OPENSSL_cleanse(da, sizeof da);
    OPENSSL_cleanse(db, sizeof db);
    return eq;
}

int spate_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int spate_parse_uuid(const char *s, size_t len, uint8_t out[16])
{
    if (!s || (len != 36 && len != 32))
        return SPATE_EINVAL;
    size_t j = 0;
    for (size_t i = 0; i < len;) {
        if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return SPATE_EINVAL;
            i++;
            continue;
        }
        int hi = spate_hexval((unsigned char)s[i]), lo = spate_hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return SPATE_EINVAL;
        out[j++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return j == 16 ? 0 : SPATE_EINVAL;
}

static int java_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

size_t spate_key_normalize(const char *key, size_t len, char *out)
{
    size_t b = 0, e = len;
    while (b < e && java_space((unsigned char)key[b]))
        b++;
    while (e > b && java_space((unsigned char)key[e - 1]))
        e--;
    for (size_t i = b; i < e; i++) {
        unsigned char c = (unsigned char)key[i];
        out[i - b] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    return e - b;
}

int64_t spate_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void spate_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

uint64_t spate_rand64(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int64_t spate_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, uint64_t *rng)
{
    if (attempt < 1)
        attempt = 1;
    if (initial_ms < 1)
        initial_ms = 1;
    if (max_ms < initial_ms)
        max_ms = initial_ms;
    int64_t base = initial_ms;
    for (int i = 1; i < attempt && base < max_ms; i++)
        base = base > max_ms / 2 ? max_ms : base * 2;
    if (base > max_ms)
        base = max_ms;
    if (!rng)
        return base;
    int64_t half = base / 2;
    int64_t span = base - half; /* jitter range, inclusive */
    return half + (int64_t)(spate_rand64(rng) % (uint64_t)(span + 1));
}

extern char **environ;

int spate_run_capture(const char *const argv[], char *out, size_t outlen)
{
    if (outlen)
        out[0] = '\0';
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    size_t n = 0;
    char sink[256];
    for (;;) {
        /* read to the end even past outlen, so the child never blocks on a full pipe */
        int full = n + 1 >= outlen;
        ssize_t r = full ? read(fds[0], sink, sizeof sink) : read(fds[0], out + n, outlen - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (!full)
            n += (size_t)r;
    }
    if (outlen)
        out[n] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *spate_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct spate_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        spate_buf_append(&b, chunk, n);
    fclose(f);
    spate_buf_append(&b, "", 1);
    return b.data;
}
