/* SPDX-License-Identifier: Apache-2.0 */
/* log.h -- leveled logging to stderr, one line per event, for every command. */
#ifndef SPATE_LOG_H
#define SPATE_LOG_H

#include <stdarg.h>

enum spate_log_level {
    SPATE_LOG_DEBUG = 0,
    SPATE_LOG_INFO = 1,
    SPATE_LOG_WARN = 2,
    SPATE_LOG_ERROR = 3,
    SPATE_LOG_OFF = 4,
};

/* The level and format are process-wide: they are set once by the CLI from the
 * config or flags, before threads start. json=1 writes one JSON object a line. */
void spate_log_set_level(enum spate_log_level level);
enum spate_log_level spate_log_get_level(void);
void spate_log_set_json(int json);
/* Parse "debug|info|warn|error|off"; returns 0 or SPATE_EINVAL. */
int spate_log_level_parse(const char *name, enum spate_log_level *out);

/* component is a short module name ("ingest", "stack"); thread-safe. */
void spate_log(enum spate_log_level level, const char *component,
               const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void spate_vlog(enum spate_log_level level, const char *component,
                const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#define SPATE_DEBUG(comp, ...) spate_log(SPATE_LOG_DEBUG, comp, __VA_ARGS__)
#define SPATE_INFO(comp, ...) spate_log(SPATE_LOG_INFO, comp, __VA_ARGS__)
#define SPATE_WARN(comp, ...) spate_log(SPATE_LOG_WARN, comp, __VA_ARGS__)
#define SPATE_ERROR(comp, ...) spate_log(SPATE_LOG_ERROR, comp, __VA_ARGS__)

#endif
