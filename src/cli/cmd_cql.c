/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_cql.c -- `spate cql`: run CQL statements from -e, a file or stdin; table or JSON output. */
#include "cli.h"

#include "spate/cql.h"
#include "spate/error.h"
#include "spate/util.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

struct cql_cli {
    struct cql_session *s;
    int json;
    long limit; /* 0 = all rows */
    int page_size;
    enum cql_consistency cl;
    int failed;
    int quiet;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spate cql [options] [-e STATEMENT | -f FILE]\n"
            "\n"
            "Runs CQL statements against Cassandra; without -e or -f they are read from\n"
            "stdin (separated by ';'). Rows print as an aligned table, or one JSON object\n"
            "per row with --json. Exit code 1 when a statement fails.\n"
            "\n"
            "options:\n"
            "  -e, --execute STMT     run STMT (may hold several, separated by ';')\n"
            "  -f, --file FILE        run the statements in FILE\n"
            "      --json             one JSON object per row\n"
            "      --limit N          print at most N rows per statement (pages as needed)\n"
            "      --page-size N      rows per page (default 5000)\n"
            "  -H, --host HOST        contact point (default: cassandra.contact_points)\n"
            "  -P, --port PORT        native port (default: cassandra.port)\n"
            "  -k, --keyspace KS      USE this keyspace first\n"
            "  -u, --user USER        username (PasswordAuthenticator)\n"
            "  -p, --password         ask for the password on the terminal (no echo); without\n"
            "                         it: $SPATE_CASSANDRA_PASSWORD, then cassandra.password,\n"
            "                         then ask when a user is set and a terminal is there.\n"
            "                         Never on the command line: every user can read argv\n"
            "      --consistency CL   e.g. ONE, QUORUM (default: cassandra.consistency)\n"
            "      --tls              use TLS; --ca FILE, --cert FILE, --key FILE, --no-verify\n"
            "      --timeout DUR      request timeout, e.g. 5s\n"
            "  -q, --quiet            no row counts or status lines\n");
}

/* Splits on ';' outside quotes and comments. Returns the next statement (heap,
 * trimmed) or NULL at the end; *pos advances. */
static char *next_statement(const char *text, size_t *pos)
{
    size_t i = *pos, n = strlen(text);
    struct spate_buf b = {0};
    char quote = 0;
    while (i < n) {
        char c = text[i];
        if (quote) {
            spate_buf_append(&b, &c, 1);
            if (c == quote) {
                if (i + 1 < n && text[i + 1] == quote) {
                    spate_buf_append(&b, &c, 1);
                    i++;
                } else {
                    quote = 0;
                }
            }
            i++;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
        } else if ((c == '-' && i + 1 < n && text[i + 1] == '-') ||
                   (c == '/' && i + 1 < n && text[i + 1] == '/')) {
            while (i < n && text[i] != '\n')
                i++;
            continue;
        } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
            const char *end = strstr(text + i + 2, "*/");
            i = end ? (size_t)(end - text) + 2 : n;
            continue;
        } else if (c == ';') {
            i++;
            break;
        }
        spate_buf_append(&b, &c, 1);
        i++;
    }
    *pos = i;
    spate_buf_append(&b, "", 1);
    char *s = b.data;
    if (!s)
        return NULL;
    char *start = s;
    while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
        start++;
    size_t l = strlen(start);
    while (l && (start[l - 1] == ' ' || start[l - 1] == '\t' || start[l - 1] == '\n' ||
                 start[l - 1] == '\r'))
        start[--l] = '\0';
    if (!l) {
        free(s);
        return i < n ? next_statement(text, pos) : NULL;
    }
    memmove(s, start, l + 1);
    return s;
}

struct table {
    size_t ncols;
    char **cells; /* rows * ncols */
    size_t rows, cap;
    size_t *width;
};

static size_t utf8_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void print_table(struct table *t, const struct cql_result *r)
{
    for (size_t c = 0; c < t->ncols; c++) {
        size_t w = utf8_width(cql_result_column_name(r, c));
        if (w > t->width[c])
            t->width[c] = w;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        const char *name = cql_result_column_name(r, c);
        printf("%s %*s%s", c ? " |" : "", (int)(t->width[c] - utf8_width(name)), "", name);
    }
    printf("\n");
    for (size_t c = 0; c < t->ncols; c++) {
        printf("%s", c ? "-+-" : "-");
        for (size_t k = 0; k < t->width[c]; k++)
            putchar('-');
    }
    printf("\n");
    for (size_t row = 0; row < t->rows; row++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = t->cells[row * t->ncols + c];
            printf("%s %*s%s", c ? " |" : "", (int)(t->width[c] - utf8_width(v)), "", v);
        }
        printf("\n");
    }
}

static int run_one(struct cql_cli *cli, const char *stmt)
{
    struct cql_query_opts o = {.consistency = cli->cl, .page_size = cli->page_size};
    struct table t = {0};
    struct cql_result *first = NULL, *r = NULL;
    long printed = 0;
    int rc = 0;
    void *ps_copy = NULL;
    for (;;) {
        rc = cql_query(cli->s, stmt, NULL, 0, &o, &r);
        if (rc) {
            fprintf(stderr, "error: %s\n", cql_session_errstr(cli->s));
            break;
        }
        for (size_t w = 0; w < cql_result_warning_count(r); w++)
            fprintf(stderr, "warning: %s\n", cql_result_warning(r, w));
        if (cql_result_kind(r) != CQL_RESULT_ROWS) {
            if (!cli->quiet) {
                const char *info = cql_result_info(r);
                if (cql_result_kind(r) == CQL_RESULT_SET_KEYSPACE)
                    fprintf(stderr, "keyspace: %s\n", info);
                else if (info)
                    fprintf(stderr, "%s\n", info);
            }
            break;
        }
        size_t nc = cql_result_column_count(r);
        if (!t.width) {
            t.ncols = nc;
            t.width = calloc(nc ? nc : 1, sizeof *t.width);
        }
        struct spate_buf line = {0};
        for (size_t row = 0; row < cql_result_row_count(r); row++) {
            if (cli->limit && printed >= cli->limit)
                break;
            if (cli->json) {
                spate_buf_reset(&line);
                spate_buf_append(&line, "{", 1);
                for (size_t c = 0; c < nc; c++) {
                    struct spate_buf key = {0};
                    spate_buf_appendf(&line, "%s\"%s\":", c ? "," : "", cql_result_column_name(r, c));
                    spate_buf_free(&key);
                    cql_result_format_cell(r, row, c, 1, &line);
                }
                spate_buf_append(&line, "}\n", 2);
                fwrite(line.data, 1, line.len, stdout);
            } else {
                if (t.rows == t.cap) {
                    t.cap = t.cap ? t.cap * 2 : 256;
                    t.cells = realloc(t.cells, t.cap * (nc ? nc : 1) * sizeof *t.cells);
                }
                for (size_t c = 0; c < nc; c++) {
                    spate_buf_reset(&line);
                    cql_result_format_cell(r, row, c, 0, &line);
                    spate_buf_append(&line, "", 1);
                    char *cell = strdup(line.data);
                    t.cells[t.rows * nc + c] = cell;
                    size_t w = utf8_width(cell);
                    if (w > t.width[c])
                        t.width[c] = w;
                }
                t.rows++;
            }
            printed++;
        }
        spate_buf_free(&line);
        int more = cql_result_has_more_pages(r) && !(cli->limit && printed >= cli->limit);
        if (more) {
            const void *ps;
            size_t psl;
            cql_result_paging_state(r, &ps, &psl);
            free(ps_copy);
            ps_copy = malloc(psl ? psl : 1);
            memcpy(ps_copy, ps, psl);
            o.paging_state = ps_copy;
            o.paging_state_len = psl;
        }
        if (!first) {
            first = r;
            r = NULL;
        } else {
            cql_result_free(r);
            r = NULL;
        }
        if (!more)
            break;
    }
    if (first && cql_result_kind(first) == CQL_RESULT_ROWS) {
        if (!cli->json)
            print_table(&t, first);
        if (!cli->quiet && !cli->json)
            printf("\n(%ld rows)\n", printed);
    }
    for (size_t i = 0; i < t.rows * t.ncols; i++)
        free(t.cells[i]);
    free(t.cells);
    free(t.width);
    free(ps_copy);
    cql_result_free(first);
    cql_result_free(r);
    fflush(stdout);
    return rc;
}

static int run_text(struct cql_cli *cli, const char *text)
{
    size_t pos = 0;
    char *stmt;
    while ((stmt = next_statement(text, &pos)) != NULL) {
        if (run_one(cli, stmt))
            cli->failed = 1;
        free(stmt);
    }
    return 0;
}

static char *read_stream(FILE *f)
{
    struct spate_buf b = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        spate_buf_append(&b, buf, n);
    spate_buf_append(&b, "", 1);
    return b.data;
}

/* Asks on the controlling terminal with echo off (stdin may carry the
 * statements). 0, or -1 when there is no terminal. */
static int read_password(const char *user, char *out, size_t outlen)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    FILE *tty = fdopen(fd, "r+");
    if (!tty) {
        close(fd);
        return -1;
    }
    struct termios old, quiet;
    int have = tcgetattr(fd, &old) == 0;
    if (have) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    fprintf(tty, "Cassandra password%s%s: ", user ? " for " : "", user ? user : "");
    fflush(tty);
    int rc = fgets(out, (int)outlen, tty) ? 0 : -1;
    if (have)
        tcsetattr(fd, TCSAFLUSH, &old);
    fprintf(tty, "\n");
    fclose(tty);
    if (rc == 0)
        out[strcspn(out, "\r\n")] = '\0';
    return rc;
}

int cmd_cql(struct cli_ctx *ctx, int argc, char **argv)
{
    enum {
        O_JSON = 256, O_LIMIT, O_PAGE, O_CL, O_TLS, O_CA, O_CERT, O_KEY, O_NOVERIFY, O_TIMEOUT
    };
    static const struct option opts[] = {
        {"execute", required_argument, NULL, 'e'},  {"file", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, O_JSON},         {"limit", required_argument, NULL, O_LIMIT},
        {"page-size", required_argument, NULL, O_PAGE}, {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'P'},      {"keyspace", required_argument, NULL, 'k'},
        {"user", required_argument, NULL, 'u'},      {"password", optional_argument, NULL, 'p'},
        {"consistency", required_argument, NULL, O_CL}, {"tls", no_argument, NULL, O_TLS},
        {"ca", required_argument, NULL, O_CA},       {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},     {"no-verify", no_argument, NULL, O_NOVERIFY},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    const char *exec = NULL, *file = NULL, *host = NULL, *keyspace = NULL, *user = NULL,
               *ca = NULL, *cert = NULL, *key = NULL, *clname = NULL;
    int port = 0, tls = -1, noverify = 0, ask = 0;
    static const char argv_password[] =
        "spate cql: a password on the command line is visible to every user of the machine "
        "(ps, /proc); set SPATE_CASSANDRA_PASSWORD or use -p alone to be asked for it\n";
    int64_t timeout_ms = 0;
    struct cql_cli cli = {.page_size = 0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "e:f:H:P:k:u:p::qh", opts, NULL)) != -1) {
        switch (c) {
        case 'e': exec = optarg; break;
        case 'f': file = optarg; break;
        case O_JSON: cli.json = 1; break;
        case O_LIMIT:
            cli.limit = strtol(optarg, NULL, 10);
            if (cli.limit <= 0) {
                fprintf(stderr, "spate cql: --limit needs a positive number\n");
                return CLI_USAGE;
            }
            break;
        case O_PAGE: cli.page_size = atoi(optarg); break;
        case 'H': host = optarg; break;
        case 'P': port = atoi(optarg); break;
        case 'k': keyspace = optarg; break;
        case 'u': user = optarg; break;
        case 'p':
            if (optarg) {
                fputs(argv_password, stderr);
                return CLI_USAGE;
            }
            ask = 1;
            break;
        case O_CL: clname = optarg; break;
        case O_TLS: tls = 1; break;
        case O_CA: ca = optarg; break;
        case O_CERT: cert = optarg; break;
        case O_KEY: key = optarg; break;
        case O_NOVERIFY: noverify = 1; break;
        case O_TIMEOUT:
            if (spate_parse_duration_ms(optarg, &timeout_ms)) {
                fprintf(stderr, "spate cql: bad --timeout '%s'\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'q': cli.quiet = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default: return cli_bad_option("cql", argv[optind - 1]);
        }
    }
    if (optind < argc && ask) { /* "-p secret": the secret is the stray argument */
        fputs(argv_password, stderr);
        return CLI_USAGE;
    }
    if (optind < argc && !exec) {
        fprintf(stderr, "spate cql: unexpected argument '%s' (quote the statement and use -e)\n",
                argv[optind]);
        return CLI_USAGE;
    }
    struct spate_config *cfg = cli_config(ctx);
    if (!cfg)
        return CLI_USAGE;
    struct cql_session_config sc;
    cql_session_config_from_spate(&sc, &cfg->cassandra);
    const char *cp[1];
    if (host) {
        cp[0] = host;
        sc.contact_points = cp;
        sc.contact_point_count = 1;
        sc.discover_peers = 0;
    }
    if (port)
        sc.port = port;
    if (user)
        sc.username = user;
    char typed[512] = "";
    const char *env = getenv("SPATE_CASSANDRA_PASSWORD");
    if (ask || (sc.username && !(env && *env) && !(sc.password && *sc.password) &&
                isatty(STDERR_FILENO))) {
        if (read_password(sc.username, typed, sizeof typed) != 0) {
            fprintf(stderr, "spate cql: cannot read a password: no terminal "
                            "(set SPATE_CASSANDRA_PASSWORD)\n");
            return CLI_USAGE;
        }
        sc.password = typed;
    } else if (env && *env) {
        sc.password = env;
    }
    if (tls == 1)
        sc.tls = 1;
    if (ca)
        sc.tls_ca_file = ca;
    if (cert)
        sc.tls_cert_file = cert;
    if (key)
        sc.tls_key_file = key;
    if (noverify)
        sc.tls_verify = 0;
    if (timeout_ms > 0)
        sc.request_timeout_ms = (int)timeout_ms;
    sc.keyspace = keyspace;
    sc.connections_per_host = 1;
    if (clname && cql_consistency_parse(clname, &cli.cl)) {
        fprintf(stderr, "spate cql: unknown consistency level '%s'\n", clname);
        return CLI_USAGE;
    }
    if (!clname)
        cli.cl = CQL_CL_ONE; /* interactive reads of a dev node: like cqlsh */
    char err[512];
    int rc = cql_session_new(&sc, &cli.s, err, sizeof err);
    /* the session keeps its own copy; this one must not linger in memory */
    explicit_bzero(typed, sizeof typed);
    if (rc) {
        fprintf(stderr, "spate cql: cannot connect: %s\n", err);
        return CLI_FAIL;
    }
    char *text = NULL;
    if (exec) {
        run_text(&cli, exec);
    } else if (!file && isatty(STDIN_FILENO)) {
        /* interactive: run each statement once its ';' is typed */
        struct spate_buf acc = {0};
        char line[4096];
        fprintf(stderr, "connected; statements end with ';', Ctrl-D quits\n");
        for (;;) {
            fprintf(stderr, acc.len ? "   ...> " : "cql> ");
            if (!fgets(line, sizeof line, stdin))
                break;
            spate_buf_append(&acc, line, strlen(line));
            size_t l = acc.len;
            while (l && (acc.data[l - 1] == '\n' || acc.data[l - 1] == ' ' || acc.data[l - 1] == '\t'))
                l--;
            if (l && acc.data[l - 1] == ';') {
                spate_buf_append(&acc, "", 1);
                run_text(&cli, acc.data);
                spate_buf_reset(&acc);
            }
        }
        if (acc.len) {
            spate_buf_append(&acc, "", 1);
            run_text(&cli, acc.data);
        }
        spate_buf_free(&acc);
        fprintf(stderr, "\n");
    } else {
        FILE *f = stdin;
        if (file && strcmp(file, "-") != 0) {
            f = fopen(file, "r");
            if (!f) {
                fprintf(stderr, "spate cql: cannot open %s: %m\n", file);
                cql_session_free(cli.s);
                return CLI_FAIL;
            }
        }
        text = read_stream(f);
        if (f != stdin)
            fclose(f);
        run_text(&cli, text ? text : "");
    }
    free(text);
    cql_session_free(cli.s);
    return cli.failed ? CLI_FAIL : CLI_OK;
}
