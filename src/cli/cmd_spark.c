/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_spark.c -- `spate spark run|submit`: start the SQL pipeline on Spark. */
#include "cli.h"

#include "spate/error.h"
#include "spate/kafka.h"
#include "spate/log.h"
#include "spate/flow.h"
#include "spate/proc.h"
#include "spate/util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Spark has no C API: the job is spark/spate_job.py, and this command only
 * turns the spark section of the config into its command line and execs the
 * virtualenv's python (run, Spark local mode) or spark-submit (submit, any
 * master). Exec rather than fork, so a supervisor's signals and kill -9 reach
 * the Spark driver itself. */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate spark run    [options]              the job on Spark local mode\n"
            "       spate spark submit --master URL [options] the same job on a cluster\n"
            "\n"
            "options:\n"
            "  --query NAME           run only this query (repeatable; default: every\n"
            "                         query file in spark.sql_dir)\n"
            "  --trigger [Q=]TRIGGER  auto | realtime[:DUR] | microbatch | processingTime:DUR,\n"
            "                         for every query or for query Q (overrides the config)\n"
            "  --check                load the SQL and print each query's trigger, then exit\n"
            "  --dry-run              print the command instead of running it\n"
            "  --master URL           (submit) spark://host:7077, k8s://..., yarn\n"
            "  --deploy-mode MODE     (submit) client (default) or cluster\n"
            "\n"
            "Settings come from the spark section of the config: master, trigger, queries\n"
            "(per-query triggers), sql_dir, checkpoint_dir (default\n"
            "<stack.data_dir>/spark/checkpoints, one folder per query), starting_offsets,\n"
            "fail_on_data_loss, watermark, conf (Spark conf), kafka_options, python,\n"
            "spark_submit, driver, jars_dir. Topics and brokers come from the kafka section.\n");
}

/* ---- argv (spate/proc.h) ------------------------------------------------------ */

static void arg_add2(struct spate_argv *a, const char *opt, const char *val)
{
    spate_argv_add(a, opt);
    spate_argv_add(a, val);
}

static void arg_addkv(struct spate_argv *a, const char *opt, const char *k, const char *v)
{
    spate_argv_add(a, opt);
    spate_argv_addf(a, "%s=%s", k, v);
}

/* ---- paths -------------------------------------------------------------------- */

/* Absolute form of path: as given when absolute or present relative to the
 * working directory, else relative to the parent of the folder holding the
 * spate binary (build/spate -> the project root). Writes the cwd-relative
 * form when neither exists, so error messages name what was looked for. */
static void resolve_path(const char *path, char *out, size_t outlen)
{
    if (path[0] == '/') {
        spate_strlcpy(out, path, outlen);
        return;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        spate_strlcpy(cwd, ".", sizeof cwd);
    snprintf(out, outlen, "%s/%s", cwd, path);
    if (access(out, F_OK) == 0)
        return;
    char exe[PATH_MAX];
    if (spate_self_exe(exe, sizeof exe) == 0) {
        char *slash = strrchr(exe, '/');
        if (slash) {
            /* resolve the root, not the file: the venv's python is a symlink
             * whose target is not the venv */
            spate_strlcpy(slash, "/..", sizeof exe - (size_t)(slash - exe));
            char root[PATH_MAX];
            if (realpath(exe, root)) {
                char alt[PATH_MAX * 2];
                snprintf(alt, sizeof alt, "%s/%s", root, path);
                if (access(alt, F_OK) == 0) {
                    spate_strlcpy(out, alt, outlen);
                    return;
                }
            }
        }
    }
}

/* Like resolve_path, for a folder that need not exist yet (checkpoints):
 * relative to the working directory. */
static void absolute_path(const char *path, char *out, size_t outlen)
{
    if (path[0] == '/') {
        spate_strlcpy(out, path, outlen);
        return;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        spate_strlcpy(cwd, ".", sizeof cwd);
    snprintf(out, outlen, "%s/%s", cwd, path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Comma-separated absolute paths of dir's *.jar files, sorted; into b. */
static int collect_jars(const char *dir, struct spate_buf *b, size_t *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return SPATE_ESYS;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".jar") != 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                rc = SPATE_ENOMEM;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if ((names[n] = strdup(e->d_name)) == NULL) {
            rc = SPATE_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n > 0) {
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = spate_buf_appendf(b, "%s%s/%s", i ? "," : "", dir, names[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    *count = n;
    return rc;
}

/* ---- the command -------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct spark_opts {
    int submit;
    int dry_run;
    int check;
    const char *master;
    const char *deploy_mode;
    const char *trigger;   /* --trigger T for all queries */
    struct spate_argv query_triggers; /* Q=T */
    struct spate_argv queries;
};

static void print_command(char **argv)
{
    for (size_t i = 0; argv[i]; i++) {
        const char *s = argv[i];
        int plain = s[0] != '\0';
        for (const char *p = s; *p; p++)
            if (!(strchr("-_=./:,@+%", *p) || (*p >= '0' && *p <= '9') ||
                  (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                plain = 0;
        if (i)
            putchar(' ');
        if (plain) {
            fputs(s, stdout);
            continue;
        }
        putchar('\'');
        for (const char *p = s; *p; p++) {
            if (*p == '\'')
                fputs("'\\''", stdout);
            else
                putchar(*p);
        }
        putchar('\'');
    }
    putchar('\n');
}

static int build_and_exec(struct spate_config *cfg, struct spark_opts *o)
{
    const struct spate_spark_config *sc = &cfg->spark;
    char python[PATH_MAX], submit[PATH_MAX], driver[PATH_MAX], jars_dir[PATH_MAX];
    char sql_dir[PATH_MAX], ckpt[PATH_MAX];
    resolve_path(sc->python, python, sizeof python);
    resolve_path(sc->spark_submit, submit, sizeof submit);
    resolve_path(sc->driver, driver, sizeof driver);
    resolve_path(sc->jars_dir, jars_dir, sizeof jars_dir);
    resolve_path(sc->sql_dir, sql_dir, sizeof sql_dir);
    if (sc->checkpoint_dir) {
        absolute_path(sc->checkpoint_dir, ckpt, sizeof ckpt);
    } else {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s/spark/checkpoints", cfg->stack.data_dir);
        absolute_path(rel, ckpt, sizeof ckpt);
    }

    const char *exe = o->submit ? submit : python;
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "spate spark: %s not found or not executable (spark.%s); "
                        "run 'make setup' to create the virtualenv\n",
                exe, o->submit ? "spark_submit" : "python");
        return CLI_FAIL;
    }
    if (access(driver, R_OK) != 0) {
        fprintf(stderr, "spate spark: driver %s not found (spark.driver)\n", driver);
        return CLI_FAIL;
    }
    struct spate_buf jars = {0};
    size_t njars = 0;
    if (collect_jars(jars_dir, &jars, &njars) != 0 || njars == 0) {
        fprintf(stderr, "spate spark: no jars in %s (spark.jars_dir): the Kafka connector "
                        "is missing; run 'make setup'\n", jars_dir);
        spate_buf_free(&jars);
        return CLI_FAIL;
    }

    struct spate_argv a = {0};
    if (o->submit) {
        spate_argv_add(&a, submit);
        arg_add2(&a, "--master", o->master);
        arg_add2(&a, "--deploy-mode", o->deploy_mode ? o->deploy_mode : "client");
        arg_add2(&a, "--name", "spate");
        arg_add2(&a, "--jars", jars.data);
        for (size_t i = 0; i < sc->conf.count; i++)
            arg_addkv(&a, "--conf", sc->conf.items[i].key, sc->conf.items[i].value);
        /* the virtualenv's python for the driver; executors run no Python
         * code (the job is SQL only), so they need none */
        arg_addkv(&a, "--conf", "spark.pyspark.driver.python", python);
        spate_argv_add(&a, driver);
    } else {
        spate_argv_add(&a, python);
        spate_argv_add(&a, driver);
        arg_add2(&a, "--master", o->master ? o->master : sc->master);
        arg_add2(&a, "--jars", jars.data);
        for (size_t i = 0; i < sc->conf.count; i++)
            arg_addkv(&a, "--conf", sc->conf.items[i].key, sc->conf.items[i].value);
    }
    spate_buf_free(&jars);

    char parts[16];
    snprintf(parts, sizeof parts, "%d", cfg->kafka.partitions);
    arg_add2(&a, "--bootstrap", cfg->kafka.bootstrap_servers);
    arg_add2(&a, "--kafka-partitions", parts);
    arg_add2(&a, "--topic-raw", cfg->kafka.topic_raw);
    arg_add2(&a, "--topic-clean", cfg->kafka.topic_clean);
    arg_add2(&a, "--topic-stats", cfg->kafka.topic_stats);
    arg_add2(&a, "--topic-dlq", cfg->kafka.topic_dlq);
    arg_add2(&a, "--compression", cfg->kafka.compression);
    for (size_t i = 0; i < sc->kafka_options.count; i++)
        arg_addkv(&a, "--kafka-option", sc->kafka_options.items[i].key,
                  sc->kafka_options.items[i].value);
    arg_add2(&a, "--sql-dir", sql_dir);
    arg_add2(&a, "--checkpoint-dir", ckpt);
    /* `spate run` of every pipeline: one Spark session (one JVM) runs them all,
     * each with the topics and checkpoints a `spate --pipeline NAME` run uses */
    for (size_t i = 0; cfg->all_pipelines && i < cfg->pipeline_count; i++) {
        const struct spate_pipeline_config *pl = &cfg->pipelines[i];
        char dir[PATH_MAX], pck[PATH_MAX], t[4][256];
        static const char *const kinds[] = {"raw", "clean", "stats", "dlq"};
        resolve_path(pl->sql_dir, dir, sizeof dir);
        snprintf(pck, sizeof pck, "%s/%s", ckpt, pl->name);
        for (int k = 0; k < 4; k++)
            spate_config_topic_of(cfg, pl->name, kinds[k], t[k], sizeof t[k]);
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", pl->name,
                              "sql_dir", dir, "checkpoint_dir", pck, "topic_raw", t[0],
                              "topic_clean", t[1], "topic_stats", t[2], "topic_dlq", t[3]);
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (txt)
            arg_add2(&a, "--extra-pipeline", txt);
        else
            a.oom = 1;
        free(txt);
        json_decref(j);
    }
    arg_add2(&a, "--starting-offsets", sc->starting_offsets);
    arg_add2(&a, "--fail-on-data-loss", sc->fail_on_data_loss ? "true" : "false");
    arg_add2(&a, "--watermark", sc->watermark);
    arg_add2(&a, "--trigger", o->trigger ? o->trigger : sc->trigger);
    for (size_t i = 0; i < sc->query_count; i++)
        if (sc->queries[i].trigger)
            arg_addkv(&a, "--query-trigger", sc->queries[i].name, sc->queries[i].trigger);
    for (int i = 0; i < o->query_triggers.argc; i++)
        arg_add2(&a, "--query-trigger", o->query_triggers.argv[i]);
    for (int i = 0; i < o->queries.argc; i++)
        arg_add2(&a, "--query", o->queries.argv[i]);
    enum spate_log_level lvl = spate_log_get_level();
    arg_add2(&a, "--spark-log-level", lvl <= SPATE_LOG_DEBUG ? "INFO" : "WARN");
    if (o->check)
        spate_argv_add(&a, "--check");
    if (a.oom) {
        spate_argv_free(&a);
        fprintf(stderr, "spate spark: out of memory\n");
        return CLI_FAIL;
    }

    if (o->dry_run) {
        print_command(a.argv);
        spate_argv_free(&a);
        return CLI_OK;
    }
    /* Spark's Kafka source fails with a page of stack traces when the raw
     * topic is missing (a fresh stack, nothing ingested yet): create the
     * pipeline's topics as ingest and the sink do, or wait for them with one
     * line saying what is missing. */
    struct sigaction sa = {.sa_handler = on_stop_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    char err[512];
    int rc = o->check ? 0
                      : flow_await_topic(cfg, cfg->kafka.topic_raw, "spark", &stop_requested,
                                             err, sizeof err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc) {
        fprintf(stderr, "spate spark: %s\n", err);
        spate_argv_free(&a);
        return CLI_FAIL;
    }
    /* The job translates kafka.properties' security settings into its Java
     * clients' options; they travel in the environment, not in argv, where
     * every user of the machine could read a password. */
    json_t *props = json_object();
    for (size_t i = 0; props && i < cfg->kafka.properties.count; i++) {
        const struct spate_kv *kv = &cfg->kafka.properties.items[i];
        if (spate_kafka_connection_setting(kv->key))
            json_object_set_new(props, kv->key, json_string(kv->value));
    }
    char *props_json = props ? json_dumps(props, JSON_COMPACT) : NULL;
    json_decref(props);
    if (props_json) {
        setenv("SPATE_KAFKA_PROPERTIES", props_json, 1);
        explicit_bzero(props_json, strlen(props_json));
        free(props_json);
    }
    /* the driver's own python for PySpark's workers too, should a query ever
     * need one; the console progress bar is noise in a log */
    setenv("PYSPARK_PYTHON", python, 0);
    SPATE_INFO("spark", "%s the job: %s %s (checkpoints in %s)",
               o->submit ? "submitting" : "starting", exe, driver, ckpt);
    fflush(NULL);
    execv(exe, a.argv);
    int e = errno;
    fprintf(stderr, "spate spark: cannot run %s: %s\n", exe, strerror(e));
    spate_argv_free(&a);
    return CLI_FAIL;
}

int cmd_spark(struct cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    struct spark_opts o = {0};
    if (!strcmp(argv[1], "submit"))
        o.submit = 1;
    else if (strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "spate spark: unknown subcommand '%s' (run or submit)\n", argv[1]);
        return CLI_USAGE;
    }
    const char *sub = o.submit ? "spark submit" : "spark run";
    static const struct option opts[] = {
        {"query", required_argument, NULL, 'q'},
        {"trigger", required_argument, NULL, 't'},
        {"master", required_argument, NULL, 'm'},
        {"deploy-mode", required_argument, NULL, 'd'},
        {"check", no_argument, NULL, 'C'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    /* options follow the subcommand: parse argv from "run"/"submit" on */
    char **av = argv + 1;
    int ac = argc - 1;
    optind = 1;
    opterr = 0;
    int c, rc = CLI_OK;
    while (rc == CLI_OK && (c = getopt_long(ac, av, "+q:t:m:d:Cnh", opts, NULL)) != -1) {
        switch (c) {
        case 'q': spate_argv_add(&o.queries, optarg); break;
        case 't':
            if (strchr(optarg, '=') != NULL)
                spate_argv_add(&o.query_triggers, optarg);
            else
                o.trigger = optarg;
            break;
        case 'm': o.master = optarg; break;
        case 'd':
            if (strcmp(optarg, "client") != 0 && strcmp(optarg, "cluster") != 0) {
                fprintf(stderr, "spate %s: --deploy-mode must be client or cluster\n", sub);
                rc = CLI_USAGE;
            }
            o.deploy_mode = optarg;
            break;
        case 'C': o.check = 1; break;
        case 'n': o.dry_run = 1; break;
        case 'h':
            usage(stdout);
            rc = -1;
            break;
        default: rc = cli_bad_option(sub, av[optind - 1]); break;
        }
    }
    if (rc == CLI_OK && optind < ac)
        rc = cli_bad_option(sub, av[optind]);
    if (rc == CLI_OK && o.submit && !o.master) {
        fprintf(stderr, "spate spark submit: --master URL is required (e.g. spark://host:7077)\n");
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK && !o.submit && o.deploy_mode) {
        fprintf(stderr, "spate spark run: --deploy-mode is for submit\n");
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK) {
        struct spate_config *cfg = cli_config(ctx);
        rc = cfg ? build_and_exec(cfg, &o) : CLI_USAGE;
    }
    spate_argv_free(&o.queries);
    spate_argv_free(&o.query_triggers);
    return rc < 0 ? CLI_OK : rc;
}
