/* SPDX-License-Identifier: Apache-2.0 */
/* error.h -- the one status-code enum every spate module returns. */
#ifndef SPATE_ERROR_H
#define SPATE_ERROR_H

/* Functions return 0 on success or one of these negative codes. SPATE_ESYS
 * means "look at the saved errno" (the context's errstr carries it). New codes
 * go at the end of the map so numbers stay stable across versions. */
#define SPATE_ERR_MAP(XX)                                                     \
    XX(ESYS, -1, "system call failed (see errno)")                            \
    XX(ENOMEM, -2, "out of memory")                                           \
    XX(EINVAL, -3, "invalid argument")                                        \
    XX(ECONFIG, -4, "invalid configuration")                                  \
    XX(EPARSE, -5, "malformed input")                                         \
    XX(EPROTO, -6, "protocol violation by peer")                              \
    XX(ENEEDMORE, -7, "need more input")                                      \
    XX(ETIMEDOUT, -8, "timed out")                                            \
    XX(ECLOSED, -9, "connection closed")                                      \
    XX(ECONNREFUSED, -10, "connection refused")                               \
    XX(ERESOLVE, -11, "host name could not be resolved")                      \
    XX(ETLS, -12, "TLS failure")                                              \
    XX(EAUTH, -13, "authentication failed")                                   \
    XX(ESERVER, -14, "server returned an error")                              \
    XX(ETOOBIG, -15, "value or message too large")                            \
    XX(ERANGE, -16, "value out of range")                                     \
    XX(ENOTFOUND, -17, "not found")                                           \
    XX(EAGAIN, -18, "resource busy, try again (backpressure)")                \
    XX(EUNSUPPORTED, -19, "not supported")                                    \
    XX(ESTATE, -20, "operation not valid in this state")                      \
    XX(ECANCELED, -21, "operation canceled")                                  \
    XX(EADDRINUSE, -22, "address already in use")                             \
    XX(EKAFKA, -23, "Kafka client error")                                     \
    XX(EHTTP, -24, "HTTP error")                                              \
    XX(ETYPE, -25, "value does not fit the type")                             \
    XX(EUNAVAILABLE, -26, "service unavailable")                              \
    XX(EEXISTS, -27, "already exists")                                        \
    XX(EPERM, -28, "not permitted")

enum spate_err {
    SPATE_OK = 0,
#define SPATE_ERR_ENUM(name, code, msg) SPATE_##name = (code),
    SPATE_ERR_MAP(SPATE_ERR_ENUM)
#undef SPATE_ERR_ENUM
};

/* Human-readable message for a status code; never NULL, static storage. */
const char *spate_strerror(int code);
/* Symbolic name ("ETIMEDOUT") for a status code; never NULL, static storage. */
const char *spate_err_name(int code);

#endif
