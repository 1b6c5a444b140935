/* SPDX-License-Identifier: Apache-2.0 */
/* stack_internal.h -- helpers shared by the stack module's files. */
#ifndef SPATE_STACK_INTERNAL_H
#define SPATE_STACK_INTERNAL_H

#include "spate/config.h"

#include <stddef.h>
#include <stdio.h>

int stack__lib_dir(char *out, size_t outlen);
/* 0 when the broker answers a metadata request within timeout_ms. */
int stack__probe_kafka(const char *host, int port, int timeout_ms, char *err, size_t errlen);
/* 0 when a CQL v4 STARTUP is answered with READY (or AUTHENTICATE). */
int stack__probe_cql(const char *host, int port, int timeout_ms, char *err, size_t errlen);

/* Runs argv in the foreground, output appended to logfile; its exit status. */
int stack__run_wait(char *const argv[], const char *logfile);

/* stack_secure.c: 1 when the state folder holds a --secure stack. */
int stack__secure(const struct spate_config *cfg);
/* Lines appended to server.properties / cassandra.yaml of a secure stack. */
int stack__secure_kafka_properties(const struct spate_config *cfg, char *out, size_t outlen);
int stack__secure_cassandra_yaml(const struct spate_config *cfg, char *out, size_t outlen);
/* The --add-scram values of the first storage format (the broker's user, ours). */
int stack__secure_scram_args(const struct spate_config *cfg, char *admin, char *user,
                             size_t len);
/* Readiness over SASL_SSL / TLS with the stack's own CA and users. */
int stack__secure_probe_kafka(const struct spate_config *cfg, int timeout_ms, char *err,
                              size_t errlen);
int stack__secure_probe_cql(const struct spate_config *cfg, int timeout_ms, char *err,
                            size_t errlen);
/* First start only: creates the Cassandra login role. 0 or a code (printed). */
int stack__secure_after_ready(const struct spate_config *cfg, int timeout_s);

#endif
