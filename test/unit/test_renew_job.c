/* job.json: what is written reads back the same, and what is damaged or
 * hostile is refused on load. */
#include <string.h>

#include <apr_strings.h>

#include "acme_job_log.h"
#include "acme_json.h"
#include "acme_order.h"
#include "test_renew.h"

static acme_job_t *sample_job(void)
{
    json_t *spec = acme_json_pool_adopt(test_pool, json_pack("{s:[s], s:[s, s]}", "names",
                                                             "a.test", "pkey-specs", "P-256",
                                                             "rsa2048"));
    acme_job_t *job = acme_job_create(test_pool, "a.test", spec, 2, apr_time_from_sec(1000));
    acme_result_t *r = acme_result_create(test_pool);
    acme_subproblem_t *sub = apr_pcalloc(test_pool, sizeof(*sub));

    job->step = ACME_JOB_POLL_AUTHZ;
    job->key_index = 1;
    job->account_id = "ACME-ca.test-0001";
    acme_job_set_order(job, CA "/order/7");
    ck_assert_int_eq(acme_job_add_answer(job, "a.test", "http-01", "tok_1", NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_job_add_answer(job, "a.test", "http-01", "tok_1", NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_job_add_answer(job, "www.a.test", "tls-alpn-01", "tok_2", NULL),
                     APR_SUCCESS);
    job->errors = 3;
    job->backoff = 1;
    job->next_at = apr_time_from_sec(2000) + 123456;
    acme_result_set_activity(r, "creating the order");
    r->status = ACME_EPROBLEM;
    r->http_status = 429;
    r->problem_type = ACME_PROBLEM_NS "compound";
    r->detail = "two problems";
    r->retry_at = apr_time_from_sec(3000);
    r->action = ACME_ACTION_FIX_CONFIG;
    sub->type = ACME_PROBLEM_NS "caa";
    sub->detail = "CAA forbids";
    sub->id_type = "dns";
    sub->id_value = "www.a.test";
    APR_ARRAY_PUSH(r->subproblems, acme_subproblem_t *) = sub;
    acme_job_set_error(job, r);
    acme_job_log_add(&job->log, test_pool, apr_time_from_sec(1000), "starting", NULL, NULL);
    acme_job_log_add(&job->log, test_pool, apr_time_from_sec(1200), "renewal-error",
                     ACME_PROBLEM_NS "rateLimited", "too many orders");
    return job;
}

START_TEST(job_json_round_trip)
{
    acme_job_t *job = sample_job(), *back;
    const acme_subproblem_t *sub;
    const char *text, *again, *why = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_job_save(job, test_pool, renew_store, apr_time_from_sec(1500)),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_job_load(&back, test_pool, renew_store, "a.test", &why),
                     APR_SUCCESS);
    ck_assert_int_eq(back->step, ACME_JOB_POLL_AUTHZ);
    ck_assert_int_eq(back->key_index, 1);
    ck_assert_int_eq(back->key_count, 2);
    ck_assert_str_eq(back->account_id, "ACME-ca.test-0001");
    ck_assert_str_eq(back->order_url, CA "/order/7");
    ck_assert_int_eq(back->answers->nelts, 2);
    ck_assert_int_eq(back->errors, 3);
    ck_assert_int_eq(back->backoff, 1);
    ck_assert(back->next_at == apr_time_from_sec(2000) + 123456);   /* microseconds kept */
    ck_assert(back->started == apr_time_from_sec(1000));
    ck_assert(back->updated == apr_time_from_sec(1500));
    ck_assert(json_equal(back->spec, job->spec));
    ck_assert_str_eq(back->last_error->activity, "creating the order");
    ck_assert_int_eq(back->last_error->status, ACME_EPROBLEM);
    ck_assert_int_eq(back->last_error->http_status, 429);
    ck_assert_int_eq(back->last_error->action, ACME_ACTION_FIX_CONFIG);
    ck_assert(back->last_error->retry_at == apr_time_from_sec(3000));
    sub = APR_ARRAY_IDX(back->last_error->subproblems, 0, acme_subproblem_t *);
    ck_assert_str_eq(sub->id_value, "www.a.test");
    ck_assert_str_eq(sub->detail, "CAA forbids");
    ck_assert(json_equal(back->log, job->log));
    ck_assert_int_eq(acme_job_to_json(&text, &len, test_pool, job), APR_SUCCESS);
    ck_assert_int_eq(acme_job_to_json(&again, &len, test_pool, back), APR_SUCCESS);
    ck_assert_str_eq(text, again);
}
END_TEST

/* The log is mod_md's form: newest first, RFC 822 dates, at most 128. */
START_TEST(job_log_is_mod_mds_form_and_bounded)
{
    acme_job_t *job = sample_job();
    json_t *entries = json_object_get(job->log, "entries"), *newest;
    int i;

    ck_assert_int_eq((int)json_array_size(entries), 2);
    newest = json_array_get(entries, 0);
    ck_assert_str_eq(json_string_value(json_object_get(newest, "type")), "renewal-error");
    ck_assert_str_eq(json_string_value(json_object_get(newest, "status")),
                     ACME_PROBLEM_NS "rateLimited");
    ck_assert_str_eq(json_string_value(json_object_get(newest, "detail")), "too many orders");
    ck_assert_str_eq(json_string_value(json_object_get(newest, "when")),
                     "Thu, 01 Jan 1970 00:20:00 GMT");
    ck_assert_ptr_null(json_object_get(json_array_get(entries, 1), "status"));
    for (i = 0; i < ACME_JOB_LOG_MAX + 10; ++i) {
        acme_job_log_add(&job->log, test_pool, apr_time_from_sec(2000 + i), "progress", NULL,
                         apr_psprintf(test_pool, "step %d", i));
    }
    entries = json_object_get(job->log, "entries");
    ck_assert_int_eq((int)json_array_size(entries), ACME_JOB_LOG_MAX);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(entries, 0), "detail")),
                     apr_psprintf(test_pool, "step %d", ACME_JOB_LOG_MAX + 9));
}
END_TEST

/* Replaces `from` by `to` (once) in the sample's JSON and expects a refusal. */
static void refused(const char *from, const char *to)
{
    const char *text, *at, *why = NULL;
    acme_job_t *job;
    apr_size_t len;

    ck_assert_int_eq(acme_job_to_json(&text, &len, test_pool, sample_job()), APR_SUCCESS);
    at = strstr(text, from);
    ck_assert_msg(at != NULL, "%s not in %s", from, text);
    text = apr_pstrcat(test_pool, apr_pstrmemdup(test_pool, text, (apr_size_t)(at - text)),
                       to, at + strlen(from), NULL);
    ck_assert_int_eq(acme_job_from_json(&job, test_pool, "a.test", text, strlen(text), &why),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(why);
}

START_TEST(job_json_damage_is_refused)
{
    refused("\"step\":\"poll-authz\"", "\"step\":\"teleport\"");
    refused("\"format\":1", "\"format\":2");
    refused("\"md\":\"a.test\"", "\"md\":\"b.test\"");
    refused("\"key-index\":1", "\"key-index\":2");
    refused("\"key-count\":2", "\"key-count\":0");
    refused("\"order\":\"https://ca.test/order/7\"", "\"order\":\"file:///etc/passwd\"");
    refused("\"account\":\"ACME-ca.test-0001\"", "\"account\":\"../../x\"");
    refused("\"token\":\"tok_1\"", "\"token\":\"../x\"");
    refused("\"identifier\":\"a.test\"", "\"identifier\":\"../a\"");
    refused("\"type\":\"http-01\"", "\"type\":\"dns-01\"");
    refused("\"errors\":3", "\"errors\":-1");
    refused("\"next-at\":\"", "\"next-at\":\"yesterday");
    refused("\"action\":\"fix config\"", "\"action\":\"panic\"");
    refused("\"failed\":false", "\"failed\":\"no\"");
    refused("\"type\":\"starting\"", "\"type\":7");
    refused("\"type\":\"starting\"", "\"type\":\"starting\",\"x\":\"y\"");
    refused("\"log\":{\"entries\":[", "\"log\":{\"entries\":[1,");
    refused("\"log\":{", "\"log\":{\"more\":1,");
}
END_TEST

/* A dns-01 setup is recorded with its TXT value (for the teardown). */
START_TEST(job_json_dns01_answer_keeps_its_value)
{
    acme_job_t *job = sample_job(), *back;
    const acme_job_answer_t *a;
    const char *text, *at, *bad, *why = NULL;
    apr_size_t len;

    ck_assert_int_eq(acme_job_add_answer(job, "w.test", "dns-01", "tok_3", "val-ue_3"),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_job_to_json(&text, &len, test_pool, job), APR_SUCCESS);
    ck_assert_int_eq(acme_job_from_json(&back, test_pool, "a.test", text, len, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(back->answers->nelts, 3);
    a = &APR_ARRAY_IDX(back->answers, 2, acme_job_answer_t);
    ck_assert_str_eq(a->type, "dns-01");
    ck_assert_str_eq(a->value, "val-ue_3");
    ck_assert_ptr_null(APR_ARRAY_IDX(back->answers, 0, acme_job_answer_t).value);
    /* a value outside base64url, or one on another type, is damage */
    at = strstr(text, "val-ue_3");
    ck_assert_ptr_nonnull(at);
    bad = apr_pstrcat(test_pool, apr_pstrmemdup(test_pool, text, (apr_size_t)(at - text)),
                      "x;rm", at + strlen("val-ue_3"), NULL);
    ck_assert_int_eq(acme_job_from_json(&back, test_pool, "a.test", bad, strlen(bad), &why),
                     APR_EINVAL);
    at = strstr(text, "\"type\":\"dns-01\"");
    ck_assert_ptr_nonnull(at);
    bad = apr_pstrcat(test_pool, apr_pstrmemdup(test_pool, text, (apr_size_t)(at - text)),
                      "\"type\":\"http-01\"", at + strlen("\"type\":\"dns-01\""), NULL);
    ck_assert_int_eq(acme_job_from_json(&back, test_pool, "a.test", bad, strlen(bad), &why),
                     APR_EINVAL);
}
END_TEST

START_TEST(job_steps_and_times)
{
    acme_job_step_e step;
    const char *s;
    apr_time_t t;
    int i;

    for (i = ACME_JOB_ACCOUNT; i <= ACME_JOB_DONE; ++i) {
        ck_assert_int_eq(acme_job_step_parse(&step, acme_job_step_name(i)), APR_SUCCESS);
        ck_assert_int_eq(step, i);
    }
    ck_assert_ptr_null(acme_job_step_name(ACME_JOB_DONE + 1));
    ck_assert_int_eq(acme_job_step_parse(&step, "Done"), APR_EINVAL);
    ck_assert_int_eq(acme_job_step_parse(&step, NULL), APR_EINVAL);
    ck_assert_str_eq(acme_job_time_format(test_pool, apr_time_from_sec(1) + 6),
                     "1970-01-01T00:00:01.000006Z");
    s = acme_job_time_format(test_pool, 1735787045123456);
    ck_assert_int_eq(acme_order_parse_time(&t, s), APR_SUCCESS);
    ck_assert(t == 1735787045123456);
}
END_TEST

START_TEST(answers_are_bounded)
{
    acme_job_t *job = sample_job();
    int i;

    for (i = job->answers->nelts; i < ACME_JOB_MAX_ANSWERS; ++i) {
        ck_assert_int_eq(acme_job_add_answer(job, "a.test", "http-01",
                                             apr_psprintf(test_pool, "t%d", i), NULL),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(acme_job_add_answer(job, "a.test", "http-01", "one-more", NULL),
                     APR_ENOSPC);
}
END_TEST

TCase *test_renew_job_tcase(void)
{
    TCase *tc = tcase_create("job");

    tcase_add_checked_fixture(tc, renew_setup, renew_teardown);
    tcase_add_test(tc, job_json_round_trip);
    tcase_add_test(tc, job_log_is_mod_mds_form_and_bounded);
    tcase_add_test(tc, job_json_damage_is_refused);
    tcase_add_test(tc, job_json_dns01_answer_keeps_its_value);
    tcase_add_test(tc, job_steps_and_times);
    tcase_add_test(tc, answers_are_bounded);
    return tc;
}
