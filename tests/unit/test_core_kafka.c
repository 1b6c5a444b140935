/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_kafka.c -- librdkafka's connection errors turned into one line naming the setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spate/kafka.h"

#include <string.h>

/* What librdkafka 2.0 reports, as the secure suite saw it against Kafka 4.4. */
#define AUTH_FAILED                                                                            \
    "sasl_ssl://127.0.0.1:24092/bootstrap: SASL authentication error: Authentication failed "  \
    "during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 "     \
    "(after 311ms in state AUTH_REQ)"
#define UNTRUSTED                                                                              \
    "sasl_ssl://127.0.0.1:24092/bootstrap: SSL handshake failed: error:0A000086:SSL "          \
    "routines::certificate verify failed: broker certificate could not be verified, verify "  \
    "that ssl.ca.location is correctly configured or root CA certificates are installed "     \
    "(install ca-certificates package) (after 5ms in state SSL_HANDSHAKE)"
#define PLAIN_TO_TLS                                                                           \
    "127.0.0.1:24092/bootstrap: Disconnected while requesting ApiVersion: might be caused by " \
    "incorrect security.protocol configuration (connecting to a SSL listener?) or broker "     \
    "version is < 0.10 (see api.version.request) (after 1ms in state APIVERSION_QUERY)"

#define SSL_TO_SASL                                                                            \
    "ssl://127.0.0.1:24092/bootstrap: Disconnected: verify that security.protocol is "         \
    "correctly configured, broker might require SASL authentication (after 2ms in state UP)"

static struct spate_kv kv[] = {
    {"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "SCRAM-SHA-512"},
    {"sasl.username", "spate"},        {"sasl.password", "secret"},
    {"ssl.ca.location", "/x/ca.crt"},
};
static const struct spate_kvlist props = {kv, sizeof kv / sizeof kv[0]};

static void test_wrong_password_names_user_and_keys(void **state)
{
    (void)state;
    char out[512];
    assert_int_equal(spate_kafka_explain(RD_KAFKA_RESP_ERR__AUTHENTICATION, AUTH_FAILED, &props,
                                         out, sizeof out),
                     1);
    assert_non_null(strstr(out, "the broker refused the credentials of user 'spate' (SASL "
                                "SCRAM-SHA-512): check kafka.properties sasl.username and "
                                "sasl.password"));
    if (rd_kafka_version() < 0x020601ff)
        assert_non_null(strstr(out, "cannot do SCRAM with Kafka 4 brokers"));
    assert_null(strstr(out, "secret"));
}

static void test_untrusted_certificate_names_the_ca_file(void **state)
{
    (void)state;
    char out[512];
    assert_int_equal(spate_kafka_explain(RD_KAFKA_RESP_ERR__SSL, UNTRUSTED, &props, out,
                                         sizeof out),
                     1);
    assert_non_null(strstr(out, "not trusted"));
    assert_non_null(strstr(out, "ssl.ca.location (/x/ca.crt)"));
}

static void test_plaintext_against_tls(void **state)
{
    (void)state;
    char out[512];
    struct spate_kv p[] = {{"security.protocol", "PLAINTEXT"}};
    struct spate_kvlist l = {p, 1};
    assert_int_equal(
        spate_kafka_explain(RD_KAFKA_RESP_ERR__TRANSPORT, PLAIN_TO_TLS, &l, out, sizeof out), 1);
    assert_non_null(strstr(out, "expects TLS; kafka.properties security.protocol is PLAINTEXT"));
    struct spate_kv q[] = {{"security.protocol", "SSL"}};
    struct spate_kvlist m = {q, 1};
    assert_int_equal(
        spate_kafka_explain(RD_KAFKA_RESP_ERR__TRANSPORT, SSL_TO_SASL, &m, out, sizeof out), 1);
    assert_non_null(strstr(out, "requires SASL; kafka.properties security.protocol is SSL"));
    /* no properties at all means PLAINTEXT too */
    assert_int_equal(
        spate_kafka_explain(RD_KAFKA_RESP_ERR__TRANSPORT, PLAIN_TO_TLS, NULL, out, sizeof out),
        1);
}

static void test_other_errors_are_not_explained(void **state)
{
    (void)state;
    char out[512] = "";
    assert_int_equal(spate_kafka_explain(RD_KAFKA_RESP_ERR__TRANSPORT,
                                         "127.0.0.1:24092/bootstrap: Connect to "
                                         "ipv4#127.0.0.1:24092 failed: Connection refused",
                                         &props, out, sizeof out),
                     0);
    assert_int_equal(spate_kafka_explain(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
                                         "1/1 brokers are down", &props, out, sizeof out),
                     0);
}

static void test_diag_keeps_the_settings_error(void **state)
{
    (void)state;
    struct spate_kafka_diag d = {0};
    char out[512];
    spate_kafka_diag_record(&d, RD_KAFKA_RESP_ERR__TRANSPORT, "Connection refused");
    assert_int_equal(spate_kafka_diag_explain(&d, &props, out, sizeof out), 0);
    /* a settings error replaces a transport one, and is not replaced by one */
    spate_kafka_diag_record(&d, RD_KAFKA_RESP_ERR__AUTHENTICATION, AUTH_FAILED);
    spate_kafka_diag_record(&d, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down");
    assert_int_equal(spate_kafka_diag_explain(&d, &props, out, sizeof out), 1);
    assert_non_null(strstr(out, "refused the credentials"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_password_names_user_and_keys),
        cmocka_unit_test(test_untrusted_certificate_names_the_ca_file),
        cmocka_unit_test(test_plaintext_against_tls),
        cmocka_unit_test(test_other_errors_are_not_explained),
        cmocka_unit_test(test_diag_keeps_the_settings_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
