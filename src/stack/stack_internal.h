/* SPDX-License-Identifier: Apache-2.0 */
/* stack_internal.h -- helpers shared by the stack module's files. */
#ifndef SPATE_STACK_INTERNAL_H
#define SPATE_STACK_INTERNAL_H

#include "spate/config.h"
#include "spate/proc.h"
#include "spate/stack.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

/* The shared argv builder (spate/proc.h), under the name the stack's many
 * command lines use. */
#define argv_builder spate_argv

int stack__lib_dir(char *out, size_t outlen);
/* 0 when the broker answers a metadata request within timeout_ms. */
int stack__probe_kafka(const char *host, int port, int timeout_ms, char *err, size_t errlen);
/* Same, and the metadata lists at least brokers brokers (a cluster's members). */
int stack__probe_kafka_brokers(const char *host, int port, int brokers, int timeout_ms, char *err,
                               size_t errlen);
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

/* stack.c's helpers, for stack_cluster.c (same contracts as the static ones). */
int stack__mkdirs(const char *path);
/* Cassandra's logback.xml in dir (logs under dir/logs): one node or a cluster's. */
int stack__write_cassandra_logback(const char *dir);
/* Kafka's log4j2.properties in dir (logs under dir/logs). */
int stack__write_kafka_log4j(const char *dir);
int stack__write_file(const char *path, const char *text);
pid_t stack__read_pid(const char *path);
int stack__pid_is_ours(pid_t pid, const char *marker);
int64_t stack__rss_kb(pid_t pid);
int64_t stack__uptime_s(pid_t pid);
int stack__port_free(const char *host, int port);
void stack__find_java(const struct spate_config *cfg, char *out, size_t outlen);
int stack__classpath(const char *libdir, const char *svc, char *out, size_t outlen);
void stack__cluster_id(char out[23]);
const char *const *stack__cassandra_jdk17_flags(void);
void stack__argv_add(struct argv_builder *b, const char *s);
void stack__argv_free(struct argv_builder *b);
pid_t stack__spawn_detached(char *const argv[], const char *logfile, const char *cwd);
int stack__stop_pid(pid_t pid, const char *marker, int timeout_s, const char *name, int quiet);

/* stack_cluster.c: stack.nodes > 1. Nodes of the cluster in the state folder, 0 if none. */
int stack__cluster_nodes(const struct spate_config *cfg);
int stack__cluster_up(const struct spate_config *cfg, int quiet);
/* Stops every node of a cluster in the state folder; 0 when there is none. */
int stack__cluster_down(const struct spate_config *cfg, int quiet);

#endif
