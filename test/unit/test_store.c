/* check_store: fixture, helpers and the suite of the store tests. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_store_fs.h"
#include "test_store.h"

const char *test_store_dir;
acme_store_t *test_store;
static char tmp_root[64];

void test_store_setup(void)
{
    test_pool_setup();
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/acme-store-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
    /* Traversable, as a ServerRoot is: tests drop privileges in children. */
    ck_assert_int_eq(chmod(tmp_root, 0755), 0);
    test_store_dir = apr_pstrcat(test_pool, tmp_root, "/store", NULL);
    ck_assert_int_eq(acme_store_fs_open(&test_store, test_pool, test_store_dir), APR_SUCCESS);
    test_store_fail_renameat_at = 0;
    test_store_record = 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_store_teardown(void)
{
    test_store_fail_renameat_at = 0;
    test_pool_teardown(); /* closes the store's handles first */
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_store_path(const char *rel)
{
    return apr_pstrcat(test_pool, test_store_dir, "/", rel, NULL);
}

void test_store_put_raw(const char *rel, const char *content)
{
    FILE *f = fopen(test_store_path(rel), "w");

    ck_assert_msg(f != NULL, "cannot create %s: %s", rel, strerror(errno));
    fputs(content, f);
    ck_assert_int_eq(fclose(f), 0);
}

const char *test_store_get_raw(const char *rel)
{
    char buf[4096];
    size_t n;
    FILE *f = fopen(test_store_path(rel), "r");

    if (f == NULL) {
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return apr_pstrdup(test_pool, buf);
}

int test_store_mode(const char *rel)
{
    struct stat st;

    if (lstat(test_store_path(rel), &st) != 0) {
        return -1;
    }
    return (int)(st.st_mode & 07777);
}

int test_store_raw_exists(const char *rel)
{
    struct stat st;

    return lstat(test_store_path(rel), &st) == 0;
}

int test_store_count_tmp(const char *rel_dir)
{
    struct dirent *de;
    int n = 0;
    DIR *dir = opendir(test_store_path(rel_dir));

    if (dir == NULL) {
        return 0;
    }
    while ((de = readdir(dir)) != NULL) {
        n += strncmp(de->d_name, ".tmp.", 5) == 0;
    }
    closedir(dir);
    return n;
}

void test_store_save_str(acme_store_group_e group, const char *name, const char *aspect,
                         const char *value, int flags)
{
    apr_status_t rv = acme_store_save(test_store, test_pool, group, name, aspect, value,
                                      strlen(value), flags);

    ck_assert_msg(rv == APR_SUCCESS, "save %s/%s: rv=%d", name, aspect, rv);
}

const char *test_store_load_str(acme_store_group_e group, const char *name,
                                const char *aspect)
{
    const char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv = acme_store_load(&data, &len, test_pool, test_store, group, name, aspect);

    if (APR_STATUS_IS_ENOENT(rv)) {
        return NULL;
    }
    ck_assert_msg(rv == APR_SUCCESS, "load %s/%s: rv=%d", name, aspect, rv);
    ck_assert_uint_eq(strlen(data), len);
    return data;
}

const char *test_store_fixture(const char *rel)
{
    char buf[4096];
    size_t n;
    FILE *f = fopen(apr_pstrcat(test_pool, ACME_TEST_DATA, "/store/", rel, NULL), "r");

    ck_assert_msg(f != NULL, "fixture %s missing", rel);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return apr_pstrdup(test_pool, buf);
}

Suite *acme_test_suite(void)
{
    Suite *s = suite_create("store");

    suite_add_tcase(s, test_store_names_tcase());
    suite_add_tcase(s, test_store_items_tcase());
    suite_add_tcase(s, test_store_fs_tcase());
    suite_add_tcase(s, test_store_activate_tcase());
    suite_add_tcase(s, test_store_lock_tcase());
    suite_add_tcase(s, test_store_owner_tcase());
    suite_add_tcase(s, test_store_take_tcase());
    suite_add_tcase(s, test_store_private_tcase());
    return s;
}
