/* The renewal job's error paths: badNonce, rate limits with Retry-After,
 * invalid orders and authorizations, unsupported challenges, bad specs,
 * changed specs, damaged job.json and staged sets. */
#include <string.h>

#include <apr_strings.h>

#include "acme_layout.h"
#include "test_renew.h"

/* The aspect of the http-01 answer of order n, name i. */
static const char *http01(int n, int i)
{
    return acme_layout_http01(test_pool, renew_token(n, i, "http-01"));
}

#define OTHER_MD "{\"names\": [\"x.test\"]}"

START_TEST(bad_nonce_is_resent_transparently)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out;

    renew_ca_new_account(ca, NULL);
    renew_ca_post(ca, NEWORDER_URL, 400, PROBLEM("badNonce", "stale nonce"), "order");
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 2);
    ck_assert_int_eq(renew_job("a.test")->errors, 0);
}
END_TEST

START_TEST(rate_limit_waits_for_retry_after)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_http_script_step_t *step;
    acme_renew_outcome_t *out, *early;
    apr_time_t now = apr_time_now();
    acme_renew_info_t *info;
    int requests;

    renew_ca_new_account(ca, NULL);
    step = renew_ca_post(ca, NEWORDER_URL, 429, PROBLEM("rateLimited", "too many orders"),
                         "order");
    acme_http_script_step_header(step, "Retry-After", "3600");
    out = renew_run(ca, spec, now);
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert_str_eq(out->step, "order");
    ck_assert(acme_result_is(out->result, "rateLimited"));
    ck_assert_int_eq(out->result->http_status, 429);
    ck_assert(out->next_at == out->result->retry_at);
    ck_assert(out->next_at >= now + apr_time_from_sec(3599));
    ck_assert(out->next_at <= apr_time_now() + apr_time_from_sec(3601));

    ck_assert_int_eq(acme_renew_info_load(&info, test_pool, renew_store, "a.test"),
                     APR_SUCCESS);
    ck_assert_int_eq(info->errors, 1);
    ck_assert(info->next_at == out->next_at);
    ck_assert_ptr_nonnull(info->last_error);
    ck_assert(acme_result_is(info->last_error, "rateLimited"));
    ck_assert_str_eq(info->last_error->detail, "too many orders");

    /* Called early, the job does not go to the CA. */
    requests = acme_http_script_count(renew_ca_script(ca));
    early = renew_run(ca, spec, now + apr_time_from_sec(60));
    ck_assert_int_eq(early->status, ACME_RENEW_AGAIN_AT);
    ck_assert(early->next_at == out->next_at);
    ck_assert(acme_result_is(early->result, "rateLimited"));
    ck_assert_int_eq(acme_http_script_count(renew_ca_script(ca)), requests);

    /* At that time it goes on. */
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    out = renew_run(ca, spec, out->next_at);
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
}
END_TEST

/* Polls up to the order, which the CA then declares invalid. */
static acme_renew_outcome_t *run_to_invalid_order(renew_ca_t *ca,
                                                  const acme_renew_spec_t *spec,
                                                  const char *subproblem_type)
{
    const char *n0 = "a.test", *n1 = "www.a.test";
    int i;

    renew_ca_new_account(ca, NULL);
    renew_ca_new_order(ca, 1, "pending");
    for (i = 0; i < 2; ++i) {
        renew_ca_authz(ca, 1, i, "pending", "authz");
        renew_ca_challenge(ca, 1, i, "http-01");
    }
    renew_ca_authz(ca, 1, 0, "valid", "poll-authz");
    renew_ca_authz(ca, 1, 1, "valid", "poll-authz");
    renew_ca_post(ca, renew_order_url(1), 200, apr_psprintf(test_pool,
        "{\"status\": \"invalid\", \"identifiers\": [{\"type\": \"dns\", \"value\": \"%s\"},"
        " {\"type\": \"dns\", \"value\": \"%s\"}], \"authorizations\": [\"%s\", \"%s\"],"
        " \"finalize\": \"" CA "/finalize/1\", \"error\": {\"type\":"
        " \"urn:ietf:params:acme:error:compound\", \"detail\": \"issuance refused\","
        " \"subproblems\": [{\"type\": \"urn:ietf:params:acme:error:%s\", \"detail\":"
        " \"not for you\", \"identifier\": {\"type\": \"dns\", \"value\": \"%s\"}}]}}",
        n0, n1, renew_authz_url(1, 0), renew_authz_url(1, 1), subproblem_type, n1),
        "poll-authz");
    return renew_run(ca, spec, apr_time_now());
}

START_TEST(invalid_order_is_recorded_and_restarted)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out = run_to_invalid_order(ca, spec, "rejectedIdentifier");
    const acme_subproblem_t *sub;
    acme_job_t *job;

    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);   /* rejectedIdentifier: config */
    ck_assert_str_eq(out->step, "order");
    ck_assert(acme_result_is(out->result, "compound"));
    ck_assert(out->next_at >= apr_time_now() + ACME_RENEW_FAILED_DELAY - apr_time_from_sec(5));
    job = renew_job("a.test");
    ck_assert_ptr_null(job->order_url);
    ck_assert_int_eq(job->answers->nelts, 0);
    ck_assert_int_eq(job->failed, 1);
    ck_assert_ptr_null(renew_item(ACME_STORE_CHALLENGES, "a.test",
                                  http01(1, 0)));
    ck_assert_int_eq(job->last_error->subproblems->nelts, 1);
    sub = APR_ARRAY_IDX(job->last_error->subproblems, 0, acme_subproblem_t *);
    ck_assert(acme_problem_type_is(sub->type, "rejectedIdentifier"));
    ck_assert_str_eq(sub->id_value, "www.a.test");
    ck_assert_str_eq(sub->detail, "not for you");

    /* Later, a new order. */
    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    out = renew_run(ca, spec, out->next_at);
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 1);
}
END_TEST

START_TEST(invalid_order_for_a_transient_reason_retries)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out = run_to_invalid_order(ca, spec, "serverInternal");

    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert_str_eq(out->step, "order");
    ck_assert(out->next_at < apr_time_now() + apr_time_from_sec(60));
    ck_assert_int_eq(renew_job("a.test")->failed, 0);
}
END_TEST

START_TEST(failed_challenge_needs_config)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out;
    int i;

    renew_ca_new_account(ca, NULL);
    renew_ca_new_order(ca, 1, "pending");
    for (i = 0; i < 2; ++i) {
        renew_ca_authz(ca, 1, i, "pending", "authz");
        renew_ca_challenge(ca, 1, i, "http-01");
    }
    renew_ca_post(ca, renew_authz_url(1, 0), 200, apr_psprintf(test_pool,
        "{\"status\": \"invalid\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
        " \"challenges\": [{\"type\": \"http-01\", \"url\": \"" CA "/chall/1-0/http-01\","
        " \"status\": \"invalid\", \"token\": \"%s\", \"error\": {\"type\":"
        " \"urn:ietf:params:acme:error:connection\", \"detail\": \"connection refused\"}}]}",
        renew_token(1, 0, "http-01")), "poll-authz");
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert(acme_result_is(out->result, "connection"));
    ck_assert_str_eq(out->result->detail, "connection refused");
    ck_assert_int_eq(out->result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_str_eq(out->step, "order");
    ck_assert_int_eq(renew_job("a.test")->answers->nelts, 0);
}
END_TEST

/* A request the CA calls malformed cannot work again: the order is dropped
 * and the job fails with a long retry. */
START_TEST(give_up_abandons_the_order)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out;
    apr_time_t now = apr_time_now();
    acme_job_t *job;

    renew_ca_new_account(ca, NULL);
    renew_ca_new_order(ca, 1, "pending");
    renew_ca_authz(ca, 1, 0, "pending", "authz");
    renew_ca_post(ca, CA "/chall/1-0/http-01", 400, PROBLEM("malformed", "no"), "authz");
    out = renew_run(ca, spec, now);
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert_int_eq(out->result->action, ACME_ACTION_GIVE_UP);
    ck_assert(out->next_at >= now + ACME_RENEW_FAILED_DELAY);
    ck_assert_str_eq(out->step, "order");
    job = renew_job("a.test");
    ck_assert_ptr_null(job->order_url);
    ck_assert_int_eq(job->answers->nelts, 0);
    ck_assert_ptr_null(renew_item(ACME_STORE_CHALLENGES, "a.test", http01(1, 0)));
}
END_TEST

START_TEST(dns_01_without_hook_needs_config)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca;
    acme_renew_outcome_t *out;

    apr_array_clear(spec->challenges);
    APR_ARRAY_PUSH(spec->challenges, const char *) = "dns-01";
    ca = renew_ca_create(spec, 0);
    renew_ca_new_account(ca, NULL);
    renew_ca_new_order(ca, 1, "pending");
    renew_ca_authz(ca, 1, 0, "pending", "authz");
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert_int_eq(out->result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_ptr_nonnull(strstr(out->result->detail, "offers dns-01, which needs a dns-01"
                                 " setup command (MDChallengeDns01)"));
    ck_assert_str_eq(out->step, "authz");   /* the order stays: a fix may come outside */
}
END_TEST

START_TEST(invalid_spec_is_refused)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t out;

    apr_array_clear(spec->names);
    ck_assert_int_eq(acme_renew_run(&out, test_pool, renew_store, renew_ca_client(ca), spec,
                                    apr_time_now()), APR_EINVAL);
    ck_assert_int_eq(out.status, ACME_RENEW_FAILED);
    ck_assert_int_eq(out.result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_ptr_null(renew_item(ACME_STORE_JOBS, "a.test", ACME_ASPECT_JOB));

    spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_spec_add_key(spec, "P-256");   /* twice */
    ck_assert_int_eq(acme_renew_run(&out, test_pool, renew_store, renew_ca_client(ca), spec,
                                    apr_time_now()), APR_EINVAL);
    spec = renew_spec("A..test", "a.test", "www.a.test");
    ck_assert_int_eq(acme_renew_run(&out, test_pool, renew_store, renew_ca_client(ca), spec,
                                    apr_time_now()), APR_EINVAL);
    spec = renew_spec("a.test", "a.test", "www.a.test");
    spec->eab_kid = EAB_KID;   /* without its HMAC */
    ck_assert_int_eq(acme_renew_run(&out, test_pool, renew_store, renew_ca_client(ca), spec,
                                    apr_time_now()), APR_EINVAL);
    ck_assert_int_eq(acme_http_script_count(renew_ca_script(ca)), 0);
}
END_TEST

START_TEST(changed_spec_starts_afresh)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create_crashing(spec, 0, 8);   /* the first poll */
    acme_renew_outcome_t *out;
    const char *answer = http01(1, 0);

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(ca, spec, apr_time_now());
    ck_assert_str_eq(out->step, "poll-authz");
    ck_assert_ptr_nonnull(renew_item(ACME_STORE_CHALLENGES, "a.test", answer));

    spec = renew_spec("a.test", "a.test", "mail.a.test");
    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);   /* the account is reused */
    out = renew_run(ca, spec, apr_time_now());   /* not held by the old backoff */
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_assert_staged(spec);
    ck_assert_ptr_null(renew_item(ACME_STORE_CHALLENGES, "www.a.test",
                                  acme_layout_http01(test_pool,
                                                     renew_token(1, 1, "http-01"))));
}
END_TEST

START_TEST(damaged_job_json_starts_afresh)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out;
    acme_renew_info_t *info;
    const char *junk = "{\"format\": 1, \"md\": \"a.test\", \"step\": \"teleport\"}";

    ck_assert_int_eq(acme_store_save(renew_store, test_pool, ACME_STORE_JOBS, "a.test",
                                     ACME_ASPECT_JOB, junk, strlen(junk), 0), APR_SUCCESS);
    ck_assert_int_eq(acme_renew_info_load(&info, test_pool, renew_store, "a.test"),
                     APR_EINVAL);
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
}
END_TEST

START_TEST(done_job_with_missing_staging_is_redone)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out;
    const char *old_key;

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    ck_assert_int_eq(renew_run(ca, spec, apr_time_now())->status, ACME_RENEW_DONE);
    old_key = renew_item(ACME_STORE_STAGING, "a.test",
                         acme_layout_privkey(test_pool, "P-256"));
    ck_assert_int_eq(acme_store_remove(renew_store, test_pool, ACME_STORE_STAGING, "a.test",
                                       acme_layout_pubcert(test_pool, "P-256")), APR_SUCCESS);

    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_assert_staged(spec);
    /* the whole set was redone, with a new key */
    ck_assert_str_ne(renew_item(ACME_STORE_STAGING, "a.test",
                                acme_layout_privkey(test_pool, "P-256")), old_key);

    /* a staged set whose md.json names other domains is redone as well */
    ck_assert_int_eq(acme_store_save(renew_store, test_pool, ACME_STORE_STAGING, "a.test",
                                     ACME_ASPECT_MD, OTHER_MD, strlen(OTHER_MD), 0),
                     APR_SUCCESS);
    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    ck_assert_int_eq(renew_run(ca, spec, apr_time_now())->status, ACME_RENEW_DONE);
    renew_ca_done(ca);
}
END_TEST

START_TEST(reset_forgets_job_and_answers)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create_crashing(spec, 0, 8);
    acme_renew_info_t *info;
    const char *answer = http01(1, 1);

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    renew_run(ca, spec, apr_time_now());
    ck_assert_ptr_nonnull(renew_item(ACME_STORE_CHALLENGES, "www.a.test", answer));
    ck_assert_int_eq(acme_renew_reset(renew_store, test_pool, "a.test", NULL), APR_SUCCESS);
    ck_assert_ptr_null(renew_item(ACME_STORE_CHALLENGES, "www.a.test", answer));
    ck_assert_int_eq(acme_renew_info_load(&info, test_pool, renew_store, "a.test"),
                     APR_ENOENT);
    ck_assert_int_eq(acme_renew_reset(renew_store, test_pool, "a.test", NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_renew_reset(renew_store, test_pool, "../etc", NULL), APR_EINVAL);
}
END_TEST

TCase *test_renew_errors_tcase(void)
{
    TCase *tc = tcase_create("errors");

    tcase_add_checked_fixture(tc, renew_setup, renew_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, bad_nonce_is_resent_transparently);
    tcase_add_test(tc, rate_limit_waits_for_retry_after);
    tcase_add_test(tc, invalid_order_is_recorded_and_restarted);
    tcase_add_test(tc, invalid_order_for_a_transient_reason_retries);
    tcase_add_test(tc, failed_challenge_needs_config);
    tcase_add_test(tc, give_up_abandons_the_order);
    tcase_add_test(tc, dns_01_without_hook_needs_config);
    tcase_add_test(tc, invalid_spec_is_refused);
    tcase_add_test(tc, changed_spec_starts_afresh);
    tcase_add_test(tc, damaged_job_json_starts_afresh);
    tcase_add_test(tc, done_job_with_missing_staging_is_redone);
    tcase_add_test(tc, reset_forgets_job_and_answers);
    return tc;
}
