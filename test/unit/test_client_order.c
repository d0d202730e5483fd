/* Orders, authorizations and challenges: creation, validation of what the
 * CA sends, challenge selection, responding and finalizing. */
#include <string.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_json.h"
#include "acme_order.h"
#include "check_main.h"
#include "test_client.h"

#define ORDER_JSON(status, extra) \
    "{\"status\": \"" status "\", \"expires\": \"2030-01-02T03:04:05Z\"," \
    " \"identifiers\": [{\"type\": \"dns\", \"value\": \"a.test\"}," \
    " {\"type\": \"ip\", \"value\": \"192.0.2.7\"}]," \
    " \"authorizations\": [\"" AUTHZ_URL "\", \"" CA "/authz/2\"]," \
    " \"finalize\": \"" FINALIZE_URL "\"" extra "}"

#define AUTHZ_JSON \
    "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"}," \
    " \"challenges\": [" \
    "{\"type\": \"http-01\", \"url\": \"" CA "/chall/h\", \"status\": \"invalid\"," \
    " \"token\": \"tok-h\"}," \
    "{\"type\": \"dns-01\", \"url\": \"" CA "/chall/d\", \"status\": \"pending\"," \
    " \"token\": \"tok-d\"}," \
    "{\"type\": \"tls-alpn-01\", \"url\": \"" CA "/chall/t\", \"status\": \"pending\"," \
    " \"token\": \"tok-t\"}," \
    "{\"type\": \"x-future-01\", \"url\": \"" CA "/chall/x\", \"status\": \"pending\"}]}"

static json_t *parse_json(const char *s)
{
    json_t *json;

    ck_assert_int_eq(acme_json_parse(&json, test_pool, s, strlen(s), ACME_JSON_OBJECT, NULL),
                     APR_SUCCESS);
    return json;
}

START_TEST(new_order_with_dns_ip_profile_and_replaces)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_order_params_t params = { 0 };
    acme_order_t *order;
    acme_http_script_step_t *step;
    json_t *payload, *ids;

    params.names = client_test_strings("A.Test", "192.0.2.7", NULL);
    params.profile = "shortlived";
    params.replaces = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
    step = client_test_post(fx, NEWORDER_URL, 201, ORDER_JSON("pending", ""));
    acme_http_script_step_header(step, "Location", ORDER_URL);
    ck_assert_int_eq(acme_order_create(&order, test_pool, fx->client, &params, fx->r),
                     APR_SUCCESS);
    client_test_script_done(fx);
    ck_assert_str_eq(order->url, ORDER_URL);
    ck_assert_int_eq(order->status, ACME_ORDER_PENDING);
    ck_assert_int_eq(order->authorizations->nelts, 2);
    ck_assert_str_eq(order->finalize, FINALIZE_URL);
    ck_assert_ptr_null(order->certificate);
    ck_assert(order->expires == apr_time_from_sec(1893553445));

    payload = client_test_jws_payload(fx, 2);
    ids = json_object_get(payload, "identifiers");
    ck_assert_int_eq(json_array_size(ids), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ids, 0), "type")), "dns");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ids, 0), "value")),
                     "a.test");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ids, 1), "type")), "ip");
    ck_assert_str_eq(json_string_value(json_object_get(payload, "profile")), "shortlived");
    ck_assert_str_eq(json_string_value(json_object_get(payload, "replaces")), params.replaces);
}
END_TEST

START_TEST(new_order_checks_names_profile_and_answer)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_order_params_t params = { 0 };
    acme_order_t *order = NULL;
    acme_http_script_step_t *step;

    params.names = client_test_strings("a.test", "bad name", NULL);
    ck_assert_int_eq(acme_order_create(&order, test_pool, fx->client, &params, fx->r),
                     APR_EINVAL);
    params.names = client_test_strings("a.test", "A.TEST", NULL);
    ck_assert_int_eq(acme_order_create(&order, test_pool, fx->client, &params, fx->r),
                     APR_EINVAL);
    params.names = client_test_strings("a.test", "b.test", NULL);
    params.profile = "tlsclient";
    ck_assert_int_eq(acme_order_create(&order, test_pool, fx->client, &params, fx->r),
                     APR_EINVAL);
    ck_assert_int_eq(fx->r->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_ptr_nonnull(strstr(fx->r->detail, "tlsclient"));
    ck_assert_int_eq(acme_http_script_count(fx->script), 1);  /* only the directory */
    /* the CA ordering other names than asked is an error */
    params.profile = NULL;
    step = client_test_post(fx, NEWORDER_URL, 201, ORDER_JSON("pending", ""));
    acme_http_script_step_header(step, "Location", ORDER_URL);
    ck_assert_int_eq(acme_order_create(&order, test_pool, fx->client, &params, fx->r),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(fx->r->detail, "b.test"));
    /* no Location */
    params.names = client_test_strings("a.test", NULL);
    client_test_post(fx, NEWORDER_URL, 201, ORDER_JSON("pending", ""));
    ck_assert_int_eq(acme_order_create(&order, test_pool, fx->client, &params, fx->r),
                     APR_EINVAL);
    ck_assert_ptr_null(order);
    client_test_script_done(fx);
}
END_TEST

static const char *const bad_orders[] = {
    ORDER_JSON("done", ""),
    ORDER_JSON("valid", ""),                                   /* no certificate */
    ORDER_JSON("valid", ", \"certificate\": \"/cert\""),
    ORDER_JSON("pending", ", \"notBefore\": \"tomorrow\""),
    ORDER_JSON("pending", ", \"notBefore\": \"2030-01-02 03:04:05Z\""),
    ORDER_JSON("pending", ", \"notAfter\": \"2030-13-02T03:04:05Z\""),
    ORDER_JSON("pending", ", \"error\": \"failed\""),
    ORDER_JSON("pending", ", \"profile\": 7"),
    ORDER_JSON("pending", ", \"profile\": \"a-profile-name-that-is-longer-than-any-ca-would-ever-"
               "use-for-one-of-its-certificate-profiles\""),
    "{\"status\": \"pending\", \"identifiers\": [], \"authorizations\": [],"
    " \"finalize\": \"" FINALIZE_URL "\"}",
    "{\"status\": \"pending\", \"identifiers\": [{\"type\": \"dns\", \"value\": \"../x\"}],"
    " \"authorizations\": [], \"finalize\": \"" FINALIZE_URL "\"}",
    "{\"status\": \"pending\", \"identifiers\": [{\"type\": \"email\", \"value\": \"a@a.test\"}],"
    " \"authorizations\": [], \"finalize\": \"" FINALIZE_URL "\"}",
    "{\"status\": \"pending\", \"identifiers\": [{\"type\": \"ip\", \"value\": \"a.test\"}],"
    " \"authorizations\": [], \"finalize\": \"" FINALIZE_URL "\"}",
    "{\"status\": \"pending\", \"identifiers\": [{\"type\": \"dns\", \"value\": \"a.test\"}],"
    " \"authorizations\": [\"" AUTHZ_URL "\", 5], \"finalize\": \"" FINALIZE_URL "\"}",
    "{\"status\": \"pending\", \"identifiers\": [{\"type\": \"dns\", \"value\": \"a.test\"}],"
    " \"authorizations\": [\"file:///etc/passwd\"], \"finalize\": \"" FINALIZE_URL "\"}",
    "{\"status\": \"pending\", \"identifiers\": [{\"type\": \"dns\", \"value\": \"a.test\"}],"
    " \"authorizations\": []}",
};

START_TEST(order_documents_are_validated)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_order_t *order = NULL;

    ck_assert_msg(acme_order_from_json(&order, test_pool, parse_json(bad_orders[_i]), ORDER_URL,
                                       r) != APR_SUCCESS, "accepted case %d", _i);
    ck_assert_ptr_null(order);
    ck_assert_int_ne(r->status, APR_SUCCESS);
}
END_TEST

START_TEST(order_identifier_limit)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_order_t *order = NULL;
    char *ids = "";
    int i;

    for (i = 0; i <= ACME_ORDER_MAX_IDENTIFIERS; ++i) {
        ids = apr_psprintf(test_pool, "%s%s{\"type\": \"dns\", \"value\": \"n%d.test\"}", ids,
                           i ? "," : "", i);
    }
    ck_assert_int_eq(acme_order_from_json(&order, test_pool, parse_json(apr_psprintf(test_pool,
        "{\"status\": \"pending\", \"identifiers\": [%s], \"authorizations\": [],"
        " \"finalize\": \"" FINALIZE_URL "\"}", ids)), ORDER_URL, r), APR_EINVAL);
}
END_TEST

START_TEST(malformed_and_oversized_answers_are_errors)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_order_t *order = NULL;
    acme_http_script_step_t *step;
    char *big;

    client_test_post(fx, ORDER_URL, 200, "{\"status\": \"pending\", \"identif");
    client_test_post(fx, ORDER_URL, 200, "<html>not json</html>");
    client_test_post(fx, ORDER_URL, 200, "[1, 2, 3]");
    big = apr_palloc(test_pool, ACME_JSON_MAX_BYTES + 64);
    memset(big, ' ', ACME_JSON_MAX_BYTES + 63);
    memcpy(big, "{\"status\": \"pending\", \"x\": \"", 28);
    memcpy(big + ACME_JSON_MAX_BYTES + 60, "\"}", 3);
    step = client_test_post(fx, ORDER_URL, 200, NULL);
    acme_http_script_step_body(step, big, ACME_JSON_MAX_BYTES + 62);
    step = client_test_post(fx, ORDER_URL, 200, NULL);
    acme_http_script_step_body(step, "{\"status\": \"pe\0nding\"}", 22);

    ck_assert_int_eq(acme_order_fetch(&order, test_pool, fx->client, ORDER_URL, fx->r),
                     APR_EINVAL);
    ck_assert_int_eq(acme_order_fetch(&order, test_pool, fx->client, ORDER_URL, fx->r),
                     APR_EINVAL);
    ck_assert_int_eq(acme_order_fetch(&order, test_pool, fx->client, ORDER_URL, fx->r),
                     APR_EINVAL);
    ck_assert_int_eq(acme_order_fetch(&order, test_pool, fx->client, ORDER_URL, fx->r),
                     APR_ENOSPC);
    ck_assert_int_ne(acme_order_fetch(&order, test_pool, fx->client, ORDER_URL, fx->r),
                     APR_SUCCESS);
    ck_assert_ptr_null(order);
    ck_assert_ptr_nonnull(fx->r->detail);
    client_test_script_done(fx);
}
END_TEST

START_TEST(challenge_selection_by_preference)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_authz_t *az;
    const acme_challenge_t *ch;

    ck_assert_int_eq(acme_authz_from_json(&az, test_pool, parse_json(AUTHZ_JSON), AUTHZ_URL, r),
                     APR_SUCCESS);
    ck_assert_int_eq(az->status, ACME_AUTHZ_PENDING);
    ck_assert_str_eq(az->identifier.value, "a.test");
    ck_assert_int_eq(az->wildcard, 0);
    ck_assert_int_eq(az->challenges->nelts, 4);
    ch = acme_authz_select_challenge(az, client_test_strings("tls-alpn-01", "dns-01", NULL));
    ck_assert_str_eq(ch->type, "tls-alpn-01");
    ck_assert_str_eq(ch->token, "tok-t");
    ch = acme_authz_select_challenge(az, client_test_strings("dns-01", "tls-alpn-01", NULL));
    ck_assert_str_eq(ch->url, CA "/chall/d");
    /* the invalid http-01 challenge is passed over */
    ch = acme_authz_select_challenge(az, client_test_strings("http-01", "dns-01", NULL));
    ck_assert_str_eq(ch->type, "dns-01");
    ck_assert_ptr_null(acme_authz_select_challenge(az, client_test_strings("http-01", NULL)));
    ck_assert_ptr_null(acme_authz_select_challenge(az, client_test_strings(NULL)));
    ck_assert_str_eq(acme_authz_select_challenge(az, client_test_strings("x-future-01", NULL))
                     ->type, "x-future-01");
}
END_TEST

START_TEST(authorization_must_be_for_an_ordered_name)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_order_t *order;
    acme_authz_t *az;

    ck_assert_int_eq(acme_order_from_json(&order, test_pool, parse_json(
        "{\"status\": \"pending\", \"identifiers\": [{\"type\": \"dns\", \"value\": \"a.test\"},"
        " {\"type\": \"dns\", \"value\": \"*.w.test\"}, {\"type\": \"ip\", \"value\": \"::1\"}],"
        " \"authorizations\": [], \"finalize\": \"" FINALIZE_URL "\"}"), ORDER_URL, r),
        APR_SUCCESS);
    ck_assert_int_eq(acme_authz_from_json(&az, test_pool, parse_json(AUTHZ_JSON), AUTHZ_URL, r),
                     APR_SUCCESS);
    ck_assert(acme_order_covers_authz(order, az));
    az->identifier.value = "w.test";
    ck_assert(!acme_order_covers_authz(order, az));   /* only the wildcard was ordered */
    az->wildcard = 1;
    ck_assert(acme_order_covers_authz(order, az));
    az->identifier.value = "a.test";
    ck_assert(!acme_order_covers_authz(order, az));
    az->wildcard = 0;
    az->identifier.value = "evil.test";
    ck_assert(!acme_order_covers_authz(order, az));
    az->identifier.type = "ip";
    az->identifier.value = "::1";
    ck_assert(acme_order_covers_authz(order, az));
    az->identifier.type = "dns";
    ck_assert(!acme_order_covers_authz(order, az));
}
END_TEST

static const char *const bad_authzs[] = {
    "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
    " \"challenges\": [{\"type\": \"http-01\", \"url\": \"" CHALL_URL "\","
    " \"status\": \"pending\", \"token\": \"../../etc/passwd\"}]}",
    "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
    " \"challenges\": [{\"type\": \"dns-01\", \"url\": \"" CHALL_URL "\","
    " \"status\": \"pending\"}]}",
    "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
    " \"challenges\": [{\"type\": \"HTTP 01\", \"url\": \"" CHALL_URL "\","
    " \"status\": \"pending\", \"token\": \"t\"}]}",
    "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
    " \"challenges\": [{\"type\": \"dns-01\", \"url\": \"" CHALL_URL "\","
    " \"status\": \"waiting\", \"token\": \"t\"}]}",
    "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"*.a.test\"},"
    " \"challenges\": []}",
    "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
    " \"wildcard\": \"no\", \"challenges\": []}",
    "{\"status\": \"pending\", \"identifier\": \"a.test\", \"challenges\": []}",
    "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"}}",
};

START_TEST(authorization_documents_are_validated)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_authz_t *az = NULL;

    ck_assert_msg(acme_authz_from_json(&az, test_pool, parse_json(bad_authzs[_i]), AUTHZ_URL, r)
                  != APR_SUCCESS, "accepted case %d", _i);
    ck_assert_ptr_null(az);
}
END_TEST

START_TEST(respond_and_finalize)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_challenge_t chal = { "http-01", CHALL_URL, ACME_CHALLENGE_PENDING, "tok", NULL };
    acme_challenge_t *answered;
    acme_order_t *order, *done;
    static const unsigned char csr[] = { 0x30, 0x82, 0x01, 0xff, 0xfe };
    json_t *payload;

    client_test_post(fx, CHALL_URL, 200, "{\"type\": \"http-01\", \"url\": \"" CHALL_URL "\","
                     " \"status\": \"processing\", \"token\": \"tok\"}");
    client_test_post(fx, FINALIZE_URL, 200, ORDER_JSON("processing", ""));
    ck_assert_int_eq(acme_challenge_respond(&answered, test_pool, fx->client, &chal, fx->r),
                     APR_SUCCESS);
    ck_assert_int_eq(answered->status, ACME_CHALLENGE_PROCESSING);
    payload = client_test_jws_payload(fx, 2);
    ck_assert(json_is_object(payload) && json_object_size(payload) == 0);

    ck_assert_int_eq(acme_order_from_json(&order, test_pool,
                                          parse_json(ORDER_JSON("pending", "")), ORDER_URL,
                                          fx->r), APR_SUCCESS);
    ck_assert_int_eq(acme_order_finalize(&done, test_pool, fx->client, order, csr, sizeof(csr),
                                         fx->r), APR_EINVAL);
    order->status = ACME_ORDER_READY;
    ck_assert_int_eq(acme_order_finalize(&done, test_pool, fx->client, order, csr, sizeof(csr),
                                         fx->r), APR_SUCCESS);
    ck_assert_int_eq(done->status, ACME_ORDER_PROCESSING);
    ck_assert_str_eq(done->url, ORDER_URL);
    payload = client_test_jws_payload(fx, 3);
    ck_assert_str_eq(json_string_value(json_object_get(payload, "csr")),
                     acme_b64url_encode(test_pool, csr, sizeof(csr)));
    client_test_script_done(fx);
}
END_TEST

TCase *test_client_order_tcase(void)
{
    TCase *tc = tcase_create("order");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, new_order_with_dns_ip_profile_and_replaces);
    tcase_add_test(tc, new_order_checks_names_profile_and_answer);
    tcase_add_loop_test(tc, order_documents_are_validated, 0,
                        sizeof(bad_orders) / sizeof(bad_orders[0]));
    tcase_add_test(tc, order_identifier_limit);
    tcase_add_test(tc, malformed_and_oversized_answers_are_errors);
    tcase_add_test(tc, challenge_selection_by_preference);
    tcase_add_test(tc, authorization_must_be_for_an_ordered_name);
    tcase_add_loop_test(tc, authorization_documents_are_validated, 0,
                        sizeof(bad_authzs) / sizeof(bad_authzs[0]));
    tcase_add_test(tc, respond_and_finalize);
    return tc;
}
