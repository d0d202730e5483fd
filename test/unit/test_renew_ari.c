/* The renewal job's order and the CA's ARI (RFC 9773 5) and profiles:
 * 'replaces' only to a CA with renewalInfo, one plain retry when the CA
 * refuses it (alreadyReplaced, another CA's or account's certificate), none
 * after rateLimited; 'profile' only when offered unless mandatory. The
 * assertions read the newOrder payloads the scripted transport captured. */
#include <string.h>

#include <apr_strings.h>

#include "test_renew.h"

/* Certificate ids (RFC 9773 4.1 example, and a second key's). */
#define ID_1 "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
#define ID_2 "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyF"

#define PROFILES "{\"classic\": \"90 days\", \"shortlived\": \"6 days\"}"

/* A spec whose (single, P-256) certificate has the ARI id `id`. */
static acme_renew_spec_t *spec_replacing(const char *id)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");

    spec->replaces = apr_array_make(test_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(spec->replaces, const char *) = id;
    return spec;
}

/* The string member `name` of the k-th newOrder payload, or NULL. */
static const char *order_member(renew_ca_t *ca, int k, const char *name)
{
    json_t *payload = renew_ca_payload(ca, NEWORDER_URL, k);

    ck_assert_msg(payload != NULL, "no newOrder payload #%d", k);
    ck_assert_ptr_nonnull(json_object_get(payload, "identifiers"));
    return json_string_value(json_object_get(payload, name));
}

static void assert_done(renew_ca_t *ca, const acme_renew_spec_t *spec,
                        const acme_renew_outcome_t *out)
{
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    renew_assert_staged(spec);
}

START_TEST(renewal_info_order_replaces)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca = renew_ca_create_dir(spec, 1, NULL);

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    assert_done(ca, spec, renew_run(ca, spec, apr_time_now()));
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 1);
    ck_assert_str_eq(order_member(ca, 0, "replaces"), ID_1);
    ck_assert_ptr_null(order_member(ca, 0, "profile"));
}
END_TEST

START_TEST(no_renewal_info_no_replaces)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca = renew_ca_create_dir(spec, 0, PROFILES);

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    assert_done(ca, spec, renew_run(ca, spec, apr_time_now()));
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 1);
    ck_assert_ptr_null(json_object_get(renew_ca_payload(ca, NEWORDER_URL, 0), "replaces"));
    ck_assert_ptr_null(order_member(ca, 0, "profile"));
}
END_TEST

/* Each key spec's order names its own predecessor; NULL: that one none. */
START_TEST(two_keys_each_order_its_own_replaces)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca;

    renew_spec_add_key(spec, "P-384");
    APR_ARRAY_PUSH(spec->replaces, const char *) = _i ? NULL : ID_2;
    ca = renew_ca_create_dir(spec, 1, NULL);
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 2);
    assert_done(ca, spec, renew_run(ca, spec, apr_time_now()));
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 2);
    ck_assert_str_eq(order_member(ca, 0, "replaces"), ID_1);
    if (_i) {
        ck_assert_ptr_null(json_object_get(renew_ca_payload(ca, NEWORDER_URL, 1),
                                           "replaces"));
    }
    else {
        ck_assert_str_eq(order_member(ca, 1, "replaces"), ID_2);
    }
}
END_TEST

/* A replaces array shorter than the key specs (a key spec added since the
 * last certificate) replaces nothing for the others. */
START_TEST(replaces_shorter_than_key_specs)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca;

    renew_spec_add_key(spec, "P-384");
    ca = renew_ca_create_dir(spec, 1, NULL);
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 2);
    assert_done(ca, spec, renew_run(ca, spec, apr_time_now()));
    ck_assert_str_eq(order_member(ca, 0, "replaces"), ID_1);
    ck_assert_ptr_null(json_object_get(renew_ca_payload(ca, NEWORDER_URL, 1), "replaces"));
}
END_TEST

START_TEST(already_replaced_orders_once_without_replaces)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca = renew_ca_create_dir(spec, 1, PROFILES);
    acme_job_t *job;

    spec->profile = "shortlived";
    renew_ca_new_account(ca, NULL);
    renew_ca_post(ca, NEWORDER_URL, 409, PROBLEM("alreadyReplaced", "replaced by order 7"),
                  "order");
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    assert_done(ca, spec, renew_run(ca, spec, apr_time_now()));
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 2);
    ck_assert_str_eq(order_member(ca, 0, "replaces"), ID_1);
    ck_assert_ptr_null(order_member(ca, 1, "replaces"));
    /* Only 'replaces' goes: the retry keeps the profile. */
    ck_assert_str_eq(order_member(ca, 0, "profile"), "shortlived");
    ck_assert_str_eq(order_member(ca, 1, "profile"), "shortlived");
    job = renew_job("a.test");
    ck_assert_int_eq(job->errors, 0);
}
END_TEST

/* The plain retry refused again (whatever the CA thinks) ends the run: no
 * third order, the problem is the job's error. */
START_TEST(already_replaced_twice_is_not_looped_on)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca = renew_ca_create_dir(spec, 1, NULL);
    acme_renew_outcome_t *out;

    renew_ca_new_account(ca, NULL);
    renew_ca_post(ca, NEWORDER_URL, 409, PROBLEM("alreadyReplaced", "replaced"), "order");
    renew_ca_post(ca, NEWORDER_URL, 409, PROBLEM("alreadyReplaced", "replaced"), "order");
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 2);
    ck_assert_str_eq(order_member(ca, 0, "replaces"), ID_1);
    ck_assert_ptr_null(order_member(ca, 1, "replaces"));
    ck_assert_int_ne(out->status, ACME_RENEW_DONE);
    ck_assert_ptr_nonnull(out->result);
    ck_assert(acme_result_is(out->result, "alreadyReplaced"));
    ck_assert_int_eq(renew_job("a.test")->errors, 1);
}
END_TEST

/* A CA that refuses the predecessor (another CA's certificate, as after
 * switching from staging to production; another account's; no name in
 * common) would refuse every renewal: one plain order follows. */
static const struct { int status; const char *problem; } refusals[] = {
    { 404, PROBLEM("malformed", "no current certificate with serial 87654321 exists") },
    { 400, PROBLEM("malformed", "could not parse the ARI CertID") },
    { 403, PROBLEM("unauthorized", "requester account did not request the certificate") },
};

START_TEST(refused_replaces_orders_once_without)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca = renew_ca_create_dir(spec, 1, NULL);

    renew_ca_new_account(ca, NULL);
    renew_ca_post(ca, NEWORDER_URL, refusals[_i].status, refusals[_i].problem, "order");
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    assert_done(ca, spec, renew_run(ca, spec, apr_time_now()));
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 2);
    ck_assert_str_eq(order_member(ca, 0, "replaces"), ID_1);
    ck_assert_ptr_null(order_member(ca, 1, "replaces"));
    ck_assert_int_eq(renew_job("a.test")->errors, 0);
}
END_TEST

/* The plain order refused as well: its problem is the job's error. */
START_TEST(refused_plain_order_is_the_error)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca = renew_ca_create_dir(spec, 1, NULL);
    acme_renew_outcome_t *out;

    renew_ca_new_account(ca, NULL);
    renew_ca_post(ca, NEWORDER_URL, 403, PROBLEM("unauthorized", "not yours"), "order");
    renew_ca_post(ca, NEWORDER_URL, 400, PROBLEM("rejectedIdentifier", "no"), "order");
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 2);
    ck_assert_ptr_null(order_member(ca, 1, "replaces"));
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert(acme_result_is(out->result, "rejectedIdentifier"));
}
END_TEST

/* Rate limited: a plain order would be too; no second request. */
START_TEST(rate_limited_is_not_retried_plainly)
{
    acme_renew_spec_t *spec = spec_replacing(ID_1);
    renew_ca_t *ca = renew_ca_create_dir(spec, 1, NULL);
    acme_http_script_step_t *step;
    acme_renew_outcome_t *out;

    renew_ca_new_account(ca, NULL);
    step = renew_ca_post(ca, NEWORDER_URL, 429, PROBLEM("rateLimited", "slow down"), "order");
    acme_http_script_step_header(step, "Retry-After", "600");
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 1);
    ck_assert_str_eq(order_member(ca, 0, "replaces"), ID_1);
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert(acme_result_is(out->result, "rateLimited"));
}
END_TEST

/* Offered: ordered with it, mandatory (_i = 1) or not. */
START_TEST(offered_profile_is_ordered)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create_dir(spec, 0, PROFILES);

    spec->profile = "shortlived";
    spec->profile_mandatory = _i;
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    assert_done(ca, spec, renew_run(ca, spec, apr_time_now()));
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 1);
    ck_assert_str_eq(order_member(ca, 0, "profile"), "shortlived");
    ck_assert_ptr_null(order_member(ca, 0, "replaces"));
}
END_TEST

/* Not offered and mandatory: a FIX_CONFIG failure naming the profile, no
 * newOrder sent; the CA lists other profiles (_i = 0) or none (_i = 1). */
START_TEST(missing_mandatory_profile_fails)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create_dir(spec, 1, _i ? NULL : PROFILES);
    acme_renew_outcome_t *out;

    spec->profile = "tlsserver";
    spec->profile_mandatory = 1;
    renew_ca_new_account(ca, NULL);
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 0);
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert_str_eq(out->step, "order");
    ck_assert_ptr_nonnull(out->result);
    ck_assert_int_eq(out->result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_ptr_nonnull(strstr(out->result->detail, "'tlsserver'"));
    ck_assert_int_eq(!!strstr(out->result->detail, "offers no profiles"), _i);
    ck_assert_int_eq(renew_job("a.test")->errors, 1);
}
END_TEST

/* Not offered and optional: ordered without a profile. */
START_TEST(missing_optional_profile_orders_without)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create_dir(spec, 0, _i ? NULL : PROFILES);

    spec->profile = "tlsserver";
    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    assert_done(ca, spec, renew_run(ca, spec, apr_time_now()));
    ck_assert_int_eq(renew_ca_count(ca, NEWORDER_URL), 1);
    ck_assert_ptr_null(json_object_get(renew_ca_payload(ca, NEWORDER_URL, 0), "profile"));
}
END_TEST

TCase *test_renew_ari_tcase(void)
{
    TCase *tc = tcase_create("ari-profiles");

    tcase_add_checked_fixture(tc, renew_setup, renew_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, renewal_info_order_replaces);
    tcase_add_test(tc, no_renewal_info_no_replaces);
    tcase_add_loop_test(tc, two_keys_each_order_its_own_replaces, 0, 2);
    tcase_add_test(tc, replaces_shorter_than_key_specs);
    tcase_add_test(tc, already_replaced_orders_once_without_replaces);
    tcase_add_test(tc, already_replaced_twice_is_not_looped_on);
    tcase_add_loop_test(tc, refused_replaces_orders_once_without, 0,
                        (int)(sizeof(refusals) / sizeof(refusals[0])));
    tcase_add_test(tc, refused_plain_order_is_the_error);
    tcase_add_test(tc, rate_limited_is_not_retried_plainly);
    tcase_add_loop_test(tc, offered_profile_is_ordered, 0, 2);
    tcase_add_loop_test(tc, missing_mandatory_profile_fails, 0, 2);
    tcase_add_loop_test(tc, missing_optional_profile_orders_without, 0, 2);
    return tc;
}
