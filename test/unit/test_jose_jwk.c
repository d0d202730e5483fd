/* JWK export/import and RFC 7638 thumbprints. */
#include <string.h>

#include "acme_jwk.h"
#include "test_jose.h"

START_TEST(jwk_rfc7638_thumbprint)
{
    acme_pkey_t *key = jose_jwk_key("rfc7638-rsa.json");
    const char *thumb = NULL, *err = NULL;

    ck_assert_int_eq(acme_jwk_thumbprint(&thumb, test_pool, key, &err), APR_SUCCESS);
    ck_assert_str_eq(thumb, jose_vec("rfc7638.thumbprint"));
}
END_TEST

/* An EC thumbprint computed independently from the RFC 7515 A.3 key. */
START_TEST(jwk_ec_thumbprint)
{
    acme_pkey_t *key = jose_jwk_key("rfc7515-a3-ec.json");
    const char *thumb = NULL;

    ck_assert_int_eq(acme_jwk_thumbprint(&thumb, test_pool, key, NULL), APR_SUCCESS);
    ck_assert_str_eq(thumb, jose_vec("a3_thumbprint"));
}
END_TEST

START_TEST(jwk_rsa_export_has_required_members_only)
{
    json_t *in = jose_json("rfc7515-a2-rsa.json"), *jwk = NULL;
    acme_pkey_t *key = jose_jwk_key("rfc7515-a2-rsa.json");

    ck_assert_int_eq(acme_jwk_from_pkey(&jwk, test_pool, key, NULL), APR_SUCCESS);
    ck_assert_uint_eq(json_object_size(jwk), 3);
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "RSA");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "e")), "AQAB");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "n")),
                     json_string_value(json_object_get(in, "n")));
    ck_assert_ptr_null(json_object_get(jwk, "d"));
    ck_assert_str_eq(acme_jwk_alg(key), "RS256");
    json_decref(jwk);
}
END_TEST

START_TEST(jwk_ec_export_has_fixed_length_coordinates)
{
    json_t *in = jose_json("rfc7515-a3-ec.json"), *jwk = NULL;
    acme_pkey_t *key = jose_jwk_key("rfc7515-a3-ec.json");

    ck_assert_int_eq(acme_jwk_from_pkey(&jwk, test_pool, key, NULL), APR_SUCCESS);
    ck_assert_uint_eq(json_object_size(jwk), 4);
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "EC");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "crv")), "P-256");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "x")),
                     json_string_value(json_object_get(in, "x")));
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "y")),
                     json_string_value(json_object_get(in, "y")));
    ck_assert_ptr_null(json_object_get(jwk, "d"));
    ck_assert_str_eq(acme_jwk_alg(key), "ES256");
    json_decref(jwk);
}
END_TEST

/* Coordinates keep their leading zero bytes: many keys, all the same length. */
START_TEST(jwk_generated_keys_coordinate_lengths_and_alg)
{
    static const struct {
        const char *spec, *crv, *alg;
        apr_size_t chars;
    } t[] = {{"P-256", "P-256", "ES256", 43}, {"P-384", "P-384", "ES384", 64}};
    acme_pkey_spec_t spec = jose_spec(t[_i].spec);
    acme_pkey_t *key = NULL;
    json_t *jwk = NULL;
    int n;

    for (n = 0; n < 20; ++n) {
        ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &spec, NULL), APR_SUCCESS);
        ck_assert_int_eq(acme_jwk_from_pkey(&jwk, test_pool, key, NULL), APR_SUCCESS);
        ck_assert_str_eq(json_string_value(json_object_get(jwk, "crv")), t[_i].crv);
        ck_assert_uint_eq(strlen(json_string_value(json_object_get(jwk, "x"))), t[_i].chars);
        ck_assert_uint_eq(strlen(json_string_value(json_object_get(jwk, "y"))), t[_i].chars);
        ck_assert_str_eq(acme_jwk_alg(key), t[_i].alg);
        json_decref(jwk);
    }
}
END_TEST

START_TEST(jwk_import_is_private_only_with_d)
{
    json_t *pub = json_deep_copy(jose_json("rfc7515-a3-ec.json"));
    acme_pkey_t *priv_key = jose_jwk_key("rfc7515-a3-ec.json"), *pub_key = NULL;

    json_object_del(pub, "d");
    ck_assert_int_eq(acme_jwk_to_pkey(&pub_key, test_pool, pub, NULL), APR_SUCCESS);
    ck_assert(acme_pkey_has_private(priv_key));
    ck_assert(!acme_pkey_has_private(pub_key));
    ck_assert(acme_pkey_public_eq(priv_key, pub_key));
    json_decref(pub);
}
END_TEST

/* Broken JWKs: {file, member, new value or NULL to delete}. */
static const struct {
    const char *file, *member, *value;
} jwk_bad[] = {
    {"rfc7515-a3-ec.json", "kty", NULL},
    {"rfc7515-a3-ec.json", "kty", "oct"},
    {"rfc7515-a3-ec.json", "crv", "P-521"},
    {"rfc7515-a3-ec.json", "crv", NULL},
    {"rfc7515-a3-ec.json", "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE"},  /* short */
    {"rfc7515-a3-ec.json", "x", "g83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"}, /* off curve */
    {"rfc7515-a3-ec.json", "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a+"},
    {"rfc7515-a3-ec.json", "d", "kpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}, /* not x,y's */
    {"rfc7515-a2-rsa.json", "p", NULL},
    {"rfc7515-a2-rsa.json", "n", NULL},
    {"rfc7515-a2-rsa.json", "e", ""},
    {"rfc7515-a2-rsa.json", "oth", "x"},
    {"rfc7515-a2-rsa.json", "qi", "AQAB"}, /* private half inconsistent */
};

START_TEST(jwk_import_rejects_broken_keys)
{
    json_t *jwk = json_deep_copy(jose_json(jwk_bad[_i].file));
    acme_pkey_t *key = NULL;
    const char *err = NULL;

    if (jwk_bad[_i].value) {
        json_object_set_new(jwk, jwk_bad[_i].member, json_string(jwk_bad[_i].value));
    }
    else {
        json_object_del(jwk, jwk_bad[_i].member);
    }
    ck_assert_int_eq(acme_jwk_to_pkey(&key, test_pool, jwk, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(key);
    json_decref(jwk);
}
END_TEST

START_TEST(jwk_import_rejects_non_objects)
{
    json_t *arr = json_array();
    acme_pkey_t *key = NULL;

    ck_assert_int_eq(acme_jwk_to_pkey(&key, test_pool, arr, NULL), APR_EINVAL);
    json_decref(arr);
}
END_TEST

TCase *jose_jwk_tcase(void)
{
    TCase *tc = tcase_create("jwk");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, jwk_rfc7638_thumbprint);
    tcase_add_test(tc, jwk_ec_thumbprint);
    tcase_add_test(tc, jwk_rsa_export_has_required_members_only);
    tcase_add_test(tc, jwk_ec_export_has_fixed_length_coordinates);
    tcase_add_loop_test(tc, jwk_generated_keys_coordinate_lengths_and_alg, 0, 2);
    tcase_add_test(tc, jwk_import_is_private_only_with_d);
    tcase_add_loop_test(tc, jwk_import_rejects_broken_keys, 0,
                        sizeof(jwk_bad) / sizeof(jwk_bad[0]));
    tcase_add_test(tc, jwk_import_rejects_non_objects);
    return tc;
}
