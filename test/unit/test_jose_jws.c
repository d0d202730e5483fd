/* JWS signing and verification against RFC 7515 Appendix A. */
#include <string.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_jwk.h"
#include "acme_jws.h"
#include "test_jose.h"

/* "<protected>.<payload>" of an appendix example. */
static const char *signing_input(const char *example)
{
    return apr_pstrcat(test_pool, jose_vec(apr_pstrcat(test_pool, example, ".protected", NULL)),
                       ".", jose_vec(apr_pstrcat(test_pool, example, ".payload", NULL)), NULL);
}

/* The appendix example as a flattened JWS (RFC 7515 §7.2.2); a new reference
 * released with test_pool. */
static json_t *flattened(const char *example, const char *signature)
{
    json_t *jws = json_pack("{s:s, s:s, s:s}",
        "protected", jose_vec(apr_pstrcat(test_pool, example, ".protected", NULL)),
        "payload", jose_vec(apr_pstrcat(test_pool, example, ".payload", NULL)),
        "signature", signature);

    ck_assert_ptr_nonnull(jws);
    return jose_keep(jws);
}

START_TEST(jws_rfc7515_a1_hs256_exact)
{
    apr_size_t klen = 0;
    const char *key = jose_b64dec(jose_vec("rfc7515_a1.k"), &klen);
    const char *input = signing_input("rfc7515_a1"), *sig = NULL, *err = NULL;

    ck_assert_int_eq(acme_jws_mac_input(&sig, test_pool, "HS256", (const unsigned char *)key,
                                        klen, input, strlen(input), &err), APR_SUCCESS);
    ck_assert_str_eq(sig, jose_vec("rfc7515_a1.signature"));
}
END_TEST

/* PKCS#1 v1.5 is deterministic: the appendix signature, byte for byte, from
 * the key built out of the JWK and from the same key read as PEM. */
START_TEST(jws_rfc7515_a2_rs256_exact)
{
    acme_pkey_t *jwk_key = jose_jwk_key("rfc7515-a2-rsa.json"), *pem_key = NULL;
    const char *input = signing_input("rfc7515_a2"), *sig = NULL, *err = NULL, *pem;
    apr_size_t len;

    ck_assert_int_eq(acme_jws_sign_input(&sig, test_pool, jwk_key, input, strlen(input), &err),
                     APR_SUCCESS);
    ck_assert_str_eq(sig, jose_vec("rfc7515_a2.signature"));
    pem = jose_file("rfc7515-a2-rsa.pem", &len);
    ck_assert_int_eq(acme_pkey_from_pem(&pem_key, test_pool, pem, len, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_sign_input(&sig, test_pool, pem_key, input, strlen(input), &err),
                     APR_SUCCESS);
    ck_assert_str_eq(sig, jose_vec("rfc7515_a2.signature"));
}
END_TEST

START_TEST(jws_rfc7515_a2_verifies_and_detects_tampering)
{
    acme_pkey_t *key = jose_jwk_key("rfc7638-rsa.json"), *a2 = jose_jwk_key("rfc7515-a2-rsa.json");
    json_t *jws = flattened("rfc7515_a2", jose_vec("rfc7515_a2.signature"));
    acme_jws_parts_t *parts = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, a2, &err), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(parts->header, "alg")), "RS256");
    ck_assert_str_eq((const char *)parts->payload, jose_vec("rfc7515_a2.payload_text"));
    ck_assert_uint_eq(parts->payload_len, strlen(jose_vec("rfc7515_a2.payload_text")));
    /* another RSA key */
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, key, &err), APR_EACCES);
    /* another payload */
    json_object_set_new(jws, "payload", json_string("eyJpc3MiOiJqb2UifQ"));
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, a2, &err), APR_EACCES);
}
END_TEST

/* ECDSA is randomized: the appendix signature verifies with the appendix
 * public key, and so do our own signatures of the same input. */
START_TEST(jws_rfc7515_a3_es256_verify_and_sign)
{
    json_t *pub_jwk = json_deep_copy(jose_json("rfc7515-a3-ec.json"));
    acme_pkey_t *priv = jose_jwk_key("rfc7515-a3-ec.json"), *pub = NULL;
    const char *input = signing_input("rfc7515_a3"), *sig = NULL, *other = NULL, *err = NULL;
    acme_jws_parts_t *parts = NULL;

    json_object_del(pub_jwk, "d");
    ck_assert_int_eq(acme_jwk_to_pkey(&pub, test_pool, pub_jwk, &err), APR_SUCCESS);
    json_decref(pub_jwk);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool,
                                     flattened("rfc7515_a3", jose_vec("rfc7515_a3.signature")),
                                     pub, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_sign_input(&sig, test_pool, priv, input, strlen(input), &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(strlen(sig), 86); /* 64 bytes r || s, not DER */
    ck_assert_int_eq(acme_jws_sign_input(&other, test_pool, priv, input, strlen(input), &err),
                     APR_SUCCESS);
    ck_assert_str_ne(sig, other);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, flattened("rfc7515_a3", sig), pub, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, flattened("rfc7515_a3", other), pub,
                                     &err), APR_SUCCESS);
    /* a public key cannot sign */
    ck_assert_int_eq(acme_jws_sign_input(&sig, test_pool, pub, input, strlen(input), &err),
                     APR_EINVAL);
}
END_TEST

/* ES384: a signature made by another implementation (pyca/cryptography)
 * verifies, and ours is 96 bytes r || s and verifies. */
START_TEST(jws_es384_foreign_and_own_signatures_verify)
{
    acme_pkey_t *key = jose_jwk_key("ec-p384.json");
    const char *input = signing_input("es384"), *sig = NULL, *err = NULL;
    acme_jws_parts_t *parts = NULL;
    apr_size_t len = 0;

    ck_assert_str_eq(acme_pkey_spec_name(test_pool, acme_pkey_get_spec(key)), "P-384");
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool,
                                     flattened("es384", jose_vec("es384.signature")), key, &err),
                     APR_SUCCESS);
    ck_assert_str_eq((const char *)parts->payload, "{\"iss\":\"mod_acme test\"}");
    ck_assert_int_eq(acme_jws_sign_input(&sig, test_pool, key, input, strlen(input), &err),
                     APR_SUCCESS);
    jose_b64dec(sig, &len);
    ck_assert_uint_eq(len, 96);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, flattened("es384", sig), key, &err),
                     APR_SUCCESS);
}
END_TEST

/* Malformed or mismatched JWSs: {member, replacement or NULL to delete}. */
static const struct {
    const char *member, *value;
    apr_status_t rv;
} verify_bad[] = {
    {"signature", NULL, APR_EINVAL},
    {"payload", NULL, APR_EINVAL},
    {"protected", NULL, APR_EINVAL},
    {"protected", "eyJhbGciOiJub25lIn0", APR_EINVAL},        /* {"alg":"none"} */
    {"protected", "eyJhbGciOiJIUzI1NiJ9", APR_EINVAL},       /* {"alg":"HS256"} */
    {"protected", "eyJhbGciOiJSUzI1NiJ9", APR_EINVAL},       /* RS256 for an EC key */
    {"protected", "WyJFUzI1NiJd", APR_EINVAL},               /* ["ES256"] */
    {"protected", "eyJhbGciOiJFUzI1NiJ9=", APR_EINVAL},      /* padding */
    {"signature", "AAAA", APR_EACCES},                       /* wrong length */
    {"signature", "", APR_EACCES},
};

START_TEST(jws_verify_rejects_malformed)
{
    json_t *jws = json_deep_copy(flattened("rfc7515_a3", jose_vec("rfc7515_a3.signature")));
    acme_pkey_t *key = jose_jwk_key("rfc7515-a3-ec.json");
    acme_jws_parts_t *parts = NULL;
    const char *err = NULL;

    if (verify_bad[_i].value) {
        json_object_set_new(jws, verify_bad[_i].member, json_string(verify_bad[_i].value));
    }
    else {
        json_object_del(jws, verify_bad[_i].member);
    }
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, key, &err), verify_bad[_i].rv);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(parts);
    json_decref(jws);
}
END_TEST

START_TEST(jws_mac_rejects_bad_alg_and_empty_key)
{
    const char *sig = NULL, *err = NULL;

    ck_assert_int_eq(acme_jws_mac_input(&sig, test_pool, "HS1", (const unsigned char *)"k", 1,
                                        "a.b", 3, &err), APR_EINVAL);
    ck_assert_int_eq(acme_jws_mac_input(&sig, test_pool, NULL, (const unsigned char *)"k", 1,
                                        "a.b", 3, &err), APR_EINVAL);
    ck_assert_int_eq(acme_jws_mac_input(&sig, test_pool, "HS256", (const unsigned char *)"", 0,
                                        "a.b", 3, &err), APR_EINVAL);
    ck_assert_ptr_null(sig);
}
END_TEST

TCase *jose_jws_tcase(void)
{
    TCase *tc = tcase_create("jws");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, jws_rfc7515_a1_hs256_exact);
    tcase_add_test(tc, jws_rfc7515_a2_rs256_exact);
    tcase_add_test(tc, jws_rfc7515_a2_verifies_and_detects_tampering);
    tcase_add_test(tc, jws_rfc7515_a3_es256_verify_and_sign);
    tcase_add_test(tc, jws_es384_foreign_and_own_signatures_verify);
    tcase_add_loop_test(tc, jws_verify_rejects_malformed, 0,
                        sizeof(verify_bad) / sizeof(verify_bad[0]));
    tcase_add_test(tc, jws_mac_rejects_bad_alg_and_empty_key);
    return tc;
}
