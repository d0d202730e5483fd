/* The renewal job's happy paths: waiting runs, one quick run, two key
 * specs (two orders), tls-alpn-01 answers, early polls, reset and status. */
#include <string.h>

#include <apr_strings.h>

#include "acme_certset.h"
#include "acme_layout.h"
#include "acme_renew.h"
#include "test_renew.h"

/* The aspect of the http-01 answer of order n, name i. */
static const char *http01(int n, int i)
{
    return acme_layout_http01(test_pool, renew_token(n, i, "http-01"));
}

/* A CA that makes the job wait: authorizations and the order take a poll. */
START_TEST(happy_path_with_waits_to_done)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_http_script_step_t *step;
    acme_renew_outcome_t *out;
    acme_renew_info_t *info;
    apr_time_t now = apr_time_now();
    acme_job_t *job;

    /* Run 1: account, order, answers, then the first authorization is pending. */
    renew_ca_new_account(ca, NULL);
    renew_ca_new_order(ca, 1, "pending");
    renew_ca_authz(ca, 1, 0, "pending", "authz");
    renew_ca_challenge(ca, 1, 0, "http-01");
    renew_ca_authz(ca, 1, 1, "pending", "authz");
    renew_ca_challenge(ca, 1, 1, "http-01");
    step = renew_ca_post(ca, renew_authz_url(1, 0), 200, apr_psprintf(test_pool,
        "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
        " \"challenges\": [{\"type\": \"http-01\", \"url\": \"" CA "/chall/1-0/http-01\","
        " \"status\": \"processing\", \"token\": \"%s\"}]}", renew_token(1, 0, "http-01")),
        "poll-authz");
    acme_http_script_step_header(step, "Retry-After", "3");
    out = renew_run(ca, spec, now);
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert_str_eq(out->step, "poll-authz");
    ck_assert_ptr_null(out->result);
    ck_assert(out->next_at >= now + apr_time_from_sec(2));
    ck_assert(out->next_at <= apr_time_now() + apr_time_from_sec(4));
    job = renew_job("a.test");
    ck_assert_str_eq(job->order_url, renew_order_url(1));
    ck_assert_int_eq(job->answers->nelts, 2);
    ck_assert_ptr_nonnull(renew_item(ACME_STORE_CHALLENGES, "www.a.test",
                                     acme_layout_http01(test_pool,
                                                        renew_token(1, 1, "http-01"))));

    /* Run 2 at that time: the same client polls, finalizes, the order processes. */
    renew_ca_order(ca, 1, "pending", "poll-authz");
    renew_ca_authz(ca, 1, 0, "valid", "poll-authz");
    renew_ca_authz(ca, 1, 1, "valid", "poll-authz");
    renew_ca_order(ca, 1, "ready", "poll-authz");
    renew_ca_finalize(ca, 1, 0);
    step = renew_ca_post(ca, renew_order_url(1), 200, apr_psprintf(test_pool,
        "{\"status\": \"processing\", \"identifiers\": [{\"type\": \"dns\", \"value\":"
        " \"a.test\"}, {\"type\": \"dns\", \"value\": \"www.a.test\"}], \"authorizations\":"
        " [\"%s\", \"%s\"], \"finalize\": \"" CA "/finalize/1\"}", renew_authz_url(1, 0),
        renew_authz_url(1, 1)), "poll-order");
    acme_http_script_step_header(step, "Retry-After", "1");
    now = out->next_at;
    out = renew_run(ca, spec, now);
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert_str_eq(out->step, "poll-order");
    ck_assert_ptr_nonnull(renew_item(ACME_STORE_STAGING, "a.test",
                                     acme_layout_privkey(test_pool, "P-256")));
    ck_assert_ptr_null(renew_item(ACME_STORE_STAGING, "a.test",
                                  acme_layout_pubcert(test_pool, "P-256")));

    /* Run 3: valid, download, staged. */
    renew_ca_order(ca, 1, "valid", "poll-order");
    renew_ca_cert(ca, 1);
    out = renew_run(ca, spec, out->next_at);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    ck_assert_str_eq(out->step, "done");
    ck_assert_int_eq(out->next_at, 0);
    renew_ca_done(ca);
    renew_assert_staged(spec);
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 1);

    /* The answers are gone, the job says done. */
    ck_assert_ptr_null(renew_item(ACME_STORE_CHALLENGES, "a.test",
                                  http01(1, 0)));
    ck_assert_ptr_null(renew_item(ACME_STORE_CHALLENGES, "www.a.test",
                                  http01(1, 1)));
    ck_assert_int_eq(acme_renew_info_load(&info, test_pool, renew_store, "a.test"),
                     APR_SUCCESS);
    ck_assert_str_eq(info->step, "done");
    ck_assert_int_eq(info->errors, 0);
    ck_assert_int_eq(info->failed, 0);
    ck_assert_ptr_null(info->last_error);
    ck_assert(info->started > 0 && info->updated >= info->started);

    /* Running a done job again costs nothing: no request. */
    out = renew_run(ca, spec, now + apr_time_from_sec(60));
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_ca_done(ca);
}
END_TEST

/* Polling: the first wait in a step is short, each further one twice the
 * last (also across runs: the pace comes from the saved job), capped; the
 * CA's Retry-After is never undercut. */
START_TEST(polls_fast_then_backs_off)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_http_script_step_t *step;
    acme_renew_outcome_t *out;
    apr_time_t now = apr_time_now(), want[] = {
        ACME_RENEW_POLL_FIRST, 2 * ACME_RENEW_POLL_FIRST, 4 * ACME_RENEW_POLL_FIRST };
    int i;

    renew_ca_new_account(ca, NULL);
    renew_ca_new_order(ca, 1, "pending");
    renew_ca_authz(ca, 1, 0, "pending", "authz");
    renew_ca_challenge(ca, 1, 0, "http-01");
    renew_ca_authz(ca, 1, 1, "pending", "authz");
    renew_ca_challenge(ca, 1, 1, "http-01");
    for (i = 0; i < 3; ++i) {
        if (i > 0) {
            renew_ca_order(ca, 1, "pending", "poll-authz");
        }
        renew_ca_authz(ca, 1, 0, "pending", "poll-authz");
        out = renew_run(ca, spec, now);
        ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
        ck_assert_str_eq(out->step, "poll-authz");
        ck_assert_msg(out->next_at == now + want[i], "wait %d: %" APR_TIME_T_FMT "us", i,
                      out->next_at - now);
        now = out->next_at;
    }
    /* the CA asks for more: granted */
    renew_ca_order(ca, 1, "pending", "poll-authz");
    step = renew_ca_post(ca, renew_authz_url(1, 0), 200, apr_psprintf(test_pool,
        "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\": \"a.test\"},"
        " \"challenges\": [{\"type\": \"http-01\", \"url\": \"" CA "/chall/1-0/http-01\","
        " \"status\": \"processing\", \"token\": \"%s\"}]}", renew_token(1, 0, "http-01")),
        "poll-authz");
    acme_http_script_step_header(step, "Retry-After", "30");
    out = renew_run(ca, spec, now);
    ck_assert(out->next_at >= now + apr_time_from_sec(30));
    ck_assert(out->next_at <= apr_time_now() + apr_time_from_sec(31));
    /* after it, our own pace again: capped */
    now = out->next_at;
    renew_ca_order(ca, 1, "pending", "poll-authz");
    renew_ca_authz(ca, 1, 0, "pending", "poll-authz");
    out = renew_run(ca, spec, now);
    ck_assert(out->next_at == now + ACME_RENEW_POLL_MAX);
    /* a new step starts fast again: both valid, the order processes */
    now = out->next_at;
    renew_ca_order(ca, 1, "pending", "poll-authz");
    renew_ca_authz(ca, 1, 0, "valid", "poll-authz");
    renew_ca_authz(ca, 1, 1, "valid", "poll-authz");
    renew_ca_order(ca, 1, "ready", "poll-authz");
    renew_ca_finalize(ca, 1, 0);
    renew_ca_order(ca, 1, "processing", "poll-order");
    out = renew_run(ca, spec, now);
    ck_assert_str_eq(out->step, "poll-order");
    ck_assert(out->next_at == now + ACME_RENEW_POLL_FIRST);
    renew_ca_done(ca);
}
END_TEST

/* The job leaves no stamp in STAGING: root never believes one from there
 * (the User writes it), and making it would need the staged private key,
 * which only the key custody holds. */
static void renew_assert_not_stamped(const acme_renew_spec_t *spec)
{
    ck_assert_ptr_null(renew_item(ACME_STORE_STAGING, spec->md_name, ACME_CERTSET_STAMP));
}

START_TEST(quick_ca_in_one_run)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out;
    acme_job_t *job;

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_assert_staged(spec);
    renew_assert_not_stamped(spec);
    job = renew_job("a.test");
    ck_assert_int_eq(job->step, ACME_JOB_DONE);
    ck_assert_ptr_null(job->order_url);
    ck_assert_int_eq(job->answers->nelts, 0);
    ck_assert_ptr_nonnull(job->account_id);
}
END_TEST

/* One order per key spec; the second order's authorizations are valid. */
START_TEST(two_key_specs_two_orders)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca;
    acme_renew_outcome_t *out;
    const char *md;

    renew_spec_add_key(spec, renew_second_key());
    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 2);
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 2);
    renew_assert_staged(spec);
    renew_assert_not_stamped(spec);
    md = renew_item(ACME_STORE_STAGING, "a.test", "md.json");
    ck_assert_ptr_nonnull(strstr(md, apr_psprintf(test_pool, "\"pkey-specs\":[\"P-256\",\"%s\"]",
                                                  renew_second_key())));
}
END_TEST

START_TEST(tls_alpn_01_answers_by_preference)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca;
    acme_renew_outcome_t *out;

    apr_array_clear(spec->challenges);
    APR_ARRAY_PUSH(spec->challenges, const char *) = "tls-alpn-01";
    APR_ARRAY_PUSH(spec->challenges, const char *) = "http-01";
    ca = renew_ca_create(spec, 0);
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);    /* answers checked on arrival */
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    ck_assert_ptr_null(renew_item(ACME_STORE_CHALLENGES, "a.test", ACME_ASPECT_TLSALPN_CERT));
    ck_assert_ptr_null(renew_item(ACME_STORE_CHALLENGES, "www.a.test",
                                  ACME_ASPECT_TLSALPN_KEY));
}
END_TEST

TCase *test_renew_flow_tcase(void)
{
    TCase *tc = tcase_create("flow");

    tcase_add_checked_fixture(tc, renew_setup, renew_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, happy_path_with_waits_to_done);
    tcase_add_test(tc, quick_ca_in_one_run);
    tcase_add_test(tc, polls_fast_then_backs_off);
    tcase_add_test(tc, two_key_specs_two_orders);
    tcase_add_test(tc, tls_alpn_01_answers_by_preference);
    return tc;
}
