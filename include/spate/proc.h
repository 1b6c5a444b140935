/* SPDX-License-Identifier: Apache-2.0 */
/* proc.h -- child processes: argv building, spawning, waiting, the binary's own path, RSS, log tails. */
#ifndef SPATE_PROC_H
#define SPATE_PROC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* A growable, NULL-terminated argv of heap strings. Zero-initialize; free with
 * spate_argv_free. An allocation failure is sticky (oom) and adds nothing, so
 * a caller checks once, after building. */
struct spate_argv {
    char **argv; /* NULL until the first add; then argv[argc] == NULL */
    int argc;
    int cap;
    int oom;
};
void spate_argv_add(struct spate_argv *a, const char *s);
void spate_argv_addf(struct spate_argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void spate_argv_vaddf(struct spate_argv *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void spate_argv_free(struct spate_argv *a);

/* How to start a process (libuv's uv_process_options_t, the parts we use). */
enum {
    SPATE_PROC_PATH = 1 << 0,     /* look argv[0] up in PATH (execvp) */
    SPATE_PROC_GROUP = 1 << 1,    /* own process group: the terminal's Ctrl-C reaches
                                   * only us, and killing -pid takes its children too */
    SPATE_PROC_DETACH = 1 << 2,   /* own session and reparented to init (double fork):
                                   * outlives us, never our zombie; pid is the grandchild */
    SPATE_PROC_NULL_STDIN = 1 << 3,
    SPATE_PROC_DEFAULT_SIGNALS = 1 << 4, /* SIGINT, SIGTERM, SIGPIPE back to default */
};
struct spate_proc_options {
    char *const *argv;    /* argv[0] is the program */
    const char *cwd;      /* NULL = ours */
    const char *log_path; /* stdout and stderr appended here; NULL = ours */
    unsigned flags;       /* SPATE_PROC_* */
};
/* Starts a process. *pid gets its pid. Returns 0, or SPATE_ESYS with errno
 * saved (the log cannot be opened, fork fails; with DETACH also an exec
 * failure). Without DETACH a failed exec shows as exit status 127 with the
 * reason in the log. Flushes stdout and stderr first, so the child does not
 * inherit unwritten output. */
int spate_proc_spawn(const struct spate_proc_options *o, pid_t *pid);

/* waitpid(pid, status, flags), retried on EINTR only (any other failure, as
 * ECHILD when SIGCHLD is ignored, returns at once). Returns 1 when the process
 * has exited (*status filled), 0 with WNOHANG while it runs, or SPATE_ESYS. */
int spate_proc_wait(pid_t pid, int *status, int flags);
/* An exit status as a shell shows it: the exit code, or 128 + the signal. */
int spate_proc_exit_code(int status);

/* The running binary's absolute path (/proc/self/exe). 0 or SPATE_ESYS. */
int spate_self_exe(char *out, size_t size);

/* Resident memory of one process in kB (0 when it is gone). */
int64_t spate_proc_rss_kb(pid_t pid);
/* One /proc scan: pid, parent and RSS of every process, sorted by pid, so the
 * RSS of a process tree is summed by walking each process's parents. About
 * 64 KB: keep it off the stack. */
struct spate_proc_table {
    size_t n;
    struct spate_proc_row {
        pid_t pid, ppid;
        int64_t rss_kb;
    } row[4096];
};
void spate_proc_scan(struct spate_proc_table *t);
/* RSS of root and all its descendants in kB. */
int64_t spate_proc_tree_rss_kb(const struct spate_proc_table *t, pid_t root);

/* Prints the last n lines of the file at path to out, indented, under a
 * heading naming it (or a line saying there is no such file). */
void spate_print_tail(FILE *out, const char *path, int n);

#endif
