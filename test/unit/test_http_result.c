/* acme_result: results from CA answers and local failures, rendering. */
#include <string.h>

#include <apr_date.h>
#include <apr_strings.h>

#include "acme_json.h"
#include "acme_result.h"
#include "check_main.h"
#include "test_http.h"

static apr_time_t test_now(void)
{
    return apr_date_parse_http("Wed, 01 Jan 2025 00:00:00 GMT");
}

static acme_http_response_t *response(int status, const char *content_type, const char *body)
{
    acme_http_response_t *resp = apr_pcalloc(test_pool, sizeof(*resp));

    resp->status = status;
    resp->headers = apr_table_make(test_pool, 4);
    if (content_type) {
        apr_table_set(resp->headers, "Content-Type", content_type);
    }
    resp->body = body ? body : "";
    resp->body_len = body ? strlen(body) : 0;
    resp->effective_url = "https://ca.example/acme/new-order";
    return resp;
}

START_TEST(result_from_rate_limited_response)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_http_response_t *resp = response(429, "application/problem+json",
                                          http_test_read(NULL, "problem-ratelimited.json"));

    apr_table_set(resp->headers, "Retry-After", "3600");
    acme_result_set_activity(r, "creating order for %s", "a.example");
    ck_assert_int_eq(acme_result_from_response(r, resp, test_now()), ACME_EPROBLEM);
    ck_assert_int_eq(r->status, ACME_EPROBLEM);
    ck_assert_int_eq(r->http_status, 429);
    ck_assert_str_eq(r->problem_type, "urn:ietf:params:acme:error:rateLimited");
    ck_assert(r->retry_at == test_now() + apr_time_from_sec(3600));
    ck_assert(r->action == ACME_ACTION_RETRY);
    ck_assert(acme_result_is(r, "rateLimited"));
    ck_assert(!acme_result_is(r, "badNonce"));
    ck_assert_str_eq(acme_result_render(r, test_pool),
                     "creating order for a.example: urn:ietf:params:acme:error:rateLimited:"
                     " Error creating new order :: too many certificates already issued for"
                     " exact set of domains: a.example (HTTP 429, retry at"
                     " 2025-01-01T01:00:00Z)");
}
END_TEST

START_TEST(result_renders_subproblems)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_http_response_t *resp = response(400, "application/problem+json; charset=utf-8",
                                          http_test_read(NULL, "problem-compound.json"));

    acme_result_set_activity(r, "validating a.example, b.example");
    acme_result_from_response(r, resp, test_now());
    ck_assert(r->action == ACME_ACTION_FIX_CONFIG);
    ck_assert_int_eq(r->subproblems->nelts, 2);
    ck_assert(r->retry_at == 0);
    ck_assert_str_eq(acme_result_render(r, test_pool),
                     "validating a.example, b.example: urn:ietf:params:acme:error:compound:"
                     " Errors during validation (HTTP 400) [serverInternal dns:a.example:"
                     " Temporary failure; caa dns:b.example: CAA record for b.example"
                     " prevents issuance]");
}
END_TEST

START_TEST(result_falls_back_to_http_status)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_http_response_t *resp;

    /* An HTML error page from a proxy. */
    resp = response(503, "text/html", "<html>busy</html>");
    apr_table_set(resp->headers, "Retry-After", "Wed, 01 Jan 2025 00:02:00 GMT");
    ck_assert_int_eq(acme_result_from_response(r, resp, test_now()), ACME_EPROBLEM);
    ck_assert_ptr_null(r->problem_type);
    ck_assert_int_eq(r->http_status, 503);
    ck_assert(r->action == ACME_ACTION_RETRY);
    ck_assert(r->retry_at == test_now() + apr_time_from_sec(120));
    ck_assert_str_eq(acme_result_render(r, test_pool), "no problem document in the answer"
                     " (HTTP 503, retry at 2025-01-01T00:02:00Z)");

    /* A malformed problem document carries no verdict of the CA (cut off or
     * garbled on the way): retried with backoff, the reason is kept. */
    resp = response(400, "application/problem+json",
                    http_test_read(NULL, "problem-truncated.json"));
    acme_result_from_response(r, resp, test_now());
    ck_assert_ptr_null(r->problem_type);
    ck_assert(r->action == ACME_ACTION_RETRY);
    ck_assert(r->retry_at == 0);
    ck_assert_ptr_nonnull(strstr(r->detail, "malformed problem document"));

    /* JSON that is not a problem document at all. */
    resp = response(500, "application/json", "{\"status\": \"pending\"}");
    acme_result_from_response(r, resp, test_now());
    ck_assert_ptr_null(r->problem_type);
    ck_assert_str_eq(r->detail, "no problem document in the answer");
    ck_assert(r->action == ACME_ACTION_RETRY);

    /* A 4xx whose problem document was replaced on the way (wrong content
     * type): no verdict of the CA either, so not given up for hours. */
    resp = response(400, "text/plain", "{\"type\": \"urn:ietf:params:acme:error:malformed\"}");
    acme_result_from_response(r, resp, test_now());
    ck_assert_ptr_null(r->problem_type);
    ck_assert_int_eq(r->http_status, 400);
    ck_assert(r->action == ACME_ACTION_RETRY);

    /* ... except a badNonce: resent at once with the fresh nonce, whatever
     * the label (a resend is all it can cause) */
    resp = response(400, "text/html", "{\"type\": \"urn:ietf:params:acme:error:badNonce\","
                    " \"detail\": \"JWS has an invalid anti-replay nonce\", \"status\": 400}");
    acme_result_from_response(r, resp, test_now());
    ck_assert(acme_result_is(r, "badNonce"));
    /* not under another status, nor garbled */
    resp = response(500, "text/html", "{\"type\": \"urn:ietf:params:acme:error:badNonce\"}");
    acme_result_from_response(r, resp, test_now());
    ck_assert(!acme_result_is(r, "badNonce"));
    resp = response(400, "text/html", "{\"type\": \"urn:ietf:params:acme:error:badNon");
    acme_result_from_response(r, resp, test_now());
    ck_assert(!acme_result_is(r, "badNonce"));
    ck_assert_str_eq(r->detail, "no problem document in the answer");
}
END_TEST

START_TEST(result_from_embedded_problem)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_problem_t *prob;
    const char *doc = "{\"type\": \"urn:ietf:params:acme:error:dns\", \"status\": 400}";

    ck_assert_int_eq(acme_problem_parse(&prob, test_pool, doc, strlen(doc), NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_result_from_problem(r, prob, 0, 0), ACME_EPROBLEM);
    /* No HTTP answer of its own: the document's status is used. No detail:
     * RFC 8555's description stands in. */
    ck_assert_int_eq(r->http_status, 400);
    ck_assert_str_eq(r->detail,
                     "there was a problem with a DNS query during identifier validation");
    ck_assert(r->action == ACME_ACTION_FIX_CONFIG);
    ck_assert(acme_result_is(r, "dns"));
}
END_TEST

START_TEST(result_fail_classifies_local_errors)
{
    acme_result_t *r = acme_result_create(test_pool);

    acme_result_set_activity(r, "fetching directory");
    ck_assert_int_eq(acme_result_fail(r, ACME_HTTP_ETIMEOUT, "after %d s", 60),
                     ACME_HTTP_ETIMEOUT);
    ck_assert(r->action == ACME_ACTION_RETRY);
    ck_assert_str_eq(acme_result_render(r, test_pool),
                     "fetching directory: timed out: after 60 s");
    acme_result_fail(r, ACME_HTTP_ECONNECT, NULL);
    ck_assert(r->action == ACME_ACTION_RETRY);
    ck_assert_str_eq(acme_result_render(r, test_pool), "fetching directory: connection failed");
    acme_result_fail(r, ACME_HTTP_ETLS, "unable to get local issuer certificate");
    ck_assert(r->action == ACME_ACTION_FIX_CONFIG);
    acme_result_fail(r, ACME_HTTP_ETOOLARGE, NULL);
    ck_assert(r->action == ACME_ACTION_RETRY);
    acme_result_fail(r, ACME_HTTP_EPROTOCOL, NULL);
    ck_assert(r->action == ACME_ACTION_RETRY);
    acme_result_fail(r, APR_EINVAL, "order has no 'finalize'");
    ck_assert(r->action == ACME_ACTION_GIVE_UP);
    ck_assert(!acme_result_is(r, "malformed"));
    ck_assert_ptr_nonnull(strstr(acme_result_render(r, test_pool), "order has no 'finalize'"));
    /* Every transport code has its own text. */
    ck_assert_str_ne(acme_result_status_text(test_pool, ACME_HTTP_ECONNECT),
                     acme_result_status_text(test_pool, ACME_HTTP_ETLS));
    ck_assert_str_eq(acme_result_status_text(test_pool, ACME_EPROBLEM),
                     "the CA reported a problem");
}
END_TEST

START_TEST(result_clear_and_copy)
{
    apr_pool_t *p;
    acme_result_t *r, *copy;
    acme_http_response_t *resp;

    apr_pool_create(&p, test_pool);
    r = acme_result_create(p);
    acme_result_set_activity(r, "finalizing order");
    resp = response(400, "application/problem+json",
                    http_test_read(NULL, "problem-compound.json"));
    acme_result_from_response(r, resp, test_now());
    copy = acme_result_copy(test_pool, r);
    apr_pool_destroy(p);
    /* The copy survives its origin's pool. */
    ck_assert_ptr_eq(copy->pool, test_pool);
    ck_assert_str_eq(copy->activity, "finalizing order");
    ck_assert_str_eq(copy->problem_type, "urn:ietf:params:acme:error:compound");
    ck_assert_int_eq(copy->subproblems->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(copy->subproblems, 1, acme_subproblem_t *)->id_value,
                     "b.example");
    acme_result_clear(copy);
    ck_assert_int_eq(copy->status, APR_SUCCESS);
    ck_assert_ptr_null(copy->problem_type);
    ck_assert_int_eq(copy->subproblems->nelts, 0);
    ck_assert_str_eq(acme_result_render(copy, test_pool), "finalizing order: ok");
}
END_TEST

TCase *test_http_result_tcase(void)
{
    TCase *tc = tcase_create("result");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, result_from_rate_limited_response);
    tcase_add_test(tc, result_renders_subproblems);
    tcase_add_test(tc, result_falls_back_to_http_status);
    tcase_add_test(tc, result_from_embedded_problem);
    tcase_add_test(tc, result_fail_classifies_local_errors);
    tcase_add_test(tc, result_clear_and_copy);
    return tc;
}
