/* acme_http (the transport interface) driven by the scripted transport. */
#include <string.h>

#include <apr_strings.h>

#include "acme_http.h"
#include "acme_http_script.h"
#include "check_main.h"
#include "test_http.h"

#define DIR_URL "https://ca.example/dir"
#define NONCE_URL "https://ca.example/new-nonce"
#define ORDER_URL "https://ca.example/new-order"

START_TEST(script_plays_steps_in_order)
{
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_script_step_t *step;
    acme_http_request_t *req;
    acme_http_response_t *resp;
    const acme_http_request_t *seen;

    acme_http_script_add(s, ACME_HTTP_GET, DIR_URL, 200, ACME_MEDIA_JSON, "{\"a\": 1}");
    step = acme_http_script_add(s, ACME_HTTP_HEAD, NONCE_URL, 200, NULL, NULL);
    acme_http_script_step_header(step, "Replay-Nonce", "nonce-1");
    acme_http_script_step_header(step, "Link", "<" DIR_URL ">;rel=\"index\"");
    acme_http_script_step_header(step, "Link", "<https://ca.example/x>;rel=\"up\"");
    ck_assert_int_eq(acme_http_script_pending(s), 2);

    req = acme_http_request_make(test_pool, ACME_HTTP_GET, DIR_URL);
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 200);
    ck_assert_str_eq(resp->body, "{\"a\": 1}");
    ck_assert_uint_eq(resp->body_len, 8);
    ck_assert(acme_http_response_is_type(resp, ACME_MEDIA_JSON));
    ck_assert_str_eq(resp->effective_url, DIR_URL);

    req = acme_http_request_make(test_pool, ACME_HTTP_HEAD, NONCE_URL);
    apr_table_set(req->headers, "Accept-Language", "en");
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), APR_SUCCESS);
    ck_assert_str_eq(acme_http_response_header(resp, "replay-nonce"), "nonce-1");
    ck_assert_uint_eq(resp->body_len, 0);
    ck_assert_str_eq(resp->body, "");
    ck_assert_int_eq(apr_table_elts(resp->headers)->nelts, 3);
    ck_assert_str_eq(acme_http_transport_error(t), "");

    ck_assert_ptr_null(acme_http_script_error(s));
    ck_assert_int_eq(acme_http_script_pending(s), 0);
    ck_assert_int_eq(acme_http_script_count(s), 2);
    seen = acme_http_script_request(s, 1);
    ck_assert_int_eq(seen->method, ACME_HTTP_HEAD);
    ck_assert_str_eq(apr_table_get(seen->headers, "accept-language"), "en");
    ck_assert_ptr_null(acme_http_script_request(s, 2));
}
END_TEST

START_TEST(script_records_post_bodies)
{
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_request_t *req;
    acme_http_response_t *resp;
    const acme_http_request_t *seen;
    char body[] = "{\"protected\":\"x\"}\0trailing";

    acme_http_script_add(s, ACME_HTTP_POST, NULL, 201, ACME_MEDIA_JSON, "{}");
    req = acme_http_request_make(test_pool, ACME_HTTP_POST, ORDER_URL);
    req->content_type = ACME_MEDIA_JOSE;
    req->body = body;
    req->body_len = sizeof(body) - 1;
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 201);
    seen = acme_http_script_request(s, 0);
    ck_assert_str_eq(seen->url, ORDER_URL);
    ck_assert_str_eq(seen->content_type, ACME_MEDIA_JOSE);
    ck_assert_uint_eq(seen->body_len, sizeof(body) - 1);
    ck_assert_int_eq(memcmp(seen->body, body, sizeof(body) - 1), 0);
    ck_assert_ptr_ne(seen->body, body);
}
END_TEST

START_TEST(script_reports_mismatches)
{
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_response_t *resp = (acme_http_response_t *)1;

    acme_http_script_add(s, ACME_HTTP_POST, ORDER_URL, 201, NULL, NULL);
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t,
                                       acme_http_request_make(test_pool, ACME_HTTP_GET,
                                                              ORDER_URL)), APR_EGENERAL);
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(acme_http_script_error(s), "script: step 1 expected POST " ORDER_URL
                     ", got GET " ORDER_URL);
    ck_assert_str_eq(acme_http_transport_error(t), acme_http_script_error(s));
    /* Past the last step: an error too, and the first mismatch is kept. */
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t,
                                       acme_http_request_make(test_pool, ACME_HTTP_GET,
                                                              DIR_URL)), APR_EGENERAL);
    ck_assert_ptr_nonnull(strstr(acme_http_transport_error(t), "after the last step"));
    ck_assert_ptr_nonnull(strstr(acme_http_script_error(s), "step 1"));
    ck_assert_int_eq(acme_http_script_count(s), 2);
}
END_TEST

static const char *require_jose(void *baton, const acme_http_request_t *req, apr_pool_t *p)
{
    ++*(int *)baton;
    if (req->content_type == NULL || strcmp(req->content_type, ACME_MEDIA_JOSE) != 0) {
        return "not a JOSE body";
    }
    return NULL;
}

START_TEST(script_step_check_and_error_steps)
{
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_response_t *resp;
    acme_http_request_t *req;
    int checks = 0;

    acme_http_script_step_check(acme_http_script_add(s, ACME_HTTP_POST, ORDER_URL, 201,
                                                     NULL, NULL), require_jose, &checks);
    acme_http_script_add_error(s, ACME_HTTP_GET, DIR_URL, ACME_HTTP_ETIMEOUT,
                               "Operation timed out after 1000 milliseconds");
    req = acme_http_request_make(test_pool, ACME_HTTP_POST, ORDER_URL);
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), APR_EGENERAL);
    ck_assert_int_eq(checks, 1);
    ck_assert_ptr_nonnull(strstr(acme_http_script_error(s), "not a JOSE body"));
    /* An error step is a transport failure, not a mismatch. */
    req = acme_http_request_make(test_pool, ACME_HTTP_GET, DIR_URL);
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t, req), ACME_HTTP_ETIMEOUT);
    ck_assert_str_eq(acme_http_transport_error(t),
                     "Operation timed out after 1000 milliseconds");
    ck_assert_int_eq(acme_http_script_pending(s), 0);
}
END_TEST

START_TEST(script_body_from_file)
{
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_script_step_t *step;
    acme_http_response_t *resp;
    apr_size_t len;
    const char *expected = http_test_read(&len, "problem-ratelimited.json");

    step = acme_http_script_add(s, ACME_HTTP_GET, NULL, 429, ACME_MEDIA_PROBLEM, NULL);
    ck_assert_int_eq(acme_http_script_step_body_file(
                         step, http_test_path("problem-ratelimited.json")), APR_SUCCESS);
    ck_assert_int_ne(acme_http_script_step_body_file(step, http_test_path("nonexistent")),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t,
                                       acme_http_request_make(test_pool, ACME_HTTP_GET,
                                                              DIR_URL)), APR_SUCCESS);
    ck_assert_uint_eq(resp->body_len, len);
    ck_assert_str_eq(resp->body, expected);
    ck_assert(acme_http_response_is_type(resp, ACME_MEDIA_PROBLEM));
}
END_TEST

START_TEST(perform_rejects_bad_urls_before_the_transport)
{
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_response_t *resp;

    acme_http_script_add(s, ACME_HTTP_GET, NULL, 200, NULL, NULL);
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t,
                                       acme_http_request_make(test_pool, ACME_HTTP_GET,
                                                              "file:///etc/passwd")),
                     APR_EINVAL);
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t,
                                       acme_http_request_make(test_pool, ACME_HTTP_GET,
                                                              NULL)), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(acme_http_transport_error(t), "invalid request URL"));
    ck_assert_int_eq(acme_http_script_count(s), 0);
}
END_TEST

START_TEST(perform_rejects_invalid_transport_answers)
{
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_response_t *resp = (acme_http_response_t *)1;

    acme_http_script_add(s, ACME_HTTP_GET, NULL, 99, NULL, NULL);
    acme_http_script_add(s, ACME_HTTP_GET, NULL, 600, NULL, NULL);
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t,
                                       acme_http_request_make(test_pool, ACME_HTTP_GET,
                                                              DIR_URL)), ACME_HTTP_EPROTOCOL);
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(acme_http_transport_error(t), "HTTP status outside 100..599");
    ck_assert_int_eq(acme_http_perform(&resp, test_pool, t,
                                       acme_http_request_make(test_pool, ACME_HTTP_GET,
                                                              DIR_URL)), ACME_HTTP_EPROTOCOL);
}
END_TEST

static int destroyed;

static void count_destroy(void *baton)
{
    ++destroyed;
}

static apr_status_t never_perform(acme_http_response_t **presp, apr_pool_t *p, void *baton,
                                  const acme_http_request_t *req, const char **perror)
{
    return APR_ENOTIMPL;
}

START_TEST(transport_destroyed_exactly_once)
{
    static const acme_http_transport_vtable_t vt = { "count", never_perform, count_destroy };
    acme_http_transport_t *t;
    apr_pool_t *p;

    destroyed = 0;
    apr_pool_create(&p, test_pool);
    acme_http_transport_create(&t, p, &vt, NULL);
    apr_pool_destroy(p);
    ck_assert_int_eq(destroyed, 1);
    apr_pool_create(&p, test_pool);
    acme_http_transport_create(&t, p, &vt, NULL);
    acme_http_transport_destroy(t);
    ck_assert_int_eq(destroyed, 2);
    apr_pool_destroy(p);
    ck_assert_int_eq(destroyed, 2);
}
END_TEST

START_TEST(options_defaults)
{
    acme_http_options_t o;

    acme_http_options_init(&o);
    ck_assert_uint_eq(o.max_body, ACME_HTTP_MAX_BODY_DEFAULT);
    ck_assert(o.connect_timeout == apr_time_from_sec(10));
    ck_assert(o.timeout == apr_time_from_sec(60));
    ck_assert_int_eq(o.max_redirects, 0);
    ck_assert_ptr_null(o.ca_file);
    ck_assert_int_eq(strncmp(acme_http_user_agent(), "mod_acme/", 9), 0);
    ck_assert_str_eq(acme_http_method_name(ACME_HTTP_POST), "POST");
    ck_assert_ptr_null(acme_http_status_text(APR_EINVAL));
}
END_TEST

TCase *test_http_script_tcase(void)
{
    TCase *tc = tcase_create("script");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, script_plays_steps_in_order);
    tcase_add_test(tc, script_records_post_bodies);
    tcase_add_test(tc, script_reports_mismatches);
    tcase_add_test(tc, script_step_check_and_error_steps);
    tcase_add_test(tc, script_body_from_file);
    tcase_add_test(tc, perform_rejects_bad_urls_before_the_transport);
    tcase_add_test(tc, perform_rejects_invalid_transport_answers);
    tcase_add_test(tc, transport_destroyed_exactly_once);
    tcase_add_test(tc, options_defaults);
    return tc;
}
