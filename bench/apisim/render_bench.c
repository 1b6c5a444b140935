/* SPDX-License-Identifier: Apache-2.0 */
/* render_bench.c -- users per CPU-second of apisim_render alone (no HTTP), for bench/apisim. */
#include "spate/apisim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int results = argc > 1 ? atoi(argv[1]) : 1000;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    if (results < 1 || results > APISIM_MAX_RESULTS || seconds <= 0) {
        fprintf(stderr, "usage: render_bench [RESULTS] [SECONDS]\n");
        return 2;
    }
    struct apisim_query q;
    memset(&q, 0, sizeof q);
    strcpy(q.seed, "bench");
    q.seed_given = 1;
    q.results = results;
    q.fields = APISIM_F_ALL;
    q.forced_fault = -1;
    struct spate_buf b = {0};
    unsigned long long users = 0, bytes = 0;
    double t0 = cpu_s(), t;
    do {
        q.page++;
        b.len = 0;
        if (apisim_render(&q, &b, NULL) != 0)
            return 1;
        users += (unsigned long long)results;
        bytes += b.len;
    } while ((t = cpu_s() - t0) < seconds);
    printf("render results=%d: %.0f users per CPU-second, %.0f bytes/user\n", results,
           (double)users / t, (double)bytes / (double)users);
    spate_buf_free(&b);
    return 0;
}
