/* The filesystem backend: modes, atomic writes, leftovers, format version,
 * symlinks. These tests look at the files, which only this backend may. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_store_fs.h"
#include "test_store.h"

START_TEST(modes_are_exact_whatever_the_umask)
{
    static const mode_t masks[] = {0, 022, 077};
    size_t i;

    for (i = 0; i < sizeof(masks) / sizeof(masks[0]); ++i) {
        const char *acct = apr_psprintf(test_pool, "ACME-u-%d", (int)i);
        const char *md = apr_psprintf(test_pool, "m%d.example", (int)i);
        mode_t old = umask(masks[i]);
        test_store_save_str(ACME_STORE_ACCOUNTS, acct, "account.pem", "key", ACME_STORE_SECRET);
        test_store_save_str(ACME_STORE_LIVE, md, "privkey.pem", "key", ACME_STORE_SECRET);
        test_store_save_str(ACME_STORE_LIVE, md, "pubcert.pem", "cert", 0);
        umask(old);
        ck_assert_int_eq(test_store_mode(apr_pstrcat(test_pool, "accounts/", acct,
                                                     "/account.pem", NULL)), 0600);
        ck_assert_int_eq(test_store_mode(apr_pstrcat(test_pool, "accounts/", acct, NULL)),
                         0700);
        ck_assert_int_eq(test_store_mode(apr_pstrcat(test_pool, "domains/", md, "/privkey.pem",
                                                     NULL)), 0600);
        ck_assert_int_eq(test_store_mode(apr_pstrcat(test_pool, "domains/", md, "/pubcert.pem",
                                                     NULL)), 0644);
        ck_assert_int_eq(test_store_mode(apr_pstrcat(test_pool, "domains/", md, NULL)), 0755);
    }
    ck_assert_int_eq(test_store_mode("accounts"), 0700);
    ck_assert_int_eq(test_store_mode("domains"), 0755);
    ck_assert_int_eq(test_store_mode("md_store.json"), 0600);
}
END_TEST

START_TEST(secret_never_exists_with_a_wider_mode)
{
    /* Replacing a public item by a secret one: the new file is created
     * 0600 with O_EXCL and never widened on its way. */
    test_store_save_str(ACME_STORE_STAGING, "a.example", "privkey.pem", "public", 0);
    ck_assert_int_eq(test_store_mode("staging/a.example/privkey.pem"), 0644);
    test_store_tmp_creates = test_store_tmp_bad_creates = 0;
    test_store_widest_fchmod = 0;
    test_store_record = 1;
    test_store_save_str(ACME_STORE_STAGING, "a.example", "privkey.pem", "secret",
                        ACME_STORE_SECRET);
    test_store_record = 0;
    ck_assert_int_eq(test_store_tmp_creates, 1);
    ck_assert_int_eq(test_store_tmp_bad_creates, 0);
    ck_assert_int_eq(test_store_widest_fchmod, 0600);
    ck_assert_int_eq(test_store_mode("staging/a.example/privkey.pem"), 0600);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_STAGING, "a.example", "privkey.pem"),
                     "secret");
    /* And non-secret items are created the same way, widened only after. */
    test_store_tmp_creates = test_store_tmp_bad_creates = 0;
    test_store_record = 1;
    test_store_save_str(ACME_STORE_STAGING, "a.example", "pubcert.pem", "c", 0);
    test_store_record = 0;
    ck_assert_int_eq(test_store_tmp_creates, 1);
    ck_assert_int_eq(test_store_tmp_bad_creates, 0);
}
END_TEST

/* ACME_STORE_NOSYNC: the same atomic replace, nothing flushed; unknown
 * flags are still refused. */
START_TEST(nosync_save_flushes_nothing)
{
    test_store_save_str(ACME_STORE_LIVE, "a.example", "fallback-pubcert.pem", "old", 0);
    test_store_fsyncs = 0;
    test_store_save_str(ACME_STORE_LIVE, "a.example", "fallback-pubcert.pem", "new", 0);
    ck_assert_int_eq(test_store_fsyncs, 2);     /* the file, then its directory */
    test_store_fsyncs = 0;
    test_store_save_str(ACME_STORE_LIVE, "a.example", "fallback-privkey.pem", "key",
                        ACME_STORE_SECRET | ACME_STORE_NOSYNC);
    test_store_save_str(ACME_STORE_LIVE, "a.example", "fallback-pubcert.pem", "newer",
                        ACME_STORE_NOSYNC);
    ck_assert_int_eq(test_store_fsyncs, 0);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_LIVE, "a.example", "fallback-pubcert.pem"),
                     "newer");
    ck_assert_int_eq(test_store_mode("domains/a.example/fallback-privkey.pem"), 0600);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                     "x.pem", "x", 1, 0x10), APR_EINVAL);
}
END_TEST

START_TEST(crash_during_save_keeps_old_value)
{
    test_store_save_str(ACME_STORE_JOBS, "a.example", "job.json", "old", 0);
    /* The rename over the item fails, as if the process died before it. */
    test_store_fail_renameat_at = 1;
    ck_assert_int_ne(acme_store_save(test_store, test_pool, ACME_STORE_JOBS, "a.example",
                                     "job.json", "new", 3, 0), APR_SUCCESS);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_JOBS, "a.example", "job.json"), "old");
    /* A process killed at that point leaves its temp file behind. */
    test_store_put_raw("jobs/a.example/.tmp.99999.1", "ne");
    test_store_put_raw("jobs/.tmp.99999.2", "x");
    test_store_put_raw(".tmp.99999.3", "x");
    ck_assert_str_eq(test_store_load_str(ACME_STORE_JOBS, "a.example", "job.json"), "old");
    /* Recovery leaves young leftovers alone (a write may be in progress)... */
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, apr_time_from_sec(3600)),
                     APR_SUCCESS);
    ck_assert_int_eq(test_store_count_tmp("jobs/a.example"), 1);
    /* ...and removes stale ones, everywhere, without touching items. */
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, 0), APR_SUCCESS);
    ck_assert_int_eq(test_store_count_tmp("jobs/a.example"), 0);
    ck_assert_int_eq(test_store_count_tmp("jobs"), 0);
    ck_assert_int_eq(test_store_count_tmp("."), 0);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_JOBS, "a.example", "job.json"), "old");
}
END_TEST

START_TEST(crash_during_purge_is_swept)
{
    test_store_save_str(ACME_STORE_STAGING, "a.example", "k", "v", 0);
    /* A purge renamed the name away and died while deleting it. */
    ck_assert_int_eq(rename(test_store_path("staging/a.example"),
                            test_store_path("staging/.tmp.99999.7")), 0);
    ck_assert_int_eq(acme_store_exists(test_store, test_pool, ACME_STORE_STAGING, "a.example",
                                       NULL), APR_ENOENT);
    ck_assert_int_eq(acme_store_recover(test_store, test_pool, 0), APR_SUCCESS);
    ck_assert(!test_store_raw_exists("staging/.tmp.99999.7"));
}
END_TEST

static apr_status_t open_with(const char *store_json, const char *md_store_json)
{
    acme_store_t *store;

    ck_assert_int_eq(mkdir(test_store_path("../other"), 0755), 0);
    if (store_json) {
        test_store_put_raw("../other/store.json", store_json);
    }
    if (md_store_json) {
        test_store_put_raw("../other/md_store.json", md_store_json);
    }
    return acme_store_fs_open(&store, test_pool, test_store_path("../other"));
}

/* The store key as md_store.json says it, base64url. */
static const char *key_of_file(const char *rel)
{
    const char *text = test_store_get_raw(rel);
    const char *k = text ? strstr(text, "\"key\": \"") : NULL;

    ck_assert_msg(k != NULL, "%s has no key", rel);
    k += strlen("\"key\": \"");
    return apr_pstrndup(test_pool, k, strcspn(k, "\""));
}

static const char *key_of_store(acme_store_t *store)
{
    const unsigned char *key;
    apr_size_t len;

    ck_assert_int_eq(acme_store_secret_key(&key, &len, store), APR_SUCCESS);
    ck_assert_uint_eq(len, 48);
    return acme_b64url_encode(test_pool, key, len);
}

START_TEST(new_store_is_a_mod_md_store_and_reopens)
{
    acme_store_t *again;
    const char *text = test_store_get_raw("md_store.json");

    ck_assert_ptr_nonnull(strstr(text, "\"version\": 3.0"));
    ck_assert_ptr_nonnull(strstr(text, "\"format\": 2"));
    ck_assert_int_eq(test_store_mode("md_store.json"), 0600);
    ck_assert_str_eq(key_of_store(test_store), key_of_file("md_store.json"));
    test_store_save_str(ACME_STORE_LIVE, "a.example", "x", "1", 0);
    ck_assert(test_store_raw_exists("domains/a.example/x"));
    ck_assert_int_eq(acme_store_fs_open(&again, test_pool, test_store_dir), APR_SUCCESS);
    ck_assert_str_eq(test_store_get_raw("md_store.json"), text);
    ck_assert_str_eq(key_of_store(again), key_of_file("md_store.json"));
    ck_assert_int_eq(acme_store_exists(again, test_pool, ACME_STORE_LIVE, "a.example", "x"),
                     APR_SUCCESS);
}
END_TEST

START_TEST(newer_store_formats_refused)
{
    ck_assert_int_eq(open_with(NULL, test_store_fixture("newer/md_store.json")), APR_ENOTIMPL);
    /* Refusing changes nothing on disk. */
    ck_assert_str_eq(test_store_get_raw("../other/md_store.json"),
                     test_store_fixture("newer/md_store.json"));
}
END_TEST

START_TEST(newer_mod_acme_format_refused)
{
    ck_assert_int_eq(open_with(NULL, test_store_fixture("newer_mod_acme/md_store.json")),
                     APR_ENOTIMPL);
}
END_TEST

START_TEST(corrupt_md_store_json_refused)
{
    ck_assert_int_eq(open_with(NULL, test_store_fixture("corrupt/md_store.json")), APR_EINVAL);
    /* not JSON */
    ck_assert_int_eq(system(apr_pstrcat(test_pool, "rm -rf ", test_store_path("../other"),
                                        NULL)), 0);
    ck_assert_int_eq(open_with(NULL, "{\"store\": {\"version\": 3.0}"), APR_EINVAL);
}
END_TEST

START_TEST(mod_md_store_used_as_it_is)
{
    acme_store_t *store;
    const char *text = test_store_fixture("mod_md/md_store.json");

    ck_assert_int_eq(mkdir(test_store_path("../md"), 0755), 0);
    test_store_put_raw("../md/md_store.json", text);
    ck_assert_int_eq(mkdir(test_store_path("../md/domains"), 0700), 0);
    ck_assert_int_eq(mkdir(test_store_path("../md/domains/a.example"), 0700), 0);
    test_store_put_raw("../md/domains/a.example/pubcert.pem", "chain");
    test_store_put_raw("../md/domains/a.example/privkey.pem", "key");
    ck_assert_int_eq(chmod(test_store_path("../md/domains/a.example"), 0700), 0);
    ck_assert_int_eq(chmod(test_store_path("../md/domains/a.example/pubcert.pem"), 0600), 0);
    ck_assert_int_eq(chmod(test_store_path("../md/domains/a.example/privkey.pem"), 0600), 0);
    ck_assert_int_eq(acme_store_fs_open(&store, test_pool, test_store_path("../md")),
                     APR_SUCCESS);
    /* mod_md keeps domains/ root-only; the worker reads the certificates */
    ck_assert_int_eq(test_store_mode("../md/domains"), 0755);
    ck_assert_int_eq(test_store_mode("../md/domains/a.example"), 0755);
    ck_assert_int_eq(test_store_mode("../md/domains/a.example/pubcert.pem"), 0644);
    ck_assert_int_eq(test_store_mode("../md/domains/a.example/privkey.pem"), 0600);
    ck_assert_str_eq(key_of_store(store), key_of_file("../md/md_store.json"));
    ck_assert_int_eq(acme_store_exists(store, test_pool, ACME_STORE_LIVE, "a.example",
                                       "pubcert.pem"), APR_SUCCESS);
    /* mod_md's file is not rewritten, and no file of the old layout appears */
    ck_assert_str_eq(test_store_get_raw("../md/md_store.json"), text);
    ck_assert(!test_store_raw_exists("../md/store.json"));
}
END_TEST

START_TEST(first_layout_is_converted_once)
{
    static const char *const dirs[] = {
        "../old", "../old/live", "../old/live/a.example", "../old/staging",
        "../old/staging/a.example", "../old/archive", "../old/archive/a.example.1",
        "../old/live/_wildcard_.w.example", "../old/jobs", "../old/jobs/_wildcard_.w.example",
        NULL,
    };
    acme_store_t *store, *again;
    int i;

    for (i = 0; dirs[i]; ++i) {
        ck_assert_int_eq(mkdir(test_store_path(dirs[i]), 0755), 0);
    }
    test_store_put_raw("../old/store.json", test_store_fixture("old/store.json"));
    test_store_put_raw("../old/live/a.example/privkey.P-256.pem", "ec key");
    test_store_put_raw("../old/live/a.example/pubcert.P-256.pem", "ec chain");
    test_store_put_raw("../old/live/a.example/privkey.rsa3072.pem", "rsa key");
    test_store_put_raw("../old/live/a.example/pubcert.rsa3072.pem", "rsa chain");
    test_store_put_raw("../old/live/a.example/md.json", "{}");
    test_store_put_raw("../old/staging/a.example/privkey.P-384.pem", "staged key");
    test_store_put_raw("../old/archive/a.example.1/pubcert.rsa2048.pem", "old chain");
    test_store_put_raw("../old/live/_wildcard_.w.example/pubcert.P-384.pem", "w chain");
    test_store_put_raw("../old/jobs/_wildcard_.w.example/job.json", "{}");
    ck_assert_int_eq(acme_store_fs_open(&store, test_pool, test_store_path("../old")),
                     APR_SUCCESS);
    ck_assert(!test_store_raw_exists("../old/store.json"));
    ck_assert(!test_store_raw_exists("../old/live"));
    ck_assert_str_eq(test_store_get_raw("../old/domains/a.example/privkey.secp256r1.pem"),
                     "ec key");
    ck_assert_str_eq(test_store_get_raw("../old/domains/a.example/pubcert.secp256r1.pem"),
                     "ec chain");
    ck_assert_str_eq(test_store_get_raw("../old/domains/a.example/privkey.pem"), "rsa key");
    ck_assert_str_eq(test_store_get_raw("../old/domains/a.example/pubcert.pem"), "rsa chain");
    ck_assert_str_eq(test_store_get_raw("../old/domains/a.example/md.json"), "{}");
    ck_assert_str_eq(test_store_get_raw("../old/staging/a.example/privkey.secp384r1.pem"),
                     "staged key");
    ck_assert_str_eq(test_store_get_raw("../old/archive/a.example.1/pubcert.pem"),
                     "old chain");
    /* mod_md's name for a wildcard domain's directory */
    ck_assert_str_eq(test_store_get_raw("../old/domains/*.w.example/pubcert.secp384r1.pem"),
                     "w chain");
    ck_assert_str_eq(test_store_get_raw("../old/jobs/*.w.example/job.json"), "{}");
    ck_assert_int_eq(test_store_mode("../old/md_store.json"), 0600);
    ck_assert_str_eq(key_of_store(store), key_of_file("../old/md_store.json"));
    /* the next start finds a converted store */
    ck_assert_int_eq(acme_store_fs_open(&again, test_pool, test_store_path("../old")),
                     APR_SUCCESS);
    ck_assert_str_eq(key_of_store(again), key_of_store(store));
}
END_TEST

START_TEST(first_layout_conversion_interrupted_is_finished)
{
    acme_store_t *store;

    /* a crash after live/ was renamed and one file got its new name */
    ck_assert_int_eq(mkdir(test_store_path("../old"), 0755), 0);
    ck_assert_int_eq(mkdir(test_store_path("../old/domains"), 0755), 0);
    ck_assert_int_eq(mkdir(test_store_path("../old/domains/a.example"), 0755), 0);
    test_store_put_raw("../old/store.json", test_store_fixture("old/store.json"));
    test_store_put_raw("../old/domains/a.example/privkey.secp256r1.pem", "ec key");
    test_store_put_raw("../old/domains/a.example/pubcert.P-256.pem", "ec chain");
    ck_assert_int_eq(acme_store_fs_open(&store, test_pool, test_store_path("../old")),
                     APR_SUCCESS);
    ck_assert_str_eq(test_store_get_raw("../old/domains/a.example/pubcert.secp256r1.pem"),
                     "ec chain");
    ck_assert(test_store_raw_exists("../old/md_store.json"));
    ck_assert(!test_store_raw_exists("../old/store.json"));
}
END_TEST

START_TEST(first_layout_with_both_live_dirs_refused)
{
    static const char *const dirs[] = { "../old", "../old/live", "../old/domains", NULL };
    acme_store_t *store;
    int i;

    for (i = 0; dirs[i]; ++i) {
        ck_assert_int_eq(mkdir(test_store_path(dirs[i]), 0755), 0);
    }
    test_store_put_raw("../old/store.json", test_store_fixture("old/store.json"));
    ck_assert_int_eq(acme_store_fs_open(&store, test_pool, test_store_path("../old")),
                     APR_EEXIST);
    ck_assert(test_store_raw_exists("../old/store.json"));
    ck_assert(!test_store_raw_exists("../old/md_store.json"));
}
END_TEST

START_TEST(symlinks_are_not_followed)
{
    const char *data;
    apr_size_t len;

    ck_assert_int_eq(mkdir(test_store_path("../outside"), 0755), 0);
    test_store_put_raw("../outside/secret", "outside");
    test_store_save_str(ACME_STORE_LIVE, "b.example", "x", "1", 0);
    /* A name that is a symlink (planted by a compromised worker, say). */
    ck_assert_int_eq(symlink(test_store_path("../outside"), test_store_path("domains/a.example")),
                     0);
    ck_assert_int_eq(acme_store_load(&data, &len, test_pool, test_store, ACME_STORE_LIVE,
                                     "a.example", "secret"), APR_EINVAL);
    ck_assert_int_ne(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                     "planted", "x", 1, 0), APR_SUCCESS);
    ck_assert(!test_store_raw_exists("../outside/planted"));
    /* An aspect that is a symlink. */
    ck_assert_int_eq(symlink(test_store_path("../outside/secret"),
                             test_store_path("domains/b.example/cert.pem")), 0);
    ck_assert_int_eq(acme_store_load(&data, &len, test_pool, test_store, ACME_STORE_LIVE,
                                     "b.example", "cert.pem"), APR_EINVAL);
    /* Purging the name removes the link, not what it points to. */
    ck_assert_int_eq(acme_store_purge(test_store, test_pool, ACME_STORE_LIVE, "b.example"),
                     APR_SUCCESS);
    ck_assert_str_eq(test_store_get_raw("../outside/secret"), "outside");
}
END_TEST

START_TEST(backend_baton_is_typed)
{
    ck_assert_ptr_nonnull(acme_store_baton(test_store, "fs"));
    ck_assert_ptr_null(acme_store_baton(test_store, "redis"));
    ck_assert_str_eq(acme_store_group_name(ACME_STORE_CHALLENGES), "challenges");
    ck_assert_ptr_null(acme_store_group_name(ACME_STORE_GROUP_COUNT));
}
END_TEST

TCase *test_store_fs_tcase(void)
{
    TCase *tc = tcase_create("fs");

    tcase_add_checked_fixture(tc, test_store_setup, test_store_teardown);
    tcase_add_test(tc, modes_are_exact_whatever_the_umask);
    tcase_add_test(tc, secret_never_exists_with_a_wider_mode);
    tcase_add_test(tc, nosync_save_flushes_nothing);
    tcase_add_test(tc, crash_during_save_keeps_old_value);
    tcase_add_test(tc, crash_during_purge_is_swept);
    tcase_add_test(tc, new_store_is_a_mod_md_store_and_reopens);
    tcase_add_test(tc, newer_store_formats_refused);
    tcase_add_test(tc, newer_mod_acme_format_refused);
    tcase_add_test(tc, corrupt_md_store_json_refused);
    tcase_add_test(tc, mod_md_store_used_as_it_is);
    tcase_add_test(tc, first_layout_is_converted_once);
    tcase_add_test(tc, first_layout_conversion_interrupted_is_finished);
    tcase_add_test(tc, first_layout_with_both_live_dirs_refused);
    tcase_add_test(tc, symlinks_are_not_followed);
    tcase_add_test(tc, backend_baton_is_typed);
    return tc;
}
