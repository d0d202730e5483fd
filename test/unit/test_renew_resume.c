/* Resuming after a crash at every request of the conversation: the job
 * continues from its saved step, re-fetches a known order instead of
 * creating another one, and reuses the key it staged. */
#include <unistd.h>

#include <apr_strings.h>

#include "acme_layout.h"
#include "test_renew.h"

/* Requests of the quick flow for one key: directory, nonce, newAccount,
 * newOrder, 2 x (authz, challenge), 2 x authz, order, finalize, order, cert;
 * a second key adds newOrder, finalize, order, cert. */
#define FLOW_ONE_KEY 14
#define FLOW_TWO_KEYS 18

static void crash_and_resume(int k, int keys)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    acme_renew_outcome_t *out;
    apr_time_t now = apr_time_now();
    renew_ca_t *ca;
    acme_job_t *job;
    int orders_before;

    if (keys == 2) {
        renew_spec_add_key(spec, renew_second_key());
    }
    ca = renew_ca_create_crashing(spec, 0, k);
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, keys);
    out = renew_run(ca, spec, now);
    renew_ca_done(ca);   /* the failure is a transport error, not a mismatch */
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert_ptr_nonnull(out->result);
    ck_assert_int_eq(out->result->action, ACME_ACTION_RETRY);
    ck_assert(out->next_at >= now + apr_time_from_sec(27));   /* 30 s backoff -10% */
    job = renew_job("a.test");
    ck_assert_int_eq(job->errors, 1);
    ck_assert_ptr_nonnull(job->last_error);
    ck_assert_str_eq(out->step, acme_job_step_name(job->step));
    orders_before = job->order_url != NULL;

    /* A new process picks the job up where it was saved. */
    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, job->step, job->key_index, keys);
    out = renew_run(ca, spec, out->next_at);
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_assert_staged(spec);
    if (orders_before) {
        /* only the orders of the keys after the current one are new */
        ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), keys - 1 - job->key_index);
    }
    ck_assert_int_eq(renew_job("a.test")->errors, 0);
}

START_TEST(crash_at_each_request_one_key)
{
    crash_and_resume(_i, 1);
}
END_TEST

START_TEST(crash_at_each_request_two_keys)
{
    crash_and_resume(_i, 2);
}
END_TEST

/* The key staged before finalizing survives a crash during finalize and is
 * the one the certificate is for (the finalize check compares the CSR with
 * the staged key, renew_assert_staged the certificate). */
START_TEST(key_staged_before_finalize_is_reused)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create_crashing(spec, 0, 11);   /* the finalize request */
    acme_renew_outcome_t *out;
    const char *key1;

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(ca, spec, apr_time_now());
    ck_assert_str_eq(out->step, "finalize");
    key1 = renew_item(ACME_STORE_STAGING, "a.test", acme_layout_privkey(test_pool, "P-256"));
    ck_assert_ptr_nonnull(key1);
    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, ACME_JOB_FINALIZE, 0, 1);
    out = renew_run(ca, spec, out->next_at);
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    ck_assert_str_eq(renew_item(ACME_STORE_STAGING, "a.test",
                                acme_layout_privkey(test_pool, "P-256")), key1);
}
END_TEST

/* The first authorization poll of a job whose challenges `pid` asked the CA
 * to validate: the CA found nobody answering (connection refused). */
static acme_renew_outcome_t *validation_failed_after(long pid, apr_time_t *pnow)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create_crashing(spec, 0, 8);   /* the first authz poll */
    acme_renew_outcome_t *out;
    acme_job_t *job;

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(ca, spec, *pnow);
    ck_assert_str_eq(out->step, "poll-authz");
    job = renew_job("a.test");
    ck_assert_int_eq(job->answered_by, (long)getpid());
    job->answered_by = pid;
    ck_assert_int_eq(acme_job_save(job, test_pool, renew_store, *pnow), APR_SUCCESS);
    ck_assert_int_eq(renew_job("a.test")->answered_by, pid);

    *pnow = out->next_at;
    ca = renew_ca_create(spec, 0);
    renew_ca_order(ca, 1, "pending", "poll-authz");
    renew_ca_post(ca, renew_authz_url(1, 0), 200, apr_psprintf(test_pool,
        "{\"status\": \"invalid\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
        " \"challenges\": [{\"type\": \"http-01\", \"url\": \"" CA "/chall/1-0/http-01\","
        " \"status\": \"invalid\", \"token\": \"%s\", \"error\": {\"type\":"
        " \"urn:ietf:params:acme:error:connection\", \"detail\": \"connection refused\"}}]}",
        renew_token(1, 0, "http-01")), "poll-authz");
    out = renew_run(ca, spec, *pnow);
    renew_ca_done(ca);
    ck_assert(acme_result_is(out->result, "connection"));
    ck_assert_str_eq(out->step, "order");
    ck_assert_int_eq(renew_job("a.test")->answered_by, 0);
    return out;
}

/* Answers another process asked the CA to validate (it crashed, the CA
 * found nobody): a new order at the normal backoff, not an hour's wait. */
START_TEST(validation_failed_while_down_retries)
{
    apr_time_t now = apr_time_now();
    acme_renew_outcome_t *out = validation_failed_after(1, &now);

    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert_int_eq(out->result->action, ACME_ACTION_RETRY);
    ck_assert(out->next_at < now + apr_time_from_sec(600));
    ck_assert(!renew_job("a.test")->failed);
}
END_TEST

/* This process asked for the validation: a configuration error. */
START_TEST(validation_failed_of_own_answers_needs_config)
{
    apr_time_t now = apr_time_now();
    acme_renew_outcome_t *out = validation_failed_after((long)getpid(), &now);

    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert_int_eq(out->result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert(out->next_at >= now + apr_time_from_sec(3000));
    ck_assert(renew_job("a.test")->failed);
}
END_TEST

TCase *test_renew_resume_tcase(void)
{
    TCase *tc = tcase_create("resume");

    tcase_add_checked_fixture(tc, renew_setup, renew_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, crash_at_each_request_one_key, 0, FLOW_ONE_KEY);
    tcase_add_loop_test(tc, crash_at_each_request_two_keys, 0, FLOW_TWO_KEYS);
    tcase_add_test(tc, key_staged_before_finalize_is_reused);
    tcase_add_test(tc, validation_failed_while_down_retries);
    tcase_add_test(tc, validation_failed_of_own_answers_needs_config);
    return tc;
}
