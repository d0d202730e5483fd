/* What a TLS server presented against the activated chain (the self-test
 * after an activation, acme_chain_presented.h). */
#include <stdarg.h>
#include <string.h>

#include <openssl/x509.h>

#include "acme_chain.h"
#include "acme_chain_presented.h"
#include "check_main.h"
#include "test_x509.h"

static const acme_cert_chain_t *expected_chain(const char *file)
{
    const char *pem = x509_test_read(NULL, file);
    acme_cert_chain_t *chain = NULL;

    ck_assert_int_eq(acme_chain_from_pem(&chain, test_pool, pem, strlen(pem)), APR_SUCCESS);
    return chain;
}

static apr_status_t stack_free(void *data)
{
    sk_X509_free(data);     /* not the certificates: the pool holds them */
    return APR_SUCCESS;
}

/* A peer chain as SSL_get_peer_cert_chain() gives it, from fixtures. */
static STACK_OF(X509) *presented(const char *first, ...)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    const char *file;
    va_list ap;

    va_start(ap, first);
    for (file = first; file; file = va_arg(ap, const char *)) {
        sk_X509_push(sk, x509_test_load_cert(file));    /* the pool holds the reference */
    }
    va_end(ap);
    apr_pool_cleanup_register(test_pool, sk, stack_free, apr_pool_cleanup_null);
    return sk;
}

static apr_time_t in_2030(void)
{
    return apr_time_from_sec(1893456000);      /* 2030-01-01 */
}

START_TEST(presented_chain_of_the_activated_set_passes)
{
    const char *why = NULL;

    /* anchor: the top of the activated chain, a root or (partial) an intermediate */
    ck_assert_int_eq(acme_chain_presented_check(&why, test_pool, expected_chain("chain.pem"),
                                                presented("leaf.pem", "intermediate.pem", NULL),
                                                "www.example.org", in_2030()), APR_SUCCESS);
    ck_assert_int_eq(acme_chain_presented_check(&why, test_pool,
                                                expected_chain("chain-full.pem"),
                                                presented("leaf.pem", "intermediate.pem",
                                                          "root.pem", NULL),
                                                "a.example.org", in_2030()), APR_SUCCESS);
    ck_assert_ptr_null(why);
}
END_TEST

START_TEST(presented_other_leaf_fails)
{
    const char *why = NULL;

    ck_assert_int_eq(acme_chain_presented_check(&why, test_pool, expected_chain("chain.pem"),
                                                presented("intermediate.pem", "root.pem", NULL),
                                                "www.example.org", in_2030()), APR_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "presents another certificate"));
    ck_assert_ptr_nonnull(strstr(why, "Test Intermediate"));
}
END_TEST

START_TEST(presented_chain_missing_issuers_fails)
{
    const char *why = NULL;

    ck_assert_int_eq(acme_chain_presented_check(&why, test_pool, expected_chain("chain.pem"),
                                                presented("leaf.pem", NULL),
                                                "www.example.org", in_2030()), APR_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "issuers missing"));
    /* another issuer after the right leaf */
    ck_assert_int_eq(acme_chain_presented_check(&why, test_pool, expected_chain("chain.pem"),
                                                presented("leaf.pem", "root.pem", NULL),
                                                "www.example.org", in_2030()), APR_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "certificate 2 of the presented chain"));
}
END_TEST

START_TEST(presented_chain_must_verify_for_name_and_time)
{
    const char *why = NULL;

    ck_assert_int_eq(acme_chain_presented_check(&why, test_pool, expected_chain("chain.pem"),
                                                presented("leaf.pem", "intermediate.pem", NULL),
                                                "other.test", in_2030()), APR_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "does not verify"));
    ck_assert_ptr_nonnull(strstr(why, "hostname mismatch"));
    ck_assert_int_eq(acme_chain_presented_check(&why, test_pool, expected_chain("chain.pem"),
                                                presented("leaf.pem", "intermediate.pem", NULL),
                                                "www.example.org",
                                                apr_time_from_sec(7258118400LL)),  /* 2200 */
                     APR_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(why, "expired"));
}
END_TEST

START_TEST(presented_nothing_is_invalid)
{
    const char *why = NULL;

    ck_assert_int_eq(acme_chain_presented_check(&why, test_pool, expected_chain("chain.pem"),
                                                presented(NULL), "www.example.org",
                                                in_2030()), APR_EINVAL);
    ck_assert_str_eq(why, "no certificate presented");
}
END_TEST

TCase *test_x509_presented_tcase(void)
{
    TCase *tc = tcase_create("presented");

    tcase_add_test(tc, presented_chain_of_the_activated_set_passes);
    tcase_add_test(tc, presented_other_leaf_fails);
    tcase_add_test(tc, presented_chain_missing_issuers_fails);
    tcase_add_test(tc, presented_chain_must_verify_for_name_and_time);
    tcase_add_test(tc, presented_nothing_is_invalid);
    return tc;
}
