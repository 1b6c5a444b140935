/* SPDX-License-Identifier: Apache-2.0 */
/* stack.c -- start, probe and stop the local Kafka and Cassandra JVMs by pid. */
#include "spate/stack.h"

#include "spate/error.h"
#include "spate/log.h"
#include "spate/proc.h"
#include "spate/util.h"
#include "stack_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const service_names[STACK_NSERVICES] = {"kafka", "cassandra"};
/* How long up waits for the ports of a node whose pid file is stale. */
#define STALE_PORT_WAIT_MS 15000

/* ---- paths ---------------------------------------------------------------- */

int stack_state_dir(const struct spate_config *cfg, char *out, size_t outlen)
{
    const char *d = cfg->stack.data_dir;
    if (d[0] == '/') {
        spate_strlcpy(out, d, outlen);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return SPATE_ESYS;
        if ((size_t)snprintf(out, outlen, "%s/%s", cwd, d) >= outlen)
            return SPATE_ETOOBIG;
    }
    return 0;
}

static int svc_path(const struct spate_config *cfg, enum stack_service s, const char *leaf,
                    char *out, size_t outlen)
{
    char dir[PATH_MAX];
    int rc = stack_state_dir(cfg, dir, sizeof dir);
    if (rc)
        return rc;
    if ((size_t)snprintf(out, outlen, "%s/%s%s%s", dir, service_names[s], leaf[0] ? "/" : "",
                         leaf) >= outlen)
        return SPATE_ETOOBIG;
    return 0;
}

int stack_log_path(const struct spate_config *cfg, enum stack_service svc, char *out,
                   size_t outlen)
{
    return svc_path(cfg, svc, "logs/stdout.log", out, outlen);
}

static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    spate_strlcpy(tmp, path, sizeof tmp);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return SPATE_ESYS;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return SPATE_ESYS;
    return 0;
}

/* The folder holding deps/lib/<service>: $SPATE_LIB_DIR, next to the binary
 * (build/spate -> ../deps/lib), ./deps/lib, or the container layout. */
int stack__lib_dir(char *out, size_t outlen)
{
    const char *env = getenv("SPATE_LIB_DIR");
    if (env && *env) {
        spate_strlcpy(out, env, outlen);
        return 0;
    }
    char exe[PATH_MAX];
    if (spate_self_exe(exe, sizeof exe) == 0) {
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char cand[PATH_MAX + 32];
            snprintf(cand, sizeof cand, "%s/../deps/lib", exe);
            if (access(cand, F_OK) == 0 && realpath(cand, out) != NULL)
                return 0;
        }
    }
    if (access("deps/lib", F_OK) == 0 && realpath("deps/lib", out) != NULL)
        return 0;
    if (access("/opt/spate/lib", F_OK) == 0) {
        spate_strlcpy(out, "/opt/spate/lib", outlen);
        return 0;
    }
    return SPATE_ENOTFOUND;
}

static int find_java(const struct spate_config *cfg, char *out, size_t outlen)
{
    const char *homes[] = {cfg->stack.java_home, getenv("SPATE_JAVA_HOME"),
                           "/usr/lib/jvm/java-17-openjdk-amd64",
                           "/usr/lib/jvm/java-17-openjdk-arm64", getenv("JAVA_HOME")};
    for (size_t i = 0; i < sizeof homes / sizeof homes[0]; i++) {
        if (!homes[i] || !*homes[i])
            continue;
        snprintf(out, outlen, "%s/bin/java", homes[i]);
        if (access(out, X_OK) == 0)
            return 0;
    }
    spate_strlcpy(out, "java", outlen);
    return 0;
}

/* ---- files ---------------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return SPATE_ESYS;
    int ok = fputs(text, f) >= 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0)
        return SPATE_ESYS;
    return 0;
}

static pid_t read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long v = 0;
    if (fscanf(f, "%ld", &v) != 1)
        v = 0;
    fclose(f);
    return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

/* A pid is ours only if its command line carries our marker for this state
 * folder: a recycled pid or a JVM of another folder is never signalled. */
static int pid_is_ours(pid_t pid, const char *marker)
{
    if (pid <= 0 || kill(pid, 0) != 0)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    static char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    /* a zombie has an empty cmdline; treat as gone */
    return strstr(buf, marker) != NULL;
}

static void marker_for(const struct spate_config *cfg, enum stack_service s, char *out,
                       size_t outlen)
{
    char dir[PATH_MAX];
    if (stack_state_dir(cfg, dir, sizeof dir) != 0)
        dir[0] = '\0';
    snprintf(out, outlen, "-Dspate.stack=%s/%s", dir, service_names[s]);
}

static int64_t proc_uptime_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p)
        return 0;
    unsigned long long start = 0;
    /* after ')' come fields 3..; starttime is field 22 */
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        if (++field == 22) {
            start = strtoull(tok, NULL, 10);
            break;
        }
    }
    double up = 0;
    FILE *u = fopen("/proc/uptime", "r");
    if (u) {
        if (fscanf(u, "%lf", &up) != 1)
            up = 0;
        fclose(u);
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    double age = up - (double)start / (double)hz;
    return age > 0 ? (int64_t)age : 0;
}

void stack_print_tail(const char *path, int n)
{
    spate_print_tail(stderr, path, n);
}

/* ---- ports ---------------------------------------------------------------- */

/* 0 if host:port can be bound now; SPATE_EADDRINUSE if something holds it. */
static int port_free(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return SPATE_ESYS;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : SPATE_EADDRINUSE;
    close(fd);
    return rc;
}

/* ---- service definitions ---------------------------------------------------- */

static int classpath(const char *libdir, const char *svc, char *out, size_t outlen)
{
    char pattern[PATH_MAX];
    snprintf(pattern, sizeof pattern, "%s/%s/*.jar", libdir, svc);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) {
        return SPATE_ENOTFOUND;
    }
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t l = strlen(g.gl_pathv[i]);
        if (len + l + 2 >= outlen) {
            globfree(&g);
            return SPATE_ETOOBIG;
        }
        if (len)
            out[len++] = ':';
        memcpy(out + len, g.gl_pathv[i], l + 1);
        len += l;
    }
    globfree(&g);
    return 0;
}


/* Kafka's log4j2.properties in dir: server.log under dir/logs, rolled at 50 MB. */
int stack__write_kafka_log4j(const char *dir)
{
    char text[2048], path[PATH_MAX + 32];
    snprintf(text, sizeof text,
             "status = warn\n"
             "appender.file.type = RollingFile\n"
             "appender.file.name = file\n"
             "appender.file.fileName = %s/logs/server.log\n"
             "appender.file.filePattern = %s/logs/server.log.%%i\n"
             "appender.file.layout.type = PatternLayout\n"
             "appender.file.layout.pattern = [%%d] %%p %%m (%%c)%%n\n"
             "appender.file.policies.type = Policies\n"
             "appender.file.policies.size.type = SizeBasedTriggeringPolicy\n"
             "appender.file.policies.size.size = 50MB\n"
             "appender.file.strategy.type = DefaultRolloverStrategy\n"
             "appender.file.strategy.max = 3\n"
             "rootLogger.level = info\n"
             "rootLogger.appenderRef.file.ref = file\n"
             "logger.kafka.name = kafka\n"
             "logger.kafka.level = info\n"
             "logger.kafka_req.name = kafka.request.logger\n"
             "logger.kafka_req.level = warn\n"
             "logger.state.name = state.change.logger\n"
             "logger.state.level = warn\n",
             dir, dir);
    snprintf(path, sizeof path, "%s/log4j2.properties", dir);
    return write_file(path, text);
}

static int write_kafka_config(const struct spate_config *cfg, const char *dir)
{
    const struct spate_stack_config *st = &cfg->stack;
    char text[8192], path[PATH_MAX];
    snprintf(text, sizeof text,
             "# Written by spate stack up; edits are overwritten. Single-node KRaft:\n"
             "# this process is both broker and controller.\n"
             "process.roles=broker,controller\n"
             "node.id=1\n"
             "controller.quorum.bootstrap.servers=%s:%d\n"
             "listeners=PLAINTEXT://%s:%d,CONTROLLER://%s:%d\n"
             "advertised.listeners=PLAINTEXT://%s:%d\n"
             "controller.listener.names=CONTROLLER\n"
             "inter.broker.listener.name=PLAINTEXT\n"
             "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
             "log.dirs=%s/data\n"
             "num.partitions=%d\n"
             "default.replication.factor=1\n"
             "offsets.topic.replication.factor=1\n"
             "offsets.topic.num.partitions=12\n"
             "transaction.state.log.replication.factor=1\n"
             "transaction.state.log.min.isr=1\n"
             "share.coordinator.state.topic.replication.factor=1\n"
             "share.coordinator.state.topic.min.isr=1\n"
             "min.insync.replicas=1\n"
             "# consumer groups form at once on a laptop; no 3 s wait for more members\n"
             "group.initial.rebalance.delay.ms=0\n"
             "# the controller's no-op record every 500 ms woke an idle broker\n"
             "metadata.max.idle.interval.ms=5000\n"
             "auto.create.topics.enable=true\n"
             "log.retention.hours=168\n"
             "num.network.threads=2\n"
             "num.io.threads=4\n",
             st->host, st->kafka_controller_port, st->host, st->kafka_port, st->host,
             st->kafka_controller_port, st->host, st->kafka_port, dir, cfg->kafka.partitions);
    size_t used = strlen(text);
    if (stack__secure(cfg) && stack__secure_kafka_properties(cfg, text + used, sizeof text - used))
        return SPATE_ESTATE;
    snprintf(path, sizeof path, "%s/server.properties", dir);
    int rc = write_file(path, text);
    if (rc)
        return rc;
    return stack__write_kafka_log4j(dir);
}

/* Cassandra's logback.xml in dir: system.log under dir/logs, rolled at 50 MB. */
int stack__write_cassandra_logback(const char *dir)
{
    char text[2048], path[PATH_MAX + 32];
    snprintf(text, sizeof text,
             "<configuration scan=\"false\">\n"
             "  <appender name=\"FILE\" class=\"ch.qos.logback.core.rolling.RollingFileAppender\">\n"
             "    <file>%s/logs/system.log</file>\n"
             "    <rollingPolicy class=\"ch.qos.logback.core.rolling.FixedWindowRollingPolicy\">\n"
             "      <fileNamePattern>%s/logs/system.log.%%i</fileNamePattern>\n"
             "      <minIndex>1</minIndex><maxIndex>3</maxIndex>\n"
             "    </rollingPolicy>\n"
             "    <triggeringPolicy class=\"ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy\">\n"
             "      <maxFileSize>50MB</maxFileSize>\n"
             "    </triggeringPolicy>\n"
             "    <encoder><pattern>%%-5level [%%thread] %%date{ISO8601} %%F:%%L - %%msg%%n</pattern></encoder>\n"
             "  </appender>\n"
             "  <root level=\"INFO\"><appender-ref ref=\"FILE\"/></root>\n"
             "</configuration>\n",
             dir, dir);
    snprintf(path, sizeof path, "%s/logback.xml", dir);
    return write_file(path, text);
}

static int write_cassandra_config(const struct spate_config *cfg, const char *dir)
{
    const struct spate_stack_config *st = &cfg->stack;
    char text[8192], path[PATH_MAX];
    const char *auth = stack__secure(cfg) ? "PasswordAuthenticator"
                                          : getenv("SPATE_CASSANDRA_AUTHENTICATOR");
    /* commitlog_sync batch: one node is the only copy, and the sink commits
     * past a record on the node's acknowledgement alone. periodic acknowledged
     * rows a kill -9 then forgot (the last ~100 ms); batch acknowledges after
     * the fsync of a group of writes, which costs the sink's batched writes
     * well under a millisecond each here. */
    snprintf(text, sizeof text,
             "# Written by spate stack up; edits are overwritten.\n"
             "cluster_name: spate\n"
             "num_tokens: 16\n"
             "allocate_tokens_for_local_replication_factor: 1\n"
             "partitioner: org.apache.cassandra.dht.Murmur3Partitioner\n"
             "data_file_directories:\n"
             "  - %s/data/data\n"
             "commitlog_directory: %s/data/commitlog\n"
             "saved_caches_directory: %s/data/saved_caches\n"
             "hints_directory: %s/data/hints\n"
             "cdc_raw_directory: %s/data/cdc_raw\n"
             "commitlog_sync: batch\n"
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
             "authenticator: %s\n"
             "authorizer: AllowAllAuthorizer\n"
             "auto_snapshot: false\n"
             "disk_failure_policy: stop\n"
             "commit_failure_policy: stop\n"
             "concurrent_reads: 16\n"
             "concurrent_writes: 32\n"
             "concurrent_counter_writes: 16\n"
             "native_transport_max_threads: 64\n"
             "# small machine: keep memtables and caches modest\n"
             "memtable_heap_space: 128MiB\n"
             "memtable_offheap_space: 128MiB\n"
             "key_cache_size: 32MiB\n"
             "write_request_timeout: 5000ms\n"
             "read_request_timeout: 10000ms\n"
             "range_request_timeout: 20000ms\n"
             "request_timeout: 20000ms\n"
             "batch_size_warn_threshold: 64KiB\n"
             "batch_size_fail_threshold: 640KiB\n"
             "# the sink batches rows by replica, not by partition\n"
             "unlogged_batch_across_partitions_warn_threshold: 1000\n",
             dir, dir, dir, dir, dir, st->host, st->cassandra_storage_port, st->host, st->host,
             st->cassandra_storage_port, st->cassandra_port,
             auth && *auth ? auth : "AllowAllAuthenticator");
    size_t used = strlen(text);
    if (stack__secure(cfg) && stack__secure_cassandra_yaml(cfg, text + used, sizeof text - used))
        return SPATE_ESTATE;
    /* Tests that need more (client TLS, ...) append YAML here. */
    const char *extra = getenv("SPATE_CASSANDRA_EXTRA_YAML");
    if (extra && *extra) {
        used = strlen(text);
        snprintf(text + used, sizeof text - used, "%s\n", extra);
    }
    snprintf(path, sizeof path, "%s/cassandra.yaml", dir);
    int rc = write_file(path, text);
    if (rc)
        return rc;
    return stack__write_cassandra_logback(dir);
}

/* Kafka's cluster id: 16 random bytes in URL-safe base64 without padding. */
static void random_cluster_id(char out[23])
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[16] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, r, sizeof r) != (ssize_t)sizeof r)
            memset(r, 0x5a, sizeof r);
        close(fd);
    }
    /* The first character must not be '-' or '_' (the top bits 62, 63):
     * kafka-storage's argument parser takes "-..." for an option and fails
     * "expected one argument" (it broke CI once in 64 starts). */
    r[0] &= 0x7f;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < sizeof r; i++) {
        acc = (acc << 8) | r[i];
        bits += 8;
        while (bits >= 6) {
            out[o++] = b64[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits > 0)
        out[o++] = b64[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* Flags the Cassandra 5.0 server needs on Java 17 (module access its code
 * and its libraries use reflectively). */
static const char *const cassandra_jdk17_flags[] = {
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.math=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/java.net=ALL-UNNAMED",
    NULL,
};

static void arg(struct argv_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void arg(struct argv_builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    spate_argv_vaddf(b, fmt, ap);
    va_end(ap);
}

static void argv_free(struct argv_builder *b)
{
    spate_argv_free(b);
}

/* Run argv in the foreground with output to logfile; returns exit status. */
int stack__run_wait(char *const argv[], const char *logfile)
{
    struct spate_proc_options o = {.argv = argv, .log_path = logfile, .flags = SPATE_PROC_PATH};
    pid_t pid;
    int st;
    if (spate_proc_spawn(&o, &pid) != 0 || spate_proc_wait(pid, &st, 0) != 1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Start argv detached (own session, so a Ctrl-C in the terminal that ran
 * `spate stack up` does not reach the JVM) with output to logfile. */
static pid_t spawn_detached(char *const argv[], const char *logfile, const char *cwd)
{
    struct spate_proc_options o = {
        .argv = argv,
        .cwd = cwd,
        .log_path = logfile,
        .flags = SPATE_PROC_PATH | SPATE_PROC_DETACH | SPATE_PROC_NULL_STDIN |
                 SPATE_PROC_DEFAULT_SIGNALS,
    };
    pid_t pid;
    return spate_proc_spawn(&o, &pid) == 0 ? pid : -1;
}

static int start_kafka(const struct spate_config *cfg, const char *java, const char *libdir,
                       pid_t *out_pid)
{
    char dir[PATH_MAX], logdir[PATH_MAX + 8], log[PATH_MAX + 32], marker[PATH_MAX + 32];
    int rc = svc_path(cfg, STACK_KAFKA, "", dir, sizeof dir);
    if (rc)
        return rc;
    snprintf(logdir, sizeof logdir, "%s/logs", dir);
    snprintf(log, sizeof log, "%s/logs/stdout.log", dir);
    if (mkdirs(logdir) || write_kafka_config(cfg, dir))
        return SPATE_ESYS;
    static char cp[1 << 16];
    if ((rc = classpath(libdir, "kafka", cp, sizeof cp)) != 0) {
        SPATE_ERROR("stack", "no Kafka jars in %s/kafka: run scripts/setup", libdir);
        return rc;
    }
    marker_for(cfg, STACK_KAFKA, marker, sizeof marker);

    char meta[PATH_MAX + 32];
    snprintf(meta, sizeof meta, "%s/data/meta.properties", dir);
    if (access(meta, F_OK) != 0) {
        /* First start: format the KRaft metadata log once. */
        char id[23];
        random_cluster_id(id);
        struct argv_builder b = {0};
        arg(&b, "%s", java);
        arg(&b, "-Xmx256m");
        arg(&b, "-Dlog4j2.configurationFile=%s/log4j2.properties", dir);
        arg(&b, "-cp");
        arg(&b, "%s", cp);
        arg(&b, "kafka.tools.StorageTool");
        arg(&b, "format");
        arg(&b, "--standalone");
        arg(&b, "--cluster-id");
        arg(&b, "%s", id);
        arg(&b, "--config");
        arg(&b, "%s/server.properties", dir);
        if (stack__secure(cfg)) {
            char admin[128], user[128];
            if (stack__secure_scram_args(cfg, admin, user, sizeof admin) == 0) {
                arg(&b, "--add-scram");
                arg(&b, "%s", admin);
                arg(&b, "--add-scram");
                arg(&b, "%s", user);
            }
            explicit_bzero(admin, sizeof admin);
            explicit_bzero(user, sizeof user);
        }
        SPATE_INFO("stack", "formatting Kafka storage (first start, cluster id %s)", id);
        int st = stack__run_wait(b.argv, log);
        argv_free(&b);
        if (st != 0) {
            SPATE_ERROR("stack", "Kafka storage format failed (exit %d)", st);
            stack_print_tail(log, 20);
            return SPATE_EUNAVAILABLE;
        }
    }

    int heap = cfg->stack.kafka_heap_mb;
    struct argv_builder b = {0};
    arg(&b, "%s", java);
    arg(&b, "%s", marker);
    arg(&b, "-Xms%dm", heap);
    arg(&b, "-Xmx%dm", heap);
    arg(&b, "-XX:+UseG1GC");
    arg(&b, "-XX:MaxGCPauseMillis=20");
    arg(&b, "-XX:InitiatingHeapOccupancyPercent=35");
    arg(&b, "-XX:+ExplicitGCInvokesConcurrent");
    arg(&b, "-XX:TieredStopAtLevel=1"); /* faster start; the broker is I/O-bound here */
    arg(&b, "-Djava.awt.headless=true");
    arg(&b, "-Dkafka.logs.dir=%s/logs", dir);
    arg(&b, "-Dlog4j2.configurationFile=%s/log4j2.properties", dir);
    arg(&b, "-cp");
    arg(&b, "%s", cp);
    arg(&b, "kafka.Kafka");
    arg(&b, "%s/server.properties", dir);
    pid_t pid = spawn_detached(b.argv, log, dir);
    argv_free(&b);
    if (pid <= 0)
        return SPATE_ESYS;
    *out_pid = pid;
    return 0;
}

static int start_cassandra(const struct spate_config *cfg, const char *java, const char *libdir,
                           pid_t *out_pid)
{
    char dir[PATH_MAX], logdir[PATH_MAX + 8], log[PATH_MAX + 32], marker[PATH_MAX + 32];
    int rc = svc_path(cfg, STACK_CASSANDRA, "", dir, sizeof dir);
    if (rc)
        return rc;
    snprintf(logdir, sizeof logdir, "%s/logs", dir);
    snprintf(log, sizeof log, "%s/logs/stdout.log", dir);
    char datadir[PATH_MAX + 8];
    snprintf(datadir, sizeof datadir, "%s/data", dir);
    if (mkdirs(logdir) || mkdirs(datadir) || write_cassandra_config(cfg, dir))
        return SPATE_ESYS;
    static char cp[1 << 16];
    if ((rc = classpath(libdir, "cassandra", cp, sizeof cp)) != 0) {
        SPATE_ERROR("stack", "no Cassandra jars in %s/cassandra: run scripts/setup", libdir);
        return rc;
    }
    char pattern[PATH_MAX];
    snprintf(pattern, sizeof pattern, "%s/cassandra/jamm-*.jar", libdir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        SPATE_ERROR("stack", "jamm agent jar missing in %s/cassandra: run scripts/setup", libdir);
        return SPATE_ENOTFOUND;
    }
    char jamm[PATH_MAX];
    spate_strlcpy(jamm, g.gl_pathv[0], sizeof jamm);
    globfree(&g);
    marker_for(cfg, STACK_CASSANDRA, marker, sizeof marker);

    int heap = cfg->stack.cassandra_heap_mb;
    struct argv_builder b = {0};
    arg(&b, "%s", java);
    arg(&b, "%s", marker);
    arg(&b, "-Xms%dm", heap);
    arg(&b, "-Xmx%dm", heap);
    arg(&b, "-Xss256k");
    arg(&b, "-XX:+UseG1GC");
    arg(&b, "-XX:MaxGCPauseMillis=200");
    arg(&b, "-XX:+ParallelRefProcEnabled");
    arg(&b, "-XX:+HeapDumpOnOutOfMemoryError");
    arg(&b, "-XX:HeapDumpPath=%s/logs", dir);
    arg(&b, "-XX:+AlwaysPreTouch");
    arg(&b, "-XX:-UseBiasedLocking");
    for (const char *const *f = cassandra_jdk17_flags; *f; f++)
        arg(&b, "%s", *f);
    arg(&b, "-javaagent:%s", jamm);
    arg(&b, "-Djdk.attach.allowAttachSelf=true");
    arg(&b, "-Djava.net.preferIPv4Stack=true");
    arg(&b, "-Dio.netty.tryReflectionSetAccessible=true");
    arg(&b, "-Dcassandra.config=file://%s/cassandra.yaml", dir);
    arg(&b, "-Dcassandra.storagedir=%s/data", dir);
    arg(&b, "-Dcassandra.logdir=%s/logs", dir);
    arg(&b, "-Dlogback.configurationFile=%s/logback.xml", dir);
    arg(&b, "-Dcassandra-foreground=yes");
    /* one node: nothing to gossip with, so don't wait for gossip to settle */
    arg(&b, "-Dcassandra.skip_wait_for_gossip_to_settle=0");
    arg(&b, "-Dcassandra.superuser_setup_delay_ms=0");
    arg(&b, "-Dcassandra.ring_delay_ms=1000");
    /* Its approximate clock ticks every 2 ms by default: 500 wake-ups a second
     * were most of an idle node's CPU; 20 ms is far below any timeout here. */
    arg(&b, "-Dcassandra.approximate_time_precision_ms=20");
    /* Tests may add or override JVM options (a later -D wins), e.g. a longer ring
     * delay for a node that joins another on a busy machine. */
    const char *jvm_extra = getenv("SPATE_CASSANDRA_JVM_OPTS");
    if (jvm_extra && *jvm_extra) {
        char opts[1024];
        spate_strlcpy(opts, jvm_extra, sizeof opts);
        for (char *save = NULL, *tok = strtok_r(opts, " ", &save); tok;
             tok = strtok_r(NULL, " ", &save))
            arg(&b, "%s", tok);
    }
    arg(&b, "-cp");
    arg(&b, "%s", cp);
    arg(&b, "org.apache.cassandra.service.CassandraDaemon");
    pid_t pid = spawn_detached(b.argv, log, dir);
    argv_free(&b);
    if (pid <= 0)
        return SPATE_ESYS;
    *out_pid = pid;
    return 0;
}

/* ---- up / down / status ------------------------------------------------------ */

static int pid_file(const struct spate_config *cfg, enum stack_service s, char *out, size_t len)
{
    return svc_path(cfg, s, "pid", out, len);
}

static int service_port(const struct spate_config *cfg, enum stack_service s)
{
    return s == STACK_KAFKA ? cfg->stack.kafka_port : cfg->stack.cassandra_port;
}

static int probe(const struct spate_config *cfg, enum stack_service s, int timeout_ms,
                 char *err, size_t errlen)
{
    if (stack__secure(cfg))
        return s == STACK_KAFKA ? stack__secure_probe_kafka(cfg, timeout_ms, err, errlen)
                                : stack__secure_probe_cql(cfg, timeout_ms, err, errlen);
    if (s == STACK_KAFKA)
        return stack__probe_kafka(cfg->stack.host, cfg->stack.kafka_port, timeout_ms, err,
                                  errlen);
    return stack__probe_cql(cfg->stack.host, cfg->stack.cassandra_port, timeout_ms, err, errlen);
}

int stack_status(const struct spate_config *cfg, struct stack_status *out)
{
    for (int s = 0; s < STACK_NSERVICES; s++) {
        struct stack_status *st = &out[s];
        memset(st, 0, sizeof *st);
        st->name = service_names[s];
        st->port = service_port(cfg, (enum stack_service)s);
        stack_log_path(cfg, (enum stack_service)s, st->log_path, sizeof st->log_path);
        char pf[PATH_MAX], marker[PATH_MAX + 32];
        if (pid_file(cfg, (enum stack_service)s, pf, sizeof pf))
            continue;
        marker_for(cfg, (enum stack_service)s, marker, sizeof marker);
        pid_t pid = read_pid(pf);
        if (pid && pid_is_ours(pid, marker)) {
            st->pid = pid;
            st->running = 1;
            st->uptime_s = proc_uptime_s(pid);
            st->rss_kb = spate_proc_rss_kb(pid);
            char err[256];
            st->ready = probe(cfg, (enum stack_service)s, 1500, err, sizeof err) == 0;
        } else if (pid) {
            st->stale = 1;
        }
    }
    return 0;
}

pid_t stack_pid(const struct spate_config *cfg, enum stack_service svc)
{
    char pf[PATH_MAX], marker[PATH_MAX + 32];
    if (pid_file(cfg, svc, pf, sizeof pf))
        return 0;
    marker_for(cfg, svc, marker, sizeof marker);
    pid_t pid = read_pid(pf);
    return pid && pid_is_ours(pid, marker) ? pid : 0;
}

static const char *port_key(enum stack_service s, int which)
{
    if (s == STACK_KAFKA)
        return which ? "stack.kafka_controller_port" : "stack.kafka_port";
    return which ? "stack.cassandra_storage_port" : "stack.cassandra_port";
}

static int stop_pid(pid_t pid, const char *marker, int timeout_s, const char *name, int quiet)
{
    if (!pid_is_ours(pid, marker))
        return 0;
    if (!quiet)
        SPATE_INFO("stack", "stopping %s (pid %d)", name, (int)pid);
    kill(pid, SIGTERM);
    int64_t deadline = spate_mono_ms() + (int64_t)timeout_s * 1000;
    while (spate_mono_ms() < deadline) {
        if (!pid_is_ours(pid, marker))
            return 0;
        spate_sleep_ms(100);
    }
    SPATE_WARN("stack", "%s (pid %d) did not stop in %d s, sending SIGKILL", name, (int)pid,
               timeout_s);
    kill(pid, SIGKILL);
    for (int i = 0; i < 100; i++) {
        if (!pid_is_ours(pid, marker))
            return 0;
        spate_sleep_ms(100);
    }
    SPATE_ERROR("stack", "%s (pid %d) survived SIGKILL", name, (int)pid);
    return SPATE_ESTATE;
}

int stack_down(const struct spate_config *cfg, int quiet)
{
    /* a cluster in this state folder is stopped with the single node, whatever
     * stack.nodes says now */
    int result = stack__cluster_down(cfg, quiet);
    /* Stop Cassandra and Kafka in parallel: SIGTERM both, then wait. */
    for (int s = STACK_NSERVICES - 1; s >= 0; s--) {
        char pf[PATH_MAX], marker[PATH_MAX + 32];
        if (pid_file(cfg, (enum stack_service)s, pf, sizeof pf))
            continue;
        marker_for(cfg, (enum stack_service)s, marker, sizeof marker);
        pid_t pid = read_pid(pf);
        if (pid == 0) {
            if (!quiet)
                printf("%-10s not running\n", service_names[s]);
            continue;
        }
        int rc = stop_pid(pid, marker, cfg->stack.stop_timeout_s, service_names[s], quiet);
        if (rc == 0) {
            unlink(pf);
            if (!quiet)
                printf("%-10s stopped\n", service_names[s]);
        } else {
            result = rc;
        }
    }
    return result;
}

int stack_up(const struct spate_config *cfg, int quiet)
{
    /* a cluster in the state folder comes back whole, whatever stack.nodes says */
    if (cfg->stack.nodes > 1 || stack__cluster_nodes(cfg) > 0)
        return stack__cluster_up(cfg, quiet);
    char libdir[PATH_MAX], java[PATH_MAX];
    if (stack__lib_dir(libdir, sizeof libdir) != 0) {
        fprintf(stderr, "spate stack: the JVM artifacts are missing (no deps/lib): run "
                        "scripts/setup (make run and make test do it for you)\n");
        return SPATE_ENOTFOUND;
    }
    find_java(cfg, java, sizeof java);
    char state[PATH_MAX];
    if (stack_state_dir(cfg, state, sizeof state) || mkdirs(state)) {
        fprintf(stderr, "spate stack: cannot create the state folder %s: %s\n",
                cfg->stack.data_dir, strerror(errno));
        return SPATE_ESYS;
    }

    int64_t t0 = spate_mono_ms();
    int started[STACK_NSERVICES] = {0};
    pid_t pids[STACK_NSERVICES] = {0};
    char markers[STACK_NSERVICES][PATH_MAX + 32];
    int rc = 0;

    for (int s = 0; s < STACK_NSERVICES && rc == 0; s++) {
        char pf[PATH_MAX];
        pid_file(cfg, (enum stack_service)s, pf, sizeof pf);
        marker_for(cfg, (enum stack_service)s, markers[s], sizeof markers[s]);
        pid_t pid = read_pid(pf);
        if (pid && pid_is_ours(pid, markers[s])) {
            pids[s] = pid;
            if (!quiet)
                SPATE_INFO("stack", "%s already running (pid %d)", service_names[s], (int)pid);
            continue;
        }
        if (pid) {
            SPATE_WARN("stack", "removing stale pid file of %s (pid %d is gone or not ours)",
                       service_names[s], (int)pid);
            unlink(pf);
        }
        int ports[2] = {service_port(cfg, (enum stack_service)s),
                        s == STACK_KAFKA ? cfg->stack.kafka_controller_port
                                         : cfg->stack.cassandra_storage_port};
        for (int w = 0; w < 2; w++) {
            /* A node killed with -9 a moment ago holds its ports until the
             * kernel has torn its memory down (a second or more for a 1 GiB
             * heap): `kill -9; spate stack up` failed on a port still in use. */
            for (int64_t until = spate_mono_ms() + (pid ? STALE_PORT_WAIT_MS : 0);
                 port_free(cfg->stack.host, ports[w]) != 0 && spate_mono_ms() < until;)
                spate_sleep_ms(200);
            if (port_free(cfg->stack.host, ports[w]) != 0) {
                fprintf(stderr,
                        "spate stack: port %d (%s, for %s) on %s is already in use by another "
                        "process; stop that process or set %s to a free port in the config\n",
                        ports[w], port_key((enum stack_service)s, w), service_names[s],
                        cfg->stack.host, port_key((enum stack_service)s, w));
                rc = SPATE_EADDRINUSE;
                break;
            }
        }
        if (rc)
            break;
        rc = s == STACK_KAFKA ? start_kafka(cfg, java, libdir, &pid)
                              : start_cassandra(cfg, java, libdir, &pid);
        if (rc) {
            fprintf(stderr, "spate stack: could not start %s: %s\n", service_names[s],
                    spate_strerror(rc));
            break;
        }
        char text[32];
        snprintf(text, sizeof text, "%d\n", (int)pid);
        write_file(pf, text);
        pids[s] = pid;
        started[s] = 1;
        if (!quiet)
            SPATE_INFO("stack", "started %s (pid %d, port %d)", service_names[s], (int)pid,
                       service_port(cfg, (enum stack_service)s));
    }

    /* Wait until both answer clients, or one dies, or the deadline passes. */
    int ready[STACK_NSERVICES] = {0};
    int64_t deadline = t0 + (int64_t)cfg->stack.start_timeout_s * 1000;
    char err[STACK_NSERVICES][256] = {{0}};
    while (rc == 0) {
        int all = 1;
        for (int s = 0; s < STACK_NSERVICES; s++) {
            if (ready[s])
                continue;
            if (!pid_is_ours(pids[s], markers[s])) {
                char log[PATH_MAX];
                stack_log_path(cfg, (enum stack_service)s, log, sizeof log);
                fprintf(stderr, "spate stack: %s exited during start-up\n", service_names[s]);
                stack_print_tail(log, 25);
                rc = SPATE_EUNAVAILABLE;
                break;
            }
            if (probe(cfg, (enum stack_service)s, 1000, err[s], sizeof err[s]) == 0) {
                ready[s] = 1;
                if (!quiet)
                    SPATE_INFO("stack", "%s ready on %s:%d after %.1f s", service_names[s],
                               cfg->stack.host, service_port(cfg, (enum stack_service)s),
                               (double)(spate_mono_ms() - t0) / 1000.0);
            } else {
                all = 0;
            }
        }
        if (rc || all)
            break;
        if (spate_mono_ms() > deadline) {
            for (int s = 0; s < STACK_NSERVICES; s++) {
                if (ready[s])
                    continue;
                char log[PATH_MAX];
                stack_log_path(cfg, (enum stack_service)s, log, sizeof log);
                fprintf(stderr, "spate stack: %s not ready after %d s (stack.start_timeout): %s\n",
                        service_names[s], cfg->stack.start_timeout_s, err[s]);
                stack_print_tail(log, 25);
            }
            rc = SPATE_ETIMEDOUT;
            break;
        }
        spate_sleep_ms(250);
    }

    if (rc == 0 && stack__secure(cfg))
        rc = stack__secure_after_ready(cfg, cfg->stack.start_timeout_s);
    if (rc != 0) {
        /* Leave nothing half-started behind. */
        for (int s = 0; s < STACK_NSERVICES; s++) {
            if (!started[s])
                continue;
            stop_pid(pids[s], markers[s], cfg->stack.stop_timeout_s, service_names[s], quiet);
            char pf[PATH_MAX];
            pid_file(cfg, (enum stack_service)s, pf, sizeof pf);
            unlink(pf);
        }
        return rc;
    }
    if (!quiet)
        printf("stack ready in %.1f s: kafka %s:%d, cassandra %s:%d (state in %s)\n",
               (double)(spate_mono_ms() - t0) / 1000.0, cfg->stack.host, cfg->stack.kafka_port,
               cfg->stack.host, cfg->stack.cassandra_port, state);
    return 0;
}

/* ---- shared with stack_cluster.c ----------------------------------------------- */

int stack__mkdirs(const char *path) { return mkdirs(path); }
int stack__write_file(const char *path, const char *text) { return write_file(path, text); }
pid_t stack__read_pid(const char *path) { return read_pid(path); }
int stack__pid_is_ours(pid_t pid, const char *marker) { return pid_is_ours(pid, marker); }
int64_t stack__rss_kb(pid_t pid) { return spate_proc_rss_kb(pid); }
int64_t stack__uptime_s(pid_t pid) { return proc_uptime_s(pid); }
int stack__port_free(const char *host, int port) { return port_free(host, port); }
void stack__find_java(const struct spate_config *cfg, char *out, size_t outlen)
{
    find_java(cfg, out, outlen);
}
int stack__classpath(const char *libdir, const char *svc, char *out, size_t outlen)
{
    return classpath(libdir, svc, out, outlen);
}
void stack__cluster_id(char out[23]) { random_cluster_id(out); }
const char *const *stack__cassandra_jdk17_flags(void) { return cassandra_jdk17_flags; }
void stack__argv_add(struct argv_builder *b, const char *s) { arg(b, "%s", s); }
void stack__argv_free(struct argv_builder *b) { argv_free(b); }
pid_t stack__spawn_detached(char *const argv[], const char *logfile, const char *cwd)
{
    return spawn_detached(argv, logfile, cwd);
}
int stack__stop_pid(pid_t pid, const char *marker, int timeout_s, const char *name, int quiet)
{
    return stop_pid(pid, marker, timeout_s, name, quiet);
}
