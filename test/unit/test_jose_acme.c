/* ACME's use of JOSE: request JWS, key rollover, EAB (RFC 8555 §6.2, §7.3.4,
 * §7.3.5). Exact vectors were computed independently (see vectors.json). */
#include <string.h>

#include <apr_strings.h>

#include "acme_jwk.h"
#include "acme_jws.h"
#include "test_jose.h"

/* The decoded protected header of a JWS we made, released with test_pool. */
static json_t *protected_of(const json_t *jws)
{
    apr_size_t len = 0;
    const char *text = jose_b64dec(json_string_value(json_object_get(jws, "protected")), &len);
    json_t *hdr = json_loadb(text, len, 0, NULL);

    ck_assert_msg(json_is_object(hdr), "protected header is not an object: %s", text);
    return jose_keep(hdr);
}

static json_t *jwk_of(const acme_pkey_t *key)
{
    json_t *jwk = NULL;

    ck_assert_int_eq(acme_jwk_from_pkey(&jwk, test_pool, key, NULL), APR_SUCCESS);
    return jose_keep(jwk);
}

START_TEST(acme_request_rs256_exact)
{
    acme_pkey_t *key = jose_jwk_key("rfc7515-a2-rsa.json");
    json_t *vec = json_object_get(jose_json("vectors.json"), "acme_request"), *jws = NULL;
    acme_jws_hdr_t hdr = {jose_vec("acme_request.url"), jose_vec("acme_request.nonce"),
                          jose_vec("acme_request.kid")};
    const char *body = NULL, *err = NULL;

    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, key, &hdr, json_object_get(vec, "payload_json"),
                                   &err), APR_SUCCESS);
    jose_keep(jws);
    ck_assert_uint_eq(json_object_size(jws), 3);
    ck_assert_str_eq(json_string_value(json_object_get(jws, "protected")),
                     jose_vec("acme_request.protected"));
    ck_assert_str_eq(json_string_value(json_object_get(jws, "payload")),
                     jose_vec("acme_request.payload"));
    ck_assert_str_eq(json_string_value(json_object_get(jws, "signature")),
                     jose_vec("acme_request.signature"));
    ck_assert_int_eq(acme_jws_serialize(&body, test_pool, jws, &err), APR_SUCCESS);
    ck_assert_str_eq(body, apr_psprintf(test_pool,
        "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
        jose_vec("acme_request.protected"), jose_vec("acme_request.payload"),
        jose_vec("acme_request.signature")));
}
END_TEST

/* Under valgrind from index 1: RS256 is checked by acme_request_rs256_exact. */
static const char *const acme_specs[] = {"rsa2048", "P-256", "P-384"};

/* newAccount style: the key itself in the header, no kid; and POST-as-GET. */
START_TEST(acme_request_with_jwk_and_post_as_get_verify)
{
    acme_pkey_spec_t spec = jose_spec(acme_specs[_i]);
    acme_jws_hdr_t hdr = {"https://ca.example/acme/new-acct", "bm9uY2U", NULL};
    acme_jws_parts_t *parts = NULL;
    acme_pkey_t *key = NULL;
    json_t *jws = NULL, *payload = jose_keep(json_pack("{s:b}", "termsOfServiceAgreed", 1));
    const char *err = NULL;

    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, key, &hdr, payload, &err), APR_SUCCESS);
    jose_keep(jws);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, key, &err), APR_SUCCESS);
    ck_assert_uint_eq(json_object_size(parts->header), 4);
    ck_assert_str_eq(json_string_value(json_object_get(parts->header, "alg")), acme_jwk_alg(key));
    ck_assert_str_eq(json_string_value(json_object_get(parts->header, "nonce")), "bm9uY2U");
    ck_assert_str_eq(json_string_value(json_object_get(parts->header, "url")), hdr.url);
    ck_assert(json_equal(json_object_get(parts->header, "jwk"), jwk_of(key)));
    ck_assert_str_eq((const char *)parts->payload, "{\"termsOfServiceAgreed\":true}");

    hdr.kid = "https://ca.example/acme/acct/1";
    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, key, &hdr, NULL, &err), APR_SUCCESS);
    jose_keep(jws);
    ck_assert_str_eq(json_string_value(json_object_get(jws, "payload")), "");
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, jws, key, &err), APR_SUCCESS);
    ck_assert_uint_eq(parts->payload_len, 0);
    ck_assert_str_eq(json_string_value(json_object_get(parts->header, "kid")), hdr.kid);
    ck_assert_ptr_null(json_object_get(parts->header, "jwk"));
}
END_TEST

static const acme_jws_hdr_t hdr_bad[] = {
    {NULL, "bm9uY2U", "https://ca.example/acct/1"},
    {"", "bm9uY2U", "https://ca.example/acct/1"},
    {"https://ca.example/x", NULL, "https://ca.example/acct/1"},
    {"https://ca.example/x", "", NULL},
    {"https://ca.example/x", "bm9uY2U", ""},
    {"https://ca.example/\xff", "bm9uY2U", NULL}, /* not UTF-8: jansson refuses */
};

START_TEST(acme_request_rejects_incomplete_headers)
{
    acme_pkey_t *key = jose_jwk_key("rfc7515-a3-ec.json");
    json_t *jws = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, key, &hdr_bad[_i], NULL, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(jws);
}
END_TEST

START_TEST(acme_request_rejects_non_object_payload_and_public_key)
{
    acme_jws_hdr_t hdr = {"https://ca.example/x", "bm9uY2U", "https://ca.example/acct/1"};
    json_t *arr = jose_keep(json_array()), *jws = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, jose_jwk_key("rfc7515-a3-ec.json"), &hdr,
                                   arr, &err), APR_EINVAL);
    ck_assert_int_eq(acme_jws_sign(&jws, test_pool, jose_jwk_key("rfc7638-rsa.json"), &hdr,
                                   NULL, &err), APR_EINVAL);
    ck_assert_ptr_null(jws);
}
END_TEST

START_TEST(acme_key_change_inner_and_outer)
{
    acme_pkey_spec_t spec = jose_spec("P-256");
    acme_pkey_t *old_key = jose_jwk_key("rfc7515-a2-rsa.json"), *new_key = NULL;
    const char *acct = "https://ca.example/acme/acct/1";
    const char *url = "https://ca.example/acme/key-change";
    acme_jws_hdr_t outer_hdr = {url, "bm9uY2U", acct};
    acme_jws_parts_t *parts = NULL;
    json_t *inner = NULL, *outer = NULL, *payload;
    const char *err = NULL;

    ck_assert_int_eq(acme_pkey_generate(&new_key, test_pool, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_sign_key_change(&inner, test_pool, new_key, old_key, acct, url, &err),
                     APR_SUCCESS);
    jose_keep(inner);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, inner, new_key, &err), APR_SUCCESS);
    ck_assert_uint_eq(json_object_size(parts->header), 3); /* alg, jwk, url: no nonce */
    ck_assert_str_eq(json_string_value(json_object_get(parts->header, "alg")), "ES256");
    ck_assert_str_eq(json_string_value(json_object_get(parts->header, "url")), url);
    ck_assert(json_equal(json_object_get(parts->header, "jwk"), jwk_of(new_key)));
    payload = jose_keep(json_loads((const char *)parts->payload, 0, NULL));
    ck_assert_uint_eq(json_object_size(payload), 2);
    ck_assert_str_eq(json_string_value(json_object_get(payload, "account")), acct);
    ck_assert(json_equal(json_object_get(payload, "oldKey"), jwk_of(old_key)));
    /* the outer JWS, by the old key, carries the inner one as its payload */
    ck_assert_int_eq(acme_jws_sign(&outer, test_pool, old_key, &outer_hdr, inner, &err),
                     APR_SUCCESS);
    jose_keep(outer);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, outer, old_key, &err), APR_SUCCESS);
    ck_assert(json_equal(jose_keep(json_loads((const char *)parts->payload, 0, NULL)), inner));
}
END_TEST

START_TEST(acme_key_change_rejects_same_key_and_missing_urls)
{
    acme_pkey_t *a = jose_jwk_key("rfc7515-a3-ec.json"), *b = jose_jwk_key("rfc7515-a3-ec.json");
    acme_pkey_t *rsa = jose_jwk_key("rfc7515-a2-rsa.json");
    json_t *inner = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_jws_sign_key_change(&inner, test_pool, a, b, "https://a/1", "https://a/k",
                                              &err), APR_EINVAL);
    ck_assert_int_eq(acme_jws_sign_key_change(&inner, test_pool, a, rsa, "", "https://a/k", &err),
                     APR_EINVAL);
    ck_assert_int_eq(acme_jws_sign_key_change(&inner, test_pool, a, rsa, "https://a/1", NULL, &err),
                     APR_EINVAL);
    ck_assert_ptr_null(inner);
}
END_TEST

static const char *const eab_algs[] = {"HS256", "HS512"};

START_TEST(acme_eab_exact)
{
    acme_pkey_t *key = jose_jwk_key("rfc7515-a2-rsa.json");
    const char *alg = eab_algs[_i], *err = NULL;
    json_t *jws = NULL;

    ck_assert_int_eq(acme_jws_sign_eab(&jws, test_pool, key, jose_vec("eab.kid"),
                                       jose_vec("eab.hmac"), alg, jose_vec("eab.url"), &err),
                     APR_SUCCESS);
    jose_keep(jws);
    ck_assert_str_eq(json_string_value(json_object_get(jws, "protected")),
                     jose_vec(apr_pstrcat(test_pool, "eab.", alg, ".protected", NULL)));
    ck_assert_str_eq(json_string_value(json_object_get(jws, "payload")), jose_vec("eab.payload"));
    ck_assert_str_eq(json_string_value(json_object_get(jws, "signature")),
                     jose_vec(apr_pstrcat(test_pool, "eab.", alg, ".signature", NULL)));
}
END_TEST

START_TEST(acme_eab_default_is_hs256_and_hs384_works)
{
    acme_pkey_t *key = jose_jwk_key("rfc7515-a2-rsa.json");
    json_t *jws = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(acme_jws_sign_eab(&jws, test_pool, key, jose_vec("eab.kid"),
                                       jose_vec("eab.hmac"), NULL, jose_vec("eab.url"), NULL),
                     APR_SUCCESS);
    jose_keep(jws);
    ck_assert_str_eq(json_string_value(json_object_get(jws, "signature")),
                     jose_vec("eab.HS256.signature"));
    ck_assert_int_eq(acme_jws_sign_eab(&jws, test_pool, key, jose_vec("eab.kid"),
                                       jose_vec("eab.hmac"), "HS384", jose_vec("eab.url"), NULL),
                     APR_SUCCESS);
    jose_keep(jws);
    ck_assert_str_eq(json_string_value(json_object_get(protected_of(jws), "alg")), "HS384");
    jose_b64dec(json_string_value(json_object_get(jws, "signature")), &len);
    ck_assert_uint_eq(len, 48);
}
END_TEST

static const struct {
    const char *kid, *hmac, *alg, *url, *reason;
} eab_bad[] = {
    {"kid-1", "", NULL, "https://ca/new-acct", "empty"},
    {"kid-1", NULL, NULL, "https://ca/new-acct", "empty"},
    {"kid-1", "zWNDZM6eQGHWpSRTPal5eA==", NULL, "https://ca/new-acct", "base64url"},
    {"kid-1", "zWNDZM6e+GHWpSRT/al5eA", NULL, "https://ca/new-acct", "base64url"},
    {"kid-1", "zWNDZM6e QGHWpSRTPal5eA", NULL, "https://ca/new-acct", "base64url"},
    {"kid-1", "z", NULL, "https://ca/new-acct", "base64url"},
    {"kid-1", "zWNDZ", NULL, "https://ca/new-acct", "base64url"},
    {"", "zWNDZM6eQGHWpSRTPal5eA", NULL, "https://ca/new-acct", "key id"},
    {NULL, "zWNDZM6eQGHWpSRTPal5eA", NULL, "https://ca/new-acct", "key id"},
    {"kid-1", "zWNDZM6eQGHWpSRTPal5eA", "RS256", "https://ca/new-acct", "algorithm"},
    {"kid-1", "zWNDZM6eQGHWpSRTPal5eA", NULL, NULL, "newAccount"},
};

START_TEST(acme_eab_rejects_bad_input)
{
    acme_pkey_t *key = jose_jwk_key("rfc7515-a3-ec.json");
    json_t *jws = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_jws_sign_eab(&jws, test_pool, key, eab_bad[_i].kid, eab_bad[_i].hmac,
                                       eab_bad[_i].alg, eab_bad[_i].url, &err), APR_EINVAL);
    ck_assert_ptr_null(jws);
    ck_assert_msg(err && strstr(err, eab_bad[_i].reason), "case %d: %s", _i, err);
    /* the secret never shows up in the reason */
    ck_assert(!eab_bad[_i].hmac || strlen(eab_bad[_i].hmac) < 8 || !strstr(err, eab_bad[_i].hmac));
}
END_TEST

TCase *jose_jws_acme_tcase(void)
{
    TCase *tc = tcase_create("jws_acme");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, acme_request_rs256_exact);
    tcase_add_loop_test(tc, acme_request_with_jwk_and_post_as_get_verify,
                        test_under_valgrind() ? 1 : 0,
                        (int)(sizeof(acme_specs) / sizeof(acme_specs[0])));
    tcase_add_loop_test(tc, acme_request_rejects_incomplete_headers, 0,
                        sizeof(hdr_bad) / sizeof(hdr_bad[0]));
    tcase_add_test(tc, acme_request_rejects_non_object_payload_and_public_key);
    tcase_add_test(tc, acme_key_change_inner_and_outer);
    tcase_add_test(tc, acme_key_change_rejects_same_key_and_missing_urls);
    tcase_add_loop_test(tc, acme_eab_exact, 0, sizeof(eab_algs) / sizeof(eab_algs[0]));
    tcase_add_test(tc, acme_eab_default_is_hs256_and_hs384_works);
    tcase_add_loop_test(tc, acme_eab_rejects_bad_input, 0, sizeof(eab_bad) / sizeof(eab_bad[0]));
    return tc;
}
