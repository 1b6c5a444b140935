/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_stack.c -- `spate stack up|down|status|logs`: the local Kafka + Cassandra. */
#include "cli.h"

#include "spate/stack.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate stack up [--secure] [--nodes N]  start Kafka (KRaft) and Cassandra, wait until they serve\n"
            "       spate stack down      stop them (SIGTERM, then SIGKILL after stack.stop_timeout)\n"
            "       spate stack status    pid, port, state, uptime and memory of each service\n"
            "       spate stack logs [kafka|cassandra] [-n LINES] [-f]\n"
            "\n"
            "State, data and logs live in stack.data_dir (default .spate/). Ports, heap sizes\n"
            "and timeouts come from the stack section of the config.\n"
            "\n"
            "--secure (on a new state folder; it stays secure after): Kafka on SASL_SSL\n"
            "(SCRAM-SHA-512) and Cassandra with PasswordAuthenticator and client TLS; a CA,\n"
            "certificates and generated passwords in <data_dir>/secure. `stack status` says\n"
            "which config keys to set.\n"
            "\n"
            "--nodes N (or stack.nodes) runs a cluster: N brokers and N Cassandra nodes on\n"
            "127.0.0.1 .. 127.0.0.N, replication 3 and min.insync.replicas 2 (from 3 nodes);\n"
            "down and status cover every node.\n");
}

static int logs(struct spate_config *cfg, int argc, char **argv)
{
    int lines = 50, follow = 0;
    static const struct option opts[] = {
        {"lines", required_argument, NULL, 'n'}, {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "n:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': lines = atoi(optarg); break;
        case 'f': follow = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default: return cli_bad_option("stack logs", argv[optind - 1]);
        }
    }
    int which[2] = {1, 1};
    if (optind < argc) {
        if (!strcmp(argv[optind], "kafka"))
            which[1] = 0;
        else if (!strcmp(argv[optind], "cassandra"))
            which[0] = 0;
        else {
            fprintf(stderr, "spate stack logs: unknown service '%s' (kafka or cassandra)\n",
                    argv[optind]);
            return CLI_USAGE;
        }
    }
    char path[2][1024];
    int n = 0;
    for (int s = 0; s < STACK_NSERVICES; s++) {
        if (!which[s])
            continue;
        char p[1024];
        stack_log_path(cfg, (enum stack_service)s, p, sizeof p);
        /* the service's own log sits next to stdout.log */
        char *slash = strrchr(p, '/');
        if (slash)
            snprintf(slash + 1, sizeof p - (size_t)(slash + 1 - p), "%s",
                     s == STACK_KAFKA ? "server.log" : "system.log");
        snprintf(path[n++], sizeof path[0], "%s", p);
    }
    char nbuf[16];
    snprintf(nbuf, sizeof nbuf, "%d", lines > 0 ? lines : 50);
    char *args[8] = {"tail", "-n", nbuf};
    int a = 3;
    if (follow)
        args[a++] = "-F";
    for (int i = 0; i < n; i++)
        args[a++] = path[i];
    args[a] = NULL;
    fflush(stdout);
    execvp("tail", args);
    perror("spate stack logs: tail");
    return CLI_FAIL;
}

int cmd_stack(struct cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(sub, "up") && strcmp(sub, "down") && strcmp(sub, "status") && strcmp(sub, "logs")) {
        fprintf(stderr, "spate stack: unknown subcommand '%s' (up, down, status, logs)\n", sub);
        return CLI_USAGE;
    }
    int secure = 0, nodes = 0;
    for (int i = 2; strcmp(sub, "logs") && i < argc; i++) {
        if (!strcmp(sub, "up") && !strcmp(argv[i], "--secure")) {
            secure = 1;
            continue;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (!strcmp(sub, "up") && !strcmp(argv[i], "--nodes") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > STACK_MAX_NODES) {
                fprintf(stderr, "spate stack up: --nodes must be 1 to %d, not '%s'\n",
                        STACK_MAX_NODES, argv[i]);
                return CLI_USAGE;
            }
            nodes = (int)v;
            continue;
        }
        return cli_bad_option("stack", argv[i]);
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    if (nodes)
        cfg->stack.nodes = nodes;
    if (secure && cfg->stack.nodes > 1) {
        fprintf(stderr, "spate stack up: --secure runs one node; a secure cluster "
                        "(--nodes > 1) is not supported yet\n");
        return CLI_USAGE;
    }
    if (!strcmp(sub, "up")) {
        if (secure && stack_secure_init(cfg) != 0)
            return CLI_FAIL;
        return stack_up(cfg, 0) == 0 ? CLI_OK : CLI_FAIL;
    }
    if (!strcmp(sub, "down"))
        return stack_down(cfg, 0) == 0 ? CLI_OK : CLI_FAIL;
    if (!strcmp(sub, "logs"))
        return logs(cfg, argc - 1, argv + 1);

    struct stack_status st[2 + 2 * STACK_MAX_NODES];
    int count = stack_status_all(cfg, st, 2 + 2 * STACK_MAX_NODES);
    printf("%-20s %-8s %-6s %-9s %-9s %s\n", "SERVICE", "PID", "PORT", "STATE", "UPTIME", "RSS");
    int all_ready = 1;
    for (int s = 0; s < count; s++) {
        char pid[24] = "-", up[48] = "-", rss[32] = "-";
        const char *state = st[s].ready ? "ready" : st[s].running ? "starting" : "stopped";
        if (st[s].stale)
            state = "stale";
        if (st[s].running) {
            snprintf(pid, sizeof pid, "%d", (int)st[s].pid);
            snprintf(up, sizeof up, "%lldm%02llds", (long long)st[s].uptime_s / 60,
                     (long long)st[s].uptime_s % 60);
            snprintf(rss, sizeof rss, "%lld MB", (long long)st[s].rss_kb / 1024);
        }
        printf("%-20s %-8s %-6d %-9s %-9s %s\n", st[s].name, pid, st[s].port, state, up, rss);
        all_ready &= st[s].ready;
    }
    stack_secure_describe(cfg, stdout);
    return all_ready ? CLI_OK : CLI_FAIL;
}
