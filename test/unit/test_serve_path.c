/* acme_store_fs_live_path: the only path the fs store hands out, for
 * mod_ssl, restricted to existing regular files in LIVE. */
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_store_fs.h"
#include "test_serve.h"

static void live_put(const char *name, const char *aspect)
{
    ck_assert_int_eq(acme_store_save(serve_store, test_pool, ACME_STORE_LIVE, name, aspect,
                                     "x", 1, 0), APR_SUCCESS);
}

START_TEST(path_of_live_aspect)
{
    const char *path = NULL;

    live_put("a.example", "pubcert.P-256.pem");
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "a.example",
                                             "pubcert.P-256.pem"), APR_SUCCESS);
    ck_assert_str_eq(path, apr_pstrcat(test_pool, serve_store_dir,
                                       "/domains/a.example/pubcert.P-256.pem", NULL));
    ck_assert_int_eq(access(path, R_OK), 0);
}
END_TEST

START_TEST(path_of_wildcard_is_mod_mds_name)
{
    const char *path = NULL;

    live_put("*.a.example", "pubcert.P-256.pem");
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "*.a.example",
                                             "pubcert.P-256.pem"), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(path, "/domains/*.a.example/pubcert.P-256.pem"));
    ck_assert_int_eq(access(path, R_OK), 0);
}
END_TEST

START_TEST(path_absent)
{
    const char *path = "untouched";

    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "a.example",
                                             "pubcert.P-256.pem"), APR_ENOENT);
    live_put("a.example", "other.pem");
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "a.example",
                                             "pubcert.P-256.pem"), APR_ENOENT);
    ck_assert_str_eq(path, "untouched");
}
END_TEST

START_TEST(path_refuses_symlinks)
{
    const char *path = NULL;
    const char *link = apr_pstrcat(test_pool, serve_store_dir, "/domains/a.example/evil.pem",
                                   NULL);

    live_put("a.example", "pubcert.P-256.pem");
    ck_assert_int_eq(symlink("/etc/passwd", link), 0);
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "a.example",
                                             "evil.pem"), APR_ENOENT);
}
END_TEST

START_TEST(path_validates_input)
{
    const char *path = NULL;
    char long_name[ACME_STORE_NAME_MAX + 8];
    static const acme_store_ops_t other = { "other", NULL, NULL, NULL, NULL, NULL, NULL,
                                            NULL, NULL, NULL, NULL, NULL };
    acme_store_t *not_fs;

    live_put("a.example", "pubcert.P-256.pem");
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "../a.example",
                                             "pubcert.P-256.pem"), APR_EINVAL);
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "A.example",
                                             "pubcert.P-256.pem"), APR_EINVAL);
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "a.example",
                                             "../../store.json"), APR_EINVAL);
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, "a.example",
                                             ".tmp.x"), APR_EINVAL);
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    for (size_t i = 60; i < sizeof(long_name) - 1; i += 60) {
        long_name[i] = '.';
    }
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, serve_store, long_name,
                                             "pubcert.P-256.pem"), APR_EINVAL);
    ck_assert_int_eq(acme_store_create(&not_fs, test_pool, &other, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_store_fs_live_path(&path, test_pool, not_fs, "a.example",
                                             "pubcert.P-256.pem"), APR_EINVAL);
    ck_assert_ptr_null(path);
}
END_TEST

TCase *test_serve_path_tcase(void)
{
    TCase *tc = tcase_create("live_path");

    tcase_add_checked_fixture(tc, serve_setup, serve_teardown);
    tcase_add_test(tc, path_of_live_aspect);
    tcase_add_test(tc, path_of_wildcard_is_mod_mds_name);
    tcase_add_test(tc, path_absent);
    tcase_add_test(tc, path_refuses_symlinks);
    tcase_add_test(tc, path_validates_input);
    return tc;
}
