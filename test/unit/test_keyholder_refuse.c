/* check_keyholder: what the key holder refuses a child (acme_keyholder.h):
 * JWS for other origins, keys or algs, without nonce, a keyChange; CSRs for
 * other names, domains or specs; an EAB key id that is not configured. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_jwk.h"
#include "acme_jws.h"
#include "test_keyholder.h"

static acme_pkey_t *account_key;

static void refuse_setup(void)
{
    tkh_setup();
    ck_assert_int_eq(acme_keys_account_key(&account_key, test_pool, tkh_remote, TKH_ACCOUNT,
                                           1, NULL), APR_SUCCESS);
}

static const char *b64(const char *text)
{
    return acme_b64url_encode(test_pool, text, strlen(text));
}

/* Asks the key holder to sign `header` (JSON text) and `payload` (JSON text
 * or ""): the status, and the reason in *pwhy. */
static apr_status_t sign_raw(const char *header, const char *payload, const char **pwhy)
{
    const char *input = apr_pstrcat(test_pool, b64(header), ".", b64(payload), NULL);
    const char *sig = NULL;

    *pwhy = NULL;
    return acme_pkey_sign_remote(&sig, test_pool, account_key, input, strlen(input), pwhy);
}

static void assert_refused(const char *header, const char *payload, const char *reason)
{
    const char *why;

    ck_assert_int_eq(sign_raw(header, payload, &why), APR_EINVAL);
    ck_assert_msg(why && strstr(why, reason), "'%s' not in '%s'", reason, why ? why : "");
}

static const char *account_jwk(acme_pkey_t *key)
{
    json_t *jwk;
    char *text;
    const char *copy;

    ck_assert_int_eq(acme_jwk_from_pkey(&jwk, test_pool, key, NULL), APR_SUCCESS);
    text = json_dumps(jwk, JSON_COMPACT);
    copy = apr_pstrdup(test_pool, text);
    free(text);
    json_decref(jwk);
    return copy;
}

#define HDR(url, extra) \
    "{\"alg\":\"ES256\",\"nonce\":\"bm9uY2U\",\"url\":\"" url "\"" extra "}"
#define KID ",\"kid\":\"" TKH_CA "/acme/acct/1\""

START_TEST(sign_good_raw_passes)
{
    const char *why;

    ck_assert_int_eq(sign_raw(HDR(TKH_CA "/acme/order", KID), "{}", &why), APR_SUCCESS);
    ck_assert_int_eq(sign_raw(HDR(TKH_CA "/acme/order", KID), "", &why), APR_SUCCESS);
}
END_TEST

START_TEST(sign_refuses_other_origins)
{
    assert_refused(HDR("https://evil.example:14000/acme/order", KID), "{}", "not at a configured CA");
    assert_refused(HDR("https://ca.example:14001/acme/order", KID), "{}", "not at a configured CA");
    assert_refused(HDR("http://ca.example:14000/acme/order", KID), "{}", "not at a configured CA");
    assert_refused(HDR("https://ca.example/acme/order", KID), "{}", "not at a configured CA");
    assert_refused(HDR("https://ca.example:14000@evil.example/x", KID), "{}", "not an http(s) URL");
    assert_refused(HDR("file:///etc/passwd", KID), "{}", "not an http(s) URL");
    /* the kid too */
    assert_refused(HDR(TKH_CA "/acme/order", ",\"kid\":\"https://evil.example/acct/1\""), "{}",
                   "kid is not at a configured CA");
    assert_refused(HDR(TKH_CA "/acme/order", ",\"kid\":7"), "{}", "kid is not a string");
}
END_TEST

START_TEST(sign_refuses_other_keys_and_algs)
{
    acme_pkey_t *other;
    acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    const char *mine = account_jwk(account_key), *why;

    ck_assert_int_eq(acme_pkey_generate(&other, test_pool, &p256, NULL), APR_SUCCESS);
    /* jwk: only the account's own */
    ck_assert_int_eq(sign_raw(apr_pstrcat(test_pool, "{\"alg\":\"ES256\",\"nonce\":\"bm9uY2U\","
                                          "\"url\":\"" TKH_CA "/new-acct\",\"jwk\":", mine,
                                          "}", NULL), "{}", &why), APR_SUCCESS);
    assert_refused(apr_pstrcat(test_pool, "{\"alg\":\"ES256\",\"nonce\":\"bm9uY2U\","
                               "\"url\":\"" TKH_CA "/revoke\",\"jwk\":", account_jwk(other),
                               "}", NULL), "{}", "jwk is not the account key's");
    /* both, neither */
    assert_refused(apr_pstrcat(test_pool, "{\"alg\":\"ES256\",\"nonce\":\"bm9uY2U\","
                               "\"url\":\"" TKH_CA "/x\"" KID ",\"jwk\":", mine, "}", NULL),
                   "{}", "not exactly one of kid and jwk");
    assert_refused(HDR(TKH_CA "/acme/order", ""), "{}", "not exactly one of kid and jwk");
    /* alg */
    assert_refused("{\"alg\":\"RS256\",\"nonce\":\"bm9uY2U\",\"url\":\"" TKH_CA "/x\"" KID "}",
                   "{}", "alg is not the account key's");
    assert_refused("{\"alg\":\"none\",\"nonce\":\"bm9uY2U\",\"url\":\"" TKH_CA "/x\"" KID "}",
                   "{}", "alg is not the account key's");
    assert_refused("{\"nonce\":\"bm9uY2U\",\"url\":\"" TKH_CA "/x\"" KID "}", "{}",
                   "alg is not the account key's");
}
END_TEST

START_TEST(sign_refuses_other_shapes)
{
    const char *why;

    /* nonce */
    assert_refused("{\"alg\":\"ES256\",\"url\":\"" TKH_CA "/x\"" KID "}", "{}", "no nonce");
    assert_refused("{\"alg\":\"ES256\",\"nonce\":\"\",\"url\":\"" TKH_CA "/x\"" KID "}", "{}",
                   "no nonce");
    assert_refused("{\"alg\":\"ES256\",\"nonce\":1,\"url\":\"" TKH_CA "/x\"" KID "}", "{}",
                   "no nonce");
    /* more in the header, a header twice */
    assert_refused(HDR(TKH_CA "/x", KID ",\"crit\":[\"b64\"],\"b64\":false"), "{}",
                   "the protected header has a member");
    assert_refused(HDR(TKH_CA "/x", KID ",\"url\":\"https://evil.example/\""), "{}",
                   "not base64url of a JSON object");
    /* a keyChange: the payload is the inner JWS */
    assert_refused(HDR(TKH_CA "/acme/key-change", KID),
                   "{\"protected\":\"e30\",\"payload\":\"e30\",\"signature\":\"AA\"}",
                   "keyChange");
    assert_refused(HDR(TKH_CA "/x", KID), "[1]", "the payload is not");
    /* revocation and the account's deactivation are the admin's */
    assert_refused(HDR(TKH_CA "/revoke-cert", KID), "{\"certificate\":\"MIIB\"}",
                   "revokes a certificate");
    assert_refused(HDR(TKH_CA "/acme/acct/1", KID), "{\"status\":\"deactivated\"}",
                   "deactivates the account");
    /* not a signing input */
    ck_assert_int_eq(acme_pkey_sign_remote(&why, test_pool, account_key, "abc", 3, &why),
                     APR_EINVAL);
    ck_assert_int_eq(acme_pkey_sign_remote(&why, test_pool, account_key, "a.b.c", 5, &why),
                     APR_EINVAL);
}
END_TEST

START_TEST(sign_refuses_unknown_account)
{
    acme_pkey_t *key;
    const char *why = NULL;

    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, "../../etc", 0, &why),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "account id"));
}
END_TEST

START_TEST(csr_refuses_other_names_mds_specs)
{
    acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    acme_pkey_spec_t rsa = { ACME_PKEY_RSA, 2048, ACME_PKEY_CURVE_NONE };
    apr_array_header_t *names = apr_array_make(test_pool, 3, sizeof(const char *));
    const unsigned char *der;
    acme_pkey_t *key;
    apr_size_t len;
    const char *why = NULL;

    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, tkh_remote, TKH_MD, &p256, 1, NULL),
                     APR_SUCCESS);
    APR_ARRAY_PUSH(names, const char *) = "example.org";
    APR_ARRAY_PUSH(names, const char *) = "www.example.org";
    APR_ARRAY_PUSH(names, const char *) = "evil.example";
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, TKH_MD, &p256, names, 0,
                                   &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "evil.example is not configured"));
    APR_ARRAY_IDX(names, 2, const char *) = "EXAMPLE.org";
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, TKH_MD, &p256, names, 0,
                                   &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "given twice"));
    names->nelts = 1;
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, TKH_MD, &p256, names, 0,
                                   &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "www.example.org of md example.org is missing"));
    names->nelts = 2;
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, "other.example", &p256,
                                   names, 0, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "md other.example is not configured"));
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, tkh_remote, "other.example", &p256,
                                          1, &why), APR_EINVAL);
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, TKH_MD, &rsa, names, 0,
                                   &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "rsa2048 is not configured"));
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, tkh_remote, TKH_MD, &rsa, 1, &why),
                     APR_EINVAL);
    /* the good one still works */
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, TKH_MD, &p256, names, 0,
                                   &why), APR_SUCCESS);
}
END_TEST

START_TEST(eab_refuses_unknown_kid_and_origin)
{
    json_t *jws;
    const char *why = NULL;

    ck_assert_int_eq(acme_keys_eab(&jws, test_pool, tkh_remote, TKH_ACCOUNT, "kid-2",
                                   TKH_EAB_HMAC, TKH_CA "/new-acct", &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "kid-2 is not configured"));
    ck_assert_int_eq(acme_keys_eab(&jws, test_pool, tkh_remote, TKH_ACCOUNT, TKH_EAB_KID,
                                   NULL, "https://evil.example/new-acct", &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "not at a configured CA"));
}
END_TEST

TCase *test_keyholder_refuse_tcase(void)
{
    TCase *tc = tcase_create("refuse");

    tcase_add_checked_fixture(tc, refuse_setup, tkh_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sign_good_raw_passes);
    tcase_add_test(tc, sign_refuses_other_origins);
    tcase_add_test(tc, sign_refuses_other_keys_and_algs);
    tcase_add_test(tc, sign_refuses_other_shapes);
    tcase_add_test(tc, sign_refuses_unknown_account);
    tcase_add_test(tc, csr_refuses_other_names_mds_specs);
    tcase_add_test(tc, eab_refuses_unknown_kid_and_origin);
    return tc;
}
