/* check_redis: rediss:// against redis-server's TLS port, with certificates
 * made here: the right CA works, a wrong one, a wrong name and a missing CA
 * file fail with ACME_REDIS_ETLS. */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "acme_selfsigned.h"
#include "test_redis.h"

static tr_server_t tls_server;
static const char *tls_ca;          /* the server's (self-signed) certificate */
static const char *tls_other_ca;    /* a certificate that did not sign it */

/* A self-signed certificate for `names` (and its key, unless key_path is
 * NULL) as PEM files. */
static void tls_make_cert(apr_pool_t *p, const char *cert_path, const char *key_path,
                          const char *name1, const char *name2)
{
    apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
    acme_selfsigned_spec_t spec;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *cert = NULL;
    FILE *f;

    ck_assert_ptr_nonnull(pkey);
    APR_ARRAY_PUSH(names, const char *) = name1;
    APR_ARRAY_PUSH(names, const char *) = name2;
    memset(&spec, 0, sizeof(spec));
    spec.pkey = pkey;
    spec.names = names;
    spec.not_before = apr_time_now() - apr_time_from_sec(3600);
    spec.not_after = apr_time_now() + apr_time_from_sec(86400);
    ck_assert_int_eq(acme_selfsigned_build(&cert, p, &spec), APR_SUCCESS);
    ck_assert_ptr_nonnull(f = fopen(cert_path, "w"));
    ck_assert_int_eq(PEM_write_X509(f, cert), 1);
    fclose(f);
    if (key_path) {
        ck_assert_ptr_nonnull(f = fopen(key_path, "w"));
        ck_assert_int_eq(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
        fclose(f);
    }
    EVP_PKEY_free(pkey);
}

static void tls_server_start(void)
{
    apr_pool_t *p;
    const char *key;
    const char *extra[16];
    int n = 0;

    apr_pool_create(&p, NULL);
    tls_ca = apr_pstrcat(p, tr_dir(), "/tls-cert.pem", NULL);
    tls_other_ca = apr_pstrcat(p, tr_dir(), "/tls-other.pem", NULL);
    key = apr_pstrcat(p, tr_dir(), "/tls-key.pem", NULL);
    tls_make_cert(p, tls_ca, key, "localhost", "127.0.0.1");
    tls_make_cert(p, tls_other_ca, NULL, "localhost", "127.0.0.1");
    extra[n++] = "--tls-cert-file";
    extra[n++] = tls_ca;
    extra[n++] = "--tls-key-file";
    extra[n++] = key;
    extra[n++] = "--tls-ca-cert-file";
    extra[n++] = tls_ca;
    extra[n++] = "--tls-auth-clients";
    extra[n++] = "no";
    /* 127.0.0.2 (loopback too) is an address the certificate does not name */
    extra[n++] = "--bind";
    extra[n++] = "127.0.0.1";
    extra[n++] = "127.0.0.2";
    extra[n] = NULL;
    tr_server_start(&tls_server, "tls", 1, extra);
    /* the pool holds the paths for the whole program: never destroyed */
}

static void tls_server_stop(void)
{
    tr_server_stop(&tls_server);
}

static apr_status_t tls_try(const char *host, const char *ca_file, const char **perr)
{
    const char *text = apr_psprintf(test_pool, "rediss://%s:%d", host, tls_server.port);
    acme_redis_options_t opts = { 0 };
    acme_redis_url_t *u;
    acme_redis_t *conn = NULL;
    apr_status_t rv;

    opts.ca_file = ca_file;
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, text, perr), APR_SUCCESS);
    rv = acme_redis_connect(&conn, test_pool, u, &opts, perr);
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(acme_redis_set(conn, test_pool, "tls:k", "over TLS", 8, NULL, perr),
                         APR_SUCCESS);
        ck_assert_int_eq(acme_redis_ping(conn, test_pool, perr), APR_SUCCESS);
    }
    return rv;
}

START_TEST(tls_right_ca)
{
    const char *err = NULL;

    ck_assert_msg(tls_try("127.0.0.1", tls_ca, &err) == APR_SUCCESS, "%s", err);
    /* by name: the name is checked, and SNI sent */
    ck_assert_msg(tls_try("localhost", tls_ca, &err) == APR_SUCCESS, "%s", err);
}
END_TEST

START_TEST(tls_wrong_ca)
{
    const char *err = NULL;

    ck_assert_int_eq(tls_try("127.0.0.1", tls_other_ca, &err), ACME_REDIS_ETLS);
    ck_assert_msg(strstr(err, "certificate failed verification") != NULL, "%s", err);
    /* no CA file: the system's trust store does not know our CA either */
    ck_assert_int_eq(tls_try("127.0.0.1", NULL, &err), ACME_REDIS_ETLS);
}
END_TEST

START_TEST(tls_wrong_name)
{
    const char *err = NULL;

    ck_assert_int_eq(tls_try("127.0.0.2", tls_ca, &err), ACME_REDIS_ETLS);
    ck_assert_msg(strstr(err, "mismatch") != NULL, "%s", err);
}
END_TEST

START_TEST(tls_ca_file_missing)
{
    const char *err = NULL;
    const char *path = apr_pstrcat(test_pool, tr_dir(), "/no-such-ca.pem", NULL);

    ck_assert_int_eq(tls_try("127.0.0.1", path, &err), ACME_REDIS_ETLS);
    ck_assert_msg(strstr(err, "cannot load the CA certificates of") != NULL, "%s", err);
}
END_TEST

/* Plain text to the TLS port, TLS to the plain port: an error, in time. */
START_TEST(tls_port_mismatch)
{
    acme_redis_options_t opts = { 0 };
    acme_redis_url_t *u;
    acme_redis_t *conn;
    const char *err = NULL;
    apr_status_t rv;
    long start;

    opts.connect_timeout = apr_time_from_sec(3);
    opts.ca_file = tls_ca;
    start = tr_now_ms();
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool, tr_url(test_pool, tls_server.port,
                                                                NULL), &err), APR_SUCCESS);
    rv = acme_redis_connect(&conn, test_pool, u, &opts, &err);
    ck_assert_msg(rv == ACME_REDIS_ECONNECT || rv == ACME_REDIS_EPROTOCOL, "%d: %s", rv, err);
    tr_main_setup();
    ck_assert_int_eq(acme_redis_url_parse(&u, test_pool,
                                          apr_psprintf(test_pool, "rediss://127.0.0.1:%d",
                                                       tr_main.port), &err), APR_SUCCESS);
    /* redis-server takes the ClientHello for the start of an inline
     * command and waits for its end: the handshake times out */
    opts.connect_timeout = apr_time_from_msec(500);
    rv = acme_redis_connect(&conn, test_pool, u, &opts, &err);
    ck_assert_msg(rv == ACME_REDIS_ETLS || rv == ACME_REDIS_ECONNECT || rv == APR_TIMEUP,
                  "%d: %s", rv, err);
    ck_assert_int_lt(tr_now_ms() - start, 8000);
}
END_TEST

TCase *tr_tls_tcase(void)
{
    TCase *tc = tcase_create("tls");

    tcase_add_unchecked_fixture(tc, tr_main_setup, NULL);
    tcase_add_unchecked_fixture(tc, tls_server_start, tls_server_stop);
    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tls_right_ca);
    tcase_add_test(tc, tls_wrong_ca);
    tcase_add_test(tc, tls_wrong_name);
    tcase_add_test(tc, tls_ca_file_missing);
    tcase_add_test(tc, tls_port_mismatch);
    return tc;
}
