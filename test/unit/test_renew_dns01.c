/* dns-01 through the job's hook (acme_renew_dns01_t): the setup is recorded
 * before the hook runs and comes before the CA is asked to validate, every
 * setup is torn down (after the authorizations, on reset, after crashes),
 * the TXT value is the RFC 8555 one, and a failing setup is FIX_CONFIG. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "acme_account_store.h"
#include "acme_keyauth.h"
#include "acme_layout.h"
#include "test_renew.h"

/* A fake DNS zone kept by the hook: "<domain> <value>" -> count. */
typedef struct fake_dns_t {
    renew_ca_t *ca;
    apr_hash_t *records;        /* live now */
    apr_hash_t *seen;           /* every setup */
    int setups, teardowns;
    apr_status_t fail;          /* setup_cb answers this when not APR_SUCCESS */
} fake_dns_t;

static fake_dns_t dns;
static acme_renew_dns01_t hook;

static const char *record_key(const char *domain, const char *value)
{
    return apr_pstrcat(test_pool, domain, " ", value, NULL);
}

/* The job has recorded this setup in job.json when the hook runs. */
static int job_recorded(const char *domain, const char *value)
{
    acme_job_t *job = renew_job("a.test");
    int i;

    for (i = 0; i < job->answers->nelts; ++i) {
        const acme_job_answer_t *a = &APR_ARRAY_IDX(job->answers, i, acme_job_answer_t);
        if (!strcmp(a->identifier, domain) && a->value && !strcmp(a->value, value)
            && !strcmp(a->type, "dns-01")) {
            return 1;
        }
    }
    return 0;
}

static apr_status_t setup_cb(void *baton, apr_pool_t *p, const char *domain,
                             const char *value, const char **pwhy)
{
    fake_dns_t *d = baton;
    const char *key = record_key(domain, value);
    int idx = strcmp(domain, "a.test") ? 1 : 0;

    (void)p;
    ck_assert(job_recorded(domain, value));
    /* published before the CA is asked to look */
    ck_assert_int_eq(renew_ca_count(d->ca, apr_psprintf(test_pool, CA "/chall/1-%d/dns-01",
                                                        idx)), 0);
    d->setups++;
    apr_hash_set(d->records, key, APR_HASH_KEY_STRING, key);
    apr_hash_set(d->seen, key, APR_HASH_KEY_STRING, key);
    if (d->fail != APR_SUCCESS) {
        *pwhy = "MDChallengeDns01 setup exited with 3";
        return d->fail;
    }
    return APR_SUCCESS;
}

static apr_status_t teardown_cb(void *baton, apr_pool_t *p, const char *domain,
                                const char *value, const char **pwhy)
{
    fake_dns_t *d = baton;

    (void)p;
    (void)pwhy;
    d->teardowns++;
    ck_assert_ptr_nonnull(value);
    apr_hash_set(d->records, record_key(domain, value), APR_HASH_KEY_STRING, NULL);
    return APR_SUCCESS;
}

static acme_renew_spec_t *dns01_spec(void)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");

    apr_array_clear(spec->challenges);
    APR_ARRAY_PUSH(spec->challenges, const char *) = "dns-01";
    memset(&dns, 0, sizeof(dns));
    dns.records = apr_hash_make(test_pool);
    dns.seen = apr_hash_make(test_pool);
    hook.setup_cb = setup_cb;
    hook.teardown_cb = teardown_cb;
    hook.baton = &dns;
    spec->dns01 = &hook;
    return spec;
}

/* base64url(SHA-256(token "." thumbprint)) of the job's account. */
static const char *expected_value(const char *token)
{
    const char *why = NULL, *keyauth, *txt;

    ck_assert_int_eq(acme_keyauth_make(&keyauth, test_pool, token,
                                       renew_account_key(renew_job("a.test")->account_id),
                                       &why),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_keyauth_dns01(&txt, test_pool, keyauth, &why), APR_SUCCESS);
    return txt;
}

START_TEST(setup_then_teardown_after_validation)
{
    acme_renew_spec_t *spec = dns01_spec();
    acme_renew_outcome_t *out;

    dns.ca = renew_ca_create(spec, 0);
    renew_ca_flow(dns.ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(dns.ca, spec, apr_time_now());
    renew_ca_done(dns.ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_assert_staged(spec);
    ck_assert_int_eq(dns.setups, 2);
    ck_assert_int_eq(dns.teardowns, 2);
    ck_assert_int_eq(apr_hash_count(dns.records), 0);
    ck_assert_int_eq(renew_job("a.test")->answers->nelts, 0);
    /* the values are the RFC 8555 8.4 ones */
    ck_assert_ptr_nonnull(apr_hash_get(dns.seen, record_key("a.test", expected_value(
        renew_token(1, 0, "dns-01"))), APR_HASH_KEY_STRING));
    ck_assert_ptr_nonnull(apr_hash_get(dns.seen, record_key("www.a.test", expected_value(
        renew_token(1, 1, "dns-01"))), APR_HASH_KEY_STRING));
}
END_TEST

/* The records must be torn down while the CA still has them to check: not
 * after the first valid authorization (a wildcard and its base share a
 * name), but once all are valid, before finalizing. */
START_TEST(teardown_waits_for_every_authorization)
{
    acme_renew_spec_t *spec = dns01_spec();
    const char *want;

    dns.ca = renew_ca_create(spec, 0);
    renew_ca_new_account(dns.ca, NULL);
    renew_ca_new_order(dns.ca, 1, "pending");
    renew_ca_authz(dns.ca, 1, 0, "pending", "authz");
    renew_ca_challenge(dns.ca, 1, 0, "dns-01");
    renew_ca_authz(dns.ca, 1, 1, "pending", "authz");
    renew_ca_challenge(dns.ca, 1, 1, "dns-01");
    renew_ca_authz(dns.ca, 1, 0, "valid", "poll-authz");
    renew_ca_post(dns.ca, renew_authz_url(1, 1), 200, apr_psprintf(test_pool,
        "{\"status\": \"pending\", \"identifier\": {\"type\": \"dns\", \"value\":"
        " \"www.a.test\"}, \"challenges\": [{\"type\": \"dns-01\", \"url\": \"" CA
        "/chall/1-1/dns-01\", \"status\": \"processing\", \"token\": \"%s\"}]}",
        renew_token(1, 1, "dns-01")), "poll-authz");
    ck_assert_int_eq(renew_run(dns.ca, spec, apr_time_now())->status, ACME_RENEW_AGAIN_AT);
    renew_ca_done(dns.ca);
    ck_assert_int_eq(dns.teardowns, 0);
    want = record_key("a.test", expected_value(renew_token(1, 0, "dns-01")));
    ck_assert_ptr_nonnull(apr_hash_get(dns.records, want, APR_HASH_KEY_STRING));
    want = record_key("www.a.test", expected_value(renew_token(1, 1, "dns-01")));
    ck_assert_ptr_nonnull(apr_hash_get(dns.records, want, APR_HASH_KEY_STRING));
}
END_TEST

START_TEST(failing_setup_is_fix_config_and_torn_down_on_reset)
{
    acme_renew_spec_t *spec = dns01_spec();
    apr_time_t now = apr_time_now();
    acme_renew_outcome_t *out;

    dns.fail = APR_EGENERAL;
    dns.ca = renew_ca_create(spec, 0);
    renew_ca_new_account(dns.ca, NULL);
    renew_ca_new_order(dns.ca, 1, "pending");
    renew_ca_authz(dns.ca, 1, 0, "pending", "authz");
    out = renew_run(dns.ca, spec, now);
    renew_ca_done(dns.ca);      /* the CA was not asked to validate */
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert_int_eq(out->result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_ptr_nonnull(strstr(out->result->detail, "dns-01 setup for a.test failed"));
    ck_assert_ptr_nonnull(strstr(out->result->detail, "exited with 3"));
    ck_assert(out->next_at >= now + ACME_RENEW_FAILED_DELAY);
    ck_assert_str_eq(out->step, "authz");
    ck_assert_int_eq(renew_job("a.test")->answers->nelts, 1);

    /* Before its time, the job does not run the command again. */
    out = renew_run(dns.ca, spec, now + apr_time_from_sec(60));
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert_int_eq(dns.setups, 1);

    /* The reset tears the (maybe half made) record down. */
    ck_assert_int_eq(acme_renew_reset(renew_store, test_pool, "a.test", &hook), APR_SUCCESS);
    ck_assert_int_eq(dns.teardowns, 1);
    ck_assert_int_eq(apr_hash_count(dns.records), 0);
    ck_assert_ptr_null(renew_item(ACME_STORE_JOBS, "a.test", ACME_ASPECT_JOB));
}
END_TEST

START_TEST(hook_without_teardown_is_refused)
{
    acme_renew_spec_t *spec = dns01_spec();
    acme_renew_outcome_t out;

    hook.teardown_cb = NULL;
    dns.ca = renew_ca_create(spec, 0);
    ck_assert_int_eq(acme_renew_run(&out, test_pool, renew_store, renew_ca_client(dns.ca),
                                    spec, apr_time_now()), APR_EINVAL);
    ck_assert_int_eq(out.result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_ptr_nonnull(strstr(out.result->detail, "dns-01 hook"));
}
END_TEST

/* Requests of the quick flow (see test_renew_resume.c). */
#define FLOW_ONE_KEY 14

/* A crash anywhere: the resumed job finishes and no record stays behind. */
START_TEST(crash_at_each_request_leaves_no_record)
{
    acme_renew_spec_t *spec = dns01_spec();
    acme_renew_outcome_t *out;
    acme_job_t *job;

    dns.ca = renew_ca_create_crashing(spec, 0, _i);
    renew_ca_flow(dns.ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(dns.ca, spec, apr_time_now());
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    job = renew_job("a.test");
    dns.ca = renew_ca_create(spec, 0);
    renew_ca_flow(dns.ca, job->step, job->key_index, 1);
    out = renew_run(dns.ca, spec, out->next_at);
    renew_ca_done(dns.ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    ck_assert_int_eq(apr_hash_count(dns.records), 0);
    ck_assert_int_eq(apr_hash_count(dns.seen), 2);
}
END_TEST

/* A crash after the setup, then the domain's job is reset (e.g. the
 * configuration changed): the recorded setup is torn down. */
START_TEST(crash_then_reset_tears_down)
{
    acme_renew_spec_t *spec = dns01_spec();
    acme_renew_outcome_t *out;

    dns.ca = renew_ca_create_crashing(spec, 0, 5);    /* the first challenge POST */
    renew_ca_flow(dns.ca, ACME_JOB_ACCOUNT, 0, 1);
    out = renew_run(dns.ca, spec, apr_time_now());
    ck_assert_str_eq(out->step, "authz");
    ck_assert_int_eq(apr_hash_count(dns.records), 1);
    ck_assert_int_eq(acme_renew_reset(renew_store, test_pool, "a.test", &hook), APR_SUCCESS);
    ck_assert_int_eq(apr_hash_count(dns.records), 0);
}
END_TEST

TCase *test_renew_dns01_tcase(void)
{
    TCase *tc = tcase_create("dns01");

    tcase_add_checked_fixture(tc, renew_setup, renew_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, setup_then_teardown_after_validation);
    tcase_add_test(tc, teardown_waits_for_every_authorization);
    tcase_add_test(tc, failing_setup_is_fix_config_and_torn_down_on_reset);
    tcase_add_test(tc, hook_without_teardown_is_refused);
    tcase_add_loop_test(tc, crash_at_each_request_leaves_no_record, 0, FLOW_ONE_KEY);
    tcase_add_test(tc, crash_then_reset_tears_down);
    return tc;
}
