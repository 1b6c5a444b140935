/* SPDX-License-Identifier: Apache-2.0 */
/* stack_internal.h -- helpers shared by the stack module's files. */
#ifndef SPATE_STACK_INTERNAL_H
#define SPATE_STACK_INTERNAL_H

#include "spate/config.h"

#include <stddef.h>

int stack__lib_dir(char *out, size_t outlen);
/* 0 when the broker answers a metadata request within timeout_ms. */
int stack__probe_kafka(const char *host, int port, int timeout_ms, char *err, size_t errlen);
/* 0 when a CQL v4 STARTUP is answered with READY (or AUTHENTICATE). */
int stack__probe_cql(const char *host, int port, int timeout_ms, char *err, size_t errlen);

#endif
