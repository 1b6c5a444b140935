/* SPDX-License-Identifier: Apache-2.0 */
/* stack_cluster.c -- `spate stack up --nodes N`: N Kafka brokers and N Cassandra nodes on 127.0.0.x. */
#include "spate/cql.h"
#include "spate/error.h"
#include "spate/log.h"
#include "spate/stack.h"
#include "spate/util.h"
#include "stack_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Node i (1-based) of a cluster lives in <state>/node<i>/{kafka,cassandra} and
 * listens on the i-th address from stack.host, on the same ports as its peers:
 * on Linux all of 127.0.0.0/8 is loopback, so three JVMs of one kind differ by
 * address alone, as they would on three machines. One digit of node number
 * keeps the process markers distinct (node1 is no prefix of node2, nor of the
 * single node's <state>/kafka). */

enum { MAX_SVC = 2 * STACK_MAX_NODES };

struct node_svc {
    enum stack_service svc;
    int node; /* 1-based */
    char host[INET_ADDRSTRLEN];
    char dir[PATH_MAX];
    char marker[PATH_MAX + 32];
    pid_t pid;
    int started; /* by this call */
    int fresh;   /* no data before this call (a Cassandra node that must join) */
    int ready;
};

static const char *svc_name(enum stack_service s)
{
    return s == STACK_KAFKA ? "kafka" : "cassandra";
}

/* Replication a cluster of n nodes can hold, and the in-sync floor under it
 * that still lets one node be lost: 3 and 2 from three nodes on. */
static int cluster_rf(int n)
{
    return n < 3 ? n : 3;
}

static int cluster_min_isr(int n)
{
    return cluster_rf(n) > 2 ? 2 : 1;
}

static int node_host(const struct spate_config *cfg, int node, char *out, size_t outlen)
{
    struct in_addr a;
    if (inet_pton(AF_INET, cfg->stack.host, &a) != 1)
        return SPATE_EINVAL;
    uint32_t h = ntohl(a.s_addr);
    if ((h & 0xff) + (uint32_t)node - 1 > 254)
        return SPATE_EINVAL;
    a.s_addr = htonl(h + (uint32_t)node - 1);
    return inet_ntop(AF_INET, &a, out, (socklen_t)outlen) ? 0 : SPATE_EINVAL;
}

static int state_file(const struct spate_config *cfg, const char *leaf, char *out, size_t outlen)
{
    char state[PATH_MAX];
    int rc = stack_state_dir(cfg, state, sizeof state);
    if (rc)
        return rc;
    if ((size_t)snprintf(out, outlen, "%s/%s", state, leaf) >= outlen)
        return SPATE_ETOOBIG;
    return 0;
}

/* The node count of the cluster this state folder holds, 0 when none. */
static int cluster_in_state(const struct spate_config *cfg)
{
    char path[PATH_MAX];
    if (state_file(cfg, "cluster.nodes", path, sizeof path))
        return 0;
    pid_t n = stack__read_pid(path); /* a small positive integer, same format */
    return n >= 1 && n <= STACK_MAX_NODES ? (int)n : 0;
}

static int svc_init(const struct spate_config *cfg, enum stack_service s, int node,
                    struct node_svc *o)
{
    memset(o, 0, sizeof *o);
    o->svc = s;
    o->node = node;
    char leaf[32];
    snprintf(leaf, sizeof leaf, "node%d/%s", node, svc_name(s));
    int rc = state_file(cfg, leaf, o->dir, sizeof o->dir);
    if (rc)
        return rc;
    if ((rc = node_host(cfg, node, o->host, sizeof o->host)) != 0)
        return rc;
    snprintf(o->marker, sizeof o->marker, "-Dspate.stack=%s", o->dir);
    char pf[PATH_MAX + 8];
    snprintf(pf, sizeof pf, "%s/pid", o->dir);
    pid_t pid = stack__read_pid(pf);
    o->pid = pid && stack__pid_is_ours(pid, o->marker) ? pid : 0;
    return 0;
}

static int svc_port(const struct spate_config *cfg, const struct node_svc *o)
{
    return o->svc == STACK_KAFKA ? cfg->stack.kafka_port : cfg->stack.cassandra_port;
}

static void pid_path(const struct node_svc *o, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/pid", o->dir);
}

static void svc_log(const struct node_svc *o, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/logs/stdout.log", o->dir);
}

/* ---- configuration files ------------------------------------------------------ */

static int write_kafka(const struct spate_config *cfg, const struct node_svc *o, int n)
{
    const struct spate_stack_config *st = &cfg->stack;
    char voters[1024] = "";
    size_t used = 0;
    for (int i = 1; i <= n; i++) {
        char h[INET_ADDRSTRLEN];
        node_host(cfg, i, h, sizeof h);
        used += (size_t)snprintf(voters + used, sizeof voters - used, "%s%d@%s:%d",
                                 i > 1 ? "," : "", i, h, st->kafka_controller_port);
    }
    int rf = cluster_rf(n), isr = cluster_min_isr(n);
    char text[4096], path[PATH_MAX + 32];
    snprintf(text, sizeof text,
             "# Written by spate stack up --nodes %d; edits are overwritten. Every node is\n"
             "# broker and controller; the controller quorum is static.\n"
             "process.roles=broker,controller\n"
             "node.id=%d\n"
             "controller.quorum.voters=%s\n"
             "listeners=PLAINTEXT://%s:%d,CONTROLLER://%s:%d\n"
             "advertised.listeners=PLAINTEXT://%s:%d\n"
             "controller.listener.names=CONTROLLER\n"
             "inter.broker.listener.name=PLAINTEXT\n"
             "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
             "log.dirs=%s/data\n"
             "num.partitions=%d\n"
             "# a topic anyone creates survives a broker; acks=all needs %d copies\n"
             "default.replication.factor=%d\n"
             "min.insync.replicas=%d\n"
             "offsets.topic.replication.factor=%d\n"
             "offsets.topic.num.partitions=12\n"
             "transaction.state.log.replication.factor=%d\n"
             "transaction.state.log.min.isr=%d\n"
             "share.coordinator.state.topic.replication.factor=%d\n"
             "share.coordinator.state.topic.min.isr=%d\n"
             "unclean.leader.election.enable=false\n"
             "group.initial.rebalance.delay.ms=0\n"
             "auto.create.topics.enable=true\n"
             "log.retention.hours=168\n"
             "num.network.threads=2\n"
             "num.io.threads=2\n"
             "num.replica.fetchers=1\n",
             n, o->node, voters, o->host, st->kafka_port, o->host, st->kafka_controller_port,
             o->host, st->kafka_port, o->dir, cfg->kafka.partitions, isr, rf, isr, rf, rf, isr,
             rf, isr);
    snprintf(path, sizeof path, "%s/server.properties", o->dir);
    int rc = stack__write_file(path, text);
    if (rc)
        return rc;
    return stack__write_kafka_log4j(o->dir);
}

static int write_cassandra(const struct spate_config *cfg, const struct node_svc *o, int n)
{
    const struct spate_stack_config *st = &cfg->stack;
    char seed[INET_ADDRSTRLEN];
    node_host(cfg, 1, seed, sizeof seed);
    const char *d = o->dir;
    char text[8192], path[PATH_MAX + 32];
    /* periodic, unlike one node's batch: a LOCAL_QUORUM write is on two of
     * three nodes, so one node killed with -9 forgetting its last ~100 ms
     * loses no row (the others and hints still have it) */
    snprintf(text, sizeof text,
             "# Written by spate stack up --nodes %d; edits are overwritten.\n"
             "cluster_name: spate\n"
             "num_tokens: 16\n"
             "# spread each node's tokens for keyspaces of this replication\n"
             "allocate_tokens_for_local_replication_factor: %d\n"
             "partitioner: org.apache.cassandra.dht.Murmur3Partitioner\n"
             "data_file_directories:\n"
             "  - %s/data/data\n"
             "commitlog_directory: %s/data/commitlog\n"
             "saved_caches_directory: %s/data/saved_caches\n"
             "hints_directory: %s/data/hints\n"
             "cdc_raw_directory: %s/data/cdc_raw\n"
             "commitlog_sync: periodic\n"
             "commitlog_sync_period: 10000ms\n"
             "seed_provider:\n"
             "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
             "    parameters:\n"
             "      - seeds: \"%s:%d\"\n"
             "listen_address: %s\n"
             "rpc_address: %s\n"
             "storage_port: %d\n"
             "native_transport_port: %d\n"
             "start_native_transport: true\n"
             "endpoint_snitch: SimpleSnitch\n"
             "authenticator: AllowAllAuthenticator\n"
             "authorizer: AllowAllAuthorizer\n"
             "auto_snapshot: false\n"
             "disk_failure_policy: stop\n"
             "commit_failure_policy: stop\n"
             "concurrent_reads: 8\n"
             "concurrent_writes: 16\n"
             "concurrent_counter_writes: 8\n"
             "native_transport_max_threads: 32\n"
             "# several nodes share one small machine: keep memtables and caches small\n"
             "memtable_heap_space: 64MiB\n"
             "memtable_offheap_space: 64MiB\n"
             "key_cache_size: 16MiB\n"
             "write_request_timeout: 5000ms\n"
             "read_request_timeout: 10000ms\n"
             "range_request_timeout: 20000ms\n"
             "request_timeout: 20000ms\n"
             "batch_size_warn_threshold: 64KiB\n"
             "batch_size_fail_threshold: 640KiB\n"
             "unlogged_batch_across_partitions_warn_threshold: 1000\n",
             n, cluster_rf(n), d, d, d, d, d, seed, st->cassandra_storage_port, o->host, o->host,
             st->cassandra_storage_port, st->cassandra_port);
    /* as for the single node: tests append settings (a later key wins) */
    const char *extra = getenv("SPATE_CASSANDRA_EXTRA_YAML");
    if (extra && *extra) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, "%s\n", extra);
    }
    snprintf(path, sizeof path, "%s/cassandra.yaml", d);
    int rc = stack__write_file(path, text);
    if (rc)
        return rc;
    return stack__write_cassandra_logback(d);
}

/* ---- processes ------------------------------------------------------------------ */

static void arg(struct argv_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv_builder *b, const char *fmt, ...)
{
    /* class paths run to tens of kilobytes */
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        vsnprintf(s, (size_t)n + 1, fmt, ap2);
        stack__argv_add(b, s);
    }
    va_end(ap2);
    free(s);
}

static void jvm_common(struct argv_builder *b, const char *java, const struct node_svc *o,
                       int heap_mb)
{
    arg(b, "%s", java);
    arg(b, "%s", o->marker);
    arg(b, "-Xms%dm", heap_mb);
    arg(b, "-Xmx%dm", heap_mb);
    arg(b, "-XX:+UseG1GC");
    arg(b, "-Djava.awt.headless=true");
    arg(b, "-Djava.net.preferIPv4Stack=true");
}

/* Format the node's KRaft log once, with the id every node of the cluster shares. */
static int format_kafka(const char *java, const char *cp, const struct node_svc *o,
                        const char *cluster_id)
{
    char meta[PATH_MAX + 32], log[PATH_MAX + 32];
    snprintf(meta, sizeof meta, "%s/data/meta.properties", o->dir);
    if (access(meta, F_OK) == 0)
        return 0;
    snprintf(log, sizeof log, "%s/logs/stdout.log", o->dir);
    struct argv_builder b = {0};
    arg(&b, "%s", java);
    arg(&b, "-Xmx192m");
    arg(&b, "-Dlog4j2.configurationFile=%s/log4j2.properties", o->dir);
    arg(&b, "-cp");
    arg(&b, "%s", cp);
    arg(&b, "kafka.tools.StorageTool");
    arg(&b, "format");
    arg(&b, "--cluster-id");
    arg(&b, "%s", cluster_id);
    arg(&b, "--config");
    arg(&b, "%s/server.properties", o->dir);
    int st = stack__run_wait(b.argv, log);
    stack__argv_free(&b);
    if (st != 0) {
        SPATE_ERROR("stack", "Kafka storage format of node %d failed (exit %d)", o->node, st);
        stack_print_tail(log, 20);
        return SPATE_EUNAVAILABLE;
    }
    return 0;
}

static pid_t spawn_kafka(const struct spate_config *cfg, const char *java, const char *cp,
                         const struct node_svc *o)
{
    char log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/logs/stdout.log", o->dir);
    struct argv_builder b = {0};
    jvm_common(&b, java, o, cfg->stack.kafka_heap_mb);
    arg(&b, "-XX:MaxGCPauseMillis=20");
    arg(&b, "-XX:TieredStopAtLevel=1");
    arg(&b, "-Dkafka.logs.dir=%s/logs", o->dir);
    arg(&b, "-Dlog4j2.configurationFile=%s/log4j2.properties", o->dir);
    arg(&b, "-cp");
    arg(&b, "%s", cp);
    arg(&b, "kafka.Kafka");
    arg(&b, "%s/server.properties", o->dir);
    pid_t pid = stack__spawn_detached(b.argv, log, o->dir);
    stack__argv_free(&b);
    return pid;
}

static pid_t spawn_cassandra(const struct spate_config *cfg, const char *java, const char *cp,
                             const char *jamm, const struct node_svc *o)
{
    char log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/logs/stdout.log", o->dir);
    struct argv_builder b = {0};
    jvm_common(&b, java, o, cfg->stack.cassandra_heap_mb);
    arg(&b, "-Xss256k");
    arg(&b, "-XX:MaxGCPauseMillis=200");
    arg(&b, "-XX:+ParallelRefProcEnabled");
    arg(&b, "-XX:-UseBiasedLocking");
    for (const char *const *f = stack__cassandra_jdk17_flags(); *f; f++)
        arg(&b, "%s", *f);
    arg(&b, "-javaagent:%s", jamm);
    arg(&b, "-Djdk.attach.allowAttachSelf=true");
    arg(&b, "-Dio.netty.tryReflectionSetAccessible=true");
    arg(&b, "-Dcassandra.config=file://%s/cassandra.yaml", o->dir);
    arg(&b, "-Dcassandra.storagedir=%s/data", o->dir);
    arg(&b, "-Dcassandra.logdir=%s/logs", o->dir);
    arg(&b, "-Dlogback.configurationFile=%s/logback.xml", o->dir);
    arg(&b, "-Dcassandra-foreground=yes");
    arg(&b, "-Dcassandra.superuser_setup_delay_ms=0");
    if (o->node == 1 && o->fresh) {
        /* the seed of a new cluster has nobody to gossip with yet */
        arg(&b, "-Dcassandra.skip_wait_for_gossip_to_settle=0");
        arg(&b, "-Dcassandra.ring_delay_ms=1000");
    } else {
        /* a joining node must learn the ring (the others' tokens) before it
         * picks its own; on a busy machine gossip takes seconds */
        arg(&b, "-Dcassandra.ring_delay_ms=15000");
    }
    arg(&b, "-cp");
    arg(&b, "%s", cp);
    arg(&b, "org.apache.cassandra.service.CassandraDaemon");
    pid_t pid = stack__spawn_detached(b.argv, log, o->dir);
    stack__argv_free(&b);
    return pid;
}

static int probe(const struct spate_config *cfg, const struct node_svc *o, int n, char *err,
                 size_t errlen)
{
    if (o->svc == STACK_KAFKA)
        return stack__probe_kafka_brokers(o->host, cfg->stack.kafka_port, n, 1000, err, errlen);
    return cql_probe(o->host, cfg->stack.cassandra_port, 1000, err, errlen);
}

/* Wait until every service of want[] is ready, or one dies, or deadline. */
static int wait_ready(const struct spate_config *cfg, struct node_svc *svcs, int count,
                      const int *want, int n, int64_t t0, int quiet)
{
    int64_t deadline = spate_mono_ms() + (int64_t)cfg->stack.start_timeout_s * 1000;
    char err[MAX_SVC][256];
    memset(err, 0, sizeof err);
    for (;;) {
        int all = 1;
        for (int i = 0; i < count; i++) {
            struct node_svc *o = &svcs[i];
            if (!want[i] || o->ready)
                continue;
            if (!stack__pid_is_ours(o->pid, o->marker)) {
                char log[PATH_MAX + 32];
                svc_log(o, log, sizeof log);
                fprintf(stderr, "spate stack: %s of node %d (%s) exited during start-up\n",
                        svc_name(o->svc), o->node, o->host);
                stack_print_tail(log, 25);
                return SPATE_EUNAVAILABLE;
            }
            if (probe(cfg, o, n, err[i], sizeof err[i]) == 0) {
                o->ready = 1;
                if (!quiet)
                    SPATE_INFO("stack", "%s of node %d ready on %s:%d after %.1f s",
                               svc_name(o->svc), o->node, o->host, svc_port(cfg, o),
                               (double)(spate_mono_ms() - t0) / 1000.0);
            } else {
                all = 0;
            }
        }
        if (all)
            return 0;
        if (spate_mono_ms() > deadline) {
            for (int i = 0; i < count; i++) {
                if (!want[i] || svcs[i].ready)
                    continue;
                char log[PATH_MAX + 32];
                svc_log(&svcs[i], log, sizeof log);
                fprintf(stderr, "spate stack: %s of node %d not ready after %d s "
                                "(stack.start_timeout): %s\n",
                        svc_name(svcs[i].svc), svcs[i].node, cfg->stack.start_timeout_s, err[i]);
                stack_print_tail(log, 25);
            }
            return SPATE_ETIMEDOUT;
        }
        spate_sleep_ms(500);
    }
}

/* Load every service of an n-node cluster: kafka 1..n, then cassandra 1..n. */
static int load(const struct spate_config *cfg, int n, struct node_svc *svcs)
{
    for (int i = 0; i < n; i++) {
        int rc = svc_init(cfg, STACK_KAFKA, i + 1, &svcs[i]);
        rc = rc ? rc : svc_init(cfg, STACK_CASSANDRA, i + 1, &svcs[n + i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int start_one(const struct spate_config *cfg, const char *java, const char *kafka_cp,
                     const char *cass_cp, const char *jamm, struct node_svc *o, int quiet)
{
    pid_t pid = o->svc == STACK_KAFKA ? spawn_kafka(cfg, java, kafka_cp, o)
                                      : spawn_cassandra(cfg, java, cass_cp, jamm, o);
    if (pid <= 0) {
        fprintf(stderr, "spate stack: could not start %s of node %d: %s\n", svc_name(o->svc),
                o->node, strerror(errno));
        return SPATE_ESYS;
    }
    char pf[PATH_MAX + 8], text[32];
    pid_path(o, pf, sizeof pf);
    snprintf(text, sizeof text, "%d\n", (int)pid);
    stack__write_file(pf, text);
    o->pid = pid;
    o->started = 1;
    if (!quiet)
        SPATE_INFO("stack", "started %s of node %d (pid %d, %s:%d)", svc_name(o->svc), o->node,
                   (int)pid, o->host, svc_port(cfg, o));
    return 0;
}

static int check_ports(const struct spate_config *cfg, const struct node_svc *o)
{
    const struct spate_stack_config *st = &cfg->stack;
    int ports[2] = {o->svc == STACK_KAFKA ? st->kafka_port : st->cassandra_port,
                    o->svc == STACK_KAFKA ? st->kafka_controller_port
                                          : st->cassandra_storage_port};
    const char *keys[2] = {o->svc == STACK_KAFKA ? "stack.kafka_port" : "stack.cassandra_port",
                           o->svc == STACK_KAFKA ? "stack.kafka_controller_port"
                                                 : "stack.cassandra_storage_port"};
    for (int w = 0; w < 2; w++) {
        if (stack__port_free(o->host, ports[w]) != 0) {
            fprintf(stderr,
                    "spate stack: port %d (%s, for %s of node %d) on %s is already in use by "
                    "another process; stop that process or set %s to a free port\n",
                    ports[w], keys[w], svc_name(o->svc), o->node, o->host, keys[w]);
            return SPATE_EADDRINUSE;
        }
    }
    return 0;
}

static int prepare(const struct spate_config *cfg, struct node_svc *o, int n)
{
    char sub[PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/logs", o->dir);
    if (stack__mkdirs(sub))
        return SPATE_ESYS;
    snprintf(sub, sizeof sub, "%s/data", o->dir);
    if (o->svc == STACK_CASSANDRA) {
        char probe_dir[PATH_MAX + 32];
        snprintf(probe_dir, sizeof probe_dir, "%s/data/data/system", o->dir);
        o->fresh = access(probe_dir, F_OK) != 0;
        if (stack__mkdirs(sub))
            return SPATE_ESYS;
    }
    char pf[PATH_MAX + 8];
    pid_path(o, pf, sizeof pf);
    unlink(pf); /* not running (checked): whatever pid it held is stale */
    return o->svc == STACK_KAFKA ? write_kafka(cfg, o, n) : write_cassandra(cfg, o, n);
}

static int cluster_id(const struct spate_config *cfg, char out[64])
{
    char path[PATH_MAX];
    int rc = state_file(cfg, "cluster.id", path, sizeof path);
    if (rc)
        return rc;
    FILE *f = fopen(path, "r");
    if (f) {
        int ok = fscanf(f, "%63s", out) == 1;
        fclose(f);
        if (ok)
            return 0;
    }
    char id[23];
    stack__cluster_id(id);
    snprintf(out, 64, "%s", id);
    char text[40];
    snprintf(text, sizeof text, "%s\n", id);
    return stack__write_file(path, text);
}

int stack__cluster_nodes(const struct spate_config *cfg)
{
    return cluster_in_state(cfg);
}

int stack__cluster_up(const struct spate_config *cfg, int quiet)
{
    int had = cluster_in_state(cfg);
    int n = cfg->stack.nodes > 1 ? cfg->stack.nodes : had;
    char libdir[PATH_MAX], java[PATH_MAX], state[PATH_MAX];
    if (stack__lib_dir(libdir, sizeof libdir) != 0) {
        fprintf(stderr, "spate stack: the JVM artifacts are missing (no deps/lib): run "
                        "scripts/setup\n");
        return SPATE_ENOTFOUND;
    }
    char h[INET_ADDRSTRLEN];
    if (node_host(cfg, n, h, sizeof h) != 0) {
        fprintf(stderr, "spate stack: stack.nodes %d needs stack.host (%s) to be an IPv4 "
                        "address with %d addresses after it (nodes use consecutive ones)\n",
                n, cfg->stack.host, n - 1);
        return SPATE_EINVAL;
    }
    stack__find_java(cfg, java, sizeof java);
    if (stack_state_dir(cfg, state, sizeof state) || stack__mkdirs(state)) {
        fprintf(stderr, "spate stack: cannot create the state folder %s: %s\n",
                cfg->stack.data_dir, strerror(errno));
        return SPATE_ESYS;
    }
    if (had && had != n) {
        fprintf(stderr,
                "spate stack: %s holds a cluster of %d nodes, not %d: stop it and remove the "
                "folder (spate stack down; rm -r %s) or ask for %d nodes\n",
                state, had, n, state, had);
        return SPATE_ESTATE;
    }
    if (stack_pid(cfg, STACK_KAFKA) || stack_pid(cfg, STACK_CASSANDRA)) {
        fprintf(stderr, "spate stack: the single-node stack of %s is running: spate stack "
                        "down first\n", state);
        return SPATE_ESTATE;
    }
    char path[PATH_MAX], text[32];
    state_file(cfg, "cluster.nodes", path, sizeof path);
    snprintf(text, sizeof text, "%d\n", n);
    if (stack__write_file(path, text) != 0)
        return SPATE_ESYS;
    char id[64];
    if (cluster_id(cfg, id) != 0)
        return SPATE_ESYS;

    static char kafka_cp[1 << 16], cass_cp[1 << 16];
    char jamm[PATH_MAX];
    if (stack__classpath(libdir, "kafka", kafka_cp, sizeof kafka_cp) ||
        stack__classpath(libdir, "cassandra", cass_cp, sizeof cass_cp)) {
        SPATE_ERROR("stack", "no Kafka or Cassandra jars in %s: run scripts/setup", libdir);
        return SPATE_ENOTFOUND;
    }
    {
        char pattern[PATH_MAX + 32];
        snprintf(pattern, sizeof pattern, "%s/cassandra/jamm-", libdir);
        /* the agent jar is on the classpath already; find it there */
        const char *p = strstr(cass_cp, pattern);
        const char *end = p ? strchr(p, ':') : NULL;
        if (!p) {
            SPATE_ERROR("stack", "jamm agent jar missing in %s/cassandra: run scripts/setup",
                        libdir);
            return SPATE_ENOTFOUND;
        }
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= sizeof jamm)
            return SPATE_ETOOBIG;
        memcpy(jamm, p, len);
        jamm[len] = '\0';
    }

    struct node_svc svcs[MAX_SVC];
    int count = 2 * n, rc = load(cfg, n, svcs);
    if (rc)
        return rc;
    int64_t t0 = spate_mono_ms();
    for (int i = 0; i < count && rc == 0; i++) {
        if (svcs[i].pid) {
            if (!quiet)
                SPATE_INFO("stack", "%s of node %d already running (pid %d)",
                           svc_name(svcs[i].svc), svcs[i].node, (int)svcs[i].pid);
            continue;
        }
        rc = check_ports(cfg, &svcs[i]);
        rc = rc ? rc : prepare(cfg, &svcs[i], n);
        if (rc == 0 && svcs[i].svc == STACK_KAFKA) {
            if (!quiet)
                SPATE_INFO("stack", "formatting Kafka storage of node %d if new (cluster id %s)",
                           svcs[i].node, id);
            rc = format_kafka(java, kafka_cp, &svcs[i], id);
        }
    }

    /* Brokers together (their quorum needs a majority), Cassandra's seed
     * beside them; a new node joins only once the nodes before it serve, as
     * Cassandra bootstraps one node at a time. Restarted nodes start at once. */
    int want[MAX_SVC] = {0};
    for (int i = 0; i < count && rc == 0; i++) {
        struct node_svc *o = &svcs[i];
        want[i] = 1;
        if (o->pid)
            continue;
        if (o->svc == STACK_CASSANDRA && o->fresh && o->node > 1) {
            int prior[MAX_SVC] = {0};
            for (int j = n; j < i; j++)
                prior[j] = 1;
            if ((rc = wait_ready(cfg, svcs, count, prior, n, t0, quiet)) != 0)
                break;
        }
        rc = start_one(cfg, java, kafka_cp, cass_cp, jamm, o, quiet);
    }
    if (rc == 0)
        rc = wait_ready(cfg, svcs, count, want, n, t0, quiet);
    if (rc != 0) {
        for (int i = 0; i < count; i++) {
            if (!svcs[i].started)
                continue;
            char name[32], pf[PATH_MAX + 8];
            snprintf(name, sizeof name, "%s of node %d", svc_name(svcs[i].svc), svcs[i].node);
            stack__stop_pid(svcs[i].pid, svcs[i].marker, cfg->stack.stop_timeout_s, name, quiet);
            pid_path(&svcs[i], pf, sizeof pf);
            unlink(pf);
        }
        return rc;
    }
    if (!quiet) {
        printf("cluster of %d ready in %.1f s (state in %s)\n  kafka.bootstrap_servers: ", n,
               (double)(spate_mono_ms() - t0) / 1000.0, state);
        for (int i = 0; i < n; i++)
            printf("%s%s:%d", i ? "," : "", svcs[i].host, cfg->stack.kafka_port);
        printf("\n  cassandra.contact_points: [");
        for (int i = 0; i < n; i++)
            printf("%s%s", i ? ", " : "", svcs[n + i].host);
        printf("]  (port %d)\n  replication %d, min.insync.replicas %d\n", cfg->stack.cassandra_port,
               cluster_rf(n), cluster_min_isr(n));
    }
    return 0;
}

int stack__cluster_down(const struct spate_config *cfg, int quiet)
{
    int n = cluster_in_state(cfg);
    if (n == 0)
        return 0;
    struct node_svc svcs[MAX_SVC];
    if (load(cfg, n, svcs) != 0)
        return SPATE_ESYS;
    /* SIGTERM all, then wait for each: the nodes shut down side by side */
    for (int i = 0; i < 2 * n; i++)
        if (svcs[i].pid)
            kill(svcs[i].pid, SIGTERM);
    int result = 0;
    for (int i = 2 * n - 1; i >= 0; i--) {
        struct node_svc *o = &svcs[i];
        char name[32], pf[PATH_MAX + 8];
        snprintf(name, sizeof name, "%s-%d", svc_name(o->svc), o->node);
        pid_path(o, pf, sizeof pf);
        if (!o->pid) {
            unlink(pf);
            if (!quiet)
                printf("%-12s not running\n", name);
            continue;
        }
        int rc = stack__stop_pid(o->pid, o->marker, cfg->stack.stop_timeout_s, name, 1);
        if (rc == 0) {
            unlink(pf);
            if (!quiet)
                printf("%-12s stopped\n", name);
        } else {
            result = rc;
        }
    }
    return result;
}

int stack_status_all(const struct spate_config *cfg, struct stack_status *out, int max)
{
    static char names[MAX_SVC][32];
    int n = cluster_in_state(cfg), k = 0;
    struct stack_status single[STACK_NSERVICES];
    stack_status(cfg, single);
    for (int s = 0; s < STACK_NSERVICES && k < max; s++)
        if (n == 0 || single[s].running || single[s].stale)
            out[k++] = single[s];
    struct node_svc svcs[MAX_SVC];
    if (n == 0 || load(cfg, n, svcs) != 0)
        return k;
    for (int i = 0; i < 2 * n && k < max; i++) {
        const struct node_svc *o = &svcs[i];
        struct stack_status *st = &out[k++];
        memset(st, 0, sizeof *st);
        snprintf(names[i], sizeof names[i], "%s@%s", svc_name(o->svc), o->host);
        st->name = names[i];
        st->port = svc_port(cfg, o);
        svc_log(o, st->log_path, sizeof st->log_path);
        char pf[PATH_MAX + 8];
        pid_path(o, pf, sizeof pf);
        if (o->pid) {
            st->pid = o->pid;
            st->running = 1;
            st->uptime_s = stack__uptime_s(o->pid);
            st->rss_kb = stack__rss_kb(o->pid);
            char err[256];
            st->ready = o->svc == STACK_KAFKA
                            ? stack__probe_kafka(o->host, st->port, 1500, err, sizeof err) == 0
                            : cql_probe(o->host, st->port, 1500, err, sizeof err) == 0;
        } else if (stack__read_pid(pf)) {
            st->stale = 1;
        }
    }
    return k;
}

pid_t stack_node_pid(const struct spate_config *cfg, enum stack_service svc, int node)
{
    int n = cluster_in_state(cfg);
    struct node_svc o;
    if (node < 1 || node > n || svc_init(cfg, svc, node, &o) != 0)
        return 0;
    return o.pid;
}
