/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_config.c -- libFuzzer target: spate.yaml bytes -> a config or a FILE:LINE: key error. */
#include "spate/config.h"
#include "spate/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        /* One variable set, one not: both branches of ${X:-default}. */
        setenv("SPATE_FUZZ_SET", "9042", 1);
        unsetenv("SPATE_FUZZ_UNSET");
        once = 1;
    }
    char *yaml = malloc(size + 1);
    if (!yaml)
        return 0;
    memcpy(yaml, data, size);
    yaml[size] = '\0';
    char err[512];
    struct spate_config *cfg = NULL;
    int rc = spate_config_load_string(yaml, "fuzz.yaml", &cfg, err, sizeof err);
    /* Either a config or a message naming the file, never both or neither. */
    if ((rc == 0) != (cfg != NULL) || (rc == SPATE_ECONFIG && strncmp(err, "fuzz.yaml", 9) != 0))
        abort();
    spate_config_free(cfg);
    /* The same bytes as one value to interpolate. */
    char *v = spate_config_interpolate(yaml, err, sizeof err);
    if (v && strlen(v) > SPATE_CONFIG_MAX_VALUE)
        abort();
    free(v);
    free(yaml);
    return 0;
}
