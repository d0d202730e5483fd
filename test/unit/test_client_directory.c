/* Directory parsing and the nonce pool. */
#include <string.h>

#include <apr_strings.h>

#include "acme_client.h"
#include "acme_directory.h"
#include "acme_nonce.h"
#include "check_main.h"
#include "test_client.h"

#define MIN_DIR "\"newNonce\": \"" NONCE_URL "\", \"newAccount\": \"" NEWACCT_URL "\"," \
                " \"newOrder\": \"" NEWORDER_URL "\""

static apr_status_t parse(acme_directory_t **pdir, acme_result_t *r, const char *json)
{
    return acme_directory_parse(pdir, test_pool, json, strlen(json), r);
}

START_TEST(directory_with_meta_profiles_and_renewal_info)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_directory_t *dir;
    const acme_directory_profile_t *prof;

    ck_assert_int_eq(parse(&dir, r,
        "{" MIN_DIR ", \"revokeCert\": \"" REVOKE_URL "\", \"keyChange\": \"" KEYCHANGE_URL "\","
        " \"newAuthz\": \"" CA "/new-authz\", \"renewalInfo\": \"" CA "/ari/\","
        " \"xUnknown\": [1, {\"ignored\": true}],"
        " \"meta\": {\"termsOfService\": \"" CA "/tos.pdf\", \"website\": \"https://www.ca.test\","
        " \"caaIdentities\": [\"ca.test\", \"other.test\"], \"externalAccountRequired\": true,"
        " \"profiles\": {\"classic\": \"The 90 day profile\","
        " \"shortlived\": \"https://ca.test/docs/shortlived\"}}}"), APR_SUCCESS);
    ck_assert_str_eq(dir->new_nonce, NONCE_URL);
    ck_assert_str_eq(dir->new_account, NEWACCT_URL);
    ck_assert_str_eq(dir->new_order, NEWORDER_URL);
    ck_assert_str_eq(dir->revoke_cert, REVOKE_URL);
    ck_assert_str_eq(dir->key_change, KEYCHANGE_URL);
    ck_assert_str_eq(dir->new_authz, CA "/new-authz");
    ck_assert_str_eq(dir->renewal_info, CA "/ari/");
    ck_assert_str_eq(dir->terms_of_service, CA "/tos.pdf");
    ck_assert_str_eq(dir->website, "https://www.ca.test");
    ck_assert_int_eq(dir->caa_identities->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(dir->caa_identities, 1, const char *), "other.test");
    ck_assert_int_eq(dir->external_account_required, 1);
    ck_assert_int_eq(dir->profiles->nelts, 2);
    prof = acme_directory_get_profile(dir, "shortlived");
    ck_assert_ptr_nonnull(prof);
    ck_assert_str_eq(prof->description, "https://ca.test/docs/shortlived");
    ck_assert_str_eq(acme_directory_get_profile(dir, "classic")->description,
                     "The 90 day profile");
    ck_assert_ptr_null(acme_directory_get_profile(dir, "tlsserver"));
    ck_assert_ptr_null(acme_directory_get_profile(dir, NULL));
}
END_TEST

START_TEST(directory_without_meta)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_directory_t *dir;

    ck_assert_int_eq(parse(&dir, r, "{" MIN_DIR "}"), APR_SUCCESS);
    ck_assert_ptr_null(dir->revoke_cert);
    ck_assert_ptr_null(dir->key_change);
    ck_assert_ptr_null(dir->renewal_info);
    ck_assert_ptr_null(dir->terms_of_service);
    ck_assert_int_eq(dir->external_account_required, 0);
    ck_assert_int_eq(dir->caa_identities->nelts, 0);
    ck_assert_int_eq(dir->profiles->nelts, 0);
    ck_assert_int_eq(parse(&dir, r, "{" MIN_DIR ", \"meta\": {}}"), APR_SUCCESS);
    ck_assert_int_eq(dir->profiles->nelts, 0);
    ck_assert_int_eq(parse(&dir, r, "{" MIN_DIR ", \"meta\": null, \"keyChange\": null}"),
                     APR_SUCCESS);
    /* informational links may use any scheme (pebble: a data: URL) */
    ck_assert_int_eq(parse(&dir, r, "{" MIN_DIR ", \"meta\": {\"termsOfService\":"
                           " \"data:text/plain,Do%20what%20thou%20wilt\"}}"), APR_SUCCESS);
    ck_assert_str_eq(dir->terms_of_service, "data:text/plain,Do%20what%20thou%20wilt");
}
END_TEST

/* Each document must be refused with APR_EINVAL and a reason that names
 * what was wrong. */
static const struct {
    const char *json;
    const char *reason;
} bad_directories[] = {
    { "{\"newNonce\": \"" NONCE_URL "\", \"newAccount\": \"" NEWACCT_URL "\"}", "newOrder" },
    { "{" MIN_DIR ", \"keyChange\": \"/relative/key-change\"}", "keyChange" },
    { "{" MIN_DIR ", \"revokeCert\": \"ftp://ca.test/revoke\"}", "revokeCert" },
    { "{" MIN_DIR ", \"renewalInfo\": \"https://\"}", "renewalInfo" },
    { "{" MIN_DIR ", \"renewalInfo\": \"https://ca.test/a b\"}", "renewalInfo" },
    { "{" MIN_DIR ", \"renewalInfo\": 42}", "renewalInfo" },
    { "{\"newNonce\": \"javascript:alert(1)\", \"newAccount\": \"" NEWACCT_URL "\","
      " \"newOrder\": \"" NEWORDER_URL "\"}", "newNonce" },
    { "{" MIN_DIR ", \"meta\": []}", "meta" },
    { "{" MIN_DIR ", \"meta\": {\"termsOfService\": \"tos.html\"}}", "termsOfService" },
    { "{" MIN_DIR ", \"meta\": {\"website\": \"https://ca.test/a\\nb\"}}", "website" },
    { "{" MIN_DIR ", \"meta\": {\"website\": \":x\"}}", "website" },
    { "{" MIN_DIR ", \"meta\": {\"caaIdentities\": \"ca.test\"}}", "caaIdentities" },
    { "{" MIN_DIR ", \"meta\": {\"caaIdentities\": [\"\"]}}", "caaIdentities" },
    { "{" MIN_DIR ", \"meta\": {\"externalAccountRequired\": \"yes\"}}",
      "externalAccountRequired" },
    { "{" MIN_DIR ", \"meta\": {\"profiles\": [\"classic\"]}}", "profiles" },
    { "{" MIN_DIR ", \"meta\": {\"profiles\": {\"classic\": 90}}}", "classic" },
    { "[\"" NONCE_URL "\"]", "object" },
    { "{" MIN_DIR, "directory" },
    { "", "directory" },
};

START_TEST(directory_rejects_invalid_documents)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_directory_t *dir = NULL;
    const char *json = bad_directories[_i].json;

    ck_assert_int_ne(parse(&dir, r, json), APR_SUCCESS);
    ck_assert_ptr_null(dir);
    ck_assert_int_ne(r->status, APR_SUCCESS);
    ck_assert_msg(r->detail && strstr(r->detail, bad_directories[_i].reason),
                  "case %d: detail '%s' should name '%s'", _i, r->detail,
                  bad_directories[_i].reason);
}
END_TEST

START_TEST(directory_bounds_profiles_and_text)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_directory_t *dir;
    char *profiles = "", *longtext;
    int i;

    for (i = 0; i <= ACME_DIRECTORY_MAX_PROFILES; ++i) {
        profiles = apr_psprintf(test_pool, "%s%s\"p%d\": \"x\"", profiles, i ? "," : "", i);
    }
    ck_assert_int_eq(parse(&dir, r, apr_psprintf(test_pool, "{" MIN_DIR ", \"meta\":"
                                                 " {\"profiles\": {%s}}}", profiles)),
                     APR_EINVAL);
    longtext = apr_palloc(test_pool, 5001);
    memset(longtext, 'a', 5000);
    longtext[5000] = '\0';
    ck_assert_int_eq(parse(&dir, r, apr_psprintf(test_pool, "{" MIN_DIR ", \"meta\":"
                                                 " {\"profiles\": {\"p\": \"%s\"}}}",
                                                 longtext)), APR_SUCCESS);
    ck_assert_uint_eq(strlen(acme_directory_get_profile(dir, "p")->description),
                      ACME_DIRECTORY_MAX_TEXT + 3);
}
END_TEST

START_TEST(client_loads_directory_and_reports_server_errors)
{
    acme_result_t *r = acme_result_create(test_pool);
    acme_http_transport_t *t;
    acme_http_script_t *s = acme_http_script_create(&t, test_pool);
    acme_http_script_step_t *step;
    acme_client_t *c;

    ck_assert_int_eq(acme_client_create(&c, test_pool, t, "not a url", r), APR_EINVAL);
    ck_assert_int_eq(acme_client_create(&c, test_pool, t, DIR_URL, r), APR_SUCCESS);
    ck_assert_ptr_null(acme_client_get_directory(c));
    step = acme_http_script_add(s, ACME_HTTP_GET, DIR_URL, 503, "text/html", "<h1>down</h1>");
    acme_http_script_step_header(step, "Retry-After", "30");
    acme_http_script_add(s, ACME_HTTP_GET, DIR_URL, 200, ACME_MEDIA_JSON, "{" MIN_DIR "}");
    acme_http_script_add(s, ACME_HTTP_GET, DIR_URL, 200, ACME_MEDIA_JSON, "{\"newNonce\": 1}");

    ck_assert_int_eq(acme_client_load_directory(c, test_pool, r), ACME_EPROBLEM);
    ck_assert_int_eq(r->http_status, 503);
    ck_assert_int_eq(r->action, ACME_ACTION_RETRY);
    ck_assert(r->retry_at > apr_time_now() + apr_time_from_sec(25));
    ck_assert_ptr_null(acme_client_get_directory(c));

    ck_assert_int_eq(acme_client_load_directory(c, test_pool, r), APR_SUCCESS);
    ck_assert_str_eq(acme_client_get_directory(c)->new_order, NEWORDER_URL);
    /* a broken reload keeps the directory that works */
    ck_assert_int_eq(acme_client_load_directory(c, test_pool, r), APR_EINVAL);
    ck_assert_str_eq(acme_client_get_directory(c)->new_order, NEWORDER_URL);
    ck_assert_ptr_null(acme_http_script_error(s));
}
END_TEST

TCase *test_client_directory_tcase(void)
{
    TCase *tc = tcase_create("directory");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, directory_with_meta_profiles_and_renewal_info);
    tcase_add_test(tc, directory_without_meta);
    tcase_add_loop_test(tc, directory_rejects_invalid_documents, 0,
                        sizeof(bad_directories) / sizeof(bad_directories[0]));
    tcase_add_test(tc, directory_bounds_profiles_and_text);
    tcase_add_test(tc, client_loads_directory_and_reports_server_errors);
    return tc;
}

START_TEST(nonce_validation)
{
    char big[ACME_NONCE_MAX_LEN + 2];

    ck_assert(acme_nonce_is_valid("abc-DEF_123"));
    ck_assert(!acme_nonce_is_valid(""));
    ck_assert(!acme_nonce_is_valid(NULL));
    ck_assert(!acme_nonce_is_valid("abc="));
    ck_assert(!acme_nonce_is_valid("ab c"));
    ck_assert(!acme_nonce_is_valid("ab+/"));
    ck_assert(!acme_nonce_is_valid("ab\r\nSet-Cookie: x"));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert(!acme_nonce_is_valid(big));
    big[ACME_NONCE_MAX_LEN] = '\0';
    ck_assert(acme_nonce_is_valid(big));
}
END_TEST

START_TEST(nonce_pool_is_bounded_and_newest_first)
{
    acme_nonce_pool_t *np = acme_nonce_pool_create(test_pool);
    int i;

    ck_assert_ptr_null(acme_nonce_pool_take(np, test_pool));
    ck_assert_int_eq(acme_nonce_pool_put(np, "bad nonce"), 0);
    ck_assert_int_eq(acme_nonce_pool_count(np), 0);
    for (i = 0; i < ACME_NONCE_POOL_SIZE + 5; ++i) {
        ck_assert_int_eq(acme_nonce_pool_put(np, apr_psprintf(test_pool, "n%d", i)), 1);
    }
    ck_assert_int_eq(acme_nonce_pool_count(np), ACME_NONCE_POOL_SIZE);
    for (i = ACME_NONCE_POOL_SIZE + 4; i >= 5; --i) {
        ck_assert_str_eq(acme_nonce_pool_take(np, test_pool), apr_psprintf(test_pool, "n%d", i));
    }
    ck_assert_ptr_null(acme_nonce_pool_take(np, test_pool));
    acme_nonce_pool_put(np, "again");
    ck_assert_str_eq(acme_nonce_pool_take(np, test_pool), "again");
    acme_nonce_pool_put(np, "x1");
    acme_nonce_pool_clear(np);
    ck_assert_int_eq(acme_nonce_pool_count(np), 0);
}
END_TEST

TCase *test_client_nonce_tcase(void)
{
    TCase *tc = tcase_create("nonce");

    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    tcase_add_test(tc, nonce_validation);
    tcase_add_test(tc, nonce_pool_is_bounded_and_newest_first);
    return tc;
}
