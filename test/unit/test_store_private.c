/* Private items (ACME_STORE_PRIVATE, acme_store_load_private): the private
 * keys of the key custody are read only from files that this process alone
 * can read and replace; anything else is refused, never used. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme_layout.h"
#include "acme_log.h"
#include "acme_store_fs.h"
#include "test_store.h"

#define NOBODY 65534
#define KEY_REL "staging/a.example/privkey.pem"

static int refusals_logged;
static int secret_logged;

static void log_watch(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    (void)baton;
    (void)level;
    (void)rv;
    if (strstr(msg, "ACME0724") && strstr(msg, "privkey.pem")) {
        ++refusals_logged;
    }
    if (strstr(msg, "SECRET-KEY-BYTES")) {
        ++secret_logged;
    }
}

static void private_setup(void)
{
    test_store_setup();
    refusals_logged = secret_logged = 0;
    acme_log_set(log_watch, NULL, ACME_LOG_TRACE);
}

static void private_teardown(void)
{
    acme_log_set(NULL, NULL, ACME_LOG_WARNING);
    test_store_teardown();
}

static apr_status_t load_private(const char **pdata)
{
    apr_size_t len;

    return acme_store_load_private(pdata, &len, test_pool, test_store, ACME_STORE_STAGING,
                                   "a.example", "privkey.pem");
}

static void save_key(void)
{
    test_store_save_str(ACME_STORE_STAGING, "a.example", "privkey.pem", "SECRET-KEY-BYTES",
                        ACME_STORE_PRIVATE);
}

/* The refusal: APR_EACCES, a log line naming the file, not its bytes. */
static void assert_refused(void)
{
    const char *data = NULL;

    ck_assert_int_eq(load_private(&data), APR_EACCES);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(refusals_logged, 1);
    ck_assert_int_eq(secret_logged, 0);
}

START_TEST(private_item_is_0600_and_loads)
{
    const char *data = NULL;

    save_key();
    ck_assert_int_eq(test_store_mode(KEY_REL), 0600);
    ck_assert_int_eq(load_private(&data), APR_SUCCESS);
    ck_assert_str_eq(data, "SECRET-KEY-BYTES");
    ck_assert_int_eq(refusals_logged, 0);
    /* absent: APR_ENOENT, nothing logged */
    ck_assert_int_eq(acme_store_remove(test_store, test_pool, ACME_STORE_STAGING, "a.example",
                                       "privkey.pem"), APR_SUCCESS);
    ck_assert_int_eq(load_private(&data), APR_ENOENT);
    ck_assert_int_eq(refusals_logged, 0);
}
END_TEST

START_TEST(readable_by_others_is_refused)
{
    save_key();
    ck_assert_int_eq(chmod(test_store_path(KEY_REL), 0644), 0);
    assert_refused();
}
END_TEST

START_TEST(hard_link_is_refused)
{
    save_key();
    ck_assert_int_eq(link(test_store_path(KEY_REL), test_store_path("elsewhere.pem")), 0);
    assert_refused();
}
END_TEST

START_TEST(symlink_is_refused)
{
    test_store_put_raw("target.pem", "SECRET-KEY-BYTES");
    ck_assert_int_eq(chmod(test_store_path("target.pem"), 0600), 0);
    save_key();
    ck_assert_int_eq(unlink(test_store_path(KEY_REL)), 0);
    ck_assert_int_eq(symlink(test_store_path("target.pem"), test_store_path(KEY_REL)), 0);
    assert_refused();
}
END_TEST

START_TEST(other_owner_is_refused)
{
    if (geteuid() != 0) {
        return; /* needs root to give a file away */
    }
    save_key();
    ck_assert_int_eq(chown(test_store_path(KEY_REL), NOBODY, NOBODY), 0);
    assert_refused();
}
END_TEST

/* A group given to httpd's User: its secrets are the User's, its private
 * keys stay the writer's (root in the key holder). */
START_TEST(private_item_is_not_given_to_the_group_owner)
{
    const char *data = NULL;
    struct stat st;

    if (geteuid() != 0) {
        return; /* needs root to give files away */
    }
    ck_assert_int_eq(acme_store_fs_set_owner(test_store, test_pool, ACME_STORE_STAGING, NOBODY,
                                             NOBODY), APR_SUCCESS);
    save_key();
    test_store_save_str(ACME_STORE_STAGING, "a.example", "pubcert.pem", "cert",
                        ACME_STORE_SECRET);
    ck_assert_int_eq(stat(test_store_path(KEY_REL), &st), 0);
    ck_assert_int_eq(st.st_uid, 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(stat(test_store_path("staging/a.example/pubcert.pem"), &st), 0);
    ck_assert_int_eq(st.st_uid, NOBODY);
    ck_assert_int_eq(load_private(&data), APR_SUCCESS);
}
END_TEST

/* mod_md keeps encrypted account keys 0644: giving the group to its owner
 * (at start) makes them private, so that the custody takes them. */
START_TEST(group_given_away_makes_mod_md_keys_private)
{
    const char *data = NULL;
    apr_size_t len;

    if (geteuid() != 0) {
        return; /* needs root to give files away */
    }
    test_store_save_str(ACME_STORE_ACCOUNTS, "ACME-x-0001", "account.pem", "k", 0);
    test_store_save_str(ACME_STORE_ACCOUNTS, "ACME-x-0001", "account.json", "{}", 0);
    ck_assert_int_eq(test_store_mode("accounts/ACME-x-0001/account.pem"), 0644);
    ck_assert_int_eq(acme_store_fs_set_owner(test_store, test_pool, ACME_STORE_ACCOUNTS, 0, 0),
                     APR_SUCCESS);
    ck_assert_int_eq(test_store_mode("accounts/ACME-x-0001/account.pem"), 0600);
    ck_assert_int_eq(test_store_mode("accounts/ACME-x-0001/account.json"), 0644);
    ck_assert_int_eq(acme_store_load_private(&data, &len, test_pool, test_store,
                                             ACME_STORE_ACCOUNTS, "ACME-x-0001",
                                             "account.pem"), APR_SUCCESS);
}
END_TEST

START_TEST(private_flag_is_accepted_with_excl)
{
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_ACCOUNTS, "ACME-x-0001",
                                     ACME_ASPECT_ACCOUNT_KEY, "k", 1,
                                     ACME_STORE_PRIVATE | ACME_STORE_EXCL), APR_SUCCESS);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_ACCOUNTS, "ACME-x-0001",
                                     ACME_ASPECT_ACCOUNT_KEY, "k", 1,
                                     ACME_STORE_PRIVATE | ACME_STORE_EXCL), APR_EEXIST);
    ck_assert_int_eq(test_store_mode("accounts/ACME-x-0001/account.pem"), 0600);
}
END_TEST

START_TEST(layout_names_the_private_keys)
{
    ck_assert(acme_layout_is_private_key("account.pem"));
    ck_assert(acme_layout_is_private_key("privkey.pem"));
    ck_assert(acme_layout_is_private_key("privkey.secp256r1.pem"));
    ck_assert(acme_layout_is_private_key(acme_layout_privkey(test_pool, "P-384")));
    ck_assert(!acme_layout_is_private_key("pubcert.pem"));
    ck_assert(!acme_layout_is_private_key("account.json"));
    ck_assert(!acme_layout_is_private_key("fallback-privkey.pem"));
    ck_assert(!acme_layout_is_private_key(ACME_ASPECT_TLSALPN_KEY));
    ck_assert(!acme_layout_is_private_key("privkey..pem"));
    ck_assert(!acme_layout_is_private_key("privkey.a.b.pem"));
    ck_assert(!acme_layout_is_private_key("privkey.pem.bak"));
    ck_assert(!acme_layout_is_private_key(NULL));
}
END_TEST

TCase *test_store_private_tcase(void)
{
    TCase *tc = tcase_create("private");

    tcase_add_checked_fixture(tc, private_setup, private_teardown);
    tcase_add_test(tc, private_item_is_0600_and_loads);
    tcase_add_test(tc, readable_by_others_is_refused);
    tcase_add_test(tc, hard_link_is_refused);
    tcase_add_test(tc, symlink_is_refused);
    tcase_add_test(tc, other_owner_is_refused);
    tcase_add_test(tc, private_item_is_not_given_to_the_group_owner);
    tcase_add_test(tc, group_given_away_makes_mod_md_keys_private);
    tcase_add_test(tc, private_flag_is_accepted_with_excl);
    tcase_add_test(tc, layout_names_the_private_keys);
    return tc;
}
