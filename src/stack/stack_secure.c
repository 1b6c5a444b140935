/* SPDX-License-Identifier: Apache-2.0 */
/* stack_secure.c -- `spate stack up --secure`: a CA, certificates and users for a
 * local Kafka on SASL_SSL (PLAIN and SCRAM-SHA-512) and a Cassandra with passwords
 * and TLS. */
#include "spate/stack.h"

#include "spate/cql.h"
#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/log.h"
#include "spate/util.h"
#include "stack_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Everything secret or signed lives in <state>/secure, 0700, files 0600. The
 * credentials file is written last: its presence means "this stack is secure
 * and complete", so an interrupted first run is redone from scratch. */
#define SECURE_DIR "secure"
#define CREDENTIALS "credentials"
#define KAFKA_USER "spate"
#define KAFKA_ADMIN "admin"
#define CASSANDRA_USER "spate"
#define PASSWORD_LEN 32

struct secure_creds {
    char kafka_password[PASSWORD_LEN + 1];
    char kafka_admin_password[PASSWORD_LEN + 1];
    char cassandra_password[PASSWORD_LEN + 1];
    char keystore_password[PASSWORD_LEN + 1];
};

static int secure_path(const struct spate_config *cfg, const char *leaf, char *out, size_t outlen)
{
    char dir[PATH_MAX];
    int rc = stack_state_dir(cfg, dir, sizeof dir);
    if (rc)
        return rc;
    if ((size_t)snprintf(out, outlen, "%s/%s%s%s", dir, SECURE_DIR, leaf[0] ? "/" : "", leaf) >=
        outlen)
        return SPATE_ETOOBIG;
    return 0;
}

int stack__secure(const struct spate_config *cfg)
{
    char p[PATH_MAX];
    return secure_path(cfg, CREDENTIALS, p, sizeof p) == 0 && access(p, F_OK) == 0;
}

/* Letters and digits only: the passwords go into JAAS, YAML and CQL literals
 * unquoted-safe, and 32 of them are 190 bits. */
static int random_password(char out[PASSWORD_LEN + 1])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SPATE_ESYS;
    size_t n = 0;
    while (n < PASSWORD_LEN) {
        unsigned char b[64];
        ssize_t got = read(fd, b, sizeof b);
        if (got <= 0) {
            close(fd);
            return SPATE_ESYS;
        }
        /* 248 = 4 * 62: rejecting the rest keeps every character equally likely */
        for (ssize_t i = 0; i < got && n < PASSWORD_LEN; i++)
            if (b[i] < 248)
                out[n++] = alphabet[b[i] % 62];
    }
    out[n] = '\0';
    close(fd);
    return 0;
}

/* Written 0600 from the start (never readable by others, not even briefly). */
static int write_private(const char *path, const char *text)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return SPATE_ESYS;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return SPATE_ESYS;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, 0600) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return SPATE_ESYS;
    }
    return 0;
}

static int read_creds(const struct spate_config *cfg, struct secure_creds *c)
{
    char p[PATH_MAX], line[256];
    memset(c, 0, sizeof *c);
    if (secure_path(cfg, CREDENTIALS, p, sizeof p))
        return SPATE_ETOOBIG;
    FILE *f = fopen(p, "r");
    if (!f)
        return SPATE_ESYS;
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"SPATE_KAFKA_PASSWORD=", offsetof(struct secure_creds, kafka_password)},
        {"SPATE_KAFKA_ADMIN_PASSWORD=", offsetof(struct secure_creds, kafka_admin_password)},
        {"SPATE_CASSANDRA_PASSWORD=", offsetof(struct secure_creds, cassandra_password)},
        {"SPATE_KEYSTORE_PASSWORD=", offsetof(struct secure_creds, keystore_password)},
    };
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            size_t kl = strlen(keys[i].key);
            if (strncmp(line, keys[i].key, kl) == 0)
                spate_strlcpy((char *)c + keys[i].off, line + kl, PASSWORD_LEN + 1);
        }
    }
    fclose(f);
    explicit_bzero(line, sizeof line);
    return c->kafka_password[0] && c->kafka_admin_password[0] && c->cassandra_password[0] &&
                   c->keystore_password[0]
               ? 0
               : SPATE_EPARSE;
}

static int openssl(const char *log, const char *const *args)
{
    char *argv[24];
    size_t n = 0;
    argv[n++] = "openssl";
    for (; *args && n < sizeof argv / sizeof argv[0] - 1; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    return stack__run_wait(argv, log) == 0 ? 0 : SPATE_EUNAVAILABLE;
}

/* A CA, and a server certificate it signs for the stack's address (both
 * services use it), as PEM and as a PKCS#12 keystore for the JVMs. */
static int make_certificates(const struct spate_config *cfg, const char *dir,
                             const struct secure_creds *c)
{
    char log[PATH_MAX], path[PATH_MAX], text[512], subj[300];
    snprintf(log, sizeof log, "%s/openssl.log", dir);
    snprintf(path, sizeof path, "%s/keystore.pass", dir);
    snprintf(text, sizeof text, "%s\n", c->keystore_password);
    if (write_private(path, text))
        return SPATE_ESYS;
    const char *host = cfg->stack.host;
    snprintf(path, sizeof path, "%s/server.ext", dir);
    snprintf(text, sizeof text,
             "subjectAltName=IP:%s%s,DNS:localhost\n"
             "basicConstraints=CA:FALSE\n"
             "keyUsage=digitalSignature,keyEncipherment\n"
             "extendedKeyUsage=serverAuth\n",
             host, strcmp(host, "127.0.0.1") ? ",IP:127.0.0.1" : "");
    if (write_private(path, text))
        return SPATE_ESYS;
    snprintf(subj, sizeof subj, "/CN=%s", host);
    /* absolute paths: openssl writes ca.srl next to the CA, and no chdir()
     * moves this process */
    char ca_key[PATH_MAX + 16], ca_crt[PATH_MAX + 16], key[PATH_MAX + 16], csr_file[PATH_MAX + 16],
        crt[PATH_MAX + 16], ext[PATH_MAX + 16], p12_file[PATH_MAX + 16], pass[PATH_MAX + 24];
    snprintf(ca_key, sizeof ca_key, "%s/ca.key", dir);
    snprintf(ca_crt, sizeof ca_crt, "%s/ca.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(csr_file, sizeof csr_file, "%s/server.csr", dir);
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(ext, sizeof ext, "%s/server.ext", dir);
    snprintf(p12_file, sizeof p12_file, "%s/server.p12", dir);
    snprintf(pass, sizeof pass, "file:%s/keystore.pass", dir);
    const char *ca[] = {"req",   "-x509",  "-newkey", "rsa:2048", "-nodes",
                        "-keyout", ca_key, "-out",    ca_crt,     "-days",
                        "3650",  "-subj",  "/CN=spate local stack CA", NULL};
    const char *csr[] = {"req",  "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                         "-out", csr_file,  "-subj",    subj,     NULL};
    const char *sign[] = {"x509", "-req",  "-in",  csr_file, "-CA",   ca_crt,     "-CAkey",
                          ca_key, "-CAcreateserial", "-out", crt, "-days", "825", "-extfile",
                          ext,    NULL};
    const char *p12[] = {"pkcs12",    "-export", "-in",   crt,      "-inkey",   key,
                         "-certfile", ca_crt,    "-name", "spate",  "-out",     p12_file,
                         "-passout",  pass,      NULL};
    const char *const *steps[] = {ca, csr, sign, p12};
    /* keys are created 0600 whatever the user's umask */
    mode_t old = umask(077);
    int rc = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && rc == 0; i++)
        rc = openssl(log, steps[i]);
    umask(old);
    if (rc) {
        fprintf(stderr, "spate stack: openssl could not make the certificates (log %s)\n", log);
        stack_print_tail(log, 10);
    }
    return rc;
}

int stack_secure_init(const struct spate_config *cfg)
{
    char state[PATH_MAX], dir[PATH_MAX], p[PATH_MAX + 64];
    if (stack_state_dir(cfg, state, sizeof state) || secure_path(cfg, "", dir, sizeof dir))
        return SPATE_ETOOBIG;
    if (stack__secure(cfg))
        return 0;
    /* Kafka's SCRAM users are written when its storage is formatted, and a
     * Cassandra that ran without authentication has no roles of ours: a
     * plain stack cannot be turned secure in place. */
    snprintf(p, sizeof p, "%s/kafka/data/meta.properties", state);
    int plain_kafka = access(p, F_OK) == 0;
    snprintf(p, sizeof p, "%s/cassandra/data", state);
    if (plain_kafka || access(p, F_OK) == 0) {
        fprintf(stderr,
                "spate stack: %s holds a stack started without --secure; stop it (spate stack "
                "down) and delete the folder, or set stack.data_dir to another folder\n",
                state);
        return SPATE_ESTATE;
    }
    for (char *s = state + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(state, 0755) != 0 && errno != EEXIST)
            return SPATE_ESYS;
        *s = '/';
    }
    if ((mkdir(state, 0700) != 0 && errno != EEXIST) || chmod(state, 0700) != 0 ||
        (mkdir(dir, 0700) != 0 && errno != EEXIST) || chmod(dir, 0700) != 0) {
        fprintf(stderr, "spate stack: cannot create %s: %s\n", dir, strerror(errno));
        return SPATE_ESYS;
    }
    struct secure_creds c;
    if (random_password(c.kafka_password) || random_password(c.kafka_admin_password) ||
        random_password(c.cassandra_password) || random_password(c.keystore_password))
        return SPATE_ESYS;
    int rc = make_certificates(cfg, dir, &c);
    if (rc == 0) {
        char text[1024];
        snprintf(text, sizeof text,
                 "# Written by spate stack up --secure: the users of this stack.\n"
                 "# Shell syntax, so `set -a; . %s/" CREDENTIALS "; set +a` exports them.\n"
                 "SPATE_KAFKA_USER=" KAFKA_USER "\n"
                 "SPATE_KAFKA_PASSWORD=%s\n"
                 "SPATE_CASSANDRA_USER=" CASSANDRA_USER "\n"
                 "SPATE_CASSANDRA_PASSWORD=%s\n"
                 "SPATE_KAFKA_CA=%s/ca.crt\n"
                 "# the broker's own user and the JVMs' keystore; spate does not need them\n"
                 "SPATE_KAFKA_ADMIN_PASSWORD=%s\n"
                 "SPATE_KEYSTORE_PASSWORD=%s\n",
                 dir, c.kafka_password, c.cassandra_password, dir, c.kafka_admin_password,
                 c.keystore_password);
        snprintf(p, sizeof p, "%s/" CREDENTIALS, dir);
        rc = write_private(p, text);
        explicit_bzero(text, sizeof text);
    }
    explicit_bzero(&c, sizeof c);
    return rc;
}

/* ---- the services' settings ----------------------------------------------------- */

int stack__secure_kafka_properties(const struct spate_config *cfg, char *out, size_t outlen)
{
    struct secure_creds c;
    char dir[PATH_MAX];
    if (read_creds(cfg, &c) || secure_path(cfg, "", dir, sizeof dir))
        return SPATE_ESTATE;
    const struct spate_stack_config *st = &cfg->stack;
    /* Later keys win in a Java properties file: these replace the plain
     * listeners written above. The controller listener stays PLAINTEXT on
     * stack.host: KRaft controllers cannot check SCRAM users (they live in
     * the metadata the controller serves). */
    int n = snprintf(out, outlen,
                     "# --secure: clients on SASL_SSL (SCRAM-SHA-512), the broker's own\n"
                     "# connections too\n"
                     "listeners=SASL_SSL://%s:%d,CONTROLLER://%s:%d\n"
                     "advertised.listeners=SASL_SSL://%s:%d\n"
                     "inter.broker.listener.name=SASL_SSL\n"
                     "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT\n"
                     "# PLAIN (over TLS) too: librdkafka before 2.6.1 fails SCRAM against\n"
                     "# Kafka 4 (librdkafka#4895), and Debian 12 ships 2.0.2\n"
                     "sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN\n"
                     "sasl.mechanism.inter.broker.protocol=PLAIN\n"
                     "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                     "org.apache.kafka.common.security.scram.ScramLoginModule required;\n"
                     "listener.name.sasl_ssl.plain.sasl.jaas.config="
                     "org.apache.kafka.common.security.plain.PlainLoginModule required "
                     "username=\"" KAFKA_ADMIN "\" password=\"%s\" user_" KAFKA_ADMIN
                     "=\"%s\" user_" KAFKA_USER "=\"%s\";\n"
                     "ssl.keystore.type=PKCS12\n"
                     "ssl.keystore.location=%s/server.p12\n"
                     "ssl.keystore.password=%s\n"
                     "ssl.key.password=%s\n"
                     "ssl.truststore.type=PEM\n"
                     "ssl.truststore.location=%s/ca.crt\n"
                     "ssl.client.auth=none\n",
                     st->host, st->kafka_port, st->host, st->kafka_controller_port, st->host,
                     st->kafka_port, c.kafka_admin_password, c.kafka_admin_password,
                     c.kafka_password, dir, c.keystore_password,
                     c.keystore_password, dir);
    explicit_bzero(&c, sizeof c);
    return n > 0 && (size_t)n < outlen ? 0 : SPATE_ETOOBIG;
}

int stack__secure_scram_args(const struct spate_config *cfg, char *admin, char *user,
                             size_t len)
{
    struct secure_creds c;
    if (read_creds(cfg, &c))
        return SPATE_ESTATE;
    snprintf(admin, len, "SCRAM-SHA-512=[name=" KAFKA_ADMIN ",password=%s]",
             c.kafka_admin_password);
    snprintf(user, len, "SCRAM-SHA-512=[name=" KAFKA_USER ",password=%s]", c.kafka_password);
    explicit_bzero(&c, sizeof c);
    return 0;
}

int stack__secure_cassandra_yaml(const struct spate_config *cfg, char *out, size_t outlen)
{
    struct secure_creds c;
    char dir[PATH_MAX];
    if (read_creds(cfg, &c) || secure_path(cfg, "", dir, sizeof dir))
        return SPATE_ESTATE;
    /* not optional: a client without TLS is refused, not served in the clear */
    int n = snprintf(out, outlen,
                     "client_encryption_options:\n"
                     "  enabled: true\n"
                     "  optional: false\n"
                     "  keystore: %s/server.p12\n"
                     "  keystore_password: %s\n"
                     "  require_client_auth: false\n",
                     dir, c.keystore_password);
    explicit_bzero(&c, sizeof c);
    return n > 0 && (size_t)n < outlen ? 0 : SPATE_ETOOBIG;
}

/* ---- probes and first-start set-up -------------------------------------------- */

int stack__secure_probe_kafka(const struct spate_config *cfg, int timeout_ms, char *err,
                              size_t errlen)
{
    struct secure_creds c;
    char ca[PATH_MAX], servers[300], errstr[512];
    if (read_creds(cfg, &c) || secure_path(cfg, "ca.crt", ca, sizeof ca)) {
        snprintf(err, errlen, "the secure stack's credentials are missing or unreadable");
        return SPATE_ESTATE;
    }
    struct spate_kv kv[] = {
        {"security.protocol", "SASL_SSL"},   {"sasl.mechanism", "PLAIN"},
        {"sasl.username", KAFKA_USER},       {"sasl.password", c.kafka_password},
        {"ssl.ca.location", ca},             {"socket.connection.setup.timeout.ms", "1000"},
    };
    struct spate_kvlist props = {kv, sizeof kv / sizeof kv[0]};
    snprintf(servers, sizeof servers, "%s:%d", cfg->stack.host, cfg->stack.kafka_port);
    rd_kafka_conf_t *conf = spate_kafka_client_conf(servers, &props, err, errlen);
    explicit_bzero(&c, sizeof c);
    if (!conf)
        return SPATE_EINVAL;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "%s", errstr);
        return SPATE_EKAFKA;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    int rc = 0;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "metadata request to %s (SASL_SSL): %s", servers,
                 rd_kafka_err2str(e));
        rc = SPATE_EUNAVAILABLE;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

int stack__secure_probe_cql(const struct spate_config *cfg, int timeout_ms, char *err,
                            size_t errlen)
{
    char ca[PATH_MAX];
    if (secure_path(cfg, "ca.crt", ca, sizeof ca))
        return SPATE_ETOOBIG;
    return cql_probe_tls(cfg->stack.host, cfg->stack.cassandra_port, ca, timeout_ms, err,
                         errlen);
}

static int cql_as(const struct spate_config *cfg, const char *user, const char *password,
                  struct cql_session **out, char *err, size_t errlen)
{
    char ca[PATH_MAX], cp[300];
    if (secure_path(cfg, "ca.crt", ca, sizeof ca))
        return SPATE_ETOOBIG;
    snprintf(cp, sizeof cp, "%s:%d", cfg->stack.host, cfg->stack.cassandra_port);
    const char *cps[] = {cp};
    struct cql_session_config sc;
    cql_session_config_init(&sc);
    sc.contact_points = cps;
    sc.contact_point_count = 1;
    sc.username = user;
    sc.password = password;
    sc.tls = 1;
    sc.tls_ca_file = ca;
    sc.tls_verify = 1;
    sc.discover_peers = 0;
    sc.connect_timeout_ms = 5000;
    sc.request_timeout_ms = 20000;
    return cql_session_new(&sc, out, err, errlen);
}

/* Once, when Cassandra first answers: our login role, and the well-known
 * cassandra/cassandra superuser given a password nobody knows. */
int stack__secure_after_ready(const struct spate_config *cfg, int timeout_s)
{
    char done[PATH_MAX];
    if (secure_path(cfg, "cassandra-roles.done", done, sizeof done))
        return SPATE_ETOOBIG;
    if (access(done, F_OK) == 0)
        return 0;
    struct secure_creds c;
    if (read_creds(cfg, &c))
        return SPATE_ESTATE;
    char err[512] = "", other[PASSWORD_LEN + 1], stmt[256];
    struct cql_session *s = NULL;
    int rc;
    /* the default superuser is created a moment after the port opens */
    int64_t deadline = spate_mono_ms() + (int64_t)timeout_s * 1000;
    while ((rc = cql_as(cfg, "cassandra", "cassandra", &s, err, sizeof err)) != 0 &&
           spate_mono_ms() < deadline)
        spate_sleep_ms(1000);
    if (rc == 0 && (rc = random_password(other)) == 0) {
        snprintf(stmt, sizeof stmt,
                 "CREATE ROLE IF NOT EXISTS " CASSANDRA_USER
                 " WITH PASSWORD = '%s' AND LOGIN = true AND SUPERUSER = false",
                 c.cassandra_password);
        rc = cql_query(s, stmt, NULL, 0, NULL, NULL);
        if (rc == 0) {
            snprintf(stmt, sizeof stmt, "ALTER ROLE cassandra WITH PASSWORD = '%s'", other);
            rc = cql_query(s, stmt, NULL, 0, NULL, NULL);
        }
        if (rc)
            snprintf(err, sizeof err, "%s", cql_session_errstr(s));
        explicit_bzero(stmt, sizeof stmt);
        explicit_bzero(other, sizeof other);
    }
    cql_session_free(s);
    explicit_bzero(&c, sizeof c);
    if (rc) {
        fprintf(stderr, "spate stack: could not create the Cassandra user " CASSANDRA_USER
                        ": %s\n",
                err);
        return rc;
    }
    return write_private(done, "roles created\n");
}

void stack_secure_describe(const struct spate_config *cfg, FILE *f)
{
    char dir[PATH_MAX];
    if (!stack__secure(cfg) || secure_path(cfg, "", dir, sizeof dir))
        return;
    fprintf(f,
            "\nsecure: Kafka SASL_SSL (PLAIN and SCRAM-SHA-512) on %s:%d, Cassandra\n"
            "PasswordAuthenticator and TLS on %s:%d. CA: %s/ca.crt. Users and passwords\n"
            "(0600): %s/" CREDENTIALS " (export them: set -a; . %s/" CREDENTIALS "; set +a).\n"
            "Config keys to set (SCRAM-SHA-512 needs librdkafka 2.6.1 or newer against Kafka 4;\n"
            "this spate has %s):\n"
            "  kafka:\n"
            "    properties:\n"
            "      security.protocol: SASL_SSL\n"
            "      sasl.mechanism: PLAIN\n"
            "      sasl.username: ${SPATE_KAFKA_USER}\n"
            "      sasl.password: ${SPATE_KAFKA_PASSWORD}\n"
            "      ssl.ca.location: %s/ca.crt\n"
            "  cassandra:\n"
            "    username: ${SPATE_CASSANDRA_USER}\n"
            "    password: ${SPATE_CASSANDRA_PASSWORD}\n"
            "    tls: {enabled: true, ca_file: %s/ca.crt}\n"
            "The Spark job takes the Kafka settings from kafka.properties.\n",
            cfg->stack.host, cfg->stack.kafka_port, cfg->stack.host, cfg->stack.cassandra_port,
            dir, dir, dir, rd_kafka_version_str(), dir, dir);
}
