/* SPDX-License-Identifier: Apache-2.0 */
/* proc.c -- child processes: one spawn with options (as libuv's uv_spawn), waiting, /proc reads. */
#include "spate/proc.h"

#include "spate/error.h"
#include "spate/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- argv ------------------------------------------------------------------------ */

static void argv_push(struct spate_argv *a, char *s)
{
    if (!s) {
        a->oom = 1;
        return;
    }
    if (a->argc + 2 > a->cap) {
        int cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->argv, (size_t)cap * sizeof *v);
        if (!v) {
            free(s);
            a->oom = 1;
            return;
        }
        a->argv = v;
        a->cap = cap;
    }
    a->argv[a->argc++] = s;
    a->argv[a->argc] = NULL;
}

void spate_argv_add(struct spate_argv *a, const char *s)
{
    if (!a->oom)
        argv_push(a, strdup(s));
}

void spate_argv_vaddf(struct spate_argv *a, const char *fmt, va_list ap)
{
    if (a->oom)
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    argv_push(a, s);
}

void spate_argv_addf(struct spate_argv *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    spate_argv_vaddf(a, fmt, ap);
    va_end(ap);
}

void spate_argv_free(struct spate_argv *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    free(a->argv);
    memset(a, 0, sizeof *a);
}

/* ---- spawn and wait ------------------------------------------------------------------ */

/* In the child, after fork: never returns. A detached child reports a failed
 * exec through errfd (close-on-exec, so EOF means the exec worked). */
/* In a detached child before exec: every descriptor above stderr closes on
 * exec. A JVM lives for hours after its starter exits; it must not keep the
 * starter's files open (`flock LOCK spate stack up` left the lock held by
 * the JVMs, and every other run waited on it). */
static void inherit_nothing(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int fd = atoi(e->d_name);
        if (fd > 2 && fd != self)
            fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
    closedir(d);
}

static void child_exec(const struct spate_proc_options *o, int logfd, int errfd)
{
    if (o->cwd && chdir(o->cwd) != 0)
        _exit(126);
    if (o->flags & SPATE_PROC_NULL_STDIN) {
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
    }
    if (logfd >= 0) {
        dup2(logfd, 1);
        dup2(logfd, 2);
    }
    if (o->flags & SPATE_PROC_DEFAULT_SIGNALS) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
    }
    if (o->flags & SPATE_PROC_DETACH)
        inherit_nothing();
    if (o->flags & SPATE_PROC_PATH)
        execvp(o->argv[0], o->argv);
    else
        execv(o->argv[0], o->argv);
    int e = errno;
    if (errfd >= 0) {
        if (write(errfd, &e, sizeof e) != (ssize_t)sizeof e)
            _exit(127);
    } else {
        fprintf(stderr, "exec %s: %s\n", o->argv[0], strerror(e));
    }
    _exit(127);
}

static int spawn_attached(const struct spate_proc_options *o, int logfd, pid_t *out)
{
    pid_t pid = fork();
    if (pid < 0)
        return SPATE_ESYS;
    if (pid == 0) {
        if (o->flags & SPATE_PROC_GROUP)
            setpgid(0, 0);
        child_exec(o, logfd, -1);
    }
    *out = pid;
    return 0;
}

/* Double fork: the grandchild is reparented to init. pipefd carries its pid;
 * execfd stays open until it has exec'd, so the caller never looks at a
 * process that is still a copy of us (under load a check of its command line
 * ran first and a healthy JVM was reported as exited). */
static int spawn_detached(const struct spate_proc_options *o, int logfd, pid_t *out)
{
    int pipefd[2], execfd[2];
    if (pipe(pipefd) != 0)
        return SPATE_ESYS;
    if (pipe(execfd) != 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        errno = e;
        return SPATE_ESYS;
    }
    if (fcntl(execfd[1], F_SETFD, FD_CLOEXEC) != 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        close(execfd[0]);
        close(execfd[1]);
        errno = e;
        return SPATE_ESYS;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        close(execfd[0]);
        close(execfd[1]);
        errno = e;
        return SPATE_ESYS;
    }
    if (pid == 0) {
        close(pipefd[0]);
        close(execfd[0]);
        setsid();
        pid_t child = fork();
        if (child != 0) {
            if (write(pipefd[1], &child, sizeof child) != (ssize_t)sizeof child)
                _exit(1);
            _exit(child > 0 ? 0 : 1);
        }
        close(pipefd[1]);
        child_exec(o, logfd, execfd[1]);
    }
    close(pipefd[1]);
    close(execfd[1]);
    pid_t child = -1;
    if (read(pipefd[0], &child, sizeof child) != (ssize_t)sizeof child)
        child = -1;
    close(pipefd[0]);
    int st;
    spate_proc_wait(pid, &st, 0);
    int e = 0;
    ssize_t n;
    while ((n = read(execfd[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(execfd[0]);
    if (n == (ssize_t)sizeof e) {
        errno = e;
        return SPATE_ESYS;
    }
    if (child <= 0) {
        errno = ECHILD;
        return SPATE_ESYS;
    }
    *out = child;
    return 0;
}

int spate_proc_spawn(const struct spate_proc_options *o, pid_t *pid)
{
    int logfd = -1;
    if (o->log_path) {
        logfd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (logfd < 0)
            return SPATE_ESYS;
    }
    fflush(stdout);
    fflush(stderr);
    int rc = (o->flags & SPATE_PROC_DETACH) ? spawn_detached(o, logfd, pid)
                                            : spawn_attached(o, logfd, pid);
    if (logfd >= 0) {
        int e = errno;
        close(logfd);
        errno = e;
    }
    return rc;
}

int spate_proc_wait(pid_t pid, int *status, int flags)
{
    for (;;) {
        pid_t r = waitpid(pid, status, flags);
        if (r == pid)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return SPATE_ESYS;
    }
}

int spate_proc_exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* ---- /proc ---------------------------------------------------------------------------- */

int spate_self_exe(char *out, size_t size)
{
    if (size < 2)
        return SPATE_EINVAL;
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0)
        return SPATE_ESYS;
    out[n] = '\0';
    return 0;
}

int64_t spate_proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int cmp_row(const void *a, const void *b)
{
    const struct spate_proc_row *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

void spate_proc_scan(struct spate_proc_table *t)
{
    t->n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return;
    long page_kb = sysconf(_SC_PAGESIZE) / 1024;
    size_t max = sizeof t->row / sizeof t->row[0];
    struct dirent *e;
    while ((e = readdir(d)) && t->n < max) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = '\0';
        char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        int pp = 0;
        long long r = 0;
        /* after ")": state ppid ... rss is the 24th field overall */
        if (!p || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                                "%*d %*d %*d %*u %*u %lld", &pp, &r) != 2)
            continue;
        t->row[t->n++] = (struct spate_proc_row){(pid_t)atoi(e->d_name), (pid_t)pp, r * page_kb};
    }
    closedir(d);
    qsort(t->row, t->n, sizeof t->row[0], cmp_row);
}

int64_t spate_proc_tree_rss_kb(const struct spate_proc_table *t, pid_t root)
{
    int64_t sum = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct spate_proc_row *r = &t->row[i];
        for (int depth = 0; r && depth < 64; depth++) {
            if (r->pid == root) {
                sum += t->row[i].rss_kb;
                break;
            }
            struct spate_proc_row key = {.pid = r->ppid};
            r = r->ppid > 0 ? bsearch(&key, t->row, t->n, sizeof t->row[0], cmp_row) : NULL;
        }
    }
    return sum;
}

void spate_print_tail(FILE *out, const char *path, int n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(out, "    (no log at %s)\n", path);
        return;
    }
    if (n < 1) {
        fclose(f);
        return;
    }
    /* Keep a ring of the last n lines; logs can be large. */
    char **ring = calloc((size_t)n, sizeof *ring);
    char line[1024];
    int count = 0;
    while (ring && fgets(line, sizeof line, f)) {
        free(ring[count % n]);
        ring[count % n] = strdup(line);
        count++;
    }
    fclose(f);
    fprintf(out, "    --- last lines of %s ---\n", path);
    for (int i = count > n ? count - n : 0; ring && i < count; i++) {
        const char *l = ring[i % n];
        fprintf(out, "    %s%s", l ? l : "", l && *l && l[strlen(l) - 1] == '\n' ? "" : "\n");
    }
    for (int i = 0; ring && i < n; i++)
        free(ring[i]);
    free(ring);
}
