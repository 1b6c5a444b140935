/* SPDX-License-Identifier: Apache-2.0 */
/* supervise.c -- start, watch and stop the pipeline's stages as child processes. */
#include "spate/pipeline.h"

#include "spate/error.h"
#include "spate/stack.h"
#include "spate/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int stage_start(struct stage_proc *p)
{
    int fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return SPATE_ESYS;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return SPATE_ESYS;
    }
    if (pid == 0) {
        /* Own process group: a Ctrl-C in the terminal reaches only `spate
         * run`, which then stops the stages in order. */
        setpgid(0, 0);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        dup2(fd, 1);
        dup2(fd, 2);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        execvp(p->argv[0], p->argv);
        fprintf(stderr, "exec %s: %s\n", p->argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    p->pid = pid;
    p->started_ms = spate_mono_ms();
    p->stopping = 0;
    p->finished = 0;
    return 0;
}

int stage_reap(struct stage_proc *p)
{
    if (p->pid <= 0)
        return 0;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        /* Nothing of the stage may outlive it: its group (e.g. the JVM a
         * PySpark driver started) goes with it. */
        kill(-p->pid, SIGKILL);
        p->pid = 0;
        p->last_status = st;
        return 1;
    }
    return 0;
}

int stage_stop(struct stage_proc *p, int timeout_ms)
{
    if (p->pid <= 0)
        return 0;
    p->stopping = 1;
    kill(p->pid, SIGTERM);
    int64_t deadline = spate_mono_ms() + timeout_ms;
    while (spate_mono_ms() < deadline) {
        if (stage_reap(p))
            return 0;
        spate_sleep_ms(50);
    }
    /* the whole group: a stage's own children (Spark's JVM) go too */
    kill(-p->pid, SIGKILL);
    kill(p->pid, SIGKILL);
    int st;
    waitpid(p->pid, &st, 0);
    p->last_status = st;
    p->pid = 0;
    return SPATE_ETIMEDOUT;
}

int64_t stage_backoff_ms(struct stage_proc *p, int64_t now_ms)
{
    if (now_ms - p->started_ms >= STAGE_HEALTHY_MS)
        p->quick_deaths = 0;
    int n = p->quick_deaths < 5 ? p->quick_deaths : 5;
    p->quick_deaths++;
    int64_t ms = 1000LL << n;
    return ms > 30000 ? 30000 : ms;
}

void stage_print_tail(const struct stage_proc *p, int n)
{
    stack_print_tail(p->log_path, n);
}
