/* SPDX-License-Identifier: Apache-2.0 */
/* tls.c -- TLS transport for cql connections through OpenSSL (the io function table). */
#include "cql_internal.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static long tls_read(struct cql_conn *c, void *buf, size_t len)
{
    int n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0)
        return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = EIO;
    return -1;
}

static long tls_write(struct cql_conn *c, const void *buf, size_t len)
{
    int n = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0)
        return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    errno = EIO;
    return -1;
}

static void tls_close(struct cql_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
}

static const struct cql_io_ops tls_io = {tls_read, tls_write, tls_close};

static void ssl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char b[200];
    ERR_error_string_n(e, b, sizeof b);
    snprintf(err, errlen, "%s: %s", what, e ? b : "unknown TLS error");
    ERR_clear_error();
}

void *cql__tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                       int verify, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ssl_err(err, errlen, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                    : SSL_CTX_set_default_verify_paths(ctx) != 1) {
            ssl_err(err, errlen, ca_file ? "cannot load CA file" : "cannot load system CAs");
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, key_file ? key_file : cert_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            ssl_err(err, errlen, "cannot load client certificate/key");
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    return ctx;
}

void cql__tls_ctx_free(void *ctx)
{
    SSL_CTX_free(ctx);
}

int cql__tls_begin(struct cql_conn *c, void *ctx, const char *host, int verify, char *err,
                   size_t errlen)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl) {
        ssl_err(err, errlen, "SSL_new");
        return SPATE_ETLS;
    }
    SSL_set_fd(ssl, c->fd);
    if (verify) {
        /* host name or IP address must match the certificate */
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
            X509_VERIFY_PARAM_set1_host(vp, host, 0);
            SSL_set_tlsext_host_name(ssl, host);
        }
    }
    c->ssl = ssl;
    c->io = &tls_io;
    return 0;
}

int cql__tls_step(struct cql_conn *c, short *want, const char *host, char *err, size_t errlen)
{
    int r = SSL_connect(c->ssl);
    if (r == 1)
        return 0;
    int e = SSL_get_error(c->ssl, r);
    short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (ev) {
        *want = ev;
        return SPATE_ENEEDMORE;
    }
    long vr = SSL_get_verify_result(c->ssl);
    if (vr != X509_V_OK)
        snprintf(err, errlen, "TLS handshake with %s failed: certificate verification: %s", host,
                 X509_verify_cert_error_string(vr));
    else
        ssl_err(err, errlen, "TLS handshake failed");
    return SPATE_ETLS;
}
