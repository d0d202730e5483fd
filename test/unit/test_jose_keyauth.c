/* Key authorizations, dns-01 and tls-alpn-01 values, token alphabet. */
#include <string.h>

#include <apr_strings.h>

#include "acme_keyauth.h"
#include "test_jose.h"

START_TEST(keyauth_known_key_and_token)
{
    acme_pkey_t *key = jose_jwk_key("rfc7638-rsa.json");
    unsigned char digest[ACME_KEYAUTH_SHA256_LEN];
    const char *ka = NULL, *txt = NULL, *err = NULL, *hex = jose_vec("keyauth.tls_alpn01_hex");
    char got[2 * ACME_KEYAUTH_SHA256_LEN + 1];
    int i;

    ck_assert_int_eq(acme_keyauth_make(&ka, test_pool, jose_vec("keyauth.token"), key, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(ka, jose_vec("keyauth.keyauth"));
    ck_assert_int_eq(acme_keyauth_dns01(&txt, test_pool, ka, &err), APR_SUCCESS);
    ck_assert_str_eq(txt, jose_vec("keyauth.dns01"));
    ck_assert_int_eq(acme_keyauth_tls_alpn01(digest, test_pool, ka, &err), APR_SUCCESS);
    for (i = 0; i < ACME_KEYAUTH_SHA256_LEN; ++i) {
        snprintf(got + 2 * i, 3, "%02x", digest[i]);
    }
    ck_assert_str_eq(got, hex);
}
END_TEST

static const char *const tokens_bad[] = {
    "", "../../etc/passwd", "a/b", "a.b", "tok en", "tok=", "tok\n", "to\\k", "t%2e",
    "\xc3\xa9t\xc3\xa9",
};

START_TEST(keyauth_rejects_invalid_tokens)
{
    acme_pkey_t *key = jose_jwk_key("rfc7638-rsa.json");
    const char *ka = NULL, *err = NULL;

    ck_assert(!acme_keyauth_token_is_valid(tokens_bad[_i]));
    ck_assert_int_eq(acme_keyauth_make(&ka, test_pool, tokens_bad[_i], key, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(ka);
}
END_TEST

START_TEST(keyauth_token_length_limits)
{
    char *max = apr_palloc(test_pool, ACME_KEYAUTH_TOKEN_MAX + 2);

    memset(max, 'A', ACME_KEYAUTH_TOKEN_MAX);
    max[ACME_KEYAUTH_TOKEN_MAX] = '\0';
    ck_assert(acme_keyauth_token_is_valid(max));
    ck_assert(acme_keyauth_token_is_valid("-"));
    ck_assert(!acme_keyauth_token_is_valid(NULL));
    max[ACME_KEYAUTH_TOKEN_MAX] = 'A';
    max[ACME_KEYAUTH_TOKEN_MAX + 1] = '\0';
    ck_assert(!acme_keyauth_token_is_valid(max));
}
END_TEST

TCase *jose_keyauth_tcase(void)
{
    TCase *tc = tcase_create("keyauth");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, keyauth_known_key_and_token);
    tcase_add_loop_test(tc, keyauth_rejects_invalid_tokens, 0,
                        sizeof(tokens_bad) / sizeof(tokens_bad[0]));
    tcase_add_test(tc, keyauth_token_length_limits);
    return tc;
}
