/* check_keyholder: what the key holder does for a child, through the remote
 * custody: account keys, JWS that verify, domain keys, CSRs, EAB. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include "acme_b64.h"
#include "acme_csr.h"
#include "acme_jwk.h"
#include "acme_jws.h"
#include "test_keyholder.h"

static const acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };

START_TEST(account_key_create_and_load)
{
    acme_pkey_t *key, *again, *held;
    const char *why = NULL;

    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 0, &why),
                     APR_ENOENT);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 1, NULL),
                     APR_SUCCESS);
    ck_assert(!acme_pkey_has_private(key));
    ck_assert_str_eq(acme_keys_kind(tkh_remote), "remote");
    ck_assert_int_eq(acme_keys_account_key(&again, test_pool, tkh_remote, TKH_ACCOUNT, 0, NULL),
                     APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(key, again));
    /* it is the key in the key holder's store */
    ck_assert_int_eq(acme_keys_account_key(&held, test_pool, tkh_local, TKH_ACCOUNT, 0, NULL),
                     APR_SUCCESS);
    ck_assert(acme_pkey_has_private(held));
    ck_assert(acme_pkey_public_eq(key, held));
    ck_assert_int_eq(acme_keys_account_key(&again, test_pool, tkh_remote, TKH_ACCOUNT, 1, NULL),
                     APR_EEXIST);
}
END_TEST

START_TEST(remote_jws_verifies)
{
    acme_jws_hdr_t by_kid = { TKH_CA "/acme/new-order", "bm9uY2UtMQ", TKH_CA "/acme/acct/7" };
    /* the other CA's origin, its default port written out, host in capitals */
    acme_jws_hdr_t by_jwk = { "https://OTHER-CA.example:443/acme/new-acct", "bm9uY2UtMg",
                              NULL };
    acme_jws_parts_t *parts;
    acme_pkey_t *key;
    json_t *jws, *payload = json_pack("{s:[s]}", "identifiers", "example.org");

    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 1, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, key, &by_kid, payload, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, key, NULL), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(parts->header, "kid")), by_kid.kid);
    json_decref(jws);
    /* POST-as-GET, and newAccount with the key itself in the header */
    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, key, &by_kid, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, key, NULL), APR_SUCCESS);
    json_decref(jws);
    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, key, &by_jwk, payload, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, key, NULL), APR_SUCCESS);
    json_decref(jws);
    json_decref(payload);
}
END_TEST

START_TEST(domain_key_and_csr)
{
    acme_pkey_t *key, *again;
    const unsigned char *der, *q;
    apr_array_header_t *names = apr_array_make(test_pool, 2, sizeof(const char *));
    apr_size_t len;
    X509_REQ *req;
    EVP_PKEY *pub;

    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, tkh_remote, TKH_MD, &p256, 0, NULL),
                     APR_ENOENT);
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, TKH_MD, &p256,
                                   (APR_ARRAY_PUSH(names, const char *) = "example.org",
                                    names), 0, NULL), APR_EINVAL);  /* a name missing */
    APR_ARRAY_PUSH(names, const char *) = "WWW.example.org";
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, TKH_MD, &p256, names, 0,
                                   NULL), APR_ENOENT);  /* no staged key yet */
    ck_assert_int_eq(acme_keys_domain_key(&key, test_pool, tkh_remote, TKH_MD, &p256, 1, NULL),
                     APR_SUCCESS);
    ck_assert(!acme_pkey_has_private(key));
    ck_assert_int_eq(acme_keys_domain_key(&again, test_pool, tkh_remote, TKH_MD, &p256, 1,
                                          NULL), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(key, again));
    ck_assert_int_eq(acme_keys_csr(&der, &len, test_pool, tkh_remote, TKH_MD, &p256, names,
                                   ACME_CSR_MUST_STAPLE, NULL), APR_SUCCESS);
    q = der;
    req = d2i_X509_REQ(NULL, &q, (long)len);
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(q - der, (long)len);
    pub = X509_REQ_get0_pubkey(req);
    ck_assert_int_eq(EVP_PKEY_eq(pub, acme_pkey_get_evp(key)), 1);
    ck_assert_int_eq(X509_REQ_verify(req, pub), 1);
    X509_REQ_free(req);
}
END_TEST

START_TEST(eab_verifies_with_the_hmac)
{
    const char *url = TKH_CA "/acme/new-acct";
    unsigned char *mac_key, mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    apr_size_t key_len;
    acme_pkey_t *key, *in_payload;
    const char *input, *prot, *payload;
    unsigned char *data;
    apr_size_t n;
    json_t *jws, *hdr, *jwk;

    ck_assert_int_eq(acme_keys_account_key(&key, test_pool, tkh_remote, TKH_ACCOUNT, 1, NULL),
                     APR_SUCCESS);
    /* the child has no HMAC: the key holder uses the configured one */
    ck_assert_int_eq(acme_keys_eab(&jws, test_pool, tkh_remote, TKH_ACCOUNT, TKH_EAB_KID, NULL,
                                   url, NULL), APR_SUCCESS);
    prot = json_string_value(json_object_get(jws, "protected"));
    payload = json_string_value(json_object_get(jws, "payload"));
    input = apr_pstrcat(test_pool, prot, ".", payload, NULL);
    ck_assert_int_eq(acme_b64url_decode_str(&mac_key, &key_len, test_pool, TKH_EAB_HMAC),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), mac_key, (int)key_len,
                               (const unsigned char *)input, strlen(input), mac, &mac_len));
    ck_assert_str_eq(json_string_value(json_object_get(jws, "signature")),
                     acme_b64url_encode(test_pool, mac, mac_len));
    ck_assert_int_eq(acme_b64url_decode_str(&data, &n, test_pool, prot), APR_SUCCESS);
    hdr = json_loads((const char *)data, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "alg")), "HS256");
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "kid")), TKH_EAB_KID);
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "url")), url);
    json_decref(hdr);
    /* over the account key */
    ck_assert_int_eq(acme_b64url_decode_str(&data, &n, test_pool, payload), APR_SUCCESS);
    jwk = json_loads((const char *)data, 0, NULL);
    ck_assert_int_eq(acme_jwk_to_pkey(&in_payload, test_pool, jwk, NULL), APR_SUCCESS);
    ck_assert(acme_pkey_public_eq(in_payload, key));
    json_decref(jwk);
    /* the HMAC is in no answer */
    {
        char *text = json_dumps(jws, 0);

        ck_assert_ptr_null(strstr(text, TKH_EAB_HMAC));
        free(text);
    }
    json_decref(jws);
}
END_TEST

TCase *test_keyholder_ops_tcase(void)
{
    TCase *tc = tcase_create("ops");

    tcase_add_checked_fixture(tc, tkh_setup, tkh_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, account_key_create_and_load);
    tcase_add_test(tc, remote_jws_verifies);
    tcase_add_test(tc, domain_key_and_csr);
    tcase_add_test(tc, eab_verifies_with_the_hmac);
    return tc;
}
