/* SPDX-License-Identifier: Apache-2.0 */
/* supervise.c -- start, watch and stop the pipeline's stages as child processes. */
#include "spate/flow.h"

#include "spate/error.h"
#include "spate/proc.h"
#include "spate/util.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

int flow_stage_start(struct flow_stage *p)
{
    /* Own process group: a Ctrl-C in the terminal reaches only `spate run`,
     * which then stops the stages in order. */
    struct spate_proc_options o = {
        .argv = p->argv,
        .log_path = p->log_path,
        .flags = SPATE_PROC_PATH | SPATE_PROC_GROUP | SPATE_PROC_NULL_STDIN |
                 SPATE_PROC_DEFAULT_SIGNALS,
    };
    pid_t pid;
    int rc = spate_proc_spawn(&o, &pid);
    if (rc)
        return rc;
    p->pid = pid;
    p->started_ms = spate_mono_ms();
    p->stopping = 0;
    p->finished = 0;
    return 0;
}

int flow_stage_reap(struct flow_stage *p)
{
    if (p->pid <= 0)
        return 0;
    int st;
    if (spate_proc_wait(p->pid, &st, WNOHANG) == 1) {
        /* Nothing of the stage may outlive it: its group (e.g. the JVM a
         * PySpark driver started) goes with it. */
        kill(-p->pid, SIGKILL);
        p->pid = 0;
        p->last_status = st;
        return 1;
    }
    return 0;
}

int64_t flow_stage_backoff_ms(struct flow_stage *p, int64_t now_ms)
{
    if (now_ms - p->started_ms >= FLOW_STAGE_HEALTHY_MS)
        p->quick_deaths = 0;
    p->quick_deaths++;
    return spate_backoff_ms(p->quick_deaths < 6 ? p->quick_deaths : 6, 1000, 30000, NULL);
}

int flow_stage_stop(struct flow_stage *p, int timeout_ms)
{
    if (p->pid <= 0)
        return 0;
    p->stopping = 1;
    kill(p->pid, SIGTERM);
    int64_t deadline = spate_mono_ms() + timeout_ms;
    while (spate_mono_ms() < deadline) {
        if (flow_stage_reap(p))
            return 0;
        spate_sleep_ms(50);
    }
    /* the whole group: a stage's own children (Spark's JVM) go too */
    kill(-p->pid, SIGKILL);
    kill(p->pid, SIGKILL);
    int st = 0;
    if (spate_proc_wait(p->pid, &st, 0) != 1)
        st = SIGKILL; /* reaped elsewhere: report it as killed */
    p->last_status = st;
    p->pid = 0;
    return SPATE_ETIMEDOUT;
}

void flow_stage_print_tail(const struct flow_stage *p, int n)
{
    spate_print_tail(stderr, p->log_path, n);
}
