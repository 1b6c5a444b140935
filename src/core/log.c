/* SPDX-License-Identifier: Apache-2.0 */
/* log.c -- leveled, timestamped, thread-safe log lines on stderr. */
#include "spate/log.h"

#include "spate/text.h"
#include "spate/util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum spate_log_level log_level = SPATE_LOG_INFO;
static int log_json;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void spate_log_set_level(enum spate_log_level level) { log_level = level; }
enum spate_log_level spate_log_get_level(void) { return log_level; }
void spate_log_set_json(int json) { log_json = json; }

int spate_log_level_parse(const char *name, enum spate_log_level *out)
{
    for (int i = 0; i <= SPATE_LOG_OFF; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum spate_log_level)i;
            return 0;
        }
    }
    return -3; /* SPATE_EINVAL; kept literal so log.c has no dependencies */
}


void spate_vlog(enum spate_log_level level, const char *component,
                const char *fmt, va_list ap)
{
    if (level < log_level || level >= SPATE_LOG_OFF)
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

    pthread_mutex_lock(&log_lock);
    if (log_json) {
        struct spate_buf line = {0};
        spate_buf_appendf(&line, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"component\":",
                          when, ts.tv_nsec / 1000000, level_names[level]);
        spate_json_escape(&line, component, strlen(component));
        spate_buf_append(&line, ",\"msg\":", 7);
        spate_json_escape(&line, msg, strlen(msg));
        spate_buf_append(&line, "}\n", 2);
        if (line.data)
            fwrite(line.data, 1, line.len, stderr);
        spate_buf_free(&line);
    } else {
        fprintf(stderr, "%s.%03ldZ %-5s %-7s %s\n", when, ts.tv_nsec / 1000000,
                level_names[level], component, msg);
    }
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

void spate_log(enum spate_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    spate_vlog(level, component, fmt, ap);
    va_end(ap);
}
