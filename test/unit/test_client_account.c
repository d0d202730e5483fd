/* Accounts and the signed-request machinery: newAccount (with EAB), nonce
 * handling, errors with Retry-After, key rollover. */
#include <string.h>

#include <apr_strings.h>

#include "acme_account.h"
#include "acme_b64.h"
#include "acme_json.h"
#include "acme_jwk.h"
#include "acme_jws.h"
#include "check_main.h"
#include "test_client.h"

#define EAB_KID "kid-1"
#define EAB_HMAC "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
#define ACCT_JSON "{\"status\": \"valid\", \"contact\": [\"mailto:admin@a.test\"]," \
                  " \"orders\": \"" ACCT_URL "/orders\"}"
#define BAD_NONCE "{\"type\": \"urn:ietf:params:acme:error:badNonce\", \"detail\": \"stale\"}"

static acme_http_script_step_t *new_account_step(client_fixture_t *fx, int status)
{
    acme_http_script_step_t *step = client_test_post(fx, NEWACCT_URL, status, ACCT_JSON);

    acme_http_script_step_header(step, "Location", ACCT_URL);
    return step;
}

/* The EAB JWS must be HS256 over our JWK, keyed with the decoded HMAC. */
static void check_eab(client_fixture_t *fx, const json_t *eab)
{
    json_t *hdr = client_test_decode_part(eab, "protected");
    json_t *payload = client_test_decode_part(eab, "payload"), *jwk;
    const char *input, *mac;
    unsigned char *key;
    apr_size_t key_len;

    ck_assert_str_eq(json_string_value(json_object_get(hdr, "alg")), "HS256");
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "kid")), EAB_KID);
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "url")), NEWACCT_URL);
    ck_assert_ptr_null(json_object_get(hdr, "nonce"));
    ck_assert_int_eq(acme_jwk_from_pkey(&jwk, test_pool, fx->key, NULL), APR_SUCCESS);
    ck_assert(json_equal(payload, jwk));
    json_decref(jwk);
    input = apr_pstrcat(test_pool, json_string_value(json_object_get(eab, "protected")), ".",
                        json_string_value(json_object_get(eab, "payload")), NULL);
    ck_assert_int_eq(acme_b64url_decode_str(&key, &key_len, test_pool, EAB_HMAC), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_mac_input(&mac, test_pool, "HS256", key, key_len, input,
                                        strlen(input), NULL), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(eab, "signature")), mac);
}

START_TEST(new_account_with_eab)
{
    client_fixture_t *fx = client_test_fixture(client_test_directory(1), 0);
    acme_account_params_t params = { 0 };
    acme_account_t *acct;
    json_t *hdr, *payload, *jwk;

    params.contacts = client_test_strings("mailto:admin@a.test", NULL);
    params.agree_tos = 1;
    params.eab_kid = EAB_KID;
    params.eab_hmac = EAB_HMAC;
    new_account_step(fx, 201);
    ck_assert_int_eq(acme_account_register(&acct, test_pool, fx->client, &params, fx->r),
                     APR_SUCCESS);
    client_test_script_done(fx);
    ck_assert_str_eq(acct->url, ACCT_URL);
    ck_assert_int_eq(acct->created, 1);
    ck_assert_int_eq(acct->status, ACME_ACCOUNT_VALID);
    ck_assert_str_eq(acct->orders, ACCT_URL "/orders");
    ck_assert_str_eq(acme_client_get_kid(fx->client), ACCT_URL);

    hdr = client_test_jws_protected(fx, 2);
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "alg")), "ES256");
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "nonce")), "nonce-0");
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "url")), NEWACCT_URL);
    ck_assert_ptr_null(json_object_get(hdr, "kid"));
    ck_assert_int_eq(acme_jwk_from_pkey(&jwk, test_pool, fx->key, NULL), APR_SUCCESS);
    ck_assert(json_equal(json_object_get(hdr, "jwk"), jwk));
    json_decref(jwk);
    payload = client_test_jws_payload(fx, 2);
    ck_assert(json_is_true(json_object_get(payload, "termsOfServiceAgreed")));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(payload, "contact"), 0)),
                     "mailto:admin@a.test");
    check_eab(fx, json_object_get(payload, "externalAccountBinding"));
}
END_TEST

START_TEST(new_account_refused_early_when_eab_required)
{
    client_fixture_t *fx = client_test_fixture(client_test_directory(1), 0);
    acme_account_params_t params = { 0 };
    acme_account_t *acct = NULL;

    ck_assert_int_eq(acme_account_register(&acct, test_pool, fx->client, &params, fx->r),
                     APR_EINVAL);
    ck_assert_ptr_null(acct);
    ck_assert_int_eq(fx->r->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_ptr_nonnull(strstr(fx->r->detail, "External Account Binding"));
    /* only the directory was fetched: nothing was signed or sent */
    ck_assert_int_eq(acme_http_script_count(fx->script), 1);

    params.eab_kid = EAB_KID;
    params.eab_hmac = "not+base64url=";
    ck_assert_int_eq(acme_account_register(&acct, test_pool, fx->client, &params, fx->r),
                     APR_EINVAL);
    ck_assert_int_eq(fx->r->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_int_eq(acme_http_script_count(fx->script), 1);
}
END_TEST

START_TEST(existing_account_and_lookup)
{
    client_fixture_t *fx = client_test_fixture(NULL, 0);
    acme_account_params_t params = { 0 };
    acme_account_t *acct;

    new_account_step(fx, 200);
    client_test_post(fx, NEWACCT_URL, 400, "{\"type\": \"urn:ietf:params:acme:error:"
                     "accountDoesNotExist\", \"detail\": \"no account for this key\"}");
    ck_assert_int_eq(acme_account_register(&acct, test_pool, fx->client, &params, fx->r),
                     APR_SUCCESS);
    ck_assert_int_eq(acct->created, 0);
    ck_assert_int_eq(acme_account_find(&acct, test_pool, fx->client, fx->r), ACME_EPROBLEM);
    ck_assert(acme_result_is(fx->r, "accountDoesNotExist"));
    ck_assert(json_is_true(json_object_get(client_test_jws_payload(fx, 3),
                                           "onlyReturnExisting")));
    client_test_script_done(fx);
}
END_TEST

START_TEST(bad_nonce_is_retried_with_the_new_nonce)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_account_t *acct;
    acme_http_script_step_t *step;

    step = acme_http_script_add(fx->script, ACME_HTTP_POST, ACCT_URL, 400, ACME_MEDIA_PROBLEM,
                                BAD_NONCE);
    acme_http_script_step_header(step, "Replay-Nonce", "fresh-after-error");
    client_test_post(fx, ACCT_URL, 200, ACCT_JSON);
    ck_assert_int_eq(acme_account_fetch(&acct, test_pool, fx->client, fx->r), APR_SUCCESS);
    ck_assert_int_eq(fx->r->status, APR_SUCCESS);
    client_test_script_done(fx);
    ck_assert_str_eq(json_string_value(json_object_get(client_test_jws_protected(fx, 2),
                                                       "nonce")), "nonce-0");
    ck_assert_str_eq(json_string_value(json_object_get(client_test_jws_protected(fx, 3),
                                                       "nonce")), "fresh-after-error");
    ck_assert_str_eq(json_string_value(json_object_get(client_test_jws_protected(fx, 3),
                                                       "kid")), ACCT_URL);
    ck_assert_ptr_null(client_test_jws_payload(fx, 3));  /* POST-as-GET */
    ck_assert_int_eq(acme_client_nonce_count(fx->client), 1);
}
END_TEST

START_TEST(bad_nonce_retries_are_bounded)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_account_t *acct;
    int i;

    for (i = 0; i < ACME_CLIENT_NONCE_TRIES; ++i) {
        client_test_post(fx, ACCT_URL, 400, BAD_NONCE);
    }
    ck_assert_int_eq(acme_account_fetch(&acct, test_pool, fx->client, fx->r), ACME_EPROBLEM);
    ck_assert(acme_result_is(fx->r, "badNonce"));
    client_test_script_done(fx);
    ck_assert_int_eq(acme_http_script_count(fx->script), 2 + ACME_CLIENT_NONCE_TRIES);
}
END_TEST

START_TEST(rate_limit_gives_retry_at)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_http_script_step_t *step;
    acme_account_t *acct;
    apr_time_t before = apr_time_now();

    step = client_test_post(fx, ACCT_URL, 429, "{\"type\": \"urn:ietf:params:acme:error:"
                            "rateLimited\", \"detail\": \"too many requests\"}");
    acme_http_script_step_header(step, "Retry-After", "120");
    acme_result_set_activity(fx->r, "fetching account");
    ck_assert_int_eq(acme_account_fetch(&acct, test_pool, fx->client, fx->r), ACME_EPROBLEM);
    ck_assert_int_eq(fx->r->http_status, 429);
    ck_assert(acme_result_is(fx->r, "rateLimited"));
    ck_assert_int_eq(fx->r->action, ACME_ACTION_RETRY);
    ck_assert(fx->r->retry_at >= before + apr_time_from_sec(120));
    ck_assert(fx->r->retry_at <= apr_time_now() + apr_time_from_sec(120));
    ck_assert_str_eq(fx->r->activity, "fetching account");
    ck_assert_str_eq(fx->r->detail, "too many requests");
    client_test_script_done(fx);
}
END_TEST

START_TEST(transport_failure_and_missing_nonce)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_account_t *acct;

    acme_http_script_add_error(fx->script, ACME_HTTP_POST, ACCT_URL, ACME_HTTP_ECONNECT,
                               "Connection refused");
    ck_assert_int_eq(acme_account_fetch(&acct, test_pool, fx->client, fx->r),
                     ACME_HTTP_ECONNECT);
    ck_assert_int_eq(fx->r->action, ACME_ACTION_RETRY);
    ck_assert_ptr_nonnull(strstr(fx->r->detail, "Connection refused"));
    /* the pool is empty now: a newNonce answer without a usable nonce fails */
    acme_http_script_step_header(acme_http_script_add(fx->script, ACME_HTTP_HEAD, NONCE_URL,
                                                      200, NULL, NULL),
                                 "Replay-Nonce", "not a nonce!");
    ck_assert_int_eq(acme_account_fetch(&acct, test_pool, fx->client, fx->r),
                     ACME_HTTP_EPROTOCOL);
    client_test_script_done(fx);
}
END_TEST

START_TEST(account_objects_are_validated)
{
    static const char *const bad[] = {
        "{\"status\": \"active\"}",
        "{\"contact\": []}",
        "{\"status\": \"valid\", \"orders\": \"/relative\"}",
        "{\"status\": \"valid\", \"contact\": \"mailto:a@a.test\"}",
        "{\"status\": \"valid\", \"contact\": [1]}",
    };
    acme_result_t *r = acme_result_create(test_pool);
    acme_account_t *acct;
    json_t *json;
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ck_assert_int_eq(acme_json_parse(&json, test_pool, bad[i], strlen(bad[i]),
                                         ACME_JSON_OBJECT, NULL), APR_SUCCESS);
        ck_assert_msg(acme_account_from_json(&acct, test_pool, json, NULL, r) == APR_EINVAL,
                      "accepted %s", bad[i]);
    }
}
END_TEST

START_TEST(deactivated_account_on_registration_is_an_error)
{
    client_fixture_t *fx = client_test_fixture(NULL, 0);
    acme_account_params_t params = { 0 };
    acme_account_t *acct;
    acme_http_script_step_t *step;

    step = client_test_post(fx, NEWACCT_URL, 200, "{\"status\": \"deactivated\"}");
    acme_http_script_step_header(step, "Location", ACCT_URL);
    ck_assert_int_eq(acme_account_register(&acct, test_pool, fx->client, &params, fx->r),
                     APR_EINVAL);
    ck_assert_ptr_null(acme_client_get_kid(fx->client));
    client_test_script_done(fx);
}
END_TEST

START_TEST(key_change_signs_inner_jws_with_new_key)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_pkey_spec_t spec = { ACME_PKEY_EC, 0, ACME_PKEY_P384 };
    acme_pkey_t *new_key, *old_key = fx->key;
    acme_jws_parts_t *parts;
    json_t *outer_hdr, *inner, *inner_hdr, *inner_payload, *old_jwk, *new_jwk;

    ck_assert_int_eq(acme_pkey_generate(&new_key, test_pool, &spec, NULL), APR_SUCCESS);
    client_test_post(fx, KEYCHANGE_URL, 200, ACCT_JSON);
    ck_assert_int_eq(acme_account_key_change(fx->client, test_pool, new_key, fx->r),
                     APR_SUCCESS);
    client_test_script_done(fx);
    ck_assert_ptr_eq(acme_client_get_key(fx->client), new_key);

    outer_hdr = client_test_jws_protected(fx, 2);
    ck_assert_str_eq(json_string_value(json_object_get(outer_hdr, "kid")), ACCT_URL);
    ck_assert_str_eq(json_string_value(json_object_get(outer_hdr, "url")), KEYCHANGE_URL);
    ck_assert_str_eq(json_string_value(json_object_get(outer_hdr, "alg")), "ES256");
    inner = client_test_jws_payload(fx, 2);
    ck_assert_int_eq(acme_jws_verify(&parts, test_pool, inner, new_key, NULL), APR_SUCCESS);
    inner_hdr = client_test_decode_part(inner, "protected");
    ck_assert_str_eq(json_string_value(json_object_get(inner_hdr, "alg")), "ES384");
    ck_assert_str_eq(json_string_value(json_object_get(inner_hdr, "url")), KEYCHANGE_URL);
    ck_assert_int_eq(acme_jwk_from_pkey(&new_jwk, test_pool, new_key, NULL), APR_SUCCESS);
    ck_assert(json_equal(json_object_get(inner_hdr, "jwk"), new_jwk));
    inner_payload = client_test_decode_part(inner, "payload");
    ck_assert_str_eq(json_string_value(json_object_get(inner_payload, "account")), ACCT_URL);
    ck_assert_int_eq(acme_jwk_from_pkey(&old_jwk, test_pool, old_key, NULL), APR_SUCCESS);
    ck_assert(json_equal(json_object_get(inner_payload, "oldKey"), old_jwk));
    json_decref(old_jwk);
    json_decref(new_jwk);
}
END_TEST

START_TEST(update_and_deactivate)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_account_t *acct;
    json_t *payload;

    client_test_post(fx, ACCT_URL, 200, "{\"status\": \"valid\", \"contact\": []}");
    client_test_post(fx, ACCT_URL, 200, "{\"status\": \"valid\"}");
    client_test_post(fx, ACCT_URL, 200, "{\"status\": \"deactivated\"}");
    ck_assert_int_eq(acme_account_update_contacts(&acct, test_pool, fx->client, NULL, fx->r),
                     APR_SUCCESS);
    ck_assert_int_eq(acct->contacts->nelts, 0);
    payload = client_test_jws_payload(fx, 2);
    ck_assert_int_eq(json_array_size(json_object_get(payload, "contact")), 0);
    /* a CA that ignores the deactivation is reported */
    ck_assert_int_eq(acme_account_deactivate(&acct, test_pool, fx->client, fx->r), APR_EINVAL);
    ck_assert_int_eq(acme_account_deactivate(&acct, test_pool, fx->client, fx->r), APR_SUCCESS);
    ck_assert_int_eq(acct->status, ACME_ACCOUNT_DEACTIVATED);
    payload = client_test_jws_payload(fx, 4);
    ck_assert_str_eq(json_string_value(json_object_get(payload, "status")), "deactivated");
    client_test_script_done(fx);
}
END_TEST

TCase *test_client_account_tcase(void)
{
    TCase *tc = tcase_create("account");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, new_account_with_eab);
    tcase_add_test(tc, new_account_refused_early_when_eab_required);
    tcase_add_test(tc, existing_account_and_lookup);
    tcase_add_test(tc, bad_nonce_is_retried_with_the_new_nonce);
    tcase_add_test(tc, bad_nonce_retries_are_bounded);
    tcase_add_test(tc, rate_limit_gives_retry_at);
    tcase_add_test(tc, transport_failure_and_missing_nonce);
    tcase_add_test(tc, account_objects_are_validated);
    tcase_add_test(tc, deactivated_account_on_registration_is_an_error);
    tcase_add_test(tc, key_change_signs_inner_jws_with_new_key);
    tcase_add_test(tc, update_and_deactivate);
    return tc;
}
