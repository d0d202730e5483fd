/* Polling steps (never sleeping, honouring Retry-After), orders and
 * authorizations going invalid, RFC 3339 times. */
#include <string.h>

#include <apr_strings.h>

#include "acme_order.h"
#include "check_main.h"
#include "test_client.h"

#define ORDER_BODY(status, extra) \
    "{\"status\": \"" status "\", \"identifiers\": [{\"type\": \"dns\", \"value\": \"a.test\"}," \
    " {\"type\": \"dns\", \"value\": \"b.test\"}], \"authorizations\": [\"" AUTHZ_URL "\"]," \
    " \"finalize\": \"" FINALIZE_URL "\"" extra "}"

#define AUTHZ_BODY(status, chall_status, extra) \
    "{\"status\": \"" status "\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"}," \
    " \"wildcard\": false, \"challenges\": [{\"type\": \"http-01\", \"url\": \"" CHALL_URL "\"," \
    " \"status\": \"" chall_status "\", \"token\": \"tok\"" extra "}]}"

static const apr_time_t NOW = APR_TIME_C(1700000000) * APR_USEC_PER_SEC;

START_TEST(order_poll_honours_retry_after)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_order_t *order;
    apr_time_t next;

    acme_http_script_step_header(client_test_post(fx, ORDER_URL, 200,
                                                  ORDER_BODY("processing", "")),
                                 "Retry-After", "7");
    client_test_post(fx, ORDER_URL, 200, ORDER_BODY("pending", ""));
    acme_http_script_step_header(client_test_post(fx, ORDER_URL, 200,
                                                  ORDER_BODY("processing", "")),
                                 "Retry-After", "0");
    acme_http_script_step_header(client_test_post(fx, ORDER_URL, 200,
                                                  ORDER_BODY("processing", "")),
                                 "Retry-After", "soon");
    client_test_post(fx, ORDER_URL, 200, ORDER_BODY("ready", ""));
    client_test_post(fx, ORDER_URL, 200,
                     ORDER_BODY("valid", ", \"certificate\": \"" CERT_URL "\""));

    ck_assert_int_eq(acme_order_poll(&order, &next, test_pool, fx->client, ORDER_URL, NOW,
                                     fx->r), APR_SUCCESS);
    ck_assert_int_eq(order->status, ACME_ORDER_PROCESSING);
    ck_assert(next == NOW + apr_time_from_sec(7));
    ck_assert_int_eq(acme_order_poll(&order, &next, test_pool, fx->client, ORDER_URL, NOW,
                                     fx->r), APR_SUCCESS);
    ck_assert(next == NOW + ACME_ORDER_POLL_INTERVAL);
    /* "poll again right now" forever must not make a caller spin */
    ck_assert_int_eq(acme_order_poll(&order, &next, test_pool, fx->client, ORDER_URL, NOW,
                                     fx->r), APR_SUCCESS);
    ck_assert(next == NOW + apr_time_from_sec(1));
    ck_assert_int_eq(acme_order_poll(&order, &next, test_pool, fx->client, ORDER_URL, NOW,
                                     fx->r), APR_SUCCESS);
    ck_assert(next == NOW + ACME_ORDER_POLL_INTERVAL);
    ck_assert_int_eq(acme_order_poll(&order, &next, test_pool, fx->client, ORDER_URL, NOW,
                                     fx->r), APR_SUCCESS);
    ck_assert_int_eq(order->status, ACME_ORDER_READY);
    ck_assert(next == 0);
    ck_assert_int_eq(acme_order_poll(&order, &next, test_pool, fx->client, ORDER_URL, NOW,
                                     fx->r), APR_SUCCESS);
    ck_assert_int_eq(order->status, ACME_ORDER_VALID);
    ck_assert_str_eq(order->certificate, CERT_URL);
    ck_assert(next == 0);
    client_test_script_done(fx);
}
END_TEST

START_TEST(order_going_invalid_reports_subproblems)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_order_t *order = NULL;
    const acme_subproblem_t *sub;
    apr_time_t next = 1;

    client_test_post(fx, ORDER_URL, 200, ORDER_BODY("invalid", ", \"error\": {"
        "\"type\": \"urn:ietf:params:acme:error:compound\", \"detail\": \"2 names failed\","
        " \"subproblems\": [{\"type\": \"urn:ietf:params:acme:error:caa\","
        " \"detail\": \"CAA forbids\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"}},"
        " {\"type\": \"urn:ietf:params:acme:error:rejectedIdentifier\", \"detail\": \"blocked\","
        " \"identifier\": {\"type\": \"dns\", \"value\": \"b.test\"}}]}"));
    client_test_post(fx, ORDER_URL, 200, ORDER_BODY("invalid", ""));
    ck_assert_int_eq(acme_order_poll(&order, &next, test_pool, fx->client, ORDER_URL, NOW,
                                     fx->r), ACME_EPROBLEM);
    ck_assert_ptr_nonnull(order);
    ck_assert_int_eq(order->status, ACME_ORDER_INVALID);
    ck_assert(next == 0);
    ck_assert(acme_result_is(fx->r, "compound"));
    ck_assert_str_eq(fx->r->detail, "2 names failed");
    ck_assert_int_eq(fx->r->subproblems->nelts, 2);
    sub = APR_ARRAY_IDX(fx->r->subproblems, 1, const acme_subproblem_t *);
    ck_assert_str_eq(sub->id_value, "b.test");
    ck_assert_str_eq(sub->detail, "blocked");
    ck_assert_int_eq(fx->r->action, ACME_ACTION_FIX_CONFIG);
    /* invalid without an error document is still an error */
    ck_assert_int_eq(acme_order_poll(&order, &next, test_pool, fx->client, ORDER_URL, NOW,
                                     fx->r), ACME_EPROBLEM);
    ck_assert_ptr_nonnull(strstr(fx->r->detail, "invalid"));
    client_test_script_done(fx);
}
END_TEST

START_TEST(authz_poll_steps_and_failure)
{
    client_fixture_t *fx = client_test_fixture(NULL, 1);
    acme_authz_t *az;
    apr_time_t next;

    acme_http_script_step_header(client_test_post(fx, AUTHZ_URL, 200,
                                                  AUTHZ_BODY("pending", "processing", "")),
                                 "Retry-After", "3");
    client_test_post(fx, AUTHZ_URL, 200, AUTHZ_BODY("valid", "valid", ""));
    client_test_post(fx, AUTHZ_URL, 200, AUTHZ_BODY("invalid", "invalid", ", \"error\": {"
        "\"type\": \"urn:ietf:params:acme:error:connection\","
        " \"detail\": \"connection refused\"}"));
    ck_assert_int_eq(acme_authz_poll(&az, &next, test_pool, fx->client, AUTHZ_URL, NOW, fx->r),
                     APR_SUCCESS);
    ck_assert(next == NOW + apr_time_from_sec(3));
    ck_assert_int_eq(acme_authz_poll(&az, &next, test_pool, fx->client, AUTHZ_URL, NOW, fx->r),
                     APR_SUCCESS);
    ck_assert(next == 0);
    ck_assert_int_eq(az->status, ACME_AUTHZ_VALID);
    ck_assert_int_eq(acme_authz_poll(&az, &next, test_pool, fx->client, AUTHZ_URL, NOW, fx->r),
                     ACME_EPROBLEM);
    ck_assert_int_eq(az->status, ACME_AUTHZ_INVALID);
    ck_assert(acme_result_is(fx->r, "connection"));
    ck_assert_str_eq(fx->r->detail, "connection refused");
    client_test_script_done(fx);
}
END_TEST

static const struct {
    const char *text;
    apr_int64_t sec;
    int usec;
} good_times[] = {
    { "1970-01-01T00:00:00Z", 0, 0 },
    { "2030-01-02T03:04:05Z", 1893553445, 0 },
    { "2030-01-02t03:04:05z", 1893553445, 0 },
    { "2030-01-02T05:04:05+02:00", 1893553445, 0 },
    { "2030-01-01T23:04:05-04:00", 1893553445, 0 },
    { "2030-01-02T03:04:05.5Z", 1893553445, 500000 },
    { "2030-01-02T03:04:05.123456789Z", 1893553445, 123456 },
};

static const char *const bad_times[] = {
    "", "2030-01-02", "2030-01-02T03:04Z", "2030-01-02T03:04:05", "2030-01-02 03:04:05Z",
    "2030-1-02T03:04:05Z", "2030-01-02T03:04:05.Z", "2030-01-02T03:04:05+0200",
    "2030-13-02T03:04:05Z", "2030-01-32T03:04:05Z", "2030-01-02T24:04:05Z",
    "1969-12-31T23:59:59Z", "2030-01-02T03:04:05Zjunk", "+030-01-02T03:04:05Z",
};

START_TEST(rfc3339_times)
{
    apr_time_t t;
    unsigned i;

    for (i = 0; i < sizeof(good_times) / sizeof(good_times[0]); ++i) {
        ck_assert_msg(acme_order_parse_time(&t, good_times[i].text) == APR_SUCCESS, "%s",
                      good_times[i].text);
        ck_assert_msg(t == apr_time_from_sec(good_times[i].sec) + good_times[i].usec, "%s",
                      good_times[i].text);
    }
    for (i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); ++i) {
        ck_assert_msg(acme_order_parse_time(&t, bad_times[i]) == APR_EINVAL, "accepted '%s'",
                      bad_times[i]);
    }
}
END_TEST

START_TEST(status_names)
{
    ck_assert_str_eq(acme_order_status_name(ACME_ORDER_PROCESSING), "processing");
    ck_assert_str_eq(acme_authz_status_name(ACME_AUTHZ_DEACTIVATED), "deactivated");
    ck_assert_str_eq(acme_challenge_status_name(ACME_CHALLENGE_INVALID), "invalid");
    ck_assert_str_eq(acme_order_status_name((acme_order_status_e)42), "unknown");
}
END_TEST

TCase *test_client_poll_tcase(void)
{
    TCase *tc = tcase_create("poll");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, order_poll_honours_retry_after);
    tcase_add_test(tc, order_going_invalid_reports_subproblems);
    tcase_add_test(tc, authz_poll_steps_and_failure);
    tcase_add_test(tc, rfc3339_times);
    tcase_add_test(tc, status_names);
    return tc;
}
