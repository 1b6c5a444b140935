/* SPDX-License-Identifier: Apache-2.0 */
/* error.c -- names and messages of the spate status codes. */
#include "spate/error.h"

const char *spate_strerror(int code)
{
    switch (code) {
    case SPATE_OK: return "success";
#define SPATE_ERR_MSG(name, num, msg) case SPATE_##name: return msg;
    SPATE_ERR_MAP(SPATE_ERR_MSG)
#undef SPATE_ERR_MSG
    default: return "unknown error";
    }
}

const char *spate_err_name(int code)
{
    switch (code) {
    case SPATE_OK: return "OK";
#define SPATE_ERR_NAME(name, num, msg) case SPATE_##name: return #name;
    SPATE_ERR_MAP(SPATE_ERR_NAME)
#undef SPATE_ERR_NAME
    default: return "EUNKNOWN";
    }
}
