/* SPDX-License-Identifier: Apache-2.0 */
/* stack.h -- the local single-node Kafka (KRaft) and Cassandra, as processes. */
#ifndef SPATE_STACK_H
#define SPATE_STACK_H

#include "spate/config.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum stack_service { STACK_KAFKA = 0, STACK_CASSANDRA = 1, STACK_NSERVICES = 2 };

struct stack_status {
    const char *name; /* "kafka", "cassandra" */
    pid_t pid;        /* 0 when not running */
    int running;      /* process alive and ours */
    int ready;        /* answers clients */
    int stale;        /* pid file pointed at a dead or foreign process */
    int port;
    int64_t uptime_s;
    int64_t rss_kb;
    char log_path[512];
};

/* The absolute state folder: stack.data_dir, relative paths taken from the
 * working directory. 0, SPATE_ESYS or SPATE_ETOOBIG. */
int stack_state_dir(const struct spate_config *cfg, char *out, size_t outlen);
/* Start what is not running and wait until both answer clients (Kafka a
 * metadata request, Cassandra a CQL STARTUP/READY). Harmless when already up.
 * On failure returns a SPATE_E* code, prints why (with the failing service's
 * last log lines) and stops what this call started. */
int stack_up(const struct spate_config *cfg, int quiet);
/* SIGTERM each service, wait stack.stop_timeout, then SIGKILL; by pid only.
 * Returns 0 when no process of the stack is left. */
int stack_down(const struct spate_config *cfg, int quiet);
/* Prepares a secured stack in the state folder (once): a CA and a server
 * certificate made with openssl, generated users and passwords, all under
 * <state>/secure (0700, files 0600). stack_up then starts Kafka on SASL_SSL
 * (SCRAM-SHA-512) and Cassandra with PasswordAuthenticator and client TLS.
 * SPATE_ESTATE (printed) when the folder already holds a plain stack. */
int stack_secure_init(const struct spate_config *cfg);
/* For `stack status`: how a client connects to a secure stack (nothing when
 * the stack is plain). */
void stack_secure_describe(const struct spate_config *cfg, FILE *f);
/* Fill one status per service (array of STACK_NSERVICES). */
int stack_status(const struct spate_config *cfg, struct stack_status *out);
/* The pid of a running service of this stack (checked by its marker, no
 * probe: cheap enough to call every second), or 0. */
pid_t stack_pid(const struct spate_config *cfg, enum stack_service svc);
/* stack.nodes > 1 (`spate stack up --nodes N`) runs a cluster: node i's Kafka
 * broker and Cassandra node listen on the i-th address from stack.host
 * (127.0.0.1 .. 127.0.0.N) on the ports of the config; state, data and logs in
 * <data_dir>/node<i>/{kafka,cassandra}. stack_up starts what is not running
 * (a killed node comes back), stack_down stops every node of the folder. */
#define STACK_MAX_NODES 9
/* Status of everything the state folder holds: the single node's services
 * (unless only a cluster is there) and each node's. Returns the count filled,
 * at most max (2 + 2 * STACK_MAX_NODES covers all). Names stay valid until
 * the next call. */
int stack_status_all(const struct spate_config *cfg, struct stack_status *out, int max);
/* The pid of node's (1-based) service of the cluster in the state folder, or 0. */
pid_t stack_node_pid(const struct spate_config *cfg, enum stack_service svc, int node);
/* Absolute path of a service's main log file. */
int stack_log_path(const struct spate_config *cfg, enum stack_service svc, char *out,
                   size_t outlen);
/* Print the last n lines of a file to stderr, indented (diagnostics). */
void stack_print_tail(const char *path, int n);

#endif
