/* SPDX-License-Identifier: Apache-2.0 */
/* it_cql_startup.c -- integration: a CQL v4 STARTUP answered with READY.
 * usage: it_cql_startup HOST PORT */
#include "stack/stack_internal.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    char err[256];
    int rc = stack__probe_cql(argv[1], atoi(argv[2]), 5000, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    printf("STARTUP -> READY from %s:%s\n", argv[1], argv[2]);
    return 0;
}
