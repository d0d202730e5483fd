/* Accounts of the renewal job: shared by domains of the same CA and
 * contact, registered again when the CA forgot them, External Account
 * Binding failures that must not loop, and the HMAC kept out of logs and
 * files. */
#include <string.h>

#include <apr_strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "acme_account_store.h"
#include "acme_log.h"
#include "test_renew.h"

#define BROKEN_ID "ACME-x-0001"

static apr_array_header_t *account_ids(void)
{
    apr_array_header_t *ids;

    ck_assert_int_eq(acme_store_list(&ids, test_pool, renew_store, ACME_STORE_ACCOUNTS, NULL),
                     APR_SUCCESS);
    return ids;
}

static void run_done(const acme_renew_spec_t *spec, acme_job_step_e from)
{
    renew_ca_t *ca = renew_ca_create(spec, 0);

    renew_ca_flow(ca, from, 0, 1);
    ck_assert_int_eq(renew_run(ca, spec, apr_time_now())->status, ACME_RENEW_DONE);
    renew_ca_done(ca);
}

START_TEST(account_is_shared_by_domains)
{
    acme_renew_spec_t *a = renew_spec("a.test", "a.test", "www.a.test");
    acme_renew_spec_t *b = renew_spec("b.test", "b.test", "www.b.test");
    acme_account_record_t *rec;
    apr_array_header_t *ids;

    run_done(a, ACME_JOB_ACCOUNT);
    run_done(b, ACME_JOB_ORDER);          /* no newAccount this time */
    ids = account_ids();
    ck_assert_int_eq(ids->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(ids, 0, const char *), "ACME-ca.test-0001");
    ck_assert_str_eq(renew_job("a.test")->account_id, renew_job("b.test")->account_id);
    ck_assert_int_eq(acme_account_store_load(&rec, test_pool, renew_store,
                                             "ACME-ca.test-0001", NULL), APR_SUCCESS);
    ck_assert_str_eq(rec->url, ACCT_URL);
    ck_assert_str_eq(rec->contact, "mailto:admin@a.test");
    ck_assert_str_eq(rec->ca_url, DIR_URL);
    ck_assert_ptr_null(rec->eab_kid);
}
END_TEST

START_TEST(other_contact_other_account)
{
    acme_renew_spec_t *a = renew_spec("a.test", "a.test", "www.a.test");
    acme_renew_spec_t *b = renew_spec("b.test", "b.test", "www.b.test");

    b->contact = "mailto:other@b.test";
    run_done(a, ACME_JOB_ACCOUNT);
    run_done(b, ACME_JOB_ACCOUNT);
    ck_assert_int_eq(account_ids()->nelts, 2);
    ck_assert_str_ne(renew_job("a.test")->account_id, renew_job("b.test")->account_id);
}
END_TEST

START_TEST(forgotten_account_is_registered_again)
{
    acme_renew_spec_t *a = renew_spec("a.test", "a.test", "www.a.test");
    acme_renew_spec_t *b = renew_spec("b.test", "b.test", "www.b.test");
    acme_account_record_t *after;
    acme_pkey_t *before_key;
    renew_ca_t *ca;
    acme_renew_outcome_t *out;

    run_done(a, ACME_JOB_ACCOUNT);
    ck_assert_ptr_nonnull(before_key = renew_account_key("ACME-ca.test-0001"));
    ca = renew_ca_create(b, 0);
    renew_ca_post(ca, NEWORDER_URL, 400, PROBLEM("accountDoesNotExist", "who are you"),
                  "order");
    renew_ca_new_account(ca, CA "/acct/2");
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    out = renew_run(ca, b, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_DONE);
    ck_assert_int_eq(acme_account_store_load(&after, test_pool, renew_store,
                                             "ACME-ca.test-0001", NULL), APR_SUCCESS);
    ck_assert_str_eq(after->url, CA "/acct/2");
    /* the same key */
    ck_assert(acme_pkey_public_eq(before_key, renew_account_key("ACME-ca.test-0001")));
    ck_assert_int_eq(account_ids()->nelts, 1);
}
END_TEST

static int hmac_logged;

static void log_watch(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    (void)baton; (void)level; (void)rv;
    if (strstr(msg, EAB_HMAC) != NULL) {
        hmac_logged = 1;
    }
}

START_TEST(wrong_eab_fails_without_looping)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 1);
    acme_renew_outcome_t *out, *early;
    apr_time_t now = apr_time_now();
    apr_array_header_t *ids;
    acme_job_t *job;

    hmac_logged = 0;
    acme_log_set(log_watch, NULL, ACME_LOG_TRACE);
    spec->eab_kid = EAB_KID;
    spec->eab_hmac = EAB_HMAC;
    renew_ca_post(ca, NEWACCT_URL, 401, PROBLEM("unauthorized", "EAB MAC does not verify"),
                  "account");
    out = renew_run(ca, spec, now);
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert_str_eq(out->step, "account");
    ck_assert(acme_result_is(out->result, "unauthorized"));
    ck_assert_int_eq(out->result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert(out->next_at >= now + ACME_RENEW_FAILED_DELAY);
    job = renew_job("a.test");
    ck_assert_int_eq(job->failed, 1);
    ck_assert(job->next_at == out->next_at);

    /* Runs before next_at do not send anything. */
    early = renew_run(ca, spec, now + apr_time_from_sec(600));
    ck_assert_int_eq(early->status, ACME_RENEW_FAILED);
    ck_assert(acme_result_is(early->result, "unauthorized"));
    ck_assert_int_eq(acme_http_script_count(renew_ca_script(ca)), 3);

    /* The secret is nowhere: not in logs, the job or the account. */
    acme_log_set(NULL, NULL, ACME_LOG_WARNING);
    ck_assert_int_eq(hmac_logged, 0);
    ck_assert_ptr_null(strstr(renew_item(ACME_STORE_JOBS, "a.test", "job.json"), EAB_HMAC));
    ids = account_ids();
    ck_assert_int_eq(ids->nelts, 1);
    ck_assert_ptr_null(strstr(renew_item(ACME_STORE_ACCOUNTS, APR_ARRAY_IDX(ids, 0, char *),
                                         ACME_ACCOUNT_STORE_JSON), EAB_HMAC));
    ck_assert_ptr_nonnull(strstr(renew_item(ACME_STORE_ACCOUNTS, APR_ARRAY_IDX(ids, 0, char *),
                                            ACME_ACCOUNT_STORE_JSON), EAB_KID));
}
END_TEST

START_TEST(eab_required_but_not_configured)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 1);
    acme_renew_outcome_t *out = renew_run(ca, spec, apr_time_now());

    /* refused before newAccount: only the directory was fetched */
    ck_assert_ptr_null(acme_http_script_error(renew_ca_script(ca)));
    ck_assert_int_eq(acme_http_script_count(renew_ca_script(ca)), 1);
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert_int_eq(out->result->action, ACME_ACTION_FIX_CONFIG);
    ck_assert_int_eq(renew_ca_count(ca, NEWACCT_URL), 0);
}
END_TEST

START_TEST(ca_answers_external_account_required)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_renew_outcome_t *out;

    renew_ca_post(ca, NEWACCT_URL, 400, PROBLEM("externalAccountRequired", "EAB please"),
                  "account");
    out = renew_run(ca, spec, apr_time_now());
    renew_ca_done(ca);
    ck_assert_int_eq(out->status, ACME_RENEW_FAILED);
    ck_assert(acme_result_is(out->result, "externalAccountRequired"));
    ck_assert(acme_result_is(renew_job("a.test")->last_error, "externalAccountRequired"));
}
END_TEST

/* Another job registering an account: this one waits briefly
 * (ACME_RENEW_ACCOUNT_WAIT), without an error and without going to the CA. */
START_TEST(busy_account_lock_waits_briefly)
{
    acme_renew_spec_t *spec = renew_spec("a.test", "a.test", "www.a.test");
    renew_ca_t *ca = renew_ca_create(spec, 0);
    acme_store_lock_t *lock;
    acme_renew_outcome_t *out;
    apr_time_t now = apr_time_now();

    ck_assert_int_eq(acme_store_lock(&lock, test_pool, renew_store, ACME_STORE_ACCOUNTS,
                                     ACME_ACCOUNT_STORE_LOCK, 0), APR_SUCCESS);
    out = renew_run(ca, spec, now);
    ck_assert_int_eq(out->status, ACME_RENEW_AGAIN_AT);
    ck_assert_str_eq(out->step, "account");
    ck_assert_ptr_null(out->result);
    ck_assert(out->next_at == now + ACME_RENEW_ACCOUNT_WAIT);
    ck_assert_int_eq(renew_job("a.test")->errors, 0);
    ck_assert_int_eq(acme_http_script_count(renew_ca_script(ca)), 0);
    acme_store_unlock(lock);

    renew_ca_flow(ca, ACME_JOB_ACCOUNT, 0, 1);
    ck_assert_int_eq(renew_run(ca, spec, out->next_at)->status, ACME_RENEW_DONE);
    renew_ca_done(ca);
}
END_TEST

START_TEST(account_record_matching)
{
    acme_account_record_t rec = { 0 };
    acme_account_want_t want = { 0 };

    ck_assert_str_eq(acme_account_store_contact(test_pool, "a@b.test"), "mailto:a@b.test");
    ck_assert_str_eq(acme_account_store_contact(test_pool, "mailto:a@b.test"),
                     "mailto:a@b.test");
    ck_assert_ptr_null(acme_account_store_contact(test_pool, ""));
    ck_assert_ptr_null(acme_account_store_contact(test_pool, NULL));
    rec.ca_url = DIR_URL;
    rec.contact = "mailto:a@b.test";
    want.ca_url = DIR_URL;
    want.contact = "a@b.test";
    ck_assert(acme_account_store_matches(&rec, &want));
    want.contact = "mailto:a@b.test";
    ck_assert(acme_account_store_matches(&rec, &want));
    want.contact = NULL;
    ck_assert(!acme_account_store_matches(&rec, &want));
    want.contact = "a@b.test";
    want.eab_kid = EAB_KID;
    ck_assert(!acme_account_store_matches(&rec, &want));
    want.eab_kid = NULL;
    want.ca_url = CA "/other";
    ck_assert(!acme_account_store_matches(&rec, &want));
}
END_TEST

START_TEST(unusable_account_is_skipped)
{
    acme_account_record_t *rec;
    acme_account_want_t want = { 0 };
    const char *junk = "{\"ca-url\": 42}";

    want.ca_url = DIR_URL;
    ck_assert_int_eq(acme_store_save(renew_store, test_pool, ACME_STORE_ACCOUNTS, BROKEN_ID,
                                     ACME_ACCOUNT_STORE_JSON, junk, strlen(junk), 0),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_store_save(renew_store, test_pool, ACME_STORE_ACCOUNTS, BROKEN_ID,
                                     ACME_ACCOUNT_STORE_KEY, "no key", 6, ACME_STORE_SECRET),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_account_store_find(&rec, test_pool, renew_store, &want),
                     APR_ENOENT);
}
END_TEST

static const char *account_file(const char *id, const char *aspect)
{
    const char *data;
    apr_size_t len;

    ck_assert_int_eq(acme_store_load(&data, &len, test_pool, renew_store, ACME_STORE_ACCOUNTS,
                                     id, aspect), APR_SUCCESS);
    return data;
}

START_TEST(account_is_kept_as_mod_md_keeps_it)
{
    acme_renew_spec_t *a = renew_spec("a.test", "a.test", "www.a.test");
    json_t *json;

    a->eab_kid = EAB_KID;
    a->eab_hmac = EAB_HMAC;
    run_done(a, ACME_JOB_ACCOUNT);
    json = json_loads(account_file("ACME-ca.test-0001", ACME_ACCOUNT_STORE_JSON), 0, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_str_eq(json_string_value(json_object_get(json, "status")), "valid");
    ck_assert_str_eq(json_string_value(json_object_get(json, "url")), ACCT_URL);
    ck_assert_str_eq(json_string_value(json_object_get(json, "ca-url")), DIR_URL);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json, "contact"), 0)),
                     "mailto:admin@a.test");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json, "eab"), "kid")),
                     EAB_KID);
    /* the HMAC, which mod_md keeps there, is not */
    ck_assert_ptr_null(json_object_get(json_object_get(json, "eab"), "hmac"));
    json_decref(json);
    /* the key is encrypted with the store key, as mod_md keeps account keys */
    ck_assert_ptr_nonnull(strstr(account_file("ACME-ca.test-0001", ACME_ACCOUNT_STORE_KEY),
                                 "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
}
END_TEST

/* Saves an account as mod_md 2.6 writes it: its key encrypted with `pass`. */
static acme_pkey_t *mod_md_account(const char *id, const char *status,
                                   const unsigned char *pass, apr_size_t pass_len)
{
    acme_pkey_spec_t spec = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    const char *json = apr_psprintf(test_pool, "{\n  \"status\": \"%s\",\n  \"url\": \"%s\",\n"
        "  \"ca-url\": \"%s\",\n  \"contact\": [\n    \"mailto:admin@a.test\"\n  ],\n"
        "  \"orders\": \"%s/orders\",\n  \"eab\": {\n    \"kid\": \"%s\",\n"
        "    \"hmac\": \"%s\"\n  }\n}\n", status, ACCT_URL, DIR_URL, ACCT_URL, EAB_KID, EAB_HMAC);
    const char *pem;
    apr_size_t len;
    acme_pkey_t *key;

    ck_assert_int_eq(acme_pkey_generate(&key, test_pool, &spec, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_pkey_to_pem_pass(&pem, &len, test_pool, key, pass, pass_len, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_store_save(renew_store, test_pool, ACME_STORE_ACCOUNTS, id,
                                     ACME_ACCOUNT_STORE_KEY, pem, len, ACME_STORE_SECRET),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_store_save(renew_store, test_pool, ACME_STORE_ACCOUNTS, id,
                                     ACME_ACCOUNT_STORE_JSON, json, strlen(json), 0),
                     APR_SUCCESS);
    return key;
}

START_TEST(mod_md_account_is_used)
{
    acme_account_want_t want = { 0 };
    acme_account_record_t *rec;
    const unsigned char *pass;
    apr_size_t pass_len;
    acme_pkey_t *key;

    ck_assert_int_eq(acme_store_secret_key(&pass, &pass_len, renew_store), APR_SUCCESS);
    mod_md_account("ACME-ca.test-0000", "deactivated", pass, pass_len);
    key = mod_md_account("ACME-ca.test-0001", "valid", pass, pass_len);
    want.ca_url = DIR_URL;
    want.contact = "admin@a.test";
    want.eab_kid = EAB_KID;
    want.eab_hmac = EAB_HMAC;
    ck_assert_int_eq(acme_account_store_find(&rec, test_pool, renew_store, &want),
                     APR_SUCCESS);
    ck_assert_str_eq(rec->id, "ACME-ca.test-0001");    /* not the deactivated one */
    ck_assert_str_eq(rec->url, ACCT_URL);
    ck_assert_str_eq(rec->contact, "mailto:admin@a.test");
    ck_assert_str_eq(rec->eab_kid, EAB_KID);
    ck_assert_ptr_null(rec->key);   /* the record only: the key is the custody's */
    ck_assert_int_eq(EVP_PKEY_eq(acme_pkey_get_evp(renew_account_key(rec->id)),
                                 acme_pkey_get_evp(key)), 1);
}
END_TEST

/* The CA forgot a mod_md account: only its URL (and the HMAC) go, so what
 * mod_md keeps there survives a switch back. */
START_TEST(forgotten_mod_md_account_keeps_its_other_members)
{
    const unsigned char *pass;
    apr_size_t pass_len;
    acme_account_record_t *rec;
    json_t *json;

    ck_assert_int_eq(acme_store_secret_key(&pass, &pass_len, renew_store), APR_SUCCESS);
    mod_md_account("ACME-ca.test-0000", "valid", pass, pass_len);
    ck_assert_int_eq(acme_account_store_forget_url(renew_store, test_pool, "ACME-ca.test-0000"),
                     APR_SUCCESS);
    json = json_loads(account_file("ACME-ca.test-0000", ACME_ACCOUNT_STORE_JSON), 0, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_null(json_object_get(json, "url"));
    ck_assert_str_eq(json_string_value(json_object_get(json, "orders")), ACCT_URL "/orders");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json, "eab"), "kid")),
                     EAB_KID);
    ck_assert_ptr_null(json_object_get(json_object_get(json, "eab"), "hmac"));
    json_decref(json);
    ck_assert_int_eq(acme_account_store_load(&rec, test_pool, renew_store, "ACME-ca.test-0000",
                                             NULL), APR_SUCCESS);
    ck_assert_ptr_null(rec->url);
    ck_assert_str_eq(rec->contact, "mailto:admin@a.test");
    ck_assert(!rec->unusable);

    /* a deactivated one stays deactivated */
    mod_md_account("ACME-ca.test-0001", "deactivated", pass, pass_len);
    ck_assert_int_eq(acme_account_store_forget_url(renew_store, test_pool, "ACME-ca.test-0001"),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_account_store_load(&rec, test_pool, renew_store, "ACME-ca.test-0001",
                                             NULL), APR_SUCCESS);
    ck_assert_ptr_null(rec->url);
    ck_assert(rec->unusable);
}
END_TEST

START_TEST(mod_md_eab_hmac_is_removed_from_the_account)
{
    acme_account_want_t want = { 0 };
    acme_account_record_t *rec;
    const unsigned char *pass;
    apr_size_t pass_len;
    int changed = -1;

    ck_assert_int_eq(acme_store_secret_key(&pass, &pass_len, renew_store), APR_SUCCESS);
    mod_md_account("ACME-ca.test-0000", "valid", pass, pass_len);
    ck_assert_ptr_nonnull(strstr(account_file("ACME-ca.test-0000", ACME_ACCOUNT_STORE_JSON),
                                 EAB_HMAC));
    ck_assert_int_eq(acme_account_store_forget_secrets(&changed, test_pool, renew_store),
                     APR_SUCCESS);
    ck_assert_int_eq(changed, 1);
    ck_assert_ptr_null(strstr(account_file("ACME-ca.test-0000", ACME_ACCOUNT_STORE_JSON),
                              EAB_HMAC));
    ck_assert_int_eq(acme_account_store_forget_secrets(&changed, test_pool, renew_store),
                     APR_SUCCESS);
    ck_assert_int_eq(changed, 0);
    /* still the account for its CA, contact and EAB key id */
    want.ca_url = DIR_URL;
    want.contact = "admin@a.test";
    want.eab_kid = EAB_KID;
    ck_assert_int_eq(acme_account_store_find(&rec, test_pool, renew_store, &want),
                     APR_SUCCESS);
    ck_assert_str_eq(rec->id, "ACME-ca.test-0000");
}
END_TEST

START_TEST(account_key_under_another_passphrase_is_unusable)
{
    static const unsigned char other[48] = { 1, 2, 3 };
    acme_account_record_t *rec;
    const char *why = NULL;

    acme_renew_spec_t *a = renew_spec("a.test", "a.test", "www.a.test");
    acme_account_want_t want = { 0 };
    acme_pkey_t *key = NULL;

    mod_md_account("ACME-ca.test-0001", "valid", other, sizeof(other));
    /* the record reads, the custody refuses its key */
    ck_assert_int_eq(acme_account_store_load(&rec, test_pool, renew_store, "ACME-ca.test-0001",
                                             &why), APR_SUCCESS);
    ck_assert_int_eq(acme_keys_account_key(&key, test_pool,
                                           acme_keys_local(test_pool, renew_store),
                                           "ACME-ca.test-0001", 0, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "encrypted with another passphrase"));
    /* find still names it (it matches); a run skips it and makes a new one */
    want.ca_url = DIR_URL;
    want.contact = "admin@a.test";
    want.eab_kid = EAB_KID;
    ck_assert_int_eq(acme_account_store_find(&rec, test_pool, renew_store, &want),
                     APR_SUCCESS);
    a->eab_kid = EAB_KID;
    a->eab_hmac = EAB_HMAC;
    run_done(a, ACME_JOB_ACCOUNT);
    ck_assert_str_eq(renew_job("a.test")->account_id, "ACME-ca.test-0002");
}
END_TEST

/* A job resuming with an account whose key went missing goes back to
 * "account" and registers a new key under that id (the record without its
 * key is of no use; its id is free for a new key). */
START_TEST(account_key_gone_mid_job_makes_a_new_account)
{
    acme_renew_spec_t *a = renew_spec("a.test", "a.test", "www.a.test");
    acme_renew_spec_t *b = renew_spec("b.test", "b.test", "www.b.test");
    renew_ca_t *ca;

    acme_account_record_t *rec;
    acme_pkey_t *old_key;

    run_done(a, ACME_JOB_ACCOUNT);
    old_key = renew_account_key("ACME-ca.test-0001");
    ck_assert_int_eq(acme_store_remove(renew_store, test_pool, ACME_STORE_ACCOUNTS,
                                       "ACME-ca.test-0001", ACME_ACCOUNT_STORE_KEY),
                     APR_SUCCESS);
    ca = renew_ca_create(b, 0);
    renew_ca_new_account(ca, CA "/acct/2");
    renew_ca_flow(ca, ACME_JOB_ORDER, 0, 1);
    ck_assert_int_eq(renew_run(ca, b, apr_time_now())->status, ACME_RENEW_DONE);
    renew_ca_done(ca);
    ck_assert_str_eq(renew_job("b.test")->account_id, "ACME-ca.test-0001");
    ck_assert_int_eq(acme_account_store_load(&rec, test_pool, renew_store,
                                             "ACME-ca.test-0001", NULL), APR_SUCCESS);
    ck_assert_str_eq(rec->url, CA "/acct/2");
    ck_assert(!acme_pkey_public_eq(old_key, renew_account_key("ACME-ca.test-0001")));
}
END_TEST

TCase *test_renew_account_tcase(void)
{
    TCase *tc = tcase_create("account");

    tcase_add_checked_fixture(tc, renew_setup, renew_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, account_is_shared_by_domains);
    tcase_add_test(tc, other_contact_other_account);
    tcase_add_test(tc, forgotten_account_is_registered_again);
    tcase_add_test(tc, wrong_eab_fails_without_looping);
    tcase_add_test(tc, eab_required_but_not_configured);
    tcase_add_test(tc, ca_answers_external_account_required);
    tcase_add_test(tc, busy_account_lock_waits_briefly);
    tcase_add_test(tc, account_record_matching);
    tcase_add_test(tc, unusable_account_is_skipped);
    tcase_add_test(tc, account_is_kept_as_mod_md_keeps_it);
    tcase_add_test(tc, mod_md_account_is_used);
    tcase_add_test(tc, account_key_under_another_passphrase_is_unusable);
    tcase_add_test(tc, account_key_gone_mid_job_makes_a_new_account);
    tcase_add_test(tc, mod_md_eab_hmac_is_removed_from_the_account);
    tcase_add_test(tc, forgotten_mod_md_account_keeps_its_other_members);
    return tc;
}
