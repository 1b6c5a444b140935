/* SPDX-License-Identifier: Apache-2.0 */
/* sink_fail.c -- what a failed write means: retry it, pause for the table, or reject the record. */
#include "sink_internal.h"

#include "spate/cql.h"
#include "spate/error.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* Invalid is both "this value is wrong" (an empty partition key, a guardrail)
 * and "the table or column is gone" (dropped under us): only the message
 * tells them apart. Cassandra 4 says "unconfigured table x" and "Undefined
 * column name x"; 5 says "table x does not exist" and "Undefined column name
 * x in table ks.t". */
static int schema_gone(const char *msg)
{
    static const char *const words[] = {"does not exist", "unconfigured table",
                                        "unconfigured columnfamily", "undefined column",
                                        "unknown identifier", "no keyspace has been specified"};
    if (!msg)
        return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (contains_nocase(msg, words[i]))
            return 1;
    return 0;
}

enum sink_fail sink__classify_write(int status, int server_code, const char *msg,
                                    const char **label)
{
    const char *unused;
    if (!label)
        label = &unused;
    *label = NULL;
    if (server_code >= 0) {
        switch (server_code) {
        /* the node (or its replicas) cannot take writes now; the same write
         * succeeds once it can, so rejecting the record would be wrong */
        case CQL_ERR_SERVER:
        case CQL_ERR_UNAVAILABLE:
        case CQL_ERR_OVERLOADED:
        case CQL_ERR_BOOTSTRAPPING:
        case CQL_ERR_TRUNCATE:
        case CQL_ERR_WRITE_TIMEOUT:
        case CQL_ERR_READ_TIMEOUT:
        case CQL_ERR_WRITE_FAILURE:
        case CQL_ERR_READ_FAILURE: return SINK_FAIL_RETRY;
        /* every record of the table would fail the same way until someone
         * fixes the grant or the schema: wait for that, reject nothing */
        case CQL_ERR_UNAUTHORIZED: *label = "unauthorized"; return SINK_FAIL_BLOCKED;
        case CQL_ERR_AUTH: *label = "authentication"; return SINK_FAIL_BLOCKED;
        case CQL_ERR_UNPREPARED: *label = "unprepared"; return SINK_FAIL_BLOCKED;
        case CQL_ERR_SYNTAX:
        case CQL_ERR_CONFIG:
        case CQL_ERR_ALREADY_EXISTS: *label = "schema"; return SINK_FAIL_BLOCKED;
        case CQL_ERR_INVALID:
            if (schema_gone(msg)) {
                *label = "schema";
                return SINK_FAIL_BLOCKED;
            }
            return SINK_FAIL_RECORD;
        /* a request the server cannot take as sent ("Request is too big"), a
         * function of the statement failing on these values */
        case CQL_ERR_PROTOCOL:
        case CQL_ERR_FUNCTION_FAILURE: return SINK_FAIL_RECORD;
        default: return SINK_FAIL_RETRY; /* a code newer than this client */
        }
    }
    switch (status) {
    case SPATE_ETYPE:
    case SPATE_ERANGE:
    case SPATE_ETOOBIG:
    case SPATE_EINVAL: return SINK_FAIL_RECORD; /* the client refused the values */
    case SPATE_EAUTH: *label = "authentication"; return SINK_FAIL_BLOCKED;
    default: return SINK_FAIL_RETRY; /* connection trouble, timeouts, backpressure */
    }
}
