/* The store interface: items, names, listing, moving, validation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "test_store.h"

START_TEST(save_load_round_trip_binary)
{
    static const char value[] = "bin\0ary\n\xff";
    const char *data;
    apr_size_t len;

    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                     "pubcert.pem", value, sizeof(value), 0), APR_SUCCESS);
    ck_assert_int_eq(acme_store_load(&data, &len, test_pool, test_store, ACME_STORE_LIVE,
                                     "a.example", "pubcert.pem"), APR_SUCCESS);
    ck_assert_uint_eq(len, sizeof(value));
    ck_assert_mem_eq(data, value, sizeof(value));
    ck_assert_int_eq(data[len], '\0');
    /* Replacing gives the new value; an empty value is a value. */
    test_store_save_str(ACME_STORE_LIVE, "a.example", "pubcert.pem", "v2", 0);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_LIVE, "a.example", "pubcert.pem"), "v2");
    test_store_save_str(ACME_STORE_LIVE, "a.example", "pubcert.pem", "", 0);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_LIVE, "a.example", "pubcert.pem"), "");
}
END_TEST

START_TEST(missing_items_are_enoent)
{
    const char *data;
    apr_size_t len;

    ck_assert_int_eq(acme_store_load(&data, &len, test_pool, test_store, ACME_STORE_LIVE,
                                     "a.example", "pubcert.pem"), APR_ENOENT);
    test_store_save_str(ACME_STORE_LIVE, "a.example", "privkey.pem", "k", ACME_STORE_SECRET);
    ck_assert_int_eq(acme_store_load(&data, &len, test_pool, test_store, ACME_STORE_LIVE,
                                     "a.example", "pubcert.pem"), APR_ENOENT);
    ck_assert_int_eq(acme_store_exists(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                       "pubcert.pem"), APR_ENOENT);
    ck_assert_int_eq(acme_store_exists(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                       "privkey.pem"), APR_SUCCESS);
    ck_assert_int_eq(acme_store_exists(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                       NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_store_exists(test_store, test_pool, ACME_STORE_STAGING, "a.example",
                                       NULL), APR_ENOENT);
    ck_assert_int_eq(acme_store_remove(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                       "pubcert.pem"), APR_ENOENT);
    ck_assert_int_eq(acme_store_purge(test_store, test_pool, ACME_STORE_JOBS, "a.example"),
                     APR_ENOENT);
}
END_TEST

START_TEST(excl_creates_only_once)
{
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_ACCOUNTS, "ACME-x-1",
                                     "account.json", "first", 5, ACME_STORE_EXCL), APR_SUCCESS);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_ACCOUNTS, "ACME-x-1",
                                     "account.json", "second", 6, ACME_STORE_EXCL),
                     APR_EEXIST);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_ACCOUNTS, "ACME-x-1", "account.json"),
                     "first");
    ck_assert_int_eq(test_store_count_tmp("accounts/ACME-x-1"), 0);
}
END_TEST

START_TEST(remove_and_purge)
{
    test_store_save_str(ACME_STORE_CHALLENGES, "a.example", "http-01.tok1", "ka1", 0);
    test_store_save_str(ACME_STORE_CHALLENGES, "a.example", "http-01.tok2", "ka2", 0);
    ck_assert_int_eq(acme_store_remove(test_store, test_pool, ACME_STORE_CHALLENGES,
                                       "a.example", "http-01.tok1"), APR_SUCCESS);
    ck_assert_ptr_null(test_store_load_str(ACME_STORE_CHALLENGES, "a.example",
                                           "http-01.tok1"));
    ck_assert_str_eq(test_store_load_str(ACME_STORE_CHALLENGES, "a.example", "http-01.tok2"),
                     "ka2");
    ck_assert_int_eq(acme_store_purge(test_store, test_pool, ACME_STORE_CHALLENGES,
                                      "a.example"), APR_SUCCESS);
    ck_assert_int_eq(acme_store_exists(test_store, test_pool, ACME_STORE_CHALLENGES,
                                       "a.example", NULL), APR_ENOENT);
    ck_assert_int_eq(test_store_count_tmp("challenges"), 0);
}
END_TEST

START_TEST(list_names_sorted_and_filtered)
{
    apr_array_header_t *names;

    ck_assert_int_eq(acme_store_list(&names, test_pool, test_store, ACME_STORE_LIVE, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 0);
    test_store_save_str(ACME_STORE_LIVE, "b.example", "x", "1", 0);
    test_store_save_str(ACME_STORE_LIVE, "a.example", "x", "1", 0);
    test_store_save_str(ACME_STORE_LIVE, "*.example.org", "x", "1", 0);
    test_store_save_str(ACME_STORE_STAGING, "c.example", "x", "1", 0);
    /* Foreign entries on disk are not names. */
    ck_assert_int_eq(mkdir(test_store_path("domains/Upper.Example"), 0755), 0);
    ck_assert_int_eq(mkdir(test_store_path("domains/.tmp.1.2"), 0755), 0);
    test_store_put_raw("domains/plainfile", "x");
    ck_assert_int_eq(acme_store_list(&names, test_pool, test_store, ACME_STORE_LIVE, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(names, 0, const char *), "*.example.org");
    ck_assert_str_eq(APR_ARRAY_IDX(names, 1, const char *), "a.example");
    ck_assert_str_eq(APR_ARRAY_IDX(names, 2, const char *), "b.example");
    ck_assert_int_eq(acme_store_list(&names, test_pool, test_store, ACME_STORE_LIVE,
                                     "*.example"), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(names, 0, const char *), "a.example");
}
END_TEST

START_TEST(mtime_reports_modification)
{
    apr_time_t t1 = 0, t2 = 0;
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};

    test_store_save_str(ACME_STORE_JOBS, "a.example", "job.json", "{}", 0);
    ck_assert_int_eq(utimensat(AT_FDCWD, test_store_path("jobs/a.example/job.json"), ts, 0),
                     0);
    ck_assert_int_eq(acme_store_mtime(&t1, test_pool, test_store, ACME_STORE_JOBS,
                                      "a.example", "job.json"), APR_SUCCESS);
    ck_assert(t1 == apr_time_from_sec(1000000000));
    test_store_save_str(ACME_STORE_JOBS, "a.example", "job.json", "{\"step\": 2}", 0);
    ck_assert_int_eq(acme_store_mtime(&t2, test_pool, test_store, ACME_STORE_JOBS,
                                      "a.example", "job.json"), APR_SUCCESS);
    ck_assert(t2 > t1);
    ck_assert_int_eq(acme_store_mtime(&t2, test_pool, test_store, ACME_STORE_JOBS,
                                      "b.example", NULL), APR_ENOENT);
}
END_TEST

START_TEST(move_whole_name_between_groups)
{
    test_store_save_str(ACME_STORE_TMP, "a.example", "k", "key", ACME_STORE_SECRET);
    test_store_save_str(ACME_STORE_TMP, "a.example", "c", "cert", 0);
    ck_assert_int_eq(test_store_mode("tmp/a.example"), 0700);
    ck_assert_int_eq(acme_store_move(test_store, test_pool, ACME_STORE_TMP, ACME_STORE_STAGING,
                                     "a.example"), APR_SUCCESS);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_STAGING, "a.example", "k"), "key");
    ck_assert_str_eq(test_store_load_str(ACME_STORE_STAGING, "a.example", "c"), "cert");
    ck_assert_int_eq(acme_store_exists(test_store, test_pool, ACME_STORE_TMP, "a.example",
                                       NULL), APR_ENOENT);
    /* The directory takes the mode of its new group; secrets stay 0600. */
    ck_assert_int_eq(test_store_mode("staging/a.example"), 0755);
    ck_assert_int_eq(test_store_mode("staging/a.example/k"), 0600);
    /* An existing target is never replaced; a missing source is ENOENT. */
    test_store_save_str(ACME_STORE_TMP, "a.example", "c", "other", 0);
    ck_assert_int_eq(acme_store_move(test_store, test_pool, ACME_STORE_TMP, ACME_STORE_STAGING,
                                     "a.example"), APR_EEXIST);
    ck_assert_str_eq(test_store_load_str(ACME_STORE_STAGING, "a.example", "c"), "cert");
    ck_assert_str_eq(test_store_load_str(ACME_STORE_TMP, "a.example", "c"), "other");
    ck_assert_int_eq(acme_store_move(test_store, test_pool, ACME_STORE_JOBS, ACME_STORE_LIVE,
                                     "b.example"), APR_ENOENT);
    ck_assert_int_eq(acme_store_move(test_store, test_pool, ACME_STORE_STAGING,
                                     ACME_STORE_ARCHIVE, "a.example"), APR_EINVAL);
    ck_assert_int_eq(acme_store_move(test_store, test_pool, ACME_STORE_LIVE, ACME_STORE_LIVE,
                                     "a.example"), APR_EINVAL);
}
END_TEST

START_TEST(invalid_names_rejected_before_any_path)
{
    static const char *const bad_names[] = {
        "../x", "a/b", "", "A.example", ".x", "..", "a\nb", "/etc", "a.example/../../x",
    };
    const char *data;
    apr_size_t len;
    size_t i;
    char longname[ACME_STORE_NAME_MAX + 8];

    for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); ++i) {
        ck_assert_msg(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, bad_names[i],
                                      "x", "v", 1, 0) == APR_EINVAL, "'%s'", bad_names[i]);
        ck_assert_int_eq(acme_store_load(&data, &len, test_pool, test_store, ACME_STORE_LIVE,
                                         bad_names[i], "x"), APR_EINVAL);
    }
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, NULL, "x", "v", 1,
                                     0), APR_EINVAL);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                     "../../escape", "v", 1, 0), APR_EINVAL);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                     ".hidden", "v", 1, 0), APR_EINVAL);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, "a.example",
                                     NULL, "v", 1, 0), APR_EINVAL);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, (acme_store_group_e)99,
                                     "a.example", "x", "v", 1, 0), APR_EINVAL);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, "a.example", "x",
                                     "v", 1, 0x80), APR_EINVAL);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, "a.example", "x",
                                     NULL, 1, 0), APR_EINVAL);
    /* Overlong: valid DNS name, but longer than ACME_STORE_NAME_MAX. */
    memset(longname, 'a', sizeof(longname) - 1);
    for (i = 50; i < sizeof(longname) - 1; i += 50) {
        longname[i] = '.';
    }
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_LIVE, longname, "x",
                                     "v", 1, 0), APR_EINVAL);
    /* Per-group rules: accounts take mixed-case ids, but no domain rules. */
    test_store_save_str(ACME_STORE_ACCOUNTS, "ACME-pebble-0001", "account.json", "{}", 0);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_ACCOUNTS, "*.x", "a",
                                     "v", 1, 0), APR_EINVAL);
    /* Nothing was created for any of the rejected calls. */
    ck_assert(!test_store_raw_exists("domains"));
    ck_assert(!test_store_raw_exists("x"));
    ck_assert(!test_store_raw_exists("../x"));
}
END_TEST

START_TEST(oversize_items_rejected)
{
    apr_size_t max = ACME_STORE_ITEM_MAX;
    char *big = apr_pcalloc(test_pool, max + 1);
    const char *data;
    apr_size_t len;
    FILE *f;

    memset(big, 'x', max + 1);
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_OCSP, "a.example",
                                     "resp.der", big, max + 1, 0), APR_FROM_OS_ERROR(EFBIG));
    ck_assert_int_eq(acme_store_save(test_store, test_pool, ACME_STORE_OCSP, "a.example",
                                     "resp.der", big, max, 0), APR_SUCCESS);
    ck_assert_int_eq(acme_store_load(&data, &len, test_pool, test_store, ACME_STORE_OCSP,
                                     "a.example", "resp.der"), APR_SUCCESS);
    ck_assert_uint_eq(len, max);
    /* A file grown beyond the limit by someone else is refused on load. */
    f = fopen(test_store_path("ocsp/a.example/resp.der"), "a");
    ck_assert_ptr_nonnull(f);
    fputc('y', f);
    fclose(f);
    ck_assert_int_eq(acme_store_load(&data, &len, test_pool, test_store, ACME_STORE_OCSP,
                                     "a.example", "resp.der"), APR_FROM_OS_ERROR(EFBIG));
}
END_TEST

TCase *test_store_items_tcase(void)
{
    TCase *tc = tcase_create("items");

    tcase_add_checked_fixture(tc, test_store_setup, test_store_teardown);
    tcase_add_test(tc, save_load_round_trip_binary);
    tcase_add_test(tc, missing_items_are_enoent);
    tcase_add_test(tc, excl_creates_only_once);
    tcase_add_test(tc, remove_and_purge);
    tcase_add_test(tc, list_names_sorted_and_filtered);
    tcase_add_test(tc, mtime_reports_modification);
    tcase_add_test(tc, move_whole_name_between_groups);
    tcase_add_test(tc, invalid_names_rejected_before_any_path);
    tcase_add_test(tc, oversize_items_rejected);
    return tc;
}
